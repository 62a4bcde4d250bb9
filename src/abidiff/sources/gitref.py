"""A git ref of a CPython repository as a build spec: ``v3.13.0``, ``main~3``, ``HEAD``, a sha.

The tree at the ref is read with git's read-only plumbing (``rev-parse``, ``ls-tree``,
``cat-file --batch``) and written into a private directory the caller owns: the user's
working tree, index, HEAD, stash and worktree list are never touched, no filter or hook of
the repository runs, and blobs are written raw.  Only ``Include/``, ``Misc/stable_abi.*``
and ``PC/pyconfig.h*`` are extracted, and the whole tree only when ``./configure`` must run.

A ref is checked before anything runs: it can never be read as an option by git, nor as
code by a shell (git is never run through one); see :func:`check_ref`.

``pyconfig.h`` (no source tree has one) comes, in this order, from ``--pyconfig FILE``,
``--config-from DIR`` (a configured build directory), ``PC/pyconfig.h`` (``--target
windows``; generated from ``PC/pyconfig.h.in`` from 3.13), or ``./configure`` run in a
private copy of the tree, cached per commit.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from abidiff.errors import BuildSpecError, InputError, ToolchainError
from abidiff.options import BuildOptions
from abidiff.sources import ResolvedBuild, SpecKind

if TYPE_CHECKING:
    from abidiff.cache import SnapshotCache

GIT_PREFIX = "git:"  # forces a spec to be read as a git ref: git:main
WINDOWS_TRIPLE = "x86_64-pc-windows-msvc"
TARGET_ALIASES = {"windows": WINDOWS_TRIPLE, "windows-x64": WINDOWS_TRIPLE, "win-amd64": WINDOWS_TRIPLE}
WINSTUB_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "headers", "winstub")
HEADER_PATHS = ("Include", "Misc/stable_abi.toml", "Misc/stable_abi.txt", "PC/pyconfig.h", "PC/pyconfig.h.in")
LOG_TAIL_LINES = 20
_CONFIGURE_FORMAT = 1  # bump when what we keep of a configure run changes
_GIT_TIMEOUT = 120.0

# --- refs ---------------------------------------------------------------------------------

# A ref name as git check-ref-format allows it, further restricted to characters no shell
# or option parser gives a meaning to; then revision suffixes: ~N, ^N, ^{commit}, @{...}.
_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.+,=/-]*"
_SUFFIX = r"(?:~[0-9]*|\^[0-9]*|\^\{(?:commit|tag|)\}|@\{[A-Za-z0-9_.+/-]+\})"
_REF = re.compile(rf"^(?:{_NAME}|@)?{_SUFFIX}*$")
_SHA = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")
_TARGET = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def _ref_problem(ref: str) -> str | None:
    """Why ``ref`` is refused, or None when it is a well-formed revision."""
    if not ref:
        return "it is empty"
    if ref.startswith("-"):
        return "it starts with '-' (git would read it as an option)"
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in ref):
        return "it contains a control character"
    if any(char.isspace() for char in ref):
        return "it contains whitespace"
    if ".." in ref:
        return "it contains '..' (a range of commits, not one commit)"
    if not _REF.match(ref):
        bad = sorted({char for char in ref if not re.match(r"[A-Za-z0-9_.+,=/~^@{}-]", char)})
        if bad:
            return "it contains " + ", ".join(repr(char) for char in bad) + ", which git refs may not"
        return "it is not of the form NAME[~N|^N|@{...}] (a tag, branch, sha, HEAD, main~3)"
    name = re.split(r"[~^@]", ref, maxsplit=1)[0]
    if name:
        for part in name.split("/"):
            if not part:
                return "it has an empty path component ('//' or a trailing '/')"
            if part.startswith(".") or part.endswith(".") or part.endswith(".lock"):
                return f"its component '{part}' starts or ends with '.' or ends with '.lock'"
    return None


def check_ref(spec: str) -> str:
    """The ref of ``spec`` (without a ``git:`` prefix), or :class:`BuildSpecError`.

    Refused: a leading ``-``, control characters, whitespace, ``..`` (a range), and any
    character outside ``A-Z a-z 0-9 _ . + , = / -`` except the revision syntax ``~``,
    ``^``, ``^{commit}`` and ``@{...}``; also what ``git check-ref-format`` forbids in a
    name (``//``, components starting or ending with ``.``, ``.lock``).
    """
    ref = spec.removeprefix(GIT_PREFIX)
    problem = _ref_problem(ref)
    if problem is not None:
        shown = ref.encode("unicode_escape").decode("ascii")
        raise BuildSpecError(
            f"'{shown}' is not a git ref abidiff accepts: {problem}",
            hint="give a tag, branch or commit such as v3.13.0, main, main~3 or a sha; "
            "compare two refs as two arguments, not as A..B",
        )
    return ref


def is_ref_like(spec: str) -> bool:
    """Whether ``spec`` has the syntax of a git revision abidiff accepts (nothing is run)."""
    return _ref_problem(spec.removeprefix(GIT_PREFIX)) is None


# --- running git --------------------------------------------------------------------------


def _git_env() -> dict[str, str]:
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


def _git(repo: str, args: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    command = ["git", "--no-pager", "-c", "core.fsmonitor=false", "-C", repo, *args]
    try:
        proc = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=_git_env(),
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError as exc:
        raise ToolchainError(
            "git is not installed: a git ref needs it to read the repository",
            hint="install git (Debian: apt-get install git), or give installed builds instead of refs",
        ) from exc
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolchainError(f"git {args[0]} failed in {repo}: {exc}") from exc
    if check and proc.returncode != 0:
        raise ToolchainError(
            f"git {args[0]} failed in {repo}: {_last_line(proc.stderr)}",
            hint=f"check the repository: 'git -C {repo} status'",
        )
    return proc


def _last_line(data: bytes) -> str:
    lines = data.decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else "no message"


def repository_root(repo: str | None = None) -> str:
    """The top-level directory of the git repository at ``repo`` (default: around the
    current directory); :class:`BuildSpecError` when there is none."""
    where = os.path.abspath(os.path.expanduser(repo or os.getcwd()))
    if not os.path.isdir(where):
        raise BuildSpecError(
            f"the repository {where} does not exist",
            hint="give the CPython checkout with --repo DIR",
        )
    proc = _git(where, ["rev-parse", "--show-toplevel"], check=False)
    if proc.returncode != 0:
        detail = _last_line(proc.stderr)
        if "dubious ownership" in proc.stderr.decode("utf-8", "replace"):
            raise BuildSpecError(
                f"git refuses to read {where}: it belongs to another user",
                hint=f"git config --global --add safe.directory {where}",
            )
        raise BuildSpecError(
            f"{where} is not in a git repository ({detail})",
            hint="run abidiff inside a CPython checkout, or give one with --repo DIR",
        )
    top = proc.stdout.decode("utf-8", "surrogateescape").strip()
    if not top:
        raise BuildSpecError(
            f"{where} is a bare git repository: abidiff reads refs of a checkout",
            hint="give a CPython checkout with --repo DIR",
        )
    return top


def commit_of(spec: str, repo: str | None = None) -> str:
    """The full sha of the commit ``spec`` names in ``repo``: cheap (one ``git rev-parse``)."""
    ref = check_ref(spec)  # first: nothing runs for a refused ref
    return _rev_parse(repository_root(repo), ref)


def _rev_parse(root: str, ref: str) -> str:
    proc = _git(root, ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"], check=False)
    sha = proc.stdout.decode("ascii", "replace").strip()
    if proc.returncode != 0 or not _SHA.match(sha):
        raise BuildSpecError(
            f"no commit '{ref}' in the repository {root}",
            hint=f"list the tags with 'git -C {root} tag --list', or fetch them with 'git -C {root} fetch --tags'",
        )
    return sha


# --- reading a tree -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Blob:
    mode: str
    sha: str
    path: str


def _list_tree(root: str, commit: str, paths: Sequence[str] | None) -> list[_Blob]:
    args = ["ls-tree", "-r", "-z", "--full-tree", commit]
    if paths is not None:
        args += ["--", *paths]
    proc = _git(root, args)
    blobs = []
    for record in proc.stdout.split(b"\0"):
        if not record:
            continue
        meta, _, raw_path = record.partition(b"\t")
        mode, kind, sha = meta.decode("ascii").split()
        if kind != "blob":  # a submodule ("commit") has no content here
            continue
        blobs.append(_Blob(mode=mode, sha=sha, path=raw_path.decode("utf-8", "surrogateescape")))
    return blobs


def _safe_target(dest: str, path: str) -> str:
    parts = path.split("/")
    if path.startswith("/") or any(part in ("", ".", "..") or part.lower() == ".git" for part in parts):
        raise InputError(f"the tree holds a path abidiff will not write: {path!r}")
    return os.path.join(dest, *parts)


def extract_tree(repo: str, commit: str, dest: str, paths: Sequence[str] | None = HEADER_PATHS) -> int:
    """Write the blobs of ``commit`` under ``paths`` (None: the whole tree) into ``dest``.

    Blobs are read with ``git cat-file --batch``: raw, with no attribute, filter or hook of
    the repository applied.  Executable bits are kept (``configure`` needs its own);
    symbolic links are kept when they point inside the tree.  Returns the number of files.
    """
    blobs = _list_tree(repo, commit, paths)
    os.makedirs(dest, exist_ok=True)
    command = ["git", "--no-pager", "-C", repo, "cat-file", "--batch"]
    try:
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=_git_env())
    except OSError as exc:
        raise ToolchainError(f"git cat-file could not run: {exc}") from exc
    assert proc.stdin is not None and proc.stdout is not None
    try:
        for blob in blobs:
            proc.stdin.write(blob.sha.encode("ascii") + b"\n")
            proc.stdin.flush()
            _write_blob(proc.stdout, blob, dest)
    except BaseException:
        proc.kill()
        raise
    finally:
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.close()
        proc.stdout.close()
        proc.wait()
    return len(blobs)


def _write_blob(stream: IO[bytes], blob: _Blob, dest: str) -> None:
    header = stream.readline().split()
    if len(header) != 3 or header[1] != b"blob":
        raise ToolchainError(f"git cat-file gave no blob for {blob.path} ({blob.sha})")
    remaining = int(header[2])
    target = _safe_target(dest, blob.path)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if blob.mode == "120000":
        link = stream.read(remaining).decode("utf-8", "surrogateescape")
        stream.read(1)
        inside = os.path.normpath(os.path.join(os.path.dirname(blob.path), link))
        if not os.path.isabs(link) and not inside.startswith(".."):
            os.symlink(link, target)
        return
    with open(target, "wb") as out:
        while remaining:
            chunk = stream.read(min(remaining, 1 << 20))
            if not chunk:
                raise ToolchainError(f"git cat-file ended in the middle of {blob.path}")
            out.write(chunk)
            remaining -= len(chunk)
    stream.read(1)  # the newline after the content
    os.chmod(target, 0o755 if blob.mode == "100755" else 0o644)


def read_blob(repo: str, commit: str, path: str) -> bytes | None:
    """The content of ``path`` at ``commit``, or None when the tree has no such file."""
    blobs = _list_tree(repo, commit, [path])
    match = next((blob for blob in blobs if blob.path == path), None)
    if match is None:
        return None
    return _git(repo, ["cat-file", "blob", match.sha]).stdout


# --- targets and pyconfig.h ---------------------------------------------------------------


def target_triple(target: str | None) -> str | None:
    """The clang triple of ``--target`` (``windows`` is MSVC x64); None: the host."""
    if target is None:
        return None
    if not _TARGET.match(target):
        raise BuildSpecError(
            f"'{target}' is not a target abidiff understands",
            hint="give --target windows, or a clang target triple such as aarch64-linux-gnu",
        )
    return TARGET_ALIASES.get(target.lower(), target)


def is_windows(triple: str | None) -> bool:
    return triple is not None and ("windows" in triple or "win32" in triple)


def host_triple() -> str:
    """A name of this machine for cache keys (not a clang triple)."""
    return f"host:{platform.machine() or 'unknown'}-{sys.platform}"


_PLACEHOLDER = re.compile(rb"@([A-Za-z_][A-Za-z0-9_]*)@")


def pyconfig_from_template(text: bytes) -> bytes:
    """``PC/pyconfig.h`` from ``PC/pyconfig.h.in``: each ``@NAME@`` placeholder of the
    build system is replaced by what a default (GIL-enabled, release) build gets: ``0``
    for a flag, empty otherwise.  The commented-out ``Py_GIL_DISABLED`` stays commented."""

    def value(match: re.Match[bytes]) -> bytes:
        name = match.group(1).decode("ascii").upper()
        if name.startswith(("PY_", "WITH_", "HAVE_")) or "GIL" in name or "DEBUG" in name:
            return b"0"
        return b""

    return _PLACEHOLDER.sub(value, text)


def _copy_pyconfig(source: str, dest_dir: str, what: str) -> str:
    os.makedirs(dest_dir, exist_ok=True)
    try:
        shutil.copyfile(source, os.path.join(dest_dir, "pyconfig.h"))
    except OSError as exc:
        raise InputError(
            f"cannot read the {what} {source}: {exc.strerror or exc}",
            hint="give the pyconfig.h of a configured CPython build",
        ) from exc
    return dest_dir


def _given_pyconfig(options: BuildOptions) -> tuple[str, str] | None:
    """(file, what) of a pyconfig.h the user gave, or None."""
    if options.pyconfig:
        path = os.path.abspath(os.path.expanduser(options.pyconfig))
        if os.path.isdir(path):
            path = os.path.join(path, "pyconfig.h")
        if not os.path.isfile(path):
            raise InputError(f"--pyconfig {options.pyconfig}: no such file", hint="give the path of a pyconfig.h")
        return path, "--pyconfig file"
    if options.config_from:
        path = os.path.join(os.path.abspath(os.path.expanduser(options.config_from)), "pyconfig.h")
        if not os.path.isfile(path):
            raise InputError(
                f"--config-from {options.config_from}: no pyconfig.h there (is it a configured build directory?)",
                hint="run ./configure in that directory first, or give the file with --pyconfig",
            )
        return path, "pyconfig.h of --config-from"
    return None


def _windows_pyconfig(tree: str, dest_dir: str, spec: str) -> str:
    pc = os.path.join(tree, "PC")
    os.makedirs(dest_dir, exist_ok=True)
    if os.path.isfile(os.path.join(pc, "pyconfig.h")):
        shutil.copyfile(os.path.join(pc, "pyconfig.h"), os.path.join(dest_dir, "pyconfig.h"))
        return dest_dir
    template = os.path.join(pc, "pyconfig.h.in")
    if os.path.isfile(template):
        with open(template, "rb") as handle:
            text = pyconfig_from_template(handle.read())
        with open(os.path.join(dest_dir, "pyconfig.h"), "wb") as out:
            out.write(text)
        return dest_dir
    raise BuildSpecError(
        f"{spec} has no PC/pyconfig.h nor PC/pyconfig.h.in: abidiff cannot read it for Windows",
        hint="give the pyconfig.h of a Windows build with --pyconfig",
    )


def _sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def snapshot_cache_key(
    commit: str, triple: str | None, pyconfig_sha256: str, *, binaries: bool = False, defines: Sequence[str] = ()
) -> str:
    """The cache key of a git-ref snapshot: sha256 over commit, target triple, the content
    hash of pyconfig.h, the snapshot schema version, and whether binaries were built."""
    from abidiff.snapshot import SCHEMA_VERSION

    material = {
        "kind": "gitref",
        "commit": commit,
        "target": triple or host_triple(),
        "pyconfig_sha256": pyconfig_sha256,
        "schema_version": SCHEMA_VERSION,
        "binaries": binaries,
        "defines": sorted(defines),
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def configure_key(commit: str, *, args: Sequence[str] = ()) -> str:
    """The key of a ``./configure`` run of ``commit`` on this machine (cached per commit)."""
    material = {
        "kind": "configure",
        "format": _CONFIGURE_FORMAT,
        "commit": commit,
        "host": host_triple(),
        "cc": os.environ.get("CC", ""),
        "args": list(args),
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


# --- running ./configure and make ---------------------------------------------------------


def _tail(path: str, lines: int = LOG_TAIL_LINES) -> tuple[str, ...]:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return ()
    return tuple(line.rstrip() for line in text.splitlines()[-lines:])


def _run_logged(command: Sequence[str], *, cwd: str, log: str, label: str) -> int:
    """Run ``command`` with its output in ``log``; a rich status line on stderr when it is
    a terminal.  Interrupted: the child and its group are stopped before re-raising."""
    with open(log, "ab") as out:
        try:
            proc = subprocess.Popen(
                list(command),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise ToolchainError(
                f"{label} could not start: {exc.strerror or exc}",
                hint="check that the tree is complete and that a shell and make are installed",
            ) from exc
        try:
            return _wait(proc, log, label)
        except BaseException:
            _stop(proc)
            raise


def _wait(proc: subprocess.Popen[bytes], log: str, label: str) -> int:
    if not sys.stderr.isatty():
        return proc.wait()
    from rich.console import Console

    console = Console(stderr=True)
    started = time.monotonic()
    with console.status(f"{label}…") as status:
        while proc.poll() is None:
            last = _tail(log, 1)
            elapsed = time.monotonic() - started
            status.update(f"{label} ({elapsed:.0f} s): {last[0][:80] if last else ''}")
            time.sleep(0.25)
    return proc.returncode


def _stop(proc: subprocess.Popen[bytes]) -> None:
    import signal

    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue


def _failed(what: str, status: int, log: str, kept: str | None, hint: str) -> ToolchainError:
    tail = _tail(log)
    last = tail[-1] if tail else "no output"
    where = kept or log
    return ToolchainError(
        f"{what} failed (exit status {status}): {last} (log: {where})",
        details=(f"the last {len(tail)} lines of {where}:", *tail),
        hint=hint,
    )


def run_configure(tree: str, *, args: Sequence[str] = (), log: str) -> str:
    """Run ``./configure`` in ``tree``; the path of the ``pyconfig.h`` it wrote."""
    script = os.path.join(tree, "configure")
    if not os.path.isfile(script):
        raise BuildSpecError(
            f"{tree} has no configure script: it is not a CPython source tree",
            hint="give the pyconfig.h with --pyconfig, or a configured build with --config-from",
        )
    status = _run_logged(["/bin/sh", "./configure", *args], cwd=tree, log=log, label="./configure")
    if status != 0:
        raise _failed(
            "./configure", status, log, None, "read the log; give a pyconfig.h with --pyconfig to skip configure"
        )
    produced = os.path.join(tree, "pyconfig.h")
    if not os.path.isfile(produced):
        raise ToolchainError(f"./configure succeeded in {tree} but wrote no pyconfig.h", details=_tail(log))
    return produced


def configured_pyconfig(
    repo: str, commit: str, cache: SnapshotCache | None, *, scratch: str, args: Sequence[str] = ()
) -> str:
    """The directory holding the ``pyconfig.h`` of ``./configure`` at ``commit``.

    With a cache, it is configured once per commit (and machine) and kept as the artifact
    ``configure/<key>`` with its log; without, it is configured under ``scratch``.
    """
    key = configure_key(commit, args=args)

    def populate(out: str) -> None:
        tree = os.path.join(out, "src")
        log = os.path.join(out, "configure.log")
        extract_tree(repo, commit, tree, paths=None)
        try:
            produced = run_configure(tree, args=args, log=log)
        except ToolchainError as exc:
            if cache is not None and os.path.isfile(log):
                kept = cache.keep_log("configure", key, log)
                status = re.search(r"exit status (-?\d+)", exc.message)
                raise _failed(
                    f"./configure of {commit[:12]}",
                    int(status.group(1)) if status else 1,
                    kept,
                    kept,
                    exc.hint or "read the log",
                ) from exc
            raise
        shutil.copyfile(produced, os.path.join(out, "pyconfig.h"))
        shutil.rmtree(tree)

    if cache is None:
        out = os.path.join(scratch, "configure")
        os.makedirs(out, exist_ok=True)
        populate(out)
        return out
    return cache.artifact_dir("configure", key, populate)


def _need_compiler() -> str:
    wanted = os.environ.get("CC", "").split()
    candidates = [wanted[0]] if wanted else ["cc", "gcc", "clang"]
    for name in candidates:
        found = shutil.which(name)
        if found:
            return found
    raise ToolchainError(
        "no C compiler to build libpython: tried " + ", ".join(candidates) + " on PATH",
        hint="install one (Debian: apt-get install build-essential), or set CC; or leave out --build",
    )


def _makefile_var(makefile: str, name: str) -> str | None:
    pattern = re.compile(rf"^{re.escape(name)}\s*=\s*(.*?)\s*$")
    with open(makefile, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            match = pattern.match(line)
            if match:
                return match.group(1)
    return None


def _tree_commit(tree: str) -> str | None:
    try:
        with open(os.path.join(tree, ".abidiff-commit"), encoding="ascii") as handle:
            value = handle.read().strip()
    except OSError:
        return None
    return value if _SHA.match(value) else None


def build_libpython(
    tree: str, cache: SnapshotCache | None, *, jobs: int, key: str | None = None, make: str = "make"
) -> str:
    """Configure ``tree`` with ``--enable-shared``, ``make`` only the shared libpython, and
    return its path.  Cached per commit as the artifact ``libpython/<key>`` (the key is
    derived from the commit recorded in the tree by :func:`extract_for_build`, or given).
    """
    _need_compiler()
    if shutil.which(make) is None:
        raise ToolchainError(f"'{make}' is not on PATH: building libpython needs it", hint="apt-get install make")
    commit = _tree_commit(tree)
    if key is None and commit is not None:
        key = hashlib.sha256(f"libpython\0{configure_key(commit, args=('--enable-shared',))}".encode()).hexdigest()

    def populate(out: str) -> None:
        log = os.path.join(out, "build.log")
        try:
            run_configure(tree, args=("--enable-shared",), log=log)
            ldlibrary = _makefile_var(os.path.join(tree, "Makefile"), "LDLIBRARY") or ""
            if not ldlibrary.endswith((".so", ".dylib")) and ".so." not in ldlibrary:
                raise ToolchainError(f"configure --enable-shared chose no shared library (LDLIBRARY={ldlibrary!r})")
            status = _run_logged([make, f"-j{max(1, jobs)}", ldlibrary], cwd=tree, log=log, label=f"make {ldlibrary}")
            if status != 0:
                raise _failed(f"make {ldlibrary}", status, log, None, "read the log")
        except ToolchainError as exc:
            if cache is not None and key is not None and os.path.isfile(log):
                kept = cache.keep_log("libpython", key, log)
                raise ToolchainError(exc.message.replace(log, kept), details=exc.details, hint=exc.hint) from exc
            raise
        shutil.copy2(os.path.join(tree, ldlibrary), os.path.join(out, ldlibrary))

    if cache is None or key is None:
        out = os.path.join(tree, ".abidiff-build")
        os.makedirs(out, exist_ok=True)
        populate(out)
        found = out
    else:
        found = cache.artifact_dir("libpython", key, populate)
    libraries = sorted(name for name in os.listdir(found) if name.startswith("libpython"))
    if not libraries:
        raise ToolchainError(f"the libpython build in {found} holds no library")
    return os.path.join(found, libraries[0])


def extract_for_build(repo: str, commit: str, dest: str) -> str:
    """The whole tree of ``commit`` in ``dest`` (for ``--build``), with its commit recorded."""
    extract_tree(repo, commit, dest, paths=None)
    with open(os.path.join(dest, ".abidiff-commit"), "w", encoding="ascii") as out:
        out.write(commit + "\n")
    return dest


# --- the build spec -----------------------------------------------------------------------


def _cache_for(options: BuildOptions, cache: SnapshotCache | None) -> SnapshotCache | None:
    if cache is not None or not options.use_cache:
        return cache
    from abidiff.cache import SnapshotCache

    return SnapshotCache(options.cache_dir)


def _choose_pyconfig(
    repo: str,
    commit: str,
    tree: str,
    spec: str,
    options: BuildOptions,
    triple: str | None,
    cache: SnapshotCache | None,
    workdir: str,
) -> str:
    """The directory of the pyconfig.h to parse ``tree`` with (see the module docstring)."""
    given = _given_pyconfig(options)
    if given is not None:
        return _copy_pyconfig(given[0], os.path.join(workdir, "pyconfig"), given[1])
    if is_windows(triple):
        return _windows_pyconfig(tree, os.path.join(workdir, "pyconfig"), spec)
    if triple is not None:
        raise BuildSpecError(
            f"abidiff cannot run ./configure for the target {triple}",
            hint="give the pyconfig.h of a build for that target with --pyconfig or --config-from",
        )
    return configured_pyconfig(repo, commit, cache, scratch=workdir)


def _manifest_path(tree: str) -> str | None:
    for name in ("stable_abi.toml", "stable_abi.txt"):
        path = os.path.join(tree, "Misc", name)
        if os.path.isfile(path):
            return path
    return None


def windows_config_dirs(pyconfig_dir: str) -> tuple[str, ...]:
    """The -I directories for a Windows parse: the pyconfig.h, then abidiff's stubs of the
    few Windows SDK headers PC/pyconfig.h includes (``io.h``, ``basetsd.h``...)."""
    return (pyconfig_dir, WINSTUB_DIR)


def resolve_gitref(
    spec: str, options: BuildOptions, *, workdir: str, cache: SnapshotCache | None = None
) -> ResolvedBuild:
    """Resolve the git ref ``spec`` of ``options.repo`` into files under ``workdir``.

    ``workdir`` is a private directory the caller owns (and removes).  Nothing is run or
    written for a ref :func:`check_ref` refuses.  ``cache`` keeps configure runs per
    commit (default: the cache of ``options``, unless ``options.use_cache`` is off).
    """
    ref = check_ref(spec)
    triple = target_triple(options.target)
    workdir = os.path.abspath(workdir)
    root = repository_root(options.repo)
    commit = _rev_parse(root, ref)
    tree = os.path.join(workdir, "tree")
    extract_tree(root, commit, tree)
    include = os.path.join(tree, "Include")
    if not os.path.isfile(os.path.join(include, "Python.h")):
        raise BuildSpecError(
            f"the commit {commit[:12]} ('{ref}') of {root} has no Include/Python.h: it is not a CPython source tree",
            hint="give a ref of a CPython repository, or the repository with --repo DIR",
        )
    config_dir = _choose_pyconfig(root, commit, tree, ref, options, triple, _cache_for(options, cache), workdir)
    config_dirs = windows_config_dirs(config_dir) if is_windows(triple) else (config_dir,)
    pyconfig_sha = _sha256_file(os.path.join(config_dir, "pyconfig.h"))
    return ResolvedBuild(
        kind=SpecKind.GIT,
        spec=spec,
        origin=f"git {ref} ({commit[:12]})",
        include_dir=include,
        config_dirs=config_dirs,
        manifest_path=_manifest_path(tree),
        target=triple,
        commit=commit,
        cache_key=snapshot_cache_key(commit, triple, pyconfig_sha, binaries=options.build_binaries),
    )


def peek_cache_key(spec: str, options: BuildOptions, *, cache: SnapshotCache | None = None) -> str | None:
    """The :attr:`ResolvedBuild.cache_key` :func:`resolve_gitref` would give, computed
    without extracting anything; None when only running ``./configure`` would tell."""
    ref = check_ref(spec)
    triple = target_triple(options.target)
    root = repository_root(options.repo)
    commit = _rev_parse(root, ref)
    given = _given_pyconfig(options)
    content: bytes | None
    if given is not None:
        with open(given[0], "rb") as handle:
            content = handle.read()
    elif is_windows(triple):
        content = read_blob(root, commit, "PC/pyconfig.h")
        if content is None:
            template = read_blob(root, commit, "PC/pyconfig.h.in")
            content = pyconfig_from_template(template) if template is not None else None
    else:
        cache = _cache_for(options, cache)
        found = cache.find_artifact("configure", configure_key(commit)) if cache is not None else None
        content = None
        if found is not None:
            with open(os.path.join(found, "pyconfig.h"), "rb") as handle:
                content = handle.read()
    if content is None:
        return None
    return snapshot_cache_key(commit, triple, hashlib.sha256(content).hexdigest(), binaries=options.build_binaries)


__all__ = [
    "GIT_PREFIX",
    "WINDOWS_TRIPLE",
    "build_libpython",
    "check_ref",
    "commit_of",
    "extract_for_build",
    "extract_tree",
    "is_ref_like",
    "peek_cache_key",
    "repository_root",
    "resolve_gitref",
    "run_configure",
    "snapshot_cache_key",
    "target_triple",
]
