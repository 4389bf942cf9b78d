/* reader_pool.h — the threads that read snapshot chunks, for any source.
 *
 * The source supplies what differs per database (sl_snap_reader_ops: how
 * a reader connects, splits, reads a chunk, and which failures a new
 * connection can cure); the pool sizes the snapshot from the options every
 * source shares, runs the reader loop (take a chunk, read it, hand it
 * over, merge what the changelog reader has reached, reconnect and read
 * again after a lost connection), lets a reader announce that it is set up
 * (PostgreSQL readers must import the exported snapshot before its
 * exporter may go), keeps the first failure (which stops the snapshot, so
 * the other readers end too) for the changelog reader to report, and
 * joins the threads.
 */
#ifndef SL_READER_POOL_H
#define SL_READER_POOL_H

#include <pthread.h>
#include <stddef.h>

#include "../core/emitter.h"
#include "../core/err.h"
#include "../core/option.h"
#include "snapshot.h"

typedef struct sl_reader_pool sl_reader_pool;

/* The first member of a source's reader struct. */
typedef struct sl_snap_reader {
    void *owner; /* the source's snapshot object, as given to launch */
    int id;
    sl_reader_pool *pool;
} sl_snap_reader;

/* Returned by failed() to read again on a new connection. */
enum { SL_SNAP_RECONNECT = 1 };

typedef struct sl_snap_reader_ops {
    /* Connects the reader (closing an old connection first): ready to
     * read chunks. */
    int (*connect)(sl_snap_reader *r, sl_err *err);
    /* Closes the reader's connection, if any. */
    void (*disconnect)(sl_snap_reader *r);
    /* The next chunk's upper bound, on the reader's connection (ctx is
     * the reader). */
    sl_snap_split_fn split;
    /* Reads chunk c and hands it over (sl_snapshot_submit), or puts it
     * back (sl_snapshot_abandon) when a stop interrupts it. */
    int (*read)(sl_snap_reader *r, sl_snap_chunk *c, sl_err *err);
    /* A split (in_split) or a read failed with rc: SL_SNAP_RECONNECT when
     * a new connection may succeed (up to max_retries in a row), else the
     * class to stop the snapshot with. */
    int (*failed)(sl_snap_reader *r, int rc, int in_split);
    /* The class to stop with when a connection cannot be restored (retries
     * used up, reconnect failed); 0 = the error's own. */
    int lost_class;
    /* launch returns only once every reader has connected */
    int wait_ready;
} sl_snap_reader_ops;

struct sl_reader_pool {
    sl_snapshot *snap;
    const sl_snap_reader_ops *ops;
    sl_emitter *out;
    int max_retries;
    pthread_t *threads;
    int nthreads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    void *readers; /* the launched readers' structs */
    int ready;
    int rc;
    sl_err err;
};

/* Sets up snap for a source and p for its readers: chunks of the source's
 * scan.incremental.snapshot.chunk.size rows, as many readers as the
 * pipeline's parallelism (at least one), nothing before start recorded. */
void sl_reader_pool_setup(sl_reader_pool *p, sl_snapshot *snap, const sl_options *source,
                          const sl_options *pipeline, sl_pos start);
/* Starts one reader thread per unit of parallelism, each on its own zeroed
 * struct of reader_size bytes that begins with an sl_snap_reader (owner,
 * id, pool filled in; the pool frees them), running the reader loop with
 * ops; merged chunks go to out. Logs the snapshot's size, with detail
 * appended (", exact at LSN 0/1"). */
int sl_reader_pool_launch(sl_reader_pool *p, void *owner, size_t reader_size, const sl_snap_reader_ops *ops,
                          int max_retries, sl_emitter *out, const char *detail, sl_err *err);
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
