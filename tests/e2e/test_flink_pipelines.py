"""Flink CDC pipeline files against real servers: transforms with computed
and metadata columns into the file sink (MariaDB) and the Kafka sink
(PostgreSQL named as Flink names it, with Flink's Kafka options: canal-json,
CSV keys, topic mapping, headers), BATCH mode, and schema.change.behavior
for every value."""

from __future__ import annotations

import json
import re
import time
import uuid

import pytest
import kafka_read
from kafka_read import read_raw
from sluice_run import (Sluice, changes, mysql_exec, mysql_pipeline_yaml, read_events, wait_events)


@pytest.fixture
def db(mariadb, request):
    name = "fp_" + re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:40]
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}")
    return name


def schema_lines(out):
    return [e for e in read_events(out) if "tableChanges" in e]


def test_computed_and_metadata_columns_into_the_file_sink(mariadb, db, tmp_path):
    mysql_exec(mariadb, f"CREATE TABLE {db}.orders (id INT PRIMARY KEY, name VARCHAR(20), amount DECIMAL(8,2), "
                        f"placed DATETIME(3), note TEXT)",
               f"INSERT INTO {db}.orders VALUES (1, 'ann', 150.00, '2024-03-10 01:30:00.250', 'x'), "
               f"(2, 'bob', 20.50, '2024-01-01 00:00:00', NULL)")
    out = tmp_path / "out.jsonl"
    yaml = mysql_pipeline_yaml(mariadb, f"{db}.\\.*", out, name="fp1", server_id=5781, startup="initial",
                               extra_source="  metadata.list: op_ts\n",
                               extra_pipeline="  local-time-zone: Asia/Tokyo\n") + f"""
transform:
  - source-table: {db}.orders
    projection: \\*, UPPER(name) AS uname, amount * 2 AS twice, CASE WHEN amount >= 100 THEN 'big' ELSE 'small' END AS size,
      DATE_FORMAT(placed, 'yyyy/MM/dd HH:mm') AS day, __schema_name__ || '.' || __table_name__ AS tbl,
      __data_event_type__ AS op_type, op_ts, CAST(id AS STRING) AS sid, COALESCE(note, '-') AS note2
    filter: uname <> 'CID' AND twice > 10
"""
    s = Sluice(tmp_path, yaml, env={"TEST_MYSQL_PASSWORD": mariadb.password})
    s.start()
    # the changes below come after the snapshot's rows: a chunk read after
    # them (each chunk at its own position) would already hold them
    s.wait_log(f"snapshot of {db}.orders done", 60)
    before = int(time.time() * 1000)
    mysql_exec(mariadb, f"INSERT INTO {db}.orders VALUES (3, 'cid', 500, '2024-05-05 05:05:05', 'y')",
               f"INSERT INTO {db}.orders VALUES (4, 'dan', 1.00, '2024-05-05 05:05:05', 'z')",
               f"UPDATE {db}.orders SET amount = 3 WHERE id = 1",
               f"DELETE FROM {db}.orders WHERE id = 2")
    wait_events(out, 4, proc=s)
    time.sleep(0.3)
    assert s.stop() == 0
    evs = changes(out)
    common = {"tbl": f"{db}.orders"}
    r1 = dict(id=1, name="ann", amount="150.00", placed=1710034200250, note="x", uname="ANN", twice="300.00",
              size="big", day="2024/03/10 01:30", op_type="+I", op_ts=0, sid="1", note2="x", **common)
    r2 = dict(id=2, name="bob", amount="20.50", placed=1704067200000, note=None, uname="BOB", twice="41.00",
              size="small", day="2024/01/01 00:00", op_type="+I", op_ts=0, sid="2", note2="-", **common)
    got = [(e["op"], e["before"], e["after"]) for e in evs]
    # snapshot rows (op_ts 0), then: cid filtered out, dan filtered out (twice = 2), ann's update
    # leaves the filter (a delete of the old row), bob's delete
    assert got[:2] == [("r", None, r1), ("r", None, r2)]
    del_ann = dict(r1, op_type="-U")
    assert got[2][0] == "d" and got[2][2] is None
    assert {k: v for k, v in got[2][1].items() if k != "op_ts"} == {k: v for k, v in del_ann.items() if k != "op_ts"}
    assert got[3][0] == "d"
    assert {k: v for k, v in got[3][1].items() if k != "op_ts"} == \
        {k: v for k, v in dict(r2, op_type="-D").items() if k != "op_ts"}
    # op_ts of a change is its commit time in milliseconds
    assert before - 5000 <= got[3][1]["op_ts"] <= int(time.time() * 1000)
    assert len(got) == 4
    # the computed columns' types reach the sink's schema
    cols = {c["name"]: c["typeName"] for c in schema_lines(out)[-1]["tableChanges"][0]["table"]["columns"]}
    assert cols["uname"] == "string"
    assert cols["twice"] == "decimal(18,2)"
    assert cols["size"] == "char(5)"
    assert cols["op_ts"] == "bigint"
    assert cols["placed"] == "datetime(3)"


