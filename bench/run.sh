#!/usr/bin/env bash
# bench/run.sh — `make bench`: sluice beside the physical limit and beside
# Debezium's embedded engine, measured in the same run on the same data.
# Starts its own MariaDB, PostgreSQL and Kafka (tests/services), generates
# deterministic data server-side, and prints a table of rates, ratios, CPU
# seconds and peak RSS; every figure also goes to
# bench/out/results-<time>.json, and a chart to bench/out/chart-<time>.png
# when gnuplot is available. See bench/README.md.
#
# Scenarios (MariaDB):
#   snapshot       N rows (id, k, c, pad) -> blackhole, parallelism 1 and 2;
#                  limit `mariadb --quick -e 'SELECT *' > /dev/null`
#   transform      the p=1 snapshot through a transform of three computed
#                  columns and a filter; compared with the p=1 snapshot
#   snapshot wide  a 20-column table of mixed types -> blackhole
#   snapshot under writes  the p=2 snapshot while bench/writer.py updates
#                  5k rows/s of the table, algorithm snapshot-position and
#                  watermark (group `watermark`; goal: watermark >= 0.9x)
#   snapshot kafka the sysbench-like table into Kafka (exactly-once);
#                  limit bench/raw_produce with the same message count and
#                  sluice's average envelope size
#   binlog         M row changes (insert/update/delete mix) -> blackhole;
#                  limit `mariadb-binlog --read-from-remote-server` > /dev/null
#   binlog kafka   the same range into Kafka (exactly-once); limit raw_produce
#   latency        commit-to-visible latency MariaDB -> Kafka at 10k rows/s
#                  (bench/latency.py)
#   snapshot ch    the sysbench-like table into ClickHouse (26.9's engine,
#                  tests/services/clickhouse.sh); limit bench/ch_replay.py
#                  POSTing the very INSERTs sluice sent (captured by the front
#                  in an untimed run) into a copy of the table
#   binlog ch      the change range into ClickHouse; limit the same replay
#   snapshot ice   the sysbench-like table into Iceberg (exactly-once, a REST
#                  catalog from tests/services/iceberg.sh); compared with the
#                  same `sluice run` into the blackhole, plus files, bytes and
#                  DuckDB's count(*) on the table (bench/iceberg_read.py)
#   binlog ice     the change range into Iceberg (25% deletes); the same
# Scenarios (PostgreSQL 15):
#   snapshot       the sysbench-like table -> blackhole, parallelism 1 and 2;
#                  limit `COPY (SELECT *) TO STDOUT`
#   snapshot kafka the same into Kafka; limit raw_produce
#   wal            the same change mix -> blackhole; limit `pg_recvlogical`
#                  (pgoutput) of the same WAL range to /dev/null
#   wal kafka      the same into Kafka; limit raw_produce
#   latency        as for MariaDB
#   (sluice's side is skipped while `sluice describe postgres` fails)
# Peer: Debezium 3.5 embedded engine (bench/peers), JSON converter, in every
# snapshot and streaming scenario.
#
# Sizes: BENCH_ROWS (default 2000000), BENCH_WIDE_ROWS (default 500000),
# BENCH_CHANGES (default 1000000). sluice and the limits are the best of
# BENCH_RUNS (default 3) runs; Debezium of BENCH_DEBEZIUM_RUNS (default 1).
# BENCH_DEBEZIUM=0 skips the peer; DEBEZIUM_HEAP (default 512m) is its -Xmx.
# BENCH_SLUICE=path benchmarks another sluice binary (default build/sluice).
# BENCH_KEEP=1 keeps the work directory (logs of every run) for inspection.
# BENCH_KAFKA_CURVE=1 adds binlog -> Kafka runs at four producer queue sizes
# (throughput against peak RSS). BENCH_KAFKA_PAIRS=N adds N runs of the two
# MariaDB -> Kafka scenarios with sluice and the bare producer in turns, for
# the median ratio of neighbouring runs.
# BENCH_ONLY=mariadb,watermark,kafka,postgres,clickhouse,iceberg,ha runs only those groups
# (BENCH_ONLY=scale, `make bench-scale`: the scale curve, a big transaction and
# the latency under load, alone; bench/scale.sh)
# (pgsnap alone: only the PostgreSQL snapshot into the blackhole and its COPY
# limit, without MariaDB, Kafka or the WAL scenarios);
# (ha: failover time of a high-availability group, bench/ha_failover.py;
# BENCH_FAILOVERS, default 20, kills per mode).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
BUILT_SLUICE="${BENCH_SLUICE:-$REPO/build/sluice}"
ROWS="${BENCH_ROWS:-2000000}"
WIDE_ROWS="${BENCH_WIDE_ROWS:-500000}"
CHANGES="${BENCH_CHANGES:-1000000}"
RUNS="${BENCH_RUNS:-3}"
DBZ="${BENCH_DEBEZIUM:-1}"
DBZ_RUNS="${BENCH_DEBEZIUM_RUNS:-1}"
DBZ_HEAP="${DEBEZIUM_HEAP:-512m}"
ONLY="${BENCH_ONLY:-}"
want() { [[ -z "$ONLY" || ",$ONLY," == *",$1,"* ]]; }
want mariadb || want kafka || want postgres || DBZ=0
! want postgres || want kafka || ONLY="$ONLY,kafka"   # the postgres scenarios write to Kafka too
PEERS="$REPO/bench/peers"
OUT="$REPO/bench/out"
mkdir -p "$OUT"
DIR="$(mktemp -d /tmp/sluice-bench.XXXXXX)"
chmod 0755 "$DIR"   # the PostgreSQL server runs as user postgres
# a private copy, so that a rebuild during the run cannot change the binary
SLUICE="$DIR/sluice"
cp "$BUILT_SLUICE" "$SLUICE"
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
cleanup() {
    bash "$REPO/tests/services/mariadb.sh" stop "$DIR/mariadb" >/dev/null 2>&1 || true
    bash "$REPO/tests/services/postgres.sh" stop "$DIR/pg" >/dev/null 2>&1 || true
    bash "$REPO/tests/services/kafka.sh" stop "$DIR/kafka" >/dev/null 2>&1 || true
    bash "$REPO/tests/services/schema_registry.sh" stop "$DIR/registry" >/dev/null 2>&1 || true
    bash "$REPO/tests/services/clickhouse.sh" stop "$DIR/clickhouse" >/dev/null 2>&1 || true
    bash "$REPO/tests/services/iceberg.sh" stop "$DIR/iceberg" >/dev/null 2>&1 || true
    if [[ "${BENCH_KEEP:-0}" == 1 ]]; then log "kept $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

[[ -x "$REPO/build/bench/raw_produce" ]] || make -C "$REPO" -s build/bench/raw_produce >&2
command -v bc >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bc >/dev/null
[[ -x /usr/bin/time ]] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
command -v gnuplot >/dev/null ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox >/dev/null 2>&1 ||
    log "gnuplot-nox could not be installed; no chart"

# ---------------------------------------------------------------- measuring
FIG="$DIR/figures"   # one line per measurement: KEY WALL CPU RSS_KIB SEEN [peer figures]
: >"$FIG"

# measure NAME CMD... — wall seconds, CPU seconds and peak RSS of a command
measure() {
    local name="$1"; shift
    /usr/bin/time -f "%e %U %S %M" -o "$DIR/$name.time" "$@" >/dev/null 2>"$DIR/$name.err" || {
        tail -n 20 "$DIR/$name.err" >&2; return 1; }
    read -r wall user sys rss <"$DIR/$name.time"
    echo "$wall $(echo "$user + $sys" | bc) $rss"
}

# run KEY N CMD... — the fastest of N runs (short runs are noisy on a shared
# machine) goes to $FIG; $PREP, when set, is called as `$PREP KEY I` before
# each run, outside the measurement. A failure is recorded, not fatal.
PREP=""
run() {
    local key="$1" n="$2" i line best="" peer="" seen="-"
    shift 2
    for ((i = 1; i <= n; i++)); do
        [[ -z "$PREP" ]] || "$PREP" "$key" "$i"
        if ! line="$(measure "$key.$i" "$@")"; then
            log "$key: run $i failed (log above)"
            echo "$key FAILED" >>"$FIG"
            return 0
        fi
        if [[ -z "$best" ]] || (($(echo "${line%% *} < ${best%% *}" | bc))); then
            best="$line"
            # the Debezium driver's own figures: bytes rendered, first/last event
            # the events sluice's sink saw (blackhole; kafka counts the
            # schema-change event too), to check every run is complete
            seen="$(sed -n -e 's/.*blackhole sink: \([0-9]*\) events.*/\1/p' \
                -e 's/.*pipeline [^ ]* stopped: \([0-9]*\) events.*/\1/p' "$DIR/$key.$i.err" | head -n 1)"
            [[ -n "$seen" ]] || seen="-"
            peer="$(sed -n 's/^debezium-peer: [0-9]* of [0-9]* events, \([0-9]*\) bytes rendered, first event at \([0-9.]*\) s, last at \([0-9.]*\) s$/\1 \2 \3/p' \
                "$DIR/$key.$i.err")"
        fi
    done
    echo "$key $best $seen $peer" >>"$FIG"
}

# ------------------------------------------------------------ the Debezium peer
DBZ_CP="$PEERS/target/classes:$PEERS/target/lib/*"
# bench/peers/build.sh rebuilds it only when its sources changed
build_peer() { bash "$PEERS/build.sh" >/dev/null; }
if [[ "$DBZ" == 1 ]] && ! build_peer; then
    log "the Debezium peer could not be built; Debezium columns stay empty"
    DBZ=0
fi
# dbz KEY PROPERTIES EXPECTED [BOOTSTRAP] — a script per scenario, so that
# /usr/bin/time measures the JVM itself (exec); with BOOTSTRAP every run
# sends to topics of its own (prefix dbz<run>)
dbz_script() {
    local key="$1" props="$2" expected="$3" bootstrap="${4:-}"
    local extra=""
    [[ -z "$bootstrap" ]] || extra="$bootstrap dbz\$(cat \"$DIR/$key.run\")"
    cat >"$DIR/$key.sh" <<SH
#!/usr/bin/env bash
exec java -Xmx$DBZ_HEAP -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$DBZ_CP" \
    io.sluice.bench.DebeziumPeer "$props" $expected $extra
SH
    echo "$DIR/$key.sh"
}
# a fresh offset store and schema history for every Debezium run
dbz_prep() {
    rm -f "$DIR/$1.offsets" "$DIR/$1.history"
    echo "$2" >"$DIR/$1.run"
}
# dbz_mariadb KEY TABLE SNAPSHOT_MODE [extra properties...]
dbz_mariadb() {
    local key="$1" table="$2" mode="$3"
    shift 3
    {
        cat <<EOF
connector.class=io.debezium.connector.mariadb.MariaDbConnector
database.hostname=127.0.0.1
database.port=$MARIADB_PORT
database.user=sluice
database.password=sluice
database.server.id=6200
topic.prefix=bench
database.include.list=${table%%.*}
table.include.list=$table
include.schema.changes=false
tombstones.on.delete=false
snapshot.mode=$mode
offset.storage=org.apache.kafka.connect.storage.FileOffsetBackingStore
offset.storage.file.filename=$DIR/$key.offsets
schema.history.internal=io.debezium.storage.file.history.FileSchemaHistory
schema.history.internal.file.filename=$DIR/$key.history
EOF
        printf '%s\n' "$@"
    } >"$DIR/$key.properties"
    echo "$DIR/$key.properties"
}
# dbz_postgres KEY TABLE SNAPSHOT_MODE SLOT [extra properties...]
dbz_postgres() {
    local key="$1" table="$2" mode="$3" slot="$4"
    shift 4
    {
        cat <<EOF
connector.class=io.debezium.connector.postgresql.PostgresConnector
database.hostname=127.0.0.1
database.port=$PG_PORT
database.user=sluice
database.password=sluice
database.dbname=bench
topic.prefix=bench
table.include.list=$table
plugin.name=pgoutput
slot.name=$slot
publication.name=sluice_bench
publication.autocreate.mode=disabled
tombstones.on.delete=false
snapshot.mode=$mode
offset.storage=org.apache.kafka.connect.storage.FileOffsetBackingStore
offset.storage.file.filename=$DIR/$key.offsets
EOF
        printf '%s\n' "$@"
    } >"$DIR/$key.properties"
    echo "$DIR/$key.properties"
}

# ------------------------------------------------------------------ MariaDB
events=0
if [[ "$ONLY" != pgsnap ]]; then
bash "$REPO/tests/services/mariadb.sh" start "$DIR/mariadb" >/dev/null
# shellcheck disable=SC1091
source "$DIR/mariadb/env.sh"
fi  # not pgsnap alone
sql() { mariadb --no-defaults -h 127.0.0.1 -P "$MARIADB_PORT" -u sluice -psluice "$@"; }

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

mysql_source() { # TABLE-REGEX STARTUP-YAML
    printf '%s\n' "  type: mysql" "  hostname: 127.0.0.1" "  port: $MARIADB_PORT" "  username: sluice" \
        "  password: sluice" "  tables: $1" "  server-id: 6102" "$2"
}

# sink_script KEY SOURCE-YAML SINK-YAML COMMAND [PIPELINE-YAML] — a script running sluice on a
# pipeline of its own per run (\$n in SINK-YAML is the run's number), so that
# /usr/bin/time measures sluice itself (exec)
sink_script() {
    cat >"$DIR/$1.sh" <<SH
#!/usr/bin/env bash
n=\$(( \$(cat "$DIR/$1.runs" 2>/dev/null || echo 0) + 1 ))
echo \$n >"$DIR/$1.runs"
cat >"$DIR/p-$1-\$n.yaml" <<YAML
source:
$2
sink:
$3
pipeline:
  name: $1\$n${5:+
$5}
YAML
exec "$SLUICE" $4 "$DIR/p-$1-\$n.yaml"
SH
    echo "$DIR/$1.sh"
}

psql() { command psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U sluice -v ON_ERROR_STOP=1 "$@"; }
pg_source() { # TABLE STARTUP SLOT
    printf '%s\n' "  type: postgres" "  hostname: 127.0.0.1" "  port: $PG_PORT" "  username: sluice" \
        "  password: sluice" "  database-name: bench" "  tables: public.$1" "  slot.name: $3" \
        "  publication.name: sluice_bench" "  scan.startup.mode: $2"
}
# BENCH_ONLY=scale (make bench-scale): the scale curve, the big transaction
# and the latency under load run alone, on tables of their own
if [[ ",$ONLY," == *",scale,"* ]]; then
    # shellcheck source=bench/scale.sh
    source "$REPO/bench/scale.sh"
    exit 0
fi

if [[ "$ONLY" != pgsnap ]]; then
log "generating $ROWS rows (sysbench-like id, k, c, pad)"
sql -e "CREATE DATABASE snap; CREATE TABLE snap.sbtest (id BIGINT PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL);
        INSERT INTO snap.sbtest SELECT seq, seq * 7919 % 1000003, RPAD(CONCAT(seq, '-', seq * 31), 120, 'c'), RPAD(seq, 60, 'p') FROM snap.seq_1_to_$ROWS;
        ANALYZE TABLE snap.sbtest;" >/dev/null
fi  # not pgsnap alone

if want mariadb; then
log "generating $WIDE_ROWS rows of a 20-column table of mixed types"
sql -e "CREATE DATABASE wide; CREATE TABLE wide.t (
          id BIGINT PRIMARY KEY, ti TINYINT NOT NULL, si SMALLINT NOT NULL, mi MEDIUMINT NOT NULL,
          i INT UNSIGNED NOT NULL, bi BIGINT NOT NULL, f FLOAT NOT NULL, d DOUBLE NOT NULL,
          amount DECIMAL(12,2) NOT NULL, flag BIT(1) NOT NULL, yr YEAR NOT NULL, dt DATE NOT NULL,
          tm TIME(3) NOT NULL, created DATETIME(6) NOT NULL, updated TIMESTAMP(3) NOT NULL,
          name VARCHAR(64) NOT NULL, status ENUM('new','paid','shipped','returned') NOT NULL,
          note TEXT NULL, payload BLOB NULL, attrs JSON NULL);
        INSERT INTO wide.t SELECT seq, seq % 128, seq % 32768, seq % 8388608, seq * 2654435761 % 4294967296,
          seq * 1000003, seq / 7, seq / 13, (seq % 1000000) / 100 + 0.25, seq % 2, 1901 + seq % 255,
          DATE'2000-01-01' + INTERVAL seq % 9000 DAY, SEC_TO_TIME(seq % 86400) + INTERVAL 0.125 SECOND,
          TIMESTAMP'2020-01-01 00:00:00' + INTERVAL seq SECOND + INTERVAL 0.000321 SECOND,
          TIMESTAMP'2021-01-01 00:00:00' + INTERVAL seq SECOND,
          CONCAT('customer-', seq), ELT(1 + seq % 4, 'new', 'paid', 'shipped', 'returned'),
          IF(seq % 10 = 0, NULL, RPAD(CONCAT('note ', seq), 40 + seq % 60, '.')),
          UNHEX(SHA2(seq, 256)), IF(seq % 5 = 0, NULL, JSON_OBJECT('id', seq, 'tags', JSON_ARRAY('a', seq % 7), 'ok', seq % 2 = 0))
          FROM wide.seq_1_to_$WIDE_ROWS;
        ANALYZE TABLE wide.t;" >/dev/null

