/* schema_policy.c — schema.change.behavior between transform and sink (see
 * schema_policy.h). Per table it remembers the sink shape and, for every
 * input shape met, which input column feeds each sink column; rows are
 * fitted into the batch's arena. Every sink shape it built stays alive
 * until the pipeline ends, because sinks and batches in flight refer to
 * them, as to the sources' own schema versions. */
#include "schema_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fit {
    const sl_table_schema *in;
    const sl_table_schema *to;
    int *src; /* sink column -> input column, -1 for NULL */
} fit;

typedef struct tstate {
    char *qualified;
    const sl_table_schema *sink; /* the shape the sink has */
    fit *fits;
    size_t nfits;
} tstate;

struct sl_schema_policy {
    int behavior;
    tstate *tables;
    size_t ntables, cap;
    sl_table_schema **owned; /* grown shapes (lenient) */
    size_t nowned, capowned;
};

int sl_schema_policy_new(int behavior, sl_schema_policy **out, sl_err *err)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    (*out)->behavior = behavior;
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

int sl_schema_policy_passthrough(const sl_schema_policy *p)
{
    return p->behavior == SL_SCB_EVOLVE || p->behavior == SL_SCB_TRY_EVOLVE;
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
    t->sink = s;
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

/* lenient: the sink shape grown by the columns of s */
static sl_table_schema *grow(const sl_table_schema *sink, const sl_table_schema *s)
{
    int n = sink->ncols;
    for (int c = 0; c < s->ncols; c++)
        if (sl_schema_column_index(sink, s->cols[c].name) < 0)
            n++;
    sl_table_schema *g = sl_schema_new(s->db, s->schema, s->table, n);
    if (!g)
        return NULL;
    g->version = sink->version + 1;
    int k = 0;
    for (int c = 0; c < sink->ncols; c++, k++) {
        /* a column still there takes its new type; a dropped one stays, nullable */
        int in = sl_schema_column_index(s, sink->cols[c].name);
        if (sl_column_copy(&g->cols[k], in >= 0 ? &s->cols[in] : &sink->cols[c], sink->cols[c].name)) {
            sl_schema_free(g);
            return NULL;
        }
        if (in < 0)
            g->cols[k].nullable = 1;
    }
    for (int c = 0; c < s->ncols; c++) {
        if (sl_schema_column_index(sink, s->cols[c].name) >= 0)
            continue;
        if (sl_column_copy(&g->cols[k], &s->cols[c], NULL)) {
            sl_schema_free(g);
            return NULL;
        }
        g->cols[k++].nullable = 1;
    }
    /* the key as the input declares it, when its columns are all there */
    for (int i = 0; i < s->npk; i++) {
        int c = sl_schema_column_index(g, s->cols[s->pk[i]].name);
        g->cols[c].is_pk = 1;
        g->pk[g->npk++] = c;
    }
    return g;
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
    if (sl_schema_policy_passthrough(p))
        return 0;
    size_t dropped = 0, dropped_in_prefix = 0, idx = 0;
    b->tail = NULL;
    for (sl_event **link = &b->head; *link; idx++) {
        sl_event *e = *link;
        int created, rc = 0;
        tstate *t = table(p, e->schema, &created);
        if (!t)
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        int changed = !created && e->schema != t->sink && !sl_schema_same_shape(e->schema, t->sink);
        if (changed && p->behavior == SL_SCB_EXCEPTION)
            return sl_errf(err, SL_ECONFIG,
                           "table %s changed its schema, which pipeline schema.change.behavior: exception does not "
                           "allow (use lenient, evolve or ignore to let changes through)",
                           e->schema->qualified);
        int grown = 0;
        if (changed && p->behavior == SL_SCB_LENIENT) {
            sl_table_schema *g = grow(t->sink, e->schema);
            if (!g || own(p, g)) {
                sl_schema_free(g);
                return sl_errf(err, SL_ERUNTIME, "out of memory");
            }
            grown = !sl_schema_same_shape(g, t->sink);
            t->sink = g;
        }
        if (e->op == SL_OP_SCHEMA && changed) {
            if (grown) {
                /* the sink hears of its grown shape */
                e->schema = t->sink;
                b->tail = e;
                link = &e->next;
                continue;
            }
            *link = e->next;
            dropped++;
            dropped_in_prefix += idx < b->commit_count;
            continue;
        }
        if (e->schema != t->sink && !created) {
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
