"""The sources of an extension for ``abidiff ext --source PATH...``: which files to parse, with
which flags, and where they are.

A PATH is a C or C++ file, a directory (every ``.c``/``.cc``/``.cpp``/``.cxx`` file under it,
hidden and virtual-environment directories left out), a ``compile_commands.json`` (each entry's
file with its flags: include directories, macros, the language standard), or an sdist
(``.tar.gz``, ``.tgz``, ``.zip``: its sources and build files are extracted, after the same
kind of checks as a wheel's, into a private temporary directory).

Without a ``compile_commands.json``, a file is parsed against the headers of the build given
(OLD's include directories), with its own directory, each directory given and the
``include``/``src`` directories of the extension on the include path; ``Py_LIMITED_API`` is
taken from the sources themselves (a ``#define`` is seen by the parse), else from the build
files (``setup.py``, ``setup.cfg``, ``pyproject.toml``, ``meson.build``:
``("Py_LIMITED_API", "0x03090000")``), else from the wheel's ``abi3`` tag.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import stat
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from abidiff.errors import InputError

SOURCE_SUFFIXES = (".c", ".cc", ".cpp", ".cxx")
_CXX_SUFFIXES = (".cc", ".cpp", ".cxx")
_KEPT_SUFFIXES = (*SOURCE_SUFFIXES, ".h", ".hh", ".hpp", ".hxx", ".inc", ".py", ".toml", ".cfg", ".txt", ".build")
_SKIPPED_DIRS = frozenset({"build", "dist", "venv", ".venv", "env", "node_modules", "__pycache__", "site-packages"})
MAX_SOURCE_FILES = 1_000  # translation units of one run
MAX_SDIST_MEMBERS = 20_000
MAX_SDIST_BYTES = 256 * 1024 * 1024  # what is extracted, in all
MAX_MEMBER_BYTES = 16 * 1024 * 1024
MAX_BUILD_FILE_BYTES = 1024 * 1024
_LIMITED_RE = re.compile(r"""Py_LIMITED_API['"]?\s*[,=:]?\s*['"]?\s*(0x[0-9A-Fa-f]{8})""")
_BUILD_FILES = ("setup.py", "setup.cfg", "pyproject.toml", "meson.build")
# flags of a compile command that change what the headers declare (the rest is dropped)
_KEEP_JOINED = ("-I", "-isystem", "-iquote", "-idirafter", "-D", "-U", "-include", "-std=", "-x")
_PATH_FLAGS = ("-I", "-isystem", "-iquote", "-idirafter", "-include")


@dataclass(frozen=True, slots=True, kw_only=True)
class Unit:
    """One translation unit: the file, its flags (None: the defaults of the build's headers)."""

    file: str
    flags: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceTree:
    """What to parse: the units, the extension's own directories, where ``Py_LIMITED_API``
    comes from (``None``: nowhere but the sources themselves)."""

    units: tuple[Unit, ...]
    roots: tuple[str, ...]
    # each root with the way the user named it (a directory given as ``src/``: ``src``; an
    # sdist's extraction: empty), so that places read as the user's paths
    shown: tuple[tuple[str, str], ...] = ()
    limited_api: str | None = None  # "0x03090000"
    limited_from: str | None = None
    from_compile_commands: bool = False


def is_archive(path: str) -> bool:
    lower = path.lower()
    return lower.endswith((".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip")) and os.path.isfile(path)


def _walk(directory: str) -> list[str]:
    found: list[str] = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIPPED_DIRS)
        found += [os.path.join(root, name) for name in sorted(files) if name.endswith(SOURCE_SUFFIXES)]
        if len(found) > MAX_SOURCE_FILES:
            raise InputError(
                f"{directory} holds more than {MAX_SOURCE_FILES:,} C/C++ files",
                hint="give the extension's own source directory, or its compile_commands.json",
            )
    return found


