/* kafka_conf.c — librdkafka configuration from the sink's options.
 *
 * sluice's own choices come first (idempotence, transactions, the Java
 * client's murmur2 partitioner so a key lands on the partition a Java
 * producer would pick), then every `properties.*` option verbatim, so a
 * user can tune or secure the client with librdkafka's own names. A bad
 * property is reported with the place it was written.
 */
#define SL_LOG_COMPONENT "kafka sink"

#include <stdio.h>
#include <string.h>

#include "../../core/log.h"
#include "kafka_sink.h"

typedef struct prop_ctx {
    rd_kafka_conf_t *conf;
    const sl_options *opts;
    int consumer;
    int rc;
    sl_err *err;
} prop_ctx;

/* producer-only settings a checkpoint reader must not see (librdkafka
 * warns about each) */
static int producer_only(const char *key)
{
    static const char *const keys[] = {"transactional.id", "enable.idempotence", "acks", "linger.ms",
                                       "compression.type", "compression.codec", "batch.size",
                                       "batch.num.messages", "queue.buffering.max.messages",
                                       "queue.buffering.max.kbytes", "queue.buffering.max.ms",
                                       "message.timeout.ms", "transaction.timeout.ms", "partitioner",
                                       "retries", "request.required.acks", "delivery.timeout.ms",
                                       "max.in.flight", "max.in.flight.requests.per.connection",
                                       "sticky.partitioning.linger.ms", NULL};
    for (int i = 0; keys[i]; i++)
        if (strcmp(key, keys[i]) == 0)
            return 1;
    return 0;
}

static void set_prop(const char *rest, const char *value, void *arg)
{
    prop_ctx *c = arg;
    if (c->rc || (c->consumer && producer_only(rest)))
        return;
    char errstr[512];
    if (rd_kafka_conf_set(c->conf, rest, value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        char full[300], where[256];
        snprintf(full, sizeof full, "properties.%s", rest);
        sl_opt_where(c->opts, full, where, sizeof where);
        c->rc = sl_errf(c->err, SL_ECONFIG, "%s: sink option %s: %s", where, full, errstr);
    }
}

static int set(rd_kafka_conf_t *conf, const char *key, const char *value, sl_err *err)
{
    char errstr[512];
    if (rd_kafka_conf_set(conf, key, value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
        return sl_errf(err, SL_ECONFIG, SL_LOG_PREFIX "%s=%s: %s", key, value, errstr);
    return 0;
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    sl_debug("librdkafka %d %s: %s", level, fac, buf);
}

static void error_cb(rd_kafka_t *rk, int code, const char *reason, void *opaque)
{
    kafka_sink *k = opaque;
    (void)rk;
    if (k)
        snprintf(k->last_error, sizeof k->last_error, "%s", reason);
    /* brokers going away and coming back are routine; fatal ones surface
     * through the calls that fail */
    if (code == RD_KAFKA_RESP_ERR__FATAL)
        sl_warn("%s", reason);
    else
        sl_debug("%s (%s)", reason, rd_kafka_err2name((rd_kafka_resp_err_t)code));
}

static void delivery_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    kafka_sink *k = opaque;
    (void)rk;
    if (!m->err || !k || k->delivery_error[0])
        return;
    const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "?";
    snprintf(k->delivery_error, sizeof k->delivery_error,
             SL_LOG_PREFIX "a message to topic %s with key %.*s was not delivered: %s", topic,
             m->key ? (int)(m->key_len > 200 ? 200 : m->key_len) : 4, m->key ? (const char *)m->key : "null",
             rd_kafka_err2str(m->err));
}

rd_kafka_conf_t *sl_kafka_conf(const kafka_sink *k, int consumer, sl_err *err)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char num[32];
    int rc = set(conf, "client.id", "sluice", err);
    if (!consumer) {
        if (!rc)
            rc = set(conf, "enable.idempotence", "true", err);
        if (!rc)
            rc = set(conf, "partitioner", "murmur2_random", err);
        if (!rc)
            rc = set(conf, "linger.ms", "5", err);
        /* the checkpoint reader needs high watermarks, not stable offsets */
        if (!rc)
            rc = set(conf, "isolation.level", "read_uncommitted", err);
        /* librdkafka buffers up to 1 GiB by default; a checkpoint epoch never
         * needs that much in flight to keep the broker busy */
        if (!rc)
            rc = set(conf, "queue.buffering.max.kbytes", "16384", err);
        if (!rc && k->exactly_once) {
            rc = set(conf, "transactional.id", k->txn_id, err);
            snprintf(num, sizeof num, "%lld", (long long)k->commit_timeout_ms);
            if (!rc)
                rc = set(conf, "transaction.timeout.ms", num, err);
        }
    } else {
        if (!rc)
            rc = set(conf, "isolation.level", "read_committed", err);
        if (!rc)
            rc = set(conf, "enable.auto.commit", "false", err);
        if (!rc)
            rc = set(conf, "enable.partition.eof", "true", err);
        if (!rc)
            rc = set(conf, "group.id", "sluice-checkpoint-reader", err);
        /* the reader waits for nothing: it reads to the end and stops */
        if (!rc)
            rc = set(conf, "fetch.wait.max.ms", "10", err);
    }
    if (!rc) {
        prop_ctx c = {.conf = conf, .opts = k->opts, .consumer = consumer, .err = err};
        sl_opt_each_prefix(k->opts, "properties.", set_prop, &c);
        rc = c.rc;
    }
    if (rc) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    if (!consumer)
        rd_kafka_conf_set_dr_msg_cb(conf, delivery_cb);
    rd_kafka_conf_set_opaque(conf, (void *)k);
    return conf;
}
