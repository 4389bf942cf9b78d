/* xconv.c — conversions between expression types (CAST and the implicit
 * coercions the binder inserts), Java's text of a value, and the passage
 * between row values (sl_value) and expression values (xval).
 *
 * CAST follows Flink CDC's CastingFunctions: a string that is not a number
 * casts to NULL, numbers truncate toward zero, DECIMAL(p, s) rounds half up
 * and is NULL when the value needs more than p digits, BOOLEAN from a
 * string is true only for "true". Where Flink would wrap silently (an INT
 * out of TINYINT's range) sluice reports an error instead; TRY_CAST yields
 * NULL for every value that does not convert.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xdecimal.h"
#include "xeval.h"
#include "xtime.h"

/* ---- Java's text of numbers and times ---- */

/* Double.toString / Float.toString: shortest digits, plain between 1e-3
 * and 1e7, else d.dddE±n */
static int java_double(double d, int is_float, char *buf, size_t len)
{
    if (isnan(d))
        return snprintf(buf, len, "NaN");
    if (isinf(d))
        return snprintf(buf, len, d > 0 ? "Infinity" : "-Infinity");
    if (d == 0)
        return snprintf(buf, len, signbit(d) ? "-0.0" : "0.0");
    char tmp[48];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, d);
        if (is_float ? strtof(tmp, NULL) == (float)d : strtod(tmp, NULL) == d)
            break;
    }
    /* tmp: [-]D.DDDe[+-]XX */
    char digits[24];
    int nd = 0, neg = tmp[0] == '-';
    const char *p = tmp + neg;
    for (; *p && *p != 'e'; p++)
        if (isdigit((unsigned char)*p))
            digits[nd++] = *p;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = 0;
    int exp = atoi(p + 1);
    double a = fabs(d);
    size_t o = 0;
    if (neg)
        buf[o++] = '-';
    if (a >= 1e-3 && a < 1e7) {
        if (exp >= 0) {
            for (int i = 0; i <= exp; i++)
                buf[o++] = i < nd ? digits[i] : '0';
            buf[o++] = '.';
            if (nd > exp + 1)
                for (int i = exp + 1; i < nd; i++)
                    buf[o++] = digits[i];
            else
                buf[o++] = '0';
        } else {
            buf[o++] = '0';
            buf[o++] = '.';
            for (int i = 0; i < -exp - 1; i++)
                buf[o++] = '0';
            for (int i = 0; i < nd; i++)
                buf[o++] = digits[i];
        }
        buf[o] = 0;
        return (int)o;
    }
    buf[o++] = digits[0];
    buf[o++] = '.';
    if (nd > 1)
        for (int i = 1; i < nd; i++)
            buf[o++] = digits[i];
    else
        buf[o++] = '0';
    o += (size_t)snprintf(buf + o, len - o, "E%d", exp);
    return (int)o;
}

static int java_date(int64_t days, char *buf, size_t len)
{
    int64_t y;
    unsigned m, d;
    sl_civil_from_days(days, &y, &m, &d);
    if (y > 9999)
        return snprintf(buf, len, "+%lld-%02u-%02u", (long long)y, m, d);
    if (y < 0)
        return snprintf(buf, len, "-%04lld-%02u-%02u", (long long)-y, m, d);
    return snprintf(buf, len, "%04lld-%02u-%02u", (long long)y, m, d);
}

/* LocalTime.toString: HH:mm, HH:mm:ss, then .SSS / .SSSSSS */
static int java_time(int64_t us_of_day, char *buf, size_t len)
{
    int64_t s = us_of_day / 1000000, f = us_of_day % 1000000;
    int n = snprintf(buf, len, "%02d:%02d", (int)(s / 3600), (int)(s / 60 % 60));
    if (s % 60 || f)
        n += snprintf(buf + n, len - (size_t)n, ":%02d", (int)(s % 60));
    if (f % 1000)
        n += snprintf(buf + n, len - (size_t)n, ".%06d", (int)f);
    else if (f)
        n += snprintf(buf + n, len - (size_t)n, ".%03d", (int)(f / 1000));
    return n;
}

