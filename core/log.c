/* log.c — one line per message: UTC timestamp, level, text. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static sl_log_level configured_level = SL_LOG_INFO;
static int stderr_tty; /* set with the level, read-only afterwards */
static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};

void sl_log_init(sl_log_level level)
{
    configured_level = level;
    stderr_tty = isatty(2);
}

int sl_log_is_tty(void) { return stderr_tty; }

int sl_log_parse_level(const char *name, sl_log_level *out)
{
    for (int i = 0; i <= SL_LOG_TRACE; i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            *out = (sl_log_level)i;
            return 0;
        }
    }
    if (strcasecmp(name, "warning") == 0) {
        *out = SL_LOG_WARN;
        return 0;
    }
    return -1;
}

int sl_log_enabled(sl_log_level level) { return level <= configured_level; }

/* Formats one line: on a terminal it starts by erasing a status line that
 * may stand there (status lines end without a newline). */
__attribute__((format(printf, 3, 0)))
static void vlog(sl_log_level level, int status, const char *fmt, va_list ap)
{
    char line[4096];
    size_t n = 0;
    if (stderr_tty)
        n = (size_t)snprintf(line, sizeof line, "\r\033[K");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    n += (size_t)snprintf(line + n, sizeof line - n, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ",
                          tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                          ts.tv_nsec / 1000000, level_names[level]);
    vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    size_t len = strlen(line);
    if (!status)
        line[len++] = '\n';
    /* one write per line keeps lines from different threads whole */
    fwrite(line, 1, len, stderr);
}

void sl_log(sl_log_level level, const char *fmt, ...)
{
    if (level > configured_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, 0, fmt, ap);
    va_end(ap);
}

void sl_log_status(const char *fmt, ...)
{
    if (SL_LOG_INFO > configured_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(SL_LOG_INFO, stderr_tty, fmt, ap);
    va_end(ap);
}
