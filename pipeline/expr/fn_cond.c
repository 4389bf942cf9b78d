/* fn_cond.c — COALESCE, IF, IFNULL and NULLIF. The result type is the
 * common type of the candidates (Calcite's least restrictive type); only
 * the chosen candidate is evaluated. */
#include <stdio.h>

#include "xeval.h"

/* coerces args[from..] to their common type and makes it the node's */
static int unify(xbinder *b, xnode *n, int from, const char *what)
{
    xtype t = xt_make(XT_NULL, 1);
    for (int i = from; i < n->nargs; i++) {
        xtype r;
        if (!xb_common(b, t, n->args[i]->type, &r)) {
            char x[48], y[48];
            xt_name(t, x, sizeof x);
            xt_name(n->args[i]->type, y, sizeof y);
            return xb_fail(b, n->args[i], "the values of %s have no common type (%s and %s)", what, x, y);
        }
        t = r;
    }
    for (int i = from; i < n->nargs; i++)
        if (xb_coerce(b, n, i, t))
            return -1;
    n->type = t;
    return 0;
}

static void f_coalesce(const xnode *n, xctx *c, xval *out)
{
    for (int i = 0; i < n->nargs; i++) {
        xeval_arg(n, i, c, out);
        if (!out->null)
            return;
    }
}

static int b_coalesce(xbinder *b, xnode *n)
{
    if (unify(b, n, 0, "COALESCE"))
        return -1;
    n->type.nullable = 1;
    for (int i = 0; i < n->nargs; i++)
        if (!n->args[i]->type.nullable)
            n->type.nullable = 0;
    n->eval = f_coalesce;
    return 0;
}

static void f_if(const xnode *n, xctx *c, xval *out)
{
    xval cond;
    xeval_arg(n, 0, c, &cond);
    xeval_arg(n, !cond.null && cond.u.i ? 1 : 2, c, out);
}

static int b_if(xbinder *b, xnode *n)
{
    xt t = n->args[0]->type.t;
    if (t != XT_BOOLEAN && t != XT_ANY && t != XT_NULL) {
        char x[48];
        xt_name(n->args[0]->type, x, sizeof x);
        return xb_fail(b, n->args[0], "IF needs a condition (BOOLEAN) first, not %s", x);
    }
    if (unify(b, n, 1, "IF"))
        return -1;
    n->type.nullable = n->args[1]->type.nullable || n->args[2]->type.nullable;
    n->eval = f_if;
    return 0;
}

static int b_ifnull(xbinder *b, xnode *n)
{
    if (unify(b, n, 0, "IFNULL"))
        return -1;
    n->type.nullable = n->args[1]->type.nullable;
    n->eval = f_coalesce;
    return 0;
}

static void f_nullif(const xnode *n, xctx *c, xval *out)
{
    xval w;
    xeval_arg(n, 0, c, out);
    if (out->null)
        return;
    xeval_arg(n, 1, c, &w);
    if (!w.null && x_compare(n->args[0]->type, out, &w) == 0)
        x_null(out);
}

static int b_nullif(xbinder *b, xnode *n)
{
    /* NULLIF compares numbers across types: NULLIF(1, 1.0) is NULL */
    xtype t;
    if (!xb_common(b, n->args[0]->type, n->args[1]->type, &t)) {
        char x[48], y[48];
        xt_name(n->args[0]->type, x, sizeof x);
        xt_name(n->args[1]->type, y, sizeof y);
        return xb_fail(b, n, "NULLIF cannot compare %s with %s", x, y);
    }
    if (xb_coerce(b, n, 0, t) || xb_coerce(b, n, 1, t))
        return -1;
    n->type = t;
    n->type.nullable = 1;
    n->eval = f_nullif;
    return 0;
}

const xfunc x_fn_cond[] = {
    {"COALESCE", 1, -1, b_coalesce, 0},
    {"IF", 3, 3, b_if, 0},
    {"IFNULL", 2, 2, b_ifnull, 0},
    {"NULLIF", 2, 2, b_nullif, 0},
    {NULL, 0, 0, NULL, 0},
};