log "snapshot limit: mariadb --quick SELECT * > /dev/null"
run scan_limit "$RUNS" mariadb --no-defaults -h 127.0.0.1 -P "$MARIADB_PORT" -u sluice -psluice --quick \
    -e "SELECT * FROM snap.sbtest"
for par in 1 2; do
    log "snapshot: sluice migrate, parallelism $par"
    run "snapshot_p$par" "$RUNS" "$SLUICE" migrate "$(pipeline initial $par 'snap.sbtest')"
done
# the same snapshot through a Flink CDC transform: three computed columns
# and a filter every row passes, so the sink sees as many events
xf="$DIR/p-transform.yaml"
cat "$(pipeline initial 1 'snap.sbtest')" >"$xf"
cat >>"$xf" <<'YAML'
transform:
  - source-table: snap.sbtest
    projection: \*, k * 2 AS k2, CONCAT(SUBSTR(pad, 1, 8), '-', CAST(id AS STRING)) AS tag, id % 7 AS bucket
    filter: k >= 0 AND bucket < 7
YAML
log "snapshot with a transform (3 computed columns, a filter): sluice migrate, parallelism 1"
run snapshot_transform "$RUNS" "$SLUICE" migrate "$xf"
log "wide snapshot limit and sluice"
run wide_limit "$RUNS" mariadb --no-defaults -h 127.0.0.1 -P "$MARIADB_PORT" -u sluice -psluice --quick \
    -e "SELECT * FROM wide.t"
