"""A small ClickHouse HTTP front over chDB (the real ClickHouse engine, in
process), for the e2e tests and benchmarks of the clickhouse sink.

No registry ships a recent ClickHouse server binary (DESIGN.md §9), but
PyPI's chdb-core embeds ClickHouse 26.9's engine. This front speaks the part
of ClickHouse's HTTP interface the sink uses, so the sink talks to it exactly
as to a server:

  * ``GET|POST /?query=...``: the query in the URL; a POST body is appended
    to it (INSERT INTO t [(cols)] [SETTINGS ...] FORMAT <fmt> takes the body
    as data: it goes to a temp file and the engine runs INSERT INTO t (cols)
    SETTINGS ... SELECT * FROM file(path, fmt, structure of those columns),
    binary formats such as RowBinary included; chDB's own streaming insert is
    not used because it reports success for blocks the engine rejects, e.g.
    on a violated CONSTRAINT); without ``query`` the body is the query.
  * other URL parameters are settings for this one query (applied with SET
    and put back with SET ... = DEFAULT); ``database`` selects the current
    database; ``default_format`` the output format (TabSeparated otherwise).
  * authentication by HTTP basic auth, ``X-ClickHouse-User``/``-Key``
    headers or ``user``/``password`` parameters.
  * a request body sent with ``Content-Encoding: gzip`` or ``deflate`` is
    decompressed.
  * errors answer HTTP 500 (401 for authentication) with ClickHouse's text
    ``Code: N. DB::Exception: ... (NAME) (version V)`` and the header
    ``X-ClickHouse-Exception-Code``; successes carry ``X-ClickHouse-Summary``
    (read/written rows), ``-Query-Id``, ``-Format``, ``-Timezone`` and
    ``-Server-Display-Name``.
  * ``GET /ping`` answers ``Ok.``.
  * with ``CH_FRONT_TRACE=path`` in its environment, every INSERT with data
    appends a line (time, deduplication token, rows written, bytes) to path:
    which blocks arrived and which the engine dropped as duplicates, when a
    crash test leaves a difference to explain.
  * with ``--tls-cert``/``--tls-key`` it serves https instead.

The engine runs one request at a time (a lock around it); connections are
kept alive, so several clients can be connected at once.

Test control (loopback only, same authentication): ``POST /__front/faults``
with a JSON list of rules ``{"match": regex, "body": regex, "action":
"error"|"hang"|"exit", "status", "message", "times", "skip"}`` applied to
the next queries whose text (and data, read as latin-1, when "body" is
given) matches, after letting "skip" of them pass: ``error`` answers with message (ClickHouse's text), ``hang`` blocks
until the rules are cleared with ``DELETE /__front/faults`` and then fails
without running the query (a request lost with its client), ``exit`` ends
the process at once, like a crash, before the query runs. ``GET
/__front/log`` returns the queries seen so far (text, settings, format) as
JSON lines. ``POST /__front/capture`` with ``{"dir": path}`` saves every
INSERT that carries data (but those into sluice_checkpoints) as
``path/<n>.sql`` and ``path/<n>.bin`` until ``DELETE /__front/capture``:
the benchmark replays them as the front's limit.

Usage: clickhouse_front.py --dir DIR --port PORT [--user U --password P] [--tls-cert PEM --tls-key PEM]
"""

from __future__ import annotations

import argparse
import base64
import collections
import faulthandler
import json
import os
import re
import ssl
import sys
import tempfile
import threading
import time
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from chdb.session import Session

# URL parameters of ClickHouse's HTTP interface that are not settings
HTTP_PARAMS = {
    "query", "database", "default_format", "user", "password", "query_id", "session_id",
    "session_timeout", "session_check", "compress", "decompress", "buffer_size",
    "wait_end_of_query", "quota_key", "stacktrace", "send_progress_in_http_headers",
    "http_headers_progress_interval_ms", "enable_http_compression", "role",
}

INSERT_FORMAT = re.compile(r"^(\s*INSERT\s+INTO\s.*?)\s+FORMAT\s+([A-Za-z0-9_]+)\s*$", re.S | re.I)
IDENT = r"(?:`(?:[^`\\]|\\.)*`|[A-Za-z_][A-Za-z0-9_]*)"
INSERT_HEAD = re.compile(rf"^\s*INSERT\s+INTO\s+(?:TABLE\s+)?({IDENT}(?:\.{IDENT})?)\s*(\((.*?)\))?\s*"
                         rf"(SETTINGS\s+.*)?$", re.S | re.I)
