/* test_ice_index.c — the iceberg sink's primary key -> (data file, row)
 * index on disk (sinks/iceberg/ice_index.c, LMDB): a delete forgets only
 * its key, a re-put moves a key, clear forgets everything, file names are
 * interned once; the tag is what the last commit wrote, an aborted epoch
 * leaves the index as it was, a reopened index keeps its keys and tag;
 * keys longer than LMDB allows work; swap and take hand back where a key
 * was; a nested transaction's changes join the epoch's or go alone. */
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

static int key(char *buf, int i) { return snprintf(buf, 32, "k%d", i); }

static char dir[64];
static sl_err err;

static ice_index *open_fresh(void)
{
    snprintf(dir, sizeof dir, "/tmp/sl-ice-index-XXXXXX");
    assert_non_null(mkdtemp(dir));
    ice_index *x;
    assert_int_equal(ice_index_open(dir, &x, &err), 0);
    return x;
}

static void remove_dir(void)
{
    char p[128];
    snprintf(p, sizeof p, "%s/data.mdb", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/lock.mdb", dir);
    unlink(p);
    rmdir(dir);
}

static void keys_survive_growth_and_deletes(void **state)
{
    ice_index *x = open_fresh();
    assert_int_equal(ice_index_tag(x), -1);
    int32_t f0 = ice_index_file(x, "file:/w/a.parquet", &err), f1 = ice_index_file(x, "file:/w/b.parquet", &err);
    assert_int_equal(f0, 0);
    assert_int_equal(f1, 1);
    assert_int_equal(ice_index_file(x, "file:/w/a.parquet", &err), 0);
    sl_buf name;
    sl_buf_init(&name);
    assert_string_equal(ice_index_file_name(x, f1, &name), "file:/w/b.parquet");
    char k[32];
    enum { N = 50000 };
    for (int i = 0; i < N; i++)
        assert_int_equal(ice_index_put(x, k, (size_t)key(k, i), (ice_loc){i & 1, i}, &err), 0);
    assert_int_equal(ice_index_count(x), N);
    /* every other key deleted, then every fourth put back elsewhere */
    for (int i = 0; i < N; i += 2)
        assert_int_equal(ice_index_del(x, k, (size_t)key(k, i), &err), 1);
    assert_int_equal(ice_index_del(x, "nope", 4, &err), 0);
    for (int i = 0; i < N; i += 4)
        assert_int_equal(ice_index_put(x, k, (size_t)key(k, i), (ice_loc){1, -i}, &err), 0);
    /* more puts: growth rehashes over tombstones */
    for (int i = N; i < 2 * N; i++)
        assert_int_equal(ice_index_put(x, k, (size_t)key(k, i), (ice_loc){0, i}, &err), 0);
    for (int i = 0; i < 2 * N; i++) {
        ice_loc loc;
        int live = ice_index_get(x, k, (size_t)key(k, i), &loc, &err);
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
    /* committed with a tag, the keys survive a reopen */
    assert_int_equal(ice_index_commit(x, 42, &err), 0);
    assert_int_equal(ice_index_tag(x), 42);
    ice_index_free(x);
    assert_int_equal(ice_index_open(dir, &x, &err), 0);
    assert_int_equal(ice_index_tag(x), 42);
    assert_int_equal(ice_index_count(x), N / 2 + N / 4 + N);
    assert_string_equal(ice_index_file_name(x, f1, &name), "file:/w/b.parquet");
    /* an aborted epoch leaves keys, files and tag as they were */
    ice_loc loc;
    assert_int_equal(ice_index_del(x, "k1", 2, &err), 1);
    assert_int_equal(ice_index_file(x, "file:/w/c.parquet", &err), 2);
    ice_index_abort(x);
    assert_int_equal(ice_index_get(x, "k1", 2, &loc, &err), 1);
    assert_int_equal(ice_index_file(x, "file:/w/d.parquet", &err), 2);
    assert_int_equal(ice_index_tag(x), 42);
    /* clear forgets the keys; all also the files and the tag */
    assert_int_equal(ice_index_clear(x, 0, &err), 0);
    assert_int_equal(ice_index_count(x), 0);
    assert_int_equal(ice_index_get(x, "k1", 2, &loc, &err), 0);
    assert_int_equal(ice_index_put(x, "k1", 2, (ice_loc){0, 7}, &err), 0);
    assert_int_equal(ice_index_get(x, "k1", 2, &loc, &err), 1);
    assert_int_equal(loc.pos, 7);
    assert_int_equal(ice_index_commit(x, 43, &err), 0);
    assert_int_equal(ice_index_clear(x, 1, &err), 0);
    assert_int_equal(ice_index_commit(x, -1, &err), 0);
    assert_int_equal(ice_index_tag(x), -1);
    assert_int_equal(ice_index_file(x, "file:/w/z.parquet", &err), 0);
    sl_buf_free(&name);
    ice_index_free(x);
    remove_dir();
}

static void keys_differ_by_bytes_not_by_prefix(void **state)
{
    ice_index *x = open_fresh();
    ice_loc loc;
    assert_int_equal(ice_index_put(x, "ab", 2, (ice_loc){0, 1}, &err), 0);
    assert_int_equal(ice_index_put(x, "ab\0", 3, (ice_loc){0, 2}, &err), 0);
    assert_int_equal(ice_index_get(x, "a", 1, &loc, &err), 0);
    assert_int_equal(ice_index_get(x, "ab\0", 3, &loc, &err), 1);
    assert_int_equal(loc.pos, 2);
    assert_int_equal(ice_index_get(x, "ab", 2, &loc, &err), 1);
    assert_int_equal(loc.pos, 1);
    /* keys beyond LMDB's 511 bytes, equal in their first 600 bytes */
    char a[1000], b[1000];
    memset(a, 'x', sizeof a);
    memcpy(b, a, sizeof b);
    b[999] = 'y';
    assert_int_equal(ice_index_put(x, a, sizeof a, (ice_loc){1, 10}, &err), 0);
    assert_int_equal(ice_index_put(x, b, sizeof b, (ice_loc){1, 11}, &err), 0);
    assert_int_equal(ice_index_get(x, a, sizeof a, &loc, &err), 1);
    assert_int_equal(loc.pos, 10);
    assert_int_equal(ice_index_get(x, b, sizeof b, &loc, &err), 1);
    assert_int_equal(loc.pos, 11);
    assert_int_equal(ice_index_get(x, a, 999, &loc, &err), 0);
    assert_int_equal(ice_index_del(x, a, sizeof a, &err), 1);
    assert_int_equal(ice_index_get(x, a, sizeof a, &loc, &err), 0);
    assert_int_equal(ice_index_count(x), 3);
    ice_index_free(x);
    remove_dir();
}

/* swap puts and hands back the previous location; take removes and
 * hands it back; both for short and for long keys */
static void swap_and_take(void **state)
{
    ice_index *x = open_fresh();
    ice_loc old;
    char big[700];
    memset(big, 'q', sizeof big);
    const struct {
        const void *k;
        size_t n;
    } keys[] = {{"k", 1}, {"\xff", 1}, {big, sizeof big}};
    for (int i = 0; i < 3; i++) {
        old = (ice_loc){-7, -7};
        assert_int_equal(ice_index_swap(x, keys[i].k, keys[i].n, (ice_loc){1, 10 + i}, &old, &err), 0);
        assert_int_equal(old.pos, -7);
        assert_int_equal(ice_index_swap(x, keys[i].k, keys[i].n, (ice_loc){2, 20 + i}, &old, &err), 1);
        assert_int_equal(old.file, 1);
        assert_int_equal(old.pos, 10 + i);
        assert_int_equal(ice_index_take(x, keys[i].k, keys[i].n, &old, &err), 1);
        assert_int_equal(old.file, 2);
        assert_int_equal(old.pos, 20 + i);
        assert_int_equal(ice_index_take(x, keys[i].k, keys[i].n, &old, &err), 0);
        assert_int_equal(ice_index_get(x, keys[i].k, keys[i].n, &old, &err), 0);
    }
    assert_int_equal(ice_index_count(x), 0);
    ice_index_free(x);
    remove_dir();
}

/* a rebuild's deletes: asked for by (file, position), dropped at the end */
static void rebuild_deletes(void **state)
{
    ice_index *x = open_fresh();
    assert_int_equal(ice_index_add_del(x, 3, 5, &err), 0);
    assert_int_equal(ice_index_add_del(x, 3, 1LL << 40, &err), 0);
    assert_int_equal(ice_index_is_deleted(x, 3, 5, &err), 1);
    assert_int_equal(ice_index_is_deleted(x, 3, 1LL << 40, &err), 1);
    assert_int_equal(ice_index_is_deleted(x, 3, 6, &err), 0);
    assert_int_equal(ice_index_is_deleted(x, 4, 5, &err), 0);
    assert_int_equal(ice_index_checkpoint(x, &err), 0);
    assert_int_equal(ice_index_tag(x), -1);
    assert_int_equal(ice_index_is_deleted(x, 3, 5, &err), 1);
    assert_int_equal(ice_index_drop_dels(x, &err), 0);
    assert_int_equal(ice_index_is_deleted(x, 3, 5, &err), 0);
    ice_index_free(x);
    remove_dir();
}

/* an epoch's own rewrite moves keys in a nested transaction: dropped, the
 * epoch's changes before it stay and the file it interned is forgotten;
 * kept, its moves commit with the epoch */
static void nested_transaction_joins_or_goes_alone(void **state)
{
    ice_index *x = open_fresh();
    ice_loc old, at;
    assert_int_equal(ice_index_file(x, "file:/w/a.parquet", &err), 0);
    assert_int_equal(ice_index_swap(x, "a", 1, (ice_loc){0, 1}, &old, &err), 0);
    assert_int_equal(ice_index_nest(x, &err), 0);
    assert_int_not_equal(ice_index_nest(x, &err), 0); /* one at a time */
    assert_int_equal(ice_index_file(x, "file:/w/b.parquet", &err), 1);
    assert_int_equal(ice_index_swap(x, "a", 1, (ice_loc){1, 7}, &old, &err), 1);
    assert_int_equal(ice_index_swap(x, "b", 1, (ice_loc){1, 8}, &old, &err), 0);
    assert_int_equal(ice_index_unnest(x, 0, &err), 0);
    assert_int_equal(ice_index_get(x, "a", 1, &at, &err), 1);
    assert_int_equal(at.file, 0);
    assert_int_equal(at.pos, 1);
    assert_int_equal(ice_index_get(x, "b", 1, &at, &err), 0);
    sl_buf name;
    sl_buf_init(&name);
    assert_null(ice_index_file_name(x, 1, &name));
    assert_int_equal(ice_index_file(x, "file:/w/c.parquet", &err), 1);
    assert_int_equal(ice_index_nest(x, &err), 0);
    assert_int_equal(ice_index_swap(x, "a", 1, (ice_loc){1, 9}, &old, &err), 1);
    assert_int_equal(ice_index_unnest(x, 1, &err), 0);
    assert_int_equal(ice_index_unnest(x, 1, &err), 0); /* none open: nothing */
    assert_int_equal(ice_index_commit(x, 42, &err), 0);
    ice_index_free(x);
    assert_int_equal(ice_index_open(dir, &x, &err), 0);
    assert_int_equal(ice_index_tag(x), 42);
    assert_int_equal(ice_index_get(x, "a", 1, &at, &err), 1);
    assert_int_equal(at.file, 1);
    assert_int_equal(at.pos, 9);
    assert_string_equal(ice_index_file_name(x, 1, &name), "file:/w/c.parquet");
    /* an abort with a nested transaction open drops both */
    assert_int_equal(ice_index_swap(x, "a", 1, (ice_loc){0, 3}, &old, &err), 1);
    assert_int_equal(ice_index_nest(x, &err), 0);
    assert_int_equal(ice_index_swap(x, "a", 1, (ice_loc){0, 4}, &old, &err), 1);
    ice_index_abort(x);
    assert_int_equal(ice_index_get(x, "a", 1, &at, &err), 1);
    assert_int_equal(at.pos, 9);
    sl_buf_free(&name);
    ice_index_free(x);
    remove_dir();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys_survive_growth_and_deletes),
        cmocka_unit_test(keys_differ_by_bytes_not_by_prefix),
        cmocka_unit_test(swap_and_take),
        cmocka_unit_test(rebuild_deletes),
        cmocka_unit_test(nested_transaction_joins_or_goes_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
