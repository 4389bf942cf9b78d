/* table_filter.c — compiles Flink-style table patterns to POSIX regexes. */
#include "regex_guard.h"
#include "table_filter.h"

#include <stdlib.h>
#include <string.h>

/* Splits at the first unescaped '.', translating "\." to "." on the way,
 * and anchors each part so the pattern must match the whole name. */
static int split_pattern(const char *pat, char **ns, char **table)
{
    size_t n = strlen(pat);
    char *a = malloc(n + 3), *b = malloc(n + 3);
    if (!a || !b) {
        free(a);
        free(b);
        return -1;
    }
    char *cur = a;
    size_t o = 0;
    int split = 0;
    cur[o++] = '^';
    for (size_t i = 0; i < n; i++) {
        if (pat[i] == '\\' && pat[i + 1] == '.') {
            cur[o++] = '.';
            i++;
        } else if (pat[i] == '.' && !split) {
            cur[o++] = '$';
            cur[o] = 0;
            split = 1;
            cur = b;
            o = 0;
            cur[o++] = '^';
        } else {
            cur[o++] = pat[i];
        }
    }
    cur[o++] = '$';
    cur[o] = 0;
    if (!split) {
        free(a);
        free(b);
        return 1;
    }
    *ns = a;
    *table = b;
    return 0;
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n'))
        s[--n] = 0;
    size_t i = 0;
    while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')
        i++;
    memmove(s, s + i, n - i + 1);
}

static int compile_list(const char *list, sl_table_pattern **out, size_t *count,
                        const char *what, sl_err *err)
{
    *out = NULL;
    *count = 0;
    if (!list)
        return 0;
    char *copy = strdup(list);
    if (!copy)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    size_t cap = 1;
    for (const char *p = list; *p; p++)
        cap += *p == ',';
    sl_table_pattern *pats = calloc(cap, sizeof *pats);
    if (!pats) {
        free(copy);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    int rc = 0;
    size_t n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        trim(tok);
        if (!*tok)
            continue;
        char *ns = NULL, *tb = NULL;
        int s = split_pattern(tok, &ns, &tb);
        if (s < 0) {
            rc = sl_errf(err, SL_ERUNTIME, "out of memory");
            break;
        }
        if (s > 0) {
            rc = sl_errf(err, SL_ECONFIG,
                         "%s pattern '%s' has no '.': write database.table (or schema.table), "
                         "e.g. shop.orders or shop.\\.*",
                         what, tok);
            break;
        }
        sl_table_pattern *p = &pats[n];
        char bad[240];
        if (sl_regex_unbounded(tok, strlen(tok), 0, bad, sizeof bad)) {
            free(ns);
            free(tb);
            rc = sl_errf(err, SL_ECONFIG, "%s pattern '%s' %s", what, tok, bad);
            break;
        }
        int e1 = regcomp(&p->ns, ns, REG_EXTENDED | REG_NOSUB);
        int e2 = e1 ? 1 : regcomp(&p->table, tb, REG_EXTENDED | REG_NOSUB);
        free(ns);
        free(tb);
        if (e1 || e2) {
            char msg[128];
            if (e1) {
                regerror(e1, &p->ns, msg, sizeof msg);
            } else {
                regerror(e2, &p->table, msg, sizeof msg);
                regfree(&p->ns);
            }
            rc = sl_errf(err, SL_ECONFIG, "%s pattern '%s' is not a valid regular expression: %s",
                         what, tok, msg);
            break;
        }
        p->text = strdup(tok);
        n++;
    }
    free(copy);
    *out = pats;
    *count = n;
    return rc;
}

int sl_table_filter_init(sl_table_filter *f, const char *include, const char *exclude, sl_err *err)
{
    memset(f, 0, sizeof *f);
    int rc = compile_list(include, &f->include, &f->ninclude, "tables", err);
    if (!rc)
        rc = compile_list(exclude, &f->exclude, &f->nexclude, "tables.exclude", err);
    if (rc)
        sl_table_filter_free(f);
    return rc;
}

static int match_any(const sl_table_pattern *p, size_t n, const char *ns, const char *table)
{
    for (size_t i = 0; i < n; i++)
        if (regexec(&p[i].ns, ns, 0, NULL, 0) == 0 && regexec(&p[i].table, table, 0, NULL, 0) == 0)
            return 1;
    return 0;
}

int sl_table_filter_match(const sl_table_filter *f, const char *ns, const char *table)
{
    return match_any(f->include, f->ninclude, ns, table) &&
           !match_any(f->exclude, f->nexclude, ns, table);
}

static void free_list(sl_table_pattern *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        regfree(&p[i].ns);
        regfree(&p[i].table);
        free(p[i].text);
    }
    free(p);
}

void sl_table_filter_free(sl_table_filter *f)
{
    free_list(f->include, f->ninclude);
    free_list(f->exclude, f->nexclude);
    memset(f, 0, sizeof *f);
}

int sl_table_pattern_literal(const char *part, char *out, size_t len)
{
    size_t o = 0;
    for (const char *p = part; *p; p++) {
        if (strchr("\\^$*+?()[]{}|.", *p))
            return 0;
        if (o + 1 >= len)
            return 0;
        out[o++] = *p;
    }
    out[o] = 0;
    return 1;
}
