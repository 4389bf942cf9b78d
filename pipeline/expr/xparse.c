/* xparse.c — recursive-descent parser of Flink CDC transform expressions
 * (the SQL expression subset Calcite accepts in a projection or filter),
 * with Calcite's precedence: OR < AND < NOT < comparison, IS, BETWEEN, IN,
 * LIKE < + - < * / % || < unary minus. Operators become PK_CALL nodes
 * named by the operator, so the binder types them like functions. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xast.h"

typedef struct parser {
    xtoks t;
    int i;
    int err_pos;
    char *why;
    size_t wlen;
    int failed;
} parser;

void pnode_free(pnode *n)
{
    if (!n)
        return;
    for (int i = 0; i < n->n; i++)
        pnode_free(n->a[i]);
    free(n->a);
    free(n->text);
    free(n);
}

static const xtok *peek(parser *p) { return &p->t.v[p->i]; }
static const xtok *peek2(parser *p) { return &p->t.v[p->i + (p->t.v[p->i].k != T_END)]; }

static void *fail(parser *p, int pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void *fail(parser *p, int pos, const char *fmt, ...)
{
    if (!p->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->why, p->wlen, fmt, ap);
        va_end(ap);
        p->err_pos = pos;
        p->failed = 1;
    }
    return NULL;
}

static int word_is(const xtok *t, const char *kw) { return t->k == T_KEYWORD && strcasecmp(t->text, kw) == 0; }
static int op_is(const xtok *t, const char *op) { return t->k == T_OP && strcmp(t->text, op) == 0; }

static int accept_kw(parser *p, const char *kw)
{
    if (word_is(peek(p), kw)) {
        p->i++;
        return 1;
    }
    return 0;
}

static int accept_op(parser *p, const char *op)
{
    if (op_is(peek(p), op)) {
        p->i++;
        return 1;
    }
    return 0;
}

static const char *describe(const xtok *t)
{
    return t->k == T_END ? "the end of the expression" : t->text;
}

static int expect_op(parser *p, const char *op)
{
    if (accept_op(p, op))
        return 1;
    fail(p, peek(p)->pos, "expected '%s' but found '%s'", op, describe(peek(p)));
    return 0;
}

static int expect_kw(parser *p, const char *kw)
{
    if (accept_kw(p, kw))
        return 1;
    fail(p, peek(p)->pos, "expected %s but found '%s'", kw, describe(peek(p)));
    return 0;
}

/* words that cannot name a column where an expression may start */
static int reserved(const xtok *t)
{
    static const char *const kws[] = {"AND",  "OR",   "NOT",  "IS",   "NULL",     "TRUE", "FALSE",
                                      "BETWEEN", "IN", "LIKE", "SIMILAR", "ESCAPE", "CASE", "WHEN",
                                      "THEN", "ELSE", "END",  "AS",   "FROM",     "DISTINCT", "CAST",
                                      "TRY_CAST", "INTERVAL", NULL};
    if (t->k != T_KEYWORD)
        return 0;
    for (int i = 0; kws[i]; i++)
        if (strcasecmp(t->text, kws[i]) == 0)
            return 1;
    return 0;
}

static pnode *node(parser *p, pkind k, int pos, const char *text)
{
    pnode *n = calloc(1, sizeof *n);
    if (!n)
        return fail(p, pos, "out of memory");
    n->k = k;
    n->pos = pos;
    if (text && !(n->text = strdup(text))) {
        free(n);
        return fail(p, pos, "out of memory");
    }
    return n;
}

static int add_arg(parser *p, pnode *n, pnode *a)
{
    if (!a) {
        return -1;
    }
    pnode **v = realloc(n->a, (size_t)(n->n + 1) * sizeof *v);
    if (!v) {
        pnode_free(a);
        fail(p, n->pos, "out of memory");
        return -1;
    }
    n->a = v;
    n->a[n->n++] = a;
    return 0;
}

/* a call node of operator/function `name` with the given operands; frees
 * the operands when it cannot be built */
