/* pg_source.c — registration of the `postgres` source (PostgreSQL 10+
 * logical replication through pgoutput): its option table, option checks
 * and lifecycle. The WAL reader lives in pg_stream.c, the snapshot in
 * pg_snapshot.c, server checks in pg_check.c. */
#include "pg_source.h"

#include "../../snapshot/split_setup.h"
#include "../metadata_list.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "pg_types.h"

static const sl_option_def options[] = {
    {"hostname", SL_OPT_STRING, NULL, 1, 0, 0, NULL, "IP address or hostname of the PostgreSQL server."},
    {"port", SL_OPT_INT, "5432", 0, 1, 65535, NULL, "TCP port of the server."},
    {"username", SL_OPT_STRING, NULL, 1, 0, 0, NULL,
     "User to connect as; needs the REPLICATION attribute, SELECT on the tables, and ownership of them to create "
     "the publication (or an existing publication)."},
    {"password", SL_OPT_SECRET, "", 0, 0, 0, NULL, "Password of the user; use ${env:NAME} or ${file:PATH}."},
    {"sslmode", SL_OPT_ENUM, "prefer", 0, 0, 0, "disable|allow|prefer|require|verify-ca|verify-full",
     "libpq's sslmode for every connection (replication, snapshot, checks): prefer = TLS when the server offers "
     "it, require = TLS or fail (certificate not checked), verify-ca = the server's certificate must be signed by "
     "sslrootcert, verify-full = verify-ca and the certificate must name hostname."},
    {"sslrootcert", SL_OPT_STRING, NULL, 0, 0, 0, NULL,
     "PEM file of the CA(s) the server's certificate must chain to (verify-ca, verify-full; libpq's default: "
     "~/.postgresql/root.crt)."},
    {"sslcert", SL_OPT_STRING, NULL, 0, 0, 0, NULL, "PEM client certificate, for pg_hba.conf 'cert' or clientcert=... (needs sslkey)."},
    {"sslkey", SL_OPT_STRING, NULL, 0, 0, 0, NULL, "PEM private key of sslcert (mode 0600)."},
    {"database-name", SL_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Database to capture (a slot belongs to one database); may instead be the first part of every tables "
     "pattern, db.schema.table, as Flink writes it."},
    {"tables", SL_OPT_LIST, NULL, 1, 0, 0, NULL,
     "Tables to capture: comma-separated schema.table regexes; '.' separates schema and table, '\\.' matches any "
     "character."},
    {"tables.exclude", SL_OPT_LIST, NULL, 0, 0, 0, NULL, "Tables to leave out, same syntax as tables."},
    {"slot.name", SL_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Logical replication slot (created when absent, never dropped); default sluice_<pipeline name>."},
    {"slot.temporary", SL_OPT_BOOL, "false", 0, 0, 0, NULL,
     "Use a temporary slot that ends with the connection: nothing is left on the server, but a restart cannot "
     "resume (for one-shot migrations)."},
    {"publication.name", SL_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Publication the slot streams (created for the captured tables when absent); default sluice_<pipeline "
     "name>."},
    {"publication.autocreate", SL_OPT_BOOL, "true", 0, 0, 0, NULL,
     "Create the publication when absent, and add newly captured tables to a publication sluice created."},
    {"decoding.plugin.name", SL_OPT_ENUM, "pgoutput", 0, 0, 0, "pgoutput",
     "Logical decoding plugin; pgoutput, built into PostgreSQL 10+."},
    {"decoding.streaming", SL_OPT_BOOL, "true", 0, 0, 0, NULL,
     "Protocol 2 streaming of large in-progress transactions (PostgreSQL 14+): they arrive while running, are "
     "spilled to a local temporary file and emitted at commit (dropped on rollback)."},
    {"decoding.work-mem", SL_OPT_STRING, NULL, 0, 0, 0, NULL,
     "logical_decoding_work_mem of the replication session (e.g. 64MB): how much of a transaction the server "
     "holds before streaming it; the server's setting when unset."},
    {"scan.startup.mode", SL_OPT_ENUM, "initial", 0, 0, 0, "initial|latest-offset|committed-offset|snapshot",
     "Where to start when no checkpoint exists: initial = snapshot then WAL, latest-offset = WAL from now, "
     "committed-offset = from the existing slot's confirmed position, snapshot = snapshot only, then stop."},
    SL_ON_LOG_LOSS_OPTION("the replication slot a checkpoint resumes from is missing or was invalidated "
                          "(max_slot_wal_keep_size)"),
    {"scan.incremental.snapshot.chunk.size", SL_OPT_INT, "8096", 0, 1, 100000000, NULL, "Rows per snapshot chunk."},
    {"scan.incremental.snapshot.chunk.key-column", SL_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Column to split tables without a primary key by (NOT NULL, ideally unique and indexed)."},
    {"heartbeat.interval", SL_OPT_DURATION, "30s", 0, 0, 86400000, NULL,
     "How often sluice writes a heartbeat message into the WAL (pg_logical_emit_message), so an idle slot's "
     "position keeps moving; 0 disables."},
    {"status.interval", SL_OPT_DURATION, "10s", 0, 100, 3600000, NULL,
     "Longest time between two standby status updates (the server's wal_sender_timeout must be larger)."},
    {"connect.timeout", SL_OPT_DURATION, "30s", 0, 1000, 3600000, NULL, "Time allowed to connect before a retry."},
    {"connect.max-retries", SL_OPT_INT, "3", 0, 0, 1000000, NULL,
     "Connection attempts after the first before giving up."},
    {"metadata.list", SL_OPT_LIST, NULL, 0, 0, 0, NULL,
     "Metadata columns transforms may read: op_ts, database_name, schema_name, table_name."},
    {"schema-change.enabled", SL_OPT_BOOL, "true", 0, 0, 0, NULL,
     "Emit schema-change events (false: sinks never see them; rows still carry the new shape)."},
    {"server-time-zone", SL_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Accepted from Flink files; sluice reads timestamps exactly, so it changes nothing."},
    {"scan.snapshot.fetch.size", SL_OPT_INT, "1024", 0, 1, 1000000, NULL,
     "Accepted from Flink files; each chunk is read in one query."},
    {"scan.newly-added-table.enabled", SL_OPT_BOOL, "true", 0, 0, 0, NULL,
     "Tables newly matching tables are snapshotted on the next start while the others stream (always so)."},
    {"table-id.include-database", SL_OPT_BOOL, "false", 0, 0, 0, NULL,
     "Flink's table id with the database; only false (schema.table) is supported."},
    SL_OPTION_END,
};

/* Slot names are [a-z0-9_]{1,63} on the server; publication names keep to
 * the same so they need no quoting inside START_REPLICATION. */
static int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '_'))
            return 0;
    return 1;
}

