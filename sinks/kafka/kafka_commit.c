/* kafka_commit.c — committing an epoch of the kafka sink, pipelined with
 * the rendering of the next one.
 *
 * Exactly-once: an epoch's data and its checkpoint commit in one producer
 * transaction. A producer has one transaction at a time, and
 * commit_transaction first waits until the brokers have acknowledged every
 * message of the epoch (up to queue.buffering.max.kbytes in flight), during
 * which librdkafka accepts no message for the next one. A synchronous
 * commit therefore stopped the runtime thread, and with it all rendering,
 * for the whole flush of every epoch. commit_start() hands the flush and
 * commit_transaction to a thread of its own and returns at once: write()
 * keeps rendering the next epoch's messages and holds them here (topic,
 * partition choice, key, value, headers), up to HOLD_MAX bytes, after
 * which it waits for the commit. Once the commit is done, the next
 * transaction begins and the held messages are produced first, in the
 * order they were written.
 *
 * What the crash tests prove is unchanged: nothing of epoch N+1 reaches
 * librdkafka before epoch N's transaction has committed, and one producer
 * (one transactional.id, one idempotent sequence per partition) appends to
 * every partition in produce order, so a key's changes cannot interleave
 * across epochs; the checkpoint travels in its epoch's transaction; a
 * crash with a commit in flight loses only uncommitted epochs (the held
 * messages were never sent), and the runtime tells the source of a
 * checkpoint only once commit_done() says it is durable; fencing is the
 * single transactional.id's. Two producers alternating epochs would let
 * epoch N+1's messages reach a partition while epoch N's are still in
 * flight there (different producers have no common order), so they would
 * have to wait for N's acknowledgements anyway, plus fence two ids.
 *
 * At-least-once: flush, then the checkpoint, synchronously.
 */
#define SL_LOG_COMPONENT "kafka sink"

#include <stdlib.h>
#include <string.h>

#include "../../core/clock.h"
#include "../../core/log.h"
#include "kafka_sink.h"

/* what write() may hold while a commit is in flight; more waits for it */
#define HOLD_MAX ((size_t)8 << 20)

/* one held message, followed in k->held by its key, value and table name
 * (NUL-terminated) */
typedef struct held_msg {
    rd_kafka_topic_t *rkt;
    rd_kafka_headers_t *headers; /* a copy of the caller's, or NULL */
    int32_t partition;
    int null_value; /* a tombstone */
    size_t klen, vlen, tlen;
} held_msg;

static int put_checkpoint(kafka_sink *k, const char *checkpoint, sl_err *err)
{
    sl_buf key = {0}, value = {0};
    key.data = k->pipeline;
    key.len = strlen(k->pipeline);
    value.data = (char *)checkpoint;
    value.len = strlen(checkpoint);
    return sl_kafka_produce(k, k->ckpt_rkt, RD_KAFKA_PARTITION_UA, &key, &value, "(checkpoint)", err);
}

/* The open transaction (checkpoint included) committed: every message
 * acknowledged, then EndTxn, retried while retriable. */
static int commit_txn(kafka_sink *k, sl_err *err)
{
    int64_t t_flush = sl_mono_ms();
    int64_t deadline = t_flush + k->commit_timeout_ms;
    /* commit_transaction flushes first anyway; flushing here separately
     * only lets the timeline tell the acknowledgements from EndTxn */
    rd_kafka_flush(k->rk, (int)k->commit_timeout_ms);
    int64_t t_end = sl_mono_ms();
    for (;;) {
        int64_t left = deadline - sl_mono_ms();
        rd_kafka_error_t *e = rd_kafka_commit_transaction(k->rk, (int)(left > 1000 ? left : 1000));
        if (!e)
            break;
        if (k->delivery_error[0] && !rd_kafka_error_is_fatal(e)) {
            /* name the message that failed rather than the transaction */
            rd_kafka_error_destroy(e);
            rd_kafka_error_t *ae = rd_kafka_abort_transaction(k->rk, (int)k->commit_timeout_ms);
            if (ae)
                rd_kafka_error_destroy(ae);
            k->in_txn = 0;
            return sl_errf(err, SL_ERUNTIME, "%s", k->delivery_error);
        }
        int rc = sl_kafka_txn_error(k, e, "commit_transaction", err);
        if (rc != 1)
            return rc;
        if (sl_mono_ms() >= deadline)
            return sl_errf(err, SL_ERETRY, SL_LOG_PREFIX "the transaction did not commit within %lld ms%s%s",
                           (long long)k->commit_timeout_ms, k->last_error[0] ? ": " : "", k->last_error);
        sl_info("commit_transaction will be retried (%s)", k->last_error);
    }
    k->in_txn = 0;
    k->commit_flush_ms = t_end - t_flush;
    k->commit_endtxn_ms = sl_mono_ms() - t_end;
    return 0;
}

