#!/usr/bin/env bash
# tests/services/postgres.sh — owns a private, throw-away PostgreSQL 15
# cluster for e2e tests and benchmarks (DESIGN.md §9): its own data dir,
# socket dir and loopback port, wal_level=logical so the WAL source can use
# logical replication slots. Never touches the system cluster.
#
# Usage: postgres.sh start DIR     # env: PG_PORT (default: a free port),
#        postgres.sh stop  DIR     #      PG_BIN (default /usr/lib/postgresql/15/bin)
#        postgres.sh status DIR
#
# start: initdb DIR/data on first use, starts the server on 127.0.0.1:$PG_PORT
#   with its unix socket in DIR, waits until ready (60 s), creates the
#   superuser role sluice/sluice WITH REPLICATION and database `sluice`, and
#   writes DIR/env.sh (PG_HOST, PG_PORT, PG_USER, PG_PASSWORD, PG_DATABASE,
#   PG_SOCKET_DIR, PG_DIR, PG_TLS_DIR). pg_hba: trust on the unix socket, md5
#   (which also accepts the scram hashes PG 15 stores) on loopback TCP, for
#   normal and replication connections. The server offers TLS with the test
#   PKI of DIR/tls (lib.sh make_test_tls; it serves DIR/tls/live.pem/.key,
#   copies of server.pem/.key that a test may replace and reload with
#   pg_reload_conf()); role sluice_tls/sluice (same rights) is refused
#   without TLS (hostnossl ... reject). fsync/full_page_writes are off: test data only.
#   PostgreSQL refuses to run as root, so when run as root the server runs as
#   the `postgres` system user and DIR is chown'ed to it; every parent of DIR
#   must be traversable by that user (e.g. /tmp/x is fine, /root/x is not).
#   Running start on a DIR whose server is already running REUSES it (note,
#   exit 0, env.sh kept). A stopped DIR restarts on its existing data.
# stop: pg_ctl stop -m fast (SIGKILL of the postmaster after 30 s as a last
#   resort); a no-op when not running.
set -euo pipefail
SLUICE_SCRIPT=postgres.sh
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { echo "usage: $0 start|stop|status DIR" >&2; exit 2; }
[[ $# -eq 2 ]] || usage
CMD="$1"
case "$CMD" in start|stop|status) ;; *) usage ;; esac
if [[ "$CMD" != start && ! -d "$2" ]]; then
    log "$2 does not exist; nothing to do"; exit 0
fi
DIR="$(abs_dir "$2")"
DATA="$DIR/data"
PGLOG="$DIR/postgres.log"

if [[ -z "${PG_BIN:-}" ]]; then
    PG_BIN=/usr/lib/postgresql/15/bin
    [[ -x "$PG_BIN/postgres" ]] || PG_BIN="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
fi
[[ -x "$PG_BIN/postgres" && -x "$PG_BIN/initdb" && -x "$PG_BIN/pg_ctl" ]] ||
    die "PostgreSQL server binaries not found (PG_BIN=$PG_BIN); run tests/services/deps.sh"
PSQL="$PG_BIN/psql"; [[ -x "$PSQL" ]] || PSQL="$(command -v psql)" || die "psql not found"

