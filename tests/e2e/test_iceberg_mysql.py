"""MariaDB -> iceberg sink: what readers of the Iceberg tables see.

The readers are independent of sluice (pyiceberg and DuckDB through the REST
catalog). Inserts, updates, primary-key changes and deletes, through the
snapshot and the binlog, end in tables equal to the source row for row;
a SIGKILL at any moment loses and doubles nothing; errors name the cause.
"""

from __future__ import annotations

import datetime as dt
import decimal
import random
import re
import time

import pytest

from iceberg_read import (catalog, ch_rows, checkpoint, drop_tables, duck, duck_plain, duck_rows, duck_select, py_rows,
                          sink_yaml, snapshots, truncate_snapshot, wait_rows)
from sluice_run import Sluice, mysql_exec, mysql_rows, mysql_source_yaml


def pipeline(mariadb, ice, tables, name, server_id, startup="initial", interval="200ms", extra_sink=""):
    return f"""
{mysql_source_yaml(mariadb, tables, server_id, startup)}
sink:
{sink_yaml(ice, extra_sink)}
pipeline:
  name: {name}
  checkpoint.interval: {interval}
"""


def env(mariadb):
    return {"TEST_MYSQL_PASSWORD": mariadb.password}


def source_rows(mariadb, table, cols):
    return [dict(zip(cols, r)) for r in mysql_rows(mariadb, f"SELECT {', '.join(cols)} FROM {table} ORDER BY id")]


def test_inserts_updates_deletes_and_key_changes_arrive_exactly(mariadb, iceberg, tmp_path):
    db = "ice_basic"
    drop_tables(iceberg, f"{db}.t")
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.t (id INT PRIMARY KEY, name VARCHAR(20), amount DECIMAL(10,2), "
               f"ts DATETIME(6), n BIGINT UNSIGNED)",
               f"INSERT INTO {db}.t VALUES (1, 'a', 1.50, '2024-01-02 03:04:05.123456', 18446744073709551615),"
               f" (2, 'b', NULL, NULL, 0), (3, 'c', -3.25, '1999-12-31 23:59:59', 7)")
    s = Sluice(tmp_path, pipeline(mariadb, iceberg, f"{db}.t", "ice_basic", 6101), env=env(mariadb)).start()
    want = [
        {"id": 1, "name": "a", "amount": decimal.Decimal("1.50"), "ts": dt.datetime(2024, 1, 2, 3, 4, 5, 123456),
         "n": decimal.Decimal(18446744073709551615)},
        {"id": 2, "name": "b", "amount": None, "ts": None, "n": decimal.Decimal(0)},
        {"id": 3, "name": "c", "amount": decimal.Decimal("-3.25"), "ts": dt.datetime(1999, 12, 31, 23, 59, 59),
         "n": decimal.Decimal(7)},
    ]
    wait_rows(iceberg, f"{db}.t", want, proc=s)
    # the binlog: insert, update in place, key change, delete, and a row
    # inserted and changed again inside one epoch
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (4, 'd', 4.00, NULL, 4)",
               f"UPDATE {db}.t SET name = 'a2' WHERE id = 1",
               f"UPDATE {db}.t SET id = 30 WHERE id = 3",
               f"DELETE FROM {db}.t WHERE id = 2",
               f"INSERT INTO {db}.t VALUES (5, 'e', 5.00, NULL, 5)",
               f"UPDATE {db}.t SET name = 'e2' WHERE id = 5",
               f"UPDATE {db}.t SET name = 'e3' WHERE id = 5")
    cols = ["id", "name", "amount", "ts", "n"]
    want = source_rows(mariadb, f"{db}.t", cols)
    for r in want:
        r["n"] = decimal.Decimal(r["n"])
    assert [r["id"] for r in want] == [1, 4, 5, 30]
    wait_rows(iceberg, f"{db}.t", want, proc=s)
    assert duck_rows(iceberg, f"{db}.t") == want
    # filters prune with the manifests' column bounds: a wrong bound would lose rows
    t = catalog(iceberg).load_table(f"{db}.t")
    assert t.scan(row_filter="id = 30").to_arrow().to_pylist() == [want[3]]
    assert t.scan(row_filter="name = 'e3'").to_arrow().to_pylist() == [want[2]]
    assert t.scan(row_filter="amount < 0").to_arrow().to_pylist() == [want[3]]
    con = duck(iceberg)
    assert sorted(con.execute(f"SELECT id FROM ic.{db}.t WHERE ts < TIMESTAMP '2000-01-01' "
                              f"OR n > 18446744073709551614").fetchall()) == [(1,), (30,)]
    assert sorted(con.execute(f"SELECT id FROM ic.{db}.t WHERE amount >= 4.00").fetchall()) == [(4,), (5,)]
    con.close()
    s.stop()
    # the checkpoint is in the catalog, and every snapshot summary names the pipeline
    assert checkpoint(iceberg, "ice_basic")
    snaps = snapshots(iceberg, f"{db}.t")
    assert snaps and all(sn.summary["sluice.pipeline"] == "ice_basic" for sn in snaps)


