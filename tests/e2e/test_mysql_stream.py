"""mysql source -> file sink against a real MariaDB: the change sequence,
schema changes, a large transaction, a server restart and kill -9 of sluice.
Every test compares what the sink holds with what the database holds."""

from __future__ import annotations

import itertools
import os
import random
import re
import signal
import subprocess
import time

import pytest

from conftest import sluice_binary
from sluice_run import (Sluice, assert_stops_promptly, changes, connect_decimal, mysql_connect, mysql_exec, mysql_pipeline_yaml, mysql_rows,
                        read_events, replay, silent_server, wait_events, wait_for_key)

_ids = itertools.count(5500)


def new_pipeline(mariadb, tmp_path, db, **kw):
    out = tmp_path / "out.jsonl"
    yaml = mysql_pipeline_yaml(mariadb, f"{db}.\\.*", out, name=db, server_id=next(_ids), **kw)
    return Sluice(tmp_path, yaml, env={"TEST_MYSQL_PASSWORD": mariadb.password}), out


@pytest.fixture
def db(mariadb, request):
    name = "t_" + request.node.name.replace("[", "_").replace("]", "")[:40]
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}")
    return name


def test_changes_across_tables_and_transactions(mariadb, tmp_path, db):
    mysql_exec(mariadb,
               f"CREATE TABLE {db}.a (id INT PRIMARY KEY, v VARCHAR(20))",
               f"CREATE TABLE {db}.b (k BIGINT UNSIGNED PRIMARY KEY, n INT)",
               f"CREATE TABLE {db}.ignored (id INT PRIMARY KEY)")
    s, out = new_pipeline(mariadb, tmp_path, db, extra_source=f"  tables.exclude: {db}.ignored")
    s.start()
    mysql_exec(mariadb,
               "BEGIN",
               f"INSERT INTO {db}.a VALUES (1, 'one'), (2, 'two')",
               f"INSERT INTO {db}.b VALUES (18446744073709551615, 7)",
               f"INSERT INTO {db}.ignored VALUES (1)",
               "COMMIT",
               f"UPDATE {db}.a SET v = 'uno' WHERE id = 1",
               f"DELETE FROM {db}.b",
               "BEGIN",
               f"UPDATE {db}.a SET id = 3 WHERE id = 2",
               "COMMIT")
    evs = wait_events(out, 6, proc=s)
    time.sleep(0.5)
    assert s.stop() == 0
    evs = changes(out)
    got = [(e["op"], e["source"]["table"], e["before"], e["after"]) for e in evs]
    assert got == [
        ("c", "a", None, {"id": 1, "v": "one"}),
        ("c", "a", None, {"id": 2, "v": "two"}),
        ("c", "b", None, {"k": connect_decimal(18446744073709551615), "n": 7}),
        ("u", "a", {"id": 1, "v": "one"}, {"id": 1, "v": "uno"}),
        ("d", "b", {"k": connect_decimal(18446744073709551615), "n": 7}, None),
        ("u", "a", {"id": 2, "v": "two"}, {"id": 3, "v": "two"}),
    ]
    # one transaction shares one GTID; separate transactions do not
    gtids = [e["source"]["gtid"] for e in evs]
    assert gtids[0] == gtids[1] == gtids[2]
    assert len({gtids[0], gtids[3], gtids[4], gtids[5]}) == 4
    assert all(e["source"]["connector"] == "mariadb" and e["source"]["db"] == db for e in evs)
    assert all(e["source"]["file"].startswith("binlog.") and e["source"]["pos"] > 0 for e in evs)
    assert [e["source"]["row"] for e in evs[:2]] == [0, 1]


