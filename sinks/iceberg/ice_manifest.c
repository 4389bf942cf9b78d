/* ice_manifest.c — Iceberg v2 manifests and manifest lists, as Avro
 * container files whose header schemas carry the spec's field ids (written
 * here verbatim; see formats/avro/avro.h for why not avro-c).
 *
 * A manifest lists the files one snapshot added (all data, or all position
 * deletes) with their per-column statistics; entries leave sequence numbers
 * null so they inherit the manifest's (the spec's inheritance rule). A
 * manifest list is the previous snapshot's list, entry for entry, plus the
 * new manifests: sluice only appends, so nothing else changes. */
#include <stdlib.h>
#include <string.h>

#include "../../formats/avro/avro.h"
#include "ice_sink.h"

#define MAP(name, id, k, v, vt)                                                                            \
    "{\"name\":\"" name "\",\"field-id\":" #id ",\"default\":null,\"type\":[\"null\",{\"type\":\"array\","  \
    "\"logicalType\":\"map\",\"items\":{\"type\":\"record\",\"name\":\"k" #k "_v" #v "\",\"fields\":["    \
    "{\"name\":\"key\",\"type\":\"int\",\"field-id\":" #k "},{\"name\":\"value\",\"type\":\"" vt            \
    "\",\"field-id\":" #v "}]}}]}"

static const char MANIFEST_SCHEMA[] =
    "{\"type\":\"record\",\"name\":\"manifest_entry\",\"fields\":["
    "{\"name\":\"status\",\"type\":\"int\",\"field-id\":0},"
    "{\"name\":\"snapshot_id\",\"type\":[\"null\",\"long\"],\"default\":null,\"field-id\":1},"
    "{\"name\":\"sequence_number\",\"type\":[\"null\",\"long\"],\"default\":null,\"field-id\":3},"
    "{\"name\":\"file_sequence_number\",\"type\":[\"null\",\"long\"],\"default\":null,\"field-id\":4},"
    "{\"name\":\"data_file\",\"field-id\":2,\"type\":{\"type\":\"record\",\"name\":\"r2\",\"fields\":["
    "{\"name\":\"content\",\"type\":\"int\",\"field-id\":134},"
    "{\"name\":\"file_path\",\"type\":\"string\",\"field-id\":100},"
    "{\"name\":\"file_format\",\"type\":\"string\",\"field-id\":101},"
    "{\"name\":\"partition\",\"field-id\":102,\"type\":{\"type\":\"record\",\"name\":\"r102\",\"fields\":[]}},"
    "{\"name\":\"record_count\",\"type\":\"long\",\"field-id\":103},"
    "{\"name\":\"file_size_in_bytes\",\"type\":\"long\",\"field-id\":104}," MAP("column_sizes", 108, 117, 118, "long")
    "," MAP("value_counts", 109, 119, 120, "long") "," MAP("null_value_counts", 110, 121, 122, "long")
    "," MAP("nan_value_counts", 137, 138, 139, "long") "," MAP("lower_bounds", 125, 126, 127, "bytes")
    "," MAP("upper_bounds", 128, 129, 130, "bytes") ","
    "{\"name\":\"split_offsets\",\"default\":null,\"field-id\":132,\"type\":[\"null\",{\"type\":\"array\","
    "\"items\":\"long\",\"element-id\":133}]},"
    "{\"name\":\"sort_order_id\",\"type\":[\"null\",\"int\"],\"default\":null,\"field-id\":140}"
    "]}}]}";

