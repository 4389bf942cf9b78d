"""MariaDB -> clickhouse sink: what a reader of the ClickHouse tables sees.

Every column type (test_mysql_types' zoo) arrives exactly, through the
snapshot and through the binlog, after inserts, updates and deletes; a
primary-key change moves the row; schema changes become ALTER TABLE; routes
merge tables; the errors name what went wrong. The readers are independent:
they query the engine through its HTTP interface with SELECT ... FINAL.
"""

from __future__ import annotations

import datetime as dt
import struct

import pytest

from clickhouse_read import (drop_databases, env_for, exec_, final, front_log, mysql_yaml, physical_count, rows, wait_checkpoint,
                             wait_for, wait_rows)
from sluice_run import Sluice, mysql_connect, mysql_exec
from test_mysql_types import COLUMNS, NAMES, ROWS, column_types, insert, server_rows

SETTINGS = {"output_format_decimal_trailing_zeros": "1"}


def ch_text(v, t):
    """ClickHouse's toString() of the column sluice makes for MySQL type t
    holding the server's value v (README: type mapping)."""
    if v is None:
        return None
    if t.startswith("bit"):
        n = int.from_bytes(v, "big")
        return ("true" if n else "false") if t == "bit(1)" else str(n)
    if t.startswith("decimal"):
        return format(v, "f")
    if t == "float":  # the text protocol prints FLOAT with 6 digits; both sides are rounded so
        return f"{v:.6g}"
    if t == "double":  # the same 64 bits
        return struct.pack("<d", v)
    if t.startswith("time") and not t.startswith("timestamp"):
        fsp = int(t[5:-1]) if "(" in t else 0
        us = v.days * 86400 * 10**6 + v.seconds * 10**6 + v.microseconds
        sign = "-" if us < 0 else ""
        us = abs(us)
        s = f"{sign}{us // 3600_000_000:02d}:{us // 60_000_000 % 60:02d}:{us // 1_000_000 % 60:02d}"
        return s + ("." + f"{us % 1_000_000:06d}"[:fsp] if fsp else "")
    if t.startswith(("datetime", "timestamp")):
        fsp = int(t.split("(")[1][:-1]) if "(" in t else 0
        s = v.strftime("%Y-%m-%d %H:%M:%S")
        return s + ("." + f"{v.microsecond:06d}"[:fsp] if fsp else "")
    if t == "date":
        return v.isoformat()
    if t.startswith(("binary", "varbinary", "blob")):
        return v.hex().upper()
    if t.startswith("set"):
        return v if isinstance(v, str) else ",".join(sorted(v, key="abcd".index))
    return str(v)


def select_list(types):
    """bytes as hex, decimals as they are (quoted, every fractional digit), the rest as toString()"""
    def one(n):
        if types[n].startswith(("binary", "varbinary", "blob")):
            return f"hex({n}) AS {n}"
        return n if types[n].startswith("decimal") else f"toString({n}) AS {n}"
    return ", ".join(one(n) for n in NAMES)


