/* transform.c — compiles the `transform:` rules and applies them to
 * batches (see transform.h). The expressions themselves live in
 * pipeline/expr/; this file owns the rules, the per-table bindings and the
 * rewriting of events. */
#include "transform.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/clock.h"
#include "../core/table_filter.h"
#include "expr/expr.h"

typedef struct rule {
    const sl_transform *def;
    sl_table_filter match;
    xproj proj;       /* n == 0: no projection (all columns) */
    int has_proj;
    pnode *filter;
    char **pk;
    size_t npk;
    int soft_delete;
} rule;

/* one output column of a bound projection */
typedef struct outcol {
    int in_col;    /* >= 0: copied from this input column */
    xnode *expr;   /* else computed */
    int slot;      /* its place in the computed values */
} outcol;

/* how events of one input schema are rewritten */
typedef struct mapping {
    const sl_table_schema *in;
    const rule *r;
    sl_table_schema *out; /* NULL when the rule keeps the table's shape */
    outcol *cols;
    int ncomputed;
    xnode *filter;
    int filter_first; /* the filter reads no computed column: test it before projecting */
    xbinding owner;
} mapping;

struct sl_transformer {
    rule *rules;
    size_t nrules;
    mapping **maps;
    size_t nmaps, cap;
    const sl_table_schema *last_in;
    mapping *last;
    xrt rt;
    char *metadata_list;
    xval *scratch; /* computed values of one row */
    int scratch_n;
    int64_t now_ms; /* the clock of the batch being applied */
};

/* ---- locations ---- */

/* "file:line:col" of offset `at` in a projection or filter */
static void where(const sl_transform *d, int filter, int at, char *buf, size_t len)
{
    sl_srcloc loc = filter ? d->filter_loc : d->projection_loc;
    int inl = filter ? d->filter_inline : d->projection_inline;
    if (!loc.line)
        loc = d->loc;
    snprintf(buf, len, "%s:%d:%d", loc.file, loc.line, loc.col + (inl && at > 0 ? at : 0));
}

static int fail_at(sl_err *err, const sl_transform *d, int filter, int at, const char *table, const char *why)
{
    char w[300];
    where(d, filter, at, w, sizeof w);
    const char *text = filter ? d->filter : d->projection;
    int tl = (int)strlen(text);
    if (at > tl)
        at = tl;
    if (table)
        return sl_errf(err, SL_ECONFIG, "%s: transform %s of table %s: %s (at '%.30s')", w,
                       filter ? "filter" : "projection", table, why, text + at);
    return sl_errf(err, SL_ECONFIG, "%s: transform %s: %s (at '%.30s')", w, filter ? "filter" : "projection", why,
                   text + at);
}

/* ---- rules ---- */

static void rule_free(rule *r)
{
    sl_table_filter_free(&r->match);
    xproj_free(&r->proj);
    pnode_free(r->filter);
    for (size_t i = 0; i < r->npk; i++)
        free(r->pk[i]);
    free(r->pk);
}

static int split_keys(const char *text, char ***out, size_t *n)
{
    char *copy = strdup(text), *save = NULL;
    if (!copy)
        return -1;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*tok))
            tok++;
        size_t l = strlen(tok);
        while (l && isspace((unsigned char)tok[l - 1]))
            tok[--l] = 0;
        if (!l)
            continue;
        char **np = realloc(*out, (*n + 1) * sizeof *np);
        if (!np || !(np[*n] = strdup(tok))) {
            if (np)
                *out = np;
            free(copy);
            return -1;
        }
        *out = np;
        (*n)++;
    }
    free(copy);
    return 0;
}

/* load-time checks of a projection: every expression binds against
 * columns of unknown type, non-column expressions are named, and no name
 * shadows a metadata column */
static int check_projection(const rule *r, const xrt *rt, const char *ml, sl_err *err)
{
    const sl_transform *d = r->def;
    xscope sc = {.metadata_list = ml};
    for (int i = 0; i < r->proj.n; i++) {
        const xproj_item *it = &r->proj.items[i];
        if (it->star)
            continue;
        if (!it->alias && it->expr->k != PK_IDENT)
            return fail_at(err, d, 0, it->pos, NULL,
                           "a computed column needs a name: write <expression> AS <name>");
        if (it->alias && xb_is_metadata(it->alias))
            return fail_at(err, d, 0, it->pos, NULL, "a metadata column name cannot name a projected column");
        xbinding b;
        xbinding_init(&b);
        xnode *n;
        int pos;
        char why[400];
        int rc = xbind(it->expr, &sc, rt, &b, &n, &pos, why, sizeof why);
        xbinding_free(&b);
        if (rc)
            return fail_at(err, d, 0, pos, NULL, why);
    }
    return 0;
}

