/* fn_temporal.c — Flink CDC's temporal functions, evaluated in the
 * pipeline's local-time-zone: the clock (CURRENT_TIMESTAMP, NOW,
 * LOCALTIMESTAMP, CURRENT_DATE, CURRENT_TIME, UNIX_TIMESTAMP), formatting
 * and parsing with Java patterns (DATE_FORMAT, DATE_FORMAT_TZ,
 * FROM_UNIXTIME, TO_DATE, TO_TIMESTAMP, TO_TIMESTAMP_LTZ), calendar
 * arithmetic (TIMESTAMPADD, TIMESTAMPDIFF, DATE_ADD) and EXTRACT with its
 * shorthands (YEAR, MONTH, ...).
 *
 * A TIMESTAMP is a wall-clock time; Flink converts it to an instant in the
 * local time zone where a function needs one (TIMESTAMPDIFF, TIMESTAMPADD
 * of hours). A TIMESTAMP_LTZ is an instant; its calendar fields are read in
 * the local time zone, except where Flink reads them in UTC (TO_DATE, and
 * TIMESTAMPDIFF/TIMESTAMPADD between instants).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xeval.h"
#include "xtime.h"

#define US_DAY 86400000000LL

static const char *tn(xtype t, char *buf)
{
    xt_name(t, buf, 48);
    return buf;
}

static void set_i(xval *out, int64_t v)
{
    out->null = 0;
    out->unavailable = 0;
    out->u.i = v;
}

static xtz *ltz(xctx *c) { return c->rt->tz; }

static int64_t floor_div(int64_t a, int64_t b) { return x_floor_div(a, b); }

/* ---- the clock ---- */

enum { CLK_TS_LTZ, CLK_LOCAL_TS, CLK_DATE, CLK_TIME, CLK_UNIX };

static void f_clock(const xnode *n, xctx *c, xval *out)
{
    int64_t utc_us = c->now_ms * 1000;
    switch (n->i1) {
    case CLK_TS_LTZ: return set_i(out, utc_us);
    case CLK_LOCAL_TS: return set_i(out, xtz_local_us(ltz(c), utc_us));
    case CLK_DATE: return set_i(out, floor_div(xtz_local_us(ltz(c), utc_us), US_DAY));
    case CLK_TIME: {
        int64_t l = xtz_local_us(ltz(c), utc_us);
        int64_t tod = l - floor_div(l, US_DAY) * US_DAY;
        return set_i(out, tod - tod % 1000000);
    }
    default: return set_i(out, floor_div(c->now_ms, 1000));
    }
}

static int bind_clock(xnode *n, int which, xt t, int scale)
{
    n->type = xt_make(t, 0);
    n->type.s = (uint16_t)scale;
    n->i1 = which;
    n->eval = f_clock;
    return 0;
}

static int b_current_timestamp(xbinder *b, xnode *n) { return bind_clock(n, CLK_TS_LTZ, XT_TIMESTAMP_LTZ, 3); }
static int b_localtimestamp(xbinder *b, xnode *n) { return bind_clock(n, CLK_LOCAL_TS, XT_TIMESTAMP, 3); }
static int b_current_date(xbinder *b, xnode *n) { return bind_clock(n, CLK_DATE, XT_DATE, 0); }
static int b_current_time(xbinder *b, xnode *n) { return bind_clock(n, CLK_TIME, XT_TIME, 0); }

/* ---- patterns ---- */

typedef struct fmt_cache {
    xdatefmt *f;
    char *pat;
    size_t n;
    xtz *zone; /* owned: a zone named per row (DATE_FORMAT_TZ) */
    char zname[64];
} fmt_cache;

static void release_fmt(void *p)
{
    fmt_cache *fc = p;
    xdatefmt_free(fc->f);
    xtz_free(fc->zone);
    free(fc->pat);
    free(fc);
}

/* the formatter for this pattern text in zone tz (NULL: UTC, for wall
 * clock values); NULL and an error on a bad pattern */
static xdatefmt *formatter(const xnode *n, xctx *c, fmt_cache *fc, const char *pat, size_t pn, const xtz *tz,
                           xval *out)
{
    if (fc->f && fc->n == pn && memcmp(fc->pat, pat, pn) == 0)
        return fc->f;
    char why[200];
    xdatefmt *f;
    if (xdatefmt_open(pat, pn, tz, &f, why, sizeof why)) {
        x_fail(c, n, out, "%s", why);
        return NULL;
    }
    xdatefmt_free(fc->f);
    free(fc->pat);
    fc->f = f;
    fc->pat = malloc(pn ? pn : 1);
    if (fc->pat)
        memcpy(fc->pat, pat, pn);
    fc->n = fc->pat ? pn : (size_t)-1;
    return f;
}

