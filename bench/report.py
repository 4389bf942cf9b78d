#!/usr/bin/env python3
"""bench/report.py — the table, JSON and chart of `make bench`.

bench/run.sh writes one line per measurement to a figures file:
    KEY WALL_S CPU_S PEAK_RSS_KIB SEEN [PEER_BYTES PEER_FIRST_S PEER_LAST_S]
(or `KEY FAILED`); SEEN is the number of events sluice's sink reported
(`-` for other programs); the optional peer figures are the Debezium driver's own
(bytes of JSON rendered, seconds from JVM start to its first and last
event). This script turns them into rates and ratios: a rate is the
scenario's row or event count divided by the wall time of the whole process
(start-up included, for every contender alike).
"""
from __future__ import annotations

import argparse
import itertools
import json
import shutil
import statistics
import subprocess
from pathlib import Path

# scenario label, count attribute, unit, sluice key, limit key, Debezium key, kind
SCENARIOS = [
    ("mariadb snapshot p=1 -> blackhole", "rows", "rows", "snapshot_p1", "scan_limit", "dbz_snapshot", "snapshot"),
    ("mariadb snapshot p=2 -> blackhole", "rows", "rows", "snapshot_p2", "scan_limit", "dbz_snapshot", "snapshot"),
    ("mariadb wide snapshot -> blackhole", "wide_rows", "rows", "wide", "wide_limit", "dbz_wide", "snapshot"),
    ("mariadb snapshot -> kafka", "rows", "rows", "kafka_snapshot", "kafka_snapshot_limit", "dbz_kafka_snapshot",
     "snapshot"),
    ("mariadb binlog -> blackhole", "events", "events", "binlog", "binlog_limit", "dbz_binlog", "stream"),
    ("mariadb binlog -> kafka", "events", "events", "kafka", "kafka_limit", "dbz_kafka", "stream"),
    ("mariadb binlog -> kafka avro", "events", "events", "kafka_avro", "kafka_avro_limit", None, "stream"),
    ("postgres snapshot p=1 -> blackhole", "rows", "rows", "pg_snapshot_p1", "pg_scan_limit", "dbz_pg_snapshot",
     "snapshot"),
    ("postgres snapshot p=2 -> blackhole", "rows", "rows", "pg_snapshot_p2", "pg_scan_limit", "dbz_pg_snapshot",
     "snapshot"),
    ("postgres snapshot -> kafka", "rows", "rows", "pg_kafka_snapshot", "pg_kafka_snapshot_limit",
     "dbz_pg_kafka_snapshot", "snapshot"),
    ("postgres wal -> blackhole", "events", "events", "pg_wal", "pg_wal_limit", "dbz_pg_wal", "stream"),
    ("postgres wal -> kafka", "events", "events", "pg_kafka", "pg_kafka_limit", "dbz_pg_kafka", "stream"),
    ("mariadb snapshot -> clickhouse", "rows", "rows", "ch_snapshot", "ch_snapshot_limit", None, "snapshot"),
    ("mariadb binlog -> clickhouse", "events", "events", "ch_binlog", "ch_binlog_limit", None, "stream"),
    ("mariadb snapshot -> iceberg", "rows", "rows", "ice_snapshot", "ice_bh_snapshot", None, "snapshot"),
    ("mariadb binlog -> iceberg", "events", "events", "ice_binlog", "ice_bh_binlog", None, "stream"),
]

LIMITS = {
    "scan_limit": "mariadb --quick -e 'SELECT * FROM snap.sbtest' > /dev/null",
    "wide_limit": "mariadb --quick -e 'SELECT * FROM wide.t' > /dev/null",
    "kafka_snapshot_limit": "bench/raw_produce: bare librdkafka, one message per row, sluice's average envelope size",
    "binlog_limit": "mariadb-binlog --read-from-remote-server of the same range > /dev/null",
    "kafka_limit": "bench/raw_produce: bare librdkafka, events + tombstones, the value bytes per message of sluice's topic",
    "kafka_avro_limit": "bench/raw_produce: bare librdkafka, events + tombstones, sluice's average Avro value size",
    "pg_scan_limit": "psql -c 'COPY (SELECT * FROM sbtest) TO STDOUT' > /dev/null",
    "pg_wal_limit": "pg_recvlogical (pgoutput, proto_version 1) of the same WAL range to /dev/null",
    "pg_kafka_snapshot_limit": "bench/raw_produce: one message per row, sluice's average PostgreSQL envelope size",
    "pg_kafka_limit": "bench/raw_produce: events + tombstones, the value bytes per message of sluice's topic",
    "ch_snapshot_limit": "bench/ch_replay.py: the INSERTs sluice sent (RowBinary, captured) POSTed into a copy",
    "ch_binlog_limit": "bench/ch_replay.py: the INSERTs sluice sent (RowBinary, captured) POSTed into a copy",
    "ice_bh_snapshot": "the same sluice run into the blackhole (render: true)",
    "ice_bh_binlog": "the same sluice migrate --follow-until into the blackhole (render: true)",
}


