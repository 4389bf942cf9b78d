"""The Parquet writer (formats/parquet) judged by independent readers:
files written through tests/formats/pq_write are read back with pyarrow and
DuckDB, and every value, null, list shape, field id, logical type and
statistic must come back exactly as written. No server is needed."""

from __future__ import annotations

import datetime as dt
import math
import os
import random
import uuid
from decimal import Decimal

import duckdb
import pyarrow.parquet as pq
import pytest

from lake_files import run_job

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1)

# --------------------------------------------------------------- the zoo ---
# name, type, nullable, values (as the driver takes them), expected logical
# type (pyarrow's text, prefix), physical type, DuckDB type
BIG = bytes([0x80]) + bytes(random.Random(7).getrandbits(8) for _ in range(1 << 20))
ZOO = [
    ("b", "bool", True, [True, False, None, True, False, True, None], "None", "BOOLEAN", "BOOLEAN"),
    ("i8", "int:8", True, [-128, 127, 0, None, -1, 5, 100], "Int(bitWidth=8, isSigned=true)", "INT32", "TINYINT"),
    ("u8", "uint:8", True, [0, 255, 128, None, 1, 2, 3], "Int(bitWidth=8, isSigned=false)", "INT32", "UTINYINT"),
    ("i16", "int:16", True, [-32768, 32767, 0, None, -1, 2, 3], "Int(bitWidth=16, isSigned=true)", "INT32", "SMALLINT"),
    ("u16", "uint:16", True, [0, 65535, 32768, None, 1, 2, 3], "Int(bitWidth=16, isSigned=false)", "INT32", "USMALLINT"),
    ("i32", "int32", True, [-2**31, 2**31 - 1, 0, None, -1, 1, 42], "None", "INT32", "INTEGER"),
    ("u32", "uint:32", True, [0, 2**32 - 1, 2**31, None, 1, 2, 3], "Int(bitWidth=32, isSigned=false)", "INT32", "UINTEGER"),
    ("i64", "int64", True, [-2**63, 2**63 - 1, 0, None, -1, 1, 42], "None", "INT64", "BIGINT"),
    ("u64", "uint:64", True, ["u:0", "u:18446744073709551615", "u:9223372036854775808", None, "u:1", "u:2", "u:3"],
     "Int(bitWidth=64, isSigned=false)", "INT64", "UBIGINT"),
    ("f", "float", True, [1.5, -2.25, "nan", "inf", "-inf", "-0", None], "None", "FLOAT", "FLOAT"),
    ("d", "double", True, [math.pi, -1e308, "nan", "-0", 5e-324, None, 0.1], "None", "DOUBLE", "DOUBLE"),
    ("s", "string", True, ["", "héllo", "日本語", None, "a" * 1000, "\u0000nul", "z"], "String", "BYTE_ARRAY", "VARCHAR"),
    ("j", "json", True, ['{"a": 1}', "[]", None, "null", '"x"', "{}", "3"], "JSON", "BYTE_ARRAY", "JSON"),
    ("bin", "binary", True, ["", "00ff", BIG.hex(), None, "ffff", "7f", "00"], "None", "BYTE_ARRAY", "BLOB"),
    ("fx", "fixed:3", True, ["000000", "ffffff", "7f0001", None, "800000", "010203", "000001"], "None",
     "FIXED_LEN_BYTE_ARRAY", "BLOB"),
    ("uu", "uuid", True, ["00112233445566778899aabbccddeeff", "ffffffffffffffffffffffffffffffff",
                          "00000000000000000000000000000000", None, "80000000000000000000000000000000",
                          "7fffffffffffffffffffffffffffffff", "0123456789abcdef0123456789abcdef"],
     "UUID", "FIXED_LEN_BYTE_ARRAY", "UUID"),
    ("dt", "date", True, [0, -1, -719162, 2932896, None, 19000, 1], "Date", "INT32", "DATE"),
    ("t", "time", True, [0, 86399999999, 1, None, 43200000000, 3723000004, 999999],
     "Time(isAdjustedToUTC=false, timeUnit=microseconds)", "INT64", "TIME"),
    ("ts", "timestamp", True, [0, -1, -62135596800000000, 253402300799999999, None, 1700000000123456, 1],
     "Timestamp(isAdjustedToUTC=false, timeUnit=microseconds", "INT64", "TIMESTAMP"),
    ("tz", "timestamptz", True, [0, -1, -62135596800000000, 253402300799999999, None, 1700000000123456, 1],
     "Timestamp(isAdjustedToUTC=true, timeUnit=microseconds", "INT64", "TIMESTAMP WITH TIME ZONE"),
    ("d9", "decimal:9:2", True, ["9999999.99", "-9999999.99", "0", "0.01", None, "-0.01", "123.4"],
     "Decimal(precision=9, scale=2)", "INT32", "DECIMAL(9,2)"),
    ("d18", "decimal:18:4", True, ["99999999999999.9999", "-99999999999999.9999", "0", None, "1.5", "-1", "0.0001"],
     "Decimal(precision=18, scale=4)", "INT64", "DECIMAL(18,4)"),
    ("d38", "decimal:38:10", True, ["9999999999999999999999999999.9999999999", "-9999999999999999999999999999.9999999999",
                                    "0", None, "-0.0000000001", "1", "-1"],
     "Decimal(precision=38, scale=10)", "FIXED_LEN_BYTE_ARRAY", "DECIMAL(38,10)"),
    ("d20", "decimal:20:0", True, ["18446744073709551615", "0", "1", None, "-18446744073709551615", "9223372036854775808", "7"],
     "Decimal(precision=20, scale=0)", "FIXED_LEN_BYTE_ARRAY", "DECIMAL(20,0)"),
    ("req", "int64", False, [1, 2, 3, 4, 5, 6, 7], "None", "INT64", "BIGINT"),
]
ZOO_ROWS = [list(r) for r in zip(*[c[3] for c in ZOO])]


