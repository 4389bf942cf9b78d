/* ice_compact.c — table maintenance after an epoch: the small data files
 * the epochs leave (one per epoch) and the position deletes on them
 * rewritten into target-sized Parquet files, committed as an Iceberg
 * "replace" snapshot through the same guarded catalog swap as an epoch.
 * Readers then open a few files instead of one data and one delete file
 * per epoch; DuckDB's count(*) stays near a single Parquet file's.
 *
 * What is rewritten. The unit is a data manifest (sluice writes one per
 * epoch, and one per compacted file), so a replace never has to carry
 * EXISTING entries over: a manifest is kept whole or dropped whole.
 *  - small manifests (every file below 3/4 of the target size), size-tiered:
 *    sorted by bytes, a manifest joins while it is at most twice the bytes
 *    before it, so a big compacted file is rewritten only once the small
 *    ones add up to half of it (each row is rewritten O(log n) times, not
 *    once per compaction);
 *  - any file whose position deletes cover compaction.delete-ratio of its
 *    rows (or all of them: the file just goes).
 * It runs when that selects compaction.min-input-files data files, or a
 * file over the delete ratio. A delete file whose every row points into a
 * rewritten file goes too (a delete manifest when all of its files go);
 * others stay (they apply to older files only: the new files have a newer
 * sequence number).
 *
 * Streaming: one input row group and one output row group in memory. The
 * deletes are held in memory, sorted, when there are at most MEM_DELETES of
 * them, and walked beside the rows; more go into the key index's on-disk
 * delete set, as in a rebuild, so memory stays bounded.
 *
 * The key index. Each rewritten row's key moves to its new (file, row).
 * The index's tag is cleared (committed -1) before anything changes, the
 * moves are committed with the replace snapshot's id after the catalog
 * accepted it: a crash anywhere in between leaves an untagged index, which
 * the next start rebuilds from the table — never a stale position. A row
 * whose key the index places elsewhere stops the compaction (and the index
 * is rebuilt) rather than write a wrong position delete later.
 *
 * The snapshot's summary keeps the table's sluice.pipeline, sluice.position
 * and sluice.checkpoint (compaction runs right after the epoch commit that
 * wrote them), so restart and the single-writer check read it like any
 * other. */
#define SL_LOG_COMPONENT "iceberg sink"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../core/buf.h"
#include "../../core/clock.h"
#include "../../core/log.h"
#include "../../formats/parquet/pq_reader.h"
#include "ice_compact.h"
#include "ice_sink.h"

#define ROWS_PER_TXN 50000
#define MEM_DELETES (1 << 20) /* 16 MiB of (file, pos) */

typedef struct cfile {
    ice_entry e;       /* uri owned; manifest points into plan.mans */
    int man;
    int32_t id;        /* in the key index */
    int64_t deleted;   /* data: rows the position deletes remove */
    int32_t *refs;     /* deletes: the data files it names (runs) */
    size_t nrefs, caprefs;
} cfile;

typedef struct cman {
    ice_manifest_ref ref; /* path owned */
    int sel;           /* data: rewritten; deletes: every file dropped */
} cman;

typedef struct plan {
    ice_table *t;
    cfile *f;
    size_t nf, capf;
    cman *m;
    size_t nm, capm;
    int32_t *idmap;    /* index file id -> data cfile + 1 */
    size_t nidmap;
    size_t cur_del;    /* the delete file being read */
    int mem;           /* deletes in mdel, not in the index's delete set */
    ice_loc *mdel;     /* sorted by file, then position */
    size_t nmdel, capmdel;
} plan;

static void plan_free(plan *p)
{
    for (size_t i = 0; i < p->nf; i++) {
        free((char *)p->f[i].e.uri);
        free(p->f[i].refs);
    }
    for (size_t i = 0; i < p->nm; i++)
        free((char *)p->m[i].ref.path);
    free(p->f);
    free(p->m);
    free(p->idmap);
    free(p->mdel);
}

