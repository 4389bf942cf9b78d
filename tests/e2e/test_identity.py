"""Pipeline identity and exclusivity against a real MariaDB: a checkpoint
belongs to the pipeline that committed it and to the server it was read
from, and a file sink's path belongs to one running pipeline."""

from __future__ import annotations

import itertools
import json
import subprocess

import pytest

from conftest import sluice_binary
from sluice_run import Sluice, changes, mysql_exec, mysql_pipeline_yaml, wait_events

_ids = itertools.count(6700)


@pytest.fixture
def db(mariadb, request):
    name = "id_" + request.node.name[:40]
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}",
               f"CREATE TABLE {name}.t (id INT PRIMARY KEY)")
    return name


def pipeline(mariadb, workdir, db, out, name, server_id=None):
    yaml = mysql_pipeline_yaml(mariadb, f"{db}.t", out, name=name, server_id=server_id or next(_ids))
    return Sluice(workdir, yaml, env={"TEST_MYSQL_PASSWORD": mariadb.password})


def checkpoint(out):
    return json.loads((out.parent / (out.name + ".checkpoint")).read_text())["checkpoint"]


def run_once(s, mariadb, db, key):
    """Starts s, sends one row through it, stops it."""
    s.start()
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES ({key})")
    wait_events(s.out, len(changes(s.out)) + 1 if s.out.exists() else 1, proc=s)
    assert s.stop() == 0, s.log_text()


def test_checkpoint_of_another_pipeline_is_refused(mariadb, tmp_path, db):
    out = tmp_path / "out.jsonl"
    first = pipeline(mariadb, tmp_path / "x", db, out, "twiceX")
    first.out = out
    run_once(first, mariadb, db, 1)
    assert checkpoint(out)["pipeline"] == "twiceX"
    size = out.stat().st_size
    second = pipeline(mariadb, tmp_path / "y", db, out, "twice")
    second.start(wait_for=None)
    assert second.wait_exit(30) == 2
    assert ("error the file sink's checkpoint was committed by pipeline 'twiceX', not by this pipeline 'twice' "
            f"({second.config}:19:3): two pipelines must not share a checkpoint; give this one a sink of its own "
            "(another path, topic or table), or name it 'twiceX' again if it is the same pipeline renamed"
            ) in second.log_text()
    assert out.stat().st_size == size


def test_checkpoint_is_bound_to_the_server(mariadb, tmp_path, db):
    out = tmp_path / "out.jsonl"
    s = pipeline(mariadb, tmp_path, db, out, "bound")
    s.out = out
    run_once(s, mariadb, db, 1)
    assert checkpoint(out)["source_identity"] == {"server_id": "1", "gtid_domain_id": "0"}
    size = out.stat().st_size
    # the same address now answers as another server
    mysql_exec(mariadb, "SET GLOBAL server_id = 77")
    try:
        s.start(wait_for=None)
        assert s.wait_exit(30) == 2
    finally:
        mysql_exec(mariadb, "SET GLOBAL server_id = 1")
    assert (f"error mysql source: the checkpoint was read from server (gtid_domain_id 0, server_id 1) but "
            f"{mariadb.host}:{mariadb.port} is server (gtid_domain_id 0, server_id 77); a binlog position does not "
            "carry over to another server: if the pipeline was pointed at this server on purpose, start it afresh "
            "with a checkpoint of its own (a new sink path or topic, or the old checkpoint moved away)"
            ) in s.log_text()
    assert "mysql source: streaming" not in s.log_text()
    assert out.stat().st_size == size
    # back on its own server it resumes where it stopped
    run_once(s, mariadb, db, 2)
    assert [e["after"]["id"] for e in changes(out)] == [1, 2]


def test_checkpoint_without_identity_is_accepted_and_upgraded(mariadb, tmp_path, db):
    out = tmp_path / "out.jsonl"
    s = pipeline(mariadb, tmp_path, db, out, "upgrade")
    s.out = out
    run_once(s, mariadb, db, 1)
    # what an older sluice wrote: no source_identity
    ck_path = out.parent / (out.name + ".checkpoint")
    doc = json.loads(ck_path.read_text())
    del doc["checkpoint"]["source_identity"]
    ck_path.write_text(json.dumps(doc) + "\n")
    s.start()
    s.wait_log("resuming from checkpoint")
    import time
    deadline = time.time() + 10
    while time.time() < deadline and "source_identity" not in checkpoint(out):
        time.sleep(0.1)
    assert checkpoint(out)["source_identity"] == {"server_id": "1", "gtid_domain_id": "0"}
    assert checkpoint(out)["source"] == doc["checkpoint"]["source"]
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (2)")
    wait_events(out, 2, proc=s)
    assert s.stop() == 0
    assert [e["after"]["id"] for e in changes(out)] == [1, 2]


