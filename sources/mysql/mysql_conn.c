/* mysql_conn.c — client connections to MySQL/MariaDB with the configured
 * timeout and retries, and the binlog position token. Shared by the
 * binlog reader, the snapshot readers and `check --connect`. */
#define SL_LOG_COMPONENT "mysql source"

#include <errno.h>
#include <jansson.h>
#include <mysqld_error.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../core/log.h"
#include "mysql_source.h"

/* One connection attempt through the library's non-blocking API, so that
 * a stop request is noticed while the TCP connect or the handshake waits on
 * a server that does not answer (connect.timeout bounds it otherwise).
 * 1 connected, 0 failed (error in m), -1 stopped. */
static int connect_once(const sl_mysql_conf *c, MYSQL *m)
{
    MYSQL *ret = NULL;
    int st = mysql_real_connect_start(&ret, m, c->host, c->user, c->password, NULL, c->port, NULL, 0);
    while (st) {
        short ev = (short)((st & MYSQL_WAIT_READ ? POLLIN : 0) | (st & MYSQL_WAIT_WRITE ? POLLOUT : 0) |
                           (st & MYSQL_WAIT_EXCEPT ? POLLPRI : 0));
        int64_t limit = st & MYSQL_WAIT_TIMEOUT ? (int64_t)mysql_get_timeout_value_ms(m) : -1;
        int r = sl_live_wait_fd(c->stop, (int)mysql_get_socket(m), ev, limit);
        if (r == -1) {
            /* a half-open handshake: shut the socket so that closing the
             * handle cannot wait on it */
            if ((int)mysql_get_socket(m) >= 0)
                shutdown((int)mysql_get_socket(m), SHUT_RDWR);
            return -1;
        }
        int ready = r == 0 ? MYSQL_WAIT_TIMEOUT
                           : (r & POLLIN ? MYSQL_WAIT_READ : 0) | (r & POLLOUT ? MYSQL_WAIT_WRITE : 0) |
                                 (r & POLLPRI ? MYSQL_WAIT_EXCEPT : 0) | (r & (POLLERR | POLLHUP) ? st & 7 : 0);
        if (r == -2)
            ready = st & 7;
        st = mysql_real_connect_cont(&ret, m, ready);
    }
    return ret ? 1 : 0;
}

int sl_mysql_connect(const sl_mysql_conf *c, MYSQL **out, sl_err *err) { return sl_mysql_connect_rt(c, 0, out, err); }

int sl_mysql_connect_rt(const sl_mysql_conf *c, unsigned read_timeout_s, MYSQL **out, sl_err *err)
{
    *out = NULL;
    int64_t backoff = 500;
    for (int attempt = 0;; attempt++) {
        MYSQL *m = mysql_init(NULL);
        if (!m)
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        unsigned timeout_s = (unsigned)((c->connect_timeout_ms + 999) / 1000);
        mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout_s);
        mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
        my_bool reconnect = 0;
        mysql_optionsv(m, MYSQL_OPT_RECONNECT, &reconnect);
        if (read_timeout_s)
            mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &read_timeout_s);
        mysql_optionsv(m, MYSQL_OPT_NONBLOCK, 0);
        sl_mysql_tls_apply(c, m);
        int r = connect_once(c, m);
        if (r > 0) {
            if (sl_mysql_tls_verify(c, m, err)) {
                mysql_close(m);
                return SL_ECONFIG;
            }
            *out = m;
            return 0;
        }
        if (r < 0) {
            mysql_close(m);
            return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "stopped while connecting to %s:%u", c->host, c->port);
        }
        unsigned code = mysql_errno(m);
        sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "cannot connect to %s:%u as %s: %s (error %u)", c->host,
                c->port, c->user, mysql_error(m), code);
        mysql_close(m);
        if (sl_mysql_tls_failure_is_final(c, code))
            return sl_mysql_tls_fix(c, code, err, SL_ECONFIG);
        /* a wrong password or unknown user will not fix itself */
        if (code == ER_ACCESS_DENIED_ERROR || code == ER_DBACCESS_DENIED_ERROR ||
            code == ER_ACCESS_DENIED_NO_PASSWORD_ERROR || attempt >= c->max_retries)
            return sl_mysql_tls_fix(c, code, err, SL_ERUNTIME);
        /* a stop that came while this attempt failed (the back-off's end
         * and the stop request can be milliseconds apart) announces no
         * retry that will never happen */
        int stopped = sl_live_stopped(c->stop);
        if (!stopped) {
            sl_log(SL_LOG_WARN, "%s; retrying in %lld ms (%d of %d)", err->msg, (long long)backoff, attempt + 1,
                   c->max_retries);
            stopped = sl_live_sleep(c->stop, backoff);
        }
        if (stopped)
            return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "stopped while waiting to reconnect to %s:%u", c->host,
                           c->port);
        backoff = backoff * 2 > 30000 ? 30000 : backoff * 2;
    }
}

int sl_mysql_query_value(MYSQL *m, const char *sql, char **out, sl_err *err)
{
    *out = NULL;
    if (mysql_query(m, sql))
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s: %s", sql, mysql_error(m));
    MYSQL_RES *res = mysql_store_result(m);
    if (!res)
        return 0;
    MYSQL_ROW row = mysql_fetch_row(res);
    if (row && row[0])
        *out = strdup(row[0]);
    mysql_free_result(res);
    return 0;
}

uint64_t sl_mysql_file_seq(const char *file)
{
    const char *dot = strrchr(file, '.');
    return dot ? strtoull(dot + 1, NULL, 10) : 0;
}

int sl_mysql_pos_format(const sl_mysql_pos *p, char *buf, size_t len)
{
    json_t *o = json_pack("{s:s, s:I, s:s}", "file", p->file, "pos", (json_int_t)p->pos, "gtid", p->gtid);
    if (!o)
        return -1;
    if (p->xa_file[0])
        json_object_set_new(o, "xa_from", json_pack("{s:s, s:I}", "file", p->xa_file, "pos", (json_int_t)p->xa_pos));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s)
        return -1;
    int rc = snprintf(buf, len, "%s", s) >= (int)len ? -1 : 0;
    free(s);
    return rc;
}

int sl_mysql_pos_parse(const char *text, sl_mysql_pos *p, sl_err *err)
{
    memset(p, 0, sizeof *p);
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    json_t *file = o ? json_object_get(o, "file") : NULL;
    json_t *pos = o ? json_object_get(o, "pos") : NULL;
    json_t *gtid = o ? json_object_get(o, "gtid") : NULL;
    if (!json_is_string(file) || !json_is_integer(pos)) {
        json_decref(o);
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "checkpoint position %s is not {file, pos}", text);
    }
    snprintf(p->file, sizeof p->file, "%s", json_string_value(file));
    p->pos = (uint64_t)json_integer_value(pos);
    if (json_is_string(gtid))
        snprintf(p->gtid, sizeof p->gtid, "%s", json_string_value(gtid));
    json_t *xa = json_object_get(o, "xa_from");
    json_t *xf = json_object_get(xa, "file"), *xp = json_object_get(xa, "pos");
    if (json_is_string(xf) && json_is_integer(xp)) {
        snprintf(p->xa_file, sizeof p->xa_file, "%s", json_string_value(xf));
        p->xa_pos = (uint64_t)json_integer_value(xp);
    }
    json_decref(o);
    return 0;
}
