/* snapshot.h — the lock-free, parallel, resumable incremental snapshot.
 *
 * Design B of DESIGN.md §5 with exact positions: one changelog reader runs
 * all the time and emits every change; chunk readers read key ranges in
 * parallel, each under its own consistent snapshot whose exact changelog
 * position S is known (MariaDB: binlog_snapshot_file/position). A chunk is
 * merged into the stream once the changelog reader has reached S:
 *  - reader still before S: the chunk waits; changes before S go out first
 *    and the chunk (newer) follows them;
 *  - reader at or past S: rows whose key the reader touched at or after S
 *    were superseded by changes already emitted and are dropped; the rest
 *    are current and go out at once.
 * So no snapshot row ever follows a newer change of its key, and no change
 * is filtered out. Chunk rows go out as one transaction of their own, whose
 * checkpoint token records the chunk as done: after a crash, finished
 * chunks are not read again and unfinished ones are read from scratch.
 *
 * The source supplies the key splitting and the chunk reading (SQL
 * differs per database); this module owns the split state
 * (coordinator.c), the merge (merge.c), the checkpoint state
 * (state_json.c) and the progress reporting (progress.c); boundary.h is
 * how the changelog reader meets it at transaction ends, reader_pool.h
 * runs the chunk readers. Memory is bounded by
 * parallelism x chunk size: readers wait while that many chunks are read
 * but not yet merged.
 */
#ifndef SL_SNAPSHOT_H
#define SL_SNAPSHOT_H

#include <pthread.h>
#include <stdint.h>

#include "../core/emitter.h"
#include "../core/err.h"
#include "../core/schema.h"
#include "touch_log.h"

/* A half-open key range [lo, hi) of one table. Bounds are JSON arrays of
 * encoded key parts (see sl_snap_bound_*), NULL = unbounded. */
typedef struct sl_snap_chunk {
    uint32_t table;
    uint32_t seq;
    char *lo, *hi;
    sl_pos lower_bound; /* the chunk's snapshot position is at least this */
} sl_snap_chunk;

typedef struct sl_snap_table {
    char *name;                   /* db.table */
    const sl_table_schema *schema;
    int *key_cols;                /* chunk key: PK or the configured column */
    int nkey;
    char *next_lo;                /* start of the next unassigned chunk; NULL = table start */
    int exhausted;                /* every chunk assigned */
    int done;                     /* every chunk merged */
    int announced;                /* its schema event went out */
    int rows_emitted;             /* one of its rows went out */
    int truncated;                /* the changelog truncated it at truncated_at */
    sl_pos truncated_at;
    int reshaped;                 /* the changelog showed a new shape (schema) at reshaped_at */
    sl_pos reshaped_at;
    uint32_t next_seq;
    uint64_t est_rows, rows_done, chunks_done;
    /* arithmetic splitting of an evenly distributed integer key */
    int arith;
    int64_t arith_next, arith_max, arith_step;
} sl_snap_table;

typedef struct sl_snap_result sl_snap_result;

typedef struct sl_snapshot {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    sl_snap_table *tables;
    uint32_t ntables;
    uint32_t *index;         /* open-addressing hash of table names: slot = table + 1 */
    size_t index_cap;
    uint32_t cur_table;      /* tables are split one after another */
    size_t chunk_size;
    int parallelism;
    /* chunks to read again first (in flight at the last checkpoint) */
    sl_snap_chunk *reread;
    size_t nreread, reread_cap;
    /* assigned and not merged */
    sl_snap_chunk *inflight;
    size_t ninflight, inflight_cap;
    sl_snap_result *results; /* read, waiting for the changelog reader */
    size_t nresults;         /* changed under mu; read without it by the reader (sl_snapshot_waiting) */
    /* reached by the reader but held back (still in flight): a table's
     * newest non-empty chunk until the next one shows whether its last
     * row is the table's last (source.snapshot last_in_data_collection),
     * and the newest finished table's last chunk until the snapshot's last
     * row is known (last). At most one per table, plus one. */
    sl_snap_result *held;
    int rows_emitted;        /* a snapshot row went out (the next is not `first`) */
    sl_pos max_seen;         /* newest snapshot position seen: lower bound for new chunks */
    int failed;
    int single_position;     /* every chunk is read at the same position (one exported snapshot) */
    /* under the emitter lock: shared with the changelog reader */
    sl_touch_log touches;
    sl_pos reader_pos;       /* changelog reader's position between transactions */
    int have_reader_pos;
    char *pos_json;          /* the reader's position token, without snapshot state */
    char *state_json;        /* cached snapshot state */
    int state_dirty;
    /* progress */
    int64_t started_ms, last_progress_ms;
    struct sl_metrics *metrics; /* the run's (sl_source_env.metrics), or NULL */
} sl_snapshot;

/* Chunks read and waiting for the changelog reader. The reader polls this
 * between events without taking mu (ThreadSanitizer: a plain read raced
 * with the readers' submits), so every access to nresults is atomic. */
static inline size_t sl_snapshot_waiting(const sl_snapshot *s) { return __atomic_load_n(&s->nresults, __ATOMIC_ACQUIRE); }
static inline void sl_snapshot_count_results(sl_snapshot *s, long d)
{
    __atomic_add_fetch(&s->nresults, (size_t)d, __ATOMIC_RELEASE);
}