def test_schema_change_mid_stream(mariadb, tmp_path, db):
    mysql_exec(mariadb, f"CREATE TABLE {db}.t (id INT PRIMARY KEY, a INT)")
    s, out = new_pipeline(mariadb, tmp_path, db)
    s.start()
    mysql_exec(mariadb,
               f"INSERT INTO {db}.t VALUES (1, 10)",
               f"ALTER TABLE {db}.t ADD COLUMN b VARCHAR(10) DEFAULT 'x'",
               f"INSERT INTO {db}.t VALUES (2, 20, 'y')",
               f"ALTER TABLE {db}.t DROP COLUMN a",
               f"UPDATE {db}.t SET b = 'z' WHERE id = 1",
               f"ALTER TABLE {db}.t CHANGE COLUMN b c VARCHAR(10)",
               f"DELETE FROM {db}.t WHERE id = 2")
    wait_events(out, 4, proc=s)
    time.sleep(0.3)
    assert s.stop() == 0
    lines = read_events(out)
    shape = []
    for e in lines:
        if "tableChanges" in e:
            t = e["tableChanges"][0]
            shape.append(("schema", t["schemaVersion"], [c["name"] for c in t["table"]["columns"]], t["type"],
                          e["ddl"]))
        else:
            shape.append((e["op"], e["before"], e["after"]))
    # each ALTER's statement goes with the shape it made, whether sluice read
    # it at the binlog's end (the catalog's columns) or behind (the rows');
    # the table's first shape, from its rows, has none
    assert shape == [
        ("schema", 1, ["id", "a"], "CREATE", None),
        ("c", None, {"id": 1, "a": 10}),
        ("schema", 2, ["id", "a", "b"], "ALTER", f"ALTER TABLE {db}.t ADD COLUMN b VARCHAR(10) DEFAULT 'x'"),
        ("c", None, {"id": 2, "a": 20, "b": "y"}),
        ("schema", 3, ["id", "b"], "ALTER", f"ALTER TABLE {db}.t DROP COLUMN a"),
        ("u", {"id": 1, "b": "x"}, {"id": 1, "b": "z"}),
        ("schema", 4, ["id", "c"], "ALTER", f"ALTER TABLE {db}.t CHANGE COLUMN b c VARCHAR(10)"),
        ("d", {"id": 2, "c": "y"}, None),
    ]


def test_large_transaction_streams_through(mariadb, tmp_path, db):
    mysql_exec(mariadb, f"CREATE TABLE {db}.big (id INT PRIMARY KEY, pad CHAR(100))")
    s, out = new_pipeline(mariadb, tmp_path, db,
                          extra_pipeline="  queue.max-bytes: 2MiB\n  batch.size: 256KiB")
    s.start()
    n = 100_000
    mysql_exec(mariadb, f"INSERT INTO {db}.big SELECT seq, REPEAT('p', 100) FROM {db}.seq_1_to_{n}")
    evs = wait_events(out, n, timeout=120, proc=s)
    # peak memory stays far below the transaction's size (~15 MB of JSON)
    rss_kib = int(next(l for l in open(f"/proc/{s.proc.pid}/status") if l.startswith("VmHWM")).split()[1])
    assert s.stop() == 0
    evs = changes(out)
    assert len(evs) == n
    assert [e["after"]["id"] for e in evs] == list(range(1, n + 1))
    assert len({e["source"]["gtid"] for e in evs}) == 1
    # AddressSanitizer's shadow memory and quarantine add their own
    limit = 64 * 1024 if "asan" not in str(sluice_binary()) else 256 * 1024
    assert rss_kib < limit, f"peak RSS {rss_kib} KiB"


def _writer(mariadb, db, start, count, seed):
    """A deterministic mix of inserts, updates and deletes; returns nothing,
    the database is the reference."""
    rnd = random.Random(seed)
    conn_stmts = []
    for i in range(start, start + count):
        op = rnd.random()
        k = rnd.randrange(1, 200)
        if op < 0.5:
            conn_stmts.append(f"INSERT INTO {db}.kv VALUES ({k}, {i}) ON DUPLICATE KEY UPDATE v = {i}")
        elif op < 0.8:
            conn_stmts.append(f"UPDATE {db}.kv SET v = v + 1 WHERE id = {k}")
        else:
            conn_stmts.append(f"DELETE FROM {db}.kv WHERE id = {k}")
    mysql_exec(mariadb, *conn_stmts)


def _assert_sink_equals_source(mariadb, db, out):
    evs = changes(out)
    state = {k[1]: v for k, v in replay(evs).items()}
    source = {r[0]: {"id": r[0], "v": r[1]} for r in mysql_rows(mariadb, f"SELECT id, v FROM {db}.kv")}
    assert state == source
    return evs


