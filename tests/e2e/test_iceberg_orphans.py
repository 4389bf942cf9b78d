"""Iceberg sink orphan file removal (ice_orphans.c): files in a table's
location that no snapshot reaches — an epoch a kill -9 cut short before its
commit, stray files older than remove-orphan-files.older-than — are deleted
after an epoch; everything a snapshot reaches, younger files, files of a
table nested in the data directory and the files outside data/ and
metadata/ stay. Readers (pyiceberg, DuckDB) still see the source row by
row."""

from __future__ import annotations

import os
import time

from clickhouse_read import wait_for
from iceberg_read import catalog, drop_tables, duck_rows, local, py_rows, snapshot_files, wait_rows
from sluice_run import Sluice, mysql_exec
from test_iceberg_compact import STARTED, source_state, sql_rounds, yaml
from test_iceberg_sql import sqlcat  # noqa: F401  (the fixture)
from test_mysql_snapshot import Writer, fill

TWO_DAYS = 2 * 86400


def reachable(table):
    """every file a snapshot of the table names (DELETED entries too), its
    manifests and lists; and the live files of the current snapshot"""
    files, meta = snapshot_files(table, discard_deleted=False)
    live = set()
    for task in table.scan().plan_files():
        live.add(local(task.file.file_path))
        live.update(local(d.file_path) for d in task.delete_files)
    return files | meta, live


def on_disk(table):
    """data and delete files, manifests and lists under the table's location"""
    root = local(table.metadata.location)
    return ({p for p in (root / "data").rglob("*") if p.is_file()} |
            {p for p in (root / "metadata").glob("*.avro")})


def age(path, seconds):
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_an_epoch_cut_short_by_kill9_leaves_no_files_behind(mariadb, iceberg, tmp_path):
    db = "ice_orphans_kill"
    table = f"{db}.t"
    drop_tables(iceberg, table)
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}")
    n = 3000
    fill(mariadb, db, n)
    y = yaml(mariadb, iceberg, table, "ice_orphans_kill", 6341, min_files=0,
             more="  remove-orphan-files.older-than: 0s\n")
    s = Sluice(tmp_path, y, env={"TEST_MYSQL_PASSWORD": mariadb.password})
    s.start(wait_for=STARTED, timeout=60)
    wait_rows(iceberg, table, source_state(mariadb, db), proc=s, timeout=120)
    writer = Writer(mariadb, db, n, seed=17)
    writer.start()
    # kill -9 while an epoch has files on disk that its commit has not yet
    # named (the writer keeps an epoch open most of the time)
    orphans = set()
    for _ in range(20):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            t = catalog(iceberg).load_table(table)
            if on_disk(t) - reachable(t)[0]:
                break
            time.sleep(0.01)
        s.kill9()
        t = catalog(iceberg).load_table(table)
        orphans = on_disk(t) - reachable(t)[0]
        if orphans:
            break
        s.start(wait_for=STARTED, timeout=60)
    assert orphans, "no kill left an uncommitted file"
    s.start(wait_for=STARTED, timeout=60)
    wait_for(lambda: " orphan files of " in s.log_text(), 60, s, "the orphan files' removal")
    writer.stop_evt.set()
    writer.join()
    assert writer.error is None, writer.error
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (9999999, 0, 'marker')")
    wait_for(lambda: any(r["id"] == 9999999 for r in py_rows(iceberg, table)), 120, s, "the marker")
    assert s.stop() == 0
    assert not {p for p in orphans if p.exists()}, sorted(p for p in orphans if p.exists())
    t = catalog(iceberg).load_table(table)
    every, live = reachable(t)
    disk = on_disk(t)
    assert disk <= every, sorted(disk - every)
    assert live <= disk, sorted(live - disk)
    want = source_state(mariadb, db)
    assert py_rows(iceberg, table) == want
    assert duck_rows(iceberg, table) == want


