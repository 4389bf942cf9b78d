/* runtime.h — runs one pipeline: a source thread feeding a sink through
 * the byte-bounded queue, epochs, and checkpoints. */
#ifndef SL_RUNTIME_H
#define SL_RUNTIME_H

#include <signal.h>

#include "config.h"
#include "../core/err.h"

typedef struct sl_run_opts {
    int migrate;              /* one-shot: stop at follow_until */
    const char *follow_until; /* "now" or a source position */
    /* high availability (pipeline/ha/): asked before every commit; nonzero
     * means this process can no longer prove it leads its group, and the
     * open epoch is rolled back instead of committed (err says why) */
    int (*lease)(void *ctx, sl_err *err);
    void *lease_ctx;
    /* metrics endpoint kept across runs (the HA loop's, which also shows
     * the standby time); NULL: the run serves its own */
    struct sl_run_metrics *metrics;
} sl_run_opts;

typedef struct sl_table_stat {
    char *table;
    unsigned long long reads, inserts, updates, deletes;
} sl_table_stat;

typedef struct sl_run_stats {
    unsigned long long events, batches, commits;
    double seconds;
    sl_table_stat *tables;
    size_t ntables, cap;
} sl_run_stats;

void sl_run_stats_free(sl_run_stats *st);

int sl_pipeline_run(const sl_config *cfg, const sl_run_opts *ro, const volatile sig_atomic_t *stop,
                    sl_run_stats *stats, sl_err *err);

/* Builds {"version":1,"pipeline":..,"source":<token>,"source_identity":
 * <identity>,"committed_at_ms":..}; identity (a JSON object) may be NULL. */
char *sl_checkpoint_compose(const char *pipeline, const char *source_token, const char *identity);

/* A committed checkpoint taken apart; every field malloc'd, NULL if absent
 * (checkpoints of older versions carry no identity). */
typedef struct sl_checkpoint_info {
    char *token;    /* the source position (JSON text) */
    char *pipeline; /* the pipeline that committed it */
    char *identity; /* the source server it was read from (JSON object text) */
} sl_checkpoint_info;
int sl_checkpoint_parse(const char *checkpoint, sl_checkpoint_info *out, sl_err *err);
void sl_checkpoint_info_free(sl_checkpoint_info *info);
/* Extracts the source token (JSON text, malloc'd) from a checkpoint. */
int sl_checkpoint_source(const char *checkpoint, char **token, sl_err *err);

#endif
