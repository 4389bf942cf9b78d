"""postgres source -> file sink against a real PostgreSQL 15: the change
sequence and its envelope, replica identity and TOAST, schema changes,
resume after a stop, the slot moving while only uncaptured tables change,
large streamed transactions (commit, rollback, savepoint rollback) and a
server restart. Every test compares what the sink holds with what the
database holds."""

from __future__ import annotations

import json
import random
import re
import signal
import subprocess
import os
import time

import pytest

from conftest import sluice_binary
from sluice_run import (PG_STREAMING, assert_stops_promptly, changes, iter_changes, read_events, replay,
                        silent_server, tail_events, vm_hwm_kib, wait_events, wait_for_key)

UNAVAILABLE = "__debezium_unavailable_value"


def lsn_int(text):
    hi, lo = text.split("/")
    return (int(hi, 16) << 32) | int(lo, 16)


def current_lsn(pg):
    return lsn_int(pg.rows("SELECT pg_current_wal_lsn()::text")[0][0])


def test_change_sequence_and_envelope(pg):
    pg.exec("CREATE TABLE orders (id int PRIMARY KEY, v text, n bigint)",
            "CREATE TABLE items_1 (k text PRIMARY KEY, q int)",
            "CREATE TABLE items_2 (k text PRIMARY KEY, q int)",
            "CREATE TABLE other (id int PRIMARY KEY)")
    s, out = pg.pipeline(r"public.orders, public.items_\.*", "seq")
    s.start(wait_for=PG_STREAMING)
    lsn0 = current_lsn(pg)
    with pg.connect(autocommit=False) as conn:
        xid1 = conn.execute("SELECT txid_current()").fetchone()[0]
        conn.execute("INSERT INTO orders VALUES (1, 'one', 10), (2, 'two', 20)")
        conn.execute("INSERT INTO items_1 VALUES ('a', 1)")
        conn.execute("INSERT INTO other VALUES (1)")
        conn.execute("INSERT INTO items_2 VALUES ('b', 2)")
        conn.commit()
        lsn1 = current_lsn(pg)
        xid2 = conn.execute("SELECT txid_current()").fetchone()[0]
        conn.execute("UPDATE orders SET v = 'uno' WHERE id = 1")
        conn.commit()
        conn.execute("UPDATE orders SET id = 3 WHERE id = 2")
        conn.execute("DELETE FROM items_1")
        conn.commit()
        conn.execute("TRUNCATE orders")
        conn.commit()
    wait_events(out, 8, proc=s)
    time.sleep(0.5)
    assert s.stop() == 0
    lines = read_events(out)
    shape = []
    for e in lines:
        if "tableChanges" in e:
            assert "op" not in e
            t = e["tableChanges"][0]
            shape.append(("schema", t["type"], t["id"], t["schemaVersion"]))
        else:
            shape.append((e["op"], e["source"]["table"], e["before"], e["after"]))
    assert shape == [
        ("schema", "CREATE", "public.orders", 1),
        ("c", "orders", None, {"id": 1, "v": "one", "n": 10}),
        ("c", "orders", None, {"id": 2, "v": "two", "n": 20}),
        ("schema", "CREATE", "public.items_1", 1),
        ("c", "items_1", None, {"k": "a", "q": 1}),
        ("schema", "CREATE", "public.items_2", 1),
        ("c", "items_2", None, {"k": "b", "q": 2}),
        ("u", "orders", None, {"id": 1, "v": "uno", "n": 10}),
        ("u", "orders", {"id": 2, "v": None, "n": None}, {"id": 3, "v": "two", "n": 20}),
        ("d", "items_1", {"k": "a", "q": None}, None),
        ("t", "orders", None, None),
    ]
    evs = changes(out)
    for e in evs:
        src = e["source"]
        assert src["connector"] == "postgresql"
        assert src["db"] == pg.db and src["schema"] == "public"
        assert src["snapshot"] == "false"
        assert isinstance(src["lsn"], int) and src["lsn"] >= lsn0
    # one transaction shares one txId, which is the server's xid
    assert [e["source"]["txId"] for e in evs[:4]] == [xid1 % 2**32] * 4
    assert evs[4]["source"]["txId"] == xid2 % 2**32
    assert evs[5]["source"]["txId"] == evs[6]["source"]["txId"] != evs[4]["source"]["txId"]
    # the LSN is the change's own: increasing, distinct within a transaction,
    # and inside the WAL written by that transaction
    first_tx = [e["source"]["lsn"] for e in evs[:4]]
    assert first_tx == sorted(first_tx) and len(set(first_tx)) == 4, first_tx
    assert all(lsn0 <= l < lsn1 for l in first_tx), (lsn0, first_tx, lsn1)
    all_lsns = [e["source"]["lsn"] for e in evs]
    assert all_lsns == sorted(all_lsns) and len(set(all_lsns)) == len(all_lsns), all_lsns
    # Debezium's sequence: [the last commit (or heartbeat) read before the
    # transaction, the change's LSN], decimal strings; one transaction shares
    # the first; the second transaction's follows the first one's commit
    seqs = [json.loads(e["source"]["sequence"]) for e in evs]
    assert [q[1] for q in seqs] == [str(x) for x in all_lsns]
    assert len({q[0] for q in seqs[:4]}) == 1 and (seqs[0][0] is None or int(seqs[0][0]) <= first_tx[0])
    assert first_tx[-1] < int(seqs[4][0]) <= evs[4]["source"]["lsn"], (first_tx, seqs[4])


def toast_value(pg, seed):
    """A ~10 kB string that pglz cannot shrink below the TOAST threshold."""
    return pg.rows(f"SELECT string_agg(md5('{seed}' || i::text), '') FROM generate_series(1, 320) i")[0][0]