/* span: from the epoch's first write to the start of its commit */
static void timeline(const kafka_sink *k, const kafka_epoch_times *ep, int64_t span, unsigned long long held)
{
    sl_debug("epoch timeline: %llu messages; %lld ms from the first write to the commit, %lld ms of it in write "
             "(%lld ms waiting for room in the producer queue, %lld ms for the previous commit); flush %lld ms, "
             "commit_transaction %lld ms; %llu messages of the next epoch rendered meanwhile",
             ep->msgs, (long long)span, (long long)ep->write_ms,
             (long long)ep->full_ms, (long long)ep->stall_ms, (long long)k->commit_flush_ms,
             (long long)k->commit_endtxn_ms, held);
}

/* At-least-once, or exactly-once without pipelining (the plugin's
 * commit()). */
int sl_kafka_commit(void *self, const char *checkpoint, sl_err *err)
{
    kafka_sink *k = self;
    int rc;
    if (!k->exactly_once) {
        /* the data first, then the checkpoint that covers it */
        rd_kafka_resp_err_t e = rd_kafka_flush(k->rk, (int)k->commit_timeout_ms);
        if (!e && k->delivery_error[0])
            return sl_errf(err, SL_ERUNTIME, "%s", k->delivery_error);
        if (!e && (rc = put_checkpoint(k, checkpoint, err)))
            return rc;
        if (!e)
            e = rd_kafka_flush(k->rk, (int)k->commit_timeout_ms);
        if (e)
            return sl_errf(err, SL_ERETRY, SL_LOG_PREFIX "messages not acknowledged within %lld ms: %s%s%s",
                           (long long)k->commit_timeout_ms, rd_kafka_err2str(e), k->last_error[0] ? "; " : "",
                           k->last_error);
        return k->delivery_error[0] ? sl_errf(err, SL_ERUNTIME, "%s", k->delivery_error) : 0;
    }
    if ((rc = sl_kafka_begin(k, err)) || (rc = put_checkpoint(k, checkpoint, err)))
        return rc;
    int64_t started = sl_mono_ms();
    if ((rc = commit_txn(k, err)))
        return rc;
    timeline(k, &k->ep, k->ep.start_ms ? started - k->ep.start_ms : 0, 0);
    memset(&k->ep, 0, sizeof k->ep);
    return 0;
}

static void *committer_main(void *arg)
{
    kafka_sink *k = arg;
    k->commit_rc = commit_txn(k, &k->commit_err);
    __atomic_store_n(&k->commit_finished, 1, __ATOMIC_RELEASE);
    return NULL;
}

int sl_kafka_commit_start(void *self, const char *checkpoint, sl_err *err)
{
    kafka_sink *k = self;
    if (!k->exactly_once)
        return sl_kafka_commit(self, checkpoint, err);
    int rc;
    if ((rc = sl_kafka_begin(k, err)) || (rc = put_checkpoint(k, checkpoint, err)))
        return rc;
    k->ep_committing = k->ep;
    k->commit_span_ms = k->ep.start_ms ? sl_mono_ms() - k->ep.start_ms : 0;
    memset(&k->ep, 0, sizeof k->ep);
    k->commit_rc = 0;
    k->commit_flush_ms = k->commit_endtxn_ms = 0;
    __atomic_store_n(&k->commit_finished, 0, __ATOMIC_RELAXED);
    if (pthread_create(&k->committer, NULL, committer_main, k))
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "cannot start a thread to commit the epoch");
    k->committing = 1;
    return 0;
}

