/* pq_reader.c — reads back what pq_writer.c writes (see pq_reader.h): the
 * footer (thrift.c's decoder), then per row group each column chunk's pages
 * (pq_codec.c decompresses, rle.c decodes levels and dictionary indices)
 * into arrays of levels and values. */
#include "pq_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../core/buf.h"
#include "../bytes.h"
#include "parquet.h"
#include "pq_codec.h"
#include "pq_internal.h"
#include "rle.h"
#include "thrift.h"

typedef struct cc_meta {
    int64_t off, len, num_values;
    int codec;
} cc_meta;

typedef struct rchunk {
    uint8_t *def, *rep;
    int64_t nlevels;
    int64_t *vidx;        /* per level: value index, or -1 */
    sl_pq_rvalue *vals;
    int64_t nvals;
    sl_pq_rvalue *dict;
    int64_t ndict;
    int64_t *row_start;   /* lists: first level of each row, and one past the last */
    int64_t nrows;
    sl_buf *pages;        /* decoded page bodies the values point into */
    int npages;
} rchunk;

struct sl_pq_reader {
    int fd;
    int ncols;
    sl_pq_rcolumn *cols;
    int64_t num_rows;
    int nrg;
    int64_t *rg_rows;
    cc_meta *cc; /* nrg x ncols */
    rchunk *chunks;
    sl_buf raw;
    const char *path;
};

/* ------------------------------------------------------------ footer -- */

typedef struct selem {
    int type, repetition, num_children, converted, is_list_lt;
    int32_t length, field_id;
    char *name;
} selem;

static void read_selem(sl_tc_reader *t, selem *e)
{
    memset(e, 0, sizeof *e);
    e->type = -1;
    e->field_id = -1;
    int16_t id;
    int ty;
    sl_tc_enter(t);
    while (!t->error && (ty = sl_tc_next_field(t, &id)) != SL_TC_STOP) {
        size_t n;
        const uint8_t *p;
        switch (id) {
        case 1: e->type = (int)sl_tc_read_int(t); break;
        case 2: e->length = (int32_t)sl_tc_read_int(t); break;
        case 3: e->repetition = (int)sl_tc_read_int(t); break;
        case 4:
            p = sl_tc_read_binary(t, &n);
            free(e->name);
            e->name = p ? strndup((const char *)p, n) : NULL;
            break;
        case 5: e->num_children = (int)sl_tc_read_int(t); break;
        case 6: e->converted = (int)sl_tc_read_int(t); break;
        case 9: e->field_id = (int32_t)sl_tc_read_int(t); break;
        case 10: { /* LogicalType union: field 3 is LIST */
            int16_t lid;
            int lty;
            sl_tc_enter(t);
            while (!t->error && (lty = sl_tc_next_field(t, &lid)) != SL_TC_STOP) {
                if (lid == 3)
                    e->is_list_lt = 1;
                sl_tc_skip(t, lty);
            }
            break;
        }
        default: sl_tc_skip(t, ty);
        }
    }
}

