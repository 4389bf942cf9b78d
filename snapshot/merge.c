/* merge.c — waiting chunks into the changelog stream: a chunk read at S
 * goes out once the changelog reader stands at or past S, without the
 * rows whose keys the reader touched at or after S (they were superseded
 * by changes already emitted), as one transaction whose token records the
 * chunk as done. See snapshot.h for why this is exact. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../core/buf.h"
#include "../core/log.h"
#include "coordinator.h"
#include "rowkey.h"

typedef struct drop_ctx {
    sl_event **slots; /* open addressing by key hash */
    uint64_t *hashes;
    uint32_t *offs, *lens;
    size_t cap;
    sl_buf keys;
    size_t dropped;
} drop_ctx;

static void drop_touched(const void *key, size_t len, uint64_t hash, void *arg)
{
    drop_ctx *d = arg;
    for (size_t h = hash & (d->cap - 1); d->slots[h]; h = (h + 1) & (d->cap - 1)) {
        if (d->hashes[h] == hash && d->lens[h] == len && memcmp(d->keys.data + d->offs[h], key, len) == 0) {
            if (d->slots[h]->op) {
                d->slots[h]->op = 0;
                d->dropped++;
            }
            return;
        }
    }
}

/* Where the chunk's rows stop being trusted: its own position, or the
 * lower bound it was handed out with, which is earlier. A server's
 * position can run ahead of the read it names: MariaDB has been seen to
 * report a consistent snapshot's binlog position past a transaction the
 * snapshot did not see (the last one of a group commit, still on its way
 * into InnoDB), for binlog_snapshot_position and for the binlog end read
 * before a watermark chunk alike. A change the stream has already sent
 * between the lower bound (the position of chunks read before this one
 * was handed out) and the chunk's position may be newer than the row the
 * chunk holds, so its key goes too: its newest state is the stream's own
 * change. Dropping a touched key is always safe; it only costs the key
 * its `r` event. The touch log keeps this far back while the chunk is in
 * flight; where it does not (a chunk restored from a checkpoint), the
 * chunk's own position is used. */
static sl_pos trusted_from(const sl_snapshot *s, const sl_snap_result *r)
{
    sl_pos lb = r->chunk.lower_bound;
    if (sl_pos_cmp(lb, r->at) < 0 && sl_touch_covers(&s->touches, lb))
        return lb;
    return r->at;
}

/* Drops the chunk rows whose keys the changelog touched at or after
 * trusted_from. */
static int drop_superseded(sl_snapshot *s, sl_snap_result *r, const sl_snap_table *t)
{
    sl_pos from = trusted_from(s, r);
    int any = 0;
    for (size_t i = 0; i < s->touches.n && !any; i++) {
        const sl_touch *x = &s->touches.items[s->touches.head + i];
        any = x->table == r->chunk.table && sl_pos_cmp(x->pos, from) >= 0;
    }
    if (!any)
        return 0;
    drop_ctx d = {0};
    d.cap = 16;
    while (d.cap < r->batch->count * 2)
        d.cap *= 2;
    d.slots = calloc(d.cap, sizeof *d.slots);
    d.hashes = calloc(d.cap, sizeof *d.hashes);
    d.offs = calloc(d.cap, sizeof *d.offs);
    d.lens = calloc(d.cap, sizeof *d.lens);
    sl_buf_init(&d.keys);
    int rc = (!d.slots || !d.hashes || !d.offs || !d.lens) ? -1 : 0;
    for (sl_event *e = r->batch->head; e && !rc; e = e->next) {
        if (e->op != SL_OP_READ)
            continue;
        size_t off = d.keys.len;
        sl_rowkey_encode(&d.keys, e->schema, NULL, 0, e->after);
        if (d.keys.failed) {
            rc = -1;
            break;
        }
        uint64_t hash = sl_rowkey_hash(d.keys.data + off, d.keys.len - off);
        size_t h = hash & (d.cap - 1);
        while (d.slots[h])
            h = (h + 1) & (d.cap - 1);
        d.slots[h] = e;
        d.hashes[h] = hash;
        d.offs[h] = (uint32_t)off;
        d.lens[h] = (uint32_t)(d.keys.len - off);
    }
    if (!rc)
        sl_touch_each(&s->touches, r->chunk.table, from, drop_touched, &d);
    if (!rc && d.dropped) {
        sl_event **link = &r->batch->head;
        r->batch->tail = NULL;
        while (*link) {
            if ((*link)->op == 0) {
                *link = (*link)->next;
                r->batch->count--;
            } else {
                r->batch->tail = *link;
                link = &(*link)->next;
            }
        }
        sl_debug("snapshot of %s: %zu rows of chunk %u superseded by newer changes", t->name, d.dropped,
                 r->chunk.seq);
    }
    free(d.slots);
    free(d.hashes);
    free(d.offs);
    free(d.lens);
    sl_buf_free(&d.keys);
    return rc;
}

