/* pq_column.c — one column's pages and column chunks: levels and values of
 * the open page become a data page (levels RLE, values PLAIN or dictionary
 * indices), finished pages wait in memory until the row group is cut, then
 * the chunk goes to the file as dictionary page + data pages. */
#include "pq_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bytes.h"
#include "rle.h"

static int physical_width(const sl_pq_type *t)
{
    switch (t->physical) {
    case SL_PQ_BOOLEAN:
        return 1;
    case SL_PQ_INT32:
    case SL_PQ_FLOAT:
        return 4;
    case SL_PQ_INT64:
    case SL_PQ_DOUBLE:
        return 8;
    case SL_PQ_FIXED:
        return t->length;
    default:
        return 0;
    }
}

static int sort_order(const sl_pq_type *t)
{
    switch (t->physical) {
    case SL_PQ_INT32:
    case SL_PQ_INT64:
        return t->logical == SL_PQ_LT_INT && !t->is_signed ? SL_PQ_ORD_UNSIGNED : SL_PQ_ORD_SIGNED;
    case SL_PQ_FLOAT:
    case SL_PQ_DOUBLE:
        return SL_PQ_ORD_FLOAT;
    case SL_PQ_BYTE_ARRAY:
        return SL_PQ_ORD_BYTES;
    case SL_PQ_FIXED:
        return t->logical == SL_PQ_LT_DECIMAL ? SL_PQ_ORD_SIGNED_BYTES : SL_PQ_ORD_BYTES;
    default:
        return SL_PQ_ORD_SIGNED; /* BOOLEAN: false < true */
    }
}

int sl_pq_col_init(sl_pq_writer *w, sl_pq_col *c, const sl_pq_column *def, sl_err *err)
{
    memset(c, 0, sizeof *c);
    c->def = *def;
    c->def.name = strdup(def->name);
    size_t plen = strlen(def->name) + sizeof ".list.element";
    c->path = malloc(plen);
    if (!c->def.name || !c->path)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    snprintf(c->path, plen, "%s%s", def->name, def->is_list ? ".list.element" : "");
    c->max_def = (def->nullable ? 1 : 0) + (def->is_list ? 1 + (def->element_nullable ? 1 : 0) : 0);
    c->max_rep = def->is_list ? 1 : 0;
    c->width = physical_width(&def->type);
    c->order = sort_order(&def->type);
    c->dict_ok = def->type.physical != SL_PQ_BOOLEAN;
    c->use_dict = c->dict_ok && w->opt.dict_limit > 0;
    c->dict_check_at = 8192;
    int utf8 = def->type.logical == SL_PQ_LT_STRING || def->type.logical == SL_PQ_LT_JSON ||
               def->type.logical == SL_PQ_LT_ENUM;
    sl_pq_mm_init(&c->chunk_mm, def->type.physical, c->order, utf8, w->opt.stats_max_len);
    sl_pq_mm_init(&c->file_mm, def->type.physical, c->order, utf8, w->opt.stats_max_len);
    sl_pq_dict_init(&c->dict, def->type.physical == SL_PQ_BYTE_ARRAY ? 0 : c->width);
    return 0;
}

void sl_pq_col_free(sl_pq_col *c)
{
    free((char *)c->def.name);
    free(c->path);
    sl_buf_free(&c->def_lv);
    sl_buf_free(&c->rep_lv);
    sl_buf_free(&c->values);
    sl_buf_free(&c->pages);
    sl_pq_dict_free(&c->dict);
    sl_pq_mm_free(&c->chunk_mm);
    sl_pq_mm_free(&c->file_mm);
}

static int dict_bit_width(const sl_pq_col *c)
{
    int bw = sl_bit_width(c->dict.count ? c->dict.count - 1 : 0);
    return bw ? bw : 1;
}

