/* test_formats.c — the encoders under the lake file writers: varints and
 * zigzag, Thrift compact field headers and lists, the RLE/bit-packed hybrid,
 * dictionary fallback as a reader sees it in the footer, statistics sort
 * orders and truncation, exact decimals. The files as a whole are judged by
 * independent readers in tests/e2e/test_parquet_writer.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../formats/bytes.h"
#include "../../formats/decimal.h"
#include "../../formats/parquet/parquet.h"
#include "../../formats/parquet/pq_stats.h"
#include "../../formats/parquet/rle.h"
#include "../../formats/parquet/thrift.h"
#include "../../formats/varint.h"

#define assert_bytes(buf, ...)                                                                  \
    do {                                                                                        \
        const uint8_t want_[] = {__VA_ARGS__};                                                  \
        assert_int_equal((buf)->len, sizeof want_);                                             \
        assert_memory_equal((buf)->data, want_, sizeof want_);                                  \
    } while (0)

static void varints_and_zigzag(void **state)
{
    sl_buf b;
    sl_buf_init(&b);
    sl_buf_uvarint(&b, 0);
    sl_buf_uvarint(&b, 127);
    sl_buf_uvarint(&b, 128);
    sl_buf_uvarint(&b, 50399); /* the Thrift spec's example */
    assert_bytes(&b, 0x00, 0x7f, 0x80, 0x01, 0xdf, 0x89, 0x03);
    assert_int_equal(sl_zigzag64(0), 0);
    assert_int_equal(sl_zigzag64(-1), 1);
    assert_int_equal(sl_zigzag64(1), 2);
    assert_int_equal(sl_zigzag64(-2), 3);
    assert_true(sl_zigzag64(INT64_MIN) == UINT64_MAX);
    assert_true(sl_zigzag64(INT64_MAX) == UINT64_MAX - 1);
    int64_t probes[] = {0, 1, -1, 63, -64, 64, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof probes / sizeof *probes; i++) {
        sl_buf_reset(&b);
        sl_buf_zigzag(&b, probes[i]);
        const uint8_t *p = (const uint8_t *)b.data;
        uint64_t v = 0;
        assert_int_equal(sl_uvarint_get(&p, p + b.len, &v), 0);
        assert_true(sl_unzigzag64(v) == probes[i]);
        assert_ptr_equal(p, (const uint8_t *)b.data + b.len);
        /* a cut varint is an error, not a garbage value */
        p = (const uint8_t *)b.data;
        if (b.len > 1)
            assert_int_equal(sl_uvarint_get(&p, p + b.len - 1, &v), -1);
    }
    sl_buf_free(&b);
}

