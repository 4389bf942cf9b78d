/* test_debezium.c — the value forms and Connect schemas a Debezium consumer
 * (Kafka Connect's JsonConverter) relies on: each schema type agrees with
 * the payload sluice writes for it. The e2e Kafka tests feed real messages
 * through JsonConverter; these pin the exact bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../core/envelope.h"
#include "../../sinks/kafka/kafka_sink.h"

static sl_table_schema *table(int ncols)
{
    sl_table_schema *s = sl_schema_new("db", NULL, "t", ncols);
    assert_non_null(s);
    return s;
}

static void set_col(sl_column *c, const char *name, const char *type, uint8_t kind)
{
    c->name = strdup(name);
    c->type_name = strdup(type);
    c->kind = kind;
    c->nullable = 1;
}

static char *render(const sl_column *c, const sl_value *v, const sl_value_modes *m)
{
    sl_buf b;
    sl_buf_init(&b);
    sl_json_value_m(&b, c, v, m);
    sl_buf_addc(&b, 0);
    return b.data;
}

/* BIGINT UNSIGNED: precise = Connect Decimal (big-endian two's complement,
 * shortest that keeps the sign), long = Debezium's wrapped int64 */
static void bigint_unsigned_modes(void **state)
{
    sl_table_schema *s = table(1);
    set_col(&s->cols[0], "u", "bigint unsigned", SL_UINT);
    sl_value_modes precise = {.bigint_unsigned = SL_BIGINT_PRECISE}, lng = {.bigint_unsigned = SL_BIGINT_LONG};
    struct {
        uint64_t v;
        const char *precise, *lng;
    } cases[] = {
        {18446744073709551615ULL, "\"AP//////////\"", "-1"},
        {9223372036854775808ULL, "\"AIAAAAAAAAAA\"", "-9223372036854775808"},
        {0, "\"AA==\"", "0"},
        {127, "\"fw==\"", "127"},
        {128, "\"AIA=\"", "128"},
        {65535, "\"AP//\"", "65535"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sl_value v = sl_val_uint(cases[i].v);
        char *p = render(&s->cols[0], &v, &precise), *l = render(&s->cols[0], &v, &lng),
             *exact = render(&s->cols[0], &v, NULL);
        assert_string_equal(p, cases[i].precise);
        assert_string_equal(l, cases[i].lng);
        char want[32];
        snprintf(want, sizeof want, "%llu", (unsigned long long)cases[i].v);
        assert_string_equal(exact, want); /* sluice's own form (verify checksums) */
        free(p);
        free(l);
        free(exact);
    }
    /* smaller unsigned types fit int64 and stay numbers */
    sl_column iu = s->cols[0];
    iu.type_name = "int unsigned";
    sl_value v = sl_val_uint(4294967295ULL);
    char *p = render(&iu, &v, &precise);
    assert_string_equal(p, "4294967295");
    free(p);
    sl_schema_free(s);
}

static json_t *after_field(const char *schema_json, const char *name)
{
    json_error_t je;
    json_t *root = json_loads(schema_json, 0, &je);
    assert_non_null(root);
    json_t *after = json_array_get(json_object_get(root, "fields"), 1);
    json_t *fields = json_object_get(after, "fields");
    for (size_t i = 0; i < json_array_size(fields); i++) {
        json_t *f = json_array_get(fields, i);
        if (strcmp(json_string_value(json_object_get(f, "field")), name) == 0) {
            json_incref(f);
            json_decref(root);
            return f;
        }
    }
    fail_msg("no field %s", name);
    return NULL;
}

/* the Connect schema of the after-image field `name` of s under env */
static json_t *value_schema_field(const sl_table_schema *s, const sl_envelope_opts *env, const char *name)
{
    sl_buf b;
    sl_buf_init(&b);
    sl_connect_value_schema(&b, s, "p.public.t", env, env->connector);
    sl_buf_addc(&b, 0);
    json_t *f = after_field(b.data, name);
    sl_buf_free(&b);
    return f;
}

/* JsonConverter knows float/double, not float32/float64; a decimal kept as
 * text is a plain string (no Decimal parameters); BIGINT UNSIGNED follows
 * its mode; smaller unsigned integers take the next wider signed type, as
 * Debezium (tests/compat found int64 for all of them) */
static void connect_schema_types(void **state)
{
    sl_table_schema *s = table(8);
    set_col(&s->cols[5], "tu", "tinyint unsigned", SL_UINT);
    set_col(&s->cols[6], "su", "smallint unsigned", SL_UINT);
    set_col(&s->cols[7], "mu", "mediumint unsigned", SL_UINT);
    set_col(&s->cols[0], "f", "float", SL_FLOAT);
    set_col(&s->cols[1], "d", "double", SL_DOUBLE);
    set_col(&s->cols[2], "n", "numeric", SL_DECIMAL);
    set_col(&s->cols[3], "u", "bigint unsigned", SL_UINT);
    set_col(&s->cols[4], "i", "int unsigned", SL_UINT);
    s->cols[4].is_unsigned = 1;
    for (int mode = 0; mode < 2; mode++) {
        sl_envelope_opts env = {.connector = "mysql", .modes = {.bigint_unsigned = (uint8_t)mode}};
        sl_buf b;
        sl_buf_init(&b);
        sl_connect_value_schema(&b, s, "p.db.t", &env, env.connector);
        sl_buf_addc(&b, 0);
        json_t *f = after_field(b.data, "f"), *d = after_field(b.data, "d"), *n = after_field(b.data, "n"),
               *u = after_field(b.data, "u"), *i = after_field(b.data, "i");
        assert_string_equal(json_string_value(json_object_get(f, "type")), "float");
        assert_string_equal(json_string_value(json_object_get(d, "type")), "double");
        assert_string_equal(json_string_value(json_object_get(n, "type")), "string");
        assert_null(json_object_get(n, "parameters"));
        assert_string_equal(json_string_value(json_object_get(i, "type")), "int64");
        const char *small[][2] = {{"tu", "int16"}, {"su", "int32"}, {"mu", "int32"}};
        for (int k = 0; k < 3; k++) {
            json_t *x = after_field(b.data, small[k][0]);
            assert_string_equal(json_string_value(json_object_get(x, "type")), small[k][1]);
            json_decref(x);
        }
        if (mode == SL_BIGINT_PRECISE) {
            assert_string_equal(json_string_value(json_object_get(u, "type")), "bytes");
            assert_string_equal(json_string_value(json_object_get(u, "name")), "org.apache.kafka.connect.data.Decimal");
            assert_string_equal(json_string_value(json_object_get(json_object_get(u, "parameters"), "scale")), "0");
        } else {
            assert_string_equal(json_string_value(json_object_get(u, "type")), "int64");
        }
        json_decref(f);
        json_decref(d);
        json_decref(n);
        json_decref(u);
        json_decref(i);
        sl_buf_free(&b);
    }
    sl_schema_free(s);
}

/* the PostgreSQL Source ends with Debezium 3.5's replication origin
 * (tests/compat found it missing) */
static void pg_source_origin(void **state)
{
    sl_table_schema *s = sl_schema_new("db", "public", "t", 1);
    assert_non_null(s);
    set_col(&s->cols[0], "id", "integer", SL_INT);
    sl_envelope_opts env = {.connector = "postgresql"};
    sl_buf b;
    sl_buf_init(&b);
    sl_connect_value_schema(&b, s, "p.public.t", &env, env.connector);
    sl_buf_addc(&b, 0);
    json_t *root = json_loads(b.data, 0, NULL);
    assert_non_null(root);
    json_t *src = json_object_get(json_array_get(json_object_get(root, "fields"), 2), "fields");
    size_t n = json_array_size(src);
    assert_true(n > 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(src, n - 3), "field")), "xmin");
    assert_string_equal(json_string_value(json_object_get(json_array_get(src, n - 2), "field")), "origin");
    assert_string_equal(json_string_value(json_object_get(json_array_get(src, n - 1), "field")), "origin_lsn");
    json_decref(root);
    sl_buf_free(&b);
    sl_schema_free(s);
}

