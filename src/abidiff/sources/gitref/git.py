"""Running git's read-only plumbing, and copying a commit's tree out of the repository.

Every git process of abidiff starts here (:func:`git_command`).  git runs with no shell,
no pager, no terminal prompt, stdin closed, ``GIT_OPTIONAL_LOCKS=0`` (not even a stat
refresh of the index) and the fsmonitor off: the user's working tree, index, HEAD, stash and
worktree list are never written.

A tree is copied with ``git ls-tree`` and one ``git cat-file --batch --follow-symlinks``:
blobs raw (no attribute, filter or hook of the repository applies), executable bits kept.
Nothing on disk is ever a symbolic link, so nothing read later can lead out of the tree: a
link that resolves inside the commit becomes a copy of the file it names; one that leads
outside it (an absolute target, or ``../`` above the top) is refused; one that dangles,
loops or names a directory is left out.  Submodules (gitlinks) have no content here and
are left out too.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO

from abidiff.errors import AbidiffError, BuildSpecError, InputError, ToolchainError
from abidiff.sources.gitref.refs import SHA

HEADER_PATHS = ("Include", "Misc/stable_abi.toml", "Misc/stable_abi.txt", "PC/pyconfig.h", "PC/pyconfig.h.in")
GIT_TIMEOUT = 120.0
_MODE_LINK = "120000"
_MODE_EXECUTABLE = "100755"
_SPECIAL = (b"symlink", b"dangling", b"loop", b"notdir")  # answers of --follow-symlinks
_MAX_SMALL_BLOB = 16 << 20  # read_blobs keeps blobs in memory: pyconfig.h is a few kB


class RefNotFound(BuildSpecError):
    """No commit of that name: no repository there, or none of that name in it."""


class GitMissing(ToolchainError):
    """git is not installed."""


def git_env() -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_PREFIX", "GIT_NAMESPACE")
    }
    env.update(
        GIT_OPTIONAL_LOCKS="0",  # never write the index (not even a stat refresh)
        GIT_TERMINAL_PROMPT="0",
        GIT_PAGER="cat",
        PAGER="cat",
        GIT_LITERAL_PATHSPECS="1",
        LC_ALL="C",
    )
    return env


def git_command(repo: str, args: Sequence[str]) -> list[str]:
    """The argv of one git process in ``repo``: the single place abidiff builds one."""
    return ["git", "--no-pager", "-c", "core.fsmonitor=false", "-C", repo, *args]


def _no_git() -> GitMissing:
    return GitMissing(
        "git is not installed: a git ref needs it to read the repository",
        hint="install git (Debian: apt-get install git), or give installed builds instead of refs",
    )


def run_git(repo: str, args: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    try:
        proc = subprocess.run(
            git_command(repo, args),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=git_env(),
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError as exc:
        raise _no_git() from exc
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolchainError(f"git {args[0]} failed in {repo}: {exc}") from exc
    if check and proc.returncode != 0:
        raise ToolchainError(
            f"git {args[0]} failed in {repo}: {last_line(proc.stderr)}",
            hint=f"check the repository: 'git -C {repo} status'",
        )
    return proc


def last_line(data: bytes) -> str:
    lines = data.decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else "no message"


# --- where: the repository and the commit -------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Location:
    root: str  # the top-level directory of the checkout
    commit: str  # the full sha of the commit the ref names


def _existing_dir(repo: str | None) -> str:
    where = os.path.abspath(os.path.expanduser(repo or os.getcwd()))
    if not os.path.isdir(where):
        raise RefNotFound(f"the repository {where} does not exist", hint="give the CPython checkout with --repo DIR")
    return where


def _not_a_checkout(where: str, stderr: bytes) -> RefNotFound:
    text = stderr.decode("utf-8", "replace")
    if "dubious ownership" in text:
        return RefNotFound(
            f"git refuses to read {where}: it belongs to another user",
            hint=f"git config --global --add safe.directory {where}",
        )
    if "must be run in a work tree" in text:
        return RefNotFound(
            f"{where} is a bare git repository: abidiff reads refs of a checkout",
            hint="give a CPython checkout with --repo DIR",
        )
    return RefNotFound(
        f"{where} is not in a git repository ({last_line(stderr)})",
        hint="run abidiff inside a CPython checkout, or give one with --repo DIR",
    )


# the refs resolved in the scope of resolving_once(): (directory, ref) -> where it led
_resolved: dict[tuple[str, str], Location] | None = None


@contextlib.contextmanager
def resolving_once() -> Iterator[None]:
    """Within it, a ref is resolved by git once: a command that first asks what its builds'
    snapshots are keyed by, then makes them, runs one ``rev-parse`` per ref, not two.  (A
    scope, not a memory of the process: a ref may move between two commands.)"""
    global _resolved
    outer = _resolved
    if outer is None:
        _resolved = {}
    try:
        yield
    finally:
        if outer is None:
            _resolved = None


def locate(ref: str, repo: str | None = None) -> Location:
    """The checkout around ``repo`` (default: the current directory) and the commit ``ref``
    names in it, with one git process (none when :func:`resolving_once` resolved it already).
    ``ref`` must have passed :func:`check_ref`."""
    where = _existing_dir(repo)
    memo = _resolved
    if memo is not None and (where, ref) in memo:
        return memo[(where, ref)]
    found = _locate(ref, where)
    if memo is not None:
        memo[(where, ref)] = found
    return found


def _locate(ref: str, where: str) -> Location:
    args = ["rev-parse", "--show-toplevel", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"]
    proc = run_git(where, args, check=False)
    out = proc.stdout.decode("utf-8", "surrogateescape")
    if proc.returncode == 0 and out.count("\n") >= 2:
        root, _, sha = out.rstrip("\n").rpartition("\n")
    else:
        root, sha = out.removesuffix("\n") if proc.returncode == 1 else "", ""
    if not root:
        raise _not_a_checkout(where, proc.stderr)
    if not SHA.match(sha):
        raise RefNotFound(
            f"no commit '{ref}' in the repository {root}",
            hint=f"list the tags with 'git -C {root} tag --list', or fetch them with 'git -C {root} fetch --tags'",
        )
    return Location(root=root, commit=sha)


def repository_root(repo: str | None = None) -> str:
    """The top-level directory of the checkout around ``repo`` (one git process)."""
    where = _existing_dir(repo)
    proc = run_git(where, ["rev-parse", "--show-toplevel"], check=False)
    root = proc.stdout.decode("utf-8", "surrogateescape").removesuffix("\n")
    if proc.returncode != 0 or not root:
        raise _not_a_checkout(where, proc.stderr)
    return root


# --- reading objects ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class TreeEntry:
    mode: str  # 100644, 100755, 120000 (a link), 160000 (a submodule), or an odd one
    kind: str  # blob, commit (a submodule)
    sha: str
    path: str


def list_tree(repo: str, commit: str, paths: Sequence[str] | None) -> list[TreeEntry]:
    args = ["ls-tree", "-r", "-z", "--full-tree", commit]
    if paths is not None:
        args += ["--", *paths]
    entries = []
    for record in run_git(repo, args).stdout.split(b"\0"):
        if not record:
            continue
        meta, _, raw_path = record.partition(b"\t")
        mode, kind, sha = meta.decode("ascii", "replace").split()
        entries.append(TreeEntry(mode=mode, kind=kind, sha=sha, path=raw_path.decode("utf-8", "surrogateescape")))
    return entries


class _CatFile:
    """One ``git cat-file --batch --follow-symlinks``: ask for objects one after the other."""

    def __init__(self, repo: str) -> None:
        self.repo = repo
        command = git_command(repo, ["cat-file", "--batch", "--follow-symlinks"])
        try:
            self.proc = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=git_env()
            )
        except FileNotFoundError as exc:
            raise _no_git() from exc
        except OSError as exc:
            raise ToolchainError(f"git cat-file could not run: {exc}") from exc
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin: IO[bytes] = self.proc.stdin
        self.stdout: IO[bytes] = self.proc.stdout

    def ask(self, name: str) -> tuple[str, int]:
        """(kind, size) of the object ``name``: blob, tree, commit, or what
        ``--follow-symlinks`` says of a link (symlink, dangling, loop, notdir), or missing."""
        self.stdin.write(name.encode("utf-8", "surrogateescape") + b"\n")
        self.stdin.flush()
        header = self.stdout.readline()
        if not header.endswith(b"\n"):
            raise ToolchainError(
                f"git cat-file stopped answering about {name}", hint=f"check the repository: 'git -C {self.repo} fsck'"
            )
        if header.endswith((b" missing\n", b" ambiguous\n")):
            return "missing", -1
        fields = header.split()
        if len(fields) == 2 and fields[0] in _SPECIAL:
            return fields[0].decode("ascii"), int(fields[1])
        if len(fields) != 3:
            raise ToolchainError(f"git cat-file gave an unexpected answer about {name}: {header[:80]!r}")
        return fields[1].decode("ascii", "replace"), int(fields[2])

    def read(self, size: int) -> bytes:
        data = self.stdout.read(size)
        self.stdout.read(1)  # the newline after the content
        if len(data) != size:
            raise ToolchainError("git cat-file ended in the middle of an object")
        return data

    def skip(self, size: int) -> None:
        if size >= 0:
            self.copy(size, None)

    def copy(self, size: int, out: IO[bytes] | None) -> None:
        remaining = size
        while remaining:
            chunk = self.stdout.read(min(remaining, 1 << 20))
            if not chunk:
                raise ToolchainError("git cat-file ended in the middle of an object")
            if out is not None:
                out.write(chunk)
            remaining -= len(chunk)
        self.stdout.read(1)

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError):
            self.stdin.close()
        self.stdout.close()
        self.proc.wait()


@contextlib.contextmanager
def _cat_file(repo: str) -> Iterator[_CatFile]:
    batch = _CatFile(repo)
    try:
        yield batch
    except BaseException:
        batch.proc.kill()
        raise
    finally:
        batch.close()


def _outside(path: str, target: bytes) -> InputError:
    shown = target[:200].decode("utf-8", "replace")
    return InputError(
        f"the tree holds a symbolic link that leads outside it: {path} -> {shown}",
        hint="abidiff reads nothing outside the commit's tree; remove the link, or give another ref",
    )


def read_blobs(repo: str, commit: str, paths: Sequence[str]) -> dict[str, bytes | None]:
    """The content of each of ``paths`` at ``commit`` (a link inside the tree: the file it
    names), or None when there is no such file; one git process for all of them."""
    found: dict[str, bytes | None] = {}
    with _cat_file(repo) as batch:
        for path in paths:
            kind, size = batch.ask(f"{commit}:{path}")
            if kind == "symlink":
                raise _outside(path, batch.read(size) if size <= 4096 else b"?")
            if kind == "blob" and size <= _MAX_SMALL_BLOB:
                found[path] = batch.read(size)
                continue
            batch.skip(size)
            found[path] = None
    return found


# --- writing a tree -----------------------------------------------------------------------


def _safe_target(dest: str, path: str) -> str:
    parts = path.split("/")
    if path.startswith("/") or any(part in ("", ".", "..") or part.lower() == ".git" for part in parts):
        raise InputError(f"the tree holds a path abidiff will not write: {path!r}")
    return os.path.join(dest, *parts)


def _create(target: str, path: str, executable: bool) -> IO[bytes]:
    """A new file (never through a link, never over an existing file)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    mode = 0o755 if executable else 0o644
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        fd = os.open(target, flags, mode)
        os.fchmod(fd, mode)
    except OSError as exc:
        raise AbidiffError(f"cannot write {path} of the tree into {target}: {exc.strerror or exc}") from exc
    return os.fdopen(fd, "wb")