static int check_filter(const rule *r, const xrt *rt, const char *ml, sl_err *err)
{
    const sl_transform *d = r->def;
    /* the projection's names are visible to the filter, all of unknown type */
    xpost post[256];
    int np = 0;
    for (int i = 0; i < r->proj.n && np < 256; i++) {
        const xproj_item *it = &r->proj.items[i];
        if (it->star || !it->alias)
            continue;
        post[np].name = it->alias;
        post[np].type = xt_make(XT_ANY, 1);
        post[np].in_col = -1;
        post[np].slot = 0;
        np++;
    }
    xscope sc = {.post = post, .npost = np, .metadata_list = ml};
    xbinding b;
    xbinding_init(&b);
    xnode *n;
    int pos;
    char why[400];
    int rc = xbind(r->filter, &sc, rt, &b, &n, &pos, why, sizeof why);
    xtype ft = rc ? xt_make(XT_ANY, 1) : n->type;
    xbinding_free(&b);
    if (rc)
        return fail_at(err, d, 1, pos, NULL, why);
    if (ft.t != XT_BOOLEAN && ft.t != XT_ANY && ft.t != XT_NULL) {
        char t[48];
        xt_name(ft, t, sizeof t);
        snprintf(why, sizeof why, "a filter must be a condition (BOOLEAN), not %s", t);
        return fail_at(err, d, 1, 0, NULL, why);
    }
    return 0;
}

static int compile_rule(sl_transformer *t, rule *r, sl_err *err)
{
    const sl_transform *d = r->def;
    int rc = sl_table_filter_init(&r->match, d->source_table, NULL, err);
    if (rc)
        return sl_err_prefix(err, rc, "%s:%d:%d: transform source-table: ", d->loc.file, d->loc.line, d->loc.col);
    char why[400];
    int pos;
    if (d->projection) {
        if (xparse_projection(d->projection, &r->proj, &pos, why, sizeof why))
            return fail_at(err, d, 0, pos, NULL, why);
        r->has_proj = 1;
        if ((rc = check_projection(r, &t->rt, t->metadata_list, err)))
            return rc;
    }
    if (d->filter) {
        if (xparse_expr(d->filter, &r->filter, &pos, why, sizeof why))
            return fail_at(err, d, 1, pos, NULL, why);
        if ((rc = check_filter(r, &t->rt, t->metadata_list, err)))
            return rc;
    }
    if (d->primary_keys && split_keys(d->primary_keys, &r->pk, &r->npk))
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    if (d->converter) {
        if (strcasecmp(d->converter, "SOFT_DELETE") != 0)
            return sl_errf(err, SL_ECONFIG,
                           "%s:%d:%d: transform converter-after-transform '%s' is not known (Flink CDC has "
                           "SOFT_DELETE)",
                           d->loc.file, d->loc.line, d->loc.col, d->converter);
        r->soft_delete = 1;
    }
    return 0;
}

void sl_transform_env_of(const sl_config *cfg, sl_transform_env *env)
{
    memset(env, 0, sizeof *env);
    env->metadata_list = sl_opt_get(&cfg->source, "metadata.list") ? sl_opt_str(&cfg->source, "metadata.list") : NULL;
    env->local_time_zone =
        sl_opt_get(&cfg->pipeline, "local-time-zone") ? sl_opt_str(&cfg->pipeline, "local-time-zone") : NULL;
    const char *mode = sl_opt_get(&cfg->pipeline, "transform.decimal.precision.mode")
                           ? sl_opt_str(&cfg->pipeline, "transform.decimal.precision.mode")
                           : NULL;
    env->decimal_max = mode && strcasecmp(mode, "UP_TO_38") == 0 ? 38 : 19;
}

