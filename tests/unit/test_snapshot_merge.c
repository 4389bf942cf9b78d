/* test_snapshot_merge.c — the snapshot coordinator's merge when every
 * chunk is read at one position (PostgreSQL's shared exported snapshot):
 * a change made after that position to a key of a chunk not yet assigned
 * must still drop the chunk's stale row, however far the changelog reader
 * has moved on meanwhile; and a touch log that overflowed ends the run for
 * a restart rather than re-reading at the same position forever; a chunk
 * older than a TRUNCATE of its table contributes nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/emitter.h"
#include "../../core/queue.h"
#include "../../snapshot/snapshot.h"

static sl_table_schema *one_int_key(void)
{
    sl_table_schema *s = sl_schema_new("db", "public", "t", 1);
    s->cols[0].name = strdup("id");
    s->cols[0].type_name = strdup("integer");
    s->cols[0].kind = SL_INT;
    s->cols[0].is_pk = 1;
    sl_schema_index_pk(s);
    return s;
}

/* two chunks: [start, 5) and [5, end) */
static int split_at_5(void *ctx, sl_snap_table *t, const char *lo, char **hi, sl_err *err)
{
    *hi = lo ? NULL : strdup("[\"s:5\"]");
    return 0;
}

static sl_batch *chunk_rows(const sl_table_schema *s, const int64_t *ids, int n, sl_pos at)
{
    sl_batch *b = sl_batch_new();
    for (int i = 0; i < n; i++) {
        sl_value *v = sl_batch_row(b, 1);
        v[0] = sl_val_int(ids[i]);
        sl_event *e = sl_batch_add_event(b, SL_OP_READ, s);
        e->after = v;
        e->pos = at;
        e->snapshot = SL_SNAP_TRUE;
    }
    return b;
}

static void touch(sl_snapshot *snap, const sl_table_schema *s, uint64_t lsn, int64_t id)
{
    sl_value v = sl_val_int(id);
    sl_pos p = {lsn, 0, 0};
    assert_int_equal(sl_snapshot_touch(snap, s, p, NULL, &v), 0);
}

static void reader_at(sl_snapshot *snap, sl_emitter *em, uint64_t lsn)
{
    sl_pos p = {lsn, 0, 0};
    sl_emit_lock(em);
    assert_int_equal(sl_snapshot_at(snap, p, "{\"lsn\":\"0/1\"}"), 0);
    sl_emit_unlock(em);
}

/* ids of the 'r' events pushed so far */
static int drained_rows(sl_queue *q, int64_t *ids, int cap)
{
    int n = 0;
    sl_batch *b;
    while ((b = sl_queue_pop(q, 0)) != NULL) {
        for (sl_event *e = b->head; e; e = e->next)
            if (e->op == SL_OP_READ && n < cap)
                ids[n++] = e->after[0].v.i;
        sl_batch_free(b);
    }
    return n;
}

static void unassigned_chunk_keeps_its_touches(void **state)
{
    sl_table_schema *s = one_int_key();
    sl_snapshot snap;
    sl_pos start = {100, 0, 0}, at = {200, 0, 0};
    sl_snapshot_init(&snap, 5, 1, start);
    snap.single_position = 1;
    sl_err err;
    int key = 0;
    assert_int_equal(sl_snapshot_add_table(&snap, s->qualified, s, &key, 1, 10, &err), 0);
    sl_queue q;
    sl_emitter em;
    sl_queue_init(&q, 64 << 20);
    sl_emitter_init(&em, &q, 1 << 20, NULL);
    reader_at(&snap, &em, 150);

    /* chunk 1 is read at 200 and merged once the reader passes 200 */
    sl_snap_chunk c1 = {0};
    assert_int_equal(sl_snapshot_next_chunk(&snap, &c1, split_at_5, NULL, &err), 1);
    const int64_t first[] = {1, 2, 3, 4};
    assert_int_equal(sl_snapshot_submit(&snap, &c1, at, chunk_rows(s, first, 4, at), &err), 0);
    touch(&snap, s, 250, 7); /* key 7 (chunk 2, not assigned yet) changes after 200 */
    reader_at(&snap, &em, 300);
    assert_int_equal(sl_snapshot_merge(&snap, &em, &err), 0);
    int64_t got[16];
    assert_int_equal(drained_rows(&q, got, 16), 4);

    /* no chunk in flight now; chunk 2 is read at 200 too: its row for key
     * 7 is older than the change at 250 the reader already emitted */
    sl_snap_chunk c2 = {0};
    assert_int_equal(sl_snapshot_next_chunk(&snap, &c2, split_at_5, NULL, &err), 1);
    const int64_t second[] = {5, 6, 7, 8};
    assert_int_equal(sl_snapshot_submit(&snap, &c2, at, chunk_rows(s, second, 4, at), &err), 0);
    assert_int_equal(sl_snapshot_merge(&snap, &em, &err), 0);
    int n = drained_rows(&q, got, 16);
    assert_int_equal(n, 3);
    for (int i = 0; i < n; i++)
        assert_true(got[i] != 7);
    assert_true(sl_snapshot_complete(&snap));

    sl_emitter_destroy(&em);
    sl_queue_destroy(&q);
    sl_snapshot_free(&snap);
    sl_schema_free(s);
}

