"""Exactly once into Iceberg across crashes: sluice killed with SIGKILL at
random moments during the snapshot and while streaming, under concurrent
writes (updates, deletes, re-inserts, key changes). Afterwards pyiceberg and
DuckDB and chDB (icebergLocal) read tables equal to the source row by row, no
key twice; a kill between the catalog commit and the key index commit leaves
the index stale, and the restart rebuilds it from the table."""

from __future__ import annotations

import random
import time

from clickhouse_read import kill_loop, wait_for
from iceberg_read import ch_rows, drop_tables, duck_rows, py_rows, sink_yaml
from sluice_run import Sluice, mysql_exec, mysql_rows, mysql_source_yaml
from test_mysql_snapshot import Writer, fill

STARTED = "iceberg sink: connected"


def yaml(mariadb, ice, table, name, server_id):
    return f"""
{mysql_source_yaml(mariadb, table, server_id, "initial", "  scan.incremental.snapshot.chunk.size: 500")}
sink:
{sink_yaml(ice)}
pipeline:
  name: {name}
  checkpoint.interval: 200ms
  parallelism: 2
"""


def source_state(mariadb, db):
    return [{"id": r[0], "v": r[1], "pad": r[2]} for r in mysql_rows(mariadb, f"SELECT id, v, pad FROM {db}.t ORDER BY id")]


def test_kill9_loop_during_snapshot_and_streaming(mariadb, iceberg, tmp_path):
    db = "ice_crash"
    drop_tables(iceberg, f"{db}.t")
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}")
    n = 100_000
    fill(mariadb, db, n)
    s = Sluice(tmp_path, yaml(mariadb, iceberg, f"{db}.t", "ice_crash", 6201), env={"TEST_MYSQL_PASSWORD": mariadb.password})
    writer = Writer(mariadb, db, n, seed=31)
    writer.start()
    s.start(wait_for=STARTED, timeout=60)
    # the whole snapshot takes 0.2-1 s of sluice's time here (quiet machine
    # or loaded): kills during it come 0.02-0.25 s after each restart
    snap, stream = kill_loop(s, f"{db}.t", random.Random(37), started=STARTED, snapshot_longest=0.25,
                             snapshot_shortest=0.02)
    assert snap >= 3, "the snapshot finished before enough crashes"
    assert snap + stream >= 22
    time.sleep(1)
    writer.stop_evt.set()
    writer.join()
    assert writer.error is None, writer.error
    assert writer.ops > 1000
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (9999999999, 0, 'marker')")
    wait_for(lambda: any(r["id"] == 9999999999 for r in py_rows(iceberg, f"{db}.t")), 300, s, "the marker")
    assert s.stop() == 0
    want = source_state(mariadb, db)
    got = py_rows(iceberg, f"{db}.t")
    assert len({r["id"] for r in got}) == len(got), "a key appears twice"
    assert len(got) == len(want)
    assert got == want
    assert duck_rows(iceberg, f"{db}.t") == want
    assert ch_rows(iceberg, f"{db}.t") == want
    # one more run after a clean stop: the index on disk is current (or
    # rebuilt) and the next changes still land exactly
    s.start(wait_for=STARTED, timeout=60)
    mysql_exec(mariadb, f"UPDATE {db}.t SET v = -1 WHERE id <= 100", f"DELETE FROM {db}.t WHERE id > 99900 AND id < 9999999999")
    want = source_state(mariadb, db)
    wait_for(lambda: py_rows(iceberg, f"{db}.t") == want, 120, s, "the changes after a restart")
    assert "live keys" in s.log_text()
    assert s.stop() == 0
    assert duck_rows(iceberg, f"{db}.t") == want
    assert ch_rows(iceberg, f"{db}.t") == want
