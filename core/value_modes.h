/* value_modes.h — Debezium's value-handling modes (its connector options
 * decimal.handling.mode, bigint.unsigned.handling.mode,
 * time.precision.mode, interval.handling.mode, binary.handling.mode).
 *
 * envelope.c renders values and sinks/kafka/connect_schema.c describes
 * them; both ask this module what form a column takes under the modes, so
 * a payload and its Connect schema always agree. A NULL sl_value_modes is
 * sluice's own exact rendering (row checksums of `sluice verify`,
 * ClickHouse's JSON columns, PostgreSQL array elements).
 */
#ifndef SL_VALUE_MODES_H
#define SL_VALUE_MODES_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "schema.h"
#include "value.h"

enum { SL_BIGINT_PRECISE = 0, SL_BIGINT_LONG };
enum { SL_DECIMAL_STRING = 0, SL_DECIMAL_PRECISE, SL_DECIMAL_DOUBLE };
enum { SL_TIME_ADAPTIVE_US = 0, SL_TIME_ADAPTIVE, SL_TIME_CONNECT };
enum { SL_INTERVAL_STRING = 0, SL_INTERVAL_NUMERIC };
enum { SL_BINARY_BYTES = 0, SL_BINARY_BASE64, SL_BINARY_BASE64_URL, SL_BINARY_HEX };

typedef struct sl_value_modes {
    uint8_t bigint_unsigned; /* SL_BIGINT_* */
    uint8_t decimal;         /* SL_DECIMAL_* */
    uint8_t time_precision;  /* SL_TIME_* */
    uint8_t interval;        /* SL_INTERVAL_* */
    uint8_t binary;          /* SL_BINARY_* */
    uint8_t mariadb_as_mysql; /* source.connector "mysql" for MariaDB too */
} sl_value_modes;

/* The option-table rows of every sink that writes the envelope (one
 * definition, spliced into each sink's table). */
#define SL_ENVELOPE_OPTIONS                                                                                          \
    {"decimal.handling.mode", SL_OPT_ENUM, NULL, 0, 0, 0, "string|precise|double",                                 \
     "DECIMAL/numeric; default string in JSON, precise with value.format avro. string = exact text (Debezium's "  \
     "default is precise), precise = Connect Decimal bytes "                                                       \
     "(PostgreSQL unconstrained numeric: io.debezium.data.VariableScaleDecimal), double = a float64 (lossy)."},    \
    {"bigint.unsigned.handling.mode", SL_OPT_ENUM, "precise", 0, 0, 0, "precise|long",                              \
     "BIGINT UNSIGNED: precise = Connect Decimal bytes (exact; Debezium's default is long), long = int64 "        \
     "(values above 9223372036854775807 wrap negative, as Debezium)."},                                           \
    {"time.precision.mode", SL_OPT_ENUM, NULL, 0, 0, 0, "adaptive_time_microseconds|adaptive|connect",            \
     "Times: adaptive_time_microseconds = TIME in microseconds (MySQL's default), adaptive = PostgreSQL "         \
     "time(0..3) in milliseconds (PostgreSQL's default; MySQL's TIME stays microseconds), connect = Kafka Connect's Date/Time/Timestamp in milliseconds "         \
     "(lossy); default: the source's Debezium default."},                                                         \
    {"interval.handling.mode", SL_OPT_ENUM, "string", 0, 0, 0, "string|numeric",                                     \
     "PostgreSQL interval: string = ISO-8601 P<y>Y<m>M<d>DT<h>H<m>M<s>S (exact; Debezium's default is numeric), "  \
     "numeric = io.debezium.time.MicroDuration microseconds (a month counts 30.4375 days)."},                     \
    {"binary.handling.mode", SL_OPT_ENUM, "bytes", 0, 0, 0, "bytes|base64|base64-url-safe|hex",                     \
     "BINARY/BLOB/bytea: bytes (base64 in JSON), base64, base64-url-safe or hex strings."},                       \
    {"mariadb.source.connector", SL_OPT_ENUM, "mariadb", 0, 0, 0, "mariadb|mysql",                                   \
     "source.connector (and the Connect Source schema) of changes read from MariaDB: mariadb as Debezium 3's "     \
     "MariaDB connector writes, or mysql as its MySQL connector did."}

struct sl_options;
/* the modes the SL_ENVELOPE_OPTIONS of o select; connector ("mysql",
 * "postgresql") picks time.precision.mode's default */
void sl_value_modes_from(const struct sl_options *o, const char *connector, sl_value_modes *m);

/* source.connector of an event: "mariadb" for MariaDB's changes unless m
 * keeps "mysql", else the source's own name */
const char *sl_envelope_connector(const char *connector, int mariadb, const sl_value_modes *m);

/* What a column's values become under m (NULL: sluice's own forms). */
int sl_bigint_as_decimal(const sl_column *c, const sl_value_modes *m);
/* PostgreSQL numeric without precision: Debezium's VariableScaleDecimal */
int sl_decimal_variable(const sl_column *c);
int sl_is_interval(const sl_column *c);
/* Debezium's ZonedTime, and the ZonedTimestamp of a MySQL/MariaDB
 * snapshot row (java.time's ISO formatters, SL_VF_ZONED_TRIM): the fraction
 * keeps its significant digits only, none for whole seconds ("10:00:00Z",
 * "…T00:00:00.5Z"). PostgreSQL's timestamptz and the binlog's TIMESTAMP
 * keep the column's digits (Debezium's own formatters). */
int sl_zoned_trimmed(const sl_column *c, const sl_value *v);
/* text (HH:MM:SS[.fff…] then a zone, or ...THH:MM:SS[.fff…]Z) without the
 * fraction's trailing zeros, and without the '.' when nothing is left:
 * the new length (the text is changed in place) */
size_t sl_trim_fraction(char *s, size_t n);
/* a PostgreSQL uuid column (or a domain over uuid): Debezium names its
 * string io.debezium.data.Uuid */
int sl_is_pg_uuid(const sl_column *c);
/* a TIME column in milliseconds (io.debezium.time.Time / Connect Time) */
int sl_time_in_ms(const sl_column *c, const sl_value_modes *m);
/* a DATETIME / timestamp column in milliseconds */
int sl_datetime_in_ms(const sl_column *c, const sl_value_modes *m);

/* Renderers (JSON into b). */
/* decimal text (sign, digits, optional point) as m->decimal says */
void sl_render_decimal(sl_buf *b, const sl_column *c, const char *text, size_t len, const sl_value_modes *m);
/* an unsigned 64-bit integer as Connect Decimal (scale 0) bytes */
void sl_render_decimal_u64(sl_buf *b, uint64_t u);
/* PostgreSQL's ISO-8601 interval text as m->interval says; 0, or -1 when
 * the text is not an interval (the caller writes it as text) */
int sl_render_interval(sl_buf *b, const char *text, size_t len, const sl_value_modes *m);
void sl_render_binary(sl_buf *b, const unsigned char *p, size_t n, const sl_value_modes *m);

#endif
