/* mysql_snapshot.c — chunk readers of the mysql source's snapshot.
 *
 * Each reader has its own connection and reads one key range at a time
 * inside START TRANSACTION WITH CONSISTENT SNAPSHOT: no FLUSH TABLES WITH
 * READ LOCK, no LOCK TABLES. Where the chunk stands in the binlog comes
 * from one of two algorithms (scan.incremental.snapshot.algorithm):
 * snapshot-position, the exact binlog position of the snapshot that
 * MariaDB reports as binlog_snapshot_file/position; or watermark, for
 * servers that report none (MySQL 8) and non-InnoDB tables: the binlog end
 * read before the chunk (low) and after it (high), and the coordinator
 * drops from the chunk every key the binlog changed from low on
 * (sl_snapshot_submit_window). Rows come through the binary
 * protocol (prepared statements, fetched unbuffered) so floats, times and
 * large integers arrive exactly, and are turned into the same values the
 * binlog decoder produces. snapshot/coordinator.c merges the chunks into
 * the binlog stream.
 */
#define SL_LOG_COMPONENT "mysql source"

#include <errmsg.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../../core/clock.h"
#include "../../core/envelope.h"
#include "../../core/log.h"
#include "../../core/verify.h"
#include "binlog_decode.h"
#include "../../snapshot/split_setup.h"
#include "mysql_snapshot.h"

typedef struct reader {
    sl_snap_reader base; /* owner: the sl_mysql_snap */
    MYSQL *conn;
    unsigned stmt_errno; /* of the last statement that failed */
} reader;

static sl_mysql_snap *snap_of(const reader *r) { return r->base.owner; }

static void quote_ident(char *out, size_t len, const char *name)
{
    size_t o = 0;
    out[o++] = '`';
    for (const char *p = name; *p && o + 3 < len; p++) {
        if (*p == '`')
            out[o++] = '`';
        out[o++] = *p;
    }
    out[o++] = '`';
    out[o] = 0;
}

static void table_ref(char *out, size_t len, const sl_table_schema *s)
{
    char a[300], b[300];
    quote_ident(a, sizeof a, s->db);
    quote_ident(b, sizeof b, s->table);
    snprintf(out, len, "%s.%s", a, b);
}

/* key >= lo as (k1 > ?) OR (k1 = ? AND k2 > ?) ... OR (all = ?), and the
 * same with < for hi: the expanded form lets every optimizer use the
 * primary key range, which row-value comparisons do not always do. */
static void key_predicate(sl_buf *sql, const sl_snap_table *t, int upper, int *nparams)
{
    const char *strict = upper ? "<" : ">";
    sl_buf_adds(sql, "(");
    for (int i = 0; i < t->nkey; i++) {
        if (i)
            sl_buf_adds(sql, " OR ");
        sl_buf_adds(sql, "(");
        for (int j = 0; j <= i; j++) {
            char q[300];
            quote_ident(q, sizeof q, t->schema->cols[t->key_cols[j]].name);
            if (j)
                sl_buf_adds(sql, " AND ");
            sl_buf_printf(sql, "%s %s ?", q, j < i ? "=" : strict);
            (*nparams)++;
        }
        sl_buf_adds(sql, ")");
    }
    if (!upper) {
        sl_buf_adds(sql, " OR (");
        for (int j = 0; j < t->nkey; j++) {
            char q[300];
            quote_ident(q, sizeof q, t->schema->cols[t->key_cols[j]].name);
            sl_buf_printf(sql, "%s%s = ?", j ? " AND " : "", q);
            (*nparams)++;
        }
        sl_buf_adds(sql, ")");
    }
    sl_buf_adds(sql, ")");
}

/* Parameter values of one bound, decoded from its JSON form. */
typedef struct bound_vals {
    int n;
    char *text[64];
    unsigned long len[64];
    long long num[64];
    int is_num[64];
} bound_vals;

static void bound_free(bound_vals *b)
{
    for (int i = 0; i < b->n; i++)
        free(b->text[i]);
    b->n = 0;
}

static int unhex(const char *h, char **out, unsigned long *len)
{
    size_t n = strlen(h) / 2;
    char *p = malloc(n + 1);
    if (!p)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(h + 2 * i, "%2x", &v) != 1) {
            free(p);
            return -1;
        }
        p[i] = (char)v;
    }
    *out = p;
    *len = (unsigned long)n;
    return 0;
}

static int bound_parse(const char *json, bound_vals *b, const sl_snap_table *t)
{
    memset(b, 0, sizeof *b);
    json_error_t je;
    json_t *arr = json_loads(json, 0, &je);
    if (!json_is_array(arr) || (int)json_array_size(arr) != t->nkey) {
        json_decref(arr);
        return -1;
    }
    for (int i = 0; i < t->nkey; i++) {
        const char *p = json_string_value(json_array_get(arr, (size_t)i));
        if (!p || strlen(p) < 2 || p[1] != ':') {
            json_decref(arr);
            bound_free(b);
            return -1;
        }
        b->n = i + 1;
        if (p[0] == 'n') {
            b->is_num[i] = 1;
            b->text[i] = strdup(p + 2);
            b->len[i] = (unsigned long)strlen(p + 2);
        } else if (p[0] == 'x') {
            if (unhex(p + 2, &b->text[i], &b->len[i])) {
                json_decref(arr);
                bound_free(b);
                return -1;
            }
        } else {
            size_t n = json_string_length(json_array_get(arr, (size_t)i)) - 2;
            b->text[i] = malloc(n + 1);
            if (b->text[i]) {
                memcpy(b->text[i], p + 2, n);
                b->text[i][n] = 0;
            }
            b->len[i] = (unsigned long)n;
        }
        if (!b->text[i]) {
            json_decref(arr);
            bound_free(b);
            return -1;
        }
    }
    json_decref(arr);
    return 0;
}

