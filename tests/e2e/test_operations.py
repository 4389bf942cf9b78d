"""Operating `sluice run`: the metrics endpoint scraped during runs against
real servers (parsed by Prometheus' own client library), health and
readiness, lag while idle and while the sink is stalled."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from conftest import sluice_binary
from clickhouse_read import clear_faults, drop_databases, env_for, mysql_yaml, set_faults, wait_rows
from sluice_run import PG_STREAMING, Sluice, mysql_exec, mysql_pipeline_yaml, wait_events

METRICS = "  metrics.address: 127.0.0.1:0\n"


def endpoint(s):
    m = re.search(r"metrics: serving /metrics, /healthz and /readyz on (http://127\.0\.0\.1:\d+)/", s.log_text())
    assert m, s.log_text()
    return m.group(1)


def get(url):
    """(status, body) of a GET."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def scrape(base):
    status, text = get(base + "/metrics")
    assert status == 200, text
    out = {}
    for fam in text_string_to_metric_families(text):
        for smp in fam.samples:
            out[(smp.name, tuple(sorted(smp.labels.items())))] = smp.value
    return out


def metric(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


def wait_metrics(base, pred, s, what, timeout=60):
    deadline = time.time() + timeout
    last = {}
    while time.time() < deadline:
        last = scrape(base)
        if pred(last):
            return last
        if s.proc.poll() is not None:
            raise AssertionError(f"sluice exited ({s.proc.returncode}) before {what}:\n{s.log_text()}")
        time.sleep(0.1)
    raise AssertionError(f"no {what} within {timeout}s; last scrape: "
                         f"{ {k: v for k, v in last.items() if k[0].startswith('sluice_')} }\n{s.log_text()[-3000:]}")


def test_metrics_count_snapshot_and_changes_and_lag_falls_when_idle(mariadb, tmp_path):
    db = "opsm"
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT)", f"CREATE TABLE {db}.u (id INT PRIMARY KEY)")
    mysql_exec(mariadb, f"INSERT INTO {db}.t SELECT seq, seq FROM seq_1_to_250", database=db)
    out = tmp_path / "out.jsonl"
    s = Sluice(tmp_path, mysql_pipeline_yaml(mariadb, f"{db}.\\.*", out, name="opsm", startup="initial",
                                             server_id=5960,
                                             extra_source="  scan.incremental.snapshot.chunk.size: 100\n",
                                             extra_pipeline=METRICS),
               env={"TEST_MYSQL_PASSWORD": mariadb.password}).start()
    base = endpoint(s)
    assert get(base + "/healthz") == (200, "ok\n")
    # the snapshot reaches its total and every row is counted as a read
    def snapshot_done(m, table):
        done = metric(m, "sluice_snapshot_chunks_done", table=table)
        return done is not None and done == metric(m, "sluice_snapshot_chunks_total", table=table)
    got = wait_metrics(base, lambda m: metric(m, "sluice_events_total", table=f"{db}.t", op="read") == 250
                       and snapshot_done(m, f"{db}.t") and snapshot_done(m, f"{db}.u"), s, "the snapshot's end")
    assert metric(got, "sluice_snapshot_chunks_done", table=f"{db}.t") == 3
    assert metric(got, "sluice_snapshot_rows", table=f"{db}.t") == 250
    assert metric(got, "sluice_snapshot_rows", table=f"{db}.u") == 0
    # changes by table and op, exactly
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (1001, 1), (1002, 2), (1003, 3), (1004, 4), (1005, 5)",
               f"UPDATE {db}.t SET v = v + 1 WHERE id IN (1, 2, 3)", f"DELETE FROM {db}.t WHERE id IN (4, 5)",
               f"INSERT INTO {db}.u VALUES (1), (2), (3), (4)")
    want = {("t", "insert"): 5, ("t", "update"): 3, ("t", "delete"): 2, ("u", "insert"): 4, ("t", "read"): 250}
    got = wait_metrics(base, lambda m: all(metric(m, "sluice_events_total", table=f"{db}.{t}", op=op) == n
                                           for (t, op), n in want.items()), s, "the changes' counts")
    counted = {k: v for k, v in got.items() if k[0] == "sluice_events_total"}
    assert len(counted) == len(want), counted
    # idle: everything committed, the lag falls to about zero, ready
    got = wait_metrics(base, lambda m: metric(m, "sluice_lag_bytes") == 0
                       and metric(m, "sluice_lag_seconds") is not None and metric(m, "sluice_lag_seconds") < 2.5,
                       s, "zero lag when idle", timeout=30)
    assert metric(got, "sluice_source_head_position_bytes") == metric(got, "sluice_source_committed_position_bytes") > 0
    assert get(base + "/readyz") == (200, "ready\n")
    assert metric(got, "sluice_ready") == 1 and metric(got, "sluice_up") == 1
    commits = metric(got, "sluice_epochs_committed_total")
    assert commits >= 1
    assert metric(got, "sluice_checkpoint_commit_seconds_count") == commits
    assert metric(got, "sluice_checkpoint_commit_seconds_bucket", le="+Inf") == commits
    assert metric(got, "sluice_retries_total", cause="sink") == 0
    assert metric(got, "process_resident_memory_bytes") > 1e6
    assert metric(got, "process_cpu_seconds_total") > 0
    assert get(base + "/nothing")[0] == 404
    # status reads the same from the sink and the server, beside the running pipeline
    st = status(s, "--json")
    assert st["pipeline"] == "opsm" and st["sink"] == "file"
    assert st["checkpoint"]["position"]["file"].startswith("binlog.")
    assert 0 <= st["checkpoint"]["age_seconds"] < 60
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", st["checkpoint"]["committed_at"])
    assert st["source"]["type"] == "mysql" and st["source"]["lag_bytes"] == 0, st
    assert st["source"]["head"]["file"] == st["checkpoint"]["position"]["file"]
    assert st["source"]["head_bytes"] == metric(got, "sluice_source_head_position_bytes")
    assert st["snapshot"] == [{"table": f"{db}.t", "done": True}, {"table": f"{db}.u", "done": True}], st
    text = status(s)
    assert text.startswith("pipeline opsm: last checkpoint {"), text
    assert ", 0 bytes behind\n" in text and f"  snapshot {db}.t: done\n" in text, text
    assert s.stop() == 0
    assert "serving /metrics" in s.log_text()


