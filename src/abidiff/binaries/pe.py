"""PE/COFF (pefile): the export directory of a DLL (or a program that exports).

Only the export directory is parsed (``fast_load=True``, then the one directory), plus
the import descriptors' DLL names for ``needed``.  pefile maps the file; it never copies
it whole.  An export whose RVA lies inside the export directory is a forwarder
(``python3.dll`` forwards ``PyObject_Call`` to ``python313.PyObject_Call``); otherwise its
kind is told by the section holding it: executable => function, anything else => data.
"""

from __future__ import annotations

import struct
from typing import Any

import pefile

from abidiff.binaries._common import Image, corrupt
from abidiff.errors import BinaryError
from abidiff.model import Binary, BinaryFormat, BinaryRole, Symbol, SymbolKind

# pefile reports most damage as PEFormatError; a few bad lengths or offsets surface as the
# stdlib's errors.  Nothing else is caught.
_LIBRARY_ERRORS = (pefile.PEFormatError, struct.error, ValueError, IndexError, OverflowError, UnicodeDecodeError)

_MACHINES = {
    0x014C: "i386",
    0x8664: "x86_64",
    0xAA64: "aarch64",
    0xA641: "arm64ec",
    0x01C0: "arm",
    0x01C4: "arm",
    0x0200: "ia64",
}
_PE32, _PE32_PLUS = 0x10B, 0x20B
_SCN_CNT_CODE = 0x00000020
_SCN_MEM_EXECUTE = 0x20000000
_EXPORT = pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_EXPORT"]
_IMPORT = pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_IMPORT"]
_MAX_IMPORT_DESCRIPTORS = 4096
_IMPORT_DESCRIPTOR_SIZE = 20


def read_pe(path: str, role: BinaryRole, *, imports: bool = False) -> tuple[Image, ...]:
    try:
        pe = pefile.PE(path, fast_load=True)
    except BinaryError:
        raise
    except _LIBRARY_ERRORS as exc:
        raise corrupt(path, f"not a valid PE file ({_first_line(exc)})") from exc
    try:
        return (_read(pe, path, role, imports),)
    except _LIBRARY_ERRORS as exc:
        raise corrupt(path, f"corrupt PE file ({type(exc).__name__}: {_first_line(exc)})") from exc
    finally:
        pe.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().strip("'\"").splitlines()
    return text[0] if text else "no detail"


def _read(pe: Any, path: str, role: BinaryRole, want_imports: bool) -> Image:
    magic = pe.OPTIONAL_HEADER.Magic
    if magic not in (_PE32, _PE32_PLUS):
        raise corrupt(path, f"PE optional header magic {magic:#x} is neither PE32 nor PE32+")
    _check_sections(pe, path)
    directories = [_EXPORT, _IMPORT] if want_imports else [_EXPORT]
    pe.parse_data_directories(directories=directories)
    machine = pe.FILE_HEADER.Machine
    dll_name: str | None = None
    symbols: list[Symbol] = []
    exports = getattr(pe, "DIRECTORY_ENTRY_EXPORT", None)
    if exports is None:
        _check_no_exports(pe, path)
    else:
        dll_name = _text(exports.name)
        sections = _sections(pe)
        for entry in exports.symbols:
            symbols.append(_symbol(entry, sections))
    binary = Binary(
        role=role,
        path=path,
        format=BinaryFormat.PE,
        arch=_MACHINES.get(machine, f"pe-{machine:#06x}"),
        bits=64 if magic == _PE32_PLUS else 32,
        little_endian=True,
        soname=dll_name,
        needed=_needed(pe, path),
        symbols=tuple(sorted(symbols, key=lambda s: (s.name, s.ordinal or 0))),
    )
    if not want_imports:
        return Image(binary=binary)
    by_library = _imports_by_library(pe)
    names = tuple(sorted({name for _dll, imported in by_library for name in imported}))
    return Image(binary=binary, imports=names, library_imports=by_library)


