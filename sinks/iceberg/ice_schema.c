/* ice_schema.c — the Iceberg schema side of a table: the current schema in
 * table metadata, the field JSON sluice creates, and binding a source
 * schema to the table's field ids (evolving the table when the source
 * gained or dropped columns; refusing a type Iceberg cannot promote to). */
#define SL_LOG_COMPONENT "iceberg sink"

#include <stdlib.h>
#include <string.h>

#include "../../core/log.h"
#include "ice_sink.h"

json_t *ice_current_schema(json_t *md, int *id)
{
    *id = (int)json_integer_value(json_object_get(md, "current-schema-id"));
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(md, "schemas"), i, s)
        if (json_integer_value(json_object_get(s, "schema-id")) == *id)
            return s;
    return NULL;
}


json_t *ice_field_json(int32_t id, const ice_col *c, int required)
{
    return json_pack("{s:I, s:s, s:b, s:s}", "id", (json_int_t)id, "name", c->name, "required", required, "type",
                     c->itype);
}


/* -------------------------------------------------------------- schema -- */

static json_t *field_named(json_t *schema, const char *name)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(schema, "fields"), i, f)
        if (!strcmp(json_string_value(json_object_get(f, "name")), name))
            return f;
    return NULL;
}

/* "decimal(10,2)" and "decimal(10, 2)" are one type */
static int same_type(const char *a, const char *b)
{
    for (;; a++, b++) {
        while (*a == ' ')
            a++;
        while (*b == ' ')
            b++;
        if (*a != *b)
            return 0;
        if (!*a)
            return 1;
    }
}

/* binds t's columns to s; new source columns become new Iceberg fields and
 * required fields the source no longer has become optional, committed at
 * once as a schema update (data needs none of it to be readable) */
int ice_bind_columns(ice_table *t, const sl_table_schema *s, sl_err *err)
{
    ice_sink *k = t->sink;
    ice_col *cols = calloc((size_t)s->ncols, sizeof *cols);
    if (!cols)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    json_t *fields = json_deep_copy(json_object_get(t->schema, "fields"));
    int changed = 0, rc = 0;
    int32_t next_id = t->last_column_id;
    for (int i = 0; i < s->ncols && !rc; i++) {
        if ((rc = ice_type_for(s, i, &cols[i], err)))
            break;
        json_t *f = field_named(t->schema, s->cols[i].name);
        if (!f) {
            cols[i].field_id = ++next_id;
            cols[i].required = 0; /* Iceberg adds only optional columns */
            json_array_append_new(fields, ice_field_json(cols[i].field_id, &cols[i], 0));
            changed = 1;
            sl_info("%s: adding column %s %s (field id %d)", t->target, cols[i].name, cols[i].itype, next_id);
            continue;
        }
        const char *have = json_string_value(json_object_get(f, "type"));
        if (!have || !same_type(have, cols[i].itype)) {
            rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s column %s: the source type %s maps to Iceberg %s but "
                         "the table has %s; sluice changes no column type (drop the table or map the column "
                         "to a new name)", t->target, cols[i].name,
                         s->cols[i].type_name ? s->cols[i].type_name : "?", cols[i].itype,
                         have ? have : "a nested type");
            break;
        }
        cols[i].field_id = (int32_t)json_integer_value(json_object_get(f, "id"));
        cols[i].required = json_is_true(json_object_get(f, "required"));
    }
    /* a required Iceberg column the source dropped: make it optional */
    size_t j;
    json_t *f;
    json_array_foreach(fields, j, f) {
        if (rc || !json_is_true(json_object_get(f, "required")))
            continue;
        if (sl_schema_column_index(s, json_string_value(json_object_get(f, "name"))) < 0) {
            json_object_set_new(f, "required", json_false());
            changed = 1;
        }
    }
    if (!rc && changed) {
        json_t *ns = json_pack("{s:s, s:i, s:o, s:O}", "type", "struct", "schema-id", t->schema_id + 1, "fields",
                               fields, "identifier-field-ids",
                               json_object_get(t->schema, "identifier-field-ids") ? json_object_get(t->schema,
                               "identifier-field-ids") : json_array());
        fields = NULL;
        json_t *body = json_pack("{s:[{s:s, s:i}], s:[{s:s, s:O, s:I}, {s:s, s:i}]}", "requirements", "type",
                                 "assert-current-schema-id", "current-schema-id", t->schema_id, "updates", "action",
                                 "add-schema", "schema", ns, "last-column-id", (json_int_t)next_id, "action",
                                 "set-current-schema", "schema-id", -1);
        sl_buf path;
        sl_buf_init(&path);
        ice_table_path(&path, t->ns, t->name);
        json_t *resp;
        int st = ice_rest_call(&k->rest, "POST", path.data, body, &resp, err);
        sl_buf_free(&path);
        json_decref(body);
        json_decref(ns);
        if (st < 0) {
            rc = st;
        } else if (st != 200) {
            rc = ice_rest_fail(err, st, resp, "evolving the schema of %s", t->target);
        } else {
            json_t *md = json_object_get(resp, "metadata");
            json_t *cur = ice_current_schema(md, &t->schema_id);
            json_decref(t->schema);
            t->schema = json_incref(cur);
            t->last_column_id = (int32_t)json_integer_value(json_object_get(md, "last-column-id"));
        }
        json_decref(resp);
    }
    json_decref(fields);
    if (rc) {
        free(cols);
        return rc;
    }
    free(t->cols);
    t->cols = cols;
    t->ncols = s->ncols;
    t->src = s;
    return 0;
}