static void thrift_field_headers_and_lists(void **state)
{
    sl_buf b;
    sl_buf_init(&b);
    sl_tc t;
    sl_tc_init(&t, &b);
    sl_tc_field_i32(&t, 1, 1);       /* delta 1, I32: 0x15, zigzag(1)=2 */
    sl_tc_field_i64(&t, 3, -1);      /* delta 2, I64: 0x26, zigzag(-1)=1 */
    sl_tc_field_i32(&t, 20, 5);      /* delta 17: long form 0x05, zigzag(20)=40 */
    sl_tc_field_bool(&t, 21, 1);     /* delta 1, TRUE: 0x11 */
    sl_tc_field_bool(&t, 22, 0);     /* delta 1, FALSE: 0x12 */
    sl_tc_field_struct(&t, 23);      /* delta 1, STRUCT: 0x1c */
    sl_tc_field_binary(&t, 2, "ab", 2); /* nested struct starts over: delta 2 */
    sl_tc_end(&t);
    sl_tc_field_list(&t, 24, SL_TC_I32, 2); /* short list header 0x25 */
    sl_tc_i32(&t, -2);
    sl_tc_i32(&t, 3);
    sl_tc_field_list(&t, 25, SL_TC_STRUCT, 20); /* long list header 0xfc, 20 */
    for (int i = 0; i < 20; i++) {
        sl_tc_struct(&t);
        sl_tc_end(&t);
    }
    sl_tc_field_i32(&t, 10, 7); /* a smaller id than the last: long form */
    sl_tc_end(&t);
    const uint8_t want[] = {0x15, 0x02, 0x26, 0x01, 0x05, 0x28, 0x0a, 0x11, 0x12, 0x1c, 0x28, 0x02,
                            'a',  'b',  0x00, 0x19, 0x25, 0x03, 0x06, 0x19, 0xfc, 0x14};
    assert_true(b.len == sizeof want + 20 + 4);
    assert_memory_equal(b.data, want, sizeof want);
    assert_int_equal((uint8_t)b.data[sizeof want + 20], 0x05);
    assert_int_equal((uint8_t)b.data[sizeof want + 21], 0x14); /* zigzag(10) */

    /* and the reader walks it back */
    sl_tc_reader r;
    sl_tc_reader_init(&r, b.data, b.len);
    int16_t id;
    assert_int_equal(sl_tc_next_field(&r, &id), SL_TC_I32);
    assert_int_equal(id, 1);
    assert_int_equal(sl_tc_read_int(&r), 1);
    assert_int_equal(sl_tc_next_field(&r, &id), SL_TC_I64);
    assert_int_equal(sl_tc_read_int(&r), -1);
    assert_int_equal(sl_tc_next_field(&r, &id), SL_TC_I32);
    assert_int_equal(id, 20);
    assert_int_equal(sl_tc_read_int(&r), 5);
    int ty = sl_tc_next_field(&r, &id);
    assert_int_equal(id, 21);
    assert_true(sl_tc_read_bool(&r, ty));
    ty = sl_tc_next_field(&r, &id);
    assert_false(sl_tc_read_bool(&r, ty));
    assert_int_equal(sl_tc_next_field(&r, &id), SL_TC_STRUCT);
    sl_tc_skip(&r, SL_TC_STRUCT);
    assert_int_equal(sl_tc_next_field(&r, &id), SL_TC_LIST);
    assert_int_equal(id, 24);
    int et;
    assert_int_equal(sl_tc_read_list(&r, &et), 2);
    assert_int_equal(sl_tc_read_int(&r), -2);
    assert_int_equal(sl_tc_read_int(&r), 3);
    assert_int_equal(sl_tc_next_field(&r, &id), SL_TC_LIST);
    sl_tc_skip(&r, SL_TC_LIST);
    assert_int_equal(sl_tc_next_field(&r, &id), SL_TC_I32);
    assert_int_equal(id, 10);
    assert_int_equal(sl_tc_read_int(&r), 7);
    assert_int_equal(sl_tc_next_field(&r, &id), SL_TC_STOP);
    assert_int_equal(r.error, 0);
    assert_ptr_equal(r.p, r.end);
    sl_buf_free(&b);
}

static void rle_exact_bytes(void **state)
{
    sl_buf b;
    sl_buf_init(&b);
    uint8_t same[100];
    memset(same, 1, sizeof same);
    sl_rle_encode_u8(&b, same, 100, 1); /* one RLE run: header 100<<1, value */
    assert_bytes(&b, 0xc8, 0x01, 0x01);

    sl_buf_reset(&b);
    uint8_t alt[16];
    for (int i = 0; i < 16; i++)
        alt[i] = (uint8_t)(i & 1);
    sl_rle_encode_u8(&b, alt, 16, 1); /* 2 groups bit-packed, LSB first */
    assert_bytes(&b, 0x05, 0xaa, 0xaa);

    /* 3 literals, then 20 equal values: the literal group borrows 5 of the
     * run to fill its 8, the remaining 15 are an RLE run */
    sl_buf_reset(&b);
    uint32_t mixed[23] = {1, 2, 3};
    for (int i = 3; i < 23; i++)
        mixed[i] = 5;
    sl_rle_encode_u32(&b, mixed, 23, 3);
    /* group 1,2,3,5,5,5,5,5 at 3 bits, LSB first: d1 da b6 */
    assert_bytes(&b, 0x03, 0xd1, 0xda, 0xb6, 0x1e, 0x05);

    /* trailing literals are zero-padded to a group */
    sl_buf_reset(&b);
    uint8_t tail[3] = {1, 0, 1};
    sl_rle_encode_u8(&b, tail, 3, 1);
    assert_bytes(&b, 0x03, 0x05);
    sl_buf_free(&b);
}

