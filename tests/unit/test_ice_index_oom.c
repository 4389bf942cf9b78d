/* test_ice_index_oom.c — the key index's rewrite maps when memory runs
 * out (realloc fails, linked with -Wl,--wrap=realloc): a map that could
 * not be marked is not left in the transaction to be committed (its
 * rewrite falls back, and a committed map would send keys to files the
 * table never got), and an abort whose reload of the marks fails still
 * reads every key through its map. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../sinks/iceberg/ice_sink.h"
#include "index_dir.h"

static int fail_realloc;
void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n) { return fail_realloc ? NULL : __real_realloc(p, n); }

static char dir[64];
static sl_err err;

static void remove_dir(void) { sl_test_remove_index_dir(dir); }

/* file 0 holds k at row 1 (committed); file 1 is the rewrite's output */
static ice_index *one_key(void)
{
    snprintf(dir, sizeof dir, "/tmp/sl-ice-oom-XXXXXX");
    assert_non_null(mkdtemp(dir));
    ice_index *x;
    assert_int_equal(ice_index_open(dir, &x, &err), 0);
    assert_int_equal(ice_index_file(x, "file:/w/0.parquet", &err), 0);
    assert_int_equal(ice_index_file(x, "file:/w/1.parquet", &err), 1);
    assert_int_equal(ice_index_put(x, "k", 1, (ice_loc){0, 1}, &err), 0);
    assert_int_equal(ice_index_commit(x, 1, &err), 0);
    return x;
}

static int remap_row_0_away(ice_index *x)
{
    ice_loc del = {0, 0};
    int32_t out = 1;
    int64_t rows = 1;
    return ice_index_remap(x, 0, 2, &del, 1, &out, &rows, 1, &err);
}

static void assert_at(ice_index *x, int32_t file, int64_t pos)
{
    ice_loc at;
    assert_int_equal(ice_index_get(x, "k", 1, &at, &err), 1);
    assert_int_equal(at.file, file);
    assert_int_equal(at.pos, pos);
}

static void a_map_that_cannot_be_marked_is_not_written(void **state)
{
    ice_index *x = one_key();
    /* k in a file numbered beyond the marks' room (so marking it grows
     * them), after a map of another file sized the value buffer */
    assert_int_equal(ice_index_put(x, "k", 1, (ice_loc){5000, 1}, &err), 0);
    ice_loc del = {0, 0};
    int32_t out = 1;
    int64_t rows = 1;
    assert_int_equal(ice_index_remap(x, 7, 2, &del, 1, &out, &rows, 1, &err), 0);
    fail_realloc = 1;
    int rc = ice_index_remap(x, 5000, 2, &del, 1, &out, &rows, 1, &err);
    fail_realloc = 0;
    assert_int_not_equal(rc, 0);
    assert_string_equal(err.msg, "out of memory");
    /* the epoch commits its file as written: k stays where it was */
    assert_int_equal(ice_index_commit(x, 2, &err), 0);
    assert_at(x, 5000, 1);
    ice_index_free(x);
    assert_int_equal(ice_index_open(dir, &x, &err), 0);
    assert_at(x, 5000, 1);
    ice_index_free(x);
    remove_dir();
}

static void an_abort_that_cannot_reload_the_marks_still_translates(void **state)
{
    ice_index *x = one_key();
    assert_int_equal(remap_row_0_away(x), 0);
    assert_int_equal(ice_index_commit(x, 2, &err), 0);
    assert_at(x, 1, 0);
    /* TRUNCATE forgets keys and maps, then its epoch fails */
    assert_int_equal(ice_index_clear(x, 0, &err), 0);
    fail_realloc = 1;
    ice_index_abort(x);
    fail_realloc = 0;
    assert_at(x, 1, 0);
    ice_index_free(x);
    remove_dir();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_map_that_cannot_be_marked_is_not_written),
        cmocka_unit_test(an_abort_that_cannot_reload_the_marks_still_translates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
