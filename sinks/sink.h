/* sink.h — the interface every sink connector implements: the contract
 * between a sink and the runtime (pipeline/runtime.c).
 *
 * A sink is one folder (sinks/<name>/) with one registration struct (an
 * sl_sink_plugin, listed in pipeline/registry.c) and one option table.
 * The registry refuses, at startup, a plugin whose name, description,
 * option table, guarantee or required callbacks are missing.
 *
 * The protocol. The runtime writes batches to the sink and, at the end of
 * each epoch (checkpoint.interval, always on a transaction boundary), asks
 * it to commit the epoch's data and the checkpoint together: the data and
 * the offset are made durable in one step in the sink itself, so they can
 * never disagree. After a crash the runtime reads the checkpoint back
 * (load_checkpoint) and the source resumes there: what was written after
 * it is written again. An exactly-once sink makes that replay invisible
 * (a Kafka transaction, an idempotent insert); an at-least-once sink may
 * show the replayed epoch twice. abort() forgets everything written since
 * the last commit.
 *
 * Threads. Every callback runs on the runtime thread (the program's main
 * thread), one at a time, metrics() and idle() included: a sink needs no
 * locks of its own for the runtime's sake. Its own threads (librdkafka's)
 * are its business.
 *
 * What a sink may keep. opts and env, and everything they point to (the
 * route table included), stay valid from create() until destroy()
 * returns: keep the pointers. A batch given to write() is borrowed for
 * the call only: the runtime frees it when write() returns, so copy (or
 * send) what must outlive the call. The checkpoint text given to commit()
 * is valid during the call only.
 *
 * Errors. Every callback that returns int returns 0 or one class of
 * core/err.h with the message in err:
 *  - SL_ECONFIG: wrong configuration or setup no retry can fix; the run
 *    ends and sluice exits 2.
 *  - SL_ERETRY: transient (a broker restart, an aborted transaction, a
 *    producer to rebuild); the runtime calls abort(), destroys source and
 *    sink, and restarts the pipeline from the last committed checkpoint
 *    after a backoff (0.5 s doubling to 16 s); ten retries in a row
 *    without a new commit end the run with exit 1.
 *  - SL_ERUNTIME: anything else; abort(), then the run ends, exit 1.
 * That holds for create(), load_checkpoint() (before anything runs),
 * write() and commit() (the open epoch is aborted first). abort() cannot
 * change the course: its error is logged as a warning. check_connect()
 * and read_back() are not part of a run: their error is reported and
 * sluice exits 2 (SL_ECONFIG) or 1.
 */
#ifndef SL_SINK_H
#define SL_SINK_H

#include <signal.h>
#include <stdio.h>

#include "../core/err.h"
#include "../core/event.h"
#include "../core/option.h"

typedef struct sl_route_table sl_route_table;
struct sl_digest_set;
struct sl_metrics;

/* What a transform rule says about a table's sink-side shape beyond its
 * columns (Flink's partition-keys and table-options), for sinks that
 * create tables (ClickHouse PARTITION BY, an Iceberg partition spec). */
typedef struct sl_table_hints {
    const char *partition_keys;          /* "a, b" as written, or NULL */
    const char *table_options;           /* "k1=v1,k2=v2" as written, or NULL */
    const char *table_options_delimiter; /* "," unless the rule sets another */
} sl_table_hints;

typedef struct sl_sink_env {
    const char *pipeline_name;
    const sl_options *pipeline;
    const sl_route_table *routes; /* maps source tables to sink names; NULL outside a run */
    const char *source_connector; /* "mysql", "postgresql" (for the envelope) */
    /* Flink's partition-keys and table-options for source table ns.table:
     * 1 and *out when a transform rule gives some, 0 when none does; the
     * function is NULL when the pipeline has no transform. Only for sinks
     * that set table_hints in their plugin struct. */
    int (*table_hints)(const void *ctx, const char *ns, const char *table, sl_table_hints *out);
    const void *table_hints_ctx;
    /* `sluice status`: only load_checkpoint() is called, possibly while
     * the pipeline runs; the sink must not lock, repair or create anything */
    int read_only;
    /* a member of a high-availability group: the previous active process
     * may hold the sink's lock for a moment after losing leadership, so a
     * busy lock is transient (SL_ERETRY), not a configuration error */
    int ha;
    /* set by SIGINT/SIGTERM: a sink waiting on a server of its own (the
     * kafka sink's schema registry) gives up at once with SL_ERETRY, which
     * the runtime then treats as a clean stop; NULL outside a run */
    const volatile sig_atomic_t *stop;
} sl_sink_env;

