"""PostgreSQL -> clickhouse sink: what a reader of the ClickHouse tables
sees, value by value, after the snapshot, inserts, updates and deletes; a
primary-key change; TRUNCATE, also when the epoch holding it is replayed;
values ClickHouse's types cannot hold stop the pipeline naming table,
column and key. Readers query the engine through its HTTP interface with
SELECT ... FINAL.
"""

from __future__ import annotations

import os
import signal
import time

from clickhouse_read import (drop_databases, kill_loop, clear_faults, env_for, final, physical_count, rows, set_faults, sink_yaml, commits, wait_committed,
                             wait_for, wait_rows)
from sluice_run import PG_STREAMING
from test_pg_types import days, insert_rows as insert_pg_rows

US = 1_000_000

# (column, type, [input text of rows 1..3], [what ClickHouse returns, rows 1..3], ClickHouse type); row 4 is NULL.
# Returned values: toString() of the column, except decimals and arrays (JSON as they are), bytea (hex) and the
# columns named *_raw (the stored integer: PostgreSQL's infinities are its own extreme integers).
COLUMNS = [
    ("i2", "int2", ["-32768", "32767", "0"], ["-32768", "32767", "0"], "Nullable(Int16)"),
    ("i4", "int4", ["-2147483648", "2147483647", "7"], ["-2147483648", "2147483647", "7"], "Nullable(Int32)"),
    ("i8", "int8", ["-9223372036854775808", "9223372036854775807", "0"],
     ["-9223372036854775808", "9223372036854775807", "0"], "Nullable(Int64)"),
    ("n1", "numeric(10,2)", ["12.3", "-99999999.99", "-0.5"], ["12.30", "-99999999.99", "-0.50"],
     "Nullable(Decimal(10, 2))"),
    ("n76", "numeric(76,10)", ["1" * 66 + ".0123456789", "-1", "0.0000000001"],
     ["1" * 66 + ".0123456789", "-1.0000000000", "0.0000000001"], "Nullable(Decimal(76, 10))"),
    ("n2", "numeric", ["123456789012345678901234567890.000000000000001", "NaN", "-Infinity"],
     ["123456789012345678901234567890.000000000000001", "NaN", "-Infinity"], "Nullable(String)"),
    ("f4", "real", ["1.1", "NaN", "-3.4028235e38"], ["1.1", "nan", "-3.4028235e38"], "Nullable(Float32)"),
    ("f8", "double precision", ["-1.7976931348623157e308", "Infinity", "5e-324"],
     ["-1.7976931348623157e308", "inf", "5e-324"], "Nullable(Float64)"),
    ("b", "bool", ["true", "false", "t"], ["true", "false", "true"], "Nullable(Bool)"),
    ("t", "text", ['he said "hi"\\ ✓\n\ttab', "", "x" * 3000], ['he said "hi"\\ ✓\n\ttab', "", "x" * 3000],
     "Nullable(String)"),
    ("ch", "char(5)", ["ab", "abcde", ""], ["ab   ", "abcde", "     "], "Nullable(String)"),
    ("by", "bytea", ["\\x00ff10", "\\x", "hello"], ["00FF10", "", "68656C6C6F"], "Nullable(String)"),
    ("u", "uuid", ["A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "00000000-0000-0000-0000-000000000000",
                   "ffffffff-ffff-ffff-ffff-ffffffffffff"],
     ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "00000000-0000-0000-0000-000000000000",
      "ffffffff-ffff-ffff-ffff-ffffffffffff"], "Nullable(UUID)"),
    ("jb", "jsonb", ['{"b": 1,  "a": [1, 2.50], "ü": null}', "[]", "3"],
     ['{"a": [1, 2.50], "b": 1, "ü": null}', "[]", "3"], "Nullable(String)"),
    ("d", "date", ["1970-01-02", "2024-02-29", "0001-01-01"], ["1970-01-02", "2024-02-29", "0001-01-01"],
     "Nullable(Date32)"),
    ("d_raw", "date", ["infinity", "-infinity", "0044-03-15 BC"],
     ["2147483647", "-2147483648", str(days(-43, 3, 15))], "Nullable(Date32)"),
    ("tm", "time", ["23:59:59.999999", "00:00:00", "24:00:00"], ["23:59:59.999999", "00:00:00.000000",
                                                                 "24:00:00.000000"], "Nullable(Time64(6))"),
    ("tm3", "time(3)", ["12:00:00.1234", "00:00:00.0005", "01:00:00"],
     ["12:00:00.123", "00:00:00.001", "01:00:00.000"], "Nullable(Time64(3))"),
    ("ttz", "timetz", ["12:00:00+02", "23:30:00.5-03", "00:00:00+00"],
     ["10:00:00.000000Z", "02:30:00.500000Z", "00:00:00.000000Z"], "Nullable(String)"),
    ("ts", "timestamp", ["2024-01-01 08:00:00.123456", "1970-01-01 00:00:00", "9999-12-31 23:59:59.999999"],
     ["2024-01-01 08:00:00.123456", "1970-01-01 00:00:00.000000", "9999-12-31 23:59:59.999999"],
     "Nullable(DateTime64(6, 'UTC'))"),
    ("ts0", "timestamp(0)", ["2024-01-01 08:00:00.6", "1969-12-31 23:59:59", "2000-01-01"],
     ["2024-01-01 08:00:01", "1969-12-31 23:59:59", "2000-01-01 00:00:00"], "Nullable(DateTime64(0, 'UTC'))"),
    ("ts_raw", "timestamp(3)", ["infinity", "-infinity", "0044-03-15 12:00:00 BC"],
     ["9223372036854775807", "-9223372036854775808", str((days(-43, 3, 15) * 86400 + 43200) * 1000)],
     "Nullable(DateTime64(3, 'UTC'))"),
    ("tz", "timestamptz", ["2024-01-01 10:00:00.123456+02", "1970-01-01 00:00:00+00", "2000-02-29 23:59:59.999999-05"],
     ["2024-01-01 08:00:00.123456", "1970-01-01 00:00:00.000000", "2000-03-01 04:59:59.999999"],
     "Nullable(DateTime64(6, 'UTC'))"),
    ("iv", "interval", ["1 year 2 months 3 days 4 hours 5 minutes 6.5 seconds", "0", "-1 day 2 hours"],
     ["P1Y2M3DT4H5M6.5S", "PT0S", "P-1DT2H"], "Nullable(String)"),
    ("ia", "int[]", ["{1,2,NULL,-3}", "{}", "{7}"], [[1, 2, None, -3], [], [7]], "Array(Nullable(Int32))"),
    ("ta", "text[]", ['{"a,b","quo\\"te",NULL,"NULL"}', "{}", '{""}'], [["a,b", 'quo"te', None, "NULL"], [], [""]],
     "Array(Nullable(String))"),
    ("na", "numeric(6,2)[]", ["{1.5,-0.01}", "{NULL}", "{}"], [["1.50", "-0.01"], [None], []],
     "Array(Nullable(Decimal(6, 2)))"),
    ("fa", "float8[]", ["{1.5,NaN,-Infinity}", "{0.1}", "{}"], [[1.5, "nan", "-inf"], [0.1], []],
     "Array(Nullable(Float64))"),
    ("da", "date[]", ["{1970-01-02,2000-01-01}", "{NULL}", "{}"], [["1970-01-02", "2000-01-01"], [None], []],
     "Array(Nullable(Date32))"),
    ("tsa", "timestamp(3)[]", ['{"2024-01-01 00:00:00.5"}', "{}", "{NULL}"], [["2024-01-01 00:00:00.500"], [], [None]],
     "Array(Nullable(DateTime64(3, 'UTC')))"),
    ("tza", "timestamptz[]", ['{"2024-01-01 10:00:00+02",infinity}', "{}", "{NULL}"],
     [["2024-01-01T08:00:00.000000Z", "infinity"], [], [None]], "Array(Nullable(String))"),
    ("ba", "bytea[]", ['{"\\\\x00ff",NULL}', "{}", '{"\\\\x"}'], [["\u0000\ufffd", None], [], [""]],
     "Array(Nullable(String))"),
    ("ua", "uuid[]", ["{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}", "{}", "{NULL}"],
     [["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"], [], [None]], "Array(Nullable(UUID))"),
    ("e", "mood", ["happy", "sad", "ok"], ["happy", "sad", "ok"], "LowCardinality(Nullable(String))"),
    ("ine", "inet", ["192.168.0.1/24", "::1", "10.1.2.3"], ["192.168.0.1/24", "::1", "10.1.2.3"], "Nullable(String)"),
    ("m", "money", ["$1,234.56", "-0.01", "0"], ["1234.56", "-0.01", "0.00"], "Nullable(Decimal(19, 2))"),
    ("oi", "oid", ["4294967295", "0", "1"], ["4294967295", "0", "1"], "Nullable(UInt32)"),
]


