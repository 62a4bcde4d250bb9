"""ELF (pyelftools): the defined, visible dynamic symbols of a shared library or program.

An export is a ``.dynsym`` entry that is defined (``st_shndx != SHN_UNDEF``), bound
``STB_GLOBAL``, ``STB_WEAK`` or ``STB_GNU_UNIQUE``, with ``STV_DEFAULT`` or
``STV_PROTECTED`` visibility, of any type but ``STT_SECTION``/``STT_FILE``: exactly what
``nm -D --defined-only`` lists in upper case.  Its GNU version comes from ``.gnu.version``
and ``.gnu.version_d``.  pyelftools seeks in the open file; the file is never read whole.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from elftools.common.exceptions import ELFError
from elftools.construct.core import ConstructError
from elftools.elf.elffile import ELFFile

from abidiff.binaries._common import Image, corrupt
from abidiff.errors import BinaryError
from abidiff.model import Binary, BinaryFormat, BinaryRole, Symbol, SymbolBinding, SymbolKind

# pyelftools reports a corrupt file with any of these (its own, its vendored construct's,
# and the stdlib's from a bad length, index or string); nothing else is caught.
# OSError: a seek or read the file refused (an offset that passed our checks but not the OS's).
_LIBRARY_ERRORS = (
    ELFError,
    ConstructError,
    struct.error,
    ValueError,
    KeyError,
    IndexError,
    UnicodeDecodeError,
    OSError,
)

_ARCHES = {
    "EM_X86_64": "x86_64",
    "EM_386": "i386",
    "EM_AARCH64": "aarch64",
    "EM_ARM": "arm",
    "EM_PPC": "ppc",
    "EM_S390": "s390x",
    "EM_RISCV": "riscv",
    "EM_MIPS": "mips",
    "EM_SPARCV9": "sparc64",
    "EM_LOONGARCH": "loongarch",
    "EM_IA_64": "ia64",
}
_SYM_SIZE = {32: 16, 64: 24}
_SECTION_HEADER_SIZE = {1: 40, 2: 64}  # by EI_CLASS
_SHN_XINDEX = 0xFFFF
# the section type each section we read must link to (sh_link); pyelftools asserts it
_LINKS = {
    "SHT_DYNSYM": "SHT_STRTAB",
    "SHT_DYNAMIC": "SHT_STRTAB",
    "SHT_GNU_verdef": "SHT_STRTAB",
    "SHT_GNU_versym": "SHT_DYNSYM",
}
_SHT_NOBITS = 8
_MAX_SYMBOLS = 1 << 22  # 4 M dynamic symbols: far beyond any real library


@dataclass(frozen=True, slots=True)
class _DynSym:
    name: str
    defined: bool
    binding: SymbolBinding | None  # None: local, or a binding we do not export
    visible: bool
    kind: SymbolKind | None  # None: STT_SECTION, STT_FILE
    size: int
    version: str | None


def read_elf(handle: BinaryIO, path: str, size: int, role: BinaryRole, *, imports: bool = False) -> tuple[Image, ...]:
    try:
        return (_read(handle, path, size, role, imports),)
    except BinaryError:
        raise
    except _LIBRARY_ERRORS as exc:
        raise corrupt(path, f"corrupt ELF file ({type(exc).__name__}: {_first_line(exc)})") from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else "no detail"


def _check_header(handle: BinaryIO, path: str, size: int) -> None:
    """Check the ELF header's section table (and the section-name table pyelftools reads
    when it opens the file) against the file size, before pyelftools trusts them."""
    head = handle.read(64)
    handle.seek(0)
    if len(head) < 52:
        raise corrupt(path, f"an ELF file of {size} bytes is too short for its header")
    ei_class, ei_data = head[4], head[5]
    if ei_class not in _SECTION_HEADER_SIZE or ei_data not in (1, 2):
        raise corrupt(path, f"unknown ELF class {ei_class} or byte order {ei_data}")
    endian = "<" if ei_data == 1 else ">"
    if ei_class == 2:
        if len(head) < 64:
            raise corrupt(path, f"an ELF file of {size} bytes is too short for its header")
        (shoff,) = struct.unpack_from(endian + "Q", head, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from(endian + "HHH", head, 0x3A)
    else:
        (shoff,) = struct.unpack_from(endian + "I", head, 0x20)
        shentsize, shnum, shstrndx = struct.unpack_from(endian + "HHH", head, 0x2E)
    if shoff == 0:
        return  # no section table (pyelftools then has no sections)
    if shentsize != _SECTION_HEADER_SIZE[ei_class]:
        raise corrupt(path, f"section headers of {shentsize} bytes, not {_SECTION_HEADER_SIZE[ei_class]}")
    count = max(shnum, 1)  # 0: extended numbering, the count is in section 0
    if shoff + count * shentsize > size:
        raise corrupt(
            path,
            f"the section table at offset {shoff:#x} ({count} entries) lies past the end of the file ({size} bytes)",
        )
    if shstrndx == _SHN_XINDEX or shnum == 0:
        return
    if shstrndx >= shnum:
        raise corrupt(path, f"the section-name table is section {shstrndx} of {shnum}")
    handle.seek(shoff + shstrndx * shentsize)
    entry = handle.read(shentsize)
    handle.seek(0)
    if ei_class == 2:
        sh_type, offset, length = (
            struct.unpack_from(endian + "I", entry, 4)[0],
            *struct.unpack_from(endian + "QQ", entry, 0x18),
        )
    else:
        sh_type, offset, length = (
            struct.unpack_from(endian + "I", entry, 4)[0],
            *struct.unpack_from(endian + "II", entry, 0x10),
        )
    if sh_type != _SHT_NOBITS and offset + length > size:
        raise corrupt(
            path,
            f"the section-name table at offset {offset:#x} ({length} bytes) lies past the end of the file "
            f"({size} bytes)",
        )


def _read(handle: BinaryIO, path: str, size: int, role: BinaryRole, want_imports: bool) -> Image:
    _check_header(handle, path, size)
    elf = ELFFile(handle)
    bits = elf.elfclass
    if bits not in _SYM_SIZE:
        raise corrupt(path, f"ELF class {bits} is neither 32 nor 64 bits")
    _check_sections(elf, path, size)
    soname, needed = _dynamic(elf)
    exports: list[Symbol] = []
    undefined: set[str] = set()
    for sym in _dynamic_symbols(elf, path, bits):
        if sym.binding is None or sym.kind is None or not sym.name:
            continue
        if not sym.defined:
            undefined.add(sym.name)
        elif sym.visible:
            exports.append(
                Symbol(name=sym.name, kind=sym.kind, binding=sym.binding, size=sym.size, version=sym.version)
            )
    binary = Binary(
        role=role,
        path=path,
        format=BinaryFormat.ELF,
        arch=_arch(elf.header["e_machine"], bits),
        bits=bits,
        little_endian=bool(elf.little_endian),
        soname=soname,
        needed=needed,
        symbols=tuple(sorted(exports, key=lambda s: (s.name, s.version or ""))),
    )
    return Image(binary=binary, imports=tuple(sorted(undefined)) if want_imports else ())


def _arch(machine: Any, bits: int) -> str:
    if machine in ("EM_PPC64",):
        return "ppc64"
    name = _ARCHES.get(machine)
    if name is None:
        return str(machine).removeprefix("EM_").lower()
    if name in ("riscv", "loongarch", "mips"):
        return f"{name}{bits}"
    return name


def _check_sections(elf: ELFFile, path: str, size: int) -> None:
    """Refuse sections we are going to read whose bytes lie past the end of the file."""
    for section in elf.iter_sections():
        kind = section["sh_type"]
        if kind not in ("SHT_DYNSYM", "SHT_DYNAMIC", "SHT_GNU_versym", "SHT_GNU_verdef", "SHT_STRTAB"):
            continue
        wanted_link = _LINKS.get(kind)
        if wanted_link is not None:
            link = section["sh_link"]
            if not 0 <= link < elf.num_sections() or elf.get_section(link)["sh_type"] != wanted_link:
                raise corrupt(
                    path, f"section {section.name or kind} links to section {link}, which is not a {wanted_link}"
                )
        offset, length = section["sh_offset"], section["sh_size"]
        if offset + length > size:
            raise corrupt(
                path,
                f"section {section.name or kind} at offset {offset:#x} ({length} bytes) lies past the end "
                f"of the file ({size} bytes)",
            )


def _section(elf: ELFFile, kind: str) -> Any:
    for section in elf.iter_sections():
        if section["sh_type"] == kind:
            return section
    return None


def _dynamic(elf: ELFFile) -> tuple[str | None, tuple[str, ...]]:
    section = _section(elf, "SHT_DYNAMIC")
    if section is None:
        return None, ()
    soname: str | None = None
    needed: list[str] = []
    for number, tag in enumerate(section.iter_tags()):
        if number > 1 << 16:
            break
        if tag.entry.d_tag == "DT_SONAME":
            soname = tag.soname
        elif tag.entry.d_tag == "DT_NEEDED":
            needed.append(tag.needed)
    return soname, tuple(needed)


def _version_names(elf: ELFFile) -> dict[int, str]:
    """Version index -> name, from ``.gnu.version_d`` (the versions this file defines)."""
    section = _section(elf, "SHT_GNU_verdef")
    names: dict[int, str] = {}
    if section is None:
        return names
    for number, (verdef, auxiliaries) in enumerate(section.iter_versions()):
        if number > 1 << 12:
            break
        if verdef["vd_flags"] & 0x1:  # VER_FLG_BASE: the file's own name, not a version
            continue
        first = next(iter(auxiliaries), None)
        if first is not None:
            names[verdef["vd_ndx"]] = first.name
    return names


# the raw fields of an Elf32_Sym / Elf64_Sym: pyelftools finds and checks the sections, and
# the table itself is unpacked in one go (its per-symbol parse costs 0.1 s for libpython)
_SYM_LAYOUT = {32: "IIIBBH", 64: "IBBHQQ"}
_STB = {1: SymbolBinding.GLOBAL, 2: SymbolBinding.WEAK, 10: SymbolBinding.GLOBAL}  # 10: STB_GNU_UNIQUE
_STT = {
    0: SymbolKind.UNKNOWN,  # STT_NOTYPE
    1: SymbolKind.DATA,  # STT_OBJECT
    2: SymbolKind.FUNCTION,  # STT_FUNC
    5: SymbolKind.DATA,  # STT_COMMON
    6: SymbolKind.TLS,  # STT_TLS
    10: SymbolKind.FUNCTION,  # STT_GNU_IFUNC
}
_STV_VISIBLE = {0, 3}  # STV_DEFAULT, STV_PROTECTED


def _dynamic_symbols(elf: ELFFile, path: str, bits: int) -> Iterator[_DynSym]:
    table = _section(elf, "SHT_DYNSYM")
    if table is None:
        return
    if table["sh_entsize"] != _SYM_SIZE[bits]:
        raise corrupt(path, f".dynsym has entries of {table['sh_entsize']} bytes, not {_SYM_SIZE[bits]}")
    count = table.num_symbols()
    if count > _MAX_SYMBOLS:
        raise corrupt(path, f".dynsym claims {count} symbols")
    versym = _section(elf, "SHT_GNU_versym")
    if versym is not None and versym["sh_size"] < 2 * count:
        raise corrupt(path, f".gnu.version has {versym['sh_size'] // 2} entries for {count} symbols")
    names = _version_names(elf) if versym is not None else {}
    endian = "<" if elf.little_endian else ">"
    raw = table.data()[: count * _SYM_SIZE[bits]]
    strings = elf.get_section(table["sh_link"]).data()
    versions = struct.unpack(f"{endian}{count}H", versym.data()[: 2 * count]) if versym is not None else ()
    for index, fields in enumerate(struct.iter_unpack(endian + _SYM_LAYOUT[bits], raw)):
        if index == 0:
            continue  # the null symbol
        if bits == 64:
            st_name, st_info, st_other, st_shndx, _value, st_size = fields
        else:
            st_name, _value, st_size, st_info, st_other, st_shndx = fields
        end = strings.find(b"\0", st_name)
        if st_name >= len(strings) or end < 0:
            raise corrupt(path, f".dynsym entry {index} names offset {st_name}, past its string table")
        version = names.get(versions[index] & 0x7FFF) if versions else None
        yield _DynSym(
            name=strings[st_name:end].decode("utf-8", "surrogateescape"),
            defined=st_shndx != 0,  # SHN_UNDEF
            binding=_STB.get(st_info >> 4),
            visible=(st_other & 0x3) in _STV_VISIBLE,
            kind=_STT.get(st_info & 0xF),
            size=st_size,
            version=version,
        )
