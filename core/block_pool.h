/* block_pool.h — big arena blocks recycled across threads.
 *
 * A batch's blocks are allocated by the thread that fills it (the source,
 * a snapshot reader) and freed by the sink thread. With malloc, glibc
 * raises its mmap threshold the first time it frees a big block it had
 * mapped; from then on big blocks come from each filling thread's own heap,
 * which keeps its peak size: four PostgreSQL snapshot readers held 10 MiB
 * more than the data in flight, and the excess grew over a long snapshot.
 * Fixing the mmap threshold instead gives the memory back but maps every
 * block anew, and the page faults cost 5-15% of snapshot speed.
 *
 * The pool maps its blocks itself and keeps up to cap_bytes of freed ones
 * for the next batch, whichever thread frees or takes them: a reused block
 * is already resident, and what is kept is bounded for the whole process.
 * Blocks come in a few exact sizes (the arena's growth steps); a size the
 * pool has no slot for is simply mapped and unmapped.
 */
#ifndef SL_BLOCK_POOL_H
#define SL_BLOCK_POOL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

enum { SL_BLOCK_POOL_SIZES = 8 };

typedef struct sl_block_pool {
    pthread_mutex_t mu;
    size_t cap_bytes;    /* most bytes of free blocks kept */
    size_t cached_bytes; /* bytes of free blocks kept now */
    struct {
        size_t size;
        void *head; /* free blocks of this size, linked through their first word */
    } free[SL_BLOCK_POOL_SIZES];
    uint64_t mapped; /* blocks mapped anew, for tests and debugging */
    uint64_t reused; /* blocks handed out again */
} sl_block_pool;

int sl_block_pool_init(sl_block_pool *p, size_t cap_bytes);
/* A block of exactly size bytes (page-aligned), NULL when out of memory. */
void *sl_block_pool_get(sl_block_pool *p, size_t size);
/* Gives back a block from sl_block_pool_get with the same size. */
void sl_block_pool_put(sl_block_pool *p, void *block, size_t size);
/* Unmaps the blocks kept; every block handed out must be back or gone. */
void sl_block_pool_destroy(sl_block_pool *p);

#endif
