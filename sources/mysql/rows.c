/* rows.c — WRITE/UPDATE/DELETE rows events into typed values.
 *
 * The hot path of the binlog source: one pass over the row image, no
 * allocation but the arena, every type decoded from its binary form. The
 * layout per image is a NULL bitmap over the present columns followed by
 * the non-NULL values, each in its type's packed format.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "binlog_decode.h"

enum {
    EV_WRITE_V1 = 23, EV_UPDATE_V1 = 24, EV_DELETE_V1 = 25, EV_WRITE = 30, EV_UPDATE = 31, EV_DELETE = 32,
    EV_PARTIAL_UPDATE = 39, EV_WRITE_C_V1 = 166, EV_UPDATE_C_V1 = 167, EV_DELETE_C_V1 = 168, EV_WRITE_C = 169,
    EV_UPDATE_C = 170, EV_DELETE_C = 171,
};

char sl_mysql_rows_op(int t)
{
    switch (t) {
    case EV_WRITE_V1: case EV_WRITE: case EV_WRITE_C_V1: case EV_WRITE_C: return 'c';
    case EV_UPDATE_V1: case EV_UPDATE: case EV_UPDATE_C_V1: case EV_UPDATE_C: case EV_PARTIAL_UPDATE: return 'u';
    default: return 'd';
    }
}

/* n is at most 8: every width comes from metadata checked in tablemap.c
 * and again where it is used */
static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n && i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

int sl_mysql_netlen(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    if (*p >= end)
        return -1;
    uint8_t c = *(*p)++;
    int n = c < 251 ? 0 : c == 252 ? 2 : c == 253 ? 3 : c == 251 ? -1 : 8;
    if (n < 0 || end - *p < n)
        return -1;
    *v = n ? le(*p, n) : c;
    *p += n;
    return 0;
}

int sl_mysql_rows_open(sl_mysql_rows *it, int type, const uint8_t *body, size_t len, const sl_table_schema *schema,
                       const sl_mysql_decode_opts *opts, sl_err *err)
{
    memset(it, 0, sizeof *it);
    int compressed = type >= EV_WRITE_C_V1 && type <= EV_DELETE_C;
    if (compressed && !opts->scratch)
        return sl_errf(err, SL_ERUNTIME, "compressed rows event without a buffer to inflate it into");
    if (compressed) /* the same layout as the plain kind, its row data deflated */
        type = type >= EV_WRITE_C ? EV_WRITE + (type - EV_WRITE_C) : EV_WRITE_V1 + (type - EV_WRITE_C_V1);
    it->partial = type == EV_PARTIAL_UPDATE;
    const uint8_t *p = body, *end = body + len;
    if (len < 8)
        return sl_errf(err, SL_ERUNTIME, "rows event too short");
    p += 8;
    if ((type >= EV_WRITE && type <= EV_DELETE) || it->partial) {
        if (end - p < 2)
            return sl_errf(err, SL_ERUNTIME, "rows event too short");
        uint64_t extra = le(p, 2);
        if (extra < 2 || (uint64_t)(end - p) < extra)
            return sl_errf(err, SL_ERUNTIME, "malformed rows event");
        p += extra;
    }
    uint64_t ncols = 0;
    if (sl_mysql_netlen(&p, end, &ncols) || ncols != (uint64_t)schema->ncols)
        return sl_errf(err, SL_ERUNTIME, "rows event has %llu columns, the table map %d",
                       (unsigned long long)ncols, schema->ncols);
    size_t bm = (ncols + 7) / 8;
    it->op = sl_mysql_rows_op(type);
    it->update = it->op == 'u';
    if ((size_t)(end - p) < bm * (it->update ? 2 : 1))
        return sl_errf(err, SL_ERUNTIME, "malformed rows event");
    it->present_before = p;
    p += bm;
    it->present_after = it->present_before;
    if (it->update) {
        it->present_after = p;
        p += bm;
    }
    for (uint64_t i = 0; i < ncols; i++) {
        it->n_before += (it->present_before[i / 8] >> (i % 8)) & 1;
        it->n_after += (it->present_after[i / 8] >> (i % 8)) & 1;
    }
    if (compressed) {
        int rc = sl_mysql_uncompress(p, (size_t)(end - p), opts->scratch, err);
        if (rc)
            return rc;
        p = (const uint8_t *)opts->scratch->data;
        end = p + opts->scratch->len;
    }
    it->p = p;
    it->end = end;
    it->schema = schema;
    it->opts = opts;
    for (int i = 0; i < schema->ncols; i++)
        it->n_json += schema->cols[i].src_type == MT_JSON;
    return 0;
}

