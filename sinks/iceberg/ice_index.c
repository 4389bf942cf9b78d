/* ice_index.c — the primary key -> (data file, row position) index of one
 * table: what turns an update or a delete into a position delete (v2),
 * which every reader understands, instead of an equality delete, which
 * pyiceberg cannot read (DESIGN.md §8).
 *
 * On local disk in LMDB (one environment per table, <dir>/<table-uuid>), so
 * memory stays bounded whatever the table size: the map's pages are the
 * kernel's page cache, and after each commit they are dropped from this
 * process (madvise) once the file is larger than a few MiB. The index is a
 * cache of the table. Its tag is the snapshot id it describes, written in
 * the same LMDB transaction as the epoch's changes, and that transaction
 * commits only after the catalog accepted the snapshot: a crash between the
 * two leaves the previous tag, which no longer is the table's current
 * snapshot, so the next start rebuilds the index from the table
 * (ice_rebuild.c) instead of trusting it.
 *
 * Writes are not fsynced (MDB_NOSYNC): a process crash keeps what the
 * kernel has, a machine crash may not. So the tag also names the boot
 * (/proc/sys/kernel/random/boot_id) whose page cache holds the commits; an
 * index written in another boot and not synced at a clean close is stale.
 *
 * Databases: keys (key -> u32 file, i64 pos; a key longer than LMDB allows
 * is stored under its prefix and a 128-bit hash, the whole key in the
 * value to compare), files (u32 id -> path), paths (path -> u32 id), meta
 * (tag, boot), dels (position deletes during a rebuild), remaps (u32 id ->
 * where the rows of a file rewritten within its epoch went, ice_remap.c:
 * a key naming such a file is read through it). One write transaction
 * spans an epoch; gets read through it.
 *
 * The tag is kept under "tag2", with "tag" set to -2: a sluice from before
 * rewrite maps reads "tag" only, finds no snapshot of that id, and
 * rebuilds, rather than write position deletes without the maps. An index
 * it left behind (its "tag" a snapshot id) is trusted only while it has
 * no maps, which that sluice's rebuild does not drop.
 *
 * Keys and deletes go through one cursor each, kept open for the
 * transaction: LMDB searches a positioned cursor's own leaf page first, so
 * keys that come in order (an insert-heavy stream, a compaction walking a
 * file, a rebuild's deletes) skip the descent from the root and the write
 * transaction's dirty-page lookups on the way down.
 */
#define SL_LOG_COMPONENT "iceberg sink"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../core/log.h"
#include "ice_sink.h"

#define MAP_SIZE (1ULL << 38)         /* address space only: the file grows as it fills */
#define DROP_PAGES_ABOVE (8u << 20)   /* map bytes beyond which committed pages leave RSS */
#define LONG_KEY_PREFIX 400

struct ice_index {
    MDB_env *env;
    MDB_txn *txn;          /* the open write transaction, or NULL */
    MDB_cursor *kc, *dc;   /* on keys and dels in txn, opened on first use */
    MDB_dbi keys, files, paths, meta, dels, remaps;
    uint8_t *remapped;     /* by file id: 1 when remaps holds it (as txn sees it) */
    uint32_t remapped_cap;
    int remapped_unknown;  /* remapped[] could not be reloaded: look every file up */
    sl_buf vbuf;
    char boot[40];
    int boot_written;      /* this process's boot id is in meta */
    unsigned maxkey;
    uint32_t nfiles;       /* entries in files */
    sl_buf kbuf;
    char path[4096];
};

static int lmdb_fail(sl_err *err, const ice_index *x, const char *what, int rc)
{
    return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "key index %s: %s: %s", x->path, what, mdb_strerror(rc));
}

/* before the transaction ends, and before a drop of what they walk */
static void close_cursors(ice_index *x)
{
    if (x->kc)
        mdb_cursor_close(x->kc);
    if (x->dc)
        mdb_cursor_close(x->dc);
    x->kc = x->dc = NULL;
}

