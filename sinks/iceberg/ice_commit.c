/* ice_commit.c — the end of one table's epoch: the open data file closed,
 * the position deletes sorted into their file, the manifests and the
 * manifest list written, and the table's part of the
 * transactions/commit (add-snapshot + set-snapshot-ref, guarded by
 * assert-ref-snapshot-id) built; then, once the catalog took it, the epoch
 * state reset. */
#define SL_LOG_COMPONENT "iceberg sink"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../core/clock.h"
#include "../../core/log.h"
#include "../../formats/parquet/parquet.h"
#include "ice_sink.h"

#define POS_FILE_ID 2147483546
#define POS_POS_ID 2147483545

static int by_file_pos(const void *a, const void *b)
{
    const ice_loc *x = a, *y = b;
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

#define MAX_RUNS 64

/* Deletes come in a few ascending runs: read back from a delete file, one
 * run; an epoch's, about one per statement (an UPDATE's old rows, then a
 * DELETE's). So the runs are found and merged pairwise, n log(runs), and
 * qsort is left for many runs. */
void ice_loc_sort(ice_loc *v, size_t n)
{
    size_t start[MAX_RUNS + 1], runs = 0;
    for (size_t i = 0; i < n && runs <= MAX_RUNS; i++)
        if (i == 0 || by_file_pos(&v[i - 1], &v[i]) > 0) {
            if (runs < MAX_RUNS)
                start[runs] = i;
            runs++;
        }
    if (runs <= 1)
        return;
    ice_loc *tmp = runs <= MAX_RUNS ? malloc(n * sizeof *tmp) : NULL;
    if (!tmp) {
        qsort(v, n, sizeof *v, by_file_pos);
        return;
    }
    start[runs] = n;
    while (runs > 1) {
        size_t out = 0;
        for (size_t r = 0; r < runs; r += 2) {
            start[out++] = start[r];
            if (r + 1 == runs)
                break; /* the last run, unpaired, stays */
            size_t a = start[r], m = start[r + 1], b = start[r + 2];
            size_t i = a, j = m, k = a;
            while (i < m && j < b)
                tmp[k++] = by_file_pos(&v[i], &v[j]) <= 0 ? v[i++] : v[j++];
            while (i < m)
                tmp[k++] = v[i++];
            while (j < b)
                tmp[k++] = v[j++];
            memcpy(&v[a], &tmp[a], (b - a) * sizeof *v);
        }
        runs = out;
        start[runs] = n;
    }
    free(tmp);
}

/* the deletes of one data file: t->dels[at .. at + n) after sorting by number */
typedef struct del_run {
    char *path;
    size_t at, n;
} del_run;

static int by_path(const void *a, const void *b)
{
    return strcmp(((const del_run *)a)->path, ((const del_run *)b)->path);
}

/* The spec wants position deletes sorted by file path, then position: the
 * deletes sorted by file number and position, cut into one run per data
 * file, the runs sorted by path (one index lookup per file, not per
 * comparison). */
static int write_deletes(ice_table *t, ice_datafile *out, sl_err *err)
{
    ice_loc_sort(t->dels, t->ndels);
    size_t nruns = 0;
    for (size_t i = 0; i < t->ndels; i++)
        nruns += i == 0 || t->dels[i].file != t->dels[i - 1].file;
    del_run *runs = calloc(nruns + 1, sizeof *runs);
    if (!runs)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    int rc = 0;
    size_t r = 0;
    for (size_t i = 0; i < t->ndels && !rc; i++) {
        if (i && t->dels[i].file == t->dels[i - 1].file) {
            runs[r - 1].n++;
            continue;
        }
        const char *p = ice_index_file_name(t->index, t->dels[i].file, &t->sink->name);
        runs[r] = (del_run){.path = p ? strdup(p) : NULL, .at = i, .n = 1};
        if (!runs[r++].path)
            rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s: data file number %d is not in the key index",
                         t->target, t->dels[i].file);
    }
    qsort(runs, rc ? 0 : nruns, sizeof *runs, by_path);
    char *local;
    char *uri = rc ? NULL : ice_new_file(t, "data", "-deletes.parquet", &local);
    if (!rc && !uri)
        rc = sl_errf(err, SL_ERUNTIME, "out of memory");
    sl_pq_column pc[2] = {
        {.name = "file_path", .field_id = POS_FILE_ID, .type = sl_pq_t_string(), .element_id = -1},
        {.name = "pos", .field_id = POS_POS_ID, .type = sl_pq_t_int64(), .element_id = -1},
    };
    sl_pq_options o;
    sl_pq_options_default(&o);
    o.codec = t->sink->codec;
    sl_wfile *f;
    sl_pq_writer *w = NULL;
    if (rc == 0 && (rc = sl_wfile_open_local_batch(local, &t->sink->batch, &f, err)) == 0)
        rc = sl_pq_open(&w, f, pc, 2, &o, err);
    for (size_t i = 0; rc == 0 && i < nruns; i++) {
        size_t len = strlen(runs[i].path);
        for (size_t j = runs[i].at; rc == 0 && j < runs[i].at + runs[i].n; j++)
            if ((rc = sl_pq_put_bytes(w, 0, runs[i].path, len)) == 0 && (rc = sl_pq_put_i64(w, 1, t->dels[j].pos)) == 0)
                rc = sl_pq_end_row(w, err);
    }
    for (size_t i = 0; i < nruns; i++)
        free(runs[i].path);
    free(runs);
    sl_pq_result *res = NULL;
    if (rc == 0)
        rc = sl_pq_close(w, &res, err);
    else if (w)
        sl_pq_abort(w);
    if (rc) {
        free(uri);
        return rc;
    }
    *out = (ice_datafile){.path = uri, .content = 1, .res = res};
    return 0;
}

