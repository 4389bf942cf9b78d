"""A steady writer for the snapshot-under-writes scenario of bench/run.sh:
updates random rows of a MariaDB table at a given rate (transactions of
500 rows in five runs of 100 neighbours, paced by the clock) until SIGTERM, then prints one JSON line
with the rows it updated and the rate it achieved (under load a 2-core
machine may not keep up; the report prints what was reached).

usage: writer.py --mysql-port P --table db.t --rows N [--rate 5000]
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import time

import pymysql


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mysql-port", type=int, required=True)
    ap.add_argument("--table", required=True)
    ap.add_argument("--rows", type=int, required=True, help="ids 1..rows exist")
    ap.add_argument("--rate", type=int, default=5000, help="rows per second")
    a = ap.parse_args()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    conn = pymysql.connect(host="127.0.0.1", port=a.mysql_port, user="sluice", password="sluice", autocommit=True)
    rnd = random.Random(5)
    per_tx = 500
    start = time.monotonic()
    done = 0
    with conn.cursor() as cur:
        while not stop:
            due = start + (done + per_tx) / a.rate
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(min(wait, 0.2))
                continue
            # five runs of 100 neighbouring rows at random places: range
            # scans, so that one connection keeps up on a busy machine
            starts = [rnd.randint(1, max(1, a.rows - 99)) for _ in range(per_tx // 100)]
            where = " OR ".join(f"id BETWEEN {x} AND {x + 99}" for x in starts)
            cur.execute(f"UPDATE {a.table} SET k = k + 1 WHERE {where}")
            done += per_tx
    elapsed = time.monotonic() - start
    print(json.dumps({"rows": done, "seconds": round(elapsed, 1), "rate": round(done / elapsed) if elapsed else 0}))


if __name__ == "__main__":
    main()
