/* mysql_stream.c — the binlog reader of the mysql source.
 *
 * libmariadb's replication API frames the stream and checks checksums; the
 * events themselves (ROTATE, GTID, QUERY, TABLE_MAP, ROWS, XID) are decoded
 * here and in binlog_decode from the raw bytes, because the library's own
 * decoders are wrong for CHAR/ENUM and ROTATE. Schemas come from TABLE_MAP
 * metadata (binlog_row_metadata=FULL): a TABLE_MAP whose shape differs from
 * the last one seen for the table becomes a schema-change event before the
 * first row of the new shape. One function handles each event
 * (handle_event), the events inside a MySQL 8 compressed transaction
 * (TRANSACTION_PAYLOAD_EVENT, inflated by payload_event.c) included.
 *
 * Positions: a checkpoint token is the (file, pos) just after a commit, so a
 * resume starts at the next transaction. Within a run the reader remembers
 * the position of the last event it handed over; after a reconnect it
 * re-reads from the last commit and skips what was already emitted, so a
 * transaction cut by a lost connection is neither lost nor repeated.
 */
#define SL_LOG_COMPONENT "mysql source"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <inttypes.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <errmsg.h>
#include <mariadb_rpl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <zlib.h>

#include "../../core/log.h"
#include "../../snapshot/boundary.h"
#include "binlog_decode.h"
#include "mysql_snapshot.h"
#include "mysql_source.h"
#include "xa_hold.h"

enum { HDR = 19 };

typedef struct table_entry {
    uint64_t table_id;
    const sl_table_schema *decode; /* as this TABLE_MAP describes it: decodes rows */
    const sl_table_schema *schema; /* the version events carry (owned by the cache) */
    uint8_t *tm_raw;               /* raw TABLE_MAP body, to skip re-parsing */
    size_t tm_len;
    int captured;
} table_entry;

typedef struct stream {
    sl_mysql_source *src;
    sl_emitter *out;
    MYSQL *conn;
    MARIADB_RPL *rpl;
    sl_mysql_pos commit;   /* after the last committed transaction */
    sl_pos last_emitted;   /* last event handed to the emitter */
    int have_emitted;
    char file[256];        /* current binlog file */
    uint64_t file_seq;
    uint32_t server_id;    /* of the server we read */
    sl_mysql_server server; /* that wrote the binlog file (its FORMAT_DESCRIPTION) */
    int checksum;          /* events end in a CRC32 (binlog_checksum != NONE) */
    /* current transaction */
    int in_tx, standalone;
    char gtid[128];        /* uuid:tag:gno at most 90 */
    sl_txinfo *tx;         /* in the current batch's arena */
    sl_batch *tx_batch;    /* batch tx was allocated in */
    uint64_t tx_batch_seq; /* ... and its sequence number: a freed batch's address is reused */
    uint32_t thread_id;
    /* table_id -> entry, open addressing */
    table_entry *tables;
    size_t ntables, cap;
    /* db.table -> latest schema, to detect changes across table ids */
    const sl_table_schema **latest;
    size_t nlatest, latest_cap;
    sl_mysql_decode_opts dopts;
    /* CREATE / ALTER TABLE statements read while the binlog already went
     * on past them (the catalog may hold a later shape): each one's text
     * waits for the table's next shape from TABLE_MAP */
    struct pending_ddl {
        char *table, *ddl; /* qualified name, statement */
        int kind;
        uint32_t start;    /* the statement's QUERY event (source.pos) */
    } *pending;
    size_t npending;
    sl_buf scratch;        /* inflated payload of the last compressed event */
    sl_mysql_payload_reader payload; /* MySQL 8 compressed transactions */
    MYSQL *meta;           /* for catalog questions the binlog cannot answer, opened when first needed */
    int64_t skip_until_ts; /* timestamp startup mode: skip older transactions */
    int skipping_tx;
    sl_mysql_snap *snap;   /* snapshot in progress, or NULL */
    sl_boundary boundary;  /* how transaction ends meet the snapshot */
    int snapshot_only;     /* scan.startup.mode snapshot: stop when it is done */
    int resnapshot;        /* the checkpoint's binlog is gone: every table is read anew */
    int have_until;        /* migrate: stop once past this position */
    sl_pos until;
    int ended;
    /* prepared XA transactions until their outcome (xa_hold.h); after a
     * restart the binlog is read from the earliest one still waiting
     * (commit.xa_file / xa_pos) up to the checkpoint (commit.file / pos)
     * only to take them back: xa_recovering */
    sl_xa_hold xa;
    int xa_recovering;
    sl_pos xa_resume;      /* while recovering: the checkpoint's position */
} stream;

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static table_entry *table_slot(stream *s, uint64_t id)
{
    if (s->ntables * 2 >= s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 64;
        table_entry *nt = calloc(ncap, sizeof *nt);
        if (!nt)
            return NULL;
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->tables[i].schema && !s->tables[i].tm_raw)
                continue;
            size_t h = (size_t)(s->tables[i].table_id * 0x9E3779B97F4A7C15ULL) & (ncap - 1);
            while (nt[h].tm_raw)
                h = (h + 1) & (ncap - 1);
            nt[h] = s->tables[i];
        }
        free(s->tables);
        s->tables = nt;
        s->cap = ncap;
    }
    size_t h = (size_t)(id * 0x9E3779B97F4A7C15ULL) & (s->cap - 1);
    while (s->tables[h].tm_raw && s->tables[h].table_id != id)
        h = (h + 1) & (s->cap - 1);
    return &s->tables[h];
}

static table_entry *table_find(stream *s, uint64_t id)
{
    if (!s->cap)
        return NULL;
    size_t h = (size_t)(id * 0x9E3779B97F4A7C15ULL) & (s->cap - 1);
    while (s->tables[h].tm_raw) {
        if (s->tables[h].table_id == id)
            return &s->tables[h];
        h = (h + 1) & (s->cap - 1);
    }
    return NULL;
}

static const sl_table_schema **latest_slot(stream *s, const sl_table_schema *sc)
{
    for (size_t i = 0; i < s->nlatest; i++)
        if (strcmp(s->latest[i]->qualified, sc->qualified) == 0)
            return &s->latest[i];
    if (s->nlatest == s->latest_cap) {
        size_t ncap = s->latest_cap ? s->latest_cap * 2 : 32;
        const sl_table_schema **n = realloc(s->latest, ncap * sizeof *n);
        if (!n)
            return NULL;
        s->latest = n;
        s->latest_cap = ncap;
    }
    s->latest[s->nlatest] = NULL;
    return &s->latest[s->nlatest++];
}


/* The transaction info lives in the arena of the batch its first event went
 * to; a transaction spilling into a new batch gets a copy there. A batch is
 * known by its sequence number, not its address: once a batch is handed
 * over and freed, the next one can be allocated at the same address. */
static const sl_txinfo *tx_info(stream *s, sl_batch *b, uint32_t ts)
{
    if (s->tx && s->tx_batch == b && s->tx_batch_seq == b->seq) {
        if (!s->tx->ts_ms && ts)
            s->tx->ts_ms = (int64_t)ts * 1000; /* a schema event opened it */
        return s->tx;
    }
    sl_txinfo *t = sl_arena_alloc(&b->arena, sizeof *t);
    if (!t)
        return NULL;
    memset(t, 0, sizeof *t);
    t->file = sl_arena_strdup(&b->arena, s->file);
    t->gtid = s->gtid[0] ? sl_arena_strdup(&b->arena, s->gtid) : NULL;
    t->server_id = s->server_id;
    t->thread_id = s->thread_id;
    t->ts_ms = (int64_t)ts * 1000;
    t->mariadb = (uint8_t)(s->server.mariadb != 0);
    s->tx = t;
    s->tx_batch = b;
    s->tx_batch_seq = b->seq;
    return t;
}

static void begin_tx(stream *s)
{
    s->in_tx = 1;
    s->tx = NULL;
    s->tx_batch = NULL;
}

static int end_tx(stream *s, uint32_t next_pos, sl_err *err)
{
    s->in_tx = 0;
    s->standalone = 0;
    s->tx = NULL;
    s->tx_batch = NULL;
    snprintf(s->commit.file, sizeof s->commit.file, "%s", s->file);
    s->commit.pos = next_pos;
    snprintf(s->commit.gtid, sizeof s->commit.gtid, "%s", s->gtid);
    /* where a restart must read from to take back what still waits */
    const sl_xa_txn *xa = s->xa.n ? sl_xa_earliest(&s->xa) : NULL;
    if (xa)
        snprintf(s->commit.xa_file, sizeof s->commit.xa_file, "%s", xa->file);
    else
        s->commit.xa_file[0] = 0;
    s->commit.xa_pos = xa ? xa->pos : 0;
    if (s->skipping_tx) {
        s->skipping_tx = 0;
    }
    return sl_boundary_commit(&s->boundary, (sl_pos){s->file_seq, next_pos, 0}, err);
}

/* Between transactions at (file, pos): lets waiting snapshot chunks out. */
static int between(stream *s, uint32_t next_pos, sl_err *err)
{
    if (s->in_tx || next_pos == 0 || s->xa_recovering)
        return 0;
    return sl_boundary_between(&s->boundary, (sl_pos){s->file_seq, next_pos, 0}, err);
}

/* The checkpoint token of a boundary at pos in the current binlog file,
 * after the last committed GTID. */
static int pos_token(void *ctx, sl_pos pos, char *buf, size_t len)
{
    stream *s = ctx;
    sl_mysql_pos cur = s->commit;
    snprintf(cur.file, sizeof cur.file, "%s", s->file);
    cur.pos = pos.lo;
    return sl_mysql_pos_format(&cur, buf, len);
}

