/* pg_names.h — Flink's way of naming PostgreSQL tables: its postgres
 * connector writes `tables: db.schema.table` and has no database-name, the
 * database being the first part of every pattern. sluice accepts both
 * forms; the database part must name one database, literally. */
#ifndef SL_PG_NAMES_H
#define SL_PG_NAMES_H

#include "../../core/option.h"

typedef struct sl_pg_names {
    char *dbname;         /* database-name, or the db part of the patterns */
    char *tables;         /* the patterns as schema.table */
    char *tables_exclude; /* likewise, or NULL */
} sl_pg_names;

/* From the options database-name, tables and tables.exclude; errors name
 * the option's file:line:col. */
int sl_pg_names_resolve(const sl_options *o, sl_pg_names *out, sl_err *err);
void sl_pg_names_free(sl_pg_names *n);

#endif
