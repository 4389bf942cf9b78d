/* arena.h — per-batch bump allocator.
 *
 * Everything an event batch needs (events, row arrays, copied bytes) comes
 * from the batch's arena and is released in one call when the sink has
 * committed the batch. Blocks grow geometrically up to a cap; a request
 * larger than the cap gets a block of its own, so one huge BLOB does not
 * inflate every later block.
 */
#ifndef SL_ARENA_H
#define SL_ARENA_H

#include <stddef.h>

typedef struct sl_arena_block sl_arena_block;

typedef struct sl_arena {
    sl_arena_block *head;
    size_t used_bytes;     /* bytes handed out */
    size_t reserved_bytes; /* bytes obtained from malloc */
    size_t next_block;
} sl_arena;

void sl_arena_init(sl_arena *a);
void *sl_arena_alloc(sl_arena *a, size_t size); /* 16-byte aligned, NULL only on OOM */
void *sl_arena_memdup(sl_arena *a, const void *p, size_t size);
char *sl_arena_strdup(sl_arena *a, const char *s);
char *sl_arena_strndup(sl_arena *a, const char *s, size_t n);
/* keeps the first block for reuse, frees the rest */
void sl_arena_reset(sl_arena *a);
void sl_arena_free(sl_arena *a);

#endif