static int collect(const ice_entry *e, void *arg, sl_err *err)
{
    plan *p = arg;
    if (e->content == 2)
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s is an equality delete file; sluice's compaction "
                       "handles position deletes only", e->uri);
    if (!p->nm || strcmp(p->m[p->nm - 1].ref.path, e->manifest->path)) {
        if (sl_grow((void **)&p->m, &p->capm, p->nm + 1, sizeof *p->m))
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        cman *m = &p->m[p->nm];
        *m = (cman){.ref = *e->manifest};
        if (!(m->ref.path = strdup(e->manifest->path)))
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        p->nm++;
    }
    if (sl_grow((void **)&p->f, &p->capf, p->nf + 1, sizeof *p->f))
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    cfile *f = &p->f[p->nf];
    *f = (cfile){.e = *e, .man = (int)p->nm - 1, .id = -1};
    if (!(f->e.uri = strdup(e->uri)))
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    p->nf++;
    return 0;
}

/* ----------------------------------------------------------- choosing -- */

void ice_compact_tier(const int64_t *bytes, int n, int *chosen)
{
    /* indexes sorted by bytes (insertion sort: a few dozen manifests) */
    int *ord = malloc((size_t)(n + 1) * sizeof *ord);
    for (int i = 0; i < n; i++)
        chosen[i] = 0;
    if (!ord)
        return;
    for (int i = 0; i < n; i++) {
        int j = i;
        while (j > 0 && bytes[ord[j - 1]] > bytes[i]) {
            ord[j] = ord[j - 1];
            j--;
        }
        ord[j] = i;
    }
    int64_t sum = 0;
    for (int k = 0; k < n; k++) {
        if (k && bytes[ord[k]] > 2 * sum)
            break;
        chosen[ord[k]] = 1;
        sum += bytes[ord[k]];
    }
    free(ord);
}

int ice_compact_ratio_due(int64_t rows, int64_t deleted, double ratio)
{
    return rows > 0 && deleted > 0 && (deleted >= rows || (double)deleted >= ratio * (double)rows);
}

/* the small data manifests, tiered: marks them sel; returns the files */
static size_t choose_small(plan *p, int64_t target)
{
    int64_t *bytes = calloc(p->nm + 1, sizeof *bytes);
    int *small = calloc(p->nm + 1, sizeof *small), *chosen = calloc(p->nm + 1, sizeof *chosen);
    int *which = calloc(p->nm + 1, sizeof *which);
    size_t nsel = 0;
    if (bytes && small && chosen && which) {
        for (size_t i = 0; i < p->nm; i++)
            small[i] = p->m[i].ref.content == 0;
        for (size_t i = 0; i < p->nf; i++) {
            const cfile *f = &p->f[i];
            bytes[f->man] += f->e.file_size;
            if (f->e.file_size * 4 >= target * 3)
                small[f->man] = 0;
        }
        int n = 0;
        for (size_t i = 0; i < p->nm; i++)
            if (small[i]) {
                which[n] = (int)i;
                bytes[n++] = bytes[i];
            }
        ice_compact_tier(bytes, n, chosen);
        for (int k = 0; k < n; k++)
            p->m[which[k]].sel = chosen[k];
        for (size_t i = 0; i < p->nf; i++)
            nsel += p->f[i].e.content == 0 && p->m[p->f[i].man].sel;
    }
    free(bytes);
    free(small);
    free(chosen);
    free(which);
    return nsel;
}

/* a position delete (file, pos) read from the delete file p->cur_del */
static int on_delete(int32_t id, int64_t pos, void *arg, sl_err *err)
{
    plan *p = arg;
    if (id < 0 || (size_t)id >= p->nidmap || !p->idmap[id])
        return 0; /* a file no longer live */
    p->f[p->idmap[id] - 1].deleted++;
    if (p->mem) {
        if (sl_grow((void **)&p->mdel, &p->capmdel, p->nmdel + 1, sizeof *p->mdel))
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        p->mdel[p->nmdel++] = (ice_loc){id, pos};
    }
    cfile *d = &p->f[p->cur_del];
    if (d->nrefs && d->refs[d->nrefs - 1] == id)
        return 0;
    if (sl_grow((void **)&d->refs, &d->caprefs, d->nrefs + 1, sizeof *d->refs))
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    d->refs[d->nrefs++] = id;
    return 0;
}

/* every data file interned, then every delete file read (and counted per
 * data file) into memory, or when there are too many into the index's
 * delete set */
