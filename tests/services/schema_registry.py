"""A small Confluent-compatible schema registry for the e2e tests.

Why ours: Confluent's registry is not on Maven Central, Karapace is not on
PyPI, and Apicurio's io.apicurio:apicurio-registry-app on Maven Central is a
Quarkus module jar (no Main-Class, needs Quarkus' build step), so none runs
here. This implements the REST subset that sluice and confluent-kafka's
SchemaRegistryClient use, with Avro compatibility decided by Apache Avro's
own schema resolution (PyPI `avro`, ReaderWriterCompatibilityChecker):

  POST /subjects/{s}/versions            register (same schema: same id)
  POST /subjects/{s}                     look a schema up
  GET  /subjects, /subjects/{s}/versions, /subjects/{s}/versions/{v|latest}
  GET  /schemas/ids/{id}                 (also /schemas/ids/{id}/schema)
  GET/PUT /config, /config/{s}           compatibilityLevel (default BACKWARD)

Errors as the real one sends them: {"error_code": 40401, "message": ...},
409 for incompatible schemas, 422 (42201) for invalid ones. Optional basic
auth (--user name:password) or bearer token (--token), https (--tls-cert,
--tls-key). Schemas are kept in memory, and in --data
FILE when given (a restarted registry keeps its ids).

Usage: python schema_registry.py --port-file F [--port N] [--user u:p] [--token T]
       [--data FILE] [--tls-cert PEM --tls-key PEM]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType


class Store:
    def __init__(self, path=None):
        self.lock = threading.Lock()
        self.path = path
        self.ids = {}        # canonical text -> id
        self.by_id = {}      # id -> schema text (as first registered)
        self.subjects = {}   # subject -> [id, ...] (version = index + 1)
        self.config = {"": "BACKWARD"}
        if path and os.path.exists(path):
            with open(path) as f:
                d = json.load(f)
            self.by_id = {int(k): v for k, v in d["by_id"].items()}
            self.ids = {canonical(v): k for k, v in self.by_id.items()}
            self.subjects, self.config = d["subjects"], d["config"]

    def save(self):
        """--data: kept across restarts (a test stops and starts the registry)"""
        if not self.path:
            return
        with open(self.path + ".tmp", "w") as f:
            json.dump({"by_id": self.by_id, "subjects": self.subjects, "config": self.config}, f)
        os.replace(self.path + ".tmp", self.path)


def canonical(text):
    return json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))


def compatible(level, new, olds):
    """(ok, message) of schema new against the subject's earlier versions."""
    if level == "NONE" or not olds:
        return True, ""
    checked = olds if level.endswith("_TRANSITIVE") else olds[-1:]
    base = level.replace("_TRANSITIVE", "")
    for old in checked:
        pairs = []
        if base in ("BACKWARD", "FULL"):
            pairs.append((new, old))  # the new schema reads old data
        if base in ("FORWARD", "FULL"):
            pairs.append((old, new))
        for reader, writer in pairs:
            r = ReaderWriterCompatibilityChecker().get_compatibility(reader, writer)
            if r.compatibility is not SchemaCompatibilityType.compatible:
                details = "; ".join(sorted(r.messages)) or "incompatible"
                where = ", ".join(sorted(r.locations))
                return False, f"{details} at {where}"
    return True, ""