static void free_info(ice_manifest_info *m, int n)
{
    for (int i = 0; i < n; i++)
        free(m[i].path);
}

int ice_table_prepare(ice_table *t, const char *checkpoint, json_t *changes, sl_err *err)
{
    ice_sink *k = t->sink;
    if (!t->dirty)
        return 0;
    int64_t t0 = sl_mono_us();
    int rc = ice_table_close_data(t, err);
    if (rc || (rc = ice_compact_own(t, err)))
        return rc;
    int64_t t1 = sl_mono_us();
    ice_datafile del = {0};
    if (t->ndels && (rc = write_deletes(t, &del, err)))
        return rc;
    int64_t t2 = sl_mono_us();
    k->us_data += t1 - t0;
    k->us_dels += t2 - t1;
    int64_t snap = ice_random_id(), seq = t->last_seq + 1;
    char *schema_json = json_dumps(t->schema, JSON_COMPACT);
    ice_manifest_info m[4];
    int nm = 0;
    char *local, *uri;
    ice_truncate_stats gone = {0};
    rc = t->truncated ? ice_truncate_manifests(t, schema_json, snap, seq, m, &nm, &gone, err) : 0;
    if (rc == 0 && t->nfiles) {
        uri = ice_new_file(t, "metadata", "-m0.avro", &local);
        rc = ice_manifest_write(&k->batch, local, uri, schema_json, t->schema_id, t->files, t->nfiles, snap, seq, t->cols,
                                t->ncols, &m[nm], err);
        nm += rc == 0;
        free(uri);
    }
    if (rc == 0 && del.path) {
        uri = ice_new_file(t, "metadata", "-m1.avro", &local);
        rc = ice_manifest_write(&k->batch, local, uri, schema_json, t->schema_id, &del, 1, snap, seq, t->cols, t->ncols, &m[nm],
                                err);
        nm += rc == 0;
        free(uri);
    }
    free(schema_json);
    char *list_uri = NULL;
    if (rc == 0) {
        list_uri = ice_new_file(t, "metadata", "-snap.avro", &local);
        /* a TRUNCATE's list starts afresh: nothing before it stays live */
        const char *prev = t->manifest_list && !t->truncated ? ice_local_path(t->manifest_list) : NULL;
        rc = ice_manifest_list_write(&k->batch, local, prev, m, nm, snap,
                                     t->snapshot_id, seq, err);
    }
    k->us_meta += sl_mono_us() - t2;
    int64_t added = 0;
    for (int i = 0; i < t->nfiles; i++)
        added += t->files[i].res->num_rows;
    if (rc == 0) {
        char pos[80], n1[24], n2[24], n3[24];
        snprintf(pos, sizeof pos, "%" PRIu64 ":%" PRIu64 ":%u", k->epoch_pos.hi, k->epoch_pos.lo, k->epoch_pos.idx);
        snprintf(n1, sizeof n1, "%d", t->nfiles);
        snprintf(n2, sizeof n2, "%" PRId64, added);
        snprintf(n3, sizeof n3, "%zu", t->ndels);
        const char *op = t->truncated ? (t->nfiles || t->ndels ? "overwrite" : "delete")
                                      : t->ndels ? "overwrite" : "append";
        json_t *summary = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "operation", op, "sluice.pipeline", k->pipeline,
                                    "sluice.checkpoint", checkpoint, "sluice.position", pos, "added-data-files", n1,
                                    "added-records", n2, "added-position-deletes", n3);
        if (t->truncated)
            ice_truncate_summary(summary, &gone);
        json_t *snapshot = json_pack("{s:I, s:I, s:I, s:s, s:o, s:i}", "snapshot-id", (json_int_t)snap,
                                     "sequence-number", (json_int_t)seq, "timestamp-ms",
                                     (json_int_t)sl_wall_ms(), "manifest-list", list_uri, "summary", summary,
                                     "schema-id", t->schema_id);
        if (t->snapshot_id)
            json_object_set_new(snapshot, "parent-snapshot-id", json_integer(t->snapshot_id));
        json_t *req = json_pack("{s:s, s:s, s:I}", "type", "assert-ref-snapshot-id", "ref", "main", "snapshot-id",
                                (json_int_t)t->snapshot_id);
        if (!t->snapshot_id)
            json_object_set_new(req, "snapshot-id", json_null());
        json_t *change = json_pack("{s:{s:o, s:s}, s:[o], s:[{s:s, s:o}, {s:s, s:s, s:s, s:I}]}", "identifier",
                                   "namespace", ice_ns_json(t->ns), "name", t->name, "requirements", req, "updates", "action",
                                   "add-snapshot", "snapshot", snapshot, "action", "set-snapshot-ref", "ref-name",
                                   "main", "type", "branch", "snapshot-id", (json_int_t)snap);
        json_array_append_new(changes, change);
        /* what ice_table_committed makes current */
        t->last_seq = seq;
        free(t->manifest_list);
        t->manifest_list = list_uri;
        list_uri = NULL;
        t->snapshot_id = snap;
    }
    free_info(m, nm);
    free(list_uri);
    free(del.path);
    sl_pq_result_free(del.res);
    return rc;
}

