/* pq_stats.h — min/max/NaN tracking for one column in the sort order the
 * Parquet spec defines for its type (ColumnOrder TYPE_ORDER): signed for
 * signed ints, dates, times, timestamps and INT32/INT64 decimals; unsigned
 * for INT(n, false); numeric for floats with NaN left out and zeros signed
 * as the spec asks; unsigned byte-wise for strings, binary and UUID; signed
 * byte-wise (first byte's sign) for FIXED decimals.
 *
 * Byte-array bounds are kept already truncated (stats_max_len), so a huge
 * value never sits in memory twice: a truncated min is a prefix (a lower
 * bound), a truncated max is a prefix incremented (an upper bound). */
#ifndef SL_PQ_STATS_H
#define SL_PQ_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../core/buf.h"

enum {
    SL_PQ_ORD_SIGNED,       /* lo/hi.i */
    SL_PQ_ORD_UNSIGNED,     /* lo/hi.u */
    SL_PQ_ORD_FLOAT,        /* lo/hi.d */
    SL_PQ_ORD_BYTES,        /* blo/bhi, memcmp */
    SL_PQ_ORD_SIGNED_BYTES, /* blo/bhi, two's complement big-endian */
};

typedef struct sl_pq_minmax {
    uint8_t order, physical, utf8;
    uint8_t has, min_exact, max_exact;
    size_t max_len; /* 0: never truncate */
    int64_t nan_count;
    union {
        int64_t i;
        uint64_t u;
        double d;
    } lo, hi;
    sl_buf blo, bhi;
} sl_pq_minmax;

void sl_pq_mm_init(sl_pq_minmax *m, int physical, int order, int utf8, size_t max_len);
void sl_pq_mm_reset(sl_pq_minmax *m);
void sl_pq_mm_free(sl_pq_minmax *m);

static inline void sl_pq_mm_i64(sl_pq_minmax *m, int64_t v)
{
    if (!m->has) {
        m->lo.i = m->hi.i = v;
        m->has = 1;
    } else if (v < m->lo.i) {
        m->lo.i = v;
    } else if (v > m->hi.i) {
        m->hi.i = v;
    }
}

static inline void sl_pq_mm_u64(sl_pq_minmax *m, uint64_t v)
{
    if (!m->has) {
        m->lo.u = m->hi.u = v;
        m->has = 1;
    } else if (v < m->lo.u) {
        m->lo.u = v;
    } else if (v > m->hi.u) {
        m->hi.u = v;
    }
}

static inline void sl_pq_mm_double(sl_pq_minmax *m, double v)
{
    if (v != v) {
        m->nan_count++;
        return;
    }
    if (!m->has) {
        m->lo.d = m->hi.d = v;
        m->has = 1;
    } else if (v < m->lo.d) {
        m->lo.d = v;
    } else if (v > m->hi.d) {
        m->hi.d = v;
    }
}

void sl_pq_mm_bytes(sl_pq_minmax *m, const void *p, size_t n);

/* folds src (same column) into dst */
void sl_pq_mm_merge(sl_pq_minmax *dst, const sl_pq_minmax *src);

/* PLAIN bytes (no length prefix) of the bounds into min and max (appended);
 * nothing when !has. Zeros of floats come out as -0.0 (min) and +0.0 (max). */
void sl_pq_mm_encode(const sl_pq_minmax *m, sl_buf *min, sl_buf *max);

/* compare two values in an order (exposed for tests) */
int sl_pq_bytes_cmp(int order, const void *a, size_t an, const void *b, size_t bn);

/* Truncation (exposed for tests): replaces out with the longest prefix of
 * at most max_len bytes (UTF-8: whole characters); for an upper bound, that
 * prefix with its last byte / character incremented. Returns 1 when out is
 * shorter than the value, 0 when it is the whole value (short enough, or no
 * shorter upper bound exists: all 0xff / U+10FFFF). */
int sl_pq_truncate_min(const uint8_t *p, size_t n, size_t max_len, int utf8, sl_buf *out);
int sl_pq_truncate_max(const uint8_t *p, size_t n, size_t max_len, int utf8, sl_buf *out);

#endif
