/* avro_tool.c — test driver for formats/avro (not part of sluice).
 *
 *   avro_tool write JOB.json   JOB: {"path", "schema" (JSON text), "codec":
 *                              "null"|"deflate", "meta": {k: v}, "records": [...]}
 *   avro_tool read FILE        prints {"meta": {...}, "records": [...]}
 *
 * Records are JSON in the schema's shape: records as objects, arrays as
 * arrays, maps as objects, enums as symbols, bytes and fixed as hex, float
 * NaN as "nan"; a union takes its null branch for null and its first
 * non-null branch otherwise (Iceberg's unions are all [null, T]). The
 * writer side encodes with the sl_avro_put_* primitives exactly as a sink
 * would; the reader side shows what sl_avro_read_next decodes. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../formats/avro/avro.h"

static void put_hex(sl_buf *b, const char *s, int with_len)
{
    size_t n = strlen(s) / 2;
    uint8_t *tmp = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        tmp[i] = (uint8_t)(sl_hex_digit(s[2 * i]) * 16 + sl_hex_digit(s[2 * i + 1]));
    if (with_len)
        sl_avro_put_bytes(b, tmp, n);
    else
        sl_avro_put_fixed(b, tmp, n);
    free(tmp);
}

static double num(json_t *v)
{
    if (json_is_string(v))
        return !strcmp(json_string_value(v), "nan") ? NAN : strtod(json_string_value(v), NULL);
    return json_number_value(v);
}

static int encode(sl_buf *b, const sl_avro_schema *s, json_t *v)
{
    switch (s->type) {
    case SL_AVRO_NULL:
        return json_is_null(v) ? 0 : -1;
    case SL_AVRO_BOOLEAN:
        sl_avro_put_bool(b, json_is_true(v));
        return 0;
    case SL_AVRO_INT:
        sl_avro_put_int(b, (int32_t)json_integer_value(v));
        return 0;
    case SL_AVRO_LONG:
        sl_avro_put_long(b, json_integer_value(v));
        return 0;
    case SL_AVRO_FLOAT:
        sl_avro_put_float(b, (float)num(v));
        return 0;
    case SL_AVRO_DOUBLE:
        sl_avro_put_double(b, num(v));
        return 0;
    case SL_AVRO_STRING:
        sl_avro_put_string(b, json_string_value(v), json_string_length(v));
        return 0;
    case SL_AVRO_BYTES:
        put_hex(b, json_string_value(v), 1);
        return 0;
    case SL_AVRO_FIXED:
        put_hex(b, json_string_value(v), 0);
        return 0;
    case SL_AVRO_ENUM:
        for (int i = 0; i < s->n; i++)
            if (!strcmp(s->names[i], json_string_value(v))) {
                sl_avro_put_enum(b, i);
                return 0;
            }
        return -1;
    case SL_AVRO_RECORD:
        for (int i = 0; i < s->n; i++)
            if (encode(b, s->children[i], json_object_get(v, s->names[i])))
                return -1;
        return 0;
    case SL_AVRO_ARRAY: {
        size_t n = json_array_size(v), i;
        json_t *e;
        if (n)
            sl_avro_put_block(b, (int64_t)n);
        json_array_foreach(v, i, e) if (encode(b, s->children[0], e)) return -1;
        sl_avro_put_block(b, 0);
        return 0;
    }
    case SL_AVRO_MAP: {
        size_t n = json_object_size(v);
        const char *k;
        json_t *e;
        if (n)
            sl_avro_put_block(b, (int64_t)n);
        json_object_foreach(v, k, e)
        {
            sl_avro_put_cstr(b, k);
            if (encode(b, s->children[0], e))
                return -1;
        }
        sl_avro_put_block(b, 0);
        return 0;
    }
    case SL_AVRO_UNION:
        for (int i = 0; i < s->n; i++)
            if ((s->children[i]->type == SL_AVRO_NULL) == json_is_null(v)) {
                sl_avro_put_union(b, i);
                return encode(b, s->children[i], v);
            }
        return -1;
    }
    return -1;
}

static json_t *hexstr(const uint8_t *p, size_t n)
{
    char *s = malloc(n * 2 + 1);
    for (size_t i = 0; i < n; i++)
        sprintf(s + 2 * i, "%02x", p[i]);
    s[2 * n] = 0;
    json_t *j = json_string(s);
    free(s);
    return j;
}

static json_t *to_json(const sl_avro_value *v)
{
    const sl_avro_schema *s = v->schema;
    switch (s->type) {
    case SL_AVRO_NULL:
        return json_null();
    case SL_AVRO_BOOLEAN:
        return json_boolean(v->u.b);
    case SL_AVRO_INT:
    case SL_AVRO_LONG:
        return json_integer(v->u.l);
    case SL_AVRO_ENUM:
        return json_string(s->names[v->u.l]);
    case SL_AVRO_FLOAT:
    case SL_AVRO_DOUBLE:
        return isnan(v->u.d) ? json_string("nan") : json_real(v->u.d);
    case SL_AVRO_STRING: {
        json_t *j = json_stringn((const char *)v->u.bytes.p, v->u.bytes.n);
        return j ? j : json_pack("{so}", "invalid_utf8", hexstr(v->u.bytes.p, v->u.bytes.n));
    }
    case SL_AVRO_BYTES:
    case SL_AVRO_FIXED:
        return hexstr(v->u.bytes.p, v->u.bytes.n);
    case SL_AVRO_RECORD: {
        json_t *o = json_object();
        for (int i = 0; i < s->n; i++)
            json_object_set_new(o, s->names[i], to_json(&v->u.list.items[i]));
        return o;
    }
    case SL_AVRO_ARRAY: {
        json_t *a = json_array();
        for (size_t i = 0; i < v->u.list.n; i++)
            json_array_append_new(a, to_json(&v->u.list.items[i]));
        return a;
    }
    case SL_AVRO_MAP: {
        json_t *o = json_object();
        for (size_t i = 0; i < v->u.list.n; i++) {
            char *k = strndup((const char *)v->u.list.keys[i].u.bytes.p, v->u.list.keys[i].u.bytes.n);
            json_t *key = json_string(k); /* NULL when not UTF-8 */
            json_object_set_new(o, key ? k : "(not UTF-8)", to_json(&v->u.list.items[i]));
            json_decref(key);
            free(k);
        }
        return o;
    }
    }
    return json_null();
}

