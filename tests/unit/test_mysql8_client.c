/* test_mysql8_client.c — what the client library (MariaDB Connector/C,
 * the one sluice links) does with MySQL 8's binlog events, against a
 * stand-in server on loopback: it refuses PARTIAL_UPDATE_ROWS_EVENT,
 * TRANSACTION_PAYLOAD_EVENT (CR_UNKNOWN_BINLOG_EVENT: neither is in its
 * event switch nor flagged ignorable) and GTID_TAGGED_LOG_EVENT
 * (CR_BINLOG_ERROR), the refused event is still whole in the
 * connection's read buffer (rpl_refused.c takes it from there), and the
 * stream goes on with the next event.
 *
 * The stand-in speaks just enough of the protocol (MySQL client/server
 * protocol: HandshakeV10, OK, text result sets with EOF, COM_BINLOG_DUMP
 * answered by [OK byte][event] packets, then EOF) and sends a binlog built
 * from MySQL's formats as in test_mysql8_events.c: FORMAT_DESCRIPTION
 * (MySQL 8.4, CRC32), GTID_LOG, TRANSACTION_PAYLOAD (BEGIN, TABLE_MAP,
 * WRITE_ROWS, XID, zstd), GTID_TAGGED_LOG, TABLE_MAP, PARTIAL_UPDATE_ROWS
 * (a JSON diff), QUERY COMMIT.
 *
 * It also asks for caching_sha2_password, MySQL 8's default, and sluice's
 * connect (sl_mysql_connect, ssl-mode disabled) gets through with the
 * library's plugin (Debian's libmariadb3 loads caching_sha2_password.so,
 * built on OpenSSL): the fast path (the server holds the password's hash
 * in its cache: the client's 32-byte scramble, then 0x01 0x03), and full
 * authentication over the plain connection (0x01 0x04: the client asks
 * for the RSA public key with 0x02, the server sends it as PEM, the
 * client sends the password XOR the nonce, RSA-OAEP encrypted). Facts
 * from MySQL's sql/auth/sha2_password.cc and sha2_password_common.cc
 * (the scramble XOR(SHA256(pw), SHA256(SHA256(SHA256(pw)), nonce)), the
 * 0x01-prefixed status bytes) and the plugin's source in MariaDB
 * Connector/C (plugins/auth/caching_sha2_pw.c).
 *
 * And where the snapshot starts on such a server: MySQL has no
 * binlog_snapshot_file/position status (MariaDB's, from its binlog group
 * commit: sql/log.cc, binlog_snapshot_file), so SHOW STATUS LIKE
 * 'binlog_snapshot_%' is empty there; scan.incremental.snapshot.algorithm
 * auto then places chunks by watermarks from SHOW BINARY LOG STATUS, and
 * snapshot-position refuses with the fix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <mysql.h>
#include <errmsg.h>
#include <mariadb_rpl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include "../../sources/mysql/binlog_decode.h"
#include "../../sources/mysql/mysql_snapshot.h"
#include "../../sources/mysql/mysql_source.h"
#include "binlog_bytes.h"

enum { TS = 1700000000 };
static const uint8_t rows[] = {0x15, 0, 0, 0, 0, 0, 1, 0, 2, 0, 2, 3, 0, 7, 0, 0, 0, 2, 0, 'h', 'i'};
static const uint8_t begin_q[] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'B', 'E', 'G', 'I', 'N'};
static const uint8_t commit_q[] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'C', 'O', 'M', 'M', 'I', 'T'};

/* TABLE_MAP of j.t (id INT PRIMARY KEY, a JSON, n INT, b JSON) and a
 * PARTIAL_UPDATE_ROWS_EVENT of it: a = {"k": 1, "arr": [1, 2, 3], "obj":
 * {"x": "y"}} changed by the diffs INSERT $.arr[3] 9, REPLACE $.obj."x"
 * "z", REMOVE $.k (sql/rpl_record.cc, sql/json_diff.cc; the bytes of
 * tests/fuzz/mysql8_seeds.py's partial_update()) */
static const uint8_t tm_jt[] = {
    0x21, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x6a, 0x00, 0x01, 0x74, 0x00,
    0x04, 0x03, 0xf5, 0x03, 0xf5, 0x02, 0x04, 0x04, 0x0a, 0x01, 0x01, 0x00, 0x04, 0x09,
    0x02, 0x69, 0x64, 0x01, 0x61, 0x01, 0x6e, 0x01, 0x62, 0x08, 0x01, 0x00};
