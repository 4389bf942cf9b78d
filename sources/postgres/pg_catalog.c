/* pg_catalog.c — what the postgres source learns from pg_catalog: type
 * classes (domains resolved to their base, arrays to their element), table
 * schemas, the captured tables, and the publication that covers them.
 *
 * A Relation message names columns, type OIDs and typmods but not the
 * primary key, nullability or type names; those come from the catalog,
 * matched by column name, so a table read by the snapshot (catalog only)
 * and the same table seen in the WAL describe one schema. */
#define SL_LOG_COMPONENT "postgres source"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/buf.h"
#include "../../core/log.h"
#include "pg_source.h"
#include "pg_types.h"

static int cache_find(const sl_pg_type_cache *c, uint32_t oid)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->oids[i] == oid)
            return (int)i;
    return -1;
}

static int cache_add(sl_pg_type_cache *c, uint32_t oid, uint8_t cls, uint8_t elem, uint32_t base)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 32;
        uint32_t *o = realloc(c->oids, cap * sizeof *o);
        if (o)
            c->oids = o;
        uint8_t *k = realloc(c->cls, cap);
        if (k)
            c->cls = k;
        uint8_t *e = realloc(c->elem, cap);
        if (e)
            c->elem = e;
        uint32_t *b = realloc(c->base, cap * sizeof *b);
        if (b)
            c->base = b;
        if (!o || !k || !e || !b)
            return -1;
        c->cap = cap;
    }
    c->oids[c->n] = oid;
    c->cls[c->n] = cls;
    c->elem[c->n] = elem;
    c->base[c->n] = base;
    c->n++;
    return 0;
}

void sl_pg_type_cache_free(sl_pg_type_cache *c)
{
    free(c->oids);
    free(c->cls);
    free(c->elem);
    free(c->base);
    memset(c, 0, sizeof *c);
}

static int resolve(sl_pg_source *src, PGconn *conn, uint32_t oid, int depth, uint8_t *cls, uint8_t *elem,
                   uint32_t *base_out, sl_err *err)
{
    *elem = 0;
    *base_out = oid;
    int builtin = sl_pg_builtin_class(oid);
    if (builtin != SL_PGV_TEXT) {
        *cls = (uint8_t)builtin;
        return 0;
    }
    int at = cache_find(&src->types, oid);
    if (at >= 0) {
        *cls = src->types.cls[at];
        *elem = src->types.elem[at];
        *base_out = src->types.base[at];
        return 0;
    }
    if (depth > 8) {
        *cls = SL_PGV_TEXT;
        return 0;
    }
    char id[16];
    snprintf(id, sizeof id, "%u", oid);
    const char *params[] = {id};
    PGresult *res;
    int rc = sl_pg_exec_params(conn, "SELECT typtype, typcategory, typelem, typbasetype FROM pg_type WHERE oid = $1",
                               1, params, &res, err);
    if (rc)
        return rc;
    *cls = SL_PGV_TEXT;
    if (PQntuples(res) == 1) {
        char typtype = PQgetvalue(res, 0, 0)[0], category = PQgetvalue(res, 0, 1)[0];
        uint32_t typelem = (uint32_t)strtoul(PQgetvalue(res, 0, 2), NULL, 10);
        uint32_t base = (uint32_t)strtoul(PQgetvalue(res, 0, 3), NULL, 10);
        uint8_t sub_elem;
        uint32_t elem_base;
        if (typtype == 'd' && base) {
            rc = resolve(src, conn, base, depth + 1, cls, elem, base_out, err);
        } else if (category == 'A' && typelem) {
            *cls = SL_PGV_ARRAY;
            rc = resolve(src, conn, typelem, depth + 1, elem, &sub_elem, &elem_base, err);
            if (*elem == SL_PGV_ARRAY)
                *elem = SL_PGV_TEXT;
        } else if (typtype == 'e') {
            *cls = SL_PGV_ENUM;
        }
    }
    PQclear(res);
    if (!rc && cache_add(&src->types, oid, *cls, *elem, *base_out))
        rc = sl_errf(err, SL_ERUNTIME, "out of memory");
    return rc;
}

int sl_pg_type_class(sl_pg_source *src, PGconn *conn, uint32_t oid, uint8_t *cls, uint8_t *elem, uint32_t *base,
                     sl_err *err)
{
    return resolve(src, conn, oid, 0, cls, elem, base, err);
}

/* Columns in attnum order; the key is the primary key, else the replica
 * identity index. Generated columns are left out: pgoutput does not send
 * them, so neither does the snapshot. */
