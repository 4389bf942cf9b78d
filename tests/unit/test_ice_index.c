/* test_ice_index.c — the iceberg sink's primary key -> (data file, row)
 * index (sinks/iceberg/ice_index.c): keys found after growth and
 * tombstones, a delete forgets only its key, a re-put moves a key, clear
 * forgets everything, file names are interned once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "../../sinks/iceberg/ice_sink.h"

static int key(char *buf, int i) { return snprintf(buf, 32, "k%d", i); }

static void keys_survive_growth_and_deletes(void **state)
{
    ice_index *x = ice_index_new();
    assert_non_null(x);
    int32_t f0 = ice_index_file(x, "file:/w/a.parquet"), f1 = ice_index_file(x, "file:/w/b.parquet");
    assert_int_equal(f0, 0);
    assert_int_equal(f1, 1);
    assert_int_equal(ice_index_file(x, "file:/w/a.parquet"), 0);
    assert_string_equal(ice_index_file_name(x, f1), "file:/w/b.parquet");
    char k[32];
    enum { N = 50000 };
    for (int i = 0; i < N; i++)
        assert_int_equal(ice_index_put(x, k, (size_t)key(k, i), (ice_loc){i & 1, i}), 0);
    assert_int_equal(ice_index_count(x), N);
    /* every other key deleted, then every fourth put back elsewhere */
    for (int i = 0; i < N; i += 2)
        assert_int_equal(ice_index_del(x, k, (size_t)key(k, i)), 1);
    assert_int_equal(ice_index_del(x, "nope", 4), 0);
    for (int i = 0; i < N; i += 4)
        assert_int_equal(ice_index_put(x, k, (size_t)key(k, i), (ice_loc){1, -i}), 0);
    /* more puts: growth rehashes over tombstones */
    for (int i = N; i < 2 * N; i++)
        assert_int_equal(ice_index_put(x, k, (size_t)key(k, i), (ice_loc){0, i}), 0);
    for (int i = 0; i < 2 * N; i++) {
        ice_loc loc;
        int live = ice_index_get(x, k, (size_t)key(k, i), &loc);
        if (i < N && i % 4 == 2) {
            assert_int_equal(live, 0);
        } else if (i < N && i % 4 == 0) {
            assert_int_equal(live, 1);
            assert_int_equal(loc.file, 1);
            assert_int_equal(loc.pos, -i);
        } else {
            assert_int_equal(live, 1);
            assert_int_equal(loc.pos, i);
        }
    }
    assert_int_equal(ice_index_count(x), N / 2 + N / 4 + N);
    ice_index_clear(x);
    assert_int_equal(ice_index_count(x), 0);
    ice_loc loc;
    assert_int_equal(ice_index_get(x, "k1", 2, &loc), 0);
    assert_int_equal(ice_index_put(x, "k1", 2, (ice_loc){0, 7}), 0);
    assert_int_equal(ice_index_get(x, "k1", 2, &loc), 1);
    assert_int_equal(loc.pos, 7);
    ice_index_free(x);
}

static void keys_differ_by_bytes_not_by_prefix(void **state)
{
    ice_index *x = ice_index_new();
    ice_loc loc;
    assert_int_equal(ice_index_put(x, "ab", 2, (ice_loc){0, 1}), 0);
    assert_int_equal(ice_index_put(x, "ab\0", 3, (ice_loc){0, 2}), 0);
    assert_int_equal(ice_index_get(x, "a", 1, &loc), 0);
    assert_int_equal(ice_index_get(x, "ab\0", 3, &loc), 1);
    assert_int_equal(loc.pos, 2);
    assert_int_equal(ice_index_get(x, "ab", 2, &loc), 1);
    assert_int_equal(loc.pos, 1);
    ice_index_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys_survive_growth_and_deletes),
        cmocka_unit_test(keys_differ_by_bytes_not_by_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
