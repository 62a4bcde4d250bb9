"""A temporary git repository laid out like CPython (``Include/``, ``Include/cpython/``,
``PC/pyconfig.h``, ``Misc/stable_abi.toml``), built from fixtures/headers/minimal, and a
record of everything a run must leave unchanged in it."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, MINIMAL_HEADERS

MINIMAL_PYCONFIG = os.path.join(MINIMAL_HEADERS, "pyconfig.h")
PC_PYCONFIG = os.path.join(FIXTURES, "gitrepo", "PC-pyconfig.h")


def git(repo: Path, *args: str) -> str:
    env = dict(
        os.environ,
        GIT_OPTIONAL_LOCKS="0",
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.invalid",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.invalid",
        GIT_CONFIG_GLOBAL=str(repo.parent / "no-such-gitconfig"),  # the user's config stays out
        GIT_CONFIG_NOSYSTEM="1",
    )
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, f"git {' '.join(args)} failed: {proc.stderr.strip()}"
    return proc.stdout


def need_git() -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not on PATH")


def set_version(include: Path, serial: int) -> None:
    text = (include / "patchlevel.h").read_text()
    text = re.sub(r"PY_RELEASE_SERIAL\s+\d+", f"PY_RELEASE_SERIAL {serial}", text)
    text = re.sub(r'"3\.12\.0a\d+"', f'"3.12.0a{serial}"', text)
    (include / "patchlevel.h").write_text(text)


def make_cpython_repo(tmp_path: Path) -> Path:
    """A repository laid out like CPython, from fixtures/headers/minimal: v3.12.0a1, then an
    edit (a new field of PyModuleObjectLike), v3.12.0a2; then main moves on."""
    need_git()
    repo = tmp_path / "cpython"
    include = repo / "Include"
    shutil.copytree(MINIMAL_HEADERS, include, ignore=shutil.ignore_patterns("README.md", "pyconfig.h"))
    (repo / "PC").mkdir()
    shutil.copy(PC_PYCONFIG, repo / "PC" / "pyconfig.h")
    (repo / "Misc").mkdir()
    shutil.copy(os.path.join(FIXTURES, "manifest", "stable_abi.toml"), repo / "Misc" / "stable_abi.toml")
    (repo / "README.rst").write_text("This is a CPython-like tree for abidiff's tests.\n")
    git(repo.parent, "init", "-q", "-b", "main", str(repo))
    set_version(include, 1)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "3.12.0a1")
    git(repo, "tag", "-a", "-m", "Python 3.12.0a1", "v3.12.0a1")
    set_version(include, 2)
    obj = include / "cpython" / "object.h"
    obj.write_text(obj.read_text().replace("PyObject *md_dict;", "PyObject *md_dict;\n    PyObject *md_state;"))
    git(repo, "commit", "-q", "-am", "3.12.0a2: md_state")
    git(repo, "tag", "v3.12.0a2")
    (repo / "README.rst").write_text("main moved on\n")
    git(repo, "commit", "-q", "-am", "main moves on")
    return repo


def make_dirty(repo: Path) -> None:
    (repo / "untracked.txt").write_text("leave me\n")
    (repo / "README.rst").write_text("modified but not committed\n")
    (repo / "Include" / "patchlevel.h").write_text("/* staged and broken */\n")
    git(repo, "add", "Include/patchlevel.h")


_SHIM = """#!/bin/sh
# abidiff's tests: log each git command; hold the first one matching $ABIDIFF_TEST_GIT_HOLD
# until $ABIDIFF_TEST_GIT_HOLD_DIR/release exists (at most 60 s), then run the real git
printf '%s\\n' "$*" >> "$ABIDIFF_TEST_GIT_LOG"
if [ -n "$ABIDIFF_TEST_GIT_HOLD" ]; then
  case "$*" in
    *"$ABIDIFF_TEST_GIT_HOLD"*)
      if mkdir "$ABIDIFF_TEST_GIT_HOLD_DIR/held" 2>/dev/null; then
        : > "$ABIDIFF_TEST_GIT_HOLD_DIR/reached"
        i=0
        while [ ! -e "$ABIDIFF_TEST_GIT_HOLD_DIR/release" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done
      fi;;
  esac
fi
exec {git} "$@"
"""


@dataclass(frozen=True)
class GitShim:
    """A directory to put first on PATH: its ``git`` logs every command line to ``log``,
    and can hold one until the test releases it (a run stopped at a known point)."""

    bin_dir: Path
    log: Path
    hold_dir: Path

    def env(self, hold: str | None = None) -> dict[str, str]:
        env = {
            "PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "ABIDIFF_TEST_GIT_LOG": str(self.log),
            "ABIDIFF_TEST_GIT_HOLD_DIR": str(self.hold_dir),
        }
        if hold is not None:
            env["ABIDIFF_TEST_GIT_HOLD"] = hold
        return env

    def commands(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def reached(self) -> bool:
        return (self.hold_dir / "reached").exists()

    def release(self) -> None:
        (self.hold_dir / "release").touch()


def git_shim(tmp_path: Path) -> GitShim:
    need_git()
    real = shutil.which("git")
    assert real is not None
    bin_dir = tmp_path / "git-shim"
    bin_dir.mkdir()
    script = bin_dir / "git"
    script.write_text(_SHIM.replace("{git}", real))
    script.chmod(0o755)
    hold_dir = tmp_path / "git-hold"
    hold_dir.mkdir()
    return GitShim(bin_dir=bin_dir, log=tmp_path / "git-commands.log", hold_dir=hold_dir)


@dataclass(frozen=True)
class RepoState:
    status: str
    head: str
    head_ref: str
    index: bytes
    stash: str
    worktrees: str
    git_files: dict[str, str]


def repo_state(repo: Path) -> RepoState:
    files = {}
    for path in sorted((repo / ".git").rglob("*")):
        if path.is_file():
            files[str(path.relative_to(repo))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return RepoState(
        status=git(repo, "status", "--porcelain", "--ignored", "--untracked-files=all"),
        head=git(repo, "rev-parse", "HEAD"),
        head_ref=git(repo, "symbolic-ref", "-q", "HEAD"),
        index=(repo / ".git" / "index").read_bytes(),
        stash=git(repo, "stash", "list"),
        worktrees=git(repo, "worktree", "list", "--porcelain"),
        git_files=files,
    )
