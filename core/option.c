/* option.c — typed parsing and validation of connector options against
 * their declaration table, and the did-you-mean for misspelt keys. */
#include "option.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const type_names[] = {
    "string", "secret", "int", "bool", "duration", "size", "enum", "list", "map",
};

const char *sl_opt_type_name(sl_opt_type t) { return type_names[t]; }

static const char *skip_ws(const char *p)
{
    while (*p && isspace((unsigned char)*p))
        p++;
    return p;
}

/* number followed by an optional unit; units are matched case-sensitively
 * where case matters (MB vs Mb would be ambiguous, so we only accept bytes) */
static int parse_scaled(const char *text, const char *const *units, const int64_t *scale,
                        int64_t *out)
{
    const char *p = skip_ws(text);
    if (!isdigit((unsigned char)*p))
        return -1;
    errno = 0;
    char *end;
    unsigned long long n = strtoull(p, &end, 10);
    if (errno)
        return -1;
    const char *u = skip_ws(end);
    size_t ulen = strlen(u);
    while (ulen && isspace((unsigned char)u[ulen - 1]))
        ulen--;
    if (ulen == 0) {
        if (n > INT64_MAX)
            return -1;
        *out = (int64_t)n;
        return 0;
    }
    for (int i = 0; units[i]; i++) {
        if (strlen(units[i]) == ulen && strncasecmp(u, units[i], ulen) == 0) {
            if (n > (unsigned long long)(INT64_MAX / scale[i]))
                return -1;
            *out = (int64_t)n * scale[i];
            return 0;
        }
    }
    return -1;
}

/* ISO-8601 durations as Java's Duration.parse reads them: PT30S, PT1M30S,
 * PT0.5S, P1D, P1DT2H */
static int parse_iso_duration(const char *text, int64_t *ms)
{
    const char *p = skip_ws(text);
    if (*p != 'P' && *p != 'p')
        return -1;
    p++;
    int in_time = 0, any = 0;
    double total = 0;
    while (*p && !isspace((unsigned char)*p)) {
        if (*p == 'T' || *p == 't') {
            in_time = 1;
            p++;
            continue;
        }
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno || v < 0)
            return -1;
        char u = (char)toupper((unsigned char)*end);
        double scale = u == 'D' && !in_time ? 86400000.0
                       : u == 'H' && in_time ? 3600000.0
                       : u == 'M' && in_time ? 60000.0
                       : u == 'S' && in_time ? 1000.0
                                             : -1;
        if (scale < 0)
            return -1;
        total += v * scale;
        any = 1;
        p = end + 1;
    }
    if (!any || *skip_ws(p) || total > (double)INT64_MAX)
        return -1;
    *ms = (int64_t)(total + 0.5);
    return 0;
}

int sl_parse_duration_ms(const char *text, int64_t *ms)
{
    if (parse_iso_duration(text, ms) == 0)
        return 0;
    static const char *const units[] = {"ms", "s", "sec", "second", "seconds", "min",
                                        "minute", "minutes", "h", "hour", "hours", "d",
                                        "day", "days", NULL};
    static const int64_t scale[] = {1, 1000, 1000, 1000, 1000, 60000, 60000, 60000,
                                    3600000, 3600000, 3600000, 86400000, 86400000, 86400000};
    return parse_scaled(text, units, scale, ms);
}

int sl_parse_size_bytes(const char *text, int64_t *bytes)
{
    static const char *const units[] = {"b", "k", "kb", "kib", "m", "mb", "mib",
                                        "g", "gb", "gib", "t", "tb", "tib", NULL};
    static const int64_t K = 1024;
    static const int64_t scale[] = {1, K, 1000, K, K * K, 1000 * 1000, K * K,
                                    K * K * K, 1000LL * 1000 * 1000, K * K * K,
                                    K * K * K * K, 1000LL * 1000 * 1000 * 1000, K * K * K * K};
    return parse_scaled(text, units, scale, bytes);
}

static int enum_index(const char *values, const char *text)
{
    int idx = 0;
    size_t tlen = strlen(text);
    for (const char *p = values; *p; idx++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        /* Flink reads enum options regardless of case (FIRST_MATCH, first_match) */
        if (len == tlen && strncasecmp(p, text, len) == 0)
            return idx;
        if (!bar)
            break;
        p = bar + 1;
    }
    return -1;
}

