/* queue.c — mutex + two condition variables; batches are linked intrusively. */
#include "queue.h"

#include <errno.h>
#include <time.h>

int sl_queue_init(sl_queue *q, size_t limit_bytes)
{
    q->head = q->tail = NULL;
    q->bytes = q->count = 0;
    q->limit = limit_bytes;
    q->closed = 0;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_mutex_init(&q->mu, NULL) || pthread_cond_init(&q->not_empty, &ca) ||
             pthread_cond_init(&q->not_full, &ca);
    pthread_condattr_destroy(&ca);
    return rc ? -1 : 0;
}

void sl_queue_destroy(sl_queue *q)
{
    for (sl_batch *b = q->head, *n; b; b = n) {
        n = b->next;
        sl_batch_free(b);
    }
    q->head = q->tail = NULL;
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
}

int sl_queue_push(sl_queue *q, sl_batch *b)
{
    size_t sz = sl_batch_bytes(b);
    pthread_mutex_lock(&q->mu);
    while (!q->closed && q->count > 0 && q->bytes + sz > q->limit)
        pthread_cond_wait(&q->not_full, &q->mu);
    if (q->closed) {
        pthread_mutex_unlock(&q->mu);
        return -1;
    }
    b->next = NULL;
    if (q->tail)
        q->tail->next = b;
    else
        q->head = b;
    q->tail = b;
    __atomic_add_fetch(&q->bytes, sz, __ATOMIC_RELAXED); /* the metrics tick reads it without the lock */
    q->count++;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->mu);
    return 0;
}

sl_batch *sl_queue_pop(sl_queue *q, int timeout_ms)
{
    struct timespec deadline;
    if (timeout_ms >= 0) {
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&q->mu);
    while (!q->head && !q->closed) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&q->not_empty, &q->mu);
        } else if (pthread_cond_timedwait(&q->not_empty, &q->mu, &deadline) == ETIMEDOUT) {
            break;
        }
    }
    sl_batch *b = q->head;
    if (b) {
        q->head = b->next;
        if (!q->head)
            q->tail = NULL;
        __atomic_sub_fetch(&q->bytes, sl_batch_bytes(b), __ATOMIC_RELAXED);
        q->count--;
        b->next = NULL;
        pthread_cond_signal(&q->not_full);
    }
    pthread_mutex_unlock(&q->mu);
    return b;
}

void sl_queue_close(sl_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = 1;
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->mu);
}

int sl_queue_is_closed(sl_queue *q)
{
    pthread_mutex_lock(&q->mu);
    int c = q->closed;
    pthread_mutex_unlock(&q->mu);
    return c;
}
