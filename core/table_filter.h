/* table_filter.h — which tables a source captures, in Flink CDC's rule.
 *
 * `tables` is a comma-separated list of patterns "db.table" (MySQL) or
 * "schema.table" (PostgreSQL). An unescaped '.' separates the two parts;
 * each part is a regular expression matched against the whole name, in
 * which "\." stands for the regex "." (any character), because a plain '.'
 * is the separator. `tables.exclude` removes matches again.
 */
#ifndef SL_TABLE_FILTER_H
#define SL_TABLE_FILTER_H

#include <regex.h>
#include <stddef.h>

#include "err.h"

typedef struct sl_table_pattern {
    char *text;
    regex_t ns, table;
} sl_table_pattern;

typedef struct sl_table_filter {
    sl_table_pattern *include, *exclude;
    size_t ninclude, nexclude;
} sl_table_filter;

/* exclude may be NULL. Errors name the pattern. */
int sl_table_filter_init(sl_table_filter *f, const char *include, const char *exclude, sl_err *err);
int sl_table_filter_match(const sl_table_filter *f, const char *ns, const char *table);
void sl_table_filter_free(sl_table_filter *f);
/* A pattern part that is a plain name (no regex metacharacters) is returned
 * unescaped in out, so sources can list exact tables without scanning. */
int sl_table_pattern_literal(const char *part, char *out, size_t len);

#endif
