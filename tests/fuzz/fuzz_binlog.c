/* fuzz_binlog.c — libFuzzer harness for the binlog event decoder.
 *
 * Input: events as the reader meets them, each framed [type:1][len:2 LE]
 * [body:len] (the body after the 19-byte header, without the checksum):
 * FORMAT_DESCRIPTION sets the server flavour, TABLE_MAP replaces the
 * current schema, ROWS events decode every row against it and render each
 * value as the sinks do, QUERY and GTID events are parsed. Seeds are
 * captured from a real MariaDB by capture_seeds.py. Each body is copied
 * into a buffer of exactly its size so ASan sees any read past it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/arena.h"
#include "../../core/buf.h"
#include "../../core/envelope.h"
#include "../../core/log.h"
#include "../../sources/mysql/binlog_decode.h"

enum { EV_QUERY = 2, EV_FORMAT = 15, EV_TABLE_MAP = 19, EV_GTID_MYSQL = 33, EV_GTID_MARIADB = 162 };

static int is_rows(int t) { return (t >= 23 && t <= 25) || (t >= 30 && t <= 32) || (t >= 166 && t <= 171); }

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_log_init(SL_LOG_ERROR);
    sl_mysql_server srv = {1, 101100};
    sl_mysql_iconv_cache ic = {0};
    sl_mysql_decode_opts o = {.zero_date = (int)(size & 1), .iconv = &ic};
    sl_table_schema *sc = NULL;
    sl_buf out;
    sl_buf_init(&out);
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
        if (type == EV_FORMAT && len >= 52) {
            sl_mysql_server_parse((const char *)body + 2, 50, &srv);
        } else if (type == EV_TABLE_MAP) {
            uint64_t id;
            sl_err err;
            sl_table_schema *next = NULL;
            char db[256], table[256];
            sl_mysql_table_map_names(body, len, db, table);
            if (!sl_mysql_parse_table_map(body, len, &srv, &id, &next, &err)) {
                sl_schema_free(sc);
                sc = next;
            }
        } else if (is_rows(type) && sc) {
            decode_rows(type, body, len, sc, &o, &out);
        } else if (type == EV_QUERY) {
            sl_mysql_query q;
            sl_mysql_query_parse(body, len, &q);
        } else if (type == EV_GTID_MARIADB) {
            char g[64];
            int standalone;
            sl_mysql_gtid_mariadb(body, len, 1, g, sizeof g, &standalone);
        } else if (type == EV_GTID_MYSQL) {
            char g[64];
            sl_mysql_gtid_text(body, len, g, sizeof g);
        }
        free(body);
    }
    sl_schema_free(sc);
    sl_mysql_iconv_cache_free(&ic);
    sl_buf_free(&out);
    return 0;
}
