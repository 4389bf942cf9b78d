/* test_mysql8_events.c — MySQL 8 events no MariaDB writes, on byte
 * vectors built here from MySQL's documented formats (no MySQL 8 server
 * installs from the reachable registries):
 *  - TRANSACTION_PAYLOAD_EVENT (binlog_transaction_compression=ON): the
 *    header per libs/mysql/binlog/event/codecs/binary.cpp
 *    (Transaction_payload::encode / decode: <type><length><value>
 *    net_field_length fields, 1 payload size, 2 compression type, 3
 *    uncompressed size, ended by 0), compression types per
 *    compression/base.h (ZSTD 0, NONE 255), the payload a zstd frame of
 *    the transaction's events without checksums (the transaction cache
 *    compressed as is; compression/payload_event_buffer_istream.cpp reads
 *    them back event by event, each at most max_log_event_size);
 *  - GTID_TAGGED_LOG_EVENT: Gtid_event::define_fields (control_events.h)
 *    serialized per libs/mysql/serialization (readme.md,
 *    variable_length_integers.h, serializer_impl.hpp,
 *    serializer_default_impl.hpp).
 * Inner events carry the 19-byte common header (binlog_event.h:
 * timestamp 4, type 1, server id 4, event length 4, next position 4,
 * flags 2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "../../core/arena.h"
#include "../../sources/mysql/binlog_decode.h"
#include "binlog_bytes.h"

static const sl_mysql_server mysql80 = {0, 80036};

/* WRITE_ROWS_EVENT (v2, type 30) of cz.t: n rows (k, 'x' * (k % 90)), every
 * seventh s NULL */
static vec write_rows(int first, int n)
{
    vec v = {0};
    put(&v, "\x15\0\0\0\0\0", 6); /* table id */
    put_le(&v, 1, 2);             /* flags: STMT_END_F */
    put_le(&v, 2, 2);             /* extra data: only its own length */
    put8(&v, 2);                  /* columns */
    put8(&v, 0x03);               /* both present */
    for (int k = first; k < first + n; k++) {
        int null = k % 7 == 0;
        put8(&v, null ? 0x02 : 0x00);
        put_le(&v, (uint64_t)k, 4);
        if (!null) {
            put_le(&v, (uint64_t)(k % 90), 2);
            for (int i = 0; i < k % 90; i++)
                put8(&v, 'x');
        }
    }
    return v;
}

static const uint8_t begin_q[] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'B', 'E', 'G', 'I', 'N'};
static const uint8_t xid[] = {0x2a, 0, 0, 0, 0, 0, 0, 0};

/* the transaction's events, as the server's transaction cache holds them */
static vec transaction(int nrows)
{
    vec t = {0}, rows = write_rows(1, nrows);
    put_event(&t, 2, 1700000000, begin_q, sizeof begin_q, 0, 0);
    put_event(&t, 19, 1700000000, tm_czt, sizeof tm_czt, 0, 0);
    put_event(&t, 30, 1700000000, rows.p, rows.n, 0, 0);
    put_event(&t, 16, 1700000001, xid, sizeof xid, 0, 0);
    free(rows.p);
    return t;
}

static void put_netlen(vec *v, uint64_t x)
{
    if (x < 251) {
        put8(v, (uint8_t)x);
    } else if (x < 65536) {
        put8(v, 252);
        put_le(v, x, 2);
    } else if (x < 16777216) {
        put8(v, 253);
        put_le(v, x, 3);
    } else {
        put8(v, 254);
        put_le(v, x, 8);
    }
}

static int netlen_size(uint64_t x) { return x < 251 ? 1 : x < 65536 ? 3 : x < 16777216 ? 4 : 9; }

static void put_field(vec *v, int type, uint64_t value)
{
    put_netlen(v, (uint64_t)type);
    put_netlen(v, (uint64_t)netlen_size(value));
    put_netlen(v, value);
}

