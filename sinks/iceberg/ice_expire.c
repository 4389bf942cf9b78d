/* ice_expire.c — snapshot expiration: every epoch (and every compaction)
 * adds a snapshot, and a daemon that commits each second would grow the
 * table's metadata JSON, rewritten on every commit, without end, and keep
 * every data file compaction or a TRUNCATE replaced. After an epoch, at
 * most once per check interval, the snapshots of main's history older than
 * the retention (the table's history.expire.* properties, else the sink's
 * expire-snapshots.* options) are removed in one guarded catalog commit
 * (remove-snapshots, asserting main is still this sink's snapshot), then
 * the files only they reached are deleted.
 *
 * Which files. The history is linear (sluice is the only writer; a table
 * with other refs, or snapshots off main's history, is left alone), and
 * files and manifests are never re-added under the same path, so a file
 * one of the expired snapshots reached is still needed only if the oldest
 * kept snapshot reaches it: whatever a newer snapshot reaches is either
 * live in that one or added after it. Deleted: the expired snapshots'
 * manifest lists, the manifests they name that the oldest kept snapshot's
 * list does not, and every file those manifests list (ADDED, EXISTING or
 * DELETED) that is not live in the oldest kept snapshot.
 *
 * Files go only after the catalog accepted the commit; a crash in between
 * leaves unreferenced files (as Iceberg's own expiration does), never a
 * reference to a missing one. */
#define SL_LOG_COMPONENT "iceberg sink"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../core/clock.h"
#include "../../core/log.h"
#include "ice_expire.h"
#include "ice_pathset.h"
#include "ice_sink.h"

int ice_expire_keep(const int64_t *ts, int n, int64_t min_keep, int64_t cutoff_ms)
{
    int keep = 0;
    while (keep < n && (keep < min_keep || ts[keep] >= cutoff_ms))
        keep++;
    return keep;
}

static int add_manifest(const ice_manifest_ref *m, void *arg, sl_err *err)
{
    return ice_pathset_add(arg, m->path, err);
}

static int add_entry(const ice_entry *e, void *arg, sl_err *err)
{
    return ice_pathset_add(arg, e->uri, err);
}

/* main's history (newest first, pointing into the table's metadata), of
 * which the first `keep` stay and the rest expire */
typedef struct plan {
    json_t **hist;
    size_t n, keep;
} plan;

static const char *manifest_list(json_t *snapshot)
{
    return json_string_value(json_object_get(snapshot, "manifest-list"));
}

/* one retention setting: the table's property `prop` when it is set (what
 * every Iceberg tool reads), else the sink's option; a property that is
 * not a whole number of at least `least` is named in a warning and the
 * option used, rather than read as 0 (which would expire everything) */
static int64_t setting(ice_table *t, json_t *props, const char *prop, const char *option, int64_t least)
{
    const char *v = json_string_value(json_object_get(props, prop));
    int64_t dflt = sl_opt_num(t->sink->opts, option);
    if (!v)
        return dflt;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (end == v || *end || errno || n < least) {
        sl_warn("%s: table property %s = '%s' is not a whole number of at least %" PRId64 "; expiration uses "
                "the sink's %s (%" PRId64 ") instead", t->target, prop, v, least, option, dflt);
        return dflt;
    }
    return n;
}

static void retention(ice_table *t, json_t *md, int64_t *max_age_ms, int64_t *min_keep)
{
    json_t *props = json_object_get(md, "properties");
    *max_age_ms = setting(t, props, "history.expire.max-snapshot-age-ms", "expire-snapshots.max-age", 0);
    *min_keep = setting(t, props, "history.expire.min-snapshots-to-keep", "expire-snapshots.min-keep", 1);
}

/* what to expire from md; nothing (keep == n) when nothing is due or the
 * table's history is not the linear one this sink writes */
static int choose(ice_table *t, json_t *md, plan *p, sl_err *err)
{
    const char *ref;
    json_t *r;
    json_object_foreach(json_object_get(md, "refs"), ref, r)
        if (strcmp(ref, "main")) {
            sl_info("%s: snapshots not expired: the table has the ref %s besides main", t->target, ref);
            t->expire_off = 1;
            return 0;
        }
    size_t total = json_array_size(json_object_get(md, "snapshots"));
    if (!(p->hist = ice_history(md, t->snapshot_id, &p->n)))
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    p->keep = p->n;
    if (p->n != total) {
        sl_info("%s: snapshots not expired: %zu of the table's %zu snapshots are not in main's history", t->target,
                total - p->n, total);
        t->expire_off = 1;
        return 0;
    }
    int64_t *ts = malloc((p->n ? p->n : 1) * sizeof *ts);
    if (!ts)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    for (size_t i = 0; i < p->n; i++)
        ts[i] = json_integer_value(json_object_get(p->hist[i], "timestamp-ms"));
    int64_t max_age, min_keep;
    retention(t, md, &max_age, &min_keep);
    p->keep = (size_t)ice_expire_keep(ts, (int)p->n, min_keep, sl_wall_ms() - max_age);
    free(ts);
    for (size_t i = p->keep ? p->keep - 1 : p->n; i < p->n; i++)
        if (!manifest_list(p->hist[i]))
            return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s: snapshot %" JSON_INTEGER_FORMAT " has no manifest "
                           "list", t->target, json_integer_value(json_object_get(p->hist[i], "snapshot-id")));
    return 0;
}

