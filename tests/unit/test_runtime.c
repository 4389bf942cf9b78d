/* test_runtime.c — the runtime's commit, abort, retry and stop paths, run
 * in-process with the memory source and sink (mem_plugins.h).
 *
 * Every test ends by comparing what the sink holds with the script: every
 * event exactly once and in order, each checkpoint cut on a transaction
 * boundary with exactly the events before it, and the source told about a
 * checkpoint only after the sink committed it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../pipeline/runtime.h"
#include "mem_plugins.h"

typedef struct world {
    mem_journal journal;
    mem_script script;
    mem_store store;
    sl_config cfg;
    volatile sig_atomic_t stop;
    sl_run_stats stats;
    sl_err err;
    int rc;
} world;

/* batches of 64KiB: several transactions fit in one, so boundaries fall
 * inside batches as well as at their ends */
static const char *const fast_pipeline[] = {"name", "memtest", "checkpoint.interval", "1ms", "batch.size", "64KiB",
                                            "queue.max-bytes", "1MiB", NULL};
/* batch.size below the arena's first block: every event is a batch of its
 * own, and every boundary comes as an empty batch carrying the token */
static const char *const tiny_batches[] = {"name", "memtest", "checkpoint.interval", "1ms", "batch.size", "4096",
                                           "queue.max-bytes", "1MiB", NULL};

static world *world_new(void)
{
    world *w = calloc(1, sizeof *w);
    if (!w)
        fail_msg("out of memory");
    mem_journal_init(&w->journal);
    mem_script_init(&w->script, &w->journal);
    mem_store_init(&w->store, &w->journal);
    return w;
}

static void world_config(world *w, const char *const *pipeline)
{
    sl_err err;
    int rc = mem_config_init(&w->cfg, &w->script, &w->store, pipeline ? pipeline : fast_pipeline, &err);
    if (rc)
        fail_msg("config: %s", err.msg);
}

static void world_free(world *w)
{
    mem_config_free(&w->cfg);
    mem_store_free(&w->store);
    mem_script_free(&w->script);
    mem_journal_free(&w->journal);
    sl_run_stats_free(&w->stats);
    free(w);
}

static int run(world *w)
{
    sl_run_stats_free(&w->stats);
    w->err.msg[0] = 0;
    w->rc = sl_pipeline_run(&w->cfg, NULL, &w->stop, &w->stats, &w->err);
    return w->rc;
}

static void *run_main(void *arg)
{
    run(arg);
    return NULL;
}

static int token_tx(const char *token)
{
    int tx = -1;
    if (sscanf(token, "{\"tx\":%d}", &tx) != 1)
        fail_msg("not a memory source token: %s", token);
    return tx;
}

/* Each checkpoint holds exactly the events of the transactions before its
 * token, in order: no epoch ends inside a transaction, and data and
 * checkpoint moved together. */
static void assert_checkpoints_on_boundaries(const world *w)
{
    const mem_store *st = &w->store;
    size_t last = 0;
    for (size_t i = 0; i < st->ncommits; i++) {
        int tx = token_tx(st->commits[i].token);
        assert_int_equal(st->commits[i].events, mem_script_events_before(&w->script, tx));
        assert_true(st->commits[i].events >= last);
        last = st->commits[i].events;
    }
    assert_int_equal(st->ncommitted, last);
    for (size_t i = 0; i < st->ncommitted; i++) {
        int tx = st->committed[i].tx;
        assert_int_equal(mem_script_events_before(&w->script, tx) + (size_t)st->committed[i].seq, i);
    }
    /* nothing written was left neither committed nor aborted */
    assert_int_equal(st->dropped_events, 0);
}

static void assert_every_event_once(const world *w)
{
    assert_checkpoints_on_boundaries(w);
    assert_int_equal(w->store.ncommitted, mem_script_events_before(&w->script, w->script.ntx));
    char want[32];
    snprintf(want, sizeof want, "{\"tx\":%d}", w->script.ntx);
    assert_true(w->store.ncommits > 0);
    assert_string_equal(w->store.commits[w->store.ncommits - 1].token, want);
}

/* committed(token) comes right after the sink committed that token, once
 * per successful commit, never for a failed one. */
