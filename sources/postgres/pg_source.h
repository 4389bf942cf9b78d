/* pg_source.h — state shared by the files of the postgres source. */
#ifndef SL_PG_SOURCE_H
#define SL_PG_SOURCE_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdint.h>

#include "../../core/schema.h"
#include "../../core/table_filter.h"
#include "../live_socket.h"
#include "../source.h"
#include "pg_names.h"
#include "pgoutput.h"

enum sl_pg_startup {
    SL_PG_START_INITIAL,
    SL_PG_START_LATEST,
    SL_PG_START_COMMITTED,
    SL_PG_START_SNAPSHOT,
};

/* sslmode, in the order of the option's values (libpq's) */
enum sl_pg_ssl_mode {
    SL_PG_SSL_DISABLE,
    SL_PG_SSL_ALLOW,
    SL_PG_SSL_PREFER,
    SL_PG_SSL_REQUIRE,
    SL_PG_SSL_VERIFY_CA,
    SL_PG_SSL_VERIFY_FULL,
};

typedef struct sl_pg_conf {
    const char *host;
    unsigned port;
    const char *user, *password, *dbname;
    const char *slot, *publication;
    int slot_temporary;
    int publication_create;
    int startup;
    int streaming;
    int64_t heartbeat_ms, status_ms, connect_timeout_ms;
    int max_retries;
    const char *work_mem; /* logical_decoding_work_mem of the walsender, or NULL */
    int on_log_loss;      /* SL_ON_LOG_LOSS_* */
    int ssl_mode;         /* enum sl_pg_ssl_mode */
    const char *sslrootcert, *sslcert, *sslkey;
    int tls_diagnosed;    /* a probe of pg_tls.c: do not diagnose again */
    /* the source's stop mark: connection attempts and their back-off end
     * when interrupt() is called (NULL: never, e.g. check --connect) */
    sl_live_socket *stop;
} sl_pg_conf;

/* type OID -> parse class (and element class for arrays) */
typedef struct sl_pg_type_cache {
    uint32_t *oids;
    uint32_t *base; /* a domain's base type (through domains over domains); else the type itself */
    uint8_t *cls, *elem;
    size_t n, cap;
} sl_pg_type_cache;

typedef struct sl_pg_source {
    sl_pg_conf conf;
    sl_source_env env;
    const sl_options *opts;
    sl_pg_names names; /* database and schema.table patterns */
    sl_table_filter filter;
    sl_schema_cache schemas;
    sl_pg_type_cache types;
    char slot_name[64], pub_name[64];
    sl_live_socket live; /* the replication connection, for interrupt() */
    /* end LSN of the newest checkpoint the sink has committed: what the
     * standby status update may confirm */
    pthread_mutex_t ack_mu;
    uint64_t acked_lsn;
    char *identity; /* the server's identity once connected (atomic pointer, set once) */
    PGconn *probe_conn; /* probe()'s own connection (the probe thread's) */
} sl_pg_source;

/* probe() of source.h: pg_current_wal_lsn() on probe_conn. */
int sl_pg_probe(void *self, const char *committed, sl_source_probe *out, sl_err *err);

/* Connection with sluice's session settings (ISO dates, UTC, exact floats,
 * hex bytea); replication = 1 opens a walsender in database mode. Retries
 * per connect.max-retries. */
int sl_pg_connect(const sl_pg_conf *c, int replication, PGconn **out, sl_err *err);
/* TLS (pg_tls.c): option checks (files readable, cert with key); the
 * libpq parameters of sslmode `mode` (up to 4, appended to keys/vals,
 * returns how many); after a failed connect, SL_ECONFIG with the fix when
 * asking again with less verification shows which TLS check failed (else
 * rc); the state for check --connect ("TLSv1.3, TLS_AES_256_GCM_SHA384"
 * or "plaintext"). */
