/* mysql_probe.c — where the server's binlog ends (probe() of source.h),
 * for the lag metric and `sluice status`. Positions become bytes counted
 * from the start of the oldest binlog the server keeps (SHOW BINARY LOGS),
 * so a lag across a rotation is the bytes of every file in between. One
 * connection of its own, opened on first use, one attempt, no retries:
 * a probe that fails is tried again a second later. */
#define SL_LOG_COMPONENT "mysql source"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/log.h"
#include "mysql_source.h"

int sl_mysql_probe(void *self, const char *committed, sl_source_probe *out, sl_err *err)
{
    sl_mysql_source *s = self;
    out->head[0] = 0;
    out->head_bytes = out->committed_bytes = -1;
    if (!s->probe_conn) {
        sl_mysql_conf c = s->conf;
        c.max_retries = 0;
        c.stop = NULL;
        int rc = sl_mysql_connect_rt(&c, 5, &s->probe_conn, err);
        if (rc)
            return rc;
    }
    sl_mysql_pos want;
    memset(&want, 0, sizeof want);
    int have_want = committed && !sl_mysql_pos_parse(committed, &want, err);
    if (mysql_query(s->probe_conn, "SHOW BINARY LOGS")) {
        int rc = sl_errf(err, SL_ERETRY, SL_LOG_PREFIX "SHOW BINARY LOGS: %s (error %u)", mysql_error(s->probe_conn),
                         mysql_errno(s->probe_conn));
        mysql_close(s->probe_conn);
        s->probe_conn = NULL;
        return rc;
    }
    MYSQL_RES *res = mysql_store_result(s->probe_conn);
    if (!res) {
        int rc = sl_errf(err, SL_ERETRY, SL_LOG_PREFIX "SHOW BINARY LOGS: %s", mysql_error(s->probe_conn));
        mysql_close(s->probe_conn);
        s->probe_conn = NULL;
        return rc;
    }
    long long total = 0;
    char last[200] = ""; /* binlog names are short; the head text must fit */
    unsigned long long last_size = 0;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        if (!row[0] || !row[1])
            continue;
        unsigned long long size = strtoull(row[1], NULL, 10);
        if (have_want && strcmp(row[0], want.file) == 0)
            out->committed_bytes = total + (long long)want.pos;
        total += (long long)size;
        snprintf(last, sizeof last, "%.199s", row[0]);
        last_size = size;
    }
    mysql_free_result(res);
    if (!last[0])
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "SHOW BINARY LOGS lists no binlog: is log_bin on?");
    out->head_bytes = total;
    snprintf(out->head, sizeof out->head, "{\"file\":\"%s\",\"pos\":%llu}", last, last_size);
    return 0;
}
