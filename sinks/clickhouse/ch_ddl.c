/* ch_ddl.c — the ClickHouse tables: naming, creating, checking existing
 * ones, following source schema changes with ALTER TABLE, and binding each
 * source schema version to the columns it is written to.
 *
 * A table is ReplacingMergeTree(_version, _is_deleted) ORDER BY the key;
 * sluice marks what it owns: each column it creates carries a comment
 * ("varchar(20) [sluice:string/0]", also what read_back needs to render
 * values as the source does) and the table comment records, as JSON, the
 * source position of the last schema change applied and the renames made.
 * Columns without the mark belong to the user and are never dropped,
 * renamed or altered.
 *
 * Schema changes are reconciled by state: the source schema in force at a
 * change is compared with the table as it is, and ADD / DROP / RENAME
 * COLUMN and widening MODIFY COLUMN are issued in one ALTER together with
 * the new table comment. A replayed epoch brings events from before a
 * change already applied (their position is older than the recorded one):
 * those are written into the table as it now is, columns matched by name
 * through the recorded renames, and never undo the change. What cannot
 * be applied without loss stops the pipeline naming table, column and
 * both types.
 */
#define SL_LOG_COMPONENT "clickhouse sink"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/log.h"
#include "../../core/route.h"
#include "ch_sink.h"

void ch_quote_ident(sl_buf *b, const char *name)
{
    sl_buf_addc(b, '`');
    for (const char *p = name; *p; p++) {
        if (*p == '`' || *p == '\\')
            sl_buf_addc(b, '\\');
        sl_buf_addc(b, *p);
    }
    sl_buf_addc(b, '`');
}

void ch_quote_string(sl_buf *b, const char *s, size_t n)
{
    sl_buf_addc(b, '\'');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\'' || s[i] == '\\')
            sl_buf_addc(b, '\\');
        sl_buf_addc(b, s[i]);
    }
    sl_buf_addc(b, '\'');
}

static void quote_cstr(sl_buf *b, const char *s) { ch_quote_string(b, s, strlen(s)); }

void ch_on_cluster(const ch_sink *k, sl_buf *b)
{
    if (k->cluster && *k->cluster) {
        sl_buf_adds(b, " ON CLUSTER ");
        ch_quote_ident(b, k->cluster);
    }
}

int ch_json_count_positive(const json_t *v)
{
    return (json_is_string(v) && strcmp(json_string_value(v), "0") != 0) ||
           (json_is_integer(v) && json_integer_value(v) > 0);
}

int ch_query_rows(ch_sink *k, const char *sql, json_t **rows, sl_err *err)
{
    *rows = NULL;
    int rc = ch_http_query(&k->http, sql, NULL, NULL, 0, k->http.retry_timeout_ms, err);
    if (rc)
        return rc;
    json_t *arr = json_array();
    const char *p = k->http.resp.data, *end = p + k->http.resp.len;
    while (arr && p && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n) {
            json_error_t je;
            json_t *row = json_loadb(p, n, 0, &je);
            if (!row) {
                json_decref(arr);
                return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "unreadable answer to %.200s: %s", sql, je.text);
            }
            json_array_append_new(arr, row);
        }
        p = nl ? nl + 1 : end;
    }
    if (!arr)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    *rows = arr;
    return 0;
}

static const char *jstr(json_t *row, const char *key)
{
    const char *s = json_string_value(json_object_get(row, key));
    return s ? s : "";
}

/* ------------------------------------------------------------ tables -- */

void ch_table_clear(ch_table *t)
{
    for (int i = 0; i < t->ncols; i++) {
        free(t->cols[i].name);
        free(t->cols[i].type_text);
        free(t->cols[i].comment);
    }
    free(t->cols);
    t->cols = NULL;
    t->ncols = 0;
    for (int i = 0; i < t->norder; i++)
        free(t->order_by[i]);
    free(t->order_by);
    t->order_by = NULL;
    t->norder = 0;
    for (int i = 0; i < t->nrenames; i++) {
        free(t->renames[i].from);
        free(t->renames[i].to);
    }
    free(t->renames);
    t->renames = NULL;
    t->nrenames = 0;
    t->have_ddl = 0;
}

void ch_table_free(ch_table *t)
{
    ch_table_clear(t);
    free(t->db);
    free(t->name);
    free(t->qname);
    free(t->display);
    free(t->source);
    free(t->block_cols);
    sl_buf_free(&t->block);
    free(t);
}

void ch_tables_free(ch_sink *k)
{
    for (size_t i = 0; i < k->ntables; i++)
        ch_table_free(k->tables[i]);
    free(k->tables);
    k->tables = NULL;
    k->ntables = k->cap_tables = 0;
    for (size_t i = 0; i < k->ndatabases; i++)
        free(k->databases[i]);
    free(k->databases);
    k->databases = NULL;
    k->ndatabases = 0;
}

