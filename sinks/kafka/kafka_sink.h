/* kafka_sink.h — state shared by the files of the kafka sink.
 *
 * kafka_sink.c owns the producer, the epoch transaction and the plugin
 * callbacks; kafka_commit.c commits an epoch, pipelined with the next;
 * kafka_conf.c turns the option table (properties.* included) into
 * librdkafka configuration; kafka_topics.c names and creates topics;
 * kafka_checkpoint.c reads the last committed checkpoint back;
 * kafka_check.c is `sluice check --connect`;
 * connect_schema.c renders the optional Kafka Connect schema blocks;
 * kafka_avro.h: Avro values and keys with a schema registry.
 */
#ifndef SL_KAFKA_SINK_H
#define SL_KAFKA_SINK_H

#include <librdkafka/rdkafka.h>
#include <pthread.h>

#include "../../core/buf.h"
#include "../../core/envelope.h"
#include "../../core/option.h"
#include "../sink.h"
#include "kafka_avro.h"
#include "kafka_flink_opts.h"

/* one sink table (a source table, or a route target) and its topic */
typedef struct kafka_topic {
    char *name;               /* topic name */
    rd_kafka_topic_t *rkt;
    const sl_table_schema *schema; /* the version the cached schema blocks describe */
    const char *connector;         /* ... and the source.connector they name */
    char *key_schema, *value_schema;
    kafka_avro_table avro; /* value.format/key.format avro: schemas and registry ids */
} kafka_topic;

/* kafka_txmeta.c: provide.transaction.metadata */
typedef struct kafka_txcount {
    char *table; /* the data collection, "db.table" */
    int64_t n;
} kafka_txcount;

typedef struct kafka_txmeta {
    int on;
    char *topic;               /* <topic.prefix>.transaction */
    rd_kafka_topic_t *rkt;
    char id[192];              /* the open source transaction; "" = none */
    const sl_txinfo *last_tx;  /* its events' shared info (MySQL without GTIDs) */
    int64_t ts_ms, total;
    kafka_txcount *tables;
    size_t ntables, cap;
} kafka_txmeta;

/* one epoch's timeline (debug line at each commit) */
typedef struct kafka_epoch_times {
    int64_t start_ms;  /* its first write */
    int64_t write_ms;  /* inside write(): rendering and producing */
    int64_t full_ms;   /* of which waiting for room in librdkafka's queue */
    int64_t stall_ms;  /* of which waiting for the previous commit (too much held) */
    unsigned long long msgs;
} kafka_epoch_times;

typedef struct kafka_sink {
    const sl_options *opts;
    rd_kafka_t *rk;
    int exactly_once;
    int in_txn;
    int64_t txn_begin_ms; /* monotonic; when the open transaction began */
    int tombstones, schemas, schema_changes;
    int64_t connect_timeout_ms, commit_timeout_ms;
    int topic_partitions, topic_replication;
    char *prefix, *pipeline, *ckpt_topic, *txn_id, *bootstrap;
    const sl_route_table *routes;
    sl_envelope_opts env;
    kafka_topic *topics;
    size_t ntopics, cap_topics;
    /* each source table's targets: a run of consecutive topics (several
     * when overlapping routes send it to several sink tables) */
    struct kafka_source *sources;
    size_t nsources, cap_sources;
    struct kafka_source *last; /* the source of the previous event (runs of one table) */
    rd_kafka_topic_t *schema_rkt, *ckpt_rkt;
    sl_buf key, value;
    /* first delivery failure of the open epoch, set from delivery reports */
    char delivery_error[SL_ERRLEN];
    /* the last error librdkafka reported through error_cb (for messages) */
    char last_error[512];
    kafka_flink flink; /* Flink CDC's Kafka sink options */
    kafka_avro avro;   /* Avro and the schema registry (kafka_avro.h) */
    kafka_txmeta txmeta;
    /* the open epoch's timeline, for the debug line each commit logs */
    kafka_epoch_times ep, ep_committing;
    /* kafka_commit.c: the pipelined commit. While `committing`, a thread
     * of its own runs commit_transaction and write() holds the next
     * epoch's messages in `held` (rendered, not produced) */
    int committing;       /* runtime thread only; the thread runs meanwhile */
    pthread_t committer;
    int commit_finished;  /* atomic: the thread has its result */
    int commit_rc;        /* the thread's result and message */
    sl_err commit_err;
    int64_t commit_flush_ms, commit_endtxn_ms, commit_span_ms;
    sl_buf held;
    unsigned long long nheld;
} kafka_sink;

/* kafka_sink.c: the sink's settings from its options, not connected yet,
 * into *out; and its release (whatever is set up) */
int sl_kafka_new(const sl_options *o, const sl_sink_env *env, kafka_sink **out, sl_err *err);
/* k->rk: a producer configured from k (not yet talking to a broker) */
int sl_kafka_producer(kafka_sink *k, sl_err *err);
void sl_kafka_free(kafka_sink *k);

/* kafka_check.c: the plugin's check_connect */
int sl_kafka_check(const sl_options *o, const sl_sink_env *env, FILE *out, sl_err *err);

/* kafka_conf.c: a producer (or, with consumer = 1, a checkpoint reader)
 * configuration built from the sink's options */
