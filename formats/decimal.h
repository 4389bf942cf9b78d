/* decimal.h — exact decimals for the lake formats: sluice carries decimals
 * as text (core/value.h); Parquet stores the unscaled integer (INT32, INT64
 * or big-endian two's complement FIXED), and Iceberg bounds and Avro
 * decimals use the big-endian form too. Nothing here rounds: a value with
 * more fraction digits than the scale, or more digits than the precision,
 * is an error for the caller to report with the table and column. */
#ifndef SL_DECIMAL_H
#define SL_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

#include "../core/buf.h"

__extension__ typedef __int128 sl_i128;

enum {
    SL_DEC_OK = 0,
    SL_DEC_SYNTAX = -1,   /* not [+-]digits[.digits] (NaN and Infinity included) */
    SL_DEC_SCALE = -2,    /* nonzero digits beyond the scale: would round */
    SL_DEC_RANGE = -3,    /* more integer digits than precision - scale allows */
};

/* Parses text into the unscaled integer at scale (0..38) and checks it fits
 * precision digits (1..38). "1.5" at scale 3 is 1500; "1.500" at scale 1 is
 * 15 (zeros beyond the scale are fine). */
int sl_decimal_parse(const char *s, size_t n, int precision, int scale, sl_i128 *out);

/* The FIXED_LEN_BYTE_ARRAY length Parquet needs for precision: the fewest
 * bytes n with 10^precision - 1 <= 2^(8n-1) - 1 (precision 38 -> 16). */
int sl_decimal_fixed_len(int precision);

/* v as nbytes (1..16) big-endian two's complement (sign-extended). */
void sl_decimal_to_be(sl_i128 v, uint8_t *out, int nbytes);

/* The shortest big-endian two's complement form of v (what Iceberg's
 * single-value serialization and Avro's decimal-on-bytes use); returns its
 * length (1..16). */
int sl_decimal_to_be_min(sl_i128 v, uint8_t out[16]);

/* The parts of decimal text [+-]digits[.digits] (either side may be empty,
 * not both): SL_DEC_OK, or SL_DEC_SYNTAX (NaN and Infinity included). */
typedef struct sl_decimal_parts {
    int neg;
    const char *int_digits, *frac_digits;
    size_t nint, nfrac;
} sl_decimal_parts;
int sl_decimal_split(const char *s, size_t n, sl_decimal_parts *out);

/* Any size (DECIMAL(65,30), PostgreSQL numeric): the unscaled value of
 * text at scale (scale < 0: the text's own scale without trailing zeros,
 * as Debezium's VariableScaleDecimal, stored in *own_scale) as
 * the shortest big-endian two's complement, appended to out. SL_DEC_SYNTAX,
 * SL_DEC_SCALE (nonzero digits beyond scale), or -4 out of memory. */
int sl_decimal_to_be_text(const char *s, size_t n, int scale, sl_buf *out, int *own_scale);

/* Text of the unscaled value v at scale, e.g. (-1234, 2) -> "-12.34";
 * buf holds at least 48 bytes. Returns the length. */
int sl_decimal_format(sl_i128 v, int scale, char *buf);

#endif
