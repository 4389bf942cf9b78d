"""The compatibility suite (`make compat`) reuses the e2e fixtures: the
servers (mariadb, postgres, kafka), the pg harness and the leftover-sluice
guard of tests/e2e/conftest.py, and the e2e helpers (sluice_run, kafka_read,
the type zoos). This directory is outside tests/e2e so that `make test`'s
`pytest tests/e2e` does not collect it.

Both conftests are imported under the module name `conftest`, so the e2e one
is loaded under another name and its fixtures re-exported here; sluice_run's
`from conftest import sluice_binary` then finds it in this module."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

E2E = Path(__file__).resolve().parents[1] / "e2e"
sys.path.insert(0, str(E2E))

_spec = importlib.util.spec_from_file_location("e2e_conftest", E2E / "conftest.py")
_e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_e2e)

REPO_ROOT = _e2e.REPO_ROOT
sluice_binary = _e2e.sluice_binary
services_tmp = _e2e.services_tmp
mariadb = _e2e.mariadb
postgres = _e2e.postgres
kafka = _e2e.kafka
pgdb = _e2e.pgdb
pg = _e2e.pg
_no_sluice_left_behind = _e2e._no_sluice_left_behind
