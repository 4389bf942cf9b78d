#!/usr/bin/env python3
"""tests/fuzz/capture_seeds.py — captures the fuzzers' seed corpora from
real servers, so that mutation starts from what MariaDB and PostgreSQL
actually send.

Starts a private MariaDB and PostgreSQL (tests/services/*.sh, in a temp
dir, free ports), creates a table of every column type sluice decodes
(character columns and ENUM/SET members in latin1 and cp1251, so the
charset conversions are seeded too), changes rows, then writes:

  seeds/fuzz_binlog/     FORMAT_DESCRIPTION + TABLE_MAP + one ROWS event,
                         and the QUERY / GTID events, read from the
                         binlog file in fuzz_binlog.c's framing
  seeds/fuzz_pgoutput/   Relation + one Insert/Update/Delete message from
                         pg_logical_slot_peek_binary_changes (pgoutput v1)
  seeds/fuzz_pg_value/   each column's text form, and COPY ... TO STDOUT lines
  seeds/fuzz_checkpoint/ the checkpoints sluice writes while it snapshots
                         and streams each server (file sink)
(fuzz_config starts from configs/ and tests/flink_corpus/, see run.sh.)

Seeds are content-addressed (sha1 file names) and small; run it again after
a decoder learns a new type. Usage: .venv/bin/python tests/fuzz/capture_seeds.py
"""
import hashlib
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pymysql

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO / "tests" / "fuzz" / "seeds"
SLUICE = REPO / "build" / "sluice"
MAX_SEED = 4096


def put(name, data):
    if len(data) > MAX_SEED:
        return
    d = SEEDS / name
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def env_of(path):
    env = {}
    for line in Path(path).read_text().splitlines():
        if line.startswith("export "):
            line = line[len("export "):]
        if "=" in line:
            k, v = line.split("=", 1)
            env[k] = v.strip("'\"")
    return env


def service(script, directory):
    subprocess.run(["bash", str(REPO / "tests/services" / script), "start", str(directory)], check=True,
                   stdout=subprocess.DEVNULL)
    return env_of(directory / "env.sh")


