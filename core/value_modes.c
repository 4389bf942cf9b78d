/* value_modes.c — see value_modes.h. The forms are Debezium 3.5's, checked
 * against Debezium itself by `make compat`. */
#include "value_modes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "option.h"

static int mode_is(const char *v, const char *name) { return v && strcmp(v, name) == 0; }

void sl_value_modes_from(const sl_options *o, const char *connector, sl_value_modes *m)
{
    memset(m, 0, sizeof *m);
    m->bigint_unsigned = mode_is(sl_opt_str(o, "bigint.unsigned.handling.mode"), "long") ? SL_BIGINT_LONG
                                                                                         : SL_BIGINT_PRECISE;
    const char *d = sl_opt_str(o, "decimal.handling.mode");
    m->decimal = mode_is(d, "precise") ? SL_DECIMAL_PRECISE : mode_is(d, "double") ? SL_DECIMAL_DOUBLE : SL_DECIMAL_STRING;
    const char *t = sl_opt_str(o, "time.precision.mode");
    if (!t) /* Debezium's default differs per connector */
        t = mode_is(connector, "postgresql") ? "adaptive" : "adaptive_time_microseconds";
    /* Debezium's MySQL connector has no millisecond TIME in adaptive mode
     * (TIME spans ±838 hours): there it is adaptive_time_microseconds */
    m->time_precision = mode_is(t, "adaptive") && mode_is(connector, "postgresql") ? SL_TIME_ADAPTIVE
                        : mode_is(t, "connect")                                    ? SL_TIME_CONNECT
                                                                                   : SL_TIME_ADAPTIVE_US;
    m->interval = mode_is(sl_opt_str(o, "interval.handling.mode"), "numeric") ? SL_INTERVAL_NUMERIC
                                                                              : SL_INTERVAL_STRING;
    m->mariadb_as_mysql = mode_is(sl_opt_str(o, "mariadb.source.connector"), "mysql");
    const char *bin = sl_opt_str(o, "binary.handling.mode");
    m->binary = mode_is(bin, "base64")            ? SL_BINARY_BASE64
                : mode_is(bin, "base64-url-safe") ? SL_BINARY_BASE64_URL
                : mode_is(bin, "hex")             ? SL_BINARY_HEX
                                                  : SL_BINARY_BYTES;
}

const char *sl_envelope_connector(const char *connector, int mariadb, const sl_value_modes *m)
{
    return mariadb && mode_is(connector, "mysql") && !(m && m->mariadb_as_mysql) ? "mariadb" : connector;
}

int sl_bigint_as_decimal(const sl_column *c, const sl_value_modes *m)
{
    return m && m->bigint_unsigned == SL_BIGINT_PRECISE && c && c->kind == SL_UINT && c->type_name &&
           strncmp(c->type_name, "bigint", 6) == 0;
}

int sl_decimal_variable(const sl_column *c)
{
    return c->kind == SL_DECIMAL && c->precision == 0 && !(c->type_name && strncmp(c->type_name, "money", 5) == 0);
}

int sl_is_interval(const sl_column *c)
{
    return !c->is_array && c->type_name && strncmp(c->type_name, "interval", 8) == 0;
}

int sl_zoned_trimmed(const sl_column *c, const sl_value *v)
{
    if (v->kind == SL_TIMESTAMP)
        return (v->flags & SL_VF_ZONED_TRIM) != 0;
    return c && !c->is_array && c->kind == SL_TEXTUAL && c->type_name && strncmp(c->type_name, "time", 4) == 0 &&
           strstr(c->type_name, "with time zone") != NULL;
}

size_t sl_trim_fraction(char *s, size_t n)
{
    /* the seconds' fraction is the text's only '.' */
    const char *p = memchr(s, '.', n);
    size_t dot = p ? (size_t)(p - s) : n;
    if (dot == n)
        return n;
    size_t end = dot + 1;
    while (end < n && s[end] >= '0' && s[end] <= '9')
        end++;
    size_t keep = end;
    while (keep > dot + 1 && s[keep - 1] == '0')
        keep--;
    if (keep == dot + 1)
        keep = dot;
    memmove(s + keep, s + end, n - end);
    return n - (end - keep);
}

/* uuid's type OID; MySQL type codes, the other meaning of src_type, are
 * all below 256 */
int sl_is_pg_uuid(const sl_column *c) { return !c->is_array && c->src_type == 2950; }

int sl_time_in_ms(const sl_column *c, const sl_value_modes *m)
{
    return m && (m->time_precision == SL_TIME_CONNECT || (m->time_precision == SL_TIME_ADAPTIVE && c->scale <= 3));
}

int sl_datetime_in_ms(const sl_column *c, const sl_value_modes *m)
{
    return (m && m->time_precision == SL_TIME_CONNECT) || c->scale <= 3;
}

