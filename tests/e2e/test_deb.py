"""`make deb`: the package installs on this machine, its systemd unit's
ExecStart line runs a pipeline that reports readiness over NOTIFY_SOCKET
(as systemd's Type=notify expects), and the package removes cleanly."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from conftest import REPO_ROOT
from sluice_run import mysql_exec, mysql_pipeline_yaml, wait_events

UNIT = Path("/lib/systemd/system/sluice@.service")


def dpkg(*args):
    return subprocess.run(["dpkg", *args], capture_output=True, text=True, timeout=300)


def unit_settings(text):
    out = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            out.setdefault(k.strip(), v.strip())
    return out


@pytest.fixture
def installed_deb():
    if os.geteuid() != 0:
        pytest.skip("installing a .deb needs root")
    if dpkg("-s", "sluice").returncode == 0:
        pytest.fail("a sluice package is already installed here; remove it first (dpkg --purge sluice)")
    build = subprocess.run(["make", "-s", "deb"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout + build.stderr
    deb = Path(build.stdout.strip().splitlines()[-1])
    assert deb.name.startswith("sluice_") and deb.suffix == ".deb", build.stdout
    inst = dpkg("-i", str(deb))
    try:
        assert inst.returncode == 0, inst.stdout + inst.stderr
        yield deb
    finally:
        if dpkg("-s", "sluice").returncode == 0:
            purge = dpkg("--purge", "sluice")
            assert purge.returncode == 0, purge.stdout + purge.stderr


def test_deb_installs_runs_through_the_unit_and_removes_cleanly(installed_deb, mariadb, tmp_path):
    version = subprocess.run(["/usr/bin/sluice", "version"], capture_output=True, text=True).stdout
    assert installed_deb.name == f"sluice_{version.split()[1]}_{installed_deb.name.split('_')[2]}"
    # the man page renders without warnings, with the connector options and the operations section
    man = subprocess.run(["man", "--warnings", "-l", "/usr/share/man/man1/sluice.1.gz"], capture_output=True,
                         text=True, env=dict(os.environ, MANWIDTH="120"))
    assert man.returncode == 0 and man.stderr == "", man.stderr
    for text in ("scan.startup.mode", "metrics.address", "sluice_lag_seconds", "/etc/sluice/NAME.yaml"):
        assert text in man.stdout, text
    unit = unit_settings(UNIT.read_text())
    assert unit["Type"] == "notify" and unit["Restart"] == "on-failure", unit
    assert unit["ExecStart"] == "/usr/bin/sluice run /etc/sluice/%i.yaml"

    # a pipeline as an operator would install it, started by the unit's own ExecStart line
    name = f"e2e-{os.getpid()}"
    db = "opsdeb"
    mysql_exec(mariadb, f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
               f"CREATE TABLE {db}.t (id INT PRIMARY KEY)")
    out = tmp_path / "out.jsonl"
    conf, envfile = Path(f"/etc/sluice/{name}.yaml"), Path(f"/etc/sluice/{name}.env")
    conf.write_text(mysql_pipeline_yaml(mariadb, f"{db}.t", out, name="opsdeb", server_id=5964))
    envfile.write_text(f"TEST_MYSQL_PASSWORD={mariadb.password}\n")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock_path = tmp_path / "notify.sock"
    notify.bind(str(sock_path))
    notify.settimeout(60)
    proc = None
    try:
        argv = shlex.split(unit["ExecStart"].replace("%i", name))
        env = {"PATH": "/usr/bin:/bin", "NOTIFY_SOCKET": str(sock_path)}
        assert unit["EnvironmentFile"] == "-/etc/sluice/%i.env"
        env.update(line.split("=", 1) for line in envfile.read_text().splitlines())
        log = open(tmp_path / "unit.log", "w")
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        ready = notify.recv(4096).decode()
        assert ready.split("\n")[0] == "READY=1", ready
        mysql_exec(mariadb, f"INSERT INTO {db}.t VALUES (1), (2)")
        assert [e["after"]["id"] for e in wait_events(out, 2, timeout=60) if e.get("after")] == [1, 2]
        proc.send_signal(signal.SIGTERM)
        assert notify.recv(4096).decode() == "STOPPING=1"
        assert proc.wait(60) == 0, (tmp_path / "unit.log").read_text()
    finally:
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        notify.close()
        conf.unlink(missing_ok=True)
        envfile.unlink(missing_ok=True)

    purge = dpkg("--purge", "sluice")
    assert purge.returncode == 0, purge.stdout + purge.stderr
    assert dpkg("-s", "sluice").returncode != 0
    for path in ("/usr/bin/sluice", str(UNIT), "/usr/share/man/man1/sluice.1.gz", "/usr/share/doc/sluice",
                 "/etc/sluice"):
        assert not Path(path).exists(), path
