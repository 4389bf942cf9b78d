"""The lock-free parallel snapshot of the postgres source, merged with the
WAL stream, against a real PostgreSQL under concurrent writes; kill -9
during the snapshot; text and composite keys; `sluice migrate`."""

from __future__ import annotations

import json
import random
import re
import threading
import time

import pytest

from sluice_run import WRITERS, PG_STREAMING, changes, wait_for_key


def committed_checkpoint(out):
    """The file sink committed a checkpoint (its checkpoint file exists from
    the first write on, with no position until the first commit)."""
    try:
        return json.loads((out.parent / "out.jsonl.checkpoint").read_text())["checkpoint"] is not None
    except (FileNotFoundError, ValueError):
        return False


def fill(pg, n, table="t", identity="DEFAULT"):
    pg.exec(f"DROP TABLE IF EXISTS {table}",
            f"CREATE TABLE {table} (id bigint PRIMARY KEY, v bigint NOT NULL, pad text)",
            f"ALTER TABLE {table} REPLICA IDENTITY {identity}",
            f"INSERT INTO {table} SELECT i, i * 10, 'row-' || i FROM generate_series(1, {n}) i",
            f"ANALYZE {table}")


class Writer(threading.Thread):
    """Updates, deletes, re-inserts and primary-key changes on the same keys,
    as fast as one connection goes, until stopped."""

    def __init__(self, pg, n, seed, table="t", tx_size=1, lo=1, move_base=None):
        super().__init__(daemon=True)
        WRITERS.append(self)  # stopped after the test whatever happens (sluice_run)
        self.pg, self.n, self.table, self.tx_size = pg, n, table, tx_size
        self.lo, self.move_base = lo, (n + 1 if move_base is None else move_base)
        self.rnd = random.Random(seed)
        self.stop_evt = threading.Event()
        self.ops = 0
        self.error = None

    def run(self):
        t = self.table
        try:
            with self.pg.connect(autocommit=self.tx_size == 1) as conn:
                while not self.stop_evt.is_set():
                    if self.tx_size > 1 and self.ops % self.tx_size == 0:
                        conn.commit()
                    k = self.rnd.randrange(self.lo, self.n + 1)
                    op = self.rnd.random()
                    if op < 0.5:
                        conn.execute(f"UPDATE {t} SET v = v + 1 WHERE id = {k}")
                    elif op < 0.7:
                        conn.execute(f"DELETE FROM {t} WHERE id = {k}")
                    elif op < 0.85:
                        conn.execute(f"INSERT INTO {t} VALUES ({k}, {self.ops}, 'again') "
                                     f"ON CONFLICT (id) DO UPDATE SET v = {self.ops}")
                    else:
                        # primary-key change: move the row to a fresh key above the table
                        conn.execute(f"UPDATE {t} SET id = {self.move_base + self.ops} WHERE id = {k}")
                    self.ops += 1
                if self.tx_size > 1:
                    conn.commit()
        except Exception as exc:  # surfaced by the test
            self.error = exc


def replay_pg(events):
    """The sink's state per key. With REPLICA IDENTITY DEFAULT an update's
    before is null unless the key changed; then it holds the old key."""
    state = {}
    for e in events:
        if e["op"] in ("c", "r", "u"):
            if e["op"] == "u" and e["before"] is not None and e["before"]["id"] != e["after"]["id"]:
                state.pop(e["before"]["id"], None)
            state[e["after"]["id"]] = e["after"]
        elif e["op"] == "d":
            state.pop(e["before"]["id"], None)
    return state


def source_state(pg, table="t"):
    return {r[0]: {"id": r[0], "v": r[1], "pad": r[2]} for r in pg.rows(f"SELECT id, v, pad FROM {table}")}


def assert_no_stale_after_newer(evs):
    """After a key's first stream change following its snapshot row, no
    snapshot row for that key appears again; and no snapshot row of a key
    follows a change of the key made after the snapshot point."""
    seen_change_after_read, seen_read = set(), set()
    for e in evs:
        keys = {(e["after"] or {}).get("id"), (e["before"] or {}).get("id")} - {None}
        if e["op"] == "r":
            k = e["after"]["id"]
            assert k not in seen_change_after_read, f"snapshot row for {k} after a newer change"
            seen_read.add(k)
        else:
            seen_change_after_read |= keys & seen_read


