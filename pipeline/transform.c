/* transform.c — compiles and applies projection, filter and primary-key
 * overrides of the `transform:` block (see transform.h). */
#include "transform.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/table_filter.h"

/* ---- filter expressions ---- */

typedef enum { N_OR, N_AND, N_NOT, N_CMP, N_ISNULL, N_NOTNULL } node_kind;
typedef enum { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE } cmp_op;

typedef struct node {
    node_kind kind;
    struct node *a, *b;
    char *column;
    cmp_op op;
    int lit_is_num, lit_is_null;
    int text_is_num; /* a quoted literal that reads as a number ('10') */
    double num;
    char *text;
} node;

static void node_free(node *n)
{
    if (!n)
        return;
    node_free(n->a);
    node_free(n->b);
    free(n->column);
    free(n->text);
    free(n);
}

typedef struct parser {
    const char *p;
    char err[300];
} parser;

static void skip_ws(parser *ps)
{
    while (isspace((unsigned char)*ps->p))
        ps->p++;
}

static int keyword(parser *ps, const char *kw)
{
    skip_ws(ps);
    size_t n = strlen(kw);
    if (strncasecmp(ps->p, kw, n) == 0 && !isalnum((unsigned char)ps->p[n]) && ps->p[n] != '_') {
        ps->p += n;
        return 1;
    }
    return 0;
}

static char *ident(parser *ps)
{
    skip_ws(ps);
    const char *s = ps->p;
    if (*s == '`') {
        const char *e = strchr(s + 1, '`');
        if (!e)
            return NULL;
        ps->p = e + 1;
        return strndup(s + 1, (size_t)(e - s - 1));
    }
    if (!isalpha((unsigned char)*s) && *s != '_')
        return NULL;
    while (isalnum((unsigned char)*ps->p) || *ps->p == '_')
        ps->p++;
    return strndup(s, (size_t)(ps->p - s));
}

static node *parse_or(parser *ps);

static node *parse_factor(parser *ps)
{
    skip_ws(ps);
    if (keyword(ps, "NOT")) {
        node *n = calloc(1, sizeof *n);
        if (!n)
            return NULL;
        n->kind = N_NOT;
        n->a = parse_factor(ps);
        if (!n->a) {
            node_free(n);
            return NULL;
        }
        return n;
    }
    if (*ps->p == '(') {
        ps->p++;
        node *n = parse_or(ps);
        skip_ws(ps);
        if (!n || *ps->p != ')') {
            if (!ps->err[0])
                snprintf(ps->err, sizeof ps->err, "missing ')'");
            node_free(n);
            return NULL;
        }
        ps->p++;
        return n;
    }
    const char *at = ps->p;
    char *col = ident(ps);
    if (!col) {
        snprintf(ps->err, sizeof ps->err, "expected a column name at '%.20s'", at);
        return NULL;
    }
    skip_ws(ps);
    if (*ps->p == '(') {
        snprintf(ps->err, sizeof ps->err, "function calls such as '%s(...)' are not supported", col);
        free(col);
        return NULL;
    }
    node *n = calloc(1, sizeof *n);
    if (!n) {
        free(col);
        return NULL;
    }
    n->column = col;
    if (keyword(ps, "IS")) {
        n->kind = keyword(ps, "NOT") ? N_NOTNULL : N_ISNULL;
        if (!keyword(ps, "NULL")) {
            snprintf(ps->err, sizeof ps->err, "expected NULL after IS");
            node_free(n);
            return NULL;
        }
        return n;
    }
    n->kind = N_CMP;
    skip_ws(ps);
    static const struct {
        const char *t;
        cmp_op op;
    } ops[] = {{"<=", OP_LE}, {">=", OP_GE}, {"<>", OP_NE}, {"!=", OP_NE}, {"=", OP_EQ}, {"<", OP_LT}, {">", OP_GT}};
    int found = 0;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        size_t l = strlen(ops[i].t);
        if (strncmp(ps->p, ops[i].t, l) == 0) {
            n->op = ops[i].op;
            ps->p += l;
            found = 1;
            break;
        }
    }
    if (!found) {
        snprintf(ps->err, sizeof ps->err, "expected a comparison after '%s'", col);
        node_free(n);
        return NULL;
    }
    skip_ws(ps);
    if (*ps->p == '\'') {
        const char *s = ++ps->p;
        size_t cap = strlen(s) + 1, o = 0;
        char *txt = malloc(cap);
        while (txt && *ps->p) {
            if (*ps->p == '\'' && ps->p[1] == '\'') {
                txt[o++] = '\'';
                ps->p += 2;
            } else if (*ps->p == '\'') {
                break;
            } else {
                txt[o++] = *ps->p++;
            }
        }
        if (!txt || *ps->p != '\'') {
            free(txt);
            snprintf(ps->err, sizeof ps->err, "unterminated string literal");
            node_free(n);
            return NULL;
        }
        ps->p++;
        txt[o] = 0;
        n->text = txt;
        /* SQL compares a numeric column with '10' as the number 10 */
        char *end;
        n->num = strtod(txt, &end);
        n->text_is_num = end != txt && !*end && !isspace((unsigned char)*txt);
    } else if (keyword(ps, "NULL")) {
        n->lit_is_null = 1;
    } else if (keyword(ps, "TRUE")) {
        n->lit_is_num = 1;
        n->num = 1;
    } else if (keyword(ps, "FALSE")) {
        n->lit_is_num = 1;
    } else {
        char *end;
        n->num = strtod(ps->p, &end);
        if (end == ps->p) {
            snprintf(ps->err, sizeof ps->err, "expected a literal after the comparison on '%s'", col);
            node_free(n);
            return NULL;
        }
        n->text = strndup(ps->p, (size_t)(end - ps->p));
        n->lit_is_num = 1;
        ps->p = end;
    }
    return n;
}