static const char LIST_SCHEMA[] =
    "{\"type\":\"record\",\"name\":\"manifest_file\",\"fields\":["
    "{\"name\":\"manifest_path\",\"type\":\"string\",\"field-id\":500},"
    "{\"name\":\"manifest_length\",\"type\":\"long\",\"field-id\":501},"
    "{\"name\":\"partition_spec_id\",\"type\":\"int\",\"field-id\":502},"
    "{\"name\":\"content\",\"type\":\"int\",\"field-id\":517},"
    "{\"name\":\"sequence_number\",\"type\":\"long\",\"field-id\":515},"
    "{\"name\":\"min_sequence_number\",\"type\":\"long\",\"field-id\":516},"
    "{\"name\":\"added_snapshot_id\",\"type\":\"long\",\"field-id\":503},"
    "{\"name\":\"added_files_count\",\"type\":\"int\",\"field-id\":504},"
    "{\"name\":\"existing_files_count\",\"type\":\"int\",\"field-id\":505},"
    "{\"name\":\"deleted_files_count\",\"type\":\"int\",\"field-id\":506},"
    "{\"name\":\"added_rows_count\",\"type\":\"long\",\"field-id\":512},"
    "{\"name\":\"existing_rows_count\",\"type\":\"long\",\"field-id\":513},"
    "{\"name\":\"deleted_rows_count\",\"type\":\"long\",\"field-id\":514}"
    "]}";

const char *ice_local_path(const char *uri)
{
    if (!strncmp(uri, "file://", 7))
        return uri + 7;
    if (!strncmp(uri, "file:", 5))
        return uri + 5;
    return uri[0] == '/' ? uri : NULL;
}

/* Iceberg's single-value form of a bound of column c (its current type),
 * from the Parquet PLAIN bytes of the file. A file written before the
 * column was promoted (earlier in the same epoch) holds the narrower type:
 * its length says which (4-byte int or float for long or double; a 4- or
 * 8-byte INT32/INT64 decimal, else FIXED), and the bound is written in the
 * table's type. */
static int bound(const ice_col *c, const uint8_t *p, size_t n, uint8_t out[16], const uint8_t **res, size_t *len)
{
    if (c->pq.logical == SL_PQ_LT_DECIMAL) {
        sl_i128 v;
        sl_pq_type ft = c->pq;
        ft.physical = n == 4 ? SL_PQ_INT32 : n == 8 ? SL_PQ_INT64 : SL_PQ_FIXED;
        if (sl_pq_bound_decimal(&ft, p, n, &v))
            return -1;
        *len = (size_t)sl_decimal_to_be_min(v, out);
        *res = out;
        return 0;
    }
    if (c->pq.physical == SL_PQ_INT32 && c->pq.logical != SL_PQ_LT_DATE && strcmp(c->itype, "int"))
        return -1; /* no such column today; never guess a width */
    if (c->pq.physical == SL_PQ_INT64 && n == 4) { /* int promoted to long */
        int32_t i;
        memcpy(&i, p, 4);
        int64_t l = i;
        memcpy(out, &l, 8);
        *res = out;
        *len = 8;
        return 0;
    }
    if (c->pq.physical == SL_PQ_DOUBLE && n == 4) { /* float promoted to double */
        float fl;
        memcpy(&fl, p, 4);
        double d = fl;
        memcpy(out, &d, 8);
        *res = out;
        *len = 8;
        return 0;
    }
    *res = p;
    *len = n;
    return 0;
}

static const ice_col *col_of(const ice_col *cols, int ncols, int32_t id)
{
    for (int i = 0; i < ncols; i++)
        if (cols[i].field_id == id)
            return &cols[i];
    return NULL;
}

static void put_counts(sl_buf *d, const sl_pq_result *r, int which)
{
    if (!r->ncolumns) {
        sl_avro_put_union(d, 0);
        return;
    }
    sl_avro_put_union(d, 1);
    sl_avro_put_block(d, r->ncolumns);
    for (int i = 0; i < r->ncolumns; i++) {
        const sl_pq_column_stats *s = &r->columns[i];
        sl_avro_put_int(d, s->field_id);
        sl_avro_put_long(d, which == 0 ? s->compressed_size : which == 1 ? s->num_values : which == 2 ? s->null_count : s->nan_count);
    }
    sl_avro_put_block(d, 0);
}

