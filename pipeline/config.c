/* config.c — loads a pipeline YAML file (Flink CDC 3.x shape) into a
 * validated sl_config.
 *
 * libyaml's document API keeps every node's start mark, so each complaint
 * can name file:line:column. Values are substituted (${env:..}, ${file:..})
 * before they are typed against the connector's option table, and the
 * connector's own validate() runs last: a config that loads is known good.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "../core/atomic_file.h"
#include "../core/log.h"
#include "expr/xtime.h"
#include "flink_compat.h"
#include "ha/ha.h"
#include "schema_policy.h"
#include "transform.h"
#include "../core/route.h"

/* A ${file:} value is a secret or a short setting, and a pipeline file is
 * a page of YAML: reading either stops at its bound, so /dev/zero or a
 * mistyped path to a huge file fails at once instead of filling memory. */
enum { SUBST_FILE_MAX = 1 << 20, PIPELINE_FILE_MAX = 16 << 20 };
/* A pipeline file nests four levels deep; libyaml takes time quadratic in
 * the depth of flow collections, so a hostile file is refused early. */
enum { YAML_MAX_DEPTH = 32 };

static const char *const top_keys[] = {"source", "sink", "route", "transform", "pipeline"};
static const char *const route_keys[] = {"source-table", "sink-table", "replace-symbol", "description"};
static const char *const transform_keys[] = {"source-table",   "projection",    "filter",
                                             "primary-keys",   "partition-keys", "table-options",
                                             "description",    "table-options.delimiter",
                                             "converter-after-transform"};

typedef struct loader {
    yaml_document_t doc;
    sl_config *cfg;
    sl_err *err;
} loader;

static sl_srcloc loc_of(const loader *l, const yaml_node_t *n)
{
    sl_srcloc loc = {l->cfg->path, (int)n->start_mark.line + 1, (int)n->start_mark.column + 1};
    return loc;
}

static int fail_at(loader *l, const yaml_node_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail_at(loader *l, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sl_srcloc loc = loc_of(l, n);
    return sl_errf(l->err, SL_ECONFIG, "%s:%d:%d: %s", loc.file, loc.line, loc.col, msg);
}

static const char *node_kind(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_SEQUENCE_NODE:
        return "a sequence";
    default:
        return "a scalar";
    }
}

static int is_null_scalar(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *v = (const char *)n->data.scalar.value;
    return !*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/* secret: the value is a password; errors must not quote it, not even in
 * part, since it may have been written inline. */
static int substitute(const char *text, int secret, char **out, sl_err *why)
{
    size_t cap = strlen(text) + 64, n = 0;
    char *buf = malloc(cap);
    if (!buf)
        return sl_errf(why, SL_ERUNTIME, "out of memory");
    for (const char *p = text; *p;) {
        const char *piece = NULL;
        size_t plen = 0;
        char *owned = NULL;
        if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
            piece = "${";
            plen = 2;
            p += 3;
        } else if (p[0] == '$' && p[1] == '{') {
            const char *close = strchr(p, '}');
            if (!close) {
                free(buf);
                if (secret)
                    return sl_errf(why, SL_ECONFIG,
                                   "unterminated '${' in a secret value (not shown); write $${ for a literal ${");
                return sl_errf(why, SL_ECONFIG, "unterminated '${' in '%s'", text);
            }
            size_t ilen = (size_t)(close - p - 2);
            char inner[1024];
            snprintf(inner, sizeof inner, "%.*s", (int)(ilen < sizeof inner ? ilen : sizeof inner - 1), p + 2);
            if (strncmp(inner, "env:", 4) == 0 && inner[4]) {
                piece = getenv(inner + 4);
                if (!piece) {
                    free(buf);
                    return sl_errf(why, SL_ECONFIG, "environment variable %s is not set (in ${%s})", inner + 4, inner);
                }
                plen = strlen(piece);
            } else if (strncmp(inner, "file:", 5) == 0 && inner[5]) {
                size_t len;
                sl_err rerr;
                int rc = sl_read_file_max(inner + 5, SUBST_FILE_MAX, &owned, &len, &rerr);
                int e = errno;
                if (!rc && owned && memchr(owned, 0, len)) {
                    free(buf);
                    free(owned);
                    return sl_errf(why, SL_ECONFIG, "cannot use ${%s}: the file holds a NUL byte", inner);
                }
                if (rc || !owned) {
                    free(buf);
                    free(owned);
                    if (rc && e == EFBIG)
                        return sl_errf(why, SL_ECONFIG,
                                       "cannot use ${%s}: the file holds more than 1 MiB (the limit of a "
                                       "${file:} value)",
                                       inner);
                    return sl_errf(why, SL_ECONFIG, "cannot read ${%s}: %s", inner,
                                   rc ? strerror(e) : "No such file or directory");
                }
                if (len && owned[len - 1] == '\n') {
                    owned[--len] = 0;
                    if (len && owned[len - 1] == '\r')
                        owned[--len] = 0;
                }
                piece = owned;
                plen = len;
            } else {
                free(buf);
                if (secret)
                    return sl_errf(why, SL_ECONFIG, "unknown substitution in a secret value (not shown): write "
                                                    "${env:NAME} or ${file:PATH} ($${ for a literal ${)");
                return sl_errf(why, SL_ECONFIG,
                               "unknown substitution ${%s}: write ${env:NAME} or ${file:PATH} ($${ for a literal ${)",
                               inner);
            }
            p = close + 1;
        } else {
            piece = p;
            plen = 1;
            p++;
        }
        if (n + plen + 1 > cap) {
            while (n + plen + 1 > cap)
                cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                free(owned);
                return sl_errf(why, SL_ERUNTIME, "out of memory");
            }
            buf = nb;
        }
        memcpy(buf + n, piece, plen);
        n += plen;
        free(owned);
    }
    buf[n] = 0;
    *out = buf;
    return 0;
}