static int read_deletes(plan *p, sl_err *err)
{
    ice_table *t = p->t;
    for (size_t i = 0; i < p->nf; i++) {
        if (p->f[i].e.content)
            continue;
        int32_t id = ice_index_file(t->index, p->f[i].e.uri, err);
        if (id < 0)
            return SL_ERUNTIME;
        p->f[i].id = id;
        size_t had = p->nidmap;
        if (sl_grow((void **)&p->idmap, &p->nidmap, (size_t)id + 1, sizeof *p->idmap))
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        memset(p->idmap + had, 0, (p->nidmap - had) * sizeof *p->idmap);
        p->idmap[id] = (int32_t)i + 1;
    }
    int64_t ops = 0, total = 0;
    for (size_t i = 0; i < p->nf; i++)
        total += p->f[i].e.content ? p->f[i].e.record_count : 0;
    p->mem = total <= MEM_DELETES;
    for (size_t i = 0; i < p->nf; i++) {
        if (!p->f[i].e.content)
            continue;
        p->cur_del = i;
        int rc = ice_read_pos_deletes(t, p->f[i].e.uri, !p->mem, &ops, on_delete, p, err);
        if (rc)
            return rc;
    }
    if (p->nmdel)
        ice_loc_sort(p->mdel, p->nmdel);
    return 0;
}

/* the in-memory deletes of file id, walked as its rows are read */
typedef struct del_walk {
    const ice_loc *v, *end;
} del_walk;

static del_walk del_walk_of(const plan *p, int32_t id)
{
    if (!p->nmdel)
        return (del_walk){NULL, NULL};
    size_t lo = 0, hi = p->nmdel;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->mdel[mid].file < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    del_walk w = {p->mdel + lo, p->mdel + lo};
    while (w.end < p->mdel + p->nmdel && w.end->file == id)
        w.end++;
    return w;
}

/* 1 when row pos (rows come in order) is deleted, 0 when live, < 0 on error */
static int row_deleted(const plan *p, del_walk *w, const cfile *f, int64_t pos, sl_err *err)
{
    if (!f->deleted)
        return 0;
    if (!p->mem)
        return ice_index_is_deleted(p->t->index, f->id, pos, err);
    while (w->v < w->end && w->v->pos < pos)
        w->v++;
    return w->v < w->end && w->v->pos == pos;
}

/* ---------------------------------------------------------- rewriting -- */

typedef struct out {
    ice_table *t;
    int64_t target;
    sl_pq_writer *w;
    char *uri;
    int32_t id;
    ice_datafile *files;
    int n, cap;
    int64_t rows, ops;
    int in_epoch;      /* the epoch's own file: no key moves, a rewrite map instead */
} out;

static int out_close(out *o, sl_err *err)
{
    if (!o->w)
        return 0;
    sl_pq_result *res;
    int rc = sl_pq_close(o->w, &res, err);
    o->w = NULL;
    if (rc)
        return rc;
    if (o->n == o->cap) {
        int c = o->cap ? o->cap * 2 : 4;
        ice_datafile *f = realloc(o->files, (size_t)c * sizeof *f);
        if (!f) {
            sl_pq_result_free(res);
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        }
        o->files = f;
        o->cap = c;
    }
    o->files[o->n++] = (ice_datafile){.path = o->uri, .content = 0, .res = res};
    o->uri = NULL;
    return 0;
}

static int out_open(out *o, sl_err *err)
{
    char *local;
    o->uri = ice_new_file(o->t, "data", "-c.parquet", &local);
    if (!o->uri)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    int rc = ice_open_writer(o->t, local, &o->w, err);
    if (rc)
        return rc;
    o->id = ice_index_file(o->t->index, o->uri, err);
    return o->id < 0 ? SL_ERUNTIME : 0;
}

/* one value of an older file as column c holds it now (a file written
 * before int -> long, float -> double or a decimal widening holds the
 * narrower type) */
static int put_value(sl_pq_writer *w, int col, const ice_col *c, int physical, const sl_pq_rvalue *v)
{
    if (!v)
        return sl_pq_put_null(w, col);
    if (c->pq.logical == SL_PQ_LT_DECIMAL)
        return sl_pq_put_decimal(w, col, ice_unscaled(physical, v));
    switch (c->pq.physical) {
    case SL_PQ_BOOLEAN:
        return sl_pq_put_bool(w, col, (int)v->i);
    case SL_PQ_INT32:
        return sl_pq_put_i32(w, col, (int32_t)v->i);
    case SL_PQ_INT64:
        return sl_pq_put_i64(w, col, v->i);
    case SL_PQ_FLOAT:
        return sl_pq_put_float(w, col, (float)v->d);
    case SL_PQ_DOUBLE:
        return sl_pq_put_double(w, col, v->d);
    default:
        return sl_pq_put_bytes(w, col, v->p, v->n);
    }
}

