"""Build specs: what the user names as BUILD, resolved to the files abidiff reads.

A build spec is, in the order tried:

1. a snapshot file written by ``abidiff dump`` (JSON);
2. a Python interpreter: a path, or a name on PATH such as ``python3.12`` (run, never imported);
3. a shared library (ELF, PE or Mach-O): its exports only;
4. an installed prefix: a directory with ``include/python3.X/Python.h``;
5. an include directory holding ``Python.h`` (headers only).

Anything else is an error that lists what was tried.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
from dataclasses import dataclass

from abidiff.binaries.detect import is_program, sniff_file
from abidiff.errors import BuildSpecError
from abidiff.model import BinaryRole, StrEnum
from abidiff.sources.interpreter import InterpreterInfo, probe

STABLE_ABI_NAME = re.compile(r"^(libpython3\.so|libpython3\.dylib|python3(_d)?\.dll)$", re.IGNORECASE)


class SpecKind(StrEnum):
    SNAPSHOT = "snapshot"
    INTERPRETER = "interpreter"
    LIBRARY = "library"
    PREFIX = "prefix"
    INCLUDE = "include"
    GIT = "git"


@dataclass(frozen=True, slots=True, kw_only=True)
class Library:
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
    try:
        with open(path, "rb") as handle:
            head = handle.read(64).lstrip()
    except OSError:
        return False
    return head.startswith(b"{")


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


def _prefix_libraries(prefix: str) -> tuple[Library, ...]:
    found = []
    shared = sorted(glob.glob(os.path.join(glob.escape(prefix), "lib", "libpython3.*.so*")))
    shared += sorted(glob.glob(os.path.join(glob.escape(prefix), "lib", "libpython3.*.dylib")))
    shared += sorted(glob.glob(os.path.join(glob.escape(prefix), "python3[0-9]*.dll")))
    if shared:
        found.append(Library(role=BinaryRole.LIBPYTHON, path=os.path.realpath(shared[-1])))
    for name in ("lib/libpython3.so", "python3.dll"):
        path = os.path.join(prefix, name)
        if os.path.isfile(path):
            found.append(Library(role=BinaryRole.STABLE_ABI, path=os.path.realpath(path)))
    return tuple(found)


def resolve(spec: str) -> ResolvedBuild:
    """Resolve one build spec, or raise :class:`BuildSpecError` listing what was tried."""
    tried: list[str] = []
    path = os.path.expanduser(spec)
    if os.path.isfile(path):
        if _looks_like_json(path):
            return ResolvedBuild(kind=SpecKind.SNAPSHOT, spec=spec, origin=f"snapshot {path}", snapshot_path=path)
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
                origin=f"library {real}",
                libraries=(Library(role=role, path=real),),
            )
        tried.append("a shared library (no ELF, PE or Mach-O magic bytes)")
        raise BuildSpecError(
            f"{spec} is a file abidiff cannot use as a build: tried " + "; ".join(tried),
            hint="give a Python interpreter, an installed prefix, an include directory, a libpython, "
            "or a snapshot written by 'abidiff dump'",
        )
    if os.path.isdir(path):
        include = _prefix_include(path)
        if include is not None:
            return ResolvedBuild(
                kind=SpecKind.PREFIX,
                spec=spec,
                origin=f"prefix {os.path.realpath(path)}",
                include_dir=include,
                libraries=_prefix_libraries(path),
            )
        tried.append("an installed prefix (no include/python3.X/Python.h)")
        if os.path.isfile(os.path.join(path, "Python.h")):
            return ResolvedBuild(
                kind=SpecKind.INCLUDE, spec=spec, origin=f"headers {os.path.realpath(path)}", include_dir=path
            )
        tried.append("an include directory (no Python.h)")
        raise BuildSpecError(
            f"the directory {spec} is not a CPython build: tried " + "; ".join(tried),
            hint="give an installed prefix (with include/python3.X/) or the include directory that holds Python.h",
        )
    if os.sep not in spec:
        found = shutil.which(spec)
        if found is not None:
            return _from_interpreter(spec, found)
        tried.append(f"a program on PATH (no '{spec}' there)")
    tried.insert(0, "a path (none exists)")
    raise BuildSpecError(
        f"no build found for '{spec}': tried " + "; ".join(tried),
        hint="give a Python interpreter (path or name on PATH), an installed prefix, an include "
        "directory, a libpython, or a snapshot file",
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
        origin=f"interpreter {info.executable} ({info.version})",
        include_dir=info.include_dir,
        config_dirs=info.config_dirs,
        libraries=_interpreter_libraries(info),
        soabi=info.soabi,
        ext_suffix=info.ext_suffix,
        interpreter=info,
    )
