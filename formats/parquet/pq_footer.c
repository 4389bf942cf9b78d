/* pq_footer.c — the Thrift structures of parquet.thrift that the writer
 * emits: PageHeader, the schema (SchemaElement with field_id, logical and
 * converted types, the 3-level LIST), ColumnChunk/ColumnMetaData with
 * Statistics, RowGroup and FileMetaData with column_orders. Field ids are
 * parquet.thrift's. */
#include "pq_internal.h"

#include <string.h>

#include "../bytes.h"

enum { REP_REQUIRED = 0, REP_OPTIONAL = 1, REP_REPEATED = 2 };
enum {
    CT_UTF8 = 0,
    CT_LIST = 3,
    CT_ENUM = 4,
    CT_DECIMAL = 5,
    CT_DATE = 6,
    CT_TIME_MICROS = 8,
    CT_TIMESTAMP_MICROS = 10,
    CT_UINT_8 = 11,
    CT_INT_8 = 15,
    CT_JSON = 19,
};

void sl_pq_page_header(sl_buf *out, int page_type, int32_t uncompressed, int32_t compressed,
                       int32_t num_values, int encoding, int32_t num_nulls, int32_t num_rows,
                       int32_t def_len, int32_t rep_len, int compressed_flag)
{
    sl_tc t;
    sl_tc_init(&t, out);
    sl_tc_field_i32(&t, 1, page_type);
    sl_tc_field_i32(&t, 2, uncompressed);
    sl_tc_field_i32(&t, 3, compressed);
    if (page_type == SL_PQ_PAGE_DATA) {
        sl_tc_field_struct(&t, 5); /* DataPageHeader */
        sl_tc_field_i32(&t, 1, num_values);
        sl_tc_field_i32(&t, 2, encoding);
        sl_tc_field_i32(&t, 3, SL_PQ_ENC_RLE);
        sl_tc_field_i32(&t, 4, SL_PQ_ENC_RLE);
        sl_tc_end(&t);
    } else if (page_type == SL_PQ_PAGE_DICT) {
        sl_tc_field_struct(&t, 7); /* DictionaryPageHeader */
        sl_tc_field_i32(&t, 1, num_values);
        sl_tc_field_i32(&t, 2, encoding);
        sl_tc_end(&t);
    } else {
        sl_tc_field_struct(&t, 8); /* DataPageHeaderV2 */
        sl_tc_field_i32(&t, 1, num_values);
        sl_tc_field_i32(&t, 2, num_nulls);
        sl_tc_field_i32(&t, 3, num_rows);
        sl_tc_field_i32(&t, 4, encoding);
        sl_tc_field_i32(&t, 5, def_len);
        sl_tc_field_i32(&t, 6, rep_len);
        sl_tc_field_bool(&t, 7, compressed_flag);
        sl_tc_end(&t);
    }
    sl_tc_end(&t);
}

static int converted_type(const sl_pq_type *ty)
{
    switch (ty->logical) {
    case SL_PQ_LT_STRING:
        return CT_UTF8;
    case SL_PQ_LT_JSON:
        return CT_JSON;
    case SL_PQ_LT_ENUM:
        return CT_ENUM;
    case SL_PQ_LT_DATE:
        return CT_DATE;
    case SL_PQ_LT_TIME_MICROS:
        return CT_TIME_MICROS; /* also for local time, as LogicalTypes.md asks */
    case SL_PQ_LT_TIMESTAMP_MICROS:
        return CT_TIMESTAMP_MICROS;
    case SL_PQ_LT_DECIMAL:
        return CT_DECIMAL;
    case SL_PQ_LT_INT: {
        int k = ty->bit_width == 8 ? 0 : ty->bit_width == 16 ? 1 : ty->bit_width == 32 ? 2 : 3;
        return (ty->is_signed ? CT_INT_8 : CT_UINT_8) + k;
    }
    default:
        return -1; /* UUID and plain types have none */
    }
}

static void empty_struct(sl_tc *t, int16_t id)
{
    sl_tc_field_struct(t, id);
    sl_tc_end(t);
}

