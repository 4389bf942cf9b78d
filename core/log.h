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

#define sl_error(...) sl_log(SL_LOG_ERROR, __VA_ARGS__)
#define sl_warn(...) sl_log(SL_LOG_WARN, __VA_ARGS__)
#define sl_info(...) sl_log(SL_LOG_INFO, __VA_ARGS__)
#define sl_debug(...) sl_log(SL_LOG_DEBUG, __VA_ARGS__)

#endif
