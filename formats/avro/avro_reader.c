/* avro_reader.c — reads object container files: the header (metadata map,
 * writer schema, codec, sync marker), then block after block, decoding each
 * datum with the writer schema into sl_avro_values held in an arena that is
 * reset per datum. Every length is checked against the bytes that remain,
 * so a corrupt or hostile file is an error, never a read out of bounds. */
#include "avro.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "avro_codec.h"

#define MAX_DEPTH 64

typedef struct meta_entry {
    const char *key; /* NUL-terminated copy */
    const uint8_t *val;
    size_t vlen;
} meta_entry;

struct sl_avro_reader {
    uint8_t *owned;
    const uint8_t *p, *end;
    sl_arena arena;  /* schema and metadata: the reader's lifetime */
    sl_arena values; /* the current datum */
    const sl_avro_schema *schema;
    meta_entry *meta;
    int nmeta;
    const char *codec;
    size_t codec_len;
    uint8_t sync[16];
    sl_buf block;
    const uint8_t *bp, *bend;
    int64_t block_left;
};

typedef struct dec {
    const uint8_t *p, *end;
    sl_arena *arena;
    const char *why;
} dec;

static int64_t rd_long(dec *d)
{
    uint64_t v;
    if (sl_uvarint_get(&d->p, d->end, &v)) {
        d->why = "a number runs past the end";
        return 0;
    }
    return sl_unzigzag64(v);
}

static const uint8_t *rd_bytes(dec *d, size_t *n)
{
    *n = 0;
    int64_t len = rd_long(d);
    if (d->why)
        return NULL;
    if (len < 0 || len > d->end - d->p) {
        d->why = "a length runs past the end";
        return NULL;
    }
    const uint8_t *p = d->p;
    d->p += len;
    *n = (size_t)len;
    return p;
}

/* a block count of a map or array: negative counts carry a byte size */
static int64_t rd_count(dec *d)
{
    int64_t n = rd_long(d);
    if (n < 0) {
        n = -n;
        rd_long(d);
    }
    if (n < 0 || n > (d->end - d->p) + 65536) {
        d->why = "an array or map count is impossible";
        return 0;
    }
    return n;
}