static int find_col(const ch_table *t, const char *name)
{
    for (int i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return i;
    return -1;
}

static int is_meta(const ch_sink *k, const char *name)
{
    return strcmp(name, k->ver_col) == 0 || strcmp(name, k->del_col) == 0;
}

/* {"sluice":1,"ddl":"hi.lo.idx","renames":[["from","to","hi.lo.idx"],...]} */
static void parse_table_comment(ch_table *t, const char *comment)
{
    json_error_t je;
    json_t *root = json_loads(comment, 0, &je);
    if (!json_is_object(root) || !json_object_get(root, "sluice")) {
        json_decref(root);
        return;
    }
    const char *ddl = json_string_value(json_object_get(root, "ddl"));
    if (ddl && !ch_pos_parse(ddl, &t->ddl_at))
        t->have_ddl = 1;
    json_t *rn = json_object_get(root, "renames");
    size_t n = json_array_size(rn);
    t->renames = n ? calloc(n, sizeof *t->renames) : NULL;
    for (size_t i = 0; i < n && t->renames; i++) {
        json_t *e = json_array_get(rn, i);
        const char *from = json_string_value(json_array_get(e, 0)), *to = json_string_value(json_array_get(e, 1)),
                   *at = json_string_value(json_array_get(e, 2));
        ch_rename *r = &t->renames[t->nrenames];
        if (!from || !to || !at || ch_pos_parse(at, &r->at))
            continue;
        r->from = strdup(from);
        r->to = strdup(to);
        t->nrenames++;
    }
    json_decref(root);
}

static void table_comment(sl_buf *b, const ch_table *t, sl_pos at, int nrenamed, char **rfrom, char **rto)
{
    json_t *root = json_object();
    sl_buf pos;
    sl_buf_init(&pos);
    ch_pos_text(&pos, at);
    sl_buf_addc(&pos, 0);
    json_object_set_new(root, "sluice", json_integer(1));
    json_object_set_new(root, "ddl", json_string(pos.data ? pos.data : "0.0.0"));
    json_t *rn = json_array();
    /* the newest 32 renames are enough to map any replay of one epoch */
    int keep = t->nrenames + nrenamed > 32 ? t->nrenames + nrenamed - 32 : 0;
    for (int i = keep; i < t->nrenames; i++) {
        sl_buf p2;
        sl_buf_init(&p2);
        ch_pos_text(&p2, t->renames[i].at);
        sl_buf_addc(&p2, 0);
        json_array_append_new(rn, json_pack("[sss]", t->renames[i].from, t->renames[i].to, p2.data));
        sl_buf_free(&p2);
    }
    for (int i = 0; i < nrenamed; i++)
        json_array_append_new(rn, json_pack("[sss]", rfrom[i], rto[i], pos.data));
    json_object_set_new(root, "renames", rn);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    sl_buf_free(&pos);
    quote_cstr(b, text ? text : "{}");
    free(text);
}

/* the arguments inside the first (...) of engine_full */
static int engine_args(const char *full, char *buf, size_t len)
{
    const char *open = strchr(full, '(');
    const char *close = open ? ch_closing_paren(open + 1) : NULL;
    if (!close)
        return -1;
    snprintf(buf, len, "%.*s", (int)(close - open - 1), open + 1);
    return 0;
}

/* the last argument of list, without backticks and blanks, removed from it */
static void pop_arg(char *list, char *out, size_t len)
{
    char *comma = strrchr(list, ',');
    char *a = comma ? comma + 1 : list;
    while (*a == ' ' || *a == '`')
        a++;
    size_t n = strlen(a);
    while (n && (a[n - 1] == ' ' || a[n - 1] == '`'))
        n--;
    snprintf(out, len, "%.*s", (int)n, a);
    if (comma)
        *comma = 0;
    else
        *list = 0;
}

static int check_engine(ch_sink *k, ch_table *t, const char *engine, const char *full, sl_err *err)
{
    size_t el = strlen(engine);
    static const char rmt[] = "ReplacingMergeTree";
    if (el < sizeof rmt - 1 || strcmp(engine + el - (sizeof rmt - 1), rmt) != 0)
        return sl_errf(err, SL_ERUNTIME,
                       SL_LOG_PREFIX "table %s exists with engine %s; sluice writes to ReplacingMergeTree(%s, %s) "
                       "tables ordered by the key: drop or rename it, or route the source table elsewhere",
                       t->display, engine, k->ver_col, k->del_col);
    t->replicated = strncmp(engine, "Replicated", 10) == 0 || strncmp(engine, "Shared", 6) == 0;
    char args[1024] = "", del[256], ver[256];
    engine_args(full, args, sizeof args);
    pop_arg(args, del, sizeof del);
    pop_arg(args, ver, sizeof ver);
    if (strcmp(del, k->del_col) != 0 || strcmp(ver, k->ver_col) != 0)
        return sl_errf(err, SL_ERUNTIME,
                       SL_LOG_PREFIX "table %s is %s without the version and is-deleted columns sluice needs "
                       "(%s(..., %s, %s)): drop or rename it, or set version.column / is-deleted.column to its own",
                       t->display, engine, engine, k->ver_col, k->del_col);
    int v = find_col(t, k->ver_col), d = find_col(t, k->del_col);
    if (v < 0 || (t->cols[v].type.base != CH_UINT128 && t->cols[v].type.base != CH_UINT256))
        return sl_errf(err, SL_ERUNTIME,
                       SL_LOG_PREFIX "table %s: column %s is %s, but sluice's versions need UInt128 (source "
                       "positions are wider than 64 bits)",
                       t->display, k->ver_col, v < 0 ? "missing" : t->cols[v].type_text);
    if (d < 0 || t->cols[d].type.base != CH_UINT8 || t->cols[d].type.nullable)
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "table %s: column %s is %s, but it must be UInt8",
                       t->display, k->del_col, d < 0 ? "missing" : t->cols[d].type_text);
    if (!t->replicated) {
        const char *w = strstr(full, "non_replicated_deduplication_window = ");
        long n = w ? atol(w + strlen("non_replicated_deduplication_window = ")) : 0;
        if (n <= 0)
            return sl_errf(err, SL_ERUNTIME,
                           SL_LOG_PREFIX "table %s has non_replicated_deduplication_window = 0, so ClickHouse "
                           "ignores insert_deduplication_token and a replayed epoch would insert its rows twice; "
                           "fix: ALTER TABLE %s MODIFY SETTING non_replicated_deduplication_window = %lld",
                           t->display, t->qname, (long long)k->dedup_window);
    }
    return 0;
}

static int parse_sorting_key(ch_table *t, const char *key, sl_err *err)
{
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", key);
    char *p = buf;
    size_t n = strlen(p);
    if (n >= 2 && p[0] == '(' && p[n - 1] == ')') {
        p[n - 1] = 0;
        p++;
    }
    for (char *tok = strtok(p, ","); tok; tok = strtok(NULL, ",")) {
        while (*tok == ' ' || *tok == '`')
            tok++;
        size_t l = strlen(tok);
        while (l && (tok[l - 1] == ' ' || tok[l - 1] == '`'))
            tok[--l] = 0;
        if (strpbrk(tok, "() "))
            return sl_errf(err, SL_ERUNTIME,
                           SL_LOG_PREFIX "table %s is ordered by the expression %s; sluice needs ORDER BY "
                           "plain key columns",
                           t->display, tok);
        char **o = realloc(t->order_by, (size_t)(t->norder + 1) * sizeof *o);
        if (!o)
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        t->order_by = o;
        if (!(o[t->norder] = strdup(tok)))
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        t->norder++;
    }
    return 0;
}

