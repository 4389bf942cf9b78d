/* pg_check.c — `sluice check --connect` for the postgres source: every
 * server setting and privilege the WAL reader and the snapshot need, each
 * reported with the statement that fixes it. */
#define SL_LOG_COMPONENT "postgres source"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/check_report.h"
#include "../../snapshot/split_setup.h"
#include "pg_source.h"

static int query_one(PGconn *conn, const char *sql, int n, const char *const *params, char *out, size_t len)
{
    sl_err e;
    PGresult *res;
    if (sl_pg_exec_params(conn, sql, n, params, &res, &e))
        return -1;
    int ok = PQntuples(res) > 0;
    snprintf(out, len, "%s", ok ? PQgetvalue(res, 0, 0) : "");
    PQclear(res);
    return ok ? 0 : -1;
}

static void check_settings(sl_check *c, PGconn *conn)
{
    char v[128], what[512];
    query_one(conn, "SELECT current_setting('wal_level')", 0, NULL, v, sizeof v);
    snprintf(what, sizeof what, "wal_level = %s%s", v, strcmp(v, "logical") ? ", sluice needs logical" : "");
    sl_check_report(c, strcmp(v, "logical") == 0, what, "ALTER SYSTEM SET wal_level = logical; then restart the server");

    char used[32] = "0";
    query_one(conn, "SELECT count(*) FROM pg_replication_slots", 0, NULL, used, sizeof used);
    query_one(conn, "SELECT current_setting('max_replication_slots')", 0, NULL, v, sizeof v);
    int max = atoi(v), in_use = atoi(used);
    snprintf(what, sizeof what, "max_replication_slots = %d, %d in use (sluice needs 2 free: its slot and a "
             "temporary one per snapshot)", max, in_use);
    char fix[256];
    snprintf(fix, sizeof fix, "ALTER SYSTEM SET max_replication_slots = %d; then restart the server",
             in_use + 4 > 10 ? in_use + 4 : 10);
    sl_check_report(c, max - in_use >= 2, what, fix);

    query_one(conn, "SELECT count(*) FROM pg_stat_replication", 0, NULL, used, sizeof used);
    query_one(conn, "SELECT current_setting('max_wal_senders')", 0, NULL, v, sizeof v);
    max = atoi(v);
    in_use = atoi(used);
    snprintf(what, sizeof what, "max_wal_senders = %d, %d in use (sluice needs 2 free)", max, in_use);
    snprintf(fix, sizeof fix, "ALTER SYSTEM SET max_wal_senders = %d; then restart the server",
             in_use + 4 > 10 ? in_use + 4 : 10);
    sl_check_report(c, max - in_use >= 2, what, fix);

    query_one(conn, "SELECT current_setting('server_version_num')::int >= 140000", 0, NULL, v, sizeof v);
    if (v[0] != 't')
        sl_check_warn(c, "server older than PostgreSQL 14: large transactions arrive only after their commit "
                "(decoding.streaming needs 14+); set decoding.streaming: false");
}

static void check_role(sl_check *c, PGconn *conn, const char *user)
{
    char v[16], what[256], fix[256];
    query_one(conn, "SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user", 0, NULL, v,
              sizeof v);
    snprintf(what, sizeof what, "role %s has the REPLICATION attribute", user);
    snprintf(fix, sizeof fix, "ALTER ROLE \"%s\" WITH REPLICATION; (and a 'replication' line for it in pg_hba.conf)",
             user);
    sl_check_report(c, v[0] == 't', what, fix);
}

