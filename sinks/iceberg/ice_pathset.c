/* ice_pathset.c — the path set of ice_pathset.h: a sorted array, since the
 * sets are filled in one pass and then only looked up. */
#include <stdlib.h>
#include <string.h>

#include "../../core/buf.h"
#include "ice_pathset.h"

int ice_pathset_add(ice_pathset *s, const char *path, sl_err *err)
{
    if (sl_grow((void **)&s->p, &s->cap, s->n + 1, sizeof *s->p) || !(s->p[s->n] = strdup(path)))
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    s->n++;
    return 0;
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void ice_pathset_seal(ice_pathset *s)
{
    if (!s->n)
        return;
    qsort(s->p, s->n, sizeof *s->p, by_str);
    size_t w = 1;
    for (size_t i = 1; i < s->n; i++) {
        if (strcmp(s->p[i], s->p[w - 1]))
            s->p[w++] = s->p[i];
        else
            free(s->p[i]);
    }
    s->n = w;
}

int ice_pathset_has(const ice_pathset *s, const char *path)
{
    return s->n && bsearch(&path, s->p, s->n, sizeof *s->p, by_str) != NULL;
}

void ice_pathset_free(ice_pathset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->p[i]);
    free(s->p);
    *s = (ice_pathset){0};
}
