"""Operating the postgres source: `sluice check --connect`, a role without
REPLICATION, a table whose UPDATEs could not be published, committed-offset
without a slot, a wrong password, the startup modes, and the publication
and slot sluice leaves behind."""

from __future__ import annotations

import json
import subprocess
import time

from conftest import sluice_binary
from sluice_run import PG_STREAMING, changes, pg_exec, wait_events


def run_check(s, password):
    return subprocess.run([str(sluice_binary()), "check", "--connect", str(s.config)], capture_output=True,
                          text=True, env={"TEST_PG_PASSWORD": password, "PATH": "/usr/bin:/bin"}, timeout=60)


def test_check_connect_ok(pg, postgres):
    pg.exec("CREATE TABLE IF NOT EXISTS chk (id int PRIMARY KEY)")
    s, _ = pg.pipeline("public.chk", "chk_ok", startup="initial")
    proc = run_check(s, postgres.password)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "  ok    wal_level = logical" in proc.stdout, proc.stdout
    assert "  ok    role sluice has the REPLICATION attribute" in proc.stdout, proc.stdout
    assert "FAIL" not in proc.stdout
    assert "ready" in proc.stdout
    # check creates nothing on the server
    assert not pg.rows("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'sl_chk_ok'")


def test_check_connect_role_without_replication(pg, postgres):
    pg.exec("CREATE TABLE IF NOT EXISTS chk (id int PRIMARY KEY)")
    pg_exec(postgres, "DROP ROLE IF EXISTS norepl",
            "CREATE ROLE norepl LOGIN PASSWORD 'norepl' NOREPLICATION")
    pg.exec("GRANT SELECT ON chk TO norepl")
    try:
        s, _ = pg.pipeline("public.chk", "chk_norepl", startup="initial")
        s.config.write_text(s.config.read_text().replace(f"username: {postgres.user}", "username: norepl"))
        proc = run_check(s, "norepl")
    finally:
        pg.exec("REVOKE ALL ON chk FROM norepl")
        pg_exec(postgres, "DROP ROLE IF EXISTS norepl")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "  FAIL  role norepl has the REPLICATION attribute" in proc.stdout, proc.stdout
    assert 'ALTER ROLE "norepl" WITH REPLICATION' in proc.stdout, proc.stdout
    assert "check" in proc.stderr and "failed" in proc.stderr, proc.stderr


def test_table_without_key_and_default_identity_is_refused(pg):
    pg.exec("DROP TABLE IF EXISTS nokey", "CREATE TABLE nokey (a int, b text)", "INSERT INTO nokey VALUES (1, 'x')")
    s, out = pg.pipeline("public.nokey", "nokey", startup="latest-offset")
    s.start(wait_for=None)
    assert s.wait_exit(60) == 2, s.log_text()
    log = s.log_text()
    assert ('ALTER TABLE "public"."nokey" REPLICA IDENTITY FULL' in log
            or "ALTER TABLE public.nokey REPLICA IDENTITY FULL" in log), log
    assert not out.exists() or not changes(out)
    # nothing was published: the table's UPDATEs still work
    pg.exec("UPDATE nokey SET b = 'y'")
    # with REPLICA IDENTITY FULL it is captured, keyed by the whole row
    pg.exec("ALTER TABLE nokey REPLICA IDENTITY FULL")
    s2, out2 = pg.pipeline("public.nokey", "nokey2", startup="latest-offset")
    s2.start(wait_for=PG_STREAMING)
    pg.exec("UPDATE nokey SET b = 'z'", "DELETE FROM nokey")
    evs = wait_events(out2, 2, proc=s2)
    assert s2.stop() == 0
    assert [(e["op"], e["before"], e["after"]) for e in evs] == [
        ("u", {"a": 1, "b": "y"}, {"a": 1, "b": "z"}),
        ("d", {"a": 1, "b": "z"}, None),
    ]


def test_committed_offset_without_slot(pg):
    pg.exec("CREATE TABLE IF NOT EXISTS co (id int PRIMARY KEY)")
    s, out = pg.pipeline("public.co", "co_missing", startup="committed-offset")
    s.start(wait_for=None)
    assert s.wait_exit(60) == 2, s.log_text()
    assert "pg_create_logical_replication_slot" in s.log_text(), s.log_text()
    assert not pg.rows("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'sl_co_missing'")


