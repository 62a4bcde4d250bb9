"""Readers of exported symbol tables: ELF (pyelftools), PE (pefile), Mach-O (macholib).

One entry point, :func:`read_binary`, picks the reader from the file's magic bytes (never
from its name) and returns model values; a library's types and exceptions never leave
its reader: anything wrong with a file is a one-line :class:`~abidiff.errors.BinaryError`
naming the file.  See ``docs/binaries.md`` for what counts as an export in each format.
"""

from __future__ import annotations

from abidiff.binaries._common import Image, file_size, open_binary
from abidiff.binaries.detect import sniff
from abidiff.errors import BinaryError
from abidiff.model import Binary, BinaryFormat, BinaryRole

__all__ = ["read_binary", "read_imports"]


def _images(path: str, role: BinaryRole, *, imports: bool) -> tuple[Image, ...]:
    size = file_size(path)
    with open_binary(path) as handle:
        head = handle.read(8)
        kind = sniff(head)
        if kind is None:
            raise BinaryError(
                f"{path} is not an ELF, PE or Mach-O file (it starts with {head[:4].hex() or 'nothing'})",
                hint="give a shared library (libpython3.X.so, python3X.dll, the Python framework dylib)",
            )
        if kind == BinaryFormat.ELF:
            from abidiff.binaries.elf import read_elf

            handle.seek(0)
            return read_elf(handle, path, size, role, imports=imports)
        if kind == BinaryFormat.MACHO:
            from abidiff.binaries.macho import read_macho

            return read_macho(handle, path, size, role, imports=imports)
    from abidiff.binaries.pe import read_pe  # pefile maps the file itself

    return read_pe(path, role, imports=imports)


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
