/* parquet.h — a streaming Parquet file writer (the public API).
 *
 * What it writes: one file, flat schema (top-level columns, each a
 * primitive or a LIST of primitives in the spec's 3-level form), every
 * schema element carrying its field_id; RLE_DICTIONARY pages with a PLAIN
 * dictionary page (falling back to PLAIN pages when the dictionary outgrows
 * its limit), PLAIN for everything else; RLE definition and repetition
 * levels; data page v1 (default) or v2; zstd (default), snappy or no
 * compression; column-chunk statistics (min_value/max_value in the spec's
 * sort order for the type, null_count, nan_count for floats) and
 * column_orders, so readers trust them.
 *
 * How rows go in: for each row, one call per column in any column order
 * (sl_pq_put_* or sl_pq_put_null; for a list column sl_pq_list_begin, its
 * elements, sl_pq_list_end), then sl_pq_end_row. Pages are cut when they
 * reach options.page_size, row groups when the buffered pages reach
 * options.row_group_size (or row_group_rows): memory stays at about one row
 * group of compressed pages plus one open page per column, whatever the
 * file size. Bytes leave through an sl_wfile (wfile.h), so the target can be
 * a local file or, later, object storage.
 *
 * Errors: a put that cannot be honoured (wrong type for the column, a FIXED
 * value of the wrong length, a decimal out of range, two values for one
 * column in a row) returns SL_ERUNTIME and latches the message; the next
 * sl_pq_end_row or sl_pq_close returns it. After any failure the only useful
 * call is sl_pq_abort.
 *
 * Thread safety: a writer is used by one thread at a time; writers share
 * nothing. */
#ifndef SL_PARQUET_H
#define SL_PARQUET_H

#include <stddef.h>
#include <stdint.h>

#include "../../core/err.h"
#include "../decimal.h"
#include "../wfile.h"

/* physical types, numbered as in parquet.thrift (INT96 left out on purpose) */
enum {
    SL_PQ_BOOLEAN = 0,
    SL_PQ_INT32 = 1,
    SL_PQ_INT64 = 2,
    SL_PQ_FLOAT = 4,
    SL_PQ_DOUBLE = 5,
    SL_PQ_BYTE_ARRAY = 6,
    SL_PQ_FIXED = 7, /* FIXED_LEN_BYTE_ARRAY */
};

/* logical type annotations */
enum {
    SL_PQ_LT_NONE = 0,
    SL_PQ_LT_STRING,           /* BYTE_ARRAY, UTF-8 */
    SL_PQ_LT_JSON,             /* BYTE_ARRAY, UTF-8 JSON text */
    SL_PQ_LT_ENUM,             /* BYTE_ARRAY, UTF-8 */
    SL_PQ_LT_UUID,             /* FIXED(16), big-endian bytes */
    SL_PQ_LT_DATE,             /* INT32 days since 1970-01-01 */
    SL_PQ_LT_TIME_MICROS,      /* INT64 microseconds since midnight */
    SL_PQ_LT_TIMESTAMP_MICROS, /* INT64 microseconds since the epoch */
    SL_PQ_LT_DECIMAL,          /* INT32 (p<=9), INT64 (p<=18) or FIXED */
    SL_PQ_LT_INT,              /* INT(bit_width, is_signed) on INT32/INT64 */
};

enum { SL_PQ_UNCOMPRESSED = 0, SL_PQ_SNAPPY = 1, SL_PQ_ZSTD = 6 }; /* parquet.thrift numbers */

typedef struct sl_pq_type {
    uint8_t physical;  /* SL_PQ_BOOLEAN .. SL_PQ_FIXED */
    uint8_t logical;   /* SL_PQ_LT_* */
    uint8_t utc;       /* TIME / TIMESTAMP: isAdjustedToUTC */
    uint8_t bit_width; /* INT: 8, 16, 32, 64 */
    uint8_t is_signed; /* INT */
    int32_t length;    /* FIXED: byte length */
    int32_t precision; /* DECIMAL: 1..38 */
    int32_t scale;     /* DECIMAL: 0..precision */
} sl_pq_type;

