/* pq_dict.c — hash index of a column chunk's dictionary. */
#include "pq_dict.h"

#include <stdlib.h>
#include <string.h>

#include "../bytes.h"

void sl_pq_dict_init(sl_pq_dict *d, int width)
{
    memset(d, 0, sizeof *d);
    d->width = width;
}

void sl_pq_dict_reset(sl_pq_dict *d)
{
    sl_buf_reset(&d->page);
    d->count = 0;
    if (d->slots)
        memset(d->slots, 0, (size_t)d->nslots * sizeof *d->slots);
}

void sl_pq_dict_free(sl_pq_dict *d)
{
    sl_buf_free(&d->page);
    free(d->off);
    free(d->hash);
    free(d->slots);
    memset(d, 0, sizeof *d);
}

static inline uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

/* 8 bytes at a time, multiply-rotate; only needs to spread keys well */
uint64_t sl_pq_hash(const void *p, size_t n)
{
    const uint8_t *s = p;
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0x100000001b3ull);
    while (n >= 8) {
        h = (h ^ mix(sl_le64(s))) * 0x9e3779b97f4a7c15ull;
        h = (h << 27) | (h >> 37);
        s += 8;
        n -= 8;
    }
    uint64_t tail = 0;
    if (n)
        memcpy(&tail, s, n);
    return mix(h ^ tail ^ ((uint64_t)n << 59));
}

static int grow_slots(sl_pq_dict *d)
{
    uint32_t n = d->nslots ? d->nslots * 2 : 1024;
    uint32_t *s = calloc(n, sizeof *s);
    if (!s)
        return -1;
    for (uint32_t i = 0; i < d->count; i++) {
        uint32_t k = d->hash[i] & (n - 1);
        while (s[k])
            k = (k + 1) & (n - 1);
        s[k] = i + 1;
    }
    free(d->slots);
    d->slots = s;
    d->nslots = n;
    return 0;
}

static int grow_entries(sl_pq_dict *d)
{
    uint32_t cap = d->cap ? d->cap * 2 : 256;
    uint32_t *o = realloc(d->off, cap * sizeof *o);
    if (!o)
        return -1;
    d->off = o;
    uint32_t *h = realloc(d->hash, cap * sizeof *h);
    if (!h)
        return -1;
    d->hash = h;
    d->cap = cap;
    return 0;
}

static inline int same(const sl_pq_dict *d, uint32_t i, const void *p, size_t n)
{
    const char *e = d->page.data + d->off[i];
    if (d->width)
        return memcmp(e, p, n) == 0;
    return sl_le32(e) == n && (n == 0 || memcmp(e + 4, p, n) == 0);
}

int64_t sl_pq_dict_put(sl_pq_dict *d, const void *p, size_t n, int *added)
{
    *added = 0;
    if (d->failed)
        return -1;
    if ((uint64_t)(d->count + 1) * 2 > d->nslots && grow_slots(d))
        goto oom;
    uint32_t h = (uint32_t)sl_pq_hash(p, n);
    uint32_t mask = d->nslots - 1, k = h & mask;
    for (;;) {
        uint32_t e = d->slots[k];
        if (!e)
            break;
        if (d->hash[e - 1] == h && same(d, e - 1, p, n))
            return e - 1;
        k = (k + 1) & mask;
    }
    if (d->count == d->cap && grow_entries(d))
        goto oom;
    if (d->page.len > UINT32_MAX - n - 4)
        goto oom; /* dictionaries stay far below 4 GiB (dict_limit) */
    d->off[d->count] = (uint32_t)d->page.len;
    d->hash[d->count] = h;
    if (!d->width)
        sl_buf_le32(&d->page, (uint32_t)n);
    sl_buf_put(&d->page, p, n);
    if (d->page.failed)
        goto oom;
    d->slots[k] = ++d->count;
    *added = 1;
    return d->count - 1;
oom:
    d->failed = 1;
    return -1;
}