def snapshot_done(s, table="public.t"):
    return f"snapshot of {table} done" in s.log_text()


@pytest.mark.parametrize("identity", ["DEFAULT", "FULL"])
def test_snapshot_under_concurrent_writes_matches_source(pg, identity):
    n = 200_000
    fill(pg, n, identity=identity)
    s, out = pg.pipeline("public.t", f"snapconc_{identity}", startup="initial",
                         extra_source="  scan.incremental.snapshot.chunk.size: 5000",
                         extra_pipeline="  parallelism: 3")
    writer = Writer(pg, n, seed=1)
    writer.start()
    time.sleep(0.3)
    s.start(wait_for=PG_STREAMING, timeout=60)
    s.wait_log("snapshot of public.t done", timeout=300)
    # a faster snapshot or a slower (loaded) writer leaves fewer writes
    # inside the snapshot: the writer goes on until it has done enough,
    # so the changes that follow the snapshot are there too
    time.sleep(1)
    deadline = time.monotonic() + 60
    while writer.ops <= 500 and writer.error is None and time.monotonic() < deadline:
        time.sleep(0.1)
    writer.stop_evt.set()
    writer.join()
    assert writer.error is None, writer.error
    assert writer.ops > 500, writer.ops
    pg.exec("INSERT INTO t VALUES (9999999999, 0, 'marker')")
    wait_for_key(out, 9999999999, s)
    assert s.stop() == 0
    log = s.log_text()
    assert "LOCK" not in log
    reads = [int(m.group(1)) for m in re.finditer(r"chunk \[.*?, .*?\) read, (\d+) rows", log)]
    assert len(reads) >= 30 and max(reads) <= 5000, reads
    evs = changes(out)
    got = replay_pg(evs)
    want = source_state(pg)
    assert len(got) == len(want)
    diff = {k: (got.get(k), want.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)}
    assert not diff, f"{len(diff)} keys differ, e.g. {list(diff.items())[:5]}"
    assert_no_stale_after_newer(evs)
    # the writer's changes after the snapshot point arrived as changes
    assert sum(1 for e in evs if e["op"] != "r") > 100


def test_kill9_during_snapshot(pg):
    n = 400_000
    fill(pg, n, identity="FULL")
    s, out = pg.pipeline("public.t", "snapkill", startup="initial",
                         extra_source="  scan.incremental.snapshot.chunk.size: 1000",
                         extra_pipeline="  parallelism: 2")
    writer = Writer(pg, n, seed=2)
    writer.start()
    rnd = random.Random(7)
    s.start(wait_for=PG_STREAMING, timeout=60)
    crashes = 0

    def finished():
        return snapshot_done(s) or "finished before the restart" in s.log_text()

    # (a crash before the file sink's first checkpoint is a case of its own,
    # see test_pg_operations.py::test_kill9_before_the_second_checkpoint)
    deadline = time.time() + 60
    while not committed_checkpoint(out):
        assert time.time() < deadline and s.proc.poll() is None, s.log_text()[-4000:]
        time.sleep(0.02)
    for _ in range(5):
        # let this run make progress (a few chunks read), then crash it
        deadline = time.time() + 60
        while s.log_text().count(") read, ") < 3 and not finished():
            assert time.time() < deadline and s.proc.poll() is None, s.log_text()[-4000:]
            time.sleep(0.02)
        time.sleep(rnd.uniform(0.0, 0.1))
        if finished():
            break
        s.kill9()
        crashes += 1
        s.start(wait_for=PG_STREAMING, timeout=60)
    assert crashes >= 3, "the snapshot finished before enough crashes"
    deadline = time.time() + 300
    while not finished():
        assert time.time() < deadline and s.proc.poll() is None, s.log_text()[-4000:]
        time.sleep(0.3)
    time.sleep(0.5)
    writer.stop_evt.set()
    writer.join()
    assert writer.error is None, writer.error
    pg.exec("INSERT INTO t VALUES (9999999999, 0, 'marker')")
    wait_for_key(out, 9999999999, s)
    assert s.stop() == 0
    evs = changes(out)
    got = replay_pg(evs)
    want = source_state(pg)
    diff = {k: (got.get(k), want.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)}
    assert not diff, f"{len(diff)} keys differ, e.g. {list(diff.items())[:5]}"
    # a finished chunk is not read again: fewer snapshot rows than two full passes
    assert sum(1 for e in evs if e["op"] == "r") < 2 * n