static void drop_held(kafka_sink *k)
{
    for (size_t off = 0; off < k->held.len;) {
        held_msg m;
        memcpy(&m, k->held.data + off, sizeof m);
        off += sizeof m + m.klen + m.vlen + m.tlen + 1;
        if (m.headers)
            rd_kafka_headers_destroy(m.headers);
    }
    sl_buf_reset(&k->held);
    k->nheld = 0;
}

/* the held messages into the new transaction, in their order */
static int produce_held(kafka_sink *k, sl_err *err)
{
    int rc = 0;
    for (size_t off = 0; off < k->held.len && !rc;) {
        held_msg m;
        memcpy(&m, k->held.data + off, sizeof m);
        off += sizeof m;
        sl_buf key = {.data = k->held.data + off, .len = m.klen};
        off += m.klen;
        sl_buf value = {.data = k->held.data + off, .len = m.vlen};
        off += m.vlen;
        const char *table = k->held.data + off;
        off += m.tlen + 1;
        rc = sl_kafka_produce_h(k, m.rkt, m.partition, &key, m.null_value ? NULL : &value, m.headers, table, err);
        if (m.headers)
            rd_kafka_headers_destroy(m.headers);
        if (rc) {
            /* the rest is dropped; their headers are still ours */
            memmove(k->held.data, k->held.data + off, k->held.len - off);
            k->held.len -= off;
            drop_held(k);
            return rc;
        }
    }
    sl_buf_reset(&k->held);
    k->nheld = 0;
    return 0;
}

/* The commit in flight: *done = 0 while it runs (wait = 0); once it has
 * committed, the next transaction begins with what was held. */
static int settle(kafka_sink *k, int wait, int *done, sl_err *err)
{
    *done = 1;
    if (!k->committing)
        return 0;
    if (!wait && !__atomic_load_n(&k->commit_finished, __ATOMIC_ACQUIRE)) {
        *done = 0;
        return 0;
    }
    pthread_join(k->committer, NULL);
    k->committing = 0;
    if (k->commit_rc) {
        memcpy(err, &k->commit_err, sizeof *err);
        drop_held(k);
        return k->commit_rc;
    }
    timeline(k, &k->ep_committing, k->commit_span_ms, k->nheld);
    if (!k->held.len)
        return 0;
    int rc = sl_kafka_begin(k, err);
    return rc ? rc : produce_held(k, err);
}

int sl_kafka_commit_done(void *self, int wait, int *done, sl_err *err)
{
    return settle(self, wait, done, err);
}

int sl_kafka_hold(kafka_sink *k, rd_kafka_topic_t *rkt, int32_t partition, const sl_buf *key, const sl_buf *value,
                  rd_kafka_headers_t *headers, const char *table, sl_err *err)
{
    /* a commit that is done lets the next transaction begin right away */
    int finished = __atomic_load_n(&k->commit_finished, __ATOMIC_ACQUIRE);
    if (finished || k->held.len >= HOLD_MAX) {
        int64_t t0 = sl_mono_ms();
        int done, rc = settle(k, 1, &done, err);
        if (!finished)
            k->ep.stall_ms += sl_mono_ms() - t0;
        /* settle began the next transaction only if something was held */
        if (!rc)
            rc = sl_kafka_begin(k, err);
        return rc ? rc : sl_kafka_produce_h(k, rkt, partition, key, value, headers, table, err);
    }
    held_msg m = {.rkt = rkt,
                  .partition = partition,
                  .null_value = !value,
                  .klen = key ? key->len : 0,
                  .vlen = value ? value->len : 0,
                  .tlen = strlen(table)};
    if (headers && !(m.headers = rd_kafka_headers_copy(headers)))
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    size_t at = k->held.len;
    sl_buf_add(&k->held, &m, sizeof m);
    if (m.klen)
        sl_buf_add(&k->held, key->data, m.klen);
    if (m.vlen)
        sl_buf_add(&k->held, value->data, m.vlen);
    sl_buf_add(&k->held, table, m.tlen + 1);
    if (k->held.failed) {
        /* whole records only, so that drop_held can walk them */
        k->held.len = at;
        k->held.failed = 0;
        if (m.headers)
            rd_kafka_headers_destroy(m.headers);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    k->nheld++;
    return 0;
}

void sl_kafka_commit_drop(kafka_sink *k)
{
    if (k->committing) {
        pthread_join(k->committer, NULL);
        k->committing = 0;
    }
    drop_held(k);
}
