/* fuzz_binlog.c — libFuzzer harness for the binlog event decoder.
 *
 * Input: events as the reader meets them, each framed [type:1][len:2 LE]
 * [body:len] (the body after the 19-byte header, without the checksum):
 * FORMAT_DESCRIPTION sets the server flavour, TABLE_MAP replaces the
 * current schema, ROWS events decode every row against it and render each
 * value as the sinks do, QUERY and GTID events (MariaDB's, MySQL's and
 * MySQL's tagged ones) are parsed (a PARTIAL_UPDATE_ROWS_EVENT applies
 * its JSON diffs); a TRANSACTION_PAYLOAD_EVENT (MySQL 8's
 * compressed transaction) is inflated and each event inside it goes the
 * same way. Seeds are captured from a real MariaDB by capture_seeds.py,
 * plus MySQL 8 events built from MySQL's formats by mysql8_seeds.py.
 * Each body is copied into a buffer of exactly its size so ASan sees any
 * read past it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/arena.h"
#include "../../core/buf.h"
#include "../../core/envelope.h"
#include "../../core/log.h"
#include "../../sources/mysql/binlog_decode.h"

enum { EV_QUERY = 2, EV_FORMAT = 15, EV_TABLE_MAP = 19, EV_GTID_MYSQL = 33, EV_PAYLOAD = 40, EV_GTID_TAGGED = 42,
       EV_GTID_MARIADB = 162 };

/* 39: MySQL 8's PARTIAL_UPDATE_ROWS_EVENT (JSON diffs, json_diff.c) */
static int is_rows(int t) { return (t >= 23 && t <= 25) || (t >= 30 && t <= 32) || t == 39 || (t >= 166 && t <= 171); }

static void decode_rows(int type, const uint8_t *body, size_t len, const sl_table_schema *sc,
                        const sl_mysql_decode_opts *o, sl_buf *out)
{
    sl_mysql_rows it;
    sl_err err;
    if (sl_mysql_rows_open(&it, type, body, len, sc, o, &err))
        return;
    sl_arena a;
    sl_arena_init(&a);
    for (int row = 0; row < 4096; row++) {
        sl_value *before = NULL, *after = NULL;
        if (sl_mysql_rows_next(&it, &a, &before, &after, &err) <= 0)
            break;
        for (int i = 0; i < sc->ncols; i++) {
            sl_buf_reset(out);
            if (before)
                sl_json_value(out, &sc->cols[i], &before[i]);
            if (after)
                sl_json_value(out, &sc->cols[i], &after[i]);
        }
    }
    sl_arena_free(&a);
}

typedef struct state {
    sl_mysql_server srv;
    sl_mysql_decode_opts o;
    sl_table_schema *sc;
    sl_buf out;
    sl_mysql_payload_reader payload;
} state;

static void one_event(state *st, int type, const uint8_t *body, size_t len)
{
    if (type == EV_FORMAT && len >= 52) {
        sl_mysql_server_parse((const char *)body + 2, 50, &st->srv);
    } else if (type == EV_TABLE_MAP) {
        uint64_t id;
        sl_err err;
        sl_table_schema *next = NULL;
        char db[256], table[256];
        sl_mysql_table_map_names(body, len, db, table);
        if (!sl_mysql_parse_table_map(body, len, &st->srv, &id, &next, &err)) {
            sl_schema_free(st->sc);
            st->sc = next;
        }
    } else if (is_rows(type) && st->sc) {
        decode_rows(type, body, len, st->sc, &st->o, &st->out);
    } else if (type == EV_QUERY) {
        sl_mysql_query q;
        char xid[SL_XID_TEXT_MAX];
        if (sl_mysql_query_parse(body, len, &q) == 0)
            sl_mysql_xa_statement_xid(q.sql, q.len, xid, sizeof xid);
    } else if (type == 38) { /* XA_PREPARE_LOG_EVENT */
        char xid[SL_XID_TEXT_MAX];
        int one_phase;
        sl_mysql_xa_prepare_xid(body, len, &one_phase, xid, sizeof xid);
    } else if (type == EV_GTID_MARIADB) {
        char g[64];
        int standalone;
        sl_mysql_gtid_mariadb(body, len, 1, g, sizeof g, &standalone);
    } else if (type == EV_GTID_MYSQL) {
        char g[64];
        sl_mysql_gtid_text(body, len, g, sizeof g);
    } else if (type == EV_GTID_TAGGED) {
        char g[128];
        sl_mysql_gtid_tagged_text(body, len, g, sizeof g);
    } else if (type == EV_PAYLOAD) {
        /* the reader refuses a payload inside a payload: no recursion */
        sl_err err;
        const uint8_t *ev;
        size_t evlen;
        if (sl_mysql_payload_open(&st->payload, body, len, &err))
            return;
        for (int n = 0; n < 4096 && sl_mysql_payload_next(&st->payload, &ev, &evlen, &err) == 1; n++) {
            /* as the stream reads it: the inner event's own bytes only */
            uint8_t *inner = malloc(evlen - 19 ? evlen - 19 : 1);
            if (!inner)
                return;
            memcpy(inner, ev + 19, evlen - 19);
            one_event(st, ev[4], inner, evlen - 19);
            free(inner);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_log_init(SL_LOG_ERROR);
    sl_mysql_iconv_cache ic = {0};
    state st = {.srv = {1, 101100}, .o = {.zero_date = (int)(size & 1), .iconv = &ic}};
    sl_buf_init(&st.out);
    /* inner events are bounded far below the server's 1 GiB, so a run
     * stays inside libFuzzer's memory limit */
    sl_mysql_payload_init(&st.payload, 1 << 20);
    while (size >= 3) {
        int type = data[0];
        size_t len = (size_t)data[1] | (size_t)data[2] << 8;
        data += 3, size -= 3;
        if (len > size)
            len = size;
        uint8_t *body = malloc(len ? len : 1);
        if (!body)
            break;
        memcpy(body, data, len);
        data += len, size -= len;
        one_event(&st, type, body, len);
        free(body);
    }
    sl_schema_free(st.sc);
    sl_mysql_iconv_cache_free(&ic);
    sl_buf_free(&st.out);
    sl_mysql_payload_free(&st.payload);
    return 0;
}
