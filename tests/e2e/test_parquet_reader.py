"""The Parquet reader (formats/parquet/pq_reader.c) judged against pyarrow:
files pyarrow writes (as pyiceberg does when it rewrites a table's data
files) are read through tests/formats/pq_read and every value, null and
list shape must equal what pyarrow reads, in the physical form. Its own
writer's files are covered by the unit test tests/unit/test_pq_reader.c.
No server is needed."""

from __future__ import annotations

import datetime as dt
import decimal
import math

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lake_files import run_tool

N = 2500


def table():
    def nul(i, v):
        return None if i % 7 == 3 else v
    return pa.table({
        "b": pa.array([nul(i, i % 3 == 0) for i in range(N)], pa.bool_()),
        "i32": pa.array([nul(i, (i * 7919) % 65536 - 32768) for i in range(N)], pa.int32()),
        "i64": pa.array([nul(i, i * -1000003 if i % 2 else i % 5) for i in range(N)], pa.int64()),
        "f": pa.array([nul(i, i / 4 - 100) for i in range(N)], pa.float32()),
        "d": pa.array([nul(i, [math.nan, math.inf, -0.0, 0.1][i % 4] if i < 8 else i / 3) for i in range(N)], pa.float64()),
        "s": pa.array([nul(i, "héllo" * (i % 3) + str(i % 50)) for i in range(N)], pa.string()),
        "bin": pa.array([nul(i, bytes([i % 256]) * (i % 5)) for i in range(N)], pa.binary()),
        "dec": pa.array([nul(i, decimal.Decimal(i * 12345 - 7_000_000).scaleb(-2)) for i in range(N)], pa.decimal128(10, 2)),
        "dec38": pa.array([nul(i, decimal.Decimal(-i * 10**30 - 1).scaleb(-5)) for i in range(N)], pa.decimal128(38, 5)),
        "dt": pa.array([nul(i, dt.date(1970, 1, 1) + dt.timedelta(days=i - 1000)) for i in range(N)], pa.date32()),
        "ts": pa.array([nul(i, i * 1_000_001 - 5) for i in range(N)], pa.timestamp("us", tz="UTC")),
        "l": pa.array([None if i % 11 == 5 else [None if (i + k) % 6 == 0 else i + k for k in range(i % 4)]
                       for i in range(N)], pa.list_(pa.int64())),
    })


def physical(col, v, length):
    """pyarrow's value as pq_read prints it"""
    if v is None:
        return None
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        if v == 0 and math.copysign(1, v) < 0:
            return "-0"
        return v
    if isinstance(v, str):
        return v.encode().hex()
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, decimal.Decimal):
        unscaled = int(v.scaleb(-v.as_tuple().exponent)) if v.as_tuple().exponent < 0 else int(v)
        return unscaled.to_bytes(length, "big", signed=True).hex()
    if isinstance(v, dt.datetime):
        return (v - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) // dt.timedelta(microseconds=1)
    if isinstance(v, dt.date):
        return (v - dt.date(1970, 1, 1)).days
    if isinstance(v, list):
        return [physical(col, x, length) for x in v]
    return v


@pytest.mark.parametrize("codec", ["zstd", "snappy", "none"])
@pytest.mark.parametrize("page_version", ["1.0", "2.0"])
@pytest.mark.parametrize("dictionary", [True, False])
def test_pyarrow_files_read_exactly(tmp_path, codec, page_version, dictionary):
    t = table()
    path = tmp_path / "t.parquet"
    pq.write_table(t, path, compression=codec, data_page_version=page_version, use_dictionary=dictionary,
                   row_group_size=1000, data_page_size=2048)
    got = run_tool("pq_read", path)
    schema = pq.ParquetFile(path).schema
    lengths = {}
    for i in range(len(schema)):
        c = schema.column(i)
        lengths[c.path.split(".")[0]] = c.length
    assert [c["name"] for c in got["columns"]] == t.column_names
    assert [c["list"] for c in got["columns"]] == [n == "l" for n in t.column_names]
    assert len(got["rows"]) == N
    want = [[physical(n, r[n], lengths.get(n)) for n in t.column_names] for r in t.to_pylist()]
    for i, (g, w) in enumerate(zip(got["rows"], want)):
        assert g == w, (i, [(n, a, b) for n, a, b in zip(t.column_names, g, w) if a != b])


def test_not_a_parquet_file_is_refused(tmp_path):
    path = tmp_path / "x.parquet"
    path.write_bytes(b"PAR1 and nothing else")
    assert run_tool("pq_read", path, expect_ok=False) == {"error": f"parquet: {path} is not a Parquet file"}
