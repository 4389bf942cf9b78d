/* test_snapshot_merge.c — the snapshot coordinator's merge and the
 * boundary protocol by which a changelog reader meets it.
 *
 * Merge, when every chunk is read at one position (PostgreSQL's shared
 * exported snapshot): a change made after that position to a key of a
 * chunk not yet assigned must still drop the chunk's stale row, however far
 * the changelog reader has moved on meanwhile; a touch log that overflowed
 * ends the run for a restart rather than re-reading at the same position
 * forever; a chunk older than a TRUNCATE of its table contributes nothing.
 *
 * Boundary (snapshot/boundary.h): every commit token carries the split
 * state; a chunk read at S waits until the reader commits or stands at or
 * past S, then follows the boundary with the rows the reader touched since
 * S dropped; between transactions the source's token is only formatted
 * while chunks wait; without a snapshot a commit carries the source's token
 * unchanged; a resnapshot after lost history is announced by a TRUNCATE
 * per table in one transaction before any row.
 *
 * Watermark window (no exact read position, MySQL 8): a chunk read between
 * a low and a high watermark waits for the reader to pass the high one,
 * and loses every key the reader touched from the low one on.
 *
 * New shape (ALTER TABLE): a chunk read before the changelog showed it is
 * read again, never emitted in the old shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/emitter.h"
#include "../../core/queue.h"
#include "../../snapshot/boundary.h"
#include "../../snapshot/snapshot.h"
#include "../../snapshot/coordinator.h"
#include "../../snapshot/split_setup.h"

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

/* A snapshot of one table t(id) of est_rows rows in chunks of 5 (or 10),
 * a queue and the emitter that fills it. */
typedef struct fixture {
    sl_table_schema *s;
    sl_snapshot snap;
    sl_queue q;
    sl_emitter em;
    sl_err err;
} fixture;

static void fixture_init(fixture *f, size_t chunk_size, uint64_t est_rows, size_t target_bytes)
{
    memset(f, 0, sizeof *f);
    f->s = one_int_key();
    sl_snapshot_init(&f->snap, chunk_size, 1, (sl_pos){100, 0, 0});
    int key = 0;
    assert_int_equal(sl_snapshot_add_table(&f->snap, f->s->qualified, f->s, &key, 1, est_rows, &f->err), 0);
    sl_queue_init(&f->q, 64 << 20);
    sl_emitter_init(&f->em, &f->q, NULL, target_bytes, NULL);
}

static void fixture_free(fixture *f)
{
    sl_emitter_destroy(&f->em);
    sl_queue_destroy(&f->q);
    sl_snapshot_free(&f->snap);
    sl_schema_free(f->s);
}

/* two chunks: [start, 5) and [5, end) */
static int split_at_5(void *ctx, sl_snap_table *t, const char *lo, char **hi, sl_err *err)
{
    *hi = lo ? NULL : strdup("[\"s:5\"]");
    return 0;
}

/* one chunk: the whole table */
static int whole_table(void *ctx, sl_snap_table *t, const char *lo, char **hi, sl_err *err)
{
    *hi = NULL;
    return 0;
}