static void derived_name(const char *pipeline, char *out, size_t len)
{
    snprintf(out, len, "sluice_");
    size_t o = strlen(out);
    for (const char *p = pipeline ? pipeline : "sluice"; *p && o + 1 < len && o < 63; p++)
        out[o++] = isalnum((unsigned char)*p) ? (char)tolower((unsigned char)*p) : '_';
    out[o] = 0;
}

static const char *const pg_metadata[] = {"op_ts", "database_name", "schema_name", "table_name", NULL};

/* A derived slot name must name one pipeline only: lower-casing and
 * replacing characters would give "Shop" and "shop" (or "a-b" and "a_b")
 * the same slot, and the second pipeline to run would confirm the first
 * one's changes away. A name that does not map onto itself needs slot.name
 * set by hand (temporary slots end with their connection and clash loudly
 * instead). */
static int check_derived_slot(const sl_options *o, const sl_source_env *env, const char *slot, sl_err *err)
{
    if (sl_opt_str(o, "slot.name") || sl_opt_num(o, "slot.temporary") ||
        sl_opt_num(o, "scan.startup.mode") == SL_PG_START_SNAPSHOT)
        return 0;
    const char *name = env->pipeline_name ? env->pipeline_name : "sluice";
    if (strncmp(slot, "sluice_", 7) == 0 && strcmp(slot + 7, name) == 0)
        return 0;
    char where[512];
    if (env->pipeline)
        sl_opt_where(env->pipeline, "name", where, sizeof where);
    else
        snprintf(where, sizeof where, "pipeline name");
    return sl_errf(err, SL_ECONFIG,
                   "%s: pipeline name '%s' makes the replication slot name '%s' only after lower-casing and "
                   "replacing characters, so another pipeline whose name differs only there would share the slot "
                   "and take this one's changes; set slot.name explicitly in the source (slot.name: %s keeps the "
                   "slot this pipeline uses now)",
                   where, name, slot, slot);
}

