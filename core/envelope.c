/* envelope.c — renders events as Debezium-style JSON into an sl_buf.
 * Hot path of the file and Kafka sinks: no allocation per value beyond
 * the buffer's growth, table-driven escaping. */
#include "envelope.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>


static const char hexdig[] = "0123456789abcdef";

/* 0 = copy, 1 = \uXXXX, else the escape letter */
static const unsigned char escape_class[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 'b', 't', 'n', 1, 'f', 'r', 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, '"', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '\\', 0, 0, 0,
};

/* true when one of the 8 bytes in w needs escaping: below 0x20, '"' or '\\' */
static inline int needs_escape8(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    uint64_t lt20 = (w - ones * 0x20) & ~w & high;
    uint64_t q = w ^ (ones * '"');
    uint64_t bs = w ^ (ones * '\\');
    uint64_t eq = ((q - ones) & ~q & high) | ((bs - ones) & ~bs & high);
    return (lt20 | eq) != 0;
}

void sl_json_string(sl_buf *b, const char *s, size_t len)
{
    if (sl_buf_reserve(b, len + 2))
        return;
    sl_buf_addc(b, '"');
    size_t start = 0, i = 0;
    for (;;) {
        /* skip clean stretches eight bytes at a time */
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (needs_escape8(w))
                break;
            i += 8;
        }
        if (i >= len)
            break;
        unsigned char c = (unsigned char)s[i];
        unsigned char cls = escape_class[c];
        if (!cls) {
            i++;
            continue;
        }
        sl_buf_add(b, s + start, i - start);
        if (cls == 1) {
            char u[6] = {'\\', 'u', '0', '0', hexdig[c >> 4], hexdig[c & 15]};
            sl_buf_add(b, u, 6);
        } else {
            char e[2] = {'\\', (char)cls};
            sl_buf_add(b, e, 2);
        }
        start = ++i;
    }
    sl_buf_add(b, s + start, len - start);
    sl_buf_addc(b, '"');
}

void sl_base64(sl_buf *b, const unsigned char *p, size_t n)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (sl_buf_reserve(b, (n + 2) / 3 * 4 + 2))
        return;
    char *o = b->data + b->len;
    *o++ = '"';
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = tbl[v >> 18];
        *o++ = tbl[(v >> 12) & 63];
        *o++ = tbl[(v >> 6) & 63];
        *o++ = tbl[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
        *o++ = tbl[v >> 18];
        *o++ = tbl[(v >> 12) & 63];
        *o++ = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
}

void sl_format_double(sl_buf *b, double d, int is_float)
{
    if (isnan(d)) {
        sl_buf_adds(b, "\"NaN\"");
        return;
    }
    if (isinf(d)) {
        sl_buf_adds(b, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        return;
    }
    char tmp[40];
    /* shortest text that reads back as the same value */
    for (int prec = is_float ? 6 : 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, d);
        if (is_float ? strtof(tmp, NULL) == (float)d : strtod(tmp, NULL) == d)
            break;
    }
    sl_buf_adds(b, tmp);
}

/* ISO-8601 as Java prints it: years beyond 0000..9999 with a sign and at
 * least four digits (-0043, +10000) */
