/* pg_stream.c — the WAL reader of the postgres source: a pgoutput logical
 * replication stream over a walsender connection.
 *
 * Positions: a transaction's events are at (commit LSN, 0, i); after its
 * Commit the reader stands at (end LSN, 0, 0), which is also the checkpoint
 * token and the LSN a restart asks the slot for, so the next run starts
 * with the next transaction. A keepalive between transactions carries the
 * walsender's decoding position W: every transaction committed before W
 * has been sent, so the reader may stand at W too (this moves snapshot
 * merges, migrate ends and the slot's confirmed LSN along while only
 * uncaptured tables are written). The slot is confirmed (standby status
 * update, flush LSN) only up to the token of a checkpoint the sink has
 * committed.
 *
 * Streamed in-progress transactions (protocol 2) go through spill files
 * (pg_spill.h) and are replayed here at Stream Commit. Where a run starts
 * (slot, checkpoint, startup mode, the exported snapshot) is pg_slot.c's
 * business; this file handles the protocol once it runs.
 *
 * A lost connection restarts the pipeline from the last checkpoint
 * (SL_ERETRY), which replays exactly the uncommitted epoch.
 */
#define SL_LOG_COMPONENT "postgres source"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../core/clock.h"
#include "../../core/log.h"
#include "../../snapshot/boundary.h"
#include "pg_snapshot.h"
#include "pg_slot.h"
#include "pg_spill.h"
#include "pg_source.h"
#include "pg_rx.h"
#include "pg_types.h"

#define PG_EPOCH_MS 946684800000LL /* 2000-01-01 in Unix milliseconds */

typedef struct rel_entry {
    uint32_t relid;
    const sl_table_schema *schema; /* the version events carry */
    int captured;
    int announce;                  /* a schema event goes before its next row */
} rel_entry;

typedef struct stream {
    sl_pg_source *src;
    sl_emitter *out;
    PGconn *repl, *side;
    sl_pg_rx rx; /* how repl is read */
    uint64_t start_lsn;
    uint64_t commit_end; /* where the reader stands between transactions */
    uint64_t received;   /* highest WAL position heard of */
    uint64_t idle_lsn;   /* a keepalive position not yet turned into a boundary */
    uint64_t reported_flush;
    uint64_t last_commit; /* position of the last commit or non-transactional
                             logical message read (0: none since start) */
    int64_t last_status_ms, last_heartbeat_ms, last_idle_commit_ms, last_poll_ms;
    /* current transaction */
    int in_tx;
    uint64_t tx_lsn;
    uint32_t tx_xid, tx_idx;
    int64_t tx_ts_us; /* commit time, Unix microseconds */
    sl_txinfo *tx;
    sl_batch *tx_batch;
    uint64_t tx_batch_seq; /* a freed batch's address is reused: the seq tells them apart */
    /* relations */
    rel_entry *rels;
    size_t nrels, caprels;
    const sl_table_schema **latest;
    size_t nlatest, caplatest;
    sl_pg_spills spills; /* streamed transactions */
    /* snapshot, migrate */
    sl_pg_snap *snap;
    sl_boundary boundary; /* how transaction ends meet the snapshot */
    int snapshot_only;
    int have_until;
    uint64_t until;
    int ended;
    /* scratch for parsing */
    sl_pgo_col *cols_a, *cols_b;
    sl_pgo_relcol *relcols;
    int colcap;
} stream;

/* ------------------------------------------------------------ helpers -- */

static void lsn_text(uint64_t lsn, char *buf, size_t len) { sl_pg_lsn_format(lsn, buf, len); }

static void token_for(uint64_t lsn, char *buf, size_t len)
{
    char l[32];
    lsn_text(lsn, l, sizeof l);
    snprintf(buf, len, "{\"lsn\":\"%s\"}", l);
}

