/* file_sink.c — the `file` sink: one Debezium-style JSON object per line.
 *
 * For development, demos and verification. Each commit fsyncs the data and
 * then replaces a checkpoint file beside it atomically; the checkpoint
 * records the committed length of the data file, and on start anything
 * past that length (written by a run that crashed before its commit) is
 * cut off (before a run's first commit, a checkpoint without a position
 * records the length the file had, so a crash before any commit is cut
 * back too). The committed contents are therefore exactly the committed
 * epochs; a reader tailing the file may see lines of an epoch that a
 * restart then removes, which is why the delivery is documented as
 * at-least-once for such readers.
 *
 * A running pipeline holds an exclusive lock (flock) on its data file, so
 * a second pipeline given the same path refuses to start instead of
 * interleaving lines and cutting the first one's epochs off. `sluice
 * status` opens read-only and takes no lock.
 */
#define SL_LOG_COMPONENT "file sink"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../core/clock.h"
#include "../../core/atomic_file.h"
#include "../../core/envelope.h"
#include "../../core/json_scan.h"
#include "../../core/log.h"
#include "../../core/verify.h"
#include "../sink.h"

static const sl_option_def options[] = {
    {"path", SL_OPT_STRING, NULL, 1, 0, 0, NULL, "File the change events are appended to, one JSON object per line."},
    {"checkpoint.path", SL_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Where the checkpoint is kept (default: <path>.checkpoint)."},
    {"fsync", SL_OPT_BOOL, "true", 0, 0, 0, NULL,
     "fsync the data before each checkpoint; false trades crash safety for speed."},
    {"schema-changes", SL_OPT_BOOL, "true", 0, 0, 0, NULL,
     "Write a line for every schema change (Debezium tableChanges shape)."},
    SL_ENVELOPE_OPTIONS,
    SL_OPTION_END,
};

typedef struct file_sink {
    char *path, *ckpt_path;
    int fd;
    int do_fsync, schema_changes;
    off_t committed_size, size;
    int ckpt_on_disk; /* a checkpoint file records committed_size */
    int read_only;    /* sluice status: no lock, no repair */
    sl_buf buf;
    sl_envelope_opts env;
    char *name;
} file_sink;

enum { FLUSH_AT = 1 << 20 };

static int write_checkpoint(file_sink *f, const char *checkpoint, sl_err *err)
{
    sl_buf doc;
    sl_buf_init(&doc);
    sl_buf_adds(&doc, "{\"file_size\":");
    sl_buf_i64(&doc, (int64_t)f->size);
    sl_buf_adds(&doc, ",\"checkpoint\":");
    sl_buf_adds(&doc, checkpoint);
    sl_buf_adds(&doc, "}\n");
    int rc = doc.failed ? sl_errf(err, SL_ERUNTIME, "out of memory")
                        : sl_write_file_atomic(f->ckpt_path, doc.data, doc.len, err);
    sl_buf_free(&doc);
    if (rc)
        return sl_err_prefix(err, rc, SL_LOG_PREFIX "");
    f->ckpt_on_disk = 1;
    return 0;
}

static int flush_buf(file_sink *f, sl_err *err)
{
    /* the first bytes of a pipeline's first run: record where they start */
    if (!f->ckpt_on_disk && f->buf.len && write_checkpoint(f, "null", err))
        return SL_ERUNTIME;
    size_t off = 0;
    while (off < f->buf.len) {
        ssize_t n = write(f->fd, f->buf.data + off, f->buf.len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "cannot write %s: %s", f->path, strerror(errno));
        }
        off += (size_t)n;
    }
    f->size += (off_t)f->buf.len;
    sl_buf_reset(&f->buf);
    return 0;
}