/* Appends the params of one predicate in the order key_predicate used. */
static void bind_bound(MYSQL_BIND *p, int *np, const bound_vals *b, const sl_snap_table *t, int upper,
                       unsigned long long *nums)
{
    for (int i = 0; i <= t->nkey; i++) {
        if (i == t->nkey && upper)
            break;
        int last = i == t->nkey ? t->nkey - 1 : i;
        for (int j = 0; j <= last; j++) {
            MYSQL_BIND *x = &p[(*np)++];
            memset(x, 0, sizeof *x);
            const sl_column *c = &t->schema->cols[t->key_cols[j]];
            if (b->is_num[j]) {
                /* integers bound as integers: a string would be compared as a double */
                nums[j] = c->kind == SL_UINT || c->kind == SL_BIT ? strtoull(b->text[j], NULL, 10)
                                                                   : (unsigned long long)strtoll(b->text[j], NULL, 10);
                x->buffer_type = MYSQL_TYPE_LONGLONG;
                x->buffer = &nums[j];
                x->is_unsigned = c->kind == SL_UINT || c->kind == SL_BIT;
            } else {
                x->buffer_type = c->kind == SL_BYTES ? MYSQL_TYPE_BLOB
                                 : c->kind == SL_DECIMAL ? MYSQL_TYPE_NEWDECIMAL
                                                         : MYSQL_TYPE_STRING;
                x->buffer = b->text[j];
                x->buffer_length = b->len[j];
                x->length = (unsigned long *)&b->len[j];
            }
        }
    }
}

/* Result buffers for one row of a statement. */
typedef struct row_binds {
    int n;
    MYSQL_BIND *b;
    unsigned long *len;
    my_bool *is_null, *error;
    union cell {
        long long i;
        float f;
        double d;
        MYSQL_TIME t;
        char s[256];
    } *cells;
    const int *cols; /* schema column of each result column */
} row_binds;

static void binds_free(row_binds *r)
{
    free(r->b);
    free(r->len);
    free(r->is_null);
    free(r->error);
    free(r->cells);
    memset(r, 0, sizeof *r);
}

static int binds_setup(row_binds *r, const sl_table_schema *s, const int *cols, int n)
{
    memset(r, 0, sizeof *r);
    r->n = n;
    r->cols = cols;
    r->b = calloc((size_t)n, sizeof *r->b);
    r->len = calloc((size_t)n, sizeof *r->len);
    r->is_null = calloc((size_t)n, sizeof *r->is_null);
    r->error = calloc((size_t)n, sizeof *r->error);
    r->cells = calloc((size_t)n, sizeof *r->cells);
    if (!r->b || !r->len || !r->is_null || !r->error || !r->cells) {
        binds_free(r);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        const sl_column *c = &s->cols[cols ? cols[i] : i];
        MYSQL_BIND *b = &r->b[i];
        b->length = &r->len[i];
        b->is_null = &r->is_null[i];
        b->error = &r->error[i];
        switch (c->kind) {
        case SL_INT:
        case SL_UINT:
        case SL_YEAR:
            b->buffer_type = MYSQL_TYPE_LONGLONG;
            b->is_unsigned = c->kind != SL_INT;
            b->buffer = &r->cells[i].i;
            break;
        case SL_FLOAT:
            b->buffer_type = MYSQL_TYPE_FLOAT;
            b->buffer = &r->cells[i].f;
            break;
        case SL_DOUBLE:
            b->buffer_type = MYSQL_TYPE_DOUBLE;
            b->buffer = &r->cells[i].d;
            break;
        case SL_DATE:
            b->buffer_type = MYSQL_TYPE_DATE;
            b->buffer = &r->cells[i].t;
            break;
        case SL_TIME:
            b->buffer_type = MYSQL_TYPE_TIME;
            b->buffer = &r->cells[i].t;
            break;
        case SL_DATETIME:
        case SL_TIMESTAMP:
            b->buffer_type = MYSQL_TYPE_DATETIME;
            b->buffer = &r->cells[i].t;
            break;
        default:
            b->buffer_type = MYSQL_TYPE_BLOB;
            b->buffer = r->cells[i].s;
            b->buffer_length = sizeof r->cells[i].s;
            break;
        }
    }
    return 0;
}

static int zero_date_value(sl_value *v, const MYSQL_TIME *t, const sl_column *c, int mode, sl_arena *a)
{
    if (mode == SL_ZERO_DATE_NULL) {
        *v = sl_val_null();
        return 0;
    }
    char buf[48];
    int n;
    if (c->kind == SL_DATE) {
        n = snprintf(buf, sizeof buf, "%04u-%02u-%02u", t->year, t->month, t->day);
    } else {
        n = snprintf(buf, sizeof buf, "%04u-%02u-%02u %02u:%02u:%02u", t->year, t->month, t->day, t->hour,
                     t->minute, t->second);
        if (c->scale > 0)
            n += snprintf(buf + n, sizeof buf - (size_t)n, ".%06lu", t->second_part);
        if (c->scale > 0 && c->scale < 6)
            n -= 6 - c->scale;
    }
    char *s = sl_arena_strndup(a, buf, (size_t)n);
    if (!s)
        return -1;
    *v = sl_val_text(SL_STRING, s, (uint32_t)n);
    return 0;
}

