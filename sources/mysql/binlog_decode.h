/* binlog_decode.h — turns raw binlog event bodies into schemas and values.
 *
 * No networking here: mysql_stream.c hands over the bytes of TABLE_MAP and
 * ROWS events (after the 19-byte header, without the checksum) and gets
 * sluice schemas and typed values back. Every column type is decoded from
 * its binary row format directly into the value model (no text round
 * trip), the same values the snapshot reader builds from SELECT results.
 */
#ifndef SL_BINLOG_DECODE_H
#define SL_BINLOG_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "../../core/arena.h"
#include "../../core/buf.h"
#include "../../core/err.h"
#include "../../core/event.h"
#include "../../core/schema.h"

enum { SL_ZERO_DATE_NULL = 0, SL_ZERO_DATE_STRING = 1 };

/* MySQL column type codes (TABLE_MAP real types). */
enum {
    MT_DECIMAL = 0, MT_TINY = 1, MT_SHORT = 2, MT_LONG = 3, MT_FLOAT = 4, MT_DOUBLE = 5, MT_NULL = 6,
    MT_TIMESTAMP = 7, MT_LONGLONG = 8, MT_INT24 = 9, MT_DATE = 10, MT_TIME = 11, MT_DATETIME = 12,
    MT_YEAR = 13, MT_NEWDATE = 14, MT_VARCHAR = 15, MT_BIT = 16, MT_TIMESTAMP2 = 17, MT_DATETIME2 = 18,
    MT_TIME2 = 19, MT_JSON = 245, MT_NEWDECIMAL = 246, MT_ENUM = 247, MT_SET = 248, MT_TINY_BLOB = 249,
    MT_MEDIUM_BLOB = 250, MT_LONG_BLOB = 251, MT_BLOB = 252, MT_VAR_STRING = 253, MT_STRING = 254,
    MT_GEOMETRY = 255,
};

/* How character data of a column becomes UTF-8; the last three are
 * MariaDB's INET6, UUID and INET4, which the binlog shows as BINARY(16)
 * and BINARY(4) and SELECT as text: they are emitted as the server's text
 * (sl_mysql_mark_fixed_binary_types says which columns are such). */
enum { SL_CONV_NONE = 0, SL_CONV_UTF8, SL_CONV_LATIN1, SL_CONV_BINARY, SL_CONV_ICONV, SL_CONV_INET6, SL_CONV_UUID,
       SL_CONV_INET4 };

/* Marks column col of a TABLE_MAP schema as the MariaDB type data_type
 * ("inet6", "uuid", "inet4", from information_schema.COLUMNS) when its
 * binlog shape fits (BINARY of 16 or 4 bytes): its values are then
 * decoded to the server's text form. 1 if marked. */
int sl_mysql_mark_fixed_binary_type(sl_column *col, const char *data_type);
/* 1 if the column's binlog shape could be one of those types. */
int sl_mysql_maybe_fixed_binary_type(const sl_column *col);

typedef struct sl_mysql_iconv_cache {
    char name[8][32];
    void *cd[8];
    int n;
} sl_mysql_iconv_cache;

typedef struct sl_mysql_decode_opts {
    int zero_date;                 /* SL_ZERO_DATE_* */
    sl_mysql_iconv_cache *iconv;   /* for charsets other than utf8/latin1/ascii/binary; may be NULL */
    sl_buf *scratch;               /* holds the inflated rows of a compressed event until the next one;
                                    * NULL: compressed rows events are refused */
} sl_mysql_decode_opts;

/* The server that wrote the binlog, from the server version string of its
 * FORMAT_DESCRIPTION event: MariaDB and MySQL count different column types
 * in the SIGNEDNESS metadata (see tablemap.c). */
typedef struct sl_mysql_server {
    int mariadb;
    unsigned version; /* major * 10000 + minor * 100 + patch; 0 = unknown */
} sl_mysql_server;

void sl_mysql_server_parse(const char *version, size_t len, sl_mysql_server *out);

/* Parses a TABLE_MAP body into a new schema (caller owns it). Needs
 * binlog_row_metadata=FULL for names, keys and enum members. srv says who
 * wrote the event (NULL: unknown). Metadata outside its legal range is an
 * error naming the table and column. */
int sl_mysql_parse_table_map(const uint8_t *body, size_t len, const sl_mysql_server *srv, uint64_t *table_id,
                             sl_table_schema **out, sl_err *err);
/* The database and table names of a TABLE_MAP body (256 bytes each), to
 * tell whether a table that cannot be parsed is captured at all; -1 if the
 * body is too short to hold them. */
int sl_mysql_table_map_names(const uint8_t *body, size_t len, char *db, char *table);

