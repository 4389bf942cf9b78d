/* route.h — where a source table's changes go in the sink (Flink CDC's
 * `route:` block), with Flink's TableIdRouter rules.
 *
 * source-table is one regular expression (or a comma-separated list of
 * them) matched against the whole table id "db.table" (PostgreSQL:
 * "schema.table"): an unescaped '.' is the literal dot between the parts and
 * '\.' is the regex "any character", so `mydb\.*` matches every table of
 * mydb. sink-table names the target: replace-symbol in it stands for the
 * source table's name, otherwise $1..$9 stand for the pattern's capturing
 * groups ($0 the whole id). route-mode ALL_MATCH (Flink's default) sends a
 * table to every matching route, FIRST_MATCH to the first only. Unrouted
 * tables keep their own name.
 */
#ifndef SL_ROUTE_H
#define SL_ROUTE_H

#include <regex.h>
#include <stddef.h>

#include "option.h"
#include "schema.h"

typedef struct sl_route {
    char *source_table;   /* regex over the whole table id, Flink's dot rule */
    char *sink_table;     /* may contain replace_symbol or $n */
    char *replace_symbol; /* e.g. "<>": replaced by the source table name */
    char *description;
    sl_srcloc loc;
} sl_route;

typedef struct sl_route_table sl_route_table;
struct sl_route_table {
    size_t n;
    regex_t *match; /* one compiled pattern per route */
    const sl_route *routes;
    int first_match; /* route-mode FIRST_MATCH */
};

int sl_route_table_init(sl_route_table *t, const sl_route *routes, size_t n, sl_err *err);
void sl_route_table_free(sl_route_table *t);
/* The i-th sink table of s, i counting from 0: writes the sink-side name
 * into buf and returns 1 when a route matched, 0 for an unrouted table
 * (buf = "db.table", only for i == 0), -1 when there is no i-th target.
 * t may be NULL. */
int sl_route_target_at(const sl_route_table *t, const sl_table_schema *s, size_t i, char *buf, size_t len);
/* The first target: sl_route_target_at(t, s, 0, ...). */
int sl_route_target(const sl_route_table *t, const sl_table_schema *s, char *buf, size_t len);

#endif
