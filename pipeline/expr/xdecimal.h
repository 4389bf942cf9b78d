/* xdecimal.h — exact decimal arithmetic for transform expressions.
 *
 * A decimal is a 128-bit unscaled integer and a scale, which holds every
 * value of DECIMAL(38, s): Flink CDC's widest decimal. Nothing passes
 * through a double. Operations report overflow (a result wider than 38
 * digits) instead of wrapping.
 */
#ifndef SL_XDECIMAL_H
#define SL_XDECIMAL_H

#include <stddef.h>
#include <stdint.h>

#include "xtype.h"

#define XDEC_MAX_DIGITS 38

enum { XDEC_OK = 0, XDEC_SYNTAX = -1, XDEC_OVERFLOW = -2, XDEC_DIVZERO = -3 };

xint128 xdec_pow10(int n); /* n in 0..38 */
/* "-12.340", "1e3", " 7 " (Java's BigDecimal syntax, surrounding blanks allowed) */
int xdec_parse(const char *s, size_t n, xdec *out);
/* plain text, as BigDecimal.toPlainString(): "-12.340"; returns length */
int xdec_format(xdec d, char *buf, size_t len);
int xdec_digits(xdec d); /* digits of the unscaled value (precision) */
/* to a new scale: half-up (round = 1) or toward zero (round = 0) */
int xdec_rescale(xdec *d, int scale, int round);
int xdec_add(xdec a, xdec b, xdec *out);
int xdec_sub(xdec a, xdec b, xdec *out);
int xdec_mul(xdec a, xdec b, xdec *out);
/* quotient at the given scale, truncated toward zero */
int xdec_div(xdec a, xdec b, int scale, xdec *out);
int xdec_mod(xdec a, xdec b, xdec *out);
int xdec_cmp(xdec a, xdec b);
xdec xdec_from_i64(int64_t v);
/* the double's shortest decimal text, as BigDecimal.valueOf(double) */
int xdec_from_double(double v, xdec *out);
double xdec_to_double(xdec d);
/* integer part toward zero; XDEC_OVERFLOW outside int64 */
int xdec_to_i64(xdec d, int64_t *out);

#endif
