"""The kafka sink against a real broker: the change sequence a read_committed
consumer sees, real transactions (aborted epochs visible only to
read_uncommitted), a kill -9 crash loop under concurrent writes with every
change exactly once and in per-key order, fencing, a broker restart, and
the errors a user meets first."""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import subprocess
import time
from pathlib import Path

import socket

import pytest

from conftest import sluice_binary
from kafka_read import change_events, read_raw, read_topic, topics
from sluice_run import Sluice, connect_decimal, mysql_exec, mysql_rows
from test_mysql_snapshot import Writer, fill

_ids = itertools.count(7300)
SERVICES = Path(__file__).resolve().parents[1] / "services"


@pytest.fixture
def db(mariadb, request):
    name = "k_" + request.node.name.replace("[", "_").replace("]", "")[:40]
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}")
    return name


def kafka_yaml(mariadb, kafka, db, startup="latest-offset", interval="100ms", parallelism=1, chunk=1000,
               extra_sink="", name=None, server_id=None, extra_source=""):
    return f"""
source:
  type: mysql
  hostname: {mariadb.host}
  port: {mariadb.port}
  username: {mariadb.user}
  password: ${{env:TEST_MYSQL_PASSWORD}}
  tables: {db}.\\.*
  server-id: {server_id or next(_ids)}
  scan.startup.mode: {startup}
  scan.incremental.snapshot.chunk.size: {chunk}
  connect.max-retries: 30
  heartbeat.interval: 1s
{extra_source}sink:
  type: kafka
  properties.bootstrap.servers: {kafka.bootstrap}
  connect.timeout: 20s
{extra_sink}
pipeline:
  name: {name or db}
  checkpoint.interval: {interval}
  parallelism: {parallelism}
"""


def start(tmp_path, yaml, mariadb, wait_for="mysql source: streaming", sub="run"):
    s = Sluice(tmp_path / sub, yaml, env={"TEST_MYSQL_PASSWORD": mariadb.password})
    return s.start(wait_for=wait_for, timeout=60)


def wait_marker(kafka, topic, key, proc, timeout=120):
    """Until a committed change with after.id == key is visible."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for e in change_events(read_topic(kafka.bootstrap, topic)):
            if e["after"] and e["after"]["id"] == key:
                return
        if proc.proc.poll() is not None:
            raise AssertionError(f"sluice exited ({proc.proc.returncode}):\n{proc.log_text()[-4000:]}")
        time.sleep(0.3)
    raise AssertionError(f"marker {key} not visible in {topic}:\n{proc.log_text()[-4000:]}")


def summary(events):
    return [(e["op"], (e["before"] or {}).get("id"), e["after"]) for e in events]


def check_connect(tmp_path, yaml, mariadb):
    p = tmp_path / "check.yaml"
    p.write_text(yaml)
    return subprocess.run([str(sluice_binary()), "check", "--connect", str(p)], capture_output=True, text=True,
                          env={"TEST_MYSQL_PASSWORD": mariadb.password, "PATH": "/usr/bin:/bin"}, timeout=120)


def test_check_connect_probes_the_broker(mariadb, kafka, tmp_path, db):
    proc = check_connect(tmp_path, kafka_yaml(mariadb, kafka, db), mariadb)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "mysql source: ready" in out, out
    assert f"kafka sink {kafka.bootstrap}\n" in out, out
    assert f"  ok    brokers reachable: 1 broker at {kafka.bootstrap}\n" in out, out
    assert f"  ok    transactions work (a probe producer initialised transactional.id sluice-{db}.check)\n" in out, out
    assert ("  ok    checkpoint topic _sluice_checkpoints present\n" in out
            or "  ok    checkpoint topic _sluice_checkpoints can be created (the broker validated it)\n" in out), out
    assert f"  ok    change topics {db}.<db>.<table> can be created (the broker validated one)\n" in out, out
    assert "FAIL" not in out
    assert "kafka sink: ready (0 warnings)" in out, out
    # a check creates nothing
    assert not [t for t in topics(kafka.bootstrap) if t.startswith(db + ".")]


def test_check_connect_probes_flinks_single_topic(mariadb, kafka, tmp_path, db):
    """With Flink's `topic` every change goes to that topic: the check names it, not <prefix>.<db>.<table>."""
    proc = check_connect(tmp_path, kafka_yaml(mariadb, kafka, db, extra_sink=f"  topic: {db}-all"), mariadb)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert f"  ok    change topic {db}-all can be created (the broker validated it)\n" in out, out
    assert "<db>.<table>" not in out, out
    assert f"{db}-all" not in topics(kafka.bootstrap)