static int schema_columns(sl_pq_reader *r, selem *el, uint32_t n, sl_err *err)
{
    if (n < 1 || el[0].num_children < 0)
        return sl_errf(err, SL_ERUNTIME, "parquet: %s: no schema", r->path);
    r->cols = calloc((size_t)el[0].num_children + 1, sizeof *r->cols);
    if (!r->cols)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    uint32_t i = 1;
    for (int c = 0; c < el[0].num_children; c++) {
        if (i >= n)
            return sl_errf(err, SL_ERUNTIME, "parquet: %s: schema ends early", r->path);
        selem *e = &el[i];
        sl_pq_rcolumn *rc = &r->cols[r->ncols++];
        rc->name = e->name;
        e->name = NULL;
        rc->field_id = e->field_id;
        rc->element_id = -1;
        rc->nullable = e->repetition == 1;
        if (e->repetition == 2)
            return sl_errf(err, SL_ERUNTIME, "parquet: %s: column %s: a repeated top-level field is not read",
                           r->path, rc->name);
        if (e->num_children == 0) {
            rc->physical = e->type;
            rc->length = e->length;
            rc->max_def = rc->nullable;
            i++;
            continue;
        }
        /* name (LIST) / list (repeated, one child) / element */
        if ((!e->is_list_lt && e->converted != 3) || e->num_children != 1 || i + 2 >= n ||
            el[i + 1].repetition != 2 || el[i + 1].num_children != 1 || el[i + 2].num_children != 0)
            return sl_errf(err, SL_ERUNTIME, "parquet: %s: column %s: only primitive columns and 3-level lists "
                           "of primitives are read", r->path, rc->name);
        selem *x = &el[i + 2];
        rc->is_list = 1;
        rc->physical = x->type;
        rc->length = x->length;
        rc->element_nullable = x->repetition == 1;
        rc->element_id = x->field_id;
        rc->max_def = rc->nullable + 1 + rc->element_nullable;
        rc->max_rep = 1;
        i += 3;
    }
    for (int c = 0; c < r->ncols; c++) {
        int ph = r->cols[c].physical;
        if (ph != SL_PQ_BOOLEAN && ph != SL_PQ_INT32 && ph != SL_PQ_INT64 && ph != SL_PQ_FLOAT &&
            ph != SL_PQ_DOUBLE && ph != SL_PQ_BYTE_ARRAY && ph != SL_PQ_FIXED)
            return sl_errf(err, SL_ERUNTIME, "parquet: %s: column %s: physical type %d is not read", r->path,
                           r->cols[c].name, ph);
    }
    return 0;
}

static void read_chunk_meta(sl_tc_reader *t, cc_meta *m)
{
    int16_t id;
    int ty;
    int64_t data_off = 0, dict_off = 0;
    sl_tc_enter(t);
    while (!t->error && (ty = sl_tc_next_field(t, &id)) != SL_TC_STOP) {
        switch (id) {
        case 4: m->codec = (int)sl_tc_read_int(t); break;
        case 5: m->num_values = sl_tc_read_int(t); break;
        case 7: m->len = sl_tc_read_int(t); break;
        case 9: data_off = sl_tc_read_int(t); break;
        case 11: dict_off = sl_tc_read_int(t); break;
        default: sl_tc_skip(t, ty);
        }
    }
    m->off = dict_off > 0 && dict_off < data_off ? dict_off : data_off;
}

static int read_row_groups(sl_pq_reader *r, sl_tc_reader *t, sl_err *err)
{
    int et;
    uint32_t n = sl_tc_read_list(t, &et);
    if (t->error || n > 1u << 20)
        return sl_errf(err, SL_ERUNTIME, "parquet: %s: corrupt footer", r->path);
    r->rg_rows = calloc(n + 1, sizeof *r->rg_rows);
    r->cc = calloc((size_t)(n + 1) * (size_t)(r->ncols + 1), sizeof *r->cc);
    if (!r->rg_rows || !r->cc)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    r->nrg = (int)n;
    for (uint32_t g = 0; g < n && !t->error; g++) {
        int16_t id;
        int ty;
        sl_tc_enter(t);
        while (!t->error && (ty = sl_tc_next_field(t, &id)) != SL_TC_STOP) {
            if (id == 3) {
                r->rg_rows[g] = sl_tc_read_int(t);
            } else if (id == 1) {
                uint32_t nc = sl_tc_read_list(t, &et);
                if (nc != (uint32_t)r->ncols)
                    return sl_errf(err, SL_ERUNTIME, "parquet: %s: row group %u has %u columns, the schema %d",
                                   r->path, g, nc, r->ncols);
                for (uint32_t c = 0; c < nc && !t->error; c++) {
                    int16_t cid;
                    int cty;
                    sl_tc_enter(t);
                    while (!t->error && (cty = sl_tc_next_field(t, &cid)) != SL_TC_STOP) {
                        if (cid == 3)
                            read_chunk_meta(t, &r->cc[(size_t)g * (size_t)r->ncols + c]);
                        else
                            sl_tc_skip(t, cty);
                    }
                }
            } else {
                sl_tc_skip(t, ty);
            }
        }
    }
    return 0;
}

