"""Flink CDC's own pipeline files (tests/flink_corpus/, from its docs and
end-to-end tests) load in sluice: `sluice check` accepts every one whose
connectors exist here, and refuses the ones marked `# sluice refuses:` with
that message (user-defined functions, a value Flink's test also rejects)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from test_cli import sluice

CORPUS = Path(__file__).resolve().parents[1] / "flink_corpus"
FILES = sorted(CORPUS.glob("*.yaml"))


def test_the_corpus_is_there():
    assert len(FILES) >= 70
    refused = [f for f in FILES if "# sluice refuses:" in f.read_text()]
    assert len(refused) == 4


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_sluice_check_accepts_flink_pipeline_files(path):
    text = path.read_text()
    assert text.startswith("# A Flink CDC pipeline definition from apache/flink-cdc, ")
    proc = sluice("check", path)
    errors = [l for l in proc.stderr.splitlines() if " error " in l]
    m = re.search(r"^# sluice refuses: (.*)$", text, re.M)
    if m:
        assert proc.returncode == 2, proc.stderr
        assert len(errors) == 1 and m.group(1) in errors[0], proc.stderr
    else:
        assert proc.returncode == 0, proc.stderr
        assert errors == []
        assert proc.stdout.startswith(f"{path}: ok (source ")
