/* ch_sink.h — state shared by the files of the clickhouse sink.
 *
 * ch_sink.c owns the plugin callbacks, the per-table blocks and the epoch
 * (exactly-once) logic; ch_http.c the libcurl client (retries, failover,
 * TLS); ch_type.c the ClickHouse type model and the mapping of source
 * columns to it; ch_rowbinary.c encoding values into RowBinary and back;
 * ch_ddl.c creating, checking and altering tables; ch_checkpoint.c the
 * sluice_checkpoints table; ch_readback.c `sluice migrate` verification.
 */
#ifndef SL_CH_SINK_H
#define SL_CH_SINK_H

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#include "../../core/buf.h"
#include "../../core/kind_tag.h"
#include "../../core/option.h"
#include "../sink.h"

/* ------------------------------------------------------------ types -- */

typedef enum ch_base {
    CH_OTHER = 0,
    CH_INT8, CH_INT16, CH_INT32, CH_INT64,
    CH_UINT8, CH_UINT16, CH_UINT32, CH_UINT64, CH_UINT128, CH_UINT256,
    CH_FLOAT32, CH_FLOAT64,
    CH_DECIMAL,    /* p, s */
    CH_STRING,
    CH_FIXEDSTRING, /* p = length */
    CH_BOOL,
    CH_DATE, CH_DATE32,
    CH_DATETIME,
    CH_DATETIME64, /* p = precision; utc = the zone is UTC */
    CH_TIME64,     /* p = precision */
    CH_UUID, CH_IPV4, CH_IPV6,
    CH_JSON,
} ch_base;

/* A column type: a scalar, or Array of a scalar (sluice writes no deeper
 * nesting). Nullable and LowCardinality wrap the scalar. */
typedef struct ch_type {
    uint8_t base;
    uint8_t nullable, lowcard, array;
    uint8_t utc;      /* DateTime64 with zone 'UTC' (or DateTime with 'UTC') */
    uint8_t has_zone; /* a zone was named */
    uint16_t p, s;
} ch_type;

/* parses ClickHouse's spelling ("LowCardinality(Nullable(String))"); an
 * unknown type parses as CH_OTHER */
void ch_type_parse(const char *text, ch_type *out);
/* the ')' closing the '(' just before p (quotes skipped), or NULL */
const char *ch_closing_paren(const char *p);
void ch_type_format(sl_buf *b, const ch_type *t);
/* 1 when every value of `from` is a value of `to` (an ALTER to `to` loses nothing) */
int ch_type_widens(const ch_type *from, const ch_type *to);
int ch_type_equal(const ch_type *a, const ch_type *b);

typedef struct ch_map_opts {
    int postgres;    /* the source is PostgreSQL (type OIDs in src_type) */
    int json_type;   /* JSON columns as ClickHouse's JSON type, not String */
    int time64;      /* the server has Time64 */
} ch_map_opts;

/* The ClickHouse type sluice creates for a source column (not yet made
 * Nullable: see ch_column_nullable). */
void ch_type_for(const sl_column *c, const ch_map_opts *o, ch_type *out);
/* whether the created column is Nullable: the source column is, or it is
 * a MySQL date/time (zero dates arrive as NULL) */
int ch_column_nullable(const sl_column *c, const ch_map_opts *o);
/* column comments: core/kind_tag.h (how values read back render) */

/* ---------------------------------------------------------- rowbinary -- */

/* Appends v (of source column c) as a value of t. On a value t cannot hold
 * exactly, writes why into why and returns -1. */
int ch_rb_value(sl_buf *b, const ch_type *t, const sl_column *c, const sl_value *v, char *why, size_t whylen);
/* the type's default (zero, empty, NULL for Nullable) */
void ch_rb_default(sl_buf *b, const ch_type *t);
void ch_rb_varint(sl_buf *b, uint64_t v);
void ch_rb_string(sl_buf *b, const char *s, size_t n);
void ch_rb_u128(sl_buf *b, uint64_t hi, uint64_t lo);

/* Reading back: one value of t from [*p, end) rendered as the source
 * column c renders it (c->kind from the column comment). Returns 0 and
 * advances *p, 1 when the input ends inside the value, -1 when it is
 * malformed. Text lands in scratch. */
int ch_rb_read(const uint8_t **p, const uint8_t *end, const ch_type *t, const sl_column *c, sl_arena *scratch,
               sl_value *out);

/* --------------------------------------------------------------- http -- */

