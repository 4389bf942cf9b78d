"""The lock-free parallel snapshot of the mysql source, merged with the
binlog, against a real MariaDB under concurrent writes; crash and resume;
chunking of skewed and string keys; `sluice migrate` with verification."""

from __future__ import annotations

import itertools
import json
import random
import re
import threading
import time

import pymysql
import pytest

from sluice_run import (Sluice, changes, mysql_connect, mysql_exec, mysql_pipeline_yaml, mysql_rows,
                        read_events, replay, wait_for_key)

_ids = itertools.count(6500)


@pytest.fixture
def db(mariadb, request):
    name = "s_" + request.node.name.replace("[", "_").replace("]", "")[:40]
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}")
    return name


def pipeline(mariadb, tmp_path, db, tables=None, startup="initial", parallelism=2, chunk=1000, extra_source=""):
    out = tmp_path / "out.jsonl"
    yaml = mysql_pipeline_yaml(
        mariadb, tables or f"{db}.\\.*", out, name=db, startup=startup, server_id=next(_ids),
        extra_source=f"  scan.incremental.snapshot.chunk.size: {chunk}\n{extra_source}",
        extra_pipeline=f"  parallelism: {parallelism}")
    return Sluice(tmp_path, yaml, env={"TEST_MYSQL_PASSWORD": mariadb.password}), out


def fill(mariadb, db, n, table="t"):
    mysql_exec(mariadb,
               f"CREATE TABLE {db}.{table} (id BIGINT PRIMARY KEY, v BIGINT NOT NULL, pad VARCHAR(40))",
               f"INSERT INTO {db}.{table} SELECT seq, seq * 10, CONCAT('row-', seq) FROM {db}.seq_1_to_{n}")


class Writer(threading.Thread):
    """Updates, deletes, re-inserts and primary-key changes on the same keys,
    as fast as one connection goes, until stopped."""

    def __init__(self, mariadb, db, n, seed):
        super().__init__(daemon=True)
        self.mariadb, self.db, self.n = mariadb, db, n
        self.rnd = random.Random(seed)
        self.stop_evt = threading.Event()
        self.ops = 0
        self.error = None

    def run(self):
        conn = mysql_connect(self.mariadb, self.db)
        try:
            with conn.cursor() as cur:
                while not self.stop_evt.is_set():
                    k = self.rnd.randrange(1, self.n + 1)
                    op = self.rnd.random()
                    if op < 0.5:
                        cur.execute(f"UPDATE t SET v = v + 1 WHERE id = {k}")
                    elif op < 0.7:
                        cur.execute(f"DELETE FROM t WHERE id = {k}")
                    elif op < 0.85:
                        cur.execute(f"INSERT INTO t VALUES ({k}, {self.ops}, 'again') "
                                    f"ON DUPLICATE KEY UPDATE v = {self.ops}")
                    else:
                        # primary-key change: move the row to a fresh key above the table
                        new = self.n + 1 + self.ops
                        cur.execute(f"UPDATE t SET id = {new} WHERE id = {k}")
                    self.ops += 1
        except Exception as exc:  # surfaced by the test
            self.error = exc
        finally:
            conn.close()


def sink_state(out):
    return {k[1]: v for k, v in replay(changes(out)).items()}


def source_state(mariadb, db, table="t"):
    return {r[0]: {"id": r[0], "v": r[1], "pad": r[2]}
            for r in mysql_rows(mariadb, f"SELECT id, v, pad FROM {db}.{table}")}


def assert_no_stale_after_newer(out):
    """Per key, a snapshot row never follows a change that is newer than it:
    every 'r' row's value must equal the key's state at that point or be
    followed only by newer changes. We check the weaker, observable property:
    after a key's first stream change (c/u/d) that came after its 'r' row,
    no 'r' row for the key appears again."""
    seen_change_after_read = set()
    seen_read = set()
    for e in changes(out):
        key = (e["after"] or e["before"])["id"]
        if e["op"] == "r":
            assert key not in seen_change_after_read, f"snapshot row for {key} after a newer change"
            seen_read.add(key)
        elif key in seen_read:
            seen_change_after_read.add(key)