static int finished(stream *s, uint32_t next_pos)
{
    if (s->xa_recovering)
        return 0;
    if (s->snap && !sl_snapshot_complete(&s->snap->snap))
        return 0;
    if (s->snapshot_only)
        return s->snap != NULL;
    if (!s->have_until || s->in_tx)
        return 0;
    /* without an event position, the last commit's: in its own file, which
     * a ROTATE has already left behind (the old file's offset in the new
     * file's number once ended runs early) */
    sl_pos p = next_pos ? (sl_pos){s->file_seq, next_pos, 0}
                        : (sl_pos){sl_mysql_file_seq(s->commit.file), s->commit.pos, 0};
    return sl_pos_cmp(p, s->until) >= 0;
}

static int on_rotate(stream *s, const uint8_t *body, size_t len)
{
    if (len < 8)
        return -1;
    uint64_t pos = rd64(body);
    size_t n = len - 8;
    if (n >= sizeof s->file)
        n = sizeof s->file - 1;
    memcpy(s->file, body + 8, n);
    s->file[n] = 0;
    s->file_seq = sl_mysql_file_seq(s->file);
    (void)pos;
    sl_debug("now reading %s", s->file);
    return 0;
}

/* Records what table id stands for until its next TABLE_MAP: the raw body
 * (to skip re-parsing an identical one) and the schemas rows decode with.
 * A table not captured has no schemas: its rows are skipped, so a TABLE_MAP
 * sluice cannot parse (a type it does not decode) does not stop the
 * pipeline unless the table is captured. */
static int remember_table(stream *s, table_entry *te, uint64_t id, const uint8_t *body, size_t len,
                          const sl_table_schema *decode, const sl_table_schema *schema, int captured, sl_err *err)
{
    if (!te) {
        te = table_slot(s, id);
        if (!te)
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        s->ntables++;
    }
    free(te->tm_raw);
    te->table_id = id;
    te->tm_raw = malloc(len);
    if (!te->tm_raw)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    memcpy(te->tm_raw, body, len);
    te->tm_len = len;
    te->decode = decode;
    te->schema = schema;
    te->captured = captured;
    return 0;
}

/* FORMAT_DESCRIPTION: binlog version (2 bytes), then the 50-byte server
 * version of the server that wrote this binlog file */
static void on_format_description(stream *s, const uint8_t *body, size_t len)
{
    if (len < 2 + 50)
        return;
    sl_mysql_server_parse((const char *)body + 2, 50, &s->server);
    sl_debug("%s was written by %s %u", s->file, s->server.mariadb ? "MariaDB" : "MySQL",
             s->server.version);
}

/* MariaDB's INET6, UUID and INET4 look like BINARY(16)/BINARY(4) in
 * TABLE_MAP; only the catalog knows better. Asked once per new shape of a
 * captured table that has such columns, on a connection of its own (the
 * binlog connection is streaming). */
static int mark_mariadb_types(stream *s, sl_table_schema *sc, sl_err *err)
{
    int any = 0;
    for (int i = 0; i < sc->ncols; i++)
        any |= sl_mysql_maybe_fixed_binary_type(&sc->cols[i]);
    if (!any || !s->server.mariadb)
        return 0;
    if (!s->meta && sl_mysql_connect(&s->src->conf, &s->meta, err))
        return sl_err_prefix(err, SL_ERUNTIME, SL_LOG_PREFIX "reading the column types of %s: ", sc->qualified);
    char edb[520], etb[520], sql[1300];
    mysql_real_escape_string(s->meta, edb, sc->db, strlen(sc->db) > 250 ? 250 : strlen(sc->db));
    mysql_real_escape_string(s->meta, etb, sc->table, strlen(sc->table) > 250 ? 250 : strlen(sc->table));
    snprintf(sql, sizeof sql,
             "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '%s' AND "
             "TABLE_NAME = '%s' AND DATA_TYPE IN ('inet6', 'uuid', 'inet4')",
             edb, etb);
    MYSQL_RES *res;
    if (mysql_query(s->meta, sql) || !(res = mysql_store_result(s->meta))) {
        int rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "reading the column types of %s: %s", sc->qualified,
                         mysql_error(s->meta));
        mysql_close(s->meta);
        s->meta = NULL;
        return rc;
    }
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)))
        for (int i = 0; i < sc->ncols; i++)
            if (row[0] && row[1] && strcmp(sc->cols[i].name, row[0]) == 0)
                sl_mysql_mark_fixed_binary_type(&sc->cols[i], row[1]);
    mysql_free_result(res);
    return 0;
}

/* the waiting statement of table q (removed from the list; the caller
 * frees it), or one with table NULL */
static struct pending_ddl take_pending(stream *s, const char *q)
{
    struct pending_ddl none = {NULL, NULL, 0, 0};
    for (size_t i = 0; i < s->npending; i++)
        if (strcmp(s->pending[i].table, q) == 0) {
            struct pending_ddl p = s->pending[i];
            s->pending[i] = s->pending[--s->npending];
            return p;
        }
    return none;
}

/* q's statement waits for its TABLE_MAP; a later one replaces it */
static int add_pending(stream *s, const char *q, const char *ddl, int kind, uint32_t start)
{
    struct pending_ddl old = take_pending(s, q);
    free(old.table);
    free(old.ddl);
    struct pending_ddl *n = realloc(s->pending, (s->npending + 1) * sizeof *n);
    if (!n)
        return -1;
    s->pending = n;
    n[s->npending] = (struct pending_ddl){strdup(q), strdup(ddl), kind, start};
    if (!n[s->npending].table || !n[s->npending].ddl) {
        free(n[s->npending].table);
        free(n[s->npending].ddl);
        return -1;
    }
    s->npending++;
    return 0;
}

/* 1 when the server's binlog ends where this event ends: no statement
 * after it was logged, so the catalog shows the table as it made it */
static int at_binlog_end(stream *s, uint32_t next_pos)
{
    char file[256] = "";
    uint64_t pos = 0;
    sl_err e = {0};
    return !sl_mysql_binlog_end(s->meta, file, sizeof file, &pos, &e) && strcmp(file, s->file) == 0 &&
           pos == next_pos;
}

static int on_table_map(stream *s, const uint8_t *body, size_t len, uint32_t start, sl_err *err)
{
    if (len < 6)
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "short TABLE_MAP event in %s", s->file);
    uint64_t id = (uint64_t)rd32(body) | (uint64_t)body[4] << 32 | (uint64_t)body[5] << 40;
    table_entry *te = table_find(s, id);
    if (te && te->tm_len == len && memcmp(te->tm_raw, body, len) == 0)
        return 0; /* same table, same shape: the common case */
    uint64_t parsed_id;
    sl_table_schema *sc = NULL;
    int rc = sl_mysql_parse_table_map(body, len, &s->server, &parsed_id, &sc, err);
    if (rc) {
        char dbn[256], tbn[256];
        if (!sl_mysql_table_map_names(body, len, dbn, tbn) && !sl_table_filter_match(&s->src->filter, dbn, tbn)) {
            sl_debug("skipping table %s.%s (not captured): %s", dbn, tbn, err->msg);
            return remember_table(s, te, id, body, len, NULL, NULL, 0, err);
        }
        return sl_err_prefix(err, rc, SL_LOG_PREFIX "%s:%" PRIu64 ": ", s->file, s->commit.pos);
    }
    int captured = sl_table_filter_match(&s->src->filter, sc->db, sc->table);
    if (captured && (rc = mark_mariadb_types(s, sc, err))) {
        sl_schema_free(sc);
        return rc;
    }
    if (sl_schema_cache_add(&s->src->schemas, sc)) {
        sl_schema_free(sc);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    if (captured)
        sl_emit_batch(s->out); /* the latest-schema map is shared with snapshot merges */
    const sl_table_schema **latest = latest_slot(s, sc);
    if (!latest)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    const sl_table_schema *use;
    int changed = 0;
    if (*latest && sl_schema_same_shape(*latest, sc)) {
        use = *latest;
    } else {
        sc->version = *latest ? (*latest)->version + 1 : 1;
        changed = 1;
        use = sc;
        *latest = sc;
        if (captured && use->npk == 0)
            sl_warn("table %s has no primary key; its changes are keyed by the whole row",
                    use->qualified);
    }
    if ((rc = remember_table(s, te, id, body, len, sc, use, captured, err)))
        return rc;
    if (changed && captured && !s->skipping_tx) {
        sl_batch *b = sl_emit_batch(s->out);
        sl_event *e = b ? sl_batch_add_event(b, SL_OP_SCHEMA, use) : NULL;
        if (!e)
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        e->tx = tx_info(s, b, 0);
        e->pos = (sl_pos){s->file_seq, 0, 0};
        struct pending_ddl pd = take_pending(s, use->qualified);
        if (pd.ddl) {
            e->ddl = sl_arena_strdup(&b->arena, pd.ddl);
            e->change = (uint8_t)pd.kind;
            e->offset = pd.start;
        }
        free(pd.table);
        free(pd.ddl);
        if (s->snap) /* chunks read before this are in the old shape */
            sl_snapshot_reshape(&s->snap->snap, use, (sl_pos){s->file_seq, start, 0});
        if (s->snap)
            sl_snapshot_take_announce(&s->snap->snap, use);
        sl_info("schema of %s is now version %u (%d columns)", use->qualified, use->version,
                use->ncols);
    }
    return 0;
}

/* Rows at start are numbered from *row on, which is advanced past them:
 * the events inside one compressed transaction share a start. */