@pytest.mark.parametrize("identity", ["default", "full"])
def test_replica_identity_and_toast(pg, identity):
    t = f"ri_{identity}"
    pg.exec(f"CREATE TABLE {t} (id int PRIMARY KEY, big text, n int, s text)",
            f"ALTER TABLE {t} REPLICA IDENTITY {identity.upper()}")
    big = toast_value(pg, identity)
    assert len(big) == 320 * 32
    s, out = pg.pipeline(f"public.{t}", f"ri_{identity}")
    s.start(wait_for=PG_STREAMING)
    pg.exec(f"INSERT INTO {t} VALUES (1, '{big}', 1, 'a')",
            f"UPDATE {t} SET n = 2 WHERE id = 1",          # big unchanged, stays TOASTed
            f"UPDATE {t} SET id = 5, s = 'b' WHERE id = 1",  # key change, big unchanged
            f"UPDATE {t} SET big = 'small' WHERE id = 5",
            f"DELETE FROM {t} WHERE id = 5")
    pg.rows(f"SELECT pg_column_size(big) FROM {t}")
    wait_events(out, 5, proc=s)
    time.sleep(0.3)
    assert s.stop() == 0
    got = [(e["op"], e["before"], e["after"]) for e in changes(out)]
    row1 = {"id": 1, "big": big, "n": 1, "s": "a"}
    row2 = {"id": 1, "big": big, "n": 2, "s": "a"}
    row5 = {"id": 5, "big": big, "n": 2, "s": "b"}
    row5s = {"id": 5, "big": "small", "n": 2, "s": "b"}
    if identity == "full":
        assert got == [
            ("c", None, row1),
            ("u", row1, row2),
            ("u", row2, row5),
            ("u", row5, row5s),
            ("d", row5s, None),
        ]
    else:
        assert got == [
            ("c", None, row1),
            ("u", None, dict(row2, big=UNAVAILABLE)),
            ("u", {"id": 1, "big": None, "n": None, "s": None}, dict(row5, big=UNAVAILABLE)),
            ("u", None, row5s),
            ("d", {"id": 5, "big": None, "n": None, "s": None}, None),
        ]


def test_schema_change_mid_stream(pg):
    pg.exec("CREATE TABLE sch (id int PRIMARY KEY, a int)")
    s, out = pg.pipeline("public.sch", "sch")
    s.start(wait_for=PG_STREAMING)
    pg.exec("INSERT INTO sch VALUES (1, 10)",
            "ALTER TABLE sch ADD COLUMN b varchar(10) DEFAULT 'x'",
            "INSERT INTO sch VALUES (2, 20, 'y')",
            "ALTER TABLE sch DROP COLUMN a",
            "UPDATE sch SET b = 'z' WHERE id = 1",
            "ALTER TABLE sch RENAME COLUMN b TO c",
            "DELETE FROM sch WHERE id = 2")
    wait_events(out, 4, proc=s)
    time.sleep(0.3)
    assert s.stop() == 0
    shape = []
    for e in read_events(out):
        if "tableChanges" in e:
            t = e["tableChanges"][0]
            shape.append((t["type"], t["schemaVersion"], [c["name"] for c in t["table"]["columns"]]))
        else:
            shape.append((e["op"], e["before"], e["after"]))
    assert shape == [
        ("CREATE", 1, ["id", "a"]),
        ("c", None, {"id": 1, "a": 10}),
        ("ALTER", 2, ["id", "a", "b"]),
        ("c", None, {"id": 2, "a": 20, "b": "y"}),
        ("ALTER", 3, ["id", "b"]),
        ("u", None, {"id": 1, "b": "z"}),
        ("ALTER", 4, ["id", "c"]),
        ("d", {"id": 2, "c": None}, None),
    ]


def test_resume_after_stop_repeats_nothing(pg):
    pg.exec("CREATE TABLE res (id int PRIMARY KEY, v int)", "ALTER TABLE res REPLICA IDENTITY FULL")
    s, out = pg.pipeline("public.res", "res")
    s.start(wait_for=PG_STREAMING)
    pg.exec("INSERT INTO res VALUES (1, 1)", "INSERT INTO res VALUES (2, 2)", "UPDATE res SET v = 3 WHERE id = 1")
    wait_events(out, 3, proc=s)
    time.sleep(0.5)
    s.proc.send_signal(signal.SIGINT)
    assert s.wait_exit(30) == 0, s.log_text()
    ck = json.loads((out.parent / "out.jsonl.checkpoint").read_text())
    token = ck["checkpoint"]["source"]
    assert re.fullmatch(r"[0-9A-F]+/[0-9A-F]+", token["lsn"]), token
    pg.exec("INSERT INTO res VALUES (3, 3)", "DELETE FROM res WHERE id = 2",
            "BEGIN", "INSERT INTO res VALUES (4, 4)", "UPDATE res SET v = 5 WHERE id = 4", "COMMIT")
    s.start(wait_for=PG_STREAMING)
    pg.exec("INSERT INTO res VALUES (5, 5)")
    wait_events(out, 8, proc=s)
    time.sleep(1)
    assert s.stop() == 0
    got = [(e["op"], (e["after"] or e["before"])["id"]) for e in changes(out)]
    assert got == [("c", 1), ("c", 2), ("u", 1), ("c", 3), ("d", 2), ("c", 4), ("u", 4), ("c", 5)]
    # each run announces the table's schema before its first row
    kinds = ["schema" if "tableChanges" in e else e["op"] for e in read_events(out)]
    assert kinds == ["schema", "c", "c", "u", "schema", "c", "d", "c", "u", "c"], kinds
    assert {k[1]: v for k, v in replay(changes(out)).items()} == \
        {r[0]: {"id": r[0], "v": r[1]} for r in pg.rows("SELECT id, v FROM res")}


def slot_flush(pg, slot):
    r = pg.rows("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = %s", (slot,))
    return lsn_int(r[0][0]) if r and r[0][0] else 0


def test_idle_captured_table_slot_still_advances(pg):
    pg.exec("CREATE TABLE idle (id int PRIMARY KEY)", "CREATE TABLE busy (id int PRIMARY KEY, v int)")
    s, out = pg.pipeline("public.idle", "idle", heartbeat="0s")
    s.start(wait_for=PG_STREAMING)
    for i in range(50):
        pg.exec(f"INSERT INTO busy VALUES ({i}, {i})")
    target = current_lsn(pg)
    assert slot_flush(pg, "sl_idle") < target
    deadline = time.time() + 8
    while slot_flush(pg, "sl_idle") < target:
        assert time.time() < deadline, (f"confirmed_flush_lsn {slot_flush(pg, 'sl_idle'):X} did not reach "
                                        f"{target:X}:\n{s.log_text()}")
        assert s.proc.poll() is None, s.log_text()
        time.sleep(0.2)
    assert s.stop() == 0
    assert changes(out) == []


