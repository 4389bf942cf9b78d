/* xdecimal.c — 128-bit scaled-integer decimals (see xdecimal.h). */
#include "xdecimal.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

xint128 xdec_pow10(int n)
{
    xint128 p = 1;
    for (int i = 0; i < n; i++)
        p *= 10;
    return p;
}

static xint128 max_abs(void) { return xdec_pow10(XDEC_MAX_DIGITS) - 1; }

static int fits(xint128 v) { return v <= max_abs() && v >= -max_abs(); }

int xdec_parse(const char *s, size_t n, xdec *out)
{
    size_t i = 0;
    while (i < n && isspace((unsigned char)s[i]))
        i++;
    while (n > i && isspace((unsigned char)s[n - 1]))
        n--;
    int neg = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    xint128 v = 0;
    int digits = 0, scale = 0, any = 0, dot = 0;
    for (; i < n; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9') {
            any = 1;
            if (v == 0 && c == '0' && !dot)
                continue;
            if (digits >= XDEC_MAX_DIGITS) {
                /* digits beyond 38 after the point are only fine as trailing zeros */
                if (dot && c == '0')
                    continue;
                return XDEC_OVERFLOW;
            }
            v = v * 10 + (c - '0');
            if (v)
                digits++;
            if (dot)
                scale++;
        } else if (c == '.' && !dot) {
            dot = 1;
        } else if ((c == 'e' || c == 'E') && any) {
            char *end;
            char buf[16];
            size_t m = n - i - 1 < sizeof buf - 1 ? n - i - 1 : sizeof buf - 1;
            memcpy(buf, s + i + 1, m);
            buf[m] = 0;
            long e = strtol(buf, &end, 10);
            if (end == buf || *end || e > 1000 || e < -1000)
                return XDEC_SYNTAX;
            scale -= (int)e;
            break;
        } else {
            return XDEC_SYNTAX;
        }
    }
    if (!any)
        return XDEC_SYNTAX;
    if (scale < 0) {
        if (digits - scale > XDEC_MAX_DIGITS)
            return v ? XDEC_OVERFLOW : (scale = 0, XDEC_OK);
        v *= xdec_pow10(-scale);
        scale = 0;
    }
    if (scale > 1000)
        return XDEC_SYNTAX;
    out->v = neg ? -v : v;
    out->scale = scale;
    return XDEC_OK;
}

int xdec_format(xdec d, char *buf, size_t len)
{
    char tmp[96];
    int o = (int)sizeof tmp;
    tmp[--o] = 0;
    xint128 v = d.v;
    int neg = v < 0;
    unsigned __int128 u = neg ? (unsigned __int128)(-(v + 1)) + 1 : (unsigned __int128)v;
    int emitted = 0;
    do {
        tmp[--o] = (char)('0' + (int)(u % 10));
        u /= 10;
        emitted++;
        if (d.scale > 0 && emitted == d.scale)
            tmp[--o] = '.';
    } while ((u || emitted < d.scale + 1) && o > 2);
    if (tmp[o] == '.')
        tmp[--o] = '0';
    if (neg)
        tmp[--o] = '-';
    int n = snprintf(buf, len, "%s", tmp + o);
    for (int k = 0; d.scale < 0 && k < -d.scale && (size_t)n + 1 < len; k++)
        buf[n++] = '0', buf[n] = 0;
    return n;
}