/* PostgreSQL's microseconds since 2000-01-01 as Unix microseconds */
static int64_t pg_ts_us(uint64_t pg_us) { return (int64_t)pg_us + PG_EPOCH_MS * 1000; }

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static int send_status(stream *s, int reply, sl_err *err)
{
    pthread_mutex_lock(&s->src->ack_mu);
    uint64_t flush = s->src->acked_lsn;
    pthread_mutex_unlock(&s->src->ack_mu);
    uint8_t msg[34];
    msg[0] = 'r';
    put64(msg + 1, s->received > flush ? s->received : flush);
    put64(msg + 9, flush);
    put64(msg + 17, flush);
    put64(msg + 25, (uint64_t)((sl_wall_ms() - PG_EPOCH_MS) * 1000));
    msg[33] = (uint8_t)reply;
    if (PQputCopyData(s->repl, (const char *)msg, sizeof msg) != 1 || PQflush(s->repl) < 0) {
        char m[256];
        return sl_errf(err, SL_ERETRY, SL_LOG_PREFIX "sending a status update: %s",
                       sl_pg_errmsg(s->repl, m, sizeof m));
    }
    s->reported_flush = flush;
    s->last_status_ms = sl_mono_ms();
    return 0;
}

static int grow_scratch(stream *s, int n)
{
    if (n <= s->colcap)
        return 0;
    int cap = n < 64 ? 64 : n * 2;
    sl_pgo_col *a = realloc(s->cols_a, (size_t)cap * sizeof *a);
    if (a)
        s->cols_a = a;
    sl_pgo_col *b = realloc(s->cols_b, (size_t)cap * sizeof *b);
    if (b)
        s->cols_b = b;
    sl_pgo_relcol *r = realloc(s->relcols, (size_t)cap * sizeof *r);
    if (r)
        s->relcols = r;
    if (!a || !b || !r)
        return -1;
    s->colcap = cap;
    return 0;
}

static rel_entry *rel_find(stream *s, uint32_t relid)
{
    for (size_t i = 0; i < s->nrels; i++)
        if (s->rels[i].relid == relid)
            return &s->rels[i];
    return NULL;
}

static rel_entry *rel_slot(stream *s, uint32_t relid)
{
    rel_entry *e = rel_find(s, relid);
    if (e)
        return e;
    if (s->nrels == s->caprels) {
        size_t cap = s->caprels ? s->caprels * 2 : 16;
        rel_entry *n = realloc(s->rels, cap * sizeof *n);
        if (!n)
            return NULL;
        s->rels = n;
        s->caprels = cap;
    }
    e = &s->rels[s->nrels++];
    memset(e, 0, sizeof *e);
    e->relid = relid;
    return e;
}

static const sl_table_schema **latest_slot(stream *s, const char *qualified)
{
    for (size_t i = 0; i < s->nlatest; i++)
        if (strcmp(s->latest[i]->qualified, qualified) == 0)
            return &s->latest[i];
    if (s->nlatest == s->caplatest) {
        size_t cap = s->caplatest ? s->caplatest * 2 : 16;
        const sl_table_schema **n = realloc(s->latest, cap * sizeof *n);
        if (!n)
            return NULL;
        s->latest = n;
        s->caplatest = cap;
    }
    s->latest[s->nlatest] = NULL;
    return &s->latest[s->nlatest++];
}

/* The transaction info lives in the arena of the batch its first event went
 * to; a transaction spilling into a new batch gets a copy there. A batch is
 * known by its sequence number, not its address (see mysql_stream.c). */
static const sl_txinfo *tx_info(stream *s, sl_batch *b)
{
    if (s->tx && s->tx_batch == b && s->tx_batch_seq == b->seq)
        return s->tx;
    sl_txinfo *t = sl_arena_alloc(&b->arena, sizeof *t);
    if (!t)
        return NULL;
    memset(t, 0, sizeof *t);
    t->xid = s->tx_xid;
    t->lsn = s->tx_lsn;
    t->ts_us = s->tx_ts_us;
    t->last_commit = s->last_commit;
    t->ts_ms = s->tx_ts_us / 1000;
    s->tx = t;
    s->tx_batch = b;
    s->tx_batch_seq = b->seq;
    return t;
}

/* ------------------------------------------------------- transactions -- */

static void begin_tx(stream *s, uint64_t lsn, uint32_t xid, int64_t ts_us)
{
    s->in_tx = 1;
    s->tx_lsn = lsn;
    s->tx_xid = xid;
    s->tx_ts_us = ts_us;
    s->tx_idx = 0;
    s->tx = NULL;
    s->tx_batch = NULL;
}

/* The reader stands at lsn between transactions: a checkpoint boundary
 * there, and waiting snapshot chunks it has reached go out. */
static int stand_at(stream *s, uint64_t lsn, sl_err *err)
{
    int rc = sl_boundary_commit(&s->boundary, (sl_pos){lsn, 0, 0}, err);
    s->commit_end = lsn;
    return rc;
}