static node *parse_and(parser *ps)
{
    node *l = parse_factor(ps);
    while (l && keyword(ps, "AND")) {
        node *n = calloc(1, sizeof *n);
        node *r = parse_factor(ps);
        if (!n || !r) {
            node_free(n);
            node_free(r);
            node_free(l);
            return NULL;
        }
        n->kind = N_AND;
        n->a = l;
        n->b = r;
        l = n;
    }
    return l;
}

static node *parse_or(parser *ps)
{
    node *l = parse_and(ps);
    while (l && keyword(ps, "OR")) {
        node *n = calloc(1, sizeof *n);
        node *r = parse_and(ps);
        if (!n || !r) {
            node_free(n);
            node_free(r);
            node_free(l);
            return NULL;
        }
        n->kind = N_OR;
        n->a = l;
        n->b = r;
        l = n;
    }
    return l;
}

static int value_number(const sl_value *v, double *d)
{
    switch ((sl_kind)v->kind) {
    case SL_INT:
    case SL_YEAR:
    case SL_BOOL:
        *d = (double)v->v.i;
        return 1;
    case SL_UINT:
    case SL_BIT:
        *d = (double)v->v.u;
        return 1;
    case SL_FLOAT:
    case SL_DOUBLE:
        *d = v->v.d;
        return 1;
    case SL_DECIMAL: {
        char buf[80];
        snprintf(buf, sizeof buf, "%.*s", (int)v->len, v->v.s);
        *d = strtod(buf, NULL);
        return 1;
    }
    default:
        return 0;
    }
}

static int cmp_result(int c, cmp_op op)
{
    switch (op) {
    case OP_EQ: return c == 0;
    case OP_NE: return c != 0;
    case OP_LT: return c < 0;
    case OP_LE: return c <= 0;
    case OP_GT: return c > 0;
    case OP_GE: return c >= 0;
    }
    return 0;
}