/* a TRANSACTION_PAYLOAD_EVENT body as Transaction_payload::encode writes
 * it: compression type, uncompressed size (not for NONE), payload size,
 * end mark, payload */
static vec payload_event(const vec *tx, int compression)
{
    vec z = {0}, body = {0};
    if (compression == SL_MYSQL_PAYLOAD_ZSTD) {
        z.cap = ZSTD_compressBound(tx->n);
        z.p = malloc(z.cap);
        z.n = ZSTD_compress(z.p, z.cap, tx->p, tx->n, 3);
        assert_false(ZSTD_isError(z.n));
    } else {
        put(&z, tx->p, tx->n);
    }
    put_field(&body, 2, (uint64_t)compression);
    if (compression != SL_MYSQL_PAYLOAD_NONE)
        put_field(&body, 3, tx->n);
    put_field(&body, 1, z.n);
    put8(&body, 0);
    put(&body, z.p, z.n);
    free(z.p);
    return body;
}

/* every row of a rows event body decoded, as "k=s" lines */
static void rows_text(const uint8_t *body, size_t len, const sl_table_schema *s, sl_arena *a, vec *out)
{
    sl_mysql_decode_opts opts = {SL_ZERO_DATE_NULL, NULL, NULL};
    sl_mysql_rows it;
    sl_err err;
    sl_value *before, *after;
    assert_int_equal(sl_mysql_rows_open(&it, 30, body, len, s, &opts, &err), 0);
    int rc;
    while ((rc = sl_mysql_rows_next(&it, a, &before, &after, &err)) == 1) {
        char line[200];
        int n = after[1].kind == SL_NULL
                    ? snprintf(line, sizeof line, "%lld=NULL\n", (long long)after[0].v.i)
                    : snprintf(line, sizeof line, "%lld=%.*s\n", (long long)after[0].v.i, (int)after[1].len,
                               after[1].v.s);
        put(out, line, (size_t)n);
    }
    assert_int_equal(rc, 0);
}

/* Reads a payload event body the way the stream does: the inner events'
 * types into types, the rows of its WRITE_ROWS as text into rows. The
 * body is copied into a buffer of exactly its size so ASan sees any read
 * past it. Returns what open / next returned last. */
static int read_payload(const uint8_t *body, size_t len, size_t limit, int *types, int *ntypes, vec *rows,
                        sl_err *err)
{
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, body, len);
    sl_mysql_payload_reader r;
    sl_mysql_payload_init(&r, limit);
    sl_arena a;
    sl_arena_init(&a);
    sl_table_schema *s = NULL;
    *ntypes = 0;
    int rc = sl_mysql_payload_open(&r, copy, len, err);
    const uint8_t *ev;
    size_t evlen;
    while (!rc && (rc = sl_mysql_payload_next(&r, &ev, &evlen, err)) == 1) {
        rc = 0;
        types[(*ntypes)++] = ev[4];
        uint32_t n = (uint32_t)ev[9] | (uint32_t)ev[10] << 8 | (uint32_t)ev[11] << 16 | (uint32_t)ev[12] << 24;
        assert_int_equal(n, evlen);
        if (ev[4] == 19) {
            uint64_t id;
            sl_schema_free(s);
            assert_int_equal(sl_mysql_parse_table_map(ev + 19, evlen - 19, &mysql80, &id, &s, err), 0);
        } else if (ev[4] == 30 && rows) {
            assert_non_null(s);
            rows_text(ev + 19, evlen - 19, s, &a, rows);
        }
    }
    sl_schema_free(s);
    sl_arena_free(&a);
    sl_mysql_payload_free(&r);
    free(copy);
    return rc;
}

