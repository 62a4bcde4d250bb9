"""Build specs: what the user names as BUILD, resolved to the files abidiff reads.

A build spec is, in the order tried:

1. a snapshot file written by ``abidiff dump`` (JSON);
2. a Python interpreter: a path, or a name on PATH such as ``python3.12`` (run, never imported);
3. a shared library (ELF, PE or Mach-O): its exports only;
4. an installed prefix: a directory with ``include/python3.X/Python.h``;
5. an include directory holding ``Python.h`` (headers only).

Anything else is an error that lists what was tried, or says what the path is (a FIFO, a
socket, a device, a dangling symbolic link, a file that cannot be read).  A spec that names
nothing at all is a git ref when it can be one; :func:`looks_like_path` tells the ones that
cannot (``/nonexist``, ``./build``, ``base.json``), whose error is a path error
(:func:`missing_build_error`).
"""

from __future__ import annotations

import glob
import os
import platform
import re
import shutil
import stat
from dataclasses import dataclass

from abidiff import files
from abidiff.binaries.detect import is_program, sniff_file
from abidiff.errors import BuildSpecError
from abidiff.model import BinaryRole, StrEnum
from abidiff.sources.interpreter import InterpreterInfo, probe

STABLE_ABI_NAME = re.compile(r"^(libpython3\.so|libpython3\.dylib|python3(_d)?\.dll)$", re.IGNORECASE)


class SpecKind(StrEnum):
    """What a build spec on the command line names."""

    SNAPSHOT = "snapshot"  # a JSON file written by ``abidiff dump``
    INTERPRETER = "interpreter"  # a python to run: its sysconfig names the rest
    LIBRARY = "library"  # a libpython or stable-ABI library: exports only
    PREFIX = "prefix"  # an installed prefix: include/python3.X/ and lib/
    INCLUDE = "include"  # a directory holding Python.h: headers only
    GIT = "git"  # a ref of a CPython repository, parsed (and with --build, built) there


@dataclass(frozen=True, slots=True, kw_only=True)
class Library:
    """A binary of the build to read exports from, and what it is to the build."""

    role: BinaryRole
    path: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolvedBuild:
    """A build spec resolved to files: headers to parse, binaries to read, or a snapshot."""

    kind: SpecKind
    spec: str
    origin: str  # for humans and the snapshot: "interpreter /usr/bin/python3.11"
    include_dir: str | None = None
    config_dirs: tuple[str, ...] = ()
    snapshot_path: str | None = None
    libraries: tuple[Library, ...] = ()
    soabi: str | None = None
    ext_suffix: str | None = None
    interpreter: InterpreterInfo | None = None
    target: str | None = None  # a clang target triple; None: the host's
    defines: tuple[str, ...] = ()  # extra -D for the header parse
    manifest_path: str | None = None  # Misc/stable_abi.toml (3.11+) or Misc/stable_abi.txt (3.10)
    commit: str | None = None  # a git-ref build: the commit it resolved to
    cache_key: str | None = None  # a digest of every input (content), when the build can be cached


