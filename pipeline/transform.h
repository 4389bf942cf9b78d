/* transform.h — Flink CDC's `transform:` block: per-table projection,
 * filter and primary-key override, applied to events before the sink.
 *
 * Supported: projection of columns (`*`, `col`, `col AS alias`), filters
 * made of comparisons of a column with a literal (=, !=, <>, <, <=, >, >=),
 * IS [NOT] NULL, AND, OR, NOT and parentheses, and `primary-keys`. Other
 * Flink expressions (function calls, computed columns) are rejected when
 * the pipeline is loaded, naming the expression.
 */
#ifndef SL_TRANSFORM_H
#define SL_TRANSFORM_H

#include <stddef.h>

#include "config.h"
#include "../core/event.h"

typedef struct sl_transformer sl_transformer;

/* Compiles the transforms; errors carry file:line:col of the transform. */
int sl_transformer_new(const sl_transform *defs, size_t n, sl_transformer **out, sl_err *err);
void sl_transformer_free(sl_transformer *t);
/* Rewrites the batch in place: drops filtered rows, projects columns.
 * Output schemas are owned by the transformer. */
int sl_transformer_apply(sl_transformer *t, sl_batch *b, sl_err *err);

#endif
