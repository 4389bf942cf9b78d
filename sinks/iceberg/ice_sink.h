/* ice_sink.h — state shared by the files of the iceberg sink.
 *
 * ice_sink.c owns the plugin callbacks and the epoch (exactly-once) logic;
 * ice_catalog.c picks the catalog (catalog.properties.type) behind one ops
 * struct: ice_restcat.c the REST catalog over ice_rest.c (libcurl + jansson,
 * bearer token or OAuth2 client credentials, TLS), ice_sqlcat.c the SQL
 * catalog (iceberg_tables, as Java's JdbcCatalog and pyiceberg's SqlCatalog)
 * over ice_sqldb.c (sqlite or PostgreSQL) and ice_tmeta.c (table metadata
 * files written and updated by sluice itself); ice_type.c the
 * mapping of source columns to Iceberg types and Parquet columns;
 * ice_index.c the primary key -> (data file, row position) index and its
 * per-snapshot delta files; ice_manifest.c the Avro manifests and manifest
 * lists (schemas with field ids, written by sluice: avro-c drops them);
 * ice_table.c loading and creating one table, rebuilding its key index
 * and turning changes into rows and position deletes; ice_schema.c binding
 * source columns to field ids and evolving the schema; ice_commit.c an
 * epoch's files and commit; ice_truncate.c a TRUNCATE's removal of every
 * file; ice_checkpoint.c the checkpoint table;
 * ice_readback.c reading tables back for `sluice migrate`.
 */
#ifndef SL_ICE_SINK_H
#define SL_ICE_SINK_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdint.h>

#include "../../core/buf.h"
#include "../../core/option.h"
#include "../../formats/parquet/parquet.h"
#include "../../formats/parquet/pq_reader.h"
#include "../sink.h"

/* ------------------------------------------------------------- rest -- */

typedef struct ice_rest {
    CURL *curl;
    char *base;   /* "http://host:port/v1/" + prefix "/" when the catalog gives one */
    char *root;   /* "http://host:port/v1/" */
    char *token;  /* bearer token (given, or issued for the OAuth2 credential), or NULL */
    char *cafile; /* catalog.properties.ssl.cabundle, or NULL: the system's CAs */
    char *certfile, *keyfile; /* catalog.properties.ssl.client.cert / .key (mutual TLS), or NULL */
    char *credential, *scope, *token_url; /* OAuth2 client credentials */
    long timeout_ms;
    sl_buf body;
} ice_rest;

/* Connects to the REST catalog of the sink options o (uri, warehouse,
 * token or credential, TLS): GET /v1/config. */
int ice_rest_init(ice_rest *r, const sl_options *o, sl_err *err);
void ice_rest_free(ice_rest *r);
/* One request: method "GET"/"POST"/"DELETE", path under base (or root when
 * path starts with '/'), body JSON or NULL. Returns the HTTP status (>= 100)
 * with the parsed response in *out (NULL when empty or not JSON), or an
 * error: SL_ERETRY when the catalog cannot be reached. */
int ice_rest_call(ice_rest *r, const char *method, const char *path, json_t *body, json_t **out, sl_err *err);
/* the catalog's error message from a response body, or "HTTP n" */
const char *ice_rest_message(json_t *resp, int status, char *buf, size_t len);
/* an HTTP error status as an error: "<what>: HTTP n type: message",
 * SL_ERETRY for 5xx (the catalog's trouble), else SL_ERUNTIME */
