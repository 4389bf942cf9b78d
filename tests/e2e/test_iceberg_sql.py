"""MariaDB -> iceberg sink through the SQL catalog (catalog.properties.type: sql),
over sqlite and over PostgreSQL: the iceberg_tables schema Java's JdbcCatalog
and pyiceberg's SqlCatalog share.

The readers are independent of sluice: pyiceberg's SqlCatalog on the same
database, and DuckDB's iceberg extension reading the metadata file the
catalog row points at. Inserts, updates, key changes and deletes end equal to
the source row by row; another writer's commit between two epochs is
refused with the exact reason; SIGKILLs lose and double nothing.
"""

from __future__ import annotations

import random
import time

import pytest
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import NoSuchTableError

from iceberg_read import duck_plain, duck_select
from sluice_run import Sluice, mysql_exec, mysql_rows, mysql_source_yaml, pg_exec, pg_rows

CATALOG = "lake"


class SqlCat:
    """one SQL catalog: how sluice names it and how pyiceberg opens it"""

    def __init__(self, kind, tmp_path, postgres=None, name="c"):
        self.kind = kind
        self.warehouse = tmp_path / "warehouse"
        self.warehouse.mkdir()
        if kind == "sqlite":
            self.db = tmp_path / "catalog.db"
            self.sluice_uri = f"jdbc:sqlite:{self.db}"
            self.py_uri = f"sqlite:///{self.db}"
            self.auth = ""
        else:
            self.pg = postgres
            self.dbname = f"icecat_{name}"
            pg_exec(postgres, f"DROP DATABASE IF EXISTS {self.dbname}", f"CREATE DATABASE {self.dbname}")
            self.sluice_uri = f"jdbc:postgresql://{postgres.host}:{postgres.port}/{self.dbname}"
            self.py_uri = (f"postgresql+psycopg://{postgres.user}:{postgres.password}@{postgres.host}:"
                           f"{postgres.port}/{self.dbname}")
            self.auth = (f"  catalog.properties.jdbc.user: {postgres.user}\n"
                         f"  catalog.properties.jdbc.password: {postgres.password}\n")

    def sink_yaml(self):
        return (f"  type: iceberg\n  catalog.properties.type: sql\n  catalog.properties.uri: {self.sluice_uri}\n"
                f"  catalog.properties.warehouse: {self.warehouse}\n  catalog.properties.catalog-name: {CATALOG}\n"
                + self.auth)

    def catalog(self):
        return SqlCatalog(CATALOG, uri=self.py_uri, warehouse=f"file://{self.warehouse}")

    def rows(self, sql):
        if self.kind == "sqlite":
            import sqlite3
            con = sqlite3.connect(self.db)
            try:
                return con.execute(sql).fetchall()
            finally:
                con.close()
        return [tuple(r) for r in pg_rows(self.pg, sql, database=self.dbname)]


@pytest.fixture(params=["sqlite", "postgres"])
def sqlcat(request, tmp_path):
    if request.param == "sqlite":
        return SqlCat("sqlite", tmp_path)
    return SqlCat("postgres", tmp_path, request.getfixturevalue("postgres"), name=request.node.name[5:20].lower()
                  .replace("[", "").replace("-", "_"))


def py_rows(cat, table, key="id"):
    t = cat.catalog().load_table(table)
    return sorted(t.scan().to_arrow().to_pylist(), key=lambda r: r[key])


def duck_rows(cat, table, key="id"):
    """DuckDB's iceberg extension on the metadata file the catalog row names"""
    ns, name = table.rsplit(".", 1)
    (loc,) = cat.rows(f"SELECT metadata_location FROM iceberg_tables WHERE catalog_name = '{CATALOG}' "
                      f"AND table_namespace = '{ns}' AND table_name = '{name}'")[0]
    return duck_select(duck_plain(), f"iceberg_scan('{loc}')", key)


