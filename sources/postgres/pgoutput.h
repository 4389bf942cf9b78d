/* pgoutput.h — the messages of PostgreSQL's pgoutput logical decoding
 * plugin (protocol versions 1 and 2), parsed from the raw bytes of one
 * XLogData payload. Parsing only: nothing here allocates or interprets
 * values; tuple columns point into the message. Layouts follow the
 * "Logical Replication Message Formats" chapter of the PostgreSQL docs.
 */
#ifndef SL_PGOUTPUT_H
#define SL_PGOUTPUT_H

#include <stddef.h>
#include <stdint.h>

typedef struct sl_pgo_reader {
    const uint8_t *p, *end;
    int bad; /* a read ran past the end or found no terminator */
} sl_pgo_reader;

void sl_pgo_init(sl_pgo_reader *r, const void *data, size_t len);
uint8_t sl_pgo_u8(sl_pgo_reader *r);
uint16_t sl_pgo_u16(sl_pgo_reader *r);
uint32_t sl_pgo_u32(sl_pgo_reader *r);
uint64_t sl_pgo_u64(sl_pgo_reader *r);
/* NUL-terminated string inside the message ("" when bad) */
const char *sl_pgo_str(sl_pgo_reader *r);

typedef struct sl_pgo_col {
    char kind; /* 'n' null, 'u' unchanged TOAST, 't' text, 'b' binary */
    uint32_t len;
    const char *data;
} sl_pgo_col;

typedef struct sl_pgo_tuple {
    int ncols;
    sl_pgo_col *cols; /* caller-provided, cap entries */
    int cap;
} sl_pgo_tuple;

int sl_pgo_tuple_read(sl_pgo_reader *r, sl_pgo_tuple *t);

typedef struct sl_pgo_relcol {
    uint8_t flags; /* 1: part of the replica identity key */
    const char *name;
    uint32_t type_oid;
    int32_t typmod;
} sl_pgo_relcol;

typedef struct sl_pgo_relation {
    uint32_t relid;
    const char *nspname, *relname;
    char replident; /* 'd' default, 'n' nothing, 'f' full, 'i' index */
    int ncols;
    sl_pgo_relcol *cols; /* caller-provided, cap entries */
    int cap;
} sl_pgo_relation;

/* The type byte is consumed by the caller; `streamed` messages carry the
 * (sub)transaction xid first, which these read into *xid. */
int sl_pgo_relation_read(sl_pgo_reader *r, int streamed, uint32_t *xid, sl_pgo_relation *rel);

typedef struct sl_pgo_change {
    uint32_t relid;
    char old_kind; /* 0, 'K' (key columns only) or 'O' (whole old row) */
    sl_pgo_tuple old_tuple, new_tuple;
} sl_pgo_change;

/* type is 'I', 'U' or 'D' */
int sl_pgo_change_read(sl_pgo_reader *r, char type, int streamed, uint32_t *xid, sl_pgo_change *c);

#endif
