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

static const sl_mysql_server mariadb = {1, 101119};

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
    assert_int_equal(sl_mysql_parse_table_map(tablemap, sizeof tablemap, &mariadb, &id, &s, &err), 0);
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
    sl_mysql_decode_opts opts = {SL_ZERO_DATE_NULL, NULL, NULL};
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

/* db.t (id INT PK, e ENUM('très','b') latin1, s SET('a','é') ucs2): the
 * members arrive in the column charsets, and ucs2 ones hold zero bytes */
static uint8_t charset_map[] = {
    0x2b, 0, 0, 0, 0, 0, 0x01, 0x00,     /* table id 43, flags */
    2, 'd', 'b', 0, 1, 't', 0,           /* db, table */
    3,                                   /* 3 columns */
    3, 254, 254,                         /* LONG, STRING (ENUM), STRING (SET) */
    4, 247, 1, 248, 1,                   /* metadata: real types and widths */
    0x06,                                /* nullable: e, s */
    4, 7, 2, 'i', 'd', 1, 'e', 1, 's',   /* names */
    5, 7, 2, 2, 0, 'a', 2, 0, 0xe9,      /* SET_STR_VALUE: ucs2 'a', 'é' */
    6, 8, 2, 4, 't', 'r', 0xe8, 's', 1, 'b', /* ENUM_STR_VALUE: latin1 'très', 'b' */
    11, 2, 8, 35,                        /* ENUM_AND_SET_COLUMN_CHARSET: latin1, ucs2 */
    8, 1, 0,                             /* SIMPLE_PRIMARY_KEY: column 0 */
};
enum { CHARSET_MAP_ENUM_COLL = 55, CHARSET_MAP_E_BYTE = 49 };

static void enum_and_set_members_become_utf8(void **state)
{
    uint64_t id;
    sl_table_schema *s;
    sl_err err;
    assert_int_equal(sl_mysql_parse_table_map(charset_map, sizeof charset_map, &mariadb, &id, &s, &err), 0);
    assert_string_equal(s->cols[1].enum_values[0], "tr\xc3\xa8s");
    assert_string_equal(s->cols[1].type_name, "enum('tr\xc3\xa8s','b')");
    assert_string_equal(s->cols[2].enum_values[0], "a");
    assert_string_equal(s->cols[2].enum_values[1], "\xc3\xa9");
    assert_string_equal(s->cols[2].type_name, "set('a','\xc3\xa9')");
    /* WRITE_ROWS_V1: id 1, e 'très', s 'a,é' */
    const uint8_t rows[] = {0x2b, 0, 0, 0, 0, 0, 0, 0, 3, 0x07, 0x00, 1, 0, 0, 0, 1, 3};
    sl_mysql_rows it;
    sl_mysql_iconv_cache ic = {0};
    sl_mysql_decode_opts opts = {SL_ZERO_DATE_NULL, &ic, NULL};
    assert_int_equal(sl_mysql_rows_open(&it, 23, rows, sizeof rows, s, &opts, &err), 0);
    sl_arena a;
    sl_arena_init(&a);
    sl_value *before, *after;
    assert_int_equal(sl_mysql_rows_next(&it, &a, &before, &after, &err), 1);
    assert_int_equal(after[1].len, 5);
    assert_memory_equal(after[1].v.s, "tr\xc3\xa8s", 5);
    assert_int_equal(after[2].len, 4);
    assert_memory_equal(after[2].v.s, "a,\xc3\xa9", 4);
    sl_arena_free(&a);
    sl_schema_free(s);
    sl_mysql_iconv_cache_free(&ic);

    /* a member that is not valid in its charset (0x98 is unassigned in
     * cp1251) is an error naming table, column and member */
    uint8_t bad[sizeof charset_map];
    memcpy(bad, charset_map, sizeof bad);
    assert_int_equal(bad[CHARSET_MAP_ENUM_COLL], 8);
    assert_int_equal(bad[CHARSET_MAP_E_BYTE], 0xe8);
    bad[CHARSET_MAP_ENUM_COLL] = 51; /* cp1251_general_ci */
    bad[CHARSET_MAP_E_BYTE] = 0x98;
    assert_int_equal(sl_mysql_parse_table_map(bad, sizeof bad, &mariadb, &id, &s, &err), SL_ERUNTIME);
    assert_string_equal(err.msg, "TABLE_MAP of db.t: column e: member 1 of the ENUM is not valid in its charset "
                                 "(collation 51)");
}