int sl_pg_tls_validate(const sl_options *o, sl_err *err);
const char *sl_pg_tls_mode_name(int mode);
size_t sl_pg_tls_params(const sl_pg_conf *c, int mode, const char **keys, const char **vals);
int sl_pg_tls_diagnose(const sl_pg_conf *c, sl_err *err, int rc);
void sl_pg_tls_describe(PGconn *conn, char *buf, size_t len);
/* Runs sql; *out (if given) receives the result, which the caller clears. */
int sl_pg_exec(PGconn *conn, const char *sql, PGresult **out, sl_err *err);
int sl_pg_exec_params(PGconn *conn, const char *sql, int n, const char *const *params, PGresult **out, sl_err *err);
/* sl_pg_exec that also gives the error's SQLSTATE ("" when it succeeded
 * or the server sent none): errors are told apart by code, never by text */
int sl_pg_exec_state(PGconn *conn, const char *sql, PGresult **out, char sqlstate[6], sl_err *err);
/* The SQLSTATE of a failed result, "" if none */
const char *sl_pg_sqlstate(const PGresult *res);
/* SQLSTATEs the source reacts to (PostgreSQL manual, Appendix A) */
#define SL_PG_UNDEFINED_OBJECT "42704"             /* e.g. a publication pgoutput cannot find */
#define SL_PG_OBJECT_IN_USE "55006"                /* a replication slot active for another process */
#define SL_PG_CONFIGURATION_LIMIT_EXCEEDED "53400" /* all replication slots are in use */
/* Runs sql whose outcome does not matter (COMMIT before closing). */
void sl_pg_exec_quiet(PGconn *conn, const char *sql);
/* PQerrorMessage without its trailing newline */
const char *sl_pg_errmsg(PGconn *conn, char *buf, size_t len);
/* "0/16B3748" <-> integer */
int sl_pg_lsn_parse(const char *text, uint64_t *lsn);
void sl_pg_lsn_format(uint64_t lsn, char *buf, size_t len);
/* "schema"."table" with identifiers quoted */
void sl_pg_table_ref(char *out, size_t len, const char *nsp, const char *rel);
void sl_pg_quote_ident(char *out, size_t len, const char *name);

/* Resolves a type OID (domains to their base type, arrays to their
 * element) into the parse class of pg_types.h. */
int sl_pg_type_class(sl_pg_source *src, PGconn *conn, uint32_t oid, uint8_t *cls, uint8_t *elem, uint32_t *base,
                     sl_err *err);
void sl_pg_type_cache_free(sl_pg_type_cache *c);
/* A table's schema: its columns from rel (a Relation message) when given,
 * else from the catalog; key, nullability and type names from the catalog.
 * The same table yields the same schema either way. */
int sl_pg_table_schema(sl_pg_source *src, PGconn *conn, const char *nsp, const char *relname,
                       const sl_pgo_relation *rel, sl_table_schema **out, sl_err *err);
/* Captured tables (schema.table) that exist now, in name order. */
int sl_pg_list_tables(sl_pg_source *src, PGconn *conn, char ***names, size_t *n, sl_err *err);

/* Makes sure the publication exists and covers the captured tables. */
int sl_pg_publication_ensure(sl_pg_source *src, PGconn *conn, sl_err *err);

/* Registers (or clears, with NULL) the connection interrupt() shuts down. */
void sl_pg_set_live(sl_pg_source *s, PGconn *conn);

/* IDENTIFY_SYSTEM on the replication connection: refuses a server other
 * than the one the checkpoint (or this run's first connection) was read
 * from; the first identity is kept for the checkpoints. */
int sl_pg_identity_check(sl_pg_source *s, PGconn *repl, sl_err *err);

int sl_pg_stream(sl_pg_source *s, const char *resume, sl_emitter *out, sl_err *err);
int sl_pg_check(sl_pg_source *s, FILE *out, sl_err *err);
int sl_pg_digest(sl_pg_source *src, struct sl_digest_set *out, sl_err *err);

#endif
