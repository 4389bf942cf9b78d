"""Drive the sluice binary from tests: write a pipeline file, start
``sluice run`` as a subprocess, wait for what it logs and writes, stop it
(gracefully or with kill -9), and read back what the file sink wrote.

The file sink's output is the observable result; tests compare it with the
source database row by row.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pymysql

from conftest import sluice_binary


def mysql_connect(svc, database=None, autocommit=True):
    return pymysql.connect(host=svc.host, port=svc.port, user=svc.user,
                           password=svc.password, database=database,
                           autocommit=autocommit, charset="utf8mb4")


def mysql_exec(svc, *statements, database=None):
    conn = mysql_connect(svc, database)
    try:
        with conn.cursor() as cur:
            for st in statements:
                cur.execute(st)
    finally:
        conn.close()


def mysql_rows(svc, sql, database=None):
    conn = mysql_connect(svc, database)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())
    finally:
        conn.close()


def mysql_source_yaml(svc, tables, server_id, startup, extra_source=""):
    """The source block of the tests' pipelines reading the test MariaDB
    (password from TEST_MYSQL_PASSWORD)."""
    return f"""source:
  type: mysql
  hostname: {svc.host}
  port: {svc.port}
  username: {svc.user}
  password: ${{env:TEST_MYSQL_PASSWORD}}
  tables: {tables}
  server-id: {server_id}
  scan.startup.mode: {startup}
  connect.max-retries: 30
  heartbeat.interval: 1s
{extra_source}"""


def mysql_pipeline_yaml(svc, tables, out_path, name="test", startup="latest-offset",
                        server_id=5400, extra_source="", extra_pipeline="", extra_sink=""):
    return f"""
{mysql_source_yaml(svc, tables, server_id, startup, extra_source)}
sink:
  type: file
  path: {out_path}
{extra_sink}
pipeline:
  name: {name}
  checkpoint.interval: 100ms
{extra_pipeline}
"""


# every sluice a test starts, so that a failing test cannot leave one behind
LIVE: list = []


# background writer threads (the snapshot tests' Writer) of the running
# test: a test that fails before it stops its writer must not leave it
# writing into the next tests (once it moved every later test's binlog
# position under its feet: five failures in one CI run)
WRITERS: list = []


def stop_writers():
    while WRITERS:
        w = WRITERS.pop()
        w.stop_evt.set()
        w.join(timeout=30)


def kill_leftovers():
    stop_writers()
    while LIVE:
        s = LIVE.pop()
        if s.proc and s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait()


class Sluice:
    """One sluice process over one pipeline file."""

    def __init__(self, workdir: Path, yaml_text: str, env=None, command="run"):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config = self.dir / "pipeline.yaml"
        self.config.write_text(yaml_text)
        self.env = dict(os.environ, **(env or {}))
        self.command = command
        self.proc = None
        self.logs = []
        self.runs = 0

    @property
    def log_path(self):
        return self.dir / f"sluice-{self.runs}.log"

    def start(self, wait_for="mysql source: streaming", timeout=30):
        self.runs += 1
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen([str(sluice_binary()), self.command, "--log-level", "debug",
                                      str(self.config)], stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT, env=self.env)
        LIVE.append(self)
        if wait_for:
            self.wait_log(wait_for, timeout)
        return self

    def log_text(self):
        return self.log_path.read_text() if self.log_path.exists() else ""

    def wait_log(self, text, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if text in self.log_text():
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"sluice exited with {self.proc.returncode} before logging "
                                     f"{text!r}:\n{self.log_text()}")
            time.sleep(0.05)
        raise AssertionError(f"sluice did not log {text!r} within {timeout}s:\n{self.log_text()}")

    def stop(self, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"sluice did not stop on SIGTERM:\n{self.log_text()}")
        self._log.close()
        return self.proc.returncode

    def sigterm_timed(self):
        """SIGTERM; returns (exit code, seconds until the process ended)."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(60)
        finally:
            self._log.close()
        return rc, time.monotonic() - t0

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._log.close()

    def wait_exit(self, timeout=60):
        try:
            rc = self.proc.wait(timeout)
        finally:
            self._log.close()
        return rc


