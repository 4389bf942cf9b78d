/* pg_snapshot.c — chunk readers of the postgres source's snapshot.
 *
 * Each reader has its own connection inside one REPEATABLE READ READ ONLY
 * transaction that imports the shared exported snapshot (pg_snapshot.h),
 * and reads a key range at a time with COPY (SELECT ...) TO STDOUT: the
 * fastest way out of the server, and the same text forms pgoutput sends,
 * parsed by the same code. Chunk bounds are the key values as the server
 * prints them, given back as typed literals, so any key type the server
 * can order works (text under any collation, uuid, numeric, timestamps,
 * composite keys through row comparisons).
 */
#define SL_LOG_COMPONENT "postgres source"

#include "pg_snapshot.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/buf.h"
#include "../../core/clock.h"
#include "../../core/envelope.h"
#include "../../core/log.h"
#include "../../core/verify.h"
#include "../../snapshot/split_setup.h"
#include "pg_types.h"

typedef struct reader {
    sl_snap_reader base; /* owner: the sl_pg_snap */
    PGconn *conn;
} reader;

static sl_pg_snap *snap_of(const reader *r) { return r->base.owner; }

int sl_pg_import_snapshot(PGconn *conn, const char *name, sl_err *err)
{
    char sql[256];
    int rc = sl_pg_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", NULL, err);
    snprintf(sql, sizeof sql, "SET TRANSACTION SNAPSHOT '%s'", name);
    if (!rc)
        rc = sl_pg_exec(conn, sql, NULL, err);
    return rc;
}

/* ---------------------------------------------------------- COPY rows -- */

static int unescape(const char *s, size_t n, sl_buf *out)
{
    sl_buf_reset(out);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c != '\\' || i + 1 >= n) {
            sl_buf_addc(out, c);
            continue;
        }
        c = s[++i];
        switch (c) {
        case 'b': sl_buf_addc(out, '\b'); break;
        case 'f': sl_buf_addc(out, '\f'); break;
        case 'n': sl_buf_addc(out, '\n'); break;
        case 'r': sl_buf_addc(out, '\r'); break;
        case 't': sl_buf_addc(out, '\t'); break;
        case 'v': sl_buf_addc(out, '\v'); break;
        default:
            if (c >= '0' && c <= '7') {
                int v = 0, k = 0;
                while (k < 3 && i < n && s[i] >= '0' && s[i] <= '7') {
                    v = v * 8 + (s[i] - '0');
                    i++;
                    k++;
                }
                i--;
                sl_buf_addc(out, (char)v);
            } else {
                sl_buf_addc(out, c);
            }
        }
    }
    return out->failed ? -1 : 0;
}

int sl_pg_copy_row(const char *line, size_t len, const sl_table_schema *s, sl_arena *a, sl_value *vals, char *errbuf,
                   size_t errlen)
{
    if (len && line[len - 1] == '\n')
        len--;
    sl_buf tmp;
    sl_buf_init(&tmp);
    size_t pos = 0;
    /* most rows have no escape at all: one search for the row, not one per field */
    int escapes = memchr(line, '\\', len) != NULL;
    int rc = 0;
    for (int i = 0; i < s->ncols && !rc; i++) {
        if (pos > len) {
            snprintf(errbuf, errlen, "a row of %s has %d columns, expected %d", s->qualified, i, s->ncols);
            rc = -1;
            break;
        }
        const char *f = line + pos;
        const char *tab = memchr(f, '\t', len - pos);
        size_t flen = tab ? (size_t)(tab - f) : len - pos;
        pos += flen + 1;
        if (flen == 2 && f[0] == '\\' && f[1] == 'N') {
            vals[i] = sl_val_null();
            continue;
        }
        if (escapes && memchr(f, '\\', flen)) {
            if (unescape(f, flen, &tmp)) {
                snprintf(errbuf, errlen, "out of memory");
                rc = -1;
                break;
            }
            rc = sl_pg_text_value(&s->cols[i], tmp.data ? tmp.data : "", tmp.len, a, &vals[i], errbuf, errlen);
        } else {
            rc = sl_pg_text_value(&s->cols[i], f, flen, a, &vals[i], errbuf, errlen);
        }
    }
    sl_buf_free(&tmp);
    return rc;
}

