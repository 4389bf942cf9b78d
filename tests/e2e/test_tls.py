"""TLS to the databases: the mysql source's ssl-mode / ssl-ca and the
postgres source's sslmode / sslrootcert against the test servers, which
tests/services/*.sh configure for TLS with a throw-away CA (DIR/tls). The
`sluice_tls` accounts are refused without TLS (MariaDB REQUIRE SSL,
PostgreSQL hostnossl reject), so a pipeline that runs with them proves
every connection it opened (binlog or walsender, snapshot readers, probes)
was encrypted. Hostname mismatches swap the servers' certificate for one
that names only db.invalid (FLUSH SSL / pg_reload_conf) and back."""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import sluice_binary
from sluice_run import (PG_STREAMING, Sluice, mysql_exec, pg_drop_slot, pg_exec, pg_rows, replay, wait_events)

_ids = itertools.count(7900)


def sluice(*args):
    return subprocess.run([str(sluice_binary()), *map(str, args)], capture_output=True, text=True, timeout=60)


def error_text(proc):
    return re.sub(r"^\S+ error\s+", "", proc.stderr.strip().splitlines()[-1])


def common_tail(extra, out, name):
    return f"""  scan.incremental.snapshot.chunk.size: 10
  connect.max-retries: 0
  heartbeat.interval: 1s
{extra}
sink:
  type: file
  path: {out}
pipeline:
  name: {name}
  parallelism: 2
  checkpoint.interval: 100ms
"""


def mysql_yaml(svc, tables, extra, user="sluice_tls", startup="latest-offset", out="/dev/null", name="tls"):
    return f"""
source:
  type: mysql
  hostname: {svc.host}
  port: {svc.port}
  username: {user}
  password: {svc.password}
  tables: {tables}
  server-id: {next(_ids)}
  scan.startup.mode: {startup}
{common_tail(extra, out, name)}"""


def pg_yaml(svc, db, tables, extra, user="sluice_tls", startup="latest-offset", out="/dev/null", name="tls"):
    return f"""
source:
  type: postgres
  hostname: {svc.host}
  port: {svc.port}
  username: {user}
  password: {svc.password}
  database-name: {db}
  tables: {tables}
  slot.name: sl_{name}
  publication.name: pub_{name}
  scan.startup.mode: {startup}
{common_tail(extra, out, name)}"""


def check(tmp_path, yaml):
    p = tmp_path / f"p{next(_ids)}.yaml"
    p.write_text(yaml)
    return sluice("check", "--connect", p), p


@contextlib.contextmanager
def served_cert(tls_dir: Path, name: str, reload):
    """The server presents tls_dir/<name>.pem until the block ends."""
    def use(n):
        shutil.copyfile(tls_dir / f"{n}.pem", tls_dir / "live.pem")
        shutil.copyfile(tls_dir / f"{n}.key", tls_dir / "live.key")
        reload()
    use(name)
    try:
        yield
    finally:
        use("server")


# ------------------------------------------------------------------ mysql

@pytest.fixture
def mtls(mariadb):
    return Path(mariadb.env["MARIADB_TLS_DIR"])


def mysql_flush_ssl(mariadb):
    mysql_exec(mariadb, "FLUSH SSL")


@pytest.mark.parametrize("mode", ["required", "verify-ca", "verify-identity"])
def test_mysql_require_ssl_user_connects(mariadb, mtls, tmp_path, mode):
    extra = f"  ssl-mode: {mode}\n" + (f"  ssl-ca: {mtls / 'ca.pem'}\n" if mode != "required" else "")
    proc, _ = check(tmp_path, mysql_yaml(mariadb, "sluice.nothing", extra))
    assert re.search(rf"ok    connection: TLSv1\.[23], \S+ \(ssl-mode {mode}\)", proc.stdout), proc.stdout
    assert "cannot connect" not in proc.stderr, proc.stderr


def test_mysql_plaintext_is_reported_and_refused_by_require_ssl(mariadb, tmp_path):
    proc, _ = check(tmp_path, mysql_yaml(mariadb, "sluice.nothing", "  ssl-mode: disabled\n", user="sluice"))
    assert "ok    connection: plaintext (ssl-mode disabled)" in proc.stdout, proc.stdout
    proc, _ = check(tmp_path, mysql_yaml(mariadb, "sluice.nothing", "  ssl-mode: disabled\n"))
    assert proc.returncode != 0
    assert error_text(proc).endswith(
        "(error 1045); fix: check username and password; an account created REQUIRE SSL (or X509) is refused "
        "the same way over plaintext: set ssl-mode to required or stricter"), proc.stderr


