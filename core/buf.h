/* buf.h — a growable byte buffer for building messages on hot paths.
 * Append operations never fail silently: on out-of-memory the buffer is
 * marked failed and the caller checks once at the end. */
#ifndef SL_BUF_H
#define SL_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct sl_buf {
    char *data;
    size_t len, cap;
    int failed;
} sl_buf;

void sl_buf_init(sl_buf *b);
void sl_buf_free(sl_buf *b);
int sl_buf_reserve(sl_buf *b, size_t extra);
/* Makes the array *arr (capacity *cap elements of elem bytes) hold at
 * least need elements, doubling from 8; 0, or -1 when out of memory (the
 * array unchanged). */
int sl_grow(void **arr, size_t *cap, size_t need, size_t elem);
void sl_buf_printf(sl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sl_buf_u64(sl_buf *b, uint64_t v);
void sl_buf_i64(sl_buf *b, int64_t v);

static inline void sl_buf_reset(sl_buf *b) { b->len = 0; }

static inline void sl_buf_add(sl_buf *b, const void *p, size_t n)
{
    if (b->cap - b->len < n && sl_buf_reserve(b, n))
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static inline void sl_buf_addc(sl_buf *b, char c)
{
    if (b->cap == b->len && sl_buf_reserve(b, 1))
        return;
    b->data[b->len++] = c;
}

static inline void sl_buf_adds(sl_buf *b, const char *s) { sl_buf_add(b, s, strlen(s)); }

/* the value of one hex digit (either case), -1 for any other character:
 * for decoding the hex text of bytes (PostgreSQL bytea, UUIDs) */
static inline int sl_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
