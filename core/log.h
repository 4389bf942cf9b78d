/* log.h — leveled, timestamped logging to stderr.
 *
 * The level (and whether stderr is a terminal) is configured once in main()
 * before any thread starts and only read afterwards; it is the one piece of process-wide configuration besides
 * the signal flag, kept here so that deep code can log without threading a
 * logger through every call.
 */
#ifndef SL_LOG_H
#define SL_LOG_H

typedef enum { SL_LOG_ERROR = 0, SL_LOG_WARN, SL_LOG_INFO, SL_LOG_DEBUG, SL_LOG_TRACE } sl_log_level;

void sl_log_init(sl_log_level level);
int sl_log_parse_level(const char *name, sl_log_level *out);
int sl_log_enabled(sl_log_level level);
void sl_log(sl_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
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
#else
#define SL_LOG_PREFIX ""
#endif

#define sl_error(...) sl_log(SL_LOG_ERROR, SL_LOG_PREFIX __VA_ARGS__)
#define sl_warn(...) sl_log(SL_LOG_WARN, SL_LOG_PREFIX __VA_ARGS__)
#define sl_info(...) sl_log(SL_LOG_INFO, SL_LOG_PREFIX __VA_ARGS__)
#define sl_debug(...) sl_log(SL_LOG_DEBUG, SL_LOG_PREFIX __VA_ARGS__)

#endif
