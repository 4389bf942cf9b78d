#!/usr/bin/env python3
"""bench/ch_replay.py — the limit of the ClickHouse (front) sluice writes to:
a minimal client POSTing, over one keep-alive connection, the very INSERTs
sluice sent (captured by tests/services/clickhouse_front.py: the query with
its settings and the RowBinary block), into a copy of the table.

Usage: ch_replay.py --url URL --dir CAPTURE_DIR --from '`db`.`t`' --to '`db2`.`t`'
"""
from __future__ import annotations

import argparse
import base64
import http.client
import sys
import urllib.parse
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--dir", required=True, type=Path)
    ap.add_argument("--from", dest="src", required=True)
    ap.add_argument("--to", dest="dst", required=True)
    ap.add_argument("--user", default="sluice")
    ap.add_argument("--password", default="sluice")
    a = ap.parse_args()
    u = urllib.parse.urlsplit(a.url)
    conn = http.client.HTTPConnection(u.hostname, u.port)
    auth = "Basic " + base64.b64encode(f"{a.user}:{a.password}".encode()).decode()
    rows = 0
    for sql in sorted(a.dir.glob("*.sql")):
        query = sql.read_text().replace(f"INSERT INTO {a.src} ", f"INSERT INTO {a.dst} ", 1)
        body = sql.with_suffix(".bin").read_bytes()
        conn.request("POST", "/?" + urllib.parse.urlencode({"query": query}), body=body,
                     headers={"Authorization": auth, "Content-Type": "application/octet-stream"})
        r = conn.getresponse()
        answer = r.read()
        if r.status != 200:
            print(f"ch_replay: {sql.name}: HTTP {r.status}: {answer.decode(errors='replace')}", file=sys.stderr)
            return 1
        rows += 1
    print(f"ch_replay: {rows} inserts", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
