/* ch_type.c — ClickHouse column types: parsing the server's spelling,
 * printing it back, which changes widen a type without loss (what an
 * ALTER may do), and the type sluice creates for each source column.
 *
 * The mapping keeps every value exact (README: type mapping): integers
 * keep their width and sign, DECIMAL(P,S) stays Decimal(P,S) up to 76
 * digits (wider and unconstrained numerics become String), times keep the
 * source's fractional digits, and both wall-clock DATETIME and TIMESTAMP
 * are DateTime64(P, 'UTC') so every server shows them as the source wrote
 * them whatever its own time zone; the column comment says which it was.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ch_sink.h"

static const struct {
    const char *name;
    uint8_t base;
} names[] = {
    {"Int8", CH_INT8},       {"Int16", CH_INT16},     {"Int32", CH_INT32},     {"Int64", CH_INT64},
    {"UInt8", CH_UINT8},     {"UInt16", CH_UINT16},   {"UInt32", CH_UINT32},   {"UInt64", CH_UINT64},
    {"UInt128", CH_UINT128}, {"UInt256", CH_UINT256}, {"Float32", CH_FLOAT32}, {"Float64", CH_FLOAT64},
    {"String", CH_STRING},   {"Bool", CH_BOOL},       {"Date", CH_DATE},       {"Date32", CH_DATE32},
    {"UUID", CH_UUID},       {"IPv4", CH_IPV4},       {"IPv6", CH_IPV6},       {"JSON", CH_JSON},
    {NULL, 0},
};

static const char *skip_ws(const char *p)
{
    while (*p == ' ')
        p++;
    return p;
}

static int starts(const char **p, const char *word)
{
    size_t n = strlen(word);
    if (strncmp(*p, word, n) != 0)
        return 0;
    *p += n;
    return 1;
}

const char *ch_closing_paren(const char *p)
{
    int depth = 1, quoted = 0;
    for (; *p; p++) {
        if (quoted) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == '\'')
                quoted = 0;
        } else if (*p == '\'') {
            quoted = 1;
        } else if (*p == '(') {
            depth++;
        } else if (*p == ')' && --depth == 0) {
            return p;
        }
    }
    return NULL;
}

static void parse_scalar(const char *p, const char *end, ch_type *t, int depth)
{
    p = skip_ws(p);
    while (end > p && end[-1] == ' ')
        end--;
    size_t n = (size_t)(end - p);
    char buf[256];
    if (n >= sizeof buf || depth > 4) {
        t->base = CH_OTHER;
        return;
    }
    memcpy(buf, p, n);
    buf[n] = 0;
    const char *q = buf;
    int is_null = starts(&q, "Nullable("), is_lc = !is_null && starts(&q, "LowCardinality("),
        is_arr = !is_null && !is_lc && starts(&q, "Array(");
    if (is_null || is_lc || is_arr) {
        const char *close = ch_closing_paren(q);
        /* no arrays of arrays, no wrappers around an array */
        if (!close || close[1] || (is_arr && (t->array || t->nullable || t->lowcard))) {
            t->base = CH_OTHER;
            return;
        }
        t->nullable |= (uint8_t)is_null;
        t->lowcard |= (uint8_t)is_lc;
        t->array |= (uint8_t)is_arr;
        parse_scalar(q, close, t, depth + 1);
        return;
    }
    for (int i = 0; names[i].name; i++) {
        if (strcmp(buf, names[i].name) == 0) {
            t->base = names[i].base;
            return;
        }
    }
    unsigned a = 0, b = 0;
    char zone[128];
    if (sscanf(buf, "Decimal(%u, %u)", &a, &b) == 2 || sscanf(buf, "Decimal(%u,%u)", &a, &b) == 2) {
        t->base = CH_DECIMAL;
        t->p = (uint16_t)a;
        t->s = (uint16_t)b;
    } else if (sscanf(buf, "Decimal32(%u)", &b) == 1 || sscanf(buf, "Decimal64(%u)", &b) == 1 ||
               sscanf(buf, "Decimal128(%u)", &b) == 1 || sscanf(buf, "Decimal256(%u)", &b) == 1) {
        t->base = CH_DECIMAL;
        t->p = buf[7] == '3' ? 9 : buf[7] == '6' ? 18 : buf[8] == '2' && buf[9] == '8' ? 38 : 76;
        t->s = (uint16_t)b;
    } else if (sscanf(buf, "DateTime64(%u, '%127[^']')", &a, zone) == 2) {
        t->base = CH_DATETIME64;
        t->p = (uint16_t)a;
        t->has_zone = 1;
        t->utc = strcmp(zone, "UTC") == 0 || strcmp(zone, "Etc/UTC") == 0;
    } else if (sscanf(buf, "DateTime64(%u)", &a) == 1) {
        t->base = CH_DATETIME64;
        t->p = (uint16_t)a;
    } else if (strcmp(buf, "DateTime") == 0) {
        t->base = CH_DATETIME;
    } else if (sscanf(buf, "DateTime('%127[^']')", zone) == 1) {
        t->base = CH_DATETIME;
        t->has_zone = 1;
        t->utc = strcmp(zone, "UTC") == 0 || strcmp(zone, "Etc/UTC") == 0;
    } else if (sscanf(buf, "Time64(%u)", &a) == 1) {
        t->base = CH_TIME64;
        t->p = (uint16_t)a;
    } else if (sscanf(buf, "FixedString(%u)", &a) == 1) {
        t->base = CH_FIXEDSTRING;
        t->p = (uint16_t)a;
    } else if (strncmp(buf, "JSON(", 5) == 0) {
        t->base = CH_JSON;
    } else {
        t->base = CH_OTHER;
    }
}