static void put_bounds(sl_buf *d, const sl_pq_result *r, const ice_col *cols, int ncols, int upper)
{
    int n = 0;
    for (int i = 0; i < r->ncolumns; i++)
        n += r->columns[i].has_bounds;
    if (!n) {
        sl_avro_put_union(d, 0);
        return;
    }
    sl_avro_put_union(d, 1);
    sl_buf items;
    sl_buf_init(&items);
    int count = 0;
    for (int i = 0; i < r->ncolumns; i++) {
        const sl_pq_column_stats *s = &r->columns[i];
        if (!s->has_bounds)
            continue;
        const ice_col *c = col_of(cols, ncols, s->field_id);
        ice_col meta = {0};
        if (!c) { /* position delete files: file_path (string) and pos (long) */
            meta.pq = s->field_id == 2147483546 ? sl_pq_t_string() : sl_pq_t_int64();
            snprintf(meta.itype, sizeof meta.itype, "%s", s->field_id == 2147483546 ? "string" : "long");
            c = &meta;
        }
        uint8_t tmp[16];
        const uint8_t *p;
        size_t len;
        if (bound(c, upper ? s->max : s->min, upper ? s->max_len : s->min_len, tmp, &p, &len))
            continue;
        sl_avro_put_int(&items, s->field_id);
        sl_avro_put_bytes(&items, p, len);
        count++;
    }
    sl_avro_put_block(d, count);
    if (count) {
        sl_buf_add(d, items.data, items.len);
        sl_avro_put_block(d, 0);
    }
    sl_buf_free(&items);
}

/* a manifest file of one content (0 data, 1 deletes) at local, durable at
 * b's sync; out is cleared for the caller's counts */
static int manifest_open(sl_wfile_batch *b, const char *local, const char *schema_json, int schema_id, int content,
                         sl_avro_writer **w, ice_manifest_info *out, sl_err *err)
{
    memset(out, 0, sizeof *out);
    sl_wfile *f;
    int rc = sl_wfile_open_local_batch(local, b, &f, err);
    if (rc)
        return rc;
    char sid[16];
    snprintf(sid, sizeof sid, "%d", schema_id);
    sl_avro_meta meta[] = {
        {"schema", schema_json},       {"schema-id", sid},
        {"partition-spec", "[]"},      {"partition-spec-id", "0"},
        {"format-version", "2"},       {"content", content ? "deletes" : "data"},
    };
    return sl_avro_open(w, f, MANIFEST_SCHEMA, meta, 6, SL_AVRO_CODEC_DEFLATE, err);
}

/* closes w and describes it in out as the manifest list names it */
static int manifest_close(sl_avro_writer *w, const char *uri, int content, int64_t seq, int64_t snapshot_id,
                          ice_manifest_info *out, sl_err *err)
{
    uint64_t size;
    int rc = sl_avro_close(w, &size, err);
    if (rc)
        return rc;
    out->path = strdup(uri);
    out->length = (int64_t)size;
    out->content = content;
    out->seq = out->min_seq = seq;
    out->snapshot_id = snapshot_id;
    return out->path ? 0 : sl_errf(err, SL_ERUNTIME, "out of memory");
}

int ice_manifest_write(sl_wfile_batch *b, const char *local, const char *uri, const char *schema_json, int schema_id,
                       const ice_datafile *files, int nfiles, int64_t snapshot_id, int64_t seq,
                       const ice_col *cols, int ncols, ice_manifest_info *out, sl_err *err)
{
    int content = nfiles ? files[0].content : 0;
    sl_avro_writer *w;
    int rc = manifest_open(b, local, schema_json, schema_id, content, &w, out, err);
    if (rc)
        return rc;
    for (int i = 0; i < nfiles; i++) {
        const sl_pq_result *r = files[i].res;
        sl_buf *d = sl_avro_datum(w);
        sl_avro_put_int(d, 1); /* ADDED */
        sl_avro_put_union(d, 1);
        sl_avro_put_long(d, snapshot_id);
        sl_avro_put_union(d, 0); /* sequence numbers inherited */
        sl_avro_put_union(d, 0);
        sl_avro_put_int(d, files[i].content);
        sl_avro_put_cstr(d, files[i].path);
        sl_avro_put_cstr(d, "PARQUET");
        sl_avro_put_long(d, r->num_rows);
        sl_avro_put_long(d, (int64_t)r->file_size);
        put_counts(d, r, 0);
        put_counts(d, r, 1);
        put_counts(d, r, 2);
        put_counts(d, r, 3);
        put_bounds(d, r, cols, ncols, 0);
        put_bounds(d, r, cols, ncols, 1);
        sl_avro_put_union(d, 1);
        sl_avro_put_block(d, r->num_row_groups);
        for (int g = 0; g < r->num_row_groups; g++)
            sl_avro_put_long(d, r->row_group_offsets[g]);
        if (r->num_row_groups)
            sl_avro_put_block(d, 0);
        sl_avro_put_union(d, 0);
        if ((rc = sl_avro_end_datum(w, err))) {
            sl_avro_abort(w);
            return rc;
        }
        out->added_rows += r->num_rows;
    }
    out->added_files = nfiles;
    return manifest_close(w, uri, content, seq, snapshot_id, out, err);
}

