/* ch_sink.c — the `clickhouse` sink: the source's tables as
 * ReplacingMergeTree tables that, read with FINAL, equal the source row by
 * row, exactly once across crashes.
 *
 * Rows: every change is a row with _version = its source position
 * (hi << 64 | lo << 32 | idx: binlog file, offset, row for MySQL; commit
 * LSN and change index for PostgreSQL; a snapshot row carries its chunk's
 * snapshot position, which the snapshot merge guarantees is newer than
 * every change of that key emitted before it and older than every change
 * emitted after it). A delete is a row of the key with _is_deleted = 1; an
 * update that changes the key (any ORDER BY column) is a delete of the old
 * key and a row of the new, both at the event's version. ReplacingMergeTree
 * keeps the highest version per key, so a replayed row can never win over
 * a newer one.
 *
 * Blocks: rows are encoded per table in RowBinary and sent when a table's
 * block reaches insert.block-size, when all open blocks together reach
 * insert.buffer-size (the largest goes), before a schema change or a
 * TRUNCATE of the table, and at the end of an epoch. Each INSERT carries
 * insert_deduplication_token = pipeline:table:first-last:rows:hash of the
 * block, so a block sent again is dropped by the server, and every insert
 * setting is explicit (async_insert = 0 above all: recent servers default
 * to 1).
 *
 * Epochs: commit() writes an 'intent' row (the events after which this
 * run cut its blocks since the last checkpoint), then the last blocks,
 * then the checkpoint row; see ch_checkpoint.c. A crash anywhere replays
 * from the checkpoint; the replay cuts its blocks after the same events,
 * so the blocks the crashed run sent come again with the same tokens and
 * are dropped. A block that still differs (a snapshot chunk read again at
 * another position) is inserted, and collapses under FINAL because equal
 * events have equal versions. ClickHouse has no multi-block transactions:
 * a reader sees blocks as they arrive, so an open epoch (even one large
 * source transaction) can be partly visible for a moment, and after a
 * failure until its replay completes it; nothing is ever applied twice.
 *
 * TRUNCATE (PostgreSQL op t) is `DELETE FROM t WHERE _version < V`, V the
 * TRUNCATE's version, after the table's open block is sent. It removes
 * exactly the rows older than the TRUNCATE, so repeating it in a replay is
 * harmless: rows of the same epoch after the TRUNCATE have higher versions
 * and survive even when their blocks were deduplicated away in the replay
 * (a physical TRUNCATE would have removed them for good). A table fed by a
 * route pattern that can match several source tables cannot tell their
 * rows apart: there the TRUNCATE is skipped with a warning.
 */
#define SL_LOG_COMPONENT "clickhouse sink"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/check_report.h"
#include "../../core/clock.h"
#include "../../core/envelope.h"
#include "../../core/log.h"
#include "../../core/verify.h"
#include "ch_sink.h"

