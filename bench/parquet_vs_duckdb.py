#!/usr/bin/env python3
"""bench/parquet_vs_duckdb.py — `make bench-parquet`: sluice's Parquet
writer (bench/pq_bench, one thread, rows generated on the fly) beside DuckDB
writing the same rows with `COPY ... TO ... (FORMAT parquet, COMPRESSION
zstd)` at threads=1, both zstd. A benchmark, not a test: it prints a table
and writes nothing else.

DuckDB's side: the rows (pq_bench --csv, the same generator and seed) are
loaded once into a DuckDB database file; each timed run is a fresh process
that opens it and runs only the COPY, so its peak RSS is the COPY's plus
the DuckDB/Python baseline, which is measured and shown separately.
Best of --runs for each, spread (min/median/max) beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

DUCK_COPY = r"""
import json, re, sys, time, duckdb
def hwm():  # VmHWM: ru_maxrss would carry the parent's size across fork + exec
    return int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read()).group(1))
db, out, level, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
con = duckdb.connect(db, read_only=True)
con.execute("SET threads = 1")
base = hwm()
t0, c0 = time.monotonic(), time.process_time()
if mode == "copy":
    con.execute(f"COPY sbtest TO '{out}' (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL {level})")
wall, cpu = time.monotonic() - t0, time.process_time() - c0
print(json.dumps({"seconds": wall, "cpu_seconds": cpu,
                  "peak_rss_kib": hwm(),
                  "baseline_rss_kib": base}))
"""


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def spread(xs):
    return f"{min(xs):.2f}/{statistics.median(xs):.2f}/{max(xs):.2f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/bench/pq_bench")
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--level", type=int, default=3, help="zstd level for both")
    args = ap.parse_args()
    import duckdb  # noqa: F401  (fail early when the venv lacks it)

    work = Path(tempfile.mkdtemp(prefix="pq-bench-"))
    try:
        csv = work / "rows.csv"
        subprocess.run([args.bin, "--rows", str(args.rows), "--csv", str(csv)], check=True)
        raw_bytes = None
        db = work / "rows.duckdb"
        import duckdb as d
        con = d.connect(str(db))
        con.execute("CREATE TABLE sbtest (id INTEGER, k INTEGER, c VARCHAR, pad VARCHAR)")
        con.execute(f"INSERT INTO sbtest SELECT * FROM read_csv('{csv}', header=false, "
                    "columns={'id': 'INTEGER', 'k': 'INTEGER', 'c': 'VARCHAR', 'pad': 'VARCHAR'})")
        con.close()
        csv.unlink()

        gen = run_json([args.bin, "--rows", str(args.rows), "--gen-only"])
        ours, theirs = [], []
        for _ in range(args.runs):
            out = work / "sluice.parquet"
            ours.append(run_json([args.bin, "--rows", str(args.rows), "--level", str(args.level),
                                  "--out", str(out)]))
            raw_bytes = ours[-1]["raw_bytes"]
            ours[-1]["file_bytes"] = out.stat().st_size
            out.unlink()
            dout = work / "duckdb.parquet"
            r = run_json([sys.executable, "-c", DUCK_COPY, str(db), str(dout), str(args.level), "copy"])
            r["file_bytes"] = dout.stat().st_size
            dout.unlink()
            theirs.append(r)
        idle = run_json([sys.executable, "-c", DUCK_COPY, str(db), str(work / "none"), str(args.level), "idle"])

        def line(name, runs, extra=""):
            best = min(runs, key=lambda r: r["seconds"])
            secs = [r["seconds"] for r in runs]
            print(f"{name:<28} {args.rows / best['seconds']:>10,.0f} {raw_bytes / best['seconds'] / 1e6:>8.1f} "
                  f"{best['cpu_seconds']:>7.2f} {best['peak_rss_kib'] / 1024:>8.1f} "
                  f"{best['file_bytes'] / 1e6:>8.1f}  {spread(secs)}{extra}")
            return best

        print(f"\n{args.rows:,} sysbench rows (id INT, k INT, c CHAR(120), pad CHAR(60)), "
              f"{raw_bytes / 1e6:.0f} MB of raw values, zstd level {args.level}, one thread, best of {args.runs}")
        print(f"{'writer':<28} {'rows/s':>10} {'MB/s':>8} {'cpu s':>7} {'RSS MiB':>8} {'file MB':>8}  seconds min/med/max")
        a = line("sluice formats/parquet", ours)
        b = line("DuckDB COPY TO parquet", theirs,
                 f"  (RSS of DuckDB+Python idle: {idle['peak_rss_kib'] / 1024:.0f} MiB)")
        print(f"{'row generator alone':<28} {args.rows / gen['seconds']:>10,.0f}   (included in sluice's time)")
        print(f"sluice/DuckDB speed ratio: {b['seconds'] / a['seconds']:.2f}x")
    finally:
        for p in work.iterdir():
            p.unlink()
        work.rmdir()


if __name__ == "__main__":
    main()