static int pread_all(int fd, void *p, size_t n, off_t off)
{
    while (n) {
        ssize_t k = pread(fd, p, n, off);
        if (k <= 0) {
            if (k < 0 && errno == EINTR)
                continue;
            return -1;
        }
        p = (char *)p + k;
        n -= (size_t)k;
        off += k;
    }
    return 0;
}

int sl_pq_reader_open(const char *path, sl_pq_reader **out, sl_err *err)
{
    *out = NULL;
    sl_pq_reader *r = calloc(1, sizeof *r);
    if (!r)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    r->path = path;
    sl_buf_init(&r->raw);
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    uint8_t tail[8];
    int rc = 0;
    if (r->fd < 0 || fstat(r->fd, &st)) {
        rc = sl_errf(err, SL_ERUNTIME, "parquet: cannot open %s: %s", path, strerror(errno));
        goto fail;
    }
    if (st.st_size < 12 || pread_all(r->fd, tail, 8, st.st_size - 8) || memcmp(tail + 4, "PAR1", 4)) {
        rc = sl_errf(err, SL_ERUNTIME, "parquet: %s is not a Parquet file", path);
        goto fail;
    }
    uint32_t flen = sl_le32(tail);
    if ((int64_t)flen > st.st_size - 12 || sl_buf_reserve(&r->raw, flen) ||
        pread_all(r->fd, r->raw.data, flen, st.st_size - 8 - flen)) {
        rc = sl_errf(err, SL_ERUNTIME, "parquet: %s: cannot read its footer", path);
        goto fail;
    }
    sl_tc_reader t;
    sl_tc_reader_init(&t, r->raw.data, flen);
    int16_t id;
    int ty, et;
    selem *el = NULL;
    uint32_t nel = 0;
    int seen_groups = 0;
    while (!rc && !t.error && (ty = sl_tc_next_field(&t, &id)) != SL_TC_STOP) {
        if (id == 2 && !el) {
            nel = sl_tc_read_list(&t, &et);
            el = calloc(nel + 1, sizeof *el);
            if (!el) {
                rc = sl_errf(err, SL_ERUNTIME, "out of memory");
                break;
            }
            for (uint32_t i = 0; i < nel && !t.error; i++)
                read_selem(&t, &el[i]);
            if (!t.error)
                rc = schema_columns(r, el, nel, err);
        } else if (id == 3) {
            r->num_rows = sl_tc_read_int(&t);
        } else if (id == 4 && r->cols) { /* the writer puts the schema first */
            rc = read_row_groups(r, &t, err);
            seen_groups = 1;
        } else {
            sl_tc_skip(&t, ty);
        }
    }
    for (uint32_t i = 0; el && i < nel; i++)
        free(el[i].name);
    free(el);
    if (!rc && (t.error || !r->cols || !seen_groups))
        rc = sl_errf(err, SL_ERUNTIME, "parquet: %s: corrupt footer", path);
    if (!rc && !(r->chunks = calloc((size_t)r->ncols + 1, sizeof *r->chunks)))
        rc = sl_errf(err, SL_ERUNTIME, "out of memory");
    if (rc)
        goto fail;
    *out = r;
    return 0;
fail:
    sl_pq_reader_close(r);
    return rc;
}

static void chunk_reset(rchunk *c)
{
    free(c->def);
    free(c->rep);
    free(c->vidx);
    free(c->vals);
    free(c->dict);
    free(c->row_start);
    for (int i = 0; i < c->npages; i++)
        sl_buf_free(&c->pages[i]);
    free(c->pages);
    memset(c, 0, sizeof *c);
}

