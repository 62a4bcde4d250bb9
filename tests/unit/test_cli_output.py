"""``-o FILE`` that is one of the command's inputs is refused (issue 11: it overwrote the
input), by any name, for every command and every kind of input, before any slow work; the
input is left byte for byte as it was."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from abidiff import snapshot
from tests.conftest import BASE_HEADERS, snapshot_cached


@pytest.fixture(scope="module")
def snapshot_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("snap") / "base.json"
    path.write_text(snapshot.dumps(snapshot_cached(BASE_HEADERS)))
    return path


def abidiff(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ABIDIFF_NO_PROGRESS="1", ABIDIFF_CC="no-such-compiler")  # nothing may be parsed
    return subprocess.run(
        [sys.executable, "-m", "abidiff", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )


def assert_refused(proc: subprocess.CompletedProcess[str], inputs: dict[Path, bytes]) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith("abidiff: error: the output ") and "writing it would destroy the input" in lines[0]
    assert lines[-1].startswith("abidiff: hint: ")
    assert proc.stdout == ""
    for path, content in inputs.items():
        assert path.read_bytes() == content, f"{path} was changed"
    leftovers = [p.name for p in next(iter(inputs)).parent.iterdir() if p.name.startswith(".abidiff-")]
    assert leftovers == []


@pytest.mark.parametrize(
    "case",
    ["compare-old", "compare-new", "compare-suppressions", "dump", "abi3", "abi3-against", "lib", "pyconfig"],
)
def test_output_that_is_an_input_is_refused(snapshot_file: Path, tmp_path: Path, case: str) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    shutil.copy(snapshot_file, a)
    shutil.copy(snapshot_file, b)
    other = tmp_path / "other.txt"
    other.write_text("[[suppress]]\nrule = 'ABI102'\nreason = 'known'\n")
    cases: dict[str, list[str | Path]] = {
        "compare-old": [a, b, "--format", "json", "-o", a],
        "compare-new": [a, b, "-o", "b.json"],  # relative to the working directory
        "compare-suppressions": [a, b, "--suppressions", other, "--format", "markdown", "-o", other],
        "dump": ["dump", a, "-o", a],
        "abi3": ["abi3", a, "--format", "json", "-o", a],
        "abi3-against": ["abi3", a, "--against", b, "-o", b],
        "lib": [a, b, "--lib", other, "-o", other],
        "pyconfig": ["dump", a, "--pyconfig", other, "-o", other],
    }
    proc = abidiff(*cases[case], cwd=tmp_path)
    assert_refused(proc, {a: a.read_bytes(), b: b.read_bytes(), other: other.read_bytes()})


def test_output_through_a_link_to_an_input_is_refused(snapshot_file: Path, tmp_path: Path) -> None:
    a = tmp_path / "a.json"
    shutil.copy(snapshot_file, a)
    (tmp_path / "link.json").symlink_to(a)
    os.link(a, tmp_path / "hard.json")
    for alias in ("link.json", "hard.json"):
        proc = abidiff(a, a, "--format", "json", "-o", alias, cwd=tmp_path)
        assert_refused(proc, {a: a.read_bytes()})
        assert "is the same file as the input" in proc.stderr


def test_another_output_is_written(snapshot_file: Path, tmp_path: Path) -> None:
    a = tmp_path / "a.json"
    shutil.copy(snapshot_file, a)
    proc = abidiff(a, a, "--format", "json", "-o", "report.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "report.json").read_text().startswith("{")


def test_symbols_of_a_library_onto_itself(binary_fixtures: dict[str, str], tmp_path: Path) -> None:
    lib = tmp_path / "lib.so"
    shutil.copy(binary_fixtures["elf-x86_64.so"], lib)
    proc = abidiff("symbols", lib, "-o", lib, cwd=tmp_path)
    assert_refused(proc, {lib: lib.read_bytes()})


def test_ext_of_a_module_onto_itself(ext_fixtures: dict[str, str], tmp_path: Path) -> None:
    module = tmp_path / "mod.abi3.so"
    shutil.copy(ext_fixtures["elf/abi3"], module)
    proc = abidiff("ext", module, "--format", "json", "-o", module, cwd=tmp_path)
    assert_refused(proc, {module: module.read_bytes()})
