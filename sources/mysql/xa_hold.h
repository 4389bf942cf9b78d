/* xa_hold.h — XA transactions between PREPARE and their outcome.
 *
 * A prepared XA transaction reaches the binlog at XA PREPARE, as a group of
 * its own ending in XA_PREPARE_LOG_EVENT; its XA COMMIT or XA ROLLBACK
 * comes later, as another group. Its rows are delivered only at the XA
 * COMMIT (and never after an XA ROLLBACK), so the group's TABLE_MAP and
 * rows events are kept here, as read, until then. Where the earliest one
 * still waiting starts goes into each checkpoint (sl_mysql_pos.xa_file /
 * xa_pos): a restart reads again from there to take them back.
 */
#ifndef SL_MYSQL_XA_HOLD_H
#define SL_MYSQL_XA_HOLD_H

#include <stddef.h>
#include <stdint.h>

#include "../../core/buf.h"

typedef struct sl_xa_txn {
    char *xid;           /* as sl_mysql_xa_prepare_xid writes it */
    char file[256];      /* where its PREPARE group starts */
    uint64_t file_seq, pos;
    sl_buf events;       /* type(1) timestamp(4) length(4) body, one after another */
} sl_xa_txn;

typedef struct sl_xa_hold {
    sl_xa_txn *pending;  /* prepared, outcome not yet read */
    size_t n, cap;
    sl_xa_txn cur;       /* the group being read, while it may be a PREPARE */
    int holding;
} sl_xa_hold;

/* a group that may end in XA PREPARE starts at (file, pos): its events go
 * to sl_xa_keep until it ends */
void sl_xa_begin(sl_xa_hold *h, const char *file, uint64_t file_seq, uint64_t pos);
/* one event of that group (TABLE_MAP or rows); -1 when out of memory */
int sl_xa_keep(sl_xa_hold *h, int type, uint32_t ts, const uint8_t *body, size_t len);
/* the group ended in XA PREPARE of xid: it waits; -1 when out of memory */
int sl_xa_prepared(sl_xa_hold *h, const char *xid);
/* the group ended otherwise (one-phase commit): its events, for the caller
 * to free with sl_xa_txn_free */
sl_xa_txn sl_xa_end_group(sl_xa_hold *h);
/* the prepared transaction xid, removed from the waiting ones; 0 if none */
int sl_xa_take(sl_xa_hold *h, const char *xid, sl_xa_txn *out);
/* walks a transaction's events: 1 = one more, 0 = done */
int sl_xa_next(const sl_xa_txn *t, size_t *off, int *type, uint32_t *ts, const uint8_t **body, size_t *len);
/* the waiting transaction that starts first; NULL if none */
const sl_xa_txn *sl_xa_earliest(const sl_xa_hold *h);
void sl_xa_txn_free(sl_xa_txn *t);
void sl_xa_free(sl_xa_hold *h);

#endif