run wide "$RUNS" "$SLUICE" migrate "$(pipeline initial 1 'wide.t')"
if [[ "$DBZ" == 1 ]]; then
    PREP=dbz_prep
    log "snapshot: Debezium (MariaDB connector, snapshot.mode=initial_only)"
    run dbz_snapshot "$DBZ_RUNS" bash "$(dbz_script dbz_snapshot "$(dbz_mariadb dbz_snapshot snap.sbtest initial_only)" "$ROWS")"
    log "wide snapshot: Debezium"
    run dbz_wide "$DBZ_RUNS" bash "$(dbz_script dbz_wide "$(dbz_mariadb dbz_wide wide.t initial_only)" "$WIDE_ROWS")"
    PREP=""
fi
fi  # want mariadb

# the snapshot under a writer updating 5k rows/s of the same table, with
# each snapshot algorithm (scan.incremental.snapshot.algorithm), parallelism
# 2; the writer runs through both so each sees the same load
writer_json=null
if want watermark; then
    "$REPO/.venv/bin/python" "$REPO/bench/writer.py" --mysql-port "$MARIADB_PORT" --table snap.sbtest \
        --rows "$ROWS" --rate 5000 >"$DIR/writer.json" 2>"$DIR/writer.err" &
    writer_pid=$!
    sleep 2
    # the algorithms take turns, run by run, so that a change of the
    # machine's load hits both alike; the report takes each one's best
    for ((i = 1; i <= RUNS; i++)); do
        for algo in snapshot-position watermark; do
            y="$DIR/p-writes-$algo.yaml"
            sed "s/^  scan.startup.mode: initial$/&\n  scan.incremental.snapshot.algorithm: $algo/" \
                "$(pipeline initial 2 'snap.sbtest')" >"$y"
            log "snapshot under a writer at 5k rows/s: sluice migrate, parallelism 2, algorithm $algo (run $i)"
            run "snapshot_writes_${algo//-/_}_$i" 1 "$SLUICE" migrate "$y"
        done
    done
    kill "$writer_pid"
    wait "$writer_pid" || true
    writer_json="$(cat "$DIR/writer.json")"
    [[ -n "$writer_json" ]] || { log "the writer failed: $(tail -n 5 "$DIR/writer.err")"; writer_json=null; }