static void rle_round_trips(void **state)
{
    srand(42);
    sl_buf b;
    sl_buf_init(&b);
    for (int bw = 1; bw <= 24; bw++) {
        for (int trial = 0; trial < 20; trial++) {
            size_t n = (size_t)(rand() % 3000) + 1;
            uint32_t *v = malloc(n * sizeof *v), *back = malloc(n * sizeof *v);
            uint32_t mask = (uint32_t)((1ull << bw) - 1);
            for (size_t i = 0; i < n;) {
                uint32_t x = (uint32_t)rand() & mask;
                size_t run = rand() % 3 ? 1 : (size_t)(rand() % 40) + 1;
                for (size_t k = 0; k < run && i < n; k++)
                    v[i++] = x;
            }
            sl_buf_reset(&b);
            sl_rle_encode_u32(&b, v, n, bw);
            assert_int_equal(sl_rle_decode((const uint8_t *)b.data, b.len, bw, back, n), 0);
            assert_memory_equal(v, back, n * sizeof *v);
            /* a truncated stream is reported, never read past */
            if (b.len > 2)
                assert_int_equal(sl_rle_decode((const uint8_t *)b.data, b.len / 2, bw, back, n), -1);
            free(v);
            free(back);
        }
    }
    sl_buf_free(&b);
}

/* ---- footer walking, to see what a reader sees --------------------------- */

typedef struct chunk_info {
    int encodings[8], nenc;
    int64_t num_values, null_count, dict_off;
    uint8_t min[64], max[64];
    size_t min_len, max_len;
    int has_min;
} chunk_info;

static void read_stats(sl_tc_reader *r, chunk_info *ci)
{
    int16_t id;
    int ty;
    sl_tc_enter(r);
    while ((ty = sl_tc_next_field(r, &id)) != SL_TC_STOP && !r->error) {
        size_t n;
        const uint8_t *p;
        if (id == 3) {
            ci->null_count = sl_tc_read_int(r);
        } else if (id == 5 || id == 6) {
            p = sl_tc_read_binary(r, &n);
            memcpy(id == 6 ? ci->min : ci->max, p, n < 64 ? n : 64);
            *(id == 6 ? &ci->min_len : &ci->max_len) = n;
            ci->has_min = 1;
        } else {
            sl_tc_skip(r, ty);
        }
    }
}

static void read_column_meta(sl_tc_reader *r, chunk_info *ci)
{
    int16_t id;
    int ty, et;
    sl_tc_enter(r);
    while ((ty = sl_tc_next_field(r, &id)) != SL_TC_STOP && !r->error) {
        if (id == 2) {
            uint32_t n = sl_tc_read_list(r, &et);
            for (uint32_t i = 0; i < n; i++)
                ci->encodings[ci->nenc++] = (int)sl_tc_read_int(r);
        } else if (id == 5) {
            ci->num_values = sl_tc_read_int(r);
        } else if (id == 11) {
            ci->dict_off = sl_tc_read_int(r);
        } else if (id == 12) {
            read_stats(r, ci);
        } else {
            sl_tc_skip(r, ty);
        }
    }
}

