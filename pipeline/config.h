/* config.h — a pipeline definition loaded from YAML (Flink CDC 3.x shape).
 *
 * Top-level keys: source, sink, route, transform, pipeline. Each option is
 * validated against its connector's table at load time, after ${env:NAME}
 * and ${file:PATH} substitution, so that a loaded config is known good and
 * every error names file:line:column.
 */
#ifndef SL_CONFIG_H
#define SL_CONFIG_H

#include <stddef.h>

#include "../core/err.h"
#include "../core/option.h"
#include "../core/route.h"
#include "registry.h"

typedef struct sl_transform {
    char *source_table;
    char *projection;     /* select list: *, columns, expr AS name */
    char *filter;         /* row predicate */
    char *primary_keys;
    char *partition_keys;
    char *table_options;
    char *table_options_delimiter;
    char *converter;      /* converter-after-transform: SOFT_DELETE */
    char *description;
    sl_srcloc loc;
    /* where the projection's and the filter's text starts in the file;
     * *_inline: the text sits on that one line, so an offset into it is a
     * column (a multi-line scalar reports its first line) */
    sl_srcloc projection_loc, filter_loc;
    int projection_inline, filter_inline;
} sl_transform;

typedef struct sl_config {
    char *path;
    const sl_source_plugin *source_plugin;
    const sl_sink_plugin *sink_plugin;
    sl_options source, sink, pipeline;
    sl_route *routes;
    size_t nroutes;
    sl_transform *transforms;
    size_t ntransforms;
    /* Flink's per-event schema change control, the sink's
     * include.schema.changes / exclude.schema.changes written as lists of
     * event types (comma-joined), or NULL */
    char *schema_include, *schema_exclude;
} sl_config;

/* Loads and validates path. SL_ECONFIG with "file:line:col: message". */
int sl_config_load(const char *path, sl_config *cfg, sl_err *err);
void sl_config_free(sl_config *cfg);

/* ${env:NAME} and ${file:PATH} in text; result malloc'd into *out. */
int sl_config_substitute(const char *text, char **out, sl_err *why);

#endif