size_t sl_pq_col_page_estimate(const sl_pq_col *c)
{
    size_t v;
    if (c->use_dict)
        v = ((size_t)c->page_values * (size_t)dict_bit_width(c) + 7) / 8;
    else if (c->def.type.physical == SL_PQ_BOOLEAN)
        v = c->values.len / 8;
    else
        v = c->values.len;
    /* levels count too: a column of nulls must still cut pages */
    return v + (c->def_lv.len + c->rep_lv.len) / 8;
}

size_t sl_pq_col_chunk_estimate(const sl_pq_col *c)
{
    return c->pages.len + sl_pq_col_page_estimate(c) + (c->n_dict_pages || c->use_dict ? c->dict.page.len : 0);
}

/* v1: [rep: le32 len + RLE][def: le32 len + RLE]; v2: bare RLE, lengths in
 * the header */
static void put_levels(sl_buf *out, const sl_buf *lv, int max_level, int prefixed, int32_t *len)
{
    size_t at = out->len;
    if (prefixed)
        sl_buf_le32(out, 0);
    size_t start = out->len;
    sl_rle_encode_u8(out, (const uint8_t *)lv->data, lv->len, sl_bit_width((uint64_t)max_level));
    *len = (int32_t)(out->len - start);
    if (prefixed && !out->failed) {
        uint32_t n = (uint32_t)*len;
        memcpy(out->data + at, &n, 4);
    }
}

static void put_bools(sl_buf *out, const uint8_t *v, size_t n)
{
    size_t bytes = (n + 7) / 8;
    if (sl_buf_reserve(out, bytes))
        return;
    uint8_t *p = (uint8_t *)out->data + out->len;
    memset(p, 0, bytes);
    for (size_t i = 0; i < n; i++)
        p[i >> 3] |= (uint8_t)((v[i] & 1) << (i & 7));
    out->len += bytes;
}

int sl_pq_col_flush_page(sl_pq_writer *w, sl_pq_col *c)
{
    if (!c->page_levels)
        return 0;
    int v2 = w->opt.page_version == 2;
    int dict_page = c->use_dict && c->page_values > 0;
    sl_buf *body = &w->body, *lvl = &w->lvl, *comp = &w->comp, *hdr = &w->hdr;
    sl_buf_reset(body);
    sl_buf_reset(lvl);
    sl_buf_reset(comp);
    sl_buf_reset(hdr);

    int32_t rep_len = 0, def_len = 0;
    sl_buf *lv_out = v2 ? lvl : body;
    if (c->max_rep)
        put_levels(lv_out, &c->rep_lv, c->max_rep, !v2, &rep_len);
    if (c->max_def)
        put_levels(lv_out, &c->def_lv, c->max_def, !v2, &def_len);

    if (dict_page) {
        int bw = dict_bit_width(c);
        sl_buf_addc(body, (char)bw);
        sl_rle_encode_u32(body, (const uint32_t *)(const void *)c->values.data, c->page_values, bw);
    } else if (c->def.type.physical == SL_PQ_BOOLEAN) {
        put_bools(body, (const uint8_t *)c->values.data, c->values.len);
    } else {
        sl_buf_put(body, c->values.data, c->values.len);
    }
    if (body->failed || lvl->failed)
        return sl_pq_fail(w, "parquet: out of memory");
    if (body->len + lvl->len > INT32_MAX)
        return sl_pq_fail(w, "parquet: column \"%s\": a page over 2 GiB (one value too large)", c->path);
    if (sl_pq_compress(&w->codec, body->data, body->len, comp, &w->err)) {
        w->failed = 1;
        return SL_ERUNTIME;
    }
    if (comp->len + lvl->len > INT32_MAX)
        return sl_pq_fail(w, "parquet: column \"%s\": a page over 2 GiB", c->path);
    int32_t uncompressed = (int32_t)(lvl->len + body->len), compressed = (int32_t)(lvl->len + comp->len);
    sl_pq_page_header(hdr, v2 ? SL_PQ_PAGE_DATA_V2 : SL_PQ_PAGE_DATA, uncompressed, compressed,
                      (int32_t)c->page_levels, dict_page ? SL_PQ_ENC_RLE_DICTIONARY : SL_PQ_ENC_PLAIN,
                      (int32_t)c->page_nulls, (int32_t)c->page_rows, def_len, rep_len,
                      w->codec.codec != SL_PQ_UNCOMPRESSED);
    sl_buf_put(&c->pages, hdr->data, hdr->len);
    sl_buf_put(&c->pages, lvl->data, lvl->len);
    sl_buf_put(&c->pages, comp->data, comp->len);
    if (c->pages.failed || hdr->failed)
        return sl_pq_fail(w, "parquet: out of memory");

    c->chunk_uncompressed += (int64_t)hdr->len + uncompressed;
    c->chunk_levels += c->page_levels;
    c->chunk_nulls += c->page_nulls;
    if (dict_page)
        c->n_dict_pages++;
    else
        c->n_plain_pages++;
    sl_buf_reset(&c->def_lv);
    sl_buf_reset(&c->rep_lv);
    sl_buf_reset(&c->values);
    c->page_levels = c->page_rows = c->page_nulls = c->page_values = 0;
    return 0;
}

