#!/usr/bin/env python3
"""Craft hostile binaries from the good fixtures (issue 11): each function takes the bytes of
a fixture and returns a patched copy, so that the tests build them in memory.

    python scripts/craft_hostile_binaries.py OUT_DIR     # writes every probe, prints "name path"

The probes, and what each one stresses:

- ``elf-compressed-dynstr``: ``.dynstr`` flagged ``SHF_COMPRESSED``, a zlib stream that
  inflates to 6 GiB of zeros (6 MiB on disk);
- ``elf-name-amplification`` / ``-undefined``: 2,000 dynamic symbols (defined, or undefined:
  imports) whose names are all the same 4 MiB string; ``-60k``: 20,000 symbols sharing a
  name of 60 KiB (under the limit of one name, 1.2 GB of names in all);
- ``macho-comb-trie``: an export trie shaped like a comb, a chain 65,536 nodes deep with a
  terminal leaf on every node: 1.3 MiB of trie, names of up to 64 KiB each, 2 GiB in all;
  ``-16-byte-edges``: 4,000 nodes deep (under the depth limit), edges of 16 bytes: 125 MB of names;
- ``pe-65535-sections``: a DLL whose header declares 0xFFFF sections.

Only the ELF fixture ``elf-x86_64.so`` (64-bit little-endian), the Mach-O fixture
``macho-arm64.dylib`` and the PE fixture ``pe-x86_64.dll`` are patched.
"""

from __future__ import annotations

import argparse
import struct
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SHT_PROGBITS = 1
SHT_DYNSYM = 11
SHT_STRTAB = 3
SHT_DYNAMIC = 6
DT_NEEDED = 1
SHT_GNU_VERSYM = 0x6FFFFFFF
SHF_COMPRESSED = 0x800
ELFCOMPRESS_ZLIB = 1
STB_GLOBAL, STT_FUNC = 1, 2
_SECTION = "<IIQQQQIIQQ"  # Elf64_Shdr
_SYMBOL = "<IBBHQQ"  # Elf64_Sym
_MIB = 1 << 20


# --- ELF ------------------------------------------------------------------------------------


def _elf_sections(data: bytes) -> list[tuple[int, tuple[int, ...]]]:
    """(header offset, Elf64_Shdr fields) of every section of a 64-bit little-endian ELF file."""
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    return [(shoff + i * shentsize, struct.unpack_from(_SECTION, data, shoff + i * shentsize)) for i in range(shnum)]


def _elf_section_of_type(data: bytes, sh_type: int) -> int:
    for offset, fields in _elf_sections(data):
        if fields[1] == sh_type:
            return offset
    raise ValueError(f"no section of type {sh_type:#x}")


def _patch_section(data: bytearray, header: int, *, offset: int, size: int, flags: int | None = None) -> None:
    fields = list(struct.unpack_from(_SECTION, data, header))
    fields[4], fields[5] = offset, size
    if flags is not None:
        fields[2] = flags
    struct.pack_into(_SECTION, data, header, *fields)


def _append(data: bytearray, blob: bytes, align: int = 8) -> int:
    data.extend(b"\0" * (-len(data) % align))
    offset = len(data)
    data.extend(blob)
    return offset


def _dynstr_header(data: bytes) -> int:
    """The header of the string table ``.dynsym`` links to (``.dynstr``)."""
    dynsym = _elf_section_of_type(data, SHT_DYNSYM)
    link: int = struct.unpack_from(_SECTION, data, dynsym)[6]
    return _elf_sections(data)[link][0]


def elf_name_amplification(data: bytes, *, symbols: int, name_bytes: int, undefined: bool = False) -> bytes:
    """``symbols`` global functions (defined in section 10, or undefined: imports) whose names
    all point at one string of ``name_bytes`` bytes, appended to a copy of ``.dynstr`` (so that
    ``DT_SONAME`` and the version names still read); ``.gnu.version`` is retyped away."""
    patched = bytearray(data)
    dynstr, dynsym = _dynstr_header(data), _elf_section_of_type(data, SHT_DYNSYM)
    _name, _type, _flags, _addr, offset, size, *_rest = struct.unpack_from(_SECTION, data, dynstr)
    original = data[offset : offset + size]
    strings = original + b"N" * name_bytes + b"\0"
    table = bytearray(struct.pack(_SYMBOL, 0, 0, 0, 0, 0, 0))
    for number in range(symbols):
        shndx = 0 if undefined else 10
        table += struct.pack(_SYMBOL, len(original), STB_GLOBAL << 4 | STT_FUNC, 0, shndx, 0x1000 + number, 8)
    _patch_section(patched, dynstr, offset=_append(patched, strings), size=len(strings))
    _patch_section(patched, dynsym, offset=_append(patched, bytes(table)), size=len(table))
    versym = _elf_section_of_type(data, SHT_GNU_VERSYM)
    struct.pack_into("<I", patched, versym + 4, SHT_PROGBITS)
    return bytes(patched)


