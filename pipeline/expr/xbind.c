/* xbind.c — resolving names and typing a parse tree into an evaluable
 * tree (see xbind.h). Name resolution follows Flink CDC: metadata columns
 * first, then the source's metadata.list columns, then (in a filter) the
 * projection's output columns, then the table's own columns. */
#include "xbind.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xdecimal.h"
#include "xtime.h"

typedef struct xowned {
    struct xowned *next;
    void *aux;
    void (*release)(void *);
} xowned;

struct xbinder {
    const xscope *sc;
    const xrt *rt;
    xbinding *owner;
    int err_pos;
    char *why;
    size_t wlen;
    int failed;
};

void xbinding_init(xbinding *b)
{
    sl_arena_init(&b->arena);
    b->owned = NULL;
}

void xbinding_free(xbinding *b)
{
    for (xowned *o = b->owned; o; o = o->next)
        o->release(o->aux);
    b->owned = NULL;
    sl_arena_free(&b->arena);
}

void *xb_alloc(xbinder *b, size_t n)
{
    void *p = sl_arena_alloc(&b->owner->arena, n ? n : 1);
    if (p)
        memset(p, 0, n ? n : 1);
    return p;
}

void xb_own(xbinder *b, void *aux, void (*release)(void *))
{
    xowned *o = xb_alloc(b, sizeof *o);
    if (!o) {
        release(aux);
        return;
    }
    o->aux = aux;
    o->release = release;
    o->next = b->owner->owned;
    b->owner->owned = o;
}

const xrt *xb_rt(xbinder *b) { return b->rt; }
int xb_checking(xbinder *b) { return b->sc->in == NULL; }

int xb_fail(xbinder *b, const xnode *at, const char *fmt, ...)
{
    if (!b->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(b->why, b->wlen, fmt, ap);
        va_end(ap);
        b->err_pos = at ? at->pos : 0;
        b->failed = 1;
    }
    return -1;
}

int xb_nullable_args(const xnode *n)
{
    for (int i = 0; i < n->nargs; i++)
        if (n->args[i]->type.nullable)
            return 1;
    return 0;
}

const xval *xb_const_arg(const xnode *n, int i)
{
    return i < n->nargs && n->args[i]->eval == x_const ? &n->args[i]->lit : NULL;
}

int xb_is_metadata(const char *name)
{
    return strcmp(name, "__namespace_name__") == 0 || strcmp(name, "__schema_name__") == 0 ||
           strcmp(name, "__table_name__") == 0 || strcmp(name, "__data_event_type__") == 0;
}

static xnode *new_node(xbinder *b, int pos, xtype t)
{
    xnode *n = xb_alloc(b, sizeof *n);
    if (!n) {
        xb_fail(b, NULL, "out of memory");
        return NULL;
    }
    n->pos = pos;
    n->type = t;
    return n;
}

static xnode *const_node(xbinder *b, int pos, xtype t, xval v)
{
    xnode *n = new_node(b, pos, t);
    if (n) {
        n->eval = x_const;
        n->lit = v;
    }
    return n;
}

static xval text_val(xbinder *b, const char *s)
{
    xval v = {0};
    if (!s) {
        v.null = 1;
        return v;
    }
    size_t l = strlen(s);
    char *p = xb_alloc(b, l + 1);
    if (p)
        memcpy(p, s, l);
    v.u.s.p = p;
    v.u.s.n = (uint32_t)l;
    return v;
}

/* ---- column and metadata evaluators ---- */

static void eval_col(const xnode *n, xctx *c, xval *out) { x_from_value(c, n, n->type, &c->in[n->col], out); }

/* the common column kinds without the general conversion */
static void eval_col_int(const xnode *n, xctx *c, xval *out)
{
    const sl_value *sv = &c->in[n->col];
    if (sv->kind != SL_INT)
        return x_from_value(c, n, n->type, sv, out);
    out->null = 0;
    out->unavailable = 0;
    out->u.i = sv->v.i;
}

