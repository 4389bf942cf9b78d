/* pg_types.h — PostgreSQL values in their text form, turned into exact
 * sl_values.
 *
 * pgoutput (text mode) and COPY ... TO STDOUT both carry each value as its
 * type's output function prints it, so the WAL stream and the snapshot
 * parse the same text with the same code and cannot disagree. Sessions run
 * with DateStyle=ISO, TimeZone=UTC, IntervalStyle=iso_8601,
 * extra_float_digits=3 and bytea_output=hex (pg_conn.c), which makes every
 * text form below unambiguous.
 */
#ifndef SL_PG_TYPES_H
#define SL_PG_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "../../core/arena.h"
#include "../../core/schema.h"
#include "../../core/value.h"

/* How a column's text is parsed: stored in sl_column.conv; for arrays the
 * element's class is in sl_column.charset. */
enum sl_pg_class {
    SL_PGV_TEXT = 0, /* anything printed as text: text, varchar, uuid, inet, xml, ... */
    SL_PGV_INT,
    SL_PGV_FLOAT4,
    SL_PGV_FLOAT8,
    SL_PGV_NUMERIC,
    SL_PGV_BOOL,
    SL_PGV_BYTEA,
    SL_PGV_JSON,
    SL_PGV_DATE,
    SL_PGV_TIME,
    SL_PGV_TIMETZ,
    SL_PGV_TS,
    SL_PGV_TSTZ,
    SL_PGV_INTERVAL,
    SL_PGV_MONEY,
    SL_PGV_ENUM,
    SL_PGV_ARRAY,
};

/* The class of a built-in scalar type OID (SL_PGV_TEXT for the rest). */
int sl_pg_builtin_class(uint32_t oid);
/* Fills kind, precision and scale of c from its class (c->conv) and typmod
 * (c->src_meta). */
void sl_pg_column_finish(sl_column *c);

/* Parses text (len bytes, not NUL-terminated) of column c into out; text
 * and bytes are copied into a. Returns 0, or -1 with why in err (64+ bytes). */
int sl_pg_text_value(const sl_column *c, const char *text, size_t len, sl_arena *a, sl_value *out, char *err,
                     size_t errlen);

/* Pieces shared with the unit tests. */
int sl_pg_parse_date(const char *s, size_t n, int64_t *days);
/* "HH:MM:SS[.f]" -> microseconds; *used = bytes consumed */
int sl_pg_parse_time(const char *s, size_t n, int64_t *us, size_t *used);
/* "[+-]HH[:MM[:SS]]" -> seconds east of UTC */
int sl_pg_parse_offset(const char *s, size_t n, int32_t *secs);
/* 0, -1 malformed, 1 past INT64_MAX: *us holds the value as uint64 bits */
int sl_pg_parse_timestamp(const char *s, size_t n, int with_zone, int64_t *us);

#endif
