/* split_setup.c — see split_setup.h. */
#include "split_setup.h"

#include <stdio.h>
#include <string.h>

#include "../core/table_filter.h"

#define KEY_OPT "scan.incremental.snapshot.chunk.key-column"

int sl_chunk_key_for(const sl_options *opts, const char *ns, const char *table, char *col, size_t len, sl_err *err)
{
    const char *v = sl_opt_str(opts, KEY_OPT);
    if (!v)
        return 0;
    if (!strchr(v, ':')) {
        snprintf(col, len, "%s", v);
        return 1;
    }
    char where[512];
    sl_opt_where(opts, KEY_OPT, where, sizeof where);
    for (const char *p = v; *p;) {
        const char *end = strchr(p, ';');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *colon = memchr(p, ':', n);
        char pat[512];
        if (!colon || colon == p || colon + 1 == p + n || (size_t)(colon - p) >= sizeof pat) {
            sl_errf(err, SL_ECONFIG, "%s: '%.*s' is not table:column (write db.table:column;db.other:column)", where,
                    (int)n, p);
            return -1;
        }
        snprintf(pat, sizeof pat, "%.*s", (int)(colon - p), p);
        sl_table_filter f;
        if (sl_table_filter_init(&f, pat, NULL, err)) {
            sl_err_prefix(err, SL_ECONFIG, "%s: ", where);
            return -1;
        }
        int hit = ns && sl_table_filter_match(&f, ns, table);
        sl_table_filter_free(&f);
        if (hit) {
            size_t cl = (size_t)(p + n - colon - 1);
            while (cl && colon[cl] == ' ')
                cl--;
            snprintf(col, len, "%.*s", (int)cl, colon + 1 + strspn(colon + 1, " "));
            return 1;
        }
        p += n;
        if (*p == ';')
            p++;
    }
    return 0;
}

int sl_split_key_columns(const sl_table_schema *s, const sl_options *opts, const char *source, int *keys, int *nkey,
                         sl_err *err)
{
    const char *opt = KEY_OPT;
    char keybuf[256];
    const char *ns = s->schema ? s->schema : s->db;
    int found = sl_chunk_key_for(opts, ns ? ns : "", s->table, keybuf, sizeof keybuf, err);
    if (found < 0)
        return SL_ECONFIG;
    /* the one-column form is for keyless tables only (a table with a
     * primary key keeps it); the per-table form names its tables */
    const char *v = sl_opt_str(opts, opt);
    if (found && s->npk > 0 && v && !strchr(v, ':'))
        found = 0;
    const char *keycol = found ? keybuf : NULL;
    *nkey = 0;
    if (keycol) {
        int ci = sl_schema_column_index(s, keycol);
        if (ci < 0) {
            char where[512];
            sl_opt_where(opts, opt, where, sizeof where);
            return sl_errf(err, SL_ECONFIG, "%s: table %s has no column '%s' to split by", where, s->qualified,
                           keycol);
        }
        keys[(*nkey)++] = ci;
        return 0;
    }
    for (int k = 0; k < s->npk && k < 64; k++)
        keys[(*nkey)++] = s->pk[k];
    if (*nkey == 0)
        return sl_errf(err, SL_ECONFIG,
                       "%s: table %s has no primary key, so its snapshot cannot be split; set %s to a NOT NULL "
                       "column with few duplicates (ideally unique and indexed)",
                       source, s->qualified, opt);
    return 0;
}

void sl_split_try_arith(const sl_snapshot *snap, sl_snap_table *t, int64_t mn, int64_t mx, uint64_t est)
{
    double span = (double)mx - (double)mn + 1;
    if (est <= snap->chunk_size || span <= 0 || span > 1.5 * (double)est)
        return;
    t->arith = 1;
    t->arith_next = mn;
    t->arith_max = mx;
    t->arith_step = (int64_t)((double)snap->chunk_size * span / (double)est);
    /* row estimates lag a growing table; a range of chunk_size distinct
     * integers never holds more than chunk_size rows */
    if (t->arith_step > (int64_t)snap->chunk_size)
        t->arith_step = (int64_t)snap->chunk_size;
    if (t->arith_step < 1)
        t->arith_step = 1;
    /* the first chunk starts at the table's start (a NULL bound) */
}