/* the first column chunk of the first row group of a file in memory */
static int64_t first_chunk(const sl_buf *file, chunk_info *ci)
{
    memset(ci, 0, sizeof *ci);
    ci->dict_off = -1;
    assert_true(file->len > 12);
    assert_memory_equal(file->data, "PAR1", 4);
    assert_memory_equal(file->data + file->len - 4, "PAR1", 4);
    uint32_t flen = sl_le32(file->data + file->len - 8);
    sl_tc_reader r;
    sl_tc_reader_init(&r, file->data + file->len - 8 - flen, flen);
    int16_t id;
    int ty, et;
    int64_t rows = -1;
    while ((ty = sl_tc_next_field(&r, &id)) != SL_TC_STOP && !r.error) {
        if (id == 3) {
            rows = sl_tc_read_int(&r);
        } else if (id == 4) {
            uint32_t ngroups = sl_tc_read_list(&r, &et);
            for (uint32_t g = 0; g < ngroups; g++) {
                sl_tc_enter(&r);
                int16_t gid;
                int gty;
                while ((gty = sl_tc_next_field(&r, &gid)) != SL_TC_STOP) {
                    if (g == 0 && gid == 1) {
                        uint32_t ncols = sl_tc_read_list(&r, &et);
                        for (uint32_t c = 0; c < ncols; c++) {
                            sl_tc_enter(&r);
                            int16_t cid;
                            int cty;
                            while ((cty = sl_tc_next_field(&r, &cid)) != SL_TC_STOP) {
                                if (c == 0 && cid == 3)
                                    read_column_meta(&r, ci);
                                else
                                    sl_tc_skip(&r, cty);
                            }
                        }
                    } else {
                        sl_tc_skip(&r, gty);
                    }
                }
            }
        } else {
            sl_tc_skip(&r, ty);
        }
    }
    assert_int_equal(r.error, 0);
    return rows;
}

static void dictionary_falls_back_to_plain(void **state)
{
    sl_buf file;
    sl_buf_init(&file);
    sl_pq_column col = {.name = "s", .field_id = 1, .type = sl_pq_t_string()};
    sl_pq_options o;
    sl_pq_options_default(&o);
    o.dict_limit = 1000;
    o.codec = SL_PQ_UNCOMPRESSED;
    sl_pq_writer *w;
    sl_err err;
    assert_int_equal(sl_pq_open(&w, sl_wfile_open_mem(&file), &col, 1, &o, &err), 0);
    char v[32];
    for (int i = 0; i < 500; i++) {
        int n = snprintf(v, sizeof v, "value-%04d", i);
        assert_int_equal(sl_pq_put_bytes(w, 0, v, (size_t)n), 0);
        assert_int_equal(sl_pq_end_row(w, &err), 0);
    }
    assert_int_equal(sl_pq_close(w, NULL, &err), 0);
    chunk_info ci;
    assert_int_equal(first_chunk(&file, &ci), 500);
    /* PLAIN (dictionary page and the pages after the fallback), RLE_DICTIONARY */
    assert_int_equal(ci.nenc, 2);
    assert_int_equal(ci.encodings[0], 0);
    assert_int_equal(ci.encodings[1], 8);
    assert_int_equal(ci.dict_off, 4);
    assert_int_equal(ci.num_values, 500);
    assert_int_equal(ci.null_count, 0);
    assert_int_equal(ci.min_len, 10);
    assert_memory_equal(ci.min, "value-0000", 10);
    assert_memory_equal(ci.max, "value-0499", 10);

    /* few distinct values: dictionary only, no PLAIN data page */
    sl_buf_reset(&file);
    assert_int_equal(sl_pq_open(&w, sl_wfile_open_mem(&file), &col, 1, &o, &err), 0);
    for (int i = 0; i < 500; i++) {
        assert_int_equal(sl_pq_put_bytes(w, 0, i % 2 ? "odd" : "even", i % 2 ? 3 : 4), 0);
        assert_int_equal(sl_pq_end_row(w, &err), 0);
    }
    assert_int_equal(sl_pq_close(w, NULL, &err), 0);
    assert_int_equal(first_chunk(&file, &ci), 500);
    assert_int_equal(ci.nenc, 2);
    assert_memory_equal(ci.min, "even", 4);
    assert_memory_equal(ci.max, "odd", 3);

    /* dictionaries off: PLAIN only, no dictionary page */
    sl_buf_reset(&file);
    o.dict_limit = 0;
    assert_int_equal(sl_pq_open(&w, sl_wfile_open_mem(&file), &col, 1, &o, &err), 0);
    assert_int_equal(sl_pq_put_bytes(w, 0, "x", 1), 0);
    assert_int_equal(sl_pq_end_row(w, &err), 0);
    assert_int_equal(sl_pq_close(w, NULL, &err), 0);
    first_chunk(&file, &ci);
    assert_int_equal(ci.nenc, 1);
    assert_int_equal(ci.encodings[0], 0);
    assert_int_equal(ci.dict_off, -1);
    sl_buf_free(&file);
}

