/* fn_ops.c — SQL operators: arithmetic (Calcite's result types, errors
 * instead of Java's silent integer wrap-around), comparison (Flink CDC's
 * rule: a comparison with NULL is FALSE, never NULL), three-valued AND,
 * OR, NOT, the IS tests, BETWEEN, IN and ||. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "xdecimal.h"
#include "xeval.h"
#include "xtime.h"

enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD };
enum { C_EQ, C_NE, C_LT, C_LE, C_GT, C_GE };

static const char *tn(xtype t, char *buf)
{
    xt_name(t, buf, 48);
    return buf;
}

static int is_interval(const xnode *n) { return n->col == -99 && n->eval == NULL; }
static int is_const_string(const xnode *n) { return n->eval == x_const && xt_is_string(n->type.t); }

/* ---- arithmetic ---- */

static void overflow(const xnode *n, xctx *c, xval *out)
{
    char t[48];
    x_fail(c, n, out, "%s overflow", tn(n->type, t));
}

static void int_arith(const xnode *n, xctx *c, xval *out)
{
    xval v[2];
    if (x_args(n, c, v, out))
        return;
    int64_t a = v[0].u.i, b = v[1].u.i, r = 0;
    int ovf = 0;
    switch (n->i1) {
    case OP_ADD: ovf = __builtin_add_overflow(a, b, &r); break;
    case OP_SUB: ovf = __builtin_sub_overflow(a, b, &r); break;
    case OP_MUL: ovf = __builtin_mul_overflow(a, b, &r); break;
    case OP_DIV:
    case OP_MOD:
        if (b == 0)
            return x_fail(c, n, out, "division by zero");
        if (a == INT64_MIN && b == -1)
            ovf = 1;
        else
            r = n->i1 == OP_DIV ? a / b : a % b;
        break;
    }
    int64_t lo, hi;
    xt_int_range(n->type.t, &lo, &hi);
    if (ovf || r < lo || r > hi)
        return overflow(n, c, out);
    out->null = 0;
    out->unavailable = 0;
    out->u.i = r;
}

static void dbl_arith(const xnode *n, xctx *c, xval *out)
{
    xval v[2];
    if (x_args(n, c, v, out))
        return;
    double a = v[0].u.d, b = v[1].u.d, r = 0;
    switch (n->i1) {
    case OP_ADD: r = a + b; break;
    case OP_SUB: r = a - b; break;
    case OP_MUL: r = a * b; break;
    case OP_DIV: r = a / b; break;
    case OP_MOD: r = fmod(a, b); break;
    }
    out->null = 0;
    out->unavailable = 0;
    out->u.d = n->type.t == XT_FLOAT ? (double)(float)r : r;
}

static void dec_arith(const xnode *n, xctx *c, xval *out)
{
    xval v[2];
    if (x_args(n, c, v, out))
        return;
    xdec r;
    int rc = 0;
    switch (n->i1) {
    case OP_ADD: rc = xdec_add(v[0].u.dec, v[1].u.dec, &r); break;
    case OP_SUB: rc = xdec_sub(v[0].u.dec, v[1].u.dec, &r); break;
    case OP_MUL: rc = xdec_mul(v[0].u.dec, v[1].u.dec, &r); break;
    case OP_DIV: {
        /* truncated at the result's scale (an unconstrained result: the
         * dividend's scale plus 6, as Calcite's minimum) */
        int s = n->type.p ? n->type.s : v[0].u.dec.scale + 6;
        rc = xdec_div(v[0].u.dec, v[1].u.dec, s, &r);
        break;
    }
    case OP_MOD: rc = xdec_mod(v[0].u.dec, v[1].u.dec, &r); break;
    }
    if (rc == XDEC_DIVZERO)
        return x_fail(c, n, out, "division by zero");
    if (!rc && n->type.p) {
        rc = xdec_rescale(&r, n->type.s, 1);
        if (!rc && xdec_digits(r) > n->type.p)
            rc = XDEC_OVERFLOW;
    }
    if (rc)
        return overflow(n, c, out);
    out->null = 0;
    out->unavailable = 0;
    out->u.dec = r;
}

