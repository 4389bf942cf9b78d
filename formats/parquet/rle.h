/* rle.h — Parquet's RLE / bit-packed hybrid encoding (Encodings.md), used
 * for definition and repetition levels and for dictionary indices.
 *
 * The encoder sees a whole page of values at once: a run of at least 8 equal
 * values becomes an RLE run, everything between runs becomes bit-packed
 * groups of 8 (a literal stretch borrows up to 7 values from the following
 * run to fill its last group; only the very last group is zero-padded, which
 * readers ignore because they know the value count). */
#ifndef SL_RLE_H
#define SL_RLE_H

#include <stddef.h>
#include <stdint.h>

#include "../../core/buf.h"

/* bits needed for values 0..max_value (0 for max_value 0) */
int sl_bit_width(uint64_t max_value);

/* Appends the hybrid encoding of v[0..n) (each < 2^bit_width, bit_width
 * 0..32) to out, with no length prefix. */
void sl_rle_encode_u8(sl_buf *out, const uint8_t *v, size_t n, int bit_width);
void sl_rle_encode_u32(sl_buf *out, const uint32_t *v, size_t n, int bit_width);

/* Decodes n values from p[0..len); returns 0, or -1 when the input is
 * short or malformed. For tests and for reading our own files back. */
int sl_rle_decode(const uint8_t *p, size_t len, int bit_width, uint32_t *out, size_t n);

/* Appends n values packed LSB-first at bit_width bits each (the bit-packed
 * body; also PLAIN booleans with bit_width 1), zero-padding the last byte. */
void sl_bitpack_u32(sl_buf *out, const uint32_t *v, size_t n, int bit_width);

#endif