def _looks_like_json(path: str) -> bool:
    """Whether the regular file ``path`` starts with ``{``; ``PermissionError`` when it
    cannot be read (the caller says so, rather than "not JSON")."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except PermissionError:
        raise
    except OSError:
        return False
    with os.fdopen(fd, "rb") as handle:
        head = handle.read(64).lstrip()
    return head.startswith(b"{")


_FILE_SUFFIX = re.compile(r"\.(json|so|dylib|dll|pyd|exe|h)$|\.so\.[0-9]", re.IGNORECASE)


def looks_like_path(spec: str) -> bool:
    """Whether ``spec`` can only be a path, never a git ref: it starts with ``/``, ``./``,
    ``../`` or ``~``, has a component starting with a dot or an empty one (``a//b``), or
    ends like a file (``.json``, ``.so``, ``.dll``, ...).  git refs can do none of these
    (``git check-ref-format``), so a missing such path deserves a path hint."""
    if spec.startswith(("/", "~")) or spec in (".", ".."):
        return True
    if os.sep != "/" and (os.sep in spec or re.match(r"^[A-Za-z]:", spec)):
        return True
    parts = spec.split("/")
    if any(part.startswith(".") for part in parts) or "" in parts[:-1]:
        return True
    return bool(_FILE_SUFFIX.search(spec))


_BUILD_HINT = (
    "give a Python interpreter (path or name on PATH), an installed prefix, an include directory, a libpython, "
    "or a snapshot file"
)


def missing_build_error(spec: str) -> BuildSpecError:
    """The error for a spec that names nothing: no such path, no such program on PATH (and,
    as :func:`looks_like_path` says, not a git ref)."""
    path = os.path.expanduser(spec)
    if os.path.lexists(path):  # a dangling or looping symbolic link
        what = files.describe(path) or "a path that cannot be followed"
        return BuildSpecError(
            f"no build found for '{spec}': tried a path: it is {what}", hint="check where the link points"
        )
    tried = ["a path (no such file or directory)"]
    if os.sep not in spec:
        tried.append(f"a program on PATH (no '{spec}' there)")
    hint = f"check the path; {_BUILD_HINT}" if looks_like_path(spec) else _BUILD_HINT
    return BuildSpecError(f"no build found for '{spec}': tried " + "; ".join(tried), hint=hint)


def _interpreter_libraries(info: InterpreterInfo) -> tuple[Library, ...]:
    """libpython (LDLIBRARY in LIBDIR) and the stable-ABI library, or for a static build the
    interpreter itself (its dynamic symbol table is what extensions link against)."""
    found: list[Library] = []
    if info.libdir and info.ldlibrary:
        path = os.path.join(info.libdir, info.ldlibrary)
        if os.path.isfile(path) and not info.ldlibrary.endswith(".a"):
            found.append(Library(role=BinaryRole.LIBPYTHON, path=os.path.realpath(path)))
    if not found:
        found.append(Library(role=BinaryRole.INTERPRETER, path=info.executable))
    if info.libdir:
        for name in ("libpython3.so", "python3.dll"):
            path = os.path.join(info.libdir, name)
            if os.path.isfile(path):
                found.append(Library(role=BinaryRole.STABLE_ABI, path=os.path.realpath(path)))
    return tuple(found)


def _prefix_include(prefix: str) -> str | None:
    candidates = sorted(
        glob.glob(os.path.join(glob.escape(prefix), "include", "python3*", "Python.h"))
        + glob.glob(os.path.join(glob.escape(prefix), "Headers", "Python.h"))
    )
    return os.path.dirname(candidates[-1]) if candidates else None


def _multiarch_dirs(prefix: str, leaf: str) -> list[str]:
    """``prefix/<leaf>/<multiarch>`` directories (Debian: ``lib/x86_64-linux-gnu``,
    ``include/x86_64-linux-gnu``), the host's first."""
    found = sorted(
        path
        for path in glob.glob(os.path.join(glob.escape(prefix), leaf, "*-*-*"))
        if os.path.isdir(path) and not os.path.islink(path)
    )
    host = f"{platform.machine()}-linux-gnu"
    return sorted(found, key=lambda path: os.path.basename(path) != host)


def _prefix_config_dirs(prefix: str, include: str) -> tuple[str, ...]:
    """Debian's ``include/python3.X/pyconfig.h`` is a wrapper that includes
    ``<multiarch>/python3.X/pyconfig.h``: that directory holds the build's configuration."""
    name = os.path.basename(include)
    for directory in _multiarch_dirs(prefix, "include"):
        candidate = os.path.join(directory, name)
        if os.path.isfile(os.path.join(candidate, "pyconfig.h")):
            return (candidate,)
    return ()


def _prefix_libraries(prefix: str) -> tuple[Library, ...]:
    """libpython in ``prefix/lib``, else in a multiarch ``prefix/lib/<triple>`` (Debian), and
    the stable-ABI library beside it."""
    found = []
    for libdir in (os.path.join(prefix, "lib"), *_multiarch_dirs(prefix, "lib")):
        shared = sorted(glob.glob(os.path.join(glob.escape(libdir), "libpython3.*.so*")))
        shared += sorted(glob.glob(os.path.join(glob.escape(libdir), "libpython3.*.dylib")))
        if shared:
            found.append(Library(role=BinaryRole.LIBPYTHON, path=os.path.realpath(shared[-1])))
            stable = os.path.join(libdir, "libpython3.so")
            if os.path.isfile(stable):
                found.append(Library(role=BinaryRole.STABLE_ABI, path=os.path.realpath(stable)))
            return tuple(found)
    dlls = sorted(glob.glob(os.path.join(glob.escape(prefix), "python3[0-9]*.dll")))
    if dlls:
        found.append(Library(role=BinaryRole.LIBPYTHON, path=os.path.realpath(dlls[-1])))
    if os.path.isfile(os.path.join(prefix, "python3.dll")):
        found.append(Library(role=BinaryRole.STABLE_ABI, path=os.path.realpath(os.path.join(prefix, "python3.dll"))))
    return tuple(found)


def resolve(spec: str) -> ResolvedBuild:
    """Resolve one build spec, or raise :class:`BuildSpecError` listing what was tried."""
    path = os.path.expanduser(spec)
    try:
        mode = os.stat(path).st_mode
    except PermissionError as exc:
        raise BuildSpecError(
            f"cannot look at the build '{spec}': permission denied", hint="check the permissions of its directories"
        ) from exc
    except (OSError, ValueError):  # absent, a dangling link, a loop, a name too long, a NUL
        mode = None
    if mode is not None and stat.S_ISREG(mode):
        return _resolve_file(spec, path)
    if mode is not None and stat.S_ISDIR(mode):
        return _resolve_directory(spec, path)
    if mode is not None:
        fifo = stat.S_ISFIFO(mode)
        raise BuildSpecError(
            f"'{spec}' is {files.kind_of(mode)}, not a build: a build is a file or a directory",
            # <(abidiff dump A) is a pipe: a snapshot is read more than once, so it must be a file
            hint="write the snapshot to a file first: abidiff dump BUILD -o FILE" if fifo else _BUILD_HINT,
        )
    if os.sep not in spec and not os.path.lexists(path):
        found = shutil.which(spec)
        if found is not None:
            return _from_interpreter(spec, found)
    raise missing_build_error(spec)


def _resolve_file(spec: str, path: str) -> ResolvedBuild:
    tried: list[str] = []
    try:
        if _looks_like_json(path):
            origin = f"snapshot {files.shown(path)}"
            return ResolvedBuild(kind=SpecKind.SNAPSHOT, spec=spec, origin=origin, snapshot_path=path)
    except PermissionError as exc:
        if os.access(path, os.X_OK):  # a program that may be run but not read
            return _from_interpreter(spec, path)
        raise BuildSpecError(
            f"cannot read the build '{spec}': permission denied",
            hint="check its permissions: abidiff reads a file to tell what it is",
        ) from exc
    tried.append("a snapshot (it is not JSON)")
    if is_program(path) or _is_script(path):
        return _from_interpreter(spec, path)
    tried.append("an interpreter (it is not an executable program)")
    if sniff_file(path) is not None:
        real = os.path.realpath(path)
        role = BinaryRole.STABLE_ABI if STABLE_ABI_NAME.match(os.path.basename(path)) else BinaryRole.LIBPYTHON
        return ResolvedBuild(
            kind=SpecKind.LIBRARY,
            spec=spec,
            origin=f"library {files.shown(real)}",
            libraries=(Library(role=role, path=real),),
        )
    tried.append("a shared library (no ELF, PE or Mach-O magic bytes)")
    raise BuildSpecError(
        f"{spec} is a file abidiff cannot use as a build: tried " + "; ".join(tried),
        hint="give a Python interpreter, an installed prefix, an include directory, a libpython, "
        "or a snapshot written by 'abidiff dump'",
    )


def _resolve_directory(spec: str, path: str) -> ResolvedBuild:
    try:
        os.listdir(path)
    except PermissionError as exc:
        raise BuildSpecError(
            f"cannot read the directory '{spec}': permission denied", hint="check its permissions"
        ) from exc
    except OSError:
        pass
    tried: list[str] = []
    include = _prefix_include(path)
    if include is not None:
        return ResolvedBuild(
            kind=SpecKind.PREFIX,
            spec=spec,
            origin=f"prefix {files.shown(os.path.realpath(path))}",
            include_dir=include,
            config_dirs=_prefix_config_dirs(path, include),
            libraries=_prefix_libraries(path),
        )
    tried.append("an installed prefix (no include/python3.X/Python.h)")
    if os.path.isfile(os.path.join(path, "Python.h")):
        return ResolvedBuild(
            kind=SpecKind.INCLUDE, spec=spec, origin=f"headers {files.shown(os.path.realpath(path))}", include_dir=path
        )
    tried.append("an include directory (no Python.h)")
    raise BuildSpecError(
        f"the directory {spec} is not a CPython build: tried " + "; ".join(tried),
        hint="give an installed prefix (with include/python3.X/) or the include directory that holds Python.h",
    )


def _is_script(path: str) -> bool:
    if not os.access(path, os.X_OK):
        return False
    try:
        with open(path, "rb") as handle:
            return handle.read(2) == b"#!"
    except OSError:
        return False


def _from_interpreter(spec: str, path: str) -> ResolvedBuild:
    info = probe(path)
    return ResolvedBuild(
        kind=SpecKind.INTERPRETER,
        spec=spec,
        origin=f"interpreter {files.shown(info.executable)} ({info.version})",
        include_dir=info.include_dir,
        config_dirs=info.config_dirs,
        libraries=_interpreter_libraries(info),
        soabi=info.soabi,
        ext_suffix=info.ext_suffix,
        interpreter=info,
    )
