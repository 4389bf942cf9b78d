/* ha_source_lock.c — leadership as a lock on the source database, for
 * deployments without Kafka: MariaDB/MySQL GET_LOCK('sluice/<pipeline>')
 * and a PostgreSQL session advisory lock on hashtextextended of the same
 * name, each held by a dedicated session of the active member.
 *
 * A session lock lives exactly as long as its session, and the server
 * ends a silent session after ha.session.timeout: MariaDB's wait_timeout
 * and PostgreSQL's idle_session_timeout are set on the lock session. The
 * active proves the lock four times per timeout with a round trip bounded
 * by a read timeout, so a live active never goes silent long enough, and
 * a paused, partitioned or dead one loses the lock one timeout after its
 * last round trip reached the server; ha.c stops its commits after half
 * of that. Standbys wait in a short timed lock request (GET_LOCK with a
 * timeout, pg_advisory_lock under lock_timeout), so a release or the end
 * of the active's session wakes one of them at once.
 *
 * The connection settings are the source's own: its create() parses them
 * and this file connects with the source's connect functions.
 */
#define SL_LOG_COMPONENT "ha"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/clock.h"
#include "../../core/log.h"
#include "../../sources/mysql/mysql_source.h"
#include "../../sources/postgres/pg_source.h"
#include "ha.h"

typedef struct lock_co {
    const sl_source_plugin *plugin;
    void *src; /* the source instance, for its parsed connection settings */
    int is_pg;
    char lock_name[160]; /* sluice/<pipeline> */
    char member[192];
    int64_t session_ms;
    MYSQL *my;
    PGconn *pg;
} lock_co;

static void co_disconnect(lock_co *c)
{
    if (c->my)
        mysql_close(c->my);
    if (c->pg)
        PQfinish(c->pg);
    c->my = NULL;
    c->pg = NULL;
}

static void lock_name_of(const sl_config *cfg, char *out, size_t len)
{
    snprintf(out, len, "sluice/%s", sl_opt_str(&cfg->pipeline, "name"));
}

/* ---- MariaDB / MySQL ---- */

static int my_connect(const lock_co *c, MYSQL **out, sl_err *err)
{
    sl_mysql_conf conf = ((sl_mysql_source *)c->src)->conf;
    conf.max_retries = 0; /* the HA loop tries again */
    if (conf.connect_timeout_ms > c->session_ms)
        conf.connect_timeout_ms = c->session_ms;
    unsigned rt = (unsigned)((c->session_ms / 4 + 999) / 1000);
    int rc = sl_mysql_connect_rt(&conf, rt ? rt : 1, out, err);
    if (rc)
        return rc;
    char sql[128];
    snprintf(sql, sizeof sql, "SET SESSION wait_timeout = %lld", (long long)((c->session_ms + 999) / 1000));
    if (mysql_query(*out, sql)) {
        rc = sl_errf(err, SL_ERUNTIME, "%s on the lock session: %s", sql, mysql_error(*out));
        mysql_close(*out);
        *out = NULL;
    }
    return rc;
}

/* the single value of a query; NULL on SQL NULL; error on a lost session */
static int my_value(MYSQL *m, const char *sql, char *out, size_t len, sl_err *err)
{
    out[0] = 0;
    if (mysql_query(m, sql))
        return sl_errf(err, SL_ERUNTIME, "%s: %s (error %u)", sql, mysql_error(m), mysql_errno(m));
    MYSQL_RES *res = mysql_store_result(m);
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    if (row && row[0])
        snprintf(out, len, "%s", row[0]);
    if (res)
        mysql_free_result(res);
    return 0;
}

static void my_quote(MYSQL *m, const char *in, char *out, size_t len)
{
    char esc[400];
    mysql_real_escape_string(m, esc, in, (unsigned long)strnlen(in, 190));
    snprintf(out, len, "'%s'", esc);
}

/* ---- PostgreSQL ---- */

/* A query whose answer must come within wait_ms; a lost or silent
 * session is an error. sqlstate gets the server's code on an error. */
