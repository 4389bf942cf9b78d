/* xregex.c — ICU regexes over UTF-8 subjects (see xregex.h). */
#include "xregex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/uregex.h>
#include <unicode/ustring.h>
#include <unicode/utext.h>

#include "../../core/regex_guard.h"

struct xre {
    URegularExpression *re;
    UText subject;
};

int xre_open(const char *pat, size_t n, xre **out, char *why, size_t wlen)
{
    *out = NULL;
    char bad[240];
    if (sl_regex_unbounded(pat, n, 1, bad, sizeof bad)) {
        snprintf(why, wlen, "'%.*s' %s", (int)(n > 80 ? 80 : n), pat, bad);
        return XRE_PATHOLOGICAL;
    }
    UErrorCode st = U_ZERO_ERROR;
    UText pt = UTEXT_INITIALIZER;
    utext_openUTF8(&pt, pat, (int64_t)n, &st);
    UParseError pe;
    URegularExpression *re = uregex_openUText(&pt, 0, &pe, &st);
    utext_close(&pt);
    if (U_FAILURE(st) || !re) {
        snprintf(why, wlen, "'%.*s' is not a valid regular expression (%s at offset %d)", (int)(n > 80 ? 80 : n), pat,
                 u_errorName(st), pe.offset);
        return -1;
    }
    xre *x = calloc(1, sizeof *x);
    if (!x) {
        uregex_close(re);
        snprintf(why, wlen, "out of memory");
        return -1;
    }
    UText init = UTEXT_INITIALIZER;
    x->subject = init;
    x->re = re;
    *out = x;
    return 0;
}

void xre_free(void *p)
{
    xre *x = p;
    if (!x)
        return;
    uregex_close(x->re);
    utext_close(&x->subject);
    free(x);
}

int xre_reset(xre *x, const char *s, size_t n)
{
    UErrorCode st = U_ZERO_ERROR;
    utext_openUTF8(&x->subject, n ? s : "", (int64_t)n, &st);
    uregex_setUText(x->re, &x->subject, &st);
    return U_FAILURE(st) ? -1 : 0;
}

int xre_next(xre *x)
{
    UErrorCode st = U_ZERO_ERROR;
    return uregex_findNext(x->re, &st) && U_SUCCESS(st);
}

int xre_matches(xre *x)
{
    UErrorCode st = U_ZERO_ERROR;
    return uregex_matches64(x->re, 0, &st) && U_SUCCESS(st);
}

int xre_group_count(xre *x)
{
    UErrorCode st = U_ZERO_ERROR;
    return uregex_groupCount(x->re, &st);
}

int xre_group(xre *x, int g, int64_t *start, int64_t *end)
{
    UErrorCode st = U_ZERO_ERROR;
    *start = uregex_start64(x->re, g, &st);
    *end = uregex_end64(x->re, g, &st);
    return U_SUCCESS(st) && *start >= 0;
}

static int put(char *out, size_t len, size_t *o, const char *s)
{
    size_t l = strlen(s);
    if (*o + l + 1 > len)
        return -1;
    memcpy(out + *o, s, l);
    *o += l;
    return 0;
}

static int quote_char(char *out, size_t len, size_t *o, char c)
{
    char buf[3] = {'\\', c, 0};
    if (strchr("\\.^$|?*+()[]{}", c))
        return put(out, len, o, buf);
    buf[0] = c;
    buf[1] = 0;
    return put(out, len, o, buf);
}

int xre_from_sql(const char *pat, size_t n, char esc, int similar, char *out, size_t len)
{
    size_t o = 0;
    if (put(out, len, &o, "(?s)"))
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = pat[i];
        char one[2] = {c, 0};
        int rc;
        if (esc && c == esc) {
            /* LIKE escapes only its wildcards and itself */
            if (i + 1 >= n || (!similar && pat[i + 1] != '%' && pat[i + 1] != '_' && pat[i + 1] != esc))
                return -1;
            rc = quote_char(out, len, &o, pat[++i]);
        } else if (c == '%') {
            rc = put(out, len, &o, ".*");
        } else if (c == '_') {
            rc = put(out, len, &o, ".");
        } else if (similar && strchr("|*+?{}()[]", c)) {
            rc = put(out, len, &o, one);
        } else {
            rc = quote_char(out, len, &o, c);
        }
        if (rc)
            return -1;
    }
    out[o] = 0;
    return (int)o;
}