/* SQL semantics: a comparison with NULL is not true */
static int eval(const node *n, const sl_table_schema *s, const sl_value *row)
{
    switch (n->kind) {
    case N_OR: return eval(n->a, s, row) || eval(n->b, s, row);
    case N_AND: return eval(n->a, s, row) && eval(n->b, s, row);
    case N_NOT: return !eval(n->a, s, row);
    default: break;
    }
    /* mapping_for() checked every filter column against the schema */
    const sl_value *v = &row[sl_schema_column_index(s, n->column)];
    int is_null = v->kind == SL_NULL;
    if (n->kind == N_ISNULL)
        return is_null;
    if (n->kind == N_NOTNULL)
        return !is_null && v->kind != SL_UNCHANGED;
    if (is_null || n->lit_is_null || v->kind == SL_UNCHANGED)
        return 0;
    double d;
    if ((n->lit_is_num || n->text_is_num) && value_number(v, &d)) {
        /* integers compare exactly when the literal is an integer */
        if ((v->kind == SL_INT || v->kind == SL_UINT) && n->text && !strpbrk(n->text, ".eE")) {
            long long lit = strtoll(n->text, NULL, 10);
            int c;
            if (v->kind == SL_UINT)
                c = lit < 0 ? 1 : (v->v.u > (unsigned long long)lit) - (v->v.u < (unsigned long long)lit);
            else
                c = (v->v.i > lit) - (v->v.i < lit);
            return cmp_result(c, n->op);
        }
        return cmp_result((d > n->num) - (d < n->num), n->op);
    }
    char buf[128];
    const char *txt;
    size_t len;
    if (v->kind == SL_STRING || v->kind == SL_ENUM || v->kind == SL_SET || v->kind == SL_JSON ||
        v->kind == SL_DECIMAL || v->kind == SL_TEXTUAL || v->kind == SL_BYTES) {
        txt = v->v.s;
        len = v->len;
    } else {
        int k = sl_value_sql_text(v, buf, sizeof buf);
        txt = buf;
        len = k > 0 ? (size_t)k : 0;
    }
    const char *lit = n->text ? n->text : "";
    size_t llen = strlen(lit);
    size_t m = len < llen ? len : llen;
    int c = memcmp(txt, lit, m);
    if (c == 0)
        c = (len > llen) - (len < llen);
    return cmp_result(c, n->op);
}

/* ---- projection and compiled transforms ---- */

typedef struct proj_item {
    char *column; /* NULL for * */
    char *alias;
} proj_item;

typedef struct rule {
    sl_table_filter match;
    proj_item *items;
    size_t nitems;
    node *filter;
    char **pk;
    size_t npk;
    sl_srcloc loc;
} rule;

typedef struct mapping {
    const sl_table_schema *in;
    sl_table_schema *out; /* NULL when the rule does not project */
    int *src;             /* out column -> in column */
    const rule *r;
} mapping;

struct sl_transformer {
    rule *rules;
    size_t nrules;
    mapping *maps;
    size_t nmaps, cap;
};

static void rule_free(rule *r)
{
    sl_table_filter_free(&r->match);
    for (size_t i = 0; i < r->nitems; i++) {
        free(r->items[i].column);
        free(r->items[i].alias);
    }
    free(r->items);
    node_free(r->filter);
    for (size_t i = 0; i < r->npk; i++)
        free(r->pk[i]);
    free(r->pk);
}

/* Names that Flink resolves to metadata or the clock rather than a column */
static int reserved_name(const char *name)
{
    static const char *const names[] = {"__namespace_name__", "__schema_name__", "__table_name__",
                                        "__data_event_type__", "CURRENT_TIMESTAMP", "CURRENT_DATE",
                                        "CURRENT_TIME", "LOCALTIMESTAMP", "LOCALTIME", "NOW"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(name, names[i]) == 0)
            return 1;
    return 0;
}