static int zero_date(sl_value *v, const char *text, size_t n, const sl_mysql_rows *it, sl_arena *a)
{
    if (it->opts->zero_date == SL_ZERO_DATE_NULL) {
        *v = sl_val_null();
        return 0;
    }
    char *s = sl_arena_strndup(a, text, n);
    if (!s)
        return -1;
    *v = sl_val_text(SL_STRING, s, (uint32_t)n);
    return 0;
}

static size_t frac_bytes(unsigned fsp) { return (fsp + 1) / 2; }

enum { MAX_FSP = 6, US_PER_S = 1000000 };

/* fractional part of TIME2/DATETIME2/TIMESTAMP2 in microseconds */
static int64_t frac_us(const uint8_t *p, unsigned fsp)
{
    switch (frac_bytes(fsp)) {
    case 1: return (int64_t)p[0] * 10000;
    case 2: return (int64_t)be(p, 2) * 100;
    case 3: return (int64_t)be(p, 3);
    default: return 0;
    }
}

int sl_mysql_maybe_fixed_binary_type(const sl_column *c)
{
    return c->src_type == MT_STRING && c->charset == 63 && (c->src_meta == 16 || c->src_meta == 4);
}

int sl_mysql_mark_fixed_binary_type(sl_column *c, const char *data_type)
{
    static const struct {
        const char *name;
        uint32_t len;
        uint8_t conv;
    } types[] = {{"inet6", 16, SL_CONV_INET6}, {"uuid", 16, SL_CONV_UUID}, {"inet4", 4, SL_CONV_INET4}};
    if (!sl_mysql_maybe_fixed_binary_type(c))
        return 0;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (strcasecmp(data_type, types[i].name) != 0 || c->src_meta != types[i].len)
            continue;
        char *tn = strdup(types[i].name);
        if (!tn)
            return 0;
        free(c->type_name);
        c->type_name = tn;
        c->kind = SL_STRING;
        c->conv = types[i].conv;
        return 1;
    }
    return 0;
}

/* INET6, UUID, INET4 as MariaDB prints them. The binlog drops trailing
 * zero bytes of the fixed-size binary value; they are put back first. */
static int fixed_binary_text(const sl_column *c, const uint8_t *p, size_t n, sl_arena *a, const char **out,
                             uint32_t *olen)
{
    uint8_t b[16] = {0};
    size_t full = c->conv == SL_CONV_INET4 ? 4 : 16;
    if (n > full)
        return -1;
    memcpy(b, p, n);
    char buf[64];
    if (c->conv == SL_CONV_UUID) {
        static const char hx[] = "0123456789abcdef";
        char *o = buf;
        for (int i = 0; i < 16; i++) {
            if (i == 4 || i == 6 || i == 8 || i == 10)
                *o++ = '-';
            *o++ = hx[b[i] >> 4];
            *o++ = hx[b[i] & 15];
        }
        *o = 0;
    } else if (!inet_ntop(c->conv == SL_CONV_INET4 ? AF_INET : AF_INET6, b, buf, sizeof buf)) {
        return -1;
    }
    *olen = (uint32_t)strlen(buf);
    *out = sl_arena_memdup(a, buf, *olen);
    return *out ? 0 : -1;
}