static void decode(dec *d, const sl_avro_schema *s, sl_avro_value *v, int depth)
{
    v->branch = -1;
    if (depth > MAX_DEPTH) {
        d->why = "values nested too deep";
        return;
    }
    if (s->type == SL_AVRO_UNION) {
        int64_t b = rd_long(d);
        if (d->why)
            return;
        if (b < 0 || b >= s->n) {
            d->why = "a union branch out of range";
            return;
        }
        decode(d, s->children[b], v, depth + 1);
        v->branch = (int)b;
        return;
    }
    v->schema = s;
    switch (s->type) {
    case SL_AVRO_NULL:
        break;
    case SL_AVRO_BOOLEAN:
        if (d->p >= d->end) {
            d->why = "a boolean runs past the end";
            return;
        }
        v->u.b = *d->p++ != 0;
        break;
    case SL_AVRO_INT:
    case SL_AVRO_LONG:
    case SL_AVRO_ENUM:
        v->u.l = rd_long(d);
        if (s->type == SL_AVRO_INT && (v->u.l < INT32_MIN || v->u.l > INT32_MAX))
            d->why = "an int out of range";
        if (s->type == SL_AVRO_ENUM && (v->u.l < 0 || v->u.l >= s->n))
            d->why = "an enum symbol out of range";
        break;
    case SL_AVRO_FLOAT:
    case SL_AVRO_DOUBLE: {
        size_t n = s->type == SL_AVRO_FLOAT ? 4 : 8;
        if ((size_t)(d->end - d->p) < n) {
            d->why = "a number runs past the end";
            return;
        }
        if (n == 4) {
            float f;
            memcpy(&f, d->p, 4);
            v->u.d = f;
        } else {
            memcpy(&v->u.d, d->p, 8);
        }
        d->p += n;
        break;
    }
    case SL_AVRO_BYTES:
    case SL_AVRO_STRING:
        v->u.bytes.p = rd_bytes(d, &v->u.bytes.n);
        break;
    case SL_AVRO_FIXED:
        if (d->end - d->p < s->n) {
            d->why = "a fixed value runs past the end";
            return;
        }
        v->u.bytes.p = d->p;
        v->u.bytes.n = (size_t)s->n;
        d->p += s->n;
        break;
    case SL_AVRO_RECORD:
        v->u.list.n = (size_t)s->n;
        v->u.list.keys = NULL;
        v->u.list.items = s->n ? sl_arena_alloc(d->arena, sizeof(sl_avro_value) * (size_t)s->n) : NULL;
        if (s->n && !v->u.list.items) {
            d->why = "out of memory";
            return;
        }
        for (int i = 0; i < s->n && !d->why; i++)
            decode(d, s->children[i], &v->u.list.items[i], depth + 1);
        break;
    case SL_AVRO_ARRAY:
    case SL_AVRO_MAP: {
        size_t n = 0;
        sl_avro_value *items = NULL, *keys = NULL;
        for (;;) {
            int64_t cnt = rd_count(d);
            if (d->why || cnt == 0)
                break;
            sl_avro_value *ni = sl_arena_alloc(d->arena, sizeof *ni * (n + (size_t)cnt));
            sl_avro_value *nk = s->type == SL_AVRO_MAP ? sl_arena_alloc(d->arena, sizeof *nk * (n + (size_t)cnt)) : NULL;
            if (!ni || (s->type == SL_AVRO_MAP && !nk)) {
                d->why = "out of memory";
                return;
            }
            if (n) {
                memcpy(ni, items, sizeof *ni * n);
                if (nk)
                    memcpy(nk, keys, sizeof *nk * n);
            }
            items = ni;
            keys = nk;
            for (int64_t i = 0; i < cnt && !d->why; i++, n++) {
                if (keys) {
                    static const sl_avro_schema string_schema = {.type = SL_AVRO_STRING};
                    keys[n].schema = &string_schema;
                    keys[n].branch = -1;
                    keys[n].u.bytes.p = rd_bytes(d, &keys[n].u.bytes.n);
                }
                decode(d, s->children[0], &items[n], depth + 1);
            }
        }
        v->u.list.items = items;
        v->u.list.keys = keys;
        v->u.list.n = n;
        break;
    }
    }
}

const sl_avro_value *sl_avro_get(const sl_avro_value *rec, const char *field)
{
    if (!rec || rec->schema->type != SL_AVRO_RECORD)
        return NULL;
    for (int i = 0; i < rec->schema->n; i++)
        if (strcmp(rec->schema->names[i], field) == 0)
            return &rec->u.list.items[i];
    return NULL;
}

static int parse_header(sl_avro_reader *r, sl_err *err)
{
    dec d = {r->p, r->end, &r->arena, NULL};
    if (d.end - d.p < 4 || memcmp(d.p, "Obj\x01", 4) != 0)
        return sl_errf(err, SL_ERUNTIME, "avro: not an object container file (bad magic)");
    d.p += 4;
    int cap = 0;
    for (;;) {
        int64_t cnt = rd_count(&d);
        if (d.why || cnt == 0)
            break;
        for (int64_t i = 0; i < cnt && !d.why; i++) {
            size_t kl = 0, vl = 0;
            const uint8_t *k = rd_bytes(&d, &kl), *v = rd_bytes(&d, &vl);
            if (d.why)
                break;
            if (r->nmeta == cap) {
                cap = cap ? cap * 2 : 16;
                meta_entry *m = sl_arena_alloc(&r->arena, sizeof *m * (size_t)cap);
                if (!m)
                    return sl_errf(err, SL_ERUNTIME, "out of memory");
                if (r->nmeta)
                    memcpy(m, r->meta, sizeof *m * (size_t)r->nmeta);
                r->meta = m;
            }
            r->meta[r->nmeta].key = sl_arena_strndup(&r->arena, (const char *)k, kl);
            r->meta[r->nmeta].val = v;
            r->meta[r->nmeta].vlen = vl;
            r->nmeta++;
        }
    }
    if (d.why)
        return sl_errf(err, SL_ERUNTIME, "avro: corrupt header: %s", d.why);
    if (d.end - d.p < 16)
        return sl_errf(err, SL_ERUNTIME, "avro: corrupt header: no sync marker");
    memcpy(r->sync, d.p, 16);
    r->p = d.p + 16;
    size_t slen;
    const char *schema = sl_avro_read_meta(r, "avro.schema", &slen);
    if (!schema)
        return sl_errf(err, SL_ERUNTIME, "avro: the header has no avro.schema");
    r->codec = sl_avro_read_meta(r, "avro.codec", &r->codec_len);
    return sl_avro_schema_parse(schema, slen, &r->arena, &r->schema, err);
}