# Run a command as the cluster owner (postgres when we are root), from DIR so
# that an unreadable cwd (e.g. /root) does not produce warnings.
if [[ "$(id -u)" -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' system user"
    as_owner() { (cd "$DIR" && runuser -u postgres -- "$@"); }
else
    as_owner() { (cd "$DIR" && "$@"); }
fi

running_pid() {
    # pg_ctl status exits 0 only when the postmaster in postmaster.pid is alive
    [[ -f "$DATA/postmaster.pid" ]] || return 1
    as_owner "$PG_BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1 || return 1
    head -n1 "$DATA/postmaster.pid"
}

do_stop() {
    local pid
    if ! pid="$(running_pid)"; then
        log "not running in $DIR"
        return 0
    fi
    log "stopping postgres (pid $pid)"
    as_owner "$PG_BIN/pg_ctl" -D "$DATA" stop -m fast -w -t 30 >/dev/null 2>&1 ||
        log "pg_ctl stop failed; falling back to signals"
    stop_pid "$pid" 5 postgres
    log "stopped"
}

do_status() {
    local pid
    if pid="$(running_pid)"; then echo "running pid=$pid"; else echo "stopped"; return 3; fi
}

do_start() {
    local pid
    if pid="$(running_pid)"; then
        [[ -s "$DIR/env.sh" ]] || die "postgres (pid $pid) runs in $DIR but $DIR/env.sh is missing; stop it first"
        log "already running in $DIR (pid $pid); reusing it (see $DIR/env.sh)"
        return 0
    fi
    local port="${PG_PORT:-}"
    [[ -n "$port" ]] || port="$(free_port)"
    [[ "$port" =~ ^[0-9]+$ ]] || die "PG_PORT must be a number, got '$port'"
    ! port_in_use "$port" || die "port $port on 127.0.0.1 is already in use"
    local sock="$DIR/.s.PGSQL.$port"
    ((${#sock} <= 100)) || die "DIR path too long for a unix socket ($sock); use a shorter DIR"

    if [[ "$(id -u)" -eq 0 ]]; then
        chown postgres: "$DIR"
        chmod 0755 "$DIR"
        if ! runuser -u postgres -- test -w "$DIR" -a -x "$DIR" 2>/dev/null; then
            local d="$DIR" blocker=""
            while [[ "$d" != / ]]; do
                runuser -u postgres -- test -x "$d" 2>/dev/null || blocker="$d"
                d="$(dirname "$d")"
            done
            die "user postgres cannot reach $DIR (blocked at ${blocker:-?}); use a DIR under /tmp"
        fi
    fi

    if [[ ! -f "$DATA/PG_VERSION" || ! -f "$DIR/.initialized" ]]; then
        rm -rf "$DATA"
        log "initdb $DATA"
        if ! as_owner "$PG_BIN/initdb" -D "$DATA" -U postgres --auth-local=trust --auth-host=md5 \
                --no-locale -E UTF8 --no-sync >"$DIR/initdb.log" 2>&1; then
            show_log "$DIR/initdb.log"
            die "initdb failed"
        fi
        cat >"$DATA/pg_hba.conf" <<'EOF'
# generated by tests/services/postgres.sh
# TYPE  DATABASE     USER  ADDRESS        METHOD
local   all          all                  trust
local   replication  all                  trust
hostnossl all        sluice_tls 0.0.0.0/0 reject
hostnossl replication sluice_tls 0.0.0.0/0 reject
host    all          all   127.0.0.1/32   md5
host    replication  all   127.0.0.1/32   md5
host    all          all   ::1/128        md5
host    replication  all   ::1/128        md5
EOF
        echo "include = 'sluice.conf'" >>"$DATA/postgresql.conf"
    fi
    make_test_tls "$DIR/tls"
    cp -f "$DIR/tls/server.pem" "$DIR/tls/live.pem"
    cp -f "$DIR/tls/server.key" "$DIR/tls/live.key"
    [[ "$(id -u)" -eq 0 ]] && chown -R postgres: "$DIR/tls"
    # rewritten on every start (the port may change)
    cat >"$DATA/sluice.conf" <<EOF
# generated by tests/services/postgres.sh — private test cluster
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$DIR'
wal_level = logical
max_replication_slots = 10
max_wal_senders = 10
max_connections = 100
shared_buffers = 64MB
fsync = off
full_page_writes = off
# keep synchronous_commit = on: logical decoding (SQL functions and walsender)
# only reads WAL up to the flush pointer, so async commit delays changes by
# up to 3 x wal_writer_delay and makes CDC tests slow and flaky
logging_collector = off
log_min_messages = warning
ssl = on
ssl_ca_file = '$DIR/tls/ca.pem'
ssl_cert_file = '$DIR/tls/live.pem'
ssl_key_file = '$DIR/tls/live.key'
EOF
    if [[ "$(id -u)" -eq 0 ]]; then
        chown postgres: "$DATA/pg_hba.conf" "$DATA/sluice.conf" "$DATA/postgresql.conf"
        touch "$PGLOG"; chown postgres: "$PGLOG"
    fi

    log "starting postgres on 127.0.0.1:$port (dir $DIR)"
    if ! as_owner "$PG_BIN/pg_ctl" -D "$DATA" -l "$PGLOG" -w -t 60 start >"$DIR/pg_ctl.out" 2>&1; then
        show_log "$PGLOG"; show_log "$DIR/pg_ctl.out" 10
        if pid="$(running_pid)"; then stop_pid "$pid" 10 postgres; fi
        die "postgres did not become ready within 60 s (logs in $DIR)"
    fi
    pid="$(running_pid)" || die "postgres exited right after start"
    wait_for_port 127.0.0.1 "$port" 10 "$pid" || { show_log "$PGLOG"; die "postgres does not listen on 127.0.0.1:$port"; }

    if ! "$PSQL" -X -q -h "$DIR" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
            >/dev/null 2>"$DIR/bootstrap.err" <<'EOF'
DO $$BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sluice') THEN CREATE ROLE sluice; END IF;
END$$;
ALTER ROLE sluice WITH LOGIN SUPERUSER REPLICATION PASSWORD 'sluice';
DO $$BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sluice_tls') THEN CREATE ROLE sluice_tls; END IF;
END$$;
ALTER ROLE sluice_tls WITH LOGIN SUPERUSER REPLICATION PASSWORD 'sluice';
SELECT 'CREATE DATABASE sluice OWNER sluice'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'sluice')\gexec
EOF
    then
        show_log "$DIR/bootstrap.err"
        as_owner "$PG_BIN/pg_ctl" -D "$DATA" stop -m immediate >/dev/null 2>&1 || true
        die "could not create role/database sluice"
    fi
    touch "$DIR/.initialized"

    write_env "$DIR/env.sh" \
        PG_HOST=127.0.0.1 PG_PORT="$port" PG_USER=sluice PG_PASSWORD=sluice \
        PG_DATABASE=sluice PG_SOCKET_DIR="$DIR" PG_DIR="$DIR" PG_TLS_DIR="$DIR/tls"
    log "ready: 127.0.0.1:$port socket dir $DIR (pid $pid); env in $DIR/env.sh"
}

case "$CMD" in
    start) do_start ;;
    stop) do_stop ;;
    status) do_status ;;
esac