/* the key of row `row` of f, read into key, now names row pos of o's file */
static int move_key(out *o, const cfile *f, int64_t row, int64_t pos, const sl_buf *key, sl_err *err)
{
    ice_table *t = o->t;
    if (key->failed)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    ice_loc old;
    int rc = ice_index_swap(t->index, key->data, key->len, (ice_loc){o->id, pos}, &old, err);
    if (rc < 0)
        return rc;
    if (rc == 0 || old.file != f->id || old.pos != row)
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s: the key index does not place row %" PRId64 " of %s "
                       "where it is; compaction stopped, the index is rebuilt", t->target, row, f->e.uri);
    /* committed (still untagged) every so many rows: the transaction's
     * dirty pages and the map's pages it read leave RSS */
    return ++o->ops % ROWS_PER_TXN == 0 ? ice_index_commit(t->index, -1, err) : 0;
}

static int rewrite_file(out *o, const plan *p, const cfile *f, sl_buf *key, sl_err *err)
{
    ice_table *t = o->t;
    const char *local = ice_local_path(f->e.uri);
    if (!local)
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s: file %s is not on the local filesystem", t->target,
                       f->e.uri);
    sl_pq_reader *r;
    int rc = sl_pq_reader_open(local, &r, err);
    if (rc)
        return rc;
    int *pk = NULL, *pc = calloc((size_t)t->ncols + 1, sizeof *pc);
    if (!pc)
        rc = sl_errf(err, SL_ERUNTIME, "out of memory");
    for (int i = 0; !rc && i < t->ncols; i++) {
        pc[i] = sl_pq_reader_find(r, t->cols[i].field_id);
        if (pc[i] >= 0 && sl_pq_reader_column(r, pc[i])->is_list)
            rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s: column %s of %s is a list; compaction copies "
                         "primitive columns only (set compaction.enabled: false)", t->target, t->cols[i].name,
                         f->e.uri);
        else if (pc[i] < 0 && t->cols[i].required)
            rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s: data file %s has no column %s, which is required",
                         t->target, f->e.uri, t->cols[i].name);
    }
    if (!rc && !o->in_epoch)
        rc = ice_key_columns(t, r, f->e.uri, &pk, err);
    int64_t base = 0;
    del_walk dw = del_walk_of(p, f->id);
    for (int g = 0; !rc && g < sl_pq_reader_num_row_groups(r); g++) {
        int64_t n = sl_pq_reader_load(r, g, err);
        if (n < 0)
            rc = (int)n;
        for (int64_t row = 0; !rc && row < n; row++) {
            if ((rc = row_deleted(p, &dw, f, base + row, err))) {
                rc = rc < 0 ? rc : 0;
                continue;
            }
            if (!o->w && (rc = out_open(o, err)))
                break;
            int64_t pos = sl_pq_num_rows(o->w);
            for (int i = 0; !rc && i < t->ncols; i++)
                rc = put_value(o->w, i, &t->cols[i], pc[i] >= 0 ? sl_pq_reader_column(r, pc[i])->physical : 0,
                               pc[i] >= 0 ? sl_pq_reader_value(r, pc[i], row) : NULL);
            if (rc || (rc = sl_pq_end_row(o->w, err)))
                break;
            o->rows++;
            if (!o->in_epoch) {
                ice_key_read(t, r, pk, row, key);
                rc = move_key(o, f, base + row, pos, key, err);
            }
            if (!rc && sl_pq_size_estimate(o->w) >= (uint64_t)o->target)
                rc = out_close(o, err);
        }
        base += n;
    }
    free(pc);
    free(pk);
    sl_pq_reader_close(r);
    return rc;
}

/* ------------------------------------------------------------ commit -- */

static int keep_manifest(const char *path, void *arg)
{
    const plan *p = arg;
    for (size_t i = 0; i < p->nm; i++)
        if (!strcmp(p->m[i].ref.path, path))
            return !p->m[i].sel;
    return 1;
}

