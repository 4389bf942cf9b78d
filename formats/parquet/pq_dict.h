/* pq_dict.h — the dictionary of one column chunk: distinct values in
 * first-seen order, kept as the PLAIN dictionary page body, and an
 * open-addressing hash index over them so a repeated value costs one probe.
 * Values are compared as bytes (floats by bit pattern, as Parquet's
 * dictionary does: -0.0 and 0.0 are two entries, which is harmless). */
#ifndef SL_PQ_DICT_H
#define SL_PQ_DICT_H

#include <stddef.h>
#include <stdint.h>

#include "../../core/buf.h"

typedef struct sl_pq_dict {
    int width;         /* value bytes for fixed-width types; 0: BYTE_ARRAY */
    sl_buf page;       /* PLAIN body: values, BYTE_ARRAY with 4-byte LE length */
    uint32_t *off;     /* entry i starts at page.data + off[i] (at the length for BYTE_ARRAY) */
    uint32_t *hash;    /* entry hashes, for cheap mismatches and rehashing */
    uint32_t count, cap;
    uint32_t *slots;   /* entry index + 1; 0 = empty */
    uint32_t nslots;   /* power of two */
    int failed;        /* out of memory */
} sl_pq_dict;

void sl_pq_dict_init(sl_pq_dict *d, int width);
void sl_pq_dict_reset(sl_pq_dict *d); /* empty, memory kept */
void sl_pq_dict_free(sl_pq_dict *d);

/* Index of the value, adding it when new (*added = 1). Returns -1 when out
 * of memory. n must equal width for fixed-width dictionaries. */
int64_t sl_pq_dict_put(sl_pq_dict *d, const void *p, size_t n, int *added);

uint64_t sl_pq_hash(const void *p, size_t n);

#endif