fi  # want watermark

third=$((CHANGES / 2))
if [[ "$ONLY" != pgsnap ]]; then
log "generating $CHANGES binlog row changes"
read -r bfile bpos < <(sql -N -e "SHOW MASTER STATUS" | awk '{print $1, $2}')
bgtid="$(sql -N -e "SELECT BINLOG_GTID_POS('$bfile', $bpos)")"
sql -e "CREATE DATABASE chg; CREATE TABLE chg.t (id BIGINT PRIMARY KEY, k INT NOT NULL, c CHAR(100) NOT NULL);" >/dev/null
sql -e "INSERT INTO chg.t SELECT seq, seq, RPAD(seq, 100, 'x') FROM chg.seq_1_to_$third;
        UPDATE chg.t SET k = k + 1 WHERE id % 2 = 0;
        DELETE FROM chg.t WHERE id % 4 = 1;" >/dev/null
events=$((third + third / 2 + third / 4))
read -r efile epos < <(sql -N -e "SHOW MASTER STATUS" | awk '{print $1, $2}')
fi  # not pgsnap alone

if want mariadb; then
log "binlog limit: mariadb-binlog --read-from-remote-server > /dev/null"
run binlog_limit "$RUNS" mariadb-binlog --read-from-remote-server -h 127.0.0.1 \
    -P "$MARIADB_PORT" -u sluice -psluice --start-position="$bpos" --stop-position="$epos" "$bfile"
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
run binlog "$RUNS" "$SLUICE" migrate --follow-until="$efile:$epos" "$DIR/p-binlog.yaml"
# Debezium starts from a stored offset at the same position; snapshot.mode
# recovery only rebuilds its schema history (no data) before streaming
dbz_binlog_props() {
    dbz_mariadb "$1" chg.t recovery 'peer.seed.partition={"server":"bench"}' \
        "peer.seed.offset={\"file\":\"$bfile\",\"pos\":$bpos,\"gtids\":\"$bgtid\"}"
}
if [[ "$DBZ" == 1 ]]; then
    log "binlog: Debezium from $bfile:$bpos (gtid $bgtid), $events events"
    PREP=dbz_prep run dbz_binlog "$DBZ_RUNS" bash "$(dbz_script dbz_binlog "$(dbz_binlog_props dbz_binlog)" "$events")"
fi
fi  # want mariadb

# -------------------------------------------------------------------- Kafka
snap_bytes=0 latency_json=null latency_pg=null json_bytes=null avro_bytes=null
if want kafka; then
log "starting a Kafka broker"
bash "$REPO/tests/services/kafka.sh" start "$DIR/kafka" >/dev/null
# shellcheck disable=SC1091
source "$DIR/kafka/env.sh"
# the bare producer, with the one producer setting sluice sets beyond
# raw_produce's own (sinks/kafka/kafka_conf.c): its 16 MiB queue cap
RAW="$REPO/build/bench/raw_produce"
RAW_CONF=(queue.buffering.max.kbytes=16384)
topic_bytes() { "$REPO/.venv/bin/python" "$REPO/bench/topic_bytes.py" "$KAFKA_BOOTSTRAP" "$1"; }
# avg_value TOPIC-BYTES-JSON FALLBACK — the value bytes per message of a
# topic sluice wrote (tombstones count as empty values), so the bare
# producer sends as many messages with as many bytes as sluice did
avg_value() {
    "$REPO/.venv/bin/python" -c 'import json,sys; b=json.loads(sys.argv[1]); print(b["value_bytes"] // b["records"])' \
        "$1" 2>/dev/null || echo "$2"
}
kafka_script() { # KEY SOURCE-YAML FOLLOW-ARGS — every run writes its own topics (a fresh prefix)
    sink_script "$1" "$2" "  type: kafka
  properties.bootstrap.servers: $KAFKA_BOOTSTRAP
  topic.prefix: $1\$n" "migrate $3"
}

# envelope_bytes SOURCE-YAML — the average size of sluice's envelope for
# the sysbench-like table, from a 1-in-200 sample written by the file sink;
# it sizes the raw producer's messages
envelope_bytes() {
    rm -f "$DIR"/sample.jsonl*   # the data and the file sink's checkpoint
    cat >"$DIR/p-sample.yaml" <<YAML
source:
$1
sink:
  type: file
  path: $DIR/sample.jsonl
  fsync: false
  schema-changes: false
pipeline:
  name: bench-sample
YAML
    "$SLUICE" migrate "$DIR/p-sample.yaml" >/dev/null 2>"$DIR/sample.err" || { cat "$DIR/sample.err" >&2; return 1; }
    awk '{ n++; b += length($0) } END { printf "%d", b / n }' "$DIR/sample.jsonl"
}
sql -e "CREATE DATABASE sample; CREATE TABLE sample.sbtest LIKE snap.sbtest;
        INSERT INTO sample.sbtest SELECT * FROM snap.sbtest WHERE id % 200 = 0;" >/dev/null
snap_bytes="$(envelope_bytes "$(mysql_source sample.sbtest '  scan.startup.mode: snapshot')")"