static void payload_holds_the_rows_of_its_events(void **state)
{
    /* the rows of the plain events */
    vec rows = write_rows(1, 20), plain = {0};
    sl_err err;
    uint64_t id;
    sl_table_schema *s;
    assert_int_equal(sl_mysql_parse_table_map(tm_czt, sizeof tm_czt, &mysql80, &id, &s, &err), 0);
    sl_arena a;
    sl_arena_init(&a);
    rows_text(rows.p, rows.n, s, &a, &plain);
    assert_true(plain.n > 0);
    assert_memory_equal(plain.p, "1=x\n2=xx\n3=xxx\n4=xxxx\n5=xxxxx\n6=xxxxxx\n7=NULL\n8=", 48);

    vec tx = transaction(20);
    for (int c = 0; c < 2; c++) {
        int compression = c ? SL_MYSQL_PAYLOAD_NONE : SL_MYSQL_PAYLOAD_ZSTD;
        vec body = payload_event(&tx, compression), got = {0};
        sl_mysql_payload_info info;
        assert_int_equal(sl_mysql_payload_header(body.p, body.n, &info, &err), 0);
        assert_int_equal(info.compression, compression);
        assert_int_equal(info.uncompressed_size, compression == SL_MYSQL_PAYLOAD_NONE ? 0 : tx.n);
        int types[16], n;
        assert_int_equal(read_payload(body.p, body.n, SL_MYSQL_PAYLOAD_EVENT_MAX, types, &n, &got, &err), 0);
        assert_int_equal(n, 4);
        assert_int_equal(types[0], 2);  /* BEGIN */
        assert_int_equal(types[1], 19); /* TABLE_MAP */
        assert_int_equal(types[2], 30); /* WRITE_ROWS */
        assert_int_equal(types[3], 16); /* XID */
        assert_int_equal(got.n, plain.n);
        assert_memory_equal(got.p, plain.p, plain.n);
        free(body.p);
        free(got.p);
    }
    free(tx.p);
    free(rows.p);
    free(plain.p);
    sl_arena_free(&a);
    sl_schema_free(s);
}

static void payload_events_larger_than_a_read(void **state)
{
    /* one WRITE_ROWS of 2000 rows (about 90 KB, past the first 64 KiB the
     * buffer grows by) and the events after it */
    vec tx = transaction(2000), body = payload_event(&tx, SL_MYSQL_PAYLOAD_ZSTD), got = {0};
    assert_true(tx.n > 80000);
    sl_err err;
    int types[16], n;
    assert_int_equal(read_payload(body.p, body.n, SL_MYSQL_PAYLOAD_EVENT_MAX, types, &n, &got, &err), 0);
    assert_int_equal(n, 4);
    assert_int_equal(types[3], 16);
    int lines = 0;
    for (size_t i = 0; i < got.n; i++)
        lines += got.p[i] == '\n';
    assert_int_equal(lines, 2000);
    assert_non_null(memmem(got.p, got.n, "\n2000=", 6));
    assert_non_null(memmem(got.p, got.n, "\n1999=", 6));
    free(tx.p);
    free(body.p);
    free(got.p);
}

