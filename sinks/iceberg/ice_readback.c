/* ice_readback.c — `sluice migrate` verification for the iceberg sink: each
 * table's current snapshot read back as a reader sees it (its manifests'
 * live data files minus their position deletes), every row turned back into
 * the values the source produced and hashed as core/verify.h defines, so
 * the sums equal the source's exactly when the rows do.
 *
 * The fields' doc (core/kind_tag.h, written when sluice created the field)
 * says which source kind a column holds: the Iceberg type alone is
 * ambiguous (long: INT or BIT(5); string: JSON or ENUM; decimal(20, 0):
 * BIGINT UNSIGNED or DECIMAL(20,0)). Fields without one are read by their
 * Iceberg type. Files another writer put into the table (pyiceberg's
 * rewrites, say) are read too: the reader takes any Parquet of the same
 * repertoire. Tables are looked up without routes, as the source names
 * them: <database or schema>.<table>. */
#define SL_LOG_COMPONENT "iceberg sink"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/envelope.h"
#include "../../core/kind_tag.h"
#include "../../core/log.h"
#include "../../core/verify.h"
#include "../../formats/avro/avro.h"
#include "../../formats/parquet/pq_reader.h"
#include "ice_sink.h"

enum { POS_FILE_PATH_ID = 2147483546, POS_POS_ID = 2147483545 };

typedef struct rb_col {
    int32_t id;
    char itype[40];
    int dec_scale;  /* decimal(P, S): S; -1 otherwise */
    int pqcol;      /* column in the open data file, -1 when it has none (added later) */
} rb_col;

/* the positions deleted in one data file */
typedef struct del_set {
    char *path;
    int64_t *pos;
    size_t n, cap;
} del_set;

typedef struct rb_table {
    const char *name;
    rb_col *cols;
    sl_table_schema schema;  /* columns as the source renders them */
    sl_value *vals;
    char **data;             /* data file paths (local) */
    size_t ndata, capdata;
    char **delf;             /* position delete files (local) */
    size_t ndelf, capdelf;
    del_set *dels;
    size_t ndels, capdels, last_del;
    sl_buf json, text;
    uint64_t rows, sum;
} rb_table;

static int push_path(char ***arr, size_t *n, size_t *cap, const char *p, size_t len)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 8;
        char **a = realloc(*arr, c * sizeof *a);
        if (!a)
            return -1;
        *arr = a;
        *cap = c;
    }
    return ((*arr)[*n] = strndup(p, len)) ? (int)(++*n, 0) : -1;
}

/* the source kind of field f: its doc's tag, else its Iceberg type's */
static void column_of(json_t *f, sl_column *c, rb_col *rc)
{
    const char *t = json_string_value(json_object_get(f, "type"));
    snprintf(rc->itype, sizeof rc->itype, "%s", t ? t : "");
    rc->id = (int32_t)json_integer_value(json_object_get(f, "id"));
    unsigned p, s;
    rc->dec_scale = sscanf(rc->itype, "decimal(%u ,%u)", &p, &s) == 2 ? (int)s : -1;
    c->name = (char *)json_string_value(json_object_get(f, "name"));
    c->nullable = 1;
    uint8_t kind, elem;
    uint16_t n;
    if (sl_kind_tag_parse(json_string_value(json_object_get(f, "doc")), &kind, &n, &elem)) {
        c->kind = kind;
        c->elem_kind = elem;
        c->is_array = kind == SL_TEXTUAL && elem;
        c->scale = n;
        c->precision = n;
        return;
    }
    c->scale = rc->dec_scale >= 0 ? (uint16_t)rc->dec_scale : 6;
    if (!strcmp(rc->itype, "boolean"))
        c->kind = SL_BOOL;
    else if (!strcmp(rc->itype, "int") || !strcmp(rc->itype, "long"))
        c->kind = SL_INT;
    else if (!strcmp(rc->itype, "float"))
        c->kind = SL_FLOAT;
    else if (!strcmp(rc->itype, "double"))
        c->kind = SL_DOUBLE;
    else if (rc->dec_scale >= 0)
        c->kind = SL_DECIMAL;
    else if (!strcmp(rc->itype, "date"))
        c->kind = SL_DATE;
    else if (!strcmp(rc->itype, "time"))
        c->kind = SL_TIME;
    else if (!strcmp(rc->itype, "timestamp"))
        c->kind = SL_DATETIME;
    else if (!strcmp(rc->itype, "timestamptz"))
        c->kind = SL_TIMESTAMP;
    else if (!strcmp(rc->itype, "binary") || !strncmp(rc->itype, "fixed", 5))
        c->kind = SL_BYTES;
    else
        c->kind = SL_STRING;
}

