/* mysql_check.c — `sluice check --connect` for the mysql source: every
 * server setting and privilege the binlog reader and the snapshot need,
 * each reported with the statement that fixes it. */
#define SL_LOG_COMPONENT "mysql source"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../core/check_report.h"
#include "../../snapshot/split_setup.h"
#include "mysql_source.h"

static void check_var(sl_check *c, MYSQL *m, const char *var, const char *want, const char *fix)
{
    char sql[128], what[256];
    char *val = NULL;
    sl_err e;
    snprintf(sql, sizeof sql, "SELECT @@GLOBAL.%s", var);
    if (sl_mysql_query_value(m, sql, &val, &e)) {
        snprintf(what, sizeof what, "%s: cannot be read (%s)", var, mysql_error(m));
        sl_check_report(c, 0, what, fix);
        return;
    }
    int ok = val && strcasecmp(val, want) == 0;
    if (!ok && strcmp(want, "ON") == 0 && val && strcmp(val, "1") == 0)
        ok = 1;
    snprintf(what, sizeof what, "%s = %s%s%s", var, val ? val : "(unset)", ok ? "" : ", sluice needs ",
             ok ? "" : want);
    sl_check_report(c, ok, what, fix);
    free(val);
}

/* Grants are matched as text: SHOW GRANTS is the only view that works for
 * every account type on both MySQL and MariaDB. */
static void check_grants(sl_check *c, MYSQL *m, const char *user)
{
    int repl_slave = 0, repl_client = 0, select_any = 0, all = 0;
    if (mysql_query(m, "SHOW GRANTS")) {
        sl_check_warn(c, "cannot read the grants of %s: %s", user, mysql_error(m));
        return;
    }
    MYSQL_RES *res = mysql_store_result(m);
    MYSQL_ROW row;
    while (res && (row = mysql_fetch_row(res))) {
        const char *g = row[0];
        if (!g)
            continue;
        int global = strstr(g, " ON *.* ") != NULL;
        if (strstr(g, "ALL PRIVILEGES") && global)
            all = 1;
        if (strstr(g, "REPLICATION SLAVE"))
            repl_slave = 1;
        if (strstr(g, "REPLICATION CLIENT") || strstr(g, "BINLOG MONITOR") || strstr(g, "SUPER"))
            repl_client = 1;
        if (strstr(g, "SELECT") || strstr(g, "ALL PRIVILEGES"))
            select_any = 1;
    }
    if (res)
        mysql_free_result(res);
    char fix[512];
    snprintf(fix, sizeof fix, "GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO '%s'@'%%';", user);
    sl_check_report(c, all || repl_slave, "privilege REPLICATION SLAVE (read the binlog)", fix);
    sl_check_report(c, all || repl_client, "privilege REPLICATION CLIENT / BINLOG MONITOR (SHOW MASTER STATUS)", fix);
    sl_check_report(c, all || select_any, "privilege SELECT (snapshots)", fix);
}

static void check_tables(sl_check *c, MYSQL *m, const sl_mysql_source *s)
{
    if (mysql_query(m, "SELECT t.table_schema, t.table_name, "
                       "(SELECT COUNT(*) FROM information_schema.statistics k WHERE k.table_schema=t.table_schema "
                       "AND k.table_name=t.table_name AND k.index_name='PRIMARY') "
                       "FROM information_schema.tables t WHERE t.table_type='BASE TABLE' AND t.table_schema NOT IN "
                       "('mysql','information_schema','performance_schema','sys')")) {
        sl_check_warn(c, "cannot list tables: %s", mysql_error(m));
        return;
    }
    MYSQL_RES *res = mysql_store_result(m);
    MYSQL_ROW row;
    int matched = 0;
    while (res && (row = mysql_fetch_row(res))) {
        if (!sl_table_filter_match(&s->filter, row[0], row[1]))
            continue;
        matched++;
        char keycol[256];
        sl_err kerr;
        if (atoi(row[2]) == 0 && sl_chunk_key_for(s->opts, row[0], row[1], keycol, sizeof keycol, &kerr) == 0) {
            sl_check_warn(c,
                          "table %s.%s has no primary key: its changes are keyed by the whole row, and a snapshot "
                          "needs scan.incremental.snapshot.chunk.key-column",
                          row[0], row[1]);
        }
    }
    if (res)
        mysql_free_result(res);
    char what[256];
    snprintf(what, sizeof what, "%d existing table%s match 'tables'", matched, matched == 1 ? "" : "s");
    if (matched)
        sl_check_report(c, 1, what, NULL);
    else {
        sl_check_warn(c, "no existing table matches 'tables' (%s); sluice will capture them once created",
                sl_opt_str(s->opts, "tables"));
    }
}