static int pg_validate(const sl_options *o, sl_err *err)
{
    char where[512];
    const char *names[] = {"slot.name", "publication.name"};
    for (int i = 0; i < 2; i++) {
        const char *v = sl_opt_str(o, names[i]);
        if (v && !valid_name(v)) {
            sl_opt_where(o, names[i], where, sizeof where);
            return sl_errf(err, SL_ECONFIG,
                           "%s: '%s' must be 1-63 lower-case letters, digits or underscores, got '%s'", where,
                           names[i], v);
        }
    }
    const char *wm = sl_opt_str(o, "decoding.work-mem");
    if (wm) {
        size_t d = strspn(wm, "0123456789");
        const char *unit = wm + d;
        if (d == 0 || (*unit && strcmp(unit, "kB") && strcmp(unit, "MB") && strcmp(unit, "GB"))) {
            sl_opt_where(o, "decoding.work-mem", where, sizeof where);
            return sl_errf(err, SL_ECONFIG, "%s: 'decoding.work-mem' must be a size like 64kB, 64MB or 1GB, got '%s'",
                           where, wm);
        }
    }
    if (sl_opt_num(o, "table-id.include-database")) {
        sl_opt_where(o, "table-id.include-database", where, sizeof where);
        return sl_errf(err, SL_ECONFIG,
                       "%s: sluice names PostgreSQL tables schema.table (Flink's default); table-id.include-database: "
                       "true is not supported",
                       where);
    }
    int rc = sl_pg_tls_validate(o, err);
    if (rc)
        return rc;
    rc = sl_check_metadata_list(o, "postgres source", pg_metadata, err);
    if (rc)
        return rc;
    char keycol[256];
    if (sl_chunk_key_for(o, NULL, NULL, keycol, sizeof keycol, err) < 0)
        return SL_ECONFIG;
    sl_pg_names pn;
    if ((rc = sl_pg_names_resolve(o, &pn, err)))
        return rc;
    sl_table_filter f;
    rc = sl_table_filter_init(&f, pn.tables, pn.tables_exclude, err);
    sl_pg_names_free(&pn);
    if (rc) {
        sl_opt_where(o, "tables", where, sizeof where);
        return sl_err_prefix(err, SL_ECONFIG, "%s: ", where);
    }
    sl_table_filter_free(&f);
    return 0;
}