static void eval_col_text(const xnode *n, xctx *c, xval *out)
{
    const sl_value *sv = &c->in[n->col];
    if (sv->kind != SL_STRING)
        return x_from_value(c, n, n->type, sv, out);
    out->null = 0;
    out->unavailable = 0;
    out->u.s.p = sv->v.s;
    out->u.s.n = sv->len;
}

static xfn column_eval(const sl_column *col, xtype t)
{
    if (col->kind == SL_INT && xt_is_int(t.t))
        return eval_col_int;
    if (col->kind == SL_STRING && xt_is_string(t.t))
        return eval_col_text;
    return eval_col;
}

static void eval_post(const xnode *n, xctx *c, xval *out) { *out = c->post[n->col]; }

static void eval_event_type(const xnode *n, xctx *c, xval *out)
{
    out->null = 0;
    out->unavailable = 0;
    out->u.s.p = c->op;
    out->u.s.n = 2;
}

static void eval_op_ts(const xnode *n, xctx *c, xval *out)
{
    out->null = 0;
    out->unavailable = 0;
    /* Flink reports 0 for snapshot rows, the commit time for changes */
    out->u.i = c->ev && c->ev->op != SL_OP_READ && c->ev->tx ? c->ev->tx->ts_ms : 0;
}

/* name listed in the source's metadata.list */
static int in_metadata_list(const char *list, const char *name)
{
    if (!list)
        return 0;
    size_t l = strlen(name);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && t[-1] == ' ')
            t--;
        if ((size_t)(t - p) == l && strncmp(p, name, l) == 0)
            return 1;
        p = e;
    }
    return 0;
}

static xnode *bind_ident(xbinder *b, const pnode *p)
{
    const char *name = p->text;
    const sl_table_schema *in = b->sc->in;
    xtype str = xt_make(XT_VARCHAR, 0);
    if (xb_is_metadata(name)) {
        if (strcmp(name, "__data_event_type__") == 0) {
            xnode *n = new_node(b, p->pos, str);
            if (n)
                n->eval = eval_event_type;
            return n;
        }
        if (!in) {
            str.nullable = 1;
            return const_node(b, p->pos, str, text_val(b, "x"));
        }
        /* constant for the table the binding is for */
        const char *v = strcmp(name, "__table_name__") == 0    ? in->table
                        : strcmp(name, "__schema_name__") == 0 ? (in->schema ? in->schema : in->db)
                                                               : in->db;
        str.nullable = v == NULL;
        return const_node(b, p->pos, str, text_val(b, v));
    }
    const char *ml = b->sc->metadata_list;
    if (in_metadata_list(ml, name)) {
        if (strcmp(name, "op_ts") == 0) {
            xnode *n = new_node(b, p->pos, xt_make(XT_BIGINT, 0));
            if (n)
                n->eval = eval_op_ts;
            return n;
        }
        const char *v = !in                                  ? "x"
                        : strcmp(name, "table_name") == 0    ? in->table
                        : strcmp(name, "schema_name") == 0   ? (in->schema ? in->schema : in->db)
                                                             : in->db;
        return const_node(b, p->pos, str, text_val(b, v));
    }
    for (int i = 0; i < b->sc->npost; i++) {
        const xpost *po = &b->sc->post[i];
        if (strcmp(po->name, name) != 0)
            continue;
        xnode *n = new_node(b, p->pos, po->type);
        if (!n)
            return NULL;
        if (po->in_col >= 0) {
            n->col = po->in_col;
            n->eval = b->sc->in ? column_eval(&b->sc->in->cols[po->in_col], po->type) : eval_col;
        } else {
            n->col = po->slot;
            n->eval = eval_post;
            if (b->sc->uses_post)
                *b->sc->uses_post = 1;
        }
        return n;
    }
    if (!in)
        return new_node(b, p->pos, xt_make(XT_ANY, 1));
    int ci = sl_schema_column_index(in, name);
    if (ci < 0) {
        char cols[600];
        size_t o = 0;
        cols[0] = 0;
        for (int c = 0; c < in->ncols && o + 1 < sizeof cols; c++)
            o += (size_t)snprintf(cols + o, sizeof cols - o, "%s%s", c ? ", " : "", in->cols[c].name);
        if (strcmp(name, "op_ts") == 0 || strcmp(name, "table_name") == 0 || strcmp(name, "database_name") == 0 ||
            strcmp(name, "schema_name") == 0) {
            xb_fail(b, NULL, "no column '%s' (a source metadata column: list it in the source's metadata.list)",
                    name);
        } else {
            xb_fail(b, NULL, "no column '%s' (columns: %s)", name, cols);
        }
        b->err_pos = p->pos;
        return NULL;
    }
    xnode *n = new_node(b, p->pos, xt_of_column(&in->cols[ci]));
    if (n) {
        n->col = ci;
        n->eval = column_eval(&in->cols[ci], n->type);
    }
    return n;
}

