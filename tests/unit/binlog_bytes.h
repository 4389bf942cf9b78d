/* binlog_bytes.h — building binlog events byte by byte for the tests of
 * MySQL 8 events (test_mysql8_events.c, test_mysql8_client.c): a growable
 * byte vector, little-endian integers, events with the 19-byte common
 * header (binlog_event.h: timestamp 4, type 1, server id 4, event length
 * 4, next position 4, flags 2) and, for events as a binlog file holds
 * them, their CRC32. Needs cmocka.h and zlib.h first. */
#ifndef SL_TEST_BINLOG_BYTES_H
#define SL_TEST_BINLOG_BYTES_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct vec {
    uint8_t *p;
    size_t n, cap;
} vec;

static inline void put(vec *v, const void *p, size_t n)
{
    if (v->n + n > v->cap) {
        v->cap = (v->n + n) * 2 + 64;
        v->p = realloc(v->p, v->cap);
        assert_non_null(v->p);
    }
    memcpy(v->p + v->n, p, n);
    v->n += n;
}

static inline void put8(vec *v, uint8_t b) { put(v, &b, 1); }

static inline void put_le(vec *v, uint64_t x, int n)
{
    for (int i = 0; i < n; i++)
        put8(v, (uint8_t)(x >> (8 * i)));
}

/* an event: the common header (server id 1), body, and with crc its CRC32
 * (counted in the event length); events inside a compressed transaction
 * have no CRC and next position 0 */
static inline void put_event(vec *v, int type, uint32_t ts, const uint8_t *body, size_t len, uint32_t next, int crc)
{
    size_t at = v->n;
    put_le(v, ts, 4);
    put8(v, (uint8_t)type);
    put_le(v, 1, 4);
    put_le(v, 19 + len + (crc ? 4 : 0), 4);
    put_le(v, next, 4);
    put_le(v, 0, 2);
    put(v, body, len);
    if (crc)
        put_le(v, crc32(0, v->p + at, (uInt)(v->n - at)), 4);
}

/* TABLE_MAP of cz.t (id INT PRIMARY KEY, s VARCHAR(100) utf8mb4), table id
 * 0x15, with binlog_row_metadata=FULL (signedness, default charset 45,
 * column names, primary key) */
static const uint8_t tm_czt[] = {0x15, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0x63, 0x7a, 0x00, 0x01,
                                 0x74, 0x00, 0x02, 0x03, 0x0f, 0x02, 0x90, 0x01, 0x02, 0x01, 0x01, 0x00, 0x02,
                                 0x01, 0x2d, 0x04, 0x05, 0x02, 0x69, 0x64, 0x01, 0x73, 0x08, 0x01, 0x00};

#endif
