#!/usr/bin/env bash
# tests/services/iceberg.sh — owns a real Apache Iceberg REST catalog for the
# iceberg sink's e2e tests (DESIGN.md §9): iceberg-open-api's
# RESTCatalogServer (test fixture) over a JdbcCatalog in sqlite, warehouse in
# a local directory. Jars from Maven Central (iceberg/pom.xml), cached.
#
# Usage: iceberg.sh fetch
#        iceberg.sh start  DIR    # env: ICEBERG_PORT (default: a free port)
#        iceberg.sh stop   DIR
#        iceberg.sh status DIR
# Env:   SLUICE_CACHE  cache root (default $HOME/.cache/sluice); jars go to
#                      $SLUICE_CACHE/iceberg-rest-<version>/libs
# start writes DIR/env.sh: ICEBERG_URI=http://127.0.0.1:<port>,
#   ICEBERG_PORT, ICEBERG_WAREHOUSE (DIR/warehouse), ICEBERG_CATALOG_DB
#   (the sqlite file the catalog keeps its table pointers in). A DIR whose
#   server runs is reused; a stopped DIR restarts on its catalog and files.
set -euo pipefail
SLUICE_SCRIPT=iceberg.sh
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { echo "usage: $0 fetch | $0 start|stop|status DIR" >&2; exit 2; }
[[ $# -ge 1 ]] || usage
CMD="$1"
case "$CMD" in
    fetch) [[ $# -eq 1 ]] || usage ;;
    start|stop|status) [[ $# -eq 2 ]] || usage ;;
    *) usage ;;
esac

POM="$SLUICE_SERVICES_DIR/iceberg/pom.xml"
VERSION="$(sed -n 's:.*<iceberg.version>\(.*\)</iceberg.version>.*:\1:p' "$POM" | head -n1)"
[[ -n "$VERSION" ]] || die "cannot read <iceberg.version> from $POM"
HOME_DIR="${SLUICE_CACHE:-$HOME/.cache/sluice}/iceberg-rest-$VERSION"
LIBS="$HOME_DIR/libs"

do_fetch() {
    maven_fetch "Iceberg REST catalog $VERSION" "$POM" "$HOME_DIR" "iceberg-open-api-$VERSION-test-fixtures.jar"
}

if [[ "$CMD" == fetch ]]; then do_fetch; exit 0; fi

if [[ "$CMD" != start && ! -d "$2" ]]; then
    log "$2 does not exist; nothing to do"; exit 0
fi
DIR="$(abs_dir "$2")"
PIDFILE="$DIR/iceberg.pid"

server_pid() {
    local pid
    if pid="$(read_pid "$PIDFILE")"; then echo "$pid"; return 0; fi
    return 1
}

config_probe() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$1/v1/config" 2>/dev/null; }

do_start() {
    local pid
    if pid="$(server_pid)"; then
        [[ -s "$DIR/env.sh" ]] || die "the catalog (pid $pid) runs in $DIR but $DIR/env.sh is missing; stop it first"
        log "already running in $DIR (pid $pid); reusing it"
        return 0
    fi
    command -v java >/dev/null || die "java not found; run tests/services/deps.sh"
    do_fetch
    local port="${ICEBERG_PORT:-$(free_port)}"
    [[ "$port" =~ ^[0-9]+$ ]] || die "ICEBERG_PORT must be a number, got '$port'"
    ! port_in_use "$port" || die "port $port on 127.0.0.1 is already in use"
    mkdir -p "$DIR/warehouse"
    log "starting the Iceberg REST catalog $VERSION on 127.0.0.1:$port (dir $DIR)"
    : >"$DIR/iceberg.out"
    CATALOG_WAREHOUSE="file://$DIR/warehouse" CATALOG_URI="jdbc:sqlite:file:$DIR/catalog.db?journal_mode=WAL&busy_timeout=30000" \
    CATALOG_JDBC_USER=sluice CATALOG_JDBC_PASSWORD=sluice CATALOG_REST_PORT="$port" \
        setsid java -Xmx256m -XX:TieredStopAtLevel=1 -XX:-UsePerfData -cp "$LIBS/*" \
        org.apache.iceberg.rest.RESTCatalogServer </dev/null >>"$DIR/iceberg.out" 2>&1 &
    pid=$!
    echo "$pid" >"$PIDFILE"
    if ! wait_until 90 "GET /v1/config on port $port" "$pid" config_probe "$port"; then
        show_log "$DIR/iceberg.out"
        stop_pid "$pid" 10 iceberg
        rm -f "$PIDFILE"
        die "the Iceberg REST catalog did not become ready (log $DIR/iceberg.out)"
    fi
    write_env "$DIR/env.sh" "ICEBERG_URI=http://127.0.0.1:$port" "ICEBERG_PORT=$port" \
        "ICEBERG_WAREHOUSE=$DIR/warehouse" "ICEBERG_CATALOG_DB=$DIR/catalog.db" "ICEBERG_DIR=$DIR"
    log "ready (pid $pid); source $DIR/env.sh"
}

do_stop() {
    local pid
    if ! pid="$(server_pid)"; then log "not running in $DIR"; rm -f "$PIDFILE"; return 0; fi
    log "stopping the Iceberg REST catalog (pid $pid)"
    stop_pid "$pid" 20 iceberg
    rm -f "$PIDFILE"
}

do_status() {
    local pid
    if pid="$(server_pid)"; then echo "running pid=$pid"; else echo "stopped"; return 3; fi
}

case "$CMD" in
    start) do_start ;;
    stop) do_stop ;;
    status) do_status ;;
esac
