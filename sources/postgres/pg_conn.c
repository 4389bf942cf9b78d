/* pg_conn.c — libpq connections of the postgres source and the small
 * helpers every file of it uses. Every session gets the settings that make
 * value texts unambiguous (pg_types.h), whatever the server's defaults. */
#define SL_LOG_COMPONENT "postgres source"

#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/clock.h"
#include "../../core/log.h"
#include "pg_source.h"

static const char SESSION_OPTIONS[] = "-c DateStyle=ISO -c TimeZone=UTC -c IntervalStyle=iso_8601 "
                                      "-c extra_float_digits=3 -c bytea_output=hex";

const char *sl_pg_errmsg(PGconn *conn, char *buf, size_t len)
{
    snprintf(buf, len, "%s", conn ? PQerrorMessage(conn) : "out of memory");
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = 0;
    /* libpq prefixes "FATAL:  " / "ERROR:  " on server errors */
    return buf;
}

/* One connection attempt through libpq's non-blocking connect, so that a
 * stop request is noticed while the connect or the startup waits on a
 * server that does not answer (PQconnectPoll keeps no clock, so
 * connect.timeout is applied here). 1 connected (*out), 0 failed (msg
 * says why; *answered = 1 when the server took the connection and then
 * ended the attempt itself, not a timeout or an unreachable address), -1
 * stopped. */
static int connect_once(const sl_pg_conf *c, const char *const *keys, const char *const *vals, PGconn **out,
                        int *answered, char *msg, size_t len)
{
    *out = NULL;
    *answered = 0;
    int reached = 0; /* a TCP (or socket) connection to the server was made */
    PGconn *conn = PQconnectStartParams(keys, vals, 0);
    int64_t deadline = sl_mono_ms() + c->connect_timeout_ms;
    PostgresPollingStatusType st = conn && PQstatus(conn) != CONNECTION_BAD ? PGRES_POLLING_WRITING
                                                                             : PGRES_POLLING_FAILED;
    while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
        int64_t left = deadline - sl_mono_ms();
        int r = left <= 0 ? 0
                          : sl_live_wait_fd(c->stop, PQsocket(conn), st == PGRES_POLLING_READING ? POLLIN : POLLOUT,
                                            left);
        if (r == -1) {
            PQfinish(conn);
            return -1;
        }
        if (r == 0) {
            snprintf(msg, len, "timeout expired after %lld ms (connect.timeout)", (long long)c->connect_timeout_ms);
            PQfinish(conn);
            return 0;
        }
        st = PQconnectPoll(conn);
        ConnStatusType cs = PQstatus(conn);
        reached |= cs != CONNECTION_STARTED && cs != CONNECTION_BAD && cs != CONNECTION_NEEDED;
    }
    if (st == PGRES_POLLING_OK) {
        *out = conn;
        return 1;
    }
    *answered = reached;
    sl_pg_errmsg(conn, msg, len);
    PQfinish(conn);
    return 0;
}

