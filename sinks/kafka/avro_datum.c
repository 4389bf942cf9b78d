/* avro_datum.c — keys and change events as Avro binary datums in the
 * Confluent wire format (byte 0, the schema id as 4 big-endian bytes, the
 * datum), following the plan avro_schema.c made for each column.
 *
 * Values are encoded from sluice's values without a detour through JSON,
 * with formats/avro's primitives. Decimals of any size become the
 * big-endian two's complement of their unscaled integer
 * (formats/decimal.h; DECIMAL(65,30) exceeds 128 bits). A value
 * the column's Avro type cannot hold (NaN in a precise decimal, a
 * PostgreSQL 'infinity' date) becomes null where the column is nullable,
 * as Debezium does; otherwise the error names the table and the column.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../formats/avro/avro.h"
#include "../../formats/decimal.h"
#include "kafka_avro.h"

/* ---- decimals ------------------------------------------------------------ */

static void u64_bytes(sl_buf *out, uint64_t u)
{
    uint8_t be[9];
    be[0] = 0;
    for (int i = 0; i < 8; i++)
        be[8 - i] = (uint8_t)(u >> (8 * i));
    int start = 0;
    /* drop leading zero bytes while the next byte keeps the sign bit clear */
    while (start < 8 && be[start] == 0 && !(be[start + 1] & 0x80))
        start++;
    sl_buf_add(out, be + start, (size_t)(9 - start));
}

/* ---- values ---------------------------------------------------------------- */

typedef struct enc_ctx {
    const sl_table_schema *s;
    int col;
    sl_buf tmp;
    sl_err *err;
} enc_ctx;

static int fail(enc_ctx *x, const char *what)
{
    return sl_errf(x->err, SL_ERUNTIME, "kafka sink: table %s column %s: %s", x->s->qualified,
                   x->s->cols[x->col].name, what);
}

static int is_text_kind(int k)
{
    return k == SL_STRING || k == SL_TEXTUAL || k == SL_JSON || k == SL_ENUM || k == SL_SET || k == SL_DECIMAL;
}

static int text_is(const sl_value *v, const char *lit)
{
    return v->len == strlen(lit) && memcmp(v->v.s, lit, v->len) == 0;
}

/* 1 when the value must go out as null: no value of the Avro type stands for it */
static int as_null(const avro_col *ac, uint8_t enc, const sl_value *v)
{
    if (v->kind == SL_NULL)
        return 1;
    switch (enc) {
    case AV_DECIMAL:
    case AV_VARDECIMAL:
        if (v->kind != SL_DECIMAL)
            return ac->nullable;
        sl_decimal_parts parts;
        return sl_decimal_split(v->v.s, v->len, &parts) ? ac->nullable : 0;
    case AV_DATE:
    case AV_MICROTIME:
    case AV_TS_MS:
    case AV_TS_US:
        /* a text date is PostgreSQL's +-infinity (max/min below) or a
         * MySQL zero date */
        return v->kind == SL_STRING && !text_is(v, "infinity") && !text_is(v, "-infinity") ? ac->nullable : 0;
    default:
        return 0;
    }
}

/* text of any value (JSON rendering without quotes for non-text kinds) */
static void value_text(enc_ctx *x, const sl_value *v, const char **p, size_t *n)
{
    if (is_text_kind(v->kind) || v->kind == SL_BYTES) {
        *p = v->v.s;
        *n = v->len;
        return;
    }
    if (v->kind == SL_UNCHANGED) {
        *p = SL_UNAVAILABLE_VALUE;
        *n = strlen(SL_UNAVAILABLE_VALUE);
        return;
    }
    sl_buf_reset(&x->tmp);
    sl_json_value(&x->tmp, &x->s->cols[x->col], v);
    *p = x->tmp.data;
    *n = x->tmp.len;
    if (*n >= 2 && (*p)[0] == '"' && (*p)[*n - 1] == '"' && !memchr(*p, '\\', *n)) {
        (*p)++;
        *n -= 2;
    }
}

