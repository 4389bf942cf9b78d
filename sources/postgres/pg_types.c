/* pg_types.c — text forms of PostgreSQL values into exact sl_values (see
 * pg_types.h for why one parser serves both the WAL and the snapshot).
 * Numbers never pass through a lossy type: numeric and money stay decimal
 * text, times become integer microseconds, floats are read with strtod
 * from the shortest exact text the server prints. */
#include "pg_types.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/buf.h"
#include "../../core/envelope.h"

int sl_pg_builtin_class(uint32_t oid)
{
    switch (oid) {
    case 20: /* int8 */
    case 21: /* int2 */
    case 23: /* int4 */
    case 26: /* oid */
    case 28: /* xid */
        return SL_PGV_INT;
    case 700:
        return SL_PGV_FLOAT4;
    case 701:
        return SL_PGV_FLOAT8;
    case 1700:
        return SL_PGV_NUMERIC;
    case 16:
        return SL_PGV_BOOL;
    case 17:
        return SL_PGV_BYTEA;
    case 114:  /* json */
    case 3802: /* jsonb */
        return SL_PGV_JSON;
    case 1082:
        return SL_PGV_DATE;
    case 1083:
        return SL_PGV_TIME;
    case 1266:
        return SL_PGV_TIMETZ;
    case 1114:
        return SL_PGV_TS;
    case 1184:
        return SL_PGV_TSTZ;
    case 1186:
        return SL_PGV_INTERVAL;
    case 790:
        return SL_PGV_MONEY;
    default:
        return SL_PGV_TEXT;
    }
}

static int time_precision(int32_t typmod) { return typmod >= 0 && typmod <= 6 ? typmod : 6; }

void sl_pg_column_finish(sl_column *c)
{
    int32_t typmod = (int32_t)c->src_meta;
    c->precision = c->scale = 0;
    switch (c->conv) {
    case SL_PGV_INT:
        c->kind = SL_INT;
        break;
    case SL_PGV_FLOAT4:
        c->kind = SL_FLOAT;
        break;
    case SL_PGV_FLOAT8:
        c->kind = SL_DOUBLE;
        break;
    case SL_PGV_NUMERIC:
        c->kind = SL_DECIMAL;
        if (typmod >= 4) {
            c->precision = (uint16_t)(((typmod - 4) >> 16) & 0xffff);
            c->scale = (uint16_t)((typmod - 4) & 0xffff);
        }
        break;
    case SL_PGV_MONEY:
        c->kind = SL_DECIMAL;
        c->scale = 2;
        break;
    case SL_PGV_BOOL:
        c->kind = SL_BOOL;
        break;
    case SL_PGV_BYTEA:
        c->kind = SL_BYTES;
        break;
    case SL_PGV_JSON:
        c->kind = SL_JSON;
        break;
    case SL_PGV_DATE:
        c->kind = SL_DATE;
        break;
    case SL_PGV_TIME:
        c->kind = SL_TIME;
        c->scale = (uint16_t)time_precision(typmod);
        break;
    case SL_PGV_TS:
        c->kind = SL_DATETIME;
        c->scale = (uint16_t)time_precision(typmod);
        break;
    case SL_PGV_TSTZ:
        c->kind = SL_TIMESTAMP;
        c->scale = (uint16_t)time_precision(typmod);
        break;
    case SL_PGV_TIMETZ:
        c->kind = SL_TEXTUAL;
        c->scale = (uint16_t)time_precision(typmod);
        break;
    case SL_PGV_ENUM:
        c->kind = SL_ENUM;
        break;
    case SL_PGV_INTERVAL:
        c->kind = SL_TEXTUAL;
        break;
    case SL_PGV_ARRAY: {
        sl_column elem = *c;
        elem.conv = (uint8_t)c->charset;
        elem.charset = 0;
        sl_pg_column_finish(&elem);
        c->kind = SL_TEXTUAL;
        c->is_array = 1;
        c->elem_kind = elem.kind;
        c->scale = elem.scale;
        break;
    }
    default:
        c->kind = SL_STRING;
        /* varchar(n), char(n): declared length */
        if ((c->src_type == 1043 || c->src_type == 1042) && typmod >= 4)
            c->precision = (uint16_t)(typmod - 4 > 65535 ? 65535 : typmod - 4);
        break;
    }
}

