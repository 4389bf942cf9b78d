/* binlog_events.c — the small binlog events that frame transactions
 * (QUERY and the MariaDB / MySQL GTID events), parsed from their raw
 * bodies without any stream state, so that the reader and the fuzzer
 * (tests/fuzz/fuzz_binlog.c) run the same code.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "binlog_decode.h"

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

int sl_mysql_is_word(const char *q, size_t len, const char *w)
{
    size_t n = strlen(w);
    if (len < n || strncasecmp(q, w, n) != 0)
        return 0;
    return len == n || q[n] == ' ' || q[n] == '\t' || q[n] == '\n' || q[n] == ';';
}

/* thread id(4) exec time(4) db length(1) error code(2) status length(2),
 * status variables, db name + NUL, statement */
void sl_mysql_query_classify(sl_mysql_query *q, const char *sql, size_t n)
{
    while (n && (*sql == ' ' || *sql == '\n'))
        sql++, n--;
    q->sql = sql;
    q->len = n;
    if (sl_mysql_is_word(sql, n, "BEGIN") || sl_mysql_is_word(sql, n, "XA START"))
        q->kind = SL_QUERY_BEGIN;
    else if (sl_mysql_is_word(sql, n, "COMMIT") || sl_mysql_is_word(sql, n, "XA END") ||
             sl_mysql_is_word(sql, n, "XA COMMIT") || sl_mysql_is_word(sql, n, "ROLLBACK"))
        q->kind = SL_QUERY_COMMIT;
    else
        q->kind = SL_QUERY_OTHER;
}

int sl_mysql_query_parse(const uint8_t *body, size_t len, sl_mysql_query *q)
{
    memset(q, 0, sizeof *q);
    if (len < 13)
        return -1;
    q->thread_id = rd32(body);
    size_t db_len = body[8];
    size_t status_len = (size_t)body[11] | (size_t)body[12] << 8;
    size_t off = 13 + status_len + db_len + 1;
    if (off > len)
        return -1;
    q->db = (const char *)body + 13 + status_len;
    q->db_len = db_len;
    q->raw = body + off;
    q->raw_len = len - off;
    sl_mysql_query_classify(q, (const char *)body + off, len - off);
    return 0;
}

/* MariaDB: seq(8) domain(4) flags(1) */
int sl_mysql_gtid_mariadb(const uint8_t *body, size_t len, uint32_t server_id, char *out, size_t outlen,
                          int *standalone)
{
    if (len < 13)
        return -1;
    snprintf(out, outlen, "%" PRIu32 "-%" PRIu32 "-%" PRIu64, rd32(body + 8), server_id, rd64(body));
    *standalone = body[12] & 1;
    return 0;
}