def test_mysql_wrong_ca_fails_naming_ssl_ca(mariadb, mtls, tmp_path):
    ca = mtls / "other-ca.pem"
    proc, _ = check(tmp_path, mysql_yaml(mariadb, "sluice.nothing", f"  ssl-mode: verify-ca\n  ssl-ca: {ca}\n"))
    assert proc.returncode == 2, proc.stderr
    assert error_text(proc) == (
        f"mysql source: cannot connect to 127.0.0.1:{mariadb.port} as sluice_tls: TLS/SSL error: self-signed "
        f"certificate in certificate chain (error 2026); fix: the server's certificate is not signed by a CA in "
        f"ssl-ca {ca} (ssl-mode verify-ca verifies it); point ssl-ca at the CA that signed the server's "
        f"certificate")


def test_mysql_hostname_mismatch_fails_verify_identity_only(mariadb, mtls, tmp_path):
    extra = f"  ssl-ca: {mtls / 'ca.pem'}\n"
    with served_cert(mtls, "otherhost", lambda: mysql_flush_ssl(mariadb)):
        proc, _ = check(tmp_path, mysql_yaml(mariadb, "sluice.nothing", extra + "  ssl-mode: verify-identity\n"))
        assert proc.returncode == 2, proc.stderr
        assert error_text(proc).endswith(
            "fix: the server's certificate is signed by a CA in ssl-ca but does not name the host '127.0.0.1' "
            "(ssl-mode verify-identity checks the name); connect by a name the certificate lists "
            "(subjectAltName), or use ssl-mode verify-ca"), proc.stderr
        proc, _ = check(tmp_path, mysql_yaml(mariadb, "sluice.nothing", extra + "  ssl-mode: verify-ca\n"))
        assert "(ssl-mode verify-ca)" in proc.stdout, proc.stderr


def test_mysql_missing_ca_file_is_a_config_error(mariadb, tmp_path):
    proc, p = check(tmp_path, mysql_yaml(mariadb, "sluice.nothing",
                                         "  ssl-mode: verify-ca\n  ssl-ca: /nonexistent/ca.pem\n"))
    assert proc.returncode == 2
    assert error_text(proc) == (f"{p}:15:3: mysql source: ssl-ca /nonexistent/ca.pem cannot be read: "
                                "No such file or directory")


def test_mysql_pipeline_over_tls_snapshot_and_binlog(mariadb, mtls, tmp_path):
    """Every connection of a run (snapshot readers, binlog, probes) as a
    REQUIRE SSL user with verify-identity: rows arrive."""
    db = "tls_pipe"
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT)",
               f"INSERT INTO {db}.t SELECT seq, seq FROM {db}.seq_1_to_50")
    out = tmp_path / "out.jsonl"
    yaml = mysql_yaml(mariadb, f"{db}.t", f"  ssl-mode: verify-identity\n  ssl-ca: {mtls / 'ca.pem'}\n",
                      startup="initial", out=out, name="tlspipe")
    s = Sluice(tmp_path, yaml).start()
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (51, 51)", f"DELETE FROM {db}.t WHERE id = 1")
    evs = wait_events(out, 52, proc=s)
    assert s.stop() == 0
    state = replay(evs)
    assert sorted(k[1] for k in state) == list(range(2, 52))


def x509_user(mariadb):
    """sluice_x509: refused without a client certificate whose subject and
    issuer are those of the services' client.pem (CN=sluice, the test CA)."""
    mysql_exec(mariadb, f"CREATE USER IF NOT EXISTS 'sluice_x509'@'%' IDENTIFIED BY '{mariadb.password}'",
               f"ALTER USER 'sluice_x509'@'%' IDENTIFIED BY '{mariadb.password}' "
               "REQUIRE SUBJECT '/CN=sluice' AND ISSUER '/CN=sluice test CA'",
               "GRANT ALL PRIVILEGES ON *.* TO 'sluice_x509'@'%'")
    return "sluice_x509"


