/* pgoutput.c — bounds-checked reads of pgoutput messages (see pgoutput.h).
 * Every integer is big-endian; a truncated message sets r->bad instead of
 * reading past the buffer, so a damaged stream is an error, not a crash. */
#include "pgoutput.h"

#include <string.h>

void sl_pgo_init(sl_pgo_reader *r, const void *data, size_t len)
{
    r->p = data;
    r->end = r->p + len;
    r->bad = 0;
}

static int need(sl_pgo_reader *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = 1;
        return 0;
    }
    return 1;
}

uint8_t sl_pgo_u8(sl_pgo_reader *r) { return need(r, 1) ? *r->p++ : 0; }

uint16_t sl_pgo_u16(sl_pgo_reader *r)
{
    if (!need(r, 2))
        return 0;
    uint16_t v = (uint16_t)(r->p[0] << 8 | r->p[1]);
    r->p += 2;
    return v;
}

uint32_t sl_pgo_u32(sl_pgo_reader *r)
{
    if (!need(r, 4))
        return 0;
    uint32_t v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 | r->p[3];
    r->p += 4;
    return v;
}

uint64_t sl_pgo_u64(sl_pgo_reader *r)
{
    uint64_t hi = sl_pgo_u32(r);
    return hi << 32 | sl_pgo_u32(r);
}

const char *sl_pgo_str(sl_pgo_reader *r)
{
    if (r->bad)
        return "";
    const uint8_t *z = memchr(r->p, 0, (size_t)(r->end - r->p));
    if (!z) {
        r->bad = 1;
        return "";
    }
    const char *s = (const char *)r->p;
    r->p = z + 1;
    return s;
}

int sl_pgo_tuple_read(sl_pgo_reader *r, sl_pgo_tuple *t)
{
    int n = sl_pgo_u16(r);
    if (r->bad || n > t->cap)
        return -1;
    t->ncols = n;
    for (int i = 0; i < n; i++) {
        sl_pgo_col *c = &t->cols[i];
        c->kind = (char)sl_pgo_u8(r);
        c->len = 0;
        c->data = NULL;
        if (c->kind == 't' || c->kind == 'b') {
            c->len = sl_pgo_u32(r);
            if (!need(r, c->len))
                return -1;
            c->data = (const char *)r->p;
            r->p += c->len;
        } else if (c->kind != 'n' && c->kind != 'u') {
            r->bad = 1;
        }
        if (r->bad)
            return -1;
    }
    return 0;
}

int sl_pgo_relation_read(sl_pgo_reader *r, int streamed, uint32_t *xid, sl_pgo_relation *rel)
{
    if (streamed)
        *xid = sl_pgo_u32(r);
    rel->relid = sl_pgo_u32(r);
    rel->nspname = sl_pgo_str(r);
    rel->relname = sl_pgo_str(r);
    rel->replident = (char)sl_pgo_u8(r);
    int n = sl_pgo_u16(r);
    if (r->bad || n > rel->cap)
        return -1;
    rel->ncols = n;
    for (int i = 0; i < n; i++) {
        rel->cols[i].flags = sl_pgo_u8(r);
        rel->cols[i].name = sl_pgo_str(r);
        rel->cols[i].type_oid = sl_pgo_u32(r);
        rel->cols[i].typmod = (int32_t)sl_pgo_u32(r);
    }
    return r->bad ? -1 : 0;
}

int sl_pgo_change_read(sl_pgo_reader *r, char type, int streamed, uint32_t *xid, sl_pgo_change *c)
{
    if (streamed)
        *xid = sl_pgo_u32(r);
    c->relid = sl_pgo_u32(r);
    c->old_kind = 0;
    c->old_tuple.ncols = c->new_tuple.ncols = 0;
    char tag = (char)sl_pgo_u8(r);
    if (r->bad)
        return -1;
    switch (type) {
    case 'I':
        if (tag != 'N')
            return -1;
        return sl_pgo_tuple_read(r, &c->new_tuple);
    case 'U':
        if (tag == 'K' || tag == 'O') {
            c->old_kind = tag;
            if (sl_pgo_tuple_read(r, &c->old_tuple))
                return -1;
            tag = (char)sl_pgo_u8(r);
        }
        if (tag != 'N')
            return -1;
        return sl_pgo_tuple_read(r, &c->new_tuple);
    case 'D':
        if (tag != 'K' && tag != 'O')
            return -1;
        c->old_kind = tag;
        return sl_pgo_tuple_read(r, &c->old_tuple);
    default:
        return -1;
    }
}