def status(s, *args):
    p = subprocess.run([str(sluice_binary()), "status", *args, str(s.config)], capture_output=True, text=True,
                       env=s.env, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    return json.loads(p.stdout) if "--json" in args else p.stdout


def test_status_json_before_the_first_checkpoint_and_with_the_source_down(mariadb, tmp_path):
    out = tmp_path / "out.jsonl"
    s = Sluice(tmp_path, mysql_pipeline_yaml(mariadb, "opsn.t", out, name="opsn", server_id=5962),
               env={"TEST_MYSQL_PASSWORD": mariadb.password})
    st = status(s, "--json")
    assert st["checkpoint"] is None and st["snapshot"] is None
    assert st["source"]["head"]["file"].startswith("binlog.") and st["source"]["head_bytes"] > 0
    assert "lag_bytes" not in st["source"]
    assert status(s).startswith("pipeline opsn: no checkpoint committed yet\n  source head {")
    s.config.write_text(s.config.read_text().replace(f"port: {mariadb.port}", "port: 1"))
    st = status(s, "--json")
    assert st["source"]["error"].startswith("mysql source: cannot connect to 127.0.0.1:1 as "), st


def test_lag_rises_and_readiness_flips_while_the_sink_stalls(mariadb, clickhouse, tmp_path):
    db = "ops_stall"
    drop_databases(clickhouse, db)
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT)")
    s = Sluice(tmp_path, mysql_yaml(mariadb, clickhouse, f"{db}.t", db, "ops_stall", startup="latest-offset",
                                    server_id=5961, checkpoint_interval="200ms",
                                    extra_pipeline=METRICS + "  metrics.ready.intervals: 5\n"),
               env=env_for(mysql=mariadb, ch=clickhouse)).start()
    base = endpoint(s)
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (1, 1)")
    wait_rows(clickhouse, f"{db}.t", 1, proc=s)
    wait_metrics(base, lambda m: metric(m, "sluice_ready") == 1 and metric(m, "sluice_lag_seconds") is not None
                 and metric(m, "sluice_lag_seconds") < 2.5, s, "ready and caught up")
    # the insert hangs until released, then fails as a retriable server error would
    set_faults(clickhouse, [{"match": f"^INSERT INTO `{db}`.`t`", "action": "hang", "times": 1,
                             "message": "Code: 252. DB::Exception: Too many parts (300). (TOO_MANY_PARTS)"}])
    try:
        mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (2, 2)")
        got = wait_metrics(base, lambda m: metric(m, "sluice_ready") == 0, s, "not ready while the sink stalls")
        status, body = get(base + "/readyz")
        assert status == 503 and "more than 5 x checkpoint.interval (1.0s): the sink is not committing" in body, body
        first = metric(got, "sluice_lag_seconds")
        time.sleep(1.5)
        later = metric(scrape(base), "sluice_lag_seconds")
        assert later >= first + 1.0 and later > 1.5, (first, later)
        assert metric(scrape(base), "sluice_lag_bytes") > 0
    finally:
        clear_faults(clickhouse)
    wait_rows(clickhouse, f"{db}.t", 2, proc=s)
    wait_metrics(base, lambda m: metric(m, "sluice_ready") == 1 and metric(m, "sluice_lag_seconds") < 2.5, s,
                 "ready again once the sink commits", timeout=60)
    assert get(base + "/readyz")[0] == 200
    # idle, the sink's health check (ClickHouse: SELECT 1) decides: a server
    # that stops answering makes the pipeline not ready, without a write
    set_faults(clickhouse, [{"match": "^SELECT 1$", "times": 1000,
                             "message": "Code: 210. DB::NetException: Connection refused. (NETWORK_ERROR)"}])
    try:
        wait_metrics(base, lambda m: metric(m, "sluice_ready") == 0, s, "not ready while the sink is down")
        status, body = get(base + "/readyz")
        assert status == 503 and body.startswith("the sink does not answer: clickhouse sink: "), body
        assert "NETWORK_ERROR" in body, body
    finally:
        clear_faults(clickhouse)
    wait_metrics(base, lambda m: metric(m, "sluice_ready") == 1, s, "ready once the sink answers")
    assert s.stop() == 0
    assert "not ready: the sink does not answer: clickhouse sink: " in s.log_text()
    assert "ready: the sink answers again" in s.log_text()


