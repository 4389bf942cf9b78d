/* ha.c — the standby/active loop of a high-availability group, the lease
 * watchdog and the commit gate.
 *
 * A member waits as standby until its coordinator makes it active, then
 * runs the pipeline with a stop flag of its own. A watchdog thread proves
 * leadership every period (the coordinator's check) and records when the
 * last proof was asked; the runtime asks the gate before every commit,
 * and the gate refuses once that proof is older than half the session
 * timeout, or once the watchdog saw leadership lost or the process paused
 * (a gap between two of its rounds longer than that half). A refused
 * commit rolls the epoch back. The coordinator cannot give leadership to
 * another member before a whole session timeout without proof has passed,
 * so a member stops committing before another can start; the sink's own
 * fencing covers a commit already under way (docs/architecture.md, "High
 * availability").
 */
#define SL_LOG_COMPONENT "ha"

#include "ha.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../core/clock.h"
#include "../../core/log.h"
#include "../run_metrics.h"

const char *sl_ha_role_name(sl_ha_role r)
{
    return r == SL_HA_ROLE_ACTIVE ? "active" : r == SL_HA_ROLE_STANDBY ? "standby" : "none";
}

static const sl_ha_ops *ops_of(const sl_config *cfg)
{
    switch (sl_opt_num(&cfg->pipeline, "ha.mode")) {
    case SL_HA_KAFKA_GROUP: return &sl_ha_kafka_group;
    case SL_HA_SOURCE_LOCK: return &sl_ha_source_lock;
    default: return NULL;
    }
}

int sl_ha_validate(const sl_config *cfg, sl_err *err)
{
    char where[512];
    sl_opt_where(&cfg->pipeline, "ha.mode", where, sizeof where);
    int64_t mode = sl_opt_num(&cfg->pipeline, "ha.mode");
    if (mode == SL_HA_KAFKA_GROUP && !sl_opt_str(&cfg->pipeline, "ha.kafka.bootstrap.servers") &&
        (strcmp(cfg->sink_plugin->name, "kafka") != 0 || !sl_opt_str(&cfg->sink, "properties.bootstrap.servers")))
        return sl_errf(err, SL_ECONFIG,
                       "%s: ha.mode kafka-group needs Kafka brokers to coordinate through, and the %s sink names "
                       "none: set ha.kafka.bootstrap.servers in the pipeline block",
                       where, cfg->sink_plugin->name);
    if (mode == SL_HA_SOURCE_LOCK && strcmp(cfg->source_plugin->name, "mysql") != 0 &&
        strcmp(cfg->source_plugin->name, "postgres") != 0)
        return sl_errf(err, SL_ECONFIG,
                       "%s: ha.mode source-lock holds a lock on a MySQL/MariaDB or PostgreSQL source, not on a %s "
                       "source: use ha.mode kafka-group",
                       where, cfg->source_plugin->name);
    return 0;
}

int sl_ha_status(const sl_config *cfg, json_t **view, sl_err *err)
{
    *view = NULL;
    const sl_ha_ops *ops = ops_of(cfg);
    if (!ops)
        return 0;
    json_t *v = json_pack("{s:s, s:b, s:b, s:b, s:[]}", "mode", ops->name, "roles_known", 1, "count_known", 1,
                          "active", 0, "members");
    if (!v)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    int rc = ops->status(cfg, v, err);
    if (rc)
        json_decref(v);
    else
        *view = v;
    return rc;
}

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