static void overflow_restarts_instead_of_rereading(void **state)
{
    sl_table_schema *s = one_int_key();
    sl_snapshot snap;
    sl_pos start = {100, 0, 0}, at = {200, 0, 0};
    sl_snapshot_init(&snap, 5, 1, start);
    snap.single_position = 1;
    snap.touches.max_bytes = 512; /* tiny, so it overflows */
    sl_err err;
    int key = 0;
    assert_int_equal(sl_snapshot_add_table(&snap, s->qualified, s, &key, 1, 10, &err), 0);
    sl_queue q;
    sl_emitter em;
    sl_queue_init(&q, 64 << 20);
    sl_emitter_init(&em, &q, 1 << 20, NULL);
    reader_at(&snap, &em, 150);
    sl_snap_chunk c1 = {0};
    assert_int_equal(sl_snapshot_next_chunk(&snap, &c1, split_at_5, NULL, &err), 1);
    const int64_t first[] = {1, 2};
    assert_int_equal(sl_snapshot_submit(&snap, &c1, at, chunk_rows(s, first, 2, at), &err), 0);
    for (int i = 0; i < 200; i++)
        touch(&snap, s, 201 + (uint64_t)i, 1000 + i);
    reader_at(&snap, &em, 500);
    err.msg[0] = 0;
    assert_int_equal(sl_snapshot_merge(&snap, &em, &err), SL_ERETRY);
    assert_non_null(strstr(err.msg, "restarting from the last checkpoint"));
    int64_t got[4];
    assert_int_equal(drained_rows(&q, got, 4), 0); /* nothing stale went out */
    sl_emitter_destroy(&em);
    sl_queue_destroy(&q);
    sl_snapshot_free(&snap);
    sl_schema_free(s);
}

/* a chunk read before a TRUNCATE but merged after the changelog passed it
 * brings none of its rows back */
static void chunk_older_than_truncate_is_dropped(void **state)
{
    sl_table_schema *s = one_int_key();
    sl_snapshot snap;
    sl_pos start = {100, 0, 0}, at = {200, 0, 0}, trunc = {250, 0, 3};
    sl_snapshot_init(&snap, 5, 1, start);
    snap.single_position = 1;
    sl_err err;
    int key = 0;
    assert_int_equal(sl_snapshot_add_table(&snap, s->qualified, s, &key, 1, 10, &err), 0);
    sl_queue q;
    sl_emitter em;
    sl_queue_init(&q, 64 << 20);
    sl_emitter_init(&em, &q, 1 << 20, NULL);
    reader_at(&snap, &em, 150);
    sl_snap_chunk c1 = {0};
    assert_int_equal(sl_snapshot_next_chunk(&snap, &c1, split_at_5, NULL, &err), 1);
    const int64_t first[] = {1, 2, 3};
    assert_int_equal(sl_snapshot_submit(&snap, &c1, at, chunk_rows(s, first, 3, at), &err), 0);
    sl_snapshot_truncate(&snap, s, trunc);
    reader_at(&snap, &em, 300);
    assert_int_equal(sl_snapshot_merge(&snap, &em, &err), 0);
    int64_t got[8];
    assert_int_equal(drained_rows(&q, got, 8), 0);
    sl_emitter_destroy(&em);
    sl_queue_destroy(&q);
    sl_snapshot_free(&snap);
    sl_schema_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unassigned_chunk_keeps_its_touches),
        cmocka_unit_test(overflow_restarts_instead_of_rereading),
        cmocka_unit_test(chunk_older_than_truncate_is_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