int ch_table_describe(ch_sink *k, ch_table *t, int *exists, sl_err *err)
{
    ch_table_clear(t);
    *exists = 0;
    sl_buf *q = &k->sql;
    sl_buf_reset(q);
    sl_buf_adds(q, "SELECT name, type, comment FROM system.columns WHERE database = ");
    quote_cstr(q, t->db);
    sl_buf_adds(q, " AND table = ");
    quote_cstr(q, t->name);
    sl_buf_adds(q, " ORDER BY position FORMAT JSONEachRow");
    sl_buf_addc(q, 0);
    json_t *rows;
    int rc = ch_query_rows(k, q->data, &rows, err);
    if (rc)
        return sl_err_prefix(err, rc, SL_LOG_PREFIX "reading the columns of %s: ", t->display);
    size_t n = json_array_size(rows);
    if (!n) {
        json_decref(rows);
        return 0;
    }
    t->cols = calloc(n, sizeof *t->cols);
    if (!t->cols) {
        json_decref(rows);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_array_get(rows, i);
        ch_col *c = &t->cols[t->ncols++];
        c->name = strdup(jstr(r, "name"));
        c->type_text = strdup(jstr(r, "type"));
        c->comment = strdup(jstr(r, "comment"));
        if (!c->name || !c->type_text || !c->comment) {
            json_decref(rows);
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        }
        ch_type_parse(c->type_text, &c->type);
        c->owned = sl_kind_tag_parse(c->comment, &c->kind, &c->n, &c->elem_kind);
    }
    json_decref(rows);
    sl_buf_reset(q);
    sl_buf_adds(q, "SELECT engine, engine_full, sorting_key, comment FROM system.tables WHERE database = ");
    quote_cstr(q, t->db);
    sl_buf_adds(q, " AND name = ");
    quote_cstr(q, t->name);
    sl_buf_adds(q, " FORMAT JSONEachRow");
    sl_buf_addc(q, 0);
    if ((rc = ch_query_rows(k, q->data, &rows, err)))
        return sl_err_prefix(err, rc, SL_LOG_PREFIX "reading the engine of %s: ", t->display);
    json_t *r = json_array_get(rows, 0);
    if (!r) {
        json_decref(rows);
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "table %s vanished while being read", t->display);
    }
    rc = check_engine(k, t, jstr(r, "engine"), jstr(r, "engine_full"), err);
    if (!rc)
        rc = parse_sorting_key(t, jstr(r, "sorting_key"), err);
    if (!rc)
        parse_table_comment(t, jstr(r, "comment"));
    json_decref(rows);
    if (!rc)
        *exists = 1;
    return rc;
}

/* ------------------------------------------------------------ naming -- */

void ch_default_target(const ch_sink *k, const char *qualified, char **db, char **table)
{
    const char *dot = strchr(qualified, '.');
    *db = strdup(k->database);
    *table = strdup(dot ? dot + 1 : qualified);
}

/* the entry of spec ("tbl: text; db.tbl2: text") for table t, or NULL */
static const char *per_table(const char *spec, const ch_table *t, char *buf, size_t len)
{
    for (const char *p = spec; p && *p;) {
        const char *semi = strchr(p, ';');
        size_t n = semi ? (size_t)(semi - p) : strlen(p);
        const char *colon = memchr(p, ':', n);
        if (colon) {
            const char *a = p;
            while (a < colon && *a == ' ')
                a++;
            size_t an = (size_t)(colon - a);
            while (an && a[an - 1] == ' ')
                an--;
            int match = (an == strlen(t->display) && memcmp(a, t->display, an) == 0) ||
                        (an == strlen(t->name) && memcmp(a, t->name, an) == 0);
            if (match) {
                const char *v = colon + 1;
                size_t vn = n - (size_t)(v - p);
                while (vn && *v == ' ') {
                    v++;
                    vn--;
                }
                while (vn && v[vn - 1] == ' ')
                    vn--;
                snprintf(buf, len, "%.*s", (int)vn, v);
                return buf;
            }
        }
        p = semi ? semi + 1 : p + n;
    }
    return NULL;
}

/* whether the route giving s its nth target (counting matching routes as
 * sl_route_target_at does) may send several source tables there: its
 * pattern is a regex, and its sink-table does not name each source table
 * apart (replace-symbol, or $0 = the whole table id) */
static int route_is_pattern(const sl_route_table *routes, const sl_table_schema *s, size_t nth)
{
    size_t seen = 0;
    for (size_t i = 0; routes && i < routes->n; i++) {
        if (regexec(&routes->match[i], s->qualified, 0, NULL, 0) != 0 || seen++ < nth)
            continue;
        const sl_route *r = &routes->routes[i];
        if (r->replace_symbol && strstr(r->sink_table, r->replace_symbol))
            return 0;
        if (!r->replace_symbol && strstr(r->sink_table, "$0"))
            return 0;
        return strpbrk(r->source_table, "\\*+?|()[]{}^$,") != NULL;
    }
    return 0;
}

static int ensure_database(ch_sink *k, const char *db, sl_err *err)
{
    for (size_t i = 0; i < k->ndatabases; i++)
        if (strcmp(k->databases[i], db) == 0)
            return 0;
    sl_buf *q = &k->sql;
    sl_buf_reset(q);
    sl_buf_adds(q, "CREATE DATABASE IF NOT EXISTS ");
    ch_quote_ident(q, db);
    ch_on_cluster(k, q);
    sl_buf_addc(q, 0);
    int rc = ch_http_query(&k->http, q->data, NULL, NULL, 0, k->http.retry_timeout_ms, err);
    if (rc)
        return sl_err_prefix(err, rc, SL_LOG_PREFIX "creating database %s: ", db);
    char **d = realloc(k->databases, (k->ndatabases + 1) * sizeof *d);
    if (!d)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    k->databases = d;
    if (!(d[k->ndatabases] = strdup(db)))
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    k->ndatabases++;
    return 0;
}

