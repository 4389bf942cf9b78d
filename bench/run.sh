#!/usr/bin/env bash
# bench/run.sh — `make bench`: sluice beside the physical limit, measured in
# the same run on the same data. Starts its own MariaDB (tests/services),
# generates deterministic data server-side, and prints a table of rates,
# ratios, CPU seconds and peak RSS; every figure also goes to
# bench/out/results-<time>.json.
#
# Scenarios (MariaDB):
#   snapshot   N rows (id, k, c, pad): `mariadb --quick -e 'SELECT *' > /dev/null`
#              vs `sluice migrate` (initial, blackhole sink rendering JSON),
#              with parallelism 1 and 2
#   binlog     M row changes (insert/update/delete mix): `mariadb-binlog
#              --read-from-remote-server` of the same range to /dev/null vs
#              `sluice migrate` (earliest-offset, blackhole sink rendering JSON)
#   kafka      the same binlog range into a real Kafka broker, exactly-once,
#              vs bench/raw_produce (bare librdkafka, the same number of
#              pre-built messages of the same average size)
#   latency    commit-to-visible latency MariaDB -> Kafka (read_committed)
#              at a steady 10k rows/s, checkpoint.interval 100ms
#              (bench/latency.py)
# Sizes: BENCH_ROWS (default 2000000), BENCH_CHANGES (default 1000000).
# Every measurement is the best of three runs.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
SLUICE="$REPO/build/sluice"
ROWS="${BENCH_ROWS:-2000000}"
CHANGES="${BENCH_CHANGES:-1000000}"
OUT="$REPO/bench/out"
mkdir -p "$OUT"
DIR="$(mktemp -d /tmp/sluice-bench.XXXXXX)"
cleanup() {
    bash "$REPO/tests/services/mariadb.sh" stop "$DIR/mariadb" >/dev/null 2>&1 || true
    bash "$REPO/tests/services/kafka.sh" stop "$DIR/kafka" >/dev/null 2>&1 || true
    rm -rf "$DIR"
}
trap cleanup EXIT

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

bash "$REPO/tests/services/mariadb.sh" start "$DIR/mariadb" >/dev/null
# shellcheck disable=SC1091
source "$DIR/mariadb/env.sh"
sql() { mariadb --no-defaults -h 127.0.0.1 -P "$MARIADB_PORT" -u sluice -psluice "$@"; }

# best NAME CMD... — the fastest of three runs of measure (short runs are
# noisy on a shared machine: background flushing, another process)
best() {
    local name="$1"; shift
    for i in 1 2 3; do measure "$name$i" "$@"; done | sort -n | head -n 1
}

# measure NAME CMD... — wall seconds, CPU seconds and peak RSS of a command
measure() {
    local name="$1"; shift
    /usr/bin/time -f "%e %U %S %M" -o "$DIR/$name.time" "$@" >/dev/null 2>"$DIR/$name.err" || {
        cat "$DIR/$name.err" >&2; return 1; }
    read -r wall user sys rss <"$DIR/$name.time"
    echo "$wall $(echo "$user + $sys" | bc) $rss"
}

pipeline() { # startup parallelism table-regex
    cat >"$DIR/p-$1-$2.yaml" <<YAML
source:
  type: mysql
  hostname: 127.0.0.1
  port: $MARIADB_PORT
  username: sluice
  password: sluice
  tables: $3
  server-id: 6100
  scan.startup.mode: $1
sink:
  type: blackhole
  render: true
pipeline:
  name: bench
  parallelism: $2
  checkpoint.interval: 1s
YAML
    echo "$DIR/p-$1-$2.yaml"
}

command -v bc >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bc >/dev/null
[[ -x /usr/bin/time ]] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null

log "generating $ROWS rows (sysbench-like id, k, c, pad)"
sql -e "CREATE DATABASE snap; CREATE TABLE snap.sbtest (id BIGINT PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL);
        INSERT INTO snap.sbtest SELECT seq, seq * 7919 % 1000003, RPAD(CONCAT(seq, '-', seq * 31), 120, 'c'), RPAD(seq, 60, 'p') FROM snap.seq_1_to_$ROWS;
        ANALYZE TABLE snap.sbtest;" >/dev/null