/* Connect's Decimal: the unscaled value as big-endian two's complement in
 * the fewest bytes that keep its sign. mag is the magnitude, big-endian. */
static void twos_complement_b64(sl_buf *b, unsigned char *mag, size_t n, int neg)
{
    size_t lead = 0;
    while (lead + 1 < n && mag[lead] == 0)
        lead++;
    unsigned char *p = mag + lead;
    n -= lead;
    int zero = n == 1 && p[0] == 0;
    if (neg && !zero) {
        int carry = 1;
        for (size_t i = n; i-- > 0;) {
            int v = (unsigned char)~p[i] + carry;
            p[i] = (unsigned char)v;
            carry = v >> 8;
        }
        /* needs a sign byte when the top bit is clear; drop 0xff bytes the
         * next one's top bit already signs */
        if (!(p[0] & 0x80)) {
            p--;
            p[0] = 0xff;
            n++;
        }
        while (n > 1 && p[0] == 0xff && (p[1] & 0x80)) {
            p++;
            n--;
        }
    } else if (p[0] & 0x80) {
        p--;
        p[0] = 0;
        n++;
    }
    sl_base64(b, p, n);
}

void sl_render_decimal_u64(sl_buf *b, uint64_t u)
{
    unsigned char mag[10];
    for (int i = 0; i < 8; i++)
        mag[2 + i] = (unsigned char)(u >> (8 * (7 - i)));
    mag[0] = mag[1] = 0;
    twos_complement_b64(b, mag + 2, 8, 0);
}

/* digits (no sign, no point) as a big-endian magnitude into mag[cap],
 * right-aligned; returns the start offset, or -1 when it does not fit */
static long digits_to_bytes(const char *digits, size_t nd, unsigned char *mag, size_t cap)
{
    memset(mag, 0, cap);
    size_t used = 1; /* bytes from the end in use */
    for (size_t i = 0; i < nd; i++) {
        unsigned carry = (unsigned)(digits[i] - '0');
        for (size_t k = 0; k < used; k++) {
            unsigned v = mag[cap - 1 - k] * 10u + carry;
            mag[cap - 1 - k] = (unsigned char)v;
            carry = v >> 8;
        }
        if (carry) {
            if (used + 1 >= cap)
                return -1;
            mag[cap - 1 - used++] = (unsigned char)carry;
        }
    }
    return (long)(cap - used);
}

void sl_render_decimal(sl_buf *b, const sl_column *c, const char *s, size_t n, const sl_value_modes *m)
{
    if (!m || m->decimal == SL_DECIMAL_STRING) {
        sl_json_string(b, s, n);
        return;
    }
    int special = n == 0 || !((s[0] >= '0' && s[0] <= '9') || s[0] == '-' || s[0] == '+' || s[0] == '.');
    if (m->decimal == SL_DECIMAL_DOUBLE) {
        char tmp[128];
        double d = 0;
        if (n < sizeof tmp) {
            memcpy(tmp, s, n);
            tmp[n] = 0;
            d = strtod(tmp, NULL); /* "NaN", "Infinity" too */
        } else {
            char *big = malloc(n + 1);
            if (big) {
                memcpy(big, s, n);
                big[n] = 0;
                d = strtod(big, NULL);
                free(big);
            }
        }
        sl_format_double(b, d, 0);
        return;
    }
    if (special) {
        /* NaN / Infinity have no Decimal: Debezium writes null */
        sl_buf_adds(b, "null");
        return;
    }
    /* precise: the unscaled digits at the column's scale (a variable-scale
     * numeric at the scale of its significant fraction digits) */
    int neg = s[0] == '-';
    size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    char *digits = malloc(n + (size_t)c->scale + 2);
    if (!digits) {
        b->failed = 1;
        return;
    }
    size_t nd = 0, frac = 0;
    int after_point = 0;
    for (; i < n; i++) {
        if (s[i] == '.') {
            after_point = 1;
            continue;
        }
        if (s[i] < '0' || s[i] > '9')
            break;
        if (after_point) {
            if (!sl_decimal_variable(c) && frac >= c->scale)
                continue; /* more digits than the column's scale: cut */
            frac++;
        }
        digits[nd++] = s[i];
    }
    int variable = sl_decimal_variable(c);
    while (!variable && frac < c->scale) {
        digits[nd++] = '0';
        frac++;
    }
    /* Debezium's VariableScaleDecimal drops the fraction's trailing zeros
     * (-0.000100 at scale 4; the scale never below 0): the same number */
    while (variable && frac > 0 && digits[nd - 1] == '0') {
        nd--;
        frac--;
    }
    size_t cap = nd / 2 + 4;
    unsigned char *mag = malloc(cap);
    long at = mag ? digits_to_bytes(digits, nd, mag, cap) : -1;
    if (at < 0) {
        b->failed = 1;
    } else {
        if (variable)
            sl_buf_printf(b, "{\"scale\":%zu,\"value\":", frac);
        twos_complement_b64(b, mag + at, cap - (size_t)at, neg);
        if (variable)
            sl_buf_addc(b, '}');
    }
    free(mag);
    free(digits);
}

