/* xtype.c — names, ranges and the mapping between source columns, the
 * expression type system and the columns a transform hands to sinks. */
#include "xtype.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int xt_is_int(xt t) { return t >= XT_TINYINT && t <= XT_BIGINT; }
int xt_is_numeric(xt t) { return t >= XT_TINYINT && t <= XT_DECIMAL; }
int xt_is_string(xt t) { return t == XT_CHAR || t == XT_VARCHAR; }
int xt_is_binary(xt t) { return t == XT_BINARY || t == XT_VARBINARY; }
int xt_is_temporal(xt t) { return t >= XT_DATE && t <= XT_TIMESTAMP_LTZ; }

void xt_name(xtype t, char *buf, size_t len)
{
    static const char *const names[] = {"NULL",   "ANY",     "BOOLEAN",   "TINYINT", "SMALLINT", "INT",
                                        "BIGINT", "FLOAT",   "DOUBLE",    "DECIMAL", "CHAR",     "VARCHAR",
                                        "BINARY", "VARBINARY", "DATE",    "TIME",    "TIMESTAMP",
                                        "TIMESTAMP_LTZ"};
    const char *n = t.t < sizeof names / sizeof names[0] ? names[t.t] : "?";
    if (t.t == XT_DECIMAL && t.p)
        snprintf(buf, len, "DECIMAL(%u, %u)", t.p, t.s);
    else if (t.t == XT_VARCHAR && !t.p)
        snprintf(buf, len, "STRING");
    else if (t.t == XT_VARBINARY && !t.p)
        snprintf(buf, len, "BYTES");
    else if ((t.t == XT_CHAR || t.t == XT_VARCHAR || t.t == XT_BINARY || t.t == XT_VARBINARY) && t.p)
        snprintf(buf, len, "%s(%u)", n, t.p);
    else if (t.t == XT_TIME || t.t == XT_TIMESTAMP || t.t == XT_TIMESTAMP_LTZ)
        snprintf(buf, len, "%s(%u)", n, t.s);
    else
        snprintf(buf, len, "%s", n);
}

void xt_int_range(xt t, int64_t *lo, int64_t *hi)
{
    switch (t) {
    case XT_TINYINT: *lo = -128; *hi = 127; return;
    case XT_SMALLINT: *lo = -32768; *hi = 32767; return;
    case XT_INT: *lo = INT32_MIN; *hi = INT32_MAX; return;
    default: *lo = INT64_MIN; *hi = INT64_MAX; return;
    }
}

xtype xt_int_as_decimal(xt t, int nullable)
{
    int p = t == XT_TINYINT ? 3 : t == XT_SMALLINT ? 5 : t == XT_INT ? 10 : 19;
    return xt_dec(p, 0, nullable);
}

static int starts(const char *s, const char *p) { return s && strncmp(s, p, strlen(p)) == 0; }

static xt int_width(const sl_column *c)
{
    const char *t = c->type_name;
    int u = c->is_unsigned;
    if (starts(t, "tinyint"))
        return u ? XT_SMALLINT : XT_TINYINT;
    if (starts(t, "smallint") || starts(t, "int2") || starts(t, "smallserial"))
        return u ? XT_INT : XT_SMALLINT;
    if (starts(t, "mediumint"))
        return XT_INT;
    if (starts(t, "bigint") || starts(t, "int8") || starts(t, "bigserial"))
        return XT_BIGINT;
    if (starts(t, "int") || starts(t, "integer") || starts(t, "serial") || starts(t, "int4"))
        return u ? XT_BIGINT : XT_INT;
    if (starts(t, "year"))
        return XT_INT;
    return XT_BIGINT;
}

