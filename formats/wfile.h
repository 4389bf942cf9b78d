/* wfile.h — the one interface through which the lake file writers (Parquet,
 * Avro) put bytes somewhere. A writer only appends, then either closes (the
 * file is complete and durable) or aborts (nothing of it remains), which is
 * what both a local directory and an object store's multipart upload can do;
 * so object storage is one more implementation of these three calls.
 *
 * Ownership: whoever opens an sl_wfile hands it to a writer (sl_pq_open,
 * sl_avro_open), which then owns it and ends it with exactly one of close or
 * abort. Both free the sl_wfile. */
#ifndef SL_WFILE_H
#define SL_WFILE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/buf.h"
#include "../core/err.h"

typedef struct sl_wfile sl_wfile;

typedef struct sl_wfile_ops {
    /* appends all n bytes or fails */
    int (*write)(sl_wfile *f, const void *p, size_t n, sl_err *err);
    /* makes the file complete and durable, then frees f (also on failure) */
    int (*close)(sl_wfile *f, sl_err *err);
    /* discards what was written and frees f; never fails */
    void (*abort)(sl_wfile *f);
} sl_wfile_ops;

struct sl_wfile {
    const sl_wfile_ops *ops;
    uint64_t offset; /* bytes written so far, kept by sl_wfile_write */
    char *name;      /* for error messages (malloc'd, freed by the implementation) */
};

static inline int sl_wfile_write(sl_wfile *f, const void *p, size_t n, sl_err *err)
{
    int rc = f->ops->write(f, p, n, err);
    if (rc == 0)
        f->offset += n;
    return rc;
}
static inline int sl_wfile_close(sl_wfile *f, sl_err *err) { return f->ops->close(f, err); }
static inline void sl_wfile_abort(sl_wfile *f) { f->ops->abort(f); }

/* A local file created at path (it must not exist: two writers never share
 * a name). close = fsync + close + fsync of the directory; abort = unlink.
 * Writes are buffered (64 KiB) so small appends cost no system call. */
int sl_wfile_open_local(const char *path, sl_wfile **out, sl_err *err);

/* Files whose durability waits for one sl_wfile_batch_sync: the iceberg
 * sink's files of an epoch are made durable together right before the
 * commit that names them (each file, then each directory once) instead of
 * two fsyncs as each file closes. A file opened with
 * sl_wfile_open_local_batch is complete but not yet durable after close;
 * the batch keeps its descriptor until sync (or free, which syncs nothing). */
typedef struct sl_wfile_batch {
    int *fds;
    size_t nfds, capfds;
    char **dirs;
    size_t ndirs, capdirs;
} sl_wfile_batch;
int sl_wfile_open_local_batch(const char *path, sl_wfile_batch *b, sl_wfile **out, sl_err *err);
/* fsyncs every file closed into b since the last sync, then their
 * directories; b is empty afterwards (also on failure) */
int sl_wfile_batch_sync(sl_wfile_batch *b, sl_err *err);
void sl_wfile_batch_free(sl_wfile_batch *b);

/* Appends into a caller-owned buffer (tests, and small files the caller
 * wants in memory). close leaves the bytes in *dst; abort truncates *dst
 * back to where it was when opened. */
sl_wfile *sl_wfile_open_mem(sl_buf *dst);

#endif