def _flags(entry: dict[str, object], where: str) -> tuple[str, tuple[str, ...]]:
    """The file of one compile command and the flags of it that matter to the headers."""
    directory = str(entry.get("directory") or ".")
    file = entry.get("file")
    if not isinstance(file, str):
        raise InputError(f"{where}: an entry has no 'file'", hint="give a compile_commands.json made by the build")
    arguments = entry.get("arguments")
    if isinstance(arguments, list) and all(isinstance(item, str) for item in arguments):
        words = [str(item) for item in arguments]
    elif isinstance(entry.get("command"), str):
        try:
            words = shlex.split(str(entry["command"]))
        except ValueError as exc:
            raise InputError(f"{where}: a command does not split into words ({exc})") from exc
    else:
        raise InputError(f"{where}: an entry of {file} has neither 'arguments' nor 'command'")
    kept: list[str] = []
    index = 1
    while index < len(words):
        word = words[index]
        index += 1
        flag = next((prefix for prefix in _KEEP_JOINED if word.startswith(prefix)), None)
        if flag is None:
            continue
        value = word[len(flag) :]
        if not value and flag not in ("-std=",) and index < len(words):
            value = words[index]
            index += 1
        if flag in _PATH_FLAGS and not os.path.isabs(value):
            value = os.path.normpath(os.path.join(directory, value))
        kept += [flag + value] if flag in ("-std=", "-D", "-U") else [flag, value]
    path = file if os.path.isabs(file) else os.path.normpath(os.path.join(directory, file))
    return path, tuple(kept)


def _compile_commands(path: str) -> list[Unit]:
    try:
        with open(path, encoding="utf-8") as handle:
            entries = json.load(handle)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path} is not a readable compile_commands.json: {exc}") from exc
    if not isinstance(entries, list) or not all(isinstance(item, dict) for item in entries):
        raise InputError(f"{path} is not a compile_commands.json (a JSON list of compile commands)")
    units: dict[str, Unit] = {}
    for entry in entries:
        file, flags = _flags(entry, path)
        if file.endswith(SOURCE_SUFFIXES):
            units.setdefault(file, Unit(file=file, flags=flags))
    if not units:
        raise InputError(f"{path} names no C or C++ file", hint="give the compile_commands.json of the extension")
    return list(units.values())


