/* kafka_check.c — `sluice check --connect` for the kafka sink: are the
 * brokers reachable, do transactions work (exactly-once needs a
 * transaction coordinator, which a small cluster with the default
 * transaction.state.log settings does not have), can the checkpoint topic
 * and the change topics be created or are they there, does the schema
 * registry answer (Avro). Findings print like
 * the sources' (core/check_report.h), each failure with its fix.
 *
 * Nothing here may disturb a running pipeline: the probe producer uses
 * its own transactional.id (<id>.check), so the live producer is not
 * fenced, and topic creation is only validated by the broker, never done.
 */
#define SL_LOG_COMPONENT "kafka sink"

#include <stdlib.h>
#include <string.h>

#include "../../core/check_report.h"
#include "../../core/clock.h"
#include "kafka_sink.h"

/* 0 = reachable, with the broker count and every topic's metadata */
static int brokers(sl_check *c, kafka_sink *k, const struct rd_kafka_metadata **md)
{
    char what[2048], fix[2048];
    rd_kafka_resp_err_t e = rd_kafka_metadata(k->rk, 1, NULL, md, (int)k->connect_timeout_ms);
    if (e) {
        *md = NULL;
        snprintf(what, sizeof what, "no broker of %s answered within %lld ms (%s%s%s)", k->bootstrap,
                 (long long)k->connect_timeout_ms, rd_kafka_err2str(e), k->last_error[0] ? ": " : "",
                 k->last_error);
        snprintf(fix, sizeof fix, "start the brokers, or correct properties.bootstrap.servers (now %s)",
                 k->bootstrap);
        sl_check_report(c, 0, what, fix);
        return -1;
    }
    snprintf(what, sizeof what, "brokers reachable: %d broker%s at %s", (*md)->broker_cnt,
             (*md)->broker_cnt == 1 ? "" : "s", k->bootstrap);
    sl_check_report(c, 1, what, NULL);
    return 0;
}

static void transactions(sl_check *c, kafka_sink *k, int nbrokers)
{
    char what[2048], fix[2048];
    if (!k->exactly_once) {
        sl_check_report(c, 1, "delivery.guarantee at-least-once: no transactions needed", NULL);
        return;
    }
    const char *why = "no answer";
    char reason[512] = "";
    int64_t deadline = sl_mono_ms() + k->connect_timeout_ms;
    for (;;) {
        int64_t left = deadline - sl_mono_ms();
        rd_kafka_error_t *e = rd_kafka_init_transactions(k->rk, (int)(left > 100 ? left : 100));
        if (!e) {
            why = NULL;
            break;
        }
        snprintf(reason, sizeof reason, "%s", rd_kafka_error_string(e));
        int retry = rd_kafka_error_is_retriable(e) && sl_mono_ms() < deadline;
        rd_kafka_error_destroy(e);
        why = reason;
        if (!retry)
            break;
    }
    if (!why) {
        snprintf(what, sizeof what, "transactions work (a probe producer initialised transactional.id %s)",
                 k->txn_id);
        sl_check_report(c, 1, what, NULL);
        return;
    }
    snprintf(what, sizeof what, "transactions do not work within %lld ms: %s", (long long)k->connect_timeout_ms,
             why);
    snprintf(fix, sizeof fix,
             "the brokers need a transaction coordinator: set transaction.state.log.replication.factor and "
             "transaction.state.log.min.isr to at most the broker count (%d) in server.properties and restart "
             "them; or set delivery.guarantee: at-least-once",
             nbrokers);
    sl_check_report(c, 0, what, fix);
}

static int topic_listed(const struct rd_kafka_metadata *md, const char *topic)
{
    for (int i = 0; i < md->topic_cnt; i++)
        if (strcmp(md->topics[i].topic, topic) == 0)
            return 1;
    return 0;
}

static int topics_with_prefix(const struct rd_kafka_metadata *md, const char *prefix)
{
    size_t n = strlen(prefix);
    int count = 0;
    for (int i = 0; i < md->topic_cnt; i++)
        count += strncmp(md->topics[i].topic, prefix, n) == 0;
    return count;
}

static void checkpoint_topic(sl_check *c, kafka_sink *k, const struct rd_kafka_metadata *md)
{
    char what[2048], fix[2048], msg[512];
    if (topic_listed(md, k->ckpt_topic)) {
        snprintf(what, sizeof what, "checkpoint topic %s present", k->ckpt_topic);
        sl_check_report(c, 1, what, NULL);
        return;
    }
    rd_kafka_resp_err_t e = sl_kafka_create_topic(k, k->ckpt_topic, 1, 1, 1, msg, sizeof msg);
    if (!e) {
        snprintf(what, sizeof what, "checkpoint topic %s can be created (the broker validated it)", k->ckpt_topic);
        sl_check_report(c, 1, what, NULL);
        return;
    }
    snprintf(what, sizeof what, "checkpoint topic %s is absent and cannot be created: %s (%s)", k->ckpt_topic, msg,
             rd_kafka_err2name(e));
    snprintf(fix, sizeof fix,
             "kafka-topics.sh --create --topic %s --partitions 1 --config cleanup.policy=compact; or let "
             "sluice's user create topics; topic.replication-factor must not exceed the broker count (%d)",
             k->ckpt_topic, md->broker_cnt);
    sl_check_report(c, 0, what, fix);
}

