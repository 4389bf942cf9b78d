"""The Makefile on a machine whose pkg-config finds none of the -dev
packages yet (issue 12): a build fails loudly naming the missing modules
and suggesting `make deps`; `make help` and `make deps` work without them;
and `make demo` runs deps first and only then parses pkg-config, so its
first run builds once deps has installed the packages.

Each test runs make in a copy of the tree with PKG_CONFIG_LIBDIR pointing
at a directory of our own and PKG_CONFIG_PATH empty, so pkg-config sees only
what the test puts there. No server is started; the whole file takes
seconds.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO_ROOT

MAKEFILE = (REPO_ROOT / "Makefile").read_text()
MODULES = re.search(r"^PKGS\s*:=\s*(.+)$", MAKEFILE, re.M).group(1).split()


def missing_error(modules):
    return (f"pkg-config finds no {' '.join(modules)}: run 'make deps' "
            "(or install the -dev packages listed in tests/services/deps.sh)")


def copy_tree(dst: Path, with_build: bool = False) -> Path:
    """The files git tracks (and untracked ones it does not ignore), with
    their modification times, so that a copied build/ stays up to date."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO_ROOT,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        src = REPO_ROOT / name
        if src.is_file():
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / name)
    if with_build:
        shutil.copytree(REPO_ROOT / "build", dst / "build", symlinks=True,
                        ignore=shutil.ignore_patterns("tests"))
    return dst


def make(tree: Path, pc_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    env.update(PKG_CONFIG_LIBDIR=str(pc_dir), PKG_CONFIG_PATH="")
    return subprocess.run(["make", "--no-print-directory", *args], cwd=tree, env=env,
                          capture_output=True, text=True, timeout=300)


def write_pc(pc_dir: Path, module: str, cflags: str = "", libs: str = "") -> None:
    pc_dir.mkdir(parents=True, exist_ok=True)
    (pc_dir / f"{module}.pc").write_text(
        f"Name: {module}\nDescription: written by test_build.py\nVersion: 1.0\n"
        f"Cflags: {cflags}\nLibs: {libs}\n")


@pytest.fixture
def tree(tmp_path):
    return copy_tree(tmp_path / "src")


@pytest.fixture
def pc_dir(tmp_path):
    d = tmp_path / "pkgconfig"
    d.mkdir()
    return d


@pytest.mark.parametrize("args", [["-n"], [], ["-n", "asan"]], ids=["dry-run", "build", "asan"])
def test_missing_modules_are_a_loud_error_naming_them(tree, pc_dir, args):
    proc = make(tree, pc_dir, *args)
    assert proc.returncode != 0, proc.stdout
    assert missing_error(MODULES) in proc.stderr
    # it stops before compiling anything
    assert not list(tree.glob("build*/**/*.o"))


def test_only_the_missing_modules_are_named(tree, pc_dir):
    present = ["jansson", "yaml-0.1"]
    for m in present:
        write_pc(pc_dir, m)
    proc = make(tree, pc_dir, "-n")
    assert proc.returncode != 0
    assert missing_error([m for m in MODULES if m not in present]) in proc.stderr


def test_help_and_deps_work_without_the_packages(tree, pc_dir):
    proc = make(tree, pc_dir, "help")
    assert proc.returncode == 0, proc.stderr
    assert "make deps" in proc.stdout and "make test" in proc.stdout
    assert proc.stderr == ""
    proc = make(tree, pc_dir, "-n", "deps")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "bash tests/services/deps.sh"


def test_first_make_demo_builds_once_deps_installed_the_packages(tmp_path, pc_dir):
    """deps is replaced by a script that does what apt would for the build:
    it makes the modules visible to pkg-config (with this machine's real
    flags). One source file is out of date, so the build after deps has to
    compile and link with those flags; the demo itself is replaced by an
    echo."""
    if shutil.which("pkg-config") is None or subprocess.run(
            ["pkg-config", "--exists", *MODULES]).returncode != 0:
        pytest.skip("this machine's pkg-config does not find the modules")
    if not (REPO_ROOT / "build" / "sluice").exists():
        pytest.skip("build/sluice is not built")
    tree = copy_tree(tmp_path / "src", with_build=True)
    stub = ["#!/usr/bin/env bash", "set -euo pipefail", 'echo "deps: installing"']
    for m in MODULES:
        flags = subprocess.run(["pkg-config", "--cflags", m], capture_output=True, text=True,
                               check=True).stdout.strip()
        libs = subprocess.run(["pkg-config", "--libs", m], capture_output=True, text=True,
                              check=True).stdout.strip()
        pc = (f"Name: {m}\\nDescription: stub\\nVersion: 1.0\\nCflags: {flags}\\nLibs: {libs}\\n")
        stub.append(f'printf "{pc}" > "$PKG_CONFIG_LIBDIR/{m}.pc"')
    (tree / "tests/services/deps.sh").write_text("\n".join(stub) + "\n")
    (tree / "tests/demo.sh").write_text("#!/usr/bin/env bash\necho demo-ran\n")
    stale = tree / "core" / "err.c"
    os.utime(stale)
    binary = tree / "build" / "sluice"
    before = binary.stat().st_mtime_ns

    proc = make(tree, pc_dir, "demo")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "deps: installing"
    assert any(re.search(r"-c -o build/core/err\.o core/err\.c$", line) for line in lines)
    assert lines[-1] == "demo-ran"
    assert binary.stat().st_mtime_ns > before
    assert sorted(p.stem for p in pc_dir.glob("*.pc")) == sorted(MODULES)