/* the idx-th spelling of values, malloc'd */
static char *enum_value(const char *values, int64_t idx)
{
    const char *p = values;
    for (int64_t i = 0; i < idx && p; i++) {
        p = strchr(p, '|');
        if (p)
            p++;
    }
    if (!p)
        return NULL;
    const char *bar = strchr(p, '|');
    return strndup(p, bar ? (size_t)(bar - p) : strlen(p));
}

static void enum_list(const char *values, char *buf, size_t len)
{
    size_t o = 0;
    for (const char *p = values; *p && o + 4 < len; p++)
        if (*p == '|') {
            o += (size_t)snprintf(buf + o, len - o, ", ");
        } else {
            buf[o++] = *p;
        }
    buf[o < len ? o : len - 1] = 0;
}

static int check_range(const sl_option_def *def, int64_t v, const char *text, sl_err *err)
{
    if (def->min == 0 && def->max == 0)
        return 0;
    if (v < def->min || v > def->max) {
        const char *unit = def->type == SL_OPT_DURATION ? "ms" : def->type == SL_OPT_SIZE ? " bytes" : "";
        return sl_errf(err, SL_ECONFIG, "'%s' is out of range for '%s' (%" PRId64 "%s..%" PRId64 "%s)",
                       text, def->name, def->min, unit, def->max, unit);
    }
    return 0;
}

int sl_opt_parse(const sl_option_def *def, const char *text, int64_t *num, sl_err *err)
{
    *num = 0;
    switch (def->type) {
    case SL_OPT_STRING:
    case SL_OPT_SECRET:
    case SL_OPT_LIST:
    case SL_OPT_PREFIX:
        return 0;
    case SL_OPT_INT: {
        const char *p = skip_ws(text);
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno || *skip_ws(end))
            return sl_errf(err, SL_ECONFIG, "'%s' is not an integer (option '%s')", text, def->name);
        *num = v;
        return check_range(def, v, text, err);
    }
    case SL_OPT_BOOL:
        if (strcasecmp(text, "true") == 0) {
            *num = 1;
            return 0;
        }
        if (strcasecmp(text, "false") == 0)
            return 0;
        return sl_errf(err, SL_ECONFIG, "'%s' is not a boolean, expected true or false (option '%s')",
                       text, def->name);
    case SL_OPT_DURATION:
        if (sl_parse_duration_ms(text, num))
            return sl_errf(err, SL_ECONFIG,
                           "'%s' is not a duration (option '%s'); write e.g. 500ms, 1s, 5min, 2h",
                           text, def->name);
        return check_range(def, *num, text, err);
    case SL_OPT_SIZE:
        if (sl_parse_size_bytes(text, num))
            return sl_errf(err, SL_ECONFIG,
                           "'%s' is not a size (option '%s'); write e.g. 4096, 512KiB, 64MiB, 1GiB",
                           text, def->name);
        return check_range(def, *num, text, err);
    case SL_OPT_ENUM: {
        int idx = enum_index(def->enum_values, text);
        if (idx < 0) {
            char list[512];
            enum_list(def->enum_values, list, sizeof list);
            return sl_errf(err, SL_ECONFIG, "'%s' is not a valid value for '%s' (one of: %s)", text,
                           def->name, list);
        }
        *num = idx;
        return 0;
    }
    }
    return sl_errf(err, SL_ECONFIG, "option '%s' has an unknown type", def->name);
}

void sl_options_init(sl_options *o, const char *section, const sl_option_def *defs)
{
    memset(o, 0, sizeof *o);
    o->section = section;
    o->defs = defs;
}

void sl_options_free(sl_options *o)
{
    for (size_t i = 0; i < o->n; i++) {
        free(o->items[i].key);
        free(o->items[i].text);
    }
    free(o->items);
    o->items = NULL;
    o->n = o->cap = 0;
}

static const sl_option_def *find_def(const sl_option_def *defs, const char *key)
{
    for (const sl_option_def *d = defs; d && d->name; d++) {
        if (d->type == SL_OPT_PREFIX) {
            size_t n = strlen(d->name);
            if (strncmp(key, d->name, n) == 0 && key[n])
                return d;
        } else if (strcmp(key, d->name) == 0) {
            return d;
        }
    }
    return NULL;
}

