"""Every MySQL/MariaDB column type through sluice, value by value.

The same edge values go into two identical tables: one is read by the
snapshot (SELECT, binary protocol), the other arrives through the binlog
(row events). Both must produce exactly the same JSON, and that JSON must
match what the server returns for the row, converted per the documented
mapping (README, "Type mapping")."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import itertools
import json
import struct
import time

import pytest

from sluice_run import Sluice, changes, connect_decimal, mysql_connect, mysql_exec, mysql_pipeline_yaml, wait_events

COLUMNS = """
  id INT PRIMARY KEY,
  ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED,
  mi MEDIUMINT, miu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED,
  d1 DECIMAL(10,2), d2 DECIMAL(65,30), d3 DECIMAL(5,0), d4 DECIMAL(18,9),
  f FLOAT, db DOUBLE,
  b1 BIT(1), b13 BIT(13), b64 BIT(64),
  y YEAR, dte DATE,
  t0 TIME, t3 TIME(3), t6 TIME(6),
  dt0 DATETIME, dt3 DATETIME(3), dt6 DATETIME(6),
  ts0 TIMESTAMP NULL DEFAULT NULL, ts6 TIMESTAMP(6) NULL DEFAULT NULL,
  c CHAR(10), vc VARCHAR(300), tx TEXT,
  cl CHAR(10) CHARACTER SET latin1, vcl VARCHAR(20) CHARACTER SET latin1,
  bn BINARY(6), vb VARBINARY(20), bl BLOB,
  e ENUM('small','medium','large'), st SET('a','b','c','d'),
  js JSON, lc CHAR(255)
"""

ROWS = [
    # id, everything else
    (1, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295,
     -9223372036854775808, 18446744073709551615,
     "-12345678.90", "12345678901234567890123456789012345.123456789012345678901234567890", "-99999",
     "0.000000001",
     3.4028234663852886e38, -1.7976931348623157e308,
     1, 8191, 18446744073709551615,
     2155, "9999-12-31",
     "-838:59:59", "838:59:58.999", "-00:00:00.000001",
     "1000-01-01 00:00:00", "2024-02-29 23:59:59.999", "9999-12-31 23:59:59.999999",
     "1970-01-01 00:00:01", "2038-01-19 03:14:07.999999",
     "a", "x" * 300, "long text ✓", "café", "€‚ƒ„…†‡ˆ‰Š",
     b"\x00\x01", b"\x00\xff\x00", b"\x00" * 5 + b"blob\x00",
     "large", "a,d", '{"k": [1, 2.5, "s", null, true], "n": {"x": -1}}', "z" * 255),
    (2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
     "0.00", "-0.000000000000000000000000000001", "0", "-0.5",
     0.0, 1e-300,
     0, 0, 0,
     1901, "1000-01-01",
     "00:00:00", "-12:34:56.789", "100:00:00.5",
     "2000-01-01 00:00:00", "1999-12-31 23:59:59.001", "2000-01-01 00:00:00.000001",
     "2001-09-09 01:46:40", "2021-01-01 00:00:00.5",
     "", "", "", "", "",
     b"", b"", b"",
     "small", "", "[]", ""),
    (3,) + (None,) * 41,
]

NAMES = ("id ti tiu si siu mi miu i iu bi biu d1 d2 d3 d4 f db b1 b13 b64 y dte t0 t3 t6 dt0 dt3 dt6 ts0 ts6 "
         "c vc tx cl vcl bn vb bl e st js lc").split()
assert all(len(r) == len(NAMES) for r in ROWS)


def insert(mariadb, table, rows):
    conn = mysql_connect(mariadb)
    try:
        with conn.cursor() as cur:
            cur.execute("SET time_zone = '+00:00'")
            marks = ", ".join(["%s"] * len(NAMES))
            for r in rows:
                cur.execute(f"INSERT INTO {table} ({', '.join(NAMES)}) VALUES ({marks})", r)
    finally:
        conn.close()


def server_rows(mariadb, table):
    conn = mysql_connect(mariadb)
    try:
        with conn.cursor() as cur:
            cur.execute("SET time_zone = '+00:00'")
            cur.execute(f"SELECT {', '.join(NAMES)} FROM {table} ORDER BY id")
            return [dict(zip(NAMES, r)) for r in cur.fetchall()]
    finally:
        conn.close()


EPOCH = dt.datetime(1970, 1, 1)


def expected_json(name, v, col_type, snapshot=True):
    """The documented Debezium-style JSON for the value the server returned
    (snapshot: as a snapshot row, whose TIMESTAMP Debezium prints with the
    fraction's significant digits only; the binlog's keeps the column's)."""
    if v is None:
        return None
    t = col_type
    if t.startswith("bigint") and t.endswith("unsigned"):
        return connect_decimal(v)
    if t.startswith("decimal"):
        return format(v, "f")
    if t.startswith("bit"):
        width = int(t[4:-1])
        n = int.from_bytes(v, "big")
        if width == 1:
            return bool(n)
        nb = (width + 7) // 8
        return base64.b64encode(n.to_bytes(nb, "little")).decode()
    if t == "float":
        return struct.unpack("f", struct.pack("f", v))[0]
    if t == "date":
        return (v - dt.date(1970, 1, 1)).days
    if t.startswith("time") and not t.startswith("timestamp"):
        return v.days * 86400 * 10**6 + v.seconds * 10**6 + v.microseconds
    if t.startswith("datetime"):
        us = (v - EPOCH) // dt.timedelta(microseconds=1)
        fsp = int(t[9:-1]) if "(" in t else 0
        return us if fsp > 3 else us // 1000
    if t.startswith("timestamp"):
        fsp = int(t[10:-1]) if "(" in t else 0
        s = v.strftime("%Y-%m-%dT%H:%M:%S")
        frac = f"{v.microsecond:06d}"[:fsp]
        if snapshot:
            frac = frac.rstrip("0")
        if frac:
            s += "." + frac
        return s + "Z"
    if t.startswith(("binary", "varbinary", "blob")):
        return base64.b64encode(v).decode()
    if t.startswith("set"):
        return v if isinstance(v, str) else ",".join(sorted(v, key="abcd".index))
    return v


def column_types(mariadb, db, table):
    conn = mysql_connect(mariadb)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA=%s "
                        "AND TABLE_NAME=%s", (db, table))
            # BIGINT UNSIGNED keeps its name: it renders as a Connect Decimal
            return {n: t if t.startswith("bigint") else t.replace(" unsigned", "") for n, t in cur.fetchall()}
    finally:
        conn.close()


