#!/usr/bin/env python3
"""bench/scale_report.py — the tables and JSON of `make bench-scale` (bench/scale.sh).

Reads the figures file of bench/run.sh (keys scale_<source>_<sink>_<rows>_p<n>
and scale_tx_<source>) and the latency lines bench/scale.sh collected, and
prints per source, sink and parallelism the rows/s, CPU seconds and peak RSS
at every size, the flatness (rows/s at the largest size / rows/s at the
smallest) and the RSS growth, checked against the issue's goals: peak RSS
<= 64 MiB into the blackhole and <= 100 MiB into Kafka at any size, p99
<= 200 ms at 50k rows/s.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from report import fmt_rate, load_figures

RSS_GOAL_MIB = {"blackhole": 64, "kafka": 100}
P99_GOAL_MS = 200


def size(n: int) -> str:
    return f"{n / 1e6:g}M" if n >= 1000000 else f"{n / 1e3:g}k"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--figures", required=True, type=Path)
    ap.add_argument("--loads", required=True, type=Path, help="KEY load L1 L5 L15 per scale run")
    ap.add_argument("--latency", required=True, type=Path, help="one JSON line per latency run")
    ap.add_argument("--rows", type=int, nargs="*", default=[])
    ap.add_argument("--tx-rows", type=int, required=True)
    ap.add_argument("--runs", type=int, required=True)
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--load", nargs=2, required=True, help="load averages at start and end")
    a = ap.parse_args()

    figures = load_figures(a.figures)
    loads = {}
    if a.loads.exists():
        for line in a.loads.read_text().splitlines():
            key, _, rest = line.partition(" load ")
            loads[key] = rest
    curve = []
    if a.rows:
        print(f"scale curve: snapshot rows/s, CPU s and peak RSS by table size (best of {a.runs}; "
              f"load average {a.load[0]} at the start, {a.load[1]} at the end)")
        print(f"{'source':9} {'sink':9} {'p':>2} " + " ".join(f"{size(n):>5} rows/s  CPU  RSS" for n in a.rows)
              + "  flat  RSS growth  goal")
    failures = []
    for src in ("mariadb", "postgres"):
        for sink in ("blackhole", "kafka"):
            for par in (1, 2, 4):
                cells, rates, rss = [], [], []
                for n in a.rows:
                    key = f"scale_{src}_{sink}_{n}_p{par}"
                    f = figures.get(key)
                    if f is None:
                        cells.append(None)
                        continue
                    entry = {"source": src, "sink": sink, "parallelism": par, "rows": n, "key": key,
                             "load": loads.get(key)}
                    if f.get("failed"):
                        entry["failed"] = True
                    else:
                        complete = f.get("events_seen", n) >= n
                        entry.update(f, rate=n / f["wall_s"] if complete else None, complete=complete)
                        rates.append(entry["rate"])
                        rss.append(f["rss_kib"] / 1024)
                    curve.append(entry)
                    cells.append(entry)
                if all(c is None for c in cells):
                    continue
                row = f"{src:9} {sink:9} {par:>2} "
                for c in cells:
                    if c is None:
                        row += f"{'-':>11} {'-':>4} {'-':>4} "
                    elif c.get("failed") or c["rate"] is None:
                        row += f"{'FAILED' if c.get('failed') else 'SHORT':>11} {'-':>4} {'-':>4} "
                    else:
                        row += f"{fmt_rate(c['rate']):>11} {c['cpu_s']:4.0f} {c['rss_kib'] / 1024:4.0f} "
                flat = rates[-1] / rates[0] if len(rates) > 1 and None not in rates else None
                growth = rss[-1] / rss[0] if len(rss) > 1 else None
                ok = bool(rss) and max(rss) <= RSS_GOAL_MIB[sink]
                if not ok:
                    failures.append(f"{src} -> {sink} p={par}: peak RSS {max(rss, default=0):.0f} MiB "
                                    f"(goal <= {RSS_GOAL_MIB[sink]})")
                row += f" {'-' if flat is None else f'{flat:.2f}':>4}  {'-' if growth is None else f'{growth:.2f}':>10}"
                row += f"  RSS {'ok' if ok else 'MISSED'}"
                print(row)

    tx = []
    for src in ("mariadb", "postgres"):
        f = figures.get(f"scale_tx_{src}")
        if f is None:
            continue
        if f.get("failed"):
            print(f"{src}: one transaction of {a.tx_rows} rows -> kafka: FAILED")
            tx.append({"source": src, "rows": a.tx_rows, "failed": True})
            continue
        seen = f.get("events_seen", 0)
        mib = f["rss_kib"] / 1024
        print(f"{src}: one transaction of {a.tx_rows} rows -> kafka (exactly-once): {a.tx_rows / f['wall_s']:.0f} rows/s, "
              f"{f['cpu_s']:.1f} CPU s, peak RSS {mib:.1f} MiB ({'ok' if mib <= RSS_GOAL_MIB['kafka'] else 'MISSED'}, "
              f"goal <= {RSS_GOAL_MIB['kafka']}); the sink saw {seen} events")
        tx.append({"source": src, "rows": a.tx_rows, **f})

    latency = [json.loads(line) for line in a.latency.read_text().splitlines() if line.strip()] \
        if a.latency.exists() else []
    for lat in latency:
        r = lat["result"]
        goal = ""
        if lat["target"] >= 50000 and r["p99_ms"] is not None:
            goal = f" (goal p99 <= {P99_GOAL_MS} ms: {'ok' if r['p99_ms'] <= P99_GOAL_MS else 'MISSED'})"
        p = {k: "-" if r[k] is None else f"{r[k]:.0f}" for k in ("p50_ms", "p99_ms", "max_ms")}
        print(f"{lat['source']} commit-to-visible at {r['rate']:.0f} rows/s (target {lat['target']}, "
              f"checkpoint.interval 100ms, read_committed): p50 {p['p50_ms']} ms, p99 {p['p99_ms']} ms, "
              f"max {p['max_ms']} ms; sluice {r['cpu_s']:.1f} CPU s, {r['rss_kib'] / 1024:.1f} MiB peak RSS; "
              f"{r['received']} of {r['sent']} rows seen; load {lat['load']}{goal}")
    for line in failures:
        print("goal missed: " + line)
    a.json.parent.mkdir(parents=True, exist_ok=True)
    a.json.write_text(json.dumps({"load": a.load, "runs": a.runs, "curve": curve, "big_transaction": tx,
                                  "latency": latency}, indent=1) + "\n")
    print(f"results: {a.json}")


if __name__ == "__main__":
    main()
