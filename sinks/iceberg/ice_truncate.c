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

#include "../../core/log.h"
#include "../../formats/avro/avro.h"
#include "ice_sink.h"

typedef struct trunc_state {
    ice_table *t;
    const char *schema_json;
    int64_t snap, seq;
    sl_avro_writer *w[2]; /* 0: data files, 1: delete files */
    char *uri[2];
    int32_t files[2];
    int64_t rows[2];
} trunc_state;

static int64_t long_or(const sl_avro_value *v, int64_t dflt)
{
    return sl_avro_is_null(v) ? dflt : v->u.l;
}

static int open_writer(trunc_state *s, int which, sl_err *err)
{
    char *local;
    s->uri[which] = ice_new_file(s->t, "metadata", which ? "-m1.avro" : "-m0.avro", &local);
    if (!s->uri[which])
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    sl_wfile *f;
    int rc = sl_wfile_open_local_batch(local, &s->t->sink->batch, &f, err);
    if (rc)
        return rc;
    char sid[16];
    snprintf(sid, sizeof sid, "%d", s->t->schema_id);
    sl_avro_meta meta[] = {
        {"schema", s->schema_json},    {"schema-id", sid},
        {"partition-spec", "[]"},      {"partition-spec-id", "0"},
        {"format-version", "2"},       {"content", which ? "deletes" : "data"},
    };
    return sl_avro_open(&s->w[which], f, ice_manifest_entry_schema, meta, 6, SL_AVRO_CODEC_DEFLATE, err);
}

/* one live entry e of manifest m (its list entry): the same file, status
 * DELETED by this snapshot, in the data or the deletes manifest as m is */
static int delete_entry(const sl_avro_value *m, const sl_avro_value *e, void *arg, sl_err *err)
{
    trunc_state *s = arg;
    int which = long_or(sl_avro_get(m, "content"), 0) ? 1 : 0;
    int64_t mseq = long_or(sl_avro_get(m, "sequence_number"), 0);
    const sl_avro_value *df = sl_avro_get(e, "data_file");
    const sl_avro_value *fp = sl_avro_get(df, "file_path");
    int rc;
    if (!s->w[which] && (rc = open_writer(s, which, err)))
        return rc;
    const sl_avro_value *fmt = sl_avro_get(df, "file_format");
    int64_t dseq = long_or(sl_avro_get(e, "sequence_number"), mseq);
    int64_t records = long_or(sl_avro_get(df, "record_count"), 0);
    sl_buf *d = sl_avro_datum(s->w[which]);
    sl_avro_put_int(d, 2); /* DELETED */
    sl_avro_put_union(d, 1);
    sl_avro_put_long(d, s->snap);
    sl_avro_put_union(d, 1);
    sl_avro_put_long(d, dseq);
    sl_avro_put_union(d, 1);
    sl_avro_put_long(d, long_or(sl_avro_get(e, "file_sequence_number"), mseq));
    sl_avro_put_int(d, (int32_t)long_or(sl_avro_get(df, "content"), which));
    sl_avro_put_string(d, (const char *)fp->u.bytes.p, fp->u.bytes.n);
    if (fmt && !sl_avro_is_null(fmt))
        sl_avro_put_string(d, (const char *)fmt->u.bytes.p, fmt->u.bytes.n);
    else
        sl_avro_put_cstr(d, "PARQUET");
    sl_avro_put_long(d, records);
    sl_avro_put_long(d, long_or(sl_avro_get(df, "file_size_in_bytes"), 0));
    for (int i = 0; i < 6; i++) /* column sizes, counts and bounds: not needed for a removed file */
        sl_avro_put_union(d, 0);
    sl_avro_put_union(d, 0); /* split_offsets */
    sl_avro_put_union(d, 0); /* sort_order_id */
    if ((rc = sl_avro_end_datum(s->w[which], err)))
        return rc;
    s->files[which]++;
    s->rows[which] += records;
    return 0;
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
    trunc_state s = {.t = t, .schema_json = schema_json, .snap = snap, .seq = seq};
    int rc = ice_manifest_each(list_local, delete_entry, &s, err);
    for (int i = 0; i < 2; i++) {
        uint64_t size;
        if (!s.w[i]) {
        } else if (rc) {
            sl_avro_abort(s.w[i]);
        } else if ((rc = sl_avro_close(s.w[i], &size, err)) == 0) {
            out[*nout] = (ice_manifest_info){.path = s.uri[i], .length = (int64_t)size, .content = i, .seq = seq,
                                             .min_seq = seq, .snapshot_id = snap, .deleted_files = s.files[i],
                                             .deleted_rows = s.rows[i]};
            (*nout)++;
            s.uri[i] = NULL;
        }
        free(s.uri[i]);
    }
    if (rc) {
        for (int i = 0; i < *nout; i++)
            free(out[i].path);
        *nout = 0;
        return rc;
    }
    stats->data_files = s.files[0];
    stats->records = s.rows[0];
    stats->delete_files = s.files[1];
    stats->position_deletes = s.rows[1];
    return 0;
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