static void payload_damage_is_a_clear_error(void **state)
{
    vec tx = transaction(3);
    vec body = payload_event(&tx, SL_MYSQL_PAYLOAD_ZSTD), plain = payload_event(&tx, SL_MYSQL_PAYLOAD_NONE);
    sl_err err;
    int types[16], n;

    /* the event cut short: fewer payload bytes than its header says */
    sl_mysql_payload_info info;
    assert_int_equal(sl_mysql_payload_header(body.p, body.n - 5, &info, &err), SL_ERUNTIME);
    assert_non_null(strstr(err.msg, "compressed transaction: its header claims "));
    assert_non_null(strstr(err.msg, " bytes of payload, the event holds "));

    /* every cut of either form fails cleanly, never reading past the
     * bytes */
    for (size_t cut = 0; cut < body.n; cut++)
        assert_int_not_equal(read_payload(body.p, cut, SL_MYSQL_PAYLOAD_EVENT_MAX, types, &n, NULL, &err), 0);
    for (size_t cut = 0; cut < plain.n; cut++)
        assert_int_not_equal(read_payload(plain.p, cut, SL_MYSQL_PAYLOAD_EVENT_MAX, types, &n, NULL, &err), 0);

    /* a zstd frame cut inside its only block: nothing comes out of it;
     * the header's payload size says how much is there */
    vec cutz = {0};
    {
        size_t zlen = ZSTD_compressBound(tx.n);
        uint8_t *z = malloc(zlen);
        zlen = ZSTD_compress(z, zlen, tx.p, tx.n, 3);
        put_field(&cutz, 2, 0);
        put_field(&cutz, 1, zlen - 4);
        put8(&cutz, 0);
        put(&cutz, z, zlen - 4);
        free(z);
    }
    assert_int_equal(read_payload(cutz.p, cutz.n, SL_MYSQL_PAYLOAD_EVENT_MAX, types, &n, NULL, &err),
                     SL_ERUNTIME);
    assert_string_equal(err.msg, "compressed transaction is cut short: its zstd stream ends after 0 bytes");
    assert_int_equal(n, 0);

    /* the plain payload cut inside the XID */
    vec cutp = {0};
    put_field(&cutp, 2, 255);
    put_field(&cutp, 1, tx.n - 3);
    put8(&cutp, 0);
    put(&cutp, tx.p, tx.n - 3);
    assert_int_equal(read_payload(cutp.p, cutp.n, SL_MYSQL_PAYLOAD_EVENT_MAX, types, &n, NULL, &err), SL_ERUNTIME);
    assert_string_equal(err.msg, "compressed transaction is cut short: event 4 claims 27 bytes, 24 are left");
    assert_int_equal(n, 3);

    /* not a zstd frame at all */
    assert_int_equal(sl_mysql_payload_header(body.p, body.n, &info, &err), 0);
    size_t off = (size_t)(info.payload - body.p);
    body.p[off] ^= 0xff; /* the magic number */
    assert_int_equal(read_payload(body.p, body.n, SL_MYSQL_PAYLOAD_EVENT_MAX, types, &n, NULL, &err), SL_ERUNTIME);
    assert_string_equal(err.msg, "compressed transaction is damaged (zstd: Unknown frame descriptor)");
    body.p[off] ^= 0xff;

    /* header fields: an unknown field is skipped by its length; no end
     * mark, no payload size, a compression type sluice cannot decode */
    vec h = {0};
    put_netlen(&h, 9);
    put_netlen(&h, 3);
    put(&h, "abc", 3); /* field 9, unknown */
    put_field(&h, 2, 255);
    put_field(&h, 1, 0);
    put8(&h, 0);
    assert_int_equal(read_payload(h.p, h.n, SL_MYSQL_PAYLOAD_EVENT_MAX, types, &n, NULL, &err), 0);
    assert_int_equal(n, 0); /* an empty transaction */
    assert_int_equal(sl_mysql_payload_header(h.p, h.n - 1, &info, &err), SL_ERUNTIME);
    assert_string_equal(err.msg, "compressed transaction: its header ends without an end mark");
    h.n = 0;
    put_field(&h, 2, 0);
    put8(&h, 0);
    assert_int_equal(sl_mysql_payload_header(h.p, h.n, &info, &err), SL_ERUNTIME);
    assert_string_equal(err.msg, "compressed transaction: its header lacks the payload size");
    h.n = 0;
    put_field(&h, 2, 1);
    put_field(&h, 1, 0);
    put8(&h, 0);
    assert_int_equal(sl_mysql_payload_header(h.p, h.n, &info, &err), SL_ECONFIG);
    assert_string_equal(err.msg,
                        "compressed transaction with compression type 1, which sluice cannot decode (it reads zstd "
                        "= 0 and none = 255, the types MySQL 8.0 to 9 write); fix: SET GLOBAL "
                        "binlog_transaction_compression = OFF; and binlog_transaction_compression=OFF in my.cnf "
                        "[mysqld], then resume from a position after the compressed transactions or snapshot again");
    /* a field length the event does not hold */
    h.n = 0;
    put_netlen(&h, 9);
    put_netlen(&h, 200);
    put(&h, "abc", 3);
    assert_int_equal(sl_mysql_payload_header(h.p, h.n, &info, &err), SL_ERUNTIME);
    assert_string_equal(err.msg, "compressed transaction: its header is cut short");
    free(h.p);
    free(cutz.p);
    free(cutp.p);
    free(tx.p);
    free(body.p);
    free(plain.p);
}

