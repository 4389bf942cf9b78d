"""Read what sluice wrote to Kafka with an independent client
(confluent-kafka), under either isolation level."""

from __future__ import annotations

import json
import time
import uuid

from confluent_kafka import Consumer, KafkaException, TopicPartition

import connect_judge


def read_raw(bootstrap, topic, isolation="read_committed", timeout=30):
    """Every record of the topic as (partition, offset, key bytes, value
    bytes, headers dict), in partition order; each one also read through
    Kafka Connect's JsonConverter and ExtractNewRecordState, which must
    decode what sluice wrote (connect_judge.py)."""
    out = _read_raw(bootstrap, topic, isolation, timeout)
    connect_judge.check(topic, out)
    return out


def _read_raw(bootstrap, topic, isolation, timeout):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "t-" + uuid.uuid4().hex[:8],
                  "isolation.level": isolation, "enable.auto.commit": False,
                  "enable.partition.eof": True, "auto.offset.reset": "earliest"})
    try:
        md = c.list_topics(topic, timeout=timeout)
        t = md.topics.get(topic)
        if t is None or t.error is not None:
            return []
        parts = [TopicPartition(topic, p, 0) for p in t.partitions]
        c.assign(parts)
        out, eof = [], set()
        deadline = time.time() + timeout
        while len(eof) < len(parts):
            if time.time() > deadline:
                raise AssertionError(f"could not read {topic} to its end within {timeout}s")
            m = c.poll(1.0)
            if m is None:
                continue
            if m.error():
                if m.error().code() == -191:  # _PARTITION_EOF
                    eof.add(m.partition())
                    continue
                raise KafkaException(m.error())
            eof.discard(m.partition())
            headers = {k: v.decode() for k, v in (m.headers() or [])}
            out.append((m.partition(), m.offset(), m.key(), m.value(), headers))
        out.sort(key=lambda r: (r[0], r[1]))
        return out
    finally:
        c.close()


def read_topic(bootstrap, topic, isolation="read_committed", timeout=30):
    """Every record of the topic as (partition, offset, key, value); key and
    value are decoded JSON (None for a null key or a tombstone)."""
    return [(p, o, _decode_key(k), json.loads(v) if v is not None else None)
            for (p, o, k, v, _) in read_raw(bootstrap, topic, isolation, timeout)]


def _decode_key(raw):
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode()  # the checkpoint topic is keyed by pipeline name


def change_events(records):
    """The change events (tombstones dropped), in partition order."""
    return [v for (_, _, _, v) in records if v is not None]


def topics(bootstrap):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "t-list"})
    try:
        return set(c.list_topics(timeout=30).topics)
    finally:
        c.close()


def wait_records(bootstrap, topic, n, proc, timeout=90):
    """Until the topic holds n records with a value: those records as
    (partition, key bytes, decoded value, headers)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        recs = [(p, k, json.loads(v), h) for (p, _, k, v, h) in read_raw(bootstrap, topic) if v is not None]
        if len(recs) >= n:
            return recs
        if proc.proc.poll() is not None:
            raise AssertionError(f"sluice exited ({proc.proc.returncode}):\n{proc.log_text()[-3000:]}")
        time.sleep(0.5)
    # what a reader that does not wait for commits sees tells an open
    # transaction (stuck last stable offset) from records never written
    seen = len(_read_raw(bootstrap, topic, "read_uncommitted", 30))
    raise AssertionError(f"{topic}: fewer than {n} records ({len(recs)} committed, {seen} written):\n"
                         f"{proc.log_text()[-3000:]}")
