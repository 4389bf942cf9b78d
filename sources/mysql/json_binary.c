/* json_binary.c — MySQL's binary JSON (the JSON column type in MySQL 5.7+)
 * to the text MySQL itself prints: `{"a": 1, "b": [true, null]}`.
 *
 * MariaDB stores JSON as text and never sends this format; MySQL 8 does.
 * Layout: a type byte, then objects/arrays with a count, a byte size, key
 * entries (offset, length), value entries (type + offset or inlined
 * scalar), in a small (16-bit offsets) or large (32-bit) flavour.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/buf.h"
#include "../../core/envelope.h"
#include "binlog_decode.h"

enum {
    J_SMALL_OBJ = 0, J_LARGE_OBJ = 1, J_SMALL_ARR = 2, J_LARGE_ARR = 3, J_LITERAL = 4, J_INT16 = 5,
    J_UINT16 = 6, J_INT32 = 7, J_UINT32 = 8, J_INT64 = 9, J_UINT64 = 10, J_DOUBLE = 11, J_STRING = 12,
    J_OPAQUE = 15,
};

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static int varlen(const uint8_t *p, size_t avail, uint32_t *len, size_t *used)
{
    uint32_t v = 0;
    for (size_t i = 0; i < 5 && i < avail; i++) {
        v |= (uint32_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *len = v;
            *used = i + 1;
            return 0;
        }
    }
    return -1;
}

static void json_str(sl_buf *b, const char *s, size_t n) { sl_json_string(b, s, n); }

static int value(sl_buf *b, int type, const uint8_t *p, size_t len, int depth);

static void packed_time(sl_buf *b, int type, int64_t packed)
{
    /* DATE/DATETIME/TIMESTAMP: ymd (17 bits ym*13) and hms packed above 24 frac bits */
    int neg = packed < 0;
    uint64_t a = neg ? 0 - (uint64_t)packed : (uint64_t)packed; /* INT64_MIN has no signed negation */
    uint64_t frac = a % (1u << 24), intp = a >> 24;
    char t[64];
    if (type == 11 /* TIME */) {
        unsigned h = (unsigned)((intp >> 12) % (1 << 10)), mi = (unsigned)((intp >> 6) % 64), s = (unsigned)(intp % 64);
        snprintf(t, sizeof t, "%s%02u:%02u:%02u.%06llu", neg ? "-" : "", h, mi, s, (unsigned long long)frac);
    } else {
        uint64_t ymd = intp >> 17, hms = intp % (1 << 17), ym = ymd >> 5;
        unsigned d = (unsigned)(ymd % 32), m = (unsigned)(ym % 13), y = (unsigned)(ym / 13);
        unsigned s = (unsigned)(hms % 64), mi = (unsigned)((hms >> 6) % 64), h = (unsigned)(hms >> 12);
        if (type == 10 /* DATE */)
            snprintf(t, sizeof t, "%04u-%02u-%02u", y, m, d);
        else
            snprintf(t, sizeof t, "%04u-%02u-%02u %02u:%02u:%02u.%06llu", y, m, d, h, mi, s,
                     (unsigned long long)frac);
    }
    json_str(b, t, strlen(t));
}

static int opaque(sl_buf *b, const uint8_t *p, size_t len)
{
    if (len < 1)
        return -1;
    int ftype = p[0];
    uint32_t n;
    size_t used;
    if (varlen(p + 1, len - 1, &n, &used) || 1 + used + n > len)
        return -1;
    const uint8_t *d = p + 1 + used;
    if (ftype == MT_NEWDECIMAL && n >= 2) {
        char txt[80];
        size_t u;
        int tl = sl_mysql_decimal_text(d + 2, n - 2, d[0], d[1], txt, sizeof txt, &u);
        if (tl < 0)
            return -1;
        sl_buf_add(b, txt, (size_t)tl);
        return 0;
    }
    if ((ftype == MT_DATE || ftype == MT_TIME || ftype == MT_DATETIME || ftype == MT_TIMESTAMP) && n >= 8) {
        packed_time(b, ftype == MT_TIMESTAMP ? MT_DATETIME : ftype, (int64_t)le(d, 8));
        return 0;
    }
    /* anything else MySQL prints as base64:typeN:<data> */
    sl_buf tmp;
    sl_buf_init(&tmp);
    sl_base64(&tmp, d, n);
    char head[32];
    snprintf(head, sizeof head, "\"base64:type%d:", ftype);
    sl_buf_adds(b, head);
    if (tmp.len >= 2)
        sl_buf_add(b, tmp.data + 1, tmp.len - 1);
    sl_buf_free(&tmp);
    return 0;
}

static int inlined(int type, int large)
{
    return type == J_LITERAL || type == J_INT16 || type == J_UINT16 ||
           (large && (type == J_INT32 || type == J_UINT32));
}

int sl_mysql_json_box_open(sl_mysql_json_box *bx, int type, const uint8_t *p, size_t len)
{
    if (type < J_SMALL_OBJ || type > J_LARGE_ARR)
        return -1;
    int large = type == J_LARGE_OBJ || type == J_LARGE_ARR, w = large ? 4 : 2;
    bx->is_obj = type == J_SMALL_OBJ || type == J_LARGE_OBJ;
    bx->large = large;
    if (len < (size_t)(2 * w))
        return -1;
    bx->p = p;
    bx->count = (uint32_t)le(p, w);
    bx->size = (uint32_t)le(p + w, w);
    if (bx->size > len)
        return -1;
    size_t hdr = 2 * (size_t)w + (bx->is_obj ? bx->count * ((size_t)w + 2) : 0) + bx->count * (1 + (size_t)w);
    return hdr > bx->size ? -1 : 0;
}