static int lsn_token(void *ctx, sl_pos pos, char *buf, size_t len)
{
    token_for(pos.hi, buf, len);
    return 0;
}

static int end_tx(stream *s, uint64_t end_lsn, sl_err *err)
{
    s->in_tx = 0;
    s->tx = NULL;
    s->tx_batch = NULL;
    /* pgoutput sends a commit at its end LSN: Debezium's last commit LSN */
    s->last_commit = end_lsn;
    if (end_lsn > s->received)
        s->received = end_lsn;
    return stand_at(s, end_lsn, err);
}

/* -------------------------------------------------------- relations ---- */

static int on_relation(stream *s, sl_pgo_reader *r, int streamed, sl_err *err)
{
    uint32_t xid;
    uint8_t cap_probe = 0;
    (void)cap_probe;
    sl_pgo_relation rel = {.cols = s->relcols, .cap = s->colcap};
    /* the column count comes first in the message: make room and re-read */
    sl_pgo_reader peek = *r;
    if (streamed)
        sl_pgo_u32(&peek);
    sl_pgo_u32(&peek);
    sl_pgo_str(&peek);
    sl_pgo_str(&peek);
    sl_pgo_u8(&peek);
    int n = sl_pgo_u16(&peek);
    if (peek.bad || grow_scratch(s, n))
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "malformed Relation message");
    rel.cols = s->relcols;
    rel.cap = s->colcap;
    if (sl_pgo_relation_read(r, streamed, &xid, &rel))
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "malformed Relation message");
    int captured = sl_table_filter_match(&s->src->filter, rel.nspname, rel.relname);
    if (captured)
        sl_emit_batch(s->out); /* the relation map is read by snapshot merges too */
    rel_entry *e = rel_slot(s, rel.relid);
    if (!e)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    e->captured = captured;
    if (!captured) {
        e->schema = NULL;
        return 0;
    }
    sl_table_schema *sc = NULL;
    int rc = sl_pg_table_schema(s->src, s->side, rel.nspname, rel.relname, &rel, &sc, err);
    if (rc)
        return rc;
    const sl_table_schema **latest = latest_slot(s, sc->qualified);
    if (!latest) {
        sl_schema_free(sc);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    if (*latest && sl_schema_same_shape(*latest, sc)) {
        sl_schema_free(sc);
        e->schema = *latest;
        return 0;
    }
    sc->version = *latest ? (*latest)->version + 1 : 1;
    if (sl_schema_cache_add(&s->src->schemas, sc)) {
        sl_schema_free(sc);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    if (*latest)
        sl_info("schema of %s is now version %u (%d columns)", sc->qualified, sc->version,
                sc->ncols);
    else if (sc->npk == 0)
        sl_warn("table %s has no primary key; its changes are keyed by the whole row",
                sc->qualified);
    *latest = sc;
    e->schema = sc;
    e->announce = 1;
    return 0;
}

/* ------------------------------------------------------------ changes -- */

static int tuple_values(stream *s, const sl_table_schema *sc, const sl_pgo_tuple *t, const sl_pgo_tuple *old,
                        sl_batch *b, sl_value **out, sl_err *err)
{
    if (t->ncols != sc->ncols)
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s: a row with %d columns, but the table has %d",
                       sc->qualified, t->ncols, sc->ncols);
    sl_value *vals = sl_batch_row(b, sc->ncols);
    if (!vals)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    char msg[300];
    for (int i = 0; i < sc->ncols; i++) {
        const sl_pgo_col *c = &t->cols[i];
        if (c->kind == 'u' && old && i < old->ncols && old->cols[i].kind == 't')
            c = &old->cols[i]; /* REPLICA IDENTITY FULL: the old row has it */
        switch (c->kind) {
        case 'n':
            vals[i] = sl_val_null();
            break;
        case 'u': {
            sl_value v = {0};
            v.kind = SL_UNCHANGED;
            vals[i] = v;
            break;
        }
        case 't':
            if (sl_pg_text_value(&sc->cols[i], c->data, c->len, &b->arena, &vals[i], msg, sizeof msg))
                return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s: %s", sc->qualified, msg);
            break;
        default:
            return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s: binary tuple data is not requested",
                           sc->qualified);
        }
    }
    *out = vals;
    return 0;
}

