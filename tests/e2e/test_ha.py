"""High availability (pipeline ha.mode): several `sluice run` processes of
one pipeline, one active, the others standby. Against the real MariaDB,
PostgreSQL and Kafka: a standby takes over after kill -9 of the active
within ha.session.timeout + 5 s, a SIGTERM hands over in under 2 s, an
active paused (SIGSTOP) past the timeout and resumed stops without
committing, and the sink holds every change exactly once in per-key order
with a final state equal to the source."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time

import pytest

from conftest import sluice_binary
from kafka_read import change_events, read_topic
from sluice_run import (Sluice, changes, mysql_exec, mysql_rows, mysql_source_yaml, pg_ident,
                        pg_pipeline_yaml, wait_for_key)
from test_kafka_sink import chain_check, wait_marker
from test_operations import endpoint, get, metric, scrape, wait_metrics
from test_mysql_snapshot import Writer, fill
import test_pg_snapshot

ACTIVE = "active: leadership acquired"
STANDBY = "standby: waiting to become active"
MARKER = 9_999_999_999


@pytest.fixture
def db(mariadb, request):
    name = "ha_" + request.node.name.replace("[", "_").replace("]", "").replace("-", "_")[:40]
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}")
    return name


def mysql_yaml(mariadb, db, sink, mode, session="4s", startup="initial", server_id=6100, extra_pipeline=""):
    chunks = "  scan.incremental.snapshot.chunk.size: 2000\n"
    return f"""
{mysql_source_yaml(mariadb, db + ".t", server_id, startup, chunks)}
sink:
{sink}
pipeline:
  name: {db}
  checkpoint.interval: 200ms
  parallelism: 2
  ha.mode: {mode}
  ha.session.timeout: {session}
{extra_pipeline}"""


def file_sink(path):
    return f"  type: file\n  path: {path}"


def kafka_sink(kafka):
    return f"  type: kafka\n  properties.bootstrap.servers: {kafka.bootstrap}\n  connect.timeout: 20s"


class Group:
    """Members of one HA group, each a sluice process with its own log."""

    def __init__(self, tmp_path, yaml, env, n=3):
        self.members = [Sluice(tmp_path / f"m{i}", yaml, env=env) for i in range(n)]

    def start(self):
        first, rest = self.members[0], self.members[1:]
        first.start(wait_for=ACTIVE, timeout=60)
        for m in rest:
            m.start(wait_for=STANDBY, timeout=60)
        return self

    def actives(self):
        """Members whose current run has become active and is still running
        (a member back in standby after losing leadership does not count)."""
        out = []
        for m in self.members:
            if m.proc.poll() is not None:
                continue
            log = m.log_text()
            if log.rfind(ACTIVE) > log.rfind("leadership lost"):
                out.append(m)
        return out

    def wait_new_active(self, old, timeout):
        """The member (other than old) that became active; asserts exactly one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            act = [m for m in self.actives() if m is not old]
            if act:
                assert len(act) == 1, [m.log_text()[-2000:] for m in act]
                return act[0], time.monotonic()
            time.sleep(0.02)
        raise AssertionError("no standby became active:\n" +
                             "\n----\n".join(m.log_text()[-3000:] for m in self.members))

    def stop_all(self):
        for m in self.members:
            if m.proc and m.proc.poll() is None:
                assert m.stop() == 0, m.log_text()[-3000:]


