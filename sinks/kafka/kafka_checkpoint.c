/* kafka_checkpoint.c — reading the pipeline's last committed checkpoint
 * back from the compacted checkpoint topic.
 *
 * Runs after init_transactions(), which fences any older producer with the
 * same transactional.id and completes its open transaction, so every
 * checkpoint this pipeline ever committed is visible to a read_committed
 * reader and no aborted one is. The reader stops only when it has reached
 * the end of every partition as the broker saw it at the start (the high
 * watermark, measured read_uncommitted): stopping at the first end-of-
 * partition could stop short at the stable offset while another
 * pipeline's transaction on the same topic is still open, and miss a
 * newer checkpoint of ours behind it.
 */
#define SL_LOG_COMPONENT "kafka sink"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../core/clock.h"
#include "../../core/log.h"
#include "kafka_sink.h"

static int partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms, int *out, sl_err *err)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
    rd_kafka_topic_destroy(rkt);
    if (e)
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "cannot read the metadata of checkpoint topic %s: %s", topic,
                       rd_kafka_err2str(e));
    e = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
    *out = md->topic_cnt == 1 ? md->topics[0].partition_cnt : 0;
    rd_kafka_metadata_destroy(md);
    if (e)
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "checkpoint topic %s: %s", topic, rd_kafka_err2str(e));
    return 0;
}

int sl_kafka_read_checkpoint(kafka_sink *k, char **out, sl_err *err)
{
    *out = NULL;
    int rc = sl_kafka_ensure_topic(k, k->ckpt_topic, 1, 1, "checkpoints", err);
    int nparts = 0;
    if (!rc)
        rc = partition_count(k->rk, k->ckpt_topic, (int)k->connect_timeout_ms, &nparts, err);
    if (rc)
        return rc;
    int64_t *hw = calloc((size_t)nparts, sizeof *hw);
    int *done = calloc((size_t)nparts, sizeof *done);
    if (!hw || !done) {
        free(hw);
        free(done);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    int pending = 0;
    for (int p = 0; p < nparts && !rc; p++) {
        int64_t lo = 0;
        rd_kafka_resp_err_t e =
            rd_kafka_query_watermark_offsets(k->rk, k->ckpt_topic, p, &lo, &hw[p], (int)k->connect_timeout_ms);
        if (e)
            rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "cannot read the end offsets of checkpoint topic %s: %s",
                         k->ckpt_topic, rd_kafka_err2str(e));
        done[p] = hw[p] <= lo;
        pending += !done[p];
    }
    rd_kafka_t *c = NULL;
    if (!rc && pending) {
        rd_kafka_conf_t *conf = sl_kafka_conf(k, 1, err);
        char errstr[512];
        if (!conf)
            rc = SL_ECONFIG;
        else if (!(c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr))) {
            rd_kafka_conf_destroy(conf);
            rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "checkpoint reader: %s", errstr);
        }
    }
    if (!rc && c) {
        /* EOF events tell where the fetcher stands even when the tail of a
         * partition is aborted records and transaction markers */
        rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(nparts);
        for (int p = 0; p < nparts; p++)
            if (!done[p])
                rd_kafka_topic_partition_list_add(parts, k->ckpt_topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_resp_err_t e = rd_kafka_assign(c, parts);
        rd_kafka_topic_partition_list_destroy(parts);
        if (e)
            rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "cannot read checkpoint topic %s: %s", k->ckpt_topic,
                         rd_kafka_err2str(e));
        size_t keylen = strlen(k->pipeline);
        int64_t deadline = sl_mono_ms() + k->commit_timeout_ms + k->connect_timeout_ms;
        unsigned long long records = 0;
        while (!rc && pending) {
            if (sl_mono_ms() > deadline) {
                rc = sl_errf(err, SL_ERUNTIME,
                             SL_LOG_PREFIX "could not read checkpoint topic %s to its end within %lld ms "
                             "(a transaction of another producer on it stays open?)%s%s",
                             k->ckpt_topic, (long long)(k->commit_timeout_ms + k->connect_timeout_ms),
                             k->last_error[0] ? "; last broker error: " : "", k->last_error);
                break;
            }
            rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
            if (!m)
                continue;
            int p = m->partition;
            int64_t next = -1;
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                next = m->offset;
            } else if (m->err) {
                if (m->err != RD_KAFKA_RESP_ERR__TRANSPORT && m->err != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
                    rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "reading checkpoint topic %s: %s", k->ckpt_topic,
                                 rd_kafka_message_errstr(m));
            } else {
                records++;
                next = m->offset + 1;
                if (m->key_len == keylen && memcmp(m->key, k->pipeline, keylen) == 0) {
                    free(*out);
                    *out = NULL;
                    if (m->payload) {
                        *out = malloc(m->len + 1);
                        if (!*out) {
                            rc = sl_errf(err, SL_ERUNTIME, "out of memory");
                        } else {
                            memcpy(*out, m->payload, m->len);
                            (*out)[m->len] = 0;
                        }
                    }
                }
            }
            if (p >= 0 && p < nparts && !done[p] && next >= hw[p]) {
                done[p] = 1;
                pending--;
            }
            rd_kafka_message_destroy(m);
        }
        sl_debug("read %llu checkpoint records from %s", records, k->ckpt_topic);
        rd_kafka_consumer_close(c);
    }
    if (c)
        rd_kafka_destroy(c);
    free(hw);
    free(done);
    if (rc) {
        free(*out);
        *out = NULL;
    }
    return rc;
}
