/* event.c — batch allocation; every event lives in its batch's arena. */
#include "event.h"

#include <stdlib.h>
#include <string.h>

sl_batch *sl_batch_new(sl_block_pool *pool)
{
    sl_batch *b = calloc(1, sizeof *b);
    if (b)
        sl_arena_init_pooled(&b->arena, pool);
    return b;
}

void sl_batch_free(sl_batch *b)
{
    if (!b)
        return;
    sl_arena_free(&b->arena);
    free(b);
}

size_t sl_batch_bytes(const sl_batch *b) { return sizeof *b + b->arena.reserved_bytes; }

static sl_event *new_event(sl_batch *b, char op, const sl_table_schema *schema)
{
    sl_event *e = sl_arena_alloc(&b->arena, sizeof *e);
    if (e) {
        memset(e, 0, sizeof *e);
        e->op = op;
        e->schema = schema;
    }
    return e;
}

sl_event *sl_batch_add_event(sl_batch *b, char op, const sl_table_schema *schema)
{
    sl_event *e = new_event(b, op, schema);
    if (!e)
        return NULL;
    if (b->tail)
        b->tail->next = e;
    else
        b->head = e;
    b->tail = e;
    b->count++;
    return e;
}

sl_event *sl_batch_prepend_event(sl_batch *b, char op, const sl_table_schema *schema)
{
    sl_event *e = new_event(b, op, schema);
    if (!e)
        return NULL;
    e->next = b->head;
    b->head = e;
    if (!b->tail)
        b->tail = e;
    b->count++;
    if (b->commit_token)
        b->commit_count++;
    return e;
}

sl_value *sl_batch_row(sl_batch *b, int ncols)
{
    size_t n = ncols > 0 ? (size_t)ncols : 1;
    sl_value *row = sl_arena_alloc(&b->arena, n * sizeof *row);
    if (row)
        memset(row, 0, n * sizeof *row);
    return row;
}
