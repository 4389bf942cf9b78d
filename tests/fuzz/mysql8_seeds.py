#!/usr/bin/env python3
"""tests/fuzz/mysql8_seeds.py — seeds for fuzz_binlog of the MySQL 8
events no MariaDB writes (so capture_seeds.py cannot capture them), built
from MySQL's formats as tests/unit/test_mysql8_events.c builds them: a
TRANSACTION_PAYLOAD_EVENT (zstd and uncompressed) holding BEGIN,
TABLE_MAP, WRITE_ROWS and XID (libs/mysql/binlog/event/codecs/binary.cpp),
a GTID_TAGGED_LOG_EVENT (mysql::serialization, control_events.h
Gtid_event::define_fields), and a PARTIAL_UPDATE_ROWS_EVENT whose JSON
column is a diff vector (sql/rpl_record.cc, sql/json_diff.cc; as
tests/unit/test_mysql8_partial_json.c builds it). Needs the zstd command. Seeds are
content-addressed like capture_seeds.py's.

Usage: python3 tests/fuzz/mysql8_seeds.py
"""
import hashlib
import struct
import subprocess
from pathlib import Path

OUT = Path(__file__).resolve().parent / "seeds" / "fuzz_binlog"

# TABLE_MAP of cz.t (id INT PRIMARY KEY, s VARCHAR(100)), table id 0x15
TM = bytes([0x15, 0, 0, 0, 0, 0, 0x01, 0, 0x02, 0x63, 0x7a, 0, 0x01, 0x74, 0, 0x02, 0x03, 0x0f, 0x02, 0x90,
            0x01, 0x02, 0x01, 0x01, 0x00, 0x02, 0x01, 0x2d, 0x04, 0x05, 0x02, 0x69, 0x64, 0x01, 0x73, 0x08,
            0x01, 0x00])


def event(etype, body, ts=1700000000):
    return struct.pack("<IBIIIH", ts, etype, 1, 19 + len(body), 0, 0) + body


def write_rows(n):
    b = bytes([0x15, 0, 0, 0, 0, 0]) + struct.pack("<HH", 1, 2) + bytes([2, 3])
    for k in range(1, n + 1):
        s = b"x" * (k % 90)
        b += bytes([0]) + struct.pack("<I", k) + struct.pack("<H", len(s)) + s
    return b


def netlen(x):
    if x < 251:
        return bytes([x])
    if x < 65536:
        return bytes([252]) + struct.pack("<H", x)
    if x < 1 << 24:
        return bytes([253]) + struct.pack("<I", x)[:3]
    return bytes([254]) + struct.pack("<Q", x)


def field(t, v):
    return netlen(t) + netlen(len(netlen(v))) + netlen(v)


def payload(tx, zstd):
    data = subprocess.run(["zstd", "-q", "-c", "--no-check"], input=tx, stdout=subprocess.PIPE,
                          check=True).stdout if zstd else tx
    head = field(2, 0 if zstd else 255) + (field(3, len(tx)) if zstd else b"") + field(1, len(data)) + b"\0"
    return head + data


def varlen(x):
    n = (x.bit_length() * 575 >> 12) + 1
    first = ((1 << (n - 1)) - 1) | (x << n) & 0xff
    if n == 1:
        return bytes([first])
    rest = x >> (8 - n + ((n + 7) >> 4))
    return bytes([first]) + rest.to_bytes(8, "little")[:n - 1]


def svarlen(x):
    return varlen(x << 1 if x >= 0 else (-(x + 1) << 1) | 1)


def tagged_gtid(tag, gno):
    uuid = bytes.fromhex("3e11fa4771ca11e19e33c80aa9429562")
    f = varlen(0) + varlen(0) + varlen(1) + b"".join(varlen(b) for b in uuid)
    f += varlen(2) + svarlen(gno) + varlen(3) + varlen(len(tag)) + tag
    f += varlen(4) + svarlen(17) + varlen(5) + svarlen(18) + varlen(6) + varlen(1733150000123456)
    f += varlen(8) + varlen(412) + varlen(9) + varlen(80400)
    size = 1 + 1 + 1 + len(f)
    size = 1 + len(varlen(size)) + 1 + len(f)
    return varlen(1) + varlen(size) + varlen(12) + f