/* one Parquet value as the value the source produced for column c */
static void to_value(rb_table *t, int i, const sl_pq_rcolumn *pc, const sl_pq_rvalue *v, char *tmp)
{
    const rb_col *rc = &t->cols[i];
    const sl_column *c = &t->schema.cols[i];
    sl_value *o = &t->vals[i];
    memset(o, 0, sizeof *o);
    if (!v)
        return; /* SL_NULL */
    uint8_t k = c->kind;
    if (pc->physical == SL_PQ_BYTE_ARRAY || (pc->physical == SL_PQ_FIXED && rc->dec_scale < 0)) {
        if (!strcmp(rc->itype, "uuid") && v->n == 16) {
            static const char hex[] = "0123456789abcdef";
            int n = 0;
            for (int b = 0; b < 16; b++) {
                if (b == 4 || b == 6 || b == 8 || b == 10)
                    tmp[n++] = '-';
                tmp[n++] = hex[v->p[b] >> 4];
                tmp[n++] = hex[v->p[b] & 15];
            }
            *o = sl_val_text(k == SL_BYTES ? SL_STRING : k, tmp, (uint32_t)n);
            return;
        }
        int textual = k == SL_STRING || k == SL_TEXTUAL || k == SL_JSON || k == SL_ENUM || k == SL_SET ||
                      k == SL_DECIMAL || k == SL_BYTES;
        *o = sl_val_text(textual ? k : SL_STRING, (const char *)v->p, v->n);
        if (c->is_array)
            o->flags |= SL_VF_JSON_TEXT;
        return;
    }
    if (rc->dec_scale >= 0) {
        sl_i128 x = ice_unscaled(pc->physical, v);
        if (k == SL_UINT || k == SL_BIT) {
            o->kind = k;
            o->v.u = (uint64_t)x;
            o->aux = c->precision;
            return;
        }
        int n = sl_decimal_format(x, rc->dec_scale, tmp);
        *o = sl_val_text(SL_DECIMAL, tmp, (uint32_t)n);
        return;
    }
    switch (pc->physical) {
    case SL_PQ_BOOLEAN:
        o->kind = SL_BOOL;
        o->v.i = v->i;
        return;
    case SL_PQ_FLOAT:
    case SL_PQ_DOUBLE:
        o->kind = k == SL_FLOAT ? SL_FLOAT : SL_DOUBLE;
        o->v.d = v->d;
        return;
    default: /* INT32, INT64: integers, dates, times, timestamps */
        o->kind = k == SL_UINT || k == SL_BIT || k == SL_YEAR || k == SL_DATE || k == SL_TIME || k == SL_DATETIME ||
                          k == SL_TIMESTAMP || k == SL_BOOL
                      ? k
                      : SL_INT;
        o->v.i = v->i;
        if (k == SL_BIT)
            o->aux = c->precision;
        if (k == SL_TIMESTAMP || k == SL_DATETIME || k == SL_TIME)
            o->aux = c->scale;
        return;
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static del_set *dels_of(rb_table *t, const char *path, size_t n, int add)
{
    /* delete files are sorted by file_path: the last one found is the likely one */
    if (t->last_del < t->ndels && strlen(t->dels[t->last_del].path) == n && !memcmp(t->dels[t->last_del].path, path, n))
        return &t->dels[t->last_del];
    for (size_t i = 0; i < t->ndels; i++)
        if (strlen(t->dels[i].path) == n && !memcmp(t->dels[i].path, path, n))
            return &t->dels[t->last_del = i];
    if (!add)
        return NULL;
    if (t->ndels == t->capdels) {
        size_t c = t->capdels ? t->capdels * 2 : 8;
        del_set *d = realloc(t->dels, c * sizeof *d);
        if (!d)
            return NULL;
        t->dels = d;
        t->capdels = c;
    }
    del_set *d = &t->dels[t->last_del = t->ndels];
    memset(d, 0, sizeof *d);
    if (!(d->path = strndup(path, n)))
        return NULL;
    t->ndels++;
    return d;
}

static int read_deletes(rb_table *t, const char *local, sl_err *err)
{
    sl_pq_reader *r;
    int rc = sl_pq_reader_open(local, &r, err);
    if (rc)
        return rc;
    int cp = sl_pq_reader_find(r, POS_FILE_PATH_ID), cq = sl_pq_reader_find(r, POS_POS_ID);
    if (cp < 0 || cq < 0) {
        sl_pq_reader_close(r);
        return sl_errf(err, SL_ERUNTIME, "%s is not a position delete file (no file_path and pos)", local);
    }
    for (int g = 0; g < sl_pq_reader_num_row_groups(r) && !rc; g++) {
        int64_t n = sl_pq_reader_load(r, g, err);
        if (n < 0) {
            rc = (int)n;
            break;
        }
        for (int64_t k = 0; k < n; k++) {
            const sl_pq_rvalue *p = sl_pq_reader_value(r, cp, k), *q = sl_pq_reader_value(r, cq, k);
            if (!p || !q)
                continue;
            /* the data file's URI as its local path (as the manifests' are kept) */
            size_t skip = p->n >= 7 && !memcmp(p->p, "file://", 7) ? 7 : p->n >= 5 && !memcmp(p->p, "file:", 5) ? 5 : 0;
            del_set *d = dels_of(t, (const char *)p->p + skip, p->n - skip, 1);
            if (!d || (d->n == d->cap && !(d->pos = realloc(d->pos, (d->cap = d->cap ? d->cap * 2 : 64) * 8)))) {
                rc = sl_errf(err, SL_ERUNTIME, "out of memory");
                break;
            }
            d->pos[d->n++] = q->i;
        }
    }
    sl_pq_reader_close(r);
    return rc;
}

static int is_deleted(const del_set *d, int64_t pos)
{
    return d && bsearch(&pos, d->pos, d->n, sizeof *d->pos, cmp_i64) != NULL;
}

static int read_data(rb_table *t, const char *local, sl_err *err)
{
    sl_pq_reader *r;
    int rc = sl_pq_reader_open(local, &r, err);
    if (rc)
        return rc;
    for (int i = 0; i < t->schema.ncols; i++) {
        t->cols[i].pqcol = sl_pq_reader_find(r, t->cols[i].id);
        if (t->cols[i].pqcol >= 0 && sl_pq_reader_column(r, t->cols[i].pqcol)->is_list) {
            sl_pq_reader_close(r);
            return sl_errf(err, SL_ERUNTIME, "%s: column %s is a list; sluice reads back only the primitive "
                           "columns it writes", local, t->schema.cols[i].name);
        }
    }
    const del_set *d = dels_of(t, local, strlen(local), 0);
    char(*tmp)[48] = calloc((size_t)t->schema.ncols + 1, sizeof *tmp);
    if (!tmp) {
        sl_pq_reader_close(r);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    int64_t base = 0;
    for (int g = 0; g < sl_pq_reader_num_row_groups(r) && !rc; g++) {
        int64_t n = sl_pq_reader_load(r, g, err);
        if (n < 0) {
            rc = (int)n;
            break;
        }
        for (int64_t k = 0; k < n; k++) {
            if (is_deleted(d, base + k))
                continue;
            for (int i = 0; i < t->schema.ncols; i++) {
                int pcn = t->cols[i].pqcol;
                to_value(t, i, pcn >= 0 ? sl_pq_reader_column(r, pcn) : NULL,
                         pcn >= 0 ? sl_pq_reader_value(r, pcn, k) : NULL, tmp[i]);
            }
            sl_buf_reset(&t->json);
            sl_json_row(&t->json, &t->schema, t->vals);
            if (t->json.failed) {
                rc = sl_errf(err, SL_ERUNTIME, "out of memory");
                break;
            }
            t->rows++;
            t->sum += sl_digest_hash(t->json.data, t->json.len);
        }
        base += n;
    }
    free(tmp);
    sl_pq_reader_close(r);
    return rc;
}

/* one live file of the snapshot: its local path into the data or delete list */
static int add_file(int content, const char *uri, void *arg, sl_err *err)
{
    rb_table *t = arg;
    const char *local = ice_local_path(uri);
    if (content == 2)
        return sl_errf(err, SL_ERUNTIME, "%s is an equality delete file; sluice reads back position deletes only",
                       uri);
    if (!local)
        return sl_errf(err, SL_ERUNTIME, "file %s is not on the local filesystem", uri);
    if (content == 0 ? push_path(&t->data, &t->ndata, &t->capdata, local, strlen(local))
                     : push_path(&t->delf, &t->ndelf, &t->capdelf, local, strlen(local)))
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    return 0;
}

static int read_table(rb_table *t, json_t *md, sl_err *err)
{
    int id;
    json_t *schema = ice_current_schema(md, &id);
    json_t *fields = json_object_get(schema, "fields");
    size_t nf = json_array_size(fields);
    t->cols = calloc(nf + 1, sizeof *t->cols);
    t->schema.cols = calloc(nf + 1, sizeof *t->schema.cols);
    t->vals = calloc(nf + 1, sizeof *t->vals);
    if (!t->cols || !t->schema.cols || !t->vals)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f)
        column_of(f, &t->schema.cols[t->schema.ncols++], &t->cols[i]);
    json_t *cur = json_object_get(md, "current-snapshot-id");
    if (!json_is_integer(cur) || json_integer_value(cur) < 0)
        return 0; /* no snapshot: an empty table */
    json_t *snap = ice_find_snapshot(md, json_integer_value(cur));
    const char *list = snap ? json_string_value(json_object_get(snap, "manifest-list")) : NULL;
    const char *local = list ? ice_local_path(list) : NULL;
    if (!local)
        return sl_errf(err, SL_ERUNTIME, "the current snapshot's manifest list %s is not on the local filesystem",
                       list ? list : "(none)");
    int rc = ice_manifest_files(local, add_file, t, err);
    for (size_t k = 0; !rc && k < t->ndelf; k++)
        rc = read_deletes(t, t->delf[k], err);
    for (size_t k = 0; !rc && k < t->ndels; k++)
        qsort(t->dels[k].pos, t->dels[k].n, sizeof *t->dels[k].pos, cmp_i64);
    for (size_t k = 0; !rc && k < t->ndata; k++)
        rc = read_data(t, t->data[k], err);
    return rc;
}

static void rb_free(rb_table *t)
{
    for (size_t i = 0; i < t->ndata; i++)
        free(t->data[i]);
    for (size_t i = 0; i < t->ndelf; i++)
        free(t->delf[i]);
    for (size_t i = 0; i < t->ndels; i++) {
        free(t->dels[i].path);
        free(t->dels[i].pos);
    }
    free(t->data);
    free(t->delf);
    free(t->dels);
    free(t->cols);
    free(t->schema.cols);
    free(t->vals);
    sl_buf_free(&t->json);
    sl_buf_free(&t->text);
}

int ice_read_back(void *self, const sl_digest_set *want, sl_digest_set *out, sl_err *err)
{
    ice_sink *k = self;
    int rc = 0;
    for (size_t i = 0; i < want->n && !rc; i++) {
        const char *name = want->items[i].table;
        sl_digest *d = sl_digest_get(out, name, NULL);
        const char *dot = strrchr(name, '.');
        if (!d)
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        if (!dot)
            continue;
        char *ns = strndup(name, (size_t)(dot - name));
        json_t *md = NULL;
        int st = ns ? k->cat.ops->load(k->cat.self, ns, dot + 1, &md, NULL, err) : sl_errf(err, SL_ERUNTIME, "out of memory");
        free(ns);
        if (st == ICE_NOTFOUND) {
            /* no such table: nothing arrived */
        } else if (st) {
            rc = st;
        } else {
            rb_table t = {.name = name};
            sl_buf_init(&t.json);
            sl_buf_init(&t.text);
            rc = read_table(&t, md, err);
            if (rc)
                sl_err_prefix(err, rc, SL_LOG_PREFIX "reading %s back: ", name);
            d->rows = t.rows;
            d->sum = t.sum;
            rb_free(&t);
        }
        json_decref(md);
    }
    return rc;
}
