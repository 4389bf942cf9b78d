"""The schema registry the Avro tests run (tests/services/schema_registry.py)
and the independent judge of what sluice wrote: confluent-kafka's
SchemaRegistryClient + AvroDeserializer (fastavro underneath) decode every
record read from the real broker."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from kafka_read import read_raw

SERVICES = Path(__file__).resolve().parents[1] / "services"


class Registry:
    """One registry process; stop() and start() again keep port and schemas."""

    def __init__(self, workdir: Path, user=None, extra_args=()):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.user = user
        self.extra_args = list(extra_args)
        self.port = 0
        self.proc = None

    def start(self):
        port_file = self.dir / "port"
        port_file.unlink(missing_ok=True)
        cmd = [sys.executable, str(SERVICES / "schema_registry.py"), "--port-file", str(port_file),
               "--port", str(self.port), "--data", str(self.dir / "schemas.json")]
        if self.user:
            cmd += ["--user", self.user]
        cmd += self.extra_args
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(self.dir / "registry.log", "a"))
        deadline = time.time() + 20
        while not port_file.exists():
            assert self.proc.poll() is None and time.time() < deadline, (self.dir / "registry.log").read_text()
            time.sleep(0.05)
        self.port = int(port_file.read_text())
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def client(self):
        conf = {"url": self.url}
        if self.user:
            conf["basic.auth.user.info"] = self.user
        return SchemaRegistryClient(conf)

    def get(self, path):
        req = urllib.request.Request(self.url + path)
        if self.user:
            import base64
            req.add_header("Authorization", "Basic " + base64.b64encode(self.user.encode()).decode())
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def put_config(self, subject, level):
        req = urllib.request.Request(f"{self.url}/config/{subject}", method="PUT",
                                     data=json.dumps({"compatibility": level}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())


def read_avro(bootstrap, topic, registry, isolation="read_committed", timeout=60, key_avro=True):
    """Every record as (partition, offset, key, value, value schema id): key
    and value decoded by AvroDeserializer (None for a tombstone)."""
    client = registry.client()
    de = AvroDeserializer(client)
    out = []
    for (p, o, k, v, _) in read_raw(bootstrap, topic, isolation, timeout):
        key = de(k, SerializationContext(topic, MessageField.KEY)) if (k and key_avro) else k
        val = de(v, SerializationContext(topic, MessageField.VALUE)) if v is not None else None
        sid = int.from_bytes(v[1:5], "big") if v is not None else None
        out.append((p, o, key, val, sid))
    return out


def avro_changes(records):
    return [r[3] for r in records if r[3] is not None]