def wait_records(kafka, topic, n, proc, timeout=90):
    return kafka_read.wait_records(kafka.bootstrap, topic, n, proc, timeout)


def test_postgres_named_as_flink_into_kafka_with_flink_options(postgres, pg, kafka, tmp_path):
    pg.exec("DROP TABLE IF EXISTS public.items", "CREATE TABLE public.items (id INT PRIMARY KEY, code TEXT, qty INT)")
    name = "fp_pgk"
    topic = f"fp-items-{uuid.uuid4().hex[:6]}"
    pg.slots.add("sl_" + name)
    pg.pubs.add("pub_" + name)
    yaml = f"""
source:
  type: postgres
  hostname: {postgres.host}
  port: {postgres.port}
  username: {postgres.user}
  password: ${{env:TEST_PG_PASSWORD}}
  tables: {pg.db}.public.items
  slot.name: sl_{name}
  publication.name: pub_{name}
  scan.startup.mode: latest-offset
  metadata.list: op_ts, schema_name, table_name
  heartbeat.interval: PT1S
  status.interval: 1s
  debezium.snapshot.mode: never
  connection.pool.size: 4
sink:
  type: kafka
  properties.bootstrap.servers: {kafka.bootstrap}
  value.format: canal-json
  key.format: csv
  partition.strategy: all-to-zero
  sink.tableId-to-topic.mapping: public.items:{topic}
  sink.add-tableId-to-header-enabled: true
  sink.custom-header: team:data,env:test
  include.schema.changes: [create.table, add.column]
  topic.partitions: 3
transform:
  - source-table: public.items
    projection: id, code, qty * 10 AS qty10, __schema_name__ AS sch, schema_name || '.' || table_name AS tid,
      __data_event_type__ AS ev
    filter: qty10 >= 10 OR ev = '-D'
pipeline:
  name: {name}
  checkpoint.interval: 200ms
"""
    s = Sluice(tmp_path / "k", yaml, env={"TEST_PG_PASSWORD": postgres.password})
    s.start(wait_for="postgres source: streaming slot", timeout=60)
    assert "ignored: debezium.snapshot.mode (line 15), connection.pool.size (line 16)" in s.log_text()
    pg.exec("INSERT INTO public.items VALUES (1, 'a,b', 2), (2, 'zero', 0)",
            "UPDATE public.items SET qty = 3 WHERE id = 1",
            "DELETE FROM public.items WHERE id = 2")
    recs = wait_records(kafka, topic, 3, s)
    assert s.stop() == 0
    assert all(p == 0 for p, _, _, _ in recs)
    assert [k for _, k, _, _ in recs] == [b'1', b'1', b'2']
    assert all(h == {"schemaName": "public", "tableName": "items", "team": "data", "env": "test"}
               for _, _, _, h in recs)
    vals = [v for _, _, v, _ in recs]
    row = dict(id=1, code="a,b", sch="public", tid="public.items")
    assert vals[0] == {"old": None, "data": [dict(row, qty10=20, ev="+I")], "type": "INSERT",
                       "database": "public", "table": "items", "pkNames": ["id"]}
    assert vals[1]["type"] == "UPDATE" and vals[1]["data"] == [dict(row, qty10=30, ev="+U")]
    # the old image of a REPLICA IDENTITY DEFAULT update is not sent by the server
    assert vals[1]["old"] is None
    assert vals[2] == {"old": None, "data": [{"id": 2, "code": None, "qty10": None, "sch": "public",
                                              "tid": "public.items", "ev": "-D"}],
                       "type": "DELETE", "database": "public", "table": "items", "pkNames": ["id"]}