def select_expr(name, chtype):
    if name.endswith("_raw"):
        return (f"toString(toInt32({name}))" if "Date32" in chtype else f"toString(toUnixTimestamp64Milli({name}))") + \
            f" AS {name}"
    if "Array" in chtype or "Decimal" in chtype:
        return name
    if name == "by":
        return f"hex({name}) AS {name}"
    return f"toString({name}) AS {name}"


def expected(rid):
    row = {"id": rid}
    for name, _, _, want, chtype in COLUMNS:
        base = (rid - 1) % 100
        row[name] = want[base] if base < 3 else ([] if "Array" in chtype else None)
    return row


def pg_sink(pg, clickhouse, name, db, extra=""):
    return sink_yaml(clickhouse, db, extra)


def pipeline(pg, clickhouse, tables, name, db, startup="initial", extra_sink="", **kw):
    s, _ = pg.pipeline(tables, name, startup=startup, sink=sink_yaml(clickhouse, db, extra_sink), **kw)
    s.env.update(env_for(ch=clickhouse))
    return s


def test_every_type_exact_after_snapshot_insert_update_delete(pg, clickhouse):
    pg.exec("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
            "CREATE TABLE zoo (id int PRIMARY KEY, " + ", ".join(f"{c[0]} {c[1]}" for c in COLUMNS) + ")",
            "ALTER TABLE zoo REPLICA IDENTITY FULL")
    insert_pg_rows(pg, 0, COLUMNS)
    db = "chpg_types"
    drop_databases(clickhouse, db)
    s = pipeline(pg, clickhouse, "public.zoo", "chpg_types", db)
    s.start(wait_for=PG_STREAMING)
    wait_rows(clickhouse, f"{db}.zoo", 4, proc=s)
    insert_pg_rows(pg, 100, COLUMNS)
    # one column changes; a row goes; a row takes another's values
    sets = ", ".join(f"{c[0]} = src.{c[0]}" for c in COLUMNS)
    pg.exec("UPDATE zoo SET i2 = 1 WHERE id = 101", "DELETE FROM zoo WHERE id = 102",
            f"UPDATE zoo SET {sets} FROM zoo src WHERE zoo.id = 3 AND src.id = 1",
            "INSERT INTO zoo (id) VALUES (999)")
    wait_for(lambda: final(clickhouse, f"{db}.zoo", columns="id", where="id = 999"), proc=s, what="the marker")
    types = {r["name"]: r["type"] for r in rows(clickhouse, f"SELECT name, type FROM system.columns WHERE "
                                                            f"database = '{db}' AND table = 'zoo'")}
    assert {c[0]: types[c[0]] for c in COLUMNS} == {c[0]: c[4] for c in COLUMNS}
    got = rows(clickhouse, "SELECT id, " + ", ".join(select_expr(c[0], c[4]) for c in COLUMNS) +
               f" FROM {db}.zoo AS z FINAL ORDER BY z.id", {"output_format_decimal_trailing_zeros": "1"})
    want = [expected(1), expected(2), dict(expected(1), id=3), expected(4), dict(expected(101), i2="1"),
            expected(103), expected(104), dict(expected(4), id=999)]
    assert [r["id"] for r in got] == [w["id"] for w in want]
    bad = [f"row {w['id']} {n}: ClickHouse {g[n]!r}, want {w[n]!r}" for g, w in zip(got, want) for n in w if g[n] != w[n]]
    assert not bad, "\n".join(bad)
    assert s.stop() == 0