static int on_rows(stream *s, int type, const uint8_t *body, size_t len, uint32_t start, uint32_t ts,
                   uint32_t *row_base, sl_err *err)
{
    if (len < 6)
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "short rows event in %s at %u", s->file, start);
    uint64_t id = (uint64_t)rd32(body) | (uint64_t)body[4] << 32 | (uint64_t)body[5] << 40;
    table_entry *te = table_find(s, id);
    if (!te)
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "rows event for unknown table id %" PRIu64 " in %s at %u",
                       id, s->file, start);
    if (!te->captured || s->skipping_tx)
        return 0;
    const sl_table_schema *sc = te->schema;
    sl_mysql_rows it;
    int rc = sl_mysql_rows_open(&it, type, body, len, te->decode, &s->dopts, err);
    if (rc)
        return sl_err_prefix(err, rc, SL_LOG_PREFIX "%s at %s:%u: ", sc->qualified, s->file, start);
    if (it.n_before < sc->ncols || (it.update && it.n_after < sc->ncols))
        return sl_errf(err, SL_ECONFIG,
                       SL_LOG_PREFIX "%s at %s:%u: the row image lacks columns (written with binlog_row_image "
                       "MINIMAL or NOBLOB, perhaps by one session), so the rows cannot be emitted whole; fix: SET "
                       "GLOBAL binlog_row_image = 'FULL'; (sessions that set it themselves must stop doing so), "
                       "then resume",
                       sc->qualified, s->file, start);
    char op = sl_mysql_rows_op(type);
    for (uint32_t row = *row_base;; row++) {
        sl_batch *b = sl_emit_batch(s->out);
        if (!b)
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        sl_value *before = NULL, *after = NULL;
        rc = sl_mysql_rows_next(&it, &b->arena, &before, &after, err);
        if (rc < 0)
            return sl_err_prefix(err, SL_ERUNTIME, SL_LOG_PREFIX "%s at %s:%u row %u: ", sc->qualified, s->file,
                                 start, row);
        if (rc == 0) {
            *row_base = row;
            break;
        }
        sl_pos p = {s->file_seq, start, row};
        if (s->have_emitted && sl_pos_cmp(p, s->last_emitted) <= 0)
            continue; /* already handed over before a reconnect */
        if (s->snap) {
            if (sl_snapshot_take_announce(&s->snap->snap, sc)) {
                sl_event *se = sl_batch_add_event(b, SL_OP_SCHEMA, sc);
                if (!se)
                    return sl_errf(err, SL_ERUNTIME, "out of memory");
                se->tx = tx_info(s, b, ts);
                se->pos = p;
            }
            if (sl_snapshot_touch(&s->snap->snap, sc, p, before, after))
                return sl_errf(err, SL_ERUNTIME, "out of memory");
        }
        sl_event *e = sl_batch_add_event(b, op, sc);
        if (!e)
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        e->before = before;
        e->after = after;
        e->tx = tx_info(s, b, ts);
        e->pos = p;
        e->offset = start;
        e->row = row;
        s->last_emitted = p;
        s->have_emitted = 1;
        if (sl_emit_spill_due(s->out, b) && sl_emit_flush(s->out))
            return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "pipeline closed");
    }
    return 0;
}

/* One identifier, `quoted` or bare, into out (at most 255 bytes); the
 * text after it. NULL if there is none. */
static const char *ident(const char *p, const char *end, char *out)
{
    size_t o = 0;
    if (p < end && *p == '`') {
        for (p++; p < end; p++) {
            if (*p == '`' && p + 1 < end && p[1] == '`')
                p++;
            else if (*p == '`')
                break;
            if (o < 255)
                out[o++] = *p;
        }
        if (p >= end)
            return NULL;
        p++;
    } else {
        while (p < end && (isalnum((unsigned char)*p) || *p == '_' || *p == '$' || (unsigned char)*p >= 0x80)) {
            if (o < 255)
                out[o++] = *p;
            p++;
        }
    }
    out[o] = 0;
    return o ? p : NULL;
}

static const char *skip_space(const char *p, const char *end)
{
    for (;;) {
        while (p < end && isspace((unsigned char)*p))
            p++;
        if (end - p >= 2 && p[0] == '/' && p[1] == '*') {
            const char *c = memmem(p + 2, (size_t)(end - p - 2), "*/", 2);
            p = c ? c + 2 : end;
            continue;
        }
        return p;
    }
}

/* "TRUNCATE [TABLE] [db.]name": 1 with the table's names (db defaults to
 * the statement's default database). */
static int parse_truncate(const char *q, size_t qlen, const char *defdb, char *db, char *tb)
{
    const char *p = skip_space(q, q + qlen), *end = q + qlen;
    if (!sl_mysql_is_word(p, (size_t)(end - p), "TRUNCATE"))
        return 0;
    p = skip_space(p + 8, end);
    if (sl_mysql_is_word(p, (size_t)(end - p), "TABLE"))
        p = skip_space(p + 5, end);
    char a[256], b[256];
    if (!(p = ident(p, end, a)))
        return 0;
    p = skip_space(p, end);
    if (p < end && *p == '.') {
        if (!ident(skip_space(p + 1, end), end, b))
            return 0;
        snprintf(db, 256, "%s", a);
        snprintf(tb, 256, "%s", b);
    } else {
        if (!defdb[0])
            return 0;
        snprintf(db, 256, "%s", defdb);
        snprintf(tb, 256, "%s", a);
    }
    return 1;
}

/* fresh (a schema read from the catalog) becomes its table's latest; the
 * cache owns it, also on failure (-1: out of memory) */
static int adopt_latest(stream *s, sl_table_schema *fresh)
{
    if (sl_schema_cache_add(&s->src->schemas, fresh)) {
        sl_schema_free(fresh);
        return -1;
    }
    sl_emit_batch(s->out); /* the latest-schema map is shared with snapshot merges */
    const sl_table_schema **slot = latest_slot(s, fresh);
    if (!slot)
        return -1;
    *slot = fresh;
    return 0;
}

/* A statement on table db.tb at start: 0 when the table is not captured
 * or the statement was handed over before a reconnect; else 1, with its
 * position, its qualified name in q and its latest schema (or NULL) */
static int statement_table(stream *s, const char *db, const char *tb, uint32_t start, sl_pos *p, char *q,
                           size_t qsize, const sl_table_schema **latest)
{
    if (!sl_table_filter_match(&s->src->filter, db, tb))
        return 0;
    *p = (sl_pos){s->file_seq, start, 0};
    if (s->have_emitted && sl_pos_cmp(*p, s->last_emitted) <= 0)
        return 0;
    snprintf(q, qsize, "%s.%s", db, tb);
    *latest = NULL;
    for (size_t i = 0; i < s->nlatest && !*latest; i++)
        if (strcmp(s->latest[i]->qualified, q) == 0)
            *latest = s->latest[i];
    return 1;
}

/* TRUNCATE of a captured table: a 't' event (the sinks empty the table)
 * and, while the table is snapshotted, chunks read before it are dropped
 * whole (a per-key touch cannot tell). The schema is the last one seen, or
 * the catalog's for a table this run has not met yet. */
static int on_truncate(stream *s, const char *db, const char *tb, uint32_t start, uint32_t ts, sl_err *err)
{
    sl_pos p;
    char q[520];
    const sl_table_schema *sc;
    if (!statement_table(s, db, tb, start, &p, q, sizeof q, &sc))
        return 0;
    int announce = 0;
    if (!sc) {
        sl_table_schema *fresh = NULL;
        if (!s->meta && sl_mysql_connect(&s->src->conf, &s->meta, err))
            return sl_err_prefix(err, SL_ERUNTIME, SL_LOG_PREFIX "TRUNCATE of %s: ", q);
        int rc = sl_mysql_catalog_schema(s->meta, db, tb, &fresh, err);
        if (rc)
            return rc;
        fresh->version = 1;
        if (adopt_latest(s, fresh))
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        sc = fresh;
        announce = 1;
    }
    sl_batch *b = sl_emit_batch(s->out);
    if (!b)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    if (s->snap && sl_snapshot_take_announce(&s->snap->snap, sc))
        announce = 1;
    if (announce) {
        sl_event *se = sl_batch_add_event(b, SL_OP_SCHEMA, sc);
        if (!se)
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        se->tx = tx_info(s, b, ts);
        se->pos = p;
    }
    if (s->snap)
        sl_snapshot_truncate(&s->snap->snap, sc, p);
    sl_event *e = sl_batch_add_event(b, SL_OP_TRUNCATE, sc);
    if (!e)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    e->tx = tx_info(s, b, ts);
    e->pos = p;
    e->offset = start;
    s->last_emitted = p;
    s->have_emitted = 1;
    sl_info("%s truncated", q);
    return 0;
}

/* Skips the words of seq (each case-insensitively, spaces between) when
 * they come next: the text after them, or NULL */
static const char *skip_words(const char *p, const char *end, const char *const *seq)
{
    for (; *seq; seq++) {
        p = skip_space(p, end);
        size_t n = strlen(*seq);
        if (!sl_mysql_is_word(p, (size_t)(end - p), *seq))
            return NULL;
        p += n;
    }
    return skip_space(p, end);
}

static const char *opt_words(const char *p, const char *end, const char *const *seq)
{
    const char *q = skip_words(p, end, seq);
    return q ? q : skip_space(p, end);
}