/* the manifests and the list of the replace snapshot, and its commit */
static int commit_replace(plan *p, out *o, const char *checkpoint, int64_t in_files, int64_t in_dels, int *sent,
                          sl_err *err)
{
    ice_table *t = p->t;
    ice_sink *k = t->sink;
    int64_t snap = ice_random_id(), seq = t->last_seq + 1;
    char *schema_json = json_dumps(t->schema, JSON_COMPACT);
    int cap = o->n + 3;
    ice_manifest_info *m = calloc((size_t)cap, sizeof *m);
    const ice_entry **gone = calloc(p->nf + 1, sizeof *gone);
    int nm = 0, rc = schema_json && m && gone ? 0 : sl_errf(err, SL_ERUNTIME, "out of memory");
    char *local, *uri;
    /* one manifest per new file: a later compaction drops exactly the
     * files it rewrites */
    for (int i = 0; !rc && i < o->n; i++) {
        if (!(uri = ice_new_file(t, "metadata", "-mc.avro", &local)))
            rc = sl_errf(err, SL_ERUNTIME, "out of memory");
        else
            rc = ice_manifest_write(&k->batch, local, uri, schema_json, t->schema_id, &o->files[i], 1, snap, seq,
                                    t->cols, t->ncols, &m[nm], err);
        nm += rc == 0;
        free(uri);
    }
    for (int content = 0; content < 2 && !rc; content++) {
        int n = 0;
        for (size_t i = 0; i < p->nf; i++)
            if (p->f[i].e.content == content && p->m[p->f[i].man].sel)
                gone[n++] = &p->f[i].e;
        if (!n)
            continue;
        if (!(uri = ice_new_file(t, "metadata", content ? "-md1.avro" : "-md0.avro", &local)))
            rc = sl_errf(err, SL_ERUNTIME, "out of memory");
        else
            rc = ice_manifest_write_deleted(&k->batch, local, uri, schema_json, t->schema_id, content, gone, n, snap,
                                            seq, &m[nm], err);
        nm += rc == 0;
        free(uri);
    }
    free(gone);
    free(schema_json);
    char *list_uri = NULL;
    if (!rc) {
        if (!(list_uri = ice_new_file(t, "metadata", "-snap.avro", &local)))
            rc = sl_errf(err, SL_ERUNTIME, "out of memory");
        else
            rc = ice_manifest_list_rewrite(&k->batch, local, ice_local_path(t->manifest_list), keep_manifest, p, m,
                                           nm, snap, t->snapshot_id, seq, err);
    }
    if (!rc)
        rc = sl_wfile_batch_sync(&k->batch, err);
    json_t *change = NULL;
    if (!rc) {
        char pos[80], n1[24], n2[24], n3[24], n4[24];
        snprintf(pos, sizeof pos, "%" PRIu64 ":%" PRIu64 ":%u", t->pos.hi, t->pos.lo, t->pos.idx);
        snprintf(n1, sizeof n1, "%d", o->n);
        snprintf(n2, sizeof n2, "%" PRId64, o->rows);
        snprintf(n3, sizeof n3, "%" PRId64, in_files);
        snprintf(n4, sizeof n4, "%" PRId64, in_dels);
        json_t *summary = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "operation", "replace",
                                    "sluice.pipeline", k->pipeline, "sluice.checkpoint", checkpoint,
                                    "added-data-files", n1, "added-records", n2, "deleted-data-files", n3,
                                    "removed-delete-files", n4);
        if (t->has_pos)
            json_object_set_new(summary, "sluice.position", json_string(pos));
        json_t *snapshot = json_pack("{s:I, s:I, s:I, s:I, s:s, s:o, s:i}", "snapshot-id", (json_int_t)snap,
                                     "parent-snapshot-id", (json_int_t)t->snapshot_id, "sequence-number",
                                     (json_int_t)seq, "timestamp-ms", (json_int_t)sl_wall_ms(),
                                     "manifest-list", list_uri, "summary", summary, "schema-id", t->schema_id);
        /* the namespace as the epoch's commit sends it (levels split) */
        change = json_pack("[{s:{s:o, s:s}, s:[{s:s, s:s, s:I}], s:[{s:s, s:o}, {s:s, s:s, s:s, s:I}]}]",
                           "identifier", "namespace", ice_ns_json(t->ns), "name", t->name, "requirements", "type",
                           "assert-ref-snapshot-id", "ref", "main", "snapshot-id", (json_int_t)t->snapshot_id,
                           "updates", "action", "add-snapshot", "snapshot", snapshot, "action", "set-snapshot-ref",
                           "ref-name", "main", "type", "branch", "snapshot-id", (json_int_t)snap);
        if (!change)
            rc = sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    if (!rc) {
        *sent = 1;
        rc = ice_table_commit_own(t, change, "compaction commit", err);
        if (rc == 0) {
            t->last_seq = seq;
            free(t->manifest_list);
            t->manifest_list = list_uri;
            list_uri = NULL;
            t->snapshot_id = snap;
        }
    }
    json_decref(change);
    for (int i = 0; i < nm; i++)
        free(m[i].path);
    free(m);
    free(list_uri);
    return rc;
}

