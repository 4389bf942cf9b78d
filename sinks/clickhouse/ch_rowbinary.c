/* ch_rowbinary.c — values in ClickHouse's RowBinary format, both ways.
 *
 * Writing is driven by the ClickHouse column's type, not the source's, so
 * the same code serves tables sluice created, tables a user created with
 * wider types, and rows replayed into a table already altered by a later
 * schema change. A value the column cannot hold exactly is refused with a
 * reason (the caller names table, column and key) instead of being
 * rounded, clamped or wrapped. PostgreSQL's +-infinity dates and
 * timestamps are stored as the extreme integers PostgreSQL itself uses.
 *
 * Reading (for `sluice migrate`'s verification) turns a value back into
 * the sl_value the source produced, so its JSON rendering hashes the same.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/envelope.h"
#include "../../formats/decimal.h"
#include "ch_sink.h"

void ch_rb_varint(sl_buf *b, uint64_t v)
{
    unsigned char tmp[10];
    int n = 0;
    do {
        unsigned char c = v & 0x7f;
        v >>= 7;
        tmp[n++] = c | (v ? 0x80 : 0);
    } while (v);
    sl_buf_add(b, tmp, (size_t)n);
}

void ch_rb_string(sl_buf *b, const char *s, size_t n)
{
    ch_rb_varint(b, n);
    sl_buf_add(b, s, n);
}

static void put_le(sl_buf *b, uint64_t v, int bytes)
{
    unsigned char tmp[8];
    for (int i = 0; i < bytes; i++)
        tmp[i] = (unsigned char)(v >> (8 * i));
    sl_buf_add(b, tmp, (size_t)bytes);
}

void ch_rb_u128(sl_buf *b, uint64_t hi, uint64_t lo)
{
    put_le(b, lo, 8);
    put_le(b, hi, 8);
}

static int fail(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
    return -1;
}

/* ------------------------------------------------------------ decimal -- */

/* a 256-bit two's complement integer, little-endian limbs */
typedef struct i256 {
    uint64_t w[4];
} i256;

static int i256_mul10_add(i256 *x, unsigned d)
{
    unsigned __int128 carry = d;
    for (int i = 0; i < 4; i++) {
        unsigned __int128 v = (unsigned __int128)x->w[i] * 10 + carry;
        x->w[i] = (uint64_t)v;
        carry = v >> 64;
    }
    return carry != 0;
}

static void i256_neg(i256 *x)
{
    unsigned __int128 carry = 1;
    for (int i = 0; i < 4; i++) {
        unsigned __int128 v = (unsigned __int128)(uint64_t)~x->w[i] + carry;
        x->w[i] = (uint64_t)v;
        carry = v >> 64;
    }
}

static unsigned i256_divmod10(i256 *x)
{
    unsigned __int128 rem = 0;
    for (int i = 3; i >= 0; i--) {
        unsigned __int128 cur = rem << 64 | x->w[i];
        x->w[i] = (uint64_t)(cur / 10);
        rem = cur % 10;
    }
    return (unsigned)rem;
}

static int i256_zero(const i256 *x) { return !(x->w[0] | x->w[1] | x->w[2] | x->w[3]); }

static int decimal_bytes(unsigned p) { return p <= 9 ? 4 : p <= 18 ? 8 : p <= 38 ? 16 : 32; }

/* "-12.340" scaled by 10^scale; Decimal(p, scale) holds fewer than
 * 10^(p - scale) whole units and exactly scale fractional digits */
static int decimal_parse(const char *s, size_t n, unsigned p, unsigned scale, i256 *out, char *why, size_t wl)
{
    memset(out, 0, sizeof *out);
    int shown = (int)(n > 80 ? 80 : n);
    sl_decimal_parts d;
    if (sl_decimal_split(s, n, &d))
        return fail(why, wl, "'%.*s' is not a decimal number", shown, s);
    int neg = d.neg;
    const char *ip = d.int_digits, *fp = d.frac_digits;
    size_t int_start = 0, int_end = d.nint, frac_start = 0, frac_end = d.nfrac;
    while (int_start < int_end && ip[int_start] == '0')
        int_start++;
    if (int_end - int_start > (size_t)(p - scale))
        return fail(why, wl, "%.*s has more than %u integer digits", shown, s, p - scale);
    for (size_t k = frac_start + scale; k < frac_end; k++)
        if (fp[k] != '0')
            return fail(why, wl, "%.*s has more than %u fractional digits", shown, s, scale);
    for (size_t k = int_start; k < int_end; k++)
        i256_mul10_add(out, (unsigned)(ip[k] - '0'));
    for (unsigned k = 0; k < scale; k++) {
        size_t at = frac_start + k;
        i256_mul10_add(out, at < frac_end ? (unsigned)(fp[at] - '0') : 0);
    }
    if (neg)
        i256_neg(out);
    return 0;
}