static int text_value(sl_value *v, uint8_t kind, const sl_column *c, const uint8_t *p, size_t n,
                      const sl_mysql_rows *it, sl_arena *a)
{
    const char *out;
    uint32_t olen;
    int rc = 0;
    switch (c->conv) {
    case SL_CONV_INET6:
    case SL_CONV_UUID:
    case SL_CONV_INET4:
        rc = fixed_binary_text(c, p, n, a, &out, &olen);
        break;
    case SL_CONV_LATIN1:
        rc = sl_mysql_latin1_to_utf8(p, n, a, &out, &olen);
        break;
    case SL_CONV_ICONV:
        rc = sl_mysql_iconv_to_utf8(it->opts->iconv, c->charset, p, n, a, &out, &olen);
        break;
    default:
        out = sl_arena_memdup(a, p, n);
        olen = (uint32_t)n;
        rc = out ? 0 : -1;
        break;
    }
    if (rc)
        return -1;
    *v = sl_val_text(kind, out, olen);
    return 0;
}

static int member_text(sl_value *v, uint8_t kind, const sl_column *c, const char *s, const sl_mysql_rows *it,
                       sl_arena *a)
{
    return text_value(v, kind, c, (const uint8_t *)s, strlen(s), it, a);
}

static int decode_value(const sl_mysql_rows *it, const sl_column *c, const uint8_t **pp, sl_value *v, sl_arena *a,
                        char *why, size_t whylen)
{
    const uint8_t *p = *pp, *end = it->end;
    size_t avail = (size_t)(end - p);
    uint32_t meta = c->src_meta;
#define NEED(n)                                                                                              \
    do {                                                                                                     \
        if (avail < (size_t)(n)) {                                                                           \
            snprintf(why, whylen, "column %s: value runs past the event", c->name);                           \
            return -1;                                                                                       \
        }                                                                                                    \
    } while (0)
#define BAD(...)                                                                                             \
    do {                                                                                                     \
        snprintf(why, whylen, __VA_ARGS__);                                                                  \
        return -1;                                                                                           \
    } while (0)
    memset(v, 0, sizeof *v);
    if ((c->src_type == MT_TIME2 || c->src_type == MT_DATETIME2 || c->src_type == MT_TIMESTAMP2) && meta > MAX_FSP)
        BAD("column %s: fractional-second precision %u is outside 0..6", c->name, meta);
    switch (c->src_type) {
    case MT_TINY:
        NEED(1);
        *v = c->is_unsigned ? sl_val_uint(p[0]) : sl_val_int((int8_t)p[0]);
        p += 1;
        break;
    case MT_SHORT:
        NEED(2);
        *v = c->is_unsigned ? sl_val_uint(le(p, 2)) : sl_val_int((int16_t)le(p, 2));
        p += 2;
        break;
    case MT_INT24: {
        NEED(3);
        uint32_t u = (uint32_t)le(p, 3);
        *v = c->is_unsigned ? sl_val_uint(u) : sl_val_int((u & 0x800000) ? (int32_t)(u | 0xff000000u) : (int32_t)u);
        p += 3;
        break;
    }
    case MT_LONG:
        NEED(4);
        *v = c->is_unsigned ? sl_val_uint(le(p, 4)) : sl_val_int((int32_t)le(p, 4));
        p += 4;
        break;
    case MT_LONGLONG:
        NEED(8);
        *v = c->is_unsigned ? sl_val_uint(le(p, 8)) : sl_val_int((int64_t)le(p, 8));
        p += 8;
        break;
    case MT_FLOAT: {
        NEED(4);
        float f;
        uint32_t u = (uint32_t)le(p, 4);
        memcpy(&f, &u, 4);
        v->kind = SL_FLOAT;
        v->v.d = f;
        p += 4;
        break;
    }
    case MT_DOUBLE: {
        NEED(8);
        double d;
        uint64_t u = le(p, 8);
        memcpy(&d, &u, 8);
        v->kind = SL_DOUBLE;
        v->v.d = d;
        p += 8;
        break;
    }
    case MT_NEWDECIMAL: {
        char buf[80];
        size_t used;
        int n = sl_mysql_decimal_text(p, avail, c->precision, c->scale, buf, sizeof buf, &used);
        if (n < 0) {
            snprintf(why, whylen, "column %s: bad decimal(%u,%u)", c->name, c->precision, c->scale);
            return -1;
        }
        char *s = sl_arena_strndup(a, buf, (size_t)n);
        if (!s)
            return -1;
        *v = sl_val_text(SL_DECIMAL, s, (uint32_t)n);
        p += used;
        break;
    }
    case MT_YEAR:
        NEED(1);
        v->kind = SL_YEAR;
        v->v.i = p[0] ? 1900 + p[0] : 0;
        p += 1;
        break;
    case MT_DATE: {
        NEED(3);
        uint32_t x = (uint32_t)le(p, 3);
        unsigned d = x & 31, m = (x >> 5) & 15, y = x >> 9;
        p += 3;
        if (m > 12 || y > 9999)
            BAD("column %s: invalid DATE %04u-%02u-%02u", c->name, y, m, d);
        if (!m || !d) {
            char t[16];
            int n = snprintf(t, sizeof t, "%04u-%02u-%02u", y, m, d);
            if (zero_date(v, t, (size_t)n, it, a))
                return -1;
            break;
        }
        v->kind = SL_DATE;
        v->v.i = sl_days_from_civil(y, m, d);
        break;
    }
    case MT_TIME2: {
        size_t fb = frac_bytes(meta);
        NEED(3 + fb);
        /* 3 bytes of sign + hour(10) + minute(6) + second(6), offset 0x800000,
         * then the fraction; negative values are stored as their two's
         * complement distance from the offset */
        int64_t intpart = (int64_t)be(p, 3) - 0x800000;
        int64_t packed;
        if (fb == 0) {
            packed = intpart * (1LL << 24);
        } else if (fb == 3) {
            packed = (int64_t)be(p, 6) - 0x800000000000LL;
        } else {
            /* the fraction is stored unsigned; a negative time keeps it
             * as the distance to the next whole second */
            int64_t frac = fb == 1 ? (int64_t)p[3] : (int64_t)be(p + 3, 2);
            if (intpart < 0 && frac) {
                intpart++;
                frac -= fb == 1 ? 0x100 : 0x10000;
            }
            packed = intpart * (1LL << 24) + frac * (fb == 1 ? 10000 : 100);
        }
        int neg = packed < 0;
        uint64_t a_packed = neg ? 0 - (uint64_t)packed : (uint64_t)packed;
        uint64_t hms = a_packed >> 24, frac_us = a_packed % (1u << 24);
        int64_t h = (int64_t)((hms >> 12) & 0x3ff), mi = (int64_t)((hms >> 6) & 0x3f), s = (int64_t)(hms & 0x3f);
        if (mi > 59 || s > 59 || frac_us >= US_PER_S)
            BAD("column %s: invalid TIME value", c->name);
        int64_t us = (h * 3600 + mi * 60 + s) * 1000000 + (int64_t)frac_us;
        v->kind = SL_TIME;
        v->aux = (uint16_t)meta;
        v->v.i = neg ? -us : us;
        p += 3 + fb;
        break;
    }
    case MT_DATETIME2: {
        size_t fb = frac_bytes(meta);
        NEED(5 + fb);
        /* the sign bit is always set: a DATETIME is never negative */
        int64_t intpart = (int64_t)be(p, 5) - 0x8000000000LL;
        if (intpart < 0)
            BAD("column %s: invalid DATETIME (negative packed value)", c->name);
        int64_t ymd = intpart >> 17, hms = intpart % (1 << 17);
        int64_t ym = ymd >> 5;
        unsigned d = (unsigned)(ymd % 32), m = (unsigned)(ym % 13), y = (unsigned)(ym / 13);
        unsigned s = (unsigned)(hms % 64), mi = (unsigned)((hms >> 6) % 64), h = (unsigned)(hms >> 12);
        int64_t us = frac_us(p + 5, meta);
        p += 5 + fb;
        if (y > 9999 || h > 23 || mi > 59 || s > 59 || us >= US_PER_S)
            BAD("column %s: invalid DATETIME %u-%u-%u %u:%u:%u.%lld", c->name, y, m, d, h, mi, s, (long long)us);
        if (!m || !d) {
            /* every field is range-checked above: 26 characters at most */
            char t[40];
            int n = snprintf(t, sizeof t, "%04u-%02u-%02u %02u:%02u:%02u", y, m, d, h, mi, s);
            if (meta)
                n += snprintf(t + n, sizeof t - (size_t)n, ".%06lld", (long long)us) - (MAX_FSP - (int)meta);
            if (zero_date(v, t, (size_t)n, it, a))
                return -1;
            break;
        }
        v->kind = SL_DATETIME;
        v->aux = (uint16_t)meta;
        v->v.i = (sl_days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60 + s) * 1000000LL + us;
        break;
    }
    case MT_TIMESTAMP2: {
        size_t fb = frac_bytes(meta);
        NEED(4 + fb);
        int64_t secs = (int64_t)be(p, 4);
        int64_t us = frac_us(p + 4, meta);
        p += 4 + fb;
        if (us >= US_PER_S)
            BAD("column %s: invalid TIMESTAMP fraction", c->name);
        if (secs == 0 && us == 0) {
            char t[40];
            int n = snprintf(t, sizeof t, "0000-00-00 00:00:00");
            if (meta)
                n += snprintf(t + n, sizeof t - (size_t)n, ".%.*s", (int)meta, "000000");
            if (zero_date(v, t, (size_t)n, it, a))
                return -1;
            break;
        }
        v->kind = SL_TIMESTAMP;
        v->aux = (uint16_t)meta;
        v->v.i = secs * 1000000 + us;
        break;
    }
    case MT_BIT: {
        unsigned bytes = (meta >> 8) + ((meta & 0xff) ? 1 : 0);
        if (bytes < 1 || bytes > 8)
            BAD("column %s: BIT width of %u bytes is outside 1..8", c->name, bytes);
        NEED(bytes);
        v->kind = SL_BIT;
        v->aux = c->precision;
        v->v.u = be(p, (int)bytes);
        p += bytes;
        break;
    }
    case MT_VARCHAR:
    case MT_STRING: {
        int lb = meta > 255 ? 2 : 1;
        NEED(lb);
        size_t n = (size_t)le(p, lb);
        p += lb;
        NEED((size_t)lb + n);
        if (c->kind == SL_BYTES) {
            /* BINARY(n) loses its trailing zero bytes in the binlog; the
             * stored (and SELECTed) value has them */
            size_t full = c->src_type == MT_STRING && meta > n ? meta : n;
            char *b = sl_arena_alloc(a, full + 1);
            if (!b)
                return -1;
            memcpy(b, p, n);
            memset(b + n, 0, full - n);
            *v = sl_val_text(SL_BYTES, b, (uint32_t)full);
        } else if (text_value(v, SL_STRING, c, p, n, it, a)) {
            snprintf(why, whylen, "column %s: %s (collation %u)", c->name,
                     c->conv >= SL_CONV_INET6 ? "not a value of its type" : "text is not valid in its charset",
                     c->charset);
            return -1;
        }
        p += n;
        break;
    }
    case MT_BLOB:
    case MT_GEOMETRY:
    case MT_JSON: {
        int lb = (int)meta;
        if (lb < 1 || lb > 4) {
            snprintf(why, whylen, "column %s: bad length width %d", c->name, lb);
            return -1;
        }
        NEED(lb);
        size_t n = (size_t)le(p, lb);
        p += lb;
        NEED((size_t)lb + n);
        if (c->src_type == MT_JSON) {
            const char *txt;
            uint32_t tl;
            if (sl_mysql_json_to_text(p, n, a, &txt, &tl)) {
                snprintf(why, whylen, "column %s: malformed binary JSON", c->name);
                return -1;
            }
            *v = sl_val_text(SL_JSON, txt, tl);
        } else if (c->kind == SL_BYTES) {
            char *b = sl_arena_memdup(a, p, n);
            if (!b)
                return -1;
            *v = sl_val_text(SL_BYTES, b, (uint32_t)n);
        } else if (text_value(v, SL_STRING, c, p, n, it, a)) {
            snprintf(why, whylen, "column %s: %s (collation %u)", c->name,
                     c->conv >= SL_CONV_INET6 ? "not a value of its type" : "text is not valid in its charset",
                     c->charset);
            return -1;
        }
        p += n;
        break;
    }
    case MT_ENUM: {
        if (meta < 1 || meta > 2)
            BAD("column %s: ENUM width %u is outside 1..2 bytes", c->name, meta);
        NEED(meta);
        uint64_t idx = le(p, (int)meta);
        p += meta;
        if (idx == 0 || idx > c->n_enum_values) {
            /* index 0 is the empty "error" value MySQL stores for bad input */
            *v = sl_val_text(SL_ENUM, "", 0);
        } else if (member_text(v, SL_ENUM, c, c->enum_values[idx - 1], it, a)) {
            snprintf(why, whylen, "column %s: ENUM member %llu is not valid in its charset (collation %u)", c->name,
                     (unsigned long long)idx, c->charset);
            return -1;
        }
        break;
    }
    case MT_SET: {
        if (meta < 1 || meta > 8)
            BAD("column %s: SET width %u is outside 1..8 bytes", c->name, meta);
        NEED(meta);
        uint64_t bits = le(p, (int)meta);
        p += meta;
        char tmp[8192];
        size_t n = 0;
        for (uint32_t k = 0; k < c->n_enum_values && k < 64; k++) {
            if (!((bits >> k) & 1))
                continue;
            size_t ml = strlen(c->enum_values[k]);
            if (n + ml + 2 > sizeof tmp)
                break;
            if (n)
                tmp[n++] = ',';
            memcpy(tmp + n, c->enum_values[k], ml);
            n += ml;
        }
        if (text_value(v, SL_SET, c, (const uint8_t *)tmp, n, it, a)) {
            snprintf(why, whylen, "column %s: SET members are not valid in their charset (collation %u)", c->name,
                     c->charset);
            return -1;
        }
        break;
    }
    case MT_NULL:
        break;
    default:
        snprintf(why, whylen, "column %s: binlog type %u is not supported", c->name, c->src_type);
        return -1;
    }
#undef NEED
#undef BAD
    *pp = p;
    return 0;
}