static int add_event(stream *s, rel_entry *e, char op, const sl_value *before, const sl_value *after,
                     uint64_t wal, sl_err *err)
{
    sl_batch *b = sl_emit_batch(s->out);
    if (!b)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    const sl_table_schema *sc = e->schema;
    sl_pos p = {s->tx_lsn, 0, s->tx_idx++};
    int announce = e->announce;
    e->announce = 0;
    if (s->snap && sl_snapshot_take_announce(&s->snap->snap, sc))
        announce = 1;
    if (announce) {
        sl_event *se = sl_batch_add_event(b, SL_OP_SCHEMA, sc);
        if (!se)
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        se->tx = tx_info(s, b);
        se->pos = p;
        se->offset = wal;
    }
    if (s->snap && op == SL_OP_TRUNCATE)
        sl_snapshot_truncate(&s->snap->snap, sc, p);
    else if (s->snap && sl_snapshot_touch(&s->snap->snap, sc, p, before, after))
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    sl_event *ev = sl_batch_add_event(b, op, sc);
    if (!ev)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    ev->before = before;
    ev->after = after;
    ev->tx = tx_info(s, b);
    ev->pos = p;
    ev->offset = wal;
    if (!ev->tx)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    if (sl_emit_spill_due(s->out, b) && sl_emit_flush(s->out))
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "pipeline closed");
    return 0;
}

static int on_change(stream *s, char type, sl_pgo_reader *r, int streamed, uint64_t wal, sl_err *err)
{
    uint32_t xid;
    sl_pgo_change c = {.old_tuple = {.cols = s->cols_a, .cap = s->colcap},
                       .new_tuple = {.cols = s->cols_b, .cap = s->colcap}};
    sl_pgo_reader probe = *r;
    if (streamed)
        sl_pgo_u32(&probe);
    rel_entry *e = rel_find(s, sl_pgo_u32(&probe));
    if (!e)
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "a change for a relation never described (at %X/%X)",
                       (unsigned)(wal >> 32), (unsigned)wal);
    if (!e->captured)
        return 0;
    if (grow_scratch(s, e->schema->ncols))
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    c.old_tuple.cols = s->cols_a;
    c.new_tuple.cols = s->cols_b;
    c.old_tuple.cap = c.new_tuple.cap = s->colcap;
    if (sl_pgo_change_read(r, type, streamed, &xid, &c))
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "malformed %c message for %s", type,
                       e->schema->qualified);
    sl_batch *b = sl_emit_batch(s->out);
    if (!b)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    sl_value *before = NULL, *after = NULL;
    const sl_pgo_tuple *old = c.old_kind ? &c.old_tuple : NULL;
    int rc = 0;
    if (old)
        rc = tuple_values(s, e->schema, old, NULL, b, &before, err);
    if (!rc && type != 'D')
        rc = tuple_values(s, e->schema, &c.new_tuple, c.old_kind == 'O' ? old : NULL, b, &after, err);
    if (rc)
        return rc;
    char op = type == 'I' ? SL_OP_CREATE : type == 'U' ? SL_OP_UPDATE : SL_OP_DELETE;
    return add_event(s, e, op, before, after, wal, err);
}

static int on_truncate(stream *s, sl_pgo_reader *r, int streamed, uint64_t wal, sl_err *err)
{
    if (streamed)
        sl_pgo_u32(r);
    uint32_t n = sl_pgo_u32(r);
    sl_pgo_u8(r); /* CASCADE / RESTART IDENTITY */
    for (uint32_t i = 0; i < n && !r->bad; i++) {
        rel_entry *e = rel_find(s, sl_pgo_u32(r));
        if (!e || !e->captured)
            continue;
        int rc = add_event(s, e, SL_OP_TRUNCATE, NULL, NULL, wal, err);
        if (rc)
            return rc;
    }
    return r->bad ? sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "malformed Truncate message") : 0;
}

/* One message of a transaction (or of a replayed streamed one). */
static int on_tx_message(stream *s, const uint8_t *msg, size_t len, int streamed, uint64_t wal, sl_err *err)
{
    sl_pgo_reader r;
    sl_pgo_init(&r, msg + 1, len - 1);
    switch (msg[0]) {
    case 'R':
        return on_relation(s, &r, streamed, err);
    case 'I':
    case 'U':
    case 'D':
        return on_change(s, (char)msg[0], &r, streamed, wal, err);
    case 'T':
        return on_truncate(s, &r, streamed, wal, err);
    default:
        return 0; /* Type, Origin, logical messages: nothing to emit */
    }
}

