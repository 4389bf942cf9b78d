/* boundary.c — see boundary.h. */
#include "boundary.h"

#include <stdlib.h>

/* Longest position token a source writes (a MySQL GTID set is the largest). */
enum { TOKEN_MAX = 1024 };

static int format(sl_boundary *b, sl_pos pos, char *buf, sl_err *err)
{
    if (b->token(b->ctx, pos, buf, TOKEN_MAX))
        return sl_errf(err, SL_ERUNTIME, "%s: position too long for a checkpoint", b->source);
    return 0;
}

/* Under the emitter lock. */
static int stand_at(sl_boundary *b, sl_pos pos, const char *token, sl_err *err)
{
    if (sl_snapshot_at(b->snap, pos, token))
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    return 0;
}

static int merge_reached(sl_boundary *b, sl_err *err)
{
    if (b->snap && sl_snapshot_waiting(b->snap))
        return sl_snapshot_merge(b->snap, b->out, err);
    return 0;
}

int sl_boundary_start(sl_boundary *b, sl_pos pos, sl_err *err)
{
    char token[TOKEN_MAX];
    int rc = format(b, pos, token, err);
    if (rc || !b->snap)
        return rc;
    sl_emit_lock(b->out);
    rc = stand_at(b, pos, token, err);
    sl_emit_unlock(b->out);
    return rc;
}

int sl_boundary_commit(sl_boundary *b, sl_pos pos, sl_err *err)
{
    char token[TOKEN_MAX];
    int rc = format(b, pos, token, err);
    if (rc)
        return rc;
    if (b->snap) {
        /* the lock stays taken from here to the commit: the position the
         * snapshot holds and the token the commit carries are one */
        sl_emit_batch(b->out);
        if ((rc = stand_at(b, pos, token, err)))
            return rc;
        char *full = sl_snapshot_token(b->snap, token);
        if (!full)
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        rc = sl_emit_commit(b->out, pos, full);
        free(full);
    } else {
        rc = sl_emit_commit(b->out, pos, token);
    }
    if (rc)
        return sl_errf(err, SL_ERUNTIME, "%s: pipeline closed", b->source);
    return merge_reached(b, err);
}

int sl_boundary_first(sl_boundary *b, sl_pos pos, sl_err *err)
{
    int rc = sl_boundary_commit(b, pos, err);
    if (!rc && sl_emit_flush(b->out))
        rc = sl_errf(err, SL_ERUNTIME, "%s: pipeline closed", b->source);
    return rc;
}

int sl_boundary_between(sl_boundary *b, sl_pos pos, sl_err *err)
{
    if (!b->snap || !sl_snapshot_waiting(b->snap))
        return 0;
    char token[TOKEN_MAX];
    int rc = format(b, pos, token, err);
    if (rc)
        return rc;
    int took = sl_emit_hold(b->out);
    rc = stand_at(b, pos, token, err);
    sl_emit_drop(b->out, took);
    return rc ? rc : merge_reached(b, err);
}

int sl_boundary_resnapshot(sl_boundary *b, sl_pos pos, sl_err *err)
{
    if (!b->snap)
        return 0;
    sl_batch *batch = sl_emit_batch(b->out);
    if (!batch)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    for (uint32_t i = 0; i < b->snap->ntables; i++) {
        sl_event *e = sl_batch_add_event(batch, SL_OP_TRUNCATE, b->snap->tables[i].schema);
        if (!e)
            return sl_errf(err, SL_ERUNTIME, "out of memory");
        e->pos = pos;
    }
    return sl_boundary_commit(b, pos, err);
}