def test_check_connect_names_an_unreachable_broker(mariadb, kafka, tmp_path, db):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        gone = f"127.0.0.1:{sock.getsockname()[1]}"
    yaml = kafka_yaml(mariadb, kafka, db).replace(f"bootstrap.servers: {kafka.bootstrap}",
                                                  f"bootstrap.servers: {gone}").replace(
        "connect.timeout: 20s", "connect.timeout: 2s")
    proc = check_connect(tmp_path, yaml, mariadb)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    out = proc.stdout
    assert "mysql source: ready" in out, out  # the source is probed all the same
    assert f"  FAIL  no broker of {gone} answered within 2000 ms" in out, out
    assert f"        fix: start the brokers, or correct properties.bootstrap.servers (now {gone})\n" in out, out
    assert f"kafka sink {gone}: 1 check failed; run the fixes shown above" in proc.stderr, proc.stderr


def test_change_sequence_across_tables(mariadb, kafka, tmp_path, db):
    mysql_exec(mariadb,
               f"CREATE TABLE {db}.a (id INT PRIMARY KEY, name VARCHAR(20), price DECIMAL(10,2))",
               f"CREATE TABLE {db}.b (id BIGINT UNSIGNED PRIMARY KEY, note TEXT)",
               f"INSERT INTO {db}.a VALUES (1, 'one', 1.50), (2, 'two', 2.50)")
    s = start(tmp_path, kafka_yaml(mariadb, kafka, db, startup="initial"), mariadb)
    # the changes come after both tables' chunks were read: a chunk read after
    # them already holds them, and its rows would rightly not be sent as "r"
    # (seen under load)
    s.wait_log(f"snapshot of {db}.a done", timeout=60)
    s.wait_log(f"snapshot of {db}.b done", timeout=60)
    mysql_exec(mariadb,
               f"INSERT INTO {db}.a VALUES (3, 'three', 3.00)",
               f"UPDATE {db}.a SET price = 9.99 WHERE id = 1",
               f"INSERT INTO {db}.b VALUES (18446744073709551615, 'max')",
               f"DELETE FROM {db}.a WHERE id = 2",
               f"UPDATE {db}.a SET id = 30 WHERE id = 3",
               "BEGIN",
               f"INSERT INTO {db}.b VALUES (1, 'x'), (2, 'y')",
               f"UPDATE {db}.b SET note = 'z' WHERE id = 2",
               "COMMIT",
               f"CREATE TABLE {db}.nk (v INT)", f"INSERT INTO {db}.nk VALUES (5)", f"DELETE FROM {db}.nk",
               f"INSERT INTO {db}.a VALUES (999, 'marker', 0)")
    wait_marker(kafka, f"{db}.{db}.a", 999, s)
    assert s.stop() == 0
    # a primary-key move names the other key in a header, as Debezium's
    raw = read_raw(kafka.bootstrap, f"{db}.{db}.a")
    moved = [(json.loads(v)["op"] if v else None, h) for (_, _, k, v, h) in raw if k == b'{"id":3}' and v]
    assert moved[-1] == ("d", {"__debezium.newkey": '{"id":30}'}), moved
    assert [h for (_, _, k, v, h) in raw if k == b'{"id":30}'] == [{"__debezium.oldkey": '{"id":3}'}]
    # a keyless table's delete is followed by a tombstone with a null key
    nk = read_raw(kafka.bootstrap, f"{db}.{db}.nk")
    assert [(k, json.loads(v)["op"] if v else None) for (_, _, k, v, _) in nk] == [(None, "c"), (None, "d"), (None, None)]
    mysql_exec(mariadb, f"DROP TABLE {db}.nk")  # the restart below snapshots new tables: keyless ones need a key

    a = read_topic(kafka.bootstrap, f"{db}.{db}.a")
    assert [(k, v["op"] if v else None) for (_, _, k, v) in a] == [
        ({"id": 1}, "r"), ({"id": 2}, "r"),
        ({"id": 3}, "c"), ({"id": 1}, "u"),
        ({"id": 2}, "d"), ({"id": 2}, None),              # delete, then its tombstone
        ({"id": 3}, "d"), ({"id": 3}, None), ({"id": 30}, "c"),  # key change: Debezium's d + c
        ({"id": 999}, "c")]
    ev = change_events(a)
    assert ev[0]["after"] == {"id": 1, "name": "one", "price": "1.50"}
    # Debezium's markers: a is the snapshot's first table, b (empty) its last,
    # so a's last row is the snapshot's last
    assert [e["source"]["snapshot"] for e in ev[:2]] == ["first", "last"]
    assert all(e["source"]["snapshot"] == "false" for e in ev[2:])
    assert ev[3]["before"] == {"id": 1, "name": "one", "price": "1.50"}
    assert ev[3]["after"] == {"id": 1, "name": "one", "price": "9.99"}
    assert ev[4]["before"] == {"id": 2, "name": "two", "price": "2.50"} and ev[4]["after"] is None
    assert ev[6]["after"] == {"id": 30, "name": "three", "price": "3.00"}
    for e in ev:
        src = e["source"]
        # Debezium 3 reads MariaDB with its MariaDB connector
        assert src["connector"] == "mariadb" and src["name"] == db and src["db"] == db and src["table"] == "a"
        assert set(src) >= {"version", "ts_ms", "snapshot", "server_id", "gtid", "file", "pos", "row", "thread"}
        assert isinstance(e["ts_ms"], int)
    assert ev[2]["source"]["gtid"] and ev[2]["source"]["file"].startswith("binlog.")

    b = change_events(read_topic(kafka.bootstrap, f"{db}.{db}.b"))
    assert summary(b) == [
        ("c", None, {"id": connect_decimal(18446744073709551615), "note": "max"}),
        ("c", None, {"id": connect_decimal(1), "note": "x"}), ("c", None, {"id": connect_decimal(2), "note": "y"}),
        ("u", connect_decimal(2), {"id": connect_decimal(2), "note": "z"})]
    # one transaction of the source: one gtid
    assert b[1]["source"]["gtid"] == b[2]["source"]["gtid"] == b[3]["source"]["gtid"]

    # the checkpoint sits in the compacted topic, keyed by pipeline name
    ck = [v for (_, _, k, v) in read_topic(kafka.bootstrap, "_sluice_checkpoints") if k == db]
    assert ck and ck[-1]["pipeline"] == db and ck[-1]["source"]["file"].startswith("binlog.")
    # schema changes go to the topic named by the prefix
    schema = change_events(read_topic(kafka.bootstrap, db))
    assert {c["tableChanges"][0]["id"] for c in schema} == {f'"{db}"."a"', f'"{db}"."b"', f'"{db}"."nk"'}

    # a restart resumes from the committed checkpoint: nothing is sent again
    s2 = start(tmp_path, kafka_yaml(mariadb, kafka, db, startup="initial"), mariadb, sub="again")
    assert "resuming from checkpoint" in s2.log_text()
    mysql_exec(mariadb, f"INSERT INTO {db}.a VALUES (1000, 'after restart', 0)")
    wait_marker(kafka, f"{db}.{db}.a", 1000, s2)
    assert s2.stop() == 0
    again = read_topic(kafka.bootstrap, f"{db}.{db}.a")
    assert again[:len(a)] == a and [v["after"]["id"] for (_, _, _, v) in again[len(a):]] == [1000]