static fmt_cache *new_cache(xbinder *b, xnode *n)
{
    fmt_cache *fc = calloc(1, sizeof *fc);
    if (!fc) {
        xb_fail(b, n, "out of memory");
        return NULL;
    }
    xb_own(b, fc, release_fmt);
    n->aux = fc;
    return fc;
}

static int format_into(xctx *c, const xnode *n, xdatefmt *f, int64_t ms, xval *out)
{
    char buf[512];
    int len = xdatefmt_format(f, ms, buf, sizeof buf);
    if (len < 0) {
        x_fail(c, n, out, "cannot format the date");
        return -1;
    }
    x_set_text(c, out, buf, (size_t)len);
    return 0;
}

/* wall-clock milliseconds of a temporal value, and whether it is an instant */
static int64_t wall_ms(xt t, const xval *v, int *instant)
{
    *instant = t == XT_TIMESTAMP_LTZ;
    switch (t) {
    case XT_DATE: return v->u.i * 86400000LL;
    case XT_TIME:
    case XT_TIMESTAMP:
    case XT_TIMESTAMP_LTZ: return floor_div(v->u.i, 1000);
    default: return 0;
    }
}

/* DATE_FORMAT(t, pattern) */
static void f_date_format(const xnode *n, xctx *c, xval *out)
{
    xval v[2];
    if (x_args(n, c, v, out))
        return;
    int instant;
    int64_t ms = wall_ms(n->args[0]->type.t, &v[0], &instant);
    xdatefmt *f = formatter(n, c, n->aux, v[1].u.s.p, v[1].u.s.n, instant ? ltz(c) : NULL, out);
    if (f)
        format_into(c, n, f, ms, out);
}

static int temporal_arg(xbinder *b, xnode *n, int i, int allow_time)
{
    xt t = n->args[i]->type.t;
    if (t == XT_ANY || t == XT_DATE || t == XT_TIMESTAMP || t == XT_TIMESTAMP_LTZ || (allow_time && t == XT_TIME))
        return 0;
    if (t == XT_NULL || xt_is_string(t))
        return xb_coerce(b, n, i, xt_make(XT_TIMESTAMP, 1));
    char x[48];
    return xb_fail(b, n->args[i], "expected a date, time or timestamp, not %s", tn(n->args[i]->type, x));
}

static int text_arg(xbinder *b, xnode *n, int i)
{
    xt t = n->args[i]->type.t;
    if (t == XT_ANY || xt_is_string(t))
        return 0;
    if (t == XT_NULL)
        return xb_coerce(b, n, i, xt_make(XT_VARCHAR, 1));
    char x[48];
    return xb_fail(b, n->args[i], "expected text, not %s", tn(n->args[i]->type, x));
}

/* validates a constant pattern now */
static int check_pattern(xbinder *b, xnode *n, int i)
{
    const xval *k = xb_const_arg(n, i);
    if (!k || k->null)
        return 0;
    xdatefmt *f;
    char why[200];
    if (xdatefmt_open(k->u.s.p, k->u.s.n, NULL, &f, why, sizeof why))
        return xb_fail(b, n->args[i], "%s", why);
    xdatefmt_free(f);
    return 0;
}

static int b_date_format(xbinder *b, xnode *n)
{
    if (temporal_arg(b, n, 0, 1) || text_arg(b, n, 1) || check_pattern(b, n, 1) || !new_cache(b, n))
        return -1;
    n->type = xt_make(XT_VARCHAR, 1);
    n->eval = f_date_format;
    return 0;
}

/* the cache's zone becomes the named one (a formatter of another zone is
 * dropped); -1 and an error for an unknown zone */
static int switch_zone(const xnode *n, xctx *c, fmt_cache *fc, const char *name, size_t len, xval *out)
{
    char zname[64];
    snprintf(zname, sizeof zname, "%.*s", (int)(len < 63 ? len : 63), name);
    if (fc->zone && strcmp(fc->zname, zname) == 0)
        return 0;
    xtz *z;
    char why[200];
    if (xtz_open(zname, &z, why, sizeof why)) {
        x_fail(c, n, out, "%s", why);
        return -1;
    }
    xtz_free(fc->zone);
    fc->zone = z;
    snprintf(fc->zname, sizeof fc->zname, "%s", zname);
    xdatefmt_free(fc->f);
    fc->f = NULL;
    return 0;
}

