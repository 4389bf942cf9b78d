/* stages.h — what happens to a batch between the source and the sink:
 * the transform (transform.h), then schema.change.behavior
 * (schema_policy.h), in the order Flink runs its transform and schema
 * operators. The runtime holds one sl_stages per run. */
#ifndef SL_STAGES_H
#define SL_STAGES_H

#include "../core/event.h"
#include "../sinks/sink.h"
#include "config.h"

typedef struct sl_stages sl_stages;

int sl_stages_new(const sl_config *cfg, sl_stages **out, sl_err *err);
void sl_stages_free(sl_stages *s);
/* NULL-safe: a pipeline without stages passes batches through */
int sl_stages_apply(sl_stages *s, sl_batch *b, sl_err *err);
/* for sl_sink_env.table_hints: a transform's partition-keys and table-options */
int sl_stages_table_hints(const void *stages, const char *ns, const char *table, sl_table_hints *out);

#endif
