/* kafka_topics.c — which topic a table's changes go to, and making sure it
 * exists.
 *
 * `<topic.prefix>.<db>.<table>` (PostgreSQL: schema instead of db) unless
 * routes name the topics (every matching route in route-mode ALL_MATCH)
 * or Flink's `topic` / `sink.tableId-to-topic.mapping` do; characters
 * Kafka does not allow in topic names become '_' as in Debezium. A missing topic is created with
 * topic.partitions / topic.replication-factor before the first message,
 * so the producer never relies on the broker's auto-creation; when the
 * broker refuses, the error names the table, the topic and the fix.
 */
#define SL_LOG_COMPONENT "kafka sink"

#include <stdlib.h>
#include <string.h>

#include "../../core/log.h"
#include "../../core/route.h"
#include "kafka_sink.h"

void sl_kafka_sanitize(char *s)
{
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-'))
            *s = '_';
    }
}

static int topic_exists(kafka_sink *k, const char *topic, int timeout_ms)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(k->rk, topic, NULL);
    if (!rkt)
        return 0;
    const struct rd_kafka_metadata *md = NULL;
    int ok = 0;
    if (rd_kafka_metadata(k->rk, 0, rkt, &md, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR && md) {
        ok = md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
             md->topics[0].partition_cnt > 0;
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(rkt);
    return ok;
}

int sl_kafka_topic_exists(kafka_sink *k, const char *topic) { return topic_exists(k, topic, (int)k->connect_timeout_ms); }

rd_kafka_resp_err_t sl_kafka_create_topic(kafka_sink *k, const char *topic, int partitions, int compact,
                                          int validate_only, char *msg, size_t msglen)
{
    char errstr[512];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, k->topic_replication, errstr, sizeof errstr);
    if (!nt) {
        snprintf(msg, msglen, "%s", errstr);
        return RD_KAFKA_RESP_ERR__INVALID_ARG;
    }
    if (compact)
        rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
    rd_kafka_queue_t *q = rd_kafka_queue_new(k->rk);
    rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(k->rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(ao, (int)k->connect_timeout_ms, errstr, sizeof errstr);
    if (validate_only)
        rd_kafka_AdminOptions_set_validate_only(ao, 1, errstr, sizeof errstr);
    rd_kafka_CreateTopics(k->rk, &nt, 1, ao, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, (int)k->connect_timeout_ms + 1000);
    rd_kafka_resp_err_t code = RD_KAFKA_RESP_ERR__TIMED_OUT;
    snprintf(msg, msglen, "no answer from the broker");
    if (ev) {
        code = rd_kafka_event_error(ev);
        if (code) {
            snprintf(msg, msglen, "%s", rd_kafka_event_error_string(ev));
        } else {
            const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
            size_t n = 0;
            const rd_kafka_topic_result_t **tr = res ? rd_kafka_CreateTopics_result_topics(res, &n) : NULL;
            if (tr && n == 1) {
                code = rd_kafka_topic_result_error(tr[0]);
                if (code)
                    snprintf(msg, msglen, "%s", rd_kafka_topic_result_error_string(tr[0])
                                                    ? rd_kafka_topic_result_error_string(tr[0])
                                                    : rd_kafka_err2str(code));
            }
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    return code;
}

int sl_kafka_ensure_topic(kafka_sink *k, const char *topic, int partitions, int compact, const char *why,
                          sl_err *err)
{
    char msg[512];
    rd_kafka_resp_err_t code = sl_kafka_create_topic(k, topic, partitions, compact, 0, msg, sizeof msg);
    if (code == RD_KAFKA_RESP_ERR__INVALID_ARG)
        return sl_errf(err, SL_ECONFIG, SL_LOG_PREFIX "topic %s: %s", topic, msg);
    if (code == RD_KAFKA_RESP_ERR_NO_ERROR) {
        sl_info("created topic %s (%d partition%s)%s", topic, partitions, partitions == 1 ? "" : "s",
                compact ? ", compacted" : "");
        return 0;
    }
    if (code == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        return 0;
    /* not allowed to create, but perhaps someone else did */
    if (topic_exists(k, topic, (int)k->connect_timeout_ms))
        return 0;
    return sl_errf(err, SL_ERUNTIME,
                   SL_LOG_PREFIX "cannot create topic %s for %s: %s (%s); create it yourself "
                   "(kafka-topics.sh --create --topic %s --partitions %d%s) or let sluice's user create topics",
                   topic, why, msg, rd_kafka_err2name(code), topic, partitions,
                   compact ? " --config cleanup.policy=compact" : "");
}

/* Opens (creating it when absent) the topic of one target, reusing a
 * topic another source table already goes to. */
static int add_topic(kafka_sink *k, const sl_table_schema *s, const char *name, sl_err *err)
{
    if (sl_grow((void **)&k->topics, &k->cap_topics, k->ntopics + 1, sizeof *k->topics))
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    int known = 0;
    for (size_t i = 0; i < k->ntopics && !known; i++)
        known = strcmp(k->topics[i].name, name) == 0;
    char why[600];
    snprintf(why, sizeof why, "table %s", s->qualified);
    int rc = known ? 0 : sl_kafka_ensure_topic(k, name, k->topic_partitions, 0, why, err);
    if (rc)
        return rc;
    kafka_topic *t = &k->topics[k->ntopics];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    t->rkt = rd_kafka_topic_new(k->rk, name, NULL);
    if (!t->name || !t->rkt) {
        free(t->name);
        if (t->rkt)
            rd_kafka_topic_destroy(t->rkt);
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "cannot open topic %s", name);
    }
    k->ntopics++;
    sl_debug("table %s -> topic %s", s->qualified, name);
    return 0;
}

int sl_kafka_topics_for(kafka_sink *k, const sl_table_schema *s, size_t *first, size_t *n, sl_err *err)
{
    kafka_source *src = k->last && strcmp(k->last->qualified, s->qualified) == 0 ? k->last : NULL;
    for (size_t i = 0; !src && i < k->nsources; i++)
        if (strcmp(k->sources[i].qualified, s->qualified) == 0)
            src = &k->sources[i];
    if (!src) {
        if (k->nsources == k->cap_sources) {
            size_t cap = k->cap_sources ? k->cap_sources * 2 : 16;
            kafka_source *ns = realloc(k->sources, cap * sizeof *ns);
            if (!ns)
                return sl_errf(err, SL_ERUNTIME, "out of memory");
            k->sources = ns;
            k->cap_sources = cap;
        }
        src = &k->sources[k->nsources];
        src->qualified = strdup(s->qualified);
        if (!src->qualified)
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        src->first = k->ntopics;
        src->n = 0;
        char target[512], name[1024];
        int routed;
        for (size_t i = 0; (routed = sl_route_target_at(k->routes, s, i, target, sizeof target)) >= 0; i++) {
            const char *fixed = sl_kafka_flink_topic(&k->flink, target);
            if (fixed)
                snprintf(name, sizeof name, "%s", fixed);
            else if (routed)
                snprintf(name, sizeof name, "%s", target);
            else
                snprintf(name, sizeof name, "%s.%s", k->prefix, target);
            sl_kafka_sanitize(name);
            int rc = add_topic(k, s, name, err);
            if (rc) {
                for (size_t j = src->first; j < k->ntopics; j++) {
                    free(k->topics[j].name);
                    rd_kafka_topic_destroy(k->topics[j].rkt);
                }
                k->ntopics = src->first;
                free(src->qualified);
                return rc;
            }
            src->n++;
        }
        k->nsources++;
    }
    k->last = src;
    *first = src->first;
    *n = src->n;
    return 0;
}

void sl_kafka_topics_free(kafka_sink *k)
{
    for (size_t i = 0; i < k->ntopics; i++) {
        kafka_topic *t = &k->topics[i];
        free(t->name);
        free(t->key_schema);
        free(t->value_schema);
        sl_avro_table_clear(&t->avro);
        if (t->rkt)
            rd_kafka_topic_destroy(t->rkt);
    }
    free(k->topics);
    k->topics = NULL;
    k->ntopics = k->cap_topics = 0;
    for (size_t i = 0; i < k->nsources; i++)
        free(k->sources[i].qualified);
    free(k->sources);
    k->sources = NULL;
    k->nsources = k->cap_sources = 0;
    k->last = NULL;
}