static int put_decimal_text(enc_ctx *x, sl_buf *b, const char *s, size_t n, int scale, int var)
{
    sl_buf_reset(&x->tmp);
    int own = 0;
    int rc = sl_decimal_to_be_text(s, n, var ? -1 : scale, &x->tmp, &own);
    if (rc == SL_DEC_SYNTAX)
        return fail(x, "NaN or Infinity in a NOT NULL decimal cannot be an Avro decimal; fix: "
                       "decimal.handling.mode: string (or double)");
    if (rc == SL_DEC_SCALE)
        return fail(x, "a value with more fraction digits than the column's scale");
    if (rc || x->tmp.failed)
        return sl_errf(x->err, SL_ERUNTIME, "out of memory");
    if (var)
        sl_avro_put_int(b, own);
    sl_avro_put_bytes(b, x->tmp.data, x->tmp.len);
    return 0;
}

static int64_t infinity_of(const sl_value *v, int64_t max, int64_t min, int64_t other)
{
    if (v->kind != SL_STRING)
        return other;
    return text_is(v, "infinity") ? max : text_is(v, "-infinity") ? min : 0;
}

static int put_array(enc_ctx *x, sl_buf *b, const avro_col *ac, const sl_value *v);

/* one non-null value by enc */
static int put_plain(enc_ctx *x, sl_buf *b, const avro_col *ac, uint8_t enc, const sl_value *v)
{
    const char *p;
    size_t n;
    switch ((avro_enc)enc) {
    case AV_BOOL:
        sl_avro_put_bool(b, v->kind == SL_BIT ? v->v.u != 0 : v->v.i != 0);
        return 0;
    case AV_INT:
    case AV_LONG:
        sl_avro_put_long(b, v->kind == SL_UINT ? (int64_t)v->v.u : v->v.i);
        return 0;
    case AV_FLOAT:
        sl_avro_put_float(b, (float)v->v.d);
        return 0;
    case AV_DOUBLE:
        sl_avro_put_double(b, v->v.d);
        return 0;
    case AV_STRING:
    case AV_DEC_STRING:
    case AV_ZONED:
        value_text(x, v, &p, &n);
        if (n < 64 && sl_zoned_trimmed(&x->s->cols[x->col], v)) {
            /* Debezium's ZonedTime / MySQL ZonedTimestamp, as the JSON envelope */
            char t[64];
            memcpy(t, p, n);
            sl_avro_put_string(b, t, sl_trim_fraction(t, n));
            return 0;
        }
        sl_avro_put_string(b, p, n);
        return 0;
    case AV_BYTES:
        value_text(x, v, &p, &n);
        sl_avro_put_bytes(b, p, n);
        return 0;
    case AV_DEC_DOUBLE: {
        char num[512];
        value_text(x, v, &p, &n);
        if (n >= sizeof num)
            n = sizeof num - 1;
        memcpy(num, p, n);
        num[n] = 0;
        sl_avro_put_double(b, strtod(num, NULL));
        return 0;
    }
    case AV_DECIMAL:
    case AV_VARDECIMAL:
        if (v->kind != SL_DECIMAL)
            return fail(x, "a value that is not a decimal");
        return put_decimal_text(x, b, v->v.s, v->len, ac->scale, enc == AV_VARDECIMAL);
    case AV_UDECIMAL:
        sl_buf_reset(&x->tmp);
        u64_bytes(&x->tmp, v->kind == SL_UINT ? v->v.u : (uint64_t)v->v.i);
        sl_avro_put_bytes(b, x->tmp.data, x->tmp.len);
        return 0;
    case AV_BITS: {
        unsigned width = v->aux ? v->aux : x->s->cols[x->col].precision;
        uint8_t bytes[8];
        size_t nb = (width + 7) / 8;
        if (nb > 8)
            nb = 8;
        for (size_t i = 0; i < nb; i++)
            bytes[i] = (uint8_t)(v->v.u >> (8 * i));
        sl_avro_put_bytes(b, bytes, nb);
        return 0;
    }
    case AV_DATE:
        sl_avro_put_int(b, (int32_t)infinity_of(v, INT32_MAX, INT32_MIN, v->v.i));
        return 0;
    case AV_MICROTIME:
        sl_avro_put_long(b, infinity_of(v, INT64_MAX, INT64_MIN, v->v.i));
        return 0;
    case AV_TIME_MS:
        /* io.debezium.time.Time / Connect Time: milliseconds of the day */
        sl_avro_put_int(b, (int32_t)(v->v.i >= 0 ? v->v.i / 1000 : -((-v->v.i + 999) / 1000)));
        return 0;
    case AV_INTERVAL:
    case AV_INTERVAL_US: {
        /* the same forms as the JSON envelope's (interval.handling.mode) */
        value_text(x, v, &p, &n);
        sl_value_modes m = {0};
        m.interval = enc == AV_INTERVAL_US ? SL_INTERVAL_NUMERIC : SL_INTERVAL_STRING;
        sl_buf r;
        sl_buf_init(&r);
        int ok = sl_render_interval(&r, p, n, &m) == 0 && !r.failed;
        if (enc == AV_INTERVAL_US) {
            long long us = ok ? strtoll(r.data, NULL, 10) : 0;
            sl_buf_free(&r);
            if (!ok)
                return fail(x, "an interval that is not PostgreSQL's ISO-8601 form (intervalstyle iso_8601)");
            sl_avro_put_long(b, (int64_t)us);
            return 0;
        }
        if (ok && r.len >= 2)
            sl_avro_put_string(b, r.data + 1, r.len - 2);
        else
            sl_avro_put_string(b, p, n);
        sl_buf_free(&r);
        return 0;
    }
    case AV_TS_MS:
    case AV_TS_US: {
        int64_t t;
        if (v->kind == SL_STRING) {
            t = infinity_of(v, INT64_MAX, INT64_MIN, 0);
        } else if (v->flags & SL_VF_U64) {
            if (enc == AV_TS_US && v->v.u > (uint64_t)INT64_MAX)
                return fail(x, "a timestamp past the range of an Avro long of microseconds (year 294247)");
            t = (int64_t)(enc == AV_TS_MS ? v->v.u / 1000 : v->v.u);
        } else if (enc == AV_TS_MS) {
            t = v->v.i >= 0 ? v->v.i / 1000 : -((-v->v.i + 999) / 1000);
        } else {
            t = v->v.i;
        }
        sl_avro_put_long(b, t);
        return 0;
    }
    }
    return fail(x, "no Avro encoding");
}