FORMAT_CLAUSE = re.compile(r"\bFORMAT\s+([A-Za-z0-9_]+)\s*;?\s*$", re.I)
ERROR_CODE = re.compile(r"^Code: (\d+)\.")

CONTENT_TYPES = {
    "TabSeparated": "text/tab-separated-values; charset=UTF-8",
    "TSV": "text/tab-separated-values; charset=UTF-8",
    "JSONEachRow": "application/x-ndjson; charset=UTF-8",
    "JSON": "application/json; charset=UTF-8",
    "CSV": "text/csv; charset=UTF-8",
}


def literal(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def quote_ident(s: str) -> str:
    return "`" + s.replace("\\", "\\\\").replace("`", "\\`") + "`"


def unquote(ident: str) -> str:
    if ident.startswith("`"):
        return re.sub(r"\\(.)", r"\1", ident[1:-1])
    return ident


class Front:
    def __init__(self, directory: str, users: dict[str, str]):
        self.session = Session(os.path.join(directory, "data"))
        self.tmp = os.path.join(directory, "inserts")
        os.makedirs(self.tmp, exist_ok=True)
        self.lock = threading.Lock()
        self.users = users
        self.faults: list[dict] = []
        self.fault_cv = threading.Condition()
        self.log: collections.deque = collections.deque(maxlen=20000)
        self.capture_dir: str | None = None
        self.captured = 0
        self.version = str(self.session.query("SELECT version()", "TabSeparated").bytes().decode().strip())

    def fault_for(self, sql: str, data: bytes | None):
        with self.fault_cv:
            for rule in self.faults:
                if "body" in rule and (data is None or not re.search(rule["body"], data.decode("latin-1"), re.S)):
                    continue
                if rule.get("times", 1) > 0 and re.search(rule["match"], sql, re.S):
                    if rule.get("skip", 0) > 0:
                        rule["skip"] -= 1
                        continue
                    rule["times"] = rule.get("times", 1) - 1
                    return dict(rule)
        return None

    def insert_from_file(self, head: str, fmt: str, data: bytes):
        """INSERT INTO t (cols) SETTINGS ... SELECT * FROM file(data): the engine's
        own parsing of fmt, its constraints and its deduplication, as a server's."""
        m = INSERT_HEAD.match(head)
        if not m:
            raise ValueError(f"Code: 62. DB::Exception: Syntax error: cannot read the INSERT {head[:200]!r}. "
                             "(SYNTAX_ERROR)")
        table, cols, settings = m.group(1), m.group(3), m.group(4) or ""
        parts = [unquote(p) for p in re.findall(IDENT, table)]
        db, name = (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])
        where = f"database = {literal(db)}" if db else "database = currentDatabase()"
        types = self.session.query(
            f"SELECT name, type, default_kind FROM system.columns WHERE {where} AND table = {literal(name)} "
            "ORDER BY position", "JSONEachRow").bytes().decode()
        known = [json.loads(line) for line in types.splitlines() if line.strip()]
        if not known:
            raise ValueError(f"Code: 60. DB::Exception: Table {table} does not exist. (UNKNOWN_TABLE)")
        by_name = {c["name"]: c["type"] for c in known}
        if cols is None:
            names = [c["name"] for c in known if c["default_kind"] not in ("MATERIALIZED", "ALIAS", "EPHEMERAL")]
        else:
            names = [unquote(c) for c in re.findall(IDENT, cols)]
        missing = [n for n in names if n not in by_name]
        if missing:
            raise ValueError(f"Code: 16. DB::Exception: No such column {missing[0]} in table {table}. "
                             "(NO_SUCH_COLUMN_IN_TABLE)")
        structure = ", ".join(f"{quote_ident(n)} {by_name[n]}" for n in names)
        col_list = ", ".join(quote_ident(n) for n in names)
        fd, path = tempfile.mkstemp(dir=self.tmp, suffix="." + fmt)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            return self.session.query(
                f"INSERT INTO {table} ({col_list}) {settings} SELECT * FROM file({literal(path)}, {literal(fmt)}, "
                f"{literal(structure)})", "TabSeparated")
        finally:
            os.unlink(path)

    def wait_released(self, rule):
        with self.fault_cv:
            while any(r.get("id") == rule.get("id") for r in self.faults):
                self.fault_cv.wait(0.5)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "chdb-front"
    front: Front = None  # set in main

    def log_message(self, fmt, *args):  # quiet: the tests read /__front/log
        pass

    # ------------------------------------------------------------ helpers --
    def reply(self, status: int, body: bytes, headers: dict[str, str] | None = None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-ClickHouse-Server-Display-Name", "chdb-front")
        self.end_headers()
        self.wfile.write(body)

    def fail(self, message: str, status: int = 500):
        m = ERROR_CODE.match(message)
        code = m.group(1) if m else "1002"
        if not m:
            message = f"Code: 1002. DB::Exception: {message}. (UNKNOWN_EXCEPTION)"
        text = f"{message} (version {self.front.version})\n".encode()
        self.reply(status, text, {"X-ClickHouse-Exception-Code": code,
                                  "Content-Type": "text/plain; charset=UTF-8"})

    def read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                line = self.rfile.readline().strip()
                if not line:
                    raise ConnectionAbortedError("chunked body cut off")
                size = int(line.split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    break
                part = self.rfile.read(size)
                if len(part) != size:
                    raise ConnectionAbortedError("chunked body cut off")
                parts.append(part)
                self.rfile.readline()
            body = b"".join(parts)
        else:
            want = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(want)
            if len(body) != want:  # the client went away mid-request: never run a cut-off body
                raise ConnectionAbortedError(f"body ended after {len(body)} of {want} bytes")
        enc = self.headers.get("Content-Encoding", "").lower()
        if enc == "gzip":
            body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
        elif enc == "deflate":
            body = zlib.decompress(body)
        elif enc:
            raise ValueError(f"Code: 1002. DB::Exception: Unknown Content-Encoding: {enc}. (UNKNOWN_EXCEPTION)")
        return body

    def credentials(self, params: dict[str, str]):
        user = self.headers.get("X-ClickHouse-User")
        key = self.headers.get("X-ClickHouse-Key")
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            raw = base64.b64decode(auth[6:]).decode()
            user, _, key = raw.partition(":")
        if user is None and "user" in params:
            user, key = params["user"], params.get("password", "")
        return user or "default", key or ""

    # ------------------------------------------------------------- routes --
    def do_GET(self):
        self.handle_request(b"")

    def do_POST(self):
        try:
            body = self.read_body()
        except (ConnectionError, ValueError) as e:
            if isinstance(e, ConnectionError):
                self.close_connection = True
                return
            self.fail(str(e))
            return
        self.handle_request(body)

    def do_DELETE(self):
        if urlsplit(self.path).path == "/__front/capture":
            self.front.capture_dir = None
            self.reply(200, f"{self.front.captured}\n".encode())
            return
        if urlsplit(self.path).path == "/__front/faults":
            with self.front.fault_cv:
                self.front.faults.clear()
                self.front.fault_cv.notify_all()
            self.reply(200, b"Ok.\n")
            return
        self.reply(404, b"not found\n")

    def handle_request(self, body: bytes):
        url = urlsplit(self.path)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        if url.path == "/ping":
            self.reply(200, b"Ok.\n")
            return
        user, key = self.credentials(params)
        if self.front.users.get(user) != key:
            self.fail(f"Code: 516. DB::Exception: {user}: Authentication failed: password is incorrect, "
                      "or there is no user with such name. (AUTHENTICATION_FAILED)", 401)
            return
        if url.path == "/__front/faults":
            rules = json.loads(body or b"[]")
            with self.front.fault_cv:
                for r in rules:
                    r.setdefault("id", uuid.uuid4().hex)
                self.front.faults.extend(rules)
            self.reply(200, b"Ok.\n")
            return
        if url.path == "/__front/capture":
            self.front.capture_dir = json.loads(body)["dir"]
            self.front.captured = 0
            os.makedirs(self.front.capture_dir, exist_ok=True)
            self.reply(200, b"Ok.\n")
            return
        if url.path == "/__front/log":
            text = "".join(json.dumps(e) + "\n" for e in self.front.log).encode()
            self.reply(200, text)
            return
        if url.path not in ("/", "/query"):
            self.reply(404, b"There is no handle " + url.path.encode() + b"\n")
            return
        self.run_query(params, body)

    def run_query(self, params: dict[str, str], body: bytes):
        query = params.get("query")
        data = None
        if query is None:
            query, body = body.decode(), b""
        fmt_in = None
        m = INSERT_FORMAT.match(query)
        if m and body:
            query, fmt_in, data = m.group(1), m.group(2), body
        elif body:
            query = query + "\n" + body.decode()
        settings = {k: v for k, v in params.items() if k not in HTTP_PARAMS and not k.startswith("param_")}
        self.front.log.append({"query": query, "settings": settings, "format": fmt_in,
                               "bytes": len(data) if data is not None else 0})
        cap = self.front.capture_dir
        if cap and data is not None and "sluice_checkpoints" not in query:
            n = self.front.captured = self.front.captured + 1
            with open(os.path.join(cap, f"{n:06d}.sql"), "w") as f:
                f.write(f"{query} FORMAT {fmt_in}")
            with open(os.path.join(cap, f"{n:06d}.bin"), "wb") as f:
                f.write(data)
        rule = self.front.fault_for(query, data)
        if rule:
            action = rule.get("action", "error")
            if action == "exit":
                os._exit(rule.get("exit_code", 137))
            if action == "hang":
                self.front.wait_released(rule)
            self.fail(rule.get("message", "Code: 1002. DB::Exception: injected fault. (UNKNOWN_EXCEPTION)"),
                      rule.get("status", 500))
            return
        out_fmt = params.get("default_format") or "TabSeparated"
        fm = FORMAT_CLAUSE.search(query) if data is None else None
        if fm:
            out_fmt = fm.group(1)
        s = self.front.session
        with self.front.lock:
            applied = []
            try:
                if "database" in params:
                    s.query(f"USE `{params['database']}`")
                for k, v in settings.items():
                    s.query(f"SET {k} = '" + v.replace("\\", "\\\\").replace("'", "\\'") + "'")
                    applied.append(k)
                t0 = time.time()
                if data is not None:
                    res = self.front.insert_from_file(query, fmt_in, data)
                    out, read_rows, written = b"", 0, res.rows_written()
                    if os.environ.get("CH_FRONT_TRACE"):
                        m_ = re.search(r"insert_deduplication_token = '([^']*)'", query)
                        with open(os.environ["CH_FRONT_TRACE"], "a") as tf:
                            tf.write(f"{time.time():.3f} {m_.group(1) if m_ else '-'} written={written} bytes={len(data)}\n")
                else:
                    res = s.query(query, out_fmt)
                    out, read_rows, written = res.bytes(), res.rows_read(), res.rows_written()
                elapsed = time.time() - t0
            except Exception as e:  # noqa: BLE001 - ClickHouse's text goes to the client
                err = str(e)
                # chDB wraps streaming-insert failures; keep ClickHouse's own text
                i = err.find("Code: ")
                self.fail(err[i:] if i >= 0 else err)
                return
            finally:
                for k in applied:
                    try:
                        s.query(f"SET {k} = DEFAULT")
                    except Exception:  # noqa: BLE001
                        pass
                if "database" in params:
                    try:
                        s.query("USE default")
                    except Exception:  # noqa: BLE001
                        pass
        summary = json.dumps({"read_rows": str(read_rows), "written_rows": str(written),
                              "elapsed_ns": str(int(elapsed * 1e9))})
        self.reply(200, out, {"Content-Type": CONTENT_TYPES.get(out_fmt, "application/octet-stream"),
                              "X-ClickHouse-Format": out_fmt, "X-ClickHouse-Timezone": "UTC",
                              "X-ClickHouse-Query-Id": str(uuid.uuid4()), "X-ClickHouse-Summary": summary})


def main():
    faulthandler.enable()  # a crash of the engine leaves its stack in the log
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", default="default")
    ap.add_argument("--password", default="")
    ap.add_argument("--tls-cert", help="serve https with this certificate (PEM) ...")
    ap.add_argument("--tls-key", help="... and its key")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    Handler.front = Front(a.dir, {a.user: a.password})
    srv = ThreadingHTTPServer((a.host, a.port), Handler)
    srv.daemon_threads = True
    if a.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print(f"chdb-front {Handler.front.version} listening on {a.host}:{a.port}{' (https)' if a.tls_cert else ''}",
          flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