void sl_ha_status_print(const json_t *view, FILE *out)
{
    if (!view)
        return;
    const json_t *members = json_object_get(view, "members");
    size_t n = json_array_size(members);
    int roles_known = json_is_true(json_object_get(view, "roles_known"));
    fprintf(out, "ha: %s (%s", str(view, "mode"), str(view, "coordinator") ? str(view, "coordinator") : "?");
    if (str(view, "state"))
        fprintf(out, ", %s", str(view, "state"));
    fputc(')', out);
    if (json_is_true(json_object_get(view, "count_known")))
        fprintf(out, ", %zu member%s", n, n == 1 ? "" : "s");
    fprintf(out, ", %s\n", !roles_known ? "rebalancing (roles show once the group is stable)"
                           : json_is_true(json_object_get(view, "active")) ? "one active" : "none active");
    size_t i;
    const json_t *m;
    json_array_foreach(members, i, m) {
        char where[512];
        if (str(m, "connection"))
            snprintf(where, sizeof where, "connection %s from %s", str(m, "connection"),
                     str(m, "host") ? str(m, "host") : "?");
        else
            snprintf(where, sizeof where, "%s", str(m, "host") ? str(m, "host") : "?");
        if (str(m, "member"))
            fprintf(out, "  member %s (%s)", str(m, "member"), where);
        else
            fprintf(out, "  %s", where);
        if (str(m, "role"))
            fprintf(out, ": %s", str(m, "role"));
        fputc('\n', out);
    }
}

typedef struct ha_state {
    const sl_ha_ops *ops;
    void *co;
    int64_t period_ms; /* how often the watchdog proves leadership */
    int64_t lease_ms;  /* how old a proof may be when a commit is gated */
    const volatile sig_atomic_t *stop;
    volatile sig_atomic_t run_stop; /* the pipeline's stop flag */
    int64_t proven_at;              /* atomic: when the last good proof was asked (monotonic ms) */
    int lost, quit;                 /* atomic */
    sl_err why;                     /* written by the watchdog before lost is set */
} ha_state;

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void *watchdog_main(void *arg)
{
    ha_state *h = arg;
    int64_t last = sl_mono_ms(), next_check = last + h->period_ms;
    while (!__atomic_load_n(&h->quit, __ATOMIC_ACQUIRE)) {
        if (*h->stop)
            h->run_stop = 1;
        int64_t now = sl_mono_ms();
        if (now - last > h->lease_ms) {
            sl_errf(&h->why, SL_ERUNTIME,
                    "this process was paused for %lld ms, longer than half of ha.session.timeout: another member "
                    "may have taken over",
                    (long long)(now - last));
            break;
        }
        if (now >= next_check) {
            if (h->ops->check(h->co, (int)(h->lease_ms / 2), &h->why))
                break;
            __atomic_store_n(&h->proven_at, now, __ATOMIC_RELEASE);
            next_check = now + h->period_ms;
        }
        last = sl_mono_ms();
        sleep_ms(20);
    }
    if (!__atomic_load_n(&h->quit, __ATOMIC_ACQUIRE)) {
        __atomic_store_n(&h->lost, 1, __ATOMIC_RELEASE);
        h->run_stop = 1;
    }
    return NULL;
}

/* the runtime's commit gate (sl_run_opts.lease) */
static int lease_ok(void *ctx, sl_err *err)
{
    ha_state *h = ctx;
    if (__atomic_load_n(&h->lost, __ATOMIC_ACQUIRE))
        return sl_errf(err, SL_ERUNTIME, "leadership lost (%s): the open epoch is rolled back", h->why.msg);
    int64_t age = sl_mono_ms() - __atomic_load_n(&h->proven_at, __ATOMIC_ACQUIRE);
    if (age > h->lease_ms)
        return sl_errf(err, SL_ERUNTIME,
                       "leadership last proven %lld ms ago, more than half of ha.session.timeout: the open epoch is "
                       "rolled back rather than committed by a member that may no longer lead",
                       (long long)age);
    return 0;
}

static void set_role(sl_run_metrics *rm, sl_ha_role role, const char *why, sl_ha_role_fn on_role, void *ctx)
{
    sl_run_metrics_role(rm, role == SL_HA_ROLE_NONE ? NULL : sl_ha_role_name(role), why);
    if (on_role)
        on_role(ctx, role, why);
}