/* the type's zero, for a NOT NULL column whose value is missing */
static int put_zero(enc_ctx *x, sl_buf *b, uint8_t enc)
{
    switch ((avro_enc)enc) {
    case AV_BOOL: sl_avro_put_bool(b, 0); return 0;
    case AV_FLOAT: sl_avro_put_float(b, 0); return 0;
    case AV_DOUBLE:
    case AV_DEC_DOUBLE: sl_avro_put_double(b, 0); return 0;
    case AV_STRING:
    case AV_DEC_STRING:
    case AV_ZONED:
    case AV_BYTES:
    case AV_BITS: sl_avro_put_bytes(b, "", 0); return 0;
    case AV_TIME_MS: sl_avro_put_int(b, 0); return 0;
    case AV_INTERVAL: sl_avro_put_string(b, "P0Y0M0DT0H0M0S", 14); return 0;
    case AV_INTERVAL_US: sl_avro_put_long(b, 0); return 0;
    case AV_DECIMAL:
    case AV_UDECIMAL: sl_avro_put_bytes(b, "", 1); return 0;
    case AV_VARDECIMAL:
        sl_avro_put_int(b, 0);
        sl_avro_put_bytes(b, "", 1);
        return 0;
    default: sl_avro_put_long(b, 0); return 0;
    }
    (void)x;
}

static int put_column(enc_ctx *x, sl_buf *b, const avro_col *ac, const sl_value *v)
{
    if (ac->is_array) {
        if (v->kind == SL_NULL) {
            if (ac->nullable) {
                sl_avro_put_union(b, 0);
                return 0;
            }
            sl_avro_put_block(b, 0);
            return 0;
        }
        if (ac->nullable)
            sl_avro_put_union(b, 1);
        return put_array(x, b, ac, v);
    }
    if (v->kind == SL_UNCHANGED && ac->enc != AV_STRING && ac->enc != AV_BYTES)
        return fail(x, "PostgreSQL did not send this unchanged TOAST value, and the column's Avro type has no "
                       "placeholder for it; fix: ALTER TABLE ... REPLICA IDENTITY FULL");
    if (as_null(ac, ac->enc, v)) {
        if (ac->nullable) {
            sl_avro_put_union(b, 0);
            return 0;
        }
        return put_zero(x, b, ac->enc);
    }
    if (ac->nullable)
        sl_avro_put_union(b, 1);
    return put_plain(x, b, ac, ac->enc, v);
}