def test_batch_mode_reads_a_snapshot_and_stops(mariadb, db, tmp_path):
    mysql_exec(mariadb, f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT)",
               f"INSERT INTO {db}.t VALUES " + ", ".join(f"({i}, {i * i})" for i in range(1, 51)))
    out = tmp_path / "out.jsonl"
    yaml = mysql_pipeline_yaml(mariadb, f"{db}.t", out, name="fpbatch", server_id=5782, startup="initial",
                               extra_pipeline="  execution.runtime-mode: BATCH\n")
    s = Sluice(tmp_path, yaml, env={"TEST_MYSQL_PASSWORD": mariadb.password})
    s.start(wait_for=None)
    assert s.wait_exit(120) == 0, s.log_text()
    evs = changes(out)
    assert sorted((e["op"], e["after"]["id"], e["after"]["v"]) for e in evs) == \
        [("r", i, i * i) for i in range(1, 51)]


ALTERS = ["ADD COLUMN c INT", "DROP COLUMN a"]


@pytest.mark.parametrize("behavior", ["evolve", "try_evolve", "lenient", "ignore", "exception"])
def test_schema_change_behavior(mariadb, db, tmp_path, behavior):
    mysql_exec(mariadb, f"CREATE TABLE {db}.t (id INT PRIMARY KEY, a INT, b INT)")
    out = tmp_path / "out.jsonl"
    yaml = mysql_pipeline_yaml(mariadb, f"{db}.t", out, name="fpscb" + behavior[:3], server_id=5783,
                               extra_pipeline=f"  schema.change.behavior: {behavior}\n")
    s = Sluice(tmp_path, yaml, env={"TEST_MYSQL_PASSWORD": mariadb.password})
    s.start()
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (1, 10, 11)", f"ALTER TABLE {db}.t ADD COLUMN c INT",
               f"INSERT INTO {db}.t VALUES (2, 20, 21, 22)", f"ALTER TABLE {db}.t DROP COLUMN a",
               f"INSERT INTO {db}.t VALUES (3, 31, 32)")
    if behavior == "exception":
        assert s.wait_exit(60) == 2
        assert f"table {db}.t changed its schema, which pipeline schema.change.behavior: exception does not " \
               "allow (use lenient, evolve or ignore to let changes through)" in s.log_text()
        # the epoch open at the change is rolled back; nothing of the new shape arrived
        assert [e["after"] for e in changes(out)] in ([], [{"id": 1, "a": 10, "b": 11}])
        return
    wait_events(out, 3, proc=s)
    time.sleep(0.3)
    assert s.stop() == 0
    rows = [e["after"] for e in changes(out)]
    shapes = [[c["name"] for c in e["tableChanges"][0]["table"]["columns"]] for e in schema_lines(out)]
    if behavior in ("evolve", "try_evolve"):
        assert rows == [{"id": 1, "a": 10, "b": 11}, {"id": 2, "a": 20, "b": 21, "c": 22},
                        {"id": 3, "b": 31, "c": 32}]
        assert shapes == [["id", "a", "b"], ["id", "a", "b", "c"], ["id", "b", "c"]]
    elif behavior == "lenient":
        assert rows == [{"id": 1, "a": 10, "b": 11}, {"id": 2, "a": 20, "b": 21, "c": 22},
                        {"id": 3, "a": None, "b": 31, "c": 32}]
        # a was nullable already: keeping it needs no new shape
        assert shapes == [["id", "a", "b"], ["id", "a", "b", "c"]]
    else:
        assert rows == [{"id": 1, "a": 10, "b": 11}, {"id": 2, "a": 20, "b": 21}, {"id": 3, "a": None, "b": 31}]
        assert shapes == [["id", "a", "b"]]