xtype xt_of_column(const sl_column *c)
{
    int nul = c->nullable;
    if (c->is_array)
        return xt_make(XT_VARCHAR, nul);
    switch ((sl_kind)c->kind) {
    case SL_INT: return xt_make(int_width(c), nul);
    case SL_YEAR: return xt_make(XT_INT, nul);
    case SL_UINT: return xt_dec(20, 0, nul);
    case SL_BOOL: return xt_make(XT_BOOLEAN, nul);
    case SL_BIT: return c->precision <= 1 ? xt_make(XT_BOOLEAN, nul) : xt_dec(20, 0, nul);
    case SL_FLOAT: return xt_make(XT_FLOAT, nul);
    case SL_DOUBLE: return xt_make(XT_DOUBLE, nul);
    case SL_DECIMAL: {
        xtype t = xt_dec(c->precision > 38 ? 38 : c->precision, c->scale, nul);
        if (c->precision > 38 || !c->precision)
            t.p = 0; /* unconstrained: each value keeps its own scale */
        return t;
    }
    case SL_BYTES: return xt_make(XT_VARBINARY, nul);
    case SL_DATE: return xt_make(XT_DATE, nul);
    case SL_TIME: {
        xtype t = xt_make(XT_TIME, nul);
        t.s = c->scale;
        return t;
    }
    case SL_DATETIME: {
        xtype t = xt_make(XT_TIMESTAMP, nul);
        t.s = c->scale;
        return t;
    }
    case SL_TIMESTAMP: {
        xtype t = xt_make(XT_TIMESTAMP_LTZ, nul);
        t.s = c->scale;
        return t;
    }
    case SL_STRING: {
        xtype t = xt_make(XT_VARCHAR, nul);
        t.p = c->precision;
        return t;
    }
    default: return xt_make(XT_VARCHAR, nul);
    }
}

int xt_to_column(xtype t, const char *name, sl_column *out)
{
    memset(out, 0, sizeof *out);
    char tn[64];
    uint8_t kind = SL_STRING;
    switch ((xt)t.t) {
    case XT_BOOLEAN: kind = SL_BOOL; snprintf(tn, sizeof tn, "boolean"); break;
    case XT_TINYINT: kind = SL_INT; snprintf(tn, sizeof tn, "tinyint"); break;
    case XT_SMALLINT: kind = SL_INT; snprintf(tn, sizeof tn, "smallint"); break;
    case XT_INT: kind = SL_INT; snprintf(tn, sizeof tn, "int"); break;
    case XT_BIGINT: kind = SL_INT; snprintf(tn, sizeof tn, "bigint"); break;
    case XT_FLOAT: kind = SL_FLOAT; snprintf(tn, sizeof tn, "float"); break;
    case XT_DOUBLE: kind = SL_DOUBLE; snprintf(tn, sizeof tn, "double"); break;
    case XT_DECIMAL:
        kind = SL_DECIMAL;
        if (t.p)
            snprintf(tn, sizeof tn, "decimal(%u,%u)", t.p, t.s);
        else
            snprintf(tn, sizeof tn, "decimal");
        out->precision = t.p;
        out->scale = t.s;
        break;
    case XT_BINARY:
    case XT_VARBINARY: kind = SL_BYTES; snprintf(tn, sizeof tn, "varbinary"); break;
    case XT_DATE: kind = SL_DATE; snprintf(tn, sizeof tn, "date"); break;
    case XT_TIME:
        kind = SL_TIME;
        snprintf(tn, sizeof tn, "time(%u)", t.s);
        out->scale = t.s;
        break;
    case XT_TIMESTAMP:
        kind = SL_DATETIME;
        snprintf(tn, sizeof tn, "timestamp(%u)", t.s);
        out->scale = t.s;
        break;
    case XT_TIMESTAMP_LTZ:
        kind = SL_TIMESTAMP;
        snprintf(tn, sizeof tn, "timestamp_ltz(%u)", t.s);
        out->scale = t.s;
        break;
    case XT_CHAR:
    case XT_VARCHAR:
    default:
        if (t.p && t.t == XT_CHAR)
            snprintf(tn, sizeof tn, "char(%u)", t.p);
        else if (t.p)
            snprintf(tn, sizeof tn, "varchar(%u)", t.p);
        else
            snprintf(tn, sizeof tn, "string");
        out->precision = t.p;
        break;
    }
    out->kind = kind;
    out->nullable = t.nullable;
    out->name = strdup(name);
    out->type_name = strdup(tn);
    return out->name && out->type_name ? 0 : -1;
}
