"""The public header tree of a build: every header there is, which to parse, and the limits.

Every ``*.h`` under the include directory is a public header, except those under
``internal/`` (never read: abidiff never defines ``Py_BUILD_CORE``).  ``Python.h`` does not
include them all: ``datetime.h``, ``marshal.h``, ``structmember.h``, up to 3.10
``frameobject.h`` (and through it ``cpython/frameobject.h``), ``pyexpat.h``, ``py_curses.h``
... must be included by an extension itself.  They are found from the tree: the headers
that no other header includes (read as text, every ``#include`` whatever its condition) are
included after ``Python.h``, in the order of their names, so that each header is read once,
through the headers that include it.

Each file is checked before libclang sees it (a regular file, readable, of a bounded size,
with a UTF-8 name).  A header ``Python.h`` may include (``patchlevel.h``, ``pyconfig.h``,
anything ``Python.h`` reaches) that fails a check stops the dump with a one-line error; any
other header that fails one is left out and named in a snapshot warning.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
from dataclasses import dataclass

from abidiff.errors import BuildSpecError

MAX_HEADER_BYTES = 1024 * 1024  # one header; CPython's largest public header: 82 kB (3.6)
MAX_TREE_BYTES = 4 * 1024 * 1024  # every public header together; CPython's: 0.6 to 0.7 MB
MAX_FILES = 10_000  # files under the include directory; CPython's: ~250 with internal/

INTERNAL_DIR = "internal"
ESSENTIAL = ("Python.h", "patchlevel.h", "pyconfig.h")
_INCLUDE_RE = re.compile(rb'^[ \t]*#[ \t]*include[ \t]*([<"])([^>"\r\n]+)[>"]', re.MULTILINE)
# names a header may declare, read from its text: a macro, a PyAPI_FUNC/PyAPI_DATA, a struct,
# union or enum tag with its body, a typedef name (a superset is fine: see extras_declaring)
_DECLARED_RE = re.compile(
    rb"^[ \t]*#[ \t]*define[ \t]+(\w+)"
    rb"|PyAPI_(?:FUNC|DATA)\s*\((?:[^()]|\([^()]*\))*\)\s*(\w+)"
    rb"|\b(?:struct|union|enum)\s+(\w+)\s*\{"
    rb"|\}\s*(\w+)\s*;"
    rb"|\btypedef\b[^;{}]*?\b(\w+)\s*(?:\)\s*\([^;]*)?;",
    re.MULTILINE,
)


def shown(path: str) -> str:
    """A path as it can be printed and written in JSON: bytes that are not UTF-8 as ``\\xe9``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _is_utf8(path: str) -> bool:
    try:
        os.fsencode(path).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def check_path(path: str, what: str) -> None:
    """Refuse a path libclang cannot take: it reads its arguments as UTF-8."""
    if not _is_utf8(path):
        raise BuildSpecError(
            f"the {what} {shown(path)} has a name that is not valid UTF-8, which libclang cannot open",
            hint="rename it, or copy the tree to a directory whose path is UTF-8",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class HeaderTree:
    """The public headers of one include directory (and its configuration directories)."""

    include_dir: str
    headers: tuple[str, ...]  # relative names of the readable public headers of include_dir
    paths: tuple[str, ...]  # their paths, then the configuration directories' headers
    extra: tuple[str, ...]  # headers Python.h does not reach: included after it, in this order
    reached: frozenset[str] = frozenset()  # the headers Python.h may include (every #include)
    # each extra header: the names it and the headers only it reaches may declare
    declared: tuple[tuple[str, frozenset[str]], ...] = ()
    left_out: tuple[tuple[str, str], ...] = ()  # (header, why) of headers that could not be read
    total_bytes: int = 0

    def warnings(self) -> tuple[str, ...]:
        return tuple(f"{name} was not read: {why}" for name, why in self.left_out)

    def extras_declaring(self, names: frozenset[str]) -> tuple[str, ...]:
        """The extra headers that may declare one of ``names`` (in their order).

        The limited levels need only these: of a header ``Python.h`` does not include, only
        what the stable-ABI manifest names is in the limited API (3.11's ``structmember.h``
        declares ``PyMemberDef``); the others (``py_curses.h``, which includes curses.h)
        would only cost every level's parse.
        """
        return tuple(header for header, declared in self.declared if declared & names)


@dataclass(slots=True)
class _Walk:
    names: dict[str, str]  # relative name -> path
    texts: dict[str, bytes]
    problems: dict[str, str]  # relative name (shown) -> why
    total: int = 0
    files: int = 0


def _bytes(size: int) -> str:
    return f"{size:,} bytes"


def _read_header(path: str) -> tuple[bytes | None, str | None]:
    """The bytes of a header, or why it cannot be read."""
    try:
        info = os.stat(path)
    except OSError as exc:
        return None, f"it cannot be read ({exc.strerror})"
    if not stat.S_ISREG(info.st_mode):
        return None, "it is not a regular file"
    if info.st_size > MAX_HEADER_BYTES:
        return (
            None,
            f"it is {_bytes(info.st_size)}, over the limit of {_bytes(MAX_HEADER_BYTES)} for one header",
        )
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_HEADER_BYTES + 1)
    except OSError as exc:
        return None, f"it cannot be read ({exc.strerror})"
    if len(data) > MAX_HEADER_BYTES:
        return None, f"it is over the limit of {_bytes(MAX_HEADER_BYTES)} for one header"
    return data, None