int xdec_digits(xdec d)
{
    xint128 v = d.v < 0 ? -d.v : d.v;
    int n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

int xdec_rescale(xdec *d, int scale, int round)
{
    if (scale == d->scale)
        return XDEC_OK;
    if (scale > d->scale) {
        int k = scale - d->scale;
        if (k > XDEC_MAX_DIGITS)
            return d->v ? XDEC_OVERFLOW : (d->scale = scale, XDEC_OK);
        xint128 p = xdec_pow10(k);
        if (d->v && (d->v > max_abs() / p || d->v < -max_abs() / p))
            return XDEC_OVERFLOW;
        d->v *= p;
        d->scale = scale;
        return XDEC_OK;
    }
    int k = d->scale - scale;
    if (k > XDEC_MAX_DIGITS) {
        d->v = 0;
        d->scale = scale;
        return XDEC_OK;
    }
    xint128 p = xdec_pow10(k);
    xint128 q = d->v / p, r = d->v % p;
    if (round && (r < 0 ? -r : r) * 2 >= p)
        q += d->v < 0 ? -1 : 1;
    d->v = q;
    d->scale = scale;
    return fits(q) ? XDEC_OK : XDEC_OVERFLOW;
}

/* both to the larger scale */
static int align(xdec *a, xdec *b)
{
    int s = a->scale > b->scale ? a->scale : b->scale;
    int rc = xdec_rescale(a, s, 0);
    return rc ? rc : xdec_rescale(b, s, 0);
}

int xdec_add(xdec a, xdec b, xdec *out)
{
    int rc = align(&a, &b);
    if (rc)
        return rc;
    xint128 v = a.v + b.v;
    if (!fits(v))
        return XDEC_OVERFLOW;
    out->v = v;
    out->scale = a.scale;
    return XDEC_OK;
}

int xdec_sub(xdec a, xdec b, xdec *out)
{
    b.v = -b.v;
    return xdec_add(a, b, out);
}

int xdec_mul(xdec a, xdec b, xdec *out)
{
    xint128 r;
    if (__builtin_mul_overflow(a.v, b.v, &r) || !fits(r))
        return XDEC_OVERFLOW;
    out->v = r;
    out->scale = a.scale + b.scale;
    return XDEC_OK;
}

int xdec_div(xdec a, xdec b, int scale, xdec *out)
{
    if (b.v == 0)
        return XDEC_DIVZERO;
    /* a / b at `scale`: (a.v * 10^(scale + b.scale - a.scale)) / b.v */
    int k = scale + b.scale - a.scale;
    xint128 num = a.v, den = b.v;
    if (k >= 0) {
        if (k > XDEC_MAX_DIGITS)
            return a.v ? XDEC_OVERFLOW : (out->v = 0, out->scale = scale, XDEC_OK);
        xint128 r;
        if (__builtin_mul_overflow(num, xdec_pow10(k), &r))
            return XDEC_OVERFLOW;
        num = r;
    } else {
        if (-k > XDEC_MAX_DIGITS)
            return (out->v = 0, out->scale = scale, XDEC_OK);
        xint128 r;
        if (__builtin_mul_overflow(den, xdec_pow10(-k), &r))
            return (out->v = 0, out->scale = scale, XDEC_OK);
        den = r;
    }
    xint128 q = num / den;
    if (!fits(q))
        return XDEC_OVERFLOW;
    out->v = q;
    out->scale = scale;
    return XDEC_OK;
}

int xdec_mod(xdec a, xdec b, xdec *out)
{
    if (b.v == 0)
        return XDEC_DIVZERO;
    int rc = align(&a, &b);
    if (rc)
        return rc;
    out->v = a.v % b.v;
    out->scale = a.scale;
    return XDEC_OK;
}

int xdec_cmp(xdec a, xdec b)
{
    if (align(&a, &b)) {
        /* one side needs more than 38 digits at the common scale: compare
         * through the integer parts, which then differ */
        double x = xdec_to_double(a), y = xdec_to_double(b);
        return (x > y) - (x < y);
    }
    return (a.v > b.v) - (a.v < b.v);
}

xdec xdec_from_i64(int64_t v)
{
    xdec d = {v, 0};
    return d;
}

int xdec_from_double(double v, xdec *out)
{
    if (!isfinite(v))
        return XDEC_SYNTAX;
    char tmp[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    return xdec_parse(tmp, strlen(tmp), out);
}

double xdec_to_double(xdec d)
{
    char buf[96];
    xdec_format(d, buf, sizeof buf);
    return strtod(buf, NULL);
}

int xdec_to_i64(xdec d, int64_t *out)
{
    if (d.scale > 0)
        xdec_rescale(&d, 0, 0);
    else if (d.scale < 0 && xdec_rescale(&d, 0, 0))
        return XDEC_OVERFLOW;
    if (d.v > INT64_MAX || d.v < INT64_MIN)
        return XDEC_OVERFLOW;
    *out = (int64_t)d.v;
    return XDEC_OK;
}
