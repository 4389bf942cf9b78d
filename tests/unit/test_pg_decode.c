/* test_pg_decode.c — the postgres source's decoders on fixed inputs:
 * value texts as PostgreSQL prints them (edge cases a live server rarely
 * produces in a test: BC dates, 24:00:00, odd zone offsets, money in other
 * locales, nested arrays with escapes), COPY lines, and pgoutput messages
 * built byte by byte, including truncated ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/arena.h"
#include "../../core/buf.h"
#include "../../core/envelope.h"
#include "../../sources/postgres/pg_snapshot.h"
#include "../../sources/postgres/pg_types.h"
#include "../../sources/postgres/pgoutput.h"
#include "../../sinks/kafka/kafka_sink.h"
#include <jansson.h>

static sl_column col(int cls, uint32_t oid, int32_t typmod)
{
    sl_column c;
    memset(&c, 0, sizeof c);
    c.name = "c";
    c.type_name = "t";
    c.conv = (uint8_t)cls;
    c.src_type = oid;
    c.src_meta = (uint32_t)typmod;
    sl_pg_column_finish(&c);
    return c;
}

/* the value's JSON rendering, as the sinks write it */
static const char *render(const sl_column *c, const char *text, sl_arena *a, sl_buf *b)
{
    sl_value v;
    char err[256];
    if (sl_pg_text_value(c, text, strlen(text), a, &v, err, sizeof err))
        return NULL;
    sl_buf_reset(b);
    sl_json_value(b, c, &v);
    sl_buf_addc(b, 0);
    return b->data;
}

static void dates_and_times(void **state)
{
    int64_t days, us;
    assert_int_equal(sl_pg_parse_date("1970-01-02", 10, &days), 0);
    assert_int_equal(days, 1);
    /* 1 BC is year 0 of the proleptic calendar, a leap year */
    assert_int_equal(sl_pg_parse_date("0001-02-29 BC", 13, &days), 0);
    assert_int_equal(days, sl_days_from_civil(0, 2, 29));
    assert_int_equal(sl_pg_parse_date("0044-03-15 BC", 13, &days), 0);
    assert_int_equal(days, sl_days_from_civil(-43, 3, 15));
    assert_int_equal(sl_pg_parse_date("12345-01-01", 11, &days), 0);
    assert_int_equal(days, sl_days_from_civil(12345, 1, 1));
    assert_int_equal(sl_pg_parse_date("2024-13-01", 10, &days), -1);
    assert_int_equal(sl_pg_parse_date("2024-01-01x", 11, &days), -1);
    size_t used;
    assert_int_equal(sl_pg_parse_time("24:00:00", 8, &us, &used), 0);
    assert_int_equal(us, 86400000000LL);
    assert_int_equal(sl_pg_parse_time("01:02:03.5", 10, &us, &used), 0);
    assert_int_equal(us, 3723500000LL);
    int32_t off;
    assert_int_equal(sl_pg_parse_offset("+05:30", 6, &off), 0);
    assert_int_equal(off, 19800);
    assert_int_equal(sl_pg_parse_offset("-00:44:30", 9, &off), 0);
    assert_int_equal(off, -2670);
    assert_int_equal(sl_pg_parse_offset("+5", 2, &off), -1);
    assert_int_equal(sl_pg_parse_timestamp("2024-01-01 10:00:00.123456+02", 29, 1, &us), 0);
    assert_int_equal(us, (sl_days_from_civil(2024, 1, 1) * 86400 + 8 * 3600) * 1000000LL + 123456);
    assert_int_equal(sl_pg_parse_timestamp("0001-01-01 00:00:00+00 BC", 25, 1, &us), 0);
    assert_int_equal(us, sl_days_from_civil(0, 1, 1) * 86400000000LL);
    /* a zone on a timestamp without time zone is malformed */
    assert_int_equal(sl_pg_parse_timestamp("2024-01-01 10:00:00+02", 22, 0, &us), -1);
}

