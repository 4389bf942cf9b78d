/* schema.c — construction, comparison and ownership of table schemas. */
#include "schema.h"

#include "value.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

sl_table_schema *sl_schema_new(const char *db, const char *schema, const char *table, int ncols)
{
    sl_table_schema *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->db = dup_or_null(db);
    s->schema = dup_or_null(schema);
    s->table = dup_or_null(table);
    const char *ns = schema ? schema : db;
    size_t qlen = strlen(ns ? ns : "") + strlen(table ? table : "") + 2;
    s->qualified = malloc(qlen);
    s->ncols = ncols;
    s->cols = calloc(ncols > 0 ? (size_t)ncols : 1, sizeof *s->cols);
    s->pk = calloc(ncols > 0 ? (size_t)ncols : 1, sizeof *s->pk);
    if (!s->qualified || !s->cols || !s->pk || (db && !s->db) || (table && !s->table)) {
        sl_schema_free(s);
        return NULL;
    }
    snprintf(s->qualified, qlen, "%s.%s", ns ? ns : "", table ? table : "");
    s->version = 1;
    return s;
}

void sl_schema_index_pk(sl_table_schema *s)
{
    s->npk = 0;
    for (int i = 0; i < s->ncols; i++)
        if (s->cols[i].is_pk)
            s->pk[s->npk++] = i;
}

static int str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

/* Compares what a consumer can see of a column: name, value kind, the
 * source type, signedness, nullability, key membership, decimal precision
 * and scale, fractional-second digits, bit width and enum members. How the
 * schema was learnt (TABLE_MAP metadata or the catalog) must not matter,
 * so encoding details such as TABLE_MAP metadata bytes are left out. */
int sl_schema_same_shape(const sl_table_schema *a, const sl_table_schema *b)
{
    if (a->ncols != b->ncols || a->npk != b->npk)
        return 0;
    for (int i = 0; i < a->npk; i++)
        if (a->pk[i] != b->pk[i])
            return 0;
    for (int i = 0; i < a->ncols; i++) {
        const sl_column *x = &a->cols[i], *y = &b->cols[i];
        if (!str_eq(x->name, y->name) || x->kind != y->kind || x->src_type != y->src_type ||
            x->is_unsigned != y->is_unsigned || x->nullable != y->nullable || x->is_pk != y->is_pk ||
            x->n_enum_values != y->n_enum_values)
            return 0;
        int dec = x->kind == SL_DECIMAL, bit = x->kind == SL_BIT;
        int temporal = x->kind == SL_TIME || x->kind == SL_DATETIME || x->kind == SL_TIMESTAMP;
        if ((dec || bit) && x->precision != y->precision)
            return 0;
        if ((dec || temporal) && x->scale != y->scale)
            return 0;
        for (uint32_t k = 0; k < x->n_enum_values; k++)
            if (!str_eq(x->enum_values[k], y->enum_values[k]))
                return 0;
    }
    return 1;
}

int sl_schema_column_index(const sl_table_schema *s, const char *name)
{
    for (int i = 0; i < s->ncols; i++)
        if (s->cols[i].name && strcmp(s->cols[i].name, name) == 0)
            return i;
    return -1;
}

int sl_column_copy(sl_column *dst, const sl_column *src, const char *name)
{
    *dst = *src;
    dst->name = strdup(name ? name : src->name);
    dst->type_name = src->type_name ? strdup(src->type_name) : NULL;
    dst->charset_name = dup_or_null(src->charset_name);
    dst->comment = dup_or_null(src->comment);
    dst->default_expr = dup_or_null(src->default_expr);
    dst->enum_values = NULL;
    dst->n_enum_values = 0;
    dst->is_pk = 0;
    if (src->n_enum_values) {
        dst->enum_values = calloc(src->n_enum_values, sizeof *dst->enum_values);
        if (!dst->enum_values)
            return -1;
        for (uint32_t k = 0; k < src->n_enum_values; k++)
            dst->enum_values[k] = strdup(src->enum_values[k]);
        dst->n_enum_values = src->n_enum_values;
    }
    return dst->name ? 0 : -1;
}

void sl_schema_free(sl_table_schema *s)
{
    if (!s)
        return;
    for (int i = 0; s->cols && i < s->ncols; i++) {
        sl_column *c = &s->cols[i];
        free(c->name);
        free(c->type_name);
        free(c->charset_name);
        free(c->comment);
        free(c->default_expr);
        for (uint32_t k = 0; k < c->n_enum_values; k++)
            free(c->enum_values[k]);
        free(c->enum_values);
    }
    free(s->cols);
    free(s->pk);
    free(s->db);
    free(s->schema);
    free(s->table);
    free(s->qualified);
    free(s->charset_name);
    free(s->comment);
    free(s);
}

void sl_schema_cache_init(sl_schema_cache *c) { memset(c, 0, sizeof *c); }

int sl_schema_cache_add(sl_schema_cache *c, sl_table_schema *s)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        sl_table_schema **items = realloc(c->items, cap * sizeof *items);
        if (!items)
            return -1;
        c->items = items;
        c->cap = cap;
    }
    c->items[c->n++] = s;
    return 0;
}

void sl_schema_cache_free(sl_schema_cache *c)
{
    for (size_t i = 0; i < c->n; i++)
        sl_schema_free(c->items[i]);
    free(c->items);
    sl_schema_cache_init(c);
}
