/* test_ch_rowbinary.c — the clickhouse sink's type model and RowBinary
 * codec: ClickHouse type spellings parse and print back, widening is what
 * an ALTER may do, values are encoded byte-exact (decimals up to 76
 * digits, UUID halves, infinities) and refused when they do not fit, and
 * reading back renders each value as the source did. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../../core/envelope.h"
#include "../../sinks/clickhouse/ch_sink.h"

static void type_spellings_round_trip(void **state)
{
    static const char *const types[] = {
        "Int8", "UInt64", "Nullable(Int32)", "Decimal(76, 10)", "Decimal(10, 2)", "LowCardinality(Nullable(String))",
        "DateTime64(6, 'UTC')", "DateTime64(3)", "Time64(2)", "Array(Nullable(Int16))", "Array(UUID)", "Date32",
        "FixedString(16)", "Nullable(Bool)", "UInt128", "IPv6",
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        ch_type t;
        ch_type_parse(types[i], &t);
        assert_int_not_equal(t.base, CH_OTHER);
        sl_buf b;
        sl_buf_init(&b);
        ch_type_format(&b, &t);
        sl_buf_addc(&b, 0);
        assert_string_equal(b.data, types[i]);
        sl_buf_free(&b);
    }
    ch_type t;
    ch_type_parse("Decimal64(4)", &t);
    assert_int_equal(t.base, CH_DECIMAL);
    assert_int_equal(t.p, 18);
    assert_int_equal(t.s, 4);
    ch_type_parse("Array(Array(Int8))", &t);
    assert_int_equal(t.base, CH_OTHER);
    ch_type_parse("Map(String, Int8)", &t);
    assert_int_equal(t.base, CH_OTHER);
    ch_type_parse("Enum8('a' = 1)", &t);
    assert_int_equal(t.base, CH_OTHER);
}

static int widens(const char *a, const char *b)
{
    ch_type x, y;
    ch_type_parse(a, &x);
    ch_type_parse(b, &y);
    return ch_type_widens(&x, &y);
}

static void widening_is_lossless_only(void **state)
{
    assert_true(widens("Int32", "Int64"));
    assert_true(widens("UInt32", "Int64"));
    assert_false(widens("UInt64", "Int64"));
    assert_false(widens("Int64", "Int32"));
    assert_false(widens("Int8", "UInt8"));
    assert_true(widens("Float32", "Float64"));
    assert_true(widens("Decimal(10, 2)", "Decimal(12, 3)"));
    assert_false(widens("Decimal(10, 2)", "Decimal(10, 3)")); /* loses an integer digit */
    assert_true(widens("DateTime64(3, 'UTC')", "DateTime64(6, 'UTC')"));
    assert_false(widens("DateTime64(6, 'UTC')", "DateTime64(3, 'UTC')"));
    assert_true(widens("String", "Nullable(String)"));
    assert_false(widens("Nullable(String)", "String"));
    assert_true(widens("LowCardinality(String)", "String"));
    assert_false(widens("String", "Int64"));
    assert_true(widens("Array(Nullable(Int16))", "Array(Nullable(Int32))"));
}

static void encode(const char *type, const sl_column *c, const sl_value *v, sl_buf *b, char *why)
{
    ch_type t;
    ch_type_parse(type, &t);
    sl_buf_reset(b);
    assert_int_equal(ch_rb_value(b, &t, c, v, why, 256), 0);
}

static void refuse(const char *type, const sl_column *c, const sl_value *v, const char *reason)
{
    ch_type t;
    ch_type_parse(type, &t);
    sl_buf b;
    sl_buf_init(&b);
    char why[256];
    assert_int_equal(ch_rb_value(&b, &t, c, v, why, sizeof why), -1);
    if (!strstr(why, reason))
        fail_msg("'%s' does not say '%s'", why, reason);
    sl_buf_free(&b);
}

