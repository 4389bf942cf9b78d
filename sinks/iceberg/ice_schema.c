/* ice_schema.c — the Iceberg schema side of a table: the current schema in
 * table metadata, the field JSON sluice creates, and binding a source
 * schema to the table's field ids (evolving the table when the source
 * gained or dropped columns or widened a type the way Iceberg promotes:
 * int -> long, float -> double, decimal(P, S) -> decimal(P', S) with
 * P' > P; refusing any other change of type). */
#define SL_LOG_COMPONENT "iceberg sink"

#include <stdlib.h>
#include <string.h>

#include "../../core/kind_tag.h"
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


/* the field's doc says which source kind its values have (core/kind_tag.h):
 * reading the table back (sluice migrate) renders them as the source does */
static json_t *field_doc(const sl_column *sc)
{
    sl_buf b;
    sl_buf_init(&b);
    sl_kind_tag_for(&b, sc);
    json_t *doc = json_stringn(b.data ? b.data : "", b.len);
    sl_buf_free(&b);
    return doc;
}

json_t *ice_field_json(int32_t id, const ice_col *c, const sl_column *sc, int required)
{
    return json_pack("{s:I, s:s, s:b, s:s, s:o}", "id", (json_int_t)id, "name", c->name, "required", required,
                     "type", c->itype, "doc", field_doc(sc));
}


/* -------------------------------------------------------------- schema -- */

static json_t *field_named(json_t *fields, const char *name)
{
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f)
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

/* decimal(P, S) as P and S; 0 when t is not a decimal */
static int decimal_ps(const char *t, unsigned *p, unsigned *s)
{
    return sscanf(t, "decimal(%u ,%u)", p, s) == 2;
}

/* 1 when Iceberg promotes a column of type from to type to (spec, "Schema
 * Evolution": readers read older files' values in the wider type) */
static int promotes(const char *from, const char *to)
{
    unsigned p1, s1, p2, s2;
    if (!strcmp(from, "int") && !strcmp(to, "long"))
        return 1;
    if (!strcmp(from, "float") && !strcmp(to, "double"))
        return 1;
    return decimal_ps(from, &p1, &s1) && decimal_ps(to, &p2, &s2) && s1 == s2 && p2 > p1;
}

static const ice_col *bound_col(const ice_table *t, int32_t field_id)
{
    for (int i = 0; i < t->ncols; i++)
        if (t->cols[i].field_id == field_id)
            return &t->cols[i];
    return NULL;
}

#define PROMOTIONS "Iceberg promotes only int to long, float to double and decimal(P, S) to a larger P"

/* Binds source column i (mapped to c) to the existing field f: the same
 * type; a promotion of the table's type (f's type in fields is changed,
 * *changed set); or, when the source type is narrower than the table's
 * (the table was promoted by an earlier run, which a restart replays
 * from before), writing the table's wider type. A source column that was
 * bound in this run (prev) and changed to a type its old one does not
 * promote to is refused, whatever the table has: the source narrowed. */
static int bind_type(ice_table *t, const sl_column *sc, ice_col *c, json_t *f, const ice_col *prev, int *changed,
                     sl_err *err)
{
    const char *have = json_string_value(json_object_get(f, "type"));
    if (prev && !same_type(prev->mapped, c->itype) && !promotes(prev->mapped, c->itype))
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s column %s: the source type changed from %s (Iceberg %s) "
                       "to %s (Iceberg %s), which Iceberg cannot do to a column (" PROMOTIONS "); " ICE_RESNAPSHOT,
                       t->target, c->name, prev->stype, prev->mapped, sc->type_name ? sc->type_name : "?", c->itype);
    if (have && same_type(have, c->itype))
        return 0;
    if (have && promotes(have, c->itype)) {
        sl_info("%s: promoting column %s from %s to %s (field id %d)", t->target, c->name, have, c->itype,
                (int)json_integer_value(json_object_get(f, "id")));
        json_object_set_new(f, "type", json_string(c->itype));
        json_object_set_new(f, "doc", field_doc(sc));
        *changed = 1;
        return 0;
    }
    if (have && promotes(c->itype, have) && !ice_type_widen(c, have))
        return 0;
    /* unsigned integers into decimal(20, 0), which holds them all: how tables
     * created before TINYINT..INT UNSIGNED became int and long have them */
    if (have && sc->kind == SL_UINT && same_type(have, "decimal(20, 0)") && !ice_type_widen(c, have))
        return 0;
    return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s column %s: the source type %s maps to Iceberg %s but the "
                   "table has %s, which Iceberg cannot change it to (" PROMOTIONS "); " ICE_RESNAPSHOT, t->target,
                   c->name, sc->type_name ? sc->type_name : "?", c->itype, have ? have : "a nested type");
}

/* binds t's columns to s; new source columns become new Iceberg fields,
 * required fields the source no longer has become optional and widened
 * types are promoted, committed at once as a schema update (data needs
 * none of it to be readable: readers promote older files' values) */
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
        memcpy(cols[i].mapped, cols[i].itype, sizeof cols[i].mapped);
        snprintf(cols[i].stype, sizeof cols[i].stype, "%s", s->cols[i].type_name ? s->cols[i].type_name : "?");
        json_t *f = field_named(fields, s->cols[i].name);
        if (!f) {
            cols[i].field_id = ++next_id;
            cols[i].required = 0; /* Iceberg adds only optional columns */
            json_array_append_new(fields, ice_field_json(cols[i].field_id, &cols[i], &s->cols[i], 0));
            changed = 1;
            sl_info("%s: adding column %s %s (field id %d)", t->target, cols[i].name, cols[i].itype, next_id);
            continue;
        }
        cols[i].field_id = (int32_t)json_integer_value(json_object_get(f, "id"));
        cols[i].required = json_is_true(json_object_get(f, "required"));
        rc = bind_type(t, &s->cols[i], &cols[i], f, bound_col(t, cols[i].field_id), &changed, err);
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
        json_t *change = json_pack("[{s:{s:o, s:s}, s:[{s:s, s:i}], s:[{s:s, s:O, s:I}, {s:s, s:i}]}]",
                                   "identifier", "namespace", ice_ns_json(t->ns), "name", t->name, "requirements", "type",
                                   "assert-current-schema-id", "current-schema-id", t->schema_id, "updates", "action",
                                   "add-schema", "schema", ns, "last-column-id", (json_int_t)next_id, "action",
                                   "set-current-schema", "schema-id", -1);
        json_t *md = NULL;
        rc = k->cat.ops->commit(k->cat.self, change, &md, err);
        json_decref(change);
        json_decref(ns);
        if (rc == ICE_CONFLICT)
            rc = sl_err_prefix(err, SL_ERUNTIME, SL_LOG_PREFIX "evolving the schema of %s: ", t->target);
        if (rc == 0) {
            json_t *cur = ice_current_schema(md, &t->schema_id);
            json_decref(t->schema);
            t->schema = json_incref(cur);
            t->last_column_id = (int32_t)json_integer_value(json_object_get(md, "last-column-id"));
        }
        json_decref(md);
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

