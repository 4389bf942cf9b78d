/* schema_policy.c — schema.change.behavior and per-event-type control
 * between transform and sink (see schema_policy.h). Per table it keeps the
 * sink shape, the last input shape (to classify the next change) and, for
 * every input shape met, which input column feeds each sink column; rows
 * are fitted into the batch's arena. Every sink shape it built stays alive
 * until the pipeline ends, because sinks and batches in flight refer to
 * them, as to the sources' own schema versions. */
#include "schema_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    C_CREATE_TABLE = 1,
    C_ADD_COLUMN = 2,
    C_ALTER_COLUMN_TYPE = 4,
    C_DROP_COLUMN = 8,
    C_DROP_TABLE = 16,
    C_RENAME_COLUMN = 32,
    C_TRUNCATE_TABLE = 64,
    C_ALL = 127,
};

static const struct {
    const char *name;
    int bit;
} change_types[] = {
    {"add.column", C_ADD_COLUMN},   {"alter.column.type", C_ALTER_COLUMN_TYPE}, {"create.table", C_CREATE_TABLE},
    {"drop.column", C_DROP_COLUMN}, {"drop.table", C_DROP_TABLE},               {"rename.column", C_RENAME_COLUMN},
    {"truncate.table", C_TRUNCATE_TABLE},
};

typedef struct fit {
    const sl_table_schema *in;
    const sl_table_schema *to;
    int *src; /* sink column -> input column, -1 for NULL */
} fit;

typedef struct tstate {
    char *qualified;
    const sl_table_schema *sink; /* the shape the sink has */
    const sl_table_schema *last; /* the last input shape */
    fit *fits;
    size_t nfits;
} tstate;

struct sl_schema_policy {
    int behavior;
    int allowed; /* C_* bits */
    int passthrough;
    tstate *tables;
    size_t ntables, cap;
    sl_table_schema **owned; /* shapes built here */
    size_t nowned, capowned;
};

/* "drop" matches drop.column and drop.table, "column" every *.column */
static int parse_types(const char *list, int *bits, sl_err *err)
{
    *bits = 0;
    for (const char *p = list; p && *p;) {
        p += strspn(p, " ,[]");
        size_t n = strcspn(p, ",]");
        while (n && p[n - 1] == ' ')
            n--;
        if (!n)
            break;
        int hit = 0;
        for (size_t i = 0; i < sizeof change_types / sizeof change_types[0]; i++) {
            const char *name = change_types[i].name;
            size_t l = strlen(name);
            const char *dot = strchr(name, '.');
            int match = (l == n && strncmp(name, p, n) == 0) ||
                        (n < l && strncmp(name, p, n) == 0 && name[n] == '.') ||
                        (n < l && strncmp(name + l - n, p, n) == 0 && name[l - n - 1] == '.') ||
                        (dot && (size_t)(dot - name) == n && strncmp(name, p, n) == 0);
            if (match) {
                *bits |= change_types[i].bit;
                hit = 1;
            }
        }
        if (!hit)
            return sl_errf(err, SL_ECONFIG,
                           "'%.*s' is not a schema change type (add.column, alter.column.type, create.table, "
                           "drop.column, drop.table, rename.column, truncate.table, or a part such as drop)",
                           (int)n, p);
        p += n;
        p += strspn(p, " ,]");
    }
    return 0;
}

int sl_schema_policy_new(int behavior, const char *include, const char *exclude, sl_schema_policy **out,
                         sl_err *err)
{
    *out = NULL;
    int inc = C_ALL, exc = 0;
    if (include && parse_types(include, &inc, err))
        return sl_err_prefix(err, SL_ECONFIG, "include.schema.changes: ");
    if (exclude && parse_types(exclude, &exc, err))
        return sl_err_prefix(err, SL_ECONFIG, "exclude.schema.changes: ");
    sl_schema_policy *p = calloc(1, sizeof *p);
    if (!p)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    p->behavior = behavior;
    int allowed = behavior == SL_SCB_IGNORE    ? C_CREATE_TABLE
                  : behavior == SL_SCB_LENIENT ? C_ALL & ~(C_TRUNCATE_TABLE | C_DROP_TABLE)
                                               : C_ALL;
    if (include)
        allowed = inc | C_CREATE_TABLE;
    allowed &= ~exc;
    p->allowed = allowed;
    p->passthrough = (behavior == SL_SCB_EVOLVE || behavior == SL_SCB_TRY_EVOLVE) && allowed == C_ALL;
    *out = p;
    return 0;
}

