"""PE/COFF (pefile for the headers and sections, own bounded walk of the export directory).

pefile maps the file (it never copies it whole) and parses the headers and the section table
(``fast_load=True``); the export directory is walked here, every table bounded by the file
and by :data:`~abidiff.binaries._common.LIMITS`, every name read once (pefile copies up to
1 MiB per forwarder string and stops silently at its own limits).  An export whose RVA lies
inside the export directory is a forwarder (``python3.dll`` forwards ``PyObject_Call`` to
``python313.PyObject_Call``); otherwise its kind is told by the section holding it:
executable => function, ``.tls`` => tls, anything else => data.  ``needed`` is the import
descriptors' DLL names; the imported names themselves (for extension audits) come from
pefile's import parser, whose own limit (8,192 imports) is an error here, not a truncation.
"""

from __future__ import annotations

import mmap
import struct
from typing import Any

import pefile

from abidiff.binaries._common import LIMITS, AddressMap, Image, NameBudget, StringTable, corrupt, over_limit, size_text
from abidiff.errors import BinaryError
from abidiff.model import Binary, BinaryFormat, BinaryRole, Symbol, SymbolKind

# pefile reports most damage as PEFormatError; a few bad lengths or offsets surface as the
# stdlib's errors.  Nothing else is caught.
_LIBRARY_ERRORS = (
    pefile.PEFormatError,
    struct.error,
    ValueError,
    IndexError,
    OverflowError,
    UnicodeDecodeError,
    OSError,
)

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
_SECTION_HEADER_SIZE = 40
_DOS_HEADER_SIZE = 64
_COFF_HEADER_END = 24  # "PE\0\0" and IMAGE_FILE_HEADER, from e_lfanew
_EXPORT_DIRECTORY = "<IIHHIIIIIII"  # IMAGE_EXPORT_DIRECTORY
# pefile's warnings that mean it stopped reading imports early: a truncated list is an error
_IMPORT_TRUNCATED = ("Excessive number of imports", "Too many errors parsing the import directory")


def read_pe(data: mmap.mmap, path: str, role: BinaryRole, *, imports: bool = False) -> tuple[Image, ...]:
    """The image of the PE file ``path``, whose bytes are ``data`` (a map of the open file)."""
    _check_headers(data, path)
    try:
        pe = pefile.PE(data=data, fast_load=True)
    except _LIBRARY_ERRORS as exc:
        raise corrupt(path, f"not a valid PE file: {_first_line(exc)}") from exc
    # no pe.close(): the caller owns (and closes) the map, and pefile's close() runs a full
    # garbage collection, 10 to 100 ms a file
    try:
        return (_read(pe, path, role, imports),)
    except BinaryError:
        raise  # ours already says what is wrong (and is a ValueError: not to be wrapped again)
    except _LIBRARY_ERRORS as exc:
        raise corrupt(path, f"corrupt PE file: {_first_line(exc)}") from exc


def _check_headers(data: mmap.mmap, path: str) -> None:
    """The DOS header, the PE signature and the COFF and optional headers are in the file,
    checked before pefile sees it (clearer messages; and a file pefile refuses costs a full
    garbage collection, which it runs when it gives up)."""
    size = len(data)
    if size < _DOS_HEADER_SIZE:
        raise corrupt(path, f"a PE file of {size} bytes is too short for its DOS header ({_DOS_HEADER_SIZE} bytes)")
    (pe_offset,) = struct.unpack_from("<I", data, 0x3C)
    if pe_offset + _COFF_HEADER_END > size:
        raise corrupt(
            path, f"the PE header at offset {pe_offset:#x} (e_lfanew) lies past the end of the file ({size} bytes)"
        )
    if data[pe_offset : pe_offset + 4] != b"PE\0\0":
        raise corrupt(path, f"no PE signature at offset {pe_offset:#x} (e_lfanew): an MZ file that is not a PE file")
    (optional_size,) = struct.unpack_from("<H", data, pe_offset + 20)
    if optional_size < 2 or pe_offset + _COFF_HEADER_END + optional_size > size:
        raise corrupt(
            path,
            f"the optional header at offset {pe_offset + _COFF_HEADER_END:#x} ({optional_size} bytes) is too short "
            f"or lies past the end of the file ({size} bytes)",
        )
    (magic,) = struct.unpack_from("<H", data, pe_offset + _COFF_HEADER_END)
    if magic not in (_PE32, _PE32_PLUS):
        raise corrupt(path, f"PE optional header magic {magic:#x} is neither PE32 nor PE32+")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().strip("'\"").splitlines()
    return text[0].rstrip(".") if text else type(exc).__name__