def test_key_index_deleted_or_stale_is_rebuilt_and_stays_exact(mariadb, iceberg, tmp_path):
    """The key index is a cache: deleted between runs, or put back as it was
    at an older snapshot (what a crash between the catalog commit and the
    index commit leaves), it is rebuilt from the table's data and delete
    files, and updates and deletes of rows written before still land on
    the right rows."""
    import shutil

    db = "ice_rebuild"
    idx = tmp_path / "index"
    drop_tables(iceberg, f"{db}.t")
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.t (id INT, tag VARCHAR(10), v INT, PRIMARY KEY (tag, id))",
               f"INSERT INTO {db}.t SELECT seq, IF(seq % 2, 'odd', 'even'), seq FROM {db}.seq_1_to_300")
    yaml = pipeline(mariadb, iceberg, f"{db}.t", "ice_rebuild", 6106, extra_sink=f"  key-index.dir: {idx}")
    cols = ["id", "tag", "v"]
    s = Sluice(tmp_path, yaml, env=env(mariadb))

    def run(*changes, log=None):
        s.start()
        mysql_exec(mariadb, *changes)
        if log:  # the table's index opens with its first change
            s.wait_log(log)
        want = source_rows(mariadb, f"{db}.t", cols)
        wait_rows(iceberg, f"{db}.t", want, proc=s)
        assert s.stop() == 0
        assert duck_rows(iceberg, f"{db}.t") == want
        return want

    run(f"UPDATE {db}.t SET v = -v WHERE id % 3 = 0", f"DELETE FROM {db}.t WHERE id % 5 = 0")
    tables = [d for d in idx.iterdir()] if idx.exists() else []
    assert len(tables) == 1  # <dir>/<pipeline>
    older = tmp_path / "older"
    shutil.copytree(idx, older)
    # deleted between runs: rebuilt, and a second update of a row updated
    # before (a position delete on the epoch's own earlier file) is exact
    shutil.rmtree(idx)
    run(f"UPDATE {db}.t SET v = v + 1000 WHERE id % 3 = 0", f"DELETE FROM {db}.t WHERE id % 7 = 0",
        f"UPDATE {db}.t SET id = id + 1000 WHERE id = 1", log="key index rebuilt from snapshot")
    assert "(no index)" in s.log_text()
    # an older index put back (tag of an earlier snapshot): stale, rebuilt
    shutil.rmtree(idx)
    shutil.copytree(older, idx)
    want = run(f"UPDATE {db}.t SET v = v + 1 WHERE id % 2 = 0", f"DELETE FROM {db}.t WHERE id % 11 = 0",
               log="key index rebuilt from snapshot")
    assert "(the index was of another snapshot)" in s.log_text()
    # kept as it is: used, not rebuilt
    run(f"UPDATE {db}.t SET v = 0 WHERE id = 2", log="key index at snapshot")
    assert "rebuilt" not in s.log_text()
    got = py_rows(iceberg, f"{db}.t")
    assert len({(r["tag"], r["id"]) for r in got}) == len(got) == len(want)


def test_another_writer_is_refused_and_catalog_outage_is_retried(mariadb, own_iceberg, tmp_path):
    """A commit by someone else between two epochs stops the pipeline with a
    message naming the table and the other writer; nothing of theirs is
    overwritten. The catalog going away mid-run is retried, and the run
    carries on exactly once it is back. (Its own catalog jar: the restarted
    one is not fit for later tests, see conftest.own_iceberg.)"""
    import pyarrow as pa
    import subprocess
    from conftest import SERVICES_DIR

    iceberg = own_iceberg
    db = "ice_other"
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.t (id INT PRIMARY KEY, name VARCHAR(20))", f"INSERT INTO {db}.t VALUES (1, 'a')")
    s = Sluice(tmp_path, pipeline(mariadb, iceberg, f"{db}.t", "ice_other", 6102), env=env(mariadb)).start()
    wait_rows(iceberg, f"{db}.t", [{"id": 1, "name": "a"}], proc=s)

    # the catalog stops for a while: sluice retries, then carries on
    subprocess.run(["bash", str(SERVICES_DIR / "iceberg.sh"), "stop", iceberg.dir], check=True, capture_output=True)
    try:
        mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (2, 'b')")
        s.wait_log("the Iceberg REST catalog at http://127.0.0.1:", timeout=60)
        assert s.proc.poll() is None
    finally:
        subprocess.run(["bash", str(SERVICES_DIR / "iceberg.sh"), "start", iceberg.dir], check=True,
                       capture_output=True, env={**__import__("os").environ, "ICEBERG_PORT": str(iceberg.port)})
    wait_rows(iceberg, f"{db}.t", [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}], proc=s, timeout=120)

    # someone else appends a row: sluice's next commit is refused, nothing overwritten
    t = catalog(iceberg).load_table(f"{db}.t")
    t.append(pa.Table.from_pylist([{"id": 99, "name": "theirs"}], schema=t.schema().as_arrow()))
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (3, 'c')")
    assert s.wait_exit(60) == 1
    log = s.log_text()
    assert (f"iceberg sink: commit of {db}.t refused: another writer changed a table since sluice loaded it" in log
            or f"iceberg sink: {db}.t: snapshot" in log and "was written by another writer, not by pipeline "
            "ice_other; sluice must be the table's only writer" in log), log[-3000:]
    assert {r["id"] for r in py_rows(iceberg, f"{db}.t")} == {1, 2, 99}