static int pg_timed(PGconn *pg, const char *sql, int64_t wait_ms, PGresult **out, char sqlstate[6], sl_err *err)
{
    *out = NULL;
    if (sqlstate)
        sqlstate[0] = 0;
    char msg[512];
    if (!PQsendQuery(pg, sql))
        return sl_errf(err, SL_ERUNTIME, "%s: %s", sql, sl_pg_errmsg(pg, msg, sizeof msg));
    int64_t deadline = sl_mono_ms() + wait_ms;
    while (PQisBusy(pg)) {
        int64_t left = deadline - sl_mono_ms();
        if (left <= 0)
            return sl_errf(err, SL_ERUNTIME, "%s: no answer within %lld ms", sql, (long long)wait_ms);
        struct pollfd pfd = {.fd = PQsocket(pg), .events = POLLIN};
        if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
            return sl_errf(err, SL_ERUNTIME, "%s: poll: %s", sql, strerror(errno));
        if (!PQconsumeInput(pg))
            return sl_errf(err, SL_ERUNTIME, "%s: %s", sql, sl_pg_errmsg(pg, msg, sizeof msg));
    }
    PGresult *res, *last = NULL;
    while ((res = PQgetResult(pg))) {
        PQclear(last);
        last = res;
    }
    if (!last || (PQresultStatus(last) != PGRES_TUPLES_OK && PQresultStatus(last) != PGRES_COMMAND_OK)) {
        const char *st = last ? PQresultErrorField(last, PG_DIAG_SQLSTATE) : NULL;
        if (sqlstate && st)
            snprintf(sqlstate, 6, "%s", st);
        sl_errf(err, SL_ERUNTIME, "%s: %s", sql, sl_pg_errmsg(pg, msg, sizeof msg));
        PQclear(last);
        return SL_ERUNTIME;
    }
    *out = last;
    return 0;
}

static int pg_exec_timed(PGconn *pg, const char *sql, int64_t wait_ms, sl_err *err)
{
    PGresult *res;
    int rc = pg_timed(pg, sql, wait_ms, &res, NULL, err);
    PQclear(res);
    return rc;
}

static int pg_connect_lock(const lock_co *c, PGconn **out, sl_err *err)
{
    sl_pg_conf conf = ((sl_pg_source *)c->src)->conf;
    conf.max_retries = 0;
    if (conf.connect_timeout_ms > c->session_ms)
        conf.connect_timeout_ms = c->session_ms;
    int rc = sl_pg_connect(&conf, 0, out, err);
    if (rc)
        return rc;
    char sql[1024], *app = PQescapeLiteral(*out, c->lock_name, strlen(c->lock_name));
    char *mem = PQescapeLiteral(*out, c->member, strlen(c->member));
    /* members find each other in pg_stat_activity by application_name */
    snprintf(sql, sizeof sql,
             "SELECT set_config('application_name', 'sluice ha ' || %s || ' ' || %s, false), "
             "set_config('idle_session_timeout', '%lld', false), set_config('lock_timeout', '200', false)",
             app ? app : "''", mem ? mem : "''", (long long)c->session_ms);
    PQfreemem(app);
    PQfreemem(mem);
    if ((rc = pg_exec_timed(*out, sql, c->session_ms, err))) {
        PQfinish(*out);
        *out = NULL;
    }
    return rc;
}

static void pg_key(PGconn *pg, const char *name, char *out, size_t len)
{
    char *lit = PQescapeLiteral(pg, name, strlen(name));
    snprintf(out, len, "hashtextextended(%s, 0)", lit ? lit : "''");
    PQfreemem(lit);
}

/* ---- the coordinator ---- */

static int lk_open(const sl_config *cfg, const char *member, int64_t session_ms, const volatile sig_atomic_t *stop,
                   void **self, sl_err *err)
{
    (void)stop;
    lock_co *c = calloc(1, sizeof *c);
    if (!c)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    c->plugin = cfg->source_plugin;
    c->is_pg = strcmp(c->plugin->name, "postgres") == 0;
    c->session_ms = session_ms;
    lock_name_of(cfg, c->lock_name, sizeof c->lock_name);
    snprintf(c->member, sizeof c->member, "%s", member);
    sl_source_env env = {.pipeline_name = sl_opt_str(&cfg->pipeline, "name"), .pipeline = &cfg->pipeline};
    int rc = c->plugin->create(&cfg->source, &env, &c->src, err);
    if (rc) {
        free(c);
        return rc;
    }
    *self = c;
    return 0;
}