/* ---------------------------------------------------------- streaming -- */

static int replay_message(void *ctx, const uint8_t *msg, size_t len, uint64_t wal, sl_err *err)
{
    return on_tx_message(ctx, msg, len, 1, wal, err);
}

static int on_stream_commit(stream *s, sl_pgo_reader *r, sl_err *err)
{
    uint32_t xid = sl_pgo_u32(r);
    sl_pgo_u8(r);
    uint64_t commit_lsn = sl_pgo_u64(r), end_lsn = sl_pgo_u64(r), ts = sl_pgo_u64(r);
    if (r->bad)
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "malformed Stream Commit message");
    sl_pg_spill *sp = sl_pg_spill_find(&s->spills, xid);
    begin_tx(s, commit_lsn, xid, pg_ts_us(ts));
    int rc = 0;
    if (sp) {
        sl_debug("streamed transaction %u committed at %X/%X (%" PRIu64 " spilled bytes)", xid,
                 (unsigned)(commit_lsn >> 32), (unsigned)commit_lsn, sp->bytes);
        rc = sl_pg_spill_replay(&s->spills, sp, replay_message, s, err);
    }
    if (!rc)
        rc = end_tx(s, end_lsn, err);
    return rc;
}

/* ------------------------------------------------------------ messages -- */

static int on_xlogdata(stream *s, const uint8_t *msg, size_t len, uint64_t wal, sl_err *err)
{
    if (len < 1)
        return 0;
    sl_pgo_reader r;
    sl_pgo_init(&r, msg + 1, len - 1);
    char type = (char)msg[0];
    if (s->spills.cur >= 0 && type != 'E' && type != 'S')
        return sl_pg_spill_write(&s->spills, msg, len, wal, err);
    switch (type) {
    case 'B': {
        uint64_t final_lsn = sl_pgo_u64(&r), ts = sl_pgo_u64(&r);
        uint32_t xid = sl_pgo_u32(&r);
        if (r.bad)
            return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "malformed Begin message");
        begin_tx(s, final_lsn, xid, pg_ts_us(ts));
        return 0;
    }
    case 'C': {
        sl_pgo_u8(&r);
        sl_pgo_u64(&r);
        uint64_t end_lsn = sl_pgo_u64(&r);
        if (r.bad)
            return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "malformed Commit message");
        return end_tx(s, end_lsn, err);
    }
    case 'S':
        return sl_pg_spill_start(&s->spills, sl_pgo_u32(&r), err);
    case 'E':
        sl_pg_spill_stop(&s->spills);
        return 0;
    case 'c':
        return on_stream_commit(s, &r, err);
    case 'A': {
        uint32_t xid = sl_pgo_u32(&r), sub = sl_pgo_u32(&r);
        return sl_pg_spill_abort(&s->spills, xid, sub, err);
    }
    case 'R':
    case 'I':
    case 'U':
    case 'D':
    case 'T':
        return on_tx_message(s, msg, len, 0, wal, err);
    case 'M':
        /* a non-transactional logical message (a heartbeat) stands for a
         * commit of its own: Debezium's last commit LSN is its position */
        if (!(sl_pgo_u8(&r) & 1) && !r.bad)
            s->last_commit = wal;
        return 0;
    default:
        return 0; /* 'Y' type, 'O' origin */
    }
}

/* ------------------------------------------------------------- setup ---- */

