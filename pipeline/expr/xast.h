/* xast.h — tokens and the parse tree of transform expressions.
 *
 * The parser (xparse.c) turns the text of a `projection` or `filter` into
 * an untyped tree once, when the pipeline loads; the binder (xbind.c)
 * turns that tree into a typed, evaluable one for each table the rule
 * meets. Every node keeps its byte offset in the text, so an error can
 * name the line and column in the YAML file.
 */
#ifndef SL_XAST_H
#define SL_XAST_H

#include <stdint.h>

#include "../../core/err.h"
#include "xtype.h"

typedef enum xtok_kind {
    T_END,
    T_IDENT,   /* name or `quoted name` */
    T_KEYWORD, /* an unquoted name that is a reserved word (upper-cased in text) */
    T_NUMBER,
    T_STRING,
    T_OP,      /* punctuation and operators: ( ) , + - * / % || = <> != < <= > >= . [ ] */
} xtok_kind;

typedef struct xtok {
    xtok_kind k;
    int pos, len;  /* in the expression text */
    char *text;    /* identifier (unquoted), keyword (upper case), string value, number, operator */
} xtok;

typedef struct xtoks {
    xtok *v;
    int n;
} xtoks;

/* Splits text into tokens; an error names the offset. */
int xlex(const char *text, xtoks *out, int *err_pos, char *why, size_t wlen);
void xlex_free(xtoks *t);

typedef enum pkind {
    PK_NUM,      /* text: "12", "1.50", "1e3" */
    PK_STR,      /* text: the value */
    PK_NULL,
    PK_BOOL,     /* ival 0/1 */
    PK_TYPED,    /* DATE '...', TIME '...', TIMESTAMP '...': cast holds the type, text the value */
    PK_INTERVAL, /* ival months (flag 1) or microseconds (flag 0) */
    PK_IDENT,    /* text: the column or metadata name */
    PK_CALL,     /* text: upper-cased operator or function name; a: operands */
    PK_CAST,     /* a[0] AS cast; flag 1 = TRY_CAST */
    PK_CASE,     /* flag 1: CASE operand WHEN..; a: [operand,] when, then, ..., [else] (n odd/even by flag and else) */
} pkind;

typedef struct pnode {
    pkind k;
    int pos, len;
    char *text;
    struct pnode **a;
    int n;
    xtype cast;
    int flag;     /* PK_CASE: bit 0 operand form, bit 1 has ELSE */
    int64_t ival;
} pnode;

void pnode_free(pnode *n);

/* one item of a projection: `*`, or an expression with its output name */
typedef struct xproj_item {
    int star;
    pnode *expr;
    char *alias; /* NULL: the expression is a bare name, which names the column */
    int pos;
} xproj_item;

typedef struct xproj {
    xproj_item *items;
    int n;
} xproj;

/* Parses a filter (one expression) or a projection (a list). On failure
 * *err_pos is the offset of the mistake and why says what it is. */
int xparse_expr(const char *text, pnode **out, int *err_pos, char *why, size_t wlen);
int xparse_projection(const char *text, xproj *out, int *err_pos, char *why, size_t wlen);
void xproj_free(xproj *p);

#endif