/* ---- literals ---- */

static xnode *bind_number(xbinder *b, const pnode *p)
{
    const char *s = p->text;
    xval v = {0};
    if (strpbrk(s, "eE")) {
        v.u.d = strtod(s, NULL);
        return const_node(b, p->pos, xt_make(XT_DOUBLE, 0), v);
    }
    xdec d;
    int rc = xdec_parse(s, strlen(s), &d);
    if (rc)
        return xb_fail(b, NULL, "number %s does not fit in DECIMAL(38)", s), b->err_pos = p->pos, NULL;
    if (!strchr(s, '.')) {
        if (d.v >= INT32_MIN && d.v <= INT32_MAX) {
            v.u.i = (int64_t)d.v;
            return const_node(b, p->pos, xt_make(XT_INT, 0), v);
        }
        if (d.v >= INT64_MIN && d.v <= INT64_MAX) {
            v.u.i = (int64_t)d.v;
            return const_node(b, p->pos, xt_make(XT_BIGINT, 0), v);
        }
    }
    v.u.dec = d;
    int digits = xdec_digits(d);
    int prec = digits > d.scale ? digits : d.scale;
    return const_node(b, p->pos, xt_dec(prec ? prec : 1, d.scale, 0), v);
}

static xnode *bind_string(xbinder *b, const pnode *p)
{
    xval v = text_val(b, p->text);
    xtype t = xt_make(XT_CHAR, 0);
    /* CHAR(n) counts characters */
    size_t chars = 0;
    for (const unsigned char *c = (const unsigned char *)p->text; *c; c++)
        chars += (*c & 0xC0) != 0x80;
    t.p = (uint16_t)(chars > 65535 ? 65535 : chars ? chars : 1);
    return const_node(b, p->pos, t, v);
}

/* DATE '...', TIME '...', TIMESTAMP '...' */
static xnode *bind_typed(xbinder *b, const pnode *p)
{
    xctx c = {0};
    xnode at = {0};
    at.pos = p->pos;
    xval in = text_val(b, p->text), out;
    x_convert(&c, &at, xt_make(XT_VARCHAR, 0), p->cast, &in, &out, X_CAST);
    if (c.rc) {
        b->err_pos = p->pos;
        xb_fail(b, NULL, "%s", c.msg);
        b->err_pos = p->pos;
        return NULL;
    }
    return const_node(b, p->pos, p->cast, out);
}

/* ---- folding ---- */

static int all_const(const xnode *n)
{
    for (int i = 0; i < n->nargs; i++)
        if (n->args[i]->eval != x_const)
            return 0;
    return 1;
}

/* Computes a node whose arguments are all constant; a failure is a load
 * error (1 / 0, a malformed date literal). */
