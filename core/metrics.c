/* metrics.c — the registry of metrics.h: families in declaration order,
 * series in first-seen order, rendered as Prometheus text. */
#include "metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

typedef struct series {
    struct series *next;
    char *labels; /* rendered: a="x",b="y" (may be empty) */
    double value; /* counter, gauge; histogram: sum */
    unsigned long long count;
    unsigned long long *buckets; /* histogram: cumulative at render */
} series;

typedef struct family {
    struct family *next;
    char *name, *help;
    sl_metric_type type;
    double *bounds;
    size_t nbounds;
    series *first, *last;
} family;

struct sl_metrics {
    pthread_mutex_t mu;
    family *first, *last;
    void (*on_render)(void *ctx, sl_metrics *m);
    void *render_ctx;
};

sl_metrics *sl_metrics_new(void)
{
    sl_metrics *m = calloc(1, sizeof *m);
    if (m)
        pthread_mutex_init(&m->mu, NULL);
    return m;
}

void sl_metrics_free(sl_metrics *m)
{
    if (!m)
        return;
    for (family *f = m->first, *fn; f; f = fn) {
        fn = f->next;
        for (series *s = f->first, *sn; s; s = sn) {
            sn = s->next;
            free(s->labels);
            free(s->buckets);
            free(s);
        }
        free(f->name);
        free(f->help);
        free(f->bounds);
        free(f);
    }
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static family *find_family(sl_metrics *m, const char *name)
{
    for (family *f = m->first; f; f = f->next)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

void sl_metrics_declare(sl_metrics *m, const char *name, sl_metric_type type, const char *help,
                        const double *bounds, size_t nbounds)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    if (!find_family(m, name)) {
        family *f = calloc(1, sizeof *f);
        if (f && (f->name = strdup(name)) && (f->help = strdup(help)) &&
            (!nbounds || (f->bounds = malloc(nbounds * sizeof *bounds)))) {
            f->type = type;
            if (nbounds)
                memcpy(f->bounds, bounds, nbounds * sizeof *bounds);
            f->nbounds = nbounds;
            if (m->last)
                m->last->next = f;
            else
                m->first = f;
            m->last = f;
        } else if (f) {
            free(f->name);
            free(f->help);
            free(f);
        }
    }
    pthread_mutex_unlock(&m->mu);
}

/* label values escaped as the exposition format wants: \\, \", \n */
static void render_labels(sl_buf *b, const char *const *labels)
{
    for (size_t i = 0; labels && labels[i] && labels[i + 1]; i += 2) {
        if (i)
            sl_buf_addc(b, ',');
        sl_buf_printf(b, "%s=\"", labels[i]);
        for (const char *p = labels[i + 1]; *p; p++) {
            if (*p == '\\' || *p == '"')
                sl_buf_addc(b, '\\');
            if (*p == '\n')
                sl_buf_add(b, "\\n", 2);
            else
                sl_buf_addc(b, *p);
        }
        sl_buf_addc(b, '"');
    }
    sl_buf_addc(b, 0);
}

/* the series of a family with these labels, created on first use; called
 * with the lock held */
static series *find_series(family *f, const char *const *labels)
{
    sl_buf b;
    sl_buf_init(&b);
    render_labels(&b, labels);
    if (b.failed) {
        sl_buf_free(&b);
        return NULL;
    }
    for (series *s = f->first; s; s = s->next)
        if (strcmp(s->labels, b.data) == 0) {
            sl_buf_free(&b);
            return s;
        }
    series *s = calloc(1, sizeof *s);
    if (!s || (f->type == SL_METRIC_HISTOGRAM && !(s->buckets = calloc(f->nbounds + 1, sizeof *s->buckets)))) {
        free(s);
        sl_buf_free(&b);
        return NULL;
    }
    s->labels = b.data; /* the buffer's memory becomes the series' */
    if (f->last)
        f->last->next = s;
    else
        f->first = s;
    f->last = s;
    return s;
}

static void update(sl_metrics *m, const char *name, const char *const *labels, double v, int how)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    family *f = find_family(m, name);
    series *s = f ? find_series(f, labels) : NULL;
    if (s) {
        if (how == 0) {
            s->value = v;
        } else if (how == 1) {
            s->value += v;
        } else {
            s->value += v;
            s->count++;
            size_t i = 0;
            while (i < f->nbounds && v > f->bounds[i])
                i++;
            s->buckets[i]++;
        }
    }
    pthread_mutex_unlock(&m->mu);
}

void sl_metrics_set(sl_metrics *m, const char *name, const char *const *labels, double v) { update(m, name, labels, v, 0); }
void sl_metrics_add(sl_metrics *m, const char *name, const char *const *labels, double v) { update(m, name, labels, v, 1); }
void sl_metrics_observe(sl_metrics *m, const char *name, const char *const *labels, double v)
{
    update(m, name, labels, v, 2);
}

void sl_metrics_on_render(sl_metrics *m, void (*fn)(void *ctx, sl_metrics *m), void *ctx)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    m->on_render = fn;
    m->render_ctx = ctx;
    pthread_mutex_unlock(&m->mu);
}

static void value(sl_buf *b, double v)
{
    if (isnan(v))
        sl_buf_printf(b, "NaN");
    else if (isinf(v))
        sl_buf_printf(b, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 9e15)
        sl_buf_printf(b, "%.0f", v);
    else
        sl_buf_printf(b, "%.17g", v);
}

/* name{labels,extra} or name{extra} or name */
static void series_name(sl_buf *b, const char *name, const char *suffix, const char *labels, const char *extra)
{
    sl_buf_printf(b, "%s%s", name, suffix);
    if (*labels || extra) {
        sl_buf_printf(b, "{%s%s%s}", labels, *labels && extra ? "," : "", extra ? extra : "");
    }
    sl_buf_addc(b, ' ');
}

char *sl_metrics_render(sl_metrics *m, size_t *len)
{
    pthread_mutex_lock(&m->mu);
    void (*fn)(void *, sl_metrics *) = m->on_render;
    void *ctx = m->render_ctx;
    pthread_mutex_unlock(&m->mu);
    if (fn)
        fn(ctx, m);
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    sl_buf b;
    sl_buf_init(&b);
    pthread_mutex_lock(&m->mu);
    for (family *f = m->first; f; f = f->next) {
        if (!f->first)
            continue;
        sl_buf_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, type_names[f->type]);
        for (series *s = f->first; s; s = s->next) {
            if (f->type != SL_METRIC_HISTOGRAM) {
                series_name(&b, f->name, "", s->labels, NULL);
                value(&b, s->value);
                sl_buf_addc(&b, '\n');
                continue;
            }
            unsigned long long cum = 0;
            for (size_t i = 0; i <= f->nbounds; i++) {
                char le[48];
                cum += s->buckets[i];
                if (i < f->nbounds)
                    snprintf(le, sizeof le, "le=\"%g\"", f->bounds[i]);
                else
                    snprintf(le, sizeof le, "le=\"+Inf\"");
                series_name(&b, f->name, "_bucket", s->labels, le);
                sl_buf_printf(&b, "%llu\n", cum);
            }
            series_name(&b, f->name, "_sum", s->labels, NULL);
            value(&b, s->value);
            sl_buf_addc(&b, '\n');
            series_name(&b, f->name, "_count", s->labels, NULL);
            sl_buf_printf(&b, "%llu\n", s->count);
        }
    }
    pthread_mutex_unlock(&m->mu);
    sl_buf_addc(&b, 0);
    if (b.failed) {
        sl_buf_free(&b);
        return NULL;
    }
    *len = b.len - 1;
    return b.data;
}
