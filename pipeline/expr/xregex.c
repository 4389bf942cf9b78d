/* xregex.c — ICU regexes over UTF-8 subjects (see xregex.h). */
#include "xregex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/uregex.h>
#include <unicode/ustring.h>
#include <unicode/utext.h>

struct xre {
    URegularExpression *re;
    UText subject;
};

/* an unbounded quantifier at p[i]: '*', '+' or '{n,}' */
static int unbounded_at(const char *p, size_t n, size_t i)
{
    if (i >= n)
        return 0;
    if (p[i] == '*' || p[i] == '+')
        return 1;
    if (p[i] != '{')
        return 0;
    size_t k = i + 1;
    while (k < n && p[k] >= '0' && p[k] <= '9')
        k++;
    return k > i + 1 && k + 1 < n && p[k] == ',' && p[k + 1] == '}';
}

/* Where pat repeats without bound a group that itself holds an unbounded
 * repetition ('(a+)+', '(x*y)*', '(\w+\s?)+'): the backtracking engine
 * tries every way of splitting the text between the two, which on a text
 * that does not match is exponential in its length (a 30-character text
 * keeps ICU busy for minutes, on every row). Returns the offset after the
 * group, or 0 when there is none. Escapes, \Q..\E and character classes
 * are skipped; nesting deeper than 64 groups is not looked into. */
static size_t nested_repetition(const char *p, size_t n)
{
    enum { MAXD = 64 };
    unsigned char inner[MAXD + 1] = {0}; /* per open group: holds an unbounded repetition */
    int d = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (ch == '\\') {
            if (i + 1 < n && p[i + 1] == 'Q') {
                const char *e = memmem(p + i + 2, n - i - 2, "\\E", 2);
                i = e ? (size_t)(e - p) + 1 : n;
            } else {
                i++;
            }
        } else if (ch == '[') {
            int cd = 1;
            i++;
            if (i < n && p[i] == '^')
                i++;
            if (i < n && p[i] == ']')
                i++;
            for (; i < n; i++) {
                if (p[i] == '\\')
                    i++;
                else if (p[i] == '[')
                    cd++;
                else if (p[i] == ']' && --cd == 0)
                    break;
            }
        } else if (ch == '(') {
            d++;
            if (d <= MAXD)
                inner[d] = 0;
        } else if (ch == ')') {
            int had = d > 0 && d <= MAXD && inner[d];
            if (d > 0)
                d--;
            if (had && unbounded_at(p, n, i + 1))
                return i + 1;
            if (had && d <= MAXD)
                inner[d] = 1;
        } else if (unbounded_at(p, n, i) && d <= MAXD) {
            inner[d] = 1;
        }
    }
    return 0;
}

int xre_open(const char *pat, size_t n, xre **out, char *why, size_t wlen)
{
    *out = NULL;
    size_t at = nested_repetition(pat, n);
    if (at) {
        snprintf(why, wlen,
                 "'%.*s' repeats a group that itself repeats (the group closing at offset %zu), which takes exponential time on "
                 "text that does not match; write it without the inner or the outer repetition ('a+' for '(a+)+')",
                 (int)(n > 80 ? 80 : n), pat, at - 1);
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