def test_large_streamed_transaction(pg):
    n = 1_000_000
    pg.exec("CREATE TABLE big (id int PRIMARY KEY, v int)")
    s, out = pg.pipeline("public.big", "big", extra_source="  decoding.work-mem: 1MB",
                         extra_pipeline="  queue.max-bytes: 2MiB\n  batch.size: 256KiB")
    s.start(wait_for=PG_STREAMING)
    pg.exec(f"INSERT INTO big SELECT i, i * 2 FROM generate_series(1, {n}) i")
    pg.exec("INSERT INTO big VALUES (0, -1)")  # marker after it
    deadline = time.time() + 240
    while not any(e.get("after") and e["after"]["id"] == 0 for e in tail_events(out, 4096)):
        assert time.time() < deadline, s.log_text()[-3000:]
        assert s.proc.poll() is None, s.log_text()[-3000:]
        time.sleep(0.5)
    rss = vm_hwm_kib(s.proc.pid)
    assert s.stop() == 0
    assert re.search(r"streamed transaction \d+ committed", s.log_text()), "the server did not stream it"
    count, txids, expect = 0, set(), 1
    for e in iter_changes(out):
        if e["after"]["id"] == 0:
            break
        assert e["op"] == "c"
        assert e["after"] == {"id": expect, "v": expect * 2}
        txids.add(e["source"]["txId"])
        expect += 1
        count += 1
    assert count == n
    assert len(txids) == 1
    limit = 200 * 1024 if "asan" not in str(sluice_binary()) else 400 * 1024
    assert rss < limit, f"peak RSS {rss} KiB"


def test_streamed_rollback_and_savepoint(pg):
    pg.exec("CREATE TABLE rb (id int PRIMARY KEY, pad text)")
    s, out = pg.pipeline("public.rb", "rb", extra_source="  decoding.work-mem: 64kB")
    s.start(wait_for=PG_STREAMING)
    # a big transaction that the server streams, then rolls back
    pg.exec("BEGIN", "INSERT INTO rb SELECT i, repeat('x', 100) FROM generate_series(1, 50000) i", "ROLLBACK")
    # a streamed transaction with a rolled back savepoint in the middle
    pg.exec("BEGIN",
            "INSERT INTO rb SELECT i, 'a' FROM generate_series(1, 20000) i",
            "SAVEPOINT sp",
            "INSERT INTO rb SELECT i, 'b' FROM generate_series(20001, 40000) i",
            "UPDATE rb SET pad = 'changed' WHERE id <= 10",
            "ROLLBACK TO SAVEPOINT sp",
            "INSERT INTO rb SELECT i, 'c' FROM generate_series(40001, 40010) i",
            "UPDATE rb SET pad = 'kept' WHERE id = 1",
            "COMMIT")
    pg.exec("INSERT INTO rb VALUES (0, 'marker')")
    wait_for_key(out, 0, s, timeout=120)
    time.sleep(0.3)
    assert s.stop() == 0
    log = s.log_text()
    assert re.search(r"streamed transaction \d+ rolled back", log), log[-3000:]
    assert re.search(r"streamed transaction \d+ committed", log), log[-3000:]
    evs = changes(out)
    want = ([("c", i, "a") for i in range(1, 20001)] + [("c", i, "c") for i in range(40001, 40011)]
            + [("u", 1, "kept"), ("c", 0, "marker")])
    got = [(e["op"], e["after"]["id"], e["after"]["pad"]) for e in evs]
    assert len(got) == len(want)
    assert got == want
    assert len({e["source"]["txId"] for e in evs[:-1]}) == 1


def _write_mix(pg, start, count, seed):
    rnd = random.Random(seed)
    stmts = []
    for i in range(start, start + count):
        k = rnd.randrange(1, 200)
        op = rnd.random()
        if op < 0.5:
            stmts.append(f"INSERT INTO kv VALUES ({k}, {i}) ON CONFLICT (id) DO UPDATE SET v = {i}")
        elif op < 0.8:
            stmts.append(f"UPDATE kv SET v = v + 1 WHERE id = {k}")
        else:
            stmts.append(f"DELETE FROM kv WHERE id = {k}")
    pg.exec(*stmts)


def _assert_sink_equals_source(pg, out):
    evs = changes(out)
    state = {k[1]: v for k, v in replay(evs).items()}
    assert state == {r[0]: {"id": r[0], "v": r[1]} for r in pg.rows("SELECT id, v FROM kv")}
    keys = [(e["source"]["lsn"], e["op"]) for e in evs]
    assert len(keys) == len(set(keys)), "a change arrived twice"
    return evs


def test_server_restart_mid_stream(pg, postgres, repo_root):
    pg.exec("DROP TABLE IF EXISTS kv", "CREATE TABLE kv (id int PRIMARY KEY, v bigint)",
            "ALTER TABLE kv REPLICA IDENTITY FULL")
    s, out = pg.pipeline("public.kv", "restart")
    s.start(wait_for=PG_STREAMING)
    _write_mix(pg, 0, 300, seed=11)
    script = str(repo_root / "tests/services/postgres.sh")
    subprocess.run(["bash", script, "stop", postgres.dir], check=True, capture_output=True)
    time.sleep(1.5)
    subprocess.run(["bash", script, "start", postgres.dir], check=True, capture_output=True,
                   env=dict(os.environ, PG_PORT=str(postgres.port)))
    _write_mix(pg, 300, 300, seed=12)
    pg.exec("INSERT INTO kv VALUES (100000, 1)")
    wait_for_key(out, 100000, s, timeout=90)
    assert s.proc.poll() is None, s.log_text()
    assert "lost" in s.log_text() or "reconnect" in s.log_text(), s.log_text()
    assert s.stop() == 0
    _assert_sink_equals_source(pg, out)



