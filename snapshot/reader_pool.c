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

int sl_reader_pool_launch(sl_reader_pool *p, void *owner, size_t reader_size, void *(*body)(void *), int wait_ready,
                          const char *detail, sl_err *err)
{
    int n = p->snap->parallelism;
    p->readers = calloc((size_t)n, reader_size);
    p->threads = calloc((size_t)n, sizeof *p->threads);
    if (!p->readers || !p->threads)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    for (int i = 0; i < n; i++) {
        sl_snap_reader *r = (sl_snap_reader *)((char *)p->readers + (size_t)i * reader_size);
        r->owner = owner;
        r->id = i;
        if (pthread_create(&p->threads[i], NULL, body, r))
            return sl_errf(err, SL_ERUNTIME, "cannot start snapshot reader threads");
        p->nthreads++;
    }
    int rc = wait_ready ? sl_reader_pool_wait_ready(p, err) : 0;
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
