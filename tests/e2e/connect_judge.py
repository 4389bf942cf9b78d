"""Every Kafka message the e2e tests read, decoded by the consumer a
Debezium user runs: Kafka Connect's JsonConverter (schemas off, and on for
messages that carry a schema) and Debezium's ExtractNewRecordState
(tests/connect_judge/ConnectJudge.java, jars from Maven Central via
tests/services/connect_judge.sh). What they decode must equal the JSON
sluice wrote, read the way its schema says (a Connect Decimal's bytes as
its number, a float as a 32-bit float); the tests already compare that JSON
with the source rows, so the decoded values equal the source.

One JVM per pytest process, started at the first read; messages go in
batches, one per topic read."""

from __future__ import annotations

import atexit
import base64
import json
import struct
import subprocess
import threading
from decimal import Context, Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_ANY = object()  # a value JsonConverter reads its own way (NaN under a float schema)
_judge = None
_lock = threading.Lock()
_seen = set()  # (topic, partition, offset, key, value) already judged: tests poll topics


class _Judge:
    def __init__(self):
        cp = subprocess.run(["bash", str(REPO / "tests/services/connect_judge.sh"), "path"],
                            capture_output=True, text=True, timeout=900)
        if cp.returncode != 0:
            raise AssertionError(f"connect_judge.sh path failed:\n{cp.stderr}")
        self.proc = subprocess.Popen(
            ["java", "-Xmx256m", "-XX:+UseSerialGC", "-Xshare:auto", "-cp", cp.stdout.strip(),
             "ConnectJudge"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8", bufsize=1 << 16)

    def decode(self, requests):
        def feed():
            for r in requests:
                self.proc.stdin.write(json.dumps(r) + "\n")
            self.proc.stdin.flush()

        t = threading.Thread(target=feed, daemon=True)
        t.start()
        out = []
        for _ in requests:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError(f"ConnectJudge exited ({self.proc.poll()})")
            out.append(json.loads(line))
        t.join()
        return out

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()


def _get():
    global _judge
    if _judge is None or _judge.proc.poll() is not None:
        _judge = _Judge()
        atexit.register(_judge.close)
    return _judge


def _text(raw):
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _json(text):
    if text is None:
        return False, None
    try:
        return True, json.loads(text)
    except ValueError:
        return False, None


def expected(schema, v):
    """What JsonConverter decodes for payload v under Connect schema schema,
    as ConnectJudge writes it."""
    if v is None:
        return None
    t, name = schema.get("type"), schema.get("name")
    if t == "struct":
        return {f["field"]: expected(f, v.get(f["field"], f.get("default"))) for f in schema["fields"]}
    if t == "array":
        return [expected(schema["items"], x) for x in v]
    if t == "map":
        return {k: expected(schema["values"], x) for k, x in v.items()}
    if t == "bytes" and name == "org.apache.kafka.connect.data.Decimal":
        scale = int(schema.get("parameters", {}).get("scale", "0"))
        unscaled = int.from_bytes(base64.b64decode(v), "big", signed=True)
        return format(Decimal(unscaled).scaleb(-scale, Context(prec=100000)), "f")
    if name == "org.apache.kafka.connect.data.Date":
        return v * 86400000  # java.util.Date: milliseconds
    if t in ("float", "double") and isinstance(v, str):
        return _ANY
    if t == "float":
        return struct.unpack("f", struct.pack("f", v))[0]
    return v


def _same(want, got, path="$"):
    if want is _ANY:
        return None
    if isinstance(want, dict):
        if not isinstance(got, dict) or set(want) != set(got):
            return f"{path}: {got!r} has not the fields of {want!r}"
        for k in want:
            d = _same(want[k], got[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(want, list):
        if not isinstance(got, list) or len(want) != len(got):
            return f"{path}: {got!r} != {want!r}"
        for i, (w, g) in enumerate(zip(want, got)):
            d = _same(w, g, f"{path}[{i}]")
            if d:
                return d
        return None
    if isinstance(want, bool) or isinstance(got, bool):
        return None if want is got else f"{path}: decoded {got!r}, sluice wrote {want!r}"
    return None if want == got else f"{path}: decoded {got!r}, sluice wrote {want!r}"


def check(topic, records):
    """Asserts that Connect's converters read every record (partition,
    offset, key bytes, value bytes, headers) of topic as sluice wrote it."""
    with _lock:
        records = [r for r in records if (topic, r[0], r[1], r[2], r[3]) not in _seen]
        if not records:
            return
        reqs = [{"topic": topic, "key": _text(k), "value": _text(v)} for (_, _, k, v, _) in records]
        res = _get().decode(reqs)
    for (part, off, _, _, _), req, r in zip(records, reqs, res):
        where = f"{topic} partition {part} offset {off}"
        assert "error" not in r, f"{where}: JsonConverter/ExtractNewRecordState refused the message: {r['error']}"
        for side in ("key", "value"):
            ok, raw = _json(req[side])
            if not ok:
                continue
            d = _same(raw, r.get(f"{side}_off"))
            assert not d, f"{where}: {side} with schemas off: {d}"
            if isinstance(raw, dict) and set(raw) == {"schema", "payload"}:
                want = expected(raw["schema"], raw["payload"])
                d = _same(want, r.get(f"{side}_on"))
                assert not d, f"{where}: {side} with schemas on: {d}"
                if side == "value" and "flat" in r:
                    p, s = raw["payload"], raw["schema"]
                    after = next(f for f in s["fields"] if f["field"] == "after")
                    if p.get("op") in ("c", "u", "r"):
                        d = _same(expected(after, p["after"]), r["flat"])
                        assert not d, f"{where}: ExtractNewRecordState: {d}"
                    elif p.get("op") == "d":
                        assert r["flat"] is None, f"{where}: ExtractNewRecordState kept a delete: {r['flat']!r}"
    with _lock:
        _seen.update((topic, r[0], r[1], r[2], r[3]) for r in records)
