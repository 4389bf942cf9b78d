/* pq_codec.h — page compression (zstd, snappy or none), with one zstd
 * context per writer reused for every page. */
#ifndef SL_PQ_CODEC_H
#define SL_PQ_CODEC_H

#include <stddef.h>

#include "../../core/buf.h"
#include "../../core/err.h"

typedef struct sl_pq_codec {
    int codec; /* SL_PQ_UNCOMPRESSED, SL_PQ_SNAPPY, SL_PQ_ZSTD */
    int level;
    void *zctx;
} sl_pq_codec;

int sl_pq_codec_init(sl_pq_codec *c, int codec, int level, sl_err *err);
void sl_pq_codec_free(sl_pq_codec *c);
/* appends the compressed form of src[0..n) to out */
int sl_pq_compress(sl_pq_codec *c, const void *src, size_t n, sl_buf *out, sl_err *err);
/* for tests and reading our files back: appends the decompressed form;
 * uncompressed_len is what the page header says */
int sl_pq_decompress(int codec, const void *src, size_t n, size_t uncompressed_len, sl_buf *out,
                     sl_err *err);

#endif
