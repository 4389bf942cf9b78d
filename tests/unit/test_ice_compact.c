/* test_ice_compact.c — the choices of the iceberg sink's compaction
 * (sinks/iceberg/ice_compact.c): which small manifests a size-tiered
 * compaction takes, and when a file's position deletes make it due. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../sinks/iceberg/ice_compact.h"

static void equal_small_files_are_all_taken(void **state)
{
    int64_t b[] = {100, 120, 90, 110, 100};
    int c[5];
    ice_compact_tier(b, 5, c);
    for (int i = 0; i < 5; i++)
        assert_int_equal(c[i], 1);
}

static void a_big_file_waits_until_the_small_ones_add_up_to_half_of_it(void **state)
{
    /* 4 x 100 = 400 before it: 1000 > 800, it stays */
    int64_t b[] = {1000, 100, 100, 100, 100};
    int c[5];
    ice_compact_tier(b, 5, c);
    assert_int_equal(c[0], 0);
    for (int i = 1; i < 5; i++)
        assert_int_equal(c[i], 1);
    /* 5 x 100 = 500: 1000 <= 1000, it joins */
    int64_t b2[] = {100, 1000, 100, 100, 100, 100};
    int c2[6];
    ice_compact_tier(b2, 6, c2);
    for (int i = 0; i < 6; i++)
        assert_int_equal(c2[i], 1);
}

static void tiers_stop_at_the_first_gap(void **state)
{
    /* 10, 10 (sum 20), then 100 > 40: neither 100 nor 150 joins */
    int64_t b[] = {150, 10, 100, 10};
    int c[4];
    ice_compact_tier(b, 4, c);
    assert_int_equal(c[0], 0);
    assert_int_equal(c[1], 1);
    assert_int_equal(c[2], 0);
    assert_int_equal(c[3], 1);
    ice_compact_tier(b, 0, c);
}

static void delete_ratio(void **state)
{
    assert_int_equal(ice_compact_ratio_due(100, 0, 0.3), 0);
    assert_int_equal(ice_compact_ratio_due(100, 29, 0.3), 0);
    assert_int_equal(ice_compact_ratio_due(100, 30, 0.3), 1);
    assert_int_equal(ice_compact_ratio_due(100, 100, 1.0), 1);
    assert_int_equal(ice_compact_ratio_due(5, 5, 1.0), 1);
    assert_int_equal(ice_compact_ratio_due(0, 0, 0.3), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(equal_small_files_are_all_taken),
        cmocka_unit_test(a_big_file_waits_until_the_small_ones_add_up_to_half_of_it),
        cmocka_unit_test(tiers_stop_at_the_first_gap),
        cmocka_unit_test(delete_ratio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
