/* live_socket.h — the socket a source's blocking read may wait on, so that
 * interrupt() (another thread, after a stop request) can wake it: shutting
 * the socket down (not closing it: the reader still owns the handle) makes
 * a blocked read return at once. */
#ifndef SL_LIVE_SOCKET_H
#define SL_LIVE_SOCKET_H

#include <pthread.h>

typedef struct sl_live_socket {
    pthread_mutex_t mu;
    int fd; /* -1: none */
} sl_live_socket;

void sl_live_init(sl_live_socket *l);
void sl_live_destroy(sl_live_socket *l);
/* registers fd (or clears it with -1) */
void sl_live_set(sl_live_socket *l, int fd);
void sl_live_shutdown(sl_live_socket *l);

#endif
