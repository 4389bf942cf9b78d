/* ch_checkpoint.c — the sluice_checkpoints table in the sink's database.
 *
 * ReplacingMergeTree(seq) ORDER BY (pipeline, kind): per pipeline one
 * 'checkpoint' row (the committed checkpoint, written after the epoch's
 * data) and one 'intent' row (written at the end of an epoch before its
 * last blocks: where this run cut its blocks since the checkpoint, so that
 * a replay after a crash cuts at the same places and its blocks carry the
 * same deduplication tokens). seq grows with every row this pipeline
 * writes; reading with FINAL gives the newest of each kind.
 */
#define SL_LOG_COMPONENT "clickhouse sink"

#include <stdlib.h>
#include <string.h>

#include "../../core/clock.h"
#include "../../core/log.h"
#include "ch_sink.h"

static void table_ref(const ch_sink *k, sl_buf *b)
{
    ch_quote_ident(b, k->database);
    sl_buf_addc(b, '.');
    ch_quote_ident(b, k->ckpt_table);
}

int ch_checkpoint_ensure(ch_sink *k, sl_err *err)
{
    sl_buf *q = &k->sql;
    sl_buf_reset(q);
    sl_buf_adds(q, "CREATE DATABASE IF NOT EXISTS ");
    ch_quote_ident(q, k->database);
    ch_on_cluster(k, q);
    sl_buf_addc(q, 0);
    int rc = ch_http_query(&k->http, q->data, NULL, NULL, 0, k->http.retry_timeout_ms, err);
    if (rc)
        return sl_err_prefix(err, rc, SL_LOG_PREFIX "creating database %s: ", k->database);
    sl_buf_reset(q);
    sl_buf_adds(q, "CREATE TABLE IF NOT EXISTS ");
    table_ref(k, q);
    ch_on_cluster(k, q);
    sl_buf_adds(q, " (pipeline String, kind LowCardinality(String), seq UInt64, checkpoint String, "
                   "written_at DateTime64(3, 'UTC')) ENGINE = ");
    const char *open = strchr(k->engine, '(');
    const char *close = open ? strrchr(k->engine, ')') : NULL;
    if (open && close) {
        sl_buf_add(q, k->engine, (size_t)(close - k->engine));
        const char *a = open + 1;
        while (a < close && *a == ' ')
            a++;
        sl_buf_adds(q, a < close ? ", seq)" : "seq)");
    } else {
        sl_buf_adds(q, k->engine);
        sl_buf_adds(q, "(seq)");
    }
    sl_buf_adds(q, " ORDER BY (pipeline, kind) COMMENT 'sluice: the committed checkpoint of each pipeline "
                   "(kind checkpoint) and where its open epoch cut its blocks (kind intent); the newest seq wins'");
    sl_buf_addc(q, 0);
    if ((rc = ch_http_query(&k->http, q->data, NULL, NULL, 0, k->http.retry_timeout_ms, err)))
        return sl_err_prefix(err, rc, SL_LOG_PREFIX "creating the checkpoint table %s.%s: ", k->database, k->ckpt_table);
    return 0;
}

static int load_cuts(ch_sink *k, const char *text)
{
    json_error_t je;
    json_t *root = json_loads(text, 0, &je);
    json_t *base = json_object_get(root, "base");
    json_t *cuts = json_object_get(root, "cuts");
    if (!json_is_integer(base) || (uint64_t)json_integer_value(base) != k->base_seq || !json_is_array(cuts)) {
        json_decref(root);
        return 0; /* an intent of an epoch that committed, or of another start */
    }
    size_t n = json_array_size(cuts);
    k->replay = calloc(n ? n : 1, sizeof *k->replay);
    if (!k->replay) {
        json_decref(root);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(cuts, i);
        const char *pos = json_string_value(json_array_get(c, 1));
        ch_cut *cut = &k->replay[k->nreplay];
        if (!json_is_integer(json_array_get(c, 0)) || !pos || ch_pos_parse(pos, &cut->pos))
            continue;
        cut->ordinal = (uint64_t)json_integer_value(json_array_get(c, 0));
        k->nreplay++;
    }
    json_decref(root);
    if (k->nreplay)
        sl_info("the last run ended inside an epoch after %zu block cut(s); the replay cuts at the same "
                "events so its blocks are deduplicated",
                k->nreplay);
    return 0;
}