typedef struct ch_http {
    CURL *curl;
    struct curl_slist *headers;
    char **urls;
    int nurls, cur;
    char *user, *password;
    int64_t connect_timeout_ms, request_timeout_ms, retry_timeout_ms;
    int gzip;
    char *ca, *cert, *key;
    int verify;
    /* the last answer */
    long status;
    int exc_code;       /* X-ClickHouse-Exception-Code, 0 if none */
    long status_hint;   /* status line seen while the answer streams in */
    sl_buf resp;
    sl_buf url, zbody;
    /* streaming answers (read_back): called with each chunk instead of resp */
    int (*sink_fn)(void *ctx, const char *p, size_t n);
    void *sink_ctx;
    char curl_err[CURL_ERROR_SIZE];
} ch_http;

int ch_http_init(ch_http *h, const sl_options *o, sl_err *err);
void ch_http_free(ch_http *h);
/* Runs sql: in the body when data is NULL, in the URL with data as the body
 * otherwise; url_params ("&k=v...", may be NULL) are added to the URL.
 * Connection failures and retriable server errors are retried (the same
 * request, against the next URL) with backoff for budget_ms; then
 * SL_ERETRY. A server's refusal is SL_ERUNTIME with ClickHouse's text.
 * The answer is in h->resp. */
int ch_http_query(ch_http *h, const char *sql, const char *url_params, const void *data, size_t len,
                  int64_t budget_ms, sl_err *err);
const char *ch_http_url(const ch_http *h);

/* ------------------------------------------------------------ tables -- */

typedef struct ch_col {
    char *name;
    char *type_text;
    char *comment;
    ch_type type;
    int owned;          /* sluice created it (its comment says so) */
    uint8_t kind;       /* source kind from the comment, for read_back */
    uint8_t elem_kind;
    uint16_t n;
} ch_col;

typedef struct ch_rename {
    char *from, *to;
    sl_pos at;
} ch_rename;

struct ch_binding;

typedef struct ch_table {
    char *db, *name;
    char *qname;        /* `db`.`name` */
    char *display;      /* db.name */
    char *source;       /* the first source table written here */
    int shared;         /* a route that can match several tables feeds it */
    int routed;
    unsigned gen;       /* bumped by every ALTER */
    int replicated;     /* engine name starts with Replicated/Shared */
    ch_col *cols;
    int ncols;
    char **order_by;
    int norder;
    sl_pos ddl_at;      /* position of the last schema change applied */
    int have_ddl;
    ch_rename *renames;
    int nrenames;
    /* the open block */
    sl_buf block;
    size_t rows;
    sl_pos first, last;
    char *block_cols;   /* column list the open block is encoded for */
    struct ch_binding *block_bind; /* a binding of that list (valid until the next ALTER, which flushes) */
    int has_json;       /* a JSON-typed column: RowBinary carries it as a String */
} ch_table;

/* a source schema version bound to the table it is written to */
typedef struct ch_binding {
    const sl_table_schema *schema;
    ch_table *table;
    unsigned gen;       /* table->gen it was made for (an ALTER makes it stale) */
    int nw;             /* columns written, in table order */
    int *w_col;         /* their index in table->cols */
    int *w_src;         /* the source column each takes its value from */
    uint8_t *w_key;     /* the written column is part of ORDER BY */
    int nkey;
    int *key_col;       /* table column of each ORDER BY column */
    int *key_src;       /* source column of each ORDER BY column */
    char *cols;         /* "(`a`, `b`, ..., `_version`, `_is_deleted`)" */
    struct ch_binding *next; /* the same schema's next table (route-mode ALL_MATCH) */
} ch_binding;

/* ----------------------------------------------------------- sender -- */

/* one block on its way to the server */
typedef struct ch_job {
    struct ch_job *next;
    char *sql;             /* the INSERT with its settings and token */
    sl_buf body;           /* RowBinary rows */
    const ch_table *table; /* for messages */
    const ch_binding *bind; /* its column list (the key of a refused row) */
    sl_pos first, last;
    size_t rows;
} ch_job;

typedef struct ch_sender {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    ch_job *head, *tail;
    int queued;            /* waiting or being sent */
    int stop, running;
    int failed;            /* the first failure's code; err holds its message */
    sl_err err;
    ch_http http;          /* a connection of its own */
    uint64_t blocks, rows, bytes;
    int64_t insert_ms;
} ch_sender;

/* ch_sender.c */
int ch_sender_start(ch_sender *s, const sl_options *o, sl_err *err);
/* queues a block (owned from here on); waits while two are queued; returns
 * an earlier block's failure instead */
