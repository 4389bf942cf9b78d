/* avro_schema.c — Avro schemas of a table's keys and change events, as
 * Debezium's AvroConverter writes them (Confluent's AvroData over
 * Debezium's Connect schemas), so Confluent's deserializers, Flink's
 * debezium-avro-confluent format and ClickHouse's AvroConfluent read them:
 *
 *   record <ns>.Envelope {before: [null, <ns>.Value], after: [null, <ns>.Value],
 *                         source: io.debezium.connector.<c>.Source, transaction: [null, event.block],
 *                         op: string, ts_ms, ts_us, ts_ns: [null, long]}
 *
 * with <ns> = <topic.prefix>.<db or schema>.<table> of the source table, as
 * Debezium names them (the topic's name unless a route renames it), made a
 * valid Avro namespace, so tables routed into one topic keep records of
 * their own (for RecordNameStrategy). Each column's type
 * mirrors the JSON envelope's Connect type (connect_schema.c), with
 * connect.name / connect.parameters / connect.type attributes; decimals
 * follow decimal.handling.mode. The encoding plan (avro_col) is decided
 * here once per schema version, next to the type it must agree with.
 */
#include <stdlib.h>
#include <string.h>

#include "kafka_avro.h"
#include "kafka_sink.h"

void sl_avro_sanitize(sl_buf *b, const char *name)
{
    if (!*name || (name[0] >= '0' && name[0] <= '9'))
        sl_buf_addc(b, '_');
    for (const char *p = name; *p; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        sl_buf_addc(b, ok ? c : '_');
    }
}

static int valid_name(const char *name)
{
    sl_buf b;
    sl_buf_init(&b);
    sl_avro_sanitize(&b, name);
    int ok = b.len == strlen(name) && memcmp(b.data, name, b.len) == 0;
    sl_buf_free(&b);
    return ok;
}

/* a dotted name: every part sanitized */
static void namespace_of(sl_buf *b, const char *dotted)
{
    const char *p = dotted;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        char *part = strndup(p, n);
        if (!part) {
            b->failed = 1;
            return;
        }
        sl_avro_sanitize(b, part);
        free(part);
        if (!dot)
            break;
        sl_buf_addc(b, '.');
        p = dot + 1;
    }
}

static void connect_name(sl_buf *b, const char *name)
{
    sl_buf_adds(b, ",\"connect.version\":1,\"connect.name\":\"");
    sl_buf_adds(b, name);
    sl_buf_addc(b, '"');
}

static void json_text(sl_buf *b, const char *s) { sl_json_string(b, s, strlen(s)); }

static void enum_allowed(sl_buf *b, const sl_column *c)
{
    sl_buf list;
    sl_buf_init(&list);
    for (uint32_t i = 0; i < c->n_enum_values; i++) {
        if (i)
            sl_buf_addc(&list, ',');
        sl_buf_adds(&list, c->enum_values[i]);
    }
    sl_buf_adds(b, ",\"connect.parameters\":{\"allowed\":");
    sl_json_string(b, list.data ? list.data : "", list.len);
    sl_buf_addc(b, '}');
    sl_buf_free(&list);
}

static void decimal_type(sl_buf *b, unsigned precision, unsigned scale)
{
    sl_buf_printf(b,
                  "{\"type\":\"bytes\",\"scale\":%u,\"precision\":%u,\"connect.version\":1,"
                  "\"connect.parameters\":{\"scale\":\"%u\",\"connect.decimal.precision\":\"%u\"},"
                  "\"connect.name\":\"org.apache.kafka.connect.data.Decimal\",\"logicalType\":\"decimal\"}",
                  scale, precision, scale, precision);
}

/* Confluent's AvroData gives a decimal without a declared precision this one */
#define DEFAULT_DECIMAL_PRECISION 64