def test_check_connect_reports_the_catalog(mariadb, iceberg, tmp_path):
    import subprocess
    from sluice_run import sluice_binary

    def check(uri):
        p = tmp_path / "p.yaml"
        p.write_text(pipeline(mariadb, iceberg, "ice_chk.t", "ice_chk", 6103).replace(iceberg.uri, uri))
        return subprocess.run([str(sluice_binary()), "check", "--connect", str(p)], capture_output=True, text=True,
                              env={**__import__("os").environ, **env(mariadb)}, timeout=60)

    mysql_exec(mariadb, "DROP DATABASE IF EXISTS ice_chk", "CREATE DATABASE ice_chk",
               "CREATE TABLE ice_chk.t (id INT PRIMARY KEY)")
    ok = check(iceberg.uri)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"  ok    Iceberg REST catalog answers GET {iceberg.uri}/v1/config" in ok.stdout
    assert "  ok    checkpoint table is created on the first run" in ok.stdout
    bad = check("http://127.0.0.1:9")
    assert bad.returncode == 2
    assert ("  FAIL  iceberg sink: the Iceberg REST catalog at http://127.0.0.1:9/v1/ did not answer GET /config: "
            "Couldn't connect to server\n        fix: start the catalog, or fix catalog.properties.uri") in bad.stdout


def expect_zoo(server):
    """what an Iceberg reader returns for test_mysql_types' zoo, from the
    server's own values (README: Type mapping (Iceberg))"""
    out = []
    for r in server:
        e = {}
        for n, v in r.items():
            if v is None:
                e[n] = None
            elif n in ("biu", "b64"):
                e[n] = decimal.Decimal(int.from_bytes(v, "big") if isinstance(v, bytes) else v)
            elif n in ("b1", "b13"):
                e[n] = int.from_bytes(v, "big")
            elif n == "d2":
                e[n] = format(v, "f")
            elif n in ("t0", "t3", "t6"):
                e[n] = (dt.datetime.min + v).time()
            elif n in ("ts0", "ts6"):
                e[n] = v.replace(tzinfo=dt.timezone.utc)
            elif n == "st":
                e[n] = v if isinstance(v, str) else ",".join(sorted(v, key="abcd".index))
            else:
                e[n] = v
        out.append(e)
    return out


def same_zoo(got, want):
    """FLOAT within the 6 digits the server prints it with; the rest exactly"""
    import struct
    assert len(got) == len(want)
    for g, w in zip(got, want):
        for n in w:
            gv, wv = g[n], w[n]
            if n == "f" and gv is not None and wv is not None:
                assert struct.pack("<f", gv) == struct.pack("<f", wv) or abs(gv - wv) <= abs(wv) * 1e-5, (n, gv, wv)
            elif n in ("ts0", "ts6") and gv is not None:
                assert gv.astimezone(dt.timezone.utc) == wv, (n, gv, wv)
            else:
                assert gv == wv, (g["id"], n, gv, wv)


def test_mysql_type_zoo_exact_in_three_readers(mariadb, iceberg, tmp_path):
    from test_mysql_types import COLUMNS, ROWS, insert, server_rows
    db = "ice_zoo"
    drop_tables(iceberg, f"{db}.zoo")
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}", f"CREATE TABLE {db}.zoo ({COLUMNS})")
    # Iceberg's time is a time of day: the zoo's TIME durations beyond it are replaced here
    # (README: such values stop the pipeline naming the column)
    times = {1: ("23:59:59", "12:00:00.123", "00:00:00.000001"), 2: ("00:00:00", "01:02:03.004", "10:00:00.5")}
    rows = [r[:22] + times[r[0]] + r[25:] if r[0] in times else r for r in ROWS]
    insert(mariadb, f"{db}.zoo", rows[:2])  # the snapshot
    s = Sluice(tmp_path, pipeline(mariadb, iceberg, f"{db}.zoo", "ice_zoo", 6104), env=env(mariadb)).start()
    insert(mariadb, f"{db}.zoo", rows[2:] + [(r[0] + 10,) + r[1:] for r in rows])  # the binlog
    want = expect_zoo(server_rows(mariadb, f"{db}.zoo"))
    import time as _t
    end = _t.time() + 90
    while len(py_rows(iceberg, f"{db}.zoo") if _exists(iceberg, f"{db}.zoo") else []) < len(want) and _t.time() < end:
        assert s.proc.poll() is None, s.log_text()[-3000:]
        _t.sleep(0.3)
    same_zoo(py_rows(iceberg, f"{db}.zoo"), want)
    same_zoo(duck_rows(iceberg, f"{db}.zoo"), want)
    # chDB (ClickHouse 26.9's icebergLocal) reads Iceberg time as whole
    # seconds: the one difference, everything else exact
    whole = [{n: v.replace(microsecond=0) if n in ("t0", "t3", "t6") and v is not None else v for n, v in r.items()}
             for r in want]
    same_zoo(ch_rows(iceberg, f"{db}.zoo"), whole)
    assert s.stop() == 0