def wait_rows(cat, table, want, proc, timeout=60):
    deadline = time.time() + timeout
    got = None
    while time.time() < deadline:
        if proc.proc.poll() is not None:
            raise AssertionError(f"sluice exited early:\n{proc.log_text()[-4000:]}")
        try:
            got = py_rows(cat, table)
            if got == want:
                return
        except Exception:  # noqa: BLE001  (no table yet)
            pass
        time.sleep(0.3)
    raise AssertionError(f"{table}: wanted {want[:5]} ({len(want)} rows), got {got and got[:5]} "
                         f"({got and len(got)} rows)\n{proc.log_text()[-3000:]}")


def pipeline(mariadb, cat, table, name, server_id):
    return f"""
{mysql_source_yaml(mariadb, table, server_id, "initial")}
sink:
{cat.sink_yaml()}
pipeline:
  name: {name}
  checkpoint.interval: 200ms
"""


def env(mariadb):
    return {"TEST_MYSQL_PASSWORD": mariadb.password}


def source(mariadb, db):
    return [{"id": r[0], "name": r[1], "n": r[2]} for r in mysql_rows(mariadb, f"SELECT id, name, n FROM {db}.t ORDER BY id")]


def make_source(mariadb, db, rows="(1, 'a', 10), (2, 'b', 20), (3, 'c', 30)"):
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.t (id INT PRIMARY KEY, name VARCHAR(20), n BIGINT)",
               f"INSERT INTO {db}.t VALUES {rows}")


def test_changes_arrive_exactly_and_pyiceberg_reads_the_catalog(mariadb, sqlcat, tmp_path):
    db = f"icesql_basic_{sqlcat.kind}"
    make_source(mariadb, db)
    s = Sluice(tmp_path / "run", pipeline(mariadb, sqlcat, f"{db}.t", f"icesql_b_{sqlcat.kind}", 6301),
               env=env(mariadb)).start()
    wait_rows(sqlcat, f"{db}.t", source(mariadb, db), s)
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (4, 'd', 40)", f"UPDATE {db}.t SET name = 'a2' WHERE id = 1",
               f"UPDATE {db}.t SET id = 30 WHERE id = 3", f"DELETE FROM {db}.t WHERE id = 2",
               f"INSERT INTO {db}.t VALUES (5, 'e', NULL)", f"UPDATE {db}.t SET n = 55 WHERE id = 5")
    want = source(mariadb, db)
    assert [r["id"] for r in want] == [1, 4, 5, 30]
    wait_rows(sqlcat, f"{db}.t", want, s)
    assert duck_rows(sqlcat, f"{db}.t") == want
    assert s.stop() == 0
    assert f"iceberg sink: connected to the Iceberg SQL catalog {CATALOG} in the " in s.log_text()
    # the catalog's rows as JdbcCatalog / SqlCatalog keep them: the table, the
    # checkpoint table, the namespaces pyiceberg created them in
    tables = sorted(sqlcat.rows("SELECT catalog_name, table_namespace, table_name, iceberg_type FROM iceberg_tables"))
    assert tables == [(CATALOG, db, "t", "TABLE"), (CATALOG, "sluice", f"icesql_b_{sqlcat.kind}", "TABLE")]
    nss = sorted(sqlcat.rows("SELECT namespace, property_key, property_value FROM iceberg_namespace_properties"))
    assert nss == [(db, "exists", "true"), ("sluice", "exists", "true")]
    cat = sqlcat.catalog()
    assert sorted(cat.list_namespaces()) == [(db,), ("sluice",)]
    t = cat.load_table(f"{db}.t")
    assert t.metadata_location.startswith(f"file://{sqlcat.warehouse}/{db}/t/metadata/")
    (prev,) = sqlcat.rows(f"SELECT previous_metadata_location FROM iceberg_tables WHERE table_name = 't'")[0]
    assert prev == t.metadata.metadata_log[-1].metadata_file
    assert [f.name for f in t.schema().fields] == ["id", "name", "n"]
    assert t.schema().identifier_field_ids == [1]
    snaps = list(t.snapshots())
    assert snaps and all(sn.summary["sluice.pipeline"] == f"icesql_b_{sqlcat.kind}" for sn in snaps)
    ck = cat.load_table(f"sluice.icesql_b_{sqlcat.kind}").properties.get("sluice.checkpoint")
    assert ck and snaps[-1].summary["sluice.checkpoint"] == ck
    # metadata files beyond write.metadata.previous-versions-max are deleted
    meta = list((sqlcat.warehouse / "sluice" / f"icesql_b_{sqlcat.kind}" / "metadata").glob("*.metadata.json"))
    assert 2 <= len(meta) <= 6
    # a restart resumes from the checkpoint and carries on exactly
    s.start()
    mysql_exec(mariadb, f"UPDATE {db}.t SET n = -1", f"INSERT INTO {db}.t VALUES (6, 'f', 6)")
    want = source(mariadb, db)
    wait_rows(sqlcat, f"{db}.t", want, s)
    # a column added mid-stream: a new schema committed through the catalog
    mysql_exec(mariadb, f"ALTER TABLE {db}.t ADD COLUMN extra VARCHAR(5)", f"INSERT INTO {db}.t VALUES (7, 'g', 7, 'x')",
               f"UPDATE {db}.t SET extra = 'y' WHERE id = 1")
    want = [{"id": r[0], "name": r[1], "n": r[2], "extra": r[3]}
            for r in mysql_rows(mariadb, f"SELECT id, name, n, extra FROM {db}.t ORDER BY id")]
    assert [r["extra"] for r in want] == ["y", None, None, None, "x", None]
    wait_rows(sqlcat, f"{db}.t", want, s)
    assert s.stop() == 0
    assert duck_rows(sqlcat, f"{db}.t") == want
    t = sqlcat.catalog().load_table(f"{db}.t")
    assert [(f.field_id, f.name) for f in t.schema().fields] == [(1, "id"), (2, "name"), (3, "n"), (4, "extra")]
    assert t.schema().schema_id == 1 and len(t.schemas()) == 2