static int compile_projection(rule *r, const char *text, char *why, size_t wlen)
{
    parser ps = {text, ""};
    for (;;) {
        skip_ws(&ps);
        proj_item it = {0};
        if (*ps.p == '*' || (ps.p[0] == '\\' && ps.p[1] == '*')) {
            /* Flink writes a leading star as \* (a bare one starts a YAML alias) */
            ps.p += *ps.p == '*' ? 1 : 2;
        } else {
            const char *at = ps.p;
            it.column = ident(&ps);
            skip_ws(&ps);
            if (!it.column || (*ps.p && *ps.p != ',' && strncasecmp(ps.p, "AS", 2) != 0)) {
                const char *end = strchr(at, ',');
                snprintf(why, wlen,
                         "projection item '%.*s' is not supported (sluice projects column names, 'col AS alias' "
                         "and *)",
                         (int)(end ? end - at : (long)strlen(at)), at);
                free(it.column);
                return -1;
            }
            if (reserved_name(it.column)) {
                snprintf(why, wlen,
                         "projection item '%s' is a Flink metadata column or time function, which sluice's "
                         "transform does not evaluate yet",
                         it.column);
                free(it.column);
                return -1;
            }
            if (keyword(&ps, "AS")) {
                it.alias = ident(&ps);
                if (!it.alias) {
                    snprintf(why, wlen, "expected a name after AS in the projection");
                    free(it.column);
                    return -1;
                }
            }
        }
        proj_item *ni = realloc(r->items, (r->nitems + 1) * sizeof *ni);
        if (!ni) {
            free(it.column);
            free(it.alias);
            return -1;
        }
        r->items = ni;
        r->items[r->nitems++] = it;
        skip_ws(&ps);
        if (*ps.p == ',') {
            ps.p++;
            continue;
        }
        if (*ps.p) {
            snprintf(why, wlen, "unexpected '%.20s' in the projection", ps.p);
            return -1;
        }
        return 0;
    }
}

int sl_transformer_new(const sl_transform *defs, size_t n, sl_transformer **out, sl_err *err)
{
    *out = NULL;
    sl_transformer *t = calloc(1, sizeof *t);
    if (!t || !(t->rules = calloc(n ? n : 1, sizeof *t->rules))) {
        free(t);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        const sl_transform *d = &defs[i];
        rule *r = &t->rules[i];
        t->nrules = i + 1;
        r->loc = d->loc;
        char why[400] = "";
        int rc = sl_table_filter_init(&r->match, d->source_table, NULL, err);
        if (rc) {
            sl_err_prefix(err, rc, "%s:%d:%d: transform source-table: ", d->loc.file, d->loc.line, d->loc.col);
            sl_transformer_free(t);
            return rc;
        }
        if (d->projection && compile_projection(r, d->projection, why, sizeof why) && !why[0])
            snprintf(why, sizeof why, "out of memory");
        if (!why[0] && d->filter) {
            parser ps = {d->filter, ""};
            r->filter = parse_or(&ps);
            skip_ws(&ps);
            if (r->filter && *ps.p)
                snprintf(ps.err, sizeof ps.err, "unexpected '%.20s'", ps.p);
            if (!r->filter || ps.err[0])
                snprintf(why, sizeof why, "filter '%s': %s", d->filter, ps.err[0] ? ps.err : "cannot be parsed");
        }
        if (!why[0] && d->primary_keys) {
            char *copy = strdup(d->primary_keys), *save = NULL;
            for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok; tok = strtok_r(NULL, ",", &save)) {
                while (isspace((unsigned char)*tok))
                    tok++;
                size_t l = strlen(tok);
                while (l && isspace((unsigned char)tok[l - 1]))
                    tok[--l] = 0;
                char **np = realloc(r->pk, (r->npk + 1) * sizeof *np);
                if (!np)
                    break;
                r->pk = np;
                r->pk[r->npk++] = strdup(tok);
            }
            free(copy);
        }
        if (!why[0] && (d->partition_keys || d->table_options))
            snprintf(why, sizeof why, "%s is not supported by sluice's sinks yet; remove it",
                     d->partition_keys ? "partition-keys" : "table-options");
        if (why[0]) {
            int rc2 = sl_errf(err, SL_ECONFIG, "%s:%d:%d: transform: %s", d->loc.file, d->loc.line, d->loc.col, why);
            sl_transformer_free(t);
            return rc2;
        }
    }
    *out = t;
    return 0;
}

void sl_transformer_free(sl_transformer *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nrules; i++)
        rule_free(&t->rules[i]);
    free(t->rules);
    for (size_t i = 0; i < t->nmaps; i++) {
        sl_schema_free(t->maps[i].out);
        free(t->maps[i].src);
    }
    free(t->maps);
    free(t);
}