def load_figures(path: Path) -> dict:
    figures = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if not parts:
            continue
        key = parts[0]
        if len(parts) < 4:
            figures[key] = {"failed": True}
            continue
        f = {"wall_s": float(parts[1]), "cpu_s": float(parts[2]), "rss_kib": int(parts[3])}
        if len(parts) >= 5 and parts[4] != "-":
            f["events_seen"] = int(parts[4])
        if len(parts) >= 8:
            f["peer"] = {"json_bytes": int(parts[5]), "first_event_s": float(parts[6]),
                         "last_event_s": float(parts[7])}
        figures[key] = f
    return figures


def fmt_rate(x):
    if x is None:
        return "-"
    return f"{x / 1000:.0f}k" if x >= 10000 else f"{x:.0f}"


def fmt_ratio(x):
    return "-" if x is None else (f"{x:.2f}" if x < 10 else f"{x:.1f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--figures", required=True, type=Path)
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--wide-rows", type=int, required=True)
    ap.add_argument("--events", type=int, required=True)
    ap.add_argument("--snapshot-bytes", type=int, required=True)
    ap.add_argument("--runs", type=int, required=True)
    ap.add_argument("--debezium-runs", type=int, required=True)
    ap.add_argument("--debezium-heap", required=True)
    ap.add_argument("--latency", required=True)
    ap.add_argument("--latency-pg", default="null")
    ap.add_argument("--topic-bytes", nargs=2, default=["null", "null"],
                    help="bench/topic_bytes.py of the JSON and the Avro binlog -> kafka topics")
    ap.add_argument("--ha", default="null", help="bench/ha_failover.py results (a JSON list), or null")
    ap.add_argument("--writer", default="null", help="bench/writer.py's result (JSON), or null")
    ap.add_argument("--iceberg", default="null", help="bench/iceberg_read.py results (a JSON list), or null")
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--chart", type=Path, required=True)
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--load", nargs=2, required=True, help="load averages at start and end")
    a = ap.parse_args()

    figures = load_figures(a.figures)
    counts = {"rows": a.rows, "wide_rows": a.wide_rows, "events": a.events}

    def rate(key, count):
        f = figures.get(key)
        if not f or f.get("failed"):
            return None
        return count / f["wall_s"]

    def status(key, count=None):
        f = figures.get(key)
        if f is None:
            return "skipped"
        if f.get("failed"):
            return "FAILED"
        if count is not None and f.get("events_seen") is not None and f["events_seen"] < count:
            return "SHORT"  # the sink saw fewer events than the scenario holds
        return "ok"

    table = []
    for label, count_attr, unit, s_key, l_key, d_key, kind in SCENARIOS:
        n = counts[count_attr]
        s, lim, d = rate(s_key, n), rate(l_key, n), rate(d_key, n)
        sf, df = figures.get(s_key, {}), figures.get(d_key, {})
        table.append({
            "scenario": label, "kind": kind, "unit": unit + "/s", "count": n,
            "sluice": {"status": status(s_key, n), "rate": s,
                       **{k: sf.get(k) for k in ("wall_s", "cpu_s", "rss_kib", "events_seen")}},
            "limit": {"status": status(l_key), "rate": lim, "what": LIMITS[l_key],
                      **{k: figures.get(l_key, {}).get(k) for k in ("wall_s", "cpu_s", "rss_kib")}},
            "debezium": {"status": status(d_key), "rate": d,
                         **{k: df.get(k) for k in ("wall_s", "cpu_s", "rss_kib", "peer")}},
            "sluice_over_limit": s / lim if s and lim else None,
            "sluice_over_debezium": s / d if s and d else None,
            "debezium_over_limit": d / lim if d and lim else None,
            "rss_debezium_over_sluice": (df["rss_kib"] / sf["rss_kib"]
                                         if sf.get("rss_kib") and df.get("rss_kib") else None),
            "cpu_debezium_over_sluice": (df["cpu_s"] / sf["cpu_s"]
                                         if sf.get("cpu_s") and df.get("cpu_s") else None),
        })

    hdr = (f"{'scenario':35} {'sluice/s':>9} {'limit/s':>9} {'s/limit':>7} {'Dbz/s':>7} {'s/Dbz':>6} "
           f"{'CPU s':>6} {'RSS MiB':>8} {'Dbz CPU':>7} {'Dbz MiB':>7}")
    print(hdr)
    for t in table:
        s, lim, d = t["sluice"], t["limit"], t["debezium"]
        srate = fmt_rate(s["rate"]) if s["status"] == "ok" else s["status"]
        drate = fmt_rate(d["rate"]) if d["status"] == "ok" else d["status"]
        scpu = "-" if s["cpu_s"] is None else f"{s['cpu_s']:.1f}"
        dcpu = "-" if d["cpu_s"] is None else f"{d['cpu_s']:.1f}"
        srss = "-" if not s["rss_kib"] else f"{s['rss_kib'] / 1024:.1f}"
        drss = "-" if not d["rss_kib"] else f"{d['rss_kib'] / 1024:.0f}"
        print(f"{t['scenario']:35} {srate:>9} {fmt_rate(lim['rate']):>9} {fmt_ratio(t['sluice_over_limit']):>7} "
              f"{drate:>7} {fmt_ratio(t['sluice_over_debezium']):>6} {scpu:>6} {srss:>8} {dcpu:>7} {drss:>7}")
    for name, k in (("mariadb", "snapshot"), ("postgres", "pg_snapshot")):
        p1, p2 = figures.get(k + "_p1", {}), figures.get(k + "_p2", {})
        if p1.get("wall_s") and p2.get("wall_s"):
            print(f"speed-up parallelism 1 -> 2 ({name} snapshot): {p1['wall_s'] / p2['wall_s']:.2f}x")
    plain, xf = figures.get("snapshot_p1", {}), figures.get("snapshot_transform", {})
    transform_ratio = None
    if plain.get("wall_s") and xf.get("wall_s"):
        transform_ratio = plain["wall_s"] / xf["wall_s"]
        print(f"mariadb snapshot p=1 with a transform (3 computed columns, a filter): "
              f"{fmt_rate(a.rows / xf['wall_s'])} rows/s, {transform_ratio:.2f}x the rate without "
              f"(goal 0.8x) {'ok' if transform_ratio >= 0.8 else 'MISSED'}; "
              f"{xf['cpu_s']:.1f} CPU s against {plain['cpu_s']:.1f}")
    def best_of(prefix):  # the runs of one algorithm, taken in turns with the other's
        runs = [f for k, f in figures.items() if k.startswith(prefix) and f.get("wall_s")]
        return min(runs, key=lambda f: f["wall_s"]) if runs else {}
    sp, wm = best_of("snapshot_writes_snapshot_position_"), best_of("snapshot_writes_watermark_")
    watermark_ratio = None
    writer = json.loads(a.writer)
    if sp.get("wall_s") and wm.get("wall_s"):
        watermark_ratio = sp["wall_s"] / wm["wall_s"]
        w = f"{writer['rate']} rows/s" if writer else "rate unknown"
        print(f"mariadb snapshot p=2 under a writer (goal 5k rows/s, reached {w}): snapshot-position "
              f"{fmt_rate(a.rows / sp['wall_s'])} rows/s, watermark {fmt_rate(a.rows / wm['wall_s'])} rows/s, "
              f"{watermark_ratio:.2f}x (goal 0.9x) {'ok' if watermark_ratio >= 0.9 else 'MISSED'}; "
              f"{wm['cpu_s']:.1f} CPU s against {sp['cpu_s']:.1f}")
    kafka_pairs = {}
    for label, key, count in (("snapshot", "kafka_pair_snapshot", a.rows), ("binlog", "kafka_pair", a.events)):
        ratios = []
        for i in itertools.count(1):
            s_f, l_f = figures.get(f"{key}_{i}"), figures.get(f"{key}_limit_{i}")
            if s_f is None or l_f is None:
                break
            if s_f.get("wall_s") and l_f.get("wall_s"):
                ratios.append({"sluice_rate": count / s_f["wall_s"], "limit_rate": count / l_f["wall_s"],
                               "ratio": l_f["wall_s"] / s_f["wall_s"]})
        if ratios:
            rs = sorted(r["ratio"] for r in ratios)
            med = statistics.median(rs)
            kafka_pairs[label] = {"pairs": ratios, "median_ratio": med}
            print(f"mariadb {label} -> kafka, {len(rs)} runs in turns with the bare producer: median ratio "
                  f"{med:.2f} (goal 0.8) {'ok' if med >= 0.8 else 'MISSED'}, range {rs[0]:.2f}-{rs[-1]:.2f}; sluice "
                  f"{fmt_rate(min(r['sluice_rate'] for r in ratios))}-{fmt_rate(max(r['sluice_rate'] for r in ratios))}"
                  f", bare producer {fmt_rate(min(r['limit_rate'] for r in ratios))}-"
                  f"{fmt_rate(max(r['limit_rate'] for r in ratios))}")
    jb, ab = (json.loads(x) for x in a.topic_bytes)
    avro = None
    if jb and ab and jb["records"] and ab["records"]:
        j_rate, a_rate = rate("kafka", a.events), rate("kafka_avro", a.events)
        bytes_ratio = (ab["key_bytes"] + ab["value_bytes"]) / (jb["key_bytes"] + jb["value_bytes"])
        rate_ratio = a_rate / j_rate if a_rate and j_rate else None
        avro = {"json": jb, "avro": ab, "bytes_ratio": bytes_ratio, "events_rate_ratio": rate_ratio}
        print(f"mariadb binlog -> kafka, avro beside json: {fmt_ratio(rate_ratio)}x the events/s (goal >= 1) "
              f"{'ok' if rate_ratio and rate_ratio >= 1 else 'MISSED'}; {bytes_ratio:.2f}x the bytes of keys and "
              f"values (goal <= 0.5) {'ok' if bytes_ratio <= 0.5 else 'MISSED'}; "
              f"{ab['value_bytes'] // max(ab['values'], 1)} against {jb['value_bytes'] // max(jb['values'], 1)} "
              f"bytes per value")
    latency = json.loads(a.latency)
    latency_pg = json.loads(a.latency_pg)
    for name, lat in (("mariadb", latency), ("postgres", latency_pg)):
        if not lat:
            print(f"{name} commit-to-visible latency: not measured")
            continue
        print(f"{name} commit-to-visible latency at {lat['rate']:.0f} rows/s (checkpoint.interval 100ms, "
              f"read_committed): p50 {lat['p50_ms']:.0f} ms, p99 {lat['p99_ms']:.0f} ms, max {lat['max_ms']:.0f} ms; "
              f"sluice {lat['cpu_s']:.1f} CPU s, {lat['rss_kib'] / 1024:.1f} MiB peak RSS; "
              f"{lat['received']} of {lat['sent']} rows seen")
    for f in json.loads(a.ha) or []:
        if f:
            print(f"failover {f['mode']} (ha.session.timeout {f['session']}, kill -9 of the active to the first later "
                  f"row visible read_committed, {f['failovers']} kills): p50 {f['p50_s']:.2f} s, "
                  f"p99 {f['p99_s']:.2f} s, min {f['min_s']:.2f} s, max {f['max_s']:.2f} s")
    iceberg = [x for x in json.loads(a.iceberg) or [] if x]
    for x in iceberg:
        print(f"iceberg {x['table']}: {x['files']} files ({x['data_files']} data, {x['delete_files']} position "
              f"deletes), {x['bytes'] / 1e6:.1f} MB; current snapshot {x.get('current_data_files')} data and "
              f"{x.get('current_delete_files')} delete files; DuckDB count(*) {x['count_ms']:.1f} ms against "
              f"{x['one_parquet_ms']:.1f} ms on one Parquet file of the same {x['rows']} rows and "
              f"{x.get('one_file_iceberg_ms') or 0:.1f} ms on a one-file Iceberg table by pyiceberg; "
              f"sink: {x['phases']}")
    print(f"rates: count / wall time of the whole process, start-up included; sluice and limits best of {a.runs}, "
          f"Debezium 3.5 embedded (JSON converter, -Xmx{a.debezium_heap}) best of {a.debezium_runs}; "
          f"kafka: sluice exactly-once, Debezium's driver an idempotent producer (at-least-once)")

    goals = []
    for t in table:
        r = t["sluice_over_debezium"]
        if r is None:
            continue
        need = 10 if t["kind"] == "snapshot" else 5
        c = t["cpu_debezium_over_sluice"]
        cpu = f"; Debezium used {c:.1f}x sluice's CPU seconds" if c else ""
        goals.append(f"{t['scenario']}: {r:.1f}x Debezium's rate (goal {need}x) {'ok' if r >= need else 'MISSED'}{cpu}")
        m = t["rss_debezium_over_sluice"]
        if m is not None:
            goals.append(f"{t['scenario']}: RSS 1/{m:.1f} of Debezium's (goal 1/10) {'ok' if m >= 10 else 'MISSED'}")
    for t in table:  # the clickhouse sink: 0.7x the limit of the same server, 64 MiB
        if not t["scenario"].endswith("clickhouse") or t["sluice_over_limit"] is None:
            continue
        r, rss = t["sluice_over_limit"], (t["sluice"]["rss_kib"] or 0) / 1024
        goals.append(f"{t['scenario']}: {r:.2f}x the limit (goal 0.7x) {'ok' if r >= 0.7 else 'MISSED'}; "
                     f"peak RSS {rss:.1f} MiB (goal 64) {'ok' if rss <= 64 else 'MISSED'}")
    for t in table:  # the iceberg sink: 0.7x the blackhole, 128 MiB with the key index on disk
        if not t["scenario"].endswith("iceberg") or t["sluice_over_limit"] is None:
            continue
        r, rss = t["sluice_over_limit"], (t["sluice"]["rss_kib"] or 0) / 1024
        goals.append(f"{t['scenario']}: {r:.2f}x the blackhole (goal 0.7x) {'ok' if r >= 0.7 else 'MISSED'}; "
                     f"peak RSS {rss:.1f} MiB (goal 128) {'ok' if rss <= 128 else 'MISSED'}")
    for x in iceberg:
        r = x["count_ms"] / x["one_parquet_ms"]
        ref = x.get("one_file_iceberg_ms")
        vs = f"; {x['count_ms'] / ref:.1f}x a one-file Iceberg table by pyiceberg" if ref else ""
        goals.append(f"iceberg {x['table']}: DuckDB count(*) {r:.1f}x one Parquet file (goal 2x) "
                     f"{'ok' if r <= 2 else 'MISSED'}{vs}")
    if goals:
        print("goals:")
        for g in goals:
            print("  " + g)

    print(f"load average (1, 5, 15 min) at start: {a.load[0]}, at end: {a.load[1]} (2 cores: other work "
          "on the machine slows every contender)")

    out = {"sizes": counts, "load_average": {"start": a.load[0], "end": a.load[1]}, "snapshot_envelope_bytes": a.snapshot_bytes, "runs": a.runs,
           "debezium_runs": a.debezium_runs, "debezium_heap": a.debezium_heap, "figures": figures,
           "table": table, "latency": latency, "latency_pg": latency_pg, "transform_ratio": transform_ratio,
           "watermark_ratio": watermark_ratio, "writer": writer,
           "avro": avro, "failover": json.loads(a.ha), "iceberg": iceberg, "kafka_pairs": kafka_pairs}
    a.json.write_text(json.dumps(out, indent=2))
    print(f"all figures: {a.json}")

    if shutil.which("gnuplot"):
        chart(table, a.chart, a.workdir)