log "snapshot limit: mariadb --quick SELECT * > /dev/null"
read -r lim_wall lim_cpu lim_rss < <(best scan_limit mariadb --no-defaults -h 127.0.0.1 -P "$MARIADB_PORT" \
    -u sluice -psluice --quick -e "SELECT * FROM snap.sbtest")
results=()
for par in 1 2; do
    log "snapshot: sluice migrate, parallelism $par"
    read -r w c r < <(best "snap$par" "$SLUICE" migrate "$(pipeline initial $par 'snap.sbtest')")
    results+=("snapshot_p$par $w $c $r")
done

log "generating $CHANGES binlog row changes"
read -r bfile bpos < <(sql -N -e "SHOW MASTER STATUS" | awk '{print $1, $2}')
sql -e "CREATE DATABASE chg; CREATE TABLE chg.t (id BIGINT PRIMARY KEY, k INT NOT NULL, c CHAR(100) NOT NULL);" >/dev/null
third=$((CHANGES / 2))
sql -e "INSERT INTO chg.t SELECT seq, seq, RPAD(seq, 100, 'x') FROM chg.seq_1_to_$third;
        UPDATE chg.t SET k = k + 1 WHERE id % 2 = 0;
        DELETE FROM chg.t WHERE id % 4 = 1;" >/dev/null
events=$((third + third / 2 + third / 4))
read -r efile epos < <(sql -N -e "SHOW MASTER STATUS" | awk '{print $1, $2}')

log "binlog limit: mariadb-binlog --read-from-remote-server > /dev/null"
read -r blim_wall blim_cpu blim_rss < <(best binlog_limit mariadb-binlog --read-from-remote-server -h 127.0.0.1 \
    -P "$MARIADB_PORT" -u sluice -psluice --start-position="$bpos" --stop-position="$epos" "$bfile")
cat >"$DIR/p-binlog.yaml" <<YAML
source:
  type: mysql
  hostname: 127.0.0.1
  port: $MARIADB_PORT
  username: sluice
  password: sluice
  tables: chg.t
  server-id: 6101
  scan.startup.mode: specific-offset
  scan.startup.specific-offset.file: $bfile
  scan.startup.specific-offset.pos: $bpos
sink:
  type: blackhole
  render: true
pipeline:
  name: bench-binlog
YAML
log "binlog: sluice migrate --follow-until=$efile:$epos"
read -r w c r < <(best binlog "$SLUICE" migrate --follow-until="$efile:$epos" "$DIR/p-binlog.yaml")
results+=("binlog $w $c $r")

log "starting a Kafka broker"
bash "$REPO/tests/services/kafka.sh" start "$DIR/kafka" >/dev/null
# shellcheck disable=SC1091
source "$DIR/kafka/env.sh"
# every run writes its own topics (a fresh prefix and pipeline name); a
# script, so that /usr/bin/time measures sluice itself (exec)
cat >"$DIR/sluice_kafka.sh" <<SH
#!/usr/bin/env bash
n=\$(( \$(cat "$DIR/kafka_runs" 2>/dev/null || echo 0) + 1 ))
echo \$n >"$DIR/kafka_runs"
cat >"$DIR/p-kafka-\$n.yaml" <<YAML
source:
  type: mysql
  hostname: 127.0.0.1
  port: $MARIADB_PORT
  username: sluice
  password: sluice
  tables: chg.t
  server-id: 6102
  scan.startup.mode: specific-offset
  scan.startup.specific-offset.file: $bfile
  scan.startup.specific-offset.pos: $bpos
sink:
  type: kafka
  properties.bootstrap.servers: $KAFKA_BOOTSTRAP
  topic.prefix: kb\$n
pipeline:
  name: kb\$n
YAML
exec "$SLUICE" migrate --follow-until="$efile:$epos" "$DIR/p-kafka-\$n.yaml"
SH
kmsgs=$((events + third / 4))  # every delete is followed by its tombstone
log "kafka limit: raw librdkafka producer, $kmsgs messages of 440 bytes"
read -r klim_wall klim_cpu klim_rss < <(best kafka_limit "$REPO/build/bench/raw_produce" "$KAFKA_BOOTSTRAP" raw \
    "$kmsgs" 440)
