/* decimal.c — MySQL's packed DECIMAL to exact text.
 *
 * Digits are stored in groups of nine per four bytes (big-endian), with a
 * shorter group for the leftover leading integer and trailing fraction
 * digits; the sign flips the top bit, and negative numbers are stored
 * bitwise inverted. The text keeps exactly `scale` fraction digits.
 */
#include <string.h>

#include "binlog_decode.h"

static const int dig2bytes[10] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};

static int decimal_valid(int precision, int scale)
{
    return precision > 0 && precision <= 65 && scale >= 0 && scale <= 30 && scale <= precision;
}

/* 0 for a precision and scale no server writes */
size_t sl_mysql_decimal_size(int precision, int scale)
{
    if (!decimal_valid(precision, scale))
        return 0;
    int intg = precision - scale;
    return (size_t)(intg / 9 * 4 + dig2bytes[intg % 9] + scale / 9 * 4 + dig2bytes[scale % 9]);
}

static uint32_t read_be(const uint8_t *p, int n, uint8_t mask)
{
    uint32_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | (uint8_t)(p[i] ^ mask);
    return v;
}

int sl_mysql_decimal_text(const uint8_t *src, size_t avail, int precision, int scale, char *out, size_t outlen,
                          size_t *used)
{
    if (!decimal_valid(precision, scale))
        return -1;
    size_t size = sl_mysql_decimal_size(precision, scale);
    if (avail < size || outlen < (size_t)precision + 4)
        return -1;
    *used = size;
    uint8_t buf[40];
    memcpy(buf, src, size);
    int negative = !(buf[0] & 0x80);
    buf[0] ^= 0x80;
    uint8_t mask = negative ? 0xff : 0x00;
    int intg = precision - scale;
    char digits[80];
    int nd = 0;
    const uint8_t *p = buf;
    int lead = intg % 9;
    if (lead) {
        int n = dig2bytes[lead];
        uint32_t v = read_be(p, n, mask);
        p += n;
        for (int i = lead - 1; i >= 0; i--) {
            digits[nd + i] = (char)('0' + v % 10);
            v /= 10;
        }
        nd += lead;
    }
    for (int g = 0; g < intg / 9; g++) {
        uint32_t v = read_be(p, 4, mask);
        p += 4;
        for (int i = 8; i >= 0; i--) {
            digits[nd + i] = (char)('0' + v % 10);
            v /= 10;
        }
        nd += 9;
    }
    char *o = out;
    if (negative)
        *o++ = '-';
    int start = 0;
    while (start < nd - 1 && digits[start] == '0')
        start++;
    if (nd == 0) {
        *o++ = '0';
    } else {
        memcpy(o, digits + start, (size_t)(nd - start));
        o += nd - start;
    }
    if (scale) {
        *o++ = '.';
        for (int g = 0; g < scale / 9; g++) {
            uint32_t v = read_be(p, 4, mask);
            p += 4;
            for (int i = 8; i >= 0; i--) {
                o[i] = (char)('0' + v % 10);
                v /= 10;
            }
            o += 9;
        }
        int trail = scale % 9;
        if (trail) {
            int n = dig2bytes[trail];
            uint32_t v = read_be(p, n, mask);
            for (int i = trail - 1; i >= 0; i--) {
                o[i] = (char)('0' + v % 10);
                v /= 10;
            }
            o += trail;
        }
    }
    *o = 0;
    /* "-0.00" is how MySQL never prints zero */
    if (negative) {
        int zero = 1;
        for (const char *q = out + 1; *q && zero; q++)
            zero = *q == '0' || *q == '.';
        if (zero)
            memmove(out, out + 1, strlen(out));
    }
    return (int)strlen(out);
}