static void row_protocol_errors(void **state)
{
    sl_buf file;
    sl_buf_init(&file);
    sl_pq_column cols[2] = {{.name = "a", .field_id = 1, .type = sl_pq_t_int64()},
                            {.name = "l", .field_id = 2, .type = sl_pq_t_int32(), .is_list = 1,
                             .element_id = 3}};
    sl_pq_writer *w;
    sl_err err;
    assert_int_equal(sl_pq_open(&w, sl_wfile_open_mem(&file), cols, 2, NULL, &err), 0);
    assert_int_equal(sl_pq_put_i64(w, 0, 1), 0);
    assert_int_equal(sl_pq_end_row(w, &err), SL_ERUNTIME);
    assert_string_equal(err.msg, "parquet: column \"l.list.element\": no value in this row");
    sl_pq_abort(w);
    assert_int_equal(file.len, 0); /* abort took back what was written */

    assert_int_equal(sl_pq_open(&w, sl_wfile_open_mem(&file), cols, 2, NULL, &err), 0);
    assert_int_equal(sl_pq_put_i64(w, 0, 1), 0);
    assert_int_equal(sl_pq_put_i64(w, 0, 2), SL_ERUNTIME);
    sl_pq_abort(w);

    assert_int_equal(sl_pq_open(&w, sl_wfile_open_mem(&file), cols, 2, NULL, &err), 0);
    assert_int_equal(sl_pq_put_bytes(w, 0, "x", 1), SL_ERUNTIME);
    assert_int_equal(sl_pq_end_row(w, &err), SL_ERUNTIME);
    assert_string_equal(err.msg, "parquet: column \"a\" is INT64, given a BYTE_ARRAY value");
    sl_pq_abort(w);

    assert_int_equal(sl_pq_open(&w, sl_wfile_open_mem(&file), cols, 2, NULL, &err), 0);
    assert_int_equal(sl_pq_put_i64(w, 0, 1), 0);
    assert_int_equal(sl_pq_list_begin(w, 1), 0);
    assert_int_equal(sl_pq_put_null(w, 1), SL_ERUNTIME);
    assert_int_equal(sl_pq_close(w, NULL, &err), SL_ERUNTIME);
    assert_string_equal(err.msg,
                        "parquet: column \"l.list.element\": null element in a list of non-null elements");

    sl_pq_column bad = {.name = "d", .type = sl_pq_t_decimal(39, 0)};
    assert_int_equal(sl_pq_open(&w, sl_wfile_open_mem(&file), &bad, 1, NULL, &err), SL_ECONFIG);
    assert_string_equal(err.msg, "parquet: column \"d\": decimal(39,0) is out of range (precision 1..38, scale 0..precision)");
    sl_buf_free(&file);
}

