/* ice_index.c — the primary key -> (data file, row position) index of one
 * table: what turns an update or a delete into a position delete (v2),
 * which every reader understands, instead of an equality delete, which
 * pyiceberg cannot read (DESIGN.md §8).
 *
 * An open-addressing hash table (linear probing, tombstones) over keys
 * copied into one growing byte pool; data file paths are interned so an
 * entry is 12 bytes plus its key. The index lives in memory; it is rebuilt
 * on start from the per-snapshot delta files (ice_table.c). */
#include <stdlib.h>
#include <string.h>

#include "ice_sink.h"

typedef struct slot {
    uint64_t hash;   /* 0: empty, 1: tombstone */
    size_t key;      /* offset of the key in pool: u32 length, bytes */
    ice_loc loc;
} slot;

struct ice_index {
    slot *slots;
    size_t cap, used, live; /* used counts tombstones too */
    sl_buf pool;
    size_t garbage; /* pool bytes of deleted keys */
    char **files;
    size_t nfiles, capfiles;
};

static uint64_t hash_key(const void *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a, then a finalizer */
    for (size_t i = 0; i < n; i++)
        h = (h ^ ((const uint8_t *)p)[i]) * 1099511628211ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h < 2 ? h + 2 : h;
}

ice_index *ice_index_new(void)
{
    ice_index *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    sl_buf_init(&x->pool);
    return x;
}

void ice_index_free(ice_index *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->nfiles; i++)
        free(x->files[i]);
    free(x->files);
    free(x->slots);
    sl_buf_free(&x->pool);
    free(x);
}

int32_t ice_index_file(ice_index *x, const char *path)
{
    for (size_t i = x->nfiles; i-- > 0;)
        if (!strcmp(x->files[i], path))
            return (int32_t)i;
    if (x->nfiles == x->capfiles) {
        size_t cap = x->capfiles ? x->capfiles * 2 : 16;
        char **f = realloc(x->files, cap * sizeof *f);
        if (!f)
            return -1;
        x->files = f;
        x->capfiles = cap;
    }
    if (!(x->files[x->nfiles] = strdup(path)))
        return -1;
    return (int32_t)x->nfiles++;
}

const char *ice_index_file_name(const ice_index *x, int32_t file)
{
    return file >= 0 && (size_t)file < x->nfiles ? x->files[file] : NULL;
}

static int key_eq(const ice_index *x, const slot *s, const void *key, size_t n)
{
    uint32_t len;
    memcpy(&len, x->pool.data + s->key, 4);
    return len == n && memcmp(x->pool.data + s->key + 4, key, n) == 0;
}

static slot *find(const ice_index *x, const void *key, size_t n, uint64_t h)
{
    if (!x->cap)
        return NULL;
    for (size_t i = h & (x->cap - 1);; i = (i + 1) & (x->cap - 1)) {
        slot *s = &x->slots[i];
        if (s->hash == 0)
            return NULL;
        if (s->hash == h && key_eq(x, s, key, n))
            return s;
    }
}

static int grow(ice_index *x)
{
    size_t cap = x->cap ? (x->live * 2 >= x->cap / 2 ? x->cap * 2 : x->cap) : 1024;
    slot *ns = calloc(cap, sizeof *ns);
    if (!ns)
        return -1;
    /* compact the pool as well when deleted keys make up half of it */
    sl_buf pool;
    int compact = x->garbage > x->pool.len / 2;
    if (compact)
        sl_buf_init(&pool);
    for (size_t i = 0; i < x->cap; i++) {
        slot s = x->slots[i];
        if (s.hash < 2)
            continue;
        if (compact) {
            uint32_t len;
            memcpy(&len, x->pool.data + s.key, 4);
            size_t at = pool.len;
            sl_buf_add(&pool, x->pool.data + s.key, 4 + (size_t)len);
            s.key = at;
        }
        size_t j = s.hash & (cap - 1);
        while (ns[j].hash)
            j = (j + 1) & (cap - 1);
        ns[j] = s;
    }
    if (compact) {
        if (pool.failed) {
            sl_buf_free(&pool);
            free(ns);
            return -1;
        }
        sl_buf_free(&x->pool);
        x->pool = pool;
        x->garbage = 0;
    }
    free(x->slots);
    x->slots = ns;
    x->cap = cap;
    x->used = x->live;
    return 0;
}

int ice_index_get(const ice_index *x, const void *key, size_t n, ice_loc *out)
{
    slot *s = find(x, key, n, hash_key(key, n));
    if (!s)
        return 0;
    *out = s->loc;
    return 1;
}

int ice_index_put(ice_index *x, const void *key, size_t n, ice_loc loc)
{
    uint64_t h = hash_key(key, n);
    slot *s = find(x, key, n, h);
    if (s) {
        s->loc = loc;
        return 0;
    }
    if ((x->used + 1) * 4 > x->cap * 3 && grow(x))
        return -1;
    size_t i = h & (x->cap - 1);
    while (x->slots[i].hash >= 2)
        i = (i + 1) & (x->cap - 1);
    if (x->slots[i].hash == 0)
        x->used++;
    uint32_t len = (uint32_t)n;
    size_t at = x->pool.len;
    sl_buf_add(&x->pool, &len, 4);
    sl_buf_add(&x->pool, key, n);
    if (x->pool.failed)
        return -1;
    x->slots[i] = (slot){.hash = h, .key = at, .loc = loc};
    x->live++;
    return 0;
}

int ice_index_del(ice_index *x, const void *key, size_t n)
{
    slot *s = find(x, key, n, hash_key(key, n));
    if (!s)
        return 0;
    x->garbage += 4 + n;
    s->hash = 1;
    x->live--;
    return 1;
}

size_t ice_index_count(const ice_index *x) { return x->live; }

int ice_index_each(const ice_index *x, int (*fn)(ice_loc loc, void *arg), void *arg)
{
    for (size_t i = 0; i < x->cap; i++)
        if (x->slots[i].hash >= 2) {
            int rc = fn(x->slots[i].loc, arg);
            if (rc)
                return rc;
        }
    return 0;
}

void ice_index_clear(ice_index *x)
{
    free(x->slots);
    x->slots = NULL;
    x->cap = x->used = x->live = 0;
    sl_buf_reset(&x->pool);
    x->garbage = 0;
}
