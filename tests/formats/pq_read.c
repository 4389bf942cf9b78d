/* pq_read.c — test driver for the Parquet reader (not part of sluice):
 * reads one Parquet file through formats/parquet/pq_reader.h and prints it
 * as JSON, so the Python tests can compare it with what pyarrow reads from
 * the same file (files pyarrow wrote, and files pq_write wrote).
 *
 *   pq_read FILE
 *
 * Output: {"columns": [{"name", "field_id", "physical", "list"}], "rows":
 * [[...]]} with values in their physical form: null, integers (BOOLEAN as
 * 0/1, INT32 and INT64), floats as numbers or "nan", "inf", "-inf", "-0",
 * BYTE_ARRAY and FIXED as hex; a list column gives an array or null.
 * On a reader error: prints {"error": "..."} and exits 1. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../formats/parquet/parquet.h"
#include "../../formats/parquet/pq_reader.h"

static json_t *value(const sl_pq_rcolumn *c, const sl_pq_rvalue *v)
{
    if (!v)
        return json_null();
    switch (c->physical) {
    case SL_PQ_FLOAT:
    case SL_PQ_DOUBLE:
        if (isnan(v->d))
            return json_string("nan");
        if (isinf(v->d))
            return json_string(v->d > 0 ? "inf" : "-inf");
        if (v->d == 0 && signbit(v->d))
            return json_string("-0");
        return json_real(v->d);
    case SL_PQ_BYTE_ARRAY:
    case SL_PQ_FIXED: {
        static const char hex[] = "0123456789abcdef";
        char *s = malloc((size_t)v->n * 2 + 1);
        if (!s)
            return json_null();
        for (uint32_t i = 0; i < v->n; i++) {
            s[2 * i] = hex[v->p[i] >> 4];
            s[2 * i + 1] = hex[v->p[i] & 15];
        }
        s[2 * v->n] = 0;
        json_t *j = json_string(s);
        free(s);
        return j;
    }
    default:
        return json_integer(v->i);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: pq_read FILE\n");
        return 2;
    }
    sl_pq_reader *r;
    sl_err err;
    if (sl_pq_reader_open(argv[1], &r, &err)) {
        printf("{\"error\": %s}\n", json_dumps(json_string(err.msg), JSON_ENCODE_ANY));
        return 1;
    }
    json_t *out = json_object(), *cols = json_array(), *rows = json_array();
    int nc = sl_pq_reader_ncols(r);
    for (int c = 0; c < nc; c++) {
        const sl_pq_rcolumn *rc = sl_pq_reader_column(r, c);
        json_array_append_new(cols, json_pack("{s:s, s:i, s:i, s:b}", "name", rc->name, "field_id", rc->field_id,
                                              "physical", rc->physical, "list", rc->is_list));
    }
    for (int g = 0; g < sl_pq_reader_num_row_groups(r); g++) {
        int64_t n = sl_pq_reader_load(r, g, &err);
        if (n < 0) {
            printf("{\"error\": %s}\n", json_dumps(json_string(err.msg), JSON_ENCODE_ANY));
            return 1;
        }
        for (int64_t k = 0; k < n; k++) {
            json_t *row = json_array();
            for (int c = 0; c < nc; c++) {
                const sl_pq_rcolumn *rc = sl_pq_reader_column(r, c);
                if (!rc->is_list) {
                    json_array_append_new(row, value(rc, sl_pq_reader_value(r, c, k)));
                    continue;
                }
                int64_t len = sl_pq_reader_list_len(r, c, k);
                json_t *l = len < 0 ? json_null() : json_array();
                for (int64_t e = 0; e < len; e++)
                    json_array_append_new(l, value(rc, sl_pq_reader_element(r, c, k, e)));
                json_array_append_new(row, l);
            }
            json_array_append_new(rows, row);
        }
    }
    json_object_set_new(out, "columns", cols);
    json_object_set_new(out, "rows", rows);
    json_dumpf(out, stdout, JSON_COMPACT);
    putchar('\n');
    json_decref(out);
    sl_pq_reader_close(r);
    return 0;
}