def test_sigterm_while_the_server_is_down_stops_cleanly(pg, postgres, repo_root):
    """The server goes away and sluice waits for it (connect.max-retries 20):
    SIGTERM ends it at once with exit 0, not with an error after the retries,
    and a restart after the outage loses and repeats nothing."""
    pg.exec("DROP TABLE IF EXISTS kv", "CREATE TABLE kv (id int PRIMARY KEY, v bigint)",
            "ALTER TABLE kv REPLICA IDENTITY FULL")
    s, out = pg.pipeline("public.kv", "outage")
    s.config.write_text(s.config.read_text().replace("connect.max-retries: 30", "connect.max-retries: 20"))
    s.start(wait_for=PG_STREAMING)
    _write_mix(pg, 0, 300, seed=31)
    pg.exec("INSERT INTO kv VALUES (100000, 1)")
    wait_for_key(out, 100000, s, timeout=60)
    script = str(repo_root / "tests/services/postgres.sh")
    subprocess.run(["bash", script, "stop", postgres.dir], check=True, capture_output=True)
    try:
        # the source notices the loss at once, then waits up to 30 s for the
        # server (await_server) before it reports it and reconnects
        s.wait_log("lost after", timeout=60)
        time.sleep(2.5)
        committed = out.stat().st_size
        log = assert_stops_promptly(s)
        # wherever the stop finds it: waiting for the server, or reconnecting
        assert re.search(r"info  (postgres source: stopped while the server was unavailable \(postgres source: "
                         r"(WAL stream of slot sl_outage lost after |stopped while (waiting to reconnect|connecting) "
                         r"to )|stopped while recovering from: )", log), log
        assert " error " not in log.split("received SIGTERM")[1], log
        assert out.stat().st_size == committed
    finally:
        subprocess.run(["bash", script, "start", postgres.dir], check=True, capture_output=True,
                       env=dict(os.environ, PG_PORT=str(postgres.port)))
    _write_mix(pg, 300, 300, seed=32)
    pg.exec("INSERT INTO kv VALUES (100001, 1)")
    s.start(wait_for=PG_STREAMING)
    wait_for_key(out, 100001, s, timeout=90)
    assert s.stop() == 0
    _assert_sink_equals_source(pg, out)


def test_sigterm_while_connecting_to_a_silent_server(pg, postgres):
    """A host that accepts TCP but never answers: the connect would wait up
    to connect.timeout; SIGTERM cuts it short."""
    with silent_server() as port:
        s, out = pg.pipeline("public.nothing", "silent", extra_source="  connect.timeout: 60s")
        s.config.write_text(s.config.read_text().replace(f"port: {postgres.port}", f"port: {port}"))
        s.start(wait_for="pipeline")
        time.sleep(1.5)
        assert s.proc.poll() is None, s.log_text()
        log = assert_stops_promptly(s)
        assert ("postgres source: stopped while the server was unavailable (postgres source: stopped while "
                f"connecting to 127.0.0.1:{port})") in log, log


def test_kill9_loop_loses_and_repeats_nothing(pg):
    pg.exec("DROP TABLE IF EXISTS kv", "CREATE TABLE kv (id int PRIMARY KEY, v bigint)",
            "ALTER TABLE kv REPLICA IDENTITY FULL")
    s, out = pg.pipeline("public.kv", "kill9")
    s.start(wait_for=PG_STREAMING)
    total = 0
    for round_ in range(4):
        _write_mix(pg, total, 300, seed=round_)
        total += 300
        time.sleep(random.Random(round_).uniform(0.05, 0.4))
        s.kill9()
        s.start(wait_for=PG_STREAMING)
    pg.exec("INSERT INTO kv VALUES (100000, 1)")
    wait_for_key(out, 100000, s, timeout=60)
    assert s.stop() == 0
    _assert_sink_equals_source(pg, out)


def test_interleaved_streamed_transactions_in_commit_order(pg):
    pg.exec("CREATE TABLE il (id int PRIMARY KEY, who text)")
    s, out = pg.pipeline("public.il", "il", extra_source="  decoding.work-mem: 64kB")
    s.start(wait_for=PG_STREAMING)
    a, b = pg.connect(autocommit=False), pg.connect(autocommit=False)
    try:
        a.execute("INSERT INTO il SELECT i, 'a' FROM generate_series(1, 30000) i")
        b.execute("INSERT INTO il SELECT i, 'b' FROM generate_series(100001, 130000) i")
        pg.exec("INSERT INTO il VALUES (0, 'x')")
        a.execute("INSERT INTO il SELECT i, 'a' FROM generate_series(30001, 30010) i")
        b.execute("UPDATE il SET who = 'B' WHERE id = 100001")
        b.commit()
        a.execute("DELETE FROM il WHERE id = 100002")  # a row b committed
        a.commit()
    finally:
        a.close()
        b.close()
    pg.exec("INSERT INTO il VALUES (-1, 'marker')")
    wait_for_key(out, -1, s, timeout=120)
    time.sleep(0.3)
    assert s.stop() == 0
    assert len(re.findall(r"streamed transaction \d+ committed", s.log_text())) == 2, s.log_text()[-3000:]
    evs = changes(out)
    got = [(e["op"], (e["after"] or e["before"])["id"], (e["after"] or {}).get("who")) for e in evs]
    want = ([("c", 0, "x")] + [("c", i, "b") for i in range(100001, 130001)] + [("u", 100001, "B")]
            + [("c", i, "a") for i in range(1, 30011)] + [("d", 100002, None)] + [("c", -1, "marker")])
    assert len(got) == len(want)
    assert got == want
    tx = [e["source"]["txId"] for e in evs]
    assert len(set(tx[1:30002])) == 1 and len(set(tx[30002:60013])) == 1 and tx[1] != tx[30002]
    lsns = [e["source"]["lsn"] for e in evs[30002:60013]]
    assert lsns == sorted(lsns)