/* marks file id in remapped[] (grown as needed); 0, or ENOMEM */
static int mark_remapped(uint8_t **m, uint32_t *cap, uint32_t id)
{
    if (id >= *cap) {
        uint32_t n = id + 1024;
        uint8_t *g = realloc(*m, n);
        if (!g)
            return ENOMEM;
        memset(g + *cap, 0, n - *cap);
        *m = g;
        *cap = n;
    }
    (*m)[id] = 1;
    return 0;
}

/* remapped[] as txn sees remaps (at open, after a transaction ended
 * without committing); on failure every file is looked up until the next
 * reload, which only costs a lookup that mostly finds nothing */
static int load_remapped(ice_index *x, MDB_txn *txn)
{
    uint8_t *m = NULL;
    uint32_t cap = 0;
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, x->remaps, &c);
    if (rc)
        return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); !rc; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        uint32_t id;
        memcpy(&id, k.mv_data, 4);
        if ((rc = mark_remapped(&m, &cap, id)))
            break;
    }
    mdb_cursor_close(c);
    if (rc != MDB_NOTFOUND) {
        free(m);
        x->remapped_unknown = 1;
        return rc;
    }
    free(x->remapped);
    x->remapped = m;
    x->remapped_cap = cap;
    x->remapped_unknown = 0;
    return 0;
}

static int is_remapped(const ice_index *x, int32_t file)
{
    return file >= 0 && (x->remapped_unknown || ((uint32_t)file < x->remapped_cap && x->remapped[file]));
}

/* after a transaction ended without its changes (aborted, or its commit
 * failed): the file count and remapped[] as committed */
static void resync(ice_index *x)
{
    MDB_txn *txn;
    MDB_stat st;
    if (mdb_txn_begin(x->env, NULL, MDB_RDONLY, &txn)) {
        x->remapped_unknown = 1;
        return;
    }
    if (!mdb_stat(txn, x->files, &st))
        x->nfiles = (uint32_t)st.ms_entries;
    load_remapped(x, txn);
    mdb_txn_abort(txn);
}

/* where the row *loc names is now, through the rewrite maps of its file
 * (and of the file that leads to, should that ever be one) */
static int translate(ice_index *x, ice_loc *loc, sl_err *err)
{
    for (int hop = 0; is_remapped(x, loc->file); hop++) {
        uint32_t id = (uint32_t)loc->file;
        MDB_val k = {4, &id}, v;
        int rc = hop < 64 ? mdb_get(x->txn, x->remaps, &k, &v) : -1;
        if (rc == MDB_NOTFOUND)
            return 0;
        ice_loc at = *loc;
        if (rc || (rc = ice_remap_apply(v.mv_data, v.mv_size, &at)))
            return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "key index %s: a key names row %lld of file %u, which "
                           "its rewrite map does not place; delete the directory to rebuild the index", x->path,
                           (long long)loc->pos, id);
        *loc = at;
    }
    return 0;
}

static void read_boot(char out[40])
{
    out[0] = 0;
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (!f)
        return;
    if (!fgets(out, 40, f))
        out[0] = 0;
    fclose(f);
    out[strcspn(out, "\n")] = 0;
}

static int begin(ice_index *x, sl_err *err)
{
    if (x->txn)
        return 0;
    int rc = mdb_txn_begin(x->env, NULL, 0, &x->txn);
    if (rc) {
        x->txn = NULL;
        return lmdb_fail(err, x, "begin", rc);
    }
    if (!x->boot_written) {
        MDB_val k = {4, "boot"}, v = {strlen(x->boot), x->boot};
        if ((rc = mdb_put(x->txn, x->meta, &k, &v, 0)))
            return lmdb_fail(err, x, "put", rc);
    }
    return 0;
}