static void value_renderings(void **state)
{
    sl_arena a;
    sl_arena_init(&a);
    sl_buf b;
    sl_buf_init(&b);
    sl_column c = col(SL_PGV_INT, 20, -1);
    assert_string_equal(render(&c, "-9223372036854775808", &a, &b), "-9223372036854775808");
    assert_string_equal(render(&c, "9223372036854775807", &a, &b), "9223372036854775807");
    /* 18 digits: the last length read without strtoll */
    assert_string_equal(render(&c, "-999999999999999999", &a, &b), "-999999999999999999");
    assert_string_equal(render(&c, "0", &a, &b), "0");
    assert_string_equal(render(&c, "-0", &a, &b), "0");
    assert_null(render(&c, "12x", &a, &b));
    assert_null(render(&c, "-", &a, &b));
    assert_null(render(&c, "9223372036854775808", &a, &b));
    assert_null(render(&c, "1 ", &a, &b));
    c = col(SL_PGV_NUMERIC, 1700, ((10 << 16) | 2) + 4);
    assert_int_equal(c.precision, 10);
    assert_int_equal(c.scale, 2);
    assert_string_equal(render(&c, "12.30", &a, &b), "\"12.30\"");
    assert_string_equal(render(&c, "NaN", &a, &b), "\"NaN\"");
    c = col(SL_PGV_FLOAT8, 701, -1);
    assert_string_equal(render(&c, "0.1", &a, &b), "0.1");
    assert_string_equal(render(&c, "-Infinity", &a, &b), "\"-Infinity\"");
    assert_string_equal(render(&c, "NaN", &a, &b), "\"NaN\"");
    c = col(SL_PGV_FLOAT4, 700, -1);
    assert_string_equal(render(&c, "3.4028235e+38", &a, &b), "3.4028235e+38");
    c = col(SL_PGV_BOOL, 16, -1);
    assert_string_equal(render(&c, "t", &a, &b), "true");
    assert_null(render(&c, "true", &a, &b));
    c = col(SL_PGV_BYTEA, 17, -1);
    assert_string_equal(render(&c, "\\x00ff41", &a, &b), "\"AP9B\"");
    assert_null(render(&c, "\\x0", &a, &b));
    c = col(SL_PGV_TIMETZ, 1266, -1);
    assert_string_equal(render(&c, "01:00:00.25+02", &a, &b), "\"23:00:00.250000Z\"");
    c = col(SL_PGV_TIMETZ, 1266, 0);
    assert_string_equal(render(&c, "23:30:00-01:00", &a, &b), "\"00:30:00Z\"");
    c = col(SL_PGV_TS, 1114, 3);
    assert_string_equal(render(&c, "1970-01-01 00:00:01.5", &a, &b), "1500");
    c = col(SL_PGV_TS, 1114, -1);
    assert_string_equal(render(&c, "1970-01-01 00:00:01.5", &a, &b), "1500000");
    assert_string_equal(render(&c, "infinity", &a, &b), "\"infinity\"");
    c = col(SL_PGV_TSTZ, 1184, 2);
    assert_string_equal(render(&c, "2024-05-01 10:00:00.12+00", &a, &b), "\"2024-05-01T10:00:00.12Z\"");
    assert_string_equal(render(&c, "0044-03-15 12:00:00+00 BC", &a, &b), "\"-0043-03-15T12:00:00.00Z\"");
    assert_string_equal(render(&c, "10000-01-01 00:00:00+00", &a, &b), "\"+10000-01-01T00:00:00.00Z\"");
    assert_string_equal(render(&c, "294276-12-31 23:59:59.99+00", &a, &b), "\"+294276-12-31T23:59:59.99Z\"");
    /* past INT64_MAX microseconds since 1970: exact, as an unsigned number */
    c = col(SL_PGV_TS, 1114, -1);
    assert_string_equal(render(&c, "294276-12-31 23:59:59.999999", &a, &b), "9224318015999999999");
    c = col(SL_PGV_MONEY, 790, -1);
    assert_string_equal(render(&c, "$1,234.56", &a, &b), "\"1234.56\"");
    assert_string_equal(render(&c, "-$0.05", &a, &b), "\"-0.05\"");
    assert_string_equal(render(&c, "1.234,56 EUR", &a, &b), "\"1234.56\"");
    c = col(SL_PGV_INTERVAL, 1186, -1);
    assert_string_equal(render(&c, "P1Y2M3DT4H5M6.5S", &a, &b), "\"P1Y2M3DT4H5M6.5S\"");
    c = col(SL_PGV_TEXT, 25, -1);
    assert_string_equal(render(&c, "a\"b", &a, &b), "\"a\\\"b\"");
    sl_buf_free(&b);
    sl_arena_free(&a);
}

