/* event.h — change events and the batches that carry them between stages.
 *
 * A batch owns an arena; every event, row array and copied byte of the
 * batch lives in it, so a committed batch is released in one call. A batch
 * that ends on a transaction boundary carries the source's resume token for
 * that boundary: the only places a checkpoint may be cut.
 */
#ifndef SL_EVENT_H
#define SL_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "schema.h"
#include "value.h"

typedef enum sl_op {
    SL_OP_READ = 'r',     /* snapshot row */
    SL_OP_CREATE = 'c',
    SL_OP_UPDATE = 'u',
    SL_OP_DELETE = 'd',
    SL_OP_TRUNCATE = 't',
    SL_OP_SCHEMA = 's',   /* the table's schema changed; `schema` is the new one */
} sl_op;

/* Total order of events from one source: (hi, lo, idx) compared in turn.
 * MySQL: hi = binlog file sequence, lo = event offset, idx = row in event.
 * PostgreSQL: hi = commit LSN, lo = 0, idx = change index in the transaction. */
typedef struct sl_pos {
    uint64_t hi, lo;
    uint32_t idx;
} sl_pos;

static inline int sl_pos_cmp(sl_pos a, sl_pos b)
{
    if (a.hi != b.hi)
        return a.hi < b.hi ? -1 : 1;
    if (a.lo != b.lo)
        return a.lo < b.lo ? -1 : 1;
    if (a.idx != b.idx)
        return a.idx < b.idx ? -1 : 1;
    return 0;
}

/* What a transaction shares among its events (Debezium's `source` block). */
typedef struct sl_txinfo {
    const char *file;   /* MySQL binlog file */
    const char *gtid;   /* MySQL GTID "0-1-42" / "uuid:n" */
    uint64_t xid;       /* PostgreSQL xid */
    uint64_t lsn;       /* PostgreSQL commit LSN */
    uint64_t last_commit; /* PostgreSQL: where the stream read the last commit
                             (its end LSN) or non-transactional logical
                             message before this transaction (Debezium's
                             source.sequence[0]); 0: none since the start */
    uint32_t server_id;
    uint32_t thread_id;
    int64_t ts_ms;      /* commit time at the source */
    int64_t ts_us;      /* the same in microseconds where the source has them
                           (PostgreSQL); 0: ts_ms * 1000 */
    uint8_t mariadb;    /* written by MariaDB (Debezium 3's "mariadb" connector) */
} sl_txinfo;

/* What a schema-change event announces (Debezium's tableChanges type):
 * NONE = learnt from the rows (the table's first shape is a CREATE, a later
 * one an ALTER); the others come from a DDL statement in the log */
enum { SL_CHANGE_NONE = 0, SL_CHANGE_CREATE, SL_CHANGE_ALTER, SL_CHANGE_DROP };

/* Debezium's source.snapshot: the snapshot's first and last rows, each
 * table's first and last rows, and the rest */
enum { SL_SNAP_NONE = 0, SL_SNAP_TRUE, SL_SNAP_FIRST, SL_SNAP_LAST, SL_SNAP_FIRST_IN_TABLE, SL_SNAP_LAST_IN_TABLE };

typedef struct sl_event {
    struct sl_event *next;
    const sl_table_schema *schema;
    const sl_value *before; /* schema->ncols values, or NULL */
    const sl_value *after;  /* schema->ncols values, or NULL */
    const sl_txinfo *tx;
    sl_pos pos;
    uint64_t offset;        /* MySQL: position of the row event; PG: LSN of the change */
    uint32_t row;           /* row index inside the source event */
    const char *ddl;        /* SL_OP_SCHEMA: the statement that changed the table, or NULL */
    char op;                /* sl_op */
    uint8_t snapshot;       /* SL_SNAP_* */
    uint8_t change;         /* SL_OP_SCHEMA: SL_CHANGE_* */
} sl_event;

typedef struct sl_batch {
    struct sl_batch *next; /* queue link */
    sl_arena arena;
    sl_event *head, *tail;
    size_t count;
    /* The last transaction boundary inside the batch: its position and the
     * source's serialised resume token (JSON text, in the arena). Events
     * after commit_count belong to a transaction still open. */
    const char *commit_token;
    sl_pos commit_pos;
    size_t commit_count; /* events covered by commit_token (a prefix) */
    int end_of_stream;   /* the source finished (migrate, snapshot mode) */
    uint64_t seq;        /* numbered by the emitter, never reused: the identity
                            of a batch whose address a freed one may have had */
} sl_batch;

/* true when the batch's last event closes a transaction */
static inline int sl_batch_at_boundary(const sl_batch *b)
{
    return b->commit_token && b->commit_count == b->count;
}

/* the commit time in microseconds: the source's own where it has them
 * (Debezium keeps PostgreSQL's), else the milliseconds scaled */
static inline int64_t sl_txinfo_ts_us(const sl_txinfo *tx)
{
    if (!tx)
        return 0;
    return tx->ts_us ? tx->ts_us : tx->ts_ms * 1000;
}

/* pool: where the batch's big blocks come from and go back to, or NULL */
sl_batch *sl_batch_new(sl_block_pool *pool);
void sl_batch_free(sl_batch *b);
/* memory the batch holds, for queue accounting */
size_t sl_batch_bytes(const sl_batch *b);
sl_event *sl_batch_add_event(sl_batch *b, char op, const sl_table_schema *schema);
sl_event *sl_batch_prepend_event(sl_batch *b, char op, const sl_table_schema *schema);
sl_value *sl_batch_row(sl_batch *b, int ncols);

#endif