static void payload_events_are_bounded(void **state)
{
    sl_err err;
    int types[16], n;
    /* the limit of one event, named; the XID fits, the TABLE_MAP not */
    vec tx = transaction(3), body = payload_event(&tx, SL_MYSQL_PAYLOAD_ZSTD);
    assert_int_equal(read_payload(body.p, body.n, 40, types, &n, NULL, &err), SL_ERUNTIME);
    assert_string_equal(err.msg, "compressed transaction: event 2 claims 57 bytes, more than the limit of 40 bytes "
                                 "of one event (the server's max_log_event_size)");
    assert_int_equal(n, 1);

    /* hostile inner headers: 4 GiB claimed behind a few bytes; a claim
     * within the limit the payload cannot back; a nested payload event;
     * one shorter than its own header */
    static const struct {
        int type;
        uint32_t length;
        int compression;
        const char *msg;
    } hostile[] = {
        {30, 0xffffffffu, SL_MYSQL_PAYLOAD_ZSTD,
         "compressed transaction: event 1 claims 4294967295 bytes, more than the limit of 1073741824 bytes of one "
         "event (the server's max_log_event_size)"},
        {30, 1 << 20, SL_MYSQL_PAYLOAD_ZSTD,
         "compressed transaction is cut short: event 1 claims 1048576 bytes, 27 are left"},
        {SL_MYSQL_TRANSACTION_PAYLOAD_EVENT, 27, SL_MYSQL_PAYLOAD_ZSTD,
         "compressed transaction contains a compressed transaction (event 1)"},
        {30, 18, SL_MYSQL_PAYLOAD_NONE, "compressed transaction: event 1 claims 18 bytes, less than its header"},
    };
    vec tx2 = {0};
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        uint8_t ev[19 + 8] = {0};
        ev[4] = (uint8_t)hostile[i].type;
        for (int k = 0; k < 4; k++)
            ev[9 + k] = (uint8_t)(hostile[i].length >> (8 * k));
        tx2.n = 0;
        put(&tx2, ev, sizeof ev);
        vec b2 = payload_event(&tx2, hostile[i].compression);
        assert_int_equal(read_payload(b2.p, b2.n, SL_MYSQL_PAYLOAD_EVENT_MAX, types, &n, NULL, &err), SL_ERUNTIME);
        assert_string_equal(err.msg, hostile[i].msg);
        free(b2.p);
    }
    free(tx2.p);
    free(tx.p);
    free(body.p);
}

/* mysql::serialization's variable-length unsigned integer, written per
 * write_varlen_bytes_unsigned (variable_length_integers.h) */
static void put_varlen(vec *v, uint64_t x)
{
    int bits = 0;
    for (uint64_t t = x; t; t >>= 1)
        bits++;
    int n = ((bits * 575) >> 12) + 1;
    put8(v, (uint8_t)(((1u << (n - 1)) - 1) | (uint8_t)(x << n)));
    if (n == 1)
        return;
    uint64_t rest = x >> (8 - n + ((n + 7) >> 4));
    put_le(v, rest, n - 1);
}

static void put_svarlen(vec *v, int64_t x)
{
    uint64_t mask = x < 0 ? ~(uint64_t)0 : 0;
    put_varlen(v, (((uint64_t)x ^ mask) << 1) | (mask & 1));
}

static const uint8_t uuid[16] = {0x3e, 0x11, 0xfa, 0x47, 0x71, 0xca, 0x11, 0xe1,
                                 0x9e, 0x33, 0xc8, 0x0a, 0xa9, 0x42, 0x95, 0x62};

