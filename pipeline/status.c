/* status.c — see status.h. The checkpoint comes from the sink
 * (load_checkpoint with env.read_only), its age from the committed_at_ms
 * the runtime writes into every checkpoint, the server's head and the lag
 * in bytes from the source's probe(), snapshot progress from the split
 * state in the checkpoint's token. A source that cannot be asked is
 * reported, not fatal: the checkpoint is the answer that matters. */
#include "status.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/clock.h"
#include "../core/log.h"
#include "registry.h"
#include "runtime.h"

static void iso_time(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* the source's head and the lag in bytes, into report["source"] */
static json_t *probe_source(const sl_config *cfg, const char *token)
{
    const sl_source_plugin *src = cfg->source_plugin;
    json_t *o = json_pack("{s:s}", "type", src->name);
    if (!src->probe) {
        json_object_set_new(o, "error", json_string("this source cannot report its server's head"));
        return o;
    }
    sl_err err;
    void *self = NULL;
    sl_source_env env = {.pipeline_name = sl_opt_str(&cfg->pipeline, "name"), .pipeline = &cfg->pipeline};
    sl_source_probe p = {.head_bytes = -1, .committed_bytes = -1};
    int rc = src->create(&cfg->source, &env, &self, &err);
    if (!rc)
        rc = src->probe(self, token, &p, &err);
    if (self)
        src->destroy(self);
    if (rc) {
        json_object_set_new(o, "error", json_string(err.msg));
        return o;
    }
    json_error_t je;
    json_t *head = json_loads(p.head, 0, &je);
    json_object_set_new(o, "head", head ? head : json_string(p.head));
    if (p.head_bytes >= 0)
        json_object_set_new(o, "head_bytes", json_integer(p.head_bytes));
    if (p.committed_bytes >= 0)
        json_object_set_new(o, "committed_bytes", json_integer(p.committed_bytes));
    if (p.head_bytes >= 0 && p.committed_bytes >= 0)
        json_object_set_new(o, "lag_bytes",
                            json_integer(p.head_bytes > p.committed_bytes ? p.head_bytes - p.committed_bytes : 0));
    return o;
}

/* the snapshot's split state of the token, as [{table, done, chunks_done, rows}] */
static json_t *snapshot_progress(json_t *token)
{
    json_t *tables = json_object_get(json_object_get(token, "snapshot"), "tables");
    if (!json_is_array(tables))
        return json_null();
    json_t *out = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(tables, i, t) {
        /* a finished table is recorded by name alone */
        json_t *o = json_pack("{s:O, s:b}", "table", json_object_get(t, "t"), "done",
                              json_is_true(json_object_get(t, "done")));
        json_t *chunks = json_object_get(t, "chunks"), *rows = json_object_get(t, "rows");
        if (json_is_integer(chunks))
            json_object_set(o, "chunks_done", chunks);
        if (json_is_integer(rows))
            json_object_set(o, "rows", rows);
        json_array_append_new(out, o);
    }
    return out;
}

static void print_text(FILE *out, const char *name, const char *ck, json_t *r)
{
    if (!ck) {
        fprintf(out, "pipeline %s: no checkpoint committed yet\n", name);
    } else {
        fprintf(out, "pipeline %s: last checkpoint %s\n", name, ck);
        json_t *c = json_object_get(r, "checkpoint");
        const char *at = json_string_value(json_object_get(c, "committed_at"));
        if (at)
            fprintf(out, "  committed %s, %.1fs ago\n", at, json_real_value(json_object_get(c, "age_seconds")));
    }
    json_t *src = json_object_get(r, "source");
    const char *e = json_string_value(json_object_get(src, "error"));
    if (e) {
        fprintf(out, "  source head: unknown (%s)\n", e);
    } else {
        char *head = json_dumps(json_object_get(src, "head"), JSON_COMPACT | JSON_ENCODE_ANY);
        json_t *lag = json_object_get(src, "lag_bytes");
        if (lag)
            fprintf(out, "  source head %s, %lld bytes behind\n", head ? head : "?",
                    (long long)json_integer_value(lag));
        else
            fprintf(out, "  source head %s\n", head ? head : "?");
        free(head);
    }
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(r, "snapshot"), i, t) {
        const char *table = json_string_value(json_object_get(t, "table"));
        if (json_is_true(json_object_get(t, "done")))
            fprintf(out, "  snapshot %s: done\n", table);
        else
            fprintf(out, "  snapshot %s: in progress, %lld chunks done, %lld rows\n", table,
                    (long long)json_integer_value(json_object_get(t, "chunks_done")),
                    (long long)json_integer_value(json_object_get(t, "rows")));
    }
}

int sl_status(const sl_config *cfg, int json, const json_t *ha, FILE *out)
{
    const char *name = sl_opt_str(&cfg->pipeline, "name");
    sl_err err;
    void *self = NULL;
    char *ck = NULL;
    sl_sink_env env = {.pipeline_name = name, .pipeline = &cfg->pipeline,
                       .source_connector = sl_source_envelope_name(cfg->source_plugin), .read_only = 1};
    int rc = cfg->sink_plugin->create(&cfg->sink, &env, &self, &err);
    if (!rc)
        rc = cfg->sink_plugin->load_checkpoint(self, &ck, &err);
    if (self)
        cfg->sink_plugin->destroy(self);
    if (rc) {
        sl_error("%s", err.msg);
        return rc == SL_ECONFIG ? 2 : 1;
    }
    json_t *r = json_pack("{s:s, s:s}", "pipeline", name, "sink", cfg->sink_plugin->name);
    json_t *root = ck ? json_loads(ck, 0, NULL) : NULL;
    json_t *token = json_object_get(root, "source");
    char *token_text = token ? json_dumps(token, JSON_COMPACT) : NULL;
    if (root) {
        json_t *c = json_pack("{s:O}", "position", token ? token : json_null());
        json_t *at = json_object_get(root, "committed_at_ms");
        if (json_is_integer(at)) {
            char iso[80];
            int64_t ms = (int64_t)json_integer_value(at);
            iso_time(ms, iso, sizeof iso);
            json_object_set_new(c, "committed_at", json_string(iso));
            json_object_set_new(c, "age_seconds", json_real((double)(sl_wall_ms() - ms) / 1000.0));
        }
        json_object_set_new(r, "checkpoint", c);
    } else {
        json_object_set_new(r, "checkpoint", json_null());
    }
    json_object_set_new(r, "source", probe_source(cfg, token_text));
    json_object_set_new(r, "snapshot", snapshot_progress(token));
    if (ha)
        json_object_set(r, "ha", (json_t *)ha);
    if (json) {
        char *text = json_dumps(r, JSON_COMPACT);
        fprintf(out, "%s\n", text ? text : "{}");
        free(text);
    } else {
        print_text(out, name, ck, r);
    }
    free(token_text);
    json_decref(root);
    json_decref(r);
    free(ck);
    return 0;
}