def _write_entry(batch: _CatFile, commit: str, entry: TreeEntry, target: str) -> bool:
    """Write one blob of the tree; whether a file was written."""
    if entry.mode != _MODE_LINK:
        kind, size = batch.ask(entry.sha)
        if kind != "blob":
            raise ToolchainError(f"git cat-file gave no blob for {entry.path} ({entry.sha})")
        with _create(target, entry.path, entry.mode == _MODE_EXECUTABLE) as out:
            batch.copy(size, out)
        return True
    if "\n" in entry.path:
        raise InputError(f"the tree holds a symbolic link whose name has a newline: {entry.path!r}")
    kind, size = batch.ask(f"{commit}:{entry.path}")  # git follows the link, inside the tree only
    if kind == "symlink":
        raise _outside(entry.path, batch.read(size) if size <= 4096 else b"?")
    if kind != "blob":  # a directory, or dangling, looping: nothing to read through it
        batch.skip(size)
        return False
    with _create(target, entry.path, False) as out:
        batch.copy(size, out)
    return True


def extract_tree(repo: str, commit: str, dest: str, paths: Sequence[str] | None = HEADER_PATHS) -> int:
    """Write the files of ``commit`` under ``paths`` (None: the whole tree) into ``dest``
    (see the module docstring for links and submodules); the number of files written."""
    entries = [entry for entry in list_tree(repo, commit, paths) if entry.kind == "blob"]
    targets = [_safe_target(dest, entry.path) for entry in entries]  # refused before anything is written
    os.makedirs(dest, exist_ok=True)
    written = 0
    with _cat_file(repo) as batch:
        for entry, target in zip(entries, targets, strict=True):
            written += _write_entry(batch, commit, entry, target)
    return written
