/* avro.h — Avro object container files, written and read by sluice itself
 * (Iceberg manifests and manifest lists).
 *
 * Why not avro-c for writing: avro-c 1.11 rewrites the schema it puts into
 * the file header and drops field-id, element-id and logicalType, which
 * Iceberg readers need (DESIGN.md §8). The binary encoding itself is a
 * handful of rules (zigzag varints, length-prefixed bytes, unions by branch
 * index, arrays and maps in counted blocks), so datums are encoded here
 * directly into an sl_buf, in schema order, with the sl_avro_put_* calls;
 * the header carries the caller's schema JSON byte for byte. The reader
 * below decodes any container file (ours, Java's, pyiceberg's) with the
 * writer schema from its header, for reading manifests back.
 *
 * Writing, e.g. a record {long id; union{null,string} name}:
 *
 *     sl_avro_writer *w;
 *     sl_avro_open(&w, file, schema_json, meta, nmeta, SL_AVRO_DEFLATE, &err);
 *     sl_buf *d = sl_avro_datum(w);
 *     sl_avro_put_long(d, 42);
 *     sl_avro_put_union(d, 1);            // branch 1 of the union: string
 *     sl_avro_put_string(d, "x", 1);
 *     sl_avro_end_datum(w, &err);         // may write a block
 *     sl_avro_close(w, &size, &err);
 *
 * Arrays and maps: sl_avro_put_block(d, n) then n items (maps: key string,
 * then value), then sl_avro_put_block(d, 0); an empty one is just
 * sl_avro_put_block(d, 0). */
#ifndef SL_AVRO_H
#define SL_AVRO_H

#include <stddef.h>
#include <stdint.h>

#include "../../core/arena.h"
#include "../../core/buf.h"
#include "../../core/err.h"
#include "../bytes.h"
#include "../varint.h"
#include "../wfile.h"

/* ---- binary encoding of datums ------------------------------------------ */

static inline void sl_avro_put_long(sl_buf *b, int64_t v) { sl_buf_zigzag(b, v); }
static inline void sl_avro_put_int(sl_buf *b, int32_t v) { sl_buf_zigzag(b, v); }
static inline void sl_avro_put_bool(sl_buf *b, int v) { sl_buf_addc(b, v ? 1 : 0); }
static inline void sl_avro_put_float(sl_buf *b, float v) { sl_buf_add(b, &v, 4); } /* LE host */
static inline void sl_avro_put_double(sl_buf *b, double v) { sl_buf_add(b, &v, 8); }
static inline void sl_avro_put_bytes(sl_buf *b, const void *p, size_t n)
{
    sl_buf_zigzag(b, (int64_t)n);
    sl_buf_put(b, p, n);
}
static inline void sl_avro_put_string(sl_buf *b, const char *s, size_t n) { sl_avro_put_bytes(b, s, n); }
static inline void sl_avro_put_cstr(sl_buf *b, const char *s) { sl_avro_put_bytes(b, s, strlen(s)); }
static inline void sl_avro_put_fixed(sl_buf *b, const void *p, size_t n) { sl_buf_put(b, p, n); }
static inline void sl_avro_put_union(sl_buf *b, int branch) { sl_buf_zigzag(b, branch); }
static inline void sl_avro_put_enum(sl_buf *b, int symbol) { sl_buf_zigzag(b, symbol); }
static inline void sl_avro_put_block(sl_buf *b, int64_t count) { sl_buf_zigzag(b, count); }

/* ---- container writer ---------------------------------------------------- */

enum { SL_AVRO_CODEC_NULL = 0, SL_AVRO_CODEC_DEFLATE = 1 };

typedef struct sl_avro_meta {
    const char *key, *value; /* header metadata, e.g. "format-version" = "2" */
} sl_avro_meta;

typedef struct sl_avro_writer sl_avro_writer;

/* Writes the header (magic, avro.schema = schema_json verbatim, avro.codec,
 * the caller's metadata, a random sync marker) to f, which the writer owns
 * from here on (aborted when open fails). schema_json must parse as JSON;
 * keys starting with "avro." are reserved. */