/* ---- PostgreSQL arrays (JSON text) ----------------------------------------- */

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

static void unbase64(sl_buf *out, const char *s, size_t n)
{
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val((unsigned char)s[i]);
        if (v < 0)
            continue;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            sl_buf_addc(out, (char)(acc >> bits));
        }
    }
}

static int put_element(enc_ctx *x, sl_buf *b, const avro_col *ac, json_t *j)
{
    uint8_t enc = ac->elem_enc;
    if (json_is_array(j))
        return fail(x, "a multi-dimensional array has no Avro type here (Debezium has none either)");
    if (json_is_null(j)) {
        sl_avro_put_union(b, 0);
        return 0;
    }
    const char *str = json_is_string(j) ? json_string_value(j) : NULL;
    size_t slen = str ? json_string_length(j) : 0;
    sl_value v = {0};
    switch ((avro_enc)enc) {
    case AV_BOOL: v.kind = SL_BOOL; v.v.i = json_is_true(j); break;
    case AV_FLOAT:
    case AV_DOUBLE:
        v.kind = SL_DOUBLE;
        if (str)
            v.v.d = strcmp(str, "NaN") == 0 ? NAN : strcmp(str, "-Infinity") == 0 ? -INFINITY : INFINITY;
        else
            v.v.d = json_number_value(j);
        break;
    case AV_BYTES:
        sl_avro_put_union(b, 1);
        sl_buf_reset(&x->tmp);
        unbase64(&x->tmp, str ? str : "", slen);
        sl_avro_put_bytes(b, x->tmp.data, x->tmp.len);
        return 0;
    case AV_DECIMAL:
    case AV_VARDECIMAL:
    case AV_DEC_DOUBLE:
    case AV_DEC_STRING:
    case AV_STRING:
    case AV_ZONED:
        if (str) {
            v = sl_val_text(enc == AV_STRING || enc == AV_ZONED ? SL_STRING : SL_DECIMAL, str, (uint32_t)slen);
        } else {
            char *dump = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
            if (!dump)
                return sl_errf(x->err, SL_ERUNTIME, "out of memory");
            sl_avro_put_union(b, 1);
            sl_avro_put_string(b, dump, strlen(dump));
            free(dump);
            return 0;
        }
        break;
    default:
        if (str) {
            v = sl_val_text(SL_STRING, str, (uint32_t)slen);
        } else {
            v.kind = SL_INT;
            v.v.i = json_integer_value(j);
        }
        break;
    }
    avro_col elem = {.enc = enc, .nullable = 1, .scale = ac->scale};
    if (as_null(&elem, enc, &v)) {
        sl_avro_put_union(b, 0);
        return 0;
    }
    sl_avro_put_union(b, 1);
    return put_plain(x, b, &elem, enc, &v);
}

static int put_array(enc_ctx *x, sl_buf *b, const avro_col *ac, const sl_value *v)
{
    json_error_t je;
    json_t *arr = json_loadb(v->v.s, v->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!json_is_array(arr)) {
        json_decref(arr);
        return fail(x, "an array value that is not a JSON array");
    }
    size_t n = json_array_size(arr);
    int rc = 0;
    if (n) {
        sl_avro_put_block(b, (int64_t)n);
        for (size_t i = 0; i < n && !rc; i++)
            rc = put_element(x, b, ac, json_array_get(arr, i));
    }
    sl_avro_put_block(b, 0);
    json_decref(arr);
    return rc;
}

/* ---- records ------------------------------------------------------------------- */

static void frame(sl_buf *b, int id)
{
    uint8_t h[5] = {0, (uint8_t)(id >> 24), (uint8_t)(id >> 16), (uint8_t)(id >> 8), (uint8_t)id};
    sl_buf_add(b, h, 5);
}

static int put_row(enc_ctx *x, sl_buf *b, const kafka_avro_table *t, const sl_value *row, int key)
{
    const sl_table_schema *s = t->schema;
    int n = key ? s->npk : s->ncols;
    for (int k = 0; k < n; k++) {
        x->col = key ? s->pk[k] : k;
        int rc = put_column(x, b, &t->cols[x->col], &row[x->col]);
        if (rc)
            return rc;
    }
    return 0;
}