@contextlib.contextmanager
def silent_server():
    """A loopback port that accepts TCP connections and never answers, as a
    hung host does; yields the port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def assert_stops_promptly(s, bound=1.5):
    """SIGTERM ends s within bound seconds, with exit code 0 and the stop
    logged; returns the log."""
    rc, took = s.sigterm_timed()
    log = s.log_text()
    assert rc == 0, log
    assert took < bound, f"took {took:.1f}s to stop:\n{log}"
    assert "received SIGTERM: stopping" in log, log
    return log


def iter_events(path: Path):
    """Every JSON line of a file sink, one at a time (the crash-loop tests'
    files hold 1.5M events: as one list they took 5 GiB of the runner's
    memory); a torn last line is an error."""
    if not Path(path).exists():
        return
    with open(path) as f:
        for line in f:
            yield json.loads(line)


def read_events(path: Path):
    return list(iter_events(path))


def iter_changes(path: Path):
    return (e for e in iter_events(path) if "op" in e)


def changes(path: Path):
    return list(iter_changes(path))


def wait_events(path: Path, count: int, timeout=60, proc: Sluice | None = None):
    deadline = time.time() + timeout
    evs = []
    while time.time() < deadline:
        evs = changes(path)
        if len(evs) >= count:
            return evs
        if proc is not None and proc.proc.poll() is not None:
            raise AssertionError(f"sluice exited ({proc.proc.returncode}) with {len(evs)} of "
                                 f"{count} events:\n{proc.log_text()}")
        time.sleep(0.05)
    raise AssertionError(f"only {len(evs)} of {count} events arrived within {timeout}s"
                         + (f":\n{proc.log_text()}" if proc else ""))


def assert_same_rows(got: dict, want: dict, what="the sink"):
    """got == want for tables of a million rows, failing with a short
    message: pytest's own diff of two such dicts (pprint and difflib, not
    abridged when CI is set) runs for minutes and prints every row."""
    if got == want:
        return
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want]
    differ = [k for k in want if k in got and got[k] != want[k]]
    raise AssertionError(
        f"{what} differs from the source ({len(got)} rows against {len(want)}): "
        f"{len(missing)} missing {missing[:5]}, {len(extra)} extra {[(k, got[k]) for k in extra[:5]]}, "
        f"{len(differ)} different {[(k, got[k], want[k]) for k in differ[:5]]}")


def replay(events, key="id"):
    """Applies change events to a dict keyed by primary key: the sink's state."""
    state = {}
    for e in events:
        table = (e["source"]["db"], e["source"]["table"])
        if e["op"] in ("c", "r", "u"):
            if e["op"] == "u" and e["before"][key] != e["after"][key]:
                state.pop((table, e["before"][key]), None)
            state[(table, e["after"][key])] = e["after"]
        elif e["op"] == "d":
            state.pop((table, e["before"][key]), None)
    return state


def tail_events(out, nbytes=65536):
    """The last complete lines of the sink file, without reading it all."""
    try:
        with open(out, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - nbytes))
            data = f.read().decode()
    except FileNotFoundError:
        return []
    lines = data.split("\n")[1:] if size > nbytes else data.split("\n")
    # the last piece is unfinished while sluice is writing it
    return [json.loads(l) for l in lines[:-1] if l.strip()]


