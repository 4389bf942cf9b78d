/* pg_snapshot.h — the postgres source's snapshot readers (see
 * snapshot/snapshot.h for the merge with the WAL stream).
 *
 * All readers share one exported snapshot: the one a temporary logical
 * slot exports at its consistent point C. A transaction is in that
 * snapshot exactly when its commit record lies before C, which is also
 * where the slot's decoding starts; so every chunk is exact at WAL
 * position C, with no race between reading a position and opening a
 * snapshot. The main slot streams from its own (earlier) position; chunks
 * merge once the stream passes C, dropping rows whose keys changed at or
 * after C. The exporting connection stays open while the snapshot runs, so
 * each chunk is read in a short transaction of its own that imports the
 * snapshot: no explicit lock, and the ACCESS SHARE lock any read takes is
 * held for one chunk only.
 */
#ifndef SL_PG_SNAPSHOT_H
#define SL_PG_SNAPSHOT_H

#include "../../snapshot/reader_pool.h"
#include "../../snapshot/snapshot.h"
#include "pg_source.h"

typedef struct sl_pg_snap {
    sl_pg_source *src;
    sl_snapshot snap;
    sl_emitter *out;
    char snapshot_name[128]; /* exported snapshot the readers import */
    uint64_t at_lsn;         /* its consistent point */
    uint64_t xid;            /* a transaction inside the snapshot, for the
                                rows' source.txId as Debezium gives its
                                snapshot transaction's (0: none, a standby) */
    PGconn *exporter;        /* keeps the exported snapshot importable */
    sl_reader_pool pool;
} sl_pg_snap;

/* Lists the captured tables and their schemas inside the exported
 * snapshot (conn has imported it), chooses the split of each, restores
 * split progress from state_json when given. */
int sl_pg_snapshot_prepare(sl_pg_source *src, PGconn *conn, const char *snapshot_name, uint64_t at_lsn,
                           const char *state_json, sl_pos start, sl_pg_snap **out, sl_err *err);
/* Starts the readers and returns once each has imported the snapshot (the
 * exporting connection may close then). */
int sl_pg_snapshot_start(sl_pg_snap *ps, sl_emitter *out, sl_err *err);
int sl_pg_snapshot_failed(sl_pg_snap *ps, sl_err *err);
/* The snapshot is complete: close the exporting connection (and with it
 * the temporary slot). */
void sl_pg_snapshot_release_exporter(sl_pg_snap *ps);
void sl_pg_snapshot_free(sl_pg_snap *ps);

/* Runs `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION
 * SNAPSHOT name` on conn. */
int sl_pg_import_snapshot(PGconn *conn, const char *name, sl_err *err);

/* One COPY text-format line (without or with its newline) into values. */
int sl_pg_copy_row(const char *line, size_t len, const sl_table_schema *s, sl_arena *a, sl_value *vals, char *errbuf,
                   size_t errlen);

#endif
