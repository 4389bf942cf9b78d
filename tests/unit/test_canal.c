/* test_canal.c — canal-json as Flink CDC's Kafka sink writes it, and the
 * CSV key format: exact text for every kind of value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/canal.h"
#include "../../sinks/kafka/kafka_flink_opts.h"

static sl_table_schema *table(void)
{
    const char *names[] = {"id", "name", "price", "born", "at", "seen", "t", "raw", "ok"};
    const uint8_t kinds[] = {SL_INT, SL_STRING, SL_DECIMAL, SL_DATE, SL_DATETIME, SL_TIMESTAMP, SL_TIME, SL_BYTES,
                             SL_BOOL};
    sl_table_schema *s = sl_schema_new("shop", NULL, "items", 9);
    for (int i = 0; i < 9; i++) {
        s->cols[i].name = strdup(names[i]);
        s->cols[i].kind = kinds[i];
    }
    s->cols[0].is_pk = s->cols[1].is_pk = 1;
    sl_schema_index_pk(s);
    return s;
}

static void row(sl_value *r, int64_t id, const char *name)
{
    memset(r, 0, 9 * sizeof *r);
    r[0] = sl_val_int(id);
    r[1] = sl_val_text(SL_STRING, name, (uint32_t)strlen(name));
    r[2] = sl_val_text(SL_DECIMAL, "-12.50", 6);
    r[3].kind = SL_DATE;
    r[3].v.i = sl_days_from_civil(2024, 2, 29);
    r[4].kind = SL_DATETIME;
    r[4].v.i = sl_days_from_civil(2024, 1, 2) * 86400000000LL + 3723500000LL;
    r[5].kind = SL_TIMESTAMP;
    r[5].v.i = sl_days_from_civil(1969, 12, 31) * 86400000000LL;
    r[6].kind = SL_TIME;
    r[6].v.i = 45296000001LL;
    r[7] = sl_val_text(SL_BYTES, "\x01\xff", 2);
    r[8].kind = SL_BOOL;
    r[8].v.i = 1;
}

/* dates before 1 AD and PostgreSQL's instants past INT64_MAX microseconds
 * (v.u): canal-json wrote "-043-03-15" and a bare integer */
static void canal_json_of_far_dates(void **state)
{
    sl_table_schema *s = table();
    sl_value r[9];
    row(r, 1, "x");
    r[3].v.i = sl_days_from_civil(-43, 3, 15);
    r[4].v.i = sl_days_from_civil(-4712, 1, 1) * 86400000000LL;
    r[5].flags = SL_VF_U64;
    r[5].v.u = (uint64_t)sl_days_from_civil(294276, 12, 31) * 86400000000ULL + 86399999999ULL;
    sl_event e = {.schema = s, .after = r, .op = SL_OP_CREATE};
    sl_buf b;
    sl_buf_init(&b);
    sl_canal_json(&b, &e);
    sl_buf_addc(&b, 0);
    assert_non_null(strstr(b.data, "\"born\":\"-0043-03-15\",\"at\":\"-4712-01-01 00:00:00\","
                                   "\"seen\":\"294276-12-31 23:59:59.999999Z\""));
    sl_buf_free(&b);
    sl_schema_free(s);
}

static void canal_json_of_each_operation(void **state)
{
    sl_table_schema *s = table();
    sl_value before[9], after[9];
    row(before, 7, "old");
    row(after, 7, "a \"b\"");
    after[2] = sl_val_null();
    sl_event e = {.schema = s, .before = before, .after = after, .op = SL_OP_UPDATE};
    sl_buf b;
    sl_buf_init(&b);
    sl_canal_json(&b, &e);
    sl_buf_addc(&b, 0);
    const char *fields_old = "{\"id\":7,\"name\":\"old\",\"price\":-12.50,\"born\":\"2024-02-29\","
                             "\"at\":\"2024-01-02 01:02:03.5\",\"seen\":\"1969-12-31 00:00:00Z\","
                             "\"t\":\"12:34:56.000001\",\"raw\":\"Af8=\",\"ok\":true}";
    char want[1024];
    snprintf(want, sizeof want,
             "{\"old\":[%s],\"data\":[{\"id\":7,\"name\":\"a \\\"b\\\"\",\"price\":null,\"born\":\"2024-02-29\","
             "\"at\":\"2024-01-02 01:02:03.5\",\"seen\":\"1969-12-31 00:00:00Z\",\"t\":\"12:34:56.000001\","
             "\"raw\":\"Af8=\",\"ok\":true}],\"type\":\"UPDATE\",\"database\":\"shop\",\"table\":\"items\","
             "\"pkNames\":[\"id\",\"name\"]}",
             fields_old);
    assert_string_equal(b.data, want);
    sl_buf_reset(&b);
    e.op = SL_OP_DELETE;
    e.after = NULL;
    sl_canal_json(&b, &e);
    sl_buf_addc(&b, 0);
    snprintf(want, sizeof want,
             "{\"old\":null,\"data\":[%s],\"type\":\"DELETE\",\"database\":\"shop\",\"table\":\"items\","
             "\"pkNames\":[\"id\",\"name\"]}",
             fields_old);
    assert_string_equal(b.data, want);
    sl_buf_free(&b);
    sl_schema_free(s);
}

static void csv_keys_quote_where_needed(void **state)
{
    sl_table_schema *s = table();
    sl_value r[9];
    row(r, 42, "a,\"b\"");
    sl_buf b;
    sl_buf_init(&b);
    sl_kafka_csv_key(&b, s, r);
    sl_buf_addc(&b, 0);
    assert_string_equal(b.data, "42,\"a,\"\"b\"\"\"");
    sl_buf_free(&b);
    sl_schema_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(canal_json_of_each_operation),
        cmocka_unit_test(canal_json_of_far_dates),
        cmocka_unit_test(csv_keys_quote_where_needed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