# scan.incremental.snapshot.algorithm: `auto` is snapshot-position on
# MariaDB; watermark reads the same rows through the same decoder, and the
# values it emits are checked here too
@pytest.mark.parametrize("algorithm", ["auto", "watermark"])
def test_every_type_snapshot_and_binlog_agree_with_the_server(mariadb, tmp_path, algorithm):
    db = "types_zoo"
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.snap ({COLUMNS})", f"CREATE TABLE {db}.stream ({COLUMNS})")
    insert(mariadb, f"{db}.snap", ROWS)
    out = tmp_path / "out.jsonl"
    yaml = mysql_pipeline_yaml(mariadb, f"{db}.\\.*", out, name=db, startup="initial", server_id=5990,
                               extra_source=f"  scan.incremental.snapshot.algorithm: {algorithm}\n")
    s = Sluice(tmp_path, yaml, env={"TEST_MYSQL_PASSWORD": mariadb.password})
    s.start()
    s.wait_log(f"snapshot of {db}.stream done", timeout=60)
    said = "placed by binlog watermarks" if algorithm == "watermark" else "each at its exact binlog position"
    assert said in s.log_text(), s.log_text()[-2000:]
    insert(mariadb, f"{db}.stream", ROWS)
    wait_events(out, 6, proc=s)
    time.sleep(0.3)
    assert s.stop() == 0
    evs = changes(out)
    snap = {e["after"]["id"]: e["after"] for e in evs if e["source"]["table"] == "snap"}
    stream = {e["after"]["id"]: e["after"] for e in evs if e["source"]["table"] == "stream"}
    assert {e["op"] for e in evs if e["source"]["table"] == "snap"} == {"r"}
    assert {e["op"] for e in evs if e["source"]["table"] == "stream"} == {"c"}
    types = column_types(mariadb, db, "snap")
    # snapshot and binlog produce identical JSON for identical rows, but
    # for TIMESTAMP's fraction digits (Debezium's snapshot trims them)
    zoned = [n for n in NAMES if types[n].startswith("timestamp")]
    assert zoned == ["ts0", "ts6"]
    assert {k: {n: x for n, x in r.items() if n not in zoned} for k, r in snap.items()} == \
        {k: {n: x for n, x in r.items() if n not in zoned} for k, r in stream.items()}
    for row in server_rows(mariadb, f"{db}.snap"):
        for label, rows, is_snap in (("snapshot", snap, True), ("binlog", stream, False)):
            for name in zoned:
                want = expected_json(name, row[name], types[name], is_snap)
                assert rows[row["id"]][name] == want, (label, row["id"], name, rows[row["id"]][name], want)
    for row in server_rows(mariadb, f"{db}.snap"):
        got = snap[row["id"]]
        for name in NAMES:
            want = expected_json(name, row[name], types[name])
            have = got[name]
            if name == "js" and want is not None:
                assert json.loads(have) == json.loads(want), name
            elif types[name] == "float" and want is not None:
                # the text protocol prints FLOAT with 6 digits; sluice has every bit
                assert float(f"{have:.6g}") == float(f"{want:.6g}"), (name, have, want)
            else:
                assert have == want, (row["id"], name, have, want)