ch_table *ch_table_new(const char *db, const char *name)
{
    ch_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->db = strdup(db);
    t->name = strdup(name);
    sl_buf b;
    sl_buf_init(&b);
    ch_quote_ident(&b, db);
    sl_buf_addc(&b, '.');
    ch_quote_ident(&b, name);
    sl_buf_addc(&b, 0);
    t->qname = b.data;
    size_t n = strlen(db) + strlen(name) + 2;
    t->display = malloc(n);
    if (t->display)
        snprintf(t->display, n, "%s.%s", db, name);
    sl_buf_init(&t->block);
    if (!t->db || !t->name || !t->qname || !t->display || b.failed) {
        ch_table_free(t);
        return NULL;
    }
    return t;
}

/* the type sluice creates for source column c (is_key: part of ORDER BY) */
static void desired_type(const ch_sink *k, const sl_column *c, int is_key, ch_type *out)
{
    ch_type_for(c, &k->map, out);
    if (!is_key && ch_column_nullable(c, &k->map))
        out->nullable = 1;
}

static int in_list(char **list, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0)
            return 1;
    return 0;
}

static void engine_clause(const ch_sink *k, sl_buf *q)
{
    const char *e = k->engine;
    const char *open = strchr(e, '(');
    if (!open) {
        sl_buf_adds(q, e);
        sl_buf_addc(q, '(');
    } else {
        const char *close = strrchr(e, ')');
        size_t upto = close ? (size_t)(close - e) : strlen(e);
        sl_buf_add(q, e, upto);
        /* "Name()" has no arguments to follow with a comma */
        const char *a = open + 1;
        while (a < e + upto && *a == ' ')
            a++;
        if (a < e + upto)
            sl_buf_adds(q, ", ");
    }
    ch_quote_ident(q, k->ver_col);
    sl_buf_adds(q, ", ");
    ch_quote_ident(q, k->del_col);
    sl_buf_addc(q, ')');
}

/* Flink's partition-keys ("a, b": column names) as a PARTITION BY
 * expression into out; each must be a column of s and of ORDER BY */
static int partition_keys(const char *list, const sl_table_schema *s, const ch_table *t, char **keys, int nkeys,
                          sl_buf *out, sl_err *err)
{
    int n = 0;
    sl_buf_addc(out, '('); /* dropped again for a single column */
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        const char *a = p;
        size_t an = len;
        while (an && (*a == ' ' || *a == '\t'))
            a++, an--;
        while (an && (a[an - 1] == ' ' || a[an - 1] == '\t'))
            an--;
        p += len;
        if (*p == ',')
            p++;
        if (!an)
            continue;
        char col[256];
        snprintf(col, sizeof col, "%.*s", (int)an, a);
        if (sl_schema_column_index(s, col) < 0)
            return sl_errf(err, SL_ECONFIG,
                           SL_LOG_PREFIX "partition-keys column %s of the transform of %s is not a column of it",
                           col, s->qualified);
        if (!in_list(keys, nkeys, col))
            return sl_errf(err, SL_ECONFIG,
                           SL_LOG_PREFIX "partition-keys column %s of %s is not an ORDER BY column of table %s "
                           "(ReplacingMergeTree replaces a row only within its partition); fix: add it to sink option "
                           "table.order-by (e.g. '%s: <key columns>, %s')",
                           col, s->qualified, t->display, t->display, col);
        if (n++)
            sl_buf_adds(out, ", ");
        ch_quote_ident(out, col);
    }
    if (out->failed)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    if (n == 1) {
        memmove(out->data, out->data + 1, out->len - 1);
        out->len--;
    } else if (n > 1) {
        sl_buf_addc(out, ')');
    } else {
        out->len = 0;
    }
    return out->failed ? sl_errf(err, SL_ERUNTIME, "out of memory") : 0;
}