static void check_tables(sl_check *c, PGconn *conn, sl_pg_source *s)
{
    char **names = NULL;
    size_t n = 0;
    sl_err e;
    if (sl_pg_list_tables(s, conn, &names, &n, &e)) {
        sl_check_warn(c, "%s", e.msg);
        return;
    }
    char what[1024], fix[1024], v[16];
    const char *pub[] = {s->pub_name};
    int pub_exists = query_one(conn, "SELECT puballtables FROM pg_publication WHERE pubname = $1", 1, pub, v,
                               sizeof v) == 0;
    int all_tables = pub_exists && v[0] == 't';
    if (n == 0) {
        snprintf(what, sizeof what, "no table in database '%s' matches 'tables' (%s)", s->conf.dbname,
                 sl_opt_str(s->opts, "tables"));
        sl_check_report(c, 0, what, "create the tables first, or correct 'tables' in the pipeline file");
    } else {
        snprintf(what, sizeof what, "%zu existing table%s match 'tables'", n, n == 1 ? "" : "s");
        sl_check_report(c, 1, what, NULL);
    }
    for (size_t i = 0; i < n; i++) {
        char ref[700], nsp[256];
        const char *dot = strchr(names[i], '.');
        snprintf(nsp, sizeof nsp, "%.*s", (int)(dot - names[i]), names[i]);
        sl_pg_table_ref(ref, sizeof ref, nsp, dot + 1);
        const char *p[] = {ref, s->pub_name};
        query_one(conn, "SELECT has_table_privilege($1, 'SELECT')", 1, p, v, sizeof v);
        snprintf(what, sizeof what, "SELECT on %s", names[i]);
        snprintf(fix, sizeof fix, "GRANT SELECT ON %s TO \"%s\";", ref, s->conf.user);
        sl_check_report(c, v[0] == 't', what, fix);
        query_one(conn,
                  "SELECT c.relreplident::text || (EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND "
                  "i.indisprimary))::text FROM pg_class c WHERE c.oid = $1::regclass",
                  1, p, v, sizeof v);
        int has_pk = strstr(v, "true") != NULL;
        snprintf(what, sizeof what, "%s has a primary key or REPLICA IDENTITY FULL (its UPDATEs and DELETEs can be "
                 "published)", names[i]);
        snprintf(fix, sizeof fix, "ALTER TABLE %s REPLICA IDENTITY FULL; (or add a primary key)", ref);
        sl_check_report(c, has_pk || v[0] == 'f' || v[0] == 'i', what, fix);
        char keycol[256];
        sl_err kerr;
        if (!has_pk && sl_chunk_key_for(s->opts, nsp, dot + 1, keycol, sizeof keycol, &kerr) == 0) {
            snprintf(what, sizeof what, "table %s has no primary key: its changes are keyed by the whole row, and a "
                     "snapshot needs scan.incremental.snapshot.chunk.key-column", names[i]);
            sl_check_warn(c, "%s", what);
        }
        if (pub_exists && !all_tables) {
            query_one(conn,
                      "SELECT EXISTS (SELECT 1 FROM pg_publication_tables WHERE pubname = $2 AND "
                      "format('%I.%I', schemaname, tablename) = $1)",
                      2, p, v, sizeof v);
            snprintf(what, sizeof what, "publication %s publishes %s", s->pub_name, names[i]);
            snprintf(fix, sizeof fix, "ALTER PUBLICATION \"%s\" ADD TABLE %s;", s->pub_name, ref);
            sl_check_report(c, v[0] == 't' || s->conf.publication_create, what, fix);
        } else if (!pub_exists) {
            query_one(conn,
                      "SELECT pg_has_role(c.relowner, 'USAGE') OR (SELECT rolsuper FROM pg_roles WHERE rolname = "
                      "current_user) FROM pg_class c WHERE c.oid = $1::regclass",
                      1, p, v, sizeof v);
            snprintf(what, sizeof what, "%s may create publication %s for %s (owns the table)", s->conf.user,
                     s->pub_name, names[i]);
            snprintf(fix, sizeof fix, "as the table's owner: CREATE PUBLICATION \"%s\" FOR TABLE %s; (add the other "
                     "captured tables to the same statement)", s->pub_name, ref);
            sl_check_report(c, v[0] == 't' && s->conf.publication_create, what, fix);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static void check_slot(sl_check *c, PGconn *conn, sl_pg_source *s)
{
    const char *p[] = {s->slot_name};
    sl_err e;
    PGresult *res;
    if (sl_pg_exec_params(conn,
                          PQserverVersion(conn) >= 130000
                              ? "SELECT plugin, database, active, coalesce(confirmed_flush_lsn::text, ''), "
                                "coalesce(wal_status, '') = 'lost' FROM pg_replication_slots WHERE slot_name = $1"
                              : "SELECT plugin, database, active, coalesce(confirmed_flush_lsn::text, ''), false "
                                "FROM pg_replication_slots WHERE slot_name = $1",
                          1, p, &res, &e)) {
        sl_check_warn(c, "%s", e.msg);
        return;
    }
    char what[512], fix[512];
    if (PQntuples(res) == 0) {
        snprintf(what, sizeof what, "replication slot %s does not exist yet (created at the first run)",
                 s->slot_name);
        if (s->conf.startup == SL_PG_START_COMMITTED) {
            snprintf(fix, sizeof fix, "SELECT pg_create_logical_replication_slot('%s', 'pgoutput'); or use "
                     "scan.startup.mode initial", s->slot_name);
            sl_check_report(c, 0, "scan.startup.mode committed-offset needs an existing replication slot", fix);
        } else {
            sl_check_report(c, 1, what, NULL);
        }
    } else {
        int ok = strcmp(PQgetvalue(res, 0, 0), "pgoutput") == 0 && strcmp(PQgetvalue(res, 0, 1), s->conf.dbname) == 0;
        snprintf(what, sizeof what, "replication slot %s: plugin %s, database %s, confirmed %s%s", s->slot_name,
                 PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 3),
                 PQgetvalue(res, 0, 2)[0] == 't' ? ", in use now" : "");
        snprintf(fix, sizeof fix, "choose another slot.name (this slot belongs to something else)");
        sl_check_report(c, ok, what, fix);
        if (ok && PQgetvalue(res, 0, 4)[0] == 't') {
            snprintf(what, sizeof what, "replication slot %s was invalidated (wal_status = lost, "
                     "max_slot_wal_keep_size): the changes after its position are gone", s->slot_name);
            snprintf(fix, sizeof fix, "set scan.on-log-loss: resnapshot (the tables are read anew), or drop the "
                     "slot (SELECT pg_drop_replication_slot('%s')) and remove the pipeline's checkpoint",
                     s->slot_name);
            sl_check_report(c, 0, what, fix);
        }
    }
    PQclear(res);
}

int sl_pg_check(sl_pg_source *s, FILE *out, sl_err *err)
{
    PGconn *conn;
    int rc = sl_pg_connect(&s->conf, 0, &conn, err);
    if (rc)
        return rc;
    sl_check c = {.out = out};
    fprintf(out, SL_LOG_COMPONENT " %s:%u database %s (server %s)\n", s->conf.host, s->conf.port, s->conf.dbname,
            PQparameterStatus(conn, "server_version"));
    char tls[160], what[256];
    sl_pg_tls_describe(conn, tls, sizeof tls);
    snprintf(what, sizeof what, "connection: %s (sslmode %s)", tls, sl_pg_tls_mode_name(s->conf.ssl_mode));
    if (!PQsslInUse(conn) && s->conf.ssl_mode > SL_PG_SSL_DISABLE)
        sl_check_warn(&c, "%s: the server offers no TLS, so passwords and rows cross the network in clear text", what);
    else
        sl_check_report(&c, 1, what, NULL);
    check_settings(&c, conn);
    check_role(&c, conn, s->conf.user);
    check_tables(&c, conn, s);
    check_slot(&c, conn, s);
    PQfinish(conn);
    if (!c.failures) {
        /* the walsender connection itself: pg_hba.conf may refuse it alone */
        PGconn *repl;
        sl_err e;
        sl_pg_conf once = s->conf;
        once.max_retries = 0;
        if (sl_pg_connect(&once, 1, &repl, &e)) {
            sl_check_report(&c, 0, e.msg, "allow it in pg_hba.conf: host replication <user> <address> scram-sha-256");
        } else {
            sl_check_report(&c, 1, "replication connection accepted", NULL);
            PQfinish(repl);
        }
    }
    char where[300];
    snprintf(where, sizeof where, "%s:%u", s->conf.host, s->conf.port);
    return sl_check_finish(&c, SL_LOG_COMPONENT, where, err);
}
