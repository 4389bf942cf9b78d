/* connect_schema.c — Kafka Connect schema blocks for the JSON envelope.
 *
 * With `schemas.enable: true` every key and value is wrapped as
 * {"schema": ..., "payload": ...} the way Kafka Connect's JsonConverter
 * writes Debezium's records, so consumers that read types from the schema
 * (sink connectors, ksqlDB) work unchanged. Each field's type and semantic
 * name match how envelope.c renders the value (io.debezium.time.Date for
 * days since epoch, MicroTime for microsecond TIMEs, ...). Rendered once
 * per table schema version and cached by the caller.
 */
#include <string.h>

#include "../../core/envelope.h"
#include "kafka_sink.h"

static int starts(const char *s, const char *p) { return s && strncmp(s, p, strlen(p)) == 0; }

static const char *int_type(const sl_column *c)
{
    const char *t = c->type_name;
    if (starts(t, "tinyint") || starts(t, "smallint") || starts(t, "int2"))
        return c->is_unsigned && starts(t, "smallint") ? "int32" : "int16";
    if (starts(t, "mediumint"))
        return "int32";
    if ((starts(t, "int") && !starts(t, "int8") && !starts(t, "integer unsigned")) || starts(t, "integer") ||
        starts(t, "int4") || starts(t, "serial"))
        return c->is_unsigned ? "int64" : "int32";
    /* a PostgreSQL domain keeps its own name: its base type's OID says
     * (int2, int4; MySQL type codes never reach 21) */
    if (c->src_type == 21)
        return "int16";
    if (c->src_type == 23)
        return "int32";
    return "int64";
}

static void field(sl_buf *b, const char *type, int optional, const char *name, const char *fieldname)
{
    sl_buf_adds(b, "{\"type\":\"");
    sl_buf_adds(b, type);
    sl_buf_adds(b, optional ? "\",\"optional\":true" : "\",\"optional\":false");
    if (name) {
        sl_buf_adds(b, ",\"name\":\"");
        sl_buf_adds(b, name);
        sl_buf_adds(b, "\",\"version\":1");
    }
    if (fieldname) {
        sl_buf_adds(b, ",\"field\":");
        sl_json_string(b, fieldname, strlen(fieldname));
    }
}

