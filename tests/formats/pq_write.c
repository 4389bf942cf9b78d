/* pq_write.c — test driver for the Parquet writer (not part of sluice):
 * reads a JSON job (columns, options, rows) and writes one Parquet file
 * through formats/parquet, then prints the writer's per-column results as
 * JSON, so the Python tests can read the file with independent readers and
 * compare both against the job.
 *
 *   pq_write JOB.json
 *
 * Job: {"path": "...", "options": {...}, "columns": [...], "rows": [[...]]}
 * Column: {"name", "field_id", "type", "nullable", "list", "element_id",
 * "element_nullable"}; type is bool, int32, int64, int:BITS (signed),
 * uint:BITS, float, double, string, json, binary, fixed:N, uuid, date, time,
 * timestamp, timestamptz, decimal:P:S. Values: null, JSON numbers, strings;
 * binary/fixed/uuid as hex; floats may be "nan", "inf", "-inf", "-0";
 * decimals as text; uint64 beyond int64 as "u:<digits>"; a list column
 * takes a JSON array (elements may be null) or null.
 * On a writer error: prints {"error": "..."} and exits 1. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../formats/parquet/parquet.h"

static size_t unhex(const char *s, uint8_t *out)
{
    size_t n = 0;
    for (; s[0] && s[1]; s += 2)
        out[n++] = (uint8_t)(sl_hex_digit(s[0]) * 16 + sl_hex_digit(s[1]));
    return n;
}

static int parse_type(const char *s, sl_pq_type *t)
{
    int a, b;
    if (!strcmp(s, "bool"))
        *t = sl_pq_t_bool();
    else if (!strcmp(s, "int32"))
        *t = sl_pq_t_int32();
    else if (!strcmp(s, "int64"))
        *t = sl_pq_t_int64();
    else if (sscanf(s, "int:%d", &a) == 1)
        *t = sl_pq_t_int(a, 1);
    else if (sscanf(s, "uint:%d", &a) == 1)
        *t = sl_pq_t_int(a, 0);
    else if (!strcmp(s, "float"))
        *t = sl_pq_t_float();
    else if (!strcmp(s, "double"))
        *t = sl_pq_t_double();
    else if (!strcmp(s, "string"))
        *t = sl_pq_t_string();
    else if (!strcmp(s, "json"))
        *t = sl_pq_t_json();
    else if (!strcmp(s, "binary"))
        *t = sl_pq_t_binary();
    else if (sscanf(s, "fixed:%d", &a) == 1)
        *t = sl_pq_t_fixed(a);
    else if (!strcmp(s, "uuid"))
        *t = sl_pq_t_uuid();
    else if (!strcmp(s, "date"))
        *t = sl_pq_t_date();
    else if (!strcmp(s, "time"))
        *t = sl_pq_t_time_us();
    else if (!strcmp(s, "timestamp"))
        *t = sl_pq_t_timestamp_us(0);
    else if (!strcmp(s, "timestamptz"))
        *t = sl_pq_t_timestamp_us(1);
    else if (sscanf(s, "decimal:%d:%d", &a, &b) == 2)
        *t = sl_pq_t_decimal(a, b);
    else
        return -1;
    return 0;
}

static double parse_double(json_t *v)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (!strcmp(s, "nan"))
            return NAN;
        if (!strcmp(s, "inf"))
            return INFINITY;
        if (!strcmp(s, "-inf"))
            return -INFINITY;
        if (!strcmp(s, "-0"))
            return -0.0;
        return strtod(s, NULL);
    }
    return json_number_value(v);
}

/* one value (not a list) into column col */
static int put(sl_pq_writer *w, int col, const sl_pq_type *t, json_t *v)
{
    static uint8_t bin[1 << 22];
    if (json_is_null(v))
        return sl_pq_put_null(w, col);
    if (t->logical == SL_PQ_LT_DECIMAL) {
        const char *s = json_string_value(v);
        return sl_pq_put_decimal_text(w, col, s, strlen(s));
    }
    switch (t->physical) {
    case SL_PQ_BOOLEAN:
        return sl_pq_put_bool(w, col, json_is_true(v));
    case SL_PQ_INT32:
        if (json_is_string(v)) /* "u:..." */
            return sl_pq_put_i64(w, col, (int64_t)strtoull(json_string_value(v) + 2, NULL, 10));
        return sl_pq_put_i64(w, col, json_integer_value(v));
    case SL_PQ_INT64:
        if (json_is_string(v))
            return sl_pq_put_i64(w, col, (int64_t)strtoull(json_string_value(v) + 2, NULL, 10));
        return sl_pq_put_i64(w, col, json_integer_value(v));
    case SL_PQ_FLOAT:
        return sl_pq_put_float(w, col, (float)parse_double(v));
    case SL_PQ_DOUBLE:
        return sl_pq_put_double(w, col, parse_double(v));
    default: {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (t->logical == SL_PQ_LT_STRING || t->logical == SL_PQ_LT_JSON)
            return sl_pq_put_bytes(w, col, s, n);
        if (n / 2 > sizeof bin)
            return -1;
        return sl_pq_put_bytes(w, col, bin, unhex(s, bin));
    }
    }
}

