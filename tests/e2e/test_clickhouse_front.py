"""Proofs about the ClickHouse the clickhouse sink's tests run against:
ClickHouse 26.9's engine (chDB) behind tests/services/clickhouse_front.py.

Owns the facts the sink's design rests on (DESIGN.md §8), verified on the
real engine rather than assumed: insert_deduplication_token is ignored on a
non-replicated MergeTree unless non_replicated_deduplication_window > 0;
async_insert defaults to 1; FINAL hides rows with _is_deleted = 1 and keeps
the highest version; a lightweight DELETE removes exactly the rows it
matches. And the front's own contract: settings as URL parameters, RowBinary
bodies, authentication, ClickHouse's error text.
"""

from __future__ import annotations

import struct

import pytest

from clickhouse_read import ClickHouseError, exec_, request, rows, value


def test_engine_is_clickhouse_26_9(clickhouse):
    assert value(clickhouse, "SELECT version()").startswith("26.9.")


def test_async_insert_defaults_to_on_so_inserts_must_say_off(clickhouse):
    assert value(clickhouse, "SELECT getSetting('async_insert')") == "true"
    out = request(clickhouse, "SELECT getSetting('async_insert')", settings={"async_insert": "0"})
    assert out.decode().strip() == "false"
    # a setting lasts for its request only
    assert value(clickhouse, "SELECT getSetting('async_insert')") == "true"


def test_dedup_token_needs_a_dedup_window_on_non_replicated_tables(clickhouse):
    exec_(clickhouse, "CREATE DATABASE IF NOT EXISTS facts",
          "DROP TABLE IF EXISTS facts.nowin", "DROP TABLE IF EXISTS facts.win",
          "CREATE TABLE facts.nowin (id Int64) ENGINE = MergeTree ORDER BY id",
          "CREATE TABLE facts.win (id Int64) ENGINE = MergeTree ORDER BY id "
          "SETTINGS non_replicated_deduplication_window = 10")
    for table in ("facts.nowin", "facts.win"):
        for body in (struct.pack("<q", 1), struct.pack("<q", 2)):  # different data, same token
            request(clickhouse, f"INSERT INTO {table} SETTINGS async_insert = 0, "
                                f"insert_deduplication_token = 'tok' FORMAT RowBinary", data=body)
    assert value(clickhouse, "SELECT count() FROM facts.nowin") == "2"
    # the token alone decides: the second block is dropped although it differs
    assert rows(clickhouse, "SELECT id FROM facts.win") == [{"id": "1"}]


def test_final_keeps_the_highest_version_and_hides_deleted_rows(clickhouse):
    exec_(clickhouse, "CREATE DATABASE IF NOT EXISTS facts", "DROP TABLE IF EXISTS facts.rmt",
          "CREATE TABLE facts.rmt (id Int64, v String, _version UInt128, _is_deleted UInt8) "
          "ENGINE = ReplacingMergeTree(_version, _is_deleted) ORDER BY id",
          "INSERT INTO facts.rmt SETTINGS async_insert = 0 VALUES (1, 'new', 7, 0), (2, 'gone', 5, 0)",
          "INSERT INTO facts.rmt SETTINGS async_insert = 0 VALUES (1, 'old', 6, 0), (2, 'gone', 9, 1)",
          "INSERT INTO facts.rmt SETTINGS async_insert = 0 VALUES (3, 'x', 4, 0)",
          "DELETE FROM facts.rmt WHERE _version < 5")
    assert rows(clickhouse, "SELECT id, v FROM facts.rmt FINAL ORDER BY id") == [{"id": "1", "v": "new"}]
    assert value(clickhouse, "SELECT count() FROM facts.rmt") == "4"


def test_errors_are_clickhouse_text_with_the_code_header(clickhouse):
    with pytest.raises(ClickHouseError) as e:
        request(clickhouse, "SELECT * FROM facts.no_such_table")
    assert e.value.status == 500
    assert e.value.text.startswith("Code: 60. DB::Exception: ")
    assert "(UNKNOWN_TABLE) (version 26.9." in e.value.text
    with pytest.raises(ClickHouseError) as e:
        request(clickhouse, "SELECT 1", password="wrong")
    assert e.value.status == 401
    assert e.value.text.startswith("Code: 516. DB::Exception: sluice: Authentication failed")
    with pytest.raises(ClickHouseError) as e:
        request(clickhouse, "SELECT 1", settings={"no_such_setting": "1"})
    assert "Code: 115." in e.value.text