def test_kill9_in_the_middle_of_a_streamed_transaction(pg):
    pg.exec("CREATE TABLE ks (id int PRIMARY KEY, pad text)")
    s, out = pg.pipeline("public.ks", "ks", extra_source="  decoding.work-mem: 64kB")
    s.start(wait_for=PG_STREAMING)
    pg.exec("INSERT INTO ks VALUES (-2, 'before')")
    wait_events(out, 1, proc=s)
    time.sleep(0.5)  # a checkpoint after it
    conn = pg.connect(autocommit=False)
    try:
        conn.execute("INSERT INTO ks SELECT i, 'p' FROM generate_series(1, 60000) i")
        time.sleep(1.5)  # the server streams it to sluice meanwhile
        s.kill9()
        conn.execute("INSERT INTO ks SELECT i, 'q' FROM generate_series(60001, 60100) i")
        s.start(wait_for=PG_STREAMING)
        conn.execute("INSERT INTO ks SELECT i, 'r' FROM generate_series(60101, 60200) i")
        conn.commit()
    finally:
        conn.close()
    pg.exec("INSERT INTO ks VALUES (-1, 'marker')")
    wait_for_key(out, -1, s, timeout=120)
    time.sleep(0.3)
    assert s.stop() == 0
    evs = changes(out)
    ids = [e["after"]["id"] for e in evs]
    assert ids == [-2] + list(range(1, 60201)) + [-1]
    assert len({e["source"]["txId"] for e in evs[1:-1]}) == 1


def test_replica_identity_using_index_and_truncate_of_two_tables(pg):
    pg.exec("CREATE TABLE ui (id int PRIMARY KEY, code text NOT NULL, v int)",
            "CREATE UNIQUE INDEX ui_code ON ui (code)",
            "ALTER TABLE ui REPLICA IDENTITY USING INDEX ui_code",
            "CREATE TABLE tr2 (id int PRIMARY KEY)")
    s, out = pg.pipeline("public.ui, public.tr2", "ui")
    s.start(wait_for=PG_STREAMING)
    pg.exec("INSERT INTO ui VALUES (1, 'one', 1)", "INSERT INTO tr2 VALUES (1)",
            "UPDATE ui SET v = 2 WHERE id = 1",
            "UPDATE ui SET code = 'uno' WHERE id = 1",
            "DELETE FROM ui WHERE id = 1",
            "TRUNCATE ui, tr2")
    wait_events(out, 7, proc=s)
    time.sleep(0.3)
    assert s.stop() == 0
    evs = changes(out)
    got = [(e["op"], e["source"]["table"], e["before"], e["after"]) for e in evs]
    assert got == [
        ("c", "ui", None, {"id": 1, "code": "one", "v": 1}),
        ("c", "tr2", None, {"id": 1}),
        ("u", "ui", None, {"id": 1, "code": "one", "v": 2}),
        ("u", "ui", {"id": None, "code": "one", "v": None}, {"id": 1, "code": "uno", "v": 2}),
        ("d", "ui", {"id": None, "code": "uno", "v": None}, None),
        ("t", "ui", None, None),
        ("t", "tr2", None, None),
    ]
    assert evs[-1]["source"]["txId"] == evs[-2]["source"]["txId"]


def test_alter_column_type_mid_stream(pg):
    pg.exec("CREATE TABLE act (id int PRIMARY KEY, n int, s varchar(5))")
    s, out = pg.pipeline("public.act", "act")
    s.start(wait_for=PG_STREAMING)
    pg.exec("INSERT INTO act VALUES (1, 7, 'abc')",
            "ALTER TABLE act ALTER COLUMN n TYPE numeric(6,2), ALTER COLUMN s TYPE text",
            "INSERT INTO act VALUES (2, 8.5, 'longer text')",
            "ALTER TABLE act ALTER COLUMN n TYPE bigint",
            "UPDATE act SET s = 'z' WHERE id = 2")
    wait_events(out, 3, proc=s)
    time.sleep(0.3)
    assert s.stop() == 0
    shape = []
    for e in read_events(out):
        if "tableChanges" in e:
            t = e["tableChanges"][0]
            shape.append((t["type"], t["schemaVersion"], [c["typeName"] for c in t["table"]["columns"]]))
        else:
            shape.append((e["op"], e["after"]))
    assert shape == [
        ("CREATE", 1, ["integer", "integer", "character varying(5)"]),
        ("c", {"id": 1, "n": 7, "s": "abc"}),
        ("ALTER", 2, ["integer", "numeric(6,2)", "text"]),
        ("c", {"id": 2, "n": "8.50", "s": "longer text"}),
        ("ALTER", 3, ["integer", "bigint", "text"]),
        ("u", {"id": 2, "n": 9, "s": "z"}),
    ]


def test_quoted_identifiers_generated_and_dropped_columns(pg):
    pg.exec('CREATE SCHEMA IF NOT EXISTS "Sales"',
            'CREATE TABLE "Sales"."OrderItems" ("Id" int PRIMARY KEY, "Qty Ordered" int, gone text, '
            '"Twice" int GENERATED ALWAYS AS ("Qty Ordered" * 2) STORED, note text)',
            'ALTER TABLE "Sales"."OrderItems" DROP COLUMN gone',
            'INSERT INTO "Sales"."OrderItems" ("Id", "Qty Ordered", note) VALUES (1, 5, \'snap\')')
    s, out = pg.pipeline("Sales.OrderItems", "quoted", startup="initial")
    s.start(wait_for=PG_STREAMING)
    wait_events(out, 1, proc=s)
    pg.exec('INSERT INTO "Sales"."OrderItems" ("Id", "Qty Ordered", note) VALUES (2, 7, \'wal\')',
            'UPDATE "Sales"."OrderItems" SET "Qty Ordered" = 6 WHERE "Id" = 1')
    wait_events(out, 3, proc=s)
    time.sleep(0.3)
    assert s.stop() == 0
    evs = changes(out)
    assert [(e["op"], e["source"]["schema"], e["source"]["table"]) for e in evs] == [
        ("r", "Sales", "OrderItems"), ("c", "Sales", "OrderItems"), ("u", "Sales", "OrderItems")]
    # the same columns in the snapshot and in the stream (PostgreSQL 15's
    # pgoutput leaves generated columns out, so the snapshot must too, or
    # the stream must add them: either way both agree)
    assert set(evs[0]["after"]) == set(evs[1]["after"]) == set(evs[2]["after"]), [e["after"] for e in evs]
    assert {k: v for k, v in evs[0]["after"].items() if k != "Twice"} == {"Id": 1, "Qty Ordered": 5, "note": "snap"}
    assert {k: v for k, v in evs[1]["after"].items() if k != "Twice"} == {"Id": 2, "Qty Ordered": 7, "note": "wal"}
    assert "gone" not in evs[0]["after"]
    schemas = [e for e in read_events(out) if "tableChanges" in e]
    assert schemas[0]["tableChanges"][0]["id"] == "Sales.OrderItems"
    # no second schema record: the stream's shape equals the snapshot's
    assert len(schemas) == 1, [s["tableChanges"][0]["table"]["columns"] for s in schemas]


