/* reader_pool.c — see reader_pool.h. */
#include "reader_pool.h"

#include <stdlib.h>
#include <string.h>

#include "../core/log.h"

void sl_reader_pool_setup(sl_reader_pool *p, sl_snapshot *snap, const sl_options *source,
                          const sl_options *pipeline, sl_pos start)
{
    int par = (int)sl_opt_num(pipeline, "parallelism");
    sl_snapshot_init(snap, (size_t)sl_opt_num(source, "scan.incremental.snapshot.chunk.size"), par < 1 ? 1 : par,
                     start);
    memset(p, 0, sizeof *p);
    p->snap = snap;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
}

/* A new connection for r; rc of the reconnect, classed as a lost one. */
static int reconnect(sl_snap_reader *r, sl_err *err)
{
    const sl_snap_reader_ops *ops = r->pool->ops;
    ops->disconnect(r);
    int rc = ops->connect(r, err);
    return rc && ops->lost_class ? ops->lost_class : rc;
}

/* Take a chunk, read it, hand it over, merge what the changelog reader
 * has reached; after a failure a new connection reads the chunk again
 * when the source says it may help. */
static void *reader_main(void *arg)
{
    sl_snap_reader *r = arg;
    sl_reader_pool *p = r->pool;
    const sl_snap_reader_ops *ops = p->ops;
    sl_err err = {{0}};
    int rc = ops->connect(r, &err);
    if (!rc)
        sl_reader_pool_ready(p);
    int failures = 0;
    while (!rc && !sl_emit_should_stop(p->out)) {
        sl_snap_chunk c = {0};
        int got = sl_snapshot_next_chunk(p->snap, &c, ops->split, r, &err);
        if (got == 0)
            break;
        int in_split = got < 0;
        if (in_split) {
            if (p->snap->failed)
                break; /* another reader failed and said why */
            rc = got;
        } else {
            rc = ops->read(r, &c, &err);
            if (!rc) {
                failures = 0;
                rc = sl_snapshot_merge(p->snap, p->out, &err);
                continue;
            }
            sl_snapshot_abandon(p->snap, &c);
            free(c.lo);
            free(c.hi);
        }
        int next = ops->failed(r, rc, in_split);
        if (next != SL_SNAP_RECONNECT) {
            rc = next;
            break;
        }
        /* a stop request ends the retries too: reconnecting would only
         * delay the stop */
        if (++failures > p->max_retries || sl_emit_should_stop(p->out)) {
            rc = ops->lost_class ? ops->lost_class : rc;
            break;
        }
        if (!in_split)
            sl_log(SL_LOG_WARN, "%s; reading the chunk again (%d of %d)", err.msg, failures, p->max_retries);
        rc = reconnect(r, &err);
    }
    if (rc)
        sl_reader_pool_fail(p, rc, &err);
    ops->disconnect(r);
    return NULL;
}

int sl_reader_pool_launch(sl_reader_pool *p, void *owner, size_t reader_size, const sl_snap_reader_ops *ops,
                          int max_retries, sl_emitter *out, const char *detail, sl_err *err)
{
    int n = p->snap->parallelism;
    p->ops = ops;
    p->out = out;
    p->max_retries = max_retries;
    p->readers = calloc((size_t)n, reader_size);
    p->threads = calloc((size_t)n, sizeof *p->threads);
    if (!p->readers || !p->threads)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    for (int i = 0; i < n; i++) {
        sl_snap_reader *r = (sl_snap_reader *)((char *)p->readers + (size_t)i * reader_size);
        r->owner = owner;
        r->id = i;
        r->pool = p;
        if (pthread_create(&p->threads[i], NULL, reader_main, r))
            return sl_errf(err, SL_ERUNTIME, "cannot start snapshot reader threads");
        p->nthreads++;
    }
    int rc = ops->wait_ready ? sl_reader_pool_wait_ready(p, err) : 0;
    if (!rc)
        sl_info("snapshot of %u table%s with %d reader%s, chunks of %zu rows%s", p->snap->ntables,
                p->snap->ntables == 1 ? "" : "s", n, n == 1 ? "" : "s", p->snap->chunk_size, detail);
    return rc;
}

void sl_reader_pool_ready(sl_reader_pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->ready++;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

int sl_reader_pool_wait_ready(sl_reader_pool *p, sl_err *err)
{
    pthread_mutex_lock(&p->mu);
    while (p->ready < p->nthreads && !p->rc)
        pthread_cond_wait(&p->cv, &p->mu);
    int rc = p->rc;
    if (rc)
        *err = p->err;
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void sl_reader_pool_fail(sl_reader_pool *p, int rc, const sl_err *err)
{
    pthread_mutex_lock(&p->mu);
    if (!p->rc) {
        p->rc = rc;
        p->err = *err;
    }
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    sl_snapshot_fail(p->snap);
}

int sl_reader_pool_failed(sl_reader_pool *p, sl_err *err)
{
    pthread_mutex_lock(&p->mu);
    int rc = p->rc;
    if (rc)
        *err = p->err;
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void sl_reader_pool_destroy(sl_reader_pool *p)
{
    if (p->nthreads) {
        sl_snapshot_fail(p->snap); /* wakes readers waiting for room */
        for (int i = 0; i < p->nthreads; i++)
            pthread_join(p->threads[i], NULL);
    }
    free(p->threads);
    free(p->readers);
    p->threads = NULL;
    p->readers = NULL;
    p->nthreads = 0;
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
}
