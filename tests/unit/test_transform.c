/* test_transform.c — the `transform:` and `route:` blocks applied to real
 * batches: which rows survive a filter, what a projection emits, where a
 * route sends a table, and the exact error when a rule cannot apply. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/route.h"
#include "../../pipeline/transform.h"

/* shop.orders (id INT, name VARCHAR, amount DECIMAL(8,2)) */
static sl_table_schema *orders_schema(void)
{
    sl_table_schema *s = sl_schema_new("shop", NULL, "orders", 3);
    const char *names[] = {"id", "name", "amount"};
    const uint8_t kinds[] = {SL_INT, SL_STRING, SL_DECIMAL};
    const char *types[] = {"int", "varchar(20)", "decimal(8,2)"};
    for (int i = 0; i < 3; i++) {
        s->cols[i].name = strdup(names[i]);
        s->cols[i].kind = kinds[i];
        s->cols[i].type_name = strdup(types[i]);
        s->cols[i].nullable = i != 0;
    }
    s->cols[1].precision = 20;
    s->cols[2].precision = 8;
    s->cols[2].scale = 2;
    s->cols[0].is_pk = 1;
    sl_schema_index_pk(s);
    return s;
}

static void add_row(sl_batch *b, const sl_table_schema *s, char op, int64_t id, const char *name, const char *amount)
{
    sl_event *e = sl_batch_add_event(b, op, s);
    sl_value *row = sl_batch_row(b, 3);
    row[0] = sl_val_int(id);
    row[1] = name ? sl_val_text(SL_STRING, name, (uint32_t)strlen(name)) : sl_val_null();
    row[2] = amount ? sl_val_text(SL_DECIMAL, amount, (uint32_t)strlen(amount)) : sl_val_null();
    if (op == SL_OP_DELETE)
        e->before = row;
    else
        e->after = row;
}

/* a batch of ids 1..n as snapshot reads */
static sl_batch *rows_1_to(const sl_table_schema *s, int n)
{
    sl_batch *b = sl_batch_new(NULL);
    static const char *names[] = {"ann", "bob", "cid", "dan", "eve"};
    for (int i = 1; i <= n; i++)
        add_row(b, s, SL_OP_READ, i, names[(i - 1) % 5], "10.00");
    b->commit_token = "{}";
    b->commit_count = b->count;
    return b;
}

static sl_transform def(const char *table, const char *projection, const char *filter)
{
    sl_transform d = {0};
    d.source_table = (char *)table;
    d.projection = (char *)projection;
    d.filter = (char *)filter;
    d.loc.file = "p.yaml";
    d.loc.line = 7;
    d.loc.col = 5;
    return d;
}

/* ids of the events left in the batch, as "1,2,3" */
static void ids(const sl_batch *b, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = 0;
    for (const sl_event *e = b->head; e; e = e->next) {
        const sl_value *row = e->after ? e->after : e->before;
        o += (size_t)snprintf(buf + o, len - o, "%s%lld", o ? "," : "", (long long)row[0].v.i);
    }
}

/* the transformer of the last apply(): it owns the output schemas the
 * batch's events point at, so it lives until the next apply() */
static sl_transformer *last_t;

static int apply(const sl_transform *d, size_t n, sl_batch *b, sl_err *err)
{
    sl_transformer_free(last_t);
    last_t = NULL;
    int rc = sl_transformer_new(d, n, &last_t, err);
    return rc ? rc : sl_transformer_apply(last_t, b, err);
}

static int teardown(void **state)
{
    sl_transformer_free(last_t);
    last_t = NULL;
    return 0;
}

static void filter_on_a_missing_column_is_an_error_not_silent_loss(void **state)
{
    sl_table_schema *s = orders_schema();
    sl_batch *b = rows_1_to(s, 3);
    sl_transform d = def("shop.orders", NULL, "amout > 5");
    sl_err err = {{0}};
    assert_int_equal(apply(&d, 1, b, &err), SL_ECONFIG);
    assert_string_equal(err.msg, "p.yaml:7:5: transform filter of table shop.orders: no column 'amout' "
                                 "(columns: id, name, amount) (at 'amout > 5')");
    sl_batch_free(b);
    sl_schema_free(s);
}

