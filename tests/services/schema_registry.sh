#!/usr/bin/env bash
# tests/services/schema_registry.sh — owns a private Confluent-compatible
# schema registry (tests/services/schema_registry.py: ours, since no real
# one installs here; see that file) for benchmarks and manual runs, on a
# free loopback port, its schemas in DIR/schemas.json. The e2e tests start
# the same server from tests/e2e/avro_read.py (they stop and restart it).
#
# Usage: schema_registry.sh start DIR    # writes DIR/env.sh: SCHEMA_REGISTRY_URL,
#                                        #   SCHEMA_REGISTRY_PORT, SCHEMA_REGISTRY_PID
#        schema_registry.sh stop  DIR
set -euo pipefail
SLUICE_SCRIPT=schema_registry.sh
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 2 ]] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
CMD="$1"
if [[ "$CMD" == stop && ! -d "$2" ]]; then exit 0; fi
DIR="$(abs_dir "$2")"
PIDFILE="$DIR/registry.pid"
PY="$SLUICE_REPO/.venv/bin/python"

case "$CMD" in
start)
    if pid="$(read_pid "$PIDFILE")"; then
        log "already running in $DIR (pid $pid)"
        exit 0
    fi
    rm -f "$DIR/port"
    setsid "$PY" "$SLUICE_SERVICES_DIR/schema_registry.py" --port-file "$DIR/port" \
        --data "$DIR/schemas.json" </dev/null >>"$DIR/registry.log" 2>&1 &
    pid=$!
    echo "$pid" >"$PIDFILE"
    wait_until 20 "the registry to listen" "$pid" test -s "$DIR/port" ||
        { show_log "$DIR/registry.log"; die "the schema registry did not start"; }
    port="$(cat "$DIR/port")"
    write_env "$DIR/env.sh" SCHEMA_REGISTRY_URL="http://127.0.0.1:$port" SCHEMA_REGISTRY_PORT="$port" \
        SCHEMA_REGISTRY_PID="$pid"
    log "ready: http://127.0.0.1:$port (pid $pid); env in $DIR/env.sh"
    ;;
stop)
    if pid="$(read_pid "$PIDFILE")"; then stop_pid "$pid" 10 schema-registry; fi
    rm -f "$PIDFILE"
    ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
