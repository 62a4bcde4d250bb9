"""What every reader shares: opening a file safely, bounded reads, and error messages.

No library type lives here; the readers turn their library's values into model values and
their library's exceptions into :class:`~abidiff.errors.BinaryError` before returning.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from abidiff.errors import BinaryError
from abidiff.model import Binary

CORRUPT_HINT = "the file is truncated or corrupt: copy or build it again"


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


def file_size(path: str) -> int:
    """The size of the regular file ``path``; :class:`BinaryError` for anything else."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise BinaryError(f"cannot read {path}: {exc.strerror}", hint="check the path") from exc
    if stat.S_ISDIR(info.st_mode):
        raise BinaryError(f"{path} is a directory, not a binary", hint="give the path of a shared library")
    if not stat.S_ISREG(info.st_mode):
        raise BinaryError(f"{path} is not a regular file", hint="give the path of a shared library")
    if info.st_size == 0:
        raise BinaryError(f"{path} is empty (0 bytes)", hint=CORRUPT_HINT)
    return info.st_size


@contextlib.contextmanager
def open_binary(path: str) -> Iterator[BinaryIO]:
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise BinaryError(f"cannot read {path}: {exc.strerror}", hint="check the path and its permissions") from exc
    with handle:
        yield handle


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

    def read(self, offset: int, length: int, what: str) -> bytes:
        if not self.contains(offset, length):
            raise corrupt(
                self.path,
                f"{what} at offset {offset:#x} ({length} bytes) lies past the end of {self.name} ({self.size} bytes)",
            )
        self.handle.seek(self.base + offset)
        data = self.handle.read(length)
        if len(data) != length:
            raise corrupt(self.path, f"{what} at offset {offset:#x} is cut short")
        return data

    def sub(self, offset: int, length: int, what: str) -> Window:
        """The window of ``what``, a part of this one."""
        if not self.contains(offset, length):
            raise corrupt(
                self.path,
                f"{what} at offset {offset:#x} ({length} bytes) lies past the end of {self.name} ({self.size} bytes)",
            )
        return Window(self.handle, self.path, self.base + offset, length, name=what)


def cstring(data: bytes, offset: int, *, limit: int = 4096) -> str | None:
    """The NUL-terminated string at ``offset`` of ``data``, or None when it does not end
    within ``limit`` bytes or the end of ``data``."""
    if not 0 <= offset < len(data):
        return None
    end = data.find(b"\0", offset, offset + limit)
    if end < 0:
        return None
    return data[offset:end].decode("utf-8", "backslashreplace")
