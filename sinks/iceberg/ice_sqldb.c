/* ice_sqldb.c — the SQL catalog's database: sqlite (libsqlite3) or
 * PostgreSQL (libpq), behind four calls (open, exec with text parameters,
 * begin, probe) so ice_sqlcat.c writes each statement once. Statements use
 * PostgreSQL's $n placeholders; sqlite gets them as ?n (same numbering).
 * A database that cannot be reached, a lock not granted within the timeout
 * or a serialization failure is SL_ERETRY (the pipeline restarts from its
 * checkpoint); any other failure SL_ERUNTIME with the server's message. */
#define SL_LOG_COMPONENT "iceberg sink"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/log.h"
#include "ice_sink.h"

struct ice_db {
    sqlite3 *lite;
    PGconn *pg;
    char name[600];
};

const char *ice_db_name(const ice_db *d)
{
    return d->name;
}

static int open_sqlite(ice_db *d, const char *path, long timeout_ms, sl_err *err)
{
    snprintf(d->name, sizeof d->name, "sqlite database %s", path);
    int rc = sqlite3_open_v2(path, &d->lite, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK)
        return sl_errf(err, SL_ECONFIG, SL_LOG_PREFIX "cannot open the %s (catalog.properties.uri): %s", d->name,
                       d->lite ? sqlite3_errmsg(d->lite) : sqlite3_errstr(rc));
    sqlite3_busy_timeout(d->lite, (int)timeout_ms);
    return 0;
}

static int open_pg(ice_db *d, const char *uri, const char *user, const char *password, long timeout_ms,
                   sl_err *err)
{
    char timeout[24];
    snprintf(timeout, sizeof timeout, "%ld", timeout_ms < 2000 ? 2 : timeout_ms / 1000);
    const char *keys[] = {"dbname", "user", "password", "connect_timeout", "application_name", NULL};
    const char *vals[] = {uri, user, password, timeout, "sluice iceberg catalog", NULL};
    /* libpq skips a NULL value: the URI's or the environment's then */
    d->pg = PQconnectdbParams(keys, vals, 1);
    const char *db = d->pg ? PQdb(d->pg) : NULL, *host = d->pg ? PQhost(d->pg) : NULL;
    snprintf(d->name, sizeof d->name, "PostgreSQL database %s on %s", db ? db : "?", host ? host : "?");
    if (!d->pg || PQstatus(d->pg) != CONNECTION_OK)
        return sl_errf(err, SL_ERETRY, SL_LOG_PREFIX "cannot connect to the SQL catalog's PostgreSQL database "
                       "(catalog.properties.uri): %s", d->pg ? PQerrorMessage(d->pg) : "out of memory");
    return 0;
}

int ice_db_open(ice_db **out, const char *uri, const char *user, const char *password, long timeout_ms,
                sl_err *err)
{
    *out = NULL;
    ice_db *d = calloc(1, sizeof *d);
    if (!d)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    int rc;
    const char *p;
    if (!strncmp(uri, "jdbc:sqlite:", 12) || !strncmp(uri, "sqlite:///", 10)) {
        p = uri[0] == 'j' ? uri + 12 : uri + 9;
        if (!strncmp(p, "file:", 5))
            p += 5;
        /* Java's URIs may carry ?journal_mode=... : the path ends there */
        char path[512];
        snprintf(path, sizeof path, "%.*s", (int)strcspn(p, "?"), p);
        rc = open_sqlite(d, path, timeout_ms, err);
    } else if (!strncmp(uri, "jdbc:postgresql://", 18) || !strncmp(uri, "postgresql://", 13) ||
               !strncmp(uri, "postgres://", 11) || !strncmp(uri, "postgresql+psycopg2://", 22)) {
        char conn[1024];
        p = strstr(uri, "://") + 3;
        snprintf(conn, sizeof conn, "postgresql://%s", p);
        rc = open_pg(d, conn, user, password, timeout_ms, err);
    } else {
        rc = sl_errf(err, SL_ECONFIG, SL_LOG_PREFIX "catalog.properties.uri %s names no database the SQL catalog "
                     "knows: use jdbc:sqlite:<path> or jdbc:postgresql://host:port/db", uri);
    }
    if (rc) {
        ice_db_close(d);
        return rc;
    }
    *out = d;
    return 0;
}

void ice_db_close(ice_db *d)
{
    if (!d)
        return;
    if (d->lite)
        sqlite3_close(d->lite);
    if (d->pg)
        PQfinish(d->pg);
    free(d);
}

static int exec_sqlite(ice_db *d, const char *sql, int n, const char *const *params, char **val, long *rows,
                       sl_err *err)
{
    char *q = strdup(sql);
    if (!q)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    for (char *c = q; *c; c++)
        if (*c == '$')
            *c = '?';
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(d->lite, q, -1, &st, NULL);
    free(q);
    for (int i = 0; rc == SQLITE_OK && i < n; i++)
        rc = params[i] ? sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i + 1);
    int first = 1;
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW && first && val) {
            const unsigned char *t = sqlite3_column_text(st, 0);
            *val = t ? strdup((const char *)t) : NULL;
        }
        first &= rc != SQLITE_ROW;
    }
    int out = 0;
    if (rc != SQLITE_DONE) {
        int busy = rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
        out = sl_errf(err, busy ? SL_ERETRY : SL_ERUNTIME, SL_LOG_PREFIX "the SQL catalog's %s: %s (%.80s)", d->name,
                      sqlite3_errmsg(d->lite), sql);
    } else if (rows) {
        *rows = sqlite3_changes(d->lite);
    }
    sqlite3_finalize(st);
    return out;
}

static int exec_pg(ice_db *d, const char *sql, int n, const char *const *params, char **val, long *rows,
                   sl_err *err)
{
    PGresult *r = PQexecParams(d->pg, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType s = PQresultStatus(r);
    int rc = 0;
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        int retry = PQstatus(d->pg) != CONNECTION_OK || !state || !strncmp(state, "08", 2) ||
                    !strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "55P03");
        rc = sl_errf(err, retry ? SL_ERETRY : SL_ERUNTIME, SL_LOG_PREFIX "the SQL catalog's %s: %s(%.80s)", d->name,
                     PQerrorMessage(d->pg), sql);
        if (PQstatus(d->pg) != CONNECTION_OK)
            PQreset(d->pg);
    } else {
        if (val && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
            *val = strdup(PQgetvalue(r, 0, 0));
        if (rows)
            *rows = atol(PQcmdTuples(r));
    }
    PQclear(r);
    return rc;
}

int ice_db_exec(ice_db *d, const char *sql, int n, const char *const *params, char **val, long *rows, sl_err *err)
{
    if (val)
        *val = NULL;
    if (rows)
        *rows = 0;
    return d->lite ? exec_sqlite(d, sql, n, params, val, rows, err) : exec_pg(d, sql, n, params, val, rows, err);
}

int ice_db_begin(ice_db *d, sl_err *err)
{
    return ice_db_exec(d, d->lite ? "BEGIN IMMEDIATE" : "BEGIN", 0, NULL, NULL, NULL, err);
}

int ice_db_probe(ice_db *d, const char *sql)
{
    /* outside a transaction: a failed probe leaves nothing aborted */
    sl_err e;
    return ice_db_exec(d, sql, 0, NULL, NULL, NULL, &e) == 0;
}
