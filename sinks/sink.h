/* sink.h — the interface every sink connector implements.
 *
 * The runtime writes batches to the sink and, at the end of each epoch,
 * asks it to commit the epoch's data and the checkpoint together: the data
 * and the offset are made durable in one step in the sink itself, so they
 * can never disagree. abort() forgets everything written since the last
 * commit (used when the source fails inside a transaction).
 */
#ifndef SL_SINK_H
#define SL_SINK_H

#include <stdio.h>

#include "../core/err.h"
#include "../core/event.h"
#include "../core/option.h"

typedef struct sl_route_table sl_route_table;
struct sl_digest_set;

typedef struct sl_sink_env {
    const char *pipeline_name;
    const sl_options *pipeline;
    const sl_route_table *routes; /* maps source tables to sink names */
    const char *source_connector; /* "mysql", "postgres" (for the envelope) */
    /* `sluice status`: only load_checkpoint() is called, possibly while
     * the pipeline runs; the sink must not lock, repair or create anything */
    int read_only;
} sl_sink_env;

typedef struct sl_sink_plugin {
    const char *name;
    const char *description;
    const sl_option_def *options;
    const char *guarantee; /* "exactly-once" or "at-least-once" as documented */
    int (*validate)(const sl_options *opts, sl_err *err);
    int (*create)(const sl_options *opts, const sl_sink_env *env, void **self, sl_err *err);
    int (*check_connect)(void *self, FILE *out, sl_err *err);
    /* The last committed checkpoint (malloc'd JSON text) or *out = NULL. */
    int (*load_checkpoint)(void *self, char **out, sl_err *err);
    int (*write)(void *self, const sl_batch *b, sl_err *err);
    int (*commit)(void *self, const char *checkpoint, sl_err *err);
    int (*abort)(void *self, sl_err *err);
    /* Optional, for `sluice migrate`: digests of what the sink holds now
     * for the tables in want (whose key columns it names). */
    int (*read_back)(void *self, const struct sl_digest_set *want, struct sl_digest_set *out, sl_err *err);
    void (*destroy)(void *self);
} sl_sink_plugin;

#endif
