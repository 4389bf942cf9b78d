/* pg_rx.h — reading the walsender's stream in large pieces (pg_rx.c). */
#ifndef SL_PG_RX_H
#define SL_PG_RX_H

#include <libpq-fe.h>

typedef struct sl_pg_rx {
    PGconn *conn;
    void *ssl;    /* the connection's OpenSSL object, NULL without TLS */
    int fd;
    int lowat;    /* SO_RCVLOWAT now set on fd */
    int batching; /* data flowed at the last wait: wait for a full piece */
    int starved;  /* TLS's last read needed bytes the socket did not have */
    unsigned long msgs, msgs_at_wait; /* messages taken, and when last waited */
} sl_pg_rx;

/* After START_REPLICATION: prepare conn's socket (and TLS) for batched reads. */
void sl_pg_rx_init(sl_pg_rx *rx, PGconn *conn);

/* PQgetCopyData(conn, buf, 1), counted (the count tells a flowing stream
 * from an idle one). */
int sl_pg_rx_get(sl_pg_rx *rx, char **buf);

/* The caller found no complete message in libpq's buffer: bring more in,
 * waiting up to idle_ms when nothing is on hand. 0, or -1 when the
 * connection failed (PQconsumeInput's error is on conn). */
int sl_pg_rx_fill(sl_pg_rx *rx, int idle_ms);

/* Before a call of libpq that waits on the socket itself (PQgetResult):
 * the low-water mark back to one byte, and every byte the TLS layer holds
 * handed to libpq, which its own wait cannot see. */
void sl_pg_rx_settle(sl_pg_rx *rx);

#endif
