"""Lost history: the changelog a checkpoint resumes from is gone while the
pipeline is stopped (MariaDB: PURGE BINARY LOGS; PostgreSQL: the slot
invalidated by max_slot_wal_keep_size, or dropped). scan.on-log-loss: fail
stops with the fix; resnapshot reads every table anew after a TRUNCATE
event per table, so the sink ends equal to the source and rows deleted
during the gap do not survive (file sink replayed, ClickHouse read with
FINAL, Kafka consumers seeing the TRUNCATE before the `op: r` rows)."""

from __future__ import annotations

import subprocess
import time

from conftest import sluice_binary
from clickhouse_read import drop_databases, env_for, final, mysql_yaml, wait_rows
from kafka_read import read_topic
from sluice_run import (PG_STREAMING, Sluice, changes, mysql_exec, mysql_pipeline_yaml, mysql_rows, pg_exec,
                        pg_rows, wait_events)


def table_state(events):
    """One table's rows as a sink that applies TRUNCATE holds them: {id: v}."""
    state = {}
    for e in events:
        if e["op"] == "t":
            state.clear()
        elif e["op"] in ("c", "r", "u"):
            state[e["after"]["id"]] = e["after"]["v"]
        elif e["op"] == "d":
            state.pop(e["before"]["id"], None)
    return state


def set_on_log_loss(s, mode):
    text = s.config.read_text()
    s.config.write_text(text.replace("scan.on-log-loss: fail", f"scan.on-log-loss: {mode}"))


def after_first_run(events, first_run_count, n_tables=1):
    """The events of the resnapshot run: TRUNCATE per table first, then rows."""
    rest = events[first_run_count:]
    assert [e["op"] for e in rest[:n_tables]] == ["t"] * n_tables, rest[:3]
    assert all(e["op"] != "t" for e in rest[n_tables:])
    return rest


# ------------------------------------------------------------------ mysql

def mysql_gap(mariadb, db):
    """Changes while the pipeline is stopped, then the binlogs holding them
    and the checkpoint's position purged."""
    mysql_exec(mariadb, "FLUSH BINARY LOGS",
               f"DELETE FROM {db}.t WHERE id <= 5", f"UPDATE {db}.t SET v = 100 WHERE id = 10",
               f"INSERT INTO {db}.t VALUES (22, 22)", "FLUSH BINARY LOGS")
    current = mysql_rows(mariadb, "SHOW MASTER STATUS")[0][0]
    # PURGE keeps a file a binlog dump thread still reads (the stopped
    # pipeline's until the server notices, or another test's): retried, and
    # after a while such threads are killed, so the history really is gone
    deadline = time.time() + 30
    while True:
        mysql_exec(mariadb, f"PURGE BINARY LOGS TO '{current}'")
        if [r[0] for r in mysql_rows(mariadb, "SHOW BINARY LOGS")] == [current]:
            return
        assert time.time() < deadline, mysql_rows(mariadb, "SHOW BINARY LOGS")
        if time.time() > deadline - 20:
            for (tid,) in mysql_rows(mariadb, "SELECT id FROM information_schema.processlist "
                                              "WHERE command LIKE 'Binlog Dump%'"):
                mysql_exec(mariadb, f"KILL {tid}")
        time.sleep(0.5)


def mysql_fill(mariadb, db):
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT)",
               f"INSERT INTO {db}.t SELECT seq, seq FROM {db}.seq_1_to_20")


def test_mysql_purged_binlog_fails_then_resnapshots(mariadb, tmp_path):
    db = "ll_m"
    mysql_fill(mariadb, db)
    out = tmp_path / "out.jsonl"
    s = Sluice(tmp_path, mysql_pipeline_yaml(mariadb, f"{db}.t", out, name="llm", startup="initial", server_id=7801,
                                             extra_source="  scan.on-log-loss: fail\n"),
               env={"TEST_MYSQL_PASSWORD": mariadb.password}).start()
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (21, 21)")
    first = len(wait_events(out, 21, proc=s))
    assert s.stop() == 0
    ckpt = (tmp_path / "out.jsonl.checkpoint").read_text()
    mysql_gap(mariadb, db)

    s.start(wait_for=None)
    assert s.wait_exit(60) == 1
    log = s.log_text()
    assert "is no longer on the server" in log and "fix: set scan.on-log-loss: resnapshot" in log, log
    assert (tmp_path / "out.jsonl.checkpoint").read_text() == ckpt, "a failed start commits nothing"
    assert len(changes(out)) == first

    set_on_log_loss(s, "resnapshot")
    s.start()
    assert "reading every captured table anew (scan.on-log-loss: resnapshot)" in s.log_text()
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (23, 23)")
    evs = wait_events(out, first + 1 + 17 + 1, proc=s)
    assert s.stop() == 0
    after_first_run(evs, first)
    want = dict(mysql_rows(mariadb, f"SELECT id, v FROM {db}.t"))
    assert table_state(evs) == want
    assert 1 not in want and want[10] == 100 and 23 in want

    # the next start resumes from the new checkpoint: nothing is read again
    s.start()
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (24, 24)")
    evs2 = wait_events(out, len(evs) + 1, proc=s)
    assert s.stop() == 0
    assert [e["op"] for e in evs2[len(evs):]] == ["c"]


