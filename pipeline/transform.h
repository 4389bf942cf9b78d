/* transform.h — Flink CDC's `transform:` block: per-table projection with
 * computed columns, row filter, primary-key override and the soft-delete
 * converter, applied to events before the sink.
 *
 * Expressions are Flink CDC's (pipeline/expr/): parsed and checked when
 * the pipeline loads, bound to each table at its first event, where a name
 * the table lacks or a type mismatch stops the pipeline with the file,
 * line and column of the rule. The first rule whose source-table matches a
 * table applies to it. A filter sees the projection's columns (computed
 * ones included) before the table's own; an update whose old row passes
 * the filter and whose new row does not becomes a delete, the reverse an
 * insert, as in Flink.
 */
#ifndef SL_TRANSFORM_H
#define SL_TRANSFORM_H

#include <stddef.h>

#include "config.h"
#include "../core/event.h"

typedef struct sl_transformer sl_transformer;

typedef struct sl_transform_env {
    const char *metadata_list;   /* the source's metadata.list (op_ts, ...) */
    const char *local_time_zone; /* pipeline local-time-zone; NULL = the system's */
    int decimal_max;             /* 19 (Flink's default UP_TO_19) or 38 */
} sl_transform_env;

/* The transform environment a loaded config describes. */
void sl_transform_env_of(const sl_config *cfg, sl_transform_env *env);

/* Compiles the transforms; errors carry file:line:col. env may be NULL. */
int sl_transformer_create(const sl_transform *defs, size_t n, const sl_transform_env *env, sl_transformer **out,
                          sl_err *err);
int sl_transformer_new(const sl_transform *defs, size_t n, sl_transformer **out, sl_err *err);
void sl_transformer_free(sl_transformer *t);
/* Rewrites the batch in place: drops filtered rows, projects and computes
 * columns. Output schemas are owned by the transformer. */
int sl_transformer_apply(sl_transformer *t, sl_batch *b, sl_err *err);

/* 1 and *out when a rule applies to the source table ns.table */
int sl_transformer_hints(const sl_transformer *t, const char *ns, const char *table, sl_table_hints *out);

#endif