def test_postgres_counts_and_lag(pg, postgres):
    pg.exec("DROP TABLE IF EXISTS opsp", "CREATE TABLE opsp (id int PRIMARY KEY, v int)",
            "INSERT INTO opsp SELECT g, g FROM generate_series(1, 40) g")
    s, out = pg.pipeline("public.opsp", "opsp", startup="initial", extra_pipeline=METRICS)
    s.start(wait_for=PG_STREAMING)
    base = endpoint(s)
    pg.exec("INSERT INTO opsp VALUES (100, 1)", "UPDATE opsp SET v = 0 WHERE id <= 3", "DELETE FROM opsp WHERE id = 40")
    got = wait_metrics(base, lambda m: sum(v for k, v in m.items() if k[0] == "sluice_events_total") == 45, s,
                       "45 events")
    ops = {dict(k[1])["op"]: v for k, v in got.items() if k[0] == "sluice_events_total"}
    assert ops == {"read": 40, "insert": 1, "update": 3, "delete": 1}, ops
    got = wait_metrics(base, lambda m: metric(m, "sluice_lag_seconds") is not None
                       and metric(m, "sluice_lag_seconds") < 2.5 and metric(m, "sluice_lag_bytes") is not None,
                       s, "a small lag when idle", timeout=30)
    assert metric(got, "sluice_source_head_position_bytes") >= metric(got, "sluice_source_committed_position_bytes") > 0
    assert s.stop() == 0