/* the fields of a GTID_TAGGED_LOG_EVENT as the server writes them: those
 * of Gtid_event::define_fields with their ids, original commit timestamp,
 * original server version and commit group ticket left out (equal to the
 * immediate ones / unset); *tag_end: the size up to the tag's end */
static vec tagged_fields(const char *tag, int64_t gno, int swap_ids, size_t *tag_end)
{
    vec f = {0};
    put_varlen(&f, 0), put_varlen(&f, 0); /* gtid_flags */
    put_varlen(&f, 1);                    /* uuid: 16 integers */
    for (int i = 0; i < 16; i++)
        put_varlen(&f, uuid[i]);
    put_varlen(&f, swap_ids ? 3 : 2), put_svarlen(&f, gno);
    put_varlen(&f, swap_ids ? 2 : 3), put_varlen(&f, strlen(tag)), put(&f, tag, strlen(tag));
    if (tag_end)
        *tag_end = f.n;
    put_varlen(&f, 4), put_svarlen(&f, 17);                 /* last_committed */
    put_varlen(&f, 5), put_svarlen(&f, 18);                 /* sequence_number */
    put_varlen(&f, 6), put_varlen(&f, 1733150000123456ULL); /* immediate_commit_timestamp */
    put_varlen(&f, 8), put_varlen(&f, 412);                 /* transaction_length */
    put_varlen(&f, 9), put_varlen(&f, 80400);               /* immediate_server_version */
    return f;
}

/* the message around n bytes of fields: format version 1 (as the
 * message's id), the size counted from it, the last non-ignorable field
 * id (12: every field 8.4 knows) */
static vec message(const uint8_t *fields, size_t n)
{
    vec out = {0};
    size_t size = 1 + 1 + 1 + n;
    size = 1 + (size > 127 ? 2 : 1) + 1 + n;
    put_varlen(&out, 1);
    put_varlen(&out, size);
    put_varlen(&out, 12);
    put(&out, fields, n);
    assert_int_equal(out.n, size);
    return out;
}

static vec tagged_gtid(const char *tag, int64_t gno, int swap_ids)
{
    vec f = tagged_fields(tag, gno, swap_ids, NULL), m = message(f.p, f.n);
    free(f.p);
    return m;
}

static void serialization_integers(void **state)
{
    /* the examples of libs/mysql/serialization/readme.md, bytes in stream
     * order (little-endian) */
    uint64_t v;
    const uint8_t u65535[] = {0xfb, 0xff, 0x07};
    assert_int_equal(sl_mysql_varlen_read(u65535, 3, &v), 3);
    assert_int_equal(v, 65535);
    assert_int_equal(sl_mysql_varlen_read(u65535, 2, &v), 0); /* cut short */
    const uint8_t s65535[] = {0xf3, 0xff, 0x0f}, sm65535[] = {0xeb, 0xff, 0x0f}, sm65536[] = {0xfb, 0xff, 0x0f};
    assert_int_equal(sl_mysql_varlen_read(s65535, 3, &v), 3);
    assert_int_equal(v, 65535u << 1);
    assert_int_equal(sl_mysql_varlen_read(sm65535, 3, &v), 3);
    assert_int_equal(v, (65534u << 1) | 1); /* -65535: -(x + 1) = 65534, sign 1 */
    assert_int_equal(sl_mysql_varlen_read(sm65536, 3, &v), 3);
    assert_int_equal(v, (65535u << 1) | 1);
    const uint8_t one[] = {0x02}, full[] = {0xff, 0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0xf1};
    assert_int_equal(sl_mysql_varlen_read(one, 1, &v), 1);
    assert_int_equal(v, 1);
    assert_int_equal(sl_mysql_varlen_read(full, 9, &v), 9);
    assert_true(v == 0xf123456789abcdefULL);
    assert_int_equal(sl_mysql_varlen_read(full, 8, &v), 0);
    assert_int_equal(sl_mysql_varlen_read(full, 0, &v), 0);
    /* this file's writer against the reader, at every length */
    for (int bits = 0; bits <= 64; bits++) {
        uint64_t x = bits == 64 ? ~0ULL : bits ? ((1ULL << bits) - 1) ^ 0x5555555555555555ULL >> (64 - bits) : 0;
        vec b = {0};
        put_varlen(&b, x);
        assert_int_equal(sl_mysql_varlen_read(b.p, b.n, &v), b.n);
        assert_true(v == x);
        free(b.p);
    }
}

