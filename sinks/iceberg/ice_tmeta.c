/* ice_tmeta.c — Iceberg table metadata kept by sluice itself, for catalogs
 * that only hold a pointer to the current metadata file (the SQL catalog):
 * a new table's format v2 metadata, the REST spec's requirements checked
 * and its updates applied (the subset the sink sends: add-snapshot,
 * set-snapshot-ref, set-properties, remove-properties, add-schema,
 * set-current-schema, remove-snapshots), the metadata-log kept to
 * write.metadata.previous-versions-max, and metadata files named
 * <version>-<uuid>.metadata.json as Java and pyiceberg name theirs, so
 * their next commit continues the numbering. Field ids are kept as the
 * sink assigned them (the sink binds columns by field id). */
#define SL_LOG_COMPONENT "iceberg sink"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <zlib.h>

#include "../../core/clock.h"
#include "../../core/log.h"
#include "../../formats/wfile.h"
#include "ice_sink.h"

static void new_uuid(char out[37])
{
    unsigned char b[16];
    for (int i = 0; i < 16; i += 8) {
        int64_t r = ice_random_id();
        memcpy(b + i, &r, 8);
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
             b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* the highest field id in a schema or type (fields, list elements, map
 * keys and values) */
static int64_t max_id(json_t *v)
{
    int64_t m = 0;
    if (!json_is_object(v))
        return 0;
    static const char *const ids[] = {"id", "element-id", "key-id", "value-id"};
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
        json_t *x = json_object_get(v, ids[i]);
        if (json_is_integer(x) && json_integer_value(x) > m)
            m = json_integer_value(x);
    }
    static const char *const subs[] = {"type", "element", "key", "value"};
    for (size_t i = 0; i < sizeof subs / sizeof *subs; i++) {
        int64_t s = max_id(json_object_get(v, subs[i]));
        m = s > m ? s : m;
    }
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(v, "fields"), i, f) {
        int64_t s = max_id(f);
        m = s > m ? s : m;
    }
    return m;
}

json_t *ice_md_create(json_t *req, const char *location, sl_err *err)
{
    json_t *schema = json_deep_copy(json_object_get(req, "schema"));
    json_t *props = json_deep_copy(json_object_get(req, "properties"));
    if (!props)
        props = json_object();
    const char *fv = json_string_value(json_object_get(props, "format-version"));
    if (fv && strcmp(fv, "2")) {
        sl_errf(err, SL_ECONFIG, SL_LOG_PREFIX "format-version %s: the SQL catalog creates format v2 tables", fv);
        json_decref(schema);
        json_decref(props);
        return NULL;
    }
    /* a reserved property: the metadata's own field, not a table property */
    json_object_del(props, "format-version");
    json_object_set_new(schema, "schema-id", json_integer(0));
    char uuid[37];
    new_uuid(uuid);
    json_t *md = json_pack("{s:i, s:s, s:s, s:i, s:I, s:I, s:i, s:[o], s:i, s:[{s:i, s:[]}], s:i, s:i, "
                           "s:[{s:i, s:[]}], s:o, s:i, s:{}, s:[], s:[], s:[]}",
                           "format-version", 2, "table-uuid", uuid, "location", location, "last-sequence-number", 0,
                           "last-updated-ms", (json_int_t)sl_wall_ms(), "last-column-id", (json_int_t)max_id(schema),
                           "current-schema-id", 0, "schemas", schema, "default-spec-id", 0, "partition-specs",
                           "spec-id", 0, "fields", "last-partition-id", 999, "default-sort-order-id", 0,
                           "sort-orders", "order-id", 0, "fields", "properties", props, "current-snapshot-id", -1,
                           "refs", "snapshots", "snapshot-log", "metadata-log");
    if (!md)
        sl_errf(err, SL_ERUNTIME, "out of memory");
    return md;
}

static int64_t ref_snapshot(json_t *md, const char *ref)
{
    json_t *r = json_object_get(json_object_get(md, "refs"), ref);
    if (r)
        return json_integer_value(json_object_get(r, "snapshot-id"));
    /* metadata written without refs: main is the current snapshot */
    json_t *cur = json_object_get(md, "current-snapshot-id");
    if (!strcmp(ref, "main") && json_is_integer(cur) && json_integer_value(cur) > 0)
        return json_integer_value(cur);
    return -1;
}

