"""Runs the format drivers of tests/formats (build/tests/formats/*, built by
`make format-tools`, which `make e2e` does) for the Parquet and Avro writer
tests: a job goes in as JSON, the writer's own result comes back as JSON."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from conftest import REPO_ROOT


def tool(name: str) -> Path:
    """build/tests/formats/NAME; SLUICE_BUILD picks another build dir
    (e.g. build-asan to run the drivers under AddressSanitizer)."""
    build = Path(os.environ.get("SLUICE_BUILD") or REPO_ROOT / "build")
    path = build / "tests" / "formats" / name
    if not path.exists():
        raise RuntimeError(f"{path} is missing: run `make format-tools`")
    return path


def run_job(name: str, workdir: Path, job: dict, expect_ok: bool = True, args=()) -> dict:
    """Writes job to workdir/job.json, runs the driver on it (after args),
    returns its JSON answer; fails the test when the driver failed
    unexpectedly."""
    jobfile = workdir / f"job-{os.getpid()}-{id(job)}.json"
    jobfile.write_text(json.dumps(job))
    return run_tool(name, *args, jobfile, expect_ok=expect_ok)


def run_tool(name: str, *args, expect_ok: bool = True) -> dict:
    proc = subprocess.run([str(tool(name)), *map(str, args)], capture_output=True, text=True,
                          timeout=300)
    if expect_ok and proc.returncode != 0:
        raise AssertionError(f"{name} failed ({proc.returncode}): {proc.stdout}{proc.stderr}")
    if proc.stderr:
        raise AssertionError(f"{name} wrote to stderr: {proc.stderr}")
    return json.loads(proc.stdout)
