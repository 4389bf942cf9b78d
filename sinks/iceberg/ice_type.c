/* ice_type.c — how a source column becomes an Iceberg column (and the
 * Parquet column of the data files), and how its values are written.
 *
 * The mapping is exact or refused: integers of 32 bits or fewer are int,
 * wider ones long (BIGINT UNSIGNED and BIT(64) are decimal(20,0), so no
 * value wraps) — so that a source widening INT to BIGINT is Iceberg's
 * int -> long promotion, not a no-op that hides it; decimals keep precision
 * and scale up to 38 digits (wider, or PostgreSQL numeric without a
 * typmod, are strings with the exact text), DATETIME is timestamp and
 * TIMESTAMP / timestamptz are timestamptz (µs), TIME is time, PostgreSQL
 * uuid is uuid, JSON / enums / sets / arrays / other textual types are
 * strings. */
#define SL_LOG_COMPONENT "iceberg sink"

#include <stdio.h>
#include <string.h>

#include "../../core/log.h"
#include "ice_sink.h"

enum { PG_UUID_OID = 2950 };

/* 1 when an integer column's values fit Iceberg int (32 bits signed):
 * MySQL TINYINT, SMALLINT, MEDIUMINT, INT (type codes 1, 2, 9, 3; the
 * unsigned ones but INT), PostgreSQL int2 and int4 (OIDs 21, 23). The two
 * code spaces do not meet for integer kinds. */
static int fits_int(const sl_column *c)
{
    switch (c->src_type) {
    case 1: case 2: case 9: return 1;
    case 3: return c->kind == SL_INT;
    case 21: case 23: return c->kind == SL_INT;
    default: return 0;
    }
}

static void set(ice_col *o, const char *itype, sl_pq_type pq)
{
    snprintf(o->itype, sizeof o->itype, "%s", itype);
    o->pq = pq;
}

int ice_type_for(const sl_table_schema *s, int i, ice_col *o, sl_err *err)
{
    const sl_column *c = &s->cols[i];
    o->name = c->name;
    o->src = i;
    o->required = !c->nullable || c->is_pk;
    if (c->is_array) {
        set(o, "string", sl_pq_t_string());
        return 0;
    }
    switch (c->kind) {
    case SL_BOOL: set(o, "boolean", sl_pq_t_bool()); break;
    case SL_INT: fits_int(c) ? set(o, "int", sl_pq_t_int32()) : set(o, "long", sl_pq_t_int64()); break;
    case SL_YEAR: set(o, "int", sl_pq_t_int32()); break;
    case SL_UINT:
        if (fits_int(c))
            set(o, "int", sl_pq_t_int32());
        else if (c->src_type == 3) /* INT UNSIGNED */
            set(o, "long", sl_pq_t_int64());
        else
            set(o, "decimal(20, 0)", sl_pq_t_decimal(20, 0));
        break;
    case SL_BIT:
        if (c->precision && c->precision < 64)
            set(o, "long", sl_pq_t_int64());
        else
            set(o, "decimal(20, 0)", sl_pq_t_decimal(20, 0));
        break;
    case SL_FLOAT: set(o, "float", sl_pq_t_float()); break;
    case SL_DOUBLE: set(o, "double", sl_pq_t_double()); break;
    case SL_DECIMAL:
        if (c->precision >= 1 && c->precision <= 38 && c->scale <= c->precision) {
            char t[32];
            snprintf(t, sizeof t, "decimal(%u, %u)", c->precision, c->scale);
            set(o, t, sl_pq_t_decimal(c->precision, c->scale));
        } else {
            set(o, "string", sl_pq_t_string()); /* exact text: no Iceberg decimal holds it */
        }
        break;
    case SL_DATE: set(o, "date", sl_pq_t_date()); break;
    case SL_TIME: set(o, "time", sl_pq_t_time_us()); break;
    case SL_DATETIME: set(o, "timestamp", sl_pq_t_timestamp_us(0)); break;
    case SL_TIMESTAMP: set(o, "timestamptz", sl_pq_t_timestamp_us(1)); break;
    case SL_BYTES: set(o, "binary", sl_pq_t_binary()); break;
    case SL_TEXTUAL:
    case SL_STRING:
        /* PostgreSQL uuid (MySQL type codes are all below 256) */
        if (c->src_type == PG_UUID_OID) {
            set(o, "uuid", sl_pq_t_uuid());
            break;
        }
        set(o, "string", sl_pq_t_string());
        break;
    case SL_JSON:
    case SL_ENUM:
    case SL_SET: set(o, "string", sl_pq_t_string()); break;
    default:
        return sl_errf(err, SL_ECONFIG, SL_LOG_PREFIX "%s column %s (%s): no Iceberg type for values of kind %s",
                       s->qualified, c->name, c->type_name ? c->type_name : "?", sl_kind_name(c->kind));
    }
    return 0;
}

