/* xtime.c — ICU-backed time zones and date patterns (see xtime.h). */
#include "xtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/ucal.h>
#include <unicode/udat.h>
#include <unicode/ustring.h>

#include "../../core/value.h"

struct xtz {
    UCalendar *cal;
    UChar id[64];
    int32_t idlen;
    char name[64];
    int fixed;        /* a fixed offset zone (UTC, +08:00): no lookups */
    int64_t fixed_ms;
};

int64_t x_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

void x_split_us(int64_t us, int64_t *days, int64_t *us_of_day)
{
    *days = x_floor_div(us, 86400000000LL);
    *us_of_day = us - *days * 86400000000LL;
}

/* Java's offset ids: "+08:00", "-5", "UTC+8", "GMT+08:00" */
static int offset_id(const char *id, int64_t *ms)
{
    const char *p = id;
    if (strncmp(p, "UTC", 3) == 0 || strncmp(p, "GMT", 3) == 0)
        p += 3;
    else if (strncmp(p, "UT", 2) == 0)
        p += 2;
    if (!*p && p != id) {
        *ms = 0;
        return 1;
    }
    if (*p != '+' && *p != '-')
        return 0;
    int sign = *p++ == '-' ? -1 : 1;
    int h = 0, m = 0, s = 0, n = 0;
    if (sscanf(p, "%2d:%2d:%2d%n", &h, &m, &s, &n) >= 2 && !p[n]) {
    } else if (sscanf(p, "%2d:%2d%n", &h, &m, &n) == 2 && !p[n]) {
    } else if (strlen(p) == 4 && sscanf(p, "%2d%2d%n", &h, &m, &n) == 2 && !p[n]) {
    } else if ((strlen(p) == 1 || strlen(p) == 2) && sscanf(p, "%d%n", &h, &n) == 1 && !p[n]) {
        m = 0;
    } else {
        return 0;
    }
    if (h > 18 || m > 59 || s > 59)
        return 0;
    *ms = sign * ((int64_t)h * 3600000 + (int64_t)m * 60000 + (int64_t)s * 1000);
    return 1;
}

int xtz_open(const char *id, xtz **out, char *why, size_t wlen)
{
    *out = NULL;
    xtz *tz = calloc(1, sizeof *tz);
    if (!tz) {
        snprintf(why, wlen, "out of memory");
        return -1;
    }
    UErrorCode st = U_ZERO_ERROR;
    if (!id) {
        tz->idlen = ucal_getDefaultTimeZone(tz->id, 64, &st);
        if (U_FAILURE(st) || tz->idlen <= 0) {
            st = U_ZERO_ERROR;
            u_uastrcpy(tz->id, "UTC");
            tz->idlen = 3;
        }
        u_austrncpy(tz->name, tz->id, sizeof tz->name - 1);
    } else {
        snprintf(tz->name, sizeof tz->name, "%s", id);
        int64_t ms;
        if (offset_id(id, &ms)) {
            tz->fixed = 1;
            tz->fixed_ms = ms;
            char gmt[32];
            snprintf(gmt, sizeof gmt, "GMT%c%02d:%02d", ms < 0 ? '-' : '+', (int)(llabs(ms) / 3600000),
                     (int)(llabs(ms) / 60000 % 60));
            u_uastrcpy(tz->id, gmt);
            tz->idlen = u_strlen(tz->id);
        } else {
            if (strlen(id) >= 63) {
                free(tz);
                snprintf(why, wlen, "unknown time zone '%s'", id);
                return -1;
            }
            u_uastrcpy(tz->id, id);
            tz->idlen = u_strlen(tz->id);
            /* ICU falls back to GMT for an id it does not know: refuse it */
            UChar canon[64];
            UBool system = 0;
            ucal_getCanonicalTimeZoneID(tz->id, tz->idlen, canon, 64, &system, &st);
            if (U_FAILURE(st) || !system) {
                free(tz);
                snprintf(why, wlen, "unknown time zone '%s' (write a tz database name such as Asia/Shanghai, or an "
                                    "offset such as +08:00)",
                         id);
                return -1;
            }
        }
    }
    tz->cal = ucal_open(tz->id, tz->idlen, "en_US", UCAL_GREGORIAN, &st);
    if (U_FAILURE(st) || !tz->cal) {
        free(tz);
        snprintf(why, wlen, "cannot open time zone '%s': %s", id ? id : "(system)", u_errorName(st));
        return -1;
    }
    if (!tz->fixed && (strcmp(tz->name, "UTC") == 0 || strcmp(tz->name, "Etc/UTC") == 0 ||
                       strcmp(tz->name, "GMT") == 0 || strcmp(tz->name, "Z") == 0)) {
        tz->fixed = 1;
        tz->fixed_ms = 0;
    }
    *out = tz;
    return 0;
}

