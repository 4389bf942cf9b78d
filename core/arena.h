/* arena.h — per-batch bump allocator.
 *
 * Everything an event batch needs (events, row arrays, copied bytes) comes
 * from the batch's arena and is released in one call when the sink has
 * committed the batch. Blocks grow geometrically up to a cap; a request
 * larger than the cap gets a block of its own, so one huge BLOB does not
 * inflate every later block. An arena given a block pool takes its big
 * growth blocks from the pool and gives them back there (block_pool.h says
 * why batches need that).
 */
#ifndef SL_ARENA_H
#define SL_ARENA_H

#include <stddef.h>

#include "block_pool.h"

typedef struct sl_arena_block sl_arena_block;

typedef struct sl_arena {
    sl_arena_block *head;
    size_t used_bytes;     /* bytes handed out */
    size_t reserved_bytes; /* bytes obtained from malloc */
    size_t next_block;
    sl_block_pool *pool;   /* NULL: every block from malloc */
} sl_arena;

void sl_arena_init(sl_arena *a);
/* Like sl_arena_init; blocks of SL_ARENA_POOLED_MIN bytes and more come from
 * pool (which must outlive the arena). */
void sl_arena_init_pooled(sl_arena *a, sl_block_pool *pool);
enum { SL_ARENA_POOLED_MIN = 128 * 1024 };
/* Under AddressSanitizer every block comes from malloc: its quarantine is
 * what finds a use of a batch after its free, and a recycled block would
 * hide one. */
#if defined(__SANITIZE_ADDRESS__)
#define SL_ARENA_USES_POOL 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SL_ARENA_USES_POOL 0
#endif
#endif
#ifndef SL_ARENA_USES_POOL
#define SL_ARENA_USES_POOL 1
#endif
void *sl_arena_alloc(sl_arena *a, size_t size); /* 16-byte aligned, NULL only on OOM */
void *sl_arena_memdup(sl_arena *a, const void *p, size_t size);
char *sl_arena_strdup(sl_arena *a, const char *s);
char *sl_arena_strndup(sl_arena *a, const char *s, size_t n);
/* keeps the first block for reuse, frees the rest */
void sl_arena_reset(sl_arena *a);
/* frees every block; the arena stays usable, with the same pool */
void sl_arena_free(sl_arena *a);

#endif
