/* xa_hold.c — see xa_hold.h. */
#include "xa_hold.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void sl_xa_begin(sl_xa_hold *h, const char *file, uint64_t file_seq, uint64_t pos)
{
    sl_xa_txn_free(&h->cur);
    snprintf(h->cur.file, sizeof h->cur.file, "%s", file);
    h->cur.file_seq = file_seq;
    h->cur.pos = pos;
    h->holding = 1;
}

int sl_xa_keep(sl_xa_hold *h, int type, uint32_t ts, const uint8_t *body, size_t len)
{
    uint8_t hdr[9] = {(uint8_t)type};
    uint32_t n = (uint32_t)len;
    memcpy(hdr + 1, &ts, 4);
    memcpy(hdr + 5, &n, 4);
    sl_buf_add(&h->cur.events, hdr, sizeof hdr);
    sl_buf_add(&h->cur.events, body, len);
    return h->cur.events.failed ? -1 : 0;
}

int sl_xa_prepared(sl_xa_hold *h, const char *xid)
{
    if (sl_grow((void **)&h->pending, &h->cap, h->n + 1, sizeof *h->pending) || !(h->cur.xid = strdup(xid)))
        return -1;
    h->pending[h->n++] = h->cur;
    memset(&h->cur, 0, sizeof h->cur);
    h->holding = 0;
    return 0;
}

sl_xa_txn sl_xa_end_group(sl_xa_hold *h)
{
    sl_xa_txn t = h->cur;
    memset(&h->cur, 0, sizeof h->cur);
    h->holding = 0;
    return t;
}

int sl_xa_take(sl_xa_hold *h, const char *xid, sl_xa_txn *out)
{
    for (size_t i = 0; i < h->n; i++)
        if (!strcasecmp(h->pending[i].xid, xid)) {
            *out = h->pending[i];
            memmove(h->pending + i, h->pending + i + 1, (h->n - i - 1) * sizeof *h->pending);
            h->n--;
            return 1;
        }
    return 0;
}

int sl_xa_next(const sl_xa_txn *t, size_t *off, int *type, uint32_t *ts, const uint8_t **body, size_t *len)
{
    if (*off + 9 > t->events.len)
        return 0;
    const uint8_t *p = (const uint8_t *)t->events.data + *off;
    uint32_t n;
    *type = p[0];
    memcpy(ts, p + 1, 4);
    memcpy(&n, p + 5, 4);
    *body = p + 9;
    *len = n;
    *off += 9 + (size_t)n;
    return 1;
}

const sl_xa_txn *sl_xa_earliest(const sl_xa_hold *h)
{
    const sl_xa_txn *e = NULL;
    for (size_t i = 0; i < h->n; i++) {
        const sl_xa_txn *t = &h->pending[i];
        if (!e || t->file_seq < e->file_seq || (t->file_seq == e->file_seq && t->pos < e->pos))
            e = t;
    }
    return e;
}

void sl_xa_txn_free(sl_xa_txn *t)
{
    free(t->xid);
    sl_buf_free(&t->events);
    memset(t, 0, sizeof *t);
}

void sl_xa_free(sl_xa_hold *h)
{
    for (size_t i = 0; i < h->n; i++)
        sl_xa_txn_free(&h->pending[i]);
    free(h->pending);
    sl_xa_txn_free(&h->cur);
    memset(h, 0, sizeof *h);
}