int sl_config_substitute(const char *text, char **out, sl_err *why) { return substitute(text, 0, out, why); }

/* The substituted text of a scalar value, or a sequence of scalars joined
 * with commas when the option takes a list. */
static int value_text(loader *l, const char *key, yaml_node_t *v, int list_ok, int secret, char **out)
{
    *out = NULL;
    if (is_null_scalar(v))
        return fail_at(l, v, "option '%s' has no value%s", key, "");
    if (v->type == YAML_SEQUENCE_NODE && list_ok) {
        size_t cap = 256, n = 0;
        char *joined = malloc(cap);
        if (!joined)
            return sl_errf(l->err, SL_ERUNTIME, "out of memory");
        joined[0] = 0;
        for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
            yaml_node_t *item = yaml_document_get_node(&l->doc, *it);
            if (!item || item->type != YAML_SCALAR_NODE) {
                free(joined);
                return fail_at(l, item ? item : v, "option '%s' expects a list of scalars, got %s", key,
                               item ? node_kind(item) : "nothing");
            }
            const char *s = (const char *)item->data.scalar.value;
            size_t sl = strlen(s);
            while (n + sl + 2 > cap)
                cap *= 2;
            char *nj = realloc(joined, cap);
            if (!nj) {
                free(joined);
                return sl_errf(l->err, SL_ERUNTIME, "out of memory");
            }
            joined = nj;
            if (n)
                joined[n++] = ',';
            memcpy(joined + n, s, sl + 1);
            n += sl;
        }
        sl_err why;
        int rc = substitute(joined, secret, out, &why);
        free(joined);
        if (rc) {
            sl_srcloc loc = loc_of(l, v);
            return sl_errf(l->err, rc, "%s:%d:%d: %s", loc.file, loc.line, loc.col, why.msg);
        }
        return 0;
    }
    if (v->type != YAML_SCALAR_NODE)
        return fail_at(l, v, "option '%s' expects a scalar value, got %s", key, node_kind(v));
    sl_err why;
    int rc = substitute((const char *)v->data.scalar.value, secret, out, &why);
    if (rc) {
        sl_srcloc loc = loc_of(l, v);
        return sl_errf(l->err, rc, "%s:%d:%d: %s", loc.file, loc.line, loc.col, why.msg);
    }
    return 0;
}