static void tagged_gtid_text(void **state)
{
    char out[128];
    vec g = tagged_gtid("blue", 42, 0);
    assert_int_equal(sl_mysql_gtid_tagged_text(g.p, g.n, out, sizeof out), 0);
    assert_string_equal(out, "3e11fa47-71ca-11e1-9e33-c80aa9429562:blue:42");
    /* the event cut anywhere: its size says more than there is */
    for (size_t cut = 0; cut < g.n; cut++) {
        uint8_t *c = malloc(cut ? cut : 1);
        memcpy(c, g.p, cut);
        assert_int_equal(sl_mysql_gtid_tagged_text(c, cut, out, sizeof out), -1);
        free(c);
    }
    free(g.p);
    /* a message whose own size ends early: malformed before the tag's
     * end, readable after it (later fields are not needed), and never a
     * read past its bytes */
    size_t tag_end;
    vec f = tagged_fields("blue", 42, 0, &tag_end);
    assert_int_equal(tag_end, 2 + 1 + 16 + 7 /* the 7 UUID bytes >= 0x80 take two */ + 1 + 1 + 1 + 1 + 4);
    for (size_t k = 0; k <= f.n; k++) {
        vec m = message(f.p, k);
        uint8_t *c = malloc(m.n);
        memcpy(c, m.p, m.n);
        int rc = sl_mysql_gtid_tagged_text(c, m.n, out, sizeof out);
        assert_int_equal(rc, k < tag_end ? -1 : 0);
        if (!rc)
            assert_string_equal(out, "3e11fa47-71ca-11e1-9e33-c80aa9429562:blue:42");
        free(c);
        free(m.p);
    }
    free(f.p);

    /* the longest tag and GNO */
    g = tagged_gtid("_abcdefghijklmnopqrstuvwxyz01234", INT64_MAX, 0);
    assert_int_equal(sl_mysql_gtid_tagged_text(g.p, g.n, out, sizeof out), 0);
    assert_string_equal(out, "3e11fa47-71ca-11e1-9e33-c80aa9429562:_abcdefghijklmnopqrstuvwxyz01234:"
                             "9223372036854775807");
    assert_int_equal(sl_mysql_gtid_tagged_text(g.p, g.n, out, 90), -1); /* no room */
    free(g.p);
    /* not a tag, too long a tag, GNOs below 1, fields out of order */
    static const struct {
        const char *tag;
        int64_t gno;
        int swap;
    } bad[] = {{"Blue", 42, 0}, {"_abcdefghijklmnopqrstuvwxyz012345", 42, 0}, {"9a", 42, 0}, {"blue", -3, 0},
               {"blue", 0, 0}, {"blue", 42, 1}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        g = tagged_gtid(bad[i].tag, bad[i].gno, bad[i].swap);
        assert_int_equal(sl_mysql_gtid_tagged_text(g.p, g.n, out, sizeof out), -1);
        free(g.p);
    }
    /* an unknown format version */
    g = tagged_gtid("blue", 42, 0);
    assert_int_equal(sl_mysql_gtid_tagged_text(g.p, g.n, out, sizeof out), 0);
    g.p[0] = 0x04; /* version 2 */
    assert_int_equal(sl_mysql_gtid_tagged_text(g.p, g.n, out, sizeof out), -1);
    free(g.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(payload_holds_the_rows_of_its_events),
        cmocka_unit_test(payload_events_larger_than_a_read),
        cmocka_unit_test(payload_damage_is_a_clear_error),
        cmocka_unit_test(payload_events_are_bounded),
        cmocka_unit_test(serialization_integers),
        cmocka_unit_test(tagged_gtid_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