/* the source block of a PostgreSQL change as Debezium 3.5 writes it:
 * the commit's microseconds in ts_us / ts_ns (ts_ms truncated), sequence
 * the text of [last commit LSN, change LSN] as decimal strings */
static char *pg_source_text(const sl_event *e)
{
    sl_envelope_opts env = {.connector = "postgresql", .name = "p"};
    sl_buf b;
    sl_buf_init(&b);
    sl_json_source(&b, e, &env);
    sl_buf_addc(&b, 0);
    /* the version differs per build: start after it */
    char *out = strdup(strstr(b.data, "\"connector\""));
    sl_buf_free(&b);
    return out;
}

static void pg_source_commit_micros(void **state)
{
    sl_table_schema *s = sl_schema_new("db", "public", "t", 1);
    assert_non_null(s);
    set_col(&s->cols[0], "id", "integer", SL_INT);
    sl_txinfo tx = {.xid = 750, .lsn = 30722800, .ts_ms = 1796245188163, .ts_us = 1796245188163335,
                    .last_commit = 30722720};
    sl_event e = {.schema = s, .tx = &tx, .op = 'c', .offset = 30722760};
    char *got = pg_source_text(&e);
    assert_string_equal(got, "\"connector\":\"postgresql\",\"name\":\"p\",\"ts_ms\":1796245188163,"
                             "\"snapshot\":\"false\",\"db\":\"db\",\"ts_us\":1796245188163335,"
                             "\"ts_ns\":1796245188163335000,\"sequence\":\"[\\\"30722720\\\",\\\"30722760\\\"]\","
                             "\"schema\":\"public\","
                             "\"table\":\"t\",\"txId\":750,\"lsn\":30722760,\"xmin\":null,\"origin\":null,"
                             "\"origin_lsn\":null}");
    free(got);
    /* a source without microseconds: the milliseconds scaled */
    tx.ts_us = 0;
    got = pg_source_text(&e);
    assert_non_null(strstr(got, "\"ts_us\":1796245188163000,\"ts_ns\":1796245188163000000,"));
    free(got);
    /* no commit read yet (a snapshot row, the first transaction after a
     * start): the first LSN is null */
    tx.last_commit = 0;
    char seq[64];
    assert_string_equal(sl_pg_sequence(&e, seq, sizeof seq), "[null,\"30722760\"]");
    sl_schema_free(s);
}