static const uint8_t partial_rows[] = {
    0x21, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x04, 0x0f, 0x0f, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x3b, 0x00, 0x19,
    0x00, 0x01, 0x00, 0x1a, 0x00, 0x03, 0x00, 0x1d, 0x00, 0x03, 0x00, 0x05, 0x01, 0x00,
    0x02, 0x20, 0x00, 0x00, 0x2d, 0x00, 0x6b, 0x61, 0x72, 0x72, 0x6f, 0x62, 0x6a, 0x03,
    0x00, 0x0d, 0x00, 0x05, 0x01, 0x00, 0x05, 0x02, 0x00, 0x05, 0x03, 0x00, 0x01, 0x00,
    0x0e, 0x00, 0x0b, 0x00, 0x01, 0x00, 0x0c, 0x0c, 0x00, 0x78, 0x01, 0x79, 0x07, 0x00,
    0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x02, 0x01, 0x00, 0x07, 0x00, 0x05, 0x01, 0x00,
    0x01, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x22, 0x00, 0x00, 0x00, 0x01, 0x08, 0x24,
    0x2e, 0x61, 0x72, 0x72, 0x5b, 0x33, 0x5d, 0x03, 0x05, 0x09, 0x00, 0x00, 0x09, 0x24,
    0x2e, 0x6f, 0x62, 0x6a, 0x2e, 0x22, 0x78, 0x22, 0x03, 0x0c, 0x01, 0x7a, 0x02, 0x03,
    0x24, 0x2e, 0x6b, 0x08, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x02, 0x01, 0x00,
    0x07, 0x00, 0x05, 0x01, 0x00};

/* the events of the binlog, each one packet */
enum { NEV = 7 };
static vec events[NEV];

static void build_binlog(void)
{
    uint32_t pos = 4;
    vec body = {0};
    /* FORMAT_DESCRIPTION: version 4, server version, created, header
     * length 19, post-header lengths of MySQL 8.4's 42 types, CRC32 */
    put_le(&body, 4, 2);
    uint8_t ver[50] = "8.4.3";
    put(&body, ver, 50);
    put_le(&body, 0, 4);
    put8(&body, 19);
    /* control_events.cpp, Format_description_event: server_event_header_length */
    static const uint8_t phl[42] = {0, 13, 0,  8,  0,  0,  0,  0,  4, 0,  4,  0,  0,  0,  99, 0,  4,  26, 8,  0, 0,
                                    0, 0,  0,  0,  2,  0,  0,  0,  10, 10, 10, 42, 42, 0,  18, 52, 0,  10, 40, 0, 0};
    put(&body, phl, sizeof phl);
    put8(&body, 1);
    vec *e = &events[0];
    put_event(e, 15, TS, body.p, body.n, pos + 19 + (uint32_t)body.n + 4, 1);
    pos += (uint32_t)e->n;
    /* GTID_LOG: flags, SID, GNO 42, logical clocks, commit timestamp,
     * transaction length, server version */
    body.n = 0;
    put8(&body, 0);
    static const uint8_t sid[16] = {0x3e, 0x11, 0xfa, 0x47, 0x71, 0xca, 0x11, 0xe1,
                                    0x9e, 0x33, 0xc8, 0x0a, 0xa9, 0x42, 0x95, 0x62};
    put(&body, sid, 16);
    put_le(&body, 42, 8);
    put8(&body, 2);
    put_le(&body, 0, 8);
    put_le(&body, 1, 8);
    put_le(&body, 1733150000123456ULL, 7);
    put8(&body, 200);
    put_le(&body, 80403, 4);
    e = &events[1];
    put_event(e, 33, TS, body.p, body.n, pos + 19 + (uint32_t)body.n + 4, 1);
    pos += (uint32_t)e->n;
    /* TRANSACTION_PAYLOAD: the transaction's events without checksums */
    vec tx = {0};
    put_event(&tx, 2, TS, begin_q, sizeof begin_q, 0, 0);
    put_event(&tx, 19, TS, tm_czt, sizeof tm_czt, 0, 0);
    put_event(&tx, 30, TS, rows, sizeof rows, 0, 0);
    put_event(&tx, 16, TS, (const uint8_t *)"\x2a\0\0\0\0\0\0\0", 8, 0, 0);
    size_t zcap = ZSTD_compressBound(tx.n);
    uint8_t *z = malloc(zcap);
    size_t zn = ZSTD_compress(z, zcap, tx.p, tx.n, 3);
    assert_false(ZSTD_isError(zn));
    body.n = 0;
    put8(&body, 2), put8(&body, 1), put8(&body, 0);                          /* compression: zstd */
    put8(&body, 3), put8(&body, 1), put8(&body, (uint8_t)tx.n);              /* uncompressed size */
    put8(&body, 1), put8(&body, 1), put8(&body, (uint8_t)zn), put8(&body, 0); /* payload size, end */
    assert_true(tx.n < 251 && zn < 251);
    put(&body, z, zn);
    free(z);
    free(tx.p);
    e = &events[2];
    put_event(e, 40, TS, body.p, body.n, pos + 19 + (uint32_t)body.n + 4, 1);
    pos += (uint32_t)e->n;
    /* GTID_TAGGED_LOG "blue", GNO 43 (mysql::serialization; field ids
     * 0 flags, 1 UUID, 2 GNO, 3 tag, 4.. clocks) */
    body.n = 0;
    static const uint8_t tagged_fields[] = {
        0x00, 0x00,                                                 /* id 0: flags 0 */
        0x02, 0x7c, 0x22, 0xe9, 0x03, 0x8e, 0xe2, 0x29, 0x03, 0x22, /* id 1: the UUID's bytes, */
        0x85, 0x03, 0x79, 0x02, 0x66, 0x21, 0x03, 0x14, 0xa5, 0x02, /* those of 0x80 and more */
        0x84, 0x55, 0x02, 0xc4,                                     /* in two */
        0x04, 0xac,                                                 /* id 2: GNO 43, as 86 */
        0x06, 0x08, 'b', 'l', 'u', 'e',                             /* id 3: the tag */
        0x08, 0x00, 0x0a, 0x04,                                     /* ids 4, 5: clocks 0, 1 */
    };
    put8(&body, 0x02);                                    /* format version 1 */
    put8(&body, (uint8_t)((3 + sizeof tagged_fields) << 1)); /* size */
    put8(&body, 0x18);                                    /* last non-ignorable id 12 */
    put(&body, tagged_fields, sizeof tagged_fields);
    e = &events[3];
    put_event(e, 42, TS, body.p, body.n, pos + 19 + (uint32_t)body.n + 4, 1);
    pos += (uint32_t)e->n;
    e = &events[4];
    put_event(e, 19, TS, tm_jt, sizeof tm_jt, pos + 19 + (uint32_t)sizeof tm_jt + 4, 1);
    pos += (uint32_t)e->n;
    e = &events[5];
    put_event(e, 39, TS, partial_rows, sizeof partial_rows, pos + 19 + (uint32_t)sizeof partial_rows + 4, 1);
    pos += (uint32_t)e->n;
    e = &events[6];
    put_event(e, 2, TS, commit_q, sizeof commit_q, pos + 19 + (uint32_t)sizeof commit_q + 4, 1);
    free(body.p);
}

