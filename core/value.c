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


/* Years are astronomical with at least four digits after the sign: 44 BC is
 * "-0043" ("%04lld" alone wrote "-043", which no server reads as a year). */
int sl_date_text(char *buf, size_t len, int64_t days)
{
    int64_t y;
    unsigned m, d;
    sl_civil_from_days(days, &y, &m, &d);
    return snprintf(buf, len, "%s%04lld-%02u-%02u", y < 0 ? "-" : "", (long long)(y < 0 ? -y : y), m, d);
}

/* Past INT64_MAX microseconds (PostgreSQL's years 294247..294276) v.u holds
 * the value: read as signed it was a date 290,000 years BC. */
void sl_value_day_us(const sl_value *v, int64_t *days, int64_t *us_of_day)
{
    if (v->flags & SL_VF_U64) {
        *days = (int64_t)(v->v.u / 86400000000ULL);
        *us_of_day = (int64_t)(v->v.u % 86400000000ULL);
        return;
    }
    /* days * 86400000000 itself leaves the int64 range near INT64_MIN */
    int64_t r = v->v.i % 86400000000LL;
    *days = v->v.i / 86400000000LL - (r < 0);
    *us_of_day = r < 0 ? r + 86400000000LL : r;
}

int sl_value_sql_text(const sl_value *v, char *buf, size_t len)
{
    switch ((sl_kind)v->kind) {
    case SL_DATE:
        return sl_date_text(buf, len, v->v.i);
    case SL_DATETIME:
    case SL_TIMESTAMP: {
        int64_t days, tod;
        sl_value_day_us(v, &days, &tod);
        int n = sl_date_text(buf, len, days);
        if (n < 0 || (size_t)n >= len)
            return n;
        int64_t sod = tod / 1000000;
        return n + snprintf(buf + n, len - (size_t)n, " %02d:%02d:%02d.%06lld", (int)(sod / 3600),
                            (int)(sod / 60 % 60), (int)(sod % 60), (long long)(tod % 1000000));
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
