/* index_dir.c — removes the LMDB directories the key index unit tests make
 * (test_ice_index.c, test_ice_index_oom.c) */
#include "index_dir.h"

#include <stdio.h>
#include <unistd.h>

void sl_test_remove_index_dir(const char *dir)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/data.mdb", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/lock.mdb", dir);
    unlink(p);
    rmdir(dir);
}
