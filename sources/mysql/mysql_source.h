/* mysql_source.h — state shared by the files of the mysql source. */
#ifndef SL_MYSQL_SOURCE_H
#define SL_MYSQL_SOURCE_H

#include <mysql.h>
#include <pthread.h>
#include <stdint.h>

#include "../../core/schema.h"
#include "../../core/table_filter.h"
#include "../live_socket.h"
#include "../source.h"

/* scan.incremental.snapshot.algorithm, in option-table order */
enum sl_mysql_snap_algo { SL_MYSQL_ALGO_AUTO, SL_MYSQL_ALGO_POSITION, SL_MYSQL_ALGO_WATERMARK };

enum sl_mysql_startup {
    SL_MYSQL_START_INITIAL,
    SL_MYSQL_START_LATEST,
    SL_MYSQL_START_EARLIEST,
    SL_MYSQL_START_SPECIFIC,
    SL_MYSQL_START_TIMESTAMP,
    SL_MYSQL_START_SNAPSHOT,
};

/* ssl-mode, in the order of the option's values */
enum sl_mysql_ssl_mode {
    SL_MYSQL_SSL_DISABLED,
    SL_MYSQL_SSL_PREFERRED,
    SL_MYSQL_SSL_REQUIRED,
    SL_MYSQL_SSL_VERIFY_CA,
    SL_MYSQL_SSL_VERIFY_IDENTITY,
};

/* Where the binlog reader stands; serialised into checkpoints. */
typedef struct sl_mysql_pos {
    char file[256];
    uint64_t pos;      /* start of the next event to read */
    char gtid[512];    /* GTID of the last committed transaction / set to resume from */
    /* where the earliest prepared XA transaction still waiting for its
     * outcome starts (xa_hold.h); xa_file empty when none waits */
    char xa_file[256];
    uint64_t xa_pos;
} sl_mysql_pos;

typedef struct sl_mysql_conf {
    const char *host;
    unsigned port;
    const char *user, *password;
    uint32_t server_id;
    int startup;
    const char *spec_file, *spec_gtid;
    uint64_t spec_pos;
    int64_t start_ts_ms;
    int64_t heartbeat_ms, connect_timeout_ms;
    int max_retries;
    int zero_date_mode;
    int snap_algo; /* enum sl_mysql_snap_algo */
    const char *time_zone;
    int on_log_loss; /* SL_ON_LOG_LOSS_* */
    int ssl_mode;    /* enum sl_mysql_ssl_mode */
    const char *ssl_ca, *ssl_cert, *ssl_key;
    int tls_diagnosed; /* a probe of mysql_tls.c: do not diagnose again */
    /* the source's stop mark: connection attempts and their back-off end
     * when interrupt() is called (NULL: never, e.g. check --connect) */
    sl_live_socket *stop;
} sl_mysql_conf;

typedef struct sl_mysql_source {
    sl_mysql_conf conf;
    sl_source_env env;
    const sl_options *opts;
    sl_table_filter filter;
    sl_schema_cache schemas;
    sl_live_socket live; /* the binlog connection, for interrupt() */
    char *identity;      /* the server's identity once connected (atomic pointer, set once) */
    int replicas_unknown_warned;
    MYSQL *probe_conn;   /* probe()'s own connection (the probe thread's) */
} sl_mysql_source;

/* probe() of source.h: SHOW BINARY LOGS on probe_conn. */
int sl_mysql_probe(void *self, const char *committed, sl_source_probe *out, sl_err *err);

/* Registers (or clears, with NULL) the connection interrupt() may shut down. */
void sl_mysql_set_live(sl_mysql_source *s, MYSQL *m);

/* Opens a client connection with the configured timeouts and retries;
 * read_timeout_s > 0 makes a read that hears nothing for that long fail
 * (the binlog connection, which heartbeats keep talking). */
int sl_mysql_connect_rt(const sl_mysql_conf *c, unsigned read_timeout_s, MYSQL **out, sl_err *err);
int sl_mysql_connect(const sl_mysql_conf *c, MYSQL **out, sl_err *err);
/* TLS (mysql_tls.c): option checks (files readable, cert with key);
 * setting a handle's TLS options before connecting; after a failed
 * connect, whether the failure is a certificate that will not verify
 * (no retry) and the fix to append; after a connect, SL_ECONFIG when
 * ssl-mode requires TLS and the connection is plaintext; the state for
 * check --connect ("TLSv1.3, TLS_AES_256_GCM_SHA384" or "plaintext"). */
