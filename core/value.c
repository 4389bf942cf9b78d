/* value.c — names of value kinds and calendar arithmetic.
 *
 * The day-number conversion is Howard Hinnant's public-domain algorithm
 * (proleptic Gregorian calendar), valid for every year MySQL and PostgreSQL
 * can store.
 */
#include "value.h"

#include <stdio.h>

static const char *const kind_names[] = {
    "null", "int", "uint", "float", "double", "decimal", "string", "bytes", "date", "time",
    "datetime", "timestamp", "json", "enum", "set", "bit", "year", "bool", "textual", "unchanged",
};

const char *sl_kind_name(sl_kind kind)
{
    if ((unsigned)kind < sizeof kind_names / sizeof kind_names[0])
        return kind_names[kind];
    return "?";
}

int64_t sl_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void sl_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t yy = (int64_t)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

int sl_value_sql_text(const sl_value *v, char *buf, size_t len)
{
    int64_t y;
    unsigned m, d;
    switch ((sl_kind)v->kind) {
    case SL_DATE:
        sl_civil_from_days(v->v.i, &y, &m, &d);
        return snprintf(buf, len, "%04lld-%02u-%02u", (long long)y, m, d);
    case SL_DATETIME:
    case SL_TIMESTAMP: {
        int64_t secs = floor_div(v->v.i, 1000000), us = v->v.i - secs * 1000000;
        int64_t days = floor_div(secs, 86400), sod = secs - days * 86400;
        sl_civil_from_days(days, &y, &m, &d);
        return snprintf(buf, len, "%04lld-%02u-%02u %02d:%02d:%02d.%06lld", (long long)y, m, d, (int)(sod / 3600),
                        (int)(sod / 60 % 60), (int)(sod % 60), (long long)us);
    }
    case SL_TIME: {
        uint64_t a = v->v.i < 0 ? (uint64_t)0 - (uint64_t)v->v.i : (uint64_t)v->v.i;
        uint64_t secs = a / 1000000;
        return snprintf(buf, len, "%s%02llu:%02llu:%02llu.%06llu", v->v.i < 0 ? "-" : "",
                        (unsigned long long)(secs / 3600), (unsigned long long)(secs / 60 % 60),
                        (unsigned long long)(secs % 60), (unsigned long long)(a % 1000000));
    }
    case SL_FLOAT:
        return snprintf(buf, len, "%.9g", v->v.d);
    case SL_DOUBLE:
        return snprintf(buf, len, "%.17g", v->v.d);
    case SL_INT:
    case SL_YEAR:
    case SL_BOOL:
        return snprintf(buf, len, "%lld", (long long)v->v.i);
    case SL_UINT:
    case SL_BIT:
        return snprintf(buf, len, "%llu", (unsigned long long)v->v.u);
    default:
        return snprintf(buf, len, "%.*s", (int)v->len, v->v.s ? v->v.s : "");
    }
}
