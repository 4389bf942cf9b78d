/* pq_reader.h — reads back the Parquet files the writer (parquet.h) writes,
 * for checks of what sluice wrote (`sluice migrate` verification of the
 * iceberg sink) and for tests.
 *
 * What it reads: the writer's repertoire — a flat schema of primitive
 * columns and 3-level LISTs of primitives, PLAIN and RLE_DICTIONARY (or
 * PLAIN_DICTIONARY) values, RLE levels, data pages v1 and v2, zstd /
 * snappy / uncompressed — and RLE booleans, which pyarrow writes in pages
 * v2 (files of other writers sit in the tables sluice reads back). Anything else (INT96, nested
 * groups, DELTA_* encodings, other codecs) is refused with a message
 * naming it, never guessed at.
 *
 * How: the footer is parsed at open; a row group at a time is read (one
 * pread per column chunk) and decoded into per-column arrays of levels
 * and values; byte values point into the decoded pages, valid until the
 * next row group is loaded or the reader is closed. Memory is about one
 * decoded row group. */
#ifndef SL_PQ_READER_H
#define SL_PQ_READER_H

#include <stdint.h>

#include "../../core/err.h"

typedef struct sl_pq_rcolumn {
    char *name;         /* top-level name */
    int32_t field_id;   /* -1 when the file has none */
    int physical;       /* SL_PQ_BOOLEAN .. SL_PQ_FIXED (of the element for a list) */
    int32_t length;     /* FIXED length */
    int nullable;       /* the value (for a list: the list) may be null */
    int is_list;
    int element_nullable;
    int32_t element_id;
    int max_def, max_rep;
} sl_pq_rcolumn;

/* one non-null value: i (BOOLEAN, INT32 sign-extended, INT64), d (FLOAT,
 * DOUBLE), p/n (BYTE_ARRAY, FIXED) */
typedef struct sl_pq_rvalue {
    int64_t i;
    double d;
    const uint8_t *p;
    uint32_t n;
} sl_pq_rvalue;

typedef struct sl_pq_reader sl_pq_reader;

int sl_pq_reader_open(const char *path, sl_pq_reader **out, sl_err *err);
void sl_pq_reader_close(sl_pq_reader *r);
int sl_pq_reader_ncols(const sl_pq_reader *r);
const sl_pq_rcolumn *sl_pq_reader_column(const sl_pq_reader *r, int col);
/* the column with field id id, or -1 */
int sl_pq_reader_find(const sl_pq_reader *r, int32_t id);
int64_t sl_pq_reader_num_rows(const sl_pq_reader *r);
int sl_pq_reader_num_row_groups(const sl_pq_reader *r);

/* decodes row group g; returns its row count (>= 0) or an error (< 0) */
int64_t sl_pq_reader_load(sl_pq_reader *r, int g, sl_err *err);
/* flat columns: row of the loaded row group; NULL when the value is null */
const sl_pq_rvalue *sl_pq_reader_value(const sl_pq_reader *r, int col, int64_t row);
/* list columns: -1 for a null list, else the element count; element k of
 * the row is sl_pq_reader_element(r, col, row, k) (NULL: null element) */
int64_t sl_pq_reader_list_len(const sl_pq_reader *r, int col, int64_t row);
const sl_pq_rvalue *sl_pq_reader_element(const sl_pq_reader *r, int col, int64_t row, int64_t k);

#endif
