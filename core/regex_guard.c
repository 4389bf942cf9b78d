/* regex_guard.c — see regex_guard.h. One scan over the pattern that skips
 * escapes, \Q..\E (Java) and bracket expressions. */
#include "regex_guard.h"

#include <stdio.h>
#include <string.h>

/* a quantifier at p[i] ('*', '+', '?' or '{n[,[m]]}'): its length, else 0 */
static size_t quantifier_at(const char *p, size_t n, size_t i, int *unbounded)
{
    *unbounded = 0;
    if (i >= n)
        return 0;
    if (p[i] == '*' || p[i] == '+') {
        *unbounded = 1;
        return 1;
    }
    if (p[i] == '?')
        return 1;
    if (p[i] != '{')
        return 0;
    size_t k = i + 1;
    while (k < n && p[k] >= '0' && p[k] <= '9')
        k++;
    if (k == i + 1)
        return 0;
    if (k < n && p[k] == ',') {
        k++;
        *unbounded = k < n && p[k] == '}';
        while (k < n && p[k] >= '0' && p[k] <= '9')
            k++;
    }
    return k < n && p[k] == '}' ? k + 1 - i : 0;
}

int sl_regex_unbounded(const char *p, size_t n, int java, char *why, size_t whylen)
{
    enum { MAXD = 64 };
    unsigned char inner[MAXD + 1] = {0}; /* per open group: holds an unbounded repetition */
    int d = 0;
    int after_atom = 0; /* the previous token can take a quantifier */
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        int unb;
        size_t q = quantifier_at(p, n, i, &unb);
        if (q && after_atom) {
            /* the atom's quantifier, then what may follow it: one lazy
             * '?' or (Java) possessive '+'; anything more is stacked */
            if (unb && d <= MAXD)
                inner[d] = 1;
            size_t j = i + q;
            if (j < n && (p[j] == '?' || (java && p[j] == '+')))
                j++;
            int unb2;
            if (quantifier_at(p, n, j, &unb2)) {
                snprintf(why, whylen,
                         "stacks repetitions (a second quantifier at offset %zu), which the regex engine expands "
                         "without bound; write one repetition ('a+' for 'a++')",
                         j);
                return 1;
            }
            i = j - 1;
            after_atom = 0;
            continue;
        }
        after_atom = 1;
        if (ch == '\\') {
            if (java && i + 1 < n && p[i + 1] == 'Q') {
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
                if (p[i] == '\\' && java)
                    i++;
                else if (p[i] == '[' && java)
                    cd++;
                else if (p[i] == ']' && --cd == 0)
                    break;
            }
        } else if (ch == '(') {
            d++;
            if (d <= MAXD)
                inner[d] = 0;
            after_atom = 0;
        } else if (ch == ')') {
            int had = d > 0 && d <= MAXD && inner[d];
            if (d > 0)
                d--;
            int unb2;
            if (had && quantifier_at(p, n, i + 1, &unb2) && unb2) {
                snprintf(why, whylen,
                         "repeats a group that itself repeats (the group closing at offset %zu), which takes "
                         "exponential time on text that does not match; write it without the inner or the outer "
                         "repetition ('a+' for '(a+)+')",
                         i);
                return 1;
            }
            if (had && d <= MAXD)
                inner[d] = 1;
        } else if (ch == '|' || ch == '^') {
            after_atom = 0;
        }
    }
    return 0;
}
