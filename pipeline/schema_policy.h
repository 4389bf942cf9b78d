/* schema_policy.h — Flink CDC's schema.change.behavior and its per-event
 * control (the sink's include.schema.changes / exclude.schema.changes),
 * applied between the transform and the sink, the place Flink's schema
 * operator has.
 *
 * The first shape a table shows in a run is its sink shape. A later shape
 * is compared with the previous one and the change classified as Flink's
 * event types: create.table, add.column, drop.column, rename.column (a
 * column replaced at the same position by one of the same type under
 * another name), alter.column.type, truncate.table. A change type that is
 * allowed changes the sink shape; one that is not leaves it, and rows are
 * fitted to the sink shape by column name (NULL for a column they lack).
 *   exception   any change stops the pipeline, naming the table;
 *   ignore      only create.table is allowed;
 *   lenient     every change except truncate.table and drop.table, and a
 *               dropped column stays (NULL from then on) and a renamed one
 *               keeps its old name beside the new (Flink's default);
 *   evolve, try_evolve  every change.
 * include.schema.changes narrows the allowed types (create.table is always
 * added unless excluded), exclude.schema.changes removes types; a name
 * matches by its parts ("drop" is drop.column and drop.table, "column" all
 * column changes). A source with schema-change.enabled: false behaves as
 * ignore.
 */
#ifndef SL_SCHEMA_POLICY_H
#define SL_SCHEMA_POLICY_H

#include "../core/err.h"
#include "../core/event.h"

enum { SL_SCB_IGNORE, SL_SCB_LENIENT, SL_SCB_TRY_EVOLVE, SL_SCB_EVOLVE, SL_SCB_EXCEPTION };

typedef struct sl_schema_policy sl_schema_policy;

/* include/exclude: comma-separated event type names, or NULL; an unknown
 * name is SL_ECONFIG naming it */
int sl_schema_policy_new(int behavior, const char *include, const char *exclude, sl_schema_policy **out,
                         sl_err *err);
void sl_schema_policy_free(sl_schema_policy *p);
int sl_schema_policy_apply(sl_schema_policy *p, sl_batch *b, sl_err *err);

#endif
