/* coordinator.c — a snapshot's split state and chunk assignment: the
 * tables and how far each is split, the chunks in flight and to read
 * again, the keys the changelog touched. The merge, the checkpoint state
 * and the progress report live beside it (coordinator.h). See snapshot.h
 * for the algorithm and why it is exact. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/buf.h"
#include "../core/clock.h"
#include "coordinator.h"
#include "rowkey.h"

enum { TOUCH_LOG_BYTES = 64 << 20 };

char *sl_snap_dup(const char *s) { return s ? strdup(s) : NULL; }

void sl_snap_chunk_free(sl_snap_chunk *c)
{
    free(c->lo);
    free(c->hi);
    c->lo = c->hi = NULL;
}

int sl_snapshot_init(sl_snapshot *s, size_t chunk_size, int parallelism, sl_pos start)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->chunk_size = chunk_size;
    s->parallelism = parallelism;
    s->max_seen = start;
    sl_touch_log_init(&s->touches, TOUCH_LOG_BYTES);
    /* nothing before the start position was recorded */
    s->touches.forgot = 1;
    s->touches.forgotten_below = start;
    s->state_dirty = 1;
    s->started_ms = s->last_progress_ms = sl_mono_ms();
    return 0;
}

void sl_snapshot_free(sl_snapshot *s)
{
    for (uint32_t i = 0; i < s->ntables; i++) {
        free(s->tables[i].name);
        free(s->tables[i].key_cols);
        free(s->tables[i].next_lo);
    }
    free(s->tables);
    free(s->index);
    for (size_t i = 0; i < s->nreread; i++)
        sl_snap_chunk_free(&s->reread[i]);
    free(s->reread);
    for (size_t i = 0; i < s->ninflight; i++)
        sl_snap_chunk_free(&s->inflight[i]);
    free(s->inflight);
    for (int list = 0; list < 2; list++)
        for (sl_snap_result *r = list ? s->held : s->results, *n; r; r = n) {
            n = r->next;
            sl_snap_chunk_free(&r->chunk);
            sl_batch_free(r->batch);
            free(r);
        }
    sl_touch_log_free(&s->touches);
    free(s->pos_json);
    free(s->state_json);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
}

static size_t name_hash(const char *name) { return (size_t)sl_rowkey_hash(name, strlen(name)); }

static void index_put(sl_snapshot *s, uint32_t t)
{
    size_t h = name_hash(s->tables[t].name) & (s->index_cap - 1);
    while (s->index[h])
        h = (h + 1) & (s->index_cap - 1);
    s->index[h] = t + 1;
}