/* ------------------------------------------------------------ bounds --- */

/* key >= / < bound, as `k op lit` or `(k1, k2) op (lit1, lit2)` */
static int key_predicate(PGconn *conn, sl_buf *sql, const sl_snap_table *t, const char *bound, const char *op,
                         sl_err *err)
{
    json_error_t je;
    json_t *arr = json_loads(bound, 0, &je);
    if (!json_is_array(arr) || (int)json_array_size(arr) != t->nkey) {
        json_decref(arr);
        return sl_errf(err, SL_ERUNTIME, "snapshot of %s: damaged chunk bound %s", t->name, bound);
    }
    const sl_table_schema *s = t->schema;
    sl_buf_adds(sql, t->nkey > 1 ? "(" : "");
    for (int k = 0; k < t->nkey; k++) {
        char q[300];
        sl_pg_quote_ident(q, sizeof q, s->cols[t->key_cols[k]].name);
        sl_buf_printf(sql, "%s%s", k ? ", " : "", q);
    }
    sl_buf_printf(sql, "%s %s %s", t->nkey > 1 ? ")" : "", op, t->nkey > 1 ? "(" : "");
    int rc = 0;
    for (int k = 0; k < t->nkey && !rc; k++) {
        const char *part = json_string_value(json_array_get(arr, (size_t)k));
        size_t plen = json_string_length(json_array_get(arr, (size_t)k));
        if (!part || plen < 2 || part[1] != ':') {
            rc = sl_errf(err, SL_ERUNTIME, "snapshot of %s: damaged chunk bound %s", t->name, bound);
            break;
        }
        char *lit = PQescapeLiteral(conn, part + 2, plen - 2);
        if (!lit) {
            rc = sl_errf(err, SL_ERUNTIME, "snapshot of %s: cannot quote a bound: %s", t->name, PQerrorMessage(conn));
            break;
        }
        sl_buf_printf(sql, "%s%s::%s", k ? ", " : "", lit, s->cols[t->key_cols[k]].type_name);
        PQfreemem(lit);
    }
    sl_buf_adds(sql, t->nkey > 1 ? ")" : "");
    json_decref(arr);
    return rc;
}

static void key_list(sl_buf *sql, const sl_snap_table *t)
{
    for (int k = 0; k < t->nkey; k++) {
        char q[300];
        sl_pg_quote_ident(q, sizeof q, t->schema->cols[t->key_cols[k]].name);
        sl_buf_printf(sql, "%s%s", k ? ", " : "", q);
    }
}

static void table_ref(char *out, size_t len, const sl_table_schema *s) { sl_pg_table_ref(out, len, s->schema, s->table); }

/* The split callback: the first key of the next chunk, chunk_size keys
 * after lo in key order. */
static int split_next(void *ctx, sl_snap_table *t, const char *lo, char **hi, sl_err *err)
{
    reader *r = ctx;
    *hi = NULL;
    sl_buf sql;
    sl_buf_init(&sql);
    char ref[700];
    table_ref(ref, sizeof ref, t->schema);
    sl_buf_adds(&sql, "SELECT ");
    key_list(&sql, t);
    sl_buf_printf(&sql, " FROM %s", ref);
    int rc = 0;
    if (lo) {
        sl_buf_adds(&sql, " WHERE ");
        rc = key_predicate(r->conn, &sql, t, lo, ">=", err);
    }
    sl_buf_adds(&sql, " ORDER BY ");
    key_list(&sql, t);
    sl_buf_printf(&sql, " LIMIT 1 OFFSET %zu", snap_of(r)->snap.chunk_size);
    sl_buf_addc(&sql, 0);
    PGresult *res = NULL;
    if (!rc && sql.failed)
        rc = sl_errf(err, SL_ERUNTIME, "out of memory");
    if (!rc)
        rc = sl_pg_exec(r->conn, sql.data, &res, err);
    if (!rc && PQntuples(res) == 1) {
        json_t *arr = json_array();
        for (int k = 0; k < t->nkey && arr; k++) {
            const char *v = PQgetvalue(res, 0, k);
            size_t n = (size_t)PQgetlength(res, 0, k);
            char *part = malloc(n + 3);
            if (!part || PQgetisnull(res, 0, k)) {
                free(part);
                json_decref(arr);
                arr = NULL;
                break;
            }
            part[0] = 's';
            part[1] = ':';
            memcpy(part + 2, v, n);
            json_array_append_new(arr, json_stringn(part, n + 2));
            free(part);
        }
        *hi = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
        json_decref(arr);
        if (!*hi)
            rc = sl_errf(err, SL_ERUNTIME, "snapshot of %s: a NULL chunk key; the chunk key column must not hold NULLs",
                         t->name);
    }
    PQclear(res);
    sl_buf_free(&sql);
    return rc;
}