/* Converts the fetched row into values identical to the binlog decoder's. */
static int convert_row(MYSQL_STMT *st, row_binds *r, const sl_table_schema *s, int zero_mode, sl_arena *a,
                       sl_value *out)
{
    for (int i = 0; i < r->n; i++) {
        int ci = r->cols ? r->cols[i] : i;
        const sl_column *c = &s->cols[ci];
        sl_value *v = &out[ci];
        if (r->is_null[i]) {
            *v = sl_val_null();
            continue;
        }
        const union cell *cell = &r->cells[i];
        memset(v, 0, sizeof *v);
        switch (c->kind) {
        case SL_INT:
            *v = sl_val_int(cell->i);
            break;
        case SL_UINT:
            *v = sl_val_uint((uint64_t)cell->i);
            break;
        case SL_YEAR:
            v->kind = SL_YEAR;
            v->v.i = cell->i;
            break;
        case SL_BIT: {
            /* BIT arrives as its bytes, most significant first */
            uint64_t u = 0;
            for (unsigned long k = 0; k < r->len[i] && k < sizeof cell->s; k++)
                u = u << 8 | (unsigned char)cell->s[k];
            v->kind = SL_BIT;
            v->aux = c->precision;
            v->v.u = u;
            break;
        }
        case SL_FLOAT:
            v->kind = SL_FLOAT;
            v->v.d = cell->f;
            break;
        case SL_DOUBLE:
            v->kind = SL_DOUBLE;
            v->v.d = cell->d;
            break;
        case SL_DATE:
        case SL_DATETIME:
        case SL_TIMESTAMP: {
            const MYSQL_TIME *t = &cell->t;
            if (t->month == 0 || t->day == 0) {
                if (zero_date_value(v, t, c, zero_mode, a))
                    return -1;
                break;
            }
            int64_t days = sl_days_from_civil(t->year, t->month, t->day);
            v->kind = c->kind;
            v->aux = c->scale;
            if (c->kind == SL_TIMESTAMP)
                v->flags |= SL_VF_ZONED_TRIM;
            if (c->kind == SL_DATE)
                v->v.i = days;
            else
                v->v.i = ((days * 86400 + t->hour * 3600 + t->minute * 60 + t->second) * 1000000) +
                         (int64_t)t->second_part;
            break;
        }
        case SL_TIME: {
            const MYSQL_TIME *t = &cell->t;
            int64_t us = ((int64_t)(t->day * 24 + t->hour) * 3600 + t->minute * 60 + t->second) * 1000000 +
                         (int64_t)t->second_part;
            v->kind = SL_TIME;
            v->aux = c->scale;
            v->v.i = t->neg ? -us : us;
            break;
        }
        default: {
            unsigned long len = r->len[i];
            char *p = sl_arena_alloc(a, len + 1);
            if (!p)
                return -1;
            if (len <= sizeof cell->s) {
                memcpy(p, cell->s, len);
            } else {
                MYSQL_BIND big;
                memset(&big, 0, sizeof big);
                big.buffer_type = MYSQL_TYPE_BLOB;
                big.buffer = p;
                big.buffer_length = len;
                if (mysql_stmt_fetch_column(st, &big, (unsigned)i, 0))
                    return -1;
            }
            p[len] = 0;
            *v = sl_val_text(c->kind, p, (uint32_t)len);
            break;
        }
        }
    }
    return 0;
}

static int reader_connect(sl_snap_reader *base, sl_err *err)
{
    reader *r = (reader *)base;
    int rc = sl_mysql_connect(&snap_of(r)->src->conf, &r->conn, err);
    if (rc)
        return rc;
    /* TIMESTAMP values come back in UTC; the session zone only shapes text */
    if (mysql_query(r->conn, "SET time_zone = '+00:00'") ||
        mysql_query(r->conn, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "preparing a snapshot connection: %s", mysql_error(r->conn));
    return 0;
}

/* code (may be NULL) receives the statement's error number on failure: a
 * lost connection shows there, not always on the connection */
static int run_stmt(MYSQL *m, const char *sql, MYSQL_BIND *params, int nparams, MYSQL_STMT **out, unsigned *code,
                    sl_err *err)
{
    MYSQL_STMT *st = mysql_stmt_init(m);
    if (!st)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    if (mysql_stmt_prepare(st, sql, strlen(sql)) || (nparams && mysql_stmt_bind_param(st, params)) ||
        mysql_stmt_execute(st)) {
        int rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "snapshot query failed: %s (%s)", mysql_stmt_error(st), sql);
        if (code)
            *code = mysql_stmt_errno(st);
        mysql_stmt_close(st);
        return rc;
    }
    *out = st;
    return 0;
}

/* The split callback: the first key of the next chunk, by counting
 * chunk_size keys in key order from lo. */
