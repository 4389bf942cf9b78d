/* mem_plugins.c — the memory source and memory sink (test plugins, see
 * mem_plugins.h). They follow the plugin contract as a real connector
 * does: the source only talks to the emitter, the sink only borrows each
 * batch during write() and copies what it keeps. */
#include "mem_plugins.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../pipeline/runtime.h"

/* ---- gates and the journal ---- */

static void deadline_in(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void gate_init(mem_gate *g)
{
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->entered = g->open = 0;
}

static void gate_free(mem_gate *g)
{
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
}

int mem_gate_wait_entered(mem_gate *g, int n, int timeout_ms)
{
    struct timespec until;
    deadline_in(&until, timeout_ms);
    pthread_mutex_lock(&g->mu);
    int rc = 0;
    while (g->entered < n && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&g->cv, &g->mu, &until);
    int ok = g->entered >= n;
    pthread_mutex_unlock(&g->mu);
    return ok ? 0 : -1;
}

void mem_gate_open(mem_gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

/* Waits until the gate opens (1) or, when stop_check is given, until it
 * says stop (0). */
static int gate_pass(mem_gate *g, int (*stop_check)(void *), void *arg)
{
    pthread_mutex_lock(&g->mu);
    g->entered++;
    pthread_cond_broadcast(&g->cv);
    while (!g->open) {
        if (stop_check && stop_check(arg)) {
            pthread_mutex_unlock(&g->mu);
            return 0;
        }
        struct timespec until;
        deadline_in(&until, 5);
        pthread_cond_timedwait(&g->cv, &g->mu, &until);
    }
    pthread_mutex_unlock(&g->mu);
    return 1;
}

void mem_journal_init(mem_journal *j)
{
    memset(j, 0, sizeof *j);
    pthread_mutex_init(&j->mu, NULL);
}

void mem_journal_free(mem_journal *j)
{
    free(j->items);
    pthread_mutex_destroy(&j->mu);
    memset(j, 0, sizeof *j);
}

static void journal_add(mem_journal *j, mem_what what, size_t n, const char *token)
{
    if (!j)
        return;
    pthread_mutex_lock(&j->mu);
    if (j->n == j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 64;
        mem_entry *items = realloc(j->items, cap * sizeof *items);
        if (!items) {
            pthread_mutex_unlock(&j->mu);
            return;
        }
        j->items = items;
        j->cap = cap;
    }
    mem_entry *e = &j->items[j->n++];
    e->what = what;
    e->n = n;
    snprintf(e->token, sizeof e->token, "%s", token ? token : "");
    pthread_mutex_unlock(&j->mu);
}

/* the address of a test-owned object, passed as option text */
static void *pointer_option(const sl_options *o, const char *name)
{
    const char *text = sl_opt_str(o, name);
    void *p = NULL;
    if (!text || sscanf(text, "%p", &p) != 1)
        return NULL;
    return p;
}

/* ---- the script and the store ---- */

void mem_script_init(mem_script *s, mem_journal *j)
{
    memset(s, 0, sizeof *s);
    gate_init(&s->fail.gate);
    for (size_t i = 0; i < 2; i++)
        gate_init(&s->block[i].gate);
    s->journal = j;
}

void mem_script_free(mem_script *s)
{
    gate_free(&s->fail.gate);
    for (size_t i = 0; i < 2; i++)
        gate_free(&s->block[i].gate);
}

int mem_script_tx_size(const mem_script *s, int tx) { return s->sizes ? s->sizes[tx] : s->tx_size; }

size_t mem_script_events_before(const mem_script *s, int tx)
{
    size_t n = 0;
    for (int i = 0; i < tx && i < s->ntx; i++)
        n += (size_t)mem_script_tx_size(s, i);
    return n;
}

void mem_store_init(mem_store *s, mem_journal *j)
{
    memset(s, 0, sizeof *s);
    gate_init(&s->commit_gate);
    s->journal = j;
}

void mem_store_free(mem_store *s)
{
    free(s->committed);
    free(s->pending);
    free(s->commits);
    free(s->checkpoint);
    free(s->inflight);
    free(s->inflight_ck);
    gate_free(&s->commit_gate);
    memset(s, 0, sizeof *s);
}

/* ---- the memory source ---- */

static const sl_option_def source_options[] = {
    {"script", SL_OPT_STRING, NULL, 1, 0, 0, NULL, "Address of the test's mem_script."},
    SL_OPTION_END,
};

typedef struct mem_source {
    mem_script *sc;
    sl_table_schema **schemas; /* one per script table, owned until destroy */
    size_t nschemas;
    int interrupted;
    sl_emitter *out; /* during run() */
} mem_source;

static int src_create(const sl_options *o, const sl_source_env *env, void **self, sl_err *err)
{
    mem_script *sc = pointer_option(o, "script");
    if (!sc)
        return sl_errf(err, SL_ECONFIG, "memory source: option 'script' is not an address");
    mem_source *s = calloc(1, sizeof *s);
    size_t n = sc->ntables ? sc->ntables : 1;
    if (!s || !(s->schemas = calloc(n, sizeof *s->schemas))) {
        free(s);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    s->sc = sc;
    s->nschemas = n;
    *self = s;
    static const char *const names[] = {"tx", "seq", "pad"};
    for (size_t i = 0; i < n; i++) {
        char db[64], table[64];
        const char *q = sc->ntables ? sc->tables[i] : "db.t";
        const char *dot = strchr(q, '.');
        if (!dot)
            return sl_errf(err, SL_ECONFIG, "memory source: table '%s' has no '.'", q);
        snprintf(db, sizeof db, "%.*s", (int)(dot - q), q);
        snprintf(table, sizeof table, "%s", dot + 1);
        sl_table_schema *t = sl_schema_new(db, NULL, table, 3);
        if (!t)
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        s->schemas[i] = t;
        for (int c = 0; c < 3; c++) {
            t->cols[c].name = strdup(names[c]);
            t->cols[c].kind = c < 2 ? SL_INT : SL_STRING;
            if (!t->cols[c].name)
                return sl_errf(err, SL_ERUNTIME, "out of memory");
        }
        t->cols[0].is_pk = t->cols[1].is_pk = 1;
        sl_schema_index_pk(t);
    }
    return 0;
}

static int src_should_stop(void *arg)
{
    mem_source *s = arg;
    return sl_emit_should_stop(s->out) || __atomic_load_n(&s->interrupted, __ATOMIC_ACQUIRE);
}

static void sample_queue(mem_script *sc, sl_emitter *out)
{
    sl_queue *q = out->queue;
    pthread_mutex_lock(&q->mu);
    size_t bytes = q->bytes, count = q->count;
    pthread_mutex_unlock(&q->mu);
    if (bytes > sc->max_queue_bytes)
        sc->max_queue_bytes = bytes;
    if (count > sc->max_queue_batches)
        sc->max_queue_batches = count;
}

static int at(mem_at *a, int tx, int seq)
{
    if (a->times <= 0 || a->tx != tx || a->seq != seq)
        return 0;
    a->times--;
    return 1;
}

static int emit_event(mem_source *s, int tx, int seq, sl_emitter *out)
{
    mem_script *sc = s->sc;
    sl_batch *b = sl_emit_batch(out);
    if (!b)
        return -1;
    sl_event *e = sl_batch_add_event(b, SL_OP_CREATE, s->schemas[(size_t)tx % s->nschemas]);
    sl_value *row = sl_batch_row(b, 3);
    char *pad = sc->pad_bytes ? sl_arena_alloc(&b->arena, sc->pad_bytes) : NULL;
    if (!e || !row || (sc->pad_bytes && !pad))
        return -1;
    if (pad)
        memset(pad, 'x', sc->pad_bytes);
    row[0] = sl_val_int(tx);
    row[1] = sl_val_int(seq);
    row[2] = sl_val_text(SL_STRING, pad ? pad : "", (uint32_t)sc->pad_bytes);
    e->after = row;
    e->pos = (sl_pos){(uint64_t)tx + 1, 0, (uint32_t)seq};
    sc->emitted++;
    if ((sc->flush_every && (seq + 1) % sc->flush_every == 0) || sl_batch_bytes(b) >= out->target_bytes) {
        if (sl_emit_flush(out))
            return -1;
    }
    return 0;
}

static void pause_us(int us)
{
    struct timespec ts = {us / 1000000, (long)(us % 1000000) * 1000L};
    nanosleep(&ts, NULL);
}

static int src_run(void *self, const char *resume, sl_emitter *out, sl_err *err)
{
    mem_source *s = self;
    mem_script *sc = s->sc;
    s->out = out;
    sc->runs++;
    journal_add(sc->journal, MEM_RUN, 0, resume);
    int start = 0;
    if (resume && sscanf(resume, "{\"tx\":%d}", &start) != 1)
        return sl_errf(err, SL_ERUNTIME, "memory source: cannot resume from %s", resume);
    for (int tx = start; tx < sc->ntx; tx++) {
        int n = mem_script_tx_size(sc, tx);
        for (int seq = 0; seq < n; seq++) {
            if (src_should_stop(s))
                return 0;
            if (at(&sc->fail, tx, seq))
                return sl_errf(err, sc->fail.code, "memory source: injected failure before tx %d event %d", tx, seq);
            for (size_t i = 0; i < 2; i++)
                if (at(&sc->block[i], tx, seq) && !gate_pass(&sc->block[i].gate, src_should_stop, s))
                    return 0;
            if (emit_event(s, tx, seq, out))
                return sl_errf(err, SL_ERUNTIME, "memory source: the pipeline refused tx %d event %d", tx, seq);
            sample_queue(sc, out);
        }
        char token[32];
        snprintf(token, sizeof token, "{\"tx\":%d}", tx + 1);
        if (sl_emit_commit(out, (sl_pos){(uint64_t)tx + 1, 0, (uint32_t)n}, token) ||
            (sc->push_every_tx && (tx + 1) % sc->push_every_tx == 0 && sl_emit_flush(out)))
            return sl_errf(err, SL_ERUNTIME, "memory source: the pipeline refused the end of tx %d", tx);
        sample_queue(sc, out);
        if (sc->tx_gap_us)
            pause_us(sc->tx_gap_us);
    }
    if (sc->end_of_stream)
        return sl_emit_end(out) ? sl_errf(err, SL_ERUNTIME, "memory source: the pipeline refused the end") : 0;
    while (!src_should_stop(s))
        pause_us(1000);
    return 0;
}

static void src_committed(void *self, const char *token)
{
    mem_source *s = self;
    journal_add(s->sc->journal, MEM_COMMITTED, 0, token);
}

static void src_interrupt(void *self)
{
    mem_source *s = self;
    __atomic_store_n(&s->interrupted, 1, __ATOMIC_RELEASE);
    for (size_t i = 0; i < 2; i++) {
        mem_gate *g = &s->sc->block[i].gate;
        pthread_mutex_lock(&g->mu);
        pthread_cond_broadcast(&g->cv);
        pthread_mutex_unlock(&g->mu);
    }
}

static void src_destroy(void *self)
{
    mem_source *s = self;
    if (!s)
        return;
    for (size_t i = 0; i < s->nschemas; i++)
        sl_schema_free(s->schemas[i]);
    free(s->schemas);
    free(s);
}

const sl_source_plugin mem_source_plugin = {
    .name = "memory",
    .description = "Plays a scripted list of transactions (unit tests only)",
    .options = source_options,
    .create = src_create,
    .run = src_run,
    .committed = src_committed,
    .interrupt = src_interrupt,
    .destroy = src_destroy,
};

/* ---- the memory sink ---- */

static const sl_option_def sink_options[] = {
    {"store", SL_OPT_STRING, NULL, 1, 0, 0, NULL, "Address of the test's mem_store."},
    SL_OPTION_END,
};

typedef struct mem_sink {
    mem_store *st;
    const sl_route_table *routes;
} mem_sink;

static int grow(void **items, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *p = realloc(*items, c * size);
    if (!p)
        return -1;
    *items = p;
    *cap = c;
    return 0;
}

static int sink_create(const sl_options *o, const sl_sink_env *env, void **self, sl_err *err)
{
    mem_store *st = pointer_option(o, "store");
    if (!st)
        return sl_errf(err, SL_ECONFIG, "memory sink: option 'store' is not an address");
    mem_sink *k = calloc(1, sizeof *k);
    if (!k)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    k->st = st;
    k->routes = env->routes;
    st->creates++;
    *self = k;
    return 0;
}

static int sink_load(void *self, char **out, sl_err *err)
{
    mem_store *st = ((mem_sink *)self)->st;
    st->loads++;
    *out = NULL;
    if (st->checkpoint && !(*out = strdup(st->checkpoint)))
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    return 0;
}

static int sink_write(void *self, const sl_batch *b, sl_err *err)
{
    mem_sink *k = self;
    mem_store *st = k->st;
    int call = ++st->write_calls;
    if (call == st->fail_write_at)
        return sl_errf(err, st->fail_write_code, "memory sink: injected write failure (write %d)", call);
    if (st->write_delay_us)
        pause_us(st->write_delay_us);
    size_t bytes = sl_batch_bytes(b);
    if (bytes > st->max_batch_bytes)
        st->max_batch_bytes = bytes;
    if (b->count && !sl_batch_at_boundary(b))
        st->mid_tx_writes++;
    st->writes_in_flight += st->inflight_ck != NULL;
    if (grow((void **)&st->pending, &st->pcap, st->npending + b->count, sizeof *st->pending))
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    for (const sl_event *e = b->head; e; e = e->next) {
        mem_event *m = &st->pending[st->npending++];
        memset(m, 0, sizeof *m);
        m->op = e->op;
        m->tx = e->after ? (int)e->after[0].v.i : -1;
        m->seq = e->after ? (int)e->after[1].v.i : -1;
        snprintf(m->table, sizeof m->table, "%s", e->schema->qualified);
        sl_route_target(k->routes, e->schema, m->target, sizeof m->target);
    }
    journal_add(st->journal, MEM_WRITE, b->count, NULL);
    return 0;
}

/* events[0..n) and checkpoint durable in one step (commit number call) */
static int commit_events(mem_store *st, int call, mem_event *events, size_t *n, const char *checkpoint, sl_err *err)
{
    if (call == st->fail_commit_at) {
        journal_add(st->journal, MEM_COMMIT_FAIL, *n, NULL);
        return sl_errf(err, st->fail_commit_code, "memory sink: injected commit failure (commit %d)", call);
    }
    if (call == st->block_commit_at)
        gate_pass(&st->commit_gate, NULL, NULL);
    char *token = NULL;
    int rc = sl_checkpoint_source(checkpoint, &token, err);
    if (rc)
        return rc;
    char *ck = strdup(checkpoint);
    if (!ck || grow((void **)&st->committed, &st->ccap, st->ncommitted + *n, sizeof *st->committed) ||
        grow((void **)&st->commits, &st->kcap, st->ncommits + 1, sizeof *st->commits)) {
        free(ck);
        free(token);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    /* data and checkpoint become durable in this one step */
    memcpy(st->committed + st->ncommitted, events, *n * sizeof *events);
    st->ncommitted += *n;
    *n = 0;
    free(st->checkpoint);
    st->checkpoint = ck;
    mem_commit_rec *r = &st->commits[st->ncommits++];
    r->events = st->ncommitted;
    snprintf(r->token, sizeof r->token, "%s", token);
    journal_add(st->journal, MEM_COMMIT, st->ncommitted, token);
    free(token);
    return 0;
}

static int sink_commit(void *self, const char *checkpoint, sl_err *err)
{
    mem_store *st = ((mem_sink *)self)->st;
    return commit_events(st, ++st->commit_calls, st->pending, &st->npending, checkpoint, err);
}

/* the pipelined sink: the open epoch moves aside; later writes are the
 * next epoch's */
static int sink_commit_start(void *self, const char *checkpoint, sl_err *err)
{
    mem_store *st = ((mem_sink *)self)->st;
    if (st->inflight_ck)
        return sl_errf(err, SL_ERUNTIME, "memory sink: commit_start with a commit in flight");
    if (!(st->inflight_ck = strdup(checkpoint)))
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    mem_event *t = st->inflight;
    size_t tc = st->icap;
    st->inflight = st->pending;
    st->icap = st->pcap;
    st->ninflight = st->npending;
    st->pending = t;
    st->pcap = tc;
    st->npending = 0;
    st->inflight_call = ++st->commit_calls;
    st->inflight_polls_left = st->inflight_polls;
    return 0;
}

static int sink_commit_done(void *self, int wait, int *done, sl_err *err)
{
    mem_store *st = ((mem_sink *)self)->st;
    *done = 1;
    if (!st->inflight_ck)
        return 0;
    if (!wait && st->inflight_polls_left > 0) {
        st->inflight_polls_left--;
        *done = 0;
        return 0;
    }
    int rc = commit_events(st, st->inflight_call, st->inflight, &st->ninflight, st->inflight_ck, err);
    /* a failed commit leaves nothing of its epoch */
    st->aborted_events += st->ninflight;
    st->ninflight = 0;
    free(st->inflight_ck);
    st->inflight_ck = NULL;
    return rc;
}

static int sink_abort(void *self, sl_err *err)
{
    mem_store *st = ((mem_sink *)self)->st;
    st->aborts_in_flight += st->inflight_ck != NULL;
    st->aborts++;
    st->aborted_events += st->npending;
    journal_add(st->journal, MEM_ABORT, st->npending, NULL);
    st->npending = 0;
    return 0;
}

static void sink_destroy(void *self)
{
    mem_sink *k = self;
    if (!k)
        return;
    /* like a crash: an epoch neither committed nor aborted is lost */
    k->st->dropped_events += k->st->npending + k->st->ninflight;
    k->st->npending = k->st->ninflight = 0;
    free(k->st->inflight_ck);
    k->st->inflight_ck = NULL;
    free(k);
}

const sl_sink_plugin mem_sink_plugin = {
    .name = "memory",
    .description = "Keeps written batches and checkpoints in memory (unit tests only)",
    .options = sink_options,
    .guarantee = SL_GUARANTEE_EXACTLY_ONCE, /* an abort drops what was not committed */
    .create = sink_create,
    .load_checkpoint = sink_load,
    .write = sink_write,
    .commit = sink_commit,
    .abort = sink_abort,
    .destroy = sink_destroy,
};

const sl_sink_plugin mem_sink_pipelined_plugin = {
    .name = "memory",
    .description = "Keeps written batches and checkpoints in memory, commits pipelined (unit tests only)",
    .options = sink_options,
    .guarantee = SL_GUARANTEE_EXACTLY_ONCE,
    .create = sink_create,
    .load_checkpoint = sink_load,
    .write = sink_write,
    .commit = sink_commit,
    .commit_start = sink_commit_start,
    .commit_done = sink_commit_done,
    .abort = sink_abort,
    .destroy = sink_destroy,
};

/* ---- a config around them ---- */

int mem_config_init(sl_config *cfg, mem_script *script, mem_store *store, const char *const *pipeline_kv,
                    sl_err *err)
{
    memset(cfg, 0, sizeof *cfg);
    if (!(cfg->path = strdup("memory.yaml")))
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    cfg->source_plugin = &mem_source_plugin;
    cfg->sink_plugin = &mem_sink_plugin;
    sl_srcloc loc = {cfg->path, 1, 1};
    char addr[32];
    int rc;
    sl_options_init(&cfg->source, "source", mem_source_plugin.options);
    snprintf(addr, sizeof addr, "%p", (void *)script);
    if ((rc = sl_options_set(&cfg->source, "script", addr, loc, err)) || (rc = sl_options_finish(&cfg->source, loc, err)))
        return rc;
    sl_options_init(&cfg->sink, "sink", mem_sink_plugin.options);
    snprintf(addr, sizeof addr, "%p", (void *)store);
    if ((rc = sl_options_set(&cfg->sink, "store", addr, loc, err)) || (rc = sl_options_finish(&cfg->sink, loc, err)))
        return rc;
    sl_options_init(&cfg->pipeline, "pipeline", sl_pipeline_options);
    for (const char *const *kv = pipeline_kv; kv && kv[0]; kv += 2)
        if ((rc = sl_options_set(&cfg->pipeline, kv[0], kv[1], loc, err)))
            return rc;
    return sl_options_finish(&cfg->pipeline, loc, err);
}

void mem_config_free(sl_config *cfg)
{
    /* routes belong to the test */
    cfg->routes = NULL;
    cfg->nroutes = 0;
    sl_config_free(cfg);
}