int ice_type_widen(ice_col *o, const char *itype)
{
    unsigned p, sc;
    if (!strcmp(itype, "long"))
        set(o, "long", sl_pq_t_int64());
    else if (!strcmp(itype, "double"))
        set(o, "double", sl_pq_t_double());
    else if (sscanf(itype, "decimal(%u ,%u)", &p, &sc) == 2 && p >= 1 && p <= 38 && sc <= p)
        set(o, itype, sl_pq_t_decimal((int)p, (int)sc));
    else
        return -1;
    return 0;
}

static int bad(const sl_table_schema *s, const ice_col *c, const char *why, sl_err *err)
{
    return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s column %s (Iceberg %s): %s", s->qualified, c->name,
                   c->itype, why);
}

static int uuid_bytes(const char *p, size_t n, uint8_t out[16])
{
    int k = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '-')
            continue;
        int hi = sl_hex_digit(p[i]), lo = i + 1 < n ? sl_hex_digit(p[i + 1]) : -1;
        if (hi < 0 || lo < 0 || k == 16)
            return -1;
        out[k++] = (uint8_t)(hi << 4 | lo);
        i++;
    }
    return k == 16 ? 0 : -1;
}

int ice_put_value(sl_pq_writer *w, int pc, const ice_col *c, const sl_value *v, const sl_table_schema *s,
                  sl_err *err)
{
    if (v->kind == SL_NULL || (v->flags & SL_VF_INVALID_DATE)) {
        if (c->required)
            return bad(s, c, v->kind == SL_NULL ? "NULL in a required column"
                                                : "a date the calendar does not have in a required column",
                       err);
        return sl_pq_put_null(w, pc);
    }
    if (v->kind == SL_UNCHANGED)
        return bad(s, c, "the source did not send this value (unchanged TOAST); set REPLICA IDENTITY FULL "
                         "on the table so every update carries the whole row",
                   err);
    if (v->flags & SL_VF_U64)
        return bad(s, c, "a timestamp beyond the range of microseconds since 1970 in 64 bits", err);
    const char *it = c->itype;
    if (!strcmp(it, "string")) { /* every value has its exact text */
        if (v->kind == SL_STRING || v->kind == SL_JSON || v->kind == SL_ENUM || v->kind == SL_SET ||
            v->kind == SL_TEXTUAL || v->kind == SL_DECIMAL)
            return sl_pq_put_bytes(w, pc, v->v.s, v->len);
        char buf[128];
        int n = sl_value_sql_text(v, buf, sizeof buf);
        if (n < 0)
            return bad(s, c, "value has no text form", err);
        return sl_pq_put_bytes(w, pc, buf, (size_t)n);
    }
    switch (v->kind) {
    case SL_BOOL: return sl_pq_put_bool(w, pc, v->v.i != 0);
    case SL_INT:
    case SL_YEAR:
    case SL_DATE:
    case SL_DATETIME:
    case SL_TIMESTAMP: return sl_pq_put_i64(w, pc, v->v.i);
    case SL_TIME:
        if (v->v.i < 0 || v->v.i >= 86400LL * 1000000)
            return bad(s, c, "a TIME outside 00:00:00..23:59:59.999999 (Iceberg time is a time of day)", err);
        return sl_pq_put_i64(w, pc, v->v.i);
    case SL_UINT:
    case SL_BIT:
        if (v->v.u > INT64_MAX && c->pq.logical != SL_PQ_LT_DECIMAL)
            return bad(s, c, "an unsigned value beyond the column's range", err);
        if (c->pq.logical == SL_PQ_LT_DECIMAL)
            return sl_pq_put_decimal(w, pc, (sl_i128)v->v.u);
        return sl_pq_put_i64(w, pc, (int64_t)v->v.u);
    case SL_FLOAT: /* a double column: the table was promoted (float -> double) */
        if (c->pq.physical == SL_PQ_DOUBLE)
            return sl_pq_put_double(w, pc, (double)(float)v->v.d);
        return sl_pq_put_float(w, pc, (float)v->v.d);
    case SL_DOUBLE: return sl_pq_put_double(w, pc, v->v.d);
    case SL_DECIMAL: return sl_pq_put_decimal_text(w, pc, v->v.s, v->len);
    case SL_BYTES: return sl_pq_put_bytes(w, pc, v->v.s, v->len);
    case SL_TEXTUAL:
    case SL_STRING:
        if (c->pq.logical == SL_PQ_LT_UUID) {
            uint8_t u[16];
            if (uuid_bytes(v->v.s, v->len, u))
                return bad(s, c, "not a UUID", err);
            return sl_pq_put_bytes(w, pc, u, 16);
        }
        break;
    default: break;
    }
    char why[96];
    snprintf(why, sizeof why, "a value of kind %s does not fit", sl_kind_name(v->kind));
    return bad(s, c, why, err);
}

