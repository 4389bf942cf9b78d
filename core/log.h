/* log.h — leveled, timestamped logging to stderr, as text lines or JSON
 * objects (one per line), optionally into a file that SIGHUP reopens.
 *
 * The level, the format and the file (and whether stderr is a terminal)
 * are configured once in main() before any thread starts and only read
 * afterwards; with the pipeline name given to JSON lines they are the one
 * piece of process-wide configuration besides the signal flag, kept here
 * so that deep code can log without threading a logger through every call.
 * A log file is opened onto file descriptor 2, so what libraries write to
 * stderr lands there too, and reopening it (dup2) is atomic for writers.
 */
#ifndef SL_LOG_H
#define SL_LOG_H

#include <stddef.h>

typedef enum { SL_LOG_ERROR = 0, SL_LOG_WARN, SL_LOG_INFO, SL_LOG_DEBUG, SL_LOG_TRACE } sl_log_level;

typedef enum { SL_LOG_TEXT = 0, SL_LOG_JSON } sl_log_format;

void sl_log_init(sl_log_level level);
int sl_log_parse_level(const char *name, sl_log_level *out);
/* "text" or "json"; -1 for anything else */
int sl_log_parse_format(const char *name, sl_log_format *out);
void sl_log_set_format(sl_log_format f);
/* Appends the log to path from now on (created 0640 if absent; the path
 * is kept, not copied). -1 with errno when it cannot be opened. */
int sl_log_open_file(const char *path);
/* Opens the log file's path again (after logrotate moved it): 0, 1 when
 * no log file is configured, -1 with errno (the old file stays). */
int sl_log_reopen(void);
const char *sl_log_file(void);
/* The pipeline's name for the "fields" of JSON lines (kept, not copied). */
void sl_log_set_pipeline(const char *name);
int sl_log_enabled(sl_log_level level);
void sl_log(sl_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* sl_log for a file that names its component (the macros below); fmt
 * begins with "component: " */
void sl_logc(sl_log_level level, const char *component, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* 1 when stderr is a terminal (known from sl_log_init): a status line can
 * be redrawn in place there. */
int sl_log_is_tty(void);
/* A transient status line at info level (snapshot progress): on a
 * terminal it is redrawn in place and the next log line replaces it;
 * elsewhere it is an ordinary info line. */
void sl_log_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The component a file speaks for. A connector file defines it before its
 * first #include:
 *
 *     #define SL_LOG_COMPONENT "mysql source"
 *
 * and every sl_error/sl_warn/sl_info/sl_debug line of the file begins
 * with "mysql source: ", joined to the format at compile time (string
 * literal concatenation: the format must be a literal, and nothing is
 * done at run time). SL_LOG_PREFIX "text" gives the same prefix to a
 * message that is not a log line (sl_errf). A line that already names its
 * component (an err->msg passed up) goes through sl_log() itself, which
 * adds nothing. Files of no component (the runtime, the snapshot
 * coordinator) define nothing and log unprefixed. */
#ifdef SL_LOG_COMPONENT
#define SL_LOG_PREFIX SL_LOG_COMPONENT ": "
#define SL_LOG_COMPONENT_NAME SL_LOG_COMPONENT
#else
#define SL_LOG_PREFIX ""
#define SL_LOG_COMPONENT_NAME NULL
#endif

#define sl_error(...) sl_logc(SL_LOG_ERROR, SL_LOG_COMPONENT_NAME, SL_LOG_PREFIX __VA_ARGS__)
#define sl_warn(...) sl_logc(SL_LOG_WARN, SL_LOG_COMPONENT_NAME, SL_LOG_PREFIX __VA_ARGS__)
#define sl_info(...) sl_logc(SL_LOG_INFO, SL_LOG_COMPONENT_NAME, SL_LOG_PREFIX __VA_ARGS__)
#define sl_debug(...) sl_logc(SL_LOG_DEBUG, SL_LOG_COMPONENT_NAME, SL_LOG_PREFIX __VA_ARGS__)

#endif