def test_committed_offset_with_existing_slot(pg):
    pg.exec("CREATE TABLE IF NOT EXISTS co2 (id int PRIMARY KEY)")
    # pgoutput reads the publication as of each change, so it must predate the slot's position
    pg.exec("CREATE PUBLICATION pub_co_exists FOR TABLE co2",
            "SELECT pg_create_logical_replication_slot('sl_co_exists', 'pgoutput')")
    pg.slots.add("sl_co_exists")
    pg.exec("INSERT INTO co2 VALUES (1), (2)")
    s, out = pg.pipeline("public.co2", "co_exists", startup="committed-offset")
    s.start(wait_for=PG_STREAMING)
    pg.exec("INSERT INTO co2 VALUES (3)")
    evs = wait_events(out, 3, proc=s)
    time.sleep(0.3)
    assert s.stop() == 0
    # everything after the slot's creation, including what was written before sluice started
    assert [e["after"]["id"] for e in changes(out)] == [1, 2, 3]


def test_slot_older_than_its_publication_is_a_config_error(pg):
    pg.exec("CREATE TABLE IF NOT EXISTS old_slot_t (id int PRIMARY KEY)",
            "SELECT pg_create_logical_replication_slot('sl_old_slot', 'pgoutput')")
    pg.slots.add("sl_old_slot")
    # decoded with the publication as of this WAL position: before it existed
    pg.exec("INSERT INTO old_slot_t VALUES (1)")
    s, out = pg.pipeline("public.old_slot_t", "old_slot", startup="committed-offset")
    s.start(wait_for=None)
    assert s.wait_exit(60) == 2, s.log_text()
    log = s.log_text()
    assert "replication slot 'sl_old_slot' starts (at " in log, log
    assert "before publication 'pub_old_slot' existed" in log, log
    assert "use a new slot.name (or drop this one: SELECT pg_drop_replication_slot('sl_old_slot'))" in log, log
    assert not out.exists() or not changes(out)


def test_wrong_password_names_host_and_port(pg, postgres):
    pg.exec("CREATE TABLE IF NOT EXISTS pw (id int PRIMARY KEY)")
    s, out = pg.pipeline("public.pw", "pw", password="wrong")
    s.start(wait_for=None)
    assert s.wait_exit(60) == 1, s.log_text()
    log = s.log_text()
    assert f"{postgres.host}:{postgres.port}" in log, log
    assert "password authentication failed" in log, log
    assert not out.exists() or not changes(out)


def test_latest_offset_skips_existing_rows_and_snapshot_mode_stops(pg):
    pg.exec("DROP TABLE IF EXISTS lo", "CREATE TABLE lo (id int PRIMARY KEY)",
            "INSERT INTO lo SELECT generate_series(1, 10)")
    s, out = pg.pipeline("public.lo", "lo_latest", startup="latest-offset")
    s.start(wait_for=PG_STREAMING)
    pg.exec("INSERT INTO lo VALUES (11)")
    wait_events(out, 1, proc=s)
    time.sleep(0.3)
    assert s.stop() == 0
    assert [(e["op"], e["after"]["id"]) for e in changes(out)] == [("c", 11)]
    s2, out2 = pg.pipeline("public.lo", "lo_snap", startup="snapshot")
    s2.start(wait_for=None)
    assert s2.wait_exit(60) == 0, s2.log_text()
    assert sorted((e["op"], e["after"]["id"]) for e in changes(out2)) == [("r", i) for i in range(1, 12)]
    # a snapshot-only run leaves no slot behind
    assert not pg.rows("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'sl_lo_snap'")


def test_publication_created_for_captured_tables_only(pg):
    pg.exec("CREATE TABLE IF NOT EXISTS pa (id int PRIMARY KEY)", "CREATE TABLE IF NOT EXISTS pb (id int PRIMARY KEY)",
            "CREATE TABLE IF NOT EXISTS pc (id int PRIMARY KEY)")
    s, out = pg.pipeline(r"public.p[ab]", "pubonly")
    s.start(wait_for=PG_STREAMING)
    assert s.stop() == 0
    tables = sorted(r[0] for r in pg.rows("SELECT tablename FROM pg_publication_tables WHERE pubname = 'pub_pubonly'"))
    assert tables == ["pa", "pb"]
    slot = pg.rows("SELECT plugin, slot_type, temporary FROM pg_replication_slots WHERE slot_name = 'sl_pubonly'")
    assert slot == [("pgoutput", "logical", False)]