# ---------------------------------------------------------------------------
# Column alignment: every type before and after integers of every width and
# signedness, decimals and floats.
#
# A decoder that miscounts one column -- a metadata byte, a SIGNEDNESS bit
# (a YEAR column once shifted the signedness of every integer after it on
# MariaDB), a NULL bit, a length prefix -- corrupts the columns after it.
# The witnesses alternate signed and unsigned with values whose two readings
# differ (-1 vs 255, max unsigned vs -1), so any shift shows. Each probe type
# sits between two full sets of witnesses, and two more tables interleave
# every probe with single witnesses in two different orders. Snapshot
# (SELECT) and binlog (insert, then delete: after and before images) must
# both equal what the server returns, value by value.

WITNESSES = [  # name, type, the values of rows 1..3
    ("ti", "TINYINT", -128, -1, 1),
    ("tu", "TINYINT UNSIGNED", 255, 128, 2),
    ("si", "SMALLINT", -32768, -1, 3),
    ("su", "SMALLINT UNSIGNED", 65535, 32768, 4),
    ("mi", "MEDIUMINT", -8388608, -1, 5),
    ("mu", "MEDIUMINT UNSIGNED", 16777215, 8388608, 6),
    ("ii", "INT", -2147483648, -1, 7),
    ("iu", "INT UNSIGNED", 4294967295, 2147483648, 8),
    ("bi", "BIGINT", -9223372036854775808, -1, 9),
    ("bu", "BIGINT UNSIGNED", 18446744073709551615, 9223372036854775808, 10),
    ("de", "DECIMAL(20,4)", "-9999999999999999.9999", "-0.0001", "1.5000"),
    ("du", "DECIMAL(20,4) UNSIGNED", "9999999999999999.9999", "0.0001", "2.0000"),
    ("fl", "FLOAT", -1.5, 1e10, 0.25),
    ("dd", "DOUBLE", -1.7976931348623157e308, 5e-324, 0.5),
]

ENUM300 = ", ".join(f"'m{i}'" for i in range(300))  # two-byte ENUM
SET64 = ", ".join(f"'s{i}'" for i in range(64))     # eight-byte SET