int x_to_text(xctx *c, xtype t, const xval *v, char *buf, size_t len)
{
    switch ((xt)t.t) {
    case XT_BOOLEAN: return snprintf(buf, len, "%s", v->u.i ? "true" : "false");
    case XT_TINYINT:
    case XT_SMALLINT:
    case XT_INT:
    case XT_BIGINT: {
        /* the hot path of CAST(x AS STRING) and ||: no printf */
        char tmp[24];
        int n = 0;
        uint64_t u = v->u.i < 0 ? (uint64_t)0 - (uint64_t)v->u.i : (uint64_t)v->u.i;
        do {
            tmp[n++] = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        if (v->u.i < 0)
            tmp[n++] = '-';
        if ((size_t)n >= len)
            return -1;
        for (int k = 0; k < n; k++)
            buf[k] = tmp[n - 1 - k];
        buf[n] = 0;
        return n;
    }
    case XT_FLOAT: return java_double(v->u.d, 1, buf, len);
    case XT_DOUBLE: return java_double(v->u.d, 0, buf, len);
    case XT_DECIMAL: return xdec_format(v->u.dec, buf, len);
    case XT_DATE: return java_date(v->u.i, buf, len);
    case XT_TIME: return java_time(v->u.i, buf, len);
    case XT_TIMESTAMP:
    case XT_TIMESTAMP_LTZ: {
        /* LocalDateTime.toString; an LTZ value prints its UTC wall time as Flink's does */
        int64_t days, tod;
        x_split_us(v->u.i, &days, &tod);
        int n = java_date(days, buf, len);
        buf[n++] = 'T';
        return n + java_time(tod, buf + n, len - (size_t)n);
    }
    default: return -1;
    }
}

/* ---- parsing text ---- */

/* Java's Double.valueOf: surrounding blanks allowed, NaN, Infinity */
static int parse_double(const char *s, size_t n, double *out)
{
    char buf[128];
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (!n || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    size_t k = buf[0] == '+' || buf[0] == '-';
    if (strcmp(buf + k, "NaN") == 0) {
        *out = NAN;
        return 0;
    }
    if (strcmp(buf + k, "Infinity") == 0) {
        *out = buf[0] == '-' ? -INFINITY : INFINITY;
        return 0;
    }
    for (size_t i = k; i < n; i++)
        if (!(isdigit((unsigned char)buf[i]) || buf[i] == '.' || buf[i] == 'e' || buf[i] == 'E' || buf[i] == '+' ||
              buf[i] == '-' || ((buf[i] == 'd' || buf[i] == 'D' || buf[i] == 'f' || buf[i] == 'F') && i == n - 1)))
            return -1;
    char *end;
    errno = 0;
    *out = strtod(buf, &end);
    return end == buf || (*end && !(end[1] == 0 && strchr("dDfF", *end))) ? -1 : 0;
}

/* Java's Long.valueOf: an optional sign and digits only */
static int parse_long(const char *s, size_t n, int64_t *out)
{
    char buf[32];
    if (!n || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)buf[i]) && !(i == 0 && (buf[i] == '+' || buf[i] == '-') && n > 1))
            return -1;
    errno = 0;
    long long v = strtoll(buf, NULL, 10);
    if (errno)
        return -1;
    *out = v;
    return 0;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* yyyy-MM-dd (a sign and more digits for years beyond 9999) */
static int parse_date(const char *s, size_t n, int64_t *days, size_t *used)
{
    size_t i = 0;
    int sign = 1;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        sign = s[i++] == '-' ? -1 : 1;
    size_t ys = i;
    while (i < n && isdigit((unsigned char)s[i]))
        i++;
    if (i - ys < 4 || i - ys > 9 || i + 6 > n || s[i] != '-' || s[i + 3] != '-')
        return -1;
    int y, m, d;
    if (digits(s + ys, (int)(i - ys), &y) || digits(s + i + 1, 2, &m) || digits(s + i + 4, 2, &d))
        return -1;
    y *= sign;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return -1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m == 2 && d == 29 && !leap)
        return -1;
    *days = sl_days_from_civil(y, (unsigned)m, (unsigned)d);
    *used = i + 6;
    return 0;
}

/* HH:mm[:ss[.fffffffff]] */
static int parse_time(const char *s, size_t n, int64_t *us, size_t *used)
{
    int h, mi, se = 0;
    if (n < 5 || s[2] != ':' || digits(s, 2, &h) || digits(s + 3, 2, &mi))
        return -1;
    size_t i = 5;
    int64_t frac = 0;
    if (i < n && s[i] == ':') {
        if (i + 3 > n || digits(s + i + 1, 2, &se))
            return -1;
        i += 3;
        if (i < n && s[i] == '.') {
            i++;
            int k = 0;
            while (i < n && isdigit((unsigned char)s[i])) {
                if (k < 6) {
                    frac = frac * 10 + (s[i] - '0');
                    k++;
                }
                i++;
            }
            if (k == 0)
                return -1;
            for (; k < 6; k++)
                frac *= 10;
        }
    }
    if (h > 23 || mi > 59 || se > 59)
        return -1;
    *us = ((int64_t)h * 3600 + mi * 60 + se) * 1000000 + frac;
    *used = i;
    return 0;
}

