/* kafka_sink.c — the `kafka` sink: Debezium-compatible change events,
 * exactly once.
 *
 * Exactly-once: one producer transaction per checkpoint epoch. The epoch's
 * change events and the pipeline's checkpoint (to a compacted topic keyed
 * by the pipeline name) are committed in the same transaction, so a
 * read_committed consumer sees an epoch's changes if and only if the
 * checkpoint that follows them is also committed; a crash anywhere replays
 * exactly the uncommitted epoch. transactional.id is derived from the
 * pipeline name, so starting a second sluice on the same pipeline fences
 * the first, which stops with a message saying so.
 *
 * At-least-once: the idempotent producer without transactions; the
 * checkpoint is written after the epoch's messages are acknowledged.
 *
 * Errors a new producer can recover from (an aborted transaction after a
 * broker restart, a fatal producer state that is not fencing) come back as
 * SL_ERETRY: the runtime rebuilds the pipeline from the last committed
 * checkpoint, so nothing is lost and nothing is repeated.
 */
#define SL_LOG_COMPONENT "kafka sink"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../core/canal.h"
#include "../../core/clock.h"
#include "../../core/log.h"
#include "kafka_sink.h"
#include "../../core/metrics.h"

static const sl_option_def options[] = {
    SL_ENVELOPE_OPTIONS,
    {"properties.", SL_OPT_PREFIX, NULL, 0, 0, 0, NULL,
     "Passed to librdkafka without the prefix: properties.bootstrap.servers (required), security.protocol, "
     "sasl.*, ssl.*, compression.type, linger.ms, message.max.bytes, ..."},
    {"delivery.guarantee", SL_OPT_ENUM, "exactly-once", 0, 0, 0, "exactly-once|at-least-once",
     "exactly-once: one transaction per checkpoint epoch, read_committed consumers see every change once; "
     "at-least-once: idempotent producer, no transactions (a crash may repeat the last epoch)."},
    {"topic.prefix", SL_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Topics are <topic.prefix>.<db>.<table> (PostgreSQL: <schema>.<table>); default: the pipeline name. "
     "A route's sink-table names the topic instead."},
    {"topic.partitions", SL_OPT_INT, "1", 0, 1, 100000, NULL, "Partitions of the topics sluice creates."},
    {"topic.replication-factor", SL_OPT_INT, "-1", 0, -1, 32767, NULL,
     "Replication factor of the topics sluice creates; -1 = the broker's default.replication.factor."},
    {"value.format", SL_OPT_ENUM, "debezium-json", 0, 0, 0, "debezium-json|canal-json|avro",
     "Message format: Debezium's JSON envelope (before, after, source, op, ts_ms), canal-json (old, data, "
     "type, database, table, pkNames) as Flink CDC writes it, or avro: Debezium's envelope as its AvroConverter "
     "writes it, in the Confluent wire format, with schema.registry.url."},
    {"topic", SL_OPT_STRING, NULL, 0, 0, 0, NULL, "Every table's changes to this one topic (Flink CDC)."},
    {"sink.tableId-to-topic.mapping", SL_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Topics per table: db.table1:topic1;db.table2:topic2 (the table id after routing; Flink CDC)."},
    {"partition.strategy", SL_OPT_ENUM, "hash-by-key", 0, 0, 0, "hash-by-key|all-to-zero",
     "hash-by-key: the Java client's murmur2 of the key (a key's changes stay in order on one partition); "
     "all-to-zero: every record to partition 0."},
    {"key.format", SL_OPT_ENUM, "json", 0, 0, 0, "json|csv|avro",
     "The key: the key columns as JSON ({\"id\":42}), as Flink's CSV (42), or as an Avro record (Confluent wire "
     "format, with schema.registry.url)."},
    {"sink.add-tableId-to-header-enabled", SL_OPT_BOOL, "false", 0, 0, 0, NULL,
     "Headers schemaName and tableName on every record (Flink CDC)."},
    {"sink.custom-header", SL_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Headers on every record: key1:value1,key2:value2 (Flink CDC)."},
    {"debezium-json.include-schema.enabled", SL_OPT_BOOL, "false", 0, 0, 0, NULL,
     "Flink CDC's name for schemas.enable."},
    {"sink.delivery-guarantee", SL_OPT_ENUM, NULL, 0, 0, 0, "exactly-once|at-least-once|none",
     "Flink CDC's name for delivery.guarantee (none is at-least-once)."},
    {"schemas.enable", SL_OPT_BOOL, "false", 0, 0, 0, NULL,
     "Wrap keys and values as {\"schema\":..,\"payload\":..} like Kafka Connect's JsonConverter."},
    {"tombstones.on.delete", SL_OPT_BOOL, "true", 0, 0, 0, NULL,
     "After each delete, send a tombstone (the key with a null value) so compaction can drop the key."},
    {"include.schema.changes", SL_OPT_BOOL, "true", 0, 0, 0, NULL,
     "Send schema-change events to the topic named <topic.prefix> (Debezium's schema change topic)."},
    {"checkpoint.topic", SL_OPT_STRING, "_sluice_checkpoints", 0, 0, 0, NULL,
     "Compacted topic holding each pipeline's checkpoint, keyed by pipeline name."},
    {"transactional.id", SL_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Producer transactional.id; default sluice-<pipeline name>. Two processes with the same id fence each other."},
    {"connect.timeout", SL_OPT_DURATION, "30s", 0, 100, 3600000, NULL,
     "How long to wait for the brokers at start before giving up."},
    {"provide.transaction.metadata", SL_OPT_BOOL, "false", 0, 0, 0, NULL,
     "Debezium's transaction metadata: a transaction block in each change event, BEGIN and END records (with "
     "event counts per table) on <topic.prefix>.transaction, in the same Kafka transaction as the changes."},
    {"transaction.timeout", SL_OPT_DURATION, "60s", 0, 1000, 900000, NULL,
     "Upper bound of one epoch's transaction (transaction.timeout.ms); the broker aborts a transaction older than this."},
    SL_KAFKA_AVRO_OPTIONS,
    SL_OPTION_END,
};

static int kafka_validate(const sl_options *o, sl_err *err)
{
    int rc = sl_kafka_flink_validate(o, err);
    if (!rc)
        rc = sl_kafka_avro_validate(o, err);
    if (rc)
        return rc;
    if (sl_opt_num(o, "value.format") == 1 &&
        (sl_opt_num(o, "schemas.enable") || sl_opt_num(o, "debezium-json.include-schema.enabled"))) {
        char where[512];
        sl_opt_where(o, "value.format", where, sizeof where);
        return sl_errf(err, SL_ECONFIG, "%s: a schema block is written only with value.format debezium-json", where);
    }
    if (!sl_opt_str(o, "properties.bootstrap.servers"))
        return sl_errf(err, SL_ECONFIG,
                       "sink option properties.bootstrap.servers is required (the brokers, e.g. localhost:9092)");
    /* files librdkafka would report only once it connects */
    static const char *const files[] = {"properties.ssl.ca.location", "properties.ssl.certificate.location",
                                        "properties.ssl.key.location"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        const char *v = sl_opt_str(o, files[i]);
        /* "probe": librdkafka looks in the system's usual places */
        if (v && strcmp(v, "probe") && (rc = sl_opt_check_file(o, files[i], "kafka sink", i == 0, err)))
            return rc;
    }
    /* every properties.* key must be one librdkafka knows */
    kafka_sink probe = {.opts = o, .exactly_once = 1, .txn_id = "x", .commit_timeout_ms = 60000};
    rd_kafka_conf_t *conf = sl_kafka_conf(&probe, 0, err);
    if (!conf)
        return SL_ECONFIG;
    rd_kafka_conf_destroy(conf);
    return 0;
}

static int is_fencing(rd_kafka_resp_err_t code)
{
    return code == RD_KAFKA_RESP_ERR__FENCED || code == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
           code == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH ||
           code == RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
}

int sl_kafka_fenced_error(const kafka_sink *k, int64_t now_ms, const char *what, const char *reason, sl_err *err)
{
    int64_t open_ms = now_ms - k->txn_begin_ms;
    if (k->in_txn && open_ms >= k->commit_timeout_ms)
        return sl_errf(err, SL_ERUNTIME,
                       SL_LOG_PREFIX "the broker aborted the open transaction during %s: it was open for %lld ms, "
                       "longer than the kafka sink's transaction.timeout (%lld ms), which happens when one source "
                       "transaction takes longer than that to send; raise transaction.timeout (up to the "
                       "broker's transaction.max.timeout.ms, 15 minutes by default) (%s)",
                       what, (long long)open_ms, (long long)k->commit_timeout_ms, reason);
    return sl_errf(err, SL_ERUNTIME,
                   SL_LOG_PREFIX "this process was fenced during %s: another sluice with pipeline '%s' "
                   "(transactional.id %s) has started and took over; this one stops (%s)",
                   what, k->pipeline, k->txn_id, reason);
}

/* The producer is in a fatal state: fenced (another sluice took over) is
 * final; anything else a new producer can get past. */
static int fatal_error(kafka_sink *k, const char *what, sl_err *err)
{
    char reason[512];
    rd_kafka_resp_err_t code = rd_kafka_fatal_error(k->rk, reason, sizeof reason);
    if (is_fencing(code))
        return sl_kafka_fenced_error(k, sl_mono_ms(), what, reason, err);
    return sl_errf(err, SL_ERETRY, SL_LOG_PREFIX "producer failed during %s: %s", what,
                   code ? reason : "fatal error");
}

/* Classifies a transactional API error; retriable ones return 1 so the
 * caller tries again. */
int sl_kafka_txn_error(kafka_sink *k, rd_kafka_error_t *e, const char *what, sl_err *err)
{
    int rc;
    if (rd_kafka_error_is_fatal(e)) {
        rc = fatal_error(k, what, err);
    } else if (rd_kafka_error_is_retriable(e)) {
        rc = 1;
    } else if (rd_kafka_error_txn_requires_abort(e)) {
        rc = sl_errf(err, SL_ERETRY, SL_LOG_PREFIX "the transaction failed during %s: %s", what,
                     rd_kafka_error_string(e));
        rd_kafka_error_t *ae = rd_kafka_abort_transaction(k->rk, (int)k->commit_timeout_ms);
        if (ae)
            rd_kafka_error_destroy(ae);
        k->in_txn = 0;
    } else if (rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR__TIMED_OUT) {
        rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "no answer from the brokers (%s) during %s within %lld ms%s%s",
                     k->bootstrap, what, (long long)k->connect_timeout_ms,
                     k->last_error[0] ? ": " : "", k->last_error);
    } else {
        rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s: %s", what, rd_kafka_error_string(e));
    }
    rd_kafka_error_destroy(e);
    return rc;
}

void sl_kafka_free(kafka_sink *k)
{
    if (!k)
        return;
    sl_kafka_commit_drop(k);
    sl_buf_free(&k->held);
    sl_kafka_topics_free(k);
    if (k->schema_rkt)
        rd_kafka_topic_destroy(k->schema_rkt);
    if (k->ckpt_rkt)
        rd_kafka_topic_destroy(k->ckpt_rkt);
    sl_kafka_tx_free(&k->txmeta);
    if (k->rk) {
        if (k->in_txn) {
            rd_kafka_error_t *e = rd_kafka_abort_transaction(k->rk, 5000);
            if (e)
                rd_kafka_error_destroy(e);
        }
        rd_kafka_flush(k->rk, 5000);
        rd_kafka_destroy(k->rk);
    }
    sl_buf_free(&k->key);
    sl_buf_free(&k->value);
    sl_kafka_flink_free(&k->flink);
    sl_kafka_avro_free(&k->avro);
    free(k->prefix);
    free(k->pipeline);
    free(k->ckpt_topic);
    free(k->txn_id);
    free(k->bootstrap);
    free(k);
}

static char *dup_or(const char *a, const char *b) { return strdup(a ? a : b); }

int sl_kafka_new(const sl_options *o, const sl_sink_env *env, kafka_sink **out, sl_err *err)
{
    *out = NULL;
    kafka_sink *k = calloc(1, sizeof *k);
    if (!k)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    k->opts = o;
    k->routes = env->routes;
    k->exactly_once = sl_opt_num(o, "delivery.guarantee") == 0;
    if (sl_opt_is_set(o, "sink.delivery-guarantee") && !sl_opt_is_set(o, "delivery.guarantee"))
        k->exactly_once = sl_opt_num(o, "sink.delivery-guarantee") == 0;
    k->tombstones = (int)sl_opt_num(o, "tombstones.on.delete");
    k->schemas = (int)(sl_opt_num(o, "schemas.enable") || sl_opt_num(o, "debezium-json.include-schema.enabled"));
    int frc = sl_kafka_flink_init(&k->flink, o, err);
    if (frc) {
        sl_kafka_flink_free(&k->flink);
        free(k);
        return frc;
    }
    k->schema_changes = (int)sl_opt_num(o, "include.schema.changes");
    k->connect_timeout_ms = sl_opt_num(o, "connect.timeout");
    k->commit_timeout_ms = sl_opt_num(o, "transaction.timeout");
    k->topic_partitions = (int)sl_opt_num(o, "topic.partitions");
    k->topic_replication = (int)sl_opt_num(o, "topic.replication-factor");
    k->pipeline = strdup(env->pipeline_name);
    k->prefix = dup_or(sl_opt_str(o, "topic.prefix"), env->pipeline_name);
    k->ckpt_topic = strdup(sl_opt_str(o, "checkpoint.topic"));
    k->bootstrap = dup_or(sl_opt_str(o, "properties.bootstrap.servers"), "");
    const char *tid = sl_opt_str(o, "transactional.id");
    if (tid) {
        k->txn_id = strdup(tid);
    } else if (k->pipeline && (k->txn_id = malloc(strlen(k->pipeline) + 8))) {
        sprintf(k->txn_id, "sluice-%s", k->pipeline);
    }
    k->env.connector = env->source_connector;
    k->env.name = k->prefix;
    int arc = sl_kafka_avro_init(&k->avro, o, env->source_connector, k->prefix, env->stop, err);
    if (arc) {
        sl_kafka_free(k);
        return arc;
    }
    k->txmeta.on = (int)sl_opt_num(o, "provide.transaction.metadata");
    if (k->txmeta.on && k->prefix && (k->txmeta.topic = malloc(strlen(k->prefix) + sizeof ".transaction")))
        sprintf(k->txmeta.topic, "%s.transaction", k->prefix);
    sl_value_modes_from(o, env->source_connector, &k->env.modes);
    sl_buf_init(&k->key);
    sl_buf_init(&k->value);
    if (!k->pipeline || !k->prefix || !k->ckpt_topic || !k->bootstrap || !k->txn_id ||
        (k->txmeta.on && !k->txmeta.topic)) {
        sl_kafka_free(k);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    *out = k;
    return 0;
}

int sl_kafka_producer(kafka_sink *k, sl_err *err)
{
    rd_kafka_conf_t *conf = sl_kafka_conf(k, 0, err);
    if (!conf)
        return SL_ECONFIG;
    char errstr[512];
    k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!k->rk) {
        rd_kafka_conf_destroy(conf);
        return sl_errf(err, SL_ECONFIG, SL_LOG_PREFIX "%s", errstr);
    }
    return 0;
}

static int kafka_create(const sl_options *o, const sl_sink_env *env, void **self, sl_err *err)
{
    kafka_sink *k;
    int rc = sl_kafka_new(o, env, &k, err);
    if (rc)
        return rc;
    rc = sl_kafka_producer(k, err);
    if (rc) {
        sl_kafka_free(k);
        return rc;
    }
    if (k->exactly_once && !env->read_only) {
        /* also fences an older producer of this pipeline and completes
         * its open transaction, before the checkpoint is read (never for
         * `sluice status`: the running pipeline would be fenced) */
        int64_t deadline = sl_mono_ms() + k->connect_timeout_ms;
        for (;;) {
            int64_t left = deadline - sl_mono_ms();
            rd_kafka_error_t *e = rd_kafka_init_transactions(k->rk, (int)(left > 100 ? left : 100));
            if (!e)
                break;
            rc = sl_kafka_txn_error(k, e, "init_transactions", err);
            if (rc != 1)
                break;
            rc = 0;
            if (sl_mono_ms() >= deadline) {
                rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "no broker of %s answered within %lld ms%s%s",
                             k->bootstrap, (long long)k->connect_timeout_ms, k->last_error[0] ? ": " : "",
                             k->last_error);
                break;
            }
        }
    } else {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t e = rd_kafka_metadata(k->rk, 0, NULL, &md, (int)k->connect_timeout_ms);
        if (e)
            rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "no broker of %s answered within %lld ms: %s%s%s", k->bootstrap,
                         (long long)k->connect_timeout_ms, rd_kafka_err2str(e), k->last_error[0] ? ": " : "",
                         k->last_error);
        else
            rd_kafka_metadata_destroy(md);
    }
    if (!rc) {
        k->ckpt_rkt = rd_kafka_topic_new(k->rk, k->ckpt_topic, NULL);
        if (!k->ckpt_rkt)
            rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "cannot open topic %s", k->ckpt_topic);
    }
    if (rc) {
        sl_kafka_free(k);
        return rc;
    }
    if (env->read_only)
        sl_debug("connected to %s to read the checkpoint", k->bootstrap);
    else if (k->exactly_once)
        sl_info("connected to %s; exactly-once, transactional.id %s; topics %s.<db>.<table>", k->bootstrap,
                k->txn_id, k->prefix);
    else
        sl_info("connected to %s; at-least-once; topics %s.<db>.<table>", k->bootstrap, k->prefix);
    *self = k;
    return 0;
}

