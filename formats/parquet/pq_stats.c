/* pq_stats.c — bounds of byte-array columns, truncation, merging and the
 * PLAIN encoding of bounds. */
#include "pq_stats.h"

#include "../bytes.h"
#include "parquet.h"

void sl_pq_mm_init(sl_pq_minmax *m, int physical, int order, int utf8, size_t max_len)
{
    memset(m, 0, sizeof *m);
    m->physical = (uint8_t)physical;
    m->order = (uint8_t)order;
    m->utf8 = (uint8_t)utf8;
    m->max_len = physical == SL_PQ_BYTE_ARRAY ? max_len : 0;
    m->min_exact = m->max_exact = 1;
}

void sl_pq_mm_reset(sl_pq_minmax *m)
{
    m->has = 0;
    m->nan_count = 0;
    m->min_exact = m->max_exact = 1;
    sl_buf_reset(&m->blo);
    sl_buf_reset(&m->bhi);
}

void sl_pq_mm_free(sl_pq_minmax *m)
{
    sl_buf_free(&m->blo);
    sl_buf_free(&m->bhi);
}

int sl_pq_bytes_cmp(int order, const void *a, size_t an, const void *b, size_t bn)
{
    const uint8_t *x = a, *y = b;
    if (order == SL_PQ_ORD_SIGNED_BYTES && an && bn) {
        /* equal lengths (FIXED): the first byte carries the sign */
        int sx = (int8_t)x[0], sy = (int8_t)y[0];
        if (sx != sy)
            return sx < sy ? -1 : 1;
        x++, y++, an--, bn--;
    }
    size_t n = an < bn ? an : bn;
    int c = n ? memcmp(x, y, n) : 0;
    if (c)
        return c;
    return an < bn ? -1 : an > bn;
}

static size_t utf8_cut(const uint8_t *p, size_t n, size_t max_len)
{
    if (n <= max_len)
        return n;
    size_t cut = max_len;
    while (cut > 0 && (p[cut] & 0xc0) == 0x80)
        cut--;
    return cut;
}

int sl_pq_truncate_min(const uint8_t *p, size_t n, size_t max_len, int utf8, sl_buf *out)
{
    size_t cut = (max_len == 0 || n <= max_len) ? n : utf8 ? utf8_cut(p, n, max_len) : max_len;
    sl_buf_reset(out);
    sl_buf_put(out, p, cut);
    return cut < n;
}

static int utf8_encode(uint32_t cp, uint8_t *o)
{
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xc0 | (cp >> 6));
        o[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xe0 | (cp >> 12));
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (uint8_t)(0xf0 | (cp >> 18));
    o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

/* decodes the character at p[0..n) leniently (its bytes as they are) */
static uint32_t utf8_decode(const uint8_t *p, size_t n)
{
    uint32_t cp = p[0];
    if (n == 1)
        return cp;
    cp &= n == 2 ? 0x1f : n == 3 ? 0x0f : 0x07;
    for (size_t i = 1; i < n; i++)
        cp = (cp << 6) | (p[i] & 0x3f);
    return cp;
}

int sl_pq_truncate_max(const uint8_t *p, size_t n, size_t max_len, int utf8, sl_buf *out)
{
    sl_buf_reset(out);
    if (max_len == 0 || n <= max_len) {
        sl_buf_put(out, p, n);
        return 0;
    }
    if (!utf8) {
        size_t cut = max_len;
        while (cut > 0 && p[cut - 1] == 0xff)
            cut--;
        if (cut == 0) {
            sl_buf_put(out, p, n);
            return 0;
        }
        sl_buf_put(out, p, cut);
        out->data[cut - 1] = (char)(p[cut - 1] + 1);
        return 1;
    }
    size_t cut = utf8_cut(p, n, max_len);
    while (cut > 0) {
        size_t k = cut - 1;
        while (k > 0 && (p[k] & 0xc0) == 0x80)
            k--;
        uint32_t cp = utf8_decode(p + k, cut - k) + 1;
        if (cp >= 0xd800 && cp <= 0xdfff)
            cp = 0xe000;
        if (cp <= 0x10ffff) {
            uint8_t enc[4];
            int el = utf8_encode(cp, enc);
            sl_buf_put(out, p, k);
            sl_buf_add(out, enc, (size_t)el);
            return 1;
        }
        cut = k;
    }
    sl_buf_put(out, p, n);
    return 0;
}

