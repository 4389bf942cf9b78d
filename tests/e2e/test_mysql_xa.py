"""XA transactions through the binlog source (sources/mysql/xa_hold.c). A
prepared XA transaction is in the binlog at XA PREPARE, its outcome comes
later as a group of its own: its rows are delivered at XA COMMIT, in the
commit's place in the change order and with the commit's GTID, and never
after XA ROLLBACK. A restart between PREPARE and COMMIT reads the prepared
group again (the checkpoint names where it starts) and delivers it once."""

from __future__ import annotations

import time

import pytest

from sluice_run import (Sluice, changes, mysql_connect, mysql_exec, mysql_pipeline_yaml, mysql_rows, read_events,
                        replay, wait_for_key)

DB = "xa_src"


def source_state(mariadb):
    return {((DB, "t"), r[0]): {"id": r[0], "v": r[1]} for r in mysql_rows(mariadb, f"SELECT id, v FROM {DB}.t")}


def fresh(mariadb):
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {DB}", f"CREATE DATABASE {DB}",
               f"CREATE TABLE {DB}.t (id INT PRIMARY KEY, v INT NOT NULL)",
               f"INSERT INTO {DB}.t VALUES (50, 0), (51, 0), (52, 0)")


def xa(cur, xid, *statements, prepare=True):
    cur.execute(f"XA START '{xid}'")
    for q in statements:
        cur.execute(q)
    cur.execute(f"XA END '{xid}'")
    if prepare:
        cur.execute(f"XA PREPARE '{xid}'")


def test_prepared_rows_arrive_at_commit_and_never_after_rollback(mariadb, tmp_path):
    fresh(mariadb)
    out = tmp_path / "out.jsonl"
    s = Sluice(tmp_path, mysql_pipeline_yaml(mariadb, f"{DB}.t", out, server_id=5461),
               env={"TEST_MYSQL_PASSWORD": mariadb.password})
    s.start()
    c = mysql_connect(mariadb)
    cur = c.cursor()
    # prepared, then rolled back: nothing of it may arrive
    xa(cur, "gone", f"INSERT INTO {DB}.t VALUES (1, 1)", f"DELETE FROM {DB}.t WHERE id = 50")
    cur.execute("XA ROLLBACK 'gone'")
    # prepared; other transactions commit while it waits; then committed
    xa(cur, "late", f"INSERT INTO {DB}.t VALUES (2, 2)", f"UPDATE {DB}.t SET v = 7 WHERE id = 51",
       f"DELETE FROM {DB}.t WHERE id = 52")
    other = mysql_connect(mariadb)
    other.cursor().execute(f"INSERT INTO {DB}.t VALUES (10, 10)")
    cur.execute("XA COMMIT 'late'")
    # one phase: an ordinary transaction
    xa(cur, "quick", f"INSERT INTO {DB}.t VALUES (3, 3)", prepare=False)
    cur.execute("XA COMMIT 'quick' ONE PHASE")
    # a binary xid with a branch qualifier and a format id
    cur.execute("XA START X'0a0b', X'ff', 42")
    cur.execute(f"INSERT INTO {DB}.t VALUES (4, 4)")
    cur.execute("XA END X'0a0b', X'ff', 42")
    cur.execute("XA PREPARE X'0a0b', X'ff', 42")
    cur.execute("XA COMMIT X'0a0b', X'ff', 42")
    other.cursor().execute(f"INSERT INTO {DB}.t VALUES (99, 99)")
    wait_for_key(out, 99, s)
    assert s.stop() == 0
    evs = read_events(out)
    got = [(e["op"], (e["after"] or e["before"])["id"]) for e in changes(out)]
    assert got == [("c", 10), ("c", 2), ("u", 51), ("d", 52), ("c", 3), ("c", 4), ("c", 99)], got
    # the committed XA transaction's rows carry its XA COMMIT's GTID, one
    # for all three, after the transaction that committed before it
    late = [e for e in evs if e.get("op") and (e["after"] or e["before"])["id"] in (2, 51, 52)]
    assert len({e["source"]["gtid"] for e in late}) == 1
    ten = next(e for e in evs if e.get("op") and (e["after"] or {}).get("id") == 10)
    assert ten["source"]["gtid"] != late[0]["source"]["gtid"]
    assert replay(changes(out)) == {k: v for k, v in source_state(mariadb).items() if k[1] not in (50,)}
    c.close()
    other.close()