/* DATE_FORMAT_TZ(t, [pattern,] zone) */
static void f_date_format_tz(const xnode *n, xctx *c, xval *out)
{
    xval v[3];
    if (x_args(n, c, v, out))
        return;
    fmt_cache *fc = n->aux;
    const xval *zone = &v[n->nargs - 1];
    const char *pat = n->nargs == 3 ? v[1].u.s.p : "yyyy-MM-dd HH:mm:ss";
    size_t pn = n->nargs == 3 ? v[1].u.s.n : strlen(pat);
    if (switch_zone(n, c, fc, zone->u.s.p, zone->u.s.n, out))
        return;
    int instant;
    int64_t ms = wall_ms(n->args[0]->type.t, &v[0], &instant);
    /* a wall-clock TIMESTAMP keeps its fields; an instant is shown in the zone */
    xdatefmt *f = formatter(n, c, fc, pat, pn, instant ? fc->zone : NULL, out);
    if (f)
        format_into(c, n, f, ms, out);
}

static int b_date_format_tz(xbinder *b, xnode *n)
{
    if (temporal_arg(b, n, 0, 0) || text_arg(b, n, 1) || (n->nargs == 3 && text_arg(b, n, 2)) ||
        (n->nargs == 3 && check_pattern(b, n, 1)) || !new_cache(b, n))
        return -1;
    const xval *z = xb_const_arg(n, n->nargs - 1);
    if (z && !z->null) {
        char zname[64], why[200];
        snprintf(zname, sizeof zname, "%.*s", (int)(z->u.s.n < 63 ? z->u.s.n : 63), z->u.s.p);
        xtz *tz;
        if (xtz_open(zname, &tz, why, sizeof why))
            return xb_fail(b, n->args[n->nargs - 1], "%s", why);
        xtz_free(tz);
    }
    n->type = xt_make(XT_VARCHAR, 1);
    n->eval = f_date_format_tz;
    return 0;
}

/* FROM_UNIXTIME(seconds[, pattern]) in the local time zone */
static void f_from_unixtime(const xnode *n, xctx *c, xval *out)
{
    xval v[2];
    if (x_args(n, c, v, out))
        return;
    const char *pat = n->nargs > 1 ? v[1].u.s.p : "yyyy-MM-dd HH:mm:ss";
    size_t pn = n->nargs > 1 ? v[1].u.s.n : strlen(pat);
    xdatefmt *f = formatter(n, c, n->aux, pat, pn, ltz(c), out);
    if (f)
        format_into(c, n, f, v[0].u.i * 1000, out);
}

static int b_from_unixtime(xbinder *b, xnode *n)
{
    xt t = n->args[0]->type.t;
    if (t != XT_ANY && !xt_is_int(t) && t != XT_NULL) {
        char x[48];
        return xb_fail(b, n->args[0], "FROM_UNIXTIME needs whole seconds, not %s", tn(n->args[0]->type, x));
    }
    if ((n->nargs > 1 && (text_arg(b, n, 1) || check_pattern(b, n, 1))) || !new_cache(b, n))
        return -1;
    n->type = xt_make(XT_VARCHAR, 1);
    n->eval = f_from_unixtime;
    return 0;
}

/* UNIX_TIMESTAMP(): seconds now; UNIX_TIMESTAMP(text[, pattern]): the text
 * read in the local time zone, Long.MIN_VALUE when it does not parse (Flink) */
static void f_unix_timestamp(const xnode *n, xctx *c, xval *out)
{
    if (n->nargs == 0)
        return set_i(out, floor_div(c->now_ms, 1000));
    xval v[2];
    if (x_args(n, c, v, out))
        return;
    const char *pat = n->nargs > 1 ? v[1].u.s.p : "yyyy-MM-dd HH:mm:ss";
    size_t pn = n->nargs > 1 ? v[1].u.s.n : strlen(pat);
    xdatefmt *f = formatter(n, c, n->aux, pat, pn, ltz(c), out);
    if (!f)
        return;
    int64_t ms;
    if (xdatefmt_parse(f, v[0].u.s.p, v[0].u.s.n, &ms))
        return set_i(out, INT64_MIN);
    set_i(out, floor_div(ms, 1000));
}

