/* rowkey.h — a row's primary key as canonical bytes.
 *
 * The snapshot merge asks "did the changelog touch this key after the
 * chunk's snapshot?". Both sides carry the stored values of the key
 * columns (the binlog's row images and the chunk's SELECT), so byte
 * equality of a canonical encoding answers it exactly, also for strings
 * under case-insensitive collations: a key is stored one way only. The
 * encoding is the same whichever side decoded the value (signed and
 * unsigned integers of equal value encode alike).
 */
#ifndef SL_ROWKEY_H
#define SL_ROWKEY_H

#include <stddef.h>
#include <stdint.h>

#include "../core/buf.h"
#include "../core/schema.h"
#include "../core/value.h"

/* Appends the canonical key of row (its pk columns, or every column when the
 * table has no key, or key_cols when given) to b. */
void sl_rowkey_encode(sl_buf *b, const sl_table_schema *s, const int *key_cols, int nkey, const sl_value *row);
uint64_t sl_rowkey_hash(const void *p, size_t n);

#endif
