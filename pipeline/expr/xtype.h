/* xtype.h — the static types and run-time values of transform expressions.
 *
 * Types follow Flink CDC's (Calcite's) SQL types: an expression's type is
 * fixed when it is bound to a table, so evaluation never looks at a type
 * tag, and a computed column's type goes into the sink's schema. Values are
 * unboxed: integers, dates, times and timestamps in `i`, approximate
 * numbers in `d`, exact decimals as a 128-bit unscaled integer with a scale,
 * text and bytes as pointer + length into the batch arena or the row.
 */
#ifndef SL_XTYPE_H
#define SL_XTYPE_H

#include <stddef.h>
#include <stdint.h>

#include "../../core/schema.h"
#include "../../core/value.h"

typedef enum xt {
    XT_NULL = 0, /* the bare NULL literal: takes the type it meets */
    XT_ANY,      /* a column whose type is not known yet (checking at load) */
    XT_BOOLEAN,
    XT_TINYINT,
    XT_SMALLINT,
    XT_INT,
    XT_BIGINT,
    XT_FLOAT,
    XT_DOUBLE,
    XT_DECIMAL,
    XT_CHAR,
    XT_VARCHAR,
    XT_BINARY,
    XT_VARBINARY,
    XT_DATE,
    XT_TIME,
    XT_TIMESTAMP,     /* wall clock without zone, microseconds */
    XT_TIMESTAMP_LTZ, /* an instant, microseconds since 1970 UTC */
} xt;

typedef struct xtype {
    uint8_t t;        /* xt */
    uint8_t nullable;
    uint16_t p;       /* DECIMAL precision (0 = unconstrained), CHAR/VARCHAR length (0 = unbounded) */
    uint16_t s;       /* DECIMAL scale, fractional-second digits */
} xtype;

typedef __int128 xint128;

/* an exact decimal: v * 10^-scale */
typedef struct xdec {
    xint128 v;
    int32_t scale;
} xdec;

typedef struct xval {
    uint8_t null;
    uint8_t unavailable; /* a PostgreSQL unchanged-TOAST input reached this value */
    union {
        int64_t i; /* BOOLEAN 0/1, integers, DATE days, TIME/TIMESTAMP microseconds */
        double d;
        xdec dec;
        struct {
            const char *p;
            uint32_t n;
        } s;
    } u;
} xval;

static inline xtype xt_make(xt t, int nullable) { xtype x = {(uint8_t)t, (uint8_t)nullable, 0, 0}; return x; }
static inline xtype xt_dec(int p, int s, int nullable)
{
    xtype x = {XT_DECIMAL, (uint8_t)nullable, (uint16_t)p, (uint16_t)s};
    return x;
}

int xt_is_int(xt t);      /* TINYINT..BIGINT */
int xt_is_numeric(xt t);  /* integers, FLOAT, DOUBLE, DECIMAL */
int xt_is_string(xt t);   /* CHAR, VARCHAR */
int xt_is_binary(xt t);
int xt_is_temporal(xt t); /* DATE, TIME, TIMESTAMP, TIMESTAMP_LTZ */
/* Flink's spelling: "INT", "DECIMAL(10, 2)", "TIMESTAMP(3)", "STRING" */
void xt_name(xtype t, char *buf, size_t len);
/* range of an integer type */
void xt_int_range(xt t, int64_t *lo, int64_t *hi);
/* the decimal type an integer type widens to (INT -> DECIMAL(10, 0)) */
xtype xt_int_as_decimal(xt t, int nullable);

/* How a source column is typed in expressions (MySQL BIGINT UNSIGNED is
 * DECIMAL(20, 0) as in Flink, DATETIME is TIMESTAMP, TIMESTAMP is
 * TIMESTAMP_LTZ, ENUM/SET/JSON are STRING). */
xtype xt_of_column(const sl_column *c);
/* Fills the sink-facing description of a computed column of type t. */
int xt_to_column(xtype t, const char *name, sl_column *out);

#endif