void sl_pq_mm_bytes(sl_pq_minmax *m, const void *p, size_t n)
{
    if (!m->has) {
        m->min_exact = !sl_pq_truncate_min(p, n, m->max_len, m->utf8, &m->blo);
        m->max_exact = !sl_pq_truncate_max(p, n, m->max_len, m->utf8, &m->bhi);
        m->has = 1;
        return;
    }
    if (sl_pq_bytes_cmp(m->order, p, n, m->blo.data, m->blo.len) < 0)
        m->min_exact = !sl_pq_truncate_min(p, n, m->max_len, m->utf8, &m->blo);
    if (sl_pq_bytes_cmp(m->order, p, n, m->bhi.data, m->bhi.len) > 0)
        m->max_exact = !sl_pq_truncate_max(p, n, m->max_len, m->utf8, &m->bhi);
}

void sl_pq_mm_merge(sl_pq_minmax *dst, const sl_pq_minmax *src)
{
    dst->nan_count += src->nan_count;
    if (!src->has)
        return;
    if (src->order == SL_PQ_ORD_BYTES || src->order == SL_PQ_ORD_SIGNED_BYTES) {
        if (!dst->has || sl_pq_bytes_cmp(dst->order, src->blo.data, src->blo.len, dst->blo.data,
                                         dst->blo.len) < 0) {
            sl_buf_reset(&dst->blo);
            sl_buf_put(&dst->blo, src->blo.data, src->blo.len);
            dst->min_exact = src->min_exact;
        }
        if (!dst->has || sl_pq_bytes_cmp(dst->order, src->bhi.data, src->bhi.len, dst->bhi.data,
                                         dst->bhi.len) > 0) {
            sl_buf_reset(&dst->bhi);
            sl_buf_put(&dst->bhi, src->bhi.data, src->bhi.len);
            dst->max_exact = src->max_exact;
        }
        dst->has = 1;
        return;
    }
    if (!dst->has) {
        dst->lo = src->lo;
        dst->hi = src->hi;
        dst->has = 1;
        return;
    }
    switch (src->order) {
    case SL_PQ_ORD_SIGNED:
        if (src->lo.i < dst->lo.i)
            dst->lo.i = src->lo.i;
        if (src->hi.i > dst->hi.i)
            dst->hi.i = src->hi.i;
        break;
    case SL_PQ_ORD_UNSIGNED:
        if (src->lo.u < dst->lo.u)
            dst->lo.u = src->lo.u;
        if (src->hi.u > dst->hi.u)
            dst->hi.u = src->hi.u;
        break;
    default:
        if (src->lo.d < dst->lo.d)
            dst->lo.d = src->lo.d;
        if (src->hi.d > dst->hi.d)
            dst->hi.d = src->hi.d;
    }
}

static void put_scalar(const sl_pq_minmax *m, int is_max, sl_buf *out)
{
    int64_t i = is_max ? m->hi.i : m->lo.i;
    double d = is_max ? m->hi.d : m->lo.d;
    switch (m->physical) {
    case SL_PQ_BOOLEAN: {
        char b = (char)(i != 0);
        sl_buf_add(out, &b, 1);
        break;
    }
    case SL_PQ_INT32: {
        uint32_t v = (uint32_t)i; /* little-endian host (checked at open) */
        sl_buf_add(out, &v, 4);
        break;
    }
    case SL_PQ_INT64:
        sl_buf_add(out, &i, 8);
        break;
    case SL_PQ_FLOAT: {
        float f = (float)d;
        if (f == 0)
            f = is_max ? 0.0f : -0.0f;
        sl_buf_add(out, &f, 4);
        break;
    }
    case SL_PQ_DOUBLE:
        if (d == 0)
            d = is_max ? 0.0 : -0.0;
        sl_buf_add(out, &d, 8);
        break;
    }
}

void sl_pq_mm_encode(const sl_pq_minmax *m, sl_buf *min, sl_buf *max)
{
    if (!m->has)
        return;
    if (m->order == SL_PQ_ORD_BYTES || m->order == SL_PQ_ORD_SIGNED_BYTES) {
        sl_buf_put(min, m->blo.data, m->blo.len);
        sl_buf_put(max, m->bhi.data, m->bhi.len);
        return;
    }
    put_scalar(m, 0, min);
    put_scalar(m, 1, max);
}