static void kafka_destroy(void *self) { sl_kafka_free(self); }

static int kafka_load_checkpoint(void *self, char **out, sl_err *err)
{
    return sl_kafka_read_checkpoint(self, out, err);
}

int sl_kafka_begin(kafka_sink *k, sl_err *err)
{
    /* while a pipelined commit is in flight the next epoch's messages are
     * held (kafka_commit.c): its transaction begins when that one is done */
    if (!k->exactly_once || k->committing || k->in_txn)
        return 0;
    rd_kafka_error_t *e = rd_kafka_begin_transaction(k->rk);
    if (e) {
        int rc = sl_kafka_txn_error(k, e, "begin_transaction", err);
        return rc == 1 ? sl_errf(err, SL_ERETRY, SL_LOG_PREFIX "begin_transaction failed") : rc;
    }
    k->in_txn = 1;
    k->txn_begin_ms = sl_mono_ms();
    return 0;
}

/* One message; waits for room when librdkafka's queue is full. */
int sl_kafka_produce_h(kafka_sink *k, rd_kafka_topic_t *rkt, int32_t partition, const sl_buf *key,
                       const sl_buf *value, rd_kafka_headers_t *headers, const char *table, sl_err *err)
{
    if (k->committing)
        return sl_kafka_hold(k, rkt, partition, key, value, headers, table, err);
    for (;;) {
        /* the producer owns the headers once it accepts the message */
        rd_kafka_headers_t *h = headers ? rd_kafka_headers_copy(headers) : NULL;
        rd_kafka_resp_err_t e = rd_kafka_producev(
            k->rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(key && key->len ? key->data : NULL, key ? key->len : 0),
            RD_KAFKA_V_VALUE(value ? value->data : NULL, value ? value->len : 0), RD_KAFKA_V_HEADERS(h),
            RD_KAFKA_V_END);
        if (e && h)
            rd_kafka_headers_destroy(h);
        if (!e) {
            k->ep.msgs++;
            return 0;
        }
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            int64_t t0 = sl_mono_ms();
            rd_kafka_poll(k->rk, 10);
            k->ep.full_ms += sl_mono_ms() - t0;
            continue;
        }
        if (e == RD_KAFKA_RESP_ERR__FATAL)
            return fatal_error(k, "produce", err);
        if (e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
            return sl_errf(err, SL_ERUNTIME,
                           SL_LOG_PREFIX "the change of table %s with key %.*s is %zu bytes, more than the "
                           "producer's message.max.bytes allows; raise properties.message.max.bytes (and the "
                           "topic's max.message.bytes on the broker) or exclude the column",
                           table, key && key->len ? (int)(key->len > 200 ? 200 : key->len) : 4,
                           key && key->len ? key->data : "null", (key ? key->len : 0) + (value ? value->len : 0));
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "cannot send a change of table %s to topic %s: %s", table,
                       rd_kafka_topic_name(rkt), rd_kafka_err2str(e));
    }
}