static void assert_committed_after_commit(const world *w)
{
    const mem_journal *j = &w->journal;
    size_t told = 0, commits = 0;
    for (size_t i = 0; i < j->n; i++) {
        if (j->items[i].what == MEM_COMMIT)
            commits++;
        if (j->items[i].what != MEM_COMMITTED)
            continue;
        told++;
        size_t k = i;
        while (k > 0 && j->items[k - 1].what == MEM_RUN)
            k--;
        assert_true(k > 0);
        assert_int_equal(j->items[k - 1].what, MEM_COMMIT);
        assert_string_equal(j->items[k - 1].token, j->items[i].token);
    }
    assert_int_equal(told, commits);
    assert_int_equal(commits, w->store.ncommits);
}

/* the end state every test wants: the sink holds the script, once */
static void assert_exactly_once(const world *w)
{
    assert_every_event_once(w);
    assert_committed_after_commit(w);
}

/* the resume token of the n-th run (1-based), "" for none */
static const char *run_resume(const world *w, int n)
{
    for (size_t i = 0; i < w->journal.n; i++)
        if (w->journal.items[i].what == MEM_RUN && --n == 0)
            return w->journal.items[i].token;
    fail_msg("no run %d", n);
    return NULL;
}

/* the token of the last successful commit before the n-th run started */
static const char *checkpoint_before_run(const world *w, int n)
{
    const char *tok = "";
    for (size_t i = 0; i < w->journal.n; i++) {
        if (w->journal.items[i].what == MEM_RUN && --n == 0)
            return tok;
        if (w->journal.items[i].what == MEM_COMMIT)
            tok = w->journal.items[i].token;
    }
    fail_msg("no run %d", n);
    return NULL;
}

static size_t journal_count(const world *w, mem_what what)
{
    size_t n = 0;
    for (size_t i = 0; i < w->journal.n; i++)
        n += w->journal.items[i].what == what;
    return n;
}

/* waits until the sink committed token; 0, or -1 after timeout_ms */
static int wait_for_commit(world *w, const char *token, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited++) {
        pthread_mutex_lock(&w->journal.mu);
        int found = 0;
        for (size_t i = 0; i < w->journal.n && !found; i++)
            found = w->journal.items[i].what == MEM_COMMIT && strcmp(w->journal.items[i].token, token) == 0;
        pthread_mutex_unlock(&w->journal.mu);
        if (found)
            return 0;
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
    return -1;
}

/* ---- tests ---- */

static void bounded_run_commits_every_event_once(void **state)
{
    world *w = world_new();
    w->script.ntx = 20;
    w->script.tx_size = 5;
    w->script.tx_gap_us = 200;
    w->script.end_of_stream = 1;
    world_config(w, NULL);
    assert_int_equal(run(w), 0);
    assert_exactly_once(w);
    assert_int_equal(w->stats.events, 100);
    assert_int_equal(w->stats.commits, w->store.ncommits);
    assert_int_equal(w->store.aborts, 0);
    assert_string_equal(run_resume(w, 1), "");

    /* a second run resumes after the last transaction and adds nothing */
    size_t commits = w->store.ncommits;
    assert_int_equal(run(w), 0);
    assert_int_equal(w->store.loads, 2);
    assert_string_equal(run_resume(w, 2), "{\"tx\":20}");
    assert_int_equal(w->stats.events, 0);
    assert_int_equal(w->store.ncommits, commits);
    assert_every_event_once(w);
    world_free(w);
}

/* A transaction whose last event filled a batch ends in an empty batch
 * that carries only the boundary's token: that boundary must still close
 * the epoch, or a bounded run rolls its last transaction back. */
static void transaction_ending_in_a_flush_is_committed(void **state)
{
    world *w = world_new();
    w->script.ntx = 3;
    w->script.tx_size = 4;
    w->script.flush_every = 4;
    w->script.end_of_stream = 1;
    world_config(w, NULL);
    assert_int_equal(run(w), 0);
    assert_exactly_once(w);
    assert_int_equal(w->store.aborts, 0);
    world_free(w);

    /* the same with batch.size 4096, where every boundary looks like this */
    w = world_new();
    w->script.ntx = 10;
    w->script.tx_size = 3;
    w->script.tx_gap_us = 300;
    w->script.end_of_stream = 1;
    world_config(w, tiny_batches);
    assert_int_equal(run(w), 0);
    assert_exactly_once(w);
    assert_int_equal(w->store.aborts, 0);
    assert_int_equal(w->store.write_calls, 30);
    world_free(w);
}