static const sl_option_def options[] = {
    {"url", SL_OPT_LIST, NULL, 1, 0, 0, NULL,
     "ClickHouse HTTP(S) endpoint, e.g. http://localhost:8123; several, comma-separated, are tried in turn (failover)."},
    {"username", SL_OPT_STRING, "default", 0, 0, 0, NULL, "User (HTTP basic authentication)."},
    {"password", SL_OPT_SECRET, "", 0, 0, 0, NULL, "Password of the user."},
    {"database", SL_OPT_STRING, "default", 0, 0, 0, NULL,
     "Database of the tables sluice creates (source table db.t becomes <database>.t; a route's sink-table "
     "db.t names both) and of the checkpoint table."},
    {"table.engine", SL_OPT_STRING, "ReplacingMergeTree", 0, 0, 0, NULL,
     "Engine of the tables sluice creates; the version and is-deleted columns are appended to its arguments, e.g. "
     "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')."},
    {"table.cluster", SL_OPT_STRING, NULL, 0, 0, 0, NULL, "Run CREATE, ALTER and DELETE ON CLUSTER this cluster."},
    {"table.order-by", SL_OPT_STRING, NULL, 0, 0, 0, NULL,
     "ORDER BY of tables, overriding the primary key: 'db.t: tenant, id; t2: k' (must include the primary key; "
     "required for tables without one)."},
    {"table.partition-by", SL_OPT_STRING, NULL, 0, 0, 0, NULL,
     "PARTITION BY of tables: 'db.t: toYYYYMM(created); t2: region' (an expression of ORDER BY columns only)."},
    {"table.settings", SL_OPT_STRING, NULL, 0, 0, 0, NULL,
     "More SETTINGS for the tables sluice creates, e.g. 'index_granularity = 8192'."},
    {"table.dedup-window", SL_OPT_INT, "1000", 0, 1, 1000000, NULL,
     "non_replicated_deduplication_window of the tables sluice creates: how many recent blocks the server "
     "remembers to drop a replayed one (replicated engines use the server's replicated_deduplication_window)."},
    {"version.column", SL_OPT_STRING, "_version", 0, 0, 0, NULL,
     "Column holding each row's version (UInt128, from the source position)."},
    {"is-deleted.column", SL_OPT_STRING, "_is_deleted", 0, 0, 0, NULL,
     "Column marking deleted rows (UInt8; FINAL hides them)."},
    {"json.type", SL_OPT_ENUM, "string", 0, 0, 0, "string|json",
     "JSON columns as String (the exact text) or as ClickHouse's JSON type (parsed; key order and spacing are "
     "not kept)."},
    {"insert.format", SL_OPT_ENUM, "RowBinary", 0, 0, 0, "RowBinary", "Format of the inserted blocks."},
    {"insert.block-size", SL_OPT_SIZE, "4MiB", 0, 4096, 1073741824, NULL,
     "A table's block is sent when it reaches this size (and at every checkpoint)."},
    {"insert.buffer-size", SL_OPT_SIZE, "16MiB", 0, 4096, 4294967296LL, NULL,
     "Bound of all open blocks together; over it the largest is sent."},
    {"compression", SL_OPT_ENUM, "none", 0, 0, 0, "none|gzip", "Compression of the inserted blocks on the wire."},
    {"tls.ca-file", SL_OPT_STRING, NULL, 0, 0, 0, NULL, "CA certificates (PEM) to verify an https server with."},
    {"tls.cert-file", SL_OPT_STRING, NULL, 0, 0, 0, NULL, "Client certificate (PEM) for https."},
    {"tls.key-file", SL_OPT_STRING, NULL, 0, 0, 0, NULL, "Key of the client certificate (PEM)."},
    {"tls.verify", SL_OPT_BOOL, "true", 0, 0, 0, NULL, "Verify the server's certificate and host name."},
    {"connect.timeout", SL_OPT_DURATION, "30s", 0, 100, 3600000, NULL,
     "How long to keep trying to reach a server at start before giving up (exit 1)."},
    {"request.timeout", SL_OPT_DURATION, "5min", 0, 1000, 86400000, NULL, "Upper bound of one HTTP request."},
    {"retry.timeout", SL_OPT_DURATION, "60s", 0, 0, 86400000, NULL,
     "How long a failing request is retried (same request, next URL) before the pipeline restarts from its last "
     "checkpoint."},
    {"checkpoint.table", SL_OPT_STRING, "sluice_checkpoints", 0, 0, 0, NULL,
     "Table in <database> holding each pipeline's checkpoint."},
    SL_OPTION_END,
};

/* ---------------------------------------------------------- positions -- */

int ch_version(sl_pos p, uint64_t *hi, uint64_t *lo)
{
    if (p.lo > UINT32_MAX)
        return -1;
    *hi = p.hi;
    *lo = p.lo << 32 | p.idx;
    return 0;
}

void ch_pos_text(sl_buf *b, sl_pos p)
{
    sl_buf_printf(b, "%" PRIu64 ".%" PRIu64 ".%u", p.hi, p.lo, p.idx);
}

int ch_pos_parse(const char *s, sl_pos *p)
{
    unsigned long long hi, lo;
    unsigned idx;
    int n = 0;
    if (sscanf(s, "%llu.%llu.%u%n", &hi, &lo, &idx, &n) != 3 || s[n])
        return -1;
    p->hi = hi;
    p->lo = lo;
    p->idx = idx;
    return 0;
}

static void u128_text(sl_buf *b, uint64_t hi, uint64_t lo)
{
    unsigned __int128 v = (unsigned __int128)hi << 64 | lo;
    char tmp[48];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    while (n)
        sl_buf_addc(b, tmp[--n]);
}

/* ------------------------------------------------------------ options -- */

static int spec_ok(const char *spec)
{
    for (const char *p = spec; p && *p;) {
        const char *semi = strchr(p, ';');
        size_t n = semi ? (size_t)(semi - p) : strlen(p);
        int blank = 1;
        for (size_t i = 0; i < n; i++)
            blank &= p[i] == ' ';
        if (!blank && !memchr(p, ':', n))
            return 0;
        p = semi ? semi + 1 : p + n;
    }
    return 1;
}