rd_kafka_conf_t *sl_kafka_conf(const kafka_sink *k, int consumer, sl_err *err);

typedef struct kafka_source {
    char *qualified; /* "db.table" */
    size_t first, n; /* its topics: k->topics[first .. first + n) */
} kafka_source;

/* The error for a fenced producer: when the open transaction is older than
 * transaction.timeout the broker aborted it (a source transaction too big
 * to send within the timeout), otherwise another sluice took over. */
int sl_kafka_fenced_error(const kafka_sink *k, int64_t now_ms, const char *what, const char *reason, sl_err *err);
/* kafka_txmeta.c: an event of a source transaction (BEGIN first when it
 * opens one, ending the previous), filling its block; the END of the open
 * transaction; the transaction id of an event ("" when the source has
 * none) */
int sl_kafka_tx_event(kafka_sink *k, const sl_event *e, sl_txblock *tb, sl_err *err);
int sl_kafka_tx_end(kafka_sink *k, sl_err *err);
void sl_kafka_tx_id(const sl_event *e, char *buf, size_t n);
void sl_kafka_tx_free(kafka_txmeta *t);
/* kafka_sink.c: one message into the open epoch (held while a pipelined
 * commit is in flight), with headers (the producer copies them) or
 * without; begin_transaction unless one is open; a transactional API
 * error as an error class, 1 when the call may be retried */
int sl_kafka_produce(kafka_sink *k, rd_kafka_topic_t *rkt, int32_t partition, const sl_buf *key,
                     const sl_buf *value, const char *table, sl_err *err);
int sl_kafka_produce_h(kafka_sink *k, rd_kafka_topic_t *rkt, int32_t partition, const sl_buf *key,
                       const sl_buf *value, rd_kafka_headers_t *headers, const char *table, sl_err *err);
int sl_kafka_begin(kafka_sink *k, sl_err *err);
int sl_kafka_txn_error(kafka_sink *k, rd_kafka_error_t *e, const char *what, sl_err *err);

/* kafka_commit.c: the plugin's commit, commit_start and commit_done; a
 * message held for the next epoch while a commit is in flight; waiting
 * out the commit in flight and dropping what is held (abort, destroy) */
int sl_kafka_commit(void *self, const char *checkpoint, sl_err *err);
int sl_kafka_commit_start(void *self, const char *checkpoint, sl_err *err);
int sl_kafka_commit_done(void *self, int wait, int *done, sl_err *err);
int sl_kafka_hold(kafka_sink *k, rd_kafka_topic_t *rkt, int32_t partition, const sl_buf *key, const sl_buf *value,
                  rd_kafka_headers_t *headers, const char *table, sl_err *err);
void sl_kafka_commit_drop(kafka_sink *k);

/* kafka_topics.c */
/* characters Kafka does not allow in a topic name become '_' */
void sl_kafka_sanitize(char *name);
/* the topics a table's changes go to (every route target) */
int sl_kafka_topics_for(kafka_sink *k, const sl_table_schema *s, size_t *first, size_t *n, sl_err *err);
/* one CreateTopics request (validate_only: the broker only checks it);
 * the broker's answer, with its text in msg */
rd_kafka_resp_err_t sl_kafka_create_topic(kafka_sink *k, const char *topic, int partitions, int compact,
                                          int validate_only, char *msg, size_t msglen);
int sl_kafka_topic_exists(kafka_sink *k, const char *topic);
/* creates the topic unless it exists; compact = 1 for the checkpoint topic */
int sl_kafka_ensure_topic(kafka_sink *k, const char *topic, int partitions, int compact, const char *why,
                          sl_err *err);
void sl_kafka_topics_free(kafka_sink *k);

/* kafka_checkpoint.c: the newest committed checkpoint of this pipeline */
int sl_kafka_read_checkpoint(kafka_sink *k, char **out, sl_err *err);

/* connect_schema.c: {"type":"struct",...} for the key or the envelope */
void sl_connect_key_schema(sl_buf *b, const sl_table_schema *s, const char *topic, const sl_value_modes *m);
/* connector: the events' source.connector ("mariadb" names the Source schema io.debezium.connector.mariadb.Source) */
void sl_connect_value_schema(sl_buf *b, const sl_table_schema *s, const char *topic, const sl_envelope_opts *env,
                             const char *connector);
/* the Connect schema of the envelope's source block, as field "source" */
void sl_connect_source_schema(sl_buf *b, const sl_table_schema *s, const char *connector);
/* "int16", "int32" or "int64" for an SL_INT column, as Debezium types it */
const char *sl_connect_int_type(const sl_column *c);

/* kafka_schema_change.c: a schema-change record as Debezium writes it to
 * the <topic.prefix> topic, and the Connect schemas of its key and value */
void sl_kafka_schema_change_key(sl_buf *b, const sl_event *e);
void sl_kafka_schema_change_value(sl_buf *b, const sl_event *e, const sl_envelope_opts *o, int64_t now_ms);
void sl_kafka_schema_change_key_schema(sl_buf *b, const sl_table_schema *s, const char *connector);
void sl_kafka_schema_change_value_schema(sl_buf *b, const sl_table_schema *s, const char *connector);

#endif
