/* run_metrics.c — see run_metrics.h. The lag in seconds is "now minus
 * the source commit time of the newest change delivered to the sink", but
 * never older than the last moment sluice had everything the server had
 * written: when the probe found the committed position at the server's
 * head, or when the source said it was idle (a heartbeat, a keepalive)
 * and nothing was pending downstream. So an idle pipeline reads zero and
 * a stalled sink makes it grow from the moment it stalled. */
#define SL_LOG_COMPONENT "metrics"
#include "run_metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/clock.h"
#include "../core/log.h"
#include "metrics_http.h"

struct sl_run_metrics {
    sl_metrics *m;
    sl_metrics_http *http;
    int64_t interval_ms, ready_intervals;
    int64_t started_wall;
    /* shared with the scrape and probe threads: atomics */
    int running;
    int64_t last_ok_wall;     /* last commit, or last moment nothing was uncommitted */
    int64_t last_commit_wall; /* 0 = none in this process */
    int64_t last_event_ts;    /* source commit time of the newest change delivered */
    int64_t caught_up_wall;   /* last moment everything the server had was committed */
    /* runtime thread only */
    sl_emitter *emitter;
    int64_t last_sink_metrics, last_idle;
    /* the sink's idle() failed: why (under mu), until a success or commit */
    int sink_down;
    char sink_why[SL_ERRLEN];
    /* high availability: "standby" keeps /readyz at 503 (under mu) */
    int standby;
    char role_why[SL_ERRLEN];
    /* the probe thread */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t probe_tid;
    int probing, probe_stop;
    char *committed; /* under mu */
    const sl_source_plugin *src;
    void *src_self;
};