def _exists(ice, table):
    return catalog(ice).table_exists(table)


def test_dropped_column_reads_null_and_a_type_change_stops_naming_it(mariadb, iceberg, tmp_path):
    db = "ice_evolve"
    drop_tables(iceberg, f"{db}.t")
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.t (id INT PRIMARY KEY, gone VARCHAR(10) NOT NULL, v VARCHAR(10))",
               f"INSERT INTO {db}.t VALUES (1, 'x', 'a')")
    s = Sluice(tmp_path, pipeline(mariadb, iceberg, f"{db}.t", "ice_evolve", 6105), env=env(mariadb)).start()
    wait_rows(iceberg, f"{db}.t", [{"id": 1, "gone": "x", "v": "a"}], proc=s)
    # a dropped NOT NULL column stays in the table, made optional; new rows read NULL there
    mysql_exec(mariadb, f"ALTER TABLE {db}.t DROP COLUMN gone", f"INSERT INTO {db}.t VALUES (2, 'b')")
    wait_rows(iceberg, f"{db}.t", [{"id": 1, "gone": "x", "v": "a"}, {"id": 2, "gone": None, "v": "b"}], proc=s)
    assert not catalog(iceberg).load_table(f"{db}.t").schema().find_field("gone").required
    assert duck_rows(iceberg, f"{db}.t") == [{"id": 1, "gone": "x", "v": "a"}, {"id": 2, "gone": None, "v": "b"}]
    # a type Iceberg cannot promote to stops the pipeline naming table, column and both types
    mysql_exec(mariadb, f"UPDATE {db}.t SET v = '7'", f"ALTER TABLE {db}.t MODIFY v INT", f"INSERT INTO {db}.t VALUES (3, 3)")
    assert s.wait_exit(60) == 1
    assert (f"iceberg sink: {db}.t column v: the source type changed from varchar(10) (Iceberg string) to int "
            "(Iceberg int), which Iceberg cannot do to a column (Iceberg promotes only int to long, float to double "
            "and decimal(P, S) to a larger P); re-snapshot the table into a new Iceberg table (drop it, or route "
            "the table to a new name)") in s.log_text()


def test_a_changed_primary_key_stops_naming_both_keys_and_keeps_what_was_committed(mariadb, iceberg, tmp_path):
    """the key index finds rows by the key the table was written with: a
    source key over other columns would miss them (deletes and updates
    after it kept the old rows: 126 rows where the source had 76), so the
    pipeline stops naming both keys, the table keeps its committed rows, and
    a restart stops the same way"""
    db = "ice_pkchange"
    drop_tables(iceberg, f"{db}.t")
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.t (id BIGINT PRIMARY KEY, v BIGINT NOT NULL, pad VARCHAR(20))",
               f"INSERT INTO {db}.t SELECT seq, seq, 'x' FROM {db}.seq_1_to_100")
    cols = ["id", "v", "pad"]
    y = pipeline(mariadb, iceberg, f"{db}.t", "ice_pkchange", 6112)
    s = Sluice(tmp_path / "a", y, env=env(mariadb)).start()
    before = source_rows(mariadb, f"{db}.t", cols)
    wait_rows(iceberg, f"{db}.t", before, proc=s)
    mysql_exec(mariadb, f"ALTER TABLE {db}.t DROP PRIMARY KEY, ADD PRIMARY KEY (id, v)",
               f"DELETE FROM {db}.t WHERE id % 4 = 1")
    assert s.wait_exit(60) == 1
    msg = (f"iceberg sink: {db}.t: the source's primary key is now (id, v), but the table's rows are keyed by (id); "
           "the sink finds the rows to update and delete by that key, so it stops rather than keep rows the source "
           "changed; re-snapshot the table into a new Iceberg table (drop it, or route the table to a new name)")
    assert msg in s.log_text()
    assert duck_rows(iceberg, f"{db}.t") == before
    assert py_rows(iceberg, f"{db}.t") == before
    s = Sluice(tmp_path / "b", y, env=env(mariadb)).start(wait_for=None)
    assert s.wait_exit(60) == 1
    assert msg in s.log_text()
    assert duck_rows(iceberg, f"{db}.t") == before