def test_snapshot_under_concurrent_writes_matches_source(mariadb, tmp_path, db):
    n = 1_000_000
    fill(mariadb, db, n)
    s, out = pipeline(mariadb, tmp_path, db, parallelism=4, chunk=8096)
    writer = Writer(mariadb, db, n, seed=1)
    writer.start()
    s.start()
    s.wait_log(f"snapshot of {db}.t done", timeout=600)
    time.sleep(1)
    writer.stop_evt.set()
    writer.join()
    assert writer.error is None, writer.error
    assert writer.ops > 1000
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (9999999999, 0, 'marker')")
    wait_for_key(out, 9999999999, s)
    assert s.stop() == 0
    assert "LOCK TABLES" not in s.log_text()
    got = sink_state(out)
    want = source_state(mariadb, db)
    assert len(got) == len(want)
    assert got == want
    assert_no_stale_after_newer(out)


def test_reader_connection_killed_reads_the_chunk_again(mariadb, tmp_path, db):
    """KILL the chunk readers' connections mid-snapshot: each reader
    reconnects and reads its chunk again, and the sink still ends equal to
    the source under concurrent writes."""
    n = 300_000
    fill(mariadb, db, n)
    s, out = pipeline(mariadb, tmp_path, db, parallelism=2, chunk=3000)
    writer = Writer(mariadb, db, n, seed=5)
    writer.start()
    s.start()
    kills = 0
    deadline = time.time() + 120
    while kills < 4 and time.time() < deadline and f"snapshot of {db}.t done" not in s.log_text():
        # the readers: sluice's connections without a default database that
        # are not the binlog dump (the writer has one; this one is excluded)
        readers = mysql_rows(mariadb, "SELECT ID FROM information_schema.PROCESSLIST WHERE DB IS NULL AND "
                                      "COMMAND NOT IN ('Binlog Dump', 'Binlog Dump GTID', 'Daemon') AND "
                                      f"ID <> CONNECTION_ID() AND USER = '{mariadb.user}'")
        for (pid,) in readers:
            try:
                mysql_exec(mariadb, f"KILL CONNECTION {pid}")
                kills += 1
            except pymysql.err.OperationalError:
                pass  # gone already
        time.sleep(0.3)
    assert kills >= 2, "the snapshot finished before the readers could be killed"
    s.wait_log(f"snapshot of {db}.t done", timeout=300)
    time.sleep(1)
    writer.stop_evt.set()
    writer.join()
    assert writer.error is None, writer.error
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (9999999999, 0, 'marker')")
    wait_for_key(out, 9999999999, s)
    assert s.stop() == 0
    assert "reading the chunk again" in s.log_text()
    got = sink_state(out)
    want = source_state(mariadb, db)
    assert len(got) == len(want)
    assert got == want
    assert_no_stale_after_newer(out)


def chunk_reads(log):
    """(lo, hi, rows) of every chunk read logged at debug level."""
    return [(m.group(1), m.group(2), int(m.group(3)))
            for m in re.finditer(r"chunk \[(.*?), (.*?)\) read, (\d+) rows", log)]


def test_crash_loop_during_snapshot(mariadb, tmp_path, db):
    n = 1_500_000
    fill(mariadb, db, n)
    s, out = pipeline(mariadb, tmp_path, db, parallelism=2, chunk=2000)
    writer = Writer(mariadb, db, n, seed=2)
    writer.start()
    rnd = random.Random(7)
    s.start()
    restarts = []  # (run number, checkpoint state it resumed from)
    ck_path = tmp_path / "out.jsonl.checkpoint"
    while len(restarts) < 8:
        time.sleep(rnd.uniform(0.05, 0.5))
        if f"snapshot of {db}.t done" in s.log_text():
            break
        s.kill9()
        ck = json.loads(ck_path.read_text()) if ck_path.exists() else None
        s.start(wait_for="mysql source: streaming")
        if ck and ck["checkpoint"] and "snapshot" in ck["checkpoint"]["source"]:
            restarts.append((s.runs, ck["checkpoint"]["source"]["snapshot"]["tables"][0]))
    assert len(restarts) >= 3, "the snapshot finished before enough crashes"
    s.wait_log(f"snapshot of {db}.t done", timeout=600)
    writer.stop_evt.set()
    writer.join()
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (9999999999, 0, 'marker')")
    wait_for_key(out, 9999999999, s)
    assert s.stop() == 0
    # no chunk the checkpoint called finished was read again after a restart
    for run, state in restarts:
        if state.get("done"):
            continue
        pending = {tuple(json.dumps(b, separators=(",", ":")) for b in p) for p in state.get("pending", [])}
        nxt = state.get("next")
        log = (tmp_path / f"sluice-{run}.log").read_text()
        for lo, hi, _ in chunk_reads(log):
            if (lo, hi) in pending:
                continue
            assert nxt is not None and lo != "null", (run, lo, hi, state)
            assert int(json.loads(lo)[0][2:]) >= int(nxt[0][2:]), (run, lo, state)
    assert sink_state(out) == source_state(mariadb, db)