void sl_pq_reader_close(sl_pq_reader *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    for (int i = 0; r->chunks && i < r->ncols; i++)
        chunk_reset(&r->chunks[i]);
    for (int i = 0; r->cols && i < r->ncols; i++)
        free(r->cols[i].name);
    free(r->cols);
    free(r->chunks);
    free(r->rg_rows);
    free(r->cc);
    sl_buf_free(&r->raw);
    free(r);
}

int sl_pq_reader_ncols(const sl_pq_reader *r) { return r->ncols; }
const sl_pq_rcolumn *sl_pq_reader_column(const sl_pq_reader *r, int col) { return &r->cols[col]; }
int64_t sl_pq_reader_num_rows(const sl_pq_reader *r) { return r->num_rows; }
int sl_pq_reader_num_row_groups(const sl_pq_reader *r) { return r->nrg; }

int sl_pq_reader_find(const sl_pq_reader *r, int32_t id)
{
    for (int i = 0; i < r->ncols; i++)
        if (r->cols[i].field_id == id)
            return i;
    return -1;
}

/* ------------------------------------------------------------- pages -- */

typedef struct page_hdr {
    int type, encoding, compressed_flag;
    int32_t uncompressed, compressed, num_values, def_len, rep_len;
} page_hdr;

static void read_page_header(sl_tc_reader *t, page_hdr *h)
{
    memset(h, 0, sizeof *h);
    h->type = -1;
    h->compressed_flag = 1;
    int16_t id;
    int ty;
    while (!t->error && (ty = sl_tc_next_field(t, &id)) != SL_TC_STOP) {
        if (id == 1) {
            h->type = (int)sl_tc_read_int(t);
        } else if (id == 2) {
            h->uncompressed = (int32_t)sl_tc_read_int(t);
        } else if (id == 3) {
            h->compressed = (int32_t)sl_tc_read_int(t);
        } else if (id == 5 || id == 7 || id == 8) { /* data v1, dictionary, data v2 */
            int16_t sid;
            int sty;
            sl_tc_enter(t);
            while (!t->error && (sty = sl_tc_next_field(t, &sid)) != SL_TC_STOP) {
                if (sid == 1)
                    h->num_values = (int32_t)sl_tc_read_int(t);
                else if ((id != 8 && sid == 2) || (id == 8 && sid == 4))
                    h->encoding = (int)sl_tc_read_int(t);
                else if (id == 8 && sid == 5)
                    h->def_len = (int32_t)sl_tc_read_int(t);
                else if (id == 8 && sid == 6)
                    h->rep_len = (int32_t)sl_tc_read_int(t);
                else if (id == 8 && sid == 7)
                    h->compressed_flag = sl_tc_read_bool(t, sty);
                else
                    sl_tc_skip(t, sty);
            }
        } else {
            sl_tc_skip(t, ty);
        }
    }
}

static int grow(void **p, int64_t *cap, int64_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    int64_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, (size_t)n * size);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

/* PLAIN values of physical type ph: n of them from p[0..len) into out */
static int plain_values(const sl_pq_rcolumn *col, const uint8_t *p, size_t len, int64_t n, sl_pq_rvalue *out)
{
    size_t at = 0;
    for (int64_t k = 0; k < n; k++) {
        sl_pq_rvalue *v = &out[k];
        memset(v, 0, sizeof *v);
        switch (col->physical) {
        case SL_PQ_BOOLEAN:
            if ((size_t)(k >> 3) >= len)
                return -1;
            v->i = p[k >> 3] >> (k & 7) & 1;
            continue;
        case SL_PQ_INT32:
        case SL_PQ_FLOAT:
            if (len - at < 4 || at > len)
                return -1;
            if (col->physical == SL_PQ_INT32) {
                v->i = (int32_t)sl_le32(p + at);
            } else {
                float f;
                memcpy(&f, p + at, 4);
                v->d = f;
            }
            at += 4;
            continue;
        case SL_PQ_INT64:
        case SL_PQ_DOUBLE:
            if (at > len || len - at < 8)
                return -1;
            if (col->physical == SL_PQ_INT64)
                memcpy(&v->i, p + at, 8);
            else
                memcpy(&v->d, p + at, 8);
            at += 8;
            continue;
        case SL_PQ_BYTE_ARRAY: {
            if (at > len || len - at < 4)
                return -1;
            uint32_t m = sl_le32(p + at);
            at += 4;
            if (m > len - at)
                return -1;
            v->p = p + at;
            v->n = m;
            at += m;
            continue;
        }
        case SL_PQ_FIXED:
            if (col->length < 0 || at > len || len - at < (size_t)col->length)
                return -1;
            v->p = p + at;
            v->n = (uint32_t)col->length;
            at += (size_t)col->length;
            continue;
        }
        return -1;
    }
    return 0;
}

