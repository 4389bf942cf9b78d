/* varint.h — ULEB128 varints and zigzag, the integer encoding that the
 * Thrift compact protocol (Parquet footers, page headers) and Avro's binary
 * encoding share, so both writers and both readers use one definition. */
#ifndef SL_VARINT_H
#define SL_VARINT_H

#include <stddef.h>
#include <stdint.h>

#include "../core/buf.h"

static inline uint64_t sl_zigzag64(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static inline int64_t sl_unzigzag64(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

/* Writes v into p (at least 10 bytes); returns the byte count. */
static inline size_t sl_uvarint_put(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static inline void sl_buf_uvarint(sl_buf *b, uint64_t v)
{
    if (b->cap - b->len < 10 && sl_buf_reserve(b, 10))
        return;
    b->len += sl_uvarint_put((uint8_t *)b->data + b->len, v);
}

static inline void sl_buf_zigzag(sl_buf *b, int64_t v) { sl_buf_uvarint(b, sl_zigzag64(v)); }

/* Reads a varint from [*p, end); advances *p. Returns 0, or -1 when the
 * input ends inside the varint or it is longer than 10 bytes. */
static inline int sl_uvarint_get(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    const uint8_t *q = *p;
    for (int shift = 0; shift < 70; shift += 7) {
        if (q >= end)
            return -1;
        uint8_t c = *q++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *p = q;
            *out = v;
            return 0;
        }
    }
    return -1;
}

#endif
