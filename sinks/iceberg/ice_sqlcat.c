/* ice_sqlcat.c — the SQL catalog behind the catalog ops: the tables Java's
 * JdbcCatalog and pyiceberg's SqlCatalog keep (iceberg_tables: one row per
 * table pointing at its current metadata file; iceberg_namespace_properties:
 * namespaces), in sqlite or PostgreSQL (ice_sqldb.c). The catalog is only
 * that pointer, so sluice writes the metadata files itself (ice_tmeta.c).
 *
 * A commit is one database transaction: for each table, read its metadata
 * location, check the change's requirements against that metadata (another
 * writer's snapshot in between fails assert-ref-snapshot-id: reported,
 * never overwritten), write the next metadata file, and swap the pointer
 * with UPDATE ... WHERE metadata_location = <the one read>; a swap that
 * changes no row means another writer committed in between, and the whole
 * transaction rolls back. So all tables of an epoch and the checkpoint
 * table move together, as with the REST catalog's transactions/commit. */
#define SL_LOG_COMPONENT "iceberg sink"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../core/log.h"
#include "ice_sink.h"

typedef struct sqlcat {
    ice_db *db;
    char *name;       /* catalog_name */
    char *warehouse;  /* file URI of the warehouse directory, no trailing '/' */
    int has_type;     /* iceberg_tables has iceberg_type (the v1 schema) */
} sqlcat;

/* the DDL SQLAlchemy emits for pyiceberg's models (v1 schema, as Java's
 * JdbcCatalog V1), so either of them finds its tables in place */
static const char *const ddl[] = {
    "CREATE TABLE IF NOT EXISTS iceberg_tables (catalog_name VARCHAR(255) NOT NULL, table_namespace VARCHAR(255) "
    "NOT NULL, table_name VARCHAR(255) NOT NULL, metadata_location VARCHAR(1000), previous_metadata_location "
    "VARCHAR(1000), iceberg_type VARCHAR(5), PRIMARY KEY (catalog_name, table_namespace, table_name))",
    "CREATE TABLE IF NOT EXISTS iceberg_namespace_properties (catalog_name VARCHAR(255) NOT NULL, namespace "
    "VARCHAR(255) NOT NULL, property_key VARCHAR(255) NOT NULL, property_value VARCHAR(1000) NOT NULL, PRIMARY KEY "
    "(catalog_name, namespace, property_key))",
};

/* the metadata location of ns.name: 0 and *loc, or ICE_NOTFOUND */
static int current(sqlcat *c, const char *ns, const char *name, char **loc, sl_err *err)
{
    const char *p[] = {c->name, ns, name};
    int rc = ice_db_exec(c->db,
                         c->has_type ? "SELECT COALESCE(metadata_location, '') FROM iceberg_tables WHERE catalog_name "
                                       "= $1 AND table_namespace = $2 AND table_name = $3 AND (iceberg_type = 'TABLE' "
                                       "OR iceberg_type IS NULL)"
                                     : "SELECT COALESCE(metadata_location, '') FROM iceberg_tables WHERE catalog_name "
                                       "= $1 AND table_namespace = $2 AND table_name = $3",
                         3, p, loc, NULL, err);
    if (rc)
        return rc;
    if (!*loc)
        return ICE_NOTFOUND;
    if (!**loc) {
        free(*loc);
        *loc = NULL;
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s.%s has no metadata_location in the SQL catalog's "
                       "iceberg_tables", ns, name);
    }
    return 0;
}

static int sc_load(void *self, const char *ns, const char *name, json_t **md, char **md_location, sl_err *err)
{
    *md = NULL;
    if (md_location)
        *md_location = NULL;
    char *loc;
    int rc = current(self, ns, name, &loc, err);
    if (rc)
        return rc;
    *md = ice_md_read(loc, err);
    if (*md && md_location)
        *md_location = loc;
    else
        free(loc);
    return *md ? 0 : SL_ERUNTIME;
}

static int create_one_namespace(void *self, const char *ns, sl_err *err);

/* ns and each missing parent ("a", then "a.b"), as pyiceberg lists them */
static int sc_create_namespace(void *self, const char *ns, sl_err *err)
{
    int rc = 0;
    for (const char *dot = strchr(ns, '.'); rc == 0 && dot; dot = strchr(dot + 1, '.')) {
        char *parent = strndup(ns, (size_t)(dot - ns));
        rc = parent ? create_one_namespace(self, parent, err) : sl_errf(err, SL_ERUNTIME, "out of memory");
        free(parent);
    }
    return rc ? rc : create_one_namespace(self, ns, err);
}

