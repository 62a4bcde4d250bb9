"""Hostile and unlucky header trees (issue 11): each ends within seconds with a one-line error
and exit status 1, or (a header ``Python.h`` does not need) with a snapshot warning; an
interrupted parse stops at once and leaves no temporary directory or worker behind.

The trees are copies of fixtures/headers/minimal made in tmp_path, with one thing broken."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from abidiff.errors import BuildSpecError, HeaderParseError
from abidiff.headers import extract
from abidiff.headers.job import ParseJob
from abidiff.headers.macros import MAX_CANDIDATES, macro_candidates
from abidiff.headers.parse import scan
from abidiff.headers.patchlevel import read_patchlevel
from abidiff.headers.toolchain import host_toolchain
from abidiff.headers.tree import MAX_HEADER_BYTES, MAX_TREE_BYTES, read_tree
from tests.conftest import MINIMAL_HEADERS, ROOT

ABIDIFF = [sys.executable, "-m", "abidiff"]


def _tree(tmp_path: Path, name: str = "include") -> Path:
    target = tmp_path / name
    shutil.copytree(MINIMAL_HEADERS, target)
    return target


def _include_from_python_h(tree: Path, header: str) -> None:
    python_h = tree / "Python.h"
    text = python_h.read_text()
    python_h.write_text(text.replace('#include "limited.h"\n', f'#include "limited.h"\n#include "{header}"\n'))


def _run(
    *args: str | os.PathLike[str], prefix: tuple[str, ...] = (), env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = dict(os.environ, ABIDIFF_NO_PROGRESS="1", PYTHONPATH=os.path.join(ROOT, "src"), **(env or {}))
    return subprocess.run(
        [*prefix, *ABIDIFF, *map(str, args)], capture_output=True, text=True, timeout=120, env=environ, check=False
    )


def _one_line_error(proc: subprocess.CompletedProcess[str], *words: str) -> str:
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    first = proc.stderr.splitlines()[0]
    assert first.startswith("abidiff: error: "), proc.stderr
    for word in words:
        assert word in first, first
    return first


def _dump_warnings(tmp_path: Path, tree: Path) -> list[str]:
    out = tmp_path / "snapshot.json"
    proc = _run("dump", tree, "--no-cache", "-o", out)
    assert proc.returncode == 0, proc.stderr
    snapshot = json.loads(out.read_text())["snapshot"]
    warnings: list[str] = snapshot["warnings"]
    # each header left out is also named as a value, for the diff to leave it out (ABI004)
    assert snapshot["unread"] == sorted(w.split(" was not read: ")[0] for w in warnings if " was not read: " in w)
    return warnings


# -- patchlevel.h ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PY_MINOR_VERSION", "100000"),
        ("PY_MAJOR_VERSION", "10"),
        ("PY_MICRO_VERSION", "256"),
        ("PY_RELEASE_SERIAL", "16"),
        ("PY_MINOR_VERSION", "9" * 5000),
        ("PY_MINOR_VERSION", "-1"),
    ],
    ids=["minor-100000", "major-10", "micro-256", "serial-16", "minor-5000-digits", "minor-negative"],
)
def test_absurd_versions_are_refused(tmp_path: Path, name: str, value: str) -> None:
    tree = _tree(tmp_path)
    text = (tree / "patchlevel.h").read_text()
    lines = [f"#define {name} {value}" if line.startswith(f"#define {name} ") else line for line in text.splitlines()]
    (tree / "patchlevel.h").write_text("\n".join(lines) + "\n")
    with pytest.raises(BuildSpecError) as caught:
        read_patchlevel(str(tree))
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 300


def test_a_minor_version_of_100000_ends_at_once_from_the_command_line(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    (tree / "patchlevel.h").write_text((tree / "patchlevel.h").read_text().replace(" 12\n", " 100000\n"))
    started = time.monotonic()
    _one_line_error(_run("dump", tree, "--no-cache"), "PY_MINOR_VERSION 100000")
    assert time.monotonic() - started < 30


def test_a_fifo_patchlevel_h_is_refused(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    (tree / "patchlevel.h").unlink()
    os.mkfifo(tree / "patchlevel.h")
    with pytest.raises(BuildSpecError, match="not a regular file"):
        read_patchlevel(str(tree))


# -- sizes ----------------------------------------------------------------------------------


def _sparse(path: Path, size: int) -> None:
    with open(path, "wb") as handle:
        handle.truncate(size)


def test_a_50_mb_header_python_h_includes_is_refused(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    _sparse(tree / "huge.h", 50 * 1024 * 1024)
    _include_from_python_h(tree, "huge.h")
    started = time.monotonic()
    _one_line_error(_run("dump", tree, "--no-cache"), "huge.h", "52,428,800 bytes", f"{MAX_HEADER_BYTES:,}")
    assert time.monotonic() - started < 30


def test_a_50_mb_header_nothing_includes_is_left_out_with_a_warning(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    _sparse(tree / "huge.h", 50 * 1024 * 1024)
    found = read_tree(str(tree))
    assert "huge.h" not in found.extra and "huge.h" not in found.headers
    assert found.warnings() == (
        f"huge.h was not read: it is 52,428,800 bytes, over the limit of {MAX_HEADER_BYTES:,} bytes for one header",
    )


def test_the_whole_tree_is_bounded(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    count = MAX_TREE_BYTES // (MAX_HEADER_BYTES - 1) + 1
    for number in range(count):
        (tree / f"part{number}.h").write_bytes(b"/" * (MAX_HEADER_BYTES - 1))
    with pytest.raises(BuildSpecError, match="together, over the limit"):
        read_tree(str(tree))


def test_too_many_macros_are_refused_before_parsing(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    (tree / "many.h").write_text("".join(f"#define M{n} {n}\n" for n in range(MAX_CANDIDATES + 1)))
    job = ParseJob(include_dir=str(tree), header_paths=read_tree(str(tree)).paths)
    with pytest.raises(HeaderParseError, match="more than 20,000 macros"):
        macro_candidates(job)


def test_too_many_declarations_end_the_walk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = _tree(tmp_path)
    job = ParseJob(include_dir=str(tree), system_dirs=host_toolchain().system_include_dirs)
    monkeypatch.setattr(extract, "MAX_DECLARATIONS", 10)
    with pytest.raises(HeaderParseError, match="more than 10 declarations"):
        scan(job)
    monkeypatch.setattr(extract, "MAX_DECLARATIONS", 30_000)
    monkeypatch.setattr(extract, "MAX_CURSORS", 100)
    with pytest.raises(HeaderParseError, match="more than 100 top-level"):
        scan(replace(job, evaluate_macros=False))


# -- files that are not headers -------------------------------------------------------------


def test_a_fifo_header(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    os.mkfifo(tree / "pipe.h")
    assert read_tree(str(tree)).warnings() == ("pipe.h was not read: it is not a regular file",)
    _include_from_python_h(tree, "pipe.h")
    with pytest.raises(BuildSpecError, match=r"pipe\.h .* is needed by Python\.h, but it is not a regular file"):
        read_tree(str(tree))


def test_symbolic_link_loops(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    (tree / "loop.h").symlink_to("loop.h")  # a file that points at itself
    (tree / "cpython" / "again").symlink_to("..")  # a directory loop: never followed
    why = "loop.h was not read: it cannot be read (Too many levels of symbolic links)"
    assert read_tree(str(tree)).warnings() == (why,)
    assert _dump_warnings(tmp_path, tree) == [why]  # through the cache key too
    proc = _run("dump", tree, "-o", tmp_path / "cached.json")
    assert proc.returncode == 0, proc.stderr


# -- names that are not UTF-8 ---------------------------------------------------------------


@pytest.mark.parametrize("locale", ["C.UTF-8", "C"], ids=["utf8-locale", "LC_ALL=C"])
def test_an_include_directory_whose_name_is_not_utf8(tmp_path: Path, locale: str) -> None:
    tree = _tree(tmp_path, os.fsdecode(b"inc\xe9"))
    with pytest.raises(BuildSpecError, match="not valid UTF-8"):
        read_tree(str(tree))
    _one_line_error(_run("dump", tree, "--no-cache", env={"LC_ALL": locale}), "inc\\xe9", "not valid UTF-8")


def test_a_header_whose_name_is_not_utf8(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    shutil.copy(tree / "limited.h", tree / os.fsdecode(b"caf\xe9.h"))
    assert _dump_warnings(tmp_path, tree) == ["caf\\xe9.h was not read: its name is not valid UTF-8"]


# -- unreadable files -----------------------------------------------------------------------


def _unprivileged(probe: Path) -> tuple[str, ...]:
    """A command prefix under which a mode 000 file cannot be read (root keeps reading it
    unless it drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH)."""
    prefix: tuple[str, ...] = ()
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv (util-linux): a mode 000 file stays readable")
        caps = "-dac_override,-dac_read_search"
        prefix = (setpriv, f"--bounding-set={caps}", f"--inh-caps={caps}", "--")
    if subprocess.run([*prefix, "cat", str(probe)], capture_output=True, check=False).returncode == 0:
        pytest.skip("this environment reads mode 000 files even without DAC capabilities")
    return prefix


@pytest.mark.parametrize("cache", [True, False], ids=["cache", "no-cache"])
def test_unreadable_pyconfig_h(tmp_path: Path, cache: bool) -> None:
    tree = _tree(tmp_path)
    (tree / "pyconfig.h").chmod(0)
    prefix = _unprivileged(tree / "pyconfig.h")
    args = ("dump", tree, "-o", tmp_path / "out.json") + (() if cache else ("--no-cache",))
    _one_line_error(_run(*args, prefix=prefix), "pyconfig.h", "Permission denied")
    assert not (tmp_path / "out.json").exists()


def test_an_unreadable_header_python_h_does_not_need_is_a_warning(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    (tree / "extra.h").write_text("int extra;\n")
    (tree / "extra.h").chmod(0)
    prefix = _unprivileged(tree / "extra.h")
    out = tmp_path / "out.json"
    proc = _run("dump", tree, "-o", out, prefix=prefix)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["snapshot"]["warnings"] == [
        "extra.h was not read: it cannot be read (Permission denied)"
    ]


def test_an_unreadable_directory_of_the_tree(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    (tree / "cpython").chmod(0)
    try:
        prefix = _unprivileged(tree / "cpython" / "object.h")
        _one_line_error(_run("dump", tree, "--no-cache", prefix=prefix), "cpython", "Permission denied")
    finally:
        (tree / "cpython").chmod(0o755)


# -- interrupted parses ---------------------------------------------------------------------


def _slow_tree(tmp_path: Path, name: str) -> Path:
    """A tree whose full-API parse takes several seconds: two headers of ~1 MB of functions."""
    tree = _tree(tmp_path, name)
    for part in range(2):
        lines = (f"PyAPI_FUNC(int) PySlow_{part}_{n}(PyObject *o, int x);\n" for n in range(25_000))
        (tree / f"slow{part}.h").write_text("".join(lines)[: MAX_HEADER_BYTES - 100].rsplit("\n", 1)[0] + "\n")
        _include_from_python_h(tree, f"slow{part}.h")
    return tree


def _processes_with(text: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    if text.encode() in handle.read():
                        found.append(int(entry))
            except OSError:
                continue
    return found


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc to find the parse workers")
@pytest.mark.parametrize("command", ["dump", "compare"])
def test_sigint_during_a_long_parse_stops_at_once_and_cleans_up(tmp_path: Path, command: str) -> None:
    old = _slow_tree(tmp_path, "old-include")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    args = ["dump", str(old), "--no-cache", "-o", str(tmp_path / "out.json")]
    if command == "compare":
        args = [str(old), str(_slow_tree(tmp_path, "new-include")), "--no-cache"]
    environ = dict(os.environ, ABIDIFF_NO_PROGRESS="1", TMPDIR=str(scratch), ABIDIFF_JOBS="2")
    proc = subprocess.Popen([*ABIDIFF, *args], env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not any(name.startswith("abidiff-pch-") for name in os.listdir(scratch)):
        assert proc.poll() is None and time.monotonic() < deadline, "the parse never started"
        time.sleep(0.05)
    time.sleep(1.0)  # well inside the parse of the full API
    assert proc.poll() is None
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 2.0
    assert proc.returncode == 130, err
    assert "Traceback" not in err.decode()
    assert os.listdir(scratch) == []  # no abidiff-pch-* left
    assert _processes_with(str(old)) == []  # no parse worker left
    assert not (tmp_path / "out.json").exists()