def test_another_writer_between_epochs_is_refused(mariadb, sqlcat, tmp_path):
    import pyarrow as pa

    db = f"icesql_other_{sqlcat.kind}"
    make_source(mariadb, db, "(1, 'a', 1)")
    s = Sluice(tmp_path / "run", pipeline(mariadb, sqlcat, f"{db}.t", f"icesql_o_{sqlcat.kind}", 6302),
               env=env(mariadb)).start()
    wait_rows(sqlcat, f"{db}.t", [{"id": 1, "name": "a", "n": 1}], s)
    time.sleep(1)  # the snapshot's epochs are committed
    t = sqlcat.catalog().load_table(f"{db}.t")
    ours = t.current_snapshot().snapshot_id
    t.append(pa.Table.from_pylist([{"id": 99, "name": "theirs", "n": 0}], schema=t.schema().as_arrow()))
    theirs = sqlcat.catalog().load_table(f"{db}.t").current_snapshot().snapshot_id
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (2, 'b', 2)")
    assert s.wait_exit(60) == 1
    assert (f"iceberg sink: commit of {db}.t refused: another writer changed a table since sluice loaded it "
            f"({db}.t: branch main is snapshot {theirs}, expected snapshot {ours}); sluice must be the only "
            f"writer of its tables") in s.log_text(), s.log_text()[-3000:]
    # nothing of theirs was overwritten, nothing of sluice's half-committed
    assert [r["id"] for r in py_rows(sqlcat, f"{db}.t")] == [1, 99]
    assert [r["id"] for r in duck_rows(sqlcat, f"{db}.t")] == [1, 99]