/* Rejects a key seen earlier in the same mapping. */
static int check_duplicate(loader *l, yaml_node_t *map, yaml_node_pair_t *upto, yaml_node_t *key)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < upto; p++) {
        yaml_node_t *k = yaml_document_get_node(&l->doc, p->key);
        if (k && k->type == YAML_SCALAR_NODE &&
            strcmp((char *)k->data.scalar.value, (char *)key->data.scalar.value) == 0) {
            char first[32];
            snprintf(first, sizeof first, "%d", (int)k->start_mark.line + 1);
            return fail_at(l, key, "key '%s' is given twice (first on line %s)", (char *)key->data.scalar.value,
                           first);
        }
    }
    return 0;
}

static int scalar_key(loader *l, yaml_node_t *map, yaml_node_pair_t *p, yaml_node_t **key, yaml_node_t **val)
{
    *key = yaml_document_get_node(&l->doc, p->key);
    *val = yaml_document_get_node(&l->doc, p->value);
    if (!*key || (*key)->type != YAML_SCALAR_NODE)
        return fail_at(l, *key ? *key : map, "keys must be plain names, got %s%s", *key ? node_kind(*key) : "nothing", "");
    return check_duplicate(l, map, p, *key);
}

/* the connector's table has key (a prefix option counts) */
static int defined(const sl_option_def *defs, const char *key)
{
    for (const sl_option_def *d = defs; d->name; d++) {
        size_t n = strlen(d->name);
        if (d->type == SL_OPT_PREFIX ? strncmp(key, d->name, n) == 0 && key[n] : strcmp(key, d->name) == 0)
            return 1;
    }
    return 0;
}

static void note_ignored(char *buf, size_t len, const char *key, sl_srcloc loc)
{
    size_t o = strlen(buf);
    if (o + 1 < len)
        snprintf(buf + o, len - o, "%s%s (line %d)", o ? ", " : "", key, loc.line);
}