static int fold(xbinder *b, xnode *n)
{
    sl_arena tmp;
    sl_arena_init(&tmp);
    xctx c = {0};
    c.arena = &tmp;
    c.rt = b->rt;
    c.op = "+I";
    xval v;
    n->eval(n, &c, &v);
    if (c.rc) {
        sl_arena_free(&tmp);
        b->err_pos = (c.err_node ? c.err_node : n)->pos;
        xb_fail(b, NULL, "%s", c.msg);
        b->err_pos = (c.err_node ? c.err_node : n)->pos;
        return -1;
    }
    if (!v.null && (xt_is_string(n->type.t) || xt_is_binary(n->type.t))) {
        char *p = xb_alloc(b, v.u.s.n + 1);
        if (!p) {
            sl_arena_free(&tmp);
            return xb_fail(b, n, "out of memory");
        }
        memcpy(p, v.u.s.p, v.u.s.n);
        v.u.s.p = p;
    }
    sl_arena_free(&tmp);
    n->lit = v;
    n->eval = x_const;
    n->nargs = 0;
    return 0;
}

/* ---- coercion ---- */

static int rank_int(xt t) { return t - XT_TINYINT; }

int xb_common(xbinder *b, xtype a, xtype c, xtype *out)
{
    int nul = a.nullable || c.nullable;
    if (a.t == XT_NULL || a.t == XT_ANY) {
        *out = c.t == XT_NULL ? a : c;
        out->nullable = 1;
        if (a.t == XT_ANY)
            out->t = XT_ANY;
        return 1;
    }
    if (c.t == XT_NULL || c.t == XT_ANY) {
        *out = a;
        out->nullable = 1;
        if (c.t == XT_ANY)
            out->t = XT_ANY;
        return 1;
    }
    if (a.t == c.t && a.t != XT_DECIMAL) {
        *out = a;
        if (xt_is_string(a.t) || xt_is_binary(a.t))
            out->p = a.p && c.p ? (a.p > c.p ? a.p : c.p) : 0;
        if (a.t == XT_TIME || a.t == XT_TIMESTAMP || a.t == XT_TIMESTAMP_LTZ)
            out->s = a.s > c.s ? a.s : c.s;
        out->nullable = (uint8_t)nul;
        return 1;
    }
    if (xt_is_numeric(a.t) && xt_is_numeric(c.t)) {
        if (a.t == XT_DOUBLE || c.t == XT_DOUBLE || a.t == XT_FLOAT || c.t == XT_FLOAT) {
            *out = xt_make(a.t == XT_DOUBLE || c.t == XT_DOUBLE || xt_is_int(a.t) || xt_is_int(c.t) ||
                                   a.t == XT_DECIMAL || c.t == XT_DECIMAL
                               ? (a.t == XT_FLOAT && c.t == XT_FLOAT ? XT_FLOAT : XT_DOUBLE)
                               : XT_FLOAT,
                           nul);
            return 1;
        }
        if (xt_is_int(a.t) && xt_is_int(c.t)) {
            *out = xt_make(rank_int(a.t) > rank_int(c.t) ? a.t : c.t, nul);
            return 1;
        }
        xtype x = a.t == XT_DECIMAL ? a : xt_int_as_decimal(a.t, nul);
        xtype y = c.t == XT_DECIMAL ? c : xt_int_as_decimal(c.t, nul);
        if (!x.p || !y.p) {
            *out = xt_dec(0, x.s > y.s ? x.s : y.s, nul);
            return 1;
        }
        int s = x.s > y.s ? x.s : y.s;
        int ip = (x.p - x.s) > (y.p - y.s) ? x.p - x.s : y.p - y.s;
        int p = ip + s;
        int max = b ? b->rt->decimal_max : 38;
        *out = xt_dec(p > max ? max : p, s, nul);
        return 1;
    }
    if (xt_is_string(a.t) && xt_is_string(c.t)) {
        *out = xt_make(XT_VARCHAR, nul);
        out->p = a.p && c.p ? (a.p > c.p ? a.p : c.p) : 0;
        return 1;
    }
    if (xt_is_binary(a.t) && xt_is_binary(c.t)) {
        *out = xt_make(XT_VARBINARY, nul);
        return 1;
    }
    if (xt_is_temporal(a.t) && xt_is_temporal(c.t) && a.t != XT_TIME && c.t != XT_TIME) {
        /* DATE widens to TIMESTAMP, TIMESTAMP meets TIMESTAMP_LTZ as an instant */
        xt t = a.t == XT_TIMESTAMP_LTZ || c.t == XT_TIMESTAMP_LTZ ? XT_TIMESTAMP_LTZ : XT_TIMESTAMP;
        *out = xt_make(t, nul);
        out->s = a.s > c.s ? a.s : c.s;
        if (out->s == 0 && (a.t == XT_DATE || c.t == XT_DATE))
            out->s = a.t == XT_DATE ? c.s : a.s;
        return 1;
    }
    return 0;
}

