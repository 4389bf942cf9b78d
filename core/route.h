/* route.h — where a source table's changes go in the sink (Flink CDC's
 * `route:` block): the first route whose source-table pattern matches
 * names the sink table; replace-symbol in sink-table stands for the source
 * table's name. Unrouted tables keep their own name. */
#ifndef SL_ROUTE_H
#define SL_ROUTE_H

#include <stddef.h>

#include "option.h"
#include "schema.h"
#include "table_filter.h"

typedef struct sl_route {
    char *source_table;   /* regex in Flink's db.table rule */
    char *sink_table;     /* may contain replace_symbol */
    char *replace_symbol; /* e.g. "<>": replaced by the source table name */
    char *description;
    sl_srcloc loc;
} sl_route;

typedef struct sl_route_table sl_route_table;
struct sl_route_table {
    size_t n;
    sl_table_filter *match; /* one filter per route */
    const sl_route *routes;
};

int sl_route_table_init(sl_route_table *t, const sl_route *routes, size_t n, sl_err *err);
void sl_route_table_free(sl_route_table *t);
/* Writes the sink-side name ("db.table" when unrouted) into buf; returns 1
 * when a route matched. t may be NULL. */
int sl_route_target(const sl_route_table *t, const sl_table_schema *s, char *buf, size_t len);

#endif