def _unsafe(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or "\0" in name or ".." in parts or re.match(r"^[A-Za-z]:", name) is not None


def _extract(path: str, into: str) -> None:
    """The sources and build files of an sdist, each member checked first."""
    total = 0

    def check(name: str, size: int) -> bool:
        nonlocal total
        if _unsafe(name):
            raise InputError(f"{os.path.basename(path)} has an unsafe member name: {name[:80]!r}", hint=_HINT)
        if not name.endswith(_KEPT_SUFFIXES):
            return False
        if size > MAX_MEMBER_BYTES:
            raise InputError(f"{os.path.basename(path)}: {name[:80]} is over {MAX_MEMBER_BYTES} bytes", hint=_HINT)
        total += size
        if total > MAX_SDIST_BYTES:
            raise InputError(f"{os.path.basename(path)} holds over {MAX_SDIST_BYTES} bytes of sources", hint=_HINT)
        return True

    def write(name: str, data: bytes) -> None:
        target = os.path.join(into, *name.replace("\\", "/").split("/"))
        os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
        with open(target, "wb") as handle:
            handle.write(data)

    try:
        if path.lower().endswith(".zip"):
            with zipfile.ZipFile(path) as zipped:
                members = zipped.infolist()
                if len(members) > MAX_SDIST_MEMBERS:
                    raise InputError(f"{os.path.basename(path)} has over {MAX_SDIST_MEMBERS} members", hint=_HINT)
                for info in members:
                    mode = info.external_attr >> 16
                    if info.is_dir() or stat.S_ISLNK(mode) or not check(info.filename, info.file_size):
                        continue
                    with zipped.open(info) as member:
                        write(info.filename, member.read(MAX_MEMBER_BYTES + 1)[:MAX_MEMBER_BYTES])
            return
        with tarfile.open(path) as tarred:
            count = 0
            for entry in tarred:
                count += 1
                if count > MAX_SDIST_MEMBERS:
                    raise InputError(f"{os.path.basename(path)} has over {MAX_SDIST_MEMBERS} entrys", hint=_HINT)
                if not entry.isreg() or not check(entry.name, entry.size):
                    continue
                extracted = tarred.extractfile(entry)
                if extracted is not None:
                    write(entry.name, extracted.read(MAX_MEMBER_BYTES + 1)[:MAX_MEMBER_BYTES])
    except (OSError, tarfile.TarError, zipfile.BadZipFile, EOFError) as exc:
        raise InputError(f"{path} is not a readable sdist: {exc}", hint="give a .tar.gz or .zip sdist") from exc


_HINT = "this sdist is unsafe to open: get it again from a trusted source"


def _limited_from_build_files(roots: Sequence[str]) -> tuple[str, str] | None:
    for root in roots:
        for base, dirs, files in os.walk(root):
            dirs[:] = [] if base.count(os.sep) - root.count(os.sep) >= 2 else sorted(dirs)
            for name in sorted(files):
                if name not in _BUILD_FILES:
                    continue
                full = os.path.join(base, name)
                with contextlib.suppress(OSError), open(full, encoding="utf-8", errors="replace") as handle:
                    found = _LIMITED_RE.search(handle.read(MAX_BUILD_FILE_BYTES))
                    if found:
                        return found.group(1), os.path.relpath(full, root)
    return None


@contextlib.contextmanager
def source_tree(paths: Sequence[str], *, abi3_version: str | None = None) -> Iterator[SourceTree]:
    """The units of ``paths`` (sdists extracted into a temporary directory, removed after)."""
    scratch: str | None = None
    try:
        units: list[Unit] = []
        roots: list[str] = []
        shown: dict[str, str] = {}
        from_cc = False
        for path in paths:
            if not os.path.exists(path):
                raise InputError(
                    f"{path} does not exist", hint="give C/C++ files, a directory, a compile_commands.json or an sdist"
                )
            if os.path.isdir(path):
                roots.append(os.path.realpath(path))
                shown.setdefault(roots[-1], os.path.normpath(path))
                units += [Unit(file=file) for file in _walk(path)]
            elif os.path.basename(path) == "compile_commands.json" or path.endswith(".json"):
                from_cc = True
                found = _compile_commands(path)
                units += found
                for directory in sorted({os.path.dirname(unit.file) for unit in found}):
                    roots.append(os.path.realpath(directory))
                    shown.setdefault(roots[-1], directory)
            elif is_archive(path):
                scratch = scratch or tempfile.mkdtemp(prefix="abidiff-sdist-")
                target = os.path.join(scratch, str(len(roots)))
                os.makedirs(target, mode=0o700)
                _extract(path, target)
                roots.append(os.path.realpath(target))
                shown.setdefault(roots[-1], "")
                units += [Unit(file=file) for file in _walk(target)]
            elif path.endswith(SOURCE_SUFFIXES):
                roots.append(os.path.realpath(os.path.dirname(os.path.abspath(path))))
                shown.setdefault(roots[-1], os.path.dirname(os.path.normpath(path)))
                units.append(Unit(file=path))
            else:
                raise InputError(
                    f"{path} is not a C/C++ file, a directory, a compile_commands.json or an sdist",
                    hint="give the extension's sources (.c, .cc, .cpp, .cxx)",
                )
        if not units:
            raise InputError(f"no C or C++ file in {', '.join(paths)}", hint="give the extension's sources")
        if len(units) > MAX_SOURCE_FILES:
            raise InputError(f"more than {MAX_SOURCE_FILES:,} C/C++ files given", hint="give fewer sources")
        limited = _limited_from_build_files(roots)
        limited_api, limited_from = limited if limited else (None, None)
        if limited_api is None and abi3_version is not None:
            major, minor = (int(part) for part in abi3_version.split(".")[:2])
            limited_api, limited_from = f"0x{major:02X}{minor:02X}0000", f"the wheel's abi3 tag ({abi3_version})"
        yield SourceTree(
            units=tuple(units),
            roots=tuple(dict.fromkeys(roots)),
            shown=tuple(shown.items()),
            limited_api=limited_api,
            limited_from=limited_from,
            from_compile_commands=from_cc,
        )
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def include_dirs(tree: SourceTree) -> tuple[str, ...]:
    """The extension's own include directories: each root and its ``include``/``src``
    directories (two levels down at most)."""
    found: list[str] = []
    for root in tree.roots:
        found.append(root)
        for base, dirs, _files in os.walk(root):
            depth = base.count(os.sep) - root.count(os.sep)
            dirs[:] = [] if depth >= 2 else sorted(d for d in dirs if not d.startswith(".") and d not in _SKIPPED_DIRS)
            found += [os.path.join(base, d) for d in dirs if d in ("include", "src")]
    return tuple(dict.fromkeys(found))


def language(file: str) -> tuple[str, ...]:
    return ("-x", "c++", "-std=gnu++17") if file.endswith(_CXX_SUFFIXES) else ("-x", "c", "-std=gnu11")