def expected(typ: str, v):
    """The Python value pyarrow / DuckDB give back for a driver value."""
    if v is None:
        return None
    if typ.startswith("uint:") and isinstance(v, str):
        return int(v[2:])
    if typ in ("float", "double"):
        return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "-0": -0.0}.get(v, v) \
            if isinstance(v, str) else float(v)
    if typ in ("binary", "uuid") or typ.startswith("fixed"):
        return bytes.fromhex(v)
    if typ == "date":
        return dt.date(1970, 1, 1) + dt.timedelta(days=v)
    if typ == "time":
        return (dt.datetime(2000, 1, 1) + dt.timedelta(microseconds=v)).time()
    if typ == "timestamp":
        return EPOCH + dt.timedelta(microseconds=v)
    if typ == "timestamptz":
        return (EPOCH + dt.timedelta(microseconds=v)).replace(tzinfo=UTC)
    if typ.startswith("decimal"):
        return Decimal(v)
    return v


def norm(v):
    """Reader values made comparable: UUIDs as bytes, aware datetimes in
    UTC, NaN as a marker (NaN != NaN), the sign of a float zero kept."""
    if isinstance(v, uuid.UUID):
        return v.bytes
    if isinstance(v, (bytearray, memoryview)):
        return bytes(v)
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        return v.astimezone(UTC)
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if v == 0:
            return "-0.0" if math.copysign(1, v) < 0 else "0.0"
    if isinstance(v, list):
        return [norm(x) for x in v]
    return v


def columns_json(cols):
    return [{"name": c[0], "field_id": i + 1, "type": c[1], "nullable": c[2]} for i, c in enumerate(cols)]


def write(tmp_path, columns, rows, options=None, name="t.parquet"):
    path = tmp_path / name
    res = run_job("pq_write", tmp_path, {"path": str(path), "columns": columns, "rows": rows,
                                          "options": options or {}})
    return path, res


def duck():
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


