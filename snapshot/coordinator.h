/* coordinator.h — what the files of the snapshot coordinator share:
 * coordinator.c (split state, chunk assignment), merge.c (chunks into the
 * changelog stream), state_json.c (split state in checkpoints, key bounds)
 * and progress.c. Not for sources: they use snapshot.h. */
#ifndef SL_SNAP_COORDINATOR_H
#define SL_SNAP_COORDINATOR_H

#include "snapshot.h"

/* a chunk read and waiting for the changelog reader to reach `ready`;
 * keys touched at or after `at` are dropped from it (at == ready when the
 * read position is exact; at < ready for a watermark window) */
struct sl_snap_result {
    sl_snap_result *next;
    sl_snap_chunk chunk;
    sl_pos at, ready;
    sl_batch *batch;
    int final; /* held: the last chunk of its table, waiting to learn if it is the snapshot's last */
};

char *sl_snap_dup(const char *s); /* strdup, NULL stays NULL */
void sl_snap_chunk_free(sl_snap_chunk *c);
int sl_snap_chunk_push(sl_snap_chunk **arr, size_t *n, size_t *cap, const sl_snap_chunk *c);
/* Under s->mu: the chunk is no longer in flight. */
void sl_snap_inflight_remove(sl_snapshot *s, const sl_snap_chunk *c);
/* Under s->mu: logs where the snapshot stands when a report is due. */
void sl_snap_progress(sl_snapshot *s);
/* Chunks and rows per table into s->metrics (under s->mu). */
void sl_snap_publish(sl_snapshot *s);

#endif