/* The types Iceberg maps to Parquet, ready-made (Iceberg spec, "Parquet"). */
sl_pq_type sl_pq_t_bool(void);
sl_pq_type sl_pq_t_int32(void);             /* Iceberg int */
sl_pq_type sl_pq_t_int64(void);             /* Iceberg long */
sl_pq_type sl_pq_t_int(int bits, int is_signed); /* INT(8|16|32|64, signed) */
sl_pq_type sl_pq_t_float(void);
sl_pq_type sl_pq_t_double(void);
sl_pq_type sl_pq_t_string(void);
sl_pq_type sl_pq_t_json(void);
sl_pq_type sl_pq_t_binary(void);
sl_pq_type sl_pq_t_fixed(int32_t length);
sl_pq_type sl_pq_t_uuid(void);
sl_pq_type sl_pq_t_date(void);
sl_pq_type sl_pq_t_time_us(void);           /* isAdjustedToUTC=false, as Iceberg's time */
sl_pq_type sl_pq_t_timestamp_us(int utc);   /* Iceberg timestamp (0) / timestamptz (1) */
/* INT32 for precision <= 9, INT64 for <= 18, else FIXED of the fewest bytes */
sl_pq_type sl_pq_t_decimal(int precision, int scale);

typedef struct sl_pq_column {
    const char *name;   /* copied by sl_pq_open */
    int32_t field_id;   /* Iceberg field id; < 0: none written */
    sl_pq_type type;    /* the value type (for a list: the element type) */
    uint8_t nullable;   /* the value (for a list: the list itself) may be null */
    uint8_t is_list;    /* LIST<type>: name (LIST) / list (repeated) / element */
    uint8_t element_nullable;
    int32_t element_id; /* the list element's field id; < 0: none */
} sl_pq_column;

typedef struct sl_pq_kv {
    const char *key, *value;
} sl_pq_kv;

typedef struct sl_pq_options {
    int codec;             /* SL_PQ_ZSTD (default), SL_PQ_SNAPPY, SL_PQ_UNCOMPRESSED */
    int zstd_level;        /* default 3 */
    int page_version;      /* 1 (default) or 2 */
    size_t page_size;      /* target data page size before compression; default 1 MiB */
    size_t dict_limit;     /* dictionary page size beyond which a column chunk
                              falls back to PLAIN; default 1 MiB; 0: no dictionaries */
    size_t row_group_size; /* cut a row group when its buffered pages reach this
                              (compressed bytes); default 64 MiB */
    int64_t row_group_rows;/* also cut at this many rows; 0 (default): no limit */
    size_t stats_max_len;  /* byte-array min/max longer than this are truncated
                              (min: prefix; max: prefix incremented, still an upper
                              bound and valid UTF-8 for strings); default 64; 0: never */
    const char *created_by;/* default "sluice" */
    const sl_pq_kv *kv;    /* footer key_value_metadata (e.g. iceberg.schema), copied */
    int nkv;
} sl_pq_options;

void sl_pq_options_default(sl_pq_options *o);

typedef struct sl_pq_writer sl_pq_writer;

/* Starts a file on f (the writer owns f from here on, also when open fails:
 * then f is aborted). Validates the schema (names, types, decimal
 * precision for the physical type, FIXED lengths). */
int sl_pq_open(sl_pq_writer **out, sl_wfile *f, const sl_pq_column *cols, int ncols,
               const sl_pq_options *opt, sl_err *err);

/* ---- one row: one value (or one list) per column, then end_row -------- */
int sl_pq_put_null(sl_pq_writer *w, int col);      /* null value, null list or null element */
int sl_pq_put_bool(sl_pq_writer *w, int col, int v);
int sl_pq_put_i32(sl_pq_writer *w, int col, int32_t v);  /* INT32 columns (DATE, INT(8..32)) */
int sl_pq_put_i64(sl_pq_writer *w, int col, int64_t v);  /* INT64 columns (TIME, TIMESTAMP); INT32
                                                           columns too when v fits */
