/* fuzz_pg_value.c — libFuzzer harness for the PostgreSQL COPY-text and
 * value parsers (the snapshot's COPY ... TO STDOUT lines and the text
 * each type's output function prints).
 *
 * Input: [mode:1] then text. Mode 0..127: one value of class mode % 17
 * (for arrays the element class is the next byte), typmod from the byte
 * after, then the text; 128..255: one COPY line against a table whose
 * column classes are the bytes before the first '|', the line after it.
 * Every parsed value is rendered as the sinks do. Seeds: values and COPY
 * lines captured from a real PostgreSQL by capture_seeds.py.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/arena.h"
#include "../../core/buf.h"
#include "../../core/envelope.h"
#include "../../core/log.h"
#include "../../sources/postgres/pg_snapshot.h"
#include "../../sources/postgres/pg_types.h"

enum { NCLASS = SL_PGV_ARRAY + 1, MAXCOLS = 32 };

static void column(sl_column *c, int cls, int elem, int32_t typmod)
{
    memset(c, 0, sizeof *c);
    c->name = strdup("c");
    c->type_name = strdup("t");
    c->conv = (uint8_t)cls;
    c->charset = (uint32_t)elem;
    c->src_meta = (uint32_t)typmod;
    c->nullable = 1;
    sl_pg_column_finish(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_log_init(SL_LOG_ERROR);
    if (size < 3)
        return 0;
    sl_arena a;
    sl_arena_init(&a);
    sl_buf out;
    sl_buf_init(&out);
    char err[300];
    if (data[0] < 128) {
        int cls = data[0] % NCLASS;
        int elem = data[1] % SL_PGV_ARRAY;
        /* typmods as PostgreSQL stores them: numeric (p << 16 | s) + 4,
         * time precision 0..6, or none */
        int32_t typmod = data[2] < 16 ? -1 : data[2] < 64 ? data[2] % 7 : ((data[2] % 40) << 16 | (data[2] % 8)) + 4;
        sl_table_schema *s = sl_schema_new("db", "public", "t", 1);
        column(&s->cols[0], cls, elem, typmod);
        size_t n = size - 3;
        char *text = malloc(n ? n : 1);
        memcpy(text, data + 3, n);
        sl_value v;
        if (!sl_pg_text_value(&s->cols[0], text, n, &a, &v, err, sizeof err))
            sl_json_value(&out, &s->cols[0], &v);
        free(text);
        sl_schema_free(s);
    } else {
        const uint8_t *bar = memchr(data + 1, '|', size - 1);
        int ncols = bar ? (int)(bar - data - 1) : 0;
        if (ncols < 1 || ncols > MAXCOLS)
            goto done;
        sl_table_schema *s = sl_schema_new("db", "public", "t", ncols);
        for (int i = 0; i < ncols; i++)
            column(&s->cols[i], data[1 + i] % NCLASS, data[1 + i] / NCLASS % SL_PGV_ARRAY, -1);
        size_t n = size - (size_t)(bar + 1 - data);
        char *line = malloc(n ? n : 1);
        memcpy(line, bar + 1, n);
        sl_value vals[MAXCOLS];
        if (!sl_pg_copy_row(line, n, s, &a, vals, err, sizeof err))
            for (int i = 0; i < ncols; i++)
                sl_json_value(&out, &s->cols[i], &vals[i]);
        free(line);
        sl_schema_free(s);
    }
done:
    sl_arena_free(&a);
    sl_buf_free(&out);
    return 0;
}
