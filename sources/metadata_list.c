/* metadata_list.c — validation of metadata.list (see metadata_list.h). */
#include "metadata_list.h"

#include <stdio.h>
#include <string.h>

int sl_check_metadata_list(const sl_options *o, const char *source, const char *const *allowed, sl_err *err)
{
    const char *list = sl_opt_str(o, "metadata.list");
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ",");
        size_t t = n;
        while (t && p[t - 1] == ' ')
            t--;
        if (t) {
            int ok = 0;
            for (const char *const *a = allowed; *a && !ok; a++)
                ok = strlen(*a) == t && strncmp(*a, p, t) == 0;
            if (!ok) {
                char where[512], names[256] = "";
                sl_opt_where(o, "metadata.list", where, sizeof where);
                for (const char *const *a = allowed; *a; a++)
                    snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", a == allowed ? "" : ", ",
                             *a);
                return sl_errf(err, SL_ECONFIG, "%s: the %s has no metadata column '%.*s' (it has: %s)", where,
                               source, (int)t, p, names);
            }
        }
        p += n;
    }
    return 0;
}