static int ch_validate(const sl_options *o, sl_err *err)
{
    char where[256];
    const char *url = sl_opt_str(o, "url");
    for (const char *p = url; p && *p;) {
        while (*p == ' ')
            p++;
        if (strncmp(p, "http://", 7) != 0 && strncmp(p, "https://", 8) != 0) {
            sl_opt_where(o, "url", where, sizeof where);
            return sl_errf(err, SL_ECONFIG, "%s: sink option url: '%.*s' is not an http:// or https:// URL", where,
                           (int)strcspn(p, ","), p);
        }
        const char *c = strchr(p, ',');
        p = c ? c + 1 : p + strlen(p);
    }
    if (!strstr(sl_opt_str(o, "table.engine"), "ReplacingMergeTree")) {
        sl_opt_where(o, "table.engine", where, sizeof where);
        return sl_errf(err, SL_ECONFIG,
                       "%s: sink option table.engine: '%s' is not a ReplacingMergeTree engine, which upserts and "
                       "deletes need",
                       where, sl_opt_str(o, "table.engine"));
    }
    static const char *const specs[] = {"table.order-by", "table.partition-by"};
    for (size_t i = 0; i < 2; i++) {
        if (!spec_ok(sl_opt_str(o, specs[i]))) {
            sl_opt_where(o, specs[i], where, sizeof where);
            return sl_errf(err, SL_ECONFIG, "%s: sink option %s: expected '<table>: <columns>; <table>: ...'", where,
                           specs[i]);
        }
    }
    const char *v = sl_opt_str(o, "version.column"), *d = sl_opt_str(o, "is-deleted.column");
    if (!*v || !*d || strcmp(v, d) == 0) {
        sl_opt_where(o, "is-deleted.column", where, sizeof where);
        return sl_errf(err, SL_ECONFIG, "%s: sink options version.column and is-deleted.column must be two names",
                       where);
    }
    return 0;
}

/* ----------------------------------------------------------- lifecycle -- */

static void ch_destroy(void *self)
{
    ch_sink *k = self;
    if (!k)
        return;
    ch_sender_stop(&k->sender);
    if (k->sender.blocks)
        sl_info("%" PRIu64 " blocks, %" PRIu64 " rows, %.1f MiB inserted in %.1f s of requests",
                k->sender.blocks, k->sender.rows, (double)k->sender.bytes / 1048576.0,
                (double)k->sender.insert_ms / 1000.0);
    ch_bindings_free(k);
    ch_tables_free(k);
    ch_http_free(&k->http);
    free(k->pipeline);
    free(k->database);
    free(k->engine);
    free(k->cluster);
    free(k->settings);
    free(k->order_by);
    free(k->partition_by);
    free(k->ver_col);
    free(k->del_col);
    free(k->ckpt_table);
    free(k->server_version);
    free(k->cuts);
    free(k->replay);
    sl_buf_free(&k->row);
    sl_buf_free(&k->key1);
    sl_buf_free(&k->key2);
    sl_buf_free(&k->sql);
    sl_arena_free(&k->scratch);
    free(k);
}

static char *dup_opt(const sl_options *o, const char *name)
{
    const char *v = sl_opt_str(o, name);
    return v ? strdup(v) : NULL;
}

static int server_info(ch_sink *k, int64_t budget, sl_err *err)
{
    int rc = ch_http_query(&k->http,
                           "SELECT version() AS v, (SELECT count() FROM system.settings WHERE name = "
                           "'enable_time_time64_type') AS t64 FORMAT JSONEachRow",
                           NULL, NULL, 0, budget, err);
    if (rc == SL_ERUNTIME)
        return sl_err_prefix(err, rc, SL_LOG_PREFIX "");
    if (rc)
        return rc;
    json_error_t je;
    json_t *row = json_loadb(k->http.resp.data ? k->http.resp.data : "", k->http.resp.len, JSON_DISABLE_EOF_CHECK, &je);
    const char *v = json_string_value(json_object_get(row, "v"));
    json_t *t64 = json_object_get(row, "t64");
    if (!v) {
        json_decref(row);
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s answered, but not like ClickHouse: %.200s",
                       ch_http_url(&k->http), k->http.resp.data ? k->http.resp.data : "");
    }
    k->server_version = strdup(v);
    sscanf(v, "%d.%d", &k->major, &k->minor);
    k->map.time64 = ch_json_count_positive(t64);
    json_decref(row);
    if (k->major < 23 || (k->major == 23 && k->minor < 2))
        return sl_errf(err, SL_ERUNTIME,
                       SL_LOG_PREFIX "%s runs ClickHouse %s; sluice needs 23.2 or newer (ReplacingMergeTree "
                       "with an is_deleted column)",
                       ch_http_url(&k->http), v);
    return 0;
}

/* the sink's settings from its options, not connected yet (create and
 * check_connect) */
