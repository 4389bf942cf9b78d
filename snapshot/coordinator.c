/* coordinator.c — split state, chunk assignment, the merge of chunks into
 * the changelog stream, checkpoint state and progress of a snapshot.
 * See snapshot.h for the algorithm and why it is exact. */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/clock.h"
#include "../core/log.h"
#include "rowkey.h"
#include "snapshot.h"

struct sl_snap_result {
    sl_snap_result *next;
    sl_snap_chunk chunk;
    sl_pos at;
    sl_batch *batch;
};

enum { TOUCH_LOG_BYTES = 64 << 20, PROGRESS_MS = 5000 };

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static void chunk_free(sl_snap_chunk *c)
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
    s->tty = isatty(2);
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
        chunk_free(&s->reread[i]);
    free(s->reread);
    for (size_t i = 0; i < s->ninflight; i++)
        chunk_free(&s->inflight[i]);
    free(s->inflight);
    for (sl_snap_result *r = s->results, *n; r; r = n) {
        n = r->next;
        chunk_free(&r->chunk);
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

static int push_chunk(sl_snap_chunk **arr, size_t *n, size_t *cap, const sl_snap_chunk *c)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        sl_snap_chunk *a = realloc(*arr, ncap * sizeof *a);
        if (!a)
            return -1;
        *arr = a;
        *cap = ncap;
    }
    (*arr)[(*n)++] = *c;
    return 0;
}