static int create_table(ch_sink *k, ch_table *t, const sl_table_schema *s, sl_pos pos, sl_err *err)
{
    char spec[1024];
    /* the key: table.order-by for this table, else the primary key */
    char **keys = NULL;
    int nkeys = 0, rc = 0;
    const char *ob = per_table(k->order_by, t, spec, sizeof spec);
    if (ob) {
        char tmp[1024];
        snprintf(tmp, sizeof tmp, "%s", ob);
        for (char *tok = strtok(tmp, ","); tok; tok = strtok(NULL, ",")) {
            while (*tok == ' ')
                tok++;
            size_t l = strlen(tok);
            while (l && tok[l - 1] == ' ')
                tok[--l] = 0;
            char **nk = realloc(keys, (size_t)(nkeys + 1) * sizeof *nk);
            if (!nk)
                break;
            keys = nk;
            keys[nkeys++] = strdup(tok);
        }
    } else if (s->npk) {
        keys = calloc((size_t)s->npk, sizeof *keys);
        for (int i = 0; keys && i < s->npk; i++)
            keys[nkeys++] = strdup(s->cols[s->pk[i]].name);
    }
    if (!nkeys)
        rc = sl_errf(err, SL_ERUNTIME,
                     SL_LOG_PREFIX "source table %s has no primary key, and ReplacingMergeTree needs one to "
                     "replace and delete rows: give it one, or set sink option table.order-by (e.g. '%s: col1, "
                     "col2')",
                     s->qualified, t->display);
    for (int i = 0; !rc && i < nkeys; i++) {
        int c = keys[i] ? sl_schema_column_index(s, keys[i]) : -1;
        if (c < 0)
            rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "ORDER BY column %s of table %s is not a column of %s",
                         keys[i] ? keys[i] : "?", t->display, s->qualified);
        else if (s->cols[c].is_array)
            rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "ORDER BY column %s of table %s is an array",
                         keys[i], t->display);
    }
    for (int i = 0; !rc && i < s->ncols; i++)
        if (is_meta(k, s->cols[i].name))
            rc = sl_errf(err, SL_ERUNTIME,
                         SL_LOG_PREFIX "source table %s has a column named %s, which sluice uses for its own "
                         "bookkeeping: set sink option %s to another name",
                         s->qualified, s->cols[i].name,
                         strcmp(s->cols[i].name, k->ver_col) == 0 ? "version.column" : "is-deleted.column");
    /* PARTITION BY: table.partition-by for this table, else a transform
     * rule's partition-keys (Flink's); ReplacingMergeTree replaces rows
     * within a partition, so partition columns must be ORDER BY columns */
    const char *pb = per_table(k->partition_by, t, spec, sizeof spec);
    sl_buf hinted;
    sl_buf_init(&hinted);
    sl_table_hints hints;
    const char *ns = s->schema ? s->schema : s->db;
    if (!rc && k->env && k->env->table_hints && k->env->table_hints(k->env->table_hints_ctx, ns ? ns : "", s->table, &hints)) {
        if (hints.table_options)
            sl_warn("table-options '%s' of the transform of %s mean nothing to ClickHouse and are ignored (use sink "
                    "option table.settings)",
                    hints.table_options, s->qualified);
        if (!pb && hints.partition_keys)
            rc = partition_keys(hints.partition_keys, s, t, keys, nkeys, &hinted, err);
        if (!rc && hinted.len) {
            sl_buf_addc(&hinted, 0);
            pb = hinted.failed ? NULL : hinted.data;
        }
    }
    if (!rc)
        rc = ensure_database(k, t->db, err);
    if (rc)
        goto out;
    sl_buf *q = &k->sql;
    sl_buf_reset(q);
    sl_buf_adds(q, "CREATE TABLE IF NOT EXISTS ");
    sl_buf_adds(q, t->qname);
    ch_on_cluster(k, q);
    sl_buf_adds(q, "\n(\n");
    for (int i = 0; i < s->ncols; i++) {
        const sl_column *c = &s->cols[i];
        ch_type ty;
        desired_type(k, c, in_list(keys, nkeys, c->name), &ty);
        sl_buf_adds(q, "    ");
        ch_quote_ident(q, c->name);
        sl_buf_addc(q, ' ');
        ch_type_format(q, &ty);
        sl_buf_adds(q, " COMMENT ");
        sl_buf com;
        sl_buf_init(&com);
        sl_kind_tag_for(&com, c);
        ch_quote_string(q, com.data ? com.data : "", com.len);
        sl_buf_free(&com);
        sl_buf_adds(q, ",\n");
    }
    sl_buf_adds(q, "    ");
    ch_quote_ident(q, k->ver_col);
    sl_buf_adds(q, " UInt128,\n    ");
    ch_quote_ident(q, k->del_col);
    sl_buf_adds(q, " UInt8\n)\nENGINE = ");
    engine_clause(k, q);
    if (pb) {
        sl_buf_adds(q, "\nPARTITION BY ");
        sl_buf_adds(q, pb);
    }
    sl_buf_adds(q, "\nORDER BY (");
    for (int i = 0; i < nkeys; i++) {
        if (i)
            sl_buf_adds(q, ", ");
        ch_quote_ident(q, keys[i]);
    }
    sl_buf_addc(q, ')');
    int replicated = strncmp(k->engine, "Replicated", 10) == 0 || strncmp(k->engine, "Shared", 6) == 0;
    const char *sep = "\nSETTINGS ";
    if (!replicated && !(k->settings && strstr(k->settings, "non_replicated_deduplication_window"))) {
        sl_buf_printf(q, "%snon_replicated_deduplication_window = %lld", sep, (long long)k->dedup_window);
        sep = ", ";
    }
    if (k->settings && *k->settings) {
        sl_buf_adds(q, sep);
        sl_buf_adds(q, k->settings);
    }
    sl_buf_adds(q, "\nCOMMENT ");
    table_comment(q, t, pos, 0, NULL, NULL);
    sl_buf_addc(q, 0);
    if (q->failed) {
        rc = sl_errf(err, SL_ERUNTIME, "out of memory");
        goto out;
    }
    rc = ch_http_query(&k->http, q->data, k->map.time64 ? "&enable_time_time64_type=1" : NULL, NULL, 0,
                       k->http.retry_timeout_ms, err);
    if (rc) {
        sl_err_prefix(err, rc, SL_LOG_PREFIX "creating table %s: ", t->display);
        goto out;
    }
    sl_info("created table %s for %s", t->display, s->qualified);
out:
    for (int i = 0; i < nkeys; i++)
        free(keys[i]);
    free(keys);
    sl_buf_free(&hinted);
    return rc;
}

/* ------------------------------------------------------------- ALTER -- */

/* the name a source column had at pos carries now (renames after pos) */
static const char *current_name(const ch_table *t, const char *name, sl_pos pos)
{
    for (int i = 0; i < t->nrenames; i++)
        if (sl_pos_cmp(t->renames[i].at, pos) > 0 && strcmp(t->renames[i].from, name) == 0)
            name = t->renames[i].to;
    return name;
}

static void add_comment_of(sl_buf *q, const sl_column *c)
{
    sl_buf com;
    sl_buf_init(&com);
    sl_kind_tag_for(&com, c);
    sl_buf_adds(q, " COMMENT ");
    ch_quote_string(q, com.data ? com.data : "", com.len);
    sl_buf_free(&com);
}

static int same_comment(const ch_col *col, const sl_column *c)
{
    sl_buf com;
    sl_buf_init(&com);
    sl_kind_tag_for(&com, c);
    sl_buf_addc(&com, 0);
    int same = com.data && strcmp(com.data, col->comment) == 0;
    sl_buf_free(&com);
    return same;
}

/* The i-th column that is not _version/_is_deleted. */
static int data_col(const ch_sink *k, const ch_table *t, int i)
{
    for (int j = 0; j < t->ncols; j++) {
        if (is_meta(k, t->cols[j].name))
            continue;
        if (i-- == 0)
            return j;
    }
    return -1;
}