class Handler(BaseHTTPRequestHandler):
    store: Store
    auth: str | None = None
    token: str | None = None
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet; the tests read sluice's log
        pass

    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def error(self, code, sub, message):
        # Confluent: 409 stays 409; other codes get a sub-code (40401, 42201)
        self.reply(code, {"error_code": code if code == 409 else code * 100 + sub, "message": message})

    def authorized(self):
        if not self.auth and not self.token:
            return True
        have = self.headers.get("Authorization")
        if self.auth and have == "Basic " + base64.b64encode(self.auth.encode()).decode():
            return True
        if self.token and have == "Bearer " + self.token:
            return True
        self.error(401, 1, "Unauthorized")
        return False

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n) or b"{}")

    def do_GET(self):
        if not self.authorized():
            return
        s, path = self.store, self.path.split("?")[0]
        with s.lock:
            if path == "/subjects":
                return self.reply(200, sorted(s.subjects))
            m = re.fullmatch(r"/schemas/ids/(\d+)(/schema)?", path)
            if m:
                sid = int(m.group(1))
                if sid not in s.by_id:
                    return self.error(404, 3, f"Schema {sid} not found")
                text = s.by_id[sid]
                return self.reply(200, json.loads(text) if m.group(2) else {"schema": text})
            m = re.fullmatch(r"/subjects/([^/]+)/versions", path)
            if m:
                versions = s.subjects.get(unquote(m.group(1)))
                if versions is None:
                    return self.error(404, 1, f"Subject '{unquote(m.group(1))}' not found.")
                return self.reply(200, list(range(1, len(versions) + 1)))
            m = re.fullmatch(r"/subjects/([^/]+)/versions/(latest|-1|\d+)", path)
            if m:
                subject = unquote(m.group(1))
                versions = s.subjects.get(subject)
                if versions is None:
                    return self.error(404, 1, f"Subject '{subject}' not found.")
                v = len(versions) if m.group(2) in ("latest", "-1") else int(m.group(2))
                if not 1 <= v <= len(versions):
                    return self.error(404, 2, f"Version {v} not found.")
                sid = versions[v - 1]
                return self.reply(200, {"subject": subject, "version": v, "id": sid, "schema": s.by_id[sid]})
            m = re.fullmatch(r"/config(?:/([^/]+))?", path)
            if m:
                subject = unquote(m.group(1) or "")
                if subject and subject not in s.config:
                    return self.error(404, 8, f"Subject '{subject}' does not have subject-level compatibility configured")
                return self.reply(200, {"compatibilityLevel": s.config[subject]})
        self.error(404, 0, f"no route {path}")

    def do_PUT(self):
        if not self.authorized():
            return
        m = re.fullmatch(r"/config(?:/([^/]+))?", self.path.split("?")[0])
        if not m:
            return self.error(404, 0, "no route")
        level = self.body().get("compatibility")
        if level not in ("NONE", "BACKWARD", "FORWARD", "FULL", "BACKWARD_TRANSITIVE",
                         "FORWARD_TRANSITIVE", "FULL_TRANSITIVE"):
            return self.error(422, 3, f"Invalid compatibility level {level}")
        with self.store.lock:
            self.store.config[unquote(m.group(1) or "")] = level
            self.store.save()
        self.reply(200, {"compatibility": level})

    def do_POST(self):
        if not self.authorized():
            return
        path = self.path.split("?")[0]
        m = re.fullmatch(r"/subjects/([^/]+)(/versions)?", path)
        if not m:
            return self.error(404, 0, f"no route {path}")
        subject, register = unquote(m.group(1)), bool(m.group(2))
        req = self.body()
        text = req.get("schema")
        if req.get("schemaType", "AVRO") != "AVRO":
            return self.error(422, 1, "only AVRO schemas here")
        try:
            parsed = avro.schema.parse(text)
        except Exception as exc:  # noqa: BLE001 - the registry's answer
            return self.error(422, 1, f"Invalid schema {text!r}: {exc}")
        key = canonical(text)
        s = self.store
        with s.lock:
            sid = s.ids.get(key)
            versions = s.subjects.get(subject, [])
            if sid is not None and sid in versions:
                v = versions.index(sid) + 1
                if register:
                    return self.reply(200, {"id": sid})
                return self.reply(200, {"subject": subject, "id": sid, "version": v, "schema": s.by_id[sid]})
            if not register:
                return self.error(404, 3 if subject in s.subjects else 1, "Schema not found")
            level = s.config.get(subject, s.config[""])
            olds = [avro.schema.parse(s.by_id[i]) for i in versions]
            ok, why = compatible(level, parsed, olds)
            if not ok:
                return self.error(409, 0, "Schema being registered is incompatible with an earlier schema for "
                                  f"subject \"{subject}\", details: [{why}] (compatibility {level})")
            if sid is None:
                sid = len(s.by_id) + 1
                s.ids[key] = sid
                s.by_id[sid] = text
            s.subjects.setdefault(subject, []).append(sid)
            s.save()
        self.reply(200, {"id": sid})



def unquote(s):
    from urllib.parse import unquote as uq
    return uq(s)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--user")
    ap.add_argument("--token", help="accept Authorization: Bearer TOKEN")
    ap.add_argument("--data", help="file the schemas are kept in across restarts")
    ap.add_argument("--tls-cert", help="serve https with this certificate (PEM) ...")
    ap.add_argument("--tls-key", help="... and key")
    args = ap.parse_args()
    Handler.store = Store(args.data)
    Handler.auth = args.user
    Handler.token = args.token
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    if args.tls_cert:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(args.port_file + ".tmp", args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
