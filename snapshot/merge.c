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

/* Drops the chunk rows whose keys the changelog touched at or after r->at. */
static int drop_superseded(sl_snapshot *s, sl_snap_result *r, const sl_snap_table *t)
{
    int any = 0;
    for (size_t i = 0; i < s->touches.n && !any; i++) {
        const sl_touch *x = &s->touches.items[s->touches.head + i];
        any = x->table == r->chunk.table && sl_pos_cmp(x->pos, r->at) >= 0;
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
        sl_touch_each(&s->touches, r->chunk.table, r->at, drop_touched, &d);
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
        if (drop_superseded(s, r, t)) {
            rc = sl_errf(err, SL_ERUNTIME, "out of memory merging a snapshot chunk");
        } else {
            size_t rows = r->batch->count;
            if (!t->announced) {
                /* the table's first event: its schema goes first */
                sl_event *se = sl_batch_prepend_event(r->batch, SL_OP_SCHEMA, t->schema);
                if (se) {
                    se->pos = s->reader_pos;
                    se->snapshot = SL_SNAP_TRUE;
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
        }
        sl_snap_chunk_free(&r->chunk);
        sl_batch_free(r->batch);
        free(r);
        pthread_cond_broadcast(&s->cv);
    }
    /* forget touches no chunk in flight can need */
    sl_pos low = s->reader_pos;
    for (size_t k = 0; k < s->ninflight; k++)
        if (sl_pos_cmp(s->inflight[k].lower_bound, low) < 0)
            low = s->inflight[k].lower_bound;
    for (sl_snap_result *r = s->results; r; r = r->next)
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