static void epochs_end_only_on_transaction_boundaries(void **state)
{
    static const int sizes[] = {1, 7, 3, 0, 12, 2, 9, 4, 0, 0, 5, 16, 1, 1, 8, 3, 6, 11, 2, 4};
    world *w = world_new();
    w->script.ntx = 20;
    w->script.sizes = sizes;
    w->script.flush_every = 4;
    w->script.push_every_tx = 3;
    w->script.pad_bytes = 300;
    w->script.tx_gap_us = 1000;
    w->script.end_of_stream = 1;
    w->store.write_delay_us = 300;
    world_config(w, NULL);
    assert_int_equal(run(w), 0);
    assert_exactly_once(w);
    /* several epochs, and batches that ended inside a transaction after
     * the interval had run out: the commit had to wait for a boundary */
    assert_true(w->store.ncommits >= 3);
    assert_true(w->store.mid_tx_writes > 0);
    world_free(w);
}

static void large_transactions_are_never_split(void **state)
{
    static const int sizes[] = {2, 300, 1, 250, 3};
    world *w = world_new();
    w->script.ntx = 5;
    w->script.sizes = sizes;
    w->script.pad_bytes = 1000;
    w->script.tx_gap_us = 500;
    w->script.end_of_stream = 1;
    w->store.write_delay_us = 200;
    world_config(w, NULL);
    assert_int_equal(run(w), 0);
    assert_exactly_once(w);
    /* transaction 1 reached the sink in several batches, over more than
     * one checkpoint interval, and no checkpoint fell inside it */
    size_t from = mem_script_events_before(&w->script, 1), to = mem_script_events_before(&w->script, 2);
    size_t written = 0, batches = 0;
    for (size_t i = 0; i < w->journal.n; i++) {
        const mem_entry *e = &w->journal.items[i];
        if (e->what != MEM_WRITE)
            continue;
        if (written < to && written + e->n > from)
            batches++;
        written += e->n;
    }
    assert_true(batches >= 3);
    for (size_t i = 0; i < w->store.ncommits; i++)
        assert_true(w->store.commits[i].events <= from || w->store.commits[i].events >= to);
    world_free(w);
}

static void sink_commit_failing_once_restarts_from_the_checkpoint(void **state)
{
    world *w = world_new();
    w->script.ntx = 12;
    w->script.tx_size = 3;
    w->script.push_every_tx = 1;
    w->script.end_of_stream = 1;
    w->store.write_delay_us = 2000;
    w->store.fail_commit_at = 3;
    w->store.fail_commit_code = SL_ERETRY;
    world_config(w, NULL);
    assert_int_equal(run(w), 0);
    assert_int_equal(journal_count(w, MEM_COMMIT_FAIL), 1);
    assert_int_equal(w->script.runs, 2);
    assert_int_equal(w->store.aborts, 1);
    /* the second run starts at the last checkpoint the first one made */
    assert_string_equal(checkpoint_before_run(w, 2), w->store.commits[1].token);
    assert_string_equal(run_resume(w, 2), w->store.commits[1].token);
    assert_exactly_once(w);
    world_free(w);
}

/* A sink that commits pipelined (commit_start, commit_done): the runtime
 * goes on writing the next epoch while a commit is in flight, tells the
 * source of a checkpoint only once commit_done says it is durable, and
 * never starts a second commit or aborts with one in flight. */
static world *pipelined_world(int fail_commit_at)
{
    world *w = world_new();
    w->script.ntx = 40;
    w->script.tx_size = 5;
    w->script.push_every_tx = 1;
    w->script.tx_gap_us = 300;
    w->script.end_of_stream = 1;
    w->store.write_delay_us = 200;
    w->store.inflight_polls = 3;
    w->store.fail_commit_at = fail_commit_at;
    w->store.fail_commit_code = SL_ERETRY;
    world_config(w, NULL);
    w->cfg.sink_plugin = &mem_sink_pipelined_plugin;
    return w;
}

static void pipelined_commits_overlap_the_next_epoch(void **state)
{
    world *w = pipelined_world(0);
    assert_int_equal(run(w), 0);
    assert_exactly_once(w);
    assert_true(w->store.ncommits >= 3);
    assert_true(w->store.writes_in_flight > 0);
    assert_int_equal(w->store.aborts, 0);
    assert_int_equal(w->store.aborts_in_flight, 0);
    assert_int_equal(w->stats.commits, w->store.ncommits);
    world_free(w);
}

