/* schema_policy.h — Flink CDC's schema.change.behavior, applied between the
 * transform and the sink, the place Flink's schema operator has.
 *
 * The first shape a table shows in a run is its sink shape. After that:
 *   exception   a change of shape stops the pipeline, naming the table;
 *   ignore      the sink keeps the first shape: later rows are fitted to it
 *               (columns matched by name, new ones left out, missing ones
 *               NULL) and change events are dropped;
 *   lenient     the sink shape only grows: an added column is appended, a
 *               dropped column stays (NULL from then on), a changed type
 *               takes the new type, a rename adds the new name and keeps
 *               the old; rows are fitted to the grown shape (Flink's
 *               default);
 *   evolve, try_evolve
 *               every change goes to the sink as it is (sluice's default:
 *               its sinks apply any change they can describe).
 * A source with schema-change.enabled: false behaves as ignore.
 */
#ifndef SL_SCHEMA_POLICY_H
#define SL_SCHEMA_POLICY_H

#include "../core/err.h"
#include "../core/event.h"

enum { SL_SCB_IGNORE, SL_SCB_LENIENT, SL_SCB_TRY_EVOLVE, SL_SCB_EVOLVE, SL_SCB_EXCEPTION };

typedef struct sl_schema_policy sl_schema_policy;

int sl_schema_policy_new(int behavior, sl_schema_policy **out, sl_err *err);
void sl_schema_policy_free(sl_schema_policy *p);
/* passes every change through: nothing to do for the batch */
int sl_schema_policy_passthrough(const sl_schema_policy *p);
int sl_schema_policy_apply(sl_schema_policy *p, sl_batch *b, sl_err *err);

#endif