def wait_for_key(out, key, proc, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for e in tail_events(out):
            if e.get("after") and e["after"].get("id") == key:
                return
        if proc.proc.poll() is not None:
            raise AssertionError(f"sluice exited ({proc.proc.returncode}):\n{proc.log_text()}")
        time.sleep(0.2)
    raise AssertionError(f"marker {key} did not arrive:\n{proc.log_text()[-3000:]}")


# ---------------------------------------------------------------- postgres

def pg_connect(svc, database=None, autocommit=True, user=None, password=None):
    import psycopg
    return psycopg.connect(host=svc.host, port=svc.port, user=user or svc.user,
                           password=password or svc.password, dbname=database or svc.database,
                           autocommit=autocommit)


def pg_exec(svc, *statements, database=None):
    """Runs each statement in autocommit mode (BEGIN/COMMIT work as statements)."""
    with pg_connect(svc, database) as conn:
        for st in statements:
            conn.execute(st)


def pg_rows(svc, sql, database=None, params=None):
    with pg_connect(svc, database) as conn:
        return list(conn.execute(sql, params).fetchall())


def pg_drop_slot(svc, slot, database=None):
    """Drops the replication slot (waiting for a walsender that still holds it
    to go away) and returns whether it existed."""
    deadline = time.time() + 20
    while True:
        rows = pg_rows(svc, "SELECT active_pid FROM pg_replication_slots WHERE slot_name = %s",
                       database, (slot,))
        if not rows:
            return False
        if rows[0][0] is None or time.time() > deadline:
            if rows[0][0] is not None:
                pg_exec(svc, f"SELECT pg_terminate_backend({rows[0][0]})", database=database)
                time.sleep(0.5)
            pg_exec(svc, f"SELECT pg_drop_replication_slot('{slot}')", database=database)
            return True
        time.sleep(0.1)


def pg_pipeline_yaml(svc, database, tables, out_path, name="test", startup="latest-offset", slot=None,
                     publication=None, extra_source="", extra_pipeline="", extra_sink="",
                     sink=None, heartbeat="1s", checkpoint_interval="200ms"):
    sink = sink or f"""  type: file
  path: {out_path}"""
    return f"""
source:
  type: postgres
  hostname: {svc.host}
  port: {svc.port}
  username: {svc.user}
  password: ${{env:TEST_PG_PASSWORD}}
  database-name: {database}
  tables: {tables}
  slot.name: {slot or 'sl_' + name}
  publication.name: {publication or 'pub_' + name}
  scan.startup.mode: {startup}
  connect.max-retries: 30
  heartbeat.interval: {heartbeat}
  status.interval: 1s
{extra_source}
sink:
{sink}
{extra_sink}
pipeline:
  name: {name}
  checkpoint.interval: {checkpoint_interval}
{extra_pipeline}
"""


PG_STREAMING = "postgres source: streaming slot"


def pg_ident(text):
    """A slot/publication/database-safe name: lower-case letters, digits, _."""
    import re
    return re.sub(r"[^a-z0-9_]", "_", text.lower())[:55]


class PgHarness:
    """One test's view of the postgres server: a database, pipelines over it,
    and cleanup of every replication slot and publication they named."""

    def __init__(self, svc, db, tmp_path):
        self.svc, self.db, self.tmp_path = svc, db, Path(tmp_path)
        self.slots, self.pubs = set(), set()

    def exec(self, *statements):
        pg_exec(self.svc, *statements, database=self.db)

    def rows(self, sql, params=None):
        return pg_rows(self.svc, sql, self.db, params)

    def connect(self, autocommit=True):
        return pg_connect(self.svc, self.db, autocommit=autocommit)

    def pipeline(self, tables, name, startup="latest-offset", sub=None, command="run", password=None,
                 **kw):
        name = pg_ident(name)
        d = self.tmp_path / (sub or name)
        out = d / "out.jsonl"
        kw.setdefault("slot", "sl_" + name)
        kw.setdefault("publication", "pub_" + name)
        self.slots.add(kw["slot"])
        self.pubs.add(kw["publication"])
        yaml = pg_pipeline_yaml(self.svc, self.db, tables, out, name=name, startup=startup, **kw)
        s = Sluice(d, yaml, env={"TEST_PG_PASSWORD": password or self.svc.password}, command=command)
        return s, out

    def cleanup(self):
        kill_leftovers()
        for slot in self.slots:
            try:
                pg_drop_slot(self.svc, slot, self.db)
            except Exception:
                pass
        for pub in self.pubs:
            try:
                self.exec(f"DROP PUBLICATION IF EXISTS {pub}")
            except Exception:
                pass


def pg_module_db(svc, module_name):
    """A fresh database for one test module."""
    db = pg_ident("pg_" + module_name.rsplit(".", 1)[-1])
    # slots of an earlier run of the module would block DROP DATABASE
    for (slot,) in pg_rows(svc, "SELECT slot_name FROM pg_replication_slots WHERE database = %s", params=(db,)):
        pg_drop_slot(svc, slot)
    pg_exec(svc, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)", f"CREATE DATABASE {db}")
    return db


def iter_changes(path):
    """The change events of a file sink one by one, without holding them all."""
    with open(path) as f:
        for line in f:
            if '"op":' in line:
                e = json.loads(line)
                if "op" in e:
                    yield e


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def connect_decimal(n: int) -> str:
    """An integer as Kafka Connect's Decimal (scale 0) in JSON: base64 of
    its shortest big-endian two's complement (BIGINT UNSIGNED under
    bigint.unsigned.handling.mode=precise)."""
    import base64
    size = max(1, (n.bit_length() + 8) // 8)
    return base64.b64encode(n.to_bytes(size, "big", signed=True)).decode()
