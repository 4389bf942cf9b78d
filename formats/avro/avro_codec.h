/* avro_codec.h — block compression of Avro container files: deflate (raw
 * RFC 1951, what the spec's "deflate" codec means) both ways; snappy (with
 * the spec's trailing big-endian CRC32 of the uncompressed block) and
 * zstandard for reading files other writers made. */
#ifndef SL_AVRO_CODEC_H
#define SL_AVRO_CODEC_H

#include <stddef.h>

#include "../../core/buf.h"
#include "../../core/err.h"

int sl_avro_deflate(const void *src, size_t n, sl_buf *out, sl_err *err);
/* decompresses a block of the named codec ("null", "deflate", "snappy",
 * "zstandard") into out (replacing its contents) */
int sl_avro_inflate_block(const char *codec, size_t codec_len, const void *src, size_t n, sl_buf *out,
                          sl_err *err);

#endif
