"""The Avro container writer and reader (formats/avro) judged by independent
readers: files written through tests/formats/avro_tool are read with
fastavro, the Apache `avro` package and DuckDB's avro extension, and the
header schema (with Iceberg's field-id / element-id / logicalType
attributes) must arrive byte for byte. Our reader is in turn judged on files
fastavro writes with every codec Iceberg writers use."""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import uuid
from decimal import Decimal
from pathlib import Path

import avro.datafile
import avro.io
import duckdb
import duckdb_extension_avro
import fastavro
import pytest

from lake_files import run_job, run_tool

UTC = dt.timezone.utc

# An Iceberg v2 manifest entry, trimmed to the shapes that matter: nested
# records, [null, T] unions, maps as arrays of key/value records
# (logicalType "map"), arrays with element-id, an empty partition record.
MANIFEST_SCHEMA = {
    "type": "record", "name": "manifest_entry", "fields": [
        {"name": "status", "type": "int", "field-id": 0},
        {"name": "snapshot_id", "type": ["null", "long"], "default": None, "field-id": 1},
        {"name": "sequence_number", "type": ["null", "long"], "default": None, "field-id": 3},
        {"name": "data_file", "field-id": 2, "type": {
            "type": "record", "name": "r2", "fields": [
                {"name": "content", "type": "int", "field-id": 134},
                {"name": "file_path", "type": "string", "field-id": 100},
                {"name": "file_format", "type": "string", "field-id": 101},
                {"name": "partition", "type": {"type": "record", "name": "r102", "fields": []},
                 "field-id": 102},
                {"name": "record_count", "type": "long", "field-id": 103},
                {"name": "file_size_in_bytes", "type": "long", "field-id": 104},
                {"name": "column_sizes", "default": None, "field-id": 108, "type": ["null", {
                    "type": "array", "logicalType": "map", "items": {
                        "type": "record", "name": "k117_v118", "fields": [
                            {"name": "key", "type": "int", "field-id": 117},
                            {"name": "value", "type": "long", "field-id": 118}]}}]},
                {"name": "lower_bounds", "default": None, "field-id": 125, "type": ["null", {
                    "type": "array", "logicalType": "map", "items": {
                        "type": "record", "name": "k126_v127", "fields": [
                            {"name": "key", "type": "int", "field-id": 126},
                            {"name": "value", "type": "bytes", "field-id": 127}]}}]},
                {"name": "split_offsets", "default": None, "field-id": 132,
                 "type": ["null", {"type": "array", "items": "long", "element-id": 133}]},
            ]}},
    ]}

ICEBERG_META = {
    "schema": json.dumps({"type": "struct", "schema-id": 0, "fields": [
        {"id": 1, "name": "id", "required": True, "type": "long"}]}),
    "partition-spec": "[]", "partition-spec-id": "0", "format-version": "2", "content": "data",
}


def manifest_records(n):
    rnd = random.Random(9)
    out = []
    for i in range(n):
        out.append({
            "status": i % 3,
            "snapshot_id": None if i % 5 == 0 else 1234567890123 + i,
            "sequence_number": i,
            "data_file": {
                "content": 0,
                "file_path": f"/warehouse/db/t/data/{i:05d}-{uuid.UUID(int=rnd.getrandbits(128))}.parquet",
                "file_format": "PARQUET",
                "partition": {},
                "record_count": rnd.randint(0, 10**9),
                "file_size_in_bytes": rnd.randint(0, 2**40),
                "column_sizes": None if i % 4 == 0 else [{"key": k, "value": rnd.randint(0, 2**33)} for k in range(1, 4)],
                "lower_bounds": [] if i % 7 == 0 else [{"key": 1, "value": rnd.getrandbits(64).to_bytes(8, "little").hex()}],
                "split_offsets": None if i % 2 else [4, 1 << 20, -1],
            },
        })
    return out


def as_python(rec):
    """The driver's JSON form (bytes as hex) as fastavro returns it."""
    rec = json.loads(json.dumps(rec))
    df = rec["data_file"]
    if df["lower_bounds"] is not None:
        for kv in df["lower_bounds"]:
            kv["value"] = bytes.fromhex(kv["value"])
    return rec


def write(tmp_path: Path, schema: dict, records: list, codec: str, meta=None, name="m.avro"):
    path = tmp_path / name
    out = run_job("avro_tool", tmp_path, {"path": str(path), "schema": json.dumps(schema),
                                          "codec": codec, "meta": meta or {}, "records": records},
                  args=("write",))
    return path, out


def duck():
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    ext = Path(duckdb_extension_avro.__file__).parent / "extensions"
    con.execute(f"LOAD '{next(ext.rglob('avro.duckdb_extension'))}'")
    return con