static int ch_new(const sl_options *o, const sl_sink_env *env, ch_sink **out, sl_err *err)
{
    *out = NULL;
    ch_sink *k = calloc(1, sizeof *k);
    if (!k)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    k->opts = o;
    k->env = env;
    k->routes = env->routes;
    k->pipeline = strdup(env->pipeline_name);
    k->database = dup_opt(o, "database");
    k->engine = dup_opt(o, "table.engine");
    k->cluster = dup_opt(o, "table.cluster");
    k->settings = dup_opt(o, "table.settings");
    k->order_by = dup_opt(o, "table.order-by");
    k->partition_by = dup_opt(o, "table.partition-by");
    k->ver_col = dup_opt(o, "version.column");
    k->del_col = dup_opt(o, "is-deleted.column");
    k->ckpt_table = dup_opt(o, "checkpoint.table");
    k->dedup_window = sl_opt_num(o, "table.dedup-window");
    k->block_size = sl_opt_num(o, "insert.block-size");
    k->buffer_size = sl_opt_num(o, "insert.buffer-size");
    k->map.postgres = env->source_connector && strcmp(env->source_connector, "postgresql") == 0;
    k->map.json_type = sl_opt_num(o, "json.type") == 1;
    sl_buf_init(&k->row);
    sl_buf_init(&k->key1);
    sl_buf_init(&k->key2);
    sl_buf_init(&k->sql);
    sl_arena_init(&k->scratch);
    if (!k->pipeline || !k->database || !k->engine || !k->ver_col || !k->del_col || !k->ckpt_table) {
        ch_destroy(k);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    int rc = ch_http_init(&k->http, o, err);
    if (rc) {
        ch_destroy(k);
        return rc;
    }
    *out = k;
    return 0;
}

/* the server's version, retried for connect.timeout; a server that never
 * answers is SL_ERUNTIME naming every URL */
static int ch_connect(ch_sink *k, sl_err *err)
{
    int64_t budget = k->http.connect_timeout_ms;
    int rc = server_info(k, budget, err);
    if (rc == SL_ERETRY) {
        /* "<url>: <why> (n attempts in s)" -> one sentence naming every URL */
        char msg[SL_ERRLEN];
        const char *why = strstr(err->msg, "://");
        why = why ? strstr(why, ": ") : NULL;
        snprintf(msg, sizeof msg, "%s", why ? why + 2 : err->msg);
        rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "no answer from %s within %.1fs: %s",
                     sl_opt_str(k->opts, "url"), (double)budget / 1000.0, msg);
    }
    return rc;
}

static int ch_create(const sl_options *o, const sl_sink_env *env, void **self, sl_err *err)
{
    ch_sink *k;
    int rc = ch_new(o, env, &k, err);
    if (rc)
        return rc;
    rc = ch_connect(k, err);
    if (env->read_only) {
        /* `sluice status`: only load_checkpoint follows; create nothing */
        k->read_only = 1;
        if (rc)
            ch_destroy(k);
        else
            *self = k;
        return rc;
    }
    if (!rc)
        rc = ch_checkpoint_ensure(k, err);
    if (!rc && !(rc = ch_sender_start(&k->sender, o, err)))
        k->sender.http.cur = k->http.cur; /* the server that answered */
    if (rc) {
        ch_destroy(k);
        return rc;
    }
    sl_info("connected to %s (ClickHouse %s); tables in database %s, checkpoints in %s.%s",
            ch_http_url(&k->http), k->server_version, k->database, k->database, k->ckpt_table);
    *self = k;
    return 0;
}

static int ch_load_checkpoint(void *self, char **out, sl_err *err) { return ch_checkpoint_load(self, out, err); }

/* -------------------------------------------------------------- check -- */

/* `sluice check --connect` runs without create(): it reads and checks,
 * and creates nothing (no database, no checkpoint table). Findings go
 * through core/check_report.h; a failure whose message already carries its
 * fix (sl_err_fix) is reported without a separate one. */

static void check_privileges(ch_sink *k, sl_check *c)
{
    static const char *const privs[] = {"CREATE TABLE", "ALTER", "INSERT", "SELECT"};
    sl_buf *q = &k->sql;
    for (size_t i = 0; i < sizeof privs / sizeof privs[0]; i++) {
        sl_buf_reset(q);
        sl_buf_printf(q, "CHECK GRANT %s ON ", privs[i]);
        ch_quote_ident(q, k->database);
        sl_buf_adds(q, ".*");
        sl_buf_addc(q, 0);
        sl_err e2;
        int rc = ch_http_query(&k->http, q->data, NULL, NULL, 0, k->http.retry_timeout_ms, &e2);
        char what[300], fix[300];
        snprintf(what, sizeof what, "privilege %s on %s.*", privs[i], k->database);
        if (rc == SL_ERUNTIME && k->http.exc_code == 62) { /* SYNTAX_ERROR: no CHECK GRANT before 24.x */
            sl_check_warn(c,
                          "this server cannot check privileges (CHECK GRANT); sluice needs CREATE TABLE, ALTER, "
                          "INSERT and SELECT on %s.*",
                          k->database);
            return;
        }
        snprintf(fix, sizeof fix, "GRANT %s ON %s.* TO %s", privs[i], k->database, k->http.user);
        if (rc) {
            sl_err_prefix(&e2, rc, SL_LOG_PREFIX "");
            sl_check_report(c, 0, e2.msg, NULL);
        } else {
            sl_check_report(c, k->http.resp.len && k->http.resp.data[0] == '1', what, fix);
        }
    }
}