int ch_checkpoint_exists(ch_sink *k, int *present, sl_err *err)
{
    *present = 0;
    sl_buf *q = &k->sql;
    sl_buf_reset(q);
    sl_buf_adds(q, "SELECT count() AS n FROM system.tables WHERE database = ");
    ch_quote_string(q, k->database, strlen(k->database));
    sl_buf_adds(q, " AND name = ");
    ch_quote_string(q, k->ckpt_table, strlen(k->ckpt_table));
    sl_buf_adds(q, " FORMAT JSONEachRow");
    sl_buf_addc(q, 0);
    json_t *rows;
    int rc = ch_query_rows(k, q->data, &rows, err);
    if (rc)
        return sl_err_prefix(err, rc, SL_LOG_PREFIX "looking for the checkpoint table %s.%s: ", k->database,
                             k->ckpt_table);
    *present = ch_json_count_positive(json_object_get(json_array_get(rows, 0), "n"));
    json_decref(rows);
    return 0;
}

int ch_checkpoint_load(ch_sink *k, char **out, sl_err *err)
{
    *out = NULL;
    if (k->read_only) {
        /* `sluice status` creates nothing: no table, no checkpoint */
        int present, rc = ch_checkpoint_exists(k, &present, err);
        if (rc || !present)
            return rc;
    }
    sl_buf *q = &k->sql;
    sl_buf_reset(q);
    sl_buf_adds(q, "SELECT kind, toString(seq) AS seq, checkpoint FROM ");
    table_ref(k, q);
    sl_buf_adds(q, " FINAL WHERE pipeline = ");
    ch_quote_string(q, k->pipeline, strlen(k->pipeline));
    sl_buf_adds(q, " FORMAT JSONEachRow");
    sl_buf_addc(q, 0);
    json_t *rows;
    int rc = ch_query_rows(k, q->data, &rows, err);
    if (rc)
        return sl_err_prefix(err, rc, SL_LOG_PREFIX "reading the checkpoint of pipeline %s: ", k->pipeline);
    const char *intent = NULL;
    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *r = json_array_get(rows, i);
        const char *kind = json_string_value(json_object_get(r, "kind"));
        const char *seq = json_string_value(json_object_get(r, "seq"));
        const char *text = json_string_value(json_object_get(r, "checkpoint"));
        if (!kind || !seq || !text)
            continue;
        uint64_t s = strtoull(seq, NULL, 10);
        if (s > k->seq)
            k->seq = s;
        if (strcmp(kind, "checkpoint") == 0) {
            free(*out);
            *out = strdup(text);
            k->base_seq = s;
            if (!*out)
                rc = sl_errf(err, SL_ERUNTIME, "out of memory");
        } else if (strcmp(kind, "intent") == 0) {
            intent = text;
        }
    }
    if (!rc && intent && load_cuts(k, intent))
        rc = sl_errf(err, SL_ERUNTIME, "out of memory");
    json_decref(rows);
    if (rc) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

int ch_checkpoint_write(ch_sink *k, const char *kind, const char *text, sl_err *err)
{
    sl_buf *q = &k->sql;
    sl_buf_reset(q);
    sl_buf_adds(q, "INSERT INTO ");
    table_ref(k, q);
    sl_buf_adds(q, " (pipeline, kind, seq, checkpoint, written_at) SETTINGS async_insert = 0, "
                   "insert_deduplicate = 0 FORMAT RowBinary");
    sl_buf_addc(q, 0);
    sl_buf *r = &k->row;
    sl_buf_reset(r);
    uint64_t seq = k->seq + 1;
    ch_rb_string(r, k->pipeline, strlen(k->pipeline));
    ch_rb_string(r, kind, strlen(kind));
    ch_rb_u128(r, 0, seq);
    r->len -= 8; /* UInt64: the low half */
    ch_rb_string(r, text, strlen(text));
    int64_t ms = sl_wall_ms();
    for (int i = 0; i < 8; i++)
        sl_buf_addc(r, (char)((uint64_t)ms >> (8 * i)));
    if (q->failed || r->failed)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    int rc = ch_http_query(&k->http, q->data, NULL, r->data, r->len, k->http.retry_timeout_ms, err);
    if (rc)
        return sl_err_prefix(err, rc, SL_LOG_PREFIX "writing the %s of pipeline %s: ", kind, k->pipeline);
    k->seq = seq;
    return 0;
}
