/* ice_pathset.h — a set of file paths for table maintenance (expiration,
 * orphan removal): appended while manifests are walked, then sorted once
 * (ice_pathset_seal) for lookups. */
#ifndef SL_ICE_PATHSET_H
#define SL_ICE_PATHSET_H

#include <stddef.h>

#include "../../core/err.h"

typedef struct ice_pathset {
    char **p;
    size_t n, cap;
} ice_pathset;

int ice_pathset_add(ice_pathset *s, const char *path, sl_err *err);
/* sorts and drops repeats; lookups need it, adds after it need another */
void ice_pathset_seal(ice_pathset *s);
int ice_pathset_has(const ice_pathset *s, const char *path);
void ice_pathset_free(ice_pathset *s);

#endif
