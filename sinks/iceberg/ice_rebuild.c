/* ice_rebuild.c — opening a table's key index, and rebuilding it from the
 * table itself when it is missing or stale: the index is a cache, the
 * table is the truth.
 *
 * Fresh means tagged with the table's current snapshot id (ice_index.c
 * writes the tag in the same LMDB transaction as the epoch's changes, after
 * the catalog commit). Anything else — no directory, an older snapshot (a
 * crash between the catalog commit and the index commit), a snapshot of
 * another table or catalog, a boot whose unsynced pages may be lost — is
 * rebuilt: every position delete of the current snapshot goes into a
 * temporary LMDB table keyed by (file, position), then every data file's
 * rows are read (pq_reader, a row group at a time) and each row not
 * deleted puts its key -> (file, position). Memory stays at one row group;
 * the LMDB transaction is committed (untagged) every so many rows so its
 * dirty pages stay few, and a crash mid-rebuild leaves no tag: the next
 * start rebuilds again. */
#define SL_LOG_COMPONENT "iceberg sink"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/clock.h"
#include "../../core/log.h"
#include "../../formats/parquet/pq_reader.h"
#include "ice_sink.h"

#define POS_FILE_ID 2147483546
#define POS_POS_ID 2147483545
#define ROWS_PER_TXN 200000

typedef struct files {
    char **data, **dels;
    size_t ndata, ndels, cap_data, cap_dels;
} files;

static int push(char ***arr, size_t *n, size_t *cap, const char *s)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        char **a = realloc(*arr, c * sizeof *a);
        if (!a)
            return -1;
        *arr = a;
        *cap = c;
    }
    return ((*arr)[*n] = strdup(s)) ? (int)(++*n, 0) : -1;
}

static int collect(int content, const char *uri, void *arg, sl_err *err)
{
    files *f = arg;
    if (content == 2)
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s is an equality delete file; sluice's key index "
                       "follows position deletes only", uri);
    if (content == 0 ? push(&f->data, &f->ndata, &f->cap_data, uri) : push(&f->dels, &f->ndels, &f->cap_dels, uri))
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    return 0;
}

static void files_free(files *f)
{
    for (size_t i = 0; i < f->ndata; i++)
        free(f->data[i]);
    for (size_t i = 0; i < f->ndels; i++)
        free(f->dels[i]);
    free(f->data);
    free(f->dels);
}

static int open_local(ice_table *t, const char *uri, sl_pq_reader **r, sl_err *err)
{
    const char *local = ice_local_path(uri);
    if (!local)
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s: file %s is not on the local filesystem", t->target, uri);
    return sl_pq_reader_open(local, r, err);
}

/* counts a row towards the next intermediate commit */
static int tick(ice_table *t, int64_t *n, sl_err *err)
{
    return ++*n % ROWS_PER_TXN ? 0 : ice_index_checkpoint(t->index, err);
}

int ice_read_pos_deletes(ice_table *t, const char *uri, int into_index, int64_t *ops,
                         int (*hook)(int32_t file, int64_t pos, void *arg, sl_err *err), void *arg, sl_err *err)
{
    sl_pq_reader *r;
    int rc = open_local(t, uri, &r, err);
    if (rc)
        return rc;
    int cp = sl_pq_reader_find(r, POS_FILE_ID), cq = sl_pq_reader_find(r, POS_POS_ID);
    if (cp < 0 || cq < 0)
        rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s is not a position delete file (no file_path and pos)", uri);
    sl_buf *last = &t->sink->key2;
    sl_buf_reset(last);
    int32_t id = -1;
    for (int g = 0; !rc && g < sl_pq_reader_num_row_groups(r); g++) {
        int64_t n = sl_pq_reader_load(r, g, err);
        if (n < 0)
            rc = (int)n;
        for (int64_t k = 0; !rc && k < n; k++) {
            const sl_pq_rvalue *p = sl_pq_reader_value(r, cp, k), *q = sl_pq_reader_value(r, cq, k);
            if (!p || !q)
                continue;
            /* rows come sorted by path: intern each path once */
            if (id < 0 || last->len != p->n + 1 || memcmp(last->data, p->p, p->n)) {
                sl_buf_reset(last);
                sl_buf_add(last, p->p, p->n);
                sl_buf_addc(last, 0);
                if ((id = ice_index_file(t->index, last->data, err)) < 0) {
                    rc = SL_ERUNTIME;
                    break;
                }
            }
            if (into_index && !(rc = ice_index_add_del(t->index, id, q->i, err)))
                rc = tick(t, ops, err);
            if (!rc && hook)
                rc = hook(id, q->i, arg, err);
        }
    }
    sl_pq_reader_close(r);
    return rc;
}

