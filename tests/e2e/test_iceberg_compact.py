"""Iceberg sink compaction (ice_compact.c): the small data files and
position deletes that many small epochs leave are rewritten into a few
files in a replace snapshot. Readers (pyiceberg, DuckDB, chDB) still see the
source row by row; the key index follows the rows into the new files, so
later updates and deletes stay exact; a kill -9 at any moment (also during a
compaction) loses and doubles nothing."""

from __future__ import annotations

import random
import time

from clickhouse_read import wait_for
from iceberg_read import catalog, ch_rows, drop_tables, duck_rows, py_rows, sink_yaml, wait_rows
from sluice_run import Sluice, mysql_exec, mysql_rows, mysql_source_yaml
from test_iceberg_sql import sqlcat  # noqa: F401  (the fixture)
from test_mysql_snapshot import Writer, fill

STARTED = "iceberg sink: connected"


def yaml(mariadb, ice, table, name, server_id, min_files=4, ratio=1, more=""):
    """more: further sink options, one indented line each"""
    extra = (f"  compaction.min-input-files: {min_files}\n"
             f"  compaction.delete-ratio-percent: {ratio}\n") if min_files else ""
    extra += more
    return f"""
{mysql_source_yaml(mariadb, table, server_id, "initial")}
sink:
{sink_yaml(ice, extra)}
pipeline:
  name: {name}
  checkpoint.interval: 200ms
"""


def source_state(mariadb, db):
    return [{"id": r[0], "v": r[1], "pad": r[2]}
            for r in mysql_rows(mariadb, f"SELECT id, v, pad FROM {db}.t ORDER BY id")]


def changes_arrive(mariadb, iceberg, table, db, s, *statements):
    """statements run on the source, then waited for until the table holds
    the source's rows; those rows"""
    mysql_exec(mariadb, *statements)
    want = source_state(mariadb, db)
    wait_rows(iceberg, table, want, proc=s)
    return want


def files(ice, table):
    """(data files, position delete files) of the table's current snapshot"""
    rows = catalog(ice).load_table(table).inspect.files().to_pylist()
    return sum(r["content"] == 0 for r in rows), sum(r["content"] == 1 for r in rows)


def operation(ice, table):
    snap = catalog(ice).load_table(table).current_snapshot()
    return snap.summary.operation.value if snap else None


def round_of_changes(mariadb, db, rnd, n, r):
    ids = rnd.sample(range(1, n + 1), 6)
    mysql_exec(mariadb,
               f"INSERT INTO {db}.t VALUES ({n + 1000 + r}, {r}, 'new') ON DUPLICATE KEY UPDATE v = {r}",
               f"UPDATE {db}.t SET v = v + 1, pad = 'upd' WHERE id IN ({ids[0]}, {ids[1]}, {ids[2]})",
               f"DELETE FROM {db}.t WHERE id IN ({ids[3]}, {ids[4]})",
               f"INSERT INTO {db}.t VALUES ({ids[4]}, -{r}, 'again')")


