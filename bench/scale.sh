# bench/scale.sh — `make bench-scale` (BENCH_ONLY=scale), sourced by
# bench/run.sh after MariaDB is up and its helpers (run, sink_script,
# mysql_source, pg_source, psql, log) are defined. It owns the three
# questions the default run cannot answer because its tables are small:
#   scale curve  the sysbench-like table grown in place to each size of
#                BENCH_SCALE_ROWS, snapshotted from MariaDB and PostgreSQL at
#                each parallelism into the blackhole and into Kafka: rows/s
#                must stay flat and peak RSS must not grow with the table
#   big tx       one transaction of BENCH_SCALE_TX_ROWS rows streamed into
#                Kafka: peak RSS must stay bounded
#   latency      bench/latency.py at each rate of BENCH_SCALE_LATENCY_RATES
# bench/scale_report.py prints the tables and writes
# bench/out/scale-<time>.json.

SCALE_ROWS="${BENCH_SCALE_ROWS-1000000 5000000 20000000}"
SCALE_PAR="${BENCH_SCALE_PARALLELISM:-1 2 4}"
SCALE_SOURCES="${BENCH_SCALE_SOURCES:-mariadb postgres}"
SCALE_SINKS="${BENCH_SCALE_SINKS:-blackhole kafka}"
SCALE_RUNS="${BENCH_SCALE_RUNS:-1}"
SCALE_TX_ROWS="${BENCH_SCALE_TX_ROWS-10000000}"
SCALE_LAT_RATES="${BENCH_SCALE_LATENCY_RATES-10000 50000}"

log "scale: sizes $SCALE_ROWS; parallelism $SCALE_PAR; sources $SCALE_SOURCES; sinks $SCALE_SINKS"
log "scale: disk before the run: $(df -h --output=avail "$DIR" | tail -n 1 | tr -d ' ') free in $DIR"
bash "$REPO/tests/services/kafka.sh" start "$DIR/kafka" >/dev/null
# shellcheck disable=SC1091
source "$DIR/kafka/env.sh"
want_src() { [[ " $SCALE_SOURCES " == *" $1 "* ]]; }
if want_src postgres; then
    bash "$REPO/tests/services/postgres.sh" start "$DIR/pg" >/dev/null
    # shellcheck disable=SC1091
    source "$DIR/pg/env.sh"
    export PGPASSWORD=sluice
    psql -d sluice -c "CREATE DATABASE bench" >/dev/null
    psql -d bench -c "CREATE TABLE sbtest (id BIGINT PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL);
        CREATE TABLE bigtx (id BIGINT PRIMARY KEY, k INT NOT NULL, c CHAR(100) NOT NULL);
        CREATE PUBLICATION sluice_bench FOR TABLE sbtest, bigtx;" >/dev/null
fi
sql -e "CREATE DATABASE snap; CREATE TABLE snap.sbtest (id BIGINT PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL);" >/dev/null

# scale_grow FROM TO — rows FROM+1..TO of the same deterministic rows as
# run.sh's table, in chunks of 1M (MariaDB without binlog: the snapshot does
# not read it, and 20M rows of binlog would only cost disk)
scale_grow() {
    local lo=$(($1 + 1)) hi
    while ((lo <= $2)); do
        hi=$((lo + 999999 < $2 ? lo + 999999 : $2))
        if want_src mariadb; then
            sql -e "SET SESSION sql_log_bin = 0;
                INSERT INTO snap.sbtest SELECT seq, seq * 7919 % 1000003, RPAD(CONCAT(seq, '-', seq * 31), 120, 'c'), RPAD(seq, 60, 'p') FROM snap.seq_${lo}_to_$hi;" >/dev/null
        fi
        if want_src postgres; then
            psql -d bench -c "INSERT INTO sbtest SELECT g, g * 7919 % 1000003, RPAD(g || '-' || g * 31, 120, 'c'), RPAD(g::text, 60, 'p')
                FROM generate_series($lo::bigint, $hi) g" >/dev/null
        fi
        lo=$((hi + 1))
    done
    ! want_src mariadb || sql -e "ANALYZE TABLE snap.sbtest" >/dev/null
    ! want_src postgres || psql -d bench -c "VACUUM ANALYZE sbtest" >/dev/null
}

# every Kafka run writes topics of its own; the earlier ones are deleted
# first (untimed) so that 20M-row runs do not fill the disk
scale_prep() {
    "$REPO/.venv/bin/python" - "$KAFKA_BOOTSTRAP" <<'PY'
import sys
from confluent_kafka.admin import AdminClient
a = AdminClient({"bootstrap.servers": sys.argv[1]})
old = [t for t in a.list_topics(timeout=30).topics if t.startswith("scale_")]
for f in a.delete_topics(old).values() if old else []:
    f.result(30)
PY
    if want_src postgres; then
        psql -d bench -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
                          WHERE NOT active AND slot_name NOT LIKE '%template'" >/dev/null
    fi
}

scale_sink() { # blackhole|kafka KEY [EXTRA-SINK-YAML]
    if [[ "$1" == kafka ]]; then
        printf '%s\n' "  type: kafka" "  properties.bootstrap.servers: $KAFKA_BOOTSTRAP" "  topic.prefix: $2\$n" ${3:+"$3"}
    else
        printf '%s\n' "  type: blackhole" "  render: true"
    fi
}