static int produce(kafka_sink *k, rd_kafka_topic_t *rkt, int32_t partition, const sl_buf *key, const sl_buf *value,
                   const char *table, sl_err *err)
{
    return sl_kafka_produce_h(k, rkt, partition, key, value, NULL, table, err);
}

int sl_kafka_produce(kafka_sink *k, rd_kafka_topic_t *rkt, int32_t partition, const sl_buf *key,
                     const sl_buf *value, const char *table, sl_err *err)
{
    return produce(k, rkt, partition, key, value, table, err);
}

/* {"schema":S,"payload":P} around what is in b from offset start */
static void wrap_schema(sl_buf *b, size_t start, const char *schema)
{
    sl_buf tmp;
    sl_buf_init(&tmp);
    sl_buf_add(&tmp, b->data + start, b->len - start);
    b->len = start;
    sl_buf_adds(b, "{\"schema\":");
    sl_buf_adds(b, schema);
    sl_buf_adds(b, ",\"payload\":");
    sl_buf_add(b, tmp.data, tmp.len);
    sl_buf_addc(b, '}');
    sl_buf_free(&tmp);
}

static int cache_schemas(kafka_topic *t, const sl_table_schema *s, const sl_envelope_opts *env, const char *connector)
{
    if (t->schema == s && t->connector == connector)
        return 0;
    sl_buf kb, vb;
    sl_buf_init(&kb);
    sl_buf_init(&vb);
    sl_connect_key_schema(&kb, s, t->name, &env->modes);
    sl_connect_value_schema(&vb, s, t->name, env, connector);
    sl_buf_addc(&kb, 0);
    sl_buf_addc(&vb, 0);
    if (kb.failed || vb.failed) {
        sl_buf_free(&kb);
        sl_buf_free(&vb);
        return -1;
    }
    free(t->key_schema);
    free(t->value_schema);
    t->key_schema = kb.data;
    t->value_schema = vb.data;
    t->schema = s;
    t->connector = connector;
    return 0;
}

