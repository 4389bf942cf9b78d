/* progress.c — how far a snapshot is, for the operator: on a terminal a
 * status line redrawn twice a second, elsewhere an info line every five
 * seconds; both through core/log; and the same numbers as metrics. */
#include <inttypes.h>

#include "../core/clock.h"
#include "../core/log.h"
#include "../core/metrics.h"
#include "coordinator.h"

enum { PROGRESS_MS = 5000, PROGRESS_TTY_MS = 500 };

void sl_snap_progress(sl_snapshot *s)
{
    int64_t now = sl_mono_ms();
    int tty = sl_log_is_tty();
    if (now - s->last_progress_ms < (tty ? PROGRESS_TTY_MS : PROGRESS_MS))
        return;
    s->last_progress_ms = now;
    double secs = (double)(now - s->started_ms) / 1000.0;
    /* the table being read now: the first not done */
    for (uint32_t i = 0; i < s->ntables; i++) {
        sl_snap_table *t = &s->tables[i];
        if (t->done)
            continue;
        uint64_t total = t->est_rows / (s->chunk_size ? s->chunk_size : 1) + 1;
        if (total < t->chunks_done)
            total = t->chunks_done;
        double rate = secs > 0 ? (double)t->rows_done / secs : 0;
        double eta = rate > 0 && t->est_rows > t->rows_done ? (double)(t->est_rows - t->rows_done) / rate : 0;
        if (tty)
            sl_log_status("snapshot %s: chunks %" PRIu64 "/%" PRIu64 ", %" PRIu64 " rows, %.0f rows/s, ETA %.0fs",
                          t->name, t->chunks_done, total, t->rows_done, rate, eta);
        else
            sl_info("snapshot %s: chunks %" PRIu64 "/%" PRIu64 ", %" PRIu64 " rows, %.0f rows/s", t->name,
                    t->chunks_done, total, t->rows_done, rate);
        break;
    }
}

void sl_snap_publish(sl_snapshot *s)
{
    if (!s->metrics)
        return;
    for (uint32_t i = 0; i < s->ntables; i++) {
        sl_snap_table *t = &s->tables[i];
        uint64_t total = t->done ? t->chunks_done : t->est_rows / (s->chunk_size ? s->chunk_size : 1) + 1;
        if (total < t->chunks_done)
            total = t->chunks_done;
        const char *labels[] = {"table", t->name, NULL};
        sl_metrics_set(s->metrics, "sluice_snapshot_chunks_done", labels, (double)t->chunks_done);
        sl_metrics_set(s->metrics, "sluice_snapshot_chunks_total", labels, (double)total);
        sl_metrics_set(s->metrics, "sluice_snapshot_rows", labels, (double)t->rows_done);
    }
}