static int split_next(void *ctx, sl_snap_table *t, const char *lo, char **hi, sl_err *err)
{
    reader *r = ctx;
    *hi = NULL;
    sl_buf sql;
    sl_buf_init(&sql);
    char ref[700];
    table_ref(ref, sizeof ref, t->schema);
    sl_buf_adds(&sql, "SELECT ");
    for (int i = 0; i < t->nkey; i++) {
        char q[300];
        quote_ident(q, sizeof q, t->schema->cols[t->key_cols[i]].name);
        sl_buf_printf(&sql, "%s%s", i ? ", " : "", q);
    }
    sl_buf_printf(&sql, " FROM %s", ref);
    int np = 0;
    if (lo) {
        sl_buf_adds(&sql, " WHERE ");
        key_predicate(&sql, t, 0, &np);
    }
    sl_buf_adds(&sql, " ORDER BY ");
    for (int i = 0; i < t->nkey; i++) {
        char q[300];
        quote_ident(q, sizeof q, t->schema->cols[t->key_cols[i]].name);
        sl_buf_printf(&sql, "%s%s", i ? ", " : "", q);
    }
    sl_buf_printf(&sql, " LIMIT 1 OFFSET %zu", snap_of(r)->snap.chunk_size);
    sl_buf_addc(&sql, 0);
    MYSQL_BIND params[64 * 65 / 2 + 64];
    unsigned long long nums[64];
    bound_vals bv = {0};
    int rc = 0;
    np = 0;
    if (lo) {
        if (bound_parse(lo, &bv, t)) {
            sl_buf_free(&sql);
            return sl_errf(err, SL_ERUNTIME, "snapshot of %s: damaged chunk bound %s", t->name, lo);
        }
        bind_bound(params, &np, &bv, t, 0, nums);
    }
    MYSQL_STMT *st = NULL;
    rc = sql.failed ? sl_errf(err, SL_ERUNTIME, "out of memory")
                    : run_stmt(r->conn, sql.data, params, np, &st, &r->stmt_errno, err);
    if (!rc) {
        row_binds rb;
        sl_arena a;
        sl_arena_init(&a);
        sl_value row[64];
        memset(row, 0, sizeof row);
        if (binds_setup(&rb, t->schema, t->key_cols, t->nkey) || mysql_stmt_bind_result(st, rb.b)) {
            rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s", mysql_stmt_error(st));
        } else {
            int f = mysql_stmt_fetch(st);
            if (f == 0 || f == MYSQL_DATA_TRUNCATED) {
                sl_value full[4096];
                if (t->schema->ncols <= 4096 &&
                    !convert_row(st, &rb, t->schema, snap_of(r)->src->conf.zero_date_mode, &a, full)) {
                    *hi = sl_snap_bound_from_row(t->schema, t->key_cols, t->nkey, full);
                    if (!*hi)
                        rc = sl_errf(err, SL_ERUNTIME, "out of memory");
                } else {
                    rc = sl_errf(err, SL_ERUNTIME, "snapshot of %s: cannot read a chunk bound", t->name);
                }
            } else if (f != MYSQL_NO_DATA) {
                rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s", mysql_stmt_error(st));
            }
        }
        (void)row;
        binds_free(&rb);
        sl_arena_free(&a);
        mysql_stmt_close(st);
    }
    bound_free(&bv);
    sl_buf_free(&sql);
    return rc;
}

static int snapshot_position(MYSQL *m, sl_pos *at, char *file, size_t flen, uint64_t *pos, sl_err *err)
{
    if (mysql_query(m, "SHOW STATUS LIKE 'binlog_snapshot_%'"))
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "SHOW STATUS: %s", mysql_error(m));
    MYSQL_RES *res = mysql_store_result(m);
    MYSQL_ROW row;
    int got = 0;
    while (res && (row = mysql_fetch_row(res))) {
        if (strcmp(row[0], "Binlog_snapshot_file") == 0 && row[1]) {
            snprintf(file, flen, "%s", row[1]);
            got |= 1;
        } else if (strcmp(row[0], "Binlog_snapshot_position") == 0 && row[1]) {
            *pos = strtoull(row[1], NULL, 10);
            got |= 2;
        }
    }
    if (res)
        mysql_free_result(res);
    if (got != 3 || !file[0])
        return sl_errf(err, SL_ECONFIG,
                       SL_LOG_PREFIX "the server does not report binlog_snapshot_file/position (MariaDB does; "
                       "MySQL does not), which scan.incremental.snapshot.algorithm: snapshot-position needs; "
                       "set scan.incremental.snapshot.algorithm: watermark (or auto)");
    at->hi = sl_mysql_file_seq(file);
    at->lo = *pos;
    at->idx = 0;
    return 0;
}

/* A watermark lowered to the snapshot's exact position where that is
 * lower. MariaDB writes a transaction to the binlog before InnoDB commits
 * it (group commit: binlog, then the engine), so the binlog end read just
 * before a snapshot opens can already lie past a change the snapshot does
 * not see; a window starting there would not drop that key from the chunk,
 * and the chunk's older row would overwrite the change (a deleted row came
 * back: seen once in CI's crash loop). Every change before the snapshot's
 * own position is visible to it, so the lower of the two is a safe low
 * watermark (a lower one only drops more keys, which the binlog brings). */
static int lower_to_snapshot_position(MYSQL *m, sl_pos *at, char *file, size_t flen, uint64_t *pos, sl_err *err)
{
    sl_pos snap_at;
    char snap_file[256];
    uint64_t snap_pos;
    int rc = snapshot_position(m, &snap_at, snap_file, sizeof snap_file, &snap_pos, err);
    if (rc || sl_pos_cmp(snap_at, *at) >= 0)
        return rc;
    *at = snap_at;
    snprintf(file, flen, "%s", snap_file);
    *pos = snap_pos;
    return 0;
}

