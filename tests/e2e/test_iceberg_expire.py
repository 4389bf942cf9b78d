"""Iceberg sink snapshot expiration (ice_expire.c): every epoch and every
compaction adds a snapshot; those past the retention leave the table's
metadata, and the files only they reached (data files compaction replaced,
their delete files, old manifests and manifest lists) leave the disk.
Readers (pyiceberg, DuckDB, chDB) still see the source row by row, each kept
snapshot still reads (time travel), and a restart on the cut history stays
exact."""

from __future__ import annotations

import random

from iceberg_read import catalog, ch_rows, drop_tables, duck_rows, local, py_rows, snapshot_files, wait_rows
from sluice_run import Sluice, mysql_exec
from test_iceberg_compact import STARTED, round_of_changes, source_state, sql_rounds, yaml
from test_iceberg_sql import sqlcat  # noqa: F401  (the fixture)
from test_mysql_snapshot import fill


def on_disk(table):
    """(data and delete files, manifests and lists) under the table's location"""
    root = local(table.metadata.location)
    return ({p for p in (root / "data").rglob("*") if p.is_file()},
            {p for p in (root / "metadata").glob("*.avro")})


def referenced(table):
    """the same, as the kept snapshots reach them (a file a kept snapshot
    lists as DELETED is read by none of them: it may be gone)"""
    return snapshot_files(table)


def expire_yaml(mariadb, ice, table, name, server_id, min_keep):
    """compaction after 3 small files (the sink's default delete ratio);
    every snapshot but the newest min_keep expired at every epoch"""
    return yaml(mariadb, ice, table, name, server_id, min_files=3, ratio=10,
                more="  expire-snapshots.max-age: 0ms\n"
                     "  expire-snapshots.check-interval: 0ms\n"
                     f"  expire-snapshots.min-keep: {min_keep}\n")


def test_expired_snapshots_and_their_files_go(mariadb, iceberg, tmp_path):
    db = "ice_expire"
    table = f"{db}.t"
    drop_tables(iceberg, table)
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}")
    n = 300
    fill(mariadb, db, n)
    s = Sluice(tmp_path, expire_yaml(mariadb, iceberg, table, "ice_expire", 6331, 3),
               env={"TEST_MYSQL_PASSWORD": mariadb.password})
    s.start(wait_for=STARTED, timeout=60)
    wait_rows(iceberg, table, source_state(mariadb, db), proc=s)
    rnd = random.Random(7)
    for r in range(14):
        round_of_changes(mariadb, db, rnd, n, r)
        wait_rows(iceberg, table, source_state(mariadb, db), proc=s)
    assert s.stop() == 0
    log = s.log_text()
    assert " compacted " in log, log[-4000:]
    assert " expired " in log, log[-4000:]
    t = catalog(iceberg).load_table(table)
    # min-keep 3, max-age 0: the last dirty epoch's check left three
    snaps = t.snapshots()
    assert len(snaps) == 3, [s_.snapshot_id for s_ in snaps]
    assert {e.snapshot_id for e in t.metadata.snapshot_log} <= {s_.snapshot_id for s_ in snaps}
    # nothing the kept snapshots reach is gone, nothing else is left
    files, meta = on_disk(t)
    want_files, want_meta = referenced(t)
    assert want_files <= files, sorted(want_files - files)
    assert want_meta <= meta, sorted(want_meta - meta)
    assert files == want_files, f"{len(files - want_files)} files no kept snapshot reaches"
    assert meta == want_meta, f"{len(meta - want_meta)} manifests no kept snapshot reaches"
    want = source_state(mariadb, db)
    assert py_rows(iceberg, table) == want
    assert duck_rows(iceberg, table) == want
    assert ch_rows(iceberg, table) == want
    # every kept snapshot still reads (time travel), one key at most once
    for snap in snaps:
        rows = t.scan(snapshot_id=snap.snapshot_id).to_arrow().to_pylist()
        assert len({r["id"] for r in rows}) == len(rows)
    # a restart on the cut history (the oldest kept snapshot's parent is
    # gone) adopts it and stays exact
    s.start(wait_for=STARTED, timeout=60)
    mysql_exec(mariadb, f"UPDATE {db}.t SET v = 4242 WHERE id % 7 = 2", f"DELETE FROM {db}.t WHERE id % 7 = 3")
    want = source_state(mariadb, db)
    wait_rows(iceberg, table, want, proc=s)
    assert s.stop() == 0
    assert "the key index cannot be rebuilt" not in s.log_text()
    assert duck_rows(iceberg, table) == want
    assert len(catalog(iceberg).load_table(table).snapshots()) == 3


