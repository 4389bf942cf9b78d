/* xeval.h — the typed, evaluable form of a transform expression, shared by
 * the binder (xbind.c), the operators (xops.c), casts (xcast.c) and the
 * function families (fn_*.c).
 *
 * A bound expression is a tree of xnode, each with its evaluator chosen
 * when the tree was bound to one table's columns: evaluation is a chain of
 * direct calls with unboxed values, no type dispatch and no allocation
 * beyond the text it produces, which goes into the batch's arena. An
 * evaluator that fails (overflow, a division by zero, an unparseable date)
 * records the error in the context and yields NULL; the caller checks
 * ctx->rc once per row.
 */
#ifndef SL_XEVAL_H
#define SL_XEVAL_H

#include "../../core/arena.h"
#include "../../core/event.h"
#include "xast.h"
#include "xtype.h"

typedef struct xctx xctx;
typedef struct xnode xnode;
typedef void (*xfn)(const xnode *n, xctx *c, xval *out);

struct xnode {
    xfn eval;
    xtype type;
    int pos;     /* offset in the expression text */
    int nargs;
    xnode **args;
    xval lit;    /* literals and folded constants (eval = x_const) */
    int col;     /* column index (input row or computed slot) */
    int64_t i1, i2;
    void *aux;   /* compiled pattern, formatter: owned by the binding */
};

/* time zone of the pipeline (local-time-zone), see xtime.c */
typedef struct xtz xtz;

/* what every evaluation of a pipeline shares */
typedef struct xrt {
    xtz *tz;
    int decimal_max; /* 19 (Flink's default UP_TO_19) or 38 */
} xrt;

struct xctx {
    const sl_value *in; /* the source row image */
    const xval *post;   /* computed columns of this row so far */
    const char *op;     /* __data_event_type__: "+I", "-U", "+U", "-D" */
    const sl_event *ev;
    sl_arena *arena;    /* where produced text lives (the batch's) */
    const xrt *rt;
    int64_t now_ms;     /* the clock, read once per batch */
    int rc;             /* first failure of this row */
    const xnode *err_node;
    char msg[256];
};

/* records the first failure of the row; the value becomes NULL */
void x_fail(xctx *c, const xnode *n, xval *out, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static inline void x_null(xval *v)
{
    v->null = 1;
    v->unavailable = 0;
}

/* Evaluates every argument into v (at most 8 shown here) and returns 1 when
 * one is NULL (out is then NULL, unavailable if an input was) */
int x_args(const xnode *n, xctx *c, xval *v, xval *out);

/* text in the arena */
char *x_alloc(xctx *c, size_t n);
void x_set_text(xctx *c, xval *out, const char *p, size_t n); /* copies */

static inline void xeval(const xnode *n, xctx *c, xval *out) { n->eval(n, c, out); }
static inline void xeval_arg(const xnode *n, int i, xctx *c, xval *out) { n->args[i]->eval(n->args[i], c, out); }

/* the generic evaluators the binder wires */
void x_const(const xnode *n, xctx *c, xval *out);
void x_cast(const xnode *n, xctx *c, xval *out); /* args[0] to n->type; i1 = X_IMPLICIT, X_CAST or X_TRY */

enum { X_IMPLICIT = 0, X_CAST = 1, X_TRY = 2 };
/* Converts v of type from to type to: the engine of CAST (mode X_CAST:
 * Flink's NULL for a string that is not a number), TRY_CAST (X_TRY: NULL
 * for anything that does not convert) and of the coercions the binder
 * inserts (X_IMPLICIT: an error for anything that does not convert). */
void x_convert(xctx *c, const xnode *at, xtype from, xtype to, const xval *v, xval *out, int mode);
/* Java's text of a value (String.valueOf): 1.0E10, 2024-01-01T10:00 */
int x_to_text(xctx *c, xtype t, const xval *v, char *buf, size_t len);
/* sl_value (as a column of type t carries it) to xval and back */
void x_from_value(xctx *c, const xnode *at, xtype t, const sl_value *sv, xval *out);
int x_to_value(xctx *c, xtype t, const xval *v, sl_value *out);

/* three-way comparison of two values of one comparable type */
int x_compare(xtype t, const xval *a, const xval *b);

/* ---- the binder's view of functions ---- */

typedef struct xbinder xbinder;

/* a function's typing rule: checks n->args' types (coercing them with
 * xb_coerce), sets n->type and n->eval; returns 0 or fails with xb_fail */
typedef int (*xbind_fn)(xbinder *b, xnode *n);

typedef struct xfunc {
    const char *name;
    int min_args, max_args; /* max -1: any number */
    xbind_fn bind;
    int volatile_;          /* never folded (clock, random) */
} xfunc;

/* fn_*.c: each family's table, NULL-terminated */
extern const xfunc x_fn_ops[], x_fn_string[], x_fn_numeric[], x_fn_temporal[], x_fn_cond[];
const xfunc *x_find_function(const char *name);

int xb_fail(xbinder *b, const xnode *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* wraps args[i] in a conversion to t (folded for constants) */
int xb_coerce(xbinder *b, xnode *n, int i, xtype t);
/* the type both a and b convert to for comparison or a common result
 * (Calcite's least restrictive type); 0 when there is none */
int xb_common(xbinder *b, xtype a, xtype c, xtype *out);
const xrt *xb_rt(xbinder *b);
/* memory that lives as long as the binding */
void *xb_alloc(xbinder *b, size_t n);
/* registers aux for release with the binding */
void xb_own(xbinder *b, void *aux, void (*release)(void *));
int xb_nullable_args(const xnode *n);
/* a constant argument's value (folded), or NULL when it varies per row */
const xval *xb_const_arg(const xnode *n, int i);
int xb_checking(xbinder *b); /* binding against unknown column types (load time) */

#endif