def test_schema_block_and_no_tombstones(mariadb, kafka, tmp_path, db):
    mysql_exec(mariadb, f"CREATE TABLE {db}.t (id INT PRIMARY KEY, d DATE, ts TIMESTAMP(3) NULL, "
                        f"amount DECIMAL(12,3), e ENUM('x','y'))")
    yaml = kafka_yaml(mariadb, kafka, db, extra_sink="  schemas.enable: true\n  tombstones.on.delete: false\n"
                                                   "  topic.prefix: pfx\n  topic.partitions: 3\n")
    s = start(tmp_path, yaml, mariadb)
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (1, '2024-02-29', '2024-01-02 03:04:05.678', 12.5, 'y')",
               f"DELETE FROM {db}.t WHERE id = 1", f"INSERT INTO {db}.t VALUES (2, NULL, NULL, NULL, NULL)")
    deadline = time.time() + 60
    while time.time() < deadline:
        recs = read_topic(kafka.bootstrap, f"pfx.{db}.t")
        if len(recs) >= 3:
            break
        time.sleep(0.3)
    assert s.stop() == 0
    recs = read_topic(kafka.bootstrap, f"pfx.{db}.t")
    assert len(recs) == 3 and all(v is not None for (_, _, _, v) in recs)  # no tombstone
    assert len({p for (p, _, _, _) in recs}) >= 1
    _, _, key, value = recs[0]
    assert key["payload"] == {"id": 1}
    assert key["schema"]["name"] == f"pfx.{db}.t.Key"
    assert value["schema"]["name"] == f"pfx.{db}.t.Envelope"
    fields = {f["field"]: f for f in value["schema"]["fields"][1]["fields"]}
    assert fields["id"]["type"] == "int32" and fields["id"]["optional"] is False
    assert fields["d"] == {"type": "int32", "optional": True, "name": "io.debezium.time.Date", "version": 1,
                           "field": "d"}
    assert fields["ts"]["name"] == "io.debezium.time.ZonedTimestamp"
    assert fields["amount"] == {"type": "string", "optional": True, "field": "amount"}  # decimal kept as text
    assert fields["e"]["parameters"] == {"allowed": "x,y"}
    after = value["payload"]["after"]
    assert after == {"id": 1, "d": 19782, "ts": "2024-01-02T03:04:05.678Z", "amount": "12.500", "e": "y"}
    # the two keys' partitions follow the Java client's murmur2 partitioner
    assert {p for (p, _, k, _) in recs if k["payload"]["id"] == 1} == {p for (p, _, k, _) in recs[:2]}


