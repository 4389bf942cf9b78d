/* log.c — one line per message: UTC timestamp, level, text. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static sl_log_level configured_level = SL_LOG_INFO;
static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};

void sl_log_init(sl_log_level level) { configured_level = level; }

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

void sl_log(sl_log_level level, const char *fmt, ...)
{
    if (level > configured_level)
        return;
    char line[4096];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = strlen(line);
    line[len++] = '\n';
    /* one write per line keeps lines from different threads whole */
    fwrite(line, 1, len, stderr);
}