static int load_connector(loader *l, yaml_node_t *block, const char *section)
{
    sl_config *cfg = l->cfg;
    int is_source = strcmp(section, "source") == 0;
    if (block->type != YAML_MAPPING_NODE)
        return fail_at(l, block, "'%s' must be a mapping of options, got %s", section, node_kind(block));
    yaml_node_t *type_node = NULL;
    for (yaml_node_pair_t *p = block->data.mapping.pairs.start; p < block->data.mapping.pairs.top; p++) {
        yaml_node_t *k, *v;
        int rc = scalar_key(l, block, p, &k, &v);
        if (rc)
            return rc;
        if (strcmp((char *)k->data.scalar.value, "type") == 0)
            type_node = v;
    }
    if (!type_node)
        return fail_at(l, block, "%s has no 'type' (e.g. type: %s)", section, is_source ? "mysql" : "kafka");
    char *type = NULL;
    int rc = value_text(l, "type", type_node, 0, 0, &type);
    if (rc)
        return rc;
    const sl_option_def *defs;
    if (is_source) {
        cfg->source_plugin = sl_find_source(type);
        defs = cfg->source_plugin ? cfg->source_plugin->options : NULL;
    } else {
        cfg->sink_plugin = sl_find_sink(type);
        defs = cfg->sink_plugin ? cfg->sink_plugin->options : NULL;
    }
    if (!defs) {
        const char *names[32];
        size_t n = 0;
        if (is_source)
            for (const sl_source_plugin *const *pp = sl_sources(); *pp && n < 32; pp++)
                names[n++] = (*pp)->name;
        else
            for (const sl_sink_plugin *const *pp = sl_sinks(); *pp && n < 32; pp++)
                names[n++] = (*pp)->name;
        const char *hint = sl_did_you_mean(type, names, n);
        char list[400] = "";
        for (size_t i = 0; i < n; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", names[i]);
        sl_srcloc loc = loc_of(l, type_node);
        if (hint)
            rc = sl_errf(l->err, SL_ECONFIG, "%s:%d:%d: unknown %s type '%s'; did you mean '%s'?", loc.file, loc.line,
                         loc.col, section, type, hint);
        else
            rc = sl_errf(l->err, SL_ECONFIG, "%s:%d:%d: unknown %s type '%s' (known: %s)", loc.file, loc.line,
                         loc.col, section, type, list);
        free(type);
        return rc;
    }
    free(type);
    sl_options *o = is_source ? &cfg->source : &cfg->sink;
    sl_options_init(o, section, defs);
    char ignored[1024] = "";
    for (yaml_node_pair_t *p = block->data.mapping.pairs.start; p < block->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(&l->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(&l->doc, p->value);
        const char *key = (const char *)k->data.scalar.value;
        if (strcmp(key, "type") == 0)
            continue;
        if (strcmp(key, "name") == 0) {
            if (v->type != YAML_SCALAR_NODE)
                return fail_at(l, v, "'name' expects a scalar value, got %s%s", node_kind(v), "");
            continue;
        }
        const sl_option_def *d = defs;
        while (d->name && strcmp(d->name, key) != 0)
            d++;
        if (!is_source && (strcmp(key, "include.schema.changes") == 0 || strcmp(key, "exclude.schema.changes") == 0)) {
            /* Flink's list of event types, or a sink's own true/false */
            int incl = key[0] == 'i';
            int list = v->type == YAML_SEQUENCE_NODE ||
                       (v->type == YAML_SCALAR_NODE && strcasecmp((char *)v->data.scalar.value, "true") != 0 &&
                        strcasecmp((char *)v->data.scalar.value, "false") != 0);
            if (list || !defined(defs, key)) {
                char *text = NULL;
                if ((rc = value_text(l, key, v, 1, 0, &text)))
                    return rc;
                if (!list) {
                    /* a sink without the option: "no changes" excludes every type */
                    int none = incl == (strcasecmp(text, "false") == 0);
                    free(text);
                    text = NULL;
                    if (!none)
                        continue;
                    if (!(text = strdup("create,add,alter,drop,rename,truncate")))
                        return sl_errf(l->err, SL_ERUNTIME, "out of memory");
                    incl = 0;
                }
                char **slot = incl ? &cfg->schema_include : &cfg->schema_exclude;
                free(*slot);
                *slot = text;
                continue;
            }
        }
        const char *tls = !d->name && !defined(defs, key)
                              ? sl_flink_tls_option(section, key,
                                                    v->type == YAML_SCALAR_NODE ? (const char *)v->data.scalar.value
                                                                                : NULL)
                              : NULL;
        if (tls)
            return fail_at(l, k, "'%s' is a TLS setting of the Java connector, which sluice does not read; use %s",
                           key, tls);
        if (!d->name && !defined(defs, key) && sl_flink_ignored_option(section, key)) {
            note_ignored(ignored, sizeof ignored, key, loc_of(l, k));
            continue;
        }
        char *text = NULL;
        rc = value_text(l, key, v, d->name && d->type == SL_OPT_LIST, d->name && d->type == SL_OPT_SECRET, &text);
        if (rc)
            return rc;
        rc = sl_options_set(o, key, text, loc_of(l, k), l->err);
        free(text);
        if (rc)
            return rc;
    }
    rc = sl_options_finish(o, loc_of(l, block), l->err);
    if (rc)
        return rc;
    if (ignored[0])
        sl_warn("%s: %s options of Flink's Java runtime mean nothing to sluice and are ignored: %s", cfg->path,
                section, ignored);

    int (*validate)(const sl_options *, sl_err *) =
        is_source ? cfg->source_plugin->validate : cfg->sink_plugin->validate;
    if (validate && (rc = validate(o, l->err))) {
        if (strncmp(l->err->msg, cfg->path, strlen(cfg->path)) != 0)
            sl_err_prefix(l->err, rc, "%s: ", cfg->path);
        return rc;
    }
    return 0;
}

static int load_pipeline(loader *l, yaml_node_t *block)
{
    sl_config *cfg = l->cfg;
    if (block->type != YAML_MAPPING_NODE)
        return fail_at(l, block, "'%s' must be a mapping of options, got %s", "pipeline", node_kind(block));
    char ignored[1024] = "";
    for (yaml_node_pair_t *p = block->data.mapping.pairs.start; p < block->data.mapping.pairs.top; p++) {
        yaml_node_t *k, *v;
        int rc = scalar_key(l, block, p, &k, &v);
        if (rc)
            return rc;
        const char *key = (const char *)k->data.scalar.value;
        if (!defined(sl_pipeline_options, key) && sl_flink_ignored_option("pipeline", key)) {
            note_ignored(ignored, sizeof ignored, key, loc_of(l, k));
            continue;
        }
        if (strcmp(key, "user-defined-function") == 0)
            return fail_at(l, k, "user-defined functions are Java or Python classes, which sluice cannot run; "
                                 "use the built-in functions (see the README's transform expressions)%s",
                           "");
        if (strcmp(key, "model") == 0)
            return fail_at(l, k, "AI model functions are not supported by sluice%s", "");
        char *text = NULL;
        if ((rc = value_text(l, key, v, 0, 0, &text)))
            return rc;
        rc = sl_options_set(&cfg->pipeline, key, text, loc_of(l, k), l->err);
        free(text);
        if (rc)
            return rc;
    }
    if (ignored[0])
        sl_warn("%s: pipeline options of Flink's Java runtime mean nothing to sluice and are ignored: %s", cfg->path,
                ignored);
    return sl_options_finish(&cfg->pipeline, loc_of(l, block), l->err);
}

/* Table patterns and column names of route: and transform: items never
 * hold control characters (expressions and descriptions may span lines). */
static int check_names(loader *l, const char *section, const char *key, yaml_node_t *v, const char *text)
{
    static const char *const names[] = {"source-table", "sink-table", "replace-symbol", "primary-keys",
                                        "partition-keys"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        long at;
        if (strcmp(key, names[i]) != 0 || (at = sl_text_control_char(text, 1)) < 0)
            continue;
        char what[64];
        sl_text_control_describe(text, at, what, sizeof what);
        return fail_at(l, v, "%s key '%s' contains %s; table patterns and column names must be printable text",
                       section, key, what);
    }
    return 0;
}

/* route: and transform: are lists of small mappings with fixed keys. */
static int load_list(loader *l, yaml_node_t *block, const char *section, const char *const *keys, size_t nkeys,
                     char **fields[], size_t nfields_out, void *items_out, size_t item_size, size_t *count,
                     size_t loc_offset)
{
    (void)nfields_out;
    if (block->type != YAML_SEQUENCE_NODE)
        return fail_at(l, block, "'%s' must be a list of mappings (each item starts with '-'), got %s", section,
                       node_kind(block));
    size_t n = (size_t)(block->data.sequence.items.top - block->data.sequence.items.start);
    char *items = calloc(n ? n : 1, item_size);
    if (!items)
        return sl_errf(l->err, SL_ERUNTIME, "out of memory");
    *(char **)items_out = items;
    *count = 0;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *m = yaml_document_get_node(&l->doc, block->data.sequence.items.start[i]);
        char *item = items + i * item_size;
        *count = i + 1;
        *(sl_srcloc *)(item + loc_offset) = loc_of(l, m);
        if (m->type != YAML_MAPPING_NODE)
            return fail_at(l, m, "each %s item must be a mapping, got %s", section, node_kind(m));
        for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
            yaml_node_t *k, *v;
            int rc = scalar_key(l, m, p, &k, &v);
            if (rc)
                return rc;
            const char *key = (const char *)k->data.scalar.value;
            size_t f = 0;
            while (f < nkeys && strcmp(keys[f], key) != 0)
                f++;
            if (f == nkeys) {
                const char *hint = sl_did_you_mean(key, keys, nkeys);
                sl_srcloc loc = loc_of(l, k);
                if (hint)
                    return sl_errf(l->err, SL_ECONFIG, "%s:%d:%d: unknown %s key '%s'; did you mean '%s'?", loc.file,
                                   loc.line, loc.col, section, key, hint);
                return sl_errf(l->err, SL_ECONFIG, "%s:%d:%d: unknown %s key '%s'", loc.file, loc.line, loc.col,
                               section, key);
            }
            char *text = NULL;
            if ((rc = value_text(l, key, v, 0, 0, &text)))
                return rc;
            if ((rc = check_names(l, section, key, v, text))) {
                free(text);
                return rc;
            }
            char **slot = (char **)(item + (size_t)fields[f]);
            free(*slot);
            *slot = text;
        }
        for (size_t f = 0; f < 2; f++) {
            /* source-table (and sink-table for routes) are required */
            if (strcmp(section, "transform") == 0 && f == 1)
                break;
            if (!*(char **)(item + (size_t)fields[f]))
                return fail_at(l, m, "%s item is missing '%s'", section, keys[f]);
        }
    }
    return 0;
}