static int b_unix_timestamp(xbinder *b, xnode *n)
{
    for (int i = 0; i < n->nargs; i++)
        if (text_arg(b, n, i))
            return -1;
    if ((n->nargs > 1 && check_pattern(b, n, 1)) || !new_cache(b, n))
        return -1;
    n->type = xt_make(XT_BIGINT, n->nargs > 0);
    n->eval = f_unix_timestamp;
    return 0;
}

/* TO_DATE(text[, pattern]): NULL when it does not parse; TO_DATE(t): its date */
static void f_to_date(const xnode *n, xctx *c, xval *out)
{
    xval v[2];
    if (x_args(n, c, v, out))
        return;
    xt t = n->args[0]->type.t;
    if (t == XT_TIMESTAMP)
        return set_i(out, floor_div(v[0].u.i, US_DAY));
    if (t == XT_TIMESTAMP_LTZ) /* Flink reads an instant's date in UTC here */
        return set_i(out, floor_div(v[0].u.i, US_DAY));
    if (n->nargs == 1) {
        xval d;
        x_convert(c, n, xt_make(XT_VARCHAR, 0), xt_make(XT_DATE, 1), &v[0], &d, X_TRY);
        *out = d;
        return;
    }
    xdatefmt *f = formatter(n, c, n->aux, v[1].u.s.p, v[1].u.s.n, NULL, out);
    if (!f)
        return;
    int64_t ms;
    if (xdatefmt_parse(f, v[0].u.s.p, v[0].u.s.n, &ms))
        return x_null(out);
    set_i(out, floor_div(ms, 86400000LL));
}

static int b_to_date(xbinder *b, xnode *n)
{
    xt t = n->args[0]->type.t;
    if (t == XT_TIMESTAMP || t == XT_TIMESTAMP_LTZ) {
        if (n->nargs > 1)
            return xb_fail(b, n->args[1], "TO_DATE of a timestamp takes no pattern");
    } else if (text_arg(b, n, 0)) {
        return -1;
    }
    if ((n->nargs > 1 && (text_arg(b, n, 1) || check_pattern(b, n, 1))) || !new_cache(b, n))
        return -1;
    n->type = xt_make(XT_DATE, 1);
    n->eval = f_to_date;
    return 0;
}

/* TO_TIMESTAMP(text[, pattern]) -> TIMESTAMP(3); a text that does not
 * parse stops the pipeline, as in Flink */
static void f_to_timestamp(const xnode *n, xctx *c, xval *out)
{
    xval v[2];
    if (x_args(n, c, v, out))
        return;
    const char *pat = n->nargs > 1 ? v[1].u.s.p : "yyyy-MM-dd HH:mm:ss";
    size_t pn = n->nargs > 1 ? v[1].u.s.n : strlen(pat);
    xdatefmt *f = formatter(n, c, n->aux, pat, pn, NULL, out);
    if (!f)
        return;
    int64_t ms;
    if (xdatefmt_parse(f, v[0].u.s.p, v[0].u.s.n, &ms))
        return x_fail(c, n, out, "'%.*s' does not match the date pattern '%.*s'", (int)(v[0].u.s.n > 60 ? 60 : v[0].u.s.n),
                      v[0].u.s.p, (int)pn, pat);
    set_i(out, ms * 1000);
}

static int b_to_timestamp(xbinder *b, xnode *n)
{
    if (text_arg(b, n, 0) || (n->nargs > 1 && (text_arg(b, n, 1) || check_pattern(b, n, 1))) || !new_cache(b, n))
        return -1;
    n->type = xt_make(XT_TIMESTAMP, 1);
    n->type.s = 3;
    n->eval = f_to_timestamp;
    return 0;
}

