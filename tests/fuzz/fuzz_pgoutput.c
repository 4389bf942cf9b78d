/* fuzz_pgoutput.c — libFuzzer harness for the pgoutput parser and the
 * PostgreSQL text value parser behind it.
 *
 * Input: pgoutput messages as XLogData payloads carry them, each framed
 * [len:2 LE][message:len]. A Relation message ('R') defines the columns
 * (their classes from the type OIDs, as the catalog would give them);
 * Insert / Update / Delete tuples are then parsed and every text column is
 * turned into a value and rendered as the sinks do; Truncate and the
 * streamed variants are read as well. Seeds come from a real PostgreSQL
 * (pg_logical_slot_peek_binary_changes) via capture_seeds.py.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/arena.h"
#include "../../core/buf.h"
#include "../../core/envelope.h"
#include "../../core/log.h"
#include "../../sources/postgres/pg_types.h"
#include "../../sources/postgres/pgoutput.h"

enum { MAXCOLS = 64 };

/* element class of the built-in array types the seeds use */
static int array_elem(uint32_t oid)
{
    switch (oid) {
    case 1000: return SL_PGV_BOOL;
    case 1001: return SL_PGV_BYTEA;
    case 1005: case 1007: case 1016: return SL_PGV_INT;
    case 1021: return SL_PGV_FLOAT4;
    case 1022: return SL_PGV_FLOAT8;
    case 1231: return SL_PGV_NUMERIC;
    case 1182: return SL_PGV_DATE;
    case 1115: return SL_PGV_TS;
    case 1185: return SL_PGV_TSTZ;
    case 199: case 3807: return SL_PGV_JSON;
    case 1009: case 1015: case 2951: return SL_PGV_TEXT;
    default: return -1;
    }
}

static sl_table_schema *schema_of(const sl_pgo_relation *rel)
{
    sl_table_schema *s = sl_schema_new("db", rel->nspname, rel->relname, rel->ncols);
    if (!s)
        return NULL;
    for (int i = 0; i < rel->ncols; i++) {
        sl_column *c = &s->cols[i];
        c->name = strdup(rel->cols[i].name);
        c->type_name = strdup("t");
        c->src_type = rel->cols[i].type_oid;
        c->src_meta = (uint32_t)rel->cols[i].typmod;
        c->nullable = 1;
        int elem = array_elem(c->src_type);
        if (elem >= 0) {
            c->conv = SL_PGV_ARRAY;
            c->charset = (uint32_t)elem;
        } else {
            c->conv = (uint8_t)(c->src_type >= 16384 ? SL_PGV_ENUM : sl_pg_builtin_class(c->src_type));
        }
        sl_pg_column_finish(c);
    }
    return s;
}

static void values(const sl_table_schema *s, const sl_pgo_tuple *t, sl_arena *a, sl_buf *out)
{
    if (!s || t->ncols != s->ncols)
        return;
    char err[300];
    for (int i = 0; i < t->ncols; i++) {
        if (t->cols[i].kind != 't')
            continue;
        sl_value v;
        if (sl_pg_text_value(&s->cols[i], t->cols[i].data, t->cols[i].len, a, &v, err, sizeof err))
            continue;
        sl_buf_reset(out);
        sl_json_value(out, &s->cols[i], &v);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_log_init(SL_LOG_ERROR);
    static sl_pgo_col ca[MAXCOLS], cb[MAXCOLS];
    static sl_pgo_relcol rc[MAXCOLS];
    sl_table_schema *sc = NULL;
    sl_arena a;
    sl_arena_init(&a);
    sl_buf out;
    sl_buf_init(&out);
    while (size >= 3) {
        size_t len = (size_t)data[0] | (size_t)data[1] << 8;
        data += 2, size -= 2;
        if (len > size)
            len = size;
        uint8_t *msg = malloc(len ? len : 1);
        if (!msg)
            break;
        memcpy(msg, data, len);
        data += len, size -= len;
        if (len) {
            sl_pgo_reader r;
            sl_pgo_init(&r, msg + 1, len - 1);
            /* the streamed variants carry an xid first; the parser is told
             * so by the caller, here by the top bit of the type byte */
            int streamed = msg[0] >> 7;
            char type = (char)(msg[0] & 0x7f);
            uint32_t xid;
            if (type == 'R') {
                sl_pgo_relation rel = {.cols = rc, .cap = MAXCOLS};
                if (!sl_pgo_relation_read(&r, streamed, &xid, &rel)) {
                    sl_schema_free(sc);
                    sc = schema_of(&rel);
                }
            } else if (type == 'I' || type == 'U' || type == 'D') {
                sl_pgo_change c = {.old_tuple = {.cols = ca, .cap = MAXCOLS},
                                   .new_tuple = {.cols = cb, .cap = MAXCOLS}};
                if (!sl_pgo_change_read(&r, type, streamed, &xid, &c)) {
                    if (c.old_kind)
                        values(sc, &c.old_tuple, &a, &out);
                    if (type != 'D')
                        values(sc, &c.new_tuple, &a, &out);
                }
            } else if (type == 'T') {
                if (streamed)
                    sl_pgo_u32(&r);
                uint32_t n = sl_pgo_u32(&r);
                sl_pgo_u8(&r);
                for (uint32_t i = 0; i < n && !r.bad; i++)
                    sl_pgo_u32(&r);
            } else if (type == 'B' || type == 'C') {
                sl_pgo_u64(&r);
                sl_pgo_u64(&r);
                sl_pgo_u32(&r);
            } else if (type == 'O' || type == 'Y') {
                sl_pgo_u32(&r);
                sl_pgo_str(&r);
            }
        }
        free(msg);
    }
    sl_schema_free(sc);
    sl_arena_free(&a);
    sl_buf_free(&out);
    return 0;
}