/* a 2-D array's items are arrays; PostgreSQL's infinite dates and
 * timestamps are the extremes of their integer types */
static void arrays_and_infinity(void **state)
{
    sl_table_schema *s = table(3);
    set_col(&s->cols[0], "m", "integer[]", SL_TEXTUAL);
    s->cols[0].is_array = 1;
    s->cols[0].elem_kind = SL_INT;
    s->cols[0].array_dims = 2;
    set_col(&s->cols[1], "d", "date", SL_DATE);
    set_col(&s->cols[2], "ts", "timestamp(3) without time zone", SL_DATETIME);
    s->cols[2].scale = 3;
    sl_envelope_opts env = {.connector = "postgresql"};
    json_t *m = value_schema_field(s, &env, "m");
    json_t *items = json_object_get(m, "items");
    assert_string_equal(json_string_value(json_object_get(items, "type")), "array");
    assert_null(json_object_get(items, "field"));
    assert_string_equal(json_string_value(json_object_get(json_object_get(items, "items"), "type")), "int32");
    json_decref(m);
    /* a date[]'s items are named as the mode names a date (days either way) */
    free((void *)s->cols[0].name);
    free((void *)s->cols[0].type_name);
    set_col(&s->cols[0], "da", "date[]", SL_TEXTUAL);
    s->cols[0].is_array = 1;
    s->cols[0].elem_kind = SL_DATE;
    s->cols[0].array_dims = 1;
    const char *date_names[2] = {"io.debezium.time.Date", "org.apache.kafka.connect.data.Date"};
    for (int connect = 0; connect < 2; connect++) {
        env.modes.time_precision = connect ? SL_TIME_CONNECT : SL_TIME_ADAPTIVE;
        json_t *da = value_schema_field(s, &env, "da");
        json_t *item = json_object_get(da, "items");
        assert_string_equal(json_string_value(json_object_get(item, "type")), "int32");
        assert_string_equal(json_string_value(json_object_get(item, "name")), date_names[connect]);
        json_decref(da);
    }
    sl_value_modes modes = {0};
    const char *texts[] = {"infinity", "-infinity"};
    const char *want[2][2] = {{"2147483647", "-2147483648"}, {"9223372036854775807", "-9223372036854775808"}};
    for (int col = 0; col < 2; col++)
        for (int k = 0; k < 2; k++) {
            sl_value v = sl_val_text(SL_STRING, texts[k], (uint32_t)strlen(texts[k]));
            char *got = render(&s->cols[1 + col], &v, &modes);
            assert_string_equal(got, want[col][k]);
            free(got);
        }
    sl_schema_free(s);
}

static char *render_text(const sl_column *c, uint8_t kind, const char *text, const sl_value_modes *m)
{
    sl_value v = sl_val_text(kind, text, (uint32_t)strlen(text));
    return render(c, &v, m);
}

/* decimal.handling.mode: precise is the unscaled value at the column's
 * scale as Connect Decimal bytes (PostgreSQL's unconstrained numeric as
 * VariableScaleDecimal at the scale of its significant fraction digits, as
 * Debezium); double a float64 */