/* Where each transform's projection and filter text starts, so that an
 * error inside an expression can name its line and column. */
static void expression_locations(loader *l, yaml_node_t *block)
{
    size_t i = 0;
    for (yaml_node_item_t *it = block->data.sequence.items.start; it < block->data.sequence.items.top; it++, i++) {
        yaml_node_t *m = yaml_document_get_node(&l->doc, *it);
        sl_transform *t = &l->cfg->transforms[i];
        for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(&l->doc, p->key);
            yaml_node_t *v = yaml_document_get_node(&l->doc, p->value);
            const char *key = (const char *)k->data.scalar.value;
            int is_proj = strcmp(key, "projection") == 0, is_filter = strcmp(key, "filter") == 0;
            if (!(is_proj || is_filter) || v->type != YAML_SCALAR_NODE)
                continue;
            sl_srcloc loc = loc_of(l, v);
            yaml_scalar_style_t st = v->data.scalar.style;
            int quoted = st == YAML_SINGLE_QUOTED_SCALAR_STYLE || st == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
            /* columns are exact for a one-line scalar without escapes */
            int inl = v->start_mark.line == v->end_mark.line && st != YAML_LITERAL_SCALAR_STYLE &&
                      st != YAML_FOLDED_SCALAR_STYLE &&
                      (size_t)(v->end_mark.index - v->start_mark.index) == v->data.scalar.length + (quoted ? 2 : 0);
            loc.col += quoted;
            if (is_proj) {
                t->projection_loc = loc;
                t->projection_inline = inl;
            } else {
                t->filter_loc = loc;
                t->filter_inline = inl;
            }
        }
    }
}

