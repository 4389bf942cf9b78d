/* ice_table.c — one Iceberg table: loaded from (or created in) the REST
 * catalog, its key index opened (ice_index.c, rebuilt by ice_rebuild.c
 * when stale), and one epoch's changes turned into data rows and position deletes
 * (ice_schema.c binds the columns, ice_commit.c ends the epoch).
 *
 * How changes become files. Every insert, snapshot row and update appends
 * the row's new image to the epoch's Parquet data file; when the key was
 * live (in an earlier file or earlier in this one) its old (file, row) gets
 * a position delete. A delete only adds the position delete. So each epoch
 * adds at most one data file and one position delete file per table, and a
 * reader never needs equality deletes. Replaying changes after a crash is
 * idempotent for the same reason: an insert of a live key replaces it.
 *
 * What a snapshot carries (summary): sluice.pipeline, sluice.checkpoint
 * (the pipeline's checkpoint at this commit), sluice.position (the source
 * position the table holds up to: streaming changes at or before it are
 * skipped on replay, so a replayed epoch writes nothing). */
#define SL_LOG_COMPONENT "iceberg sink"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../core/log.h"
#include "../../core/route.h"
#include "../../formats/avro/avro.h"
#include "../../formats/parquet/parquet.h"
#include "ice_sink.h"

void ice_table_path(sl_buf *b, const char *ns, const char *name)
{
    sl_buf_adds(b, "namespaces/");
    /* levels joined by the unit separator, as the REST spec has it */
    json_t *levels = ice_ns_json(ns), *l;
    size_t i;
    json_array_foreach(levels, i, l) {
        if (i)
            sl_buf_adds(b, "%1F");
        ice_url_segment(b, json_string_value(l));
    }
    json_decref(levels);
    if (name) {
        sl_buf_adds(b, "/tables/");
        ice_url_segment(b, name);
    }
    sl_buf_addc(b, 0);
}

int64_t ice_random_id(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v)
        v = (uint64_t)rand() << 32 ^ (uint64_t)rand();
    v &= INT64_MAX;
    return v ? (int64_t)v : 1;
}

int ice_mkdirs(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(tmp, 0755) && errno != EEXIST ? -1 : 0;
}

/* ------------------------------------------------------- load / create -- */

static int parse_pos(const char *s, sl_pos *p)
{
    unsigned long long hi, lo;
    unsigned idx;
    if (!s || sscanf(s, "%llu:%llu:%u", &hi, &lo, &idx) != 3)
        return -1;
    p->hi = hi;
    p->lo = lo;
    p->idx = idx;
    return 0;
}

json_t *ice_find_snapshot(json_t *md, int64_t id)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(md, "snapshots"), i, s)
        if (json_integer_value(json_object_get(s, "snapshot-id")) == id)
            return s;
    return NULL;
}

json_t **ice_history(json_t *md, int64_t current, size_t *n)
{
    size_t total = json_array_size(json_object_get(md, "snapshots"));
    json_t **h = malloc((total ? total : 1) * sizeof *h);
    *n = 0;
    if (!h)
        return NULL;
    /* at most every snapshot once: a parent cycle in damaged metadata ends */
    for (json_t *s = current > 0 ? ice_find_snapshot(md, current) : NULL; s && *n < total;) {
        h[(*n)++] = s;
        json_t *parent = json_object_get(s, "parent-snapshot-id");
        s = json_is_integer(parent) ? ice_find_snapshot(md, json_integer_value(parent)) : NULL;
    }
    return h;
}

