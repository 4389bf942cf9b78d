/* pg_names.c — the database part of `db.schema.table` patterns (see
 * pg_names.h). */
#include "pg_names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/table_filter.h"

/* offsets of the unescaped dots in one pattern (Flink's '\.' is a regex
 * any-character, not a separator) */
static int dots(const char *p, size_t n, size_t *at, int max)
{
    int k = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\\' && i + 1 < n) {
            i++;
            continue;
        }
        if (p[i] == '.' && k < max)
            at[k++] = i;
    }
    return k;
}

/* rewrites a comma-separated list, taking the db part off three-part
 * patterns; *db collects the one database they name */
static int strip(const char *list, const char *option, char **db, char **out, const sl_options *o, sl_err *err)
{
    char where[512];
    sl_opt_where(o, option, where, sizeof where);
    size_t len = strlen(list);
    char *res = malloc(len + 1);
    if (!res)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    size_t w = 0;
    const char *p = list;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        while (n && (*p == ' ' || *p == '\t'))
            p++, n--;
        size_t at[3];
        int k = dots(p, n, at, 3);
        const char *keep = p;
        size_t keep_n = n;
        if (k == 2) {
            char part[256], lit[256];
            snprintf(part, sizeof part, "%.*s", (int)at[0], p);
            if (!sl_table_pattern_literal(part, lit, sizeof lit)) {
                free(res);
                return sl_errf(err, SL_ECONFIG,
                               "%s: the database part '%s' of '%.*s' must name one database, not a pattern "
                               "(a replication slot reads one database)",
                               where, part, (int)n, p);
            }
            if (*db && strcmp(*db, lit) != 0) {
                free(res);
                return sl_errf(err, SL_ECONFIG,
                               "%s: '%.*s' names database '%s' but the pipeline reads '%s' (a replication slot "
                               "reads one database)",
                               where, (int)n, p, lit, *db);
            }
            if (!*db && !(*db = strdup(lit))) {
                free(res);
                return sl_errf(err, SL_ERUNTIME, "out of memory");
            }
            keep = p + at[0] + 1;
            keep_n = n - at[0] - 1;
        } else if (k > 2) {
            free(res);
            return sl_errf(err, SL_ECONFIG, "%s: '%.*s' has more than three parts (write db.schema.table)", where,
                           (int)n, p);
        }
        if (w)
            res[w++] = ',';
        memcpy(res + w, keep, keep_n);
        w += keep_n;
        p += n;
        if (*p == ',')
            p++;
    }
    res[w] = 0;
    *out = res;
    return 0;
}

int sl_pg_names_resolve(const sl_options *o, sl_pg_names *out, sl_err *err)
{
    memset(out, 0, sizeof *out);
    const char *dbname = sl_opt_str(o, "database-name");
    if (dbname && !(out->dbname = strdup(dbname)))
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    int rc = strip(sl_opt_str(o, "tables"), "tables", &out->dbname, &out->tables, o, err);
    if (!rc && sl_opt_str(o, "tables.exclude"))
        rc = strip(sl_opt_str(o, "tables.exclude"), "tables.exclude", &out->dbname, &out->tables_exclude, o, err);
    if (!rc && !out->dbname) {
        char where[512];
        sl_opt_where(o, "tables", where, sizeof where);
        rc = sl_errf(err, SL_ECONFIG,
                     "%s: set database-name, or write tables as db.schema.table as Flink's postgres connector does",
                     where);
    }
    if (rc)
        sl_pg_names_free(out);
    return rc;
}

void sl_pg_names_free(sl_pg_names *n)
{
    free(n->dbname);
    free(n->tables);
    free(n->tables_exclude);
    memset(n, 0, sizeof *n);
}
