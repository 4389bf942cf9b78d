/* kafka_avro.c — the kafka sink's Avro side: options, subjects, and
 * registering a topic's schemas before the first message of a new shape.
 *
 * A topic's schemas are rebuilt when its source schema version changes
 * and registered (cached per subject and schema, so routes and replays ask
 * nothing twice). When the registry refuses a schema (incompatible under
 * the subject's compatibility level), the error carries the registry's
 * message, the subject, and which columns changed against the subject's
 * latest version; the sink's write fails, so the runtime aborts the epoch
 * and nothing of it is committed.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_avro.h"

int sl_kafka_avro_validate(const sl_options *o, sl_err *err)
{
    int value_avro = sl_opt_num(o, "value.format") == 2, key_avro = sl_opt_num(o, "key.format") == 2;
    char where[512];
    if ((value_avro || key_avro) && !sl_opt_str(o, "schema.registry.url")) {
        const char *opt = value_avro ? "value.format" : "key.format";
        sl_opt_where(o, opt, where, sizeof where);
        return sl_errf(err, SL_ECONFIG,
                       "%s: %s avro needs a schema registry: set schema.registry.url (e.g. http://localhost:8081)",
                       where, opt);
    }
    if (value_avro && (sl_opt_num(o, "schemas.enable") || sl_opt_num(o, "debezium-json.include-schema.enabled"))) {
        sl_opt_where(o, "value.format", where, sizeof where);
        return sl_errf(err, SL_ECONFIG,
                       "%s: with value.format avro the schema lives in the registry; remove schemas.enable", where);
    }
    return 0;
}

int sl_kafka_avro_init(kafka_avro *a, const sl_options *o, const char *connector, const char *prefix,
                       const volatile sig_atomic_t *stop, sl_err *err)
{
    memset(a, 0, sizeof *a);
    a->value_avro = sl_opt_num(o, "value.format") == 2;
    a->key_avro = sl_opt_num(o, "key.format") == 2;
    if (!a->value_avro && !a->key_avro)
        return 0;
    a->strategy = (int)sl_opt_num(o, "subject.name.strategy");
    /* the envelope's option (core/value_modes.h); unset, Avro takes
     * Debezium's default, precise, which is exact in Avro's decimal */
    const char *dm = sl_opt_str(o, "decimal.handling.mode");
    a->opts.decimal_mode = !dm || strcmp(dm, "precise") == 0 ? SL_DEC_PRECISE
                           : strcmp(dm, "string") == 0    ? SL_DEC_STRING
                                                           : SL_DEC_DOUBLE;
    a->opts.sanitize = (int)sl_opt_num(o, "sanitize.field.names");
    a->opts.connector = connector;
    sl_value_modes_from(o, connector, &a->opts.modes);
    a->opts.prefix = prefix;
    return sl_sr_new(o, stop, &a->sr, err);
}

void sl_kafka_avro_free(kafka_avro *a)
{
    sl_sr_free(a->sr);
    a->sr = NULL;
}

static void subject_of(sl_buf *b, const kafka_avro *a, const char *topic, const char *record, int key)
{
    sl_buf_reset(b);
    if (a->strategy != SL_SUBJECT_RECORD) {
        sl_buf_adds(b, topic);
        sl_buf_addc(b, '-');
    }
    if (a->strategy == SL_SUBJECT_TOPIC)
        sl_buf_adds(b, key ? "key" : "value");
    else
        sl_buf_adds(b, record);
    sl_buf_addc(b, 0);
}

/* the Value (or Key) record's fields of a schema text */
static json_t *row_fields(json_t *schema)
{
    json_t *fields = json_object_get(schema, "fields");
    json_t *first = json_array_get(fields, 0);
    const char *name = json_string_value(json_object_get(schema, "name"));
    if (name && strcmp(name, "Envelope") == 0 && first) {
        json_t *u = json_object_get(first, "type");
        for (size_t i = 0; i < json_array_size(u); i++)
            if (json_is_object(json_array_get(u, i)))
                return json_object_get(json_array_get(u, i), "fields");
        return NULL;
    }
    return fields;
}