PROBES = [  # name, type, the values of rows 1 and 2 (row 3 is NULL)
    ("year", "YEAR", 2155, 1901),
    ("dec65", "DECIMAL(65,30)", "-99999999999999999999999999999999999.999999999999999999999999999999",
     "0.000000000000000000000000000001"),
    ("decu", "DECIMAL(5,2) UNSIGNED", "999.99", "0.01"),
    ("flt", "FLOAT", -3.4028234663852886e38, 1.1754943508222875e-38),
    ("dbl", "DOUBLE", 1.7976931348623157e308, -2.2250738585072014e-308),
    ("bit1", "BIT(1)", 1, 0),
    ("bit17", "BIT(17)", 131071, 1),
    ("bit64", "BIT(64)", 18446744073709551615, 9223372036854775808),
    ("enum1", "ENUM('x','y','z')", "z", "x"),
    ("enum2", f"ENUM({ENUM300})", "m299", "m0"),
    ("set8", f"SET({SET64})", "s0,s63", "s31"),
    ("date", "DATE", "9999-12-31", "1000-01-01"),
    ("time0", "TIME", "-838:59:59", "838:59:59"),
    ("time6", "TIME(6)", "-838:59:58.999999", "00:00:00.000001"),
    ("dt0", "DATETIME", "9999-12-31 23:59:59", "1000-01-01 00:00:00"),
    ("dt6", "DATETIME(6)", "9999-12-31 23:59:59.999999", "1000-01-01 00:00:00.000001"),
    ("ts3", "TIMESTAMP(3) NULL DEFAULT NULL", "2038-01-19 03:14:07.999", "1970-01-01 00:00:01.000"),
    ("char", "CHAR(255)", "é" * 255, ""),
    ("charl", "CHAR(10) CHARACTER SET latin1", "ÿé", "a"),
    ("vc300", "VARCHAR(300)", "v" * 300, ""),
    ("vc5", "VARCHAR(5)", "✓✓✓✓✓", ""),
    ("tinytext", "TINYTEXT", "t" * 255, ""),
    ("text", "TEXT", "long ✓" * 1000, ""),
    ("longtext", "LONGTEXT", "L" * 70000, "x"),
    ("binary", "BINARY(5)", b"\x00\xff", b""),
    ("tinyblob", "TINYBLOB", b"\xff" * 255, b""),
    ("blob", "BLOB", b"\x00\x80" * 2000, b"\x00"),
    ("medblob", "MEDIUMBLOB", bytes(range(256)) * 300, b""),
    ("json", "JSON", '{"k": [1, -2.5, "s", null, true], "n": {"x": -1}}', "[]"),
    ("geom", "GEOMETRY", "POINT(-1.5 2.25)", "LINESTRING(0 0, 1 1, 2 -2)"),
    ("point", "POINT", "POINT(180 -90)", "POINT(0 0)"),
    # MariaDB's INET6/UUID/INET4 look like BINARY(16)/BINARY(4) in the
    # binlog (trailing zero bytes dropped); a real BINARY(16) stays bytes
    ("inet6", "INET6", "2001:db8::ff00:42:8329", "::ffff:1.2.3.0"),
    ("uuid", "UUID", "123e4567-e89b-12d3-a456-426655440000", "00112233-4455-6677-c899-aabbccddeeff"),
    ("inet4", "INET4", "192.168.0.1", "10.0.0.0"),
    ("bin16", "BINARY(16)", b"\x20\x01" + b"\x00" * 14, b"\x00" * 15 + b"\x01"),
]


def _layout_probe(probe):
    """id, every witness, the probe, every witness again."""
    cols = [(f"a_{n}", t, vals) for n, t, *vals in WITNESSES]
    name, typ, v1, v2 = probe
    cols.append(("p", typ, (v1, v2, None)))
    cols += [(f"b_{n}", t, vals) for n, t, *vals in WITNESSES]
    return cols


def _layout_mix(offset, probes):
    """every probe, each after a single witness (a different one each time)."""
    cols = []
    for k, (name, typ, v1, v2) in enumerate(probes):
        wn, wt, *wv = WITNESSES[(k + offset) % len(WITNESSES)]
        cols.append((f"w{k}_{wn}", wt, wv))
        cols.append((f"p{k}_{name}", typ, (v1, v2, None)))
    return cols


LAYOUTS = {f"p_{p[0]}": _layout_probe(p) for p in PROBES}
LAYOUTS["mix_fwd"] = _layout_mix(0, PROBES)
LAYOUTS["mix_rev"] = _layout_mix(7, list(reversed(PROBES)))


def _placeholder(typ):
    return "ST_GeomFromText(%s)" if typ.startswith(("GEOMETRY", "POINT")) else "%s"


def _insert_layout(conn, table, cols):
    names = ", ".join(["id"] + [c[0] for c in cols])
    marks = ", ".join(["%s"] + [_placeholder(c[1]) for c in cols])
    with conn.cursor() as cur:
        for r in range(3):
            cur.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", [r + 1] + [c[2][r] for c in cols])


