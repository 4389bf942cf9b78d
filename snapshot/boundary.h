/* boundary.h — the one protocol by which a changelog reader meets the
 * snapshot at transaction boundaries, for every source.
 *
 * The rule (snapshot.h has the algorithm and why it is exact): a chunk read
 * at snapshot position S may join the stream only between two transactions,
 * once the changelog reader stands at or past S; and every checkpoint token
 * carries the split state, so a restart neither re-reads finished chunks
 * nor skips unfinished ones. At each boundary the reader therefore
 *   1. takes the emitter lock (no chunk can slip in while it moves),
 *   2. tells the snapshot where it now stands: position and token text,
 *   3. ends its transaction with a token = its position + split state,
 *   4. releases the lock and merges the waiting chunks it has reached.
 * Between transactions with nothing to commit, only 2 and 4 happen, and
 * only while chunks wait.
 *
 * The source supplies only what differs: its sl_pos and the text of its
 * position token (a JSON object, e.g. {"lsn":"0/16B3748"}). Without a
 * snapshot in progress (snap NULL) a commit is a plain sl_emit_commit.
 */
#ifndef SL_BOUNDARY_H
#define SL_BOUNDARY_H

#include <stddef.h>

#include "../core/emitter.h"
#include "../core/err.h"
#include "snapshot.h"

/* Writes the source's position token for pos into buf (NUL-terminated);
 * nonzero when it does not fit. */
typedef int (*sl_boundary_token_fn)(void *ctx, sl_pos pos, char *buf, size_t len);

typedef struct sl_boundary {
    sl_emitter *out;
    sl_snapshot *snap;          /* the snapshot in progress, or NULL */
    sl_boundary_token_fn token;
    void *ctx;                  /* for token */
    const char *source;         /* names the source in messages: "mysql source" */
} sl_boundary;

/* The changelog reader's start position, before the chunk readers start
 * (no chunk may merge before the reader has a position). */
int sl_boundary_start(sl_boundary *b, sl_pos pos, sl_err *err);
/* A transaction ends at pos (an empty one too: a boundary that only moves
 * the checkpoint). Called by the source thread, inside or outside an open
 * emitter transaction. */
int sl_boundary_commit(sl_boundary *b, sl_pos pos, sl_err *err);
/* The reader stands between transactions at pos without a commit to
 * write: waiting chunks it has reached go out. Cheap when none wait. */
int sl_boundary_between(sl_boundary *b, sl_pos pos, sl_err *err);

/* A fresh start (no checkpoint to resume from): before anything else, one
 * empty transaction at pos, the reader's start, in a batch of its own, which
 * the runtime commits as the pipeline's first checkpoint before the sink
 * sees a row. A crash before the next checkpoint then replays from pos:
 * every change after a row the crashed run wrote comes again and supersedes
 * it. Without it the next start begins anew at a later position, and a sink
 * without transactions (ClickHouse) keeps rows of the crashed run whose
 * deletes lie between the two starts. Called before the chunk readers
 * start. */
int sl_boundary_first(sl_boundary *b, sl_pos pos, sl_err *err);

/* History was lost (scan.on-log-loss: resnapshot) and the snapshot reads
 * every table anew from pos, the reader's new start: before the chunk
 * readers start, one transaction at pos holding a TRUNCATE of each table
 * the snapshot will read, so a sink holding tables drops what it holds
 * (rows deleted during the gap included) and a consumer learns that the
 * `op: r` rows that follow replace the table. */
int sl_boundary_resnapshot(sl_boundary *b, sl_pos pos, sl_err *err);

#endif
