"""Readers of exported symbol tables: ELF (pyelftools), PE (pefile), Mach-O (macholib).

One entry point, :func:`read_binary`, picks the reader from the file's magic bytes (never
from its name) and returns model values; a library's types and exceptions never leave
its reader: anything wrong with a file is a one-line :class:`~abidiff.errors.BinaryError`
naming the file.  See ``docs/binaries.md`` for what counts as an export in each format.
"""

from __future__ import annotations

import mmap
import os
from dataclasses import dataclass

from abidiff.binaries._common import Image, file_identity, file_size, open_binary
from abidiff.binaries.detect import is_object_file, sniff
from abidiff.errors import BinaryError
from abidiff.model import Binary, BinaryFormat, BinaryRole

__all__ = ["ImportTable", "file_identity", "is_object_file", "read_binary", "read_import_table", "read_imports"]


def _images(path: str, role: BinaryRole, *, imports: bool) -> tuple[Image, ...]:
    """Every image of ``path``, read by the reader its magic bytes name.  The file is opened
    once, without blocking, and checked to be a regular file on the open descriptor (a FIFO,
    a device, a directory are refused by name); the readers never read it whole."""
    with open_binary(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        head = handle.read(20)
        kind = sniff(head)
        if kind is None:
            raise BinaryError(
                f"{path} is not an ELF, PE or Mach-O file (it starts with {head[:4].hex() or 'nothing'})",
                hint="give a shared library (libpython3.X.so, python3X.dll, the Python framework dylib)",
            )
        if is_object_file(head):
            raise BinaryError(
                f"{path} is an object file the linker has not linked: it has no dynamic symbols to read",
                hint="give what the build links from it (a shared library or a program)",
            )
        if kind == BinaryFormat.ELF:
            from abidiff.binaries.elf import read_elf

            return read_elf(handle, path, size, role, imports=imports)
        if kind == BinaryFormat.MACHO:
            from abidiff.binaries.macho import read_macho

            return read_macho(handle, path, size, role, imports=imports)
        from abidiff.binaries.pe import read_pe

        try:  # pefile reads a map of the file (never a copy of it all)
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as exc:
            raise BinaryError(f"cannot read {path}: {exc}", hint="check the file") from exc
        with mapped:
            return read_pe(mapped, path, role, imports=imports)


def read_binary(path: str, role: BinaryRole) -> tuple[Binary, ...]:
    """The exports of ``path``: one :class:`Binary`, or one per slice of a universal Mach-O file."""
    return tuple(image.binary for image in _images(path, role, imports=False))


def read_imports(path: str) -> tuple[str, ...]:
    """The names ``path`` imports (its undefined dynamic symbols; Mach-O names without their
    leading underscore), sorted, over all slices of a universal file."""
    names: set[str] = set()
    for image in _images(path, BinaryRole.OTHER, imports=True):
        names.update(image.imports)
    return tuple(sorted(names))


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportTable:
    """What one binary imports, as an extension-module audit needs it.

    ``names``: every imported name over all slices (Mach-O without the leading underscore).
    ``by_library``: for PE files, the names imported from each DLL (``python3.dll``,
    ``python313.dll``, ``KERNEL32.dll``), DLL names as the file spells them; empty for ELF
    and Mach-O, whose undefined symbols are bound at load time to whatever provides them.
    ``binaries``: the exports-side view of each slice (format, architecture, needed libraries).
    """

    names: tuple[str, ...]
    by_library: tuple[tuple[str, tuple[str, ...]], ...]
    binaries: tuple[Binary, ...]


def read_import_table(path: str) -> ImportTable:
    """The :class:`ImportTable` of ``path`` (one read of the file)."""
    images = _images(path, BinaryRole.OTHER, imports=True)
    names: set[str] = set()
    merged: dict[str, set[str]] = {}
    for image in images:
        names.update(image.imports)
        for library, imported in image.library_imports:
            merged.setdefault(library, set()).update(imported)
    return ImportTable(
        names=tuple(sorted(names)),
        by_library=tuple((library, tuple(sorted(merged[library]))) for library in sorted(merged, key=str.lower)),
        binaries=tuple(image.binary for image in images),
    )


def file_head(path: str, count: int = 8) -> bytes:
    """The first ``count`` bytes of ``path`` (a regular file of a sane size, else a one-line
    :class:`~abidiff.errors.BinaryError`), to tell a binary from a wheel."""
    file_size(path)
    with open_binary(path) as handle:
        head: bytes = handle.read(count)
    return head


def is_binary(head: bytes) -> bool:
    """Whether ``head`` starts an ELF, PE or Mach-O file."""
    return sniff(head) is not None