log "snapshot -> kafka limit: raw librdkafka producer, $ROWS messages of $snap_bytes bytes"
run kafka_snapshot_limit "$RUNS" "$RAW" "$KAFKA_BOOTSTRAP" raw_snapshot "$ROWS" "$snap_bytes" "${RAW_CONF[@]}"
log "snapshot -> kafka: sluice migrate (exactly-once), parallelism 1"
run kafka_snapshot "$RUNS" bash "$(kafka_script kafka_snapshot "$(mysql_source snap.sbtest '  scan.startup.mode: initial')" '')"

kmsgs=$((events + third / 4))  # every delete is followed by its tombstone
log "binlog -> kafka: sluice migrate (exactly-once)"
binlog_range="$(mysql_source chg.t "  scan.startup.mode: specific-offset
  scan.startup.specific-offset.file: $bfile
  scan.startup.specific-offset.pos: $bpos")"
run kafka "$RUNS" bash "$(kafka_script kafka "$binlog_range" "--follow-until=$efile:$epos")"
json_bytes="$(topic_bytes kafka1.chg.t)" || json_bytes=null
kafka_value="$(avg_value "$json_bytes" 440)"
log "binlog -> kafka limit: raw librdkafka producer, $kmsgs messages of $kafka_value bytes"
run kafka_limit "$RUNS" "$RAW" "$KAFKA_BOOTSTRAP" raw "$kmsgs" "$kafka_value" "${RAW_CONF[@]}"

# BENCH_KAFKA_PAIRS=N: N more runs of both MariaDB scenarios into Kafka, the
# bare producer and sluice taking turns (which goes first alternates), for
# the median of N ratios of neighbours: on a small machine the broker's
# state moves the bare producer's rate between runs far more than sluice's,
# and the best of each side, taken minutes apart, compares two moments
for ((i = 1; i <= ${BENCH_KAFKA_PAIRS:-0}; i++)); do
    log "kafka pair $i of $BENCH_KAFKA_PAIRS: snapshot and binlog, the bare producer and sluice in turns"
    for half in 1 2; do
        if (( (i + half) % 2 == 0 )); then
            run "kafka_pair_snapshot_limit_$i" 1 "$RAW" "$KAFKA_BOOTSTRAP" raw_snapshot "$ROWS" "$snap_bytes" \
                "${RAW_CONF[@]}"
            run "kafka_pair_limit_$i" 1 "$RAW" "$KAFKA_BOOTSTRAP" raw "$kmsgs" "$kafka_value" "${RAW_CONF[@]}"
        else
            run "kafka_pair_snapshot_$i" 1 bash "$(kafka_script "kafka_pair_snapshot_$i" \
                "$(mysql_source snap.sbtest '  scan.startup.mode: initial')" '')"
            run "kafka_pair_$i" 1 bash "$(kafka_script "kafka_pair_$i" "$binlog_range" "--follow-until=$efile:$epos")"
        fi
    done
done

# BENCH_KAFKA_CURVE=1: the throughput/memory trade-off of the producer's
# queue (properties.queue.buffering.max.kbytes; sluice's default 16384)
# on the same binlog range; a table on stderr, the figures as kafka_q<KiB>
if [[ "${BENCH_KAFKA_CURVE:-0}" == 1 ]]; then
    for q in 2048 4096 16384 65536; do
        log "binlog -> kafka, queue.buffering.max.kbytes $q"
        run "kafka_q$q" "$RUNS" bash "$(sink_script "kafka_q$q" "$(mysql_source chg.t "  scan.startup.mode: specific-offset
  scan.startup.specific-offset.file: $bfile
  scan.startup.specific-offset.pos: $bpos")" "  type: kafka
  properties.bootstrap.servers: $KAFKA_BOOTSTRAP
  properties.queue.buffering.max.kbytes: $q
  topic.prefix: kafka_q$q\$n" "migrate --follow-until=$efile:$epos")"
    done
    log "producer queue curve (binlog -> kafka, $events events, best of $RUNS): KiB, events/s, CPU s, peak RSS MiB"
    awk -v ev="$events" '$1 ~ /^kafka_q[0-9]+$/ && $2 > 0 {
        printf "[bench] %8s %8.0f %6.2f %6.0f\n", substr($1, 8), ev / $2, $3, $4 / 1024 }' "$FIG" >&2
fi

# Avro beside JSON: the same binlog range with value.format/key.format avro
# (a registry from tests/services), the bytes both left in their topics, and
# the raw producer sending messages of the Avro size
bash "$REPO/tests/services/schema_registry.sh" start "$DIR/registry" >/dev/null
# shellcheck disable=SC1091
source "$DIR/registry/env.sh"
log "binlog -> kafka: sluice migrate (exactly-once), value.format avro"
sink_script kafka_avro "$(mysql_source chg.t "  scan.startup.mode: specific-offset
  scan.startup.specific-offset.file: $bfile
  scan.startup.specific-offset.pos: $bpos")" "  type: kafka
  properties.bootstrap.servers: $KAFKA_BOOTSTRAP
  topic.prefix: kafka_avro\$n
  value.format: avro
  key.format: avro
  schema.registry.url: $SCHEMA_REGISTRY_URL" "migrate --follow-until=$efile:$epos" >/dev/null
run kafka_avro "$RUNS" bash "$DIR/kafka_avro.sh"
avro_bytes="$(topic_bytes kafka_avro1.chg.t)" || avro_bytes=null
avro_value="$(avg_value "$avro_bytes" 0)"
if [[ "$avro_value" -gt 0 ]]; then
    log "binlog -> kafka avro limit: raw librdkafka producer, $kmsgs messages of $avro_value bytes"
    run kafka_avro_limit "$RUNS" "$RAW" "$KAFKA_BOOTSTRAP" raw_avro "$kmsgs" "$avro_value" "${RAW_CONF[@]}"
fi
bash "$REPO/tests/services/schema_registry.sh" stop "$DIR/registry" >/dev/null
if [[ "$DBZ" == 1 ]]; then
    PREP=dbz_prep
    log "snapshot -> kafka: Debezium"
    run dbz_kafka_snapshot "$DBZ_RUNS" bash "$(dbz_script dbz_kafka_snapshot \
        "$(dbz_mariadb dbz_kafka_snapshot snap.sbtest initial_only)" "$ROWS" "$KAFKA_BOOTSTRAP")"
    log "binlog -> kafka: Debezium"
    run dbz_kafka "$DBZ_RUNS" bash "$(dbz_script dbz_kafka "$(dbz_binlog_props dbz_kafka)" "$events" "$KAFKA_BOOTSTRAP")"
    PREP=""
fi