int sl_snapshot_add_table(sl_snapshot *s, const char *name, const sl_table_schema *schema, const int *key_cols,
                          int nkey, uint64_t est_rows, sl_err *err)
{
    sl_snap_table *nt = realloc(s->tables, (s->ntables + 1) * sizeof *nt);
    if (!nt)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    s->tables = nt;
    sl_snap_table *t = &s->tables[s->ntables];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    t->schema = schema;
    t->key_cols = malloc((size_t)(nkey > 0 ? nkey : 1) * sizeof *t->key_cols);
    if (!t->name || !t->key_cols) {
        free(t->name);
        free(t->key_cols);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    memcpy(t->key_cols, key_cols, (size_t)nkey * sizeof *key_cols);
    t->nkey = nkey;
    t->est_rows = est_rows;
    s->ntables++;
    s->state_dirty = 1;
    if ((size_t)s->ntables * 2 > s->index_cap) {
        /* every change event looks its table up: keep that O(1) */
        size_t cap = s->index_cap ? s->index_cap * 2 : 16;
        uint32_t *ix = calloc(cap, sizeof *ix);
        if (!ix)
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        free(s->index);
        s->index = ix;
        s->index_cap = cap;
        for (uint32_t i = 0; i + 1 < s->ntables; i++)
            index_put(s, i);
    }
    index_put(s, s->ntables - 1);
    return 0;
}

int sl_snapshot_find_table(const sl_snapshot *s, const char *name)
{
    if (!s->index_cap)
        return -1;
    for (size_t h = name_hash(name) & (s->index_cap - 1); s->index[h]; h = (h + 1) & (s->index_cap - 1))
        if (strcmp(s->tables[s->index[h] - 1].name, name) == 0)
            return (int)s->index[h] - 1;
    return -1;
}

int sl_snap_chunk_push(sl_snap_chunk **arr, size_t *n, size_t *cap, const sl_snap_chunk *c)
{
    if (sl_grow((void **)arr, cap, *n + 1, sizeof **arr))
        return -1;
    (*arr)[(*n)++] = *c;
    return 0;
}

int sl_snapshot_complete(sl_snapshot *s)
{
    pthread_mutex_lock(&s->mu);
    int done = 1;
    for (uint32_t i = 0; i < s->ntables; i++)
        done &= s->tables[i].done;
    pthread_mutex_unlock(&s->mu);
    return done;
}

static char *arith_bound(int64_t v)
{
    char buf[64];
    snprintf(buf, sizeof buf, "[\"n:%lld\"]", (long long)v);
    return strdup(buf);
}

/* room for one more in-flight chunk, so that recording a taken chunk
 * cannot fail after the table's cursor moved past it */
static int reserve_inflight(sl_snapshot *s)
{
    return sl_grow((void **)&s->inflight, &s->inflight_cap, s->ninflight + 1, sizeof *s->inflight);
}

/* copies of a chunk's bounds (NULL stays NULL); on failure neither */
static int dup_bounds(const char *lo, const char *hi, char **lo2, char **hi2)
{
    *lo2 = sl_snap_dup(lo);
    *hi2 = sl_snap_dup(hi);
    if ((lo && !*lo2) || (hi && !*hi2)) {
        free(*lo2);
        free(*hi2);
        *lo2 = *hi2 = NULL;
        return -1;
    }
    return 0;
}

/* wait: block while the memory bound is reached; otherwise return 0 then.
 * Every allocation comes before the coordinator changes: out of memory
 * leaves the chunk where it was (the cursor, the re-read list), never
 * taken but recorded nowhere. */
static int take_chunk(sl_snapshot *s, sl_snap_chunk *c, sl_snap_split_fn split, void *ctx, int wait, sl_err *err)
{
    char *clo = NULL, *chi = NULL; /* the in-flight record's bounds */
    pthread_mutex_lock(&s->mu);
    for (;;) {
        if (s->failed) {
            pthread_mutex_unlock(&s->mu);
            return -1;
        }
        /* memory bound: at most `parallelism` chunks wait for the merge */
        if (sl_snapshot_waiting(s) >= (size_t)s->parallelism || (!wait && !s->rows_emitted)) {
            /* a later chunk of a group only once chunks go out as they are
             * read (the changelog reader has passed them): its reader then
             * does not wait for room in the middle of a group */
            if (!wait) {
                pthread_mutex_unlock(&s->mu);
                return 0;
            }
            pthread_cond_wait(&s->cv, &s->mu);
            continue;
        }
        if (s->nreread) {
            const sl_snap_chunk *r = &s->reread[s->nreread - 1];
            if (reserve_inflight(s) || dup_bounds(r->lo, r->hi, &clo, &chi))
                goto oom;
            *c = s->reread[--s->nreread];
            c->lower_bound = s->max_seen;
            break;
        }
        while (s->cur_table < s->ntables && (s->tables[s->cur_table].exhausted || s->tables[s->cur_table].done))
            s->cur_table++;
        if (s->cur_table >= s->ntables) {
            pthread_mutex_unlock(&s->mu);
            return 0;
        }
        sl_snap_table *t = &s->tables[s->cur_table];
        char *hi = NULL;
        if (t->arith) {
            /* a key range ending near INT64_MAX: the last step would
             * overflow, so the last chunk is the open-ended rest */
            int64_t next;
            if (__builtin_add_overflow(t->arith_next, t->arith_step, &next) || next <= t->arith_next ||
                next > t->arith_max)
                hi = NULL;
            else if (!(hi = arith_bound(next)))
                goto oom;
        } else {
            int rc = split(ctx, t, t->next_lo, &hi, err);
            if (rc) {
                pthread_mutex_unlock(&s->mu);
                return rc;
            }
        }
        char *lo, *next_lo;
        if (reserve_inflight(s) || dup_bounds(t->next_lo, hi, &lo, &next_lo)) {
            free(hi);
            goto oom;
        }
        if (dup_bounds(t->next_lo, hi, &clo, &chi)) {
            free(lo);
            free(next_lo);
            free(hi);
            goto oom;
        }
        c->table = s->cur_table;
        c->seq = t->next_seq++;
        c->lo = lo;
        c->hi = hi;
        c->lower_bound = s->max_seen;
        free(t->next_lo);
        t->next_lo = next_lo;
        if (t->arith && hi)
            t->arith_next += t->arith_step;
        if (!hi)
            t->exhausted = 1;
        break;
    }
    /* a chunk read again may still be listed in flight (abandoned, or
     * older than the touch log): it is in flight once */
    sl_snap_inflight_remove(s, c);
    s->inflight[s->ninflight++] = (sl_snap_chunk){c->table, c->seq, clo, chi, c->lower_bound};
    s->state_dirty = 1;
    pthread_mutex_unlock(&s->mu);
    return 1;
oom:
    pthread_mutex_unlock(&s->mu);
    return sl_errf(err, SL_ERUNTIME, "out of memory taking a snapshot chunk");
}

int sl_snapshot_next_chunk(sl_snapshot *s, sl_snap_chunk *c, sl_snap_split_fn split, void *ctx, sl_err *err)
{
    return take_chunk(s, c, split, ctx, 1, err);
}

int sl_snapshot_more_chunk(sl_snapshot *s, sl_snap_chunk *c, sl_snap_split_fn split, void *ctx, sl_err *err)
{
    return take_chunk(s, c, split, ctx, 0, err);
}

int sl_snapshot_wait_room(sl_snapshot *s)
{
    pthread_mutex_lock(&s->mu);
    while (!s->failed && sl_snapshot_waiting(s) >= (size_t)s->parallelism)
        pthread_cond_wait(&s->cv, &s->mu);
    int failed = s->failed;
    pthread_mutex_unlock(&s->mu);
    return failed ? -1 : 0;
}

void sl_snap_inflight_remove(sl_snapshot *s, const sl_snap_chunk *c)
{
    for (size_t i = 0; i < s->ninflight; i++) {
        if (s->inflight[i].table == c->table && s->inflight[i].seq == c->seq) {
            sl_snap_chunk_free(&s->inflight[i]);
            s->inflight[i] = s->inflight[--s->ninflight];
            return;
        }
    }
}

int sl_snapshot_submit(sl_snapshot *s, sl_snap_chunk *c, sl_pos at, sl_batch *batch, sl_err *err)
{
    return sl_snapshot_submit_window(s, c, at, at, batch, err);
}

int sl_snapshot_submit_window(sl_snapshot *s, sl_snap_chunk *c, sl_pos low, sl_pos high, sl_batch *batch,
                              sl_err *err)
{
    sl_snap_result *r = calloc(1, sizeof *r);
    if (!r) {
        sl_batch_free(batch);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    r->chunk = *c;
    c->lo = c->hi = NULL;
    r->at = low;
    r->ready = sl_pos_cmp(high, low) > 0 ? high : low;
    r->batch = batch;
    pthread_mutex_lock(&s->mu);
    r->next = s->results;
    s->results = r;
    sl_snapshot_count_results(s, 1);
    /* the lower bound of chunks assigned later: their window or position
     * starts at or after this chunk's */
    if (sl_pos_cmp(low, s->max_seen) > 0)
        s->max_seen = low;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

void sl_snapshot_abandon(sl_snapshot *s, sl_snap_chunk *c)
{
    pthread_mutex_lock(&s->mu);
    sl_snap_inflight_remove(s, c);
    sl_snap_chunk copy = *c;
    c->lo = c->hi = NULL;
    if (sl_snap_chunk_push(&s->inflight, &s->ninflight, &s->inflight_cap, &copy) == 0) {
        sl_snap_chunk again = {copy.table, copy.seq, sl_snap_dup(copy.lo), sl_snap_dup(copy.hi), s->max_seen};
        if (sl_snap_chunk_push(&s->reread, &s->nreread, &s->reread_cap, &again))
            sl_snap_chunk_free(&again);
        /* it stays in flight (the checkpoint must not skip it) */
    } else {
        sl_snap_chunk_free(&copy);
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void sl_snapshot_fail(sl_snapshot *s)
{
    pthread_mutex_lock(&s->mu);
    s->failed = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

int sl_snapshot_touch(sl_snapshot *s, const sl_table_schema *schema, sl_pos pos, const sl_value *before,
                      const sl_value *after)
{
    int idx = sl_snapshot_find_table(s, schema->qualified);
    if (idx < 0 || s->tables[idx].done)
        return 0;
    sl_buf key;
    sl_buf_init(&key);
    int rc = 0;
    for (int side = 0; side < 2 && !rc; side++) {
        const sl_value *row = side ? after : before;
        if (!row)
            continue;
        sl_buf_reset(&key);
        sl_rowkey_encode(&key, schema, NULL, 0, row);
        rc = key.failed ? -1 : sl_touch_add(&s->touches, (uint32_t)idx, pos, key.data, key.len);
    }
    sl_buf_free(&key);
    return rc;
}

void sl_snapshot_truncate(sl_snapshot *s, const sl_table_schema *schema, sl_pos pos)
{
    int idx = sl_snapshot_find_table(s, schema->qualified);
    if (idx < 0 || s->tables[idx].done)
        return;
    s->tables[idx].truncated = 1;
    s->tables[idx].truncated_at = pos;
}

void sl_snapshot_reshape(sl_snapshot *s, const sl_table_schema *now, sl_pos pos)
{
    int idx = sl_snapshot_find_table(s, now->qualified);
    if (idx < 0 || s->tables[idx].done)
        return;
    pthread_mutex_lock(&s->mu);
    sl_snap_table *t = &s->tables[idx];
    /* the chunk key keeps its columns, which may have moved */
    for (int k = 0; k < t->nkey; k++)
        for (int i = 0; i < now->ncols; i++)
            if (strcmp(now->cols[i].name, t->schema->cols[t->key_cols[k]].name) == 0)
                t->key_cols[k] = i;
    t->schema = now;
    t->reshaped = 1;
    t->reshaped_at = pos;
    /* the changelog announces the new shape itself */
    t->announced = 0;
    s->state_dirty = 1;
    pthread_mutex_unlock(&s->mu);
}

const sl_table_schema *sl_snapshot_schema(sl_snapshot *s, uint32_t table)
{
    pthread_mutex_lock(&s->mu);
    const sl_table_schema *sc = s->tables[table].schema;
    pthread_mutex_unlock(&s->mu);
    return sc;
}

int sl_snapshot_at(sl_snapshot *s, sl_pos pos, const char *pos_json)
{
    s->reader_pos = pos;
    s->have_reader_pos = 1;
    if (!s->pos_json || strcmp(s->pos_json, pos_json) != 0) {
        free(s->pos_json);
        s->pos_json = strdup(pos_json);
        if (!s->pos_json)
            return -1;
    }
    return 0;
}

int sl_snapshot_take_announce(sl_snapshot *s, const sl_table_schema *schema)
{
    int idx = sl_snapshot_find_table(s, schema->qualified);
    if (idx < 0 || s->tables[idx].announced || s->tables[idx].schema != schema)
        return 0;
    s->tables[idx].announced = 1;
    return 1;
}
