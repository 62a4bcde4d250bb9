"""What every reader shares: opening a file safely, bounded reads, the limits, and error messages.

No library type lives here; the readers turn their library's values into model values and
their library's exceptions into :class:`~abidiff.errors.BinaryError` before returning.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from abidiff import files
from abidiff.errors import BinaryError
from abidiff.model import Binary, SymbolKind

CORRUPT_HINT = "the file is truncated or corrupt: copy or build it again"
LIMIT_HINT = "no real library comes near this limit (see 'Limits' in docs/binaries.md): the file is corrupt or crafted"
_KIB, _MIB = 1 << 10, 1 << 20


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """What one binary may hold before abidiff refuses it (documented in docs/binaries.md).

    Each is far above what real libraries hold (``libLLVM-15.so``: 46,325 dynamic symbols,
    3.1 MiB of names, the longest 604 bytes) and keeps the reading of any file, however
    crafted, within a few seconds and a few hundred MB.
    """

    table_bytes: int = 128 * _MIB  # one table read into memory: symbols, strings, trie, load commands
    symbols: int = 1 << 19  # entries of one symbol table; exports of one trie or export directory
    name_bytes: int = 64 * _KIB  # one symbol, library or version name
    names_bytes: int = 64 * _MIB  # every name read from one binary, a shared name counted each time
    sections: int = 1 << 16  # ELF section headers
    dynamic_entries: int = 1 << 16  # ELF .dynamic entries before DT_NULL
    versions: int = 1 << 15  # ELF version definitions (a version index has 15 bits)
    trie_nodes: int = 1 << 22  # Mach-O export trie nodes
    trie_depth: int = 4096  # Mach-O export trie: nodes from the root to the deepest one
    debug_section_bytes: int = 512 * _MIB  # ELF .debug_* (inflated), read whole by pyelftools (--dwarf)


LIMITS = Limits()


@dataclass(frozen=True, slots=True, kw_only=True)
class Image:
    """One binary as read by a reader: its exports (the model value) and, when asked for,
    the names it imports (undefined symbols), kept apart for the extension-module audit."""

    binary: Binary
    imports: tuple[str, ...] = ()
    # PE only: (DLL name, imported names) per import descriptor, in file order; ELF and
    # Mach-O extensions resolve names at load time (flat or dynamic lookup), so they say
    # nothing per library
    library_imports: tuple[tuple[str, tuple[str, ...]], ...] = ()


def corrupt(path: str, what: str, *, hint: str = CORRUPT_HINT) -> BinaryError:
    """The error for a file whose contents do not make sense: ``PATH: WHAT``."""
    return BinaryError(f"{path}: {what}", hint=hint)


def over_limit(path: str, what: str) -> BinaryError:
    """The error for a file that holds more than :data:`LIMITS` allows: ``PATH: WHAT``."""
    return BinaryError(f"{path}: {what}", hint=LIMIT_HINT)


def size_text(count: int) -> str:
    """``64 KiB``, ``128 MiB``, ``2.0 GiB``: a byte count as a person reads it."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", _MIB), ("KiB", _KIB)):
        if count >= scale:
            value = count / scale
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{count} bytes"


# --- opening files ----------------------------------------------------------------------------


def _not_a_file(path: str, mode: int) -> BinaryError:
    hint = "give the path of a shared library or an extension module"
    return BinaryError(f"{path} is {files.kind_of(mode)}, not a file", hint=hint)


def _missing(path: str, exc: OSError | ValueError) -> BinaryError:
    if isinstance(exc, ValueError):  # os functions refuse a path with a NUL byte
        return BinaryError(f"{path!r} is not a usable path: {exc}", hint="check the path")
    reason = exc.strerror or type(exc).__name__
    if isinstance(exc, FileNotFoundError):
        return BinaryError(f"{path}: no such file", hint="check the path")
    if isinstance(exc, PermissionError):
        return BinaryError(f"cannot read {path}: {reason}", hint="check its permissions")
    return BinaryError(f"cannot read {path}: {reason}", hint="check the path and its permissions")