static void hex(json_t *o, const char *key, const uint8_t *p, size_t n)
{
    char *s = malloc(n * 2 + 1);
    for (size_t i = 0; i < n; i++)
        sprintf(s + 2 * i, "%02x", p[i]);
    s[n * 2] = 0;
    json_object_set_new(o, key, json_string(s));
    free(s);
}

static int fail(const char *msg)
{
    json_t *e = json_pack("{ss}", "error", msg);
    json_dumpf(e, stdout, 0);
    json_decref(e);
    return 1;
}

static int run(json_t *job, sl_pq_column *cols, int ncols)
{
    json_t *jcols = json_object_get(job, "columns"), *rows = json_object_get(job, "rows");
    for (int i = 0; i < ncols; i++) {
        json_t *c = json_array_get(jcols, (size_t)i);
        cols[i].name = json_string_value(json_object_get(c, "name"));
        json_t *fid = json_object_get(c, "field_id"), *eid = json_object_get(c, "element_id");
        cols[i].field_id = fid ? (int32_t)json_integer_value(fid) : -1;
        cols[i].element_id = eid ? (int32_t)json_integer_value(eid) : -1;
        cols[i].nullable = json_is_true(json_object_get(c, "nullable"));
        cols[i].is_list = json_is_true(json_object_get(c, "list"));
        cols[i].element_nullable = json_is_true(json_object_get(c, "element_nullable"));
        if (parse_type(json_string_value(json_object_get(c, "type")), &cols[i].type)) {
            fprintf(stderr, "unknown type in column %d\n", i);
            return 2;
        }
    }
    sl_pq_options opt;
    sl_pq_options_default(&opt);
    json_t *o = json_object_get(job, "options");
    sl_pq_kv kv[16];
    if (o) {
        const char *codec = json_string_value(json_object_get(o, "codec"));
        if (codec)
            opt.codec = !strcmp(codec, "snappy") ? SL_PQ_SNAPPY : !strcmp(codec, "none") ? SL_PQ_UNCOMPRESSED
                                                                                         : SL_PQ_ZSTD;
        json_t *v;
        if ((v = json_object_get(o, "page_version")))
            opt.page_version = (int)json_integer_value(v);
        if ((v = json_object_get(o, "page_size")))
            opt.page_size = (size_t)json_integer_value(v);
        if ((v = json_object_get(o, "dict_limit")))
            opt.dict_limit = (size_t)json_integer_value(v);
        if ((v = json_object_get(o, "row_group_size")))
            opt.row_group_size = (size_t)json_integer_value(v);
        if ((v = json_object_get(o, "row_group_rows")))
            opt.row_group_rows = json_integer_value(v);
        if ((v = json_object_get(o, "stats_max_len")))
            opt.stats_max_len = (size_t)json_integer_value(v);
        if ((v = json_object_get(o, "zstd_level")))
            opt.zstd_level = (int)json_integer_value(v);
        json_t *jkv = json_object_get(o, "kv");
        const char *k;
        json_object_foreach(jkv, k, v)
        {
            if (opt.nkv < 16) {
                kv[opt.nkv].key = k;
                kv[opt.nkv].value = json_string_value(v);
                opt.nkv++;
            }
        }
        opt.kv = kv;
    }
    sl_err err = {{0}};
    sl_wfile *f;
    sl_pq_writer *w;
    const char *path = json_string_value(json_object_get(job, "path"));
    if (sl_wfile_open_local(path, &f, &err) || sl_pq_open(&w, f, cols, ncols, &opt, &err))
        return fail(err.msg);
    size_t r;
    json_t *row;
    int abort_at = json_is_integer(json_object_get(job, "abort_at_row"))
                       ? (int)json_integer_value(json_object_get(job, "abort_at_row"))
                       : -1;
    json_array_foreach(rows, r, row)
    {
        if ((int)r == abort_at) {
            sl_pq_abort(w);
            printf("{\"aborted\": true}\n");
            return 0;
        }
        for (int i = 0; i < ncols; i++) {
            json_t *v = json_array_get(row, (size_t)i);
            if (cols[i].is_list && json_is_array(v)) {
                sl_pq_list_begin(w, i);
                size_t k;
                json_t *e;
                json_array_foreach(v, k, e) put(w, i, &cols[i].type, e);
                sl_pq_list_end(w, i);
            } else {
                put(w, i, &cols[i].type, v);
            }
        }
        if (sl_pq_end_row(w, &err)) {
            sl_pq_abort(w);
            return fail(err.msg);
        }
    }
    sl_pq_result *res;
    if (sl_pq_close(w, &res, &err))
        return fail(err.msg);
    json_t *out = json_object();
    json_object_set_new(out, "file_size", json_integer((json_int_t)res->file_size));
    json_object_set_new(out, "num_rows", json_integer(res->num_rows));
    json_t *offs = json_array();
    for (int i = 0; i < res->num_row_groups; i++)
        json_array_append_new(offs, json_integer(res->row_group_offsets[i]));
    json_object_set_new(out, "row_group_offsets", offs);
    json_t *cs = json_array();
    for (int i = 0; i < res->ncolumns; i++) {
        const sl_pq_column_stats *s = &res->columns[i];
        json_t *c = json_pack("{ss si sI sI sI sI sI sb}", "path", s->path, "field_id", s->field_id,
                              "num_values", (json_int_t)s->num_values, "null_count",
                              (json_int_t)s->null_count, "nan_count", (json_int_t)s->nan_count,
                              "compressed_size", (json_int_t)s->compressed_size, "uncompressed_size",
                              (json_int_t)s->uncompressed_size, "has_bounds", s->has_bounds);
        if (s->has_bounds) {
            hex(c, "min", s->min, s->min_len);
            hex(c, "max", s->max, s->max_len);
            json_object_set_new(c, "min_exact", json_boolean(s->min_exact));
            json_object_set_new(c, "max_exact", json_boolean(s->max_exact));
        }
        json_array_append_new(cs, c);
    }
    json_object_set_new(out, "columns", cs);
    json_dumpf(out, stdout, JSON_COMPACT);
    printf("\n");
    sl_pq_result_free(res);
    json_decref(out);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: pq_write JOB.json\n");
        return 2;
    }
    json_error_t jerr;
    json_t *job = json_load_file(argv[1], JSON_ALLOW_NUL, &jerr);
    if (!job) {
        fprintf(stderr, "%s:%d: %s\n", argv[1], jerr.line, jerr.text);
        return 2;
    }
    int ncols = (int)json_array_size(json_object_get(job, "columns"));
    sl_pq_column *cols = calloc((size_t)ncols + 1, sizeof *cols);
    int rc = run(job, cols, ncols);
    free(cols);
    json_decref(job);
    return rc;
}
