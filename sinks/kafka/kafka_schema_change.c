/* kafka_schema_change.c — the records of the schema-change topic (the one
 * named by topic.prefix, include.schema.changes), as Debezium's MySQL and
 * MariaDB connectors write them: key {"databaseName"}, value {source,
 * ts_ms, databaseName, schemaName, ddl, tableChanges[{type, id, table}]}
 * with the column metadata of io.debezium.connector.schema.Column, and with
 * schemas.enable their Connect schemas (SchemaChangeKey / SchemaChangeValue
 * of the events' connector).
 *
 * What the table model knows is written; what it does not (a display width
 * the statement gave, the native type) is null. Column metadata only the
 * catalog holds (charset, default, comment, auto-increment) is there when
 * the schema came from the catalog, i.e. at a CREATE / ALTER TABLE read
 * from the binlog and at snapshots; a shape learnt from rows alone lacks it.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/envelope.h"
#include "kafka_sink.h"

static void num_or_null(sl_buf *b, int have, long v)
{
    if (have)
        sl_buf_i64(b, v);
    else
        sl_buf_adds(b, "null");
}

/* "decimal(10,2) unsigned" -> "DECIMAL UNSIGNED", Debezium's typeName */
static void type_name(char *out, size_t size, const sl_column *c)
{
    const char *t = c->type_name ? c->type_name : "";
    size_t o = 0, n = strcspn(t, "(");
    for (size_t i = 0; i < n && o + 1 < size; i++)
        out[o++] = (char)toupper((unsigned char)t[i]);
    while (o && out[o - 1] == ' ')
        o--;
    const char *close = t[n] ? strchr(t + n, ')') : NULL;
    for (const char *p = close ? close + 1 : ""; *p && o + 1 < size; p++)
        out[o++] = (char)toupper((unsigned char)*p);
    out[o] = 0;
}

typedef struct jdbc_type {
    const char *name;
    int code; /* java.sql.Types */
} jdbc_type;

/* java.sql.Types as Debezium's MySQL/MariaDB DDL parser assigns them */
static const jdbc_type jdbc_types[] = {
    {"BIT", -7},         {"TINYINT", 5},      {"SMALLINT", 5},    {"MEDIUMINT", 4},  {"INT", 4},
    {"INTEGER", 4},      {"BIGINT", -5},      {"DECIMAL", 3},     {"NUMERIC", 2},    {"FLOAT", 6},
    {"DOUBLE", 8},       {"REAL", 8},         {"DATE", 91},       {"TIME", 92},      {"DATETIME", 93},
    {"TIMESTAMP", 2014}, {"YEAR", 4},         {"CHAR", 1},        {"VARCHAR", 12},   {"BINARY", -2},
    {"VARBINARY", -3},   {"TINYTEXT", 12},    {"TEXT", 12},       {"MEDIUMTEXT", 12}, {"LONGTEXT", 12},
    {"TINYBLOB", 2004},  {"BLOB", 2004},      {"MEDIUMBLOB", 2004}, {"LONGBLOB", 2004}, {"ENUM", 1},
    {"SET", 1},          {"JSON", 1111},      {"BOOLEAN", 16},    {NULL, 0},
};

static int jdbc_code(const char *base, const sl_column *c)
{
    size_t n = strcspn(base, " ");
    for (const jdbc_type *t = jdbc_types; t->name; t++)
        if (strlen(t->name) == n && strncmp(t->name, base, n) == 0)
            return t->code;
    switch (c->kind) {
    case SL_INT:
    case SL_UINT:
        return -5;
    case SL_STRING:
    case SL_TEXTUAL:
        return 12;
    case SL_BYTES:
        return -3;
    default:
        return 1111; /* OTHER */
    }
}

/* the numbers of "(len[,scale])" in the declared type; integer display
 * widths are no part of sluice's types */
static void length_scale(const sl_column *c, int *has_len, long *len, int *has_scale, long *scale)
{
    *has_len = *has_scale = 0;
    if (c->kind == SL_ENUM) {
        /* Debezium: the longest member */
        size_t m = 0;
        for (uint32_t k = 0; k < c->n_enum_values; k++)
            if (strlen(c->enum_values[k]) > m)
                m = strlen(c->enum_values[k]);
        *has_len = 1;
        *len = (long)m;
        return;
    }
    const char *t = c->type_name ? strchr(c->type_name, '(') : NULL;
    if (!t || c->kind == SL_SET || c->kind == SL_INT || c->kind == SL_UINT || c->kind == SL_YEAR)
        return;
    char *end;
    *len = strtol(t + 1, &end, 10);
    *has_len = end != t + 1;
    if (*has_len && *end == ',') {
        *scale = strtol(end + 1, &end, 10);
        *has_scale = 1;
    }
}

