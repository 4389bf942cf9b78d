/* regex_guard.h — regular expressions refused before they reach a regex
 * engine, because the engine would take time or memory without bound.
 *
 * Stacked quantifiers ('a**', 'H+++', 'a{2}*'): glibc's regcomp copies the
 * repeated tree once per quantifier, so 50 stacked '+' in a table pattern
 * took gigabytes (found by tests/fuzz/fuzz_config.c). A repeated group that
 * itself repeats ('(a+)+'): ICU's backtracking matcher is exponential in
 * the text's length on every row that does not match. Both are always
 * rewritable as one repetition.
 */
#ifndef SL_REGEX_GUARD_H
#define SL_REGEX_GUARD_H

#include <stddef.h>

/* java: Java syntax, where one '?' (lazy) or '+' (possessive) may follow a
 * quantifier; POSIX ERE allows a single '?' there. Returns 0 when the
 * pattern is fine, else a description of the first problem in why (with
 * its 0-based offset) and 1. */
int sl_regex_unbounded(const char *re, size_t n, int java, char *why, size_t whylen);

#endif