/* the transaction's cursor on dbi (keys or dels), begun and opened on first use */
static MDB_cursor *cursor(ice_index *x, MDB_dbi dbi, sl_err *err)
{
    if (begin(x, err))
        return NULL;
    MDB_cursor **c = dbi == x->keys ? &x->kc : &x->dc;
    int rc = *c ? 0 : mdb_cursor_open(x->txn, dbi, c);
    if (rc) {
        *c = NULL;
        lmdb_fail(err, x, "cursor", rc);
    }
    return *c;
}

int ice_index_open(const char *dir, ice_index **out, sl_err *err)
{
    *out = NULL;
    ice_index *x = calloc(1, sizeof *x);
    if (!x)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    sl_buf_init(&x->kbuf);
    sl_buf_init(&x->vbuf);
    snprintf(x->path, sizeof x->path, "%s", dir);
    read_boot(x->boot);
    if (ice_mkdirs(dir)) {
        int rc = sl_errf(err, SL_ECONFIG, SL_LOG_PREFIX "cannot create the key index directory %s: %s", dir,
                         strerror(errno));
        free(x);
        return rc;
    }
    int rc = mdb_env_create(&x->env);
    if (!rc)
        rc = mdb_env_set_mapsize(x->env, (size_t)MAP_SIZE);
    if (!rc)
        rc = mdb_env_set_maxdbs(x->env, 6);
    if (!rc)
        rc = mdb_env_open(x->env, dir, MDB_NOSYNC | MDB_NOTLS | MDB_NORDAHEAD, 0644);
    if (rc) {
        int e = lmdb_fail(err, x, "open", rc);
        ice_index_free(x);
        return e;
    }
    x->maxkey = (unsigned)mdb_env_get_maxkeysize(x->env);
    MDB_txn *txn;
    if ((rc = mdb_txn_begin(x->env, NULL, 0, &txn)) == 0) {
        if (!(rc = mdb_dbi_open(txn, "keys", MDB_CREATE, &x->keys)) &&
            !(rc = mdb_dbi_open(txn, "files", MDB_CREATE | MDB_INTEGERKEY, &x->files)) &&
            !(rc = mdb_dbi_open(txn, "paths", MDB_CREATE, &x->paths)) &&
            !(rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &x->meta)) &&
            !(rc = mdb_dbi_open(txn, "dels", MDB_CREATE, &x->dels)) &&
            !(rc = mdb_dbi_open(txn, "remaps", MDB_CREATE | MDB_INTEGERKEY, &x->remaps))) {
            MDB_stat st;
            if (!(rc = mdb_stat(txn, x->files, &st)))
                x->nfiles = (uint32_t)st.ms_entries;
            if (!rc)
                rc = load_remapped(x, txn);
        }
        rc = rc ? (mdb_txn_abort(txn), rc) : mdb_txn_commit(txn);
    }
    if (rc) {
        int e = lmdb_fail(err, x, "open", rc);
        ice_index_free(x);
        return e;
    }
    *out = x;
    return 0;
}

void ice_index_free(ice_index *x)
{
    if (!x)
        return;
    close_cursors(x);
    if (x->txn)
        mdb_txn_abort(x->txn);
    if (x->env) {
        /* a clean close: what the kernel holds goes to disk, and the
         * index is good in any boot */
        MDB_txn *txn;
        if (x->boot_written && !mdb_env_sync(x->env, 1) && !mdb_txn_begin(x->env, NULL, 0, &txn)) {
            MDB_val k = {4, "boot"}, v = {6, "synced"};
            if (mdb_put(txn, x->meta, &k, &v, 0) || mdb_txn_commit(txn))
                mdb_txn_abort(txn);
            else
                mdb_env_sync(x->env, 1);
        }
        mdb_env_close(x->env);
    }
    sl_buf_free(&x->kbuf);
    sl_buf_free(&x->vbuf);
    free(x->remapped);
    free(x);
}

