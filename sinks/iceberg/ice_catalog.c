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