int xb_coerce(xbinder *b, xnode *n, int i, xtype t)
{
    xnode *a = n->args[i];
    if (a->type.t == t.t && a->type.p == t.p && a->type.s == t.s)
        return 0;
    if (a->type.t == XT_ANY || t.t == XT_ANY)
        return 0;
    if (a->type.t == XT_NULL) {
        a->type = t;
        a->type.nullable = 1;
        return 0;
    }
    /* integers of every width are one int64 at run time */
    if (xt_is_int(a->type.t) && xt_is_int(t.t) && rank_int(a->type.t) <= rank_int(t.t)) {
        uint8_t nul = a->type.nullable;
        if (a->eval == x_const) {
            a->type = t;
            a->type.nullable = nul;
        }
        return 0;
    }
    xnode *c = new_node(b, a->pos, t);
    if (!c)
        return -1;
    c->type.nullable = a->type.nullable;
    c->eval = x_cast;
    c->nargs = 1;
    c->args = xb_alloc(b, sizeof *c->args);
    if (!c->args)
        return xb_fail(b, a, "out of memory");
    c->args[0] = a;
    n->args[i] = c;
    return a->eval == x_const ? fold(b, c) : 0;
}

/* ---- calls ---- */

static xnode *bind(xbinder *b, const pnode *p);

static xnode *bind_args(xbinder *b, const pnode *p, xtype t)
{
    xnode *n = new_node(b, p->pos, t);
    if (!n)
        return NULL;
    n->nargs = p->n;
    n->args = xb_alloc(b, (size_t)(p->n ? p->n : 1) * sizeof *n->args);
    if (!n->args) {
        xb_fail(b, n, "out of memory");
        return NULL;
    }
    for (int i = 0; i < p->n; i++)
        if (!(n->args[i] = bind(b, p->a[i])))
            return NULL;
    return n;
}

static int is_interval(const xnode *n) { return n->col == -99 && n->eval == NULL; }

static xnode *bind_call(xbinder *b, const pnode *p)
{
    const xfunc *f = x_find_function(p->text);
    if (!f) {
        b->err_pos = p->pos;
        xb_fail(b, NULL,
                "unknown function %s (sluice runs Flink CDC's built-in functions; user-defined functions are Java "
                "classes it cannot load)",
                p->text);
        b->err_pos = p->pos;
        return NULL;
    }
    if (p->n < f->min_args || (f->max_args >= 0 && p->n > f->max_args)) {
        b->err_pos = p->pos;
        if (f->min_args == f->max_args)
            xb_fail(b, NULL, "%s takes %d argument%s, not %d", f->name, f->min_args, f->min_args == 1 ? "" : "s",
                    p->n);
        else if (f->max_args < 0)
            xb_fail(b, NULL, "%s takes at least %d arguments, not %d", f->name, f->min_args, p->n);
        else
            xb_fail(b, NULL, "%s takes %d to %d arguments, not %d", f->name, f->min_args, f->max_args, p->n);
        b->err_pos = p->pos;
        return NULL;
    }
    xnode *n = bind_args(b, p, xt_make(XT_NULL, 1));
    if (!n)
        return NULL;
    int any = 0;
    for (int i = 0; i < n->nargs; i++) {
        if (is_interval(n->args[i]) && strcmp(f->name, "+") != 0 && strcmp(f->name, "-") != 0) {
            xb_fail(b, n->args[i], "an INTERVAL can only be added to or subtracted from a date, time or timestamp");
            return NULL;
        }
        any |= n->args[i]->type.t == XT_ANY;
    }
    if (f->bind(b, n))
        return NULL;
    if (any && !n->eval)
        n->type.t = XT_ANY;
    if (!xb_checking(b) && !f->volatile_ && n->eval && all_const(n) && n->nargs > 0 && fold(b, n))
        return NULL;
    return n;
}