static int64_t ld(const int64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static void st(int64_t *p, int64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static void raise_to(int64_t *p, int64_t v)
{
    int64_t cur = ld(p);
    while (v > cur && !__atomic_compare_exchange_n(p, &cur, v, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    }
}

static const double commit_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

static void declare(sl_metrics *m)
{
    static const struct {
        const char *name;
        sl_metric_type type;
        const char *help;
    } fams[] = {
        {"sluice_up", SL_METRIC_GAUGE, "1 while a pipeline attempt runs (0 while restarting after a transient error)."},
        {"sluice_ready", SL_METRIC_GAUGE, "1 when /readyz answers 200."},
        {"sluice_events_total", SL_METRIC_COUNTER, "Changes delivered to the sink, by source table and op (read = snapshot)."},
        {"sluice_event_bytes_total", SL_METRIC_COUNTER, "Memory of the batches delivered to the sink, in bytes."},
        {"sluice_batches_total", SL_METRIC_COUNTER, "Batches delivered to the sink."},
        {"sluice_last_event_timestamp_seconds", SL_METRIC_GAUGE, "Source commit time of the newest change delivered."},
        {"sluice_lag_seconds", SL_METRIC_GAUGE, "Now minus the source commit time of the newest change delivered; 0 when caught up."},
        {"sluice_source_head_position_bytes", SL_METRIC_GAUGE, "The server's log head on the source's byte scale."},
        {"sluice_source_committed_position_bytes", SL_METRIC_GAUGE, "The committed checkpoint's position on the same scale."},
        {"sluice_lag_bytes", SL_METRIC_GAUGE, "Head minus committed position: log bytes not yet committed in the sink."},
        {"sluice_source_probe_errors_total", SL_METRIC_COUNTER, "Failed asks for the server's head position."},
        {"sluice_checkpoint_age_seconds", SL_METRIC_GAUGE, "Seconds since the last commit of data and checkpoint (since start before the first)."},
        {"sluice_last_checkpoint_timestamp_seconds", SL_METRIC_GAUGE, "Wall time of the last commit."},
        {"sluice_checkpoint_commit_seconds", SL_METRIC_HISTOGRAM, "How long the sink took to commit an epoch."},
        {"sluice_epochs_committed_total", SL_METRIC_COUNTER, "Epochs committed."},
        {"sluice_epochs_aborted_total", SL_METRIC_COUNTER, "Epochs rolled back (failure or stop inside a transaction)."},
        {"sluice_retries_total", SL_METRIC_COUNTER, "Restarts from the last checkpoint after a transient error, by the side that failed."},
        {"sluice_queue_bytes", SL_METRIC_GAUGE, "Bytes of batches waiting between source and sink."},
        {"sluice_snapshot_chunks_done", SL_METRIC_GAUGE, "Snapshot chunks merged, by table."},
        {"sluice_snapshot_chunks_total", SL_METRIC_GAUGE, "Snapshot chunks of the table (an estimate until the table is done)."},
        {"sluice_snapshot_rows", SL_METRIC_GAUGE, "Rows read by the snapshot, by table."},
        {"sluice_ha_role", SL_METRIC_GAUGE, "1 for this process's role in its high-availability group (active or standby), 0 for the other; absent with ha.mode none."},
        {"sluice_ha_role_changes_total", SL_METRIC_COUNTER, "Role changes of this process (became active, back to standby)."},
        {"process_resident_memory_bytes", SL_METRIC_GAUGE, "Resident memory size in bytes."},
        {"process_cpu_seconds_total", SL_METRIC_COUNTER, "User and system CPU time spent in seconds."},
        {"process_start_time_seconds", SL_METRIC_GAUGE, "Start time of the process since the epoch in seconds."},
    };
    for (size_t i = 0; i < sizeof fams / sizeof fams[0]; i++)
        sl_metrics_declare(m, fams[i].name, fams[i].type, fams[i].help,
                           fams[i].type == SL_METRIC_HISTOGRAM ? commit_bounds : NULL,
                           fams[i].type == SL_METRIC_HISTOGRAM ? sizeof commit_bounds / sizeof commit_bounds[0] : 0);
}

static int ready(void *ctx, char *why, size_t len)
{
    sl_run_metrics *rm = ctx;
    pthread_mutex_lock(&rm->mu);
    int standby = rm->standby;
    if (standby)
        snprintf(why, len, "standby: another member of the high-availability group is active (%s)", rm->role_why);
    pthread_mutex_unlock(&rm->mu);
    if (standby)
        return 0;
    if (!__atomic_load_n(&rm->running, __ATOMIC_ACQUIRE)) {
        snprintf(why, len, "not running: starting, or restarting from the last checkpoint after a transient error");
        return 0;
    }
    pthread_mutex_lock(&rm->mu);
    int down = rm->sink_down;
    if (down)
        snprintf(why, len, "the sink does not answer: %s", rm->sink_why);
    pthread_mutex_unlock(&rm->mu);
    if (down)
        return 0;
    int64_t age = sl_wall_ms() - ld(&rm->last_ok_wall);
    int64_t max = rm->ready_intervals * rm->interval_ms;
    if (age > max) {
        snprintf(why, len,
                 "the last checkpoint is %.1fs old, more than %lld x checkpoint.interval (%.1fs): the sink is not "
                 "committing",
                 (double)age / 1000.0, (long long)rm->ready_intervals, (double)max / 1000.0);
        return 0;
    }
    return 1;
}

static void process_stats(sl_metrics *m)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) == 2)
            sl_metrics_set(m, "process_resident_memory_bytes", NULL, (double)rss * (double)sysconf(_SC_PAGESIZE));
        fclose(f);
    }
    struct timespec ts;
    if (!clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts))
        sl_metrics_set(m, "process_cpu_seconds_total", NULL, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/* at every scrape: what depends on the clock */
static void on_render(void *ctx, sl_metrics *m)
{
    sl_run_metrics *rm = ctx;
    int64_t now = sl_wall_ms();
    char why[256];
    sl_metrics_set(m, "sluice_ready", NULL, ready(rm, why, sizeof why));
    int64_t last_commit = ld(&rm->last_commit_wall);
    sl_metrics_set(m, "sluice_checkpoint_age_seconds", NULL,
                   (double)(now - (last_commit ? last_commit : rm->started_wall)) / 1000.0);
    int64_t base = ld(&rm->last_event_ts), caught = ld(&rm->caught_up_wall);
    if (caught > base)
        base = caught;
    if (base)
        sl_metrics_set(m, "sluice_lag_seconds", NULL, now > base ? (double)(now - base) / 1000.0 : 0.0);
    process_stats(m);
}

int sl_run_metrics_start(const sl_config *cfg, sl_run_metrics **out, sl_err *err)
{
    *out = NULL;
    const char *addr = sl_opt_str(&cfg->pipeline, "metrics.address");
    if (!addr || !*addr)
        return 0;
    sl_run_metrics *rm = calloc(1, sizeof *rm);
    if (!rm || !(rm->m = sl_metrics_new())) {
        free(rm);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    rm->interval_ms = sl_opt_num(&cfg->pipeline, "checkpoint.interval");
    rm->ready_intervals = sl_opt_num(&cfg->pipeline, "metrics.ready.intervals");
    rm->started_wall = sl_wall_ms();
    st(&rm->last_ok_wall, rm->started_wall);
    pthread_mutex_init(&rm->mu, NULL);
    pthread_cond_init(&rm->cv, NULL);
    declare(rm->m);
    sl_metrics_set(rm->m, "sluice_up", NULL, 0);
    sl_metrics_set(rm->m, "process_start_time_seconds", NULL, (double)rm->started_wall / 1000.0);
    static const char *const src_lbl[] = {"cause", "source", NULL}, *const snk_lbl[] = {"cause", "sink", NULL};
    sl_metrics_add(rm->m, "sluice_retries_total", src_lbl, 0);
    sl_metrics_add(rm->m, "sluice_retries_total", snk_lbl, 0);
    sl_metrics_add(rm->m, "sluice_epochs_committed_total", NULL, 0);
    sl_metrics_add(rm->m, "sluice_epochs_aborted_total", NULL, 0);
    sl_metrics_on_render(rm->m, on_render, rm);
    char where[512];
    sl_opt_where(&cfg->pipeline, "metrics.address", where, sizeof where);
    int rc = sl_metrics_http_start(addr, where, rm->m, ready, rm, &rm->http, err);
    if (rc) {
        sl_run_metrics_stop(rm);
        return rc;
    }
    *out = rm;
    return 0;
}

void sl_run_metrics_stop(sl_run_metrics *rm)
{
    if (!rm)
        return;
    sl_metrics_http_stop(rm->http);
    sl_metrics_free(rm->m);
    pthread_mutex_destroy(&rm->mu);
    pthread_cond_destroy(&rm->cv);
    free(rm->committed);
    free(rm);
}

sl_metrics *sl_run_metrics_registry(sl_run_metrics *rm) { return rm ? rm->m : NULL; }

static void *probe_main(void *arg)
{
    sl_run_metrics *rm = arg;
    pthread_mutex_lock(&rm->mu);
    while (!rm->probe_stop) {
        char *committed = rm->committed ? strdup(rm->committed) : NULL;
        pthread_mutex_unlock(&rm->mu);
        int64_t at = sl_wall_ms();
        sl_source_probe p = {.head_bytes = -1, .committed_bytes = -1};
        sl_err err;
        if (rm->src->probe(rm->src_self, committed, &p, &err)) {
            sl_metrics_add(rm->m, "sluice_source_probe_errors_total", NULL, 1);
            sl_debug("asking the source server for its head position failed: %s", err.msg);
        } else {
            if (p.head_bytes >= 0)
                sl_metrics_set(rm->m, "sluice_source_head_position_bytes", NULL, (double)p.head_bytes);
            if (p.committed_bytes >= 0)
                sl_metrics_set(rm->m, "sluice_source_committed_position_bytes", NULL, (double)p.committed_bytes);
            if (p.head_bytes >= 0 && p.committed_bytes >= 0) {
                long long lag = p.head_bytes - p.committed_bytes;
                sl_metrics_set(rm->m, "sluice_lag_bytes", NULL, lag > 0 ? (double)lag : 0.0);
                if (lag <= 0)
                    raise_to(&rm->caught_up_wall, at);
            }
        }
        free(committed);
        pthread_mutex_lock(&rm->mu);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        while (!rm->probe_stop && pthread_cond_timedwait(&rm->cv, &rm->mu, &ts) == 0) {
        }
    }
    pthread_mutex_unlock(&rm->mu);
    return NULL;
}

void sl_run_metrics_attempt(sl_run_metrics *rm, const sl_source_plugin *src, void *src_self, sl_emitter *emitter,
                            const char *committed)
{
    if (!rm)
        return;
    rm->emitter = emitter;
    st(&rm->last_ok_wall, sl_wall_ms());
    __atomic_store_n(&rm->running, 1, __ATOMIC_RELEASE);
    sl_metrics_set(rm->m, "sluice_up", NULL, 1);
    pthread_mutex_lock(&rm->mu);
    free(rm->committed);
    rm->committed = committed ? strdup(committed) : NULL;
    rm->probe_stop = 0;
    rm->src = src;
    rm->src_self = src_self;
    pthread_mutex_unlock(&rm->mu);
    rm->probing = src->probe && !pthread_create(&rm->probe_tid, NULL, probe_main, rm);
}

void sl_run_metrics_attempt_end(sl_run_metrics *rm)
{
    if (!rm)
        return;
    __atomic_store_n(&rm->running, 0, __ATOMIC_RELEASE);
    sl_metrics_set(rm->m, "sluice_up", NULL, 0);
    pthread_mutex_lock(&rm->mu);
    rm->sink_down = 0; /* the next attempt's sink is a new one */
    pthread_mutex_unlock(&rm->mu);
    if (rm->probing) {
        pthread_mutex_lock(&rm->mu);
        rm->probe_stop = 1;
        pthread_cond_broadcast(&rm->cv);
        pthread_mutex_unlock(&rm->mu);
        pthread_join(rm->probe_tid, NULL);
        rm->probing = 0;
    }
    rm->emitter = NULL;
}

void sl_run_metrics_role(sl_run_metrics *rm, const char *role, const char *why)
{
    if (!rm)
        return;
    static const char *const active[] = {"role", "active", NULL}, *const standby[] = {"role", "standby", NULL};
    int is_active = role && strcmp(role, "active") == 0, is_standby = role && strcmp(role, "standby") == 0;
    sl_metrics_set(rm->m, "sluice_ha_role", active, is_active);
    sl_metrics_set(rm->m, "sluice_ha_role", standby, is_standby);
    sl_metrics_add(rm->m, "sluice_ha_role_changes_total", NULL, 1);
    pthread_mutex_lock(&rm->mu);
    rm->standby = is_standby;
    snprintf(rm->role_why, sizeof rm->role_why, "%s", why ? why : "");
    pthread_mutex_unlock(&rm->mu);
}

static const char *op_name(char op)
{
    switch (op) {
    case SL_OP_READ: return "read";
    case SL_OP_CREATE: return "insert";
    case SL_OP_UPDATE: return "update";
    case SL_OP_DELETE: return "delete";
    case SL_OP_TRUNCATE: return "truncate";
    default: return NULL;
    }
}

void sl_run_metrics_batch(sl_run_metrics *rm, const sl_batch *b)
{
    if (!rm)
        return;
    /* one registry update per run of events of the same table and op */
    const sl_table_schema *schema = NULL;
    char op = 0;
    double n = 0;
    int64_t ts = 0;
    for (const sl_event *e = b->head;; e = e->next) {
        if (!e || e->schema != schema || e->op != op) {
            const char *name = op_name(op);
            if (n && schema && name) {
                const char *labels[] = {"table", schema->qualified, "op", name, NULL};
                sl_metrics_add(rm->m, "sluice_events_total", labels, n);
            }
            if (!e)
                break;
            schema = e->schema;
            op = e->op;
            n = 0;
        }
        n++;
        if (e->tx && e->tx->ts_ms > ts)
            ts = e->tx->ts_ms;
    }
    sl_metrics_add(rm->m, "sluice_batches_total", NULL, 1);
    sl_metrics_add(rm->m, "sluice_event_bytes_total", NULL, (double)sl_batch_bytes(b));
    if (ts) {
        raise_to(&rm->last_event_ts, ts);
        sl_metrics_set(rm->m, "sluice_last_event_timestamp_seconds", NULL, (double)ld(&rm->last_event_ts) / 1000.0);
    }
}

void sl_run_metrics_commit(sl_run_metrics *rm, const char *token, double seconds)
{
    if (!rm)
        return;
    int64_t now = sl_wall_ms();
    st(&rm->last_commit_wall, now);
    st(&rm->last_ok_wall, now);
    sl_metrics_add(rm->m, "sluice_epochs_committed_total", NULL, 1);
    sl_metrics_observe(rm->m, "sluice_checkpoint_commit_seconds", NULL, seconds);
    sl_metrics_set(rm->m, "sluice_last_checkpoint_timestamp_seconds", NULL, (double)now / 1000.0);
    pthread_mutex_lock(&rm->mu);
    free(rm->committed);
    rm->committed = token ? strdup(token) : NULL;
    rm->sink_down = 0;
    pthread_mutex_unlock(&rm->mu);
}

/* the sink's idle() health check, when it has one and nothing is open */
static void sink_idle(sl_run_metrics *rm, int64_t now, const sl_sink_plugin *sink, void *sink_self)
{
    int64_t every = rm->interval_ms > 1000 ? rm->interval_ms : 1000;
    if (!sink->idle || now - rm->last_idle < every)
        return;
    rm->last_idle = now;
    sl_err err;
    int rc = sink->idle(sink_self, &err);
    pthread_mutex_lock(&rm->mu);
    if (rc && !rm->sink_down)
        sl_warn("not ready: the sink does not answer: %s", err.msg);
    else if (!rc && rm->sink_down)
        sl_info("ready: the sink answers again");
    rm->sink_down = rc != 0;
    if (rc)
        snprintf(rm->sink_why, sizeof rm->sink_why, "%s", err.msg);
    pthread_mutex_unlock(&rm->mu);
}

void sl_run_metrics_abort(sl_run_metrics *rm)
{
    if (rm)
        sl_metrics_add(rm->m, "sluice_epochs_aborted_total", NULL, 1);
}

void sl_run_metrics_retry(sl_run_metrics *rm, const char *cause)
{
    if (!rm)
        return;
    const char *labels[] = {"cause", cause, NULL};
    sl_metrics_add(rm->m, "sluice_retries_total", labels, 1);
}

void sl_run_metrics_tick(sl_run_metrics *rm, int sink_clean, size_t queue_bytes, const sl_sink_plugin *sink,
                         void *sink_self)
{
    if (!rm)
        return;
    int64_t now = sl_wall_ms();
    /* the idle mark first: what the source had handed over by then is
     * committed if nothing is pending now */
    int64_t idle = rm->emitter ? __atomic_load_n(&rm->emitter->idle_wall_ms, __ATOMIC_ACQUIRE) : 0;
    if (sink_clean && rm->emitter && !sl_emit_pending(rm->emitter)) {
        st(&rm->last_ok_wall, now);
        if (idle)
            raise_to(&rm->caught_up_wall, idle);
    }
    if (sink_clean)
        sink_idle(rm, now, sink, sink_self);
    if (now - rm->last_sink_metrics >= 1000) {
        rm->last_sink_metrics = now;
        sl_metrics_set(rm->m, "sluice_queue_bytes", NULL, (double)queue_bytes);
        if (sink->metrics)
            sink->metrics(sink_self, rm->m);
    }
}