def _alignment_expected(v, col_type, snapshot=True):
    if v is None:
        return None
    if isinstance(v, (bytes, bytearray)) and not col_type.startswith("bit"):
        return base64.b64encode(bytes(v)).decode()
    if col_type.startswith("set") and not isinstance(v, str):
        members = [m.strip("'") for m in col_type[4:-1].split(",")]
        return ",".join(sorted(v, key=members.index))
    return expected_json(None, v, col_type, snapshot)


def _same_value(have, want, col_type, name):
    if col_type == "float" and want is not None and have is not None:
        return float(f"{have:.6g}") == float(f"{want:.6g}")
    if name.endswith("json") and isinstance(have, str) and isinstance(want, str):
        return json.loads(have) == json.loads(want)
    return have == want


def test_every_type_before_and_after_every_integer_keeps_its_alignment(mariadb, tmp_path):
    db = "types_align"
    stmts = [f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}"]
    for t, cols in LAYOUTS.items():
        body = ", ".join(["id INT PRIMARY KEY"] + [f"{n} {typ}" for n, typ, _ in cols])
        stmts += [f"CREATE TABLE {db}.s_{t} ({body})", f"CREATE TABLE {db}.b_{t} ({body})"]
    mysql_exec(mariadb, *stmts)
    conn = mysql_connect(mariadb)
    try:
        with conn.cursor() as cur:
            cur.execute("SET time_zone = '+00:00'")
        for t, cols in LAYOUTS.items():
            _insert_layout(conn, f"{db}.s_{t}", cols)
    finally:
        conn.close()
    out = tmp_path / "out.jsonl"
    yaml = mysql_pipeline_yaml(mariadb, f"{db}.\\.*", out, name=db, startup="initial", server_id=5998)
    s = Sluice(tmp_path, yaml, env={"TEST_MYSQL_PASSWORD": mariadb.password})
    s.start(timeout=120)  # 66 tables to plan before the stream starts
    for t in LAYOUTS:
        s.wait_log(f"snapshot of {db}.b_{t} done", timeout=120)
    conn = mysql_connect(mariadb)
    try:
        with conn.cursor() as cur:
            cur.execute("SET time_zone = '+00:00'")
        for t, cols in LAYOUTS.items():
            _insert_layout(conn, f"{db}.b_{t}", cols)
        with conn.cursor() as cur:
            for t in LAYOUTS:
                cur.execute(f"DELETE FROM {db}.b_{t}")
    finally:
        conn.close()
    n = len(LAYOUTS) * 3
    wait_events(out, 3 * n, timeout=120, proc=s)
    time.sleep(0.3)
    assert s.stop() == 0
    evs = changes(out)
    snap, ins, dels = {}, {}, {}
    for e in evs:
        t = e["source"]["table"]
        if t.startswith("s_"):
            assert e["op"] == "r", e
            snap[(t[2:], e["after"]["id"])] = e["after"]
        elif e["op"] == "c":
            ins[(t[2:], e["after"]["id"])] = e["after"]
        else:
            assert e["op"] == "d", e
            dels[(t[2:], e["before"]["id"])] = e["before"]
    assert len(snap) == len(ins) == len(dels) == n
    failures = []
    for t, cols in LAYOUTS.items():
        types = column_types(mariadb, db, f"s_{t}")
        names = [c[0] for c in cols]
        conn = mysql_connect(mariadb)
        try:
            with conn.cursor() as cur:
                cur.execute("SET time_zone = '+00:00'")
                cur.execute(f"SELECT id, {', '.join(names)} FROM {db}.s_{t} ORDER BY id")
                rows = cur.fetchall()
        finally:
            conn.close()
        for row in rows:
            rid = row[0]
            for name, v in zip(names, row[1:]):
                for what, got in (("snapshot", snap), ("binlog insert", ins), ("binlog delete", dels)):
                    want = _alignment_expected(v, types[name], what == "snapshot")
                    have = got[(t, rid)][name]
                    if not _same_value(have, want, types[name], name):
                        failures.append(f"{t} id={rid} {name} ({types[name]}) {what}: {have!r} != {want!r}")
    assert not failures, "\n".join(failures[:40]) + f"\n({len(failures)} mismatches)"
