/* ice_restcat.c — the REST catalog behind the catalog ops: each op is one
 * request of the Iceberg REST spec (load table, create namespace, create
 * table, commit one table or POST /v1/transactions/commit for several), and
 * its HTTP status becomes the ops' result: 404 ICE_NOTFOUND, 409
 * ICE_CONFLICT (a requirement failed: another writer), 5xx SL_ERETRY. */
#define SL_LOG_COMPONENT "iceberg sink"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/log.h"
#include "ice_sink.h"

static int rc_load(void *self, const char *ns, const char *name, json_t **md, char **md_location, sl_err *err)
{
    *md = NULL;
    if (md_location)
        *md_location = NULL;
    sl_buf path;
    sl_buf_init(&path);
    ice_table_path(&path, ns, name);
    json_t *resp;
    int st = ice_rest_call(self, "GET", path.data, NULL, &resp, err);
    sl_buf_free(&path);
    int rc = st < 0 ? st : 0;
    if (st == 404)
        rc = ICE_NOTFOUND;
    else if (st == 200 && json_is_object(json_object_get(resp, "metadata"))) {
        *md = json_incref(json_object_get(resp, "metadata"));
        const char *loc = json_string_value(json_object_get(resp, "metadata-location"));
        if (md_location && loc && !(*md_location = strdup(loc))) {
            json_decref(*md);
            *md = NULL;
            rc = sl_errf(err, SL_ERUNTIME, "out of memory");
        }
    } else if (st >= 0)
        rc = ice_rest_fail(err, st, resp, "loading Iceberg table %s.%s", ns, name);
    json_decref(resp);
    return rc;
}

/* creates ns and each missing parent ("a", then "a.b"): 409 is one that exists */
static int rc_create_namespace(void *self, const char *ns, sl_err *err)
{
    json_t *levels = ice_ns_json(ns);
    int rc = 0;
    for (size_t n = 1; rc == 0 && n <= json_array_size(levels); n++) {
        json_t *prefix = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append(prefix, json_array_get(levels, i));
        json_t *body = json_pack("{s:o}", "namespace", prefix), *resp;
        int st = ice_rest_call(self, "POST", "namespaces", body, &resp, err);
        json_decref(body);
        if (st < 0) {
            rc = st;
            break;
        }
        if (st != 200 && st != 409)
            rc = ice_rest_fail(err, st, resp, "creating Iceberg namespace %s", ns);
        json_decref(resp);
    }
    json_decref(levels);
    return rc;
}

static int rc_create_table(void *self, const char *ns, json_t *req, json_t **md, sl_err *err)
{
    *md = NULL;
    sl_buf path;
    sl_buf_init(&path);
    ice_table_path(&path, ns, NULL);
    path.len--;
    sl_buf_adds(&path, "/tables");
    sl_buf_addc(&path, 0);
    json_t *resp;
    int st = ice_rest_call(self, "POST", path.data, req, &resp, err);
    sl_buf_free(&path);
    int rc = st < 0 ? st : 0;
    if (st == 200 && json_is_object(json_object_get(resp, "metadata")))
        *md = json_incref(json_object_get(resp, "metadata"));
    else if (st >= 0)
        rc = ice_rest_fail(err, st, resp, "creating Iceberg table %s.%s",
                           ns, json_string_value(json_object_get(req, "name")));
    json_decref(resp);
    return rc;
}

static int rc_commit(void *self, json_t *changes, json_t **md, sl_err *err)
{
    if (md)
        *md = NULL;
    json_t *resp, *body;
    int st;
    if (json_array_size(changes) == 1) {
        /* one table: its own endpoint, which answers with the new metadata */
        json_t *c = json_array_get(changes, 0), *id = json_object_get(c, "identifier");
        sl_buf path;
        sl_buf_init(&path);
        char *ns = ice_ns_join(json_object_get(id, "namespace"));
        ice_table_path(&path, ns ? ns : "", json_string_value(json_object_get(id, "name")));
        free(ns);
        body = json_pack("{s:O, s:O}", "requirements", json_object_get(c, "requirements"), "updates",
                         json_object_get(c, "updates"));
        st = ice_rest_call(self, "POST", path.data, body, &resp, err);
        sl_buf_free(&path);
    } else {
        body = json_pack("{s:O}", "table-changes", changes);
        st = ice_rest_call(self, "POST", "transactions/commit", body, &resp, err);
    }
    json_decref(body);
    int rc = st < 0 ? st : 0;
    if (st == 409) {
        char m[768];
        rc = sl_errf(err, ICE_CONFLICT, "%s", ice_rest_message(resp, st, m, sizeof m));
    } else if (st >= 0 && st != 200 && st != 204) {
        rc = ice_rest_fail(err, st, resp, "commit");
    } else if (st >= 0 && md) {
        *md = json_incref(json_object_get(resp, "metadata"));
    }
    json_decref(resp);
    return rc;
}

static void rc_close(void *self)
{
    ice_rest_free(self);
    free(self);
}

static const ice_catalog_ops rest_ops = {
    .load = rc_load,
    .create_namespace = rc_create_namespace,
    .create_table = rc_create_table,
    .commit = rc_commit,
    .close = rc_close,
};

int ice_restcat_open(ice_catalog *c, const sl_options *o, sl_err *err)
{
    ice_rest *r = calloc(1, sizeof *r);
    if (!r)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    int rc = ice_rest_init(r, o, err);
    if (rc == 0 && asprintf(&c->desc, "the Iceberg REST catalog at %s", r->root) < 0)
        rc = sl_errf(err, SL_ERUNTIME, "out of memory");
    if (rc) {
        rc_close(r);
        return rc;
    }
    c->ops = &rest_ops;
    c->self = r;
    return 0;
}