/* the table's state from its metadata; rebuilds the key index */
static int adopt(ice_table *t, json_t *md, sl_err *err)
{
    ice_sink *k = t->sink;
    const char *loc = json_string_value(json_object_get(md, "location"));
    json_t *schema = ice_current_schema(md, &t->schema_id);
    if (!loc || !schema)
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s: the catalog's table metadata has no location or "
                       "current schema", t->target);
    if (json_integer_value(json_object_get(md, "format-version")) < 2)
        return sl_errf(err, SL_ECONFIG, SL_LOG_PREFIX "%s is an Iceberg format v1 table; sluice needs v2 "
                       "(position deletes): upgrade it with the table property format-version=2", t->target);
    if (!ice_local_path(loc))
        return sl_errf(err, SL_ECONFIG, SL_LOG_PREFIX "%s is located at %s; this version of the iceberg sink "
                       "writes to local (file:) warehouses only", t->target, loc);
    free(t->location);
    t->location = strdup(loc);
    json_decref(t->schema);
    t->schema = json_incref(schema);
    t->last_column_id = (int32_t)json_integer_value(json_object_get(md, "last-column-id"));
    t->last_seq = json_integer_value(json_object_get(md, "last-sequence-number"));
    json_t *cur = json_object_get(md, "current-snapshot-id");
    t->snapshot_id = json_is_integer(cur) && json_integer_value(cur) > 0 ? json_integer_value(cur) : 0;
    const char *uuid = json_string_value(json_object_get(md, "table-uuid"));
    free(t->uuid);
    if (!uuid || !(t->uuid = strdup(uuid)))
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s: the catalog's table metadata has no table-uuid",
                       t->target);
    /* every snapshot back to the first still kept (older ones expired) is
     * this pipeline's: the key index must have seen every row */
    size_t n;
    json_t **hist = ice_history(md, t->snapshot_id, &n);
    if (!hist)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    if (t->snapshot_id && !n) {
        free(hist);
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s: the current snapshot %" PRId64 " is not in the "
                       "table's metadata", t->target, t->snapshot_id);
    }
    for (size_t i = 0; i < n; i++) {
        json_t *s = hist[i];
        int64_t id = json_integer_value(json_object_get(s, "snapshot-id"));
        json_t *sum = json_object_get(s, "summary");
        const char *who = json_string_value(json_object_get(sum, "sluice.pipeline"));
        if (!who || strcmp(who, k->pipeline)) {
            free(hist);
            return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s: snapshot %" PRId64 " was written by %s%s, not by "
                           "pipeline %s; sluice must be the table's only writer (its key index follows every "
                           "row): write to another table or drop this one", t->target, id,
                           who ? "pipeline " : "another writer", who ? who : "", k->pipeline);
        }
        if (i == 0) {
            free(t->manifest_list);
            t->manifest_list = strdup(json_string_value(json_object_get(s, "manifest-list")));
            t->has_pos = parse_pos(json_string_value(json_object_get(sum, "sluice.position")), &t->pos) == 0;
        }
    }
    free(hist);
    return 0;
}

static int create_table(ice_table *t, const sl_table_schema *s, json_t **md, sl_err *err)
{
    ice_sink *k = t->sink;
    json_t *fields = json_array(), *ids = json_array();
    for (int i = 0; i < s->ncols; i++) {
        ice_col c;
        int rc = ice_type_for(s, i, &c, err);
        if (rc) {
            json_decref(fields);
            json_decref(ids);
            return rc;
        }
        json_array_append_new(fields, ice_field_json(i + 1, &c, &s->cols[i], c.required));
        if (s->cols[i].is_pk)
            json_array_append_new(ids, json_integer(i + 1));
    }
    json_t *props = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "format-version", "2", "write.format.default",
                              "parquet", "write.delete.mode", "merge-on-read", "write.update.mode", "merge-on-read",
                              "write.metadata.delete-after-commit.enabled", "true",
                              "write.metadata.previous-versions-max", "20");
    for (size_t i = 0; i < k->opts->n; i++) {
        const sl_option_value *v = &k->opts->items[i];
        if (v->text && !strncmp(v->key, "table.properties.", 17))
            json_object_set_new(props, v->key + 17, json_string(v->text));
    }
    json_t *body = json_pack("{s:s, s:{s:s, s:i, s:o, s:o}, s:o}", "name", t->name, "schema", "type", "struct",
                             "schema-id", 0, "fields", fields, "identifier-field-ids", ids, "properties", props);
    int rc = k->cat.ops->create_table(k->cat.self, t->ns, body, md, err);
    json_decref(body);
    if (rc)
        return rc;
    sl_info("created Iceberg table %s (format v2, %d columns, key %d columns)", t->target, s->ncols, s->npk);
    return 0;
}

static int load_or_create(ice_table *t, const sl_table_schema *s, sl_err *err)
{
    ice_sink *k = t->sink;
    json_t *md = NULL;
    int rc = k->cat.ops->load(k->cat.self, t->ns, t->name, &md, NULL, err);
    if (rc == ICE_NOTFOUND) {
        if (!s->npk)
            return sl_errf(err, SL_ECONFIG, SL_LOG_PREFIX "table %s has no primary key; the iceberg sink needs one "
                           "to apply updates and deletes (add a primary key at the source)", s->qualified);
        if ((rc = k->cat.ops->create_namespace(k->cat.self, t->ns, err)) || (rc = create_table(t, s, &md, err)))
            return rc;
    } else if (rc) {
        return rc;
    }
    rc = adopt(t, md, err);
    json_decref(md);
    return rc;
}