static sl_batch *chunk_rows(const sl_table_schema *s, const int64_t *ids, int n, sl_pos at)
{
    sl_batch *b = sl_batch_new(NULL);
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

/* takes the next chunk and hands it over as read at lsn with rows ids */
static void read_chunk(fixture *f, sl_snap_split_fn split, const int64_t *ids, int n, uint64_t lsn)
{
    sl_pos at = {lsn, 0, 0};
    sl_snap_chunk c = {0};
    assert_int_equal(sl_snapshot_next_chunk(&f->snap, &c, split, NULL, &f->err), 1);
    assert_int_equal(sl_snapshot_submit(&f->snap, &c, at, chunk_rows(f->s, ids, n, at), &f->err), 0);
}

static void touch(fixture *f, uint64_t lsn, int64_t id)
{
    sl_value v = sl_val_int(id);
    sl_pos p = {lsn, 0, 0};
    assert_int_equal(sl_snapshot_touch(&f->snap, f->s, p, NULL, &v), 0);
}

static void reader_at(fixture *f, uint64_t lsn)
{
    sl_pos p = {lsn, 0, 0};
    sl_emit_lock(&f->em);
    assert_int_equal(sl_snapshot_at(&f->snap, p, "{\"lsn\":\"0/1\"}"), 0);
    sl_emit_unlock(&f->em);
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

/* the next batch pushed: its commit token (copied into tok) and the ids of
 * its 'r' events; -1 when none */
static int next_batch(sl_queue *q, char *tok, size_t toklen, int64_t *ids, int cap)
{
    sl_batch *b = sl_queue_pop(q, 0);
    if (!b)
        return -1;
    snprintf(tok, toklen, "%s", b->commit_token ? b->commit_token : "");
    int n = 0;
    for (sl_event *e = b->head; e; e = e->next)
        if (e->op == SL_OP_READ && n < cap)
            ids[n++] = e->after[0].v.i;
    sl_batch_free(b);
    return n;
}

/* ------------------------------------------------------------- merge -- */

static void unassigned_chunk_keeps_its_touches(void **state)
{
    fixture f;
    fixture_init(&f, 5, 10, 1 << 20);
    f.snap.single_position = 1;
    reader_at(&f, 150);

    /* chunk 1 is read at 200 and merged once the reader passes 200 */
    const int64_t first[] = {1, 2, 3, 4};
    read_chunk(&f, split_at_5, first, 4, 200);
    touch(&f, 250, 7); /* key 7 (chunk 2, not assigned yet) changes after 200 */
    reader_at(&f, 300);
    assert_int_equal(sl_snapshot_merge(&f.snap, &f.em, &f.err), 0);
    int64_t got[16];
    /* held back until the next chunk says whether row 4 is the table's last */
    assert_int_equal(drained_rows(&f.q, got, 16), 0);

    /* chunk 2 (not assigned before) is read at 200 too: its row for key
     * 7 is older than the change at 250 the reader already emitted */
    const int64_t second[] = {5, 6, 7, 8};
    read_chunk(&f, split_at_5, second, 4, 200);
    assert_int_equal(sl_snapshot_merge(&f.snap, &f.em, &f.err), 0);
    int n = drained_rows(&f.q, got, 16);
    assert_int_equal(n, 7);
    for (int i = 0; i < n; i++)
        assert_true(got[i] != 7);
    assert_true(sl_snapshot_complete(&f.snap));
    fixture_free(&f);
}

/* chunks of 5 keys up to 20: [start, 5), [5, 10), [10, 15), [15, 20), [20, end) */
static int split_5_to_20(void *ctx, sl_snap_table *t, const char *lo, char **hi, sl_err *err)
{
    long v = lo ? strtol(lo + 4, NULL, 10) : 0;
    char buf[32];
    snprintf(buf, sizeof buf, "[\"s:%ld\"]", v + 5);
    *hi = v + 5 > 20 ? NULL : strdup(buf);
    return 0;
}

/* A reader that reads several chunks per round trip (PostgreSQL) takes the
 * later ones with more_chunk: never before rows go out (the changelog
 * reader has not passed the read position: they would wait, held in
 * memory), never past the memory bound, and it never blocks. */
static void more_chunk_waits_for_nothing(void **state)
{
    fixture f;
    fixture_init(&f, 5, 100, 1 << 20);
    f.snap.single_position = 1;
    sl_snap_chunk c = {0}, more = {0};
    assert_int_equal(sl_snapshot_next_chunk(&f.snap, &c, split_5_to_20, NULL, &f.err), 1);
    /* nothing went out yet */
    assert_int_equal(sl_snapshot_more_chunk(&f.snap, &more, split_5_to_20, NULL, &f.err), 0);
    const int64_t first[] = {1, 2};
    assert_int_equal(sl_snapshot_submit(&f.snap, &c, (sl_pos){200, 0, 0},
                                        chunk_rows(f.s, first, 2, (sl_pos){200, 0, 0}), &f.err), 0);
    reader_at(&f, 300);
    assert_int_equal(sl_snapshot_merge(&f.snap, &f.em, &f.err), 0); /* held: is it the table's last? */
    assert_int_equal(sl_snapshot_more_chunk(&f.snap, &more, split_5_to_20, NULL, &f.err), 0);
    const int64_t second[] = {5, 6};
    read_chunk(&f, split_5_to_20, second, 2, 200);
    assert_int_equal(sl_snapshot_merge(&f.snap, &f.em, &f.err), 0);
    int64_t got[16];
    assert_int_equal(drained_rows(&f.q, got, 16), 2); /* chunk 1 out, chunk 2 held */
    /* rows went out, nothing waits: the next chunk, [10, 15) */
    assert_int_equal(sl_snapshot_more_chunk(&f.snap, &more, split_5_to_20, NULL, &f.err), 1);
    assert_string_equal(more.lo, "[\"s:10\"]");
    assert_string_equal(more.hi, "[\"s:15\"]");
    const int64_t third[] = {10};
    assert_int_equal(sl_snapshot_submit(&f.snap, &more, (sl_pos){200, 0, 0},
                                        chunk_rows(f.s, third, 1, (sl_pos){200, 0, 0}), &f.err), 0);
    /* one chunk waits for the merge (parallelism 1): 0 at once, no wait */
    assert_int_equal(sl_snapshot_more_chunk(&f.snap, &more, split_5_to_20, NULL, &f.err), 0);
    assert_int_equal(sl_snapshot_merge(&f.snap, &f.em, &f.err), 0);
    assert_int_equal(sl_snapshot_wait_room(&f.snap), 0);
    assert_int_equal(sl_snapshot_more_chunk(&f.snap, &more, split_5_to_20, NULL, &f.err), 1);
    assert_string_equal(more.lo, "[\"s:15\"]");
    free(more.lo);
    free(more.hi);
    fixture_free(&f);
}

static void overflow_restarts_instead_of_rereading(void **state)
{
    fixture f;
    fixture_init(&f, 5, 10, 1 << 20);
    f.snap.single_position = 1;
    f.snap.touches.max_bytes = 512; /* tiny, so it overflows */
    reader_at(&f, 150);
    const int64_t first[] = {1, 2};
    read_chunk(&f, split_at_5, first, 2, 200);
    for (int i = 0; i < 200; i++)
        touch(&f, 201 + (uint64_t)i, 1000 + i);
    reader_at(&f, 500);
    f.err.msg[0] = 0;
    assert_int_equal(sl_snapshot_merge(&f.snap, &f.em, &f.err), SL_ERETRY);
    assert_non_null(strstr(f.err.msg, "restarting from the last checkpoint"));
    int64_t got[4];
    assert_int_equal(drained_rows(&f.q, got, 4), 0); /* nothing stale went out */
    fixture_free(&f);
}

/* a chunk read before a TRUNCATE but merged after the changelog passed it
 * brings none of its rows back */
static void chunk_older_than_truncate_is_dropped(void **state)
{
    fixture f;
    fixture_init(&f, 5, 10, 1 << 20);
    f.snap.single_position = 1;
    reader_at(&f, 150);
    const int64_t first[] = {1, 2, 3};
    read_chunk(&f, split_at_5, first, 3, 200);
    sl_snapshot_truncate(&f.snap, f.s, (sl_pos){250, 0, 3});
    reader_at(&f, 300);
    assert_int_equal(sl_snapshot_merge(&f.snap, &f.em, &f.err), 0);
    int64_t got[8];
    assert_int_equal(drained_rows(&f.q, got, 8), 0);
    fixture_free(&f);
}

/* a chunk whose read failed goes back (abandon) and is read again; once
 * that second read merges, nothing of it stays in flight and the table is
 * done */
static void abandoned_chunk_read_again_completes_the_table(void **state)
{
    fixture f;
    fixture_init(&f, 10, 3, 1 << 20);
    reader_at(&f, 150);
    sl_snap_chunk c = {0};
    assert_int_equal(sl_snapshot_next_chunk(&f.snap, &c, whole_table, NULL, &f.err), 1);
    sl_snapshot_abandon(&f.snap, &c); /* the reader lost its connection */
    free(c.lo);
    free(c.hi);
    const int64_t rows[] = {1, 2, 3};
    read_chunk(&f, whole_table, rows, 3, 200); /* takes it from the re-read list */
    reader_at(&f, 300);
    assert_int_equal(sl_snapshot_merge(&f.snap, &f.em, &f.err), 0);
    int64_t got[8];
    assert_int_equal(drained_rows(&f.q, got, 8), 3);
    assert_int_equal(f.snap.ninflight, 0);
    assert_true(sl_snapshot_complete(&f.snap));
    fixture_free(&f);
}

/* ---------------------------------------------------------- boundary -- */

typedef struct fake_source {
    int tokens; /* how often the boundary asked for a token */
} fake_source;

static int lsn_token(void *ctx, sl_pos pos, char *buf, size_t len)
{
    ((fake_source *)ctx)->tokens++;
    return snprintf(buf, len, "{\"lsn\":%llu}", (unsigned long long)pos.hi) >= (int)len;
}

static void chunk_waits_for_the_reader_and_tokens_carry_split_state(void **state)
{
    fixture f;
    fixture_init(&f, 10, 3, 0); /* every commit pushes its batch */
    fake_source src = {0};
    sl_boundary b = {.out = &f.em, .snap = &f.snap, .token = lsn_token, .ctx = &src, .source = "test source"};
    assert_int_equal(sl_boundary_start(&b, (sl_pos){100, 0, 0}, &f.err), 0);
    const int64_t rows[] = {1, 2, 3};
    read_chunk(&f, whole_table, rows, 3, 200);

    /* a commit before S: the chunk waits, the token lists it as pending */
    char tok[1024];
    int64_t ids[8];
    assert_int_equal(sl_boundary_commit(&b, (sl_pos){150, 0, 0}, &f.err), 0);
    assert_int_equal(next_batch(&f.q, tok, sizeof tok, ids, 8), 0);
    assert_string_equal(tok, "{\"lsn\":150,\"snapshot\":{\"tables\":[{\"t\":\"public.t\",\"next\":null,"
                             "\"exhausted\":true,\"chunks\":0,\"rows\":0,\"pending\":[[null,null]]}]}}");
    assert_int_equal(next_batch(&f.q, tok, sizeof tok, ids, 8), -1);

    /* between transactions before S: still waiting */
    assert_int_equal(sl_boundary_between(&b, (sl_pos){199, 0, 0}, &f.err), 0);
    assert_int_equal(next_batch(&f.q, tok, sizeof tok, ids, 8), -1);

    /* key 2 changes at 220 (after S), then the reader commits at 250: the
     * chunk follows the commit without key 2, and its token marks the
     * table done at the reader's position */
    sl_emit_batch(&f.em);
    touch(&f, 220, 2);
    assert_int_equal(sl_boundary_commit(&b, (sl_pos){250, 0, 0}, &f.err), 0);
    assert_int_equal(next_batch(&f.q, tok, sizeof tok, ids, 8), 0);
    assert_non_null(strstr(tok, "{\"lsn\":250,\"snapshot\":"));
    assert_int_equal(next_batch(&f.q, tok, sizeof tok, ids, 8), 2);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[1], 3);
    assert_string_equal(tok, "{\"lsn\":250,\"snapshot\":{\"tables\":[{\"t\":\"public.t\",\"done\":true}]}}");
    assert_true(sl_snapshot_complete(&f.snap));

    /* nothing waits: between transactions costs no token */
    int before = src.tokens;
    assert_int_equal(sl_boundary_between(&b, (sl_pos){300, 0, 0}, &f.err), 0);
    assert_int_equal(src.tokens, before);

    fixture_free(&f);
}

static void between_transactions_lets_a_reached_chunk_out(void **state)
{
    fixture f;
    fixture_init(&f, 10, 3, 0);
    fake_source src = {0};
    sl_boundary b = {.out = &f.em, .snap = &f.snap, .token = lsn_token, .ctx = &src, .source = "test source"};
    assert_int_equal(sl_boundary_start(&b, (sl_pos){100, 0, 0}, &f.err), 0);
    const int64_t rows[] = {7, 8};
    read_chunk(&f, whole_table, rows, 2, 200);
    assert_int_equal(sl_boundary_between(&b, (sl_pos){200, 0, 0}, &f.err), 0);
    char tok[1024];
    int64_t ids[8];
    assert_int_equal(next_batch(&f.q, tok, sizeof tok, ids, 8), 2);
    assert_string_equal(tok, "{\"lsn\":200,\"snapshot\":{\"tables\":[{\"t\":\"public.t\",\"done\":true}]}}");
    fixture_free(&f);
}

/* A chunk read between watermarks 200 and 260: keys changed at 210 and
 * 255 (inside the window: the read may or may not have seen them) are
 * dropped, the key changed at 190 (before the window, so the read saw it)
 * stays; the chunk waits while the reader is inside the window. */
static void watermark_window_waits_for_high_and_drops_from_low(void **state)
{
    fixture f;
    fixture_init(&f, 10, 5, 0);
    fake_source src = {0};
    sl_boundary b = {.out = &f.em, .snap = &f.snap, .token = lsn_token, .ctx = &src, .source = "test source"};
    assert_int_equal(sl_boundary_start(&b, (sl_pos){100, 0, 0}, &f.err), 0);
    sl_snap_chunk c = {0};
    assert_int_equal(sl_snapshot_next_chunk(&f.snap, &c, whole_table, NULL, &f.err), 1);
    const int64_t rows[] = {1, 2, 3, 4};
    sl_pos low = {200, 0, 0}, high = {260, 0, 0};
    assert_int_equal(sl_snapshot_submit_window(&f.snap, &c, low, high, chunk_rows(f.s, rows, 4, low), &f.err), 0);
    char tok[1024];
    int64_t ids[8];
    sl_emit_batch(&f.em);
    touch(&f, 190, 1);
    touch(&f, 210, 2);
    assert_int_equal(sl_boundary_commit(&b, (sl_pos){250, 0, 0}, &f.err), 0);
    assert_int_equal(next_batch(&f.q, tok, sizeof tok, ids, 8), 0);
    assert_int_equal(next_batch(&f.q, tok, sizeof tok, ids, 8), -1); /* inside the window: waits */
    sl_emit_batch(&f.em);
    touch(&f, 255, 4);
    assert_int_equal(sl_boundary_commit(&b, (sl_pos){260, 0, 0}, &f.err), 0);
    assert_int_equal(next_batch(&f.q, tok, sizeof tok, ids, 8), 0);
    /* 2 (210) and 4 (255) were touched in the window; 1 (190) before the
     * low watermark but after the lower bound the chunk was handed out
     * with (the stream's start, 100), where a server's position may run
     * ahead of what the read saw: only 3 is trusted */
    assert_int_equal(next_batch(&f.q, tok, sizeof tok, ids, 8), 1);
    assert_int_equal(ids[0], 3);
    assert_true(sl_snapshot_complete(&f.snap));
    fixture_free(&f);
}

/* A chunk's rows are trusted only from the lower bound it was handed out
 * with (the positions of the chunks submitted before it): a change the
 * stream sent between that bound and the chunk's own position drops its
 * key, since a server's position can run ahead of what the read saw; a
 * change before the bound does not. */
static void chunk_rows_trusted_from_their_lower_bound(void **state)
{
    fixture f;
    fixture_init(&f, 10, 3, 1 << 20);
    reader_at(&f, 100);
    const int64_t first[] = {1, 2};
    read_chunk(&f, split_at_5, first, 2, 200);
    touch(&f, 150, 7); /* before the second chunk's lower bound (200) */
    reader_at(&f, 200);
    assert_int_equal(sl_snapshot_merge(&f.snap, &f.em, &f.err), 0); /* one reader: room for the next */
    touch(&f, 220, 8); /* after it, before the second chunk's position */
    const int64_t second[] = {6, 7, 8, 9};
    read_chunk(&f, split_at_5, second, 4, 300);
    reader_at(&f, 400);
    assert_int_equal(sl_snapshot_merge(&f.snap, &f.em, &f.err), 0);
    int64_t got[8];
    assert_int_equal(drained_rows(&f.q, got, 8), 5);
    const int64_t want[] = {1, 2, 6, 7, 9};
    for (int i = 0; i < 5; i++)
        assert_int_equal(got[i], want[i]);
    assert_true(sl_snapshot_complete(&f.snap));
    fixture_free(&f);
}

/* ALTER TABLE: a chunk read at 200 in the old shape, merged after the
 * changelog showed the new shape at 250, is not emitted but read again,
 * and the table is read as the new schema from then on */
static void chunk_older_than_a_new_shape_is_read_again(void **state)
{
    fixture f;
    fixture_init(&f, 10, 3, 1 << 20);
    reader_at(&f, 150);
    const int64_t rows[] = {1, 2, 3};
    read_chunk(&f, whole_table, rows, 3, 200);
    sl_table_schema *wider = one_int_key();
    wider->version = 2;
    sl_snapshot_reshape(&f.snap, wider, (sl_pos){250, 0, 0});
    assert_ptr_equal(sl_snapshot_schema(&f.snap, 0), wider);
    reader_at(&f, 300);
    assert_int_equal(sl_snapshot_merge(&f.snap, &f.em, &f.err), 0);
    int64_t got[8];
    assert_int_equal(drained_rows(&f.q, got, 8), 0);
    assert_false(sl_snapshot_complete(&f.snap));
    /* read again after the new shape: it goes out */
    read_chunk(&f, whole_table, rows, 3, 310);
    reader_at(&f, 320);
    assert_int_equal(sl_snapshot_merge(&f.snap, &f.em, &f.err), 0);
    assert_int_equal(drained_rows(&f.q, got, 8), 3);
    assert_true(sl_snapshot_complete(&f.snap));
    fixture_free(&f);
    sl_schema_free(wider);
}

static void without_a_snapshot_the_token_is_the_sources(void **state)
{
    fixture f;
    fixture_init(&f, 10, 3, 0);
    fake_source src = {0};
    sl_boundary b = {.out = &f.em, .token = lsn_token, .ctx = &src, .source = "test source"};
    assert_int_equal(sl_boundary_start(&b, (sl_pos){1, 0, 0}, &f.err), 0);
    assert_int_equal(sl_boundary_between(&b, (sl_pos){2, 0, 0}, &f.err), 0);
    assert_int_equal(sl_boundary_commit(&b, (sl_pos){3, 0, 0}, &f.err), 0);
    char tok[256];
    int64_t ids[1];
    assert_int_equal(next_batch(&f.q, tok, sizeof tok, ids, 1), 0);
    assert_string_equal(tok, "{\"lsn\":3}");
    fixture_free(&f);
}

/* arithmetic splitting of a key that ends at INT64_MAX: the step past the
 * last full chunk would overflow (found by tests/fuzz/fuzz_checkpoint.c);
 * instead the rest of the range is one open-ended chunk */
static void arithmetic_split_ends_at_int64_max(void **state)
{
    fixture f;
    fixture_init(&f, 1000, 5001, 0);
    sl_split_try_arith(&f.snap, &f.snap.tables[0], INT64_MAX - 5000, INT64_MAX, 5001);
    assert_int_equal(f.snap.tables[0].arith, 1);
    char want[64];
    for (int i = 0; i < 5; i++) {
        sl_snap_chunk c = {0};
        assert_int_equal(sl_snapshot_next_chunk(&f.snap, &c, whole_table, NULL, &f.err), 1);
        snprintf(want, sizeof want, "[\"n:%lld\"]", (long long)(INT64_MAX - 5000 + 1000 * (i + 1)));
        assert_non_null(c.hi);
        assert_string_equal(c.hi, want);
        sl_snap_chunk_free(&c);
    }
    sl_snap_chunk last = {0};
    assert_int_equal(sl_snapshot_next_chunk(&f.snap, &last, whole_table, NULL, &f.err), 1);
    assert_string_equal(last.lo, want);
    assert_null(last.hi);
    sl_snap_chunk_free(&last);
    sl_snap_chunk none = {0};
    assert_int_equal(sl_snapshot_next_chunk(&f.snap, &none, whole_table, NULL, &f.err), 0);
    fixture_free(&f);
}

/* lost history: the resnapshot announcement is one transaction at the
 * reader's start, a TRUNCATE per table before any row, whose token
 * already carries the split state of the new snapshot */
static void resnapshot_announces_a_truncate_per_table_first(void **state)
{
    fixture f;
    fixture_init(&f, 10, 3, 0);
    fake_source src = {0};
    sl_boundary b = {.out = &f.em, .snap = &f.snap, .token = lsn_token, .ctx = &src, .source = "test source"};
    assert_int_equal(sl_boundary_start(&b, (sl_pos){100, 0, 0}, &f.err), 0);
    assert_int_equal(sl_boundary_resnapshot(&b, (sl_pos){100, 0, 0}, &f.err), 0);
    sl_batch *bt = sl_queue_pop(&f.q, 0);
    assert_non_null(bt);
    assert_int_equal(bt->count, 1);
    assert_int_equal(bt->head->op, SL_OP_TRUNCATE);
    assert_ptr_equal(bt->head->schema, f.s);
    assert_int_equal(bt->head->pos.hi, 100);
    assert_true(sl_batch_at_boundary(bt));
    assert_string_equal(bt->commit_token, "{\"lsn\":100,\"snapshot\":{\"tables\":[{\"t\":\"public.t\",\"next\":null,"
                                          "\"exhausted\":false,\"chunks\":0,\"rows\":0,\"pending\":[]}]}}");
    sl_batch_free(bt);
    /* the rows follow */
    const int64_t rows[] = {1, 2};
    read_chunk(&f, whole_table, rows, 2, 100);
    assert_int_equal(sl_boundary_between(&b, (sl_pos){100, 0, 0}, &f.err), 0);
    char tok[1024];
    int64_t ids[8];
    assert_int_equal(next_batch(&f.q, tok, sizeof tok, ids, 8), 2);
    fixture_free(&f);
}

/* chunks [start, 5), [5, 10), [10, end) */
static int split_by_5(void *ctx, sl_snap_table *t, const char *lo, char **hi, sl_err *err)
{
    *hi = !lo ? strdup("[\"n:5\"]") : strcmp(lo, "[\"n:5\"]") == 0 ? strdup("[\"n:10\"]") : NULL;
    return 0;
}

/* the snapshot markers of the 'r' events pushed so far, "id:marker ..." */
static void drained_marks(sl_queue *q, char *out, size_t cap)
{
    static const char *names[] = {"-", "true", "first", "last", "first_in", "last_in"};
    size_t o = 0;
    out[0] = 0;
    sl_batch *b;
    while ((b = sl_queue_pop(q, 0)) != NULL) {
        for (sl_event *e = b->head; e; e = e->next)
            if (e->op == SL_OP_READ && o < cap)
                o += (size_t)snprintf(out + o, cap - o, "%s%s:%lld:%s", o ? " " : "", e->schema->table,
                                      (long long)e->after[0].v.i, names[e->snapshot]);
        sl_batch_free(b);
    }
}

/* Debezium's source.snapshot markers: first / first_in_data_collection /
 * true / last_in_data_collection / last, even when a table's final chunk
 * is empty (its previous chunk carries the table's last row) and when the
 * snapshot's last table is empty */
static void snapshot_markers_survive_empty_final_chunks(void **state)
{
    fixture f;
    fixture_init(&f, 5, 10, 1 << 20);
    sl_table_schema *u = one_int_key(), *w = one_int_key();
    free(u->table);
    u->table = strdup("u");
    free(u->qualified);
    u->qualified = strdup("public.u");
    free(w->table);
    w->table = strdup("w");
    free(w->qualified);
    w->qualified = strdup("public.w");
    int key = 0;
    assert_int_equal(sl_snapshot_add_table(&f.snap, u->qualified, u, &key, 1, 10, &f.err), 0);
    assert_int_equal(sl_snapshot_add_table(&f.snap, w->qualified, w, &key, 1, 0, &f.err), 0);
    reader_at(&f, 150);
    /* t: [1 2] [5 6] [] ; u: [3] [] [] ; w: [] [] [] (all read at 200) */
    const int64_t t1[] = {1, 2}, t2[] = {5, 6}, u1[] = {3};
    const int64_t *rows[9] = {t1, t2, NULL, u1, NULL, NULL, NULL, NULL, NULL};
    int nrows[9] = {2, 2, 0, 1, 0, 0, 0, 0, 0};
    char marks[512];
    const sl_table_schema *of[9] = {f.s, f.s, f.s, u, u, u, w, w, w};
    for (int i = 0; i < 9; i++) {
        sl_pos at = {200, 0, 0};
        sl_snap_chunk c = {0};
        assert_int_equal(sl_snapshot_next_chunk(&f.snap, &c, split_by_5, NULL, &f.err), 1);
        assert_int_equal(sl_snapshot_submit(&f.snap, &c, at, chunk_rows(of[i], rows[i], nrows[i], at), &f.err), 0);
        reader_at(&f, 300);
        assert_int_equal(sl_snapshot_merge(&f.snap, &f.em, &f.err), 0);
        drained_marks(&f.q, marks, sizeof marks);
        /* a chunk is held until the next non-empty one of its table, a
         * table's last chunk until the next table finishes, the very last
         * until nothing else is open */
        const char *want = i == 1   ? "t:1:first t:2:true"
                           : i == 5 ? "t:5:true t:6:last_in"
                           : i == 8 ? "u:3:last"
                                    : "";
        assert_string_equal(marks, want);
    }
    assert_true(sl_snapshot_complete(&f.snap));
    fixture_free(&f);
    sl_schema_free(u);
    sl_schema_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unassigned_chunk_keeps_its_touches),
        cmocka_unit_test(snapshot_markers_survive_empty_final_chunks),
        cmocka_unit_test(more_chunk_waits_for_nothing),
        cmocka_unit_test(overflow_restarts_instead_of_rereading),
        cmocka_unit_test(chunk_older_than_truncate_is_dropped),
        cmocka_unit_test(abandoned_chunk_read_again_completes_the_table),
        cmocka_unit_test(chunk_waits_for_the_reader_and_tokens_carry_split_state),
        cmocka_unit_test(between_transactions_lets_a_reached_chunk_out),
        cmocka_unit_test(watermark_window_waits_for_high_and_drops_from_low),
        cmocka_unit_test(chunk_rows_trusted_from_their_lower_bound),
        cmocka_unit_test(chunk_older_than_a_new_shape_is_read_again),
        cmocka_unit_test(without_a_snapshot_the_token_is_the_sources),
        cmocka_unit_test(arithmetic_split_ends_at_int64_max),
        cmocka_unit_test(resnapshot_announces_a_truncate_per_table_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
