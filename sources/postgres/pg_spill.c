/* pg_spill.c — see pg_spill.h. A record is the message's WAL position
 * (8 bytes), its length (4 bytes, both big-endian) and the message. */
#define SL_LOG_COMPONENT "postgres source"

#include "pg_spill.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/buf.h"
#include "../../core/log.h"

enum { HDR = 12, SPILL_BUF = 1 << 20 };

void sl_pg_spills_init(sl_pg_spills *ss)
{
    memset(ss, 0, sizeof *ss);
    ss->cur = -1;
}

void sl_pg_spills_free(sl_pg_spills *ss)
{
    while (ss->n)
        sl_pg_spill_drop(ss, &ss->items[0]);
    free(ss->items);
    ss->items = NULL;
}

sl_pg_spill *sl_pg_spill_find(sl_pg_spills *ss, uint32_t xid)
{
    for (size_t i = 0; i < ss->n; i++)
        if (ss->items[i].xid == xid)
            return &ss->items[i];
    return NULL;
}

void sl_pg_spill_drop(sl_pg_spills *ss, sl_pg_spill *sp)
{
    if (sp->f)
        fclose(sp->f);
    free(sp->fbuf);
    free(sp->aborted);
    *sp = ss->items[--ss->n];
}

int sl_pg_spill_start(sl_pg_spills *ss, uint32_t xid, sl_err *err)
{
    sl_pg_spill *sp = sl_pg_spill_find(ss, xid);
    if (!sp) {
        sl_pg_spill *n = realloc(ss->items, (ss->n + 1) * sizeof *n);
        if (!n)
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        ss->items = n;
        sp = &ss->items[ss->n];
        memset(sp, 0, sizeof *sp);
        sp->xid = xid;
        sp->f = tmpfile();
        /* large transactions: write and read the spill in big pieces
         * (a buffer of our own: given NULL, glibc keeps its 4 KiB one) */
        sp->fbuf = sp->f ? malloc(SPILL_BUF) : NULL;
        if (sp->fbuf)
            setvbuf(sp->f, sp->fbuf, _IOFBF, SPILL_BUF);
        if (!sp->f)
            return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "cannot create a spill file for streamed transaction "
                           "%u: %s", xid, strerror(errno));
        ss->n++;
    }
    ss->cur = (int)(sp - ss->items);
    return 0;
}

void sl_pg_spill_stop(sl_pg_spills *ss) { ss->cur = -1; }

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

int sl_pg_spill_write(sl_pg_spills *ss, const uint8_t *msg, size_t len, uint64_t wal, sl_err *err)
{
    sl_pg_spill *sp = &ss->items[ss->cur];
    uint8_t hdr[HDR];
    put64(hdr, wal);
    hdr[8] = (uint8_t)(len >> 24);
    hdr[9] = (uint8_t)(len >> 16);
    hdr[10] = (uint8_t)(len >> 8);
    hdr[11] = (uint8_t)len;
    if (fwrite(hdr, 1, sizeof hdr, sp->f) != sizeof hdr || fwrite(msg, 1, len, sp->f) != len)
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "writing the spill file of transaction %u: %s", sp->xid,
                       strerror(errno));
    sp->bytes += len + sizeof hdr;
    return 0;
}

int sl_pg_spill_abort(sl_pg_spills *ss, uint32_t xid, uint32_t sub, sl_err *err)
{
    sl_pg_spill *sp = sl_pg_spill_find(ss, xid);
    if (!sp)
        return 0;
    if (sub == xid) {
        sl_debug("streamed transaction %u rolled back; %" PRIu64 " spilled bytes dropped", xid,
                 sp->bytes);
        sl_pg_spill_drop(ss, sp);
        return 0;
    }
    if (sl_grow((void **)&sp->aborted, &sp->cap, sp->naborted + 1, sizeof *sp->aborted))
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    sp->aborted[sp->naborted++] = sub;
    return 0;
}

int sl_pg_spill_replay(sl_pg_spills *ss, sl_pg_spill *sp, sl_pg_spill_fn fn, void *ctx, sl_err *err)
{
    int rc = 0;
    rewind(sp->f);
    uint8_t hdr[HDR];
    uint8_t *buf = NULL;
    size_t cap = 0;
    while (!rc && fread(hdr, 1, sizeof hdr, sp->f) == sizeof hdr) {
        uint64_t wal = 0;
        for (int i = 0; i < 8; i++)
            wal = wal << 8 | hdr[i];
        size_t len = (size_t)hdr[8] << 24 | (size_t)hdr[9] << 16 | (size_t)hdr[10] << 8 | hdr[11];
        if (len > cap) {
            uint8_t *nb = realloc(buf, len);
            if (!nb) {
                rc = sl_errf(err, SL_ERUNTIME, "out of memory");
                break;
            }
            buf = nb;
            cap = len;
        }
        if (len < 5 || fread(buf, 1, len, sp->f) != len) {
            rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "the spill file of transaction %u is damaged", sp->xid);
            break;
        }
        /* every message of a streamed transaction names its (sub)transaction first */
        uint32_t sub = (uint32_t)buf[1] << 24 | (uint32_t)buf[2] << 16 | (uint32_t)buf[3] << 8 | buf[4];
        int skip = 0;
        for (size_t k = 0; k < sp->naborted && !skip; k++)
            skip = sp->aborted[k] == sub;
        if (!skip)
            rc = fn(ctx, buf, len, wal, err);
    }
    free(buf);
    sl_pg_spill_drop(ss, sp);
    return rc;
}