static int write_schema_change(kafka_sink *k, const sl_event *e, int64_t now, sl_err *err)
{
    if (!k->schema_rkt) {
        int rc = sl_kafka_ensure_topic(k, k->prefix, 1, 0, "schema changes", err);
        if (rc)
            return rc;
        if (!(k->schema_rkt = rd_kafka_topic_new(k->rk, k->prefix, NULL)))
            return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "cannot open topic %s", k->prefix);
    }
    sl_buf_reset(&k->key);
    sl_buf_reset(&k->value);
    sl_kafka_schema_change_key(&k->key, e);
    sl_kafka_schema_change_value(&k->value, e, &k->env, now);
    if (k->schemas) {
        const char *connector = sl_envelope_connector(k->env.connector, e->tx && e->tx->mariadb, &k->env.modes);
        sl_buf s;
        sl_buf_init(&s);
        sl_kafka_schema_change_key_schema(&s, e->schema, connector);
        sl_buf_addc(&s, 0);
        if (!s.failed)
            wrap_schema(&k->key, 0, s.data);
        sl_buf_reset(&s);
        sl_kafka_schema_change_value_schema(&s, e->schema, connector);
        sl_buf_addc(&s, 0);
        if (!s.failed)
            wrap_schema(&k->value, 0, s.data);
        int failed = s.failed;
        sl_buf_free(&s);
        if (failed || k->key.failed || k->value.failed)
            return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    return produce(k, k->schema_rkt, 0, &k->key, &k->value, e->schema->qualified, err);
}