int sl_mysql_tls_validate(const sl_options *o, sl_err *err);
void sl_mysql_tls_apply(const sl_mysql_conf *c, MYSQL *m);
int sl_mysql_tls_failure_is_final(const sl_mysql_conf *c, unsigned code);
int sl_mysql_tls_fix(const sl_mysql_conf *c, unsigned code, sl_err *err, int rc);
int sl_mysql_tls_verify(const sl_mysql_conf *c, MYSQL *m, sl_err *err);
void sl_mysql_tls_describe(MYSQL *m, char *buf, size_t len);
/* Runs a statement and returns the first column of the first row (malloc'd, NULL if no row). */
int sl_mysql_query_value(MYSQL *m, const char *sql, char **out, sl_err *err);

/* SL_ECONFIG naming the version and the reason for servers the source
 * cannot read (MySQL before 8.0.1, MariaDB before 10.5: no
 * binlog_row_metadata); 0 otherwise, also for an unknown version. */
int sl_mysql_server_supported(const char *server_version, sl_err *err);
/* The statement that reports where the binlog ends, for a server version
 * string: SHOW BINARY LOG STATUS on MySQL 8.2+, else SHOW MASTER STATUS. */
const char *sl_mysql_binlog_status_sql(const char *server_version);
/* rpl_refused.c: the event (header included, checksum too) of a fetch
 * that libmariadb failed (errnum CR_UNKNOWN_BINLOG_EVENT or
 * CR_BINLOG_ERROR), taken from the
 * connection's read buffer: only MySQL 8's PARTIAL_UPDATE_ROWS,
 * TRANSACTION_PAYLOAD and GTID_TAGGED_LOG, and only when this fetch read a
 * packet (the NET's pkt_nr was pkt_nr_before before it); NULL otherwise. */
const uint8_t *sl_mysql_refused_event_bytes(const NET *net, unsigned pkt_nr_before, unsigned errnum, size_t *len);
/* Where the binlog ends now; SL_ECONFIG when binary logging is off. */
int sl_mysql_binlog_end(MYSQL *m, char *file, size_t flen, uint64_t *pos, sl_err *err);

int sl_mysql_pos_parse(const char *json, sl_mysql_pos *p, sl_err *err);
/* {"file":..,"pos":..,"gtid":..} */
int sl_mysql_pos_format(const sl_mysql_pos *p, char *buf, size_t len);
/* the numeric suffix of "mysql-bin.000042" */
uint64_t sl_mysql_file_seq(const char *file);

/* A table's schema from information_schema, described as TABLE_MAP would. */
int sl_mysql_catalog_schema(MYSQL *m, const char *db, const char *table, sl_table_schema **out, sl_err *err);

/* Learns the server's identity on m and refuses a server other than the
 * one the checkpoint (or this run's first connection) was read from. */
int sl_mysql_identity_check(sl_mysql_source *s, MYSQL *m, sl_err *err);
/* The host this source registers its binlog connection under. */
void sl_mysql_replica_tag(const sl_mysql_source *s, char *buf, size_t len);
/* 1 if a registered replica other than own_tag (our own "sluice:<name>",
 * or NULL) holds server_id (holder describes it: a "sluice:<name>" tag, or
 * the replica's host), 0 if none; *own = 1 when own_tag's entry was
 * listed; SL_ERUNTIME if the replica list cannot be read (privileges). */
int sl_mysql_replica_holder(MYSQL *m, uint32_t server_id, const char *own_tag, char *holder, size_t len, int *own,
                            sl_err *err);
/* Before connecting as a replica: SL_ECONFIG naming the holder when
 * another replica uses our server-id. */
int sl_mysql_claim_server_id(sl_mysql_source *s, MYSQL *m, sl_err *err);
/* After the binlog connection closed: ends its dump thread on the server
 * (best effort, one short attempt), which frees the server-id at once;
 * over `open` (a connection already made, or NULL) when it still works. */
void sl_mysql_release_server_id(const sl_mysql_source *s, MYSQL *open, unsigned long dump_thread);

int sl_mysql_stream(sl_mysql_source *s, const char *resume, sl_emitter *out, sl_err *err);
int sl_mysql_check(sl_mysql_source *s, FILE *out, sl_err *err);

#endif