def _read(pe: Any, path: str, role: BinaryRole, want_imports: bool) -> Image:
    magic = pe.OPTIONAL_HEADER.Magic
    if magic not in (_PE32, _PE32_PLUS):
        raise corrupt(path, f"PE optional header magic {magic:#x} is neither PE32 nor PE32+")
    _check_sections(pe, path)
    machine = pe.FILE_HEADER.Machine
    budget = NameBudget(path)
    strings = StringTable(pe.__data__, budget, what="the file")
    dll_name, symbols = _exports(pe, path, strings)
    binary = Binary(
        role=role,
        path=path,
        format=BinaryFormat.PE,
        arch=_MACHINES.get(machine, f"pe-{machine:#06x}"),
        bits=64 if magic == _PE32_PLUS else 32,
        little_endian=True,
        soname=dll_name,
        needed=_needed(pe, path, strings),
        symbols=tuple(sorted(symbols, key=lambda s: (s.name, s.ordinal or 0))),
    )
    if not want_imports:
        return Image(binary=binary)
    by_library = _imports_by_library(pe, path)
    names = tuple(sorted({name for _dll, imported in by_library for name in imported}))
    return Image(binary=binary, imports=names, library_imports=by_library)


def _check_sections(pe: Any, path: str) -> None:
    """Every section the header declares was read, and none lies past the end of the file
    (pefile reads missing bytes as zeros and stops at a bad section with a warning only)."""
    size = len(pe.__data__)
    declared = pe.FILE_HEADER.NumberOfSections
    if len(pe.sections) != declared:
        table_at = pe.DOS_HEADER.e_lfanew + 24 + pe.FILE_HEADER.SizeOfOptionalHeader
        table_size = declared * _SECTION_HEADER_SIZE
        if table_at + table_size > size:
            raise corrupt(
                path,
                f"its header declares {declared} sections, a section table of {size_text(table_size)} at offset "
                f"{table_at:#x} that lies past the end of the file ({size} bytes)",
            )
        if declared > pefile.MAX_SECTIONS:
            raise over_limit(path, f"its header declares {declared} sections, over the limit of {pefile.MAX_SECTIONS}")
        raise corrupt(
            path, f"its section table ends (an empty entry) after {len(pe.sections)} of the {declared} sections"
        )
    for section in pe.sections:
        start, length = section.PointerToRawData, section.SizeOfRawData
        if length and start + length > size:
            raise corrupt(
                path,
                f"section {_section_name(section)} (raw data at {start:#x}, {length} bytes) lies past the end of "
                f"the file ({size} bytes)",
            )


def _section_name(section: Any) -> str:
    return str(section.Name.rstrip(b"\0").decode("ascii", "replace")) or "?"


def _address_map(pe: Any) -> AddressMap:
    """What each section holds: code is executable; ``.tls`` holds the initial values of
    thread-local variables; the rest is data."""
    ranges = []
    for section in pe.sections:
        size = max(section.Misc_VirtualSize, section.SizeOfRawData)
        if section.Characteristics & (_SCN_MEM_EXECUTE | _SCN_CNT_CODE):
            kind = SymbolKind.FUNCTION
        elif section.Name.rstrip(b"\0") == b".tls":
            kind = SymbolKind.TLS
        else:
            kind = SymbolKind.DATA
        ranges.append((section.VirtualAddress, section.VirtualAddress + size, kind))
    return AddressMap.of(ranges)


def _data(pe: Any, path: str, rva: int, length: int, what: str) -> bytes:
    """``length`` bytes at ``rva``, all of them, else the error that ``what`` is cut short."""
    try:
        data = pe.get_data(rva, length)
    except pefile.PEFormatError as exc:
        raise corrupt(path, f"{what} at RVA {rva:#x} ({length} bytes) lies outside the file") from exc
    if len(data) != length:
        raise corrupt(path, f"{what} at RVA {rva:#x} ({length} bytes) runs past the end of its section or the file")
    return bytes(data)


def _table(pe: Any, path: str, rva: int, count: int, width: int, what: str) -> tuple[int, ...]:
    """``count`` little-endian integers of ``width`` bytes at ``rva``."""
    if count == 0:
        return ()
    return struct.unpack(f"<{count}{'I' if width == 4 else 'H'}", _data(pe, path, rva, count * width, what))