/* -------------------------------------------------------------- entry -- */

static void out_free(out *o, int unlink_files)
{
    if (o->w)
        sl_pq_abort(o->w);
    for (int i = 0; i < o->n; i++) {
        if (unlink_files && ice_local_path(o->files[i].path))
            unlink(ice_local_path(o->files[i].path));
        free(o->files[i].path);
        sl_pq_result_free(o->files[i].res);
    }
    free(o->files);
    free(o->uri);
}

/* the table's first list column, or NULL */
static const char *list_column(const ice_table *t)
{
    json_t *fields = json_object_get(t->schema, "fields");
    for (size_t i = 0; i < json_array_size(fields); i++)
        if (json_is_object(json_object_get(json_array_get(fields, i), "type")))
            return json_string_value(json_object_get(json_array_get(fields, i), "name"));
    return NULL;
}

/* room in t->files for replacing one file by o's */
static int reserve_files(ice_table *t, const out *o, sl_err *err)
{
    int need = t->nfiles - 1 + o->n;
    if (need <= t->capfiles)
        return 0;
    ice_datafile *nf = realloc(t->files, (size_t)need * sizeof *nf);
    if (!nf)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    t->files = nf;
    t->capfiles = need;
    return 0;
}

/* t->files[i] replaced by o's files (none when every row was deleted),
 * room reserved */
static void replace_own_file(ice_table *t, int i, out *o)
{
    ice_datafile old = t->files[i];
    memmove(&t->files[i + o->n], &t->files[i + 1], (size_t)(t->nfiles - i - 1) * sizeof *t->files);
    if (o->n)
        memcpy(&t->files[i], o->files, (size_t)o->n * sizeof *o->files);
    t->nfiles += o->n - 1;
    o->n = 0;
    /* never in a snapshot: it just goes */
    if (ice_local_path(old.path))
        unlink(ice_local_path(old.path));
    free(old.path);
    sl_pq_result_free(old.res);
}

/* the key index told where f's live rows went: o's files, in order */
static int remap_own_file(ice_table *t, const cfile *f, int64_t nrows, const ice_loc *dels, size_t nd, const out *o,
                          sl_err *err)
{
    int32_t *ids = malloc((size_t)o->n * sizeof *ids);
    int64_t *rows = malloc((size_t)o->n * sizeof *rows);
    int rc = ids && rows ? 0 : sl_errf(err, SL_ERUNTIME, "out of memory");
    for (int j = 0; !rc && j < o->n; j++) {
        rows[j] = o->files[j].res->num_rows;
        if ((ids[j] = ice_index_file(t->index, o->files[j].path, err)) < 0)
            rc = SL_ERUNTIME;
    }
    if (!rc)
        rc = ice_index_remap(t->index, f->id, nrows, dels, nd, ids, rows, o->n, err);
    free(ids);
    free(rows);
    return rc;
}

/* An epoch whose own rows it updated or deleted in bulk would otherwise
 * commit a file and position deletes on it, and its compaction would read
 * both back and commit again right after. Rewriting such a file before the
 * commit, from the deletes still in memory, writes live rows only: no
 * delete file, no read back, one commit. The keys are not moved: one
 * rewrite map in the epoch's index transaction tells where the rows went
 * (ice_remap.c). It commits with the epoch's snapshot or rolls back with
 * it, so a refused or crashed epoch leaves the index as it was, and a
 * rewrite that fails before it leaves the index untouched. */
