/* test_metrics.c — the metrics registry's text exposition (core/metrics.c):
 * families with HELP and TYPE, labels escaped, counters adding up,
 * histograms with cumulative buckets, nothing for undeclared names, and
 * a NULL registry accepting every call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/metrics.h"

static char *render(sl_metrics *m)
{
    size_t len = 0;
    char *s = sl_metrics_render(m, &len);
    assert_non_null(s);
    assert_int_equal(strlen(s), len);
    return s;
}

static void counters_and_gauges_with_labels(void **state)
{
    (void)state;
    sl_metrics *m = sl_metrics_new();
    sl_metrics_declare(m, "x_events_total", SL_METRIC_COUNTER, "Events.", NULL, 0);
    sl_metrics_declare(m, "x_lag", SL_METRIC_GAUGE, "Lag.", NULL, 0);
    sl_metrics_declare(m, "x_unused", SL_METRIC_GAUGE, "Never set.", NULL, 0);
    const char *a[] = {"table", "db.t", "op", "insert", NULL};
    const char *b[] = {"table", "we\"ird\\na\nme", NULL};
    sl_metrics_add(m, "x_events_total", a, 2);
    sl_metrics_add(m, "x_events_total", a, 3);
    sl_metrics_add(m, "x_events_total", b, 1);
    sl_metrics_set(m, "x_lag", NULL, 1.5);
    sl_metrics_set(m, "x_lag", NULL, 0.25);
    sl_metrics_set(m, "x_undeclared", NULL, 7);
    char *s = render(m);
    assert_string_equal(s, "# HELP x_events_total Events.\n"
                           "# TYPE x_events_total counter\n"
                           "x_events_total{table=\"db.t\",op=\"insert\"} 5\n"
                           "x_events_total{table=\"we\\\"ird\\\\na\\nme\"} 1\n"
                           "# HELP x_lag Lag.\n"
                           "# TYPE x_lag gauge\n"
                           "x_lag 0.25\n");
    free(s);
    sl_metrics_free(m);
}

static void histogram_buckets_are_cumulative(void **state)
{
    (void)state;
    sl_metrics *m = sl_metrics_new();
    const double bounds[] = {0.1, 1};
    sl_metrics_declare(m, "x_seconds", SL_METRIC_HISTOGRAM, "Durations.", bounds, 2);
    sl_metrics_observe(m, "x_seconds", NULL, 0.05);
    sl_metrics_observe(m, "x_seconds", NULL, 0.1);
    sl_metrics_observe(m, "x_seconds", NULL, 0.5);
    sl_metrics_observe(m, "x_seconds", NULL, 3);
    char *s = render(m);
    assert_string_equal(s, "# HELP x_seconds Durations.\n"
                           "# TYPE x_seconds histogram\n"
                           "x_seconds_bucket{le=\"0.1\"} 2\n"
                           "x_seconds_bucket{le=\"1\"} 3\n"
                           "x_seconds_bucket{le=\"+Inf\"} 4\n"
                           "x_seconds_sum 3.6499999999999999\n"
                           "x_seconds_count 4\n");
    free(s);
    sl_metrics_free(m);
}

static int renders;
static void on_render(void *ctx, sl_metrics *m)
{
    renders++;
    sl_metrics_set(m, "x_age", NULL, *(double *)ctx);
}

static void render_hook_sets_clock_values(void **state)
{
    (void)state;
    sl_metrics *m = sl_metrics_new();
    double age = 42;
    sl_metrics_declare(m, "x_age", SL_METRIC_GAUGE, "Age.", NULL, 0);
    sl_metrics_on_render(m, on_render, &age);
    char *s = render(m);
    assert_non_null(strstr(s, "\nx_age 42\n"));
    free(s);
    assert_int_equal(renders, 1);
    sl_metrics_free(m);
}

static void null_registry_is_off(void **state)
{
    (void)state;
    sl_metrics_declare(NULL, "x", SL_METRIC_GAUGE, "X.", NULL, 0);
    sl_metrics_set(NULL, "x", NULL, 1);
    sl_metrics_add(NULL, "x", NULL, 1);
    sl_metrics_observe(NULL, "x", NULL, 1);
    sl_metrics_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counters_and_gauges_with_labels),
        cmocka_unit_test(histogram_buckets_are_cumulative),
        cmocka_unit_test(render_hook_sets_clock_values),
        cmocka_unit_test(null_registry_is_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