int ice_md_check(json_t *md, json_t *requirements, sl_err *err)
{
    size_t i;
    json_t *q;
    json_array_foreach(requirements, i, q) {
        const char *type = json_string_value(json_object_get(q, "type"));
        if (!type) {
            continue;
        } else if (!strcmp(type, "assert-ref-snapshot-id")) {
            const char *ref = json_string_value(json_object_get(q, "ref"));
            json_t *want = json_object_get(q, "snapshot-id");
            int64_t have = ref_snapshot(md, ref ? ref : "main");
            int64_t w = json_is_integer(want) ? json_integer_value(want) : -1;
            if (have != w) {
                char hs[40] = "absent", ws[40] = "absent";
                if (have >= 0)
                    snprintf(hs, sizeof hs, "snapshot %" PRId64, have);
                if (w >= 0)
                    snprintf(ws, sizeof ws, "snapshot %" PRId64, w);
                return sl_errf(err, ICE_CONFLICT, "branch %s is %s, expected %s", ref ? ref : "main", hs, ws);
            }
        } else if (!strcmp(type, "assert-table-uuid")) {
            const char *want = json_string_value(json_object_get(q, "uuid"));
            const char *have = json_string_value(json_object_get(md, "table-uuid"));
            if (!want || !have || strcmp(want, have))
                return sl_errf(err, ICE_CONFLICT, "table uuid is %s, expected %s (the table was replaced)",
                               have ? have : "none", want ? want : "none");
        } else if (!strcmp(type, "assert-current-schema-id")) {
            json_int_t want = json_integer_value(json_object_get(q, "current-schema-id"));
            json_int_t have = json_integer_value(json_object_get(md, "current-schema-id"));
            if (want != have)
                return sl_errf(err, ICE_CONFLICT, "current schema is %" JSON_INTEGER_FORMAT ", expected %"
                               JSON_INTEGER_FORMAT, have, want);
        } else {
            return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "the SQL catalog cannot check requirement %s", type);
        }
    }
    return 0;
}

static json_t *array_of(json_t *md, const char *key)
{
    json_t *a = json_object_get(md, key);
    if (!json_is_array(a)) {
        a = json_array();
        json_object_set_new(md, key, a);
    }
    return a;
}

static int64_t prop_int(json_t *md, const char *key, int64_t dflt)
{
    const char *v = json_string_value(json_object_get(json_object_get(md, "properties"), key));
    return v && *v ? strtoll(v, NULL, 10) : dflt;
}

static int in_ids(json_t *ids, json_int_t id)
{
    size_t i;
    json_t *x;
    json_array_foreach(ids, i, x)
        if (json_integer_value(x) == id)
            return 1;
    return 0;
}

/* one update; *added is the schema id an add-schema gave (for
 * set-current-schema -1) */
static int apply_one(json_t *md, json_t *u, int64_t *added, sl_err *err)
{
    const char *a = json_string_value(json_object_get(u, "action"));
    if (!a)
        a = "(none)";
    if (!strcmp(a, "add-snapshot")) {
        json_t *s = json_object_get(u, "snapshot");
        json_array_append(array_of(md, "snapshots"), s);
        json_int_t seq = json_integer_value(json_object_get(s, "sequence-number"));
        if (seq > json_integer_value(json_object_get(md, "last-sequence-number")))
            json_object_set_new(md, "last-sequence-number", json_integer(seq));
    } else if (!strcmp(a, "set-snapshot-ref")) {
        const char *ref = json_string_value(json_object_get(u, "ref-name"));
        json_t *id = json_object_get(u, "snapshot-id");
        if (!ref || !json_is_integer(id))
            return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "set-snapshot-ref without ref-name or snapshot-id");
        json_t *refs = json_object_get(md, "refs");
        if (!json_is_object(refs))
            json_object_set_new(md, "refs", refs = json_object());
        const char *type = json_string_value(json_object_get(u, "type"));
        json_object_set_new(refs, ref, json_pack("{s:O, s:s}", "snapshot-id", id, "type", type ? type : "branch"));
        if (!strcmp(ref, "main")) {
            json_object_set(md, "current-snapshot-id", id);
            json_t *s = ice_find_snapshot(md, json_integer_value(id));
            json_array_append_new(array_of(md, "snapshot-log"),
                                  json_pack("{s:I, s:O}", "timestamp-ms",
                                            (json_int_t)(s ? json_integer_value(json_object_get(s, "timestamp-ms"))
                                                           : sl_wall_ms()),
                                            "snapshot-id", id));
        }
    } else if (!strcmp(a, "remove-snapshots")) {
        /* expiration (ice_expire.c): the snapshots, their snapshot-log
         * entries; a ref still naming one refuses the update */
        json_t *ids = json_object_get(u, "snapshot-ids");
        const char *ref;
        json_t *r;
        json_object_foreach(json_object_get(md, "refs"), ref, r)
            if (in_ids(ids, json_integer_value(json_object_get(r, "snapshot-id"))))
                return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "remove-snapshots: ref %s names snapshot %"
                               JSON_INTEGER_FORMAT, ref, json_integer_value(json_object_get(r, "snapshot-id")));
        static const char *const lists[] = {"snapshots", "snapshot-log"};
        for (int l = 0; l < 2; l++) {
            json_t *arr = array_of(md, lists[l]);
            for (size_t i = json_array_size(arr); i-- > 0;)
                if (in_ids(ids, json_integer_value(json_object_get(json_array_get(arr, i), "snapshot-id"))))
                    json_array_remove(arr, i);
        }
    } else if (!strcmp(a, "set-properties") || !strcmp(a, "remove-properties")) {
        json_t *props = json_object_get(md, "properties");
        if (!json_is_object(props))
            json_object_set_new(md, "properties", props = json_object());
        if (a[0] == 's') {
            json_object_update(props, json_object_get(u, "updates"));
        } else {
            size_t i;
            json_t *k;
            json_array_foreach(json_object_get(u, "removals"), i, k)
                json_object_del(props, json_string_value(k));
        }
    } else if (!strcmp(a, "add-schema")) {
        json_t *schemas = array_of(md, "schemas"), *s = json_deep_copy(json_object_get(u, "schema"));
        int64_t id = -1;
        size_t i;
        json_t *x;
        json_array_foreach(schemas, i, x)
            if (json_integer_value(json_object_get(x, "schema-id")) > id)
                id = json_integer_value(json_object_get(x, "schema-id"));
        *added = id + 1;
        json_object_set_new(s, "schema-id", json_integer(*added));
        int64_t last = json_integer_value(json_object_get(md, "last-column-id"));
        int64_t given = json_integer_value(json_object_get(u, "last-column-id")), m = max_id(s);
        last = given > last ? given : last;
        json_object_set_new(md, "last-column-id", json_integer(m > last ? m : last));
        json_array_append_new(schemas, s);
    } else if (!strcmp(a, "set-current-schema")) {
        int64_t id = json_integer_value(json_object_get(u, "schema-id"));
        if (id == -1)
            id = *added;
        if (id < 0)
            return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "set-current-schema -1 without add-schema");
        json_object_set_new(md, "current-schema-id", json_integer(id));
    } else {
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "the SQL catalog cannot apply update %s", a);
    }
    return 0;
}