/* Under s->mu: the chunk of r goes back to be read again; r is freed. */
static void read_again(sl_snapshot *s, sl_snap_result *r, const sl_snap_table *t, const char *why)
{
    sl_debug("snapshot of %s: chunk %u is read again (%s)", t->name, r->chunk.seq, why);
    sl_snap_chunk again = {r->chunk.table, r->chunk.seq, r->chunk.lo, r->chunk.hi, s->max_seen};
    r->chunk.lo = r->chunk.hi = NULL;
    if (sl_snap_chunk_push(&s->reread, &s->nreread, &s->reread_cap, &again))
        sl_snap_chunk_free(&again);
    sl_batch_free(r->batch);
    free(r);
    pthread_cond_broadcast(&s->cv);
}

/* Under s->mu: a chunk goes out (its token records it done) and is freed. */
static int finish_chunk(sl_snapshot *s, sl_emitter *out, sl_snap_result *r, sl_err *err)
{
    sl_snap_table *t = &s->tables[r->chunk.table];
    int rc = 0;
    size_t rows = r->batch->count;
    if (!t->announced) {
        /* the table's first event: its schema goes first */
        sl_event *se = sl_batch_prepend_event(r->batch, SL_OP_SCHEMA, t->schema);
        if (se) {
            se->pos = s->reader_pos;
            se->snapshot = SL_SNAP_TRUE;
            /* the server that wrote it (source.connector mariadb) as its rows */
            se->tx = se->next ? se->next->tx : NULL;
            t->announced = 1;
        }
    }
    sl_snap_inflight_remove(s, &r->chunk);
    t->chunks_done++;
    t->rows_done += rows;
    if (t->exhausted) {
        int open = 0;
        for (size_t k = 0; k < s->ninflight; k++)
            open |= s->inflight[k].table == r->chunk.table;
        for (size_t k = 0; k < s->nreread; k++)
            open |= s->reread[k].table == r->chunk.table;
        if (!open) {
            t->done = 1;
            sl_info("snapshot of %s done: %" PRIu64 " rows in %" PRIu64 " chunks", t->name, t->rows_done,
                    t->chunks_done);
        }
    }
    s->state_dirty = 1;
    pthread_mutex_unlock(&s->mu);
    char *tok = sl_snapshot_token(s, s->pos_json ? s->pos_json : "{}");
    pthread_mutex_lock(&s->mu);
    if (!tok || sl_emit_push_batch(out, r->batch, s->reader_pos, tok))
        rc = sl_errf(err, SL_ERUNTIME, "snapshot: cannot hand over chunk %u of %s", r->chunk.seq, t->name);
    free(tok);
    r->batch = NULL;
    sl_snap_chunk_free(&r->chunk);
    free(r);
    pthread_cond_broadcast(&s->cv);
    return rc;
}

/* Under s->mu: a held chunk goes out with Debezium's source.snapshot
 * markers; last is what its last row is (SL_SNAP_TRUE when more rows of
 * its table follow). Changes since it was held may supersede rows. */
