/* event_compress.c — MariaDB's compressed binlog events
 * (log_bin_compress=ON): QUERY_COMPRESSED_EVENT carries its statement text,
 * and the *_ROWS_COMPRESSED_EVENT(_V1) kinds their row data after the
 * column bitmaps, in one format (MariaDB sql/log_event.cc,
 * binlog_buf_compress): a header byte 0x80 | n, the uncompressed length in
 * the next n (1..4) bytes, most significant first, then a zlib stream.
 * Only events whose payload reaches log_bin_compress_min_len are
 * compressed; the others keep their plain kinds. */
#include <zlib.h>

#include "binlog_decode.h"

/* Nothing the server writes is larger (max_allowed_packet is at most 1 GiB). */
enum { MAX_UNCOMPRESSED = 1 << 30 };

int sl_mysql_uncompress(const uint8_t *p, size_t len, sl_buf *out, sl_err *err)
{
    if (len < 1 || !(p[0] & 0x80))
        return sl_errf(err, SL_ERUNTIME, "compressed event without its header byte");
    size_t n = p[0] & 7;
    if (n < 1 || n > 4 || len < 1 + n)
        return sl_errf(err, SL_ERUNTIME, "compressed event with a length of %zu bytes", n);
    uint64_t want = 0;
    for (size_t i = 0; i < n; i++)
        want = want << 8 | p[1 + i];
    if (want > MAX_UNCOMPRESSED)
        return sl_errf(err, SL_ERUNTIME, "compressed event claims %llu bytes", (unsigned long long)want);
    sl_buf_reset(out);
    if (sl_buf_reserve(out, (size_t)want + 1))
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    uLongf got = (uLongf)want;
    int zrc = uncompress((Bytef *)out->data, &got, p + 1 + n, (uLong)(len - 1 - n));
    if (zrc != Z_OK)
        return sl_errf(err, SL_ERUNTIME, "compressed event is damaged or longer than its header says (zlib error %d)",
                       zrc);
    if (got != want)
        return sl_errf(err, SL_ERUNTIME, "compressed event inflates to %lu bytes, not the %llu its header says",
                       (unsigned long)got, (unsigned long long)want);
    out->len = (size_t)want;
    return 0;
}