static int copy_column(sl_column *dst, const sl_column *src, const char *alias)
{
    *dst = *src;
    dst->name = strdup(alias ? alias : src->name);
    dst->type_name = src->type_name ? strdup(src->type_name) : NULL;
    dst->enum_values = NULL;
    dst->n_enum_values = 0;
    if (src->n_enum_values) {
        dst->enum_values = calloc(src->n_enum_values, sizeof *dst->enum_values);
        if (!dst->enum_values)
            return -1;
        for (uint32_t k = 0; k < src->n_enum_values; k++)
            dst->enum_values[k] = strdup(src->enum_values[k]);
        dst->n_enum_values = src->n_enum_values;
    }
    return dst->name ? 0 : -1;
}

/* The first column a filter names that the table does not have. */
static const char *missing_column(const node *n, const sl_table_schema *s)
{
    if (!n)
        return NULL;
    if (n->column && sl_schema_column_index(s, n->column) < 0)
        return n->column;
    const char *m = missing_column(n->a, s);
    return m ? m : missing_column(n->b, s);
}

static int is_numeric_kind(uint8_t k)
{
    return k == SL_INT || k == SL_UINT || k == SL_FLOAT || k == SL_DOUBLE || k == SL_DECIMAL || k == SL_YEAR ||
           k == SL_BOOL || k == SL_BIT;
}

/* A comparison of a numeric column with a quoted literal that is not a
 * number, which SQL refuses rather than compare as text. */
static const node *non_numeric_literal(const node *n, const sl_table_schema *s)
{
    if (!n)
        return NULL;
    if (n->kind == N_CMP && n->text && !n->lit_is_num && !n->text_is_num &&
        is_numeric_kind(s->cols[sl_schema_column_index(s, n->column)].kind))
        return n;
    const node *m = non_numeric_literal(n->a, s);
    return m ? m : non_numeric_literal(n->b, s);
}

static void column_list(const sl_table_schema *s, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = 0;
    for (int c = 0; c < s->ncols && o + 1 < len; c++)
        o += (size_t)snprintf(buf + o, len - o, "%s%s", c ? ", " : "", s->cols[c].name);
}

