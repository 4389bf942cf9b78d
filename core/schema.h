/* schema.h — a table's shape as the source knows it at one log position.
 *
 * Events point at a schema; they never copy it. Each source keeps every
 * version it created in an sl_schema_cache until the pipeline ends, so a
 * schema outlives every batch that references it without reference
 * counting on the hot path. The version number increments on every change
 * of column set, names, types or key.
 */
#ifndef SL_SCHEMA_H
#define SL_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

typedef struct sl_column {
    char *name;
    uint8_t kind;       /* sl_kind the values of this column carry */
    uint8_t nullable;   /* 1 if NULL allowed or unknown */
    uint8_t is_pk;
    uint8_t is_unsigned;
    uint8_t is_array;   /* values are JSON arrays of elem_kind (PostgreSQL arrays) */
    uint8_t elem_kind;
    uint8_t array_dims; /* declared dimensions of an array column (0 = unknown, read as 1) */
    uint16_t precision; /* decimal precision, string length, bit width */
    uint16_t scale;     /* decimal scale, fractional-second digits */
    char *type_name;    /* the type as the user wrote it: "bigint unsigned", "decimal(10,2)" */
    /* source-native description, for decoders and type mapping in sinks */
    uint32_t src_type;  /* MySQL column type code, PostgreSQL type OID */
    uint32_t src_meta;  /* MySQL TABLE_MAP metadata, PostgreSQL typmod */
    uint32_t charset;   /* MySQL collation id; 63 = binary */
    uint8_t conv;       /* decoder's charset conversion class (source-private) */
    char **enum_values; /* ENUM/SET members in ordinal order */
    uint32_t n_enum_values;
    /* what only the catalog knows (NULL / 0 when the schema came from the
     * log): Debezium's tableChanges column metadata */
    char *charset_name; /* "utf8mb4" for text columns */
    char *comment;
    char *default_expr; /* the default as written, quotes removed; NULL: none or NULL */
    uint8_t auto_inc;
} sl_column;

typedef struct sl_table_schema {
    char *db;     /* MySQL database, PostgreSQL database */
    char *schema; /* PostgreSQL schema; NULL for MySQL */
    char *table;
    char *qualified; /* "db.table" or "schema.table", the name routes match */
    uint32_t version;
    int ncols;
    sl_column *cols;
    int npk;
    int *pk; /* column indexes of the primary key, in key order */
    char *charset_name;  /* the table's default charset (catalog), or NULL */
    char *comment;       /* the table's comment (catalog), or NULL */
} sl_table_schema;

/* Owns schema versions. Not thread-safe: one source thread adds, and
 * readers only dereference pointers they were handed in events. */
typedef struct sl_schema_cache {
    sl_table_schema **items;
    size_t n, cap;
} sl_schema_cache;

sl_table_schema *sl_schema_new(const char *db, const char *schema, const char *table, int ncols);
/* fills pk/npk from cols[i].is_pk in column order (MySQL, PG order may differ: set pk directly) */
void sl_schema_index_pk(sl_table_schema *s);
/* structural equality: names, kinds, types, key (version ignored) */
int sl_schema_same_shape(const sl_table_schema *a, const sl_table_schema *b);
int sl_schema_column_index(const sl_table_schema *s, const char *name);
/* deep copy of src into dst under name (NULL: src's name), not a key column */
int sl_column_copy(sl_column *dst, const sl_column *src, const char *name);
void sl_schema_free(sl_table_schema *s);

void sl_schema_cache_init(sl_schema_cache *c);
/* takes ownership of s */
int sl_schema_cache_add(sl_schema_cache *c, sl_table_schema *s);
void sl_schema_cache_free(sl_schema_cache *c);

#endif