int sl_avro_open(sl_avro_writer **out, sl_wfile *f, const char *schema_json, const sl_avro_meta *meta,
                 int nmeta, int codec, sl_err *err);
/* the buffer the next datum is encoded into */
sl_buf *sl_avro_datum(sl_avro_writer *w);
/* counts the datum; writes a block when the buffered datums reach 64 KiB */
int sl_avro_end_datum(sl_avro_writer *w, sl_err *err);
int64_t sl_avro_count(const sl_avro_writer *w);
/* writes the last block, closes f (durable), frees w; *size = file bytes */
int sl_avro_close(sl_avro_writer *w, uint64_t *size, sl_err *err);
void sl_avro_abort(sl_avro_writer *w);

/* ---- reader ------------------------------------------------------------- */

enum {
    SL_AVRO_NULL,
    SL_AVRO_BOOLEAN,
    SL_AVRO_INT,
    SL_AVRO_LONG,
    SL_AVRO_FLOAT,
    SL_AVRO_DOUBLE,
    SL_AVRO_BYTES,
    SL_AVRO_STRING,
    SL_AVRO_RECORD,
    SL_AVRO_ENUM,
    SL_AVRO_ARRAY,
    SL_AVRO_MAP,
    SL_AVRO_UNION,
    SL_AVRO_FIXED,
};

typedef struct sl_avro_schema sl_avro_schema;
struct sl_avro_schema {
    int type;                  /* SL_AVRO_* */
    const char *name;          /* record, enum, fixed: full name */
    const char *logical;       /* logicalType, or NULL */
    int n;                     /* record fields, union branches, enum symbols, fixed size */
    const char **names;        /* record field names / enum symbols */
    sl_avro_schema **children; /* record field types / union branches; [0] = array items or map values */
};

typedef struct sl_avro_value sl_avro_value;
struct sl_avro_value {
    const sl_avro_schema *schema; /* never a union: the branch taken */
    int branch;                   /* union branch index, -1 when not inside a union */
    union {
        int b;     /* boolean */
        int64_t l; /* int, long, enum symbol index */
        double d;  /* float, double */
        struct {
            const uint8_t *p; /* bytes, string (not NUL-terminated), fixed */
            size_t n;
        } bytes;
        struct {
            sl_avro_value *items; /* record fields in schema order, array items, map values */
            const sl_avro_value *keys; /* map keys (strings), else NULL */
            size_t n;
        } list;
    } u;
};

typedef struct sl_avro_reader sl_avro_reader;

/* Reads a whole container file into memory (manifests are small) and parses
 * its header and writer schema. */
int sl_avro_read_file(const char *path, sl_avro_reader **out, sl_err *err);
/* The same over bytes the caller keeps alive until sl_avro_read_close. */
int sl_avro_read_mem(const void *data, size_t len, sl_avro_reader **out, sl_err *err);
/* header metadata (avro.schema, avro.codec, the writer's keys); NULL if absent */
const char *sl_avro_read_meta(const sl_avro_reader *r, const char *key, size_t *len);
const sl_avro_schema *sl_avro_read_schema(const sl_avro_reader *r);
/* The next datum: returns 1 and sets *v (valid until the next call), 0 at
 * the end of the file, or an error (corrupt block, bad sync marker,
 * unknown codec). Codecs: null, deflate, snappy, zstandard. */
int sl_avro_read_next(sl_avro_reader *r, const sl_avro_value **v, sl_err *err);
void sl_avro_read_close(sl_avro_reader *r);

/* a record's field by name (NULL if the record has none); a field holding a
 * union yields the branch's value, so test sl_avro_is_null for optionals */
const sl_avro_value *sl_avro_get(const sl_avro_value *record, const char *field);
static inline int sl_avro_is_null(const sl_avro_value *v) { return !v || v->schema->type == SL_AVRO_NULL; }

/* ---- shared by the reader's files --------------------------------------- */

/* parses writer schema JSON into nodes allocated from arena */
int sl_avro_schema_parse(const char *json, size_t len, sl_arena *arena, const sl_avro_schema **out,
                         sl_err *err);

#endif