static const char COLUMNS_SQL[] =
    "SELECT a.attname, a.atttypid, a.atttypmod, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
    "  (SELECT k.n FROM pg_index i, unnest(i.indkey::int2[]) WITH ORDINALITY k(att, n) "
    "    WHERE i.indexrelid = (SELECT x.indexrelid FROM pg_index x WHERE x.indrelid = c.oid "
    "                          AND (x.indisprimary OR x.indisreplident) ORDER BY x.indisprimary DESC LIMIT 1) "
    "      AND k.att = a.attnum), a.attndims "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid "
    "WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' "
    "ORDER BY a.attnum";

/* an enum column's labels in sort order (Debezium's `allowed`); a domain
 * over an enum has its base type's */
static int enum_labels(PGconn *conn, uint32_t oid, sl_column *c, sl_err *err)
{
    char id[16];
    snprintf(id, sizeof id, "%u", oid);
    const char *params[] = {id};
    PGresult *res;
    int rc = sl_pg_exec_params(conn,
                               "SELECT enumlabel FROM pg_enum WHERE enumtypid = (SELECT CASE WHEN typtype = 'd' "
                               "THEN typbasetype ELSE oid END FROM pg_type WHERE oid = $1) ORDER BY enumsortorder",
                               1, params, &res, err);
    if (rc)
        return rc;
    int n = PQntuples(res);
    c->enum_values = n ? calloc((size_t)n, sizeof *c->enum_values) : NULL;
    for (int i = 0; i < n && c->enum_values; i++) {
        if (!(c->enum_values[i] = strdup(PQgetvalue(res, i, 0))))
            rc = sl_errf(err, SL_ERUNTIME, "out of memory");
        c->n_enum_values = (uint32_t)i + 1;
    }
    if (n && !c->enum_values)
        rc = sl_errf(err, SL_ERUNTIME, "out of memory");
    PQclear(res);
    return rc;
}

static int find_row(PGresult *res, const char *name)
{
    for (int i = 0; i < PQntuples(res); i++)
        if (strcmp(PQgetvalue(res, i, 0), name) == 0)
            return i;
    return -1;
}

static char *format_type(PGconn *conn, uint32_t oid, int32_t typmod, sl_err *err)
{
    char o[16], m[16];
    snprintf(o, sizeof o, "%u", oid);
    snprintf(m, sizeof m, "%d", typmod);
    const char *params[] = {o, m};
    PGresult *res;
    if (sl_pg_exec_params(conn, "SELECT format_type($1::oid, $2::int)", 2, params, &res, err))
        return NULL;
    char *s = strdup(PQntuples(res) ? PQgetvalue(res, 0, 0) : "?");
    PQclear(res);
    return s;
}

