/* test_ice_expire.c — which snapshots the iceberg sink's expiration keeps
 * (sinks/iceberg/ice_expire.c): at least min-keep of the newest, then every
 * one no older than the cutoff, and nothing past the first older one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../sinks/iceberg/ice_expire.h"

static void snapshots_older_than_the_cutoff_go(void **state)
{
    (void)state;
    int64_t ts[] = {900, 800, 700, 600, 500};
    assert_int_equal(ice_expire_keep(ts, 5, 1, 650), 3);
    assert_int_equal(ice_expire_keep(ts, 5, 1, 700), 3);
    assert_int_equal(ice_expire_keep(ts, 5, 1, 0), 5);
}

static void min_keep_holds_old_snapshots(void **state)
{
    (void)state;
    int64_t ts[] = {900, 800, 700, 600, 500};
    /* all are older than the cutoff: the newest min-keep stay */
    assert_int_equal(ice_expire_keep(ts, 5, 1, 1000), 1);
    assert_int_equal(ice_expire_keep(ts, 5, 4, 1000), 4);
    assert_int_equal(ice_expire_keep(ts, 5, 9, 1000), 5);
}

static void the_kept_snapshots_are_one_unbroken_run(void **state)
{
    (void)state;
    /* a clock step back makes an old snapshot look new: it still goes, as
     * everything past the first one older than the cutoff */
    int64_t ts[] = {900, 800, 100, 850, 700};
    assert_int_equal(ice_expire_keep(ts, 5, 1, 650), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(snapshots_older_than_the_cutoff_go),
        cmocka_unit_test(min_keep_holds_old_snapshots),
        cmocka_unit_test(the_kept_snapshots_are_one_unbroken_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
