/* wfile.c — the local-filesystem and in-memory sl_wfile implementations. */
#include "wfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOCAL_BUF (64 * 1024)

typedef struct local_file {
    sl_wfile base;
    sl_wfile_batch *batch;  /* durability deferred to it, or NULL */
    int fd;
    size_t used;
    char buf[LOCAL_BUF];
} local_file;

static int write_fd(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int local_flush(local_file *lf, sl_err *err)
{
    if (lf->used && write_fd(lf->fd, lf->buf, lf->used))
        return sl_errf(err, SL_ERUNTIME, "cannot write %s: %s", lf->base.name, strerror(errno));
    lf->used = 0;
    return 0;
}

static int local_write(sl_wfile *f, const void *p, size_t n, sl_err *err)
{
    local_file *lf = (local_file *)f;
    if (lf->used + n <= LOCAL_BUF) {
        memcpy(lf->buf + lf->used, p, n);
        lf->used += n;
        return 0;
    }
    if (local_flush(lf, err))
        return SL_ERUNTIME;
    if (n < LOCAL_BUF) {
        memcpy(lf->buf, p, n);
        lf->used = n;
        return 0;
    }
    if (write_fd(lf->fd, p, n))
        return sl_errf(err, SL_ERUNTIME, "cannot write %s: %s", f->name, strerror(errno));
    return 0;
}

static void local_free(local_file *lf)
{
    free(lf->base.name);
    free(lf);
}

static char *dir_of(const char *path)
{
    char *d = strdup(path);
    return d ? (memmove(d, dirname(d), strlen(dirname(d)) + 1), d) : NULL;
}

/* hands the open descriptor and its directory to the batch */
static int batch_add(sl_wfile_batch *b, local_file *lf, sl_err *err)
{
    char *dir = dir_of(lf->base.name);
    int known = 0;
    for (size_t i = 0; dir && i < b->ndirs && !known; i++)
        known = !strcmp(b->dirs[i], dir);
    if (b->nfds == b->capfds) {
        size_t cap = b->capfds ? b->capfds * 2 : 16;
        int *n = realloc(b->fds, cap * sizeof *n);
        if (n) {
            b->fds = n;
            b->capfds = cap;
        }
    }
    if (!known && dir && b->ndirs == b->capdirs) {
        size_t cap = b->capdirs ? b->capdirs * 2 : 4;
        char **n = realloc(b->dirs, cap * sizeof *n);
        if (n) {
            b->dirs = n;
            b->capdirs = cap;
        }
    }
    if (!dir || b->nfds == b->capfds || (!known && b->ndirs == b->capdirs)) {
        free(dir);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    b->fds[b->nfds++] = lf->fd;
    if (known)
        free(dir);
    else
        b->dirs[b->ndirs++] = dir;
    return 0;
}

static int local_close(sl_wfile *f, sl_err *err)
{
    local_file *lf = (local_file *)f;
    if (lf->batch) {
        int rc = local_flush(lf, err);
        if (rc == 0)
            rc = batch_add(lf->batch, lf, err);
        if (rc) {
            close(lf->fd);
            unlink(f->name);
        }
        local_free(lf);
        return rc;
    }
    int rc = local_flush(lf, err);
    if (rc == 0 && fsync(lf->fd))
        rc = sl_errf(err, SL_ERUNTIME, "cannot fsync %s: %s", f->name, strerror(errno));
    if (close(lf->fd) && rc == 0)
        rc = sl_errf(err, SL_ERUNTIME, "cannot close %s: %s", f->name, strerror(errno));
    if (rc == 0) {
        char *dir = strdup(f->name);
        int dfd = dir ? open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
        if (dfd < 0 || fsync(dfd))
            rc = sl_errf(err, SL_ERUNTIME, "cannot fsync the directory of %s: %s", f->name,
                         strerror(errno));
        if (dfd >= 0)
            close(dfd);
        free(dir);
    }
    if (rc)
        unlink(f->name);
    local_free(lf);
    return rc;
}

static void local_abort(sl_wfile *f)
{
    local_file *lf = (local_file *)f;
    close(lf->fd);
    unlink(f->name);
    local_free(lf);
}

static const sl_wfile_ops local_ops = {local_write, local_close, local_abort};

int sl_wfile_open_local_batch(const char *path, sl_wfile_batch *b, sl_wfile **out, sl_err *err)
{
    int rc = sl_wfile_open_local(path, out, err);
    if (rc == 0)
        ((local_file *)*out)->batch = b;
    return rc;
}

int sl_wfile_batch_sync(sl_wfile_batch *b, sl_err *err)
{
    int rc = 0;
    for (size_t i = 0; i < b->nfds; i++) {
        if (rc == 0 && fsync(b->fds[i]))
            rc = sl_errf(err, SL_ERUNTIME, "cannot fsync a written file: %s", strerror(errno));
        close(b->fds[i]);
    }
    for (size_t i = 0; i < b->ndirs; i++) {
        int dfd = rc ? -1 : open(b->dirs[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rc == 0 && (dfd < 0 || fsync(dfd)))
            rc = sl_errf(err, SL_ERUNTIME, "cannot fsync the directory %s: %s", b->dirs[i], strerror(errno));
        if (dfd >= 0)
            close(dfd);
        free(b->dirs[i]);
    }
    b->nfds = b->ndirs = 0;
    return rc;
}

void sl_wfile_batch_free(sl_wfile_batch *b)
{
    for (size_t i = 0; i < b->nfds; i++)
        close(b->fds[i]);
    for (size_t i = 0; i < b->ndirs; i++)
        free(b->dirs[i]);
    free(b->fds);
    free(b->dirs);
    memset(b, 0, sizeof *b);
}

int sl_wfile_open_local(const char *path, sl_wfile **out, sl_err *err)
{
    *out = NULL;
    local_file *lf = calloc(1, sizeof *lf);
    char *name = strdup(path);
    if (!lf || !name) {
        free(lf);
        free(name);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    lf->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (lf->fd < 0) {
        int rc = sl_errf(err, SL_ERUNTIME, "cannot create %s: %s", path, strerror(errno));
        free(lf);
        free(name);
        return rc;
    }
    lf->base.ops = &local_ops;
    lf->base.name = name;
    *out = &lf->base;
    return 0;
}

typedef struct mem_file {
    sl_wfile base;
    sl_buf *dst;
    size_t start;
} mem_file;

static int mem_write(sl_wfile *f, const void *p, size_t n, sl_err *err)
{
    mem_file *mf = (mem_file *)f;
    sl_buf_add(mf->dst, p, n);
    return mf->dst->failed ? sl_errf(err, SL_ERUNTIME, "out of memory") : 0;
}

static int mem_close(sl_wfile *f, sl_err *err)
{
    free(f);
    return 0;
}

static void mem_abort(sl_wfile *f)
{
    mem_file *mf = (mem_file *)f;
    mf->dst->len = mf->start;
    free(f);
}

static const sl_wfile_ops mem_ops = {mem_write, mem_close, mem_abort};

sl_wfile *sl_wfile_open_mem(sl_buf *dst)
{
    mem_file *mf = calloc(1, sizeof *mf);
    if (!mf)
        return NULL;
    mf->base.ops = &mem_ops;
    mf->dst = dst;
    mf->start = dst->len;
    return &mf->base;
}
