/* pq_writer.c — a Parquet file's life: open (schema checks, "PAR1"), row
 * group cuts (every column chunk to the file, the RowGroup footer struct
 * kept encoded), close (footer, length, "PAR1", the per-column results) and
 * abort. */
#include "pq_internal.h"

#include <stdlib.h>
#include <string.h>

#include "../bytes.h"

void sl_pq_options_default(sl_pq_options *o)
{
    memset(o, 0, sizeof *o);
    o->codec = SL_PQ_ZSTD;
    o->zstd_level = 3;
    o->page_version = 1;
    o->page_size = 1 << 20;
    o->dict_limit = 1 << 20;
    o->row_group_size = 64u << 20;
    o->stats_max_len = 64;
    o->created_by = "sluice";
}

static void writer_free(sl_pq_writer *w)
{
    for (int i = 0; i < w->ncols; i++)
        sl_pq_col_free(&w->cols[i]);
    free(w->cols);
    for (int i = 0; i < w->nkv; i++) {
        free((char *)w->kv[i].key);
        free((char *)w->kv[i].value);
    }
    free(w->kv);
    free(w->created_by);
    free(w->rg_offsets);
    sl_pq_codec_free(&w->codec);
    sl_buf_free(&w->rg_meta);
    sl_buf_free(&w->body);
    sl_buf_free(&w->lvl);
    sl_buf_free(&w->comp);
    sl_buf_free(&w->hdr);
    free(w);
}

