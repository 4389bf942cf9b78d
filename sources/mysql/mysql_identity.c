/* mysql_identity.c — who the server is, and whether our replica server-id
 * is free on it.
 *
 * Identity: MySQL has a server_uuid; MariaDB has none, so its server_id
 * and GTID domain stand for it. A checkpoint records it (see
 * source_identity.h) and is only resumed on the same server.
 *
 * server-id: a server keeps one binlog dump per replica server_id and cuts
 * off the older connection when a second replica connects with the same
 * id, so a misconfigured second pipeline would kill the running one. sluice
 * registers its binlog connection (COM_REGISTER_SLAVE, host "sluice:<name>")
 * and, before it connects as a replica, looks the id up among the
 * registered replicas (SHOW SLAVE HOSTS): held by another pipeline or by a
 * real replica, the newcomer refuses itself. An entry of the same pipeline
 * is its own earlier connection (after a crash the server keeps the old
 * dump thread until its next write fails) and is taken over. On a stop the
 * dump thread is ended at once, so the id is free when sluice has exited.
 * Whoever asks who holds an id (the claim, check --connect, the stream's
 * reading of error 1236) skips the entry carrying its own tag.
 */
#define SL_LOG_COMPONENT "mysql source"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/log.h"
#include "../source_identity.h"
#include "mysql_source.h"

static char *query_or_null(MYSQL *m, const char *sql)
{
    char *v = NULL;
    sl_err e;
    /* an unknown variable (server_uuid on MariaDB) just is not there */
    if (sl_mysql_query_value(m, sql, &v, &e))
        return NULL;
    return v;
}

int sl_mysql_identity_check(sl_mysql_source *s, MYSQL *m, sl_err *err)
{
    char *id = query_or_null(m, "SELECT @@GLOBAL.server_id");
    char *uuid = query_or_null(m, "SELECT @@GLOBAL.server_uuid");
    char *domain = uuid ? NULL : query_or_null(m, "SELECT @@GLOBAL.gtid_domain_id");
    const char *kv[] = {"server_uuid", uuid, "server_id", id, "gtid_domain_id", domain, NULL};
    char *now = sl_identity_build(kv);
    free(id);
    free(uuid);
    free(domain);
    if (!now)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    return sl_identity_adopt(&s->identity, s->env.identity, now, "mysql source", s->conf.host, s->conf.port,
                             "a binlog position", err);
}

void sl_mysql_replica_tag(const sl_mysql_source *s, char *buf, size_t len)
{
    snprintf(buf, len, "sluice:%s", s->env.pipeline_name ? s->env.pipeline_name : "");
}

/* the rows of the replica list: SHOW SLAVE HOSTS, or SHOW REPLICAS on a
 * MySQL that dropped the old name */
static MYSQL_RES *replica_list(MYSQL *m, sl_err *err)
{
    if (mysql_query(m, "SHOW SLAVE HOSTS") && mysql_query(m, "SHOW REPLICAS")) {
        sl_errf(err, SL_ERUNTIME, "SHOW SLAVE HOSTS: %s (error %u)", mysql_error(m), mysql_errno(m));
        return NULL;
    }
    MYSQL_RES *res = mysql_store_result(m);
    if (!res)
        sl_errf(err, SL_ERUNTIME, "SHOW SLAVE HOSTS: %s (error %u)", mysql_error(m), mysql_errno(m));
    return res;
}