/* The Avro type of one (non-array) column into b; its encoding into *enc. */
static void column_type(sl_buf *b, const sl_column *c, const kafka_avro_opts *o, uint8_t *enc, int *vardec_defined)
{
    const char *name = NULL;
    int is_bigint = c->type_name && strncmp(c->type_name, "bigint", 6) == 0;
    switch ((sl_kind)c->kind) {
    case SL_UINT:
        if (is_bigint || !c->type_name) {
            /* Debezium's bigint.unsigned.handling.mode=precise: every value fits */
            *enc = AV_UDECIMAL;
            decimal_type(b, 20, 0);
            return;
        }
        /* smaller unsigned integers fit the next wider Connect type */
        /* fall through */
    case SL_INT: {
        const char *t = sl_connect_int_type(c);
        if (strcmp(t, "int64") == 0) {
            *enc = AV_LONG;
            sl_buf_adds(b, "\"long\"");
        } else {
            *enc = AV_INT;
            if (strcmp(t, "int16") == 0)
                sl_buf_adds(b, "{\"type\":\"int\",\"connect.type\":\"int16\"}");
            else
                sl_buf_adds(b, "\"int\"");
        }
        return;
    }
    case SL_FLOAT: *enc = AV_FLOAT; sl_buf_adds(b, "\"float\""); return;
    case SL_DOUBLE: *enc = AV_DOUBLE; sl_buf_adds(b, "\"double\""); return;
    case SL_BOOL: *enc = AV_BOOL; sl_buf_adds(b, "\"boolean\""); return;
    case SL_BYTES: *enc = AV_BYTES; sl_buf_adds(b, "\"bytes\""); return;
    case SL_DECIMAL:
        if (o->decimal_mode == SL_DEC_STRING) {
            *enc = AV_DEC_STRING;
            sl_buf_adds(b, "\"string\"");
        } else if (o->decimal_mode == SL_DEC_DOUBLE) {
            *enc = AV_DEC_DOUBLE;
            sl_buf_adds(b, "\"double\"");
        } else if (c->precision == 0 && c->scale == 0) {
            /* PostgreSQL numeric without a typmod: every value has its own scale */
            *enc = AV_VARDECIMAL;
            if (*vardec_defined) {
                sl_buf_adds(b, "\"io.debezium.data.VariableScaleDecimal\"");
            } else {
                *vardec_defined = 1;
                sl_buf_adds(b, "{\"type\":\"record\",\"name\":\"VariableScaleDecimal\",\"namespace\":"
                               "\"io.debezium.data\",\"fields\":[{\"name\":\"scale\",\"type\":\"int\"},"
                               "{\"name\":\"value\",\"type\":\"bytes\"}],\"connect.doc\":\"Variable scaled "
                               "decimal\",\"connect.version\":1,\"connect.name\":"
                               "\"io.debezium.data.VariableScaleDecimal\"}");
            }
        } else {
            *enc = AV_DECIMAL;
            unsigned p = c->precision ? c->precision : DEFAULT_DECIMAL_PRECISION;
            decimal_type(b, p < c->scale ? c->scale : p, c->scale);
        }
        return;
    case SL_DATE: *enc = AV_DATE; sl_buf_adds(b, "{\"type\":\"int\""); name = "io.debezium.time.Date"; break;
    case SL_TIME:
        if (sl_time_in_ms(c, &o->modes)) {
            *enc = AV_TIME_MS;
            sl_buf_adds(b, "{\"type\":\"int\"");
            name = o->modes.time_precision == SL_TIME_CONNECT ? "org.apache.kafka.connect.data.Time"
                                                               : "io.debezium.time.Time";
        } else {
            *enc = AV_MICROTIME;
            sl_buf_adds(b, "{\"type\":\"long\"");
            name = "io.debezium.time.MicroTime";
        }
        break;
    case SL_DATETIME:
        *enc = c->scale <= 3 ? AV_TS_MS : AV_TS_US;
        sl_buf_adds(b, "{\"type\":\"long\"");
        name = c->scale <= 3 ? "io.debezium.time.Timestamp" : "io.debezium.time.MicroTimestamp";
        break;
    case SL_TIMESTAMP:
        *enc = AV_ZONED;
        sl_buf_adds(b, "{\"type\":\"string\"");
        name = "io.debezium.time.ZonedTimestamp";
        break;
    case SL_YEAR: *enc = AV_INT; sl_buf_adds(b, "{\"type\":\"int\""); name = "io.debezium.time.Year"; break;
    case SL_JSON: *enc = AV_STRING; sl_buf_adds(b, "{\"type\":\"string\""); name = "io.debezium.data.Json"; break;
    case SL_ENUM:
    case SL_SET:
        *enc = AV_STRING;
        sl_buf_adds(b, "{\"type\":\"string\"");
        enum_allowed(b, c);
        connect_name(b, c->kind == SL_ENUM ? "io.debezium.data.Enum" : "io.debezium.data.EnumSet");
        sl_buf_addc(b, '}');
        return;
    case SL_BIT:
        if (c->precision > 1) {
            *enc = AV_BITS;
            sl_buf_printf(b, "{\"type\":\"bytes\",\"connect.parameters\":{\"length\":\"%u\"}", (unsigned)c->precision);
            connect_name(b, "io.debezium.data.Bits");
            sl_buf_addc(b, '}');
        } else {
            *enc = AV_BOOL;
            sl_buf_adds(b, "\"boolean\"");
        }
        return;
    case SL_TEXTUAL:
        *enc = AV_STRING;
        if (c->type_name && strncmp(c->type_name, "time", 4) == 0 && strstr(c->type_name, "with time zone"))
            name = "io.debezium.time.ZonedTime";
        else if (sl_is_interval(c) && o->modes.interval == SL_INTERVAL_NUMERIC) {
            *enc = AV_INTERVAL_US;
            sl_buf_adds(b, "{\"type\":\"long\"");
            connect_name(b, "io.debezium.time.MicroDuration");
            sl_buf_addc(b, '}');
            return;
        } else if (sl_is_interval(c)) {
            *enc = AV_INTERVAL;
            name = "io.debezium.time.Interval";
        }
        if (!name) {
            sl_buf_adds(b, "\"string\"");
            return;
        }
        sl_buf_adds(b, "{\"type\":\"string\"");
        break;
    default:
        *enc = AV_STRING;
        if (!sl_is_pg_uuid(c)) {
            sl_buf_adds(b, "\"string\"");
            return;
        }
        sl_buf_adds(b, "{\"type\":\"string\"");
        name = "io.debezium.data.Uuid";
        break;
    }
    connect_name(b, name);
    sl_buf_addc(b, '}');
}