def test_text_and_composite_keys_snapshot_mode(pg):
    pg.exec("DROP TABLE IF EXISTS sk", "DROP TABLE IF EXISTS ck",
            "CREATE TABLE sk (id text PRIMARY KEY, v int)",
            "INSERT INTO sk SELECT CASE WHEN i % 2 = 0 THEN 'A' ELSE 'b' END || lpad(i::text, 7, '0'), i "
            "FROM generate_series(1, 20000) i",
            "INSERT INTO sk VALUES ('Ünïcode', 1), ('it''s', 2), ('a,b', 3), ('', 4), ('{x}', 5)",
            "CREATE TABLE ck (a int, b text, v int, PRIMARY KEY (a, b))",
            "INSERT INTO ck SELECT i / 10, 'k' || (i % 10), i FROM generate_series(1, 12345) i")
    s, out = pg.pipeline("public.sk, public.ck", "keys", startup="snapshot",
                         extra_source="  scan.incremental.snapshot.chunk.size: 700",
                         extra_pipeline="  parallelism: 3")
    s.start(wait_for=None)
    assert s.wait_exit(120) == 0, s.log_text()
    reads = [int(m.group(1)) for m in re.finditer(r"chunk \[.*?, .*?\) read, (\d+) rows", s.log_text())]
    assert max(reads) <= 700 and sum(reads) == 20005 + 12345, reads
    evs = changes(out)
    assert all(e["op"] == "r" for e in evs)
    got_sk = [(e["after"]["id"], e["after"]["v"]) for e in evs if e["source"]["table"] == "sk"]
    assert sorted(got_sk) == sorted(tuple(r) for r in pg.rows("SELECT id, v FROM sk"))
    got_ck = [(e["after"]["a"], e["after"]["b"], e["after"]["v"]) for e in evs if e["source"]["table"] == "ck"]
    assert sorted(got_ck) == sorted(tuple(r) for r in pg.rows("SELECT a, b, v FROM ck"))


def test_date_and_timestamp_keys_before_1_ad_and_far_ahead(pg):
    """Chunk bounds on date and timestamp keys from 4713 BC to 294276 AD and
    the infinities go back to the server as it printed them."""
    pg.exec("DROP TABLE IF EXISTS tk", "DROP TABLE IF EXISTS dk",
            "CREATE TABLE tk (t timestamp PRIMARY KEY, z timestamptz NOT NULL, v int)",
            "INSERT INTO tk SELECT '4713-01-01 00:00:00 BC'::timestamp + i * interval '6000 years 7 days', "
            "'4713-01-01 00:00:00+00 BC'::timestamptz + i * interval '6000 years 7 days', i "
            "FROM generate_series(0, 48) i",
            "INSERT INTO tk VALUES ('0001-12-31 23:59:59.5 BC', '0001-12-31 23:59:59.5+00 BC', 100), "
            "('0001-01-01 00:00:00', '0001-01-01 00:00:00+00', 101), ('infinity', 'infinity', 102), "
            "('-infinity', '-infinity', 103)",
            "CREATE TABLE dk (d date PRIMARY KEY, v int)",
            "INSERT INTO dk SELECT '4713-01-01 BC'::date + i * 3000000, i FROM generate_series(0, 40) i")
    s, out = pg.pipeline("public.tk, public.dk", "bc", startup="snapshot",
                         extra_source="  scan.incremental.snapshot.chunk.size: 3")
    s.start(wait_for=None)
    assert s.wait_exit(120) == 0, s.log_text()
    evs = changes(out)
    assert sorted(e["after"]["v"] for e in evs if e["source"]["table"] == "tk") == \
        sorted(r[0] for r in pg.rows("SELECT v FROM tk"))
    assert sorted(e["after"]["v"] for e in evs if e["source"]["table"] == "dk") == list(range(41))
    assert len(re.findall(r"chunk \[", s.log_text())) > 10


def test_no_primary_key_with_chunk_key_column(pg):
    pg.exec("DROP TABLE IF EXISTS nk",
            "CREATE TABLE nk (k int NOT NULL, v int)",
            "ALTER TABLE nk REPLICA IDENTITY FULL",
            "INSERT INTO nk SELECT i, i FROM generate_series(1, 100) i")
    s, out = pg.pipeline("public.nk", "nokey", startup="snapshot",
                         extra_source="  scan.incremental.snapshot.chunk.size: 30\n"
                                      "  scan.incremental.snapshot.chunk.key-column: k")
    s.start(wait_for=None)
    assert s.wait_exit(60) == 0, s.log_text()
    assert sorted(e["after"]["k"] for e in changes(out)) == list(range(1, 101))