def status(config, env, settled="one active"):
    """`sluice status`, asked again while the group rebalances (a Kafka
    group reports assignments only when stable)."""
    deadline = time.monotonic() + 30
    while True:
        r = subprocess.run([str(sluice_binary()), "status", str(config)], capture_output=True, text=True,
                           env=dict(os.environ, **env), timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        if settled in r.stdout or time.monotonic() > deadline:
            return r.stdout
        time.sleep(0.5)


def file_chain_check(events):
    """chain_check for the file sink, which writes a primary-key change as
    one update (Kafka's envelope splits it into a delete and a create):
    every change of a known key continues from its last state, no change
    repeats."""
    state, seen = {}, set()
    for e in events:
        src, before, after = e["source"], e["before"], e["after"]
        if e["op"] == "r":
            state[after["id"]] = after
            continue
        ident = (json.dumps({k: v for k, v in src.items() if k != "ts_ms"}, sort_keys=True), e["op"])
        assert ident not in seen, f"duplicate change {ident}"
        seen.add(ident)
        if e["op"] == "c":
            assert after["id"] not in state, f"create of existing key {after['id']}"
        else:
            # a change may precede its key's snapshot row (the chunk was
            # read later); once the key is known, changes must chain
            if before["id"] in state:
                assert state[before["id"]] == before, f"{e['op']} of {before['id']} does not follow its last state"
            state.pop(before["id"], None)
            if e["op"] == "u":
                assert after["id"] not in state, f"update onto existing key {after['id']}"
        if after:
            state[after["id"]] = after
    return state


def final_state_equals_source(events, mariadb, db, check=chain_check):
    state = check(events)
    want = {r[0]: {"id": r[0], "v": r[1], "pad": r[2]}
            for r in mysql_rows(mariadb, f"SELECT id, v, pad FROM {db}.t")}
    assert len(state) == len(want)
    assert state == want


def kill_loop(group, writer, kills, session_s, rnd, table):
    """kill -9 of the active member: twice while it reads the snapshot,
    then, once the snapshot is done, at random moments while streaming; a
    standby must be active within the session timeout + 5 s each time.
    Returns the takeover times. `make test` runs 3 kills; `make test-long`
    (SLUICE_LONG=1) the full count."""
    if not os.environ.get("SLUICE_LONG"):
        kills = min(kills, 3)
    took, during = [], 0

    def snapshot_done(m):
        log = m.log_text()
        return f"snapshot of {table} done" in log or "finished before the restart" in log

    for i in range(kills):
        (active,) = group.actives()
        if i < 2:
            deadline = time.monotonic() + 60
            while ") read, " not in active.log_text() and not snapshot_done(active):
                assert time.monotonic() < deadline, active.log_text()[-3000:]
                time.sleep(0.02)
            # at once: on a quiet machine the rest of a 100k-row snapshot
            # took less than the 0.3 s this once waited (CI saw no kill in it)
            time.sleep(rnd.uniform(0.0, 0.03))
        else:
            deadline = time.monotonic() + 120
            while not snapshot_done(active):
                assert time.monotonic() < deadline, active.log_text()[-3000:]
                time.sleep(0.05)
            time.sleep(rnd.uniform(0.5, 2.5))
        assert writer.error is None, writer.error
        if not snapshot_done(active):
            during += 1
        active.kill9()
        t0 = time.monotonic()
        new, t1 = group.wait_new_active(active, session_s + 5)
        took.append(t1 - t0)
        active.start(wait_for=STANDBY, timeout=60)
    assert during >= 1, "no kill fell inside the snapshot"
    return took


def test_source_lock_mariadb_file_sink_failover(mariadb, tmp_path, db):
    n = 100_000
    fill(mariadb, db, n)
    out = tmp_path / "out.jsonl"
    env = {"TEST_MYSQL_PASSWORD": mariadb.password}
    group = Group(tmp_path, mysql_yaml(mariadb, db, file_sink(out), "source-lock"), env).start()
    writer = Writer(mariadb, db, n, seed=3)
    writer.start()
    took = kill_loop(group, writer, 10, 4, random.Random(5), f"{db}.t")
    st = status(group.members[0].config, env)
    assert f"ha: source-lock (MariaDB/MySQL lock sluice/{db}), one active" in st, st
    writer.stop_evt.set()
    writer.join()
    assert writer.error is None, writer.error
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES ({MARKER}, 0, 'marker')")
    (active,) = group.actives()
    wait_for_key(out, MARKER, active)
    # graceful hand-over: SIGTERM on the active, a standby is active at once
    active.proc.send_signal(signal.SIGTERM)
    t0 = time.monotonic()
    new, t1 = group.wait_new_active(active, 10)
    assert active.wait_exit(30) == 0, active.log_text()[-3000:]
    assert t1 - t0 < 2, f"hand-over took {t1 - t0:.2f}s"
    assert "leadership released" in active.log_text()
    group.stop_all()
    print(f"takeovers after kill -9: {[round(t, 2) for t in took]}, hand-over {t1 - t0:.2f}s")
    final_state_equals_source(changes(out), mariadb, db, file_chain_check)


def test_roles_in_metrics_readyz_and_status_json(mariadb, tmp_path, db):
    """Each member serves metrics from the start, standby included: its role
    as sluice_ha_role, /readyz 503 while standby (it writes nothing), and
    `sluice status --json` lists the group's members with their roles."""
    fill(mariadb, db, 100)
    out = tmp_path / "out.jsonl"
    env = {"TEST_MYSQL_PASSWORD": mariadb.password}
    yaml = mysql_yaml(mariadb, db, file_sink(out), "source-lock", server_id=6150,
                      extra_pipeline="  metrics.address: 127.0.0.1:0\n")
    group = Group(tmp_path, yaml, env, n=2).start()
    active, standby = group.members
    a, b = endpoint(active), endpoint(standby)
    wait_for_key(out, 100, active)
    got = wait_metrics(a, lambda m: metric(m, "sluice_epochs_committed_total"), active, "a commit")
    assert metric(got, "sluice_ha_role", role="active") == 1 and metric(got, "sluice_ha_role", role="standby") == 0
    assert get(a + "/readyz")[0] == 200
    got = scrape(b)
    assert metric(got, "sluice_ha_role", role="standby") == 1 and metric(got, "sluice_ha_role", role="active") == 0
    code, body = get(b + "/readyz")
    assert code == 503 and body.startswith("standby: another member of the high-availability group is active"), body

    r = subprocess.run([str(sluice_binary()), "status", "--json", str(active.config)], capture_output=True,
                       text=True, env=dict(os.environ, **env), timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    ha = json.loads(r.stdout)["ha"]
    assert ha["mode"] == "source-lock" and ha["coordinator"] == f"MariaDB/MySQL lock sluice/{db}", ha
    assert ha["active"] is True and [m["role"] for m in ha["members"]] == ["active", "standby"], ha

    # hand-over: the standby's own endpoint shows it taking the lead
    active.proc.send_signal(signal.SIGTERM)
    assert active.wait_exit(30) == 0
    got = wait_metrics(b, lambda m: metric(m, "sluice_ha_role", role="active") == 1, standby, "the new role")
    assert metric(got, "sluice_ha_role", role="standby") == 0
    assert metric(got, "sluice_ha_role_changes_total") == 2  # standby, then active
    group.stop_all()


def test_source_lock_paused_active_stops_without_committing(mariadb, tmp_path, db):
    n = 5_000
    fill(mariadb, db, n)
    out = tmp_path / "out.jsonl"
    env = {"TEST_MYSQL_PASSWORD": mariadb.password}
    group = Group(tmp_path, mysql_yaml(mariadb, db, file_sink(out), "source-lock"), env, n=2).start()
    writer = Writer(mariadb, db, n, seed=7)
    writer.start()
    zombie = group.members[0]
    zombie.wait_log("snapshot of", timeout=60)
    time.sleep(1)
    zombie.proc.send_signal(signal.SIGSTOP)
    t0 = time.monotonic()
    new, t1 = group.wait_new_active(zombie, 4 + 5)
    # the active proves its lock every quarter of the session, so its
    # session times out between 3/4 and all of the timeout after the pause
    assert t1 - t0 >= 4 * 0.75 - 0.1, "a standby took over before the paused active's session timed out"
    time.sleep(2)
    before = len(zombie.log_text())
    zombie.proc.send_signal(signal.SIGCONT)
    zombie.wait_log("leadership lost", timeout=20)
    new.wait_log("resuming from checkpoint", timeout=30)
    time.sleep(1)
    after = zombie.log_text()[before:]
    assert "back to standby" in after, after
    # a commit the pause caught half-way may finish (the file sink's lock
    # kept the new active out meanwhile); nothing is committed after it
    commits = after.count("checkpoint committed at ")
    assert commits == 0 or (commits == 1 and after.index("checkpoint committed") < after.index("leadership lost")), after
    last = zombie.log_text().rsplit("checkpoint committed at ", 1)[1].split("\n", 1)[0]
    resumed = new.log_text().rsplit("resuming from checkpoint ", 1)[1].split("\n", 1)[0]
    assert resumed == last, "the new active did not resume where the paused one last committed"
    writer.stop_evt.set()
    writer.join()
    assert writer.error is None, writer.error
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES ({MARKER}, 0, 'marker')")
    wait_for_key(out, MARKER, new)
    group.stop_all()
    final_state_equals_source(changes(out), mariadb, db, file_chain_check)


def test_kafka_group_failover_exactly_once(mariadb, kafka, tmp_path, db):
    n = 100_000
    fill(mariadb, db, n)
    env = {"TEST_MYSQL_PASSWORD": mariadb.password}
    # 6 s: the broker's group.min.session.timeout.ms
    group = Group(tmp_path, mysql_yaml(mariadb, db, kafka_sink(kafka), "kafka-group", session="6s"), env).start()
    writer = Writer(mariadb, db, n, seed=17)
    writer.start()
    took = kill_loop(group, writer, 10, 6, random.Random(19), f"{db}.t")
    st = status(group.members[0].config, env)
    assert f"ha: kafka-group (group and topic sluice.{db}.ha, Stable), 3 members, one active" in st, st
    assert st.count(": active\n") == 1 and st.count(": standby\n") == 2, st
    writer.stop_evt.set()
    writer.join()
    assert writer.error is None, writer.error
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES ({MARKER}, 0, 'marker')")
    (active,) = group.actives()
    wait_marker(kafka, f"{db}.{db}.t", MARKER, active, timeout=120)
    active.proc.send_signal(signal.SIGTERM)
    t0 = time.monotonic()
    new, t1 = group.wait_new_active(active, 10)
    assert active.wait_exit(30) == 0, active.log_text()[-3000:]
    assert t1 - t0 < 2, f"hand-over took {t1 - t0:.2f}s"
    group.stop_all()
    print(f"takeovers after kill -9: {[round(t, 2) for t in took]}, hand-over {t1 - t0:.2f}s")
    final_state_equals_source(change_events(read_topic(kafka.bootstrap, f"{db}.{db}.t", timeout=120)), mariadb, db)


def test_kafka_group_paused_active_is_fenced(mariadb, kafka, tmp_path, db):
    n = 5_000
    fill(mariadb, db, n)
    env = {"TEST_MYSQL_PASSWORD": mariadb.password}
    group = Group(tmp_path, mysql_yaml(mariadb, db, kafka_sink(kafka), "kafka-group", session="6s"), env,
                  n=2).start()
    writer = Writer(mariadb, db, n, seed=23)
    writer.start()
    zombie = group.members[0]
    zombie.wait_log("mysql source: streaming", timeout=60)
    time.sleep(1)
    zombie.proc.send_signal(signal.SIGSTOP)
    t0 = time.monotonic()
    new, t1 = group.wait_new_active(zombie, 6 + 5)
    assert t1 - t0 >= 6 * 0.9 - 0.5, "a standby took over before the paused active's session timed out"
    new.wait_log("kafka sink: connected", timeout=30)
    time.sleep(1)
    before = len(zombie.log_text())
    zombie.proc.send_signal(signal.SIGCONT)
    zombie.wait_log("leadership lost", timeout=20)
    time.sleep(1)
    after = zombie.log_text()[before:]
    assert "checkpoint committed" not in after or "fenced" in after, after
    writer.stop_evt.set()
    writer.join()
    assert writer.error is None, writer.error
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES ({MARKER}, 0, 'marker')")
    wait_marker(kafka, f"{db}.{db}.t", MARKER, new, timeout=120)
    group.stop_all()
    final_state_equals_source(change_events(read_topic(kafka.bootstrap, f"{db}.{db}.t", timeout=120)), mariadb, db)


def test_source_lock_postgres_failover_and_status(pg, tmp_path):
    n = 100_000
    test_pg_snapshot.fill(pg, n, identity="FULL")
    name = pg_ident("ha_pg_" + tmp_path.name)
    pg.slots.add("sl_" + name)
    pg.pubs.add("pub_" + name)
    out = tmp_path / "out.jsonl"
    yaml = pg_pipeline_yaml(pg.svc, pg.db, "public.t", out, name=name, startup="initial",
                            extra_source="  scan.incremental.snapshot.chunk.size: 2000",
                            extra_pipeline="  ha.mode: source-lock\n  ha.session.timeout: 4s\n  parallelism: 2")
    env = {"TEST_PG_PASSWORD": pg.svc.password}
    group = Group(tmp_path, yaml, env).start()
    writer = test_pg_snapshot.Writer(pg, n, seed=29)
    writer.start()
    took = kill_loop(group, writer, 5, 4, random.Random(31), "public.t")
    st = status(group.members[0].config, env)
    assert f"ha: source-lock (PostgreSQL advisory lock sluice/{name}), 3 members, one active" in st, st
    assert st.count(": active\n") == 1 and st.count(": standby\n") == 2, st
    writer.stop_evt.set()
    writer.join()
    assert writer.error is None, writer.error
    pg.exec(f"INSERT INTO t VALUES ({MARKER}, 0, 'marker')")
    (active,) = group.actives()
    wait_for_key(out, MARKER, active)
    active.proc.send_signal(signal.SIGTERM)
    t0 = time.monotonic()
    new, t1 = group.wait_new_active(active, 10)
    assert active.wait_exit(30) == 0, active.log_text()[-3000:]
    assert t1 - t0 < 2, f"hand-over took {t1 - t0:.2f}s"
    group.stop_all()
    print(f"takeovers after kill -9: {[round(t, 2) for t in took]}, hand-over {t1 - t0:.2f}s")
    state = file_chain_check(changes(out))
    assert state == test_pg_snapshot.source_state(pg)


def test_ha_configuration_errors_name_the_place(tmp_path, sluice_bin):
    base = """source:
  type: mysql
  hostname: 127.0.0.1
  username: u
  password: p
  tables: a.b
  server-id: 5
sink:
  type: file
  path: {out}
pipeline:
  name: p1
  ha.mode: kafka-group
"""
    p = tmp_path / "p.yaml"
    p.write_text(base.format(out=tmp_path / "o.jsonl"))
    r = subprocess.run([str(sluice_bin), "check", str(p)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert (f"{p}:13:3: ha.mode kafka-group needs Kafka brokers to coordinate through, and the file sink names "
            "none: set ha.kafka.bootstrap.servers in the pipeline block") in r.stderr, r.stderr
    p.write_text(base.format(out=tmp_path / "o.jsonl") + "  ha.session.timeout: 1s\n")
    r = subprocess.run([str(sluice_bin), "check", str(p)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert f"{p}:14:3: '1s' is out of range for 'ha.session.timeout' (2000ms..1800000ms)" in r.stderr, r.stderr
    p.write_text(base.format(out=tmp_path / "o.jsonl").replace("kafka-group", "kafka-grup"))
    r = subprocess.run([str(sluice_bin), "check", str(p)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and f"{p}:13:" in r.stderr and "kafka-group" in r.stderr, r.stderr
