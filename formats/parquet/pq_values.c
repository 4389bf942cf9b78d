/* pq_values.c — values into the open pages: definition and repetition
 * levels, dictionary or PLAIN values, statistics, and the row boundary that
 * decides where pages and row groups are cut. */
#include "pq_internal.h"

#include <stdarg.h>
#include <stdio.h>

#include "../bytes.h"

int sl_pq_fail(sl_pq_writer *w, const char *fmt, ...)
{
    if (!w->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w->err.msg, sizeof w->err.msg, fmt, ap);
        va_end(ap);
        w->failed = 1;
    }
    return SL_ERUNTIME;
}

static const char *physical_name(int p)
{
    static const char *const names[] = {"BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE",
                                        "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
    return p >= 0 && p <= 7 ? names[p] : "?";
}

static sl_pq_col *column(sl_pq_writer *w, int col)
{
    if (w->failed)
        return NULL;
    if (col < 0 || col >= w->ncols) {
        sl_pq_fail(w, "parquet: no column %d (the file has %d)", col, w->ncols);
        return NULL;
    }
    return &w->cols[col];
}

static sl_pq_col *typed(sl_pq_writer *w, int col, int physical)
{
    sl_pq_col *c = column(w, col);
    if (c && c->def.type.physical != physical) {
        sl_pq_fail(w, "parquet: column \"%s\" is %s, given a %s value", c->path,
                   physical_name(c->def.type.physical), physical_name(physical));
        return NULL;
    }
    return c;
}

/* the levels of one entry; also enforces one value per column and row */
static int level(sl_pq_writer *w, sl_pq_col *c, int is_null)
{
    if (c->in_list) {
        if (is_null && !c->def.element_nullable)
            return sl_pq_fail(w, "parquet: column \"%s\": null element in a list of non-null elements",
                              c->path);
        sl_buf_addc(&c->rep_lv, c->list_n ? 1 : 0);
        sl_buf_addc(&c->def_lv, (char)(is_null ? c->max_def - 1 : c->max_def));
        c->list_n++;
    } else {
        if (c->set)
            return sl_pq_fail(w, "parquet: column \"%s\": two values in one row", c->path);
        if (c->def.is_list && !is_null)
            return sl_pq_fail(w, "parquet: column \"%s\" is a list: values go between list_begin and list_end",
                              c->path);
        if (is_null && !c->def.nullable)
            return sl_pq_fail(w, "parquet: column \"%s\" is not nullable, given null", c->path);
        if (c->max_rep)
            sl_buf_addc(&c->rep_lv, 0);
        if (c->max_def)
            sl_buf_addc(&c->def_lv, (char)(is_null ? 0 : c->max_def));
        c->set = 1;
    }
    c->page_levels++;
    if (is_null)
        c->page_nulls++;
    return 0;
}

/* a present value's bytes: dictionary index or PLAIN */
static int value(sl_pq_writer *w, sl_pq_col *c, const void *p, size_t n, int *is_new)
{
    c->page_values++;
    if (c->use_dict) {
        c->dict_values++;
        int added;
        int64_t idx = sl_pq_dict_put(&c->dict, p, n, &added);
        if (idx < 0)
            return sl_pq_fail(w, "parquet: out of memory");
        sl_buf_le32(&c->values, (uint32_t)idx);
        *is_new = added;
        return 0;
    }
    if (c->width == 0)
        sl_buf_le32(&c->values, (uint32_t)n);
    sl_buf_put(&c->values, p, n);
    *is_new = 1;
    return 0;
}

int sl_pq_put_null(sl_pq_writer *w, int col)
{
    sl_pq_col *c = column(w, col);
    return c ? level(w, c, 1) : SL_ERUNTIME;
}

int sl_pq_put_bool(sl_pq_writer *w, int col, int v)
{
    sl_pq_col *c = typed(w, col, SL_PQ_BOOLEAN);
    if (!c || level(w, c, 0))
        return SL_ERUNTIME;
    sl_buf_addc(&c->values, v ? 1 : 0); /* bit-packed when the page is cut */
    c->page_values++;
    sl_pq_mm_i64(&c->chunk_mm, v ? 1 : 0);
    return 0;
}

/* statistics of a fixed-width value: in dictionary mode only new entries
 * can move the bounds, but every NaN counts */
static void stat_int(sl_pq_col *c, int is_new, int64_t s, uint64_t u)
{
    if (!is_new)
        return;
    if (c->order == SL_PQ_ORD_UNSIGNED)
        sl_pq_mm_u64(&c->chunk_mm, u);
    else
        sl_pq_mm_i64(&c->chunk_mm, s);
}

static void stat_float(sl_pq_col *c, int is_new, double v)
{
    if (is_new)
        sl_pq_mm_double(&c->chunk_mm, v);
    else if (v != v)
        c->chunk_mm.nan_count++;
}

/* level + value of one fixed-width value of the column's physical type */
static sl_pq_col *put_fixed(sl_pq_writer *w, int col, int physical, const void *p, size_t n, int *is_new)
{
    sl_pq_col *c = typed(w, col, physical);
    if (!c || level(w, c, 0) || value(w, c, p, n, is_new))
        return NULL;
    return c;
}

int sl_pq_put_i32(sl_pq_writer *w, int col, int32_t v)
{
    int is_new;
    sl_pq_col *c = put_fixed(w, col, SL_PQ_INT32, &v, 4, &is_new);
    if (!c)
        return SL_ERUNTIME;
    stat_int(c, is_new, v, (uint32_t)v);
    return 0;
}

int sl_pq_put_i64(sl_pq_writer *w, int col, int64_t v)
{
    sl_pq_col *c = column(w, col);
    if (c && c->def.type.physical == SL_PQ_INT32) {
        int unsig = c->order == SL_PQ_ORD_UNSIGNED;
        if (unsig ? (v < 0 || v > UINT32_MAX) : (v < INT32_MIN || v > INT32_MAX))
            return sl_pq_fail(w, "parquet: column \"%s\": %lld does not fit its 32-bit type", c->path,
                              (long long)v);
        return sl_pq_put_i32(w, col, (int32_t)(uint32_t)v);
    }
    int is_new;
    if (!(c = put_fixed(w, col, SL_PQ_INT64, &v, 8, &is_new)))
        return SL_ERUNTIME;
    stat_int(c, is_new, v, (uint64_t)v);
    return 0;
}

int sl_pq_put_float(sl_pq_writer *w, int col, float v)
{
    int is_new;
    sl_pq_col *c = put_fixed(w, col, SL_PQ_FLOAT, &v, 4, &is_new);
    if (!c)
        return SL_ERUNTIME;
    stat_float(c, is_new, v);
    return 0;
}

int sl_pq_put_double(sl_pq_writer *w, int col, double v)
{
    int is_new;
    sl_pq_col *c = put_fixed(w, col, SL_PQ_DOUBLE, &v, 8, &is_new);
    if (!c)
        return SL_ERUNTIME;
    stat_float(c, is_new, v);
    return 0;
}

static int put_bytes(sl_pq_writer *w, sl_pq_col *c, const void *p, size_t n)
{
    int is_new;
    if (level(w, c, 0) || value(w, c, p, n, &is_new))
        return SL_ERUNTIME;
    if (is_new)
        sl_pq_mm_bytes(&c->chunk_mm, p, n);
    return 0;
}

int sl_pq_put_bytes(sl_pq_writer *w, int col, const void *p, size_t n)
{
    sl_pq_col *c = column(w, col);
    if (!c)
        return SL_ERUNTIME;
    if (c->def.type.physical == SL_PQ_FIXED) {
        if (n != (size_t)c->def.type.length)
            return sl_pq_fail(w, "parquet: column \"%s\" holds %d bytes per value, given %zu", c->path,
                              c->def.type.length, n);
    } else if (!typed(w, col, SL_PQ_BYTE_ARRAY)) {
        return SL_ERUNTIME;
    } else if (n > INT32_MAX) {
        return sl_pq_fail(w, "parquet: column \"%s\": a value of %zu bytes (the limit is 2 GiB)", c->path, n);
    }
    return put_bytes(w, c, p, n);
}

int sl_pq_put_decimal(sl_pq_writer *w, int col, sl_i128 v)
{
    sl_pq_col *c = column(w, col);
    if (!c)
        return SL_ERUNTIME;
    const sl_pq_type *t = &c->def.type;
    if (t->logical != SL_PQ_LT_DECIMAL)
        return sl_pq_fail(w, "parquet: column \"%s\" is not a decimal", c->path);
    sl_i128 lim = 1;
    for (int i = 0; i < t->precision; i++)
        lim *= 10;
    if (v >= lim || v <= -lim) {
        char text[48];
        sl_decimal_format(v, t->scale, text);
        return sl_pq_fail(w, "parquet: column \"%s\": %s does not fit decimal(%d,%d)", c->path, text,
                          t->precision, t->scale);
    }
    if (t->physical == SL_PQ_INT32)
        return sl_pq_put_i32(w, col, (int32_t)v);
    if (t->physical == SL_PQ_INT64)
        return sl_pq_put_i64(w, col, (int64_t)v);
    uint8_t be[16];
    sl_decimal_to_be(v, be, t->length);
    return put_bytes(w, c, be, (size_t)t->length);
}

int sl_pq_put_decimal_text(sl_pq_writer *w, int col, const char *s, size_t n)
{
    sl_pq_col *c = column(w, col);
    if (!c)
        return SL_ERUNTIME;
    const sl_pq_type *t = &c->def.type;
    if (t->logical != SL_PQ_LT_DECIMAL)
        return sl_pq_fail(w, "parquet: column \"%s\" is not a decimal", c->path);
    sl_i128 v;
    int rc = sl_decimal_parse(s, n, t->precision, t->scale, &v);
    if (rc) {
        int shown = n > 60 ? 60 : (int)n;
        return sl_pq_fail(w, "parquet: column \"%s\": '%.*s'%s %s decimal(%d,%d)", c->path, shown, s,
                          n > 60 ? "..." : "",
                          rc == SL_DEC_SYNTAX  ? "is not a number that fits"
                          : rc == SL_DEC_SCALE ? "has more fraction digits than"
                                               : "has more digits than",
                          t->precision, t->scale);
    }
    return sl_pq_put_decimal(w, col, v);
}

int sl_pq_list_begin(sl_pq_writer *w, int col)
{
    sl_pq_col *c = column(w, col);
    if (!c)
        return SL_ERUNTIME;
    if (!c->def.is_list)
        return sl_pq_fail(w, "parquet: column \"%s\" is not a list", c->path);
    if (c->set || c->in_list)
        return sl_pq_fail(w, "parquet: column \"%s\": two values in one row", c->path);
    c->in_list = 1;
    c->list_n = 0;
    return 0;
}

int sl_pq_list_end(sl_pq_writer *w, int col)
{
    sl_pq_col *c = column(w, col);
    if (!c)
        return SL_ERUNTIME;
    if (!c->in_list)
        return sl_pq_fail(w, "parquet: column \"%s\": list_end without list_begin", c->path);
    c->in_list = 0;
    if (c->list_n == 0) {
        /* an empty list: defined up to the list, no element */
        sl_buf_addc(&c->rep_lv, 0);
        sl_buf_addc(&c->def_lv, (char)(c->def.nullable ? 1 : 0));
        c->page_levels++;
        c->page_nulls++;
    }
    c->set = 1;
    return 0;
}

/* Every 8192 dictionary-encoded values: when more than half of them were
 * new, indices plus dictionary take about as much as PLAIN, and hashing
 * every value only costs time (unique keys, random text), so the chunk goes
 * PLAIN at once instead of filling the dictionary up to its limit. The next
 * row group tries the dictionary again. */
static int dict_does_not_pay(sl_pq_col *c)
{
    if (c->dict_values < c->dict_check_at)
        return 0;
    c->dict_check_at = c->dict_values + 8192;
    return (int64_t)c->dict.count * 2 > c->dict_values;
}

int sl_pq_end_row(sl_pq_writer *w, sl_err *err)
{
    if (w->failed)
        goto failed;
    size_t rg = 0;
    for (int i = 0; i < w->ncols; i++) {
        sl_pq_col *c = &w->cols[i];
        if (!c->set) {
            sl_pq_fail(w, c->in_list ? "parquet: column \"%s\": list not ended at the end of the row"
                                     : "parquet: column \"%s\": no value in this row",
                       c->path);
            goto failed;
        }
        c->set = 0;
        c->page_rows++;
        if (c->use_dict && (c->dict.page.len > w->opt.dict_limit || dict_does_not_pay(c))) {
            if (sl_pq_col_fallback(w, c))
                goto failed;
        } else if (c->page_levels >= w->opt.page_size || sl_pq_col_page_estimate(c) >= w->opt.page_size) {
            if (sl_pq_col_flush_page(w, c))
                goto failed;
        }
        rg += sl_pq_col_chunk_estimate(c);
        if (c->values.failed || c->def_lv.failed || c->rep_lv.failed) {
            sl_pq_fail(w, "parquet: out of memory");
            goto failed;
        }
    }
    w->rows++;
    w->rg_rows++;
    if (rg >= w->opt.row_group_size || (w->opt.row_group_rows > 0 && w->rg_rows >= w->opt.row_group_rows))
        if (sl_pq_cut_row_group(w))
            goto failed;
    return 0;
failed:
    if (err)
        *err = w->err;
    return SL_ERUNTIME;
}