void sl_schema_policy_free(sl_schema_policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->ntables; i++) {
        for (size_t k = 0; k < p->tables[i].nfits; k++)
            free(p->tables[i].fits[k].src);
        free(p->tables[i].fits);
        free(p->tables[i].qualified);
    }
    free(p->tables);
    for (size_t i = 0; i < p->nowned; i++)
        sl_schema_free(p->owned[i]);
    free(p->owned);
    free(p);
}

static tstate *table(sl_schema_policy *p, const sl_table_schema *s, int *created)
{
    *created = 0;
    for (size_t i = 0; i < p->ntables; i++)
        if (strcmp(p->tables[i].qualified, s->qualified) == 0)
            return &p->tables[i];
    if (p->ntables == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        tstate *t = realloc(p->tables, cap * sizeof *t);
        if (!t)
            return NULL;
        p->tables = t;
        p->cap = cap;
    }
    tstate *t = &p->tables[p->ntables];
    memset(t, 0, sizeof *t);
    if (!(t->qualified = strdup(s->qualified)))
        return NULL;
    t->sink = t->last = s;
    p->ntables++;
    *created = 1;
    return t;
}

static int own(sl_schema_policy *p, sl_table_schema *s)
{
    if (p->nowned == p->capowned) {
        size_t cap = p->capowned ? p->capowned * 2 : 8;
        sl_table_schema **o = realloc(p->owned, cap * sizeof *o);
        if (!o)
            return -1;
        p->owned = o;
        p->capowned = cap;
    }
    p->owned[p->nowned++] = s;
    return 0;
}

static int same_type(const sl_column *a, const sl_column *b)
{
    return a->kind == b->kind && ((!a->type_name && !b->type_name) ||
                                  (a->type_name && b->type_name && strcmp(a->type_name, b->type_name) == 0));
}

/* column i of `from` was renamed in `to`: gone by name, and the column at
 * the same position is new, of the same type */
static int renamed_at(const sl_table_schema *from, const sl_table_schema *to, int i)
{
    return i < to->ncols && sl_schema_column_index(from, to->cols[i].name) < 0 &&
           sl_schema_column_index(to, from->cols[i].name) < 0 && same_type(&from->cols[i], &to->cols[i]);
}

/* the change types that turn `from` into `to` */
static int classify(const sl_table_schema *from, const sl_table_schema *to)
{
    int c = 0;
    for (int i = 0; i < from->ncols; i++) {
        int k = sl_schema_column_index(to, from->cols[i].name);
        if (k >= 0)
            c |= same_type(&from->cols[i], &to->cols[k]) ? 0 : C_ALTER_COLUMN_TYPE;
        else
            c |= renamed_at(from, to, i) ? C_RENAME_COLUMN : C_DROP_COLUMN;
    }
    for (int i = 0; i < to->ncols; i++)
        if (sl_schema_column_index(from, to->cols[i].name) < 0 && !(i < from->ncols && renamed_at(from, to, i)))
            c |= C_ADD_COLUMN;
    return c;
}

static int add_col(sl_table_schema *g, int *k, const sl_column *c, int nullable)
{
    if (sl_column_copy(&g->cols[*k], c, NULL))
        return -1;
    if (nullable)
        g->cols[*k].nullable = 1;
    (*k)++;
    return 0;
}

/* The next sink shape: the allowed parts of the change from `prev` (the
 * last input) to `in`, applied to `sink`. */
static sl_table_schema *next_sink(const sl_schema_policy *p, const sl_table_schema *sink,
                                  const sl_table_schema *prev, const sl_table_schema *in)
{
    int a = p->allowed, lenient = p->behavior == SL_SCB_LENIENT;
    sl_table_schema *g = sl_schema_new(in->db, in->schema, in->table, sink->ncols + in->ncols);
    if (!g)
        return NULL;
    g->version = sink->version + 1;
    int k = 0;
    for (int c = 0; c < sink->ncols; c++) {
        const sl_column *sc = &sink->cols[c];
        int i = sl_schema_column_index(in, sc->name);
        if (i >= 0) {
            int retype = !same_type(sc, &in->cols[i]) && (a & C_ALTER_COLUMN_TYPE);
            if (add_col(g, &k, retype ? &in->cols[i] : sc, 0))
                goto oom;
            continue;
        }
        int pi = sl_schema_column_index(prev, sc->name);
        int renamed = pi >= 0 && renamed_at(prev, in, pi);
        if (renamed && (a & C_RENAME_COLUMN) && !lenient) {
            /* renamed: takes the new name in place */
            if (sl_column_copy(&g->cols[k], sc, in->cols[pi].name))
                goto oom;
            k++;
            continue;
        }
        if (!renamed && (a & C_DROP_COLUMN) && !lenient)
            continue;
        /* kept: NULL from now on */
        if (add_col(g, &k, sc, 1))
            goto oom;
    }
    for (int i = 0; i < in->ncols; i++) {
        if (sl_schema_column_index(g, in->cols[i].name) >= 0)
            continue;
        int renamed = i < prev->ncols && renamed_at(prev, in, i) && sl_schema_column_index(sink, prev->cols[i].name) >= 0;
        int ok = renamed ? (a & C_RENAME_COLUMN) : (a & C_ADD_COLUMN);
        if (ok && add_col(g, &k, &in->cols[i], 1))
            goto oom;
    }
    g->ncols = k;
    for (int i = 0; i < in->npk; i++) {
        int c = sl_schema_column_index(g, in->cols[in->pk[i]].name);
        if (c < 0) {
            g->npk = 0;
            break;
        }
        g->cols[c].is_pk = 1;
        g->pk[g->npk++] = c;
    }
    return g;
oom:
    g->ncols = k;
    sl_schema_free(g);
    return NULL;
}