log "latency: 10k rows/s, checkpoint.interval 100ms, read_committed consumer"
latency_json="$("$REPO/.venv/bin/python" "$REPO/bench/latency.py" --mysql-port "$MARIADB_PORT" \
    --bootstrap "$KAFKA_BOOTSTRAP" --sluice "$SLUICE" --workdir "$DIR/latency" --rate 10000 --seconds 20)"
fi  # want kafka

# ---------------------------------------------------- high availability
ha_json=null
if want ha; then
if [[ ! -f "$DIR/kafka/env.sh" ]]; then
    log "starting a Kafka broker"
    bash "$REPO/tests/services/kafka.sh" start "$DIR/kafka" >/dev/null
fi
# shellcheck disable=SC1091
source "$DIR/kafka/env.sh"
ha_json="["
for mode in kafka-group source-lock; do
    log "failover: $mode, ${BENCH_FAILOVERS:-20} kills -9 of the active member (MariaDB -> Kafka exactly-once)"
    one="$("$REPO/.venv/bin/python" "$REPO/bench/ha_failover.py" --mysql-port "$MARIADB_PORT" \
        --bootstrap "$KAFKA_BOOTSTRAP" --sluice "$SLUICE" --workdir "$DIR/ha" --mode "$mode" \
        --failovers "${BENCH_FAILOVERS:-20}" --session 6s)" || { log "failover $mode failed"; one=null; }
    log "failover $mode: $one"
    ha_json="$ha_json$one,"
done
ha_json="${ha_json%,}]"
fi  # want ha

# ------------------------------------------------------------------ Iceberg
# The iceberg sink (a real REST catalog, tests/services/iceberg.sh) beside the
# very same scenario into the blackhole in this run: the snapshot of
# snap.sbtest (`sluice run`, scan.startup.mode snapshot) and the binlog
# range of chg.t (`sluice migrate --follow-until`, 25% of the rows deleted);
# then what a reader pays (bench/iceberg_read.py: DuckDB's count(*) on the
# table against one Parquet file of the same rows written by DuckDB), the
# files and bytes written, and where the sink's time went.
ice_json=null
if want iceberg; then
log "starting the Iceberg REST catalog"
bash "$REPO/tests/services/iceberg.sh" start "$DIR/iceberg" >/dev/null
# shellcheck disable=SC1091
source "$DIR/iceberg/env.sh"
ice_sink="  type: iceberg
  catalog.properties.uri: $ICEBERG_URI"
# (an older binary given as BENCH_SLUICE keeps its index in memory)
! "$SLUICE" describe iceberg 2>/dev/null | grep -q key-index.dir || ice_sink="$ice_sink
  key-index.dir: $DIR/ice-index"
bh_sink="  type: blackhole
  render: true"
# every run starts from nothing (its table dropped, its files and key index
# removed), untimed
ice_drop() {
    curl -sS -o /dev/null -X DELETE "$ICEBERG_URI/v1/namespaces/$1/tables/$2" || true
    rm -rf "$DIR/ice-index" "${ICEBERG_WAREHOUSE:?}/$1"
}
ice_prep_snap() { ice_drop snap sbtest; }
ice_prep_chg() { ice_drop chg t; }
snap_src="$(mysql_source snap.sbtest '  scan.startup.mode: snapshot')"
chg_src="$(mysql_source chg.t "  scan.startup.mode: specific-offset
  scan.startup.specific-offset.file: $bfile
  scan.startup.specific-offset.pos: $bpos")"
log "snapshot -> blackhole and -> iceberg (exactly-once): sluice run, scan.startup.mode snapshot"
run ice_bh_snapshot "$RUNS" bash "$(sink_script ice_bh_snapshot "$snap_src" "$bh_sink" run)"
PREP=ice_prep_snap run ice_snapshot "$RUNS" bash "$(sink_script ice_snapshot "$snap_src" "$ice_sink" run)"
ice_read() { # TABLE ROWS KEY
    "$REPO/.venv/bin/python" "$REPO/bench/iceberg_read.py" --uri "$ICEBERG_URI" --table "$1" --rows "$2" \
        --files "$ICEBERG_WAREHOUSE/${1%%.*}" --log "$DIR/$3.1.err" --workdir "$DIR" ||
        { log "reading $1 back failed"; echo null; }
}
one_snap="$(ice_read snap.sbtest "$ROWS" ice_snapshot)"
log "binlog -> blackhole and -> iceberg: sluice migrate --follow-until=$efile:$epos"
run ice_bh_binlog "$RUNS" bash "$(sink_script ice_bh_binlog "$chg_src" "$bh_sink" "migrate --follow-until=$efile:$epos")"
PREP=ice_prep_chg run ice_binlog "$RUNS" bash "$(sink_script ice_binlog "$chg_src" "$ice_sink" \
    "migrate --follow-until=$efile:$epos")"
live=$((third - (third + 3) / 4))   # rows left after DELETE ... WHERE id % 4 = 1
one_chg="$(ice_read chg.t "$live" ice_binlog)"
ice_json="[$one_snap,$one_chg]"
bash "$REPO/tests/services/iceberg.sh" stop "$DIR/iceberg" >/dev/null 2>&1 || true
fi  # want iceberg

