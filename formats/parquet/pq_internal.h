/* pq_internal.h — the writer's state, shared by its files: pq_writer.c (the
 * API: schema, values, rows), pq_column.c (pages and column chunks),
 * pq_footer.c (Thrift structures of the footer). Not for users of the
 * writer: they include parquet.h. */
#ifndef SL_PQ_INTERNAL_H
#define SL_PQ_INTERNAL_H

#include <stdint.h>

#include "../../core/buf.h"
#include "../../core/err.h"
#include "parquet.h"
#include "pq_codec.h"
#include "pq_dict.h"
#include "pq_stats.h"
#include "thrift.h"

/* one leaf column */
typedef struct sl_pq_col {
    sl_pq_column def; /* def.name owned */
    char *path;       /* "name" or "name.list.element" */
    int max_def, max_rep;
    int width;        /* PLAIN bytes of a value: 1 (BOOLEAN, packed at flush), 4, 8,
                         FIXED length; 0 for BYTE_ARRAY */
    int order;        /* SL_PQ_ORD_* */
    int dict_ok;      /* the type can be dictionary-encoded */

    /* the current row */
    uint8_t set, in_list;
    uint32_t list_n;

    /* the open page: one byte per level, then values (PLAIN bytes or
     * uint32 dictionary indices) */
    sl_buf def_lv, rep_lv, values;
    uint32_t page_levels, page_rows, page_nulls, page_values;

    /* the open column chunk */
    int use_dict;             /* new values go to the dictionary */
    int64_t dict_values;      /* values dictionary-encoded in this chunk */
    int64_t dict_check_at;    /* when to next ask whether the dictionary pays */
    sl_pq_dict dict;          /* entries of this chunk (written first at the cut) */
    sl_buf pages;             /* finished data pages: header + (compressed) body */
    int64_t chunk_levels, chunk_nulls, chunk_uncompressed;
    int n_dict_pages, n_plain_pages; /* data pages by encoding */
    sl_pq_minmax chunk_mm;

    /* the whole file (for sl_pq_result) */
    sl_pq_minmax file_mm;
    int64_t file_levels, file_nulls, file_compressed, file_uncompressed;
} sl_pq_col;

struct sl_pq_writer {
    sl_wfile *file;
    sl_pq_options opt;
    char *created_by;
    sl_pq_kv *kv; /* keys and values owned */
    int nkv;
    int ncols;
    sl_pq_col *cols;
    sl_pq_codec codec;

    int64_t rows, rg_rows;
    int n_row_groups;
    int64_t *rg_offsets;
    int rg_cap;
    sl_buf rg_meta; /* the RowGroup structs written so far, Thrift-encoded */

    sl_buf body, lvl, comp, hdr; /* page assembly */

    int failed;
    sl_err err; /* the first failure, reported by end_row / close */
};

/* pq_column.c */
int sl_pq_col_init(sl_pq_writer *w, sl_pq_col *c, const sl_pq_column *def, sl_err *err);
void sl_pq_col_free(sl_pq_col *c);
/* encodes the open page into c->pages (nothing when empty) */
int sl_pq_col_flush_page(sl_pq_writer *w, sl_pq_col *c);
/* bytes the open page would take, for cutting pages */
size_t sl_pq_col_page_estimate(const sl_pq_col *c);
/* buffered bytes of the column chunk, for cutting row groups */
size_t sl_pq_col_chunk_estimate(const sl_pq_col *c);
/* stops using the dictionary for the rest of the chunk */
int sl_pq_col_fallback(sl_pq_writer *w, sl_pq_col *c);
/* writes the chunk (dictionary page, data pages) to the file and appends
 * its ColumnChunk struct to w->rg_meta; resets the chunk */
int sl_pq_col_write_chunk(sl_pq_writer *w, sl_pq_col *c, sl_tc *rg, int64_t *compressed,
                          int64_t *uncompressed);

/* pq_writer.c: writes the buffered row group to the file */
int sl_pq_cut_row_group(sl_pq_writer *w);

/* pq_footer.c */
/* one ColumnChunk list element */
void sl_pq_footer_column_chunk(sl_pq_writer *w, sl_pq_col *c, sl_tc *t, int64_t chunk_start,
                               int64_t dict_off, int64_t data_off, int64_t compressed,
                               int64_t uncompressed);
/* the whole FileMetaData into out */
int sl_pq_footer_encode(sl_pq_writer *w, sl_buf *out);
/* the PageHeader of a page into out */
void sl_pq_page_header(sl_buf *out, int page_type, int32_t uncompressed, int32_t compressed,
                       int32_t num_values, int encoding, int32_t num_nulls, int32_t num_rows,
                       int32_t def_len, int32_t rep_len, int compressed_flag);

/* latches the first error (column-named) and returns SL_ERUNTIME */
int sl_pq_fail(sl_pq_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* pq_types.c: is the column one the spec allows */
int sl_pq_check_column(const sl_pq_column *c, int index, sl_err *err);

enum { SL_PQ_PAGE_DATA = 0, SL_PQ_PAGE_DICT = 2, SL_PQ_PAGE_DATA_V2 = 3 };
enum { SL_PQ_ENC_PLAIN = 0, SL_PQ_ENC_RLE = 3, SL_PQ_ENC_RLE_DICTIONARY = 8 };

#endif
