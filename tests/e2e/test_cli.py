"""The command line as a user meets it: every kind of bad input gives one
clear line naming the place, exit code 2, and nothing started or written;
every file in configs/ passes `sluice check`."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO_ROOT, sluice_binary


def sluice(*args, env=None, cwd=None):
    e = dict(os.environ)
    e.pop("MYSQL_PASSWORD", None)
    e.update(env or {})
    return subprocess.run([str(sluice_binary()), *map(str, args)], capture_output=True, text=True,
                          env=e, cwd=cwd, timeout=30)


GOOD = """\
source:
  type: mysql
  hostname: 127.0.0.1
  port: 3306
  username: sluice
  password: ${env:SLUICE_TEST_PW}
  tables: shop.orders
  server-id: 5401
sink:
  type: file
  path: OUT
pipeline:
  name: cli-test
"""


def write(tmp_path, text, name="p.yaml"):
    p = tmp_path / name
    p.write_text(text.replace("OUT", str(tmp_path / "out.jsonl")))
    return p


def error_line(proc):
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, proc.stderr
    return re.sub(r"^\S+ error\s+", "", lines[0])


def assert_config_error(tmp_path, text, expected, env=None):
    p = write(tmp_path, text)
    for cmd in ("check", "run"):
        proc = sluice(cmd, p, env=env)
        assert proc.returncode == 2, (cmd, proc.stdout, proc.stderr)
        assert error_line(proc) == expected.replace("FILE", str(p))
    assert not (tmp_path / "out.jsonl").exists(), "nothing may be written"
    assert not (tmp_path / "out.jsonl.checkpoint").exists()


def test_good_config_checks(tmp_path):
    p = write(tmp_path, GOOD)
    proc = sluice("check", p, env={"SLUICE_TEST_PW": "x"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"{p}: ok (source mysql, sink file, 0 routes, 0 transforms)"


def test_malformed_yaml(tmp_path):
    assert_config_error(tmp_path, "source:\n  type: mysql\n   hostname: x\n",
                        "FILE:3:12: YAML syntax error: mapping values are not allowed in this context")


def test_wrong_type(tmp_path):
    assert_config_error(tmp_path, GOOD.replace("port: 3306", "port: abc"),
                        "FILE:4:3: 'abc' is not an integer (option 'port')", env={"SLUICE_TEST_PW": "x"})


def test_out_of_range(tmp_path):
    assert_config_error(tmp_path, GOOD.replace("port: 3306", "port: 70000"),
                        "FILE:4:3: '70000' is out of range for 'port' (1..65535)", env={"SLUICE_TEST_PW": "x"})


def test_misspelt_key_did_you_mean(tmp_path):
    assert_config_error(tmp_path, GOOD.replace("hostname:", "hostnme:"),
                        "FILE:3:3: unknown source option 'hostnme'; did you mean 'hostname'?",
                        env={"SLUICE_TEST_PW": "x"})


def test_unknown_top_level_key(tmp_path):
    assert_config_error(tmp_path, GOOD + "pipline:\n  name: x\n",
                        "FILE:14:1: unknown top-level key 'pipline'; did you mean 'pipeline'?",
                        env={"SLUICE_TEST_PW": "x"})


def test_missing_required_option(tmp_path):
    text = GOOD.replace("  username: sluice\n", "")
    assert_config_error(tmp_path, text,
                        "FILE:2:3: source is missing required option 'username' (User to connect as; needs "
                        "REPLICATION SLAVE, REPLICATION CLIENT and SELECT.)", env={"SLUICE_TEST_PW": "x"})


def test_unresolved_env(tmp_path):
    assert_config_error(tmp_path, GOOD,
                        "FILE:6:13: environment variable SLUICE_TEST_PW is not set (in ${env:SLUICE_TEST_PW})")


def test_unreadable_file_secret(tmp_path):
    text = GOOD.replace("${env:SLUICE_TEST_PW}", "${file:/nonexistent/secret}")
    assert_config_error(tmp_path, text,
                        "FILE:6:13: cannot read ${file:/nonexistent/secret}: No such file or directory")


def test_file_secret_is_read(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    p = write(tmp_path, GOOD.replace("${env:SLUICE_TEST_PW}", "${file:" + str(secret) + "}"))
    proc = sluice("check", p)
    assert proc.returncode == 0, proc.stderr


def test_unknown_connector(tmp_path):
    assert_config_error(tmp_path, GOOD.replace("type: file", "type: fiel"),
                        "FILE:10:9: unknown sink type 'fiel'; did you mean 'file'?", env={"SLUICE_TEST_PW": "x"})


def test_bad_enum_value(tmp_path):
    text = GOOD.replace("server-id: 5401", "server-id: 5401\n  scan.startup.mode: latest")
    assert_config_error(tmp_path, text,
                        "FILE:9:3: 'latest' is not a valid value for 'scan.startup.mode' (one of: initial, "
                        "latest-offset, earliest-offset, specific-offset, timestamp, snapshot)",
                        env={"SLUICE_TEST_PW": "x"})


def test_bad_duration(tmp_path):
    text = GOOD + "  checkpoint.interval: soon\n"
    assert_config_error(tmp_path, text,
                        "FILE:14:3: 'soon' is not a duration (option 'checkpoint.interval'); write e.g. 500ms, "
                        "1s, 5min, 2h", env={"SLUICE_TEST_PW": "x"})


def test_nonexistent_config_path(tmp_path):
    for cmd in ("check", "run", "migrate", "status"):
        proc = sluice(cmd, tmp_path / "missing.yaml")
        assert proc.returncode == 2
        assert error_line(proc) == f"cannot open {tmp_path / 'missing.yaml'}: No such file or directory"


def test_usage_errors():
    proc = sluice("frobnicate")
    assert proc.returncode == 2
    assert proc.stderr.startswith("sluice: unknown command 'frobnicate'")
    proc = sluice("chek")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "sluice: unknown command 'chek'; did you mean 'check'?"
    proc = sluice("run")
    assert proc.returncode == 2
    assert "missing pipeline file" in proc.stderr
    proc = sluice("run", "--bogus", "x.yaml")
    assert proc.returncode == 2
    assert "unknown option '--bogus'" in proc.stderr


@pytest.mark.parametrize("cmd", ["run", "migrate", "check", "describe", "status", "version"])
def test_help_for_each_command(cmd):
    proc = sluice(cmd, "--help")
    assert proc.returncode == 0
    assert proc.stdout.startswith(f"usage: sluice {cmd}")


def test_help_lists_the_connectors_the_binary_has():
    proc = sluice("--help")
    assert proc.returncode == 0
    listed = {line.split(":")[0]: line.split(":")[1].split() for line in proc.stdout.splitlines()
              if line.startswith(("sources:", "sinks:"))}
    described, section = {"sources": [], "sinks": []}, None
    for line in sluice("describe").stdout.splitlines():
        if not line.startswith(" "):
            section = line.rstrip(":")
        elif section in described:
            described[section].append(line.split()[0])
    assert listed == described
    assert "file" in listed["sinks"] and "mysql" in listed["sources"]


def test_version():
    proc = sluice("version")
    assert proc.returncode == 0
    assert re.fullmatch(r"sluice \d+\.\d+\.\d+\n", proc.stdout)


def test_describe_prints_option_table():
    proc = sluice("describe", "mysql")
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("mysql (source): ")
    row = next(l for l in lines if l.strip().startswith("scan.startup.mode"))
    assert "enum" in row and "initial" in row and "One of: initial, latest-offset" in row
    row = next(l for l in lines if l.strip().startswith("hostname"))
    assert "(required)" in row
    proc = sluice("describe", "fiel")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "sluice describe: unknown connector 'fiel'; did you mean 'file'?"
    proc = sluice("describe")
    assert proc.returncode == 0 and "mysql" in proc.stdout and "blackhole" in proc.stdout


def test_every_example_config_checks():
    configs = sorted((REPO_ROOT / "configs").glob("*.yaml"))
    assert configs
    for c in configs:
        proc = sluice("check", c, env={"MYSQL_PASSWORD": "x", "PG_PASSWORD": "x", "CLICKHOUSE_PASSWORD": "x"})
        assert proc.returncode == 0, (c, proc.stderr)


def test_log_level_option(tmp_path):
    p = write(tmp_path, GOOD)
    proc = sluice("check", "--log-level", "loud", p)
    assert proc.returncode == 2
    assert "unknown log level 'loud'" in proc.stderr


def test_file_substitution_is_bounded(tmp_path):
    """${file:} reads at most 1 MiB: /dev/zero fails at once instead of
    filling memory, and so does a large regular file."""
    text = GOOD.replace("${env:SLUICE_TEST_PW}", "${file:/dev/zero}")
    t0 = time.monotonic()
    assert_config_error(tmp_path, text,
                        "FILE:6:13: cannot use ${file:/dev/zero}: the file holds more than 1 MiB (the limit of a "
                        "${file:} value)")
    assert time.monotonic() - t0 < 2
    big = tmp_path / "big"
    big.write_bytes(b"x" * (1024 * 1024 + 1))
    assert_config_error(tmp_path, GOOD.replace("${env:SLUICE_TEST_PW}", "${file:" + str(big) + "}"),
                        f"FILE:6:13: cannot use ${{file:{big}}}: the file holds more than 1 MiB (the limit of a "
                        "${file:} value)")
    # exactly 1 MiB is still a value
    big.write_bytes(b"x" * (1024 * 1024))
    p = write(tmp_path, GOOD.replace("${env:SLUICE_TEST_PW}", "${file:" + str(big) + "}"))
    assert sluice("check", p).returncode == 0


@pytest.mark.parametrize("shape,col", [("[", 40), ("{a: ", 133)])
def test_deep_nesting_is_refused_in_milliseconds(tmp_path, shape, col):
    close = "]" if shape == "[" else "}"
    p = tmp_path / "p.yaml"
    p.write_text("source: " + shape * 100_000 + ("1" if shape != "[" else "") + close * 100_000 + "\n")
    t0 = time.monotonic()
    proc = sluice("check", p)
    took = time.monotonic() - t0
    assert proc.returncode == 2
    assert error_line(proc) == f"{p}:1:{col}: YAML nested more than 32 levels deep; a pipeline file needs at most 4"
    assert took < 0.5, f"{took:.2f}s"


def test_block_nesting_is_refused(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text("".join(" " * i + "a:\n" for i in range(40)))
    proc = sluice("check", p)
    assert proc.returncode == 2
    assert error_line(proc) == f"{p}:33:33: YAML nested more than 32 levels deep; a pipeline file needs at most 4"


def test_second_yaml_document_is_an_error(tmp_path):
    assert_config_error(tmp_path, GOOD + "---\nsource:\n  type: postgres\n",
                        "FILE:14:1: a second YAML document starts here; a pipeline file holds exactly one (one "
                        "pipeline per file: remove the '---' and what follows, or move it to a file of its own)",
                        env={"SLUICE_TEST_PW": "x"})
    # a leading '---' is one document
    p = write(tmp_path, "---\n" + GOOD)
    assert sluice("check", p, env={"SLUICE_TEST_PW": "x"}).returncode == 0


def test_control_characters_are_refused_from_env_and_yaml(tmp_path):
    rule = "host names, paths, names and lists must be printable text (check the value or the variable or file " \
           "it comes from)"
    text = GOOD.replace("hostname: 127.0.0.1", "hostname: ${env:SLUICE_TEST_HOST}")
    assert_config_error(tmp_path, text, "FILE:3:3: source option 'hostname' contains a line break at byte 10; " + rule,
                        env={"SLUICE_TEST_PW": "x", "SLUICE_TEST_HOST": "127.0.0.1\nevil"})
    text = GOOD.replace("tables: shop.orders", "tables: ${env:SLUICE_TEST_TABLES}")
    assert_config_error(tmp_path, text, "FILE:7:3: source option 'tables' contains a line break at byte 6; " + rule,
                        env={"SLUICE_TEST_PW": "x", "SLUICE_TEST_TABLES": "shop.\norders"})
    text = GOOD.replace("path: OUT", 'path: "OUT\\tx"')
    assert_config_error(tmp_path, text.replace("OUT", str(tmp_path / "out.jsonl")),
                        f"FILE:11:3: sink option 'path' contains a tab at byte {len(str(tmp_path / 'out.jsonl')) + 1}; "
                        + rule, env={"SLUICE_TEST_PW": "x"})
    text = GOOD.replace("name: cli-test", "name: ${env:SLUICE_TEST_NAME}")
    assert_config_error(tmp_path, text, "FILE:13:3: pipeline option 'name' contains control character 0x1b at byte 2; "
                        + rule, env={"SLUICE_TEST_PW": "x", "SLUICE_TEST_NAME": "a\x1bb"})
    text = GOOD + 'route:\n  - source-table: "shop.or\\nders"\n    sink-table: orders\n'
    assert_config_error(tmp_path, text, "FILE:15:19: route key 'source-table' contains a line break at byte 8; table "
                        "patterns and column names must be printable text", env={"SLUICE_TEST_PW": "x"})
    # line breaks that only lay a list out are fine, and so is any byte in a secret
    text = GOOD.replace("tables: shop.orders", "tables: >\n    shop.orders,\n    shop.items")
    p = write(tmp_path, text)
    assert sluice("check", p, env={"SLUICE_TEST_PW": "x\ny"}).returncode == 0


@pytest.mark.parametrize("args", [["--log-level", "trace"], ["--log-level=debug"]])
def test_global_options_before_the_command(tmp_path, args):
    p = write(tmp_path, GOOD)
    proc = sluice(*args, "check", p, env={"SLUICE_TEST_PW": "x"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{p}: ok (source mysql, sink file, 0 routes, 0 transforms)\n"
    proc = sluice("--log-level", "loud", "check", p)
    assert proc.returncode == 2
    assert proc.stderr == "sluice: unknown log level 'loud' (error, warn, info, debug, trace)\n"
    proc = sluice("--log-level")
    assert proc.returncode == 2
    assert proc.stderr == "sluice: option '--log-level' needs a value (error, warn, info, debug, trace)\n"
    proc = sluice("--bogus", "check", p)
    assert proc.returncode == 2
    assert proc.stderr.startswith("sluice: unknown option '--bogus'\n\nusage: sluice [--log-level LEVEL] <command>")
    proc = sluice("--help")
    assert proc.returncode == 0
    assert proc.stdout.startswith("usage: sluice [--log-level LEVEL] <command> [options]\n")
    assert "common options (before or after the command):\n  --log-level LEVEL" in proc.stdout