static int convertible(xtype from, xtype to)
{
    xt f = from.t, t = to.t;
    if (f == XT_NULL || f == XT_ANY || t == XT_VARCHAR || t == XT_CHAR)
        return 1;
    if (f == t)
        return 1;
    if (xt_is_string(f))
        return t != XT_BINARY && t != XT_VARBINARY ? 1 : 1;
    if (xt_is_numeric(t) || t == XT_BOOLEAN)
        return xt_is_numeric(f) || f == XT_BOOLEAN;
    if (t == XT_DATE)
        return f == XT_TIMESTAMP || f == XT_TIMESTAMP_LTZ;
    if (t == XT_TIME)
        return f == XT_TIMESTAMP || f == XT_TIMESTAMP_LTZ;
    if (t == XT_TIMESTAMP || t == XT_TIMESTAMP_LTZ)
        return f == XT_DATE || f == XT_TIMESTAMP || f == XT_TIMESTAMP_LTZ || xt_is_numeric(f);
    if (xt_is_binary(t))
        return xt_is_binary(f);
    return 0;
}

static xnode *bind_cast(xbinder *b, const pnode *p)
{
    xnode *n = bind_args(b, p, p->cast);
    if (!n)
        return NULL;
    xtype from = n->args[0]->type;
    if (!convertible(from, p->cast)) {
        char f[48], t[48];
        xt_name(from, f, sizeof f);
        xt_name(p->cast, t, sizeof t);
        xb_fail(b, n, "cannot cast %s to %s", f, t);
        return NULL;
    }
    n->type.nullable = from.nullable || p->flag || from.t == XT_ANY;
    n->eval = x_cast;
    n->i1 = p->flag ? X_TRY : X_CAST;
    if (!xb_checking(b) && n->args[0]->eval == x_const && fold(b, n))
        return NULL;
    return n;
}

static void eval_case(const xnode *n, xctx *c, xval *out)
{
    /* args: cond1, val1, cond2, val2, ..., [else] */
    int pairs = (int)n->i1;
    for (int k = 0; k < pairs; k++) {
        xval cond;
        xeval(n->args[2 * k], c, &cond);
        if (!cond.null && cond.u.i) {
            xeval(n->args[2 * k + 1], c, out);
            return;
        }
    }
    if (n->nargs > 2 * pairs)
        xeval(n->args[n->nargs - 1], c, out);
    else
        x_null(out);
}