static void negate(const xnode *n, xctx *c, xval *out)
{
    xval v;
    if (x_args(n, c, &v, out))
        return;
    *out = v;
    if (n->type.t == XT_FLOAT || n->type.t == XT_DOUBLE) {
        out->u.d = -v.u.d;
    } else if (n->type.t == XT_DECIMAL) {
        out->u.dec.v = -v.u.dec.v;
    } else {
        int64_t lo, hi;
        xt_int_range(n->type.t, &lo, &hi);
        if (v.u.i == lo)
            return overflow(n, c, out);
        out->u.i = -v.u.i;
    }
}

/* temporal +/- INTERVAL */
static void temporal_interval(const xnode *n, xctx *c, xval *out)
{
    xval v;
    xeval_arg(n, 0, c, &v);
    if (v.null) {
        *out = v;
        return;
    }
    int64_t amount = n->i2; /* months or microseconds, sign applied */
    *out = v;
    xt t = n->type.t;
    if (n->i1) {
        /* months: the day of month is clamped (Jan 31 + 1 month = Feb 29) */
        int64_t us = t == XT_DATE ? v.u.i * 86400000000LL : v.u.i;
        if (t == XT_TIME)
            return;
        int64_t days, tod;
        x_split_us(us, &days, &tod);
        int64_t y;
        unsigned m, d;
        sl_civil_from_days(days, &y, &m, &d);
        int64_t mm = y * 12 + (m - 1) + amount;
        y = x_floor_div(mm, 12);
        m = (unsigned)(mm - y * 12) + 1;
        static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        unsigned last = mdays[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
        if (d > last)
            d = last;
        int64_t nd = sl_days_from_civil(y, m, d);
        out->u.i = t == XT_DATE ? nd : nd * 86400000000LL + tod;
        return;
    }
    if (t == XT_DATE)
        out->u.i = v.u.i + amount / 86400000000LL;
    else if (t == XT_TIME)
        out->u.i = ((v.u.i + amount) % 86400000000LL + 86400000000LL) % 86400000000LL;
    else
        out->u.i = v.u.i + amount;
}

static xtype dec_result(xbinder *b, int op, xtype x, xtype y)
{
    int max = xb_rt(b)->decimal_max;
    int unconstrained = !x.p || !y.p;
    int p1 = x.p ? x.p : 38, p2 = y.p ? y.p : 38, s1 = x.s, s2 = y.s, p, s;
    switch (op) {
    case OP_ADD:
    case OP_SUB:
        s = s1 > s2 ? s1 : s2;
        p = (p1 - s1 > p2 - s2 ? p1 - s1 : p2 - s2) + s + 1;
        break;
    case OP_MUL:
        s = s1 + s2;
        p = p1 + p2;
        break;
    case OP_DIV: {
        int dout = p1 - s1 + s2;
        if (dout > max)
            dout = max;
        s = s1 + p2 + 1 > 6 ? s1 + p2 + 1 : 6;
        if (s > max - dout)
            s = max - dout;
        p = dout + s;
        break;
    }
    default:
        s = s1 > s2 ? s1 : s2;
        p = (p1 - s1 > p2 - s2 ? p1 - s1 : p2 - s2) + s;
        break;
    }
    if (p > max)
        p = max;
    if (s > p)
        s = p;
    xtype r = xt_dec(unconstrained ? 0 : p, s, x.nullable || y.nullable);
    return r;
}

static int bind_arith(xbinder *b, xnode *n, int op)
{
    xnode *a = n->args[0], *c = n->args[1];
    char x[48], y[48];
    if (is_interval(a) || is_interval(c)) {
        if (op != OP_ADD && op != OP_SUB)
            return xb_fail(b, n, "an INTERVAL can only be added or subtracted");
        if (is_interval(a) && (op == OP_SUB || is_interval(c)))
            return xb_fail(b, n, "write temporal + INTERVAL or temporal - INTERVAL");
        xnode *iv = is_interval(a) ? a : c, *t = is_interval(a) ? c : a;
        if (t->type.t != XT_ANY && t->type.t != XT_NULL && !xt_is_temporal(t->type.t))
            return xb_fail(b, n, "an INTERVAL can only be added to a date, time or timestamp, not %s", tn(t->type, x));
        n->args[0] = t;
        n->nargs = 1;
        n->type = t->type;
        n->i1 = iv->i1;
        n->i2 = op == OP_SUB ? -iv->i2 : iv->i2;
        n->eval = temporal_interval;
        return 0;
    }
    /* a quoted number meets a number as a number ('10' + 1) */
    for (int i = 0; i < 2; i++) {
        xnode *self = n->args[i], *other = n->args[1 - i];
        if (xt_is_string(self->type.t) && (xt_is_numeric(other->type.t) || other->type.t == XT_ANY)) {
            xdec d;
            if (is_const_string(self) && !self->lit.null &&
                xdec_parse(self->lit.u.s.p, self->lit.u.s.n, &d) != XDEC_OK)
                return xb_fail(b, self, "operator %s needs numbers, and '%.*s' is not one",
                               (const char *[]){"+", "-", "*", "/", "%"}[op],
                               (int)(self->lit.u.s.n > 40 ? 40 : self->lit.u.s.n), self->lit.u.s.p);
            xtype to = other->type.t == XT_FLOAT || other->type.t == XT_DOUBLE ? xt_make(XT_DOUBLE, 1)
                                                                                : xt_dec(0, 0, 1);
            /* an integer literal meets an integer as one ('10' + 1 is INT 11, as Calcite coerces) */
            if (is_const_string(self) && !self->lit.null && xt_is_int(other->type.t) &&
                !memchr(self->lit.u.s.p, '.', self->lit.u.s.n) && !memchr(self->lit.u.s.p, 'e', self->lit.u.s.n) &&
                !memchr(self->lit.u.s.p, 'E', self->lit.u.s.n))
                to = other->type;
            if (xb_coerce(b, n, i, to))
                return -1;
        }
    }
    a = n->args[0];
    c = n->args[1];
    xt ta = a->type.t, tc = c->type.t;
    if (ta == XT_ANY || tc == XT_ANY) {
        n->type = xt_make(XT_ANY, 1);
        return 0;
    }
    if ((!xt_is_numeric(ta) && ta != XT_NULL) || (!xt_is_numeric(tc) && tc != XT_NULL))
        return xb_fail(b, n, "operator %s needs numbers, not %s and %s",
                       (const char *[]){"+", "-", "*", "/", "%"}[op], tn(a->type, x), tn(c->type, y));
    if (ta == XT_NULL)
        a->type = c->type, ta = tc;
    if (tc == XT_NULL)
        c->type = a->type, tc = ta;
    if (ta == XT_NULL) {
        n->type = xt_make(XT_INT, 1);
        n->eval = int_arith;
        n->i1 = op;
        return 0;
    }
    xtype r;
    int nul = a->type.nullable || c->type.nullable;
    n->i1 = op;
    if (ta == XT_FLOAT || ta == XT_DOUBLE || tc == XT_FLOAT || tc == XT_DOUBLE) {
        r = xt_make(ta == XT_FLOAT && (tc == XT_FLOAT || xt_is_int(tc)) ? XT_FLOAT
                    : tc == XT_FLOAT && xt_is_int(ta)                     ? XT_FLOAT
                                                                          : XT_DOUBLE,
                    nul);
        if (xb_coerce(b, n, 0, r) || xb_coerce(b, n, 1, r))
            return -1;
        n->eval = dbl_arith;
    } else if (xt_is_int(ta) && xt_is_int(tc)) {
        r = xt_make(ta > tc ? ta : tc, nul);
        n->eval = int_arith;
    } else {
        xtype da = ta == XT_DECIMAL ? a->type : xt_int_as_decimal(ta, a->type.nullable);
        xtype dc = tc == XT_DECIMAL ? c->type : xt_int_as_decimal(tc, c->type.nullable);
        r = dec_result(b, op, da, dc);
        /* operands keep their own scale; the evaluator aligns them */
        xtype keep_a = da, keep_c = dc;
        keep_a.p = 0;
        keep_c.p = 0;
        if ((ta != XT_DECIMAL && xb_coerce(b, n, 0, keep_a)) || (tc != XT_DECIMAL && xb_coerce(b, n, 1, keep_c)))
            return -1;
        n->eval = dec_arith;
    }
    r.nullable = (uint8_t)nul;
    n->type = r;
    return 0;
}

static int b_add(xbinder *b, xnode *n) { return bind_arith(b, n, OP_ADD); }
static int b_sub(xbinder *b, xnode *n) { return bind_arith(b, n, OP_SUB); }
static int b_mul(xbinder *b, xnode *n) { return bind_arith(b, n, OP_MUL); }
static int b_div(xbinder *b, xnode *n) { return bind_arith(b, n, OP_DIV); }
static int b_mod(xbinder *b, xnode *n) { return bind_arith(b, n, OP_MOD); }

static int b_neg(xbinder *b, xnode *n)
{
    xt t = n->args[0]->type.t;
    char x[48];
    if (t == XT_ANY || t == XT_NULL) {
        n->type = n->args[0]->type;
        n->eval = negate;
        return 0;
    }
    if (!xt_is_numeric(t))
        return xb_fail(b, n, "unary minus needs a number, not %s", tn(n->args[0]->type, x));
    n->type = n->args[0]->type;
    n->eval = negate;
    return 0;
}

/* ---- comparison ---- */

/* the type two operands are compared in; quoted literals meet numbers and
 * times as numbers and times */
static int comparable(xbinder *b, xnode *n, int i, int j, xtype *out)
{
    xnode *a = n->args[i], *c = n->args[j];
    for (int k = 0; k < 2; k++) {
        xnode *self = k ? c : a, *other = k ? a : c;
        int idx = k ? j : i;
        if (!xt_is_string(self->type.t))
            continue;
        xt ot = other->type.t;
        xtype to;
        if (xt_is_numeric(ot))
            to = ot == XT_FLOAT || ot == XT_DOUBLE ? xt_make(XT_DOUBLE, 1) : xt_dec(0, 0, 1);
        else if (xt_is_temporal(ot) || ot == XT_BOOLEAN)
            to = other->type;
        else
            continue;
        if (!is_const_string(self) && ot == XT_BOOLEAN)
            continue;
        if (is_const_string(self) && xt_is_numeric(ot) && !self->lit.null) {
            xdec d;
            char x[48];
            if (xdec_parse(self->lit.u.s.p, self->lit.u.s.n, &d) != XDEC_OK)
                return xb_fail(b, self, "cannot compare %s with '%.*s', which is not a number", tn(other->type, x),
                               (int)(self->lit.u.s.n > 40 ? 40 : self->lit.u.s.n), self->lit.u.s.p);
        }
        if (xb_coerce(b, n, idx, to))
            return -1;
    }
    a = n->args[i];
    c = n->args[j];
    char x[48], y[48];
    if (!xb_common(b, a->type, c->type, out))
        return xb_fail(b, n, "cannot compare %s with %s", tn(a->type, x), tn(c->type, y));
    return 0;
}

/* both operands into v; 1 (and FALSE in out) when one is NULL */
static int cmp_args(const xnode *n, xctx *c, xval *v, xval *out)
{
    out->null = 0;
    out->unavailable = 0;
    xeval_arg(n, 0, c, &v[0]);
    xeval_arg(n, 1, c, &v[1]);
    if (v[0].null || v[1].null) {
        out->u.i = 0;
        out->unavailable = v[0].unavailable | v[1].unavailable;
        return 1;
    }
    return 0;
}

static void cmp_int(const xnode *n, xctx *c, xval *out)
{
    xval v[2];
    if (cmp_args(n, c, v, out))
        return;
    int64_t a = v[0].u.i, b = v[1].u.i;
    int r = 0;
    switch (n->i1) {
    case C_EQ: r = a == b; break;
    case C_NE: r = a != b; break;
    case C_LT: r = a < b; break;
    case C_LE: r = a <= b; break;
    case C_GT: r = a > b; break;
    case C_GE: r = a >= b; break;
    }
    out->u.i = r;
}

static int cmp_result(int k, int op)
{
    switch (op) {
    case C_EQ: return k == 0;
    case C_NE: return k != 0;
    case C_LT: return k < 0;
    case C_LE: return k <= 0;
    case C_GT: return k > 0;
    default: return k >= 0;
    }
}

static void cmp_any(const xnode *n, xctx *c, xval *out)
{
    xval v[2];
    if (cmp_args(n, c, v, out))
        return;
    out->u.i = cmp_result(x_compare(n->args[0]->type, &v[0], &v[1]), (int)n->i1);
}

static int int_like(xt t)
{
    return t == XT_BOOLEAN || xt_is_int(t) || t == XT_DATE || t == XT_TIME || t == XT_TIMESTAMP ||
           t == XT_TIMESTAMP_LTZ;
}

static int bind_cmp(xbinder *b, xnode *n, int op)
{
    xtype t;
    if (comparable(b, n, 0, 1, &t))
        return -1;
    n->type = xt_make(XT_BOOLEAN, 0);
    n->i1 = op;
    if (t.t == XT_ANY)
        return 0;
    if (xb_coerce(b, n, 0, t) || xb_coerce(b, n, 1, t))
        return -1;
    n->eval = int_like(t.t) ? cmp_int : cmp_any;
    return 0;
}

static int b_eq(xbinder *b, xnode *n) { return bind_cmp(b, n, C_EQ); }
static int b_ne(xbinder *b, xnode *n) { return bind_cmp(b, n, C_NE); }
static int b_lt(xbinder *b, xnode *n) { return bind_cmp(b, n, C_LT); }
static int b_le(xbinder *b, xnode *n) { return bind_cmp(b, n, C_LE); }
static int b_gt(xbinder *b, xnode *n) { return bind_cmp(b, n, C_GT); }
static int b_ge(xbinder *b, xnode *n) { return bind_cmp(b, n, C_GE); }

static void distinct(const xnode *n, xctx *c, xval *out)
{
    xval v[2];
    xeval_arg(n, 0, c, &v[0]);
    xeval_arg(n, 1, c, &v[1]);
    int d = v[0].null != v[1].null || (!v[0].null && x_compare(n->args[0]->type, &v[0], &v[1]) != 0);
    out->null = 0;
    out->unavailable = v[0].unavailable | v[1].unavailable;
    out->u.i = n->i1 ? !d : d;
}

static int bind_distinct(xbinder *b, xnode *n, int not_)
{
    xtype t;
    if (comparable(b, n, 0, 1, &t))
        return -1;
    n->type = xt_make(XT_BOOLEAN, 0);
    n->i1 = not_;
    if (t.t == XT_ANY)
        return 0;
    if (xb_coerce(b, n, 0, t) || xb_coerce(b, n, 1, t))
        return -1;
    n->eval = distinct;
    return 0;
}

static int b_distinct(xbinder *b, xnode *n) { return bind_distinct(b, n, 0); }
static int b_not_distinct(xbinder *b, xnode *n) { return bind_distinct(b, n, 1); }

/* BETWEEN and IN: FALSE when the value (or every candidate) is NULL */
static void between(const xnode *n, xctx *c, xval *out)
{
    xval v[3];
    out->null = 0;
    out->unavailable = 0;
    for (int i = 0; i < 3; i++) {
        xeval_arg(n, i, c, &v[i]);
        out->unavailable |= v[i].unavailable;
    }
    if (v[0].null || v[1].null || v[2].null) {
        out->u.i = 0;
        return;
    }
    xtype t = n->args[0]->type;
    int in = x_compare(t, &v[0], &v[1]) >= 0 && x_compare(t, &v[0], &v[2]) <= 0;
    out->u.i = n->i1 ? !in : in;
}

static int bind_between(xbinder *b, xnode *n, int not_)
{
    xtype t1, t2, t;
    if (comparable(b, n, 0, 1, &t1) || comparable(b, n, 0, 2, &t2))
        return -1;
    char x[48], y[48];
    if (!xb_common(b, t1, t2, &t))
        return xb_fail(b, n, "BETWEEN bounds have no common type (%s and %s)", tn(t1, x), tn(t2, y));
    n->type = xt_make(XT_BOOLEAN, 0);
    n->i1 = not_;
    if (t.t == XT_ANY)
        return 0;
    for (int i = 0; i < 3; i++)
        if (xb_coerce(b, n, i, t))
            return -1;
    n->eval = between;
    return 0;
}

static int b_between(xbinder *b, xnode *n) { return bind_between(b, n, 0); }
static int b_not_between(xbinder *b, xnode *n) { return bind_between(b, n, 1); }

static void in_list(const xnode *n, xctx *c, xval *out)
{
    xval v, w;
    xeval_arg(n, 0, c, &v);
    out->null = 0;
    out->unavailable = v.unavailable;
    out->u.i = 0;
    if (v.null)
        return;
    xtype t = n->args[0]->type;
    int found = 0;
    for (int i = 1; i < n->nargs && !found; i++) {
        xeval_arg(n, i, c, &w);
        found = !w.null && x_compare(t, &v, &w) == 0;
    }
    out->u.i = n->i1 ? !found : found;
}

static int bind_in(xbinder *b, xnode *n, int not_)
{
    xtype t = n->args[0]->type;
    for (int i = 1; i < n->nargs; i++) {
        xtype ti, r;
        if (comparable(b, n, 0, i, &ti))
            return -1;
        char x[48], y[48];
        if (!xb_common(b, t, ti, &r))
            return xb_fail(b, n->args[i], "IN list values have no common type (%s and %s)", tn(t, x), tn(ti, y));
        t = r;
    }
    n->type = xt_make(XT_BOOLEAN, 0);
    n->i1 = not_;
    if (t.t == XT_ANY)
        return 0;
    for (int i = 0; i < n->nargs; i++)
        if (xb_coerce(b, n, i, t))
            return -1;
    n->eval = in_list;
    return 0;
}

static int b_in(xbinder *b, xnode *n) { return bind_in(b, n, 0); }
static int b_not_in(xbinder *b, xnode *n) { return bind_in(b, n, 1); }

/* ---- logic ---- */

static int need_bool(xbinder *b, xnode *n, int i)
{
    xt t = n->args[i]->type.t;
    char x[48];
    if (t == XT_BOOLEAN || t == XT_ANY)
        return 0;
    if (t == XT_NULL) {
        n->args[i]->type = xt_make(XT_BOOLEAN, 1);
        return 0;
    }
    return xb_fail(b, n->args[i], "%s needs a condition (BOOLEAN), not %s", n->nargs == 1 ? "NOT" : "AND/OR",
                   tn(n->args[i]->type, x));
}

static void and_(const xnode *n, xctx *c, xval *out)
{
    xval a, b;
    xeval_arg(n, 0, c, &a);
    out->unavailable = a.unavailable;
    if (!a.null && !a.u.i) {
        out->null = 0;
        out->u.i = 0;
        return;
    }
    xeval_arg(n, 1, c, &b);
    out->unavailable |= b.unavailable;
    if (!b.null && !b.u.i) {
        out->null = 0;
        out->u.i = 0;
        return;
    }
    out->null = a.null || b.null;
    out->u.i = !out->null;
}

static void or_(const xnode *n, xctx *c, xval *out)
{
    xval a, b;
    xeval_arg(n, 0, c, &a);
    out->unavailable = a.unavailable;
    if (!a.null && a.u.i) {
        out->null = 0;
        out->u.i = 1;
        return;
    }
    xeval_arg(n, 1, c, &b);
    out->unavailable |= b.unavailable;
    if (!b.null && b.u.i) {
        out->null = 0;
        out->u.i = 1;
        return;
    }
    out->null = a.null || b.null;
    out->u.i = 0;
}

static void not_(const xnode *n, xctx *c, xval *out)
{
    xeval_arg(n, 0, c, out);
    if (!out->null)
        out->u.i = !out->u.i;
}

static int b_and(xbinder *b, xnode *n)
{
    if (need_bool(b, n, 0) || need_bool(b, n, 1))
        return -1;
    n->type = xt_make(XT_BOOLEAN, xb_nullable_args(n));
    n->eval = and_;
    return 0;
}

static int b_or(xbinder *b, xnode *n)
{
    if (need_bool(b, n, 0) || need_bool(b, n, 1))
        return -1;
    n->type = xt_make(XT_BOOLEAN, xb_nullable_args(n));
    n->eval = or_;
    return 0;
}

static int b_not(xbinder *b, xnode *n)
{
    if (need_bool(b, n, 0))
        return -1;
    n->type = xt_make(XT_BOOLEAN, xb_nullable_args(n));
    n->eval = not_;
    return 0;
}

/* IS NULL, IS TRUE, ...: i1 selects the test, i2 negates */
enum { IS_NULL, IS_TRUE, IS_FALSE };

static void is_test(const xnode *n, xctx *c, xval *out)
{
    xval v;
    xeval_arg(n, 0, c, &v);
    int r = n->i1 == IS_NULL ? v.null : n->i1 == IS_TRUE ? (!v.null && v.u.i) : (!v.null && !v.u.i);
    out->null = 0;
    out->unavailable = v.unavailable;
    out->u.i = n->i2 ? !r : r;
}

static int bind_is(xbinder *b, xnode *n, int test, int neg)
{
    if (test != IS_NULL && need_bool(b, n, 0))
        return -1;
    n->type = xt_make(XT_BOOLEAN, 0);
    n->eval = is_test;
    n->i1 = test;
    n->i2 = neg;
    return 0;
}

static int b_is_null(xbinder *b, xnode *n) { return bind_is(b, n, IS_NULL, 0); }
static int b_is_not_null(xbinder *b, xnode *n) { return bind_is(b, n, IS_NULL, 1); }
static int b_is_true(xbinder *b, xnode *n) { return bind_is(b, n, IS_TRUE, 0); }
static int b_is_not_true(xbinder *b, xnode *n) { return bind_is(b, n, IS_TRUE, 1); }
static int b_is_false(xbinder *b, xnode *n) { return bind_is(b, n, IS_FALSE, 0); }
static int b_is_not_false(xbinder *b, xnode *n) { return bind_is(b, n, IS_FALSE, 1); }

/* ---- || ---- */

static void concat2(const xnode *n, xctx *c, xval *out)
{
    xval v[2];
    if (x_args(n, c, v, out))
        return;
    char *p = x_alloc(c, (size_t)v[0].u.s.n + v[1].u.s.n);
    if (!p)
        return x_null(out);
    memcpy(p, v[0].u.s.p, v[0].u.s.n);
    memcpy(p + v[0].u.s.n, v[1].u.s.p, v[1].u.s.n);
    out->null = 0;
    out->unavailable = 0;
    out->u.s.p = p;
    out->u.s.n = v[0].u.s.n + v[1].u.s.n;
}

static int b_concat(xbinder *b, xnode *n)
{
    int bin = xt_is_binary(n->args[0]->type.t) && xt_is_binary(n->args[1]->type.t);
    xtype t = xt_make(bin ? XT_VARBINARY : XT_VARCHAR, 1);
    for (int i = 0; i < 2; i++)
        if (xb_coerce(b, n, i, t))
            return -1;
    t.nullable = (uint8_t)xb_nullable_args(n);
    n->type = t;
    n->eval = concat2;
    return 0;
}

const xfunc x_fn_ops[] = {
    {"+", 2, 2, b_add, 0},
    {"-", 2, 2, b_sub, 0},
    {"*", 2, 2, b_mul, 0},
    {"/", 2, 2, b_div, 0},
    {"%", 2, 2, b_mod, 0},
    {"MOD", 2, 2, b_mod, 0},
    {"NEG", 1, 1, b_neg, 0},
    {"=", 2, 2, b_eq, 0},
    {"<>", 2, 2, b_ne, 0},
    {"<", 2, 2, b_lt, 0},
    {"<=", 2, 2, b_le, 0},
    {">", 2, 2, b_gt, 0},
    {">=", 2, 2, b_ge, 0},
    {"IS DISTINCT FROM", 2, 2, b_distinct, 0},
    {"IS NOT DISTINCT FROM", 2, 2, b_not_distinct, 0},
    {"BETWEEN", 3, 3, b_between, 0},
    {"NOT BETWEEN", 3, 3, b_not_between, 0},
    {"IN", 2, -1, b_in, 0},
    {"NOT IN", 2, -1, b_not_in, 0},
    {"AND", 2, 2, b_and, 0},
    {"OR", 2, 2, b_or, 0},
    {"NOT", 1, 1, b_not, 0},
    {"IS NULL", 1, 1, b_is_null, 0},
    {"IS NOT NULL", 1, 1, b_is_not_null, 0},
    {"IS UNKNOWN", 1, 1, b_is_null, 0},
    {"IS NOT UNKNOWN", 1, 1, b_is_not_null, 0},
    {"IS TRUE", 1, 1, b_is_true, 0},
    {"IS NOT TRUE", 1, 1, b_is_not_true, 0},
    {"IS FALSE", 1, 1, b_is_false, 0},
    {"IS NOT FALSE", 1, 1, b_is_not_false, 0},
    {"||", 2, 2, b_concat, 0},
    {NULL, 0, 0, NULL, 0},
};