def test_aborted_epoch_visible_only_to_read_uncommitted(mariadb, kafka, tmp_path, db):
    """kill -9 in the middle of an epoch leaves an open transaction with
    messages; the next run aborts it and sends the epoch again. A
    read_uncommitted reader sees both copies, read_committed exactly one."""
    mysql_exec(mariadb, f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT)")
    topic = f"{db}.{db}.t"
    # a first checkpoint, so that the runs below resume from it
    s0 = start(tmp_path, kafka_yaml(mariadb, kafka, db), mariadb, sub="zero")
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (0, 0)")
    wait_marker(kafka, topic, 0, s0)
    assert s0.stop() == 0
    s = start(tmp_path, kafka_yaml(mariadb, kafka, db, interval="10min"), mariadb)
    mysql_exec(mariadb, f"INSERT INTO {db}.t SELECT seq, seq FROM {db}.seq_1_to_500")
    deadline = time.time() + 60
    while len(read_topic(kafka.bootstrap, topic, "read_uncommitted")) < 501:
        assert time.time() < deadline, s.log_text()
        time.sleep(0.2)
    assert [e["after"]["id"] for e in change_events(read_topic(kafka.bootstrap, topic))] == [0]
    s.kill9()
    s2 = start(tmp_path, kafka_yaml(mariadb, kafka, db, interval="100ms"), mariadb, sub="second")
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (999, 0)")
    wait_marker(kafka, topic, 999, s2)
    assert s2.stop() == 0
    committed = change_events(read_topic(kafka.bootstrap, topic, "read_committed"))
    uncommitted = change_events(read_topic(kafka.bootstrap, topic, "read_uncommitted"))
    assert [e["after"]["id"] for e in committed] == [0] + list(range(1, 501)) + [999]
    assert [e["after"]["id"] for e in uncommitted] == [0] + list(range(1, 501)) * 2 + [999]


def tx_records(kafka, topic, isolation="read_committed"):
    """The transaction topic as {id: [(status, event_count), ...]}: one id's
    records share a key and so a partition, in the order written."""
    out = {}
    for v in change_events(read_topic(kafka.bootstrap, topic, isolation)):
        out.setdefault(v["id"], []).append((v["status"], v["event_count"]))
    return out


def test_aborted_epoch_takes_its_transaction_records_along(mariadb, kafka, tmp_path, db):
    """provide.transaction.metadata: the BEGIN/END records of a transaction
    travel in the Kafka transaction of its changes, so an epoch aborted by
    kill -9 takes them along: read_committed sees each source transaction's
    BEGIN and END once (the resent epoch's, same id), read_uncommitted the
    aborted copy too."""
    mysql_exec(mariadb, f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT)")
    topic, txt = f"{db}.{db}.t", f"{db}.transaction"
    meta = "  provide.transaction.metadata: true\n"
    s0 = start(tmp_path, kafka_yaml(mariadb, kafka, db, extra_sink=meta), mariadb, sub="zero")
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (0, 0)")
    wait_marker(kafka, topic, 0, s0)
    assert s0.stop() == 0
    first = tx_records(kafka, txt)
    assert list(first.values()) == [[("BEGIN", None), ("END", 1)]]
    s = start(tmp_path, kafka_yaml(mariadb, kafka, db, interval="10min", extra_sink=meta), mariadb)
    mysql_exec(mariadb, f"INSERT INTO {db}.t SELECT seq, seq FROM {db}.seq_1_to_300")
    deadline = time.time() + 60
    while len(read_topic(kafka.bootstrap, txt, "read_uncommitted")) < 4:
        assert time.time() < deadline and s.proc.poll() is None, s.log_text()[-3000:]
        time.sleep(0.2)
    assert tx_records(kafka, txt) == first
    open_tx = {i: r for i, r in tx_records(kafka, txt, "read_uncommitted").items() if i not in first}
    assert list(open_tx.values()) == [[("BEGIN", None), ("END", 300)]]
    (big,) = open_tx
    s.kill9()
    s2 = start(tmp_path, kafka_yaml(mariadb, kafka, db, extra_sink=meta), mariadb, sub="second")
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (999, 0)")
    wait_marker(kafka, topic, 999, s2)
    deadline = time.time() + 60
    while len(read_topic(kafka.bootstrap, txt)) < 6:
        assert time.time() < deadline and s2.proc.poll() is None, s2.log_text()[-3000:]
        time.sleep(0.2)
    assert s2.stop() == 0
    committed = tx_records(kafka, txt)
    assert len(committed) == 3 and committed[big] == [("BEGIN", None), ("END", 300)]  # the resent one, same id
    assert sorted(committed.values()) == [[("BEGIN", None), ("END", 1)]] * 2 + [[("BEGIN", None), ("END", 300)]]
    uncommitted = tx_records(kafka, txt, "read_uncommitted")
    assert uncommitted[big] == [("BEGIN", None), ("END", 300)] * 2
    assert {i: r for i, r in uncommitted.items() if i != big} == {i: r for i, r in committed.items() if i != big}
    # every committed change points at a transaction whose BEGIN/END are committed
    evs = change_events(read_topic(kafka.bootstrap, topic))
    assert sorted(e["after"]["id"] for e in evs) == list(range(0, 301)) + [999]
    assert {e["transaction"]["id"] for e in evs} == set(committed)