/* one iconv descriptor converts value after value: a value cut inside a
 * multi-byte character is an error, and the next value converts whole */
static void iconv_values_are_independent(void **state)
{
    sl_mysql_iconv_cache ic = {0};
    sl_arena a;
    sl_arena_init(&a);
    const char *out;
    uint32_t n;
    const uint8_t sjis[] = {0x82, 0xa0, 0x82}; /* 'あ' and half of the next */
    assert_int_equal(sl_mysql_iconv_to_utf8(&ic, 13, sjis, 3, &a, &out, &n), -1); /* sjis_japanese_ci */
    assert_int_equal(sl_mysql_iconv_to_utf8(&ic, 13, sjis, 2, &a, &out, &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(out, "\xe3\x81\x82", 3);
    const uint8_t utf16[] = {0xd8, 0x3d, 0xde, 0x00, 0x00, 0x41}; /* U+1F600 'A' */
    assert_int_equal(sl_mysql_iconv_to_utf8(&ic, 54, utf16, 5, &a, &out, &n), -1); /* utf16_general_ci */
    assert_int_equal(sl_mysql_iconv_to_utf8(&ic, 54, utf16, 6, &a, &out, &n), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(out, "\xf0\x9f\x98\x80" "A", 5);
    /* past the cache's eight charsets a descriptor is opened per value and
     * closed on every path: under `make asan` LeakSanitizer saw the one of
     * a failed conversion left open */
    const uint32_t more[] = {51, 26, 9, 25, 16, 7}; /* cp1251 cp1250 latin2 greek hebrew koi8r */
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
        assert_int_equal(sl_mysql_iconv_to_utf8(&ic, more[i], (const uint8_t *)"x", 1, &a, &out, &n), 0);
    assert_int_equal(ic.n, 8);
    const uint8_t big5_cut[] = {'a', 0xa4}; /* big5_chinese_ci, a lead byte without its trail */
    assert_int_equal(sl_mysql_iconv_to_utf8(&ic, 1, big5_cut, 2, &a, &out, &n), -1);
    assert_int_equal(sl_mysql_iconv_to_utf8(&ic, 1, big5_cut, 1, &a, &out, &n), 0);
    assert_int_equal(ic.n, 8);
    sl_arena_free(&a);
    sl_mysql_iconv_cache_free(&ic);
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
    assert_int_equal(sl_mysql_parse_table_map(tablemap, cut, &mariadb, &id, &s, &err), SL_ECONFIG);
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
    sl_mysql_decode_opts opts = {SL_ZERO_DATE_NULL, NULL, NULL};
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

/* rep.y (id INT PRIMARY KEY, y YEAR, a TINYINT, b INT UNSIGNED, c INT) as
 * MariaDB 10.11.19 wrote it (mariadb-binlog --hexdump; header and CRC cut).
 * SIGNEDNESS (byte 26) 0x50: id 0, y 1, a 0, b 1, c 0 -- YEAR owns a bit. */
static const uint8_t year_map[] = {
    0x15, 0, 0, 0, 0, 0, 0x01, 0x00, 3, 'r', 'e', 'p', 0, 1, 'y', 0,
    5, 3, 13, 1, 3, 3, 0, 0x1e,
    1, 1, 0x50,
    4, 11, 2, 'i', 'd', 1, 'y', 1, 'a', 1, 'b', 1, 'c',
    8, 1, 0,
};
enum { YEAR_MAP_SIGN = 26 };
/* the WRITE_ROWS_V1 body that followed it: (1, 2024, -1, 4294967295, -5) */
static const uint8_t year_row[] = {
    0x15, 0, 0, 0, 0, 0, 0x01, 0x00, 5, 0x1f, 0xe0,
    1, 0, 0, 0, 0x7c, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfb, 0xff, 0xff, 0xff,
};

/* parses year_map with the given SIGNEDNESS byte as srv wrote it; every
 * column after the YEAR must keep its own signedness */
static void year_table_decodes(uint8_t sign, const sl_mysql_server *srv)
{
    uint8_t map[sizeof year_map];
    memcpy(map, year_map, sizeof map);
    map[YEAR_MAP_SIGN] = sign;
    uint64_t id;
    sl_table_schema *s;
    sl_err err;
    assert_int_equal(sl_mysql_parse_table_map(map, sizeof map, srv, &id, &s, &err), 0);
    assert_string_equal(s->cols[1].type_name, "year");
    assert_string_equal(s->cols[2].type_name, "tinyint");
    assert_string_equal(s->cols[3].type_name, "int unsigned");
    assert_string_equal(s->cols[4].type_name, "int");
    sl_mysql_rows it;
    sl_mysql_decode_opts opts = {SL_ZERO_DATE_NULL, NULL, NULL};
    sl_arena a;
    sl_arena_init(&a);
    sl_value *before, *after;
    assert_int_equal(sl_mysql_rows_open(&it, 23, year_row, sizeof year_row, s, &opts, &err), 0);
    assert_int_equal(sl_mysql_rows_next(&it, &a, &before, &after, &err), 1);
    assert_int_equal(after[1].kind, SL_YEAR);
    assert_int_equal(after[1].v.i, 2024);
    assert_int_equal(after[2].kind, SL_INT);
    assert_int_equal(after[2].v.i, -1);
    assert_int_equal(after[3].kind, SL_UINT);
    assert_int_equal(after[3].v.u, 4294967295u);
    assert_int_equal(after[4].kind, SL_INT);
    assert_int_equal(after[4].v.i, -5);
    sl_arena_free(&a);
    sl_schema_free(s);
}

static void year_owns_a_signedness_bit_on_mariadb(void **state)
{
    year_table_decodes(0x50, &mariadb);
    year_table_decodes(0x50, NULL); /* writer unknown: as MariaDB and MySQL 8.0.21+ */
}

static void mysql_signedness_with_and_without_year(void **state)
{
    /* MySQL 8.0.20 (is_numeric_type): id, a, b, c -> 0 0 1 0 */
    const sl_mysql_server my8020 = {0, 80020};
    year_table_decodes(0x20, &my8020);
    /* MySQL 8.0.41 (has_signedess_information_type): id, y, a, b, c; the
     * YEAR bit itself carries nothing, clear or set */
    const sl_mysql_server my8041 = {0, 80041};
    year_table_decodes(0x10, &my8041);
    year_table_decodes(0x50, &my8041);
}

static void server_version_of_the_format_description(void **state)
{
    sl_mysql_server v;
    const char fde[50] = "10.11.19-MariaDB-0+deb12u1-log"; /* NUL-padded, as in the event */
    sl_mysql_server_parse(fde, sizeof fde, &v);
    assert_int_equal(v.mariadb, 1);
    assert_int_equal(v.version, 101119);
    sl_mysql_server_parse("8.0.20-log", 10, &v);
    assert_int_equal(v.mariadb, 0);
    assert_int_equal(v.version, 80020);
    sl_mysql_server_parse("8.0.36-28", 9, &v); /* Percona */
    assert_int_equal(v.version, 80036);
    sl_mysql_server_parse("", 0, &v);
    assert_int_equal(v.version, 0);
}

/* y YEAR, t0..t7 TINYINT (t7 UNSIGNED): eight other numeric columns, so the
 * YEAR bit makes the field two bytes instead of one, whoever wrote it */
static void year_bit_decided_by_the_field_length(void **state)
{
    uint8_t map[] = {
        0x02, 0, 0, 0, 0, 0, 0x01, 0x00, 1, 'd', 0, 1, 't', 0,
        9, 13, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0xff, 0xff,
        1, 2, 0x00, 0x80, /* SIGNEDNESS with the YEAR bit: t7 is the 9th */
        4, 18, 1, 'y', 1, '0', 1, '1', 1, '2', 1, '3', 1, '4', 1, '5', 1, '6', 1, '7',
    };
    uint64_t id;
    sl_table_schema *s;
    sl_err err;
    const sl_mysql_server my8020 = {0, 80020};
    assert_int_equal(sl_mysql_parse_table_map(map, sizeof map, &my8020, &id, &s, &err), 0);
    for (int i = 1; i < 8; i++)
        assert_int_equal(s->cols[i].is_unsigned, 0);
    assert_int_equal(s->cols[8].is_unsigned, 1);
    sl_schema_free(s);
    /* the same table with one byte: no YEAR bit, even from MariaDB */
    uint8_t one[sizeof map - 1];
    memcpy(one, map, 28);
    one[28] = 1;    /* field length */
    one[29] = 0x01; /* t7 is the 8th bit */
    memcpy(one + 30, map + 31, sizeof map - 31);
    assert_int_equal(sl_mysql_parse_table_map(one, sizeof one, &mariadb, &id, &s, &err), 0);
    for (int i = 1; i < 8; i++)
        assert_int_equal(s->cols[i].is_unsigned, 0);
    assert_int_equal(s->cols[8].is_unsigned, 1);
    sl_schema_free(s);
}

/* rep.g (id INT PRIMARY KEY, g GEOMETRY, c VARCHAR(10) latin1, b BLOB,
 * u VARCHAR(10) utf8mb4_general_ci) as MariaDB 10.11.19 wrote it: its
 * COLUMN_CHARSET has an entry for the GEOMETRY column (63, 8, 63, 45). */
static const uint8_t geom_map_mariadb[] = {
    0x18, 0, 0, 0, 0, 0, 0x01, 0x00, 3, 'r', 'e', 'p', 0, 1, 'g', 0,
    5, 3, 255, 15, 252, 15, 6, 4, 10, 0, 2, 40, 0, 0x1e,
    1, 1, 0x00,
    3, 4, 63, 8, 63, 45,
    7, 1, 0,
    4, 11, 2, 'i', 'd', 1, 'g', 1, 'c', 1, 'b', 1, 'u',
    8, 1, 0,
};
/* the same table from MySQL, whose COLUMN_CHARSET skips GEOMETRY */
static const uint8_t geom_map_mysql[] = {
    0x18, 0, 0, 0, 0, 0, 0x01, 0x00, 3, 'r', 'e', 'p', 0, 1, 'g', 0,
    5, 3, 255, 15, 252, 15, 6, 4, 10, 0, 2, 40, 0, 0x1e,
    1, 1, 0x00,
    3, 3, 8, 63, 45,
    7, 1, 0,
    4, 11, 2, 'i', 'd', 1, 'g', 1, 'c', 1, 'b', 1, 'u',
    8, 1, 0,
};

static void geometry_charset_entry_per_server(void **state)
{
    const sl_mysql_server my8041 = {0, 80041};
    const struct {
        const uint8_t *map;
        size_t len;
        const sl_mysql_server *srv;
    } cases[] = {{geom_map_mariadb, sizeof geom_map_mariadb, &mariadb},
                 {geom_map_mysql, sizeof geom_map_mysql, &my8041}};
    for (size_t k = 0; k < 2; k++) {
        uint64_t id;
        sl_table_schema *s;
        sl_err err;
        assert_int_equal(sl_mysql_parse_table_map(cases[k].map, cases[k].len, cases[k].srv, &id, &s, &err), 0);
        assert_int_equal(s->cols[1].kind, SL_BYTES); /* geometry */
        assert_int_equal(s->cols[2].charset, 8);
        assert_int_equal(s->cols[2].kind, SL_STRING);
        assert_string_equal(s->cols[2].type_name, "varchar(10)");
        assert_int_equal(s->cols[3].charset, 63);
        assert_int_equal(s->cols[3].kind, SL_BYTES);
        assert_string_equal(s->cols[3].type_name, "blob");
        assert_int_equal(s->cols[4].charset, 45);
        assert_string_equal(s->cols[4].type_name, "varchar(10)");
        sl_schema_free(s);
    }
}

/* one column of type/meta in a WRITE_ROWS_V1 body holding value bytes v */
static int decode_one(uint32_t type, uint32_t meta, uint8_t kind, const uint8_t *v, size_t n, int zero,
                      sl_arena *a, sl_value *out, sl_err *err)
{
    sl_table_schema *s = one_column(type, meta, kind);
    uint8_t rows[64] = {0x01, 0, 0, 0, 0, 0, 0, 0, 1, 0x01, 0x00};
    assert_true(n <= sizeof rows - 11);
    memcpy(rows + 11, v, n);
    sl_mysql_rows it;
    sl_mysql_decode_opts opts = {zero, NULL, NULL};
    sl_value *b, *af;
    int rc = sl_mysql_rows_open(&it, 23, rows, 11 + n, s, &opts, err);
    if (!rc)
        rc = sl_mysql_rows_next(&it, a, &b, &af, err);
    if (rc == 1)
        *out = af[0];
    sl_schema_free(s);
    return rc;
}

static void datetime2_hostile_values_are_errors(void **state)
{
    sl_arena a;
    sl_arena_init(&a);
    sl_value v;
    sl_err err;
    /* DATETIME(3) 00 00 00 00 01 00 00: the packed value is negative; this
     * once overran the zero-date text buffer on the stack */
    const uint8_t neg[] = {0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00};
    assert_int_equal(decode_one(MT_DATETIME2, 3, SL_DATETIME, neg, sizeof neg, SL_ZERO_DATE_STRING, &a, &v, &err), -1);
    assert_string_equal(err.msg, "column c: invalid DATETIME (negative packed value)");
    /* negative with a non-zero month and day: once a signed overflow */
    int64_t ymd = (int64_t)(-13001) * 32 + 1;
    uint64_t packed = (uint64_t)(ymd * (1 << 17)) + 0x8000000000ULL;
    uint8_t ovf[5];
    for (int i = 0; i < 5; i++)
        ovf[i] = (uint8_t)(packed >> (8 * (4 - i)));
    assert_int_equal(decode_one(MT_DATETIME2, 0, SL_DATETIME, ovf, sizeof ovf, SL_ZERO_DATE_NULL, &a, &v, &err), -1);
    /* year 10082, hour 31: out of range */
    const uint8_t big[] = {0xff, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(decode_one(MT_DATETIME2, 0, SL_DATETIME, big, sizeof big, SL_ZERO_DATE_NULL, &a, &v, &err), -1);
    assert_string_equal(err.msg, "column c: invalid DATETIME 10082-5-31 31:63:63.0");
    /* fsp 7 in a schema: refused before anything is read */
    const uint8_t z7[] = {0x80, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(decode_one(MT_DATETIME2, 7, SL_DATETIME, z7, sizeof z7, SL_ZERO_DATE_STRING, &a, &v, &err), -1);
    assert_string_equal(err.msg, "column c: fractional-second precision 7 is outside 0..6");
    sl_arena_free(&a);
}

static void datetime2_zero_dates(void **state)
{
    sl_arena a;
    sl_arena_init(&a);
    sl_value v;
    sl_err err;
    const uint8_t z3[] = {0x80, 0, 0, 0, 0, 0, 0};
    assert_int_equal(decode_one(MT_DATETIME2, 3, SL_DATETIME, z3, sizeof z3, SL_ZERO_DATE_STRING, &a, &v, &err), 1);
    assert_int_equal(v.kind, SL_STRING);
    assert_int_equal(v.len, 23);
    assert_memory_equal(v.v.s, "0000-00-00 00:00:00.000", 23);
    assert_int_equal(decode_one(MT_DATETIME2, 3, SL_DATETIME, z3, sizeof z3, SL_ZERO_DATE_NULL, &a, &v, &err), 1);
    assert_int_equal(v.kind, SL_NULL);
    /* zero date with a fraction at fsp 6: 123456 us */
    const uint8_t z6[] = {0x80, 0, 0, 0, 0, 0x01, 0xe2, 0x40};
    assert_int_equal(decode_one(MT_DATETIME2, 6, SL_DATETIME, z6, sizeof z6, SL_ZERO_DATE_STRING, &a, &v, &err), 1);
    assert_int_equal(v.len, 26);
    assert_memory_equal(v.v.s, "0000-00-00 00:00:00.123456", 26);
    /* a fraction past 999999 is damage, not a value */
    const uint8_t f6[] = {0x80, 0, 0, 0, 0, 0xff, 0xff, 0xff};
    assert_int_equal(decode_one(MT_DATETIME2, 6, SL_DATETIME, f6, sizeof f6, SL_ZERO_DATE_STRING, &a, &v, &err), -1);
    sl_arena_free(&a);
}

static void widths_from_metadata_are_bounded(void **state)
{
    sl_arena a;
    sl_arena_init(&a);
    sl_value v;
    sl_err err;
    const uint8_t nine[9] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    /* SET of 9 bytes: once a shift by 64 */
    assert_int_equal(decode_one(MT_SET, 9, SL_SET, nine, sizeof nine, 0, &a, &v, &err), -1);
    assert_string_equal(err.msg, "column c: SET width 9 is outside 1..8 bytes");
    assert_int_equal(decode_one(MT_ENUM, 3, SL_ENUM, nine, 3, 0, &a, &v, &err), -1);
    assert_int_equal(decode_one(MT_BIT, 9 << 8, SL_BIT, nine, sizeof nine, 0, &a, &v, &err), -1);
    /* BIT(64) still reads all eight bytes */
    assert_int_equal(decode_one(MT_BIT, 8 << 8, SL_BIT, nine, 8, 0, &a, &v, &err), 1);
    assert_true(v.v.u == UINT64_MAX);
    sl_arena_free(&a);
}

static void empty_row_image_is_an_error(void **state)
{
    /* no column present: the row would take no bytes and never end */
    sl_table_schema *s = one_column(MT_TINY, 0, SL_INT);
    const uint8_t rows[] = {0x01, 0, 0, 0, 0, 0, 0, 0, 1, 0x00, 0x00, 0x05};
    sl_mysql_rows it;
    sl_mysql_decode_opts opts = {SL_ZERO_DATE_NULL, NULL, NULL};
    sl_err err;
    sl_arena a;
    sl_arena_init(&a);
    sl_value *b, *af;
    assert_int_equal(sl_mysql_rows_open(&it, 23, rows, sizeof rows, s, &opts, &err), 0);
    assert_int_equal(sl_mysql_rows_next(&it, &a, &b, &af, &err), -1);
    assert_string_equal(err.msg, "rows event with an empty row image and 2 bytes left");
    sl_arena_free(&a);
    sl_schema_free(s);
}

/* tablemap with byte i replaced by v */
static int map_with(size_t i, uint8_t v, sl_table_schema **s, sl_err *err)
{
    uint8_t m[sizeof tablemap];
    memcpy(m, tablemap, sizeof m);
    m[i] = v;
    uint64_t id;
    return sl_mysql_parse_table_map(m, sizeof m, &mariadb, &id, s, err);
}

static void table_map_metadata_out_of_range(void **state)
{
    sl_table_schema *s = NULL;
    sl_err err;
    /* offsets in tablemap: 23 DATETIME2 fsp, 24 ENUM real type, 25 its width */
    assert_int_equal(tablemap[23], 3);
    assert_int_equal(map_with(23, 7, &s, &err), SL_ERUNTIME);
    assert_null(s);
    assert_string_equal(err.msg, "TABLE_MAP of db.t: column ts: fractional-second precision 7 is outside 0..6");
    assert_int_equal(tablemap[24], 247);
    assert_int_equal(map_with(24, 248, &s, &err), 0); /* a SET of 1 byte is fine */
    sl_schema_free(s);
    uint8_t m[sizeof tablemap];
    memcpy(m, tablemap, sizeof m);
    m[24] = 248;
    m[25] = 9;
    uint64_t id;
    assert_int_equal(sl_mysql_parse_table_map(m, sizeof m, &mariadb, &id, &s, &err), SL_ERUNTIME);
    assert_string_equal(err.msg, "TABLE_MAP of db.t: column e: SET width 9 is not 1, 2, 3, 4 or 8 bytes");
    assert_int_equal(map_with(25, 3, &s, &err), SL_ERUNTIME);
    assert_string_equal(err.msg, "TABLE_MAP of db.t: column e: ENUM width 3 is outside 1..2 bytes");
    /* DECIMAL(70,2) and a pre-5.6 DATETIME in a table of their own */
    const uint8_t dec[] = {0x01, 0, 0, 0, 0, 0, 0x01, 0x00, 1, 'd', 0, 1, 't', 0, 1, 246, 2, 70, 2, 0x01,
                           4, 2, 1, 'x'};
    assert_int_equal(sl_mysql_parse_table_map(dec, sizeof dec, &mariadb, &id, &s, &err), SL_ERUNTIME);
    assert_string_equal(err.msg, "TABLE_MAP of d.t: column x: DECIMAL(70,2) is outside precision 1..65, scale "
                                 "0..30 and <= precision");
    const uint8_t old[] = {0x01, 0, 0, 0, 0, 0, 0x01, 0x00, 1, 'd', 0, 1, 't', 0, 1, 12, 0, 0x01, 4, 2, 1, 'x'};
    assert_int_equal(sl_mysql_parse_table_map(old, sizeof old, &mariadb, &id, &s, &err), SL_ERUNTIME);
    assert_string_equal(err.msg, "TABLE_MAP of d.t: column x: binlog type 12 is the pre-MySQL-5.6 temporal format, "
                                 "which sluice does not decode; rebuild the table (ALTER TABLE ... FORCE; on "
                                 "MariaDB with mysql56_temporal_format=ON)");
    char dbn[256], tbn[256];
    assert_int_equal(sl_mysql_table_map_names(old, sizeof old, dbn, tbn), 0);
    assert_string_equal(dbn, "d");
    assert_string_equal(tbn, "t");
    assert_int_equal(sl_mysql_table_map_names(old, 11, dbn, tbn), -1);
}

static void table_map_primary_key_is_bounded(void **state)
{
    /* SIMPLE_PRIMARY_KEY listing column 0 five times for a 4-column
     * table: once a heap overflow of the key array */
    uint8_t m[sizeof tablemap + 4];
    size_t n = sizeof tablemap - 3;
    memcpy(m, tablemap, n);
    const uint8_t pk[] = {8, 5, 0, 0, 0, 0, 0};
    memcpy(m + n, pk, sizeof pk);
    n += sizeof pk;
    uint64_t id;
    sl_table_schema *s;
    sl_err err;
    assert_int_equal(sl_mysql_parse_table_map(m, n, &mariadb, &id, &s, &err), 0);
    assert_int_equal(s->npk, 1);
    assert_int_equal(s->pk[0], 0);
    sl_schema_free(s);
    /* PRIMARY_KEY_WITH_PREFIX naming every column twice */
    n = sizeof tablemap - 3;
    const uint8_t pkp[] = {9, 16, 3, 0, 2, 0, 1, 0, 0, 0, 3, 0, 2, 0, 1, 0, 0, 0};
    uint8_t m2[sizeof tablemap + sizeof pkp];
    memcpy(m2, tablemap, n);
    memcpy(m2 + n, pkp, sizeof pkp);
    assert_int_equal(sl_mysql_parse_table_map(m2, n + sizeof pkp, &mariadb, &id, &s, &err), 0);
    assert_int_equal(s->npk, 4);
    assert_int_equal(s->pk[0], 3);
    assert_int_equal(s->pk[3], 0);
    sl_schema_free(s);
}

static void decimal_size_of_impossible_types(void **state)
{
    assert_int_equal(sl_mysql_decimal_size(65, 30), 30);
    assert_int_equal(sl_mysql_decimal_size(0, 1), 0);  /* once read dig2bytes[-1] */
    assert_int_equal(sl_mysql_decimal_size(70, 2), 0);
    assert_int_equal(sl_mysql_decimal_size(5, 6), 0);
}

/* MySQL's binary JSON in the shapes the small tests above do not reach;
 * layouts from MySQL's sql-common/json_binary.cc (the format comment at
 * its top): large object/array (type 0x01/0x03, 4-byte counts, sizes and
 * offsets, int32/uint32 inlined in the 5-byte value entries), empty
 * containers, int16/uint16/int32/uint32 scalars, strings whose length
 * takes two variable-length bytes, nesting. */
static void binary_json_every_shape(void **state)
{
    sl_arena a;
    sl_arena_init(&a);
    const uint8_t large_array[] = {0x03, 2, 0, 0, 0, 20, 0, 0, 0,   /* 2 elements, 20 bytes */
                                   0x05, 0x01, 0x00, 0x00, 0x00,      /* int16 1, inlined */
                                   0x0c, 18, 0, 0, 0,                 /* string at 18 */
                                   0x01, 'x'};
    assert_string_equal(json(large_array, sizeof large_array, &a), "[1, \"x\"]");
    const uint8_t large_object[] = {0x01, 1, 0, 0, 0, 20, 0, 0, 0,  /* 1 member, 20 bytes */
                                    19, 0, 0, 0, 1, 0,                /* key at 19, length 1 */
                                    0x07, 0xf9, 0xff, 0xff, 0xff,     /* int32 -7, inlined */
                                    'k'};
    assert_string_equal(json(large_object, sizeof large_object, &a), "{\"k\": -7}");
    const uint8_t empty_array[] = {0x02, 0, 0, 4, 0};
    assert_string_equal(json(empty_array, sizeof empty_array, &a), "[]");
    const uint8_t empty_object[] = {0x00, 0, 0, 4, 0};
    assert_string_equal(json(empty_object, sizeof empty_object, &a), "{}");
    const uint8_t u16[] = {0x06, 0xff, 0xff};
    assert_string_equal(json(u16, sizeof u16, &a), "65535");
    const uint8_t i32[] = {0x07, 0x00, 0x00, 0x00, 0x80};
    assert_string_equal(json(i32, sizeof i32, &a), "-2147483648");
    const uint8_t u32[] = {0x08, 0xff, 0xff, 0xff, 0xff};
    assert_string_equal(json(u32, sizeof u32, &a), "4294967295");
    /* a 200-byte string: its length 200 is 0xc8 0x01 in 7-bit groups */
    uint8_t longstr[3 + 200] = {0x0c, 0xc8, 0x01};
    memset(longstr + 3, 'z', 200);
    const char *t = json(longstr, sizeof longstr, &a);
    assert_non_null(t);
    assert_int_equal(strlen(t), 202);
    /* {"a": {"b": []}}: an object in an object, an empty array in that */
    uint8_t n2[64];
    size_t k = 0;
    /* outer small object: count 1, size, key entry (off, len), value entry (type, off) */
    n2[k++] = 0x00;
    n2[k++] = 1; n2[k++] = 0; n2[k++] = 0; n2[k++] = 0; /* size patched */
    n2[k++] = 11; n2[k++] = 0; n2[k++] = 1; n2[k++] = 0; /* key "a" at 11 */
    n2[k++] = 0x00; n2[k++] = 12; n2[k++] = 0;          /* object at 12 */
    n2[k++] = 'a';
    /* inner object at 12 (offsets relative to it): key at 11, value array at 12 */
    size_t inner = k;
    n2[k++] = 1; n2[k++] = 0; n2[k++] = 0; n2[k++] = 0;
    n2[k++] = 11; n2[k++] = 0; n2[k++] = 1; n2[k++] = 0;
    n2[k++] = 0x02; n2[k++] = 12; n2[k++] = 0;
    n2[k++] = 'b';
    n2[k++] = 0; n2[k++] = 0; n2[k++] = 4; n2[k++] = 0;  /* empty array */
    n2[inner + 2] = (uint8_t)(k - inner);
    n2[3] = (uint8_t)(k - 1);
    assert_string_equal(json(n2, k, &a), "{\"a\": {\"b\": []}}");
    sl_arena_free(&a);
}

static void binary_json_extreme_opaque_time(void **state)
{
    sl_arena a;
    sl_arena_init(&a);
    /* an opaque DATETIME whose packed value is INT64_MIN: once a signed
     * negation overflow */
    const uint8_t t[] = {0x0f, 12, 8, 0, 0, 0, 0, 0, 0, 0, 0x80};
    assert_string_equal(json(t, sizeof t, &a), "\"10082-06-00 00:00:00.000000\"");
    sl_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decimal_text),
        cmocka_unit_test(binary_json),
        cmocka_unit_test(table_map_full_metadata),
        cmocka_unit_test(enum_and_set_members_become_utf8),
        cmocka_unit_test(iconv_values_are_independent),
        cmocka_unit_test(table_map_minimal_metadata_is_a_clear_error),
        cmocka_unit_test(time2_negative_fractions),
        cmocka_unit_test(year_owns_a_signedness_bit_on_mariadb),
        cmocka_unit_test(mysql_signedness_with_and_without_year),
        cmocka_unit_test(server_version_of_the_format_description),
        cmocka_unit_test(year_bit_decided_by_the_field_length),
        cmocka_unit_test(geometry_charset_entry_per_server),
        cmocka_unit_test(datetime2_hostile_values_are_errors),
        cmocka_unit_test(datetime2_zero_dates),
        cmocka_unit_test(widths_from_metadata_are_bounded),
        cmocka_unit_test(empty_row_image_is_an_error),
        cmocka_unit_test(table_map_metadata_out_of_range),
        cmocka_unit_test(table_map_primary_key_is_bounded),
        cmocka_unit_test(decimal_size_of_impossible_types),
        cmocka_unit_test(binary_json_extreme_opaque_time),
        cmocka_unit_test(binary_json_every_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