static int file_create(const sl_options *o, const sl_sink_env *env, void **self, sl_err *err)
{
    file_sink *f = calloc(1, sizeof *f);
    if (!f)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    f->fd = -1;
    f->path = strdup(sl_opt_str(o, "path"));
    const char *cp = sl_opt_str(o, "checkpoint.path");
    if (cp) {
        f->ckpt_path = strdup(cp);
    } else if (f->path) {
        size_t n = strlen(f->path) + sizeof ".checkpoint";
        f->ckpt_path = malloc(n);
        if (f->ckpt_path)
            snprintf(f->ckpt_path, n, "%s.checkpoint", f->path);
    }
    f->name = strdup(env->pipeline_name);
    if (!f->path || !f->ckpt_path || !f->name) {
        free(f->path);
        free(f->ckpt_path);
        free(f->name);
        free(f);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    f->do_fsync = (int)sl_opt_num(o, "fsync");
    f->schema_changes = (int)sl_opt_num(o, "schema-changes");
    f->env.connector = env->source_connector;
    f->env.name = f->name;
    sl_value_modes_from(o, env->source_connector, &f->env.modes);
    sl_buf_init(&f->buf);
    f->read_only = env->read_only;
    f->fd = open(f->path, f->read_only ? O_RDONLY | O_CLOEXEC : O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    int rc = 0;
    if (f->fd < 0 && !(f->read_only && errno == ENOENT)) {
        rc = sl_errf(err, SL_ECONFIG, SL_LOG_PREFIX "cannot open %s: %s", f->path, strerror(errno));
    } else if (!f->read_only && flock(f->fd, LOCK_EX | LOCK_NB)) {
        char where[512];
        sl_opt_where(o, "path", where, sizeof where);
        rc = errno == EWOULDBLOCK && env->ha
                 ? sl_errf(err, SL_ERETRY,
                           SL_LOG_PREFIX "%s is still locked by the previous active member of this pipeline's "
                           "group; it stops writing once it sees it lost leadership",
                           f->path)
             : errno == EWOULDBLOCK
                 ? sl_errf(err, SL_ECONFIG,
                           SL_LOG_PREFIX "%s is locked by another running process (a pipeline writing the same "
                           "path?); two pipelines cannot share a file: give this one a path of its own (%s)",
                           f->path, where)
                 : sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "cannot lock %s: %s", f->path, strerror(errno));
    }
    if (rc) {
        if (f->fd >= 0)
            close(f->fd);
        free(f->path);
        free(f->ckpt_path);
        free(f->name);
        free(f);
        return rc;
    }
    struct stat st;
    if (f->fd >= 0 && fstat(f->fd, &st) == 0)
        f->size = f->committed_size = st.st_size;
    if (!f->read_only)
        lseek(f->fd, 0, SEEK_END);
    *self = f;
    return 0;
}

static int file_load_checkpoint(void *self, char **out, sl_err *err)
{
    file_sink *f = self;
    *out = NULL;
    char *text;
    int rc = sl_read_file(f->ckpt_path, &text, NULL, err);
    if (rc || !text)
        return rc;
    f->ckpt_on_disk = 1;
    json_error_t je;
    json_t *root = json_loads(text, 0, &je);
    free(text);
    json_t *ck = root ? json_object_get(root, "checkpoint") : NULL;
    json_t *sz = root ? json_object_get(root, "file_size") : NULL;
    if (!ck || !json_is_integer(sz)) {
        json_decref(root);
        return sl_errf(err, SL_ERUNTIME,
                       SL_LOG_PREFIX "checkpoint %s is damaged (%s); move it away to start over",
                       f->ckpt_path, root ? "missing fields" : je.text);
    }
    off_t committed = (off_t)json_integer_value(sz);
    if (f->read_only) {
        /* the pipeline may be running: report, repair nothing */
        f->committed_size = committed;
        int none = json_is_null(ck);
        *out = none ? NULL : json_dumps(ck, JSON_COMPACT);
        json_decref(root);
        return !none && !*out ? sl_errf(err, SL_ERUNTIME, "out of memory") : 0;
    }
    if (f->size < committed) {
        json_decref(root);
        return sl_errf(err, SL_ERUNTIME,
                       SL_LOG_PREFIX "%s is shorter (%lld bytes) than its checkpoint says (%lld); "
                       "it was truncated or replaced: move the checkpoint away to start over",
                       f->path, (long long)f->size, (long long)committed);
    }
    if (f->size > committed) {
        /* lines of an epoch that never committed: the source replays them */
        if (ftruncate(f->fd, committed)) {
            json_decref(root);
            return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "cannot truncate %s: %s", f->path, strerror(errno));
        }
        lseek(f->fd, 0, SEEK_END);
        f->size = committed;
    }
    f->committed_size = committed;
    if (json_is_null(ck)) { /* nothing committed yet */
        json_decref(root);
        return 0;
    }
    *out = json_dumps(ck, JSON_COMPACT);
    json_decref(root);
    return *out ? 0 : sl_errf(err, SL_ERUNTIME, "out of memory");
}