static sl_option_value *find_value(const sl_options *o, const char *key)
{
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->items[i].key, key) == 0)
            return &o->items[i];
    return NULL;
}

static sl_option_value *append(sl_options *o)
{
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 16;
        sl_option_value *items = realloc(o->items, cap * sizeof *items);
        if (!items)
            return NULL;
        o->items = items;
        o->cap = cap;
    }
    sl_option_value *v = &o->items[o->n++];
    memset(v, 0, sizeof *v);
    return v;
}

static int is_ctl(unsigned char c) { return c < 0x20 || c == 0x7f; }

int sl_opt_check_file(const sl_options *o, const char *name, const char *who, int dir_ok, sl_err *err)
{
    const char *path = sl_opt_str(o, name);
    if (!path)
        return 0;
    struct stat st;
    const char *why = NULL;
    if (stat(path, &st) != 0)
        why = strerror(errno);
    else if (!S_ISREG(st.st_mode) && !(dir_ok && S_ISDIR(st.st_mode)))
        why = dir_ok ? "not a file or directory" : "not a regular file";
    else if (access(path, R_OK) != 0)
        why = strerror(errno);
    if (!why)
        return 0;
    char where[512];
    sl_opt_where(o, name, where, sizeof where);
    return sl_errf(err, SL_ECONFIG, "%s: %s: %s %s cannot be read: %s", where, who, name, path, why);
}

long sl_text_control_char(const char *text, int list)
{
    const unsigned char *t = (const unsigned char *)text;
    size_t item = 0; /* start of the current list item */
    for (size_t i = 0;; i++) {
        if (list && (t[i] == ',' || !t[i])) {
            /* a tab or line break next to a separator only lays a list out */
            size_t a = item, b = i;
            while (a < b && (t[a] == ' ' || t[a] == '\t' || t[a] == '\n'))
                a++;
            while (b > a && (t[b - 1] == ' ' || t[b - 1] == '\t' || t[b - 1] == '\n'))
                b--;
            for (size_t k = a; k < b; k++)
                if (is_ctl(t[k]))
                    return (long)k;
            item = i + 1;
        } else if (!list && t[i] && is_ctl(t[i])) {
            return (long)i;
        }
        if (!t[i])
            return -1;
    }
}

void sl_text_control_describe(const char *text, long at, char *buf, size_t len)
{
    unsigned char c = (unsigned char)text[at];
    const char *what = c == '\n' ? "a line break" : c == '\r' ? "a carriage return" : c == '\t' ? "a tab" : NULL;
    if (what)
        snprintf(buf, len, "%s at byte %ld", what, at + 1);
    else
        snprintf(buf, len, "control character 0x%02x at byte %ld", c, at + 1);
}

int sl_options_set(sl_options *o, const char *key, const char *text, sl_srcloc loc, sl_err *err)
{
    long ctl = -1;
    const sl_option_def *cdef = find_def(o->defs, key);
    /* secrets and pass-through properties may be anything (a PEM key);
     * host names, paths, names and lists never hold control characters,
     * whether written in the file or substituted from ${env:}/${file:} */
    if (cdef && cdef->type != SL_OPT_SECRET && cdef->type != SL_OPT_PREFIX &&
        (ctl = sl_text_control_char(text, cdef->type == SL_OPT_LIST)) >= 0) {
        char what[64];
        sl_text_control_describe(text, ctl, what, sizeof what);
        return sl_errf(err, SL_ECONFIG,
                       "%s:%d:%d: %s option '%s' contains %s; host names, paths, names and lists must be "
                       "printable text (check the value or the variable or file it comes from)",
                       loc.file, loc.line, loc.col, o->section, key, what);
    }
    const sl_option_def *def = find_def(o->defs, key);
    if (!def) {
        const char *hint = sl_did_you_mean_opt(key, o->defs);
        if (hint)
            return sl_errf(err, SL_ECONFIG, "%s:%d:%d: unknown %s option '%s'; did you mean '%s'?",
                           loc.file, loc.line, loc.col, o->section, key, hint);
        return sl_errf(err, SL_ECONFIG,
                       "%s:%d:%d: unknown %s option '%s' (see `sluice describe` for the list)",
                       loc.file, loc.line, loc.col, o->section, key);
    }
    if (find_value(o, key))
        return sl_errf(err, SL_ECONFIG, "%s:%d:%d: %s option '%s' is given twice", loc.file,
                       loc.line, loc.col, o->section, key);
    int64_t num;
    sl_err why;
    if (sl_opt_parse(def, text, &num, &why))
        return sl_errf(err, SL_ECONFIG, "%s:%d:%d: %s", loc.file, loc.line, loc.col, why.msg);
    sl_option_value *v = append(o);
    if (!v)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    v->def = def;
    v->key = strdup(key);
    /* an enum keeps its declared spelling whatever case the user wrote */
    v->text = def->type == SL_OPT_ENUM ? enum_value(def->enum_values, num) : strdup(text);
    v->num = num;
    v->loc = loc;
    v->from_user = 1;
    if (!v->key || !v->text)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    return 0;
}

