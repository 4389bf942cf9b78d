/* avro_schema.c — a writer schema (JSON from a file header) as a tree the
 * decoder walks: primitives, records, enums, arrays, maps, unions, fixed,
 * and references to named types defined earlier in the same schema. */
#include "avro.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAMED 1024
#define MAX_DEPTH 64

typedef struct parse_ctx {
    sl_arena *arena;
    sl_err *err;
    int nnamed;
    sl_avro_schema *named[MAX_NAMED];
} parse_ctx;

static const struct {
    const char *name;
    int type;
} primitives[] = {
    {"null", SL_AVRO_NULL},     {"boolean", SL_AVRO_BOOLEAN}, {"int", SL_AVRO_INT},
    {"long", SL_AVRO_LONG},     {"float", SL_AVRO_FLOAT},     {"double", SL_AVRO_DOUBLE},
    {"bytes", SL_AVRO_BYTES},   {"string", SL_AVRO_STRING},
};

static sl_avro_schema *node(parse_ctx *c, int type)
{
    sl_avro_schema *s = sl_arena_alloc(c->arena, sizeof *s);
    if (!s) {
        sl_errf(c->err, SL_ERUNTIME, "out of memory");
        return NULL;
    }
    memset(s, 0, sizeof *s);
    s->type = type;
    return s;
}

static const char *full_name(parse_ctx *c, const char *name, const char *ns)
{
    if (strchr(name, '.') || !ns || !*ns)
        return sl_arena_strdup(c->arena, name);
    size_t n = strlen(ns) + strlen(name) + 2;
    char *s = sl_arena_alloc(c->arena, n);
    if (s)
        snprintf(s, n, "%s.%s", ns, name);
    return s;
}

static const char *short_name(const char *full)
{
    const char *dot = strrchr(full, '.');
    return dot ? dot + 1 : full;
}

static sl_avro_schema *lookup(parse_ctx *c, const char *name, const char *ns)
{
    for (int pass = 0; pass < 3; pass++)
        for (int i = 0; i < c->nnamed; i++) {
            const char *have = c->named[i]->name;
            if (pass == 0 && strcmp(have, name) == 0)
                return c->named[i];
            if (pass == 1 && ns && *ns && strncmp(have, ns, strlen(ns)) == 0 &&
                have[strlen(ns)] == '.' && strcmp(have + strlen(ns) + 1, name) == 0)
                return c->named[i];
            if (pass == 2 && !strchr(name, '.') && strcmp(short_name(have), name) == 0)
                return c->named[i];
        }
    return NULL;
}

static sl_avro_schema *parse(parse_ctx *c, json_t *j, const char *ns, int depth);

static int add_named(parse_ctx *c, sl_avro_schema *s)
{
    if (c->nnamed == MAX_NAMED) {
        sl_errf(c->err, SL_ERUNTIME, "avro: schema has more than %d named types", MAX_NAMED);
        return -1;
    }
    c->named[c->nnamed++] = s;
    return 0;
}

