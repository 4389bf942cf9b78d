/* pg_slot.c — where a run of the postgres source starts: the replication
 * slot (plugin, database, confirmed LSN) checked against the checkpoint
 * and the startup mode, the slot created where the mode asks for one, the
 * temporary slot that exports the snapshot the chunk readers share, and
 * START_REPLICATION. See pg_slot.h. */
#define SL_LOG_COMPONENT "postgres source"

#include "pg_slot.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../core/log.h"

static void lsn_text(uint64_t lsn, char *buf, size_t len) { sl_pg_lsn_format(lsn, buf, len); }

typedef struct slot_info {
    int exists, active;
    int creating; /* no confirmed_flush_lsn yet: CREATE_REPLICATION_SLOT in progress */
    int lost; /* invalidated: wal_status = 'lost' (PostgreSQL 13+, max_slot_wal_keep_size) */
    uint64_t confirmed;
    char plugin[64], database[128];
} slot_info;

static int read_slot_once(sl_pg_source *src, PGconn *side, slot_info *si, sl_err *err)
{
    memset(si, 0, sizeof *si);
    const char *params[] = {src->slot_name};
    PGresult *res;
    /* wal_status exists from PostgreSQL 13, with max_slot_wal_keep_size */
    int rc = sl_pg_exec_params(side,
                               PQserverVersion(side) >= 130000
                                   ? "SELECT coalesce(confirmed_flush_lsn::text, ''), coalesce(plugin, ''), "
                                     "coalesce(database, ''), active, coalesce(wal_status, '') = 'lost' "
                                     "FROM pg_replication_slots WHERE slot_name = $1"
                                   : "SELECT coalesce(confirmed_flush_lsn::text, ''), coalesce(plugin, ''), "
                                     "coalesce(database, ''), active, false "
                                     "FROM pg_replication_slots WHERE slot_name = $1",
                               1, params, &res, err);
    if (rc)
        return rc;
    if (PQntuples(res) == 1) {
        si->exists = 1;
        si->creating = PQgetvalue(res, 0, 0)[0] == '\0';
        sl_pg_lsn_parse(PQgetvalue(res, 0, 0), &si->confirmed);
        snprintf(si->plugin, sizeof si->plugin, "%s", PQgetvalue(res, 0, 1));
        snprintf(si->database, sizeof si->database, "%s", PQgetvalue(res, 0, 2));
        si->active = PQgetvalue(res, 0, 3)[0] == 't';
        si->lost = PQgetvalue(res, 0, 4)[0] == 't';
    }
    PQclear(res);
    if (si->exists && (strcmp(si->plugin, "pgoutput") != 0 || strcmp(si->database, src->conf.dbname) != 0))
        return sl_errf(err, SL_ECONFIG,
                       SL_LOG_PREFIX "replication slot '%s' exists with plugin '%s' in database '%s'; sluice "
                       "needs a pgoutput slot in '%s' (choose another slot.name, or drop it: SELECT "
                       "pg_drop_replication_slot('%s'))",
                       src->slot_name, si->plugin, si->database, src->conf.dbname, src->slot_name);
    return 0;
}

/* A slot without confirmed_flush_lsn is still being created: by a process
 * that was killed in CREATE_REPLICATION_SLOT, whose walsender has not exited
 * yet (the server drops the half-made slot when it does), or by another
 * process right now. Reading its position then would give 0/0 and a start
 * at a slot about to vanish, so wait until it is either made or gone. */
static int read_slot(sl_pg_source *src, PGconn *side, slot_info *si, sl_err *err)
{
    for (int waited_ms = 0;; waited_ms += 100) {
        int rc = read_slot_once(src, side, si, err);
        if (rc || !si->exists || !si->creating)
            return rc;
        if (waited_ms >= 30000)
            return sl_errf(err, SL_ERUNTIME,
                           SL_LOG_PREFIX "replication slot '%s' has been in creation for 30 s (no "
                           "confirmed_flush_lsn): another process is creating it; give each pipeline its own "
                           "slot.name, or drop it: SELECT pg_drop_replication_slot('%s')",
                           src->slot_name, src->slot_name);
        if (waited_ms == 0)
            sl_info("replication slot %s is still being created (a killed run's walsender exiting?); waiting",
                    src->slot_name);
        if (sl_live_sleep(src->conf.stop, 100))
            return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "stopped while waiting for replication slot '%s'",
                           src->slot_name);
    }
}

/* CREATE_REPLICATION_SLOT on a walsender connection; returns the
 * consistent point and, with export, the exported snapshot's name. */