def _check_sections(pe: Any, path: str) -> None:
    """pefile reads missing bytes as zeros; a section whose raw data lies past the end of the
    file means a truncated file, which a loader would refuse too."""
    size = len(pe.__data__)
    for section in pe.sections:
        start, length = section.PointerToRawData, section.SizeOfRawData
        if length and start + length > size:
            name = section.Name.rstrip(b"\0").decode("ascii", "replace") or "?"
            raise corrupt(
                path,
                f"section {name} (raw data at {start:#x}, {length} bytes) lies past the end of the file ({size} bytes)",
            )


def _check_no_exports(pe: Any, path: str) -> None:
    """pefile drops an export directory it cannot read with a warning; we do not."""
    if len(pe.OPTIONAL_HEADER.DATA_DIRECTORY) <= _EXPORT:
        return
    directory = pe.OPTIONAL_HEADER.DATA_DIRECTORY[_EXPORT]
    if directory.VirtualAddress == 0 and directory.Size == 0:
        return
    warnings = [w for w in pe.get_warnings() if "xport" in w]
    detail = f": {warnings[0].splitlines()[0]}" if warnings else ""
    raise corrupt(
        path, f"the export directory (RVA {directory.VirtualAddress:#x}, {directory.Size} bytes) cannot be read{detail}"
    )


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", "backslashreplace")


def _sections(pe: Any) -> list[tuple[int, int, SymbolKind]]:
    """(start RVA, end RVA, kind of what it holds) of every section: code is executable;
    ``.tls`` holds the initial values of thread-local variables; the rest is data."""
    found = []
    for section in pe.sections:
        size = max(section.Misc_VirtualSize, section.SizeOfRawData)
        if section.Characteristics & (_SCN_MEM_EXECUTE | _SCN_CNT_CODE):
            kind = SymbolKind.FUNCTION
        elif section.Name.rstrip(b"\0") == b".tls":
            kind = SymbolKind.TLS
        else:
            kind = SymbolKind.DATA
        found.append((section.VirtualAddress, section.VirtualAddress + size, kind))
    return found


def _symbol(entry: Any, sections: list[tuple[int, int, SymbolKind]]) -> Symbol:
    # an export with no name is reachable by ordinal only: "#12"
    name = _text(entry.name) or f"#{entry.ordinal}"
    forwarder = _text(entry.forwarder)
    if forwarder is not None:
        return Symbol(name=name, kind=SymbolKind.UNKNOWN, ordinal=entry.ordinal, forwarder=forwarder)
    kind = SymbolKind.UNKNOWN
    for start, end, section_kind in sections:
        if start <= entry.address < end:
            kind = section_kind
            break
    return Symbol(name=name, kind=kind, ordinal=entry.ordinal)


def _needed(pe: Any, path: str) -> tuple[str, ...]:
    """The DLL names of the import descriptors, read without parsing their thunks."""
    if len(pe.OPTIONAL_HEADER.DATA_DIRECTORY) <= _IMPORT:
        return ()
    directory = pe.OPTIONAL_HEADER.DATA_DIRECTORY[_IMPORT]
    if directory.VirtualAddress == 0:
        return ()
    names: list[str] = []
    for number in range(_MAX_IMPORT_DESCRIPTORS):
        raw = pe.get_data(directory.VirtualAddress + number * _IMPORT_DESCRIPTOR_SIZE, _IMPORT_DESCRIPTOR_SIZE)
        if len(raw) < _IMPORT_DESCRIPTOR_SIZE:
            raise corrupt(path, "the import directory is cut short")
        name_rva = struct.unpack_from("<I", raw, 12)[0]
        if raw == bytes(_IMPORT_DESCRIPTOR_SIZE) or name_rva == 0:
            break
        name = pe.get_string_at_rva(name_rva)
        if name:
            names.append(name.decode("ascii", "backslashreplace"))
    return tuple(names)


def _imports_by_library(pe: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(DLL name, sorted imported names) per import descriptor; imports by ordinal only
    have no name and are left out."""
    libraries: list[tuple[str, tuple[str, ...]]] = []
    for descriptor in getattr(pe, "DIRECTORY_ENTRY_IMPORT", ()):
        names = {entry.name.decode("ascii", "backslashreplace") for entry in descriptor.imports if entry.name}
        libraries.append((_text(descriptor.dll) or "", tuple(sorted(names))))
    return tuple(libraries)