typedef struct sl_mysql_rows {
    const uint8_t *p, *end;
    const sl_table_schema *schema;
    const sl_mysql_decode_opts *opts;
    int update;
    char op;
    const uint8_t *present_before, *present_after;
    int n_before, n_after; /* present columns per image */
    int partial;           /* PARTIAL_UPDATE_ROWS_EVENT: JSON columns of the after image may be diffs */
    int n_json;            /* JSON columns of the table (one partial bit each) */
    const uint8_t **json_before; /* per column: its binary JSON in the before image, or NULL */
} sl_mysql_rows;

int sl_mysql_rows_open(sl_mysql_rows *it, int event_type, const uint8_t *body, size_t len,
                       const sl_table_schema *schema, const sl_mysql_decode_opts *opts, sl_err *err);
/* 1 = a row (before/after per the event kind), 0 = no more rows, <0 error. */
int sl_mysql_rows_next(sl_mysql_rows *it, sl_arena *arena, sl_value **before, sl_value **after, sl_err *err);
char sl_mysql_rows_op(int event_type);

/* binlog_events.c: the events that frame transactions */
enum { SL_QUERY_BEGIN = 1, SL_QUERY_COMMIT, SL_QUERY_OTHER, SL_QUERY_XA_START, SL_QUERY_XA_END,
       SL_QUERY_XA_COMMIT, SL_QUERY_XA_ROLLBACK };
typedef struct sl_mysql_query {
    uint32_t thread_id;
    const char *sql; /* the statement, inside the body, without leading blanks */
    size_t len;
    int kind;        /* SL_QUERY_*: BEGIN, COMMIT / ROLLBACK, the XA statements, or anything else */
    const char *db;  /* the statement's default database (not NUL-terminated) */
    size_t db_len;
    const uint8_t *raw; /* the statement as stored: zlib-compressed in a MariaDB compressed QUERY event */
    size_t raw_len;
} sl_mysql_query;
/* -1 when the body is too short for its own lengths */
int sl_mysql_query_parse(const uint8_t *body, size_t len, sl_mysql_query *q);
/* sql/len/kind from a statement's text (leading blanks skipped) */
void sl_mysql_query_classify(sl_mysql_query *q, const char *sql, size_t n);
/* 1 when q starts with the keyword w followed by a blank, ';' or the end */
int sl_mysql_is_word(const char *q, size_t len, const char *w);
/* "domain-server-seq" into out; *standalone: a statement outside BEGIN..COMMIT */
int sl_mysql_gtid_mariadb(const uint8_t *body, size_t len, uint32_t server_id, char *out, size_t outlen,
                          int *standalone);
/* XA transactions: the xid as the server writes it into XA statements,
 * X'<gtrid hex>',X'<bqual hex>',<formatID>; compare with strcasecmp. */
enum { SL_XID_TEXT_MAX = 300 };
/* of an XA_PREPARE_LOG_EVENT body (one_phase(1) formatID(4) gtrid_length(4)
 * bqual_length(4) data); -1 if malformed */
int sl_mysql_xa_prepare_xid(const uint8_t *body, size_t len, int *one_phase, char *out, size_t outlen);
/* of an "XA COMMIT <xid> [ONE PHASE]" / "XA ROLLBACK <xid>" statement (the
 * text after the two keywords, blanks, a trailing ONE PHASE and ';' cut) */
void sl_mysql_xa_statement_xid(const char *sql, size_t len, char *out, size_t outlen);
/* MariaDB GTID event flag: the group is an XA transaction's PREPARE */
enum { SL_MARIADB_GTID_PREPARED_XA = 0x40 };
/* MySQL 8 event kinds MariaDB's headers do not name. */
enum { SL_MYSQL_PARTIAL_UPDATE_ROWS_EVENT = 39, SL_MYSQL_TRANSACTION_PAYLOAD_EVENT = 40,
       SL_MYSQL_GTID_TAGGED_LOG_EVENT = 42 };
/* "uuid:gno" of a MySQL GTID_LOG_EVENT body into out (at least 64 bytes). */
int sl_mysql_gtid_text(const uint8_t *body, size_t len, char *out, size_t outlen);
/* "uuid:tag:gno" of a GTID_TAGGED_LOG_EVENT body (MySQL 8.3+, serialized
 * per mysql::serialization) into out (at least 96 bytes); -1 if malformed. */
int sl_mysql_gtid_tagged_text(const uint8_t *body, size_t len, char *out, size_t outlen);
/* One mysql::serialization variable-length unsigned integer: its length
 * in bytes (1..9), 0 if it does not fit in avail. */
size_t sl_mysql_varlen_read(const uint8_t *p, size_t avail, uint64_t *v);

/* payload_event.c: MySQL 8's TRANSACTION_PAYLOAD_EVENT (compressed
 * transactions). */
enum { SL_MYSQL_PAYLOAD_ZSTD = 0, SL_MYSQL_PAYLOAD_NONE = 255 };
/* The largest event MySQL writes or reads (binlog_event.h,
 * max_log_event_size): the bound of one event inside a payload. */
