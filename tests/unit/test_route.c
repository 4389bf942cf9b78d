/* test_route.c — which sink name a source table gets (core/route.c): the
 * first matching route wins, replace-symbol stands for the table name,
 * unrouted tables keep "namespace.table", and a bad pattern names the
 * route's place in the file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../../core/route.h"

typedef struct named {
    char name[96];
    int routed;
} named;

static named target(const sl_route_table *t, const char *db, const char *schema, const char *table, size_t len)
{
    named n;
    sl_table_schema *s = sl_schema_new(db, schema, table, 0);
    assert_non_null(s);
    assert_true(len <= sizeof n.name);
    n.routed = sl_route_target(t, s, n.name, len);
    sl_schema_free(s);
    return n;
}

static void first_matching_route_wins(void **state)
{
    const sl_route routes[] = {
        {.source_table = "shop.orders", .sink_table = "ods.orders_v2"},
        {.source_table = "shop.\\.*", .sink_table = "ods.all_shop"},
        {.source_table = "shop.orders,crm.leads", .sink_table = "ods.listed"},
    };
    sl_route_table t;
    sl_err err;
    assert_int_equal(sl_route_table_init(&t, routes, 3, &err), 0);
    /* orders matches all three routes */
    named n = target(&t, "shop", NULL, "orders", sizeof n.name);
    assert_int_equal(n.routed, 1);
    assert_string_equal(n.name, "ods.orders_v2");
    n = target(&t, "shop", NULL, "users", sizeof n.name);
    assert_int_equal(n.routed, 1);
    assert_string_equal(n.name, "ods.all_shop");
    /* every pattern of a comma-separated source-table matches */
    n = target(&t, "crm", NULL, "leads", sizeof n.name);
    assert_int_equal(n.routed, 1);
    assert_string_equal(n.name, "ods.listed");
    /* a pattern matches whole names only */
    n = target(&t, "shopping", NULL, "orders", sizeof n.name);
    assert_int_equal(n.routed, 0);
    assert_string_equal(n.name, "shopping.orders");
    sl_route_table_free(&t);
}

static void replace_symbol_stands_for_the_table(void **state)
{
    const sl_route routes[] = {
        {.source_table = "shop.\\.*", .sink_table = "ods.<>_v<>", .replace_symbol = "<>"},
        {.source_table = "public.\\.*", .sink_table = "pg_{t}", .replace_symbol = "{t}"},
        /* without replace-symbol the text is taken as written */
        {.source_table = "crm.\\.*", .sink_table = "ods.<>"},
    };
    sl_route_table t;
    sl_err err;
    assert_int_equal(sl_route_table_init(&t, routes, 3, &err), 0);
    named n = target(&t, "shop", NULL, "orders", sizeof n.name);
    assert_string_equal(n.name, "ods.orders_vorders");
    /* PostgreSQL tables match by schema, not database */
    n = target(&t, "appdb", "public", "items", sizeof n.name);
    assert_int_equal(n.routed, 1);
    assert_string_equal(n.name, "pg_items");
    n = target(&t, "crm", NULL, "leads", sizeof n.name);
    assert_string_equal(n.name, "ods.<>");
    /* a short buffer is cut, never overrun */
    n = target(&t, "shop", NULL, "orders", 8);
    assert_string_equal(n.name, "ods.ord");
    n = target(&t, "shop", NULL, "orders", 12);
    assert_string_equal(n.name, "ods.orders_");
    sl_route_table_free(&t);
}

static void unrouted_tables_keep_their_names(void **state)
{
    named n = target(NULL, "shop", NULL, "orders", sizeof n.name);
    assert_int_equal(n.routed, 0);
    assert_string_equal(n.name, "shop.orders");
    n = target(NULL, "appdb", "public", "items", sizeof n.name);
    assert_int_equal(n.routed, 0);
    assert_string_equal(n.name, "public.items");
    sl_route_table t;
    sl_err err;
    assert_int_equal(sl_route_table_init(&t, NULL, 0, &err), 0);
    n = target(&t, "shop", NULL, "orders", sizeof n.name);
    assert_int_equal(n.routed, 0);
    assert_string_equal(n.name, "shop.orders");
    sl_route_table_free(&t);
}

static void bad_patterns_name_the_route(void **state)
{
    /* Flink matches a pattern without '.' against the whole table id, so
     * only a malformed regular expression is refused */
    sl_route routes[] = {
        {.source_table = "shop.orders", .sink_table = "a", .loc = {"p.yaml", 12, 5}},
        {.source_table = "shop.(", .sink_table = "b", .loc = {"p.yaml", 14, 5}},
    };
    sl_route_table t;
    sl_err err;
    assert_int_equal(sl_route_table_init(&t, routes, 2, &err), SL_ECONFIG);
    assert_non_null(strstr(err.msg, "p.yaml:14:5: route source-table 'shop.(' is not a valid regular expression: "));
    assert_null(t.match);
    assert_int_equal(t.n, 0);
    /* stacked quantifiers: glibc's regcomp took gigabytes for 'H++++...'
     * (found by fuzz_config); refused with the place and the fix */
    sl_route stacked[] = {{.source_table = "shop.order_[0-9]++", .sink_table = "c", .loc = {"p.yaml", 20, 7}}};
    assert_int_equal(sl_route_table_init(&t, stacked, 1, &err), SL_ECONFIG);
    assert_string_equal(err.msg, "p.yaml:20:7: route source-table 'shop.order_[0-9]++' stacks repetitions (a second "
                                 "quantifier at offset 17), which the regex engine expands without bound; write one "
                                 "repetition ('a+' for 'a++')");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_matching_route_wins),
        cmocka_unit_test(replace_symbol_stands_for_the_table),
        cmocka_unit_test(unrouted_tables_keep_their_names),
        cmocka_unit_test(bad_patterns_name_the_route),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
