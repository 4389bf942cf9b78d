/* metadata_list.h — the `metadata.list` option of Flink's sources: which
 * metadata columns (op_ts, ...) a transform may read. The source checks
 * the names it offers; the transform computes the values from each event. */
#ifndef SL_METADATA_LIST_H
#define SL_METADATA_LIST_H

#include "../core/option.h"

/* SL_ECONFIG naming file:line:col and the allowed names for an unknown one */
int sl_check_metadata_list(const sl_options *o, const char *source, const char *const *allowed, sl_err *err);

#endif
