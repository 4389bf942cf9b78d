/* test_mysql_decode.c — the binlog decoder on byte vectors: packed
 * decimals, MySQL binary JSON (which MariaDB never sends, so only bytes
 * can cover it), TABLE_MAP metadata and row images of temporal types. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/arena.h"
#include "../../sources/mysql/binlog_decode.h"

static void decimal_text(void **state)
{
    char out[100];
    size_t used;
    /* DECIMAL(10,2) 1234567.89: intg 8 -> 4 bytes, frac 2 -> 1 byte */
    const uint8_t pos[] = {0x80, 0x12, 0xd6, 0x87, 0x59};
    assert_int_equal(sl_mysql_decimal_size(10, 2), 5);
    assert_true(sl_mysql_decimal_text(pos, sizeof pos, 10, 2, out, sizeof out, &used) > 0);
    assert_string_equal(out, "1234567.89");
    assert_int_equal(used, 5);
    /* the same negative: every byte inverted */
    uint8_t neg[5];
    for (int i = 0; i < 5; i++)
        neg[i] = (uint8_t)~pos[i];
    sl_mysql_decimal_text(neg, sizeof neg, 10, 2, out, sizeof out, &used);
    assert_string_equal(out, "-1234567.89");
    /* DECIMAL(5,0) zero, DECIMAL(4,4) 0.5000 */
    const uint8_t zero[] = {0x80, 0x00, 0x00};
    sl_mysql_decimal_text(zero, sizeof zero, 5, 0, out, sizeof out, &used);
    assert_string_equal(out, "0");
    const uint8_t half[] = {0x80 | 0x13, 0x88};
    sl_mysql_decimal_text(half, sizeof half, 4, 4, out, sizeof out, &used);
    assert_string_equal(out, "0.5000");
    /* too few bytes is an error, not a read past the end */
    assert_int_equal(sl_mysql_decimal_text(pos, 3, 10, 2, out, sizeof out, &used), -1);
}

static const char *json(const uint8_t *p, size_t n, sl_arena *a)
{
    const char *out;
    uint32_t len;
    if (sl_mysql_json_to_text(p, n, a, &out, &len))
        return NULL;
    return sl_arena_strndup(a, out, len);
}