def test_promotions_int_long_float_double_decimal_precision_and_a_narrowing_refused(mariadb, iceberg, tmp_path):
    """INT -> BIGINT, FLOAT -> DOUBLE, DECIMAL(8,2) -> DECIMAL(12,2) become Iceberg promotions (a new
    schema, the same field ids); the files written before read in the wider type in both readers;
    after a restart the table binds again; BIGINT -> INT stops naming the fix"""
    db = "ice_promote"
    drop_tables(iceberg, f"{db}.t")
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.t (id INT PRIMARY KEY, i INT, f FLOAT, d DECIMAL(8,2))",
               f"INSERT INTO {db}.t VALUES (1, -2147483648, 1.5, 999999.99), (2, NULL, NULL, NULL)")
    yaml = pipeline(mariadb, iceberg, f"{db}.t", "ice_promote", 6113)
    s = Sluice(tmp_path, yaml, env=env(mariadb)).start()
    cols = ["id", "i", "f", "d"]

    def same_everywhere():
        want = source_rows(mariadb, f"{db}.t", cols)
        wait_rows(iceberg, f"{db}.t", want, proc=s)
        assert duck_rows(iceberg, f"{db}.t") == want
        return want

    same_everywhere()
    t0 = catalog(iceberg).load_table(f"{db}.t")
    ids = {n: t0.schema().find_field(n).field_id for n in cols}
    assert [str(t0.schema().find_field(n).field_type) for n in cols] == ["int", "int", "float", "decimal(8, 2)"]
    # one promotion at a time, each with rows before and after in the same epoch
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (3, 2147483647, -2.25, -0.01)",
               f"ALTER TABLE {db}.t MODIFY i BIGINT",
               f"INSERT INTO {db}.t VALUES (4, 9007199254740993, 0.5, 12.5)",
               f"UPDATE {db}.t SET i = -9223372036854775808 WHERE id = 2")
    same_everywhere()
    mysql_exec(mariadb, f"ALTER TABLE {db}.t MODIFY f DOUBLE",
               f"INSERT INTO {db}.t VALUES (5, 5, 0.1, 5)")
    same_everywhere()
    mysql_exec(mariadb, f"ALTER TABLE {db}.t MODIFY d DECIMAL(12,2)",
               f"INSERT INTO {db}.t VALUES (6, 6, 1e300, 9999999999.99)",
               f"UPDATE {db}.t SET d = -1234567890.12 WHERE id = 1")
    want = same_everywhere()
    assert [r["id"] for r in want] == [1, 2, 3, 4, 5, 6]
    assert want[5]["f"] == 1e300 and want[5]["d"] == decimal.Decimal("9999999999.99")
    t1 = catalog(iceberg).load_table(f"{db}.t")
    assert [str(t1.schema().find_field(n).field_type) for n in cols] == ["int", "long", "double", "decimal(12, 2)"]
    assert {n: t1.schema().find_field(n).field_id for n in cols} == ids
    assert t1.schema().schema_id > t0.schema().schema_id
    # each field's doc names the source type and kind (read back by sluice migrate)
    assert t0.schema().find_field("f").doc.startswith("float [sluice:float/")
    assert t1.schema().find_field("f").doc.startswith("double [sluice:double/")
    # filters prune with the manifests' bounds, written before (narrower) and after each promotion
    for flt, ids_ in (("i > 2147483647", [4]), ("f > 1.0", [1, 6]), ("d < 0", [1, 3])):
        assert sorted(r["id"] for r in t1.scan(row_filter=flt).to_arrow().to_pylist()) == ids_, flt
        assert sorted(r[0] for r in duck(iceberg).execute(f"SELECT id FROM ic.{db}.t WHERE {flt}").fetchall()) == ids_
    log = s.log_text()
    for line in ("promoting column i from int to long", "promoting column f from float to double",
                 "promoting column d from decimal(8, 2) to decimal(12, 2)"):
        assert line in log
    # a restart binds the source schema to the promoted table again
    assert s.stop() == 0
    s = Sluice(tmp_path, yaml, env=env(mariadb)).start()
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (7, -7, -7.5, -7.25)")
    same_everywhere()
    # a narrowing is no promotion: the pipeline stops naming table, column, both types and the fix
    mysql_exec(mariadb, f"UPDATE {db}.t SET i = NULL WHERE id IN (2, 4)", f"ALTER TABLE {db}.t MODIFY i INT",
               f"INSERT INTO {db}.t VALUES (8, 8, 8, 8)")
    assert s.wait_exit(60) == 1
    assert (f"iceberg sink: {db}.t column i: the source type changed from bigint (Iceberg long) to int "
            "(Iceberg int), which Iceberg cannot do to a column (Iceberg promotes only int to long, float to "
            "double and decimal(P, S) to a larger P); re-snapshot the table into a new Iceberg table (drop it, "
            "or route the table to a new name)") in s.log_text()