static int key_changed(kafka_sink *k, const sl_table_schema *s, const sl_event *e)
{
    sl_buf_reset(&k->key);
    sl_buf_reset(&k->value);
    sl_json_key_m(&k->key, s, e->before, &k->env.modes);
    sl_json_key_m(&k->value, s, e->after, &k->env.modes);
    return k->key.len != k->value.len || memcmp(k->key.data, k->value.data, k->key.len) != 0;
}

/* One change event (and its tombstone) to the table's topic; hdr_key /
 * hdr_val: one more header (a primary-key move's __debezium.newkey or
 * __debezium.oldkey), or NULL. */
static int send_event(kafka_sink *k, kafka_topic *t, const sl_event *e, int64_t now, const char *hdr_key,
                      const char *hdr_val, const sl_txblock *tb, sl_err *err)
{
    const sl_table_schema *s = e->schema;
    const sl_value *row = e->after ? e->after : e->before;
    sl_buf_reset(&k->key);
    sl_buf_reset(&k->value);
    /* Debezium: tables without a primary key have null keys; they all go
     * to partition 0 so their changes stay in order */
    int keyed = s->npk > 0 && row;
    int rc;
    if (keyed && k->avro.key_avro) {
        if ((rc = sl_avro_key(&k->key, &t->avro, row, err)))
            return rc;
    } else if (keyed && k->flink.csv_key) {
        sl_kafka_csv_key(&k->key, s, row);
    } else if (keyed) {
        sl_json_key_m(&k->key, s, row, &k->env.modes);
        if (k->schemas)
            wrap_schema(&k->key, 0, t->key_schema);
    }
    if (k->avro.value_avro) {
        if ((rc = sl_avro_envelope(&k->value, &t->avro, e, &k->env, now, err)))
            return rc;
    } else if (k->flink.canal) {
        sl_canal_json(&k->value, e);
    } else {
        sl_json_envelope_tx(&k->value, e, &k->env, now, tb);
        if (k->schemas)
            wrap_schema(&k->value, 0, t->value_schema);
    }
    if (k->key.failed || k->value.failed)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    int32_t part = keyed && !k->flink.all_to_zero ? RD_KAFKA_PARTITION_UA : 0;
    rd_kafka_headers_t *h = sl_kafka_flink_headers(&k->flink, s);
    if (hdr_key && !h)
        h = rd_kafka_headers_new(1);
    if (hdr_key && h)
        rd_kafka_header_add(h, hdr_key, -1, hdr_val, -1);
    rc = sl_kafka_produce_h(k, t->rkt, part, &k->key, &k->value, h, s->qualified, err);
    /* Debezium follows every delete with a tombstone, a keyless table's
     * too (null key) */
    if (!rc && e->op == SL_OP_DELETE && k->tombstones)
        rc = sl_kafka_produce_h(k, t->rkt, part, &k->key, NULL, h, s->qualified, err);
    if (h)
        rd_kafka_headers_destroy(h);
    return rc;
}

