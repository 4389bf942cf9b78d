/* ha_kafka_group.c — leadership through Kafka's consumer-group protocol.
 *
 * Every member subscribes to the pipeline's one-partition coordination
 * topic (ha.kafka.topic, default sluice.<name>.ha, also the group id);
 * the member the group coordinator assigns partition 0 is the active one.
 * The cooperative-sticky assignor keeps the partition where it is when a
 * standby joins or leaves, so starting a standby never moves leadership;
 * the partition moves only when its owner leaves the group (a hand-over
 * closes the consumer, which sends LeaveGroup at once) or stops sending
 * heartbeats for session.timeout.ms (= ha.session.timeout). Nothing is
 * ever produced to or consumed from the topic.
 *
 * A member evicted while paused learns it late (its next heartbeat), so
 * ha.c stops its commits once it was paused for half the session; the
 * Kafka sink's transactional.id fences what is left: the new active's
 * init_transactions aborts the old member's open transaction before it
 * reads the checkpoint.
 */
#define SL_LOG_COMPONENT "ha"

#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/log.h"
#include "ha.h"

typedef struct group_co {
    const sl_options *sink_opts; /* the kafka sink's, for properties.* (security), or NULL */
    char brokers[1024];
    char topic[256];
    char member[192];
    int64_t session_ms;
    rd_kafka_t *rk;
    int topic_ready;
    int assigned;     /* partition 0 is ours (set by the rebalance callback, on the polling thread) */
    char why[512];    /* why it was taken away */
    char fatal[512];  /* an error that needs a new consumer */
} group_co;

static void topic_of(const sl_config *cfg, char *out, size_t len)
{
    const char *t = sl_opt_str(&cfg->pipeline, "ha.kafka.topic");
    if (t)
        snprintf(out, len, "%s", t);
    else
        snprintf(out, len, "sluice.%s.ha", sl_opt_str(&cfg->pipeline, "name"));
}

/* the client settings a consumer shares with the kafka sink (TLS, SASL) */
typedef struct prop_ctx {
    rd_kafka_conf_t *conf;
} prop_ctx;

static void copy_security(const char *rest, const char *value, void *arg)
{
    prop_ctx *p = arg;
    char errstr[256];
    if (strncmp(rest, "security.", 9) == 0 || strncmp(rest, "ssl.", 4) == 0 || strncmp(rest, "sasl.", 5) == 0)
        rd_kafka_conf_set(p->conf, rest, value, errstr, sizeof errstr);
}

static int has_partition0(const group_co *c, const rd_kafka_topic_partition_list_t *parts)
{
    for (int i = 0; parts && i < parts->cnt; i++)
        if (parts->elems[i].partition == 0 && strcmp(parts->elems[i].topic, c->topic) == 0)
            return 1;
    return 0;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t e, rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    group_co *c = opaque;
    int cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    int ours = has_partition0(c, parts);
    if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (cooperative)
            rd_kafka_error_destroy(rd_kafka_incremental_assign(rk, parts));
        else
            rd_kafka_assign(rk, parts);
        if (ours)
            c->assigned = 1;
        return;
    }
    if (ours && c->assigned) {
        c->assigned = 0;
        snprintf(c->why, sizeof c->why, "%s",
                 rd_kafka_assignment_lost(rk)
                     ? "the Kafka group coordinator no longer counts this member (no heartbeat within "
                       "ha.session.timeout)"
                     : "the Kafka group moved the coordination partition to another member");
    }
    if (cooperative)
        rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, parts));
    else
        rd_kafka_assign(rk, NULL);
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    sl_debug("librdkafka %d %s: %s", level, fac, buf);
}

