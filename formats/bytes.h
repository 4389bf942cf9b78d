/* bytes.h — little helpers the format writers share: appending that
 * tolerates empty input (memcpy with a NULL pointer is undefined even for
 * zero bytes, and empty strings arrive as NULL, 0), and little-endian
 * loads and stores (the formats are little-endian; so is every host sluice
 * builds for, which sl_pq_open checks). */
#ifndef SL_BYTES_H
#define SL_BYTES_H

#include <stdint.h>
#include <string.h>

#include "../core/buf.h"

static inline void sl_buf_put(sl_buf *b, const void *p, size_t n)
{
    if (n)
        sl_buf_add(b, p, n);
}

static inline void sl_buf_le32(sl_buf *b, uint32_t v) { sl_buf_add(b, &v, 4); }
static inline void sl_buf_le64(sl_buf *b, uint64_t v) { sl_buf_add(b, &v, 8); }

static inline uint32_t sl_le32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline uint64_t sl_le64(const void *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

#endif