/* `"db"."table"` (PostgreSQL: `"schema"."table"`), Debezium's table id */
static void table_id(sl_buf *b, const sl_table_schema *s)
{
    sl_buf tmp;
    sl_buf_init(&tmp);
    const char *parts[2] = {s->schema ? s->schema : s->db, s->table};
    for (int k = 0; k < 2; k++) {
        if (k)
            sl_buf_addc(&tmp, '.');
        sl_buf_addc(&tmp, '"');
        sl_buf_adds(&tmp, parts[k] ? parts[k] : "");
        sl_buf_addc(&tmp, '"');
    }
    sl_json_string(b, tmp.data, tmp.len);
    sl_buf_free(&tmp);
}

static void column(sl_buf *b, const sl_column *c, int position)
{
    char base[128];
    type_name(base, sizeof base, c);
    int has_len, has_scale;
    long len = 0, scale = 0;
    length_scale(c, &has_len, &len, &has_scale, &scale);
    sl_buf_adds(b, "{\"name\":");
    sl_json_cstr_or_null(b, c->name);
    sl_buf_adds(b, ",\"jdbcType\":");
    sl_buf_i64(b, jdbc_code(base, c));
    sl_buf_adds(b, ",\"nativeType\":null,\"typeName\":");
    sl_json_cstr_or_null(b, base);
    sl_buf_adds(b, ",\"typeExpression\":");
    sl_json_cstr_or_null(b, base);
    sl_buf_adds(b, ",\"charsetName\":");
    sl_json_cstr_or_null(b, c->charset_name);
    sl_buf_adds(b, ",\"length\":");
    num_or_null(b, has_len, len);
    sl_buf_adds(b, ",\"scale\":");
    num_or_null(b, has_scale, scale);
    sl_buf_adds(b, ",\"position\":");
    sl_buf_i64(b, position);
    sl_buf_adds(b, c->nullable ? ",\"optional\":true" : ",\"optional\":false");
    /* Debezium marks an auto-increment column generated as well */
    sl_buf_adds(b, c->auto_inc ? ",\"autoIncremented\":true,\"generated\":true"
                               : ",\"autoIncremented\":false,\"generated\":false");
    sl_buf_adds(b, ",\"comment\":");
    sl_json_cstr_or_null(b, c->comment);
    sl_buf_adds(b, ",\"defaultValueExpression\":");
    sl_json_cstr_or_null(b, c->default_expr);
    sl_buf_adds(b, ",\"enumValues\":");
    if (c->kind == SL_ENUM || c->kind == SL_SET) {
        /* as the statement writes them: quoted */
        sl_buf_addc(b, '[');
        sl_buf q;
        sl_buf_init(&q);
        for (uint32_t k = 0; k < c->n_enum_values; k++) {
            if (k)
                sl_buf_addc(b, ',');
            sl_buf_reset(&q);
            sl_buf_addc(&q, '\'');
            for (const char *p = c->enum_values[k]; *p; p++) {
                if (*p == '\'')
                    sl_buf_addc(&q, '\'');
                sl_buf_addc(&q, *p);
            }
            sl_buf_addc(&q, '\'');
            sl_json_string(b, q.data, q.len);
        }
        sl_buf_free(&q);
        sl_buf_addc(b, ']');
    } else {
        sl_buf_adds(b, "null");
    }
    sl_buf_addc(b, '}');
}

void sl_kafka_schema_change_key(sl_buf *b, const sl_event *e)
{
    const char *db = e->schema->db ? e->schema->db : "";
    sl_buf_adds(b, "{\"databaseName\":");
    sl_json_string(b, db, strlen(db));
    sl_buf_addc(b, '}');
}

void sl_kafka_schema_change_value(sl_buf *b, const sl_event *e, const sl_envelope_opts *o, int64_t now_ms)
{
    const sl_table_schema *s = e->schema;
    sl_json_schema_change_head(b, e, o, now_ms);
    table_id(b, s);
    if (e->change == SL_CHANGE_DROP) {
        sl_buf_adds(b, ",\"table\":null}]}");
        return;
    }
    sl_buf_adds(b, ",\"table\":{\"defaultCharsetName\":");
    sl_json_cstr_or_null(b, s->charset_name);
    sl_buf_adds(b, ",\"primaryKeyColumnNames\":[");
    for (int k = 0; k < s->npk; k++) {
        if (k)
            sl_buf_addc(b, ',');
        sl_json_cstr_or_null(b, s->cols[s->pk[k]].name);
    }
    sl_buf_adds(b, "],\"columns\":[");
    for (int i = 0; i < s->ncols; i++) {
        if (i)
            sl_buf_addc(b, ',');
        column(b, &s->cols[i], i + 1);
    }
    sl_buf_adds(b, "],\"comment\":");
    sl_json_cstr_or_null(b, s->comment);
    sl_buf_adds(b, "}}]}");
}