void ch_type_parse(const char *text, ch_type *out)
{
    memset(out, 0, sizeof *out);
    parse_scalar(text, text + strlen(text), out, 0);
    if (out->base == CH_DECIMAL && (out->p < 1 || out->p > 76 || out->s > out->p))
        out->base = CH_OTHER;
    if ((out->base == CH_DATETIME64 || out->base == CH_TIME64) && out->p > 9)
        out->base = CH_OTHER;
}

static const char *base_name(uint8_t b)
{
    for (int i = 0; names[i].name; i++)
        if (names[i].base == b)
            return names[i].name;
    return NULL;
}

void ch_type_format(sl_buf *b, const ch_type *t)
{
    int close = 0;
    if (t->array) {
        sl_buf_adds(b, "Array(");
        close++;
    }
    if (t->lowcard) {
        sl_buf_adds(b, "LowCardinality(");
        close++;
    }
    if (t->nullable) {
        sl_buf_adds(b, "Nullable(");
        close++;
    }
    switch ((ch_base)t->base) {
    case CH_DECIMAL:
        sl_buf_printf(b, "Decimal(%u, %u)", t->p, t->s);
        break;
    case CH_DATETIME64:
        sl_buf_printf(b, t->has_zone ? "DateTime64(%u, 'UTC')" : "DateTime64(%u)", t->p);
        break;
    case CH_DATETIME:
        sl_buf_adds(b, t->has_zone ? "DateTime('UTC')" : "DateTime");
        break;
    case CH_TIME64:
        sl_buf_printf(b, "Time64(%u)", t->p);
        break;
    case CH_FIXEDSTRING:
        sl_buf_printf(b, "FixedString(%u)", t->p);
        break;
    default: {
        const char *n = base_name(t->base);
        sl_buf_adds(b, n ? n : "?");
        break;
    }
    }
    while (close--)
        sl_buf_addc(b, ')');
}

int ch_type_equal(const ch_type *a, const ch_type *b)
{
    return a->base == b->base && a->nullable == b->nullable && a->lowcard == b->lowcard && a->array == b->array &&
           a->p == b->p && a->s == b->s && a->utc == b->utc && a->has_zone == b->has_zone;
}

static int int_bits(uint8_t b, int *is_signed)
{
    *is_signed = b >= CH_INT8 && b <= CH_INT64;
    switch (b) {
    case CH_INT8: case CH_UINT8: return 8;
    case CH_INT16: case CH_UINT16: return 16;
    case CH_INT32: case CH_UINT32: return 32;
    case CH_INT64: case CH_UINT64: return 64;
    default: return 0;
    }
}

int ch_type_widens(const ch_type *from, const ch_type *to)
{
    if (from->array != to->array || (from->nullable && !to->nullable))
        return 0;
    if (from->base == to->base) {
        switch ((ch_base)from->base) {
        case CH_DECIMAL:
            return to->s >= from->s && to->p - to->s >= from->p - from->s;
        case CH_DATETIME64:
            return to->p >= from->p && to->utc == from->utc && to->has_zone == from->has_zone;
        case CH_DATETIME:
            return to->utc == from->utc && to->has_zone == from->has_zone;
        case CH_TIME64:
            return to->p >= from->p;
        case CH_FIXEDSTRING:
            return to->p == from->p;
        case CH_OTHER:
            return 0;
        default:
            return 1;
        }
    }
    int fs, ts;
    int fb = int_bits(from->base, &fs), tb = int_bits(to->base, &ts);
    if (fb && tb)
        return fs == ts ? tb >= fb : (!fs && ts && tb > fb);
    if (from->base == CH_FLOAT32 && to->base == CH_FLOAT64)
        return 1;
    if (from->base == CH_DATE && to->base == CH_DATE32)
        return 1;
    return 0;
}

/* ---------------------------------------------------------- mapping -- */