def test_values_clickhouse_cannot_hold_stop_the_pipeline_naming_the_row(pg, clickhouse):
    pg.exec("CREATE TABLE odd (id int PRIMARY KEY, n numeric(10,2), a int[])")
    db = "chpg_odd"
    drop_databases(clickhouse, db)
    s = pipeline(pg, clickhouse, "public.odd", "chpg_odd", db, startup="latest-offset")
    s.start(wait_for=PG_STREAMING)
    pg.exec("INSERT INTO odd VALUES (1, 1.5, '{1}')")
    wait_rows(clickhouse, f"{db}.odd", 1, proc=s)
    wait_committed(s, 0)
    pg.exec("INSERT INTO odd VALUES (2, 'NaN', '{2}')")
    assert s.wait_exit(60) == 1
    assert ("error clickhouse sink: cannot write a row of source table public.odd with key {\"id\":2} to table "
            "chpg_odd.odd: column n (Nullable(Decimal(10, 2)) in ClickHouse, numeric(10,2) in the source): 'NaN' is "
            "not a decimal number") in s.log_text()
    assert final(clickhouse, f"{db}.odd", columns="id") == [{"id": 1}]
    # the replay meets the same row again: the pipeline cannot pass it
    s.start(wait_for=None)
    assert s.wait_exit(60) == 1
    assert s.log_text().count("'NaN' is not a decimal number") == 1
    drop_databases(clickhouse, db + "2")
    s2 = pipeline(pg, clickhouse, "public.odd", "chpg_odd2", db + "2", startup="latest-offset")
    s2.start(wait_for=PG_STREAMING)
    pg.exec("INSERT INTO odd VALUES (3, 3, '{{1,2},{3,4}}')")
    assert s2.wait_exit(60) == 1
    assert ("error clickhouse sink: cannot write a row of source table public.odd with key {\"id\":3} to table "
            "chpg_odd2.odd: column a (Array(Nullable(Int32)) in ClickHouse, integer[] in the source): a "
            "multi-dimensional array does not fit a one-dimensional Array column") in s2.log_text()