int sl_pg_connect(const sl_pg_conf *c, int replication, PGconn **out, sl_err *err)
{
    char port[16], timeout[32], options[512];
    snprintf(port, sizeof port, "%u", c->port);
    snprintf(timeout, sizeof timeout, "%lld", (long long)((c->connect_timeout_ms + 999) / 1000));
    if (replication && c->work_mem)
        snprintf(options, sizeof options, "%s -c logical_decoding_work_mem=%s", SESSION_OPTIONS, c->work_mem);
    else
        snprintf(options, sizeof options, "%s", SESSION_OPTIONS);
    const char *keys[16] = {"host", "port", "user", "password", "dbname", "connect_timeout", "application_name",
                            "client_encoding", "options"};
    const char *vals[16] = {c->host, port, c->user, c->password, c->dbname, timeout, "sluice", "UTF8", options};
    size_t n = 9;
    if (replication) {
        keys[n] = "replication";
        vals[n++] = "database";
    }
    /* the ping below asks only whether the server is up: TLS it may refuse
     * to verify must not make it look down */
    const char *ping_keys[16], *ping_vals[16];
    memcpy(ping_keys, keys, sizeof keys);
    memcpy(ping_vals, vals, sizeof vals);
    ping_keys[n] = "sslmode";
    ping_vals[n] = "prefer";
    n += sl_pg_tls_params(c, c->ssl_mode, keys + n, vals + n);
    char msg[512] = "";
    int answered = 0;
    for (int attempt = 0;; attempt++) {
        int r = connect_once(c, keys, vals, out, &answered, msg, sizeof msg);
        if (r > 0)
            return 0;
        if (r < 0)
            return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "stopped while connecting to %s:%u", c->host, c->port);
        /* a server that is up and accepting connections refused this one
         * (password, pg_hba.conf, database, role, privileges, a
         * certificate): that does not get better; one unreachable or
         * starting up may. Asked only when the server itself ended the
         * attempt, so the ping answers at once and a stop never waits on
         * it. */
        int final = answered && PQpingParams(ping_keys, ping_vals, 0) == PQPING_OK;
        if (final || attempt >= c->max_retries)
            break;
        sl_warn("cannot connect to %s:%u (%s); retrying (%d of %d)", c->host, c->port, msg,
                attempt + 1, c->max_retries);
        if (sl_live_sleep(c->stop, 1000))
            return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "stopped while waiting to reconnect to %s:%u",
                           c->host, c->port);
    }
    sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "cannot connect to %s:%u database '%s' as '%s'%s (sslmode %s): %s",
            c->host, c->port, c->dbname, c->user, replication ? " (replication connection)" : "",
            sl_pg_tls_mode_name(c->ssl_mode), msg);
    /* asking again only helps when the server took part in the failure;
     * an unreachable one would make each question wait connect.timeout */
    return answered ? sl_pg_tls_diagnose(c, err, SL_ERUNTIME) : SL_ERUNTIME;
}

const char *sl_pg_sqlstate(const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return state ? state : "";
}

static int check_result(PGconn *conn, PGresult *res, const char *sql, PGresult **out, char *sqlstate, sl_err *err)
{
    if (sqlstate)
        snprintf(sqlstate, 6, "%s", sl_pg_sqlstate(res));
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        if (out)
            *out = res;
        else
            PQclear(res);
        return 0;
    }
    char msg[512];
    snprintf(msg, sizeof msg, "%s", res ? PQresultErrorMessage(res) : "");
    if (!msg[0])
        sl_pg_errmsg(conn, msg, sizeof msg);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n')
        msg[--n] = 0;
    PQclear(res);
    return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%.200s: %s", sql, msg);
}

int sl_pg_exec(PGconn *conn, const char *sql, PGresult **out, sl_err *err)
{
    return check_result(conn, PQexec(conn, sql), sql, out, NULL, err);
}

int sl_pg_exec_state(PGconn *conn, const char *sql, PGresult **out, char sqlstate[6], sl_err *err)
{
    return check_result(conn, PQexec(conn, sql), sql, out, sqlstate, err);
}

void sl_pg_exec_quiet(PGconn *conn, const char *sql) { PQclear(PQexec(conn, sql)); }

int sl_pg_exec_params(PGconn *conn, const char *sql, int n, const char *const *params, PGresult **out, sl_err *err)
{
    return check_result(conn, PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0), sql, out, NULL, err);
}

int sl_pg_lsn_parse(const char *text, uint64_t *lsn)
{
    unsigned int hi, lo;
    char tail;
    if (!text || sscanf(text, "%X/%X%c", &hi, &lo, &tail) != 2)
        return -1;
    *lsn = (uint64_t)hi << 32 | lo;
    return 0;
}

void sl_pg_lsn_format(uint64_t lsn, char *buf, size_t len)
{
    snprintf(buf, len, "%X/%X", (unsigned)(lsn >> 32), (unsigned)lsn);
}

void sl_pg_quote_ident(char *out, size_t len, const char *name)
{
    size_t o = 0;
    out[o++] = '"';
    for (const char *p = name; *p && o + 3 < len; p++) {
        if (*p == '"')
            out[o++] = '"';
        out[o++] = *p;
    }
    out[o++] = '"';
    out[o] = 0;
}

void sl_pg_table_ref(char *out, size_t len, const char *nsp, const char *rel)
{
    char a[300], b[300];
    sl_pg_quote_ident(a, sizeof a, nsp);
    sl_pg_quote_ident(b, sizeof b, rel);
    snprintf(out, len, "%s.%s", a, b);
}