static void stats_sort_orders(void **state)
{
    /* FIXED decimals: signed (first byte's sign), other bytes unsigned */
    const uint8_t neg[2] = {0xff, 0x00}, pos[2] = {0x01, 0x00}, big[2] = {0x7f, 0xff};
    assert_true(sl_pq_bytes_cmp(SL_PQ_ORD_SIGNED_BYTES, neg, 2, pos, 2) < 0);
    assert_true(sl_pq_bytes_cmp(SL_PQ_ORD_BYTES, neg, 2, pos, 2) > 0);
    assert_true(sl_pq_bytes_cmp(SL_PQ_ORD_SIGNED_BYTES, pos, 2, big, 2) < 0);
    assert_true(sl_pq_bytes_cmp(SL_PQ_ORD_BYTES, "ab", 2, "abc", 3) < 0);
    assert_true(sl_pq_bytes_cmp(SL_PQ_ORD_BYTES, "\xc3\xa9", 2, "z", 1) > 0); /* é > z */
    assert_int_equal(sl_pq_bytes_cmp(SL_PQ_ORD_BYTES, "", 0, "", 0), 0);

    sl_pq_minmax m;
    sl_buf lo, hi;
    sl_buf_init(&lo);
    sl_buf_init(&hi);
    /* unsigned 32-bit: 0xffffffff is the max, not -1 the min */
    sl_pq_mm_init(&m, SL_PQ_INT32, SL_PQ_ORD_UNSIGNED, 0, 0);
    sl_pq_mm_u64(&m, 5);
    sl_pq_mm_u64(&m, 0xffffffffu);
    sl_pq_mm_u64(&m, 0);
    sl_pq_mm_encode(&m, &lo, &hi);
    assert_bytes(&lo, 0, 0, 0, 0);
    assert_bytes(&hi, 0xff, 0xff, 0xff, 0xff);
    sl_pq_mm_free(&m);

    /* doubles: NaN ignored but counted, zeros signed at the edges */
    sl_buf_reset(&lo);
    sl_buf_reset(&hi);
    sl_pq_mm_init(&m, SL_PQ_DOUBLE, SL_PQ_ORD_FLOAT, 0, 0);
    sl_pq_mm_double(&m, NAN);
    sl_pq_mm_double(&m, 0.0);
    sl_pq_mm_double(&m, -0.0);
    assert_int_equal(m.nan_count, 1);
    sl_pq_mm_encode(&m, &lo, &hi);
    double dlo, dhi;
    memcpy(&dlo, lo.data, 8);
    memcpy(&dhi, hi.data, 8);
    assert_true(dlo == 0 && signbit(dlo));
    assert_true(dhi == 0 && !signbit(dhi));
    sl_pq_mm_free(&m);

    /* merging row groups keeps the widest bounds */
    sl_pq_minmax a, b;
    sl_pq_mm_init(&a, SL_PQ_INT64, SL_PQ_ORD_SIGNED, 0, 0);
    sl_pq_mm_init(&b, SL_PQ_INT64, SL_PQ_ORD_SIGNED, 0, 0);
    sl_pq_mm_i64(&a, -5);
    sl_pq_mm_i64(&b, INT64_MIN);
    sl_pq_mm_i64(&b, 7);
    sl_pq_mm_merge(&a, &b);
    assert_true(a.lo.i == INT64_MIN && a.hi.i == 7);
    sl_pq_mm_free(&a);
    sl_pq_mm_free(&b);
    sl_buf_free(&lo);
    sl_buf_free(&hi);
}

static void bound_truncation(void **state)
{
    sl_buf o;
    sl_buf_init(&o);
    /* UTF-8 min: whole characters only */
    assert_int_equal(sl_pq_truncate_min((const uint8_t *)"a\xc3\xa9\xc3\xa9", 5, 2, 1, &o), 1);
    assert_int_equal(o.len, 1);
    /* UTF-8 max: the last kept character incremented, é (U+E9) -> ê (U+EA) */
    assert_int_equal(sl_pq_truncate_max((const uint8_t *)"a\xc3\xa9\xc3\xa9", 5, 3, 1, &o), 1);
    assert_bytes(&o, 'a', 0xc3, 0xaa);
    /* U+D7FF + 1 skips the surrogates */
    assert_int_equal(sl_pq_truncate_max((const uint8_t *)"\xed\x9f\xbfzz", 5, 3, 1, &o), 1);
    assert_bytes(&o, 0xee, 0x80, 0x80);
    /* U+7F + 1 becomes a 2-byte character */
    assert_int_equal(sl_pq_truncate_max((const uint8_t *)"\x7f\x7f\x7f", 3, 1, 1, &o), 1);
    assert_bytes(&o, 0xc2, 0x80);
    /* binary: trailing 0xff dropped, then the last byte incremented */
    assert_int_equal(sl_pq_truncate_max((const uint8_t *)"\x01\xff\xff\x00", 4, 3, 0, &o), 1);
    assert_bytes(&o, 0x02);
    /* nothing shorter bounds an all-0xff prefix: the whole value */
    assert_int_equal(sl_pq_truncate_max((const uint8_t *)"\xff\xff\x01", 3, 2, 0, &o), 0);
    assert_bytes(&o, 0xff, 0xff, 0x01);
    /* short enough: untouched, exact */
    assert_int_equal(sl_pq_truncate_max((const uint8_t *)"ab", 2, 2, 0, &o), 0);
    assert_int_equal(sl_pq_truncate_min((const uint8_t *)"ab", 2, 0, 0, &o), 0);
    sl_buf_free(&o);
}

