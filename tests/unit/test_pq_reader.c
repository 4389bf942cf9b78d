/* test_pq_reader.c — the Parquet reader reads back every type the writer
 * writes (boolean, INT32/INT64 and their date/time/decimal forms, float,
 * double, strings, binary, fixed, uuid, FIXED decimals, lists with null and
 * empty lists and null elements), nullable and required, through PLAIN and
 * dictionary pages, data pages v1 and v2, every codec and several row
 * groups; and refuses what is not Parquet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../formats/parquet/parquet.h"
#include "../../formats/parquet/pq_reader.h"

enum { NROWS = 3000, NCOLS = 16 };

static sl_pq_column cols[NCOLS];

static void init_cols(void)
{
    const char *names[NCOLS] = {"b", "i32", "i64", "f", "d", "s", "bin", "fx", "u", "date", "time", "ts",
                                "dec4", "dec8", "dec16", "list"};
    sl_pq_type types[NCOLS] = {sl_pq_t_bool(), sl_pq_t_int32(), sl_pq_t_int64(), sl_pq_t_float(),
                               sl_pq_t_double(), sl_pq_t_string(), sl_pq_t_binary(), sl_pq_t_fixed(3),
                               sl_pq_t_uuid(), sl_pq_t_date(), sl_pq_t_time_us(), sl_pq_t_timestamp_us(1),
                               sl_pq_t_decimal(9, 2), sl_pq_t_decimal(18, 3), sl_pq_t_decimal(38, 5),
                               sl_pq_t_int64()};
    for (int c = 0; c < NCOLS; c++)
        cols[c] = (sl_pq_column){.name = names[c], .field_id = c + 1, .type = types[c], .nullable = c % 2 == 0,
                                 .element_id = -1};
    cols[15].nullable = 1;
    cols[15].is_list = 1;
    cols[15].element_nullable = 1;
    cols[15].element_id = 100;
}

/* row r's value of column c: null every 7th row in nullable columns; a
 * column with few distinct values every other row (dictionary) */
static int is_null(int c, int r) { return cols[c].nullable && r % 7 == 3; }
static int64_t ival(int c, int r) { return (r % 2 ? (int64_t)r * 7919 : r % 5) * (c % 3 ? -1 : 1) + c; }

static void put_row(sl_pq_writer *w, int r)
{
    for (int c = 0; c < NCOLS; c++) {
        if (is_null(c, r)) {
            assert_int_equal(sl_pq_put_null(w, c), 0);
            continue;
        }
        int64_t v = ival(c, r);
        char s[32];
        int n = snprintf(s, sizeof s, "v%lld", (long long)v);
        switch (c) {
        case 0: assert_int_equal(sl_pq_put_bool(w, c, r % 3 == 0), 0); break;
        case 1: case 9: assert_int_equal(sl_pq_put_i32(w, c, (int32_t)v), 0); break;
        case 2: case 11: assert_int_equal(sl_pq_put_i64(w, c, v * 1000003), 0); break;
        case 10: assert_int_equal(sl_pq_put_i64(w, c, (v < 0 ? -v : v) % 86400000000LL), 0); break;
        case 3: assert_int_equal(sl_pq_put_float(w, c, (float)v / 4), 0); break;
        case 4: assert_int_equal(sl_pq_put_double(w, c, (double)v / 3), 0); break;
        case 5: case 6: assert_int_equal(sl_pq_put_bytes(w, c, s, (size_t)(r % 11 == 0 && c == 6 ? 0 : n)), 0); break;
        case 7: assert_int_equal(sl_pq_put_bytes(w, c, s, 3), 0); break;
        case 8: {
            uint8_t u[16];
            for (int k = 0; k < 16; k++)
                u[k] = (uint8_t)(v >> (k % 8));
            assert_int_equal(sl_pq_put_bytes(w, c, u, 16), 0);
            break;
        }
        case 12: case 13: assert_int_equal(sl_pq_put_decimal(w, c, (sl_i128)v * (c == 12 ? 3 : 1001)), 0); break;
        case 14: assert_int_equal(sl_pq_put_decimal(w, c, (sl_i128)v * ((sl_i128)1 << 80)), 0); break;
        case 15:
            assert_int_equal(sl_pq_list_begin(w, c), 0);
            for (int k = 0; k < r % 4; k++) { /* 0..3 elements, some null */
                if (k == 1 && r % 8 == 1)
                    assert_int_equal(sl_pq_put_null(w, c), 0);
                else
                    assert_int_equal(sl_pq_put_i64(w, c, v + k), 0);
            }
            assert_int_equal(sl_pq_list_end(w, c), 0);
            break;
        }
    }
}

