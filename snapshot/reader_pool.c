/* reader_pool.c — see reader_pool.h. */
#include "reader_pool.h"

#include <stdlib.h>
#include <string.h>

void sl_reader_pool_init(sl_reader_pool *p, sl_snapshot *snap)
{
    memset(p, 0, sizeof *p);
    p->snap = snap;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
}

int sl_reader_pool_start(sl_reader_pool *p, int n, void *(*body)(void *), void *args, size_t arg_size, sl_err *err)
{
    p->threads = calloc((size_t)(n > 0 ? n : 1), sizeof *p->threads);
    if (!p->threads)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    for (int i = 0; i < n; i++) {
        if (pthread_create(&p->threads[i], NULL, body, (char *)args + (size_t)i * arg_size))
            return sl_errf(err, SL_ERUNTIME, "cannot start snapshot reader threads");
        p->nthreads++;
    }
    return 0;
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
    p->threads = NULL;
    p->nthreads = 0;
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
}