int ch_sender_push(ch_sender *s, ch_job *j, sl_err *err);
/* waits until every queued block went out; the first failure, or 0 */
int ch_sender_drain(ch_sender *s, sl_err *err);
void ch_sender_stop(ch_sender *s);

/* ------------------------------------------------------------- sink -- */

typedef struct ch_cut {
    uint64_t ordinal;
    sl_pos pos;
} ch_cut;

typedef struct ch_sink {
    const sl_options *opts;
    const sl_sink_env *env; /* valid until destroy (sink.h); its table_hints give PARTITION BY */
    int read_only;          /* `sluice status`: connected to read the checkpoint only */
    const sl_route_table *routes;
    ch_http http;
    ch_map_opts map;
    char *pipeline, *database, *engine, *cluster, *settings, *order_by, *partition_by;
    char *ver_col, *del_col, *ckpt_table;
    int64_t dedup_window, block_size, buffer_size;
    char *server_version;
    int major, minor;
    ch_table **tables;
    size_t ntables, cap_tables;
    /* schema pointer -> binding, open addressing */
    ch_binding **binds;
    size_t nbinds, cap_binds;
    ch_binding *last_bind;
    char **databases;   /* created (or found) in this run */
    size_t ndatabases;
    size_t pending;     /* bytes in every open block */
    /* the epoch */
    uint64_t ordinal;   /* events written since the last checkpoint */
    sl_pos last_pos;    /* position of the last event written */
    ch_cut *cuts;       /* epoch-end cuts made since the last checkpoint */
    size_t ncuts, cap_cuts;
    ch_cut *replay;     /* cuts of a crashed run to make again */
    size_t nreplay, replay_next;
    uint64_t seq;       /* version of the newest row in the checkpoint table */
    uint64_t base_seq;  /* seq of the checkpoint this run started from */
    sl_buf row, key1, key2, sql;
    sl_arena scratch;
    ch_sender sender;
} ch_sink;

/* ch_sink.c: hands the table's open block to the sender (a no-op when
 * empty); ch_settle_table also waits until it went out */
int ch_flush_table(ch_sink *k, ch_table *t, sl_err *err);
int ch_settle_table(ch_sink *k, ch_table *t, sl_err *err);

/* ch_ddl.c */
/* runs a query answered in JSONEachRow: a JSON array of its rows */
int ch_query_rows(ch_sink *k, const char *sql, json_t **rows, sl_err *err);
/* a count() of a JSON answer is above zero (UInt64 comes quoted) */
int ch_json_count_positive(const json_t *v);
/* finds or creates the tables for source schema s (routes applied: every
 * matching route in route-mode ALL_MATCH, a chain through next), and
 * checks or alters them for s at position pos; dry: create and check only
 * (a schema announcement: the ALTER waits for the first row) */
int ch_bind(ch_sink *k, const sl_table_schema *s, sl_pos pos, int dry, ch_binding **out, sl_err *err);
void ch_bindings_free(ch_sink *k);
int ch_table_describe(ch_sink *k, ch_table *t, int *exists, sl_err *err);
/* frees what describe filled in (columns, key, renames) */
void ch_table_clear(ch_table *t);
/* a table not (yet) bound to a source, e.g. to check or read it */
ch_table *ch_table_new(const char *db, const char *name);
void ch_table_free(ch_table *t);
void ch_tables_free(ch_sink *k);
void ch_quote_ident(sl_buf *b, const char *name);
void ch_quote_string(sl_buf *b, const char *s, size_t n);
/* `db`.`table` of the ClickHouse table a source table goes to without routes */
void ch_default_target(const ch_sink *k, const char *qualified, char **db, char **table);
void ch_on_cluster(const ch_sink *k, sl_buf *b);

/* ch_checkpoint.c */
int ch_checkpoint_ensure(ch_sink *k, sl_err *err);
/* whether the checkpoint table exists (for readers that create nothing) */
int ch_checkpoint_exists(ch_sink *k, int *present, sl_err *err);
/* the committed checkpoint (malloc'd or NULL) and the crashed run's cuts */
int ch_checkpoint_load(ch_sink *k, char **out, sl_err *err);
int ch_checkpoint_write(ch_sink *k, const char *kind, const char *text, sl_err *err);

/* ch_readback.c */
int ch_read_back(void *self, const struct sl_digest_set *want, struct sl_digest_set *out, sl_err *err);

/* version of a position: hi << 64 | lo << 32 | idx (lo must fit 32 bits) */
int ch_version(sl_pos p, uint64_t *hi, uint64_t *lo);
void ch_pos_text(sl_buf *b, sl_pos p);
int ch_pos_parse(const char *s, sl_pos *p);

#endif