/* PostgreSQL's iso_8601 interval output: P[nY][nM][nD][T[nH][nM][n[.f]S]],
 * every number signed, "PT0S" for zero */
typedef struct interval_parts {
    int64_t years, months, days, hours, minutes, seconds, micros;
} interval_parts;

static int parse_interval(const char *s, size_t n, interval_parts *out)
{
    memset(out, 0, sizeof *out);
    size_t i = 0;
    if (n < 2 || s[i++] != 'P')
        return -1;
    int in_time = 0;
    while (i < n) {
        if (s[i] == 'T') {
            in_time = 1;
            i++;
            continue;
        }
        int neg = 0;
        if (s[i] == '-' || s[i] == '+')
            neg = s[i++] == '-';
        int64_t v = 0, frac = 0;
        int nd = 0, fd = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9' && nd < 18) {
            v = v * 10 + (s[i++] - '0');
            nd++;
        }
        if (i < n && s[i] == '.') {
            i++;
            while (i < n && s[i] >= '0' && s[i] <= '9') {
                if (fd < 6) {
                    frac = frac * 10 + (s[i] - '0');
                    fd++;
                }
                i++;
            }
            while (fd++ < 6)
                frac *= 10;
        }
        if (nd == 0 || i >= n)
            return -1;
        char unit = s[i++];
        if (neg) {
            v = -v;
            frac = -frac;
        }
        if (!in_time && unit == 'Y')
            out->years = v;
        else if (!in_time && unit == 'M')
            out->months = v;
        else if (!in_time && unit == 'D')
            out->days = v;
        else if (in_time && unit == 'H')
            out->hours = v;
        else if (in_time && unit == 'M')
            out->minutes = v;
        else if (in_time && unit == 'S') {
            out->seconds = v;
            out->micros = frac;
        } else
            return -1;
    }
    return 0;
}

int sl_render_interval(sl_buf *b, const char *s, size_t n, const sl_value_modes *m)
{
    interval_parts p;
    if (parse_interval(s, n, &p))
        return -1;
    if (m->interval == SL_INTERVAL_NUMERIC) {
        /* MicroDuration as Debezium computes it, in doubles, a month being
         * 30.4375 days, truncated toward zero */
        double days = (double)(p.years * 12 + p.months) * 30.4375 + (double)p.days;
        double secs = ((days * 24.0 + (double)p.hours) * 60.0 + (double)p.minutes) * 60.0 + (double)p.seconds;
        sl_buf_i64(b, (int64_t)(secs * 1000000.0 + (double)p.micros));
        return 0;
    }
    /* Debezium's Interval: every part, seconds without trailing zeros */
    char sec[48];
    int64_t us = p.seconds * 1000000 + p.micros;
    int64_t whole = us / 1000000, frac = us % 1000000;
    if (frac) {
        char f[8];
        snprintf(f, sizeof f, "%06lld", (long long)(frac < 0 ? -frac : frac));
        size_t k = strlen(f);
        while (k && f[k - 1] == '0')
            f[--k] = 0;
        snprintf(sec, sizeof sec, "%s%lld.%s", us < 0 && whole == 0 ? "-" : "", (long long)whole, f);
    } else {
        snprintf(sec, sizeof sec, "%lld", (long long)whole);
    }
    sl_buf_printf(b, "\"P%lldY%lldM%lldDT%lldH%lldM%sS\"", (long long)p.years, (long long)p.months, (long long)p.days,
                  (long long)p.hours, (long long)p.minutes, sec);
    return 0;
}

void sl_render_binary(sl_buf *b, const unsigned char *p, size_t n, const sl_value_modes *m)
{
    if (!m || m->binary == SL_BINARY_BYTES || m->binary == SL_BINARY_BASE64) {
        sl_base64(b, p, n);
        return;
    }
    if (m->binary == SL_BINARY_HEX) {
        static const char hex[] = "0123456789abcdef";
        if (sl_buf_reserve(b, 2 * n + 2))
            return;
        sl_buf_addc(b, '"');
        for (size_t i = 0; i < n; i++) {
            char two[2] = {hex[p[i] >> 4], hex[p[i] & 15]};
            sl_buf_add(b, two, 2);
        }
        sl_buf_addc(b, '"');
        return;
    }
    /* URL-safe alphabet, padded (java.util.Base64's URL encoder) */
    size_t start = b->len;
    sl_base64(b, p, n);
    for (size_t i = start + 1; i + 1 < b->len; i++) {
        if (b->data[i] == '+')
            b->data[i] = '-';
        else if (b->data[i] == '/')
            b->data[i] = '_';
    }
}