def _check_regular(path: str, info: os.stat_result) -> int:
    if not stat.S_ISREG(info.st_mode):
        raise _not_a_file(path, info.st_mode)
    if info.st_size == 0:
        raise BinaryError(f"{path} is empty (0 bytes)", hint=CORRUPT_HINT)
    return info.st_size


def file_size(path: str) -> int:
    """The size of the regular file ``path``; :class:`BinaryError` for a missing or
    unreadable path, a directory, a FIFO, a device, a socket or an empty file."""
    try:
        info = os.stat(path)
    except (OSError, ValueError) as exc:
        raise _missing(path, exc) from exc
    return _check_regular(path, info)


def file_identity(path: str) -> tuple[int, int, int]:
    """(size, modification time in ns, inode) of the regular file ``path``, what a cache key
    of a binary needs, with the errors of :func:`file_size`."""
    try:
        info = os.stat(path)
    except (OSError, ValueError) as exc:
        raise _missing(path, exc) from exc
    _check_regular(path, info)
    return info.st_size, info.st_mtime_ns, info.st_ino


@contextlib.contextmanager
def open_binary(path: str) -> Iterator[BinaryIO]:
    """``path`` opened for reading, once it is known to be a regular file.  Opened without
    blocking (a FIFO with no writer would block ``open`` forever) and checked on the open
    descriptor, so a path swapped after :func:`file_size` cannot slip through."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except (OSError, ValueError) as exc:
        file_size(path)  # a socket cannot be opened (ENXIO): say what it is, when it is something
        raise _missing(path, exc) from exc
    try:
        _check_regular(path, os.fstat(descriptor))
        handle = os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise
    with handle:
        yield handle


def open_regular(path: str) -> BinaryIO | None:
    """``path`` opened for reading when it is a non-empty regular file, else None (never
    blocks, never raises): for the sniffers that answer "not a binary" to anything odd."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except (OSError, ValueError):
        return None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            os.close(descriptor)
            return None
        return os.fdopen(descriptor, "rb")
    except OSError:
        os.close(descriptor)
        return None


# --- bounded reads ----------------------------------------------------------------------------


class Window:
    """Bounded reads from ``[base, base + size)`` of an open file: every offset and length
    is checked against the window before the file is touched, so a corrupt header can
    never make us seek past the end or read more than the window."""

    def __init__(self, handle: BinaryIO, path: str, base: int, size: int, *, name: str = "the file") -> None:
        self.handle = handle
        self.path = path
        self.base = base
        self.size = size
        self.name = name  # what the window is, in messages: "the file", "the x86_64 slice"

    def contains(self, offset: int, length: int) -> bool:
        return 0 <= offset and 0 <= length and offset + length <= self.size

    def _past_end(self, offset: int, length: int, what: str) -> BinaryError:
        return corrupt(
            self.path,
            f"{what} at offset {offset:#x} ({length} bytes) lies past the end of {self.name} ({self.size} bytes)",
        )

    def read(self, offset: int, length: int, what: str) -> bytes:
        if not self.contains(offset, length):
            raise self._past_end(offset, length, what)
        try:
            self.handle.seek(self.base + offset)
            data = self.handle.read(length)
        except OSError as exc:
            raise corrupt(self.path, f"{what} at offset {offset:#x} cannot be read: {exc.strerror}") from exc
        if len(data) != length:
            raise corrupt(self.path, f"{what} at offset {offset:#x} is cut short")
        return data

    def table(self, offset: int, length: int, what: str) -> bytes:
        """:meth:`read` of a table that is read whole into memory: at most
        :attr:`Limits.table_bytes`."""
        if length > LIMITS.table_bytes:
            raise over_limit(
                self.path, f"{what} is {size_text(length)}, over the limit of {size_text(LIMITS.table_bytes)}"
            )
        return self.read(offset, length, what)

    def sub(self, offset: int, length: int, what: str) -> Window:
        """The window of ``what``, a part of this one."""
        if not self.contains(offset, length):
            raise self._past_end(offset, length, what)
        return Window(self.handle, self.path, self.base + offset, length, name=what)