static int lk_acquire(void *self, int wait_ms, sl_err *err)
{
    lock_co *c = self;
    char sql[1024], v[32];
    int rc;
    if (c->is_pg) {
        if (!c->pg && (rc = pg_connect_lock(c, &c->pg, err)))
            return -1;
        char key[256], state[6];
        pg_key(c->pg, c->lock_name, key, sizeof key);
        snprintf(sql, sizeof sql, "SELECT pg_advisory_lock(%s)", key);
        PGresult *res;
        /* lock_timeout (200 ms, set at connect) ends the wait */
        rc = pg_timed(c->pg, sql, wait_ms + c->session_ms / 4, &res, state, err);
        PQclear(res);
        if (!rc)
            return 1;
        if (strcmp(state, "55P03") == 0) /* lock_not_available: another member holds it */
            return 0;
        co_disconnect(c);
        return -1;
    }
    if (!c->my && (rc = my_connect(c, &c->my, err)))
        return -1;
    char name[512];
    my_quote(c->my, c->lock_name, name, sizeof name);
    snprintf(sql, sizeof sql, "SELECT GET_LOCK(%s, %.3f) /* sluice ha member %s */", name, wait_ms / 1000.0,
             c->member);
    if (my_value(c->my, sql, v, sizeof v, err)) {
        co_disconnect(c);
        return -1;
    }
    return strcmp(v, "1") == 0;
}

static int lk_check(void *self, int wait_ms, sl_err *err)
{
    lock_co *c = self;
    char sql[1024], v[32];
    if (c->is_pg) {
        if (!c->pg) {
            sl_errf(err, SL_ERUNTIME, "the lock session is closed");
            return 1;
        }
        /* a session advisory lock lasts as long as its session: a round
         * trip proves the session, and so the lock, is alive */
        if (pg_exec_timed(c->pg, "SELECT 1", wait_ms, err)) {
            sl_err_prefix(err, SL_ERUNTIME, "the PostgreSQL session holding lock %s is lost: ", c->lock_name);
            return 1;
        }
        return 0;
    }
    if (!c->my) {
        sl_errf(err, SL_ERUNTIME, "the lock session is closed");
        return 1;
    }
    char name[512];
    my_quote(c->my, c->lock_name, name, sizeof name);
    snprintf(sql, sizeof sql, "SELECT IS_USED_LOCK(%s) = CONNECTION_ID()", name);
    if (my_value(c->my, sql, v, sizeof v, err)) {
        sl_err_prefix(err, SL_ERUNTIME, "the MariaDB session holding lock %s is lost: ", c->lock_name);
        return 1;
    }
    if (strcmp(v, "1") != 0) {
        sl_errf(err, SL_ERUNTIME, "lock %s is no longer held by this member's session", c->lock_name);
        return 1;
    }
    return 0;
}

static void lk_release(void *self)
{
    lock_co *c = self;
    char sql[1024], v[32];
    sl_err e;
    /* an explicit release wakes a waiting standby before the disconnect
     * is processed; either frees the lock */
    if (c->pg) {
        pg_exec_timed(c->pg, "SELECT pg_advisory_unlock_all()", 1000, &e);
    } else if (c->my) {
        char name[512];
        my_quote(c->my, c->lock_name, name, sizeof name);
        snprintf(sql, sizeof sql, "SELECT RELEASE_LOCK(%s)", name);
        my_value(c->my, sql, v, sizeof v, &e);
    }
    co_disconnect(c);
}

static void lk_close(void *self)
{
    lock_co *c = self;
    if (!c)
        return;
    co_disconnect(c);
    c->plugin->destroy(c->src);
    free(c);
}