static void check_value(const sl_pq_rvalue *got, int c, int r)
{
    int64_t v = ival(c, r);
    char s[32];
    int n = snprintf(s, sizeof s, "v%lld", (long long)v);
    switch (c) {
    case 0: assert_int_equal(got->i, r % 3 == 0); break;
    case 1: case 9: assert_int_equal(got->i, (int32_t)v); break;
    case 2: case 11: assert_int_equal(got->i, v * 1000003); break;
    case 10: assert_int_equal(got->i, (v < 0 ? -v : v) % 86400000000LL); break;
    case 3: assert_true(got->d == (double)((float)v / 4)); break;
    case 4: assert_true(got->d == (double)v / 3); break;
    case 5: case 6: {
        int len = r % 11 == 0 && c == 6 ? 0 : n;
        assert_int_equal(got->n, len);
        assert_memory_equal(got->p, s, (size_t)len);
        break;
    }
    case 7: assert_int_equal(got->n, 3); assert_memory_equal(got->p, s, 3); break;
    case 8:
        assert_int_equal(got->n, 16);
        for (int k = 0; k < 16; k++)
            assert_int_equal(got->p[k], (uint8_t)(v >> (k % 8)));
        break;
    case 12: case 13: assert_int_equal(got->i, v * (c == 12 ? 3 : 1001)); break;
    case 14: {
        sl_i128 want = (sl_i128)v * ((sl_i128)1 << 80), x = (int8_t)got->p[0];
        for (uint32_t k = 1; k < got->n; k++)
            x = x * 256 + got->p[k];
        assert_true(x == want);
        break;
    }
    }
}

static void round_trip(int codec, int page_version, size_t dict_limit, int64_t rg_rows)
{
    char path[] = "/tmp/sl_pq_reader_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path); /* the writer creates its file */
    sl_pq_options o;
    sl_pq_options_default(&o);
    o.codec = codec;
    o.page_version = page_version;
    o.dict_limit = dict_limit;
    o.row_group_rows = rg_rows;
    o.page_size = 4096; /* several pages per chunk */
    sl_err err;
    sl_wfile *f;
    assert_int_equal(sl_wfile_open_local(path, &f, &err), 0);
    sl_pq_writer *w;
    assert_int_equal(sl_pq_open(&w, f, cols, NCOLS, &o, &err), 0);
    for (int r = 0; r < NROWS; r++) {
        put_row(w, r);
        if (sl_pq_end_row(w, &err))
            fail_msg("row %d: %s", r, err.msg);
    }
    assert_int_equal(sl_pq_close(w, NULL, &err), 0);

    sl_pq_reader *rd;
    if (sl_pq_reader_open(path, &rd, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(sl_pq_reader_ncols(rd), NCOLS);
    assert_int_equal(sl_pq_reader_num_rows(rd), NROWS);
    for (int c = 0; c < NCOLS; c++) {
        const sl_pq_rcolumn *rc = sl_pq_reader_column(rd, c);
        assert_string_equal(rc->name, cols[c].name);
        assert_int_equal(rc->field_id, c + 1);
        assert_int_equal(rc->physical, cols[c].type.physical);
        assert_int_equal(rc->nullable, cols[c].nullable);
        assert_int_equal(sl_pq_reader_find(rd, c + 1), c);
    }
    assert_int_equal(sl_pq_reader_column(rd, 15)->is_list, 1);
    assert_int_equal(sl_pq_reader_column(rd, 15)->element_id, 100);
    assert_int_equal(sl_pq_reader_num_row_groups(rd), rg_rows ? (NROWS + rg_rows - 1) / rg_rows : 1);
    int r = 0;
    for (int g = 0; g < sl_pq_reader_num_row_groups(rd); g++) {
        int64_t n = sl_pq_reader_load(rd, g, &err);
        if (n < 0)
            fail_msg("%s", err.msg);
        for (int64_t k = 0; k < n; k++, r++) {
            for (int c = 0; c < 15; c++) {
                const sl_pq_rvalue *v = sl_pq_reader_value(rd, c, k);
                if (is_null(c, r)) {
                    assert_null(v);
                } else {
                    assert_non_null(v);
                    check_value(v, c, r);
                }
            }
            int64_t len = sl_pq_reader_list_len(rd, 15, k);
            if (is_null(15, r)) {
                assert_int_equal(len, -1);
                continue;
            }
            assert_int_equal(len, r % 4);
            for (int e = 0; e < len; e++) {
                const sl_pq_rvalue *v = sl_pq_reader_element(rd, 15, k, e);
                if (e == 1 && r % 8 == 1) {
                    assert_null(v);
                } else {
                    assert_non_null(v);
                    assert_int_equal(v->i, ival(15, r) + e);
                }
            }
        }
    }
    assert_int_equal(r, NROWS);
    sl_pq_reader_close(rd);
    unlink(path);
}

static void every_type_round_trips(void **state)
{
    init_cols();
    round_trip(SL_PQ_ZSTD, 1, 1 << 20, 0);
    round_trip(SL_PQ_SNAPPY, 2, 1 << 20, 700);
    round_trip(SL_PQ_UNCOMPRESSED, 1, 0, 1000);
    round_trip(SL_PQ_ZSTD, 2, 300, 0); /* dictionaries fall back to PLAIN mid-chunk */
}

static void not_parquet_is_refused(void **state)
{
    char path[] = "/tmp/sl_pq_reader_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "PAR1 not really a file", 22), 22);
    close(fd);
    sl_pq_reader *rd;
    sl_err err;
    assert_int_not_equal(sl_pq_reader_open(path, &rd, &err), 0);
    char want[128];
    snprintf(want, sizeof want, "parquet: %s is not a Parquet file", path);
    assert_string_equal(err.msg, want);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_type_round_trips),
        cmocka_unit_test(not_parquet_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