def stop(script, directory):
    subprocess.run(["bash", str(REPO / "tests/services" / script), "stop", str(directory)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# ------------------------------------------------------------- MariaDB --

MYSQL_DDL = """
CREATE TABLE zoo (
  id BIGINT PRIMARY KEY, ti TINYINT, us SMALLINT UNSIGNED, mi MEDIUMINT, i INT, bu BIGINT UNSIGNED,
  f FLOAT, d DOUBLE, dec1 DECIMAL(10,2), dec2 DECIMAL(38,10), b BIT(13), y YEAR,
  dt DATE, tm TIME(3), dtm DATETIME(6), dtz DATETIME, ts TIMESTAMP(3) NULL,
  c CHAR(10) CHARACTER SET latin1, vc VARCHAR(40) CHARACTER SET utf8mb4, v1251 VARCHAR(20) CHARACTER SET cp1251,
  bin BINARY(4), vb VARBINARY(10), bl BLOB, tx TEXT CHARACTER SET latin1, j JSON,
  e ENUM('un','deux','tr\u00e8s') CHARACTER SET latin1, s SET('a','\u00e9t\u00e9','z') CHARACTER SET latin1,
  e2 ENUM('\u0434\u0430','\u043d\u0435\u0442') CHARACTER SET cp1251
) DEFAULT CHARSET=utf8mb4
"""

MYSQL_ROWS = [
    "INSERT INTO zoo VALUES (1, -128, 65535, -8388608, 2147483647, 18446744073709551615, 1.5, -2.25e300, "
    "12345678.91, -1234567890123456789012345678.0123456789, b'1010101010101', 2155, '9999-12-31', '-838:59:59.999', "
    "'1000-01-01 00:00:00.000001', '0000-00-00 00:00:00', '2038-01-19 03:14:07.999', 'caf\u00e9', '\U0001F600 x', "
    "'\u043f\u0440\u0438\u0432\u0435\u0442', x'00ff10ab', x'', x'deadbeef', 'tr\u00e8s long', "
    "'{\"a\": [1, 2.5, \"x\", null, true], \"b\": {\"c\": -1}}', 'tr\u00e8s', 'a,\u00e9t\u00e9', '\u0434\u0430')",
    "INSERT INTO zoo (id, ti, dt, ts, j, e, s) VALUES (2, 0, '2024-02-29', '1970-01-01 00:00:01', '[]', 'un', ''), "
    "(3, NULL, NULL, NULL, '\"str\"', NULL, 'z')",
    "UPDATE zoo SET vc = 'changed', dec1 = -0.01, j = JSON_SET(j, '$.b.c', 2) WHERE id = 1",
    "UPDATE zoo SET e = 'deux', tm = '12:34:56.789' WHERE id IN (2, 3)",
    "DELETE FROM zoo WHERE id = 3",
]


def binlog_events(path):
    data = path.read_bytes()
    assert data[:4] == b"\xfebin", path
    off = 4
    while off + 19 <= len(data):
        _ts, typ, _sid, size, _next, _flags = struct.unpack_from("<IBIIIH", data, off)
        if size < 19 or off + size > len(data):
            break
        yield typ, data[off + 19:off + size - 4]  # CRC32 stripped
        off += size


def frame_event(typ, body):
    return bytes([typ]) + struct.pack("<H", len(body)) + body


def capture_mariadb(tmp):
    env = service("mariadb.sh", tmp / "mariadb")
    conn = pymysql.connect(host=env["MARIADB_HOST"], port=int(env["MARIADB_PORT"]), user=env["MARIADB_USER"],
                           password=env["MARIADB_PASSWORD"], database=env["MARIADB_DATABASE"], autocommit=True,
                           charset="utf8mb4")
    with conn.cursor() as c:
        c.execute("FLUSH BINARY LOGS")
        c.execute("DROP TABLE IF EXISTS zoo")
        c.execute(MYSQL_DDL)
        for sql in MYSQL_ROWS:
            c.execute(sql)
        c.execute("SHOW BINARY LOGS")
        logs = [r[0] for r in c.fetchall()]
    conn.close()
    fde, maps, n = None, {}, 0
    for name in logs:
        for typ, body in binlog_events(tmp / "mariadb" / "data" / name):
            if typ == 15:
                fde = frame_event(typ, body)
            elif typ == 19:
                maps[body[:6]] = frame_event(typ, body)
            elif typ in (23, 24, 25, 30, 31, 32) or 166 <= typ <= 171:
                tm = maps.get(body[:6])
                if tm and fde:
                    put("fuzz_binlog", fde + tm + frame_event(typ, body))
                    n += 1
            elif typ in (2, 33, 162) and fde:
                put("fuzz_binlog", fde + frame_event(typ, body))
    # rows enough for a snapshot in many chunks (checkpoints below)
    with pymysql.connect(host=env["MARIADB_HOST"], port=int(env["MARIADB_PORT"]), user=env["MARIADB_USER"],
                         password=env["MARIADB_PASSWORD"], database=env["MARIADB_DATABASE"],
                         autocommit=True) as conn, conn.cursor() as c:
        c.execute("INSERT INTO zoo (id, vc) SELECT seq, 'x' FROM seq_10_to_30000")
    print(f"mariadb: {n} rows events", file=sys.stderr)
    return env


# ---------------------------------------------------------- PostgreSQL --

PG_DDL = """
DROP TABLE IF EXISTS zoo;
DROP TYPE IF EXISTS mood;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE zoo (
  id bigint PRIMARY KEY, s smallint, i integer, r real, d double precision, n numeric(20,6), nn numeric,
  b boolean, t text, vc varchar(10), ch char(3), by bytea, j json, jb jsonb, dt date, tm time(3),
  tmz timetz, ts timestamp, tsz timestamptz(6), iv interval, m money, u uuid, inet inet, md mood,
  ai integer[], at text[], an numeric[], ad date[], xml xml
);
ALTER TABLE zoo REPLICA IDENTITY FULL;
"""

PG_ROWS = [
    "INSERT INTO zoo VALUES (1, -32768, 2147483647, 'NaN', '-Infinity', 12345678901234.123456, "
    "'1e-300'::numeric, true, E'tab\\there\\nnew \\\\ line', 'caf\u00e9', 'ab', '\\x00ff', "
    "'{\"a\": [1, 2.5]}', '{\"b\": null}', '294276-12-31', '23:59:59.999', '12:00:00+05:30', "
    "'4713-01-01 00:00:00 BC', '294276-12-31 23:59:59.999999+00', 'P1Y2M3DT4H5M6.789S', '$1,234.56', "
    "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '::1/128', 'happy', '{1,NULL,-3}', "
    "'{\"a,b\",\"\\\\\\\"q\\\\\\\"\",NULL}', '{1.5,NaN}', '{2000-01-01,infinity}', '<a>x</a>')",
    "INSERT INTO zoo (id, dt, ts, tsz, n) VALUES (2, '-infinity', 'infinity', '1970-01-01 00:00:00+00', 'NaN')",
    "UPDATE zoo SET t = 'changed', iv = 'P-1D' WHERE id = 1",
    "DELETE FROM zoo WHERE id = 2",
]

# sl_pg_class numbers (sources/postgres/pg_types.h) of the zoo's columns
PG_CLASS = {"id": 1, "s": 1, "i": 1, "r": 2, "d": 3, "n": 4, "nn": 4, "b": 5, "t": 0, "vc": 0, "ch": 0, "by": 6,
            "j": 7, "jb": 7, "dt": 8, "tm": 9, "tmz": 10, "ts": 11, "tsz": 12, "iv": 13, "m": 14, "u": 0,
            "inet": 0, "md": 15, "ai": (16, 1), "at": (16, 0), "an": (16, 4), "ad": (16, 8), "xml": 0}


def capture_postgres(tmp):
    env = service("postgres.sh", tmp / "postgres")
    conninfo = (f"host={env['PG_HOST']} port={env['PG_PORT']} user={env['PG_USER']} "
                f"password={env['PG_PASSWORD']} dbname={env['PG_DATABASE']}")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SET DateStyle = ISO; SET TimeZone = UTC; SET IntervalStyle = iso_8601; "
                     "SET extra_float_digits = 3; SET bytea_output = hex")
        conn.execute(PG_DDL)
        conn.execute("DROP PUBLICATION IF EXISTS fuzz_pub")
        conn.execute("CREATE PUBLICATION fuzz_pub FOR TABLE zoo")
        conn.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                     "WHERE slot_name = 'fuzz_seeds'")
        conn.execute("SELECT pg_create_logical_replication_slot('fuzz_seeds', 'pgoutput')")
        for sql in PG_ROWS:
            conn.execute(sql)
        msgs = [bytes(r[0]) for r in conn.execute(
            "SELECT data FROM pg_logical_slot_get_binary_changes('fuzz_seeds', NULL, NULL, "
            "'proto_version', '1', 'publication_names', 'fuzz_pub')")]
        conn.execute("SELECT pg_drop_replication_slot('fuzz_seeds')")
        rel = None
        for m in msgs:
            framed = struct.pack("<H", len(m)) + m
            if m[:1] == b"R":
                rel = framed
            elif m[:1] in (b"I", b"U", b"D") and rel:
                put("fuzz_pgoutput", rel + framed)
            else:
                put("fuzz_pgoutput", framed)
        cols = [r[0] for r in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'zoo'::regclass AND attnum > 0 ORDER BY attnum")]
        conn.execute("INSERT INTO zoo (id, dt) VALUES (2, '2000-01-01')")
        for col in cols:
            cls = PG_CLASS[col]
            cls, elem = cls if isinstance(cls, tuple) else (cls, 0)
            for (text,) in conn.execute(f'SELECT "{col}"::text FROM zoo WHERE "{col}" IS NOT NULL'):
                put("fuzz_pg_value", bytes([cls, elem, 0]) + text.encode())
        header = bytes([128]) + bytes((PG_CLASS[c] if not isinstance(PG_CLASS[c], tuple)
                                       else PG_CLASS[c][0] + 17 * PG_CLASS[c][1]) for c in cols) + b"|"
        with conn.cursor().copy("COPY zoo TO STDOUT") as cp:
            for row in cp:
                put("fuzz_pg_value", header + bytes(row))
        conn.execute("INSERT INTO zoo (id, t) SELECT g, 'x' FROM generate_series(10, 30000) g")
    print(f"postgres: {len(msgs)} pgoutput messages", file=sys.stderr)
    return env


# ---------------------------------------------------------- checkpoints --

def checkpoints(tmp, source_yaml, name):
    """Runs sluice into a file sink and keeps every checkpoint it writes."""
    out = tmp / f"{name}.jsonl"
    cfg = tmp / f"{name}.yaml"
    cfg.write_text(f"{source_yaml}\nsink:\n  type: file\n  path: {out}\n"
                   f"pipeline:\n  name: {name}\n  checkpoint.interval: 20ms\n")
    proc = subprocess.Popen([str(SLUICE), "run", str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen, kept = set(), []
    deadline = time.time() + 4
    ck = Path(f"{out}.checkpoint")
    while time.time() < deadline:
        try:
            text = ck.read_bytes()
        except OSError:
            text = b""
        if text and text not in seen:
            seen.add(text)
            inner = json.loads(text).get("checkpoint")
            if inner:
                kept.append(json.dumps(inner, separators=(",", ":")).encode())
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    for text in kept[::max(1, len(kept) // 8)]:  # a few from the snapshot, the first and the last
        put("fuzz_checkpoint", text)
    if kept:
        put("fuzz_checkpoint", kept[-1])
    print(f"{name}: {len(seen)} checkpoints", file=sys.stderr)


def main():
    if not SLUICE.exists():
        sys.exit("build/sluice is missing: run make first")
    tmp = Path(tempfile.mkdtemp(prefix="sluice-seeds-"))
    tmp.chmod(0o755)  # the postgres server runs as its own user
    try:
        menv = capture_mariadb(tmp)
        penv = capture_postgres(tmp)
        checkpoints(tmp, f"""source:
  type: mysql
  hostname: {menv['MARIADB_HOST']}
  port: {menv['MARIADB_PORT']}
  username: {menv['MARIADB_USER']}
  password: {menv['MARIADB_PASSWORD']}
  tables: {menv['MARIADB_DATABASE']}.zoo
  server-id: 5999
  scan.incremental.snapshot.chunk.size: 100
""", "ck_mysql")
        checkpoints(tmp, f"""source:
  type: postgres
  hostname: {penv['PG_HOST']}
  port: {penv['PG_PORT']}
  username: {penv['PG_USER']}
  password: {penv['PG_PASSWORD']}
  database-name: {penv['PG_DATABASE']}
  tables: public.zoo
  slot.name: fuzz_ck
  scan.incremental.snapshot.chunk.size: 100
""", "ck_pg")
    finally:
        stop("mariadb.sh", tmp / "mariadb")
        stop("postgres.sh", tmp / "postgres")
        shutil.rmtree(tmp, ignore_errors=True)
    for d in sorted(SEEDS.iterdir()):
        print(f"{d.name}: {len(list(d.iterdir()))} seeds", file=sys.stderr)


if __name__ == "__main__":
    main()