def _walk(root: str, walk: _Walk, *, prune_internal: bool, prefix: str = "") -> None:
    def refuse(exc: OSError) -> None:
        raise BuildSpecError(
            f"cannot list the directory {shown(exc.filename or root)} of the header tree ({exc.strerror})",
            hint="make it readable, or give a complete CPython include directory",
        )

    for directory, subdirs, files in os.walk(root, onerror=refuse):
        if prune_internal and directory == root:
            subdirs[:] = [name for name in subdirs if name != INTERNAL_DIR]
        subdirs.sort()
        for name in sorted(files):
            walk.files += 1
            if walk.files > MAX_FILES:
                raise BuildSpecError(
                    f"{shown(root)} holds more than {MAX_FILES} files: it is not a CPython include directory",
                    hint="give the directory that holds Python.h",
                )
            if not name.endswith(".h"):
                continue
            path = os.path.join(directory, name)
            relative = prefix + os.path.relpath(path, root).replace(os.sep, "/")
            if not _is_utf8(relative):
                walk.problems[shown(relative)] = "its name is not valid UTF-8"
                continue
            data, why = _read_header(path)
            if data is None:
                walk.problems[relative] = why or "it cannot be read"
                continue
            walk.names[relative] = path
            walk.texts[relative] = data
            walk.total += len(data)


def _includes(name: str, text: bytes, names: set[str] | dict[str, str]) -> set[str]:
    """The tree's headers that ``name`` includes (every ``#include``, whatever its condition)."""
    found = set()
    here = posixpath.dirname(name)
    for kind, target in _INCLUDE_RE.findall(text):
        wanted = target.decode("latin-1").strip()
        candidates = [posixpath.normpath(posixpath.join(here, wanted))] if kind == b'"' else []
        candidates.append(posixpath.normpath(wanted))
        for candidate in candidates:
            if candidate in names:
                found.add(candidate)
                break
    return found


def _closure(starts: list[str], graph: dict[str, set[str]]) -> set[str]:
    seen = set(starts)
    todo = list(starts)
    while todo:
        for target in graph.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def extra_headers(graph: dict[str, set[str]]) -> tuple[str, ...]:
    """The headers ``Python.h`` does not reach that no other such header includes, by name;
    then (for headers that only include one another) the first of each cycle."""
    covered = _closure(["Python.h"], graph) | {"pyconfig.h"}
    remaining = sorted(name for name in graph if name not in covered)
    included = set().union(*(graph[name] - {name} for name in remaining)) if remaining else set()
    roots = [name for name in remaining if name not in included]
    covered |= _closure(roots, graph)
    for name in remaining:
        if name not in covered:
            roots.append(name)
            covered |= _closure([name], graph)
    return tuple(roots)


def read_tree(include_dir: str, config_dirs: tuple[str, ...] = ()) -> HeaderTree:
    """Check and list the public headers of ``include_dir``; :class:`BuildSpecError` when one
    that ``Python.h`` may include cannot be read, or the tree is over the limits."""
    check_path(include_dir, "include directory")
    for directory in config_dirs:
        check_path(directory, "configuration directory")
    walk = _Walk(names={}, texts={}, problems={})
    _walk(include_dir, walk, prune_internal=True)
    config = _Walk(names={}, texts={}, problems={}, files=walk.files)
    for directory in config_dirs:
        _walk(directory, config, prune_internal=False)
    known = set(walk.names) | set(walk.problems)
    reached = _closure(["Python.h"], {name: _includes(name, text, known) for name, text in walk.texts.items()})
    graph = {name: _includes(name, text, walk.names) for name, text in walk.texts.items()}
    extra = extra_headers(graph)
    essential = {name: why for name, why in walk.problems.items() if name in reached or name in ESSENTIAL}
    essential.update(config.problems)
    if essential:
        name, why = sorted(essential.items())[0]
        others = tuple(f"{other}: {reason}" for other, reason in sorted(essential.items())[1:])
        raise BuildSpecError(
            f"the header {name} of {shown(include_dir)} is needed by Python.h, but {why}",
            details=others,
            hint="give the include directory of a CPython build (limits: docs/snapshot.md)"
            if "limit" in why
            else "make it readable, or give a complete CPython include directory",
        )
    total = walk.total + config.total
    if total > MAX_TREE_BYTES:
        raise BuildSpecError(
            f"the public headers of {shown(include_dir)} are {_bytes(total)} together, over the limit of "
            f"{_bytes(MAX_TREE_BYTES)}",
            hint="give the include directory of a CPython build (see docs/snapshot.md, 'Limits')",
        )
    names = tuple(sorted(walk.names))
    return HeaderTree(
        include_dir=include_dir,
        headers=names,
        paths=tuple(walk.names[name] for name in names) + tuple(config.names[name] for name in sorted(config.names)),
        extra=extra,
        reached=frozenset(reached),
        declared=tuple((header, _declared(header, graph, walk.texts, reached)) for header in extra),
        left_out=tuple(sorted(walk.problems.items())),
        total_bytes=total,
    )


def _declared(header: str, graph: dict[str, set[str]], texts: dict[str, bytes], reached: set[str]) -> frozenset[str]:
    names: set[str] = set()
    for name in _closure([header], graph) - reached:
        for groups in _DECLARED_RE.findall(texts[name]):
            names.update(group.decode("latin-1") for group in groups if group)
    return frozenset(names)


def public_header_paths(include_dir: str, config_dirs: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The paths of the readable public headers (see :func:`read_tree`)."""
    return read_tree(include_dir, config_dirs).paths