int ice_key_columns(const ice_table *t, const sl_pq_reader *r, const char *uri, int **out, sl_err *err)
{
    int *pc = *out = calloc((size_t)t->npk + 1, sizeof *pc);
    if (!pc)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    for (int k = 0; k < t->npk; k++)
        if ((pc[k] = sl_pq_reader_find(r, t->cols[t->pk[k]].field_id)) < 0)
            return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s: data file %s has no key column %s (field id %d)",
                           t->target, uri, t->cols[t->pk[k]].name, t->cols[t->pk[k]].field_id);
    return 0;
}

void ice_key_read(const ice_table *t, const sl_pq_reader *r, const int *pc, int64_t row, sl_buf *key)
{
    sl_buf_reset(key);
    for (int k = 0; k < t->npk; k++) {
        const ice_col *c = &t->cols[t->pk[k]];
        ice_key_part_read(key, sl_pq_reader_column(r, pc[k])->physical, c->pq.logical == SL_PQ_LT_DECIMAL,
                          sl_pq_reader_value(r, pc[k], row));
    }
}

static int read_data(ice_table *t, const char *uri, int64_t *ops, int64_t *live, sl_err *err)
{
    sl_pq_reader *r;
    int rc = open_local(t, uri, &r, err);
    if (rc)
        return rc;
    int *pc = NULL;
    if (!rc)
        rc = ice_key_columns(t, r, uri, &pc, err);
    int32_t id = rc ? -1 : ice_index_file(t->index, uri, err);
    if (!rc && id < 0)
        rc = SL_ERUNTIME;
    sl_buf *key = &t->sink->key;
    int64_t base = 0;
    for (int g = 0; !rc && g < sl_pq_reader_num_row_groups(r); g++) {
        int64_t n = sl_pq_reader_load(r, g, err);
        if (n < 0)
            rc = (int)n;
        for (int64_t row = 0; !rc && row < n; row++) {
            int del = ice_index_is_deleted(t->index, id, base + row, err);
            if (del) {
                rc = del < 0 ? del : 0;
                continue;
            }
            ice_key_read(t, r, pc, row, key);
            if (key->failed)
                rc = sl_errf(err, SL_ERUNTIME, "out of memory");
            else if (!(rc = ice_index_put(t->index, key->data, key->len, (ice_loc){id, base + row}, err)))
                rc = tick(t, ops, err);
            ++*live;
        }
        base += n;
    }
    free(pc);
    sl_pq_reader_close(r);
    return rc;
}

static int rebuild(ice_table *t, int64_t tag, sl_err *err)
{
    int64_t t0 = sl_mono_ms();
    files f = {0};
    int rc = ice_index_clear(t->index, 1, err);
    const char *list = t->manifest_list ? ice_local_path(t->manifest_list) : NULL;
    if (!rc && t->manifest_list && !list)
        rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s: manifest list %s is not on the local filesystem",
                     t->target, t->manifest_list);
    if (!rc && list)
        rc = ice_manifest_files(list, collect, &f, err);
    int64_t ops = 0, live = 0;
    for (size_t i = 0; !rc && i < f.ndels; i++)
        rc = ice_read_pos_deletes(t, f.dels[i], 1, &ops, NULL, NULL, err);
    for (size_t i = 0; !rc && i < f.ndata; i++)
        rc = read_data(t, f.data[i], &ops, &live, err);
    if (!rc)
        rc = ice_index_drop_dels(t->index, err);
    if (!rc)
        rc = ice_index_commit(t->index, t->snapshot_id, err);
    if (rc)
        ice_index_abort(t->index);
    else if (t->snapshot_id)
        sl_info("%s: key index rebuilt from snapshot %" PRId64 " (%s): %zu data and %zu delete files, %" PRId64
                " live keys, %.1f s", t->target, t->snapshot_id, tag < 0 ? "no index" : "the index was of another "
                "snapshot", f.ndata, f.ndels, live, (double)(sl_mono_ms() - t0) / 1000);
    files_free(&f);
    return rc ? sl_err_prefix(err, rc, SL_LOG_PREFIX "%s: rebuilding the key index: ", t->target) : 0;
}

int ice_table_index(ice_table *t, sl_err *err)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", t->sink->index_dir, t->uuid);
    int rc = ice_index_open(dir, &t->index, err);
    if (rc)
        return rc;
    int64_t tag = ice_index_tag(t->index);
    if (tag == t->snapshot_id) {
        sl_info("%s: key index at snapshot %" PRId64 ", %" PRId64 " live keys", t->target, t->snapshot_id,
                ice_index_count(t->index));
        return 0;
    }
    return rebuild(t, tag, err);
}
