#!/usr/bin/env bash
# tests/demo.sh — `make demo`: a real pipeline on this machine in a minute.
# Starts a private MariaDB with a small shop database, runs sluice into the
# file sink, then inserts, updates and deletes a few rows and shows each
# change as sluice captured it. Cleans up everything on exit.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
SLUICE="$REPO/build/sluice"
DIR="$(mktemp -d /tmp/sluice-demo.XXXXXX)"
SLUICE_PID=""

cleanup() {
    [[ -n "$SLUICE_PID" ]] && kill "$SLUICE_PID" 2>/dev/null && wait "$SLUICE_PID" 2>/dev/null || true
    bash "$REPO/tests/services/mariadb.sh" stop "$DIR/mariadb" >/dev/null 2>&1 || true
    rm -rf "$DIR"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "starting a private MariaDB (binlog_format=ROW, binlog_row_metadata=FULL)"
bash "$REPO/tests/services/mariadb.sh" start "$DIR/mariadb" >/dev/null
# shellcheck disable=SC1091
source "$DIR/mariadb/env.sh"
sql() { mariadb --no-defaults -h 127.0.0.1 -P "$MARIADB_PORT" -u sluice -psluice "$@"; }

say "creating database shop with sample data"
sql <<'SQL'
CREATE DATABASE shop;
CREATE TABLE shop.customers (
  id INT UNSIGNED PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(100) NOT NULL,
  email VARCHAR(200),
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
);
CREATE TABLE shop.orders (
  id BIGINT UNSIGNED PRIMARY KEY AUTO_INCREMENT,
  customer_id INT UNSIGNED NOT NULL,
  total DECIMAL(12,2) NOT NULL,
  status ENUM('new','paid','shipped') NOT NULL DEFAULT 'new'
);
INSERT INTO shop.customers (name, email) VALUES ('Ada', 'ada@example.com'), ('Linus', NULL);
INSERT INTO shop.orders (customer_id, total) VALUES (1, 19.99), (2, 250.00);
SQL
sql -t -e "SELECT * FROM shop.customers; SELECT * FROM shop.orders"

cat >"$DIR/pipeline.yaml" <<YAML
source:
  type: mysql
  hostname: 127.0.0.1
  port: $MARIADB_PORT
  username: sluice
  password: \${env:MARIADB_PASSWORD}
  tables: shop.\.*
  server-id: 5401
  scan.startup.mode: initial
sink:
  type: file
  path: $DIR/changes.jsonl
pipeline:
  name: demo
  checkpoint.interval: 200ms
YAML
say "pipeline file ($DIR/pipeline.yaml)"
cat "$DIR/pipeline.yaml"

say "sluice check --connect"
"$SLUICE" check --connect "$DIR/pipeline.yaml"

say "sluice run (capturing into $DIR/changes.jsonl)"
"$SLUICE" run "$DIR/pipeline.yaml" 2>"$DIR/sluice.log" &
SLUICE_PID=$!

show_new() {
    # waits until the file has at least $1 lines, then prints lines from $2 on
    local want="$1" from="$2" i
    for i in $(seq 1 100); do
        [[ -f "$DIR/changes.jsonl" && $(wc -l <"$DIR/changes.jsonl") -ge $want ]] && break
        sleep 0.1
    done
    tail -n +"$from" "$DIR/changes.jsonl" | python3 "$REPO/tests/demo_show.py"
}


say "the rows already in the tables: a lock-free snapshot (op=r)"
show_new 6 1
n=$(wc -l <"$DIR/changes.jsonl")

say "INSERT, UPDATE, DELETE"
sql -e "INSERT INTO shop.customers (name, email) VALUES ('Grace', 'grace@example.com');
        UPDATE shop.orders SET status='paid', total=total+5 WHERE id=1;
        DELETE FROM shop.orders WHERE id=2;"
show_new $((n + 3)) $((n + 1))
n=$(wc -l <"$DIR/changes.jsonl")

say "ALTER TABLE, then an insert of the new shape"
sql -e "ALTER TABLE shop.customers ADD COLUMN vip BOOLEAN NOT NULL DEFAULT FALSE;
        INSERT INTO shop.customers (name, vip) VALUES ('Barbara', TRUE);"
show_new $((n + 2)) $((n + 1))

say "stopping sluice (SIGTERM): it commits a final checkpoint"
kill -TERM "$SLUICE_PID"; wait "$SLUICE_PID"; SLUICE_PID=""
"$SLUICE" status "$DIR/pipeline.yaml"
say "one captured change in full"
tail -n 1 "$DIR/changes.jsonl" | python3 -m json.tool
