/* coordinator.h — what the files of the snapshot coordinator share:
 * coordinator.c (split state, chunk assignment), merge.c (chunks into the
 * changelog stream), state_json.c (split state in checkpoints, key bounds)
 * and progress.c. Not for sources: they use snapshot.h. */
#ifndef SL_SNAP_COORDINATOR_H
#define SL_SNAP_COORDINATOR_H

#include "snapshot.h"

/* a chunk read and waiting for the changelog reader to reach `at` */
struct sl_snap_result {
    sl_snap_result *next;
    sl_snap_chunk chunk;
    sl_pos at;
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

#endif