static void column_field(sl_buf *b, const sl_column *c, const sl_value_modes *m)
{
    const char *type = "string", *name = NULL;
    if (c->is_array) {
        /* a Connect array whose items are described like the element column */
        sl_column elem = *c;
        elem.kind = c->elem_kind;
        elem.nullable = 1;
        elem.name = NULL;
        /* an n-dimensional array is an array of (n-1)-dimensional ones */
        elem.is_array = c->array_dims > 1;
        elem.array_dims = (uint8_t)(c->array_dims > 1 ? c->array_dims - 1 : 0);
        if (elem.is_array)
            elem.kind = c->kind;
        sl_buf_adds(b, "{\"type\":\"array\",\"items\":");
        /* elements are rendered by the source in sluice's own forms; a
         * date is days since the epoch in every form, and only its name
         * follows time.precision.mode (connect: Connect's Date, as Debezium) */
        column_field(b, &elem, elem.kind == SL_DATE ? m : NULL);
        sl_buf_adds(b, c->nullable ? ",\"optional\":true" : ",\"optional\":false");
        if (c->name) {
            sl_buf_adds(b, ",\"field\":");
            sl_json_string(b, c->name, strlen(c->name));
        }
        sl_buf_addc(b, '}');
        return;
    }
    switch ((sl_kind)c->kind) {
    case SL_INT: type = int_type(c); break;
    case SL_UINT:
        if (sl_bigint_as_decimal(c, m)) {
            field(b, "bytes", c->nullable, "org.apache.kafka.connect.data.Decimal", c->name);
            sl_buf_adds(b, ",\"parameters\":{\"scale\":\"0\"}}");
            return;
        }
        /* the next wider signed type, as Debezium: TINYINT UNSIGNED int16,
         * SMALLINT/MEDIUMINT UNSIGNED int32, INT/BIGINT UNSIGNED int64 */
        type = starts(c->type_name, "tinyint")                                            ? "int16"
               : starts(c->type_name, "smallint") || starts(c->type_name, "mediumint") ? "int32"
                                                                                        : "int64";
        break;
    /* JsonConverter's names for Connect's FLOAT32 and FLOAT64 */
    case SL_FLOAT: type = "float"; break;
    case SL_DOUBLE: type = "double"; break;
    case SL_BOOL: type = "boolean"; break;
    case SL_BYTES: type = m && m->binary != SL_BINARY_BYTES ? "string" : "bytes"; break;
    case SL_DECIMAL:
        if (m && m->decimal == SL_DECIMAL_DOUBLE) {
            type = "double";
        } else if (m && m->decimal == SL_DECIMAL_PRECISE && sl_decimal_variable(c)) {
            sl_buf_adds(b, "{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\",\"optional\":false,"
                           "\"field\":\"scale\"},{\"type\":\"bytes\",\"optional\":false,\"field\":\"value\"}]");
            sl_buf_adds(b, c->nullable ? ",\"optional\":true" : ",\"optional\":false");
            sl_buf_adds(b, ",\"name\":\"io.debezium.data.VariableScaleDecimal\",\"version\":1,"
                           "\"doc\":\"Variable scaled decimal\",\"field\":");
            sl_json_string(b, c->name, strlen(c->name));
            sl_buf_addc(b, '}');
            return;
        } else if (m && m->decimal == SL_DECIMAL_PRECISE) {
            field(b, "bytes", c->nullable, "org.apache.kafka.connect.data.Decimal", c->name);
            sl_buf_printf(b, ",\"parameters\":{\"scale\":\"%u\"", (unsigned)c->scale);
            if (c->precision)
                sl_buf_printf(b, ",\"connect.decimal.precision\":\"%u\"", (unsigned)c->precision);
            sl_buf_adds(b, "}}");
            return;
        }
        break;
    case SL_DATE:
        type = "int32";
        name = m && m->time_precision == SL_TIME_CONNECT ? "org.apache.kafka.connect.data.Date"
                                                         : "io.debezium.time.Date";
        break;
    case SL_TIME:
        if (sl_time_in_ms(c, m)) {
            type = "int32";
            name = m->time_precision == SL_TIME_CONNECT ? "org.apache.kafka.connect.data.Time" : "io.debezium.time.Time";
        } else {
            type = "int64";
            name = "io.debezium.time.MicroTime";
        }
        break;
    case SL_DATETIME:
        type = "int64";
        name = m && m->time_precision == SL_TIME_CONNECT ? "org.apache.kafka.connect.data.Timestamp"
               : c->scale <= 3                           ? "io.debezium.time.Timestamp"
                                                         : "io.debezium.time.MicroTimestamp";
        break;
    case SL_TIMESTAMP: name = "io.debezium.time.ZonedTimestamp"; break;
    case SL_YEAR: type = "int32"; name = "io.debezium.time.Year"; break;
    case SL_JSON: name = "io.debezium.data.Json"; break;
    case SL_ENUM: name = "io.debezium.data.Enum"; break;
    case SL_SET: name = "io.debezium.data.EnumSet"; break;
    case SL_TEXTUAL:
        /* PostgreSQL values kept as text */
        if (c->type_name && strncmp(c->type_name, "time", 4) == 0 && strstr(c->type_name, "with time zone"))
            name = "io.debezium.time.ZonedTime";
        else if (sl_is_interval(c) && m && m->interval == SL_INTERVAL_NUMERIC) {
            type = "int64";
            name = "io.debezium.time.MicroDuration";
        } else if (sl_is_interval(c))
            name = "io.debezium.time.Interval";
        break;
    case SL_BIT:
        if (c->precision > 1) {
            type = "bytes";
            name = "io.debezium.data.Bits";
        } else {
            type = "boolean";
        }
        break;
    default:
        if (sl_is_pg_uuid(c))
            name = "io.debezium.data.Uuid";
        break;
    }
    field(b, type, c->nullable, name, c->name);
    if (c->kind == SL_ENUM || c->kind == SL_SET) {
        sl_buf_adds(b, ",\"parameters\":{\"allowed\":\"");
        for (uint32_t i = 0; i < c->n_enum_values; i++) {
            if (i)
                sl_buf_addc(b, ',');
            /* enum members are plain text; escape through the JSON writer
             * without its quotes */
            sl_buf tmp;
            sl_buf_init(&tmp);
            sl_json_string(&tmp, c->enum_values[i], strlen(c->enum_values[i]));
            if (tmp.len >= 2)
                sl_buf_add(b, tmp.data + 1, tmp.len - 2);
            sl_buf_free(&tmp);
        }
        sl_buf_adds(b, "\"}");
    } else if (c->kind == SL_BIT && c->precision > 1) {
        sl_buf_printf(b, ",\"parameters\":{\"length\":\"%u\"}", (unsigned)c->precision);
    }
    sl_buf_addc(b, '}');
}