int sl_pq_put_float(sl_pq_writer *w, int col, float v);
int sl_pq_put_double(sl_pq_writer *w, int col, double v);
int sl_pq_put_bytes(sl_pq_writer *w, int col, const void *p, size_t n); /* BYTE_ARRAY; FIXED (n == length) */
int sl_pq_put_decimal(sl_pq_writer *w, int col, sl_i128 unscaled);     /* any DECIMAL column */
/* decimal text (sluice's SL_DECIMAL form), parsed at the column's scale;
 * a value that would round or exceeds the precision is an error */
int sl_pq_put_decimal_text(sl_pq_writer *w, int col, const char *s, size_t n);
int sl_pq_list_begin(sl_pq_writer *w, int col);    /* then 0..n element puts */
int sl_pq_list_end(sl_pq_writer *w, int col);
/* completes the row: every column must have had exactly one value; may
 * cut pages and a row group (writing to the file) */
int sl_pq_end_row(sl_pq_writer *w, sl_err *err);

/* rows completed so far, and the file size if it were closed now (bytes
 * written + buffered pages, before the footer): for rolling files at a
 * target size */
int64_t sl_pq_num_rows(const sl_pq_writer *w);
uint64_t sl_pq_size_estimate(const sl_pq_writer *w);

/* ---- the end ----------------------------------------------------------- */

/* Statistics of one leaf column over the whole file, what an Iceberg
 * data_file entry needs per field id. min/max are the Parquet PLAIN bytes of
 * the value (no length prefix): INT32/DATE 4 bytes LE, INT64/TIME/TIMESTAMP
 * 8 bytes LE, FLOAT/DOUBLE IEEE LE, BOOLEAN 1 byte, BYTE_ARRAY/FIXED the raw
 * bytes (a FIXED decimal: big-endian two's complement; an INT32/INT64
 * decimal: the unscaled value LE — Iceberg's bound is then the big-endian
 * minimal form, see decimal.h). */
typedef struct sl_pq_column_stats {
    const char *path;        /* "name", or "name.list.element" */
    int32_t field_id;        /* the column's id, or the element id for a list */
    int64_t num_values;      /* level entries: values + nulls (a list contributes one
                                per element, one if empty or null) */
    int64_t null_count;      /* entries without a value: null values, null elements,
                                null and empty lists */
    int64_t nan_count;       /* FLOAT/DOUBLE: NaN values (never in min/max) */
    int64_t compressed_size; /* bytes of this column in the file (all pages, headers) */
    int64_t uncompressed_size;
    int has_bounds;          /* 0 when there was no non-null, non-NaN value */
    const uint8_t *min, *max;
    size_t min_len, max_len;
    int min_exact, max_exact;/* 0 when truncated (stats_max_len) */
} sl_pq_column_stats;

/* A DECIMAL column's bound (min or max above) as its unscaled value, for
 * Iceberg's bound form (sl_decimal_to_be_min). Returns -1 when t is not a
 * decimal or n does not fit its physical type. */
int sl_pq_bound_decimal(const sl_pq_type *t, const uint8_t *p, size_t n, sl_i128 *out);

typedef struct sl_pq_result {
    uint64_t file_size;
    int64_t num_rows;
    int num_row_groups;
    const int64_t *row_group_offsets; /* file offset of each row group (Iceberg split_offsets) */
    int ncolumns;                     /* leaf columns, in schema order */
    const sl_pq_column_stats *columns;
} sl_pq_result;

/* Flushes the last row group, writes the footer, closes the file (durable)
 * and frees w. On success *out (if out is not NULL) receives the result,
 * freed with sl_pq_result_free. On failure the file is aborted. */
int sl_pq_close(sl_pq_writer *w, sl_pq_result **out, sl_err *err);
void sl_pq_result_free(sl_pq_result *r);

/* Discards the file and frees w. */
void sl_pq_abort(sl_pq_writer *w);

#endif