static int file_write(void *self, const sl_batch *b, sl_err *err)
{
    file_sink *f = self;
    int64_t now = sl_wall_ms();
    for (const sl_event *e = b->head; e; e = e->next) {
        if (e->op == SL_OP_SCHEMA) {
            if (!f->schema_changes)
                continue;
            sl_json_schema_change(&f->buf, e, &f->env, now);
        } else {
            sl_json_envelope(&f->buf, e, &f->env, now);
        }
        sl_buf_addc(&f->buf, '\n');
        if (f->buf.len >= FLUSH_AT && flush_buf(f, err))
            return SL_ERUNTIME;
    }
    if (f->buf.failed)
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "out of memory");
    return 0;
}

static int file_commit(void *self, const char *checkpoint, sl_err *err)
{
    file_sink *f = self;
    if (flush_buf(f, err))
        return SL_ERUNTIME;
    if (f->do_fsync && fsync(f->fd))
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "fsync %s: %s", f->path, strerror(errno));
    if (write_checkpoint(f, checkpoint, err))
        return SL_ERUNTIME;
    f->committed_size = f->size;
    return 0;
}

static int file_abort(void *self, sl_err *err)
{
    file_sink *f = self;
    sl_buf_reset(&f->buf);
    if (f->size != f->committed_size) {
        if (ftruncate(f->fd, f->committed_size))
            return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "cannot truncate %s: %s", f->path, strerror(errno));
        lseek(f->fd, 0, SEEK_END);
        f->size = f->committed_size;
    }
    return 0;
}

/* key hash -> row hash, open addressing; 0 marks an empty slot */
typedef struct state_map {
    uint64_t *keys, *rows;
    size_t n, cap;
} state_map;

static int map_grow(state_map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 1024;
    uint64_t *k = calloc(cap, sizeof *k), *r = calloc(cap, sizeof *r);
    if (!k || !r) {
        free(k);
        free(r);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        size_t h = m->keys[i] & (cap - 1);
        while (k[h])
            h = (h + 1) & (cap - 1);
        k[h] = m->keys[i];
        r[h] = m->rows[i];
    }
    free(m->keys);
    free(m->rows);
    m->keys = k;
    m->rows = r;
    m->cap = cap;
    return 0;
}

static int map_put(state_map *m, uint64_t key, uint64_t row)
{
    if ((m->n + 1) * 2 > m->cap && map_grow(m))
        return -1;
    key |= 1; /* never 0 */
    size_t h = key & (m->cap - 1);
    while (m->keys[h] && m->keys[h] != key)
        h = (h + 1) & (m->cap - 1);
    if (!m->keys[h])
        m->n++;
    m->keys[h] = key;
    m->rows[h] = row;
    return 0;
}

static void map_del(state_map *m, uint64_t key)
{
    if (!m->cap)
        return;
    key |= 1;
    size_t h = key & (m->cap - 1);
    while (m->keys[h] && m->keys[h] != key)
        h = (h + 1) & (m->cap - 1);
    if (!m->keys[h])
        return;
    /* backward-shift deletion keeps probe chains intact */
    size_t i = h;
    for (;;) {
        m->keys[i] = 0;
        size_t j = i;
        for (;;) {
            j = (j + 1) & (m->cap - 1);
            if (!m->keys[j]) {
                m->n--;
                return;
            }
            size_t home = m->keys[j] & (m->cap - 1);
            if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j)))
                break;
        }
        m->keys[i] = m->keys[j];
        m->rows[i] = m->rows[j];
        i = j;
    }
}

static int text_member(const char *obj, const char *end, const char *name, char *buf, size_t len)
{
    const char *vs, *ve;
    if (sl_json_member(obj, end, name, &vs, &ve) || ve - vs < 2 || *vs != '"')
        return -1;
    snprintf(buf, len, "%.*s", (int)(ve - vs - 2), vs + 1);
    return 0;
}