int sl_mysql_snapshot_position(MYSQL *m, sl_mysql_pos *p, sl_pos *at, sl_err *err)
{
    if (mysql_query(m, "START TRANSACTION WITH CONSISTENT SNAPSHOT"))
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "START TRANSACTION WITH CONSISTENT SNAPSHOT: %s",
                       mysql_error(m));
    int rc = snapshot_position(m, at, p->file, sizeof p->file, &p->pos, err);
    mysql_query(m, "COMMIT");
    return rc;
}

int sl_mysql_reports_snapshot_position(MYSQL *m, int *yes, sl_err *err)
{
    sl_mysql_pos probe;
    sl_pos probe_at;
    memset(&probe, 0, sizeof probe);
    int rc = sl_mysql_snapshot_position(m, &probe, &probe_at, err);
    *yes = rc == 0;
    return rc == SL_ECONFIG ? 0 : rc;
}

int sl_mysql_snapshot_begin(sl_mysql_source *src, MYSQL *m, sl_mysql_pos *p, sl_pos *at, int *watermark,
                            sl_err *err)
{
    sl_mysql_pos probe;
    sl_pos probe_at;
    memset(&probe, 0, sizeof probe);
    *watermark = src->conf.snap_algo == SL_MYSQL_ALGO_WATERMARK;
    if (!*watermark) {
        int rc = sl_mysql_snapshot_position(m, p ? p : &probe, p ? at : &probe_at, err);
        if (rc != SL_ECONFIG || src->conf.snap_algo != SL_MYSQL_ALGO_AUTO)
            return rc;
        sl_info("the server reports no snapshot position (binlog_snapshot_file/position): snapshot chunks are "
                "placed by binlog watermarks");
        *watermark = 1;
    }
    if (!p)
        return 0;
    int rc = sl_mysql_binlog_end(m, p->file, sizeof p->file, &p->pos, err);
    if (rc)
        return rc;
    *at = (sl_pos){sl_mysql_file_seq(p->file), p->pos, 0};
    /* the reader starts no later than the first chunk's low watermark:
     * where the server reports a snapshot position, the lower of the two */
    sl_mysql_pos snap;
    sl_pos snap_at;
    rc = sl_mysql_snapshot_position(m, &snap, &snap_at, err);
    if (rc == SL_ECONFIG)
        return 0;
    if (!rc && sl_pos_cmp(snap_at, *at) < 0) {
        memcpy(p->file, snap.file, sizeof p->file);
        p->pos = snap.pos;
        *at = snap_at;
    }
    return rc;
}

/* High or low watermark: the binlog's end now, as a position. */
static int watermark_at(MYSQL *m, sl_pos *at, char *file, size_t flen, uint64_t *pos, sl_err *err)
{
    int rc = sl_mysql_binlog_end(m, file, flen, pos, err);
    if (!rc)
        *at = (sl_pos){sl_mysql_file_seq(file), *pos, 0};
    return rc;
}

/* read_chunk_once: the chunk's columns are not the shape its table is read
 * as (an ALTER TABLE the binlog reader has not reached yet) */
enum { SHAPE_CHANGED = 1000, SHAPE_WAIT_TRIES = 100 /* of 100 ms */ };

/* A table altered while it is snapshotted must not be read with the old
 * shape: SHAPE_CHANGED when the columns differ by count or name. */
static int check_shape(MYSQL_STMT *st, const sl_snap_table *t, const sl_table_schema *sc, sl_err *err)
{
    MYSQL_RES *meta = mysql_stmt_result_metadata(st);
    if (!meta)
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s: no result metadata", t->name);
    unsigned n = mysql_num_fields(meta);
    MYSQL_FIELD *f = mysql_fetch_fields(meta);
    int same = (int)n == sc->ncols;
    for (unsigned i = 0; same && i < n; i++)
        same = strcmp(f[i].org_name && *f[i].org_name ? f[i].org_name : f[i].name, sc->cols[i].name) == 0;
    mysql_free_result(meta);
    return same ? 0 : SHAPE_CHANGED;
}

