/* metrics_http.h — the operator's HTTP endpoint of `sluice run`
 * (pipeline.metrics.address): GET /metrics (Prometheus text), /healthz
 * (the process answers) and /readyz (the pipeline says it is ready). One
 * thread serves one request at a time: scrapes are rare and small. */
#ifndef SL_METRICS_HTTP_H
#define SL_METRICS_HTTP_H

#include <stddef.h>

#include "../core/err.h"
#include "../core/metrics.h"

typedef struct sl_metrics_http sl_metrics_http;

/* 1 = ready; otherwise why (for the 503 body). Called on the server's
 * thread. */
typedef int (*sl_ready_fn)(void *ctx, char *why, size_t whylen);

/* Binds address ("host:port"; port 0 picks a free one, logged) and starts
 * the thread. SL_ECONFIG naming the option when the address is unusable. */
int sl_metrics_http_start(const char *address, const char *where, sl_metrics *m, sl_ready_fn ready, void *ctx,
                          sl_metrics_http **out, sl_err *err);
void sl_metrics_http_stop(sl_metrics_http *h);

#endif
