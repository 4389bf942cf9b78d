/* test_ice_index.c — the iceberg sink's primary key -> (data file, row)
 * index on disk (sinks/iceberg/ice_index.c, LMDB): a delete forgets only
 * its key, a re-put moves a key, clear forgets everything, file names are
 * interned once; the tag is what the last commit wrote, an aborted epoch
 * leaves the index as it was, a reopened index keeps its keys and tag;
 * keys longer than LMDB allows work; swap and take hand back where a key
 * was; keys read through the rewrite map of a file its epoch rewrote; an
 * index an older sluice wrote is trusted only without maps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lmdb.h>
#include <unistd.h>

#include "../../sinks/iceberg/ice_sink.h"
#include "index_dir.h"

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

static void remove_dir(void) { sl_test_remove_index_dir(dir); }

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

/* where row i of a 2000-row file lands when every third row is removed
 * and the rest split 700 / the others between files 1 and 2 */
static ice_loc landing(int i)
{
    int64_t at = i - (i + 2) / 3;
    return at < 700 ? (ice_loc){1, at} : (ice_loc){2, at - 700};
}

static void remap_every_third(ice_index *x)
{
    ice_loc dels[667];
    size_t nd = 0;
    for (int i = 0; i < 2000; i++)
        if (i % 3 == 0)
            dels[nd++] = (ice_loc){0, i};
    int32_t files[2] = {1, 2};
    int64_t rows[2] = {700, 1333 - 700};
    assert_int_equal(ice_index_remap(x, 0, 2000, dels, nd, files, rows, 2, &err), 0);
}

/* an epoch's own rewrite leaves its keys naming the old file and one map
 * of where the rows went: get, swap and take read through it; an abort
 * forgets it, a commit keeps it across a reopen; it goes once every file
 * it leads to is gone */
static void keys_read_through_a_rewrite_map(void **state)
{
    ice_index *x = open_fresh();
    ice_loc at;
    char k[32];
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "file:/w/%d.parquet", i);
        assert_int_equal(ice_index_file(x, name, &err), i);
    }
    for (int i = 0; i < 2000; i++)
        if (i % 3)
            assert_int_equal(ice_index_put(x, k, (size_t)key(k, i), (ice_loc){0, i}, &err), 0);
    assert_int_equal(ice_index_commit(x, 1, &err), 0);
    remap_every_third(x);
    ice_index_abort(x);
    assert_int_equal(ice_index_get(x, k, (size_t)key(k, 5), &at, &err), 1);
    assert_int_equal(at.file, 0);
    assert_int_equal(at.pos, 5);
    remap_every_third(x);
    assert_int_equal(ice_index_commit(x, 2, &err), 0);
    ice_index_free(x);
    assert_int_equal(ice_index_open(dir, &x, &err), 0);
    assert_int_equal(ice_index_tag(x), 2);
    for (int i = 1; i < 2000; i++) {
        if (i % 3 == 0)
            continue;
        ice_loc want = landing(i);
        assert_int_equal(ice_index_get(x, k, (size_t)key(k, i), &at, &err), 1);
        assert_int_equal(at.file, want.file);
        assert_int_equal(at.pos, want.pos);
    }
    ice_loc old;
    assert_int_equal(ice_index_swap(x, k, (size_t)key(k, 1999), (ice_loc){3, 0}, &old, &err), 1);
    assert_int_equal(old.file, 2);
    assert_int_equal(old.pos, 1332 - 700);
    assert_int_equal(ice_index_get(x, k, (size_t)key(k, 1999), &at, &err), 1);
    assert_int_equal(at.file, 3);
    assert_int_equal(ice_index_take(x, k, (size_t)key(k, 1), &old, &err), 1);
    assert_int_equal(old.file, 1);
    assert_int_equal(old.pos, 0);
    /* a key the map says was removed is an error naming the file */
    assert_int_equal(ice_index_put(x, "bad", 3, (ice_loc){0, 3}, &err), 0);
    assert_true(ice_index_get(x, "bad", 3, &at, &err) < 0);
    assert_non_null(strstr(err.msg, "names row 3 of file 0, which its rewrite map does not place"));
    assert_int_equal(ice_index_del(x, "bad", 3, &err), 1);
    /* the map stays while a file it leads to is in the table */
    assert_int_equal(ice_index_file_gone(x, 1, &err), 0);
    assert_int_equal(landing(1501).file, 2);
    assert_int_equal(ice_index_get(x, k, (size_t)key(k, 1501), &at, &err), 1);
    assert_int_equal(at.file, landing(1501).file);
    assert_int_equal(at.pos, landing(1501).pos);
    assert_int_equal(ice_index_file_gone(x, 2, &err), 0);
    assert_int_equal(ice_index_get(x, k, (size_t)key(k, 1501), &at, &err), 1);
    assert_int_equal(at.file, 0);
    assert_int_equal(at.pos, 1501);
    assert_int_equal(ice_index_commit(x, 3, &err), 0);
    ice_index_free(x);
    remove_dir();
}

