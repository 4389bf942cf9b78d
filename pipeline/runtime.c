/* runtime.c — the lifecycle of a running pipeline; the plugin contract it
 * keeps (threads, lifetimes, what each error class makes it do) is written
 * in sources/source.h and sinks/sink.h.
 *
 * Two threads: the source thread runs the connector's run() and fills
 * batches; the calling thread drains them into the sink and cuts epochs.
 * An epoch may only end on a transaction boundary, and its data and
 * checkpoint are committed by the sink in one step; the source hears
 * about a checkpoint (committed()) only after that step, so nothing is
 * acknowledged upstream before it is durable downstream. When anything
 * fails between two commits, the sink aborts the open epoch and the next
 * run replays it from the last checkpoint.
 */
#include "../core/clock.h"
#include "runtime.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/emitter.h"
#include "../core/log.h"
#include "../core/queue.h"
#include "../core/route.h"
#include "run_metrics.h"
#include "sd_notify.h"
#include "stages.h"

/* Freed batch blocks kept for the next batches (core/block_pool.h): 4 to 16
 * MiB held the RSS of a 4-reader snapshot at the data in flight. */
enum { BATCH_BLOCKS_KEPT = 8 * 1024 * 1024 };

typedef struct source_thread {
    const sl_source_plugin *plugin;
    void *self;
    const char *resume;
    sl_emitter *emitter;
    sl_queue *queue;
    int rc;
    sl_err err;
    volatile int done;
} source_thread;

static void *source_main(void *arg)
{
    source_thread *t = arg;
    t->rc = t->plugin->run(t->self, t->resume, t->emitter, &t->err);
    sl_emitter *e = t->emitter;
    /* the sink thread may be taking an idle batch right now */
    sl_emit_batch(e);
    /* hand over a finished tail; drop a transaction that never completed */
    if (e->cur && sl_batch_at_boundary(e->cur)) {
        sl_batch *b = e->cur;
        e->cur = NULL;
        if (sl_queue_push(t->queue, b))
            sl_batch_free(b);
    }
    sl_emit_release(e);
    __atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
    sl_queue_close(t->queue);
    return NULL;
}

char *sl_checkpoint_compose(const char *pipeline, const char *source_token, const char *identity)
{
    json_error_t je;
    json_t *tok = json_loads(source_token, JSON_DECODE_ANY, &je);
    if (!tok)
        return NULL;
    json_t *root = json_pack("{s:i, s:s, s:o}", "version", 1, "pipeline", pipeline, "source", tok);
    if (!root)
        return NULL;
    json_t *id = identity ? json_loads(identity, 0, &je) : NULL;
    if (id && json_object_set_new(root, "source_identity", id)) {
        json_decref(root);
        return NULL;
    }
    json_object_set_new(root, "committed_at_ms", json_integer((json_int_t)sl_wall_ms()));
    char *s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return s;
}