/* the name of field id in the table's schema, or "?" */
static const char *field_name(const ice_table *t, int id)
{
    json_t *fields = json_object_get(t->schema, "fields");
    for (size_t i = 0; i < json_array_size(fields); i++) {
        json_t *f = json_array_get(fields, i);
        if (json_integer_value(json_object_get(f, "id")) == id)
            return json_string_value(json_object_get(f, "name")) ? json_string_value(json_object_get(f, "name"))
                                                                  : "?";
    }
    return "?";
}

/* The index's keys are the key columns' values: a key made of other
 * columns would miss every row written before, and updates and deletes
 * would silently keep old rows. So the key's field ids are fixed when the
 * table is first bound (the table's identifier-field-ids, which sluice
 * writes, else the source's key then), and a source key over other columns
 * stops the pipeline, naming both. */
static int check_key(ice_table *t, sl_err *err)
{
    if (t->nkey_ids < 0) {
        json_t *ids = json_object_get(t->schema, "identifier-field-ids");
        size_t n = json_array_size(ids) ? json_array_size(ids) : (size_t)t->npk;
        int *k = calloc(n + 1, sizeof *k);
        if (!k)
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        for (size_t i = 0; i < n; i++) {
            k[i] = json_array_size(ids) ? (int)json_integer_value(json_array_get(ids, i)) : t->cols[t->pk[i]].field_id;
            for (size_t j = i; j > 0 && k[j - 1] > k[j]; j--) {
                int x = k[j];
                k[j] = k[j - 1];
                k[j - 1] = x;
            }
        }
        t->key_ids = k;
        t->nkey_ids = (int)n;
    }
    int same = t->nkey_ids == t->npk;
    for (int i = 0; same && i < t->npk; i++)
        same = t->key_ids[i] == t->cols[t->pk[i]].field_id;
    if (same)
        return 0;
    char was[256] = "", now[256] = "";
    size_t a = 0, b = 0;
    for (int i = 0; i < t->nkey_ids && a < sizeof was; i++)
        a += (size_t)snprintf(was + a, sizeof was - a, "%s%s", i ? ", " : "", field_name(t, t->key_ids[i]));
    for (int i = 0; i < t->npk && b < sizeof now; i++)
        b += (size_t)snprintf(now + b, sizeof now - b, "%s%s", i ? ", " : "", t->cols[t->pk[i]].name);
    return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s: the source's primary key is now (%s), but the table's rows "
                   "are keyed by (%s); the sink finds the rows to update and delete by that key, so it stops rather "
                   "than keep rows the source changed; " ICE_RESNAPSHOT, t->target, now, was);
}

/* t->pk: the columns of s's primary key, by field id (the order a rebuild
 * reads them in, whatever order the source lists them) */
static int bind_key(ice_table *t, const sl_table_schema *s, sl_err *err)
{
    int *pk = realloc(t->pk, (size_t)(t->ncols + 1) * sizeof *pk);
    if (!pk)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    t->pk = pk;
    t->npk = 0;
    for (int i = 0; i < t->ncols; i++) {
        if (!s->cols[t->cols[i].src].is_pk)
            continue;
        int j = t->npk++;
        while (j > 0 && t->cols[pk[j - 1]].field_id > t->cols[i].field_id) {
            pk[j] = pk[j - 1];
            j--;
        }
        pk[j] = i;
    }
    return check_key(t, err);
}

int ice_table_bind(ice_sink *k, const sl_table_schema *s, ice_table **out, sl_err *err)
{
    if (s == k->last_src && k->last_table && k->last_table->src == s && k->last_table->index) {
        *out = k->last_table;
        return 0;
    }
    char target[512];
    if (sl_route_target(k->env->routes, s, target, sizeof target) < 0)
        snprintf(target, sizeof target, "%s", s->qualified);
    ice_table *t;
    for (t = k->tables; t; t = t->next)
        if (!strcmp(t->target, target))
            break;
    int rc;
    if (!t) {
        char *dot = strrchr(target, '.');
        if (!dot || dot == target || !dot[1])
            return sl_errf(err, SL_ECONFIG, SL_LOG_PREFIX "sink table name %s is not namespace.table", target);
        t = calloc(1, sizeof *t);
        if (!t)
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        t->sink = k;
        t->target = strdup(target);
        t->ns = strndup(target, (size_t)(dot - target));
        t->name = strdup(dot + 1);
        t->w_file = -1;
        t->nkey_ids = -1;
        if ((rc = load_or_create(t, s, err))) {
            ice_table_free(t, 1);
            return rc;
        }
        t->next = k->tables;
        k->tables = t;
    }
    if (t->src != s && (!t->src || !sl_schema_same_shape(t->src, s) || t->src->version != s->version)) {
        /* rows of the old shape go into their own file */
        if ((rc = ice_table_close_data(t, err)))
            return rc;
        if ((rc = ice_bind_columns(t, s, err)) || (rc = bind_key(t, s, err)))
            return rc;
    }
    t->src = s;
    /* the index after the columns: a rebuild reads the key columns */
    if (!t->index && (rc = ice_table_index(t, err)))
        return rc;
    k->last_src = s;
    k->last_table = t;
    *out = t;
    return 0;
}