static void logical_type(sl_tc *t, const sl_pq_type *ty)
{
    if (ty->logical == SL_PQ_LT_NONE)
        return;
    sl_tc_field_struct(t, 10); /* LogicalType union */
    switch (ty->logical) {
    case SL_PQ_LT_STRING:
        empty_struct(t, 1);
        break;
    case SL_PQ_LT_ENUM:
        empty_struct(t, 4);
        break;
    case SL_PQ_LT_DECIMAL:
        sl_tc_field_struct(t, 5);
        sl_tc_field_i32(t, 1, ty->scale);
        sl_tc_field_i32(t, 2, ty->precision);
        sl_tc_end(t);
        break;
    case SL_PQ_LT_DATE:
        empty_struct(t, 6);
        break;
    case SL_PQ_LT_TIME_MICROS:
    case SL_PQ_LT_TIMESTAMP_MICROS:
        sl_tc_field_struct(t, ty->logical == SL_PQ_LT_TIME_MICROS ? 7 : 8);
        sl_tc_field_bool(t, 1, ty->utc);
        sl_tc_field_struct(t, 2); /* TimeUnit union */
        empty_struct(t, 2);       /* MICROS */
        sl_tc_end(t);
        sl_tc_end(t);
        break;
    case SL_PQ_LT_INT:
        sl_tc_field_struct(t, 10);
        sl_tc_field_i8(t, 1, (int8_t)ty->bit_width);
        sl_tc_field_bool(t, 2, ty->is_signed);
        sl_tc_end(t);
        break;
    case SL_PQ_LT_JSON:
        empty_struct(t, 12);
        break;
    case SL_PQ_LT_UUID:
        empty_struct(t, 14);
        break;
    }
    sl_tc_end(t);
}

static void leaf_element(sl_tc *t, const sl_pq_type *ty, int repetition, const char *name, int32_t field_id)
{
    sl_tc_struct(t);
    sl_tc_field_i32(t, 1, ty->physical);
    if (ty->physical == SL_PQ_FIXED)
        sl_tc_field_i32(t, 2, ty->length);
    sl_tc_field_i32(t, 3, repetition);
    sl_tc_field_string(t, 4, name);
    int ct = converted_type(ty);
    if (ct >= 0)
        sl_tc_field_i32(t, 6, ct);
    if (ty->logical == SL_PQ_LT_DECIMAL) {
        sl_tc_field_i32(t, 7, ty->scale);
        sl_tc_field_i32(t, 8, ty->precision);
    }
    if (field_id >= 0)
        sl_tc_field_i32(t, 9, field_id);
    logical_type(t, ty);
    sl_tc_end(t);
}

static void schema(sl_pq_writer *w, sl_tc *t)
{
    int n = 1;
    for (int i = 0; i < w->ncols; i++)
        n += w->cols[i].def.is_list ? 3 : 1;
    sl_tc_field_list(t, 2, SL_TC_STRUCT, (uint32_t)n);
    sl_tc_struct(t); /* root */
    sl_tc_field_string(t, 4, "schema");
    sl_tc_field_i32(t, 5, w->ncols);
    sl_tc_end(t);
    for (int i = 0; i < w->ncols; i++) {
        const sl_pq_column *d = &w->cols[i].def;
        int rep = d->nullable ? REP_OPTIONAL : REP_REQUIRED;
        if (!d->is_list) {
            leaf_element(t, &d->type, rep, d->name, d->field_id);
            continue;
        }
        sl_tc_struct(t); /* <name> (LIST) */
        sl_tc_field_i32(t, 3, rep);
        sl_tc_field_string(t, 4, d->name);
        sl_tc_field_i32(t, 5, 1);
        sl_tc_field_i32(t, 6, CT_LIST);
        if (d->field_id >= 0)
            sl_tc_field_i32(t, 9, d->field_id);
        sl_tc_field_struct(t, 10);
        empty_struct(t, 3); /* ListType */
        sl_tc_end(t);
        sl_tc_end(t);
        sl_tc_struct(t); /* repeated group list */
        sl_tc_field_i32(t, 3, REP_REPEATED);
        sl_tc_field_string(t, 4, "list");
        sl_tc_field_i32(t, 5, 1);
        sl_tc_end(t);
        leaf_element(t, &d->type, d->element_nullable ? REP_OPTIONAL : REP_REQUIRED, "element",
                     d->element_id);
    }
}