static uint8_t int_type(const sl_column *c, const ch_map_opts *o, int is_unsigned)
{
    if (o->postgres) {
        switch (c->src_type) { /* the type OID, or its array type's for arrays */
        case 21: case 1005: return CH_INT16;
        case 23: case 1007: return CH_INT32;
        case 26: case 28: case 1028: case 1011: return CH_UINT32; /* oid, xid */
        default: return CH_INT64;
        }
    }
    /* MySQL type codes: 1 tiny, 2 short, 9 int24, 3 long, 8 longlong */
    switch (c->src_type) {
    case 1: return is_unsigned ? CH_UINT8 : CH_INT8;
    case 2: return is_unsigned ? CH_UINT16 : CH_INT16;
    case 9: case 3: return is_unsigned ? CH_UINT32 : CH_INT32;
    default: return is_unsigned ? CH_UINT64 : CH_INT64;
    }
}

static void scalar_for(uint8_t kind, const sl_column *c, const ch_map_opts *o, ch_type *t)
{
    switch ((sl_kind)kind) {
    case SL_INT:
        t->base = int_type(c, o, 0);
        break;
    case SL_UINT:
        t->base = int_type(c, o, 1);
        break;
    case SL_YEAR:
        t->base = CH_UINT16;
        break;
    case SL_FLOAT:
        t->base = CH_FLOAT32;
        break;
    case SL_DOUBLE:
        t->base = CH_FLOAT64;
        break;
    case SL_DECIMAL:
        if (o->postgres && c->src_type == 790) { /* money: int64 cents */
            t->base = CH_DECIMAL;
            t->p = 19;
            t->s = 2;
        } else if (c->precision >= 1 && c->precision <= 76 && c->scale <= c->precision) {
            t->base = CH_DECIMAL;
            t->p = c->precision;
            t->s = c->scale;
        } else if (o->postgres && t->array && (int32_t)c->src_meta >= 4 &&
                   ((c->src_meta - 4) >> 16 & 0xffff) >= 1 && ((c->src_meta - 4) >> 16 & 0xffff) <= 76) {
            /* numeric(p,s)[]: the array column carries the element's typmod */
            t->base = CH_DECIMAL;
            t->p = (uint16_t)((c->src_meta - 4) >> 16 & 0xffff);
            t->s = (uint16_t)((c->src_meta - 4) & 0xffff);
        } else {
            t->base = CH_STRING; /* unconstrained or wider than 76 digits: exact text */
        }
        break;
    case SL_BOOL:
        t->base = CH_BOOL;
        break;
    case SL_BIT:
        t->base = c->precision == 1 ? CH_BOOL : CH_UINT64;
        break;
    case SL_STRING:
        /* PostgreSQL uuid and uuid[] */
        t->base = o->postgres && (c->src_type == 2950 || c->src_type == 2951) ? CH_UUID : CH_STRING;
        break;
    case SL_ENUM:
        t->base = CH_STRING;
        t->lowcard = 1;
        break;
    case SL_JSON:
        t->base = o->json_type && !t->array ? CH_JSON : CH_STRING;
        break;
    case SL_DATE:
        t->base = CH_DATE32;
        break;
    case SL_TIME:
        if (o->time64) {
            t->base = CH_TIME64;
            t->p = c->scale > 6 ? 6 : c->scale;
        } else {
            t->base = CH_INT64; /* microseconds */
        }
        break;
    case SL_DATETIME:
        t->base = CH_DATETIME64;
        t->p = c->scale > 6 ? 6 : c->scale;
        t->has_zone = t->utc = 1;
        break;
    case SL_TIMESTAMP:
        /* inside arrays PostgreSQL timestamptz renders as ISO text: kept so */
        if (t->array) {
            t->base = CH_STRING;
        } else {
            t->base = CH_DATETIME64;
            t->p = c->scale > 6 ? 6 : c->scale;
            t->has_zone = t->utc = 1;
        }
        break;
    default: /* bytes, set, textual (interval, timetz, inet, ...) */
        t->base = CH_STRING;
        break;
    }
}

void ch_type_for(const sl_column *c, const ch_map_opts *o, ch_type *out)
{
    memset(out, 0, sizeof *out);
    if (c->is_array) {
        out->array = 1;
        out->nullable = 1; /* PostgreSQL array elements may be NULL */
        scalar_for(c->elem_kind, c, o, out);
        if (out->lowcard) /* enum arrays: plain strings */
            out->lowcard = 0;
        return;
    }
    scalar_for(c->kind, c, o, out);
}

int ch_column_nullable(const sl_column *c, const ch_map_opts *o)
{
    if (c->is_array)
        return 0; /* ClickHouse has no Nullable(Array): a NULL array is written as [] */
    if (c->nullable)
        return 1;
    /* MySQL zero dates ('0000-00-00') arrive as NULL even in NOT NULL columns */
    return !o->postgres && !c->is_pk &&
           (c->kind == SL_DATE || c->kind == SL_DATETIME || c->kind == SL_TIMESTAMP);
}
