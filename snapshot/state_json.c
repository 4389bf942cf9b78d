/* state_json.c — a snapshot's split state as JSON text, both ways: the
 * "snapshot" object spliced into every checkpoint token (which tables are
 * done, how far each is split, which chunks were in flight and must be
 * read again) and its restore after a restart; and the encoding of chunk
 * key bounds. */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/buf.h"
#include "../core/log.h"
#include "coordinator.h"

static char *json_text_or_null(json_t *v)
{
    if (!v || json_is_null(v))
        return NULL;
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

int sl_snapshot_restore(sl_snapshot *s, const char *state_json, sl_err *err)
{
    json_error_t je;
    json_t *root = json_loads(state_json, JSON_DECODE_ANY, &je);
    json_t *tables = root ? json_object_get(root, "tables") : NULL;
    if (!json_is_array(tables)) {
        json_decref(root);
        return sl_errf(err, SL_ERUNTIME, "checkpoint snapshot state is damaged: %s", state_json);
    }
    size_t i;
    json_t *jt;
    json_array_foreach(tables, i, jt) {
        const char *name = json_string_value(json_object_get(jt, "t"));
        int idx = name ? sl_snapshot_find_table(s, name) : -1;
        if (idx < 0)
            continue; /* a table no longer configured */
        sl_snap_table *t = &s->tables[idx];
        t->done = json_is_true(json_object_get(jt, "done"));
        t->exhausted = t->done || json_is_true(json_object_get(jt, "exhausted"));
        free(t->next_lo);
        t->next_lo = json_text_or_null(json_object_get(jt, "next"));
        t->chunks_done = (uint64_t)json_integer_value(json_object_get(jt, "chunks"));
        t->rows_done = (uint64_t)json_integer_value(json_object_get(jt, "rows"));
        t->next_seq = (uint32_t)t->chunks_done;
        if (t->arith && t->next_lo) {
            json_t *arr = json_loads(t->next_lo, 0, &je);
            const char *p = json_string_value(json_array_get(arr, 0));
            if (p && strncmp(p, "n:", 2) == 0)
                t->arith_next = strtoll(p + 2, NULL, 10);
            json_decref(arr);
        }
        json_t *pending = json_object_get(jt, "pending");
        size_t k;
        json_t *pc;
        json_array_foreach(pending, k, pc) {
            sl_snap_chunk c = {.table = (uint32_t)idx, .seq = t->next_seq++};
            c.lo = json_text_or_null(json_array_get(pc, 0));
            c.hi = json_text_or_null(json_array_get(pc, 1));
            c.lower_bound = s->max_seen;
            if (sl_snap_chunk_push(&s->reread, &s->nreread, &s->reread_cap, &c)) {
                sl_snap_chunk_free(&c);
                json_decref(root);
                return sl_errf(err, SL_ERUNTIME, "out of memory");
            }
        }
        if (t->done)
            sl_info("snapshot of %s finished before the restart", t->name);
        else
            sl_info("snapshot of %s resumes: %" PRIu64 " chunks done, %zu to read again", t->name,
                    t->chunks_done, json_array_size(pending));
    }
    json_decref(root);
    s->state_dirty = 1;
    return 0;
}

static char *bounds_pair(const sl_snap_chunk *c)
{
    size_t n = (c->lo ? strlen(c->lo) : 4) + (c->hi ? strlen(c->hi) : 4) + 8;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "[%s,%s]", c->lo ? c->lo : "null", c->hi ? c->hi : "null");
    return p;
}