static void values_encode_exactly(void **state)
{
    sl_column c = {0};
    sl_buf b;
    sl_buf_init(&b);
    char why[256];
    sl_value v = sl_val_text(SL_DECIMAL, "-12.340", 7);
    encode("Decimal(10, 3)", &c, &v, &b, why);
    assert_int_equal(b.len, 8);
    int64_t d;
    memcpy(&d, b.data, 8);
    assert_int_equal(d, -12340);
    /* 76 digits: the largest Decimal256 */
    char big[80];
    memset(big, '9', 76);
    big[76] = 0;
    v = sl_val_text(SL_DECIMAL, big, 76);
    encode("Decimal(76, 0)", &c, &v, &b, why);
    assert_int_equal(b.len, 32);
    refuse("Decimal(10, 2)", &c, &(sl_value){.kind = SL_DECIMAL, .len = 5, .v.s = "1.234"}, "fractional digits");
    refuse("Decimal(4, 2)", &c, &(sl_value){.kind = SL_DECIMAL, .len = 6, .v.s = "123.00"}, "integer digits");
    refuse("Decimal(10, 2)", &c, &(sl_value){.kind = SL_DECIMAL, .len = 3, .v.s = "NaN"}, "not a decimal");
    v = sl_val_text(SL_DECIMAL, "1.2300", 6); /* zeros past the scale are exact */
    encode("Decimal(5, 2)", &c, &v, &b, why);
    int32_t d4;
    memcpy(&d4, b.data, 4);
    assert_int_equal(d4, 123);

    v = sl_val_uint(UINT64_MAX);
    encode("UInt64", &c, &v, &b, why);
    assert_memory_equal(b.data, "\xff\xff\xff\xff\xff\xff\xff\xff", 8);
    refuse("Int64", &c, &v, "does not fit");
    refuse("Int16", &c, &(sl_value){.kind = SL_INT, .v.i = 40000}, "value 40000 does not fit");

    v = sl_val_text(SL_STRING, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", 36);
    encode("UUID", &c, &v, &b, why);
    assert_memory_equal(b.data, "\xf8\x4e\x0b\x9c\x99\xbc\xee\xa0\x11\x0a\x38\xbd\xb9\x6b\x6d\xbb", 16);

    v = sl_val_text(SL_STRING, "infinity", 8);
    encode("DateTime64(6, 'UTC')", &c, &v, &b, why);
    assert_memory_equal(b.data, "\xff\xff\xff\xff\xff\xff\xff\x7f", 8);
    sl_value ts = {.kind = SL_TIMESTAMP, .v.i = 1500};
    refuse("DateTime64(3, 'UTC')", &c, &ts, "fractional digits");
    ts.v.i = 2000;
    encode("DateTime64(3, 'UTC')", &c, &ts, &b, why);
    int64_t ticks;
    memcpy(&ticks, b.data, 8);
    assert_int_equal(ticks, 2);

    sl_value nul = sl_val_null();
    refuse("Int32", &c, &nul, "not Nullable");
    encode("Nullable(Int32)", &c, &nul, &b, why);
    assert_int_equal(b.len, 1);
    assert_int_equal(b.data[0], 1);
    sl_value unch = {.kind = SL_UNCHANGED};
    refuse("Nullable(String)", &c, &unch, "did not send");

    sl_value f = {.kind = SL_DOUBLE, .v.d = 0.1};
    refuse("Float32", &c, &f, "not exact as Float32");
    f.v.d = NAN;
    encode("Float32", &c, &f, &b, why);
    assert_int_equal(b.len, 4);
    sl_buf_free(&b);
}

static void arrays_from_source_json(void **state)
{
    sl_column c = {0};
    c.is_array = 1;
    c.elem_kind = SL_INT;
    c.kind = SL_TEXTUAL;
    sl_value v = sl_val_text(SL_TEXTUAL, "[1,null,3]", 10);
    v.flags = SL_VF_JSON_TEXT;
    sl_buf b;
    sl_buf_init(&b);
    char why[256];
    encode("Array(Nullable(Int32))", &c, &v, &b, why);
    assert_int_equal(b.len, 1 + 5 + 1 + 5);
    assert_memory_equal(b.data, "\x03\x00\x01\x00\x00\x00\x01\x00\x03\x00\x00\x00", 12);
    sl_value md = sl_val_text(SL_TEXTUAL, "[[1],[2]]", 9);
    md.flags = SL_VF_JSON_TEXT;
    refuse("Array(Nullable(Int32))", &c, &md, "multi-dimensional");
    sl_value nul = sl_val_null();
    encode("Array(Nullable(Int32))", &c, &nul, &b, why); /* no Nullable(Array): [] */
    assert_int_equal(b.len, 1);
    assert_int_equal(b.data[0], 0);
    sl_buf_free(&b);
}

/* encode then read back: the JSON rendering is the source's */
static void read_back(const char *type, const sl_column *c, const sl_value *v, const char *json)
{
    ch_type t;
    ch_type_parse(type, &t);
    sl_buf b, out;
    sl_buf_init(&b);
    sl_buf_init(&out);
    char why[256];
    assert_int_equal(ch_rb_value(&b, &t, c, v, why, sizeof why), 0);
    sl_arena a;
    sl_arena_init(&a);
    const uint8_t *p = (const uint8_t *)b.data;
    sl_value got;
    /* every prefix is "short" */
    for (size_t n = 0; n < b.len; n++) {
        const uint8_t *q = p;
        assert_int_equal(ch_rb_read(&q, p + n, &t, c, &a, &got), 1);
    }
    assert_int_equal(ch_rb_read(&p, p + b.len, &t, c, &a, &got), 0);
    assert_ptr_equal(p, (const uint8_t *)b.data + b.len);
    sl_json_value(&out, c, &got);
    sl_buf_addc(&out, 0);
    assert_string_equal(out.data, json);
    sl_arena_free(&a);
    sl_buf_free(&b);
    sl_buf_free(&out);
}

static void values_read_back_as_the_source_renders_them(void **state)
{
    sl_column c = {0};
    c.kind = SL_DECIMAL;
    read_back("Decimal(12, 3)", &c, &(sl_value){.kind = SL_DECIMAL, .len = 14, .v.s = "-123456789.123"},
              "\"-123456789.123\"");
    read_back("Decimal(5, 2)", &c, &(sl_value){.kind = SL_DECIMAL, .len = 5, .v.s = "-0.05"}, "\"-0.05\"");
    read_back("Decimal(40, 0)", &c, &(sl_value){.kind = SL_DECIMAL, .len = 1, .v.s = "7"}, "\"7\"");
    c.kind = SL_DATETIME;
    c.scale = 3;
    read_back("Nullable(DateTime64(3, 'UTC'))", &c, &(sl_value){.kind = SL_DATETIME, .v.i = 1577836800123000},
              "1577836800123");
    c.kind = SL_TIMESTAMP;
    c.scale = 6;
    read_back("DateTime64(6, 'UTC')", &c, &(sl_value){.kind = SL_TIMESTAMP, .v.i = 1590998400000001},
              "\"2020-06-01T08:00:00.000001Z\"");
    read_back("DateTime64(6, 'UTC')", &c, &(sl_value){.kind = SL_STRING, .len = 9, .v.s = "-infinity"},
              "\"-infinity\"");
    c.kind = SL_BIT;
    c.precision = 5;
    read_back("UInt64", &c, &(sl_value){.kind = SL_BIT, .aux = 5, .v.u = 21}, "\"FQ==\"");
    c.kind = SL_BYTES;
    read_back("String", &c, &(sl_value){.kind = SL_BYTES, .len = 3, .v.s = "\x00\xff\x10"}, "\"AP8Q\"");
    c.kind = SL_STRING;
    read_back("UUID", &c, &(sl_value){.kind = SL_STRING, .len = 36, .v.s = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
              "\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"");
    c.kind = SL_TIME;
    c.scale = 2;
    read_back("Time64(2)", &c, &(sl_value){.kind = SL_TIME, .v.i = -45296780000}, "-45296780000");
    c.kind = SL_FLOAT;
    read_back("Float32", &c, &(sl_value){.kind = SL_FLOAT, .v.d = 1.100000023841858}, "1.1");
    sl_column arr = {0};
    arr.kind = SL_TEXTUAL;
    arr.is_array = 1;
    arr.elem_kind = SL_BYTES;
    sl_value av = sl_val_text(SL_TEXTUAL, "[\"AP8=\",null]", 13);
    av.flags = SL_VF_JSON_TEXT;
    read_back("Array(Nullable(String))", &arr, &av, "[\"AP8=\",null]");
    arr.elem_kind = SL_DATETIME;
    arr.scale = 3;
    av = sl_val_text(SL_TEXTUAL, "[1577836800123]", 15);
    av.flags = SL_VF_JSON_TEXT;
    read_back("Array(Nullable(DateTime64(3, 'UTC')))", &arr, &av, "[1577836800123]");
}

static void comments_describe_source_kinds(void **state)
{
    sl_column c = {0};
    c.kind = SL_BIT;
    c.precision = 5;
    c.type_name = "bit(5)";
    sl_buf b;
    sl_buf_init(&b);
    sl_kind_tag_for(&b, &c);
    sl_buf_addc(&b, 0);
    assert_string_equal(b.data, "bit(5) [sluice:bit/5]");
    uint8_t kind, elem;
    uint16_t n;
    assert_int_equal(sl_kind_tag_parse(b.data, &kind, &n, &elem), 1);
    assert_int_equal(kind, SL_BIT);
    assert_int_equal(n, 5);
    sl_buf_reset(&b);
    c.is_array = 1;
    c.elem_kind = SL_TIMESTAMP;
    c.scale = 6;
    c.type_name = "timestamp with time zone[]";
    sl_kind_tag_for(&b, &c);
    sl_buf_addc(&b, 0);
    assert_int_equal(sl_kind_tag_parse(b.data, &kind, &n, &elem), 1);
    assert_int_equal(kind, SL_TEXTUAL);
    assert_int_equal(elem, SL_TIMESTAMP);
    assert_int_equal(n, 6);
    assert_int_equal(sl_kind_tag_parse("a user's comment", &kind, &n, &elem), 0);
    sl_buf_free(&b);
}

static void versions_follow_positions(void **state)
{
    uint64_t hi, lo, hi2, lo2;
    /* MySQL: file 3, event at 4000, row 7 < file 3, event 4100, row 0 < file 4, event 4 */
    assert_int_equal(ch_version((sl_pos){3, 4000, 7}, &hi, &lo), 0);
    assert_int_equal(ch_version((sl_pos){3, 4100, 0}, &hi2, &lo2), 0);
    assert_true(hi == hi2 && lo < lo2);
    assert_int_equal(ch_version((sl_pos){4, 4, 0}, &hi, &lo), 0);
    assert_true(hi > hi2);
    /* PostgreSQL: commit LSN, then the change index */
    assert_int_equal(ch_version((sl_pos){0x16B3748, 0, 70000}, &hi, &lo), 0);
    assert_int_equal(ch_version((sl_pos){0x16B3749, 0, 0}, &hi2, &lo2), 0);
    assert_true(hi < hi2);
    assert_int_equal(ch_version((sl_pos){1, 1ULL << 32, 0}, &hi, &lo), -1);
    sl_pos p;
    assert_int_equal(ch_pos_parse("23803720.0.12", &p), 0);
    assert_true(p.hi == 23803720 && p.lo == 0 && p.idx == 12);
    assert_int_equal(ch_pos_parse("1.2", &p), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(type_spellings_round_trip),
        cmocka_unit_test(widening_is_lossless_only),
        cmocka_unit_test(values_encode_exactly),
        cmocka_unit_test(arrays_from_source_json),
        cmocka_unit_test(values_read_back_as_the_source_renders_them),
        cmocka_unit_test(comments_describe_source_kinds),
        cmocka_unit_test(versions_follow_positions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
