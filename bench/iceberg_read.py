"""bench/iceberg_read.py — what one Iceberg table of the bench costs: the files
and bytes sluice wrote for it (all of them, and those of the current
snapshot, which is what a reader opens: compaction leaves the files it
replaced in place), DuckDB's count(*) on it (best of three) against the same
rows written as one Parquet file by DuckDB itself and as a one-file Iceberg
table written by pyiceberg in the same catalog (DuckDB's Iceberg path reads
the metadata JSON, the manifest list and the manifests before any Parquet:
that one is the floor of any Iceberg table), and where the sink's time went
(its last log line: epochs, ms per phase). Prints one JSON object for
bench/report.py."""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import duckdb
import duckdb_extension_avro
import duckdb_extension_httpfs
import duckdb_extension_iceberg
from pyiceberg.catalog import load_catalog
from pyiceberg.exceptions import NoSuchTableError


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--uri", required=True, help="the REST catalog")
    ap.add_argument("--table", required=True, help="namespace.table")
    ap.add_argument("--rows", type=int, required=True, help="rows the table must hold")
    ap.add_argument("--files", type=Path, required=True, help="the table's directory in the warehouse")
    ap.add_argument("--log", type=Path, required=True, help="a sluice log of a run into this table")
    ap.add_argument("--workdir", type=Path, required=True)
    a = ap.parse_args()
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    for m in (duckdb_extension_avro, duckdb_extension_httpfs, duckdb_extension_iceberg):
        con.execute(f"LOAD '{next((Path(m.__file__).parent / 'extensions').rglob('*.duckdb_extension'))}'")
    con.execute(f"ATTACH 'wh' AS ic (TYPE iceberg, ENDPOINT '{a.uri}', AUTHORIZATION_TYPE 'none')")

    def best(q):
        t = []
        for _ in range(3):
            s = time.perf_counter()
            n = con.execute(q).fetchone()[0]
            t.append(time.perf_counter() - s)
        assert n == a.rows, (q, n, a.rows)
        return min(t) * 1000

    ice = best(f"SELECT count(*) FROM ic.{a.table}")
    one = a.workdir / (a.table.replace(".", "_") + "-one.parquet")
    con.execute(f"COPY (SELECT * FROM ic.{a.table}) TO '{one}' (FORMAT parquet)")
    flat = best(f"SELECT count(*) FROM '{one}'")
    # the same rows as a one-file Iceberg table by pyiceberg (one append)
    cat = load_catalog("rest", **{"type": "rest", "uri": a.uri})
    ref = "bench_ref." + a.table.replace(".", "_")
    try:
        cat.drop_table(ref)
    except NoSuchTableError:
        pass
    cat.create_namespace_if_not_exists("bench_ref")
    arrow = con.execute(f"SELECT * FROM '{one}'").fetch_arrow_table()
    reft = cat.create_table(ref, schema=arrow.schema)
    reft.append(arrow)
    del arrow
    ref_ms = best(f"SELECT count(*) FROM ic.{ref}")
    cur = cat.load_table(a.table).inspect.files().select(["content"]).to_pylist()
    files = [p for p in a.files.rglob("*") if p.is_file()]
    phases = None
    m = re.findall(r"iceberg sink: (\d+ epochs, time in ms: .*)", a.log.read_text(errors="replace"))
    if m:
        phases = m[-1]
    print(json.dumps({"table": a.table, "rows": a.rows, "files": len(files),
                      "data_files": sum(1 for p in files if p.suffix == ".parquet" and "deletes" not in p.name),
                      "delete_files": sum(1 for p in files if p.name.endswith("-deletes.parquet")),
                      "bytes": sum(p.stat().st_size for p in files), "count_ms": ice, "one_parquet_ms": flat,
                      "one_file_iceberg_ms": ref_ms,
                      "current_data_files": sum(1 for r in cur if r["content"] == 0),
                      "current_delete_files": sum(1 for r in cur if r["content"] == 1),
                      "phases": phases}))


if __name__ == "__main__":
    main()