# ------------------------------------------------------------------ tests ---
@pytest.mark.parametrize("codec", ["zstd", "snappy", "none"])
@pytest.mark.parametrize("page_version", [1, 2])
@pytest.mark.parametrize("dictionary", [True, False])
def test_type_zoo_reads_back_exactly(tmp_path, codec, page_version, dictionary):
    opts = {"codec": codec, "page_version": page_version}
    if not dictionary:
        opts["dict_limit"] = 0
    path, res = write(tmp_path, columns_json(ZOO), ZOO_ROWS, opts)
    assert res["num_rows"] == len(ZOO_ROWS)
    assert res["file_size"] == os.path.getsize(path)

    table = pq.read_table(path)
    assert table.column_names == [c[0] for c in ZOO]
    for name, typ, _nullable, values, *_ in ZOO:
        got = [norm(v) for v in table.column(name).to_pylist()]
        assert got == [norm(expected(typ, v)) for v in values], name

    # timestamptz as epoch microseconds: DuckDB's Python conversion of
    # aware datetimes needs pytz, which nothing else here needs
    rows = duck().execute(f"SELECT * REPLACE (epoch_us(tz) AS tz) FROM read_parquet('{path}')").fetchall()
    for i, (name, typ, _nullable, values, *_) in enumerate(ZOO):
        got = [norm(r[i]) for r in rows]
        want = values if typ == "timestamptz" else [expected(typ, v) for v in values]
        assert got == [norm(v) for v in want], name

    meta = pq.ParquetFile(path).metadata
    chunk = meta.row_group(0).column(0)
    assert chunk.compression == {"zstd": "ZSTD", "snappy": "SNAPPY", "none": "UNCOMPRESSED"}[codec]


def test_schema_field_ids_and_logical_types(tmp_path):
    path, _ = write(tmp_path, columns_json(ZOO), ZOO_ROWS)
    pf = pq.ParquetFile(path)
    arrow_schema = pf.schema_arrow
    for i, (name, _typ, nullable, _v, logical, physical, _duck) in enumerate(ZOO):
        col = pf.schema.column(i)
        assert col.physical_type == physical, name
        assert str(col.logical_type).startswith(logical), (name, str(col.logical_type))
        field = arrow_schema.field(name)
        assert field.metadata[b"PARQUET:field_id"] == str(i + 1).encode(), name
        assert field.nullable == nullable, name
    assert pf.schema.column(ZOO.index(next(c for c in ZOO if c[0] == "d38"))).length == 16
    assert pf.schema.column(ZOO.index(next(c for c in ZOO if c[0] == "d20"))).length == 9

    con = duck()
    described = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('{path}'))").fetchall())
    assert described == {c[0]: c[6] for c in ZOO}
    ids = dict(con.execute(f"SELECT name, field_id FROM parquet_schema('{path}') WHERE name != 'schema'").fetchall())
    assert ids == {c[0]: i + 1 for i, c in enumerate(ZOO)}


LIST_COLS = [
    {"name": "id", "field_id": 1, "type": "int64"},
    {"name": "li", "field_id": 2, "type": "int32", "nullable": True, "list": True, "element_id": 3,
     "element_nullable": True},
    {"name": "ls", "field_id": 4, "type": "string", "nullable": True, "list": True, "element_id": 5,
     "element_nullable": True},
    # required list of required elements (PostgreSQL NOT NULL int[] with no NULL elements)
    {"name": "lr", "field_id": 6, "type": "int64", "nullable": False, "list": True, "element_id": 7,
     "element_nullable": False},
    {"name": "ld", "field_id": 8, "type": "decimal:20:2", "nullable": True, "list": True, "element_id": 9,
     "element_nullable": True},
]


def list_rows(n, first_id, seed=1):
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        def maybe_list(make):
            k = rnd.random()
            if k < 0.1:
                return None
            if k < 0.2:
                return []
            return [None if rnd.random() < 0.15 else make() for _ in range(rnd.randint(1, 6))]
        rows.append([
            first_id + i,
            maybe_list(lambda: rnd.randint(-2**31, 2**31 - 1)),
            maybe_list(lambda: rnd.choice(["", "x", "é", "long" * rnd.randint(1, 40)])),
            [rnd.randint(-10, 10) for _ in range(rnd.randint(0, 3))],
            maybe_list(lambda: f"{rnd.randint(-10**18, 10**18)}.{rnd.randint(0, 99):02d}"),
        ])
    return rows