static int write_batch(kafka_sink *k, const sl_batch *b, sl_err *err);

static int kafka_write(void *self, const sl_batch *b, sl_err *err)
{
    kafka_sink *k = self;
    int64_t t0 = sl_mono_ms();
    if (!k->ep.start_ms)
        k->ep.start_ms = t0;
    int rc = write_batch(k, b, err);
    k->ep.write_ms += sl_mono_ms() - t0;
    return rc;
}

static int write_batch(kafka_sink *k, const sl_batch *b, sl_err *err)
{
    int rc = sl_kafka_begin(k, err);
    if (rc)
        return rc;
    int64_t now = sl_wall_ms();
    for (const sl_event *e = b->head; e; e = e->next) {
        if (e->op == SL_OP_SCHEMA) {
            if (k->schema_changes && (rc = write_schema_change(k, e, now, err)))
                return rc;
            continue;
        }
        size_t first, ntargets;
        if ((rc = sl_kafka_topics_for(k, e->schema, &first, &ntargets, err)))
            return rc;
        /* transaction metadata: snapshot rows belong to none; a primary-key
         * move is two events of its transaction */
        sl_txblock tb[2], *tb_one = NULL, *tb_del = NULL, *tb_cre = NULL;
        int moved = e->op == SL_OP_UPDATE && e->schema->npk > 0 && e->before && e->after &&
                    key_changed(k, e->schema, e);
        if (k->txmeta.on && e->op == SL_OP_READ) {
            if ((rc = sl_kafka_tx_end(k, err)))
                return rc;
        } else if (k->txmeta.on && e->tx) {
            if ((rc = sl_kafka_tx_event(k, e, &tb[0], err)) || (moved && (rc = sl_kafka_tx_event(k, e, &tb[1], err))))
                return rc;
            tb_one = tb_del = &tb[0];
            tb_cre = &tb[1];
        }
        for (size_t ti = first; ti < first + ntargets; ti++) {
            kafka_topic *t = &k->topics[ti];
            const sl_table_schema *s = e->schema;
            if (k->schemas &&
                cache_schemas(t, s, &k->env, sl_envelope_connector(k->env.connector, e->tx && e->tx->mariadb, &k->env.modes)))
                return sl_errf(err, SL_ERUNTIME, "out of memory");
            /* a new shape is registered before its first message */
            if (k->avro.sr && (rc = sl_kafka_avro_prepare(&k->avro, &t->avro, s, t->name, err)))
                return rc;
            if (moved && key_changed(k, s, e)) {
                /* a primary-key change, as Debezium sends it: a delete (and
                 * tombstone) of the old key, then a create under the new key,
                 * each in its own key's partition */
                sl_event del = *e, cre = *e;
                del.op = SL_OP_DELETE;
                del.after = NULL;
                cre.op = SL_OP_CREATE;
                cre.before = NULL;
                /* key_changed left the old key in k->key, the new in k->value;
                 * each event names the other key in a header, as Debezium's */
                char *oldkey = strndup(k->key.data, k->key.len), *newkey = strndup(k->value.data, k->value.len);
                if (!oldkey || !newkey)
                    rc = sl_errf(err, SL_ERUNTIME, "out of memory");
                if (!rc)
                    rc = send_event(k, t, &del, now, "__debezium.newkey", newkey, tb_del, err);
                if (!rc)
                    rc = send_event(k, t, &cre, now, "__debezium.oldkey", oldkey, tb_cre, err);
                free(oldkey);
                free(newkey);
                if (rc)
                    return rc;
            } else if ((rc = send_event(k, t, e, now, NULL, NULL, tb_one, err))) {
                return rc;
            }
        }
    }
    /* the source transaction ends with the batch (epochs end only there) */
    if (k->txmeta.on && sl_batch_at_boundary(b) && (rc = sl_kafka_tx_end(k, err)))
        return rc;
    /* while a commit is in flight its thread serves the delivery reports */
    if (k->committing)
        return 0;
    rd_kafka_poll(k->rk, 0);
    if (k->delivery_error[0])
        return sl_errf(err, SL_ERUNTIME, "%s", k->delivery_error);
    return 0;
}