int64_t ice_index_tag(ice_index *x)
{
    MDB_txn *txn;
    if (mdb_txn_begin(x->env, NULL, MDB_RDONLY, &txn))
        return -1;
    MDB_val k = {4, "boot"}, v;
    int64_t tag = -1;
    int boot_ok = !mdb_get(txn, x->meta, &k, &v) &&
                  ((v.mv_size == 6 && !memcmp(v.mv_data, "synced", 6)) ||
                   (v.mv_size == strlen(x->boot) && !memcmp(v.mv_data, x->boot, v.mv_size)));
    k = (MDB_val){3, "tag"};
    if (boot_ok && !mdb_get(txn, x->meta, &k, &v) && v.mv_size == 8)
        memcpy(&tag, v.mv_data, 8);
    if (tag == -2) {
        k = (MDB_val){4, "tag2"};
        tag = -1;
        if (!mdb_get(txn, x->meta, &k, &v) && v.mv_size == 8)
            memcpy(&tag, v.mv_data, 8);
    } else {
        /* written by a sluice without rewrite maps: good while it has none */
        MDB_stat st;
        if (mdb_stat(txn, x->remaps, &st) || st.ms_entries)
            tag = -1;
    }
    mdb_txn_abort(txn);
    return tag;
}

int ice_index_commit(ice_index *x, int64_t tag, sl_err *err)
{
    int rc = begin(x, err);
    if (rc)
        return rc;
    int64_t compat = -2;
    MDB_val k = {3, "tag"}, v = {8, &compat}, k2 = {4, "tag2"}, v2 = {8, &tag};
    if ((rc = mdb_put(x->txn, x->meta, &k, &v, 0)) || (rc = mdb_put(x->txn, x->meta, &k2, &v2, 0))) {
        ice_index_abort(x);
        return lmdb_fail(err, x, "put", rc);
    }
    close_cursors(x);
    rc = mdb_txn_commit(x->txn);
    x->txn = NULL;
    if (rc) {
        resync(x);
        return lmdb_fail(err, x, "commit", rc);
    }
    x->boot_written = 1;
    /* the pages this epoch read stay in the page cache, not in our RSS */
    MDB_envinfo info;
    MDB_stat st;
    if (!mdb_env_info(x->env, &info) && !mdb_env_stat(x->env, &st)) {
        size_t used = (info.me_last_pgno + 1) * (size_t)st.ms_psize;
        if (used > DROP_PAGES_ABOVE)
            madvise(info.me_mapaddr, used, MADV_DONTNEED);
    }
    return 0;
}

void ice_index_abort(ice_index *x)
{
    if (x->txn) {
        close_cursors(x);
        mdb_txn_abort(x->txn);
        x->txn = NULL;
        resync(x);
    }
}

int32_t ice_index_file(ice_index *x, const char *path, sl_err *err)
{
    if (begin(x, err))
        return -1;
    MDB_val k = {strlen(path), (void *)path}, v;
    int rc = mdb_get(x->txn, x->paths, &k, &v);
    if (rc == 0 && v.mv_size == 4) {
        uint32_t id;
        memcpy(&id, v.mv_data, 4);
        return (int32_t)id;
    }
    if (k.mv_size > x->maxkey) {
        sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "data file path longer than %u bytes: %s", x->maxkey, path);
        return -1;
    }
    uint32_t id = x->nfiles;
    MDB_val idk = {sizeof id, &id}, pv = {k.mv_size, (void *)path}, iv = {4, &id};
    if ((rc = mdb_put(x->txn, x->files, &idk, &pv, 0)) || (rc = mdb_put(x->txn, x->paths, &k, &iv, 0))) {
        lmdb_fail(err, x, "put", rc);
        return -1;
    }
    x->nfiles++;
    return (int32_t)id;
}

const char *ice_index_file_name(ice_index *x, int32_t file, sl_buf *out)
{
    uint32_t id = (uint32_t)file;
    MDB_val k = {sizeof id, &id}, v;
    sl_err e;
    if (file < 0 || begin(x, &e) || mdb_get(x->txn, x->files, &k, &v))
        return NULL;
    sl_buf_reset(out);
    sl_buf_add(out, v.mv_data, v.mv_size);
    sl_buf_addc(out, 0);
    return out->failed ? NULL : out->data;
}

