"""`abidiff TAG1 TAG2 --repo R` end to end, as a release manager runs it: the verdict, the
cache, dangerous refs, interrupts, and the checkout left exactly as it was."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.gitrepo import MINIMAL_PYCONFIG, make_dirty, repo_state

pytestmark = pytest.mark.integration


def abidiff(
    *args: str, cache: Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ, ABIDIFF_CACHE_DIR=str(cache), ABIDIFF_NO_PROGRESS="1")
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "abidiff", *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=300
    )


def test_compare_two_tags(cpython_repo: Path, tmp_path: Path) -> None:
    make_dirty(cpython_repo)
    before = repo_state(cpython_repo)
    cache = tmp_path / "cache"
    args = ("v3.12.0a1", "v3.12.0a2", "--repo", str(cpython_repo), "--pyconfig", MINIMAL_PYCONFIG)
    proc = abidiff(*args, "--format", "json", cache=cache)
    assert proc.returncode == 4 | 8, proc.stderr  # changed, and broke: a field added to a public struct
    report = json.loads(proc.stdout)
    assert (report["verdict"], report["release_kind"]) == ("abi-breaking", "alpha")
    assert report["old"]["version"] == "3.12.0a1" and report["new"]["version"] == "3.12.0a2"
    entities = {change["entity"] for change in report["changes"] if change["severity"] == "break"}
    assert any("md_state" in entity for entity in entities), entities
    assert report["headers_only"] is True  # no --build: the report says the exports were not compared
    assert repo_state(cpython_repo) == before

    # the second run reads both snapshots from the cache: with no C compiler libclang could
    # not even find stddef.h, so a parse would fail
    second = abidiff(*args, "--format", "json", cache=cache, env={"ABIDIFF_CC": "no-such-compiler"})
    assert second.returncode == 12, second.stderr
    assert second.stdout == proc.stdout
    info = abidiff("cache", "info", cache=cache)
    assert "snapshots: 2" in info.stdout
    assert repo_state(cpython_repo) == before


def test_release_notes_from_two_tags(cpython_repo: Path, tmp_path: Path) -> None:
    proc = abidiff(
        "v3.12.0a1",
        "v3.12.0a2",
        "--repo",
        str(cpython_repo),
        "--pyconfig",
        MINIMAL_PYCONFIG,
        "--format",
        "news",
        cache=tmp_path / "cache",
    )
    assert proc.returncode == 12, proc.stderr
    assert "Breaking changes in the full CPython ABI between 3.12.0a1 and 3.12.0a2" in proc.stdout
    assert "(CPython ABI break) new field md_state added to the PyModuleObjectLike struct" in proc.stdout


def test_same_tag_twice_is_no_change(cpython_repo: Path, tmp_path: Path) -> None:
    proc = abidiff(
        "v3.12.0a2", "main~1", "--repo", str(cpython_repo), "--pyconfig", MINIMAL_PYCONFIG, cache=tmp_path / "c"
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(
    "ref",
    ["--output=x", "-h", "$(touch p)", "`touch p`", "a;b"],
    ids=["option", "short-option", "subst", "backtick", "semicolon"],
)
def test_dangerous_refs_are_refused(cpython_repo: Path, tmp_path: Path, ref: str) -> None:
    before = repo_state(cpython_repo)
    work = tmp_path / "cwd"
    work.mkdir()
    cache = tmp_path / "cache"
    proc = abidiff(
        "dump", "--repo", str(cpython_repo), "--pyconfig", MINIMAL_PYCONFIG, "--", ref, cache=cache, cwd=work
    )
    assert proc.returncode in (1, 2), proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("abidiff: error: ")
    assert list(work.iterdir()) == []  # no 'p', no 'x'
    assert not (cpython_repo / "p").exists() and not (cpython_repo / "x").exists()
    assert not cache.exists() or not any(cache.rglob("*.json"))
    assert repo_state(cpython_repo) == before


def test_unknown_ref(cpython_repo: Path, tmp_path: Path) -> None:
    proc = abidiff("dump", "v9.9.9", "--repo", str(cpython_repo), "--pyconfig", MINIMAL_PYCONFIG, cache=tmp_path / "c")
    assert proc.returncode == 1
    assert "v9.9.9" in proc.stderr and "abidiff: hint:" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("delay", [0.05, 0.3, 0.6, 0.9, 1.2], ids=lambda d: f"after-{d}s")
def test_interrupted_run_leaves_nothing_behind(cpython_repo: Path, tmp_path: Path, signum: int, delay: float) -> None:
    cache = tmp_path / "cache"
    args = [
        sys.executable,
        "-m",
        "abidiff",
        "v3.12.0a1",
        "v3.12.0a2",
        "--repo",
        str(cpython_repo),
        "--pyconfig",
        MINIMAL_PYCONFIG,
        "--format",
        "json",
    ]
    env = dict(os.environ, ABIDIFF_CACHE_DIR=str(cache), ABIDIFF_NO_PROGRESS="1", ABIDIFF_JOBS="1")
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    proc.send_signal(signum)
    _out, err = proc.communicate(timeout=120)
    assert "Traceback" not in err
    # finished, or stopped by the signal: as abidiff (128 + signum), or, when it came while
    # the interpreter was still starting, by its default action (-signum)
    assert proc.returncode in (0, 4, 12, 128 + signum, -signum), err
    leftovers = [p for p in cache.rglob("*") if p.name.startswith(("tmp-", ".abidiff-"))] if cache.exists() else []
    if (cache / "tmp").is_dir():
        leftovers += list((cache / "tmp").iterdir())  # the private trees of runs
    assert leftovers == []
    for entry in cache.rglob("*.json") if cache.exists() else []:
        json.loads(entry.read_text())  # every entry that exists is whole
    # and the next run works
    again = abidiff(*args[3:], cache=cache)
    assert again.returncode == 12, again.stderr


def test_failing_configure_from_the_command_line(cpython_repo: Path, tmp_path: Path) -> None:
    """No --pyconfig: abidiff runs ./configure in its private copy; when it fails, the user
    sees the tail of its log and exit status 1, and the checkout is untouched."""
    from tests.integration.test_gitref import CONFIGURE_FAIL, add_configure

    add_configure(cpython_repo, CONFIGURE_FAIL)
    before = repo_state(cpython_repo)
    proc = abidiff("dump", "HEAD", "--repo", str(cpython_repo), cache=tmp_path / "cache")
    assert proc.returncode == 1
    assert proc.stderr.startswith("abidiff: error: ") and "Traceback" not in proc.stderr
    assert "no acceptable C compiler found" in proc.stderr  # the log's tail
    assert "abidiff: hint:" in proc.stderr
    assert repo_state(cpython_repo) == before