def test_mysql_client_certificate_snapshot_and_binlog(mariadb, mtls, tmp_path):
    """A REQUIRE SUBJECT/ISSUER account: with ssl-cert/ssl-key, check reports
    TLS and every connection of a run (snapshot readers in parallel, binlog)
    gets in; without them the account is refused and the error names the
    options to set."""
    user = x509_user(mariadb)
    ca = f"  ssl-mode: verify-identity\n  ssl-ca: {mtls / 'ca.pem'}\n"
    cert = f"  ssl-cert: {mtls / 'client.pem'}\n  ssl-key: {mtls / 'client.key'}\n"
    proc, _ = check(tmp_path, mysql_yaml(mariadb, "sluice.nothing", ca + cert, user=user))
    assert re.search(r"ok    connection: TLSv1\.[23], \S+ \(ssl-mode verify-identity\)", proc.stdout), \
        proc.stdout + proc.stderr
    proc, _ = check(tmp_path, mysql_yaml(mariadb, "sluice.nothing", ca, user=user))
    assert proc.returncode != 0, proc.stderr
    assert error_text(proc).endswith(
        "(error 1045); fix: check username and password; an account created REQUIRE X509, SUBJECT or ISSUER is "
        "refused the same way without a client certificate: set ssl-cert and ssl-key"), proc.stderr
    other = f"  ssl-cert: {mtls / 'otherhost.pem'}\n  ssl-key: {mtls / 'otherhost.key'}\n"
    proc, _ = check(tmp_path, mysql_yaml(mariadb, "sluice.nothing", ca + other, user=user))
    assert error_text(proc).endswith(
        "(error 1045); fix: check username and password; an account created REQUIRE SUBJECT or ISSUER is refused "
        f"the same way when the certificate in ssl-cert {mtls / 'otherhost.pem'} has another subject or issuer"), \
        proc.stderr

    db = "tls_x509"
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT)",
               f"INSERT INTO {db}.t SELECT seq, seq FROM {db}.seq_1_to_50")
    out = tmp_path / "out.jsonl"
    s = Sluice(tmp_path, mysql_yaml(mariadb, f"{db}.t", ca + cert, user=user, startup="initial", out=out,
                                    name="tlsx509")).start()
    mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (51, 51)", f"DELETE FROM {db}.t WHERE id = 1")
    evs = wait_events(out, 52, proc=s)
    assert s.stop() == 0
    assert sum(e["op"] == "r" for e in evs) == 50
    state = replay(evs)
    assert sorted(k[1] for k in state) == list(range(2, 52))


# --------------------------------------------------------------- postgres

@pytest.fixture
def ptls(postgres):
    return Path(postgres.env["PG_TLS_DIR"])


def pg_reload(postgres):
    pg_exec(postgres, "SELECT pg_reload_conf()")
    time.sleep(0.5)  # the postmaster reloads asynchronously


@pytest.mark.parametrize("mode", ["require", "verify-ca", "verify-full"])
def test_pg_tls_user_connects(postgres, pgdb, ptls, tmp_path, mode):
    extra = f"  sslmode: {mode}\n" + (f"  sslrootcert: {ptls / 'ca.pem'}\n" if mode != "require" else "")
    pg_exec(postgres, "CREATE TABLE IF NOT EXISTS tls_c (id INT PRIMARY KEY)", database=pgdb)
    proc, _ = check(tmp_path, pg_yaml(postgres, pgdb, "public.tls_c", extra))
    assert re.search(rf"ok    connection: TLSv1\.[23], \S+ \(sslmode {mode}\)", proc.stdout), proc.stdout + proc.stderr
    assert "ok    replication connection accepted" in proc.stdout, proc.stdout


def test_pg_plaintext_is_reported(postgres, pgdb, tmp_path):
    proc, _ = check(tmp_path, pg_yaml(postgres, pgdb, "public.nothing", "  sslmode: disable\n", user="sluice"))
    assert "ok    connection: plaintext (sslmode disable)" in proc.stdout, proc.stdout


def test_pg_wrong_ca_fails_naming_sslrootcert(postgres, pgdb, ptls, tmp_path):
    ca = ptls / "other-ca.pem"
    proc, _ = check(tmp_path, pg_yaml(postgres, pgdb, "public.nothing", f"  sslmode: verify-ca\n  sslrootcert: {ca}\n"))
    assert proc.returncode == 2, proc.stderr
    assert error_text(proc) == (
        f"postgres source: cannot connect to 127.0.0.1:{postgres.port} database '{pgdb}' as 'sluice_tls' "
        f"(sslmode verify-ca): connection to server at \"127.0.0.1\", port {postgres.port} failed: SSL error: "
        f"certificate verify failed; fix: the server's certificate is not signed by a CA in sslrootcert {ca} "
        f"(sslmode verify-ca verifies it); point sslrootcert at the CA that signed the server's certificate")