static sl_avro_schema *parse_object(parse_ctx *c, json_t *j, const char *ns, int depth)
{
    json_t *jt = json_object_get(j, "type");
    if (!jt) {
        sl_errf(c->err, SL_ERUNTIME, "avro: schema object without \"type\"");
        return NULL;
    }
    if (!json_is_string(jt)) /* {"type": {...}} or {"type": [...]} */
        return parse(c, jt, ns, depth + 1);
    const char *t = json_string_value(jt);
    const char *logical = json_string_value(json_object_get(j, "logicalType"));
    const char *name = json_string_value(json_object_get(j, "name"));
    const char *own_ns = json_string_value(json_object_get(j, "namespace"));
    if (own_ns)
        ns = own_ns;
    sl_avro_schema *s = NULL;
    if (!strcmp(t, "record") || !strcmp(t, "error") || !strcmp(t, "enum") || !strcmp(t, "fixed")) {
        if (!name) {
            sl_errf(c->err, SL_ERUNTIME, "avro: %s without a name", t);
            return NULL;
        }
        int type = t[0] == 'e' && t[1] == 'n' ? SL_AVRO_ENUM : t[0] == 'f' ? SL_AVRO_FIXED : SL_AVRO_RECORD;
        s = node(c, type);
        if (!s)
            return NULL;
        s->name = full_name(c, name, ns);
        if (strchr(s->name, '.')) /* names inside take this one's namespace */
            ns = sl_arena_strndup(c->arena, s->name, (size_t)(strrchr(s->name, '.') - s->name));
        if (add_named(c, s))
            return NULL;
        if (type == SL_AVRO_FIXED) {
            s->n = (int)json_integer_value(json_object_get(j, "size"));
        } else if (type == SL_AVRO_ENUM) {
            json_t *syms = json_object_get(j, "symbols");
            s->n = (int)json_array_size(syms);
            s->names = sl_arena_alloc(c->arena, sizeof(char *) * (size_t)(s->n + 1));
            for (int i = 0; i < s->n; i++)
                s->names[i] = sl_arena_strdup(c->arena, json_string_value(json_array_get(syms, (size_t)i)));
        } else {
            json_t *fields = json_object_get(j, "fields");
            s->n = (int)json_array_size(fields);
            s->names = sl_arena_alloc(c->arena, sizeof(char *) * (size_t)(s->n + 1));
            s->children = sl_arena_alloc(c->arena, sizeof(sl_avro_schema *) * (size_t)(s->n + 1));
            for (int i = 0; i < s->n; i++) {
                json_t *f = json_array_get(fields, (size_t)i);
                const char *fname = json_string_value(json_object_get(f, "name"));
                s->names[i] = sl_arena_strdup(c->arena, fname ? fname : "");
                s->children[i] = parse(c, json_object_get(f, "type"), ns, depth + 1);
                if (!s->children[i])
                    return NULL;
            }
        }
    } else if (!strcmp(t, "array") || !strcmp(t, "map")) {
        s = node(c, t[0] == 'a' ? SL_AVRO_ARRAY : SL_AVRO_MAP);
        if (!s)
            return NULL;
        s->children = sl_arena_alloc(c->arena, sizeof(sl_avro_schema *));
        s->children[0] = parse(c, json_object_get(j, t[0] == 'a' ? "items" : "values"), ns, depth + 1);
        if (!s->children[0])
            return NULL;
    } else {
        /* a primitive with attributes, e.g. {"type": "int", "logicalType": "date"} */
        sl_avro_schema *base = parse(c, jt, ns, depth + 1);
        if (base && logical && !base->name) /* a fresh primitive node, not a shared named type */
            base->logical = sl_arena_strdup(c->arena, logical);
        return base;
    }
    if (s && logical)
        s->logical = sl_arena_strdup(c->arena, logical);
    return s;
}

static sl_avro_schema *parse(parse_ctx *c, json_t *j, const char *ns, int depth)
{
    if (depth > MAX_DEPTH) {
        sl_errf(c->err, SL_ERUNTIME, "avro: schema nested deeper than %d", MAX_DEPTH);
        return NULL;
    }
    if (json_is_string(j)) {
        const char *t = json_string_value(j);
        for (size_t i = 0; i < sizeof primitives / sizeof *primitives; i++)
            if (!strcmp(t, primitives[i].name))
                return node(c, primitives[i].type);
        sl_avro_schema *s = lookup(c, t, ns);
        if (!s)
            sl_errf(c->err, SL_ERUNTIME, "avro: schema names an unknown type \"%s\"", t);
        return s;
    }
    if (json_is_array(j)) {
        sl_avro_schema *s = node(c, SL_AVRO_UNION);
        if (!s)
            return NULL;
        s->n = (int)json_array_size(j);
        s->children = sl_arena_alloc(c->arena, sizeof(sl_avro_schema *) * (size_t)(s->n + 1));
        for (int i = 0; i < s->n; i++) {
            s->children[i] = parse(c, json_array_get(j, (size_t)i), ns, depth + 1);
            if (!s->children[i])
                return NULL;
            if (s->children[i]->type == SL_AVRO_UNION) {
                sl_errf(c->err, SL_ERUNTIME, "avro: a union inside a union");
                return NULL;
            }
        }
        return s;
    }
    if (json_is_object(j))
        return parse_object(c, j, ns, depth);
    sl_errf(c->err, SL_ERUNTIME, "avro: schema element is neither a name, an object nor a union");
    return NULL;
}

int sl_avro_schema_parse(const char *text, size_t len, sl_arena *arena, const sl_avro_schema **out,
                         sl_err *err)
{
    json_error_t jerr;
    json_t *j = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
    if (!j)
        return sl_errf(err, SL_ERUNTIME, "avro: the header schema is not JSON: %s", jerr.text);
    parse_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        json_decref(j);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    c->arena = arena;
    c->err = err;
    const sl_avro_schema *s = parse(c, j, NULL, 0);
    free(c);
    json_decref(j);
    if (!s)
        return SL_ERUNTIME;
    *out = s;
    return 0;
}