def chain_check(events):
    """Every change of a key continues from the key's previous state: an
    update's or delete's before image equals what the stream said last, a
    create finds the key absent. A snapshot row ('r', read at snapshot
    position S) may follow changes of its key older than S, never a newer
    one. A lost change, a duplicate or a stale snapshot row all break the
    chain. Returns the final state."""
    state, last_pos, seen_pos, history = {}, {}, set(), {}
    for e in events:
        src = e["source"]
        pos = (src["file"], src["pos"])
        k = (e["after"] or e["before"])["id"]
        history.setdefault(k, []).append((e["op"], pos, src["row"], e["before"], e["after"]))
        if e["op"] != "r":
            ident = (pos, src["row"], e["op"], k)
            assert ident not in seen_pos, f"duplicate change {ident}"
            seen_pos.add(ident)
        if e["op"] == "r":
            assert last_pos.get(k, pos) <= pos, f"stale snapshot row for {k}: {history[k]}"
            state[k] = e["after"]
        elif e["op"] == "c":
            assert k not in state, f"create of existing key {k}: {history[k]}"
            state[k] = e["after"]
        else:
            k = e["before"]["id"]
            if k in state:
                assert state[k] == e["before"], f"{e['op']} of {k} does not follow its last state: {history.get(k)}"
            if e["op"] == "u":
                state[k] = e["after"]
            else:
                state.pop(k, None)
        last_pos[k] = pos
    return state


# `auto` is snapshot-position on MariaDB; the watermark run takes as long
# again (6 min on a loaded machine), so only `make test-long` (SLUICE_LONG=1)
# runs it: test_mysql_snapshot.py's crash loop covers watermark in `make test`
@pytest.mark.parametrize("algorithm", [
    "auto",
    pytest.param("watermark", marks=pytest.mark.skipif(not os.environ.get("SLUICE_LONG"),
                                                       reason="make test-long (SLUICE_LONG=1) only"))])
def test_crash_loop_exactly_once(mariadb, kafka, tmp_path, db, algorithm):
    n = 200_000
    fill(mariadb, db, n)
    yaml = kafka_yaml(mariadb, kafka, db, startup="initial", interval="200ms", parallelism=2, chunk=2000,
                      extra_source=f"  scan.incremental.snapshot.algorithm: {algorithm}\n")
    s = Sluice(tmp_path, yaml, env={"TEST_MYSQL_PASSWORD": mariadb.password})
    writer = Writer(mariadb, db, n, seed=11)
    writer.start()
    rnd = random.Random(13)
    s.start(wait_for="kafka sink: connected", timeout=60)
    kills = during_snapshot = 0

    def snapshot_done():
        log = s.log_text()
        return f"snapshot of {db}.t done" in log or "finished before the restart" in log

    while kills < 22:
        # the 200k-row snapshot takes 2-3 s on a quiet machine: kills while
        # it runs come 0.1-0.6 s after a restart (0.3-2.5 s let it finish
        # after one kill in a CI run), those while streaming 0.3-2.5 s
        time.sleep(rnd.uniform(0.1, 0.6) if not snapshot_done() else rnd.uniform(0.3, 2.5))
        if s.proc.poll() is not None:
            raise AssertionError(f"sluice exited ({s.proc.returncode}):\n{s.log_text()[-4000:]}")
        if during_snapshot >= 16 and not snapshot_done():
            # a slow (loaded) machine: let the snapshot finish so that the
            # remaining kills fall while streaming
            deadline = time.time() + 600
            while not snapshot_done():
                assert time.time() < deadline and s.proc.poll() is None, s.log_text()[-4000:]
                time.sleep(0.5)
            time.sleep(rnd.uniform(0.3, 2.5))
        if not snapshot_done():
            during_snapshot += 1
        s.kill9()
        kills += 1
        s.start(wait_for="kafka sink: connected", timeout=60)
    assert during_snapshot >= 3, "the snapshot finished before enough crashes"
    assert kills - during_snapshot >= 3, "not enough crashes while streaming"
    deadline = time.time() + 600
    while f"snapshot of {db}.t done" not in s.log_text() and "finished before the restart" not in s.log_text():
        assert time.time() < deadline and s.proc.poll() is None, s.log_text()[-4000:]
        time.sleep(0.5)
    time.sleep(2)
    writer.stop_evt.set()
    writer.join()
    assert writer.error is None, writer.error
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (9999999999, 0, 'marker')")
    wait_marker(kafka, f"{db}.{db}.t", 9999999999, s, timeout=300)
    assert s.stop() == 0

    events = change_events(read_topic(kafka.bootstrap, f"{db}.{db}.t", timeout=120))
    state = chain_check(events)
    want = {r[0]: {"id": r[0], "v": r[1], "pad": r[2]} for r in mysql_rows(mariadb, f"SELECT id, v, pad FROM {db}.t")}
    assert len(state) == len(want)
    assert state == want
    # the aborted epochs really were there: read_uncommitted holds more
    raw = read_topic(kafka.bootstrap, f"{db}.{db}.t", "read_uncommitted", timeout=120)
    assert len(change_events(raw)) > len(events)
    # every run that launched chunk readers used the algorithm asked for
    logs = [(tmp_path / f"sluice-{i}.log").read_text() for i in range(1, s.runs + 1)]
    said, other = "placed by binlog watermarks", "each at its exact binlog position"
    if algorithm == "auto":
        said, other = other, said
    assert any(said in log for log in logs)
    assert not any(other in log for log in logs)