static int emit_held(sl_snapshot *s, sl_emitter *out, sl_snap_result *r, uint8_t last, sl_err *err)
{
    sl_snap_table *t = &s->tables[r->chunk.table];
    if (t->reshaped && sl_pos_cmp(t->reshaped_at, r->at) >= 0 &&
        !(t->truncated && sl_pos_cmp(t->truncated_at, r->at) >= 0)) {
        /* the changelog showed a new shape while it was held */
        read_again(s, r, t, "it was read in the table's old shape");
        return 0;
    }
    if (t->truncated && sl_pos_cmp(t->truncated_at, r->at) >= 0) {
        for (sl_event *e = r->batch->head; e; e = e->next)
            e->op = 0;
        r->batch->head = r->batch->tail = NULL;
        r->batch->count = 0;
    }
    if (drop_superseded(s, r, t)) {
        sl_snap_chunk_free(&r->chunk);
        sl_batch_free(r->batch);
        free(r);
        return sl_errf(err, SL_ERUNTIME, "out of memory merging a snapshot chunk");
    }
    for (sl_event *e = r->batch->head; e; e = e->next) {
        int first = !t->rows_emitted, first_all = !s->rows_emitted;
        int is_last = e->next == NULL;
        t->rows_emitted = s->rows_emitted = 1;
        /* Debezium's precedence: the snapshot's last, its first, a table's
         * last, a table's first */
        if (is_last && last == SL_SNAP_LAST)
            e->snapshot = SL_SNAP_LAST;
        else if (first_all)
            e->snapshot = SL_SNAP_FIRST;
        else if (is_last && last == SL_SNAP_LAST_IN_TABLE)
            e->snapshot = SL_SNAP_LAST_IN_TABLE;
        else if (first)
            e->snapshot = SL_SNAP_FIRST_IN_TABLE;
    }
    return finish_chunk(s, out, r, err);
}

static sl_snap_result *unlink_held(sl_snapshot *s, uint32_t table, int final)
{
    for (sl_snap_result **l = &s->held; *l; l = &(*l)->next) {
        sl_snap_result *r = *l;
        if ((final && r->final) || (!final && !r->final && r->chunk.table == table)) {
            *l = r->next;
            r->next = NULL;
            return r;
        }
    }
    return NULL;
}

/* Under s->mu: a table whose held chunk is its only open one has that
 * chunk as its last; the previous finished table's last chunk then goes
 * out (the snapshot's last row is still to come). Once nothing else is
 * open, the last held chunk is the snapshot's last. */
static int settle_held(sl_snapshot *s, sl_emitter *out, uint32_t table, sl_err *err)
{
    sl_snap_table *t = &s->tables[table];
    int open = 0;
    for (size_t k = 0; k < s->ninflight; k++)
        open += s->inflight[k].table == table;
    for (size_t k = 0; k < s->nreread; k++)
        open += s->reread[k].table == table;
    int rc = 0;
    sl_snap_result *h;
    if (t->exhausted && open == 1 && (h = unlink_held(s, table, 0))) {
        sl_snap_result *prev = unlink_held(s, 0, 1);
        h->final = 1;
        h->next = s->held;
        s->held = h;
        if (prev)
            rc = emit_held(s, out, prev, SL_SNAP_LAST_IN_TABLE, err);
    }
    int all = s->nreread == 0;
    for (uint32_t i = 0; i < s->ntables && all; i++)
        all = s->tables[i].exhausted || s->tables[i].done;
    size_t nheld = 0;
    for (sl_snap_result *x = s->held; x; x = x->next)
        nheld++;
    if (!rc && all && s->ninflight == nheld && (h = unlink_held(s, 0, 1)))
        rc = emit_held(s, out, h, SL_SNAP_LAST, err);
    return rc;
}

/* Under s->mu: a held chunk whose table has a later chunk read with rows
 * (still waiting for the reader) is not its table's last; it goes out now
 * rather than when that chunk is merged, so that progress (and the
 * checkpoint) does not wait on the reader twice. */
static int release_followed(sl_snapshot *s, sl_emitter *out, sl_err *err)
{
    for (sl_snap_result **l = &s->held; *l;) {
        sl_snap_result *h = *l;
        int followed = 0;
        for (sl_snap_result *r = s->results; r && !followed && !h->final; r = r->next)
            followed = r->chunk.table == h->chunk.table && r->batch && r->batch->count > 0;
        if (!followed) {
            l = &h->next;
            continue;
        }
        *l = h->next;
        h->next = NULL;
        int rc = emit_held(s, out, h, SL_SNAP_TRUE, err);
        if (rc)
            return rc;
        l = &s->held; /* the list may have changed while the lock was released */
    }
    return 0;
}