static int create_one_namespace(void *self, const char *ns, sl_err *err)
{
    sqlcat *c = self;
    const char *p[] = {c->name, ns};
    char *v = NULL;
    int rc = ice_db_exec(c->db,
                         "SELECT 1 FROM iceberg_namespace_properties WHERE catalog_name = $1 AND namespace = $2 "
                         "UNION ALL SELECT 1 FROM iceberg_tables WHERE catalog_name = $1 AND table_namespace = $2",
                         2, p, &v, NULL, err);
    if (rc == 0 && !v)
        /* what pyiceberg writes for a namespace without properties */
        rc = ice_db_exec(c->db,
                         "INSERT INTO iceberg_namespace_properties (catalog_name, namespace, property_key, "
                         "property_value) VALUES ($1, $2, 'exists', 'true') ON CONFLICT DO NOTHING",
                         2, p, NULL, NULL, err);
    free(v);
    return rc;
}

static void unlink_uri(const char *uri)
{
    const char *p = ice_local_path(uri);
    if (p)
        unlink(p);
}

static int sc_create_table(void *self, const char *ns, json_t *req, json_t **md, sl_err *err)
{
    sqlcat *c = self;
    *md = NULL;
    const char *name = json_string_value(json_object_get(req, "name"));
    const char *loc = json_string_value(json_object_get(req, "location"));
    char *location = NULL, *ml = NULL;
    if (!loc && asprintf(&location, "%s/%s/%s", c->warehouse, ns, name) < 0)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    json_t *m = ice_md_create(req, loc ? loc : location, err);
    int rc = m ? 0 : SL_ERUNTIME;
    if (rc == 0 && !(ml = ice_md_next_location(loc ? loc : location, NULL)))
        rc = sl_errf(err, SL_ERUNTIME, "out of memory");
    if (rc == 0)
        rc = ice_md_write(m, ml, err);
    if (rc == 0) {
        const char *p[] = {c->name, ns, name, ml};
        rc = ice_db_exec(c->db,
                         c->has_type ? "INSERT INTO iceberg_tables (catalog_name, table_namespace, table_name, "
                                       "metadata_location, previous_metadata_location, iceberg_type) VALUES ($1, $2, "
                                       "$3, $4, NULL, 'TABLE')"
                                     : "INSERT INTO iceberg_tables (catalog_name, table_namespace, table_name, "
                                       "metadata_location, previous_metadata_location) VALUES ($1, $2, $3, $4, NULL)",
                         4, p, NULL, NULL, err);
        if (rc) {
            unlink_uri(ml);
            sl_err_prefix(err, rc, SL_LOG_PREFIX "creating Iceberg table %s.%s: ", ns, name);
        }
    }
    free(location);
    free(ml);
    if (rc)
        json_decref(m);
    else
        *md = m;
    return rc;
}

static int commit_table(sqlcat *c, json_t *change, const char *ns, const char *name, json_t *written,
                        json_t *dropped, json_t **md_out, sl_err *err);

/* one table's change inside the commit's transaction; the metadata file it
 * wrote goes to written, the ones its log dropped to dropped */
static int commit_one(sqlcat *c, json_t *change, json_t *written, json_t *dropped, json_t **md_out, sl_err *err)
{
    json_t *id = json_object_get(change, "identifier");
    char *ns = ice_ns_join(json_object_get(id, "namespace"));
    const char *name = json_string_value(json_object_get(id, "name"));
    if (!ns || !name) {
        free(ns);
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "a commit names no table");
    }
    int rc = commit_table(c, change, ns, name, written, dropped, md_out, err);
    free(ns);
    return rc;
}

static int commit_table(sqlcat *c, json_t *change, const char *ns, const char *name, json_t *written,
                        json_t *dropped, json_t **md_out, sl_err *err)
{
    char *loc;
    int rc = current(c, ns, name, &loc, err);
    if (rc == ICE_NOTFOUND)
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s.%s is no longer in the SQL catalog (dropped while sluice "
                       "wrote to it?)", ns, name);
    if (rc)
        return rc;
    json_t *md = ice_md_read(loc, err), *gone = json_array();
    char *next = NULL;
    rc = md ? ice_md_check(md, json_object_get(change, "requirements"), err) : SL_ERUNTIME;
    if (rc == ICE_CONFLICT)
        sl_err_prefix(err, rc, "%s.%s: ", ns, name);
    if (rc == 0)
        rc = ice_md_apply(md, json_object_get(change, "updates"), loc, gone, err);
    if (rc == 0 && !(next = ice_md_next_location(json_string_value(json_object_get(md, "location")), loc)))
        rc = sl_errf(err, SL_ERUNTIME, "out of memory");
    if (rc == 0 && (rc = ice_md_write(md, next, err)) == 0)
        json_array_append_new(written, json_string(next));
    if (rc == 0) {
        const char *p[] = {c->name, ns, name, next, loc};
        long n = 0;
        rc = ice_db_exec(c->db,
                         "UPDATE iceberg_tables SET metadata_location = $4, previous_metadata_location = $5 WHERE "
                         "catalog_name = $1 AND table_namespace = $2 AND table_name = $3 AND metadata_location = $5",
                         5, p, NULL, &n, err);
        if (rc == 0 && n != 1)
            rc = sl_errf(err, ICE_CONFLICT, "%s.%s: its metadata_location is no longer %s (another writer committed "
                         "meanwhile)", ns, name, loc);
    }
    const char *del = json_string_value(
        json_object_get(json_object_get(md, "properties"), "write.metadata.delete-after-commit.enabled"));
    if (rc == 0 && del && !strcmp(del, "true"))
        json_array_extend(dropped, gone);
    if (rc == 0 && md_out)
        *md_out = json_incref(md);
    json_decref(gone);
    json_decref(md);
    free(next);
    free(loc);
    return rc;
}

