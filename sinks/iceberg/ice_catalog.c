/* ice_catalog.c — picks the catalog the sink options name
 * (catalog.properties.type: rest or sql); the rest of the sink sees only the
 * ops struct (ice_sink.h), so tables, checkpoints and commits are the same
 * code for every kind of catalog. */
#include <stdlib.h>
#include <string.h>

#include "ice_sink.h"

int ice_catalog_open(ice_catalog *c, const sl_options *o, sl_err *err)
{
    memset(c, 0, sizeof *c);
    const char *type = sl_opt_str(o, "catalog.properties.type");
    if (type && strcmp(type, "sql") == 0)
        return ice_sqlcat_open(c, o, err);
    return ice_restcat_open(c, o, err);
}

void ice_catalog_close(ice_catalog *c)
{
    if (c->ops)
        c->ops->close(c->self);
    free(c->desc);
    memset(c, 0, sizeof *c);
}

/* Namespaces travel inside the sink as their dotted form ("a.b", what
 * the SQL catalog's table_namespace holds); the REST spec wants the levels
 * as a JSON array, and in URLs joined by the unit separator (0x1F). */
json_t *ice_ns_json(const char *ns)
{
    json_t *a = json_array();
    for (const char *p = ns;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        json_array_append_new(a, json_stringn(p, n));
        if (!dot)
            return a;
        p = dot + 1;
    }
}

char *ice_ns_join(json_t *levels)
{
    sl_buf b;
    sl_buf_init(&b);
    size_t i;
    json_t *l;
    json_array_foreach(levels, i, l) {
        if (!json_is_string(l)) {
            sl_buf_free(&b);
            return NULL;
        }
        if (i)
            sl_buf_addc(&b, '.');
        sl_buf_adds(&b, json_string_value(l));
    }
    sl_buf_addc(&b, 0);
    if (b.failed || !i) {
        sl_buf_free(&b);
        return NULL;
    }
    return b.data;
}
