/* mysql_catalog.c — table shapes from information_schema, for snapshots
 * and for the CREATE / ALTER TABLE statements the binlog shows (with what
 * only the catalog knows: defaults, comments, auto-increment, charsets,
 * which Debezium's tableChanges carry).
 *
 * A snapshot reads rows before the binlog has shown the table's TABLE_MAP,
 * so the schema its rows carry comes from the catalog. It must describe
 * the columns exactly as binlog_decode does from TABLE_MAP metadata (kind,
 * real type code, precision, scale, signedness, enum members), so that the
 * changelog's first TABLE_MAP of the table compares equal and no spurious
 * schema change is emitted.
 */
#define SL_LOG_COMPONENT "mysql source"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../core/log.h"
#include "binlog_decode.h"
#include "mysql_source.h"

/* Parses "enum('a','b''c')" / "set(...)" member lists. */
static int parse_members(const char *column_type, char ***out, uint32_t *n)
{
    const char *p = strchr(column_type, '(');
    *out = NULL;
    *n = 0;
    if (!p)
        return 0;
    size_t cap = 8;
    char **items = malloc(cap * sizeof *items);
    if (!items)
        return -1;
    p++;
    while (*p == '\'') {
        p++;
        size_t len = 0, alloc = 16;
        char *item = malloc(alloc);
        if (!item)
            goto fail;
        for (;;) {
            if (!*p) {
                free(item);
                goto fail;
            }
            if (*p == '\'' && p[1] == '\'') {
                p += 2;
                item[len++] = '\'';
            } else if (*p == '\'') {
                p++;
                break;
            } else {
                item[len++] = *p++;
            }
            if (len + 1 >= alloc) {
                alloc *= 2;
                char *ni = realloc(item, alloc);
                if (!ni) {
                    free(item);
                    goto fail;
                }
                item = ni;
            }
        }
        item[len] = 0;
        if (*n == cap) {
            cap *= 2;
            char **ni = realloc(items, cap * sizeof *ni);
            if (!ni) {
                free(item);
                goto fail;
            }
            items = ni;
        }
        items[(*n)++] = item;
        if (*p == ',')
            p++;
    }
    *out = items;
    return 0;
fail:
    for (uint32_t i = 0; i < *n; i++)
        free(items[i]);
    free(items);
    *n = 0;
    return -1;
}

/* "int(10) unsigned" -> "int unsigned": integer display widths are not
 * part of the type and the binlog does not know them */
static char *strip_display_width(const char *t)
{
    static const char *const ints[] = {"tinyint(", "smallint(", "mediumint(", "int(", "bigint(", "year(", NULL};
    for (int i = 0; ints[i]; i++) {
        size_t n = strlen(ints[i]);
        if (strncmp(t, ints[i], n) == 0) {
            const char *close = strchr(t + n, ')');
            if (!close)
                break;
            size_t head = n - 1;
            char *out = malloc(strlen(t) + 1);
            if (!out)
                return NULL;
            memcpy(out, t, head);
            strcpy(out + head, close + 1);
            return out;
        }
    }
    return strdup(t);
}

typedef struct type_map {
    const char *data_type;
    uint32_t src_type;
    uint8_t kind;
} type_map;

