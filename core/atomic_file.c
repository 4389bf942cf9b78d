/* atomic_file.c — temp + fsync + rename + fsync(dir). */
#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int sl_write_file_atomic(const char *path, const void *data, size_t len, sl_err *err)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    char *dircopy = strdup(path);
    if (!tmp || !dircopy) {
        free(tmp);
        free(dircopy);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    snprintf(tmp, plen + 16, "%s.tmp", path);
    int rc = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = sl_errf(err, SL_ERUNTIME, "cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (write_all(fd, data, len) || fsync(fd)) {
        rc = sl_errf(err, SL_ERUNTIME, "cannot write %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        goto out;
    }
    close(fd);
    if (rename(tmp, path)) {
        rc = sl_errf(err, SL_ERUNTIME, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    int dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        if (fsync(dfd))
            rc = sl_errf(err, SL_ERUNTIME, "cannot fsync the directory of %s: %s", path, strerror(errno));
        close(dfd);
    }
out:
    free(tmp);
    free(dircopy);
    return rc;
}

int sl_read_file(const char *path, char **out, size_t *len, sl_err *err)
{
    return sl_read_file_max(path, SIZE_MAX / 4, out, len, err);
}

int sl_read_file_max(const char *path, size_t max, char **out, size_t *len, sl_err *err)
{
    *out = NULL;
    if (len)
        *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        if (e == ENOENT)
            return 0;
        sl_errf(err, SL_ERUNTIME, "cannot open %s: %s", path, strerror(e));
        errno = e;
        return SL_ERUNTIME;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    int too_big = 0;
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (n > max) {
            /* endless or huge (/dev/zero): stop reading at the bound */
            too_big = 1;
            break;
        }
        if (n + 1 < cap)
            break;
        cap = cap > max / 2 ? max + 2 : cap * 2;
        char *nb = realloc(buf, cap);
        if (!nb) {
            free(buf);
            buf = NULL;
        } else {
            buf = nb;
        }
    }
    int failed = ferror(f), e = errno;
    fclose(f);
    if (!buf)
        return sl_errf(err, SL_ERUNTIME, "out of memory reading %s", path);
    if (too_big) {
        free(buf);
        sl_errf(err, SL_ERUNTIME, "%s holds more than %zu bytes", path, max);
        errno = EFBIG;
        return SL_ERUNTIME;
    }
    if (failed) {
        free(buf);
        sl_errf(err, SL_ERUNTIME, "cannot read %s: %s", path, strerror(e));
        errno = e;
        return SL_ERUNTIME;
    }
    buf[n] = 0;
    *out = buf;
    if (len)
        *len = n;
    return 0;
}