def expected_list_value(col, v):
    if v is None:
        return None
    return [expected(col["type"], x) for x in v]


@pytest.mark.parametrize("page_version", [1, 2])
def test_lists_with_null_elements_empty_and_null_lists(tmp_path, page_version):
    rows = [
        [0, [1, None, 3], ["a", None, ""], [1, 2], ["1.00", None]],
        [1, [], [], [], []],
        [2, None, None, [], None],
        [3, [None], [None], [5], [None]],
        [4, [7], ["日本"], [-1, -2, -3], ["-99999999999999999.99"]],
    ] + list_rows(30000, first_id=5)
    # small pages so lists straddle many page boundaries
    path, res = write(tmp_path, LIST_COLS, rows, {"page_version": page_version, "page_size": 4096})
    table = pq.read_table(path)
    for j, col in enumerate(LIST_COLS):
        want = [expected_list_value(col, r[j]) if col.get("list") else r[j] for r in rows]
        assert table.column(col["name"]).to_pylist() == want, col["name"]
    got = duck().execute(f"SELECT * FROM read_parquet('{path}') ORDER BY id").fetchall()
    for j, col in enumerate(LIST_COLS):
        want = [expected_list_value(col, r[j]) if col.get("list") else r[j] for r in rows]
        assert [r[j] for r in got] == want, col["name"]

    schema = pq.read_schema(path)
    li = schema.field("li")
    assert li.metadata[b"PARQUET:field_id"] == b"2"
    assert li.type.value_field.metadata[b"PARQUET:field_id"] == b"3"
    assert schema.field("lr").nullable is False
    assert schema.field("lr").type.value_field.nullable is False
    # the spec's 3-level LIST: name (LIST) / list (repeated) / element
    pf = pq.ParquetFile(path)
    assert pf.schema.column(1).path == "li.list.element"
    assert pf.schema.column(1).max_definition_level == 3
    assert pf.schema.column(1).max_repetition_level == 1
    assert pf.schema.column(3).max_definition_level == 1
    # stats over the whole file for the element column
    li_stats = next(c for c in res["columns"] if c["path"] == "li.list.element")
    assert li_stats["field_id"] == 3
    want_values = sum(1 if (r[1] is None or r[1] == []) else len(r[1]) for r in rows)
    want_nulls = sum(1 if (r[1] is None or r[1] == []) else sum(x is None for x in r[1]) for r in rows)
    assert li_stats["num_values"] == want_values
    assert li_stats["null_count"] == want_nulls
    els = [x for r in rows if r[1] for x in r[1] if x is not None]
    assert int.from_bytes(bytes.fromhex(li_stats["min"]), "little", signed=True) == min(els)
    assert int.from_bytes(bytes.fromhex(li_stats["max"]), "little", signed=True) == max(els)