static void binary_json(void **state)
{
    sl_arena a;
    sl_arena_init(&a);
    /* small object {"a": 1, "b": [true, null]} */
    const uint8_t obj[] = {
        0x00,                   /* small object */
        0x02, 0x00,             /* 2 members */
        0x1e, 0x00,             /* size 30 */
        0x12, 0x00, 0x01, 0x00, /* key "a" at 18 */
        0x13, 0x00, 0x01, 0x00, /* key "b" at 19 */
        0x05, 0x01, 0x00,       /* int16 1 inlined */
        0x02, 0x14, 0x00,       /* small array at 20 */
        'a', 'b',
        0x02, 0x00, 0x0a, 0x00, /* array: 2 elements, size 10 */
        0x04, 0x01, 0x00,       /* literal true */
        0x04, 0x00, 0x00,       /* literal null */
    };
    assert_string_equal(json(obj, sizeof obj, &a), "{\"a\": 1, \"b\": [true, null]}");
    /* scalars at the top level */
    const uint8_t str[] = {0x0c, 0x05, 'h', 'e', '"', 'l', 'o'};
    assert_string_equal(json(str, sizeof str, &a), "\"he\\\"lo\"");
    const uint8_t dbl[] = {0x0b, 0, 0, 0, 0, 0, 0, 0x04, 0x40}; /* 2.5 */
    assert_string_equal(json(dbl, sizeof dbl, &a), "2.5");
    const uint8_t big[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_string_equal(json(big, sizeof big, &a), "18446744073709551615");
    const uint8_t i64[] = {0x09, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_string_equal(json(i64, sizeof i64, &a), "-2");
    const uint8_t lit[] = {0x04, 0x02};
    assert_string_equal(json(lit, sizeof lit, &a), "false");
    /* opaque DECIMAL(4,2) 12.34 inside JSON */
    const uint8_t dec[] = {0x0f, 246, 0x04, 0x04, 0x02, 0x80 | 0x0c, 0x22};
    assert_string_equal(json(dec, sizeof dec, &a), "12.34");
    /* truncated input is rejected */
    assert_null(json(obj, 10, &a));
    sl_arena_free(&a);
}

/* A TABLE_MAP body for db.t (id INT UNSIGNED PK, name VARCHAR(20) utf8mb4,
 * ts DATETIME(3), e ENUM('x','y')) with FULL metadata. */
static const uint8_t tablemap[] = {
    0x2a, 0, 0, 0, 0, 0, 0x01, 0x00,     /* table id 42, flags */
    2, 'd', 'b', 0, 1, 't', 0,           /* db, table */
    4,                                   /* 4 columns */
    3, 15, 18, 254,                      /* LONG, VARCHAR, DATETIME2, STRING */
    5, 80, 0, 3, 247, 1,                 /* metadata: varchar 80 bytes, fsp 3, enum 1 byte */
    0x0e,                                /* nullable: all but id */
    1, 1, 0x80,                          /* SIGNEDNESS: id unsigned */
    2, 1, 45,                            /* DEFAULT_CHARSET utf8mb4_general_ci */
    4, 13, 2, 'i', 'd', 4, 'n', 'a', 'm', 'e', 2, 't', 's', 1, 'e', /* names */
    6, 5, 2, 1, 'x', 1, 'y',             /* ENUM_STR_VALUE */
    8, 1, 0,                             /* SIMPLE_PRIMARY_KEY: column 0 */
};

static void table_map_full_metadata(void **state)
{
    uint64_t id;
    sl_table_schema *s;
    sl_err err;
    assert_int_equal(sl_mysql_parse_table_map(tablemap, sizeof tablemap, &id, &s, &err), 0);
    assert_int_equal(id, 42);
    assert_string_equal(s->qualified, "db.t");
    assert_int_equal(s->ncols, 4);
    assert_string_equal(s->cols[0].name, "id");
    assert_int_equal(s->cols[0].kind, SL_UINT);
    assert_string_equal(s->cols[0].type_name, "int unsigned");
    assert_int_equal(s->cols[0].nullable, 0);
    assert_int_equal(s->npk, 1);
    assert_int_equal(s->pk[0], 0);
    assert_string_equal(s->cols[1].type_name, "varchar(20)"); /* 80 bytes of utf8mb4 */
    assert_int_equal(s->cols[1].kind, SL_STRING);
    assert_int_equal(s->cols[1].charset, 45);
    assert_int_equal(s->cols[2].kind, SL_DATETIME);
    assert_int_equal(s->cols[2].scale, 3);
    assert_int_equal(s->cols[3].kind, SL_ENUM);
    assert_int_equal(s->cols[3].n_enum_values, 2);
    assert_string_equal(s->cols[3].enum_values[1], "y");

    /* WRITE_ROWS_V1 with one row: id 7, name "héllo", ts 2024-02-29 12:34:56.789, e 'y' */
    uint8_t rows[64];
    size_t n = 0;
    const uint8_t head[] = {0x2a, 0, 0, 0, 0, 0, 0, 0, 4, 0x0f};
    memcpy(rows, head, sizeof head);
    n = sizeof head;
    rows[n++] = 0x00; /* null bitmap: none */
    rows[n++] = 7; rows[n++] = 0; rows[n++] = 0; rows[n++] = 0;
    const char *name = "h\xc3\xa9llo";
    rows[n++] = (uint8_t)strlen(name);
    memcpy(rows + n, name, strlen(name));
    n += strlen(name);
    /* DATETIME2: ym = 2024*13+2, ymd = ym<<5 | 29, hms = 12<<12|34<<6|56 */
    uint64_t ym = 2024 * 13 + 2, ymd = ym << 5 | 29, hms = 12 << 12 | 34 << 6 | 56;
    uint64_t packed = (ymd << 17 | hms) + 0x8000000000ULL;
    for (int i = 4; i >= 0; i--)
        rows[n++] = (uint8_t)(packed >> (8 * i));
    rows[n++] = (uint8_t)(7890 >> 8); /* fsp 3: 2 bytes, value in 1/10000 s */
    rows[n++] = (uint8_t)(7890 & 0xff);
    rows[n++] = 2; /* enum index 2 = 'y' */
    sl_mysql_rows it;
    sl_mysql_decode_opts opts = {SL_ZERO_DATE_NULL, NULL};
    assert_int_equal(sl_mysql_rows_open(&it, 23, rows, n, s, &opts, &err), 0);
    sl_arena a;
    sl_arena_init(&a);
    sl_value *before, *after;
    assert_int_equal(sl_mysql_rows_next(&it, &a, &before, &after, &err), 1);
    assert_null(before);
    assert_int_equal(after[0].kind, SL_UINT);
    assert_int_equal(after[0].v.u, 7);
    assert_int_equal(after[1].len, strlen(name));
    assert_memory_equal(after[1].v.s, name, strlen(name));
    int64_t want = (sl_days_from_civil(2024, 2, 29) * 86400 + 12 * 3600 + 34 * 60 + 56) * 1000000LL + 789000;
    assert_int_equal(after[2].v.i, want);
    assert_int_equal(after[3].kind, SL_ENUM);
    assert_memory_equal(after[3].v.s, "y", 1);
    assert_int_equal(sl_mysql_rows_next(&it, &a, &before, &after, &err), 0);
    /* a row cut short is an error, not a read past the event */
    assert_int_equal(sl_mysql_rows_open(&it, 23, rows, n - 3, s, &opts, &err), 0);
    assert_int_equal(sl_mysql_rows_next(&it, &a, &before, &after, &err), -1);
    sl_arena_free(&a);
    sl_schema_free(s);
}

static void table_map_minimal_metadata_is_a_clear_error(void **state)
{
    /* same table, no optional metadata at all */
    size_t cut = 0;
    for (size_t i = 0; i < sizeof tablemap; i++)
        if (tablemap[i] == 0x0e && i > 20) {
            cut = i + 1;
            break;
        }
    uint64_t id;
    sl_table_schema *s = NULL;
    sl_err err;
    assert_int_equal(sl_mysql_parse_table_map(tablemap, cut, &id, &s, &err), SL_ECONFIG);
    assert_null(s);
    assert_string_equal(err.msg, "the binlog has no column names for table db.t: binlog_row_metadata is MINIMAL, "
                                 "sluice needs FULL: SET GLOBAL binlog_row_metadata = 'FULL' (and "
                                 "binlog_row_metadata=FULL in my.cnf)");
}

static sl_table_schema *one_column(uint32_t type, uint32_t meta, uint8_t kind)
{
    sl_table_schema *s = sl_schema_new("d", NULL, "t", 1);
    s->cols[0].name = strdup("c");
    s->cols[0].src_type = type;
    s->cols[0].src_meta = meta;
    s->cols[0].kind = kind;
    s->cols[0].scale = (uint16_t)meta;
    return s;
}

static int64_t decode_time2(const uint8_t *v, size_t n, unsigned fsp)
{
    sl_table_schema *s = one_column(MT_TIME2, fsp, SL_TIME);
    uint8_t rows[32] = {0x01, 0, 0, 0, 0, 0, 0, 0, 1, 0x01, 0x00};
    memcpy(rows + 11, v, n);
    sl_mysql_rows it;
    sl_mysql_decode_opts opts = {SL_ZERO_DATE_NULL, NULL};
    sl_err err;
    sl_arena a;
    sl_arena_init(&a);
    sl_value *b, *af;
    assert_int_equal(sl_mysql_rows_open(&it, 23, rows, 11 + n, s, &opts, &err), 0);
    assert_int_equal(sl_mysql_rows_next(&it, &a, &b, &af, &err), 1);
    int64_t us = af[0].v.i;
    sl_arena_free(&a);
    sl_schema_free(s);
    return us;
}

static void time2_negative_fractions(void **state)
{
    /* -00:00:00.000001 at fsp 6: packed = -1 */
    uint64_t p6 = 0x800000000000ULL - 1;
    uint8_t b6[6];
    for (int i = 0; i < 6; i++)
        b6[i] = (uint8_t)(p6 >> (8 * (5 - i)));
    assert_int_equal(decode_time2(b6, 6, 6), -1);
    /* -12:34:56.789 at fsp 3: intpart -(12:34:56) - 1, frac 0x10000 - 7890 */
    int64_t hms = 12 << 12 | 34 << 6 | 56;
    uint32_t ip = (uint32_t)(0x800000 - hms - 1);
    uint32_t fr = 0x10000 - 7890;
    uint8_t b3[5] = {(uint8_t)(ip >> 16), (uint8_t)(ip >> 8), (uint8_t)ip, (uint8_t)(fr >> 8), (uint8_t)fr};
    assert_int_equal(decode_time2(b3, 5, 3), -((12 * 3600 + 34 * 60 + 56) * 1000000LL + 789000));
    /* 838:59:59 at fsp 0 */
    int64_t hms2 = 838 << 12 | 59 << 6 | 59;
    uint32_t ip2 = (uint32_t)(0x800000 + hms2);
    uint8_t b0[3] = {(uint8_t)(ip2 >> 16), (uint8_t)(ip2 >> 8), (uint8_t)ip2};
    assert_int_equal(decode_time2(b0, 3, 0), (838 * 3600 + 59 * 60 + 59) * 1000000LL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decimal_text),
        cmocka_unit_test(binary_json),
        cmocka_unit_test(table_map_full_metadata),
        cmocka_unit_test(table_map_minimal_metadata_is_a_clear_error),
        cmocka_unit_test(time2_negative_fractions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