/* What a consumer of the sink sees after crashes and restarts. */
typedef enum sl_guarantee {
    SL_GUARANTEE_UNSET = 0,       /* refused by the registry */
    SL_GUARANTEE_EXACTLY_ONCE,    /* every change once */
    SL_GUARANTEE_AT_LEAST_ONCE,   /* a replayed epoch may repeat changes */
    SL_GUARANTEE_NONE,            /* nothing is kept (blackhole) */
} sl_guarantee;

static inline const char *sl_guarantee_name(sl_guarantee g)
{
    switch (g) {
    case SL_GUARANTEE_EXACTLY_ONCE: return "exactly-once";
    case SL_GUARANTEE_AT_LEAST_ONCE: return "at-least-once";
    case SL_GUARANTEE_NONE: return "none";
    default: return "unset";
    }
}

typedef struct sl_sink_plugin {
    /* Required: the name in YAML (`sink: type:`), one line for `sluice
     * describe`, the option table (SL_OPTION_END-terminated), and the
     * strongest guarantee the sink gives (an option may weaken it, as
     * Kafka's delivery.guarantee does). */
    const char *name;
    const char *description;
    const sl_option_def *options;
    sl_guarantee guarantee;
    /* Optional: 1 when the sink uses sl_sink_env.table_hints (sinks that
     * create tables); a pipeline giving partition-keys or table-options to
     * a sink without it is refused at config load. */
    int table_hints;

    /* Optional. At config load, after the option table has checked each
     * option: checks combinations the table cannot express. SL_ECONFIG. */
    int (*validate)(const sl_options *opts, sl_err *err);
    /* Required. Builds the sink and connects; may take the pipeline over
     * (Kafka fences an older producer of the same transactional.id). */
    int (*create)(const sl_options *opts, const sl_sink_env *env, void **self, sl_err *err);
    /* Optional. `sluice check --connect`, without create() (which may take
     * a running pipeline over): probes the target and prints one line per
     * finding to out through core/check_report.h (ok / FAIL with the fix /
     * warn), then its verdict; SL_ECONFIG if any finding is fatal. Creates
     * nothing that a run would not. */
    int (*check_connect)(const sl_options *opts, const sl_sink_env *env, FILE *out, sl_err *err);
    /* Required. The last committed checkpoint (malloc'd JSON text, the
     * runtime frees it) or *out = NULL when there is none. */
    int (*load_checkpoint)(void *self, char **out, sl_err *err);
    /* Required. Writes a batch (borrowed, see above) into the open epoch.
     * Never called with an empty batch. */
    int (*write)(void *self, const sl_batch *b, sl_err *err);
    /* Required. Makes everything written since the last commit durable
     * together with checkpoint (JSON text: pipeline, source token), in one
     * step. Only after it returns 0 does the source hear of it. */
    int (*commit)(void *self, const char *checkpoint, sl_err *err);
    /* Optional, both or neither: a pipelined commit. commit_start() does
     * what commit() does but returns once the commit is under way (the
     * checkpoint text is valid during the call only); write() may then be
     * called for the next epoch while it is in flight, and the sink must
     * not let that data become visible before the epoch being committed.
     * commit_done() reports the outcome: *done = 1 once the commit is
     * durable (or failed: its error class), 0 while in flight; wait = 1
     * blocks until it is settled. The runtime tells the source of the
     * checkpoint only after *done = 1, never starts a commit while one is
     * in flight, and settles the one in flight before abort(). Errors as
     * for commit(). */
    int (*commit_start)(void *self, const char *checkpoint, sl_err *err);
    int (*commit_done)(void *self, int wait, int *done, sl_err *err);
    /* Required. Forgets everything written since the last commit. */
    int (*abort)(void *self, sl_err *err);
    /* Optional, for `sluice migrate`: digests of what the sink holds now
     * for the tables in want (whose key columns it names). */
    int (*read_back)(void *self, const struct sl_digest_set *want, struct sl_digest_set *out, sl_err *err);
    /* Optional. While the metrics endpoint is on, when nothing has been
     * written since the last commit, at most once per second or
     * checkpoint.interval (the longer): checks cheaply that the target
     * answers (ClickHouse: SELECT 1, one attempt). An error does not stop
     * the pipeline (the next write meets the failure the usual way): it
     * makes /readyz fail with its message until a later idle() or commit
     * succeeds. */
    int (*idle)(void *self, sl_err *err);
    /* Optional. About once a second while the metrics endpoint is on:
     * publishes the sink's own state into m (core/metrics.h; names start
     * with sluice_<sink>_), e.g. Kafka's outbound queue and whether a
     * transaction is open. Reads the sink's state only: no I/O. */
    void (*metrics)(void *self, struct sl_metrics *m);
    /* Required. Once for every successful create(). */
    void (*destroy)(void *self);
} sl_sink_plugin;

#endif
