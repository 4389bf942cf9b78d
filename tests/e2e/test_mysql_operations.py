"""Operating the mysql source: server checks with the statements that fix
them, startup modes, a purged binlog, a server-id clash, a wrong password."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from conftest import sluice_binary
from sluice_run import Sluice, changes, mysql_exec, mysql_pipeline_yaml, mysql_rows, wait_events


def run_check(mariadb, tmp_path, extra=""):
    out = tmp_path / "out.jsonl"
    yaml = mysql_pipeline_yaml(mariadb, "ops.\\.*", out, name="ops", server_id=5888, extra_source=extra)
    p = tmp_path / "p.yaml"
    p.write_text(yaml)
    return subprocess.run([str(sluice_binary()), "check", "--connect", str(p)], capture_output=True, text=True,
                          env={"TEST_MYSQL_PASSWORD": mariadb.password, "PATH": "/usr/bin:/bin"}, timeout=60)


def test_check_connect_reports_settings_with_fixes(mariadb, tmp_path):
    mysql_exec(mariadb, "CREATE DATABASE IF NOT EXISTS ops", "CREATE TABLE IF NOT EXISTS ops.t (id INT PRIMARY KEY)")
    proc = run_check(mariadb, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok    binlog_row_metadata = FULL" in proc.stdout
    assert "mysql source: ready" in proc.stdout
    mysql_exec(mariadb, "SET GLOBAL binlog_row_image = 'MINIMAL'", "SET GLOBAL binlog_format = 'MIXED'")
    try:
        proc = run_check(mariadb, tmp_path)
    finally:
        mysql_exec(mariadb, "SET GLOBAL binlog_row_image = 'FULL'", "SET GLOBAL binlog_format = 'ROW'")
    assert proc.returncode == 2
    assert ("  FAIL  binlog_format = MIXED, sluice needs ROW\n"
            "        fix: SET GLOBAL binlog_format = 'ROW'; and binlog_format=ROW in my.cnf [mysqld]") in proc.stdout
    assert ("  FAIL  binlog_row_image = MINIMAL, sluice needs FULL\n"
            "        fix: SET GLOBAL binlog_row_image = 'FULL'; and binlog_row_image=FULL in my.cnf [mysqld]") in proc.stdout
    assert "2 checks failed; run the fixes shown above" in proc.stderr


def test_check_connect_missing_privileges(mariadb, tmp_path):
    mysql_exec(mariadb, "DROP USER IF EXISTS weak@'%'", "CREATE USER weak@'%' IDENTIFIED BY 'weak'",
               "GRANT SELECT ON *.* TO weak@'%'")
    out = tmp_path / "out.jsonl"
    yaml = mysql_pipeline_yaml(mariadb, "ops.\\.*", out, name="ops", server_id=5888).replace(
        f"username: {mariadb.user}", "username: weak")
    p = tmp_path / "p.yaml"
    p.write_text(yaml)
    proc = subprocess.run([str(sluice_binary()), "check", "--connect", str(p)], capture_output=True, text=True,
                          env={"TEST_MYSQL_PASSWORD": "weak"}, timeout=60)
    assert proc.returncode == 2
    assert "FAIL  privilege REPLICATION SLAVE (read the binlog)" in proc.stdout
    assert "fix: GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO 'weak'@'%';" in proc.stdout


def test_wrong_password_is_a_clear_error(mariadb, tmp_path):
    out = tmp_path / "out.jsonl"
    s = Sluice(tmp_path, mysql_pipeline_yaml(mariadb, "ops.\\.*", out, name="pw", server_id=5889),
               env={"TEST_MYSQL_PASSWORD": "wrong"})
    s.start(wait_for=None)
    assert s.wait_exit(60) == 1
    assert f"mysql source: cannot connect to {mariadb.host}:{mariadb.port} as {mariadb.user}: Access denied" in s.log_text()
    assert not out.exists() or not changes(out)


def master_status(mariadb):
    return mysql_rows(mariadb, "SHOW MASTER STATUS")[0][:2]


def test_specific_offset_and_timestamp_modes(mariadb, tmp_path):
    mysql_exec(mariadb, "DROP DATABASE IF EXISTS modes", "CREATE DATABASE modes",
               "CREATE TABLE modes.t (id INT PRIMARY KEY)")
    mysql_exec(mariadb, "INSERT INTO modes.t VALUES (1)")
    time.sleep(1.1)
    file, pos = master_status(mariadb)
    ts_ms = int(time.time() * 1000)
    mysql_exec(mariadb, "INSERT INTO modes.t VALUES (2)", "INSERT INTO modes.t VALUES (3)")
    for mode, extra in (("specific-offset", f"  scan.startup.specific-offset.file: {file}\n"
                                            f"  scan.startup.specific-offset.pos: {pos}\n"),
                        ("timestamp", f"  scan.startup.timestamp-millis: {ts_ms}\n")):
        d = tmp_path / mode
        out = d / "out.jsonl"
        s = Sluice(d, mysql_pipeline_yaml(mariadb, "modes.\\.*", out, name=mode, startup=mode,
                                          server_id=5890, extra_source=extra),
                   env={"TEST_MYSQL_PASSWORD": mariadb.password}, command="migrate")
        s.start(wait_for=None)
        assert s.wait_exit(60) == 0, s.log_text()
        assert [e["after"]["id"] for e in changes(out)] == [2, 3], (mode, s.log_text())


def test_timestamp_mode_across_binlog_files(mariadb, tmp_path):
    """The end of a bounded run was once judged by the last commit's offset
    taken in the next file's number: when a ROTATE came after a commit
    further into its file than the end position is into the last file, the
    run ended at once and emitted nothing (seen with three or more files)."""
    mysql_exec(mariadb, "DROP DATABASE IF EXISTS modes2", "CREATE DATABASE modes2",
               "CREATE TABLE modes2.t (id INT PRIMARY KEY)", "CREATE TABLE modes2.pad (id INT PRIMARY KEY, p TEXT)",
               "INSERT INTO modes2.pad VALUES (1, REPEAT('x', 20000))", "FLUSH BINARY LOGS",
               "INSERT INTO modes2.pad VALUES (2, REPEAT('y', 20000))", "FLUSH BINARY LOGS")
    time.sleep(1.1)
    ts_ms = int(time.time() * 1000)
    mysql_exec(mariadb, "INSERT INTO modes2.t VALUES (2)", "INSERT INTO modes2.t VALUES (3)")
    files = mysql_rows(mariadb, "SHOW BINARY LOGS")
    assert len(files) >= 3
    # the older files end further in than the last one does now
    assert int(files[-2][1]) > int(master_status(mariadb)[1])
    out = tmp_path / "out.jsonl"
    s = Sluice(tmp_path, mysql_pipeline_yaml(mariadb, "modes2.\\.*", out, name="tsfiles", startup="timestamp",
                                             server_id=5891,
                                             extra_source=f"  scan.startup.timestamp-millis: {ts_ms}\n"),
               env={"TEST_MYSQL_PASSWORD": mariadb.password}, command="migrate")
    s.start(wait_for=None)
    assert s.wait_exit(60) == 0, s.log_text()
    assert [e["after"]["id"] for e in changes(out)] == [2, 3], s.log_text()


def resume_from_edited_position(mariadb, tmp_path, db, server_id, edit):
    """A pipeline that committed one change and stopped, started again from
    its checkpoint with the binlog position changed by edit(source)."""
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.t (id INT PRIMARY KEY)")
    out = tmp_path / "out.jsonl"
    s = Sluice(tmp_path, mysql_pipeline_yaml(mariadb, f"{db}.\\.*", out, name=db, server_id=server_id),
               env={"TEST_MYSQL_PASSWORD": mariadb.password})
    s.start()
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (1)")
    wait_events(out, 1, proc=s)
    time.sleep(0.3)
    assert s.stop() == 0
    ck_path = tmp_path / "out.jsonl.checkpoint"
    ck = json.loads(ck_path.read_text())
    edit(ck["checkpoint"]["source"])
    ck_path.write_text(json.dumps(ck))
    s.start(wait_for=None)
    return s


def test_purged_binlog_names_the_file_and_the_fix(mariadb, tmp_path):
    # MariaDB keeps binlogs its crash recovery still needs, so a PURGE right
    # away may keep the file; a checkpoint naming a binlog older than any on
    # the server is the same situation as seen from sluice
    s = resume_from_edited_position(mariadb, tmp_path, "purged", 5891,
                                    lambda src: src.update(file="binlog.000000"))
    assert s.wait_exit(60) == 1
    log = s.log_text()
    assert "the binlog needed to resume (binlog.000000 at " in log, log
    assert "is no longer on the server" in log
    assert "scan.startup.mode: initial" in log


def test_refused_binlog_position_is_not_a_server_id_clash(mariadb, tmp_path):
    """Error 1236 covers several causes; the server is asked which. sluice registers its own binlog connection
    (sluice:<pipeline>), so its own entry in SHOW SLAVE HOSTS must not read as another replica holding the id."""
    # a position past the end of a binlog file that is still on the server
    s = resume_from_edited_position(mariadb, tmp_path, "badpos", 5892, lambda src: src.update(pos=4000000000))
    assert s.wait_exit(60) == 1, s.log_text()
    log = s.log_text()
    assert "error mysql source: the server refused the binlog stream: " in log, log
    assert "another replica" not in log and "server-id 5892 is in use" not in log, log


def test_server_id_clash_refuses_the_newcomer(mariadb, tmp_path):
    """A second pipeline given a server-id already in use refuses itself
    before it connects as a replica; the running one is not disturbed, and
    `check --connect` reports the id as taken (and free once it is)."""
    mysql_exec(mariadb, "CREATE DATABASE IF NOT EXISTS clash",
               "CREATE TABLE IF NOT EXISTS clash.t (id INT PRIMARY KEY)", "DELETE FROM clash.t")
    env = {"TEST_MYSQL_PASSWORD": mariadb.password}
    a = Sluice(tmp_path / "a", mysql_pipeline_yaml(mariadb, "clash.\\.*", tmp_path / "a" / "o.jsonl", name="a",
                                                    server_id=5999), env=env)
    b = Sluice(tmp_path / "b", mysql_pipeline_yaml(mariadb, "clash.\\.*", tmp_path / "b" / "o.jsonl", name="b",
                                                    server_id=5999), env=env)
    a.start()
    b.start(wait_for=None)
    assert b.wait_exit(30) == 2, b.log_text()
    blog = b.log_text()
    assert (f"error mysql source: server-id 5999 is in use by another replica of {mariadb.host}:{mariadb.port} "
            f"(sluice pipeline 'a'); connecting with it would cut that replica off: give this pipeline a server-id "
            f"of its own ({b.config}:9:3)") in blog
    assert "mysql source: streaming" not in blog
    check = subprocess.run([str(sluice_binary()), "check", "--connect", str(b.config)], capture_output=True,
                           text=True, env=env, timeout=60)
    assert check.returncode == 2
    assert ("  FAIL  server-id 5999 is in use by sluice pipeline 'a'\n"
            "        fix: give this pipeline a 'server-id' of its own (SHOW SLAVE HOSTS lists the ids in use)\n"
            ) in check.stdout
    # the running pipeline never noticed
    mysql_exec(mariadb, "INSERT INTO clash.t VALUES (1)")
    wait_events(tmp_path / "a" / "o.jsonl", 1, proc=a)
    assert a.proc.poll() is None
    assert a.stop() == 0
    assert "binlog stream lost" not in a.log_text() and "reconnecting" not in a.log_text()
    assert [e["after"] for e in changes(tmp_path / "a" / "o.jsonl")] == [{"id": 1}]
    # a stopped pipeline leaves the id free at once
    check = subprocess.run([str(sluice_binary()), "check", "--connect", str(b.config)], capture_output=True,
                           text=True, env=env, timeout=60)
    assert "  ok    server-id 5999 is not used by another replica\n" in check.stdout, check.stdout
    assert check.returncode == 0, check.stdout + check.stderr
