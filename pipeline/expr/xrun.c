/* xrun.c — what every evaluator shares: failure recording, argument
 * evaluation with NULL propagation, and text in the batch arena. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "xeval.h"

void x_fail(xctx *c, const xnode *n, xval *out, const char *fmt, ...)
{
    if (!c->rc) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->msg, sizeof c->msg, fmt, ap);
        va_end(ap);
        c->rc = SL_ERUNTIME;
        c->err_node = n;
    }
    x_null(out);
}

int x_args(const xnode *n, xctx *c, xval *v, xval *out)
{
    int unavailable = 0, null = 0;
    for (int i = 0; i < n->nargs; i++) {
        xeval_arg(n, i, c, &v[i]);
        null |= v[i].null;
        unavailable |= v[i].unavailable;
    }
    if (null) {
        out->null = 1;
        out->unavailable = (uint8_t)unavailable;
        return 1;
    }
    return 0;
}

char *x_alloc(xctx *c, size_t n)
{
    char *p = sl_arena_alloc(c->arena, n ? n : 1);
    if (!p)
        c->rc = SL_ERUNTIME, snprintf(c->msg, sizeof c->msg, "out of memory");
    return p;
}

void x_set_text(xctx *c, xval *out, const char *p, size_t n)
{
    char *d = x_alloc(c, n);
    out->null = 0;
    out->unavailable = 0;
    if (!d) {
        out->null = 1;
        return;
    }
    memcpy(d, p, n);
    out->u.s.p = d;
    out->u.s.n = (uint32_t)n;
}

void x_const(const xnode *n, xctx *c, xval *out) { *out = n->lit; }