def test_migrate_verifies(pg):
    fill(pg, 30000, table="mt")
    pg.exec("DROP TABLE IF EXISTS mu", "CREATE TABLE mu (id int PRIMARY KEY, s text)",
            "INSERT INTO mu VALUES (1, 'a'), (2, 'b')")
    s, out = pg.pipeline("public.mt, public.mu", "migr", startup="initial", command="migrate",
                         extra_source="  scan.incremental.snapshot.chunk.size: 4000",
                         extra_pipeline="  parallelism: 2")
    s.start(wait_for=None)
    assert s.wait_exit(180) == 0, s.log_text()
    log = s.log_text()
    assert "verification ok" in log, log
    assert re.search(r"public\.mt\s+30000\s+30000\s+[0-9a-f]{16}\s+[0-9a-f]{16}\s+ok", log), log
    assert len(changes(out)) == 30002
    # a value in the sink that the source does not have is caught
    lines = out.read_text().splitlines()
    idx = next(i for i, l in enumerate(lines) if '"table":"mu"' in l and '"s":"a"' in l)
    lines[idx] = lines[idx].replace('"s":"a"', '"s":"X"')
    out.write_text("\n".join(lines) + "\n")
    ck_path = out.parent / "out.jsonl.checkpoint"
    ck = json.loads(ck_path.read_text())
    ck["file_size"] = out.stat().st_size
    ck_path.write_text(json.dumps(ck))
    s.start(wait_for=None)
    assert s.wait_exit(120) == 1, s.log_text()
    assert re.search(r"public\.mu\s+2\s+2\s+[0-9a-f]{16}\s+[0-9a-f]{16}\s+MISMATCH \(values\)", s.log_text()), \
        s.log_text()


def test_truncate_during_snapshot(pg):
    # long enough that chunks read before the TRUNCATE are still merged
    # after the stream passed it: they must not bring truncated rows back
    n = 300_000
    fill(pg, n, table="tt")
    s, out = pg.pipeline("public.tt", "snaptrunc", startup="initial",
                         extra_source="  scan.incremental.snapshot.chunk.size: 300",
                         extra_pipeline="  parallelism: 1")
    s.start(wait_for=PG_STREAMING, timeout=60)
    # truncate once the snapshot is under way, then write new rows
    deadline = time.time() + 60
    while s.log_text().count(") read, ") < 3:
        assert time.time() < deadline and s.proc.poll() is None, s.log_text()[-3000:]
        time.sleep(0.01)
    # the readers hold no lock across chunks: TRUNCATE (ACCESS EXCLUSIVE)
    # gets through while the snapshot runs instead of queueing behind it
    assert "snapshot of public.tt done" not in s.log_text()
    started = time.time()
    pg.exec("SET lock_timeout = '3s'", "TRUNCATE tt",
            "INSERT INTO tt VALUES (1, -1, 'after truncate'), (150000, -2, 'after truncate')")
    assert time.time() - started < 3
    s.wait_log("snapshot of public.tt done", timeout=120)
    pg.exec("INSERT INTO tt VALUES (9999999999, 0, 'marker')")
    wait_for_key(out, 9999999999, s)
    assert s.stop() == 0
    state = {}
    for e in changes(out):
        if e["op"] == "t":
            state.clear()
        elif e["op"] in ("r", "c", "u"):
            state[e["after"]["id"]] = e["after"]
        elif e["op"] == "d":
            state.pop(e["before"]["id"], None)
    want = source_state(pg, "tt")
    assert len(state) == len(want), f"{len(state)} rows in the sink, {len(want)} in the source"
    assert state == want


