"""Hostile trees (issue 11): what a commit holds must never make abidiff read or write
outside the private copy of that commit.  Symbolic links are never written: one that leads
to a file inside the tree becomes a copy of that file, one that dangles, loops or names a
directory is left out, and one that leads outside the tree (absolute, or ``../`` above the
top) is refused with a one-line error.  Submodules are left out; odd modes are normalised."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from abidiff.builder import snapshot_of_resolved
from abidiff.errors import InputError
from abidiff.options import BuildOptions
from abidiff.sources.gitref import commit_of, extract_tree, resolve_gitref
from tests.gitrepo import MINIMAL_PYCONFIG, git, need_git, repo_state

pytestmark = pytest.mark.integration


def options(repo: Path, tmp_path: Path) -> BuildOptions:
    return BuildOptions(repo=str(repo), pyconfig=MINIMAL_PYCONFIG, cache_dir=str(tmp_path / "cache"))


def commit_links(repo: Path, links: dict[str, str]) -> None:
    for name, target in links.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).symlink_to(target)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "links")


def no_links_under(root: Path) -> list[str]:
    return [str(path) for path in root.rglob("*") if path.is_symlink()]


def test_links_inside_the_tree_become_copies(cpython_repo: Path, tmp_path: Path) -> None:
    commit_links(
        cpython_repo,
        {
            "Include/link.h": "patchlevel.h",
            "Include/cpython/up.h": "../patchlevel.h",
            "Include/chain.h": "link.h",
            "Include/dir": "cpython",  # a directory: nothing is read through it
            "Include/dangling.h": "no-such-file.h",
            "Include/loop1.h": "loop2.h",
            "Include/loop2.h": "loop1.h",
        },
    )
    before = repo_state(cpython_repo)
    workdir = tmp_path / "w"
    resolved = resolve_gitref("HEAD", options(cpython_repo, tmp_path), workdir=str(workdir))
    include = Path(resolved.include_dir or "")
    level = (cpython_repo / "Include" / "patchlevel.h").read_bytes()
    for name in ("link.h", "cpython/up.h", "chain.h"):
        assert (include / name).read_bytes() == level
        assert stat.S_ISREG(os.lstat(include / name).st_mode)
    for name in ("dir", "dangling.h", "loop1.h", "loop2.h"):
        assert not os.path.lexists(include / name)
    assert no_links_under(workdir) == []
    assert snapshot_of_resolved(resolved).build.version == "3.12.0a2"
    assert repo_state(cpython_repo) == before


ESCAPES = {
    "absolute": ("Include/evil.h", "{secret}"),
    "parent": ("Include/esc.h", "../../{name}"),
    "deep-parent": ("Include/cpython/esc.h", "../../../../../../../..{secret}"),
}


@pytest.mark.parametrize("escape", ESCAPES.keys())
def test_links_out_of_the_tree_are_refused(cpython_repo: Path, tmp_path: Path, escape: str) -> None:
    secret = tmp_path / "secret.h"  # a host file the parse must never read
    secret.write_text("#define READ_FROM_THE_HOST 1\n")
    (cpython_repo.parent / "secret.h").write_text("#define READ_FROM_THE_HOST 2\n")  # ../../secret.h of the tree
    link, target = ESCAPES[escape]
    target = target.format(secret=secret, name="secret.h")
    commit_links(cpython_repo, {link: target})
    before = repo_state(cpython_repo)
    workdir = tmp_path / "w"
    with pytest.raises(InputError) as caught:
        resolve_gitref("HEAD", options(cpython_repo, tmp_path), workdir=str(workdir))
    message = caught.value.message
    assert message.startswith("the tree holds a symbolic link that leads outside it: " + link)
    assert "\n" not in message and caught.value.exit_status == 1
    assert no_links_under(workdir) == []
    assert repo_state(cpython_repo) == before

    command = ["compare", "v3.12.0a1", "HEAD", "--repo", str(cpython_repo), "--pyconfig", MINIMAL_PYCONFIG]
    proc = subprocess.run(
        [sys.executable, "-m", "abidiff", *command, "--format", "json"],
        capture_output=True,
        text=True,
        env=dict(os.environ, ABIDIFF_CACHE_DIR=str(tmp_path / "cli-cache")),
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith("abidiff: error: ") and "Traceback" not in proc.stderr
    assert "leads outside it: " + link in proc.stderr
    assert "READ_FROM_THE_HOST" not in proc.stdout + proc.stderr
    assert repo_state(cpython_repo) == before


def test_a_link_outside_the_headers_is_not_even_listed(cpython_repo: Path, tmp_path: Path) -> None:
    """Without configure or --build only Include/, Misc/stable_abi.* and PC/pyconfig.h* are
    copied: a hostile link elsewhere in the tree plays no part (it would be refused for a
    configure or a build, which copy the whole tree)."""
    commit_links(cpython_repo, {"Doc/evil.txt": "/etc/passwd"})
    resolved = resolve_gitref("HEAD", options(cpython_repo, tmp_path), workdir=str(tmp_path / "w"))
    assert resolved.include_dir is not None and not (tmp_path / "w" / "tree" / "Doc").exists()
    with pytest.raises(InputError, match=r"leads outside it: Doc/evil\.txt -> /etc/passwd"):
        extract_tree(str(cpython_repo), commit_of("HEAD", str(cpython_repo)), str(tmp_path / "whole"), paths=None)


def literal_tree(repo: Path, entries: list[tuple[str, str, str]]) -> str:
    """A tree object written as given (modes git itself would not write), sorted by name."""
    raw = b"".join(
        mode.encode() + b" " + name.encode() + b"\0" + bytes.fromhex(sha) for mode, name, sha in sorted(entries)
    )
    proc = subprocess.run(
        ["git", "-C", str(repo), "hash-object", "-t", "tree", "-w", "--stdin", "--literally"],
        input=raw,
        capture_output=True,
        check=True,
    )
    return proc.stdout.decode().strip()


def blob(repo: Path, data: bytes) -> str:
    proc = subprocess.run(
        ["git", "-C", str(repo), "hash-object", "-w", "--stdin"], input=data, capture_output=True, check=True
    )
    return proc.stdout.decode().strip()


def commit_tree(repo: Path, tree: str) -> str:
    return git(repo, "commit-tree", tree, "-m", "crafted").strip()


def test_submodules_and_odd_modes(tmp_path: Path) -> None:
    need_git()
    repo = tmp_path / "repo"
    git(tmp_path, "init", "-q", str(repo))
    header = blob(repo, b"#define X 1\n")
    include = literal_tree(
        repo,
        [
            ("100664", "group.h", header),  # a mode of old git versions
            ("100777", "all.h", header),
            ("160000", "submodule", "1" * 40),  # a gitlink: its commit is in another repository
        ],
    )
    commit = commit_tree(repo, literal_tree(repo, [("40000", "Include", include)]))
    dest = tmp_path / "tree"
    assert extract_tree(str(repo), commit, str(dest)) == 2
    assert sorted(os.listdir(dest / "Include")) == ["all.h", "group.h"]
    assert stat.S_IMODE(os.stat(dest / "Include" / "group.h").st_mode) == 0o644
    assert stat.S_IMODE(os.stat(dest / "Include" / "all.h").st_mode) == 0o755
    assert (dest / "Include" / "group.h").read_bytes() == b"#define X 1\n"


@pytest.mark.parametrize("name", [".git", "..", "."])
def test_hostile_names_are_refused_before_anything_is_written(tmp_path: Path, name: str) -> None:
    need_git()
    repo = tmp_path / "repo"
    git(tmp_path, "init", "-q", str(repo))
    header = blob(repo, b"#define X 1\n")
    inner = literal_tree(repo, [("100644", "config", header)])
    include = literal_tree(repo, [("100644", "Python.h", header), ("40000", name, inner)])
    commit = commit_tree(repo, literal_tree(repo, [("40000", "Include", include)]))
    dest = tmp_path / "tree"
    with pytest.raises(InputError, match="the tree holds a path abidiff will not write"):
        extract_tree(str(repo), commit, str(dest))
    assert not dest.exists()