/* ------------------------------------------------------------ readers -- */

/* Each chunk is read in a short transaction of its own that imports the
 * shared snapshot, so the ACCESS SHARE lock it takes on the table lasts one
 * chunk: a TRUNCATE or ALTER TABLE waits for one chunk at most, never for
 * the whole snapshot (which would also queue every later writer of the
 * table behind it). The transaction, the import, the COPY and the commit
 * go in one query string, and a reader sends the next few chunks' in the
 * same string (a group of GROUP_ROWS rows at most): one round trip per
 * group, and the server reads the next chunk while the reader parses and
 * hands over the one before, instead of waiting for the reader's next
 * query after every chunk (on a loaded machine each such wait is a
 * wake-up of both processes). Each chunk still commits on its own and is
 * handed over as soon as its COPY ends. */
enum { GROUP_ROWS = 65536, GROUP_MAX = 8 };

static int group_size(const sl_pg_snap *ps)
{
    size_t n = ps->snap.chunk_size ? GROUP_ROWS / ps->snap.chunk_size : 1;
    if (n > GROUP_MAX)
        n = GROUP_MAX;
    /* several readers share the last chunks of a table rather than one
     * taking them all */
    n /= (size_t)(ps->snap.parallelism > 0 ? ps->snap.parallelism : 1);
    return n < 1 ? 1 : (int)n;
}

/* Everything still coming on the connection: COPY data and results, up to
 * the end of the query string, so that the connection stays usable. */
static void drain(PGconn *conn)
{
    PGresult *res;
    while ((res = PQgetResult(conn)) != NULL) {
        int copy = PQresultStatus(res) == PGRES_COPY_OUT;
        PQclear(res);
        char *line = NULL;
        while (copy && PQgetCopyData(conn, &line, 0) >= 0)
            PQfreemem(line);
    }
}

/* The results before the COPY's: BEGIN and SET TRANSACTION SNAPSHOT. A
 * failure there is the import's (the exporter gone, the connection lost):
 * worth a new connection. */