static const char *connector_ns(const sl_table_schema *s, const char *connector)
{
    if (s->schema)
        return "postgresql";
    return connector && strcmp(connector, "mariadb") == 0 ? "mariadb" : "mysql";
}

void sl_kafka_schema_change_key_schema(sl_buf *b, const sl_table_schema *s, const char *connector)
{
    sl_buf_adds(b, "{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":"
                   "\"databaseName\"}],\"optional\":false,\"name\":\"io.debezium.connector.");
    sl_buf_adds(b, connector_ns(s, connector));
    sl_buf_adds(b, ".SchemaChangeKey\",\"version\":1}");
}

/* {"type":T,"optional":O,"field":F} */
static void fld(sl_buf *b, const char *type, int optional, const char *name)
{
    sl_buf_adds(b, "{\"type\":\"");
    sl_buf_adds(b, type);
    sl_buf_adds(b, optional ? "\",\"optional\":true,\"field\":\"" : "\",\"optional\":false,\"field\":\"");
    sl_buf_adds(b, name);
    sl_buf_adds(b, "\"}");
}

static const char *const column_fields[][3] = {
    {"string", "0", "name"},          {"int32", "0", "jdbcType"},   {"int32", "1", "nativeType"},
    {"string", "0", "typeName"},      {"string", "1", "typeExpression"}, {"string", "1", "charsetName"},
    {"int32", "1", "length"},         {"int32", "1", "scale"},      {"int32", "0", "position"},
    {"boolean", "1", "optional"},     {"boolean", "1", "autoIncremented"}, {"boolean", "1", "generated"},
    {"string", "1", "comment"},       {"string", "1", "defaultValueExpression"},
};

void sl_kafka_schema_change_value_schema(sl_buf *b, const sl_table_schema *s, const char *connector)
{
    static const char str_items[] = "{\"type\":\"string\",\"optional\":false}";
    sl_buf_adds(b, "{\"type\":\"struct\",\"fields\":[");
    sl_connect_source_schema(b, s, connector);
    sl_buf_addc(b, ',');
    fld(b, "int64", 0, "ts_ms");
    sl_buf_addc(b, ',');
    fld(b, "string", 1, "databaseName");
    sl_buf_addc(b, ',');
    fld(b, "string", 1, "schemaName");
    sl_buf_addc(b, ',');
    fld(b, "string", 1, "ddl");
    sl_buf_adds(b, ",{\"type\":\"array\",\"items\":{\"type\":\"struct\",\"fields\":[");
    fld(b, "string", 0, "type");
    sl_buf_addc(b, ',');
    fld(b, "string", 0, "id");
    sl_buf_adds(b, ",{\"type\":\"struct\",\"fields\":[");
    fld(b, "string", 1, "defaultCharsetName");
    sl_buf_adds(b, ",{\"type\":\"array\",\"items\":");
    sl_buf_adds(b, str_items);
    sl_buf_adds(b, ",\"optional\":true,\"field\":\"primaryKeyColumnNames\"},"
                   "{\"type\":\"array\",\"items\":{\"type\":\"struct\",\"fields\":[");
    for (size_t i = 0; i < sizeof column_fields / sizeof column_fields[0]; i++) {
        fld(b, column_fields[i][0], column_fields[i][1][0] == '1', column_fields[i][2]);
        sl_buf_addc(b, ',');
    }
    sl_buf_adds(b, "{\"type\":\"array\",\"items\":");
    sl_buf_adds(b, str_items);
    sl_buf_adds(b, ",\"optional\":true,\"field\":\"enumValues\"}],\"optional\":false,"
                   "\"name\":\"io.debezium.connector.schema.Column\",\"version\":1},\"optional\":false,"
                   "\"field\":\"columns\"},");
    fld(b, "string", 1, "comment");
    sl_buf_adds(b, "],\"optional\":true,\"name\":\"io.debezium.connector.schema.Table\",\"version\":1,"
                   "\"field\":\"table\"}],\"optional\":false,\"name\":\"io.debezium.connector.schema.Change\","
                   "\"version\":1},\"optional\":false,\"field\":\"tableChanges\"}],\"optional\":false,"
                   "\"name\":\"io.debezium.connector.");
    sl_buf_adds(b, connector_ns(s, connector));
    sl_buf_adds(b, ".SchemaChangeValue\",\"version\":1}");
}