/* Another replica with our server-id would be cut off when we connect
 * (and the newcomer refuses itself at run time): say so now. */
static void check_server_id_free(sl_check *c, MYSQL *m, const sl_mysql_source *s)
{
    char holder[300], tag[300], what[512];
    sl_err why;
    int own;
    sl_mysql_replica_tag(s, tag, sizeof tag);
    int held = sl_mysql_replica_holder(m, s->conf.server_id, tag, holder, sizeof holder, &own, &why);
    if (held < 0) {
        sl_check_warn(c,
                      "cannot tell whether server-id %u is used by another replica (%s); GRANT REPLICATION MASTER "
                      "ADMIN ON *.* TO '%s'@'%%'; (MariaDB) lets sluice check it",
                      s->conf.server_id, why.msg, s->conf.user);
        return;
    }
    if (!held && own)
        snprintf(what, sizeof what, "server-id %u is used by this pipeline (%s), running now", s->conf.server_id,
                 tag);
    else if (!held)
        snprintf(what, sizeof what, "server-id %u is not used by another replica", s->conf.server_id);
    else if (strncmp(holder, "sluice:", 7) == 0)
        snprintf(what, sizeof what, "server-id %u is in use by sluice pipeline '%s'", s->conf.server_id, holder + 7);
    else
        snprintf(what, sizeof what, "server-id %u is in use by %s", s->conf.server_id, holder);
    sl_check_report(c, !held, what,
                    "give this pipeline a 'server-id' of its own (SHOW SLAVE HOSTS lists the ids in use)");
}

int sl_mysql_check(sl_mysql_source *s, FILE *out, sl_err *err)
{
    MYSQL *m;
    int rc = sl_mysql_connect(&s->conf, &m, err);
    if (rc)
        return rc;
    sl_check c = {.out = out};
    fprintf(out, SL_LOG_COMPONENT " %s:%u (server %s)\n", s->conf.host, s->conf.port, mysql_get_server_info(m));
    char tls[160], what[256];
    static const char *const modes[] = {"disabled", "preferred", "required", "verify-ca", "verify-identity"};
    sl_mysql_tls_describe(m, tls, sizeof tls);
    snprintf(what, sizeof what, "connection: %s (ssl-mode %s)", tls, modes[s->conf.ssl_mode]);
    if (!mysql_get_ssl_cipher(m) && s->conf.ssl_mode == SL_MYSQL_SSL_PREFERRED)
        sl_check_warn(&c, "%s: the server offers no TLS, so passwords and rows cross the network in clear text", what);
    else
        sl_check_report(&c, 1, what, NULL);
    sl_err verr;
    if (sl_mysql_server_supported(mysql_get_server_info(m), &verr))
        sl_check_report(&c, 0, verr.msg, "upgrade to MySQL 8.0 or later, or MariaDB 10.5 or later");
    check_var(&c, m, "log_bin", "ON",
              "start the server with log_bin (my.cnf [mysqld] log_bin=mysql-bin) and restart it");
    check_var(&c, m, "binlog_format", "ROW",
              "SET GLOBAL binlog_format = 'ROW'; and binlog_format=ROW in my.cnf [mysqld]");
    check_var(&c, m, "binlog_row_image", "FULL",
              "SET GLOBAL binlog_row_image = 'FULL'; and binlog_row_image=FULL in my.cnf [mysqld]");
    check_var(&c, m, "binlog_row_metadata", "FULL",
              "SET GLOBAL binlog_row_metadata = 'FULL'; and binlog_row_metadata=FULL in my.cnf [mysqld] "
              "(MariaDB 10.5+, MySQL 8.0.1+)");
    char *sid = NULL;
    sl_err e;
    if (!sl_mysql_query_value(m, "SELECT @@GLOBAL.server_id", &sid, &e)) {
        unsigned long id = sid ? strtoul(sid, NULL, 10) : 0;
        snprintf(what, sizeof what, "server_id = %lu", id);
        sl_check_report(&c, id != 0, what, "SET GLOBAL server_id = 1; and server_id=1 in my.cnf [mysqld]");
        snprintf(what, sizeof what, "server-id %u differs from the server's own server_id", s->conf.server_id);
        sl_check_report(&c, id != s->conf.server_id, what, "choose another 'server-id' in the pipeline file");
        free(sid);
    }
    check_server_id_free(&c, m, s);
    check_grants(&c, m, s->conf.user);
    check_tables(&c, m, s);
    mysql_close(m);
    char where[300];
    snprintf(where, sizeof where, "%s:%u", s->conf.host, s->conf.port);
    return sl_check_finish(&c, SL_LOG_COMPONENT, where, err);
}
