/* ch_sender.c — the thread that sends the sink's blocks, so that the sink
 * keeps taking events (and the source keeps reading) while the server
 * inserts: the limit is then the server, not the sum of both.
 *
 * One FIFO of blocks, at most two of them in flight (one being sent, one
 * waiting), over a connection of its own. Order matters only where the
 * sink says so: before a checkpoint row, an ALTER or a TRUNCATE's DELETE the
 * sink drains the queue (ch_sender_drain), which also returns the first
 * failure. After a failure the thread drops what is queued: the epoch is
 * replayed or the pipeline stops anyway, and the blocks carry their
 * deduplication tokens. The message of a refused block names its table, its
 * source positions and, when the server names a row, that row's key; the
 * table's columns are stable while blocks of it are queued, as only an
 * ALTER (after a drain) changes them.
 */
#define SL_LOG_COMPONENT "clickhouse sink"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/clock.h"
#include "../../core/envelope.h"
#include "../../core/log.h"
#include "ch_sink.h"

enum { MAX_QUEUED = 2 };

static void job_free(ch_job *j)
{
    if (!j)
        return;
    free(j->sql);
    sl_buf_free(&j->body);
    free(j);
}

/* "(at row N)" in a server message: the 1-based row of the block */
static long row_in_message(const char *msg)
{
    const char *p = strstr(msg, "at row ");
    return p ? atol(p + 7) : 0;
}

/* the ORDER BY values of the block's row-th row (1-based), as JSON */
static void block_key(const ch_job *j, long row, sl_buf *out)
{
    const ch_binding *bd = j->bind;
    const ch_table *t = j->table;
    if (!bd || row < 1)
        return;
    sl_arena a;
    sl_arena_init(&a);
    const uint8_t *p = (const uint8_t *)j->body.data, *end = p + j->body.len;
    for (long r = 1; r <= row && p <= end; r++) {
        int first = 1;
        for (int w = 0; w < bd->nw; w++) {
            const ch_col *col = &t->cols[bd->w_col[w]];
            sl_column c = {0};
            c.kind = col->kind;
            c.scale = col->n;
            sl_value v;
            if (ch_rb_read(&p, end, &col->type, &c, &a, &v)) {
                sl_buf_reset(out);
                sl_arena_free(&a);
                return;
            }
            if (r == row && bd->w_key[w]) {
                sl_buf_adds(out, first ? "{" : ",");
                first = 0;
                sl_json_string(out, col->name, strlen(col->name));
                sl_buf_addc(out, ':');
                sl_json_value(out, &c, &v);
            }
        }
        if (r == row && !first)
            sl_buf_addc(out, '}');
        p += 17; /* _version, _is_deleted */
    }
    sl_arena_free(&a);
}

static int send_job(ch_sender *s, const ch_job *j, sl_err *err)
{
    int64_t t0 = sl_mono_ms();
    int rc = ch_http_query(&s->http, j->sql, NULL, j->body.data, j->body.len, s->http.retry_timeout_ms, err);
    int64_t ms = sl_mono_ms() - t0;
    pthread_mutex_lock(&s->mu);
    s->insert_ms += ms;
    if (!rc) {
        s->blocks++;
        s->rows += j->rows;
        s->bytes += j->body.len;
    }
    pthread_mutex_unlock(&s->mu);
    if (!rc)
        return 0;
    sl_buf key, pa, pb;
    sl_buf_init(&key);
    sl_buf_init(&pa);
    sl_buf_init(&pb);
    if (rc == SL_ERUNTIME)
        block_key(j, row_in_message(err->msg), &key);
    sl_buf_addc(&key, 0);
    ch_pos_text(&pa, j->first);
    ch_pos_text(&pb, j->last);
    sl_buf_addc(&pa, 0);
    sl_buf_addc(&pb, 0);
    if (key.data && key.data[0])
        sl_err_prefix(err, rc,
                      SL_LOG_PREFIX "inserting %zu rows into %s (source positions %s to %s), the row with key %s: ",
                      j->rows, j->table->display, pa.data ? pa.data : "", pb.data ? pb.data : "", key.data);
    else
        sl_err_prefix(err, rc, SL_LOG_PREFIX "inserting %zu rows into %s (source positions %s to %s): ", j->rows,
                      j->table->display, pa.data ? pa.data : "", pb.data ? pb.data : "");
    sl_buf_free(&key);
    sl_buf_free(&pa);
    sl_buf_free(&pb);
    return rc;
}

static void *sender_main(void *arg)
{
    ch_sender *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->head && !s->stop)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->stop)
            break;
        ch_job *j = s->head;
        pthread_mutex_unlock(&s->mu);
        sl_err err;
        int rc = s->failed ? 0 : send_job(s, j, &err);
        pthread_mutex_lock(&s->mu);
        if (rc && !s->failed) {
            s->failed = rc;
            s->err = err;
        }
        s->head = j->next;
        if (!s->head)
            s->tail = NULL;
        s->queued--;
        job_free(j);
        pthread_cond_broadcast(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int ch_sender_start(ch_sender *s, const sl_options *o, sl_err *err)
{
    memset(s, 0, sizeof *s);
    int rc = ch_http_init(&s->http, o, err);
    if (rc)
        return rc;
    if (pthread_mutex_init(&s->mu, NULL) || pthread_cond_init(&s->cv, NULL))
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "cannot set up the sender");
    if (pthread_create(&s->thread, NULL, sender_main, s))
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "cannot start the sender thread");
    s->running = 1;
    return 0;
}

int ch_sender_push(ch_sender *s, ch_job *j, sl_err *err)
{
    pthread_mutex_lock(&s->mu);
    while (s->queued >= MAX_QUEUED && !s->failed)
        pthread_cond_wait(&s->cv, &s->mu);
    int rc = s->failed;
    if (rc) {
        *err = s->err;
        pthread_mutex_unlock(&s->mu);
        job_free(j);
        return rc;
    }
    j->next = NULL;
    if (s->tail)
        s->tail->next = j;
    else
        s->head = j;
    s->tail = j;
    s->queued++;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

int ch_sender_drain(ch_sender *s, sl_err *err)
{
    if (!s->running)
        return 0;
    pthread_mutex_lock(&s->mu);
    while (s->queued > 0)
        pthread_cond_wait(&s->cv, &s->mu);
    int rc = s->failed;
    if (rc)
        *err = s->err;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void ch_sender_stop(ch_sender *s)
{
    if (s->running) {
        pthread_mutex_lock(&s->mu);
        s->stop = 1;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
        /* what never went out: the next run replays it */
        while (s->head) {
            ch_job *j = s->head;
            s->head = j->next;
            job_free(j);
        }
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
        s->running = 0;
    }
    ch_http_free(&s->http);
}