static void send_packet(int fd, uint8_t seq, const uint8_t *p, size_t n)
{
    uint8_t h[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), seq};
    assert_int_equal(write(fd, h, 4), 4);
    assert_int_equal(write(fd, p, n), (ssize_t)n);
}

static int read_full(int fd, uint8_t *p, size_t n)
{
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r <= 0)
            return -1;
        p += r, n -= (size_t)r;
    }
    return 0;
}

/* one packet's payload into buf (at most cap); its length, -1 at EOF;
 * *seq: its sequence number */
static long read_packet(int fd, uint8_t *buf, size_t cap, uint8_t *seq)
{
    uint8_t h[4];
    if (read_full(fd, h, 4))
        return -1;
    size_t n = (size_t)h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16;
    if (n > cap || read_full(fd, buf, n))
        return -1;
    *seq = h[3];
    return (long)n;
}

enum { AUTH_NATIVE, AUTH_SHA2_FAST, AUTH_SHA2_FULL };

/* what the stand-in serves and what it saw */
typedef struct stand_in {
    int lfd;
    int auth;              /* AUTH_* */
    const char *password;  /* the account's password (caching_sha2_password) */
    EVP_PKEY *key;         /* the server's RSA key (full authentication) */
    int asked_for_key;     /* the client sent 0x02 */
    int verified;          /* 1 the password checked out, -1 it did not */
    /* Binlog_snapshot_file/position it reports (NULL: none, as MySQL) */
    const char *snap_file, *snap_pos;
    int status_asked;      /* SHOW STATUS LIKE 'binlog_snapshot_%' came */
} stand_in;

static const uint8_t nonce[20] = "abcdefghijklmnopqrst";
static const uint8_t ok_pkt[] = {0, 0, 0, 2, 0, 0, 0};

/* the auth response of a HandshakeResponse41 (CLIENT_SECURE_CONNECTION: a
 * one-byte length, the server offers no CLIENT_PLUGIN_AUTH_LENENC_DATA) */
static const uint8_t *auth_response(const uint8_t *p, long n, size_t *len)
{
    long at = 32;
    while (at < n && p[at])
        at++;
    at++;
    if (at >= n || at + 1 + p[at] > n)
        return NULL;
    *len = p[at];
    return p + at + 1;
}

