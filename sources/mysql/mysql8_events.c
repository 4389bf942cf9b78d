/* mysql8_events.c — MySQL 8 binlog events MariaDB never writes, so only
 * byte vectors can cover them (tests/unit/test_mysql_server.c):
 *  - GTID_LOG_EVENT as "uuid:n";
 *  - GTID_TAGGED_LOG_EVENT (42, MySQL 8.3+: SET gtid_next =
 *    'AUTOMATIC:<tag>') as "uuid:tag:n", its body in MySQL's
 *    mysql::serialization format (decoded below);
 *  - TRANSACTION_PAYLOAD_EVENT (40, binlog_transaction_compression=ON) is
 *    decoded in payload_event.c; only a compression type other than zstd
 *    or none is refused there;
 *  - PARTIAL_UPDATE_ROWS_EVENT (39, binlog_row_value_options=PARTIAL_JSON)
 *    is decoded in rows.c, its JSON diffs applied in json_diff.c.
 * Layouts from MySQL's libs/mysql/binlog/event (control_events.h:
 * Gtid_event and its define_fields; binlog_event.h: Log_event_type) and
 * libs/mysql/serialization (readme.md, variable_length_integers.h,
 * serializer_impl.hpp, serializer_default_impl.hpp). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "binlog_decode.h"

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (36 characters) at o */
static char *uuid_text(const uint8_t *u, char *o)
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-';
        *o++ = hx[u[i] >> 4];
        *o++ = hx[u[i] & 15];
    }
    return o;
}

int sl_mysql_gtid_text(const uint8_t *body, size_t len, char *out, size_t outlen)
{
    /* GTID_LOG_EVENT / ANONYMOUS_GTID_LOG_EVENT post-header: flags (1),
     * SID (16, the source's server_uuid), GNO (8, little-endian) */
    if (len < 25 || outlen < 64)
        return -1;
    char *o = uuid_text(body + 1, out);
    uint64_t gno = 0;
    for (int i = 7; i >= 0; i--)
        gno = gno << 8 | body[17 + i];
    snprintf(o, outlen - (size_t)(o - out), ":%" PRIu64, gno);
    return 0;
}

size_t sl_mysql_varlen_read(const uint8_t *p, size_t avail, uint64_t *v)
{
    /* The first byte's trailing one bits, plus one, are the length (1..9
     * bytes, little-endian); the value is the bits above them followed
     * by the next bytes. A 9-byte number (first byte 0xff) holds all 64
     * bits in its last 8 bytes. */
    if (!avail)
        return 0;
    size_t n = 1;
    while (n <= 8 && (p[0] >> (n - 1) & 1))
        n++;
    if (n > avail)
        return 0;
    uint64_t rest = 0;
    for (size_t i = n - 1; i >= 1; i--)
        rest = rest << 8 | p[i];
    *v = n == 9 ? rest : (uint64_t)(p[0] >> n) | rest << (8 - n);
    return n;
}

/* One unsigned field no larger than max; 0 when it is malformed. */
static size_t varlen_max(const uint8_t *p, size_t avail, uint64_t max, uint64_t *v)
{
    size_t n = sl_mysql_varlen_read(p, avail, v);
    return n && *v <= max ? n : 0;
}

/* The next field's id must be want (the fields this reader needs are never
 * left out by the encoder: they have no encode predicate). */
static int field_id(const uint8_t **p, const uint8_t *end, uint64_t want)
{
    uint64_t id;
    size_t n = sl_mysql_varlen_read(*p, (size_t)(end - *p), &id);
    if (!n || id != want)
        return -1;
    *p += n;
    return 0;
}

int sl_mysql_gtid_tagged_text(const uint8_t *body, size_t len, char *out, size_t outlen)
{
    /* A serialized message: the format version (1) as the message's id,
     * its size in bytes counted from that id, the last non-ignorable
     * field id, then fields as <id><data>, ids from 0 in the order of
     * Gtid_event::define_fields: 0 gtid_flags, 1 the 16 bytes of the UUID
     * (an array: each byte an unsigned varlen integer), 2 the GNO (signed:
     * (x << 1) | sign), 3 the tag (a string: varlen length, at most 32,
     * then its bytes), then logical clocks, timestamps, transaction
     * length and server versions, which are not needed here. */
    const uint8_t *p = body, *end = body + len;
    uint64_t version, size, last_id, v;
    size_t n;
    if (outlen < 36 + 1 + 32 + 1 + 20 + 1)
        return -1;
    if (!(n = sl_mysql_varlen_read(p, len, &version)) || version != 1)
        return -1;
    p += n;
    if (!(n = sl_mysql_varlen_read(p, (size_t)(end - p), &size)) || size > len)
        return -1;
    p += n;
    end = body + size; /* what follows the message is not part of it */
    if (p > end || !(n = sl_mysql_varlen_read(p, (size_t)(end - p), &last_id)))
        return -1;
    p += n;
    if (field_id(&p, end, 0) || !(n = varlen_max(p, (size_t)(end - p), 0xff, &v)))
        return -1;
    p += n;
    uint8_t uuid[16];
    if (field_id(&p, end, 1))
        return -1;
    for (int i = 0; i < 16; i++) {
        if (!(n = varlen_max(p, (size_t)(end - p), 0xff, &v)))
            return -1;
        uuid[i] = (uint8_t)v;
        p += n;
    }
    uint64_t zz;
    if (field_id(&p, end, 2) || !(n = sl_mysql_varlen_read(p, (size_t)(end - p), &zz)))
        return -1;
    p += n;
    if (zz & 1)
        return -1; /* a negative GNO */
    uint64_t gno = zz >> 1;
    uint64_t tag_len;
    if (field_id(&p, end, 3) || !(n = varlen_max(p, (size_t)(end - p), 32, &tag_len)) ||
        tag_len > (uint64_t)(end - p - (ptrdiff_t)n))
        return -1;
    p += n;
    /* a tag is [a-z_][a-z0-9_]{0,31} (mysql/gtid/tag.h): anything else is
     * not printed into a GTID set */
    for (uint64_t i = 0; i < tag_len; i++) {
        uint8_t c = p[i];
        if (!(c == '_' || (c >= 'a' && c <= 'z') || (i > 0 && c >= '0' && c <= '9')))
            return -1;
    }
    if (gno < 1)
        return -1;
    char *o = uuid_text(uuid, out);
    if (tag_len)
        o += snprintf(o, outlen - (size_t)(o - out), ":%.*s", (int)tag_len, (const char *)p);
    snprintf(o, outlen - (size_t)(o - out), ":%" PRIu64, gno);
    return 0;
}