# the Apache avro package warns that it reads Iceberg's "map" arrays as arrays
@pytest.mark.filterwarnings("ignore::avro.errors.IgnoredLogicalType")
@pytest.mark.parametrize("codec", ["null", "deflate"])
def test_iceberg_manifest_reads_back_in_every_reader(tmp_path, codec):
    records = manifest_records(3000)  # several 64 KiB blocks
    schema_text = json.dumps(MANIFEST_SCHEMA)
    path, out = write(tmp_path, MANIFEST_SCHEMA, records, codec, ICEBERG_META)
    assert out == {"count": 3000, "size": path.stat().st_size}
    want = [as_python(r) for r in records]

    with open(path, "rb") as f:
        r = fastavro.reader(f)
        # the header schema is ours byte for byte: field-id, element-id and
        # logicalType survive (avro-c would have dropped them)
        assert r.metadata["avro.schema"] == schema_text
        assert r.metadata["avro.codec"] == codec
        for k, v in ICEBERG_META.items():
            assert r.metadata[k] == v
        assert list(r) == want

    with open(path, "rb") as f:
        rd = avro.datafile.DataFileReader(f, avro.io.DatumReader())
        assert rd.get_meta("avro.schema").decode() == schema_text
        got = list(rd)
        rd.close()
    assert got == want

    con = duck()
    rows = con.execute(f"SELECT status, snapshot_id, data_file.file_path, data_file.record_count, "
                       f"data_file.split_offsets, data_file.column_sizes FROM read_avro('{path}')").fetchall()
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in rows] == [
        (w["status"], w["snapshot_id"], w["data_file"]["file_path"], w["data_file"]["record_count"],
         w["data_file"]["split_offsets"]) for w in want]
    # DuckDB honours Iceberg's logicalType "map" on an array of key/value
    # records (proof the attribute arrived) and returns a MAP
    assert [r[5] for r in rows] == [None if w["data_file"]["column_sizes"] is None else
                                    {kv["key"]: kv["value"] for kv in w["data_file"]["column_sizes"]}
                                    for w in want]

    # and our own reader, which part 2 uses to read manifests back
    back = run_tool("avro_tool", "read", path)
    assert back["meta"]["avro.schema"] == schema_text
    assert back["meta"]["format-version"] == "2"
    assert back["records"] == json.loads(json.dumps(records))


TYPES_SCHEMA = {
    "type": "record", "name": "zoo", "namespace": "sluice.test", "fields": [
        {"name": "b", "type": "boolean"},
        {"name": "i", "type": "int"},
        {"name": "l", "type": "long"},
        {"name": "f", "type": "float"},
        {"name": "d", "type": "double"},
        {"name": "s", "type": "string"},
        {"name": "by", "type": "bytes"},
        {"name": "fx", "type": {"type": "fixed", "name": "f16", "size": 16}},
        {"name": "date", "type": {"type": "int", "logicalType": "date"}},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "dec", "type": {"type": "bytes", "logicalType": "decimal", "precision": 38, "scale": 4}},
        {"name": "e", "type": {"type": "enum", "name": "color", "symbols": ["RED", "GREEN"]}},
        {"name": "m", "type": {"type": "map", "values": ["null", "string"]}},
        {"name": "nested", "type": {"type": "array", "items": {"type": "array", "items": "int"}}},
        {"name": "again", "type": ["null", "f16"]},  # a reference to a named type
    ]}


