/* test_ice_pathset.c — the path set the iceberg sink's maintenance
 * (expiration, orphan removal) decides with (sinks/iceberg/ice_pathset.c):
 * a path added twice is one entry, and lookups after the seal find exactly
 * what was added. A lookup that misses a live file would delete it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "../../sinks/iceberg/ice_pathset.h"

static void lookups_find_what_was_added_and_nothing_else(void **state)
{
    (void)state;
    ice_pathset s = {0};
    sl_err err;
    const char *in[] = {"/w/t/data/b.parquet", "/w/t/data/a.parquet", "/w/t/metadata/m.avro", "/w/t/data/a.parquet"};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(ice_pathset_add(&s, in[i], &err), 0);
    ice_pathset_seal(&s);
    assert_int_equal(s.n, 3);
    for (size_t i = 0; i < 4; i++)
        assert_true(ice_pathset_has(&s, in[i]));
    assert_false(ice_pathset_has(&s, "/w/t/data/a.parquet2"));
    assert_false(ice_pathset_has(&s, "/w/t/data/"));
    assert_false(ice_pathset_has(&s, ""));
    ice_pathset_free(&s);
    assert_false(ice_pathset_has(&s, "/w/t/data/a.parquet"));
}

static void many_repeats_leave_one_of_each(void **state)
{
    (void)state;
    ice_pathset s = {0};
    sl_err err;
    char p[32];
    for (int i = 0; i < 3000; i++) {
        snprintf(p, sizeof p, "f%04d", i % 1000);
        assert_int_equal(ice_pathset_add(&s, p, &err), 0);
    }
    ice_pathset_seal(&s);
    assert_int_equal(s.n, 1000);
    for (int i = 0; i < 1000; i++) {
        snprintf(p, sizeof p, "f%04d", i);
        assert_true(ice_pathset_has(&s, p));
    }
    ice_pathset_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lookups_find_what_was_added_and_nothing_else),
        cmocka_unit_test(many_repeats_leave_one_of_each),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