int ice_compact_own(ice_table *t, sl_err *err)
{
    ice_sink *k = t->sink;
    const sl_options *opts = k->opts;
    /* the same tables ice_compact_table rewrites: the epoch's files before
     * a dropped column went hold its values, which the bound columns lack */
    if (!t->ndels || !sl_opt_num(opts, "compaction.enabled") || t->compact_off || !t->index || !t->src ||
        !t->npk || list_column(t) || json_array_size(json_object_get(t->schema, "fields")) != (size_t)t->ncols)
        return 0;
    double ratio = (double)sl_opt_num(opts, "compaction.delete-ratio-percent") / 100.0;
    int64_t target = sl_opt_num(opts, "compaction.target-file-size");
    ice_loc_sort(t->dels, t->ndels);
    for (int i = 0; i < t->nfiles; i++) {
        ice_datafile *d = &t->files[i];
        if (d->content)
            continue;
        int32_t id = ice_index_file(t->index, d->path, err);
        if (id < 0)
            return SL_ERUNTIME;
        plan p = {.t = t, .mem = 1, .mdel = t->dels, .nmdel = t->ndels};
        del_walk w = del_walk_of(&p, id);
        size_t at = (size_t)(w.v - t->dels), nd = (size_t)(w.end - w.v);
        if (!ice_compact_ratio_due(d->res->num_rows, (int64_t)nd, ratio))
            continue;
        cfile f = {.e = {.uri = d->path}, .id = id, .deleted = (int64_t)nd};
        out o = {.t = t, .target = target, .in_epoch = 1};
        int64_t t0 = sl_mono_us();
        /* a rewrite that fails (a full disk) leaves the epoch to commit its
         * file and deletes as written */
        sl_err e;
        int rw = rewrite_file(&o, &p, &f, &k->key, &e);
        if (!rw && !(rw = out_close(&o, &e)) && !(rw = reserve_files(t, &o, &e)) && o.n)
            rw = remap_own_file(t, &f, d->res->num_rows, &t->dels[at], nd, &o, &e);
        if (rw) {
            sl_warn("%s: the epoch's file %s is committed with its position deletes: rewriting it failed (%s); "
                    "compaction of the table is off until the next start", t->target, d->path, e.msg);
            out_free(&o, 1);
            t->compact_off = 1;
            return 0;
        }
        int n = o.n;
        sl_info("%s: the epoch's file %s rewritten without its %zu deleted rows (%" PRId64 " rows, %d files), "
                "%.1f ms", t->target, d->path, nd, o.rows, n, (double)(sl_mono_us() - t0) / 1000);
        replace_own_file(t, i, &o);
        memmove(&t->dels[at], &t->dels[at + nd], (t->ndels - at - nd) * sizeof *t->dels);
        t->ndels -= nd;
        i += n - 1;
        out_free(&o, 0);
    }
    return 0;
}

