/* fn_numeric.c — ABS, CEIL, FLOOR and ROUND with Flink CDC's result types
 * (ROUND of a DECIMAL narrows its scale as Flink's findRoundDecimalType
 * does) and half-up rounding as BigDecimal.setScale(n, HALF_UP). */
#include <math.h>
#include <stdio.h>

#include "xdecimal.h"
#include "xeval.h"

static int numeric_arg(xbinder *b, xnode *n)
{
    xt t = n->args[0]->type.t;
    if (t == XT_ANY || xt_is_numeric(t))
        return 0;
    if (t == XT_NULL) {
        n->args[0]->type = xt_make(XT_INT, 1);
        return 0;
    }
    char x[48];
    xt_name(n->args[0]->type, x, sizeof x);
    return xb_fail(b, n->args[0], "expected a number, not %s", x);
}

static void f_abs(const xnode *n, xctx *c, xval *out)
{
    xval v;
    if (x_args(n, c, &v, out))
        return;
    *out = v;
    xt t = n->type.t;
    if (t == XT_FLOAT || t == XT_DOUBLE) {
        out->u.d = fabs(v.u.d);
    } else if (t == XT_DECIMAL) {
        if (v.u.dec.v < 0)
            out->u.dec.v = -v.u.dec.v;
    } else {
        int64_t lo, hi;
        xt_int_range(t, &lo, &hi);
        if (v.u.i == lo) {
            char tn[48];
            xt_name(n->type, tn, sizeof tn);
            return x_fail(c, n, out, "%s overflow in ABS(%lld)", tn, (long long)v.u.i);
        }
        out->u.i = v.u.i < 0 ? -v.u.i : v.u.i;
    }
}

static int b_abs(xbinder *b, xnode *n)
{
    if (numeric_arg(b, n))
        return -1;
    n->type = n->args[0]->type;
    n->eval = f_abs;
    return 0;
}

/* CEIL (i1 1) and FLOOR (i1 0) */
static void f_ceil_floor(const xnode *n, xctx *c, xval *out)
{
    xval v;
    if (x_args(n, c, &v, out))
        return;
    *out = v;
    xt t = n->args[0]->type.t;
    if (t == XT_FLOAT || t == XT_DOUBLE) {
        out->u.d = n->i1 ? ceil(v.u.d) : floor(v.u.d);
    } else if (t == XT_DECIMAL) {
        xdec d = v.u.dec;
        if (d.scale > 0) {
            xint128 p = xdec_pow10(d.scale);
            xint128 q = d.v / p, r = d.v % p;
            if (r && n->i1 && d.v > 0)
                q++;
            if (r && !n->i1 && d.v < 0)
                q--;
            d.v = q;
            d.scale = 0;
        }
        out->u.dec = d;
    }
}

static int bind_ceil_floor(xbinder *b, xnode *n, int ceil_)
{
    if (numeric_arg(b, n))
        return -1;
    xtype t = n->args[0]->type;
    if (t.t == XT_DECIMAL && t.s > 0 && t.p) {
        int p = t.p - t.s + 1;
        t = xt_dec(p > xb_rt(b)->decimal_max ? xb_rt(b)->decimal_max : p, 0, t.nullable);
    } else if (t.t == XT_DECIMAL) {
        t.s = 0;
    }
    n->type = t;
    n->eval = f_ceil_floor;
    n->i1 = ceil_;
    return 0;
}

static int b_ceil(xbinder *b, xnode *n) { return bind_ceil_floor(b, n, 1); }
static int b_floor(xbinder *b, xnode *n) { return bind_ceil_floor(b, n, 0); }

/* ROUND(x[, n]) half up; doubles go through their shortest decimal text
 * as BigDecimal.valueOf(double) */
static void f_round(const xnode *n, xctx *c, xval *out)
{
    xval v[2];
    if (x_args(n, c, v, out))
        return;
    int64_t r = n->nargs > 1 ? v[1].u.i : 0;
    if (r > 38 || r < -38)
        r = r > 0 ? 38 : -38;
    *out = v[0];
    xt t = n->args[0]->type.t;
    xdec d;
    if (t == XT_FLOAT || t == XT_DOUBLE) {
        if (!isfinite(v[0].u.d) || xdec_from_double(v[0].u.d, &d))
            return;
    } else if (t == XT_DECIMAL) {
        d = v[0].u.dec;
    } else {
        d = xdec_from_i64(v[0].u.i);
    }
    if (xdec_rescale(&d, (int)r, 1))
        return x_fail(c, n, out, "ROUND overflow");
    if (r < 0) {
        d.v *= xdec_pow10((int)-r);
        d.scale = 0;
    }
    if (t == XT_FLOAT || t == XT_DOUBLE) {
        double x = xdec_to_double(d);
        out->u.d = t == XT_FLOAT ? (double)(float)x : x;
    } else if (t == XT_DECIMAL) {
        if (n->type.p && xdec_rescale(&d, n->type.s, 1))
            return x_fail(c, n, out, "ROUND overflow");
        out->u.dec = d;
    } else {
        int64_t i, lo, hi;
        xt_int_range(n->type.t, &lo, &hi);
        if (xdec_to_i64(d, &i) || i < lo || i > hi)
            return x_fail(c, n, out, "ROUND overflow");
        out->u.i = i;
    }
}

static int b_round(xbinder *b, xnode *n)
{
    if (numeric_arg(b, n))
        return -1;
    if (n->nargs > 1) {
        xt t = n->args[1]->type.t;
        if (t != XT_ANY && !xt_is_int(t))
            return xb_fail(b, n->args[1], "ROUND's second argument must be an integer");
    }
    xtype t = n->args[0]->type;
    if (t.t == XT_DECIMAL && t.p) {
        const xval *k = n->nargs > 1 ? xb_const_arg(n, 1) : NULL;
        if (n->nargs == 1 || (k && !k->null)) {
            int r = n->nargs > 1 ? (int)k->u.i : 0;
            int p = t.p, s = t.s;
            if (r >= s) {
            } else if (r < 0) {
                p = 1 + p - s > 38 ? 38 : 1 + p - s;
                s = 0;
            } else {
                p = 1 + p - s + r;
                s = r;
            }
            t = xt_dec(p, s, t.nullable);
        }
    }
    n->type = t;
    n->eval = f_round;
    return 0;
}

const xfunc x_fn_numeric[] = {
    {"ABS", 1, 1, b_abs, 0},
    {"CEIL", 1, 1, b_ceil, 0},
    {"CEILING", 1, 1, b_ceil, 0},
    {"FLOOR", 1, 1, b_floor, 0},
    {"ROUND", 1, 2, b_round, 0},
    {NULL, 0, 0, NULL, 0},
};