int sl_snapshot_merge(sl_snapshot *s, sl_emitter *out, sl_err *err)
{
    int took = sl_emit_hold(out);
    pthread_mutex_lock(&s->mu);
    int rc = 0;
    for (sl_snap_result **link = &s->results; *link && !rc;) {
        sl_snap_result *r = *link;
        if (!s->have_reader_pos || sl_pos_cmp(r->ready, s->reader_pos) > 0) {
            link = &r->next;
            continue;
        }
        *link = r->next;
        sl_snapshot_count_results(s, -1);
        /* a reader may wait for room (held chunks do not count) */
        pthread_cond_broadcast(&s->cv);
        sl_snap_table *t = &s->tables[r->chunk.table];
        if (!sl_touch_covers(&s->touches, r->at) && s->single_position) {
            /* reading again at the same position cannot help: start over
             * from the last checkpoint under a new snapshot (finished
             * chunks stay finished) */
            rc = sl_errf(err, SL_ERETRY,
                         "snapshot of %s: more changes arrived during the snapshot than its touch log holds; "
                         "restarting from the last checkpoint with a new snapshot",
                         t->name);
            *link = r; /* stays queued; freed with the snapshot */
            sl_snapshot_count_results(s, 1);
            break;
        }
        if (!sl_touch_covers(&s->touches, r->at)) {
            /* the changes after this chunk's snapshot are no longer known */
            read_again(s, r, t, "its position is older than the touch log");
            continue;
        }
        if (t->reshaped && sl_pos_cmp(t->reshaped_at, r->at) >= 0 &&
            !(t->truncated && sl_pos_cmp(t->truncated_at, r->at) >= 0)) {
            /* never emitted in the shape the changelog has left */
            read_again(s, r, t, "it was read in the table's old shape");
            continue;
        }
        if (t->truncated && sl_pos_cmp(t->truncated_at, r->at) >= 0) {
            /* truncated after this chunk was read: none of its rows exist */
            sl_debug("snapshot of %s: chunk %u is older than a TRUNCATE; its %zu rows are dropped", t->name,
                     r->chunk.seq, r->batch->count);
            for (sl_event *e = r->batch->head; e; e = e->next)
                e->op = 0;
            r->batch->head = r->batch->tail = NULL;
            r->batch->count = 0;
        }
        uint32_t table = r->chunk.table;
        if (drop_superseded(s, r, t)) {
            rc = sl_errf(err, SL_ERUNTIME, "out of memory merging a snapshot chunk");
            sl_snap_chunk_free(&r->chunk);
            sl_batch_free(r->batch);
            free(r);
        } else if (r->batch->count == 0) {
            /* nothing to mark: it goes out at once (its token records it done) */
            rc = finish_chunk(s, out, r, err);
        } else {
            /* held until the next non-empty chunk of its table (or the
             * snapshot's end) says what its last row is */
            sl_snap_result *prev = unlink_held(s, table, 0);
            r->next = s->held;
            s->held = r;
            if (prev)
                rc = emit_held(s, out, prev, SL_SNAP_TRUE, err);
        }
        if (!rc)
            rc = settle_held(s, out, table, err);
        if (!rc)
            rc = release_followed(s, out, err);
        /* the list may have changed while the lock was released */
        link = &s->results;
    }
    /* forget touches no chunk in flight can need */
    sl_pos low = s->reader_pos;
    for (size_t k = 0; k < s->ninflight; k++)
        if (sl_pos_cmp(s->inflight[k].lower_bound, low) < 0)
            low = s->inflight[k].lower_bound;
    for (int list = 0; list < 2; list++)
        for (sl_snap_result *r = list ? s->held : s->results; r; r = r->next)
            if (sl_pos_cmp(r->at, low) < 0)
                low = r->at;
    for (size_t k = 0; k < s->nreread; k++)
        if (sl_pos_cmp(s->reread[k].lower_bound, low) < 0)
            low = s->reread[k].lower_bound;
    /* chunks not assigned yet will be at max_seen at the earliest (with a
     * shared exported snapshot every chunk is exactly there): keep what
     * they will need even while no chunk is in flight */
    int unassigned = 0;
    for (uint32_t i = 0; i < s->ntables; i++)
        unassigned |= !s->tables[i].exhausted && !s->tables[i].done;
    if (unassigned && sl_pos_cmp(s->max_seen, low) < 0)
        low = s->max_seen;
    if (s->have_reader_pos)
        sl_touch_prune(&s->touches, low);
    sl_snap_progress(s);
    sl_snap_publish(s);
    pthread_mutex_unlock(&s->mu);
    sl_emit_drop(out, took);
    return rc;
}