static void decimal_put(sl_buf *b, const i256 *x, unsigned p)
{
    int bytes = decimal_bytes(p);
    for (int i = 0; i < bytes / 8; i++)
        put_le(b, x->w[i], 8);
    if (bytes == 4)
        put_le(b, x->w[0], 4);
}

/* the digits of x scaled by 10^-scale as text */
static int decimal_text(const i256 *in, unsigned scale, sl_arena *a, sl_value *out)
{
    i256 x = *in;
    int neg = (int64_t)x.w[3] < 0;
    if (neg)
        i256_neg(&x);
    char tmp[100];
    int n = 0;
    unsigned k = 0;
    do {
        tmp[n++] = (char)('0' + i256_divmod10(&x));
        if (++k == scale)
            tmp[n++] = '.';
    } while (!i256_zero(&x) || k <= scale);
    if (tmp[n - 1] == '.')
        tmp[n++] = '0';
    if (neg)
        tmp[n++] = '-';
    char *s = sl_arena_alloc(a, (size_t)n);
    if (!s)
        return -1;
    for (int i = 0; i < n; i++)
        s[i] = tmp[n - 1 - i];
    *out = sl_val_text(SL_DECIMAL, s, (uint32_t)n);
    return 0;
}

/* ------------------------------------------------------------- values -- */

static const int64_t pow10_tab[] = {1,         10,         100,         1000,         10000,        100000,
                                    1000000,   10000000,   100000000,   1000000000};

/* microseconds as ticks of precision p */
static int micros_to_ticks(int64_t us, unsigned p, int64_t *ticks, char *why, size_t wl)
{
    if (p == 6) {
        *ticks = us;
    } else if (p < 6) {
        int64_t div = pow10_tab[6 - p];
        if (us % div)
            return fail(why, wl, "%lld microseconds has more than %u fractional digits", (long long)us, p);
        *ticks = us / div;
    } else {
        if (__builtin_mul_overflow(us, pow10_tab[p - 6], ticks))
            return fail(why, wl, "%lld microseconds overflows precision %u", (long long)us, p);
    }
    return 0;
}

static int64_t ticks_to_micros(int64_t ticks, unsigned p)
{
    if (p == 6)
        return ticks;
    if (p < 6)
        return ticks * pow10_tab[6 - p];
    return ticks / pow10_tab[p - 6];
}

static int is_infinity(const sl_value *v, int *sign)
{
    if (v->kind != SL_STRING)
        return 0;
    if (v->len == 8 && memcmp(v->v.s, "infinity", 8) == 0) {
        *sign = 1;
        return 1;
    }
    if (v->len == 9 && memcmp(v->v.s, "-infinity", 9) == 0) {
        *sign = -1;
        return 1;
    }
    return 0;
}

static int is_textual(uint8_t k)
{
    return k == SL_STRING || k == SL_BYTES || k == SL_JSON || k == SL_ENUM || k == SL_SET || k == SL_TEXTUAL ||
           k == SL_DECIMAL;
}

/* the integer a value carries: 0 ok (signed in *i or unsigned in *u with
 * *is_u), -1 not an integer */
static int integer_of(const sl_value *v, int64_t *i, uint64_t *u, int *is_u)
{
    *is_u = 0;
    switch ((sl_kind)v->kind) {
    case SL_INT: case SL_YEAR: case SL_BOOL: case SL_TIME:
        *i = v->v.i;
        return 0;
    case SL_UINT: case SL_BIT:
        *u = v->v.u;
        *is_u = 1;
        return 0;
    default:
        return -1;
    }
}