static int field_name(sl_buf *b, const sl_table_schema *s, const sl_column *c, const kafka_avro_opts *o, sl_err *err)
{
    if (!valid_name(c->name) && !o->sanitize)
        return sl_errf(err, SL_ECONFIG,
                       "kafka sink: column '%s' of table %s is not a valid Avro name; rename it, or set "
                       "sanitize.field.names: true",
                       c->name, s->qualified);
    sl_buf_addc(b, '"');
    sl_avro_sanitize(b, c->name);
    sl_buf_addc(b, '"');
    return 0;
}

/* {"type":"record","name":rec,"namespace":ns,"fields":[...],"connect.name":"ns.rec"} */
static int row_record(sl_buf *b, const sl_table_schema *s, const char *ns, const char *rec, int key,
                      avro_col *cols, const kafka_avro_opts *o, int *vardec, sl_err *err)
{
    sl_buf_adds(b, "{\"type\":\"record\",\"name\":\"");
    sl_buf_adds(b, rec);
    sl_buf_adds(b, "\",\"namespace\":\"");
    sl_buf_adds(b, ns);
    sl_buf_adds(b, "\",\"fields\":[");
    int n = key ? s->npk : s->ncols;
    for (int k = 0; k < n; k++) {
        int i = key ? s->pk[k] : k;
        const sl_column *c = &s->cols[i];
        avro_col *ac = &cols[i];
        if (k)
            sl_buf_addc(b, ',');
        sl_buf_adds(b, "{\"name\":");
        int rc = field_name(b, s, c, o, err);
        if (rc)
            return rc;
        sl_buf_adds(b, ",\"type\":");
        if (c->nullable)
            sl_buf_adds(b, "[\"null\",");
        ac->nullable = c->nullable;
        ac->scale = c->scale;
        if (c->is_array) {
            sl_column elem = *c;
            elem.is_array = 0;
            elem.kind = c->elem_kind;
            elem.precision = 0;
            ac->is_array = 1;
            sl_buf_adds(b, "{\"type\":\"array\",\"items\":[\"null\",");
            column_type(b, &elem, o, &ac->elem_enc, vardec);
            sl_buf_adds(b, "]}");
        } else {
            column_type(b, c, o, &ac->enc, vardec);
        }
        sl_buf_adds(b, c->nullable ? "],\"default\":null}" : "}");
    }
    sl_buf_adds(b, "],\"connect.name\":\"");
    sl_buf_adds(b, ns);
    sl_buf_addc(b, '.');
    sl_buf_adds(b, rec);
    sl_buf_adds(b, "\"}");
    return 0;
}