static void string_literal_compares_as_a_number_against_a_numeric_column(void **state)
{
    sl_table_schema *s = orders_schema();
    sl_batch *b = rows_1_to(s, 12);
    sl_transform d = def("shop.orders", NULL, "id > '10'");
    sl_err err = {{0}};
    assert_int_equal(apply(&d, 1, b, &err), 0);
    char got[128];
    ids(b, got, sizeof got);
    assert_string_equal(got, "11,12");
    assert_int_equal(b->count, 2);
    sl_batch_free(b);
    b = rows_1_to(s, 2);
    d = def("shop.orders", NULL, "id > 'ten'");
    assert_int_equal(apply(&d, 1, b, &err), SL_ECONFIG);
    assert_string_equal(err.msg, "p.yaml:7:5: transform filter of table shop.orders: cannot compare INT with "
                                 "'ten', which is not a number (at ''ten'')");
    sl_batch_free(b);
    sl_schema_free(s);
}

static void escaped_star_projects_every_column(void **state)
{
    sl_table_schema *s = orders_schema();
    sl_batch *b = rows_1_to(s, 2);
    sl_transform d = def("shop.orders", "\\*, name AS who", NULL);
    sl_err err = {{0}};
    assert_int_equal(apply(&d, 1, b, &err), 0);
    const sl_table_schema *out = b->head->schema;
    assert_int_equal(out->ncols, 4);
    assert_string_equal(out->cols[0].name, "id");
    assert_string_equal(out->cols[3].name, "who");
    assert_memory_equal(b->head->after[3].v.s, "ann", 3);
    sl_batch_free(b);
    sl_schema_free(s);
}

static void computed_and_metadata_columns_with_their_types(void **state)
{
    sl_table_schema *s = orders_schema();
    sl_batch *b = rows_1_to(s, 2);
    sl_transform d = def("shop.orders",
                         "id, UPPER(name) AS uname, amount * 2 AS twice, __table_name__ AS tbl, "
                         "__data_event_type__ AS op, id > 1 AS big",
                         "uname <> 'ANN'");
    sl_err err = {{0}};
    assert_int_equal(apply(&d, 1, b, &err), 0);
    assert_int_equal(b->count, 1);
    const sl_table_schema *out = b->head->schema;
    assert_int_equal(out->ncols, 6);
    const char *types[] = {"int", "string", "decimal(18,2)", "string", "string", "boolean"};
    const uint8_t kinds[] = {SL_INT, SL_STRING, SL_DECIMAL, SL_STRING, SL_STRING, SL_BOOL};
    for (int c = 0; c < 6; c++) {
        assert_string_equal(out->cols[c].type_name, types[c]);
        assert_int_equal(out->cols[c].kind, kinds[c]);
    }
    assert_int_equal(out->npk, 1);
    assert_string_equal(out->cols[out->pk[0]].name, "id");
    const sl_value *r = b->head->after;
    assert_int_equal(r[0].v.i, 2);
    assert_memory_equal(r[1].v.s, "BOB", 3);
    assert_int_equal(r[2].len, 5);
    assert_memory_equal(r[2].v.s, "20.00", 5);
    assert_memory_equal(r[3].v.s, "orders", 6);
    assert_memory_equal(r[4].v.s, "+I", 2);
    assert_int_equal(r[5].v.i, 1);
    sl_batch_free(b);
    sl_schema_free(s);
}

/* one event of each kind against `filter: amount >= 100` */
static void updates_leaving_or_entering_the_filter_become_deletes_or_inserts(void **state)
{
    sl_table_schema *s = orders_schema();
    sl_batch *b = sl_batch_new(NULL);
    const char *amounts[][2] = {{"150", "160"}, {"150", "50"}, {"50", "150"}, {"50", "60"}};
    for (int i = 0; i < 4; i++) {
        sl_event *e = sl_batch_add_event(b, SL_OP_UPDATE, s);
        sl_value *before = sl_batch_row(b, 3), *after = sl_batch_row(b, 3);
        before[0] = after[0] = sl_val_int(i + 1);
        before[1] = after[1] = sl_val_null();
        before[2] = sl_val_text(SL_DECIMAL, amounts[i][0], (uint32_t)strlen(amounts[i][0]));
        after[2] = sl_val_text(SL_DECIMAL, amounts[i][1], (uint32_t)strlen(amounts[i][1]));
        e->before = before;
        e->after = after;
    }
    b->commit_token = "{}";
    b->commit_count = b->count;
    sl_transform d = def("shop.orders", NULL, "amount >= 100");
    sl_err err = {{0}};
    assert_int_equal(apply(&d, 1, b, &err), 0);
    char got[64] = "";
    for (const sl_event *e = b->head; e; e = e->next) {
        const sl_value *row = e->after ? e->after : e->before;
        snprintf(got + strlen(got), sizeof got - strlen(got), "%c%lld%s%s ", e->op, (long long)row[0].v.i,
                 e->before ? "b" : "", e->after ? "a" : "");
    }
    assert_string_equal(got, "u1ba d2b c3a ");
    assert_int_equal(b->count, 3);
    assert_int_equal(b->commit_count, 3);
    sl_batch_free(b);
    sl_schema_free(s);
}