int ice_rest_fail(sl_err *err, int status, json_t *resp, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* URL-escapes one path segment into b */
void ice_url_segment(sl_buf *b, const char *s);

/* ----------------------------------------------------------- catalog -- */

/* What a catalog does for the sink, whatever its kind. Tables travel as
 * Iceberg table metadata JSON, commits as the REST spec's table changes
 * ({identifier, requirements, updates}): the REST catalog sends them, the
 * SQL catalog applies them itself (ice_tmeta.c). Results: 0, or
 * ICE_NOTFOUND (no such table), ICE_CONFLICT (a requirement or the swap of
 * the metadata location failed: another writer; err says which), or an
 * sl_err code. */
enum { ICE_NOTFOUND = 1, ICE_CONFLICT = 2 };

typedef struct ice_catalog_ops {
    /* md_location (if not NULL) receives the metadata file md was read
     * from (malloc'd; NULL when the catalog does not say) */
    int (*load)(void *c, const char *ns, const char *name, json_t **md, char **md_location, sl_err *err);
    /* creates namespace ns unless it exists */
    int (*create_namespace)(void *c, const char *ns, sl_err *err);
    /* creates table req.name in ns from a CreateTableRequest (name, schema
     * with field ids, properties); *md its metadata */
    int (*create_table)(void *c, const char *ns, json_t *req, json_t **md, sl_err *err);
    /* applies every change or none; md (if not NULL) receives the new
     * metadata of the one table a single change names */
    int (*commit)(void *c, json_t *changes, json_t **md, sl_err *err);
    void (*close)(void *c);
} ice_catalog_ops;

typedef struct ice_catalog {
    const ice_catalog_ops *ops;
    void *self;
    char *desc;   /* "the Iceberg REST catalog at http://..." for messages */
} ice_catalog;

/* a namespace's levels: "a.b" -> ["a", "b"] (identifiers, REST bodies) */
json_t *ice_ns_json(const char *ns);
/* the dotted form of an identifier's namespace levels (malloc'd), NULL when
 * empty or not strings */
char *ice_ns_join(json_t *levels);

/* the catalog of the sink options (catalog.properties.type) */
int ice_catalog_open(ice_catalog *c, const sl_options *o, sl_err *err);
void ice_catalog_close(ice_catalog *c);
int ice_restcat_open(ice_catalog *c, const sl_options *o, sl_err *err);
int ice_sqlcat_open(ice_catalog *c, const sl_options *o, sl_err *err);

/* table metadata kept by sluice (the SQL catalog; ice_tmeta.c) */
/* new format v2 metadata for a CreateTableRequest at location */
json_t *ice_md_create(json_t *req, const char *location, sl_err *err);
/* checks a change's requirements against md: 0, or ICE_CONFLICT with the
 * failed one in err */
int ice_md_check(json_t *md, json_t *requirements, sl_err *err);
/* applies a change's updates to md (in place); prev_location is the
 * metadata file md was read from (for metadata-log), NULL for none; the
 * files the log no longer keeps (write.metadata.previous-versions-max) are
 * appended to dropped (if not NULL) */
int ice_md_apply(json_t *md, json_t *updates, const char *prev_location, json_t *dropped, sl_err *err);
/* the next metadata file name under location/metadata after prev (NULL:
 * the first): "<version>-<uuid>.metadata.json" */
char *ice_md_next_location(const char *location, const char *prev);
/* writes md to the local file of uri, durably (fsync) */
int ice_md_write(json_t *md, const char *uri, sl_err *err);
json_t *ice_md_read(const char *uri, sl_err *err);

/* the catalog's database (ice_sqldb.c): sqlite or PostgreSQL, statements
 * with $1..$n text parameters (NULL: SQL NULL) */
typedef struct ice_db ice_db;
/* uri: jdbc:sqlite:<path>, sqlite:///<path>, jdbc:postgresql://..., or a
 * libpq URI; user/password (NULL: none) for PostgreSQL */
int ice_db_open(ice_db **out, const char *uri, const char *user, const char *password, long timeout_ms,
                sl_err *err);
void ice_db_close(ice_db *d);
/* runs sql; *val (if not NULL) the first column of the first row (malloc'd,
 * NULL when no row or SQL NULL), *rows (if not NULL) the rows changed */
int ice_db_exec(ice_db *d, const char *sql, int n, const char *const *params, char **val, long *rows, sl_err *err);
/* BEGIN that takes the write lock at once (sqlite: IMMEDIATE) */
int ice_db_begin(ice_db *d, sl_err *err);
/* 1 when sql runs without error (probing for a column) */
int ice_db_probe(ice_db *d, const char *sql);
/* "sqlite database /x" or "PostgreSQL database db on host" */
const char *ice_db_name(const ice_db *d);

/* ------------------------------------------------------------- types -- */

typedef struct ice_col {
    const char *name;   /* borrowed from the source schema */
    int src;            /* index in the source schema */
    int32_t field_id;
    int required;
    char itype[32];     /* Iceberg type the data files hold: "long", "decimal(10, 2)", ... */
    char mapped[32];    /* the Iceberg type of the source type (itype unless widened) */
    char stype[48];     /* the source type it was bound from, for messages */
    sl_pq_type pq;
} ice_col;

/* Maps a source column to its Iceberg and Parquet types. SL_ECONFIG naming
 * the column when it has no exact Iceberg form. */
int ice_type_for(const sl_table_schema *s, int i, ice_col *out, sl_err *err);
/* Makes o write the wider Iceberg type itype ("long", "double" or a
 * decimal) its source type promotes to (a table promoted before the
 * source schema the sink binds); -1 when itype is none of them. */
int ice_type_widen(ice_col *o, const char *itype);
/* Puts value v of column c into parquet column pc. */
int ice_put_value(sl_pq_writer *w, int pc, const ice_col *c, const sl_value *v, const sl_table_schema *s,
                  sl_err *err);
/* Appends the identity of a row's primary key (from row image vals) to b:
 * the key columns cols[pk[0..npk)] (in field id order) as Parquet holds
 * them, so a key read back from a data file has the same bytes */
void ice_key_encode(sl_buf *b, const ice_col *cols, const int *pk, int npk, const sl_value *vals);
/* one key part read back from a Parquet column (physical type; decimal:
 * the Iceberg type is a decimal), v NULL for null */
void ice_key_part_read(sl_buf *b, int physical, int decimal, const sl_pq_rvalue *v);
/* a Parquet decimal's unscaled value */
sl_i128 ice_unscaled(int physical, const sl_pq_rvalue *v);

/* ------------------------------------------------------------- index -- */

typedef struct ice_loc {
    int32_t file;  /* index into the table's file name list */
    int64_t pos;
} ice_loc;
/* sorts ice_locs by file number, then position, unless they already are
 * (ice_commit.c) */
void ice_loc_sort(ice_loc *v, size_t n);

/* the way out of a change the table cannot take, in errors */
#define ICE_RESNAPSHOT "re-snapshot the table into a new Iceberg table (drop it, or route the table to a new name)"

/* the key index on local disk (ice_index.c): tagged with the snapshot id
 * it describes; one write transaction per epoch, committed with the new
 * tag once the catalog accepted the snapshot */
typedef struct ice_index ice_index;
int ice_index_open(const char *dir, ice_index **out, sl_err *err);
void ice_index_free(ice_index *x);
/* the snapshot id the index describes, -1 when none (or not durable) */
int64_t ice_index_tag(ice_index *x);
/* commits the open transaction with tag; abort forgets it */
int ice_index_commit(ice_index *x, int64_t tag, sl_err *err);
void ice_index_abort(ice_index *x);
/* commits what the open transaction holds without a tag (a long rebuild) */
int ice_index_checkpoint(ice_index *x, sl_err *err);
/* the file number for a data file path (interned); -1 and err on failure */
int32_t ice_index_file(ice_index *x, const char *path, sl_err *err);
/* the path of file number file, copied into out; NULL when unknown */
const char *ice_index_file_name(ice_index *x, int32_t file, sl_buf *out);
/* 1 and *out when key is live, 0 when not, < 0 on error */
int ice_index_get(ice_index *x, const void *key, size_t n, ice_loc *out, sl_err *err);
int ice_index_put(ice_index *x, const void *key, size_t n, ice_loc loc, sl_err *err);
/* puts key -> loc: 1 and *old when key was live (its previous location),
 * 0 when it was not, < 0 on error */
int ice_index_swap(ice_index *x, const void *key, size_t n, ice_loc loc, ice_loc *old, sl_err *err);
/* removes key: 1 and *old (where it was) when it was live, 0 when not */
int ice_index_take(ice_index *x, const void *key, size_t n, ice_loc *old, sl_err *err);
/* 1 when key was live, 0 when not, < 0 on error */
int ice_index_del(ice_index *x, const void *key, size_t n, sl_err *err);
int64_t ice_index_count(ice_index *x);
/* forgets every key (TRUNCATE); all: also the files and the tag (a rebuild) */
int ice_index_clear(ice_index *x, int all, sl_err *err);
/* file's rows, less the positions dels[0..ndel) (sorted), now lie in
 * files[0..nout) in order, rows[j] in each: keys that name file are read
 * through this from now on (ice_remap.c) */
int ice_index_remap(ice_index *x, int32_t file, int64_t nrows, const ice_loc *dels, size_t ndel,
                    const int32_t *files, const int64_t *rows, int nout, sl_err *err);
/* file left the table by a compaction that moved its live keys: the
 * rewrite maps that lead into it forget it, and go with their last one */
int ice_index_file_gone(ice_index *x, int32_t file, sl_err *err);
/* a rewrite map's value (ice_remap.c): encoded; a location read through it
 * (0, or 1 when it names a removed row, -1 when the value is malformed);
 * an output marked gone (the outputs still live, -1 malformed) */
int ice_remap_encode(sl_buf *out, int64_t nrows, const ice_loc *dels, size_t ndel, const int32_t *files,
                     const int64_t *rows, int nout, sl_err *err);
int ice_remap_apply(const void *v, size_t n, ice_loc *loc);
int ice_remap_forget(void *v, size_t n, int32_t file);
/* 1 when file is one of the map's outputs, 0 when not, -1 malformed */
int ice_remap_leads_to(const void *v, size_t n, int32_t file);
/* a rebuild's position deletes: added, asked for, dropped at the end */
int ice_index_add_del(ice_index *x, int32_t file, int64_t pos, sl_err *err);
int ice_index_is_deleted(ice_index *x, int32_t file, int64_t pos, sl_err *err);
int ice_index_drop_dels(ice_index *x, sl_err *err);

/* ---------------------------------------------------------- manifest -- */

typedef struct ice_datafile {
    char *path;            /* as recorded in the manifest (URI form) */
    int content;           /* 0 data, 1 position deletes */
    sl_pq_result *res;
} ice_datafile;

typedef struct ice_manifest_info {
    char *path;
    int64_t length;
    int content;
    int64_t seq, min_seq, snapshot_id;
    int32_t added_files, existing_files, deleted_files;
    int64_t added_rows, existing_rows, deleted_rows;
} ice_manifest_info;

/* a manifest as its list names it, and one live entry of it */
typedef struct ice_manifest_ref {
    const char *path;
    int content;
    int64_t seq;
} ice_manifest_ref;

typedef struct ice_entry {
    const ice_manifest_ref *manifest;
    int content;            /* 0 data, 1 position deletes, 2 equality deletes */
    const char *uri;
    int64_t record_count, file_size;
    int64_t seq, file_seq;  /* data and file sequence numbers (inherited ones resolved) */
} ice_entry;

/* Writes a manifest of added files (all of one content) at local path
 * `local`, recorded as `uri`, durable at b's sync. schema_json is the table
 * schema. */
int ice_manifest_write(sl_wfile_batch *b, const char *local, const char *uri, const char *schema_json, int schema_id,
                       const ice_datafile *files, int nfiles, int64_t snapshot_id, int64_t seq,
                       const ice_col *cols, int ncols, ice_manifest_info *out, sl_err *err);
/* Writes a manifest list: the previous list's entries (prev_local, or NULL)
 * followed by the new manifests. Manifests with only DELETED entries (a
 * TRUNCATE's) are not carried over: they matter to their snapshot only. */
int ice_manifest_list_write(sl_wfile_batch *b, const char *local, const char *prev_local, const ice_manifest_info *add, int nadd,
                            int64_t snapshot_id, int64_t parent_id, int64_t seq, sl_err *err);

/* the same, leaving out the previous list's manifests keep() refuses */
int ice_manifest_list_rewrite(sl_wfile_batch *b, const char *local, const char *prev_local,
                              int (*keep)(const char *path, void *arg), void *arg, const ice_manifest_info *add,
                              int nadd, int64_t snapshot_id, int64_t parent_id, int64_t seq, sl_err *err);
/* calls fn with each manifest the list at list_local names */
int ice_manifest_list_each(const char *list_local, int (*fn)(const ice_manifest_ref *m, void *arg, sl_err *err),
                           void *arg, sl_err *err);
/* calls fn with each entry of manifest m: the live ones, and with_deleted
 * also those marked DELETED */
int ice_manifest_each_entry(const ice_manifest_ref *m, int with_deleted,
                            int (*fn)(const ice_entry *e, void *arg, sl_err *err), void *arg, sl_err *err);
/* calls fn for each live entry of the snapshot whose manifest list is at
 * list_local (ice_manifest_files is the short form) */
int ice_manifest_entries(const char *list_local, int (*fn)(const ice_entry *e, void *arg, sl_err *err), void *arg,
                         sl_err *err);
/* A manifest whose entries are the files gone (all of one content) marked
 * DELETED by snapshot_id (a replace snapshot's record of what it removed). */
int ice_manifest_write_deleted(sl_wfile_batch *b, const char *local, const char *uri, const char *schema_json,
                               int schema_id, int content, const ice_entry *const *gone, int n, int64_t snapshot_id,
                               int64_t seq, ice_manifest_info *out, sl_err *err);

/* rows per row group of the data files sluice writes (ice_open_writer) */
enum { ICE_ROW_GROUP_ROWS = 65536 };

/* ------------------------------------------------------------- table -- */

typedef struct ice_sink ice_sink;

typedef struct ice_table {
    struct ice_table *next;
    ice_sink *sink;
    char *target;           /* "ns.table" as routed, for messages */
    char *ns, *name;        /* the Iceberg identifier (ns dotted: "a.b") */
    char *location;         /* table location URI */
    json_t *schema;         /* the current Iceberg schema */
    int schema_id;
    int32_t last_column_id;
    int64_t snapshot_id;    /* current snapshot, 0 when none */
    int64_t last_seq;
    char *manifest_list;    /* the current snapshot's, or NULL */
    sl_pos pos;             /* the source position the table holds up to */
    int has_pos;
    ice_index *index;
    /* the source schema the columns below are bound to */
    const sl_table_schema *src;
    ice_col *cols;
    int ncols;
    /* the open epoch */
    sl_pq_writer *w;
    char *w_uri;
    int32_t w_file;
    ice_datafile *files;
    int nfiles, capfiles;
    ice_loc *dels;
    size_t ndels, capdels;
    int *pk;                /* indexes into cols of the key columns, by field id */
    int npk;
    int *key_ids;           /* the key's field ids the index is made of (sorted) */
    int nkey_ids;           /* -1 until known */
    char *uuid;             /* table-uuid: names the key index's directory */
    int dirty;
    int truncated;          /* the epoch removes every file committed before it */
    int compact_dels_seen;  /* delete files when compaction last found nothing to do */
    int compact_off;        /* compaction failed or cannot apply: off until the next start */
    int64_t expire_checked_us; /* when expiration last looked (monotonic), 0 before */
    int expire_off;         /* the history is not one expiration can cut: off until the next start */
    int64_t orphans_checked_us; /* when orphan removal last looked (monotonic), 0 before */
    int orphans_off;        /* orphan removal cannot run here: off until the next start */
} ice_table;

struct ice_sink {
    const sl_options *opts;
    const sl_sink_env *env;
    char *pipeline;
    char *ckpt_ns;
    char *ckpt_uuid;        /* the checkpoint table's table-uuid */
    ice_catalog cat;
    int codec;
    ice_table *tables;
    sl_pos epoch_pos;       /* the last transaction boundary written */
    int has_epoch_pos;
    uint64_t file_seq;
    char *index_dir;        /* key indexes: <index_dir>/<table-uuid> */
    /* the table the last event's schema was bound to: a batch's events
     * mostly share one, and routing (regular expressions) per event was a
     * tenth of the sink's CPU */
    const sl_table_schema *last_src;
    ice_table *last_table;
    sl_wfile_batch batch;   /* the epoch's files, made durable before the commit */
    /* where the epochs' time goes (microseconds, summed; logged per epoch
     * at debug and in total at the end): rows into Parquet pages and the key
     * index, closing the data files, the delete files, manifests and lists,
     * fsyncs, the catalog commit, the key index commit */
    int64_t epochs, us_rows, us_data, us_dels, us_meta, us_sync, us_catalog, us_index;
    sl_buf key, key2, name;
};

/* the table a source schema's rows go to (loaded or created, its columns
 * bound to s, the Iceberg schema evolved to hold s's columns) */
int ice_table_bind(ice_sink *k, const sl_table_schema *s, ice_table **out, sl_err *err);
/* the event's rows into the open epoch */
int ice_table_apply(ice_table *t, const sl_event *e, sl_err *err);
/* closes the epoch's files and appends the table's commit (identifier,
 * requirements, updates) to changes; a table with nothing to commit adds
 * nothing */
int ice_table_prepare(ice_table *t, const char *checkpoint, json_t *changes, sl_err *err);
/* after the catalog accepted the commit prepared above: the key index
 * committed with the new snapshot id as its tag */
int ice_table_committed(ice_table *t, sl_err *err);
void ice_table_free(ice_table *t, int discard);
/* loads the checkpoint table; create: creates it instead, and it must not
 * have appeared since it was found missing (a fresh pipeline's first
 * commit); *checkpoint (if not NULL) receives its sluice.checkpoint
 * property, NULL when none */
int ice_ckpt_open(ice_sink *k, int create, char **checkpoint, sl_err *err);
/* the checkpoint table's part of an epoch's transactions/commit */
json_t *ice_ckpt_change(ice_sink *k, const char *checkpoint);
/* ---- shared by ice_table.c, ice_schema.c, ice_commit.c ---- */
int64_t ice_random_id(void);
/* mkdir -p: 0, or -1 with errno */
int ice_mkdirs(const char *path);
/* a new file URI under the table's location/dir; *local its local path */
char *ice_new_file(ice_table *t, const char *dir, const char *ext, char **local);
/* the key index of t opened, and rebuilt from the table's data and delete
 * files unless its tag is t's current snapshot (ice_rebuild.c) */
int ice_table_index(ice_table *t, sl_err *err);
/* calls fn for each live file (content 0 data, 1 position deletes, 2
 * equality deletes; its URI) of the snapshot whose manifest list is at
 * list_local, until fn returns nonzero */
int ice_manifest_files(const char *list_local, int (*fn)(int content, const char *uri, void *arg, sl_err *err),
                       void *arg, sl_err *err);
/* the snapshot of table metadata md with that id, or NULL */
json_t *ice_find_snapshot(json_t *md, int64_t id);
/* main's history from snapshot current back to the first parent no longer
 * in md (expired), newest first, in an array the caller frees; *n is 0 when
 * current is not in md. NULL when out of memory. */
json_t **ice_history(json_t *md, int64_t current, size_t *n);
/* the current schema of table metadata md (and its id) */
json_t *ice_current_schema(json_t *md, int *id);
json_t *ice_field_json(int32_t id, const ice_col *c, const sl_column *sc, int required);
/* binds t's columns to s, evolving the table's schema when needed */
int ice_bind_columns(ice_table *t, const sl_table_schema *s, sl_err *err);
/* one table's own commit after its epoch (compaction, expiration): a
 * conflict becomes the message naming `what`, the table and the rule that
 * sluice is its only writer */
int ice_table_commit_own(ice_table *t, json_t *change, const char *what, sl_err *err);
/* snapshot expiration after an epoch (ice_expire.c): at most once per
 * expire-snapshots.check-interval, the snapshots past the retention are
 * removed in a guarded commit and the files only they reached deleted */
int ice_expire_table(ice_table *t, sl_err *err);
/* the after-epoch maintenance gate (expiration, orphan removal): 1 when the
 * step last ran (*checked_us, monotonic, 0 for never) at least every_ms ago,
 * and then now is its new last run */
static inline int ice_maintenance_due(int64_t *checked_us, int64_t now_us, int64_t every_ms)
{
    if (*checked_us && now_us - *checked_us < every_ms * 1000)
        return 0;
    *checked_us = now_us;
    return 1;
}
/* orphan file removal after an epoch (ice_orphans.c): at most once per
 * remove-orphan-files.check-interval, the files in the table's data and
 * metadata directories that no snapshot reaches and that are older than
 * remove-orphan-files.older-than are deleted */
int ice_remove_orphans(ice_table *t, sl_err *err);

/* a TRUNCATE's manifests (ice_truncate.c): every live file of t's current
 * snapshot marked DELETED by snapshot snap (sequence number seq); up to two
 * (data, deletes) into out, *nout of them */
typedef struct ice_truncate_stats {
    int64_t data_files, records, delete_files, position_deletes;
} ice_truncate_stats;
int ice_truncate_manifests(ice_table *t, const char *schema_json, int64_t snap, int64_t seq, ice_manifest_info out[2],
                           int *nout, ice_truncate_stats *stats, sl_err *err);
/* the spec's summary fields of what a TRUNCATE removed */
void ice_truncate_summary(json_t *summary, const ice_truncate_stats *st);
/* a Parquet writer of t's columns at local (durable at the batch's sync) */
int ice_open_writer(ice_table *t, const char *local, sl_pq_writer **w, sl_err *err);
/* closes the open data file (if any) into t->files */
int ice_table_close_data(ice_table *t, sl_err *err);

/* after an epoch's commit: compacts t's small data files and their
 * position deletes into target-sized files in a replace snapshot of its
 * own, when the options ask for it (ice_compact.c) */
int ice_compact_table(ice_table *t, const char *checkpoint, sl_err *err);
/* before an epoch's commit (its data files closed): each of the epoch's own
 * data files whose rows the epoch itself deleted past the delete ratio is
 * rewritten without them and its deletes dropped (ice_compact.c) */
int ice_compact_own(ice_table *t, sl_err *err);
/* the position deletes of delete file uri (files interned in the key
 * index); hook (if not NULL) sees each (file, pos). With into_index they go
 * into the key index's delete set too, which commits untagged every so many
 * rows (ice_rebuild.c) */
int ice_read_pos_deletes(ice_table *t, const char *uri, int into_index, int64_t *ops,
                         int (*hook)(int32_t file, int64_t pos, void *arg, sl_err *err), void *arg, sl_err *err);

/* the columns of r holding t's key (*out: npk of them, the caller frees
 * it, even on error), and the key of a row of r's loaded row group */
int ice_key_columns(const ice_table *t, const sl_pq_reader *r, const char *uri, int **out, sl_err *err);
void ice_key_read(const ice_table *t, const sl_pq_reader *r, const int *pc, int64_t row, sl_buf *key);

/* sluice migrate's verification: want's tables read back (ice_readback.c) */
struct sl_digest_set;
int ice_read_back(void *self, const struct sl_digest_set *want, struct sl_digest_set *out, sl_err *err);

/* namespace and table path "namespaces/<ns>/tables/<name>" into b (the
 * levels of a multi-level ns "a.b" joined by %1F) */
void ice_table_path(sl_buf *b, const char *ns, const char *name);

/* local path of a file URI ("file:/x", "file:///x", "/x"), or NULL when the
 * scheme is not local */
const char *ice_local_path(const char *uri);

#endif
