/* live_socket.c — see live_socket.h. */
#include "live_socket.h"

#include <sys/socket.h>

void sl_live_init(sl_live_socket *l)
{
    pthread_mutex_init(&l->mu, NULL);
    l->fd = -1;
}

void sl_live_destroy(sl_live_socket *l) { pthread_mutex_destroy(&l->mu); }

void sl_live_set(sl_live_socket *l, int fd)
{
    pthread_mutex_lock(&l->mu);
    l->fd = fd;
    pthread_mutex_unlock(&l->mu);
}

void sl_live_shutdown(sl_live_socket *l)
{
    pthread_mutex_lock(&l->mu);
    if (l->fd >= 0)
        shutdown(l->fd, SHUT_RDWR);
    pthread_mutex_unlock(&l->mu);
}