def test_many_row_groups_and_split_offsets(tmp_path):
    n = 200_000
    rnd = random.Random(3)
    words = ["alpha", "beta", "gamma", "delta", "", "ε"]
    rows = [[i, rnd.choice(words) if i % 7 else None, rnd.randint(-10**6, 10**6)] for i in range(n)]
    cols = [{"name": "id", "field_id": 1, "type": "int64"},
            {"name": "w", "field_id": 2, "type": "string", "nullable": True},
            {"name": "v", "field_id": 3, "type": "int32"}]
    path, res = write(tmp_path, cols, rows, {"row_group_rows": 15_000})
    meta = pq.ParquetFile(path).metadata
    assert meta.num_row_groups == 14 == len(res["row_group_offsets"])
    assert meta.num_rows == n
    for g in range(meta.num_row_groups):
        rg = meta.row_group(g)
        first = rg.column(0)
        start = first.dictionary_page_offset if first.has_dictionary_page else first.data_page_offset
        assert res["row_group_offsets"][g] == start
        assert rg.num_rows == (15_000 if g < 13 else n - 13 * 15_000)
        # per-row-group statistics match the rows of that group
        part = rows[g * 15_000:(g + 1) * 15_000]
        st = rg.column(0).statistics
        assert (st.min, st.max, st.null_count) == (part[0][0], part[-1][0], 0)
        st = rg.column(1).statistics
        present = [r[1] for r in part if r[1] is not None]
        assert st.null_count == len(part) - len(present)
        assert (st.min, st.max) == (min(present, key=lambda s: s.encode()), max(present, key=lambda s: s.encode()))
    t = pq.read_table(path)
    assert t.column("id").to_pylist() == list(range(n))
    assert t.column("w").to_pylist() == [r[1] for r in rows]
    con = duck()
    assert con.execute(f"SELECT count(*), sum(v), count(w) FROM read_parquet('{path}')").fetchone() == \
        (n, sum(r[2] for r in rows), sum(r[1] is not None for r in rows))
    # row-group pruning by statistics must never lose rows
    for probe in (0, 14_999, 15_000, 100_001, n - 1):
        assert con.execute(f"SELECT v FROM read_parquet('{path}') WHERE id = {probe}").fetchall() == [(rows[probe][2],)]


def test_row_groups_cut_by_size(tmp_path):
    rnd = random.Random(5)
    rows = [[i, "%040x" % rnd.getrandbits(160)] for i in range(50_000)]
    cols = [{"name": "id", "field_id": 1, "type": "int64"},
            {"name": "h", "field_id": 2, "type": "string"}]
    path, res = write(tmp_path, cols, rows, {"row_group_size": 256 * 1024, "page_size": 64 * 1024})
    meta = pq.ParquetFile(path).metadata
    assert meta.num_row_groups == len(res["row_group_offsets"]) > 4
    for g in range(meta.num_row_groups - 1):
        # the cut happens once the buffered (compressed) pages reach the target
        assert meta.row_group(g).total_byte_size >= 200 * 1024
    assert pq.read_table(path).column("h").to_pylist() == [r[1] for r in rows]


def stats_of(path, col):
    rg = pq.ParquetFile(path).metadata.row_group(0)
    return rg.column(col).statistics


def test_statistics_follow_the_sort_order_of_each_type(tmp_path):
    path, res = write(tmp_path, columns_json(ZOO), ZOO_ROWS)
    by_path = {c["path"]: c for c in res["columns"]}
    for i, (name, typ, _n, values, *_rest) in enumerate(ZOO):
        present = [expected(typ, v) for v in values if v is not None]
        st = stats_of(path, i)
        assert st.null_count == sum(v is None for v in values), name
        assert by_path[name]["null_count"] == st.null_count
        assert by_path[name]["field_id"] == i + 1
        if typ in ("float", "double"):
            finite = [v for v in present if not math.isnan(v)]
            want_min, want_max = min(finite), max(finite)
            assert by_path[name]["nan_count"] == 1
        elif typ in ("string", "json"):
            want_min = min(present, key=lambda s: s.encode())
            want_max = max(present, key=lambda s: s.encode())
        else:
            want_min, want_max = min(present), max(present)  # bytes compare unsigned, like the spec
        got_min, got_max = norm(st.min), norm(st.max)
        if typ == "bool":
            got_min, got_max = bool(got_min), bool(got_max)
        if typ == "json":  # pyarrow gives JSON bounds as bytes
            got_min, got_max = got_min.decode(), got_max.decode()
        if typ == "binary":  # the 1 MiB value is neither bound
            assert (got_min, got_max) == (want_min, want_max), name
            continue
        if typ in ("timestamptz",):
            got_min, got_max = norm(st.min), norm(st.max)
        if typ in ("uuid",):
            got_min, got_max = bytes(got_min) if not isinstance(got_min, bytes) else got_min, got_max
        assert (got_min, got_max) == (norm(want_min), norm(want_max)), name
        # the writer's own result (what Iceberg manifests get) holds the same bytes
        assert by_path[name]["min_exact"] and by_path[name]["max_exact"]

    # signed byte order for FIXED decimals: the negative (sign bit set) is the min
    d38 = by_path["d38"]
    assert d38["min"] == (-(10**38 - 1)).to_bytes(16, "big", signed=True).hex()
    assert d38["max"] == (10**38 - 1).to_bytes(16, "big", signed=True).hex()