static void decimals(void **state)
{
    sl_i128 v;
    assert_int_equal(sl_decimal_parse("-12.340", 7, 10, 2, &v), SL_DEC_OK);
    assert_true(v == -1234);
    assert_int_equal(sl_decimal_parse("1.5", 3, 10, 3, &v), SL_DEC_OK);
    assert_true(v == 1500);
    assert_int_equal(sl_decimal_parse(".5", 2, 3, 1, &v), SL_DEC_OK);
    assert_true(v == 5);
    assert_int_equal(sl_decimal_parse("1.234", 5, 10, 2, &v), SL_DEC_SCALE);
    assert_int_equal(sl_decimal_parse("123.4", 5, 4, 2, &v), SL_DEC_RANGE);
    assert_int_equal(sl_decimal_parse("99.99", 5, 4, 2, &v), SL_DEC_OK);
    assert_int_equal(sl_decimal_parse("NaN", 3, 10, 0, &v), SL_DEC_SYNTAX);
    assert_int_equal(sl_decimal_parse("", 0, 10, 0, &v), SL_DEC_SYNTAX);
    assert_int_equal(sl_decimal_parse("1e5", 3, 10, 0, &v), SL_DEC_SYNTAX);
    const char *max38 = "99999999999999999999999999999999999999";
    assert_int_equal(sl_decimal_parse(max38, 38, 38, 0, &v), SL_DEC_OK);
    assert_int_equal(sl_decimal_parse("100000000000000000000000000000000000000", 39, 38, 0, &v),
                     SL_DEC_RANGE);
    char text[48];
    assert_int_equal(sl_decimal_format(v, 0, text), 38);
    assert_string_equal(text, max38);
    sl_decimal_format(-5, 3, text);
    assert_string_equal(text, "-0.005");

    assert_int_equal(sl_decimal_fixed_len(9), 4);
    assert_int_equal(sl_decimal_fixed_len(18), 8);
    assert_int_equal(sl_decimal_fixed_len(20), 9);
    assert_int_equal(sl_decimal_fixed_len(38), 16);

    uint8_t be[16];
    assert_int_equal(sl_decimal_to_be_min(-1, be), 1);
    assert_int_equal(be[0], 0xff);
    assert_int_equal(sl_decimal_to_be_min(127, be), 1);
    assert_int_equal(sl_decimal_to_be_min(128, be), 2);
    assert_true(be[0] == 0x00 && be[1] == 0x80);
    assert_int_equal(sl_decimal_to_be_min(-129, be), 2);
    assert_true(be[0] == 0xff && be[1] == 0x7f);
    sl_decimal_to_be(-2, be, 4);
    assert_memory_equal(be, "\xff\xff\xff\xfe", 4);

    /* Parquet bounds of decimal columns back to unscaled values */
    sl_pq_type d9 = sl_pq_t_decimal(9, 2), d18 = sl_pq_t_decimal(18, 0), d38 = sl_pq_t_decimal(38, 0);
    int32_t i32 = -12345;
    int64_t i64 = -123456789012345678;
    assert_int_equal(sl_pq_bound_decimal(&d9, (const uint8_t *)&i32, 4, &v), 0);
    assert_true(v == -12345);
    assert_int_equal(sl_pq_bound_decimal(&d18, (const uint8_t *)&i64, 8, &v), 0);
    assert_true(v == -123456789012345678);
    assert_int_equal(sl_pq_bound_decimal(&d18, (const uint8_t *)&i64, 4, &v), -1);
    assert_int_equal(sl_decimal_parse(max38, 38, 38, 0, &v), SL_DEC_OK);
    sl_decimal_to_be(-v, be, 16);
    sl_i128 back;
    assert_int_equal(sl_pq_bound_decimal(&d38, be, 16, &back), 0);
    assert_true(back == -v);
    sl_pq_type s = sl_pq_t_string();
    assert_int_equal(sl_pq_bound_decimal(&s, be, 16, &back), -1);
}