static int finish(enc_ctx *x, sl_buf *b, int rc)
{
    sl_buf_free(&x->tmp);
    if (!rc && (b->failed || x->tmp.failed))
        rc = sl_errf(x->err, SL_ERUNTIME, "out of memory");
    return rc;
}

int sl_avro_key(sl_buf *b, const kafka_avro_table *t, const sl_value *row, sl_err *err)
{
    enc_ctx x = {.s = t->schema, .err = err};
    sl_buf_init(&x.tmp);
    frame(b, t->key_id);
    return finish(&x, b, put_row(&x, b, t, row, 1));
}

static void opt_str(sl_buf *b, const char *s)
{
    if (!s) {
        sl_avro_put_union(b, 0);
        return;
    }
    sl_avro_put_union(b, 1);
    sl_avro_put_cstr(b, s);
}

static void opt_long(sl_buf *b, int have, int64_t v)
{
    sl_avro_put_union(b, have ? 1 : 0);
    if (have)
        sl_avro_put_long(b, v);
}

static void put_source(sl_buf *b, const sl_event *e, const sl_envelope_opts *o)
{
    const sl_txinfo *tx = e->tx;
    const sl_table_schema *s = e->schema;
    sl_avro_put_cstr(b, SL_VERSION);
    sl_avro_put_cstr(b, o->connector ? o->connector : "");
    sl_avro_put_cstr(b, o->name ? o->name : "");
    sl_avro_put_long(b, tx ? tx->ts_ms : 0);
    sl_avro_put_union(b, 0); /* [Enum string, null] */
    sl_avro_put_cstr(b, sl_snapshot_marker(e->snapshot));
    sl_avro_put_cstr(b, s->db ? s->db : "");
    if (s->schema) {
        char seq[64];
        opt_str(b, sl_pg_sequence(e, seq, sizeof seq));
    } else {
        sl_avro_put_union(b, 0); /* sequence */
    }
    int64_t us = tx ? sl_txinfo_ts_us(tx) : 0;
    opt_long(b, 1, us);
    opt_long(b, 1, us * 1000);
    if (s->schema) {
        sl_avro_put_cstr(b, s->schema);
        sl_avro_put_cstr(b, s->table ? s->table : "");
        opt_long(b, tx && tx->xid, tx ? (int64_t)tx->xid : 0);
        opt_long(b, e->offset != 0, (int64_t)e->offset);
        sl_avro_put_union(b, 0); /* xmin */
        sl_avro_put_union(b, 0); /* origin: no replication origin */
        sl_avro_put_union(b, 0); /* origin_lsn */
        return;
    }
    opt_str(b, s->table);
    sl_avro_put_long(b, tx ? tx->server_id : 0);
    opt_str(b, tx ? tx->gtid : NULL);
    sl_avro_put_cstr(b, tx && tx->file ? tx->file : "");
    sl_avro_put_long(b, (int64_t)e->offset);
    sl_avro_put_int(b, (int32_t)e->row);
    opt_long(b, tx && tx->thread_id, tx ? tx->thread_id : 0);
    sl_avro_put_union(b, 0); /* query */
}

int sl_avro_envelope(sl_buf *b, const kafka_avro_table *t, const sl_event *e, const sl_envelope_opts *o,
                     int64_t now_ms, sl_err *err)
{
    enc_ctx x = {.s = t->schema, .err = err};
    sl_buf_init(&x.tmp);
    frame(b, t->value_id);
    int rc = 0;
    const sl_value *rows[2] = {e->before, e->after};
    for (int i = 0; i < 2 && !rc; i++) {
        sl_avro_put_union(b, rows[i] ? 1 : 0);
        if (rows[i])
            rc = put_row(&x, b, t, rows[i], 0);
    }
    if (!rc) {
        put_source(b, e, o);
        sl_avro_put_union(b, 0); /* transaction */
        char op[2] = {e->op, 0};
        sl_avro_put_cstr(b, op);
        opt_long(b, 1, now_ms);
        opt_long(b, 1, now_ms * 1000);
        opt_long(b, 1, now_ms * 1000000);
    }
    return finish(&x, b, rc);
}
