/* metrics.h — a small registry of Prometheus metrics (counters, gauges,
 * histograms with labels) and its text exposition.
 *
 * One registry belongs to one `sluice run` and is handed to whoever
 * measures (the runtime, the snapshot, a sink's metrics() hook) as a
 * pointer; a NULL registry (pipeline.metrics.address unset) makes every
 * call a no-op, so measuring code needs no "is it on" test. Every call is
 * thread-safe (one mutex: updates are a few per batch, not per event).
 * Labels are given as pairs and escaped here. */
#ifndef SL_METRICS_H
#define SL_METRICS_H

#include <stddef.h>

typedef enum { SL_METRIC_COUNTER, SL_METRIC_GAUGE, SL_METRIC_HISTOGRAM } sl_metric_type;

typedef struct sl_metrics sl_metrics;

sl_metrics *sl_metrics_new(void);
void sl_metrics_free(sl_metrics *m);

/* Declares a family (once; later calls change nothing). A histogram gets
 * its upper bounds here (ascending, +Inf implied). */
void sl_metrics_declare(sl_metrics *m, const char *name, sl_metric_type type, const char *help,
                        const double *bounds, size_t nbounds);

/* labels: NULL-terminated name, value, name, value, ... (NULL for none).
 * The family must have been declared. */
void sl_metrics_set(sl_metrics *m, const char *name, const char *const *labels, double v);
void sl_metrics_add(sl_metrics *m, const char *name, const char *const *labels, double v);
void sl_metrics_observe(sl_metrics *m, const char *name, const char *const *labels, double v);

/* Called with the registry unlocked right before each rendering, to set
 * what is computed from the clock (ages, lag in seconds, RSS). */
void sl_metrics_on_render(sl_metrics *m, void (*fn)(void *ctx, sl_metrics *m), void *ctx);

/* The text exposition format (version 0.0.4); malloc'd, NULL on OOM. */
char *sl_metrics_render(sl_metrics *m, size_t *len);

#endif
