/* avro_codec.c — zlib, libsnappy and libzstd (Debian's) for Avro blocks. */
#include "avro_codec.h"

#include <snappy-c.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "../bytes.h"

int sl_avro_deflate(const void *src, size_t n, sl_buf *out, sl_err *err)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return sl_errf(err, SL_ERUNTIME, "avro: cannot start deflate");
    size_t bound = deflateBound(&z, (uLong)n);
    if (sl_buf_reserve(out, bound)) {
        deflateEnd(&z);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    z.next_in = (Bytef *)(uintptr_t)src;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)out->data + out->len;
    z.avail_out = (uInt)bound;
    int rc = deflate(&z, Z_FINISH);
    size_t produced = bound - z.avail_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END)
        return sl_errf(err, SL_ERUNTIME, "avro: deflate failed (%d)", rc);
    out->len += produced;
    return 0;
}

static int inflate_raw(const void *src, size_t n, sl_buf *out, sl_err *err)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -15) != Z_OK)
        return sl_errf(err, SL_ERUNTIME, "avro: cannot start inflate");
    z.next_in = (Bytef *)(uintptr_t)src;
    z.avail_in = (uInt)n;
    int rc;
    do {
        if (sl_buf_reserve(out, n * 2 + 4096)) {
            inflateEnd(&z);
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        }
        z.next_out = (Bytef *)out->data + out->len;
        z.avail_out = (uInt)(out->cap - out->len);
        rc = inflate(&z, Z_NO_FLUSH);
        out->len = out->cap - z.avail_out;
    } while (rc == Z_OK);
    inflateEnd(&z);
    if (rc != Z_STREAM_END)
        return sl_errf(err, SL_ERUNTIME, "avro: corrupt deflate block");
    return 0;
}

int sl_avro_inflate_block(const char *codec, size_t codec_len, const void *src, size_t n, sl_buf *out,
                          sl_err *err)
{
    sl_buf_reset(out);
#define IS(name) (codec_len == sizeof name - 1 && memcmp(codec, name, codec_len) == 0)
    if (codec == NULL || IS("null")) {
        sl_buf_put(out, src, n);
        return out->failed ? sl_errf(err, SL_ERUNTIME, "out of memory") : 0;
    }
    if (IS("deflate"))
        return inflate_raw(src, n, out, err);
    if (IS("snappy")) {
        size_t len;
        if (n < 4 || snappy_uncompressed_length(src, n - 4, &len) != SNAPPY_OK)
            return sl_errf(err, SL_ERUNTIME, "avro: corrupt snappy block");
        if (sl_buf_reserve(out, len + 1))
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        if (snappy_uncompress(src, n - 4, out->data, &len) != SNAPPY_OK)
            return sl_errf(err, SL_ERUNTIME, "avro: corrupt snappy block");
        const uint8_t *c = (const uint8_t *)src + n - 4;
        uint32_t want = (uint32_t)c[0] << 24 | (uint32_t)c[1] << 16 | (uint32_t)c[2] << 8 | c[3];
        if ((uint32_t)crc32(0, (const Bytef *)out->data, (uInt)len) != want)
            return sl_errf(err, SL_ERUNTIME, "avro: snappy block fails its CRC32");
        out->len = len;
        return 0;
    }
    if (IS("zstandard")) {
        unsigned long long len = ZSTD_getFrameContentSize(src, n);
        if (len == ZSTD_CONTENTSIZE_ERROR)
            return sl_errf(err, SL_ERUNTIME, "avro: corrupt zstandard block");
        if (len == ZSTD_CONTENTSIZE_UNKNOWN) {
            /* streamed frame without a size: decompress in steps */
            ZSTD_DStream *ds = ZSTD_createDStream();
            ZSTD_inBuffer in = {src, n, 0};
            size_t r = 1;
            while (ds && r != 0 && !out->failed) {
                if (sl_buf_reserve(out, 1 << 16))
                    break;
                ZSTD_outBuffer o = {out->data + out->len, out->cap - out->len, 0};
                r = ZSTD_decompressStream(ds, &o, &in);
                out->len += o.pos;
                if (ZSTD_isError(r) || (in.pos == in.size && o.pos == 0 && r != 0))
                    break;
            }
            if (ds)
                ZSTD_freeDStream(ds);
            return r == 0 ? 0 : sl_errf(err, SL_ERUNTIME, "avro: corrupt zstandard block");
        }
        if (sl_buf_reserve(out, (size_t)len + 1))
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        size_t r = ZSTD_decompress(out->data, (size_t)len, src, n);
        if (ZSTD_isError(r))
            return sl_errf(err, SL_ERUNTIME, "avro: zstandard: %s", ZSTD_getErrorName(r));
        out->len = r;
        return 0;
    }
    return sl_errf(err, SL_ERUNTIME, "avro: unsupported codec '%.*s'", (int)codec_len, codec);
#undef IS
}
