/* err.c — formatting of error messages into caller-owned buffers. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int sl_errf(sl_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

int sl_err_fix(sl_err *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    size_t len = strnlen(err->msg, sizeof err->msg - 1);
    int n = snprintf(err->msg + len, sizeof err->msg - len, "; fix: ");
    if (n > 0 && (size_t)n < sizeof err->msg - len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg + len + (size_t)n, sizeof err->msg - len - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return code;
}

int sl_err_prefix(sl_err *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    char prefix[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    size_t plen = strlen(prefix);
    if (plen >= sizeof err->msg)
        plen = sizeof err->msg - 1;
    size_t olen = strnlen(err->msg, sizeof err->msg - 1);
    if (plen + olen >= sizeof err->msg)
        olen = sizeof err->msg - 1 - plen;
    memmove(err->msg + plen, err->msg, olen);
    memcpy(err->msg, prefix, plen);
    err->msg[plen + olen] = 0;
    return code;
}
