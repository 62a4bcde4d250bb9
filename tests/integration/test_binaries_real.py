"""The binary readers on the real CPython builds of this machine: exports against
``nm -D --defined-only``, DWARF layouts against the headers, speed and memory."""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import time
import tracemalloc
from pathlib import Path

import pytest

from abidiff.binaries import read_binary
from abidiff.binaries.dwarf import check_layouts, wanted_records
from abidiff.model import BinaryRole, Tier
from tests.realbuilds import PYENV, pyenv_python

pytestmark = pytest.mark.integration

DEBIAN_LIBPYTHON = "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"
LIBPYTHON_313 = os.path.join(PYENV, "3.13.0", "lib", "libpython3.13.so.1.0")
# every pyenv build of this machine, plus Debian's: found when the module is collected
LIBRARIES = [*sorted(glob.glob(os.path.join(PYENV, "*", "lib", "libpython3.*.so.1.0"))), DEBIAN_LIBPYTHON]


def nm_exports(path: str) -> set[tuple[str, str | None]]:
    """(name, version) of every defined global symbol ``nm -D --defined-only`` lists."""
    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("nm (binutils) is not on PATH")
    output = subprocess.run([nm, "-D", "--defined-only", path], capture_output=True, text=True, check=True).stdout
    exports = set()
    for line in output.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        letter, name = parts[-2], parts[-1]
        if letter.islower() and letter != "u":  # local (and hidden) symbols
            continue
        name, _, version = name.replace("@@", "@").partition("@")
        exports.add((name, version or None))
    return exports


@pytest.mark.parametrize("path", LIBRARIES, ids=lambda path: path.replace(PYENV + "/", "pyenv-").replace("/", "_"))
def test_exports_equal_nm(path: str) -> None:
    if not os.path.isfile(path):
        pytest.skip(f"{path} is not installed on this machine")
    (binary,) = read_binary(path, BinaryRole.LIBPYTHON)
    expected = nm_exports(path)
    assert len(expected) > 1000  # a libpython: the oracle really listed its exports
    assert {(s.name, s.version) for s in binary.symbols} == expected
    assert binary.soname == os.path.basename(path) and "libc.so.6" in binary.needed


def test_interpreter_snapshot_reads_libpython_and_the_stable_abi_shim() -> None:
    from abidiff.builder import snapshot_of

    snap = snapshot_of(pyenv_python("3.13.0"))
    roles = {binary.role: binary for binary in snap.binaries}
    assert not snap.build.headers_only
    assert len(roles[BinaryRole.LIBPYTHON].symbols) > 1500
    assert roles[BinaryRole.STABLE_ABI].path.endswith("libpython3.so")
    assert roles[BinaryRole.STABLE_ABI].symbols == ()  # a shim: it only needs libpython3.13
    assert "libpython3.13.so.1.0" in roles[BinaryRole.STABLE_ABI].needed


def test_reading_exports_is_fast_and_small() -> None:
    if not os.path.isfile(LIBPYTHON_313):
        pytest.skip(f"{LIBPYTHON_313} is not installed on this machine")
    read_binary(LIBPYTHON_313, BinaryRole.LIBPYTHON)  # warm imports and page cache
    started = time.perf_counter()
    read_binary(LIBPYTHON_313, BinaryRole.LIBPYTHON)
    assert time.perf_counter() - started < 0.8
    tracemalloc.start()
    read_binary(LIBPYTHON_313, BinaryRole.LIBPYTHON)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < os.path.getsize(LIBPYTHON_313) // 10  # never the file (30 MB) in memory


@pytest.mark.parametrize("version", ["3.12.1", "3.13.0"])
def test_dwarf_agrees_with_the_headers(version: str) -> None:
    from abidiff.builder import snapshot_of

    snap = snapshot_of(pyenv_python(version))
    (libpython,) = [b for b in snap.binaries if b.role == BinaryRole.LIBPYTHON]
    from abidiff.headers.tree import read_tree
    from abidiff.sources import resolve

    resolved = resolve(pyenv_python(version))
    assert resolved.include_dir is not None
    # the headers Python.h does not include (datetime.h, py_curses.h, pyexpat.h) declare the
    # structs of extension modules (_datetime, _curses, pyexpat): not in libpython's DWARF
    extra = set(read_tree(resolved.include_dir, resolved.config_dirs).extra)
    check = check_layouts(libpython.path, tuple(r for r in snap.records if r.header not in extra))
    assert check.warnings == ()
    public = {
        r.name for r in wanted_records(snap.records) if r.tier in (Tier.LIMITED, Tier.PUBLIC) and r.header not in extra
    }
    assert "struct _object" in check.compared and "struct _typeobject" in check.compared
    assert public <= set(check.compared), f"public records the DWARF lacks: {sorted(public - set(check.compared))}"


def _headers_with(version: str, line: str, tmp_path: Path) -> str:
    feature = ".".join(version.split(".")[:2])
    source = os.path.join(PYENV, version, "include", f"python{feature}")
    if not os.path.isfile(os.path.join(source, "Python.h")):
        pytest.skip(f"the headers of CPython {version} are not installed at {source}")
    target = tmp_path / f"python{feature}"
    shutil.copytree(source, target)
    with open(target / "pyconfig.h", "a", encoding="utf-8") as handle:
        handle.write(f"\n{line}\n")
    return str(target)


def test_py_trace_refs_headers_disagree_with_the_dwarf(tmp_path: Path) -> None:
    """3.12: Py_TRACE_REFS adds _ob_next/_ob_prev to every object; the built library has not.
    End to end, as a user runs it: ``abidiff dump --dwarf --lib LIBPYTHON INCLUDE``."""
    import json
    import subprocess
    import sys

    include = _headers_with("3.12.1", "#define Py_TRACE_REFS 1", tmp_path)
    library = os.path.join(PYENV, "3.12.1", "lib", "libpython3.12.so.1.0")
    proc = subprocess.run(
        [sys.executable, "-m", "abidiff", "dump", "--no-cache", "--dwarf", "--lib", library, include],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    warnings = json.loads(proc.stdout)["snapshot"]["warnings"]
    assert (
        "DWARF of libpython3.12.so.1.0: struct _object (PyObject) is 16 bytes, the headers say 32 "
        "(a build configured differently from its headers, e.g. Py_TRACE_REFS)"
    ) in warnings
    assert any(
        re.match(r"DWARF of libpython3\.12\.so\.1\.0: the members of struct _object \(PyObject\) differ", w)
        for w in warnings
    )
    # the limited API refuses Py_TRACE_REFS (an #error in Python.h): said, not failed on
    assert any("defines Py_TRACE_REFS, which the limited API does not support" in w for w in warnings)


def test_mismatched_pyconfig_warns_in_the_snapshot(tmp_path: Path) -> None:
    """End to end through snapshot_of(..., extra_libraries=..., dwarf=True): 3.13's headers
    with Py_STATS (PyConfig gains _pystats) against the real libpython3.13."""
    from abidiff.builder import snapshot_of

    include = _headers_with("3.13.0", "#define Py_STATS 1", tmp_path)
    snap = snapshot_of(include, extra_libraries=(os.path.join(PYENV, "3.13.0", "lib", "libpython3.13.so"),), dwarf=True)
    assert [b.role for b in snap.binaries] == [BinaryRole.LIBPYTHON]
    assert not snap.build.headers_only
    assert any("PyConfig" in w and "_pystats" in w and "is not in the library" in w for w in snap.warnings), (
        snap.warnings
    )
