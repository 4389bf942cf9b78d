"""Independent readers of the ClickHouse the clickhouse sink writes to, and
pipeline files for it.

Tests query the same engine the sink writes through the front's HTTP
interface (tests/services/clickhouse_front.py), as any ClickHouse client
would: ``SELECT ... FINAL`` is what a reader of a ReplacingMergeTree sees,
a plain ``SELECT count()`` the rows physically stored. Numbers come back as
JSON strings (64-bit integers and decimals quoted) so nothing is rounded on
the way.
"""

from __future__ import annotations

import base64
import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request

from sluice_run import mysql_source_yaml

JSON_SETTINGS = {"output_format_json_quote_64bit_integers": "1", "output_format_json_quote_decimals": "1",
                 "output_format_json_quote_denormals": "1"}


class ClickHouseError(Exception):
    def __init__(self, status, text):
        super().__init__(f"HTTP {status}: {text}")
        self.status, self.text = status, text


def request(svc, sql, data=None, settings=None, user=None, password=None, timeout=60):
    params = dict(settings or {})
    if data is not None:
        params["query"] = sql
        body = data
    else:
        body = sql.encode()
    url = svc.url + "/?" + urllib.parse.urlencode(params)
    req = urllib.request.Request(url, data=body, method="POST")
    auth = base64.b64encode(f"{user or svc.user}:{password or svc.password}".encode()).decode()
    req.add_header("Authorization", "Basic " + auth)
    ctx = ssl.create_default_context(cafile=svc["cafile"]) if svc.get("cafile") else None
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=ctx) as r:
            return r.read()
    except urllib.error.HTTPError as e:
        raise ClickHouseError(e.code, e.read().decode()) from None


def rows(svc, sql, settings=None):
    """The rows of a query as dicts (JSONEachRow, big numbers as strings)."""
    out = request(svc, sql + " FORMAT JSONEachRow", settings=dict(JSON_SETTINGS, **(settings or {})))
    return [json.loads(line) for line in out.decode(errors="replace").splitlines() if line.strip()]


def value(svc, sql):
    return request(svc, sql).decode().strip()


def exec_(svc, *statements):
    for st in statements:
        request(svc, st)


def final(svc, table, order="id", columns="*", where=None):
    """What a reader sees: FINAL, deleted rows hidden, without the bookkeeping columns."""
    w = f" WHERE {where}" if where else ""
    out = rows(svc, f"SELECT {columns} FROM {table} FINAL{w} ORDER BY {order}")
    for r in out:
        r.pop("_version", None)
        r.pop("_is_deleted", None)
    return out


def drop_databases(svc, *names):
    """A test starts from nothing in ClickHouse too (the server may be reused)."""
    for name in names:
        request(svc, f"DROP DATABASE IF EXISTS {name}")


def physical_count(svc, table):
    return int(value(svc, f"SELECT count() FROM {table}"))


def checkpoint(svc, database, pipeline):
    """The committed checkpoint of a pipeline (parsed), or None."""
    try:
        got = rows(svc, f"SELECT checkpoint FROM {database}.sluice_checkpoints FINAL "
                        f"WHERE pipeline = '{pipeline}' AND kind = 'checkpoint'")
    except ClickHouseError as e:
        if "UNKNOWN_TABLE" in e.text or "UNKNOWN_DATABASE" in e.text:
            return None
        raise
    return json.loads(got[0]["checkpoint"]) if got else None


