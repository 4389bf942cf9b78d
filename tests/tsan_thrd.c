/*
 * tests/tsan_thrd.c — linked into the ThreadSanitizer build only.
 *
 * Debian's librdkafka starts its threads with C11 thrd_create, which glibc
 * implements without going through pthread_create, so TSan never sets up
 * those threads' state and its allocator crashes (SIGSEGV in calloc on
 * "rdk:main") the first time such a thread allocates. Defining thrd_create
 * in the executable takes precedence over glibc's for librdkafka's calls,
 * and starting the thread with pthread_create lets TSan see it. thrd_join
 * and thrd_detach go through pthread_join and pthread_detach for the same
 * reason: otherwise TSan never learns a thread ended and refuses the next
 * thread given the same id. The int result travels as the thread's void *
 * result, as glibc does it.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <threads.h>

typedef struct tsan_thrd_start {
    thrd_start_t func;
    void *arg;
} tsan_thrd_start;

static void *tsan_thrd_trampoline(void *p)
{
    tsan_thrd_start s = *(tsan_thrd_start *)p;
    free(p);
    return (void *)(intptr_t)s.func(s.arg);
}

int thrd_create(thrd_t *thr, thrd_start_t func, void *arg)
{
    tsan_thrd_start *s = malloc(sizeof *s);
    if (!s)
        return thrd_nomem;
    s->func = func;
    s->arg = arg;
    pthread_t t;
    int rc = pthread_create(&t, NULL, tsan_thrd_trampoline, s);
    if (rc) {
        free(s);
        return thrd_error;
    }
    *thr = (thrd_t)t;
    return thrd_success;
}

int thrd_join(thrd_t thr, int *res)
{
    void *v = NULL;
    if (pthread_join((pthread_t)thr, &v))
        return thrd_error;
    if (res)
        *res = (int)(intptr_t)v;
    return thrd_success;
}

int thrd_detach(thrd_t thr)
{
    return pthread_detach((pthread_t)thr) ? thrd_error : thrd_success;
}