static pnode *call(parser *p, const char *name, int pos, int nargs, ...)
{
    va_list ap;
    va_start(ap, nargs);
    pnode *args[4];
    for (int i = 0; i < nargs; i++)
        args[i] = va_arg(ap, pnode *);
    va_end(ap);
    int ok = 1;
    for (int i = 0; i < nargs; i++)
        ok &= args[i] != NULL;
    pnode *n = ok ? node(p, PK_CALL, pos, name) : NULL;
    for (int i = 0; i < nargs; i++) {
        if (!n || add_arg(p, n, args[i])) {
            for (int j = n ? i + 1 : i; j < nargs; j++)
                pnode_free(args[j]);
            if (!n)
                continue;
            pnode_free(n);
            return NULL;
        }
    }
    return n;
}

static pnode *parse_or(parser *p);
static pnode *parse_add(parser *p);

/* CAST target types */
static int parse_type(parser *p, xtype *out)
{
    const xtok *t = peek(p);
    if (t->k != T_KEYWORD)
        return fail(p, t->pos, "expected a type name but found '%s'", describe(t)), -1;
    char name[32];
    snprintf(name, sizeof name, "%s", t->text);
    for (char *c = name; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    p->i++;
    static const struct {
        const char *name;
        xt t;
        int p, s;
    } types[] = {
        {"BOOLEAN", XT_BOOLEAN, 0, 0},  {"BOOL", XT_BOOLEAN, 0, 0},       {"TINYINT", XT_TINYINT, 0, 0},
        {"BYTE", XT_TINYINT, 0, 0},     {"SMALLINT", XT_SMALLINT, 0, 0},  {"SHORT", XT_SMALLINT, 0, 0},
        {"INT", XT_INT, 0, 0},          {"INTEGER", XT_INT, 0, 0},        {"BIGINT", XT_BIGINT, 0, 0},
        {"LONG", XT_BIGINT, 0, 0},      {"FLOAT", XT_FLOAT, 0, 0},        {"REAL", XT_FLOAT, 0, 0},
        {"DOUBLE", XT_DOUBLE, 0, 0},    {"DECIMAL", XT_DECIMAL, 10, 0},   {"DEC", XT_DECIMAL, 10, 0},
        {"NUMERIC", XT_DECIMAL, 10, 0}, {"CHAR", XT_CHAR, 1, 0},          {"CHARACTER", XT_CHAR, 1, 0},
        {"VARCHAR", XT_VARCHAR, 0, 0},  {"STRING", XT_VARCHAR, 0, 0},     {"BINARY", XT_BINARY, 1, 0},
        {"VARBINARY", XT_VARBINARY, 0, 0}, {"BYTES", XT_VARBINARY, 0, 0}, {"DATE", XT_DATE, 0, 0},
        {"TIME", XT_TIME, 0, 0},        {"TIMESTAMP", XT_TIMESTAMP, 0, 6}, {"TIMESTAMP_LTZ", XT_TIMESTAMP_LTZ, 0, 6},
    };
    size_t k = 0;
    while (k < sizeof types / sizeof types[0] && strcmp(types[k].name, name) != 0)
        k++;
    if (k == sizeof types / sizeof types[0])
        return fail(p, t->pos, "unknown type '%s' in CAST", t->text), -1;
    xtype x = {(uint8_t)types[k].t, 1, (uint16_t)types[k].p, (uint16_t)types[k].s};
    if (x.t == XT_DOUBLE)
        accept_kw(p, "PRECISION");
    if (op_is(peek(p), "(")) {
        p->i++;
        const xtok *a = peek(p);
        if (a->k != T_NUMBER)
            return fail(p, a->pos, "expected a number in the type's parentheses"), -1;
        long v1 = strtol(a->text, NULL, 10), v2 = -1;
        p->i++;
        if (accept_op(p, ",")) {
            const xtok *b = peek(p);
            if (b->k != T_NUMBER)
                return fail(p, b->pos, "expected a scale"), -1;
            v2 = strtol(b->text, NULL, 10);
            p->i++;
        }
        if (!expect_op(p, ")"))
            return -1;
        if (x.t == XT_DECIMAL) {
            if (v1 < 1 || v1 > 38 || v2 > v1)
                return fail(p, a->pos, "DECIMAL(%ld, %ld) is outside 1..38 digits", v1, v2 < 0 ? 0 : v2), -1;
            x.p = (uint16_t)v1;
            x.s = (uint16_t)(v2 < 0 ? 0 : v2);
        } else if (x.t == XT_TIME || x.t == XT_TIMESTAMP || x.t == XT_TIMESTAMP_LTZ) {
            if (v1 < 0 || v1 > 9)
                return fail(p, a->pos, "fractional-second precision %ld is outside 0..9", v1), -1;
            x.s = (uint16_t)(v1 > 6 ? 6 : v1);
        } else if (xt_is_string(x.t) || xt_is_binary(x.t)) {
            x.p = (uint16_t)(v1 > 65535 ? 0 : v1);
        } else {
            return fail(p, a->pos, "type %s takes no length", name), -1;
        }
    }
    if (x.t == XT_TIMESTAMP && accept_kw(p, "WITH")) {
        if (!expect_kw(p, "LOCAL") || !expect_kw(p, "TIME") || !expect_kw(p, "ZONE"))
            return -1;
        x.t = XT_TIMESTAMP_LTZ;
    }
    *out = x;
    return 0;
}

static const char *const units[] = {"YEAR", "QUARTER", "MONTH", "WEEK", "DAY", "HOUR", "MINUTE", "SECOND",
                                    "DOY", "DOW", "MILLISECOND", "MICROSECOND", NULL};

/* a time unit written as a bare word or a 'string' */
static pnode *parse_unit(parser *p)
{
    const xtok *t = peek(p);
    if (t->k == T_KEYWORD || t->k == T_STRING) {
        for (int i = 0; units[i]; i++) {
            if (strcasecmp(t->text, units[i]) == 0) {
                p->i++;
                return node(p, PK_STR, t->pos, units[i]);
            }
        }
    }
    return fail(p, t->pos, "expected a time unit (YEAR, QUARTER, MONTH, WEEK, DAY, HOUR, MINUTE, SECOND) but "
                           "found '%s'",
                describe(t));
}

/* INTERVAL '1' DAY, INTERVAL '1-2' YEAR TO MONTH, INTERVAL '1 02:03:04' DAY TO SECOND */
static pnode *parse_interval(parser *p, int pos)
{
    const xtok *v = peek(p);
    if (v->k != T_STRING && v->k != T_NUMBER)
        return fail(p, v->pos, "expected the interval's value in quotes, e.g. INTERVAL '1' DAY");
    p->i++;
    pnode *u1 = parse_unit(p);
    if (!u1)
        return NULL;
    char from[16], to[16] = "";
    snprintf(from, sizeof from, "%s", u1->text);
    pnode_free(u1);
    if (accept_kw(p, "TO")) {
        pnode *u2 = parse_unit(p);
        if (!u2)
            return NULL;
        snprintf(to, sizeof to, "%s", u2->text);
        pnode_free(u2);
    }
    const char *s = v->text;
    int neg = 0;
    while (*s == ' ')
        s++;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    long long a[5] = {0};
    int na = 0;
    char frac[8] = "";
    for (const char *c = s; *c && na < 5;) {
        if (!isdigit((unsigned char)*c))
            return fail(p, v->pos, "malformed interval value '%s'", v->text);
        a[na++] = strtoll(c, (char **)&c, 10);
        if (*c == '.' && na >= 1) {
            c++;
            int k = 0;
            while (isdigit((unsigned char)*c)) {
                if (k < 6)
                    frac[k++] = *c;
                c++;
            }
            frac[k] = 0;
        }
        if (*c == '-' || *c == ' ' || *c == ':')
            c++;
        else if (*c)
            return fail(p, v->pos, "malformed interval value '%s'", v->text);
    }
    long long fr = 0;
    if (frac[0]) {
        char f6[7] = "000000";
        memcpy(f6, frac, strlen(frac));
        fr = strtoll(f6, NULL, 10);
    }
    pnode *n = node(p, PK_INTERVAL, pos, NULL);
    if (!n)
        return NULL;
    static const struct {
        const char *unit;
        long long us;
    } scale[] = {{"DAY", 86400000000LL}, {"HOUR", 3600000000LL}, {"MINUTE", 60000000LL}, {"SECOND", 1000000LL}};
    if (strcmp(from, "YEAR") == 0 || strcmp(from, "MONTH") == 0 || strcmp(from, "QUARTER") == 0) {
        n->flag = 1;
        if (strcmp(from, "YEAR") == 0)
            n->ival = a[0] * 12 + (strcmp(to, "MONTH") == 0 ? a[1] : 0);
        else
            n->ival = a[0] * (strcmp(from, "QUARTER") == 0 ? 3 : 1);
    } else {
        int first = -1;
        for (int k = 0; k < 4; k++)
            if (strcmp(from, scale[k].unit) == 0)
                first = k;
        if (first < 0) {
            pnode_free(n);
            return fail(p, pos, "unsupported interval unit %s", from);
        }
        long long us = 0;
        for (int k = 0; k < na && first + k < 4; k++)
            us += a[k] * scale[first + k].us;
        n->ival = us + fr;
    }
    if (neg)
        n->ival = -n->ival;
    return n;
}

/* comma-separated operands up to ')' (the '(' is consumed) */
static int parse_args(parser *p, pnode *n)
{
    if (accept_op(p, ")"))
        return 0;
    do {
        if (add_arg(p, n, parse_or(p)))
            return -1;
    } while (accept_op(p, ","));
    return expect_op(p, ")") ? 0 : -1;
}

static pnode *parse_case(parser *p, int pos)
{
    pnode *n = node(p, PK_CASE, pos, "CASE");
    if (!n)
        return NULL;
    if (!word_is(peek(p), "WHEN")) {
        n->flag |= 1;
        if (add_arg(p, n, parse_or(p)))
            goto bad;
    }
    if (!word_is(peek(p), "WHEN")) {
        fail(p, peek(p)->pos, "expected WHEN but found '%s'", describe(peek(p)));
        goto bad;
    }
    while (accept_kw(p, "WHEN")) {
        if (n->flag & 1) {
            /* CASE x WHEN a, b THEN ...: each value list is an IN */
            pnode *in = node(p, PK_CALL, peek(p)->pos, "CASE_IN");
            if (!in || add_arg(p, n, in))
                goto bad;
            do {
                if (add_arg(p, in, parse_or(p)))
                    goto bad;
            } while (accept_op(p, ","));
        } else if (add_arg(p, n, parse_or(p))) {
            goto bad;
        }
        if (!expect_kw(p, "THEN") || add_arg(p, n, parse_or(p)))
            goto bad;
    }
    if (accept_kw(p, "ELSE")) {
        n->flag |= 2;
        if (add_arg(p, n, parse_or(p)))
            goto bad;
    }
    if (!expect_kw(p, "END"))
        goto bad;
    return n;
bad:
    pnode_free(n);
    return NULL;
}

/* the special syntaxes of EXTRACT, POSITION, SUBSTRING, TRIM, OVERLAY and
 * the unit argument of TIMESTAMPADD/TIMESTAMPDIFF; 0 when name is none */
static pnode *parse_special(parser *p, const char *name, int pos, int *handled)
{
    *handled = 1;
    pnode *n = node(p, PK_CALL, pos, name);
    if (!n)
        return NULL;
    if (strcmp(name, "EXTRACT") == 0) {
        if (add_arg(p, n, parse_unit(p)) || !expect_kw(p, "FROM") || add_arg(p, n, parse_or(p)) ||
            !expect_op(p, ")"))
            goto bad;
        return n;
    }
    if (strcmp(name, "TIMESTAMPADD") == 0 || strcmp(name, "TIMESTAMPDIFF") == 0 ||
        strcmp(name, "TIMESTAMP_DIFF") == 0) {
        if (add_arg(p, n, parse_unit(p)) || !expect_op(p, ","))
            goto bad;
        do {
            if (add_arg(p, n, parse_or(p)))
                goto bad;
        } while (accept_op(p, ","));
        if (!expect_op(p, ")"))
            goto bad;
        return n;
    }
    if (strcmp(name, "POSITION") == 0) {
        if (add_arg(p, n, parse_add(p)))
            goto bad;
        if (accept_kw(p, "IN")) {
            if (add_arg(p, n, parse_or(p)))
                goto bad;
            if (accept_kw(p, "FROM") && add_arg(p, n, parse_or(p)))
                goto bad;
        } else {
            while (accept_op(p, ","))
                if (add_arg(p, n, parse_or(p)))
                    goto bad;
        }
        if (!expect_op(p, ")"))
            goto bad;
        return n;
    }
    if (strcmp(name, "SUBSTRING") == 0 || strcmp(name, "OVERLAY") == 0) {
        int overlay = name[0] == 'O';
        if (add_arg(p, n, parse_or(p)))
            goto bad;
        if (overlay ? accept_kw(p, "PLACING") : accept_kw(p, "FROM")) {
            if (add_arg(p, n, parse_or(p)))
                goto bad;
            if (overlay && (!expect_kw(p, "FROM") || add_arg(p, n, parse_or(p))))
                goto bad;
            if (accept_kw(p, "FOR") && add_arg(p, n, parse_or(p)))
                goto bad;
        } else {
            while (accept_op(p, ","))
                if (add_arg(p, n, parse_or(p)))
                    goto bad;
        }
        if (!expect_op(p, ")"))
            goto bad;
        return n;
    }
    if (strcmp(name, "TRIM") == 0) {
        /* TRIM([BOTH|LEADING|TRAILING] [chars] FROM s) or TRIM(s) */
        const char *mode = "BOTH";
        int explicit_mode = 0;
        if (accept_kw(p, "BOTH"))
            explicit_mode = 1;
        else if (accept_kw(p, "LEADING"))
            mode = "LEADING", explicit_mode = 1;
        else if (accept_kw(p, "TRAILING"))
            mode = "TRAILING", explicit_mode = 1;
        free(n->text);
        n->text = strdup(strcmp(mode, "BOTH") == 0 ? "BTRIM" : strcmp(mode, "LEADING") == 0 ? "LTRIM" : "RTRIM");
        pnode *chars = NULL;
        if (!accept_kw(p, "FROM")) {
            chars = parse_or(p);
            if (!chars)
                goto bad;
            if (!accept_kw(p, "FROM")) {
                if (explicit_mode) {
                    pnode_free(chars);
                    fail(p, peek(p)->pos, "expected FROM in TRIM");
                    goto bad;
                }
                /* TRIM(s): Java's trim of s */
                free(n->text);
                n->text = strdup("TRIM");
                if (!n->text) {
                    pnode_free(chars);
                    fail(p, pos, "out of memory");
                    goto bad;
                }
                if (add_arg(p, n, chars) || !expect_op(p, ")"))
                    goto bad;
                return n;
            }
        }
        if (add_arg(p, n, parse_or(p)))
            goto bad;
        if (chars && add_arg(p, n, chars))
            goto bad;
        if (!expect_op(p, ")"))
            goto bad;
        return n;
    }
    *handled = 0;
    pnode_free(n);
    return NULL;
bad:
    pnode_free(n);
    return NULL;
}

static pnode *parse_primary(parser *p)
{
    const xtok *t = peek(p);
    int pos = t->pos;
    if (t->k == T_NUMBER) {
        p->i++;
        return node(p, PK_NUM, pos, t->text);
    }
    if (t->k == T_STRING) {
        p->i++;
        return node(p, PK_STR, pos, t->text);
    }
    if (t->k == T_IDENT) {
        p->i++;
        return node(p, PK_IDENT, pos, t->text);
    }
    if (op_is(t, "(")) {
        p->i++;
        pnode *n = parse_or(p);
        if (n && !expect_op(p, ")")) {
            pnode_free(n);
            return NULL;
        }
        return n;
    }
    if (t->k != T_KEYWORD)
        return fail(p, pos, "expected an expression but found '%s'", describe(t));
    if (accept_kw(p, "NULL"))
        return node(p, PK_NULL, pos, NULL);
    if (word_is(t, "TRUE") || word_is(t, "FALSE")) {
        p->i++;
        pnode *n = node(p, PK_BOOL, pos, NULL);
        if (n)
            n->ival = word_is(t, "TRUE");
        return n;
    }
    if (accept_kw(p, "CASE"))
        return parse_case(p, pos);
    if (word_is(t, "CAST") || word_is(t, "TRY_CAST")) {
        int try_ = word_is(t, "TRY_CAST");
        p->i++;
        if (!expect_op(p, "("))
            return NULL;
        pnode *n = node(p, PK_CAST, pos, try_ ? "TRY_CAST" : "CAST");
        if (!n)
            return NULL;
        n->flag = try_;
        if (add_arg(p, n, parse_or(p)) || !expect_kw(p, "AS") || parse_type(p, &n->cast) || !expect_op(p, ")")) {
            pnode_free(n);
            return NULL;
        }
        return n;
    }
    if (word_is(t, "INTERVAL")) {
        p->i++;
        return parse_interval(p, pos);
    }
    /* DATE '2024-01-01', TIME '10:00:00', TIMESTAMP '2024-01-01 10:00:00' */
    if ((word_is(t, "DATE") || word_is(t, "TIME") || word_is(t, "TIMESTAMP")) && peek2(p)->k == T_STRING) {
        xtype x = xt_make(word_is(t, "DATE") ? XT_DATE : word_is(t, "TIME") ? XT_TIME : XT_TIMESTAMP, 0);
        if (x.t != XT_DATE)
            x.s = x.t == XT_TIME ? 0 : 6;
        p->i++;
        pnode *n = node(p, PK_TYPED, pos, peek(p)->text);
        p->i++;
        if (n)
            n->cast = x;
        return n;
    }
    if (reserved(t))
        return fail(p, pos, "expected an expression but found '%s'", t->text);
    p->i++;
    if (op_is(peek(p), "(")) {
        p->i++;
        char name[64];
        snprintf(name, sizeof name, "%s", t->text);
        for (char *c = name; *c; c++)
            *c = (char)toupper((unsigned char)*c);
        int handled;
        pnode *n = parse_special(p, name, pos, &handled);
        if (handled || p->failed)
            return n;
        n = node(p, PK_CALL, pos, name);
        if (n && parse_args(p, n)) {
            pnode_free(n);
            return NULL;
        }
        return n;
    }
    /* the SQL niladic functions need no parentheses */
    static const char *const niladic[] = {"CURRENT_TIMESTAMP", "CURRENT_DATE", "CURRENT_TIME", "LOCALTIME",
                                          "LOCALTIMESTAMP", NULL};
    for (int i = 0; niladic[i]; i++)
        if (strcasecmp(t->text, niladic[i]) == 0)
            return node(p, PK_CALL, pos, niladic[i]);
    if (op_is(peek(p), ".")) {
        /* a qualified name: Flink takes its last part */
        while (accept_op(p, ".")) {
            const xtok *x = peek(p);
            if (x->k != T_KEYWORD && x->k != T_IDENT)
                return fail(p, x->pos, "expected a name after '.'");
            t = x;
            p->i++;
        }
    }
    return node(p, PK_IDENT, pos, t->text);
}

static pnode *parse_unary(parser *p)
{
    const xtok *t = peek(p);
    if (op_is(t, "-") || op_is(t, "+")) {
        int neg = op_is(t, "-");
        p->i++;
        pnode *a = parse_unary(p);
        if (!a)
            return NULL;
        if (!neg)
            return a;
        /* fold -literal so that -2147483648 stays an INT */
        if (a->k == PK_NUM && a->text[0] != '-') {
            size_t l = strlen(a->text);
            char *v = malloc(l + 2);
            if (!v) {
                pnode_free(a);
                return fail(p, t->pos, "out of memory");
            }
            v[0] = '-';
            memcpy(v + 1, a->text, l + 1);
            free(a->text);
            a->text = v;
            a->pos = t->pos;
            return a;
        }
        if (a->k == PK_INTERVAL) {
            a->ival = -a->ival;
            return a;
        }
        return call(p, "NEG", t->pos, 1, a);
    }
    pnode *n = parse_primary(p);
    if (n && op_is(peek(p), "["))
        return pnode_free(n), fail(p, peek(p)->pos, "item access x[...] needs ARRAY, MAP or ROW values, which "
                                                    "sluice's transform does not have");
    return n;
}

static pnode *parse_mul(parser *p)
{
    pnode *l = parse_unary(p);
    while (l) {
        const xtok *t = peek(p);
        const char *op = op_is(t, "*") ? "*" : op_is(t, "/") ? "/" : op_is(t, "%") ? "%" : op_is(t, "||") ? "||" : NULL;
        if (!op)
            break;
        p->i++;
        l = call(p, op, t->pos, 2, l, parse_unary(p));
    }
    return l;
}

static pnode *parse_add(parser *p)
{
    pnode *l = parse_mul(p);
    while (l) {
        const xtok *t = peek(p);
        const char *op = op_is(t, "+") ? "+" : op_is(t, "-") ? "-" : NULL;
        if (!op)
            break;
        p->i++;
        l = call(p, op, t->pos, 2, l, parse_mul(p));
    }
    return l;
}

static pnode *parse_pred(parser *p)
{
    pnode *l = parse_add(p);
    while (l) {
        const xtok *t = peek(p);
        int pos = t->pos;
        static const char *const cmps[] = {"=", "<>", "!=", "<", "<=", ">", ">=", NULL};
        int c = 0;
        while (cmps[c] && !op_is(t, cmps[c]))
            c++;
        if (cmps[c]) {
            p->i++;
            l = call(p, strcmp(cmps[c], "!=") == 0 ? "<>" : cmps[c], pos, 2, l, parse_add(p));
            continue;
        }
        if (accept_kw(p, "IS")) {
            int neg = accept_kw(p, "NOT");
            const char *what = accept_kw(p, "NULL") ? "NULL"
                               : accept_kw(p, "TRUE") ? "TRUE"
                               : accept_kw(p, "FALSE") ? "FALSE"
                               : accept_kw(p, "UNKNOWN") ? "UNKNOWN"
                               : NULL;
            char name[40];
            if (what) {
                snprintf(name, sizeof name, "IS %s%s", neg ? "NOT " : "", what);
                l = call(p, name, pos, 1, l);
            } else if (accept_kw(p, "DISTINCT")) {
                if (!expect_kw(p, "FROM")) {
                    pnode_free(l);
                    return NULL;
                }
                l = call(p, neg ? "IS NOT DISTINCT FROM" : "IS DISTINCT FROM", pos, 2, l, parse_add(p));
            } else {
                pnode_free(l);
                return fail(p, peek(p)->pos, "expected NULL, TRUE, FALSE, UNKNOWN or DISTINCT FROM after IS");
            }
            continue;
        }
        int neg = 0;
        if (word_is(t, "NOT")) {
            const xtok *t2 = peek2(p);
            if (!(word_is(t2, "BETWEEN") || word_is(t2, "IN") || word_is(t2, "LIKE") || word_is(t2, "SIMILAR")))
                break;
            p->i++;
            neg = 1;
        }
        if (accept_kw(p, "BETWEEN")) {
            if (!accept_kw(p, "ASYMMETRIC") && accept_kw(p, "SYMMETRIC")) {
                pnode_free(l);
                return fail(p, pos, "BETWEEN SYMMETRIC is not supported");
            }
            pnode *lo = parse_add(p);
            if (!lo || !expect_kw(p, "AND")) {
                pnode_free(l);
                pnode_free(lo);
                return NULL;
            }
            l = call(p, neg ? "NOT BETWEEN" : "BETWEEN", pos, 3, l, lo, parse_add(p));
            continue;
        }
        if (accept_kw(p, "IN")) {
            pnode *n = node(p, PK_CALL, pos, neg ? "NOT IN" : "IN");
            if (!n || add_arg(p, n, l)) {
                pnode_free(l);
                pnode_free(n);
                return NULL;
            }
            if (!expect_op(p, "(") || parse_args(p, n)) {
                pnode_free(n);
                return NULL;
            }
            if (n->n < 2) {
                pnode_free(n);
                return fail(p, pos, "IN needs at least one value");
            }
            l = n;
            continue;
        }
        int like = accept_kw(p, "LIKE");
        if (!like && accept_kw(p, "SIMILAR")) {
            if (!expect_kw(p, "TO")) {
                pnode_free(l);
                return NULL;
            }
        } else if (!like) {
            break;
        }
        char name[32];
        snprintf(name, sizeof name, "%s%s", neg ? "NOT " : "", like ? "LIKE" : "SIMILAR TO");
        pnode *pat = parse_add(p);
        if (accept_kw(p, "ESCAPE"))
            l = call(p, name, pos, 3, l, pat, parse_add(p));
        else
            l = call(p, name, pos, 2, l, pat);
    }
    return l;
}

static pnode *parse_not(parser *p)
{
    const xtok *t = peek(p);
    if (accept_kw(p, "NOT"))
        return call(p, "NOT", t->pos, 1, parse_not(p));
    return parse_pred(p);
}

static pnode *parse_and(parser *p)
{
    pnode *l = parse_not(p);
    while (l && word_is(peek(p), "AND")) {
        int pos = peek(p)->pos;
        p->i++;
        l = call(p, "AND", pos, 2, l, parse_not(p));
    }
    return l;
}

static pnode *parse_or(parser *p)
{
    pnode *l = parse_and(p);
    while (l && word_is(peek(p), "OR")) {
        int pos = peek(p)->pos;
        p->i++;
        l = call(p, "OR", pos, 2, l, parse_and(p));
    }
    return l;
}

static int start(parser *p, const char *text, int *err_pos, char *why, size_t wlen)
{
    memset(p, 0, sizeof *p);
    p->why = why;
    p->wlen = wlen;
    why[0] = 0;
    return xlex(text, &p->t, err_pos, why, wlen);
}

int xparse_expr(const char *text, pnode **out, int *err_pos, char *why, size_t wlen)
{
    parser p;
    *out = NULL;
    if (start(&p, text, err_pos, why, wlen))
        return -1;
    pnode *n = parse_or(&p);
    if (n && peek(&p)->k != T_END) {
        fail(&p, peek(&p)->pos, "unexpected '%s' after the expression", peek(&p)->text);
        pnode_free(n);
        n = NULL;
    }
    if (!n && !p.failed)
        fail(&p, 0, "empty expression");
    *err_pos = p.err_pos;
    xlex_free(&p.t);
    *out = n;
    return n ? 0 : -1;
}

void xproj_free(xproj *pr)
{
    for (int i = 0; i < pr->n; i++) {
        pnode_free(pr->items[i].expr);
        free(pr->items[i].alias);
    }
    free(pr->items);
    pr->items = NULL;
    pr->n = 0;
}

int xparse_projection(const char *text, xproj *out, int *err_pos, char *why, size_t wlen)
{
    parser p;
    memset(out, 0, sizeof *out);
    if (start(&p, text, err_pos, why, wlen))
        return -1;
    int cap = 0;
    for (;;) {
        if (out->n == cap) {
            cap = cap ? cap * 2 : 8;
            xproj_item *v = realloc(out->items, (size_t)cap * sizeof *v);
            if (!v) {
                fail(&p, 0, "out of memory");
                break;
            }
            out->items = v;
        }
        xproj_item *it = &out->items[out->n];
        memset(it, 0, sizeof *it);
        it->pos = peek(&p)->pos;
        if (op_is(peek(&p), "*") && (op_is(peek2(&p), ",") || peek2(&p)->k == T_END)) {
            p.i++;
            it->star = 1;
            out->n++;
        } else {
            it->expr = parse_or(&p);
            if (!it->expr)
                break;
            out->n++;
            int as = accept_kw(&p, "AS");
            const xtok *a = peek(&p);
            if (a->k == T_IDENT || (a->k == T_KEYWORD && !reserved(a))) {
                it->alias = strdup(a->text);
                p.i++;
            } else if (as) {
                fail(&p, a->pos, "expected a column name after AS but found '%s'", describe(a));
                break;
            }
        }
        if (accept_op(&p, ","))
            continue;
        if (peek(&p)->k != T_END)
            fail(&p, peek(&p)->pos, "expected ',' or the end of the projection but found '%s'", peek(&p)->text);
        break;
    }
    *err_pos = p.err_pos;
    xlex_free(&p.t);
    if (p.failed) {
        xproj_free(out);
        return -1;
    }
    return 0;
}
