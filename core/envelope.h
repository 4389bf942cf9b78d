/* envelope.h — Debezium-compatible JSON for change events.
 *
 * The file and Kafka sinks write the same envelope so that a consumer
 * written for Debezium reads sluice's output unchanged: before, after,
 * source (with Debezium's field names per connector), op, ts_ms. Value
 * encodings follow Debezium's defaults (adaptive_time_microseconds) except
 * where Debezium would lose information; those are listed in the README.
 */
#ifndef SL_ENVELOPE_H
#define SL_ENVELOPE_H

#include <stdint.h>

#include "buf.h"
#include "event.h"
#include "value_modes.h"

#define SL_VERSION "0.1.0"
#define SL_UNAVAILABLE_VALUE "__debezium_unavailable_value"

typedef struct sl_envelope_opts {
    const char *connector; /* "mysql" or "postgresql" */
    const char *name;      /* logical server name: topic prefix / pipeline name */
    sl_value_modes modes;
} sl_envelope_opts;

void sl_json_string(sl_buf *b, const char *s, size_t len);
/* a NUL-terminated string as a JSON string, NULL as null */
void sl_json_cstr_or_null(sl_buf *b, const char *s);
void sl_json_value(sl_buf *b, const sl_column *col, const sl_value *v);
void sl_json_value_m(sl_buf *b, const sl_column *col, const sl_value *v, const sl_value_modes *m);
/* {"col": value, ...} for every column */
void sl_json_row(sl_buf *b, const sl_table_schema *s, const sl_value *row);
void sl_json_row_m(sl_buf *b, const sl_table_schema *s, const sl_value *row, const sl_value_modes *m);
/* {"pk1": value, ...}; falls back to the whole row when there is no key */
void sl_json_key(sl_buf *b, const sl_table_schema *s, const sl_value *row);
void sl_json_key_m(sl_buf *b, const sl_table_schema *s, const sl_value *row, const sl_value_modes *m);
void sl_json_source(sl_buf *b, const sl_event *e, const sl_envelope_opts *o);
/* Debezium's source.snapshot text of an SL_SNAP_* marker ("false" for none) */
const char *sl_snapshot_marker(uint8_t snap);
/* Debezium's PostgreSQL source.sequence, the text ["<last commit LSN>","<LSN>"]
 * (null for an unknown one), written into buf (64 bytes hold it) */
const char *sl_pg_sequence(const sl_event *e, char *buf, size_t len);
/* the whole change event: {"before":..,"after":..,"source":..,"op":..,"ts_ms":..} */
void sl_json_envelope(sl_buf *b, const sl_event *e, const sl_envelope_opts *o, int64_t now_ms);
/* Debezium's transaction block of an event (provide.transaction.metadata) */
typedef struct sl_txblock {
    const char *id;
    int64_t total_order, data_collection_order; /* 1-based */
} sl_txblock;
/* the same with a transaction block (NULL: "transaction":null) */
void sl_json_envelope_tx(sl_buf *b, const sl_event *e, const sl_envelope_opts *o, int64_t now_ms,
                         const sl_txblock *tb);
/* a schema-change record up to its first table change's "id": (source,
 * ts_ms, databaseName, schemaName, ddl, tableChanges[{type), shared by the
 * file sink's lines and the Kafka sink's Debezium records */
void sl_json_schema_change_head(sl_buf *b, const sl_event *e, const sl_envelope_opts *o, int64_t now_ms);
/* a schema-change record in Debezium's tableChanges shape */
void sl_json_schema_change(sl_buf *b, const sl_event *e, const sl_envelope_opts *o, int64_t now_ms);

/* PostgreSQL's infinite dates and timestamps (text "infinity",
 * "-infinity" in a column of kind SL_DATE / SL_DATETIME) as the extremes
 * of the schema's integer type, where text would contradict it: 1 when
 * written */
int sl_json_infinity(sl_buf *b, uint8_t kind, const sl_value *v);

void sl_base64(sl_buf *b, const unsigned char *p, size_t n);
void sl_format_double(sl_buf *b, double d, int is_float);

#endif