static int lk_status(const sl_config *cfg, json_t *view, sl_err *err)
{
    lock_co *c = NULL;
    int rc = lk_open(cfg, "status", 10000, NULL, (void **)&c, err);
    if (rc)
        return rc;
    char sql[2048];
    if (c->is_pg) {
        PGconn *pg;
        if (!(rc = pg_connect_lock(c, &pg, err))) {
            char *pat = PQescapeLiteral(pg, c->lock_name, strlen(c->lock_name));
            char key[256];
            pg_key(pg, c->lock_name, key, sizeof key);
            /* advisory lock keys split into classid (high half) and objid */
            snprintf(sql, sizeof sql,
                     "SELECT substr(a.application_name, length('sluice ha ' || %s || ' ') + 1), "
                     "coalesce(host(a.client_addr), 'local'), bool_or(l.granted IS TRUE) "
                     "FROM pg_stat_activity a LEFT JOIN pg_locks l ON l.pid = a.pid AND l.locktype = 'advisory' "
                     "AND l.granted AND ((l.classid::bigint << 32) | l.objid::bigint) = %s "
                     "WHERE a.application_name = 'sluice ha ' || %s || ' ' || "
                     "substr(a.application_name, length('sluice ha ' || %s || ' ') + 1) AND a.pid <> "
                     "pg_backend_pid() GROUP BY 1, 2 ORDER BY 3 DESC, 1",
                     pat, key, pat, pat);
            PQfreemem(pat);
            PGresult *res;
            if (!(rc = pg_timed(pg, sql, 10000, &res, NULL, err))) {
                int n = PQntuples(res), active = 0;
                char what[300];
                snprintf(what, sizeof what, "PostgreSQL advisory lock %s", c->lock_name);
                json_object_set_new(view, "coordinator", json_string(what));
                json_t *members = json_object_get(view, "members");
                for (int i = 0; i < n; i++) {
                    int is_active = strcmp(PQgetvalue(res, i, 2), "t") == 0;
                    active |= is_active;
                    json_array_append_new(members, json_pack("{s:s, s:s, s:s}", "member", PQgetvalue(res, i, 0),
                                                             "host", PQgetvalue(res, i, 1), "role",
                                                             is_active ? "active" : "standby"));
                }
                json_object_set_new(view, "active", json_boolean(active));
                PQclear(res);
            }
            PQfinish(pg);
        }
    } else {
        MYSQL *m;
        if (!(rc = my_connect(c, &m, err))) {
            char name[512], holder[64] = "", like[64];
            my_quote(m, c->lock_name, name, sizeof name);
            snprintf(sql, sizeof sql, "SELECT IS_USED_LOCK(%s)", name);
            if (!(rc = my_value(m, sql, holder, sizeof holder, err))) {
                char what[600];
                snprintf(what, sizeof what, "MariaDB/MySQL lock %s", c->lock_name);
                json_object_set_new(view, "coordinator", json_string(what));
                /* the standbys found below are those waiting right now */
                json_object_set_new(view, "count_known", json_false());
                json_object_set_new(view, "active", json_boolean(holder[0] != 0));
                json_t *members = json_object_get(view, "members");
                /* standbys wait inside GET_LOCK with their member name in
                 * a comment; the active's session is idle between proofs */
                snprintf(like, sizeof like, "%%/* sluice ha member %%");
                snprintf(sql, sizeof sql,
                         "SELECT ID, HOST, INFO FROM information_schema.PROCESSLIST WHERE ID = %s OR (INFO LIKE "
                         "CONCAT('SELECT GET_LOCK(', QUOTE(%s), '%%') AND INFO LIKE '%s') ORDER BY ID = %s DESC, ID",
                         holder[0] ? holder : "0", name, like, holder[0] ? holder : "0");
                if (mysql_query(m, sql) == 0) {
                    MYSQL_RES *res = mysql_store_result(m);
                    MYSQL_ROW row;
                    while (res && (row = mysql_fetch_row(res))) {
                        const char *mem = row[2] ? strstr(row[2], "member ") : NULL;
                        int is_active = holder[0] && strcmp(row[0], holder) == 0;
                        json_t *o = json_pack("{s:s, s:s, s:s}", "connection", row[0], "host", row[1] ? row[1] : "?",
                                              "role", is_active ? "active" : "standby");
                        json_object_set_new(o, "member", mem ? json_stringn(mem + 7, strcspn(mem + 7, " *"))
                                                             : json_null());
                        json_array_append_new(members, o);
                    }
                    if (res)
                        mysql_free_result(res);
                } else {
                    rc = sl_errf(err, SL_ERUNTIME, "ha status: listing the members of lock %s: %s", c->lock_name,
                                 mysql_error(m));
                }
            }
            mysql_close(m);
        }
    }
    lk_close(c);
    return rc;
}

const sl_ha_ops sl_ha_source_lock = {
    .name = "source-lock",
    .open = lk_open,
    .acquire = lk_acquire,
    .check = lk_check,
    .release = lk_release,
    .close = lk_close,
    .status = lk_status,
};