/* --------------------------------------------------------------- rows -- */

int ice_table_close_data(ice_table *t, sl_err *err)
{
    if (!t->w)
        return 0;
    sl_pq_result *res;
    int rc = sl_pq_close(t->w, &res, err);
    t->w = NULL;
    if (rc)
        return rc;
    if (t->nfiles == t->capfiles) {
        int cap = t->capfiles ? t->capfiles * 2 : 4;
        ice_datafile *nf = realloc(t->files, (size_t)cap * sizeof *nf);
        if (!nf) {
            sl_pq_result_free(res);
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        }
        t->files = nf;
        t->capfiles = cap;
    }
    t->files[t->nfiles++] = (ice_datafile){.path = t->w_uri, .content = 0, .res = res};
    t->w_uri = NULL;
    return 0;
}

char *ice_new_file(ice_table *t, const char *dir, const char *ext, char **local)
{
    ice_sink *k = t->sink;
    char *uri;
    if (asprintf(&uri, "%s/%s/%016" PRIx64 "-%05" PRIu64 "%s", t->location, dir, (uint64_t)ice_random_id(),
                 ++k->file_seq, ext) < 0)
        return NULL;
    *local = (char *)ice_local_path(uri);
    return uri;
}

int ice_open_writer(ice_table *t, const char *local, sl_pq_writer **w, sl_err *err)
{
    *w = NULL;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", local);
    *strrchr(dir, '/') = 0;
    if (ice_mkdirs(dir))
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s: cannot create %s: %s", t->target, dir, strerror(errno));
    sl_pq_column *pc = calloc((size_t)t->ncols + 1, sizeof *pc);
    if (!pc)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    for (int i = 0; i < t->ncols; i++) {
        pc[i].name = t->cols[i].name;
        pc[i].field_id = t->cols[i].field_id;
        pc[i].type = t->cols[i].pq;
        pc[i].nullable = !t->cols[i].required;
        pc[i].element_id = -1;
    }
    sl_pq_options o;
    sl_pq_options_default(&o);
    o.codec = t->sink->codec;
    /* sluice reads its own files back a row group at a time, decoded
     * (compaction, the key index rebuild, migrate's read-back): bounded
     * by rows, an epoch of 350k sysbench rows took 80 MiB to compact in one
     * group; 64Ki rows is about 20 MiB, and near DuckDB's own 122,880 */
    o.row_group_rows = ICE_ROW_GROUP_ROWS;
    sl_wfile *f;
    int rc = sl_wfile_open_local_batch(local, &t->sink->batch, &f, err);
    if (rc == 0)
        rc = sl_pq_open(w, f, pc, t->ncols, &o, err);
    free(pc);
    if (rc)
        *w = NULL;
    return rc;
}

static int open_data_file(ice_table *t, sl_err *err)
{
    char *local;
    char *uri = ice_new_file(t, "data", ".parquet", &local);
    if (!uri)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    int rc = ice_open_writer(t, local, &t->w, err);
    if (rc) {
        free(uri);
        return rc;
    }
    t->w_uri = uri;
    t->w_file = ice_index_file(t->index, uri, err);
    return t->w_file < 0 ? SL_ERUNTIME : 0;
}

static int add_delete(ice_table *t, ice_loc loc, sl_err *err)
{
    if (t->ndels == t->capdels) {
        size_t cap = t->capdels ? t->capdels * 2 : 256;
        ice_loc *d = realloc(t->dels, cap * sizeof *d);
        if (!d)
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        t->dels = d;
        t->capdels = cap;
    }
    t->dels[t->ndels++] = loc;
    return 0;
}

