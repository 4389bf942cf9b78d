/* decimal.c — decimal text <-> unscaled 128-bit integers, and the
 * two's complement byte forms Parquet, Avro and Iceberg store. */
#include "decimal.h"

#include <stdlib.h>
#include <string.h>

int sl_decimal_parse(const char *s, size_t n, int precision, int scale, sl_i128 *out)
{
    size_t i = 0;
    int neg = 0;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    sl_i128 v = 0;
    int digits = 0, frac = 0, seen_dot = 0, any = 0;
    for (; i < n; i++) {
        char c = s[i];
        if (c == '.' && !seen_dot) {
            seen_dot = 1;
            continue;
        }
        if (c < '0' || c > '9')
            return SL_DEC_SYNTAX;
        any = 1;
        if (seen_dot) {
            if (frac == scale) {
                if (c != '0')
                    return SL_DEC_SCALE;
                continue;
            }
            frac++;
        }
        if (v == 0 && c == '0' && !seen_dot)
            continue; /* leading zeros count no digits */
        if (++digits > 38)
            return SL_DEC_RANGE;
        v = v * 10 + (c - '0');
    }
    if (!any)
        return SL_DEC_SYNTAX;
    for (; frac < scale; frac++) {
        if (v != 0 && ++digits > 38)
            return SL_DEC_RANGE;
        v *= 10;
    }
    /* |v| < 10^precision */
    sl_i128 limit = 1;
    for (int k = 0; k < precision; k++)
        limit *= 10;
    if (v >= limit)
        return SL_DEC_RANGE;
    *out = neg ? -v : v;
    return SL_DEC_OK;
}

int sl_decimal_fixed_len(int precision)
{
    /* 10^p - 1 must fit in 8n-1 bits */
    if (precision > 38)
        return 17; /* beyond 16 bytes; callers reject such a precision */
    sl_i128 max = 1;
    for (int k = 0; k < precision; k++)
        max *= 10;
    max -= 1;
    for (int n = 1; n < 16; n++) {
        sl_i128 lim = ((sl_i128)1 << (8 * n - 1)) - 1;
        if (max <= lim)
            return n;
    }
    return 16;
}

void sl_decimal_to_be(sl_i128 v, uint8_t *out, int nbytes)
{
    for (int i = nbytes - 1; i >= 0; i--) {
        out[i] = (uint8_t)(v & 0xff);
        v >>= 8; /* arithmetic shift keeps the sign for the leading bytes */
    }
}

int sl_decimal_to_be_min(sl_i128 v, uint8_t out[16])
{
    uint8_t full[16];
    sl_decimal_to_be(v, full, 16);
    int skip = 0;
    /* drop a leading byte while the next byte's top bit still carries the sign */
    while (skip < 15 && ((full[skip] == 0x00 && !(full[skip + 1] & 0x80)) ||
                         (full[skip] == 0xff && (full[skip + 1] & 0x80))))
        skip++;
    memcpy(out, full + skip, (size_t)(16 - skip));
    return 16 - skip;
}

int sl_decimal_format(sl_i128 v, int scale, char *buf)
{
    char tmp[48];
    int n = 0, neg = v < 0;
    /* work on the negative side so the minimum value does not overflow */
    sl_i128 x = neg ? v : -v;
    do {
        tmp[n++] = (char)('0' - (int)(x % 10));
        x /= 10;
    } while (x);
    while (n <= scale)
        tmp[n++] = '0';
    int len = 0;
    if (neg)
        buf[len++] = '-';
    for (int i = n - 1; i >= 0; i--) {
        buf[len++] = tmp[i];
        if (i == scale && scale > 0)
            buf[len++] = '.';
    }
    buf[len] = 0;
    return len;
}

int sl_decimal_split(const char *s, size_t n, sl_decimal_parts *out)
{
    size_t i = 0;
    out->neg = 0;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        out->neg = s[i++] == '-';
    size_t int_start = i;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    size_t int_end = i, frac_start = i, frac_end = i;
    if (i < n && s[i] == '.') {
        frac_start = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        frac_end = i;
    }
    if (i != n || (int_end == int_start && frac_end == frac_start))
        return SL_DEC_SYNTAX;
    out->int_digits = s + int_start;
    out->nint = int_end - int_start;
    out->frac_digits = s + frac_start;
    out->nfrac = frac_end - frac_start;
    return SL_DEC_OK;
}

int sl_decimal_to_be_text(const char *s, size_t n, int scale, sl_buf *out, int *own_scale)
{
    sl_decimal_parts d;
    if (sl_decimal_split(s, n, &d))
        return SL_DEC_SYNTAX;
    size_t nfrac = d.nfrac, nint = d.nint;
    if (scale < 0) {
        /* Debezium's VariableScaleDecimal: the scale without the fraction's
         * trailing zeros (never below 0) */
        while (nfrac > 0 && d.frac_digits[nfrac - 1] == '0')
            nfrac--;
        scale = (int)nfrac;
        if (own_scale)
            *own_scale = scale;
    }
    while (nfrac > (size_t)scale) {
        if (d.frac_digits[nfrac - 1] != '0')
            return SL_DEC_SCALE;
        nfrac--;
    }
    /* magnitude, little-endian base 256, times 10 plus a digit at a time */
    size_t ndig = nint + (size_t)scale;
    size_t cap = ndig / 2 + 2;
    uint8_t stack[64], *mag = cap <= sizeof stack ? stack : malloc(cap);
    if (!mag)
        return -4;
    size_t len = 0;
    for (size_t k = 0; k < ndig; k++) {
        unsigned carry = 0;
        if (k < nint)
            carry = (unsigned)(d.int_digits[k] - '0');
        else if (k - nint < nfrac)
            carry = (unsigned)(d.frac_digits[k - nint] - '0');
        for (size_t j = 0; j < len; j++) {
            unsigned v = mag[j] * 10u + carry;
            mag[j] = (uint8_t)v;
            carry = v >> 8;
        }
        while (carry) {
            mag[len++] = (uint8_t)carry;
            carry >>= 8;
        }
    }
    int neg = d.neg && len > 0;
    if (neg) {
        /* two's complement of the magnitude */
        unsigned carry = 1;
        for (size_t j = 0; j < len; j++) {
            unsigned v = (uint8_t)~mag[j] + carry;
            mag[j] = (uint8_t)v;
            carry = v >> 8;
        }
    }
    uint8_t top = len ? mag[len - 1] : 0;
    /* the sign bit must say the sign: one more byte when it does not */
    if (len == 0 || (!neg && (top & 0x80)))
        sl_buf_addc(out, 0);
    else if (neg && !(top & 0x80))
        sl_buf_addc(out, (char)0xff);
    for (size_t j = len; j-- > 0;)
        sl_buf_addc(out, (char)mag[j]);
    if (mag != stack)
        free(mag);
    return out->failed ? -4 : SL_DEC_OK;
}
