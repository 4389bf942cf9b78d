/* live_socket.h — what a source's blocking waits hang on, so that
 * interrupt() (another thread, after a stop request) can cut them short:
 * the socket a blocking read waits on (shut down, not closed: the reader
 * still owns the handle, and a blocked read returns at once), and a stop
 * mark that every back-off sleep and connection attempt of the source
 * checks. A stop during a database outage therefore ends the source within
 * one poll slice instead of after the remaining retries. */
#ifndef SL_LIVE_SOCKET_H
#define SL_LIVE_SOCKET_H

#include <pthread.h>
#include <stdint.h>

typedef struct sl_live_socket {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int fd;      /* -1: none */
    int stopped; /* interrupt() was called; never cleared */
} sl_live_socket;

void sl_live_init(sl_live_socket *l);
void sl_live_destroy(sl_live_socket *l);
/* registers fd (or clears it with -1) */
void sl_live_set(sl_live_socket *l, int fd);
/* marks the stop, shuts the registered socket down, wakes sleepers */
void sl_live_shutdown(sl_live_socket *l);
/* 1 once sl_live_shutdown() was called; l may be NULL (never stopped) */
int sl_live_stopped(sl_live_socket *l);
/* Sleeps ms unless a stop comes first; 1 if stopped. l may be NULL. */
int sl_live_sleep(sl_live_socket *l, int64_t ms);
/* Waits until fd is ready for events (POLLIN/POLLOUT), at most ms (-1:
 * no limit), in slices short enough to notice a stop. Returns the poll
 * revents (0 on timeout), -1 if stopped, -2 on a poll error. */
int sl_live_wait_fd(sl_live_socket *l, int fd, short events, int64_t ms);

#endif