/* key (in k->key) no longer live: a position delete for its row */
static int remove_key(ice_table *t, const sl_buf *key, sl_err *err)
{
    ice_loc loc;
    int rc = ice_index_take(t->index, key->data, key->len, &loc, err);
    if (rc <= 0)
        return rc;
    if ((rc = add_delete(t, loc, err)))
        return rc;
    t->dirty = 1;
    return 0;
}

/* the row's new image into the epoch's file; the key's previous row, if
 * live, gets a position delete */
static int upsert(ice_table *t, const sl_buf *key, const sl_value *row, sl_err *err)
{
    int rc = 0;
    if (!t->w && (rc = open_data_file(t, err)))
        return rc;
    int64_t pos = sl_pq_num_rows(t->w);
    for (int i = 0; i < t->ncols; i++)
        if ((rc = ice_put_value(t->w, i, &t->cols[i], &row[t->cols[i].src], t->src, err)))
            return rc;
    if ((rc = sl_pq_end_row(t->w, err)))
        return rc;
    ice_loc old;
    if ((rc = ice_index_swap(t->index, key->data, key->len, (ice_loc){t->w_file, pos}, &old, err)) < 0)
        return rc;
    if (rc == 1 && (rc = add_delete(t, old, err)))
        return rc;
    t->dirty = 1;
    return 0;
}

/* TRUNCATE: the files committed before go in the epoch's snapshot
 * (ice_truncate.c), the epoch's own rows so far with the files holding
 * them, the keys with them; rows after it in the epoch stay. The index is
 * cleared in the epoch's transaction, committed with the new snapshot's tag
 * (or, after a crash, found stale and rebuilt). */
static int truncate_table(ice_table *t, sl_err *err)
{
    if (t->w) {
        sl_pq_abort(t->w);
        t->w = NULL;
        free(t->w_uri);
        t->w_uri = NULL;
    }
    for (int i = 0; i < t->nfiles; i++) {
        const char *local = ice_local_path(t->files[i].path);
        if (local)
            unlink(local);
        free(t->files[i].path);
        sl_pq_result_free(t->files[i].res);
    }
    t->nfiles = 0;
    t->ndels = 0;
    int rc = ice_index_clear(t->index, 0, err);
    if (rc)
        return rc;
    t->truncated = 1;
    t->dirty = 1;
    return 0;
}

int ice_table_apply(ice_table *t, const sl_event *e, sl_err *err)
{
    ice_sink *k = t->sink;
    if (e->snapshot == SL_SNAP_NONE && t->has_pos && sl_pos_cmp(e->pos, t->pos) <= 0)
        return 0; /* the table holds this change already (a replayed epoch) */
    sl_buf_reset(&k->key);
    switch (e->op) {
    case SL_OP_READ:
    case SL_OP_CREATE:
        ice_key_encode(&k->key, t->cols, t->pk, t->npk, e->after);
        return upsert(t, &k->key, e->after, err);
    case SL_OP_UPDATE:
        ice_key_encode(&k->key, t->cols, t->pk, t->npk, e->after);
        if (e->before) {
            sl_buf_reset(&k->key2);
            ice_key_encode(&k->key2, t->cols, t->pk, t->npk, e->before);
            int rc;
            if ((k->key2.len != k->key.len || memcmp(k->key2.data, k->key.data, k->key.len)) &&
                (rc = remove_key(t, &k->key2, err)))
                return rc;
        }
        return upsert(t, &k->key, e->after, err);
    case SL_OP_DELETE:
        ice_key_encode(&k->key, t->cols, t->pk, t->npk, e->before);
        return remove_key(t, &k->key, err);
    case SL_OP_TRUNCATE:
        return truncate_table(t, err);
    default:
        return 0;
    }
}

void ice_table_free(ice_table *t, int discard)
{
    if (!t)
        return;
    if (t->w)
        sl_pq_abort(t->w);
    for (int i = 0; i < t->nfiles; i++) {
        const char *local = ice_local_path(t->files[i].path);
        if (discard && local)
            unlink(local);
        free(t->files[i].path);
        sl_pq_result_free(t->files[i].res);
    }
    free(t->files);
    free(t->w_uri);
    free(t->dels);
    ice_index_free(t->index);
    free(t->pk);
    free(t->key_ids);
    free(t->uuid);
    json_decref(t->schema);
    free(t->cols);
    free(t->target);
    free(t->ns);
    free(t->name);
    free(t->location);
    free(t->manifest_list);
    free(t);
}
