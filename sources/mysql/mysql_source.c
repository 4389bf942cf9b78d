/* mysql_source.c — registration of the `mysql` source (MySQL 8 and
 * MariaDB 10.5+): its option table, option checks and lifecycle. The
 * replication loop lives in mysql_stream.c, server checks in mysql_check.c. */
#include "mysql_source.h"

#include "../../snapshot/split_setup.h"
#include "../metadata_list.h"

#include <stdlib.h>
#include <string.h>

#include "binlog_decode.h"
#include "mysql_snapshot.h"

static const sl_option_def options[] = {
    {"hostname", SL_OPT_STRING, NULL, 1, 0, 0, NULL, "IP address or hostname of the MySQL/MariaDB server."},
    {"port", SL_OPT_INT, "3306", 0, 1, 65535, NULL, "TCP port of the server."},
    {"username", SL_OPT_STRING, NULL, 1, 0, 0, NULL,
     "User to connect as; needs REPLICATION SLAVE, REPLICATION CLIENT and SELECT."},
    {"password", SL_OPT_SECRET, "", 0, 0, 0, NULL, "Password of the user; use ${env:NAME} or ${file:PATH}."},
    {"tables", SL_OPT_LIST, NULL, 1, 0, 0, NULL,
     "Tables to capture: comma-separated db.table regexes; '.' separates database and table, '\\.' matches any character."},
    {"tables.exclude", SL_OPT_LIST, NULL, 0, 0, 0, NULL, "Tables to leave out, same syntax as tables."},
    {"server-id", SL_OPT_STRING, "5400", 0, 0, 0, NULL,
     "Replica server id of the binlog connection (an integer, or a range 5400-5404 of which the first is used); must differ from every other replica's."},
    {"server-time-zone", SL_OPT_STRING, "UTC", 0, 0, 0, NULL,
     "Session time zone used when reading rows with SELECT; TIMESTAMP values are emitted in UTC either way."},
    {"ssl-mode", SL_OPT_ENUM, "preferred", 0, 0, 0, "disabled|preferred|required|verify-ca|verify-identity",
     "TLS of every connection (binlog, snapshot, checks): disabled = plaintext, preferred = TLS when the server "
     "offers it, required = TLS or fail (certificate not checked), verify-ca = the server's certificate must be "
     "signed by ssl-ca, verify-identity = verify-ca and the certificate must name hostname."},
    {"ssl-ca", SL_OPT_STRING, NULL, 0, 0, 0, NULL,
     "PEM file of the CA(s) the server's certificate must chain to (verify-ca, verify-identity; default: the "
     "system CAs in /etc/ssl/certs)."},
    {"ssl-cert", SL_OPT_STRING, NULL, 0, 0, 0, NULL,
     "PEM client certificate, for users created REQUIRE X509 / SUBJECT (needs ssl-key)."},
    {"ssl-key", SL_OPT_STRING, NULL, 0, 0, 0, NULL, "PEM private key of ssl-cert."},
    {"scan.startup.mode", SL_OPT_ENUM, "initial", 0, 0, 0,
     "initial|latest-offset|earliest-offset|specific-offset|timestamp|snapshot",
     "Where to start when no checkpoint exists: initial = snapshot then binlog, latest-offset = binlog from now, "
     "earliest-offset = oldest binlog on the server, specific-offset = the given file/pos or GTID set, "
     "timestamp = first event at or after scan.startup.timestamp-millis, snapshot = snapshot only, then stop."},
    {"scan.startup.specific-offset.file", SL_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Binlog file for specific-offset, e.g. mysql-bin.000003."},
    {"scan.startup.specific-offset.pos", SL_OPT_INT, "4", 0, 4, INT64_MAX, NULL,
     "Binlog position for specific-offset (4 = start of the file)."},
    {"scan.startup.specific-offset.gtid-set", SL_OPT_STRING, NULL, 0, 0, 0, NULL,
     "GTID set for specific-offset instead of file/pos (MariaDB: 0-1-100,1-2-5)."},
    {"scan.startup.timestamp-millis", SL_OPT_INT, NULL, 0, 0, INT64_MAX, NULL,
     "Epoch milliseconds for the timestamp startup mode."},
    SL_ON_LOG_LOSS_OPTION("the binlog a checkpoint resumes from was purged"),
    {"scan.incremental.snapshot.chunk.size", SL_OPT_INT, "8096", 0, 1, 100000000, NULL,
     "Rows per snapshot chunk."},
    {"scan.incremental.snapshot.algorithm", SL_OPT_ENUM, "auto", 0, 0, 0, "auto|snapshot-position|watermark",
     "How a snapshot chunk is placed in the binlog: snapshot-position = each chunk is read in a consistent "
     "snapshot whose exact binlog position the server reports (MariaDB binlog_snapshot_file/position, InnoDB "
     "tables); watermark = the binlog position is read before and after each chunk and the keys the binlog "
     "changed in between are taken from the binlog (MySQL 8, Percona, Aurora, non-InnoDB tables); auto = "
     "snapshot-position where the server reports the position and every captured table is InnoDB, else "
     "watermark."},
    {"scan.incremental.snapshot.chunk.key-column", SL_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Column to split tables without a primary key by."},
    {"scan.snapshot.fetch.size", SL_OPT_INT, "1024", 0, 1, 1000000, NULL, "Rows fetched per round trip while snapshotting."},
    {"heartbeat.interval", SL_OPT_DURATION, "30s", 0, 100, 86400000, NULL,
     "How often an idle server sends a heartbeat, so a quiet server is not taken for a dead one."},
    {"connect.timeout", SL_OPT_DURATION, "30s", 0, 100, 3600000, NULL, "Time allowed to connect before a retry."},
    {"connect.max-retries", SL_OPT_INT, "3", 0, 0, 1000000, NULL,
     "Connection attempts after the first before giving up (also after a lost connection)."},
    {"zero-date.handling", SL_OPT_ENUM, "null", 0, 0, 0, "null|string",
     "How zero dates such as 0000-00-00 are emitted: null, or the string the server prints."},
    {"metadata.list", SL_OPT_LIST, NULL, 0, 0, 0, NULL, "Metadata columns transforms may read: op_ts."},
    {"schema-change.enabled", SL_OPT_BOOL, "true", 0, 0, 0, NULL,
     "Emit schema-change events (false: sinks never see them; rows still carry the new shape)."},
    {"scan.newly-added-table.enabled", SL_OPT_BOOL, "true", 0, 0, 0, NULL,
     "Tables newly matching tables are snapshotted on the next start while the others stream (always so)."},
    {"scan.binlog.newly-added-table.enabled", SL_OPT_BOOL, "true", 0, 0, 0, NULL,
     "Tables created while streaming that match tables are captured from their first change (always so)."},
    {"treat-tinyint1-as-boolean.enabled", SL_OPT_BOOL, "true", 0, 0, 0, NULL,
     "Accepted from Flink files; TINYINT(1) stays an integer (0/1) because the binlog does not carry display "
     "widths."},
    SL_OPTION_END,
};

static int parse_server_id(const char *text, uint32_t *out)
{
    char *end;
    unsigned long v = strtoul(text, &end, 10);
    if (end == text || v == 0 || v > 4294967295UL)
        return -1;
    if (*end == '-') {
        char *end2;
        unsigned long hi = strtoul(end + 1, &end2, 10);
        if (end2 == end + 1 || *end2 || hi < v)
            return -1;
    } else if (*end) {
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

static int mysql_validate(const sl_options *o, sl_err *err)
{
    char where[512];
    uint32_t id;
    if (parse_server_id(sl_opt_str(o, "server-id"), &id)) {
        sl_opt_where(o, "server-id", where, sizeof where);
        return sl_errf(err, SL_ECONFIG,
                       "%s: 'server-id' must be a positive integer or a range like 5400-5404, got '%s'",
                       where, sl_opt_str(o, "server-id"));
    }
    const char *mode = sl_opt_str(o, "scan.startup.mode");
    if (strcmp(mode, "specific-offset") == 0 && !sl_opt_is_set(o, "scan.startup.specific-offset.file") &&
        !sl_opt_is_set(o, "scan.startup.specific-offset.gtid-set")) {
        sl_opt_where(o, "scan.startup.mode", where, sizeof where);
        return sl_errf(err, SL_ECONFIG,
                       "%s: scan.startup.mode 'specific-offset' needs scan.startup.specific-offset.file "
                       "(and .pos) or scan.startup.specific-offset.gtid-set",
                       where);
    }
    if (strcmp(mode, "timestamp") == 0 && !sl_opt_is_set(o, "scan.startup.timestamp-millis")) {
        sl_opt_where(o, "scan.startup.mode", where, sizeof where);
        return sl_errf(err, SL_ECONFIG,
                       "%s: scan.startup.mode 'timestamp' needs scan.startup.timestamp-millis", where);
    }
    int trc = sl_mysql_tls_validate(o, err);
    if (trc)
        return trc;
    static const char *const metadata[] = {"op_ts", NULL};
    int mrc = sl_check_metadata_list(o, "mysql source", metadata, err);
    if (mrc)
        return mrc;
    char keycol[256];
    if (sl_chunk_key_for(o, NULL, NULL, keycol, sizeof keycol, err) < 0)
        return SL_ECONFIG;
    sl_table_filter f;
    if (sl_table_filter_init(&f, sl_opt_str(o, "tables"), sl_opt_str(o, "tables.exclude"), err)) {
        sl_opt_where(o, "tables", where, sizeof where);
        return sl_err_prefix(err, SL_ECONFIG, "%s: ", where);
    }
    sl_table_filter_free(&f);
    return 0;
}

static int mysql_create(const sl_options *o, const sl_source_env *env, void **self, sl_err *err)
{
    int rc = mysql_validate(o, err);
    if (rc)
        return rc;
    sl_mysql_source *s = calloc(1, sizeof *s);
    if (!s)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    s->opts = o;
    s->env = *env;
    sl_mysql_conf *c = &s->conf;
    c->host = sl_opt_str(o, "hostname");
    c->port = (unsigned)sl_opt_num(o, "port");
    c->user = sl_opt_str(o, "username");
    c->password = sl_opt_str(o, "password");
    parse_server_id(sl_opt_str(o, "server-id"), &c->server_id);
    c->startup = (int)sl_opt_num(o, "scan.startup.mode");
    c->spec_file = sl_opt_str(o, "scan.startup.specific-offset.file");
    c->spec_pos = (uint64_t)sl_opt_num(o, "scan.startup.specific-offset.pos");
    c->spec_gtid = sl_opt_str(o, "scan.startup.specific-offset.gtid-set");
    c->start_ts_ms = sl_opt_num(o, "scan.startup.timestamp-millis");
    c->heartbeat_ms = sl_opt_num(o, "heartbeat.interval");
    c->connect_timeout_ms = sl_opt_num(o, "connect.timeout");
    c->max_retries = (int)sl_opt_num(o, "connect.max-retries");
    c->zero_date_mode = sl_opt_num(o, "zero-date.handling") == 0 ? SL_ZERO_DATE_NULL : SL_ZERO_DATE_STRING;
    c->time_zone = sl_opt_str(o, "server-time-zone");
    c->on_log_loss = (int)sl_opt_num(o, "scan.on-log-loss");
    c->ssl_mode = (int)sl_opt_num(o, "ssl-mode");
    c->ssl_ca = sl_opt_str(o, "ssl-ca");
    c->ssl_cert = sl_opt_str(o, "ssl-cert");
    c->ssl_key = sl_opt_str(o, "ssl-key");
    c->snap_algo = (int)sl_opt_num(o, "scan.incremental.snapshot.algorithm");
    sl_schema_cache_init(&s->schemas);
    sl_live_init(&s->live);
    c->stop = &s->live;
    rc = sl_table_filter_init(&s->filter, sl_opt_str(o, "tables"), sl_opt_str(o, "tables.exclude"), err);
    if (rc) {
        sl_live_destroy(&s->live);
        free(s);
        return rc;
    }
    *self = s;
    return 0;
}

static int mysql_run(void *self, const char *resume, sl_emitter *out, sl_err *err)
{
    return sl_mysql_stream(self, resume, out, err);
}

static int mysql_check_connect(void *self, FILE *out, sl_err *err) { return sl_mysql_check(self, out, err); }

void sl_mysql_set_live(sl_mysql_source *s, MYSQL *m) { sl_live_set(&s->live, m ? (int)mysql_get_socket(m) : -1); }

static void mysql_interrupt(void *self)
{
    sl_mysql_source *s = self;
    sl_live_shutdown(&s->live);
}

static const char *mysql_identity(void *self)
{
    sl_mysql_source *s = self;
    return __atomic_load_n(&s->identity, __ATOMIC_ACQUIRE);
}

static int mysql_digest(void *self, struct sl_digest_set *out, sl_err *err) { return sl_mysql_digest(self, out, err); }

static void mysql_destroy(void *self)
{
    sl_mysql_source *s = self;
    if (!s)
        return;
    sl_live_destroy(&s->live);
    if (s->probe_conn)
        mysql_close(s->probe_conn);
    free(s->identity);
    sl_table_filter_free(&s->filter);
    sl_schema_cache_free(&s->schemas);
    free(s);
}

const sl_source_plugin sl_source_mysql = {
    .name = "mysql",
    .description = "MySQL 8 and MariaDB 10.5+ binlog reader with lock-free parallel snapshots",
    .options = options,
    .validate = mysql_validate,
    .create = mysql_create,
    .check_connect = mysql_check_connect,
    .run = mysql_run,
    .committed = NULL,
    .identity = mysql_identity,
    .interrupt = mysql_interrupt,
    .probe = sl_mysql_probe,
    .digest = mysql_digest,
    .destroy = mysql_destroy,
};
