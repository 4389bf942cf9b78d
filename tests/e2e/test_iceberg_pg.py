"""PostgreSQL -> iceberg sink: values exact in pyiceberg and DuckDB after the
snapshot, inserts, updates, a primary-key change and deletes; a column added
mid-stream becomes a new Iceberg field (schema evolution); a table without a
primary key is refused naming it."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

from iceberg_read import checkpoint, drop_tables, duck_rows, py_rows, sink_yaml, truncate_snapshot, wait_rows
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


def test_truncate_removes_files_and_keeps_later_rows_of_its_epoch(pg, iceberg, tmp_path):
    """a TRUNCATE is one snapshot removing every data and delete file (no
    position delete per row): inserts before it in its transaction vanish,
    rows after it in the same epoch stay, and their later updates and
    deletes land exactly, also after the key index is lost"""
    drop_tables(iceberg, "public.trf")
    pg.exec("DROP TABLE IF EXISTS trf", "CREATE TABLE trf (id int PRIMARY KEY, v text)",
            "INSERT INTO trf SELECT g, 'r' || g FROM generate_series(1, 300) g")
    idx = tmp_path / "trf-index"
    s, _ = pg.pipeline("public.trf", "ice_pg_trf", startup="initial",
                       sink=sink_yaml(iceberg, f"  key-index.dir: {idx}\n"))
    s.start(wait_for=PG_STREAMING, timeout=60)

    def same():
        want = [{"id": i, "v": v} for i, v in pg.rows("SELECT id, v FROM trf ORDER BY id")]
        wait_rows(iceberg, "public.trf", want, proc=s)
        assert duck_rows(iceberg, "public.trf") == want
        return want

    same()
    pg.exec("UPDATE trf SET v = 'u' WHERE id <= 5")  # a position delete file before the TRUNCATE
    same()
    with pg.connect(autocommit=False) as conn:  # one transaction: one epoch
        conn.execute("INSERT INTO trf VALUES (1000, 'before')")
        conn.execute("TRUNCATE trf")
        conn.execute("INSERT INTO trf VALUES (2000, 'a'), (2001, 'b'), (2002, 'c')")
        conn.execute("UPDATE trf SET v = 'a2' WHERE id = 2000")
        conn.execute("DELETE FROM trf WHERE id = 2002")
    assert same() == [{"id": 2000, "v": "a2"}, {"id": 2001, "v": "b"}]
    snap, old_data, old_dels = truncate_snapshot(iceberg, "public.trf")
    props = snap.summary.additional_properties
    assert snap.summary.operation.value == "overwrite"
    # the removed files' counts: 300 rows and 5 updated images, 5 position deletes
    assert props["deleted-records"] == "305" and props["removed-position-deletes"] == "5" and len(old_dels) == 1
    # the epoch's file held the three rows after the TRUNCATE and the
    # update's new image (not the insert before it), and the update and
    # delete after it removed two of those four: past the delete ratio, so
    # it was rewritten before the commit with the two live rows and no
    # position deletes (none for the 300 rows either)
    assert props["added-records"] == "2" and props["added-position-deletes"] == "0"
    assert "rewritten without its 2 deleted rows (2 rows, 1 files)" in s.log_text()
    # a later epoch: updates and deletes of the rows written after the TRUNCATE
    pg.exec("UPDATE trf SET v = 'b2' WHERE id = 2001", "DELETE FROM trf WHERE id = 2000",
            "INSERT INTO trf VALUES (3000, 'd')")
    same()
    assert s.stop() == 0
    # the key index lost: rebuilt from the table, which holds no row of before the TRUNCATE
    import shutil
    shutil.rmtree(idx)
    s.start(wait_for=PG_STREAMING, timeout=60)
    pg.exec("INSERT INTO trf VALUES (1, 'again')", "UPDATE trf SET v = 'd2' WHERE id = 3000")
    assert same() == [{"id": 1, "v": "again"}, {"id": 2001, "v": "b2"}, {"id": 3000, "v": "d2"}]
    assert "key index rebuilt from snapshot" in s.log_text()
    # a TRUNCATE alone in its epoch is a "delete" snapshot
    pg.exec("TRUNCATE trf")
    assert same() == []
    snap, _, _ = truncate_snapshot(iceberg, "public.trf")
    assert snap.summary.operation.value == "delete"
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


def test_promotions_and_a_refused_change_of_scale(pg, iceberg):
    """int4 -> bigint, real -> double precision, numeric(8,2) -> numeric(12,2) become Iceberg
    promotions (same field ids, new schema); older files read in the wider type in both readers;
    numeric(12,2) -> numeric(14,3) (a scale change) stops naming table, column, both types and the fix"""
    drop_tables(iceberg, "public.prom")
    pg.exec("DROP TABLE IF EXISTS prom", "CREATE TABLE prom (id int PRIMARY KEY, i int4, f real, d numeric(8,2))",
            "INSERT INTO prom VALUES (1, -2147483648, 1.5, 999999.99), (2, NULL, NULL, NULL)")
    s, _ = pg.pipeline("public.prom", "ice_pg_prom", startup="initial", sink=sink_yaml(iceberg))
    s.start(wait_for=PG_STREAMING, timeout=60)
    cols = ["id", "i", "f", "d"]

    def same_everywhere():
        want = [dict(zip(cols, r)) for r in pg.rows("SELECT id, i, f, d FROM prom ORDER BY id")]
        wait_rows(iceberg, "public.prom", want, proc=s)
        assert duck_rows(iceberg, "public.prom") == want
        return want

    same_everywhere()
    pg.exec("INSERT INTO prom VALUES (3, 2147483647, -2.25, -0.01)",
            "ALTER TABLE prom ALTER COLUMN i TYPE bigint",
            "INSERT INTO prom VALUES (4, 9007199254740993, 0.5, 12.5)",
            "ALTER TABLE prom ALTER COLUMN f TYPE double precision",
            "INSERT INTO prom VALUES (5, 5, 0.1, 5)",
            "ALTER TABLE prom ALTER COLUMN d TYPE numeric(12,2)",
            "INSERT INTO prom VALUES (6, 6, 1e300, 9999999999.99)",
            "UPDATE prom SET d = -1234567890.12, i = -9223372036854775808 WHERE id = 1")
    want = same_everywhere()
    assert [r["id"] for r in want] == [1, 2, 3, 4, 5, 6]
    assert want[0]["i"] == -9223372036854775808 and want[5]["d"] == decimal.Decimal("9999999999.99")
    from iceberg_read import catalog
    sch = catalog(iceberg).load_table("public.prom").schema()
    assert [str(sch.find_field(n).field_type) for n in cols] == ["int", "long", "double", "decimal(12, 2)"]
    pg.exec("ALTER TABLE prom ALTER COLUMN d TYPE numeric(14,3)", "INSERT INTO prom VALUES (7, 7, 7, 7)")
    assert s.wait_exit(60) == 1
    assert ("iceberg sink: public.prom column d: the source type changed from numeric(12,2) (Iceberg "
            "decimal(12, 2)) to numeric(14,3) (Iceberg decimal(14, 3)), which Iceberg cannot do to a column "
            "(Iceberg promotes only int to long, float to double and decimal(P, S) to a larger P); re-snapshot "
            "the table into a new Iceberg table (drop it, or route the table to a new name)") in s.log_text()


def test_migrate_verifies_postgres_types(pg, iceberg):
    """sluice migrate from PostgreSQL reads the Iceberg table back and digests it as the
    source does: uuid, bytea, jsonb, numeric, timestamptz, arrays (strings) and a row
    updated and deleted while the run streamed (position deletes)"""
    import re
    drop_tables(iceberg, "public.mig")
    pg.exec("DROP TABLE IF EXISTS mig",
            "CREATE TABLE mig (id int8 PRIMARY KEY, i int4, n numeric(10,2), t text, b bool, u uuid, d date, "
            "ts timestamp, tz timestamptz(3), by bytea, j jsonb, f float8, r real, a int4[])",
            "INSERT INTO mig VALUES (1, -5, 12.30, 'héllo', true, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', "
            "'2024-02-29', '2024-01-01 08:00:00.123456', '2024-01-01 08:00:00.123+02', '\\x00ff', '{\"a\": 1}', "
            "1.5, 0.25, '{1,2,NULL}'), (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
            "NULL), (3, 3, -0.01, 'x', false, NULL, '1970-01-01', NULL, NULL, '\\x', '[]', -0.5, 3, '{}')")
    s, _ = pg.pipeline("public.mig", "ice_pg_mig", startup="initial", sink=sink_yaml(iceberg))
    s.start(wait_for=PG_STREAMING, timeout=60)
    pg.exec("UPDATE mig SET t = 'changed' WHERE id = 1", "DELETE FROM mig WHERE id = 2")
    import time
    end = time.time() + 60
    while [r["id"] for r in (py_rows(iceberg, "public.mig") if _exists_t(iceberg, "public.mig") else [])] != [1, 3] \
            or py_rows(iceberg, "public.mig")[0]["t"] != "changed":
        assert time.time() < end and s.proc.poll() is None, s.log_text()[-3000:]
        time.sleep(0.3)
    assert s.stop() == 0
    s.command = "migrate"
    s.start(wait_for=None)
    assert s.wait_exit(120) == 0, s.log_text()[-4000:]
    assert re.search(r"public\.mig\s+2\s+2\s+[0-9a-f]{16}\s+[0-9a-f]{16}\s+ok", s.log_text()), s.log_text()[-3000:]


def _exists_t(iceberg, table):
    from iceberg_read import catalog
    return catalog(iceberg).table_exists(table)