static int create_slot(PGconn *repl, const char *name, int temporary, int export, uint64_t *cp, char *snapname,
                       size_t snaplen, sl_err *err)
{
    char sql[256];
    snprintf(sql, sizeof sql, "CREATE_REPLICATION_SLOT \"%s\" %sLOGICAL pgoutput %s", name,
             temporary ? "TEMPORARY " : "", export ? "EXPORT_SNAPSHOT" : "NOEXPORT_SNAPSHOT");
    PGresult *res;
    char state[6];
    int rc = sl_pg_exec_state(repl, sql, &res, state, err);
    if (rc && strcmp(state, SL_PG_CONFIGURATION_LIMIT_EXCEEDED) == 0)
        return sl_err_fix(err, SL_ECONFIG, "raise max_replication_slots (ALTER SYSTEM SET max_replication_slots = "
                                           "10; then restart the server), or drop unused slots");
    if (rc)
        return rc;
    if (PQntuples(res) != 1 || sl_pg_lsn_parse(PQgetvalue(res, 0, 1), cp)) {
        PQclear(res);
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "unexpected answer to CREATE_REPLICATION_SLOT");
    }
    if (snapname)
        snprintf(snapname, snaplen, "%s", PQgetisnull(res, 0, 2) ? "" : PQgetvalue(res, 0, 2));
    PQclear(res);
    return 0;
}

static int parse_resume(const char *resume, uint64_t *lsn, char **snap_state, sl_err *err)
{
    *snap_state = NULL;
    json_error_t je;
    json_t *root = json_loads(resume, 0, &je);
    const char *l = root ? json_string_value(json_object_get(root, "lsn")) : NULL;
    if (!l || sl_pg_lsn_parse(l, lsn)) {
        json_decref(root);
        return sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "checkpoint %s has no valid \"lsn\"; it was not written "
                       "by the postgres source", resume);
    }
    json_t *st = json_object_get(root, "snapshot");
    if (st)
        *snap_state = json_dumps(st, JSON_COMPACT);
    json_decref(root);
    return 0;
}

int sl_pg_current_lsn(PGconn *side, uint64_t *lsn, sl_err *err)
{
    PGresult *res;
    int rc = sl_pg_exec(side, "SELECT pg_current_wal_lsn()::text", &res, err);
    if (rc)
        return rc;
    if (sl_pg_lsn_parse(PQgetvalue(res, 0, 0), lsn))
        rc = sl_errf(err, SL_ERUNTIME, SL_LOG_PREFIX "cannot read pg_current_wal_lsn()");
    PQclear(res);
    return rc;
}

/* Every currently captured table is marked done in the checkpoint's
 * snapshot state: no new snapshot (and no temporary slot) is needed. */
static int snapshot_all_done(sl_pg_source *src, PGconn *side, const char *state, int *all_done, sl_err *err)
{
    char **names = NULL;
    size_t n = 0;
    int rc = sl_pg_list_tables(src, side, &names, &n, err);
    if (rc)
        return rc;
    json_error_t je;
    json_t *root = json_loads(state, 0, &je);
    json_t *tables = root ? json_object_get(root, "tables") : NULL;
    *all_done = 1;
    for (size_t i = 0; i < n; i++) {
        int done = 0;
        size_t k;
        json_t *t;
        json_array_foreach(tables, k, t) {
            const char *name = json_string_value(json_object_get(t, "t"));
            if (name && strcmp(name, names[i]) == 0)
                done = json_is_true(json_object_get(t, "done"));
        }
        *all_done &= done;
        free(names[i]);
    }
    free(names);
    json_decref(root);
    return 0;
}

/* The xid of the setup transaction, which imported the snapshot: Debezium
 * gives snapshot rows its snapshot transaction's txid_current(). A standby
 * assigns no xids: none there. */