int sl_transformer_create(const sl_transform *defs, size_t n, const sl_transform_env *env, sl_transformer **out,
                          sl_err *err)
{
    *out = NULL;
    sl_transformer *t = calloc(1, sizeof *t);
    if (!t || !(t->rules = calloc(n ? n : 1, sizeof *t->rules))) {
        free(t);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    t->rt.decimal_max = env && env->decimal_max ? env->decimal_max : 19;
    if (env && env->metadata_list && !(t->metadata_list = strdup(env->metadata_list))) {
        sl_transformer_free(t);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    char why[300];
    if (xtz_open(env ? env->local_time_zone : NULL, &t->rt.tz, why, sizeof why)) {
        sl_transformer_free(t);
        return sl_errf(err, SL_ECONFIG, "pipeline local-time-zone: %s", why);
    }
    for (size_t i = 0; i < n; i++) {
        rule *r = &t->rules[i];
        t->nrules = i + 1;
        r->def = &defs[i];
        int rc = compile_rule(t, r, err);
        if (rc) {
            sl_transformer_free(t);
            return rc;
        }
    }
    *out = t;
    return 0;
}

int sl_transformer_new(const sl_transform *defs, size_t n, sl_transformer **out, sl_err *err)
{
    return sl_transformer_create(defs, n, NULL, out, err);
}

static void mapping_free(mapping *m)
{
    if (!m)
        return;
    sl_schema_free(m->out);
    free(m->cols);
    xbinding_free(&m->owner);
    free(m);
}

void sl_transformer_free(sl_transformer *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nrules; i++)
        rule_free(&t->rules[i]);
    free(t->rules);
    for (size_t i = 0; i < t->nmaps; i++)
        mapping_free(t->maps[i]);
    free(t->maps);
    xtz_free(t->rt.tz);
    free(t->metadata_list);
    free(t->scratch);
    free(t);
}

int sl_transformer_hints(const sl_transformer *t, const char *ns, const char *table, sl_table_hints *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; t && i < t->nrules; i++) {
        if (!sl_table_filter_match(&t->rules[i].match, ns, table))
            continue;
        const sl_transform *d = t->rules[i].def;
        out->partition_keys = d->partition_keys;
        out->table_options = d->table_options;
        out->table_options_delimiter = d->table_options_delimiter ? d->table_options_delimiter : ",";
        return 1;
    }
    return 0;
}

/* ---- binding a rule to a table ---- */

/* the projection's columns for table `in`, Flink's rules: * expands to every
 * column, a later column of the same name replaces an earlier one in place */
typedef struct pcol {
    const char *name;
    int in_col;           /* >= 0 for a plain column */
    const xproj_item *it; /* else the computed item */
} pcol;

static int expand(const rule *r, const sl_table_schema *in, pcol **out, int *n)
{
    int cap = in->ncols + r->proj.n + 1, k = 0;
    pcol *v = calloc((size_t)cap, sizeof *v);
    if (!v)
        return -1;
    for (int i = 0; i < r->proj.n; i++) {
        const xproj_item *it = &r->proj.items[i];
        if (it->star) {
            for (int c = 0; c < in->ncols; c++) {
                pcol p = {in->cols[c].name, c, NULL};
                int j = 0;
                while (j < k && strcmp(v[j].name, p.name) != 0)
                    j++;
                if (j == k && k >= cap)
                    continue;
                v[j] = p;
                k += j == k;
            }
            continue;
        }
        const char *name = it->alias ? it->alias : it->expr->text;
        pcol p = {name, -1, it};
        /* a bare column name (or one renamed) is a copy that keeps the
         * column's source type */
        if (it->expr->k == PK_IDENT && !xb_is_metadata(it->expr->text)) {
            int c = sl_schema_column_index(in, it->expr->text);
            if (c >= 0) {
                p.in_col = c;
                p.it = NULL;
            }
        }
        int j = 0;
        while (j < k && strcmp(v[j].name, name) != 0)
            j++;
        if (j == k && k >= cap)
            continue;
        v[j] = p;
        k += j == k;
    }
    *out = v;
    *n = k;
    return 0;
}

