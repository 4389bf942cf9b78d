#!/usr/bin/env python3
"""tests/fuzz/mysql8_seeds.py — seeds for fuzz_binlog of the MySQL 8
events no MariaDB writes (so capture_seeds.py cannot capture them), built
from MySQL's formats as tests/unit/test_mysql8_events.c builds them: a
TRANSACTION_PAYLOAD_EVENT (zstd and uncompressed) holding BEGIN,
TABLE_MAP, WRITE_ROWS and XID (libs/mysql/binlog/event/codecs/binary.cpp),
and a GTID_TAGGED_LOG_EVENT (mysql::serialization, control_events.h
Gtid_event::define_fields). Needs the zstd command. Seeds are
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


if __name__ == "__main__":
    main()
