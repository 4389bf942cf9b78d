"""Proofs that the real test servers do what sluice's e2e tests rely on.

Owns the guarantees behind tests/services/*.sh: MariaDB writes full ROW
images with metadata to a binlog readable over the replication protocol,
PostgreSQL decodes logical changes from a slot (SQL and replication
connections), and Kafka really implements transactions (aborted records are
hidden from read_committed consumers — what librdkafka's mock cannot do).
Each test asserts exact values, so a misconfigured server makes it fail.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid
from pathlib import Path

import pytest


def _marker(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# --------------------------------------------------------------------------
# MariaDB
# --------------------------------------------------------------------------

def _mariadb_connect(svc, **kw):
    import pymysql
    return pymysql.connect(host=svc.host, port=svc.port, user=svc.user,
                           password=svc.password, database=svc.database,
                           autocommit=True, connect_timeout=10, **kw)


def test_mariadb_binlog_settings_and_accounts(mariadb):
    conn = _mariadb_connect(mariadb)
    with conn, conn.cursor() as cur:
        cur.execute("SHOW GLOBAL VARIABLES WHERE Variable_name IN ("
                    "'log_bin','binlog_format','binlog_row_image',"
                    "'binlog_row_metadata','server_id','bind_address')")
        got = dict(cur.fetchall())
        assert got == {"log_bin": "ON", "binlog_format": "ROW",
                       "binlog_row_image": "FULL", "binlog_row_metadata": "FULL",
                       "server_id": "1", "bind_address": "127.0.0.1"}
        cur.execute("SELECT VERSION()")
        assert cur.fetchone()[0].startswith("10.11."), "expected MariaDB 10.11"
        cur.execute("SHOW GRANTS FOR CURRENT_USER()")
        grants = " ".join(row[0] for row in cur.fetchall())
        assert "GRANT ALL PRIVILEGES ON *.* TO `sluice`@`%`" in grants
        # what a binlog client needs (both implied by ALL PRIVILEGES)
        cur.execute("SHOW MASTER STATUS")
        assert cur.fetchone()[0].startswith("binlog.")

    # wrong password is refused (proves password auth is really in use)
    import pymysql
    with pytest.raises(pymysql.err.OperationalError) as err:
        pymysql.connect(host=mariadb.host, port=mariadb.port, user=mariadb.user,
                        password="not-the-password", connect_timeout=10)
    assert err.value.args[0] == 1045  # ER_ACCESS_DENIED_ERROR

    if os.geteuid() == 0:
        # root over the socket without password (unix_socket auth)
        out = subprocess.run(
            ["mariadb", "--no-defaults", f"--socket={mariadb.socket}", "-u", "root",
             "-N", "-e", "SELECT CURRENT_USER()"],
            capture_output=True, text=True, timeout=30, check=True).stdout
        assert out.strip() == "root@localhost"


def _binlog_rows(svc, start_file: str, start_pos: int) -> str:
    cmd = ["mariadb-binlog", "--no-defaults", "--read-from-remote-server",
           f"--host={svc.host}", f"--port={svc.port}", f"--user={svc.user}",
           f"--password={svc.password}", "--base64-output=decode-rows", "-v",
           f"--start-position={start_pos}", "--to-last-log", start_file]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _row_event(text: str, verb: str, table: str) -> list[list[str]]:
    """The '###' pseudo-SQL blocks of row events `verb` on `table`."""
    blocks, current = [], None
    for line in text.splitlines():
        if line.startswith(f"### {verb} `sluice`.`{table}`"):
            current = []
            blocks.append(current)
        elif line.startswith("###") and current is not None:
            current.append(line[3:].strip())
        else:
            current = None
    return blocks


def test_mariadb_row_events_in_binlog(mariadb):
    table = "proof_" + uuid.uuid4().hex[:8]
    note = _marker("binlog-proof")
    conn = _mariadb_connect(mariadb)
    with conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {table} (id INT PRIMARY KEY, note VARCHAR(64),"
                    " amount DECIMAL(10,2)) ENGINE=InnoDB")
        cur.execute("SHOW MASTER STATUS")
        start_file, start_pos = cur.fetchone()[:2]
        cur.execute(f"INSERT INTO {table} VALUES (1, %s, 12.34)", (note,))
        cur.execute(f"UPDATE {table} SET amount = 56.78 WHERE id = 1")

    text = _binlog_rows(mariadb, start_file, start_pos)
    # MariaDB also logs the statement text in an Annotate_rows event ("#Q>"),
    # so the value alone proves nothing: check the decoded row events.
    inserts = _row_event(text, "INSERT INTO", table)
    assert inserts == [["SET", "@1=1", f"@2='{note}'", "@3=12.34"]], text[-4000:]
    # FULL row image: the before image carries the unchanged columns too
    updates = _row_event(text, "UPDATE", table)
    assert updates == [["WHERE", "@1=1", f"@2='{note}'", "@3=12.34",
                        "SET", "@1=1", f"@2='{note}'", "@3=56.78"]], text[-4000:]
    assert "Write_rows" in text and "Update_rows" in text


# --------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------

def _pg_connect(svc, **kw):
    import psycopg
    return psycopg.connect(svc.conninfo, autocommit=True, connect_timeout=10, **kw)


def _pg_bin(name: str) -> str:
    for d in ("/usr/lib/postgresql/15/bin",):
        if Path(d, name).exists():
            return str(Path(d, name))
    return name


def test_postgres_settings_and_role(postgres):
    with _pg_connect(postgres) as conn:
        settings = {name: conn.execute(f"SHOW {name}").fetchone()[0]
                    for name in ("wal_level", "max_replication_slots",
                                 "max_wal_senders", "server_version_num")}
        assert settings["wal_level"] == "logical"
        assert settings["max_replication_slots"] == "10"
        assert settings["max_wal_senders"] == "10"
        assert settings["server_version_num"].startswith("15")
        row = conn.execute("SELECT rolsuper, rolreplication FROM pg_roles"
                           " WHERE rolname = current_user").fetchone()
        assert row == (True, True)
        assert conn.execute("SELECT current_database()").fetchone()[0] == "sluice"

    import psycopg
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(host=postgres.host, port=postgres.port, user=postgres.user,
                        password="not-the-password", dbname=postgres.database,
                        connect_timeout=10)


def test_postgres_logical_decoding_from_slot(postgres):
    table = "proof_" + uuid.uuid4().hex[:8]
    slot = "slot_" + uuid.uuid4().hex[:8]
    note = _marker("wal-proof")
    with _pg_connect(postgres) as conn:
        conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, note text)")
        conn.execute("SELECT pg_create_logical_replication_slot(%s, 'test_decoding')",
                     (slot,))
        try:
            conn.execute(f"INSERT INTO {table} VALUES (1, %s)", (note,))
            changes = [r[0] for r in conn.execute(
                "SELECT data FROM pg_logical_slot_get_changes(%s, NULL, NULL)",
                (slot,)).fetchall()]
        finally:
            conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
    assert len(changes) == 3, changes
    assert changes[0].startswith("BEGIN ")
    assert changes[1] == (f"table public.{table}: INSERT: id[integer]:1 "
                          f"note[text]:'{note}'")
    assert changes[2].startswith("COMMIT ")


def test_postgres_pgoutput_over_replication_connection(postgres, tmp_path):
    """The path sluice's WAL source takes: a TCP replication connection with a
    password, a pgoutput slot and a publication."""
    table = "proof_" + uuid.uuid4().hex[:8]
    slot = "slot_" + uuid.uuid4().hex[:8]
    note = _marker("pgoutput-proof")
    env = dict(os.environ, PGPASSWORD=postgres.password)
    base = [_pg_bin("pg_recvlogical"), "-h", postgres.host, "-p", str(postgres.port),
            "-U", postgres.user, "-d", postgres.database, "--slot", slot]
    with _pg_connect(postgres) as conn:
        conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, note text)")
        conn.execute(f"CREATE PUBLICATION pub_{table} FOR TABLE {table}")
        subprocess.run(base + ["--create-slot", "--plugin=pgoutput"], env=env,
                       check=True, capture_output=True, timeout=30)
        try:
            conn.execute(f"INSERT INTO {table} VALUES (7, %s)", (note,))
            end_lsn = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
            out_file = tmp_path / "pgoutput.bin"
            proc = subprocess.run(
                base + ["--start", "--no-loop", f"--endpos={end_lsn}",
                        "-o", "proto_version=1", "-o", f"publication_names=pub_{table}",
                        "-f", str(out_file)],
                env=env, capture_output=True, text=True, timeout=60)
            assert proc.returncode == 0, proc.stderr
        finally:
            conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
    data = out_file.read_bytes()
    # pgoutput: Relation message naming the table, then an Insert whose new
    # tuple holds the text value ('t' + int32 length + bytes)
    assert table.encode() in data
    encoded = note.encode()
    assert b"t" + len(encoded).to_bytes(4, "big") + encoded in data


# --------------------------------------------------------------------------
# Kafka
# --------------------------------------------------------------------------

def _consume_until(bootstrap: str, topic: str, isolation: str, sentinel: bytes,
                   timeout: float = 30.0) -> list[bytes]:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"proof-{uuid.uuid4().hex[:8]}",
        "isolation.level": isolation,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    })
    values: list[bytes] = []
    try:
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            values.append(msg.value())
            if msg.value() == sentinel:
                return values
        raise AssertionError(f"{isolation}: sentinel not seen in {timeout}s; got {values}")
    finally:
        consumer.close()


def test_kafka_transactions_commit_and_abort(kafka):
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    topic = "proof-" + uuid.uuid4().hex[:8]
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
    for fut in admin.create_topics([NewTopic(topic, num_partitions=1,
                                             replication_factor=1)]).values():
        fut.result(timeout=30)

    committed = _marker("committed").encode()
    aborted = _marker("aborted").encode()
    sentinel = _marker("sentinel").encode()

    producer = Producer({"bootstrap.servers": kafka.bootstrap,
                         "transactional.id": f"proof-{uuid.uuid4().hex[:8]}",
                         "linger.ms": 0})
    producer.init_transactions(60)
    producer.begin_transaction()
    producer.produce(topic, value=committed, partition=0)
    producer.commit_transaction(30)
    producer.begin_transaction()
    producer.produce(topic, value=aborted, partition=0)
    producer.flush(30)  # the record is in the log before the abort
    producer.abort_transaction(30)

    # Commit/abort markers are written asynchronously after EndTxn returns; a
    # plain record appended afterwards becomes visible to read_committed only
    # once the last stable offset passed every earlier transaction.
    plain = Producer({"bootstrap.servers": kafka.bootstrap, "linger.ms": 0})
    plain.produce(topic, value=sentinel, partition=0)
    assert plain.flush(30) == 0

    assert _consume_until(kafka.bootstrap, topic, "read_committed", sentinel) == \
        [committed, sentinel]
    assert _consume_until(kafka.bootstrap, topic, "read_uncommitted", sentinel) == \
        [committed, aborted, sentinel]