def test_server_restart_during_snapshot(pg, postgres, repo_root):
    import os
    import subprocess
    n = 400_000
    fill(pg, n, identity="FULL")
    s, out = pg.pipeline("public.t", "snaprestart", startup="initial",
                         extra_source="  scan.incremental.snapshot.chunk.size: 250",
                         extra_pipeline="  parallelism: 1")
    s.start(wait_for=PG_STREAMING, timeout=60)
    deadline = time.time() + 60
    while not committed_checkpoint(out):
        assert time.time() < deadline and s.proc.poll() is None, s.log_text()[-4000:]
        time.sleep(0.02)
    pg.exec("UPDATE t SET v = -1 WHERE id % 1000 = 7", "DELETE FROM t WHERE id % 1000 = 8")
    script = str(repo_root / "tests/services/postgres.sh")
    subprocess.run(["bash", script, "stop", postgres.dir], check=True, capture_output=True)
    finished_early = "snapshot of public.t done" in s.log_text()
    time.sleep(1)
    subprocess.run(["bash", script, "start", postgres.dir], check=True, capture_output=True,
                   env=dict(os.environ, PG_PORT=str(postgres.port)))
    assert not finished_early, "the snapshot finished before the restart"
    pg.exec("UPDATE t SET v = -2 WHERE id % 1000 = 9", "DELETE FROM t WHERE id % 1000 = 10",
            "UPDATE t SET id = id + 1000000 WHERE id % 1000 = 11")
    deadline = time.time() + 120
    while "snapshot of public.t done" not in s.log_text():
        assert time.time() < deadline and s.proc.poll() is None, s.log_text()[-4000:]
        time.sleep(0.3)
    pg.exec("INSERT INTO t VALUES (9999999999, 0, 'marker')")
    wait_for_key(out, 9999999999, s)
    assert s.stop() == 0
    got = replay_pg(changes(out))
    want = source_state(pg)
    diff = {k: (got.get(k), want.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)}
    assert not diff, f"{len(diff)} keys differ, e.g. {list(diff.items())[:5]}"


def test_chunks_stay_bounded_when_the_table_grew_since_analyze(pg):
    """reltuples is an estimate: a table that grew by half since its last
    ANALYZE must still be read in chunks of at most chunk.size rows (the
    bound on a reader's memory)."""
    pg.exec("DROP TABLE IF EXISTS grown", "CREATE TABLE grown (id bigint PRIMARY KEY, v int)",
            "INSERT INTO grown SELECT i, i FROM generate_series(1, 100000) i", "ANALYZE grown",
            "INSERT INTO grown SELECT i, i FROM generate_series(100001, 150000) i")
    s, out = pg.pipeline("public.grown", "grown", startup="snapshot",
                         extra_source="  scan.incremental.snapshot.chunk.size: 1000")
    s.start(wait_for=None)
    assert s.wait_exit(60) == 0, s.log_text()
    reads = [int(m.group(1)) for m in re.finditer(r"chunk \[.*?, .*?\) read, (\d+) rows", s.log_text())]
    assert sum(reads) == 150000
    assert max(reads) <= 1000, f"largest chunk {max(reads)} rows"


def test_snapshot_under_concurrent_transactions_streamed_and_not(pg):
    """Writers in multi-statement transactions, some large enough for the
    server to stream them (decoding.work-mem 64kB), during a 4-reader
    snapshot."""
    n = 200_000
    fill(pg, n, identity="FULL")
    s, out = pg.pipeline("public.t", "snaptx", startup="initial",
                         extra_source="  scan.incremental.snapshot.chunk.size: 3000\n  decoding.work-mem: 64kB",
                         extra_pipeline="  parallelism: 4")
    # disjoint keys, so that the two writers never deadlock
    writers = [Writer(pg, n // 2, seed=21, tx_size=20, move_base=n + 1),
               Writer(pg, n, seed=22, tx_size=3000, lo=n // 2 + 1, move_base=10 * n)]
    for w in writers:
        w.start()
    time.sleep(0.5)
    s.start(wait_for=PG_STREAMING, timeout=60)
    s.wait_log("snapshot of public.t done", timeout=300)
    time.sleep(1)
    for w in writers:
        w.stop_evt.set()
    for w in writers:
        w.join()
        assert w.error is None, w.error
    pg.exec("INSERT INTO t VALUES (9999999999, 0, 'marker')")
    wait_for_key(out, 9999999999, s, timeout=120)
    assert s.stop() == 0
    assert re.search(r"streamed transaction \d+ committed", s.log_text()), "no transaction was streamed"
    evs = changes(out)
    got = replay_pg(evs)
    want = source_state(pg)
    diff = {k: (got.get(k), want.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)}
    assert not diff, f"{len(diff)} keys differ, e.g. {list(diff.items())[:5]}"
    assert_no_stale_after_newer(evs)
