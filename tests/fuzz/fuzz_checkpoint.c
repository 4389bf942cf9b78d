/* fuzz_checkpoint.c — libFuzzer harness for what a resume reads back: the
 * checkpoint JSON (pipeline name, source token, source identity), the
 * mysql and postgres positions inside the token, and the snapshot split
 * state, which then drives a few chunk splits of an integer key that ends
 * at INT64_MAX (arithmetic splitting must not overflow there).
 * Input: the checkpoint text. Seeds: checkpoints written by real runs
 * against MariaDB and PostgreSQL (capture_seeds.py).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/log.h"
#include "../../pipeline/runtime.h"
#include "../../snapshot/coordinator.h"
#include "../../snapshot/snapshot.h"
#include "../../snapshot/split_setup.h"
#include "../../sources/mysql/mysql_source.h"
#include "../../sources/postgres/pg_source.h"
#include "../../sources/source_identity.h"

static int no_split(void *ctx, sl_snap_table *t, const char *lo, char **hi, sl_err *err)
{
    *hi = NULL;
    return 0;
}

static void snapshot_state(const char *state)
{
    sl_snapshot s;
    sl_err err;
    if (sl_snapshot_init(&s, 1000, 2, (sl_pos){0, 0, 0}))
        return;
    sl_table_schema *sc = sl_schema_new("db", NULL, "t", 1);
    sc->cols[0].name = strdup("id");
    sc->cols[0].type_name = strdup("bigint");
    sc->cols[0].kind = SL_INT;
    int key = 0;
    if (!sl_snapshot_add_table(&s, "db.t", sc, &key, 1, 5001, &err)) {
        sl_split_try_arith(&s, &s.tables[0], INT64_MAX - 5000, INT64_MAX, 5001);
        if (!sl_snapshot_restore(&s, state, &err)) {
            sl_snap_chunk c;
            for (int i = 0; i < 8 && sl_snapshot_next_chunk(&s, &c, no_split, NULL, &err) == 1; i++)
                sl_snap_chunk_free(&c);
        }
    }
    sl_snapshot_free(&s);
    sl_schema_free(sc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_log_init(SL_LOG_ERROR);
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    sl_checkpoint_info info;
    sl_err err;
    if (sl_checkpoint_parse(text, &info, &err) == 0) {
        sl_mysql_pos pos;
        sl_mysql_pos_parse(info.token, &pos, &err);
        json_error_t je;
        json_t *tok = json_loads(info.token, JSON_DECODE_ANY, &je);
        const char *lsn = json_string_value(json_object_get(tok, "lsn"));
        uint64_t l;
        if (lsn)
            sl_pg_lsn_parse(lsn, &l);
        json_t *st = json_object_get(tok, "snapshot");
        char *state = st ? json_dumps(st, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        if (state)
            snapshot_state(state);
        free(state);
        json_decref(tok);
        sl_identity_check(info.identity, "{\"server_uuid\":\"a\",\"server_id\":\"1\"}", "fuzz", "h", 1, "p", &err);
        sl_checkpoint_info_free(&info);
    }
    free(text);
    return 0;
}