/* 128-bit FNV-1a style pair of hashes, for keys too long for LMDB */
static void hash128(const uint8_t *p, size_t n, uint8_t out[16])
{
    uint64_t a = 1469598103934665603ULL, b = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < n; i++) {
        a = (a ^ p[i]) * 1099511628211ULL;
        b = (b ^ p[i]) * 0xff51afd7ed558ccdULL;
        b ^= b >> 29;
    }
    memcpy(out, &a, 8);
    memcpy(out + 8, &b, 8);
}

/* the LMDB key of key: itself, or when too long a marker, its prefix and hash */
static MDB_val lkey(ice_index *x, const void *key, size_t n)
{
    if (n <= x->maxkey && (n == 0 || ((const uint8_t *)key)[0] != 0xff))
        return (MDB_val){n, (void *)key};
    sl_buf_reset(&x->kbuf);
    sl_buf_addc(&x->kbuf, (char)0xff);
    sl_buf_add(&x->kbuf, key, n < LONG_KEY_PREFIX ? n : LONG_KEY_PREFIX);
    uint8_t h[16];
    hash128(key, n, h);
    sl_buf_add(&x->kbuf, h, 16);
    return (MDB_val){x->kbuf.len, x->kbuf.data};
}

static int is_long(ice_index *x, const MDB_val *k, size_t n) { return k->mv_size != n || n > x->maxkey; }

int ice_index_get(ice_index *x, const void *key, size_t n, ice_loc *out, sl_err *err)
{
    MDB_cursor *c = cursor(x, x->keys, err);
    if (!c)
        return SL_ERUNTIME;
    MDB_val k = lkey(x, key, n), v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_SET_KEY);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return lmdb_fail(err, x, "get", rc);
    if (v.mv_size < 12 || (v.mv_size > 12 && (v.mv_size - 12 != n || memcmp((char *)v.mv_data + 12, key, n))))
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "key index %s: two long keys share a hash; delete the "
                       "directory to rebuild it", x->path);
    memcpy(&out->file, v.mv_data, 4);
    memcpy(&out->pos, (char *)v.mv_data + 4, 8);
    return (rc = translate(x, out, err)) ? rc : 1;
}

int ice_index_put(ice_index *x, const void *key, size_t n, ice_loc loc, sl_err *err)
{
    MDB_cursor *c = cursor(x, x->keys, err);
    if (!c)
        return SL_ERUNTIME;
    MDB_val k = lkey(x, key, n);
    int lng = is_long(x, &k, n);
    uint8_t small[12];
    sl_buf big;
    sl_buf_init(&big);
    MDB_val v = {12, small};
    memcpy(small, &loc.file, 4);
    memcpy(small + 4, &loc.pos, 8);
    if (lng) {
        sl_buf_add(&big, small, 12);
        sl_buf_add(&big, key, n);
        v = (MDB_val){big.len, big.data};
    }
    int rc = mdb_cursor_put(c, &k, &v, 0);
    sl_buf_free(&big);
    return rc ? lmdb_fail(err, x, "put", rc) : 0;
}

int ice_index_swap(ice_index *x, const void *key, size_t n, ice_loc loc, ice_loc *old, sl_err *err)
{
    MDB_cursor *c = cursor(x, x->keys, err);
    if (!c)
        return SL_ERUNTIME;
    int rc;
    MDB_val k = lkey(x, key, n);
    if (is_long(x, &k, n)) { /* the value holds the key too: the plain way */
        if ((rc = ice_index_get(x, key, n, old, err)) < 0)
            return rc;
        int had = rc;
        return (rc = ice_index_put(x, key, n, loc, err)) ? rc : had;
    }
    uint8_t buf[12];
    memcpy(buf, &loc.file, 4);
    memcpy(buf + 4, &loc.pos, 8);
    MDB_val v = {12, buf};
    /* one search for a new key; an existing one hands back its value and
     * leaves the cursor on it, to be overwritten in place */
    rc = mdb_cursor_put(c, &k, &v, MDB_NOOVERWRITE);
    if (rc == 0)
        return 0;
    if (rc != MDB_KEYEXIST)
        return lmdb_fail(err, x, "put", rc);
    memcpy(&old->file, v.mv_data, 4);
    memcpy(&old->pos, (char *)v.mv_data + 4, 8);
    v = (MDB_val){12, buf};
    rc = mdb_cursor_put(c, &k, &v, MDB_CURRENT);
    if (rc)
        return lmdb_fail(err, x, "put", rc);
    return (rc = translate(x, old, err)) ? rc : 1;
}

