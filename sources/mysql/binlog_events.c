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
    if (sl_mysql_is_word(sql, n, "BEGIN"))
        q->kind = SL_QUERY_BEGIN;
    else if (sl_mysql_is_word(sql, n, "COMMIT") || sl_mysql_is_word(sql, n, "ROLLBACK"))
        q->kind = SL_QUERY_COMMIT;
    else if (sl_mysql_is_word(sql, n, "XA START") || sl_mysql_is_word(sql, n, "XA BEGIN"))
        q->kind = SL_QUERY_XA_START;
    else if (sl_mysql_is_word(sql, n, "XA END"))
        q->kind = SL_QUERY_XA_END;
    else if (sl_mysql_is_word(sql, n, "XA COMMIT"))
        q->kind = SL_QUERY_XA_COMMIT;
    else if (sl_mysql_is_word(sql, n, "XA ROLLBACK"))
        q->kind = SL_QUERY_XA_ROLLBACK;
    else
        q->kind = SL_QUERY_OTHER;
}

static void hex_into(char *out, size_t outlen, size_t *at, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n && *at + 2 < outlen; i++) {
        out[(*at)++] = digits[p[i] >> 4];
        out[(*at)++] = digits[p[i] & 15];
    }
    out[*at] = 0;
}

int sl_mysql_xa_prepare_xid(const uint8_t *body, size_t len, int *one_phase, char *out, size_t outlen)
{
    if (len < 13 || outlen < SL_XID_TEXT_MAX)
        return -1;
    uint32_t format = rd32(body + 1), gl = rd32(body + 5), bl = rd32(body + 9);
    /* an XID holds at most 64 + 64 bytes */
    if (gl > 64 || bl > 64 || 13 + (size_t)gl + bl > len)
        return -1;
    *one_phase = body[0] != 0;
    size_t at = 0;
    out[at++] = 'X';
    out[at++] = '\'';
    hex_into(out, outlen, &at, body + 13, gl);
    at += (size_t)snprintf(out + at, outlen - at, "',X'");
    hex_into(out, outlen, &at, body + 13 + gl, bl);
    snprintf(out + at, outlen - at, "',%" PRIu32, format);
    return 0;
}

void sl_mysql_xa_statement_xid(const char *sql, size_t len, char *out, size_t outlen)
{
    /* past "XA" and the second keyword */
    size_t i = 0;
    for (int word = 0; word < 2; word++) {
        while (i < len && (sql[i] == ' ' || sql[i] == '\t' || sql[i] == '\n'))
            i++;
        while (i < len && sql[i] != ' ' && sql[i] != '\t' && sql[i] != '\n')
            i++;
    }
    while (i < len && (sql[i] == ' ' || sql[i] == '\t' || sql[i] == '\n'))
        i++;
    size_t end = len;
    while (end > i && (sql[end - 1] == ' ' || sql[end - 1] == ';' || sql[end - 1] == '\n' || sql[end - 1] == '\t'))
        end--;
    if (end - i >= 9 && !strncasecmp(sql + end - 9, "ONE PHASE", 9)) {
        end -= 9;
        while (end > i && (sql[end - 1] == ' ' || sql[end - 1] == '\t'))
            end--;
    }
    snprintf(out, outlen, "%.*s", (int)(end - i), sql + i);
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