def test_small_epochs_are_compacted_and_stay_exact(mariadb, iceberg, tmp_path):
    db = "ice_compact"
    table = f"{db}.t"
    drop_tables(iceberg, table)
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}")
    n = 300
    fill(mariadb, db, n)
    s = Sluice(tmp_path, yaml(mariadb, iceberg, table, "ice_compact", 6321), env={"TEST_MYSQL_PASSWORD": mariadb.password})
    s.start(wait_for=STARTED, timeout=60)
    wait_rows(iceberg, table, source_state(mariadb, db), proc=s)
    rnd = random.Random(5)
    # one epoch per round (each waits for its rows), until a compaction is
    # the table's current snapshot after at least 8 rounds
    for r in range(60):
        round_of_changes(mariadb, db, rnd, n, r)
        want = source_state(mariadb, db)
        wait_rows(iceberg, table, want, proc=s)
        if r >= 8 and "compacted" in s.log_text():
            wait_for(lambda: operation(iceberg, table) in ("replace", "overwrite", "append"), 30, s, "a snapshot")
            if operation(iceberg, table) == "replace":
                break
    else:
        raise AssertionError(f"no compaction became current:\n{s.log_text()[-4000:]}")
    data, dels = files(iceberg, table)
    assert dels == 0, f"{dels} delete files left after compaction"
    assert 1 <= data <= 4, f"{data} data files after compaction"
    snap = catalog(iceberg).load_table(table).current_snapshot()
    assert snap.summary["sluice.pipeline"] == "ice_compact"
    assert snap.summary["sluice.checkpoint"]
    want = source_state(mariadb, db)
    assert py_rows(iceberg, table) == want
    assert duck_rows(iceberg, table) == want
    assert ch_rows(iceberg, table) == want
    # the key index points into the compacted files: updates and deletes of
    # rows that were rewritten land on them
    want = changes_arrive(mariadb, iceberg, table, db, s, f"UPDATE {db}.t SET v = 7777 WHERE id % 10 = 3",
                          f"DELETE FROM {db}.t WHERE id % 10 = 4")
    assert s.stop() == 0
    got = py_rows(iceberg, table)
    assert len({r["id"] for r in got}) == len(got)
    assert duck_rows(iceberg, table) == want
    assert ch_rows(iceberg, table) == want
    # a restart trusts (or rebuilds) the index and stays exact
    s.start(wait_for=STARTED, timeout=60)
    want = changes_arrive(mariadb, iceberg, table, db, s, f"UPDATE {db}.t SET v = 8888 WHERE id % 10 = 5")
    assert s.stop() == 0
    assert duck_rows(iceberg, table) == want


def test_kill9_during_compaction_loses_and_doubles_nothing(mariadb, iceberg, tmp_path):
    db = "ice_compact_kill"
    table = f"{db}.t"
    drop_tables(iceberg, table)
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}")
    n = 3000
    fill(mariadb, db, n)
    s = Sluice(tmp_path, yaml(mariadb, iceberg, table, "ice_compact_kill", 6322, min_files=3),
               env={"TEST_MYSQL_PASSWORD": mariadb.password})
    writer = Writer(mariadb, db, n, seed=11)
    s.start(wait_for=STARTED, timeout=60)
    wait_rows(iceberg, table, source_state(mariadb, db), proc=s, timeout=120)
    writer.start()
    rnd = random.Random(13)
    kills = 0
    # crash at random moments: after a random number of this run's epochs
    # (progress, whatever the machine's speed) and a random pause, so some
    # kills fall into a compaction (it runs right after an epoch's commit)
    while kills < 10:
        epochs = rnd.randint(1, 5)
        wait_for(lambda: s.log_text().count("epoch committed: 1 tables") >= epochs, 300, s, f"{epochs} epochs")
        time.sleep(rnd.uniform(0, 0.5))
        if s.proc.poll() is not None:
            raise AssertionError(f"sluice exited ({s.proc.returncode}):\n{s.log_text()[-4000:]}")
        s.kill9()
        kills += 1
        s.start(wait_for=STARTED, timeout=120)
    writer.stop_evt.set()
    writer.join()
    assert writer.error is None, writer.error
    assert kills >= 8
    compactions = sum(p.read_text(errors="replace").count(" compacted ") for p in tmp_path.glob("sluice-*.log"))
    assert compactions >= 2, s.log_text()[-4000:]
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (9999999, 0, 'marker')")
    wait_for(lambda: any(r["id"] == 9999999 for r in py_rows(iceberg, table)), 300, s, "the marker")
    assert s.stop() == 0
    want = source_state(mariadb, db)
    got = py_rows(iceberg, table)
    assert len({r["id"] for r in got}) == len(got), "a key appears twice"
    assert got == want
    assert duck_rows(iceberg, table) == want
    assert ch_rows(iceberg, table) == want