static uint64_t row_key(const sl_digest *d, const char *obj, const char *end)
{
    if (d->npk == 0)
        return sl_digest_hash(obj, (size_t)(end - obj));
    sl_buf k;
    sl_buf_init(&k);
    for (int i = 0; i < d->npk; i++) {
        const char *vs, *ve;
        if (sl_json_member(obj, end, d->pk[i], &vs, &ve) == 0)
            sl_buf_add(&k, vs, (size_t)(ve - vs));
        sl_buf_addc(&k, '\x1f');
    }
    uint64_t h = sl_digest_hash(k.data ? k.data : "", k.len);
    sl_buf_free(&k);
    return h;
}

/* Replays the committed part of the file into per-table key -> row state. */
static int file_read_back(void *self, const sl_digest_set *want, sl_digest_set *out, sl_err *err)
{
    file_sink *f = self;
    FILE *in = fopen(f->path, "r");
    if (!in)
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "cannot read %s back: %s", f->path, strerror(errno));
    state_map *maps = calloc(want->n ? want->n : 1, sizeof *maps);
    if (!maps) {
        fclose(in);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    off_t read = 0;
    int rc = 0;
    while (!rc && read < f->committed_size && (n = getline(&line, &cap, in)) > 0) {
        read += n;
        const char *end = line + n;
        char op[8], db[256] = "", schema[256] = "", table[256] = "", name[600];
        if (text_member(line, end, "op", op, sizeof op))
            continue; /* a schema-change line */
        const char *ss, *se;
        if (sl_json_member(line, end, "source", &ss, &se) || text_member(ss, se, "table", table, sizeof table))
            continue;
        text_member(ss, se, "db", db, sizeof db);
        text_member(ss, se, "schema", schema, sizeof schema);
        snprintf(name, sizeof name, "%s.%s", schema[0] ? schema : db, table);
        const sl_digest *d = sl_digest_find(want, name);
        if (!d)
            continue;
        state_map *m = &maps[d - want->items];
        const char *bs = NULL, *be = NULL, *as = NULL, *ae = NULL;
        sl_json_member(line, end, "before", &bs, &be);
        sl_json_member(line, end, "after", &as, &ae);
        if (op[0] == 'd') {
            if (bs && *bs == '{')
                map_del(m, row_key(d, bs, be));
        } else if (as && *as == '{') {
            uint64_t k = row_key(d, as, ae);
            if (op[0] == 'u' && bs && *bs == '{') {
                uint64_t old = row_key(d, bs, be);
                if (old != k)
                    map_del(m, old);
            }
            if (map_put(m, k, sl_digest_hash(as, (size_t)(ae - as))))
                rc = sl_errf(err, SL_ERUNTIME, "out of memory");
        }
    }
    free(line);
    fclose(in);
    for (size_t i = 0; i < want->n && !rc; i++) {
        sl_digest *d = sl_digest_get(out, want->items[i].table, NULL);
        if (!d) {
            rc = sl_errf(err, SL_ERUNTIME, "out of memory");
            break;
        }
        d->rows = maps[i].n;
        for (size_t k = 0; k < maps[i].cap; k++)
            if (maps[i].keys[k])
                d->sum += maps[i].rows[k];
    }
    for (size_t i = 0; i < want->n; i++) {
        free(maps[i].keys);
        free(maps[i].rows);
    }
    free(maps);
    return rc;
}

static void file_destroy(void *self)
{
    file_sink *f = self;
    if (!f)
        return;
    if (f->fd >= 0)
        close(f->fd);
    sl_buf_free(&f->buf);
    free(f->path);
    free(f->ckpt_path);
    free(f->name);
    free(f);
}

const sl_sink_plugin sl_sink_file = {
    .name = "file",
    .description = "Appends Debezium-style JSON lines to a local file (development, demos, verification)",
    .options = options,
    .guarantee = SL_GUARANTEE_AT_LEAST_ONCE,
    .create = file_create,
    .load_checkpoint = file_load_checkpoint,
    .write = file_write,
    .commit = file_commit,
    .abort = file_abort,
    .read_back = file_read_back,
    .destroy = file_destroy,
};