static int put_int(sl_buf *b, uint8_t base, const sl_value *v, char *why, size_t wl)
{
    int64_t i = 0;
    uint64_t u = 0;
    int is_u;
    if (integer_of(v, &i, &u, &is_u))
        return fail(why, wl, "a %s value is not an integer", sl_kind_name((sl_kind)v->kind));
    int64_t lo;
    uint64_t hi;
    int bytes;
    switch (base) {
    case CH_INT8: lo = INT8_MIN; hi = INT8_MAX; bytes = 1; break;
    case CH_INT16: lo = INT16_MIN; hi = INT16_MAX; bytes = 2; break;
    case CH_INT32: lo = INT32_MIN; hi = INT32_MAX; bytes = 4; break;
    case CH_INT64: lo = INT64_MIN; hi = INT64_MAX; bytes = 8; break;
    case CH_UINT8: lo = 0; hi = UINT8_MAX; bytes = 1; break;
    case CH_UINT16: lo = 0; hi = UINT16_MAX; bytes = 2; break;
    case CH_UINT32: lo = 0; hi = UINT32_MAX; bytes = 4; break;
    default: lo = 0; hi = UINT64_MAX; bytes = 8; break;
    }
    int ok = is_u ? u <= hi : (i >= lo && (i < 0 || (uint64_t)i <= hi));
    if (!ok) {
        if (is_u)
            return fail(why, wl, "value %llu does not fit", (unsigned long long)u);
        return fail(why, wl, "value %lld does not fit", (long long)i);
    }
    put_le(b, is_u ? u : (uint64_t)i, bytes);
    return 0;
}

static int put_uuid(sl_buf *b, const sl_value *v, char *why, size_t wl)
{
    unsigned char raw[16];
    if (v->kind == SL_BYTES && v->len == 16) {
        memcpy(raw, v->v.s, 16);
    } else if (is_textual(v->kind)) {
        int k = 0;
        for (uint32_t i = 0; i < v->len && k < 32; i++) {
            if (v->v.s[i] == '-')
                continue;
            int h = sl_hex_digit((unsigned char)v->v.s[i]);
            if (h < 0)
                return fail(why, wl, "'%.*s' is not a UUID", (int)(v->len > 40 ? 40 : v->len), v->v.s);
            if (k % 2 == 0)
                raw[k / 2] = (unsigned char)(h << 4);
            else
                raw[k / 2] |= (unsigned char)h;
            k++;
        }
        if (k != 32)
            return fail(why, wl, "'%.*s' is not a UUID", (int)(v->len > 40 ? 40 : v->len), v->v.s);
    } else {
        return fail(why, wl, "a %s value is not a UUID", sl_kind_name((sl_kind)v->kind));
    }
    /* two little-endian 64-bit halves */
    unsigned char out[16];
    for (int i = 0; i < 8; i++) {
        out[i] = raw[7 - i];
        out[8 + i] = raw[15 - i];
    }
    sl_buf_add(b, out, 16);
    return 0;
}