typedef struct dec {
    const sl_pq_rcolumn *col;
    rchunk *c;
    int64_t cap_lv, cap_v;
    uint32_t *tmp;
    int64_t cap_tmp;
} dec;

static int levels(dec *d, const uint8_t *p, size_t len, int max, int64_t n, uint8_t *out)
{
    if (grow((void **)&d->tmp, &d->cap_tmp, n, sizeof *d->tmp) ||
        sl_rle_decode(p, len, sl_bit_width((uint64_t)max), d->tmp, (size_t)n))
        return -1;
    for (int64_t i = 0; i < n; i++) {
        if (d->tmp[i] > (uint32_t)max)
            return -1;
        out[i] = (uint8_t)d->tmp[i];
    }
    return 0;
}

/* one data page (body decompressed, v2 levels given apart) */
static int data_page(dec *d, const page_hdr *h, const uint8_t *lv, size_t lvlen, const uint8_t *body,
                     size_t blen)
{
    rchunk *c = d->c;
    const sl_pq_rcolumn *col = d->col;
    int64_t n = h->num_values, base = c->nlevels;
    if (n < 0)
        return -1;
    if (base + n > d->cap_lv) { /* def, rep and vidx share one capacity */
        int64_t cap = d->cap_lv ? d->cap_lv : 64;
        while (cap < base + n)
            cap *= 2;
        uint8_t *def = realloc(c->def, (size_t)cap);
        if (def)
            c->def = def;
        uint8_t *rep = def ? realloc(c->rep, (size_t)cap) : NULL;
        if (rep)
            c->rep = rep;
        int64_t *vidx = rep ? realloc(c->vidx, (size_t)cap * sizeof *vidx) : NULL;
        if (!vidx)
            return -1;
        c->vidx = vidx;
        d->cap_lv = cap;
    }
    const uint8_t *p = lv ? lv : body;
    size_t plen = lv ? lvlen : blen, at = 0;
    /* v1: each level run is prefixed with its le32 length; v2: lengths in the header */
    for (int which = 0; which < 2; which++) {
        int max = which == 0 ? col->max_rep : col->max_def;
        uint8_t *out = (which == 0 ? c->rep : c->def) + base;
        if (!max) {
            memset(out, 0, (size_t)n);
            continue;
        }
        size_t l;
        if (lv) {
            l = (size_t)(which == 0 ? h->rep_len : h->def_len);
        } else {
            if (plen - at < 4)
                return -1;
            l = sl_le32(p + at);
            at += 4;
        }
        if (l > plen - at || levels(d, p + at, l, max, n, out))
            return -1;
        at += l;
    }
    if (!lv) {
        body += at;
        blen -= at;
    }
    int64_t nv = 0;
    for (int64_t i = 0; i < n; i++)
        nv += c->def[base + i] == col->max_def;
    if (grow((void **)&c->vals, &d->cap_v, c->nvals + nv, sizeof *c->vals))
        return -1;
    sl_pq_rvalue *vals = c->vals + c->nvals;
    if (h->encoding == SL_PQ_ENC_PLAIN) {
        if (plain_values(col, body, blen, nv, vals))
            return -1;
    } else if (h->encoding == SL_PQ_ENC_RLE_DICTIONARY || h->encoding == 2 /* PLAIN_DICTIONARY */) {
        if (nv && (blen < 1 || !c->dict))
            return -1;
        if (nv) {
            if (grow((void **)&d->tmp, &d->cap_tmp, nv, sizeof *d->tmp) ||
                sl_rle_decode(body + 1, blen - 1, body[0], d->tmp, (size_t)nv))
                return -1;
            for (int64_t i = 0; i < nv; i++) {
                if (d->tmp[i] >= (uint64_t)c->ndict)
                    return -1;
                vals[i] = c->dict[d->tmp[i]];
            }
        }
    } else if (h->encoding == SL_PQ_ENC_RLE && col->physical == SL_PQ_BOOLEAN) {
        /* booleans in pages v2 of other writers (pyarrow): le32 length, RLE at bit width 1 */
        if (nv && (blen < 4 || sl_le32(body) > blen - 4 ||
                   grow((void **)&d->tmp, &d->cap_tmp, nv, sizeof *d->tmp) ||
                   sl_rle_decode(body + 4, sl_le32(body), 1, d->tmp, (size_t)nv)))
            return -1;
        for (int64_t i = 0; i < nv; i++)
            vals[i] = (sl_pq_rvalue){.i = d->tmp[i]};
    } else {
        return -2;
    }
    for (int64_t i = 0; i < n; i++)
        c->vidx[base + i] = c->def[base + i] == col->max_def ? c->nvals++ : -1;
    c->nlevels += n;
    return 0;
}