static const fit *fit_for(tstate *t, const sl_table_schema *in, sl_err *err, int *rc)
{
    for (size_t i = 0; i < t->nfits; i++)
        if (t->fits[i].in == in && t->fits[i].to == t->sink)
            return &t->fits[i];
    fit *f = realloc(t->fits, (t->nfits + 1) * sizeof *f);
    if (!f) {
        *rc = sl_errf(err, SL_ERUNTIME, "out of memory");
        return NULL;
    }
    t->fits = f;
    fit *x = &t->fits[t->nfits];
    x->in = in;
    x->to = t->sink;
    x->src = malloc((size_t)(t->sink->ncols ? t->sink->ncols : 1) * sizeof *x->src);
    if (!x->src) {
        *rc = sl_errf(err, SL_ERUNTIME, "out of memory");
        return NULL;
    }
    for (int c = 0; c < t->sink->ncols; c++)
        x->src[c] = sl_schema_column_index(in, t->sink->cols[c].name);
    t->nfits++;
    return x;
}

static const sl_value *refit(sl_batch *b, const fit *f, const sl_value *row)
{
    if (!row)
        return NULL;
    sl_value *o = sl_batch_row(b, f->to->ncols);
    if (o)
        for (int c = 0; c < f->to->ncols; c++)
            o[c] = f->src[c] >= 0 ? row[f->src[c]] : sl_val_null();
    return o;
}

int sl_schema_policy_apply(sl_schema_policy *p, sl_batch *b, sl_err *err)
{
    if (p->passthrough)
        return 0;
    size_t dropped = 0, dropped_in_prefix = 0, idx = 0;
    b->tail = NULL;
    for (sl_event **link = &b->head; *link; idx++) {
        sl_event *e = *link;
        int created, rc = 0, keep = 1;
        tstate *t = table(p, e->schema, &created);
        if (!t)
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        if (created) {
            keep = e->op != SL_OP_SCHEMA || (p->allowed & C_CREATE_TABLE);
        } else if (e->schema != t->last && !sl_schema_same_shape(e->schema, t->last)) {
            int change = classify(t->last, e->schema);
            if (p->behavior == SL_SCB_EXCEPTION)
                return sl_errf(err, SL_ECONFIG,
                               "table %s changed its schema, which pipeline schema.change.behavior: exception does "
                               "not allow (use lenient, evolve or ignore to let changes through)",
                               e->schema->qualified);
            const sl_table_schema *sink = t->sink;
            if (change & p->allowed) {
                sl_table_schema *g = next_sink(p, t->sink, t->last, e->schema);
                if (!g || own(p, g)) {
                    sl_schema_free(g);
                    return sl_errf(err, SL_ERUNTIME, "out of memory");
                }
                if (!sl_schema_same_shape(g, t->sink))
                    t->sink = g;
            }
            t->last = e->schema;
            /* a change event goes on only when the sink's shape changed */
            if (e->op == SL_OP_SCHEMA && t->sink == sink)
                keep = 0;
        } else if (e->op == SL_OP_SCHEMA) {
            t->last = e->schema;
        }
        if (e->op == SL_OP_TRUNCATE && !(p->allowed & C_TRUNCATE_TABLE))
            keep = 0;
        if (!keep) {
            *link = e->next;
            dropped++;
            dropped_in_prefix += idx < b->commit_count;
            continue;
        }
        if (e->schema != t->sink) {
            const fit *f = fit_for(t, e->schema, err, &rc);
            if (!f)
                return rc;
            e->before = refit(b, f, e->before);
            e->after = refit(b, f, e->after);
            e->schema = t->sink;
        }
        b->tail = e;
        link = &e->next;
    }
    b->count -= dropped;
    b->commit_count -= dropped_in_prefix;
    return 0;
}