def test_heartbeat_moves_an_idle_slot(pg):
    pg.exec("CREATE TABLE hb (id int PRIMARY KEY)")
    s, out = pg.pipeline("public.hb", "hb", heartbeat="500ms")
    s.start(wait_for=PG_STREAMING)
    time.sleep(1.5)
    first = slot_flush(pg, "sl_hb")
    deadline = time.time() + 8
    while slot_flush(pg, "sl_hb") <= first:
        assert time.time() < deadline, f"confirmed_flush_lsn stayed at {first:X}:\n{s.log_text()}"
        time.sleep(0.2)
    assert s.stop() == 0
    assert changes(out) == []


def test_large_transaction_without_streaming(pg):
    n = 150_000
    pg.exec("CREATE TABLE bigns (id int PRIMARY KEY, v int)")
    s, out = pg.pipeline("public.bigns", "bigns", extra_source="  decoding.streaming: false\n"
                                                              "  decoding.work-mem: 1MB",
                         extra_pipeline="  queue.max-bytes: 2MiB\n  batch.size: 256KiB")
    s.start(wait_for=PG_STREAMING)
    pg.exec(f"INSERT INTO bigns SELECT i, i FROM generate_series(1, {n}) i", "INSERT INTO bigns VALUES (0, 0)")
    deadline = time.time() + 120
    while not any(e.get("after") and e["after"]["id"] == 0 for e in tail_events(out, 4096)):
        assert time.time() < deadline and s.proc.poll() is None, s.log_text()[-3000:]
        time.sleep(0.3)
    rss = vm_hwm_kib(s.proc.pid)
    assert s.stop() == 0
    assert not re.search(r"streamed transaction \d+ committed", s.log_text())
    ids = [e["after"]["id"] for e in iter_changes(out)]
    assert ids == list(range(1, n + 1)) + [0]
    limit = 200 * 1024 if "asan" not in str(sluice_binary()) else 400 * 1024
    assert rss < limit, f"peak RSS {rss} KiB"


def test_table_created_later_is_captured_after_a_restart(pg):
    pg.exec("CREATE TABLE late_a (id int PRIMARY KEY)")
    s, out = pg.pipeline(r"public.late_\.*", "late")
    s.start(wait_for=PG_STREAMING)
    pg.exec("INSERT INTO late_a VALUES (1)")
    wait_events(out, 1, proc=s)
    time.sleep(0.3)
    assert s.stop() == 0
    pg.exec("CREATE TABLE late_b (id int PRIMARY KEY)")
    s.start(wait_for=PG_STREAMING)
    pg.exec("INSERT INTO late_b VALUES (2)", "INSERT INTO late_a VALUES (3)")
    wait_events(out, 3, proc=s)
    time.sleep(0.3)
    assert s.stop() == 0
    assert [(e["source"]["table"], e["after"]["id"]) for e in changes(out)] == [
        ("late_a", 1), ("late_b", 2), ("late_a", 3)]
    assert sorted(r[0] for r in pg.rows("SELECT tablename FROM pg_publication_tables WHERE pubname = 'pub_late'")) \
        == ["late_a", "late_b"]


@pytest.mark.parametrize("streamed", [False, True])
def test_ddl_inside_a_transaction(pg, streamed):
    t = f"ddltx_{int(streamed)}"
    pg.exec(f"CREATE TABLE {t} (id int PRIMARY KEY, a int)")
    extra = "  decoding.work-mem: 64kB" if streamed else ""
    s, out = pg.pipeline(f"public.{t}", t, extra_source=extra)
    s.start(wait_for=PG_STREAMING)
    n = 20000 if streamed else 2
    pg.exec("BEGIN",
            f"INSERT INTO {t} SELECT i, i FROM generate_series(1, {n}) i",
            f"ALTER TABLE {t} ADD COLUMN b text DEFAULT 'd'",
            f"INSERT INTO {t} SELECT i, i, 'x' FROM generate_series({n + 1}, {2 * n}) i",
            f"ALTER TABLE {t} DROP COLUMN a",
            f"UPDATE {t} SET b = 'y' WHERE id = 1",
            "COMMIT")
    pg.exec(f"INSERT INTO {t} VALUES (-1, 'marker')")
    wait_for_key(out, -1, s, timeout=120)
    time.sleep(0.3)
    assert s.stop() == 0
    if streamed:
        assert re.search(r"streamed transaction \d+ committed", s.log_text())
    shape = []
    for e in read_events(out):
        if "tableChanges" in e:
            tc = e["tableChanges"][0]
            shape.append(("schema", tc["schemaVersion"], tuple(c["name"] for c in tc["table"]["columns"])))
        elif not shape or shape[-1][0] != e["op"] or shape[-1][1] != tuple(e["after"]):
            shape.append((e["op"], tuple(e["after"]), 1))
        else:
            shape[-1] = (shape[-1][0], shape[-1][1], shape[-1][2] + 1)
    assert shape == [
        ("schema", 1, ("id", "a")),
        ("c", ("id", "a"), n),
        ("schema", 2, ("id", "a", "b")),
        ("c", ("id", "a", "b"), n),
        ("schema", 3, ("id", "b")),
        ("u", ("id", "b"), 1),
        ("c", ("id", "b"), 1),
    ]
    evs = changes(out)
    assert evs[-2]["after"] == {"id": 1, "b": "y"}
    assert len({e["source"]["txId"] for e in evs[:-1]}) == 1