#define SL_MYSQL_PAYLOAD_EVENT_MAX ((size_t)1 << 30)
typedef struct sl_mysql_payload_info {
    int compression;            /* SL_MYSQL_PAYLOAD_*, or what the header says */
    uint64_t payload_size;      /* bytes of payload after the header */
    uint64_t uncompressed_size; /* as the header claims (0 if absent); not trusted */
    const uint8_t *payload;
} sl_mysql_payload_info;
/* The header of a payload event body; SL_ECONFIG for a compression type
 * sluice cannot decode, SL_ERUNTIME when malformed. */
int sl_mysql_payload_header(const uint8_t *body, size_t len, sl_mysql_payload_info *info, sl_err *err);
typedef struct sl_mysql_payload_reader {
    size_t limit;         /* the largest event inside accepted */
    void *dctx;           /* ZSTD_DCtx, kept from payload to payload */
    sl_buf buf;           /* the current inner event */
    sl_mysql_payload_info info;
    const uint8_t *in;
    size_t in_len, in_pos;
    int frame_done;
    uint64_t inflated;
    unsigned nevents;
} sl_mysql_payload_reader;
void sl_mysql_payload_init(sl_mysql_payload_reader *r, size_t limit);
void sl_mysql_payload_free(sl_mysql_payload_reader *r);
/* Starts reading the payload event body (after its 19-byte header,
 * without its checksum); body must stay valid until the last next(). */
int sl_mysql_payload_open(sl_mysql_payload_reader *r, const uint8_t *body, size_t len, sl_err *err);
/* 1 = the next inner event (19-byte header, then its body; no checksum)
 * in *ev / *evlen, valid until the next call; 0 = no more; <0 error. */
int sl_mysql_payload_next(sl_mysql_payload_reader *r, const uint8_t **ev, size_t *evlen, sl_err *err);

/* MariaDB's compressed event payload (log_bin_compress) inflated into out. */
int sl_mysql_uncompress(const uint8_t *p, size_t len, sl_buf *out, sl_err *err);

/* pieces shared with tests and the JSON decoder */
/* MySQL's net_field_length integer: < 251 itself; 252, 253 then 2, 3
 * bytes; 254 (and 255) then 8; 251 (SQL NULL in result sets) means
 * nothing in an event. -1 past the end. */
int sl_mysql_netlen(const uint8_t **p, const uint8_t *end, uint64_t *v);
int sl_mysql_decimal_text(const uint8_t *p, size_t avail, int precision, int scale, char *out, size_t outlen,
                          size_t *used);
size_t sl_mysql_decimal_size(int precision, int scale);
/* MySQL binary JSON to its text form (as MySQL prints it) */
int sl_mysql_json_to_text(const uint8_t *p, size_t len, sl_arena *a, const char **out, uint32_t *outlen);
/* one value (its type byte apart) as text appended to b; -1 malformed */
int sl_mysql_json_value_text(sl_buf *b, int type, const uint8_t *p, size_t len);
/* An object or array of binary JSON (type 0..3): the printer and the
 * diff applier (json_diff.c) walk its entries through this. */
enum { SL_MYSQL_JSON_MAX_DEPTH = 100 };
typedef struct sl_mysql_json_box {
    const uint8_t *p;
    uint32_t count, size;
    int is_obj, large;
} sl_mysql_json_box;
int sl_mysql_json_box_open(sl_mysql_json_box *bx, int type, const uint8_t *p, size_t len);
/* entry i: key (objects only, else NULL), value type and bytes (an
 * inlined scalar points into the entry) */
int sl_mysql_json_box_item(const sl_mysql_json_box *bx, uint32_t i, const char **key, uint32_t *klen, int *vt,
                           const uint8_t **vp, size_t *vlen);
/* PARTIAL_UPDATE_ROWS_EVENT: a JSON column's diff vector (the bytes after
 * its length) applied to the column's binary before value, the result as
 * text in a; -1 with why set (names the column col). */
int sl_mysql_json_apply_diff(const uint8_t *before, size_t blen, const uint8_t *diff, size_t dlen, const char *col,
                             sl_arena *a, const char **out, uint32_t *outlen, char *why, size_t whylen);
int sl_mysql_charset_conv(uint32_t collation);
/* text of a column charset as UTF-8 in a (each call a whole value) */
int sl_mysql_latin1_to_utf8(const uint8_t *in, size_t len, sl_arena *a, const char **out, uint32_t *outlen);
int sl_mysql_iconv_to_utf8(sl_mysql_iconv_cache *c, uint32_t coll, const uint8_t *in, size_t len, sl_arena *a,
                           const char **out, uint32_t *outlen);
void sl_mysql_iconv_cache_free(sl_mysql_iconv_cache *c);

#endif