def test_pg_hostname_mismatch_fails_verify_full_only(postgres, pgdb, ptls, tmp_path):
    extra = f"  sslrootcert: {ptls / 'ca.pem'}\n"
    with served_cert(ptls, "otherhost", lambda: pg_reload(postgres)):
        proc, _ = check(tmp_path, pg_yaml(postgres, pgdb, "public.nothing", extra + "  sslmode: verify-full\n"))
        assert proc.returncode == 2, proc.stderr
        assert error_text(proc).endswith(
            "fix: the server's certificate is signed by a CA in sslrootcert but does not name the host "
            "'127.0.0.1' (sslmode verify-full checks the name); connect by a name the certificate lists "
            "(subjectAltName), or use sslmode verify-ca"), proc.stderr
        proc, _ = check(tmp_path, pg_yaml(postgres, pgdb, "public.nothing", extra + "  sslmode: verify-ca\n"))
        assert "(sslmode verify-ca)" in proc.stdout, proc.stderr


def test_pg_require_against_a_server_without_tls(postgres, pgdb, tmp_path):
    pg_exec(postgres, "ALTER SYSTEM SET ssl = off")
    pg_reload(postgres)
    try:
        proc, _ = check(tmp_path, pg_yaml(postgres, pgdb, "public.nothing", "  sslmode: require\n", user="sluice"))
        assert proc.returncode == 2, proc.stderr
        assert error_text(proc).endswith(
            "fix: the server offers no TLS but sslmode require requires it; set ssl = on with ssl_cert_file and "
            "ssl_key_file in postgresql.conf and reload, or choose sslmode prefer"), proc.stderr
        proc, _ = check(tmp_path, pg_yaml(postgres, pgdb, "public.nothing", "", user="sluice"))
        assert "warn  connection: plaintext (sslmode prefer): the server offers no TLS" in proc.stdout, proc.stdout
    finally:
        pg_exec(postgres, "ALTER SYSTEM RESET ssl")
        pg_reload(postgres)


def test_pg_missing_client_key_is_a_config_error(postgres, pgdb, ptls, tmp_path):
    proc, p = check(tmp_path, pg_yaml(postgres, pgdb, "public.nothing",
                                      f"  sslmode: require\n  sslcert: {ptls / 'client.pem'}\n"))
    assert proc.returncode == 2
    assert error_text(proc) == f"{p}:17:3: postgres source: sslcert needs sslkey (a client certificate and its key)"


def test_pg_pipeline_over_tls_snapshot_and_stream(postgres, pgdb, ptls, tmp_path):
    """The walsender, the snapshot exporter and readers as a role refused
    without TLS, verify-full: rows arrive."""
    pg_exec(postgres, "DROP TABLE IF EXISTS tls_t", "CREATE TABLE tls_t (id INT PRIMARY KEY, v INT)",
            "INSERT INTO tls_t SELECT g, g FROM generate_series(1, 50) g", database=pgdb)
    out = tmp_path / "out.jsonl"
    yaml = pg_yaml(postgres, pgdb, "public.tls_t", f"  sslmode: verify-full\n  sslrootcert: {ptls / 'ca.pem'}\n",
                   startup="initial", out=out, name="tlspipe")
    s = Sluice(tmp_path, yaml).start(wait_for=PG_STREAMING)
    try:
        pg_exec(postgres, "INSERT INTO tls_t VALUES (51, 51)", "DELETE FROM tls_t WHERE id = 1", database=pgdb)
        evs = wait_events(out, 52, proc=s)
        assert s.stop() == 0
        state = replay(evs)
        assert sorted(k[1] for k in state) == list(range(2, 52))
    finally:
        s.stop()
        for (slot,) in pg_rows(postgres, "SELECT slot_name FROM pg_replication_slots WHERE slot_name = 'sl_tlspipe'"):
            pg_exec(postgres, f"SELECT pg_drop_replication_slot('{slot}')")