def test_migrate_verifies_every_type_and_reports_a_row_deleted_behind_its_back(mariadb, iceberg, tmp_path):
    """sluice migrate reads each Iceberg table back (data files minus position deletes) and
    digests its rows as the source does: the type zoo and a table with updates and deletes
    match; a row pyiceberg deletes afterwards and a value it changes (rewrites of the data
    files) are mismatches; the original row written back by pyiceberg matches again"""
    from test_mysql_types import COLUMNS, ROWS, insert
    db = "ice_migrate"
    drop_tables(iceberg, f"{db}.zoo", f"{db}.u")
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}", f"CREATE TABLE {db}.zoo ({COLUMNS})",
               f"CREATE TABLE {db}.u (id INT PRIMARY KEY, s VARCHAR(10), d DECIMAL(10,2), f FLOAT)")
    times = {1: ("23:59:59", "12:00:00.123", "00:00:00.000001"), 2: ("00:00:00", "01:02:03.004", "10:00:00.5")}
    rows = [r[:22] + times[r[0]] + r[25:] if r[0] in times else r for r in ROWS]
    insert(mariadb, f"{db}.zoo", [r for r in rows if r[0] in times])
    mysql_exec(mariadb, f"INSERT INTO {db}.u VALUES (1, 'a', 1.50, 0.5), (2, 'b', NULL, NULL), (3, 'c', -3.25, 2.25), (4, 'd', 4, 4)")
    # a run first, whose updates and deletes become position deletes; then migrate resumes
    # from its checkpoint and verifies
    s = Sluice(tmp_path, pipeline(mariadb, iceberg, f"{db}.zoo,{db}.u", "ice_migrate", 6107), env=env(mariadb))
    s.start()
    mysql_exec(mariadb, f"UPDATE {db}.u SET s = 'c2' WHERE id = 3", f"DELETE FROM {db}.u WHERE id = 4",
               f"UPDATE {db}.zoo SET c = 'z' WHERE id = 2")
    wait_rows(iceberg, f"{db}.u", [{"id": 1, "s": "a", "d": decimal.Decimal("1.50"), "f": 0.5},
                                   {"id": 2, "s": "b", "d": None, "f": None},
                                   {"id": 3, "s": "c2", "d": decimal.Decimal("-3.25"), "f": 2.25}], proc=s)
    assert s.stop() == 0
    s.command = "migrate"
    s.start(wait_for=None)
    assert s.wait_exit(180) == 0, s.log_text()[-4000:]
    log = s.log_text()
    assert re.search(rf"{db}\.zoo\s+2\s+2\s+[0-9a-f]{{16}}\s+[0-9a-f]{{16}}\s+ok", log), log[-3000:]
    assert re.search(rf"{db}\.u\s+3\s+3\s+[0-9a-f]{{16}}\s+[0-9a-f]{{16}}\s+ok", log), log[-3000:]
    assert "verification ok" in log
    # behind sluice's back: a row deleted, and a value changed (pyiceberg rewrites the data
    # files with pyarrow, whose files the read-back reads too)
    import pyarrow as pa
    catalog(iceberg).load_table(f"{db}.u").delete("id = 2")
    assert [r["id"] for r in py_rows(iceberg, f"{db}.u")] == [1, 3]
    z = catalog(iceberg).load_table(f"{db}.zoo")
    a = orig = z.scan(row_filter="id = 1").to_arrow()
    a = a.set_column(a.schema.get_field_index("c"), a.schema.field("c"), pa.array(["changed"], pa.large_string()
                     if a.schema.field("c").type == pa.large_string() else pa.string()))
    z.overwrite(a, overwrite_filter="id = 1")
    assert [r["c"] for r in py_rows(iceberg, f"{db}.zoo")][0] == "changed"
    s.start(wait_for=None)
    assert s.wait_exit(180) == 1, s.log_text()[-4000:]
    log = s.log_text()
    assert re.search(rf"{db}\.u\s+3\s+2\s+[0-9a-f]{{16}}\s+[0-9a-f]{{16}}\s+MISMATCH \(rows\)", log), log[-3000:]
    assert re.search(rf"{db}\.zoo\s+2\s+2\s+[0-9a-f]{{16}}\s+[0-9a-f]{{16}}\s+MISMATCH \(values\)", log), log[-3000:]
    assert "verification FAILED: 2 tables differ between source and sink" in log
    # the original row written back by pyiceberg: zoo's row now lives in a file pyarrow wrote
    # (its decimals, times, binary... in pyarrow's encodings) and reads back as the source's
    z = catalog(iceberg).load_table(f"{db}.zoo")
    z.overwrite(orig, overwrite_filter="id = 1")
    s.start(wait_for=None)
    assert s.wait_exit(180) == 1, s.log_text()[-4000:]
    last = s.log_text().split("verification FAILED")[-2]
    assert re.search(rf"{db}\.zoo\s+2\s+2\s+[0-9a-f]{{16}}\s+[0-9a-f]{{16}}\s+ok", last), last[-3000:]
    assert re.search(rf"{db}\.u\s+3\s+2\s+[0-9a-f]{{16}}\s+[0-9a-f]{{16}}\s+MISMATCH \(rows\)", last), last


