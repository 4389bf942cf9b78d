/* option.h — typed connector options, declared once per connector.
 *
 * A connector declares its options in one static table of sl_option_def;
 * YAML validation, defaults, `sluice describe` and the README reference all
 * come from that table. Parsed values keep the file:line:column where they
 * were written so that any later complaint (a refused connection, a range
 * check in the connector) can name the place.
 */
#ifndef SL_OPTION_H
#define SL_OPTION_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef enum sl_opt_type {
    SL_OPT_STRING,
    SL_OPT_SECRET,   /* a string never printed back (passwords) */
    SL_OPT_INT,
    SL_OPT_BOOL,     /* true/false */
    SL_OPT_DURATION, /* "500ms", "1s", "5min", "2h", ISO-8601 "PT30S"; a bare number is milliseconds */
    SL_OPT_SIZE,     /* "64MiB", "1GB", "4096"; a bare number is bytes */
    SL_OPT_ENUM,     /* one of enum_values */
    SL_OPT_LIST,     /* comma-separated list (a YAML sequence is joined with commas) */
    SL_OPT_PREFIX,   /* any key starting with name ("properties."), passed through as text */
} sl_opt_type;

typedef struct sl_option_def {
    const char *name;
    sl_opt_type type;
    const char *default_value; /* parsed like user input; NULL = no default */
    int required;
    int64_t min, max;          /* INT, DURATION (ms), SIZE (bytes); min == max == 0: unbounded */
    const char *enum_values;   /* "a|b|c" for SL_OPT_ENUM */
    const char *description;
} sl_option_def;

#define SL_OPTION_END {NULL, 0, NULL, 0, 0, 0, NULL, NULL}

/* Where a piece of configuration was written. line 0 means "default". */
typedef struct sl_srcloc {
    const char *file;
    int line, col;
} sl_srcloc;

typedef struct sl_option_value {
    const sl_option_def *def;
    char *key;   /* as written; differs from def->name for prefix options */
    char *text;  /* after ${...} substitution; NULL if unset and no default */
    int64_t num; /* INT, BOOL, DURATION (ms), SIZE (bytes), ENUM (index) */
    sl_srcloc loc;
    int from_user;
} sl_option_value;

typedef struct sl_options {
    const char *section;        /* "source", "sink", "pipeline" */
    const sl_option_def *defs;
    sl_option_value *items;
    size_t n, cap;
} sl_options;

const char *sl_opt_type_name(sl_opt_type t);

/* Parses text as a value of def's type; on failure writes why into err
 * (without location) and returns SL_ECONFIG. */
int sl_opt_parse(const sl_option_def *def, const char *text, int64_t *num, sl_err *err);
int sl_parse_duration_ms(const char *text, int64_t *ms);
int sl_parse_size_bytes(const char *text, int64_t *bytes);

void sl_options_init(sl_options *o, const char *section, const sl_option_def *defs);
void sl_options_free(sl_options *o);
/* Sets key from user input. Unknown keys get a did-you-mean. */
int sl_options_set(sl_options *o, const char *key, const char *text, sl_srcloc loc, sl_err *err);
/* Gives a set (or defaulted) option a new value, keeping its location:
 * for settings one option implies for another (BATCH implies a snapshot). */
int sl_options_replace(sl_options *o, const char *key, const char *text, sl_err *err);
/* Applies defaults and checks required options; block is the section's own location. */
int sl_options_finish(sl_options *o, sl_srcloc block, sl_err *err);

const sl_option_value *sl_opt_get(const sl_options *o, const char *name);
const char *sl_opt_str(const sl_options *o, const char *name);   /* NULL if unset */
int64_t sl_opt_num(const sl_options *o, const char *name);       /* 0 if unset */
int sl_opt_is_set(const sl_options *o, const char *name);        /* by the user */
/* "file:line:col" of an option (or of the default), for messages */
void sl_opt_where(const sl_options *o, const char *name, char *buf, size_t len);
/* iterate options whose key starts with prefix; returns count */
size_t sl_opt_each_prefix(const sl_options *o, const char *prefix,
                          void (*fn)(const char *key_rest, const char *value, void *arg), void *arg);

/* For an option naming a file the process must read (a CA, a client
 * certificate or key): 0 when it is unset or a readable regular file (or
 * directory, with dir_ok), else SL_ECONFIG "<file:line:col>: <who>: <name>
 * <path> cannot be read: <why>" (who, e.g. "mysql source"). */
int sl_opt_check_file(const sl_options *o, const char *name, const char *who, int dir_ok, sl_err *err);

/* Offset of the first control character (below 0x20, or 0x7f) in text,
 * or -1. With list set, tabs and line breaks around the comma-separated
 * items are layout, not content. */
long sl_text_control_char(const char *text, int list);
/* "a line break at byte 7" for the character at offset at */
void sl_text_control_describe(const char *text, long at, char *buf, size_t len);

/* Closest candidate within a small edit distance, or NULL. */
const char *sl_did_you_mean(const char *word, const char *const *candidates, size_t n);
const char *sl_did_you_mean_opt(const char *word, const sl_option_def *defs);

#endif