static void trim(const char **s, size_t *n)
{
    while (*n && isspace((unsigned char)**s))
        (*s)++, (*n)--;
    while (*n && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

/* 'yyyy-MM-dd', 'yyyy-MM-ddTHH:mm[:ss[.f]]' or with a space for the T */
static int parse_timestamp(const char *s, size_t n, int64_t *us)
{
    trim(&s, &n);
    int64_t days;
    size_t used;
    if (parse_date(s, n, &days, &used))
        return -1;
    int64_t tod = 0;
    if (used < n) {
        if (s[used] != 'T' && s[used] != ' ')
            return -1;
        size_t u2;
        if (parse_time(s + used + 1, n - used - 1, &tod, &u2) || used + 1 + u2 != n)
            return -1;
    }
    *us = days * 86400000000LL + tod;
    return 0;
}

/* ---- conversion ---- */

static const char *tname(xtype t, char *buf, size_t len)
{
    xt_name(t, buf, len);
    return buf;
}

/* a failed conversion: NULL for TRY_CAST (and where Flink's CAST yields
 * NULL), an error otherwise */
static void bad(xctx *c, const xnode *at, xval *out, int null_ok, xtype from, xtype to, const xval *v)
{
    if (null_ok) {
        x_null(out);
        return;
    }
    char text[96], f[48], t[48];
    if (xt_is_string(from.t))
        snprintf(text, sizeof text, "'%.*s'", (int)(v->u.s.n > 60 ? 60 : v->u.s.n), v->u.s.p);
    else if (x_to_text(c, from, v, text, sizeof text) < 0)
        snprintf(text, sizeof text, "the value");
    x_fail(c, at, out, "cannot cast %s (%s) to %s", text, tname(from, f, sizeof f), tname(to, t, sizeof t));
}

static int64_t trunc_fraction(int64_t us, int p)
{
    static const int64_t unit[] = {1000000, 100000, 10000, 1000, 100, 10, 1};
    int64_t u = unit[p > 6 ? 6 : p];
    return x_floor_div(us, u) * u;
}

/* a value Flink's CAST turns into NULL: NULL for CAST and TRY_CAST, an
 * error for a coercion sluice inserted itself (never silent loss) */
static void flink_null(xctx *c, const xnode *at, xval *out, int mode, xtype from, xtype to, const xval *v)
{
    if (mode == X_IMPLICIT)
        bad(c, at, out, 0, from, to, v);
    else
        x_null(out);
}

void x_convert(xctx *c, const xnode *at, xtype from, xtype to, const xval *v, xval *out, int mode)
{
    int try_ = mode == X_TRY;
    if (v->null) {
        *out = *v;
        return;
    }
    out->null = 0;
    out->unavailable = 0;
    xt f = from.t, t = to.t;
    if (f == t && f != XT_DECIMAL && f != XT_TIMESTAMP && f != XT_TIMESTAMP_LTZ && f != XT_TIME) {
        *out = *v;
        return;
    }
    if (t == XT_CHAR || t == XT_VARCHAR) {
        if (xt_is_string(f) || xt_is_binary(f)) {
            *out = *v;
            return;
        }
        char buf[128];
        int n = x_to_text(c, from, v, buf, sizeof buf);
        if (n < 0)
            return bad(c, at, out, try_, from, to, v);
        x_set_text(c, out, buf, (size_t)n);
        return;
    }
    if (t == XT_BINARY || t == XT_VARBINARY) {
        if (xt_is_string(f) || xt_is_binary(f)) {
            *out = *v;
            return;
        }
        return bad(c, at, out, try_, from, to, v);
    }
    if (t == XT_BOOLEAN) {
        if (xt_is_int(f))
            out->u.i = v->u.i != 0;
        else if (f == XT_FLOAT || f == XT_DOUBLE)
            out->u.i = v->u.d != 0;
        else if (f == XT_DECIMAL)
            out->u.i = v->u.dec.v != 0;
        else if (xt_is_string(f)) {
            const char *s = v->u.s.p;
            size_t n = v->u.s.n;
            if (try_) {
                trim(&s, &n);
                static const char *const yes[] = {"t", "true", "y", "yes", "1"}, *const no[] = {"f", "false", "n",
                                                                                                 "no", "0"};
                for (int i = 0; i < 5; i++) {
                    if (strlen(yes[i]) == n && strncasecmp(s, yes[i], n) == 0) {
                        out->u.i = 1;
                        return;
                    }
                    if (strlen(no[i]) == n && strncasecmp(s, no[i], n) == 0) {
                        out->u.i = 0;
                        return;
                    }
                }
                x_null(out);
                return;
            }
            /* Boolean.valueOf */
            out->u.i = n == 4 && strncasecmp(s, "true", 4) == 0;
        } else
            return bad(c, at, out, try_, from, to, v);
        return;
    }
    if (xt_is_int(t)) {
        int64_t lo, hi, r;
        xt_int_range(t, &lo, &hi);
        if (f == XT_BOOLEAN || xt_is_int(f)) {
            r = v->u.i;
        } else if (f == XT_FLOAT || f == XT_DOUBLE) {
            double d = trunc(v->u.d);
            if (isnan(d))
                r = 0;
            else if (d < -9.3e18 || d > 9.3e18)
                return bad(c, at, out, try_, from, to, v);
            else
                r = (int64_t)d;
        } else if (f == XT_DECIMAL) {
            if (xdec_to_i64(v->u.dec, &r))
                return bad(c, at, out, try_, from, to, v);
        } else if (xt_is_string(f)) {
            const char *s = v->u.s.p;
            size_t n = v->u.s.n;
            if (try_)
                trim(&s, &n);
            double d;
            if (parse_long(s, n, &r) == 0) {
            } else if (!try_ && parse_double(s, n, &d) == 0 && !isnan(d) && fabs(d) < 9.2e18) {
                r = (int64_t)trunc(d);
            } else {
                /* Flink: a string that is not a number casts to NULL */
                return flink_null(c, at, out, mode, from, to, v);
            }
        } else {
            return bad(c, at, out, try_, from, to, v);
        }
        if (r < lo || r > hi)
            return bad(c, at, out, try_, from, to, v);
        out->u.i = r;
        return;
    }
    if (t == XT_FLOAT || t == XT_DOUBLE) {
        double d;
        if (f == XT_BOOLEAN || xt_is_int(f))
            d = (double)v->u.i;
        else if (f == XT_FLOAT || f == XT_DOUBLE)
            d = v->u.d;
        else if (f == XT_DECIMAL)
            d = xdec_to_double(v->u.dec);
        else if (xt_is_string(f)) {
            if (parse_double(v->u.s.p, v->u.s.n, &d))
                return flink_null(c, at, out, mode, from, to, v);
        } else
            return bad(c, at, out, try_, from, to, v);
        out->u.d = t == XT_FLOAT ? (double)(float)d : d;
        return;
    }
    if (t == XT_DECIMAL) {
        xdec d;
        if (f == XT_BOOLEAN || xt_is_int(f))
            d = xdec_from_i64(v->u.i);
        else if (f == XT_FLOAT || f == XT_DOUBLE) {
            if (xdec_from_double(v->u.d, &d))
                return flink_null(c, at, out, mode, from, to, v);
        } else if (f == XT_DECIMAL)
            d = v->u.dec;
        else if (xt_is_string(f)) {
            const char *s = v->u.s.p;
            size_t n = v->u.s.n;
            if (try_)
                trim(&s, &n);
            int rc = xdec_parse(s, n, &d);
            if (rc || (!try_ && n && (isspace((unsigned char)s[0]) || isspace((unsigned char)s[n - 1]))))
                return flink_null(c, at, out, mode, from, to, v);
        } else
            return bad(c, at, out, try_, from, to, v);
        if (!to.p) {
            /* unconstrained (an implicit coercion): keep the value's scale */
            out->u.dec = d;
            return;
        }
        /* BigDecimal(text, MathContext(p)).setScale(s, HALF_UP) */
        int nd = xdec_digits(d);
        if (nd > to.p && xdec_rescale(&d, d.scale - (nd - to.p), 1))
            return flink_null(c, at, out, mode, from, to, v);
        if (xdec_rescale(&d, to.s, 1) || xdec_digits(d) > to.p)
            return flink_null(c, at, out, mode, from, to, v);
        out->u.dec = d;
        return;
    }
    if (t == XT_DATE) {
        if (xt_is_string(f)) {
            const char *s = v->u.s.p;
            size_t n = v->u.s.n, used;
            trim(&s, &n);
            int64_t days;
            if (parse_date(s, n, &days, &used) || used != n)
                return bad(c, at, out, try_, from, to, v);
            out->u.i = days;
        } else if (f == XT_TIMESTAMP) {
            out->u.i = x_floor_div(v->u.i, 86400000000LL);
        } else if (f == XT_TIMESTAMP_LTZ) {
            out->u.i = x_floor_div(c->rt ? xtz_local_us(c->rt->tz, v->u.i) : v->u.i, 86400000000LL);
        } else
            return bad(c, at, out, try_, from, to, v);
        return;
    }
    if (t == XT_TIME) {
        int64_t us;
        if (xt_is_string(f)) {
            const char *s = v->u.s.p;
            size_t n = v->u.s.n, used;
            trim(&s, &n);
            if (parse_time(s, n, &us, &used) || used != n)
                return bad(c, at, out, try_, from, to, v);
        } else if (f == XT_TIME) {
            us = v->u.i;
        } else if (f == XT_TIMESTAMP || f == XT_TIMESTAMP_LTZ) {
            int64_t days, tod;
            x_split_us(f == XT_TIMESTAMP_LTZ && c->rt ? xtz_local_us(c->rt->tz, v->u.i) : v->u.i, &days, &tod);
            us = tod;
        } else
            return bad(c, at, out, try_, from, to, v);
        out->u.i = trunc_fraction(us, to.s);
        return;
    }
    if (t == XT_TIMESTAMP || t == XT_TIMESTAMP_LTZ) {
        int64_t us; /* wall clock for TIMESTAMP sources, an instant for LTZ ones */
        int is_instant = 0;
        if (xt_is_string(f)) {
            if (parse_timestamp(v->u.s.p, v->u.s.n, &us))
                return bad(c, at, out, try_, from, to, v);
        } else if (f == XT_DATE) {
            us = v->u.i * 86400000000LL;
        } else if (f == XT_TIMESTAMP) {
            us = v->u.i;
        } else if (f == XT_TIMESTAMP_LTZ) {
            us = v->u.i;
            is_instant = 1;
        } else
            return bad(c, at, out, try_, from, to, v);
        if (t == XT_TIMESTAMP && is_instant)
            us = c->rt ? xtz_local_us(c->rt->tz, us) : us;
        else if (t == XT_TIMESTAMP_LTZ && !is_instant)
            us = c->rt ? xtz_utc_us(c->rt->tz, us) : us;
        out->u.i = trunc_fraction(us, to.s);
        return;
    }
    bad(c, at, out, try_, from, to, v);
}

void x_cast(const xnode *n, xctx *c, xval *out)
{
    xval v;
    xeval_arg(n, 0, c, &v);
    x_convert(c, n, n->args[0]->type, n->type, &v, out, (int)n->i1);
    out->unavailable = v.unavailable;
}

/* ---- row values ---- */

void x_from_value(xctx *c, const xnode *at, xtype t, const sl_value *sv, xval *out)
{
    out->null = 0;
    out->unavailable = 0;
    switch ((sl_kind)sv->kind) {
    case SL_NULL: out->null = 1; return;
    case SL_UNCHANGED:
        out->null = 1;
        out->unavailable = 1;
        return;
    default: break;
    }
    switch ((xt)t.t) {
    case XT_BOOLEAN:
        out->u.i = sv->kind == SL_BIT || sv->kind == SL_UINT ? sv->v.u != 0 : sv->v.i != 0;
        return;
    case XT_TINYINT:
    case XT_SMALLINT:
    case XT_INT:
    case XT_BIGINT: out->u.i = sv->v.i; return;
    case XT_FLOAT:
    case XT_DOUBLE: out->u.d = sv->v.d; return;
    case XT_DECIMAL:
        if (sv->kind == SL_UINT || sv->kind == SL_BIT) {
            out->u.dec.v = (xint128)sv->v.u;
            out->u.dec.scale = 0;
            return;
        }
        if (sv->kind == SL_INT) {
            out->u.dec = xdec_from_i64(sv->v.i);
            return;
        }
        if (xdec_parse(sv->v.s, sv->len, &out->u.dec))
            x_fail(c, at, out, "the value %.*s is not a number SQL can compute with", (int)(sv->len > 40 ? 40 : sv->len),
                   sv->v.s);
        return;
    case XT_DATE:
        if (sv->flags & SL_VF_INVALID_DATE)
            out->null = 1;
        else
            out->u.i = sv->v.i;
        return;
    case XT_TIME:
    case XT_TIMESTAMP:
    case XT_TIMESTAMP_LTZ:
        if (sv->flags & SL_VF_U64)
            x_fail(c, at, out, "a timestamp beyond the year 294247 cannot be computed with");
        else
            out->u.i = sv->v.i;
        return;
    default:
        if (sv->kind == SL_STRING || sv->kind == SL_BYTES || sv->kind == SL_JSON || sv->kind == SL_ENUM ||
            sv->kind == SL_SET || sv->kind == SL_TEXTUAL || sv->kind == SL_DECIMAL || (sv->flags & SL_VF_INVALID_DATE)) {
            out->u.s.p = sv->v.s;
            out->u.s.n = sv->len;
            return;
        }
        char buf[128];
        int n = sl_value_sql_text(sv, buf, sizeof buf);
        x_set_text(c, out, buf, n > 0 ? (size_t)n : 0);
        return;
    }
}

int x_to_value(xctx *c, xtype t, const xval *v, sl_value *out)
{
    memset(out, 0, sizeof *out);
    if (v->null) {
        out->kind = v->unavailable ? SL_UNCHANGED : SL_NULL;
        return 0;
    }
    switch ((xt)t.t) {
    case XT_BOOLEAN: out->kind = SL_BOOL; out->v.i = v->u.i != 0; return 0;
    case XT_TINYINT:
    case XT_SMALLINT:
    case XT_INT:
    case XT_BIGINT: out->kind = SL_INT; out->v.i = v->u.i; return 0;
    case XT_FLOAT: out->kind = SL_FLOAT; out->v.d = v->u.d; return 0;
    case XT_DOUBLE: out->kind = SL_DOUBLE; out->v.d = v->u.d; return 0;
    case XT_DECIMAL: {
        xdec d = v->u.dec;
        if (t.p && xdec_rescale(&d, t.s, 1))
            return -1;
        char buf[96];
        int n = xdec_format(d, buf, sizeof buf);
        char *p = x_alloc(c, (size_t)n);
        if (!p)
            return -1;
        memcpy(p, buf, (size_t)n);
        *out = sl_val_text(SL_DECIMAL, p, (uint32_t)n);
        return 0;
    }
    case XT_CHAR:
    case XT_VARCHAR: *out = sl_val_text(SL_STRING, v->u.s.p, v->u.s.n); return 0;
    case XT_BINARY:
    case XT_VARBINARY: *out = sl_val_text(SL_BYTES, v->u.s.p, v->u.s.n); return 0;
    case XT_DATE: out->kind = SL_DATE; out->v.i = v->u.i; return 0;
    case XT_TIME: out->kind = SL_TIME; out->v.i = v->u.i; out->aux = t.s; return 0;
    case XT_TIMESTAMP: out->kind = SL_DATETIME; out->v.i = v->u.i; out->aux = t.s; return 0;
    case XT_TIMESTAMP_LTZ: out->kind = SL_TIMESTAMP; out->v.i = v->u.i; out->aux = t.s; return 0;
    default: out->kind = SL_NULL; return 0;
    }
}

int x_compare(xtype t, const xval *a, const xval *b)
{
    switch ((xt)t.t) {
    case XT_FLOAT:
    case XT_DOUBLE: {
        /* Double.compare: -0.0 < 0.0, NaN above everything */
        double x = a->u.d, y = b->u.d;
        if (x < y)
            return -1;
        if (x > y)
            return 1;
        if (isnan(x) || isnan(y))
            return isnan(x) - isnan(y);
        return signbit(y) - signbit(x) ? (signbit(x) ? -1 : 1) : 0;
    }
    case XT_DECIMAL: return xdec_cmp(a->u.dec, b->u.dec);
    case XT_CHAR:
    case XT_VARCHAR:
    case XT_BINARY:
    case XT_VARBINARY: {
        uint32_t n = a->u.s.n < b->u.s.n ? a->u.s.n : b->u.s.n;
        int r = n ? memcmp(a->u.s.p, b->u.s.p, n) : 0;
        if (r)
            return r < 0 ? -1 : 1;
        return (a->u.s.n > b->u.s.n) - (a->u.s.n < b->u.s.n);
    }
    default: return (a->u.i > b->u.i) - (a->u.i < b->u.i);
    }
}
