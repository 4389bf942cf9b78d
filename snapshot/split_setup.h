/* split_setup.h — how a source decides to split a table for its snapshot:
 * which columns the chunks are ranges of, and whether an integer key is
 * spread evenly enough to be split by arithmetic alone (no boundary
 * queries). The same rules for every source; the SQL that finds a key's
 * minimum and maximum stays with the source. */
#ifndef SL_SPLIT_SETUP_H
#define SL_SPLIT_SETUP_H

#include <stdint.h>

#include "../core/err.h"
#include "../core/option.h"
#include "snapshot.h"

/* scan.incremental.snapshot.chunk.key-column is one column for every table,
 * or Flink's per-table form `db.table_regex:column;db.other:column2` (table
 * patterns in the tables syntax). The column configured for ns.table into
 * col: 1, or 0 when none applies; -1 with err for a malformed option. */
int sl_chunk_key_for(const sl_options *opts, const char *ns, const char *table, char *col, size_t len, sl_err *err);

/* The chunk key of a table: the column scan.incremental.snapshot.chunk.key-column
 * of opts names for it in the per-table form, else its primary key, else
 * the option's one column (that form is for tables without a key).
 * Fills keys (up to 64) and *nkey, or a located SL_ECONFIG naming the
 * table; source names the connector in messages ("mysql source"). */
int sl_split_key_columns(const sl_table_schema *s, const sl_options *opts, const char *source, int *keys, int *nkey,
                         sl_err *err);

/* A single integer key with values mn..mx over about est rows: splits t
 * arithmetically when the values are dense enough. */
void sl_split_try_arith(const sl_snapshot *snap, sl_snap_table *t, int64_t mn, int64_t mx, uint64_t est);

#endif