static void soft_delete_writes_the_deleted_row_as_an_insert(void **state)
{
    sl_table_schema *s = orders_schema();
    sl_batch *b = sl_batch_new(NULL);
    add_row(b, s, SL_OP_DELETE, 5, "eve", "10.00");
    sl_transform d = def("shop.orders", "\\*, __data_event_type__ AS op_type", NULL);
    d.converter = "SOFT_DELETE";
    sl_err err = {{0}};
    assert_int_equal(apply(&d, 1, b, &err), 0);
    assert_int_equal(b->head->op, SL_OP_CREATE);
    assert_null(b->head->before);
    assert_int_equal(b->head->after[0].v.i, 5);
    assert_memory_equal(b->head->after[3].v.s, "-D", 2);
    sl_batch_free(b);
    sl_schema_free(s);
}

static void evaluation_errors_name_the_place_table_and_cause(void **state)
{
    sl_table_schema *s = orders_schema();
    sl_batch *b = rows_1_to(s, 1);
    sl_transform d = def("shop.orders", "id, CAST(name AS TIMESTAMP) AS t", NULL);
    d.projection_loc = (sl_srcloc){"p.yaml", 9, 17};
    d.projection_inline = 1;
    sl_err err = {{0}};
    assert_int_equal(apply(&d, 1, b, &err), SL_ERUNTIME);
    assert_string_equal(err.msg, "p.yaml:9:21: transform projection of table shop.orders: cannot cast 'ann' "
                                 "(VARCHAR(20)) to TIMESTAMP(6) (at 'CAST(name AS TIMESTAMP) AS t')");
    sl_batch_free(b);
    /* a PostgreSQL value that was not sent cannot decide a filter */
    b = rows_1_to(s, 1);
    ((sl_value *)b->head->after)[1].kind = SL_UNCHANGED;
    d = def("shop.orders", NULL, "name = 'ann'");
    assert_int_equal(apply(&d, 1, b, &err), SL_ERUNTIME);
    assert_string_equal(err.msg, "transform filter of table shop.orders reads a column whose value PostgreSQL did "
                                 "not send (an unchanged TOASTed value); set REPLICA IDENTITY FULL on the table");
    sl_batch_free(b);
    sl_schema_free(s);
}

static void first_matching_rule_wins_and_star_columns_are_replaced_in_place(void **state)
{
    sl_table_schema *s = orders_schema();
    sl_batch *b = rows_1_to(s, 1);
    sl_transform d[2] = {def("shop.orders", "\\*, UPPER(name) AS name", NULL),
                         def("shop.\\.*", "id", NULL)};
    sl_err err = {{0}};
    assert_int_equal(apply(d, 2, b, &err), 0);
    const sl_table_schema *out = b->head->schema;
    assert_int_equal(out->ncols, 3);
    assert_string_equal(out->cols[1].name, "name");
    assert_string_equal(out->cols[1].type_name, "string");
    assert_memory_equal(b->head->after[1].v.s, "ANN", 3);
    sl_batch_free(b);
    sl_schema_free(s);
}

static void partition_keys_and_table_options_reach_sinks(void **state)
{
    sl_transform d[2] = {def("shop.orders", NULL, NULL), def("shop.\\.*", NULL, NULL)};
    d[0].partition_keys = "region, day";
    d[0].table_options = "a=1;b=2";
    d[0].table_options_delimiter = ";";
    d[1].table_options = "comment=all";
    sl_transformer *t;
    sl_err err;
    assert_int_equal(sl_transformer_new(d, 2, &t, &err), 0);
    sl_table_hints h;
    assert_int_equal(sl_transformer_hints(t, "shop", "orders", &h), 1);
    assert_string_equal(h.partition_keys, "region, day");
    assert_string_equal(h.table_options, "a=1;b=2");
    assert_string_equal(h.table_options_delimiter, ";");
    assert_int_equal(sl_transformer_hints(t, "shop", "items", &h), 1);
    assert_null(h.partition_keys);
    assert_string_equal(h.table_options, "comment=all");
    assert_string_equal(h.table_options_delimiter, ",");
    assert_int_equal(sl_transformer_hints(t, "crm", "leads", &h), 0);
    sl_transformer_free(t);
}

