/* ice_orphans.c — removal of the files in a table's location that no
 * snapshot reaches. Expiration deletes what the snapshots it removes
 * reached; it cannot see files nothing refers to:
 *  - an epoch's data, delete and manifest files written before a crash (or
 *    a refused commit) ended it uncommitted; an epoch of a big transaction
 *    leaves gigabytes;
 *  - files an expiration's commit freed when a crash kept it from deleting
 *    them;
 *  - metadata files the catalog no longer lists (tables whose
 *    write.metadata.delete-after-commit.enabled is off).
 *
 * When: after an epoch's commit, at most once per
 * remove-orphan-files.check-interval (the first epoch after a start
 * included), while main is still this sink's snapshot. At that moment no
 * file of the sink's own is uncommitted: every table's epoch is in.
 *
 * Reachable: the current metadata file and its metadata log, the statistics
 * files, every snapshot's manifest list (all refs), the manifests those
 * name and every file they list, DELETED entries included. Files are
 * compared by device and inode, so two spellings of one path (file:/x,
 * file:///x, a symlinked warehouse) cannot make a live file look orphaned.
 * A Hadoop checksum ".<name>.crc" is reachable while <name> is.
 * A manifest list or manifest that cannot be read stops the sweep before
 * anything is deleted: the reachable set would be incomplete.
 *
 * Looked at: regular files under <location>/data (subdirectories too, but
 * not one holding a table of its own: one with a metadata/ directory) and
 * directly in <location>/metadata, last modified longer than
 * remove-orphan-files.older-than ago. A younger file may be another
 * writer's, not yet committed; Iceberg's own orphan removal has the same
 * guard. */
#define SL_LOG_COMPONENT "iceberg sink"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../core/clock.h"
#include "../../core/log.h"
#include "ice_pathset.h"
#include "ice_sink.h"

typedef struct sweep {
    ice_table *t;
    ice_pathset manifests; /* URIs, to read each shared manifest once */
    ice_pathset live;      /* "dev:ino" of every reachable file that exists */
    int64_t cutoff_ms;     /* files modified before this (wall clock) may go */
    int64_t files, bytes, young;
} sweep;

static int file_key(const struct stat *st, char *out, size_t len)
{
    return snprintf(out, len, "%jx:%jx", (uintmax_t)st->st_dev, (uintmax_t)st->st_ino) < (int)len ? 0 : -1;
}

/* a reachable file: its inode into the live set (one already gone needs
 * nothing) */
static int reach(sweep *s, const char *uri, sl_err *err)
{
    const char *local = uri ? ice_local_path(uri) : NULL;
    struct stat st;
    char key[64];
    if (!local || stat(local, &st) || file_key(&st, key, sizeof key))
        return 0;
    return ice_pathset_add(&s->live, key, err);
}

static int reach_entry(const ice_entry *e, void *arg, sl_err *err)
{
    return reach(arg, e->uri, err);
}

static int note_manifest(const ice_manifest_ref *m, void *arg, sl_err *err)
{
    return ice_pathset_add(&((sweep *)arg)->manifests, m->path, err);
}

/* the metadata's own files, then every snapshot's list, its manifests and
 * their entries */
static int reachable(sweep *s, json_t *md, const char *md_location, sl_err *err)
{
    int rc = reach(s, md_location, err);
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(md, "metadata-log"), i, v)
        if (!rc)
            rc = reach(s, json_string_value(json_object_get(v, "metadata-file")), err);
    const char *stats[] = {"statistics", "partition-statistics"};
    for (size_t k = 0; k < 2; k++)
        json_array_foreach(json_object_get(md, stats[k]), i, v)
            if (!rc)
                rc = reach(s, json_string_value(json_object_get(v, "statistics-path")), err);
    json_array_foreach(json_object_get(md, "snapshots"), i, v) {
        const char *list = json_string_value(json_object_get(v, "manifest-list"));
        const char *local = list ? ice_local_path(list) : NULL;
        if (rc)
            break;
        if (!local) {
            rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s: snapshot %" JSON_INTEGER_FORMAT " has no local manifest "
                         "list", s->t->target, json_integer_value(json_object_get(v, "snapshot-id")));
            break;
        }
        if (!(rc = reach(s, list, err)))
            rc = ice_manifest_list_each(local, note_manifest, s, err);
    }
    ice_pathset_seal(&s->manifests);
    for (size_t m = 0; !rc && m < s->manifests.n; m++) {
        ice_manifest_ref ref = {.path = s->manifests.p[m]};
        if (!(rc = reach(s, ref.path, err)))
            rc = ice_manifest_each_entry(&ref, 1, reach_entry, s, err);
    }
    ice_pathset_seal(&s->live);
    return rc;
}