def wait_for(fn, timeout=60, proc=None, what="the condition"):
    """Polls fn until it returns a true value; fails early when sluice exits."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = fn()
        except ClickHouseError as e:
            last = e
            if "UNKNOWN_TABLE" not in e.text and "UNKNOWN_DATABASE" not in e.text:
                raise
        else:
            if last:
                return last
        if proc is not None and proc.proc.poll() is not None:
            raise AssertionError(f"sluice exited ({proc.proc.returncode}) before {what}:\n{proc.log_text()}")
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout}s (last: {last!r})"
                         + (f":\n{proc.log_text()[-4000:]}" if proc else ""))


def wait_rows(svc, table, expected_count, proc=None, timeout=60, where=None, order="id"):
    """Waits until FINAL shows expected_count rows; returns them."""
    w = f" WHERE {where}" if where else ""
    wait_for(lambda: int(value(svc, f"SELECT count() FROM {table} FINAL{w}")) == expected_count,
             timeout, proc, f"{expected_count} rows in {table}")
    return final(svc, table, where=where, order=order)


def wait_checkpoint(svc, database, pipeline, pred=lambda ck: True, proc=None, timeout=60):
    return wait_for(lambda: (lambda ck: ck if ck and pred(ck) else None)(checkpoint(svc, database, pipeline)),
                    timeout, proc, f"a checkpoint of {pipeline}")


def commits(proc):
    """How many checkpoints sluice has committed (--log-level debug logs each)."""
    return proc.log_text().count("checkpoint committed")


def wait_committed(proc, after, timeout=60):
    """Waits until sluice has committed more than `after` checkpoints."""
    wait_for(lambda: commits(proc) > after, timeout, proc, "a checkpoint")


def kill_loop(proc, table, rnd, during_snapshot=10, total=22, while_streaming=5, started="clickhouse sink: connected",
              snapshot_longest=0.6, snapshot_shortest=0.1):
    """kill -9 at random moments: up to `during_snapshot` times while the
    snapshot of `table` runs (each between `snapshot_shortest` and
    `snapshot_longest` seconds after the restart: a sink that takes the
    snapshot in under a second needs shorter ones), then, once it is done, while streaming until `total` crashes (at
    least `while_streaming` of them). Returns the number of crashes during
    the snapshot and while streaming."""
    def snapshot_done():
        log = proc.log_text()
        return f"snapshot of {table} done" in log or "finished before the restart" in log

    def crash(longest, shortest=0.1):
        time.sleep(rnd.uniform(shortest, longest))
        if proc.proc.poll() is not None:
            raise AssertionError(f"sluice exited ({proc.proc.returncode}):\n{proc.log_text()[-4000:]}")
        done = snapshot_done()
        proc.kill9()
        proc.start(wait_for=started, timeout=60)
        return done

    snap = stream = 0
    while snap < during_snapshot:
        if crash(snapshot_longest, snapshot_shortest):
            stream += 1
            break
        snap += 1
    wait_for(snapshot_done, 300, proc, "the end of the snapshot")
    while snap + stream < total or stream < while_streaming:
        stream += 1
        crash(1.2)
    # the last crash may have come before the checkpoint that records the
    # snapshot as finished: the last run reads the remaining chunks again
    wait_for(snapshot_done, 300, proc, "the end of the snapshot in the last run")
    return snap, stream


def set_faults(svc, rules):
    url = svc.url + "/__front/faults"
    req = urllib.request.Request(url, data=json.dumps(rules).encode(), method="POST")
    req.add_header("Authorization", "Basic " + base64.b64encode(f"{svc.user}:{svc.password}".encode()).decode())
    urllib.request.urlopen(req, timeout=10).read()


def clear_faults(svc):
    req = urllib.request.Request(svc.url + "/__front/faults", method="DELETE")
    req.add_header("Authorization", "Basic " + base64.b64encode(f"{svc.user}:{svc.password}".encode()).decode())
    urllib.request.urlopen(req, timeout=10).read()


def front_log(svc):
    req = urllib.request.Request(svc.url + "/__front/log")
    req.add_header("Authorization", "Basic " + base64.b64encode(f"{svc.user}:{svc.password}".encode()).decode())
    with urllib.request.urlopen(req, timeout=10) as r:
        return [json.loads(line) for line in r.read().decode().splitlines() if line.strip()]


def sink_yaml(svc, database, extra=""):
    """The sink block of a pipeline file writing to the test ClickHouse; extra
    lines may override the short test timeouts."""
    defaults = "".join(f"  {k}: {v}\n" for k, v in (("connect.timeout", "10s"), ("retry.timeout", "5s"))
                       if f"{k}:" not in extra)
    return f"""  type: clickhouse
  url: {svc.url}
  username: {svc.user}
  password: ${{env:TEST_CH_PASSWORD}}
  database: {database}
{defaults}{extra}"""


def mysql_yaml(mysql, ch, tables, database, name, startup="initial", server_id=5500, extra_source="",
               extra_sink="", extra_pipeline="", routes="", checkpoint_interval="100ms"):
    return f"""
{mysql_source_yaml(mysql, tables, server_id, startup, extra_source)}
sink:
{sink_yaml(ch, database, extra_sink)}
{routes}
pipeline:
  name: {name}
  checkpoint.interval: {checkpoint_interval}
{extra_pipeline}
"""


def env_for(mysql=None, pg=None, ch=None):
    env = {}
    if mysql is not None:
        env["TEST_MYSQL_PASSWORD"] = mysql.password
    if pg is not None:
        env["TEST_PG_PASSWORD"] = pg.password
    if ch is not None:
        env["TEST_CH_PASSWORD"] = ch.password
    return env
