/* mem_plugins.h — a memory source and a memory sink, test plugins for
 * running the real runtime in-process (Fluent Bit's in_lib / out_lib).
 *
 * The source plays a scripted list of transactions through the real
 * sl_emitter API; the sink keeps what it was given in memory. Both can
 * inject failures and block at chosen points, so a test can drive the
 * runtime's commit, abort, retry and stop paths without a server. Neither
 * is compiled into the sluice binary.
 *
 * What survives a restart lives outside the plugins: the test owns a
 * mem_script and a mem_store and passes their addresses as the options
 * `script` and `store` (mem_config_init does this), so a retried or second
 * run finds the same script, the sink's committed data and its checkpoint.
 *
 * Event identity: event j of transaction i carries the row (tx=i, seq=j,
 * pad) and position (hi=i+1, lo=0, idx=j). The boundary after transaction i
 * has the resume token {"tx":i+1}: resuming from it plays transaction i+1.
 */
#ifndef SL_TEST_MEM_PLUGINS_H
#define SL_TEST_MEM_PLUGINS_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>

#include "../../pipeline/config.h"

/* A place where a plugin waits until the test opens it (or, for the source,
 * until the runtime stops or interrupts it). */
typedef struct mem_gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int entered; /* times a plugin arrived here */
    int open;
} mem_gate;

/* Waits until the gate was entered at least n times; 0, or -1 after
 * timeout_ms. */
int mem_gate_wait_entered(mem_gate *g, int n, int timeout_ms);
void mem_gate_open(mem_gate *g);

/* What the plugins tell one journal, in the order it happened. */
typedef enum mem_what {
    MEM_RUN,          /* source run() started; token = resume or "" */
    MEM_WRITE,        /* sink write(); n = events */
    MEM_COMMIT,       /* sink commit() made the epoch durable; token = source token */
    MEM_COMMIT_FAIL,  /* sink commit() failed (injected) */
    MEM_ABORT,        /* sink abort(); n = events forgotten */
    MEM_COMMITTED,    /* source committed(token) */
} mem_what;

typedef struct mem_entry {
    mem_what what;
    size_t n;
    char token[48];
} mem_entry;

/* A failure or stop point: the source before it emits event seq of
 * transaction tx; active while times > 0 (each hit takes one). */
typedef struct mem_at {
    int tx, seq, times;
    int code;      /* failure: what run() returns (SL_ERETRY, SL_ERUNTIME) */
    mem_gate gate; /* block: where it waits */
} mem_at;

typedef struct mem_script {
    /* the transactions: ntx of them, sizes[i] events each (tx_size when
     * sizes is NULL); a size may be 0 (a boundary without events) */
    int ntx;
    const int *sizes;
    int tx_size;
    /* tables as "db.table"; transaction i writes tables[i % ntables]
     * (default "db.t") */
    const char *const *tables;
    size_t ntables;
    size_t pad_bytes;  /* text payload per event, to fill batches */
    int flush_every;   /* push after every n-th event of a transaction */
    int push_every_tx; /* push the batch after every n-th boundary (1: each) */
    int tx_gap_us;     /* wait between transactions (a server's pace) */
    int end_of_stream; /* end with sl_emit_end (a bounded run); else idle until stopped */
    mem_at fail;       /* run() returns fail.code here */
    mem_at block[2];   /* run() waits here until the gate opens or it is stopped */

    /* records, written by the source (read them once the run is over) */
    int runs;
    long emitted;           /* events over all runs */
    size_t max_queue_bytes; /* largest queue seen right after an emit call */
    size_t max_queue_batches;
    struct mem_journal *journal;
} mem_script;

typedef struct mem_event {
    int tx, seq;
    char op;
    char table[64];  /* qualified source name */
    char target[96]; /* sl_route_target's name for it */
} mem_event;

typedef struct mem_commit_rec {
    size_t events;  /* committed events after this commit (cumulative) */
    char token[48]; /* the checkpoint's source token */
} mem_commit_rec;

typedef struct mem_store {
    /* durable: what a restarted run finds */
    mem_event *committed;
    size_t ncommitted, ccap;
    char *checkpoint; /* last committed checkpoint, as the runtime gave it */
    mem_commit_rec *commits;
    size_t ncommits, kcap;

    /* the open epoch of the current run */
    mem_event *pending;
    size_t npending, pcap;

    /* failure injection, counting calls over every run (1 = the first) */
    int fail_commit_at, fail_commit_code;
    int fail_write_at, fail_write_code;
    int block_commit_at; /* commit waits at commit_gate before it completes */
    mem_gate commit_gate;
    int write_delay_us;  /* a slow sink */

    /* the pipelined sink (mem_sink_pipelined_plugin): the epoch whose
     * commit is in flight, and how many times commit_done(wait = 0)
     * answers "not yet" for each commit */
    mem_event *inflight;
    size_t ninflight, icap;
    char *inflight_ck;
    int inflight_call;
    int inflight_polls, inflight_polls_left;

    /* records */
    int creates, loads, write_calls, commit_calls, aborts;
    int writes_in_flight;  /* write() calls while a commit was in flight */
    int aborts_in_flight;  /* abort() while one was (the runtime must settle it first) */
    int mid_tx_writes;       /* batches written that ended inside a transaction */
    size_t aborted_events;   /* pending events forgotten by abort() */
    size_t dropped_events;   /* pending events left at destroy (must stay 0) */
    size_t max_batch_bytes;  /* largest batch written */
    struct mem_journal *journal;
} mem_store;

typedef struct mem_journal {
    pthread_mutex_t mu;
    mem_entry *items;
    size_t n, cap;
} mem_journal;

extern const sl_source_plugin mem_source_plugin;
extern const sl_sink_plugin mem_sink_plugin;
/* the same sink with commit_start/commit_done: the commit completes in
 * commit_done, after inflight_polls polls, while write() goes on */
extern const sl_sink_plugin mem_sink_pipelined_plugin;

void mem_journal_init(mem_journal *j);
void mem_journal_free(mem_journal *j);
void mem_script_init(mem_script *s, mem_journal *j);
void mem_script_free(mem_script *s);
void mem_store_init(mem_store *s, mem_journal *j);
void mem_store_free(mem_store *s);

/* events of transactions [0, tx) of the script */
size_t mem_script_events_before(const mem_script *s, int tx);
int mem_script_tx_size(const mem_script *s, int tx);

/* A config around the memory plugins: the pipeline options come in
 * key/value pairs ending with NULL (name, checkpoint.interval, ...). */
int mem_config_init(sl_config *cfg, mem_script *script, mem_store *store, const char *const *pipeline_kv,
                    sl_err *err);
void mem_config_free(sl_config *cfg);

#endif