def streaming_into_empty_table(mariadb, iceberg, tmp_path, db, server_id):
    """db.t created empty and a sluice streaming it (the changes come through
    the binlog: a snapshot would see only the end) at the default delete
    ratio; (table, the running Sluice)"""
    table = f"{db}.t"
    drop_tables(iceberg, table)
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.t (id BIGINT PRIMARY KEY, v BIGINT NOT NULL, pad VARCHAR(40))")
    s = Sluice(tmp_path, yaml(mariadb, iceberg, table, db, server_id, min_files=0),
               env={"TEST_MYSQL_PASSWORD": mariadb.password})
    s.start(wait_for="mysql source: streaming", timeout=60)
    return table, s


def test_one_file_with_many_deletes_is_compacted_at_the_default_ratio(mariadb, iceberg, tmp_path):
    """one data file (one epoch's inserts) and the deletes a later epoch
    puts on it: they remove more than compaction.delete-ratio-percent
    (default 10) of its rows, so it is rewritten without them after that
    epoch's commit although it is a single file"""
    db = "ice_compact_ratio"
    table, s = streaming_into_empty_table(mariadb, iceberg, tmp_path, db, 6323)
    mysql_exec(mariadb, f"INSERT INTO {db}.t SELECT seq, seq, 'x' FROM {db}.seq_1_to_4000")
    wait_rows(iceberg, table, source_state(mariadb, db), proc=s)
    mysql_exec(mariadb, f"UPDATE {db}.t SET v = -v WHERE id % 2 = 0", f"DELETE FROM {db}.t WHERE id % 4 = 1")
    want = source_state(mariadb, db)
    wait_for(lambda: " compacted " in s.log_text(), 120, s, "a compaction")
    wait_rows(iceberg, table, want, proc=s)
    assert s.stop() == 0
    assert files(iceberg, table) == (1, 0)
    assert operation(iceberg, table) == "replace"
    assert duck_rows(iceberg, table) == want


def test_an_epoch_that_changes_its_own_rows_in_bulk_commits_live_rows_only(mariadb, iceberg, tmp_path):
    """one transaction (so one epoch) inserts 4000 rows, updates half and
    deletes a quarter of them, as the bench's binlog range: the epoch's file
    is rewritten without its own deleted rows before the commit, so no
    snapshot ever holds a position delete and no compaction follows; later
    changes still find every key where it is, through the rewrite map the
    key index keeps instead of moving keys: in the same run, after a
    restart (the map read from disk, no rebuild), and after a compaction
    rewrote the file the map leads to"""
    db = "ice_compact_own"
    table, s = streaming_into_empty_table(mariadb, iceberg, tmp_path, db, 6324)
    mysql_exec(mariadb, "START TRANSACTION",
               f"INSERT INTO {db}.t SELECT seq, seq, 'x' FROM {db}.seq_1_to_4000",
               f"UPDATE {db}.t SET v = -v WHERE id % 2 = 0", f"DELETE FROM {db}.t WHERE id % 4 = 1", "COMMIT")
    want = source_state(mariadb, db)
    assert len(want) == 3000
    wait_rows(iceberg, table, want, proc=s)
    assert "rewritten without its 3000 deleted rows (3000 rows, 1 files)" in s.log_text()
    assert files(iceberg, table) == (1, 0)
    assert operation(iceberg, table) == "append"
    # the keys moved with their rows: an update and a delete of rows the
    # rewrite placed find them (a wrong position would delete another row)
    want = changes_arrive(mariadb, iceberg, table, db, s,
                          f"UPDATE {db}.t SET pad = 'later' WHERE id IN (2, 3, 3999, 4000)",
                          f"DELETE FROM {db}.t WHERE id IN (7, 8)")
    assert s.stop() == 0
    assert " compacted " not in s.log_text()
    assert duck_rows(iceberg, table) == want
    assert py_rows(iceberg, table) == want
    first = catalog(iceberg).load_table(table).snapshots()[0].summary
    assert (first.get("added-records"), first.get("added-position-deletes", "0")) == ("3000", "0")
    # a restart reads the map from the index on disk: deletes of more than
    # the ratio (10%) of the rewritten file find their rows through it, and
    # the compaction that follows moves each key from where the map places
    # it (a wrong place stops the compaction: "does not place row")
    s = Sluice(tmp_path, yaml(mariadb, iceberg, table, db, 6324, min_files=0),
               env={"TEST_MYSQL_PASSWORD": mariadb.password})
    s.start(wait_for="mysql source: streaming", timeout=60)
    mysql_exec(mariadb, f"DELETE FROM {db}.t WHERE id % 8 = 0 AND id < 3000",
               f"UPDATE {db}.t SET pad = 'after restart' WHERE id % 8 = 3")
    want = source_state(mariadb, db)
    wait_for(lambda: " compacted " in s.log_text(), 120, s, "a compaction")
    wait_rows(iceberg, table, want, proc=s)
    assert "key index rebuilt" not in s.log_text()
    assert "does not place" not in s.log_text()
    # after it the keys name the compacted file directly (the map is gone)
    want = changes_arrive(mariadb, iceberg, table, db, s, f"UPDATE {db}.t SET v = v * 10 WHERE id % 16 = 6",
                          f"DELETE FROM {db}.t WHERE id % 16 = 10")
    assert s.stop() == 0
    assert "key index rebuilt" not in s.log_text()
    assert duck_rows(iceberg, table) == want
    assert py_rows(iceberg, table) == want