def test_primary_key_change_with_the_default_replica_identity(pg, clickhouse):
    pg.exec("CREATE TABLE pk (id int PRIMARY KEY, v text)", "INSERT INTO pk VALUES (1, 'a'), (2, 'b')")
    db = "chpg_pk"
    drop_databases(clickhouse, db)
    s = pipeline(pg, clickhouse, "public.pk", "chpg_pk", db)
    s.start(wait_for=PG_STREAMING)
    wait_rows(clickhouse, f"{db}.pk", 2, proc=s)
    pg.exec("UPDATE pk SET id = 10, v = 'aa' WHERE id = 1", "UPDATE pk SET id = 1 WHERE id = 2",
            "DELETE FROM pk WHERE id = 10", "INSERT INTO pk VALUES (99, 'end')")
    wait_for(lambda: final(clickhouse, f"{db}.pk", where="id = 99"), proc=s, what="the marker")
    assert final(clickhouse, f"{db}.pk") == [{"id": 1, "v": "b"}, {"id": 99, "v": "end"}]
    assert s.stop() == 0


def test_truncate_deletes_older_rows_only(pg, clickhouse):
    pg.exec("CREATE TABLE tr (id int PRIMARY KEY, v text)", "INSERT INTO tr VALUES (1, 'a'), (2, 'b')")
    db = "chpg_tr"
    drop_databases(clickhouse, db)
    s = pipeline(pg, clickhouse, "public.tr", "chpg_tr", db)
    s.start(wait_for=PG_STREAMING)
    wait_rows(clickhouse, f"{db}.tr", 2, proc=s)
    with pg.connect() as conn:  # one transaction: a row, the TRUNCATE, rows after it
        with conn.transaction():
            conn.execute("INSERT INTO tr VALUES (3, 'c')")
            conn.execute("TRUNCATE tr")
            conn.execute("INSERT INTO tr VALUES (4, 'd'), (1, 'new')")
    want = [{"id": 1, "v": "new"}, {"id": 4, "v": "d"}]
    wait_for(lambda: final(clickhouse, f"{db}.tr") == want, proc=s, what="the rows after the TRUNCATE")
    assert "TRUNCATE of public.tr applied to chpg_tr.tr" in s.log_text()
    # the rows before it are gone for good, not only hidden by FINAL
    assert physical_count(clickhouse, f"{db}.tr") == 2
    assert s.stop() == 0


