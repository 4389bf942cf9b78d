"""Fixtures for the black-box e2e tests: real servers, no mocks (DESIGN.md §9).

Owns the session-scoped fixtures ``mariadb``, ``postgres``, ``kafka`` and
``clickhouse`` and ``iceberg``. Each
starts its server with the matching script in tests/services/ inside a private
temporary directory, yields a :class:`Service` (a dict whose keys can also be
read as attributes) and stops the server at the end of the session, also when
tests fail or the run is interrupted. Fixtures are lazy: a server is started
only when a selected test asks for it.

Environment knobs:
  SLUICE_TEST_TMP     parent dir for the per-session temp dir (default: /tmp;
                      keep it short, unix socket paths are limited to ~100 bytes,
                      and traversable by the `postgres` user when run as root)
  SLUICE_KEEP_TMP=1   keep the temp dir (server logs) even when all tests pass;
                      it is always kept when a test failed
  SLUICE_MARIADB_DIR, SLUICE_POSTGRES_DIR, SLUICE_KAFKA_DIR, SLUICE_CLICKHOUSE_DIR
                      use a server already started with
                      ``tests/services/<svc>.sh start DIR`` (read DIR/env.sh)
                      instead of starting one; it is left running.

Run ``bash tests/services/deps.sh`` once first.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVICES_DIR = REPO_ROOT / "tests" / "services"


def sluice_binary() -> Path:
    """Path of the sluice binary built by `make` (it may not exist yet);
    SLUICE_BIN overrides it, e.g. build-asan/sluice to run the e2e tests
    under AddressSanitizer."""
    return Path(os.environ.get("SLUICE_BIN") or REPO_ROOT / "build" / "sluice")


class Service(dict):
    """Connection facts of one running server; ``svc.port`` == ``svc["port"]``.

    ``svc.env`` holds the raw variables of DIR/env.sh (e.g. MARIADB_PORT), handy
    as the environment of a subprocess such as the sluice binary.
    """

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def parse_env_file(path: Path) -> dict[str, str]:
    """Parse the ``export NAME=VALUE`` lines written by tests/services/*.sh."""
    env: dict[str, str] = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line.startswith("export "):
            continue
        for word in shlex.split(line[len("export "):]):
            name, sep, value = word.partition("=")
            if sep:
                env[name] = value
    return env


def _run_script(script: str, action: str, directory: Path, timeout: float,
                extra_env: dict[str, str] | None = None) -> None:
    cmd = ["bash", str(SERVICES_DIR / script), action, str(directory)]
    env = dict(os.environ, **(extra_env or {}))
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"{' '.join(cmd)} timed out after {timeout}s\n"
                           f"{exc.stderr or ''}") from None
    # the scripts log to stderr; show it with -s or in the report of a failure
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed with exit code "
                           f"{proc.returncode}:\n{proc.stderr}")


def _service(request, name: str, script: str, start_timeout: float, build):
    """Start (or reuse) one server, yield its Service, always stop it."""
    external = os.environ.get(f"SLUICE_{name.upper()}_DIR")
    if external:
        yield build(parse_env_file(Path(external) / "env.sh"))
        return
    directory = request.getfixturevalue("services_tmp") / name
    directory.mkdir()
    try:
        _run_script(script, "start", directory, start_timeout)
        yield build(parse_env_file(directory / "env.sh"))
    finally:
        _run_script(script, "stop", directory, 90)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def sluice_bin() -> Path:
    """build/sluice; not checked for existence (tests decide to skip/fail)."""
    return sluice_binary()


@pytest.fixture(scope="session")
def services_tmp(request):
    """One short-pathed temp dir per session holding every server's DIR."""
    parent = os.environ.get("SLUICE_TEST_TMP") or "/tmp"
    path = Path(tempfile.mkdtemp(prefix="sluice-e2e-", dir=parent))
    path.chmod(0o755)  # postgres runs as the `postgres` user when we are root
    yield path
    failed = request.session.testsfailed
    if failed or os.environ.get("SLUICE_KEEP_TMP"):
        sys.stderr.write(f"\nserver dirs and logs kept in {path}\n")
    else:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def mariadb(request):
    """MariaDB 10.11 with binlog ROW/FULL/FULL; user sluice/sluice."""
    def build(env):
        return Service(
            host=env["MARIADB_HOST"], port=int(env["MARIADB_PORT"]),
            user=env["MARIADB_USER"], password=env["MARIADB_PASSWORD"],
            database=env.get("MARIADB_DATABASE", "sluice"),
            socket=env["MARIADB_SOCKET"], dir=env["MARIADB_DIR"], env=env)
    yield from _service(request, "mariadb", "mariadb.sh", 150, build)


@pytest.fixture(scope="session")
def postgres(request):
    """PostgreSQL 15 with wal_level=logical; superuser sluice/sluice."""
    def build(env):
        svc = Service(
            host=env["PG_HOST"], port=int(env["PG_PORT"]),
            user=env["PG_USER"], password=env["PG_PASSWORD"],
            database=env["PG_DATABASE"], socket=env.get("PG_SOCKET_DIR"),
            dir=env["PG_DIR"], env=env)
        svc["conninfo"] = (f"host={svc.host} port={svc.port} user={svc.user} "
                           f"password={svc.password} dbname={svc.database}")
        return svc
    yield from _service(request, "postgres", "postgres.sh", 150, build)


@pytest.fixture(scope="session")
def kafka(request):
    """Single-node KRaft Kafka broker (real transactions)."""
    def build(env):
        host, _, port = env["KAFKA_BOOTSTRAP"].rpartition(":")
        return Service(bootstrap=env["KAFKA_BOOTSTRAP"], host=host,
                       port=int(port), dir=env["KAFKA_DIR"], env=env)
    # the first start may download the jars from Maven Central
    yield from _service(request, "kafka", "kafka.sh", 600, build)


@pytest.fixture(scope="session")
def clickhouse(request):
    """ClickHouse 26.9's engine (chDB) behind tests/services/clickhouse_front.py;
    user sluice/sluice. ``pid`` is the front's process (tests kill it)."""
    def build(env):
        return Service(url=env["CLICKHOUSE_URL"], host=env["CLICKHOUSE_HOST"],
                       port=int(env["CLICKHOUSE_PORT"]), user=env["CLICKHOUSE_USER"],
                       password=env["CLICKHOUSE_PASSWORD"], dir=env["CLICKHOUSE_DIR"],
                       pid=int(env["CLICKHOUSE_PID"]), env=env)
    yield from _service(request, "clickhouse", "clickhouse.sh", 90, build)


@pytest.fixture(scope="session")
def iceberg(request):
    """Iceberg REST catalog (iceberg-open-api's RESTCatalogServer over sqlite)
    with a local warehouse. ``pid_file`` is the server's pid (tests stop it)."""
    def build(env):
        return Service(uri=env["ICEBERG_URI"], port=int(env["ICEBERG_PORT"]),
                       warehouse=env["ICEBERG_WAREHOUSE"], dir=env["ICEBERG_DIR"], env=env)
    # the first start may download the jars from Maven Central
    yield from _service(request, "iceberg", "iceberg.sh", 600, build)


@pytest.fixture
def own_iceberg(tmp_path):
    """A REST catalog jar of the test's own, for a test that stops it or
    writes into its sqlite database from another process. The session's jar
    must never restart over its database: a started jar keeps a read
    snapshot of the database open on one pooled JDBC connection (seen: after
    a restart, its first drop failed with SQLITE_BUSY_SNAPSHOT), so that
    connection answers 404 for tables created later and fails writes; in CI
    this hit later tests at random (a load of an existing table answered
    404, DuckDB told "schema does not exist"), and a table another process
    wrote stayed invisible through it. A fresh jar on a fresh directory
    showed none of this (tests/services/iceberg.sh)."""
    d = tmp_path / "own-iceberg"
    d.mkdir()
    _run_script("iceberg.sh", "start", d, 300)
    try:
        env = parse_env_file(d / "env.sh")
        yield Service(uri=env["ICEBERG_URI"], port=int(env["ICEBERG_PORT"]),
                      warehouse=env["ICEBERG_WAREHOUSE"], dir=env["ICEBERG_DIR"], env=env)
    finally:
        _run_script("iceberg.sh", "stop", d, 90)


@pytest.fixture(autouse=True)
def _no_sluice_left_behind():
    """A test that fails half-way must not leave a sluice process running."""
    yield
    from sluice_run import kill_leftovers
    kill_leftovers()


@pytest.fixture(scope="module")
def pgdb(postgres, request):
    """A fresh PostgreSQL database for the test module that asks for it."""
    from sluice_run import pg_module_db
    return pg_module_db(postgres, request.module.__name__)


@pytest.fixture
def pg(postgres, pgdb, tmp_path):
    """A PgHarness in the module's database; drops the slots and
    publications the test created."""
    from sluice_run import PgHarness
    h = PgHarness(postgres, pgdb, tmp_path)
    yield h
    h.cleanup()