static void arrays(void **state)
{
    sl_arena a;
    sl_arena_init(&a);
    sl_buf b;
    sl_buf_init(&b);
    sl_column c = col(SL_PGV_ARRAY, 1007, -1);
    c.charset = SL_PGV_INT;
    assert_string_equal(render(&c, "{1,NULL,-3}", &a, &b), "[1,null,-3]");
    assert_string_equal(render(&c, "{}", &a, &b), "[]");
    assert_string_equal(render(&c, "{{1,2},{3,4}}", &a, &b), "[[1,2],[3,4]]");
    assert_string_equal(render(&c, "[0:1]={5,6}", &a, &b), "[5,6]");
    assert_null(render(&c, "{1,2", &a, &b));
    assert_null(render(&c, "{1,x}", &a, &b));
    c.charset = SL_PGV_TEXT;
    assert_string_equal(render(&c, "{a,\"b,c\",\"NULL\",NULL,\"q\\\"\\\\\"}", &a, &b),
                        "[\"a\",\"b,c\",\"NULL\",null,\"q\\\"\\\\\"]");
    c.charset = SL_PGV_DATE;
    assert_string_equal(render(&c, "{1970-01-11}", &a, &b), "[10]");
    c.charset = SL_PGV_NUMERIC;
    assert_string_equal(render(&c, "{1.50,NaN}", &a, &b), "[\"1.50\",\"NaN\"]");
    sl_buf_free(&b);
    sl_arena_free(&a);
}

static void copy_lines(void **state)
{
    sl_table_schema *s = sl_schema_new("db", "public", "t", 3);
    s->cols[0] = col(SL_PGV_INT, 23, -1);
    s->cols[1] = col(SL_PGV_TEXT, 25, -1);
    s->cols[2] = col(SL_PGV_TEXT, 25, -1);
    s->cols[0].name = strdup("id");
    s->cols[1].name = strdup("a");
    s->cols[2].name = strdup("b");
    s->cols[0].type_name = strdup("integer");
    s->cols[1].type_name = strdup("text");
    s->cols[2].type_name = strdup("text");
    sl_arena a;
    sl_arena_init(&a);
    sl_value v[3];
    char err[256];
    const char line[] = "7\ttab\\there\\\\ and \\n\t\\N\n";
    assert_int_equal(sl_pg_copy_row(line, strlen(line), s, &a, v, err, sizeof err), 0);
    assert_int_equal(v[0].v.i, 7);
    assert_int_equal(v[1].len, strlen("tab\there\\ and \n"));
    assert_memory_equal(v[1].v.s, "tab\there\\ and \n", v[1].len);
    assert_int_equal(v[2].kind, SL_NULL);
    const char empty[] = "8\t\t\n";
    assert_int_equal(sl_pg_copy_row(empty, strlen(empty), s, &a, v, err, sizeof err), 0);
    assert_int_equal(v[1].len, 0);
    assert_int_equal(v[2].len, 0);
    /* an escape in the last field only: the fields before it stay as sent */
    const char late[] = "10\tab\tc\\td\n";
    assert_int_equal(sl_pg_copy_row(late, strlen(late), s, &a, v, err, sizeof err), 0);
    assert_int_equal(v[0].v.i, 10);
    assert_int_equal(v[1].len, 2);
    assert_memory_equal(v[1].v.s, "ab", 2);
    assert_int_equal(v[2].len, 3);
    assert_memory_equal(v[2].v.s, "c\td", 3);
    const char short_line[] = "9\tx\n";
    assert_int_equal(sl_pg_copy_row(short_line, strlen(short_line), s, &a, v, err, sizeof err), -1);
    assert_non_null(strstr(err, "expected 3"));
    sl_arena_free(&a);
    sl_schema_free(s);
}

