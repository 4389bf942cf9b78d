/* emitter.c — batching of source events and their hand-off to the queue. */
#include "emitter.h"

#include "clock.h"

#include <string.h>

int sl_emitter_init(sl_emitter *e, sl_queue *q, sl_block_pool *pool, size_t target_bytes,
                    const volatile sig_atomic_t *stop_flag)
{
    memset(e, 0, sizeof *e);
    e->queue = q;
    e->pool = pool;
    e->target_bytes = target_bytes;
    e->stop_flag = stop_flag;
    return pthread_mutex_init(&e->mu, NULL) ? -1 : 0;
}

void sl_emitter_destroy(sl_emitter *e)
{
    sl_batch_free(e->cur);
    e->cur = NULL;
    pthread_mutex_destroy(&e->mu);
}

static int held_by_me(const sl_emitter *e)
{
    return __atomic_load_n(&e->open, __ATOMIC_RELAXED) &&
           pthread_equal(__atomic_load_n(&e->owner, __ATOMIC_RELAXED), pthread_self());
}

/* after taking mu / before releasing it */
static void set_held(sl_emitter *e, int held)
{
    if (held)
        __atomic_store_n(&e->owner, pthread_self(), __ATOMIC_RELAXED);
    __atomic_store_n(&e->open, held, __ATOMIC_RELAXED);
}

sl_batch *sl_emit_batch(sl_emitter *e)
{
    if (!held_by_me(e)) {
        pthread_mutex_lock(&e->mu);
        set_held(e, 1);
    }
    if (!e->cur && (e->cur = sl_batch_new(e->pool)))
        e->cur->seq = ++e->batches;
    return e->cur;
}

static int push_current(sl_emitter *e)
{
    sl_batch *b = e->cur;
    e->cur = NULL;
    if (!b)
        return 0;
    if (sl_queue_push(e->queue, b)) {
        sl_batch_free(b);
        return -1;
    }
    return 0;
}

int sl_emit_commit(sl_emitter *e, sl_pos pos, const char *token)
{
    sl_batch *b = sl_emit_batch(e);
    if (!b)
        return -1;
    b->commit_token = sl_arena_strdup(&b->arena, token);
    b->commit_pos = pos;
    b->commit_count = b->count;
    int rc = 0;
    /* a sink thread that found nothing to take gets this transaction
     * without waiting for the batch to fill */
    if (sl_batch_bytes(b) >= e->target_bytes || __atomic_exchange_n(&e->wanted, 0, __ATOMIC_ACQ_REL))
        rc = push_current(e);
    set_held(e, 0);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

int sl_emit_flush(sl_emitter *e)
{
    /* between transactions the sink thread may be taking cur right now
     * (sl_emit_take_idle): hold the lock for the push */
    int took = sl_emit_hold(e);
    /* a batch pushed mid-transaction carries no token: not a boundary */
    int rc = push_current(e);
    sl_emit_drop(e, took);
    return rc;
}

int sl_emit_end(sl_emitter *e)
{
    sl_batch *b = sl_emit_batch(e);
    if (!b)
        return -1;
    b->end_of_stream = 1;
    int rc = push_current(e);
    set_held(e, 0);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

void sl_emit_lock(sl_emitter *e)
{
    pthread_mutex_lock(&e->mu);
    set_held(e, 1);
}

void sl_emit_unlock(sl_emitter *e)
{
    set_held(e, 0);
    pthread_mutex_unlock(&e->mu);
}

int sl_emit_hold(sl_emitter *e)
{
    if (held_by_me(e))
        return 0;
    sl_emit_lock(e);
    return 1;
}

void sl_emit_drop(sl_emitter *e, int took)
{
    if (took)
        sl_emit_unlock(e);
}

int sl_emit_push_batch(sl_emitter *e, sl_batch *b, sl_pos pos, const char *token)
{
    int mine = held_by_me(e);
    if (!mine)
        sl_emit_lock(e);
    b->commit_token = sl_arena_strdup(&b->arena, token);
    b->commit_pos = pos;
    b->commit_count = b->count;
    int rc = push_current(e);
    if (!rc && sl_queue_push(e->queue, b)) {
        sl_batch_free(b);
        rc = -1;
    }
    if (!mine)
        sl_emit_unlock(e);
    return rc;
}

void sl_emit_release(sl_emitter *e)
{
    if (held_by_me(e)) {
        set_held(e, 0);
        pthread_mutex_unlock(&e->mu);
    }
}

int sl_emit_should_stop(const sl_emitter *e)
{
    /* the flag a signal handler sets, read here by the source thread */
    return (e->stop_flag && __atomic_load_n(e->stop_flag, __ATOMIC_RELAXED)) ||
           __atomic_load_n(&e->stop_requested, __ATOMIC_RELAXED);
}

sl_batch *sl_emit_take_idle(sl_emitter *e)
{
    if (pthread_mutex_trylock(&e->mu)) {
        __atomic_store_n(&e->wanted, 1, __ATOMIC_RELEASE);
        return NULL;
    }
    sl_batch *b = NULL;
    /* every push happens under mu, so an empty queue here stays ordered */
    if (!__atomic_load_n(&e->open, __ATOMIC_RELAXED) && e->cur && sl_batch_at_boundary(e->cur) && e->queue->count == 0) {
        b = e->cur;
        e->cur = NULL;
    }
    pthread_mutex_unlock(&e->mu);
    if (!b)
        __atomic_store_n(&e->wanted, 1, __ATOMIC_RELEASE);
    return b;
}

void sl_emit_idle(sl_emitter *e)
{
    __atomic_store_n(&e->idle_wall_ms, sl_wall_ms(), __ATOMIC_RELEASE);
}

int sl_emit_pending(sl_emitter *e)
{
    if (pthread_mutex_trylock(&e->mu))
        return 1;
    int pending = e->open || (e->cur && (e->cur->count || e->cur->commit_token)) || e->queue->count;
    pthread_mutex_unlock(&e->mu);
    return pending;
}

void sl_emit_positioned(sl_emitter *e) { __atomic_store_n(&e->positioned, 1, __ATOMIC_RELEASE); }

int sl_emit_is_positioned(sl_emitter *e) { return __atomic_load_n(&e->positioned, __ATOMIC_ACQUIRE); }