def test_every_type_exact_after_snapshot_insert_update_delete(mariadb, clickhouse, tmp_path):
    db = "ch_types"
    drop_databases(clickhouse, db)
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}", f"CREATE TABLE {db}.zoo ({COLUMNS})")
    insert(mariadb, f"{db}.zoo", ROWS)  # read by the snapshot
    s = Sluice(tmp_path, mysql_yaml(mariadb, clickhouse, f"{db}.zoo", db, "ch_types", server_id=5601),
               env=env_for(mysql=mariadb, ch=clickhouse)).start()
    wait_rows(clickhouse, f"{db}.zoo", 3, proc=s)
    # the binlog: the same rows under other keys, then updates and deletes of both kinds
    insert(mariadb, f"{db}.zoo", [(r[0] + 10,) + r[1:] for r in ROWS])
    conn = mysql_connect(mariadb)
    with conn.cursor() as cur:
        cur.execute("SET time_zone = '+00:00'")
        sets = ", ".join(f"{n} = %s" for n in NAMES[1:])
        for target, source in ((1, ROWS[1]), (12, ROWS[0]), (11, ROWS[2])):
            cur.execute(f"UPDATE {db}.zoo SET {sets} WHERE id = %s", source[1:] + (target,))
        cur.execute(f"DELETE FROM {db}.zoo WHERE id IN (3, 13)")
    conn.close()
    mysql_exec(mariadb, f"INSERT INTO {db}.zoo (id) VALUES (99)")
    wait_for(lambda: final(clickhouse, f"{db}.zoo", columns="id", where="id = 99"), proc=s, what="the marker row")
    types = column_types(mariadb, db, "zoo")
    want = [{n: ch_text(r[n], types[n]) for n in NAMES} for r in server_rows(mariadb, f"{db}.zoo")]
    got = rows(clickhouse, f"SELECT {select_list(types)} FROM {db}.zoo AS z FINAL ORDER BY z.id", SETTINGS)
    got = [{n: (None if r[n] is None else r[n]) for n in NAMES} for r in got]
    assert [r["id"] for r in got] == ["1", "2", "11", "12", "99"]
    for g, w in zip(got, want):
        for n in NAMES:
            have = g[n]
            if types[n] == "float" and have is not None:
                have = f"{float(have):.6g}"
            elif types[n] == "double" and have is not None:
                have = struct.pack("<d", float(have))
            assert have == w[n], (w["id"], n, types[n], g[n], w[n])
    # FLOAT to the bit, against what was inserted (the server's text protocol rounds it)
    inserted = {"1": ROWS[1], "2": ROWS[1], "11": ROWS[2], "12": ROWS[0]}
    fi = NAMES.index("f")
    for g in got[:4]:
        v = inserted[g["id"]][fi]
        assert (g["f"] is None) == (v is None)
        if v is not None:
            assert struct.pack("<f", float(g["f"])) == struct.pack("<f", v), (g["id"], g["f"], v)
    # the deletes are rows of the key marked deleted: two of them
    assert rows(clickhouse, f"SELECT id FROM {db}.zoo WHERE _is_deleted = 1 ORDER BY id") == [{"id": 3}, {"id": 13}]
    assert s.stop() == 0
    # every data insert said how it wants to be handled, whatever the server defaults
    inserts = [e for e in front_log(clickhouse) if e["query"].startswith(f"INSERT INTO `{db}`.`zoo`")]
    assert inserts
    for e in inserts:
        assert "SETTINGS async_insert = 0, insert_deduplicate = 1" in e["query"], e["query"]
        assert "insert_deduplication_token = 'ch_types:ch_types.zoo:" in e["query"], e["query"]
        assert e["format"] == "RowBinary"


def test_signed_integer_after_a_year_column(mariadb, clickhouse, tmp_path):
    """MariaDB's SIGNEDNESS metadata has a bit for YEAR: the INT after it is signed."""
    db = "ch_year"
    drop_databases(clickhouse, db)
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.t (id INT PRIMARY KEY, y YEAR, x INT, z INT UNSIGNED, w BIGINT)")
    s = Sluice(tmp_path, mysql_yaml(mariadb, clickhouse, f"{db}.t", db, "ch_year", startup="latest-offset",
                                    server_id=5602), env=env_for(mysql=mariadb, ch=clickhouse)).start()
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (1, 2024, -5, 5, -9223372036854775808)")
    got = wait_rows(clickhouse, f"{db}.t", 1, proc=s)
    assert got == [{"id": 1, "y": 2024, "x": -5, "z": 5, "w": "-9223372036854775808"}]
    cols = rows(clickhouse, f"SELECT name, type FROM system.columns WHERE database = '{db}' AND table = 't'")
    assert [c["type"] for c in cols] == ["Int32", "Nullable(UInt16)", "Nullable(Int32)", "Nullable(UInt32)",
                                         "Nullable(Int64)", "UInt128", "UInt8"]
    assert s.stop() == 0


def test_primary_key_changes_move_the_row(mariadb, clickhouse, tmp_path):
    db = "ch_pk"
    drop_databases(clickhouse, db)
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(10))",
               f"INSERT INTO {db}.t VALUES (1, 'a'), (2, 'b'), (3, 'c'), (10, 'x')")
    s = Sluice(tmp_path, mysql_yaml(mariadb, clickhouse, f"{db}.t", db, "ch_pk", server_id=5603),
               env=env_for(mysql=mariadb, ch=clickhouse)).start()
    wait_rows(clickhouse, f"{db}.t", 4, proc=s)
    # one row event whose rows move keys onto each other's old keys: 3->4, 2->3, 1->2
    mysql_exec(mariadb, f"UPDATE {db}.t SET id = id + 1 WHERE id < 10 ORDER BY id DESC",
               f"UPDATE {db}.t SET id = 20, v = 'y' WHERE id = 10",
               f"INSERT INTO {db}.t VALUES (99, 'end')")
    wait_for(lambda: final(clickhouse, f"{db}.t", where="id = 99"), proc=s, what="the marker row")
    assert final(clickhouse, f"{db}.t") == [{"id": 2, "v": "a"}, {"id": 3, "v": "b"}, {"id": 4, "v": "c"},
                                            {"id": 20, "v": "y"}, {"id": 99, "v": "end"}]
    # the old keys 1 and 10 are delete rows (2 and 3 were deleted and written again in the same
    # event; optimize_on_insert keeps only the newest row of a key within a block)
    deleted = rows(clickhouse, f"SELECT id FROM {db}.t WHERE _is_deleted = 1 ORDER BY id")
    assert deleted == [{"id": 1}, {"id": 10}]
    assert s.stop() == 0


