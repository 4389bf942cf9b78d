/* avro_writer.c — the object container writer: header (magic, metadata map
 * with the schema JSON as given, sync marker), then blocks of datums
 * (count, byte size, data, sync marker). */
#include "avro.h"

#include <jansson.h>
#include <stdlib.h>
#include <sys/random.h>

#include "avro_codec.h"

#define BLOCK_BYTES (64 * 1024)

struct sl_avro_writer {
    sl_wfile *file;
    int codec;
    uint8_t sync[16];
    sl_buf datums, block;
    int64_t in_block, count;
};

static void put_meta(sl_buf *b, const char *key, const char *value)
{
    sl_avro_put_cstr(b, key);
    sl_avro_put_cstr(b, value); /* metadata values are bytes; ours are text */
}

int sl_avro_open(sl_avro_writer **out, sl_wfile *f, const char *schema_json, const sl_avro_meta *meta,
                 int nmeta, int codec, sl_err *err)
{
    *out = NULL;
    json_error_t jerr;
    json_t *j = json_loads(schema_json, JSON_DECODE_ANY, &jerr);
    if (!j) {
        sl_wfile_abort(f);
        return sl_errf(err, SL_ECONFIG, "avro: the schema is not JSON: %s at %d:%d", jerr.text, jerr.line,
                       jerr.column);
    }
    json_decref(j);
    if (codec != SL_AVRO_CODEC_NULL && codec != SL_AVRO_CODEC_DEFLATE) {
        sl_wfile_abort(f);
        return sl_errf(err, SL_ECONFIG, "avro: unknown codec %d", codec);
    }
    for (int i = 0; i < nmeta; i++)
        if (strncmp(meta[i].key, "avro.", 5) == 0) {
            sl_wfile_abort(f);
            return sl_errf(err, SL_ECONFIG, "avro: metadata key %s is reserved", meta[i].key);
        }
    sl_avro_writer *w = calloc(1, sizeof *w);
    if (!w) {
        sl_wfile_abort(f);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    w->file = f;
    w->codec = codec;
    if (getrandom(w->sync, sizeof w->sync, 0) != (ssize_t)sizeof w->sync) {
        /* the marker only has to be unlikely inside the data */
        for (size_t i = 0; i < sizeof w->sync; i++)
            w->sync[i] = (uint8_t)(rand() >> 7);
    }
    sl_buf h;
    sl_buf_init(&h);
    sl_buf_add(&h, "Obj\x01", 4);
    sl_avro_put_block(&h, nmeta + 2);
    put_meta(&h, "avro.schema", schema_json);
    put_meta(&h, "avro.codec", codec == SL_AVRO_CODEC_DEFLATE ? "deflate" : "null");
    for (int i = 0; i < nmeta; i++)
        put_meta(&h, meta[i].key, meta[i].value);
    sl_avro_put_block(&h, 0);
    sl_buf_add(&h, w->sync, sizeof w->sync);
    int rc = h.failed ? sl_errf(err, SL_ERUNTIME, "out of memory") : sl_wfile_write(f, h.data, h.len, err);
    sl_buf_free(&h);
    if (rc) {
        sl_avro_abort(w);
        return rc;
    }
    *out = w;
    return 0;
}

sl_buf *sl_avro_datum(sl_avro_writer *w) { return &w->datums; }
int64_t sl_avro_count(const sl_avro_writer *w) { return w->count; }

static int flush_block(sl_avro_writer *w, sl_err *err)
{
    if (!w->in_block)
        return 0;
    if (w->datums.failed)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    const sl_buf *data = &w->datums;
    sl_buf_reset(&w->block);
    if (w->codec == SL_AVRO_CODEC_DEFLATE) {
        sl_buf comp;
        sl_buf_init(&comp);
        if (sl_avro_deflate(w->datums.data, w->datums.len, &comp, err)) {
            sl_buf_free(&comp);
            return SL_ERUNTIME;
        }
        sl_avro_put_long(&w->block, w->in_block);
        sl_avro_put_long(&w->block, (int64_t)comp.len);
        sl_buf_put(&w->block, comp.data, comp.len);
        sl_buf_free(&comp);
    } else {
        sl_avro_put_long(&w->block, w->in_block);
        sl_avro_put_long(&w->block, (int64_t)data->len);
        sl_buf_put(&w->block, data->data, data->len);
    }
    sl_buf_add(&w->block, w->sync, sizeof w->sync);
    if (w->block.failed)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    if (sl_wfile_write(w->file, w->block.data, w->block.len, err))
        return SL_ERUNTIME;
    sl_buf_reset(&w->datums);
    w->in_block = 0;
    return 0;
}

int sl_avro_end_datum(sl_avro_writer *w, sl_err *err)
{
    w->in_block++;
    w->count++;
    return w->datums.len >= BLOCK_BYTES ? flush_block(w, err) : 0;
}

static void writer_free(sl_avro_writer *w)
{
    sl_buf_free(&w->datums);
    sl_buf_free(&w->block);
    free(w);
}

int sl_avro_close(sl_avro_writer *w, uint64_t *size, sl_err *err)
{
    if (flush_block(w, err)) {
        sl_avro_abort(w);
        return SL_ERUNTIME;
    }
    uint64_t n = w->file->offset;
    sl_wfile *f = w->file;
    writer_free(w);
    int rc = sl_wfile_close(f, err);
    if (rc == 0 && size)
        *size = n;
    return rc;
}

void sl_avro_abort(sl_avro_writer *w)
{
    if (!w)
        return;
    sl_wfile_abort(w->file);
    writer_free(w);
}