int sl_avro_read_mem(const void *data, size_t len, sl_avro_reader **out, sl_err *err)
{
    *out = NULL;
    sl_avro_reader *r = calloc(1, sizeof *r);
    if (!r)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    r->p = data;
    r->end = r->p + len;
    sl_arena_init(&r->arena);
    sl_arena_init(&r->values);
    int rc = parse_header(r, err);
    if (rc) {
        sl_avro_read_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

int sl_avro_read_file(const char *path, sl_avro_reader **out, sl_err *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return sl_errf(err, SL_ERUNTIME, "cannot open %s: %s", path, strerror(errno));
    sl_buf b;
    sl_buf_init(&b);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        sl_buf_add(&b, chunk, n);
    int bad = ferror(f);
    fclose(f);
    if (bad || b.failed) {
        sl_buf_free(&b);
        return sl_errf(err, SL_ERUNTIME, "cannot read %s", path);
    }
    int rc = sl_avro_read_mem(b.data, b.len, out, err);
    if (rc) {
        sl_buf_free(&b);
        return sl_err_prefix(err, rc, "%s: ", path);
    }
    (*out)->owned = (uint8_t *)b.data;
    return 0;
}

const char *sl_avro_read_meta(const sl_avro_reader *r, const char *key, size_t *len)
{
    for (int i = 0; i < r->nmeta; i++)
        if (strcmp(r->meta[i].key, key) == 0) {
            if (len)
                *len = r->meta[i].vlen;
            return (const char *)r->meta[i].val;
        }
    return NULL;
}

const sl_avro_schema *sl_avro_read_schema(const sl_avro_reader *r) { return r->schema; }

static int next_block(sl_avro_reader *r, sl_err *err)
{
    dec d = {r->p, r->end, NULL, NULL};
    int64_t count = rd_long(&d);
    size_t n;
    const uint8_t *data = rd_bytes(&d, &n);
    if (d.why || count < 0)
        return sl_errf(err, SL_ERUNTIME, "avro: corrupt block header");
    if (d.end - d.p < 16 || memcmp(d.p, r->sync, 16) != 0)
        return sl_errf(err, SL_ERUNTIME, "avro: a block does not end with the file's sync marker");
    r->p = d.p + 16;
    if (sl_avro_inflate_block(r->codec, r->codec_len, data, n, &r->block, err))
        return SL_ERUNTIME;
    r->bp = (const uint8_t *)r->block.data;
    r->bend = r->bp + r->block.len;
    r->block_left = count;
    return 0;
}

int sl_avro_read_next(sl_avro_reader *r, const sl_avro_value **v, sl_err *err)
{
    while (r->block_left == 0) {
        if (r->bp != r->bend)
            return sl_errf(err, SL_ERUNTIME, "avro: a block holds more bytes than its datums");
        if (r->p == r->end)
            return 0;
        if (next_block(r, err))
            return SL_ERUNTIME;
    }
    sl_arena_reset(&r->values);
    sl_avro_value *val = sl_arena_alloc(&r->values, sizeof *val);
    if (!val)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    dec d = {r->bp, r->bend, &r->values, NULL};
    decode(&d, r->schema, val, 0);
    if (d.why)
        return sl_errf(err, SL_ERUNTIME, "avro: corrupt datum: %s", d.why);
    r->bp = d.p;
    r->block_left--;
    *v = val;
    return 1;
}

void sl_avro_read_close(sl_avro_reader *r)
{
    if (!r)
        return;
    sl_arena_free(&r->arena);
    sl_arena_free(&r->values);
    sl_buf_free(&r->block);
    free(r->owned);
    free(r);
}