static int sc_commit(void *self, json_t *changes, json_t **md, sl_err *err)
{
    sqlcat *c = self;
    if (md)
        *md = NULL;
    json_t *written = json_array(), *dropped = json_array(), *one = NULL;
    int rc = ice_db_begin(c->db, err), committing = 0;
    size_t i;
    json_t *ch;
    json_array_foreach(changes, i, ch) {
        if (rc)
            break;
        rc = commit_one(c, ch, written, dropped, json_array_size(changes) == 1 ? &one : NULL, err);
    }
    if (rc == 0) {
        committing = 1;
        rc = ice_db_exec(c->db, "COMMIT", 0, NULL, NULL, NULL, err);
    }
    json_t *f;
    if (rc) {
        sl_err e;
        ice_db_exec(c->db, "ROLLBACK", 0, NULL, NULL, NULL, &e);
        /* a failed COMMIT may still have committed (the connection broke
         * on the way back): then the new files are the table's */
        if (!committing)
            json_array_foreach(written, i, f)
                unlink_uri(json_string_value(f));
        json_decref(one);
    } else {
        json_array_foreach(dropped, i, f)
            unlink_uri(json_string_value(f));
        if (md)
            *md = one;
        else
            json_decref(one);
    }
    json_decref(written);
    json_decref(dropped);
    return rc;
}

static void sc_close(void *self)
{
    sqlcat *c = self;
    ice_db_close(c->db);
    free(c->name);
    free(c->warehouse);
    free(c);
}

static const ice_catalog_ops sql_ops = {
    .load = sc_load,
    .create_namespace = sc_create_namespace,
    .create_table = sc_create_table,
    .commit = sc_commit,
    .close = sc_close,
};

int ice_sqlcat_open(ice_catalog *cat, const sl_options *o, sl_err *err)
{
    const char *wh = sl_opt_str(o, "catalog.properties.warehouse");
    if (!wh || !*wh)
        return sl_errf(err, SL_ECONFIG, SL_LOG_PREFIX "catalog.properties.warehouse is required with "
                       "catalog.properties.type: sql (the local directory new tables go to)");
    if (!ice_local_path(wh))
        return sl_errf(err, SL_ECONFIG, SL_LOG_PREFIX "catalog.properties.warehouse %s is not a local directory or "
                       "file: URI; this version of the iceberg sink writes to local warehouses only", wh);
    sqlcat *c = calloc(1, sizeof *c);
    if (!c)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    size_t n = strlen(wh);
    while (n > 1 && wh[n - 1] == '/')
        n--;
    int rc = 0;
    if (asprintf(&c->warehouse, "%s%.*s", wh[0] == '/' ? "file://" : "", (int)n, wh) < 0 ||
        !(c->name = strdup(sl_opt_str(o, "catalog.properties.catalog-name"))))
        rc = sl_errf(err, SL_ERUNTIME, "out of memory");
    if (rc == 0)
        rc = ice_db_open(&c->db, sl_opt_str(o, "catalog.properties.uri"), sl_opt_str(o, "catalog.properties.jdbc.user"),
                         sl_opt_str(o, "catalog.properties.jdbc.password"),
                         (long)sl_opt_num(o, "catalog.properties.timeout"), err);
    for (size_t i = 0; rc == 0 && i < sizeof ddl / sizeof *ddl; i++)
        rc = ice_db_exec(c->db, ddl[i], 0, NULL, NULL, NULL, err);
    if (rc == 0) {
        c->has_type = ice_db_probe(c->db, "SELECT iceberg_type FROM iceberg_tables LIMIT 0");
        if (asprintf(&cat->desc, "the Iceberg SQL catalog %s in the %s", c->name, ice_db_name(c->db)) < 0)
            rc = sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    if (rc) {
        sc_close(c);
        return rc;
    }
    cat->ops = &sql_ops;
    cat->self = c;
    return 0;
}