static void row_struct(sl_buf *b, const sl_table_schema *s, const char *topic, const char *suffix, int key,
                       const char *fieldname, const sl_value_modes *m)
{
    sl_buf_adds(b, "{\"type\":\"struct\",\"fields\":[");
    int n = key ? s->npk : s->ncols;
    for (int i = 0; i < n; i++) {
        if (i)
            sl_buf_addc(b, ',');
        column_field(b, &s->cols[key ? s->pk[i] : i], m);
    }
    sl_buf_adds(b, key ? "],\"optional\":false,\"name\":" : "],\"optional\":true,\"name\":");
    sl_buf tmp;
    sl_buf_init(&tmp);
    sl_buf_adds(&tmp, topic);
    sl_buf_adds(&tmp, suffix);
    sl_json_string(b, tmp.data, tmp.len);
    sl_buf_free(&tmp);
    if (fieldname) {
        sl_buf_adds(b, ",\"field\":\"");
        sl_buf_adds(b, fieldname);
        sl_buf_addc(b, '"');
    }
    sl_buf_addc(b, '}');
}

void sl_connect_key_schema(sl_buf *b, const sl_table_schema *s, const char *topic, const sl_value_modes *m)
{
    row_struct(b, s, topic, ".Key", 1, NULL, m);
}