static void decimal_modes(void **state)
{
    sl_table_schema *s = table(2);
    set_col(&s->cols[0], "d", "decimal(10,2)", SL_DECIMAL);
    s->cols[0].precision = 10;
    s->cols[0].scale = 2;
    set_col(&s->cols[1], "n", "numeric", SL_DECIMAL);
    sl_value_modes precise = {.decimal = SL_DECIMAL_PRECISE}, dbl = {.decimal = SL_DECIMAL_DOUBLE}, str = {0};
    struct {
        int col;
        const char *text, *precise, *dbl;
    } cases[] = {
        {0, "12.30", "\"BM4=\"", "12.3"},          /* 1230 = 0x04ce */
        {0, "-1.28", "\"gA==\"", "-1.28"},         /* -128 */
        {0, "-1.29", "\"/38=\"", "-1.29"},         /* -129 = 0xff7f */
        {0, "1.28", "\"AIA=\"", "1.28"},           /* 128 needs a sign byte */
        {0, "-0.00", "\"AA==\"", "-0"},
        {0, "5", "\"AfQ=\"", "5"},                 /* 500 at scale 2 */
        {1, "3.14159", "{\"scale\":5,\"value\":\"BMsv\"}", "3.14159"},
        {1, "-100", "{\"scale\":0,\"value\":\"nA==\"}", "-100"},
        /* Debezium drops the fraction's trailing zeros, never the integer's */
        {1, "-0.000100", "{\"scale\":4,\"value\":\"/w==\"}", "-0.0001"},
        {1, "0.0", "{\"scale\":0,\"value\":\"AA==\"}", "0"},
        {1, "2.50", "{\"scale\":1,\"value\":\"GQ==\"}", "2.5"},
        {1, "NaN", "null", "\"NaN\""},
        {1, "123456789012345678901234567890", "{\"scale\":0,\"value\":\"AY7pD/bDc+DuTj8K0g==\"}",
         "1.2345678901234568e+29"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const sl_column *c = &s->cols[cases[i].col];
        char *p = render_text(c, SL_DECIMAL, cases[i].text, &precise), *d = render_text(c, SL_DECIMAL, cases[i].text, &dbl),
             *t = render_text(c, SL_DECIMAL, cases[i].text, &str);
        assert_string_equal(p, cases[i].precise);
        assert_string_equal(d, cases[i].dbl);
        assert_int_equal(strncmp(t + 1, cases[i].text, strlen(cases[i].text)), 0);
        free(p);
        free(d);
        free(t);
    }
    sl_schema_free(s);
}

/* interval.handling.mode, binary.handling.mode, time.precision.mode */
static void interval_binary_time_modes(void **state)
{
    sl_table_schema *s = table(4);
    set_col(&s->cols[0], "iv", "interval", SL_TEXTUAL);
    set_col(&s->cols[1], "b", "bytea", SL_BYTES);
    set_col(&s->cols[2], "t3", "time(3) without time zone", SL_TIME);
    s->cols[2].scale = 3;
    set_col(&s->cols[3], "t6", "time without time zone", SL_TIME);
    s->cols[3].scale = 6;
    sl_value_modes str = {0}, num = {.interval = SL_INTERVAL_NUMERIC};
    struct {
        const char *pg, *str, *num;
    } iv[] = {
        {"P1Y2M3DT4H5M6.5S", "\"P1Y2M3DT4H5M6.5S\"", "37091106500000"},
        {"PT0S", "\"P0Y0M0DT0H0M0S\"", "0"},
        {"P-1Y-2M3DT-4H-5M-6.789S", "\"P-1Y-2M3DT-4H-5M-6.789S\"", "-36572706789000"},
        {"PT-0.5S", "\"P0Y0M0DT0H0M-0.5S\"", "-500000"},
        {"P3M", "\"P0Y3M0DT0H0M0S\"", "7889400000000"},
    };
    for (size_t i = 0; i < sizeof iv / sizeof iv[0]; i++) {
        char *a = render_text(&s->cols[0], SL_TEXTUAL, iv[i].pg, &str), *n = render_text(&s->cols[0], SL_TEXTUAL, iv[i].pg, &num),
             *raw = render_text(&s->cols[0], SL_TEXTUAL, iv[i].pg, NULL);
        assert_string_equal(a, iv[i].str);
        assert_string_equal(n, iv[i].num);
        assert_int_equal(strncmp(raw + 1, iv[i].pg, strlen(iv[i].pg)), 0); /* sluice's own form: as printed */
        free(a);
        free(n);
        free(raw);
    }
    const char bytes[] = "\xfb\xff\x00";
    sl_value bv = sl_val_text(SL_BYTES, bytes, 3);
    const char *want[] = {"\"+/8A\"", "\"+/8A\"", "\"-_8A\"", "\"fbff00\""};
    for (uint8_t mode = SL_BINARY_BYTES; mode <= SL_BINARY_HEX; mode++) {
        sl_value_modes m = {.binary = mode};
        char *got = render(&s->cols[1], &bv, &m);
        assert_string_equal(got, want[mode]);
        free(got);
    }
    sl_value tv = {.kind = SL_TIME, .v.i = 43200123000};
    sl_value_modes adaptive = {.time_precision = SL_TIME_ADAPTIVE}, us = {.time_precision = SL_TIME_ADAPTIVE_US},
                   connect = {.time_precision = SL_TIME_CONNECT};
    char *a = render(&s->cols[2], &tv, &adaptive), *b = render(&s->cols[2], &tv, &us), *c = render(&s->cols[3], &tv, &adaptive),
         *d = render(&s->cols[3], &tv, &connect);
    assert_string_equal(a, "43200123");
    assert_string_equal(b, "43200123000");
    assert_string_equal(c, "43200123000");
    assert_string_equal(d, "43200123");
    free(a);
    free(b);
    free(c);
    free(d);
    sl_schema_free(s);
}

/* as Debezium prints and names them: timetz (ZonedTime) and a MySQL
 * snapshot row's TIMESTAMP (ZonedTimestamp) with the fraction's significant
 * digits only, a binlog TIMESTAMP with the column's; uuid named
 * io.debezium.data.Uuid; a domain over integer (OID 23 as its base) int32 */
static void zoned_uuid_domain(void **state)
{
    sl_table_schema *s = table(4);
    set_col(&s->cols[0], "tz", "time with time zone", SL_TEXTUAL);
    set_col(&s->cols[1], "ts", "timestamp(6)", SL_TIMESTAMP);
    s->cols[1].scale = 6;
    set_col(&s->cols[2], "u", "uuid", SL_STRING);
    s->cols[2].src_type = 2950;
    set_col(&s->cols[3], "dm", "posint", SL_INT);
    s->cols[3].src_type = 23;
    sl_value_modes m = {0};
    struct {
        const char *in, *out;
    } tz[] = {
        {"02:30:00.500000Z", "\"02:30:00.5Z\""},
        {"10:00:00.000000Z", "\"10:00:00Z\""},
        {"01:30:00.00Z", "\"01:30:00Z\""},
        {"23:59:59.99Z", "\"23:59:59.99Z\""},
        {"10:00:00Z", "\"10:00:00Z\""},
    };
    for (size_t i = 0; i < sizeof tz / sizeof tz[0]; i++) {
        char *got = render_text(&s->cols[0], SL_TEXTUAL, tz[i].in, &m);
        assert_string_equal(got, tz[i].out);
        free(got);
    }
    sl_value ts = {.kind = SL_TIMESTAMP, .v.i = 1609459200500000, .flags = SL_VF_ZONED_TRIM};
    char *snap = render(&s->cols[1], &ts, &m);
    ts.flags = 0;
    char *binlog = render(&s->cols[1], &ts, &m);
    ts.v.i = 1609459200000000;
    ts.flags = SL_VF_ZONED_TRIM;
    char *whole = render(&s->cols[1], &ts, &m);
    assert_string_equal(snap, "\"2021-01-01T00:00:00.5Z\"");
    assert_string_equal(binlog, "\"2021-01-01T00:00:00.500000Z\"");
    assert_string_equal(whole, "\"2021-01-01T00:00:00Z\"");
    free(snap);
    free(binlog);
    free(whole);
    sl_envelope_opts env = {.connector = "postgresql"};
    sl_buf b;
    sl_buf_init(&b);
    sl_connect_value_schema(&b, s, "p.public.t", &env, env.connector);
    sl_buf_addc(&b, 0);
    json_t *u = after_field(b.data, "u"), *dm = after_field(b.data, "dm");
    assert_string_equal(json_string_value(json_object_get(u, "name")), "io.debezium.data.Uuid");
    assert_int_equal(json_integer_value(json_object_get(u, "version")), 1);
    assert_string_equal(json_string_value(json_object_get(dm, "type")), "int32");
    json_decref(u);
    json_decref(dm);
    sl_buf_free(&b);
    sl_schema_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bigint_unsigned_modes),
        cmocka_unit_test(connect_schema_types),
        cmocka_unit_test(pg_source_origin),
        cmocka_unit_test(pg_source_commit_micros),
        cmocka_unit_test(arrays_and_infinity),
        cmocka_unit_test(decimal_modes),
        cmocka_unit_test(interval_binary_time_modes),
        cmocka_unit_test(zoned_uuid_domain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
