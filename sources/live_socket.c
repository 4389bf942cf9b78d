/* live_socket.c — see live_socket.h. */
#include "live_socket.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include "../core/clock.h"

/* how long a wait on a socket may go without looking at the stop mark */
enum { SLICE_MS = 50 };

void sl_live_init(sl_live_socket *l)
{
    pthread_mutex_init(&l->mu, NULL);
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&l->cv, &a);
    pthread_condattr_destroy(&a);
    l->fd = -1;
    l->stopped = 0;
}

void sl_live_destroy(sl_live_socket *l)
{
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
}

void sl_live_set(sl_live_socket *l, int fd)
{
    pthread_mutex_lock(&l->mu);
    l->fd = fd;
    pthread_mutex_unlock(&l->mu);
}

void sl_live_shutdown(sl_live_socket *l)
{
    pthread_mutex_lock(&l->mu);
    l->stopped = 1;
    if (l->fd >= 0)
        shutdown(l->fd, SHUT_RDWR);
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

int sl_live_stopped(sl_live_socket *l)
{
    if (!l)
        return 0;
    pthread_mutex_lock(&l->mu);
    int s = l->stopped;
    pthread_mutex_unlock(&l->mu);
    return s;
}

int sl_live_sleep(sl_live_socket *l, int64_t ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(ms / 1000);
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    if (!l) {
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR) {
        }
        return 0;
    }
    pthread_mutex_lock(&l->mu);
    while (!l->stopped && pthread_cond_timedwait(&l->cv, &l->mu, &until) != ETIMEDOUT) {
    }
    int s = l->stopped;
    pthread_mutex_unlock(&l->mu);
    return s;
}

int sl_live_wait_fd(sl_live_socket *l, int fd, short events, int64_t ms)
{
    int64_t until = ms < 0 ? -1 : sl_mono_ms() + ms;
    for (;;) {
        if (sl_live_stopped(l))
            return -1;
        int64_t left = until < 0 ? SLICE_MS : until - sl_mono_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, (int)(left < SLICE_MS ? left : SLICE_MS));
        if (n > 0)
            return p.revents;
        if (n < 0 && errno != EINTR)
            return -2;
    }
}