static void pipelined_commit_failing_restarts_from_the_checkpoint(void **state)
{
    world *w = pipelined_world(3);
    assert_int_equal(run(w), 0);
    assert_int_equal(journal_count(w, MEM_COMMIT_FAIL), 1);
    assert_int_equal(w->script.runs, 2);
    assert_int_equal(w->store.aborts_in_flight, 0);
    /* the second run resumes at the last commit that completed */
    assert_string_equal(run_resume(w, 2), w->store.commits[1].token);
    assert_exactly_once(w);
    world_free(w);
}

/* ten transactions of three events, one batch each; the fifth write fails */
static world *run_with_fifth_write_failing(int code)
{
    world *w = world_new();
    w->script.ntx = 10;
    w->script.tx_size = 3;
    w->script.push_every_tx = 1;
    w->script.end_of_stream = 1;
    w->store.write_delay_us = 1000;
    w->store.fail_write_at = 5;
    w->store.fail_write_code = code;
    world_config(w, NULL);
    run(w);
    return w;
}

static void sink_write_failing_once_restarts(void **state)
{
    world *w = run_with_fifth_write_failing(SL_ERETRY);
    assert_int_equal(w->rc, 0);
    assert_int_equal(w->script.runs, 2);
    assert_int_equal(w->store.aborts, 1);
    assert_string_equal(run_resume(w, 2), checkpoint_before_run(w, 2));
    assert_exactly_once(w);
    world_free(w);
}

static void sink_write_failing_hard_ends_the_run(void **state)
{
    world *w = run_with_fifth_write_failing(SL_ERUNTIME);
    assert_int_equal(w->rc, SL_ERUNTIME);
    assert_string_equal(w->err.msg, "memory sink: injected write failure (write 5)");
    assert_int_equal(w->script.runs, 1);
    assert_int_equal(w->store.aborts, 1);
    assert_checkpoints_on_boundaries(w);
    assert_committed_after_commit(w);
    assert_true(w->store.ncommitted < 30);
    world_free(w);
}

static void source_retry_mid_transaction_replays_the_open_epoch(void **state)
{
    world *w = world_new();
    w->script.ntx = 10;
    w->script.tx_size = 4;
    w->script.flush_every = 2;
    w->script.push_every_tx = 1;
    w->script.tx_gap_us = 1000;
    w->script.end_of_stream = 1;
    w->script.fail = (mem_at){.tx = 6, .seq = 3, .times = 1, .code = SL_ERETRY};
    world_config(w, NULL);
    assert_int_equal(run(w), 0);
    assert_int_equal(w->script.fail.times, 0);
    assert_int_equal(w->script.runs, 2);
    /* tx 6's first two events had reached the sink: rolled back */
    assert_int_equal(w->store.aborts, 1);
    assert_true(w->store.aborted_events >= 2);
    assert_string_equal(run_resume(w, 2), checkpoint_before_run(w, 2));
    assert_true(!*run_resume(w, 2) || token_tx(run_resume(w, 2)) <= 6);
    assert_exactly_once(w);
    world_free(w);
}

static void source_failing_hard_keeps_what_was_committed(void **state)
{
    world *w = world_new();
    w->script.ntx = 10;
    w->script.tx_size = 4;
    w->script.tx_gap_us = 300;
    w->script.end_of_stream = 1;
    w->script.fail = (mem_at){.tx = 3, .seq = 1, .times = 1, .code = SL_ERUNTIME};
    world_config(w, NULL);
    assert_int_equal(run(w), SL_ERUNTIME);
    assert_string_equal(w->err.msg, "memory source: injected failure before tx 3 event 1");
    assert_int_equal(w->script.runs, 1);
    assert_checkpoints_on_boundaries(w);
    assert_committed_after_commit(w);
    assert_true(w->store.ncommitted <= 12);
    world_free(w);
}

/* the HA commit gate (sl_run_opts.lease): grants the first `left`
 * commits, then refuses as a member that lost leadership does */
typedef struct gate {
    int left, asked;
} gate;

static int gate_lease(void *ctx, sl_err *err)
{
    gate *g = ctx;
    g->asked++;
    if (g->left-- > 0)
        return 0;
    return sl_errf(err, SL_ERUNTIME, "leadership lost (test)");
}