static size_t put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return 2;
}

static size_t put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
    return 4;
}

static void pgoutput_messages(void **state)
{
    /* Relation (streamed): xid 9, relid 16384, public.t, identity 'd', 2 columns */
    uint8_t m[256];
    size_t n = 0;
    n += put32(m + n, 9);
    n += put32(m + n, 16384);
    memcpy(m + n, "public\0t\0", 9);
    n += 9;
    m[n++] = 'd';
    n += put16(m + n, 2);
    m[n++] = 1;
    memcpy(m + n, "id\0", 3);
    n += 3;
    n += put32(m + n, 23);
    n += put32(m + n, (uint32_t)-1);
    m[n++] = 0;
    memcpy(m + n, "v\0", 2);
    n += 2;
    n += put32(m + n, 25);
    n += put32(m + n, (uint32_t)-1);
    sl_pgo_relcol rc[4];
    sl_pgo_relation rel = {.cols = rc, .cap = 4};
    sl_pgo_reader r;
    uint32_t xid = 0;
    sl_pgo_init(&r, m, n);
    assert_int_equal(sl_pgo_relation_read(&r, 1, &xid, &rel), 0);
    assert_int_equal(xid, 9);
    assert_int_equal(rel.relid, 16384);
    assert_string_equal(rel.nspname, "public");
    assert_string_equal(rel.relname, "t");
    assert_int_equal(rel.ncols, 2);
    assert_int_equal(rc[0].flags, 1);
    assert_int_equal(rc[1].type_oid, 25);
    assert_int_equal(rc[1].typmod, -1);
    /* every truncation is an error, never a read past the end */
    for (size_t cut = 0; cut < n; cut++) {
        sl_pgo_init(&r, m, cut);
        assert_int_equal(sl_pgo_relation_read(&r, 1, &xid, &rel), -1);
    }
    /* too many columns for the caller's array */
    rel.cap = 1;
    sl_pgo_init(&r, m, n);
    assert_int_equal(sl_pgo_relation_read(&r, 1, &xid, &rel), -1);

    /* Update with old key: relid, 'K' (id=5, v null), 'N' (id=6, v unchanged TOAST) */
    n = 0;
    n += put32(m + n, 16384);
    m[n++] = 'K';
    n += put16(m + n, 2);
    m[n++] = 't';
    n += put32(m + n, 1);
    m[n++] = '5';
    m[n++] = 'n';
    m[n++] = 'N';
    n += put16(m + n, 2);
    m[n++] = 't';
    n += put32(m + n, 1);
    m[n++] = '6';
    m[n++] = 'u';
    sl_pgo_col ca[4], cb[4];
    sl_pgo_change c = {.old_tuple = {.cols = ca, .cap = 4}, .new_tuple = {.cols = cb, .cap = 4}};
    sl_pgo_init(&r, m, n);
    assert_int_equal(sl_pgo_change_read(&r, 'U', 0, &xid, &c), 0);
    assert_int_equal(c.old_kind, 'K');
    assert_int_equal(c.old_tuple.ncols, 2);
    assert_memory_equal(ca[0].data, "5", 1);
    assert_int_equal(ca[1].kind, 'n');
    assert_memory_equal(cb[0].data, "6", 1);
    assert_int_equal(cb[1].kind, 'u');
    for (size_t cut = 0; cut < n; cut++) {
        sl_pgo_init(&r, m, cut);
        assert_int_equal(sl_pgo_change_read(&r, 'U', 0, &xid, &c), -1);
    }
    /* a text length beyond the message */
    uint8_t bad[] = {0, 0, 0x40, 0, 'N', 0, 1, 't', 0x7f, 0xff, 0xff, 0xff, 'x'};
    sl_pgo_init(&r, bad, sizeof bad);
    assert_int_equal(sl_pgo_change_read(&r, 'I', 0, &xid, &c), -1);
    /* a delete must carry an old tuple */
    uint8_t del[] = {0, 0, 0x40, 0, 'N', 0, 0};
    sl_pgo_init(&r, del, sizeof del);
    assert_int_equal(sl_pgo_change_read(&r, 'D', 0, &xid, &c), -1);
}