def test_existing_publication_for_all_tables(pg):
    pg.exec("CREATE TABLE pall_a (id int PRIMARY KEY)", "CREATE TABLE pall_b (id int PRIMARY KEY)",
            "CREATE PUBLICATION pub_pall FOR ALL TABLES")
    s, out = pg.pipeline("public.pall_a", "pall")
    s.start(wait_for=PG_STREAMING)
    pg.exec("INSERT INTO pall_b VALUES (1)", "INSERT INTO pall_a VALUES (2)", "INSERT INTO pall_b VALUES (3)",
            "INSERT INTO pall_a VALUES (4)")
    wait_events(out, 2, proc=s)
    time.sleep(0.5)
    assert s.stop() == 0
    assert [(e["source"]["table"], e["after"]["id"]) for e in changes(out)] == [("pall_a", 2), ("pall_a", 4)]


def test_slot_confirmed_only_up_to_committed_checkpoint(pg):
    pg.exec("CREATE TABLE ck (id int PRIMARY KEY)")
    s, out = pg.pipeline("public.ck", "ckslot", checkpoint_interval="10min", heartbeat="0s")
    s.start(wait_for=PG_STREAMING)
    time.sleep(1.5)
    before = current_lsn(pg)
    pg.exec("INSERT INTO ck SELECT generate_series(1, 100)")
    time.sleep(3)  # sluice reads them (no checkpoint commits them); several status intervals pass
    assert slot_flush(pg, "sl_ckslot") <= before, "the slot was confirmed past changes no checkpoint holds"
    s.kill9()
    # no checkpoint was committed: resume from what the slot confirmed, which must still hold the rows
    s.config.write_text(s.config.read_text().replace("checkpoint.interval: 10min", "checkpoint.interval: 200ms")
                        .replace("scan.startup.mode: latest-offset", "scan.startup.mode: committed-offset"))
    s.start(wait_for=PG_STREAMING)
    pg.exec("INSERT INTO ck VALUES (0)")
    deadline = time.time() + 30
    while len(changes(out)) < 101:
        assert time.time() < deadline and s.proc.poll() is None, s.log_text()
        time.sleep(0.1)
    s.proc.send_signal(signal.SIGINT)
    assert s.wait_exit(30) == 0
    ids = [e["after"]["id"] for e in changes(out)]
    assert sorted(ids) == list(range(0, 101)) and len(ids) == 101


def test_composite_key_in_index_order(pg):
    pg.exec("CREATE TABLE cpk (a int, b text, v int NOT NULL, PRIMARY KEY (b, a))")
    s, out = pg.pipeline("public.cpk", "cpk")
    s.start(wait_for=PG_STREAMING)
    pg.exec("INSERT INTO cpk VALUES (1, 'x', 10)", "UPDATE cpk SET a = 2 WHERE a = 1", "DELETE FROM cpk")
    wait_events(out, 3, proc=s)
    time.sleep(0.3)
    assert s.stop() == 0
    schema = next(e for e in read_events(out) if "tableChanges" in e)["tableChanges"][0]["table"]
    assert schema["primaryKeyColumnNames"] == ["b", "a"]
    assert [(c["name"], c["optional"]) for c in schema["columns"]] == [("a", False), ("b", False), ("v", False)]
    assert [(e["op"], e["before"], e["after"]) for e in changes(out)] == [
        ("c", None, {"a": 1, "b": "x", "v": 10}),
        ("u", {"a": 1, "b": "x", "v": None}, {"a": 2, "b": "x", "v": 10}),
        ("d", {"a": 2, "b": "x", "v": None}, None),
    ]


def test_unchanged_toast_of_every_kind(pg):
    """Unchanged TOASTed values of non-text types (REPLICA IDENTITY DEFAULT)
    also become the placeholder string, in the stream and in a streamed
    transaction."""
    pg.exec("CREATE TABLE tk (id int PRIMARY KEY, n int, j jsonb, b bytea, a text[], x varchar(20000))")
    s, out = pg.pipeline("public.tk", "tk", extra_source="  decoding.work-mem: 64kB")
    s.start(wait_for=PG_STREAMING)
    big = toast_value(pg, "tk")
    pg.exec(f"INSERT INTO tk VALUES (1, 0, jsonb_build_object('k', '{big}'), convert_to('{big}', 'UTF8'), "
            f"ARRAY['{big}', 'y'], '{big}')",
            "UPDATE tk SET n = 1 WHERE id = 1",
            # a streamed transaction: many small rows, then the same update
            "BEGIN", "INSERT INTO tk (id, n) SELECT i, i FROM generate_series(2, 20000) i",
            "UPDATE tk SET n = 2 WHERE id = 1", "COMMIT")
    pg.exec("INSERT INTO tk (id, n) VALUES (-1, -1)")
    wait_for_key(out, -1, s, timeout=120)
    time.sleep(0.3)
    assert s.stop() == 0
    assert re.search(r"streamed transaction \d+ committed", s.log_text())
    ups = [e for e in changes(out) if e["op"] == "u"]
    assert len(ups) == 2
    for u in ups:
        assert {k: u["after"][k] for k in ("j", "b", "a", "x")} == \
            {"j": UNAVAILABLE, "b": UNAVAILABLE, "a": UNAVAILABLE, "x": UNAVAILABLE}, u["after"]


def test_nested_savepoints_in_a_streamed_transaction(pg):
    pg.exec("CREATE TABLE nsp (id int PRIMARY KEY, tag text)")
    s, out = pg.pipeline("public.nsp", "nsp", extra_source="  decoding.work-mem: 64kB")
    s.start(wait_for=PG_STREAMING)
    ins = "INSERT INTO nsp SELECT i, '{tag}' FROM generate_series({lo}, {hi}) i"
    pg.exec("BEGIN",
            ins.format(tag="top", lo=1, hi=5000),
            "SAVEPOINT a",
            ins.format(tag="a", lo=5001, hi=10000),
            "SAVEPOINT b",
            ins.format(tag="b", lo=10001, hi=15000),
            "RELEASE SAVEPOINT b",            # b folds into a ...
            "SAVEPOINT c",
            ins.format(tag="c", lo=15001, hi=20000),
            "ROLLBACK TO SAVEPOINT a",        # ... and a (with b and c) is rolled back
            "SAVEPOINT d",
            ins.format(tag="d", lo=20001, hi=25000),
            "RELEASE SAVEPOINT d",
            "SAVEPOINT e",
            ins.format(tag="e", lo=25001, hi=30000),
            "ROLLBACK TO SAVEPOINT e",
            ins.format(tag="top2", lo=30001, hi=30010),
            "COMMIT")
    pg.exec("INSERT INTO nsp VALUES (0, 'marker')")
    wait_for_key(out, 0, s, timeout=120)
    time.sleep(0.3)
    assert s.stop() == 0
    assert re.search(r"streamed transaction \d+ committed", s.log_text())
    got = [(e["after"]["id"], e["after"]["tag"]) for e in changes(out)]
    want = ([(i, "top") for i in range(1, 5001)] + [(i, "d") for i in range(20001, 25001)]
            + [(i, "top2") for i in range(30001, 30011)] + [(0, "marker")])
    assert len(got) == len(want)
    assert got == want
    assert sorted(got[:-1]) == sorted(tuple(r) for r in pg.rows("SELECT id, tag FROM nsp WHERE id > 0"))