typedef struct doomed {
    const ice_pathset *kept_manifests;
    ice_pathset *files;
} doomed;

/* every file of a manifest the oldest kept snapshot no longer names */
static int dead_manifest_files(const ice_manifest_ref *m, void *arg, sl_err *err)
{
    doomed *d = arg;
    if (ice_pathset_has(d->kept_manifests, m->path))
        return 0;
    int rc = ice_pathset_add(d->files, m->path, err);
    return rc ? rc : ice_manifest_each_entry(m, 1, add_entry, d->files, err);
}

/* unlinks the files of `gone` inside the table's location that nothing kept
 * reaches; the count and bytes removed */
static void unlink_unreached(ice_table *t, const ice_pathset *gone, const ice_pathset *live, int64_t *files, int64_t *bytes)
{
    const char *root = ice_local_path(t->location);
    size_t rl = root ? strlen(root) : 0;
    for (size_t i = 0; root && i < gone->n; i++) {
        const char *local = ice_local_path(gone->p[i]);
        if (ice_pathset_has(live, gone->p[i]) || !local || strncmp(local, root, rl) || local[rl] != '/')
            continue;
        struct stat st;
        int64_t size = stat(local, &st) == 0 ? (int64_t)st.st_size : 0;
        if (unlink(local) == 0) {
            (*files)++;
            *bytes += size;
        } else if (errno != ENOENT) {
            sl_warn("%s: could not delete %s of an expired snapshot: %s", t->target, local, strerror(errno));
        }
    }
}

static int expire(ice_table *t, plan *p, sl_err *err)
{
    /* what the oldest kept snapshot reaches, read before anything changes */
    ice_pathset kept_manifests = {0}, live = {0}, gone = {0};
    const char *kept_list = manifest_list(p->hist[p->keep - 1]), *kept_local = ice_local_path(kept_list);
    int rc = kept_local ? ice_manifest_list_each(kept_local, add_manifest, &kept_manifests, err)
                        : sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s: manifest list %s is not a local file",
                                  t->target, kept_list);
    if (!rc)
        rc = ice_manifest_entries(kept_local, add_entry, &live, err);
    ice_pathset_seal(&kept_manifests);
    doomed d = {&kept_manifests, &gone};
    for (size_t i = p->keep; !rc && i < p->n; i++) {
        const char *list = manifest_list(p->hist[i]), *l = ice_local_path(list);
        if (!l)
            continue;
        if ((rc = ice_pathset_add(&gone, list, err)))
            break;
        /* a list already deleted (a crash after an earlier expiration's
         * commit cannot leave one, but a user's cleanup can) has nothing
         * more to give */
        if (access(l, F_OK) == 0)
            rc = ice_manifest_list_each(l, dead_manifest_files, &d, err);
    }
    ice_pathset_seal(&live);
    ice_pathset_seal(&gone);
    json_t *change = NULL;
    if (!rc) {
        json_t *ids = json_array();
        for (size_t i = p->keep; i < p->n; i++)
            json_array_append(ids, json_object_get(p->hist[i], "snapshot-id"));
        change = json_pack("[{s:{s:o, s:s}, s:[{s:s, s:s, s:I}], s:[{s:s, s:o}]}]", "identifier", "namespace",
                           ice_ns_json(t->ns), "name", t->name, "requirements", "type", "assert-ref-snapshot-id",
                           "ref", "main", "snapshot-id", (json_int_t)t->snapshot_id, "updates", "action",
                           "remove-snapshots", "snapshot-ids", ids);
        if (!change)
            rc = sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    if (!rc)
        rc = ice_table_commit_own(t, change, "expiring snapshots", err);
    if (!rc) {
        int64_t files = 0, bytes = 0;
        unlink_unreached(t, &gone, &live, &files, &bytes);
        sl_info("%s: expired %zu snapshots (%zu kept), deleted %" PRId64 " files of %" PRId64 " bytes", t->target,
                p->n - p->keep, p->keep, files, bytes);
    }
    json_decref(change);
    ice_pathset_free(&kept_manifests);
    ice_pathset_free(&live);
    ice_pathset_free(&gone);
    return rc;
}

int ice_expire_table(ice_table *t, sl_err *err)
{
    ice_sink *k = t->sink;
    if (!sl_opt_num(k->opts, "expire-snapshots.enabled") || t->expire_off || !t->snapshot_id)
        return 0;
    if (!ice_maintenance_due(&t->expire_checked_us, sl_mono_us(),
                             sl_opt_num(k->opts, "expire-snapshots.check-interval")))
        return 0;
    json_t *md = NULL;
    int rc = k->cat.ops->load(k->cat.self, t->ns, t->name, &md, NULL, err);
    if (rc)
        return rc;
    /* another writer's commit: the next epoch's guarded swap reports it */
    json_t *cur = json_object_get(md, "current-snapshot-id");
    plan p = {0};
    if (json_is_integer(cur) && json_integer_value(cur) == t->snapshot_id && !(rc = choose(t, md, &p, err)) &&
        p.keep < p.n)
        rc = expire(t, &p, err);
    free(p.hist);
    json_decref(md);
    return rc;
}