def test_skewed_keys_give_bounded_chunks(mariadb, tmp_path, db):
    mysql_exec(mariadb, f"CREATE TABLE {db}.t (id BIGINT PRIMARY KEY, v BIGINT NOT NULL, pad VARCHAR(40))",
               f"INSERT INTO {db}.t SELECT seq, seq, 'dense' FROM {db}.seq_1_to_20000",
               f"INSERT INTO {db}.t SELECT 1000000000000 + seq * 7, seq, 'far' FROM {db}.seq_1_to_30000",
               f"INSERT INTO {db}.t VALUES (9223372036854775000, 1, 'last')")
    s, out = pipeline(mariadb, tmp_path, db, startup="snapshot", chunk=1000)
    s.start(wait_for=None)
    assert s.wait_exit(120) == 0, s.log_text()
    reads = chunk_reads(s.log_text())
    assert reads and max(r[2] for r in reads) <= 1000, reads
    assert sum(r[2] for r in reads) == 50001
    assert sink_state(out) == source_state(mariadb, db)


def test_string_keys_case_insensitive_collation(mariadb, tmp_path, db):
    mysql_exec(mariadb,
               f"CREATE TABLE {db}.t (id VARCHAR(20) COLLATE utf8mb4_general_ci PRIMARY KEY, v BIGINT, "
               f"pad VARCHAR(40))",
               f"INSERT INTO {db}.t SELECT CONCAT(IF(seq % 2, 'A', 'b'), LPAD(seq, 7, '0')), seq, 'x' "
               f"FROM {db}.seq_1_to_20000",
               f"INSERT INTO {db}.t VALUES ('Ünïcode', 1, 'u'), ('zeta', 2, 'z'), ('ZETB', 3, 'Z')")
    s, out = pipeline(mariadb, tmp_path, db, startup="snapshot", chunk=700, parallelism=3)
    s.start(wait_for=None)
    assert s.wait_exit(120) == 0, s.log_text()
    reads = chunk_reads(s.log_text())
    assert max(r[2] for r in reads) <= 700
    assert sum(r[2] for r in reads) == 20003
    got = {e["after"]["id"]: e["after"]["v"] for e in changes(out)}
    want = {r[0]: r[1] for r in mysql_rows(mariadb, f"SELECT id, v FROM {db}.t")}
    assert got == want


def test_composite_key(mariadb, tmp_path, db):
    mysql_exec(mariadb,
               f"CREATE TABLE {db}.t (a INT, b VARCHAR(10), v INT, PRIMARY KEY (a, b))",
               f"INSERT INTO {db}.t SELECT seq DIV 10, CONCAT('k', seq MOD 10), seq FROM {db}.seq_1_to_12345")
    s, out = pipeline(mariadb, tmp_path, db, startup="snapshot", chunk=1000, parallelism=2)
    s.start(wait_for=None)
    assert s.wait_exit(120) == 0, s.log_text()
    got = sorted((e["after"]["a"], e["after"]["b"], e["after"]["v"]) for e in changes(out))
    want = sorted(tuple(r) for r in mysql_rows(mariadb, f"SELECT a, b, v FROM {db}.t"))
    assert got == want