static int snapshot_xid(PGconn *setup, uint64_t *xid, sl_err *err)
{
    PGresult *res = NULL;
    int rc = sl_pg_exec(setup, "SELECT CASE WHEN pg_is_in_recovery() THEN NULL ELSE txid_current() END", &res,
                        err);
    *xid = 0;
    if (!rc && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
        *xid = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return rc;
}

int sl_pg_snapshot_open(sl_pg_source *src, PGconn *side, const char *state, uint64_t start_lsn, int resnapshot,
                        int fresh, sl_boundary *b, sl_emitter *out, sl_pg_snap **snap, sl_err *err)
{
    sl_pos start = {start_lsn, 0, 0};
    int all_done = 0;
    int rc = state ? snapshot_all_done(src, side, state, &all_done, err) : 0;
    if (rc)
        return rc;
    if (all_done) {
        rc = sl_pg_snapshot_prepare(src, side, "", 0, state, start, snap, err);
        if (!rc)
            b->snap = &(*snap)->snap;
        return rc;
    }
    /* a temporary slot exports the snapshot exact at its consistent point */
    PGconn *exporter = NULL, *setup = NULL;
    char snapname[128] = "", tmpslot[96];
    uint64_t at = 0;
    snprintf(tmpslot, sizeof tmpslot, "%.40s_snap_%d", src->slot_name, (int)getpid());
    rc = sl_pg_connect(&src->conf, 1, &exporter, err);
    if (!rc)
        rc = create_slot(exporter, tmpslot, 1, 1, &at, snapname, sizeof snapname, err);
    if (!rc)
        rc = sl_pg_connect(&src->conf, 0, &setup, err);
    if (!rc)
        rc = sl_pg_import_snapshot(setup, snapname, err);
    if (!rc)
        rc = sl_pg_snapshot_prepare(src, setup, snapname, at, state, start, snap, err);
    if (!rc)
        rc = snapshot_xid(setup, &(*snap)->xid, err);
    if (!rc) {
        b->snap = &(*snap)->snap;
        rc = sl_boundary_start(b, start, err);
    }
    if (!rc && fresh)
        rc = sl_boundary_first(b, start, err);
    if (!rc && resnapshot)
        rc = sl_boundary_resnapshot(b, start, err);
    if (!rc && !sl_snapshot_complete(&(*snap)->snap)) {
        /* the exporter stays open (idle) until the snapshot is complete:
         * each chunk imports the snapshot anew */
        (*snap)->exporter = exporter;
        exporter = NULL;
        rc = sl_pg_snapshot_start(*snap, out, err);
    }
    if (setup) {
        sl_pg_exec_quiet(setup, "COMMIT");
        PQfinish(setup);
    }
    if (exporter)
        PQfinish(exporter);
    return rc;
}

/* scan.on-log-loss: resnapshot after the slot was lost: an invalidated
 * slot is dropped, a new one is created at the current end of the WAL,
 * and every captured table is read anew from there. */
static int resnapshot_start(sl_pg_source *src, PGconn *side, PGconn *repl, const slot_info *si, int temporary,
                            sl_pg_start *st, sl_err *err)
{
    char l[32];
    lsn_text(st->lsn, l, sizeof l);
    sl_warn("replication slot '%s' %s, so the changes after the checkpoint (LSN %s) are lost; reading every "
            "captured table anew (scan.on-log-loss: resnapshot)",
            src->slot_name, si->exists ? "was invalidated by the server (wal_status = lost)" : "does not exist", l);
    if (si->exists) {
        const char *params[] = {src->slot_name};
        int rc = sl_pg_exec_params(side, "SELECT pg_drop_replication_slot($1)", 1, params, NULL, err);
        if (rc)
            return rc;
    }
    free(st->snap_state);
    st->snap_state = NULL;
    st->want_snapshot = st->resnapshot = 1;
    int rc = create_slot(repl, src->slot_name, temporary, 0, &st->lsn, NULL, 0, err);
    if (!rc) {
        lsn_text(st->lsn, l, sizeof l);
        sl_info("created %sreplication slot %s at %s", temporary ? "temporary " : "", src->slot_name, l);
    }
    return rc;
}

int sl_pg_start_position(sl_pg_source *src, PGconn *side, PGconn *repl, const char *resume, sl_pg_start *st,
                         sl_err *err)
{
    memset(st, 0, sizeof *st);
    slot_info si;
    int rc = read_slot(src, side, &si, err);
    if (rc)
        return rc;
    int mode = src->conf.startup;
    st->want_snapshot = mode == SL_PG_START_INITIAL || mode == SL_PG_START_SNAPSHOT;
    int temporary = src->conf.slot_temporary || mode == SL_PG_START_SNAPSHOT;
    char l[32];
    if (resume) {
        rc = parse_resume(resume, &st->lsn, &st->snap_state, err);
        st->want_snapshot = st->want_snapshot || st->snap_state != NULL;
        int gone = si.lost || (!si.exists && mode != SL_PG_START_SNAPSHOT);
        if (!rc && gone && src->conf.on_log_loss == SL_ON_LOG_LOSS_RESNAPSHOT)
            return resnapshot_start(src, side, repl, &si, temporary, st, err);
        if (!rc && si.lost) {
            lsn_text(st->lsn, l, sizeof l);
            rc = sl_errf(err, SL_ERUNTIME,
                         SL_LOG_PREFIX "replication slot '%s' was invalidated by the server (wal_status = lost: it "
                         "fell more than max_slot_wal_keep_size behind and its WAL was removed), so the changes "
                         "after the checkpoint (LSN %s) can no longer be read; fix: set scan.on-log-loss: "
                         "resnapshot to read the captured tables anew (the sink's tables are replaced), or drop "
                         "the slot (SELECT pg_drop_replication_slot('%s')) and remove the pipeline's checkpoint; "
                         "raise max_slot_wal_keep_size (ALTER SYSTEM SET max_slot_wal_keep_size = '10GB'; SELECT "
                         "pg_reload_conf(); -1 = unlimited) so that a stopped pipeline keeps its WAL",
                         src->slot_name, l, src->slot_name);
        }
        if (!rc && si.exists && si.confirmed > st->lsn) {
            /* the server would silently start at its confirmed LSN */
            char c1[32];
            lsn_text(st->lsn, l, sizeof l);
            lsn_text(si.confirmed, c1, sizeof c1);
            rc = sl_errf(err, SL_ERUNTIME,
                         SL_LOG_PREFIX "replication slot '%s' was confirmed up to %s, past the checkpoint at %s "
                         "(another consumer of the slot, or a sink restored from an older state): the changes in "
                         "between can no longer be read. Give this pipeline its own slot.name, or remove its "
                         "checkpoint to start over",
                         src->slot_name, c1, l);
        }
        if (!rc && !si.exists && mode == SL_PG_START_SNAPSHOT) {
            rc = create_slot(repl, src->slot_name, 1, 0, &st->lsn, NULL, 0, err);
        } else if (!rc && !si.exists) {
            lsn_text(st->lsn, l, sizeof l);
            rc = sl_errf(err, SL_ERUNTIME,
                         SL_LOG_PREFIX "replication slot '%s' does not exist, but the checkpoint (LSN %s) needs "
                         "it: the changes since then can no longer be read. %s",
                         src->slot_name, l,
                         temporary ? "A temporary slot (slot.temporary) ends with its connection; run without it "
                                     "to resume across restarts."
                                   : "Fix: set scan.on-log-loss: resnapshot to read the captured tables anew (the "
                                     "sink's tables are replaced), or remove the pipeline's checkpoint and run again "
                                     "(it snapshots anew).");
        }
    } else if (mode == SL_PG_START_COMMITTED) {
        if (!si.exists)
            rc = sl_errf(err, SL_ECONFIG,
                         SL_LOG_PREFIX "scan.startup.mode committed-offset needs the replication slot '%s', "
                         "which does not exist; create it with SELECT pg_create_logical_replication_slot('%s', "
                         "'pgoutput') or use initial or latest-offset",
                         src->slot_name, src->slot_name);
        st->lsn = si.confirmed;
    } else if (!si.exists) {
        rc = create_slot(repl, src->slot_name, temporary, 0, &st->lsn, NULL, 0, err);
        if (!rc) {
            lsn_text(st->lsn, l, sizeof l);
            sl_info("created %sreplication slot %s at %s", temporary ? "temporary " : "",
                    src->slot_name, l);
        }
    } else if (mode == SL_PG_START_LATEST) {
        rc = sl_pg_current_lsn(side, &st->lsn, err);
    } else {
        st->lsn = si.confirmed;
    }
    return rc;
}

int sl_pg_start_replication(sl_pg_source *src, PGconn *repl, uint64_t start_lsn, sl_err *err)
{
    char sql[512], l[32];
    lsn_text(start_lsn, l, sizeof l);
    if (src->conf.streaming)
        snprintf(sql, sizeof sql,
                 "START_REPLICATION SLOT \"%s\" LOGICAL %s (proto_version '2', publication_names '\"%s\"', "
                 "messages 'true', streaming 'true')",
                 src->slot_name, l, src->pub_name);
    else
        snprintf(sql, sizeof sql,
                 "START_REPLICATION SLOT \"%s\" LOGICAL %s (proto_version '1', publication_names '\"%s\"', "
                 "messages 'true')",
                 src->slot_name, l, src->pub_name);
    PGresult *res = PQexec(repl, sql);
    if (PQresultStatus(res) != PGRES_COPY_BOTH) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(res));
        /* a slot still held by a process that just died frees up shortly */
        int in_use = strcmp(sl_pg_sqlstate(res), SL_PG_OBJECT_IN_USE) == 0;
        PQclear(res);
        size_t n = strlen(msg);
        while (n && msg[n - 1] == '\n')
            msg[--n] = 0;
        return sl_errf(err, in_use ? SL_ERETRY : SL_ERUNTIME, SL_LOG_PREFIX "START_REPLICATION of slot %s at %s: %s",
                       src->slot_name, l, msg);
    }
    PQclear(res);
    sl_info("streaming slot %s from %s on %s:%u (publication %s)", src->slot_name, l,
            src->conf.host, src->conf.port, src->pub_name);
    return 0;
}