static int put_ip(sl_buf *b, int v6, const sl_value *v, char *why, size_t wl)
{
    char tmp[64];
    if (!is_textual(v->kind) || v->len >= sizeof tmp)
        return fail(why, wl, "not an IP address");
    memcpy(tmp, v->v.s, v->len);
    tmp[v->len] = 0;
    unsigned char raw[16];
    if (v6) {
        if (inet_pton(AF_INET6, tmp, raw) != 1) {
            unsigned char r4[4];
            if (inet_pton(AF_INET, tmp, r4) != 1)
                return fail(why, wl, "'%s' is not an IPv6 address", tmp);
            memset(raw, 0, 10);
            raw[10] = raw[11] = 0xff;
            memcpy(raw + 12, r4, 4);
        }
        sl_buf_add(b, raw, 16);
    } else {
        if (inet_pton(AF_INET, tmp, raw) != 1)
            return fail(why, wl, "'%s' is not an IPv4 address", tmp);
        uint32_t a = (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 | (uint32_t)raw[2] << 8 | raw[3];
        put_le(b, a, 4);
    }
    return 0;
}

static void put_f64(sl_buf *b, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    put_le(b, u, 8);
}

static void put_f32(sl_buf *b, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    put_le(b, u, 4);
}

/* one non-NULL value of the scalar type t */
static int put_scalar(sl_buf *b, const ch_type *t, const sl_column *c, const sl_value *v, char *why, size_t wl)
{
    int sign;
    switch ((ch_base)t->base) {
    case CH_INT8: case CH_INT16: case CH_INT32: case CH_INT64:
    case CH_UINT8: case CH_UINT16: case CH_UINT32: case CH_UINT64:
        return put_int(b, t->base, v, why, wl);
    case CH_FLOAT32:
    case CH_FLOAT64: {
        double d;
        if (v->kind == SL_FLOAT || v->kind == SL_DOUBLE) {
            d = v->v.d;
        } else if (v->kind == SL_INT && v->v.i > -(1LL << 53) && v->v.i < (1LL << 53)) {
            d = (double)v->v.i;
        } else {
            return fail(why, wl, "a %s value is not a float", sl_kind_name((sl_kind)v->kind));
        }
        if (t->base == CH_FLOAT64) {
            put_f64(b, d);
        } else {
            float f = (float)d;
            if (!isnan(d) && (double)f != d)
                return fail(why, wl, "%.17g is not exact as Float32", d);
            put_f32(b, f);
        }
        return 0;
    }
    case CH_DECIMAL: {
        i256 x;
        char num[32];
        const char *s = v->v.s;
        size_t n = v->len;
        if (v->kind == SL_INT || v->kind == SL_UINT) {
            n = (size_t)(v->kind == SL_INT ? snprintf(num, sizeof num, "%lld", (long long)v->v.i)
                                           : snprintf(num, sizeof num, "%llu", (unsigned long long)v->v.u));
            s = num;
        } else if (v->kind != SL_DECIMAL) {
            return fail(why, wl, "a %s value is not a decimal", sl_kind_name((sl_kind)v->kind));
        }
        if (decimal_parse(s, n, t->p, t->s, &x, why, wl))
            return -1;
        decimal_put(b, &x, t->p);
        return 0;
    }
    case CH_STRING:
    case CH_JSON:
        if (is_textual(v->kind) || (v->flags & SL_VF_INVALID_DATE)) {
            ch_rb_string(b, v->v.s, v->len);
        } else {
            char tmp[128];
            int n = sl_value_sql_text(v, tmp, sizeof tmp);
            if (n < 0)
                return fail(why, wl, "a %s value has no text form", sl_kind_name((sl_kind)v->kind));
            ch_rb_string(b, tmp, (size_t)n);
        }
        return 0;
    case CH_FIXEDSTRING: {
        if (!is_textual(v->kind) || v->len > t->p)
            return fail(why, wl, "value does not fit FixedString(%u)", t->p);
        sl_buf_add(b, v->v.s, v->len);
        for (uint32_t i = v->len; i < t->p; i++)
            sl_buf_addc(b, 0);
        return 0;
    }
    case CH_BOOL: {
        int64_t i = 0;
        uint64_t u = 0;
        int is_u;
        if (integer_of(v, &i, &u, &is_u) || (is_u ? u > 1 : (i < 0 || i > 1)))
            return fail(why, wl, "not a boolean");
        sl_buf_addc(b, (char)(is_u ? u : (uint64_t)i));
        return 0;
    }
    case CH_DATE32:
        if (is_infinity(v, &sign)) {
            put_le(b, (uint32_t)(sign > 0 ? INT32_MAX : INT32_MIN), 4);
            return 0;
        }
        if (v->kind != SL_DATE || v->v.i < INT32_MIN || v->v.i > INT32_MAX)
            return fail(why, wl, "not a date");
        put_le(b, (uint32_t)(int32_t)v->v.i, 4);
        return 0;
    case CH_DATE:
        if (v->kind != SL_DATE || v->v.i < 0 || v->v.i > UINT16_MAX)
            return fail(why, wl, "date outside 1970-01-01..2149-06-06 (type Date)");
        put_le(b, (uint64_t)v->v.i, 2);
        return 0;
    case CH_DATETIME64: {
        if (is_infinity(v, &sign)) {
            put_le(b, (uint64_t)(sign > 0 ? INT64_MAX : INT64_MIN), 8);
            return 0;
        }
        if (v->kind != SL_DATETIME && v->kind != SL_TIMESTAMP)
            return fail(why, wl, "a %s value is not a timestamp", sl_kind_name((sl_kind)v->kind));
        if (v->flags & SL_VF_U64)
            return fail(why, wl, "timestamp beyond year 294247 does not fit DateTime64");
        int64_t ticks;
        if (micros_to_ticks(v->v.i, t->p, &ticks, why, wl))
            return -1;
        put_le(b, (uint64_t)ticks, 8);
        return 0;
    }
    case CH_DATETIME: {
        if ((v->kind != SL_DATETIME && v->kind != SL_TIMESTAMP) || (v->flags & SL_VF_U64) || v->v.i % 1000000 ||
            v->v.i < 0 || v->v.i / 1000000 > UINT32_MAX)
            return fail(why, wl, "value does not fit DateTime (whole seconds 1970..2106)");
        put_le(b, (uint64_t)(v->v.i / 1000000), 4);
        return 0;
    }
    case CH_TIME64: {
        if (v->kind != SL_TIME)
            return fail(why, wl, "a %s value is not a time", sl_kind_name((sl_kind)v->kind));
        int64_t ticks;
        if (micros_to_ticks(v->v.i, t->p, &ticks, why, wl))
            return -1;
        put_le(b, (uint64_t)ticks, 8);
        return 0;
    }
    case CH_UUID:
        return put_uuid(b, v, why, wl);
    case CH_IPV4:
    case CH_IPV6:
        return put_ip(b, t->base == CH_IPV6, v, why, wl);
    default:
        (void)c;
        return fail(why, wl, "sluice cannot write this column type");
    }
}

static int b64val(int ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

/* one element of a PostgreSQL array (rendered as JSON by the source) */
static int put_element(sl_buf *b, const ch_type *et, const sl_column *ec, json_t *j, sl_buf *tmp, char *why,
                       size_t wl)
{
    if (json_is_null(j)) {
        if (!et->nullable)
            return fail(why, wl, "NULL element in an array of non-Nullable elements");
        sl_buf_addc(b, 1);
        return 0;
    }
    if (json_is_array(j))
        return fail(why, wl, "a multi-dimensional array does not fit a one-dimensional Array column");
    if (et->nullable)
        sl_buf_addc(b, 0);
    sl_value v = {0};
    uint8_t k = ec->kind;
    if (json_is_integer(j)) {
        int64_t i = (int64_t)json_integer_value(j);
        if ((k == SL_DATE && (i == INT32_MAX || i == INT32_MIN)) ||
            (k == SL_DATETIME && (i == INT64_MAX || i == INT64_MIN))) {
            /* PostgreSQL's infinite dates and timestamps, which the source
             * renders as their type's extremes: stored as scalars' are */
            v = sl_val_text(SL_STRING, i > 0 ? "infinity" : "-infinity", i > 0 ? 8 : 9);
        } else if (k == SL_DATETIME) {
            v.kind = SL_DATETIME;
            v.v.i = ec->scale <= 3 ? i * 1000 : i; /* rendered as ms up to precision 3 */
        } else if (k == SL_DATE || k == SL_TIME) {
            v.kind = k;
            v.v.i = i;
        } else if (k == SL_FLOAT || k == SL_DOUBLE) {
            v.kind = SL_DOUBLE;
            v.v.d = (double)i;
        } else {
            v = sl_val_int(i);
        }
    } else if (json_is_real(j)) {
        v.kind = SL_DOUBLE;
        v.v.d = json_real_value(j);
    } else if (json_is_boolean(j)) {
        v.kind = SL_BOOL;
        v.v.i = json_is_true(j);
    } else if (json_is_string(j)) {
        const char *s = json_string_value(j);
        size_t n = json_string_length(j);
        if (k == SL_FLOAT || k == SL_DOUBLE) {
            v.kind = SL_DOUBLE;
            if (strcmp(s, "NaN") == 0)
                v.v.d = NAN;
            else if (strcmp(s, "Infinity") == 0)
                v.v.d = INFINITY;
            else if (strcmp(s, "-Infinity") == 0)
                v.v.d = -INFINITY;
            else
                return fail(why, wl, "'%s' is not a float", s);
        } else if (k == SL_BYTES) {
            sl_buf_reset(tmp);
            uint32_t acc = 0;
            int bits = 0;
            for (size_t i = 0; i < n && s[i] != '='; i++) {
                int d = b64val((unsigned char)s[i]);
                if (d < 0)
                    return fail(why, wl, "bad base64 in a bytea array");
                acc = acc << 6 | (uint32_t)d;
                bits += 6;
                if (bits >= 8) {
                    bits -= 8;
                    sl_buf_addc(tmp, (char)(acc >> bits));
                }
            }
            v = sl_val_text(SL_BYTES, tmp->data ? tmp->data : "", (uint32_t)tmp->len);
        } else {
            v = sl_val_text(k == SL_DECIMAL ? SL_DECIMAL : SL_STRING, s, (uint32_t)n);
        }
    } else {
        return fail(why, wl, "unexpected JSON in an array");
    }
    ch_type st = *et;
    st.nullable = 0;
    st.array = 0;
    return put_scalar(b, &st, ec, &v, why, wl);
}

static int put_array(sl_buf *b, const ch_type *t, const sl_column *c, const sl_value *v, char *why, size_t wl)
{
    if (!(v->flags & SL_VF_JSON_TEXT))
        return fail(why, wl, "a %s value is not an array", sl_kind_name((sl_kind)v->kind));
    json_error_t je;
    json_t *arr = json_loadb(v->v.s, v->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!json_is_array(arr)) {
        json_decref(arr);
        return fail(why, wl, "array value is not a JSON array: %s", je.text);
    }
    sl_column ec = *c;
    ec.kind = c->elem_kind;
    ec.is_array = 0;
    ch_type et = *t;
    et.array = 0;
    ch_rb_varint(b, json_array_size(arr));
    sl_buf tmp;
    sl_buf_init(&tmp);
    int rc = 0;
    for (size_t i = 0; i < json_array_size(arr) && !rc; i++)
        rc = put_element(b, &et, &ec, json_array_get(arr, i), &tmp, why, wl);
    sl_buf_free(&tmp);
    json_decref(arr);
    return rc;
}

int ch_rb_value(sl_buf *b, const ch_type *t, const sl_column *c, const sl_value *v, char *why, size_t whylen)
{
    if (v->kind == SL_UNCHANGED)
        return fail(why, whylen, "the source did not send this value (an unchanged TOASTed value, or a row "
                                 "image without it)");
    int is_null = v->kind == SL_NULL || (v->flags & SL_VF_INVALID_DATE && t->base != CH_STRING);
    if (t->array) {
        if (is_null) { /* ClickHouse has no Nullable(Array) */
            ch_rb_varint(b, 0);
            return 0;
        }
        return put_array(b, t, c, v, why, whylen);
    }
    if (is_null) {
        if (!t->nullable)
            return fail(why, whylen, "NULL in a column that is not Nullable");
        sl_buf_addc(b, 1);
        return 0;
    }
    if (t->nullable)
        sl_buf_addc(b, 0);
    return put_scalar(b, t, c, v, why, whylen);
}

void ch_rb_default(sl_buf *b, const ch_type *t)
{
    if (t->array) {
        ch_rb_varint(b, 0);
        return;
    }
    if (t->nullable) {
        sl_buf_addc(b, 1);
        return;
    }
    static const unsigned char zeros[32];
    switch ((ch_base)t->base) {
    case CH_INT8: case CH_UINT8: case CH_BOOL: sl_buf_add(b, zeros, 1); break;
    case CH_INT16: case CH_UINT16: case CH_DATE: sl_buf_add(b, zeros, 2); break;
    case CH_INT32: case CH_UINT32: case CH_FLOAT32: case CH_DATE32: case CH_DATETIME: case CH_IPV4:
        sl_buf_add(b, zeros, 4);
        break;
    case CH_DECIMAL: sl_buf_add(b, zeros, (size_t)decimal_bytes(t->p)); break;
    case CH_UINT128: case CH_UUID: case CH_IPV6: sl_buf_add(b, zeros, 16); break;
    case CH_UINT256: sl_buf_add(b, zeros, 32); break;
    case CH_FIXEDSTRING:
        for (unsigned i = 0; i < t->p; i++)
            sl_buf_addc(b, 0);
        break;
    case CH_STRING: case CH_JSON: sl_buf_addc(b, 0); break;
    default: sl_buf_add(b, zeros, 8); break; /* Int64, UInt64, Float64, DateTime64, Time64 */
    }
}

/* ------------------------------------------------------------ reading -- */

static int need(const uint8_t *p, const uint8_t *end, size_t n) { return (size_t)(end - p) < n; }

static uint64_t get_le(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return 1;
        uint8_t c = *(*p)++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

static int fixed_size(const ch_type *t)
{
    switch ((ch_base)t->base) {
    case CH_INT8: case CH_UINT8: case CH_BOOL: return 1;
    case CH_INT16: case CH_UINT16: case CH_DATE: return 2;
    case CH_INT32: case CH_UINT32: case CH_FLOAT32: case CH_DATE32: case CH_DATETIME: case CH_IPV4: return 4;
    case CH_INT64: case CH_UINT64: case CH_FLOAT64: case CH_DATETIME64: case CH_TIME64: return 8;
    case CH_UINT128: case CH_UUID: case CH_IPV6: return 16;
    case CH_UINT256: return 32;
    case CH_DECIMAL: return decimal_bytes(t->p);
    case CH_FIXEDSTRING: return t->p;
    default: return 0;
    }
}

static int text_value(sl_arena *a, uint8_t kind, const char *s, size_t n, sl_value *out)
{
    char *p = sl_arena_alloc(a, n ? n : 1);
    if (!p)
        return -1;
    memcpy(p, s, n);
    *out = sl_val_text(kind, p, (uint32_t)n);
    return 0;
}

/* one scalar value, as source kind k renders it */
static int read_scalar(const uint8_t **pp, const uint8_t *end, const ch_type *t, uint8_t k, uint16_t n,
                       sl_arena *a, sl_value *out)
{
    const uint8_t *p = *pp;
    memset(out, 0, sizeof *out);
    if (t->base == CH_STRING || t->base == CH_JSON) {
        uint64_t len;
        int r = read_varint(&p, end, &len);
        if (r)
            return r;
        if (need(p, end, len))
            return 1;
        uint8_t kind = is_textual(k) ? k : t->base == CH_JSON ? SL_JSON : SL_STRING;
        if (text_value(a, kind, (const char *)p, len, out))
            return -1;
        *pp = p + len;
        return 0;
    }
    int size = fixed_size(t);
    if (!size)
        return -1;
    if (need(p, end, (size_t)size))
        return 1;
    uint64_t u = size <= 8 ? get_le(p, size) : 0;
    switch ((ch_base)t->base) {
    case CH_INT8: case CH_INT16: case CH_INT32: case CH_INT64: {
        int shift = 64 - 8 * size;
        int64_t i = (int64_t)(u << shift) >> shift;
        *out = sl_val_int(i);
        if (k == SL_TIME || k == SL_YEAR || k == SL_DATE)
            out->kind = k;
        break;
    }
    case CH_UINT8: case CH_UINT16: case CH_UINT32: case CH_UINT64:
        if (k == SL_BIT) {
            out->kind = SL_BIT;
            out->v.u = u;
            out->aux = n;
        } else if (k == SL_UINT || t->base == CH_UINT64) {
            *out = sl_val_uint(u);
        } else {
            *out = sl_val_int((int64_t)u);
            if (k == SL_YEAR)
                out->kind = SL_YEAR;
        }
        break;
    case CH_BOOL:
        if (k == SL_BIT) {
            out->kind = SL_BIT;
            out->v.u = u;
            out->aux = 1;
        } else {
            out->kind = SL_BOOL;
            out->v.i = (int64_t)u;
        }
        break;
    case CH_FLOAT32: {
        float f;
        uint32_t w = (uint32_t)u;
        memcpy(&f, &w, 4);
        out->kind = SL_FLOAT;
        out->v.d = f;
        break;
    }
    case CH_FLOAT64:
        out->kind = SL_DOUBLE;
        memcpy(&out->v.d, &u, 8);
        break;
    case CH_DECIMAL: {
        i256 x;
        memset(&x, 0, sizeof x);
        for (int i = 0; i < size / 8; i++)
            x.w[i] = get_le(p + 8 * i, 8);
        if (size == 4)
            x.w[0] = get_le(p, 4);
        /* sign-extend */
        int top = size == 4 ? (int)(x.w[0] >> 31 & 1) : (int)(x.w[size / 8 - 1] >> 63);
        if (top) {
            if (size == 4)
                x.w[0] |= 0xffffffff00000000ULL;
            for (int i = size <= 8 ? 1 : size / 8; i < 4; i++)
                x.w[i] = UINT64_MAX;
        }
        if (decimal_text(&x, t->s, a, out))
            return -1;
        break;
    }
    case CH_DATE32: {
        int32_t d = (int32_t)(uint32_t)u;
        if (d == INT32_MAX || d == INT32_MIN) {
            if (text_value(a, SL_STRING, d > 0 ? "infinity" : "-infinity", d > 0 ? 8 : 9, out))
                return -1;
        } else {
            out->kind = SL_DATE;
            out->v.i = d;
        }
        break;
    }
    case CH_DATE:
        out->kind = SL_DATE;
        out->v.i = (int64_t)u;
        break;
    case CH_DATETIME64:
    case CH_DATETIME: {
        int64_t ticks = (int64_t)u;
        if (t->base == CH_DATETIME64 && (ticks == INT64_MAX || ticks == INT64_MIN)) {
            if (text_value(a, SL_STRING, ticks > 0 ? "infinity" : "-infinity", ticks > 0 ? 8 : 9, out))
                return -1;
            break;
        }
        out->kind = k == SL_DATETIME || k == SL_TIMESTAMP ? k : t->has_zone ? SL_TIMESTAMP : SL_DATETIME;
        out->v.i = t->base == CH_DATETIME ? (int64_t)(uint32_t)u * 1000000 : ticks_to_micros(ticks, t->p);
        out->aux = n;
        break;
    }
    case CH_TIME64:
        out->kind = SL_TIME;
        out->v.i = ticks_to_micros((int64_t)u, t->p);
        break;
    case CH_UUID: {
        unsigned char raw[16];
        for (int i = 0; i < 8; i++) {
            raw[i] = p[7 - i];
            raw[8 + i] = p[15 - i];
        }
        char tmp[40];
        int o = 0;
        for (int i = 0; i < 16; i++) {
            if (i == 4 || i == 6 || i == 8 || i == 10)
                tmp[o++] = '-';
            o += snprintf(tmp + o, sizeof tmp - (size_t)o, "%02x", raw[i]);
        }
        if (text_value(a, SL_STRING, tmp, (size_t)o, out))
            return -1;
        break;
    }
    case CH_IPV4:
    case CH_IPV6: {
        char tmp[64];
        unsigned char raw[16];
        if (t->base == CH_IPV4) {
            uint32_t w = (uint32_t)u;
            raw[0] = (unsigned char)(w >> 24);
            raw[1] = (unsigned char)(w >> 16);
            raw[2] = (unsigned char)(w >> 8);
            raw[3] = (unsigned char)w;
        } else {
            memcpy(raw, p, 16);
        }
        if (!inet_ntop(t->base == CH_IPV4 ? AF_INET : AF_INET6, raw, tmp, sizeof tmp) ||
            text_value(a, SL_STRING, tmp, strlen(tmp), out))
            return -1;
        break;
    }
    case CH_FIXEDSTRING:
        if (text_value(a, is_textual(k) ? k : SL_STRING, (const char *)p, (size_t)size, out))
            return -1;
        break;
    default:
        return -1;
    }
    *pp = p + size;
    return 0;
}

int ch_rb_read(const uint8_t **pp, const uint8_t *end, const ch_type *t, const sl_column *c, sl_arena *scratch,
               sl_value *out)
{
    const uint8_t *p = *pp;
    uint16_t n = c->kind == SL_BIT ? c->precision : c->scale;
    if (!t->array) {
        if (t->nullable) {
            if (need(p, end, 1))
                return 1;
            if (*p++) {
                *out = sl_val_null();
                *pp = p;
                return 0;
            }
        }
        int r = read_scalar(&p, end, t, c->kind, n, scratch, out);
        if (!r)
            *pp = p;
        return r;
    }
    uint64_t count;
    int r = read_varint(&p, end, &count);
    if (r)
        return r;
    sl_buf json;
    sl_buf_init(&json);
    sl_buf_addc(&json, '[');
    sl_column ec = *c;
    ec.kind = c->elem_kind;
    ec.is_array = 0;
    ch_type et = *t;
    et.array = 0;
    et.nullable = 0;
    for (uint64_t i = 0; i < count && !r; i++) {
        if (i)
            sl_buf_addc(&json, ',');
        if (t->nullable) {
            if (need(p, end, 1)) {
                r = 1;
                break;
            }
            if (*p++) {
                sl_buf_adds(&json, "null");
                continue;
            }
        }
        sl_value v;
        r = read_scalar(&p, end, &et, ec.kind, ec.scale, scratch, &v);
        if (!r) {
            if (ec.kind == SL_BYTES && v.kind == SL_STRING)
                v.kind = SL_BYTES;
            sl_json_value(&json, &ec, &v);
        }
    }
    sl_buf_addc(&json, ']');
    if (!r) {
        if (json.failed || text_value(scratch, SL_TEXTUAL, json.data, json.len, out))
            r = -1;
        else
            out->flags |= SL_VF_JSON_TEXT;
    }
    sl_buf_free(&json);
    if (!r)
        *pp = p;
    return r;
}