static int chunk_preamble(reader *r, const sl_snap_table *t, sl_err *err)
{
    static const char *const steps[] = {"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "SET TRANSACTION SNAPSHOT"};
    for (int i = 0; i < 3; i++) {
        PGresult *res = PQgetResult(r->conn);
        ExecStatusType st = PQresultStatus(res);
        if ((i < 2 && st == PGRES_COMMAND_OK) || (i == 2 && st == PGRES_COPY_OUT)) {
            PQclear(res);
            continue;
        }
        char msg[512], conn_msg[512];
        snprintf(msg, sizeof msg, "%s", res && *PQresultErrorMessage(res)
                                            ? PQresultErrorMessage(res)
                                            : sl_pg_errmsg(r->conn, conn_msg, sizeof conn_msg));
        size_t n = strlen(msg);
        while (n && msg[n - 1] == '\n')
            msg[--n] = 0;
        PQclear(res);
        drain(r->conn);
        if (i < 2)
            return sl_errf(err, SL_ERETRY, SL_LOG_PREFIX "%s: %s", steps[i], msg);
        return sl_errf(err, SL_ERETRY, SL_LOG_PREFIX "snapshot of %s: %s", t->name, msg);
    }
    return 0;
}

/* One chunk's statements, appended to sql. */
static int chunk_sql(reader *r, const sl_snap_chunk *c, sl_buf *sql, sl_err *err)
{
    sl_pg_snap *ps = snap_of(r);
    sl_snap_table *t = &ps->snap.tables[c->table];
    const sl_table_schema *s = t->schema;
    char ref[700];
    table_ref(ref, sizeof ref, s);
    sl_buf_printf(sql, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '%s'; COPY (SELECT ",
                  ps->snapshot_name);
    for (int i = 0; i < s->ncols; i++) {
        char q[300];
        sl_pg_quote_ident(q, sizeof q, s->cols[i].name);
        sl_buf_printf(sql, "%s%s", i ? ", " : "", q);
    }
    sl_buf_printf(sql, " FROM %s", ref);
    int rc = 0;
    if (c->lo || c->hi)
        sl_buf_adds(sql, " WHERE ");
    if (c->lo)
        rc = key_predicate(r->conn, sql, t, c->lo, ">=", err);
    if (!rc && c->lo && c->hi)
        sl_buf_adds(sql, " AND ");
    if (!rc && c->hi)
        rc = key_predicate(r->conn, sql, t, c->hi, "<", err);
    sl_buf_adds(sql, ") TO STDOUT; COMMIT; ");
    return rc;
}

/* The rows of one chunk whose COPY the server is sending, then its COPY's
 * and COMMIT's results; on failure everything else on the connection is
 * drained. */
static int chunk_rows(reader *r, const sl_snap_chunk *c, sl_batch **out, sl_err *err)
{
    sl_pg_snap *ps = snap_of(r);
    sl_snap_table *t = &ps->snap.tables[c->table];
    const sl_table_schema *s = t->schema;
    *out = NULL;
    int rc = chunk_preamble(r, t, err);
    if (rc)
        return rc;
    sl_pos at = {ps->at_lsn, 0, 0};
    sl_batch *b = sl_emit_new_batch(r->base.pool->out);
    sl_txinfo *tx = b ? sl_arena_alloc(&b->arena, sizeof *tx) : NULL;
    if (!tx) {
        rc = sl_errf(err, SL_ERUNTIME, "out of memory");
    } else {
        memset(tx, 0, sizeof *tx);
        tx->lsn = ps->at_lsn;
        tx->xid = ps->xid;
        tx->ts_ms = sl_wall_ms();
    }
    char *line = NULL;
    int n;
    for (uint32_t row = 0; !rc && (n = PQgetCopyData(r->conn, &line, 0)) >= 0; row++) {
        sl_value *vals = sl_batch_row(b, s->ncols);
        sl_event *e = vals ? sl_batch_add_event(b, SL_OP_READ, s) : NULL;
        char msg[256];
        if (!e)
            rc = sl_errf(err, SL_ERUNTIME, "out of memory");
        else if (sl_pg_copy_row(line, (size_t)n, s, &b->arena, vals, msg, sizeof msg))
            rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "snapshot of %s: %s", t->name, msg);
        PQfreemem(line);
        line = NULL;
        if (rc)
            break;
        e->after = vals;
        e->tx = tx;
        e->snapshot = SL_SNAP_TRUE;
        e->pos = at;
        e->offset = ps->at_lsn;
        e->row = row;
    }
    /* the COPY's result, then the COMMIT's */
    for (int i = 0; i < 2 && !rc; i++) {
        PGresult *res = PQgetResult(r->conn);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            char msg[512];
            rc = sl_errf(err, SL_ERETRY, SL_LOG_PREFIX "snapshot of %s: %s", t->name,
                         res ? PQresultErrorMessage(res) : sl_pg_errmsg(r->conn, msg, sizeof msg));
        }
        PQclear(res);
    }
    if (rc) {
        drain(r->conn);
        sl_batch_free(b);
        return rc;
    }
    *out = b;
    return 0;
}

/* The chunks in more[from..n) go back to be read again. */
static void abandon_rest(sl_pg_snap *ps, sl_snap_chunk *more, int from, int n)
{
    for (int i = from; i < n; i++) {
        sl_snapshot_abandon(&ps->snap, &more[i]);
        free(more[i].lo);
        free(more[i].hi);
    }
}

/* Reads c and the chunks taken beside it; a failure is reported as c's:
 * c then names the chunk that failed (the ones before it are handed over),
 * and the reader pool puts it back. */