def test_pipelined_epochs_keep_per_key_order_across_crashes(mariadb, kafka, tmp_path, db):
    """An epoch commits while the runtime renders the next one, whose
    messages the sink holds until that commit is done (kafka_commit.c).
    With 20 ms epochs on 40 hot keys nearly every epoch boundary has a
    commit in flight with changes of the same keys held behind it, and the
    kill -9s fall among them: every key's changes must still form one
    unbroken chain, each change once."""
    n = 40
    fill(mariadb, db, n)
    yaml = kafka_yaml(mariadb, kafka, db, startup="initial", interval="20ms")
    s = Sluice(tmp_path, yaml, env={"TEST_MYSQL_PASSWORD": mariadb.password})
    writer = Writer(mariadb, db, n, seed=29)
    writer.start()
    rnd = random.Random(31)
    s.start(wait_for="kafka sink: connected", timeout=60)
    for _ in range(6):
        time.sleep(rnd.uniform(0.5, 1.5))
        if s.proc.poll() is not None:
            raise AssertionError(f"sluice exited ({s.proc.returncode}):\n{s.log_text()[-4000:]}")
        s.kill9()
        s.start(wait_for="kafka sink: connected", timeout=60)
    time.sleep(2)
    writer.stop_evt.set()
    writer.join()
    assert writer.error is None, writer.error
    assert writer.ops > 100
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (9999999999, 0, 'marker')")
    wait_marker(kafka, f"{db}.{db}.t", 9999999999, s, timeout=300)
    assert s.stop() == 0
    # the last run's log (the killed ones lose their tails): changes really
    # were held behind commits in flight
    held = re.findall(r"; (\d+) messages of the next epoch rendered meanwhile", s.log_text())
    assert held and sum(int(m) for m in held) > 0, s.log_text()[-4000:]
    state = chain_check(change_events(read_topic(kafka.bootstrap, f"{db}.{db}.t", timeout=120)))
    want = {r[0]: {"id": r[0], "v": r[1], "pad": r[2]} for r in mysql_rows(mariadb, f"SELECT id, v, pad FROM {db}.t")}
    assert state == want


def test_second_process_fences_the_first(mariadb, kafka, tmp_path, db):
    mysql_exec(mariadb, f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT)")
    first = start(tmp_path, kafka_yaml(mariadb, kafka, db), mariadb, sub="first")
    second = start(tmp_path, kafka_yaml(mariadb, kafka, db), mariadb, sub="second")
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (1, 1)")
    assert first.wait_exit(60) == 1
    assert "was fenced" in first.log_text()
    assert f"another sluice with pipeline '{db}'" in first.log_text()
    wait_marker(kafka, f"{db}.{db}.t", 1, second)
    assert second.stop() == 0
    ids = [e["after"]["id"] for e in change_events(read_topic(kafka.bootstrap, f"{db}.{db}.t"))]
    assert ids == [1]


def test_status_reads_the_checkpoint_without_fencing(mariadb, kafka, tmp_path, db):
    """`sluice status` of a running exactly-once pipeline reads its checkpoint; it must not initialise the
    pipeline's transactional.id, which would fence the running producer."""
    mysql_exec(mariadb, f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT)")
    s = start(tmp_path, kafka_yaml(mariadb, kafka, db), mariadb)
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (1, 1)")
    wait_marker(kafka, f"{db}.{db}.t", 1, s)
    st = subprocess.run([str(sluice_binary()), "status", str(s.config)], capture_output=True, text=True,
                        env=dict(os.environ, TEST_MYSQL_PASSWORD=mariadb.password), timeout=120)
    assert st.returncode == 0, st.stdout + st.stderr
    assert st.stdout.startswith(f"pipeline {db}: last checkpoint {{"), st.stdout
    assert '"pipeline":"' + db + '"' in st.stdout, st.stdout
    # the running pipeline keeps its producer and commits on
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (2, 2)")
    wait_marker(kafka, f"{db}.{db}.t", 2, s)
    assert s.proc.poll() is None, s.log_text()
    assert "fenced" not in s.log_text()
    assert s.stop() == 0
    assert [e["after"]["id"] for e in change_events(read_topic(kafka.bootstrap, f"{db}.{db}.t"))] == [1, 2]