/* an index a sluice without rewrite maps wrote ("tag" a snapshot id) is
 * trusted while it holds no map; one of ours reads as stale to it */
static void tag_written_without_maps(void **state)
{
    ice_index *x = open_fresh();
    assert_int_equal(ice_index_commit(x, 9, &err), 0);
    ice_index_free(x);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta;
    int64_t v;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 6), 0);
    assert_int_equal(mdb_env_open(env, dir, MDB_NOSYNC, 0644), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    MDB_val k = {3, "tag"}, d;
    assert_int_equal(mdb_get(txn, meta, &k, &d), 0);
    memcpy(&v, d.mv_data, 8);
    assert_int_equal(v, -2); /* what an older sluice reads: no snapshot */
    v = 7;                   /* what it writes */
    d = (MDB_val){8, &v};
    assert_int_equal(mdb_put(txn, meta, &k, &d, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    assert_int_equal(ice_index_open(dir, &x, &err), 0);
    assert_int_equal(ice_index_tag(x), 7);
    assert_int_equal(ice_index_file(x, "file:/w/0.parquet", &err), 0);
    int32_t out = 1;
    int64_t rows = 1;
    ice_loc del = {0, 0};
    assert_int_equal(ice_index_remap(x, 0, 2, &del, 1, &out, &rows, 1, &err), 0);
    assert_int_equal(ice_index_checkpoint(x, &err), 0);
    assert_int_equal(ice_index_tag(x), -1);
    ice_index_free(x);
    remove_dir();
}

/* the map's own checks: the new files must hold the rows the old one kept */
static void rewrite_map_values(void **state)
{
    sl_buf b;
    sl_buf_init(&b);
    ice_loc dels[2] = {{0, 1}, {0, 64}};
    int32_t files[1] = {5};
    int64_t rows[1] = {70 - 2};
    assert_int_equal(ice_remap_encode(&b, 70, dels, 2, files, rows, 1, &err), 0);
    ice_loc at = {0, 65};
    assert_int_equal(ice_remap_apply(b.data, b.len, &at), 0);
    assert_int_equal(at.file, 5);
    assert_int_equal(at.pos, 63);
    at = (ice_loc){0, 64};
    assert_int_equal(ice_remap_apply(b.data, b.len, &at), 1);
    at = (ice_loc){0, 70};
    assert_int_equal(ice_remap_apply(b.data, b.len, &at), 1);
    assert_int_equal(ice_remap_apply(b.data, b.len - 1, &at), -1);
    assert_int_equal(ice_remap_leads_to(b.data, b.len, 5), 1);
    assert_int_equal(ice_remap_leads_to(b.data, b.len, 4), 0);
    assert_int_equal(ice_remap_leads_to(b.data, 3, 5), -1);
    assert_int_equal(ice_remap_forget(b.data, b.len, 4), 1);
    assert_int_equal(ice_remap_leads_to(b.data, b.len, 5), 1);
    assert_int_equal(ice_remap_forget(b.data, b.len, 5), 0);
    assert_int_equal(ice_remap_leads_to(b.data, b.len, 5), 0);
    rows[0] = 69;
    assert_int_not_equal(ice_remap_encode(&b, 70, dels, 2, files, rows, 1, &err), 0);
    assert_string_equal(err.msg, "rewrite map: the new files hold 69 rows, the old one kept 68");
    dels[1].pos = 70;
    assert_int_not_equal(ice_remap_encode(&b, 70, dels, 2, files, rows, 1, &err), 0);
    assert_string_equal(err.msg, "rewrite map: removed row 70 is outside the file's 70 rows");
    sl_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys_survive_growth_and_deletes),
        cmocka_unit_test(keys_differ_by_bytes_not_by_prefix),
        cmocka_unit_test(swap_and_take),
        cmocka_unit_test(rebuild_deletes),
        cmocka_unit_test(keys_read_through_a_rewrite_map),
        cmocka_unit_test(tag_written_without_maps),
        cmocka_unit_test(rewrite_map_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