static int pg_create(const sl_options *o, const sl_source_env *env, void **self, sl_err *err)
{
    int rc = pg_validate(o, err);
    if (rc)
        return rc;
    sl_pg_source *s = calloc(1, sizeof *s);
    if (!s)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    s->opts = o;
    s->env = *env;
    sl_pg_conf *c = &s->conf;
    c->host = sl_opt_str(o, "hostname");
    c->port = (unsigned)sl_opt_num(o, "port");
    c->user = sl_opt_str(o, "username");
    c->password = sl_opt_str(o, "password");
    if (sl_opt_str(o, "slot.name"))
        snprintf(s->slot_name, sizeof s->slot_name, "%s", sl_opt_str(o, "slot.name"));
    else
        derived_name(env->pipeline_name, s->slot_name, sizeof s->slot_name);
    if ((rc = check_derived_slot(o, env, s->slot_name, err)) || (rc = sl_pg_names_resolve(o, &s->names, err))) {
        free(s);
        return rc;
    }
    c->dbname = s->names.dbname;
    c->slot_temporary = (int)sl_opt_num(o, "slot.temporary");
    c->publication_create = (int)sl_opt_num(o, "publication.autocreate");
    c->startup = (int)sl_opt_num(o, "scan.startup.mode");
    c->streaming = (int)sl_opt_num(o, "decoding.streaming");
    c->work_mem = sl_opt_str(o, "decoding.work-mem");
    c->heartbeat_ms = sl_opt_num(o, "heartbeat.interval");
    c->status_ms = sl_opt_num(o, "status.interval");
    c->connect_timeout_ms = sl_opt_num(o, "connect.timeout");
    c->max_retries = (int)sl_opt_num(o, "connect.max-retries");
    c->on_log_loss = (int)sl_opt_num(o, "scan.on-log-loss");
    c->ssl_mode = (int)sl_opt_num(o, "sslmode");
    c->sslrootcert = sl_opt_str(o, "sslrootcert");
    c->sslcert = sl_opt_str(o, "sslcert");
    c->sslkey = sl_opt_str(o, "sslkey");
    if (sl_opt_str(o, "publication.name"))
        snprintf(s->pub_name, sizeof s->pub_name, "%s", sl_opt_str(o, "publication.name"));
    else
        derived_name(env->pipeline_name, s->pub_name, sizeof s->pub_name);
    c->slot = s->slot_name;
    c->publication = s->pub_name;
    sl_schema_cache_init(&s->schemas);
    sl_live_init(&s->live);
    c->stop = &s->live;
    pthread_mutex_init(&s->ack_mu, NULL);
    rc = sl_table_filter_init(&s->filter, s->names.tables, s->names.tables_exclude, err);
    if (rc) {
        sl_live_destroy(&s->live);
        pthread_mutex_destroy(&s->ack_mu);
        sl_pg_names_free(&s->names);
        free(s);
        return rc;
    }
    *self = s;
    return 0;
}

static int pg_run(void *self, const char *resume, sl_emitter *out, sl_err *err)
{
    return sl_pg_stream(self, resume, out, err);
}

static int pg_check_connect(void *self, FILE *out, sl_err *err) { return sl_pg_check(self, out, err); }

void sl_pg_set_live(sl_pg_source *s, PGconn *conn) { sl_live_set(&s->live, conn ? PQsocket(conn) : -1); }

static void pg_interrupt(void *self)
{
    sl_pg_source *s = self;
    sl_live_shutdown(&s->live);
}

/* The sink committed a checkpoint: its LSN may now be confirmed to the
 * server (the stream sends it with the next status update). */
static void pg_committed(void *self, const char *token)
{
    sl_pg_source *s = self;
    const char *p = token ? strstr(token, "\"lsn\":\"") : NULL;
    uint64_t lsn;
    char text[32];
    if (!p)
        return;
    p += 7;
    size_t n = strcspn(p, "\"");
    if (n >= sizeof text)
        return;
    memcpy(text, p, n);
    text[n] = 0;
    if (sl_pg_lsn_parse(text, &lsn))
        return;
    pthread_mutex_lock(&s->ack_mu);
    if (lsn > s->acked_lsn)
        s->acked_lsn = lsn;
    pthread_mutex_unlock(&s->ack_mu);
}

static const char *pg_identity(void *self)
{
    sl_pg_source *s = self;
    return __atomic_load_n(&s->identity, __ATOMIC_ACQUIRE);
}

static int pg_digest(void *self, struct sl_digest_set *out, sl_err *err) { return sl_pg_digest(self, out, err); }

static void pg_destroy(void *self)
{
    sl_pg_source *s = self;
    if (!s)
        return;
    sl_live_destroy(&s->live);
    if (s->probe_conn)
        PQfinish(s->probe_conn);
    pthread_mutex_destroy(&s->ack_mu);
    free(s->identity);
    sl_table_filter_free(&s->filter);
    sl_schema_cache_free(&s->schemas);
    sl_pg_type_cache_free(&s->types);
    sl_pg_names_free(&s->names);
    free(s);
}

const sl_source_plugin sl_source_postgres = {
    .name = "postgres",
    .envelope_name = "postgresql",
    .description = "PostgreSQL logical replication (pgoutput) with lock-free parallel snapshots",
    .options = options,
    .validate = pg_validate,
    .create = pg_create,
    .check_connect = pg_check_connect,
    .run = pg_run,
    .committed = pg_committed,
    .identity = pg_identity,
    .interrupt = pg_interrupt,
    .probe = sl_pg_probe,
    .digest = pg_digest,
    .destroy = pg_destroy,
};