def test_truncate_in_an_epoch_replayed_after_a_crash(pg, clickhouse):
    """The crash comes after the epoch's data (rows, the TRUNCATE, rows after it)
    and before its checkpoint. The replay sends the same blocks (dropped by the
    server as duplicates) and the TRUNCATE again: it must not remove the rows
    after it, whose replayed blocks the server dropped."""
    pg.exec("CREATE TABLE trr (id int PRIMARY KEY, v text)", "INSERT INTO trr VALUES (1, 'a'), (2, 'b')")
    db = "chpg_trr"
    drop_databases(clickhouse, db)
    s = pipeline(pg, clickhouse, "public.trr", "chpg_trr", db, checkpoint_interval="2s")
    s.start(wait_for=PG_STREAMING)
    wait_rows(clickhouse, f"{db}.trr", 2, proc=s)
    wait_committed(s, 0)
    # the next checkpoint row hangs in the server, as if the network lost it
    set_faults(clickhouse, [{"match": "INSERT INTO `chpg_trr`.`sluice_checkpoints`", "body": "\\ncheckpoint",
                             "action": "hang", "message": "Code: 210. DB::Exception: Connection reset by peer. "
                                                          "(NETWORK_ERROR)"}])
    try:
        pg.exec("INSERT INTO trr VALUES (3, 'c')", "TRUNCATE trr", "INSERT INTO trr VALUES (4, 'd'), (5, 'e')")
        wait_for(lambda: [r["id"] for r in final(clickhouse, f"{db}.trr", columns="id")] == [4, 5], proc=s,
                 what="the epoch's data")
        time.sleep(0.5)
        s.kill9()
    finally:
        clear_faults(clickhouse)
    s.start(wait_for=PG_STREAMING)
    assert "resuming from checkpoint" in s.log_text()
    assert "the replay cuts at the same events" in s.log_text()
    wait_committed(s, 0)
    assert final(clickhouse, f"{db}.trr") == [{"id": 4, "v": "d"}, {"id": 5, "v": "e"}]
    # the replayed blocks were dropped as duplicates; the TRUNCATE's DELETE ran again
    assert rows(clickhouse, f"SELECT id, _is_deleted FROM {db}.trr ORDER BY id") == [
        {"id": 4, "_is_deleted": 0}, {"id": 5, "_is_deleted": 0}]
    assert s.log_text().count("TRUNCATE of public.trr applied") == 1
    assert s.stop() == 0


