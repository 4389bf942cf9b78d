"""The lock-free parallel snapshot of the mysql source, merged with the
binlog, against a real MariaDB under concurrent writes; crash and resume;
chunking of skewed and string keys; `sluice migrate` with verification."""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import re
import threading
import time

import pymysql
import pytest

from sluice_run import (WRITERS, Sluice, assert_same_rows, changes, iter_changes, iter_events, mysql_connect,
                        mysql_exec, mysql_pipeline_yaml, mysql_rows, read_events, replay, wait_for_key)

_ids = itertools.count(6500)


@pytest.fixture
def db(mariadb, request):
    # parametrized names differ only at their end: a digest keeps them apart
    full = request.node.name
    name = "s_" + re.sub(r"\W", "_", full)[:36] + "_" + hashlib.sha1(full.encode()).hexdigest()[:6]
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}")
    return name


# scan.incremental.snapshot.algorithm: MariaDB reports exact snapshot
# positions, and the watermark algorithm (what MySQL 8 gets) must give the
# same results on it
ALGORITHMS = ["snapshot-position", "watermark"]


def pipeline(mariadb, tmp_path, db, tables=None, startup="initial", parallelism=2, chunk=1000, extra_source="",
             algorithm=None):
    out = tmp_path / "out.jsonl"
    if algorithm:
        extra_source += f"  scan.incremental.snapshot.algorithm: {algorithm}\n"
    yaml = mysql_pipeline_yaml(
        mariadb, tables or f"{db}.\\.*", out, name=db, startup=startup, server_id=next(_ids),
        extra_source=f"  scan.incremental.snapshot.chunk.size: {chunk}\n{extra_source}",
        extra_pipeline=f"  parallelism: {parallelism}")
    return Sluice(tmp_path, yaml, env={"TEST_MYSQL_PASSWORD": mariadb.password}), out


def fill(mariadb, db, n, table="t", engine="InnoDB"):
    mysql_exec(mariadb,
               f"CREATE TABLE {db}.{table} (id BIGINT PRIMARY KEY, v BIGINT NOT NULL, pad VARCHAR(40)) "
               f"ENGINE={engine}",
               f"INSERT INTO {db}.{table} SELECT seq, seq * 10, CONCAT('row-', seq) FROM {db}.seq_1_to_{n}")


class Writer(threading.Thread):
    """Updates, deletes, re-inserts and primary-key changes on the same keys,
    as fast as one connection goes, until stopped."""

    def __init__(self, mariadb, db, n, seed):
        super().__init__(daemon=True)
        WRITERS.append(self)  # stopped after the test whatever happens (sluice_run)
        self.mariadb, self.db, self.n = mariadb, db, n
        self.rnd = random.Random(seed)
        self.stop_evt = threading.Event()
        self.ops = 0
        self.error = None

    def step(self, cur):
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

    def run(self):
        conn = mysql_connect(self.mariadb, self.db)
        try:
            with conn.cursor() as cur:
                while not self.stop_evt.is_set():
                    self.step(cur)
                    self.ops += 1
        except Exception as exc:  # surfaced by the test
            self.error = exc
        finally:
            conn.close()


class Incrementer(Writer):
    """UPDATE v = v + 1 on every key ≡ part (mod parts), one transaction
    after the other: a key's v only grows, so an older row is one with a
    smaller v, and every commit touches a key of almost every chunk."""

    def __init__(self, mariadb, db, part, parts):
        super().__init__(mariadb, db, 0, seed=part)
        self.part, self.parts = part, parts

    def step(self, cur):
        cur.execute(f"UPDATE t SET v = v + 1 WHERE id % {self.parts} = {self.part}")


def assert_algorithm(s, algorithm):
    """The snapshot ran under the algorithm the test asked for."""
    said = {"snapshot-position": "each at its exact binlog position",
            "watermark": "placed by binlog watermarks"}[algorithm]
    assert said in s.log_text(), s.log_text()[-2000:]


