/* pg_slot.h — slot and replication setup of the postgres source: where a
 * run starts (pg_slot.c says how it is decided), the exported snapshot of
 * an initial or resumed snapshot, and the start of the WAL stream. */
#ifndef SL_PG_SLOT_H
#define SL_PG_SLOT_H

#include "../../snapshot/boundary.h"
#include "pg_snapshot.h"
#include "pg_source.h"

typedef struct sl_pg_start {
    uint64_t lsn;       /* where the stream starts */
    char *snap_state;   /* the checkpoint's snapshot state (malloc'd), or NULL */
    int want_snapshot;  /* the startup mode or the checkpoint asks for one */
    int resnapshot;     /* the slot was lost (scan.on-log-loss: resnapshot): every table anew */
} sl_pg_start;

/* Resolves the start from resume (the source part of the last checkpoint)
 * or, without one, from scan.startup.mode; checks the slot against it and
 * creates the slot where the mode needs a new one. A resumed slot that is
 * missing or invalidated is lost history: an error with the fix, or with
 * scan.on-log-loss: resnapshot a new slot and a snapshot of every table. side is a normal
 * connection, repl a walsender connection. */
int sl_pg_start_position(sl_pg_source *src, PGconn *side, PGconn *repl, const char *resume, sl_pg_start *st,
                         sl_err *err);
int sl_pg_current_lsn(PGconn *side, uint64_t *lsn, sl_err *err);
/* Opens the snapshot of a stream that starts at start_lsn, with split
 * progress from state (a checkpoint's) when given. Unless every table is
 * done already, a temporary slot exports a snapshot exact at its
 * consistent point and the chunk readers start on it. b learns the
 * snapshot and the reader's start position; with resnapshot the tables'
 * TRUNCATE goes out first (sl_boundary_resnapshot); on a fresh start the
 * start position first (sl_boundary_first). */
int sl_pg_snapshot_open(sl_pg_source *src, PGconn *side, const char *state, uint64_t start_lsn, int resnapshot,
                        int fresh, sl_boundary *b, sl_emitter *out, sl_pg_snap **snap, sl_err *err);
/* START_REPLICATION of the source's slot at start_lsn on repl. */
int sl_pg_start_replication(sl_pg_source *src, PGconn *repl, uint64_t start_lsn, sl_err *err);

#endif
