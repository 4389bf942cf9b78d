/* source.h — the interface every source connector implements.
 *
 * One registration struct per connector: its name, description, option
 * table and callbacks. The runtime owns the thread that calls run(); the
 * sink thread calls committed() after a checkpoint is durable, which is
 * the only moment a source may acknowledge upstream (PostgreSQL flush LSN).
 */
#ifndef SL_SOURCE_H
#define SL_SOURCE_H

#include <stdio.h>

#include "../core/emitter.h"
#include "../core/err.h"
#include "../core/option.h"

struct sl_digest_set;

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
} sl_source_env;

typedef struct sl_source_plugin {
    const char *name;
    const char *description;
    /* Debezium's connector name for the envelope's source.connector; NULL = name */
    const char *envelope_name;
    const sl_option_def *options;
    /* Checks option combinations the table cannot express. Optional. */
    int (*validate)(const sl_options *opts, sl_err *err);
    int (*create)(const sl_options *opts, const sl_source_env *env, void **self, sl_err *err);
    /* `sluice check --connect`: probes the server, prints one line per
     * finding to out with the statement that fixes it; SL_ECONFIG if any
     * finding is fatal. Optional. */
    int (*check_connect)(void *self, FILE *out, sl_err *err);
    /* Streams until sl_emit_should_stop() or the end of a bounded run.
     * resume is the source part of the last committed checkpoint, or NULL. */
    int (*run)(void *self, const char *resume, sl_emitter *out, sl_err *err);
    /* A checkpoint holding this token is durable in the sink. Thread-safe. */
    void (*committed)(void *self, const char *token);
    /* Who the server run() reads is, as a flat JSON object of strings
     * (MariaDB server_id and GTID domain, a MySQL server_uuid, a PostgreSQL
     * system identifier), or NULL until run() has connected; the runtime
     * records it in every checkpoint. The text stays valid until destroy().
     * Thread-safe. Optional. */
    const char *(*identity)(void *self);
    /* Called from another thread after a stop request: unblocks a run()
     * waiting on the network (e.g. shuts the socket down). Optional. */
    void (*interrupt)(void *self);
    /* Optional, for `sluice migrate`: row counts and checksums of every
     * captured table as the server holds them now. */
    int (*digest)(void *self, struct sl_digest_set *out, sl_err *err);
    void (*destroy)(void *self);
} sl_source_plugin;

#endif
