/* ice_compact.h — the pure choices of compaction (ice_compact.c), apart
 * for unit tests. */
#ifndef SL_ICE_COMPACT_H
#define SL_ICE_COMPACT_H

#include <stdint.h>

/* Size-tiered choice among n small manifests of bytes[i]: sorted by size,
 * each joins while it is at most twice the bytes of those before it (the
 * smallest always). chosen[i] is set to 1 or 0. */
void ice_compact_tier(const int64_t *bytes, int n, int *chosen);
/* 1 when deleted of rows are at least ratio of them (or all) */
int ice_compact_ratio_due(int64_t rows, int64_t deleted, double ratio);

#endif