void xtz_free(xtz *tz)
{
    if (!tz)
        return;
    if (tz->cal)
        ucal_close(tz->cal);
    free(tz);
}

const char *xtz_id(const xtz *tz) { return tz->name; }

int64_t xtz_offset_ms(xtz *tz, int64_t utc_ms)
{
    if (tz->fixed)
        return tz->fixed_ms;
    UErrorCode st = U_ZERO_ERROR;
    ucal_setMillis(tz->cal, (UDate)utc_ms, &st);
    int32_t z = ucal_get(tz->cal, UCAL_ZONE_OFFSET, &st);
    int32_t d = ucal_get(tz->cal, UCAL_DST_OFFSET, &st);
    return U_FAILURE(st) ? 0 : (int64_t)z + d;
}

int64_t xtz_utc_of_local_ms(xtz *tz, int64_t local_ms)
{
    if (tz->fixed)
        return local_ms - tz->fixed_ms;
    /* ICU reads the calendar's time as local milliseconds here */
    UErrorCode st = U_ZERO_ERROR;
    ucal_setMillis(tz->cal, (UDate)local_ms, &st);
    int32_t raw = 0, dst = 0;
    ucal_getTimeZoneOffsetFromLocal(tz->cal, UCAL_TZ_LOCAL_FORMER, UCAL_TZ_LOCAL_FORMER, &raw, &dst, &st);
    return U_FAILURE(st) ? local_ms : local_ms - raw - dst;
}

int64_t xtz_local_us(xtz *tz, int64_t utc_us)
{
    return utc_us + xtz_offset_ms(tz, x_floor_div(utc_us, 1000)) * 1000;
}

int64_t xtz_utc_us(xtz *tz, int64_t local_us)
{
    int64_t ms = x_floor_div(local_us, 1000);
    int64_t sub = local_us - ms * 1000;
    return xtz_utc_of_local_ms(tz, ms) * 1000 + sub;
}

struct xdatefmt {
    UDateFormat *f;
};

int xdatefmt_open(const char *pattern, size_t plen, const xtz *tz, xdatefmt **out, char *why, size_t wlen)
{
    *out = NULL;
    UChar pat[256];
    int32_t n = 0;
    UErrorCode st = U_ZERO_ERROR;
    u_strFromUTF8(pat, 256, &n, pattern, (int32_t)plen, &st);
    if (U_FAILURE(st) || n >= 256) {
        snprintf(why, wlen, "date pattern '%.*s' is too long or not UTF-8", (int)plen, pattern);
        return -1;
    }
    static const UChar utc[] = {'U', 'T', 'C', 0};
    UDateFormat *f = udat_open(UDAT_PATTERN, UDAT_PATTERN, "en_US", tz ? tz->id : utc, tz ? tz->idlen : 3, pat, n,
                               &st);
    if (U_FAILURE(st) || !f) {
        snprintf(why, wlen, "date pattern '%.*s' is not valid (%s)", (int)plen, pattern, u_errorName(st));
        return -1;
    }
    xdatefmt *x = malloc(sizeof *x);
    if (!x) {
        udat_close(f);
        snprintf(why, wlen, "out of memory");
        return -1;
    }
    x->f = f;
    *out = x;
    return 0;
}

void xdatefmt_free(void *p)
{
    xdatefmt *f = p;
    if (f) {
        udat_close(f->f);
        free(f);
    }
}

int xdatefmt_format(xdatefmt *f, int64_t ms, char *buf, size_t len)
{
    UChar out[512];
    UErrorCode st = U_ZERO_ERROR;
    int32_t n = udat_format(f->f, (UDate)ms, out, 512, NULL, &st);
    if (U_FAILURE(st))
        return -1;
    int32_t m = 0;
    u_strToUTF8(buf, (int32_t)len, &m, out, n, &st);
    return U_FAILURE(st) || (size_t)m >= len ? -1 : m;
}

int xdatefmt_parse(xdatefmt *f, const char *text, size_t n, int64_t *ms)
{
    UChar in[512];
    int32_t un = 0;
    UErrorCode st = U_ZERO_ERROR;
    u_strFromUTF8(in, 512, &un, text, (int32_t)n, &st);
    if (U_FAILURE(st))
        return -1;
    int32_t pos = 0;
    UDate d = udat_parse(f->f, in, un, &pos, &st);
    if (U_FAILURE(st) || pos == 0)
        return -1;
    *ms = (int64_t)d;
    return 0;
}