static int setup(stream *s, const char *resume, sl_err *err)
{
    sl_pg_source *src = s->src;
    /* the cluster is known before anything is created on it */
    int rc = sl_pg_connect(&src->conf, 1, &s->repl, err);
    if (!rc)
        rc = sl_pg_identity_check(src, s->repl, err);
    if (!rc)
        rc = sl_pg_connect(&src->conf, 0, &s->side, err);
    if (!rc)
        rc = sl_pg_publication_ensure(src, s->side, err);
    if (rc)
        return rc;
    sl_pg_set_live(src, s->repl);
    sl_pg_start st;
    rc = sl_pg_start_position(src, s->side, s->repl, resume, &st, err);
    if (!rc)
        sl_emit_positioned(s->out); /* the slot holds every change from here on */
    s->start_lsn = st.lsn;
    s->commit_end = s->received = s->start_lsn;
    s->snapshot_only = src->conf.startup == SL_PG_START_SNAPSHOT;
    if (!rc && !resume && !st.want_snapshot)
        rc = sl_boundary_first(&s->boundary, (sl_pos){s->start_lsn, 0, 0}, err);
    if (!rc && st.want_snapshot) {
        rc = sl_pg_snapshot_open(src, s->side, st.snap_state, s->start_lsn, st.resnapshot, !resume, &s->boundary, s->out,
                                 &s->snap, err);
        if (!rc) {
            /* rows of snapshotted tables carry the catalog's schema; a
             * Relation message of the same shape maps onto it */
            for (uint32_t i = 0; i < s->snap->snap.ntables && !rc; i++) {
                const sl_table_schema **slot = latest_slot(s, s->snap->snap.tables[i].schema->qualified);
                if (!slot)
                    rc = sl_errf(err, SL_ERUNTIME, "out of memory");
                else if (!*slot)
                    *slot = s->snap->snap.tables[i].schema;
            }
        }
    }
    free(st.snap_state);
    if (!rc && src->env.follow_until) {
        if (strcmp(src->env.follow_until, "now") == 0)
            rc = sl_pg_current_lsn(s->side, &s->until, err);
        else if (sl_pg_lsn_parse(src->env.follow_until, &s->until))
            rc = sl_errf(err, SL_ECONFIG, "--follow-until: '%s' is not 'now' or an LSN like 0/16B3748",
                         src->env.follow_until);
        if (!rc) {
            char l[32];
            s->have_until = 1;
            lsn_text(s->until, l, sizeof l);
            sl_info("following the WAL until %s", l);
        }
    }
    return rc;
}

static int finished(stream *s)
{
    if (s->in_tx)
        return 0;
    if (s->snap && !sl_snapshot_complete(&s->snap->snap))
        return 0;
    if (s->snapshot_only)
        return s->snap != NULL;
    return s->have_until && s->commit_end >= s->until;
}

/* Idle: confirm what the sink committed, keep the server talking, and
 * move between-transaction progress along. */
static int idle_duties(stream *s, sl_err *err)
{
    int64_t now = sl_mono_ms();
    pthread_mutex_lock(&s->src->ack_mu);
    uint64_t acked = s->src->acked_lsn;
    pthread_mutex_unlock(&s->src->ack_mu);
    /* waiting for a position (chunks to merge, the migrate end): ask the
     * server for a keepalive, which carries its decoding position */
    int want_pos = !s->in_tx && ((s->snap && sl_snapshot_waiting(&s->snap->snap)) || s->have_until);
    int rc = 0;
    if (!s->in_tx && s->idle_lsn > s->commit_end && now - s->last_idle_commit_ms >= 1000) {
        s->last_idle_commit_ms = now;
        rc = stand_at(s, s->idle_lsn, err);
    }
    if (rc)
        return rc;
    if (acked != s->reported_flush || now - s->last_status_ms >= s->src->conf.status_ms ||
        (want_pos && now - s->last_poll_ms >= 100)) {
        if (want_pos)
            s->last_poll_ms = now;
        rc = send_status(s, want_pos, err);
    }
    if (!rc && s->src->conf.heartbeat_ms > 0 && now - s->last_heartbeat_ms >= s->src->conf.heartbeat_ms) {
        s->last_heartbeat_ms = now;
        /* a WAL record of our own, so the slot moves even where nothing is written */
        PGresult *res = PQexec(s->side, "SELECT pg_logical_emit_message(false, 'sluice-heartbeat', '')");
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
            sl_debug("heartbeat message: %s", PQresultErrorMessage(res));
        PQclear(res);
    }
    return rc;
}