/* Avro forbids two fields of one record with the same name */
static int check_unique(const sl_table_schema *s, sl_err *err)
{
    sl_buf a, b;
    sl_buf_init(&a);
    sl_buf_init(&b);
    int rc = 0;
    for (int i = 0; i < s->ncols && !rc; i++)
        for (int j = i + 1; j < s->ncols && !rc; j++) {
            sl_buf_reset(&a);
            sl_buf_reset(&b);
            sl_avro_sanitize(&a, s->cols[i].name);
            sl_avro_sanitize(&b, s->cols[j].name);
            if (a.len == b.len && memcmp(a.data, b.data, a.len) == 0)
                rc = sl_errf(err, SL_ECONFIG,
                             "kafka sink: columns '%s' and '%s' of table %s both become the Avro field '%.*s'; "
                             "rename one of them",
                             s->cols[i].name, s->cols[j].name, s->qualified, (int)a.len, a.data);
        }
    sl_buf_free(&a);
    sl_buf_free(&b);
    return rc;
}

static void opt_field(sl_buf *b, const char *name, const char *type)
{
    sl_buf_printf(b, "{\"name\":\"%s\",\"type\":[\"null\",\"%s\"],\"default\":null}", name, type);
}

static void req_field(sl_buf *b, const char *name, const char *type)
{
    sl_buf_printf(b, "{\"name\":\"%s\",\"type\":\"%s\"}", name, type);
}

static void source_record(sl_buf *b, const sl_table_schema *s, const char *connector)
{
    int pg = s->schema != NULL;
    const char *ns = pg ? "io.debezium.connector.postgresql"
                        : (connector && strcmp(connector, "mariadb") == 0 ? "io.debezium.connector.mariadb"
                                                                         : "io.debezium.connector.mysql");
    sl_buf_adds(b, "{\"type\":\"record\",\"name\":\"Source\",\"namespace\":\"");
    sl_buf_adds(b, ns);
    sl_buf_adds(b, "\",\"fields\":[");
    req_field(b, "version", "string");
    sl_buf_addc(b, ',');
    req_field(b, "connector", "string");
    sl_buf_addc(b, ',');
    req_field(b, "name", "string");
    sl_buf_addc(b, ',');
    req_field(b, "ts_ms", "long");
    sl_buf_adds(b, ",{\"name\":\"snapshot\",\"type\":[{\"type\":\"string\",\"connect.version\":1,"
                   "\"connect.parameters\":{\"allowed\":\"true,first,first_in_data_collection,last_in_data_collection,last,"
                   "false,incremental\"},"
                   "\"connect.default\":\"false\",\"connect.name\":\"io.debezium.data.Enum\"},\"null\"],"
                   "\"default\":\"false\"},");
    req_field(b, "db", "string");
    sl_buf_addc(b, ',');
    opt_field(b, "sequence", "string");
    sl_buf_addc(b, ',');
    /* Debezium 3: the source time in micro- and nanoseconds */
    opt_field(b, "ts_us", "long");
    sl_buf_addc(b, ',');
    opt_field(b, "ts_ns", "long");
    sl_buf_addc(b, ',');
    if (pg) {
        req_field(b, "schema", "string");
        sl_buf_addc(b, ',');
        req_field(b, "table", "string");
        sl_buf_addc(b, ',');
        opt_field(b, "txId", "long");
        sl_buf_addc(b, ',');
        opt_field(b, "lsn", "long");
        sl_buf_addc(b, ',');
        opt_field(b, "xmin", "long");
        /* Debezium 3.5's replication origin, as the JSON source block */
        sl_buf_addc(b, ',');
        opt_field(b, "origin", "string");
        sl_buf_addc(b, ',');
        opt_field(b, "origin_lsn", "long");
    } else {
        opt_field(b, "table", "string");
        sl_buf_addc(b, ',');
        req_field(b, "server_id", "long");
        sl_buf_addc(b, ',');
        opt_field(b, "gtid", "string");
        sl_buf_addc(b, ',');
        req_field(b, "file", "string");
        sl_buf_addc(b, ',');
        req_field(b, "pos", "long");
        sl_buf_addc(b, ',');
        req_field(b, "row", "int");
        sl_buf_addc(b, ',');
        opt_field(b, "thread", "long");
        sl_buf_addc(b, ',');
        opt_field(b, "query", "string");
    }
    sl_buf_adds(b, "],\"connect.name\":\"");
    sl_buf_adds(b, ns);
    sl_buf_adds(b, ".Source\"}");
}