static int read_chunk_once(reader *r, sl_snap_chunk *c, sl_err *err)
{
    sl_mysql_snap *ms = snap_of(r);
    sl_snap_table *t = &ms->snap.tables[c->table];
    /* the shape the binlog reader last showed: it moves on ALTER TABLE */
    const sl_table_schema *s = sl_snapshot_schema(&ms->snap, c->table);
    sl_pos at, high;
    char file[256] = "";
    uint64_t fpos = 0;
    /* the low watermark comes before the read's snapshot opens */
    if (ms->watermark && watermark_at(r->conn, &at, file, sizeof file, &fpos, err))
        return SL_ERUNTIME;
    if (mysql_query(r->conn, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"))
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "START TRANSACTION WITH CONSISTENT SNAPSHOT: %s",
                       mysql_error(r->conn));
    int rc = 0;
    if (!ms->watermark)
        rc = snapshot_position(r->conn, &at, file, sizeof file, &fpos, err);
    else if (ms->exact_low)
        rc = lower_to_snapshot_position(r->conn, &at, file, sizeof file, &fpos, err);
    sl_buf sql;
    sl_buf_init(&sql);
    bound_vals lo = {0}, hi = {0};
    MYSQL_STMT *st = NULL;
    sl_batch *b = NULL;
    row_binds rb = {0};
    if (rc)
        goto out;
    char ref[700];
    table_ref(ref, sizeof ref, s);
    /* SELECT *, so that a column added since the schema was read shows */
    sl_buf_printf(&sql, "SELECT * FROM %s", ref);
    int np = 0;
    if (c->lo || c->hi)
        sl_buf_adds(&sql, " WHERE ");
    if (c->lo)
        key_predicate(&sql, t, 0, &np);
    if (c->lo && c->hi)
        sl_buf_adds(&sql, " AND ");
    if (c->hi)
        key_predicate(&sql, t, 1, &np);
    sl_buf_addc(&sql, 0);
    MYSQL_BIND params[2 * (64 * 65 / 2 + 64)];
    unsigned long long nums_lo[64], nums_hi[64];
    np = 0;
    if ((c->lo && bound_parse(c->lo, &lo, t)) || (c->hi && bound_parse(c->hi, &hi, t))) {
        rc = sl_errf(err, SL_ERUNTIME, "snapshot of %s: damaged chunk bounds", t->name);
        goto out;
    }
    if (c->lo)
        bind_bound(params, &np, &lo, t, 0, nums_lo);
    if (c->hi)
        bind_bound(params, &np, &hi, t, 1, nums_hi);
    if (sql.failed) {
        rc = sl_errf(err, SL_ERUNTIME, "out of memory");
        goto out;
    }
    if ((rc = run_stmt(r->conn, sql.data, params, np, &st, &r->stmt_errno, err)))
        goto out;
    if ((rc = check_shape(st, t, s, err)))
        goto out;
    if (binds_setup(&rb, s, NULL, s->ncols) || mysql_stmt_bind_result(st, rb.b)) {
        rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s", mysql_stmt_error(st));
        goto out;
    }
    b = sl_emit_new_batch(r->base.pool->out);
    sl_txinfo *tx = b ? sl_arena_alloc(&b->arena, sizeof *tx) : NULL;
    if (!tx) {
        rc = sl_errf(err, SL_ERUNTIME, "out of memory");
        goto out;
    }
    memset(tx, 0, sizeof *tx);
    tx->file = sl_arena_strdup(&b->arena, file);
    tx->ts_ms = sl_wall_ms();
    tx->mariadb = strstr(mysql_get_server_info(r->conn), "MariaDB") != NULL;
    for (;;) {
        int f = mysql_stmt_fetch(st);
        if (f == MYSQL_NO_DATA)
            break;
        if (f == 1) {
            rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "reading %s: %s", t->name, mysql_stmt_error(st));
            goto out;
        }
        sl_value *vals = sl_batch_row(b, s->ncols);
        sl_event *e = vals ? sl_batch_add_event(b, SL_OP_READ, s) : NULL;
        if (!e || convert_row(st, &rb, s, ms->src->conf.zero_date_mode, &b->arena, vals)) {
            rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "converting a row of %s", t->name);
            goto out;
        }
        e->after = vals;
        e->tx = tx;
        e->snapshot = SL_SNAP_TRUE;
        e->pos = at;
        e->offset = fpos;
        e->row = 0; /* Debezium's snapshot rows are all row 0 of their position */
        if (sl_emit_should_stop(ms->out)) {
            rc = 0;
            sl_batch_free(b);
            b = NULL;
            goto out;
        }
    }
out:
    if (st)
        mysql_stmt_close(st);
    mysql_query(r->conn, "COMMIT");
    binds_free(&rb);
    bound_free(&lo);
    bound_free(&hi);
    sl_buf_free(&sql);
    if (rc) {
        sl_batch_free(b);
        return rc;
    }
    if (!b) {
        sl_snapshot_abandon(&ms->snap, c);
        return 0;
    }
    high = at;
    if (ms->watermark) {
        /* the high watermark comes after the read's snapshot closed */
        char hfile[256];
        uint64_t hpos;
        if ((rc = watermark_at(r->conn, &high, hfile, sizeof hfile, &hpos, err))) {
            sl_batch_free(b);
            return rc;
        }
        sl_debug("snapshot of %s: chunk [%s, %s) read, %zu rows between %s:%" PRIu64 " and %s:%" PRIu64,
                 t->name, c->lo ? c->lo : "null", c->hi ? c->hi : "null", b->count, file, fpos, hfile, hpos);
    } else {
        sl_debug("snapshot of %s: chunk [%s, %s) read, %zu rows at %s:%" PRIu64, t->name, c->lo ? c->lo : "null",
                 c->hi ? c->hi : "null", b->count, file, fpos);
    }
    return sl_snapshot_submit_window(&ms->snap, c, at, high, b, err);
}

/* A chunk whose table changed shape is read again once the binlog reader
 * has shown the new shape (sl_snapshot_reshape); if no row written since
 * the ALTER brings it for a while, the run restarts from its last
 * checkpoint, which reads the new shape from the catalog. */
