"""postgres source -> kafka sink against a real broker: the records a
read_committed consumer sees, and a kill -9 crash loop during the snapshot
and the stream under concurrent writes with every change exactly once."""

from __future__ import annotations

import random
import re
import time

from kafka_read import change_events, read_topic

from test_pg_snapshot import Writer, fill, source_state


def kafka_sink(kafka):
    return f"""  type: kafka
  properties.bootstrap.servers: {kafka.bootstrap}
  connect.timeout: 20s"""


def wait_marker(kafka, topic, key, proc, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for e in change_events(read_topic(kafka.bootstrap, topic)):
            if e["after"] and e["after"]["id"] == key:
                return
        if proc.proc.poll() is not None:
            raise AssertionError(f"sluice exited ({proc.proc.returncode}):\n{proc.log_text()[-4000:]}")
        time.sleep(0.3)
    raise AssertionError(f"marker {key} not visible in {topic}:\n{proc.log_text()[-4000:]}")


def test_change_sequence_and_checkpoint_topic(pg, kafka):
    name = f"pgk_seq_{random.randrange(1 << 30)}"
    pg.exec("DROP TABLE IF EXISTS a", "CREATE TABLE a (id int PRIMARY KEY, name text, price numeric(10,2))",
            "ALTER TABLE a REPLICA IDENTITY FULL",
            "INSERT INTO a VALUES (1, 'one', 1.5), (2, 'two', 2.5)")
    s, _ = pg.pipeline("public.a", name, startup="initial", sink=kafka_sink(kafka))
    s.start(wait_for="kafka sink: connected", timeout=60)
    s.wait_log("postgres source: streaming slot", 60)
    pg.exec("INSERT INTO a VALUES (3, 'three', 3)",
            "UPDATE a SET price = 9.99 WHERE id = 1",
            "DELETE FROM a WHERE id = 2",
            "UPDATE a SET id = 30 WHERE id = 3",
            "INSERT INTO a VALUES (999, 'marker', 0)")
    topic = f"{name}.public.a"
    wait_marker(kafka, topic, 999, s)
    assert s.stop() == 0
    recs = read_topic(kafka.bootstrap, topic)
    assert [(k, v["op"] if v else None) for (_, _, k, v) in recs] == [
        ({"id": 1}, "r"), ({"id": 2}, "r"),
        ({"id": 3}, "c"), ({"id": 1}, "u"),
        ({"id": 2}, "d"), ({"id": 2}, None),
        ({"id": 3}, "d"), ({"id": 3}, None), ({"id": 30}, "c"),
        ({"id": 999}, "c")]
    ev = change_events(recs)
    assert ev[0]["after"] == {"id": 1, "name": "one", "price": "1.50"}
    assert ev[3]["before"] == {"id": 1, "name": "one", "price": "1.50"}
    assert ev[3]["after"] == {"id": 1, "name": "one", "price": "9.99"}
    assert all(e["source"]["connector"] == "postgresql" and e["source"]["db"] == pg.db for e in ev)
    ck = [v for (_, _, k, v) in read_topic(kafka.bootstrap, "_sluice_checkpoints") if k == name]
    assert ck and ck[-1]["pipeline"] == name and "/" in ck[-1]["source"]["lsn"], ck[-1:]
    # a restart sends nothing again; a TRUNCATE is a record of its own (Debezium: null key)
    s.start(wait_for="postgres source: streaming slot", timeout=60)
    pg.exec("TRUNCATE a", "INSERT INTO a VALUES (1000, 'after', 0)")
    wait_marker(kafka, topic, 1000, s)
    assert s.stop() == 0
    again = read_topic(kafka.bootstrap, topic)
    assert again[:len(recs)] == recs
    tail = [(k, v["op"], v["before"], v["after"]) for (_, _, k, v) in again[len(recs):]]
    assert tail == [(None, "t", None, None), ({"id": 1000}, "c", None, {"id": 1000, "name": "after", "price": "0.00"})]


def chain_check(events):
    """Every change of a key continues from the key's previous state: an
    update's or delete's before image (REPLICA IDENTITY FULL) equals what
    the stream said last, a create finds the key absent. A snapshot row
    (read at LSN C) may follow changes of its key older than C, never a
    newer one. A lost change, a duplicate or a stale snapshot row all break
    the chain. Returns the final state."""
    state, last_lsn, seen, history = {}, {}, set(), {}
    for e in events:
        lsn = e["source"]["lsn"]
        k = (e["after"] or e["before"])["id"]
        history.setdefault(k, []).append((e["op"], lsn, e["before"], e["after"]))
        if e["op"] == "r":
            assert last_lsn.get(k, 0) < lsn, f"stale snapshot row for {k}: {history[k]}"
            state[k] = e["after"]
            continue
        ident = (lsn, e["op"], k)
        assert ident not in seen, f"duplicate change {ident}: {history[k]}"
        seen.add(ident)
        if e["op"] == "c":
            assert k not in state, f"create of existing key {k}: {history[k]}"
            state[k] = e["after"]
        else:
            k = e["before"]["id"]
            if k in state:  # a key whose snapshot row is still to come has no state yet
                assert state[k] == e["before"], f"{e['op']} of {k} does not follow its last state: {history.get(k)}"
            if e["op"] == "u":
                state[k] = e["after"]
            else:
                state.pop(k, None)
        last_lsn[k] = lsn
    return state


def test_crash_loop_exactly_once(pg, kafka):
    name = f"pgk_crash_{random.randrange(1 << 30)}"
    n = 150_000
    fill(pg, n, identity="FULL")
    s, _ = pg.pipeline("public.t", name, startup="initial", sink=kafka_sink(kafka),
                       extra_source="  scan.incremental.snapshot.chunk.size: 2000\n  decoding.work-mem: 64kB",
                       extra_pipeline="  parallelism: 2")
    # one writer of single statements, one of transactions large enough to be streamed; disjoint keys
    writers = [Writer(pg, n // 2, seed=11, move_base=n + 1),
               Writer(pg, n, seed=12, tx_size=1500, lo=n // 2 + 1, move_base=10 * n)]
    for w in writers:
        w.start()
    rnd = random.Random(13)
    s.start(wait_for="kafka sink: connected", timeout=60)
    def snapshot_finished():
        log = s.log_text()
        return "snapshot of public.t done" in log or "finished before the restart" in log

    def crash():
        if s.proc.poll() is not None:
            raise AssertionError(f"sluice exited ({s.proc.returncode}):\n{s.log_text()[-4000:]}")
        s.kill9()
        s.start(wait_for="kafka sink: connected", timeout=60)

    # phase 1: crashes during the snapshot
    during_snapshot = 0
    while during_snapshot < 4:
        # let this run make progress (a few chunks read), then crash it
        deadline = time.time() + 60
        while s.log_text().count(") read, ") < 3 and not snapshot_finished():
            assert time.time() < deadline and s.proc.poll() is None, s.log_text()[-4000:]
            time.sleep(0.05)
        time.sleep(rnd.uniform(0.0, 0.3))
        if snapshot_finished():
            break
        crash()
        during_snapshot += 1
    assert during_snapshot >= 3, "the snapshot finished before enough crashes"
    deadline = time.time() + 300
    while not snapshot_finished():
        assert time.time() < deadline and s.proc.poll() is None, s.log_text()[-4000:]
        time.sleep(0.5)
    # phase 2: crashes while streaming, writes still going on
    for _ in range(4):
        time.sleep(rnd.uniform(0.3, 1.5))
        crash()
    s.wait_log("postgres source: streaming slot", 60)
    time.sleep(2)
    for w in writers:
        w.stop_evt.set()
    for w in writers:
        w.join()
        assert w.error is None, w.error
    pg.exec("INSERT INTO t VALUES (9999999999, 0, 'marker')")
    topic = f"{name}.public.t"
    wait_marker(kafka, topic, 9999999999, s, timeout=300)
    assert s.stop() == 0
    events = change_events(read_topic(kafka.bootstrap, topic, timeout=120))
    state = chain_check(events)
    want = source_state(pg)
    assert len(state) == len(want)
    assert state == want
    raw = read_topic(kafka.bootstrap, topic, "read_uncommitted", timeout=120)
    assert len(change_events(raw)) > len(events), "no aborted epoch: the crashes did not interrupt a transaction"
    assert any(re.search(r"streamed transaction \d+ committed", (s.dir / f"sluice-{i}.log").read_text())
               for i in range(1, s.runs + 1)), "no transaction was streamed"
