/* value.h — the typed value of one column in one row image.
 *
 * A value never passes through a lossy representation: unsigned 64-bit
 * integers stay uint64, decimals stay exact text, times stay microseconds,
 * and strings are pointer + length so embedded NULs survive. Text and bytes
 * point into the batch arena (or the source's receive buffer while the
 * batch is alive); a value owns nothing.
 */
#ifndef SL_VALUE_H
#define SL_VALUE_H

#include <stddef.h>
#include <stdint.h>

typedef enum sl_kind {
    SL_NULL = 0,
    SL_INT,       /* v.i */
    SL_UINT,      /* v.u: full unsigned 64-bit range */
    SL_FLOAT,     /* v.d, from a 4-byte float: printed with float precision */
    SL_DOUBLE,    /* v.d */
    SL_DECIMAL,   /* exact decimal text, e.g. "-12.340", or "NaN" */
    SL_STRING,    /* UTF-8 text, may contain NUL */
    SL_BYTES,     /* raw binary */
    SL_DATE,      /* v.i = days since 1970-01-01 */
    SL_TIME,      /* v.i = signed microseconds (MySQL TIME spans +-838h) */
    SL_DATETIME,  /* v.i = microseconds since epoch of a wall-clock time, no zone */
    SL_TIMESTAMP, /* v.i = microseconds since epoch, UTC */
    SL_JSON,      /* JSON text */
    SL_ENUM,      /* text of the chosen value */
    SL_SET,       /* comma-separated text of the chosen values */
    SL_BIT,       /* v.u, aux = width in bits */
    SL_YEAR,      /* v.i */
    SL_BOOL,      /* v.i = 0 or 1 */
    SL_TEXTUAL,   /* a value kept in its source text form (uuid, inet, interval, arrays...) */
    SL_UNCHANGED, /* the source did not send this value (PostgreSQL unchanged TOAST) */
} sl_kind;

enum {
    /* a date the calendar does not have (MySQL zero dates, '2020-00-00'):
     * kept as its source text in v.s/len instead of v.i */
    SL_VF_INVALID_DATE = 1,
    /* text value that is JSON already (SL_TEXTUAL arrays rendered as JSON) */
    SL_VF_JSON_TEXT = 2,
    /* SL_DATETIME / SL_TIMESTAMP past the int64 range of microseconds since
     * 1970 (PostgreSQL reaches year 294276): v.u holds the value */
    SL_VF_U64 = 4,
    /* SL_TIMESTAMP read by the MySQL/MariaDB snapshot: Debezium's snapshot
     * prints its ZonedTimestamp with the fraction's significant digits only
     * (its binlog reading keeps the column's digits) */
    SL_VF_ZONED_TRIM = 8,
};

typedef struct sl_value {
    uint8_t kind;
    uint8_t flags;
    uint16_t aux;  /* BIT width; fractional-second precision for times */
    uint32_t len;  /* byte length for text, bytes, decimal, json, enum, set */
    union {
        int64_t i;
        uint64_t u;
        double d;
        const char *s;
    } v;
} sl_value;

static inline sl_value sl_val_null(void) { sl_value x = {0}; return x; }
static inline sl_value sl_val_int(int64_t i) { sl_value x = {0}; x.kind = SL_INT; x.v.i = i; return x; }
static inline sl_value sl_val_uint(uint64_t u) { sl_value x = {0}; x.kind = SL_UINT; x.v.u = u; return x; }
static inline sl_value sl_val_text(uint8_t kind, const char *s, uint32_t len)
{
    sl_value x = {0};
    x.kind = kind;
    x.v.s = s;
    x.len = len;
    return x;
}

const char *sl_kind_name(sl_kind kind);
/* The value as SQL text a server parses back into the same value
 * (dates 'YYYY-MM-DD', times '[-]HHH:MM:SS.ffffff', floats round-trip). */
int sl_value_sql_text(const sl_value *v, char *buf, size_t len);
/* "YYYY-MM-DD" of a day since 1970, astronomical years with a sign and at
 * least four digits (44 BC is -0043, PostgreSQL's last year 294276) */
int sl_date_text(char *buf, size_t len, int64_t days);
/* A DATETIME / TIMESTAMP as its day since 1970 and microsecond of that day,
 * also past the int64 range (SL_VF_U64) */
void sl_value_day_us(const sl_value *v, int64_t *days, int64_t *us_of_day);

/* Civil-calendar helpers shared by every source and sink. */
int64_t sl_days_from_civil(int64_t y, unsigned m, unsigned d);
void sl_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

#endif