/* "[db.]name" into db, tb (db defaults to defdb): the text after it, or NULL */
static const char *table_name(const char *p, const char *end, const char *defdb, char *db, char *tb)
{
    char a[256], b[256];
    if (!(p = ident(skip_space(p, end), end, a)))
        return NULL;
    const char *q = skip_space(p, end);
    if (q < end && *q == '.') {
        if (!(p = ident(skip_space(q + 1, end), end, b)))
            return NULL;
        snprintf(db, 256, "%s", a);
        snprintf(tb, 256, "%s", b);
        return p;
    }
    if (!defdb[0])
        return NULL;
    snprintf(db, 256, "%s", defdb);
    snprintf(tb, 256, "%s", a);
    return p;
}

/* The table statements Debezium reports as schema changes: CREATE TABLE,
 * ALTER TABLE, DROP TABLE (each table of the list, *more says another
 * follows at the returned text). SL_CHANGE_NONE for anything else
 * (temporary tables, views, indexes, databases). */
static int ddl_kind(const char *p, const char *end, const char *defdb, char *db, char *tb, int *if_exists,
                    const char **rest)
{
    static const char *const create[] = {"CREATE", NULL}, *const alter[] = {"ALTER", NULL},
                             *const drop[] = {"DROP", NULL}, *const table[] = {"TABLE", NULL},
                             *const or_replace[] = {"OR", "REPLACE", NULL}, *const online[] = {"ONLINE", NULL},
                             *const ignore[] = {"IGNORE", NULL}, *const if_not[] = {"IF", "NOT", "EXISTS", NULL},
                             *const if_ex[] = {"IF", "EXISTS", NULL};
    const char *q;
    int kind;
    *if_exists = 0;
    if ((q = skip_words(p, end, create))) {
        kind = SL_CHANGE_CREATE;
        q = opt_words(q, end, or_replace);
        if (!(q = skip_words(q, end, table)))
            return SL_CHANGE_NONE;
        q = opt_words(q, end, if_not);
    } else if ((q = skip_words(p, end, alter))) {
        kind = SL_CHANGE_ALTER;
        q = opt_words(opt_words(q, end, online), end, ignore);
        if (!(q = skip_words(q, end, table)))
            return SL_CHANGE_NONE;
        q = opt_words(q, end, if_ex);
    } else if ((q = skip_words(p, end, drop))) {
        kind = SL_CHANGE_DROP;
        if (!(q = skip_words(q, end, table)))
            return SL_CHANGE_NONE;
        const char *r = skip_words(q, end, if_ex);
        if (r) {
            *if_exists = 1;
            q = r;
        }
    } else {
        return SL_CHANGE_NONE;
    }
    if (!(q = table_name(q, end, defdb, db, tb)))
        return SL_CHANGE_NONE;
    *rest = q;
    return kind;
}

/* "DROP TABLE [IF EXISTS] `db`.`tb`", as Debezium writes each table of a
 * DROP TABLE statement */
static void drop_text(char *q, size_t qsize, const char *db, const char *tb, int if_exists)
{
    size_t o = (size_t)snprintf(q, qsize, "DROP TABLE %s", if_exists ? "IF EXISTS " : "");
    const char *parts[2] = {db, tb};
    for (int k = 0; k < 2; k++) {
        q[o++] = '`';
        for (const char *c = parts[k]; *c && o + 4 < qsize; c++) {
            if (*c == '`')
                q[o++] = '`';
            q[o++] = *c;
        }
        q[o++] = '`';
        if (!k)
            q[o++] = '.';
    }
    q[o] = 0;
}

/* A CREATE / ALTER / DROP TABLE of a captured table becomes a schema-change
 * event at its QUERY event, carrying the statement (Debezium's ddl) and,
 * for CREATE and ALTER, the table as the catalog shows it now (with what
 * only the catalog knows: defaults, comments, auto-increment, charsets).
 * That shape becomes the table's latest, so the rows after it (whose
 * TABLE_MAP shows the same shape) announce nothing more. The catalog is
 * believed only while the server's binlog ends at this statement (read
 * after the catalog): otherwise a later statement may already have changed
 * the table, and the statement's text waits for the table's next shape
 * from TABLE_MAP (pending), as does a statement whose table the catalog no
 * longer has. A DROP of a table this run never saw is not reported. */
static int on_ddl(stream *s, int kind, const char *db, const char *tb, const char *ddl, uint32_t start,
                  uint32_t next_pos, uint32_t ts, sl_err *err)
{
    sl_pos p;
    char q[520];
    const sl_table_schema *old;
    if (!statement_table(s, db, tb, start, &p, q, sizeof q, &old))
        return 0;
    const sl_table_schema *use = old;
    if (kind != SL_CHANGE_DROP) {
        sl_table_schema *fresh = NULL;
        if (!s->meta && sl_mysql_connect(&s->src->conf, &s->meta, err))
            return sl_err_prefix(err, SL_ERUNTIME, SL_LOG_PREFIX "reading the columns of %s: ", q);
        sl_err cerr = {0};
        int rc = sl_mysql_catalog_schema(s->meta, db, tb, &fresh, &cerr);
        if (rc || !at_binlog_end(s, next_pos)) {
            sl_debug("%s changed at %s:%u; its next rows tell the new shape (%s)", q, s->file, start,
                     rc ? cerr.msg : "the binlog went on past the statement");
            sl_schema_free(fresh);
            if (add_pending(s, q, ddl, kind, start))
                return sl_errf(err, SL_ERUNTIME, "out of memory");
            return 0;
        }
        int changed = !old || !sl_schema_same_shape(old, fresh);
        fresh->version = old ? old->version + (changed ? 1 : 0) : 1;
        if (adopt_latest(s, fresh))
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        use = fresh;
        if (changed && s->snap) /* chunks read before this are in the old shape */
            sl_snapshot_reshape(&s->snap->snap, fresh, p);
        if (changed)
            sl_info("schema of %s is now version %u (%d columns)", q, fresh->version, fresh->ncols);
    }
    if (kind == SL_CHANGE_DROP) {
        struct pending_ddl pd = take_pending(s, q);
        free(pd.table);
        free(pd.ddl);
    }
    if (!use)
        return 0;
    sl_batch *b = sl_emit_batch(s->out);
    if (!b)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    if (s->snap)
        sl_snapshot_take_announce(&s->snap->snap, use);
    sl_event *e = sl_batch_add_event(b, SL_OP_SCHEMA, use);
    const sl_txinfo *tx = tx_info(s, b, ts);
    sl_txinfo *dtx = tx ? sl_arena_alloc(&b->arena, sizeof *dtx) : NULL;
    if (!e || !dtx || !(e->ddl = sl_arena_strdup(&b->arena, ddl)))
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    *dtx = *tx;
    dtx->thread_id = 0; /* Debezium: no thread for a statement's schema change */
    e->tx = dtx;
    e->change = (uint8_t)kind;
    e->pos = p;
    e->offset = start;
    s->last_emitted = p;
    s->have_emitted = 1;
    return 0;
}

/* Every table a CREATE / ALTER / DROP TABLE statement names */
static int on_table_ddl(stream *s, const char *sql, size_t len, const char *defdb, uint32_t start,
                        uint32_t next_pos, uint32_t ts, sl_err *err)
{
    const char *end = sql + len, *rest;
    char db[256], tb[256];
    int if_exists, kind = ddl_kind(sql, end, defdb, db, tb, &if_exists, &rest);
    if (kind == SL_CHANGE_NONE)
        return 0;
    if (kind != SL_CHANGE_DROP) {
        char *text = strndup(sql, len);
        if (!text)
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        int rc = on_ddl(s, kind, db, tb, text, start, next_pos, ts, err);
        free(text);
        return rc;
    }
    for (;;) {
        char text[1100]; /* two names of at most 255 bytes, each quote doubled */
        drop_text(text, sizeof text, db, tb, if_exists);
        int rc = on_ddl(s, kind, db, tb, text, start, next_pos, ts, err);
        if (rc)
            return rc;
        rest = skip_space(rest, end);
        if (rest >= end || *rest != ',' || !(rest = table_name(rest + 1, end, defdb, db, tb)))
            return 0;
    }
}

/* a QUERY event's statement (inflated if compressed): 1, 0 when the body
 * is too short to hold one, <0 on error */
static int read_query(stream *s, int compressed, const uint8_t *body, size_t len, uint32_t next_pos,
                      sl_mysql_query *q, sl_err *err)
{
    if (sl_mysql_query_parse(body, len, q))
        return 0;
    if (compressed) {
        int rc = sl_mysql_uncompress(q->raw, q->raw_len, &s->scratch, err);
        if (rc)
            return sl_err_prefix(err, rc, SL_LOG_PREFIX "%s at %u: ", s->file, next_pos);
        sl_mysql_query_classify(q, s->scratch.data, s->scratch.len);
    }
    return 1;
}

static int handle_event(stream *s, int type, const uint8_t *body, size_t blen, uint32_t start, uint32_t next,
                        uint32_t ts, uint32_t *row, sl_err *err);

/* An XA transaction's kept events, delivered now as the transaction its
 * commit (the event at start) ends: the rows take that event's position,
 * told apart by their row index, and its GTID and time. t is freed. */
static int xa_commit(stream *s, sl_xa_txn *t, uint32_t start, uint32_t next, uint32_t ts, sl_err *err)
{
    size_t off = 0, len;
    int type, rc = 0;
    uint32_t kept_ts, row = 0;
    const uint8_t *body;
    /* the group is no longer held (its outcome took it), so these events
     * go through to the decoder */
    while (!rc && sl_xa_next(t, &off, &type, &kept_ts, &body, &len))
        rc = handle_event(s, type, body, len, start, next, ts, &row, err);
    sl_xa_txn_free(t);
    return rc ? rc : end_tx(s, next, err);
}