/* execution.runtime-mode: BATCH reads a snapshot and stops, which is the
 * source's scan.startup.mode snapshot */
static int batch_mode(loader *l)
{
    sl_config *cfg = l->cfg;
    const char *mode = sl_opt_str(&cfg->source, "scan.startup.mode");
    if (!mode)
        return 0;
    if (sl_opt_is_set(&cfg->source, "scan.startup.mode") && strcmp(mode, "initial") != 0 &&
        strcmp(mode, "snapshot") != 0) {
        char where[300];
        sl_opt_where(&cfg->source, "scan.startup.mode", where, sizeof where);
        return sl_errf(l->err, SL_ECONFIG,
                       "%s: execution.runtime-mode BATCH reads a snapshot, which scan.startup.mode %s does not take "
                       "(use initial or snapshot, or STREAMING)",
                       where, mode);
    }
    return sl_options_replace(&cfg->source, "scan.startup.mode", "snapshot", l->err);
}

/* partition-keys and table-options need a sink that creates tables */
static int hints_supported(loader *l)
{
    sl_config *cfg = l->cfg;
    for (size_t i = 0; i < cfg->ntransforms; i++) {
        const sl_transform *t = &cfg->transforms[i];
        if ((t->partition_keys || t->table_options) && !cfg->sink_plugin->table_hints)
            return sl_errf(l->err, SL_ECONFIG,
                           "%s:%d:%d: transform %s: the %s sink creates no tables, so it has nothing to apply it to "
                           "(sinks that create tables, such as ClickHouse and Iceberg, use it); remove it",
                           t->loc.file, t->loc.line, t->loc.col, t->partition_keys ? "partition-keys" : "table-options",
                           cfg->sink_plugin->name);
    }
    return 0;
}

