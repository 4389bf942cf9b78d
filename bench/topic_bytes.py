#!/usr/bin/env python3
"""bench/topic_bytes.py — what a topic holds, for `make bench`'s Avro beside
JSON comparison: records, tombstones and bytes of keys and values
(read_committed), as JSON:
    {"records": N, "values": V, "key_bytes": K, "value_bytes": B}

usage: topic_bytes.py BOOTSTRAP TOPIC
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))
from kafka_read import read_raw  # noqa: E402  (the tests' reader: one consumer, to the end)


def main() -> None:
    recs = read_raw(sys.argv[1], sys.argv[2], timeout=300)
    values = [v for (_, _, _, v, _) in recs if v is not None]
    print(json.dumps({"records": len(recs), "values": len(values),
                      "key_bytes": sum(len(k or b"") for (_, _, k, _, _) in recs),
                      "value_bytes": sum(len(v) for v in values)}))


if __name__ == "__main__":
    main()