def ch_columns(ch, db, table):
    return [(c["name"], c["type"]) for c in
            rows(ch, f"SELECT name, type FROM system.columns WHERE database = '{db}' AND table = '{table}' "
                     "ORDER BY position")]


def test_schema_changes_mid_stream_become_alter_table(mariadb, clickhouse, tmp_path):
    db = "ch_ddl"
    drop_databases(clickhouse, db)
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.t (id INT PRIMARY KEY, a INT, b VARCHAR(10), gone INT)",
               f"INSERT INTO {db}.t VALUES (1, 10, 'x', 7)")
    s = Sluice(tmp_path, mysql_yaml(mariadb, clickhouse, f"{db}.t", db, "ch_ddl", server_id=5604),
               env=env_for(mysql=mariadb, ch=clickhouse)).start()
    wait_rows(clickhouse, f"{db}.t", 1, proc=s)
    mysql_exec(mariadb,
               f"ALTER TABLE {db}.t ADD COLUMN c DECIMAL(8,2) NULL AFTER a",
               f"INSERT INTO {db}.t VALUES (2, 20, 1.25, 'y', 8)",
               f"ALTER TABLE {db}.t CHANGE b bee VARCHAR(10)",
               f"ALTER TABLE {db}.t MODIFY a BIGINT, MODIFY c DECIMAL(12,4)",
               f"ALTER TABLE {db}.t DROP COLUMN gone",
               f"INSERT INTO {db}.t VALUES (3, 30000000000, 3.1415, 'z')",
               f"UPDATE {db}.t SET bee = 'xx' WHERE id = 1")
    wait_for(lambda: final(clickhouse, f"{db}.t", where="id = 3"), proc=s, what="row 3")
    # the UPDATE is a transaction of its own, possibly in a later epoch
    wait_for(lambda: final(clickhouse, f"{db}.t", where="id = 1 AND bee = 'xx'"), proc=s, what="row 1 updated")
    assert ch_columns(clickhouse, db, "t") == [
        ("id", "Int32"), ("a", "Nullable(Int64)"), ("c", "Nullable(Decimal(12, 4))"), ("bee", "Nullable(String)"),
        ("_version", "UInt128"), ("_is_deleted", "UInt8")]
    assert rows(clickhouse, f"SELECT id, a, c, bee FROM {db}.t FINAL ORDER BY id", SETTINGS) == [
        {"id": 1, "a": "10", "c": None, "bee": "xx"},
        {"id": 2, "a": "20", "c": "1.2500", "bee": "y"},
        {"id": 3, "a": "30000000000", "c": "3.1415", "bee": "z"}]
    # a change nothing can widen stops the pipeline naming table, column and both types
    mysql_exec(mariadb, f"ALTER TABLE {db}.t MODIFY c VARCHAR(20)", f"INSERT INTO {db}.t VALUES (4, 1, '1', 'w')")
    assert s.wait_exit(60) == 1
    assert ("clickhouse sink: cannot apply the schema of source table ch_ddl.t to table ch_ddl.t: column c is "
            "Nullable(Decimal(12, 4)) in ClickHouse, but the source's varchar(20) needs Nullable(String); only changes "
            "that widen a type are applied (alter the table by hand or route the source table elsewhere)"
            ) in s.log_text()
    # what was committed stays
    assert [r["id"] for r in final(clickhouse, f"{db}.t", columns="id")] == [1, 2, 3]