/* the kept group of events, dropped (a new group began, or it rolled back) */
static void xa_drop_group(stream *s)
{
    sl_xa_txn t = sl_xa_end_group(&s->xa);
    sl_xa_txn_free(&t);
}

/* A GTID event opens a group: MariaDB flags a prepared XA transaction's,
 * whose events are then kept; a group still kept was cut short (never
 * ended by PREPARE or a commit) and is dropped. */
static void xa_group_starts(stream *s, int type, const uint8_t *body, size_t blen, uint32_t start)
{
    if (type == GTID_EVENT && blen >= 13 && (body[12] & SL_MARIADB_GTID_PREPARED_XA))
        sl_xa_begin(&s->xa, s->file, s->file_seq, start);
    else if (s->xa.holding)
        xa_drop_group(s);
}

/* XA START (MySQL writes it; MariaDB flags the GTID instead), XA END, and
 * the XA COMMIT / XA ROLLBACK that decide a prepared transaction */
static int on_xa_statement(stream *s, const sl_mysql_query *q, uint32_t start, uint32_t next_pos, uint32_t ts,
                           sl_err *err)
{
    char xid[SL_XID_TEXT_MAX];
    sl_xa_txn t;
    switch (q->kind) {
    case SL_QUERY_XA_START:
        begin_tx(s);
        sl_xa_begin(&s->xa, s->file, s->file_seq, start);
        return 0;
    case SL_QUERY_XA_END:
        return 0;
    case SL_QUERY_XA_ROLLBACK:
        if (s->xa.holding) {
            xa_drop_group(s);
        } else {
            sl_mysql_xa_statement_xid(q->sql, q->len, xid, sizeof xid);
            if (sl_xa_take(&s->xa, xid, &t)) {
                sl_info("XA ROLLBACK %s at %s:%u: its prepared rows are dropped", xid, s->file, start);
                sl_xa_txn_free(&t);
            }
        }
        return end_tx(s, next_pos, err);
    default: /* XA COMMIT: of the group just read (ONE PHASE) or of a prepared one */
        if (s->xa.holding) {
            t = sl_xa_end_group(&s->xa);
        } else {
            sl_mysql_xa_statement_xid(q->sql, q->len, xid, sizeof xid);
            if (!sl_xa_take(&s->xa, xid, &t)) {
                sl_warn("XA COMMIT %s at %s:%u: its XA PREPARE lies before where this pipeline started reading "
                        "the binlog, so the rows it changed are not delivered; snapshot those tables again to "
                        "have them", xid, s->file, start);
                return end_tx(s, next_pos, err);
            }
        }
        return xa_commit(s, &t, start, next_pos, ts, err);
    }
}

/* XA_PREPARE_LOG_EVENT: the group read since its GTID (or XA START) is a
 * prepared transaction; it waits for its XA COMMIT */
static int on_xa_prepare(stream *s, const uint8_t *body, size_t len, uint32_t start, uint32_t next, uint32_t ts,
                         sl_err *err)
{
    char xid[SL_XID_TEXT_MAX];
    int one_phase = 0;
    if (sl_mysql_xa_prepare_xid(body, len, &one_phase, xid, sizeof xid))
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "malformed XA_PREPARE event in %s at %u", s->file, start);
    if (!s->xa.holding) {
        sl_warn("XA PREPARE %s at %s:%u: the transaction was not recognised as an XA transaction when it began, "
                "so its rows were delivered before its outcome", xid, s->file, start);
    } else if (one_phase) {
        sl_xa_txn t = sl_xa_end_group(&s->xa);
        return xa_commit(s, &t, start, next, ts, err);
    } else if (sl_xa_prepared(&s->xa, xid)) {
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    return end_tx(s, next, err);
}

/* every kind of rows event, MariaDB's and MySQL's */
static int is_rows_event(int type)
{
    switch (type) {
    case WRITE_ROWS_EVENT_V1:
    case UPDATE_ROWS_EVENT_V1:
    case DELETE_ROWS_EVENT_V1:
    case WRITE_ROWS_EVENT:
    case UPDATE_ROWS_EVENT:
    case DELETE_ROWS_EVENT:
    case WRITE_ROWS_COMPRESSED_EVENT_V1:
    case UPDATE_ROWS_COMPRESSED_EVENT_V1:
    case DELETE_ROWS_COMPRESSED_EVENT_V1:
    case WRITE_ROWS_COMPRESSED_EVENT:
    case UPDATE_ROWS_COMPRESSED_EVENT:
    case DELETE_ROWS_COMPRESSED_EVENT:
    case SL_MYSQL_PARTIAL_UPDATE_ROWS_EVENT:
        return 1;
    default:
        return 0;
    }
}

/* the events of a group that may be a prepared XA transaction that are
 * kept for its XA COMMIT: its tables and rows */
static int kept_in_xa(int type)
{
    return type == TABLE_MAP_EVENT || is_rows_event(type);
}

/* After a restart, between the earliest waiting XA transaction and the
 * checkpoint: the events were delivered before, so only prepared groups
 * are kept, and those whose outcome is also in this range forgotten. */
static int recover_event(stream *s, int type, const uint8_t *body, size_t blen, uint32_t start, uint32_t next,
                         sl_err *err)
{
    char xid[SL_XID_TEXT_MAX];
    sl_mysql_query q;
    sl_xa_txn t;
    int one_phase, rc;
    switch (type) {
    case GTID_EVENT:
    case GTID_LOG_EVENT:
    case SL_MYSQL_GTID_TAGGED_LOG_EVENT:
        xa_group_starts(s, type, body, blen, start);
        return 0;
    case QUERY_EVENT:
    case QUERY_COMPRESSED_EVENT:
        if ((rc = read_query(s, type == QUERY_COMPRESSED_EVENT, body, blen, next, &q, err)) <= 0)
            return rc;
        if (q.kind == SL_QUERY_XA_START) {
            sl_xa_begin(&s->xa, s->file, s->file_seq, start);
        } else if (q.kind == SL_QUERY_XA_COMMIT || q.kind == SL_QUERY_XA_ROLLBACK) {
            if (s->xa.holding) {
                xa_drop_group(s);
            } else {
                sl_mysql_xa_statement_xid(q.sql, q.len, xid, sizeof xid);
                if (sl_xa_take(&s->xa, xid, &t))
                    sl_xa_txn_free(&t);
            }
        }
        return 0;
    case XA_PREPARE_LOG_EVENT:
        if (!s->xa.holding)
            return 0;
        if (sl_mysql_xa_prepare_xid(body, blen, &one_phase, xid, sizeof xid) || one_phase)
            xa_drop_group(s);
        else if (sl_xa_prepared(&s->xa, xid))
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        return 0;
    default:
        if (s->xa.holding && kept_in_xa(type) && sl_xa_keep(&s->xa, type, 0, body, blen))
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        return 0;
    }
}

static int on_query(stream *s, int compressed, const uint8_t *body, size_t len, uint32_t start, uint32_t next_pos,
                    uint32_t ts, sl_err *err)
{
    sl_mysql_query q;
    int got = read_query(s, compressed, body, len, next_pos, &q, err);
    if (got <= 0)
        return got;
    s->thread_id = q.thread_id;
    if (q.kind >= SL_QUERY_XA_START)
        return on_xa_statement(s, &q, start, next_pos, ts, err);
    if (q.kind == SL_QUERY_BEGIN) {
        begin_tx(s);
        return 0;
    }
    if (q.kind == SL_QUERY_COMMIT)
        return end_tx(s, next_pos, err);
    char db[256], tb[256], defdb[256];
    snprintf(defdb, sizeof defdb, "%.*s", (int)q.db_len, q.db);
    if (!s->skipping_tx && parse_truncate(q.sql, q.len, defdb, db, tb)) {
        int rc = on_truncate(s, db, tb, start, ts, err);
        if (rc)
            return rc;
    } else if (!s->skipping_tx) {
        int rc = on_table_ddl(s, q.sql, q.len, defdb, start, next_pos, ts, err);
        if (rc)
            return rc;
    }
    /* DDL and other statements: a transaction of their own */
    if (!s->in_tx || s->standalone)
        return end_tx(s, next_pos, err);
    return 0;
}

static int on_gtid_mariadb(stream *s, const uint8_t *body, size_t len)
{
    int standalone;
    if (sl_mysql_gtid_mariadb(body, len, s->server_id, s->gtid, sizeof s->gtid, &standalone))
        return -1;
    begin_tx(s);
    s->standalone = standalone;
    return 0;
}

/* MySQL 8: "uuid:gno", or "uuid:tag:gno" for a tagged GTID (8.3+,
 * GTID_TAGGED_LOG_EVENT); a GTID that cannot be read leaves the
 * transaction without GTID text (the checkpoint's position still holds) */
static void on_gtid_mysql(stream *s, const uint8_t *body, size_t len, int tagged)
{
    begin_tx(s);
    int rc = tagged ? sl_mysql_gtid_tagged_text(body, len, s->gtid, sizeof s->gtid)
                    : sl_mysql_gtid_text(body, len, s->gtid, sizeof s->gtid);
    if (rc) {
        s->gtid[0] = 0;
        sl_warn("unreadable %sGTID event in %s; its transaction has no GTID", tagged ? "tagged " : "", s->file);
    }
}

static void close_conn(stream *s)
{
    sl_mysql_set_live(s->src, NULL);
    if (s->rpl) {
        mariadb_rpl_close(s->rpl);
        s->rpl = NULL;
    }
    if (s->conn) {
        mysql_close(s->conn);
        s->conn = NULL;
    }
}