/* MySQL column type codes as they appear in TABLE_MAP (real types). */
static const type_map types[] = {
    {"tinyint", 1, SL_INT},     {"smallint", 2, SL_INT},     {"mediumint", 9, SL_INT},
    {"int", 3, SL_INT},         {"integer", 3, SL_INT},      {"bigint", 8, SL_INT},
    {"decimal", 246, SL_DECIMAL}, {"numeric", 246, SL_DECIMAL}, {"float", 4, SL_FLOAT},
    {"double", 5, SL_DOUBLE},   {"real", 5, SL_DOUBLE},      {"bit", 16, SL_BIT},
    {"year", 13, SL_YEAR},      {"date", 10, SL_DATE},       {"time", 19, SL_TIME},
    {"datetime", 18, SL_DATETIME}, {"timestamp", 17, SL_TIMESTAMP}, {"char", 254, SL_STRING},
    {"varchar", 15, SL_STRING}, {"binary", 254, SL_BYTES},   {"varbinary", 15, SL_BYTES},
    {"tinytext", 252, SL_STRING}, {"text", 252, SL_STRING},  {"mediumtext", 252, SL_STRING},
    {"longtext", 252, SL_STRING}, {"tinyblob", 252, SL_BYTES}, {"blob", 252, SL_BYTES},
    {"mediumblob", 252, SL_BYTES}, {"longblob", 252, SL_BYTES}, {"enum", 247, SL_ENUM},
    {"set", 248, SL_SET},       {"json", 245, SL_JSON},      {"geometry", 255, SL_BYTES},
    {"point", 255, SL_BYTES},   {"linestring", 255, SL_BYTES}, {"polygon", 255, SL_BYTES},
    {"multipoint", 255, SL_BYTES}, {"multilinestring", 255, SL_BYTES}, {"multipolygon", 255, SL_BYTES},
    {"geometrycollection", 255, SL_BYTES},
    /* MariaDB: SELECT gives their text; the binlog decoder turns the
     * BINARY(16)/BINARY(4) it sees into the same text */
    {"inet6", 254, SL_STRING},  {"uuid", 254, SL_STRING},    {"inet4", 254, SL_STRING},
    {NULL, 0, 0},
};

/* A COLUMN_DEFAULT as Debezium's defaultValueExpression: MariaDB quotes
 * string literals ('x', with '' inside) and writes NULL for "no default or
 * NULL"; MySQL gives the bare literal and SQL NULL. */
static char *default_text(const char *d)
{
    if (!d || strcmp(d, "NULL") == 0)
        return NULL;
    size_t n = strlen(d);
    if (n < 2 || d[0] != '\'' || d[n - 1] != '\'')
        return strdup(d);
    char *out = malloc(n);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 1; i + 1 < n; i++) {
        out[o++] = d[i];
        if (d[i] == '\'' && d[i + 1] == '\'' && i + 2 < n)
            i++;
    }
    out[o] = 0;
    return out;
}

static int set_text(char **dst, const char *v)
{
    if (!v || !*v)
        return 0;
    *dst = strdup(v);
    return *dst ? 0 : -1;
}

/* What tableChanges describes beyond the shape (columns 7 and 11-15 of the
 * query below): the column's charset, default, auto-increment and comment,
 * the table's charset (its collation's prefix) and comment. */
static int ddl_metadata(sl_table_schema *s, sl_column *c, MYSQL_ROW row)
{
    if (c->kind != SL_BYTES && set_text(&c->charset_name, row[7]))
        return -1;
    if (row[11] && !(c->default_expr = default_text(row[11])))
        if (strcmp(row[11], "NULL") != 0)
            return -1;
    c->auto_inc = row[12] && strstr(row[12], "auto_increment") != NULL;
    if (set_text(&c->comment, row[13]))
        return -1;
    if (!s->charset_name && row[14]) {
        size_t n = strcspn(row[14], "_");
        if (!(s->charset_name = strndup(row[14], n)))
            return -1;
    }
    if (!s->comment && set_text(&s->comment, row[15]))
        return -1;
    return 0;
}