def test_kill9_and_restart_exact(mariadb, sqlcat, tmp_path):
    db = f"icesql_kill_{sqlcat.kind}"
    make_source(mariadb, db, ", ".join(f"({i}, 'r{i}', {i})" for i in range(1, 2001)))
    s = Sluice(tmp_path / "run", pipeline(mariadb, sqlcat, f"{db}.t", f"icesql_k_{sqlcat.kind}", 6303),
               env=env(mariadb))
    rng = random.Random(41)
    nxt = 3000
    kills = 0
    for _ in range(4):
        s.start(wait_for="iceberg sink: connected", timeout=60)
        # changes land while sluice streams, then SIGKILL at a random moment
        for _ in range(rng.randint(3, 8)):
            k = rng.randint(1, nxt)
            mysql_exec(mariadb, f"UPDATE {db}.t SET n = n + 1 WHERE id = {k}",
                       f"DELETE FROM {db}.t WHERE id = {rng.randint(1, nxt)}",
                       f"INSERT INTO {db}.t VALUES ({nxt}, 'new', {nxt})")
            nxt += 1
            time.sleep(rng.random() * 0.3)
        time.sleep(rng.random())
        s.kill9()
        kills += 1
    s.start(wait_for="iceberg sink: connected", timeout=60)
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (999999, 'marker', 0)")
    want = source(mariadb, db)
    wait_rows(sqlcat, f"{db}.t", want, s, timeout=120)
    assert s.stop() == 0
    got = py_rows(sqlcat, f"{db}.t")
    assert len({r["id"] for r in got}) == len(got)
    assert duck_rows(sqlcat, f"{db}.t") == want
    assert kills == 4
    # sluice migrate reads the table back through the SQL catalog and verifies it
    import re
    s.command = "migrate"
    s.start(wait_for=None)
    assert s.wait_exit(180) == 0, s.log_text()[-4000:]
    n = len(want)
    assert re.search(rf"{db}\.t\s+{n}\s+{n}\s+[0-9a-f]{{16}}\s+[0-9a-f]{{16}}\s+ok", s.log_text()), s.log_text()[-3000:]
    assert "verification ok" in s.log_text()


def test_java_jdbc_catalog_reads_what_sluice_wrote(mariadb, own_iceberg, tmp_path):
    """The REST catalog jar keeps its tables with Java's JdbcCatalog in a
    sqlite database: sluice writing into that same database as a SQL catalog
    (the jar's catalog name) makes its tables readable through Java's
    JdbcCatalog, by pyiceberg and DuckDB over REST."""
    import iceberg_read

    iceberg = own_iceberg
    db = "icesql_java"
    make_source(mariadb, db)
    yaml = f"""
{mysql_source_yaml(mariadb, f"{db}.t", 6304, "initial")}
sink:
  type: iceberg
  catalog.properties.type: sql
  catalog.properties.uri: jdbc:sqlite:{iceberg.env["ICEBERG_CATALOG_DB"]}
  catalog.properties.warehouse: {iceberg.warehouse}
  catalog.properties.catalog-name: rest_backend
pipeline:
  name: icesql_java
  checkpoint.interval: 200ms
"""
    s = Sluice(tmp_path / "run", yaml, env=env(mariadb)).start()
    mysql_exec(mariadb, f"UPDATE {db}.t SET n = 0 WHERE id = 1", f"DELETE FROM {db}.t WHERE id = 2",
               f"INSERT INTO {db}.t VALUES (7, 'g', 7)")
    want = source(mariadb, db)
    assert [r["id"] for r in want] == [1, 3, 7]
    # wait through pyiceberg's own SqlCatalog on the same database: the jar
    # caches a table it loaded (expiring only after 30 s without access), so
    # polling it over REST while sluice commits could keep reading the first
    # snapshot it saw
    direct = SqlCatalog("rest_backend", uri=f"sqlite:///{iceberg.env['ICEBERG_CATALOG_DB']}",
                        warehouse=f"file://{iceberg.warehouse}")
    deadline, got = time.time() + 60, None
    while got != want:
        assert time.time() < deadline and s.proc.poll() is None, (got, s.log_text()[-3000:])
        time.sleep(0.3)
        try:
            got = sorted(direct.load_table(f"{db}.t").scan().to_arrow().to_pylist(), key=lambda r: r["id"])
        except NoSuchTableError:
            pass
    assert s.stop() == 0
    # Java's JdbcCatalog, first asked now, reads what sluice committed
    assert iceberg_read.py_rows(iceberg, f"{db}.t") == want
    assert iceberg_read.duck_rows(iceberg, f"{db}.t") == want
    assert iceberg_read.checkpoint(iceberg, "icesql_java")


