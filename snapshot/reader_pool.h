/* reader_pool.h — the threads that read snapshot chunks, for any source.
 *
 * The source supplies each reader's body (connect, take chunks, read them);
 * the pool sizes the snapshot from the options every source shares, starts
 * the threads, lets a reader announce that it is set up
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
#include "../core/option.h"
#include "snapshot.h"

/* The first member of a source's reader struct. */
typedef struct sl_snap_reader {
    void *owner; /* the source's snapshot object, as given to launch */
    int id;
} sl_snap_reader;

typedef struct sl_reader_pool {
    sl_snapshot *snap;
    pthread_t *threads;
    int nthreads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    void *readers; /* the launched readers' structs */
    int ready;
    int rc;
    sl_err err;
} sl_reader_pool;

/* Sets up snap for a source and p for its readers: chunks of the source's
 * scan.incremental.snapshot.chunk.size rows, as many readers as the
 * pipeline's parallelism (at least one), nothing before start recorded. */
void sl_reader_pool_setup(sl_reader_pool *p, sl_snapshot *snap, const sl_options *source,
                          const sl_options *pipeline, sl_pos start);
/* Starts one reader thread per unit of parallelism. Each runs body on its
 * own zeroed struct of reader_size bytes that begins with an sl_snap_reader
 * (owner, id filled in); the pool frees them. With wait_ready it returns
 * once every reader is set up (see sl_reader_pool_ready). Logs the
 * snapshot's size, with detail appended (", exact at LSN 0/1"). */
int sl_reader_pool_launch(sl_reader_pool *p, void *owner, size_t reader_size, void *(*body)(void *), int wait_ready,
                          const char *detail, sl_err *err);
/* A reader is set up. */
void sl_reader_pool_ready(sl_reader_pool *p);
/* Waits until every started reader is set up or one failed (its error). */
int sl_reader_pool_wait_ready(sl_reader_pool *p, sl_err *err);
/* A reader failed: the first failure is kept and the snapshot stops. */
void sl_reader_pool_fail(sl_reader_pool *p, int rc, const sl_err *err);
/* The first failure, if any. */
int sl_reader_pool_failed(sl_reader_pool *p, sl_err *err);
/* Stops the snapshot (waking readers that wait for room), joins the
 * threads and frees the pool and the readers. */
void sl_reader_pool_destroy(sl_reader_pool *p);

#endif