static int read_group(reader *r, sl_snap_chunk *c, sl_err *err)
{
    sl_pg_snap *ps = snap_of(r);
    sl_snap_chunk more[GROUP_MAX - 1];
    int nmore = 0, want = group_size(ps) - 1;
    sl_err ignored = {{0}};
    /* a later chunk that cannot be taken now (the memory bound, a split
     * the next call reports) is simply left for the next group */
    while (nmore < want && sl_snapshot_more_chunk(&ps->snap, &more[nmore], split_next, r, &ignored) == 1)
        nmore++;
    sl_buf sql;
    sl_buf_init(&sql);
    int rc = chunk_sql(r, c, &sql, err);
    for (int i = 0; i < nmore && !rc; i++)
        rc = chunk_sql(r, &more[i], &sql, err);
    sl_buf_addc(&sql, 0);
    if (!rc && sql.failed)
        rc = sl_errf(err, SL_ERUNTIME, "out of memory");
    if (!rc && !PQsendQuery(r->conn, sql.data)) {
        char msg[512];
        rc = sl_errf(err, SL_ERETRY, SL_LOG_PREFIX "snapshot of %s: %s", ps->snap.tables[c->table].name,
                     sl_pg_errmsg(r->conn, msg, sizeof msg));
    }
    sl_buf_free(&sql);
    int i = 0;
    for (; i <= nmore && !rc; i++) {
        if (i > 0) {
            /* the memory bound holds within a group too (the server
             * waits on a full socket meanwhile) */
            if (sl_snapshot_wait_room(&ps->snap)) {
                abandon_rest(ps, more, i - 1, nmore);
                return 0; /* the reader pool sees the failure */
            }
            /* c was handed over: it now stands for the chunk being read */
            *c = more[i - 1];
            more[i - 1] = (sl_snap_chunk){0};
        }
        sl_batch *b = NULL;
        rc = chunk_rows(r, c, &b, err);
        if (rc)
            break;
        sl_snap_table *t = &ps->snap.tables[c->table];
        if (sl_emit_should_stop(ps->out)) {
            sl_batch_free(b);
            sl_snapshot_abandon(&ps->snap, c);
            abandon_rest(ps, more, i, nmore);
            return 0;
        }
        sl_debug("snapshot of %s: chunk [%s, %s) read, %zu rows", t->name, c->lo ? c->lo : "null",
                 c->hi ? c->hi : "null", b->count);
        if ((rc = sl_snapshot_submit(&ps->snap, c, (sl_pos){ps->at_lsn, 0, 0}, b, err)))
            break; /* c was not handed over: the pool puts it back */
        /* handed over as it is read, within the memory bound. c is handed
         * over now, so a merge failure is not c's: the rest of the group is
         * put back, its results drained, and the pool's own merge after
         * this read (which it does after every read) reports the failure */
        if (i < nmore) {
            sl_err merr = {{0}};
            if (sl_snapshot_merge(&ps->snap, ps->out, &merr)) {
                abandon_rest(ps, more, i, nmore);
                drain(r->conn);
                return 0;
            }
        }
    }
    if (rc)
        abandon_rest(ps, more, i, nmore);
    else if (PQgetResult(r->conn) != NULL) {
        drain(r->conn);
        rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "snapshot of %s: unexpected results after the last chunk",
                     ps->snap.tables[c->table].name);
    }
    return rc;
}

static int read_chunk(sl_snap_reader *base, sl_snap_chunk *c, sl_err *err)
{
    reader *r = (reader *)base;
    int rc = read_group(r, c, err);
    if (rc)
        sl_pg_exec_quiet(r->conn, "ROLLBACK");
    return rc;
}

static int reader_connect(sl_snap_reader *base, sl_err *err)
{
    reader *r = (reader *)base;
    if (r->conn)
        PQfinish(r->conn);
    r->conn = NULL;
    int rc = sl_pg_connect(&snap_of(r)->src->conf, 0, &r->conn, err);
    /* the snapshot must be importable before the reader counts as ready */
    if (!rc)
        rc = sl_pg_import_snapshot(r->conn, snap_of(r)->snapshot_name, err);
    if (r->conn)
        sl_pg_exec_quiet(r->conn, rc ? "ROLLBACK" : "COMMIT");
    return rc;
}

static void reader_disconnect(sl_snap_reader *base)
{
    reader *r = (reader *)base;
    if (r->conn)
        PQfinish(r->conn);
    r->conn = NULL;
}

