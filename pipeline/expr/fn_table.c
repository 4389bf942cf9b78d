/* fn_table.c — the lookup of operators and built-in functions by name
 * across the families (fn_ops.c, fn_string.c, fn_numeric.c,
 * fn_temporal.c, fn_cond.c). */
#include <string.h>
#include <strings.h>

#include "xeval.h"

const xfunc *x_find_function(const char *name)
{
    const xfunc *const tables[] = {x_fn_ops, x_fn_string, x_fn_numeric, x_fn_temporal, x_fn_cond};
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
        for (const xfunc *f = tables[t]; f->name; f++)
            if (strcasecmp(f->name, name) == 0)
                return f;
    return NULL;
}