static void put_entry(sl_buf *d, const ice_manifest_info *m)
{
    sl_avro_put_cstr(d, m->path);
    sl_avro_put_long(d, m->length);
    sl_avro_put_int(d, 0);
    sl_avro_put_int(d, m->content);
    sl_avro_put_long(d, m->seq);
    sl_avro_put_long(d, m->min_seq);
    sl_avro_put_long(d, m->snapshot_id);
    sl_avro_put_int(d, m->added_files);
    sl_avro_put_int(d, m->existing_files);
    sl_avro_put_int(d, m->deleted_files);
    sl_avro_put_long(d, m->added_rows);
    sl_avro_put_long(d, m->existing_rows);
    sl_avro_put_long(d, m->deleted_rows);
}

static int64_t get_long(const sl_avro_value *rec, const char *name)
{
    const sl_avro_value *v = sl_avro_get(rec, name);
    return sl_avro_is_null(v) ? 0 : v->u.l;
}

int ice_manifest_list_write(sl_wfile_batch *b, const char *local, const char *prev_local, const ice_manifest_info *add, int nadd,
                            int64_t snapshot_id, int64_t parent_id, int64_t seq, sl_err *err)
{
    return ice_manifest_list_rewrite(b, local, prev_local, NULL, NULL, add, nadd, snapshot_id, parent_id, seq, err);
}

