/* queue.h — a FIFO of batches bounded in bytes between two threads.
 *
 * The producer blocks while the queued batches hold more than the limit
 * (one batch is always admitted, so a batch larger than the limit cannot
 * deadlock), which keeps memory flat however fast the source reads.
 */
#ifndef SL_QUEUE_H
#define SL_QUEUE_H

#include <pthread.h>
#include <stddef.h>

#include "event.h"

typedef struct sl_queue {
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    sl_batch *head, *tail;
    size_t bytes, limit, count; /* bytes: changed under mu, atomically (read without it for metrics) */
    int closed;
} sl_queue;

int sl_queue_init(sl_queue *q, size_t limit_bytes);
void sl_queue_destroy(sl_queue *q); /* frees batches still queued */
/* 0 ok; -1 if the queue was closed (batch not taken) */
int sl_queue_push(sl_queue *q, sl_batch *b);
/* waits up to timeout_ms (-1 forever); NULL on timeout or when closed and empty */
sl_batch *sl_queue_pop(sl_queue *q, int timeout_ms);
/* wakes everyone; push fails afterwards, pop drains what is left */
void sl_queue_close(sl_queue *q);
int sl_queue_is_closed(sl_queue *q);

#endif
