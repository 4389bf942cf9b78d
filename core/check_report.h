/* check_report.h — how `sluice check --connect` reports a connector's
 * checks of its server: one line per finding, each failure with the
 * statement that fixes it, and a closing verdict. Shared by every source
 * and sink so the output reads the same whatever the server. */
#ifndef SL_CHECK_REPORT_H
#define SL_CHECK_REPORT_H

#include <stdio.h>

#include "../core/err.h"

typedef struct sl_check {
    FILE *out;
    int failures, warnings;
} sl_check;

/* "  ok    what", or "  FAIL  what" followed by "        fix: fix" (fix
 * NULL: what already says it, as a message with sl_err_fix's clause does) */
void sl_check_report(sl_check *c, int ok, const char *what, const char *fix);
/* "  warn  printf(fmt, ...)" */
void sl_check_warn(sl_check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* SL_ECONFIG naming the failures ("<who> <where>: 2 checks failed; ..."),
 * or 0 after printing "<who>: ready"; where names the server
 * (host:port, a broker list). */
int sl_check_finish(sl_check *c, const char *who, const char *where, sl_err *err);

#endif