/* Kafka Connect schemas describe PostgreSQL arrays as arrays of the
 * element's type, and time-with-zone and interval by Debezium's names */
static void connect_schema_of_pg_types(void **state)
{
    sl_table_schema *s = sl_schema_new("db", "public", "t", 3);
    const char *names[] = {"ids", "at", "span"};
    const char *types[] = {"integer[]", "time with time zone", "interval"};
    s->cols[0] = col(SL_PGV_ARRAY, 1007, -1);
    s->cols[0].charset = SL_PGV_INT;
    sl_pg_column_finish(&s->cols[0]);
    s->cols[1] = col(SL_PGV_TIMETZ, 1266, -1);
    s->cols[2] = col(SL_PGV_INTERVAL, 1186, -1);
    for (int i = 0; i < 3; i++) {
        s->cols[i].name = strdup(names[i]);
        s->cols[i].type_name = strdup(types[i]);
        s->cols[i].nullable = 1;
    }
    assert_true(s->cols[0].is_array);
    assert_int_equal(s->cols[0].elem_kind, SL_INT);
    sl_buf b;
    sl_buf_init(&b);
    sl_envelope_opts env = {.connector = "postgresql"};
    sl_connect_value_schema(&b, s, "p.public.t", &env, env.connector);
    json_error_t je;
    json_t *root = json_loadb(b.data, b.len, 0, &je);
    assert_non_null(root);
    json_t *after = json_array_get(json_object_get(root, "fields"), 1);
    assert_string_equal(json_string_value(json_object_get(after, "field")), "after");
    json_t *fields = json_object_get(after, "fields");
    json_t *ids = json_array_get(fields, 0);
    assert_string_equal(json_string_value(json_object_get(ids, "type")), "array");
    assert_string_equal(json_string_value(json_object_get(ids, "field")), "ids");
    assert_string_equal(json_string_value(json_object_get(json_object_get(ids, "items"), "type")), "int32");
    assert_string_equal(json_string_value(json_object_get(json_array_get(fields, 1), "name")),
                        "io.debezium.time.ZonedTime");
    assert_string_equal(json_string_value(json_object_get(json_array_get(fields, 2), "name")),
                        "io.debezium.time.Interval");
    json_decref(root);
    sl_buf_free(&b);
    sl_schema_free(s);
}

/* An empty text value is its column's last bytes: nothing after it may be
 * read (it once copied one byte past the end of the message). Run under
 * make asan, the buffer below ends exactly where the value does. */
static void empty_text_at_the_end_of_the_message(void **state)
{
    const int classes[] = {SL_PGV_TEXT, SL_PGV_NUMERIC, SL_PGV_JSON, SL_PGV_ENUM, SL_PGV_INTERVAL};
    char *msg = malloc(1);
    assert_non_null(msg);
    msg[0] = 'x';
    sl_arena a;
    sl_arena_init(&a);
    for (size_t k = 0; k < sizeof classes / sizeof *classes; k++) {
        sl_column c = col(classes[k], 25, -1);
        sl_value v;
        char err[128];
        assert_int_equal(sl_pg_text_value(&c, msg + 1, 0, &a, &v, err, sizeof err), 0);
        assert_int_equal(v.len, 0);
    }
    sl_arena_free(&a);
    free(msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dates_and_times),
        cmocka_unit_test(value_renderings),
        cmocka_unit_test(arrays),
        cmocka_unit_test(copy_lines),
        cmocka_unit_test(pgoutput_messages),
        cmocka_unit_test(connect_schema_of_pg_types),
        cmocka_unit_test(empty_text_at_the_end_of_the_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