int ice_manifest_list_rewrite(sl_wfile_batch *b, const char *local, const char *prev_local,
                              int (*keep)(const char *path, void *arg), void *arg, const ice_manifest_info *add,
                              int nadd, int64_t snapshot_id, int64_t parent_id, int64_t seq, sl_err *err)
{
    sl_avro_reader *r = NULL;
    int rc;
    if (prev_local && (rc = sl_avro_read_file(prev_local, &r, err)))
        return sl_err_prefix(err, rc, "iceberg sink: the previous manifest list %s: ", prev_local);
    sl_wfile *f;
    if ((rc = sl_wfile_open_local_batch(local, b, &f, err))) {
        sl_avro_read_close(r);
        return rc;
    }
    char sid[24], pid[24], sq[24];
    snprintf(sid, sizeof sid, "%lld", (long long)snapshot_id);
    snprintf(pid, sizeof pid, "%lld", (long long)parent_id);
    snprintf(sq, sizeof sq, "%lld", (long long)seq);
    sl_avro_meta meta[] = {{"snapshot-id", sid}, {"parent-snapshot-id", parent_id ? pid : "null"},
                           {"sequence-number", sq}, {"format-version", "2"}};
    sl_avro_writer *w;
    if ((rc = sl_avro_open(&w, f, LIST_SCHEMA, meta, 4, SL_AVRO_CODEC_DEFLATE, err))) {
        sl_avro_read_close(r);
        return rc;
    }
    const sl_avro_value *v;
    while (r && (rc = sl_avro_read_next(r, &v, err)) == 1) {
        const sl_avro_value *p = sl_avro_get(v, "manifest_path");
        if (!p)
            break;
        char *path = strndup((const char *)p->u.bytes.p, p->u.bytes.n);
        ice_manifest_info m = {
            .path = path,
            .length = get_long(v, "manifest_length"),
            .content = (int)get_long(v, "content"),
            .seq = get_long(v, "sequence_number"),
            .min_seq = get_long(v, "min_sequence_number"),
            .snapshot_id = get_long(v, "added_snapshot_id"),
            .added_files = (int32_t)get_long(v, "added_files_count"),
            .existing_files = (int32_t)get_long(v, "existing_files_count"),
            .deleted_files = (int32_t)get_long(v, "deleted_files_count"),
            .added_rows = get_long(v, "added_rows_count"),
            .existing_rows = get_long(v, "existing_rows_count"),
            .deleted_rows = get_long(v, "deleted_rows_count"),
        };
        if (!path) {
            rc = sl_errf(err, SL_ERUNTIME, "out of memory");
            break;
        }
        /* a manifest of nothing but DELETED entries tells only the
         * snapshot that wrote it what went: later lists leave it out */
        if ((keep && !keep(path, arg)) || (m.added_files + m.existing_files == 0 && m.deleted_files > 0)) {
            free(path);
            continue;
        }
        put_entry(sl_avro_datum(w), &m);
        free(path);
        if ((rc = sl_avro_end_datum(w, err)))
            break;
    }
    sl_avro_read_close(r);
    if (rc < 0) {
        sl_avro_abort(w);
        return rc;
    }
    for (int i = 0; i < nadd; i++) {
        put_entry(sl_avro_datum(w), &add[i]);
        if ((rc = sl_avro_end_datum(w, err))) {
            sl_avro_abort(w);
            return rc;
        }
    }
    uint64_t size;
    return sl_avro_close(w, &size, err);
}

int ice_manifest_each_entry(const ice_manifest_ref *m, int with_deleted,
                            int (*fn)(const ice_entry *e, void *arg, sl_err *err), void *arg, sl_err *err)
{
    const char *mlocal = ice_local_path(m->path);
    if (!mlocal)
        return sl_errf(err, SL_ERUNTIME, "manifest %s is not on the local filesystem", m->path);
    sl_avro_reader *r;
    int rc = sl_avro_read_file(mlocal, &r, err);
    if (rc)
        return rc;
    const sl_avro_value *e;
    int got;
    while ((got = sl_avro_read_next(r, &e, err)) == 1) {
        const sl_avro_value *st = sl_avro_get(e, "status"), *df = sl_avro_get(e, "data_file");
        const sl_avro_value *ct = df ? sl_avro_get(df, "content") : NULL, *fp = df ? sl_avro_get(df, "file_path") : NULL;
        if (!st || !fp) {
            rc = sl_errf(err, SL_ERUNTIME, "%s is not an Iceberg manifest", mlocal);
            break;
        }
        if (st->u.l == 2 && !with_deleted) /* DELETED */
            continue;
        char *uri = strndup((const char *)fp->u.bytes.p, fp->u.bytes.n);
        const sl_avro_value *sq = sl_avro_get(e, "sequence_number"), *fs = sl_avro_get(e, "file_sequence_number");
        ice_entry en = {
            .manifest = m,
            .content = ct && !sl_avro_is_null(ct) ? (int)ct->u.l : 0,
            .uri = uri,
            .record_count = get_long(df, "record_count"),
            .file_size = get_long(df, "file_size_in_bytes"),
            /* null: inherited from the manifest (the spec's rule) */
            .seq = sq && !sl_avro_is_null(sq) ? sq->u.l : m->seq,
            .file_seq = fs && !sl_avro_is_null(fs) ? fs->u.l : m->seq,
        };
        rc = uri ? fn(&en, arg, err) : sl_errf(err, SL_ERUNTIME, "out of memory");
        free(uri);
        if (rc)
            break;
    }
    if (!rc && got < 0)
        rc = got;
    sl_avro_read_close(r);
    return rc;
}