int sl_mysql_json_box_item(const sl_mysql_json_box *bx, uint32_t i, const char **key, uint32_t *klen, int *vt,
                           const uint8_t **vp, size_t *vlen)
{
    int w = bx->large ? 4 : 2;
    size_t key_entry = (size_t)w + 2, val_entry = 1 + (size_t)w;
    const uint8_t *p = bx->p;
    *key = NULL;
    *klen = 0;
    if (bx->is_obj) {
        const uint8_t *ke = p + 2 * w + i * key_entry;
        uint32_t koff = (uint32_t)le(ke, w), kl = (uint32_t)le(ke + w, 2);
        if ((size_t)koff + kl > bx->size)
            return -1;
        *key = (const char *)p + koff;
        *klen = kl;
    }
    const uint8_t *ve = p + 2 * w + (bx->is_obj ? bx->count * key_entry : 0) + i * val_entry;
    *vt = ve[0];
    if (inlined(*vt, bx->large)) {
        *vp = ve + 1;
        *vlen = (size_t)w;
        return 0;
    }
    uint32_t voff = (uint32_t)le(ve + 1, w);
    if (voff >= bx->size)
        return -1;
    *vp = p + voff;
    *vlen = bx->size - voff;
    return 0;
}

static int container(sl_buf *b, int type, const uint8_t *p, size_t len, int depth)
{
    sl_mysql_json_box bx;
    if (depth > SL_MYSQL_JSON_MAX_DEPTH || sl_mysql_json_box_open(&bx, type, p, len))
        return -1;
    sl_buf_addc(b, bx.is_obj ? '{' : '[');
    for (uint32_t i = 0; i < bx.count; i++) {
        const char *key;
        uint32_t klen;
        int vt;
        const uint8_t *vp;
        size_t vlen;
        if (sl_mysql_json_box_item(&bx, i, &key, &klen, &vt, &vp, &vlen))
            return -1;
        if (i)
            sl_buf_adds(b, ", ");
        if (bx.is_obj) {
            json_str(b, key, klen);
            sl_buf_adds(b, ": ");
        }
        if (value(b, vt, vp, vlen, depth + 1))
            return -1;
    }
    sl_buf_addc(b, bx.is_obj ? '}' : ']');
    return 0;
}

static int value(sl_buf *b, int type, const uint8_t *p, size_t len, int depth)
{
    char num[40];
    switch (type) {
    case J_SMALL_OBJ:
    case J_LARGE_OBJ:
    case J_SMALL_ARR:
    case J_LARGE_ARR: return container(b, type, p, len, depth);
    case J_LITERAL:
        if (len < 1)
            return -1;
        sl_buf_adds(b, p[0] == 0 ? "null" : p[0] == 1 ? "true" : "false");
        return 0;
    case J_INT16:
        if (len < 2)
            return -1;
        snprintf(num, sizeof num, "%d", (int16_t)le(p, 2));
        break;
    case J_UINT16:
        if (len < 2)
            return -1;
        snprintf(num, sizeof num, "%u", (unsigned)le(p, 2));
        break;
    case J_INT32:
        if (len < 4)
            return -1;
        snprintf(num, sizeof num, "%d", (int32_t)le(p, 4));
        break;
    case J_UINT32:
        if (len < 4)
            return -1;
        snprintf(num, sizeof num, "%u", (unsigned)le(p, 4));
        break;
    case J_INT64:
        if (len < 8)
            return -1;
        snprintf(num, sizeof num, "%lld", (long long)le(p, 8));
        break;
    case J_UINT64:
        if (len < 8)
            return -1;
        snprintf(num, sizeof num, "%llu", (unsigned long long)le(p, 8));
        break;
    case J_DOUBLE: {
        if (len < 8)
            return -1;
        double d;
        uint64_t u = le(p, 8);
        memcpy(&d, &u, 8);
        sl_format_double(b, d, 0);
        /* MySQL prints integral doubles with a trailing ".0" */
        if (isfinite(d) && d == floor(d) && fabs(d) < 1e15)
            sl_buf_adds(b, ".0");
        return 0;
    }
    case J_STRING: {
        uint32_t n;
        size_t used;
        if (varlen(p, len, &n, &used) || used + n > len)
            return -1;
        json_str(b, (const char *)p + used, n);
        return 0;
    }
    case J_OPAQUE:
        return opaque(b, p, len);
    default:
        return -1;
    }
    sl_buf_adds(b, num);
    return 0;
}

int sl_mysql_json_value_text(sl_buf *b, int type, const uint8_t *p, size_t len)
{
    return value(b, type, p, len, 0);
}

int sl_mysql_json_to_text(const uint8_t *p, size_t len, sl_arena *a, const char **out, uint32_t *outlen)
{
    sl_buf b;
    sl_buf_init(&b);
    int rc = 0;
    if (len == 0)
        sl_buf_adds(&b, "null"); /* MySQL writes an empty value for a JSON null set by some paths */
    else
        rc = value(&b, p[0], p + 1, len - 1, 0);
    if (!rc && !b.failed) {
        char *s = sl_arena_memdup(a, b.data, b.len);
        if (s) {
            *out = s;
            *outlen = (uint32_t)b.len;
        } else {
            rc = -1;
        }
    } else {
        rc = -1;
    }
    sl_buf_free(&b);
    return rc;
}