/* A JSON column of a PARTIAL_UPDATE_ROWS_EVENT's after image written as
 * a diff (json_diff.c): its length (the column's length width), then the
 * diffs, applied to the column's binary before value. */
static int partial_json(const sl_mysql_rows *it, const sl_column *c, int col, const sl_value *before,
                        const uint8_t **pp, sl_value *v, sl_arena *a, char *why, size_t whylen)
{
    const uint8_t *p = *pp;
    int lb = (int)c->src_meta;
    if (lb < 1 || lb > 4) {
        snprintf(why, whylen, "column %s: bad length width %d", c->name, lb);
        return -1;
    }
    if ((size_t)(it->end - p) < (size_t)lb) {
        snprintf(why, whylen, "column %s: JSON diff truncated in its length", c->name);
        return -1;
    }
    size_t n = (size_t)le(p, lb);
    p += lb;
    if ((size_t)(it->end - p) < n) {
        snprintf(why, whylen, "column %s: JSON diff of %zu bytes with %zu left in the event", c->name, n,
                 (size_t)(it->end - p));
        return -1;
    }
    if (before[col].kind == SL_UNCHANGED) {
        snprintf(why, whylen,
                 "column %s: a partial JSON update without the column's before value; sluice needs "
                 "binlog_row_image=FULL",
                 c->name);
        return -1;
    }
    if (before[col].kind == SL_NULL || !it->json_before[col]) {
        snprintf(why, whylen, "column %s: a partial JSON update of a NULL before value", c->name);
        return -1;
    }
    const uint8_t *b = it->json_before[col];
    size_t bn = (size_t)le(b, lb);
    const char *txt;
    uint32_t tl;
    if (sl_mysql_json_apply_diff(b + lb, bn, p, n, c->name, a, &txt, &tl, why, whylen))
        return -1;
    *v = sl_val_text(SL_JSON, txt, tl);
    *pp = p + n;
    return 0;
}