static char *json_text_or_null(json_t *v)
{
    if (!v || json_is_null(v))
        return NULL;
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

int sl_snapshot_restore(sl_snapshot *s, const char *state_json, sl_err *err)
{
    json_error_t je;
    json_t *root = json_loads(state_json, JSON_DECODE_ANY, &je);
    json_t *tables = root ? json_object_get(root, "tables") : NULL;
    if (!json_is_array(tables)) {
        json_decref(root);
        return sl_errf(err, SL_ERUNTIME, "checkpoint snapshot state is damaged: %s", state_json);
    }
    size_t i;
    json_t *jt;
    json_array_foreach(tables, i, jt) {
        const char *name = json_string_value(json_object_get(jt, "t"));
        int idx = name ? sl_snapshot_find_table(s, name) : -1;
        if (idx < 0)
            continue; /* a table no longer configured */
        sl_snap_table *t = &s->tables[idx];
        t->done = json_is_true(json_object_get(jt, "done"));
        t->exhausted = t->done || json_is_true(json_object_get(jt, "exhausted"));
        free(t->next_lo);
        t->next_lo = json_text_or_null(json_object_get(jt, "next"));
        t->chunks_done = (uint64_t)json_integer_value(json_object_get(jt, "chunks"));
        t->rows_done = (uint64_t)json_integer_value(json_object_get(jt, "rows"));
        t->next_seq = (uint32_t)t->chunks_done;
        if (t->arith && t->next_lo) {
            json_t *arr = json_loads(t->next_lo, 0, &je);
            const char *p = json_string_value(json_array_get(arr, 0));
            if (p && strncmp(p, "n:", 2) == 0)
                t->arith_next = strtoll(p + 2, NULL, 10);
            json_decref(arr);
        }
        json_t *pending = json_object_get(jt, "pending");
        size_t k;
        json_t *pc;
        json_array_foreach(pending, k, pc) {
            sl_snap_chunk c = {.table = (uint32_t)idx, .seq = t->next_seq++};
            c.lo = json_text_or_null(json_array_get(pc, 0));
            c.hi = json_text_or_null(json_array_get(pc, 1));
            c.lower_bound = s->max_seen;
            if (push_chunk(&s->reread, &s->nreread, &s->reread_cap, &c)) {
                chunk_free(&c);
                json_decref(root);
                return sl_errf(err, SL_ERUNTIME, "out of memory");
            }
        }
        if (t->done)
            sl_info("snapshot of %s finished before the restart", t->name);
        else
            sl_info("snapshot of %s resumes: %" PRIu64 " chunks done, %zu to read again", t->name,
                    t->chunks_done, json_array_size(pending));
    }
    json_decref(root);
    s->state_dirty = 1;
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

int sl_snapshot_next_chunk(sl_snapshot *s, sl_snap_chunk *c, sl_snap_split_fn split, void *ctx, sl_err *err)
{
    pthread_mutex_lock(&s->mu);
    for (;;) {
        if (s->failed) {
            pthread_mutex_unlock(&s->mu);
            return -1;
        }
        /* memory bound: at most `parallelism` chunks wait for the merge */
        if (s->nresults >= (size_t)s->parallelism) {
            pthread_cond_wait(&s->cv, &s->mu);
            continue;
        }
        if (s->nreread) {
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
            int64_t next = t->arith_next + t->arith_step;
            if (next <= t->arith_next || next > t->arith_max)
                hi = NULL;
            else
                hi = arith_bound(next);
        } else {
            int rc = split(ctx, t, t->next_lo, &hi, err);
            if (rc) {
                pthread_mutex_unlock(&s->mu);
                return rc;
            }
        }
        c->table = s->cur_table;
        c->seq = t->next_seq++;
        c->lo = dup_or_null(t->next_lo);
        c->hi = hi;
        c->lower_bound = s->max_seen;
        free(t->next_lo);
        t->next_lo = dup_or_null(hi);
        if (t->arith && hi)
            t->arith_next += t->arith_step;
        if (!hi)
            t->exhausted = 1;
        break;
    }
    sl_snap_chunk copy = {c->table, c->seq, dup_or_null(c->lo), dup_or_null(c->hi), c->lower_bound};
    int rc = push_chunk(&s->inflight, &s->ninflight, &s->inflight_cap, &copy);
    s->state_dirty = 1;
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        chunk_free(&copy);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    return 1;
}

static void remove_inflight(sl_snapshot *s, const sl_snap_chunk *c)
{
    for (size_t i = 0; i < s->ninflight; i++) {
        if (s->inflight[i].table == c->table && s->inflight[i].seq == c->seq) {
            chunk_free(&s->inflight[i]);
            s->inflight[i] = s->inflight[--s->ninflight];
            return;
        }
    }
}

int sl_snapshot_submit(sl_snapshot *s, sl_snap_chunk *c, sl_pos at, sl_batch *batch, sl_err *err)
{
    sl_snap_result *r = calloc(1, sizeof *r);
    if (!r) {
        sl_batch_free(batch);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    r->chunk = *c;
    c->lo = c->hi = NULL;
    r->at = at;
    r->batch = batch;
    pthread_mutex_lock(&s->mu);
    r->next = s->results;
    s->results = r;
    s->nresults++;
    if (sl_pos_cmp(at, s->max_seen) > 0)
        s->max_seen = at;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

void sl_snapshot_abandon(sl_snapshot *s, sl_snap_chunk *c)
{
    pthread_mutex_lock(&s->mu);
    remove_inflight(s, c);
    sl_snap_chunk copy = *c;
    c->lo = c->hi = NULL;
    if (push_chunk(&s->inflight, &s->ninflight, &s->inflight_cap, &copy) == 0) {
        sl_snap_chunk again = {copy.table, copy.seq, dup_or_null(copy.lo), dup_or_null(copy.hi), s->max_seen};
        if (push_chunk(&s->reread, &s->nreread, &s->reread_cap, &again))
            chunk_free(&again);
        /* it stays in flight (the checkpoint must not skip it) */
    } else {
        chunk_free(&copy);
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

static char *bounds_pair(const sl_snap_chunk *c)
{
    size_t n = (c->lo ? strlen(c->lo) : 4) + (c->hi ? strlen(c->hi) : 4) + 8;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "[%s,%s]", c->lo ? c->lo : "null", c->hi ? c->hi : "null");
    return p;
}

/* Under s->mu. */
static int build_state(sl_snapshot *s)
{
    sl_buf b;
    sl_buf_init(&b);
    sl_buf_adds(&b, "{\"tables\":[");
    for (uint32_t i = 0; i < s->ntables; i++) {
        sl_snap_table *t = &s->tables[i];
        if (i)
            sl_buf_addc(&b, ',');
        sl_buf_adds(&b, "{\"t\":");
        json_t *name = json_string(t->name);
        char *ntext = json_dumps(name, JSON_ENCODE_ANY);
        sl_buf_adds(&b, ntext ? ntext : "\"\"");
        free(ntext);
        json_decref(name);
        if (t->done) {
            sl_buf_adds(&b, ",\"done\":true}");
            continue;
        }
        sl_buf_adds(&b, ",\"next\":");
        sl_buf_adds(&b, t->next_lo ? t->next_lo : "null");
        sl_buf_adds(&b, t->exhausted ? ",\"exhausted\":true" : ",\"exhausted\":false");
        sl_buf_adds(&b, ",\"chunks\":");
        sl_buf_u64(&b, t->chunks_done);
        sl_buf_adds(&b, ",\"rows\":");
        sl_buf_u64(&b, t->rows_done);
        sl_buf_adds(&b, ",\"pending\":[");
        int first = 1;
        for (size_t k = 0; k < s->ninflight; k++) {
            if (s->inflight[k].table != i)
                continue;
            char *pair = bounds_pair(&s->inflight[k]);
            if (!first)
                sl_buf_addc(&b, ',');
            sl_buf_adds(&b, pair ? pair : "[null,null]");
            free(pair);
            first = 0;
        }
        for (size_t k = 0; k < s->nreread; k++) {
            if (s->reread[k].table != i)
                continue;
            /* abandoned chunks stay in flight too; listed once is enough */
            int dup = 0;
            for (size_t j = 0; j < s->ninflight; j++)
                dup |= s->inflight[j].table == i && s->inflight[j].seq == s->reread[k].seq;
            if (dup)
                continue;
            char *pair = bounds_pair(&s->reread[k]);
            if (!first)
                sl_buf_addc(&b, ',');
            sl_buf_adds(&b, pair ? pair : "[null,null]");
            free(pair);
            first = 0;
        }
        sl_buf_adds(&b, "]}");
    }
    sl_buf_adds(&b, "]}");
    sl_buf_addc(&b, 0);
    if (b.failed) {
        sl_buf_free(&b);
        return -1;
    }
    free(s->state_json);
    s->state_json = b.data;
    s->state_dirty = 0;
    return 0;
}

char *sl_snapshot_token(sl_snapshot *s, const char *pos_json)
{
    pthread_mutex_lock(&s->mu);
    if ((s->state_dirty || !s->state_json) && build_state(s)) {
        pthread_mutex_unlock(&s->mu);
        return NULL;
    }
    size_t plen = strlen(pos_json);
    size_t n = plen + strlen(s->state_json) + 16;
    char *tok = malloc(n);
    if (tok && plen >= 2 && pos_json[plen - 1] == '}')
        snprintf(tok, n, "%.*s,\"snapshot\":%s}", (int)(plen - 1), pos_json, s->state_json);
    else if (tok)
        snprintf(tok, n, "%s", pos_json);
    pthread_mutex_unlock(&s->mu);
    return tok;
}

int sl_snapshot_take_announce(sl_snapshot *s, const sl_table_schema *schema)
{
    int idx = sl_snapshot_find_table(s, schema->qualified);
    if (idx < 0 || s->tables[idx].announced || s->tables[idx].schema != schema)
        return 0;
    s->tables[idx].announced = 1;
    return 1;
}

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

static void progress(sl_snapshot *s, int force)
{
    int64_t now = sl_mono_ms();
    if (!force && now - s->last_progress_ms < (s->tty ? 500 : PROGRESS_MS))
        return;
    s->last_progress_ms = now;
    double secs = (double)(now - s->started_ms) / 1000.0;
    for (uint32_t i = 0; i < s->ntables; i++) {
        sl_snap_table *t = &s->tables[i];
        if (t->done && !force)
            continue;
        uint64_t total = t->est_rows / (s->chunk_size ? s->chunk_size : 1) + 1;
        if (t->done || total < t->chunks_done)
            total = t->chunks_done;
        double rate = secs > 0 ? (double)t->rows_done / secs : 0;
        double eta = rate > 0 && t->est_rows > t->rows_done ? (double)(t->est_rows - t->rows_done) / rate : 0;
        if (s->tty && !force)
            fprintf(stderr, "\rsnapshot %s: chunks %" PRIu64 "/%" PRIu64 ", %" PRIu64 " rows, %.0f rows/s, ETA %.0fs   ",
                    t->name, t->chunks_done, total, t->rows_done, rate, eta);
        else
            sl_info("snapshot %s: chunks %" PRIu64 "/%" PRIu64 ", %" PRIu64 " rows, %.0f rows/s%s", t->name,
                    t->chunks_done, total, t->rows_done, rate, t->done ? ", done" : "");
        if (!force)
            break;
    }
}

int sl_snapshot_merge(sl_snapshot *s, sl_emitter *out, sl_err *err)
{
    int took = sl_emit_hold(out);
    pthread_mutex_lock(&s->mu);
    int rc = 0;
    for (sl_snap_result **link = &s->results; *link && !rc;) {
        sl_snap_result *r = *link;
        if (!s->have_reader_pos || sl_pos_cmp(r->at, s->reader_pos) > 0) {
            link = &r->next;
            continue;
        }
        *link = r->next;
        s->nresults--;
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
            s->nresults++;
            break;
        }
        if (!sl_touch_covers(&s->touches, r->at)) {
            /* the changes after this chunk's snapshot are no longer known */
            sl_debug("snapshot of %s: chunk %u is read again (its position is older than the touch log)",
                     t->name, r->chunk.seq);
            sl_snap_chunk again = {r->chunk.table, r->chunk.seq, r->chunk.lo, r->chunk.hi, s->max_seen};
            r->chunk.lo = r->chunk.hi = NULL;
            if (push_chunk(&s->reread, &s->nreread, &s->reread_cap, &again))
                chunk_free(&again);
            sl_batch_free(r->batch);
            free(r);
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
            remove_inflight(s, &r->chunk);
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
        chunk_free(&r->chunk);
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
    progress(s, 0);
    pthread_mutex_unlock(&s->mu);
    sl_emit_drop(out, took);
    return rc;
}

char *sl_snap_bound_from_row(const sl_table_schema *schema, const int *key_cols, int nkey, const sl_value *row)
{
    json_t *arr = json_array();
    for (int k = 0; k < nkey && arr; k++) {
        const sl_value *v = &row[key_cols[k]];
        char buf[64];
        json_t *item = NULL;
        switch ((sl_kind)v->kind) {
        case SL_INT:
        case SL_YEAR:
        case SL_BOOL:
            snprintf(buf, sizeof buf, "n:%lld", (long long)v->v.i);
            item = json_string(buf);
            break;
        case SL_UINT:
        case SL_BIT:
            snprintf(buf, sizeof buf, "n:%llu", (unsigned long long)v->v.u);
            item = json_string(buf);
            break;
        case SL_BYTES: {
            char *hex = malloc((size_t)v->len * 2 + 3);
            if (!hex)
                break;
            static const char hx[] = "0123456789abcdef";
            hex[0] = 'x';
            hex[1] = ':';
            for (uint32_t i = 0; i < v->len; i++) {
                hex[2 + 2 * i] = hx[(unsigned char)v->v.s[i] >> 4];
                hex[3 + 2 * i] = hx[(unsigned char)v->v.s[i] & 15];
            }
            hex[2 + 2 * v->len] = 0;
            item = json_string(hex);
            free(hex);
            break;
        }
        case SL_DATE:
        case SL_TIME:
        case SL_DATETIME:
        case SL_TIMESTAMP:
        case SL_FLOAT:
        case SL_DOUBLE: {
            char t[64] = "s:";
            sl_value_sql_text(v, t + 2, sizeof t - 2);
            item = json_string(t);
            break;
        }
        default: {
            /* text forms the server parses back: strings, decimals */
            char *txt = malloc((size_t)v->len + 3);
            if (!txt)
                break;
            txt[0] = 's';
            txt[1] = ':';
            memcpy(txt + 2, v->v.s, v->len);
            txt[2 + v->len] = 0;
            item = json_stringn(txt, (size_t)v->len + 2);
            free(txt);
            break;
        }
        }
        if (!item || json_array_append_new(arr, item)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    char *s = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    return s;
}