/* Under s->mu. */
static int build_state(sl_snapshot *s)
{
    sl_buf b;
    sl_buf_init(&b);
    sl_buf_adds(&b, "{\"tables\":[");
    for (uint32_t i = 0; i < s->ntables; i++) {
        sl_snap_table *t = &s->tables[i];
        if (i)
            sl_buf_addc(&b, ',');
        sl_buf_adds(&b, "{\"t\":");
        json_t *name = json_string(t->name);
        char *ntext = json_dumps(name, JSON_ENCODE_ANY);
        sl_buf_adds(&b, ntext ? ntext : "\"\"");
        free(ntext);
        json_decref(name);
        if (t->done) {
            sl_buf_adds(&b, ",\"done\":true}");
            continue;
        }
        sl_buf_adds(&b, ",\"next\":");
        sl_buf_adds(&b, t->next_lo ? t->next_lo : "null");
        sl_buf_adds(&b, t->exhausted ? ",\"exhausted\":true" : ",\"exhausted\":false");
        sl_buf_adds(&b, ",\"chunks\":");
        sl_buf_u64(&b, t->chunks_done);
        sl_buf_adds(&b, ",\"rows\":");
        sl_buf_u64(&b, t->rows_done);
        sl_buf_adds(&b, ",\"pending\":[");
        int first = 1;
        for (size_t k = 0; k < s->ninflight; k++) {
            if (s->inflight[k].table != i)
                continue;
            char *pair = bounds_pair(&s->inflight[k]);
            if (!first)
                sl_buf_addc(&b, ',');
            sl_buf_adds(&b, pair ? pair : "[null,null]");
            free(pair);
            first = 0;
        }
        for (size_t k = 0; k < s->nreread; k++) {
            if (s->reread[k].table != i)
                continue;
            /* abandoned chunks stay in flight too; listed once is enough */
            int dup = 0;
            for (size_t j = 0; j < s->ninflight; j++)
                dup |= s->inflight[j].table == i && s->inflight[j].seq == s->reread[k].seq;
            if (dup)
                continue;
            char *pair = bounds_pair(&s->reread[k]);
            if (!first)
                sl_buf_addc(&b, ',');
            sl_buf_adds(&b, pair ? pair : "[null,null]");
            free(pair);
            first = 0;
        }
        sl_buf_adds(&b, "]}");
    }
    sl_buf_adds(&b, "]}");
    sl_buf_addc(&b, 0);
    if (b.failed) {
        sl_buf_free(&b);
        return -1;
    }
    free(s->state_json);
    s->state_json = b.data;
    s->state_dirty = 0;
    return 0;
}

char *sl_snapshot_token(sl_snapshot *s, const char *pos_json)
{
    pthread_mutex_lock(&s->mu);
    if ((s->state_dirty || !s->state_json) && build_state(s)) {
        pthread_mutex_unlock(&s->mu);
        return NULL;
    }
    size_t plen = strlen(pos_json);
    size_t n = plen + strlen(s->state_json) + 16;
    char *tok = malloc(n);
    if (tok && plen >= 2 && pos_json[plen - 1] == '}')
        snprintf(tok, n, "%.*s,\"snapshot\":%s}", (int)(plen - 1), pos_json, s->state_json);
    else if (tok)
        snprintf(tok, n, "%s", pos_json);
    pthread_mutex_unlock(&s->mu);
    return tok;
}

char *sl_snap_bound_from_row(const sl_table_schema *schema, const int *key_cols, int nkey, const sl_value *row)
{
    json_t *arr = json_array();
    for (int k = 0; k < nkey && arr; k++) {
        const sl_value *v = &row[key_cols[k]];
        char buf[64];
        json_t *item = NULL;
        switch ((sl_kind)v->kind) {
        case SL_INT:
        case SL_YEAR:
        case SL_BOOL:
            snprintf(buf, sizeof buf, "n:%lld", (long long)v->v.i);
            item = json_string(buf);
            break;
        case SL_UINT:
        case SL_BIT:
            snprintf(buf, sizeof buf, "n:%llu", (unsigned long long)v->v.u);
            item = json_string(buf);
            break;
        case SL_BYTES: {
            char *hex = malloc((size_t)v->len * 2 + 3);
            if (!hex)
                break;
            static const char hx[] = "0123456789abcdef";
            hex[0] = 'x';
            hex[1] = ':';
            for (uint32_t i = 0; i < v->len; i++) {
                hex[2 + 2 * i] = hx[(unsigned char)v->v.s[i] >> 4];
                hex[3 + 2 * i] = hx[(unsigned char)v->v.s[i] & 15];
            }
            hex[2 + 2 * v->len] = 0;
            item = json_string(hex);
            free(hex);
            break;
        }
        case SL_DATE:
        case SL_TIME:
        case SL_DATETIME:
        case SL_TIMESTAMP:
        case SL_FLOAT:
        case SL_DOUBLE: {
            char t[64] = "s:";
            sl_value_sql_text(v, t + 2, sizeof t - 2);
            item = json_string(t);
            break;
        }
        default: {
            /* text forms the server parses back: strings, decimals */
            char *txt = malloc((size_t)v->len + 3);
            if (!txt)
                break;
            txt[0] = 's';
            txt[1] = ':';
            memcpy(txt + 2, v->v.s, v->len);
            txt[2 + v->len] = 0;
            item = json_stringn(txt, (size_t)v->len + 2);
            free(txt);
            break;
        }
        }
        if (!item || json_array_append_new(arr, item)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    char *s = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    return s;
}
