/* mysql_snapshot.h — the mysql source's snapshot readers (see
 * snapshot/snapshot.h for the merge with the binlog). */
#ifndef SL_MYSQL_SNAPSHOT_H
#define SL_MYSQL_SNAPSHOT_H

#include "../../snapshot/reader_pool.h"
#include "../../snapshot/snapshot.h"
#include "mysql_source.h"

typedef struct sl_mysql_snap {
    sl_mysql_source *src;
    sl_snapshot snap;
    sl_emitter *out;
    sl_reader_pool pool;
    int watermark; /* chunks are placed by watermarks, not an exact position */
    int exact_low; /* watermarks, and the server reports snapshot positions:
                    * a low watermark is never past the snapshot's own */
} sl_mysql_snap;

/* Exact binlog position of a consistent snapshot taken now; SL_ECONFIG
 * when the server does not report one (MySQL). */
int sl_mysql_snapshot_position(MYSQL *m, sl_mysql_pos *p, sl_pos *at, sl_err *err);
/* *yes: the server reports a consistent snapshot's binlog position
 * (MariaDB) or not (MySQL); nonzero only when the probe itself failed */
int sl_mysql_reports_snapshot_position(MYSQL *m, int *yes, sl_err *err);
/* Where the binlog reader of a new snapshot starts, per
 * scan.incremental.snapshot.algorithm: the exact position of a consistent
 * snapshot, or (watermark, or auto where the server reports none) the end
 * of the binlog now. *watermark tells which. With p NULL (a resumed
 * snapshot: the reader starts at the checkpoint) only the choice is made. */
int sl_mysql_snapshot_begin(sl_mysql_source *src, MYSQL *m, sl_mysql_pos *p, sl_pos *at, int *watermark,
                            sl_err *err);
/* Finds the captured tables, their schemas and split strategy; restores
 * split progress from state_json (checkpoint) when given. watermark as
 * sl_mysql_snapshot_begin chose; auto turns to watermarks when a captured
 * table is not InnoDB (no consistent snapshot to read it in). */
int sl_mysql_snapshot_prepare(sl_mysql_source *src, MYSQL *m, const char *state_json, sl_pos start, int watermark,
                              sl_mysql_snap **out, sl_err *err);
int sl_mysql_snapshot_start(sl_mysql_snap *ms, sl_emitter *out, sl_err *err);
/* The first reader failure, if any. */
int sl_mysql_snapshot_failed(sl_mysql_snap *ms, sl_err *err);
void sl_mysql_snapshot_free(sl_mysql_snap *ms);
/* Counts and checksums of every captured table (migrate verification). */
int sl_mysql_digest(sl_mysql_source *src, struct sl_digest_set *out, sl_err *err);

#endif