def test_a_table_created_by_others_with_wider_types_is_written_in_them(mariadb, iceberg, tmp_path):
    """an empty table made beforehand (here by pyiceberg, as older sluice versions made
    unsigned columns) with long for an INT and decimal(20, 0) for a TINYINT UNSIGNED:
    sluice writes the table's wider types, and both readers see the source's values"""
    from pyiceberg.schema import Schema
    from pyiceberg.types import DecimalType, LongType, NestedField
    db = "ice_wider"
    drop_tables(iceberg, f"{db}.t")
    cat = catalog(iceberg)
    try:
        cat.create_namespace(db)
    except Exception:
        pass
    cat.create_table(f"{db}.t", Schema(NestedField(1, "id", LongType(), required=True),
                                        NestedField(2, "u", DecimalType(20, 0), required=False),
                                        identifier_field_ids=[1]),
                     properties={"format-version": "2"})
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.t (id INT PRIMARY KEY, u TINYINT UNSIGNED)",
               f"INSERT INTO {db}.t VALUES (1, 255), (2, NULL)")
    s = Sluice(tmp_path, pipeline(mariadb, iceberg, f"{db}.t", "ice_wider", 6108), env=env(mariadb)).start()
    want = [{"id": 1, "u": decimal.Decimal(255)}, {"id": 2, "u": None}]
    wait_rows(iceberg, f"{db}.t", want, proc=s)
    mysql_exec(mariadb, f"UPDATE {db}.t SET u = 0 WHERE id = 2", f"INSERT INTO {db}.t VALUES (-2147483648, 7)")
    want = [{"id": -2147483648, "u": decimal.Decimal(7)}, {"id": 1, "u": decimal.Decimal(255)},
            {"id": 2, "u": decimal.Decimal(0)}]
    wait_rows(iceberg, f"{db}.t", want, proc=s)
    assert duck_rows(iceberg, f"{db}.t") == want
    assert [str(f.field_type) for f in catalog(iceberg).load_table(f"{db}.t").schema().fields] == \
        ["long", "decimal(20, 0)"]
    assert s.stop() == 0


def test_truncate_is_one_snapshot_removing_files_and_later_rows_stay(mariadb, iceberg, tmp_path):
    """TRUNCATE TABLE: one snapshot that removes every file of the table (no
    position delete per row); rows inserted before it in its epoch vanish,
    those after it stay, and their updates and deletes in the same and a
    later epoch land exactly, also with the key index of before the TRUNCATE
    put back (a crash between the catalog's commit and the index's)"""
    import shutil

    from test_operations import METRICS, endpoint, metric, wait_metrics

    db = "ice_trunc"
    drop_tables(iceberg, f"{db}.t")
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(10))",
               f"INSERT INTO {db}.t SELECT seq, CONCAT('r', seq) FROM {db}.seq_1_to_400")
    cols = ["id", "v"]
    idx = tmp_path / "index"
    extra = f"  key-index.dir: {idx}\n"

    def same(s):
        want = source_rows(mariadb, f"{db}.t", cols)
        wait_rows(iceberg, f"{db}.t", want, proc=s)
        assert duck_rows(iceberg, f"{db}.t") == want
        return want

    s = Sluice(tmp_path / "a", pipeline(mariadb, iceberg, f"{db}.t", "ice_trunc", 6111, extra_sink=extra),
               env=env(mariadb)).start()
    same(s)
    mysql_exec(mariadb, f"DELETE FROM {db}.t WHERE id <= 3")  # a delete file before the TRUNCATE
    same(s)
    assert s.stop() == 0
    shutil.copytree(idx, tmp_path / "index-before")
    # one epoch (an hour's interval; the stop commits it) holds an insert,
    # the TRUNCATE, inserts, an update and a delete after it
    s = Sluice(tmp_path / "b", pipeline(mariadb, iceberg, f"{db}.t", "ice_trunc", 6111, interval="1h",
                                        extra_sink=extra) + METRICS, env=env(mariadb)).start()
    base = endpoint(s)
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (1000, 'before')", f"TRUNCATE TABLE {db}.t",
               f"INSERT INTO {db}.t VALUES (2000, 'a'), (2001, 'b'), (2002, 'c')",
               f"UPDATE {db}.t SET v = 'a2' WHERE id = 2000", f"DELETE FROM {db}.t WHERE id = 2002")
    want_ops = {"insert": 4, "truncate": 1, "update": 1, "delete": 1}
    wait_metrics(base, lambda m: all(metric(m, "sluice_events_total", table=f"{db}.t", op=op) == n
                                     for op, n in want_ops.items()), s, "the epoch's changes")
    assert s.stop() == 0
    assert same(None) == [{"id": 2000, "v": "a2"}, {"id": 2001, "v": "b"}]
    snap, old_data, old_dels = truncate_snapshot(iceberg, f"{db}.t")
    props = snap.summary.additional_properties
    assert snap.summary.operation.value == "overwrite"
    assert props["deleted-records"] == "400" and props["removed-position-deletes"] == "3" and len(old_dels) == 1
    # no position delete for the 397 truncated rows; the update and delete
    # after the TRUNCATE removed two of the epoch's four rows, so its file
    # was rewritten before the commit with the two live rows
    assert props["added-records"] == "2" and props["added-position-deletes"] == "0"
    # the index of before the TRUNCATE put back, as a crash between the
    # catalog's commit and the index's leaves it: stale, rebuilt
    shutil.rmtree(idx)
    shutil.copytree(tmp_path / "index-before", idx)
    # a later epoch: the rows written after the TRUNCATE updated and deleted
    s = Sluice(tmp_path / "c", pipeline(mariadb, iceberg, f"{db}.t", "ice_trunc", 6111, extra_sink=extra),
               env=env(mariadb)).start()
    mysql_exec(mariadb, f"UPDATE {db}.t SET v = 'b2' WHERE id = 2001", f"DELETE FROM {db}.t WHERE id = 2000",
               f"INSERT INTO {db}.t VALUES (3000, 'd')", f"UPDATE {db}.t SET v = 'd2' WHERE id = 3000",
               f"INSERT INTO {db}.t VALUES (5, 'new5')")
    assert same(s) == [{"id": 5, "v": "new5"}, {"id": 2001, "v": "b2"}, {"id": 3000, "v": "d2"}]
    assert py_rows(iceberg, f"{db}.t") == source_rows(mariadb, f"{db}.t", cols)
    assert "(the index was of another snapshot)" in s.log_text()
    # key 5 lived before the TRUNCATE: a stale index would have made its
    # insert a position delete into a removed file; the scan reads none of them
    t = catalog(iceberg).load_table(f"{db}.t")
    for task in t.scan().plan_files():
        assert task.file.file_path not in old_data
    assert s.stop() == 0


