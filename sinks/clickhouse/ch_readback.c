/* ch_readback.c — `sluice migrate` verification for the clickhouse sink:
 * each table read back with SELECT ... FINAL WHERE not deleted (what a
 * reader sees), streamed in RowBinary, each row turned back into the
 * values the source produced (the column comments say which source kind
 * a column holds) and hashed as core/verify.h defines, so the sums equal
 * the source's exactly when the rows do. Tables are looked up without
 * routes, like the source names them: <database>.<table>.
 */
#define SL_LOG_COMPONENT "clickhouse sink"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/envelope.h"
#include "../../core/log.h"
#include "../../core/verify.h"
#include "ch_sink.h"

typedef struct reader {
    const ch_table *t;
    const int *cols;      /* table column per schema column */
    sl_table_schema schema;
    sl_value *vals;
    sl_arena arena;
    sl_buf in, json;
    uint64_t rows, sum;
    int bad;
} reader;

static uint8_t kind_of_type(const ch_type *t)
{
    switch ((ch_base)t->base) {
    case CH_INT8: case CH_INT16: case CH_INT32: case CH_INT64:
    case CH_UINT8: case CH_UINT16: case CH_UINT32:
        return SL_INT;
    case CH_UINT64: return SL_UINT;
    case CH_FLOAT32: return SL_FLOAT;
    case CH_FLOAT64: return SL_DOUBLE;
    case CH_DECIMAL: return SL_DECIMAL;
    case CH_BOOL: return SL_BOOL;
    case CH_DATE: case CH_DATE32: return SL_DATE;
    case CH_DATETIME: case CH_DATETIME64: return t->has_zone ? SL_TIMESTAMP : SL_DATETIME;
    case CH_TIME64: return SL_TIME;
    case CH_JSON: return SL_JSON;
    default: return SL_STRING;
    }
}

/* decodes every complete row in r->in */
static int drain(reader *r)
{
    const uint8_t *p = (const uint8_t *)r->in.data, *end = p + r->in.len;
    for (;;) {
        const uint8_t *row = p;
        int got = 0;
        sl_arena_reset(&r->arena);
        for (int i = 0; i < r->schema.ncols; i++) {
            const ch_col *col = &r->t->cols[r->cols[i]];
            got = ch_rb_read(&p, end, &col->type, &r->schema.cols[i], &r->arena, &r->vals[i]);
            if (got)
                break;
        }
        if (got < 0) {
            r->bad = 1;
            return -1;
        }
        if (got > 0 || p == row) {
            p = row;
            break;
        }
        sl_buf_reset(&r->json);
        sl_json_row(&r->json, &r->schema, r->vals);
        r->rows++;
        r->sum += sl_digest_hash(r->json.data, r->json.len);
        if (p == end)
            break;
    }
    size_t used = (size_t)(p - (const uint8_t *)r->in.data);
    memmove(r->in.data, r->in.data + used, r->in.len - used);
    r->in.len -= used;
    return 0;
}

static int on_chunk(void *ctx, const char *p, size_t n)
{
    reader *r = ctx;
    if (!p) { /* a new attempt: start over */
        r->rows = r->sum = 0;
        sl_buf_reset(&r->in);
        r->bad = 0;
        return 0;
    }
    sl_buf_add(&r->in, p, n);
    if (r->in.failed)
        return -1;
    return drain(r);
}

static int read_table(ch_sink *k, ch_table *t, sl_digest *d, sl_err *err)
{
    int exists = 0;
    int rc = ch_table_describe(k, t, &exists, err);
    if (rc || !exists)
        return rc;
    reader r;
    memset(&r, 0, sizeof r);
    r.t = t;
    int *cols = calloc((size_t)t->ncols + 1, sizeof *cols);
    r.schema.cols = calloc((size_t)t->ncols + 1, sizeof *r.schema.cols);
    r.vals = calloc((size_t)t->ncols + 1, sizeof *r.vals);
    sl_arena_init(&r.arena);
    sl_buf_init(&r.in);
    sl_buf_init(&r.json);
    if (!cols || !r.schema.cols || !r.vals) {
        rc = sl_errf(err, SL_ERUNTIME, "out of memory");
        goto out;
    }
    r.cols = cols;
    sl_buf *q = &k->sql;
    sl_buf_reset(q);
    sl_buf_adds(q, "SELECT ");
    int json_cols = 0;
    for (int j = 0; j < t->ncols; j++) {
        const ch_col *col = &t->cols[j];
        if (strcmp(col->name, k->ver_col) == 0 || strcmp(col->name, k->del_col) == 0)
            continue;
        sl_column *c = &r.schema.cols[r.schema.ncols];
        c->name = col->name;
        if (col->owned) {
            c->kind = col->kind;
            c->elem_kind = col->elem_kind;
            c->is_array = col->type.array;
            c->scale = col->n;
            c->precision = col->n;
        } else {
            ch_type scalar = col->type;
            scalar.array = 0;
            c->kind = col->type.array ? SL_TEXTUAL : kind_of_type(&col->type);
            c->elem_kind = kind_of_type(&scalar);
            c->is_array = col->type.array;
            c->scale = col->type.p;
        }
        json_cols |= col->type.base == CH_JSON;
        if (r.schema.ncols)
            sl_buf_adds(q, ", ");
        ch_quote_ident(q, col->name);
        cols[r.schema.ncols++] = j;
    }
    sl_buf_adds(q, " FROM ");
    sl_buf_adds(q, t->qname);
    sl_buf_adds(q, " FINAL WHERE ");
    ch_quote_ident(q, k->del_col);
    sl_buf_adds(q, " = 0 FORMAT RowBinary");
    sl_buf_addc(q, 0);
    if (!r.schema.ncols || q->failed) {
        rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "table %s has no columns to read back", t->display);
        goto out;
    }
    k->http.sink_fn = on_chunk;
    k->http.sink_ctx = &r;
    rc = ch_http_query(&k->http, q->data, json_cols ? "&output_format_binary_write_json_as_string=1" : NULL, NULL, 0,
                       k->http.retry_timeout_ms, err);
    k->http.sink_fn = NULL;
    k->http.sink_ctx = NULL;
    if (!rc && (r.bad || r.in.len))
        rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "reading %s back: an answer sluice cannot decode",
                     t->display);
    if (rc) {
        sl_err_prefix(err, rc, SL_LOG_PREFIX "reading %s back: ", t->display);
        goto out;
    }
    d->rows = r.rows;
    d->sum = r.sum;
out:
    free(cols);
    free(r.schema.cols);
    free(r.vals);
    sl_arena_free(&r.arena);
    sl_buf_free(&r.in);
    sl_buf_free(&r.json);
    return rc;
}

int ch_read_back(void *self, const sl_digest_set *want, sl_digest_set *out, sl_err *err)
{
    ch_sink *k = self;
    int rc = 0;
    for (size_t i = 0; i < want->n && !rc; i++) {
        sl_digest *d = sl_digest_get(out, want->items[i].table, NULL);
        char *db = NULL, *name = NULL;
        ch_default_target(k, want->items[i].table, &db, &name);
        ch_table *t = d && db && name ? ch_table_new(db, name) : NULL;
        rc = t ? read_table(k, t, d, err) : sl_errf(err, SL_ERUNTIME, "out of memory");
        if (t)
            ch_table_free(t);
        free(db);
        free(name);
    }
    return rc;
}
