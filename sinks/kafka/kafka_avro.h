/* kafka_avro.h — Avro values and keys for the kafka sink, with a
 * Confluent-compatible schema registry.
 *
 * avro_schema.c writes the schema JSON the way Debezium's AvroConverter
 * does (record Envelope/Value/Key in namespace <topic>, connect.name and
 * connect.parameters attributes, decimals as bytes with logicalType
 * decimal) and plans how each column is encoded; avro_datum.c encodes rows
 * and envelopes with formats/avro's binary helpers into the Confluent wire
 * format (magic 0, 4-byte big-endian schema id, datum); schema_registry.c
 * is the registry's REST client (libcurl + jansson, several URLs,
 * retries); kafka_avro.c ties them to the sink's topics: register once
 * per (subject, schema), explain a refusal by the columns that changed.
 * Why not avro-c: it drops logicalType and every other attribute from the
 * schemas it writes (DESIGN.md §8).
 */
#ifndef SL_KAFKA_AVRO_H
#define SL_KAFKA_AVRO_H

#include <signal.h>
#include <stdint.h>

#include "../../core/buf.h"
#include "../../core/envelope.h"
#include "../../core/err.h"
#include "../../core/event.h"
#include "../../core/option.h"
#include "../../core/value_modes.h"

/* the sink's option table entries for Avro (expanded inside kafka_sink.c's table) */
#define SL_KAFKA_AVRO_OPTIONS                                                                                        \
    {"schema.registry.url", SL_OPT_LIST, NULL, 0, 0, 0, NULL,                                                        \
     "Confluent-compatible schema registry for value.format/key.format avro; several URLs fail over in order."},     \
        {"schema.registry.basic.auth.user", SL_OPT_STRING, NULL, 0, 0, 0, NULL,                                      \
         "Registry user (HTTP basic auth)."},                                                                        \
        {"schema.registry.basic.auth.password", SL_OPT_SECRET, NULL, 0, 0, 0, NULL,                                  \
         "Registry password (HTTP basic auth)."},                                                                    \
        {"schema.registry.bearer.token", SL_OPT_SECRET, NULL, 0, 0, 0, NULL,                                         \
         "Registry bearer token (Authorization: Bearer ...)."},                                                      \
        {"schema.registry.ssl.ca.location", SL_OPT_STRING, NULL, 0, 0, 0, NULL,                                      \
         "CA certificates (PEM) the registry's certificate is checked against."},                                    \
        {"schema.registry.ssl.certificate.location", SL_OPT_STRING, NULL, 0, 0, 0, NULL,                             \
         "Client certificate (PEM) for registries that require one."},                                               \
        {"schema.registry.ssl.key.location", SL_OPT_STRING, NULL, 0, 0, 0, NULL, "Client certificate's key (PEM)."}, \
        {"schema.registry.request.timeout", SL_OPT_DURATION, "10s", 0, 100, 600000, NULL,                            \
         "Timeout of one registry request."},                                                                        \
        {"schema.registry.retry.timeout", SL_OPT_DURATION, "60s", 0, 0, 3600000, NULL,                               \
         "How long an unreachable registry (every URL) is retried, with backoff, before the pipeline stops."},       \
        {"subject.name.strategy", SL_OPT_ENUM, "TopicNameStrategy", 0, 0, 0,                                         \
         "TopicNameStrategy|RecordNameStrategy|TopicRecordNameStrategy",                                             \
         "Registry subjects: <topic>-key/<topic>-value, <record full name>, or <topic>-<record full name>."},         \
        {"sanitize.field.names", SL_OPT_BOOL, "true", 0, 0, 0, NULL,                                                 \
         "Avro: characters Avro names do not allow become '_' (a leading digit gets a '_' before it); false: "      \
         "such a column stops the pipeline."}

enum { SL_DEC_PRECISE = 0, SL_DEC_STRING = 1, SL_DEC_DOUBLE = 2 };
enum { SL_SUBJECT_TOPIC = 0, SL_SUBJECT_RECORD = 1, SL_SUBJECT_TOPIC_RECORD = 2 };