static int kafka_abort(void *self, sl_err *err)
{
    kafka_sink *k = self;
    sl_kafka_commit_drop(k);
    if (!k->exactly_once || !k->in_txn)
        return 0;
    k->in_txn = 0;
    rd_kafka_error_t *e = rd_kafka_abort_transaction(k->rk, (int)k->commit_timeout_ms);
    if (!e)
        return 0;
    int rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "abort_transaction: %s", rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
    return rc;
}

/* the producer's state for the metrics endpoint: local counters, no I/O */
static void kafka_metrics(void *self, sl_metrics *m)
{
    kafka_sink *k = self;
    sl_metrics_declare(m, "sluice_kafka_outbound_queue_messages", SL_METRIC_GAUGE,
                       "Messages librdkafka holds not yet acknowledged by the brokers (rd_kafka_outq_len).", NULL, 0);
    sl_metrics_declare(m, "sluice_kafka_transaction_open", SL_METRIC_GAUGE,
                       "1 while the epoch's producer transaction is open (exactly-once).", NULL, 0);
    sl_metrics_set(m, "sluice_kafka_outbound_queue_messages", NULL, k->rk ? rd_kafka_outq_len(k->rk) : 0);
    /* in_txn belongs to the commit thread while one runs */
    sl_metrics_set(m, "sluice_kafka_transaction_open", NULL, k->committing ? 1 : k->in_txn);
}

const sl_sink_plugin sl_sink_kafka = {
    .name = "kafka",
    .description = "Debezium-compatible change events (JSON, or Avro with a schema registry) to Kafka topics, exactly once (transactions per epoch)",
    .options = options,
    .guarantee = SL_GUARANTEE_EXACTLY_ONCE,
    .validate = kafka_validate,
    .create = kafka_create,
    .check_connect = sl_kafka_check,
    .load_checkpoint = kafka_load_checkpoint,
    .write = kafka_write,
    .commit = sl_kafka_commit,
    .commit_start = sl_kafka_commit_start,
    .commit_done = sl_kafka_commit_done,
    .abort = kafka_abort,
    .metrics = kafka_metrics,
    .destroy = kafka_destroy,
};