/* A member that can no longer prove it leads commits nothing more: the
 * refused commit rolls the open epoch back and ends the run with the gate's
 * reason, and what was committed before stands. */
static void refused_lease_rolls_back_instead_of_committing(void **state)
{
    world *w = world_new();
    w->script.ntx = 40;
    w->script.tx_size = 3;
    w->script.tx_gap_us = 500;
    w->script.end_of_stream = 1;
    world_config(w, NULL);
    gate g = {.left = 2};
    sl_run_opts ro = {.lease = gate_lease, .lease_ctx = &g};
    w->rc = sl_pipeline_run(&w->cfg, &ro, &w->stop, &w->stats, &w->err);
    assert_int_equal(w->rc, SL_ERUNTIME);
    assert_string_equal(w->err.msg, "leadership lost (test)");
    assert_int_equal(w->store.ncommits, 2);
    assert_int_equal(g.asked, 3);
    assert_int_equal(w->store.aborts, 1);
    assert_int_equal(w->script.runs, 1);
    assert_checkpoints_on_boundaries(w);
    assert_committed_after_commit(w);
    assert_true(w->store.ncommitted < 120);
    world_free(w);
}

static void stop_mid_transaction_rolls_back_the_open_epoch(void **state)
{
    world *w = world_new();
    w->script.ntx = 10;
    w->script.tx_size = 4;
    w->script.flush_every = 2;
    w->script.push_every_tx = 1;
    w->script.block[0] = (mem_at){.tx = 5, .seq = 0, .times = 1};
    w->script.block[1] = (mem_at){.tx = 5, .seq = 3, .times = 1};
    world_config(w, NULL);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, run_main, w), 0);
    /* the source waits before tx 5 until tx 0-4 are committed, then stops
     * after the sink got two of tx 5's four events */
    assert_int_equal(mem_gate_wait_entered(&w->script.block[0].gate, 1, 10000), 0);
    assert_int_equal(wait_for_commit(w, "{\"tx\":5}", 10000), 0);
    mem_gate_open(&w->script.block[0].gate);
    assert_int_equal(mem_gate_wait_entered(&w->script.block[1].gate, 1, 10000), 0);
    __atomic_store_n(&w->stop, 1, __ATOMIC_RELAXED);
    pthread_join(t, NULL);
    assert_int_equal(w->rc, 0);
    assert_int_equal(w->script.runs, 1);
    assert_int_equal(w->store.aborts, 1);
    assert_int_equal(w->store.aborted_events, 2);
    assert_string_equal(w->store.commits[w->store.ncommits - 1].token, "{\"tx\":5}");
    assert_int_equal(w->store.ncommitted, 20);
    assert_checkpoints_on_boundaries(w);
    assert_committed_after_commit(w);

    /* the next run resumes from the kept checkpoint and finishes */
    w->stop = 0;
    w->script.end_of_stream = 1;
    assert_int_equal(run(w), 0);
    assert_string_equal(run_resume(w, 2), "{\"tx\":5}");
    assert_exactly_once(w);
    world_free(w);
}

static void stop_during_a_commit_keeps_it_and_rolls_back_the_rest(void **state)
{
    world *w = world_new();
    w->script.ntx = 8;
    w->script.tx_size = 4;
    w->script.flush_every = 2;
    w->script.push_every_tx = 1;
    w->script.tx_gap_us = 300;
    w->script.block[0] = (mem_at){.tx = 3, .seq = 0, .times = 1};
    w->script.block[1] = (mem_at){.tx = 3, .seq = 3, .times = 1};
    w->store.block_commit_at = 1;
    world_config(w, NULL);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, run_main, w), 0);
    /* the sink is inside its first commit; the source then opens tx 3 and
     * stops in its middle, after two of its events were pushed */
    assert_int_equal(mem_gate_wait_entered(&w->store.commit_gate, 1, 10000), 0);
    assert_int_equal(mem_gate_wait_entered(&w->script.block[0].gate, 1, 10000), 0);
    mem_gate_open(&w->script.block[0].gate);
    assert_int_equal(mem_gate_wait_entered(&w->script.block[1].gate, 1, 10000), 0);
    __atomic_store_n(&w->stop, 1, __ATOMIC_RELAXED);
    mem_gate_open(&w->store.commit_gate);
    pthread_join(t, NULL);
    assert_int_equal(w->rc, 0);
    /* the commit in progress completed and the source heard about it */
    assert_true(w->store.ncommits >= 1);
    assert_int_equal(journal_count(w, MEM_COMMITTED), w->store.ncommits);
    /* the two events of tx 3 the sink wrote were rolled back */
    assert_int_equal(w->store.aborts, 1);
    assert_true(w->store.aborted_events >= 2);
    assert_int_equal(token_tx(w->store.commits[w->store.ncommits - 1].token) <= 3, 1);
    assert_checkpoints_on_boundaries(w);
    assert_committed_after_commit(w);

    w->stop = 0;
    w->script.end_of_stream = 1;
    assert_int_equal(run(w), 0);
    assert_exactly_once(w);
    world_free(w);
}