/* how one column's values are encoded (decided once per schema version) */
typedef enum avro_enc {
    AV_BOOL,
    AV_INT,
    AV_LONG,
    AV_FLOAT,
    AV_DOUBLE,
    AV_STRING,
    AV_BYTES,
    AV_DECIMAL,     /* bytes, logicalType decimal at the column's scale */
    AV_VARDECIMAL,  /* io.debezium.data.VariableScaleDecimal {scale, value} */
    AV_DEC_STRING,  /* decimal.handling.mode string */
    AV_DEC_DOUBLE,  /* decimal.handling.mode double */
    AV_UDECIMAL,    /* BIGINT UNSIGNED as decimal(20,0) */
    AV_BITS,        /* BIT(n>1): little-endian bytes */
    AV_DATE,        /* int days */
    AV_MICROTIME,   /* long microseconds */
    AV_TS_MS,       /* long milliseconds */
    AV_TS_US,       /* long microseconds */
    AV_ZONED,       /* string ISO-8601 (ZonedTimestamp) */
    AV_TIME_MS,     /* int milliseconds (time.precision.mode adaptive / connect) */
    AV_INTERVAL,    /* string, Debezium's Interval (interval.handling.mode string) */
    AV_INTERVAL_US, /* long, Debezium's MicroDuration (interval.handling.mode numeric) */
} avro_enc;

typedef struct avro_col {
    uint8_t enc;      /* avro_enc */
    uint8_t elem_enc; /* arrays: the element's encoding */
    uint8_t nullable;
    uint8_t is_array;
    uint16_t scale;
} avro_col;

/* the Avro side of one topic for one source schema version */
typedef struct kafka_avro_table {
    const sl_table_schema *schema;
    avro_col *cols;
    char *key_schema, *value_schema; /* JSON */
    char *key_record, *value_record; /* record full names: <ns>.Key, <ns>.Envelope */
    int key_id, value_id;            /* registry ids, -1 until registered */
} kafka_avro_table;

typedef struct kafka_avro_opts {
    int decimal_mode;
    int sanitize;
    const char *connector; /* "mysql", "mariadb", "postgresql" */
    const char *prefix;    /* topic.prefix: the first part of the namespaces */
    sl_value_modes modes;  /* the envelope's value modes: TIME and interval forms as in JSON */
} kafka_avro_opts;

/* avro_schema.c: plans t->cols and writes t->key_schema / t->value_schema
 * for schema s; errors name the table and column */
int sl_avro_table_build(kafka_avro_table *t, const sl_table_schema *s, const kafka_avro_opts *o, sl_err *err);
void sl_avro_table_clear(kafka_avro_table *t);
/* name as an Avro name ([A-Za-z_][A-Za-z0-9_]*): bad characters become '_',
 * a leading digit gets '_' before it */
void sl_avro_sanitize(sl_buf *b, const char *name);

/* avro_datum.c: Confluent framing (magic 0, id) then the datum; errors name
 * the table and column of a value the schema cannot carry */
int sl_avro_key(sl_buf *b, const kafka_avro_table *t, const sl_value *row, sl_err *err);
int sl_avro_envelope(sl_buf *b, const kafka_avro_table *t, const sl_event *e, const sl_envelope_opts *o,
                     int64_t now_ms, sl_err *err);

/* schema_registry.c */
typedef struct sl_schema_registry sl_schema_registry;
/* stop (may be NULL): when set, waiting for the registry ends with SL_ERETRY */
int sl_sr_new(const sl_options *o, const volatile sig_atomic_t *stop, sl_schema_registry **out, sl_err *err);
void sl_sr_free(sl_schema_registry *r);
/* The id of schema under subject, registered when the registry does not
 * hold it yet; cached per (subject, schema). A refusal sets *refused and
 * puts the registry's own message into err. */
int sl_sr_register(sl_schema_registry *r, const char *subject, const char *schema, int *id, int *refused,
                   sl_err *err);
/* the newest schema of subject (malloc'd JSON text), NULL when none */
int sl_sr_latest(sl_schema_registry *r, const char *subject, char **schema, sl_err *err);
/* GET /config once per URL (no retries): the global compatibility level
 * into level, or why no registry answered */
int sl_sr_probe(sl_schema_registry *r, char *level, size_t n, sl_err *err);
/* the URLs, comma-separated, for messages */
const char *sl_sr_urls(const sl_schema_registry *r);

/* kafka_avro.c: ties the above to the sink */
typedef struct kafka_avro {
    sl_schema_registry *sr;
    kafka_avro_opts opts;
    int strategy;
    int key_avro, value_avro;
} kafka_avro;

int sl_kafka_avro_init(kafka_avro *a, const sl_options *o, const char *connector, const char *prefix,
                       const volatile sig_atomic_t *stop, sl_err *err);
void sl_kafka_avro_free(kafka_avro *a);
/* brings t up to schema s (building and registering on a new version) */
int sl_kafka_avro_prepare(kafka_avro *a, kafka_avro_table *t, const sl_table_schema *s, const char *topic,
                          sl_err *err);
/* "column v: type long became int; column x added" between two schema
 * JSON texts' Value records (for the registry's refusals) */
void sl_avro_describe_change(sl_buf *out, const char *old_schema, const char *new_schema);
/* the validate step: option combinations */
int sl_kafka_avro_validate(const sl_options *o, sl_err *err);

#endif
