/* route.c — matching of source tables against the configured routes. */
#include "route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        int rc = sl_table_filter_init(&t->match[i], routes[i].source_table, NULL, err);
        if (rc) {
            sl_err_prefix(err, rc, "%s:%d:%d: route source-table: ", routes[i].loc.file, routes[i].loc.line,
                          routes[i].loc.col);
            sl_route_table_free(t);
            return rc;
        }
        t->n = i + 1;
    }
    return 0;
}

void sl_route_table_free(sl_route_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        sl_table_filter_free(&t->match[i]);
    free(t->match);
    memset(t, 0, sizeof *t);
}

int sl_route_target(const sl_route_table *t, const sl_table_schema *s, char *buf, size_t len)
{
    const char *ns = s->schema ? s->schema : s->db;
    for (size_t i = 0; t && i < t->n; i++) {
        if (!sl_table_filter_match(&t->match[i], ns ? ns : "", s->table))
            continue;
        const char *sink = t->routes[i].sink_table;
        const char *sym = t->routes[i].replace_symbol;
        size_t o = 0;
        size_t symlen = sym ? strlen(sym) : 0;
        for (const char *p = sink; *p && o + 1 < len;) {
            if (symlen && strncmp(p, sym, symlen) == 0) {
                o += (size_t)snprintf(buf + o, len - o, "%s", s->table);
                if (o >= len)
                    o = len - 1;
                p += symlen;
            } else {
                buf[o++] = *p++;
            }
        }
        buf[o] = 0;
        return 1;
    }
    snprintf(buf, len, "%s.%s", ns ? ns : "", s->table);
    return 0;
}