# TABLE_MAP of j.t (id INT PRIMARY KEY, a JSON, n INT, b JSON), table id 0x21
TM_JSON = (bytes([0x21, 0, 0, 0, 0, 0, 1, 0, 1]) + b"j\0" + bytes([1]) + b"t\0" + bytes([4, 0x03, 0xf5, 0x03, 0xf5, 2, 4, 4,
           0x0a, 1, 1, 0, 4, 9, 2]) + b"id" + bytes([1]) + b"a" + bytes([1]) + b"n" + bytes([1]) + b"b" +
           bytes([8, 1, 0]))


def j_small(is_obj, items):
    """a small binary JSON object or array: items are (key, type, body);
    int16 (5) and literals (4) inlined"""
    n = len(items)
    hdr = 4 + (4 * n if is_obj else 0) + 3 * n
    keys = b"".join(k.encode() for k, _, _ in items) if is_obj else b""
    at = hdr + len(keys)
    kent, vent, tail = b"", b"", b""
    koff = hdr
    for k, t, body in items:
        if is_obj:
            kent += struct.pack("<HH", koff, len(k))
            koff += len(k)
        if t in (4, 5):
            vent += bytes([t]) + body.ljust(2, b"\0")
        else:
            vent += bytes([t]) + struct.pack("<H", at + len(tail))
            tail += body
    body = kent + vent + keys + tail
    return struct.pack("<HH", n, hdr + len(keys) + len(tail)) + body


def partial_update():
    """{"k": 1, "arr": [1, 2, 3], "obj": {"x": "y"}} updated by INSERT
    $.arr[3] 9, REPLACE $.obj."x" "z", REMOVE $.k"""
    arr = j_small(False, [("", 5, struct.pack("<h", v)) for v in (1, 2, 3)])
    obj = j_small(True, [("x", 12, b"\x01y")])
    doc = bytes([0]) + j_small(True, [("k", 5, struct.pack("<h", 1)), ("arr", 2, arr), ("obj", 0, obj)])
    diffs = b""
    for op, path, val in ((1, b"$.arr[3]", bytes([5]) + struct.pack("<h", 9)), (0, b'$.obj."x"', b"\x0c\x01z"),
                          (2, b"$.k", None)):
        diffs += bytes([op, len(path)]) + path + (bytes([len(val)]) + val if val else b"")
    b = bytes([2]) + j_small(False, [("", 5, struct.pack("<h", 1))])
    ev = bytes([0x21, 0, 0, 0, 0, 0]) + struct.pack("<HH", 1, 2) + bytes([4, 0x0f, 0x0f])
    ev += bytes([0]) + struct.pack("<I", 1) + struct.pack("<I", len(doc)) + doc + struct.pack("<I", 7)
    ev += struct.pack("<I", len(b)) + b
    ev += bytes([1, 0x01, 0]) + struct.pack("<I", 1) + struct.pack("<I", len(diffs)) + diffs + struct.pack("<I", 8)
    ev += struct.pack("<I", len(b)) + b
    return ev


def frame(etype, body):
    return bytes([etype]) + struct.pack("<H", len(body)) + body


def put(data):
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / hashlib.sha1(data).hexdigest()).write_bytes(data)


def main():
    fde = frame(15, struct.pack("<H", 4) + b"8.0.36".ljust(50, b"\0") + struct.pack("<I", 0) + bytes([19]))
    tx = event(2, bytes(13) + b"\0BEGIN") + event(19, TM) + event(30, write_rows(3)) + event(16, bytes(8))
    for zstd in (True, False):
        put(fde + frame(42, tagged_gtid(b"blue", 42)) + frame(40, payload(tx, zstd)))
    put(frame(42, tagged_gtid(b"_abcdefghijklmnopqrstuvwxyz01234", 2 ** 63 - 1)))
    put(fde + frame(19, TM_JSON) + frame(39, partial_update()))


if __name__ == "__main__":
    main()