static int reconcile(ch_sink *k, ch_table *t, const sl_table_schema *s, sl_pos pos, int dry, int *match,
                     sl_err *err)
{
    int replay = t->have_ddl && sl_pos_cmp(pos, t->ddl_at) < 0;
    int *used = calloc((size_t)t->ncols + 1, sizeof *used);
    char **rfrom = calloc((size_t)s->ncols + 1, sizeof *rfrom), **rto = calloc((size_t)s->ncols + 1, sizeof *rto);
    if (!used || !rfrom || !rto) {
        free(used);
        free(rfrom);
        free(rto);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    for (int i = 0; i < s->ncols; i++) {
        const char *name = replay ? current_name(t, s->cols[i].name, pos) : s->cols[i].name;
        int j = find_col(t, name);
        match[i] = j >= 0 && !is_meta(k, name) ? j : -1;
        if (match[i] >= 0)
            used[j] = 1;
    }
    int rc = 0, nren = 0;
    if (replay)
        goto out;
    sl_buf cmds;
    sl_buf_init(&cmds);
#define CMD() (cmds.len ? sl_buf_adds(&cmds, ",\n    ") : (void)0)
    /* RENAME: an unmatched source column where an unmatched column of ours
     * stands, of a type one can take the other's values */
    for (int i = 0; !t->shared && i < s->ncols; i++) {
        if (match[i] >= 0)
            continue;
        int j = data_col(k, t, i);
        if (j < 0 || used[j] || !t->cols[j].owned || in_list(t->order_by, t->norder, t->cols[j].name))
            continue;
        ch_type want;
        desired_type(k, &s->cols[i], 0, &want);
        if (!ch_type_equal(&want, &t->cols[j].type) && !ch_type_widens(&t->cols[j].type, &want) &&
            !ch_type_widens(&want, &t->cols[j].type))
            continue;
        CMD();
        sl_buf_adds(&cmds, "RENAME COLUMN ");
        ch_quote_ident(&cmds, t->cols[j].name);
        sl_buf_adds(&cmds, " TO ");
        ch_quote_ident(&cmds, s->cols[i].name);
        rfrom[nren] = t->cols[j].name;
        rto[nren++] = s->cols[i].name;
        match[i] = j;
        used[j] = 1;
    }
    /* DROP what we created and the source no longer has */
    for (int j = 0; !t->shared && j < t->ncols; j++) {
        if (used[j] || !t->cols[j].owned || is_meta(k, t->cols[j].name))
            continue;
        if (in_list(t->order_by, t->norder, t->cols[j].name)) {
            rc = sl_errf(err, SL_ERUNTIME,
                         SL_LOG_PREFIX "column %s was dropped from source table %s, but it is part of the "
                         "ORDER BY key of %s; recreate the table or route the source table elsewhere",
                         t->cols[j].name, s->qualified, t->display);
            break;
        }
        CMD();
        sl_buf_adds(&cmds, "DROP COLUMN ");
        ch_quote_ident(&cmds, t->cols[j].name);
    }
    /* widen what exists */
    for (int i = 0; !rc && i < s->ncols; i++) {
        int j = match[i];
        if (j < 0)
            continue;
        const ch_col *col = &t->cols[j];
        int is_key = in_list(t->order_by, t->norder, col->name);
        ch_type want;
        desired_type(k, &s->cols[i], is_key, &want);
        int equal = ch_type_equal(&want, &col->type);
        /* a JSON column takes JSON text whatever the source calls it (MariaDB's
         * JSON is LONGTEXT in the binlog) */
        if (col->type.base == CH_JSON && want.base == CH_STRING && !want.array &&
            (s->cols[i].kind == SL_JSON || s->cols[i].kind == SL_STRING))
            continue;
        if (equal || ch_type_widens(&want, &col->type)) {
            /* the column holds every value already; keep its comment true */
            if (col->owned && !same_comment(col, &s->cols[i])) {
                CMD();
                sl_buf_adds(&cmds, "COMMENT COLUMN ");
                ch_quote_ident(&cmds, s->cols[i].name);
                sl_buf com;
                sl_buf_init(&com);
                sl_kind_tag_for(&com, &s->cols[i]);
                sl_buf_addc(&cmds, ' ');
                ch_quote_string(&cmds, com.data ? com.data : "", com.len);
                sl_buf_free(&com);
            }
            continue;
        }
        sl_buf wt;
        sl_buf_init(&wt);
        ch_type_format(&wt, &want);
        sl_buf_addc(&wt, 0);
        if (ch_type_widens(&col->type, &want) && col->owned && !is_key) {
            CMD();
            sl_buf_adds(&cmds, "MODIFY COLUMN ");
            ch_quote_ident(&cmds, s->cols[i].name);
            sl_buf_addc(&cmds, ' ');
            sl_buf_adds(&cmds, wt.data);
            add_comment_of(&cmds, &s->cols[i]);
        } else {
            rc = sl_errf(err, SL_ERUNTIME,
                         SL_LOG_PREFIX "cannot apply the schema of source table %s to table %s: column %s is %s "
                         "in ClickHouse, but the source's %s needs %s; only changes that widen a type are applied "
                         "(%s)",
                         s->qualified, t->display, col->name, col->type_text,
                         s->cols[i].type_name ? s->cols[i].type_name : sl_kind_name((sl_kind)s->cols[i].kind),
                         wt.data ? wt.data : "?",
                         is_key ? "it is part of the ORDER BY key"
                                : !col->owned ? "the column was not created by sluice"
                                              : "alter the table by hand or route the source table elsewhere");
        }
        sl_buf_free(&wt);
    }
    /* ADD the new ones where the source has them */
    for (int i = 0; !rc && i < s->ncols; i++) {
        if (match[i] >= 0)
            continue;
        ch_type want;
        desired_type(k, &s->cols[i], 0, &want);
        CMD();
        sl_buf_adds(&cmds, "ADD COLUMN ");
        ch_quote_ident(&cmds, s->cols[i].name);
        sl_buf_addc(&cmds, ' ');
        ch_type_format(&cmds, &want);
        add_comment_of(&cmds, &s->cols[i]);
        if (i == 0) {
            sl_buf_adds(&cmds, " FIRST");
        } else {
            sl_buf_adds(&cmds, " AFTER ");
            ch_quote_ident(&cmds, s->cols[i - 1].name);
        }
    }
#undef CMD
    if (!rc && cmds.len && !dry) {
        if ((rc = ch_settle_table(k, t, err)))
            goto done;
        sl_buf *q = &k->sql;
        sl_buf_reset(q);
        sl_buf_adds(q, "ALTER TABLE ");
        sl_buf_adds(q, t->qname);
        ch_on_cluster(k, q);
        sl_buf_adds(q, "\n    ");
        sl_buf_add(q, cmds.data, cmds.len);
        sl_buf_adds(q, ",\n    MODIFY COMMENT ");
        table_comment(q, t, pos, nren, rfrom, rto);
        sl_buf_addc(q, 0);
        if (q->failed) {
            rc = sl_errf(err, SL_ERUNTIME, "out of memory");
            goto done;
        }
        sl_info("schema of %s changed; ALTER TABLE %s %.*s", s->qualified, t->display, (int)cmds.len,
                cmds.data);
        rc = ch_http_query(&k->http, q->data, k->map.time64 ? "&enable_time_time64_type=1&alter_sync=2" : "&alter_sync=2",
                           NULL, 0, k->http.retry_timeout_ms, err);
        if (rc) {
            sl_err_prefix(err, rc, SL_LOG_PREFIX "altering table %s for source table %s: ", t->display, s->qualified);
            goto done;
        }
        t->gen++;
        int exists;
        if ((rc = ch_table_describe(k, t, &exists, err)))
            goto done;
        for (int i = 0; i < s->ncols; i++)
            match[i] = find_col(t, s->cols[i].name);
    }
done:
    sl_buf_free(&cmds);
out:
    free(used);
    free(rfrom);
    free(rto);
    return rc;
}

/* ---------------------------------------------------------- bindings -- */

/* b and the rest of its chain */
static void binding_free(ch_binding *b)
{
    while (b) {
        ch_binding *next = b->next;
        free(b->w_col);
        free(b->w_src);
        free(b->w_key);
        free(b->key_col);
        free(b->key_src);
        free(b->cols);
        free(b);
        b = next;
    }
}

void ch_bindings_free(ch_sink *k)
{
    for (size_t i = 0; i < k->cap_binds; i++)
        binding_free(k->binds[i]);
    free(k->binds);
    k->binds = NULL;
    k->nbinds = k->cap_binds = 0;
    k->last_bind = NULL;
}

static size_t ptr_hash(const void *p, size_t cap)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x & (cap - 1);
}