static int digits(const char *s, size_t n, size_t count, int64_t *out)
{
    if (n < count)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < count; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int has_suffix(const char *s, size_t n, const char *suf)
{
    size_t k = strlen(suf);
    return n >= k && memcmp(s + n - k, suf, k) == 0;
}

/* "YYYY-MM-DD" (4 or more year digits) with an optional " BC" where bc is
 * allowed; *used = bytes of the date part without the era */
static int parse_date_part(const char *s, size_t n, int bc, int64_t *days, size_t *used)
{
    size_t y = 0;
    while (y < n && s[y] >= '0' && s[y] <= '9')
        y++;
    int64_t year, mon, day;
    if (y < 4 || y > 7 || digits(s, n, y, &year) || y + 6 > n || s[y] != '-' || digits(s + y + 1, n - y - 1, 2, &mon) ||
        s[y + 3] != '-' || digits(s + y + 4, n - y - 4, 2, &day) || mon < 1 || mon > 12 || day < 1 || day > 31)
        return -1;
    /* year 1 BC is astronomical year 0 */
    *days = sl_days_from_civil(bc ? 1 - year : year, (unsigned)mon, (unsigned)day);
    *used = y + 6;
    return 0;
}

int sl_pg_parse_date(const char *s, size_t n, int64_t *days)
{
    int bc = has_suffix(s, n, " BC");
    size_t used;
    if (parse_date_part(s, bc ? n - 3 : n, bc, days, &used) || used != (bc ? n - 3 : n))
        return -1;
    return 0;
}

int sl_pg_parse_time(const char *s, size_t n, int64_t *us, size_t *used)
{
    int64_t h, m, sec, frac = 0;
    if (n < 8 || digits(s, n, 2, &h) || s[2] != ':' || digits(s + 3, n - 3, 2, &m) || s[5] != ':' ||
        digits(s + 6, n - 6, 2, &sec))
        return -1;
    size_t i = 8;
    if (i < n && s[i] == '.') {
        int nd = 0;
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (nd < 6) {
                frac = frac * 10 + (s[i] - '0');
                nd++;
            }
            i++;
        }
        if (nd == 0)
            return -1;
        while (nd++ < 6)
            frac *= 10;
    }
    *us = ((h * 60 + m) * 60 + sec) * 1000000 + frac;
    *used = i;
    return 0;
}

int sl_pg_parse_offset(const char *s, size_t n, int32_t *secs)
{
    int64_t h, m = 0, sec = 0;
    if (n < 3 || (s[0] != '+' && s[0] != '-') || digits(s + 1, n - 1, 2, &h))
        return -1;
    size_t i = 3;
    if (i < n && s[i] == ':') {
        if (digits(s + i + 1, n - i - 1, 2, &m))
            return -1;
        i += 3;
        if (i < n && s[i] == ':') {
            if (digits(s + i + 1, n - i - 1, 2, &sec))
                return -1;
            i += 3;
        }
    }
    if (i != n)
        return -1;
    int64_t v = h * 3600 + m * 60 + sec;
    *secs = (int32_t)(s[0] == '-' ? -v : v);
    return 0;
}

int sl_pg_parse_timestamp(const char *s, size_t n, int with_zone, int64_t *us)
{
    int bc = has_suffix(s, n, " BC");
    if (bc)
        n -= 3;
    int64_t days, tod;
    size_t used, tused;
    if (parse_date_part(s, n, bc, &days, &used) || used >= n || s[used] != ' ' ||
        sl_pg_parse_time(s + used + 1, n - used - 1, &tod, &tused))
        return -1;
    size_t rest = used + 1 + tused;
    int32_t off = 0;
    if (with_zone) {
        if (sl_pg_parse_offset(s + rest, n - rest, &off))
            return -1;
    } else if (rest != n) {
        return -1;
    }
    __int128 t = (__int128)days * 86400000000LL + tod - (__int128)off * 1000000;
    if (t >= (__int128)INT64_MIN && t <= (__int128)INT64_MAX) {
        *us = (int64_t)t;
        return 0;
    }
    if (t < 0 || t > (__int128)UINT64_MAX)
        return -1;
    *us = (int64_t)(uint64_t)t; /* the caller marks it SL_VF_U64 */
    return 1;
}