static int bind_mapping(sl_transformer *t, mapping *m, sl_err *err)
{
    const rule *r = m->r;
    const sl_table_schema *in = m->in;
    const sl_transform *d = r->def;
    xscope sc = {.in = in, .metadata_list = t->metadata_list};
    char why[400];
    int pos;
    pcol *pc = NULL;
    int np = 0;
    xpost *post = NULL;
    int rc = 0;
    if (r->has_proj || r->npk) {
        if (r->has_proj) {
            if (expand(r, in, &pc, &np))
                return sl_errf(err, SL_ERUNTIME, "out of memory");
        } else {
            pc = calloc((size_t)(in->ncols ? in->ncols : 1), sizeof *pc);
            if (!pc)
                return sl_errf(err, SL_ERUNTIME, "out of memory");
            for (int c = 0; c < in->ncols; c++)
                pc[np++] = (pcol){in->cols[c].name, c, NULL};
        }
        m->out = sl_schema_new(in->db, in->schema, in->table, np);
        m->cols = calloc((size_t)(np ? np : 1), sizeof *m->cols);
        post = calloc((size_t)(np ? np : 1), sizeof *post);
        if (!m->out || !m->cols || !post) {
            rc = sl_errf(err, SL_ERUNTIME, "out of memory");
            goto out;
        }
        m->out->version = in->version;
        for (int c = 0; c < np; c++) {
            outcol *oc = &m->cols[c];
            post[c].name = pc[c].name;
            if (pc[c].in_col >= 0) {
                oc->in_col = pc[c].in_col;
                post[c].in_col = pc[c].in_col;
                post[c].type = xt_of_column(&in->cols[pc[c].in_col]);
                if (sl_column_copy(&m->out->cols[c], &in->cols[pc[c].in_col], pc[c].name)) {
                    rc = sl_errf(err, SL_ERUNTIME, "out of memory");
                    goto out;
                }
                continue;
            }
            oc->in_col = -1;
            oc->slot = m->ncomputed++;
            if (xbind(pc[c].it->expr, &sc, &t->rt, &m->owner, &oc->expr, &pos, why, sizeof why)) {
                rc = fail_at(err, d, 0, pos, in->qualified, why);
                goto out;
            }
            post[c].in_col = -1;
            post[c].slot = oc->slot;
            post[c].type = oc->expr->type;
            xtype ct = oc->expr->type;
            if (ct.t == XT_NULL)
                ct = xt_make(XT_VARCHAR, 1), oc->expr->type = ct;
            if (xt_to_column(ct, pc[c].name, &m->out->cols[c])) {
                rc = sl_errf(err, SL_ERUNTIME, "out of memory");
                goto out;
            }
        }
        if (r->npk) {
            for (size_t k = 0; k < r->npk; k++) {
                int c = sl_schema_column_index(m->out, r->pk[k]);
                if (c < 0) {
                    rc = sl_errf(err, SL_ECONFIG, "%s:%d:%d: transform primary-keys: table %s has no column '%s'%s",
                                 d->loc.file, d->loc.line, d->loc.col, in->qualified, r->pk[k],
                                 r->has_proj ? " after the projection" : "");
                    goto out;
                }
                m->out->cols[c].is_pk = 1;
                m->out->cols[c].nullable = 0;
                m->out->pk[m->out->npk++] = c;
            }
        } else {
            /* the key survives when every key column is copied */
            for (int k = 0; k < in->npk; k++) {
                int found = -1;
                for (int c = 0; c < np; c++)
                    if (m->cols[c].in_col == in->pk[k])
                        found = c;
                if (found < 0) {
                    for (int c = 0; c < m->out->ncols; c++)
                        m->out->cols[c].is_pk = 0;
                    m->out->npk = 0;
                    break;
                }
                m->out->cols[found].is_pk = 1;
                m->out->pk[m->out->npk++] = found;
            }
        }
    }
    if (r->filter) {
        int uses_post = 0;
        xscope fs = {.in = in,
                     .post = post,
                     .npost = m->out ? np : 0,
                     .metadata_list = t->metadata_list,
                     .uses_post = &uses_post};
        if (xbind(r->filter, &fs, &t->rt, &m->owner, &m->filter, &pos, why, sizeof why)) {
            rc = fail_at(err, d, 1, pos, in->qualified, why);
            goto out;
        }
        xt ft = m->filter->type.t;
        if (ft != XT_BOOLEAN && ft != XT_NULL) {
            char tname[48];
            xt_name(m->filter->type, tname, sizeof tname);
            snprintf(why, sizeof why, "a filter must be a condition (BOOLEAN), not %s", tname);
            rc = fail_at(err, d, 1, 0, in->qualified, why);
            goto out;
        }
        /* a filter that reads only the table's own columns runs before
         * the projection computes anything */
        m->filter_first = !uses_post;
    }
    if (m->ncomputed > t->scratch_n) {
        xval *s = realloc(t->scratch, (size_t)m->ncomputed * sizeof *s);
        if (!s) {
            rc = sl_errf(err, SL_ERUNTIME, "out of memory");
            goto out;
        }
        t->scratch = s;
        t->scratch_n = m->ncomputed;
    }
out:
    free(pc);
    free(post);
    return rc;
}