/* after: the after image of an update; before: its decoded before image
 * (for a PARTIAL_UPDATE_ROWS_EVENT's JSON diffs) */
static int decode_image(sl_mysql_rows *it, const uint8_t *present, int npresent, const sl_value *before,
                        sl_arena *a, sl_value **out, sl_err *err)
{
    const sl_table_schema *s = it->schema;
    /* PARTIAL_UPDATE_ROWS_EVENT after image: value_options (net_field
     * length; 1 = PARTIAL_JSON), then if set one bit per JSON column of
     * the table, present in the image or not (sql/rpl_record.cc:
     * pack_row, start_partial_bit_reader) */
    const uint8_t *partial_bits = NULL;
    if (it->partial && before) {
        uint64_t vopts;
        if (sl_mysql_netlen(&it->p, it->end, &vopts))
            return sl_errf(err, SL_ERUNTIME, "partial update row truncated in its value options");
        if (vopts > 1)
            return sl_errf(err, SL_ERUNTIME, "partial update row with unknown value options %llu",
                           (unsigned long long)vopts);
        if (vopts) {
            size_t pb = ((size_t)it->n_json + 7) / 8;
            if ((size_t)(it->end - it->p) < pb)
                return sl_errf(err, SL_ERUNTIME, "partial update row truncated in its partial bits");
            partial_bits = it->p;
            it->p += pb;
        }
    }
    size_t nb = ((size_t)npresent + 7) / 8;
    if ((size_t)(it->end - it->p) < nb)
        return sl_errf(err, SL_ERUNTIME, "row image truncated");
    const uint8_t *nulls = it->p;
    const uint8_t *p = it->p + nb;
    sl_value *row = sl_arena_alloc(a, (size_t)(s->ncols ? s->ncols : 1) * sizeof *row);
    if (!row)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    int k = 0, j = 0;
    char why[320];
    for (int i = 0; i < s->ncols; i++) {
        int diff = 0;
        if (s->cols[i].src_type == MT_JSON) {
            diff = partial_bits && ((partial_bits[j / 8] >> (j % 8)) & 1);
            j++;
        }
        if (!((present[i / 8] >> (i % 8)) & 1)) {
            memset(&row[i], 0, sizeof row[i]);
            row[i].kind = SL_UNCHANGED;
            continue;
        }
        int is_null = (nulls[k / 8] >> (k % 8)) & 1;
        k++;
        if (is_null) {
            row[i] = sl_val_null();
            continue;
        }
        if (it->partial && !before && s->cols[i].src_type == MT_JSON)
            it->json_before[i] = p;
        if (diff ? partial_json(it, &s->cols[i], i, before, &p, &row[i], a, why, sizeof why)
                 : decode_value(it, &s->cols[i], &p, &row[i], a, why, sizeof why))
            return sl_errf(err, SL_ERUNTIME, "%s", why);
    }
    it->p = p;
    *out = row;
    return 0;
}

int sl_mysql_rows_next(sl_mysql_rows *it, sl_arena *a, sl_value **before, sl_value **after, sl_err *err)
{
    *before = *after = NULL;
    if (it->p >= it->end)
        return 0;
    /* a row of no columns takes no bytes: bytes left after it would be
     * read as rows forever */
    if (!it->n_before || (it->update && !it->n_after))
        return sl_errf(err, SL_ERUNTIME, "rows event with an empty row image and %zu bytes left",
                       (size_t)(it->end - it->p));
    if (it->partial) {
        /* where each JSON column's binary before value starts (its
         * length), for the after image's diffs */
        it->json_before = sl_arena_alloc(a, (size_t)(it->schema->ncols ? it->schema->ncols : 1) * sizeof *it->json_before);
        if (!it->json_before)
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        memset(it->json_before, 0, (size_t)it->schema->ncols * sizeof *it->json_before);
    }
    if (it->update) {
        if (decode_image(it, it->present_before, it->n_before, NULL, a, before, err) ||
            decode_image(it, it->present_after, it->n_after, *before, a, after, err))
            return -1;
        return 1;
    }
    if (decode_image(it, it->present_before, it->n_before, NULL, a, it->op == 'c' ? after : before, err))
        return -1;
    return 1;
}