static void send_err(int fd, uint8_t seq)
{
    static const uint8_t err[] = {0xff, 0x15, 0x04, '#', '2', '8', '0', '0', '0', 'A', 'c', 'c', 'e', 's', 's', ' ',
                                  'd', 'e', 'n', 'i', 'e', 'd'};
    send_packet(fd, seq, err, sizeof err);
}

/* caching_sha2_password after the client's first answer (its scramble);
 * 0 authenticated (OK sent), -1 refused (ERR sent) */
static int sha2_auth(stand_in *st, int fd, const uint8_t *resp, size_t rlen, uint8_t seq)
{
    uint8_t stage1[32], stored[32], mix[32], buf[1 << 12];
    SHA256((const uint8_t *)st->password, strlen(st->password), stage1);
    SHA256(stage1, 32, stored); /* what the server's cache holds */
    if (st->auth == AUTH_SHA2_FAST) {
        /* scramble XOR SHA256(stored, nonce) gives SHA256(pw) back, whose
         * hash must be the stored one */
        uint8_t cat[52], back[32], check[32];
        memcpy(cat, stored, 32);
        memcpy(cat + 32, nonce, 20);
        SHA256(cat, 52, mix);
        for (int i = 0; i < 32 && rlen == 32; i++)
            back[i] = resp[i] ^ mix[i];
        SHA256(back, 32, check);
        st->verified = rlen == 32 && memcmp(check, stored, 32) == 0 ? 1 : -1;
        if (st->verified < 0) {
            send_err(fd, seq);
            return -1;
        }
        static const uint8_t fast_ok[] = {0x01, 0x03};
        send_packet(fd, seq++, fast_ok, sizeof fast_ok);
        send_packet(fd, seq, ok_pkt, sizeof ok_pkt);
        return 0;
    }
    static const uint8_t full[] = {0x01, 0x04};
    send_packet(fd, seq++, full, sizeof full);
    long n = read_packet(fd, buf, sizeof buf, &seq);
    if (n == 1 && buf[0] == 0x02) { /* the public key, please */
        st->asked_for_key = 1;
        BIO *b = BIO_new(BIO_s_mem());
        PEM_write_bio_PUBKEY(b, st->key);
        char *pem;
        long pl = BIO_get_mem_data(b, &pem);
        vec pk = {0};
        put8(&pk, 0x01);
        put(&pk, pem, (size_t)pl);
        send_packet(fd, (uint8_t)(seq + 1), pk.p, pk.n);
        free(pk.p);
        BIO_free(b);
        n = read_packet(fd, buf, sizeof buf, &seq);
    }
    uint8_t plain[512];
    size_t pn = sizeof plain;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(st->key, NULL);
    int ok = n > 0 && EVP_PKEY_decrypt_init(ctx) == 1 && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
             EVP_PKEY_decrypt(ctx, plain, &pn, buf, (size_t)n) == 1;
    EVP_PKEY_CTX_free(ctx);
    for (size_t i = 0; ok && i < pn; i++)
        plain[i] ^= nonce[i % 20];
    /* the password and its terminating NUL */
    st->verified = ok && pn == strlen(st->password) + 1 && memcmp(plain, st->password, pn) == 0 ? 1 : -1;
    if (st->verified < 0) {
        send_err(fd, (uint8_t)(seq + 1));
        return -1;
    }
    send_packet(fd, (uint8_t)(seq + 1), ok_pkt, sizeof ok_pkt);
    return 0;
}

static void put_lenenc_str(vec *v, const char *t)
{
    put8(v, (uint8_t)strlen(t));
    put(v, t, strlen(t));
}

/* a text result set of string columns: ncols names, nrows rows of cells */
static void send_result(int fd, int ncols, const char *const *names, int nrows, const char *const *cells)
{
    static const uint8_t eof[] = {0xfe, 0, 0, 2, 0};
    uint8_t seq = 1, count = (uint8_t)ncols;
    send_packet(fd, seq++, &count, 1);
    for (int c = 0; c < ncols; c++) {
        vec def = {0};
        put_lenenc_str(&def, "def");
        for (int i = 0; i < 3; i++) /* schema, table, org_table */
            put8(&def, 0);
        put_lenenc_str(&def, names[c]);
        put8(&def, 0); /* org_name */
        static const uint8_t fixed[] = {0x0c, 0x21, 0, 0, 1, 0, 0, 0xfd, 0, 0, 0, 0, 0};
        put(&def, fixed, sizeof fixed);
        send_packet(fd, seq++, def.p, def.n);
        free(def.p);
    }
    send_packet(fd, seq++, eof, sizeof eof);
    for (int r = 0; r < nrows; r++) {
        vec row = {0};
        for (int c = 0; c < ncols; c++)
            put_lenenc_str(&row, cells[r * ncols + c]);
        send_packet(fd, seq++, row.p, row.n);
        free(row.p);
    }
    send_packet(fd, seq, eof, sizeof eof);
}