def dec_bytes(unscaled: int) -> str:
    n = max(1, (unscaled.bit_length() + 8) // 8)
    return unscaled.to_bytes(n, "big", signed=True).hex()


def zoo_records():
    big = bytes(random.Random(4).getrandbits(8) for _ in range(200_000))
    return [
        {"b": True, "i": -2**31, "l": -2**63, "f": 1.5, "d": -1e308, "s": "", "by": "", "fx": "00" * 16,
         "date": -719162, "ts": -62135596800000000, "dec": dec_bytes(-(10**38 - 1)), "e": "RED",
         "m": {}, "nested": [], "again": None},
        {"b": False, "i": 2**31 - 1, "l": 2**63 - 1, "f": "nan", "d": math.pi, "s": "日本語 ✓",
         "by": big.hex(), "fx": "ff" * 16, "date": 2932896, "ts": 253402300799999999,
         "dec": dec_bytes(10**38 - 1), "e": "GREEN", "m": {"a": None, "": "x", "é": ""},
         "nested": [[], [1, -1], [2**31 - 1]], "again": "0123456789abcdef0123456789abcdef"},
    ]


@pytest.mark.parametrize("codec", ["null", "deflate"])
def test_every_avro_type_round_trips(tmp_path, codec):
    records = zoo_records()
    path, _ = write(tmp_path, TYPES_SCHEMA, records, codec)
    with open(path, "rb") as f:
        got = list(fastavro.reader(f))
    r0, r1 = got
    assert (r0["b"], r0["i"], r0["l"], r0["f"], r0["d"], r0["s"], r0["by"]) == \
        (True, -2**31, -2**63, 1.5, -1e308, "", b"")
    assert r0["fx"] == bytes(16) and r0["date"] == dt.date(1, 1, 1)
    assert r0["ts"] == dt.datetime(1, 1, 1, tzinfo=UTC)
    assert r0["dec"] == Decimal("-" + "9" * 34 + ".9999")
    assert (r0["e"], r0["m"], r0["nested"], r0["again"]) == ("RED", {}, [], None)
    assert math.isnan(r1["f"]) and r1["d"] == math.pi and r1["s"] == "日本語 ✓"
    assert r1["by"] == bytes.fromhex(records[1]["by"])
    assert r1["date"] == dt.date(9999, 12, 31)
    assert r1["ts"] == dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert r1["dec"] == Decimal("9" * 34 + ".9999")
    assert (r1["e"], r1["m"], r1["nested"]) == ("GREEN", {"a": None, "": "x", "é": ""}, [[], [1, -1], [2**31 - 1]])
    assert r1["again"] == bytes.fromhex(records[1]["again"])

    with open(path, "rb") as f:
        rd = avro.datafile.DataFileReader(f, avro.io.DatumReader())
        apache = list(rd)
        rd.close()
    assert apache[1]["m"] == {"a": None, "": "x", "é": ""}
    assert apache[1]["by"] == r1["by"] and apache[0]["l"] == -2**63

    back = run_tool("avro_tool", "read", path)["records"]
    assert back[0] == records[0]
    want1 = dict(records[1], f="nan")
    assert back[1] == want1


@pytest.mark.parametrize("codec", ["null", "deflate", "snappy", "zstandard"])
def test_our_reader_reads_files_other_writers_made(tmp_path, codec):
    """What Java / pyiceberg write (deflate by default, or snappy/zstd when
    configured) must read back with sl_avro_read_next."""
    schema = fastavro.parse_schema(json.loads(json.dumps(MANIFEST_SCHEMA)))
    records = [as_python(r) for r in manifest_records(2000)]
    path = tmp_path / f"theirs-{codec}.avro"
    with open(path, "wb") as f:
        fastavro.writer(f, schema, records, codec=codec, metadata={"format-version": "2"},
                        sync_interval=16000)
    back = run_tool("avro_tool", "read", path)
    assert back["meta"]["format-version"] == "2"
    assert back["meta"]["avro.codec"] == codec
    assert back["records"] == json.loads(json.dumps(manifest_records(2000)))


def test_corrupt_files_are_errors_not_crashes(tmp_path):
    path, _ = write(tmp_path, MANIFEST_SCHEMA, manifest_records(50), "deflate")
    data = path.read_bytes()
    bad = tmp_path / "bad.avro"
    bad.write_bytes(data[:-1])  # the last sync marker cut short
    out = run_tool("avro_tool", "read", bad, expect_ok=False)
    assert out == {"error": "avro: a block does not end with the file's sync marker"}
    bad.write_bytes(b"Obj\x02" + data[4:])
    out = run_tool("avro_tool", "read", bad, expect_ok=False)
    assert out == {"error": f"{bad}: avro: not an object container file (bad magic)"}
    # random damage anywhere: an error or (rarely) a clean read, never a crash
    rnd = random.Random(1)
    for _ in range(200):
        b = bytearray(data)
        for _ in range(3):
            b[rnd.randrange(len(b))] = rnd.randrange(256)
        bad.write_bytes(bytes(b))
        out = run_tool("avro_tool", "read", bad, expect_ok=False)
        assert "error" in out or "records" in out


def test_reserved_metadata_and_bad_schema_are_refused(tmp_path):
    out = run_job("avro_tool", tmp_path, {"path": str(tmp_path / "x.avro"), "schema": "{not json",
                                          "codec": "null", "meta": {}, "records": []},
                  args=("write",), expect_ok=False)
    assert out["error"].startswith("avro: the header schema is not JSON")
    out = run_job("avro_tool", tmp_path, {"path": str(tmp_path / "y.avro"), "schema": '"long"',
                                          "codec": "null", "meta": {"avro.codec": "x"}, "records": []},
                  args=("write",), expect_ok=False)
    assert out == {"error": "avro: metadata key avro.codec is reserved"}
    assert not (tmp_path / "y.avro").exists()
