/* buf.c — growth and number formatting for sl_buf. */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void sl_buf_init(sl_buf *b) { memset(b, 0, sizeof *b); }

void sl_buf_free(sl_buf *b)
{
    free(b->data);
    sl_buf_init(b);
}

int sl_buf_reserve(sl_buf *b, size_t extra)
{
    if (b->failed)
        return -1;
    if (b->cap - b->len >= extra)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < extra)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) {
        b->failed = 1;
        return -1;
    }
    b->data = d;
    b->cap = cap;
    return 0;
}

void sl_buf_printf(sl_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || sl_buf_reserve(b, (size_t)n + 1))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

void sl_buf_u64(sl_buf *b, uint64_t v)
{
    char tmp[24];
    int i = 24;
    while (v >= 100) {
        unsigned d = (unsigned)(v % 100);
        v /= 100;
        tmp[--i] = digit_pairs[2 * d + 1];
        tmp[--i] = digit_pairs[2 * d];
    }
    if (v >= 10) {
        tmp[--i] = digit_pairs[2 * v + 1];
        tmp[--i] = digit_pairs[2 * v];
    } else {
        tmp[--i] = (char)('0' + v);
    }
    sl_buf_add(b, tmp + i, (size_t)(24 - i));
}

void sl_buf_i64(sl_buf *b, int64_t v)
{
    if (v < 0) {
        sl_buf_addc(b, '-');
        sl_buf_u64(b, (uint64_t)0 - (uint64_t)v);
    } else {
        sl_buf_u64(b, (uint64_t)v);
    }
}

int sl_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 8;
    while (n < need)
        n *= 2;
    void *p = realloc(*arr, n * elem);
    if (!p)
        return -1;
    *arr = p;
    *cap = n;
    return 0;
}