int ice_index_take(ice_index *x, const void *key, size_t n, ice_loc *old, sl_err *err)
{
    MDB_cursor *c = cursor(x, x->keys, err);
    if (!c)
        return SL_ERUNTIME;
    int rc;
    MDB_val k = lkey(x, key, n), v;
    if (is_long(x, &k, n)) {
        if ((rc = ice_index_get(x, key, n, old, err)) <= 0)
            return rc;
        return (rc = ice_index_del(x, key, n, err)) < 0 ? rc : 1;
    }
    /* one search: the cursor finds the entry, reads it and deletes it */
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_KEY);
    if (rc == 0 && v.mv_size >= 12) {
        memcpy(&old->file, v.mv_data, 4);
        memcpy(&old->pos, (char *)v.mv_data + 4, 8);
        rc = mdb_cursor_del(c, 0);
        if (rc)
            return lmdb_fail(err, x, "del", rc);
        return (rc = translate(x, old, err)) ? rc : 1;
    }
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : lmdb_fail(err, x, "get", rc);
}

int ice_index_del(ice_index *x, const void *key, size_t n, sl_err *err)
{
    MDB_cursor *c = cursor(x, x->keys, err);
    if (!c)
        return SL_ERUNTIME;
    MDB_val k = lkey(x, key, n), v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_SET);
    if (rc == 0)
        rc = mdb_cursor_del(c, 0);
    if (rc == MDB_NOTFOUND)
        return 0;
    return rc ? lmdb_fail(err, x, "del", rc) : 1;
}

int64_t ice_index_count(ice_index *x)
{
    MDB_stat st;
    sl_err e;
    if (begin(x, &e) || mdb_stat(x->txn, x->keys, &st))
        return -1;
    return (int64_t)st.ms_entries;
}

int ice_index_clear(ice_index *x, int all, sl_err *err)
{
    int rc = begin(x, err);
    if (rc)
        return rc;
    close_cursors(x);
    /* no key is left to read through a rewrite map */
    if ((rc = mdb_drop(x->txn, x->keys, 0)) || (rc = mdb_drop(x->txn, x->remaps, 0)))
        return lmdb_fail(err, x, "clear", rc);
    if (x->remapped)
        memset(x->remapped, 0, x->remapped_cap);
    if (all) {
        MDB_val k = {3, "tag"};
        if ((rc = mdb_drop(x->txn, x->files, 0)) || (rc = mdb_drop(x->txn, x->paths, 0)) ||
            (rc = mdb_drop(x->txn, x->dels, 0)) ||
            ((rc = mdb_del(x->txn, x->meta, &k, NULL)) && rc != MDB_NOTFOUND))
            return lmdb_fail(err, x, "clear", rc);
        x->nfiles = 0;
    }
    return 0;
}

int ice_index_checkpoint(ice_index *x, sl_err *err)
{
    if (!x->txn)
        return 0;
    close_cursors(x);
    int rc = mdb_txn_commit(x->txn);
    x->txn = NULL;
    if (rc) {
        resync(x);
        return lmdb_fail(err, x, "commit", rc);
    }
    x->boot_written = 1;
    return 0;
}

/* ------------------------------------------------------ rewrite maps -- */