int sl_ha_run(const sl_config *cfg, const sl_run_opts *ro, const volatile sig_atomic_t *stop, sl_run_stats *stats,
              sl_ha_role_fn on_role, void *role_ctx, sl_err *err)
{
    memset(stats, 0, sizeof *stats);
    const sl_ha_ops *ops = ops_of(cfg);
    const char *name = sl_opt_str(&cfg->pipeline, "name");
    int64_t session = sl_opt_num(&cfg->pipeline, "ha.session.timeout");
    char host[128] = "?", member[192];
    gethostname(host, sizeof host - 1);
    snprintf(member, sizeof member, "%s:%ld", host, (long)getpid());
    ha_state h = {.ops = ops, .lease_ms = session / 2, .stop = stop};
    /* a Kafka member answers the coordinator from its poll loop: poll
     * often; a lock is proven by a round trip: four per session */
    h.period_ms = ops == &sl_ha_kafka_group ? 100 : session / 4;
    /* one metrics endpoint for the whole membership: a standby shows its
     * role (and is not ready) between runs */
    sl_run_metrics *rm = NULL;
    int rc = sl_run_metrics_start(cfg, &rm, err);
    if (rc)
        return rc;
    if ((rc = ops->open(cfg, member, session, stop, &h.co, err))) {
        sl_run_metrics_stop(rm);
        return rc;
    }
    sl_info("pipeline %s: member %s of the %s group (ha.session.timeout %lld ms)", name, member, ops->name,
            (long long)session);
    for (;;) {
        sl_info("standby: waiting to become active (%s)", ops->name);
        set_role(rm, SL_HA_ROLE_STANDBY, "waiting", on_role, role_ctx);
        int64_t since = sl_mono_ms();
        char last_error[sizeof(sl_err){0}.msg] = "";
        int got = 0;
        while (!*stop) {
            sl_err e;
            int r = ops->acquire(h.co, 200, &e);
            if (r == 1) {
                got = 1;
                break;
            }
            if (r < 0) {
                if (strcmp(last_error, e.msg) != 0)
                    sl_warn("standby: %s; trying again", e.msg);
                snprintf(last_error, sizeof last_error, "%s", e.msg);
                ops->release(h.co);
                for (int i = 0; i < 10 && !*stop; i++)
                    sleep_ms(100);
            }
        }
        if (!got) {
            rc = 0;
            break;
        }
        sl_info("active: leadership acquired through %s after %.1f s as standby; starting the pipeline", ops->name,
                (double)(sl_mono_ms() - since) / 1000.0);
        set_role(rm, SL_HA_ROLE_ACTIVE, "leadership acquired", on_role, role_ctx);
        h.run_stop = 0;
        h.lost = h.quit = 0;
        h.proven_at = sl_mono_ms();
        pthread_t tid;
        if (pthread_create(&tid, NULL, watchdog_main, &h)) {
            rc = sl_errf(err, SL_ERUNTIME, "cannot start the leadership watchdog");
            ops->release(h.co);
            break;
        }
        sl_run_opts run = *ro;
        run.lease = lease_ok;
        run.lease_ctx = &h;
        run.metrics = rm;
        rc = sl_pipeline_run(cfg, &run, &h.run_stop, stats, err);
        __atomic_store_n(&h.quit, 1, __ATOMIC_RELEASE);
        pthread_join(tid, NULL);
        if (__atomic_load_n(&h.lost, __ATOMIC_ACQUIRE)) {
            sl_warn("leadership lost: %s; the pipeline stopped without committing its open epoch; back to standby",
                    h.why.msg);
            ops->release(h.co);
            set_role(rm, SL_HA_ROLE_STANDBY, h.why.msg, on_role, role_ctx);
            if (*stop) {
                rc = 0;
                break;
            }
            continue;
        }
        ops->release(h.co);
        if (rc)
            sl_warn("active: the pipeline failed; leadership released so that a standby takes over");
        else
            sl_info("active: leadership released (hand-over to a standby)");
        break;
    }
    set_role(rm, SL_HA_ROLE_NONE, "stopped", on_role, role_ctx);
    ops->close(h.co);
    sl_run_metrics_stop(rm);
    return rc;
}