def test_check_connect_and_configuration_errors(mariadb, tmp_path):
    import os
    import subprocess
    from sluice_run import sluice_binary

    cat = SqlCat("sqlite", tmp_path)

    def check(sink):
        p = tmp_path / "p.yaml"
        p.write_text(f"""
{mysql_source_yaml(mariadb, "icesql_chk.t", 6305, "initial")}
sink:
{sink}
pipeline:
  name: icesql_chk
""")
        return subprocess.run([str(sluice_binary()), "check", "--connect", str(p)], capture_output=True, text=True,
                              env={**os.environ, **env(mariadb)}, timeout=60)

    mysql_exec(mariadb, "DROP DATABASE IF EXISTS icesql_chk", "CREATE DATABASE icesql_chk",
               "CREATE TABLE icesql_chk.t (id INT PRIMARY KEY)")
    ok = check(cat.sink_yaml())
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert (f"  ok    the Iceberg SQL catalog {CATALOG} in the sqlite database {cat.db} holds the iceberg_tables "
            f"schema") in ok.stdout, ok.stdout
    assert "  ok    checkpoint table is created on the first run" in ok.stdout
    # the schema pyiceberg's SqlCatalog would create, ready for it
    assert sorted(cat.rows("SELECT name FROM sqlite_master WHERE type = 'table'")) == [
        ("iceberg_namespace_properties",), ("iceberg_tables",)]
    bad = check(cat.sink_yaml().replace(f"  catalog.properties.warehouse: {cat.warehouse}\n", ""))
    assert bad.returncode == 2
    assert ("iceberg sink: catalog.properties.warehouse is required with catalog.properties.type: sql (the local "
            "directory new tables go to)") in bad.stdout + bad.stderr, bad.stdout + bad.stderr
    bad = check(cat.sink_yaml().replace(cat.sluice_uri, "jdbc:mysql://127.0.0.1/x"))
    assert bad.returncode == 2
    assert ("iceberg sink: catalog.properties.uri jdbc:mysql://127.0.0.1/x names no database the SQL catalog "
            "knows: use jdbc:sqlite:<path> or jdbc:postgresql://host:port/db") in bad.stdout, bad.stdout


