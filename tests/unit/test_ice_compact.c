/* test_ice_compact.c — the choices of the iceberg sink's compaction
 * (sinks/iceberg/ice_compact.c): which small manifests a size-tiered
 * compaction takes, and when a file's position deletes make it due; and
 * the sort of position deletes that compaction and the epoch's commit walk
 * (ice_loc_sort, ice_commit.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../sinks/iceberg/ice_compact.h"
#include "../../sinks/iceberg/ice_sink.h"

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

static int ref_order(const void *a, const void *b)
{
    const ice_loc *x = a, *y = b;
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* n deletes in `runs` ascending runs (values drawn so runs interleave, with
 * repeats), sorted by ice_loc_sort and compared with qsort's order */
static void sort_matches_qsort(size_t n, size_t runs, unsigned seed)
{
    ice_loc *v = calloc(n + 1, sizeof *v), *want = calloc(n + 1, sizeof *want);
    assert_non_null(v);
    assert_non_null(want);
    srand(seed);
    size_t per = runs ? (n + runs - 1) / runs : n;
    for (size_t i = 0; i < n; i++) {
        if (i % per == 0)
            v[i] = (ice_loc){rand() % 3, rand() % 50};
        else
            v[i] = (ice_loc){v[i - 1].file + (rand() % 8 == 0), v[i - 1].pos + rand() % 4};
    }
    memcpy(want, v, n * sizeof *v);
    qsort(want, n, sizeof *want, ref_order);
    ice_loc_sort(v, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(v[i].file, want[i].file);
        assert_int_equal(v[i].pos, want[i].pos);
    }
    free(v);
    free(want);
}

static void position_deletes_sort_in_runs_and_beyond(void **state)
{
    sort_matches_qsort(0, 1, 1);
    sort_matches_qsort(1, 1, 1);
    sort_matches_qsort(1000, 1, 2);   /* sorted: left as it is */
    sort_matches_qsort(1000, 2, 3);   /* an UPDATE's and a DELETE's */
    sort_matches_qsort(1001, 3, 4);   /* an odd run out */
    sort_matches_qsort(5000, 63, 5);
    sort_matches_qsort(5000, 64, 6);
    sort_matches_qsort(5000, 65, 7);  /* past the run limit: qsort */
    sort_matches_qsort(3000, 3000, 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(equal_small_files_are_all_taken),
        cmocka_unit_test(a_big_file_waits_until_the_small_ones_add_up_to_half_of_it),
        cmocka_unit_test(tiers_stop_at_the_first_gap),
        cmocka_unit_test(delete_ratio),
        cmocka_unit_test(position_deletes_sort_in_runs_and_beyond),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