def test_broker_restart_mid_run(mariadb, kafka, tmp_path, db):
    n = 20_000
    fill(mariadb, db, n)
    s = start(tmp_path, kafka_yaml(mariadb, kafka, db, startup="initial", interval="200ms"), mariadb)
    s.wait_log(f"snapshot of {db}.t done", timeout=120)
    writer = Writer(mariadb, db, n, seed=5)
    writer.start()
    time.sleep(2)
    env = dict(os.environ, KAFKA_PORT=str(kafka.port))
    subprocess.run(["bash", str(SERVICES / "kafka.sh"), "stop", str(kafka.dir)], check=True, env=env,
                   capture_output=True)
    time.sleep(5)
    subprocess.run(["bash", str(SERVICES / "kafka.sh"), "start", str(kafka.dir)], check=True, env=env,
                   capture_output=True)
    time.sleep(3)
    writer.stop_evt.set()
    writer.join()
    assert writer.error is None, writer.error
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (9999999999, 0, 'marker')")
    wait_marker(kafka, f"{db}.{db}.t", 9999999999, s, timeout=240)
    assert s.proc.poll() is None, s.log_text()[-3000:]
    assert s.stop() == 0
    state = chain_check(change_events(read_topic(kafka.bootstrap, f"{db}.{db}.t", timeout=120)))
    want = {r[0]: {"id": r[0], "v": r[1], "pad": r[2]} for r in mysql_rows(mariadb, f"SELECT id, v, pad FROM {db}.t")}
    assert state == want


def test_at_least_once_mode(mariadb, kafka, tmp_path, db):
    mysql_exec(mariadb, f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT)")
    s = start(tmp_path, kafka_yaml(mariadb, kafka, db, extra_sink="  delivery.guarantee: at-least-once\n"),
              mariadb)
    assert "at-least-once" in s.log_text()
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (1, 1), (2, 2)", f"UPDATE {db}.t SET v = 3 WHERE id = 2")
    wait_marker(kafka, f"{db}.{db}.t", 2, s)
    time.sleep(1)
    assert s.stop() == 0
    assert summary(change_events(read_topic(kafka.bootstrap, f"{db}.{db}.t"))) == [
        ("c", None, {"id": 1, "v": 1}), ("c", None, {"id": 2, "v": 2}), ("u", 2, {"id": 2, "v": 3})]


def test_message_too_large_names_table_and_key(mariadb, kafka, tmp_path, db):
    mysql_exec(mariadb, f"CREATE TABLE {db}.t (id INT PRIMARY KEY, body MEDIUMTEXT)")
    yaml = kafka_yaml(mariadb, kafka, db, extra_sink="  properties.message.max.bytes: 4000\n")
    s = start(tmp_path, yaml, mariadb)
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (1, 'small')")
    wait_marker(kafka, f"{db}.{db}.t", 1, s)
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (42, REPEAT('x', 10000))")
    assert s.wait_exit(60) == 1
    log = s.log_text()
    assert f"the change of table {db}.t with key {{\"id\":42}}" in log
    assert "properties.message.max.bytes" in log
    # what was committed before stays, exactly once
    assert [e["after"]["id"] for e in change_events(read_topic(kafka.bootstrap, f"{db}.{db}.t"))] == [1]


def test_unreachable_broker_is_a_clear_error(mariadb, tmp_path, db):
    class Dead:
        bootstrap = "127.0.0.1:1"
    yaml = kafka_yaml(mariadb, Dead, db).replace("connect.timeout: 20s", "connect.timeout: 3s")
    s = Sluice(tmp_path, yaml, env={"TEST_MYSQL_PASSWORD": mariadb.password})
    t0 = time.time()
    s.start(wait_for=None)
    assert s.wait_exit(30) == 1
    assert time.time() - t0 < 15
    assert "127.0.0.1:1" in s.log_text() and "3000 ms" in s.log_text()


def test_bad_kafka_options_are_config_errors(mariadb, kafka, tmp_path, db, sluice_bin):
    yaml = kafka_yaml(mariadb, kafka, db, extra_sink="  properties.linger.mss: 5\n")
    cfg = tmp_path / "p.yaml"
    cfg.write_text(yaml)
    r = subprocess.run([str(sluice_bin), "check", str(cfg)], capture_output=True, text=True,
                       env=dict(os.environ, TEST_MYSQL_PASSWORD="x"))
    assert r.returncode == 2
    line = [l for l in yaml.splitlines()].index("  properties.linger.mss: 5") + 1
    assert f"{cfg}:{line}:3: sink option properties.linger.mss: No such configuration property" in r.stderr
    cfg.write_text(yaml.replace(f"  properties.bootstrap.servers: {kafka.bootstrap}\n", "")
                   .replace("  properties.linger.mss: 5\n", ""))
    r = subprocess.run([str(sluice_bin), "check", str(cfg)], capture_output=True, text=True,
                       env=dict(os.environ, TEST_MYSQL_PASSWORD="x"))
    assert r.returncode == 2
    assert "properties.bootstrap.servers is required" in r.stderr