/* Finds (or builds) how events of schema `in` are rewritten. */
static mapping *mapping_for(sl_transformer *t, const sl_table_schema *in, sl_err *err, int *rc)
{
    *rc = 0;
    if (t->last_in == in)
        return t->last;
    for (size_t i = 0; i < t->nmaps; i++) {
        if (t->maps[i]->in == in) {
            t->last_in = in;
            t->last = t->maps[i];
            return t->maps[i];
        }
    }
    if (t->nmaps == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        mapping **m = realloc(t->maps, cap * sizeof *m);
        if (!m) {
            *rc = sl_errf(err, SL_ERUNTIME, "out of memory");
            return NULL;
        }
        t->maps = m;
        t->cap = cap;
    }
    mapping *m = calloc(1, sizeof *m);
    if (!m) {
        *rc = sl_errf(err, SL_ERUNTIME, "out of memory");
        return NULL;
    }
    xbinding_init(&m->owner);
    m->in = in;
    const char *ns = in->schema ? in->schema : in->db;
    for (size_t i = 0; i < t->nrules; i++)
        if (sl_table_filter_match(&t->rules[i].match, ns ? ns : "", in->table)) {
            m->r = &t->rules[i];
            break;
        }
    if (m->r && (*rc = bind_mapping(t, m, err))) {
        mapping_free(m);
        return NULL;
    }
    t->maps[t->nmaps++] = m;
    t->last_in = in;
    t->last = m;
    return m;
}

/* ---- applying ---- */

static int row_error(xctx *c, const mapping *m, int in_filter, sl_err *err)
{
    const sl_transform *d = m->r->def;
    int pos = c->err_node ? c->err_node->pos : 0;
    char w[300];
    where(d, in_filter, pos, w, sizeof w);
    const char *text = in_filter ? d->filter : d->projection;
    return sl_errf(err, SL_ERUNTIME, "%s: transform %s of table %s: %s (at '%.30s')", w,
                   in_filter ? "filter" : "projection", m->in->qualified, c->msg,
                   text + ((size_t)pos < strlen(text) ? pos : 0));
}

/* the filter's verdict on one row image: 1 keep, 0 drop, <0 error */
static int test(const mapping *m, xctx *c, sl_err *err)
{
    xval v;
    xeval(m->filter, c, &v);
    if (c->rc)
        return row_error(c, m, 1, err);
    if (v.unavailable && (v.null || !v.u.i))
        return sl_errf(err, SL_ERUNTIME,
                       "transform filter of table %s reads a column whose value PostgreSQL did not send (an "
                       "unchanged TOASTed value); set REPLICA IDENTITY FULL on the table",
                       m->in->qualified);
    return !v.null && v.u.i;
}

/* computes the row's computed columns into t->scratch */
static int compute(sl_transformer *t, const mapping *m, xctx *c, sl_err *err)
{
    for (int k = 0; k < m->out->ncols; k++) {
        const outcol *oc = &m->cols[k];
        if (oc->in_col < 0)
            xeval(oc->expr, c, &t->scratch[oc->slot]);
    }
    return c->rc ? row_error(c, m, 0, err) : 0;
}

static sl_value *project(sl_transformer *t, sl_batch *b, const mapping *m, const sl_value *row, xctx *c,
                         sl_err *err, int *rc)
{
    sl_value *o = sl_batch_row(b, m->out->ncols);
    if (!o) {
        *rc = sl_errf(err, SL_ERUNTIME, "out of memory");
        return NULL;
    }
    for (int k = 0; k < m->out->ncols; k++) {
        const outcol *oc = &m->cols[k];
        if (oc->in_col >= 0) {
            o[k] = row[oc->in_col];
        } else if (x_to_value(c, oc->expr->type, &t->scratch[oc->slot], &o[k])) {
            char tn[48];
            xt_name(oc->expr->type, tn, sizeof tn);
            *rc = sl_errf(err, SL_ERUNTIME, "transform projection of table %s: column %s does not fit %s",
                          m->in->qualified, m->out->cols[k].name, tn);
            return NULL;
        }
    }
    return o;
}