int sl_pq_col_fallback(sl_pq_writer *w, sl_pq_col *c)
{
    if (sl_pq_col_flush_page(w, c))
        return SL_ERUNTIME;
    c->use_dict = 0;
    return 0;
}

int sl_pq_col_write_chunk(sl_pq_writer *w, sl_pq_col *c, sl_tc *rg, int64_t *compressed,
                          int64_t *uncompressed)
{
    if (sl_pq_col_flush_page(w, c))
        return SL_ERUNTIME;
    int64_t start = (int64_t)w->file->offset, dict_off = -1;
    if (c->n_dict_pages) {
        sl_buf *comp = &w->comp, *hdr = &w->hdr;
        sl_buf_reset(comp);
        sl_buf_reset(hdr);
        if (c->dict.page.len > INT32_MAX)
            return sl_pq_fail(w, "parquet: column \"%s\": dictionary over 2 GiB", c->path);
        if (sl_pq_compress(&w->codec, c->dict.page.data, c->dict.page.len, comp, &w->err)) {
            w->failed = 1;
            return SL_ERUNTIME;
        }
        sl_pq_page_header(hdr, SL_PQ_PAGE_DICT, (int32_t)c->dict.page.len, (int32_t)comp->len,
                          (int32_t)c->dict.count, SL_PQ_ENC_PLAIN, 0, 0, 0, 0, 0);
        if (hdr->failed)
            return sl_pq_fail(w, "parquet: out of memory");
        if (sl_wfile_write(w->file, hdr->data, hdr->len, &w->err) ||
            sl_wfile_write(w->file, comp->data, comp->len, &w->err)) {
            w->failed = 1;
            return SL_ERUNTIME;
        }
        c->chunk_uncompressed += (int64_t)(hdr->len + c->dict.page.len);
        dict_off = start;
    }
    int64_t data_off = (int64_t)w->file->offset;
    if (c->pages.len && sl_wfile_write(w->file, c->pages.data, c->pages.len, &w->err)) {
        w->failed = 1;
        return SL_ERUNTIME;
    }
    int64_t total = (int64_t)w->file->offset - start;
    sl_pq_footer_column_chunk(w, c, rg, start, dict_off, data_off, total, c->chunk_uncompressed);
    *compressed = total;
    *uncompressed = c->chunk_uncompressed;

    sl_pq_mm_merge(&c->file_mm, &c->chunk_mm);
    c->file_levels += c->chunk_levels;
    c->file_nulls += c->chunk_nulls;
    c->file_compressed += total;
    c->file_uncompressed += c->chunk_uncompressed;

    sl_buf_reset(&c->pages);
    sl_pq_dict_reset(&c->dict);
    sl_pq_mm_reset(&c->chunk_mm);
    c->chunk_levels = c->chunk_nulls = c->chunk_uncompressed = 0;
    c->n_dict_pages = c->n_plain_pages = 0;
    c->use_dict = c->dict_ok && w->opt.dict_limit > 0;
    c->dict_values = 0;
    c->dict_check_at = 8192;
    return 0;
}