int ice_compact_table(ice_table *t, const char *checkpoint, sl_err *err)
{
    ice_sink *k = t->sink;
    const sl_options *opts = k->opts;
    if (!sl_opt_num(opts, "compaction.enabled") || t->compact_off || !t->manifest_list || !t->index || !t->src ||
        !t->npk)
        return 0;
    int64_t min_files = sl_opt_num(opts, "compaction.min-input-files"),
            target = sl_opt_num(opts, "compaction.target-file-size");
    double ratio = (double)sl_opt_num(opts, "compaction.delete-ratio-percent") / 100.0;
    const char *list = ice_local_path(t->manifest_list);
    if (!list)
        return 0;
    /* a field the source dropped is still in the table (optional) and in
     * older files: rewriting with the bound columns only would lose its
     * values, so such a table is not compacted */
    json_t *fields = json_object_get(t->schema, "fields");
    if (json_array_size(fields) != (size_t)t->ncols) {
        sl_info("%s: not compacted: the table has columns the source no longer has", t->target);
        t->compact_off = 1;
        return 0;
    }
    /* compaction copies primitive columns only (a PostgreSQL array is a
     * list): such a table keeps its files as written */
    const char *list_col = list_column(t);
    if (list_col) {
        sl_info("%s: not compacted: column %s is a list", t->target, list_col);
        t->compact_off = 1;
        return 0;
    }
    int64_t t0 = sl_mono_us();
    plan p = {.t = t};
    int rc = ice_manifest_entries(list, collect, &p, err);
    size_t ndel = 0;
    int64_t data_rows = 0, del_rows = 0;
    for (size_t i = 0; i < p.nf; i++) {
        ndel += p.f[i].e.content == 1;
        *(p.f[i].e.content ? &del_rows : &data_rows) += p.f[i].e.record_count;
    }
    size_t nsel = rc ? 0 : choose_small(&p, target);
    /* the deletes are read (a cost per epoch) when files are due anyway,
     * when delete files piled up, or when they remove enough rows that some
     * file must be over the ratio — each only once per new delete file
     * since the last look found nothing */
    int read_dels = ndel && ((int64_t)nsel >= min_files || (int64_t)ndel >= t->compact_dels_seen + min_files ||
                             ((int)ndel > t->compact_dels_seen && ice_compact_ratio_due(data_rows, del_rows, ratio)));
    if (rc || (!read_dels && (int64_t)nsel < min_files)) {
        plan_free(&p);
        return rc;
    }
    /* from here the index is untagged until the replace commits: a crash
     * leaves it to be rebuilt */
    int untagged = 1;
    rc = ice_index_commit(t->index, -1, err);
    if (!rc && read_dels)
        rc = read_deletes(&p, err);
    int due = 0;
    for (size_t i = 0; !rc && i < p.nf; i++) {
        cfile *f = &p.f[i];
        if (f->e.content == 0 && ice_compact_ratio_due(f->e.record_count, f->deleted, ratio))
            p.m[f->man].sel = due = 1;
    }
    int64_t in_files = 0, in_dels = 0;
    for (size_t i = 0; !rc && i < p.nf; i++)
        in_files += p.f[i].e.content == 0 && p.m[p.f[i].man].sel;
    if (!rc && in_files < min_files && !due) {
        /* nothing worth a rewrite: the index as it was */
        t->compact_dels_seen = (int)ndel;
        if (!(rc = ice_index_drop_dels(t->index, err)))
            rc = ice_index_commit(t->index, t->snapshot_id, err);
        if (rc)
            goto fail;
        plan_free(&p);
        return 0;
    }
    /* a delete manifest goes when every file it names is rewritten */
    for (size_t i = 0; i < p.nm && !rc; i++)
        if (p.m[i].ref.content == 1)
            p.m[i].sel = read_dels;
    if (!rc && ndel && !read_dels) /* never rewrite rows without their deletes */
        rc = sl_errf(err, SL_ERUNTIME, "position deletes were not read");
    for (size_t i = 0; i < p.nf && !rc; i++) {
        const cfile *f = &p.f[i];
        for (size_t j = 0; f->e.content == 1 && j < f->nrefs; j++) {
            int32_t d = p.idmap[f->refs[j]] - 1;
            if (!p.m[p.f[d].man].sel)
                p.m[f->man].sel = 0;
        }
    }
    for (size_t i = 0; i < p.nf && !rc; i++)
        in_dels += p.f[i].e.content == 1 && p.m[p.f[i].man].sel;
    out o = {.t = t, .target = target};
    for (size_t i = 0; i < p.nf && !rc; i++)
        if (p.f[i].e.content == 0 && p.m[p.f[i].man].sel) {
            if (p.f[i].id < 0 && (p.f[i].id = ice_index_file(t->index, p.f[i].e.uri, err)) < 0)
                rc = SL_ERUNTIME;
            else
                rc = rewrite_file(&o, &p, &p.f[i], &k->key, err);
        }
    if (!rc)
        rc = out_close(&o, err);
    /* the rewritten files' keys moved: no rewrite map need lead there */
    for (size_t i = 0; i < p.nf && !rc; i++)
        if (p.f[i].e.content == 0 && p.m[p.f[i].man].sel)
            rc = ice_index_file_gone(t->index, p.f[i].id, err);
    if (!rc)
        rc = ice_index_drop_dels(t->index, err);
    int sent = 0;
    if (!rc)
        rc = commit_replace(&p, &o, checkpoint, in_files, in_dels, &sent, err);
    /* files the catalog never saw go; after a catalog error they may be in
     * the table (a lost answer), so they stay */
    out_free(&o, rc && !sent);
    if (!rc) {
        sl_err e;
        if (ice_index_commit(t->index, t->snapshot_id, &e)) {
            sl_warn("%s; the key index of %s is rebuilt from the table", e.msg, t->target);
            ice_index_free(t->index);
            t->index = NULL;
        }
        t->compact_dels_seen = 0;
        sl_info("%s: compacted %" PRId64 " data files and %" PRId64 " delete files into %d (%" PRId64 " rows) in "
                "snapshot %" PRId64 ", %.1f s", t->target, in_files, in_dels, o.n, o.rows, t->snapshot_id,
                (double)(sl_mono_us() - t0) / 1e6);
        plan_free(&p);
        return 0;
    }
fail:
    plan_free(&p);
    ice_index_abort(t->index);
    if (untagged) {
        /* the index may hold moves the table does not: it is rebuilt */
        ice_index_free(t->index);
        t->index = NULL;
    }
    return sl_err_prefix(err, rc, SL_LOG_PREFIX "%s: compaction: ", t->target);
}