static int set(rd_kafka_conf_t *conf, const char *key, const char *value, sl_err *err)
{
    char errstr[512];
    if (rd_kafka_conf_set(conf, key, value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
        return sl_errf(err, SL_ECONFIG, "ha.mode kafka-group: %s=%s: %s", key, value, errstr);
    return 0;
}

static rd_kafka_conf_t *consumer_conf(group_co *c, sl_err *err)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char session[32], hb[32];
    snprintf(session, sizeof session, "%lld", (long long)c->session_ms);
    /* a tenth of the session: a hand-over reaches the standbys fast */
    snprintf(hb, sizeof hb, "%lld", (long long)(c->session_ms / 10 < 100 ? 100 : c->session_ms / 10));
    char client_id[256];
    snprintf(client_id, sizeof client_id, "sluice-ha %s", c->member);
    for (char *p = client_id; *p; p++)
        if (*p == ' ' || *p == ':')
            *p = '-';
    if (c->sink_opts) {
        prop_ctx p = {conf};
        sl_opt_each_prefix(c->sink_opts, "properties.", copy_security, &p);
    }
    if (set(conf, "bootstrap.servers", c->brokers, err) || set(conf, "group.id", c->topic, err) ||
        set(conf, "client.id", client_id, err) || set(conf, "session.timeout.ms", session, err) ||
        set(conf, "heartbeat.interval.ms", hb, err) ||
        set(conf, "partition.assignment.strategy", "cooperative-sticky", err) ||
        set(conf, "enable.auto.commit", "false", err) || set(conf, "enable.auto.offset.store", "false", err) ||
        set(conf, "allow.auto.create.topics", "false", err)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_opaque(conf, c);
    return conf;
}

/* the coordination topic with its one partition; one that exists stays */
static int ensure_topic(group_co *c, sl_err *err)
{
    char errstr[512];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(c->topic, 1, -1, errstr, sizeof errstr);
    if (!nt)
        return sl_errf(err, SL_ECONFIG, "ha.kafka.topic %s: %s", c->topic, errstr);
    rd_kafka_queue_t *q = rd_kafka_queue_new(c->rk);
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(c->rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(o, (int)c->session_ms, errstr, sizeof errstr);
    rd_kafka_CreateTopics(c->rk, &nt, 1, o, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, (int)c->session_ms + 1000);
    int rc = 0;
    if (!ev) {
        rc = sl_errf(err, SL_ERUNTIME, "creating the coordination topic %s at %s: no answer from the brokers",
                     c->topic, c->brokers);
    } else if (rd_kafka_event_error(ev)) {
        rc = sl_errf(err, SL_ERUNTIME, "creating the coordination topic %s at %s: %s", c->topic, c->brokers,
                     rd_kafka_event_error_string(ev));
    } else {
        size_t n;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        rd_kafka_resp_err_t e = n ? rd_kafka_topic_result_error(res[0]) : RD_KAFKA_RESP_ERR_NO_ERROR;
        if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
            rc = sl_errf(err, e == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ? SL_ECONFIG : SL_ERUNTIME,
                         "creating the coordination topic %s: %s", c->topic, rd_kafka_topic_result_error_string(res[0]));
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    return rc;
}

static int join(group_co *c, sl_err *err)
{
    rd_kafka_conf_t *conf = consumer_conf(c, err);
    if (!conf)
        return SL_ECONFIG;
    char errstr[512];
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!c->rk) {
        rd_kafka_conf_destroy(conf);
        return sl_errf(err, SL_ECONFIG, "ha.mode kafka-group: %s", errstr);
    }
    rd_kafka_poll_set_consumer(c->rk);
    int rc = c->topic_ready ? 0 : ensure_topic(c, err);
    if (rc)
        return rc;
    c->topic_ready = 1;
    rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(t, c->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(c->rk, t);
    rd_kafka_topic_partition_list_destroy(t);
    if (e)
        return sl_errf(err, SL_ERUNTIME, "subscribing to %s: %s", c->topic, rd_kafka_err2str(e));
    c->assigned = 0;
    c->why[0] = 0;
    return 0;
}

static void leave(group_co *c)
{
    if (!c->rk)
        return;
    /* LeaveGroup now, so a standby gets the partition without waiting
     * for the session to time out */
    rd_kafka_consumer_close(c->rk);
    rd_kafka_destroy(c->rk);
    c->rk = NULL;
    c->assigned = 0;
}

/* serves the group's callbacks; errors that need a new consumer go to err */
static int serve(group_co *c, int wait_ms, sl_err *err)
{
    rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, wait_ms);
    if (!m)
        return 0;
    rd_kafka_resp_err_t e = m->err;
    char text[512];
    snprintf(text, sizeof text, "%s", e ? rd_kafka_message_errstr(m) : "");
    rd_kafka_message_destroy(m);
    if (e == RD_KAFKA_RESP_ERR_INVALID_SESSION_TIMEOUT)
        return sl_errf(err, SL_ECONFIG,
                       "ha.session.timeout %lld ms is outside the broker's group.min.session.timeout.ms .. "
                       "group.max.session.timeout.ms (6 s .. 30 min by default)",
                       (long long)c->session_ms);
    if (e == RD_KAFKA_RESP_ERR__FATAL || e == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED ||
        e == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
        return sl_errf(err, SL_ERUNTIME, "Kafka group %s: %s", c->topic, text);
    return 0; /* transport errors are retried by the client itself */
}

static int kg_open(const sl_config *cfg, const char *member, int64_t session_ms, const volatile sig_atomic_t *stop,
                   void **self, sl_err *err)
{
    (void)stop;
    group_co *c = calloc(1, sizeof *c);
    if (!c)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    int kafka_sink = strcmp(cfg->sink_plugin->name, "kafka") == 0;
    const char *b = sl_opt_str(&cfg->pipeline, "ha.kafka.bootstrap.servers");
    if (!b && kafka_sink)
        b = sl_opt_str(&cfg->sink, "properties.bootstrap.servers");
    snprintf(c->brokers, sizeof c->brokers, "%s", b ? b : "");
    c->sink_opts = kafka_sink ? &cfg->sink : NULL;
    topic_of(cfg, c->topic, sizeof c->topic);
    snprintf(c->member, sizeof c->member, "%s", member);
    c->session_ms = session_ms;
    *self = c;
    return 0;
}

static int kg_acquire(void *self, int wait_ms, sl_err *err)
{
    group_co *c = self;
    if (!c->rk && join(c, err))
        return -1;
    if (serve(c, wait_ms, err))
        return -1;
    return c->assigned;
}

static int kg_check(void *self, int wait_ms, sl_err *err)
{
    group_co *c = self;
    (void)wait_ms;
    if (!c->rk) {
        sl_errf(err, SL_ERUNTIME, "the group consumer is closed");
        return 1;
    }
    if (serve(c, 0, err))
        return 1;
    if (!c->assigned) {
        sl_errf(err, SL_ERUNTIME, "%s", c->why[0] ? c->why : "the coordination partition was taken away");
        return 1;
    }
    return 0;
}

static void kg_release(void *self) { leave(self); }

static void kg_close(void *self)
{
    group_co *c = self;
    if (!c)
        return;
    leave(c);
    free(c);
}

static int kg_status(const sl_config *cfg, json_t *view, sl_err *err)
{
    group_co *c = NULL;
    int rc = kg_open(cfg, "status", 10000, NULL, (void **)&c, err);
    if (rc)
        return rc;
    rd_kafka_conf_t *conf = consumer_conf(c, err);
    char errstr[512];
    rd_kafka_t *rk = conf ? rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr) : NULL;
    if (!rk) {
        if (conf) {
            rd_kafka_conf_destroy(conf);
            rc = sl_errf(err, SL_ERUNTIME, "ha status: %s", errstr);
        } else {
            rc = SL_ECONFIG;
        }
        free(c);
        return rc;
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    const char *groups[] = {c->topic};
    rd_kafka_DescribeConsumerGroups(rk, groups, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 10000);
    const rd_kafka_DescribeConsumerGroups_result_t *res = ev ? rd_kafka_event_DescribeConsumerGroups_result(ev) : NULL;
    size_t n = 0;
    const rd_kafka_ConsumerGroupDescription_t **gs = res ? rd_kafka_DescribeConsumerGroups_result_groups(res, &n) : NULL;
    if (!ev || rd_kafka_event_error(ev) || !n) {
        rc = sl_errf(err, SL_ERUNTIME, "describing the Kafka group %s at %s: %s", c->topic, c->brokers,
                     ev ? rd_kafka_event_error_string(ev) : "no answer");
    } else if (rd_kafka_ConsumerGroupDescription_error(gs[0])) {
        rc = sl_errf(err, SL_ERUNTIME, "describing the Kafka group %s: %s", c->topic,
                     rd_kafka_error_string(rd_kafka_ConsumerGroupDescription_error(gs[0])));
    } else {
        size_t nm = rd_kafka_ConsumerGroupDescription_member_count(gs[0]);
        rd_kafka_consumer_group_state_t gst = rd_kafka_ConsumerGroupDescription_state(gs[0]);
        /* assignments are only reported while the group is stable */
        int stable = gst == RD_KAFKA_CONSUMER_GROUP_STATE_STABLE;
        int active = 0;
        for (size_t i = 0; i < nm; i++) {
            const rd_kafka_MemberDescription_t *m = rd_kafka_ConsumerGroupDescription_member(gs[0], i);
            active |= has_partition0(c, rd_kafka_MemberAssignment_partitions(rd_kafka_MemberDescription_assignment(m)));
        }
        char what[300];
        snprintf(what, sizeof what, "group and topic %s", c->topic);
        json_object_set_new(view, "coordinator", json_string(what));
        json_object_set_new(view, "state", json_string(rd_kafka_consumer_group_state_name(gst)));
        json_object_set_new(view, "roles_known", json_boolean(stable));
        json_object_set_new(view, "active", json_boolean(stable && active));
        json_t *members = json_object_get(view, "members");
        for (size_t i = 0; i < nm; i++) {
            const rd_kafka_MemberDescription_t *m = rd_kafka_ConsumerGroupDescription_member(gs[0], i);
            int is_active =
                has_partition0(c, rd_kafka_MemberAssignment_partitions(rd_kafka_MemberDescription_assignment(m)));
            json_array_append_new(members, json_pack("{s:s, s:s, s:o}", "member",
                                                     rd_kafka_MemberDescription_client_id(m), "host",
                                                     rd_kafka_MemberDescription_host(m), "role",
                                                     !stable ? json_null()
                                                             : json_string(is_active ? "active" : "standby")));
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    free(c);
    return rc;
}

const sl_ha_ops sl_ha_kafka_group = {
    .name = "kafka-group",
    .open = kg_open,
    .acquire = kg_acquire,
    .check = kg_check,
    .release = kg_release,
    .close = kg_close,
    .status = kg_status,
};