static int load_root(loader *l, yaml_node_t *root)
{
    sl_config *cfg = l->cfg;
    if (!root)
        return sl_errf(l->err, SL_ECONFIG, "%s:1:1: the pipeline file is empty; it needs 'source' and 'sink'",
                       cfg->path);
    if (root->type != YAML_MAPPING_NODE)
        return fail_at(l, root, "the pipeline file must be a mapping with 'source' and 'sink', got %s%s",
                       node_kind(root), "");
    yaml_node_t *source = NULL, *sink = NULL, *route = NULL, *transform = NULL, *pipeline = NULL;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *k, *v;
        int rc = scalar_key(l, root, p, &k, &v);
        if (rc)
            return rc;
        const char *key = (const char *)k->data.scalar.value;
        if (strcmp(key, "source") == 0)
            source = v;
        else if (strcmp(key, "sink") == 0)
            sink = v;
        else if (strcmp(key, "route") == 0)
            route = v;
        else if (strcmp(key, "transform") == 0)
            transform = v;
        else if (strcmp(key, "pipeline") == 0)
            pipeline = v;
        else {
            const char *hint = sl_did_you_mean(key, top_keys, 5);
            if (hint)
                return fail_at(l, k, "unknown top-level key '%s'; did you mean '%s'?", key, hint);
            return fail_at(l, k, "unknown top-level key '%s' (allowed: source, sink, route, transform, pipeline)%s",
                           key, "");
        }
    }
    if (!source)
        return fail_at(l, root, "the pipeline has no 'source'%s%s", "", "");
    if (!sink)
        return fail_at(l, root, "the pipeline has no 'sink'%s%s", "", "");
    int rc = load_connector(l, source, "source");
    if (!rc)
        rc = load_connector(l, sink, "sink");
    sl_options_init(&cfg->pipeline, "pipeline", sl_pipeline_options);
    if (!rc && pipeline)
        rc = load_pipeline(l, pipeline);
    else if (!rc) {
        sl_srcloc loc = {cfg->path, 0, 0};
        rc = sl_options_finish(&cfg->pipeline, loc, l->err);
    }
    if (!rc && route) {
        char **fields[] = {(char **)offsetof(sl_route, source_table), (char **)offsetof(sl_route, sink_table),
                           (char **)offsetof(sl_route, replace_symbol), (char **)offsetof(sl_route, description)};
        rc = load_list(l, route, "route", route_keys, 4, fields, 4, &cfg->routes, sizeof(sl_route), &cfg->nroutes,
                       offsetof(sl_route, loc));
    }
    if (!rc && transform) {
        char **fields[] = {(char **)offsetof(sl_transform, source_table), (char **)offsetof(sl_transform, projection),
                           (char **)offsetof(sl_transform, filter), (char **)offsetof(sl_transform, primary_keys),
                           (char **)offsetof(sl_transform, partition_keys),
                           (char **)offsetof(sl_transform, table_options), (char **)offsetof(sl_transform, description),
                           (char **)offsetof(sl_transform, table_options_delimiter),
                           (char **)offsetof(sl_transform, converter)};
        rc = load_list(l, transform, "transform", transform_keys, 9, fields, 9, &cfg->transforms,
                       sizeof(sl_transform), &cfg->ntransforms, offsetof(sl_transform, loc));
        if (!rc)
            expression_locations(l, transform);
    }
    if (!rc && (cfg->schema_include || cfg->schema_exclude)) {
        sl_schema_policy *sp;
        if ((rc = sl_schema_policy_new(SL_SCB_EVOLVE, cfg->schema_include, cfg->schema_exclude, &sp, l->err)))
            sl_err_prefix(l->err, rc, "%s: sink ", cfg->path);
        else
            sl_schema_policy_free(sp);
    }
    if (!rc && sl_opt_num(&cfg->pipeline, "execution.runtime-mode") == 1)
        rc = batch_mode(l);
    if (!rc && (rc = hints_supported(l)))
        return rc;
    if (!rc && sl_opt_is_set(&cfg->pipeline, "local-time-zone")) {
        xtz *tz;
        char why[300], where[300];
        if (xtz_open(sl_opt_str(&cfg->pipeline, "local-time-zone"), &tz, why, sizeof why)) {
            sl_opt_where(&cfg->pipeline, "local-time-zone", where, sizeof where);
            rc = sl_errf(l->err, SL_ECONFIG, "%s: local-time-zone: %s", where, why);
        } else {
            xtz_free(tz);
        }
    }
    if (!rc)
        rc = sl_ha_validate(cfg, l->err);
    /* compile routes and transforms once, so that their mistakes show now */
    if (!rc && cfg->nroutes) {
        sl_route_table rt;
        if (!(rc = sl_route_table_init(&rt, cfg->routes, cfg->nroutes, l->err)))
            sl_route_table_free(&rt);
    }
    if (!rc && cfg->ntransforms) {
        sl_transformer *t = NULL;
        sl_transform_env env;
        sl_transform_env_of(cfg, &env);
        if (!(rc = sl_transformer_create(cfg->transforms, cfg->ntransforms, &env, &t, l->err)))
            sl_transformer_free(t);
    }
    return rc;
}

