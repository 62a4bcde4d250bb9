"""Mach-O (constants and layouts from macholib): the exports of each architecture slice.

Exports come from the export trie (``LC_DYLD_INFO(_ONLY)``, ``LC_DYLD_EXPORTS_TRIE``) when
the file has one, else from the symbol table's defined external (``N_EXT``, not
``N_PEXT``) entries; the leading underscore of C names is removed.  A universal (fat)
file gives one :class:`~abidiff.model.Binary` per slice.

``macholib.MachO`` reads every section's contents into memory and trusts every offset, so
this reader walks the headers itself, through :class:`~abidiff.binaries._common.Window`,
which checks each offset and length against the slice before reading: only the headers,
the load commands, the trie and the symbol and string tables are ever read.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import BinaryIO

from macholib import mach_o

from abidiff.binaries import _trie
from abidiff.binaries._common import (
    LIMITS,
    AddressMap,
    Image,
    NameBudget,
    StringTable,
    Window,
    corrupt,
    cstring,
    over_limit,
)
from abidiff.model import Binary, BinaryFormat, BinaryRole, Symbol, SymbolBinding, SymbolKind

_CPU_ARCH_ABI64 = 0x01000000
_CPU_ARCH_ABI64_32 = 0x02000000
_ARCHES = {
    7: "i386",
    _CPU_ARCH_ABI64 | 7: "x86_64",
    12: "arm",
    _CPU_ARCH_ABI64 | 12: "aarch64",
    _CPU_ARCH_ABI64_32 | 12: "arm64_32",
    18: "ppc",
    _CPU_ARCH_ABI64 | 18: "ppc64",
}
_CPU_SUBTYPE_ARM64E = 2
_CPU_SUBTYPE_MASK = 0x00FFFFFF

_DYLIB_COMMANDS = (
    mach_o.LC_LOAD_DYLIB,
    mach_o.LC_LOAD_WEAK_DYLIB,
    mach_o.LC_REEXPORT_DYLIB,
    mach_o.LC_LAZY_LOAD_DYLIB,
    mach_o.LC_LOAD_UPWARD_DYLIB,
)
_MAX_FAT_SLICES = 32
_MAX_COMMANDS_BYTES = 16 << 20


@dataclass(frozen=True, slots=True)
class _Section:
    address: int
    size: int
    kind: SymbolKind


@dataclass(slots=True)
class _Commands:
    """What the load commands of one slice say."""

    install_name: str | None = None
    dylibs: list[str] = field(default_factory=list)
    sections: list[_Section] = field(default_factory=list)
    image_base: int | None = None  # the __TEXT segment's address; trie addresses are relative to it
    symtab: tuple[int, int, int, int] | None = None  # symoff, nsyms, stroff, strsize
    trie: tuple[int, int] | None = None  # offset, size


def read_macho(handle: BinaryIO, path: str, size: int, role: BinaryRole, *, imports: bool = False) -> tuple[Image, ...]:
    whole = Window(handle, path, 0, size)
    magic = struct.unpack(">I", whole.read(0, 4, "the magic number"))[0]
    if magic in (mach_o.FAT_MAGIC, mach_o.FAT_MAGIC_64):
        return tuple(_slice(window, role, imports) for window in _fat_slices(whole, magic == mach_o.FAT_MAGIC_64))
    return (_slice(whole, role, imports),)


def _fat_slices(whole: Window, wide: bool) -> list[Window]:
    count = struct.unpack(">I", whole.read(4, 4, "the fat header"))[0]
    if not 0 < count <= _MAX_FAT_SLICES:
        raise corrupt(whole.path, f"a universal file with {count} architectures")
    entry = 32 if wide else 20
    table = whole.read(8, count * entry, "the fat architecture table")
    windows = []
    for number in range(count):
        if wide:
            _cpu, _sub, offset, length, _align, _reserved = struct.unpack_from(">iiQQII", table, number * entry)
        else:
            _cpu, _sub, offset, length, _align = struct.unpack_from(">iiIII", table, number * entry)
        what = f"architecture {number + 1} of the universal file"
        if offset < 8 + count * entry or length < 28:
            raise corrupt(
                whole.path, f"{what} (offset {offset:#x}, {length} bytes) overlaps the fat header or is too small"
            )
        windows.append(whole.sub(offset, length, what))
    return windows


def _slice(window: Window, role: BinaryRole, want_imports: bool) -> Image:
    head = window.read(0, 4, "the Mach-O header")
    if head in (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf"):
        endian = ">"
    elif head in (b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe"):
        endian = "<"
    else:
        raise corrupt(window.path, f"bad Mach-O magic {head.hex()}")
    wide = head in (b"\xfe\xed\xfa\xcf", b"\xcf\xfa\xed\xfe")
    header_size = 32 if wide else 28
    _magic, cputype, cpusubtype, _filetype, ncmds, sizeofcmds, _flags = struct.unpack(
        endian + "IiiIIII", window.read(0, 28, "the Mach-O header")
    )
    if sizeofcmds > _MAX_COMMANDS_BYTES:
        raise corrupt(window.path, f"{sizeofcmds} bytes of load commands")
    block = window.read(header_size, sizeofcmds, "the load commands")
    commands = _load_commands(window.path, block, ncmds, endian, wide)
    exports, undefined = _exports(window, commands, endian, wide, NameBudget(window.path))
    binary = Binary(
        role=role,
        path=window.path,
        format=BinaryFormat.MACHO,
        arch=_arch(cputype, cpusubtype),
        bits=64 if wide else 32,
        little_endian=endian == "<",
        soname=commands.install_name,
        needed=tuple(commands.dylibs),
        symbols=tuple(sorted(exports, key=lambda s: s.name)),
    )
    return Image(binary=binary, imports=tuple(sorted(undefined)) if want_imports else ())


def _arch(cputype: int, cpusubtype: int) -> str:
    name = _ARCHES.get(cputype)
    if name is None:
        return str(mach_o.CPU_TYPE_NAMES.get(cputype, f"macho-cpu-{cputype:#x}")).lower()
    if name == "aarch64" and cpusubtype & _CPU_SUBTYPE_MASK == _CPU_SUBTYPE_ARM64E:
        return "arm64e"
    return name


def _load_commands(path: str, block: bytes, ncmds: int, endian: str, wide: bool) -> _Commands:
    found = _Commands()
    position = 0
    for number in range(ncmds):
        if position + 8 > len(block):
            raise corrupt(path, f"load command {number + 1} of {ncmds} lies past the end of the load commands")
        cmd, cmdsize = struct.unpack_from(endian + "II", block, position)
        if cmdsize < 8 or position + cmdsize > len(block):
            raise corrupt(path, f"load command {number + 1} ({cmd:#x}) has a bad size {cmdsize}")
        _command(path, found, cmd, block[position : position + cmdsize], endian, wide)
        position += cmdsize
    return found


def _need(path: str, body: bytes, length: int, what: str) -> None:
    if len(body) < length:
        raise corrupt(path, f"{what} load command is {len(body)} bytes, shorter than {length}")


def _command(path: str, found: _Commands, cmd: int, body: bytes, endian: str, wide: bool) -> None:
    if cmd == mach_o.LC_ID_DYLIB or cmd in _DYLIB_COMMANDS:
        _need(path, body, 12, "a dylib")
        (name_offset,) = struct.unpack_from(endian + "I", body, 8)
        name = cstring(body, name_offset)
        if name is None:
            raise corrupt(path, "a dylib load command's name lies outside the command")
        if cmd == mach_o.LC_ID_DYLIB:
            found.install_name = name
        else:
            found.dylibs.append(name)
    elif cmd in (mach_o.LC_SEGMENT, mach_o.LC_SEGMENT_64):
        _segment(path, found, body, endian, cmd == mach_o.LC_SEGMENT_64)
    elif cmd == mach_o.LC_SYMTAB:
        _need(path, body, 24, "LC_SYMTAB")
        symoff, nsyms, stroff, strsize = struct.unpack_from(endian + "IIII", body, 8)
        found.symtab = (symoff, nsyms, stroff, strsize)
    elif cmd in (mach_o.LC_DYLD_INFO, mach_o.LC_DYLD_INFO_ONLY):
        _need(path, body, 48, "LC_DYLD_INFO")
        export_off, export_size = struct.unpack_from(endian + "II", body, 40)
        if export_size:
            found.trie = (export_off, export_size)
    elif cmd == mach_o.LC_DYLD_EXPORTS_TRIE:
        _need(path, body, 16, "LC_DYLD_EXPORTS_TRIE")
        dataoff, datasize = struct.unpack_from(endian + "II", body, 8)
        if datasize:
            found.trie = (dataoff, datasize)


def _segment(path: str, found: _Commands, body: bytes, endian: str, wide: bool) -> None:
    seg_format, sect_format = (
        (endian + "16sQQQQiiII", endian + "16s16sQQIIIIIIII")
        if wide
        else (
            endian + "16sIIIIiiII",
            endian + "16s16sIIIIIIIII",
        )
    )
    seg_size, sect_size = struct.calcsize(seg_format), struct.calcsize(sect_format)
    _need(path, body, 8 + seg_size, "a segment")
    segname, vmaddr, _vmsize, _fileoff, _filesize, _maxprot, _initprot, nsects, _flags = struct.unpack_from(
        seg_format, body, 8
    )
    if segname.rstrip(b"\0") == b"__TEXT":
        found.image_base = vmaddr
    if 8 + seg_size + nsects * sect_size > len(body):
        raise corrupt(path, f"a segment command claims {nsects} sections that do not fit in it")
    for number in range(nsects):
        fields = struct.unpack_from(sect_format, body, 8 + seg_size + number * sect_size)
        address, length, flags = fields[2], fields[3], fields[8]
        found.sections.append(_Section(address, length, _section_kind(flags)))


def _section_kind(flags: int) -> SymbolKind:
    if flags & mach_o.SECTION_TYPE == mach_o.S_THREAD_LOCAL_VARIABLES:
        return SymbolKind.TLS
    if flags & (mach_o.S_ATTR_PURE_INSTRUCTIONS | mach_o.S_ATTR_SOME_INSTRUCTIONS):
        return SymbolKind.FUNCTION
    return SymbolKind.DATA


def _address_map(commands: _Commands) -> AddressMap:
    return AddressMap.of([(s.address, s.address + s.size, s.kind) for s in commands.sections])


def _c_name(raw: str) -> str:
    return raw[1:] if raw.startswith("_") else raw


def _exports(
    window: Window, commands: _Commands, endian: str, wide: bool, budget: NameBudget
) -> tuple[list[Symbol], set[str]]:
    undefined: set[str] = set()
    from_symtab: list[Symbol] = []
    if commands.symtab is not None:
        from_symtab, undefined = _symtab(window, commands, endian, wide, budget)
    if commands.trie is None:
        return from_symtab, undefined
    offset, length = commands.trie
    try:
        entries = _trie.walk(window.table(offset, length, "the export trie"))
    except _trie.TrieLimitError as exc:
        raise over_limit(window.path, f"the export trie: {exc}") from exc
    except _trie.TrieError as exc:
        raise corrupt(window.path, f"corrupt export trie: {exc}") from exc
    for entry in entries:
        budget.charge(len(entry.name))
    addresses = _address_map(commands)
    return [_trie_symbol(commands, addresses, entry) for entry in entries], undefined


def _trie_symbol(commands: _Commands, addresses: AddressMap, entry: _trie.TrieExport) -> Symbol:
    binding = SymbolBinding.WEAK if entry.flags & _trie.FLAG_WEAK_DEFINITION else SymbolBinding.GLOBAL
    name = _c_name(entry.name)
    if entry.flags & _trie.FLAG_REEXPORT:
        ordinal = entry.reexport_ordinal or 0
        library = commands.dylibs[ordinal - 1] if 0 < ordinal <= len(commands.dylibs) else f"dylib #{ordinal}"
        target = _c_name(entry.reexport_name) if entry.reexport_name else name
        return Symbol(name=name, kind=SymbolKind.UNKNOWN, binding=binding, forwarder=f"{library}.{target}")
    kind_bits = entry.flags & _trie.FLAG_KIND_MASK
    if kind_bits == _trie.FLAG_KIND_THREAD_LOCAL:
        kind = SymbolKind.TLS
    elif kind_bits == _trie.FLAG_KIND_ABSOLUTE:
        kind = SymbolKind.UNKNOWN
    elif entry.flags & _trie.FLAG_STUB_AND_RESOLVER:
        kind = SymbolKind.FUNCTION
    else:
        kind = addresses.kind_at((commands.image_base or 0) + (entry.address or 0))
    return Symbol(name=name, kind=kind, binding=binding)


def _symtab(
    window: Window, commands: _Commands, endian: str, wide: bool, budget: NameBudget
) -> tuple[list[Symbol], set[str]]:
    assert commands.symtab is not None
    symoff, nsyms, stroff, strsize = commands.symtab
    if nsyms > LIMITS.symbols:
        raise over_limit(window.path, f"a symbol table of {nsyms} symbols, over the limit of {LIMITS.symbols}")
    entry_format = endian + ("IBBHQ" if wide else "IBBHI")
    entry_size = struct.calcsize(entry_format)
    table = window.table(symoff, nsyms * entry_size, "the symbol table")
    strings = StringTable(
        window.table(stroff, strsize, "the string table"), budget, what="the string table", transform=_c_name
    )
    exports: list[Symbol] = []
    undefined: set[str] = set()
    for number, (strx, n_type, n_sect, n_desc, n_value) in enumerate(struct.iter_unpack(entry_format, table)):
        if n_type & mach_o.N_STAB or not n_type & mach_o.N_EXT or n_type & mach_o.N_PEXT:
            continue
        name = strings.name(strx, f"symbol {number}") if strx else ""
        if not name:
            continue
        section_type = n_type & mach_o.N_TYPE
        if section_type == mach_o.N_UNDF:
            if n_value == 0:  # a non-zero value is a common symbol: defined
                undefined.add(name)
                continue
            kind = SymbolKind.DATA
        elif section_type == mach_o.N_SECT and 0 < n_sect <= len(commands.sections):
            kind = commands.sections[n_sect - 1].kind
        else:
            kind = SymbolKind.UNKNOWN
        binding = SymbolBinding.WEAK if n_desc & mach_o.N_WEAK_DEF else SymbolBinding.GLOBAL
        exports.append(Symbol(name=name, kind=kind, binding=binding))
    return exports, undefined