static int fail(char *err, size_t errlen, const sl_column *c, const char *what, const char *text, size_t len)
{
    snprintf(err, errlen, "column %s (%s): cannot parse %s '%.*s'", c->name, c->type_name ? c->type_name : "?", what,
             (int)(len > 80 ? 80 : len), text);
    return -1;
}

/* money as printed under lc_monetary ("$1,234.56", "-$0.50", "1.234,56 EUR"):
 * the last separator followed only by digits (up to the end of the number)
 * is the decimal point when it has 1-4 digits after it */
static int money_text(const char *s, size_t n, sl_arena *a, sl_value *out)
{
    char tmp[64];
    size_t o = 0;
    int neg = memchr(s, '-', n) != NULL || (n && s[0] == '(');
    size_t last_digit = n, first_digit = n;
    for (size_t i = 0; i < n; i++)
        if (s[i] >= '0' && s[i] <= '9') {
            if (first_digit == n)
                first_digit = i;
            last_digit = i;
        }
    if (first_digit == n)
        return -1;
    size_t frac_start = n;
    size_t k = last_digit + 1;
    while (k > first_digit && s[k - 1] >= '0' && s[k - 1] <= '9')
        k--;
    if (k > first_digit && (s[k - 1] == '.' || s[k - 1] == ',') && last_digit + 1 - k <= 4)
        frac_start = k;
    if (neg)
        tmp[o++] = '-';
    for (size_t i = first_digit; i <= last_digit && o + 2 < sizeof tmp; i++) {
        if (i == frac_start)
            tmp[o++] = '.';
        if (s[i] >= '0' && s[i] <= '9')
            tmp[o++] = s[i];
    }
    char *p = sl_arena_strndup(a, tmp, o);
    if (!p)
        return -1;
    *out = sl_val_text(SL_DECIMAL, p, (uint32_t)o);
    return 0;
}

