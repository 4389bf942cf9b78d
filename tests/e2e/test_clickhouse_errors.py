"""The clickhouse sink's errors: each names the place and the fix, and
what was committed before stays. MariaDB is the source throughout.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess

from clickhouse_read import (drop_databases, clear_faults, env_for, exec_, final, front_log, mysql_yaml, rows, set_faults,
                             wait_for, wait_rows)
from conftest import sluice_binary
from sluice_run import Sluice, mysql_exec


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(mariadb, clickhouse, tmp_path, db, tables, name, server_id, **kw):
    return Sluice(tmp_path, mysql_yaml(mariadb, clickhouse, tables, db, name, server_id=server_id, **kw),
                  env=env_for(mysql=mariadb, ch=clickhouse))


def test_unreachable_server_exits_1_naming_the_urls(mariadb, clickhouse, tmp_path):
    db = "ch_unreach"
    drop_databases(clickhouse, db)
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.t (id INT PRIMARY KEY)")
    p1, p2 = free_port(), free_port()
    yaml = mysql_yaml(mariadb, clickhouse, f"{db}.t", db, "ch_unreach", server_id=5701)
    yaml = yaml.replace(f"url: {clickhouse.url}", f"url: http://127.0.0.1:{p1}, http://127.0.0.1:{p2}")
    yaml = yaml.replace("connect.timeout: 10s", "connect.timeout: 1500ms")
    s = Sluice(tmp_path, yaml, env=env_for(mysql=mariadb, ch=clickhouse)).start(wait_for=None)
    assert s.wait_exit(30) == 1
    log = s.log_text()
    # retried with backoff, alternating between the servers
    assert f"warn  clickhouse sink: http://127.0.0.1:{p1}: Failed to connect to 127.0.0.1 port {p1}" in log
    assert f"warn  clickhouse sink: http://127.0.0.1:{p2}: Failed to connect to 127.0.0.1 port {p2}" in log
    assert re.search(rf"error clickhouse sink: no answer from http://127.0.0.1:{p1}, http://127.0.0.1:{p2} within "
                     rf"1\.5s: Failed to connect to 127\.0\.0\.1 port {p1}|{p2} after \d+ ms: Couldn't connect to "
                     rf"server \(\d+ attempts in 1\.5s\)", log), log


def test_check_connect_reads_and_creates_nothing(mariadb, clickhouse, tmp_path):
    """check --connect runs without create(): it reports the server, the privileges, the checkpoint table still
    to be created, and leaves the database absent; an unreachable server is a failure with its fix."""
    db = "ch_check"
    drop_databases(clickhouse, db)
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.t (id INT PRIMARY KEY)")
    s = start(mariadb, clickhouse, tmp_path / "ok", db, f"{db}.t", "ch_check", 5711)
    out = subprocess.run([str(sluice_binary()), "check", "--connect", str(s.config)], capture_output=True, text=True,
                         env=s.env, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"clickhouse sink {clickhouse.url}\n" in out.stdout, out.stdout
    assert re.search(rf"\n  ok    {re.escape(clickhouse.url)} answers: ClickHouse \d+\.\d+[^\n]* \(23\.2 or newer: "
                     r"ReplacingMergeTree with is_deleted\)\n", out.stdout), out.stdout
    assert f"\n  ok    checkpoint table {db}.sluice_checkpoints is created by the first run\n" in out.stdout, out.stdout
    assert f"\n  ok    no sluice table in database {db} yet; they are created on first use\n" in out.stdout, out.stdout
    assert "FAIL" not in out.stdout, out.stdout
    assert re.search(r"\nclickhouse sink: ready \(\d+ warnings?\)\n", out.stdout), out.stdout
    assert rows(clickhouse, f"SELECT name FROM system.databases WHERE name = '{db}'") == []
    # nothing listens: one failure naming the URL, with the fix
    port = free_port()
    s = Sluice(tmp_path / "gone", s.config.read_text().replace(f"url: {clickhouse.url}",
                                                               f"url: http://127.0.0.1:{port}").replace(
        "connect.timeout: 10s", "connect.timeout: 1s"), env=s.env)
    out = subprocess.run([str(sluice_binary()), "check", "--connect", str(s.config)], capture_output=True, text=True,
                         env=s.env, timeout=120)
    assert out.returncode == 2, out.stdout + out.stderr
    assert f"\n  FAIL  clickhouse sink: no answer from http://127.0.0.1:{port} within " in out.stdout, out.stdout
    assert (f"\n        fix: start the server, or correct url (now http://127.0.0.1:{port}), username and "
            "password\n") in out.stdout, out.stdout
    assert f"clickhouse sink http://127.0.0.1:{port}: 1 check failed; run the fixes shown above" in out.stderr
    # status before the first run: no checkpoint, and still nothing created
    st = subprocess.run([str(sluice_binary()), "status", str(tmp_path / "ok" / "pipeline.yaml")],
                        capture_output=True, text=True, env=s.env, timeout=60)
    assert st.returncode == 0, st.stdout + st.stderr
    assert st.stdout.startswith("pipeline ch_check: no checkpoint committed yet\n  source head {"), st.stdout
    assert rows(clickhouse, f"SELECT name FROM system.databases WHERE name = '{db}'") == []


def test_existing_tables_are_checked(mariadb, clickhouse, tmp_path):
    db = "ch_exist"
    drop_databases(clickhouse, db)
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT)")
    exec_(clickhouse, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}")
    cases = [
        ("CREATE TABLE {t} (id Int32, v Nullable(Int32)) ENGINE = MergeTree ORDER BY id",
         "clickhouse sink: table ch_exist.t exists with engine MergeTree; sluice writes to "
         "ReplacingMergeTree(_version, _is_deleted) tables ordered by the key: drop or rename it, or route the "
         "source table elsewhere"),
        ("CREATE TABLE {t} (id Int32, v Nullable(Int32), _version UInt128, _is_deleted UInt8) "
         "ENGINE = ReplacingMergeTree(_version, _is_deleted) ORDER BY id",
         "clickhouse sink: table ch_exist.t has non_replicated_deduplication_window = 0, so ClickHouse ignores "
         "insert_deduplication_token and a replayed epoch would insert its rows twice; fix: ALTER TABLE "
         "`ch_exist`.`t` MODIFY SETTING non_replicated_deduplication_window = 1000"),
        ("CREATE TABLE {t} (id Int32, v Nullable(Int32), _version UInt64, _is_deleted UInt8) "
         "ENGINE = ReplacingMergeTree(_version, _is_deleted) ORDER BY id SETTINGS non_replicated_deduplication_window = 9",
         "clickhouse sink: table ch_exist.t: column _version is UInt64, but sluice's versions need UInt128 (source "
         "positions are wider than 64 bits)"),
        ("CREATE TABLE {t} (id Int32, v Int16, _version UInt128, _is_deleted UInt8) "
         "ENGINE = ReplacingMergeTree(_version, _is_deleted) ORDER BY id SETTINGS non_replicated_deduplication_window = 9",
         "clickhouse sink: cannot apply the schema of source table ch_exist.t to table ch_exist.t: column v is Int16 "
         "in ClickHouse, but the source's int needs Nullable(Int32); only changes that widen a type are applied (the "
         "column was not created by sluice)"),
    ]
    for i, (ddl, message) in enumerate(cases):
        exec_(clickhouse, f"DROP TABLE IF EXISTS {db}.t", ddl.format(t=f"{db}.t"))
        s = start(mariadb, clickhouse, tmp_path / str(i), db, f"{db}.t", f"ch_exist{i}", 5702 + i)
        s.start(wait_for=None)
        assert s.wait_exit(30) == 1
        assert "error " + message in s.log_text(), s.log_text()
    # check --connect finds the same problem without a source table to compare with
    exec_(clickhouse, f"DROP TABLE IF EXISTS {db}.t", cases[1][0].format(t=f"{db}.t"))
    s = start(mariadb, clickhouse, tmp_path / "check", db, f"{db}.t", "ch_exist_check", 5710)
    out = subprocess.run([str(sluice_binary()), "check", "--connect", str(s.config)], capture_output=True, text=True,
                         env=s.env, timeout=60)
    assert out.returncode == 2, out.stdout + out.stderr
    assert ("\n  FAIL  clickhouse sink: table ch_exist.t has non_replicated_deduplication_window = 0, so ClickHouse "
            "ignores insert_deduplication_token") in out.stdout
    assert f"clickhouse sink {clickhouse.url}: 1 check failed; run the fixes shown above" in out.stderr


def test_table_without_primary_key_needs_an_order_by(mariadb, clickhouse, tmp_path):
    db = "ch_nopk"
    drop_databases(clickhouse, db)
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.log (at INT NOT NULL, msg VARCHAR(20))")
    s = start(mariadb, clickhouse, tmp_path / "a", db, f"{db}.log", "ch_nopk", 5720, startup="latest-offset")
    s.start()
    mysql_exec(mariadb, f"INSERT INTO {db}.log VALUES (1, 'a')")
    assert s.wait_exit(30) == 1
    assert ("error clickhouse sink: source table ch_nopk.log has no primary key, and ReplacingMergeTree needs one "
            "to replace and delete rows: give it one, or set sink option table.order-by (e.g. 'ch_nopk.log: col1, "
            "col2')") in s.log_text()
    s = start(mariadb, clickhouse, tmp_path / "b", db, f"{db}.log", "ch_nopk2", 5721, startup="latest-offset",
              extra_sink="  table.order-by: 'log: at'")
    s.start()
    mysql_exec(mariadb, f"INSERT INTO {db}.log VALUES (2, 'b')", f"UPDATE {db}.log SET msg = 'c' WHERE at = 2")
    # two transactions: the INSERT's epoch may be visible before the UPDATE's
    wait_rows(clickhouse, f"{db}.log", 1, proc=s, where="msg = 'c'", order="at")
    assert final(clickhouse, f"{db}.log", order="at") == [{"at": 2, "msg": "c"}]
    assert s.stop() == 0


def test_a_primary_key_outside_the_order_by_stops_naming_both(mariadb, clickhouse, tmp_path):
    """ReplacingMergeTree keeps one row per ORDER BY key: after the source's
    key moved to (id, v), rows with the same id and another v would merge
    into one, so the pipeline stops naming both keys and the rows committed
    before stay"""
    db = "ch_pkchange"
    drop_databases(clickhouse, db)
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT NOT NULL)", f"INSERT INTO {db}.t VALUES (1, 1), (2, 2)")
    s = start(mariadb, clickhouse, tmp_path / "a", db, f"{db}.t", "ch_pkchange", 5735).start()
    wait_rows(clickhouse, f"{db}.t", 2, proc=s)
    mysql_exec(mariadb, f"ALTER TABLE {db}.t DROP PRIMARY KEY, ADD PRIMARY KEY (id, v)",
               f"INSERT INTO {db}.t VALUES (1, 10)")
    assert s.wait_exit(60) == 1
    assert ("error clickhouse sink: the primary key of source table ch_pkchange.t is (id, v), but table "
            "ch_pkchange.t is ORDER BY (id): ReplacingMergeTree would merge rows the source keeps apart; recreate "
            "the table or route the source table elsewhere (or choose the key with table.order-by)") in s.log_text()
    assert final(clickhouse, f"{db}.t") == [{"id": 1, "v": 1}, {"id": 2, "v": 2}]


def test_a_rejected_insert_names_table_and_key_and_keeps_what_was_committed(mariadb, clickhouse, tmp_path):
    db = "ch_reject"
    drop_databases(clickhouse, db)
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT)", f"INSERT INTO {db}.t VALUES (1, 5)")
    exec_(clickhouse, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
          f"CREATE TABLE {db}.t (id Int32, v Nullable(Int32), _version UInt128, _is_deleted UInt8, "
          f"CONSTRAINT small CHECK v < 100) ENGINE = ReplacingMergeTree(_version, _is_deleted) ORDER BY id "
          f"SETTINGS non_replicated_deduplication_window = 100")
    s = start(mariadb, clickhouse, tmp_path, db, f"{db}.t", "ch_reject", 5730).start()
    wait_rows(clickhouse, f"{db}.t", 1, proc=s)
    wait_for(lambda: "checkpoint committed" in s.log_text(), proc=s, what="a checkpoint")
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (2, 6), (3, 500), (4, 7)")
    assert s.wait_exit(60) == 1
    log = s.log_text()
    assert re.search(r"error clickhouse sink: inserting 3 rows into ch_reject\.t \(source positions \d+\.\d+\.0 to "
                     r"\d+\.\d+\.2\), the row with key \{\"id\":3\}: http://127\.0\.0\.1:\d+: Code: 469\. "
                     r"DB::Exception: Constraint `small` for table ch_reject\.t \([0-9a-f-]{36}\) is violated at row 2\. "
                     r"Expression: \(v < 100\)\. Column values: v = 500\. \(VIOLATED_CONSTRAINT\) \(version 26\.9\.2\.1\)",
                     log), log
    # no retries for a refusal that repeating cannot change
    assert "trying again" not in log
    assert final(clickhouse, f"{db}.t") == [{"id": 1, "v": 5}]


def test_retriable_server_errors_are_retried_with_the_same_block(mariadb, clickhouse, tmp_path):
    db = "ch_retry"
    drop_databases(clickhouse, db)
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT)")
    s = start(mariadb, clickhouse, tmp_path, db, f"{db}.t", "ch_retry", 5740)
    # the first URL has no server: sluice fails over to the second and stays there
    dead = free_port()
    s.config.write_text(s.config.read_text().replace(f"url: {clickhouse.url}",
                                                     f"url: http://127.0.0.1:{dead}, {clickhouse.url}"))
    s.start()
    set_faults(clickhouse, [{"match": f"^INSERT INTO `{db}`.`t`", "times": 2,
                             "message": "Code: 252. DB::Exception: Too many parts (300). Merges are processing "
                                        "significantly slower than inserts. (TOO_MANY_PARTS)"}])
    try:
        mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (1, 1), (2, 2)")
        assert wait_rows(clickhouse, f"{db}.t", 2, proc=s) == [{"id": 1, "v": 1}, {"id": 2, "v": 2}]
    finally:
        clear_faults(clickhouse)
    assert s.stop() == 0
    assert s.log_text().count(f"warn  clickhouse sink: http://127.0.0.1:{dead}: Failed to connect") == 1
    assert s.log_text().count(f"warn  clickhouse sink: {clickhouse.url}: Code: 252.") == 2
    assert s.log_text().count("(TOO_MANY_PARTS) (version 26.9.2.1); trying again in") == 2
    tokens = [e["query"].split("insert_deduplication_token = ")[1].split(",")[0]
              for e in front_log(clickhouse) if e["query"].startswith(f"INSERT INTO `{db}`.`t`")]
    assert len(tokens) == 3 and len(set(tokens)) == 1
    assert int(final(clickhouse, f"{db}.t", columns="count() AS n", order="n")[0]["n"]) == 2


def test_https_with_a_private_ca(mariadb, clickhouse, tmp_path):
    """tls.ca-file verifies the server; without it the self-signed certificate is refused."""
    from conftest import SERVICES_DIR, Service, parse_env_file
    db = "ch_tls"
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    front = tmp_path / "front"
    env = dict(os.environ, CLICKHOUSE_TLS_CERT=str(cert), CLICKHOUSE_TLS_KEY=str(key))
    subprocess.run(["bash", str(SERVICES_DIR / "clickhouse.sh"), "start", str(front)], env=env, check=True,
                   capture_output=True, timeout=90)
    try:
        url = parse_env_file(front / "env.sh")["CLICKHOUSE_URL"]
        assert url.startswith("https://127.0.0.1:")
        yaml = mysql_yaml(mariadb, clickhouse, f"{db}.t", db, "ch_tls", startup="latest-offset", server_id=5750,
                          extra_sink="  connect.timeout: 1s").replace(f"url: {clickhouse.url}", f"url: {url}")
        s = Sluice(tmp_path / "a", yaml, env=env_for(mysql=mariadb, ch=clickhouse)).start(wait_for=None)
        assert s.wait_exit(30) == 1
        assert re.search(rf"error clickhouse sink: {url}: SSL certificate problem: self.signed certificate",
                         s.log_text()), s.log_text()
        s = Sluice(tmp_path / "b", yaml.replace("  connect.timeout: 1s", f"  connect.timeout: 1s\n  tls.ca-file: {cert}"),
                   env=env_for(mysql=mariadb, ch=clickhouse)).start()
        mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (1, 10)")
        tls = Service(url=url, user="sluice", password="sluice", cafile=str(cert))
        assert wait_rows(tls, f"{db}.t", 1, proc=s) == [{"id": 1, "v": 10}]
        assert s.stop() == 0
    finally:
        subprocess.run(["bash", str(SERVICES_DIR / "clickhouse.sh"), "stop", str(front)], capture_output=True, timeout=90)