/* Resolves where to start when no checkpoint exists. */
static int startup_position(stream *s, MYSQL *m, sl_err *err)
{
    const sl_mysql_conf *c = &s->src->conf;
    MYSQL_RES *res;
    MYSQL_ROW row;
    switch (c->startup) {
    case SL_MYSQL_START_SPECIFIC:
        if (c->spec_gtid) {
            s->commit.file[0] = 0;
            s->commit.pos = 4;
            snprintf(s->commit.gtid, sizeof s->commit.gtid, "%s", c->spec_gtid);
        } else {
            snprintf(s->commit.file, sizeof s->commit.file, "%s", c->spec_file);
            s->commit.pos = c->spec_pos;
        }
        return 0;
    case SL_MYSQL_START_EARLIEST:
    case SL_MYSQL_START_TIMESTAMP:
        if (mysql_query(m, "SHOW BINARY LOGS") || !(res = mysql_store_result(m)))
            return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "SHOW BINARY LOGS: %s", mysql_error(m));
        row = mysql_fetch_row(res);
        if (row)
            snprintf(s->commit.file, sizeof s->commit.file, "%s", row[0]);
        mysql_free_result(res);
        if (!row)
            return sl_errf(err, SL_ECONFIG, SL_LOG_PREFIX "the server has no binary logs; enable log_bin");
        s->commit.pos = 4;
        if (c->startup == SL_MYSQL_START_TIMESTAMP)
            s->skip_until_ts = c->start_ts_ms;
        return 0;
    default: {
        int rc = sl_mysql_binlog_end(m, s->commit.file, sizeof s->commit.file, &s->commit.pos, err);
        if (rc == SL_ECONFIG)
            return sl_errf(err, SL_ECONFIG,
                           SL_LOG_PREFIX "binary logging is off on %s:%u; set log_bin=ON (server option "
                           "--log-bin) and restart the server",
                           c->host, c->port);
        return rc;
    }
    }
}

static int open_stream(stream *s, sl_err *err)
{
    const sl_mysql_conf *c = &s->src->conf;
    /* a server that stops sending even heartbeats is taken for gone */
    unsigned rt = (unsigned)((c->heartbeat_ms * 3 + 999) / 1000);
    int rc = sl_mysql_connect_rt(c, rt < 10 ? 10 : rt, &s->conn, err);
    if (rc)
        return rc;
    sl_mysql_set_live(s->src, s->conn);
    char sql[1400];
    char *sid = NULL;
    if (sl_mysql_query_value(s->conn, "SELECT @@server_id", &sid, err))
        return SL_ERUNTIME;
    s->server_id = sid ? (uint32_t)strtoul(sid, NULL, 10) : 0;
    free(sid);
    /* until the stream's FORMAT_DESCRIPTION names the binlog's writer */
    const char *sv = mysql_get_server_info(s->conn);
    if (sv)
        sl_mysql_server_parse(sv, strlen(sv), &s->server);
    /* every event, the artificial ROTATE included, carries the checksum we
     * ask for below; the library only learns that from the first FDE */
    char *ck = NULL;
    if (sl_mysql_query_value(s->conn, "SELECT @@global.binlog_checksum", &ck, err))
        return SL_ERUNTIME;
    s->checksum = ck && strcasecmp(ck, "NONE") != 0;
    free(ck);
    if (s->server_id == c->server_id)
        return sl_errf(err, SL_ECONFIG,
                       SL_LOG_PREFIX "server-id %u is the server's own server_id; choose another value for "
                       "'server-id'",
                       c->server_id);
    int rc2 = sl_mysql_identity_check(s->src, s->conn, err);
    if (!rc2)
        rc2 = sl_mysql_claim_server_id(s->src, s->conn, err);
    if (rc2)
        return rc2;
    /* a bounded run (migrate, snapshot only) must notice its end on an idle
     * server promptly: the heartbeat is what wakes an idle binlog read */
    int64_t hb = c->heartbeat_ms;
    if ((s->have_until || s->snapshot_only) && hb > 200)
        hb = 200;
    snprintf(sql, sizeof sql, "SET @master_heartbeat_period=%lld", (long long)hb * 1000000LL);
    if (mysql_query(s->conn, "SET @master_binlog_checksum=@@global.binlog_checksum") ||
        mysql_query(s->conn, "SET @mariadb_slave_capability=4") || mysql_query(s->conn, sql))
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "preparing the binlog connection: %s", mysql_error(s->conn));
    if (!s->commit.file[0] && s->commit.gtid[0]) {
        char esc[1100];
        mysql_real_escape_string(s->conn, esc, s->commit.gtid, strlen(s->commit.gtid));
        snprintf(sql, sizeof sql, "SET @slave_connect_state='%s'", esc);
        if (mysql_query(s->conn, sql))
            return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s: %s", sql, mysql_error(s->conn));
    }
    s->rpl = mariadb_rpl_init(s->conn);
    if (!s->rpl)
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "cannot initialise replication");
    mariadb_rpl_optionsv(s->rpl, MARIADB_RPL_SERVER_ID, (uint32_t)c->server_id);
    /* recovering prepared XA transactions: from the earliest one, read
     * again whole (what an earlier connection kept is dropped) */
    const char *from = s->xa_recovering ? s->commit.xa_file : s->commit.file;
    uint64_t from_pos = s->xa_recovering ? s->commit.xa_pos : s->commit.pos;
    if (s->xa_recovering)
        sl_xa_free(&s->xa);
    mariadb_rpl_optionsv(s->rpl, MARIADB_RPL_FILENAME, from, strlen(from));
    mariadb_rpl_optionsv(s->rpl, MARIADB_RPL_START, (unsigned long)from_pos);
    mariadb_rpl_optionsv(s->rpl, MARIADB_RPL_FLAGS, (uint32_t)0);
    /* registered, so that the next process with our server-id can see it */
    char tag[300];
    sl_mysql_replica_tag(s->src, tag, sizeof tag);
    mariadb_rpl_optionsv(s->rpl, MARIADB_RPL_HOST, tag);
    mariadb_rpl_optionsv(s->rpl, MARIADB_RPL_PORT, (uint32_t)0);
    if (mariadb_rpl_open(s->rpl))
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "cannot start the binlog stream at %s:%" PRIu64 ": %s",
                       from, from_pos, mysql_error(s->conn));
    snprintf(s->file, sizeof s->file, "%s", from);
    s->file_seq = sl_mysql_file_seq(s->file);
    s->in_tx = 0;
    return 0;
}

/* 1 if the first column of some row of sql's result equals want. */
static int listed(MYSQL *m, const char *sql, const char *want)
{
    if (mysql_query(m, sql))
        return -1;
    MYSQL_RES *res = mysql_store_result(m);
    MYSQL_ROW row;
    int found = 0;
    while (res && (row = mysql_fetch_row(res)))
        found |= row[0] && strcmp(row[0], want) == 0;
    if (res)
        mysql_free_result(res);
    return found;
}

/* Why the server refused the binlog (ER_MASTER_FATAL_ERROR_READING_BINLOG
 * covers several causes under one code): asked to the server itself on a
 * new connection. 'p' = the file to resume from is gone from the binlog
 * index; 'i' = another registered replica uses our server-id (our own
 * registration, "sluice:<pipeline>", is not another); 0 unknown. */
static int refusal_cause(stream *s)
{
    MYSQL *m = NULL;
    sl_err ignore;
    if (sl_mysql_connect(&s->src->conf, &m, &ignore))
        return 0;
    int cause = 0;
    if (s->commit.file[0] && listed(m, "SHOW BINARY LOGS", s->commit.file) == 0)
        cause = 'p';
    if (!cause) {
        char tag[300], holder[300];
        int own;
        sl_mysql_replica_tag(s->src, tag, sizeof tag);
        if (sl_mysql_replica_holder(m, s->src->conf.server_id, tag, holder, sizeof holder, &own, &ignore) > 0)
            cause = 'i';
    }
    mysql_close(m);
    return cause;
}

static int log_lost_error(const stream *s, const char *msg, sl_err *err)
{
    return sl_errf(err, SL_ERUNTIME,
                   SL_LOG_PREFIX "the binlog needed to resume (%s at %" PRIu64 ") is no longer on the server (%s). "
                   "Changes were lost upstream; fix: set scan.on-log-loss: resnapshot to read the captured tables "
                   "anew (the sink's tables are replaced), or move the sink's checkpoint away and start with "
                   "scan.startup.mode: initial; keep binlogs longer (expire_logs_days / binlog_expire_logs_seconds) "
                   "than a pipeline may stay stopped",
                   s->commit.file, s->commit.pos, msg);
}

/* Errors the server sends in the stream that no retry can fix, told apart
 * by their code (mysql_errno) and, under 1236, by asking the server. */
static int fatal_stream_error(stream *s, unsigned code, const char *msg, sl_err *err)
{
    int cause = code == ER_SLAVE_SAME_ID ? 'i' : code == ER_MASTER_FATAL_ERROR_READING_BINLOG ? refusal_cause(s) : 0;
    if (cause == 'i')
        return sl_errf(err, SL_ECONFIG,
                       SL_LOG_PREFIX "another replica is using server-id %u (%s); give this pipeline a "
                       "unique 'server-id'",
                       s->src->conf.server_id, msg);
    if (cause == 'p' && s->src->conf.on_log_loss == SL_ON_LOG_LOSS_RESNAPSHOT)
        /* the restart from the last checkpoint finds the file gone and
         * re-snapshots (setup) */
        return sl_errf(err, SL_ERETRY,
                       SL_LOG_PREFIX "the binlog needed to resume (%s at %" PRIu64 ") is no longer on the "
                       "server (%s); restarting to re-snapshot (scan.on-log-loss: resnapshot)",
                       s->commit.file, s->commit.pos, msg);
    if (cause == 'p')
        return log_lost_error(s, msg, err);
    if (code == ER_MASTER_FATAL_ERROR_READING_BINLOG)
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "the server refused the binlog stream: %s", msg);
    return 0;
}