def test_table_without_primary_key(mariadb, tmp_path, db):
    mysql_exec(mariadb, f"CREATE TABLE {db}.nokey (k INT, v INT)",
               f"INSERT INTO {db}.nokey SELECT seq, seq FROM {db}.seq_1_to_100")
    s, out = pipeline(mariadb, tmp_path, db, startup="snapshot")
    s.start(wait_for=None)
    assert s.wait_exit(60) == 2  # a configuration problem
    assert (f"mysql source: table {db}.nokey has no primary key, so its snapshot cannot be split; set "
            "scan.incremental.snapshot.chunk.key-column") in s.log_text()
    s2, out2 = pipeline(mariadb, tmp_path / "2", db, startup="snapshot", chunk=30,
                        extra_source="  scan.incremental.snapshot.chunk.key-column: k")
    s2.start(wait_for=None)
    assert s2.wait_exit(60) == 0, s2.log_text()
    assert sorted(e["after"]["k"] for e in changes(out2)) == list(range(1, 101))
    # the one-column form is for keyless tables: a table with a primary key
    # (and no column k) keeps its key; the per-table form applies to any
    # table it names, keyed or not
    mysql_exec(mariadb, f"CREATE TABLE {db}.keyed (id INT PRIMARY KEY, x INT)",
               f"INSERT INTO {db}.keyed SELECT seq, seq FROM {db}.seq_1_to_50")
    s3, out3 = pipeline(mariadb, tmp_path / "3", db, startup="snapshot", chunk=30,
                        extra_source="  scan.incremental.snapshot.chunk.key-column: k")
    s3.start(wait_for=None)
    assert s3.wait_exit(60) == 0, s3.log_text()
    assert sorted(e["after"]["id"] for e in changes(out3) if e["source"]["table"] == "keyed") == list(range(1, 51))
    s4, out4 = pipeline(mariadb, tmp_path / "4", db, startup="snapshot", chunk=30,
                        extra_source=f"  scan.incremental.snapshot.chunk.key-column: {db}.nokey:k;{db}.keyed:x")
    s4.start(wait_for=None)
    assert s4.wait_exit(60) == 0, s4.log_text()
    assert sorted(e["after"]["x"] for e in changes(out4) if e["source"]["table"] == "keyed") == list(range(1, 51))
    s5, _ = pipeline(mariadb, tmp_path / "5", db, startup="snapshot",
                     extra_source=f"  scan.incremental.snapshot.chunk.key-column: {db}.nokey:k;{db}.keyed:nope")
    s5.start(wait_for=None)
    assert s5.wait_exit(60) == 2
    assert f"table {db}.keyed has no column 'nope' to split by" in s5.log_text()


def test_migrate_verifies_and_summarises(mariadb, tmp_path, db):
    fill(mariadb, db, 30000)
    mysql_exec(mariadb, f"CREATE TABLE {db}.u (id INT PRIMARY KEY, s VARCHAR(10))",
               f"INSERT INTO {db}.u VALUES (1, 'a'), (2, 'b')")
    s, out = pipeline(mariadb, tmp_path, db, chunk=4000)
    s.command = "migrate"
    s.start(wait_for=None)
    assert s.wait_exit(180) == 0, s.log_text()
    log = s.log_text()
    assert re.search(rf"{db}\.t\s+30000\s+0\s+0\s+0\s+[\d.]+s\s+\d+", log), log
    assert re.search(rf"{db}\.t\s+30000\s+30000\s+[0-9a-f]{{16}}\s+[0-9a-f]{{16}}\s+ok", log), log
    assert "verification ok" in log
    # a change in the sink that the source does not have is caught
    lines = out.read_text().splitlines()
    idx = next(i for i, l in enumerate(lines) if '"table":"u"' in l and '"s":"a"' in l)
    lines[idx] = lines[idx].replace('"s":"a"', '"s":"X"')
    out.write_text("\n".join(lines) + "\n")
    # keep the checkpoint's committed length in step with the edit
    ck = json.loads((tmp_path / "out.jsonl.checkpoint").read_text())
    ck["file_size"] = out.stat().st_size
    (tmp_path / "out.jsonl.checkpoint").write_text(json.dumps(ck))
    s.start(wait_for=None)
    assert s.wait_exit(120) == 1, s.log_text()
    assert re.search(rf"{db}\.u\s+2\s+2\s+[0-9a-f]{{16}}\s+[0-9a-f]{{16}}\s+MISMATCH \(values\)", s.log_text())