static void iso_timestamp(sl_buf *b, const sl_value *v, int digits, int zulu, int trimmed)
{
    int64_t days, tod;
    sl_value_day_us(v, &days, &tod);
    int64_t sod = tod / 1000000, frac = tod % 1000000;
    int64_t y;
    unsigned m, d;
    sl_civil_from_days(days, &y, &m, &d);
    char tmp[64];
    int n = snprintf(tmp, sizeof tmp, "\"%s%04lld-%02u-%02uT%02d:%02d:%02d", y < 0 ? "-" : y > 9999 ? "+" : "",
                     (long long)(y < 0 ? -y : y), m, d, (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
    if (digits > 0) {
        char f[24];
        snprintf(f, sizeof f, "%06d", (int)(frac % 1000000));
        n += snprintf(tmp + n, sizeof tmp - (size_t)n, ".%.*s", digits > 6 ? 6 : digits, f);
    }
    n += snprintf(tmp + n, sizeof tmp - (size_t)n, zulu ? "Z\"" : "\"");
    if (trimmed)
        n = (int)sl_trim_fraction(tmp, (size_t)n);
    sl_buf_add(b, tmp, (size_t)n);
}

int sl_json_infinity(sl_buf *b, uint8_t kind, const sl_value *v)
{
    if ((kind != SL_DATE && kind != SL_DATETIME) || v->kind != SL_STRING ||
        !((v->len == 8 && memcmp(v->v.s, "infinity", 8) == 0) || (v->len == 9 && memcmp(v->v.s, "-infinity", 9) == 0)))
        return 0;
    int neg = v->v.s[0] == '-';
    if (kind == SL_DATE)
        sl_buf_i64(b, neg ? INT32_MIN : INT32_MAX);
    else
        sl_buf_i64(b, neg ? INT64_MIN : INT64_MAX);
    return 1;
}

void sl_json_value(sl_buf *b, const sl_column *col, const sl_value *v) { sl_json_value_m(b, col, v, NULL); }

void sl_json_value_m(sl_buf *b, const sl_column *col, const sl_value *v, const sl_value_modes *m)
{
    switch ((sl_kind)v->kind) {
    case SL_NULL:
        sl_buf_adds(b, "null");
        return;
    case SL_TIME:
        /* Debezium: MicroTime microseconds, or Time milliseconds (floor) */
        if (col && sl_time_in_ms(col, m)) {
            sl_buf_i64(b, v->v.i >= 0 ? v->v.i / 1000 : -((-v->v.i + 999) / 1000));
            return;
        }
        /* fall through */
    case SL_INT:
    case SL_YEAR:
    case SL_DATE:
        /* Debezium: DATE = days since epoch */
        sl_buf_i64(b, v->v.i);
        return;
    case SL_UINT:
        if (sl_bigint_as_decimal(col, m))
            sl_render_decimal_u64(b, v->v.u);
        else if (m && col && col->kind == SL_UINT && m->bigint_unsigned == SL_BIGINT_LONG)
            sl_buf_i64(b, (int64_t)v->v.u); /* Debezium's long: wraps above INT64_MAX */
        else
            sl_buf_u64(b, v->v.u);
        return;
    case SL_BOOL:
        sl_buf_adds(b, v->v.i ? "true" : "false");
        return;
    case SL_FLOAT:
    case SL_DOUBLE:
        sl_format_double(b, v->v.d, v->kind == SL_FLOAT);
        return;
    case SL_DATETIME:
        /* Debezium: precision 0-3 -> Timestamp (ms), 4-6 -> MicroTimestamp (us) */
        if (v->flags & SL_VF_U64) {
            uint64_t u = col && sl_datetime_in_ms(col, m) ? v->v.u / 1000 : v->v.u;
            /* PostgreSQL's last centuries (to 294276 AD) exceed int64
             * microseconds: Debezium's schema caps them at its maximum */
            sl_buf_u64(b, m && u > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX : u);
        } else if (col && sl_datetime_in_ms(col, m)) {
            int64_t ms = v->v.i >= 0 ? v->v.i / 1000 : -((-v->v.i + 999) / 1000);
            sl_buf_i64(b, ms);
        } else {
            sl_buf_i64(b, v->v.i);
        }
        return;
    case SL_TIMESTAMP:
        iso_timestamp(b, v, col ? col->scale : 6, 1, m && sl_zoned_trimmed(col, v));
        return;
    case SL_BIT:
        if (v->aux == 1) {
            sl_buf_adds(b, v->v.u ? "true" : "false");
        } else {
            /* Debezium: BIT(n>1) as bytes, little-endian */
            unsigned char bytes[8];
            size_t n = (size_t)(v->aux + 7) / 8;
            for (size_t i = 0; i < n; i++)
                bytes[i] = (unsigned char)(v->v.u >> (8 * i));
            sl_base64(b, bytes, n);
        }
        return;
    case SL_BYTES:
        sl_render_binary(b, (const unsigned char *)v->v.s, v->len, m);
        return;
    case SL_UNCHANGED:
        sl_buf_adds(b, "\"" SL_UNAVAILABLE_VALUE "\"");
        return;
    case SL_TEXTUAL:
        if (v->flags & SL_VF_JSON_TEXT) {
            sl_buf_add(b, v->v.s, v->len);
            return;
        }
        if (m && col && sl_is_interval(col) && sl_render_interval(b, v->v.s, v->len, m) == 0)
            return;
        if (m && sl_zoned_trimmed(col, v) && v->len < 64) {
            char t[64];
            memcpy(t, v->v.s, v->len);
            sl_json_string(b, t, sl_trim_fraction(t, v->len));
            return;
        }
        sl_json_string(b, v->v.s, v->len);
        return;
    case SL_DECIMAL:
        sl_render_decimal(b, col ? col : &(sl_column){.kind = SL_DECIMAL}, v->v.s, v->len, m);
        return;
    case SL_STRING:
        if (m && col && sl_json_infinity(b, col->kind, v))
            return;
        /* fall through */
    case SL_JSON:
    case SL_ENUM:
    case SL_SET:
        sl_json_string(b, v->v.s, v->len);
        return;
    }
    sl_buf_adds(b, "null");
}

static void json_key(sl_buf *b, const char *name)
{
    sl_json_string(b, name, strlen(name));
    sl_buf_addc(b, ':');
}

void sl_json_row(sl_buf *b, const sl_table_schema *s, const sl_value *row) { sl_json_row_m(b, s, row, NULL); }

void sl_json_row_m(sl_buf *b, const sl_table_schema *s, const sl_value *row, const sl_value_modes *m)
{
    if (!row) {
        sl_buf_adds(b, "null");
        return;
    }
    sl_buf_addc(b, '{');
    for (int i = 0; i < s->ncols; i++) {
        if (i)
            sl_buf_addc(b, ',');
        json_key(b, s->cols[i].name);
        sl_json_value_m(b, &s->cols[i], &row[i], m);
    }
    sl_buf_addc(b, '}');
}

void sl_json_key(sl_buf *b, const sl_table_schema *s, const sl_value *row) { sl_json_key_m(b, s, row, NULL); }

void sl_json_key_m(sl_buf *b, const sl_table_schema *s, const sl_value *row, const sl_value_modes *m)
{
    if (s->npk == 0) {
        sl_json_row_m(b, s, row, m);
        return;
    }
    sl_buf_addc(b, '{');
    for (int k = 0; k < s->npk; k++) {
        int i = s->pk[k];
        if (k)
            sl_buf_addc(b, ',');
        json_key(b, s->cols[i].name);
        sl_json_value_m(b, &s->cols[i], &row[i], m);
    }
    sl_buf_addc(b, '}');
}

void sl_json_cstr_or_null(sl_buf *b, const char *s)
{
    if (s)
        sl_json_string(b, s, strlen(s));
    else
        sl_buf_adds(b, "null");
}

const char *sl_snapshot_marker(uint8_t snap)
{
    switch (snap) {
    case SL_SNAP_TRUE:
        return "true";
    case SL_SNAP_FIRST:
        return "first";
    case SL_SNAP_LAST:
        return "last";
    case SL_SNAP_FIRST_IN_TABLE:
        return "first_in_data_collection";
    case SL_SNAP_LAST_IN_TABLE:
        return "last_in_data_collection";
    default:
        return "false";
    }
}

/* Debezium's PostgreSQL source.sequence: the JSON text of [last commit
 * LSN, the change's LSN], each a decimal string or null (the field itself
 * is a Connect string holding that text). */
const char *sl_pg_sequence(const sl_event *e, char *buf, size_t len)
{
    uint64_t last = e->tx ? e->tx->last_commit : 0;
    char a[24] = "null", c[24] = "null";
    if (last)
        snprintf(a, sizeof a, "\"%" PRIu64 "\"", last);
    if (e->offset)
        snprintf(c, sizeof c, "\"%" PRIu64 "\"", e->offset);
    snprintf(buf, len, "[%s,%s]", a, c);
    return buf;
}

void sl_json_source(sl_buf *b, const sl_event *e, const sl_envelope_opts *o)
{
    const sl_txinfo *tx = e->tx;
    const sl_table_schema *s = e->schema;
    sl_buf_adds(b, "{\"version\":\"" SL_VERSION "\",\"connector\":");
    sl_json_cstr_or_null(b, sl_envelope_connector(o->connector, tx && tx->mariadb, &o->modes));
    sl_buf_adds(b, ",\"name\":");
    sl_json_cstr_or_null(b, o->name);
    int64_t ts = tx ? tx->ts_ms : 0;
    sl_buf_adds(b, ",\"ts_ms\":");
    sl_buf_i64(b, ts);
    sl_buf_adds(b, ",\"snapshot\":");
    sl_json_cstr_or_null(b, sl_snapshot_marker(e->snapshot));
    sl_buf_adds(b, ",\"db\":");
    sl_json_cstr_or_null(b, s->db);
    /* Debezium 3: the same instant in micro- and nanoseconds, with the
     * source's microseconds where it has them */
    int64_t us = sl_txinfo_ts_us(tx);
    sl_buf_adds(b, ",\"ts_us\":");
    sl_buf_i64(b, us);
    sl_buf_adds(b, ",\"ts_ns\":");
    sl_buf_i64(b, us * 1000);
    if (s->schema) {
        /* PostgreSQL */
        char seq[64];
        sl_buf_adds(b, ",\"sequence\":");
        sl_pg_sequence(e, seq, sizeof seq);
        sl_json_string(b, seq, strlen(seq));
        sl_buf_adds(b, ",\"schema\":");
        sl_json_cstr_or_null(b, s->schema);
        sl_buf_adds(b, ",\"table\":");
        sl_json_cstr_or_null(b, s->table);
        sl_buf_adds(b, ",\"txId\":");
        if (tx && tx->xid)
            sl_buf_u64(b, tx->xid);
        else
            sl_buf_adds(b, "null");
        sl_buf_adds(b, ",\"lsn\":");
        if (e->offset)
            sl_buf_u64(b, e->offset);
        else
            sl_buf_adds(b, "null");
        /* no replication origin: Debezium 3.5 writes both fields as null */
        sl_buf_adds(b, ",\"xmin\":null,\"origin\":null,\"origin_lsn\":null}");
        return;
    }
    sl_buf_adds(b, ",\"sequence\":null,\"table\":");
    sl_json_cstr_or_null(b, s->table);
    sl_buf_adds(b, ",\"server_id\":");
    sl_buf_u64(b, tx ? tx->server_id : 0);
    sl_buf_adds(b, ",\"gtid\":");
    sl_json_cstr_or_null(b, tx ? tx->gtid : NULL);
    sl_buf_adds(b, ",\"file\":");
    sl_json_cstr_or_null(b, tx && tx->file ? tx->file : "");
    sl_buf_adds(b, ",\"pos\":");
    sl_buf_u64(b, e->offset);
    sl_buf_adds(b, ",\"row\":");
    sl_buf_u64(b, e->row);
    sl_buf_adds(b, ",\"thread\":");
    if (tx && tx->thread_id)
        sl_buf_u64(b, tx->thread_id);
    else
        sl_buf_adds(b, "null");
    sl_buf_adds(b, ",\"query\":null}");
}

void sl_json_envelope(sl_buf *b, const sl_event *e, const sl_envelope_opts *o, int64_t now_ms)
{
    sl_json_envelope_tx(b, e, o, now_ms, NULL);
}

void sl_json_envelope_tx(sl_buf *b, const sl_event *e, const sl_envelope_opts *o, int64_t now_ms,
                         const sl_txblock *tb)
{
    char op[2] = {e->op, 0};
    sl_buf_adds(b, "{\"before\":");
    sl_json_row_m(b, e->schema, e->before, &o->modes);
    sl_buf_adds(b, ",\"after\":");
    sl_json_row_m(b, e->schema, e->after, &o->modes);
    sl_buf_adds(b, ",\"source\":");
    sl_json_source(b, e, o);
    sl_buf_adds(b, ",\"op\":\"");
    sl_buf_adds(b, op);
    sl_buf_adds(b, "\",\"ts_ms\":");
    sl_buf_i64(b, now_ms);
    sl_buf_adds(b, ",\"ts_us\":");
    sl_buf_i64(b, now_ms * 1000);
    sl_buf_adds(b, ",\"ts_ns\":");
    sl_buf_i64(b, now_ms * 1000000);
    if (tb) {
        sl_buf_adds(b, ",\"transaction\":{\"id\":");
        sl_json_cstr_or_null(b, tb->id);
        sl_buf_adds(b, ",\"total_order\":");
        sl_buf_i64(b, tb->total_order);
        sl_buf_adds(b, ",\"data_collection_order\":");
        sl_buf_i64(b, tb->data_collection_order);
        sl_buf_adds(b, "}}");
    } else {
        sl_buf_adds(b, ",\"transaction\":null}");
    }
}

void sl_json_schema_change_head(sl_buf *b, const sl_event *e, const sl_envelope_opts *o, int64_t now_ms)
{
    const sl_table_schema *s = e->schema;
    sl_buf_adds(b, "{\"source\":");
    sl_json_source(b, e, o);
    sl_buf_adds(b, ",\"ts_ms\":");
    sl_buf_i64(b, now_ms);
    sl_buf_adds(b, ",\"databaseName\":");
    sl_json_cstr_or_null(b, s->db);
    sl_buf_adds(b, ",\"schemaName\":");
    sl_json_cstr_or_null(b, s->schema);
    sl_buf_adds(b, ",\"ddl\":");
    sl_json_cstr_or_null(b, e->ddl);
    sl_buf_adds(b, ",\"tableChanges\":[{\"type\":\"");
    /* a shape learnt from rows: the table's first is a CREATE */
    static const char *const types[] = {NULL, "CREATE", "ALTER", "DROP"};
    sl_buf_adds(b, e->change && e->change <= SL_CHANGE_DROP ? types[e->change] : s->version > 1 ? "ALTER" : "CREATE");
    sl_buf_adds(b, "\",\"id\":");
}

void sl_json_schema_change(sl_buf *b, const sl_event *e, const sl_envelope_opts *o, int64_t now_ms)
{
    const sl_table_schema *s = e->schema;
    sl_json_schema_change_head(b, e, o, now_ms);
    sl_json_cstr_or_null(b, s->qualified);
    sl_buf_adds(b, ",\"schemaVersion\":");
    sl_buf_u64(b, s->version);
    sl_buf_adds(b, ",\"table\":{\"primaryKeyColumnNames\":[");
    for (int k = 0; k < s->npk; k++) {
        if (k)
            sl_buf_addc(b, ',');
        sl_json_cstr_or_null(b, s->cols[s->pk[k]].name);
    }
    sl_buf_adds(b, "],\"columns\":[");
    for (int i = 0; i < s->ncols; i++) {
        const sl_column *c = &s->cols[i];
        if (i)
            sl_buf_addc(b, ',');
        sl_buf_adds(b, "{\"name\":");
        sl_json_cstr_or_null(b, c->name);
        sl_buf_adds(b, ",\"typeName\":");
        sl_json_cstr_or_null(b, c->type_name);
        sl_buf_adds(b, ",\"position\":");
        sl_buf_u64(b, (uint64_t)i + 1);
        sl_buf_adds(b, ",\"optional\":");
        sl_buf_adds(b, c->nullable ? "true" : "false");
        if (c->precision) {
            sl_buf_adds(b, ",\"length\":");
            sl_buf_u64(b, c->precision);
        }
        if (c->kind == SL_DECIMAL) {
            sl_buf_adds(b, ",\"scale\":");
            sl_buf_u64(b, c->scale);
        }
        if (c->n_enum_values) {
            sl_buf_adds(b, ",\"enumValues\":[");
            for (uint32_t k = 0; k < c->n_enum_values; k++) {
                if (k)
                    sl_buf_addc(b, ',');
                sl_json_cstr_or_null(b, c->enum_values[k]);
            }
            sl_buf_addc(b, ']');
        }
        sl_buf_addc(b, '}');
    }
    sl_buf_adds(b, "]}}]}");
}

