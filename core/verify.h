/* verify.h — per-table row counts and order-independent checksums, for
 * `sluice migrate`'s comparison of source and sink.
 *
 * A row's checksum is the hash of its Debezium JSON rendering (sl_json_row)
 * and a table's is the sum of its rows' hashes, so the source (scanning the
 * table) and the sink (replaying what it holds) agree exactly when they
 * hold the same rows, in whatever order they were produced.
 */
#ifndef SL_VERIFY_H
#define SL_VERIFY_H

#include <stdint.h>
#include <stdio.h>

#include "schema.h"

typedef struct sl_digest {
    char *table;  /* qualified name */
    char **pk;    /* key column names (empty: the whole row is the key) */
    int npk;
    uint64_t rows;
    uint64_t sum;
} sl_digest;

typedef struct sl_digest_set {
    sl_digest *items;
    size_t n, cap;
} sl_digest_set;

void sl_digest_set_init(sl_digest_set *s);
void sl_digest_set_free(sl_digest_set *s);
sl_digest *sl_digest_find(const sl_digest_set *s, const char *table);
/* finds or adds; pk names are copied from schema when adding */
sl_digest *sl_digest_get(sl_digest_set *s, const char *table, const sl_table_schema *schema);
uint64_t sl_digest_hash(const char *p, size_t n);
/* Prints the comparison table; returns the number of mismatching tables. */
int sl_digest_compare(FILE *out, const sl_digest_set *source, const sl_digest_set *sink);

#endif