static int on_keepalive(stream *s, const uint8_t *msg, size_t len, sl_err *err)
{
    sl_pgo_reader r;
    sl_pgo_init(&r, msg, len);
    uint64_t wal_end = sl_pgo_u64(&r);
    sl_pgo_u64(&r);
    int reply = sl_pgo_u8(&r);
    if (r.bad)
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "malformed keepalive");
    if (wal_end > s->received)
        s->received = wal_end;
    /* the walsender sent everything up to wal_end: outside a transaction
     * all of it has been handed over */
    if (!s->in_tx)
        sl_emit_idle(s->out);
    int rc = 0;
    if (!s->in_tx && wal_end > s->commit_end) {
        int64_t now = sl_mono_ms();
        int needed = (s->snap && sl_snapshot_waiting(&s->snap->snap)) || (s->have_until && wal_end >= s->until);
        /* an empty boundary at W moves the checkpoint (and so the slot) */
        /* at most one a second; a later idle moment takes the rest */
        s->idle_lsn = wal_end;
        if (needed || now - s->last_idle_commit_ms >= 1000) {
            s->last_idle_commit_ms = now;
            rc = stand_at(s, wal_end, err);
        }
    }
    if (!rc && reply)
        rc = send_status(s, 0, err);
    return rc;
}

/* After a lost stream: wait (up to connect.timeout, at least 30 s) until
 * the server takes connections again, so that the restart from the last
 * checkpoint that follows finds it (a server restart takes seconds). */
static void await_server(const sl_pg_conf *c)
{
    char port[16];
    snprintf(port, sizeof port, "%u", c->port);
    const char *keys[] = {"host", "port", "dbname", "connect_timeout", NULL};
    const char *vals[] = {c->host, port, c->dbname, "2", NULL};
    int64_t limit = c->connect_timeout_ms > 30000 ? c->connect_timeout_ms : 30000;
    /* a stop ends the wait: the runtime takes a stop while recovering
     * for a clean one */
    for (int64_t until = sl_mono_ms() + limit; sl_mono_ms() < until && !sl_live_stopped(c->stop);) {
        if (PQpingParams(keys, vals, 0) == PQPING_OK || sl_live_sleep(c->stop, 500))
            return;
    }
}

/* The publication exists now (asked on the side connection). */
static int publication_exists(stream *s)
{
    const char *params[] = {s->src->pub_name};
    PGresult *res;
    sl_err ignore;
    if (sl_pg_exec_params(s->side, "SELECT 1 FROM pg_publication WHERE pubname = $1", 1, params, &res, &ignore))
        return 1; /* cannot tell: keep the likelier explanation */
    int n = PQntuples(res);
    PQclear(res);
    return n > 0;
}

static void one_line(char *msg)
{
    for (char *c = msg; *c; c++)
        if (*c == '\n')
            *c = ' ';
    size_t n = strlen(msg);
    while (n && msg[n - 1] == ' ')
        msg[--n] = 0;
}

static int lost(stream *s, sl_err *err)
{
    char m[512], l[32];
    lsn_text(s->commit_end, l, sizeof l);
    sl_pg_rx_settle(&s->rx);
    PGresult *res = PQgetResult(s->repl);
    const char *why = res && *PQresultErrorMessage(res) ? PQresultErrorMessage(res) : sl_pg_errmsg(s->repl, m, sizeof m);
    if (!*why)
        why = "the server ended the replication stream";
    int rc;
    if (strcmp(sl_pg_sqlstate(res), SL_PG_UNDEFINED_OBJECT) == 0 && publication_exists(s)) {
        /* pgoutput reads the publication as of the WAL it decodes: a slot
         * that starts before the publication existed can never stream it */
        rc = sl_errf(err, SL_ECONFIG,
                     SL_LOG_PREFIX "replication slot '%s' starts (at %s) before publication '%s' existed, "
                     "so pgoutput cannot stream it (%.200s); the publication must be older than the slot: "
                     "use a new slot.name (or drop this one: SELECT pg_drop_replication_slot('%s')) and start "
                     "with scan.startup.mode initial",
                     s->src->slot_name, l, s->src->pub_name, why, s->src->slot_name);
    } else if (strcmp(sl_pg_sqlstate(res), SL_PG_UNDEFINED_OBJECT) == 0) {
        rc = sl_errf(err, SL_ECONFIG, SL_LOG_PREFIX "publication '%s' of slot %s is gone (%.200s)",
                     s->src->pub_name, s->src->slot_name, why);
        sl_err_fix(err, SL_ECONFIG,
                   "it was dropped while the pipeline ran; create it again (CREATE PUBLICATION \"%s\" FOR TABLE "
                   "...) before the slot's position is needed, or start over with a new slot.name and "
                   "scan.startup.mode initial",
                   s->src->pub_name);
    } else {
        rc = sl_errf(err, SL_ERETRY, SL_LOG_PREFIX "WAL stream of slot %s lost after %s: %s", s->src->slot_name, l,
                     why);
    }
    PQclear(res);
    one_line(err->msg);
    if (rc == SL_ERETRY)
        await_server(&s->src->conf);
    return rc;
}