/* Hadoop's local file system (the Java catalogs) writes a checksum
 * ".<name>.crc" beside each file it writes: it lives as long as <name> */
static int live_checksum(sweep *s, const char *path, const char *name)
{
    size_t n = strlen(name), dir = (size_t)(name - path);
    char base[4096], key[64];
    struct stat st;
    if (n < 6 || name[0] != '.' || strcmp(name + n - 4, ".crc") || dir + n >= sizeof base)
        return 0;
    memcpy(base, path, dir);
    memcpy(base + dir, name + 1, n - 5);
    base[dir + n - 5] = 0;
    return stat(base, &st) == 0 && file_key(&st, key, sizeof key) == 0 && ice_pathset_has(&s->live, key);
}

static void consider(sweep *s, const char *path, const char *name, const struct stat *st)
{
    char key[64];
    if (file_key(st, key, sizeof key) || ice_pathset_has(&s->live, key) || live_checksum(s, path, name))
        return;
    if ((int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000 >= s->cutoff_ms) {
        s->young++;
        return;
    }
    if (unlink(path) == 0) {
        sl_debug("%s: removed the orphan file %s", s->t->target, path);
        s->files++;
        s->bytes += (int64_t)st->st_size;
    } else if (errno != ENOENT) {
        sl_warn("%s: could not delete the orphan file %s: %s", s->t->target, path, strerror(errno));
    }
}

static int holds_table(const char *dir)
{
    char p[4096];
    struct stat st;
    return snprintf(p, sizeof p, "%s/metadata", dir) < (int)sizeof p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* the regular files of dir (and of its subdirectories when deep) */
static void walk(sweep *s, const char *dir, int deep, int depth)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (errno != ENOENT)
            sl_warn("%s: cannot list %s for orphan files: %s", s->t->target, dir, strerror(errno));
        return;
    }
    struct dirent *de;
    char p[4096];
    while ((de = readdir(d))) {
        struct stat st;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name) >= (int)sizeof p || lstat(p, &st))
            continue;
        if (S_ISREG(st.st_mode))
            consider(s, p, p + strlen(dir) + 1, &st);
        else if (S_ISDIR(st.st_mode) && deep && depth < 16 && !holds_table(p))
            walk(s, p, deep, depth + 1);
    }
    closedir(d);
}

static int sweep_table(ice_table *t, json_t *md, const char *md_location, sl_err *err)
{
    const char *root = ice_local_path(t->location);
    if (!root) {
        sl_info("%s: orphan files not looked for: the table's location %s is not local", t->target, t->location);
        t->orphans_off = 1;
        return 0;
    }
    sweep s = {.t = t, .cutoff_ms = sl_wall_ms() - sl_opt_num(t->sink->opts, "remove-orphan-files.older-than")};
    int rc = reachable(&s, md, md_location, err);
    if (!rc) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/data", root);
        walk(&s, dir, 1, 0);
        snprintf(dir, sizeof dir, "%s/metadata", root);
        walk(&s, dir, 0, 0);
        if (s.files)
            sl_info("%s: removed %" PRId64 " orphan files of %" PRId64 " bytes (files no snapshot reaches)",
                    t->target, s.files, s.bytes);
        else
            sl_debug("%s: no orphan files (%" PRId64 " unreachable but younger than remove-orphan-files.older-than)",
                     t->target, s.young);
    }
    ice_pathset_free(&s.manifests);
    ice_pathset_free(&s.live);
    return rc;
}

int ice_remove_orphans(ice_table *t, sl_err *err)
{
    ice_sink *k = t->sink;
    if (!sl_opt_num(k->opts, "remove-orphan-files.enabled") || t->orphans_off || !t->snapshot_id)
        return 0;
    if (!ice_maintenance_due(&t->orphans_checked_us, sl_mono_us(),
                             sl_opt_num(k->opts, "remove-orphan-files.check-interval")))
        return 0;
    json_t *md = NULL;
    char *md_location = NULL;
    int rc = k->cat.ops->load(k->cat.self, t->ns, t->name, &md, &md_location, err);
    if (rc)
        return rc;
    /* another writer's commit: the next epoch's guarded swap reports it */
    json_t *cur = json_object_get(md, "current-snapshot-id");
    if (!md_location) {
        sl_info("%s: orphan files not looked for: the catalog does not say which metadata file is current",
                t->target);
        t->orphans_off = 1;
    } else if (json_is_integer(cur) && json_integer_value(cur) == t->snapshot_id) {
        rc = sweep_table(t, md, md_location, err);
    }
    free(md_location);
    json_decref(md);
    return rc;
}
