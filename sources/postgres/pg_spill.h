/* pg_spill.h — spill files of streamed in-progress transactions
 * (pgoutput protocol 2, `streaming 'true'`).
 *
 * The server sends a large transaction in blocks before it commits; its
 * messages are appended to a temporary file per transaction as they arrive
 * and replayed at Stream Commit, in commit order, or dropped at Stream
 * Abort (an aborted subtransaction's messages are skipped at replay).
 * Memory stays flat however large the transaction.
 */
#ifndef SL_PG_SPILL_H
#define SL_PG_SPILL_H

#include <stdint.h>
#include <stdio.h>

#include "../../core/err.h"

typedef struct sl_pg_spill {
    uint32_t xid;
    FILE *f;
    char *fbuf;        /* f's buffer: glibc ignores the size given with a NULL buffer */
    uint32_t *aborted; /* subtransactions rolled back */
    size_t naborted, cap;
    uint64_t bytes;
} sl_pg_spill;

typedef struct sl_pg_spills {
    sl_pg_spill *items;
    size_t n;
    int cur; /* index of the transaction inside a stream block, else -1 */
} sl_pg_spills;

void sl_pg_spills_init(sl_pg_spills *ss);
void sl_pg_spills_free(sl_pg_spills *ss);
sl_pg_spill *sl_pg_spill_find(sl_pg_spills *ss, uint32_t xid);
/* Stream Start of xid: its spill (created on first use) takes the
 * messages until Stream Stop. */
int sl_pg_spill_start(sl_pg_spills *ss, uint32_t xid, sl_err *err);
/* Stream Stop. */
void sl_pg_spill_stop(sl_pg_spills *ss);
/* Inside a stream block: the message goes to the current spill. */
int sl_pg_spill_write(sl_pg_spills *ss, const uint8_t *msg, size_t len, uint64_t wal, sl_err *err);
/* Stream Abort of sub (= xid: the whole transaction, whose spill goes). */
int sl_pg_spill_abort(sl_pg_spills *ss, uint32_t xid, uint32_t sub, sl_err *err);
/* Stream Commit: hands each message not of an aborted subtransaction to
 * fn, in order, then drops the spill. */
typedef int (*sl_pg_spill_fn)(void *ctx, const uint8_t *msg, size_t len, uint64_t wal, sl_err *err);
int sl_pg_spill_replay(sl_pg_spills *ss, sl_pg_spill *sp, sl_pg_spill_fn fn, void *ctx, sl_err *err);
void sl_pg_spill_drop(sl_pg_spills *ss, sl_pg_spill *sp);

#endif
