/* run_metrics.h — what `sluice run` measures for the operator and serves
 * on pipeline.metrics.address: events by table and op, positions and lag,
 * checkpoints, retries, the queue, the process; readiness for /readyz.
 *
 * The runtime thread reports what happens (batches, commits, aborts,
 * retries, whether anything is pending); a probe thread asks the source
 * for the server's head once a second; values that depend on the clock
 * (lag in seconds, checkpoint age) are computed when scraped, so they
 * keep moving while the runtime thread is blocked in a stalled sink.
 * Every function accepts NULL (metrics off) and does nothing. */
#ifndef SL_RUN_METRICS_H
#define SL_RUN_METRICS_H

#include "config.h"
#include "../core/emitter.h"
#include "../core/err.h"
#include "../core/metrics.h"

typedef struct sl_run_metrics sl_run_metrics;

/* NULL in *out when pipeline.metrics.address is unset. */
int sl_run_metrics_start(const sl_config *cfg, sl_run_metrics **out, sl_err *err);
void sl_run_metrics_stop(sl_run_metrics *rm);
sl_metrics *sl_run_metrics_registry(sl_run_metrics *rm);

/* An attempt (run_once) begins with its source running / ends. Starts and
 * joins the probe thread. committed: the resumed token or NULL. */
void sl_run_metrics_attempt(sl_run_metrics *rm, const sl_source_plugin *src, void *src_self, sl_emitter *emitter,
                            const char *committed);
void sl_run_metrics_attempt_end(sl_run_metrics *rm);
/* High availability: this process's role ("active", "standby", or NULL
 * once it leaves the group) and why it changed. A standby is not ready
 * (/readyz says why): it writes nothing until it leads. */
void sl_run_metrics_role(sl_run_metrics *rm, const char *role, const char *why);

void sl_run_metrics_batch(sl_run_metrics *rm, const sl_batch *b);
void sl_run_metrics_commit(sl_run_metrics *rm, const char *token, double seconds);
void sl_run_metrics_abort(sl_run_metrics *rm);
void sl_run_metrics_retry(sl_run_metrics *rm, const char *cause);
/* Once per loop of the runtime thread: nothing written is uncommitted
 * (sink_clean) and the queue's fill. */
void sl_run_metrics_tick(sl_run_metrics *rm, int sink_clean, size_t queue_bytes, const sl_sink_plugin *sink,
                         void *sink_self);

#endif