/* "HH:MM:SS[.f]+HH[:MM]" -> "HH:MM:SS.ffffffZ" in UTC (Debezium's ZonedTime) */
static int timetz_text(const sl_column *c, const char *s, size_t n, sl_arena *a, sl_value *out)
{
    int64_t us;
    size_t used;
    int32_t off;
    if (sl_pg_parse_time(s, n, &us, &used) || sl_pg_parse_offset(s + used, n - used, &off))
        return -1;
    int64_t day = 86400000000LL;
    us -= (int64_t)off * 1000000;
    us = ((us % day) + day) % day;
    char tmp[40];
    int64_t secs = us / 1000000;
    int k = snprintf(tmp, sizeof tmp, "%02d:%02d:%02d", (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
    int digits_n = c->scale;
    if (digits_n > 0) {
        char f[8];
        snprintf(f, sizeof f, "%06d", (int)(us % 1000000));
        k += snprintf(tmp + k, sizeof tmp - (size_t)k, ".%.*s", digits_n, f);
    }
    tmp[k++] = 'Z';
    char *p = sl_arena_strndup(a, tmp, (size_t)k);
    if (!p)
        return -1;
    *out = sl_val_text(SL_TEXTUAL, p, (uint32_t)k);
    return 0;
}

/* Array text ("{1,2,NULL}", "{{a,b},{\"c d\",e}}", "[0:1]={x,y}") -> a
 * JSON array whose elements render as the scalar type's values do. */
typedef struct arr_ctx {
    sl_column elem;
    sl_arena scratch;
    sl_buf out;
    sl_buf item;
} arr_ctx;

static int arr_element(arr_ctx *x, const char *text, size_t len, int is_null)
{
    if (is_null) {
        sl_buf_adds(&x->out, "null");
        return 0;
    }
    sl_value v;
    char err[8];
    if (sl_pg_text_value(&x->elem, text, len, &x->scratch, &v, err, sizeof err))
        return -1;
    /* items of an int32/int64 date or timestamp array stay numbers */
    if (!sl_json_infinity(&x->out, x->elem.kind, &v))
        sl_json_value(&x->out, &x->elem, &v);
    return 0;
}

static int arr_parse(arr_ctx *x, const char *s, size_t n, size_t *i, int depth)
{
    if (depth > 6 || *i >= n || s[*i] != '{')
        return -1;
    (*i)++;
    sl_buf_addc(&x->out, '[');
    int first = 1;
    while (*i < n) {
        if (s[*i] == '}') {
            (*i)++;
            sl_buf_addc(&x->out, ']');
            return 0;
        }
        if (!first) {
            if (s[*i] != ',')
                return -1;
            (*i)++;
        }
        if (!first)
            sl_buf_addc(&x->out, ',');
        first = 0;
        if (*i < n && s[*i] == '{') {
            if (arr_parse(x, s, n, i, depth + 1))
                return -1;
            continue;
        }
        sl_buf_reset(&x->item);
        if (*i < n && s[*i] == '"') {
            (*i)++;
            while (*i < n && s[*i] != '"') {
                if (s[*i] == '\\' && *i + 1 < n)
                    (*i)++;
                sl_buf_addc(&x->item, s[*i]);
                (*i)++;
            }
            if (*i >= n)
                return -1;
            (*i)++;
            if (arr_element(x, x->item.data ? x->item.data : "", x->item.len, 0))
                return -1;
        } else {
            size_t st = *i;
            while (*i < n && s[*i] != ',' && s[*i] != '}')
                (*i)++;
            size_t len = *i - st;
            int is_null = len == 4 && memcmp(s + st, "NULL", 4) == 0;
            if (len == 0 || arr_element(x, s + st, len, is_null))
                return -1;
        }
    }
    return -1;
}

static int array_text(const sl_column *c, const char *s, size_t n, sl_arena *a, sl_value *out)
{
    arr_ctx x;
    memset(&x, 0, sizeof x);
    x.elem = *c;
    x.elem.conv = (uint8_t)c->charset;
    x.elem.charset = 0;
    x.elem.src_type = 0;
    sl_pg_column_finish(&x.elem);
    sl_arena_init(&x.scratch);
    sl_buf_init(&x.out);
    sl_buf_init(&x.item);
    size_t i = 0;
    if (n && s[0] == '[') { /* explicit bounds decoration */
        const char *eq = memchr(s, '=', n);
        i = eq ? (size_t)(eq - s) + 1 : n;
    }
    int rc = arr_parse(&x, s, n, &i, 0);
    if (!rc && (i != n || x.out.failed || x.item.failed))
        rc = -1;
    char *p = rc ? NULL : sl_arena_memdup(a, x.out.data, x.out.len);
    if (!rc && !p && x.out.len)
        rc = -1;
    if (!rc) {
        *out = sl_val_text(SL_TEXTUAL, p, (uint32_t)x.out.len);
        out->flags |= SL_VF_JSON_TEXT;
    }
    sl_buf_free(&x.out);
    sl_buf_free(&x.item);
    sl_arena_free(&x.scratch);
    return rc;
}

static int copy_text(uint8_t kind, const char *s, size_t n, sl_arena *a, sl_value *out)
{
    char *p = sl_arena_strndup(a, s, n); /* n may be 0 at the very end of the message */
    if (!p)
        return -1;
    *out = sl_val_text(kind, p, (uint32_t)n);
    return 0;
}

static int infinite(const char *s, size_t n)
{
    return (n == 8 && memcmp(s, "infinity", 8) == 0) || (n == 9 && memcmp(s, "-infinity", 9) == 0);
}

int sl_pg_text_value(const sl_column *c, const char *s, size_t n, sl_arena *a, sl_value *out, char *err,
                     size_t errlen)
{
    char num[512];
    switch (c->conv) {
    case SL_PGV_INT: {
        if (n == 0 || n >= 32)
            return fail(err, errlen, c, "an integer", s, n);
        /* up to 18 digits cannot overflow: read them here (the common
         * case, and strtoll's copy and locale lookups cost more than the
         * digits); anything else goes through strtoll */
        size_t neg = s[0] == '-', i = neg;
        int64_t fast = 0;
        while (i < n && i - neg < 18 && s[i] >= '0' && s[i] <= '9')
            fast = fast * 10 + (s[i++] - '0');
        if (i == n && n > neg) {
            *out = sl_val_int(neg ? -fast : fast);
            return 0;
        }
        memcpy(num, s, n);
        num[n] = 0;
        char *end;
        errno = 0;
        long long v = strtoll(num, &end, 10);
        if (errno || *end)
            return fail(err, errlen, c, "an integer", s, n);
        *out = sl_val_int(v);
        return 0;
    }
    case SL_PGV_FLOAT4:
    case SL_PGV_FLOAT8: {
        if (n == 0 || n >= sizeof num)
            return fail(err, errlen, c, "a float", s, n);
        memcpy(num, s, n);
        num[n] = 0;
        char *end;
        double d = c->conv == SL_PGV_FLOAT4 ? (double)strtof(num, &end) : strtod(num, &end);
        if (*end)
            return fail(err, errlen, c, "a float", s, n);
        sl_value v = {0};
        v.kind = c->conv == SL_PGV_FLOAT4 ? SL_FLOAT : SL_DOUBLE;
        v.v.d = d;
        *out = v;
        return 0;
    }
    case SL_PGV_NUMERIC:
        return copy_text(SL_DECIMAL, s, n, a, out) ? fail(err, errlen, c, "a numeric", s, n) : 0;
    case SL_PGV_MONEY:
        return money_text(s, n, a, out) ? fail(err, errlen, c, "money", s, n) : 0;
    case SL_PGV_BOOL:
        if (n != 1 || (s[0] != 't' && s[0] != 'f'))
            return fail(err, errlen, c, "a boolean", s, n);
        *out = sl_val_int(s[0] == 't');
        out->kind = SL_BOOL;
        return 0;
    case SL_PGV_BYTEA: {
        if (n < 2 || s[0] != '\\' || s[1] != 'x' || (n - 2) % 2)
            return fail(err, errlen, c, "bytea (hex)", s, n);
        size_t bl = (n - 2) / 2;
        unsigned char *p = sl_arena_alloc(a, bl ? bl : 1);
        if (!p)
            return fail(err, errlen, c, "bytea (out of memory)", s, n);
        for (size_t i = 0; i < bl; i++) {
            int hi = sl_hex_digit(s[2 + 2 * i]), lo = sl_hex_digit(s[3 + 2 * i]);
            if (hi < 0 || lo < 0)
                return fail(err, errlen, c, "bytea (hex)", s, n);
            p[i] = (unsigned char)(hi << 4 | lo);
        }
        *out = sl_val_text(SL_BYTES, (const char *)p, (uint32_t)bl);
        return 0;
    }
    case SL_PGV_JSON:
        return copy_text(SL_JSON, s, n, a, out) ? fail(err, errlen, c, "json", s, n) : 0;
    case SL_PGV_ENUM:
        return copy_text(SL_ENUM, s, n, a, out) ? fail(err, errlen, c, "an enum", s, n) : 0;
    case SL_PGV_DATE: {
        int64_t days;
        if (infinite(s, n))
            return copy_text(SL_STRING, s, n, a, out);
        if (sl_pg_parse_date(s, n, &days))
            return fail(err, errlen, c, "a date", s, n);
        sl_value v = {0};
        v.kind = SL_DATE;
        v.v.i = days;
        *out = v;
        return 0;
    }
    case SL_PGV_TIME: {
        int64_t us;
        size_t used;
        if (sl_pg_parse_time(s, n, &us, &used) || used != n)
            return fail(err, errlen, c, "a time", s, n);
        sl_value v = {0};
        v.kind = SL_TIME;
        v.aux = c->scale;
        v.v.i = us;
        *out = v;
        return 0;
    }
    case SL_PGV_TIMETZ:
        return timetz_text(c, s, n, a, out) ? fail(err, errlen, c, "a time with time zone", s, n) : 0;
    case SL_PGV_TS:
    case SL_PGV_TSTZ: {
        int64_t us;
        if (infinite(s, n))
            return copy_text(SL_STRING, s, n, a, out);
        int r = sl_pg_parse_timestamp(s, n, c->conv == SL_PGV_TSTZ, &us);
        if (r < 0)
            return fail(err, errlen, c, "a timestamp", s, n);
        sl_value v = {0};
        v.kind = c->conv == SL_PGV_TSTZ ? SL_TIMESTAMP : SL_DATETIME;
        v.aux = c->scale;
        v.v.i = us;
        if (r == 1)
            v.flags |= SL_VF_U64;
        *out = v;
        return 0;
    }
    case SL_PGV_INTERVAL:
        return copy_text(SL_TEXTUAL, s, n, a, out) ? fail(err, errlen, c, "an interval", s, n) : 0;
    case SL_PGV_ARRAY:
        return array_text(c, s, n, a, out) ? fail(err, errlen, c, "an array", s, n) : 0;
    default:
        return copy_text(SL_STRING, s, n, a, out) ? fail(err, errlen, c, "text (out of memory)", s, n) : 0;
    }
}
