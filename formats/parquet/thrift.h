/* thrift.h — a Thrift compact-protocol encoder, just enough to write the
 * Parquet footer and page headers (structs, i8/i16/i32/i64, bool, binary,
 * lists), plus a small decoder the tests use to read those structures back.
 *
 * Field headers carry the id as a delta from the previous field of the same
 * struct, so the encoder keeps one "last field id" per open struct; structs
 * nest at most SL_TC_DEPTH deep (the Parquet footer needs 6). */
#ifndef SL_THRIFT_H
#define SL_THRIFT_H

#include <stddef.h>
#include <stdint.h>

#include "../../core/buf.h"

enum {
    SL_TC_STOP = 0,
    SL_TC_TRUE = 1,
    SL_TC_FALSE = 2,
    SL_TC_I8 = 3,
    SL_TC_I16 = 4,
    SL_TC_I32 = 5,
    SL_TC_I64 = 6,
    SL_TC_DOUBLE = 7,
    SL_TC_BINARY = 8,
    SL_TC_LIST = 9,
    SL_TC_SET = 10,
    SL_TC_MAP = 11,
    SL_TC_STRUCT = 12,
};

#define SL_TC_DEPTH 16

typedef struct sl_tc {
    sl_buf *out;
    int depth;
    int16_t last[SL_TC_DEPTH];
    int overflow; /* nesting too deep: the output is invalid */
} sl_tc;

void sl_tc_init(sl_tc *t, sl_buf *out);

/* fields of the innermost open struct */
void sl_tc_field(sl_tc *t, int16_t id, int type); /* a bare header */
void sl_tc_field_i32(sl_tc *t, int16_t id, int32_t v);
void sl_tc_field_i64(sl_tc *t, int16_t id, int64_t v);
void sl_tc_field_i16(sl_tc *t, int16_t id, int16_t v);
void sl_tc_field_i8(sl_tc *t, int16_t id, int8_t v);
void sl_tc_field_bool(sl_tc *t, int16_t id, int v);
void sl_tc_field_binary(sl_tc *t, int16_t id, const void *p, size_t n);
void sl_tc_field_string(sl_tc *t, int16_t id, const char *s);
/* a struct-valued field: header, then the nested fields, then sl_tc_end */
void sl_tc_field_struct(sl_tc *t, int16_t id);
/* a list-valued field: header, then n elements written with the bare
 * value calls below (sl_tc_struct for struct elements) */
void sl_tc_field_list(sl_tc *t, int16_t id, int elem_type, uint32_t n);

/* bare values (list elements) */
void sl_tc_list_header(sl_tc *t, int elem_type, uint32_t n);
void sl_tc_i32(sl_tc *t, int32_t v);
void sl_tc_i64(sl_tc *t, int64_t v);
void sl_tc_binary(sl_tc *t, const void *p, size_t n);
void sl_tc_struct(sl_tc *t); /* opens a struct element */
void sl_tc_end(sl_tc *t);    /* writes the stop field, closes the struct */

/* ---- decoding (tests, and checks of what we wrote) ------------------- */

typedef struct sl_tc_reader {
    const uint8_t *p, *end;
    int depth;
    int16_t last[SL_TC_DEPTH];
    int error;
} sl_tc_reader;

void sl_tc_reader_init(sl_tc_reader *r, const void *p, size_t n);
/* next field of the current struct: returns its type (SL_TC_STOP at the
 * end, which also closes the struct) and sets *id */
int sl_tc_next_field(sl_tc_reader *r, int16_t *id);
void sl_tc_enter(sl_tc_reader *r); /* after a STRUCT field header or element */
int64_t sl_tc_read_int(sl_tc_reader *r);   /* i16/i32/i64 (zigzag varint) */
int sl_tc_read_i8(sl_tc_reader *r);
int sl_tc_read_bool(sl_tc_reader *r, int type); /* field bool: pass the field type */
double sl_tc_read_double(sl_tc_reader *r);
const uint8_t *sl_tc_read_binary(sl_tc_reader *r, size_t *n);
uint32_t sl_tc_read_list(sl_tc_reader *r, int *elem_type);
void sl_tc_skip(sl_tc_reader *r, int type); /* any value of type */

#endif