/* One row image through the rule: *keep is the filter's verdict, *out the
 * projected image (or the input when the rule does not project). */
static int image(sl_transformer *t, sl_batch *b, const mapping *m, const sl_event *e, const sl_value *row,
                 const char *op, int *keep, const sl_value **out, sl_err *err)
{
    *keep = 1;
    *out = row;
    if (!row)
        return 0;
    /* set field by field: zeroing the whole context (its message buffer)
     * per row costs more than the expressions */
    xctx c;
    c.in = row;
    c.post = t->scratch;
    c.op = op;
    c.ev = e;
    c.arena = &b->arena;
    c.rt = &t->rt;
    c.now_ms = t->now_ms;
    c.rc = 0;
    c.err_node = NULL;
    c.msg[0] = 0;
    int rc = 0;
    if (m->filter && m->filter_first) {
        if ((rc = test(m, &c, err)) < 0)
            return rc;
        *keep = rc;
        if (!*keep)
            return 0;
        rc = 0;
    }
    if (m->out && m->ncomputed && (rc = compute(t, m, &c, err)))
        return rc;
    if (m->filter && !m->filter_first) {
        if ((rc = test(m, &c, err)) < 0)
            return rc;
        *keep = rc;
        if (!*keep)
            return 0;
        rc = 0;
    }
    if (m->out) {
        rc = 0;
        *out = project(t, b, m, row, &c, err, &rc);
    }
    return rc;
}

int sl_transformer_apply(sl_transformer *t, sl_batch *b, sl_err *err)
{
    size_t dropped = 0, dropped_in_prefix = 0, idx = 0;
    t->now_ms = sl_wall_ms();
    b->tail = NULL;
    for (sl_event **link = &b->head; *link; idx++) {
        sl_event *e = *link;
        int rc;
        mapping *m = mapping_for(t, e->schema, err, &rc);
        if (rc)
            return rc;
        if (!m->r) {
            b->tail = e;
            link = &e->next;
            continue;
        }
        if (e->op == SL_OP_SCHEMA || e->op == SL_OP_TRUNCATE) {
            if (m->out)
                e->schema = m->out;
            b->tail = e;
            link = &e->next;
            continue;
        }
        int keep_before = 1, keep_after = 1;
        const sl_value *before = e->before, *after = e->after;
        const char *op_before = e->op == SL_OP_UPDATE ? "-U" : "-D";
        const char *op_after = e->op == SL_OP_UPDATE ? "+U" : "+I";
        if ((rc = image(t, b, m, e, e->before, op_before, &keep_before, &before, err)) ||
            (rc = image(t, b, m, e, e->after, op_after, &keep_after, &after, err)))
            return rc;
        char op = e->op;
        int keep;
        if (op == SL_OP_UPDATE && e->before && e->after) {
            /* Flink: a row that leaves the filter is deleted, one that
             * enters it is inserted */
            keep = keep_before || keep_after;
            if (keep_before && !keep_after) {
                op = SL_OP_DELETE;
                after = NULL;
            } else if (!keep_before && keep_after) {
                op = SL_OP_CREATE;
                before = NULL;
            }
        } else {
            keep = e->after ? keep_after : keep_before;
        }
        if (!keep) {
            *link = e->next;
            dropped++;
            dropped_in_prefix += idx < b->commit_count;
            continue;
        }
        if (m->r->soft_delete && op == SL_OP_DELETE) {
            /* SOFT_DELETE: the deleted row is written as an insert */
            op = SL_OP_CREATE;
            after = before;
            before = NULL;
        }
        e->op = op;
        e->before = before;
        e->after = after;
        if (m->out)
            e->schema = m->out;
        b->tail = e;
        link = &e->next;
    }
    /* commit_count is a prefix length: keep it at the same boundary */
    b->count -= dropped;
    b->commit_count -= dropped_in_prefix;
    return 0;
}
