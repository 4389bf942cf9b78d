/* reader_pool.h — the threads that read snapshot chunks, for any source.
 *
 * The source supplies each reader's body (connect, take chunks, read them);
 * the pool starts the threads, lets a reader announce that it is set up
 * (PostgreSQL readers must import the exported snapshot before its
 * exporter may go), keeps the first failure (which stops the snapshot, so
 * the other readers end too) for the changelog reader to report, and joins
 * the threads.
 */
#ifndef SL_READER_POOL_H
#define SL_READER_POOL_H

#include <pthread.h>
#include <stddef.h>

#include "../core/err.h"
#include "snapshot.h"

typedef struct sl_reader_pool {
    sl_snapshot *snap;
    pthread_t *threads;
    int nthreads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ready;
    int rc;
    sl_err err;
} sl_reader_pool;

void sl_reader_pool_init(sl_reader_pool *p, sl_snapshot *snap);
/* Starts n threads; thread i runs body((char *)args + i * arg_size). */
int sl_reader_pool_start(sl_reader_pool *p, int n, void *(*body)(void *), void *args, size_t arg_size, sl_err *err);
/* A reader is set up. */
void sl_reader_pool_ready(sl_reader_pool *p);
/* Waits until every started reader is set up or one failed (its error). */
int sl_reader_pool_wait_ready(sl_reader_pool *p, sl_err *err);
/* A reader failed: the first failure is kept and the snapshot stops. */
void sl_reader_pool_fail(sl_reader_pool *p, int rc, const sl_err *err);
/* The first failure, if any. */
int sl_reader_pool_failed(sl_reader_pool *p, sl_err *err);
/* Stops the snapshot (waking readers that wait for room), joins the
 * threads and frees the pool. */
void sl_reader_pool_destroy(sl_reader_pool *p);

#endif
