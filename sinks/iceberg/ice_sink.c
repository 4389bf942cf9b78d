/* ice_sink.c — the `iceberg` sink: keeps one Apache Iceberg (format v2)
 * table per source table equal to the source, through a REST or SQL catalog.
 *
 * Exactly-once. Each epoch ends with one catalog commit (REST: POST
 * /v1/transactions/commit; SQL: one database transaction swapping every
 * table's metadata_location) holding a snapshot for every table the epoch changed (the epoch's Parquet
 * data file and position delete file, the checkpoint and source position in
 * its summary, assert-ref-snapshot-id so another writer's commit in between
 * is an error, never overwritten) and the new checkpoint as a property of
 * the pipeline's checkpoint table (ice_checkpoint.c). Data and checkpoint
 * move together; a restart resumes from the checkpoint table. Should a
 * catalog apply the transaction table by table, the replay is still exact:
 * a table skips the streamed changes its summary's position covers, and an
 * insert of a live key replaces it. */
#define SL_LOG_COMPONENT "iceberg sink"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/check_report.h"
#include "../../core/clock.h"
#include "../../core/log.h"
#include "ice_sink.h"

static const sl_option_def options[] = {
    {"catalog.properties.type", SL_OPT_ENUM, "rest", 0, 0, 0, "rest|sql",
     "Catalog kind: rest (an Iceberg REST catalog) or sql (the iceberg_tables schema of Java's JdbcCatalog and "
     "pyiceberg's SqlCatalog, in sqlite or PostgreSQL)."},
    {"catalog.properties.uri", SL_OPT_STRING, NULL, 1, 0, 0, NULL,
     "rest: base URL, e.g. http://127.0.0.1:8181 or https://... (the /v1 paths are added). sql: the database, "
     "jdbc:sqlite:<path> (or sqlite:///<path>) or jdbc:postgresql://host:port/db (or a libpq postgresql:// URI)."},
    {"catalog.properties.warehouse", SL_OPT_STRING, NULL, 0, 0, 0, NULL,
     "rest: warehouse name sent to GET /v1/config (catalogs that serve several). sql (required): where new "
     "tables go, a local directory or file:// URI; a table is <warehouse>/<namespace>/<table>."},
    {"catalog.properties.catalog-name", SL_OPT_STRING, "sluice", 0, 0, 0, NULL,
     "sql: the catalog_name of sluice's rows in iceberg_tables (the name readers give their SqlCatalog or "
     "JdbcCatalog)."},
    {"catalog.properties.jdbc.user", SL_OPT_STRING, NULL, 0, 0, 0, NULL,
     "sql over PostgreSQL: the user (else the URI's or libpq's default)."},
    {"catalog.properties.jdbc.password", SL_OPT_SECRET, NULL, 0, 0, 0, NULL,
     "sql over PostgreSQL: the password (else the URI's, PGPASSWORD or ~/.pgpass)."},
    {"catalog.properties.token", SL_OPT_SECRET, NULL, 0, 0, 0, NULL, "rest: bearer token for the catalog."},
    {"catalog.properties.credential", SL_OPT_SECRET, NULL, 0, 0, 0, NULL,
     "rest: OAuth2 client credential client_id:client_secret, exchanged (client_credentials grant) for a bearer "
     "token at catalog.properties.oauth2-server-uri; asked again when the catalog answers 401."},
    {"catalog.properties.oauth2-server-uri", SL_OPT_STRING, NULL, 0, 0, 0, NULL,
     "rest: the OAuth2 token endpoint (default: <uri>/v1/oauth/tokens)."},
    {"catalog.properties.scope", SL_OPT_STRING, "catalog", 0, 0, 0, NULL,
     "rest: the OAuth2 scope asked for with the credential."},
    {"catalog.properties.ssl.cabundle", SL_OPT_STRING, NULL, 0, 0, 0, NULL,
     "rest over https: PEM file of the CA(s) that sign the catalog's certificate (default: the system's CAs). "
     "Certificates and host names are always verified."},
    {"catalog.properties.ssl.client.cert", SL_OPT_STRING, NULL, 0, 0, 0, NULL,
     "rest over https: PEM client certificate for catalogs that require mutual TLS (with "
     "catalog.properties.ssl.client.key)."},
    {"catalog.properties.ssl.client.key", SL_OPT_STRING, NULL, 0, 0, 0, NULL,
     "rest over https: PEM private key of catalog.properties.ssl.client.cert."},
    {"catalog.properties.timeout", SL_OPT_DURATION, "30s", 0, 100, 3600000, NULL,
     "Connect and request timeout of one catalog call (sql: how long to wait for a locked catalog database)."},
    {"checkpoint.namespace", SL_OPT_STRING, "sluice", 0, 0, 0, NULL,
     "Namespace of the checkpoint table (named after the pipeline; its property sluice.checkpoint changes in the "
     "same commit as the data)."},
    {"write.parquet.compression-codec", SL_OPT_ENUM, "zstd", 0, 0, 0, "zstd|snappy|uncompressed",
     "Compression of the Parquet data and delete files."},
    {"key-index.dir", SL_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Local directory of the key indexes (LMDB, one per table, a cache rebuilt from the table when missing or "
     "stale); default $XDG_CACHE_HOME/sluice/iceberg-index (~/.cache/...), else /var/tmp/sluice-iceberg-index."},
    {"compaction.enabled", SL_OPT_BOOL, "true", 0, 0, 0, NULL,
     "After an epoch's commit, rewrite a table's small data files and their position deletes into "
     "target-sized files (an Iceberg replace snapshot), so readers open a few files, not one per epoch."},
    {"compaction.min-input-files", SL_OPT_INT, "5", 0, 2, 1000000, NULL,
     "Compact when this many small data files (below 3/4 of compaction.target-file-size, chosen size-tiered) "
     "are in the table's current snapshot."},
    {"compaction.target-file-size", SL_OPT_SIZE, "512MiB", 0, 1 << 20, 1LL << 40, NULL,
     "Size of the Parquet data files compaction writes (Iceberg's write.target-file-size-bytes)."},
    {"compaction.delete-ratio-percent", SL_OPT_INT, "10", 0, 1, 100, NULL,
     "Also rewrite a data file of any size once position deletes remove this share of its rows."},
    {"expire-snapshots.enabled", SL_OPT_BOOL, "true", 0, 0, 0, NULL,
     "Remove snapshots past the retention from each table's history, and delete the files only they reached "
     "(the data files compaction and TRUNCATE replaced, old manifests), so metadata stays small."},
    {"expire-snapshots.max-age", SL_OPT_DURATION, "1h", 0, 0, 3153600000000LL, NULL,
     "Keep the snapshots younger than this (time travel and readers still scanning them); a table's own "
     "history.expire.max-snapshot-age-ms property wins."},
    {"expire-snapshots.min-keep", SL_OPT_INT, "1", 0, 1, 100000000, NULL,
     "Keep at least this many of the newest snapshots whatever their age; a table's own "
     "history.expire.min-snapshots-to-keep property wins."},
    {"expire-snapshots.check-interval", SL_OPT_DURATION, "1min", 0, 0, 86400000, NULL,
     "How often after an epoch a table's history is looked at (one catalog load; a commit when snapshots are "
     "due)."},
    {"remove-orphan-files.enabled", SL_OPT_BOOL, "true", 0, 0, 0, NULL,
     "Delete the files in each table's data and metadata directories that no snapshot reaches (an epoch cut "
     "short by a crash, deletes a crash kept expiration from doing)."},
    {"remove-orphan-files.older-than", SL_OPT_DURATION, "1d", 0, 0, 3153600000000LL, NULL,
     "Only files last modified longer ago than this: a younger unreferenced file may be another writer's, not "
     "yet committed."},
    {"remove-orphan-files.check-interval", SL_OPT_DURATION, "1h", 0, 0, 3153600000000LL, NULL,
     "How often after an epoch a table is looked at (one catalog load, every manifest read, the two "
     "directories listed); the first epoch after a start always looks."},
    {"table.properties.", SL_OPT_PREFIX, NULL, 0, 0, 0, NULL,
     "Properties of the tables sluice creates (table.properties.write.metadata.compression-codec: gzip ...)."},
    SL_OPTION_END,
};

static void ice_destroy(void *self);

static void drop_tables(ice_sink *k, int discard)
{
    k->last_src = NULL;
    k->last_table = NULL;
    while (k->tables) {
        ice_table *t = k->tables;
        k->tables = t->next;
        ice_table_free(t, discard);
    }
}

static int ice_create(const sl_options *o, const sl_sink_env *env, void **self, sl_err *err)
{
    *self = NULL;
    ice_sink *k = calloc(1, sizeof *k);
    if (!k)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    k->opts = o;
    k->env = env;
    k->pipeline = strdup(env->pipeline_name);
    k->ckpt_ns = strdup(sl_opt_str(o, "checkpoint.namespace"));
    static const int codecs[] = {SL_PQ_ZSTD, SL_PQ_SNAPPY, SL_PQ_UNCOMPRESSED};
    k->codec = codecs[sl_opt_num(o, "write.parquet.compression-codec")];
    sl_buf_init(&k->key);
    sl_buf_init(&k->key2);
    sl_buf_init(&k->name);
    const char *dir = sl_opt_str(o, "key-index.dir"), *cache = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int n = dir ? asprintf(&k->index_dir, "%s/%s", dir, env->pipeline_name)
            : cache && *cache ? asprintf(&k->index_dir, "%s/sluice/iceberg-index/%s", cache, env->pipeline_name)
            : home && *home ? asprintf(&k->index_dir, "%s/.cache/sluice/iceberg-index/%s", home, env->pipeline_name)
                            : asprintf(&k->index_dir, "/var/tmp/sluice-iceberg-index/%s", env->pipeline_name);
    if (n < 0)
        k->index_dir = NULL;
    if (!k->pipeline || !k->ckpt_ns || !k->index_dir) {
        ice_destroy(k);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    /* a checkpoint table that is not there yet is created by the first
     * commit, which overlaps the source's start instead of preceding it */
    int rc = ice_catalog_open(&k->cat, o, err);
    if (rc == 0 && !env->read_only)
        rc = ice_ckpt_open(k, 0, NULL, err);
    if (rc) {
        ice_destroy(k);
        return rc;
    }
    sl_info("connected to %s", k->cat.desc);
    *self = k;
    return 0;
}

/* `sluice check --connect`: the catalog answers (REST: GET /v1/config; SQL:
 * the database opens and holds or takes the iceberg_tables schema), and the
 * checkpoint namespace and table are there or can be created (nothing else
 * is created here) */
static int ice_check(const sl_options *o, const sl_sink_env *env, FILE *out, sl_err *err)
{
    sl_check c = {.out = out};
    ice_sink k = {.opts = o, .env = env};
    const char *uri = sl_opt_str(o, "catalog.properties.uri");
    sl_err e;
    int rc = ice_catalog_open(&k.cat, o, &e);
    char what[768];
    if (rc == 0 && sl_opt_num(o, "catalog.properties.type") == 0)
        snprintf(what, sizeof what, "Iceberg REST catalog answers GET %sconfig", ((ice_rest *)k.cat.self)->root);
    else
        snprintf(what, sizeof what, "%s holds the iceberg_tables schema", k.cat.desc ? k.cat.desc : uri);
    sl_check_report(&c, rc == 0, rc == 0 ? what : e.msg, rc == 0 ? NULL : "start the catalog, or fix catalog.properties.uri");
    if (rc == 0) {
        k.ckpt_ns = (char *)sl_opt_str(o, "checkpoint.namespace");
        k.pipeline = (char *)env->pipeline_name;
        char *ckpt = NULL;
        rc = ice_ckpt_open(&k, 0, &ckpt, &e);
        if (rc)
            sl_check_report(&c, 0, e.msg, NULL);
        else if (k.ckpt_uuid)
            sl_check_warn(&c, "checkpoint table %s.%s exists%s", k.ckpt_ns, k.pipeline,
                          ckpt ? "; the pipeline resumes from its checkpoint" : " without a checkpoint");
        else
            sl_check_report(&c, 1, "checkpoint table is created on the first run", NULL);
        free(ckpt);
        free(k.ckpt_uuid);
    }
    ice_catalog_close(&k.cat);
    return sl_check_finish(&c, "iceberg sink", uri, err);
}

static int ice_load(void *self, char **out, sl_err *err)
{
    return ice_ckpt_open(self, 0, out, err);
}

static int ice_write(void *self, const sl_batch *b, sl_err *err)
{
    ice_sink *k = self;
    int64_t t0 = sl_mono_us();
    size_t n = 0;
    for (const sl_event *e = b->head; e; e = e->next, n++) {
        if (!e->op)
            continue;
        ice_table *t;
        int rc = ice_table_bind(k, e->schema, &t, err);
        if (rc == 0 && e->op != SL_OP_SCHEMA)
            rc = ice_table_apply(t, e, err);
        if (rc) {
            k->us_rows += sl_mono_us() - t0;
            return rc;
        }
    }
    k->us_rows += sl_mono_us() - t0;
    if (b->commit_token) {
        k->epoch_pos = b->commit_pos;
        k->has_epoch_pos = 1;
    }
    return 0;
}

static int ice_commit(void *self, const char *checkpoint, sl_err *err)
{
    ice_sink *k = self;
    if (!k->ckpt_uuid) {
        int rc = ice_ckpt_open(k, 1, NULL, err);
        if (rc)
            return rc;
    }
    json_t *changes = json_array();
    int rc = 0;
    int64_t t0 = sl_mono_us();
    for (ice_table *t = k->tables; t && !rc; t = t->next)
        rc = ice_table_prepare(t, checkpoint, changes, err);
    /* every file the commit names is durable before the catalog sees it */
    int64_t t1 = sl_mono_us();
    if (rc == 0)
        rc = sl_wfile_batch_sync(&k->batch, err);
    int64_t t2 = sl_mono_us();
    k->us_sync += t2 - t1;
    size_t nt = json_array_size(changes);
    if (rc) {
        json_decref(changes);
        return rc;
    }
    /* the checkpoint in the same transaction as the data it covers */
    json_array_append_new(changes, ice_ckpt_change(k, checkpoint));
    rc = k->cat.ops->commit(k->cat.self, changes, NULL, err);
    json_decref(changes);
    if (rc == ICE_CONFLICT) {
        char names[256] = "", m[SL_ERRLEN];
        snprintf(m, sizeof m, "%s", err->msg);
        size_t n = 0;
        for (ice_table *t = k->tables; t && n < sizeof names; t = t->next)
            if (t->dirty)
                n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", n ? ", " : "", t->target);
        rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "commit of %s refused: another writer changed a table "
                     "since sluice loaded it (%s); sluice must be the only writer of its tables",
                     n ? names : "the checkpoint table", m);
    }
    int64_t t3 = sl_mono_us();
    k->us_catalog += t3 - t2;
    if (rc)
        return rc;
    for (ice_table *t = k->tables; t; t = t->next) {
        sl_err e;
        int changed = t->dirty;
        if (ice_table_committed(t, &e)) {
            /* the snapshot is in; only the cache is behind: it rebuilds */
            sl_warn("%s; the key index of %s is rebuilt from the table", e.msg, t->target);
            ice_index_free(t->index);
            t->index = NULL;
        } else if (changed && ice_compact_table(t, checkpoint, &e)) {
            /* the epoch and its checkpoint are committed: a failed
             * compaction loses nothing (its index is rebuilt, and another
             * writer's commit is found by the next epoch's guarded swap),
             * so it is a warning, not a stop; it is not tried again in this
             * run, so a cause that persists costs no rebuild per epoch */
            sl_warn("%s; compaction of %s is off until the next start", e.msg, t->target);
            t->compact_off = 1;
        }
        if (changed && t->index && ice_expire_table(t, &e)) {
            /* committed already; what is not expired now is next time */
            sl_warn("%s; snapshot expiration of %s is off until the next start", e.msg, t->target);
            t->expire_off = 1;
        }
        if (changed && t->index && ice_remove_orphans(t, &e)) {
            /* committed already; nothing was deleted from an incomplete
             * view of what the table reaches */
            sl_warn("%s; orphan file removal of %s is off until the next start", e.msg, t->target);
            t->orphans_off = 1;
        }
    }
    int64_t t4 = sl_mono_us();
    k->us_index += t4 - t3;
    k->epochs++;
    /* where an epoch's end goes: writing files, fsyncs, the catalog, the index */
    sl_debug("epoch committed: %zu tables, files %.1f ms, fsync %.1f ms, catalog %.1f ms, key index %.1f ms", nt,
             (double)(t1 - t0) / 1000, (double)(t2 - t1) / 1000, (double)(t3 - t2) / 1000, (double)(t4 - t3) / 1000);
    return 0;
}

static int ice_abort(void *self, sl_err *err)
{
    /* forget every table: the next event reloads it (and its key index)
     * from the catalog as last committed */
    ice_sink *k = self;
    drop_tables(k, 1);
    sl_wfile_batch_free(&k->batch);
    return 0;
}

static void ice_destroy(void *self)
{
    ice_sink *k = self;
    if (!k)
        return;
    if (k->epochs)
        sl_info("%" PRId64 " epochs, time in ms: rows %.0f, data files %.0f, delete files %.0f, manifests %.0f, "
                "fsync %.0f, catalog %.0f, key index commit %.0f", k->epochs, (double)k->us_rows / 1000,
                (double)k->us_data / 1000, (double)k->us_dels / 1000, (double)k->us_meta / 1000,
                (double)k->us_sync / 1000, (double)k->us_catalog / 1000, (double)k->us_index / 1000);
    drop_tables(k, 1);
    sl_wfile_batch_free(&k->batch);
    ice_catalog_close(&k->cat);
    sl_buf_free(&k->key);
    sl_buf_free(&k->key2);
    sl_buf_free(&k->name);
    free(k->index_dir);
    free(k->pipeline);
    free(k->ckpt_ns);
    free(k->ckpt_uuid);
    free(k);
}

const sl_sink_plugin sl_sink_iceberg = {
    .name = "iceberg",
    .description = "Apache Iceberg v2 tables through a REST or SQL catalog: Parquet data, position deletes, "
                   "exactly-once (checkpoint committed with each epoch's snapshot)",
    .options = options,
    .guarantee = SL_GUARANTEE_EXACTLY_ONCE,
    .create = ice_create,
    .check_connect = ice_check,
    .load_checkpoint = ice_load,
    .write = ice_write,
    .commit = ice_commit,
    .abort = ice_abort,
    .destroy = ice_destroy,
    .read_back = ice_read_back,
};
