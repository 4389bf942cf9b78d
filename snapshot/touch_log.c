/* touch_log.c — a FIFO of touches plus a byte log of their keys, compacted
 * as old entries are pruned. */
#include "touch_log.h"

#include <stdlib.h>
#include <string.h>

#include "rowkey.h"

void sl_touch_log_init(sl_touch_log *t, size_t max_bytes)
{
    memset(t, 0, sizeof *t);
    sl_buf_init(&t->keys);
    t->max_bytes = max_bytes;
}

void sl_touch_log_free(sl_touch_log *t)
{
    free(t->items);
    sl_buf_free(&t->keys);
    memset(t, 0, sizeof *t);
}

static void compact(sl_touch_log *t)
{
    if (t->head) {
        memmove(t->items, t->items + t->head, t->n * sizeof *t->items);
        t->head = 0;
    }
    uint64_t first = t->n ? t->items[0].keyoff : t->base_off + t->keys.len;
    size_t drop = (size_t)(first - t->base_off);
    if (drop) {
        memmove(t->keys.data, t->keys.data + drop, t->keys.len - drop);
        t->keys.len -= drop;
        t->base_off += drop;
    }
}

static void drop_oldest(sl_touch_log *t)
{
    sl_touch *old = &t->items[t->head];
    if (!t->forgot || sl_pos_cmp(old->pos, t->forgotten_below) >= 0) {
        /* everything up to and including this position may now be missing */
        t->forgotten_below = old->pos;
        t->forgotten_below.idx++;
        t->forgot = 1;
    }
    t->head++;
    t->n--;
}

int sl_touch_add(sl_touch_log *t, uint32_t table, sl_pos pos, const void *key, size_t len)
{
    while (t->n && t->n * sizeof(sl_touch) + t->keys.len + len > t->max_bytes)
        drop_oldest(t);
    if (t->head + t->n == t->cap) {
        if (t->head > t->cap / 2) {
            compact(t);
        } else {
            size_t cap = t->cap ? t->cap * 2 : 1024;
            sl_touch *items = realloc(t->items, cap * sizeof *items);
            if (!items)
                return -1;
            t->items = items;
            t->cap = cap;
        }
    }
    if (t->keys.len > (1u << 20) && t->n && t->items[t->head].keyoff - t->base_off > t->keys.len / 2)
        compact(t);
    sl_touch *x = &t->items[t->head + t->n];
    x->pos = pos;
    x->table = table;
    x->keylen = (uint32_t)len;
    x->keyoff = t->base_off + t->keys.len;
    x->hash = sl_rowkey_hash(key, len);
    sl_buf_add(&t->keys, key, len);
    if (t->keys.failed)
        return -1;
    t->n++;
    return 0;
}

void sl_touch_prune(sl_touch_log *t, sl_pos below)
{
    while (t->n && sl_pos_cmp(t->items[t->head].pos, below) < 0) {
        t->head++;
        t->n--;
    }
    if (!t->n) {
        t->head = 0;
        t->base_off += t->keys.len;
        t->keys.len = 0;
    }
}

int sl_touch_covers(const sl_touch_log *t, sl_pos pos)
{
    return !t->forgot || sl_pos_cmp(pos, t->forgotten_below) >= 0;
}

void sl_touch_each(const sl_touch_log *t, uint32_t table, sl_pos from,
                   void (*fn)(const void *, size_t, uint64_t, void *), void *arg)
{
    for (size_t i = 0; i < t->n; i++) {
        const sl_touch *x = &t->items[t->head + i];
        if (x->table != table || sl_pos_cmp(x->pos, from) < 0)
            continue;
        fn(t->keys.data + (x->keyoff - t->base_off), x->keylen, x->hash, arg);
    }
}
