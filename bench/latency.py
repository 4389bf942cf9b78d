"""Commit-to-visible latency of MariaDB or PostgreSQL -> sluice -> Kafka (exactly-once) at
a steady rate: a writer commits small transactions of rows stamped with
their commit-time microseconds; a read_committed consumer computes, for
every row, the time from that stamp until the row is visible to it.
Prints one JSON line with p50/p99/max in ms, the rate achieved, and
sluice's CPU seconds and peak RSS.

usage: latency.py (--mysql-port P | --pg-port P) --bootstrap B --sluice BIN --workdir D
                  [--rate 10000] [--seconds 20] [--interval 100ms] [--writers 1]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import threading
import time
from pathlib import Path

import psycopg
import pymysql
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mysql-port", type=int)
    ap.add_argument("--pg-port", type=int, help="PostgreSQL instead of MariaDB (database bench)")
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--sluice", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--rate", type=int, default=10000)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--interval", default="100ms")
    ap.add_argument("--writers", type=int, default=1, help="writer connections sharing the rate")
    a = ap.parse_args()
    work = Path(a.workdir)
    work.mkdir(parents=True, exist_ok=True)

    pg = a.pg_port is not None
    if pg == (a.mysql_port is not None):
        raise SystemExit("give exactly one of --mysql-port and --pg-port")
    prefix = f"lat{int(time.time())}"
    if pg:
        def connect():
            return psycopg.connect(host="127.0.0.1", port=a.pg_port, user="sluice", password="sluice",
                                   dbname="bench", autocommit=True)
        conn = connect()
        with conn.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS lat_t")
            cur.execute("CREATE TABLE lat_t (id BIGSERIAL PRIMARY KEY, t_us BIGINT NOT NULL, pad CHAR(80) NOT NULL)")
            cur.execute("DROP PUBLICATION IF EXISTS lat_pub")
            cur.execute("CREATE PUBLICATION lat_pub FOR TABLE lat_t")
        topic = f"{prefix}.public.lat_t"
        table = "lat_t"
        source = f"""  type: postgres
  hostname: 127.0.0.1
  port: {a.pg_port}
  username: sluice
  password: sluice
  database-name: bench
  tables: public.lat_t
  slot.name: {prefix}
  publication.name: lat_pub
  scan.startup.mode: latest-offset"""
    else:
        def connect():
            return pymysql.connect(host="127.0.0.1", port=a.mysql_port, user="sluice", password="sluice",
                                   autocommit=True)
        conn = connect()
        with conn.cursor() as cur:
            cur.execute("DROP DATABASE IF EXISTS lat")
            cur.execute("CREATE DATABASE lat")
            cur.execute("CREATE TABLE lat.t (id BIGINT AUTO_INCREMENT PRIMARY KEY, t_us BIGINT NOT NULL, "
                        "pad CHAR(80) NOT NULL)")
        topic = f"{prefix}.lat.t"
        table = "lat.t"
        source = f"""  type: mysql
  hostname: 127.0.0.1
  port: {a.mysql_port}
  username: sluice
  password: sluice
  tables: lat.t
  server-id: 6300
  scan.startup.mode: latest-offset"""
    admin = AdminClient({"bootstrap.servers": a.bootstrap})
    try:
        admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    except Exception as exc:  # already there from an earlier run is fine
        if "TOPIC_ALREADY_EXISTS" not in str(exc):
            raise

    cfg = work / "latency.yaml"
    cfg.write_text(f"""
source:
{source}
sink:
  type: kafka
  properties.bootstrap.servers: {a.bootstrap}
  topic.prefix: {prefix}
  include.schema.changes: false
pipeline:
  name: {prefix}
  checkpoint.interval: {a.interval}
""")
    log = open(work / "latency-sluice.log", "w")
    timef = work / "latency.time"
    proc = subprocess.Popen(["/usr/bin/time", "-f", "%U %S %M", "-o", str(timef), a.sluice, "run", str(cfg)],
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    ready = "postgres source: streaming" if pg else "mysql source: streaming"
    while ready not in (work / "latency-sluice.log").read_text():
        if proc.poll() is not None or time.time() > deadline:
            raise SystemExit("sluice did not start:\n" + (work / "latency-sluice.log").read_text())
        time.sleep(0.05)

    lat_us: list[int] = []
    received = [0]
    stop = threading.Event()
    t_start = [0.0]

    def consume():
        c = Consumer({"bootstrap.servers": a.bootstrap, "group.id": "latency", "isolation.level": "read_committed",
                      "enable.auto.commit": False, "fetch.wait.max.ms": 5})
        c.assign([TopicPartition(topic, 0, 0)])
        while not stop.is_set():
            m = c.poll(0.1)
            if m is None or m.error() or m.value() is None:
                continue
            now = time.time_ns() // 1000
            after = json.loads(m.value())["after"]
            if after is None:
                continue
            received[0] += 1
            if after["t_us"] / 1e6 >= t_start[0] + a.warmup:
                lat_us.append(now - after["t_us"])
        c.close()

    th = threading.Thread(target=consume, daemon=True)
    th.start()
    time.sleep(1)
    # 100 transactions a second, rate/100 rows each, from --writers
    # connections taking turns (one Python writer alone cannot reach 50k
    # rows/s on a loaded machine)
    per_tx = max(1, a.rate // 100)
    pad = "p" * 80
    sent = [0] * a.writers
    t_start[0] = time.time()

    def write(w):
        c = conn if w == 0 else connect()
        next_at = t_start[0] + w * 0.01
        with c.cursor() as cur:
            while time.time() < t_start[0] + a.seconds:
                now_us = time.time_ns() // 1000
                cur.execute(f"INSERT INTO {table} (t_us, pad) VALUES " + ",".join([f"({now_us},'{pad}')"] * per_tx))
                sent[w] += per_tx
                next_at += 0.01 * a.writers
                delay = next_at - time.time()
                if delay > 0:
                    time.sleep(delay)
        if c is not conn:
            c.close()

    writers = [threading.Thread(target=write, args=(w,)) for w in range(a.writers)]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    sent = sum(sent)
    elapsed = time.time() - t_start[0]
    # let the last epochs arrive
    deadline = time.time() + 30
    while received[0] < sent and time.time() < deadline:
        time.sleep(0.1)
    stop.set()
    th.join()
    # SIGTERM to sluice itself (GNU time would die of it without reporting)
    child = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    subprocess.run(["kill", "-TERM"] + child)
    proc.wait(60)
    if pg:  # the slot would hold WAL from here on
        with conn.cursor() as cur:
            cur.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = %s",
                        (prefix,))
    user, sys_, rss = open(timef).read().split()[-3:]
    lat_us.sort()

    def pct(p):
        return lat_us[min(len(lat_us) - 1, int(p * len(lat_us)))] / 1000.0 if lat_us else None

    print(json.dumps({"sent": sent, "received": received[0], "rate": sent / elapsed, "p50_ms": pct(0.50),
                      "p99_ms": pct(0.99), "max_ms": lat_us[-1] / 1000.0 if lat_us else None,
                      "cpu_s": float(user) + float(sys_), "rss_kib": int(rss)}))


if __name__ == "__main__":
    main()