int ice_manifest_list_each(const char *list_local, int (*fn)(const ice_manifest_ref *m, void *arg, sl_err *err),
                           void *arg, sl_err *err)
{
    sl_avro_reader *lr;
    int rc = sl_avro_read_file(list_local, &lr, err);
    if (rc)
        return rc;
    const sl_avro_value *m;
    int got;
    while ((got = sl_avro_read_next(lr, &m, err)) == 1) {
        const sl_avro_value *mp = sl_avro_get(m, "manifest_path");
        char *uri = mp ? strndup((const char *)mp->u.bytes.p, mp->u.bytes.n) : NULL;
        ice_manifest_ref ref = {.path = uri, .content = (int)get_long(m, "content"), .seq = get_long(m, "sequence_number")};
        rc = uri ? fn(&ref, arg, err) : sl_errf(err, SL_ERUNTIME, "%s is not a manifest list", list_local);
        free(uri);
        if (rc)
            break;
    }
    if (!rc && got < 0)
        rc = got;
    sl_avro_read_close(lr);
    return rc;
}

typedef struct entries_arg {
    int (*fn)(const ice_entry *e, void *arg, sl_err *err);
    void *arg;
} entries_arg;

static int live_entries(const ice_manifest_ref *m, void *arg, sl_err *err)
{
    const entries_arg *a = arg;
    return ice_manifest_each_entry(m, 0, a->fn, a->arg, err);
}

int ice_manifest_entries(const char *list_local, int (*fn)(const ice_entry *e, void *arg, sl_err *err), void *arg,
                         sl_err *err)
{
    entries_arg a = {fn, arg};
    return ice_manifest_list_each(list_local, live_entries, &a, err);
}

typedef struct files_arg {
    int (*fn)(int content, const char *uri, void *arg, sl_err *err);
    void *arg;
} files_arg;

static int file_of(const ice_entry *e, void *arg, sl_err *err)
{
    const files_arg *a = arg;
    return a->fn(e->content, e->uri, a->arg, err);
}

int ice_manifest_files(const char *list_local, int (*fn)(int content, const char *uri, void *arg, sl_err *err),
                       void *arg, sl_err *err)
{
    files_arg a = {fn, arg};
    return ice_manifest_entries(list_local, file_of, &a, err);
}

int ice_manifest_write_deleted(sl_wfile_batch *b, const char *local, const char *uri, const char *schema_json,
                               int schema_id, int content, const ice_entry *const *gone, int n, int64_t snapshot_id,
                               int64_t seq, ice_manifest_info *out, sl_err *err)
{
    sl_avro_writer *w;
    int rc = manifest_open(b, local, schema_json, schema_id, content, &w, out, err);
    if (rc)
        return rc;
    for (int i = 0; i < n; i++) {
        const ice_entry *e = gone[i];
        sl_buf *d = sl_avro_datum(w);
        sl_avro_put_int(d, 2); /* DELETED, by this snapshot; its data sequence numbers kept */
        sl_avro_put_union(d, 1);
        sl_avro_put_long(d, snapshot_id);
        sl_avro_put_union(d, 1);
        sl_avro_put_long(d, e->seq);
        sl_avro_put_union(d, 1);
        sl_avro_put_long(d, e->file_seq);
        sl_avro_put_int(d, e->content);
        sl_avro_put_cstr(d, e->uri);
        sl_avro_put_cstr(d, "PARQUET");
        sl_avro_put_long(d, e->record_count);
        sl_avro_put_long(d, e->file_size);
        for (int k = 0; k < 6; k++) /* no column statistics: nobody reads a deleted entry's */
            sl_avro_put_union(d, 0);
        sl_avro_put_union(d, 0); /* split_offsets */
        sl_avro_put_union(d, 0); /* sort_order_id */
        if ((rc = sl_avro_end_datum(w, err))) {
            sl_avro_abort(w);
            return rc;
        }
        out->deleted_rows += e->record_count;
    }
    out->deleted_files = n;
    return manifest_close(w, uri, content, seq, snapshot_id, out, err);
}