def test_mysql_purged_binlog_resnapshot_replaces_clickhouse_table(mariadb, clickhouse, tmp_path):
    db = "ll_mch"
    mysql_fill(mariadb, db)
    drop_databases(clickhouse, db)
    s = Sluice(tmp_path, mysql_yaml(mariadb, clickhouse, f"{db}.t", db, "llmch", server_id=7802,
                                    extra_source="  scan.on-log-loss: resnapshot\n"),
               env=env_for(mysql=mariadb, ch=clickhouse)).start()
    wait_rows(clickhouse, f"{db}.t", 20, proc=s)
    assert s.stop() == 0
    mysql_gap(mariadb, db)
    s.start()
    want = [{"id": i, "v": v} for i, v in mysql_rows(mariadb, f"SELECT id, v FROM {db}.t ORDER BY id")]
    got = wait_rows(clickhouse, f"{db}.t", len(want), proc=s)
    assert s.stop() == 0
    assert got == want
    assert final(clickhouse, f"{db}.t", where="id <= 5") == []


# --------------------------------------------------------------- postgres

def invalidate_slot(postgres, db, slot):
    """Makes the server invalidate the (inactive) slot: a tiny
    max_slot_wal_keep_size, WAL segment switches and checkpoints."""
    pg_exec(postgres, "ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'", "SELECT pg_reload_conf()")
    try:
        deadline = time.time() + 60
        while True:
            status = pg_rows(postgres, "SELECT wal_status FROM pg_replication_slots WHERE slot_name = %s",
                             params=(slot,))[0][0]
            if status == "lost":
                return
            assert time.time() < deadline, f"slot {slot} still {status}"
            pg_exec(postgres, "CREATE TABLE IF NOT EXISTS wal_filler (x text)",
                    "INSERT INTO wal_filler SELECT repeat('x', 1000) FROM generate_series(1, 2000)",
                    "SELECT pg_switch_wal()", "CHECKPOINT", database=db)
    finally:
        pg_exec(postgres, "ALTER SYSTEM RESET max_slot_wal_keep_size", "SELECT pg_reload_conf()")


def pg_gap(pg):
    pg.exec("DELETE FROM llp WHERE id <= 5", "UPDATE llp SET v = 100 WHERE id = 10", "INSERT INTO llp VALUES (22, 22)")


def test_pg_invalidated_slot_fails_then_resnapshots(postgres, pg, tmp_path):
    pg.exec("DROP TABLE IF EXISTS llp", "CREATE TABLE llp (id INT PRIMARY KEY, v INT)",
            "INSERT INTO llp SELECT g, g FROM generate_series(1, 20) g")
    s, out = pg.pipeline("public.llp", "llp", startup="initial", extra_source="  scan.on-log-loss: fail")
    s.start(wait_for=PG_STREAMING)
    pg.exec("INSERT INTO llp VALUES (21, 21)")
    first = len(wait_events(out, 21, proc=s))
    assert s.stop() == 0
    pg_gap(pg)
    invalidate_slot(postgres, pg.db, "sl_llp")
    proc = subprocess.run([str(sluice_binary()), "check", "--connect", str(s.config)], capture_output=True,
                          text=True, env=s.env, timeout=60)
    assert ("FAIL  replication slot sl_llp was invalidated (wal_status = lost, max_slot_wal_keep_size): the "
            "changes after its position are gone") in proc.stdout, proc.stdout

    s.start(wait_for=None)
    assert s.wait_exit(60) == 1
    log = s.log_text()
    assert ("replication slot 'sl_llp' was invalidated by the server (wal_status = lost: it fell more than "
            "max_slot_wal_keep_size behind and its WAL was removed)") in log, log
    assert "fix: set scan.on-log-loss: resnapshot" in log and "ALTER SYSTEM SET max_slot_wal_keep_size" in log

    set_on_log_loss(s, "resnapshot")
    s.start(wait_for=PG_STREAMING)
    pg.exec("INSERT INTO llp VALUES (23, 23)")
    evs = wait_events(out, first + 1 + 17 + 1, proc=s)
    assert s.stop() == 0
    after_first_run(evs, first)
    want = dict(pg.rows("SELECT id, v FROM llp"))
    assert table_state(evs) == want
    assert 1 not in want and want[10] == 100 and 23 in want
    assert pg.rows("SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'sl_llp'") == [("reserved",)]


def test_pg_dropped_slot_resnapshot_announced_to_kafka(postgres, pg, kafka, tmp_path):
    pg.exec("DROP TABLE IF EXISTS llk", "CREATE TABLE llk (id INT PRIMARY KEY, v INT)",
            "INSERT INTO llk SELECT g, g FROM generate_series(1, 20) g")
    topic = f"llk_{int(time.time() * 1000)}"
    sink = f"""  type: kafka
  properties.bootstrap.servers: {kafka.bootstrap}
  topic: {topic}
  checkpoint.topic: {topic}_ckpt"""
    s, _ = pg.pipeline("public.llk", "llk", startup="initial", sink=sink,
                       extra_source="  scan.on-log-loss: resnapshot")
    def wait_ops(reads):
        deadline = time.time() + 60
        while True:
            ops = [v["op"] for (_, _, _, v) in read_topic(kafka.bootstrap, topic) if v is not None]
            if ops.count("r") >= reads:
                return ops
            assert time.time() < deadline, (ops, s.log_text()[-3000:])
            time.sleep(0.2)

    s.start(wait_for=PG_STREAMING)
    wait_ops(20)
    assert s.stop() == 0
    pg.exec("DELETE FROM llk WHERE id <= 5", "INSERT INTO llk VALUES (22, 22)")
    pg_exec(postgres, "SELECT pg_drop_replication_slot('sl_llk')", database=pg.db)
    s.start(wait_for=PG_STREAMING)
    assert "replication slot 'sl_llk' does not exist" in s.log_text()
    ops = wait_ops(20 + 16)
    assert s.stop() == 0
    assert ops == ["r"] * 20 + ["t"] + ["r"] * 16, ops
