/* ice_expire.h — snapshot expiration of the iceberg sink (ice_expire.c):
 * the after-commit step, and its pure choice apart for unit tests. */
#ifndef SL_ICE_EXPIRE_H
#define SL_ICE_EXPIRE_H

#include <stdint.h>

/* How many of a history's n snapshots stay (ts: their timestamps, newest
 * first): at least min_keep, and then each one while it is no older than
 * cutoff_ms; the first older one and everything before it go. */
int ice_expire_keep(const int64_t *ts, int n, int64_t min_keep, int64_t cutoff_ms);

#endif
