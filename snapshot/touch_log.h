/* touch_log.h — which keys the changelog touched recently, and where.
 *
 * A chunk read under a consistent snapshot at position S is exact at S.
 * When it reaches the binlog reader, the reader may already have passed S
 * and emitted newer changes of some of its keys; those rows of the chunk
 * are stale and must be dropped. The touch log remembers, for tables still
 * being snapshotted, the (position, key) of every change the reader
 * emitted, from the oldest position a chunk in flight can still have. If
 * the log had to forget positions a chunk needs (memory cap), the chunk is
 * read again rather than guessed at.
 */
#ifndef SL_TOUCH_LOG_H
#define SL_TOUCH_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "../core/buf.h"
#include "../core/event.h"

typedef struct sl_touch {
    sl_pos pos;
    uint32_t table;
    uint32_t keylen;
    uint64_t keyoff; /* into keys, relative to base_off */
    uint64_t hash;
} sl_touch;

typedef struct sl_touch_log {
    sl_touch *items;
    size_t head, n, cap;    /* live entries are items[head .. head+n) */
    sl_buf keys;
    uint64_t base_off;      /* absolute offset of keys.data[0] */
    size_t max_bytes;
    sl_pos forgotten_below; /* touches below this position may be missing */
    int forgot;
} sl_touch_log;

void sl_touch_log_init(sl_touch_log *t, size_t max_bytes);
void sl_touch_log_free(sl_touch_log *t);
int sl_touch_add(sl_touch_log *t, uint32_t table, sl_pos pos, const void *key, size_t len);
/* Drops entries below pos (no chunk in flight can need them). */
void sl_touch_prune(sl_touch_log *t, sl_pos below);
/* 1 if every touch at or above pos is still known */
int sl_touch_covers(const sl_touch_log *t, sl_pos pos);
/* Calls fn for each touch of table at or above pos. */
void sl_touch_each(const sl_touch_log *t, uint32_t table, sl_pos from,
                   void (*fn)(const void *key, size_t len, uint64_t hash, void *arg), void *arg);

#endif