static int load_chunk(sl_pq_reader *r, int col, const cc_meta *m, sl_err *err)
{
    rchunk *c = &r->chunks[col];
    const sl_pq_rcolumn *rc = &r->cols[col];
    chunk_reset(c);
    if (m->codec != SL_PQ_UNCOMPRESSED && m->codec != SL_PQ_SNAPPY && m->codec != SL_PQ_ZSTD)
        return sl_errf(err, SL_ERUNTIME, "parquet: %s: column %s: codec %d is not read", r->path, rc->name,
                       m->codec);
    sl_buf_reset(&r->raw);
    if (m->len < 0 || m->off < 4 || sl_buf_reserve(&r->raw, (size_t)m->len) ||
        pread_all(r->fd, r->raw.data, (size_t)m->len, m->off))
        return sl_errf(err, SL_ERUNTIME, "parquet: %s: column %s: cannot read its chunk", r->path, rc->name);
    const uint8_t *p = (const uint8_t *)r->raw.data, *end = p + m->len;
    dec d = {.col = rc, .c = c};
    int rc2 = 0;
    while (p < end && c->nlevels < m->num_values) {
        sl_tc_reader t;
        sl_tc_reader_init(&t, p, (size_t)(end - p));
        page_hdr h;
        read_page_header(&t, &h);
        if (t.error || h.compressed < 0 || h.uncompressed < 0 || h.compressed > end - t.p) {
            rc2 = -1;
            break;
        }
        const uint8_t *body = t.p;
        p = t.p + h.compressed;
        if (h.type != SL_PQ_PAGE_DICT && h.type != SL_PQ_PAGE_DATA && h.type != SL_PQ_PAGE_DATA_V2)
            continue; /* index pages and the like: not needed */
        int v2 = h.type == SL_PQ_PAGE_DATA_V2;
        size_t lvlen = v2 ? (size_t)h.def_len + (size_t)h.rep_len : 0;
        if (v2 && (h.def_len < 0 || h.rep_len < 0 || lvlen > (size_t)h.compressed || lvlen > (size_t)h.uncompressed)) {
            rc2 = -1;
            break;
        }
        sl_buf *np = realloc(c->pages, (size_t)(c->npages + 1) * sizeof *np);
        if (!np) {
            rc2 = -1;
            break;
        }
        c->pages = np;
        sl_buf *out = &c->pages[c->npages++];
        sl_buf_init(out);
        int codec = v2 && !h.compressed_flag ? SL_PQ_UNCOMPRESSED : m->codec;
        if (sl_pq_decompress(codec, body + lvlen, (size_t)h.compressed - lvlen, (size_t)h.uncompressed - lvlen,
                             out, err)) {
            free(d.tmp);
            return SL_ERUNTIME;
        }
        const uint8_t *b = (const uint8_t *)out->data;
        if (h.type == SL_PQ_PAGE_DICT) {
            free(c->dict);
            c->ndict = h.num_values;
            c->dict = calloc((size_t)c->ndict + 1, sizeof *c->dict);
            if (!c->dict || h.num_values < 0 || plain_values(rc, b, out->len, c->ndict, c->dict)) {
                rc2 = -1;
                break;
            }
            continue;
        }
        rc2 = data_page(&d, &h, v2 ? body : NULL, lvlen, b, out->len);
        if (rc2 == -2) {
            free(d.tmp);
            return sl_errf(err, SL_ERUNTIME, "parquet: %s: column %s: encoding %d is not read", r->path, rc->name,
                           h.encoding);
        }
        if (rc2)
            break;
    }
    free(d.tmp);
    if (rc2 || c->nlevels != m->num_values)
        return sl_errf(err, SL_ERUNTIME, "parquet: %s: column %s: corrupt column chunk", r->path, rc->name);
    /* rows: every level for flat columns; lists start where rep is 0 */
    if (rc->is_list) {
        c->row_start = malloc(((size_t)c->nlevels + 1) * sizeof *c->row_start);
        if (!c->row_start)
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        for (int64_t i = 0; i < c->nlevels; i++)
            if (c->rep[i] == 0)
                c->row_start[c->nrows++] = i;
        c->row_start[c->nrows] = c->nlevels;
    } else {
        c->nrows = c->nlevels;
    }
    return 0;
}