/* TO_TIMESTAMP_LTZ(epoch[, 0|3]) or (text[, pattern[, zone]]) */
static void f_to_timestamp_ltz(const xnode *n, xctx *c, xval *out)
{
    xval v[3];
    if (x_args(n, c, v, out))
        return;
    if (xt_is_int(n->args[0]->type.t)) {
        int64_t p = n->nargs > 1 ? v[1].u.i : 3;
        if (p != 0 && p != 3)
            return x_fail(c, n, out, "TO_TIMESTAMP_LTZ precision must be 0 or 3, not %lld", (long long)p);
        return set_i(out, p == 0 ? v[0].u.i * 1000000 : v[0].u.i * 1000);
    }
    fmt_cache *fc = n->aux;
    const char *pat = n->nargs > 1 ? v[1].u.s.p : "yyyy-MM-dd HH:mm:ss.SSS";
    size_t pn = n->nargs > 1 ? v[1].u.s.n : strlen(pat);
    if (switch_zone(n, c, fc, n->nargs > 2 ? v[2].u.s.p : "UTC", n->nargs > 2 ? v[2].u.s.n : 3, out))
        return;
    xdatefmt *f = formatter(n, c, fc, pat, pn, fc->zone, out);
    if (!f)
        return;
    int64_t ms;
    if (xdatefmt_parse(f, v[0].u.s.p, v[0].u.s.n, &ms))
        return x_fail(c, n, out, "'%.*s' does not match the date pattern '%.*s'", (int)(v[0].u.s.n > 60 ? 60 : v[0].u.s.n),
                      v[0].u.s.p, (int)pn, pat);
    set_i(out, ms * 1000);
}

static int b_to_timestamp_ltz(xbinder *b, xnode *n)
{
    xt t = n->args[0]->type.t;
    if (xt_is_int(t)) {
        if (n->nargs > 2 || (n->nargs == 2 && !xt_is_int(n->args[1]->type.t) && n->args[1]->type.t != XT_ANY))
            return xb_fail(b, n, "write TO_TIMESTAMP_LTZ(epoch) or TO_TIMESTAMP_LTZ(epoch, 0 or 3)");
    } else {
        for (int i = 0; i < n->nargs; i++)
            if (text_arg(b, n, i))
                return -1;
        if (n->nargs > 1 && check_pattern(b, n, 1))
            return -1;
    }
    if (!new_cache(b, n))
        return -1;
    n->type = xt_make(XT_TIMESTAMP_LTZ, 1);
    n->type.s = 3;
    n->eval = f_to_timestamp_ltz;
    return 0;
}

/* ---- calendar arithmetic ---- */

enum { U_SECOND, U_MINUTE, U_HOUR, U_DAY, U_WEEK, U_MONTH, U_QUARTER, U_YEAR };

static int unit_of(const char *s)
{
    static const char *const names[] = {"SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH", "QUARTER", "YEAR", NULL};
    for (int i = 0; names[i]; i++)
        if (strcasecmp(s, names[i]) == 0)
            return i;
    return -1;
}

static int unit_arg(xbinder *b, xnode *n, int allow_week)
{
    const xval *u = xb_const_arg(n, 0);
    char name[16] = "";
    if (u && !u->null)
        snprintf(name, sizeof name, "%.*s", (int)(u->u.s.n < 15 ? u->u.s.n : 15), u->u.s.p);
    int k = unit_of(name);
    if (k < 0 || (!allow_week && (k == U_WEEK || k == U_QUARTER)))
        return xb_fail(b, n->args[0], "the unit must be SECOND, MINUTE, HOUR, DAY, MONTH or YEAR, not %s",
                       name[0] ? name : "a computed value");
    n->i1 = k;
    return 0;
}

static void civil(int64_t us, int64_t *y, unsigned *m, unsigned *d, int64_t *tod)
{
    int64_t days;
    x_split_us(us, &days, tod);
    sl_civil_from_days(days, y, m, d);
}