def test_expiration_through_the_sql_catalog(mariadb, sqlcat, tmp_path):
    """remove-snapshots applied by sluice's own metadata writer (sqlite and
    PostgreSQL catalogs); the table's history.expire.min-snapshots-to-keep
    property wins over the sink's option"""
    from test_iceberg_sql import duck_rows as sql_duck_rows, wait_rows as sql_wait_rows

    db = f"ice_expire_sql_{sqlcat.kind}"
    s = sql_rounds(mariadb, sqlcat, db, 6332 if sqlcat.kind == "sqlite" else 6333, tmp_path,
                   "  compaction.min-input-files: 3\n"
                   "  expire-snapshots.max-age: 0ms\n"
                   "  expire-snapshots.check-interval: 0ms\n"
                   "  expire-snapshots.min-keep: 5\n"
                   '  table.properties.history.expire.min-snapshots-to-keep: "2"\n')
    assert s.stop() == 0
    assert " expired " in s.log_text()
    want = source_state(mariadb, db)
    t = sqlcat.catalog().load_table(f"{db}.t")
    assert len(t.snapshots()) == 2
    files, meta = on_disk(t)
    assert (files, meta) == referenced(t)
    assert sorted(t.scan().to_arrow().to_pylist(), key=lambda r: r["id"]) == want
    assert sql_duck_rows(sqlcat, f"{db}.t") == want
    # the restart adopts the cut history
    s.start(wait_for="mysql source: streaming", timeout=60)
    mysql_exec(mariadb, f"UPDATE {db}.t SET v = -1 WHERE id % 10 = 2")
    want = source_state(mariadb, db)
    sql_wait_rows(sqlcat, f"{db}.t", want, s)
    assert s.stop() == 0
    assert sql_duck_rows(sqlcat, f"{db}.t") == want


def test_a_bad_retention_property_is_named_and_expires_nothing_early(mariadb, iceberg, tmp_path):
    """history.expire.max-snapshot-age-ms that is not a number must not be
    read as 0 (which would expire every snapshot but the newest): the sink
    warns naming the table and the property and keeps to its own max-age"""
    db = "ice_expire_bad"
    table = f"{db}.t"
    drop_tables(iceberg, table)
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}")
    fill(mariadb, db, 50)
    y = yaml(mariadb, iceberg, table, "ice_expire_bad", 6334, min_files=0,
             more="  expire-snapshots.check-interval: 0ms\n"
                  "  table.properties.history.expire.max-snapshot-age-ms: soon\n")
    s = Sluice(tmp_path, y, env={"TEST_MYSQL_PASSWORD": mariadb.password})
    s.start(wait_for=STARTED, timeout=60)
    wait_rows(iceberg, table, source_state(mariadb, db), proc=s)
    for r in range(3):
        mysql_exec(mariadb, f"UPDATE {db}.t SET v = v + 1 WHERE id = {r + 1}")
        wait_rows(iceberg, table, source_state(mariadb, db), proc=s)
    assert s.stop() == 0
    log = s.log_text()
    assert (f"iceberg sink: {table}: table property history.expire.max-snapshot-age-ms = 'soon' is not a whole "
            "number of at least 0; expiration uses the sink's expire-snapshots.max-age (3600000) instead") in log, \
        log[-3000:]
    assert " expired " not in log
    assert len(catalog(iceberg).load_table(table).snapshots()) >= 4