def test_file_sink_path_is_exclusive(mariadb, tmp_path, db):
    out = tmp_path / "out.jsonl"
    a = pipeline(mariadb, tmp_path / "a", db, out, "owner")
    a.start()
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (1)")
    wait_events(out, 1, proc=a)
    b = pipeline(mariadb, tmp_path / "b", db, out, "intruder")
    b.start(wait_for=None)
    assert b.wait_exit(30) == 2
    assert (f"error file sink: {out} is locked by another running process (a pipeline writing the same path?); two "
            f"pipelines cannot share a file: give this one a path of its own ({b.config}:16:3)") in b.log_text()
    # status reads the running pipeline's checkpoint without locking or cutting anything
    size = out.stat().st_size
    st = subprocess.run([str(sluice_binary()), "status", str(a.config)], capture_output=True, text=True,
                        env=a.env, timeout=30)
    assert st.returncode == 0, st.stderr
    assert st.stdout.startswith("pipeline owner: last checkpoint {")
    ck = json.loads(st.stdout.split("last checkpoint ", 1)[1].split("\n")[0])
    assert ck["pipeline"] == "owner" and ck["source_identity"] == {"server_id": "1", "gtid_domain_id": "0"}
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (2)")
    wait_events(out, 2, proc=a)
    assert out.stat().st_size > size
    assert a.stop() == 0
    assert [e["after"]["id"] for e in changes(out)] == [1, 2]
    # once the owner has stopped the lock is free, and the checkpoint still
    # tells the intruder whose file it is
    b.start(wait_for=None)
    assert b.wait_exit(30) == 2
    assert "error the file sink's checkpoint was committed by pipeline 'owner'" in b.log_text()


# ------------------------------------------------------------------ postgres

def test_pg_checkpoint_is_bound_to_the_cluster(pg, postgres):
    from sluice_run import PG_STREAMING
    pg.exec("CREATE TABLE t (id int PRIMARY KEY)")
    s, out = pg.pipeline("public.t", "pgid")
    s.start(wait_for=PG_STREAMING)
    pg.exec("INSERT INTO t VALUES (1)")
    wait_events(out, 1, proc=s)
    assert s.stop() == 0
    sysid = str(pg.rows("SELECT system_identifier FROM pg_control_system()")[0][0])
    assert checkpoint(out)["source_identity"] == {"system_identifier": sysid}
    # a checkpoint taken from another cluster (a sink restored elsewhere)
    ck_path = out.parent / (out.name + ".checkpoint")
    original = ck_path.read_text()
    ck_path.write_text(original.replace(f'"system_identifier":"{sysid}"', '"system_identifier":"7000000000000000001"'))
    size = out.stat().st_size
    s.start(wait_for=None)
    assert s.wait_exit(30) == 2
    assert ("error postgres source: the checkpoint was read from server (system_identifier 7000000000000000001) but "
            f"{postgres.host}:{postgres.port} is server (system_identifier {sysid}); a WAL position (and the "
            "replication slot) does not carry over to another server: if the pipeline was pointed at this server on "
            "purpose, start it afresh with a checkpoint of its own (a new sink path or topic, or the old checkpoint "
            "moved away)") in s.log_text()
    assert PG_STREAMING not in s.log_text()
    assert out.stat().st_size == size
    ck_path.write_text(original)
    s.start(wait_for=PG_STREAMING)
    pg.exec("INSERT INTO t VALUES (2)")
    wait_events(out, 2, proc=s)
    assert s.stop() == 0
    assert [e["after"]["id"] for e in changes(out)] == [1, 2]


def test_pg_derived_slot_names_that_collide_are_refused(pg, postgres, tmp_path):
    from sluice_run import pg_pipeline_yaml
    pg.exec("CREATE TABLE shop_t (id int PRIMARY KEY)")

    def config(name, slot_line=None, extra=""):
        yaml = pg_pipeline_yaml(postgres, pg.db, "public.shop_t", tmp_path / name / "out.jsonl", name=name,
                                publication="pub_shop_collide", extra_source=extra)
        yaml = "\n".join(l for l in yaml.splitlines() if not l.startswith("  slot.name:"))
        if slot_line:
            yaml = yaml.replace("  publication.name:", f"  {slot_line}\n  publication.name:")
        (tmp_path / name).mkdir(exist_ok=True)
        p = tmp_path / name / "p.yaml"
        p.write_text(yaml)
        return p

    env = dict(__import__("os").environ, TEST_PG_PASSWORD=postgres.password)
    bad = config("Shop")
    for cmd in ("check", "run"):
        proc = subprocess.run([str(sluice_binary()), cmd, str(bad)], capture_output=True, text=True, env=env,
                              timeout=30)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.strip().endswith(
            f"error {bad}:21:3: pipeline name 'Shop' makes the replication slot name 'sluice_shop' only after "
            "lower-casing and replacing characters, so another pipeline whose name differs only there would share "
            "the slot and take this one's changes; set slot.name explicitly in the source (slot.name: sluice_shop "
            "keeps the slot this pipeline uses now)"), proc.stderr
    assert pg.rows("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'sluice_shop'") == [(0,)]
    # a name that is its own slot name, or an explicit slot.name, is fine
    for p in (config("shop"), config("Shop", "slot.name: sluice_shop_upper"),
              config("Shop", extra="  slot.temporary: true")):
        proc = subprocess.run([str(sluice_binary()), "check", str(p)], capture_output=True, text=True, env=env,
                              timeout=30)
        assert proc.returncode == 0, (p.read_text(), proc.stderr)