def sink_state(out):
    return {k[1]: v for k, v in replay(iter_changes(out)).items()}


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
    for e in iter_changes(out):
        key = (e["after"] or e["before"])["id"]
        if e["op"] == "r":
            assert key not in seen_change_after_read, f"snapshot row for {key} after a newer change"
            seen_read.add(key)
        elif key in seen_read:
            seen_change_after_read.add(key)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_snapshot_under_concurrent_writes_matches_source(mariadb, tmp_path, db, algorithm):
    n = 1_000_000
    fill(mariadb, db, n)
    s, out = pipeline(mariadb, tmp_path, db, parallelism=4, chunk=8096, algorithm=algorithm)
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
    assert_algorithm(s, algorithm)
    got = sink_state(out)
    want = source_state(mariadb, db)
    assert_same_rows(got, want)
    assert_no_stale_after_newer(out)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_no_chunk_row_older_than_a_change_already_sent(mariadb, tmp_path, db, algorithm):
    """MariaDB writes a commit to the binlog before InnoDB makes it visible:
    the binlog end read before a chunk, and even the snapshot's reported
    binlog_snapshot_position, were seen to lie past a change the chunk's
    snapshot did not see, and the chunk's older row then overwrote it (a
    deleted row came back in CI). With many concurrent commits and
    sync_binlog = 1 (a wider gap), every snapshot row must be at least as
    new as every change of its key sent before it. Before chunks were
    trusted only from their lower bound, this failed 7 of 10 runs under
    watermarks and 2 of 6 under snapshot-position."""
    n = 400
    fill(mariadb, db, n)
    mysql_exec(mariadb, "SET GLOBAL sync_binlog = 1", "SET GLOBAL innodb_flush_log_at_trx_commit = 1")
    writers = [Incrementer(mariadb, db, part, 6) for part in range(6)]
    try:
        for w in writers:
            w.start()
        for rnd in range(5):
            s, out = pipeline(mariadb, tmp_path / f"run{rnd}", db, parallelism=2, chunk=4, algorithm=algorithm)
            s.start()
            s.wait_log(f"snapshot of {db}.t done", timeout=120)
            s.stop()
            newest = {}  # key -> the largest v a change has sent so far
            for e in iter_changes(out):
                k, v = e["after"]["id"], e["after"]["v"]
                if e["op"] == "r":
                    assert v >= newest.get(k, v), \
                        f"run {rnd}: snapshot row {e['after']} sent after a change to v={newest[k]}"
                newest[k] = max(v, newest.get(k, v))
    finally:
        for w in writers:
            w.stop_evt.set()
        for w in writers:
            w.join(30)
        mysql_exec(mariadb, "SET GLOBAL sync_binlog = 0", "SET GLOBAL innodb_flush_log_at_trx_commit = 2")
    assert all(w.error is None for w in writers), [w.error for w in writers]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_reader_connection_killed_reads_the_chunk_again(mariadb, tmp_path, db, algorithm):
    """KILL the chunk readers' connections mid-snapshot: each reader
    reconnects and reads its chunk again, and the sink still ends equal to
    the source under concurrent writes."""
    n = 300_000
    fill(mariadb, db, n)
    s, out = pipeline(mariadb, tmp_path, db, parallelism=2, chunk=1000, algorithm=algorithm)
    writer = Writer(mariadb, db, n, seed=5)
    writer.start()
    s.start(wait_for=None)  # the readers start at once: so does the killing
    # kill the readers' connections until sluice says it reads a chunk again
    # (twice), or the snapshot is over. One connection lists and kills (a
    # connection per statement made a round slower than a chunk under load:
    # the snapshot could end before the first kill, seen once in CI), and the
    # log is read four times a second only
    deadline = time.time() + 120
    done, rereads, checked = False, 0, 0.0
    killer = mysql_connect(mariadb)
    try:
        with killer.cursor() as cur:
            while rereads < 2 and time.time() < deadline and not done:
                if time.time() - checked > 0.25:
                    log = s.log_text()
                    done, rereads = f"snapshot of {db}.t done" in log, log.count("reading the chunk again")
                    checked = time.time()
                # the readers in a chunk's query: sluice's connections have no
                # default database (the writer has one), and only a chunk is
                # read by SELECT * (killing any sluice connection also hit its
                # setup queries before the snapshot began)
                cur.execute("SELECT ID FROM information_schema.PROCESSLIST WHERE DB IS NULL AND "
                            "INFO LIKE 'SELECT * FROM %' AND "
                            f"ID <> CONNECTION_ID() AND USER = '{mariadb.user}'")
                for (pid,) in cur.fetchall():
                    try:
                        cur.execute(f"KILL CONNECTION {pid}")
                    except pymysql.err.OperationalError:
                        pass  # gone already
                time.sleep(0.005)
    finally:
        killer.close()
    assert rereads >= 1 or "reading the chunk again" in s.log_text(), \
        "the snapshot finished before a reader could be killed"
    s.wait_log(f"snapshot of {db}.t done", timeout=300)
    time.sleep(1)
    writer.stop_evt.set()
    writer.join()
    assert writer.error is None, writer.error
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (9999999999, 0, 'marker')")
    wait_for_key(out, 9999999999, s)
    assert s.stop() == 0
    assert "reading the chunk again" in s.log_text()
    assert_algorithm(s, algorithm)
    got = sink_state(out)
    want = source_state(mariadb, db)
    assert_same_rows(got, want)
    assert_no_stale_after_newer(out)


