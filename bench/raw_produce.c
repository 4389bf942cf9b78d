/* raw_produce.c — the Kafka physical limit for `make bench`: a bare
 * librdkafka producer sending N pre-built messages (a JSON key and a value
 * of a given size, as sluice's envelopes are) to one topic, with the same
 * producer settings sluice uses (idempotent, acks=all, linger.ms=5,
 * murmur2 partitioner). Whatever sluice does beyond this — reading the
 * binlog, decoding, rendering JSON, transactions — shows as the gap.
 *
 * usage: raw_produce BOOTSTRAP TOPIC COUNT VALUE_BYTES [PROPERTY=VALUE...]
 * (the extra librdkafka properties let a bench compare settings; with
 * transactional.id every message goes into one transaction, committed at
 * the end, so the cost of the transactions themselves can be told apart)
 * prints: {"messages":N,"seconds":S}
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int failed;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err && !failed) {
        failed = 1;
        fprintf(stderr, "raw_produce: delivery failed: %s\n", rd_kafka_err2str(m->err));
    }
}

static int set(rd_kafka_conf_t *c, const char *k, const char *v)
{
    char errstr[256];
    if (rd_kafka_conf_set(c, k, v, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "raw_produce: %s: %s\n", k, errstr);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: raw_produce BOOTSTRAP TOPIC COUNT VALUE_BYTES [PROPERTY=VALUE...]\n");
        return 2;
    }
    long count = atol(argv[3]);
    size_t vlen = (size_t)atol(argv[4]);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (set(conf, "bootstrap.servers", argv[1]) || set(conf, "enable.idempotence", "true") ||
        set(conf, "linger.ms", "5") || set(conf, "partitioner", "murmur2_random"))
        return 2;
    for (int i = 5; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) {
            fprintf(stderr, "raw_produce: %s: expected PROPERTY=VALUE\n", argv[i]);
            return 2;
        }
        *eq = 0;
        if (set(conf, argv[i], eq + 1))
            return 2;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    char errstr[512];
    int txn = 0;
    for (int i = 5; i < argc; i++)
        txn |= strcmp(argv[i], "transactional.id") == 0;
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "raw_produce: %s\n", errstr);
        return 1;
    }
    char *value = malloc(vlen + 1);
    if (!value)
        return 1;
    /* a value that looks like an envelope to compression, not all one byte */
    for (size_t i = 0; i < vlen; i++)
        value[i] = "{\"before\":null,\"after\":{\"id\":1,\"k\":2,\"c\":\"x\"}}"[i % 46];
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, argv[2], NULL);
    /* connect and learn the partitions before the clock starts */
    const struct rd_kafka_metadata *md;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 30000) == RD_KAFKA_RESP_ERR_NO_ERROR)
        rd_kafka_metadata_destroy(md);
    if (txn) {
        rd_kafka_error_t *e = rd_kafka_init_transactions(rk, 30000);
        if (!e)
            e = rd_kafka_begin_transaction(rk);
        if (e) {
            fprintf(stderr, "raw_produce: %s\n", rd_kafka_error_string(e));
            return 1;
        }
    }
    double t0 = now_s();
    char key[32];
    for (long i = 0; i < count; i++) {
        int klen = snprintf(key, sizeof key, "{\"id\":%ld}", i);
        for (;;) {
            if (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, value, vlen, key, (size_t)klen,
                                 NULL) == 0)
                break;
            if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                fprintf(stderr, "raw_produce: %s\n", rd_kafka_err2str(rd_kafka_last_error()));
                return 1;
            }
            rd_kafka_poll(rk, 10);
        }
        if ((i & 1023) == 0)
            rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, 120000);
    if (txn) {
        rd_kafka_error_t *e = rd_kafka_commit_transaction(rk, 120000);
        if (e) {
            fprintf(stderr, "raw_produce: %s\n", rd_kafka_error_string(e));
            return 1;
        }
    }
    double secs = now_s() - t0;
    printf("{\"messages\":%ld,\"seconds\":%.3f}\n", count, secs);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    free(value);
    return failed ? 1 : 0;
}