int sl_mysql_replica_holder(MYSQL *m, uint32_t server_id, const char *own_tag, char *holder, size_t len, int *own,
                            sl_err *err)
{
    holder[0] = 0;
    *own = 0;
    MYSQL_RES *res = replica_list(m, err);
    if (!res)
        return SL_ERUNTIME;
    unsigned n = mysql_num_fields(res);
    MYSQL_FIELD *f = mysql_fetch_fields(res);
    int c_id = -1, c_host = -1, c_port = -1;
    for (unsigned i = 0; i < n; i++) {
        if (strcasecmp(f[i].name, "Server_id") == 0)
            c_id = (int)i;
        else if (strcasecmp(f[i].name, "Host") == 0)
            c_host = (int)i;
        else if (strcasecmp(f[i].name, "Port") == 0)
            c_port = (int)i;
    }
    MYSQL_ROW row;
    int held = 0;
    while (c_id >= 0 && !held && (row = mysql_fetch_row(res))) {
        if (!row[c_id] || strtoul(row[c_id], NULL, 10) != server_id)
            continue;
        const char *host = c_host >= 0 && row[c_host] ? row[c_host] : "";
        if (own_tag && strcmp(host, own_tag) == 0) {
            *own = 1;
            continue;
        }
        held = 1;
        if (strncmp(host, "sluice:", 7) == 0)
            snprintf(holder, len, "%s", host);
        else if (*host)
            snprintf(holder, len, "a replica registered as %s:%s", host, c_port >= 0 && row[c_port] ? row[c_port] : "?");
        else
            snprintf(holder, len, "a replica that reports no host");
    }
    mysql_free_result(res);
    return held;
}

int sl_mysql_claim_server_id(sl_mysql_source *s, MYSQL *m, sl_err *err)
{
    char holder[300], tag[300];
    sl_err why;
    int own;
    sl_mysql_replica_tag(s, tag, sizeof tag);
    int held = sl_mysql_replica_holder(m, s->conf.server_id, tag, holder, sizeof holder, &own, &why);
    if (held < 0) {
        if (!s->replicas_unknown_warned) {
            s->replicas_unknown_warned = 1;
            sl_warn("cannot tell whether server-id %u is free on %s:%u (%s); grant REPLICATION "
                    "MASTER ADMIN (MariaDB) so that a second pipeline with the same server-id refuses itself "
                    "instead of cutting this one off",
                    s->conf.server_id, s->conf.host, s->conf.port, why.msg);
        }
        return 0;
    }
    if (!held) {
        if (own)
            sl_debug("server-id %u is registered by an earlier connection of this pipeline; taking it over",
                     s->conf.server_id);
        return 0;
    }
    char where[512], who[400];
    sl_opt_where(s->opts, "server-id", where, sizeof where);
    if (strncmp(holder, "sluice:", 7) == 0)
        snprintf(who, sizeof who, "sluice pipeline '%s'", holder + 7);
    else
        snprintf(who, sizeof who, "%s", holder);
    return sl_errf(err, SL_ECONFIG,
                   SL_LOG_PREFIX "server-id %u is in use by another replica of %s:%u (%s); connecting with it would "
                   "cut that replica off: give this pipeline a server-id of its own (%s)",
                   s->conf.server_id, s->conf.host, s->conf.port, who, where);
}

/* 1 when the KILL got an answer from the server on m (done, or the
 * thread had already gone), 0 when m itself failed */
static int kill_dump(MYSQL *m, unsigned long dump_thread)
{
    char sql[64];
    snprintf(sql, sizeof sql, "KILL CONNECTION %lu", dump_thread);
    if (!mysql_query(m, sql))
        return 1;
    sl_debug("%s: %s", sql, mysql_error(m));
    /* client errors (CR_*, 2000 and up): the connection is broken */
    return mysql_errno(m) < 2000;
}

void sl_mysql_release_server_id(const sl_mysql_source *s, MYSQL *open, unsigned long dump_thread)
{
    /* the server's dump thread waits for new events and only notices a
     * closed client when it next writes (up to heartbeat.interval later):
     * until then the id looks taken. End it from the stream's metadata
     * connection when one is open (a new one costs a TLS handshake and,
     * in libmariadb, a parse of the system CA bundle), else from a short
     * side connection; it is ours, so no privilege beyond our own user is
     * needed. */
    if (open && kill_dump(open, dump_thread))
        return;
    sl_mysql_conf c = s->conf;
    c.stop = NULL;
    c.max_retries = 0;
    c.connect_timeout_ms = 1000;
    MYSQL *m;
    sl_err e;
    if (sl_mysql_connect(&c, &m, &e))
        return;
    kill_dump(m, dump_thread);
    mysql_close(m);
}