def test_only_old_unreachable_files_go(mariadb, iceberg, tmp_path):
    db = "ice_orphans_plant"
    table = f"{db}.t"
    drop_tables(iceberg, table)
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}")
    fill(mariadb, db, 200)
    env = {"TEST_MYSQL_PASSWORD": mariadb.password}

    def run(more, change):
        s = Sluice(tmp_path, yaml(mariadb, iceberg, table, "ice_orphans_plant", 6342, min_files=0, more=more), env=env)
        s.start(wait_for=STARTED, timeout=60)
        mysql_exec(mariadb, change)
        wait_rows(iceberg, table, source_state(mariadb, db), proc=s)
        assert s.stop() == 0
        return s.log_text()

    run("", f"UPDATE {db}.t SET v = v + 1 WHERE id < 10")
    t = catalog(iceberg).load_table(table)
    root = local(t.metadata.location)
    kept_before = on_disk(t)
    # what a crash leaves (two days old), what another writer may still be
    # writing (new), a table of its own below data/, a file below metadata/
    old = [root / "data" / "0000-orphan.parquet", root / "data" / "sub" / "x.parquet",
           root / "metadata" / "0000-orphan-m0.avro", root / "metadata" / "99999-stray.metadata.json",
           root / "metadata" / ".99999-stray.metadata.json.crc"]
    young = [root / "data" / "0001-young.parquet"]
    others = [root / "data" / "nested" / "metadata" / "v1.metadata.json",
              root / "data" / "nested" / "data" / "f.parquet", root / "metadata" / "sub" / "m.avro",
              root / "notes.txt"]
    for p in old + young + others:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"not committed")
    for p in old + others:
        age(p, TWO_DAYS)
    for p in kept_before:   # reachable: age does not matter
        age(p, TWO_DAYS)
    meta_json = sorted((root / "metadata").glob("0*.metadata.json"))
    for p in meta_json:
        age(p, TWO_DAYS)
    # switched off: nothing goes
    log = run("  remove-orphan-files.enabled: false\n", f"UPDATE {db}.t SET v = v + 1 WHERE id < 20")
    assert " orphan files of " not in log
    assert all(p.exists() for p in old + young + others)
    # on (older-than 1d, the default): the old unreachable files go
    log = run("", f"DELETE FROM {db}.t WHERE id % 5 = 0")
    assert f"iceberg sink: {table}: removed {len(old)} orphan files of {len(old) * 13} bytes" in log, log[-3000:]
    assert [p for p in old if p.exists()] == []
    assert all(p.exists() for p in young + others)
    t = catalog(iceberg).load_table(table)
    every, live = reachable(t)
    assert live <= on_disk(t)
    assert local(t.metadata_location).exists()
    assert all(local(e.metadata_file).exists() for e in t.metadata.metadata_log)
    want = source_state(mariadb, db)
    assert py_rows(iceberg, table) == want
    assert duck_rows(iceberg, table) == want


def test_orphans_through_the_sql_catalog(mariadb, sqlcat, tmp_path):
    """the current metadata file comes from the catalog's row (sqlite and
    PostgreSQL catalogs): it stays however old, a stray one goes"""
    from test_iceberg_sql import duck_rows as sql_duck_rows

    db = f"ice_orphans_sql_{sqlcat.kind}"
    s = sql_rounds(mariadb, sqlcat, db, 6343 if sqlcat.kind == "sqlite" else 6344, tmp_path, "")
    assert s.stop() == 0
    t = sqlcat.catalog().load_table(f"{db}.t")
    root = local(t.metadata.location)
    stray = [root / "metadata" / "00000-0000-stray.metadata.json", root / "data" / "0000-orphan.parquet"]
    for p in stray:
        p.write_bytes(b"{}")
    for p in stray + list((root / "metadata").iterdir()) + list((root / "data").iterdir()):
        age(p, TWO_DAYS)
    s.start(wait_for="mysql source: streaming", timeout=60)
    mysql_exec(mariadb, f"UPDATE {db}.t SET v = -1 WHERE id % 10 = 2")
    wait_for(lambda: " orphan files of " in s.log_text(), 60, s, "the orphan files' removal")
    assert s.stop() == 0
    assert f"iceberg sink: {db}.t: removed 2 orphan files of 4 bytes" in s.log_text()
    assert not any(p.exists() for p in stray)
    t = sqlcat.catalog().load_table(f"{db}.t")
    assert local(t.metadata_location).exists()
    every, live = reachable(t)
    assert live <= on_disk(t)
    want = source_state(mariadb, db)
    assert sorted(t.scan().to_arrow().to_pylist(), key=lambda r: r["id"]) == want
    assert sql_duck_rows(sqlcat, f"{db}.t") == want