def test_float_zero_and_nan_statistics(tmp_path):
    cols = [{"name": "z", "field_id": 1, "type": "double", "nullable": True},
            {"name": "n", "field_id": 2, "type": "float", "nullable": True}]
    rows = [[0.0, "nan"], ["-0", "nan"], [0.0, None], ["-0", "nan"]]
    path, res = write(tmp_path, cols, rows)
    z, n = res["columns"]
    # zeros: min written as -0.0, max as +0.0 (parquet.thrift ColumnOrder)
    assert z["min"] == "0000000000000080" and z["max"] == "0000000000000000"
    assert z["nan_count"] == 0
    # all NaN: no bounds, nan_count set
    assert not n["has_bounds"] and n["nan_count"] == 3 and n["null_count"] == 1
    st = stats_of(path, 1)
    assert not st.has_min_max and st.null_count == 1
    assert duck().execute(f"SELECT count(*) FROM read_parquet('{path}') WHERE isnan(n)").fetchone() == (3,)


def test_long_string_bounds_are_truncated_but_still_bound(tmp_path):
    cols = [{"name": "s", "field_id": 1, "type": "string"},
            {"name": "b", "field_id": 2, "type": "binary"},
            {"name": "top", "field_id": 3, "type": "string"}]
    low = "A" + "é" * 100      # 2-byte characters: the cut must not split one
    high = "\U0010ffff" * 3 + "z" * 100
    mid = "m" * 200
    top = "\U0010ffff" * 10   # no shorter upper bound exists: kept whole
    rows = [[low, "00" * 100, top], [mid, "ff" * 10 + "fe" + "00" * 80, top], [high, "7f" * 3, top]]
    path, res = write(tmp_path, cols, rows, {"stats_max_len": 16})
    s, b, t = res["columns"]
    smin, smax = bytes.fromhex(s["min"]), bytes.fromhex(s["max"])
    assert smin == ("A" + "é" * 7).encode() and not s["min_exact"]
    # the last whole character of the 16-byte prefix incremented: z -> {
    assert smax == ("\U0010ffff" * 3 + "zzz{").encode() and not s["max_exact"]
    assert smax > high.encode()
    assert bytes.fromhex(b["min"]) == bytes(16) and not b["min_exact"]
    # the 16-byte prefix with its last byte incremented
    assert bytes.fromhex(b["max"]) == bytes.fromhex("ff" * 10 + "fe" + "00000000" + "01") and not b["max_exact"]
    assert bytes.fromhex(t["max"]) == top.encode() and t["max_exact"]
    assert bytes.fromhex(t["min"]) == ("\U0010ffff" * 4).encode() and not t["min_exact"]
    st = stats_of(path, 0)
    assert st.min.encode() == smin and st.max.encode() == smax
    con = duck()
    for v in (low, mid, high):
        assert con.execute(f"SELECT count(*) FROM read_parquet('{path}') WHERE s = ?", [v]).fetchone() == (1,)
    exact = con.execute(f"SELECT min_is_exact, max_is_exact FROM parquet_metadata('{path}') WHERE path_in_schema = 's'").fetchone()
    assert exact == (False, False)
    assert pq.read_table(path).column("s").to_pylist() == [low, mid, high]


