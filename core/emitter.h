/* emitter.h — how a source hands events to the pipeline.
 *
 * The source appends events to the current batch and marks transaction
 * boundaries with sl_emit_commit(). Batches are pushed to the byte-bounded
 * queue when they grow past the target size; a small batch that ends on a
 * boundary while the source waits for the server is taken by the sink
 * thread (sl_emit_take_idle), so an idle source never delays a commit.
 * When the sink thread finds nothing to take because the source is inside
 * a transaction (a source that reads in large pieces is inside one at
 * nearly every moment: a piece rarely ends where a transaction does), it
 * asks for the batch, and the next transaction end pushes it: under a
 * steady load that is too light to fill batches, a change waits for its
 * transaction's end, not for batch.size bytes to come in.
 * The mutex is held by a producer from its first event after a boundary
 * until the next boundary: the sink can only ever take whole transactions,
 * and a second producer of the same source (snapshot chunks merged into
 * the binlog stream) can only add its rows between two transactions.
 */
#ifndef SL_EMITTER_H
#define SL_EMITTER_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>

#include "event.h"
#include "queue.h"

typedef struct sl_emitter {
    sl_queue *queue;
    sl_block_pool *pool; /* of every batch of this source, or NULL */
    pthread_mutex_t mu;
    /* a producer holds mu inside a transaction, and which one: read
     * without mu by every thread asking whether it holds it, so both are
     * only accessed atomically (ThreadSanitizer: the sink thread's read of
     * owner raced with the source thread taking the lock) */
    int open;
    pthread_t owner;
    sl_batch *cur;
    size_t target_bytes;
    const volatile sig_atomic_t *stop_flag;
    int stop_requested; /* set by the runtime thread (migrate end, sink failure): atomic accesses only */
    unsigned long long events;   /* counters, written by the source thread only */
    uint64_t batches;            /* sl_batch.seq of the last batch created */
    int64_t idle_wall_ms;        /* last sl_emit_idle() (atomic), for the lag metric */
    int positioned;              /* the source knows where it starts (atomic) */
    int wanted;                  /* the sink thread found nothing to take: the next transaction end pushes (atomic) */
} sl_emitter;

/* The source has fixed its start position: every change committed from now
 * on will be captured. The runtime tells systemd READY=1 only then, so a
 * change an operator makes right after `systemctl start` is never missed. */
void sl_emit_positioned(sl_emitter *e);
int sl_emit_is_positioned(sl_emitter *e);

/* pool (NULL: malloc) must outlive every batch the emitter made */
int sl_emitter_init(sl_emitter *e, sl_queue *q, sl_block_pool *pool, size_t target_bytes,
                    const volatile sig_atomic_t *stop_flag);
/* A new batch for a producer that fills its own (a snapshot chunk). */
static inline sl_batch *sl_emit_new_batch(sl_emitter *e) { return sl_batch_new(e->pool); }
void sl_emitter_destroy(sl_emitter *e);

/* Current batch for appending; opens the transaction (takes the mutex).
 * NULL only on out-of-memory. */
sl_batch *sl_emit_batch(sl_emitter *e);
/* Ends a transaction at pos with the source's resume token (copied). */
int sl_emit_commit(sl_emitter *e, sl_pos pos, const char *token);
/* Pushes the current batch now, inside or outside a transaction (large
 * transactions stream through in several batches). */
int sl_emit_flush(sl_emitter *e);
/* Whether a source should push b (the current batch) now, in the middle of
 * a transaction. sl_emit_commit pushes a batch that reached target_bytes at
 * the end of its transaction; a batch pushed mid-transaction ends off a
 * boundary, and the runtime can end an epoch only after a batch that ends
 * on one. Under a steady load the source never idles, so if every batch
 * were cut at target_bytes wherever that fell, epochs (and commits) would
 * starve for as long as the load lasted. So only a transaction bigger than
 * the target spills over, at twice it. */
static inline int sl_emit_spill_due(const sl_emitter *e, const sl_batch *b)
{
    return sl_batch_bytes(b) >= 2 * e->target_bytes;
}
/* Source is done: flush and push an end-of-stream marker. */
int sl_emit_end(sl_emitter *e);
int sl_emit_should_stop(const sl_emitter *e);
/* Source thread, when run() returns: leaves an unfinished transaction. */
void sl_emit_release(sl_emitter *e);

/* Pushes a batch built elsewhere (snapshot chunk) as one transaction of its
 * own at pos with token; the current batch goes first. Call between
 * transactions (takes and releases the mutex unless already held). */
int sl_emit_push_batch(sl_emitter *e, sl_batch *b, sl_pos pos, const char *token);
/* Lock/unlock the emitter between transactions, to read state the
 * producers share under it. */
void sl_emit_lock(sl_emitter *e);
void sl_emit_unlock(sl_emitter *e);
/* Takes the lock unless this thread holds it already; returns 1 if it took
 * it (pass that to sl_emit_drop). */
int sl_emit_hold(sl_emitter *e);
void sl_emit_drop(sl_emitter *e, int took);

/* Source thread, between transactions: everything the server had written
 * when it said so (a MySQL heartbeat, a PostgreSQL keepalive) has been
 * handed over. Lets the lag metric fall to zero on an idle source. */
void sl_emit_idle(sl_emitter *e);
/* Sink thread: 1 while the source holds events not yet taken (inside a
 * transaction, a current batch, the queue). */
int sl_emit_pending(sl_emitter *e);

/* Sink thread: takes the current batch if it is non-empty and ends on a
 * boundary, without waiting for the source; when there is none to take,
 * the source's next transaction end pushes its batch. */
sl_batch *sl_emit_take_idle(sl_emitter *e);

#endif