void sl_pq_footer_column_chunk(sl_pq_writer *w, sl_pq_col *c, sl_tc *t, int64_t chunk_start,
                               int64_t dict_off, int64_t data_off, int64_t compressed,
                               int64_t uncompressed)
{
    sl_tc_struct(t); /* ColumnChunk */
    sl_tc_field_i64(t, 2, chunk_start);
    sl_tc_field_struct(t, 3); /* ColumnMetaData */
    sl_tc_field_i32(t, 1, c->def.type.physical);
    int levels = c->max_def || c->max_rep;
    int dict = c->n_dict_pages > 0;
    int plain = c->n_plain_pages > 0 || dict; /* the dictionary page is PLAIN */
    sl_tc_field_list(t, 2, SL_TC_I32, (uint32_t)(plain + levels + dict));
    if (plain)
        sl_tc_i32(t, SL_PQ_ENC_PLAIN);
    if (levels)
        sl_tc_i32(t, SL_PQ_ENC_RLE);
    if (dict)
        sl_tc_i32(t, SL_PQ_ENC_RLE_DICTIONARY);
    sl_tc_field_list(t, 3, SL_TC_BINARY, c->def.is_list ? 3 : 1);
    sl_tc_binary(t, c->def.name, strlen(c->def.name));
    if (c->def.is_list) {
        sl_tc_binary(t, "list", 4);
        sl_tc_binary(t, "element", 7);
    }
    sl_tc_field_i32(t, 4, w->codec.codec);
    sl_tc_field_i64(t, 5, c->chunk_levels);
    sl_tc_field_i64(t, 6, uncompressed);
    sl_tc_field_i64(t, 7, compressed);
    sl_tc_field_i64(t, 9, data_off);
    if (dict_off >= 0)
        sl_tc_field_i64(t, 11, dict_off);

    sl_tc_field_struct(t, 12); /* Statistics */
    sl_tc_field_i64(t, 3, c->chunk_nulls);
    if (c->chunk_mm.has) {
        sl_buf min, max;
        sl_buf_init(&min);
        sl_buf_init(&max);
        sl_pq_mm_encode(&c->chunk_mm, &min, &max);
        sl_tc_field_binary(t, 5, max.data ? max.data : "", max.len);
        sl_tc_field_binary(t, 6, min.data ? min.data : "", min.len);
        sl_tc_field_bool(t, 7, c->chunk_mm.max_exact);
        sl_tc_field_bool(t, 8, c->chunk_mm.min_exact);
        sl_buf_free(&min);
        sl_buf_free(&max);
    }
    if (c->order == SL_PQ_ORD_FLOAT)
        sl_tc_field_i64(t, 9, c->chunk_mm.nan_count);
    sl_tc_end(t);

    /* encoding_stats: lets readers see whether every data page is
     * dictionary-encoded */
    int nstats = dict + (c->n_dict_pages > 0) + (c->n_plain_pages > 0);
    sl_tc_field_list(t, 13, SL_TC_STRUCT, (uint32_t)nstats);
    if (dict) {
        sl_tc_struct(t);
        sl_tc_field_i32(t, 1, SL_PQ_PAGE_DICT);
        sl_tc_field_i32(t, 2, SL_PQ_ENC_PLAIN);
        sl_tc_field_i32(t, 3, 1);
        sl_tc_end(t);
        sl_tc_struct(t);
        sl_tc_field_i32(t, 1, w->opt.page_version == 2 ? SL_PQ_PAGE_DATA_V2 : SL_PQ_PAGE_DATA);
        sl_tc_field_i32(t, 2, SL_PQ_ENC_RLE_DICTIONARY);
        sl_tc_field_i32(t, 3, c->n_dict_pages);
        sl_tc_end(t);
    }
    if (c->n_plain_pages) {
        sl_tc_struct(t);
        sl_tc_field_i32(t, 1, w->opt.page_version == 2 ? SL_PQ_PAGE_DATA_V2 : SL_PQ_PAGE_DATA);
        sl_tc_field_i32(t, 2, SL_PQ_ENC_PLAIN);
        sl_tc_field_i32(t, 3, c->n_plain_pages);
        sl_tc_end(t);
    }
    sl_tc_end(t); /* ColumnMetaData */
    sl_tc_end(t); /* ColumnChunk */
}

int sl_pq_footer_encode(sl_pq_writer *w, sl_buf *out)
{
    sl_tc t;
    sl_tc_init(&t, out);
    sl_tc_field_i32(&t, 1, 1); /* version */
    schema(w, &t);
    sl_tc_field_i64(&t, 3, w->rows);
    sl_tc_field_list(&t, 4, SL_TC_STRUCT, (uint32_t)w->n_row_groups);
    sl_buf_put(out, w->rg_meta.data, w->rg_meta.len); /* RowGroup elements, encoded at each cut */
    t.last[0] = 4;
    if (w->nkv) {
        sl_tc_field_list(&t, 5, SL_TC_STRUCT, (uint32_t)w->nkv);
        for (int i = 0; i < w->nkv; i++) {
            sl_tc_struct(&t);
            sl_tc_field_string(&t, 1, w->kv[i].key);
            sl_tc_field_string(&t, 2, w->kv[i].value);
            sl_tc_end(&t);
        }
    }
    sl_tc_field_string(&t, 6, w->created_by);
    sl_tc_field_list(&t, 7, SL_TC_STRUCT, (uint32_t)w->ncols);
    for (int i = 0; i < w->ncols; i++) {
        sl_tc_struct(&t); /* ColumnOrder union */
        empty_struct(&t, 1); /* TYPE_ORDER */
        sl_tc_end(&t);
    }
    sl_tc_end(&t);
    return out->failed || t.overflow ? -1 : 0;
}