static json_t *field_named(json_t *fields, const char *name)
{
    for (size_t i = 0; i < json_array_size(fields); i++) {
        json_t *f = json_array_get(fields, i);
        const char *n = json_string_value(json_object_get(f, "name"));
        if (n && strcmp(n, name) == 0)
            return f;
    }
    return NULL;
}

static void type_text(sl_buf *b, json_t *field)
{
    char *t = json_dumps(json_object_get(field, "type"), JSON_COMPACT | JSON_ENCODE_ANY);
    sl_buf_adds(b, t ? t : "?");
    free(t);
}

void sl_avro_describe_change(sl_buf *out, const char *old_schema, const char *new_schema)
{
    json_error_t je;
    json_t *o = old_schema ? json_loads(old_schema, 0, &je) : NULL;
    json_t *n = json_loads(new_schema, 0, &je);
    json_t *of = row_fields(o), *nf = row_fields(n);
    size_t start = out->len;
    for (size_t i = 0; i < json_array_size(nf); i++) {
        json_t *f = json_array_get(nf, i);
        const char *name = json_string_value(json_object_get(f, "name"));
        json_t *was = field_named(of, name ? name : "");
        if (!was) {
            sl_buf_printf(out, "%scolumn %s added (", out->len > start ? "; " : "", name);
            type_text(out, f);
            sl_buf_addc(out, ')');
        } else if (!json_equal(json_object_get(was, "type"), json_object_get(f, "type"))) {
            sl_buf_printf(out, "%scolumn %s changed from ", out->len > start ? "; " : "", name);
            type_text(out, was);
            sl_buf_adds(out, " to ");
            type_text(out, f);
        }
    }
    for (size_t i = 0; i < json_array_size(of); i++) {
        const char *name = json_string_value(json_object_get(json_array_get(of, i), "name"));
        if (!field_named(nf, name ? name : ""))
            sl_buf_printf(out, "%scolumn %s removed", out->len > start ? "; " : "", name);
    }
    if (out->len == start)
        sl_buf_adds(out, o ? "no column changed" : "the subject's latest version could not be read");
    json_decref(o);
    json_decref(n);
}

static int register_one(kafka_avro *a, const sl_table_schema *s, const char *subject, const char *schema, int *id,
                        sl_err *err)
{
    int refused = 0;
    int rc = sl_sr_register(a->sr, subject, schema, id, &refused, err);
    if (!rc || !refused)
        return rc;
    char msg[SL_ERRLEN];
    snprintf(msg, sizeof msg, "%s", err->msg);
    char *latest = NULL;
    sl_err ignore;
    sl_sr_latest(a->sr, subject, &latest, &ignore);
    sl_buf change;
    sl_buf_init(&change);
    sl_avro_describe_change(&change, latest, schema);
    sl_buf_addc(&change, 0);
    free(latest);
    rc = sl_errf(err, SL_ERUNTIME,
                 "kafka sink: schema registry %s refused the schema of table %s (version %u) for subject %s: %s; "
                 "against the subject's latest version: %s; nothing of this epoch was committed",
                 sl_sr_urls(a->sr), s->qualified, (unsigned)s->version, subject, msg,
                 change.data ? change.data : "?");
    sl_buf_free(&change);
    return rc;
}

int sl_kafka_avro_prepare(kafka_avro *a, kafka_avro_table *t, const sl_table_schema *s, const char *topic,
                          sl_err *err)
{
    if (t->schema == s)
        return 0;
    int rc = sl_avro_table_build(t, s, &a->opts, err);
    if (rc)
        return rc;
    sl_buf subject;
    sl_buf_init(&subject);
    if (a->key_avro && t->key_schema) {
        subject_of(&subject, a, topic, t->key_record, 1);
        rc = subject.failed ? sl_errf(err, SL_ERUNTIME, "out of memory")
                            : register_one(a, s, subject.data, t->key_schema, &t->key_id, err);
    }
    if (!rc && a->value_avro) {
        subject_of(&subject, a, topic, t->value_record, 0);
        rc = subject.failed ? sl_errf(err, SL_ERUNTIME, "out of memory")
                            : register_one(a, s, subject.data, t->value_schema, &t->value_id, err);
    }
    sl_buf_free(&subject);
    if (rc)
        sl_avro_table_clear(t); /* built again, and registered, on the next try */
    return rc;
}