def chunk_reads(log):
    """(lo, hi, rows) of every chunk read logged at debug level."""
    return [(m.group(1), m.group(2), int(m.group(3)))
            for m in re.finditer(r"chunk \[(.*?), (.*?)\) read, (\d+) rows", log)]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_crash_loop_during_snapshot(mariadb, tmp_path, db, algorithm):
    n = 1_500_000
    fill(mariadb, db, n)
    s, out = pipeline(mariadb, tmp_path, db, parallelism=2, chunk=2000, algorithm=algorithm)
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
        if nxt is None and not state.get("exhausted"):
            continue  # killed before its first chunk was assigned: every read is a first read
        log = (tmp_path / f"sluice-{run}.log").read_text()
        for lo, hi, _ in chunk_reads(log):
            if (lo, hi) in pending:
                continue
            assert nxt is not None and lo != "null", (run, lo, hi, state)
            assert int(json.loads(lo)[0][2:]) >= int(nxt[0][2:]), (run, lo, state)
    assert_same_rows(sink_state(out), source_state(mariadb, db))


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_skewed_keys_give_bounded_chunks(mariadb, tmp_path, db, algorithm):
    mysql_exec(mariadb, f"CREATE TABLE {db}.t (id BIGINT PRIMARY KEY, v BIGINT NOT NULL, pad VARCHAR(40))",
               f"INSERT INTO {db}.t SELECT seq, seq, 'dense' FROM {db}.seq_1_to_20000",
               f"INSERT INTO {db}.t SELECT 1000000000000 + seq * 7, seq, 'far' FROM {db}.seq_1_to_30000",
               f"INSERT INTO {db}.t VALUES (9223372036854775000, 1, 'last')")
    s, out = pipeline(mariadb, tmp_path, db, startup="snapshot", chunk=1000, algorithm=algorithm)
    s.start(wait_for=None)
    assert s.wait_exit(120) == 0, s.log_text()
    reads = chunk_reads(s.log_text())
    assert reads and max(r[2] for r in reads) <= 1000, reads
    assert sum(r[2] for r in reads) == 50001
    assert_algorithm(s, algorithm)
    assert sink_state(out) == source_state(mariadb, db)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_string_keys_case_insensitive_collation(mariadb, tmp_path, db, algorithm):
    mysql_exec(mariadb,
               f"CREATE TABLE {db}.t (id VARCHAR(20) COLLATE utf8mb4_general_ci PRIMARY KEY, v BIGINT, "
               f"pad VARCHAR(40))",
               f"INSERT INTO {db}.t SELECT CONCAT(IF(seq % 2, 'A', 'b'), LPAD(seq, 7, '0')), seq, 'x' "
               f"FROM {db}.seq_1_to_20000",
               f"INSERT INTO {db}.t VALUES ('Ünïcode', 1, 'u'), ('zeta', 2, 'z'), ('ZETB', 3, 'Z')")
    s, out = pipeline(mariadb, tmp_path, db, startup="snapshot", chunk=700, parallelism=3, algorithm=algorithm)
    s.start(wait_for=None)
    assert s.wait_exit(120) == 0, s.log_text()
    reads = chunk_reads(s.log_text())
    assert max(r[2] for r in reads) <= 700
    assert sum(r[2] for r in reads) == 20003
    got = {e["after"]["id"]: e["after"]["v"] for e in changes(out)}
    want = {r[0]: r[1] for r in mysql_rows(mariadb, f"SELECT id, v FROM {db}.t")}
    assert got == want


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_composite_key(mariadb, tmp_path, db, algorithm):
    mysql_exec(mariadb,
               f"CREATE TABLE {db}.t (a INT, b VARCHAR(10), v INT, PRIMARY KEY (a, b))",
               f"INSERT INTO {db}.t SELECT seq DIV 10, CONCAT('k', seq MOD 10), seq FROM {db}.seq_1_to_12345")
    s, out = pipeline(mariadb, tmp_path, db, startup="snapshot", chunk=1000, parallelism=2, algorithm=algorithm)
    s.start(wait_for=None)
    assert s.wait_exit(120) == 0, s.log_text()
    got = sorted((e["after"]["a"], e["after"]["b"], e["after"]["v"]) for e in changes(out))
    want = sorted(tuple(r) for r in mysql_rows(mariadb, f"SELECT a, b, v FROM {db}.t"))
    assert got == want


