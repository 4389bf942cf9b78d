/* payload_event.c — MySQL 8's TRANSACTION_PAYLOAD_EVENT (type 40,
 * binlog_transaction_compression=ON, 8.0.20+): the events of one
 * transaction (BEGIN, TABLE_MAP, ROWS, XID; the GTID event stays outside)
 * compressed together into one event. This file reads the event's header
 * and hands out the events inside one at a time, each in the form the
 * stream reader meets outside (a 19-byte common header, then the body);
 * mysql_stream.c handles them like outer events.
 *
 * Layout from MySQL's libs/mysql/binlog/event: codecs/binary.cpp
 * (Transaction_payload::decode) and codecs/binary.h (its field codes),
 * compression/base.h (type: ZSTD = 0, NONE = 255),
 * compression/payload_event_buffer_istream.cpp (how the server reads the
 * events back, with max_log_event_size as the bound of one event). The
 * header is a sequence of fields <type><length><value>, each a
 * net_field_length number, ended by type 0: 1 payload size, 2 compression
 * type, 3 uncompressed size (informational); unknown types are skipped by
 * their length. The payload (payload size bytes) follows the end mark.
 * The events inside carry no CRC32: the server compresses the transaction
 * cache, whose events get their checksums only when copied into the
 * binlog file; the payload event itself carries one (stripped by the
 * reader).
 *
 * Memory: one inner event at a time is inflated into the reader's buffer,
 * which grows with the bytes actually inflated, and no event may exceed
 * the reader's limit (the stream passes SL_MYSQL_PAYLOAD_EVENT_MAX, the
 * server's own max_log_event_size), so a hostile or damaged payload is an
 * error naming the limit, not an exhausted machine. An event claiming to
 * contain another payload event is refused (a payload cannot nest). */
#include <inttypes.h>
#include <zstd.h>

#include "binlog_decode.h"

enum { HDR = 19, OTW_END = 0, OTW_PAYLOAD_SIZE = 1, OTW_COMPRESSION = 2, OTW_UNCOMPRESSED_SIZE = 3 };

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

int sl_mysql_payload_header(const uint8_t *body, size_t len, sl_mysql_payload_info *info, sl_err *err)
{
    const uint8_t *p = body, *end = body + len;
    int have_size = 0, have_type = 0;
    *info = (sl_mysql_payload_info){.compression = -1};
    for (;;) {
        uint64_t type, flen, v;
        if (sl_mysql_netlen(&p, end, &type))
            return sl_errf(err, SL_ERUNTIME, "compressed transaction: its header ends without an end mark");
        if (type == OTW_END)
            break;
        if (sl_mysql_netlen(&p, end, &flen))
            return sl_errf(err, SL_ERUNTIME, "compressed transaction: its header is cut short");
        if (type == OTW_PAYLOAD_SIZE || type == OTW_COMPRESSION || type == OTW_UNCOMPRESSED_SIZE) {
            if (sl_mysql_netlen(&p, end, &v))
                return sl_errf(err, SL_ERUNTIME, "compressed transaction: its header is cut short");
            if (type == OTW_PAYLOAD_SIZE)
                info->payload_size = v, have_size = 1;
            else if (type == OTW_COMPRESSION)
                info->compression = v > 255 ? 256 : (int)v, have_type = 1;
            else
                info->uncompressed_size = v;
        } else {
            if (flen > (uint64_t)(end - p))
                return sl_errf(err, SL_ERUNTIME, "compressed transaction: its header is cut short");
            p += flen;
        }
    }
    if (!have_size || !have_type)
        return sl_errf(err, SL_ERUNTIME, "compressed transaction: its header lacks the %s",
                       have_size ? "compression type" : "payload size");
    if (info->payload_size > (uint64_t)(end - p))
        return sl_errf(err, SL_ERUNTIME,
                       "compressed transaction: its header claims %" PRIu64 " bytes of payload, the event holds %zu",
                       info->payload_size, (size_t)(end - p));
    if (info->compression != SL_MYSQL_PAYLOAD_ZSTD && info->compression != SL_MYSQL_PAYLOAD_NONE)
        return sl_errf(err, SL_ECONFIG,
                       "compressed transaction with compression type %d, which sluice cannot decode (it reads "
                       "zstd = 0 and none = 255, the types MySQL 8.0 to 9 write); fix: SET GLOBAL "
                       "binlog_transaction_compression = OFF; and binlog_transaction_compression=OFF in my.cnf "
                       "[mysqld], then resume from a position after the compressed transactions or snapshot again",
                       info->compression);
    info->payload = p;
    return 0;
}

void sl_mysql_payload_init(sl_mysql_payload_reader *r, size_t limit)
{
    *r = (sl_mysql_payload_reader){.limit = limit};
    sl_buf_init(&r->buf);
}