/* Flink's `topic`: every change goes to that one topic */
static void fixed_topic(sl_check *c, kafka_sink *k, const struct rd_kafka_metadata *md)
{
    char what[2048], fix[2048], msg[512], topic[600];
    snprintf(topic, sizeof topic, "%s", k->flink.topic);
    sl_kafka_sanitize(topic);
    if (topic_listed(md, topic)) {
        snprintf(what, sizeof what, "change topic %s present", topic);
        sl_check_report(c, 1, what, NULL);
        return;
    }
    rd_kafka_resp_err_t e = sl_kafka_create_topic(k, topic, k->topic_partitions, 0, 1, msg, sizeof msg);
    if (!e) {
        snprintf(what, sizeof what, "change topic %s can be created (the broker validated it)", topic);
        sl_check_report(c, 1, what, NULL);
        return;
    }
    snprintf(what, sizeof what, "change topic %s is absent and cannot be created: %s (%s)", topic, msg,
             rd_kafka_err2name(e));
    snprintf(fix, sizeof fix,
             "kafka-topics.sh --create --topic %s --partitions %d; or let sluice's user create topics; "
             "topic.replication-factor must not exceed the broker count (%d)",
             topic, k->topic_partitions, md->broker_cnt);
    sl_check_report(c, 0, what, fix);
}

static void change_topics(sl_check *c, kafka_sink *k, const struct rd_kafka_metadata *md)
{
    if (k->flink.topic) {
        fixed_topic(c, k, md);
        return;
    }
    char what[2048], fix[2048], msg[512], probe[600], prefix[600];
    snprintf(prefix, sizeof prefix, "%s.", k->prefix);
    snprintf(probe, sizeof probe, "%s.sluice-check", k->prefix);
    sl_kafka_sanitize(prefix);
    sl_kafka_sanitize(probe);
    rd_kafka_resp_err_t e = sl_kafka_create_topic(k, probe, k->topic_partitions, 0, 1, msg, sizeof msg);
    if (!e) {
        snprintf(what, sizeof what, "change topics %s<db>.<table> can be created (the broker validated one)",
                 prefix);
        sl_check_report(c, 1, what, NULL);
        return;
    }
    int present = topics_with_prefix(md, prefix);
    if (present) {
        sl_check_warn(c,
                      "change topics %s<db>.<table> cannot be created (%s); %d exist: every captured table "
                      "needs its topic created beforehand",
                      prefix, msg, present);
        return;
    }
    snprintf(what, sizeof what, "change topics %s<db>.<table> cannot be created: %s (%s)", prefix, msg,
             rd_kafka_err2name(e));
    snprintf(fix, sizeof fix,
             "let sluice's user create topics, or create one per captured table (kafka-topics.sh --create "
             "--topic %s<db>.<table> --partitions %d); topic.replication-factor must not exceed the broker "
             "count (%d)",
             prefix, k->topic_partitions, md->broker_cnt);
    sl_check_report(c, 0, what, fix);
}
/* value.format/key.format avro: does a registry answer */
static void registry(sl_check *c, kafka_sink *k)
{
    char what[2048], fix[2048], level[64];
    sl_err e;
    if (sl_sr_probe(k->avro.sr, level, sizeof level, &e) == 0) {
        snprintf(what, sizeof what, "schema registry %s answers (compatibility %s)", sl_sr_urls(k->avro.sr), level);
        sl_check_report(c, 1, what, NULL);
        return;
    }
    snprintf(what, sizeof what, "%s", e.msg);
    snprintf(fix, sizeof fix, "start the registry, or correct schema.registry.url (and its credentials)");
    sl_check_report(c, 0, what, fix);
}

int sl_kafka_check(const sl_options *o, const sl_sink_env *env, FILE *out, sl_err *err)
{
    kafka_sink *k;
    int rc = sl_kafka_new(o, env, &k, err);
    if (rc)
        return rc;
    /* a transactional.id of its own: the live producer stays unfenced */
    char *probe_id = malloc(strlen(k->txn_id) + 8);
    if (!probe_id) {
        sl_kafka_free(k);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    sprintf(probe_id, "%s.check", k->txn_id);
    free(k->txn_id);
    k->txn_id = probe_id;
    rc = sl_kafka_producer(k, err);
    if (rc) {
        sl_kafka_free(k);
        return rc;
    }
    sl_check c = {.out = out};
    fprintf(out, SL_LOG_COMPONENT " %s\n", k->bootstrap);
    const struct rd_kafka_metadata *md = NULL;
    if (brokers(&c, k, &md) == 0) {
        transactions(&c, k, md->broker_cnt);
        checkpoint_topic(&c, k, md);
        change_topics(&c, k, md);
        rd_kafka_metadata_destroy(md);
    }
    if (k->avro.sr)
        registry(&c, k);
    rc = sl_check_finish(&c, SL_LOG_COMPONENT, k->bootstrap, err);
    sl_kafka_free(k);
    return rc;
}