def sql_rounds(mariadb, sqlcat, db, server_id, tmp_path, sink_extra):
    """db.t streamed into the SQL catalog through 8 epochs of inserts,
    updates and deletes, each waited for; the running Sluice"""
    from test_iceberg_sql import wait_rows as sql_wait_rows

    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.t (id BIGINT PRIMARY KEY, v BIGINT NOT NULL, pad VARCHAR(40))")
    y = f"""
{mysql_source_yaml(mariadb, f"{db}.t", server_id, "initial")}
sink:
{sqlcat.sink_yaml()}{sink_extra}pipeline:
  name: {db}
  checkpoint.interval: 200ms
"""
    s = Sluice(tmp_path, y, env={"TEST_MYSQL_PASSWORD": mariadb.password})
    s.start(wait_for="mysql source: streaming", timeout=60)
    for r in range(8):
        mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES ({r * 10 + 1}, {r}, 'a'), ({r * 10 + 2}, {r}, 'b')",
                   f"UPDATE {db}.t SET v = v + 100 WHERE id % 10 = 1", f"DELETE FROM {db}.t WHERE id = {r * 10 - 8}")
        sql_wait_rows(sqlcat, f"{db}.t", source_state(mariadb, db), s)
    return s


def test_compaction_through_the_sql_catalog(mariadb, sqlcat, tmp_path):
    """the replace snapshot goes through the SQL catalog's swap as an
    epoch's does (sqlite and PostgreSQL catalogs); pyiceberg's SqlCatalog and
    DuckDB on the metadata file read the source's rows"""
    from test_iceberg_sql import duck_rows as sql_duck_rows

    db = f"ice_compact_sql_{sqlcat.kind}"
    s = sql_rounds(mariadb, sqlcat, db, 6324 if sqlcat.kind == "sqlite" else 6325, tmp_path,
                   "  compaction.min-input-files: 3\n")
    wait_for(lambda: " compacted " in s.log_text(), 60, s, "a compaction")
    assert s.stop() == 0
    want = source_state(mariadb, db)
    t = sqlcat.catalog().load_table(f"{db}.t")
    assert any(sn.summary.operation.value == "replace" for sn in t.snapshots())
    assert sorted(t.scan().to_arrow().to_pylist(), key=lambda r: r["id"]) == want
    assert sql_duck_rows(sqlcat, f"{db}.t") == want
