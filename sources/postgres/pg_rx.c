/* pg_rx.c — how the WAL stream is read from the walsender's socket.
 *
 * The walsender flushes every message it decodes on its own (a TCP segment,
 * and with TLS a TLS record, of a few hundred bytes each). Read as it
 * comes, that is one wake-up and one read per message or two, and with
 * TLS two reads per record (OpenSSL reads a record's header, then its
 * body): the reader spends more time in system calls than in decoding.
 * So:
 *  - TLS reads ahead (SSL_set_read_ahead): one read takes as many records
 *    as its buffer holds (about 16 KiB), later records come from memory;
 *  - while data flows, the socket wakes the reader only when RX_PIECE
 *    bytes are waiting (SO_RCVLOWAT), or after RX_BATCH_WAIT_MS, which
 *    bounds what batching adds to a change's latency;
 *  - a wait that brings nothing complete means the stream is idle: the
 *    low-water mark goes back to one byte and the caller's idle timeout
 *    applies, so an idle pipeline wakes as rarely as before and the first
 *    change after a pause is read at once.
 * The socket's receive buffer keeps the kernel's autotuning (setting
 * SO_RCVBUF would switch it off); it grows far past RX_PIECE on its own.
 *
 * libpq's own waits (PQgetResult) look at the socket and at the TLS record
 * being read, not at records read ahead, and would take a raised low-water
 * mark for silence: sl_pg_rx_settle lowers the mark and hands those
 * records to libpq first.
 */
#include "pg_rx.h"

#include <errno.h>
#include <openssl/ssl.h>
#include <sys/select.h>
#include <sys/socket.h>

enum {
    RX_PIECE = 16 * 1024, /* one TLS read-ahead buffer, one libpq input buffer */
    RX_BATCH_WAIT_MS = 5,
};

static void set_lowat(sl_pg_rx *rx, int bytes)
{
    if (rx->lowat == bytes || rx->fd < 0)
        return;
    /* a kernel without it only wakes the reader more often */
    if (setsockopt(rx->fd, SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof bytes) == 0)
        rx->lowat = bytes;
}

void sl_pg_rx_init(sl_pg_rx *rx, PGconn *conn)
{
    rx->conn = conn;
    rx->fd = PQsocket(conn);
    rx->lowat = 1;
    rx->batching = 1;
    rx->starved = 0;
    rx->msgs = rx->msgs_at_wait = 0;
    rx->ssl = PQsslInUse(conn) ? PQsslStruct(conn, "OpenSSL") : NULL;
    if (rx->ssl)
        SSL_set_read_ahead(rx->ssl, 1);
}

int sl_pg_rx_get(sl_pg_rx *rx, char **buf)
{
    int n = PQgetCopyData(rx->conn, buf, 1);
    if (n > 0)
        rx->msgs++;
    return n;
}

static int wait_readable(sl_pg_rx *rx, int ms)
{
    if (rx->fd < 0)
        return -1;
    fd_set rf;
    FD_ZERO(&rf);
    FD_SET(rx->fd, &rf);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    int n = select(rx->fd + 1, &rf, NULL, NULL, &tv);
    if (n < 0 && errno != EINTR)
        return -1;
    return n > 0;
}

/* libpq reads one TLS record per call; SSL_want_read tells whether that
 * read stopped for want of bytes from the socket (a record arrived in
 * part), after which the socket must be waited for. */
static int consume(sl_pg_rx *rx)
{
    int ok = PQconsumeInput(rx->conn);
    rx->starved = rx->ssl && SSL_want_read((SSL *)rx->ssl);
    return ok ? 0 : -1;
}

int sl_pg_rx_fill(sl_pg_rx *rx, int idle_ms)
{
    if (!rx->conn)
        return -1;
    /* records read ahead: no system call */
    if (rx->ssl && !rx->starved && SSL_has_pending(rx->ssl))
        return consume(rx);
    /* nothing complete came since the last wait: idle until data comes */
    if (rx->msgs == rx->msgs_at_wait)
        rx->batching = 0;
    rx->msgs_at_wait = rx->msgs;
    set_lowat(rx, rx->batching ? RX_PIECE : 1);
    int r = wait_readable(rx, rx->batching ? RX_BATCH_WAIT_MS : idle_ms);
    if (r < 0)
        return -1;
    if (!rx->batching) {
        if (r == 0)
            return 0; /* nothing at all, not even an end of stream */
        rx->batching = 1; /* woken by data: the next wait gathers a piece */
        rx->msgs_at_wait = rx->msgs - 1;
    }
    return consume(rx);
}

void sl_pg_rx_settle(sl_pg_rx *rx)
{
    /* libpq's poll must see the last few bytes of the stream as readable */
    set_lowat(rx, 1);
    rx->batching = 0;
    while (rx->ssl && SSL_has_pending(rx->ssl)) {
        if (PQconsumeInput(rx->conn) == 0 || SSL_want_read((SSL *)rx->ssl))
            return;
    }
}