static int query_is(const uint8_t *buf, long n, const char *sql)
{
    size_t l = strlen(sql);
    return n > (long)l && strncasecmp((const char *)buf + 1, sql, l) == 0;
}

static void *server(void *arg)
{
    stand_in *st = arg;
    int fd = accept(st->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    vec hs = {0};
    put8(&hs, 10);
    put(&hs, "8.4.3", 6);
    put_le(&hs, 7, 4);
    put(&hs, nonce, 8);
    put8(&hs, 0);
    put_le(&hs, 0xa201, 2); /* LONG_PASSWORD, PROTOCOL_41, TRANSACTIONS, SECURE_CONNECTION */
    put8(&hs, 0x21);
    put_le(&hs, 2, 2);
    put_le(&hs, 0x0008, 2); /* PLUGIN_AUTH */
    put8(&hs, 21);
    uint8_t zero[10] = {0};
    put(&hs, zero, 10);
    put(&hs, nonce + 8, 12);
    put8(&hs, 0);
    const char *plugin = st->auth == AUTH_NATIVE ? "mysql_native_password" : "caching_sha2_password";
    put(&hs, plugin, strlen(plugin) + 1);
    send_packet(fd, 0, hs.p, hs.n);
    free(hs.p);
    static uint8_t buf[1 << 16];
    uint8_t seq;
    long n = read_packet(fd, buf, sizeof buf, &seq);
    if (n < 0)
        goto out;
    if (st->auth == AUTH_NATIVE) {
        send_packet(fd, 2, ok_pkt, sizeof ok_pkt);
    } else {
        size_t rlen = 0;
        const uint8_t *resp = auth_response(buf, n, &rlen);
        uint8_t copy[64];
        if (!resp || rlen > sizeof copy)
            goto out;
        memcpy(copy, resp, rlen);
        if (sha2_auth(st, fd, copy, rlen, (uint8_t)(seq + 1)))
            goto out;
    }
    for (;;) {
        n = read_packet(fd, buf, sizeof buf, &seq);
        if (n < 1 || buf[0] == 0x01) /* COM_QUIT */
            break;
        if (buf[0] == 0x03 && (query_is(buf, n, "SET ") || query_is(buf, n, "START TRANSACTION") ||
                               query_is(buf, n, "COMMIT"))) {
            send_packet(fd, 1, ok_pkt, sizeof ok_pkt);
        } else if (buf[0] == 0x03 && query_is(buf, n, "SHOW STATUS LIKE 'binlog_snapshot_%'")) {
            static const char *const names[] = {"Variable_name", "Value"};
            const char *const cells[] = {"Binlog_snapshot_file", st->snap_file, "Binlog_snapshot_position",
                                         st->snap_pos};
            st->status_asked = 1;
            send_result(fd, 2, names, st->snap_file ? 2 : 0, cells);
        } else if (buf[0] == 0x03 && query_is(buf, n, "SHOW BINARY LOG STATUS")) {
            static const char *const names[] = {"File", "Position"};
            static const char *const cells[] = {"binlog.000007", "1234"};
            send_result(fd, 2, names, 1, cells);
        } else if (buf[0] == 0x03) { /* COM_QUERY: one column, one row "0" */
            static const uint8_t count[] = {1};
            static const uint8_t coldef[] = {3, 'd', 'e', 'f', 0, 0, 0, 1, 'x', 0, 0x0c, 0x21, 0,
                                             1, 0, 0, 0, 0xfd, 0, 0, 0, 0, 0};
            static const uint8_t eof[] = {0xfe, 0, 0, 2, 0};
            static const uint8_t row[] = {1, '0'};
            send_packet(fd, 1, count, sizeof count);
            send_packet(fd, 2, coldef, sizeof coldef);
            send_packet(fd, 3, eof, sizeof eof);
            send_packet(fd, 4, row, sizeof row);
            send_packet(fd, 5, eof, sizeof eof);
        } else if (buf[0] == 0x12) { /* COM_BINLOG_DUMP */
            seq = 1;
            {
                /* the artificial ROTATE a server sends first */
                vec rot = {0}, pk = {0};
                put_le(&rot, 4, 8);
                put(&rot, "binlog.000001", 13);
                put8(&pk, 0);
                size_t at = pk.n;
                put_le(&pk, 0, 4);
                put8(&pk, 4);
                put_le(&pk, 1, 4);
                put_le(&pk, 19 + rot.n + 4, 4);
                put_le(&pk, 0, 4);
                put_le(&pk, 0x20, 2);
                put(&pk, rot.p, rot.n);
                put_le(&pk, crc32(0, pk.p + at, (uInt)(pk.n - at)), 4);
                send_packet(fd, seq++, pk.p, pk.n);
                free(pk.p);
                free(rot.p);
            }
            for (int i = 0; i < NEV; i++) {
                vec pk = {0};
                put8(&pk, 0);
                put(&pk, events[i].p, events[i].n);
                send_packet(fd, seq++, pk.p, pk.n);
                free(pk.p);
            }
            static const uint8_t eof[] = {0xfe, 0, 0, 2, 0};
            send_packet(fd, seq, eof, sizeof eof);
        } else {
            send_packet(fd, 1, ok_pkt, sizeof ok_pkt);
        }
    }
out:
    close(fd);
    return NULL;
}

/* a stand-in listening on a loopback port, served by its own thread */
static unsigned start_stand_in(stand_in *st, pthread_t *th)
{
    st->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    assert_int_equal(bind(st->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(st->lfd, 1), 0);
    assert_int_equal(getsockname(st->lfd, (struct sockaddr *)&a, &al), 0);
    assert_int_equal(pthread_create(th, NULL, server, st), 0);
    return ntohs(a.sin_port);
}

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

static void refused_mysql8_events_are_taken_from_the_buffer(void **state)
{
    build_binlog();
    stand_in st = {.auth = AUTH_NATIVE};
    pthread_t th;
    unsigned port = start_stand_in(&st, &th);

    MYSQL *m = mysql_init(NULL);
    unsigned timeout = 10;
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &timeout);
    assert_non_null(mysql_real_connect(m, "127.0.0.1", "u", "", NULL, port, NULL, 0));
    MARIADB_RPL *rpl = mariadb_rpl_init(m);
    assert_non_null(rpl);
    mariadb_rpl_optionsv(rpl, MARIADB_RPL_FILENAME, "binlog.000001", (size_t)13);
    mariadb_rpl_optionsv(rpl, MARIADB_RPL_START, (unsigned long)4);
    mariadb_rpl_optionsv(rpl, MARIADB_RPL_SERVER_ID, (uint32_t)77);
    assert_int_equal(mariadb_rpl_open(rpl), 0);

    int got[NEV];
    char gtid[128] = "";
    char after[128] = "";
    int nrows_events = 0;
    MARIADB_RPL_EVENT *ev = NULL;
    ev = mariadb_rpl_fetch(rpl, ev);
    assert_non_null(ev);
    assert_int_equal(ev->event_type, 4); /* ROTATE */
    for (int i = 0; i < NEV; i++) {
        unsigned before = m->net.pkt_nr;
        ev = mariadb_rpl_fetch(rpl, ev);
        if (ev) {
            got[i] = ev->event_type;
            continue;
        }
        /* the library's refusal, with the error the stream looks for */
        unsigned e = mysql_errno(m) ? mysql_errno(m) : mariadb_rpl_errno(rpl);
        /* the library says unknown for 39 and 40, malformed for types
         * above its MYSQL_EVENTS_END (40), such as 42 */
        assert_int_equal(e, events[i].p[4] == 42 ? CR_BINLOG_ERROR : CR_UNKNOWN_BINLOG_EVENT);
        size_t len;
        const uint8_t *raw = sl_mysql_refused_event_bytes(&m->net, before, e, &len);
        assert_non_null(raw);
        assert_int_equal(len, events[i].n);
        assert_memory_equal(raw, events[i].p, len);
        assert_int_equal(crc32(0, raw, (uInt)(len - 4)), rd32(raw + len - 4));
        got[i] = raw[4];
        if (raw[4] == 39) { /* decoded against the TABLE_MAP before it */
            static const sl_mysql_server srv = {0, 80403};
            static const sl_mysql_decode_opts o = {SL_ZERO_DATE_NULL, NULL, NULL};
            sl_err err;
            uint64_t id;
            sl_table_schema *s;
            assert_int_equal(sl_mysql_parse_table_map(events[4].p + 19, events[4].n - 19 - 4, &srv, &id, &s, &err), 0);
            sl_mysql_rows it;
            sl_arena ar;
            sl_arena_init(&ar);
            sl_value *bv, *av;
            assert_int_equal(sl_mysql_rows_open(&it, 39, raw + 19, len - 19 - 4, s, &o, &err), 0);
            assert_int_equal(sl_mysql_rows_next(&it, &ar, &bv, &av, &err), 1);
            snprintf(after, sizeof after, "%.*s", (int)av[1].len, av[1].v.s);
            sl_arena_free(&ar);
            sl_schema_free(s);
        } else if (raw[4] == 42) {
            assert_int_equal(sl_mysql_gtid_tagged_text(raw + 19, len - 19 - 4, gtid, sizeof gtid), 0);
        } else if (raw[4] == 40) {
            sl_mysql_payload_reader r;
            sl_err err;
            sl_mysql_payload_init(&r, SL_MYSQL_PAYLOAD_EVENT_MAX);
            assert_int_equal(sl_mysql_payload_open(&r, raw + 19, len - 19 - 4, &err), 0);
            const uint8_t *inner;
            size_t ilen;
            while (sl_mysql_payload_next(&r, &inner, &ilen, &err) == 1)
                nrows_events += inner[4] == 30;
            assert_int_equal(r.nevents, 4);
            sl_mysql_payload_free(&r);
        }
    }
    assert_int_equal(got[0], 15);
    assert_int_equal(got[1], 33);
    assert_int_equal(got[2], 40);
    assert_int_equal(got[3], 42);
    assert_int_equal(got[4], 19);
    assert_int_equal(got[5], 39);
    assert_int_equal(got[6], 2); /* the stream went on after the refusals */
    assert_string_equal(after, "{\"arr\": [1, 2, 3, 9], \"obj\": {\"x\": \"z\"}}");
    assert_int_equal(nrows_events, 1);
    assert_string_equal(gtid, "3e11fa47-71ca-11e1-9e33-c80aa9429562:blue:43");
    /* the end of the stream is not taken for a refused event */
    unsigned before = m->net.pkt_nr;
    ev = mariadb_rpl_fetch(rpl, ev);
    assert_null(ev);
    size_t len;
    assert_null(sl_mysql_refused_event_bytes(&m->net, before, CR_UNKNOWN_BINLOG_EVENT, &len));
    mariadb_rpl_close(rpl);
    mysql_close(m);
    pthread_join(th, NULL);
    close(st.lfd);
    for (int i = 0; i < NEV; i++)
        free(events[i].p);
}

/* sluice's own connect against the stand-in asking for
 * caching_sha2_password; 0 or the error code, err.msg set */
static int sluice_connects(stand_in *st, const char *password, sl_err *err)
{
    pthread_t th;
    unsigned port = start_stand_in(st, &th);
    sl_mysql_conf c = {.host = "127.0.0.1", .port = port, .user = "u", .password = password,
                       .connect_timeout_ms = 10000, .max_retries = 0, .ssl_mode = SL_MYSQL_SSL_DISABLED};
    MYSQL *m = NULL;
    int rc = sl_mysql_connect(&c, &m, err);
    if (!rc) {
        char *v = NULL;
        assert_int_equal(sl_mysql_query_value(m, "SELECT 1", &v, err), 0);
        assert_string_equal(v, "0");
        free(v);
        mysql_close(m);
    }
    pthread_join(th, NULL);
    close(st->lfd);
    return rc;
}

static void caching_sha2_password_fast_path(void **state)
{
    stand_in st = {.auth = AUTH_SHA2_FAST, .password = "s3cret"};
    sl_err err;
    assert_int_equal(sluice_connects(&st, "s3cret", &err), 0);
    assert_int_equal(st.verified, 1);
    assert_int_equal(st.asked_for_key, 0);
    /* a wrong password does not get through (the check is real) */
    stand_in bad = {.auth = AUTH_SHA2_FAST, .password = "s3cret"};
    assert_int_not_equal(sluice_connects(&bad, "wrong", &err), 0);
    assert_int_equal(bad.verified, -1);
    assert_non_null(strstr(err.msg, "Access denied (error 1045)"));
}

static void caching_sha2_password_full_auth_with_the_servers_rsa_key(void **state)
{
    EVP_PKEY *key = EVP_RSA_gen(2048);
    assert_non_null(key);
    stand_in st = {.auth = AUTH_SHA2_FULL, .password = "s3cret", .key = key};
    sl_err err;
    assert_int_equal(sluice_connects(&st, "s3cret", &err), 0);
    assert_int_equal(st.asked_for_key, 1);
    assert_int_equal(st.verified, 1);
    stand_in bad = {.auth = AUTH_SHA2_FULL, .password = "s3cret", .key = key};
    assert_int_not_equal(sluice_connects(&bad, "wrong", &err), 0);
    assert_int_equal(bad.asked_for_key, 1);
    assert_int_equal(bad.verified, -1);
    assert_non_null(strstr(err.msg, "Access denied (error 1045)"));
    EVP_PKEY_free(key);
}

/* sl_mysql_snapshot_begin against the stand-in (MySQL 8.4.3) under one
 * algorithm: its return code; *p, *at and *watermark as it left them */
static int snapshot_begins(stand_in *st, int algo, sl_mysql_pos *p, sl_pos *at, int *watermark, sl_err *err)
{
    pthread_t th;
    unsigned port = start_stand_in(st, &th);
    sl_mysql_source src;
    memset(&src, 0, sizeof src);
    src.conf = (sl_mysql_conf){.host = "127.0.0.1", .port = port, .user = "u", .password = "",
                               .connect_timeout_ms = 10000, .max_retries = 0, .ssl_mode = SL_MYSQL_SSL_DISABLED,
                               .snap_algo = algo};
    MYSQL *m = NULL;
    assert_int_equal(sl_mysql_connect(&src.conf, &m, err), 0);
    memset(p, 0, sizeof *p);
    *watermark = -1;
    int rc = sl_mysql_snapshot_begin(&src, m, p, at, watermark, err);
    mysql_close(m);
    pthread_join(th, NULL);
    close(st->lfd);
    return rc;
}

static void no_snapshot_position_auto_turns_to_watermarks(void **state)
{
    sl_mysql_pos p;
    sl_pos at;
    int wm;
    sl_err err;
    /* MySQL: no binlog_snapshot_% status; auto starts at the binlog's end */
    stand_in mysql = {.auth = AUTH_NATIVE};
    assert_int_equal(snapshot_begins(&mysql, SL_MYSQL_ALGO_AUTO, &p, &at, &wm, &err), 0);
    assert_int_equal(mysql.status_asked, 1);
    assert_int_equal(wm, 1);
    assert_string_equal(p.file, "binlog.000007");
    assert_int_equal(p.pos, 1234);
    assert_int_equal(at.hi, 7);
    assert_int_equal(at.lo, 1234);
    /* snapshot-position has nothing to stand on there: refused with the fix */
    stand_in strict = {.auth = AUTH_NATIVE};
    assert_int_equal(snapshot_begins(&strict, SL_MYSQL_ALGO_POSITION, &p, &at, &wm, &err), SL_ECONFIG);
    assert_string_equal(err.msg, "mysql source: the server does not report binlog_snapshot_file/position "
                                 "(MariaDB does; MySQL does not), which scan.incremental.snapshot.algorithm: "
                                 "snapshot-position needs; set scan.incremental.snapshot.algorithm: watermark "
                                 "(or auto)");
    /* a server that reports one (MariaDB) keeps auto on the exact position */
    stand_in mariadb = {.auth = AUTH_NATIVE, .snap_file = "binlog.000005", .snap_pos = "777"};
    assert_int_equal(snapshot_begins(&mariadb, SL_MYSQL_ALGO_AUTO, &p, &at, &wm, &err), 0);
    assert_int_equal(wm, 0);
    assert_string_equal(p.file, "binlog.000005");
    assert_int_equal(p.pos, 777);
    assert_int_equal(at.hi, 5);
    assert_int_equal(at.lo, 777);
    /* watermark on a server that reports a snapshot position starts at the
     * lower of it and the binlog's end: the end can lie past a commit that
     * InnoDB does not show yet */
    stand_in wmark = {.auth = AUTH_NATIVE, .snap_file = "binlog.000005", .snap_pos = "777"};
    assert_int_equal(snapshot_begins(&wmark, SL_MYSQL_ALGO_WATERMARK, &p, &at, &wm, &err), 0);
    assert_int_equal(wmark.status_asked, 1);
    assert_int_equal(wm, 1);
    assert_string_equal(p.file, "binlog.000005");
    assert_int_equal(p.pos, 777);
    assert_int_equal(at.hi, 5);
    assert_int_equal(at.lo, 777);
    stand_in ahead = {.auth = AUTH_NATIVE, .snap_file = "binlog.000008", .snap_pos = "4"};
    assert_int_equal(snapshot_begins(&ahead, SL_MYSQL_ALGO_WATERMARK, &p, &at, &wm, &err), 0);
    assert_string_equal(p.file, "binlog.000007");
    assert_int_equal(p.pos, 1234);
    /* MySQL under watermark: the binlog's end */
    stand_in mysql_wm = {.auth = AUTH_NATIVE};
    assert_int_equal(snapshot_begins(&mysql_wm, SL_MYSQL_ALGO_WATERMARK, &p, &at, &wm, &err), 0);
    assert_string_equal(p.file, "binlog.000007");
    assert_int_equal(p.pos, 1234);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refused_mysql8_events_are_taken_from_the_buffer),
        cmocka_unit_test(caching_sha2_password_fast_path),
        cmocka_unit_test(caching_sha2_password_full_auth_with_the_servers_rsa_key),
        cmocka_unit_test(no_snapshot_position_auto_turns_to_watermarks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