/* The exporter keeps the snapshot importable, so a chunk whose connection
 * broke is read again on a new one; a failure of the data itself on a
 * healthy connection, or of a split, ends the snapshot (a split failure
 * restarts the pipeline from its checkpoint). */
static int reader_failed(sl_snap_reader *base, int rc, int in_split)
{
    reader *r = (reader *)base;
    if (in_split)
        return SL_ERETRY;
    return rc == SL_ERUNTIME && PQstatus(r->conn) == CONNECTION_OK ? rc : SL_SNAP_RECONNECT;
}

static const sl_snap_reader_ops reader_ops = {
    .connect = reader_connect,
    .disconnect = reader_disconnect,
    .split = split_next,
    .read = read_chunk,
    .failed = reader_failed,
    .lost_class = SL_ERETRY,
    .wait_ready = 1,
};

/* ---------------------------------------------------------- discovery -- */

static int discover(sl_pg_snap *ps, PGconn *conn, sl_err *err)
{
    sl_pg_source *src = ps->src;
    char **names = NULL;
    size_t n = 0;
    int rc = sl_pg_list_tables(src, conn, &names, &n, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < n && !rc; i++) {
        char nsp[256];
        const char *dot = strchr(names[i], '.');
        snprintf(nsp, sizeof nsp, "%.*s", (int)(dot - names[i]), names[i]);
        sl_table_schema *s = NULL;
        rc = sl_pg_table_schema(src, conn, nsp, dot + 1, NULL, &s, err);
        if (rc)
            break;
        if (sl_schema_cache_add(&src->schemas, s)) {
            sl_schema_free(s);
            rc = sl_errf(err, SL_ERUNTIME, "out of memory");
            break;
        }
        int keys[64], nkey = 0;
        rc = sl_split_key_columns(s, src->opts, SL_LOG_COMPONENT, keys, &nkey, err);
        if (rc)
            break;
        char ref[700], sql[1800];
        table_ref(ref, sizeof ref, s);
        const char *params[] = {nsp, dot + 1};
        PGresult *res;
        uint64_t est = 0;
        rc = sl_pg_exec_params(conn,
                               "SELECT greatest(c.reltuples, 0)::bigint FROM pg_class c JOIN pg_namespace n ON "
                               "n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
                               2, params, &res, err);
        if (rc)
            break;
        if (PQntuples(res))
            est = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        rc = sl_snapshot_add_table(&ps->snap, s->qualified, s, keys, nkey, est, err);
        if (rc)
            break;
        sl_snap_table *t = &ps->snap.tables[ps->snap.ntables - 1];
        /* an evenly spread integer key is split by arithmetic alone */
        const sl_column *kc = &s->cols[keys[0]];
        if (nkey == 1 && kc->conv == SL_PGV_INT && est > ps->snap.chunk_size) {
            char q[300];
            sl_pg_quote_ident(q, sizeof q, kc->name);
            snprintf(sql, sizeof sql, "SELECT min(%s)::bigint, max(%s)::bigint FROM %s", q, q, ref);
            rc = sl_pg_exec(conn, sql, &res, err);
            if (rc)
                break;
            if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
                long long mn = strtoll(PQgetvalue(res, 0, 0), NULL, 10), mx = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
                sl_split_try_arith(&ps->snap, t, mn, mx, est);
            }
            PQclear(res);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

int sl_pg_snapshot_prepare(sl_pg_source *src, PGconn *conn, const char *snapshot_name, uint64_t at_lsn,
                           const char *state_json, sl_pos start, sl_pg_snap **out, sl_err *err)
{
    sl_pg_snap *ps = calloc(1, sizeof *ps);
    if (!ps)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    ps->src = src;
    snprintf(ps->snapshot_name, sizeof ps->snapshot_name, "%s", snapshot_name);
    ps->at_lsn = at_lsn;
    sl_reader_pool_setup(&ps->pool, &ps->snap, src->opts, src->env.pipeline, start);
    ps->snap.metrics = src->env.metrics;
    ps->snap.single_position = 1;
    int rc = discover(ps, conn, err);
    if (!rc && state_json)
        rc = sl_snapshot_restore(&ps->snap, state_json, err);
    if (rc) {
        sl_pg_snapshot_free(ps);
        return rc;
    }
    *out = ps;
    return 0;
}

int sl_pg_snapshot_start(sl_pg_snap *ps, sl_emitter *out, sl_err *err)
{
    ps->out = out;
    char detail[64];
    snprintf(detail, sizeof detail, ", exact at LSN %X/%X", (unsigned)(ps->at_lsn >> 32), (unsigned)ps->at_lsn);
    return sl_reader_pool_launch(&ps->pool, ps, sizeof(reader), &reader_ops, ps->src->conf.max_retries, out, detail,
                                 err);
}

int sl_pg_snapshot_failed(sl_pg_snap *ps, sl_err *err) { return sl_reader_pool_failed(&ps->pool, err); }

void sl_pg_snapshot_release_exporter(sl_pg_snap *ps)
{
    if (ps->exporter)
        PQfinish(ps->exporter); /* drops the temporary slot */
    ps->exporter = NULL;
}

void sl_pg_snapshot_free(sl_pg_snap *ps)
{
    if (!ps)
        return;
    sl_reader_pool_destroy(&ps->pool);
    sl_pg_snapshot_release_exporter(ps);
    sl_snapshot_free(&ps->snap);
    free(ps);
}

/* `sluice migrate` verification: every captured table read once more with
 * COPY and each row rendered as the sinks render it. */
int sl_pg_digest(sl_pg_source *src, sl_digest_set *out, sl_err *err)
{
    PGconn *conn;
    int rc = sl_pg_connect(&src->conf, 0, &conn, err);
    if (rc)
        return rc;
    char **names = NULL;
    size_t n = 0;
    rc = sl_pg_list_tables(src, conn, &names, &n, err);
    sl_buf json, sql;
    sl_buf_init(&json);
    sl_buf_init(&sql);
    for (size_t i = 0; i < n && !rc; i++) {
        char nsp[256];
        const char *dot = strchr(names[i], '.');
        snprintf(nsp, sizeof nsp, "%.*s", (int)(dot - names[i]), names[i]);
        sl_table_schema *s = NULL;
        rc = sl_pg_table_schema(src, conn, nsp, dot + 1, NULL, &s, err);
        if (rc)
            break;
        sl_digest *d = sl_digest_get(out, s->qualified, s);
        char ref[700];
        table_ref(ref, sizeof ref, s);
        sl_buf_reset(&sql);
        sl_buf_adds(&sql, "COPY (SELECT ");
        for (int c = 0; c < s->ncols; c++) {
            char q[300];
            sl_pg_quote_ident(q, sizeof q, s->cols[c].name);
            sl_buf_printf(&sql, "%s%s", c ? ", " : "", q);
        }
        sl_buf_printf(&sql, " FROM %s) TO STDOUT", ref);
        sl_buf_addc(&sql, 0);
        sl_value *vals = calloc((size_t)s->ncols, sizeof *vals);
        sl_arena a;
        sl_arena_init(&a);
        if (!d || !vals || sql.failed)
            rc = sl_errf(err, SL_ERUNTIME, "out of memory");
        PGresult *res = rc ? NULL : PQexec(conn, sql.data);
        if (!rc && PQresultStatus(res) != PGRES_COPY_OUT)
            rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "reading %s: %s", s->qualified, PQresultErrorMessage(res));
        PQclear(res);
        char *line = NULL;
        int len;
        while (!rc && (len = PQgetCopyData(conn, &line, 0)) >= 0) {
            char msg[256];
            if (sl_pg_copy_row(line, (size_t)len, s, &a, vals, msg, sizeof msg))
                rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "reading %s: %s", s->qualified, msg);
            PQfreemem(line);
            if (rc)
                break;
            sl_buf_reset(&json);
            sl_json_row(&json, s, vals);
            d->rows++;
            d->sum += sl_digest_hash(json.data, json.len);
            sl_arena_reset(&a);
        }
        while (rc && PQgetCopyData(conn, &line, 0) >= 0)
            PQfreemem(line);
        while ((res = PQgetResult(conn)) != NULL)
            PQclear(res);
        sl_arena_free(&a);
        free(vals);
        sl_schema_free(s);
    }
    sl_buf_free(&json);
    sl_buf_free(&sql);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    PQfinish(conn);
    return rc;
}
