"""Exactly once into ClickHouse across crashes: of sluice (kill -9 at random
moments during the snapshot and while streaming, under concurrent writes),
of sluice between an epoch's data and its checkpoint (the replayed blocks
are dropped by the server), of the server (the front killed and restarted
mid-epoch) and of single requests (HTTP 5xx mid-epoch). Afterwards the
tables read with FINAL equal the source row by row.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time

from clickhouse_read import (checkpoint, drop_databases, kill_loop, clear_faults, env_for, final, front_log, mysql_yaml,
                             physical_count, rows, set_faults, wait_checkpoint, wait_committed, wait_for, wait_rows)
from conftest import SERVICES_DIR, parse_env_file
from sluice_run import Sluice, mysql_connect, mysql_exec, mysql_rows
from test_mysql_snapshot import Writer, fill


def source_state(mariadb, db):
    return [{"id": str(r[0]), "v": str(r[1]), "pad": r[2]}
            for r in mysql_rows(mariadb, f"SELECT id, v, pad FROM {db}.t ORDER BY id")]


def sink_state(clickhouse, db):
    return final(clickhouse, f"{db}.t", columns="id, v, pad")


def wait_marker(clickhouse, mariadb, db, s, timeout=300):
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (9999999999, 0, 'marker')")
    wait_for(lambda: final(clickhouse, f"{db}.t", columns="id", where="id = 9999999999"), timeout, s, "the marker")


def new_db(mariadb, clickhouse, name):
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}")
    drop_databases(clickhouse, name)
    return name


def test_kill9_loop_during_snapshot_and_streaming(mariadb, clickhouse, tmp_path):
    db = new_db(mariadb, clickhouse, "ch_crash")
    n = 200_000
    fill(mariadb, db, n)
    yaml = mysql_yaml(mariadb, clickhouse, f"{db}.t", db, "ch_crash", server_id=5801, checkpoint_interval="200ms",
                      extra_source="  scan.incremental.snapshot.chunk.size: 500",
                      extra_pipeline="  parallelism: 2", extra_sink="  insert.block-size: 64KiB")
    s = Sluice(tmp_path, yaml, env=env_for(mysql=mariadb, ch=clickhouse))
    writer = Writer(mariadb, db, n, seed=21)
    writer.start()
    s.start(wait_for="clickhouse sink: connected", timeout=60)
    # the 200k-row snapshot takes 1-3 s of sluice's time (quiet machine or
    # loaded): kills during it come 0.05-0.35 s after each restart (CI once
    # saw fewer than three with 0.1-0.6 s)
    snap, stream = kill_loop(s, f"{db}.t", random.Random(23), snapshot_longest=0.35, snapshot_shortest=0.05)
    assert snap >= 3, "the snapshot finished before enough crashes"
    assert snap + stream >= 22
    time.sleep(1)
    writer.stop_evt.set()
    writer.join()
    assert writer.error is None, writer.error
    assert writer.ops > 1000
    wait_marker(clickhouse, mariadb, db, s)
    assert s.stop() == 0
    want = source_state(mariadb, db)
    got = sink_state(clickhouse, db)
    assert len(got) == len(want)
    assert got == want


def test_crash_before_the_second_checkpoint_leaves_no_row_of_a_later_deleted_key(mariadb, clickhouse, tmp_path):
    """A fresh start commits its start position before the first row goes
    out. Here no other checkpoint is ever due (interval 1h): the first run
    writes the whole snapshot and dies; rows are then deleted, updated and
    moved to new keys. The next run replays from the start position, so the
    deletes arrive as rows newer than the crashed run's. (Before, the next
    run began anew at a later position and those rows stayed: seen in CI.)"""
    db = new_db(mariadb, clickhouse, "ch_first")
    fill(mariadb, db, 3000)
    yaml = mysql_yaml(mariadb, clickhouse, f"{db}.t", db, "ch_first", server_id=5805, checkpoint_interval="1h",
                      extra_source="  scan.incremental.snapshot.chunk.size: 500", extra_sink="  insert.block-size: 8KiB")
    s = Sluice(tmp_path, yaml, env=env_for(mysql=mariadb, ch=clickhouse))
    s.start(wait_for="clickhouse sink: connected", timeout=60)
    ck = wait_checkpoint(clickhouse, db, "ch_first", proc=s)
    # the start position, before any chunk (no other checkpoint is due for an hour)
    assert ck["source"]["snapshot"]["tables"][0]["chunks"] == 0, ck
    wait_for(lambda: physical_count(clickhouse, f"{db}.t") >= 2500, 60, s, "most of the snapshot's rows")
    s.kill9()
    assert checkpoint(clickhouse, db, "ch_first") == ck, "no second checkpoint was due"
    mysql_exec(mariadb, f"DELETE FROM {db}.t WHERE id <= 100", f"UPDATE {db}.t SET v = -v WHERE id BETWEEN 101 AND 200",
               f"UPDATE {db}.t SET id = id + 10000 WHERE id BETWEEN 201 AND 300")
    s.start(wait_for="clickhouse sink: connected", timeout=60)
    wait_marker(clickhouse, mariadb, db, s)
    assert s.stop() == 0
    want, got = source_state(mariadb, db), sink_state(clickhouse, db)
    assert [r["id"] for r in got if int(r["id"]) <= 300] == [r["id"] for r in want if int(r["id"]) <= 300]
    assert got == want


def test_crash_between_data_and_checkpoint_replays_into_deduplicated_blocks(mariadb, clickhouse, tmp_path):
    db = new_db(mariadb, clickhouse, "ch_dedup")
    mysql_exec(mariadb, f"CREATE TABLE {db}.t (id BIGINT PRIMARY KEY, v BIGINT NOT NULL, pad VARCHAR(40))",
               f"CREATE TABLE {db}.u (id BIGINT PRIMARY KEY, v BIGINT NOT NULL)")
    yaml = mysql_yaml(mariadb, clickhouse, f"{db}.\\.*", db, "ch_dedup", startup="latest-offset", server_id=5802,
                      checkpoint_interval="3s", extra_sink="  insert.block-size: 8KiB")
    s = Sluice(tmp_path, yaml, env=env_for(mysql=mariadb, ch=clickhouse)).start()
    mysql_exec(mariadb, f"INSERT INTO {db}.u VALUES (0, 0)")
    wait_rows(clickhouse, f"{db}.u", 1, proc=s)
    wait_committed(s, 0)
    set_faults(clickhouse, [{"match": f"INSERT INTO `{db}`.`sluice_checkpoints`", "body": "\\ncheckpoint",
                             "action": "hang", "message": "Code: 210. DB::Exception: Connection reset. (NETWORK_ERROR)"}])
    try:
        # one transaction, so one epoch: many blocks of t (cut by size), rows of u between them,
        # updates and deletes
        conn = mysql_connect(mariadb, autocommit=False)
        with conn.cursor() as cur:
            for i in range(1, 41):
                cur.execute(f"INSERT INTO {db}.t SELECT seq + {i * 1000}, seq, REPEAT('x', 30) FROM {db}.seq_1_to_100")
                cur.execute(f"INSERT INTO {db}.u VALUES ({i}, {i})")
                cur.execute(f"UPDATE {db}.t SET v = v + 1 WHERE id = {i * 1000 + 1}")
                cur.execute(f"DELETE FROM {db}.t WHERE id = {i * 1000 + 2}")
        conn.commit()
        conn.close()
        wait_for(lambda: int(final(clickhouse, f"{db}.u", columns="count() AS n", order="n")[0]["n"]) == 41 and
                 checkpoint_after_data(front_log(clickhouse), db), proc=s,
                 what="the epoch's data and its hanging checkpoint")
        s.kill9()
    finally:
        clear_faults(clickhouse)
    before = {"t": physical_count(clickhouse, f"{db}.t"), "u": physical_count(clickhouse, f"{db}.u")}
    s.start()
    assert "the replay cuts at the same events" in s.log_text()
    wait_committed(s, 0)
    assert s.stop() == 0
    # every block of the replayed epoch was dropped by the server as a duplicate
    assert {"t": physical_count(clickhouse, f"{db}.t"), "u": physical_count(clickhouse, f"{db}.u")} == before
    tokens = [e["query"].split("insert_deduplication_token = ")[1].split("'")[1] for e in front_log(clickhouse)
              if e["query"].startswith(f"INSERT INTO `{db}`.`t`")]
    assert len(tokens) > 10 and len(tokens) == 2 * len(set(tokens))
    assert sink_state(clickhouse, db) == source_state(mariadb, db)
    assert final(clickhouse, f"{db}.u", columns="id") == [{"id": str(i)} for i in range(41)]


def checkpoint_after_data(log, db):
    """The last thing sluice sent is a checkpoint row (the readers' own queries aside)."""
    inserts = [e["query"] for e in log if e["query"].startswith(f"INSERT INTO `{db}`.")]
    return bool(inserts) and inserts[-1].startswith(f"INSERT INTO `{db}`.`sluice_checkpoints`")


def restart_front(clickhouse):
    """Starts the front again on its port once the killed one let go of it:
    a process with chDB's memory takes a while to die after SIGKILL (its
    memory goes before its sockets), and a start during that time finds the
    port taken and fails, leaving every later test without a server."""
    deadline = time.time() + 60
    while True:
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", clickhouse.port))
            break
        except OSError:
            assert time.time() < deadline, f"port {clickhouse.port} still taken 60 s after the front was killed"
            time.sleep(0.1)
        finally:
            probe.close()
    # and once the killed process is gone (or a zombie): clickhouse.sh takes
    # a live pid file for a running front and reuses it, so a start while the
    # killed one was still exiting "succeeded" without a server
    while True:
        try:
            with open(f"/proc/{clickhouse.pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            break
        if state == "Z":
            break
        assert time.time() < deadline, f"the killed front (pid {clickhouse.pid}) still exits after 60 s ({state})"
        time.sleep(0.1)
    env = dict(os.environ, CLICKHOUSE_PORT=str(clickhouse.port))
    subprocess.run(["bash", str(SERVICES_DIR / "clickhouse.sh"), "start", clickhouse.dir], env=env, check=True,
                   capture_output=True, timeout=90)
    pid = int(parse_env_file(os.path.join(clickhouse.dir, "env.sh"))["CLICKHOUSE_PID"])
    clickhouse["pid"] = pid


def test_server_killed_and_restarted_mid_epoch(mariadb, clickhouse, tmp_path):
    db = new_db(mariadb, clickhouse, "ch_srvkill")
    n = 20_000
    fill(mariadb, db, n)
    yaml = mysql_yaml(mariadb, clickhouse, f"{db}.t", db, "ch_srvkill", server_id=5803, checkpoint_interval="300ms",
                      extra_sink="  insert.block-size: 64KiB")
    s = Sluice(tmp_path, yaml, env=env_for(mysql=mariadb, ch=clickhouse)).start()
    wait_rows(clickhouse, f"{db}.t", n, proc=s, timeout=120)
    writer = Writer(mariadb, db, n, seed=31)
    writer.start()
    try:
        for _ in range(2):
            time.sleep(1.0)
            # the front's own pid (the recorded one can be a setsid that forked)
            found = subprocess.run(["pgrep", "-n", "-f", f"clickhouse_front.py --dir {clickhouse.dir} "],
                                   capture_output=True, text=True).stdout.split()
            clickhouse["pid"] = int(found[0]) if found else clickhouse.pid
            os.kill(clickhouse.pid, signal.SIGKILL)
            time.sleep(1.5)
            restart_front(clickhouse)
    finally:
        writer.stop_evt.set()
        writer.join()
    assert writer.error is None, writer.error
    wait_marker(clickhouse, mariadb, db, s)
    assert s.proc.poll() is None
    assert s.stop() == 0
    log = s.log_text()
    assert "Couldn't connect to server; trying again in" in log or "restarting from the last checkpoint" in log
    assert sink_state(clickhouse, db) == source_state(mariadb, db)


def test_http_5xx_mid_epoch_replays_the_epoch(mariadb, clickhouse, tmp_path):
    db = new_db(mariadb, clickhouse, "ch_5xx")
    mysql_exec(mariadb, f"CREATE TABLE {db}.t (id BIGINT PRIMARY KEY, v BIGINT NOT NULL, pad VARCHAR(40))")
    yaml = mysql_yaml(mariadb, clickhouse, f"{db}.t", db, "ch_5xx", startup="latest-offset", server_id=5804,
                      checkpoint_interval="5s", extra_sink="  insert.block-size: 4KiB\n  retry.timeout: 1s")
    s = Sluice(tmp_path, yaml, env=env_for(mysql=mariadb, ch=clickhouse)).start()
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (0, 0, 'first')")
    wait_rows(clickhouse, f"{db}.t", 1, proc=s)
    # the epoch's third block and every one after it fail until the server "recovers"
    set_faults(clickhouse, [{"match": f"^INSERT INTO `{db}`.`t`", "skip": 2, "times": 10**6,
                             "message": "Code: 999. DB::Exception: Session expired. (KEEPER_EXCEPTION)"}])
    try:
        mysql_exec(mariadb, f"INSERT INTO {db}.t SELECT seq, seq, REPEAT('y', 30) FROM {db}.seq_1_to_2000",
                   f"UPDATE {db}.t SET v = -v WHERE id % 7 = 0", f"DELETE FROM {db}.t WHERE id % 11 = 0")
        wait_for(lambda: "restarting from the last checkpoint" in s.log_text(), 60, s, "a restart")
        partial = physical_count(clickhouse, f"{db}.t")
    finally:
        clear_faults(clickhouse)
    wait_marker(clickhouse, mariadb, db, s, timeout=120)
    assert s.stop() == 0
    assert partial > 1  # the blocks before the failure were in the table: the epoch was half written
    assert "(KEEPER_EXCEPTION) (version 26.9.2.1) (" in s.log_text()
    want = [{"id": str(r[0]), "v": str(r[1]), "pad": r[2]}
            for r in mysql_rows(mariadb, f"SELECT id, v, pad FROM {db}.t ORDER BY id")]
    assert sink_state(clickhouse, db) == want