@pytest.mark.parametrize("stop", ["sigterm", "kill9"])
def test_restart_between_prepare_and_commit_delivers_once(mariadb, tmp_path, stop):
    fresh(mariadb)
    out = tmp_path / "out.jsonl"
    y = mysql_pipeline_yaml(mariadb, f"{DB}.t", out, server_id=5462)
    s = Sluice(tmp_path, y, env={"TEST_MYSQL_PASSWORD": mariadb.password})
    s.start()
    c = mysql_connect(mariadb)
    cur = c.cursor()
    xa(cur, "waits", f"INSERT INTO {DB}.t VALUES (1, 1)", f"UPDATE {DB}.t SET v = 5 WHERE id = 50")
    c2 = mysql_connect(mariadb)
    cur2 = c2.cursor()
    xa(cur2, "dropped", f"INSERT INTO {DB}.t VALUES (2, 2)")
    # checkpoints after both PREPAREs
    mysql_exec(mariadb, f"INSERT INTO {DB}.t VALUES (10, 10)")
    wait_for_key(out, 10, s)
    if stop == "kill9":
        time.sleep(0.5)  # a checkpoint past both PREPAREs (interval 100 ms)
        s.kill9()
    else:
        assert s.stop() == 0
    # the outcomes come while sluice is away, one between two others
    mysql_exec(mariadb, f"INSERT INTO {DB}.t VALUES (11, 11)")
    cur.execute("XA COMMIT 'waits'")
    cur2.execute("XA ROLLBACK 'dropped'")
    mysql_exec(mariadb, f"INSERT INTO {DB}.t VALUES (12, 12)")
    s.start()
    wait_for_key(out, 12, s)
    assert s.stop() == 0
    log = s.log_text()
    assert "for prepared XA transactions" in log, log[-3000:]
    got = [(e["op"], (e["after"] or e["before"])["id"]) for e in changes(out)]
    assert got == [("c", 10), ("c", 11), ("c", 1), ("u", 50), ("c", 12)], got
    untouched = (51, 52)  # rows from before the start (latest-offset), never changed
    want = {k: v for k, v in source_state(mariadb).items() if k[1] not in untouched}
    assert replay(changes(out)) == want
    # a third run, nothing waits any more: it reads from the checkpoint
    mysql_exec(mariadb, f"INSERT INTO {DB}.t VALUES (13, 13)")
    s.start()
    wait_for_key(out, 13, s)
    assert s.stop() == 0
    assert "for prepared XA transactions" not in s.log_text()
    want = {k: v for k, v in source_state(mariadb).items() if k[1] not in untouched}
    assert replay(changes(out)) == want
    c.close()
    c2.close()


@pytest.mark.parametrize("algorithm", ["snapshot-position", "watermark"])
def test_xa_transactions_during_the_snapshot(mariadb, tmp_path, algorithm):
    """prepared transactions committed or rolled back while the chunks are
    read: the rows a chunk saw and the rows an XA COMMIT delivers later
    meet in the snapshot merge like any transaction's; the sink ends equal
    to the source, key by key"""
    import random
    import threading

    from test_mysql_snapshot import fill, pipeline, sink_state
    from test_mysql_snapshot import source_state as snap_source_state

    db = f"xa_snap_{algorithm.replace('-', '_')}"
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}")
    n = 20000
    fill(mariadb, db, n)
    s, out = pipeline(mariadb, tmp_path, db, chunk=200, algorithm=algorithm)
    stop = threading.Event()
    errors = []
    counts = {"commit": 0, "rollback": 0}

    def xa_writer(seed):
        rnd = random.Random(seed)
        c = mysql_connect(mariadb)
        cur = c.cursor()
        try:
            i = 0
            while not stop.is_set():
                i += 1
                xid = f"w{seed}-{i}"
                ids = rnd.sample(range(1, n + 1), 3)
                xa(cur, xid, f"UPDATE {db}.t SET v = v + 1, pad = '{xid}' WHERE id = {ids[0]}",
                   f"DELETE FROM {db}.t WHERE id = {ids[1]}",
                   f"INSERT INTO {db}.t VALUES ({n + seed * 100000 + i}, {i}, '{xid}')",
                   f"UPDATE {db}.t SET v = -v WHERE id = {ids[2]}")
                time.sleep(rnd.uniform(0, 0.02))
                outcome = "commit" if rnd.random() < 0.6 else "rollback"
                cur.execute(f"XA {outcome.upper()} '{xid}'")
                counts[outcome] += 1
        except Exception as e:  # noqa: BLE001 - reported by the test
            errors.append(e)
        finally:
            c.close()

    writers = [threading.Thread(target=xa_writer, args=(k,)) for k in (1, 2)]
    for w in writers:
        w.start()
    try:
        s.start()
        s.wait_log(f"snapshot of {db}.t done", timeout=120)
    finally:
        stop.set()
        for w in writers:
            w.join()
    assert not errors, errors
    assert counts["commit"] >= 5 and counts["rollback"] >= 3, counts
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (999999999, 0, 'marker')")
    wait_for_key(out, 999999999, s)
    assert s.stop() == 0
    got, want = sink_state(out), snap_source_state(mariadb, db)
    assert got == want, (len(got), len(want), [k for k in want if got.get(k) != want[k]][:5],
                         [k for k in got if k not in want][:5])