/* the checkpoint table: present, or created by the first run */
static void check_checkpoint_table(ch_sink *k, sl_check *c)
{
    sl_err e2;
    int present;
    if (ch_checkpoint_exists(k, &present, &e2)) {
        sl_check_report(c, 0, e2.msg, NULL);
        return;
    }
    char what[600];
    snprintf(what, sizeof what, present ? "checkpoint table %s.%s present" : "checkpoint table %s.%s is created "
                                                                             "by the first run",
             k->database, k->ckpt_table);
    sl_check_report(c, 1, what, NULL);
}

/* tables in the database that look like sluice's must be usable as they are */
static void check_tables(ch_sink *k, sl_check *c)
{
    sl_buf *q = &k->sql;
    sl_buf_reset(q);
    sl_buf_adds(q, "SELECT table FROM system.columns WHERE database = ");
    ch_quote_string(q, k->database, strlen(k->database));
    sl_buf_adds(q, " AND name = ");
    ch_quote_string(q, k->ver_col, strlen(k->ver_col));
    sl_buf_adds(q, " AND table != ");
    ch_quote_string(q, k->ckpt_table, strlen(k->ckpt_table));
    sl_buf_adds(q, " ORDER BY table FORMAT JSONEachRow");
    sl_buf_addc(q, 0);
    json_t *rows;
    sl_err e2;
    if (ch_query_rows(k, q->data, &rows, &e2)) {
        sl_check_report(c, 0, e2.msg, NULL);
        return;
    }
    size_t n = json_array_size(rows);
    for (size_t i = 0; i < n; i++) {
        const char *name = json_string_value(json_object_get(json_array_get(rows, i), "table"));
        if (!name)
            continue;
        ch_table *t = ch_table_new(k->database, name);
        if (!t) {
            sl_check_report(c, 0, "out of memory", NULL);
            break;
        }
        int exists;
        if (ch_table_describe(k, t, &exists, &e2)) {
            sl_check_report(c, 0, e2.msg, NULL);
        } else {
            char what[900];
            snprintf(what, sizeof what, "table %s: %d columns, ORDER BY %s%s, versions in %s", t->display, t->ncols,
                     t->norder ? t->order_by[0] : "?", t->norder > 1 ? ", ..." : "", k->ver_col);
            sl_check_report(c, 1, what, NULL);
        }
        ch_table_free(t);
    }
    if (!n) {
        char what[600];
        snprintf(what, sizeof what, "no sluice table in database %s yet; they are created on first use", k->database);
        sl_check_report(c, 1, what, NULL);
    }
    json_decref(rows);
}

static int ch_check_connect(const sl_options *o, const sl_sink_env *env, FILE *out, sl_err *err)
{
    ch_sink *k;
    int rc = ch_new(o, env, &k, err);
    if (rc)
        return rc;
    sl_check c = {.out = out};
    const char *urls = sl_opt_str(o, "url");
    fprintf(out, SL_LOG_COMPONENT " %s\n", urls);
    sl_err e2;
    if (ch_connect(k, &e2)) {
        char fix[1200];
        snprintf(fix, sizeof fix, "start the server, or correct url (now %s), username and password", urls);
        sl_check_report(&c, 0, e2.msg, fix);
    } else {
        char what[600];
        snprintf(what, sizeof what, "%s answers: ClickHouse %s (23.2 or newer: ReplacingMergeTree with is_deleted)",
                 ch_http_url(&k->http), k->server_version);
        sl_check_report(&c, 1, what, NULL);
        sl_check_report(&c, 1,
                        k->map.time64 ? "TIME columns become Time64"
                                      : "TIME columns become Int64 microseconds (this server has no Time64)",
                        NULL);
        check_privileges(k, &c);
        check_checkpoint_table(k, &c);
        check_tables(k, &c);
    }
    rc = sl_check_finish(&c, SL_LOG_COMPONENT, ch_http_url(&k->http), err);
    ch_destroy(k);
    return rc;
}

/* -------------------------------------------------------------- blocks -- */