def test_kill9_and_restart_loses_and_repeats_nothing(mariadb, tmp_path, db):
    mysql_exec(mariadb, f"CREATE TABLE {db}.kv (id INT PRIMARY KEY, v BIGINT)")
    s, out = new_pipeline(mariadb, tmp_path, db)
    s.start()
    total = 0
    for round_ in range(5):
        _writer(mariadb, db, total, 400, seed=round_)
        total += 400
        time.sleep(random.Random(round_).uniform(0.05, 0.4))
        s.kill9()
        s.start(wait_for="mysql source: streaming")
        assert "resuming from checkpoint" in s.log_text() or round_ == 0
    # wait until the position of the source is reached, then compare
    marker = total
    mysql_exec(mariadb, f"INSERT INTO {db}.kv VALUES (100000, {marker})")
    wait_for_key(out, 100000, s, timeout=60)
    assert s.stop() == 0
    evs = _assert_sink_equals_source(mariadb, db, out)
    # exactly once: every (file, pos, row) appears once
    keys = [(e["source"]["file"], e["source"]["pos"], e["source"]["row"]) for e in evs]
    assert len(keys) == len(set(keys))


def _start_server(repo_root, mariadb, extra_env=None):
    """mariadb.sh start on the session server's directory and port. The
    restart is the harness's, not what these tests test: a start that fails
    (CI saw one fail within a second, its output not kept) is tried once
    more after 2 s, and a second failure reports both outputs and the end of
    the server's log."""
    script = str(repo_root / "tests/services/mariadb.sh")
    env = dict(os.environ, MARIADB_PORT=str(mariadb.port), **(extra_env or {}))
    tries = []
    for attempt in range(2):
        p = subprocess.run(["bash", script, "start", mariadb.dir], capture_output=True, text=True, env=env)
        if p.returncode == 0:
            if tries:
                print(f"mariadb.sh start failed once, then started:\n{tries[0]}")
            return
        log = os.path.join(mariadb.dir, "mariadbd.log")
        tail = open(log, errors="replace").read()[-3000:] if os.path.exists(log) else "(no mariadbd.log)"
        tries.append(f"exit {p.returncode}\n{p.stderr}\n--- mariadbd.log ---\n{tail}")
        time.sleep(2)
    raise AssertionError("mariadb.sh start failed twice:\n" + "\n=====\n".join(tries))


def test_server_restart_mid_stream(mariadb, tmp_path, db, repo_root):
    mysql_exec(mariadb, f"CREATE TABLE {db}.kv (id INT PRIMARY KEY, v BIGINT)")
    s, out = new_pipeline(mariadb, tmp_path, db)
    s.start()
    _writer(mariadb, db, 0, 300, seed=11)
    subprocess.run(["bash", str(repo_root / "tests/services/mariadb.sh"), "stop", mariadb.dir],
                   check=True, capture_output=True)
    time.sleep(1.5)
    _start_server(repo_root, mariadb)
    _writer(mariadb, db, 300, 300, seed=12)
    mysql_exec(mariadb, f"INSERT INTO {db}.kv VALUES (100000, 1)")
    wait_for_key(out, 100000, s, timeout=60)
    assert s.proc.poll() is None, s.log_text()
    assert "reconnecting" in s.log_text()
    assert s.stop() == 0
    evs = _assert_sink_equals_source(mariadb, db, out)
    keys = [(e["source"]["file"], e["source"]["pos"], e["source"]["row"]) for e in evs]
    assert len(keys) == len(set(keys))



def _tx_writer(mariadb, db, stop, counter):
    """Transactions of three statements each, one after another, until stop
    is set; a lost connection (the server going down) is retried until it
    comes back. The database is the reference: a commit whose answer was
    lost may or may not have happened, and the comparison reads the source."""
    rnd = random.Random(31)
    conn = None
    i = 0
    while not stop.is_set():
        try:
            if conn is None:
                conn = mysql_connect(mariadb, autocommit=False)
            with conn.cursor() as cur:
                for _ in range(3):
                    k = rnd.randrange(1, 300)
                    op = rnd.random()
                    if op < 0.6:
                        cur.execute(f"INSERT INTO {db}.kv VALUES ({k}, {i}) ON DUPLICATE KEY UPDATE v = {i}")
                    elif op < 0.85:
                        cur.execute(f"UPDATE {db}.kv SET v = v + 1 WHERE id = {k}")
                    else:
                        cur.execute(f"DELETE FROM {db}.kv WHERE id = {k}")
                    i += 1
            conn.commit()
            counter[0] += 1
        except Exception:  # the server is going down or starting: reconnect
            try:
                if conn is not None:
                    conn.close()
            except Exception:
                pass
            conn = None
            time.sleep(0.05)
    if conn is not None:
        conn.close()


BIG = 100_000


