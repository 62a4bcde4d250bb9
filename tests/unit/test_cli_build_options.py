"""The build options end to end, on a CPython-like git repository with no configure script
(tests/gitrepo.py): ``dump`` and ``abi3`` of a git ref read its headers and never compile
unless ``--build`` is given (the dest clash of issue 9); every option works before the
command name and before OLD NEW; ``ext`` reads its builds with them too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gitrepo import MINIMAL_PYCONFIG, repo_state


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.gitrepo import make_cpython_repo

    made = make_cpython_repo(tmp_path_factory.mktemp("repo"))
    assert not (made / "configure").exists()  # a build would fail: nothing here can compile
    return made


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


def abidiff(*args: str, cache: Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ABIDIFF_CACHE_DIR=str(cache), ABIDIFF_NO_PROGRESS="1")
    return subprocess.run(
        [sys.executable, "-m", "abidiff", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )


def test_dump_of_a_git_ref_does_not_build(repo: Path, cache: Path) -> None:
    before = repo_state(repo)
    proc = abidiff("dump", "--repo", str(repo), "--pyconfig", MINIMAL_PYCONFIG, "v3.12.0a1", cache=cache)
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    assert document["snapshot"]["build"]["version"] == "3.12.0a1"
    assert document["snapshot"]["binaries"] == []  # headers only: nothing was compiled
    assert repo_state(repo) == before


def test_abi3_of_a_git_ref_does_not_build(repo: Path, cache: Path) -> None:
    proc = abidiff(
        "abi3", "--repo", str(repo), "--pyconfig", MINIMAL_PYCONFIG, "v3.12.0a2", "--format", "json", cache=cache
    )
    assert proc.returncode in (0, 4), proc.stderr  # findings, never a break, never an error
    document = json.loads(proc.stdout)
    assert document["schema"] == "abidiff-abi3"
    assert document["build"]["version"] == "3.12.0a2"
    assert document["exports_checked"] is False


@pytest.mark.parametrize("command", ["dump", "abi3"])
def test_build_flag_builds(repo: Path, tmp_path: Path, command: str) -> None:
    """With --build the same command compiles libpython: here that fails (no configure
    script), which shows the flag is read."""
    proc = abidiff(command, "--build", "--repo", str(repo), "--pyconfig", MINIMAL_PYCONFIG, "v3.12.0a1", cache=tmp_path)
    assert proc.returncode == 1
    assert "no configure script" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["--repo", "{repo}", "v3.12.0a1", "v3.12.0a2", "--pyconfig", "{pyconfig}"],
        ["--pyconfig", "{pyconfig}", "--repo", "{repo}", "v3.12.0a1", "v3.12.0a2"],
        ["--no-cache", "v3.12.0a1", "--repo", "{repo}", "v3.12.0a2", "--pyconfig", "{pyconfig}"],
        ["--format", "json", "--repo={repo}", "--pyconfig={pyconfig}", "v3.12.0a1", "v3.12.0a2"],
        ["--repo", "{repo}", "--pyconfig", "{pyconfig}", "compare", "v3.12.0a1", "v3.12.0a2"],
    ],
    ids=["repo-first", "pyconfig-first", "no-cache-first", "format-first", "before-command"],
)
def test_options_before_old_new(repo: Path, cache: Path, argv: list[str]) -> None:
    args = [arg.format(repo=repo, pyconfig=MINIMAL_PYCONFIG) for arg in argv]
    proc = abidiff(*args, cache=cache)
    assert proc.returncode == 4 | 8, proc.stderr  # a field added to a public struct
    assert "md_state" in proc.stdout


def test_build_and_cache_dir_before_old_new(repo: Path, tmp_path: Path) -> None:
    """``abidiff --build --cache-dir D OLD NEW``: both options are read (the build is tried,
    in D; here it fails for want of a configure script)."""
    cache_dir = tmp_path / "D"
    proc = abidiff(
        "--build",
        "--cache-dir",
        str(cache_dir),
        "v3.12.0a1",
        "v3.12.0a2",
        "--repo",
        str(repo),
        "--pyconfig",
        MINIMAL_PYCONFIG,
        cache=tmp_path / "unused",
    )
    assert proc.returncode == 1 and "no configure script" in proc.stderr, proc.stderr
    assert (cache_dir / "CACHEDIR.TAG").is_file()  # the build's private tree was made in D
    assert not (tmp_path / "unused").exists()


def test_options_before_the_command_name(repo: Path, cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "snap.json"
    proc = abidiff(
        "--no-cache",
        "--repo",
        str(repo),
        "--pyconfig",
        MINIMAL_PYCONFIG,
        "-o",
        str(out),
        "dump",
        "v3.12.0a2",
        cache=cache,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert json.loads(out.read_text())["snapshot"]["build"]["version"] == "3.12.0a2"


def test_ext_between_git_refs(repo: Path, cache: Path, ext_fixtures: dict[str, str]) -> None:
    """``ext --between OLD NEW`` reads both builds with the shared options (here git refs)."""
    proc = abidiff(
        "--repo",
        str(repo),
        "ext",
        ext_fixtures["elf/abi3"],
        "--between",
        "v3.12.0a1",
        "v3.12.0a2",
        "--pyconfig",
        MINIMAL_PYCONFIG,
        "--format",
        "json",
        cache=cache,
    )
    assert proc.returncode in (0, 4), proc.stderr
    document = json.loads(proc.stdout)
    assert [side["version"] for side in document["between"]] == ["3.12.0a1", "3.12.0a2"]
    assert document["affected"] is False