def test_json_log_into_a_file_that_sighup_reopens(mariadb, tmp_path):
    """--log-format json writes one object per line; --log-file appends to a
    file, and SIGHUP after logrotate moved it opens a new one at the path."""
    db = "opsl"
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.t (id INT PRIMARY KEY)")
    out, log = tmp_path / "out.jsonl", tmp_path / "sluice.log"
    cfg = tmp_path / "pipeline.yaml"
    cfg.write_text(mysql_pipeline_yaml(mariadb, f"{db}.t", out, name="opsl", server_id=5963))
    proc = subprocess.Popen([str(sluice_binary()), "--log-format", "json", "run", "--log-file", str(log), str(cfg)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={"TEST_MYSQL_PASSWORD": mariadb.password})
    try:
        lines = wait_json_line(log, lambda o: o["message"].startswith("streaming binlog."), proc)
        assert all(set(o) == {"time", "level", "component", "message", "fields"} for o in lines), lines
        first = lines[0]
        assert first["component"] == "sluice" and first["message"] == "pipeline opsl: mysql -> file", first
        assert first["level"] == "info" and first["fields"] == {"pipeline": "opsl"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first["time"])
        assert lines[-1]["component"] == "mysql source"
        log.rename(tmp_path / "sluice.log.1")
        proc.send_signal(signal.SIGHUP)
        wait_json_line(log, lambda o: o["message"] == f"received SIGHUP: reopened the log file {log}", proc)
        mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (1)")
        wait_events(out, 1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stdout, stderr = proc.communicate()
    assert stdout == b"" and stderr == b""
    after = [json.loads(line) for line in log.read_text().splitlines()]
    assert after[-1]["message"].startswith("pipeline opsl stopped: "), after
    assert "stopped" not in (tmp_path / "sluice.log.1").read_text()


def wait_json_line(path, pred, proc, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        lines = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
        if any(pred(o) for o in lines):
            return lines
        assert proc.poll() is None, (proc.returncode, path.read_text() if path.exists() else "")
        time.sleep(0.05)
    raise AssertionError(path.read_text() if path.exists() else "no log file")


def test_kafka_sink_state_in_metrics(mariadb, kafka, tmp_path):
    """The kafka sink's metrics() hook: librdkafka's outbound queue and the
    epoch's transaction, both empty once everything is committed."""
    db = "opsk"
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.t (id INT PRIMARY KEY)")
    yaml = mysql_pipeline_yaml(mariadb, f"{db}.t", tmp_path / "unused", name="opsk", server_id=5965,
                               extra_pipeline=METRICS).replace(
        f"  type: file\n  path: {tmp_path / 'unused'}\n",
        f"  type: kafka\n  properties.bootstrap.servers: {kafka.bootstrap}\n  connect.timeout: 20s\n")
    assert "type: kafka" in yaml
    s = Sluice(tmp_path, yaml, env={"TEST_MYSQL_PASSWORD": mariadb.password}).start(timeout=60)
    base = endpoint(s)
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (1), (2), (3)")
    got = wait_metrics(base, lambda m: metric(m, "sluice_events_total", table=f"{db}.t", op="insert") == 3
                       and metric(m, "sluice_lag_bytes") == 0
                       and metric(m, "sluice_kafka_outbound_queue_messages") == 0
                       and metric(m, "sluice_kafka_transaction_open") == 0, s, "a committed, idle kafka sink")
    assert metric(got, "sluice_epochs_committed_total") >= 1
    assert s.stop() == 0


def test_status_of_a_snapshot_in_progress(mariadb, tmp_path):
    """status reads the split state of the committed token: a table in
    progress with its chunks and rows, a finished one by name; the age from
    the checkpoint's commit time."""
    out = tmp_path / "out.jsonl"
    out.write_text("")
    s = Sluice(tmp_path, mysql_pipeline_yaml(mariadb, "opss.\\.*", out, name="opss", server_id=5966),
               env={"TEST_MYSQL_PASSWORD": mariadb.password})
    token = {"file": "binlog.000001", "pos": 4, "gtid": "",
             "snapshot": {"tables": [{"t": "opss.a", "next": ["n:40000"], "exhausted": False, "chunks": 3,
                                      "rows": 30000, "pending": []},
                                     {"t": "opss.b", "done": True}]}}
    committed = int(time.time() * 1000) - 5000
    ck = {"version": 1, "pipeline": "opss", "source": token, "committed_at_ms": committed}
    (tmp_path / "out.jsonl.checkpoint").write_text(json.dumps({"file_size": 0, "checkpoint": ck}) + "\n")
    st = status(s, "--json")
    assert st["checkpoint"]["position"] == token
    assert 5 <= st["checkpoint"]["age_seconds"] < 60
    assert st["snapshot"] == [{"table": "opss.a", "done": False, "chunks_done": 3, "rows": 30000},
                              {"table": "opss.b", "done": True}]
    text = status(s)
    assert "\n  snapshot opss.a: in progress, 3 chunks done, 30000 rows\n  snapshot opss.b: done\n" in text, text
    assert re.search(r"\n  committed \d{4}-\d\d-\d\dT[\d:.]+Z, \d+\.\ds ago\n", text), text


def test_a_metrics_port_in_use_is_a_configuration_error(mariadb, tmp_path):
    import socket
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    try:
        s = Sluice(tmp_path, mysql_pipeline_yaml(mariadb, "opsp.t", tmp_path / "out.jsonl", name="opsp",
                                                 server_id=5967,
                                                 extra_pipeline=f"  metrics.address: 127.0.0.1:{port}\n"),
                   env={"TEST_MYSQL_PASSWORD": mariadb.password}).start(wait_for=None)
        assert s.wait_exit(30) == 2
    finally:
        taken.close()
    assert (f"error metrics.address '127.0.0.1:{port}' ({s.config}:21:3): cannot listen: Address already in use; "
            "another process serves that port: choose another one") in s.log_text(), s.log_text()