def test_multi_level_namespace_through_rest(mariadb, iceberg, tmp_path):
    """a route to lake.sales.t and the checkpoint table in ops.ck: the REST
    catalog gets the levels as arrays (URLs joined by 0x1F), parents are
    created first, and pyiceberg and DuckDB read the table by its three-part
    name"""
    db = "ice_mlns"
    drop_tables(iceberg, "lake.sales.t", "ops.ck.ice_mlns")
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(10))",
               f"INSERT INTO {db}.t VALUES (1, 'a'), (2, 'b'), (3, 'c')")
    yaml = pipeline(mariadb, iceberg, f"{db}.t", "ice_mlns", 6112,
                    extra_sink="  checkpoint.namespace: ops.ck\n  compaction.min-input-files: 2\n")
    yaml = yaml.replace("pipeline:\n", f"route:\n  - source-table: {db}.t\n    sink-table: lake.sales.t\npipeline:\n")
    s = Sluice(tmp_path, yaml, env=env(mariadb)).start()
    cols = ["id", "v"]
    wait_rows(iceberg, "lake.sales.t", source_rows(mariadb, f"{db}.t", cols), proc=s)
    mysql_exec(mariadb, f"UPDATE {db}.t SET v = 'b2' WHERE id = 2", f"DELETE FROM {db}.t WHERE id = 3",
               f"INSERT INTO {db}.t VALUES (4, 'd')")
    want = source_rows(mariadb, f"{db}.t", cols)
    wait_rows(iceberg, "lake.sales.t", want, proc=s)
    # epochs of their own until a compaction's replace commit went through
    # the same three-level identifier (it once sent the namespace as one level)
    for i in range(5, 25):
        if "compacted" in s.log_text():
            break
        mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES ({i}, 'e')")
        want = source_rows(mariadb, f"{db}.t", cols)
        wait_rows(iceberg, "lake.sales.t", want, proc=s)
    assert "compacted" in s.log_text() and "is off until the next start" not in s.log_text(), s.log_text()[-3000:]
    assert s.stop() == 0
    cat = catalog(iceberg)
    assert ("lake", "sales") in cat.list_namespaces(("lake",))
    assert ("lake", "sales", "t") in cat.list_tables(("lake", "sales"))
    assert checkpoint(iceberg, "ice_mlns", namespace="ops.ck")
    t = cat.load_table("lake.sales.t")
    assert duck_select(duck_plain(), f"iceberg_scan('{t.metadata_location}')") == want
    # DuckDB's ATTACH of the REST catalog names a nested namespace as one
    # quoted schema, its levels joined by dots
    assert duck_select(duck(iceberg), 'ic."lake.sales".t') == want