/* Finds (or builds) how events of schema `in` are rewritten. */
static const mapping *mapping_for(sl_transformer *t, const sl_table_schema *in, sl_err *err, int *rc)
{
    *rc = 0;
    for (size_t i = 0; i < t->nmaps; i++)
        if (t->maps[i].in == in)
            return &t->maps[i];
    if (t->nmaps == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        mapping *m = realloc(t->maps, cap * sizeof *m);
        if (!m) {
            *rc = sl_errf(err, SL_ERUNTIME, "out of memory");
            return NULL;
        }
        t->maps = m;
        t->cap = cap;
    }
    mapping *m = &t->maps[t->nmaps];
    memset(m, 0, sizeof *m);
    m->in = in;
    const char *ns = in->schema ? in->schema : in->db;
    for (size_t i = 0; i < t->nrules; i++)
        if (sl_table_filter_match(&t->rules[i].match, ns ? ns : "", in->table)) {
            m->r = &t->rules[i];
            break;
        }
    const rule *r = m->r;
    const char *missing = r ? missing_column(r->filter, in) : NULL;
    if (missing) {
        /* a filter that cannot be evaluated must stop the pipeline: dropping
         * every row would lose data silently */
        char cols[600];
        column_list(in, cols, sizeof cols);
        *rc = sl_errf(err, SL_ECONFIG, "%s:%d:%d: transform filter: table %s has no column '%s' (columns: %s)",
                      r->loc.file, r->loc.line, r->loc.col, in->qualified, missing, cols);
        return NULL;
    }
    const node *bad = r ? non_numeric_literal(r->filter, in) : NULL;
    if (bad) {
        *rc = sl_errf(err, SL_ECONFIG,
                      "%s:%d:%d: transform filter: column '%s' of table %s is numeric and cannot be compared with "
                      "'%s', which is not a number",
                      r->loc.file, r->loc.line, r->loc.col, bad->column, in->qualified, bad->text);
        return NULL;
    }
    if (r && (r->nitems || r->npk)) {
        int cols[4096];
        const char *aliases[4096];
        int n = 0;
        if (!r->nitems) {
            for (int c = 0; c < in->ncols && n < 4096; c++, n++) {
                cols[n] = c;
                aliases[n] = NULL;
            }
        }
        for (size_t k = 0; k < r->nitems; k++) {
            if (!r->items[k].column) {
                for (int c = 0; c < in->ncols && n < 4096; c++, n++) {
                    cols[n] = c;
                    aliases[n] = NULL;
                }
                continue;
            }
            int c = sl_schema_column_index(in, r->items[k].column);
            if (c < 0) {
                *rc = sl_errf(err, SL_ECONFIG, "transform projection: table %s has no column '%s'", in->qualified,
                              r->items[k].column);
                return NULL;
            }
            cols[n] = c;
            aliases[n++] = r->items[k].alias;
        }
        sl_table_schema *out = sl_schema_new(in->db, in->schema, in->table, n);
        m->src = malloc((size_t)(n ? n : 1) * sizeof *m->src);
        if (!out || !m->src) {
            sl_schema_free(out);
            free(m->src);
            *rc = sl_errf(err, SL_ERUNTIME, "out of memory");
            return NULL;
        }
        out->version = in->version;
        for (int c = 0; c < n; c++) {
            m->src[c] = cols[c];
            if (copy_column(&out->cols[c], &in->cols[cols[c]], aliases[c])) {
                sl_schema_free(out);
                free(m->src);
                *rc = sl_errf(err, SL_ERUNTIME, "out of memory");
                return NULL;
            }
            out->cols[c].is_pk = 0;
        }
        if (r->npk) {
            for (size_t k = 0; k < r->npk; k++) {
                int c = sl_schema_column_index(out, r->pk[k]);
                if (c < 0) {
                    *rc = sl_errf(err, SL_ECONFIG, "transform primary-keys: table %s has no column '%s'",
                                  in->qualified, r->pk[k]);
                    sl_schema_free(out);
                    free(m->src);
                    return NULL;
                }
                out->cols[c].is_pk = 1;
                out->pk[out->npk++] = c;
            }
        } else {
            /* the key survives when every key column is projected */
            for (int k = 0; k < in->npk; k++) {
                int found = -1;
                for (int c = 0; c < n; c++)
                    if (cols[c] == in->pk[k])
                        found = c;
                if (found < 0) {
                    out->npk = 0;
                    break;
                }
                out->cols[found].is_pk = 1;
                out->pk[out->npk++] = found;
            }
        }
        m->out = out;
    }
    t->nmaps++;
    return m;
}

static sl_value *project(sl_batch *b, const mapping *m, const sl_value *row)
{
    if (!row)
        return NULL;
    sl_value *o = sl_batch_row(b, m->out->ncols);
    if (o)
        for (int c = 0; c < m->out->ncols; c++)
            o[c] = row[m->src[c]];
    return o;
}

int sl_transformer_apply(sl_transformer *t, sl_batch *b, sl_err *err)
{
    size_t dropped = 0, dropped_in_prefix = 0, idx = 0;
    b->tail = NULL;
    for (sl_event **link = &b->head; *link; idx++) {
        sl_event *e = *link;
        int rc;
        const mapping *m = mapping_for(t, e->schema, err, &rc);
        if (rc)
            return rc;
        if (m->r && m->r->filter && e->op != SL_OP_SCHEMA && e->op != SL_OP_TRUNCATE) {
            const sl_value *row = e->after ? e->after : e->before;
            if (row && !eval(m->r->filter, e->schema, row)) {
                *link = e->next;
                dropped++;
                dropped_in_prefix += idx < b->commit_count;
                continue;
            }
        }
        if (m->out) {
            e->before = project(b, m, e->before);
            e->after = project(b, m, e->after);
            e->schema = m->out;
        }
        b->tail = e;
        link = &e->next;
    }
    /* commit_count is a prefix length: keep it at the same boundary */
    b->count -= dropped;
    b->commit_count -= dropped_in_prefix;
    return 0;
}