def test_walsender_terminated_in_the_middle_of_a_streamed_transaction(pg):
    """A lost replication connection while a streamed transaction is half
    received: the server streams it again from its start after the
    reconnect; every row arrives once."""
    pg.exec("CREATE TABLE wt (id int PRIMARY KEY, pad text)")
    s, out = pg.pipeline("public.wt", "wt", extra_source="  decoding.work-mem: 64kB")
    s.start(wait_for=PG_STREAMING)
    conn = pg.connect(autocommit=False)
    try:
        conn.execute("INSERT INTO wt SELECT i, 'p' FROM generate_series(1, 40000) i")
        time.sleep(1.0)  # streamed to sluice meanwhile
        killed = pg.rows("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
                         "WHERE slot_name = 'sl_wt' AND active_pid IS NOT NULL")
        assert killed == [(True,)]
        conn.execute("INSERT INTO wt SELECT i, 'q' FROM generate_series(40001, 40100) i")
        conn.commit()
    finally:
        conn.close()
    pg.exec("INSERT INTO wt VALUES (-1, 'marker')")
    wait_for_key(out, -1, s, timeout=120)
    time.sleep(0.3)
    assert s.proc.poll() is None
    assert s.stop() == 0
    assert "lost" in s.log_text(), s.log_text()[-2000:]
    ids = [e["after"]["id"] for e in changes(out)]
    assert ids == list(range(1, 40101)) + [-1]


def test_column_names_needing_json_escapes(pg):
    pg.exec('CREATE TABLE "we""ird" ("i""d" int PRIMARY KEY, "back\\slash" text, "tab\tcol" int, "ünï" text)')
    s, out = pg.pipeline('public.we"ird', "weird", startup="initial")
    pg.exec('INSERT INTO "we""ird" VALUES (1, \'a\', 2, \'b\')')
    s.start(wait_for=PG_STREAMING)
    wait_events(out, 1, proc=s)
    pg.exec('UPDATE "we""ird" SET "ünï" = \'c\'')
    wait_events(out, 2, proc=s)
    time.sleep(0.3)
    assert s.stop() == 0
    lines = read_events(out)  # every line is valid JSON
    evs = [e for e in lines if "op" in e]
    assert [(e["op"], e["source"]["table"], e["after"]) for e in evs] == [
        ("r", 'we"ird', {'i"d': 1, "back\\slash": "a", "tab\tcol": 2, "ünï": "b"}),
        ("u", 'we"ird', {'i"d': 1, "back\\slash": "a", "tab\tcol": 2, "ünï": "c"}),
    ]
    schema = next(e for e in lines if "tableChanges" in e)["tableChanges"][0]
    assert schema["table"]["primaryKeyColumnNames"] == ['i"d']


def test_fresh_start_waits_for_a_slot_still_being_created(pg):
    """A run killed inside CREATE_REPLICATION_SLOT leaves a slot without
    confirmed_flush_lsn until its walsender exits (the server then drops it).
    The next fresh start must not read 0/0 from it and start at a slot about
    to vanish (seen under TSan in the ClickHouse kill loop: `START_REPLICATION
    of slot ... at 0/0: ... does not exist`); it waits, then makes its own."""
    pg.exec("CREATE TABLE half (id int PRIMARY KEY, v int)", "ALTER TABLE half REPLICA IDENTITY FULL",
            "INSERT INTO half SELECT i, i FROM generate_series(1, 50) i")
    holder = pg.connect(autocommit=False)   # an open transaction with an xid:
    holder.execute("SELECT txid_current()")  # slot creation waits for it
    svc = pg.svc
    creator = subprocess.Popen(
        ["psql", f"host={svc.host} port={svc.port} user={svc.user} dbname={pg.db} replication=database",
         "-c", 'CREATE_REPLICATION_SLOT "sl_half" LOGICAL pgoutput NOEXPORT_SNAPSHOT'],
        env={**os.environ, "PGPASSWORD": svc.password}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 20
        while not pg.rows("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'sl_half' "
                          "AND confirmed_flush_lsn IS NULL"):
            assert time.time() < deadline and creator.poll() is None, "the slot never showed up half-made"
            time.sleep(0.05)
        s, out = pg.pipeline("public.half", "half", startup="initial")
        s.start(wait_for="replication slot sl_half is still being created", timeout=30)
        time.sleep(0.5)
        assert s.proc.poll() is None, s.log_text()
        # the creator dies, as a killed run's walsender does: the half-made slot goes
        pg.exec("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = 'sl_half'")
        creator.wait(10)
    finally:
        holder.rollback()
        holder.close()
        if creator.poll() is None:
            creator.kill()
    s.wait_log(PG_STREAMING, timeout=60)
    pg.exec("INSERT INTO half VALUES (51, 51)", "UPDATE half SET v = 0 WHERE id = 1")
    wait_events(out, 52, proc=s)
    time.sleep(0.5)
    assert s.stop() == 0, s.log_text()
    assert "created replication slot sl_half at 0/0" not in s.log_text()
    got = [(e["op"], (e["after"] or e["before"])["id"]) for e in changes(out)]
    assert sorted(got[:50]) == [("r", i) for i in range(1, 51)] and got[50:] == [("c", 51), ("u", 1)], got
    assert {k[1]: v for k, v in replay(changes(out)).items()} == \
        {r[0]: {"id": r[0], "v": r[1]} for r in pg.rows("SELECT id, v FROM half")}