int sl_pg_stream(sl_pg_source *src, const char *resume, sl_emitter *out, sl_err *err)
{
    stream s;
    memset(&s, 0, sizeof s);
    s.src = src;
    s.out = out;
    sl_pg_spills_init(&s.spills);
    s.boundary = (sl_boundary){.out = out, .token = lsn_token, .source = SL_LOG_COMPONENT};
    int rc = grow_scratch(&s, 64) ? sl_errf(err, SL_ERUNTIME, "out of memory") : 0;
    if (!rc)
        rc = setup(&s, resume, err);
    if (!rc && !finished(&s))
        rc = sl_pg_start_replication(src, s.repl, s.start_lsn, err);
    if (!rc && s.repl)
        sl_pg_rx_init(&s.rx, s.repl);
    s.last_status_ms = s.last_heartbeat_ms = s.last_idle_commit_ms = sl_mono_ms();
    unsigned since_duties = 0;
    while (!rc && !sl_emit_should_stop(out)) {
        if (s.snap && (rc = sl_pg_snapshot_failed(s.snap, err)))
            break;
        if (finished(&s)) {
            s.ended = 1;
            break;
        }
        if (s.snap && s.snap->exporter && sl_snapshot_complete(&s.snap->snap))
            sl_pg_snapshot_release_exporter(s.snap);
        char *buf = NULL;
        int n = sl_pg_rx_get(&s.rx, &buf);
        if (n > 0) {
            const uint8_t *m = (const uint8_t *)buf;
            if (m[0] == 'w' && n >= 25) {
                uint64_t start = 0, end = 0;
                for (int i = 0; i < 8; i++) {
                    start = start << 8 | m[1 + i];
                    end = end << 8 | m[9 + i];
                }
                if (end > s.received)
                    s.received = end;
                rc = on_xlogdata(&s, m + 25, (size_t)n - 25, start, err);
            } else if (m[0] == 'k') {
                rc = on_keepalive(&s, m + 1, (size_t)n - 1, err);
            }
            PQfreemem(buf);
            if (!rc && ++since_duties >= 4096) {
                since_duties = 0;
                rc = idle_duties(&s, err);
            }
            continue;
        }
        if (n == 0) {
            since_duties = 0;
            rc = idle_duties(&s, err);
            if (!rc && sl_pg_rx_fill(&s.rx, 100))
                rc = sl_emit_should_stop(out) ? 0 : lost(&s, err);
            continue;
        }
        if (sl_emit_should_stop(out))
            break;
        rc = lost(&s, err);
    }
    if (!rc && s.ended) {
        char l[32];
        lsn_text(s.commit_end, l, sizeof l);
        sl_info("reached the end position (%s); finishing", l);
        if (sl_emit_end(out))
            rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "pipeline closed");
        if (src->env.follow_until && !src->conf.slot_temporary && src->conf.startup != SL_PG_START_SNAPSHOT)
            sl_info("replication slot %s stays and holds WAL from here on; drop it with SELECT "
                    "pg_drop_replication_slot('%s') if no later run resumes this pipeline",
                    src->slot_name, src->slot_name);
    }
    if (rc && rc != SL_ECONFIG && sl_emit_should_stop(out)) {
        /* a stop during an outage: nothing past the last checkpoint was
         * handed over, so this is a clean stop, not a failure */
        sl_info("stopped while the server was unavailable (%s)", err->msg);
        rc = 0;
    }
    /* a final status update: confirm the last committed checkpoint */
    if (s.repl && PQstatus(s.repl) == CONNECTION_OK && !s.ended) {
        sl_err ignore;
        send_status(&s, 0, &ignore);
    }
    if (s.snap)
        sl_pg_snapshot_free(s.snap);
    sl_pg_set_live(src, NULL);
    if (s.repl)
        PQfinish(s.repl);
    if (s.side)
        PQfinish(s.side);
    sl_pg_spills_free(&s.spills);
    free(s.rels);
    free(s.latest);
    free(s.cols_a);
    free(s.cols_b);
    free(s.relcols);
    return rc;
}