def test_dictionary_falls_back_to_plain_when_it_grows_too_big(tmp_path):
    rnd = random.Random(11)
    n = 20_000
    rows = [[f"{rnd.getrandbits(64):016x}-{i}", rnd.choice(["red", "green", "blue"]), i % 100] for i in range(n)]
    cols = [{"name": "uniq", "field_id": 1, "type": "string"},
            {"name": "few", "field_id": 2, "type": "string"},
            {"name": "k", "field_id": 3, "type": "int32"}]
    path, res = write(tmp_path, cols, rows, {"dict_limit": 16 * 1024, "page_size": 8 * 1024})
    rg = pq.ParquetFile(path).metadata.row_group(0)
    uniq, few, k = rg.column(0), rg.column(1), rg.column(2)
    # the unique column starts with a dictionary, then falls back to PLAIN pages
    assert uniq.has_dictionary_page and set(uniq.encodings) >= {"PLAIN", "RLE_DICTIONARY"}
    assert few.has_dictionary_page and few.encodings == ("PLAIN", "RLE_DICTIONARY")
    assert k.has_dictionary_page
    # the dictionary page stays under the limit (entries: 4-byte length + text)
    assert uniq.total_compressed_size > 16 * 1024
    t = pq.read_table(path)
    assert t.column("uniq").to_pylist() == [r[0] for r in rows]
    assert t.column("few").to_pylist() == [r[1] for r in rows]
    assert duck().execute(f"SELECT count(DISTINCT uniq), count(DISTINCT few), sum(k) FROM read_parquet('{path}')").fetchone() == \
        (n, 3, sum(r[2] for r in rows))


def test_empty_file_footer_metadata_and_sizes(tmp_path):
    cols = [{"name": "a", "field_id": 7, "type": "string", "nullable": True}]
    path, res = write(tmp_path, cols, [], {"kv": {"iceberg.schema": '{"type":"struct"}', "k": "v"}})
    pf = pq.ParquetFile(path)
    assert pf.metadata.num_rows == 0 and pf.metadata.num_row_groups == 0
    assert pf.metadata.metadata[b"iceberg.schema"] == b'{"type":"struct"}'
    assert pf.metadata.created_by == "sluice"
    assert res["row_group_offsets"] == [] and not res["columns"][0]["has_bounds"]
    assert duck().execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchone() == (0,)

    path2, res2 = write(tmp_path, cols, [["x"], [None]], name="u.parquet")
    col = pq.ParquetFile(path2).metadata.row_group(0).column(0)
    assert res2["columns"][0]["compressed_size"] == col.total_compressed_size
    assert res2["columns"][0]["uncompressed_size"] == col.total_uncompressed_size
    assert res2["columns"][0]["num_values"] == col.num_values == 2


def test_abort_leaves_no_file(tmp_path):
    path = tmp_path / "gone.parquet"
    out = run_job("pq_write", tmp_path, {"path": str(path), "columns": [{"name": "a", "type": "int32"}],
                                         "rows": [[1], [2], [3]], "abort_at_row": 2})
    assert out == {"aborted": True}
    assert not path.exists()


@pytest.mark.parametrize("column,value,message", [
    ({"name": "d", "type": "decimal:5:2"}, "1234.5",
     'parquet: column "d": \'1234.5\' has more digits than decimal(5,2)'),
    ({"name": "d", "type": "decimal:5:2"}, "1.234",
     'parquet: column "d": \'1.234\' has more fraction digits than decimal(5,2)'),
    ({"name": "d", "type": "decimal:5:2"}, "NaN",
     'parquet: column "d": \'NaN\' is not a number that fits decimal(5,2)'),
    ({"name": "n", "type": "int32"}, None, 'parquet: column "n" is not nullable, given null'),
    ({"name": "x", "type": "uint:32"}, -1, 'parquet: column "x": -1 does not fit its 32-bit type'),
    ({"name": "f", "type": "fixed:4"}, "00", 'parquet: column "f" holds 4 bytes per value, given 1'),
])
def test_bad_values_fail_with_the_column_named(tmp_path, column, value, message):
    path = tmp_path / "bad.parquet"
    out = run_job("pq_write", tmp_path, {"path": str(path), "columns": [column], "rows": [[value]]},
                  expect_ok=False)
    assert out == {"error": message}
    assert not path.exists()
