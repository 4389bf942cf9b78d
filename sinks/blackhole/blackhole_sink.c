/* blackhole_sink.c — the `blackhole` sink: counts and discards.
 *
 * The ceiling for benchmarks: everything the pipeline does except the
 * sink's own work. Optionally renders each event as JSON first, so the
 * encoding cost can be measured without any I/O. Checkpoints are kept in
 * memory only, so every run starts from the configured startup mode.
 */
#define SL_LOG_COMPONENT "blackhole sink"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/envelope.h"
#include "../../core/log.h"
#include "../sink.h"

static const sl_option_def options[] = {
    {"render", SL_OPT_BOOL, "false", 0, 0, 0, NULL,
     "Render each event as Debezium JSON before discarding it (measures encoding cost)."},
    SL_ENVELOPE_OPTIONS,
    SL_OPTION_END,
};

typedef struct blackhole {
    int render;
    unsigned long long events, bytes, commits;
    sl_buf buf;
    sl_envelope_opts env;
} blackhole;

static int bh_create(const sl_options *o, const sl_sink_env *env, void **self, sl_err *err)
{
    blackhole *b = calloc(1, sizeof *b);
    if (!b)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    b->render = (int)sl_opt_num(o, "render");
    b->env.connector = env->source_connector;
    b->env.name = env->pipeline_name;
    sl_value_modes_from(o, env->source_connector, &b->env.modes);
    sl_buf_init(&b->buf);
    *self = b;
    return 0;
}

static int bh_load(void *self, char **out, sl_err *err)
{
    *out = NULL;
    return 0;
}

static int bh_write(void *self, const sl_batch *batch, sl_err *err)
{
    blackhole *b = self;
    for (const sl_event *e = batch->head; e; e = e->next) {
        if (e->op == SL_OP_SCHEMA)
            continue;
        b->events++;
        if (b->render) {
            sl_buf_reset(&b->buf);
            sl_json_envelope(&b->buf, e, &b->env, 0);
            b->bytes += b->buf.len;
        }
    }
    return 0;
}

static int bh_commit(void *self, const char *checkpoint, sl_err *err)
{
    ((blackhole *)self)->commits++;
    return 0;
}

static int bh_abort(void *self, sl_err *err) { return 0; }

static void bh_destroy(void *self)
{
    blackhole *b = self;
    if (!b)
        return;
    sl_info("%llu events, %llu commits%s", b->events, b->commits,
            b->render ? "" : " (not rendered)");
    sl_buf_free(&b->buf);
    free(b);
}

const sl_sink_plugin sl_sink_blackhole = {
    .name = "blackhole",
    .description = "Counts and discards events (benchmarks)",
    .options = options,
    .guarantee = SL_GUARANTEE_NONE,
    /* it stands in for any sink, so it takes partition-keys and table-options (and ignores them) */
    .table_hints = 1,
    .create = bh_create,
    .load_checkpoint = bh_load,
    .write = bh_write,
    .commit = bh_commit,
    .abort = bh_abort,
    .destroy = bh_destroy,
};