int sl_mysql_catalog_schema(MYSQL *m, const char *db, const char *table, sl_table_schema **out, sl_err *err)
{
    *out = NULL;
    char edb[256], etb[256], sql[1500];
    mysql_real_escape_string(m, edb, db, strlen(db) > 120 ? 120 : strlen(db));
    mysql_real_escape_string(m, etb, table, strlen(table) > 120 ? 120 : strlen(table));
    snprintf(sql, sizeof sql,
             "SELECT c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE, c.IS_NULLABLE, c.NUMERIC_PRECISION, c.NUMERIC_SCALE, "
             "c.DATETIME_PRECISION, c.CHARACTER_SET_NAME, c.COLLATION_NAME, c.CHARACTER_MAXIMUM_LENGTH, "
             "(SELECT k.SEQ_IN_INDEX FROM information_schema.STATISTICS k WHERE k.TABLE_SCHEMA=c.TABLE_SCHEMA "
             "AND k.TABLE_NAME=c.TABLE_NAME AND k.INDEX_NAME='PRIMARY' AND k.COLUMN_NAME=c.COLUMN_NAME), "
             "c.COLUMN_DEFAULT, c.EXTRA, c.COLUMN_COMMENT, t.TABLE_COLLATION, t.TABLE_COMMENT "
             "FROM information_schema.COLUMNS c LEFT JOIN information_schema.TABLES t ON "
             "t.TABLE_SCHEMA=c.TABLE_SCHEMA AND t.TABLE_NAME=c.TABLE_NAME "
             "WHERE c.TABLE_SCHEMA='%s' AND c.TABLE_NAME='%s' ORDER BY c.ORDINAL_POSITION",
             edb, etb);
    if (mysql_query(m, sql))
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "reading the columns of %s.%s: %s", db, table, mysql_error(m));
    MYSQL_RES *res = mysql_store_result(m);
    if (!res)
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "reading the columns of %s.%s: %s", db, table, mysql_error(m));
    int ncols = (int)mysql_num_rows(res);
    if (ncols == 0) {
        mysql_free_result(res);
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "table %s.%s does not exist", db, table);
    }
    sl_table_schema *s = sl_schema_new(db, NULL, table, ncols);
    if (!s) {
        mysql_free_result(res);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    int pk_pos[4096];
    MYSQL_ROW row;
    for (int i = 0; (row = mysql_fetch_row(res)) && i < ncols; i++) {
        sl_column *c = &s->cols[i];
        c->name = strdup(row[0]);
        c->type_name = strip_display_width(row[2]);
        c->nullable = strcmp(row[3], "YES") == 0;
        c->is_unsigned = strstr(row[2], "unsigned") != NULL;
        const type_map *t = types;
        while (t->data_type && strcasecmp(t->data_type, row[1]) != 0)
            t++;
        if (!t->data_type) {
            sl_schema_free(s);
            mysql_free_result(res);
            return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "column %s.%s.%s has type %s, which sluice does not know",
                           db, table, row[0], row[1]);
        }
        c->src_type = t->src_type;
        c->kind = t->kind;
        if (c->kind == SL_INT && c->is_unsigned)
            c->kind = SL_UINT;
        if (c->kind == SL_DECIMAL) {
            c->precision = (uint16_t)(row[4] ? atoi(row[4]) : 0);
            c->scale = (uint16_t)(row[5] ? atoi(row[5]) : 0);
        } else if (c->kind == SL_BIT) {
            c->precision = (uint16_t)(row[4] ? atoi(row[4]) : 1);
        } else if (c->kind == SL_TIME || c->kind == SL_DATETIME || c->kind == SL_TIMESTAMP) {
            c->scale = (uint16_t)(row[6] ? atoi(row[6]) : 0);
        }
        if (c->kind == SL_ENUM || c->kind == SL_SET) {
            if (parse_members(row[2], &c->enum_values, &c->n_enum_values)) {
                sl_schema_free(s);
                mysql_free_result(res);
                return sl_errf(err, SL_ERUNTIME, "out of memory");
            }
        }
        /* MariaDB stores JSON as LONGTEXT: the binlog shows a text column */
        if (c->kind == SL_STRING && row[7] && strcasecmp(row[7], "binary") == 0)
            c->kind = SL_BYTES;
        c->is_pk = row[10] != NULL;
        pk_pos[i] = row[10] ? atoi(row[10]) : 0;
        int meta_rc = ddl_metadata(s, c, row);
        if (!c->name || !c->type_name || meta_rc) {
            sl_schema_free(s);
            mysql_free_result(res);
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        }
    }
    mysql_free_result(res);
    /* primary key in key order, not column order */
    s->npk = 0;
    for (int seq = 1; seq <= ncols; seq++)
        for (int i = 0; i < ncols; i++)
            if (s->cols[i].is_pk && pk_pos[i] == seq)
                s->pk[s->npk++] = i;
    *out = s;
    return 0;
}
