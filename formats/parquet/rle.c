/* rle.c — the RLE / bit-packed hybrid encoder and decoder. */
#include "rle.h"

#include "../varint.h"

int sl_bit_width(uint64_t max_value)
{
    int w = 0;
    while (max_value) {
        w++;
        max_value >>= 1;
    }
    return w;
}

static void put_rle_run(sl_buf *out, uint32_t value, size_t count, int bit_width)
{
    sl_buf_uvarint(out, (uint64_t)count << 1);
    int bytes = (bit_width + 7) / 8;
    for (int i = 0; i < bytes; i++)
        sl_buf_addc(out, (char)(value >> (8 * i)));
}

/* One encoder body for both element widths: levels are bytes, dictionary
 * indices are 32-bit. */
#define RLE_ENCODER(NAME, T)                                                                  \
    static void NAME##_literal(sl_buf *out, const T *v, size_t n, int bit_width)              \
    {                                                                                         \
        size_t groups = (n + 7) / 8;                                                          \
        sl_buf_uvarint(out, ((uint64_t)groups << 1) | 1);                                     \
        size_t bytes = groups * (size_t)bit_width;                                            \
        if (sl_buf_reserve(out, bytes + 8))                                                   \
            return;                                                                           \
        uint8_t *p = (uint8_t *)out->data + out->len;                                         \
        uint64_t acc = 0;                                                                     \
        int nbits = 0;                                                                        \
        for (size_t i = 0; i < groups * 8; i++) {                                             \
            acc |= (uint64_t)(i < n ? v[i] : 0) << nbits;                                     \
            nbits += bit_width;                                                               \
            while (nbits >= 8) {                                                              \
                *p++ = (uint8_t)acc;                                                          \
                acc >>= 8;                                                                    \
                nbits -= 8;                                                                   \
            }                                                                                 \
        }                                                                                     \
        out->len += bytes; /* groups of 8 always end on a byte boundary */                    \
    }                                                                                         \
    void NAME(sl_buf *out, const T *v, size_t n, int bit_width)                               \
    {                                                                                         \
        size_t lit = 0, i = 0;                                                                \
        while (i < n) {                                                                       \
            size_t j = i + 1;                                                                 \
            while (j < n && v[j] == v[i])                                                     \
                j++;                                                                          \
            size_t run = j - i, lit_len = i - lit;                                            \
            size_t pad = (8 - lit_len % 8) % 8;                                               \
            if (run >= pad + 8) {                                                             \
                if (lit_len) {                                                                \
                    NAME##_literal(out, v + lit, lit_len + pad, bit_width);                   \
                    i += pad;                                                                 \
                }                                                                             \
                put_rle_run(out, v[i], j - i, bit_width);                                     \
                lit = j;                                                                      \
            }                                                                                 \
            i = j;                                                                            \
        }                                                                                     \
        if (lit < n)                                                                          \
            NAME##_literal(out, v + lit, n - lit, bit_width);                                 \
    }

RLE_ENCODER(sl_rle_encode_u8, uint8_t)
RLE_ENCODER(sl_rle_encode_u32, uint32_t)

void sl_bitpack_u32(sl_buf *out, const uint32_t *v, size_t n, int bit_width)
{
    size_t bytes = (n * (size_t)bit_width + 7) / 8;
    if (sl_buf_reserve(out, bytes + 8))
        return;
    uint8_t *p = (uint8_t *)out->data + out->len;
    uint64_t acc = 0;
    int nbits = 0;
    for (size_t i = 0; i < n; i++) {
        acc |= (uint64_t)v[i] << nbits;
        nbits += bit_width;
        while (nbits >= 8) {
            *p++ = (uint8_t)acc;
            acc >>= 8;
            nbits -= 8;
        }
    }
    if (nbits)
        *p = (uint8_t)acc;
    out->len += bytes;
}

int sl_rle_decode(const uint8_t *p, size_t len, int bit_width, uint32_t *out, size_t n)
{
    const uint8_t *end = p + len;
    size_t got = 0;
    int vbytes = (bit_width + 7) / 8;
    uint32_t mask = bit_width >= 32 ? 0xffffffffu : ((1u << bit_width) - 1);
    while (got < n) {
        uint64_t h;
        if (sl_uvarint_get(&p, end, &h))
            return -1;
        if (h & 1) {
            size_t count = (size_t)(h >> 1) * 8;
            size_t bytes = (size_t)(h >> 1) * (size_t)bit_width;
            if (bytes > (size_t)(end - p))
                return -1;
            uint64_t acc = 0;
            int nbits = 0;
            const uint8_t *q = p;
            for (size_t i = 0; i < count; i++) {
                while (nbits < bit_width) {
                    acc |= (uint64_t)*q++ << nbits;
                    nbits += 8;
                }
                if (got < n)
                    out[got++] = (uint32_t)acc & mask;
                acc >>= bit_width;
                nbits -= bit_width;
            }
            p += bytes;
        } else {
            size_t count = (size_t)(h >> 1);
            if (count == 0 || vbytes > end - p)
                return -1;
            uint32_t val = 0;
            for (int i = 0; i < vbytes; i++)
                val |= (uint32_t)p[i] << (8 * i);
            p += vbytes;
            for (size_t i = 0; i < count && got < n; i++)
                out[got++] = val;
        }
    }
    return 0;
}
