/* pq_codec.c — libzstd and libsnappy (Debian's) behind one call. */
#include "pq_codec.h"

#include <snappy-c.h>
#include <zstd.h>

#include "../bytes.h"
#include "parquet.h"

int sl_pq_codec_init(sl_pq_codec *c, int codec, int level, sl_err *err)
{
    c->codec = codec;
    c->level = level;
    c->zctx = NULL;
    if (codec == SL_PQ_ZSTD) {
        c->zctx = ZSTD_createCCtx();
        if (!c->zctx)
            return sl_errf(err, SL_ERUNTIME, "parquet: cannot create a zstd context");
    } else if (codec != SL_PQ_SNAPPY && codec != SL_PQ_UNCOMPRESSED) {
        return sl_errf(err, SL_ECONFIG, "parquet: unknown compression codec %d", codec);
    }
    return 0;
}

void sl_pq_codec_free(sl_pq_codec *c)
{
    if (c->zctx)
        ZSTD_freeCCtx(c->zctx);
    c->zctx = NULL;
}

int sl_pq_compress(sl_pq_codec *c, const void *src, size_t n, sl_buf *out, sl_err *err)
{
    switch (c->codec) {
    case SL_PQ_UNCOMPRESSED:
        sl_buf_put(out, src, n);
        break;
    case SL_PQ_ZSTD: {
        size_t bound = ZSTD_compressBound(n);
        if (sl_buf_reserve(out, bound))
            break;
        size_t r = ZSTD_compressCCtx(c->zctx, out->data + out->len, bound, src, n, c->level);
        if (ZSTD_isError(r))
            return sl_errf(err, SL_ERUNTIME, "parquet: zstd: %s", ZSTD_getErrorName(r));
        out->len += r;
        break;
    }
    case SL_PQ_SNAPPY: {
        size_t bound = snappy_max_compressed_length(n);
        if (sl_buf_reserve(out, bound))
            break;
        if (snappy_compress(src, n, out->data + out->len, &bound) != SNAPPY_OK)
            return sl_errf(err, SL_ERUNTIME, "parquet: snappy compression failed");
        out->len += bound;
        break;
    }
    }
    if (out->failed)
        return sl_errf(err, SL_ERUNTIME, "parquet: out of memory");
    return 0;
}

int sl_pq_decompress(int codec, const void *src, size_t n, size_t uncompressed_len, sl_buf *out,
                     sl_err *err)
{
    if (sl_buf_reserve(out, uncompressed_len + 1))
        return sl_errf(err, SL_ERUNTIME, "parquet: out of memory");
    switch (codec) {
    case SL_PQ_UNCOMPRESSED:
        if (n != uncompressed_len)
            return sl_errf(err, SL_ERUNTIME, "parquet: page sizes disagree");
        sl_buf_put(out, src, n);
        return 0;
    case SL_PQ_ZSTD: {
        size_t r = ZSTD_decompress(out->data + out->len, uncompressed_len, src, n);
        if (ZSTD_isError(r) || r != uncompressed_len)
            return sl_errf(err, SL_ERUNTIME, "parquet: zstd: %s",
                           ZSTD_isError(r) ? ZSTD_getErrorName(r) : "wrong length");
        out->len += r;
        return 0;
    }
    case SL_PQ_SNAPPY: {
        size_t r = uncompressed_len;
        if (snappy_uncompress(src, n, out->data + out->len, &r) != SNAPPY_OK || r != uncompressed_len)
            return sl_errf(err, SL_ERUNTIME, "parquet: snappy: corrupt page");
        out->len += r;
        return 0;
    }
    }
    return sl_errf(err, SL_ERUNTIME, "parquet: unknown codec %d", codec);
}