void sl_mysql_payload_free(sl_mysql_payload_reader *r)
{
    ZSTD_freeDCtx(r->dctx);
    sl_buf_free(&r->buf);
    r->dctx = NULL;
}

int sl_mysql_payload_open(sl_mysql_payload_reader *r, const uint8_t *body, size_t len, sl_err *err)
{
    int rc = sl_mysql_payload_header(body, len, &r->info, err);
    if (rc)
        return rc;
    r->in = r->info.payload;
    r->in_len = (size_t)r->info.payload_size;
    r->in_pos = 0;
    r->frame_done = 1;
    r->inflated = 0;
    r->nevents = 0;
    if (r->info.compression == SL_MYSQL_PAYLOAD_ZSTD) {
        if (!r->dctx && !(r->dctx = ZSTD_createDCtx()))
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        ZSTD_DCtx_reset(r->dctx, ZSTD_reset_session_only);
        r->frame_done = 0;
    }
    return 0;
}

/* Inflates until the buffer holds want bytes or the payload has no more:
 * the buffer grows with what arrives (doubling, from 64 KiB), never
 * beyond want, which the caller has bounded. */
static int pull(sl_mysql_payload_reader *r, size_t want, sl_err *err)
{
    while (r->buf.len < want) {
        if (r->in_pos == r->in_len && r->frame_done)
            return 0;
        size_t room = r->buf.len < 65536 ? 65536 : r->buf.len;
        if (room > want - r->buf.len)
            room = want - r->buf.len;
        if (r->buf.cap - r->buf.len < room && sl_buf_reserve(&r->buf, room))
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        ZSTD_outBuffer out = {r->buf.data, r->buf.len + room, r->buf.len};
        ZSTD_inBuffer in = {r->in, r->in_len, r->in_pos};
        size_t z = ZSTD_decompressStream(r->dctx, &out, &in);
        if (ZSTD_isError(z))
            return sl_errf(err, SL_ERUNTIME, "compressed transaction is damaged (zstd: %s)", ZSTD_getErrorName(z));
        r->inflated += out.pos - r->buf.len;
        r->buf.len = out.pos;
        r->in_pos = in.pos;
        r->frame_done = z == 0;
        /* all input taken and room left over: zstd has nothing more */
        if (r->in_pos == r->in_len && out.pos < out.size) {
            if (!r->frame_done)
                return sl_errf(err, SL_ERUNTIME,
                               "compressed transaction is cut short: its zstd stream ends after %" PRIu64 " bytes",
                               r->inflated);
            return 0;
        }
    }
    return 0;
}

int sl_mysql_payload_next(sl_mysql_payload_reader *r, const uint8_t **ev, size_t *evlen, sl_err *err)
{
    const uint8_t *e;
    size_t avail;
    if (r->info.compression == SL_MYSQL_PAYLOAD_NONE) {
        e = r->in + r->in_pos;
        avail = r->in_len - r->in_pos;
    } else {
        sl_buf_reset(&r->buf);
        int rc = pull(r, HDR, err);
        if (rc)
            return rc;
        e = (const uint8_t *)r->buf.data;
        avail = r->buf.len;
    }
    if (avail == 0)
        return 0;
    if (avail < HDR)
        return sl_errf(err, SL_ERUNTIME, "compressed transaction is cut short inside the header of event %u",
                       r->nevents + 1);
    uint32_t n = rd32(e + 9); /* event length, header included */
    if (e[4] == SL_MYSQL_TRANSACTION_PAYLOAD_EVENT)
        return sl_errf(err, SL_ERUNTIME, "compressed transaction contains a compressed transaction (event %u)",
                       r->nevents + 1);
    if (n < HDR)
        return sl_errf(err, SL_ERUNTIME, "compressed transaction: event %u claims %" PRIu32 " bytes, less than its header",
                       r->nevents + 1, n);
    if (n > r->limit)
        return sl_errf(err, SL_ERUNTIME,
                       "compressed transaction: event %u claims %" PRIu32 " bytes, more than the limit of %zu bytes "
                       "of one event (the server's max_log_event_size)",
                       r->nevents + 1, n, r->limit);
    if (r->info.compression == SL_MYSQL_PAYLOAD_NONE) {
        if (n > avail)
            return sl_errf(err, SL_ERUNTIME,
                           "compressed transaction is cut short: event %u claims %" PRIu32 " bytes, %zu are left",
                           r->nevents + 1, n, avail);
        r->in_pos += n;
    } else {
        int rc = pull(r, n, err);
        if (rc)
            return rc;
        if (r->buf.len < n)
            return sl_errf(err, SL_ERUNTIME,
                           "compressed transaction is cut short: event %u claims %" PRIu32 " bytes, %zu are left",
                           r->nevents + 1, n, r->buf.len);
        e = (const uint8_t *)r->buf.data;
    }
    r->nevents++;
    *ev = e;
    *evlen = n;
    return 1;
}