def _exports(pe: Any, path: str, strings: StringTable) -> tuple[str | None, list[Symbol]]:
    """The DLL name of the export directory and its exports: each named one, then each
    exported by ordinal only (named ``#N``)."""
    directories = pe.OPTIONAL_HEADER.DATA_DIRECTORY
    if len(directories) <= _EXPORT:
        return None, []
    directory = directories[_EXPORT]
    rva, size = directory.VirtualAddress, directory.Size
    if rva == 0:  # no export directory (its size alone means nothing to a loader)
        return None, []
    fields = struct.unpack(
        _EXPORT_DIRECTORY, _data(pe, path, rva, struct.calcsize(_EXPORT_DIRECTORY), "the export directory")
    )
    name_rva, base, functions, names, functions_at, names_at, ordinals_at = fields[4:]
    for count, what in ((functions, "functions"), (names, "names")):
        if count > LIMITS.symbols:
            raise over_limit(path, f"the export directory lists {count} {what}, over the limit of {LIMITS.symbols}")
    addresses = _table(pe, path, functions_at, functions, 4, "the export address table")
    name_rvas = _table(pe, path, names_at, names, 4, "the export name table")
    indexes = _table(pe, path, ordinals_at, names, 2, "the export ordinal table")
    sections = _address_map(pe)

    def string(at: int, who: str) -> str:
        try:
            offset = pe.get_offset_from_rva(at)
        except pefile.PEFormatError as exc:
            raise corrupt(path, f"{who} at RVA {at:#x} lies outside the file") from exc
        return strings.name(offset, who)

    def symbol(name: str, index: int) -> Symbol:
        address, ordinal = addresses[index], base + index
        if rva <= address < rva + size:
            forwarder = string(address, f"the forwarder of export {ordinal}")
            return Symbol(name=name, kind=SymbolKind.UNKNOWN, ordinal=ordinal, forwarder=forwarder)
        return Symbol(name=name, kind=sections.kind_at(address), ordinal=ordinal)

    found: list[Symbol] = []
    named: set[int] = set()
    for number, (at, index) in enumerate(zip(name_rvas, indexes, strict=True)):
        if index >= functions:
            raise corrupt(path, f"export name {number} has ordinal index {index}, past the {functions} functions")
        if addresses[index] == 0:
            continue
        named.add(index)
        found.append(symbol(string(at, f"export name {number}") or f"#{base + index}", index))
    for index in range(functions):
        if index not in named and addresses[index] != 0:
            found.append(symbol(f"#{base + index}", index))
    dll_name = string(name_rva, "the export directory's DLL name") if name_rva else None
    return dll_name, found


def _needed(pe: Any, path: str, strings: StringTable) -> tuple[str, ...]:
    """The DLL names of the import descriptors, read without parsing their thunks."""
    if len(pe.OPTIONAL_HEADER.DATA_DIRECTORY) <= _IMPORT:
        return ()
    directory = pe.OPTIONAL_HEADER.DATA_DIRECTORY[_IMPORT]
    if directory.VirtualAddress == 0:
        return ()
    names: list[str] = []
    for number in range(_MAX_IMPORT_DESCRIPTORS + 1):
        at = directory.VirtualAddress + number * _IMPORT_DESCRIPTOR_SIZE
        raw = _data(pe, path, at, _IMPORT_DESCRIPTOR_SIZE, f"import descriptor {number}")
        name_rva = struct.unpack_from("<I", raw, 12)[0]
        if raw == bytes(_IMPORT_DESCRIPTOR_SIZE) or name_rva == 0:
            break
        if number == _MAX_IMPORT_DESCRIPTORS:
            raise over_limit(path, f"the import directory lists more than {_MAX_IMPORT_DESCRIPTORS} DLLs, the limit")
        try:
            offset = pe.get_offset_from_rva(name_rva)
        except pefile.PEFormatError as exc:
            raise corrupt(path, f"the name of imported DLL {number} lies outside the file") from exc
        name = strings.name(offset, f"imported DLL {number}")
        if name:
            names.append(name)
    return tuple(names)


def _imports_by_library(pe: Any, path: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(DLL name, sorted imported names) per import descriptor; imports by ordinal only
    have no name and are left out."""
    pe.parse_data_directories(directories=[_IMPORT])
    truncated = [w for w in pe.get_warnings() if w.startswith(_IMPORT_TRUNCATED)]
    if truncated:
        raise over_limit(path, f"its imports cannot all be read ({truncated[0].splitlines()[0].rstrip('.')})")
    libraries: list[tuple[str, tuple[str, ...]]] = []
    for descriptor in getattr(pe, "DIRECTORY_ENTRY_IMPORT", ()):
        names = {entry.name.decode("ascii", "backslashreplace") for entry in descriptor.imports if entry.name}
        dll = descriptor.dll.decode("utf-8", "backslashreplace") if descriptor.dll else ""
        libraries.append((dll, tuple(sorted(names))))
    return tuple(libraries)
