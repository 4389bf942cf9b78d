"""The iceberg sink's REST catalog behind authentication and TLS: a bearer
token, OAuth2 client credentials (the token issued by the REST catalog jar's
own /v1/oauth/tokens), https verified against catalog.properties.ssl.cabundle,
mutual TLS with catalog.properties.ssl.client.cert / .key.

The jar checks no token and serves no TLS, so tests/services/iceberg_front.py
stands in front of it: TLS with the test PKI (lib.sh make_test_tls, the one
MariaDB serves), and 401 for a request without an accepted bearer token.
Wrong token, wrong secret and wrong CA each stop sluice with a message that
names the cause."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SERVICES_DIR
from iceberg_read import drop_tables, duck_rows, py_rows, wait_rows
from sluice_run import Sluice, mysql_exec, mysql_source_yaml
from test_clickhouse_errors import free_port

CLIENT_TOKEN = "client-credentials-token:sub=sluice-client"  # what the jar issues for client_id sluice-client


@pytest.fixture
def front(iceberg, mariadb):
    procs = []

    def start(tls=False, tokens=(), client_secret=None, token_uses=0, client_ca=False):
        port = free_port()
        cmd = [sys.executable, str(SERVICES_DIR / "iceberg_front.py"), "--port", str(port), "--upstream", iceberg.uri]
        tls_dir = Path(mariadb.env["MARIADB_TLS_DIR"])
        if tls:
            cmd += ["--cert", str(tls_dir / "server.pem"), "--key", str(tls_dir / "server.key")]
        if client_ca:
            cmd += ["--client-ca", str(tls_dir / "ca.pem")]
        for t in tokens:
            cmd += ["--token", t]
        if client_secret:
            cmd += ["--client-secret", client_secret]
        if token_uses:
            cmd += ["--token-uses", str(token_uses)]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        procs.append(p)
        assert p.stdout.readline().startswith("listening")
        return f"{'https' if tls else 'http'}://127.0.0.1:{port}", tls_dir

    yield start
    for p in procs:
        p.terminate()
        p.wait(10)


def pipeline(mariadb, uri, table, name, server_id, extra):
    return f"""
{mysql_source_yaml(mariadb, table, server_id, "initial")}
sink:
  type: iceberg
  catalog.properties.uri: {uri}
{extra}
pipeline:
  name: {name}
  checkpoint.interval: 200ms
