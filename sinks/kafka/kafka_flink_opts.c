/* kafka_flink_opts.c — Flink CDC's Kafka sink options (see
 * kafka_flink_opts.h). */
#define SL_LOG_COMPONENT "kafka sink"

#include "kafka_flink_opts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/log.h"

/* splits "a:b<sep>c:d" into pairs; -1 and why for a malformed entry */
static int pairs(const char *text, char sep, char ***ks, char ***vs, size_t *n, char *why, size_t wlen)
{
    *ks = *vs = NULL;
    *n = 0;
    for (const char *p = text; p && *p;) {
        const char *end = strchr(p, sep);
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && *p == ' ')
            p++, len--;
        while (len && p[len - 1] == ' ')
            len--;
        if (len) {
            /* the first ':' splits, so a value may hold more */
            const char *colon = memchr(p, ':', len);
            if (!colon || colon == p || colon == p + len - 1) {
                snprintf(why, wlen, "'%.*s' is not key:value", (int)len, p);
                return -1;
            }
            char **nk = realloc(*ks, (*n + 1) * sizeof *nk);
            if (nk)
                *ks = nk;
            char **nv = realloc(*vs, (*n + 1) * sizeof *nv);
            if (nv)
                *vs = nv;
            if (!nk || !nv) {
                snprintf(why, wlen, "out of memory");
                return -1;
            }
            size_t kl = (size_t)(colon - p);
            while (kl && p[kl - 1] == ' ')
                kl--;
            const char *v = colon + 1;
            while (*v == ' ')
                v++;
            (*ks)[*n] = strndup(p, kl);
            (*vs)[*n] = strndup(v, (size_t)(p + len - v));
            (*n)++;
        }
        p += len;
        p += strspn(p, " ");
        if (*p == sep)
            p++;
    }
    return 0;
}

static void free_pairs(char **ks, char **vs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(ks[i]);
        free(vs[i]);
    }
    free(ks);
    free(vs);
}

int sl_kafka_flink_validate(const sl_options *o, sl_err *err)
{
    char why[300], where[512];
    char **k, **v;
    size_t n;
    const char *names[] = {"sink.tableId-to-topic.mapping", "sink.custom-header"};
    const char seps[] = {';', ','};
    for (int i = 0; i < 2; i++) {
        const char *text = sl_opt_str(o, names[i]);
        if (!text)
            continue;
        int rc = pairs(text, seps[i], &k, &v, &n, why, sizeof why);
        free_pairs(k, v, n);
        if (rc) {
            sl_opt_where(o, names[i], where, sizeof where);
            return sl_errf(err, SL_ECONFIG, "%s: %s: %s (write %s)", where, names[i], why,
                           i == 0 ? "db.table1:topic1;db.table2:topic2" : "key1:value1,key2:value2");
        }
    }
    /* Flink's sink.delivery-guarantee against sluice's delivery.guarantee */
    if (sl_opt_is_set(o, "sink.delivery-guarantee") && sl_opt_is_set(o, "delivery.guarantee")) {
        int flink_once = sl_opt_num(o, "sink.delivery-guarantee") == 0;
        int once = sl_opt_num(o, "delivery.guarantee") == 0;
        if (flink_once != once) {
            sl_opt_where(o, "sink.delivery-guarantee", where, sizeof where);
            return sl_errf(err, SL_ECONFIG, "%s: sink.delivery-guarantee contradicts delivery.guarantee; keep one",
                           where);
        }
    }
    return 0;
}

int sl_kafka_flink_init(kafka_flink *f, const sl_options *o, sl_err *err)
{
    memset(f, 0, sizeof *f);
    char why[300];
    const char *t = sl_opt_str(o, "topic");
    if (t && !(f->topic = strdup(t)))
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    const char *m = sl_opt_str(o, "sink.tableId-to-topic.mapping");
    if (m && pairs(m, ';', &f->map_from, &f->map_to, &f->nmap, why, sizeof why))
        return sl_errf(err, SL_ECONFIG, SL_LOG_PREFIX "sink.tableId-to-topic.mapping: %s", why);
    const char *h = sl_opt_str(o, "sink.custom-header");
    if (h && pairs(h, ',', &f->hdr_key, &f->hdr_val, &f->nhdr, why, sizeof why))
        return sl_errf(err, SL_ECONFIG, SL_LOG_PREFIX "sink.custom-header: %s", why);
    f->table_headers = (int)sl_opt_num(o, "sink.add-tableId-to-header-enabled");
    f->all_to_zero = sl_opt_num(o, "partition.strategy") == 1;
    f->csv_key = sl_opt_num(o, "key.format") == 1;
    f->canal = sl_opt_num(o, "value.format") == 1;
    return 0;
}

void sl_kafka_flink_free(kafka_flink *f)
{
    free(f->topic);
    free_pairs(f->map_from, f->map_to, f->nmap);
    free_pairs(f->hdr_key, f->hdr_val, f->nhdr);
    memset(f, 0, sizeof *f);
}

const char *sl_kafka_flink_topic(const kafka_flink *f, const char *table_id)
{
    if (f->topic)
        return f->topic;
    for (size_t i = 0; i < f->nmap; i++)
        if (strcmp(f->map_from[i], table_id) == 0)
            return f->map_to[i];
    return NULL;
}

rd_kafka_headers_t *sl_kafka_flink_headers(const kafka_flink *f, const sl_table_schema *s)
{
    if (!f->table_headers && !f->nhdr)
        return NULL;
    rd_kafka_headers_t *h = rd_kafka_headers_new(f->nhdr + 3);
    if (!h)
        return NULL;
    if (f->table_headers) {
        /* Flink's table id: MySQL (schemaName = database, table), PostgreSQL
         * (schemaName = schema, table); no namespace in either */
        const char *schema = s->schema ? s->schema : s->db;
        if (schema)
            rd_kafka_header_add(h, "schemaName", -1, schema, -1);
        rd_kafka_header_add(h, "tableName", -1, s->table, -1);
    }
    for (size_t i = 0; i < f->nhdr; i++)
        rd_kafka_header_add(h, f->hdr_key[i], -1, f->hdr_val[i], -1);
    return h;
}

static void csv_field(sl_buf *b, const char *s, size_t n)
{
    int quote = n == 0 || memchr(s, ',', n) || memchr(s, '"', n) || memchr(s, '\n', n) || memchr(s, '\r', n);
    if (!quote) {
        sl_buf_add(b, s, n);
        return;
    }
    sl_buf_addc(b, '"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            sl_buf_addc(b, '"');
        sl_buf_addc(b, s[i]);
    }
    sl_buf_addc(b, '"');
}

void sl_kafka_csv_key(sl_buf *b, const sl_table_schema *s, const sl_value *row)
{
    int n = s->npk ? s->npk : s->ncols;
    for (int k = 0; k < n; k++) {
        int c = s->npk ? s->pk[k] : k;
        const sl_value *v = &row[c];
        if (k)
            sl_buf_addc(b, ',');
        if (v->kind == SL_NULL)
            continue;
        if (v->kind == SL_STRING || v->kind == SL_DECIMAL || v->kind == SL_ENUM || v->kind == SL_SET ||
            v->kind == SL_JSON || v->kind == SL_TEXTUAL || v->kind == SL_BYTES) {
            csv_field(b, v->v.s, v->len);
            continue;
        }
        char tmp[128];
        int len = sl_value_sql_text(v, tmp, sizeof tmp);
        csv_field(b, tmp, len > 0 ? (size_t)len : 0);
    }
}