int ice_table_committed(ice_table *t, sl_err *err)
{
    ice_sink *k = t->sink;
    /* the index describes the snapshot the catalog just made current; a
     * crash before this commit leaves it tagged with the previous one, so
     * the next start sees it stale and rebuilds it */
    int rc = t->dirty ? ice_index_commit(t->index, t->snapshot_id, err) : 0;
    for (int i = 0; i < t->nfiles; i++) {
        free(t->files[i].path);
        sl_pq_result_free(t->files[i].res);
    }
    t->nfiles = 0;
    t->ndels = 0;
    t->truncated = 0;
    if (t->dirty && k->has_epoch_pos) {
        t->pos = k->epoch_pos;
        t->has_pos = 1;
    }
    t->dirty = 0;
    return rc;
}


int ice_table_commit_own(ice_table *t, json_t *change, const char *what, sl_err *err)
{
    ice_sink *k = t->sink;
    int rc = k->cat.ops->commit(k->cat.self, change, NULL, err);
    if (rc == ICE_CONFLICT) {
        char msg[SL_ERRLEN];
        snprintf(msg, sizeof msg, "%s", err->msg);
        rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s of %s refused: another writer changed the table since "
                     "sluice loaded it (%s); sluice must be the only writer of its tables", what, t->target, msg);
    }
    return rc;
}