def pg_cert_user(postgres, ptls: Path, tmp_path: Path):
    """Role sluice_cert, admitted only by `hostssl ... cert` (TLS and a client
    certificate from the test CA whose CN is the role name, for normal and
    replication connections); returns (role, cert, key) with a certificate
    issued for it in tmp_path."""
    role = "sluice_cert"
    pg_exec(postgres, f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN "
                      f"CREATE ROLE {role}; END IF; END $$",
            f"ALTER ROLE {role} WITH LOGIN SUPERUSER REPLICATION PASSWORD '{postgres.password}'")
    hba = Path(postgres.env["PG_DIR"]) / "data" / "pg_hba.conf"
    rules = "".join(f"hostnossl {d} {role} 0.0.0.0/0 reject\nhostssl {d} {role} 127.0.0.1/32 cert\n"
                    for d in ("all", "replication"))
    text = hba.read_text()
    if rules not in text:
        hba.write_text(rules + text)  # before the md5 rules: the first matching line decides
        pg_exec(postgres, "SELECT pg_reload_conf()")
    key, csr, cert = tmp_path / f"{role}.key", tmp_path / f"{role}.csr", tmp_path / f"{role}.pem"
    for cmd in (["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key],
                ["req", "-new", "-key", key, "-subj", f"/CN={role}", "-out", csr],
                ["x509", "-req", "-in", csr, "-CA", ptls / "ca.pem", "-CAkey", ptls / "ca.key",
                 "-CAcreateserial", "-CAserial", tmp_path / "ca.srl", "-days", "1", "-out", cert]):
        subprocess.run(["openssl", *map(str, cmd)], check=True, capture_output=True)
    key.chmod(0o600)  # libpq refuses a key others can read
    return role, cert, key


def test_pg_client_certificate_snapshot_and_stream(postgres, pgdb, ptls, tmp_path):
    """A role admitted only with a client certificate (pg_hba `cert`): with
    sslcert/sslkey, check reports TLS and the walsender, the snapshot
    exporter and readers get in; without them the role is refused and the
    error names the options to set."""
    role, cert, key = pg_cert_user(postgres, ptls, tmp_path)
    pg_exec(postgres, "DROP TABLE IF EXISTS tls_x",
            "CREATE TABLE tls_x (id INT PRIMARY KEY, v INT)",
            "INSERT INTO tls_x SELECT g, g FROM generate_series(1, 50) g", database=pgdb)
    ca = f"  sslmode: verify-full\n  sslrootcert: {ptls / 'ca.pem'}\n"
    certs = f"  sslcert: {cert}\n  sslkey: {key}\n"
    deadline = time.time() + 30
    while True:  # until the postmaster has reloaded pg_hba.conf
        proc, _ = check(tmp_path, pg_yaml(postgres, pgdb, "public.tls_x", ca + certs, user=role))
        if proc.returncode == 0 or time.time() > deadline:
            break
        time.sleep(0.1)
    assert re.search(r"ok    connection: TLSv1\.[23], \S+ \(sslmode verify-full\)", proc.stdout), \
        proc.stdout + proc.stderr
    assert "ok    replication connection accepted" in proc.stdout, proc.stdout

    proc, _ = check(tmp_path, pg_yaml(postgres, pgdb, "public.tls_x", ca, user=role))
    assert proc.returncode == 2, proc.stderr
    assert error_text(proc).endswith(
        "connection requires a valid client certificate; fix: the server admits this role only with a client "
        "certificate (pg_hba.conf method cert or clientcert=verify-ca/verify-full): set sslcert and sslkey"), \
        proc.stderr
    other = f"  sslcert: {ptls / 'client.pem'}\n  sslkey: {ptls / 'client.key'}\n"  # CN=sluice
    proc, _ = check(tmp_path, pg_yaml(postgres, pgdb, "public.tls_x", ca + other, user=role))
    assert proc.returncode == 2, proc.stderr
    assert error_text(proc).endswith(
        f"fix: the certificate in sslcert {ptls / 'client.pem'} does not name role 'sluice_cert': its CN must be "
        "the role name (or mapped to it in pg_ident.conf)"), proc.stderr

    out = tmp_path / "out.jsonl"
    yaml = pg_yaml(postgres, pgdb, "public.tls_x", ca + certs, user=role, startup="initial", out=out,
                   name="tlscert")
    s = Sluice(tmp_path, yaml).start(wait_for=PG_STREAMING)
    try:
        pg_exec(postgres, "INSERT INTO tls_x VALUES (51, 51)", "DELETE FROM tls_x WHERE id = 1", database=pgdb)
        evs = wait_events(out, 52, proc=s)
        assert s.stop() == 0
        assert sum(e["op"] == "r" for e in evs) == 50
        state = replay(evs)
        assert sorted(k[1] for k in state) == list(range(2, 52))
    finally:
        s.stop()
        pg_drop_slot(postgres, "sl_tlscert")


# ------------------------------------------------------------------ kafka

def test_kafka_missing_ca_file_fails_check(tmp_path):
    p = tmp_path / "k.yaml"
    p.write_text("""source:
  type: mysql
  hostname: 127.0.0.1
  username: x
  tables: a.b
sink:
  type: kafka
  properties.bootstrap.servers: 127.0.0.1:1
  properties.security.protocol: ssl
  properties.ssl.ca.location: /nonexistent/ca.pem
pipeline:
  name: t
""")
    proc = sluice("check", p)
    assert proc.returncode == 2
    assert error_text(proc) == (f"{p}:10:3: kafka sink: properties.ssl.ca.location /nonexistent/ca.pem cannot be "
                                "read: No such file or directory")