def test_many_tables_routed_into_one(mariadb, clickhouse, tmp_path):
    db = "ch_route"
    drop_databases(clickhouse, db, "ch_route_all", "ch_route_ck")
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.orders_eu (id INT PRIMARY KEY, amount DECIMAL(10,2))",
               f"CREATE TABLE {db}.orders_us (id INT PRIMARY KEY, amount DECIMAL(10,2))",
               f"INSERT INTO {db}.orders_eu VALUES (1, 1.00), (2, 2.00)",
               f"INSERT INTO {db}.orders_us VALUES (101, 101.00)")
    routes = f"""route:
  - source-table: {db}.orders_\\.*
    sink-table: {db}_all.orders"""
    s = Sluice(tmp_path, mysql_yaml(mariadb, clickhouse, f"{db}.orders_\\.*", "ch_route_ck", "ch_route",
                                    server_id=5605, routes=routes,
                                    extra_sink="  compression: gzip\n"
                                               f"  table.partition-by: '{db}_all.orders: intDiv(id, 100)'"),
               env=env_for(mysql=mariadb, ch=clickhouse)).start()
    wait_rows(clickhouse, f"{db}_all.orders", 3, proc=s)
    mysql_exec(mariadb, f"UPDATE {db}.orders_eu SET amount = 1.50 WHERE id = 1",
               f"DELETE FROM {db}.orders_eu WHERE id = 2",
               f"INSERT INTO {db}.orders_us VALUES (102, 102.00)")
    wait_rows(clickhouse, f"{db}_all.orders", 3, proc=s, where="id != 2")
    assert rows(clickhouse, f"SELECT id, amount FROM {db}_all.orders FINAL ORDER BY id", SETTINGS) == [
        {"id": 1, "amount": "1.50"}, {"id": 101, "amount": "101.00"}, {"id": 102, "amount": "102.00"}]
    assert s.stop() == 0
    # the checkpoint lives in the sink's database, the tables where the route says
    assert rows(clickhouse, "SELECT count() AS n FROM ch_route_ck.sluice_checkpoints") != [{"n": "0"}]
    assert rows(clickhouse, f"SELECT partition_key, sorting_key FROM system.tables WHERE database = '{db}_all'") == [
        {"partition_key": "intDiv(id, 100)", "sorting_key": "(id)"}]
    assert rows(clickhouse, f"SELECT DISTINCT partition FROM system.parts WHERE database = '{db}_all' AND active "
                            "ORDER BY partition") == [{"partition": "0"}, {"partition": "1"}]



def test_overlapping_routes_and_partition_keys(mariadb, clickhouse, tmp_path):
    """route-mode ALL_MATCH (Flink's default): a table two routes match goes to both tables; a transform's
    partition-keys become PARTITION BY of the tables sluice creates."""
    db = "ch_flink"
    drop_databases(clickhouse, db, "ch_flink_a", "ch_flink_b")
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.orders (id INT, region CHAR(2), amount INT, PRIMARY KEY (id, region))",
               f"INSERT INTO {db}.orders VALUES (1, 'eu', 10), (2, 'us', 20)")
    routes = f"""route:
  - source-table: {db}.orders
    sink-table: ch_flink_a.orders
  - source-table: {db}.\\.*
    sink-table: ch_flink_b.all_orders
transform:
  - source-table: {db}.orders
    projection: \\*
    partition-keys: region"""
    s = Sluice(tmp_path, mysql_yaml(mariadb, clickhouse, f"{db}.orders", db, "ch_flink", server_id=5606,
                                    routes=routes),
               env=env_for(mysql=mariadb, ch=clickhouse)).start()
    for t in ("ch_flink_a.orders", "ch_flink_b.all_orders"):
        wait_rows(clickhouse, t, 2, proc=s)
    mysql_exec(mariadb, f"UPDATE {db}.orders SET amount = 11 WHERE id = 1",
               f"DELETE FROM {db}.orders WHERE id = 2",
               f"INSERT INTO {db}.orders VALUES (3, 'eu', 30)")
    expected = [{"id": 1, "region": "eu", "amount": 11}, {"id": 3, "region": "eu", "amount": 30}]
    for t in ("ch_flink_a.orders", "ch_flink_b.all_orders"):
        wait_rows(clickhouse, t, 2, proc=s, where="id != 2")
        assert final(clickhouse, t, columns="id, region, amount") == expected
    assert s.stop() == 0
    assert rows(clickhouse, "SELECT database, partition_key, sorting_key FROM system.tables "
                            "WHERE database IN ('ch_flink_a', 'ch_flink_b') ORDER BY database") == [
        {"database": "ch_flink_a", "partition_key": "region", "sorting_key": "id, region"},
        {"database": "ch_flink_b", "partition_key": "region", "sorting_key": "id, region"}]


def test_partition_keys_outside_the_order_by_are_refused(mariadb, clickhouse, tmp_path):
    db = "ch_pkeys"
    drop_databases(clickhouse, db)
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.t (id INT PRIMARY KEY, day DATE)")
    transform = f"""transform:
  - source-table: {db}.t
    projection: \\*
    partition-keys: day"""
    s = Sluice(tmp_path, mysql_yaml(mariadb, clickhouse, f"{db}.t", db, "ch_pkeys", server_id=5607,
                                    routes=transform),
               env=env_for(mysql=mariadb, ch=clickhouse)).start(wait_for=None)
    assert s.wait_exit(60) == 2, s.log_text()
    assert (f"clickhouse sink: partition-keys column day of {db}.t is not an ORDER BY column of table {db}.t "
            "(ReplacingMergeTree replaces a row only within its partition); fix: add it to sink option "
            f"table.order-by (e.g. '{db}.t: <key columns>, day')") in s.log_text(), s.log_text()
    assert rows(clickhouse, f"SELECT name FROM system.tables WHERE database = '{db}' AND name = 't'") == []
