#!/usr/bin/env bash
# tests/services/clickhouse.sh — owns a private ClickHouse for e2e tests and
# benchmarks (DESIGN.md §9): ClickHouse 26.9's engine from PyPI chdb-core,
# behind the HTTP front in clickhouse_front.py, on a free loopback port, its
# data in DIR/data. No registry ships a recent clickhouse-server binary;
# the engine (ReplacingMergeTree, FINAL, insert deduplication) is the real
# one, only the server around it is ours.
#
# Usage: clickhouse.sh start DIR     # env: CLICKHOUSE_PORT (default: free port),
#                                    #      CLICKHOUSE_TLS_CERT/_KEY (PEM: serve https)
#        clickhouse.sh stop  DIR
#        clickhouse.sh status DIR
#
# start: starts the front (user sluice / password sluice) with the venv's
#   python, waits until /ping answers (60 s), and writes DIR/env.sh
#   (CLICKHOUSE_URL, CLICKHOUSE_HOST, CLICKHOUSE_PORT, CLICKHOUSE_USER,
#   CLICKHOUSE_PASSWORD, CLICKHOUSE_DIR, CLICKHOUSE_PID). A DIR whose front
#   runs is reused; a stopped DIR restarts on its data (same port if
#   CLICKHOUSE_PORT is set or the old one is free).
# stop: SIGTERM, SIGKILL after 10 s; a no-op when not running.
set -euo pipefail
SLUICE_SCRIPT=clickhouse.sh
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
PIDFILE="$DIR/front.pid"
LOG="$DIR/front.log"
PY="$SLUICE_REPO/.venv/bin/python"

do_stop() {
    local pid
    if ! pid="$(read_pid "$PIDFILE")"; then
        log "not running in $DIR"
        rm -f "$PIDFILE"
        return 0
    fi
    log "stopping the ClickHouse front (pid $pid)"
    stop_pid "$pid" 10 clickhouse-front
    rm -f "$PIDFILE"
    log "stopped"
}

do_status() {
    local pid
    if pid="$(read_pid "$PIDFILE")"; then echo "running pid=$pid"; else echo "stopped"; return 3; fi
}

SCHEME=http
TLS_ARGS=()
if [[ -n "${CLICKHOUSE_TLS_CERT:-}" ]]; then
    SCHEME=https
    TLS_ARGS=(--tls-cert "$CLICKHOUSE_TLS_CERT" --tls-key "${CLICKHOUSE_TLS_KEY:?CLICKHOUSE_TLS_KEY is needed with CLICKHOUSE_TLS_CERT}")
fi
ping_ok() { [[ "$(curl -sk --max-time 2 "$SCHEME://127.0.0.1:$1/ping" 2>/dev/null)" == "Ok." ]]; }

do_start() {
    local pid port
    if pid="$(read_pid "$PIDFILE")"; then
        [[ -s "$DIR/env.sh" ]] || die "the front (pid $pid) runs in $DIR but $DIR/env.sh is missing; stop it first"
        log "already running in $DIR (pid $pid); reusing it (see $DIR/env.sh)"
        return 0
    fi
    [[ -x "$PY" ]] || die "$PY not found; run tests/services/deps.sh"
    "$PY" -c 'import chdb.session' 2>/dev/null || die "chdb-core is not installed in $SLUICE_REPO/.venv; run tests/services/deps.sh"
    port="${CLICKHOUSE_PORT:-}"
    if [[ -z "$port" && -s "$DIR/port" ]] && ! port_in_use "$(cat "$DIR/port")"; then
        port="$(cat "$DIR/port")"
    fi
    [[ -n "$port" ]] || port="$(free_port)"
    ! port_in_use "$port" || die "port $port on 127.0.0.1 is already in use"
    echo "$port" >"$DIR/port"
    log "starting the ClickHouse front (chDB) on 127.0.0.1:$port (dir $DIR)"
    setsid "$PY" "$SLUICE_SERVICES_DIR/clickhouse_front.py" --dir "$DIR" --port "$port" \
        --user sluice --password sluice "${TLS_ARGS[@]}" </dev/null >>"$LOG" 2>&1 &
    pid=$!
    echo "$pid" >"$PIDFILE"
    if ! wait_until 60 "the front to answer /ping on port $port" "$pid" ping_ok "$port"; then
        show_log "$LOG"
        stop_pid "$pid" 5 clickhouse-front
        rm -f "$PIDFILE"
        die "the ClickHouse front did not become ready (log in $LOG)"
    fi
    write_env "$DIR/env.sh" \
        CLICKHOUSE_URL="$SCHEME://127.0.0.1:$port" CLICKHOUSE_HOST=127.0.0.1 CLICKHOUSE_PORT="$port" \
        CLICKHOUSE_USER=sluice CLICKHOUSE_PASSWORD=sluice CLICKHOUSE_DIR="$DIR" CLICKHOUSE_PID="$pid"
    log "ready: $SCHEME://127.0.0.1:$port (pid $pid); env in $DIR/env.sh"
}

case "$CMD" in
    start) do_start ;;
    stop) do_stop ;;
    status) do_status ;;
esac