static void forget_tables(stream *s)
{
    for (size_t i = 0; i < s->cap; i++)
        free(s->tables[i].tm_raw);
    free(s->tables);
    s->tables = NULL;
    s->ntables = s->cap = 0;
    s->nlatest = 0;
}

/* Splits a resume token into the binlog position and the snapshot state. */
static int parse_resume(stream *s, const char *resume, char **snap_state, sl_err *err)
{
    *snap_state = NULL;
    int rc = sl_mysql_pos_parse(resume, &s->commit, err);
    if (rc)
        return rc;
    json_error_t je;
    json_t *root = json_loads(resume, 0, &je);
    json_t *st = root ? json_object_get(root, "snapshot") : NULL;
    if (st)
        *snap_state = json_dumps(st, JSON_COMPACT);
    json_decref(root);
    return 0;
}

/* migrate: "now" is the end of the binlog at start; a position is
 * "file:pos". */
static int resolve_until(stream *s, MYSQL *m, const char *spec, sl_err *err)
{
    char file[256];
    uint64_t pos = 0;
    if (strcmp(spec, "now") == 0) {
        int rc = sl_mysql_binlog_end(m, file, sizeof file, &pos, err);
        if (rc)
            return rc;
    } else {
        const char *colon = strrchr(spec, ':');
        if (!colon || colon == spec || !colon[1])
            return sl_errf(err, SL_ECONFIG, "--follow-until: '%s' is not 'now' or a binlog position file:pos "
                           "(e.g. binlog.000003:1234)", spec);
        snprintf(file, sizeof file, "%.*s", (int)(colon - spec), spec);
        pos = strtoull(colon + 1, NULL, 10);
    }
    s->until = (sl_pos){sl_mysql_file_seq(file), pos, 0};
    s->have_until = 1;
    sl_info("following the binlog until %s:%" PRIu64, file, pos);
    return 0;
}

/* Row images without every column (MINIMAL, NOBLOB) cannot be turned
 * into full rows: refused before reading, naming the fix. A session can
 * still write partial images; on_rows refuses those. */
static int require_full_row_image(MYSQL *m, sl_err *err)
{
    char *v = NULL;
    if (sl_mysql_query_value(m, "SELECT @@GLOBAL.binlog_row_image", &v, err))
        return SL_ERUNTIME;
    int full = !v || strcasecmp(v, "FULL") == 0;
    if (!full)
        sl_errf(err, SL_ECONFIG,
                SL_LOG_PREFIX "binlog_row_image = %s, but sluice needs every column in every row image; fix: SET "
                "GLOBAL binlog_row_image = 'FULL'; and binlog_row_image=FULL in my.cnf [mysqld]",
                v);
    free(v);
    return full ? 0 : SL_ECONFIG;
}

static int setup(stream *s, const char *resume, sl_err *err)
{
    sl_mysql_source *src = s->src;
    MYSQL *m = NULL;
    char *snap_state = NULL;
    int rc = sl_mysql_connect(&src->conf, &m, err);
    int want_snapshot = 0, watermark = 0;
    sl_pos start = {0};
    if (!rc)
        rc = sl_mysql_server_supported(mysql_get_server_info(m), err);
    if (!rc)
        rc = require_full_row_image(m, err);
    if (!rc)
        rc = sl_mysql_identity_check(src, m, err);
    if (!rc && resume) {
        rc = parse_resume(s, resume, &snap_state, err);
        want_snapshot = snap_state != NULL;
        start = (sl_pos){sl_mysql_file_seq(s->commit.file), s->commit.pos, 0};
        /* purged while we were away: the server's index no longer lists it */
        if (!rc && s->commit.file[0] && listed(m, "SHOW BINARY LOGS", s->commit.file) == 0) {
            if (src->conf.on_log_loss != SL_ON_LOG_LOSS_RESNAPSHOT) {
                rc = log_lost_error(s, "purged from the binlog index", err);
            } else {
                sl_warn("the binlog needed to resume (%s at %" PRIu64 ") is no longer on the server: changes "
                        "were lost; reading every captured table anew (scan.on-log-loss: resnapshot)",
                        s->commit.file, s->commit.pos);
                free(snap_state);
                snap_state = NULL;
                memset(&s->commit, 0, sizeof s->commit);
                rc = sl_mysql_snapshot_begin(src, m, &s->commit, &start, &watermark, err);
                want_snapshot = s->resnapshot = 1;
            }
        } else if (!rc && want_snapshot) {
            rc = sl_mysql_snapshot_begin(src, m, NULL, NULL, &watermark, err);
        }
    } else if (!rc) {
        int mode = src->conf.startup;
        if (mode == SL_MYSQL_START_INITIAL || mode == SL_MYSQL_START_SNAPSHOT) {
            /* the binlog reader starts where the first snapshot sees the
             * data (or, with watermarks, before the first low watermark),
             * so no chunk can be older than the reader's start */
            rc = sl_mysql_snapshot_begin(src, m, &s->commit, &start, &watermark, err);
            want_snapshot = 1;
        } else {
            rc = startup_position(s, m, err);
        }
    }
    s->snapshot_only = src->conf.startup == SL_MYSQL_START_SNAPSHOT;
    if (!rc && want_snapshot) {
        rc = sl_mysql_snapshot_prepare(src, m, snap_state, start, watermark, &s->snap, err);
        if (!rc) {
            /* rows of snapshotted tables carry the catalog's schema; the
             * binlog's TABLE_MAP of the same shape maps onto it */
            for (uint32_t i = 0; i < s->snap->snap.ntables && !rc; i++) {
                const sl_table_schema **slot = latest_slot(s, s->snap->snap.tables[i].schema);
                if (!slot)
                    rc = sl_errf(err, SL_ERUNTIME, "out of memory");
                else if (!*slot)
                    *slot = s->snap->snap.tables[i].schema;
            }
        }
    }
    /* prepared XA transactions waited at the checkpoint: read them again */
    if (!rc && s->commit.xa_file[0]) {
        s->xa_recovering = 1;
        s->xa_resume = (sl_pos){sl_mysql_file_seq(s->commit.file), s->commit.pos, 0};
        sl_info("reading the binlog from %s:%" PRIu64 " for prepared XA transactions, then from %s:%" PRIu64,
                s->commit.xa_file, s->commit.xa_pos, s->commit.file, s->commit.pos);
    }
    if (!rc && src->env.follow_until)
        rc = resolve_until(s, m, src->env.follow_until, err);
    free(snap_state);
    if (m)
        mysql_close(m);
    return rc;
}


/* Events that frame the stream or a transaction from outside: inside a
 * compressed transaction they mean a damaged or hostile payload. */
static int outside_only(int type)
{
    return type == FORMAT_DESCRIPTION_EVENT || type == ROTATE_EVENT || type == GTID_EVENT ||
           type == GTID_LOG_EVENT || type == ANONYMOUS_GTID_LOG_EVENT || type == SL_MYSQL_GTID_TAGGED_LOG_EVENT ||
           type == HEARTBEAT_LOG_EVENT || type == SL_MYSQL_TRANSACTION_PAYLOAD_EVENT;
}

/* TRANSACTION_PAYLOAD_EVENT (MySQL 8, binlog_transaction_compression=ON):
 * the transaction's events, inflated one at a time (payload_event.c), go
 * through handle_event like outer events. They all have the payload
 * event's position: their rows are told apart by a row index that keeps
 * counting across them, so positions stay strictly increasing (a
 * reconnect skips what was handed over by position). The XID inside ends
 * the transaction at the payload event's next position, the only place a
 * resume can start. */
static int on_payload(stream *s, const uint8_t *body, size_t len, uint32_t start, uint32_t next, sl_err *err)
{
    int rc = sl_mysql_payload_open(&s->payload, body, len, err);
    uint32_t row = 0;
    const uint8_t *ev;
    size_t evlen;
    while (!rc && (rc = sl_mysql_payload_next(&s->payload, &ev, &evlen, err)) == 1) {
        int type = ev[4];
        if (outside_only(type)) {
            rc = sl_errf(err, SL_ERUNTIME, "compressed transaction holds an event of type %d (event %u), which "
                         "only appears outside transactions", type, s->payload.nevents);
            break;
        }
        if ((rc = handle_event(s, type, ev + HDR, evlen - HDR, start, next, rd32(ev), &row, err)))
            return rc; /* prefixed where it arose */
    }
    return rc ? sl_err_prefix(err, rc, SL_LOG_PREFIX "%s at %u: ", s->file, start) : 0;
}

/* One event after its 19-byte header (without the checksum): from the
 * stream, or from inside a compressed transaction. start / next: the
 * position of the (outer) event and of the one after it; *row: the index
 * of the event's first row among the rows at start. */
