#!/usr/bin/env bash
# bench/iceberg.sh — `make bench-iceberg`: a MariaDB snapshot into Iceberg
# (the iceberg sink, a real REST catalog from tests/services/iceberg.sh)
# beside the same snapshot into the blackhole (the pipeline without a
# sink's work), plus what a reader pays: DuckDB's count(*) over the Iceberg
# table beside the same rows as one Parquet file written by DuckDB.
# Prints rows/s, the ratio, CPU seconds, peak RSS, files and bytes written.
# BENCH_ROWS (default 1000000) sysbench-like rows (id, k, c CHAR(120), pad CHAR(60)).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
ROWS="${BENCH_ROWS:-1000000}"
SLUICE="$REPO/build/sluice"
PY="$REPO/.venv/bin/python"
DIR="$(mktemp -d /tmp/sluice-bench-ice.XXXXXX)"
log() { printf '[bench-iceberg %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
cleanup() {
    bash "$REPO/tests/services/mariadb.sh" stop "$DIR/mariadb" >/dev/null 2>&1 || true
    bash "$REPO/tests/services/iceberg.sh" stop "$DIR/iceberg" >/dev/null 2>&1 || true
    if [[ "${BENCH_KEEP:-0}" == 1 ]]; then log "kept $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
bash "$REPO/tests/services/mariadb.sh" start "$DIR/mariadb" >/dev/null 2>&1
bash "$REPO/tests/services/iceberg.sh" start "$DIR/iceberg" >/dev/null 2>&1
# shellcheck disable=SC1091
source "$DIR/mariadb/env.sh"
# shellcheck disable=SC1091
source "$DIR/iceberg/env.sh"
sql() { mariadb --no-defaults -h 127.0.0.1 -P "$MARIADB_PORT" -u sluice -psluice "$@"; }
log "generating $ROWS rows"
sql -e "CREATE DATABASE snap; CREATE TABLE snap.sbtest (id BIGINT PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL);
        INSERT INTO snap.sbtest SELECT seq, seq * 7919 % 1000003, RPAD(CONCAT(seq, '-', seq * 31), 120, 'c'), RPAD(seq, 60, 'p') FROM snap.seq_1_to_$ROWS;" >/dev/null

pipeline() { # name sink-block
    cat >"$DIR/$1.yaml" <<YAML
source:
  type: mysql
  hostname: 127.0.0.1
  port: $MARIADB_PORT
  username: sluice
  password: sluice
  tables: snap.sbtest
  server-id: 6190
  scan.startup.mode: snapshot
sink:
$2
pipeline:
  name: $1
  checkpoint.interval: 1s
YAML
    echo "$DIR/$1.yaml"
}

measure() { # name yaml -> "wall cpu rss_kib"
    /usr/bin/time -f "%e %U %S %M" -o "$DIR/$1.time" "$SLUICE" run ${BENCH_LOG_LEVEL:+--log-level "$BENCH_LOG_LEVEL"} "$2" >"$DIR/$1.log" 2>&1 || {
        tail -n 20 "$DIR/$1.log" >&2; exit 1; }
    read -r wall user sys rss <"$DIR/$1.time"
    echo "$wall $(echo "$user + $sys" | bc) $rss"
}

read -r bw bc brss <<<"$(measure bh "$(pipeline bh '  type: blackhole')")"
read -r iw ic irss <<<"$(measure ice "$(pipeline ice "  type: iceberg
  catalog.properties.uri: $ICEBERG_URI")")"
files="$(find "$ICEBERG_WAREHOUSE/snap" -type f | wc -l)"
bytes="$(du -sb "$ICEBERG_WAREHOUSE/snap" | cut -f1)"
reads="$("$PY" - "$ICEBERG_URI" "$DIR" "$ROWS" <<'PY'
import sys, time
from pathlib import Path
import duckdb, duckdb_extension_avro, duckdb_extension_httpfs, duckdb_extension_iceberg
uri, d, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
for m in (duckdb_extension_avro, duckdb_extension_httpfs, duckdb_extension_iceberg):
    con.execute(f"LOAD '{next((Path(m.__file__).parent / 'extensions').rglob('*.duckdb_extension'))}'")
con.execute(f"ATTACH 'wh' AS ic (TYPE iceberg, ENDPOINT '{uri}', AUTHORIZATION_TYPE 'none')")
def best(q):
    t = []
    for _ in range(3):
        s = time.perf_counter(); n = con.execute(q).fetchone()[0]; t.append(time.perf_counter() - s)
    assert n == rows, (q, n)
    return min(t)
ice = best("SELECT count(*) FROM ic.snap.sbtest")
con.execute(f"COPY (SELECT * FROM ic.snap.sbtest) TO '{d}/one.parquet' (FORMAT parquet)")
one = best(f"SELECT count(*) FROM '{d}/one.parquet'")
print(f"{ice * 1000:.1f} {one * 1000:.1f}")
PY
)"
read -r ice_ms one_ms <<<"$reads"
rate() { echo "$ROWS / $1" | bc; }
printf '%-44s %12s %10s %8s %10s\n' "scenario ($ROWS rows)" "rows/s" "CPU s" "RSS MiB" "ratio"
printf '%-44s %12s %10s %8s %10s\n' "MariaDB snapshot -> blackhole" "$(rate "$bw")" "$bc" "$((brss / 1024))" "1.00"
printf '%-44s %12s %10s %8s %10s\n' "MariaDB snapshot -> iceberg (exactly-once)" "$(rate "$iw")" "$ic" "$((irss / 1024))" \
    "$(echo "scale=2; $bw / $iw" | bc)"
echo "iceberg: $files files, $bytes bytes; DuckDB count(*): ${ice_ms} ms on the Iceberg table, ${one_ms} ms on one Parquet file of the same rows"
