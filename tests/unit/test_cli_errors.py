"""Bad input gives a one-line error with a hint and exit status 1; never a traceback.

These run the real command (``python -m abidiff``) in a subprocess, as a user would.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys

import pytest

from tests.conftest import MINIMAL_HEADERS


def run(*args: str, env: dict[str, str] | None = None, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ, ABIDIFF_NO_PROGRESS="1")
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "abidiff", *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=120
    )


def assert_clean_error(proc: subprocess.CompletedProcess[str], status: int, *needles: str) -> None:
    assert proc.returncode == status, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith("abidiff: error: ")
    assert lines[-1].startswith("abidiff: hint: ")
    for needle in needles:
        assert needle in proc.stderr
    assert proc.stdout == ""


def test_missing_path() -> None:
    assert_clean_error(run("dump", "/no/such/build"), 1, "no build found for '/no/such/build'", "tried a path")


def test_directory_without_python_h(tmp_path: os.PathLike[str]) -> None:
    assert_clean_error(run("dump", str(tmp_path)), 1, "is not a CPython build", "no Python.h")


def test_headers_that_do_not_parse(tmp_path: os.PathLike[str]) -> None:
    tree = os.path.join(tmp_path, "include")
    shutil.copytree(MINIMAL_HEADERS, tree)
    with open(os.path.join(tree, "object.h"), "a") as handle:
        handle.write("\nstruct broken { int x }\nPyAPI_FUNC(int) also_broken(;\n")
    proc = run("dump", tree)
    assert_clean_error(proc, 1, "do not parse", "object.h:")
    assert "expected ';'" in proc.stderr  # libclang's own words are shown


def test_snapshot_of_another_schema_version(tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(tmp_path, "old.json")
    with open(path, "w") as handle:
        json.dump({"schema": "abidiff-snapshot", "schema_version": 0, "snapshot": {}}, handle)
    assert_clean_error(run("dump", path), 1, "schema version 0", "abidiff dump")


def test_interpreter_that_fails_to_run(tmp_path: os.PathLike[str]) -> None:
    fake = os.path.join(tmp_path, "python3.99")
    with open(fake, "w") as handle:
        handle.write("#!/bin/sh\necho 'Fatal Python error: init failed' >&2\nexit 3\n")
    os.chmod(fake, stat.S_IRWXU)
    assert_clean_error(run("dump", fake), 1, "failed to run (exit status 3)", "Fatal Python error")


def test_random_bytes_are_not_a_build(tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(tmp_path, "garbage.so")
    with open(path, "wb") as handle:
        handle.write(bytes(range(256)) * 2)
    assert_clean_error(run("dump", path), 1, "garbage.so")


def test_no_compiler_headers(tmp_path: os.PathLike[str]) -> None:
    proc = run("dump", "--no-cache", MINIMAL_HEADERS, env={"ABIDIFF_CC": "no-such-compiler-xyz"})
    assert_clean_error(proc, 1, "no C compiler", "apt-get install gcc")


@pytest.mark.parametrize(
    "args", [["--no-such-option"], ["dump"], ["dump", "a", "b"]], ids=["unknown-option", "missing-arg", "extra-arg"]
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    assert_clean_error(run(*args), 2)


def test_output_file_is_written_atomically(tmp_path: os.PathLike[str]) -> None:
    out = os.path.join(tmp_path, "snap.json")
    proc = run("dump", MINIMAL_HEADERS, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    with open(out) as handle:
        assert json.load(handle)["schema"] == "abidiff-snapshot"
    assert os.listdir(tmp_path) == ["snap.json"]


def test_failed_run_leaves_no_output_file(tmp_path: os.PathLike[str]) -> None:
    out = os.path.join(tmp_path, "snap.json")
    assert run("dump", "/no/such/build", "-o", out).returncode == 1
    assert os.listdir(tmp_path) == []


def test_help_is_fast_and_names_exit_codes() -> None:
    proc = run("--help")
    assert proc.returncode == 0
    assert "incompatible change" in proc.stdout


PYENV_SHIM_OUTPUT = """\
pyenv: python3.9: command not found

The `python3.9' command exists in these Python versions:
  3.9.18

Note: See 'pyenv help global' for tips on allowing multiple
      Python versions to be found at the same time.
"""


def test_pyenv_shim_failure_shows_its_cause(tmp_path: os.PathLike[str]) -> None:
    """A pyenv shim of a version that is not selected: the cause, not its last line."""
    shim = os.path.join(tmp_path, "python3.9")
    with open(shim, "w") as handle:
        handle.write(f"#!/bin/sh\ncat >&2 <<'EOF'\n{PYENV_SHIM_OUTPUT}EOF\nexit 127\n")
    os.chmod(shim, stat.S_IRWXU)
    proc = run("dump", shim)
    assert_clean_error(proc, 1, "exit status 127): pyenv: python3.9: command not found", "3.9.18", "pyenv shell")
    first = proc.stderr.splitlines()[0]
    assert "found at the same time" not in first


def test_ext_of_a_library_that_is_no_extension_module(ext_fixtures: dict[str, str]) -> None:
    proc = run("ext", ext_fixtures["elf/bundled"])
    assert_clean_error(proc, 1, "is not a CPython extension module", "give the extension modules")
