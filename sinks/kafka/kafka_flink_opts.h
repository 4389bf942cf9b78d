/* kafka_flink_opts.h — the options of Flink CDC's Kafka sink that sluice's
 * kafka sink takes as well: one topic for all tables (topic), per-table
 * topics (sink.tableId-to-topic.mapping), partition.strategy, key.format
 * (json or csv), record headers (sink.add-tableId-to-header-enabled,
 * sink.custom-header), debezium-json.include-schema.enabled and
 * sink.delivery-guarantee. Kept apart from kafka_sink.c so the sink's core
 * stays about transactions and delivery. */
#ifndef SL_KAFKA_FLINK_OPTS_H
#define SL_KAFKA_FLINK_OPTS_H

#include <librdkafka/rdkafka.h>

#include "../../core/buf.h"
#include "../../core/event.h"
#include "../../core/option.h"

typedef struct kafka_flink {
    char *topic;        /* every table to this topic, or NULL */
    char **map_from, **map_to;
    size_t nmap;
    char **hdr_key, **hdr_val; /* sink.custom-header */
    size_t nhdr;
    int table_headers;  /* sink.add-tableId-to-header-enabled */
    int all_to_zero;    /* partition.strategy all-to-zero */
    int csv_key;        /* key.format csv */
    int canal;          /* value.format canal-json */
} kafka_flink;

/* checks the options' syntax (load time) */
int sl_kafka_flink_validate(const sl_options *o, sl_err *err);
int sl_kafka_flink_init(kafka_flink *f, const sl_options *o, sl_err *err);
void sl_kafka_flink_free(kafka_flink *f);
/* the topic `topic` or the mapping names for table id ("db.table", after
 * routing), or NULL to name it as usual */
const char *sl_kafka_flink_topic(const kafka_flink *f, const char *table_id);
/* the record headers for a change of table s, or NULL for none (the
 * caller hands them to the producer, which then owns them) */
rd_kafka_headers_t *sl_kafka_flink_headers(const kafka_flink *f, const sl_table_schema *s);
/* the key as Flink's CSV key format writes it: the key columns' text,
 * comma-separated, quoted where needed */
void sl_kafka_csv_key(sl_buf *b, const sl_table_schema *s, const sl_value *row);

#endif
