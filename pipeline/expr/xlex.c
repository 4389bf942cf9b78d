/* xlex.c — tokens of transform expressions (Calcite's lexical rules as
 * Flink CDC configures them: 'strings' with '' for a quote, `quoted names`,
 * names case-sensitive, keywords not). An unquoted word is a T_KEYWORD
 * token carrying the text as written: whether it is a keyword or a column
 * name depends on where it stands, which the parser decides. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xast.h"

static int push(xtoks *t, int *cap, xtok_kind k, int pos, int len, char *text)
{
    if (t->n == *cap) {
        int nc = *cap ? *cap * 2 : 16;
        xtok *v = realloc(t->v, (size_t)nc * sizeof *v);
        if (!v) {
            free(text);
            return -1;
        }
        t->v = v;
        *cap = nc;
    }
    xtok *x = &t->v[t->n++];
    x->k = k;
    x->pos = pos;
    x->len = len;
    x->text = text;
    return 0;
}

void xlex_free(xtoks *t)
{
    for (int i = 0; i < t->n; i++)
        free(t->v[i].text);
    free(t->v);
    t->v = NULL;
    t->n = 0;
}

int xlex(const char *s, xtoks *out, int *err_pos, char *why, size_t wlen)
{
    out->v = NULL;
    out->n = 0;
    int cap = 0;
    size_t i = 0, n = strlen(s);
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (isspace(c)) {
            i++;
            continue;
        }
        int pos = (int)i;
        if (c == '\'') {
            /* 'it''s' */
            char *v = malloc(n - i + 1);
            size_t o = 0;
            i++;
            for (;;) {
                if (i >= n) {
                    free(v);
                    *err_pos = pos;
                    snprintf(why, wlen, "unterminated string literal");
                    goto fail;
                }
                if (s[i] == '\'' && s[i + 1] == '\'') {
                    v[o++] = '\'';
                    i += 2;
                } else if (s[i] == '\'') {
                    i++;
                    break;
                } else {
                    v[o++] = s[i++];
                }
            }
            v[o] = 0;
            if (push(out, &cap, T_STRING, pos, (int)(i - (size_t)pos), v))
                goto oom;
            continue;
        }
        if (c == '`') {
            const char *e = strchr(s + i + 1, '`');
            if (!e) {
                *err_pos = pos;
                snprintf(why, wlen, "unterminated `quoted name`");
                goto fail;
            }
            char *v = strndup(s + i + 1, (size_t)(e - s - (long)i - 1));
            i = (size_t)(e - s) + 1;
            if (!v || push(out, &cap, T_IDENT, pos, (int)(i - (size_t)pos), v))
                goto oom;
            continue;
        }
        if (isalpha(c) || c == '_' || c >= 0x80) {
            while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '$' ||
                             (unsigned char)s[i] >= 0x80))
                i++;
            char *v = strndup(s + pos, i - (size_t)pos);
            if (!v || push(out, &cap, T_KEYWORD, pos, (int)(i - (size_t)pos), v))
                goto oom;
            continue;
        }
        if (isdigit(c) || (c == '.' && isdigit((unsigned char)s[i + 1]))) {
            while (i < n && isdigit((unsigned char)s[i]))
                i++;
            if (i < n && s[i] == '.') {
                i++;
                while (i < n && isdigit((unsigned char)s[i]))
                    i++;
            }
            if (i < n && (s[i] == 'e' || s[i] == 'E') &&
                (isdigit((unsigned char)s[i + 1]) ||
                 ((s[i + 1] == '+' || s[i + 1] == '-') && isdigit((unsigned char)s[i + 2])))) {
                i += 2;
                while (i < n && isdigit((unsigned char)s[i]))
                    i++;
            }
            if (i < n && (isalpha((unsigned char)s[i]) || s[i] == '_')) {
                *err_pos = pos;
                snprintf(why, wlen, "malformed number '%.*s'", (int)(i - (size_t)pos + 1), s + pos);
                goto fail;
            }
            char *v = strndup(s + pos, i - (size_t)pos);
            if (!v || push(out, &cap, T_NUMBER, pos, (int)(i - (size_t)pos), v))
                goto oom;
            continue;
        }
        /* Flink writes a projection's leading star as \* (a bare one starts a YAML alias) */
        if (c == '\\' && s[i + 1] == '*') {
            char *v = strdup("*");
            if (!v || push(out, &cap, T_OP, pos, 2, v))
                goto oom;
            i += 2;
            continue;
        }
        static const char *const ops[] = {"||", "<>", "!=", "<=", ">=", "(", ")", ",", "+", "-", "*",
                                           "/",  "%",  "=",  "<",  ">",  ".", "[", "]", NULL};
        int matched = 0;
        for (int k = 0; ops[k]; k++) {
            size_t l = strlen(ops[k]);
            if (strncmp(s + i, ops[k], l) == 0) {
                char *v = strdup(ops[k]);
                if (!v || push(out, &cap, T_OP, pos, (int)l, v))
                    goto oom;
                i += l;
                matched = 1;
                break;
            }
        }
        if (!matched) {
            *err_pos = pos;
            snprintf(why, wlen, "unexpected character '%c'", c);
            goto fail;
        }
    }
    if (push(out, &cap, T_END, (int)n, 0, NULL))
        goto oom;
    return 0;
oom:
    *err_pos = 0;
    snprintf(why, wlen, "out of memory");
fail:
    xlex_free(out);
    return -1;
}