static void route_pattern_without_a_dot_matches_the_whole_table_id(void **state)
{
    sl_route r = {.source_table = "shop\\.*", .sink_table = "all.orders", .loc = {"p.yaml", 3, 5}};
    sl_route_table rt;
    sl_err err = {{0}};
    assert_int_equal(sl_route_table_init(&rt, &r, 1, &err), 0);
    sl_table_schema *s = orders_schema();
    char buf[128];
    assert_int_equal(sl_route_target(&rt, s, buf, sizeof buf), 1);
    assert_string_equal(buf, "all.orders");
    sl_route_table_free(&rt);
    sl_schema_free(s);
}

/* the sink-side names a table goes to, "a|b" */
static void targets(const sl_route_table *rt, const sl_table_schema *s, char *out, size_t len)
{
    char buf[256];
    size_t o = 0;
    out[0] = 0;
    for (size_t i = 0; sl_route_target_at(rt, s, i, buf, sizeof buf) >= 0; i++)
        o += (size_t)snprintf(out + o, len - o, "%s%s", i ? "|" : "", buf);
}

static void route_capture_groups_and_replace_symbol(void **state)
{
    sl_route r[] = {
        {.source_table = "sh(\\.*).ord(\\.*)", .sink_table = "sink_$1.t_$2_\\$", .loc = {"p.yaml", 3, 5}},
        {.source_table = "shop.orders, other.x", .sink_table = "ods.<>_v", .replace_symbol = "<>",
         .loc = {"p.yaml", 5, 5}},
    };
    sl_route_table rt;
    sl_err err = {{0}};
    assert_int_equal(sl_route_table_init(&rt, r, 2, &err), 0);
    sl_table_schema *s = orders_schema();
    char got[512];
    targets(&rt, s, got, sizeof got);
    assert_string_equal(got, "sink_op.t_ers_$|ods.orders_v");
    sl_table_schema *other = sl_schema_new("other", NULL, "y", 0);
    targets(&rt, other, got, sizeof got);
    assert_string_equal(got, "other.y");
    assert_int_equal(sl_route_target(&rt, other, got, sizeof got), 0);
    sl_schema_free(other);
    sl_route_table_free(&rt);
    sl_schema_free(s);
    sl_route bad = {.source_table = "shop.(", .sink_table = "x", .loc = {"p.yaml", 9, 5}};
    assert_int_equal(sl_route_table_init(&rt, &bad, 1, &err), SL_ECONFIG);
    assert_string_equal(err.msg, "p.yaml:9:5: route source-table 'shop.(' is not a valid regular expression: "
                                 "Unmatched ( or \\(");
}

static void overlapping_routes_go_to_every_match_unless_first_match(void **state)
{
    sl_route r[] = {
        {.source_table = "shop.orders", .sink_table = "a.one", .loc = {"p.yaml", 3, 5}},
        {.source_table = "shop\\.*", .sink_table = "a.two", .loc = {"p.yaml", 5, 5}},
    };
    sl_route_table rt;
    sl_err err = {{0}};
    assert_int_equal(sl_route_table_init(&rt, r, 2, &err), 0);
    sl_table_schema *s = orders_schema();
    char got[512];
    targets(&rt, s, got, sizeof got);
    assert_string_equal(got, "a.one|a.two");
    rt.first_match = 1;
    targets(&rt, s, got, sizeof got);
    assert_string_equal(got, "a.one");
    sl_route_table_free(&rt);
    sl_schema_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(filter_on_a_missing_column_is_an_error_not_silent_loss, teardown),
        cmocka_unit_test_teardown(string_literal_compares_as_a_number_against_a_numeric_column, teardown),
        cmocka_unit_test_teardown(escaped_star_projects_every_column, teardown),
        cmocka_unit_test_teardown(computed_and_metadata_columns_with_their_types, teardown),
        cmocka_unit_test_teardown(updates_leaving_or_entering_the_filter_become_deletes_or_inserts, teardown),
        cmocka_unit_test_teardown(soft_delete_writes_the_deleted_row_as_an_insert, teardown),
        cmocka_unit_test_teardown(evaluation_errors_name_the_place_table_and_cause, teardown),
        cmocka_unit_test_teardown(first_matching_rule_wins_and_star_columns_are_replaced_in_place, teardown),
        cmocka_unit_test_teardown(partition_keys_and_table_options_reach_sinks, teardown),
        cmocka_unit_test_teardown(route_pattern_without_a_dot_matches_the_whole_table_id, teardown),
        cmocka_unit_test_teardown(route_capture_groups_and_replace_symbol, teardown),
        cmocka_unit_test_teardown(overlapping_routes_go_to_every_match_unless_first_match, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
