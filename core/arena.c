/* arena.c — block list behind sl_arena; big blocks from the pool when it has one. */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct sl_arena_block {
    sl_arena_block *next;
    size_t size;
    size_t used;
    int pooled; /* from a->pool: its mapping is sizeof header + size bytes */
    _Alignas(16) unsigned char data[];
};

enum { FIRST_BLOCK = 16 * 1024, MAX_BLOCK = 1024 * 1024 };

void sl_arena_init(sl_arena *a)
{
    memset(a, 0, sizeof *a);
    a->next_block = FIRST_BLOCK;
}

void sl_arena_init_pooled(sl_arena *a, sl_block_pool *pool)
{
    sl_arena_init(a);
    a->pool = pool;
}

static sl_arena_block *new_block(sl_arena *a, size_t min)
{
    size_t size = a->next_block;
    if (size < min)
        size = min;
    /* only the growth steps are pooled: a few exact sizes that recur */
    int pooled = SL_ARENA_USES_POOL && a->pool && size == a->next_block && size >= SL_ARENA_POOLED_MIN;
    sl_arena_block *b = pooled ? sl_block_pool_get(a->pool, sizeof *b + size) : malloc(sizeof *b + size);
    if (!b)
        return NULL;
    b->size = size;
    b->used = 0;
    b->pooled = pooled;
    a->reserved_bytes += size;
    if (a->next_block < MAX_BLOCK)
        a->next_block *= 2;
    return b;
}

void *sl_arena_alloc(sl_arena *a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    sl_arena_block *b = a->head;
    if (!b || b->size - b->used < size) {
        sl_arena_block *nb = new_block(a, size);
        if (!nb)
            return NULL;
        if (b && size > MAX_BLOCK / 2) {
            /* oversized: keep the current block in front for small requests */
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            a->head = nb;
        }
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += size;
    a->used_bytes += size;
    return p;
}

void *sl_arena_memdup(sl_arena *a, const void *p, size_t size)
{
    void *d = sl_arena_alloc(a, size ? size : 1);
    if (d && size)
        memcpy(d, p, size);
    return d;
}

char *sl_arena_strndup(sl_arena *a, const char *s, size_t n)
{
    char *d = sl_arena_alloc(a, n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

char *sl_arena_strdup(sl_arena *a, const char *s) { return sl_arena_strndup(a, s, strlen(s)); }

static void free_block(sl_arena *a, sl_arena_block *b)
{
    if (b->pooled)
        sl_block_pool_put(a->pool, b, sizeof *b + b->size);
    else
        free(b);
}

void sl_arena_reset(sl_arena *a)
{
    sl_arena_block *keep = NULL;
    for (sl_arena_block *b = a->head, *n; b; b = n) {
        n = b->next;
        if (!n && b->size <= MAX_BLOCK) {
            keep = b;
        } else {
            free_block(a, b);
        }
    }
    a->head = keep;
    a->used_bytes = 0;
    a->reserved_bytes = keep ? keep->size : 0;
    if (keep)
        keep->used = 0;
}

void sl_arena_free(sl_arena *a)
{
    for (sl_arena_block *b = a->head, *n; b; b = n) {
        n = b->next;
        free_block(a, b);
    }
    sl_arena_init_pooled(a, a->pool);
}