static xnode *bind_case(xbinder *b, const pnode *p)
{
    /* CASE x WHEN a, b THEN r ... becomes CASE WHEN x IN (a, b) THEN r */
    int operand = p->flag & 1, has_else = (p->flag & 2) != 0;
    int first = operand ? 1 : 0;
    int pairs = (p->n - first - has_else) / 2;
    xnode *n = new_node(b, p->pos, xt_make(XT_NULL, 1));
    if (!n)
        return NULL;
    n->nargs = 2 * pairs + has_else;
    n->i1 = pairs;
    n->args = xb_alloc(b, (size_t)n->nargs * sizeof *n->args);
    if (!n->args)
        return xb_fail(b, n, "out of memory"), NULL;
    for (int k = 0; k < pairs; k++) {
        const pnode *w = p->a[first + 2 * k];
        if (operand) {
            /* build IN(operand, values...) */
            pnode tmp = *w;
            pnode *args[64];
            if (w->n + 1 > 64 || pairs > 64)
                return xb_fail(b, n, "too many WHEN values"), NULL;
            args[0] = p->a[0];
            for (int j = 0; j < w->n; j++)
                args[j + 1] = w->a[j];
            tmp.k = PK_CALL;
            tmp.text = "IN";
            tmp.a = args;
            tmp.n = w->n + 1;
            n->args[2 * k] = bind_call(b, &tmp);
        } else {
            n->args[2 * k] = bind(b, w);
        }
        if (!n->args[2 * k])
            return NULL;
        xtype ct = n->args[2 * k]->type;
        if (ct.t != XT_BOOLEAN && ct.t != XT_NULL && ct.t != XT_ANY) {
            char tn[48];
            xt_name(ct, tn, sizeof tn);
            xb_fail(b, n->args[2 * k], "WHEN needs a condition (BOOLEAN), not %s", tn);
            return NULL;
        }
        if (!(n->args[2 * k + 1] = bind(b, p->a[first + 2 * k + 1])))
            return NULL;
    }
    if (has_else && !(n->args[n->nargs - 1] = bind(b, p->a[p->n - 1])))
        return NULL;
    /* the results: args 1, 3, .. 2 * pairs - 1, and the ELSE last */
    int results[130], nr = 0;
    for (int k = 0; k < pairs && nr < 129; k++)
        results[nr++] = 2 * k + 1;
    if (has_else)
        results[nr++] = n->nargs - 1;
    xtype t = xt_make(XT_NULL, 1);
    for (int ri = 0; ri < nr; ri++) {
        int i = results[ri];
        xtype r;
        if (!xb_common(b, t, n->args[i]->type, &r)) {
            char x[48], y[48];
            xt_name(t, x, sizeof x);
            xt_name(n->args[i]->type, y, sizeof y);
            xb_fail(b, n->args[i], "CASE results have no common type (%s and %s)", x, y);
            return NULL;
        }
        t = r;
    }
    t.nullable = !has_else;
    for (int ri = 0; ri < nr; ri++) {
        int i = results[ri];
        t.nullable |= n->args[i]->type.nullable;
        if (xb_coerce(b, n, i, t))
            return NULL;
    }
    n->type = t;
    n->eval = eval_case;
    return n;
}

static xnode *bind(xbinder *b, const pnode *p)
{
    if (b->failed)
        return NULL;
    switch (p->k) {
    case PK_NUM: return bind_number(b, p);
    case PK_STR: return bind_string(b, p);
    case PK_NULL: {
        xval v = {0};
        v.null = 1;
        return const_node(b, p->pos, xt_make(XT_NULL, 1), v);
    }
    case PK_BOOL: {
        xval v = {0};
        v.u.i = p->ival;
        return const_node(b, p->pos, xt_make(XT_BOOLEAN, 0), v);
    }
    case PK_TYPED: return bind_typed(b, p);
    case PK_INTERVAL: {
        xnode *n = new_node(b, p->pos, xt_make(XT_NULL, 0));
        if (n) {
            n->col = -99;
            n->i1 = p->flag; /* 1: months */
            n->i2 = p->ival;
        }
        return n;
    }
    case PK_IDENT: return bind_ident(b, p);
    case PK_CALL: return bind_call(b, p);
    case PK_CAST: return bind_cast(b, p);
    case PK_CASE: return bind_case(b, p);
    }
    xb_fail(b, NULL, "unsupported expression");
    return NULL;
}

int xbind(const pnode *p, const xscope *sc, const xrt *rt, xbinding *owner, xnode **out, int *err_pos, char *why,
          size_t wlen)
{
    xbinder b = {.sc = sc, .rt = rt, .owner = owner, .why = why, .wlen = wlen};
    why[0] = 0;
    xnode *n = bind(&b, p);
    if (n && is_interval(n)) {
        xb_fail(&b, n, "an INTERVAL can only be added to or subtracted from a date, time or timestamp");
        n = NULL;
    }
    if (!n && !b.failed)
        xb_fail(&b, NULL, "cannot bind the expression");
    *err_pos = b.err_pos;
    *out = b.failed ? NULL : n;
    return *out ? 0 : -1;
}