# --------------------------------------------------------------- ClickHouse
if want clickhouse; then
log "starting ClickHouse (26.9's engine, chDB, behind tests/services/clickhouse_front.py)"
bash "$REPO/tests/services/clickhouse.sh" start "$DIR/clickhouse" >/dev/null
# shellcheck disable=SC1091
source "$DIR/clickhouse/env.sh"
ch() { curl -sS --fail-with-body -u sluice:sluice "$CLICKHOUSE_URL/" --data-binary "$1"; }
ch_script() { # KEY SOURCE-YAML COMMAND — every run writes to its own database KEY<n> (a first start)
    sink_script "$1" "$2" "  type: clickhouse
  url: $CLICKHOUSE_URL
  username: sluice
  password: sluice
  database: $1\$n" "$3"
}
# the databases of earlier runs go before the next run starts (disk), untimed
ch_prep() {
    local d
    for d in $(ch "SELECT name FROM system.databases WHERE startsWith(name, '$1')"); do
        ch "DROP DATABASE $d" >/dev/null
    done
}
# ch_limit KEY TABLE — one untimed run of sluice with the front capturing its
# INSERTs, then the limit: bench/ch_replay.py replaying them into a copy of
# the table (a fresh one per run)
ch_limit() {
    local key="$1" table="$2" src
    ch "DROP DATABASE IF EXISTS ${key}0" >/dev/null
    curl -sS -u sluice:sluice "$CLICKHOUSE_URL/__front/capture" --data-binary "{\"dir\": \"$DIR/cap-$key\"}" >/dev/null
    bash "$DIR/$key.sh" 2>"$DIR/$key.capture.err" || { tail -n 20 "$DIR/$key.capture.err" >&2; return 1; }
    curl -sS -u sluice:sluice -X DELETE "$CLICKHOUSE_URL/__front/capture" >/dev/null
    src="$(cat "$DIR/$key.runs")"
    cat >"$DIR/${key}_limit.sh" <<SH
#!/usr/bin/env bash
n=\$(( \$(cat "$DIR/${key}_limit.runs" 2>/dev/null || echo 0) + 1 ))
echo \$n >"$DIR/${key}_limit.runs"
curl -sS --fail-with-body -u sluice:sluice "$CLICKHOUSE_URL/" --data-binary "DROP DATABASE IF EXISTS lim_$key\$(( n - 1 ))" >/dev/null
curl -sS --fail-with-body -u sluice:sluice "$CLICKHOUSE_URL/" --data-binary "CREATE DATABASE lim_$key\$n" >/dev/null
curl -sS --fail-with-body -u sluice:sluice "$CLICKHOUSE_URL/" --data-binary "CREATE TABLE lim_$key\$n.$table AS $key$src.$table" >/dev/null
exec "$REPO/.venv/bin/python" "$REPO/bench/ch_replay.py" --url "$CLICKHOUSE_URL" --dir "$DIR/cap-$key" \
    --from '\`$key$src\`.\`$table\`' --to "\\\`lim_$key\$n\\\`.\\\`$table\\\`"
SH
    run "${key}_limit" "$RUNS" bash "$DIR/${key}_limit.sh"
    ch "DROP DATABASE IF EXISTS $key$src" >/dev/null
}
log "snapshot -> clickhouse limit: the captured INSERTs of one sluice run replayed by bench/ch_replay.py"
# `run` in snapshot mode ends after the snapshot; migrate would also read the
# table back for its verification, which the other contenders do not do
ch_script ch_snapshot "$(mysql_source snap.sbtest '  scan.startup.mode: snapshot')" run >/dev/null
ch_limit ch_snapshot sbtest
log "snapshot -> clickhouse: sluice run, scan.startup.mode snapshot (exactly-once), parallelism 1"
PREP=ch_prep run ch_snapshot "$RUNS" bash "$DIR/ch_snapshot.sh"
log "binlog -> clickhouse limit and sluice migrate --follow-until=$efile:$epos"
ch_script ch_binlog "$(mysql_source chg.t "  scan.startup.mode: specific-offset
  scan.startup.specific-offset.file: $bfile
  scan.startup.specific-offset.pos: $bpos")" "migrate --follow-until=$efile:$epos" >/dev/null
ch_limit ch_binlog t
PREP=ch_prep run ch_binlog "$RUNS" bash "$DIR/ch_binlog.sh"
bash "$REPO/tests/services/clickhouse.sh" stop "$DIR/clickhouse" >/dev/null 2>&1 || true
fi  # want clickhouse
bash "$REPO/tests/services/mariadb.sh" stop "$DIR/mariadb" >/dev/null 2>&1 || true

# --------------------------------------------------------------- PostgreSQL
if want postgres || want pgsnap; then
bash "$REPO/tests/services/postgres.sh" start "$DIR/pg" >/dev/null
# shellcheck disable=SC1091
source "$DIR/pg/env.sh"
export PGPASSWORD=sluice
psql -d sluice -c "CREATE DATABASE bench" >/dev/null
pg_sluice=1
if ! "$SLUICE" describe postgres >/dev/null 2>&1; then
    log "postgres source not built yet: skipping sluice's PostgreSQL scenarios (limits and Debezium still run)"
    pg_sluice=0
fi
log "PostgreSQL: generating $ROWS rows (sysbench-like)"
psql -d bench -c "CREATE TABLE sbtest (id BIGINT PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL);
    INSERT INTO sbtest SELECT g, g * 7919 % 1000003, RPAD(g || '-' || g * 31, 120, 'c'), RPAD(g::text, 60, 'p')
      FROM generate_series(1::bigint, $ROWS) g;
    CREATE TABLE chg (id BIGINT PRIMARY KEY, k INT NOT NULL, c CHAR(100) NOT NULL);
    CREATE TABLE sample_sbtest (LIKE sbtest INCLUDING ALL);
    INSERT INTO sample_sbtest SELECT * FROM sbtest WHERE id % 200 = 0;
    CREATE PUBLICATION sluice_bench FOR TABLE sbtest, chg, sample_sbtest;" >/dev/null
psql -d bench -c "VACUUM ANALYZE sbtest" >/dev/null
# every consumer of the WAL range gets its own copy of this slot, created
# before the changes
psql -d bench -c "SELECT pg_create_logical_replication_slot('bench_template', 'pgoutput')" >/dev/null
# pg_prep KEY RUN — drop the slots of earlier runs (their processes have
# exited), give this run a fresh copy of the template slot named KEY
pg_prep() {
    psql -d bench -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
                      WHERE slot_name <> 'bench_template' AND NOT active" >/dev/null
    psql -d bench -c "SELECT pg_copy_logical_replication_slot('bench_template', '$1')" >/dev/null
    rm -f "$DIR/$1.offsets"
}
pg_drop_slots() {
    psql -d bench -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
                      WHERE slot_name <> 'bench_template' AND NOT active" >/dev/null
    dbz_prep "$@"
}
pg_pipeline() { # name startup slot table parallelism
    cat >"$DIR/p-$1.yaml" <<YAML
source:
  type: postgres
  hostname: 127.0.0.1
  port: $PG_PORT
  username: sluice
  password: sluice
  database-name: bench
  tables: public.$4
  slot.name: $3
  publication.name: sluice_bench
  scan.startup.mode: $2
sink:
  type: blackhole
  render: true
pipeline:
  name: bench-$1
  parallelism: $5
YAML
    echo "$DIR/p-$1.yaml"
}

log "PostgreSQL snapshot limit: psql COPY (SELECT *) TO STDOUT > /dev/null"
run pg_scan_limit "$RUNS" psql -X -h 127.0.0.1 -p "$PG_PORT" -U sluice -d bench -c "COPY (SELECT * FROM sbtest) TO STDOUT"
if [[ "$pg_sluice" == 1 ]]; then
    for par in 1 2; do
        log "PostgreSQL snapshot: sluice migrate, parallelism $par"
        PREP=pg_drop_slots run "pg_snapshot_p$par" "$RUNS" "$SLUICE" migrate "$(pg_pipeline "snap$par" initial sluice_snap sbtest $par)"
    done
fi
if [[ "$DBZ" == 1 ]]; then
    log "PostgreSQL snapshot: Debezium (snapshot.mode=initial_only)"
    PREP=pg_drop_slots run dbz_pg_snapshot "$DBZ_RUNS" bash "$(dbz_script dbz_pg_snapshot \
        "$(dbz_postgres dbz_pg_snapshot public.sbtest initial_only dbz_snap)" "$ROWS")"