# --- what an address points into ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AddressMap:
    """Address ranges (sections) and the kind of symbol each holds, looked up by binary
    search: a file with many sections and many exports costs no more than a real one."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]
    kinds: tuple[SymbolKind, ...]

    @classmethod
    def of(cls, ranges: list[tuple[int, int, SymbolKind]]) -> AddressMap:
        """From (start, end, kind) triples; of overlapping ranges (only in corrupt files) the
        one that starts last before an address wins."""
        ordered = sorted(ranges, key=lambda item: item[0])
        return cls(tuple(r[0] for r in ordered), tuple(r[1] for r in ordered), tuple(r[2] for r in ordered))

    def kind_at(self, address: int) -> SymbolKind:
        index = bisect.bisect_right(self.starts, address) - 1
        if index >= 0 and address < self.ends[index]:
            return self.kinds[index]
        return SymbolKind.UNKNOWN


# --- names ------------------------------------------------------------------------------------


class NameBudget:
    """The bytes of names read from one binary, against :attr:`Limits.names_bytes`; a name
    shared by many symbols counts once per symbol (each is a copy in every report)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.used = 0

    def charge(self, length: int) -> None:
        self.used += length
        if self.used > LIMITS.names_bytes:
            raise over_limit(
                self.path, f"its symbol names add up to more than {size_text(LIMITS.names_bytes)}, the limit"
            )


class StringTable:
    """NUL-terminated names at offsets of a string table read into memory: each is found
    once (a name shared by many symbols is decoded once), at most :attr:`Limits.name_bytes`
    long, and charged to the binary's :class:`NameBudget` each time it is used."""

    def __init__(
        self,
        data: bytes,
        budget: NameBudget,
        *,
        what: str,
        errors: str = "backslashreplace",
        transform: Callable[[str], str] | None = None,
    ) -> None:
        self.data = data
        self.budget = budget
        self.what = what
        self.errors = errors
        self.transform = transform  # applied once per name (Mach-O: drop the leading underscore)
        self._found: dict[int, str] = {}

    def name(self, offset: int, who: str) -> str:
        """The name at ``offset``, for ``who`` (in messages: "dynamic symbol 12")."""
        found = self._found.get(offset)
        if found is None:
            found = self._find(offset, who)
            if self.transform is not None:
                found = self.transform(found)
            self._found[offset] = found
        self.budget.charge(len(found))
        return found

    def _find(self, offset: int, who: str) -> str:
        path, size = self.budget.path, len(self.data)
        if not 0 <= offset < size:
            raise corrupt(path, f"{who} names offset {offset}, past the end of {self.what} ({size} bytes)")
        end = self.data.find(b"\0", offset, offset + LIMITS.name_bytes + 1)
        if end < 0:
            if offset + LIMITS.name_bytes < size:
                raise over_limit(path, f"{who} has a name longer than {size_text(LIMITS.name_bytes)}, the limit")
            raise corrupt(path, f"the name of {who} at offset {offset} runs past the end of {self.what}")
        return self.data[offset:end].decode("utf-8", self.errors)


def cstring(data: bytes, offset: int, *, limit: int = 4096) -> str | None:
    """The NUL-terminated string at ``offset`` of ``data``, or None when it does not end
    within ``limit`` bytes or the end of ``data``."""
    if not 0 <= offset < len(data):
        return None
    end = data.find(b"\0", offset, offset + limit)
    if end < 0:
        return None
    return data[offset:end].decode("utf-8", "backslashreplace")