void sl_avro_table_clear(kafka_avro_table *t)
{
    free(t->cols);
    free(t->key_schema);
    free(t->value_schema);
    free(t->key_record);
    free(t->value_record);
    memset(t, 0, sizeof *t);
    t->key_id = t->value_id = -1;
}

static char *take(sl_buf *b)
{
    sl_buf_addc(b, 0);
    if (b->failed) {
        sl_buf_free(b);
        return NULL;
    }
    char *s = b->data;
    sl_buf_init(b);
    return s;
}

int sl_avro_table_build(kafka_avro_table *t, const sl_table_schema *s, const kafka_avro_opts *o, sl_err *err)
{
    sl_avro_table_clear(t);
    int rc = check_unique(s, err);
    if (rc)
        return rc;
    t->cols = calloc((size_t)(s->ncols ? s->ncols : 1), sizeof *t->cols);
    sl_buf ns, kb, vb, name;
    sl_buf_init(&ns);
    sl_buf_init(&kb);
    sl_buf_init(&vb);
    sl_buf_init(&name);
    sl_buf_printf(&name, "%s.%s.%s", o->prefix ? o->prefix : "", s->schema ? s->schema : s->db ? s->db : "",
                  s->table);
    sl_buf_addc(&name, 0);
    if (!name.failed)
        namespace_of(&ns, name.data);
    sl_buf_reset(&name);
    sl_buf_addc(&ns, 0);
    if (!t->cols || ns.failed) {
        rc = sl_errf(err, SL_ERUNTIME, "out of memory");
        goto out;
    }
    int vardec = 0;
    if (s->npk > 0 && (rc = row_record(&kb, s, ns.data, "Key", 1, t->cols, o, &vardec, err)))
        goto out;
    vardec = 0;
    sl_buf_adds(&vb, "{\"type\":\"record\",\"name\":\"Envelope\",\"namespace\":");
    json_text(&vb, ns.data);
    sl_buf_adds(&vb, ",\"fields\":[{\"name\":\"before\",\"type\":[\"null\",");
    if ((rc = row_record(&vb, s, ns.data, "Value", 0, t->cols, o, &vardec, err)))
        goto out;
    sl_buf_adds(&vb, "],\"default\":null},{\"name\":\"after\",\"type\":[\"null\",\"");
    sl_buf_adds(&vb, ns.data);
    sl_buf_adds(&vb, ".Value\"],\"default\":null},{\"name\":\"source\",\"type\":");
    source_record(&vb, s, o->connector);
    /* Debezium's order (its Connect schema, which AvroConverter follows):
     * the transaction block, then op and the ts_* */
    sl_buf_adds(&vb, "},{\"name\":\"transaction\",\"type\":[\"null\",{\"type\":\"record\",\"name\":\"block\","
                     "\"namespace\":\"event\",\"fields\":[{\"name\":\"id\",\"type\":\"string\"},"
                     "{\"name\":\"total_order\",\"type\":\"long\"},{\"name\":\"data_collection_order\","
                     "\"type\":\"long\"}],\"connect.version\":1,\"connect.name\":\"event.block\"}],"
                     "\"default\":null},");
    req_field(&vb, "op", "string");
    sl_buf_addc(&vb, ',');
    opt_field(&vb, "ts_ms", "long");
    sl_buf_addc(&vb, ',');
    opt_field(&vb, "ts_us", "long");
    sl_buf_addc(&vb, ',');
    opt_field(&vb, "ts_ns", "long");
    sl_buf_adds(&vb, "],\"connect.version\":1,\"connect.name\":\"");
    sl_buf_adds(&vb, ns.data);
    sl_buf_adds(&vb, ".Envelope\"}");
    sl_buf_printf(&name, "%s.Key", ns.data);
    t->key_record = take(&name);
    sl_buf_printf(&name, "%s.Envelope", ns.data);
    t->value_record = take(&name);
    t->key_schema = s->npk > 0 ? take(&kb) : NULL;
    t->value_schema = take(&vb);
    if (!t->key_record || !t->value_record || !t->value_schema || (s->npk > 0 && !t->key_schema)) {
        rc = sl_errf(err, SL_ERUNTIME, "out of memory");
        goto out;
    }
    t->schema = s;
out:
    sl_buf_free(&ns);
    sl_buf_free(&kb);
    sl_buf_free(&vb);
    sl_buf_free(&name);
    if (rc) {
        sl_avro_table_clear(t);
    }
    return rc;
}