int ch_flush_table(ch_sink *k, ch_table *t, sl_err *err)
{
    if (!t->rows)
        return 0;
    sl_buf *q = &k->sql;
    sl_buf_reset(q);
    sl_buf_adds(q, "INSERT INTO ");
    sl_buf_adds(q, t->qname);
    sl_buf_addc(q, ' ');
    sl_buf_adds(q, t->block_cols);
    sl_buf_adds(q, " SETTINGS async_insert = 0, insert_deduplicate = 1, "
                   "deduplicate_blocks_in_dependent_materialized_views = 1, optimize_on_insert = 1, "
                   "insert_deduplication_token = ");
    sl_buf tok;
    sl_buf_init(&tok);
    sl_buf_printf(&tok, "%s:%s:", k->pipeline, t->display);
    ch_pos_text(&tok, t->first);
    sl_buf_addc(&tok, '-');
    ch_pos_text(&tok, t->last);
    sl_buf_printf(&tok, ":%zu:%016" PRIx64, t->rows, sl_digest_hash(t->block.data, t->block.len));
    ch_quote_string(q, tok.data ? tok.data : "", tok.len);
    sl_buf_free(&tok);
    sl_buf_printf(q, ", max_insert_block_size = %zu, min_insert_block_size_rows = 0, min_insert_block_size_bytes = 0",
                  t->rows + 1 > 1048449 ? t->rows + 1 : 1048449);
    if (t->has_json)
        sl_buf_adds(q, ", input_format_binary_read_json_as_string = 1");
    sl_buf_adds(q, " FORMAT RowBinary");
    sl_buf_addc(q, 0);
    ch_job *j = calloc(1, sizeof *j);
    if (q->failed || t->block.failed || !j || !(j->sql = strdup(q->data))) {
        free(j);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    /* the block goes with the job; the table starts a new one */
    j->body = t->block;
    sl_buf_init(&t->block);
    j->table = t;
    j->bind = t->block_bind;
    j->first = t->first;
    j->last = t->last;
    j->rows = t->rows;
    k->pending -= j->body.len;
    t->rows = 0;
    return ch_sender_push(&k->sender, j, err);
}

int ch_settle_table(ch_sink *k, ch_table *t, sl_err *err)
{
    int rc = ch_flush_table(k, t, err);
    return rc ? rc : ch_sender_drain(&k->sender, err);
}

static int flush_all(ch_sink *k, sl_err *err)
{
    for (size_t i = 0; i < k->ntables; i++) {
        int rc = ch_flush_table(k, k->tables[i], err);
        if (rc)
            return rc;
    }
    return 0;
}

static int flush_largest(ch_sink *k, sl_err *err)
{
    ch_table *big = NULL;
    for (size_t i = 0; i < k->ntables; i++)
        if (k->tables[i]->rows && (!big || k->tables[i]->block.len > big->block.len))
            big = k->tables[i];
    return big ? ch_flush_table(k, big, err) : 0;
}

/* ---------------------------------------------------------------- rows -- */

static int row_error(ch_sink *k, const ch_binding *bd, const sl_value *row, int w, const char *why, int deleting,
                     sl_err *err)
{
    const ch_table *t = bd->table;
    const sl_table_schema *s = bd->schema;
    const ch_col *col = &t->cols[bd->w_col[w]];
    const sl_column *sc = &s->cols[bd->w_src[w]];
    sl_buf key;
    sl_buf_init(&key);
    sl_json_key(&key, s, row);
    sl_buf_addc(&key, 0);
    int rc = sl_errf(err, SL_ERUNTIME,
                     SL_LOG_PREFIX "cannot write %s of source table %s with key %s to table %s: column %s (%s in "
                     "ClickHouse, %s in the source): %s%s",
                     deleting ? "the delete of a row" : "a row", s->qualified, key.data ? key.data : "?", t->display,
                     col->name, col->type_text, sc->type_name ? sc->type_name : sl_kind_name((sl_kind)sc->kind), why,
                     deleting ? "; the source's delete lacks this key column (PostgreSQL: ALTER TABLE ... REPLICA "
                                "IDENTITY FULL when ORDER BY has non-key columns)"
                     : row[bd->w_src[w]].kind == SL_UNCHANGED
                         ? "; the source must send whole rows: PostgreSQL ALTER TABLE ... REPLICA IDENTITY FULL, "
                           "MySQL binlog_row_image = FULL"
                         : "");
    sl_buf_free(&key);
    (void)k;
    return rc;
}

static int encode_row(ch_sink *k, ch_binding *bd, const sl_value *row, int deleted, uint64_t vhi, uint64_t vlo,
                      sl_err *err)
{
    ch_table *t = bd->table;
    sl_buf *b = &t->block;
    size_t start = b->len;
    char why[512];
    for (int w = 0; w < bd->nw; w++) {
        const ch_col *col = &t->cols[bd->w_col[w]];
        if (deleted && !bd->w_key[w]) {
            ch_rb_default(b, &col->type);
            continue;
        }
        int src = bd->w_src[w];
        if (ch_rb_value(b, &col->type, &bd->schema->cols[src], &row[src], why, sizeof why)) {
            b->len = start;
            return row_error(k, bd, row, w, why, deleted, err);
        }
    }
    ch_rb_u128(b, vhi, vlo);
    sl_buf_addc(b, deleted ? 1 : 0);
    if (b->failed)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    t->rows++;
    return 0;
}

/* whether an update moves the row to another ORDER BY key */
static int key_changed(ch_sink *k, const ch_binding *bd, const sl_value *before, const sl_value *after)
{
    char why[64];
    sl_buf_reset(&k->key1);
    sl_buf_reset(&k->key2);
    for (int i = 0; i < bd->nkey; i++) {
        const ch_type *ty = &bd->table->cols[bd->key_col[i]].type;
        const sl_column *c = &bd->schema->cols[bd->key_src[i]];
        if (ch_rb_value(&k->key1, ty, c, &before[bd->key_src[i]], why, sizeof why) ||
            ch_rb_value(&k->key2, ty, c, &after[bd->key_src[i]], why, sizeof why))
            return before[bd->key_src[i]].kind != SL_UNCHANGED;
    }
    return k->key1.len != k->key2.len || memcmp(k->key1.data, k->key2.data, k->key1.len) != 0;
}

static int truncate_table(ch_sink *k, ch_binding *bd, const sl_event *e, uint64_t vhi, uint64_t vlo, sl_err *err)
{
    ch_table *t = bd->table;
    if (t->shared) {
        sl_warn("TRUNCATE of %s is not applied to %s: a route pattern may send other source tables' "
                "rows there, which a TRUNCATE of one of them must not remove",
                e->schema->qualified, t->display);
        return 0;
    }
    int rc = ch_settle_table(k, t, err);
    if (rc)
        return rc;
    sl_buf *q = &k->sql;
    sl_buf_reset(q);
    sl_buf_adds(q, "DELETE FROM ");
    sl_buf_adds(q, t->qname);
    ch_on_cluster(k, q);
    sl_buf_adds(q, " WHERE ");
    ch_quote_ident(q, k->ver_col);
    sl_buf_adds(q, " < toUInt128('");
    u128_text(q, vhi, vlo);
    sl_buf_adds(q, "')");
    sl_buf_addc(q, 0);
    if (q->failed)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    rc = ch_http_query(&k->http, q->data, "&mutations_sync=2", NULL, 0, k->http.retry_timeout_ms, err);
    if (rc)
        return sl_err_prefix(err, rc, SL_LOG_PREFIX "applying the TRUNCATE of %s to %s: ", e->schema->qualified, t->display);
    sl_info("TRUNCATE of %s applied to %s (rows older than the TRUNCATE deleted)", e->schema->qualified,
            t->display);
    return 0;
}

/* the event into one target table's block */
static int write_target(ch_sink *k, ch_binding *bd, const sl_event *e, uint64_t vhi, uint64_t vlo, sl_err *err)
{
    int rc;
    ch_table *t = bd->table;
    if (e->op == SL_OP_TRUNCATE)
        return truncate_table(k, bd, e, vhi, vlo, err);
    /* a block holds one column list */
    if (t->rows && strcmp(t->block_cols, bd->cols) != 0 && (rc = ch_flush_table(k, t, err)))
        return rc;
    if (!t->rows) {
        free(t->block_cols);
        if (!(t->block_cols = strdup(bd->cols)))
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        t->first = e->pos;
    }
    t->block_bind = bd;
    size_t before_len = t->block.len;
    switch (e->op) {
    case SL_OP_READ:
    case SL_OP_CREATE:
        rc = encode_row(k, bd, e->after, 0, vhi, vlo, err);
        break;
    case SL_OP_UPDATE:
        if (e->before && key_changed(k, bd, e->before, e->after))
            rc = encode_row(k, bd, e->before, 1, vhi, vlo, err);
        else
            rc = 0;
        if (!rc)
            rc = encode_row(k, bd, e->after, 0, vhi, vlo, err);
        break;
    case SL_OP_DELETE:
        rc = encode_row(k, bd, e->before ? e->before : e->after, 1, vhi, vlo, err);
        break;
    default:
        rc = 0;
        break;
    }
    if (rc)
        return rc;
    t->last = e->pos;
    k->pending += t->block.len - before_len;
    if ((int64_t)t->block.len >= k->block_size)
        return ch_flush_table(k, t, err);
    if ((int64_t)k->pending >= k->buffer_size)
        return flush_largest(k, err);
    return 0;
}

static int write_event(ch_sink *k, const sl_event *e, sl_err *err)
{
    ch_binding *bd = k->last_bind;
    int rc, current = bd && bd->schema == e->schema;
    for (const ch_binding *o = bd; current && o; o = o->next)
        current = o->gen == o->table->gen;
    if (!current) {
        if ((rc = ch_bind(k, e->schema, e->pos, 0, &bd, err)))
            return rc;
        k->last_bind = bd;
    }
    uint64_t vhi, vlo;
    if (ch_version(e->pos, &vhi, &vlo))
        return sl_errf(err, SL_ERUNTIME,
                       SL_LOG_PREFIX "source position %" PRIu64 "/%" PRIu64 "/%u of %s does not fit the version "
                       "(hi, 32-bit lo, 32-bit index)",
                       e->pos.hi, e->pos.lo, e->pos.idx, e->schema->qualified);
    /* every table the routes send it to (one unless route-mode ALL_MATCH
     * matches several) */
    for (; bd; bd = bd->next)
        if ((rc = write_target(k, bd, e, vhi, vlo, err)))
            return rc;
    return 0;
}

static int add_cut(ch_sink *k)
{
    if (k->ncuts == k->cap_cuts) {
        size_t cap = k->cap_cuts ? k->cap_cuts * 2 : 8;
        ch_cut *c = realloc(k->cuts, cap * sizeof *c);
        if (!c)
            return -1;
        k->cuts = c;
        k->cap_cuts = cap;
    }
    k->cuts[k->ncuts].ordinal = k->ordinal;
    k->cuts[k->ncuts++].pos = k->last_pos;
    return 0;
}

static int ch_write(void *self, const sl_batch *b, sl_err *err)
{
    ch_sink *k = self;
    for (const sl_event *e = b->head; e; e = e->next) {
        k->ordinal++;
        k->last_pos = e->pos;
        if (e->op == SL_OP_SCHEMA) {
            /* the table exists and fits from the start, rows or not */
            ch_binding *bd;
            int rc = ch_bind(k, e->schema, e->pos, 1, &bd, err);
            if (rc)
                return rc;
        } else if (e->op) {
            int rc = write_event(k, e, err);
            if (rc)
                return rc;
        }
        /* the crashed run ended an epoch after this event: so do we */
        while (k->replay_next < k->nreplay && k->replay[k->replay_next].ordinal <= k->ordinal) {
            const ch_cut *c = &k->replay[k->replay_next++];
            if (c->ordinal != k->ordinal || sl_pos_cmp(c->pos, e->pos) != 0)
                continue; /* the replay differs (a snapshot chunk read again): no use */
            int rc = flush_all(k, err);
            if (rc)
                return rc;
            if (add_cut(k))
                return sl_errf(err, SL_ERUNTIME, "out of memory");
        }
    }
    return 0;
}

static int ch_commit(void *self, const char *checkpoint, sl_err *err)
{
    ch_sink *k = self;
    int rc;
    if (k->pending) {
        /* first where this epoch ends, so a replay cuts there too */
        if (add_cut(k))
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        sl_buf doc;
        sl_buf_init(&doc);
        sl_buf_printf(&doc, "{\"base\":%" PRIu64 ",\"cuts\":[", k->base_seq);
        for (size_t i = 0; i < k->ncuts; i++) {
            sl_buf_printf(&doc, "%s[%" PRIu64 ",\"", i ? "," : "", k->cuts[i].ordinal);
            ch_pos_text(&doc, k->cuts[i].pos);
            sl_buf_adds(&doc, "\"]");
        }
        sl_buf_adds(&doc, "]}");
        sl_buf_addc(&doc, 0);
        rc = doc.failed ? sl_errf(err, SL_ERUNTIME, "out of memory") : ch_checkpoint_write(k, "intent", doc.data, err);
        sl_buf_free(&doc);
        if (rc || (rc = flush_all(k, err)))
            return rc;
    }
    /* every block of the epoch is in before the checkpoint says so */
    if ((rc = ch_sender_drain(&k->sender, err)) || (rc = ch_checkpoint_write(k, "checkpoint", checkpoint, err)))
        return rc;
    k->base_seq = k->seq;
    k->ordinal = 0;
    k->ncuts = 0;
    k->nreplay = k->replay_next = 0;
    return 0;
}

static int ch_abort(void *self, sl_err *err)
{
    ch_sink *k = self;
    for (size_t i = 0; i < k->ntables; i++) {
        sl_buf_reset(&k->tables[i]->block);
        k->tables[i]->rows = 0;
    }
    k->pending = 0;
    (void)err;
    return 0;
}

/* idle(): one SELECT 1, no retries (the next idle moment asks again); the
 * sender thread has its own connection and nothing in flight when idle */
static int ch_idle(void *self, sl_err *err)
{
    ch_sink *k = self;
    int rc = ch_http_query(&k->http, "SELECT 1", NULL, NULL, 0, 0, err);
    return rc ? sl_err_prefix(err, rc, SL_LOG_PREFIX "") : 0;
}

const sl_sink_plugin sl_sink_clickhouse = {
    .name = "clickhouse",
    .description = "ReplacingMergeTree tables over ClickHouse's HTTP interface that, read with FINAL, equal the "
                   "source; exactly once (versioned rows, deduplicated blocks, checkpoint in the database)",
    .options = options,
    .guarantee = SL_GUARANTEE_EXACTLY_ONCE,
    /* partition-keys of a transform rule become PARTITION BY */
    .table_hints = 1,
    .validate = ch_validate,
    .create = ch_create,
    .check_connect = ch_check_connect,
    .load_checkpoint = ch_load_checkpoint,
    .write = ch_write,
    .commit = ch_commit,
    .abort = ch_abort,
    .read_back = ch_read_back,
    .idle = ch_idle,
    .destroy = ch_destroy,
};
