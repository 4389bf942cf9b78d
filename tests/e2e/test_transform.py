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
        # Flink: an update whose old row fails the filter and new row passes is an insert
        ("c", "orders", None, {"id": 2, "customer": "bob", "amount": "120.00"}),
        ("d", "orders", {"id": 1, "customer": "ann", "amount": "150.00"}, None),
        ("c", "nokey", None, {"code": "k1", "v": 1}),
    ]
    schema_lines = [l for l in out.read_text().splitlines() if "tableChanges" in l]
    assert any('"primaryKeyColumnNames":["code"]' in l for l in schema_lines)
    assert any('"primaryKeyColumnNames":["id"]' in l and '"name":"customer"' in l for l in schema_lines)


def test_expression_mistakes_are_rejected_at_load_with_line_and_column(tmp_path):
    env = {"SLUICE_TEST_PW": "x"}
    cases = [
        # (projection/filter line, expected message after the location)
        ("    projection: id, addone(id) AS n\n",
         "16:21: transform projection: unknown function ADDONE (sluice runs Flink CDC's built-in functions; "
         "user-defined functions are Java classes it cannot load) (at 'addone(id) AS n')"),
        ("    projection: id, UPPER(name, 2) AS n\n",
         "16:21: transform projection: UPPER takes 1 argument, not 2 (at 'UPPER(name, 2) AS n')"),
        ("    projection: id, UPPER(name)\n",
         "16:21: transform projection: a computed column needs a name: write <expression> AS <name> "
         "(at 'UPPER(name)')"),
        ("    filter: amount >> 3\n",
         "16:21: transform filter: expected an expression but found '>' (at '> 3')"),
        ("    filter: \"id + 'x' > 1\"\n",
         "16:19: transform filter: operator + needs numbers, and 'x' is not one (at ''x' > 1')"),
        ("    filter: name LIKE '('\n",
         "16:23: transform filter: '(' is not a valid regular expression (U_REGEX_MISMATCHED_PAREN at offset 1) "
         "(at ''('')"),
        ("    filter: CAST(id AS FOO) > 1\n",
         "16:24: transform filter: unknown type 'FOO' in CAST (at 'FOO) > 1')"),
        ("    filter: DATE '2024-02-30' < ts\n",
         "16:13: transform filter: cannot cast '2024-02-30' (STRING) to DATE (at 'DATE '2024-02-30' < ts')"),
        ("    filter: 1 + 1\n",
         "16:13: transform filter: a filter must be a condition (BOOLEAN), not INT (at '1 + 1')"),
    ]
    for line, expected in cases:
        p = write(tmp_path, GOOD + "transform:\n  - source-table: shop.orders\n" + line)
        proc = sluice("check", p, env=env)
        assert proc.returncode == 2, (line, proc.stderr)
        assert error_line(proc) == f"{p}:{expected}", line
    p = write(tmp_path, GOOD + "transform:\n  - projection: id\n")
    proc = sluice("check", p, env=env)
    assert proc.returncode == 2
    assert error_line(proc) == f"{p}:15:5: transform item is missing 'source-table'"
    p = write(tmp_path, GOOD + "route:\n  - source-table: shop.orders\n    sink-tabel: x\n")
    proc = sluice("check", p, env=env)
    assert proc.returncode == 2
    assert error_line(proc) == f"{p}:16:5: unknown route key 'sink-tabel'; did you mean 'sink-table'?"
