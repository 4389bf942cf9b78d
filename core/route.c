/* route.c — matching of source table ids against the configured routes
 * and naming of their sink tables (see route.h). */
#include "regex_guard.h"
#include "route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Flink's conversion of a table-id pattern to a plain regex: the list's
 * commas become alternatives, "\." the regex any-character and a plain '.'
 * the literal separator; the whole is anchored in one group, so the
 * user's group n is submatch n + 1. */
static char *to_regex(const char *pat)
{
    size_t n = strlen(pat);
    char *out = malloc(2 * n + 8), *o = out;
    if (!out)
        return NULL;
    *o++ = '^';
    *o++ = '(';
    int start = 1;
    for (size_t i = 0; i < n; i++) {
        char c = pat[i];
        if (start && (c == ' ' || c == '\t'))
            continue;
        start = 0;
        if (c == '\\' && pat[i + 1] == '.') {
            *o++ = '.';
            i++;
        } else if (c == '.') {
            *o++ = '\\';
            *o++ = '.';
        } else if (c == ',') {
            while (o > out + 2 && (o[-1] == ' ' || o[-1] == '\t'))
                o--;
            *o++ = '|';
            start = 1;
        } else {
            *o++ = c;
        }
    }
    while (o > out + 2 && (o[-1] == ' ' || o[-1] == '\t'))
        o--;
    *o++ = ')';
    *o++ = '$';
    *o = 0;
    return out;
}

int sl_route_table_init(sl_route_table *t, const sl_route *routes, size_t n, sl_err *err)
{
    memset(t, 0, sizeof *t);
    if (!n)
        return 0;
    t->match = calloc(n, sizeof *t->match);
    if (!t->match)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    t->routes = routes;
    for (size_t i = 0; i < n; i++) {
        const sl_route *r = &routes[i];
        char *re = to_regex(r->source_table);
        if (!re) {
            sl_route_table_free(t);
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        }
        char bad[240];
        if (sl_regex_unbounded(r->source_table, strlen(r->source_table), 0, bad, sizeof bad)) {
            free(re);
            sl_route_table_free(t);
            return sl_errf(err, SL_ECONFIG, "%s:%d:%d: route source-table '%s' %s", r->loc.file, r->loc.line,
                           r->loc.col, r->source_table, bad);
        }
        int e = regcomp(&t->match[i], re, REG_EXTENDED);
        free(re);
        if (e) {
            char msg[160];
            regerror(e, &t->match[i], msg, sizeof msg);
            sl_route_table_free(t);
            return sl_errf(err, SL_ECONFIG, "%s:%d:%d: route source-table '%s' is not a valid regular expression: %s",
                           r->loc.file, r->loc.line, r->loc.col, r->source_table, msg);
        }
        t->n = i + 1;
        if (r->replace_symbol && !*r->replace_symbol) {
            sl_route_table_free(t);
            return sl_errf(err, SL_ECONFIG, "%s:%d:%d: route replace-symbol must not be empty", r->loc.file,
                           r->loc.line, r->loc.col);
        }
    }
    return 0;
}

void sl_route_table_free(sl_route_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        regfree(&t->match[i]);
    free(t->match);
    memset(t, 0, sizeof *t);
}

static void put(char *buf, size_t len, size_t *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n && *o + 1 < len; i++)
        buf[(*o)++] = s[i];
}

/* sink-table with replace-symbol, or else with $n groups as Java's
 * Matcher.replaceAll expands them ("\$" is a literal '$') */
static void expand(const sl_route *r, const char *id, const regmatch_t *m, const char *table, char *buf,
                   size_t len)
{
    size_t o = 0;
    const char *sym = r->replace_symbol;
    size_t symlen = sym ? strlen(sym) : 0;
    for (const char *p = r->sink_table; *p && o + 1 < len;) {
        if (symlen) {
            if (strncmp(p, sym, symlen) == 0) {
                put(buf, len, &o, table, strlen(table));
                p += symlen;
            } else {
                buf[o++] = *p++;
            }
        } else if (*p == '\\' && p[1]) {
            buf[o++] = p[1];
            p += 2;
        } else if (*p == '$' && p[1] >= '0' && p[1] <= '9') {
            const regmatch_t *g = &m[p[1] - '0' + 1];
            if (g->rm_so >= 0)
                put(buf, len, &o, id + g->rm_so, (size_t)(g->rm_eo - g->rm_so));
            p += 2;
        } else {
            buf[o++] = *p++;
        }
    }
    buf[o] = 0;
}

int sl_route_target_at(const sl_route_table *t, const sl_table_schema *s, size_t i, char *buf, size_t len)
{
    size_t seen = 0;
    regmatch_t m[11];
    for (size_t r = 0; t && r < t->n; r++) {
        if (regexec(&t->match[r], s->qualified, 11, m, 0) != 0)
            continue;
        if (seen++ < i) {
            if (t->first_match)
                return -1;
            continue;
        }
        expand(&t->routes[r], s->qualified, m, s->table, buf, len);
        return 1;
    }
    if (seen || i > 0)
        return -1;
    snprintf(buf, len, "%s", s->qualified);
    return 0;
}

int sl_route_target(const sl_route_table *t, const sl_table_schema *s, char *buf, size_t len)
{
    return sl_route_target_at(t, s, 0, buf, len) == 1;
}