int ice_index_remap(ice_index *x, int32_t file, int64_t nrows, const ice_loc *dels, size_t ndel,
                    const int32_t *files, const int64_t *rows, int nout, sl_err *err)
{
    int rc = begin(x, err);
    if (rc || (rc = ice_remap_encode(&x->vbuf, nrows, dels, ndel, files, rows, nout, err)))
        return rc;
    /* marked first: a map in the transaction is always read through (a
     * mark without one only costs a lookup) */
    uint32_t id = (uint32_t)file;
    if (mark_remapped(&x->remapped, &x->remapped_cap, id))
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    MDB_val k = {4, &id}, v = {x->vbuf.len, x->vbuf.data};
    rc = mdb_put(x->txn, x->remaps, &k, &v, 0);
    return rc ? lmdb_fail(err, x, "put", rc) : 0;
}

int ice_index_file_gone(ice_index *x, int32_t file, sl_err *err)
{
    int rc = begin(x, err);
    for (uint32_t id = 0; !rc && id < x->remapped_cap; id++) {
        if (!x->remapped[id])
            continue;
        MDB_val k = {4, &id}, v;
        if ((rc = mdb_get(x->txn, x->remaps, &k, &v)) == MDB_NOTFOUND) {
            rc = 0;
            continue;
        }
        if (rc)
            return lmdb_fail(err, x, "get", rc);
        /* most maps lead elsewhere: only one that names file is copied */
        int leads = ice_remap_leads_to(v.mv_data, v.mv_size, file);
        if (leads == 0)
            continue;
        if (leads < 0)
            return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "key index %s: the rewrite map of file %u is damaged; "
                           "delete the directory to rebuild the index", x->path, id);
        sl_buf_reset(&x->vbuf);
        sl_buf_add(&x->vbuf, v.mv_data, v.mv_size);
        if (x->vbuf.failed)
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        if (ice_remap_forget(x->vbuf.data, x->vbuf.len, file) == 0) {
            rc = mdb_del(x->txn, x->remaps, &k, NULL);
            x->remapped[id] = 0;
        } else {
            v = (MDB_val){x->vbuf.len, x->vbuf.data};
            rc = mdb_put(x->txn, x->remaps, &k, &v, 0);
        }
        if (rc)
            return lmdb_fail(err, x, "put", rc);
    }
    return rc;
}

/* ------------------------------------------------- rebuild's deletes -- */

static void del_key(uint8_t out[12], int32_t file, int64_t pos)
{
    /* big-endian, so the cursor walks deletes by file, then position */
    for (int i = 0; i < 4; i++)
        out[i] = (uint8_t)((uint32_t)file >> (24 - 8 * i));
    for (int i = 0; i < 8; i++)
        out[4 + i] = (uint8_t)((uint64_t)pos >> (56 - 8 * i));
}

int ice_index_add_del(ice_index *x, int32_t file, int64_t pos, sl_err *err)
{
    MDB_cursor *c = cursor(x, x->dels, err);
    if (!c)
        return SL_ERUNTIME;
    uint8_t kb[12];
    del_key(kb, file, pos);
    MDB_val k = {12, kb}, v = {0, ""};
    int rc = mdb_cursor_put(c, &k, &v, 0);
    return rc ? lmdb_fail(err, x, "put", rc) : 0;
}

int ice_index_is_deleted(ice_index *x, int32_t file, int64_t pos, sl_err *err)
{
    MDB_cursor *c = cursor(x, x->dels, err);
    if (!c)
        return SL_ERUNTIME;
    uint8_t kb[12];
    del_key(kb, file, pos);
    MDB_val k = {12, kb}, v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_SET);
    if (rc == MDB_NOTFOUND)
        return 0;
    return rc ? lmdb_fail(err, x, "get", rc) : 1;
}

int ice_index_drop_dels(ice_index *x, sl_err *err)
{
    int rc = begin(x, err);
    if (rc)
        return rc;
    close_cursors(x);
    rc = mdb_drop(x->txn, x->dels, 0);
    return rc ? lmdb_fail(err, x, "clear", rc) : 0;
}