def test_routes_name_topics_and_refused_topic_creation_is_clear(mariadb, kafka, tmp_path, db):
    mysql_exec(mariadb, f"CREATE TABLE {db}.orders_1 (id INT PRIMARY KEY)", f"CREATE TABLE {db}.orders_2 (id INT PRIMARY KEY)")
    yaml = kafka_yaml(mariadb, kafka, db) + f"""
route:
  - source-table: {db}.orders_[0-9]+
    sink-table: {db}-all-orders
"""
    s = start(tmp_path, yaml, mariadb)
    mysql_exec(mariadb, f"INSERT INTO {db}.orders_1 VALUES (1)", f"INSERT INTO {db}.orders_2 VALUES (2)")
    wait_marker(kafka, f"{db}-all-orders", 2, s)
    assert s.stop() == 0
    evs = change_events(read_topic(kafka.bootstrap, f"{db}-all-orders"))
    assert [(e["source"]["table"], e["after"]["id"]) for e in evs] == [("orders_1", 1), ("orders_2", 2)]
    assert f"{db}.{db}.orders_1" not in topics(kafka.bootstrap)

    # a single broker cannot hold three replicas: the error names table, topic and fix
    bad = kafka_yaml(mariadb, kafka, db, extra_sink="  topic.replication-factor: 3\n  topic.prefix: rf3\n"
                                                 "  include.schema.changes: false\n")
    s2 = start(tmp_path, bad, mariadb, sub="rf3")
    mysql_exec(mariadb, f"INSERT INTO {db}.orders_1 VALUES (3)")
    assert s2.wait_exit(60) == 1
    log = s2.log_text()
    assert f"cannot create topic rf3.{db}.orders_1 for table {db}.orders_1" in log
    assert "kafka-topics.sh --create" in log


def test_transaction_metadata(mariadb, kafka, tmp_path, db):
    """provide.transaction.metadata: BEGIN and END (with counts per table)
    on <prefix>.transaction, and each change's transaction block, all in
    the Kafka transaction of the changes (read_committed sees them)."""
    mysql_exec(mariadb, f"CREATE TABLE {db}.a (id INT PRIMARY KEY, v INT)",
               f"CREATE TABLE {db}.b (id INT PRIMARY KEY)", f"INSERT INTO {db}.a VALUES (1, 1)")
    yaml = kafka_yaml(mariadb, kafka, db, startup="initial",
                      extra_sink="  provide.transaction.metadata: true\n  schemas.enable: true\n")
    s = start(tmp_path, yaml, mariadb)
    mysql_exec(mariadb, "BEGIN", f"INSERT INTO {db}.a VALUES (2, 2)", f"INSERT INTO {db}.b VALUES (7)",
               f"UPDATE {db}.a SET id = 20 WHERE id = 2", "COMMIT",
               f"INSERT INTO {db}.b VALUES (8)")
    deadline = time.time() + 60
    while len([r for r in read_topic(kafka.bootstrap, f"{db}.transaction") if r[3]]) < 4:
        assert time.time() < deadline and s.proc.poll() is None, s.log_text()[-3000:]
        time.sleep(0.3)
    assert s.stop() == 0
    tx = [v["payload"] for (_, _, _, v) in read_topic(kafka.bootstrap, f"{db}.transaction")]
    assert [t["status"] for t in tx] == ["BEGIN", "END", "BEGIN", "END"]
    big = tx[1]
    assert tx[0]["id"] == big["id"] and big["event_count"] == 4  # the key move is a delete and a create
    assert big["data_collections"] == [{"data_collection": f"{db}.a", "event_count": 3},
                                       {"data_collection": f"{db}.b", "event_count": 1}]
    assert tx[3]["event_count"] == 1 and tx[3]["id"] != big["id"]
    evs = [v["payload"] for t in ("a", "b") for (_, _, _, v) in read_topic(kafka.bootstrap, f"{db}.{db}.{t}") if v]
    snap = [e for e in evs if e["op"] == "r"]
    assert snap and all(e["transaction"] is None for e in snap)
    blocks = sorted((e["transaction"]["total_order"], e["source"]["table"], e["op"],
                     e["transaction"]["data_collection_order"]) for e in evs if e["transaction"]
                    and e["transaction"]["id"] == big["id"])
    assert blocks == [(1, "a", "c", 1), (2, "b", "c", 1), (3, "a", "d", 2), (4, "a", "c", 3)]
