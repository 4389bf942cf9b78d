/* source_identity.h — a source server's identity, and the check that a
 * checkpoint is resumed on the server it was read from.
 *
 * A binlog file/position or a WAL LSN means something on one server only;
 * resumed on another (a pipeline pointed at a new host, a restored backup
 * under the old address) it silently skips or repeats changes. Sources
 * describe their server as a flat JSON object of strings (MariaDB server_id
 * and GTID domain, MySQL server_uuid, PostgreSQL system identifier), the
 * runtime records it in each checkpoint, and a source compares what the
 * checkpoint recorded with what it connected to before it reads anything.
 */
#ifndef SL_SOURCE_IDENTITY_H
#define SL_SOURCE_IDENTITY_H

#include "../core/err.h"

/* {"k1":"v1","k2":"v2"} from NULL-terminated key/value pairs whose value
 * is not NULL; malloc'd, NULL on out-of-memory. */
char *sl_identity_build(const char *const *kv);

/* 0 when every key both identities hold agrees (or recorded is NULL: a
 * checkpoint from before identities were recorded); otherwise SL_ECONFIG
 * naming both servers, what does not carry over (e.g. "a binlog
 * position") and the fix. who is "mysql source", host:port the server. */
int sl_identity_check(const char *recorded, const char *actual, const char *who, const char *host, unsigned port,
                      const char *position, sl_err *err);

/* A source connected and learned its server's identity now (malloc'd,
 * taken over): the first time it is compared with what the checkpoint
 * recorded and kept in *known (an atomic pointer other threads read),
 * later (reconnects) compared with *known, so a different server behind
 * the same address in the middle of a run is refused as well. */
int sl_identity_adopt(char **known, const char *recorded, char *now, const char *who, const char *host,
                      unsigned port, const char *position, sl_err *err);

#endif