int ice_md_apply(json_t *md, json_t *updates, const char *prev_location, json_t *dropped, sl_err *err)
{
    int64_t added = -1;
    size_t i;
    json_t *u;
    json_array_foreach(updates, i, u) {
        int rc = apply_one(md, u, &added, err);
        if (rc)
            return rc;
    }
    json_int_t before = json_integer_value(json_object_get(md, "last-updated-ms"));
    int64_t now = sl_wall_ms();
    json_object_set_new(md, "last-updated-ms", json_integer(now > before ? now : before + 1));
    if (prev_location) {
        json_t *log = array_of(md, "metadata-log");
        json_array_append_new(log, json_pack("{s:I, s:s}", "timestamp-ms", before, "metadata-file", prev_location));
        int64_t max = prop_int(md, "write.metadata.previous-versions-max", 100);
        while (max >= 0 && json_array_size(log) > (size_t)(max > 0 ? max : 1)) {
            if (dropped)
                json_array_append(dropped, json_object_get(json_array_get(log, 0), "metadata-file"));
            json_array_remove(log, 0);
        }
    }
    return 0;
}

char *ice_md_next_location(const char *location, const char *prev)
{
    long version = -1;
    if (prev) {
        const char *base = strrchr(prev, '/');
        base = base ? base + 1 : prev;
        char *end;
        long v = strtol(base, &end, 10);
        version = end != base && *end == '-' ? v : -1;
    }
    char uuid[37], *out;
    new_uuid(uuid);
    if (asprintf(&out, "%s/metadata/%05ld-%s.metadata.json", location, version + 1, uuid) < 0)
        return NULL;
    return out;
}

int ice_md_write(json_t *md, const char *uri, sl_err *err)
{
    const char *local = ice_local_path(uri);
    if (!local)
        return sl_errf(err, SL_ECONFIG, SL_LOG_PREFIX "%s is not a local file; the SQL catalog writes table "
                       "metadata to local (file:) warehouses only", uri);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", local);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    if (slash && ice_mkdirs(dir))
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "cannot create %s: %s", dir, strerror(errno));
    char *text = json_dumps(md, JSON_COMPACT);
    if (!text)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    sl_wfile *f;
    int rc = sl_wfile_open_local(local, &f, err);
    if (rc == 0 && (rc = sl_wfile_write(f, text, strlen(text), err)))
        sl_wfile_abort(f);
    else if (rc == 0)
        rc = sl_wfile_close(f, err);
    free(text);
    return rc;
}

json_t *ice_md_read(const char *uri, sl_err *err)
{
    const char *local = ice_local_path(uri);
    if (!local) {
        sl_errf(err, SL_ECONFIG, SL_LOG_PREFIX "table metadata %s is not a local file; the SQL catalog reads local "
                "(file:) warehouses only", uri);
        return NULL;
    }
    /* gzopen reads plain files too: metadata written with
     * write.metadata.compression-codec=gzip (.gz.metadata.json) as well */
    gzFile g = gzopen(local, "rb");
    if (!g) {
        sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "cannot open table metadata %s: %s", local, strerror(errno));
        return NULL;
    }
    sl_buf b;
    sl_buf_init(&b);
    char chunk[65536];
    int n;
    while ((n = gzread(g, chunk, sizeof chunk)) > 0)
        sl_buf_add(&b, chunk, (size_t)n);
    gzclose(g);
    json_error_t je;
    json_t *md = n < 0 ? NULL : json_loadb(b.data, b.len, 0, &je);
    if (!md)
        sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "table metadata %s is not JSON: %s", local,
                n < 0 ? "read error" : je.text);
    sl_buf_free(&b);
    return md;
}