/* How Parquet holds a column's values decides a key part's form, so that
 * the key of a row about to be written (from source values) and of a row
 * read back from a data file (a rebuild of the index) are the same bytes:
 * 'i' integers, booleans, dates and times (8 bytes), 'd' floating point
 * (the double, 8 bytes), 'x' decimals (the unscaled 128-bit integer), 'b'
 * bytes (u32 length, bytes), 'n' null; integers and decimals in an order
 * preserving form (key_int). A column promoted int -> long or
 * float -> double keeps its keys. */
static char key_class(int physical, int decimal)
{
    if (decimal)
        return 'x';
    switch (physical) {
    case SL_PQ_BOOLEAN:
    case SL_PQ_INT32:
    case SL_PQ_INT64: return 'i';
    case SL_PQ_FLOAT:
    case SL_PQ_DOUBLE: return 'd';
    default: return 'b';
    }
}

static void key_bytes(sl_buf *b, const void *p, size_t n)
{
    uint32_t len = (uint32_t)n;
    sl_buf_addc(b, 'b');
    sl_buf_add(b, &len, 4);
    sl_buf_add(b, p, n);
}

static void key_fixed(sl_buf *b, char cls, const void *p, size_t n)
{
    sl_buf_addc(b, cls);
    sl_buf_add(b, p, n);
}

/* an integer part big-endian with its sign bit flipped, so that byte order
 * is numeric order: ascending keys (a snapshot, auto-increment inserts)
 * append at the right edge of the index's B-tree instead of touching a
 * random leaf each */
static void key_int(sl_buf *b, char cls, sl_i128 v, int bytes)
{
    uint8_t out[16];
    unsigned __int128 u = (unsigned __int128)v ^ ((unsigned __int128)1 << (8 * bytes - 1));
    for (int i = 0; i < bytes; i++)
        out[i] = (uint8_t)(u >> (8 * (bytes - 1 - i)));
    key_fixed(b, cls, out, (size_t)bytes);
}

void ice_key_encode(sl_buf *b, const ice_col *cols, const int *pk, int npk, const sl_value *vals)
{
    for (int k = 0; k < npk; k++) {
        const ice_col *c = &cols[pk[k]];
        const sl_value *v = &vals[c->src];
        if (v->kind == SL_NULL || (v->flags & SL_VF_INVALID_DATE)) {
            sl_buf_addc(b, 'n');
            continue;
        }
        int text = v->kind == SL_STRING || v->kind == SL_JSON || v->kind == SL_ENUM || v->kind == SL_SET ||
                   v->kind == SL_TEXTUAL || v->kind == SL_DECIMAL || v->kind == SL_BYTES;
        if (!strcmp(c->itype, "string") && !text) { /* as ice_put_value writes it */
            char buf[128];
            int n = sl_value_sql_text(v, buf, sizeof buf);
            key_bytes(b, buf, n > 0 ? (size_t)n : 0);
            continue;
        }
        switch (key_class(c->pq.physical, c->pq.logical == SL_PQ_LT_DECIMAL)) {
        case 'x': {
            sl_i128 x = (sl_i128)v->v.u;
            if (v->kind == SL_DECIMAL && sl_decimal_parse(v->v.s, v->len, c->pq.precision, c->pq.scale, &x)) {
                key_bytes(b, v->v.s, v->len); /* not written either: ice_put_value refuses it */
                break;
            }
            key_int(b, 'x', x, 16);
            break;
        }
        case 'i': {
            int64_t i = v->kind == SL_UINT || v->kind == SL_BIT ? (int64_t)v->v.u
                        : v->kind == SL_BOOL                    ? v->v.i != 0
                                                                : v->v.i;
            key_int(b, 'i', i, 8);
            break;
        }
        case 'd': {
            double d = v->kind == SL_FLOAT ? (double)(float)v->v.d : v->v.d;
            key_fixed(b, 'd', &d, 8);
            break;
        }
        default: {
            uint8_t u[16];
            if (c->pq.logical == SL_PQ_LT_UUID && !uuid_bytes(v->v.s, v->len, u))
                key_bytes(b, u, 16);
            else
                key_bytes(b, v->v.s, v->len);
        }
        }
    }
}

sl_i128 ice_unscaled(int physical, const sl_pq_rvalue *v)
{
    if (physical == SL_PQ_INT32 || physical == SL_PQ_INT64)
        return v->i;
    if (!v->n)
        return 0;
    sl_i128 x = (int8_t)v->p[0];
    for (uint32_t k = 1; k < v->n && k < 16; k++)
        x = x * 256 + v->p[k];
    return x;
}

void ice_key_part_read(sl_buf *b, int physical, int decimal, const sl_pq_rvalue *v)
{
    if (!v) {
        sl_buf_addc(b, 'n');
        return;
    }
    switch (key_class(physical, decimal)) {
    case 'x': {
        key_int(b, 'x', ice_unscaled(physical, v), 16);
        break;
    }
    case 'i': key_int(b, 'i', v->i, 8); break;
    case 'd': key_fixed(b, 'd', &v->d, 8); break;
    default: key_bytes(b, v->p, v->n);
    }
}
