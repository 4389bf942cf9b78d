"""PostgreSQL -> iceberg sink: values exact in pyiceberg and DuckDB after the
snapshot, inserts, updates, a primary-key change and deletes; a column added
mid-stream becomes a new Iceberg field (schema evolution); a table without a
primary key is refused naming it."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

from iceberg_read import checkpoint, drop_tables, duck_rows, py_rows, sink_yaml, wait_rows
from sluice_run import PG_STREAMING

UTC = dt.timezone.utc


def norm(rows):
    """readers differ in how they hand over uuids (bytes / UUID): compare as UUID"""
    out = []
    for r in rows:
        r = dict(r)
        if isinstance(r.get("u"), (bytes, bytearray)):
            r["u"] = uuid.UUID(bytes=bytes(r["u"]))
        out.append(r)
    return out


def test_types_changes_and_added_column_arrive_exactly(pg, iceberg):
    drop_tables(iceberg, "public.zoo")
    pg.exec("DROP TABLE IF EXISTS zoo",
            "CREATE TABLE zoo (id int8 PRIMARY KEY, i int4, n numeric(10,2), t text, b bool, u uuid, d date, "
            "ts timestamp, tz timestamptz, by bytea, j jsonb, f float8)",
            "INSERT INTO zoo VALUES (1, -5, 12.30, 'héllo', true, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', "
            "'2024-02-29', '2024-01-01 08:00:00.123456', '2024-01-01 08:00:00+02', '\\x00ff', '{\"a\": 1}', 1.5),"
            " (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)")
    s, _ = pg.pipeline("public.zoo", "ice_pg", startup="initial", sink=sink_yaml(iceberg))
    s.start(wait_for=PG_STREAMING, timeout=60)
    row1 = {"id": 1, "i": -5, "n": decimal.Decimal("12.30"), "t": "héllo", "b": True,
            "u": uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), "d": dt.date(2024, 2, 29),
            "ts": dt.datetime(2024, 1, 1, 8, 0, 0, 123456), "tz": dt.datetime(2024, 1, 1, 6, 0, tzinfo=UTC),
            "by": b"\x00\xff", "j": '{"a": 1}', "f": 1.5}
    row2 = {k: None for k in row1} | {"id": 2}
    deadline_rows = [row1, row2]
    import time
    end = time.time() + 60
    while norm(py_rows(iceberg, "public.zoo") if _exists(iceberg) else []) != deadline_rows and time.time() < end:
        time.sleep(0.3)
    assert norm(py_rows(iceberg, "public.zoo")) == deadline_rows
    assert norm(duck_rows(iceberg, "public.zoo")) == deadline_rows
    # streaming: update, key change, delete, insert; then a new column
    pg.exec("UPDATE zoo SET t = 'changed', n = -0.5 WHERE id = 1",
            "UPDATE zoo SET id = 20 WHERE id = 2",
            "INSERT INTO zoo (id, i) VALUES (3, 3)",
            "DELETE FROM zoo WHERE id = 3",
            "ALTER TABLE zoo ADD COLUMN extra text",
            "INSERT INTO zoo (id, i, extra) VALUES (4, 4, 'new')",
            "UPDATE zoo SET extra = 'x' WHERE id = 1")
    want = [row1 | {"t": "changed", "n": decimal.Decimal("-0.50"), "extra": "x"},
            {k: None for k in row1} | {"id": 4, "i": 4, "extra": "new"},
            row2 | {"id": 20, "extra": None}]
    end = time.time() + 60
    got = None
    while time.time() < end:
        got = norm(py_rows(iceberg, "public.zoo"))
        if got == want:
            break
        assert s.proc.poll() is None, s.log_text()[-3000:]
        time.sleep(0.3)
    assert got == want
    assert norm(duck_rows(iceberg, "public.zoo")) == want
    assert "adding column extra string" in s.log_text()
    assert s.stop() == 0
    assert checkpoint(iceberg, "ice_pg")


def _exists(iceberg):
    from iceberg_read import catalog
    return catalog(iceberg).table_exists("public.zoo")


def test_table_without_primary_key_is_refused_naming_it(pg, iceberg):
    pg.exec("DROP TABLE IF EXISTS nokey", "CREATE TABLE nokey (a int)", "ALTER TABLE nokey REPLICA IDENTITY FULL")
    s, _ = pg.pipeline("public.nokey", "ice_pg_nokey", sink=sink_yaml(iceberg))
    s.start(wait_for=PG_STREAMING, timeout=60)
    pg.exec("INSERT INTO nokey VALUES (1)")
    assert s.wait_exit(60) == 2
    assert ("iceberg sink: table public.nokey has no primary key; the iceberg sink needs one to apply updates "
            "and deletes (add a primary key at the source)") in s.log_text()


def test_truncate_empties_the_table_also_after_a_restart(pg, iceberg):
    drop_tables(iceberg, "public.tr")
    pg.exec("DROP TABLE IF EXISTS tr", "CREATE TABLE tr (id int PRIMARY KEY, v text)",
            "INSERT INTO tr VALUES (1, 'a'), (2, 'b')")
    s, _ = pg.pipeline("public.tr", "ice_pg_tr", startup="initial", sink=sink_yaml(iceberg))
    s.start(wait_for=PG_STREAMING, timeout=60)
    wait_rows(iceberg, "public.tr", [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}], proc=s)
    pg.exec("TRUNCATE tr", "INSERT INTO tr VALUES (3, 'c')")
    wait_rows(iceberg, "public.tr", [{"id": 3, "v": "c"}], proc=s)
    assert s.stop() == 0
    # after a restart (the key index rebuilt across the TRUNCATE) changes still land exactly
    s.start(wait_for=PG_STREAMING, timeout=60)
    pg.exec("INSERT INTO tr VALUES (1, 'again')", "UPDATE tr SET v = 'c2' WHERE id = 3")
    want = [{"id": 1, "v": "again"}, {"id": 3, "v": "c2"}]
    wait_rows(iceberg, "public.tr", want, proc=s)
    assert duck_rows(iceberg, "public.tr") == want
    assert s.stop() == 0


def test_unchanged_toast_value_stops_naming_the_fix(pg, iceberg):
    drop_tables(iceberg, "public.toasty")
    pg.exec("DROP TABLE IF EXISTS toasty", "CREATE TABLE toasty (id int PRIMARY KEY, n int, big text)",
            "ALTER TABLE toasty ALTER COLUMN big SET STORAGE EXTERNAL")
    s, _ = pg.pipeline("public.toasty", "ice_pg_toast", sink=sink_yaml(iceberg))
    s.start(wait_for=PG_STREAMING, timeout=60)
    pg.exec("INSERT INTO toasty VALUES (1, 1, repeat('x', 100000))")
    wait_rows(iceberg, "public.toasty", [{"id": 1, "n": 1, "big": "x" * 100000}], proc=s)
    pg.exec("UPDATE toasty SET n = 2 WHERE id = 1")
    assert s.wait_exit(60) == 1
    assert ("iceberg sink: public.toasty column big (Iceberg string): the source did not send this value "
            "(unchanged TOAST); set REPLICA IDENTITY FULL on the table so every update carries the whole row"
            ) in s.log_text()
    # nothing of the failed epoch is visible
    assert py_rows(iceberg, "public.toasty") == [{"id": 1, "n": 1, "big": "x" * 100000}]