static void queue_stays_bounded_with_a_slow_sink(void **state)
{
    static const char *const pipeline[] = {"name", "memtest", "checkpoint.interval", "10ms", "batch.size", "64KiB",
                                           "queue.max-bytes", "1MiB", NULL};
    world *w = world_new();
    w->script.ntx = 100;
    w->script.tx_size = 80;
    w->script.pad_bytes = 1000;
    w->script.end_of_stream = 1;
    w->store.write_delay_us = 1000;
    world_config(w, pipeline);
    assert_int_equal(run(w), 0);
    assert_exactly_once(w);
    size_t limit = 1 << 20;
    print_message("queue peak %zu bytes in %zu batches (limit %zu, largest batch %zu)\n", w->script.max_queue_bytes,
                  w->script.max_queue_batches, limit, w->store.max_batch_bytes);
    /* the source ran ahead until the queue was full, and no further */
    assert_true(w->script.max_queue_bytes > limit / 2);
    assert_true(w->script.max_queue_bytes <= limit + w->store.max_batch_bytes);
    world_free(w);
}

static void routes_name_the_sink_tables(void **state)
{
    static const char *const tables[] = {"shop.orders", "shop.users", "crm.leads"};
    sl_route routes[] = {
        {.source_table = "shop.orders", .sink_table = "ods.orders_v2"},
        {.source_table = "shop.\\.*", .sink_table = "ods.<>", .replace_symbol = "<>"},
    };
    world *w = world_new();
    w->script.ntx = 6;
    w->script.tx_size = 2;
    w->script.tables = tables;
    w->script.ntables = 3;
    w->script.end_of_stream = 1;
    world_config(w, NULL);
    w->cfg.routes = routes;
    w->cfg.nroutes = 2;
    assert_int_equal(run(w), 0);
    assert_every_event_once(w);
    for (size_t i = 0; i < w->store.ncommitted; i++) {
        const mem_event *e = &w->store.committed[i];
        switch (e->tx % 3) {
        case 0:
            /* both routes match: the first one wins */
            assert_string_equal(e->table, "shop.orders");
            assert_string_equal(e->target, "ods.orders_v2");
            break;
        case 1:
            assert_string_equal(e->table, "shop.users");
            assert_string_equal(e->target, "ods.users");
            break;
        default:
            assert_string_equal(e->table, "crm.leads");
            assert_string_equal(e->target, "crm.leads");
        }
    }
    world_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bounded_run_commits_every_event_once),
        cmocka_unit_test(transaction_ending_in_a_flush_is_committed),
        cmocka_unit_test(epochs_end_only_on_transaction_boundaries),
        cmocka_unit_test(large_transactions_are_never_split),
        cmocka_unit_test(sink_commit_failing_once_restarts_from_the_checkpoint),
        cmocka_unit_test(pipelined_commits_overlap_the_next_epoch),
        cmocka_unit_test(pipelined_commit_failing_restarts_from_the_checkpoint),
        cmocka_unit_test(sink_write_failing_once_restarts),
        cmocka_unit_test(sink_write_failing_hard_ends_the_run),
        cmocka_unit_test(source_retry_mid_transaction_replays_the_open_epoch),
        cmocka_unit_test(source_failing_hard_keeps_what_was_committed),
        cmocka_unit_test(stop_mid_transaction_rolls_back_the_open_epoch),
        cmocka_unit_test(stop_during_a_commit_keeps_it_and_rolls_back_the_rest),
        cmocka_unit_test(queue_stays_bounded_with_a_slow_sink),
        cmocka_unit_test(routes_name_the_sink_tables),
        cmocka_unit_test(refused_lease_rolls_back_instead_of_committing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
