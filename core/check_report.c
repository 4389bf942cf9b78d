/* check_report.c — the common output of `sluice check --connect` (see
 * check_report.h). */
#include "check_report.h"

#include <stdarg.h>

void sl_check_report(sl_check *c, int ok, const char *what, const char *fix)
{
    if (ok) {
        fprintf(c->out, "  ok    %s\n", what);
    } else {
        fprintf(c->out, "  FAIL  %s\n", what);
        if (fix)
            fprintf(c->out, "        fix: %s\n", fix);
        c->failures++;
    }
}

void sl_check_warn(sl_check *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("  warn  ", c->out);
    vfprintf(c->out, fmt, ap);
    fputc('\n', c->out);
    va_end(ap);
    c->warnings++;
}

int sl_check_finish(sl_check *c, const char *who, const char *where, sl_err *err)
{
    if (c->failures)
        return sl_errf(err, SL_ECONFIG, "%s %s: %d check%s failed; run the fixes shown above", who, where,
                       c->failures, c->failures == 1 ? "" : "s");
    fprintf(c->out, "%s: ready (%d warning%s)\n", who, c->warnings, c->warnings == 1 ? "" : "s");
    return 0;
}