int sl_pg_table_schema(sl_pg_source *src, PGconn *conn, const char *nsp, const char *relname,
                       const sl_pgo_relation *rel, sl_table_schema **out, sl_err *err)
{
    const char *params[] = {nsp, relname};
    PGresult *res;
    int rc = sl_pg_exec_params(conn, COLUMNS_SQL, 2, params, &res, err);
    if (rc)
        return rc;
    int ncols = rel ? rel->ncols : PQntuples(res);
    if (!rel && ncols == 0) {
        PQclear(res);
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "table %s.%s not found in database '%s'", nsp, relname,
                       src->conf.dbname);
    }
    sl_table_schema *s = sl_schema_new(src->conf.dbname, nsp, relname, ncols);
    if (!s) {
        PQclear(res);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    int *keypos = calloc((size_t)(ncols ? ncols : 1), sizeof *keypos);
    for (int i = 0; i < ncols && !rc && keypos; i++) {
        sl_column *c = &s->cols[i];
        const char *name = rel ? rel->cols[i].name : PQgetvalue(res, i, 0);
        int row = rel ? find_row(res, name) : i;
        uint32_t oid = rel ? rel->cols[i].type_oid : (uint32_t)strtoul(PQgetvalue(res, i, 1), NULL, 10);
        int32_t typmod = rel ? rel->cols[i].typmod : (int32_t)strtol(PQgetvalue(res, i, 2), NULL, 10);
        c->name = strdup(name);
        c->src_type = oid;
        c->src_meta = (uint32_t)typmod;
        int same = row >= 0 && (uint32_t)strtoul(PQgetvalue(res, row, 1), NULL, 10) == oid &&
                   (int32_t)strtol(PQgetvalue(res, row, 2), NULL, 10) == typmod;
        c->type_name = same ? strdup(PQgetvalue(res, row, 3)) : format_type(conn, oid, typmod, err);
        c->nullable = row >= 0 ? PQgetvalue(res, row, 4)[0] != 't' : 1;
        keypos[i] = row >= 0 && !PQgetisnull(res, row, 5) ? atoi(PQgetvalue(res, row, 5)) : 0;
        if (!c->name || !c->type_name) {
            rc = c->type_name || err->msg[0] == 0 ? sl_errf(err, SL_ERUNTIME, "out of memory") : SL_ERUNTIME;
            break;
        }
        uint8_t cls, elem;
        uint32_t base;
        rc = sl_pg_type_class(src, conn, oid, &cls, &elem, &base, err);
        /* a domain is described as its base type (Debezium: a domain over
         * int is int32); the name stays the domain's */
        c->src_type = base;
        c->conv = cls;
        c->charset = elem;
        sl_pg_column_finish(c);
        if (row >= 0 && c->is_array)
            c->array_dims = (uint8_t)atoi(PQgetvalue(res, row, 6));
        if (!rc && c->kind == SL_ENUM)
            rc = enum_labels(conn, oid, c, err);
    }
    PQclear(res);
    if (!keypos && !rc)
        rc = sl_errf(err, SL_ERUNTIME, "out of memory");
    if (!rc) {
        /* key columns in key order */
        s->npk = 0;
        for (int pos = 1; pos <= ncols; pos++)
            for (int i = 0; i < ncols; i++)
                if (keypos[i] == pos) {
                    s->cols[i].is_pk = 1;
                    s->pk[s->npk++] = i;
                }
    }
    free(keypos);
    if (rc) {
        sl_schema_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int sl_pg_list_tables(sl_pg_source *src, PGconn *conn, char ***names, size_t *n, sl_err *err)
{
    PGresult *res;
    int rc = sl_pg_exec(conn,
                        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
                        "AND n.nspname NOT LIKE 'pg\\_toast%' ORDER BY 1, 2",
                        &res, err);
    if (rc)
        return rc;
    char **out = calloc((size_t)PQntuples(res) + 1, sizeof *out);
    size_t k = 0;
    for (int i = 0; out && i < PQntuples(res); i++) {
        const char *nsp = PQgetvalue(res, i, 0), *rel = PQgetvalue(res, i, 1);
        if (!sl_table_filter_match(&src->filter, nsp, rel))
            continue;
        size_t len = strlen(nsp) + strlen(rel) + 2;
        out[k] = malloc(len);
        if (!out[k])
            break;
        snprintf(out[k++], len, "%s.%s", nsp, rel);
    }
    PQclear(res);
    if (!out)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    *names = out;
    *n = k;
    return 0;
}

static void split_name(const char *q, char *nsp, size_t nlen, const char **rel)
{
    const char *dot = strchr(q, '.');
    snprintf(nsp, nlen, "%.*s", (int)(dot - q), q);
    *rel = dot + 1;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* A published table without a key and with REPLICA IDENTITY DEFAULT makes
 * every UPDATE and DELETE on it fail on the server: refuse before that. */
static int check_identity(PGconn *conn, const char *nsp, const char *rel, sl_err *err)
{
    const char *params[] = {nsp, rel};
    PGresult *res;
    int rc = sl_pg_exec_params(conn,
                               "SELECT c.relreplident, EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid "
                               "AND (i.indisprimary OR i.indisreplident)) FROM pg_class c JOIN pg_namespace n ON "
                               "n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
                               2, params, &res, err);
    if (rc)
        return rc;
    if (PQntuples(res) == 1) {
        char ident = PQgetvalue(res, 0, 0)[0];
        int has_key = PQgetvalue(res, 0, 1)[0] == 't';
        char ref[700];
        sl_pg_table_ref(ref, sizeof ref, nsp, rel);
        if (ident == 'n' || (ident == 'd' && !has_key))
            rc = sl_errf(err, SL_ECONFIG,
                         SL_LOG_PREFIX "table %s.%s has no primary key and REPLICA IDENTITY %s: once published, "
                         "its UPDATEs and DELETEs would fail; run ALTER TABLE %s REPLICA IDENTITY FULL (or add a "
                         "primary key)",
                         nsp, rel, ident == 'n' ? "NOTHING" : "DEFAULT", ref);
    }
    PQclear(res);
    return rc;
}

int sl_pg_publication_ensure(sl_pg_source *src, PGconn *conn, sl_err *err)
{
    char **names = NULL;
    size_t n = 0;
    int rc = sl_pg_list_tables(src, conn, &names, &n, err);
    if (rc)
        return rc;
    if (n == 0) {
        free_names(names, n);
        return sl_errf(err, SL_ECONFIG, SL_LOG_PREFIX "no table in database '%s' matches tables '%s'",
                       src->conf.dbname, sl_opt_str(src->opts, "tables"));
    }
    char nsp[256];
    const char *rel;
    for (size_t i = 0; i < n && !rc; i++) {
        split_name(names[i], nsp, sizeof nsp, &rel);
        rc = check_identity(conn, nsp, rel, err);
    }
    const char *params[] = {src->pub_name};
    PGresult *res = NULL;
    if (!rc)
        rc = sl_pg_exec_params(conn,
                               "SELECT p.puballtables, coalesce(obj_description(p.oid, 'pg_publication'), '') "
                               "FROM pg_publication p WHERE p.pubname = $1",
                               1, params, &res, err);
    char pub[200];
    sl_pg_quote_ident(pub, sizeof pub, src->pub_name);
    sl_buf sql;
    sl_buf_init(&sql);
    if (!rc && PQntuples(res) == 0) {
        if (!src->conf.publication_create) {
            rc = sl_errf(err, SL_ECONFIG,
                         SL_LOG_PREFIX "publication '%s' does not exist and publication.autocreate is false; "
                         "run CREATE PUBLICATION %s FOR TABLE ...",
                         src->pub_name, pub);
        } else {
            sl_buf_printf(&sql, "CREATE PUBLICATION %s FOR TABLE ", pub);
            for (size_t i = 0; i < n; i++) {
                char ref[700];
                split_name(names[i], nsp, sizeof nsp, &rel);
                sl_pg_table_ref(ref, sizeof ref, nsp, rel);
                sl_buf_printf(&sql, "%s%s", i ? ", " : "", ref);
            }
            sl_buf_addc(&sql, 0);
            rc = sql.failed ? sl_errf(err, SL_ERUNTIME, "out of memory") : sl_pg_exec(conn, sql.data, NULL, err);
            if (!rc) {
                sl_buf_reset(&sql);
                sl_buf_printf(&sql, "COMMENT ON PUBLICATION %s IS 'created by sluice pipeline %s'", pub,
                              src->env.pipeline_name ? src->env.pipeline_name : "");
                sl_buf_addc(&sql, 0);
                rc = sl_pg_exec(conn, sql.data, NULL, err);
                sl_info("created publication %s for %zu tables", src->pub_name, n);
            }
            if (rc)
                sl_err_prefix(err, SL_ECONFIG, "creating the publication (the user must own the tables, or create "
                                               "it as their owner: CREATE PUBLICATION %s FOR TABLE ...): ",
                              pub);
        }
    } else if (!rc && PQgetvalue(res, 0, 0)[0] != 't') {
        int ours = strncmp(PQgetvalue(res, 0, 1), "created by sluice", 17) == 0;
        PGresult *pt = NULL;
        rc = sl_pg_exec_params(conn, "SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = $1",
                               1, params, &pt, err);
        for (size_t i = 0; i < n && !rc; i++) {
            int found = 0;
            for (int k = 0; k < PQntuples(pt) && !found; k++)
                found = strcmp(PQgetvalue(pt, k, 0), names[i]) == 0;
            if (found)
                continue;
            char ref[700];
            split_name(names[i], nsp, sizeof nsp, &rel);
            sl_pg_table_ref(ref, sizeof ref, nsp, rel);
            if (!ours) {
                rc = sl_errf(err, SL_ECONFIG,
                             SL_LOG_PREFIX "publication '%s' (not created by sluice) does not publish table %s; "
                             "run ALTER PUBLICATION %s ADD TABLE %s",
                             src->pub_name, names[i], pub, ref);
                break;
            }
            sl_buf_reset(&sql);
            sl_buf_printf(&sql, "ALTER PUBLICATION %s ADD TABLE %s", pub, ref);
            sl_buf_addc(&sql, 0);
            rc = sql.failed ? sl_errf(err, SL_ERUNTIME, "out of memory") : sl_pg_exec(conn, sql.data, NULL, err);
            if (!rc)
                sl_info("added %s to publication %s", names[i], src->pub_name);
        }
        PQclear(pt);
    }
    sl_buf_free(&sql);
    PQclear(res);
    free_names(names, n);
    return rc;
}