int sl_pq_open(sl_pq_writer **out, sl_wfile *f, const sl_pq_column *cols, int ncols,
               const sl_pq_options *opt, sl_err *err)
{
    *out = NULL;
    const uint16_t probe = 1;
    if (*(const uint8_t *)&probe != 1) {
        sl_wfile_abort(f);
        return sl_errf(err, SL_ECONFIG, "parquet: this writer needs a little-endian host");
    }
    if (ncols <= 0) {
        sl_wfile_abort(f);
        return sl_errf(err, SL_ECONFIG, "parquet: a file needs at least one column");
    }
    for (int i = 0; i < ncols; i++) {
        if (sl_pq_check_column(&cols[i], i, err)) {
            sl_wfile_abort(f);
            return SL_ECONFIG;
        }
        for (int j = 0; j < i; j++)
            if (strcmp(cols[i].name, cols[j].name) == 0) {
                sl_wfile_abort(f);
                return sl_errf(err, SL_ECONFIG, "parquet: two columns named \"%s\"", cols[i].name);
            }
    }
    sl_pq_writer *w = calloc(1, sizeof *w);
    if (!w) {
        sl_wfile_abort(f);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    w->file = f;
    if (opt)
        w->opt = *opt;
    else
        sl_pq_options_default(&w->opt);
    if (w->opt.page_version != 1 && w->opt.page_version != 2)
        w->opt.page_version = 1;
    if (!w->opt.page_size)
        w->opt.page_size = 1 << 20;
    if (!w->opt.row_group_size)
        w->opt.row_group_size = 64u << 20;
    int rc = sl_pq_codec_init(&w->codec, w->opt.codec, w->opt.zstd_level, err);
    if (rc)
        goto fail;
    rc = SL_ERUNTIME;
    w->created_by = strdup(w->opt.created_by ? w->opt.created_by : "sluice");
    w->cols = calloc((size_t)ncols, sizeof *w->cols);
    w->kv = w->opt.nkv > 0 ? calloc((size_t)w->opt.nkv, sizeof *w->kv) : NULL;
    if (!w->created_by || !w->cols || (w->opt.nkv > 0 && !w->kv)) {
        sl_errf(err, rc, "out of memory");
        goto fail;
    }
    for (int i = 0; i < w->opt.nkv; i++) {
        w->kv[i].key = strdup(w->opt.kv[i].key ? w->opt.kv[i].key : "");
        w->kv[i].value = strdup(w->opt.kv[i].value ? w->opt.kv[i].value : "");
        w->nkv++;
        if (!w->kv[i].key || !w->kv[i].value) {
            sl_errf(err, rc, "out of memory");
            goto fail;
        }
    }
    w->opt.kv = NULL;
    w->opt.created_by = NULL;
    for (int i = 0; i < ncols; i++) {
        w->ncols++;
        if ((rc = sl_pq_col_init(w, &w->cols[i], &cols[i], err)))
            goto fail;
    }
    if ((rc = sl_wfile_write(f, "PAR1", 4, err)))
        goto fail;
    *out = w;
    return 0;
fail:
    sl_wfile_abort(f);
    writer_free(w);
    return rc;
}

int sl_pq_cut_row_group(sl_pq_writer *w)
{
    if (w->rg_rows == 0)
        return 0;
    if (w->n_row_groups == w->rg_cap) {
        int cap = w->rg_cap ? w->rg_cap * 2 : 16;
        int64_t *o = realloc(w->rg_offsets, (size_t)cap * sizeof *o);
        if (!o)
            return sl_pq_fail(w, "parquet: out of memory");
        w->rg_offsets = o;
        w->rg_cap = cap;
    }
    int64_t start = (int64_t)w->file->offset, total_c = 0, total_u = 0;
    sl_tc t;
    sl_tc_init(&t, &w->rg_meta);
    sl_tc_struct(&t); /* RowGroup */
    sl_tc_field_list(&t, 1, SL_TC_STRUCT, (uint32_t)w->ncols);
    for (int i = 0; i < w->ncols; i++) {
        int64_t c, u;
        if (sl_pq_col_write_chunk(w, &w->cols[i], &t, &c, &u))
            return SL_ERUNTIME;
        total_c += c;
        total_u += u;
    }
    sl_tc_field_i64(&t, 2, total_u);
    sl_tc_field_i64(&t, 3, w->rg_rows);
    sl_tc_field_i64(&t, 5, start);
    sl_tc_field_i64(&t, 6, total_c);
    sl_tc_field_i16(&t, 7, (int16_t)w->n_row_groups);
    sl_tc_end(&t);
    if (w->rg_meta.failed)
        return sl_pq_fail(w, "parquet: out of memory");
    w->rg_offsets[w->n_row_groups++] = start;
    w->rg_rows = 0;
    return 0;
}

int64_t sl_pq_num_rows(const sl_pq_writer *w) { return w->rows; }

uint64_t sl_pq_size_estimate(const sl_pq_writer *w)
{
    uint64_t n = w->file->offset;
    for (int i = 0; i < w->ncols; i++)
        n += sl_pq_col_chunk_estimate(&w->cols[i]);
    return n;
}

/* the result owns its strings and bounds: one allocation for the struct
 * and arrays, bounds copied after it */
static sl_pq_result *make_result(sl_pq_writer *w, uint64_t size)
{
    size_t bytes = sizeof(sl_pq_result) + (size_t)w->ncols * sizeof(sl_pq_column_stats) +
                   (size_t)w->n_row_groups * sizeof(int64_t);
    sl_buf min, max;
    sl_buf_init(&min);
    sl_buf_init(&max);
    for (int i = 0; i < w->ncols; i++) {
        bytes += strlen(w->cols[i].path) + 1;
        sl_pq_mm_encode(&w->cols[i].file_mm, &min, &max);
    }
    bytes += min.len + max.len;
    char *mem = calloc(1, bytes);
    if (!mem || min.failed || max.failed) {
        free(mem);
        sl_buf_free(&min);
        sl_buf_free(&max);
        return NULL;
    }
    sl_pq_result *r = (sl_pq_result *)(void *)mem;
    sl_pq_column_stats *cs = (sl_pq_column_stats *)(void *)(mem + sizeof *r);
    int64_t *offs = (int64_t *)(void *)(cs + w->ncols);
    char *p = (char *)(offs + w->n_row_groups);
    r->file_size = size;
    r->num_rows = w->rows;
    r->num_row_groups = w->n_row_groups;
    if (w->n_row_groups)
        memcpy(offs, w->rg_offsets, (size_t)w->n_row_groups * sizeof *offs);
    r->row_group_offsets = offs;
    r->ncolumns = w->ncols;
    r->columns = cs;
    for (int i = 0; i < w->ncols; i++) {
        sl_pq_col *c = &w->cols[i];
        sl_buf one_min, one_max;
        sl_buf_init(&one_min);
        sl_buf_init(&one_max);
        sl_pq_mm_encode(&c->file_mm, &one_min, &one_max);
        size_t pl = strlen(c->path) + 1;
        memcpy(p, c->path, pl);
        cs[i].path = p;
        p += pl;
        cs[i].field_id = c->def.is_list ? c->def.element_id : c->def.field_id;
        cs[i].num_values = c->file_levels;
        cs[i].null_count = c->file_nulls;
        cs[i].nan_count = c->file_mm.nan_count;
        cs[i].compressed_size = c->file_compressed;
        cs[i].uncompressed_size = c->file_uncompressed;
        cs[i].has_bounds = c->file_mm.has;
        cs[i].min_exact = c->file_mm.min_exact;
        cs[i].max_exact = c->file_mm.max_exact;
        if (c->file_mm.has) {
            if (one_min.len)
                memcpy(p, one_min.data, one_min.len);
            cs[i].min = (const uint8_t *)p;
            cs[i].min_len = one_min.len;
            p += one_min.len;
            if (one_max.len)
                memcpy(p, one_max.data, one_max.len);
            cs[i].max = (const uint8_t *)p;
            cs[i].max_len = one_max.len;
            p += one_max.len;
        }
        sl_buf_free(&one_min);
        sl_buf_free(&one_max);
    }
    sl_buf_free(&min);
    sl_buf_free(&max);
    return r;
}

void sl_pq_result_free(sl_pq_result *r) { free(r); }

int sl_pq_close(sl_pq_writer *w, sl_pq_result **out, sl_err *err)
{
    if (out)
        *out = NULL;
    int rc = SL_ERUNTIME;
    for (int i = 0; i < w->ncols && !w->failed; i++)
        if (w->cols[i].set || w->cols[i].in_list)
            sl_pq_fail(w, "parquet: column \"%s\": a row was begun and not ended", w->cols[i].path);
    if (w->failed || sl_pq_cut_row_group(w)) {
        *err = w->err;
        goto fail;
    }
    sl_buf footer;
    sl_buf_init(&footer);
    if (sl_pq_footer_encode(w, &footer)) {
        sl_buf_free(&footer);
        sl_errf(err, rc, "parquet: out of memory");
        goto fail;
    }
    sl_buf_le32(&footer, (uint32_t)footer.len);
    sl_buf_add(&footer, "PAR1", 4);
    rc = sl_wfile_write(w->file, footer.data, footer.len, err);
    sl_buf_free(&footer);
    if (rc)
        goto fail;
    uint64_t size = w->file->offset;
    sl_pq_result *r = out ? make_result(w, size) : NULL;
    if (out && !r) {
        rc = sl_errf(err, SL_ERUNTIME, "out of memory");
        goto fail;
    }
    sl_wfile *f = w->file;
    w->file = NULL;
    writer_free(w);
    rc = sl_wfile_close(f, err);
    if (rc) {
        sl_pq_result_free(r);
        return rc;
    }
    if (out)
        *out = r;
    return 0;
fail:
    sl_wfile_abort(w->file);
    writer_free(w);
    return rc;
}

void sl_pq_abort(sl_pq_writer *w)
{
    if (!w)
        return;
    sl_wfile_abort(w->file);
    writer_free(w);
}