static int yaml_syntax_error(const yaml_parser_t *parser, const char *path, sl_err *err)
{
    const char *ctx = parser->context ? parser->context : "";
    return sl_errf(err, SL_ECONFIG, "%s:%d:%d: YAML syntax error: %s%s%s%s", path, (int)parser->problem_mark.line + 1,
                   (int)parser->problem_mark.column + 1, parser->problem ? parser->problem : "malformed document",
                   *ctx ? " (" : "", ctx, *ctx ? ")" : "");
}

/* One pass over the parser's events before the document is built: the
 * nesting depth and the number of documents are checked as they appear,
 * so a hostile file stops at its first offending line. */
static int check_shape(const char *path, const char *text, size_t len, sl_err *err)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    int depth = 0, docs = 0, rc = 0;
    for (int done = 0; !done && !rc;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            rc = yaml_syntax_error(&parser, path, err);
            break;
        }
        int line = (int)ev.start_mark.line + 1, col = (int)ev.start_mark.column + 1;
        switch (ev.type) {
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1)
                rc = sl_errf(err, SL_ECONFIG,
                             "%s:%d:%d: a second YAML document starts here; a pipeline file holds exactly one "
                             "(one pipeline per file: remove the '---' and what follows, or move it to a file "
                             "of its own)",
                             path, line, col);
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (++depth > YAML_MAX_DEPTH)
                rc = sl_errf(err, SL_ECONFIG,
                             "%s:%d:%d: YAML nested more than %d levels deep; a pipeline file needs at most 4",
                             path, line, col, YAML_MAX_DEPTH);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            depth--;
            break;
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    return rc;
}

int sl_config_load(const char *path, sl_config *cfg, sl_err *err)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->path = strdup(path);
    if (!cfg->path)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    char *text = NULL;
    size_t len = 0;
    sl_err rerr;
    if (sl_read_file_max(path, PIPELINE_FILE_MAX, &text, &len, &rerr) || !text) {
        int e = text ? 0 : errno;
        if (e == EFBIG)
            return sl_errf(err, SL_ECONFIG, "%s: the pipeline file holds more than 16 MiB; it cannot be a pipeline",
                           path);
        return sl_errf(err, SL_ECONFIG, "cannot open %s: %s", path, strerror(e ? e : ENOENT));
    }
    int rc = check_shape(path, text, len, err);
    if (rc) {
        free(text);
        return rc;
    }
    yaml_parser_t parser;
    loader l = {.cfg = cfg, .err = err};
    if (!yaml_parser_initialize(&parser)) {
        free(text);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &l.doc)) {
        rc = yaml_syntax_error(&parser, path, err);
        yaml_parser_delete(&parser);
        free(text);
        return rc;
    }
    yaml_parser_delete(&parser);
    free(text);
    rc = load_root(&l, yaml_document_get_root_node(&l.doc));
    yaml_document_delete(&l.doc);
    return rc;
}

void sl_config_free(sl_config *cfg)
{
    sl_options_free(&cfg->source);
    sl_options_free(&cfg->sink);
    sl_options_free(&cfg->pipeline);
    for (size_t i = 0; i < cfg->nroutes; i++) {
        free(cfg->routes[i].source_table);
        free(cfg->routes[i].sink_table);
        free(cfg->routes[i].replace_symbol);
        free(cfg->routes[i].description);
    }
    free(cfg->routes);
    for (size_t i = 0; i < cfg->ntransforms; i++) {
        sl_transform *t = &cfg->transforms[i];
        free(t->source_table);
        free(t->projection);
        free(t->filter);
        free(t->primary_keys);
        free(t->partition_keys);
        free(t->table_options);
        free(t->table_options_delimiter);
        free(t->converter);
        free(t->description);
    }
    free(cfg->transforms);
    free(cfg->schema_include);
    free(cfg->schema_exclude);
    free(cfg->path);
    memset(cfg, 0, sizeof *cfg);
}