def chart(table, path: Path, workdir: Path) -> None:
    rows = [t for t in table if t["limit"]["rate"] and (t["sluice"]["rate"] or t["debezium"]["rate"])]
    if not rows:
        return
    data = workdir / "chart.dat"
    with data.open("w") as f:
        for t in rows:
            lim = t["limit"]["rate"]
            s = t["sluice"]["rate"] / lim if t["sluice"]["rate"] else 0
            d = t["debezium"]["rate"] / lim if t["debezium"]["rate"] else 0
            label = t["scenario"].replace(" -> ", "\\n-> ")
            f.write(f'"{label}" {s:.4f} {d:.4f}\n')
    script = f"""
set terminal png size 1600,600 font ",10"
set output "{path}"
set title "rate / physical limit (same run; 1.0 = the limit)"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set yrange [0:*]
set offsets graph 0, graph 0, graph 0.12, 0
set grid ytics
set key outside top center horizontal
set bmargin 4
set xtics font ",8"
plot "{data}" using 2:xtic(1) title "sluice" lc rgb "#1f77b4", \\
     "" using 3 title "Debezium 3.5 embedded" lc rgb "#d62728", \\
     "" using 0:2:(sprintf("%.2f",$2)) with labels offset -2,0.7 notitle, \\
     "" using 0:3:(sprintf("%.2f",$3)) with labels offset 2,0.7 notitle
"""
    r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if r.returncode == 0:
        print(f"chart: {path}")
    else:
        print(f"chart failed: {r.stderr.strip()}")


if __name__ == "__main__":
    main()