static void source_schema(sl_buf *b, const sl_table_schema *s, const char *connector)
{
    int pg = s->schema != NULL;
    sl_buf_adds(b, "{\"type\":\"struct\",\"fields\":[");
    field(b, "string", 0, NULL, "version");
    sl_buf_adds(b, "},");
    field(b, "string", 0, NULL, "connector");
    sl_buf_adds(b, "},");
    field(b, "string", 0, NULL, "name");
    sl_buf_adds(b, "},");
    field(b, "int64", 0, NULL, "ts_ms");
    sl_buf_adds(b, "},");
    field(b, "string", 1, "io.debezium.data.Enum", "snapshot");
    sl_buf_adds(b, ",\"parameters\":{\"allowed\":\"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental\"},\"default\":\"false\"},");
    field(b, "string", 0, NULL, "db");
    sl_buf_adds(b, "},");
    field(b, "string", 1, NULL, "sequence");
    sl_buf_adds(b, "},");
    field(b, "int64", 1, NULL, "ts_us");
    sl_buf_adds(b, "},");
    field(b, "int64", 1, NULL, "ts_ns");
    sl_buf_adds(b, "},");
    if (pg) {
        field(b, "string", 0, NULL, "schema");
        sl_buf_adds(b, "},");
        field(b, "string", 0, NULL, "table");
        sl_buf_adds(b, "},");
        field(b, "int64", 1, NULL, "txId");
        sl_buf_adds(b, "},");
        field(b, "int64", 1, NULL, "lsn");
        sl_buf_adds(b, "},");
        field(b, "int64", 1, NULL, "xmin");
        sl_buf_adds(b, "},");
        /* Debezium 3.5: the change's replication origin (null: none) */
        field(b, "string", 1, NULL, "origin");
        sl_buf_adds(b, "},");
        field(b, "int64", 1, NULL, "origin_lsn");
        sl_buf_adds(b, "}");
    } else {
        field(b, "string", 1, NULL, "table");
        sl_buf_adds(b, "},");
        field(b, "int64", 0, NULL, "server_id");
        sl_buf_adds(b, "},");
        field(b, "string", 1, NULL, "gtid");
        sl_buf_adds(b, "},");
        field(b, "string", 0, NULL, "file");
        sl_buf_adds(b, "},");
        field(b, "int64", 0, NULL, "pos");
        sl_buf_adds(b, "},");
        field(b, "int32", 0, NULL, "row");
        sl_buf_adds(b, "},");
        field(b, "int64", 1, NULL, "thread");
        sl_buf_adds(b, "},");
        field(b, "string", 1, NULL, "query");
        sl_buf_adds(b, "}");
    }
    sl_buf_adds(b, "],\"optional\":false,\"name\":\"io.debezium.connector.");
    sl_buf_adds(b, pg ? "postgresql" : (connector && strcmp(connector, "mariadb") == 0 ? "mariadb" : "mysql"));
    sl_buf_adds(b, ".Source\",\"version\":1,\"field\":\"source\"}");
}

void sl_connect_value_schema(sl_buf *b, const sl_table_schema *s, const char *topic, const sl_envelope_opts *env,
                             const char *connector)
{
    sl_buf_adds(b, "{\"type\":\"struct\",\"fields\":[");
    row_struct(b, s, topic, ".Value", 0, "before", &env->modes);
    sl_buf_addc(b, ',');
    row_struct(b, s, topic, ".Value", 0, "after", &env->modes);
    sl_buf_addc(b, ',');
    source_schema(b, s, connector);
    sl_buf_addc(b, ',');
    /* Debezium's order: the transaction block before op and the ts_* */
    sl_buf_adds(b, "{\"type\":\"struct\",\"fields\":[");
    field(b, "string", 0, NULL, "id");
    sl_buf_adds(b, "},");
    field(b, "int64", 0, NULL, "total_order");
    sl_buf_adds(b, "},");
    field(b, "int64", 0, NULL, "data_collection_order");
    sl_buf_adds(b, "}],\"optional\":true,\"name\":\"event.block\",\"version\":1,\"field\":\"transaction\"},");
    field(b, "string", 0, NULL, "op");
    sl_buf_adds(b, "},");
    field(b, "int64", 1, NULL, "ts_ms");
    sl_buf_adds(b, "},");
    field(b, "int64", 1, NULL, "ts_us");
    sl_buf_adds(b, "},");
    field(b, "int64", 1, NULL, "ts_ns");
    sl_buf_adds(b, "}");
    sl_buf_adds(b, "],\"optional\":false,\"name\":");
    sl_buf tmp;
    sl_buf_init(&tmp);
    sl_buf_adds(&tmp, topic);
    sl_buf_adds(&tmp, ".Envelope");
    sl_json_string(b, tmp.data, tmp.len);
    sl_buf_free(&tmp);
    /* Debezium 3's envelope schema version (2 since ts_us/ts_ns) */
    sl_buf_adds(b, ",\"version\":2}");
}

void sl_connect_source_schema(sl_buf *b, const sl_table_schema *s, const char *connector)
{
    source_schema(b, s, connector);
}

/* the Connect integer type of an integer column (the Avro schemas use it too) */
const char *sl_connect_int_type(const sl_column *c) { return int_type(c); }