int sl_snapshot_init(sl_snapshot *s, size_t chunk_size, int parallelism, sl_pos start);
void sl_snapshot_free(sl_snapshot *s);
/* Registers a table (before any reader starts). schema is owned elsewhere. */
int sl_snapshot_add_table(sl_snapshot *s, const char *name, const sl_table_schema *schema, const int *key_cols,
                          int nkey, uint64_t est_rows, sl_err *err);
/* Restores split state from a checkpoint's "snapshot" object (JSON text);
 * tables not named there start from scratch. */
int sl_snapshot_restore(sl_snapshot *s, const char *state_json, sl_err *err);
int sl_snapshot_find_table(const sl_snapshot *s, const char *name);

/* Reader side. next_chunk returns 1 with a chunk (caller owns its strings
 * until submit/abandon), 0 when nothing is left, <0 on failure elsewhere.
 * split(cb) computes the chunk's upper bound on the reader's connection. */
typedef int (*sl_snap_split_fn)(void *ctx, sl_snap_table *t, const char *lo, char **hi, sl_err *err);
int sl_snapshot_next_chunk(sl_snapshot *s, sl_snap_chunk *c, sl_snap_split_fn split, void *ctx, sl_err *err);
/* The same without waiting: 0 also when the memory bound is reached or no
 * chunk went out yet. A reader that reads several chunks per round trip
 * takes the later ones so. */
int sl_snapshot_more_chunk(sl_snapshot *s, sl_snap_chunk *c, sl_snap_split_fn split, void *ctx, sl_err *err);
/* Waits until fewer than `parallelism` chunks wait for the merge (the
 * memory bound next_chunk keeps), before such a later chunk is read; -1
 * once the snapshot failed. */
int sl_snapshot_wait_room(sl_snapshot *s);
/* Hands over a chunk read at position at; rows are 'r' events in batch
 * (ownership passes). */
int sl_snapshot_submit(sl_snapshot *s, sl_snap_chunk *c, sl_pos at, sl_batch *batch, sl_err *err);
/* Hands over a chunk read somewhere between two changelog positions, the
 * low watermark `low` (taken before the read) and the high watermark `high`
 * (taken after it), when no exact read position is known: the chunk waits
 * until the reader stands at or past `high`, and every key the reader
 * touched at or after `low` is dropped from it. Those keys' changes in the
 * window already went out in the stream, ahead of the chunk, so what
 * remains of the chunk is exact at the reader's position: the chunk with
 * the window's changes applied, minus rows the stream already carries.
 * Untouched keys did not change in [low, reader], so the read saw them as
 * they are there. */
int sl_snapshot_submit_window(sl_snapshot *s, sl_snap_chunk *c, sl_pos low, sl_pos high, sl_batch *batch,
                              sl_err *err);
/* A chunk could not be read: put it back for another try. */
void sl_snapshot_abandon(sl_snapshot *s, sl_snap_chunk *c);
void sl_snapshot_fail(sl_snapshot *s);
int sl_snapshot_complete(sl_snapshot *s); /* every table done */

/* Changelog reader side, all under the emitter lock. */
/* A captured change at pos on a table: records its keys when the table is
 * still being snapshotted. */
int sl_snapshot_touch(sl_snapshot *s, const sl_table_schema *schema, sl_pos pos, const sl_value *before,
                      const sl_value *after);
/* The changelog truncated a table at pos: chunks read before pos are
 * stale as a whole (a per-key touch cannot say so). */
void sl_snapshot_truncate(sl_snapshot *s, const sl_table_schema *schema, sl_pos pos);
/* The changelog showed a new shape of a table at pos (ALTER TABLE):
 * chunks read before pos are read again, since their rows have the old
 * shape, and chunks are read as `now` from here on (the table's schema).
 * A source reading chunks compares their shape with sl_snapshot_schema
 * and reads again until they agree. */
void sl_snapshot_reshape(sl_snapshot *s, const sl_table_schema *now, sl_pos pos);
/* The schema a table's chunks are read as now (reader side). */
const sl_table_schema *sl_snapshot_schema(sl_snapshot *s, uint32_t table);
/* The reader is between transactions at pos; pos_json is its token. */
int sl_snapshot_at(sl_snapshot *s, sl_pos pos, const char *pos_json);
/* Emits every waiting chunk the reader has reached. Takes the emitter lock
 * unless the caller holds it. */
int sl_snapshot_merge(sl_snapshot *s, sl_emitter *out, sl_err *err);
/* Token = pos_json with "snapshot": state spliced in; malloc'd. */
char *sl_snapshot_token(sl_snapshot *s, const char *pos_json);
/* 1 if the schema event of this table must go out before its first event */
int sl_snapshot_take_announce(sl_snapshot *s, const sl_table_schema *schema);

/* Key bound encoding: each part is "n:<digits>", "s:<utf8 text>" or "x:<hex bytes>". */
char *sl_snap_bound_from_row(const sl_table_schema *schema, const int *key_cols, int nkey, const sl_value *row);

#endif
