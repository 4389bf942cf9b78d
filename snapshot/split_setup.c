/* split_setup.c — see split_setup.h. */
#include "split_setup.h"

#include <stdio.h>

int sl_split_key_columns(const sl_table_schema *s, const sl_options *opts, const char *source, int *keys, int *nkey,
                         sl_err *err)
{
    const char *opt = "scan.incremental.snapshot.chunk.key-column";
    const char *keycol = sl_opt_str(opts, opt);
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
