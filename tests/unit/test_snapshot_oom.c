/* test_snapshot_oom.c — the snapshot coordinator out of memory while it
 * hands out a chunk (snapshot/coordinator.c take_chunk): the call fails,
 * and the chunk it could not record stays where it was, so the next call
 * hands out the same key range. (Before, the table's cursor had moved past
 * the range when recording it in flight failed: a checkpoint then held a
 * range that was in neither the cursor nor the in-flight list.) realloc and
 * strdup are replaced in this binary by versions that fail on request;
 * under a sanitizer (whose runtime owns both) the test is skipped. */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../snapshot/coordinator.h"
#include "../../snapshot/snapshot.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif

#ifndef SANITIZED
static int fail_realloc, fail_strdup;

void *realloc(void *p, size_t n)
{
    static void *(*real)(void *, size_t);
    if (fail_realloc)
        return NULL;
    if (!real)
        real = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
    return real(p, n);
}

char *strdup(const char *s)
{
    if (fail_strdup)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    return d ? memcpy(d, s, n) : NULL;
}

/* two chunks: [start, 5) and [5, end) */
static int split_at_5(void *ctx, sl_snap_table *t, const char *lo, char **hi, sl_err *err)
{
    int f = fail_strdup;
    fail_strdup = 0; /* the source's own split is not what is tested */
    *hi = lo ? NULL : strdup("[\"s:5\"]");
    fail_strdup = f;
    return 0;
}

static void out_of_memory_keeps_the_range_for_the_next_take(void **state)
{
    sl_table_schema *s = sl_schema_new("db", "public", "t", 1);
    s->cols[0].name = strdup("id");
    s->cols[0].type_name = strdup("integer");
    s->cols[0].kind = SL_INT;
    s->cols[0].is_pk = 1;
    sl_schema_index_pk(s);
    sl_snapshot snap;
    sl_err err;
    sl_snapshot_init(&snap, 5, 1, (sl_pos){100, 0, 0});
    int key = 0;
    assert_int_equal(sl_snapshot_add_table(&snap, s->qualified, s, &key, 1, 10, &err), 0);

    /* recording the first chunk in flight fails */
    sl_snap_chunk c = {0};
    fail_realloc = 1;
    assert_true(sl_snapshot_next_chunk(&snap, &c, split_at_5, NULL, &err) < 0);
    fail_realloc = 0;
    assert_string_equal(err.msg, "out of memory taking a snapshot chunk");
    assert_int_equal(snap.ninflight, 0);
    assert_int_equal(sl_snapshot_next_chunk(&snap, &c, split_at_5, NULL, &err), 1);
    assert_int_equal(c.seq, 0);
    assert_null(c.lo);
    assert_string_equal(c.hi, "[\"s:5\"]");
    sl_snap_chunk_free(&c);

    /* copying the second chunk's bounds fails */
    fail_strdup = 1;
    assert_true(sl_snapshot_next_chunk(&snap, &c, split_at_5, NULL, &err) < 0);
    fail_strdup = 0;
    assert_int_equal(snap.ninflight, 1);
    assert_int_equal(sl_snapshot_next_chunk(&snap, &c, split_at_5, NULL, &err), 1);
    assert_int_equal(c.seq, 1);
    assert_string_equal(c.lo, "[\"s:5\"]");
    assert_null(c.hi);
    sl_snap_chunk_free(&c);
    assert_int_equal(snap.ninflight, 2);
    assert_int_equal(sl_snapshot_next_chunk(&snap, &c, split_at_5, NULL, &err), 0);
    sl_snapshot_free(&snap);
    sl_schema_free(s);
}

#endif

int main(void)
{
#ifdef SANITIZED
    return 0;
#else
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(out_of_memory_keeps_the_range_for_the_next_take),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
#endif
}