static int read_chunk(sl_snap_reader *base, sl_snap_chunk *c, sl_err *err)
{
    reader *r = (reader *)base;
    sl_mysql_snap *ms = snap_of(r);
    const char *name = ms->snap.tables[c->table].name;
    for (int waited = 0;; waited++) {
        int rc = read_chunk_once(r, c, err);
        if (rc != SHAPE_CHANGED)
            return rc;
        if (sl_emit_should_stop(ms->out)) {
            sl_snapshot_abandon(&ms->snap, c);
            return 0;
        }
        if (waited == SHAPE_WAIT_TRIES)
            return sl_errf(err, SL_ERETRY,
                           SL_LOG_PREFIX "table %s changed shape while it was being snapshotted (ALTER TABLE) and "
                           "the binlog has not shown the new shape for %d s (no row was written since); restarting "
                           "from the last checkpoint to read it in the new shape",
                           name, SHAPE_WAIT_TRIES / 10);
        if (!waited)
            sl_info("snapshot of %s: the table changed shape (ALTER TABLE); its chunk is read again once the "
                    "binlog shows the new shape",
                    name);
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void reader_disconnect(sl_snap_reader *base)
{
    reader *r = (reader *)base;
    if (r->conn)
        mysql_close(r->conn);
    r->conn = NULL;
}

/* A broken connection (the client library has an error on it) may heal;
 * a configuration error will not. */
static int reader_failed(sl_snap_reader *base, int rc, int in_split)
{
    reader *r = (reader *)base;
    if (in_split) {
        /* also when only the failed statement says so (a KILLed
         * connection) */
        int lost = r->stmt_errno == CR_SERVER_GONE_ERROR || r->stmt_errno == CR_SERVER_LOST;
        r->stmt_errno = 0;
        return r->conn && (mysql_errno(r->conn) || lost) ? SL_SNAP_RECONNECT : SL_ERUNTIME;
    }
    return rc == SL_ECONFIG || rc == SL_ERETRY ? rc : SL_SNAP_RECONNECT;
}

static const sl_snap_reader_ops reader_ops = {
    .connect = reader_connect,
    .disconnect = reader_disconnect,
    .split = split_next,
    .read = read_chunk,
    .failed = reader_failed,
};

static int discover(sl_mysql_snap *ms, MYSQL *m, sl_err *err)
{
    sl_mysql_source *src = ms->src;
    if (mysql_query(m, "SELECT TABLE_SCHEMA, TABLE_NAME, COALESCE(TABLE_ROWS, 0), COALESCE(ENGINE, '') "
                       "FROM information_schema.TABLES "
                       "WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN "
                       "('mysql','information_schema','performance_schema','sys') ORDER BY 1, 2"))
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "listing tables: %s", mysql_error(m));
    MYSQL_RES *res = mysql_store_result(m);
    MYSQL_ROW row;
    int rc = 0;
    typedef struct found {
        char *db, *tb;
        uint64_t rows;
    } found;
    found *list = NULL;
    size_t n = 0;
    while (res && (row = mysql_fetch_row(res))) {
        if (!sl_table_filter_match(&src->filter, row[0], row[1]))
            continue;
        found *nl = realloc(list, (n + 1) * sizeof *nl);
        if (!nl)
            break;
        list = nl;
        list[n].db = strdup(row[0]);
        list[n].tb = strdup(row[1]);
        list[n].rows = strtoull(row[2], NULL, 10);
        n++;
        /* a consistent snapshot covers InnoDB only: other engines' rows
         * are read as of the statement, which only watermarks can place */
        if (strcasecmp(row[3], "InnoDB") != 0 && !ms->watermark) {
            if (src->conf.snap_algo == SL_MYSQL_ALGO_POSITION) {
                rc = sl_errf(err, SL_ECONFIG,
                             SL_LOG_PREFIX "table %s.%s uses the %s engine, which a consistent snapshot does not "
                             "cover, so scan.incremental.snapshot.algorithm: snapshot-position cannot place its "
                             "rows; set scan.incremental.snapshot.algorithm: watermark (or auto), or ALTER TABLE "
                             "%s.%s ENGINE=InnoDB",
                             row[0], row[1], row[3][0] ? row[3] : "unknown", row[0], row[1]);
                break;
            }
            sl_info("table %s.%s uses the %s engine: snapshot chunks are placed by binlog watermarks", row[0],
                    row[1], row[3][0] ? row[3] : "unknown");
            ms->watermark = 1;
        }
    }
    if (res)
        mysql_free_result(res);
    for (size_t i = 0; i < n && !rc; i++) {
        sl_table_schema *s = NULL;
        rc = sl_mysql_catalog_schema(m, list[i].db, list[i].tb, &s, err);
        if (rc)
            break;
        if (sl_schema_cache_add(&src->schemas, s)) {
            sl_schema_free(s);
            rc = sl_errf(err, SL_ERUNTIME, "out of memory");
            break;
        }
        int keys[64], nkey = 0;
        rc = sl_split_key_columns(s, src->opts, SL_LOG_COMPONENT, keys, &nkey, err);
        if (rc)
            break;
        rc = sl_snapshot_add_table(&ms->snap, s->qualified, s, keys, nkey, list[i].rows, err);
        if (rc)
            break;
        sl_snap_table *t = &ms->snap.tables[ms->snap.ntables - 1];
        /* evenly distributed integer keys are split by arithmetic alone */
        const sl_column *kc = &s->cols[keys[0]];
        if (nkey == 1 && (kc->kind == SL_INT || (kc->kind == SL_UINT)) && list[i].rows > ms->snap.chunk_size) {
            char sql[1400], ref[700], q[300];
            table_ref(ref, sizeof ref, s);
            quote_ident(q, sizeof q, kc->name);
            snprintf(sql, sizeof sql, "SELECT CAST(MIN(%s) AS SIGNED), CAST(MAX(%s) AS SIGNED) FROM %s", q, q, ref);
            if (!mysql_query(m, sql)) {
                MYSQL_RES *mm = mysql_store_result(m);
                MYSQL_ROW r2 = mm ? mysql_fetch_row(mm) : NULL;
                if (r2 && r2[0] && r2[1]) {
                    long long mn = strtoll(r2[0], NULL, 10), mx = strtoll(r2[1], NULL, 10);
                    if (mn >= 0)
                        sl_split_try_arith(&ms->snap, t, mn, mx, list[i].rows);
                }
                if (mm)
                    mysql_free_result(mm);
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(list[i].db);
        free(list[i].tb);
    }
    free(list);
    return rc;
}

int sl_mysql_snapshot_prepare(sl_mysql_source *src, MYSQL *m, const char *state_json, sl_pos start, int watermark,
                              sl_mysql_snap **out, sl_err *err)
{
    sl_mysql_snap *ms = calloc(1, sizeof *ms);
    if (!ms)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    ms->src = src;
    ms->watermark = watermark;
    sl_reader_pool_setup(&ms->pool, &ms->snap, src->opts, src->env.pipeline, start);
    ms->snap.metrics = src->env.metrics;
    int rc = discover(ms, m, err);
    /* after discover: a non-InnoDB table turns auto to watermarks */
    if (!rc && ms->watermark)
        rc = sl_mysql_reports_snapshot_position(m, &ms->exact_low, err);
    if (!rc && state_json)
        rc = sl_snapshot_restore(&ms->snap, state_json, err);
    if (rc) {
        sl_mysql_snapshot_free(ms);
        return rc;
    }
    *out = ms;
    return 0;
}

int sl_mysql_snapshot_start(sl_mysql_snap *ms, sl_emitter *out, sl_err *err)
{
    ms->out = out;
    return sl_reader_pool_launch(&ms->pool, ms, sizeof(reader), &reader_ops, ms->src->conf.max_retries, out,
                                 ms->watermark ? ", placed by binlog watermarks" : ", each at its exact binlog position",
                                 err);
}

int sl_mysql_snapshot_failed(sl_mysql_snap *ms, sl_err *err) { return sl_reader_pool_failed(&ms->pool, err); }

void sl_mysql_snapshot_free(sl_mysql_snap *ms)
{
    if (!ms)
        return;
    sl_reader_pool_destroy(&ms->pool);
    sl_snapshot_free(&ms->snap);
    free(ms);
}

/* `sluice migrate` verification: every captured table scanned once more and
 * each row rendered exactly as the sinks render it. */
int sl_mysql_digest(sl_mysql_source *src, sl_digest_set *out, sl_err *err)
{
    MYSQL *m;
    int rc = sl_mysql_connect(&src->conf, &m, err);
    if (rc)
        return rc;
    if (mysql_query(m, "SET time_zone = '+00:00'")) {
        rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s", mysql_error(m));
        mysql_close(m);
        return rc;
    }
    if (mysql_query(m, "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_TYPE = "
                       "'BASE TABLE' AND TABLE_SCHEMA NOT IN ('mysql','information_schema','performance_schema',"
                       "'sys') ORDER BY 1, 2")) {
        rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "listing tables: %s", mysql_error(m));
        mysql_close(m);
        return rc;
    }
    MYSQL_RES *res = mysql_store_result(m);
    char **names = NULL;
    size_t n = 0;
    MYSQL_ROW row;
    while (res && (row = mysql_fetch_row(res))) {
        if (!sl_table_filter_match(&src->filter, row[0], row[1]))
            continue;
        char **nn = realloc(names, (n + 2) * sizeof *nn);
        if (!nn)
            break;
        names = nn;
        names[n++] = strdup(row[0]);
        names[n++] = strdup(row[1]);
    }
    if (res)
        mysql_free_result(res);
    sl_buf json;
    sl_buf_init(&json);
    for (size_t i = 0; i + 1 < n && !rc; i += 2) {
        sl_table_schema *s = NULL;
        rc = sl_mysql_catalog_schema(m, names[i], names[i + 1], &s, err);
        if (rc)
            break;
        sl_digest *d = sl_digest_get(out, s->qualified, s);
        char ref[700], sql[800];
        table_ref(ref, sizeof ref, s);
        snprintf(sql, sizeof sql, "SELECT * FROM %s", ref);
        MYSQL_STMT *st = NULL;
        row_binds rb = {0};
        sl_arena a;
        sl_arena_init(&a);
        sl_value *vals = calloc((size_t)s->ncols, sizeof *vals);
        if (!d || !vals)
            rc = sl_errf(err, SL_ERUNTIME, "out of memory");
        if (!rc)
            rc = run_stmt(m, sql, NULL, 0, &st, NULL, err);
        if (!rc && (binds_setup(&rb, s, NULL, s->ncols) || mysql_stmt_bind_result(st, rb.b)))
            rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "%s", mysql_stmt_error(st));
        while (!rc) {
            int f = mysql_stmt_fetch(st);
            if (f == MYSQL_NO_DATA)
                break;
            if (f == 1) {
                rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "reading %s: %s", s->qualified, mysql_stmt_error(st));
                break;
            }
            if (convert_row(st, &rb, s, src->conf.zero_date_mode, &a, vals)) {
                rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "converting a row of %s", s->qualified);
                break;
            }
            sl_buf_reset(&json);
            sl_json_row(&json, s, vals);
            d->rows++;
            d->sum += sl_digest_hash(json.data, json.len);
            sl_arena_reset(&a);
        }
        if (st)
            mysql_stmt_close(st);
        binds_free(&rb);
        sl_arena_free(&a);
        free(vals);
        sl_schema_free(s);
    }
    sl_buf_free(&json);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    mysql_close(m);
    return rc;
}