def zlib_zeros(inflated_mib: int) -> bytes:
    """A valid zlib stream of ``inflated_mib`` MiB of zeros, about 1 KiB per MiB: the same
    full-flushed block repeated (a full flush resets the history), with the right Adler-32."""
    compressor = zlib.compressobj(9)
    zeros = bytes(_MIB)
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.flush()[:-4]
    total = inflated_mib * _MIB
    adler = ((total % 65521) << 16) | 1  # Adler-32 of zeros: a = 1, b = n
    return first + block * (inflated_mib - 1) + end + struct.pack(">I", adler)


def elf_compressed_dynstr(data: bytes, *, inflated_mib: int, declared_bytes: int | None = None) -> bytes:
    """``.dynstr`` replaced by an ``SHF_COMPRESSED`` section: an ``Elf64_Chdr`` declaring
    ``declared_bytes`` (default: the inflated size), then zlib of ``inflated_mib`` MiB of zeros."""
    patched = bytearray(data)
    inflated = inflated_mib * _MIB
    header = struct.pack("<IIQQ", ELFCOMPRESS_ZLIB, 0, declared_bytes or inflated, 1)
    blob = header + zlib_zeros(inflated_mib)
    dynstr = _dynstr_header(data)
    flags = struct.unpack_from(_SECTION, data, dynstr)[2]
    _patch_section(patched, dynstr, offset=_append(patched, blob), size=len(blob), flags=flags | SHF_COMPRESSED)
    return bytes(patched)


def _elf_section_named(data: bytes, name: bytes) -> int:
    shstrndx = struct.unpack_from("<H", data, 0x3E)[0]
    sections = _elf_sections(data)
    names_at = sections[shstrndx][1][4]
    for header, fields in sections:
        start = names_at + fields[0]
        if data[start : data.index(b"\0", start)] == name:
            return header
    raise ValueError(f"no section {name!r}")


def elf_compressed_debug_info(data: bytes, *, declared_bytes: int) -> bytes:
    """``.debug_info`` flagged ``SHF_COMPRESSED``, its first bytes an ``Elf64_Chdr`` declaring
    ``declared_bytes`` (what pyelftools would allocate and inflate into)."""
    patched = bytearray(data)
    header = _elf_section_named(data, b".debug_info")
    fields = struct.unpack_from(_SECTION, data, header)
    struct.pack_into("<IIQQ", patched, fields[4], ELFCOMPRESS_ZLIB, 0, declared_bytes, 1)
    _patch_section(patched, header, offset=fields[4], size=fields[5], flags=fields[2] | SHF_COMPRESSED)
    return bytes(patched)


def elf_needed_amplification(data: bytes, *, entries: int, name_bytes: int) -> bytes:
    """A ``.dynamic`` of ``entries`` ``DT_NEEDED`` entries all naming one string of
    ``name_bytes`` bytes (appended to a copy of ``.dynstr``), then ``DT_NULL``."""
    patched = bytearray(data)
    dynamic = _elf_section_of_type(data, SHT_DYNAMIC)
    link = struct.unpack_from(_SECTION, data, dynamic)[6]
    dynstr = _elf_sections(data)[link][0]
    _name, _type, _flags, _addr, offset, size, *_rest = struct.unpack_from(_SECTION, data, dynstr)
    strings = data[offset : offset + size] + b"L" * name_bytes + b"\0"
    table = struct.pack("<qQ", DT_NEEDED, size) * entries + struct.pack("<qQ", 0, 0)
    _patch_section(patched, dynstr, offset=_append(patched, strings), size=len(strings))
    _patch_section(patched, dynamic, offset=_append(patched, table), size=len(table))
    return bytes(patched)


def elf_section_count(data: bytes, count: int) -> bytes:
    """Extended section numbering (``e_shnum`` 0) with ``count`` in section 0's ``sh_size``."""
    patched = bytearray(data)
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    struct.pack_into("<H", patched, 0x3C, 0)
    struct.pack_into("<Q", patched, shoff + 32, count)
    return bytes(patched)


def elf_with_symbol_count(data: bytes, count: int) -> bytes:
    """``.dynsym`` moved to the end of the file and declared to hold ``count`` entries; the
    file grows to hold them (zeros: written sparse by a caller that truncates instead)."""
    patched = bytearray(data)
    dynsym = _elf_section_of_type(data, SHT_DYNSYM)
    patched.extend(b"\0" * (-len(patched) % 8))
    _patch_section(patched, dynsym, offset=len(patched), size=count * struct.calcsize(_SYMBOL))
    return bytes(patched)


# --- Mach-O ---------------------------------------------------------------------------------

LC_SYMTAB = 0x2
LC_DYLD_INFO_ONLY = 0x80000022
LC_DYLD_EXPORTS_TRIE = 0x80000033