def test_kill9_loop_during_snapshot_and_streaming(pg, clickhouse):
    """Versions from commit LSN and change index: transactions of several
    changes, crashes anywhere, FINAL equals the table."""
    import random

    from test_pg_snapshot import Writer, fill
    n = 200_000
    fill(pg, n)
    db = "chpg_crash"
    drop_databases(clickhouse, db)
    s = pipeline(pg, clickhouse, "public.t", "chpg_crash", db, checkpoint_interval="200ms",
                 extra_source="  scan.incremental.snapshot.chunk.size: 500",
                 extra_pipeline="  parallelism: 2", extra_sink="  insert.block-size: 64KiB")
    writer = Writer(pg, n, seed=41, tx_size=5)
    writer.start()
    s.start(wait_for="clickhouse sink: connected", timeout=60)
    # kills during the snapshot come 0.05-0.35 s after each restart, as in
    # the MariaDB crash loop
    snap, stream = kill_loop(s, "public.t", random.Random(43), total=20, snapshot_longest=0.35,
                             snapshot_shortest=0.05)
    assert snap >= 3, "the snapshot finished before enough crashes"
    assert snap + stream >= 20
    time.sleep(1)
    writer.stop_evt.set()
    writer.join()
    assert writer.error is None, writer.error
    pg.exec("INSERT INTO t VALUES (9999999999, 0, 'marker')")
    wait_for(lambda: final(clickhouse, f"{db}.t", columns="id", where="id = 9999999999"), 300, s, "the marker")
    assert s.stop() == 0
    want = [{"id": str(r[0]), "v": str(r[1]), "pad": r[2]} for r in pg.rows("SELECT id, v, pad FROM t ORDER BY id")]
    got = final(clickhouse, f"{db}.t", columns="id, v, pad")
    assert len(got) == len(want)
    assert got == want


def test_json_columns_as_the_json_type(pg, clickhouse):
    """json.type: json makes ClickHouse parse the documents."""
    pg.exec("CREATE TABLE docs (id int PRIMARY KEY, doc jsonb, raw json)",
            """INSERT INTO docs VALUES (1, '{"a": {"b": 5}, "tags": ["x", "y"]}', '{"k": 1}')""")
    db = "chpg_json"
    drop_databases(clickhouse, db)
    s = pipeline(pg, clickhouse, "public.docs", "chpg_json", db, extra_sink="  json.type: json")
    s.start(wait_for=PG_STREAMING)
    wait_rows(clickhouse, f"{db}.docs", 1, proc=s)
    pg.exec("""INSERT INTO docs VALUES (2, '{"a": {"b": 7}}', NULL)""",
            """UPDATE docs SET doc = '{"a": {"b": 6}}' WHERE id = 1""")
    wait_for(lambda: [str(r["b"]) for r in rows(clickhouse, f"SELECT doc.a.b AS b FROM {db}.docs FINAL ORDER BY id")]
             == ["6", "7"], proc=s, what="the documents")
    types = {r["name"]: r["type"] for r in rows(clickhouse, f"SELECT name, type FROM system.columns WHERE "
                                                            f"database = '{db}' AND table = 'docs'")}
    assert types["doc"] == "Nullable(JSON)" and types["raw"] == "Nullable(JSON)"
    assert [str(r["k"]) for r in rows(clickhouse, f"SELECT raw.k AS k FROM {db}.docs FINAL ORDER BY id")] == ["1", "None"]
    assert s.stop() == 0


def test_unchanged_toast_values_need_replica_identity_full(pg, clickhouse):
    pg.exec("CREATE TABLE toast (id int PRIMARY KEY, n int, big text)",
            "INSERT INTO toast SELECT 1, 0, string_agg(md5(i::text), '') FROM generate_series(1, 400) i")
    db = "chpg_toast"
    drop_databases(clickhouse, db)
    s = pipeline(pg, clickhouse, "public.toast", "chpg_toast", db)
    s.start(wait_for=PG_STREAMING)
    wait_rows(clickhouse, f"{db}.toast", 1, proc=s)
    pg.exec("UPDATE toast SET n = 1 WHERE id = 1")  # big is not sent: an unchanged TOASTed value
    assert s.wait_exit(60) == 1
    assert ("error clickhouse sink: cannot write a row of source table public.toast with key {\"id\":1} to table "
            "chpg_toast.toast: column big (Nullable(String) in ClickHouse, text in the source): the source did not "
            "send this value (an unchanged TOASTed value, or a row image without it); the source must send whole "
            "rows: PostgreSQL ALTER TABLE ... REPLICA IDENTITY FULL, MySQL binlog_row_image = FULL") in s.log_text()
    assert final(clickhouse, f"{db}.toast", columns="id, n") == [{"id": 1, "n": 0}]