def test_auto_places_a_non_innodb_table_by_watermarks(mariadb, tmp_path, db):
    """A consistent snapshot covers InnoDB only: under `auto` an Aria table
    (read as of each statement) switches the snapshot to watermarks, and the
    sink still ends equal to the source under concurrent writes."""
    n = 200_000
    fill(mariadb, db, n, engine="Aria")
    s, out = pipeline(mariadb, tmp_path, db, parallelism=2, chunk=2000, algorithm="auto")
    writer = Writer(mariadb, db, n, seed=11)
    writer.start()
    s.start()
    s.wait_log(f"snapshot of {db}.t done", timeout=600)
    ops_during_snapshot = writer.ops
    writer.stop_evt.set()
    writer.join()
    assert writer.error is None, writer.error
    assert ops_during_snapshot > 100
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (9999999999, 0, 'marker')")
    wait_for_key(out, 9999999999, s)
    assert s.stop() == 0
    assert (f"mysql source: table {db}.t uses the Aria engine: snapshot chunks are placed by binlog "
            "watermarks") in s.log_text()
    assert_algorithm(s, "watermark")
    got = sink_state(out)
    want = source_state(mariadb, db)
    assert len(got) == len(want)
    assert got == want
    assert_no_stale_after_newer(out)


def test_snapshot_position_refuses_a_myisam_table(mariadb, tmp_path, db):
    fill(mariadb, db, 100)
    fill(mariadb, db, 100, table="m", engine="MyISAM")
    s, out = pipeline(mariadb, tmp_path, db, startup="snapshot", algorithm="snapshot-position")
    s.start(wait_for=None)
    assert s.wait_exit(60) == 2  # a configuration problem
    assert (f"mysql source: table {db}.m uses the MyISAM engine, which a consistent snapshot does not cover, "
            "so scan.incremental.snapshot.algorithm: snapshot-position cannot place its rows; set "
            "scan.incremental.snapshot.algorithm: watermark (or auto), or ALTER TABLE "
            f"{db}.m ENGINE=InnoDB") in s.log_text(), s.log_text()[-2000:]
    assert not out.exists() or not changes(out)


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


def start_and_read_chunks(mariadb, tmp_path, db, algorithm, n, parallelism, chunk, chunks):
    """A table of n rows whose snapshot has read `chunks` chunks and is not
    done: the moment for DDL while chunks are read."""
    fill(mariadb, db, n)
    s, out = pipeline(mariadb, tmp_path, db, parallelism=parallelism, chunk=chunk, algorithm=algorithm)
    s.start()
    deadline = time.time() + 60
    while s.log_text().count(") read, ") < chunks:
        assert time.time() < deadline and s.proc.poll() is None, s.log_text()[-3000:]
        time.sleep(0.01)
    assert f"snapshot of {db}.t done" not in s.log_text()
    return s, out