log "kafka: sluice migrate binlog -> kafka (exactly-once)"
read -r w c r < <(best kafka bash "$DIR/sluice_kafka.sh")
results+=("kafka $w $c $r")

log "latency: 10k rows/s, checkpoint.interval 100ms, read_committed consumer"
latency_json="$("$REPO/.venv/bin/python" "$REPO/bench/latency.py" --mysql-port "$MARIADB_PORT" \
    --bootstrap "$KAFKA_BOOTSTRAP" --sluice "$SLUICE" --workdir "$DIR/latency" --rate 10000 --seconds 20)"

stamp=$(date +%Y%m%dT%H%M%S)
python3 - "$ROWS" "$events" "$lim_wall" "$lim_cpu" "$lim_rss" "$blim_wall" "$blim_cpu" "$blim_rss" \
    "$OUT/results-$stamp.json" "$klim_wall $klim_cpu $klim_rss" "$latency_json" "${results[@]}" <<'PY'
import json, sys
rows, events = int(sys.argv[1]), int(sys.argv[2])
lim = dict(wall=float(sys.argv[3]), cpu=float(sys.argv[4]), rss_kib=int(sys.argv[5]))
blim = dict(wall=float(sys.argv[6]), cpu=float(sys.argv[7]), rss_kib=int(sys.argv[8]))
out_path = sys.argv[9]
kw, kc, kr = sys.argv[10].split()
klim = dict(wall=float(kw), cpu=float(kc), rss_kib=int(kr))
latency = json.loads(sys.argv[11])
res = {}
for r in sys.argv[12:]:
    name, w, c, rss = r.split()
    res[name] = dict(wall=float(w), cpu=float(c), rss_kib=int(rss))
table = []
def row(name, count, unit, m, limit):
    rate = count / m["wall"]
    lrate = count / limit["wall"]
    table.append(dict(scenario=name, unit=unit, count=count, rate=rate, limit_rate=lrate, ratio=rate / lrate,
                      cpu_s=m["cpu"], rss_mib=m["rss_kib"] / 1024, limit_cpu_s=limit["cpu"],
                      debezium="not measured (bench/peers pending, issue 7)"))
row("snapshot p=1 -> blackhole", rows, "rows/s", res["snapshot_p1"], lim)
row("snapshot p=2 -> blackhole", rows, "rows/s", res["snapshot_p2"], lim)
row("binlog -> blackhole", events, "events/s", res["binlog"], blim)
row("binlog -> kafka (EO)", events, "events/s", res["kafka"], klim)
print(f"{'scenario':28} {'sluice':>14} {'limit':>14} {'sluice/limit':>12} {'CPU s':>7} {'peak RSS':>10}")
for t in table:
    print(f"{t['scenario']:28} {t['rate']:>11.0f} {t['unit'][:-2]:>2} {t['limit_rate']:>11.0f} {t['unit'][:-2]:>2} "
          f"{t['ratio']:>12.2f} {t['cpu_s']:>7.1f} {t['rss_mib']:>7.1f} MiB")
print(f"speed-up parallelism 1 -> 2: {res['snapshot_p1']['wall'] / res['snapshot_p2']['wall']:.2f}x")
print(f"commit-to-visible latency at {latency['rate']:.0f} rows/s (checkpoint.interval 100ms, read_committed): "
      f"p50 {latency['p50_ms']:.0f} ms, p99 {latency['p99_ms']:.0f} ms, max {latency['max_ms']:.0f} ms; "
      f"sluice {latency['cpu_s']:.1f} CPU s, {latency['rss_kib'] / 1024:.1f} MiB peak RSS; "
      f"{latency['received']} of {latency['sent']} rows seen")
print("limits: snapshot = mariadb --quick SELECT * > /dev/null; binlog = mariadb-binlog --read-from-remote-server "
      "> /dev/null; kafka = bench/raw_produce (bare librdkafka, same message count, 440-byte values)")
json.dump(dict(rows=rows, events=events, limit_scan=lim, limit_binlog=blim, limit_kafka=klim, latency=latency,
               runs=res, table=table), open(out_path, "w"), indent=2)
print(f"all figures: {out_path}")
PY