/* adds months to a wall-clock time, clamping the day of month */
static int64_t add_months(int64_t us, int64_t months)
{
    int64_t y, tod;
    unsigned m, d;
    civil(us, &y, &m, &d, &tod);
    int64_t mm = y * 12 + (m - 1) + months;
    y = floor_div(mm, 12);
    m = (unsigned)(mm - y * 12) + 1;
    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned last = mdays[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    return sl_days_from_civil(y, m, d > last ? last : d) * US_DAY + tod;
}

/* TIMESTAMPADD(unit, n, t): hours and below move the instant, days and
 * above the calendar (as java.util.Calendar.add in the zone) */
static void f_timestampadd(const xnode *n, xctx *c, xval *out)
{
    xval v[3];
    if (x_args(n, c, v, out))
        return;
    int64_t k = v[1].u.i, t = v[2].u.i;
    xt ty = n->args[2]->type.t;
    int instant = ty == XT_TIMESTAMP_LTZ;
    static const int64_t us_of[] = {1000000LL, 60000000LL, 3600000000LL};
    int64_t r;
    if (ty == XT_DATE) {
        int64_t us = t * US_DAY;
        if (n->i1 <= U_HOUR)
            us += k * us_of[n->i1];
        else if (n->i1 == U_DAY)
            us += k * US_DAY;
        else
            us = add_months(us, n->i1 == U_MONTH ? k : k * 12);
        return set_i(out, floor_div(us, US_DAY));
    }
    if (n->i1 <= U_HOUR) {
        /* elapsed time: a wall clock goes through its instant in the zone */
        if (instant)
            r = t + k * us_of[n->i1];
        else
            r = xtz_local_us(ltz(c), xtz_utc_us(ltz(c), t) + k * us_of[n->i1]);
    } else {
        int64_t wall = t;
        if (n->i1 == U_DAY)
            wall += k * US_DAY;
        else
            wall = add_months(wall, n->i1 == U_MONTH ? k : k * 12);
        /* a wall time the zone skips resolves forward */
        r = instant ? wall : xtz_local_us(ltz(c), xtz_utc_us(ltz(c), wall));
    }
    set_i(out, r);
}

static int b_timestampadd(xbinder *b, xnode *n)
{
    if (unit_arg(b, n, 0))
        return -1;
    xt t = n->args[1]->type.t;
    if (t != XT_ANY && !xt_is_int(t)) {
        char x[48];
        return xb_fail(b, n->args[1], "TIMESTAMPADD needs a whole number to add, not %s", tn(n->args[1]->type, x));
    }
    if (temporal_arg(b, n, 2, 0))
        return -1;
    n->type = n->args[2]->type;
    n->type.nullable = 1;
    n->eval = f_timestampadd;
    return 0;
}

/* TIMESTAMPDIFF(unit, a, b) -> INT: seconds and above truncate toward
 * zero; MONTH and YEAR count calendar boundaries as Flink's Calendar code */
static void f_timestampdiff(const xnode *n, xctx *c, xval *out)
{
    xval v[3];
    if (x_args(n, c, v, out))
        return;
    int64_t a = v[1].u.i, b = v[2].u.i;
    xt ta = n->args[1]->type.t, tb = n->args[2]->type.t;
    if (ta == XT_DATE)
        a *= US_DAY;
    if (tb == XT_DATE)
        b *= US_DAY;
    int64_t ia = ta == XT_TIMESTAMP_LTZ ? a : xtz_utc_us(ltz(c), a);
    int64_t ib = tb == XT_TIMESTAMP_LTZ ? b : xtz_utc_us(ltz(c), b);
    if (n->i1 <= U_DAY) {
        int64_t secs = (floor_div(ib, 1000) - floor_div(ia, 1000)) / 1000;
        if (secs > INT32_MAX)
            return x_null(out);
        int32_t s = (int32_t)secs;
        static const int div[] = {1, 60, 3600, 86400};
        return set_i(out, s / div[n->i1]);
    }
    /* calendar fields: an instant in UTC, a wall clock as it is */
    int64_t wa = ta == XT_TIMESTAMP_LTZ && tb == XT_TIMESTAMP_LTZ ? ia : ta == XT_TIMESTAMP_LTZ ? ia : a;
    int64_t wb = ta == XT_TIMESTAMP_LTZ && tb == XT_TIMESTAMP_LTZ ? ib : tb == XT_TIMESTAMP_LTZ ? ib : b;
    int64_t ya, yb, tod;
    unsigned ma, mb, d;
    civil(wa, &ya, &ma, &d, &tod);
    civil(wb, &yb, &mb, &d, &tod);
    int64_t r = n->i1 == U_MONTH ? (yb * 12 + mb) - (ya * 12 + ma) : yb - ya;
    set_i(out, (int32_t)r);
}

static int b_timestampdiff(xbinder *b, xnode *n)
{
    if (unit_arg(b, n, 0) || temporal_arg(b, n, 1, 0) || temporal_arg(b, n, 2, 0))
        return -1;
    n->type = xt_make(XT_INT, 1);
    n->eval = f_timestampdiff;
    return 0;
}

/* DATE_ADD(t, days) -> 'yyyy-MM-dd' */
static void f_date_add(const xnode *n, xctx *c, xval *out)
{
    xval v[2];
    if (x_args(n, c, v, out))
        return;
    xt t = n->args[0]->type.t;
    int64_t days;
    if (t == XT_DATE)
        days = v[0].u.i;
    else if (t == XT_TIMESTAMP)
        days = floor_div(v[0].u.i, US_DAY);
    else if (t == XT_TIMESTAMP_LTZ)
        days = floor_div(xtz_local_us(ltz(c), v[0].u.i), US_DAY);
    else {
        /* 'yyyy-MM-dd' or 'yyyy-MM-dd HH:mm:ss' */
        if (v[0].u.s.n != 10 && v[0].u.s.n != 19)
            return x_fail(c, n, out, "DATE_ADD cannot read '%.*s' as a date", (int)(v[0].u.s.n > 40 ? 40 : v[0].u.s.n),
                          v[0].u.s.p);
        xval d;
        x_convert(c, n, xt_make(XT_VARCHAR, 0), xt_make(XT_TIMESTAMP, 0), &v[0], &d, X_IMPLICIT);
        if (d.null)
            return x_null(out);
        days = floor_div(d.u.i, US_DAY);
    }
    xval r;
    r.null = 0;
    r.u.i = days + v[1].u.i;
    char buf[32];
    int len = x_to_text(c, xt_make(XT_DATE, 0), &r, buf, sizeof buf);
    x_set_text(c, out, buf, (size_t)len);
}

static int b_date_add(xbinder *b, xnode *n)
{
    xt t = n->args[0]->type.t;
    if (!(t == XT_ANY || t == XT_DATE || t == XT_TIMESTAMP || t == XT_TIMESTAMP_LTZ || xt_is_string(t))) {
        char x[48];
        return xb_fail(b, n->args[0], "DATE_ADD needs a date, timestamp or text, not %s", tn(n->args[0]->type, x));
    }
    xt k = n->args[1]->type.t;
    if (k != XT_ANY && !xt_is_int(k))
        return xb_fail(b, n->args[1], "DATE_ADD needs a whole number of days");
    n->type = xt_make(XT_VARCHAR, 1);
    n->eval = f_date_add;
    return 0;
}

/* ---- EXTRACT ---- */

enum { E_YEAR, E_QUARTER, E_MONTH, E_WEEK, E_DAY, E_DOY, E_DOW, E_HOUR, E_MINUTE, E_SECOND };

/* ISO-8601 week of the year */
static int64_t iso_week(int64_t days)
{
    int64_t y, tod = 0;
    unsigned m, d;
    (void)tod;
    sl_civil_from_days(days, &y, &m, &d);
    int64_t wd = ((days % 7) + 7 + 3) % 7; /* Monday 0: 1970-01-01 was a Thursday */
    int64_t thursday = days - wd + 3;
    int64_t ty;
    unsigned tm, td;
    sl_civil_from_days(thursday, &ty, &tm, &td);
    int64_t jan1 = sl_days_from_civil(ty, 1, 1);
    return (thursday - jan1) / 7 + 1;
}

static void f_extract(const xnode *n, xctx *c, xval *out)
{
    xval v;
    xeval_arg(n, n->nargs - 1, c, &v);
    if (v.null) {
        *out = v;
        return;
    }
    xt t = n->args[n->nargs - 1]->type.t;
    int64_t us = t == XT_DATE ? v.u.i * US_DAY : t == XT_TIMESTAMP_LTZ ? xtz_local_us(ltz(c), v.u.i) : v.u.i;
    int64_t days, tod;
    x_split_us(us, &days, &tod);
    int64_t y;
    unsigned m, d;
    sl_civil_from_days(days, &y, &m, &d);
    int64_t r = 0;
    switch (n->i1) {
    case E_YEAR: r = y; break;
    case E_QUARTER: r = (m - 1) / 3 + 1; break;
    case E_MONTH: r = m; break;
    case E_WEEK: r = iso_week(days); break;
    case E_DAY: r = d; break;
    case E_DOY: r = days - sl_days_from_civil(y, 1, 1) + 1; break;
    case E_DOW: r = ((days % 7) + 7 + 4) % 7 + 1; break; /* Sunday 1 */
    case E_HOUR: r = tod / 3600000000LL; break;
    case E_MINUTE: r = tod / 60000000 % 60; break;
    case E_SECOND: r = tod / 1000000 % 60; break;
    }
    set_i(out, r);
}

static int bind_extract(xbinder *b, xnode *n, int unit)
{
    int ti = n->nargs - 1;
    xt t = n->args[ti]->type.t;
    if (t == XT_NULL || xt_is_string(t)) {
        if (xb_coerce(b, n, ti, xt_make(XT_TIMESTAMP, 1)))
            return -1;
        t = XT_TIMESTAMP;
    }
    if (t != XT_ANY && !xt_is_temporal(t)) {
        char x[48];
        return xb_fail(b, n->args[ti], "EXTRACT needs a date, time or timestamp, not %s", tn(n->args[ti]->type, x));
    }
    if (t == XT_TIME && unit <= E_DOW)
        return xb_fail(b, n, "a TIME has no date part to extract");
    n->type = xt_make(XT_BIGINT, n->args[ti]->type.nullable);
    n->i1 = unit;
    n->eval = f_extract;
    return 0;
}

static int b_extract(xbinder *b, xnode *n)
{
    const xval *u = xb_const_arg(n, 0);
    static const char *const names[] = {"YEAR", "QUARTER", "MONTH", "WEEK", "DAY", "DOY", "DOW", "HOUR", "MINUTE",
                                        "SECOND", NULL};
    char name[16] = "";
    if (u && !u->null)
        snprintf(name, sizeof name, "%.*s", (int)(u->u.s.n < 15 ? u->u.s.n : 15), u->u.s.p);
    for (int i = 0; names[i]; i++)
        if (strcmp(name, names[i]) == 0)
            return bind_extract(b, n, i);
    return xb_fail(b, n->args[0], "EXTRACT supports YEAR, QUARTER, MONTH, WEEK, DAY, DOY, DOW, HOUR, MINUTE and "
                                  "SECOND, not %s",
                   name);
}

static int b_year(xbinder *b, xnode *n) { return bind_extract(b, n, E_YEAR); }
static int b_quarter(xbinder *b, xnode *n) { return bind_extract(b, n, E_QUARTER); }
static int b_month(xbinder *b, xnode *n) { return bind_extract(b, n, E_MONTH); }
static int b_week(xbinder *b, xnode *n) { return bind_extract(b, n, E_WEEK); }
static int b_dayofyear(xbinder *b, xnode *n) { return bind_extract(b, n, E_DOY); }
static int b_dayofmonth(xbinder *b, xnode *n) { return bind_extract(b, n, E_DAY); }
static int b_dayofweek(xbinder *b, xnode *n) { return bind_extract(b, n, E_DOW); }
static int b_hour(xbinder *b, xnode *n) { return bind_extract(b, n, E_HOUR); }
static int b_minute(xbinder *b, xnode *n) { return bind_extract(b, n, E_MINUTE); }
static int b_second(xbinder *b, xnode *n) { return bind_extract(b, n, E_SECOND); }

const xfunc x_fn_temporal[] = {
    {"CURRENT_TIMESTAMP", 0, 0, b_current_timestamp, 1},
    {"NOW", 0, 0, b_current_timestamp, 1},
    {"LOCALTIMESTAMP", 0, 0, b_localtimestamp, 1},
    {"CURRENT_DATE", 0, 0, b_current_date, 1},
    {"CURRENT_TIME", 0, 0, b_current_time, 1},
    {"LOCALTIME", 0, 0, b_current_time, 1},
    {"UNIX_TIMESTAMP", 0, 2, b_unix_timestamp, 1},
    {"FROM_UNIXTIME", 1, 2, b_from_unixtime, 0},
    {"DATE_FORMAT", 2, 2, b_date_format, 0},
    {"DATE_FORMAT_TZ", 2, 3, b_date_format_tz, 0},
    {"TO_DATE", 1, 2, b_to_date, 0},
    {"TO_TIMESTAMP", 1, 2, b_to_timestamp, 0},
    {"TO_TIMESTAMP_LTZ", 1, 3, b_to_timestamp_ltz, 0},
    {"TIMESTAMPADD", 3, 3, b_timestampadd, 0},
    {"TIMESTAMPDIFF", 3, 3, b_timestampdiff, 0},
    {"TIMESTAMP_DIFF", 3, 3, b_timestampdiff, 0},
    {"DATE_ADD", 2, 2, b_date_add, 0},
    {"EXTRACT", 2, 2, b_extract, 0},
    {"YEAR", 1, 1, b_year, 0},
    {"QUARTER", 1, 1, b_quarter, 0},
    {"MONTH", 1, 1, b_month, 0},
    {"WEEK", 1, 1, b_week, 0},
    {"DAYOFYEAR", 1, 1, b_dayofyear, 0},
    {"DAYOFMONTH", 1, 1, b_dayofmonth, 0},
    {"DAYOFWEEK", 1, 1, b_dayofweek, 0},
    {"HOUR", 1, 1, b_hour, 0},
    {"MINUTE", 1, 1, b_minute, 0},
    {"SECOND", 1, 1, b_second, 0},
    {NULL, 0, 0, NULL, 0},
};
