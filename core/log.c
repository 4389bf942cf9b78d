/* log.c — one line per message: UTC timestamp, level, text; or one JSON
 * object per line (time, level, component, message, fields). */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"

static sl_log_level configured_level = SL_LOG_INFO;
static sl_log_format configured_format = SL_LOG_TEXT;
static int stderr_tty; /* set with the level, read-only afterwards */
static const char *log_path;  /* --log-file, set once before threads */
static const char *pipeline_name; /* atomic pointer */
static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};

void sl_log_init(sl_log_level level)
{
    configured_level = level;
    stderr_tty = configured_format == SL_LOG_TEXT && isatty(2);
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

int sl_log_parse_format(const char *name, sl_log_format *out)
{
    if (strcasecmp(name, "text") == 0)
        *out = SL_LOG_TEXT;
    else if (strcasecmp(name, "json") == 0)
        *out = SL_LOG_JSON;
    else
        return -1;
    return 0;
}

void sl_log_set_format(sl_log_format f)
{
    configured_format = f;
    stderr_tty = f == SL_LOG_TEXT && isatty(2);
}

/* the file onto fd 2: dup2 replaces it in one step, so a line being
 * written goes wholly to the old file or wholly to the new one */
static int open_onto_stderr(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return -1;
    if (fd != 2 && dup2(fd, 2) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (fd != 2)
        close(fd);
    return 0;
}

int sl_log_open_file(const char *path)
{
    if (open_onto_stderr(path))
        return -1;
    log_path = path;
    stderr_tty = 0;
    return 0;
}

int sl_log_reopen(void)
{
    if (!log_path)
        return 1;
    return open_onto_stderr(log_path);
}

const char *sl_log_file(void) { return log_path; }

void sl_log_set_pipeline(const char *name) { __atomic_store_n(&pipeline_name, name, __ATOMIC_RELEASE); }

int sl_log_enabled(sl_log_level level) { return level <= configured_level; }

static void json_string(sl_buf *b, const char *s, size_t n)
{
    sl_buf_addc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            sl_buf_addc(b, '\\');
            sl_buf_addc(b, (char)c);
        } else if (c == '\n') {
            sl_buf_add(b, "\\n", 2);
        } else if (c == '\t') {
            sl_buf_add(b, "\\t", 2);
        } else if (c < 0x20 || c == 0x7f) {
            sl_buf_printf(b, "\\u%04x", c);
        } else {
            sl_buf_addc(b, (char)c);
        }
    }
    sl_buf_addc(b, '"');
}

/* A message passed up from a connector (an err->msg logged by the
 * runtime) names its component as "<word> source: " or "<word> sink: ". */
static size_t guess_component(const char *msg)
{
    const char *p = msg;
    while (*p >= 'a' && *p <= 'z')
        p++;
    if (p == msg || *p != ' ')
        return 0;
    if (strncmp(p, " source: ", 9) == 0)
        return (size_t)(p - msg) + 7;
    if (strncmp(p, " sink: ", 7) == 0)
        return (size_t)(p - msg) + 5;
    return 0;
}

static void vlog_json(sl_log_level level, const char *component, const struct tm *tm, long ms, const char *msg)
{
    sl_buf b;
    sl_buf_init(&b);
    sl_buf_printf(&b, "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\",\"component\":",
                  tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday, tm->tm_hour, tm->tm_min, tm->tm_sec, ms,
                  level_names[level]);
    size_t clen = component ? strlen(component) : guess_component(msg);
    if (component && strncmp(msg, component, clen) == 0 && msg[clen] == ':' && msg[clen + 1] == ' ') {
        json_string(&b, component, clen);
        msg += clen + 2;
    } else if (!component && clen) {
        json_string(&b, msg, clen);
        msg += clen + 2;
    } else if (component) {
        json_string(&b, component, clen);
    } else {
        json_string(&b, "sluice", 6);
    }
    sl_buf_add(&b, ",\"message\":", 11);
    json_string(&b, msg, strlen(msg));
    sl_buf_add(&b, ",\"fields\":{", 11);
    const char *name = __atomic_load_n(&pipeline_name, __ATOMIC_ACQUIRE);
    if (name) {
        sl_buf_add(&b, "\"pipeline\":", 11);
        json_string(&b, name, strlen(name));
    }
    sl_buf_add(&b, "}}\n", 3);
    if (!b.failed)
        fwrite(b.data, 1, b.len, stderr);
    sl_buf_free(&b);
}

/* Formats one line: on a terminal it starts by erasing a status line that
 * may stand there (status lines end without a newline). */
__attribute__((format(printf, 4, 0)))
static void vlog(sl_log_level level, const char *component, int status, const char *fmt, va_list ap)
{
    char line[4096];
    size_t n = 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    if (configured_format == SL_LOG_JSON) {
        vsnprintf(line, sizeof line, fmt, ap);
        vlog_json(level, component, &tm, ts.tv_nsec / 1000000, line);
        return;
    }
    if (stderr_tty)
        n = (size_t)snprintf(line, sizeof line, "\r\033[K");
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
    vlog(level, NULL, 0, fmt, ap);
    va_end(ap);
}

void sl_logc(sl_log_level level, const char *component, const char *fmt, ...)
{
    if (level > configured_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, component, 0, fmt, ap);
    va_end(ap);
}

void sl_log_status(const char *fmt, ...)
{
    if (SL_LOG_INFO > configured_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(SL_LOG_INFO, NULL, stderr_tty, fmt, ap);
    va_end(ap);
}
