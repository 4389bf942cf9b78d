/* ice_remap.c — where the rows of a rewritten file went, as one value the
 * key index keeps under the file's number (ice_index.c stores it; this
 * file only encodes it and reads positions through it).
 *
 * Why: an epoch that removed many of its own rows rewrites its file
 * without them before the commit (ice_compact_own). Moving every live
 * row's key to its new position would be one LMDB write per row, about as
 * costly as the rewrite itself. The rewrite keeps the rows' order, so a
 * row's new place follows from its old position and the removed ones: one
 * value per file instead of one write per row, and the keys keep naming
 * the old file until something else moves them.
 *
 * Layout (host order; the Parquet writer already requires little-endian):
 *   u32 version, u32 nout, i64 rows of the old file,
 *   nout x {i32 output file (-1 once gone), u32 0, i64 rows},
 *   u32 removed-rows-before for every RANK_ROWS rows,
 *   u64 words of the removed-rows bitmap.
 * A position's rank is then one table entry plus at most eight popcounts. */
#include <stdlib.h>
#include <string.h>

#include "ice_sink.h"

#define VERSION 1
#define RANK_ROWS 512
#define HEAD 16
#define OUT_SIZE 16

typedef struct view {
    uint32_t nout;
    int64_t nrows;
    const uint8_t *outs, *rank, *bits;
} view;

static uint32_t u32_at(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static int64_t i64_at(const uint8_t *p)
{
    int64_t v;
    memcpy(&v, p, 8);
    return v;
}

static uint64_t u64_at(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static size_t rank_entries(int64_t nrows) { return (size_t)((nrows + RANK_ROWS - 1) / RANK_ROWS); }
static size_t bit_words(int64_t nrows) { return (size_t)((nrows + 63) / 64); }

/* 0 and the parts of a well-formed value, -1 otherwise */
static int parse(const void *v, size_t n, view *out)
{
    const uint8_t *p = v;
    if (n < HEAD || u32_at(p) != VERSION)
        return -1;
    out->nout = u32_at(p + 4);
    out->nrows = i64_at(p + 8);
    if (out->nrows < 0 || out->nout > (1u << 20))
        return -1;
    size_t need = HEAD + (size_t)out->nout * OUT_SIZE + 4 * rank_entries(out->nrows) + 8 * bit_words(out->nrows);
    if (n != need)
        return -1;
    out->outs = p + HEAD;
    out->rank = out->outs + (size_t)out->nout * OUT_SIZE;
    out->bits = out->rank + 4 * rank_entries(out->nrows);
    return 0;
}

int ice_remap_encode(sl_buf *out, int64_t nrows, const ice_loc *dels, size_t ndel, const int32_t *files,
                     const int64_t *rows, int nout, sl_err *err)
{
    size_t nw = bit_words(nrows), nr = rank_entries(nrows);
    uint64_t *bits = calloc(nw ? nw : 1, sizeof *bits);
    if (!bits)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    for (size_t i = 0; i < ndel; i++) {
        int64_t p = dels[i].pos;
        if (p < 0 || p >= nrows) {
            free(bits);
            return sl_errf(err, SL_ERUNTIME, "rewrite map: removed row %lld is outside the file's %lld rows",
                           (long long)p, (long long)nrows);
        }
        bits[p / 64] |= 1ULL << (p % 64);
    }
    int64_t removed = 0, kept = 0;
    for (size_t i = 0; i < nw; i++)
        removed += __builtin_popcountll(bits[i]);
    for (int j = 0; j < nout; j++)
        kept += rows[j];
    if (kept != nrows - removed) {
        free(bits);
        return sl_errf(err, SL_ERUNTIME, "rewrite map: the new files hold %lld rows, the old one kept %lld",
                       (long long)kept, (long long)(nrows - removed));
    }
    uint32_t head[2] = {VERSION, (uint32_t)nout};
    sl_buf_reset(out);
    sl_buf_add(out, head, sizeof head);
    sl_buf_add(out, &nrows, 8);
    for (int j = 0; j < nout; j++) {
        uint32_t pad = 0;
        sl_buf_add(out, &files[j], 4);
        sl_buf_add(out, &pad, 4);
        sl_buf_add(out, &rows[j], 8);
    }
    uint32_t before = 0;
    for (size_t r = 0; r < nr; r++) {
        sl_buf_add(out, &before, 4);
        for (size_t w = r * (RANK_ROWS / 64); w < nw && w < (r + 1) * (RANK_ROWS / 64); w++)
            before += (uint32_t)__builtin_popcountll(bits[w]);
    }
    sl_buf_add(out, bits, nw * 8);
    free(bits);
    return out->failed ? sl_errf(err, SL_ERUNTIME, "out of memory") : 0;
}

int ice_remap_apply(const void *v, size_t n, ice_loc *loc)
{
    view m;
    if (parse(v, n, &m))
        return -1;
    int64_t p = loc->pos;
    if (p < 0 || p >= m.nrows)
        return 1;
    uint64_t w = u64_at(m.bits + 8 * (size_t)(p / 64));
    if ((w >> (p % 64)) & 1)
        return 1;
    int64_t removed = u32_at(m.rank + 4 * (size_t)(p / RANK_ROWS));
    for (int64_t i = p / RANK_ROWS * (RANK_ROWS / 64); i < p / 64; i++)
        removed += __builtin_popcountll(u64_at(m.bits + 8 * (size_t)i));
    removed += __builtin_popcountll(w & ((1ULL << (p % 64)) - 1));
    int64_t at = p - removed;
    for (uint32_t j = 0; j < m.nout; j++) {
        const uint8_t *o = m.outs + (size_t)j * OUT_SIZE;
        int64_t rows = i64_at(o + 8);
        if (at < rows) {
            int32_t id = (int32_t)u32_at(o);
            if (id < 0)
                return 1;
            *loc = (ice_loc){id, at};
            return 0;
        }
        at -= rows;
    }
    return 1;
}

int ice_remap_leads_to(const void *v, size_t n, int32_t file)
{
    view m;
    if (parse(v, n, &m))
        return -1;
    for (uint32_t j = 0; j < m.nout; j++)
        if ((int32_t)u32_at(m.outs + (size_t)j * OUT_SIZE) == file)
            return 1;
    return 0;
}

int ice_remap_forget(void *v, size_t n, int32_t file)
{
    view m;
    if (parse(v, n, &m))
        return -1;
    int live = 0;
    for (uint32_t j = 0; j < m.nout; j++) {
        uint8_t *o = (uint8_t *)m.outs + (size_t)j * OUT_SIZE;
        int32_t id = (int32_t)u32_at(o);
        if (id == file) {
            id = -1;
            memcpy(o, &id, 4);
        }
        live += id >= 0 && i64_at(o + 8) > 0;
    }
    return live;
}
