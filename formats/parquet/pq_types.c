/* pq_types.c — the ready-made column types of parquet.h and the check
 * that a column definition is one the spec allows. */
#include "pq_internal.h"

#include <stdio.h>
#include <string.h>

static sl_pq_type mk(int physical, int logical)
{
    sl_pq_type t = {0};
    t.physical = (uint8_t)physical;
    t.logical = (uint8_t)logical;
    return t;
}

sl_pq_type sl_pq_t_bool(void) { return mk(SL_PQ_BOOLEAN, SL_PQ_LT_NONE); }
sl_pq_type sl_pq_t_int32(void) { return mk(SL_PQ_INT32, SL_PQ_LT_NONE); }
sl_pq_type sl_pq_t_int64(void) { return mk(SL_PQ_INT64, SL_PQ_LT_NONE); }
sl_pq_type sl_pq_t_float(void) { return mk(SL_PQ_FLOAT, SL_PQ_LT_NONE); }
sl_pq_type sl_pq_t_double(void) { return mk(SL_PQ_DOUBLE, SL_PQ_LT_NONE); }
sl_pq_type sl_pq_t_string(void) { return mk(SL_PQ_BYTE_ARRAY, SL_PQ_LT_STRING); }
sl_pq_type sl_pq_t_json(void) { return mk(SL_PQ_BYTE_ARRAY, SL_PQ_LT_JSON); }
sl_pq_type sl_pq_t_binary(void) { return mk(SL_PQ_BYTE_ARRAY, SL_PQ_LT_NONE); }
sl_pq_type sl_pq_t_date(void) { return mk(SL_PQ_INT32, SL_PQ_LT_DATE); }
sl_pq_type sl_pq_t_time_us(void) { return mk(SL_PQ_INT64, SL_PQ_LT_TIME_MICROS); }

sl_pq_type sl_pq_t_int(int bits, int is_signed)
{
    sl_pq_type t = mk(bits == 64 ? SL_PQ_INT64 : SL_PQ_INT32, SL_PQ_LT_INT);
    t.bit_width = (uint8_t)bits;
    t.is_signed = (uint8_t)(is_signed != 0);
    return t;
}

sl_pq_type sl_pq_t_fixed(int32_t length)
{
    sl_pq_type t = mk(SL_PQ_FIXED, SL_PQ_LT_NONE);
    t.length = length;
    return t;
}

sl_pq_type sl_pq_t_uuid(void)
{
    sl_pq_type t = mk(SL_PQ_FIXED, SL_PQ_LT_UUID);
    t.length = 16;
    return t;
}

sl_pq_type sl_pq_t_timestamp_us(int utc)
{
    sl_pq_type t = mk(SL_PQ_INT64, SL_PQ_LT_TIMESTAMP_MICROS);
    t.utc = (uint8_t)(utc != 0);
    return t;
}

sl_pq_type sl_pq_t_decimal(int precision, int scale)
{
    sl_pq_type t = mk(precision <= 9 ? SL_PQ_INT32 : precision <= 18 ? SL_PQ_INT64 : SL_PQ_FIXED,
                      SL_PQ_LT_DECIMAL);
    t.precision = precision;
    t.scale = scale;
    if (t.physical == SL_PQ_FIXED)
        t.length = sl_decimal_fixed_len(precision);
    return t;
}

int sl_pq_bound_decimal(const sl_pq_type *t, const uint8_t *p, size_t n, sl_i128 *out)
{
    if (t->logical != SL_PQ_LT_DECIMAL)
        return -1;
    if (t->physical == SL_PQ_INT32 || t->physical == SL_PQ_INT64) {
        size_t want = t->physical == SL_PQ_INT32 ? 4 : 8;
        if (n != want)
            return -1;
        int64_t v = 0;
        memcpy(&v, p, n); /* little-endian, then sign-extend */
        if (n == 4)
            v = (int32_t)(uint32_t)v;
        *out = v;
        return 0;
    }
    if (n == 0 || n > 16)
        return -1;
    sl_i128 v = (int8_t)p[0]; /* big-endian two's complement */
    for (size_t i = 1; i < n; i++)
        v = v * 256 + p[i];
    *out = v;
    return 0;
}

/* the spec's rules for an annotation on a physical type */
int sl_pq_check_column(const sl_pq_column *c, int index, sl_err *err)
{
    const sl_pq_type *t = &c->type;
    const char *name = c->name ? c->name : "";
    if (!c->name || !*c->name)
        return sl_errf(err, SL_ECONFIG, "parquet: column %d has no name", index);
    switch (t->physical) {
    case SL_PQ_BOOLEAN:
    case SL_PQ_INT32:
    case SL_PQ_INT64:
    case SL_PQ_FLOAT:
    case SL_PQ_DOUBLE:
    case SL_PQ_BYTE_ARRAY:
        break;
    case SL_PQ_FIXED:
        if (t->length <= 0)
            return sl_errf(err, SL_ECONFIG, "parquet: column \"%s\": FIXED_LEN_BYTE_ARRAY needs a length > 0", name);
        break;
    default:
        return sl_errf(err, SL_ECONFIG, "parquet: column \"%s\": unknown physical type %d", name, t->physical);
    }
    int p = t->physical, ok = 1;
    switch (t->logical) {
    case SL_PQ_LT_NONE:
        break;
    case SL_PQ_LT_STRING:
    case SL_PQ_LT_JSON:
    case SL_PQ_LT_ENUM:
        ok = p == SL_PQ_BYTE_ARRAY;
        break;
    case SL_PQ_LT_UUID:
        ok = p == SL_PQ_FIXED && t->length == 16;
        break;
    case SL_PQ_LT_DATE:
        ok = p == SL_PQ_INT32;
        break;
    case SL_PQ_LT_TIME_MICROS:
    case SL_PQ_LT_TIMESTAMP_MICROS:
        ok = p == SL_PQ_INT64;
        break;
    case SL_PQ_LT_INT:
        ok = (t->bit_width == 64 && p == SL_PQ_INT64) ||
             ((t->bit_width == 8 || t->bit_width == 16 || t->bit_width == 32) && p == SL_PQ_INT32);
        break;
    case SL_PQ_LT_DECIMAL:
        if (t->precision < 1 || t->precision > 38 || t->scale < 0 || t->scale > t->precision)
            return sl_errf(err, SL_ECONFIG,
                           "parquet: column \"%s\": decimal(%d,%d) is out of range (precision 1..38, scale 0..precision)",
                           name, t->precision, t->scale);
        ok = (p == SL_PQ_INT32 && t->precision <= 9) || (p == SL_PQ_INT64 && t->precision <= 18) ||
             (p == SL_PQ_FIXED && t->length >= sl_decimal_fixed_len(t->precision) && t->length <= 16);
        break;
    default:
        return sl_errf(err, SL_ECONFIG, "parquet: column \"%s\": unknown logical type %d", name, t->logical);
    }
    if (!ok)
        return sl_errf(err, SL_ECONFIG,
                       "parquet: column \"%s\": logical type %d cannot annotate physical type %d here",
                       name, t->logical, p);
    return 0;
}
