/* source.h — the interface every source connector implements: the
 * contract between a source and the runtime (pipeline/runtime.c).
 *
 * A source is one folder (sources/<name>/) with one registration struct
 * (an sl_source_plugin, listed in pipeline/registry.c) and one option
 * table. The registry refuses, at startup, a plugin whose name,
 * description, option table or required callbacks are missing.
 *
 * Threads. Two threads touch a source, three with the metrics endpoint.
 * The runtime thread (the program's main thread, which is also the sink
 * thread) calls validate, create, check_connect, committed, identity,
 * interrupt, digest and destroy; the source thread, which the runtime
 * starts and joins, runs run() and nothing else. While run() runs,
 * committed() and interrupt() may be called at any moment from the runtime
 * thread: they must be thread-safe with respect to run(). With
 * pipeline.metrics.address set, a probe thread calls probe() while run()
 * runs, and is joined before destroy(); `sluice status` calls probe() on
 * its own, without run(). The snapshot's chunk readers are the source's
 * own threads; they hand rows over through the same emitter
 * (snapshot/boundary.h).
 *
 * What a source may keep. opts and env, and everything they point to,
 * stay valid from create() until destroy() returns: keep the pointers, no
 * copy needed. resume is valid until run() returns; the token given to
 * committed() only during that call (copy what you keep). Events handed to
 * the emitter belong to the batch they were added to (sl_emit_batch): the
 * source must not touch them after the transaction's sl_emit_commit().
 *
 * Errors. Every callback that returns int returns 0 or one class of
 * core/err.h with the message in err:
 *  - SL_ECONFIG: the configuration or the server setup is wrong and no
 *    retry can help; the runtime stops and sluice exits 2.
 *  - SL_ERETRY: transient (a lost connection, a server restart); the
 *    runtime restarts the whole pipeline from the last committed
 *    checkpoint after a backoff (0.5 s doubling to 16 s), so the replay is
 *    exactly the uncommitted epoch. Ten retries in a row without a new
 *    commit end the run with exit 1.
 *  - SL_ERUNTIME: anything else (the server, the network for good, the
 *    data); the runtime stops and sluice exits 1.
 * When run() returns (with or without an error), the runtime first writes
 * what the source handed over and commits it if it ends on a transaction
 * boundary; an unfinished transaction is rolled back in the sink (abort)
 * and replayed on the next start. Only then does the error class decide.
 * An error of create() ends the attempt before anything runs, with the
 * same classes. validate() and check_connect() are not part of a run: an
 * error there is reported and sluice exits 2 (SL_ECONFIG) or 1.
 */
#ifndef SL_SOURCE_H
#define SL_SOURCE_H

#include <stdio.h>

#include "../core/emitter.h"
#include "../core/err.h"
#include "../core/option.h"

struct sl_digest_set;
struct sl_metrics;

/* What probe() reports: positions as byte counts on one scale the source
 * chooses (MySQL: bytes from the start of the oldest binlog the server
 * keeps; PostgreSQL: the LSN), -1 when unknown. */
typedef struct sl_source_probe {
    char head[256];         /* the server's newest position, as the source writes positions */
    long long head_bytes;   /* ... on the byte scale */
    long long committed_bytes; /* the committed token on the same scale */
} sl_source_probe;

/* scan.on-log-loss, the same option in every source: what to do when the
 * changelog a checkpoint resumes from is gone (a purged binlog, a missing
 * or invalidated slot). fail stops with the fix; resnapshot reads every
 * captured table anew from the current position, announced by a TRUNCATE
 * of each table (snapshot/boundary.h, sl_boundary_resnapshot). */
enum { SL_ON_LOG_LOSS_FAIL, SL_ON_LOG_LOSS_RESNAPSHOT };
#define SL_ON_LOG_LOSS_OPTION(when)                                                                              \
    {"scan.on-log-loss", SL_OPT_ENUM, "fail", 0, 0, 0, "fail|resnapshot",                                        \
     "When " when ": fail = stop with the fix; resnapshot = read every captured table anew, after a TRUNCATE "  \
     "event per table that makes sinks drop what they hold (rows deleted meanwhile must not survive)."}

