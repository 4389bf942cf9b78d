/* ice_truncate.c — a TRUNCATE as an Iceberg file-level delete: the
 * manifests that mark every live file of the table's current snapshot
 * DELETED, for the snapshot that replaces it.
 *
 * Why not position deletes of every live row (the first version): that cost
 * memory and a delete file proportional to the table. Removing the files
 * costs one manifest entry per file, and the snapshot's manifest list then
 * starts afresh (the old manifests are not carried over), so readers and a
 * key index rebuild see none of the old rows. The entries keep the files'
 * sequence numbers explicitly, as the spec wants for DELETED entries. */
#define SL_LOG_COMPONENT "iceberg sink"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/buf.h"
#include "../../core/log.h"
#include "ice_sink.h"

/* the live files of the current snapshot, copied out of the walk (their
 * uris are the walker's), split by content: 0 data, 1 deletes */
typedef struct trunc_state {
    ice_entry *e[2];
    size_t n[2], cap[2];
} trunc_state;

static int collect(const ice_entry *e, void *arg, sl_err *err)
{
    trunc_state *s = arg;
    int which = e->content ? 1 : 0;
    if (sl_grow((void **)&s->e[which], &s->cap[which], s->n[which] + 1, sizeof *s->e[which]))
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    ice_entry c = *e;
    c.manifest = NULL;
    if (!(c.uri = strdup(e->uri)))
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    s->e[which][s->n[which]++] = c;
    return 0;
}

static void trunc_free(trunc_state *s)
{
    for (int w = 0; w < 2; w++) {
        for (size_t i = 0; i < s->n[w]; i++)
            free((char *)s->e[w][i].uri);
        free(s->e[w]);
    }
}

int ice_truncate_manifests(ice_table *t, const char *schema_json, int64_t snap, int64_t seq, ice_manifest_info out[2],
                           int *nout, ice_truncate_stats *stats, sl_err *err)
{
    *nout = 0;
    memset(stats, 0, sizeof *stats);
    if (!t->manifest_list)
        return 0; /* no snapshot yet: nothing to remove */
    const char *list_local = ice_local_path(t->manifest_list);
    if (!list_local)
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s: manifest list %s is not on the local filesystem",
                       t->target, t->manifest_list);
    trunc_state s = {0};
    int rc = ice_manifest_entries(list_local, collect, &s, err);
    for (int w = 0; w < 2 && !rc; w++) {
        if (!s.n[w])
            continue;
        const ice_entry **gone = malloc(s.n[w] * sizeof *gone);
        char *local;
        char *uri = gone ? ice_new_file(t, "metadata", w ? "-m1.avro" : "-m0.avro", &local) : NULL;
        if (!uri) {
            free(gone);
            rc = sl_errf(err, SL_ERUNTIME, "out of memory");
            break;
        }
        for (size_t i = 0; i < s.n[w]; i++)
            gone[i] = &s.e[w][i];
        rc = ice_manifest_write_deleted(&t->sink->batch, local, uri, schema_json, t->schema_id, w, gone,
                                        (int)s.n[w], snap, seq, &out[*nout], err);
        free(gone);
        free(uri);
        if (!rc)
            (*nout)++;
    }
    if (rc) {
        for (int i = 0; i < *nout; i++)
            free(out[i].path);
        *nout = 0;
    } else {
        for (size_t i = 0; i < s.n[0]; i++)
            stats->records += s.e[0][i].record_count;
        for (size_t i = 0; i < s.n[1]; i++)
            stats->position_deletes += s.e[1][i].record_count;
        stats->data_files = (int64_t)s.n[0];
        stats->delete_files = (int64_t)s.n[1];
    }
    trunc_free(&s);
    return rc;
}

void ice_truncate_summary(json_t *summary, const ice_truncate_stats *st)
{
    const struct {
        const char *key;
        int64_t n;
    } f[] = {{"deleted-data-files", st->data_files},
             {"deleted-records", st->records},
             {"removed-delete-files", st->delete_files},
             {"removed-position-deletes", st->position_deletes}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        char n[24];
        snprintf(n, sizeof n, "%lld", (long long)f[i].n);
        json_object_set_new(summary, f[i].key, json_string(n));
    }
}
