"""Every common PostgreSQL column type through sluice, value by value.

The same edge values are inserted twice into one table: rows 1-4 before
sluice starts (read by the snapshot, COPY text format) and rows 101-104
while it streams (pgoutput text tuples). Both must produce exactly the same
JSON, and that JSON must equal the documented mapping, written out here as
literals."""

from __future__ import annotations

import base64
import json

from sluice_run import PG_STREAMING, changes, read_events, wait_events

UNAVAILABLE = "__debezium_unavailable_value"


def days(y, m, d):
    """Days since 1970-01-01 of a proleptic Gregorian date (astronomical
    year numbering: 44 BC is -43)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def b64(b):
    return base64.b64encode(b).decode()


US = 1_000_000
T2024 = days(2024, 1, 1) * 86400  # 2024-01-01 00:00:00 UTC in seconds

# (column, type, [input text of rows 1..3], [expected JSON value of rows 1..3]); row 4 is all NULL
COLUMNS = [
    ("i2", "int2", ["-32768", "32767", "0"], [-32768, 32767, 0]),
    ("i4", "int4", ["-2147483648", "2147483647", "7"], [-2147483648, 2147483647, 7]),
    ("i8", "int8", ["-9223372036854775808", "9223372036854775807", "0"],
     [-9223372036854775808, 9223372036854775807, 0]),
    ("n1", "numeric(10,2)", ["12.3", "NaN", "-0.5"], ["12.30", "NaN", "-0.50"]),
    ("n2", "numeric", ["123456789012345678901234567890.000000000000001", "-0.000100", "7"],
     ["123456789012345678901234567890.000000000000001", "-0.000100", "7"]),
    ("n3", "numeric(5,0)", ["-99999", "0.4", "12345"], ["-99999", "0", "12345"]),
    ("f4", "real", ["1.1", "NaN", "-3.4028235e38"], [1.1, "NaN", -3.4028235e38]),
    ("f8", "double precision", ["-1.7976931348623157e308", "Infinity", "0.1"],
     [-1.7976931348623157e308, "Infinity", 0.1]),
    ("f8n", "double precision", ["-Infinity", "5e-324", "-0.25"], ["-Infinity", 5e-324, -0.25]),
    ("b", "bool", ["true", "false", "t"], [True, False, True]),
    ("t", "text", ['he said "hi"\\ ✓\n\ttab', "", "x" * 3000], ['he said "hi"\\ ✓\n\ttab', "", "x" * 3000]),
    ("tc", "text", ["\b\v\f\r\n\t|", "\\N", "\x01\x7f é \\. \\\\"], ["\b\v\f\r\n\t|", "\\N", "\x01\x7f é \\. \\\\"]),
    ("tca", "text[]", ['{"\\\\N","a\tb",""}', "{NULL,\"NULL\"}", '{"\\""}'], [["\\N", "a\tb", ""], [None, "NULL"], ['"']]),
    ("vc", "varchar(10)", ["abc", "ünïcödé", ""], ["abc", "ünïcödé", ""]),
    ("ch", "char(5)", ["ab", "abcde", ""], ["ab   ", "abcde", "     "]),
    ("by", "bytea", ["\\x00ff10", "\\x", "hello"], [b64(b"\x00\xff\x10"), "", b64(b"hello")]),
    ("u", "uuid", ["A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "00000000-0000-0000-0000-000000000000",
                   "ffffffff-ffff-ffff-ffff-ffffffffffff"],
     ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "00000000-0000-0000-0000-000000000000",
      "ffffffff-ffff-ffff-ffff-ffffffffffff"]),
    ("j", "json", ['{"b": 1,  "a": [1, 2.50]}', "null", '"s"'], ['{"b": 1,  "a": [1, 2.50]}', "null", '"s"']),
    ("jb", "jsonb", ['{"b": 1,  "a": [1, 2.50], "ü": null}', "[]", "3"],
     ['{"a": [1, 2.50], "b": 1, "ü": null}', "[]", "3"]),
    ("d", "date", ["1970-01-02", "infinity", "0044-03-15 BC"], [1, 2**31 - 1, days(-43, 3, 15)]),
    ("d2", "date", ["2024-02-29", "1969-12-31", "9999-12-31"], [days(2024, 2, 29), -1, days(9999, 12, 31)]),
    ("tm", "time", ["23:59:59.999999", "00:00:00", "12:34:56.5"], [86399999999, 0, 45296500000]),
    # time(0..3) in milliseconds: Debezium's PostgreSQL default time.precision.mode=adaptive
    ("tm3", "time(3)", ["12:00:00.1234", "00:00:00.0005", "01:00:00"], [43200123, 1, 3600 * 1000]),
    ("ttz", "timetz", ["12:00:00+02", "23:30:00.5-03", "00:00:00+00"],
     ["10:00:00Z", "02:30:00.5Z", "00:00:00Z"]),  # Debezium's ZonedTime: significant fraction digits
    ("ttz2", "timetz(2)", ["12:00:00.123+01", "00:00:00-01:30", "23:59:59.99+00"],
     ["11:00:00.12Z", "01:30:00Z", "23:59:59.99Z"]),
    ("ts", "timestamp", ["2024-01-01 08:00:00.123456", "1970-01-01 00:00:00", "0044-03-15 12:00:00 BC"],
     [(T2024 + 8 * 3600) * US + 123456, 0, (days(-43, 3, 15) * 86400 + 43200) * US]),
    ("ts0", "timestamp(0)", ["2024-01-01 08:00:00.6", "1969-12-31 23:59:59", "2000-01-01"],
     [(T2024 + 8 * 3600 + 1) * 1000, -1000, days(2000, 1, 1) * 86400 * 1000]),
    ("ts3", "timestamp(3)", ["2024-01-01 08:00:00.1235", "1970-01-01 00:00:00.001", "1900-01-01"],
     [(T2024 + 8 * 3600) * 1000 + 124, 1, days(1900, 1, 1) * 86400 * 1000]),
    ("ts6", "timestamp(6)", ["2024-01-01 08:00:00.000001", "1970-01-01", "2262-04-11 23:47:16.854775"],
     [(T2024 + 8 * 3600) * US + 1, 0, (days(2262, 4, 11) * 86400 + 23 * 3600 + 47 * 60 + 16) * US + 854775]),
    ("tz", "timestamptz", ["2024-01-01 10:00:00.123456+02", "1970-01-01 00:00:00+00", "2000-02-29 23:59:59.999999-05"],
     ["2024-01-01T08:00:00.123456Z", "1970-01-01T00:00:00.000000Z", "2000-03-01T04:59:59.999999Z"]),
    ("tz3", "timestamptz(3)", ["2024-01-01 10:00:00.1234+02", "1999-12-31 23:59:59.9996+00", "2024-06-01 00:00:00+05:30"],
     ["2024-01-01T08:00:00.123Z", "2000-01-01T00:00:00.000Z", "2024-05-31T18:30:00.000Z"]),
    ("tsn", "timestamp(3)", ["1969-12-31 23:59:59.123", "1900-06-30 12:00:00.5", "0001-01-01 BC"],
     [-877, (days(1900, 6, 30) * 86400 + 43200) * 1000 + 500, days(0, 1, 1) * 86400 * 1000]),
    ("tsn6", "timestamp", ["1969-12-31 23:59:59.5", "1969-12-31 23:59:59.999999", "infinity"][:2] + ["1960-01-01"],
     [-500000, -1, days(1960, 1, 1) * 86400 * US]),
    ("tzn", "timestamptz", ["1969-12-31 23:59:59.5+00", "1900-01-01 00:00:00.000001+01", "1969-12-31 23:00:00-01"],
     ["1969-12-31T23:59:59.500000Z", "1899-12-31T23:00:00.000001Z", "1970-01-01T00:00:00.000000Z"]),
    # BC: astronomical year numbering, ISO 8601 expanded year (sign and at least 4 digits), as Debezium prints
    ("tzbc", "timestamptz", ["0044-03-15 12:00:00+00 BC", "0001-01-01 00:00:00+00 BC", "0999-12-31 23:59:59.5+00"],
     ["-0043-03-15T12:00:00.000000Z", "0000-01-01T00:00:00.000000Z", "0999-12-31T23:59:59.500000Z"]),
    ("tsbig", "timestamp", ["10000-01-01 00:00:00", "200000-12-31 23:59:59.999999", "4713-01-01 00:00:00 BC"],
     [days(10000, 1, 1) * 86400 * US, (days(200000, 12, 31) * 86400 + 86399) * US + 999999,
      days(-4712, 1, 1) * 86400 * US]),
    # PostgreSQL's largest timestamps are past the int64 range of Unix-epoch
    # microseconds (294247-01-10): they cap at the int64 schema's maximum,
    # never a wrapped number
    ("tsmax", "timestamp", ["294247-01-10 04:00:54.775807", "294276-12-31 23:59:59.999999", "2000-01-01"],
     [2**63 - 1, 2**63 - 1, days(2000, 1, 1) * 86400 * US]),
    ("tm24", "time", ["24:00:00", "00:00:00.000001", "13:00"], [86400 * US, 1, 13 * 3600 * US]),
    ("ttzs", "timetz", ["12:00:00+05:30", "12:00:00-11:59", "00:00:01+14"],
     ["06:30:00Z", "23:59:00Z", "10:00:01Z"]),
    ("nsmall", "numeric", ["1e-20", "-1.5e3", "0.0"], ["0.00000000000000000001", "-1500", "0.0"]),
    ("iv", "interval", ["1 year 2 months 3 days 4 hours 5 minutes 6.5 seconds", "0", "-1 day 2 hours"],
     ["P1Y2M3DT4H5M6.5S", "P0Y0M0DT0H0M0S", "P0Y0M-1DT2H0M0S"]),  # Debezium's interval string form
    ("ia", "int[]", ["{1,2,NULL,-3}", "{}", "{7}"], [[1, 2, None, -3], [], [7]]),
    ("ta", "text[]", ['{"a,b","quo\\"te",NULL,"NULL",plain," sp ","back\\\\slash","{}"}', "{}", '{""}'],
     [["a,b", 'quo"te', None, "NULL", "plain", " sp ", "back\\slash", "{}"], [], [""]]),
    ("i2d", "int[][]", ["{{1,2},{3,4}}", "{{NULL}}", "{{-1,0,1}}"], [[[1, 2], [3, 4]], [[None]], [[-1, 0, 1]]]),
    ("na", "numeric(6,2)[]", ["{1.5,NaN}", "{-0.01}", "{}"], [["1.50", "NaN"], ["-0.01"], []]),
    ("fa", "float8[]", ["{1.5,NaN,-Infinity}", "{0.1}", "{}"], [[1.5, "NaN", "-Infinity"], [0.1], []]),
    ("da", "date[]", ["{1970-01-02,infinity}", "{NULL}", "{}"], [[1, 2**31 - 1], [None], []]),
    ("e", "mood", ["happy", "sad", "ok"], ["happy", "sad", "ok"]),
    ("dm", "posint", ["42", "1", "2147483647"], [42, 1, 2147483647]),
    ("ine", "inet", ["192.168.0.1/24", "::1", "10.1.2.3"], ["192.168.0.1/24", "::1", "10.1.2.3"]),
    ("ci", "cidr", ["10.0.0.0/8", "2001:db8::/32", "192.168.1.0/24"], ["10.0.0.0/8", "2001:db8::/32", "192.168.1.0/24"]),
    ("mac", "macaddr", ["08:00:2B:01:02:03", "ff-ff-ff-ff-ff-ff", "0800.2b01.0203"],
     ["08:00:2b:01:02:03", "ff:ff:ff:ff:ff:ff", "08:00:2b:01:02:03"]),
    ("m", "money", ["$1,234.56", "-0.01", "0"], ["1234.56", "-0.01", "0.00"]),
]

EXPECTED = {}
for rid in (1, 2, 3, 4):
    EXPECTED[rid] = {"id": rid}
    for name, _, _, want in COLUMNS:
        EXPECTED[rid][name] = want[rid - 1] if rid <= 3 else None


def insert_rows(pg, offset, columns=None):
    """Rows 1..4 (+offset) into zoo: the columns' inputs of rows 1..3, then NULLs
    (columns: (name, type, inputs, ...) tuples; this file's COLUMNS by default)."""
    columns = COLUMNS if columns is None else columns
    cols = ", ".join(["id"] + [c[0] for c in columns])
    with pg.connect() as conn:
        for rid in (1, 2, 3, 4):
            vals = [str(rid + offset)] + [c[2][rid - 1] if rid <= 3 else None for c in columns]
            ph = ", ".join(["%s::int"] + [f"%s::{c[1]}" for c in columns])
            conn.execute(f"INSERT INTO zoo ({cols}) VALUES ({ph})", vals)


def test_type_zoo_snapshot_and_stream_agree(pg):
    pg.exec("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
            "CREATE DOMAIN posint AS int CHECK (VALUE > 0)",
            "CREATE TABLE zoo (id int PRIMARY KEY, "
            + ", ".join(f"{c[0]} {c[1]}" for c in COLUMNS) + ")",
            "ALTER TABLE zoo REPLICA IDENTITY FULL")
    insert_rows(pg, 0)
    xid_before = pg.rows("SELECT txid_current()")[0][0]
    s, out = pg.pipeline("public.zoo", "zoo", startup="initial")
    s.start(wait_for=PG_STREAMING)
    wait_events(out, 4, proc=s)
    insert_rows(pg, 100)
    # an update of one column, and a delete: the FULL before-image renders the same way
    pg.exec("UPDATE zoo SET i2 = 1 WHERE id = 101", "DELETE FROM zoo WHERE id = 102")
    wait_events(out, 10, proc=s)
    assert s.stop() == 0
    evs = changes(out)
    snap = {e["after"]["id"]: e["after"] for e in evs if e["op"] == "r"}
    stream = {e["after"]["id"] - 100: dict(e["after"], id=e["after"]["id"] - 100) for e in evs if e["op"] == "c"}
    assert sorted(snap) == [1, 2, 3, 4] and sorted(stream) == [1, 2, 3, 4]
    # Debezium's markers: the one table's rows are the snapshot's first .. last
    assert [e["source"]["snapshot"] for e in evs if e["op"] == "r"] == ["first", "true", "true", "last"]
    # Debezium's source of snapshot rows: a transaction of the snapshot (newer
    # than one that ran before), the snapshot's LSN, and no commit read yet
    snap_src = [e["source"] for e in evs if e["op"] == "r"]
    assert len({(x["txId"], x["lsn"]) for x in snap_src}) == 1, snap_src
    assert snap_src[0]["txId"] > xid_before and snap_src[0]["lsn"] > 0
    assert all(x["sequence"] == f'[null,"{x["lsn"]}"]' for x in snap_src)
    # changes: [last commit or heartbeat position, the change's LSN] as
    # strings, and the commit's microseconds (ts_ms truncated)
    for e in evs:
        if e["op"] == "r":
            continue
        x = e["source"]
        last, lsn = json.loads(x["sequence"])
        assert lsn == str(x["lsn"]) and (last is None or int(last) <= x["lsn"]), x
        assert x["ts_us"] // 1000 == x["ts_ms"] and x["ts_ns"] == x["ts_us"] * 1000, x
    assert any(e["source"]["ts_us"] % 1000 for e in evs if e["op"] != "r")  # not milliseconds scaled
    mismatches = []
    for rid in (1, 2, 3, 4):
        for name, typ, _, _ in COLUMNS:
            want = EXPECTED[rid][name]
            s_val, w_val = snap[rid].get(name, "<missing>"), stream[rid].get(name, "<missing>")
            if s_val != w_val or s_val != want or type(s_val) is not type(want):
                mismatches.append(f"row {rid} {name} {typ}: snapshot {s_val!r} stream {w_val!r} want {want!r}")
    assert not mismatches, "\n".join(mismatches)
    upd = next(e for e in evs if e["op"] == "u")
    assert upd["before"] == dict(EXPECTED[1], id=101)
    assert upd["after"] == dict(EXPECTED[1], id=101, i2=1)
    dele = next(e for e in evs if e["op"] == "d")
    assert dele["before"] == dict(EXPECTED[2], id=102)
    # the schema record names the PostgreSQL types
    schema = next(e for e in read_events(out) if "tableChanges" in e)
    cols = {c["name"]: c for c in schema["tableChanges"][0]["table"]["columns"]}
    assert cols["n1"]["typeName"] == "numeric(10,2)"
    assert cols["id"]["optional"] is False and cols["t"]["optional"] is True


# Types and values the mapping does not spell out: snapshot and stream must
# still agree, and nothing may fail. (column, type, inputs)
MORE = [
    ("nin", "numeric", ["Infinity", "-Infinity", "1" + "0" * 300 + ".5"]),
    ("tsi", "timestamp", ["infinity", "-infinity", "4713-01-01 00:00:00 BC"]),
    ("tzi", "timestamptz", ["infinity", "-infinity", "0044-03-15 12:00:00+00 BC"]),
    ("di", "date", ["-infinity", "4713-01-01 BC", "5874897-12-31"]),
    ("ivm", "interval", ["3 months", "-1 years -2 mons +3 days -04:05:06.789", "1 microsecond"]),
    ("bt", "bit(3)", ["101", "000", "111"]),
    ("vb", "varbit", ["1", "", "1010101010"]),
    ("x", "xml", ["<a b=\"1\">t</a>", "<x/>", "text"]),
    ("pt", "point", ["(1.5,2)", "(0,0)", "(-1e10,3)"]),
    ("r4", "int4range", ["[1,5)", "empty", "(,3]"]),
    ("tr", "tstzrange", ["[2024-01-01 00:00+00,2024-01-02 00:00+00)", "empty", "(,)"]),
    ("ch1", "\"char\"", ["a", "", "z"]),
    ("nm", "name", ["abc", "", "x" * 63]),
    ("oi", "oid", ["4294967295", "0", "1"]),
    ("tsv", "tsvector", ["a fat cat", "", "'it''s' b:1"]),
    ("ba", "bytea[]", ["{\"\\\\x00ff\",NULL}", "{}", "{\"\\\\x\"}"]),
    ("ua", "uuid[]", ["{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}", "{}", "{NULL}"]),
    ("tza", "timestamptz[]", ["{\"2024-01-01 10:00:00+02\",infinity}", "{}", "{NULL}"]),
    ("ba2", "bool[]", ["{t,f,NULL}", "{}", "{t}"]),
    ("ja", "jsonb[]", ["{\"{\\\"a\\\": 1}\",\"[1, 2]\"}", "{}", "{null}"]),
    ("iva", "interval[]", ["{\"1 day\",\"-2 hours\"}", "{}", "{NULL}"]),
    ("ca", "char(3)[]", ["{a,bcd}", "{}", "{\"\"}"]),
    ("ma", "money[]", ["{\"$1.00\",-2}", "{}", "{NULL}"]),
    ("e1", "int[]", ["[0:1]={1,2}", "{{{1}},{{2}}}", "{}"]),
    ("mood_a", "mood[]", ["{happy,sad}", "{}", "{NULL}"]),
    ("tzbig", "timestamptz", ["10000-01-01 00:00:00+00", "294276-12-31 23:59:59.999999+00", "infinity"]),
    ("ttz24", "timetz", ["24:00:00+00", "24:00:00-01", "00:00:00+14:59:59"]),
    ("js_big", "jsonb", ["{\"k\": \"" + "v" * 5000 + "\", \"n\": 1.000}", "{}", "\"\\u00e9\\n\""]),
]


def test_other_types_snapshot_and_stream_agree(pg):
    pg.exec("DROP TABLE IF EXISTS more",
            "DO $$BEGIN CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy'); EXCEPTION WHEN duplicate_object THEN NULL; END$$",
            "CREATE TABLE more (id int PRIMARY KEY, " + ", ".join(f"{c[0]} {c[1]}" for c in MORE) + ")")
    cols = ", ".join(["id"] + [c[0] for c in MORE])
    ph = ", ".join(["%s::int"] + [f"%s::{c[1]}" for c in MORE])

    def insert(offset):
        with pg.connect() as conn:
            for rid in (1, 2, 3, 4):
                vals = [str(rid + offset)] + [c[2][rid - 1] if rid <= 3 else None for c in MORE]
                conn.execute(f"INSERT INTO more ({cols}) VALUES ({ph})", vals)

    insert(0)
    s, out = pg.pipeline("public.more", "more", startup="initial")
    s.start(wait_for=PG_STREAMING)
    wait_events(out, 4, proc=s)
    insert(100)
    wait_events(out, 8, proc=s)
    assert s.stop() == 0
    evs = changes(out)
    snap = {e["after"]["id"]: e["after"] for e in evs if e["op"] == "r"}
    stream = {e["after"]["id"] - 100: dict(e["after"], id=e["after"]["id"] - 100) for e in evs if e["op"] == "c"}
    assert sorted(snap) == [1, 2, 3, 4] and sorted(stream) == [1, 2, 3, 4]
    bad = [f"row {rid} {name} {typ}: snapshot {snap[rid].get(name)!r} stream {stream[rid].get(name)!r}"
           for rid in (1, 2, 3, 4) for name, typ, _ in MORE if snap[rid].get(name) != stream[rid].get(name)]
    assert not bad, "\n".join(bad)
    assert all(snap[4][name] is None for name, _, _ in MORE)
    # a few of them have an obvious rendering
    assert snap[1]["nin"] == "Infinity" and snap[2]["nin"] == "-Infinity"
    assert snap[3]["nin"] == "1" + "0" * 300 + ".5"
    assert snap[1]["tza"] == ["2024-01-01T08:00:00.000000Z", "infinity"]
    # infinite dates and timestamps: the extremes of their integer schemas
    assert (snap[1]["tsi"], snap[2]["tsi"]) == (2**63 - 1, -2**63)
    assert snap[1]["di"] == -2**31 and (snap[1]["tzi"], snap[2]["tzi"]) == ("infinity", "-infinity")
    assert snap[1]["ba2"] == [True, False, None]
    assert snap[1]["ba"] == ["AP8=", None]
    assert snap[1]["mood_a"] == ["happy", "sad"]
    assert snap[1]["ma"] == ["1.00", "-2.00"]
    assert snap[1]["ca"] == ["a  ", "bcd"]
    assert snap[1]["js_big"] == '{"k": "' + "v" * 5000 + '", "n": 1.000}'
