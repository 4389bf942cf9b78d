#!/usr/bin/env bash
# bench/syscalls.sh — system calls per change event of the two streaming
# read paths (issue 19: "WAL -> blackhole with >= 5x fewer syscalls per
# event"), counted with strace -c, for one or more sluice binaries one
# after the other on the same changes:
#   PostgreSQL  204,166 WAL changes (inserts, updates, deletes of a 100-byte
#               row) read by `sluice migrate --follow-until=now` from a copy
#               of one logical slot, into the blackhole (render: true)
#   MariaDB     the same changes from the binlog (--follow-until the end)
# Not part of `make bench`: strace slows everything it watches, so these
# runs say nothing about speed (the wall and CPU figures printed after each
# count come from a second run without strace).
#
# Usage: bash bench/syscalls.sh [BINARY ...]   (default: build/sluice)
#   e.g. an older build beside today's:
#   git worktree add /tmp/old <commit> && make -C /tmp/old build/sluice
#   bash bench/syscalls.sh /tmp/old/build/sluice build/sluice
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
[[ $# -gt 0 ]] || set -- "$REPO/build/sluice"
command -v strace >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace >/dev/null
[[ -x /usr/bin/time ]] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
DIR="$(mktemp -d /tmp/sluice-syscalls.XXXXXX)"
chmod 0755 "$DIR"   # the PostgreSQL server runs as user postgres
cleanup() {
    bash "$REPO/tests/services/postgres.sh" stop "$DIR/pg" >/dev/null 2>&1 || true
    bash "$REPO/tests/services/mariadb.sh" stop "$DIR/m" >/dev/null 2>&1 || true
    rm -rf "$DIR"
}
trap cleanup EXIT
log() { printf '[syscalls %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
N=116666   # inserts; then every second row updated, every fourth deleted

# count NAME BINARY ARGS... — strace -c of one run, then the same run timed
count() {
    local name="$1" bin="$2"
    shift 2
    rm -rf "$DIR/state" && mkdir -p "$DIR/state"
    (cd "$DIR/state" && strace -f -c -o "$DIR/$name.strace" "$bin" "$@" >/dev/null 2>&1)
    local total reads waits
    total="$(awk '$NF == "total" {print $(NF-2)}' "$DIR/$name.strace")"
    reads="$(awk '$NF == "recvfrom" || $NF == "read" {s += $4} END {print s + 0}' "$DIR/$name.strace")"
    waits="$(awk '$NF == "pselect6" || $NF == "poll" || $NF == "ppoll" {s += $4} END {print s + 0}' "$DIR/$name.strace")"
    "$PREP"
    rm -rf "$DIR/state" && mkdir -p "$DIR/state"
    local timed
    timed="$(cd "$DIR/state" && /usr/bin/time -f '%e s wall, %U+%S s CPU, %M KiB' "$bin" "$@" 2>&1 >/dev/null | tail -n 1)"
    printf '%-10s %-40s %9s calls (%.3f per event): %s reads, %s waits; %s\n' "$name" "$bin" "$total" \
        "$(echo "$total / $EVENTS" | bc -l)" "$reads" "$waits" "$timed"
}

log "PostgreSQL: $N inserts, then updates and deletes"
bash "$REPO/tests/services/postgres.sh" start "$DIR/pg" >/dev/null
# shellcheck disable=SC1091
source "$DIR/pg/env.sh"
export PGPASSWORD=sluice
psql() { command psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U sluice -v ON_ERROR_STOP=1 "$@"; }
psql -d sluice -c "CREATE DATABASE bench" >/dev/null
psql -d bench -c "CREATE TABLE chg (id BIGINT PRIMARY KEY, k INT NOT NULL, c CHAR(100) NOT NULL);
    CREATE PUBLICATION sluice_bench FOR TABLE chg" >/dev/null
psql -d bench -c "SELECT pg_create_logical_replication_slot('template', 'pgoutput')" >/dev/null
psql -d bench -c "INSERT INTO chg SELECT g, g, RPAD(g::text, 100, 'x') FROM generate_series(1, $N) g" >/dev/null
psql -d bench -c "UPDATE chg SET k = k + 1 WHERE id % 2 = 0" >/dev/null
psql -d bench -c "DELETE FROM chg WHERE id % 4 = 1" >/dev/null
EVENTS="$(psql -d bench -At -c "SELECT $N + $N / 2 + count(*) FILTER (WHERE id % 4 = 1) FROM generate_series(1, $N) id")"
cat >"$DIR/pg.yaml" <<YAML
source:
  type: postgres
  hostname: 127.0.0.1
  port: $PG_PORT
  username: sluice
  password: sluice
  database-name: bench
  tables: public.chg
  slot.name: syscalls
  publication.name: sluice_bench
  scan.startup.mode: committed-offset
sink:
  type: blackhole
  render: true
pipeline:
  name: syscalls
YAML
pg_slot() {
    psql -d bench -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
                      WHERE slot_name = 'syscalls' AND NOT active" >/dev/null
    psql -d bench -c "SELECT pg_copy_logical_replication_slot('template', 'syscalls')" >/dev/null
}
PREP=pg_slot
log "PostgreSQL WAL -> blackhole: $EVENTS events"
for bin in "$@"; do
    pg_slot
    count "pg wal" "$bin" migrate --follow-until=now "$DIR/pg.yaml"
done

log "MariaDB: the same changes"
bash "$REPO/tests/services/mariadb.sh" start "$DIR/m" >/dev/null
# shellcheck disable=SC1091
source "$DIR/m/env.sh"
my() { mariadb -S "$MARIADB_SOCKET" -u root -N "$@"; }
my -e "CREATE DATABASE chg; CREATE TABLE chg.t (id BIGINT PRIMARY KEY, k INT NOT NULL, c CHAR(100) NOT NULL);
       FLUSH BINARY LOGS"
read -r file pos < <(my -e "SHOW MASTER STATUS" | awk '{print $1, $2}')
my -e "INSERT INTO chg.t SELECT seq, seq, RPAD(seq, 100, 'x') FROM chg.seq_1_to_$N;
       UPDATE chg.t SET k = k + 1 WHERE id % 2 = 0; DELETE FROM chg.t WHERE id % 4 = 1"
read -r efile epos < <(my -e "SHOW MASTER STATUS" | awk '{print $1, $2}')
cat >"$DIR/my.yaml" <<YAML
source:
  type: mysql
  hostname: 127.0.0.1
  port: $MARIADB_PORT
  username: sluice
  password: sluice
  tables: chg.t
  server-id: 7777
  scan.startup.mode: specific-offset
  scan.startup.specific-offset.file: $file
  scan.startup.specific-offset.pos: $pos
sink:
  type: blackhole
  render: true
pipeline:
  name: syscalls
YAML
PREP=true
log "MariaDB binlog -> blackhole: $EVENTS events"
for bin in "$@"; do
    count "binlog" "$bin" migrate --follow-until="$efile:$epos" "$DIR/my.yaml"
done
