"""ELF (constants from pyelftools, own bounded walk): the defined, visible dynamic symbols.

An export is a ``.dynsym`` entry that is defined (``st_shndx != SHN_UNDEF``), bound
``STB_GLOBAL``, ``STB_WEAK`` or ``STB_GNU_UNIQUE``, with ``STV_DEFAULT`` or
``STV_PROTECTED`` visibility, of any type but ``STT_SECTION``/``STT_FILE``: exactly what
``nm -D --defined-only`` lists in upper case.  Its GNU version comes from ``.gnu.version``
and ``.gnu.version_d``.

pyelftools trusts what a file says: it reads a string up to the next NUL wherever that is,
decompresses a ``SHF_COMPRESSED`` section to whatever size its header claims, and builds an
object per section and per entry.  So this reader walks the few structures it needs itself,
through :class:`~abidiff.binaries._common.Window` (every offset and length checked against
the file before it is read) and within :data:`~abidiff.binaries._common.LIMITS`: the section
table, ``.dynsym``, its string table, ``.dynamic``, ``.gnu.version`` and ``.gnu.version_d``.
Nothing else of the file is read.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from elftools.elf.enums import ENUM_E_MACHINE

from abidiff.binaries._common import (
    LIMITS,
    Image,
    NameBudget,
    StringTable,
    Window,
    corrupt,
    over_limit,
)
from abidiff.model import Binary, BinaryFormat, BinaryRole, Symbol, SymbolBinding, SymbolKind

_MACHINE_NAMES = {value: name for name, value in ENUM_E_MACHINE.items() if name != "_default_"}
_ARCHES = {
    "EM_X86_64": "x86_64",
    "EM_386": "i386",
    "EM_AARCH64": "aarch64",
    "EM_ARM": "arm",
    "EM_PPC": "ppc",
    "EM_PPC64": "ppc64",
    "EM_S390": "s390x",
    "EM_RISCV": "riscv",
    "EM_MIPS": "mips",
    "EM_SPARCV9": "sparc64",
    "EM_LOONGARCH": "loongarch",
    "EM_IA_64": "ia64",
}
_WITH_BITS = {"riscv", "loongarch", "mips"}

# ELF header fields after e_ident, by EI_CLASS (1: 32 bits, 2: 64 bits)
_HEADER = {1: "HHIIIIIHHHHHH", 2: "HHIQQQIHHHHHH"}
_HEADER_SIZE = {1: 52, 2: 64}
_SECTION = {1: "IIIIIIIIII", 2: "IIQQQQIIQQ"}  # Elf_Shdr
_SECTION_SIZE = {1: 40, 2: 64}
_SYMBOL = {1: "IIIBBH", 2: "IBBHQQ"}  # Elf_Sym
_SYMBOL_SIZE = {1: 16, 2: 24}
_DYNAMIC = {1: "iI", 2: "qQ"}  # Elf_Dyn
_BITS = {1: 32, 2: 64}

SHT_STRTAB = 3
SHT_DYNAMIC = 6
SHT_NOBITS = 8
SHT_DYNSYM = 11
SHT_GNU_VERDEF = 0x6FFFFFFD
SHT_GNU_VERSYM = 0x6FFFFFFF
SHF_COMPRESSED = 0x800
_TYPE_NAMES = {
    SHT_STRTAB: "SHT_STRTAB",
    SHT_DYNAMIC: "SHT_DYNAMIC",
    SHT_DYNSYM: "SHT_DYNSYM",
    SHT_GNU_VERDEF: "SHT_GNU_verdef",
    SHT_GNU_VERSYM: "SHT_GNU_versym",
}
# the section type each section we read must link to (sh_link)
_LINKS = {SHT_DYNSYM: SHT_STRTAB, SHT_DYNAMIC: SHT_STRTAB, SHT_GNU_VERDEF: SHT_STRTAB, SHT_GNU_VERSYM: SHT_DYNSYM}
_SHN_XINDEX = 0xFFFF
DT_NULL, DT_NEEDED, DT_SONAME = 0, 1, 14
_VER_FLG_BASE = 0x1
_VERDEF_SIZE, _VERDAUX_SIZE = 20, 8

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


@dataclass(frozen=True, slots=True)
class _Section:
    index: int
    name_offset: int
    type: int
    flags: int
    offset: int
    size: int
    link: int
    info: int
    entsize: int


@dataclass(frozen=True, slots=True)
class _Header:
    elf_class: int  # 1 or 2
    endian: str  # "<" or ">"
    machine: int
    shoff: int
    shentsize: int
    shnum: int
    shstrndx: int


class BoundedElf:
    """One ELF file: its header, its section table, and bounded reads of its sections (also
    the check that the DWARF reader runs before it lets pyelftools open a file)."""

    def __init__(self, window: Window) -> None:
        self.window = window
        self.path = window.path
        self.header = _header(window)
        self.sections = self._section_table()

    @property
    def endian(self) -> str:
        return self.header.endian

    def _section_table(self) -> tuple[_Section, ...]:
        header = self.header
        if header.shoff == 0:
            return ()  # no section table (a stripped-down file): no sections, no symbols
        entry = _SECTION_SIZE[header.elf_class]
        if header.shentsize != entry:
            raise corrupt(self.path, f"section headers of {header.shentsize} bytes, not {entry}")
        count = header.shnum
        if count == 0:  # extended numbering: the count is in section 0's sh_size
            first = self.window.read(header.shoff, entry, "the section table")
            count = struct.unpack_from(header.endian + _SECTION[header.elf_class], first)[5]
        if count > LIMITS.sections:
            raise over_limit(self.path, f"a section table of {count} sections, over the limit of {LIMITS.sections}")
        if not self.window.contains(header.shoff, count * entry):
            raise corrupt(
                self.path,
                f"the section table at offset {header.shoff:#x} ({count} entries) lies past the end of the file "
                f"({self.window.size} bytes)",
            )
        raw = self.window.read(header.shoff, count * entry, "the section table")
        layout = header.endian + _SECTION[header.elf_class]
        return tuple(
            _Section(index, name, kind, flags, offset, size, link, info, entsize)
            for index, (name, kind, flags, _addr, offset, size, link, info, _align, entsize) in enumerate(
                struct.iter_unpack(layout, raw)
            )
        )

    def label(self, section: _Section) -> str:
        """The section as messages name it after "section": ``.dynsym``, or ``3 (SHT_DYNSYM)``
        when its name cannot be read (at most 64 bytes of the section-name table are)."""
        fallback = f"{section.index} ({_TYPE_NAMES.get(section.type, hex(section.type))})"
        index = self.header.shstrndx
        if index == _SHN_XINDEX and self.sections:
            index = self.sections[0].link
        if not 0 <= index < len(self.sections):
            return fallback
        names = self.sections[index]
        start = names.offset + section.name_offset
        length = min(64, names.size - section.name_offset, self.window.size - start)
        if section.name_offset >= names.size or length <= 0 or not self.window.contains(start, length):
            return fallback
        raw = self.window.read(start, length, "a section name").partition(b"\0")
        text = raw[0].decode("ascii", "replace")
        return text if raw[1] and text.isprintable() and text else fallback

    def section_names(self, budget: NameBudget) -> tuple[str, ...]:
        """The name of every section, read from the section-name table within the limits
        (what pyelftools reads, unbounded, for every section it builds)."""
        index = self.header.shstrndx
        if index == _SHN_XINDEX and self.sections:
            index = self.sections[0].link
        if not self.sections or index == 0:
            return ("",) * len(self.sections)
        if index >= len(self.sections):
            raise corrupt(self.path, f"the section-name table is section {index} of {len(self.sections)}")
        table = StringTable(self.data(self.sections[index]), budget, what="the section-name table")
        return tuple(table.name(s.name_offset, f"section {s.index}") if s.name_offset else "" for s in self.sections)

    def first(self, kind: int) -> _Section | None:
        return next((section for section in self.sections if section.type == kind), None)

    def linked(self, section: _Section) -> _Section:
        """The section ``section`` links to, checked to be of the type it must be."""
        wanted = _LINKS[section.type]
        link = section.link
        if not 0 <= link < len(self.sections) or self.sections[link].type != wanted:
            raise corrupt(
                self.path,
                f"section {self.label(section)} links to section {link}, which is not a {_TYPE_NAMES[wanted]}",
            )
        return self.sections[link]

    def data(self, section: _Section) -> bytes:
        """The bytes of ``section`` (bounded by the file and by :attr:`Limits.table_bytes`)."""
        if section.flags & SHF_COMPRESSED:
            raise corrupt(
                self.path,
                f"section {self.label(section)} is compressed (SHF_COMPRESSED), which a loaded section never is",
            )
        if section.type == SHT_NOBITS:
            return b""
        if not self.window.contains(section.offset, section.size):
            raise corrupt(
                self.path,
                f"section {self.label(section)} at offset {section.offset:#x} ({section.size} bytes) lies past "
                f"the end of the file ({self.window.size} bytes)",
            )
        return self.window.table(section.offset, section.size, f"section {self.label(section)}")

    def strings(self, section: _Section, budget: NameBudget) -> StringTable:
        """The string table ``section`` links to."""
        table = self.linked(section)
        return StringTable(self.data(table), budget, what=f"section {self.label(table)}")


def read_elf(handle: BinaryIO, path: str, size: int, role: BinaryRole, *, imports: bool = False) -> tuple[Image, ...]:
    elf = BoundedElf(Window(handle, path, 0, size))
    budget = NameBudget(path)
    soname, needed = _dynamic(elf, budget)
    exports: list[Symbol] = []
    undefined: set[str] = set()
    for symbol in _dynamic_symbols(elf, budget):
        if not symbol.defined:
            undefined.add(symbol.name)
        elif symbol.visible:
            exports.append(symbol.symbol)
    binary = Binary(
        role=role,
        path=path,
        format=BinaryFormat.ELF,
        arch=_arch(elf.header.machine, _BITS[elf.header.elf_class]),
        bits=_BITS[elf.header.elf_class],
        little_endian=elf.endian == "<",
        soname=soname,
        needed=needed,
        symbols=tuple(sorted(exports, key=lambda s: (s.name, s.version or ""))),
    )
    return (Image(binary=binary, imports=tuple(sorted(undefined)) if imports else ()),)


def _header(window: Window) -> _Header:
    size = window.size
    ident = window.read(0, min(size, 64), "the ELF header")
    if len(ident) < 52:
        raise corrupt(window.path, f"an ELF file of {size} bytes is too short for its header")
    elf_class, data = ident[4], ident[5]
    if elf_class not in _HEADER or data not in (1, 2):
        raise corrupt(window.path, f"unknown ELF class {elf_class} or byte order {data}")
    if len(ident) < _HEADER_SIZE[elf_class]:
        raise corrupt(window.path, f"an ELF file of {size} bytes is too short for its header")
    endian = "<" if data == 1 else ">"
    fields = struct.unpack_from(endian + _HEADER[elf_class], ident, 16)
    _type, machine, _version, _entry, _phoff, shoff, _flags, _ehsize, _phentsize, _phnum, shentsize, shnum, shstrndx = (
        fields
    )
    return _Header(elf_class, endian, machine, shoff, shentsize, shnum, shstrndx)


def _arch(machine: int, bits: int) -> str:
    name = _MACHINE_NAMES.get(machine, f"EM_{machine}")
    arch = _ARCHES.get(name)
    if arch is None:
        return name.removeprefix("EM_").lower()
    return f"{arch}{bits}" if arch in _WITH_BITS else arch


def _dynamic(elf: BoundedElf, budget: NameBudget) -> tuple[str | None, tuple[str, ...]]:
    """``DT_SONAME`` and the ``DT_NEEDED`` names, in file order."""
    section = elf.first(SHT_DYNAMIC)
    if section is None:
        return None, ()
    strings = elf.strings(section, budget)
    data = elf.data(section)
    layout = elf.endian + _DYNAMIC[elf.header.elf_class]
    entry = struct.calcsize(layout)
    soname: str | None = None
    needed: list[str] = []
    for number, (tag, value) in enumerate(struct.iter_unpack(layout, data[: len(data) - len(data) % entry])):
        if tag == DT_NULL:
            break
        if number >= LIMITS.dynamic_entries:
            raise over_limit(elf.path, f".dynamic has more than {LIMITS.dynamic_entries} entries, the limit")
        if tag == DT_SONAME:
            soname = strings.name(value, "DT_SONAME")
        elif tag == DT_NEEDED:
            needed.append(strings.name(value, f"DT_NEEDED entry {number}"))
    return soname, tuple(needed)


def _version_names(elf: BoundedElf, budget: NameBudget) -> dict[int, str]:
    """Version index -> name, from ``.gnu.version_d`` (the versions this file defines)."""
    section = elf.first(SHT_GNU_VERDEF)
    names: dict[int, str] = {}
    if section is None:
        return names
    strings = elf.strings(section, budget)
    data = elf.data(section)
    label = elf.label(section)
    count = section.info  # sh_info: the number of version definitions
    if count > LIMITS.versions:
        raise over_limit(elf.path, f"section {label} defines {count} versions, over the limit of {LIMITS.versions}")
    offset = 0
    for number in range(count):
        if offset + _VERDEF_SIZE > len(data):
            raise corrupt(elf.path, f"version definition {number} of section {label} lies past its end")
        _version, flags, index, _count, _hash, aux, following = struct.unpack_from(elf.endian + "HHHHIII", data, offset)
        if not flags & _VER_FLG_BASE:  # the base entry is the file's own name, not a version
            if offset + aux + _VERDAUX_SIZE > len(data):
                raise corrupt(elf.path, f"the name of version definition {number} of section {label} lies past its end")
            (name_offset,) = struct.unpack_from(elf.endian + "I", data, offset + aux)
            names[index] = strings.name(name_offset, f"version definition {number}")
        if following == 0:
            break
        offset += following
    return names


@dataclass(frozen=True, slots=True)
class _DynSym:
    symbol: Symbol
    defined: bool
    visible: bool

    @property
    def name(self) -> str:
        return self.symbol.name


def _dynamic_symbols(elf: BoundedElf, budget: NameBudget) -> Iterator[_DynSym]:
    """The global and weak dynamic symbols with a name (defined or not), in table order."""
    table = elf.first(SHT_DYNSYM)
    if table is None:
        return
    elf_class = elf.header.elf_class
    if table.entsize != _SYMBOL_SIZE[elf_class]:
        raise corrupt(elf.path, f".dynsym has entries of {table.entsize} bytes, not {_SYMBOL_SIZE[elf_class]}")
    count = table.size // table.entsize
    if count > LIMITS.symbols:
        raise over_limit(elf.path, f".dynsym holds {count} symbols, over the limit of {LIMITS.symbols}")
    strings = elf.strings(table, budget)
    raw = elf.data(table)[: count * table.entsize]
    versym = elf.first(SHT_GNU_VERSYM)
    versions: tuple[int, ...] = ()
    names: dict[int, str] = {}
    if versym is not None:
        elf.linked(versym)
        if versym.size < 2 * count:
            raise corrupt(elf.path, f".gnu.version has {versym.size // 2} entries for {count} symbols")
        versions = struct.unpack(f"{elf.endian}{count}H", elf.data(versym)[: 2 * count])
        names = _version_names(elf, budget)
    for index, fields in enumerate(struct.iter_unpack(elf.endian + _SYMBOL[elf_class], raw)):
        if index == 0:
            continue  # the null symbol
        if elf_class == 2:
            st_name, st_info, st_other, st_shndx, _value, st_size = fields
        else:
            st_name, _value, st_size, st_info, st_other, st_shndx = fields
        binding, kind = _STB.get(st_info >> 4), _STT.get(st_info & 0xF)
        if binding is None or kind is None or st_name == 0:  # local, section, file; no name
            continue
        name = strings.name(st_name, f"dynamic symbol {index}")
        if not name:
            continue
        version = names.get(versions[index] & 0x7FFF) if versions else None
        yield _DynSym(
            Symbol(name=name, kind=kind, binding=binding, size=st_size, version=version),
            defined=st_shndx != 0,  # SHN_UNDEF
            visible=(st_other & 0x3) in _STV_VISIBLE,
        )
