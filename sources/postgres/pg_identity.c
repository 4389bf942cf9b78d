/* pg_identity.c — which PostgreSQL cluster the source reads: the system
 * identifier IDENTIFY_SYSTEM reports (fixed at initdb, kept by physical
 * replicas, new for a restored dump or another cluster). An LSN and a
 * replication slot mean something in one cluster only, so a checkpoint
 * records it and is resumed only on the same cluster (source_identity.h). */
#include <stdlib.h>
#include <string.h>

#include "../source_identity.h"
#include "pg_source.h"

int sl_pg_identity_check(sl_pg_source *s, PGconn *repl, sl_err *err)
{
    PGresult *res = NULL;
    int rc = sl_pg_exec(repl, "IDENTIFY_SYSTEM", &res, err);
    if (rc)
        return rc;
    const char *sysid = PQntuples(res) == 1 && PQnfields(res) >= 1 ? PQgetvalue(res, 0, 0) : NULL;
    const char *kv[] = {"system_identifier", sysid, NULL};
    char *now = sysid ? sl_identity_build(kv) : NULL;
    PQclear(res);
    if (!now)
        return sysid ? sl_errf(err, SL_ERUNTIME, "out of memory") : 0;
    return sl_identity_adopt(&s->identity, s->env.identity, now, "postgres source", s->conf.host, s->conf.port,
                             "a WAL position (and the replication slot)", err);
}