"""


def run_until_rows(mariadb, iceberg, tmp_path, uri, db, name, server_id, extra):
    drop_tables(iceberg, f"{db}.t", f"sluice.{name}")
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(10))", f"INSERT INTO {db}.t VALUES (1, 'a'), (2, 'b')")
    s = Sluice(tmp_path / name, pipeline(mariadb, uri, f"{db}.t", name, server_id, extra),
               env={"TEST_MYSQL_PASSWORD": mariadb.password}).start()
    mysql_exec(mariadb, f"UPDATE {db}.t SET v = 'b2' WHERE id = 2", f"DELETE FROM {db}.t WHERE id = 1",
               f"INSERT INTO {db}.t VALUES (3, 'c')")
    want = [{"id": 2, "v": "b2"}, {"id": 3, "v": "c"}]
    wait_rows(iceberg, f"{db}.t", want, proc=s)
    assert s.stop() == 0
    assert duck_rows(iceberg, f"{db}.t") == want
    return s


def failing_run(mariadb, tmp_path, uri, name, server_id, extra):
    s = Sluice(tmp_path / name, pipeline(mariadb, uri, "ice_auth_x.t", name, server_id, extra),
               env={"TEST_MYSQL_PASSWORD": mariadb.password}).start(wait_for=None)
    rc = s.wait_exit(60)
    return rc, s.log_text()


def test_bearer_token(mariadb, iceberg, front, tmp_path):
    uri, _ = front(tokens=["t0ken-1"])
    run_until_rows(mariadb, iceberg, tmp_path, uri, "ice_auth_tok", "ice_auth_tok", 6401,
                   "  catalog.properties.token: t0ken-1")
    rc, log = failing_run(mariadb, tmp_path, uri, "ice_auth_badtok", 6402, "  catalog.properties.token: wrong")
    assert rc == 2, log
    assert (f"iceberg sink: GET {uri}/v1/config: HTTP 401 NotAuthorizedException: no valid bearer token "
            f"(is catalog.properties.uri an Iceberg REST catalog?)") in log, log


def test_oauth2_client_credentials_from_the_catalog(mariadb, iceberg, front, tmp_path):
    uri, _ = front(tokens=[CLIENT_TOKEN], client_secret="s3cret")
    run_until_rows(mariadb, iceberg, tmp_path, uri, "ice_auth_oa", "ice_auth_oa", 6403,
                   "  catalog.properties.credential: sluice-client:s3cret")
    rc, log = failing_run(mariadb, tmp_path, uri, "ice_auth_badsecret", 6404,
                          "  catalog.properties.credential: sluice-client:nope")
    assert rc == 2, log
    assert (f"iceberg sink: OAuth2 token request to {uri}/v1/oauth/tokens refused: HTTP 401 invalid_client: wrong "
            f"client_secret; check catalog.properties.credential (client_id:client_secret) and "
            f"catalog.properties.scope") in log, log


def test_oauth2_token_asked_again_when_it_expires(mariadb, iceberg, front, tmp_path):
    """the front lets a token serve 4 catalog requests: sluice, told 401,
    asks the jar for a new token and carries on exactly"""
    uri, _ = front(tokens=[CLIENT_TOKEN], token_uses=4)
    s = run_until_rows(mariadb, iceberg, tmp_path, uri, "ice_auth_exp", "ice_auth_exp", 6408,
                       "  catalog.properties.credential: sluice-client:x")
    import re
    asked = re.findall(r"iceberg sink: the catalog refused the OAuth2 token \(HTTP 401 on (GET|POST) [^)]+\): asking "
                       + re.escape(f"{uri}/v1/oauth/tokens") + " for a new one", s.log_text())
    assert len(asked) >= 2, s.log_text()


def test_https_verified_with_the_ca_bundle(mariadb, iceberg, front, tmp_path):
    uri, tls = front(tls=True, tokens=[CLIENT_TOKEN])
    run_until_rows(mariadb, iceberg, tmp_path, uri, "ice_auth_tls", "ice_auth_tls", 6405,
                   f"  catalog.properties.credential: sluice-client:x\n"
                   f"  catalog.properties.ssl.cabundle: {tls / 'ca.pem'}")
    # a CA that did not sign the catalog's certificate: refused, not retried
    other = tls / "other-ca.pem"
    rc, log = failing_run(mariadb, tmp_path, uri, "ice_auth_badca", 6406,
                          f"  catalog.properties.token: x\n  catalog.properties.ssl.cabundle: {other}")
    assert rc == 2, log
    assert f"iceberg sink: TLS with {uri}/v1/config failed (SSL peer certificate or SSH remote key was not OK: " in log
    assert (f"); the catalog's certificate must be signed by the CA in catalog.properties.ssl.cabundle ({other})"
            in log), log
    # a bundle that is not there is named before any connection
    rc, log = failing_run(mariadb, tmp_path, uri, "ice_auth_noca", 6407,
                          f"  catalog.properties.ssl.cabundle: {tls / 'missing.pem'}")
    assert rc == 2, log
    assert (f"iceberg sink: catalog.properties.ssl.cabundle {tls / 'missing.pem'} cannot be read: No such file or "
            f"directory") in log, log


def test_mutual_tls_with_a_client_certificate(mariadb, iceberg, front, tmp_path):
    """a catalog that requires a client certificate: sluice's (signed by the
    CA the front trusts) lets the run through exactly; without one, or with
    only the certificate, the run stops naming the options"""
    uri, tls = front(tls=True, client_ca=True)
    ca = f"  catalog.properties.ssl.cabundle: {tls / 'ca.pem'}\n"
    run_until_rows(mariadb, iceberg, tmp_path, uri, "ice_auth_mtls", "ice_auth_mtls", 6409,
                   ca + f"  catalog.properties.ssl.client.cert: {tls / 'client.pem'}\n"
                   f"  catalog.properties.ssl.client.key: {tls / 'client.key'}")
    rc, log = failing_run(mariadb, tmp_path, uri, "ice_auth_nocert", 6410, ca)
    assert rc == 2, log
    assert f"iceberg sink: TLS with {uri}/v1/config failed (" in log, log
    assert ("the catalog wants a client certificate (mutual TLS): set catalog.properties.ssl.client.cert and "
            "catalog.properties.ssl.client.key") in log, log
    rc, log = failing_run(mariadb, tmp_path, uri, "ice_auth_halfcert", 6411,
                          ca + f"  catalog.properties.ssl.client.cert: {tls / 'client.pem'}")
    assert rc == 2, log
    assert ("iceberg sink: catalog.properties.ssl.client.cert is set without catalog.properties.ssl.client.key; "
            "mutual TLS needs both (PEM certificate and its key)") in log, log