int64_t sl_pq_reader_load(sl_pq_reader *r, int g, sl_err *err)
{
    if (g < 0 || g >= r->nrg)
        return sl_errf(err, SL_ERUNTIME, "parquet: %s has no row group %d", r->path, g);
    for (int c = 0; c < r->ncols; c++) {
        int rc = load_chunk(r, c, &r->cc[(size_t)g * (size_t)r->ncols + c], err);
        if (rc)
            return rc;
        if (r->chunks[c].nrows != r->rg_rows[g])
            return sl_errf(err, SL_ERUNTIME, "parquet: %s: column %s has %lld rows in row group %d, not %lld",
                           r->path, r->cols[c].name, (long long)r->chunks[c].nrows, g, (long long)r->rg_rows[g]);
    }
    return r->rg_rows[g];
}

const sl_pq_rvalue *sl_pq_reader_value(const sl_pq_reader *r, int col, int64_t row)
{
    const rchunk *c = &r->chunks[col];
    if (row < 0 || row >= c->nlevels || c->vidx[row] < 0)
        return NULL;
    return &c->vals[c->vidx[row]];
}

int64_t sl_pq_reader_list_len(const sl_pq_reader *r, int col, int64_t row)
{
    const rchunk *c = &r->chunks[col];
    const sl_pq_rcolumn *rc = &r->cols[col];
    if (!c->row_start || row < 0 || row >= c->nrows)
        return -1;
    int64_t first = c->row_start[row], n = c->row_start[row + 1] - first;
    if (n == 1 && c->def[first] < rc->nullable + 1) /* null list, or empty list */
        return c->def[first] < rc->nullable ? -1 : 0;
    return n;
}

const sl_pq_rvalue *sl_pq_reader_element(const sl_pq_reader *r, int col, int64_t row, int64_t k)
{
    const rchunk *c = &r->chunks[col];
    int64_t at = c->row_start[row] + k;
    return c->vidx[at] < 0 ? NULL : &c->vals[c->vidx[at]];
}