typedef struct sl_source_env {
    const char *pipeline_name;
    const sl_options *pipeline; /* the `pipeline:` block (parallelism, ...) */
    /* migrate: stop at this position (source-specific text: "now" resolved
     * by the source at start); NULL = run forever */
    const char *follow_until;
    /* the source server's identity recorded with the checkpoint being
     * resumed (a JSON object, see identity()), or NULL: a source that knows
     * its server's identity refuses to resume on a different server */
    const char *identity;
    /* the run's metrics (core/metrics.h), NULL when metrics are off; the
     * snapshot publishes its progress there */
    struct sl_metrics *metrics;
} sl_source_env;

typedef struct sl_source_plugin {
    /* Required: the name in YAML (`source: type:`), one line for
     * `sluice describe`, the option table (SL_OPTION_END-terminated; it
     * validates the YAML and documents the connector). */
    const char *name;
    const char *description;
    const sl_option_def *options;
    /* Optional: Debezium's connector name for the envelope's
     * source.connector; NULL = name. */
    const char *envelope_name;

    /* Optional. At config load, after the option table has checked each
     * option: checks combinations the table cannot express. SL_ECONFIG. */
    int (*validate)(const sl_options *opts, sl_err *err);
    /* Required. Builds the source from its options; should not connect (a
     * `sluice check` creates the source too). *self is passed back to
     * every other callback. */
    int (*create)(const sl_options *opts, const sl_source_env *env, void **self, sl_err *err);
    /* Optional. `sluice check --connect`: probes the server and prints one
     * line per finding to out through core/check_report.h (ok / FAIL with
     * the statement that fixes it / warn); SL_ECONFIG if any finding is
     * fatal. Creates nothing on the server. */
    int (*check_connect)(void *self, FILE *out, sl_err *err);
    /* Required. On the source thread: streams changes into out until
     * sl_emit_should_stop(out) or, for a bounded run (migrate, snapshot
     * only), until the end, which it marks with sl_emit_end(). resume is
     * the source part of the last committed checkpoint (the token of a
     * past sl_emit_commit), or NULL for a first start. Transactions end
     * with sl_emit_commit(pos, token) or, while a snapshot runs, through
     * snapshot/boundary.h. */
    int (*run)(void *self, const char *resume, sl_emitter *out, sl_err *err);
    /* Optional. On the runtime thread, while run() runs: a checkpoint
     * holding this token is durable in the sink. The only moment a source
     * may acknowledge upstream (PostgreSQL: the slot's flush LSN). */
    void (*committed)(void *self, const char *token);
    /* Optional. On the runtime thread, while run() runs: who the server
     * run() reads is, as a flat JSON object of strings (MariaDB server_id
     * and GTID domain, a MySQL server_uuid, a PostgreSQL system
     * identifier), or NULL until run() has connected; the runtime records
     * it in every checkpoint (the source refuses to resume from another
     * server's, sl_source_env.identity). The text stays valid until
     * destroy(). Thread-safe. */
    const char *(*identity)(void *self);
    /* Optional. On the runtime thread after a stop request: unblocks a
     * run() waiting on the network (e.g. shuts the socket down); run()
     * then returns. */
    void (*interrupt)(void *self);
    /* Optional. On the probe thread, about once a second while run()
     * runs (never twice at once, never after destroy() began), or once
     * from `sluice status` after create() without run(): asks the
     * server where its log ends now, on a connection of the probe's own
     * (opened on first use, closed by destroy()), and places committed
     * (the token of the last durable checkpoint, or NULL) on the same
     * scale, so the runtime can publish the lag in bytes. Must not touch
     * what run() uses. An error is reported on the metrics and logged at
     * debug level; it never stops the pipeline. */
    int (*probe)(void *self, const char *committed, sl_source_probe *out, sl_err *err);
    /* Optional, for `sluice migrate`: row counts and checksums of every
     * captured table as the server holds them now. */
    int (*digest)(void *self, struct sl_digest_set *out, sl_err *err);
    /* Required. Once for every successful create(), on the runtime thread,
     * after run() has returned (or when it never ran). */
    void (*destroy)(void *self);
} sl_source_plugin;

#endif
