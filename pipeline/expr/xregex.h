/* xregex.h — Java-syntax regular expressions on UTF-8 text, through ICU's
 * regex engine (modelled on java.util.regex), for LIKE, SIMILAR TO and the
 * REGEXP_* functions. Offsets are byte offsets into the UTF-8 text. */
#ifndef SL_XREGEX_H
#define SL_XREGEX_H

#include <stddef.h>
#include <stdint.h>

typedef struct xre xre;

/* 0, -1 not a valid pattern, or XRE_PATHOLOGICAL: a repetition of a group
 * that repeats (exponential backtracking), refused even where Flink turns a
 * bad pattern into NULL */
enum { XRE_PATHOLOGICAL = -2 };
int xre_open(const char *pat, size_t n, xre **out, char *why, size_t wlen);
void xre_free(void *re);
/* sets the subject text (kept by pointer until the next call) */
int xre_reset(xre *re, const char *s, size_t n);
/* the next match after the previous one; 1 found, 0 none */
int xre_next(xre *re);
int xre_matches(xre *re); /* the whole subject */
int xre_group_count(xre *re);
/* bounds of group g of the current match; 0 when it did not take part */
int xre_group(xre *re, int g, int64_t *start, int64_t *end);

/* an SQL LIKE (similar 0) or SIMILAR TO pattern, with an escape character
 * or 0, as a Java regex for a whole-text match; returns the length or -1
 * for a malformed escape */
int xre_from_sql(const char *pat, size_t n, char esc, int similar, char *out, size_t len);

#endif
