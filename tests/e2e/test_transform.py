"""The `transform:` block: projection, filter and primary-key override on
real change events, and clear errors for what sluice does not support."""

from __future__ import annotations

import time

from sluice_run import Sluice, changes, mysql_exec, mysql_pipeline_yaml, wait_events
from test_cli import error_line, sluice, write, GOOD


def test_projection_filter_and_primary_keys(mariadb, tmp_path):
    db = "xf"
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.orders (id INT PRIMARY KEY, name VARCHAR(20), secret VARCHAR(20), "
               f"amount DECIMAL(8,2))",
               f"CREATE TABLE {db}.nokey (code VARCHAR(10), v INT)")
    out = tmp_path / "out.jsonl"
    yaml = mysql_pipeline_yaml(mariadb, f"{db}.\\.*", out, name="xf", server_id=5777) + f"""
transform:
  - source-table: {db}.orders
    projection: id, name AS customer, amount
    filter: amount >= 100 AND (name <> 'skip' OR name IS NULL)
  - source-table: {db}.nokey
    primary-keys: code
"""
    s = Sluice(tmp_path, yaml, env={"TEST_MYSQL_PASSWORD": mariadb.password})
    s.start()
    mysql_exec(mariadb,
               f"INSERT INTO {db}.orders VALUES (1, 'ann', 's1', 150.00), (2, 'bob', 's2', 99.99), "
               f"(3, 'skip', 's3', 500), (4, NULL, 's4', 100)",
               f"UPDATE {db}.orders SET amount = 120 WHERE id = 2",
               f"DELETE FROM {db}.orders WHERE id = 1",
               f"INSERT INTO {db}.nokey VALUES ('k1', 1)")
    wait_events(out, 5, proc=s)
    time.sleep(0.3)
    assert s.stop() == 0
    evs = changes(out)
    got = [(e["op"], e["source"]["table"], e["before"], e["after"]) for e in evs]
    assert got == [
        ("c", "orders", None, {"id": 1, "customer": "ann", "amount": "150.00"}),
        ("c", "orders", None, {"id": 4, "customer": None, "amount": "100.00"}),
        ("u", "orders", {"id": 2, "customer": "bob", "amount": "99.99"}, {"id": 2, "customer": "bob", "amount": "120.00"}),
        ("d", "orders", {"id": 1, "customer": "ann", "amount": "150.00"}, None),
        ("c", "nokey", None, {"code": "k1", "v": 1}),
    ]
    schema_lines = [l for l in out.read_text().splitlines() if "tableChanges" in l]
    assert any('"primaryKeyColumnNames":["code"]' in l for l in schema_lines)
    assert any('"primaryKeyColumnNames":["id"]' in l and '"name":"customer"' in l for l in schema_lines)


def test_unsupported_transform_expressions_are_rejected(tmp_path):
    env = {"SLUICE_TEST_PW": "x"}
    p = write(tmp_path, GOOD + "transform:\n  - source-table: shop.orders\n    projection: id, UPPER(name) AS n\n")
    proc = sluice("check", p, env=env)
    assert proc.returncode == 2
    assert error_line(proc) == (f"{p}:15:5: transform: projection item 'UPPER(name) AS n' is not supported "
                                "(sluice projects column names, 'col AS alias' and *)")
    p = write(tmp_path, GOOD + "transform:\n  - source-table: shop.orders\n    filter: amount >> 3\n")
    proc = sluice("check", p, env=env)
    assert proc.returncode == 2
    assert error_line(proc) == f"{p}:15:5: transform: filter 'amount >> 3': expected a literal after the comparison on 'amount'"
    p = write(tmp_path, GOOD + "transform:\n  - projection: id\n")
    proc = sluice("check", p, env=env)
    assert proc.returncode == 2
    assert error_line(proc) == f"{p}:15:5: transform item is missing 'source-table'"
    p = write(tmp_path, GOOD + "route:\n  - source-table: shop.orders\n    sink-tabel: x\n")
    proc = sluice("check", p, env=env)
    assert proc.returncode == 2
    assert error_line(proc) == f"{p}:16:5: unknown route key 'sink-tabel'; did you mean 'sink-table'?"