fi
if want postgres; then
pg_snap_bytes="$snap_bytes"
if [[ "$pg_sluice" == 1 ]]; then
    pg_drop_slots sample 1
    pg_snap_bytes="$(envelope_bytes "$(pg_source sample_sbtest snapshot bench_sample)")" || pg_snap_bytes="$snap_bytes"
fi
log "PostgreSQL snapshot -> kafka limit: raw librdkafka producer, $ROWS messages of $pg_snap_bytes bytes"
run pg_kafka_snapshot_limit "$RUNS" "$RAW" "$KAFKA_BOOTSTRAP" raw_pg_snapshot "$ROWS" \
    "$pg_snap_bytes" "${RAW_CONF[@]}"
if [[ "$pg_sluice" == 1 ]]; then
    log "PostgreSQL snapshot -> kafka: sluice migrate (exactly-once), parallelism 1"
    PREP=pg_drop_slots run pg_kafka_snapshot "$RUNS" bash "$(kafka_script pg_kafka_snapshot \
        "$(pg_source sbtest initial sluice_kafka_snap)" '')"
fi
if [[ "$DBZ" == 1 ]]; then
    log "PostgreSQL snapshot -> kafka: Debezium"
    PREP=pg_drop_slots run dbz_pg_kafka_snapshot "$DBZ_RUNS" bash "$(dbz_script dbz_pg_kafka_snapshot \
        "$(dbz_postgres dbz_pg_kafka_snapshot public.sbtest initial_only dbz_snap)" "$ROWS" "$KAFKA_BOOTSTRAP")"
fi

log "PostgreSQL: generating $CHANGES WAL row changes"
wal_start="$(psql -d bench -At -c "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'bench_template'")"
psql -d bench -c "INSERT INTO chg SELECT g, g, RPAD(g::text, 100, 'x') FROM generate_series(1, $third) g" >/dev/null
psql -d bench -c "UPDATE chg SET k = k + 1 WHERE id % 2 = 0" >/dev/null
psql -d bench -c "DELETE FROM chg WHERE id % 4 = 1" >/dev/null
wal_end="$(psql -d bench -At -c "SELECT pg_current_wal_lsn()")"
wal_start_num="$(psql -d bench -At -c "SELECT '$wal_start'::pg_lsn - '0/0'::pg_lsn")"

log "WAL limit: pg_recvlogical (pgoutput) $wal_start .. $wal_end > /dev/null"
PREP=pg_prep run pg_wal_limit "$RUNS" pg_recvlogical --no-loop -h 127.0.0.1 -p "$PG_PORT" -U sluice -d bench \
    --slot pg_wal_limit --start -o proto_version=1 -o publication_names=sluice_bench --endpos="$wal_end" -f /dev/null
if [[ "$pg_sluice" == 1 ]]; then
    log "WAL: sluice migrate --follow-until=now (committed-offset on a copy of the slot)"
    PREP=pg_prep run pg_wal "$RUNS" "$SLUICE" migrate --follow-until=now \
        "$(pg_pipeline wal committed-offset pg_wal chg 1)"
fi
if [[ "$DBZ" == 1 ]]; then
    log "WAL: Debezium from $wal_start (stored offset on a copy of the slot), $events events"
    pg_dbz_prep() { pg_prep "$@"; dbz_prep "$@"; }
    PREP=pg_dbz_prep run dbz_pg_wal "$DBZ_RUNS" bash "$(dbz_script dbz_pg_wal "$(dbz_postgres dbz_pg_wal public.chg \
        no_data dbz_pg_wal 'peer.seed.partition={"server":"bench"}' "peer.seed.offset={\"lsn\":$wal_start_num}")" "$events")"
fi
pg_value=440
if [[ "$pg_sluice" == 1 ]]; then
    log "WAL -> kafka: sluice migrate --follow-until=now (exactly-once)"
    PREP=pg_prep run pg_kafka "$RUNS" bash "$(kafka_script pg_kafka "$(pg_source chg committed-offset pg_kafka)" \
        --follow-until=now)"
    pg_value="$(avg_value "$(topic_bytes pg_kafka1.public.chg)" 440)"
fi
log "WAL -> kafka limit: raw librdkafka producer, $kmsgs messages of $pg_value bytes"
run pg_kafka_limit "$RUNS" "$RAW" "$KAFKA_BOOTSTRAP" raw_pg "$kmsgs" "$pg_value" "${RAW_CONF[@]}"
if [[ "$DBZ" == 1 ]]; then
    log "WAL -> kafka: Debezium"
    PREP=pg_dbz_prep run dbz_pg_kafka "$DBZ_RUNS" bash "$(dbz_script dbz_pg_kafka "$(dbz_postgres dbz_pg_kafka public.chg \
        no_data dbz_pg_kafka 'peer.seed.partition={"server":"bench"}' "peer.seed.offset={\"lsn\":$wal_start_num}")" \
        "$events" "$KAFKA_BOOTSTRAP")"
fi
latency_pg=null
if [[ "$pg_sluice" == 1 ]]; then
    log "PostgreSQL latency: 10k rows/s, checkpoint.interval 100ms, read_committed consumer"
    pg_drop_slots latency 1
    latency_pg="$("$REPO/.venv/bin/python" "$REPO/bench/latency.py" --pg-port "$PG_PORT" \
        --bootstrap "$KAFKA_BOOTSTRAP" --sluice "$SLUICE" --workdir "$DIR/latency-pg" --rate 10000 --seconds 20)" ||
        { log "PostgreSQL latency failed"; latency_pg=null; }
fi

fi  # want postgres
fi  # want postgres or pgsnap

# ------------------------------------------------------------------- report
stamp=$(date +%Y%m%dT%H%M%S)
"$REPO/.venv/bin/python" "$REPO/bench/report.py" --figures "$FIG" --rows "$ROWS" --wide-rows "$WIDE_ROWS" \
    --events "$events" --snapshot-bytes "$snap_bytes" --runs "$RUNS" --debezium-runs "$DBZ_RUNS" \
    --debezium-heap "$DBZ_HEAP" --latency "$latency_json" --latency-pg "$latency_pg" \
    --topic-bytes "$json_bytes" "$avro_bytes" --ha "$ha_json" --writer "$writer_json" --iceberg "$ice_json" --json "$OUT/results-$stamp.json" \
    --chart "$OUT/chart-$stamp.png" --workdir "$DIR" --load "$load_start" "$(cut -d' ' -f1-3 /proc/loadavg)"