def _server_gone(pid, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return
        except FileNotFoundError:
            return
        time.sleep(0.05)
    raise AssertionError(f"mariadbd {pid} still running")


@pytest.mark.parametrize("how", ["shutdown", "kill9"])
def test_gtid_strict_mode_and_restart_mid_transaction_stream(mariadb, tmp_path, db, repo_root, how):
    """gtid_strict_mode=ON, and the server stopped (a clean shutdown, or
    kill -9 of mariadbd once a 100k-row transaction committed, sluice paused
    meanwhile so that it can have read only part of it) and
    started again while a writer commits transactions without pause: the
    restart rotates the binlog, sluice reconnects (after kill -9 from
    inside the big transaction, which it reads again from its start), and
    the sink ends equal to the source, every binlog row once, GTIDs in
    strictly increasing order per transaction."""
    import threading
    script = str(repo_root / "tests/services/mariadb.sh")
    mysql_exec(mariadb, "SET GLOBAL gtid_strict_mode = ON",
               f"CREATE TABLE {db}.kv (id INT PRIMARY KEY, v BIGINT)",
               f"CREATE TABLE {db}.big (id INT PRIMARY KEY, pad CHAR(200))")
    try:
        file_before = mysql_rows(mariadb, "SHOW MASTER STATUS")[0][0]
        s, out = new_pipeline(mariadb, tmp_path, db)
        s.start()
        stop, counter = threading.Event(), [0]
        w = threading.Thread(target=_tx_writer, args=(mariadb, db, stop, counter))
        w.start()
        try:
            while counter[0] < 200:
                time.sleep(0.05)
            pid = int(open(os.path.join(mariadb.dir, "mariadbd.pid")).read())  # our own server
            if how == "kill9":
                # sluice paused: the server can hand over no more of the
                # ~25 MB transaction than the socket buffers hold before it
                # dies, so sluice is surely inside it when the stream ends
                os.kill(s.proc.pid, signal.SIGSTOP)
            mysql_exec(mariadb, f"INSERT INTO {db}.big SELECT seq, REPEAT('p', 200) FROM {db}.seq_1_to_{BIG}")
            if how == "kill9":
                os.kill(pid, signal.SIGKILL)
                _server_gone(pid)
                os.kill(s.proc.pid, signal.SIGCONT)
            else:
                subprocess.run(["bash", script, "stop", mariadb.dir], check=True, capture_output=True)
            at_stop = counter[0]
            time.sleep(1.0)
            _start_server(repo_root, mariadb, {"MARIADB_EXTRA_CNF": "gtid_strict_mode = ON"})
            deadline = time.time() + 60
            while counter[0] < at_stop + 200 and time.time() < deadline:
                time.sleep(0.05)
            assert counter[0] >= at_stop + 200, "the writer did not resume after the restart"
        finally:
            stop.set()
            w.join(30)
        assert mysql_rows(mariadb, "SELECT @@GLOBAL.gtid_strict_mode")[0][0] == 1
        file_after = mysql_rows(mariadb, "SHOW MASTER STATUS")[0][0]
        assert file_after != file_before
        mysql_exec(mariadb, f"INSERT INTO {db}.kv VALUES (100000, 1)")
        wait_for_key(out, 100000, s, timeout=120)
        assert s.stop() == 0
        lost = re.search(r"binlog stream lost .*; reconnecting from (binlog\.\d+):(\d+)", s.log_text())
        assert lost, s.log_text()[-3000:]
        evs = changes(out)
        kv = [e for e in evs if e["source"]["table"] == "kv"]
        state = {k[1]: v for k, v in replay(kv).items()}
        source = {r[0]: {"id": r[0], "v": r[1]} for r in mysql_rows(mariadb, f"SELECT id, v FROM {db}.kv")}
        assert state == source
        assert [e["after"]["id"] for e in evs if e["source"]["table"] == "big"] == list(range(1, BIG + 1))
        keys = [(e["source"]["file"], e["source"]["pos"], e["source"]["row"]) for e in evs]
        assert len(keys) == len(set(keys))
        # after kill -9 sluice was inside the big transaction when the
        # server went away: it resumed from before it, read it again from
        # its start (a clean shutdown lets it read to the end first)
        if how == "kill9":
            big_at = next(e["source"]["pos"] for e in evs if e["source"]["table"] == "big")
            assert lost.group(1) == file_before and int(lost.group(2)) <= big_at, (lost.group(0), big_at)
        # the stream crossed into the binlog the restart opened
        assert {e["source"]["file"] for e in kv} >= {file_before, file_after}
        # strict mode: one domain, sequence numbers rising with each transaction
        seqs = []
        for e in evs:
            domain, _, seq = e["source"]["gtid"].split("-")
            assert domain == "0"
            if not seqs or seqs[-1] != int(seq):
                seqs.append(int(seq))
        assert seqs == sorted(set(seqs)), "GTIDs out of order or repeated"
    finally:
        mysql_exec(mariadb, "SET GLOBAL gtid_strict_mode = OFF")


def test_sigterm_while_the_server_is_down_stops_cleanly(mariadb, tmp_path, db, repo_root):
    """The server goes away, sluice backs off reconnecting (connect.max-retries
    20, so it would go on for minutes): SIGTERM ends it at once with exit 0,
    and a restart after the outage loses and repeats nothing."""
    mysql_exec(mariadb, f"CREATE TABLE {db}.kv (id INT PRIMARY KEY, v BIGINT)")
    s, out = new_pipeline(mariadb, tmp_path, db, extra_source="  connect.max-retries: 20")
    s.config.write_text(s.config.read_text().replace("  connect.max-retries: 30\n", ""))
    s.start()
    _writer(mariadb, db, 0, 300, seed=21)
    mysql_exec(mariadb, f"INSERT INTO {db}.kv VALUES (100000, 1)")
    wait_for_key(out, 100000, s, timeout=60)
    script = str(repo_root / "tests/services/mariadb.sh")
    subprocess.run(["bash", script, "stop", mariadb.dir], check=True, capture_output=True)
    try:
        s.wait_log("reconnecting", timeout=30)
        time.sleep(2.5)  # well into the back-off
        committed = out.stat().st_size
        log = assert_stops_promptly(s)
        assert "mysql source: stopped while the server was unavailable" in log
        assert "error" not in log.split("received SIGTERM")[1], log
        assert out.stat().st_size == committed  # nothing new, nothing cut
    finally:
        _start_server(repo_root, mariadb)
    _writer(mariadb, db, 300, 300, seed=22)
    mysql_exec(mariadb, f"INSERT INTO {db}.kv VALUES (100001, 1)")
    s.start()
    wait_for_key(out, 100001, s, timeout=60)
    assert s.stop() == 0
    evs = _assert_sink_equals_source(mariadb, db, out)
    keys = [(e["source"]["file"], e["source"]["pos"], e["source"]["row"]) for e in evs]
    assert len(keys) == len(set(keys))


def test_sigterm_while_connecting_to_a_silent_server(mariadb, tmp_path, db):
    """A server that accepts the TCP connection but never answers (a hung
    host): the connect waits up to connect.timeout, but SIGTERM cuts it."""
    with silent_server() as port:
        out = tmp_path / "out.jsonl"
        yaml = mysql_pipeline_yaml(mariadb, f"{db}.kv", out, name=db, server_id=next(_ids),
                                   extra_source="  connect.timeout: 60s")
        s = Sluice(tmp_path, yaml.replace(f"port: {mariadb.port}", f"port: {port}"),
                   env={"TEST_MYSQL_PASSWORD": mariadb.password})
        s.start(wait_for="pipeline")
        time.sleep(1.5)
        assert s.proc.poll() is None, s.log_text()
        log = assert_stops_promptly(s)
        assert (f"mysql source: stopped while the server was unavailable (mysql source: stopped while "
                f"connecting to 127.0.0.1:{port})") in log
        assert not out.exists() or changes(out) == []


def test_sighup_is_logged_and_ignored(mariadb, tmp_path, db):
    mysql_exec(mariadb, f"CREATE TABLE {db}.kv (id INT PRIMARY KEY, v BIGINT)")
    s, out = new_pipeline(mariadb, tmp_path, db)
    s.start()
    s.proc.send_signal(signal.SIGHUP)
    s.wait_log("received SIGHUP: ignored, sluice keeps running (stop it with SIGTERM or SIGINT)")
    mysql_exec(mariadb, f"INSERT INTO {db}.kv VALUES (1, 1)")
    wait_events(out, 1, proc=s)
    assert s.proc.poll() is None
    assert s.stop() == 0
    assert [e["after"] for e in changes(out)] == [{"id": 1, "v": 1}]


def test_compressed_binlog_events(mariadb, tmp_path, db):
    """log_bin_compress=ON: compressed QUERY (DDL) and ROWS events decode
    to what their plain kinds would (MariaDB compresses events whose
    payload reaches log_bin_compress_min_len, here every one)."""
    s, out = new_pipeline(mariadb, tmp_path, db)
    s.start()
    conn = mysql_connect(mariadb)
    try:
        with conn.cursor() as cur:
            cur.execute("SET GLOBAL log_bin_compress = ON")
            cur.execute("SET GLOBAL log_bin_compress_min_len = 10")
            cur.execute(f"CREATE TABLE {db}.z (id INT PRIMARY KEY, s TEXT, n BIGINT UNSIGNED)")
            cur.execute(f"INSERT INTO {db}.z SELECT seq, REPEAT(CHAR(96 + seq % 26), seq * 10), seq * 1000 "
                        f"FROM {db}.seq_1_to_200")
            cur.execute(f"UPDATE {db}.z SET s = 'short' WHERE id <= 3")
            cur.execute(f"DELETE FROM {db}.z WHERE id > 198")
            cur.execute(f"ALTER TABLE {db}.z ADD COLUMN extra VARCHAR(300) DEFAULT '{'q' * 200}'")
            cur.execute(f"INSERT INTO {db}.z (id, s, n) VALUES (500, 'after the alter', 1)")
            cur.execute("SHOW MASTER STATUS")
            current = cur.fetchone()[0]
            cur.execute(f"SHOW BINLOG EVENTS IN '{current}'")
            kinds = {r[2] for r in cur.fetchall()}
    finally:
        with conn.cursor() as cur:
            cur.execute("SET GLOBAL log_bin_compress = OFF")
            cur.execute("SET GLOBAL log_bin_compress_min_len = 256")
        conn.close()
    # the server really wrote compressed events of both kinds
    assert {"Query_compressed", "Write_rows_compressed_v1", "Update_rows_compressed_v1",
            "Delete_rows_compressed_v1"} <= kinds, kinds
    wait_for_key(out, 500, s)
    assert s.stop() == 0
    # rows written before the ALTER carry no `extra` (no event rewrote them)
    got = {k[1]: {c: v[c] for c in ("id", "s", "n")} for k, v in replay(changes(out)).items()}
    # BIGINT UNSIGNED as Connect Decimal bytes (bigint.unsigned.handling.mode precise)
    want = {r[0]: {"id": r[0], "s": r[1], "n": None if r[2] is None else connect_decimal(r[2])}
            for r in mysql_rows(mariadb, f"SELECT id, s, n FROM {db}.z")}
    assert len(got) == 199
    assert replay(changes(out))[((db, "z"), 500)]["extra"] == "q" * 200
    assert got == want
    assert "schema of" in s.log_text() and "is now version 2" in s.log_text()


def test_partial_row_images_are_refused_with_the_fix(mariadb, tmp_path, db):
    """binlog_row_image MINIMAL or NOBLOB leaves columns out of row images:
    a session that writes them stops the pipeline naming the table, the
    position and the fix; a server set so globally is refused at start."""
    mysql_exec(mariadb, f"CREATE TABLE {db}.m (id INT PRIMARY KEY, a INT, b TEXT)",
               f"INSERT INTO {db}.m VALUES (1, 1, 'x')")
    s, out = new_pipeline(mariadb, tmp_path, db)
    s.start()
    mysql_exec(mariadb, "SET SESSION binlog_row_image = 'MINIMAL'", f"UPDATE {db}.m SET a = 2 WHERE id = 1")
    assert s.wait_exit(30) == 2, s.log_text()
    log = s.log_text()
    assert re.search(rf"mysql source: {db}\.m at binlog\.\d+:\d+: the row image lacks columns \(written with "
                     r"binlog_row_image MINIMAL or NOBLOB, perhaps by one session\), so the rows cannot be emitted "
                     r"whole; fix: SET GLOBAL binlog_row_image = 'FULL'; \(sessions that set it themselves must "
                     r"stop doing so\), then resume", log), log
    assert not [e for e in changes(out) if e["op"] == "u"]

    s2, _ = new_pipeline(mariadb, tmp_path / "2", db)
    try:
        mysql_exec(mariadb, "SET GLOBAL binlog_row_image = 'NOBLOB'")
        s2.start(wait_for=None)
        assert s2.wait_exit(30) == 2, s2.log_text()
    finally:
        mysql_exec(mariadb, "SET GLOBAL binlog_row_image = 'FULL'")
    assert ("mysql source: binlog_row_image = NOBLOB, but sluice needs every column in every row image; fix: SET "
            "GLOBAL binlog_row_image = 'FULL'; and binlog_row_image=FULL in my.cnf [mysqld]") in s2.log_text()