prev=0
for n in $SCALE_ROWS; do
    log "scale: growing the tables to $n rows"
    scale_grow "$prev" "$n"
    prev=$n
    for src in $SCALE_SOURCES; do
        for par in $SCALE_PAR; do
            for sink in $SCALE_SINKS; do
                key="scale_${src}_${sink}_${n}_p$par"
                if [[ "$src" == mariadb ]]; then
                    source_yaml="$(mysql_source snap.sbtest '  scan.startup.mode: initial')"
                else
                    source_yaml="$(pg_source sbtest initial "$key")"
                fi
                log "scale: $src snapshot of $n rows -> $sink, parallelism $par (load $(cut -d' ' -f1-3 /proc/loadavg))"
                PREP=scale_prep run "$key" "$SCALE_RUNS" bash "$(sink_script "$key" "$source_yaml" \
                    "$(scale_sink "$sink" "$key")" migrate "  parallelism: $par")"
                echo "$key load $(cut -d' ' -f1-3 /proc/loadavg)" >>"$DIR/scale.load"
            done
        done
    done
done
scale_prep
sql -e "DROP TABLE snap.sbtest" >/dev/null
! want_src postgres || psql -d bench -c "TRUNCATE sbtest" >/dev/null

# one transaction of SCALE_TX_ROWS rows, streamed from the log into Kafka;
# it is one Kafka transaction too, which the broker aborts (fencing the
# producer) once it is older than transaction.timeout (60s by default): on a
# loaded machine 2M rows already took longer, so these runs allow the
# broker's maximum
TX_TIMEOUT="  transaction.timeout: 900s"
if ((SCALE_TX_ROWS > 0)); then
    if want_src mariadb; then
        log "scale: one MariaDB transaction of $SCALE_TX_ROWS rows"
        sql -e "CREATE DATABASE bigtx; CREATE TABLE bigtx.t (id BIGINT PRIMARY KEY, k INT NOT NULL, c CHAR(100) NOT NULL);" >/dev/null
        read -r bfile bpos < <(sql -N -e "SHOW MASTER STATUS" | awk '{print $1, $2}')
        sql -e "INSERT INTO bigtx.t SELECT seq, seq, RPAD(seq, 100, 'x') FROM bigtx.seq_1_to_$SCALE_TX_ROWS" >/dev/null
        read -r efile epos < <(sql -N -e "SHOW MASTER STATUS" | awk '{print $1, $2}')
        log "scale: the transaction -> kafka: sluice migrate --follow-until=$efile:$epos (exactly-once)"
        PREP=scale_prep run scale_tx_mariadb "$SCALE_RUNS" bash "$(sink_script scale_tx_mariadb \
            "$(mysql_source bigtx.t "  scan.startup.mode: specific-offset
  scan.startup.specific-offset.file: $bfile
  scan.startup.specific-offset.pos: $bpos")" "$(scale_sink kafka scale_tx_mariadb "$TX_TIMEOUT")" "migrate --follow-until=$efile:$epos")"
        sql -e "DROP DATABASE bigtx; PURGE BINARY LOGS BEFORE NOW() + INTERVAL 1 DAY" >/dev/null || true
    fi
    if want_src postgres; then
        log "scale: one PostgreSQL transaction of $SCALE_TX_ROWS rows"
        psql -d bench -c "SELECT pg_create_logical_replication_slot('bigtx_template', 'pgoutput')" >/dev/null
        psql -d bench -c "INSERT INTO bigtx SELECT g, g, RPAD(g::text, 100, 'x') FROM generate_series(1, $SCALE_TX_ROWS) g" >/dev/null
        tx_prep() {
            scale_prep
            psql -d bench -c "SELECT pg_copy_logical_replication_slot('bigtx_template', 'scale_tx_postgres')" >/dev/null
        }
        log "scale: the transaction -> kafka: sluice migrate --follow-until=now (exactly-once)"
        PREP=tx_prep run scale_tx_postgres "$SCALE_RUNS" bash "$(sink_script scale_tx_postgres \
            "$(pg_source bigtx committed-offset scale_tx_postgres)" "$(scale_sink kafka scale_tx_postgres "$TX_TIMEOUT")" \
            "migrate --follow-until=now")"
        psql -d bench -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE NOT active" >/dev/null
        psql -d bench -c "TRUNCATE bigtx" >/dev/null
    fi
    scale_prep
fi

# commit-to-visible latency at each rate, checkpoint.interval 100ms
lat="$DIR/scale-latency.jsonl"
: >"$lat"
for rate in $SCALE_LAT_RATES; do
    for src in $SCALE_SOURCES; do
        log "scale: $src latency at $rate rows/s, checkpoint.interval 100ms (load $(cut -d' ' -f1-3 /proc/loadavg))"
        if [[ "$src" == mariadb ]]; then port=(--mysql-port "$MARIADB_PORT"); else port=(--pg-port "$PG_PORT"); fi
        if one="$("$REPO/.venv/bin/python" "$REPO/bench/latency.py" "${port[@]}" --bootstrap "$KAFKA_BOOTSTRAP" \
            --sluice "$SLUICE" --workdir "$DIR/latency-$src-$rate" --rate "$rate" --seconds 20 --writers 4)"; then
            echo "{\"source\": \"$src\", \"target\": $rate, \"load\": \"$(cut -d' ' -f1-3 /proc/loadavg)\", \"result\": $one}" >>"$lat"
        else
            log "scale: $src latency at $rate rows/s failed"
        fi
    done
done

"$REPO/.venv/bin/python" "$REPO/bench/scale_report.py" --figures "$FIG" --loads "$DIR/scale.load" \
    --latency "$lat" --rows $SCALE_ROWS --tx-rows "${SCALE_TX_ROWS:-0}" --runs "$SCALE_RUNS" \
    --json "$OUT/scale-$(date +%Y%m%dT%H%M%S).json" --load "$load_start" "$(cut -d' ' -f1-3 /proc/loadavg)"