def test_swap_lost_to_a_concurrent_writer_is_refused(mariadb, postgres, tmp_path):
    """PostgreSQL: another writer swaps the metadata_location while sluice's
    commit is under way (its UPDATE waits for the other transaction's row
    lock, then matches no row): the whole commit rolls back, the metadata
    file sluice wrote for it is removed, and the error names the location
    sluice expected."""
    import shutil
    from sluice_run import pg_connect

    cat = SqlCat("postgres", tmp_path, postgres, name="swap")
    db = "icesql_swap"
    make_source(mariadb, db, "(1, 'a', 1)")
    s = Sluice(tmp_path / "run", pipeline(mariadb, cat, f"{db}.t", "icesql_swap", 6306), env=env(mariadb)).start()
    wait_rows(cat, f"{db}.t", [{"id": 1, "name": "a", "n": 1}], s)
    time.sleep(1)
    (old,) = cat.rows(f"SELECT metadata_location FROM iceberg_tables WHERE table_name = 't'")[0]
    meta_dir = cat.warehouse / db / "t" / "metadata"
    theirs = meta_dir / "99999-theirs.metadata.json"
    shutil.copy(meta_dir / old.rsplit("/", 1)[1], theirs)
    before = sorted(p.name for p in meta_dir.glob("*.metadata.json"))
    ck_sql = "SELECT metadata_location FROM iceberg_tables WHERE table_namespace = 'sluice'"
    ck = cat.rows(ck_sql)
    with pg_connect(postgres, database=cat.dbname, autocommit=False) as conn:
        conn.execute("UPDATE iceberg_tables SET metadata_location = %s, previous_metadata_location = %s "
                     "WHERE table_name = 't'", (f"file://{theirs}", old))
        # sluice's next commit reads the committed location (old), passes its
        # requirements, writes its file and waits on the row lock
        mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (2, 'b', 2)")
        time.sleep(3)
        assert s.proc.poll() is None
        conn.commit()
    assert s.wait_exit(60) == 1
    assert (f"iceberg sink: commit of {db}.t refused: another writer changed a table since sluice loaded it "
            f"({db}.t: its metadata_location is no longer {old} (another writer committed meanwhile)); sluice must "
            f"be the only writer of its tables") in s.log_text(), s.log_text()[-3000:]
    # rolled back: the checkpoint table did not move either, and no file of the lost commit is left
    assert sorted(p.name for p in meta_dir.glob("*.metadata.json")) == before
    assert cat.rows(ck_sql) == ck
    assert [r["id"] for r in py_rows(cat, f"{db}.t")] == [1]


def test_multi_level_namespace_with_parents_created(mariadb, sqlcat, tmp_path):
    """a route to lake.sales.t (and the checkpoint table in ops.ck): the
    namespaces and their parents exist as pyiceberg keeps them, and its
    SqlCatalog reads the table by its three-part name"""
    db = "ice_sql_mlns"
    make_source(mariadb, db)
    yaml = pipeline(mariadb, sqlcat, f"{db}.t", "ice_sql_mlns", 6220) + "  # routed\n"
    yaml = yaml.replace("pipeline:\n", f"route:\n  - source-table: {db}.t\n    sink-table: lake.sales.t\n"
                        "pipeline:\n").replace(f"catalog-name: {CATALOG}\n",
                                                f"catalog-name: {CATALOG}\n  checkpoint.namespace: ops.ck\n")
    s = Sluice(tmp_path, yaml, env=env(mariadb)).start()
    wait_rows(sqlcat, "lake.sales.t", source(mariadb, db), s)
    mysql_exec(mariadb, f"UPDATE {db}.t SET n = n + 1 WHERE id = 2", f"DELETE FROM {db}.t WHERE id = 3",
               f"INSERT INTO {db}.t VALUES (4, 'd', 40)")
    want = source(mariadb, db)
    wait_rows(sqlcat, "lake.sales.t", want, s)
    assert s.stop() == 0
    assert duck_rows(sqlcat, "lake.sales.t") == want
    cat = sqlcat.catalog()
    assert ("lake", "sales") in cat.list_namespaces(("lake",))
    assert cat.list_tables(("lake", "sales")) == [("lake", "sales", "t")]
    assert cat.load_table("ops.ck.ice_sql_mlns").properties.get("sluice.checkpoint")
    assert sqlcat.rows(f"SELECT table_namespace, table_name FROM iceberg_tables WHERE catalog_name = '{CATALOG}' "
                       "ORDER BY 1") == [("lake.sales", "t"), ("ops.ck", "ice_sql_mlns")]
    assert sorted(r[0] for r in sqlcat.rows("SELECT namespace FROM iceberg_namespace_properties WHERE "
                                            f"catalog_name = '{CATALOG}'")) == ["lake", "lake.sales", "ops", "ops.ck"]