int sl_options_replace(sl_options *o, const char *key, const char *text, sl_err *err)
{
    sl_option_value *v = find_value(o, key);
    if (!v)
        return sl_errf(err, SL_ECONFIG, "%s option '%s' is not set", o->section, key);
    int64_t num;
    if (sl_opt_parse(v->def, text, &num, err))
        return SL_ECONFIG;
    char *t = strdup(text);
    if (!t)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    free(v->text);
    v->text = t;
    v->num = num;
    return 0;
}

int sl_options_finish(sl_options *o, sl_srcloc block, sl_err *err)
{
    for (const sl_option_def *d = o->defs; d && d->name; d++) {
        if (d->type == SL_OPT_PREFIX || find_value(o, d->name))
            continue;
        if (d->required)
            return sl_errf(err, SL_ECONFIG, "%s:%d:%d: %s is missing required option '%s' (%s)",
                           block.file, block.line, block.col, o->section, d->name, d->description);
        if (!d->default_value)
            continue;
        int64_t num;
        sl_err why;
        if (sl_opt_parse(d, d->default_value, &num, &why))
            return sl_errf(err, SL_ECONFIG, "default of %s option '%s': %s", o->section, d->name,
                           why.msg);
        sl_option_value *v = append(o);
        if (!v)
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        v->def = d;
        v->key = strdup(d->name);
        v->text = strdup(d->default_value);
        v->num = num;
        v->loc = block;
        v->loc.line = 0;
        if (!v->key || !v->text)
            return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    return 0;
}

const sl_option_value *sl_opt_get(const sl_options *o, const char *name) { return find_value(o, name); }

const char *sl_opt_str(const sl_options *o, const char *name)
{
    const sl_option_value *v = find_value(o, name);
    return v ? v->text : NULL;
}

int64_t sl_opt_num(const sl_options *o, const char *name)
{
    const sl_option_value *v = find_value(o, name);
    return v ? v->num : 0;
}

int sl_opt_is_set(const sl_options *o, const char *name)
{
    const sl_option_value *v = find_value(o, name);
    return v && v->from_user;
}

void sl_opt_where(const sl_options *o, const char *name, char *buf, size_t len)
{
    const sl_option_value *v = find_value(o, name);
    if (v && v->loc.line > 0)
        snprintf(buf, len, "%s:%d:%d", v->loc.file, v->loc.line, v->loc.col);
    else
        snprintf(buf, len, "%s option '%s' (default)", o->section, name);
}

size_t sl_opt_each_prefix(const sl_options *o, const char *prefix,
                          void (*fn)(const char *, const char *, void *), void *arg)
{
    size_t n = 0, plen = strlen(prefix);
    for (size_t i = 0; i < o->n; i++) {
        if (strncmp(o->items[i].key, prefix, plen) == 0) {
            fn(o->items[i].key + plen, o->items[i].text, arg);
            n++;
        }
    }
    return n;
}

/* Damerau-Levenshtein (optimal string alignment) on short keys. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return SIZE_MAX;
    size_t d[65][65];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            size_t best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

const char *sl_did_you_mean(const char *word, const char *const *candidates, size_t n)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    size_t wlen = strlen(word);
    size_t limit = wlen < 5 ? 1 : wlen < 10 ? 2 : 3;
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(word, candidates[i]);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    return best_d <= limit ? best : NULL;
}

const char *sl_did_you_mean_opt(const char *word, const sl_option_def *defs)
{
    const char *names[256];
    size_t n = 0;
    for (const sl_option_def *d = defs; d && d->name && n < 256; d++)
        names[n++] = d->name;
    return sl_did_you_mean(word, names, n);
}
