/* kafka_txmeta.c — Debezium's transaction metadata
 * (provide.transaction.metadata): a BEGIN record when a source
 * transaction's first change is sent, an END record with its event counts
 * per table when it ends, both on <topic.prefix>.transaction keyed by the
 * transaction id, and the block {id, total_order, data_collection_order}
 * in each of its events. Epochs end on transaction boundaries, so a
 * transaction's BEGIN, changes and END are always in one Kafka
 * transaction. Snapshot rows belong to no transaction (as in Debezium).
 */
#define SL_LOG_COMPONENT "kafka sink"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/log.h"
#include "kafka_sink.h"

static const char KEY_SCHEMA[] =
    "{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":\"id\"}],"
    "\"optional\":false,\"name\":\"io.debezium.connector.common.TransactionMetadataKey\",\"version\":1}";
/* Debezium 3.5 declares the data_collections items optional (compared by
 * tests/compat) */
static const char VALUE_SCHEMA[] =
    "{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":\"status\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"id\"},"
    "{\"type\":\"int64\",\"optional\":true,\"field\":\"event_count\"},"
    "{\"type\":\"array\",\"items\":{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,"
    "\"field\":\"data_collection\"},{\"type\":\"int64\",\"optional\":false,\"field\":\"event_count\"}],"
    "\"optional\":true,\"name\":\"event.collection\",\"version\":1},\"optional\":true,\"field\":\"data_collections\"},"
    "{\"type\":\"int64\",\"optional\":false,\"field\":\"ts_ms\"}],\"optional\":false,"
    "\"name\":\"io.debezium.connector.common.TransactionMetadataValue\",\"version\":1}";

void sl_kafka_tx_id(const sl_event *e, char *buf, size_t n)
{
    const sl_txinfo *tx = e->tx;
    buf[0] = 0;
    if (!tx)
        return;
    if (e->schema->schema) /* PostgreSQL: Debezium's "<xid>:<lsn>" */
        snprintf(buf, n, "%" PRIu64 ":%" PRIu64, tx->xid, tx->lsn);
    else if (tx->gtid) /* MySQL/MariaDB: the GTID */
        snprintf(buf, n, "%s", tx->gtid);
}

static int send_record(kafka_sink *k, const char *status, sl_err *err)
{
    kafka_txmeta *t = &k->txmeta;
    if (!t->rkt) {
        int rc = sl_kafka_ensure_topic(k, t->topic, 1, 0, "transaction metadata", err);
        if (rc)
            return rc;
        if (!(t->rkt = rd_kafka_topic_new(k->rk, t->topic, NULL)))
            return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "cannot open topic %s", t->topic);
    }
    sl_buf key, value;
    sl_buf_init(&key);
    sl_buf_init(&value);
    if (k->schemas) {
        sl_buf_adds(&key, "{\"schema\":");
        sl_buf_adds(&key, KEY_SCHEMA);
        sl_buf_adds(&key, ",\"payload\":");
        sl_buf_adds(&value, "{\"schema\":");
        sl_buf_adds(&value, VALUE_SCHEMA);
        sl_buf_adds(&value, ",\"payload\":");
    }
    sl_buf_adds(&key, "{\"id\":");
    sl_json_string(&key, t->id, strlen(t->id));
    sl_buf_addc(&key, '}');
    sl_buf_adds(&value, "{\"status\":\"");
    sl_buf_adds(&value, status);
    sl_buf_adds(&value, "\",\"id\":");
    sl_json_string(&value, t->id, strlen(t->id));
    int end = strcmp(status, "END") == 0;
    if (end) {
        sl_buf_adds(&value, ",\"event_count\":");
        sl_buf_i64(&value, t->total);
        sl_buf_adds(&value, ",\"data_collections\":[");
        for (size_t i = 0; i < t->ntables; i++) {
            if (i)
                sl_buf_addc(&value, ',');
            sl_buf_adds(&value, "{\"data_collection\":");
            sl_json_string(&value, t->tables[i].table, strlen(t->tables[i].table));
            sl_buf_adds(&value, ",\"event_count\":");
            sl_buf_i64(&value, t->tables[i].n);
            sl_buf_addc(&value, '}');
        }
        sl_buf_addc(&value, ']');
    } else {
        sl_buf_adds(&value, ",\"event_count\":null,\"data_collections\":null");
    }
    sl_buf_adds(&value, ",\"ts_ms\":");
    sl_buf_i64(&value, t->ts_ms);
    sl_buf_addc(&value, '}');
    if (k->schemas) {
        sl_buf_addc(&key, '}');
        sl_buf_addc(&value, '}');
    }
    int rc = key.failed || value.failed ? sl_errf(err, SL_ERUNTIME, "out of memory")
                                        : sl_kafka_produce(k, t->rkt, 0, &key, &value, "(transaction metadata)", err);
    sl_buf_free(&key);
    sl_buf_free(&value);
    return rc;
}

int sl_kafka_tx_end(kafka_sink *k, sl_err *err)
{
    kafka_txmeta *t = &k->txmeta;
    if (!t->id[0])
        return 0;
    int rc = send_record(k, "END", err);
    t->id[0] = 0;
    t->total = 0;
    for (size_t i = 0; i < t->ntables; i++)
        free(t->tables[i].table);
    t->ntables = 0;
    return rc;
}

int sl_kafka_tx_event(kafka_sink *k, const sl_event *e, sl_txblock *tb, sl_err *err)
{
    kafka_txmeta *t = &k->txmeta;
    char id[sizeof t->id];
    sl_kafka_tx_id(e, id, sizeof id);
    if (!id[0] && e->tx == t->last_tx && t->id[0])
        snprintf(id, sizeof id, "%s", t->id);
    else if (!id[0]) /* MySQL without GTIDs: where the transaction's first change is */
        snprintf(id, sizeof id, "%s:%" PRIu64, e->tx && e->tx->file ? e->tx->file : "", e->offset);
    t->last_tx = e->tx;
    int rc = 0;
    if (strcmp(id, t->id) != 0) {
        if ((rc = sl_kafka_tx_end(k, err)))
            return rc;
        snprintf(t->id, sizeof t->id, "%s", id);
        t->ts_ms = e->tx ? e->tx->ts_ms : 0;
        if ((rc = send_record(k, "BEGIN", err)))
            return rc;
    }
    const char *table = e->schema->qualified;
    size_t i = 0;
    while (i < t->ntables && strcmp(t->tables[i].table, table) != 0)
        i++;
    if (i == t->ntables) {
        if (sl_grow((void **)&t->tables, &t->cap, t->ntables + 1, sizeof *t->tables) ||
            !(t->tables[i].table = strdup(table)))
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        t->tables[i].n = 0;
        t->ntables++;
    }
    tb->id = t->id;
    tb->total_order = ++t->total;
    tb->data_collection_order = ++t->tables[i].n;
    return 0;
}

void sl_kafka_tx_free(kafka_txmeta *t)
{
    for (size_t i = 0; i < t->ntables; i++)
        free(t->tables[i].table);
    free(t->tables);
    free(t->topic);
    if (t->rkt)
        rd_kafka_topic_destroy(t->rkt);
    memset(t, 0, sizeof *t);
}