static int fail(const char *msg)
{
    json_t *e = json_pack("{ss}", "error", msg);
    json_dumpf(e, stdout, 0);
    printf("\n");
    json_decref(e);
    return 1;
}

static int write_records(json_t *job, sl_arena *arena)
{
    const char *schema = json_string_value(json_object_get(job, "schema"));
    const char *codec = json_string_value(json_object_get(job, "codec"));
    json_t *jmeta = json_object_get(job, "meta");
    sl_avro_meta meta[32];
    int nmeta = 0;
    const char *k;
    json_t *v;
    json_object_foreach(jmeta, k, v)
    {
        if (nmeta < 32) {
            meta[nmeta].key = k;
            meta[nmeta].value = json_string_value(v);
            nmeta++;
        }
    }
    sl_err err = {{0}};
    const sl_avro_schema *s;
    if (sl_avro_schema_parse(schema, strlen(schema), arena, &s, &err))
        return fail(err.msg);
    sl_wfile *f;
    sl_avro_writer *w;
    if (sl_wfile_open_local(json_string_value(json_object_get(job, "path")), &f, &err) ||
        sl_avro_open(&w, f, schema, meta, nmeta, codec && !strcmp(codec, "deflate") ? SL_AVRO_CODEC_DEFLATE
                                                                                     : SL_AVRO_CODEC_NULL,
                     &err))
        return fail(err.msg);
    size_t i;
    json_array_foreach(json_object_get(job, "records"), i, v)
    {
        if (encode(sl_avro_datum(w), s, v)) {
            sl_avro_abort(w);
            return fail("a record does not match the schema");
        }
        if (sl_avro_end_datum(w, &err)) {
            sl_avro_abort(w);
            return fail(err.msg);
        }
    }
    int64_t count = sl_avro_count(w);
    uint64_t size;
    if (sl_avro_close(w, &size, &err))
        return fail(err.msg);
    printf("{\"count\": %lld, \"size\": %llu}\n", (long long)count, (unsigned long long)size);
    return 0;
}

static int do_write(const char *jobpath)
{
    json_error_t jerr;
    json_t *job = json_load_file(jobpath, 0, &jerr);
    if (!job) {
        fprintf(stderr, "%s: %s\n", jobpath, jerr.text);
        return 2;
    }
    sl_arena arena;
    sl_arena_init(&arena);
    int rc = write_records(job, &arena);
    sl_arena_free(&arena);
    json_decref(job);
    return rc;
}

static int do_read(const char *path)
{
    sl_err err = {{0}};
    sl_avro_reader *r;
    if (sl_avro_read_file(path, &r, &err))
        return fail(err.msg);
    json_t *out = json_object(), *recs = json_array(), *meta = json_object();
    const char *keys[] = {"avro.schema", "avro.codec", "format-version", "content", "schema", "partition-spec", "x"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        size_t n;
        const char *m = sl_avro_read_meta(r, keys[i], &n);
        json_t *j = m ? json_stringn(m, n) : NULL;
        if (m)
            json_object_set_new(meta, keys[i], j ? j : json_string("(not UTF-8)"));
    }
    const sl_avro_value *v;
    int rc;
    while ((rc = sl_avro_read_next(r, &v, &err)) == 1)
        json_array_append_new(recs, to_json(v));
    sl_avro_read_close(r);
    json_object_set_new(out, "meta", meta);
    json_object_set_new(out, "records", recs);
    if (rc < 0) {
        json_decref(out);
        return fail(err.msg);
    }
    json_dumpf(out, stdout, JSON_COMPACT);
    printf("\n");
    json_decref(out);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "write"))
        return do_write(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "read"))
        return do_read(argv[2]);
    fprintf(stderr, "usage: avro_tool write JOB.json | avro_tool read FILE\n");
    return 2;
}