def replay_with_truncates(out):
    """The sink's state by id, a TRUNCATE ('t') emptying it."""
    state = {}
    for e in changes(out):
        if e["op"] == "t":
            state.clear()
        elif e["op"] in ("r", "c", "u"):
            if e["op"] == "u" and e["before"]["id"] != e["after"]["id"]:
                state.pop(e["before"]["id"], None)
            state[e["after"]["id"]] = e["after"]
        elif e["op"] == "d":
            state.pop(e["before"]["id"], None)
    return state


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_truncate_during_snapshot(mariadb, tmp_path, db, algorithm):
    """TRUNCATE (a QUERY event) while chunks are read: the sinks get a 't'
    event, and chunks read before it bring none of their rows back, as on
    PostgreSQL (test_pg_snapshot.py::test_truncate_during_snapshot)."""
    s, out = start_and_read_chunks(mariadb, tmp_path, db, algorithm, n=300_000, parallelism=1, chunk=300,
                                   chunks=3)
    mysql_exec(mariadb, f"TRUNCATE TABLE {db}.t",
               f"INSERT INTO {db}.t VALUES (1, -1, 'after truncate'), (150000, -2, 'after truncate')")
    s.wait_log(f"snapshot of {db}.t done", timeout=300)
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (9999999999, 0, 'marker')")
    wait_for_key(out, 9999999999, s)
    assert s.stop() == 0
    assert_algorithm(s, algorithm)
    assert f"mysql source: {db}.t truncated" in s.log_text()
    assert [e["op"] for e in changes(out)].count("t") == 1
    assert replay_with_truncates(out) == source_state(mariadb, db)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_alter_table_during_snapshot(mariadb, tmp_path, db, algorithm):
    """ALTER TABLE while chunks are read: a chunk read in the old shape is
    read again in the new one, never emitted after the new shape; the sink
    ends equal to the source. Rows are written after the ALTER, so the
    binlog shows the new shape (and the stream announces it)."""
    s, out = start_and_read_chunks(mariadb, tmp_path, db, algorithm, n=200_000, parallelism=2, chunk=1000,
                                   chunks=4)
    mysql_exec(mariadb, f"ALTER TABLE {db}.t ADD COLUMN extra INT NOT NULL DEFAULT 7",
               f"UPDATE {db}.t SET v = -v, extra = 8 WHERE id % 5000 = 1",
               f"DELETE FROM {db}.t WHERE id % 5000 = 2")
    s.wait_log(f"snapshot of {db}.t done", timeout=300)
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (9999999999, 0, 'marker', 9)")
    wait_for_key(out, 9999999999, s)
    assert s.stop() == 0, s.log_text()[-3000:]
    assert_algorithm(s, algorithm)
    # once the new shape is announced, every row carries it
    new_shape = False
    for e in iter_events(out):
        if "tableChanges" in e:
            cols = [c["name"] for c in e["tableChanges"][0]["table"]["columns"]]
            new_shape = "extra" in cols
        elif e.get("op") in ("r", "c", "u"):
            assert ("extra" in e["after"]) == new_shape, (new_shape, e)
    assert new_shape
    state = sink_state(out)
    want = {r[0]: {"id": r[0], "v": r[1], "pad": r[2], "extra": r[3]}
            for r in mysql_rows(mariadb, f"SELECT id, v, pad, extra FROM {db}.t")}
    assert state.keys() == want.keys()
    # rows emitted before the ALTER lack the column the source defaults
    assert {k: {c: v[c] for c in ("id", "v", "pad")} for k, v in state.items()} == \
        {k: {c: v[c] for c in ("id", "v", "pad")} for k, v in want.items()}
    assert all(v.get("extra", 7) == want[k]["extra"] for k, v in state.items())
