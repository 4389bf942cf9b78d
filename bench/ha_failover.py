"""Failover time of a high-availability group (pipeline ha.mode): two
`sluice run` members of a MariaDB -> Kafka (exactly-once) pipeline, a
writer inserting 100 rows a second stamped with their commit time, and a
read_committed consumer. Each round kills the active member with -9 and
measures the time from the kill to the first row written after the kill
that is visible to the consumer: the failover as a reader of the topic
sees it (takeover + resume from the checkpoint + one epoch). The killed
member then rejoins as standby. Prints one JSON line with p50/p99/max in
seconds.

usage: ha_failover.py --mysql-port P --bootstrap B --sluice BIN --workdir D
                      [--mode kafka-group|source-lock] [--failovers 20] [--session 6s]
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import threading
import time
from pathlib import Path

import pymysql
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

ACTIVE = "active: leadership acquired"
STANDBY = "standby: waiting to become active"


class Member:
    def __init__(self, sluice, cfg, log_path):
        self.sluice, self.cfg, self.log_path = sluice, cfg, log_path
        self.proc = None

    def start(self, wait_for):
        self.log = open(self.log_path, "a")
        self.mark = self.log_path.stat().st_size
        self.proc = subprocess.Popen([self.sluice, "run", str(self.cfg)], stdout=self.log, stderr=subprocess.STDOUT)
        self.wait(wait_for, 120)

    def text(self):
        return self.log_path.read_text()[self.mark:]

    def wait(self, what, timeout):
        deadline = time.time() + timeout
        while what not in self.text():
            if self.proc.poll() is not None or time.time() > deadline:
                raise SystemExit(f"sluice did not log {what!r}:\n{self.text()[-3000:]}")
            time.sleep(0.02)

    def active(self):
        return self.proc.poll() is None and ACTIVE in self.text()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mysql-port", type=int, required=True)
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--sluice", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--mode", default="kafka-group", choices=["kafka-group", "source-lock"])
    ap.add_argument("--failovers", type=int, default=20)
    ap.add_argument("--session", default="6s")
    a = ap.parse_args()
    work = Path(a.workdir)
    work.mkdir(parents=True, exist_ok=True)
    name = f"ha{a.mode.replace('-', '')}{int(time.time())}"
    conn = pymysql.connect(host="127.0.0.1", port=a.mysql_port, user="sluice", password="sluice", autocommit=True)
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
        cur.execute(f"CREATE TABLE {name}.t (id BIGINT AUTO_INCREMENT PRIMARY KEY, t_us BIGINT NOT NULL)")
    topic = f"{name}.{name}.t"
    admin = AdminClient({"bootstrap.servers": a.bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    cfg = work / f"{name}.yaml"
    cfg.write_text(f"""
source:
  type: mysql
  hostname: 127.0.0.1
  port: {a.mysql_port}
  username: sluice
  password: sluice
  tables: {name}.t
  server-id: 6400
  scan.startup.mode: latest-offset
sink:
  type: kafka
  properties.bootstrap.servers: {a.bootstrap}
  include.schema.changes: false
pipeline:
  name: {name}
  checkpoint.interval: 100ms
  ha.mode: {a.mode}
  ha.session.timeout: {a.session}
""")
    members = [Member(a.sluice, cfg, work / f"{name}-m{i}.log") for i in range(2)]
    members[0].start(ACTIVE)
    members[0].wait("mysql source: streaming", 60)
    members[1].start(STANDBY)

    seen_after = [None]  # (kill time, first visible stamp >= it)
    visible_at: list[float] = []
    stop = threading.Event()

    def consume():
        c = Consumer({"bootstrap.servers": a.bootstrap, "group.id": name + "-reader",
                      "isolation.level": "read_committed", "enable.auto.commit": False, "fetch.wait.max.ms": 5})
        c.assign([TopicPartition(topic, 0, 0)])
        while not stop.is_set():
            m = c.poll(0.05)
            if m is None or m.error() or m.value() is None:
                continue
            after = json.loads(m.value())["after"]
            t0 = seen_after[0]
            if after and t0 is not None and after["t_us"] / 1e6 >= t0 and not visible_at:
                visible_at.append(time.time())
        c.close()

    def write():
        with conn.cursor() as cur:
            while not stop.is_set():
                cur.execute(f"INSERT INTO {name}.t (t_us) VALUES ({time.time_ns() // 1000})")
                time.sleep(0.01)

    threads = [threading.Thread(target=consume, daemon=True), threading.Thread(target=write, daemon=True)]
    for t in threads:
        t.start()
    time.sleep(2)
    took = []
    for _ in range(a.failovers):
        (active,) = [m for m in members if m.active()]
        visible_at.clear()
        t0 = time.time()
        seen_after[0] = t0
        active.proc.send_signal(signal.SIGKILL)
        active.proc.wait()
        deadline = time.time() + 120
        while not visible_at:
            if time.time() > deadline:
                raise SystemExit("no row written after the kill became visible within 120 s")
            time.sleep(0.01)
        took.append(visible_at[0] - t0)
        active.start(STANDBY)
        time.sleep(1)
    stop.set()
    for t in threads:
        t.join()
    for m in members:
        m.proc.send_signal(signal.SIGTERM)
        m.proc.wait(60)
    s = sorted(took)

    def pct(p):
        return round(s[min(len(s) - 1, int(p * len(s)))], 3)

    print(json.dumps({"mode": a.mode, "session": a.session, "failovers": len(s), "p50_s": pct(0.50),
                      "p99_s": pct(0.99), "max_s": round(s[-1], 3), "min_s": round(s[0], 3)}))


if __name__ == "__main__":
    main()