/* Avro decimals of any size (sinks/kafka): the same bytes as the 128-bit
 * path where both apply, and past 38 digits too */
static void decimal_text_to_be(void **state)
{
    (void)state;
    sl_buf b;
    sl_buf_init(&b);
    const char *cases[] = {"-12.340", "0", "-0.00", "127", "128", "-128", "-129", "99999999999999999999.99"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sl_i128 v;
        uint8_t be[16];
        assert_int_equal(sl_decimal_parse(cases[i], strlen(cases[i]), 38, 2, &v), SL_DEC_OK);
        int n = sl_decimal_to_be_min(v, be);
        sl_buf_reset(&b);
        assert_int_equal(sl_decimal_to_be_text(cases[i], strlen(cases[i]), 2, &b, NULL), SL_DEC_OK);
        assert_int_equal((int)b.len, n);
        assert_memory_equal(b.data, be, (size_t)n);
    }
    /* 10^40 - 1 at scale 0: 0x1D6329F1C35CA4BFABB9F560FFFFFFFFFF, 17 bytes */
    const char *big = "9999999999999999999999999999999999999999";
    sl_buf_reset(&b);
    assert_int_equal(sl_decimal_to_be_text(big, 40, 0, &b, NULL), SL_DEC_OK);
    assert_int_equal((int)b.len, 17);
    assert_memory_equal(b.data, "\x1d\x63\x29\xf1\xc3\x5c\xa4\xbf\xab\xb9\xf5\x60\xff\xff\xff\xff\xff", 17);
    /* its own scale (PostgreSQL numeric), and refusals */
    int own = -1;
    sl_buf_reset(&b);
    assert_int_equal(sl_decimal_to_be_text("-0.000100", 9, -1, &b, &own), SL_DEC_OK);
    assert_int_equal(own, 4); /* Debezium drops the trailing zeros */
    assert_int_equal((int)b.len, 1);
    assert_int_equal((uint8_t)b.data[0], 0xff); /* -1 */
    sl_buf_reset(&b);
    assert_int_equal(sl_decimal_to_be_text("0.0", 3, -1, &b, &own), SL_DEC_OK);
    assert_int_equal(own, 0);
    assert_int_equal((int)b.len, 1);
    assert_int_equal((uint8_t)b.data[0], 0x00);
    sl_buf_reset(&b);
    assert_int_equal(sl_decimal_to_be_text("-1500", 5, -1, &b, &own), SL_DEC_OK);
    assert_int_equal(own, 0); /* integer zeros stay: the scale never goes below 0 */
    assert_int_equal((int)b.len, 2);
    assert_memory_equal(b.data, "\xfa\x24", 2); /* -1500 */
    assert_int_equal(sl_decimal_to_be_text("NaN", 3, 2, &b, NULL), SL_DEC_SYNTAX);
    assert_int_equal(sl_decimal_to_be_text("1.234", 5, 2, &b, NULL), SL_DEC_SCALE);
    assert_int_equal(sl_decimal_to_be_text("1.230", 5, 2, &b, NULL), SL_DEC_OK);
    sl_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(varints_and_zigzag),
        cmocka_unit_test(thrift_field_headers_and_lists),
        cmocka_unit_test(rle_exact_bytes),
        cmocka_unit_test(rle_round_trips),
        cmocka_unit_test(dictionary_falls_back_to_plain),
        cmocka_unit_test(row_protocol_errors),
        cmocka_unit_test(stats_sort_orders),
        cmocka_unit_test(bound_truncation),
        cmocka_unit_test(decimals),
        cmocka_unit_test(decimal_text_to_be),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