static ch_binding **bind_slot(ch_sink *k, const sl_table_schema *s)
{
    size_t h = ptr_hash(s, k->cap_binds);
    while (k->binds[h] && k->binds[h]->schema != s)
        h = (h + 1) & (k->cap_binds - 1);
    return &k->binds[h];
}

static int bind_grow(ch_sink *k)
{
    size_t cap = k->cap_binds ? k->cap_binds * 2 : 64;
    ch_binding **nb = calloc(cap, sizeof *nb);
    if (!nb)
        return -1;
    ch_binding **old = k->binds;
    size_t ocap = k->cap_binds;
    k->binds = nb;
    k->cap_binds = cap;
    for (size_t i = 0; i < ocap; i++)
        if (old[i])
            *bind_slot(k, old[i]->schema) = old[i];
    free(old);
    return 0;
}

static int make_binding(ch_sink *k, ch_table *t, const sl_table_schema *s, const int *match, ch_binding **out,
                        sl_err *err)
{
    ch_binding *b = calloc(1, sizeof *b);
    if (!b)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    b->schema = s;
    b->table = t;
    b->gen = t->gen;
    b->w_col = calloc((size_t)t->ncols + 1, sizeof *b->w_col);
    b->w_src = calloc((size_t)t->ncols + 1, sizeof *b->w_src);
    b->w_key = calloc((size_t)t->ncols + 1, sizeof *b->w_key);
    b->key_col = calloc((size_t)t->norder + 1, sizeof *b->key_col);
    b->key_src = calloc((size_t)t->norder + 1, sizeof *b->key_src);
    if (!b->w_col || !b->w_src || !b->w_key || !b->key_col || !b->key_src) {
        binding_free(b);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    sl_buf cols;
    sl_buf_init(&cols);
    sl_buf_addc(&cols, '(');
    for (int j = 0; j < t->ncols; j++) {
        int src = -1;
        for (int i = 0; i < s->ncols; i++)
            if (match[i] == j)
                src = i;
        if (src < 0)
            continue;
        b->w_col[b->nw] = j;
        b->w_key[b->nw] = (uint8_t)in_list(t->order_by, t->norder, t->cols[j].name);
        b->w_src[b->nw++] = src;
        if (t->cols[j].type.base == CH_JSON)
            t->has_json = 1;
        ch_quote_ident(&cols, t->cols[j].name);
        sl_buf_adds(&cols, ", ");
    }
    ch_quote_ident(&cols, k->ver_col);
    sl_buf_adds(&cols, ", ");
    ch_quote_ident(&cols, k->del_col);
    sl_buf_addc(&cols, ')');
    sl_buf_addc(&cols, 0);
    b->cols = cols.data;
    if (cols.failed) {
        binding_free(b);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    for (int kx = 0; kx < t->norder; kx++) {
        int j = find_col(t, t->order_by[kx]);
        int src = -1;
        for (int i = 0; j >= 0 && i < s->ncols; i++)
            if (match[i] == j)
                src = i;
        if (src < 0) {
            binding_free(b);
            return sl_errf(err, SL_ERUNTIME,
                           SL_LOG_PREFIX "table %s is ordered by %s, which source table %s does not have: route "
                           "the source table to another table or recreate this one",
                           t->display, t->order_by[kx], s->qualified);
        }
        b->key_col[b->nkey] = j;
        b->key_src[b->nkey++] = src;
    }
    *out = b;
    return 0;
}

/* ReplacingMergeTree keeps one row per ORDER BY key: a source whose
 * primary key is not within it (a key moved to other columns, a table made
 * with another key) would have rows it keeps apart merged into one, and a
 * delete of one remove the others. Unless table.order-by chose the key, that
 * stops the pipeline, naming both. */
static int check_key(const ch_sink *k, const ch_table *t, const sl_table_schema *s, const int *match, sl_err *err)
{
    char spec[1024];
    if (per_table(k->order_by, t, spec, sizeof spec) || !s->npk || !t->norder)
        return 0;
    int inside = 1;
    for (int i = 0; inside && i < s->npk; i++) {
        int c = s->pk[i];
        inside = in_list(t->order_by, t->norder, match[c] >= 0 ? t->cols[match[c]].name : s->cols[c].name);
    }
    if (inside)
        return 0;
    char now[256] = "", have[256] = "";
    size_t a = 0, b = 0;
    for (int i = 0; i < s->npk && a < sizeof now; i++)
        a += (size_t)snprintf(now + a, sizeof now - a, "%s%s", i ? ", " : "", s->cols[s->pk[i]].name);
    for (int i = 0; i < t->norder && b < sizeof have; i++)
        b += (size_t)snprintf(have + b, sizeof have - b, "%s%s", i ? ", " : "", t->order_by[i]);
    return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "the primary key of source table %s is (%s), but table %s is "
                   "ORDER BY (%s): ReplacingMergeTree would merge rows the source keeps apart; recreate the table "
                   "or route the source table elsewhere (or choose the key with table.order-by)",
                   s->qualified, now, t->display, have);
}

/* the binding of s to one target table (nth matching route, or the
 * default name when routed is 0) */
static int bind_target(ch_sink *k, const sl_table_schema *s, sl_pos pos, int dry, int routed, size_t nth,
                       const char *target, ch_binding **out, sl_err *err)
{
    *out = NULL;
    char *db = NULL, *name = NULL;
    if (routed) {
        const char *dot = strchr(target, '.');
        db = dot ? strndup(target, (size_t)(dot - target)) : strdup(k->database);
        name = strdup(dot ? dot + 1 : target);
    } else {
        db = strdup(k->database);
        name = strdup(s->table);
    }
    if (!db || !name) {
        free(db);
        free(name);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    ch_table *t = NULL;
    for (size_t i = 0; i < k->ntables && !t; i++)
        if (strcmp(k->tables[i]->db, db) == 0 && strcmp(k->tables[i]->name, name) == 0)
            t = k->tables[i];
    int rc = 0;
    if (!t) {
        if (k->ntables == k->cap_tables) {
            size_t cap = k->cap_tables ? k->cap_tables * 2 : 16;
            ch_table **nt = realloc(k->tables, cap * sizeof *nt);
            if (!nt) {
                free(db);
                free(name);
                return sl_errf(err, SL_ERUNTIME, "out of memory");
            }
            k->tables = nt;
            k->cap_tables = cap;
        }
        t = ch_table_new(db, name);
        if (!t) {
            free(db);
            free(name);
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        }
        k->tables[k->ntables++] = t;
        t->routed = routed;
        t->shared = routed && route_is_pattern(k->routes, s, nth);
        t->source = strdup(s->qualified);
        int exists = 0;
        rc = ch_table_describe(k, t, &exists, err);
        if (!rc && !exists) {
            rc = create_table(k, t, s, pos, err);
            if (!rc && !(rc = ch_table_describe(k, t, &exists, err)) && !exists)
                rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "table %s was created but cannot be found",
                             t->display);
        }
    } else if (!t->routed && t->source && strcmp(t->source, s->qualified) != 0) {
        rc = sl_errf(err, SL_ERUNTIME,
                     SL_LOG_PREFIX "source tables %s and %s would both be written to table %s; add a route "
                     "(route: - source-table: ... sink-table: db.table) to name one of them differently",
                     t->source, s->qualified, t->display);
    }
    free(db);
    free(name);
    int *match = rc ? NULL : calloc((size_t)s->ncols + 1, sizeof *match);
    if (!rc && !match)
        rc = sl_errf(err, SL_ERUNTIME, "out of memory");
    if (!rc)
        rc = reconcile(k, t, s, pos, dry, match, err);
    if (!rc)
        rc = check_key(k, t, s, match, err);
    if (!rc && !dry)
        rc = make_binding(k, t, s, match, out, err);
    free(match);
    return rc;
}

/* every binding of the chain is current (no ALTER since it was made) */
static int chain_current(const ch_binding *b)
{
    for (; b; b = b->next)
        if (b->gen != b->table->gen)
            return 0;
    return 1;
}

int ch_bind(ch_sink *k, const sl_table_schema *s, sl_pos pos, int dry, ch_binding **out, sl_err *err)
{
    if ((k->nbinds + 1) * 2 > k->cap_binds && bind_grow(k))
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    ch_binding **slot = bind_slot(k, s);
    if (*slot && chain_current(*slot)) {
        *out = *slot;
        return 0;
    }
    /* where it goes: each matching route's table once */
    ch_binding *head = NULL, **tail = &head;
    char target[1024];
    int routed, rc = 0;
    for (size_t i = 0; !rc && (routed = sl_route_target_at(k->routes, s, i, target, sizeof target)) >= 0; i++) {
        ch_binding *b = NULL;
        rc = bind_target(k, s, pos, dry, routed, i, target, &b, err);
        if (!b)
            continue;
        int twice = 0;
        for (ch_binding *o = head; o && !twice; o = o->next)
            twice = o->table == b->table;
        if (twice) {
            binding_free(b); /* two routes to one table: write it once */
        } else {
            *tail = b;
            tail = &b->next;
        }
    }
    if (rc || dry) {
        binding_free(head);
        return rc;
    }
    slot = bind_slot(k, s); /* reconcile may have flushed, never rehashed; look again anyway */
    if (*slot) {
        /* an ALTER settled its own table; the chain's other tables may
         * still have blocks (open or queued) naming the old bindings */
        int open = (*slot)->next != NULL;
        for (ch_binding *o = *slot; o && !rc; o = o->next) {
            if (k->last_bind == o)
                k->last_bind = NULL;
            if (o->table->block_bind == o) {
                rc = ch_flush_table(k, o->table, err);
                o->table->block_bind = NULL;
                open = 1;
            }
        }
        if (!rc && open)
            rc = ch_sender_drain(&k->sender, err);
        if (rc) {
            binding_free(head);
            return rc;
        }
        binding_free(*slot);
    } else {
        k->nbinds++;
    }
    *slot = head;
    *out = head;
    return 0;
}