def test_temporary_slot_is_gone_after_the_run(pg):
    pg.exec("CREATE TABLE IF NOT EXISTS tmpslot (id int PRIMARY KEY)")
    s, out = pg.pipeline("public.tmpslot", "tmpslot", extra_source="  slot.temporary: true")
    s.start(wait_for=PG_STREAMING)
    assert pg.rows("SELECT temporary FROM pg_replication_slots WHERE slot_name = 'sl_tmpslot'") == [(True,)]
    pg.exec("INSERT INTO tmpslot VALUES (1)")
    wait_events(out, 1, proc=s)
    assert s.stop() == 0
    deadline = time.time() + 10
    while pg.rows("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'sl_tmpslot'"):
        assert time.time() < deadline, "the temporary slot outlived sluice"
        time.sleep(0.2)


def test_kill9_before_the_second_checkpoint(pg):
    """sluice killed before any checkpoint but the first (the start
    position, committed before any row; architecture.md "The first
    checkpoint comes before the first row"): the next run replays from
    there, and the file holds every row exactly once, with no torn line left
    from the first run."""
    pg.exec("DROP TABLE IF EXISTS early", "CREATE TABLE early (id int PRIMARY KEY, pad text)",
            "INSERT INTO early SELECT i, repeat('x', 50) FROM generate_series(1, 100000) i")
    s, out = pg.pipeline("public.early", "early", startup="initial",
                         checkpoint_interval="10min",
                         extra_source="  scan.incremental.snapshot.chunk.size: 1000")
    s.start(wait_for=None)
    deadline = time.time() + 60
    while not out.exists() or out.stat().st_size < 1_000_000:
        assert time.time() < deadline and s.proc.poll() is None, s.log_text()
        time.sleep(0.01)
    s.kill9()
    # only the start position committed, at the file's first byte (a
    # restart cuts back to there), before any chunk
    marker = json.loads((out.parent / "out.jsonl.checkpoint").read_text())
    assert marker["file_size"] == 0, marker
    tables = marker["checkpoint"]["source"]["snapshot"]["tables"]
    assert [(t["t"], t["chunks"], t["rows"]) for t in tables] == [("public.early", 0, 0)], marker
    s.config.write_text(s.config.read_text().replace("checkpoint.interval: 10min", "checkpoint.interval: 200ms"))
    s.start(wait_for="snapshot of public.early done", timeout=120)
    pg.exec("INSERT INTO early VALUES (0, 'marker')")
    wait_events(out, 100001, proc=s, timeout=120)
    assert s.stop() == 0
    ids = [e["after"]["id"] for e in changes(out)]  # every line must parse
    assert sorted(ids) == list(range(0, 100001))


def test_check_connect_names_table_and_slot_fixes(pg, postgres):
    pg.exec("DROP TABLE IF EXISTS chk_nokey", "CREATE TABLE chk_nokey (a int)")
    s, _ = pg.pipeline("public.chk_nokey", "chk_fixes", startup="committed-offset")
    proc = run_check(s, postgres.password)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert 'ALTER TABLE "public"."chk_nokey" REPLICA IDENTITY FULL' in proc.stdout \
        or "ALTER TABLE public.chk_nokey REPLICA IDENTITY FULL" in proc.stdout, proc.stdout
    assert "SELECT pg_create_logical_replication_slot('sl_chk_fixes', 'pgoutput')" in proc.stdout, proc.stdout
    assert "2 checks failed" in proc.stderr, proc.stderr


def test_many_tables_with_long_names(pg):
    names = [f"many_{i:03d}_" + "x" * 50 for i in range(300)]
    assert all(len(n) == 59 for n in names)
    pg.exec(*[f"CREATE TABLE IF NOT EXISTS {n} (id int PRIMARY KEY)" for n in names],
            *[f"INSERT INTO {n} VALUES ({i}) ON CONFLICT DO NOTHING" for i, n in enumerate(names)])
    s, out = pg.pipeline(r"public.many_\.*", "many", startup="initial", extra_pipeline="  parallelism: 4")
    s.start(wait_for=PG_STREAMING, timeout=120)
    pg.exec(f"INSERT INTO {names[-1]} VALUES (-1)")
    wait_events(out, 301, proc=s, timeout=120)
    time.sleep(0.3)
    assert s.stop() == 0
    evs = changes(out)
    assert sorted((e["source"]["table"], e["after"]["id"]) for e in evs if e["op"] == "r") == \
        sorted((n, i) for i, n in enumerate(names))
    assert [(e["op"], e["source"]["table"], e["after"]["id"]) for e in evs if e["op"] != "r"] == \
        [("c", names[-1], -1)]
    assert pg.rows("SELECT count(*) FROM pg_publication_tables WHERE pubname = 'pub_many'") == [(300,)]