static int handle_event(stream *s, int type, const uint8_t *body, size_t blen, uint32_t start, uint32_t next,
                        uint32_t ts, uint32_t *row, sl_err *err)
{
    if (s->xa_recovering && type != ROTATE_EVENT && type != FORMAT_DESCRIPTION_EVENT) {
        if (start == 0 || sl_pos_cmp((sl_pos){s->file_seq, start, 0}, s->xa_resume) < 0)
            return recover_event(s, type, body, blen, start, next, err);
        s->xa_recovering = 0;
        if (s->xa.holding)
            xa_drop_group(s);
        sl_info("%zu prepared XA transactions wait for their outcome", s->xa.n);
    }
    /* a group that may be a prepared XA transaction: its tables and rows
     * wait for its outcome (they go through here again at its XA COMMIT) */
    if (s->xa.holding && kept_in_xa(type))
        return sl_xa_keep(&s->xa, type, ts, body, blen) ? sl_errf(err, SL_ERUNTIME, "out of memory") : 0;
    if (s->skip_until_ts && (type == GTID_EVENT || type == GTID_LOG_EVENT || type == SL_MYSQL_GTID_TAGGED_LOG_EVENT ||
                             type == QUERY_EVENT || type == QUERY_COMPRESSED_EVENT) && !s->in_tx) {
        /* binlog timestamps have whole seconds: start at the second */
        if ((int64_t)ts >= s->skip_until_ts / 1000) {
            s->skip_until_ts = 0;
            forget_tables(s); /* so the first rows announce their schema */
        } else {
            s->skipping_tx = 1;
        }
    }
    switch (type) {
    case FORMAT_DESCRIPTION_EVENT:
        on_format_description(s, body, blen);
        return 0;
    case ROTATE_EVENT:
        if (on_rotate(s, body, blen))
            return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "malformed ROTATE event");
        return 0;
    case GTID_EVENT:
        on_gtid_mariadb(s, body, blen);
        xa_group_starts(s, type, body, blen, start);
        return 0;
    case GTID_LOG_EVENT:
    case SL_MYSQL_GTID_TAGGED_LOG_EVENT:
        xa_group_starts(s, type, body, blen, start);
        on_gtid_mysql(s, body, blen, type == SL_MYSQL_GTID_TAGGED_LOG_EVENT);
        return 0;
    case XA_PREPARE_LOG_EVENT:
        return on_xa_prepare(s, body, blen, start, next, ts, err);
    case SL_MYSQL_TRANSACTION_PAYLOAD_EVENT:
        return on_payload(s, body, blen, start, next, err);
    case QUERY_EVENT:
    case QUERY_COMPRESSED_EVENT:
        return on_query(s, type == QUERY_COMPRESSED_EVENT, body, blen, start, next, ts, err);
    case XID_EVENT:
        if (s->xa.holding) {
            /* a group begun as XA that ended in a plain commit */
            sl_xa_txn t = sl_xa_end_group(&s->xa);
            return xa_commit(s, &t, start, next, ts, err);
        }
        return end_tx(s, next, err);
    case TABLE_MAP_EVENT:
        return on_table_map(s, body, blen, start, err);
    case HEARTBEAT_LOG_EVENT:
        /* the server sends one only when it has nothing else to send */
        if (!s->in_tx)
            sl_emit_idle(s->out);
        return 0;
    default:
        return is_rows_event(type) ? on_rows(s, type, body, blen, start, ts, row, err) : 0;
    }
}

int sl_mysql_stream(sl_mysql_source *src, const char *resume, sl_emitter *out, sl_err *err)
{
    stream s;
    memset(&s, 0, sizeof s);
    s.src = src;
    s.out = out;
    s.dopts.zero_date = src->conf.zero_date_mode;
    sl_buf_init(&s.scratch);
    s.dopts.scratch = &s.scratch;
    sl_mysql_payload_init(&s.payload, SL_MYSQL_PAYLOAD_EVENT_MAX);
    int rc = setup(&s, resume, err);
    if (!rc)
        sl_emit_positioned(out); /* s.commit is where the binlog is read from */
    s.boundary = (sl_boundary){.out = out, .snap = s.snap ? &s.snap->snap : NULL, .token = pos_token, .ctx = &s,
                               .source = SL_LOG_COMPONENT};
    /* the reader starts at the last commit (open_stream reads from there) */
    snprintf(s.file, sizeof s.file, "%s", s.commit.file);
    sl_pos at = {sl_mysql_file_seq(s.file), s.commit.pos, 0};
    if (!rc && s.snap)
        rc = sl_boundary_start(&s.boundary, at, err);
    if (!rc && !resume && s.commit.file[0])
        rc = sl_boundary_first(&s.boundary, at, err);
    if (!rc && s.snap) {
        if (s.resnapshot)
            rc = sl_boundary_resnapshot(&s.boundary, at, err);
        if (!rc)
            rc = sl_mysql_snapshot_start(s.snap, out, err);
    }
    int retries = 0;
    MARIADB_RPL_EVENT *ev = NULL;
    while (!rc && !sl_emit_should_stop(out)) {
        if (s.snap && (rc = sl_mysql_snapshot_failed(s.snap, err)))
            break;
        if (finished(&s, 0)) {
            s.ended = 1;
            break;
        }
        if (!s.rpl) {
            rc = open_stream(&s, err);
            if (rc) {
                /* no connection at all: the connect spent the retries */
                int unreachable = !s.conn;
                close_conn(&s);
                if (rc == SL_ECONFIG || unreachable || retries++ >= src->conf.max_retries ||
                    sl_emit_should_stop(out))
                    break;
                sl_log(SL_LOG_WARN, "%s; reconnecting (%d of %d)", err->msg, retries, src->conf.max_retries);
                rc = 0;
                sl_live_sleep(&src->live, 1000);
                continue;
            }
            sl_info("streaming %s:%" PRIu64 " from %s:%u", s.commit.file, s.commit.pos,
                    src->conf.host, src->conf.port);
        }
        unsigned pkt_before = s.conn->net.pkt_nr;
        ev = mariadb_rpl_fetch(s.rpl, ev);
        const uint8_t *raw = NULL;
        size_t avail = 0;
        if (ev) {
            raw = ev->raw_data + ev->raw_data_ofs;
            avail = ev->raw_data_size >= ev->raw_data_ofs ? ev->raw_data_size - ev->raw_data_ofs : 0;
        } else {
            /* a MySQL 8 event the library refuses to parse (rpl_refused.c) */
            unsigned e = mysql_errno(s.conn) ? mysql_errno(s.conn) : mariadb_rpl_errno(s.rpl);
            raw = sl_mysql_refused_event_bytes(&s.conn->net, pkt_before, e, &avail);
            if (raw && s.checksum && avail >= HDR + 4 &&
                (uint32_t)crc32(0, raw, (uInt)(avail - 4)) != rd32(raw + avail - 4)) {
                rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "event of type %d in %s at %u fails its checksum",
                             raw[4], s.file, rd32(raw + 13));
                break;
            }
        }
        if (!raw) {
            unsigned code = mysql_errno(s.conn);
            char msg[512];
            snprintf(msg, sizeof msg, "%s", mysql_error(s.conn));
            if (sl_emit_should_stop(out))
                break;
            if ((rc = fatal_stream_error(&s, code, msg, err)))
                break;
            /* the partial transaction is re-read from the last commit;
             * rows already handed over are skipped by position */
            close_conn(&s);
            if (retries++ >= src->conf.max_retries) {
                rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "lost the binlog stream at %s:%" PRIu64 " and could "
                             "not reconnect: %s (error %u)", s.file, s.commit.pos, msg, code);
                break;
            }
            sl_warn("binlog stream lost (%s, error %u); reconnecting from %s:%" PRIu64, msg, code,
                    s.commit.file, s.commit.pos);
            continue;
        }
        retries = 0;
        /* the event's own header: timestamp, type, server id, length
         * (checksum included), next position, flags */
        uint32_t total = avail >= HDR ? rd32(raw + 9) : 0, next = avail >= HDR ? rd32(raw + 13) : 0;
        size_t elen = total;
        if (s.checksum && elen >= HDR + 4)
            elen -= 4;
        if (elen < HDR || elen > avail) {
            rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "malformed event in %s at %u: length %zu, %zu bytes received",
                         s.file, next, elen, avail);
            break;
        }
        uint32_t start = next >= total ? next - total : 0;
        int type = raw[4];
        uint32_t row = 0;
        rc = handle_event(&s, type, raw + HDR, elen - HDR, start, next, rd32(raw), &row, err);
        if (!rc && type != ROTATE_EVENT)
            rc = between(&s, next, err);
        if (!rc && type != ROTATE_EVENT && finished(&s, next)) {
            s.ended = 1;
            break;
        }
    }
    if (ev)
        mariadb_free_rpl_event(ev);
    unsigned long dump_thread = s.rpl && s.conn ? mysql_thread_id(s.conn) : 0;
    close_conn(&s);
    if (dump_thread)
        sl_mysql_release_server_id(src, s.meta, dump_thread);
    if (rc && rc != SL_ECONFIG && sl_emit_should_stop(out)) {
        /* a stop during an outage: nothing past the last checkpoint was
         * handed over, so this is a clean stop, not a failure */
        sl_info("stopped while the server was unavailable (%s)", err->msg);
        rc = 0;
    }
    if (!rc && s.ended) {
        sl_info("reached the end position; finishing");
        if (sl_emit_end(out))
            rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "pipeline closed");
    }
    if (s.snap) {
        int src_rc = rc;
        sl_mysql_snapshot_free(s.snap);
        (void)src_rc;
    }
    for (size_t i = 0; i < s.cap; i++)
        free(s.tables[i].tm_raw);
    free(s.tables);
    free(s.latest);
    for (size_t i = 0; i < s.npending; i++) {
        free(s.pending[i].table);
        free(s.pending[i].ddl);
    }
    free(s.pending);
    sl_buf_free(&s.scratch);
    sl_xa_free(&s.xa);
    sl_mysql_payload_free(&s.payload);
    if (s.meta)
        mysql_close(s.meta);
    return rc;
}
