/* canal.c — canal-json rendering of change events (see canal.h). */
#include "canal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "envelope.h"

/* Flink's SQL time text: fraction digits only as many as needed */
static int sql_time(char *buf, size_t len, int64_t us_of_day)
{
    int64_t s = us_of_day / 1000000, f = us_of_day % 1000000;
    int n = snprintf(buf, len, "%02d:%02d:%02d", (int)(s / 3600), (int)(s / 60 % 60), (int)(s % 60));
    if (f) {
        char frac[8];
        snprintf(frac, sizeof frac, "%06d", (int)f);
        int k = 6;
        while (k > 1 && frac[k - 1] == '0')
            k--;
        n += snprintf(buf + n, len - (size_t)n, ".%.*s", k, frac);
    }
    return n;
}

static void value(sl_buf *b, const sl_value *v)
{
    char tmp[64];
    switch ((sl_kind)v->kind) {
    case SL_NULL: sl_buf_adds(b, "null"); return;
    case SL_INT:
    case SL_YEAR: sl_buf_i64(b, v->v.i); return;
    case SL_UINT: sl_buf_u64(b, v->v.u); return;
    case SL_BOOL: sl_buf_adds(b, v->v.i ? "true" : "false"); return;
    case SL_FLOAT:
    case SL_DOUBLE:
        if (isfinite(v->v.d))
            sl_format_double(b, v->v.d, v->kind == SL_FLOAT);
        else
            sl_buf_adds(b, isnan(v->v.d) ? "\"NaN\"" : v->v.d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        return;
    case SL_DECIMAL:
        /* a plain number, unless it is no number (PostgreSQL NaN) */
        if (v->len && (v->v.s[0] == '-' || (v->v.s[0] >= '0' && v->v.s[0] <= '9')))
            sl_buf_add(b, v->v.s, v->len);
        else
            sl_json_string(b, v->v.s, v->len);
        return;
    case SL_DATE:
        if (v->flags & SL_VF_INVALID_DATE) {
            sl_json_string(b, v->v.s, v->len);
            return;
        }
        sl_json_string(b, tmp, (size_t)sl_date_text(tmp, sizeof tmp, v->v.i));
        return;
    case SL_TIME: {
        int64_t us = v->v.i;
        int n = 0;
        if (us < 0) {
            tmp[n++] = '-';
            us = -us;
        }
        n += sql_time(tmp + n, sizeof tmp - (size_t)n, us);
        sl_json_string(b, tmp, (size_t)n);
        return;
    }
    case SL_DATETIME:
    case SL_TIMESTAMP: {
        int64_t days, tod;
        sl_value_day_us(v, &days, &tod);
        int n = sl_date_text(tmp, sizeof tmp, days);
        tmp[n++] = ' ';
        n += sql_time(tmp + n, sizeof tmp - (size_t)n, tod);
        if (v->kind == SL_TIMESTAMP)
            tmp[n++] = 'Z';
        sl_json_string(b, tmp, (size_t)n);
        return;
    }
    case SL_BYTES: sl_base64(b, (const unsigned char *)v->v.s, v->len); return;
    case SL_BIT:
        if (v->aux == 1) {
            sl_buf_adds(b, v->v.u ? "true" : "false");
        } else {
            unsigned char bytes[8];
            size_t n = (size_t)(v->aux + 7) / 8;
            for (size_t i = 0; i < n; i++)
                bytes[i] = (unsigned char)(v->v.u >> (8 * (n - 1 - i)));
            sl_base64(b, bytes, n);
        }
        return;
    case SL_UNCHANGED: sl_buf_adds(b, "\"" SL_UNAVAILABLE_VALUE "\""); return;
    case SL_TEXTUAL:
        if (v->flags & SL_VF_JSON_TEXT) {
            sl_buf_add(b, v->v.s, v->len);
            return;
        }
        /* fall through */
    default: sl_json_string(b, v->v.s, v->len); return;
    }
}

static void row(sl_buf *b, const sl_table_schema *s, const sl_value *r)
{
    if (!r) {
        sl_buf_adds(b, "null");
        return;
    }
    sl_buf_addc(b, '[');
    sl_buf_addc(b, '{');
    for (int i = 0; i < s->ncols; i++) {
        if (i)
            sl_buf_addc(b, ',');
        sl_json_string(b, s->cols[i].name, strlen(s->cols[i].name));
        sl_buf_addc(b, ':');
        value(b, &r[i]);
    }
    sl_buf_adds(b, "}]");
}

void sl_canal_json(sl_buf *b, const sl_event *e)
{
    const sl_table_schema *s = e->schema;
    const char *type = e->op == SL_OP_DELETE ? "DELETE" : e->op == SL_OP_UPDATE ? "UPDATE" : "INSERT";
    sl_buf_adds(b, "{\"old\":");
    if (e->op == SL_OP_UPDATE && e->before)
        row(b, s, e->before);
    else
        sl_buf_adds(b, "null");
    sl_buf_adds(b, ",\"data\":");
    row(b, s, e->op == SL_OP_DELETE ? e->before : e->after);
    sl_buf_adds(b, ",\"type\":\"");
    sl_buf_adds(b, type);
    sl_buf_adds(b, "\",\"database\":");
    const char *db = s->schema ? s->schema : s->db;
    sl_json_string(b, db ? db : "", db ? strlen(db) : 0);
    sl_buf_adds(b, ",\"table\":");
    sl_json_string(b, s->table, strlen(s->table));
    sl_buf_adds(b, ",\"pkNames\":[");
    for (int k = 0; k < s->npk; k++) {
        if (k)
            sl_buf_addc(b, ',');
        const char *n = s->cols[s->pk[k]].name;
        sl_json_string(b, n, strlen(n));
    }
    sl_buf_adds(b, "]}");
}