int sl_checkpoint_parse(const char *checkpoint, sl_checkpoint_info *out, sl_err *err)
{
    memset(out, 0, sizeof *out);
    json_error_t je;
    json_t *root = json_loads(checkpoint, 0, &je);
    if (!root)
        return sl_errf(err, SL_ERUNTIME, "checkpoint is not valid JSON: %s", je.text);
    json_t *src = json_object_get(root, "source");
    if (!src) {
        json_decref(root);
        return sl_errf(err, SL_ERUNTIME, "checkpoint has no source position");
    }
    json_t *name = json_object_get(root, "pipeline");
    json_t *id = json_object_get(root, "source_identity");
    out->token = json_dumps(src, JSON_COMPACT | JSON_ENCODE_ANY);
    int oom = !out->token;
    if (json_is_string(name) && !(out->pipeline = strdup(json_string_value(name))))
        oom = 1;
    if (json_is_object(id) && !(out->identity = json_dumps(id, JSON_COMPACT)))
        oom = 1;
    json_decref(root);
    if (oom) {
        sl_checkpoint_info_free(out);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    return 0;
}

void sl_checkpoint_info_free(sl_checkpoint_info *info)
{
    free(info->token);
    free(info->pipeline);
    free(info->identity);
    memset(info, 0, sizeof *info);
}

int sl_checkpoint_source(const char *checkpoint, char **token, sl_err *err)
{
    sl_checkpoint_info info;
    int rc = sl_checkpoint_parse(checkpoint, &info, err);
    *token = rc ? NULL : info.token;
    info.token = NULL;
    sl_checkpoint_info_free(&info);
    return rc;
}

typedef struct sink_state {
    const sl_sink_plugin *plugin;
    void *self;
    char *last_token;      /* newest boundary written (malloc'd) */
    char *committed_token; /* newest boundary committed */
    int at_boundary;       /* the last written batch ended a transaction */
    int dirty;             /* written or advanced since the last commit */
    const char *identity;  /* the source server's identity the resumed checkpoint recorded */
    int identity_checked;  /* the source reported its identity this run */
    const sl_run_opts *ro; /* the HA commit gate, if any */
    int lease_refused;     /* the gate refused a commit: the epoch must be rolled back */
    char *inflight_token;  /* a pipelined commit (commit_start) in flight: its token */
    int64_t inflight_t0;   /* ... and when it started */
} sink_state;

/* A commit is durable: the metrics, the source and the next checkpoint
 * hear of it. token is malloc'd and taken over. */
static void committed(sink_state *s, char *token, int64_t t0, const sl_source_plugin *src, void *src_self,
                      sl_run_stats *stats, sl_run_metrics *rm)
{
    sl_run_metrics_commit(rm, token, (double)(sl_mono_ms() - t0) / 1000.0);
    stats->commits++;
    free(s->committed_token);
    s->committed_token = token;
    if (src->committed)
        src->committed(src_self, token);
    sl_debug("checkpoint committed at %s", token);
}

/* The pipelined commit in flight, if any: finished (wait = 0) or waited
 * for (wait = 1); its failure is the run's failure. */
static int settle(sink_state *s, int wait, const sl_source_plugin *src, void *src_self, sl_run_stats *stats,
                  sl_run_metrics *rm, sl_err *err)
{
    if (!s->inflight_token)
        return 0;
    int done = 0;
    int rc = s->plugin->commit_done(s->self, wait, &done, err);
    if (rc || !done) {
        if (rc) {
            free(s->inflight_token);
            s->inflight_token = NULL;
        }
        return rc;
    }
    char *token = s->inflight_token;
    s->inflight_token = NULL;
    committed(s, token, s->inflight_t0, src, src_self, stats, rm);
    return 0;
}

static int do_commit(sink_state *s, const sl_config *cfg, const sl_source_plugin *src, void *src_self,
                     sl_run_stats *stats, sl_run_metrics *rm, sl_err *err)
{
    const char *name = sl_opt_str(&cfg->pipeline, "name");
    if (s->ro && s->ro->lease) {
        int rc = s->ro->lease(s->ro->lease_ctx, err);
        if (rc) {
            s->lease_refused = 1;
            return rc;
        }
    }
    const char *id = src->identity ? src->identity(src_self) : NULL;
    char *ck = sl_checkpoint_compose(name, s->last_token, id ? id : s->identity);
    if (!ck)
        return sl_errf(err, SL_ERUNTIME, "cannot serialise checkpoint for token %s", s->last_token);
    char *token = strdup(s->last_token);
    if (!token) {
        free(ck);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    int rc = 0;
    if (s->plugin->commit_start) {
        /* pipelined: one commit in flight at a time; the epoch's data
         * is the sink's from here, what follows belongs to the next */
        rc = settle(s, 1, src, src_self, stats, rm, err);
        int64_t t0 = sl_mono_ms();
        if (!rc)
            rc = s->plugin->commit_start(s->self, ck, err);
        free(ck);
        if (rc) {
            free(token);
            return rc;
        }
        s->dirty = 0;
        s->inflight_token = token;
        s->inflight_t0 = t0;
        /* a fresh start's first checkpoint is durable before any row is
         * written (see the loop) */
        return s->committed_token ? 0 : settle(s, 1, src, src_self, stats, rm, err);
    }
    int64_t t0 = sl_mono_ms();
    rc = s->plugin->commit(s->self, ck, err);
    free(ck);
    if (rc) {
        free(token);
        return rc;
    }
    s->dirty = 0;
    committed(s, token, t0, src, src_self, stats, rm);
    return 0;
}

/* abort() cannot change what happens next (the next run replays the epoch
 * from the last checkpoint either way); its failure is only worth a line */
static void abort_epoch(sink_state *s, sl_run_metrics *rm)
{
    sl_run_metrics_abort(rm);
    sl_err err;
    if (s->inflight_token) {
        /* the commit in flight is settled first (the contract); whether it
         * made it, the next run reads back from the sink */
        int done = 0;
        if (s->plugin->commit_done(s->self, 1, &done, &err))
            sl_warn("%s sink: the commit in flight failed: %s", s->plugin->name, err.msg);
        free(s->inflight_token);
        s->inflight_token = NULL;
    }
    if (s->plugin->abort(s->self, &err))
        sl_warn("%s sink: rolling back the open epoch failed: %s", s->plugin->name, err.msg);
}

void sl_run_stats_free(sl_run_stats *st)
{
    for (size_t i = 0; i < st->ntables; i++)
        free(st->tables[i].table);
    free(st->tables);
    st->tables = NULL;
    st->ntables = st->cap = 0;
}

static sl_table_stat *table_stat(sl_run_stats *st, const char *name)
{
    for (size_t i = 0; i < st->ntables; i++)
        if (strcmp(st->tables[i].table, name) == 0)
            return &st->tables[i];
    if (st->ntables == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 8;
        sl_table_stat *t = realloc(st->tables, cap * sizeof *t);
        if (!t)
            return NULL;
        st->tables = t;
        st->cap = cap;
    }
    sl_table_stat *t = &st->tables[st->ntables];
    memset(t, 0, sizeof *t);
    t->table = strdup(name);
    if (!t->table)
        return NULL;
    st->ntables++;
    return t;
}

/* per-table counts for migrate's summary; one lookup per run of events of
 * the same table */
static void count_batch(sl_run_stats *st, const sl_batch *b)
{
    const sl_table_schema *last = NULL;
    sl_table_stat *t = NULL;
    for (const sl_event *e = b->head; e; e = e->next) {
        if (e->schema != last) {
            last = e->schema;
            t = table_stat(st, e->schema->qualified);
        }
        if (!t)
            continue;
        switch (e->op) {
        case SL_OP_READ: t->reads++; break;
        case SL_OP_CREATE: t->inserts++; break;
        case SL_OP_UPDATE: t->updates++; break;
        case SL_OP_DELETE: t->deletes++; break;
        default: break;
        }
    }
}

static void take_batch(sink_state *s, sl_batch *b)
{
    if (b->count)
        s->dirty = 1;
    if (b->commit_token) {
        if (!s->last_token || strcmp(s->last_token, b->commit_token) != 0) {
            free(s->last_token);
            s->last_token = strdup(b->commit_token);
            s->dirty = 1;
        }
    }
    /* an empty batch with a token closes the transaction whose events were
     * pushed before it (its last event filled a batch); an empty batch
     * without one (the end-of-stream marker) changes nothing */
    if (b->count || b->commit_token)
        s->at_boundary = sl_batch_at_boundary(b);
}

/* A sink's checkpoint belongs to the pipeline that committed it: another
 * pipeline resuming from it would skip or repeat changes. */
static int check_owner(const sl_config *cfg, const sl_checkpoint_info *info, sl_err *err)
{
    const char *name = sl_opt_str(&cfg->pipeline, "name");
    if (!info->pipeline || strcmp(info->pipeline, name) == 0)
        return 0;
    char where[512];
    sl_opt_where(&cfg->pipeline, "name", where, sizeof where);
    return sl_errf(err, SL_ECONFIG,
                   "the %s sink's checkpoint was committed by pipeline '%s', not by this pipeline '%s' (%s): two "
                   "pipelines must not share a checkpoint; give this one a sink of its own (another path, topic or "
                   "table), or name it '%s' again if it is the same pipeline renamed",
                   cfg->sink_plugin->name, info->pipeline, name, where, info->pipeline);
}

/* The stop flag is set by a signal handler on whichever thread takes the
 * signal (or by another thread in the tests): read atomically. */
static int stopping(const volatile sig_atomic_t *stop) { return __atomic_load_n(stop, __ATOMIC_RELAXED) != 0; }

/* *cause says which side failed ("source" or "sink"), for the retry metric */
static int run_once(const sl_config *cfg, const sl_run_opts *ro, const volatile sig_atomic_t *stop,
                    sl_run_stats *stats, sl_run_metrics *rm, const char **cause, sl_err *err)
{
    *cause = "sink";
    const char *name = sl_opt_str(&cfg->pipeline, "name");
    const sl_source_plugin *src = cfg->source_plugin;
    sink_state sink = {.plugin = cfg->sink_plugin, .at_boundary = 1, .ro = ro};
    sl_route_table routes;
    sl_stages *stages = NULL;
    int rc = sl_route_table_init(&routes, cfg->routes, cfg->nroutes, err);
    if (rc)
        return rc;
    routes.first_match = sl_opt_num(&cfg->pipeline, "route-mode") == 1;
    if ((rc = sl_stages_new(cfg, &stages, err))) {
        sl_route_table_free(&routes);
        return rc;
    }
    sl_sink_env senv = {.pipeline_name = name,
                        .pipeline = &cfg->pipeline,
                        .routes = &routes,
                        .source_connector = sl_source_envelope_name(src),
                        .table_hints = cfg->ntransforms ? sl_stages_table_hints : NULL,
                        .table_hints_ctx = stages,
                        .ha = ro && ro->lease,
                        .stop = stop};
    sl_source_env renv = {.pipeline_name = name, .pipeline = &cfg->pipeline,
                          .follow_until = ro && ro->migrate ? (ro->follow_until ? ro->follow_until : "now") : NULL,
                          .metrics = sl_run_metrics_registry(rm)};
    void *src_self = NULL;
    char *checkpoint = NULL, *resume = NULL;
    rc = sink.plugin->create(&cfg->sink, &senv, &sink.self, err);
    if (rc) {
        sl_route_table_free(&routes);
        sl_stages_free(stages);
        return rc;
    }
    rc = sink.plugin->load_checkpoint(sink.self, &checkpoint, err);
    sl_checkpoint_info info = {0};
    if (!rc && checkpoint && !(rc = sl_checkpoint_parse(checkpoint, &info, err))) {
        resume = info.token;
        info.token = NULL;
        rc = check_owner(cfg, &info, err);
        if (!rc)
            sl_info("resuming from checkpoint %s", resume);
    }
    sink.identity = info.identity;
    renv.identity = info.identity;
    if (!rc && (rc = src->create(&cfg->source, &renv, &src_self, err)))
        *cause = "source";
    if (rc) {
        sl_checkpoint_info_free(&info);
        free(checkpoint);
        free(resume);
        sink.plugin->destroy(sink.self);
        sl_route_table_free(&routes);
        sl_stages_free(stages);
        return rc;
    }
    sink.last_token = resume ? strdup(resume) : NULL;
    sink.committed_token = resume ? strdup(resume) : NULL;

    sl_queue queue;
    sl_emitter emitter;
    sl_block_pool blocks; /* every batch's big blocks; freed last, after the source and sink that hold batches */
    sl_block_pool_init(&blocks, BATCH_BLOCKS_KEPT);
    sl_queue_init(&queue, (size_t)sl_opt_num(&cfg->pipeline, "queue.max-bytes"));
    sl_emitter_init(&emitter, &queue, &blocks, (size_t)sl_opt_num(&cfg->pipeline, "batch.size"), stop);
    source_thread st = {.plugin = src, .self = src_self, .resume = resume, .emitter = &emitter, .queue = &queue};
    pthread_t tid;
    if (pthread_create(&tid, NULL, source_main, &st)) {
        rc = sl_errf(err, SL_ERUNTIME, "cannot start the source thread");
        goto out_nothread;
    }
    sl_run_metrics_attempt(rm, src, src_self, &emitter, resume);
    /* under systemd (Type=notify) READY=1 once the source has its start
     * position (see sl_emit_positioned); repeated READY after a restart
     * from a checkpoint is harmless */
    int ready_told = ro && ro->migrate;

    const int64_t interval = sl_opt_num(&cfg->pipeline, "checkpoint.interval");
    int64_t start = sl_mono_ms(), epoch_start = start, last_report = start;
    unsigned long long last_events = 0;
    int interrupted = 0, sink_failed = 0, ended = 0;
    for (;;) {
        if (!interrupted && (stopping(stop) || __atomic_load_n(&emitter.stop_requested, __ATOMIC_RELAXED))) {
            interrupted = 1;
            if (src->interrupt)
                src->interrupt(src_self);
        }
        if (!ready_told && sl_emit_is_positioned(&emitter)) {
            sl_sd_notify("READY=1\nSTATUS=running");
            ready_told = 1;
        }
        int64_t now = sl_mono_ms();
        int64_t wait = epoch_start + interval - now;
        if (wait > 20 || wait < 1)
            wait = 20;
        /* a pipelined commit in flight: notice its end soon, the next
         * epoch's data may be waiting on it */
        if (sink.inflight_token && wait > 2)
            wait = 2;
        sl_batch *b = sl_queue_pop(&queue, (int)wait);
        if (!b)
            b = sl_emit_take_idle(&emitter);
        if (b && (rc = sl_stages_apply(stages, b, err))) {
            sl_batch_free(b);
            sink_failed = 1;
            break;
        }
        if (b) {
            if (b->count && (rc = sink.plugin->write(sink.self, b, err))) {
                sl_batch_free(b);
                sink_failed = 1;
                break;
            }
            stats->events += b->count;
            stats->batches++;
            sl_run_metrics_batch(rm, b);
            if (ro && ro->migrate)
                count_batch(stats, b);
            take_batch(&sink, b);
            ended |= b->end_of_stream;
            sl_batch_free(b);
        }
        if (!sink.identity_checked && src->identity && src->identity(src_self)) {
            /* a checkpoint from before identities were recorded (or from
             * a source that could not tell) gets one at the next commit */
            sink.identity_checked = 1;
            if (!sink.identity && sink.last_token)
                sink.dirty = 1;
        }
        /* a pipelined commit that has finished: the source hears of it */
        if (sink.inflight_token && (rc = settle(&sink, 0, src, src_self, stats, rm, err))) {
            sink_failed = 1;
            break;
        }
        now = sl_mono_ms();
        /* the first checkpoint of a fresh start (the source's start
         * position, sl_boundary_first) is committed before the sink sees a
         * row, so that a crash can never leave rows no replay revisits */
        int first = !sink.committed_token;
        if (sink.dirty && sink.at_boundary && sink.last_token && (first || now - epoch_start >= interval)) {
            if ((rc = do_commit(&sink, cfg, src, src_self, stats, rm, err))) {
                sink_failed = 1;
                break;
            }
            epoch_start = now;
        } else if (!sink.dirty) {
            epoch_start = now;
        }
        sl_run_metrics_tick(rm, !sink.dirty, __atomic_load_n(&queue.bytes, __ATOMIC_RELAXED), sink.plugin, sink.self);
        if (now - last_report >= 10000) {
            double secs = (double)(now - last_report) / 1000.0;
            sl_info("%llu events (%.0f/s), %llu checkpoints, position %s", stats->events,
                    (double)(stats->events - last_events) / secs, stats->commits,
                    sink.committed_token ? sink.committed_token : "(none yet)");
            last_report = now;
            last_events = stats->events;
        }
        if (ended || (__atomic_load_n(&st.done, __ATOMIC_ACQUIRE) && sl_queue_is_closed(&queue) && !b &&
                      !queue.head))
            break;
    }
    if (sink_failed) {
        __atomic_store_n(&emitter.stop_requested, 1, __ATOMIC_RELAXED);
        if (src->interrupt)
            src->interrupt(src_self);
        sl_queue_close(&queue);
    }
    pthread_join(tid, NULL);
    if (!sink_failed) {
        /* drain what the source pushed before it stopped */
        sl_batch *b;
        while (!rc && (b = sl_queue_pop(&queue, 0))) {
            if ((rc = sl_stages_apply(stages, b, err)) ||
                (b->count && (rc = sink.plugin->write(sink.self, b, err)))) {
                sl_batch_free(b);
                break;
            }
            stats->events += b->count;
            sl_run_metrics_batch(rm, b);
            if (ro && ro->migrate)
                count_batch(stats, b);
            take_batch(&sink, b);
            sl_batch_free(b);
        }
        if (!rc && st.rc) {
            *cause = "source";
            rc = st.rc;
            memcpy(err, &st.err, sizeof *err);
        }
        sl_err cerr;
        if (sink.dirty && sink.at_boundary && sink.last_token) {
            int crc = do_commit(&sink, cfg, src, src_self, stats, rm, rc ? &cerr : err);
            if (!crc)
                crc = settle(&sink, 1, src, src_self, stats, rm, rc ? &cerr : err);
            if (crc && !rc)
                rc = crc;
            if (crc && sink.lease_refused)
                abort_epoch(&sink, rm);
        } else {
            /* the last pipelined commit completes before the stop */
            int crc = settle(&sink, 1, src, src_self, stats, rm, rc ? &cerr : err);
            if (crc && !rc)
                rc = crc;
            if (sink.dirty) {
                sl_info("stopping inside a transaction: the open epoch is rolled back and replayed on restart");
                abort_epoch(&sink, rm);
            }
        }
    } else {
        abort_epoch(&sink, rm);
    }
    (void)start;

    sl_run_metrics_attempt_end(rm);
out_nothread:
    sl_emitter_destroy(&emitter);
    sl_queue_destroy(&queue);
    src->destroy(src_self);
    sink.plugin->destroy(sink.self);
    sl_route_table_free(&routes);
    sl_stages_free(stages);
    free(sink.last_token);
    free(sink.committed_token);
    free(sink.inflight_token);
    sl_checkpoint_info_free(&info);
    free(checkpoint);
    free(resume);
    sl_block_pool_destroy(&blocks);
    return rc;
}

/* A transient failure (SL_ERETRY: a Kafka transaction the broker aborted,
 * a producer that must be rebuilt) restarts the whole pipeline from the
 * last committed checkpoint, so the replay is exactly the uncommitted
 * epoch. Attempts back off; a run that committed something resets the
 * budget, ten failures in a row without progress end the run. */
int sl_pipeline_run(const sl_config *cfg, const sl_run_opts *ro, const volatile sig_atomic_t *stop,
                    sl_run_stats *stats, sl_err *err)
{
    memset(stats, 0, sizeof *stats);
    int64_t start = sl_mono_ms();
    int failures = 0;
    sl_run_metrics *rm = ro ? ro->metrics : NULL;
    int rc = rm ? 0 : sl_run_metrics_start(cfg, &rm, err);
    if (rc)
        return rc;
    for (;;) {
        unsigned long long commits = stats->commits;
        const char *cause = "sink";
        rc = run_once(cfg, ro, stop, stats, rm, &cause, err);
        if (rc != SL_ERETRY || stopping(stop))
            break;
        sl_run_metrics_retry(rm, cause);
        failures = stats->commits > commits ? 1 : failures + 1;
        if (failures > 10)
            break;
        int64_t delay = 500LL << (failures < 6 ? failures - 1 : 5);
        sl_warn("%s; restarting from the last checkpoint in %.1fs (attempt %d)", err->msg, (double)delay / 1000.0,
                failures);
        sl_sd_notify("STATUS=restarting from the last checkpoint after a transient error");
        for (int64_t until = sl_mono_ms() + delay; sl_mono_ms() < until && !stopping(stop);) {
            struct timespec ts = {0, 50 * 1000000L};
            nanosleep(&ts, NULL);
        }
        if (stopping(stop))
            break;
    }
    if (rc == SL_ERETRY && stopping(stop)) {
        /* a stop while the source was lost: the open epoch was rolled back
         * and the last checkpoint stands, which is a clean stop */
        sl_info("stopped while recovering from: %s", err->msg);
        rc = 0;
    } else if (rc == SL_ERETRY) {
        rc = SL_ERUNTIME;
    }
    stats->seconds = (double)(sl_mono_ms() - start) / 1000.0;
    if (!ro || rm != ro->metrics)
        sl_run_metrics_stop(rm);
    return rc;
}
