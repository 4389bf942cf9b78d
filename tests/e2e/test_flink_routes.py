"""Flink CDC's route rules against a real MariaDB and Kafka: a table that
matches several routes goes to every one of them (route-mode ALL_MATCH,
Flink's default) or only to the first (FIRST_MATCH), and $1 capture groups
name the topic."""

from __future__ import annotations

import pytest

from kafka_read import change_events, read_topic, topics
from sluice_run import mysql_exec
from test_kafka_sink import kafka_yaml, start, wait_marker


@pytest.fixture
def db(mariadb, request):
    name = "fr_" + request.node.name.replace("[", "_").replace("]", "")[:40]
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}")
    return name


@pytest.mark.parametrize("mode", ["", "  route-mode: first_match\n"])
def test_overlapping_routes_all_match_and_first_match(mariadb, kafka, tmp_path, db, mode):
    mysql_exec(mariadb, f"CREATE TABLE {db}.orders_1 (id INT PRIMARY KEY)", f"CREATE TABLE {db}.users (id INT PRIMARY KEY)")
    tag = "f" if mode else "a"
    yaml = kafka_yaml(mariadb, kafka, db) + mode + f"""
route:
  - source-table: {db}.orders_1
    sink-table: {db}-{tag}-one
  - source-table: {db}\\.*
    sink-table: {db}-{tag}-all
  - source-table: ({db}).(order)s_([0-9])
    sink-table: $1-{tag}-$2-$3
"""
    s = start(tmp_path, yaml, mariadb)
    mysql_exec(mariadb, f"INSERT INTO {db}.orders_1 VALUES (1)", f"INSERT INTO {db}.users VALUES (2)")
    wait_marker(kafka, f"{db}-{tag}-all", 2, s)
    wait_marker(kafka, f"{db}-{tag}-one", 1, s)
    assert s.stop() == 0
    rows = lambda t: [(e["source"]["table"], e["after"]["id"]) for e in change_events(read_topic(kafka.bootstrap, t))]
    assert rows(f"{db}-{tag}-one") == [("orders_1", 1)]
    if mode:
        # FIRST_MATCH: orders_1 stops at the first route
        assert rows(f"{db}-{tag}-all") == [("users", 2)]
        assert f"{db}-{tag}-order-1" not in topics(kafka.bootstrap)
    else:
        assert rows(f"{db}-{tag}-all") == [("orders_1", 1), ("users", 2)]
        assert rows(f"{db}-{tag}-order-1") == [("orders_1", 1)]
