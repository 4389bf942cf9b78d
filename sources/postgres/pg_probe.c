/* pg_probe.c — where the server's WAL ends (probe() of source.h), for
 * the lag metric and `sluice status`: pg_current_wal_lsn() on a plain
 * connection of its own, opened on first use, one attempt, no retries.
 * LSNs are byte positions already, so the lag in bytes is their
 * difference (WAL of every database, as the slot holds it). */
#define SL_LOG_COMPONENT "postgres source"
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "../../core/log.h"
#include "pg_source.h"

int sl_pg_probe(void *self, const char *committed, sl_source_probe *out, sl_err *err)
{
    sl_pg_source *s = self;
    out->head[0] = 0;
    out->head_bytes = out->committed_bytes = -1;
    if (!s->probe_conn) {
        sl_pg_conf c = s->conf;
        c.max_retries = 0;
        c.stop = NULL;
        int rc = sl_pg_connect(&c, 0, &s->probe_conn, err);
        if (rc)
            return rc;
    }
    PGresult *res = NULL;
    int rc = sl_pg_exec(s->probe_conn, "SELECT pg_current_wal_lsn()::text", &res, err);
    uint64_t head = 0;
    if (!rc && (PQntuples(res) != 1 || sl_pg_lsn_parse(PQgetvalue(res, 0, 0), &head)))
        rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "pg_current_wal_lsn() gave no LSN");
    PQclear(res);
    if (rc) {
        PQfinish(s->probe_conn);
        s->probe_conn = NULL;
        return rc;
    }
    out->head_bytes = (long long)head;
    char lsn[32];
    sl_pg_lsn_format(head, lsn, sizeof lsn);
    snprintf(out->head, sizeof out->head, "{\"lsn\":\"%s\"}", lsn);
    json_t *tok = committed ? json_loads(committed, 0, NULL) : NULL;
    uint64_t at;
    const char *text = json_string_value(json_object_get(tok, "lsn"));
    if (text && !sl_pg_lsn_parse(text, &at))
        out->committed_bytes = (long long)at;
    json_decref(tok);
    return 0;
}