def uleb(value: int, width: int = 0) -> bytes:
    """ULEB128 of ``value``, padded with continuation bytes to ``width`` bytes when given."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            break
    while len(out) < width:
        out[-1] |= 0x80
        out.append(0)
    return bytes(out)


def comb_trie(depth: int, edge: bytes = b"x") -> bytes:
    """A chain of ``depth`` nodes, each with two children: the next node of the chain (edge
    ``edge``) and a terminal leaf (edge ``y``): ``depth`` exports whose names grow by
    ``len(edge)`` each, so the names' total grows with the square of the trie's size."""
    chain_node = 1 + 1 + len(edge) + 1 + 5 + 2 + 5  # terminal size 0, 2 children, 2 edges + offsets
    leaf = uleb(2) + uleb(0) + uleb(0) + b"\0"  # flags 0, address 0, no children
    leaves_at = depth * chain_node + 2  # the last chain node is a bare terminal (2 bytes)
    out = bytearray()
    for level in range(depth):
        nxt = (level + 1) * chain_node
        out += b"\x00\x02" + edge + b"\0" + uleb(nxt, 5) + b"y\0" + uleb(leaves_at + level * len(leaf), 5)
    out += b"\x00\x00"
    out += leaf * depth
    return bytes(out)


def _macho_commands(data: bytes) -> list[tuple[int, int, int]]:
    ncmds = struct.unpack_from("<I", data, 16)[0]
    position, found = 32, []
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", data, position)
        found.append((cmd, position, size))
        position += size
    return found


def macho_with_trie(data: bytes, trie: bytes) -> bytes:
    """A thin 64-bit little-endian Mach-O file with its export trie replaced by ``trie``
    (appended at the end; the trie load command points at it)."""
    patched = bytearray(data)
    offset = _append(patched, trie)
    for cmd, position, _size in _macho_commands(data):
        if cmd == LC_DYLD_EXPORTS_TRIE:
            struct.pack_into("<II", patched, position + 8, offset, len(trie))
            return bytes(patched)
        if cmd == LC_DYLD_INFO_ONLY:
            struct.pack_into("<II", patched, position + 40, offset, len(trie))
            return bytes(patched)
    raise ValueError("no export trie load command")


def macho_with_symtab(data: bytes, *, symbols: int, name_bytes: int, undefined: bool = False) -> bytes:
    """A thin 64-bit little-endian Mach-O file whose ``LC_SYMTAB`` points at ``symbols``
    external symbols (defined in section 1, or undefined) all named by one string of
    ``name_bytes`` bytes; the export trie is dropped so that the symbol table is read for
    exports too."""
    patched = bytearray(data)
    strings = b"\0_" + b"S" * (name_bytes - 1) + b"\0"
    n_type = 0x01 if undefined else 0x0F  # N_EXT | N_UNDF, or N_EXT | N_SECT
    table = struct.pack("<IBBHQ", 1, n_type, 0 if undefined else 1, 0, 0 if undefined else 0x4000) * symbols
    symoff = _append(patched, table)
    stroff = _append(patched, strings)
    for cmd, position, _size in _macho_commands(data):
        if cmd == LC_SYMTAB:
            struct.pack_into("<IIII", patched, position + 8, symoff, symbols, stroff, len(strings))
        elif cmd == LC_DYLD_INFO_ONLY:
            struct.pack_into("<II", patched, position + 40, 0, 0)
        elif cmd == LC_DYLD_EXPORTS_TRIE:
            struct.pack_into("<II", patched, position + 8, 0, 0)
    return bytes(patched)


# --- PE -------------------------------------------------------------------------------------


def pe_number_of_sections(data: bytes, count: int = 0xFFFF) -> bytes:
    patched = bytearray(data)
    (pe_offset,) = struct.unpack_from("<I", data, 0x3C)
    struct.pack_into("<H", patched, pe_offset + 6, count)
    return bytes(patched)


# --- the probes -----------------------------------------------------------------------------


def probes(fixtures: dict[str, Path]) -> dict[str, bytes]:
    """Every probe of the module docstring, by name."""
    elf = fixtures["elf-x86_64.so"].read_bytes()
    macho = fixtures["macho-arm64.dylib"].read_bytes()
    pe = fixtures["pe-x86_64.dll"].read_bytes()
    return {
        "elf-compressed-dynstr.so": elf_compressed_dynstr(elf, inflated_mib=6 * 1024),
        "elf-name-amplification.so": elf_name_amplification(elf, symbols=2000, name_bytes=4 * _MIB),
        "elf-name-amplification-undefined.so": elf_name_amplification(
            elf, symbols=2000, name_bytes=4 * _MIB, undefined=True
        ),
        "elf-name-amplification-60k.so": elf_name_amplification(elf, symbols=20000, name_bytes=60 << 10),
        "elf-name-amplification-60k-undefined.so": elf_name_amplification(
            elf, symbols=20000, name_bytes=60 << 10, undefined=True
        ),
        "macho-comb-trie.dylib": macho_with_trie(macho, comb_trie(1 << 16)),
        "macho-comb-trie-16-byte-edges.dylib": macho_with_trie(macho, comb_trie(4000, b"x" * 16)),
        "pe-65535-sections.dll": pe_number_of_sections(pe),
    }


def _load_fixtures() -> dict[str, Path]:
    import importlib.util

    spec = importlib.util.spec_from_file_location("abidiff_build_fixtures", ROOT / "scripts" / "build_fixtures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    built: dict[str, Path] = module.build_all()
    return built


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="directory to write the probes to")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in probes(_load_fixtures()).items():
        path = args.out / name
        path.write_bytes(data)
        print(name, path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
