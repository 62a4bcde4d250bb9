"""Our readers against reference tools, on the compiled fixtures (scripts/build_fixtures.py).

ELF: binutils ``readelf --dyn-syms`` (names, kinds, bindings, sizes, versions, visibility).
PE: ``llvm-readobj`` (exports, ordinals, RVAs, sections, machine) and ``llvm-objdump -p``
(forwarders).  Mach-O: ``llvm-nm -m`` (exports and their sections, per slice) and
``llvm-objdump --macho`` (install name, dylibs).  Expectations come from the tools' output,
never from a list written here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from abidiff.binaries import read_binary
from abidiff.model import Binary, BinaryFormat, BinaryRole, SymbolBinding, SymbolKind

ELF_FIXTURES = ("elf-x86_64.so", "elf-aarch64.so", "elf-i386.so", "elf-s390x.so", "elf-ppc.so")
PE_FIXTURES = ("pe-x86_64.dll", "pe-i386.dll", "forwarder.dll")
MACHO_FIXTURES = ("macho-x86_64.dylib", "macho-arm64.dylib", "macho-universal.dylib")


def _first(pattern: str, text: str, flags: int = 0) -> str:
    """The first group of the first match of ``pattern`` in a tool's output (which must have one)."""
    found = re.search(pattern, text, flags)
    assert found is not None, f"{pattern!r} not in the tool's output:\n{text[:2000]}"
    return found.group(1)


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not on PATH: the oracle needs it (apt-get install llvm binutils)")
    return path


def run(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def only(binaries: tuple[Binary, ...]) -> Binary:
    assert len(binaries) == 1
    return binaries[0]


# --- ELF ------------------------------------------------------------------------------------

_READELF_KINDS = {
    "FUNC": SymbolKind.FUNCTION,
    "IFUNC": SymbolKind.FUNCTION,
    "OBJECT": SymbolKind.DATA,
    "COMMON": SymbolKind.DATA,
    "TLS": SymbolKind.TLS,
    "NOTYPE": SymbolKind.UNKNOWN,
}
_READELF_ROW = re.compile(r"^\s*\d+:\s+[0-9a-f]+\s+(\d+|0x[0-9a-f]+)\s+(\w+)\s+(\w+)\s+(\w+)\s+(\w+)\s+(\S+)")


def readelf_exports(path: str) -> set[tuple[str, str | None, SymbolKind, SymbolBinding, int]]:
    exports = set()
    for line in run(tool("readelf"), "--dyn-syms", "--wide", path).splitlines():
        match = _READELF_ROW.match(line)
        if not match:
            continue
        size, kind, bind, visibility, ndx, name = match.groups()
        if ndx == "UND" or bind not in ("GLOBAL", "WEAK", "UNIQUE") or visibility not in ("DEFAULT", "PROTECTED"):
            continue
        name, _, version = name.replace("@@", "@").partition("@")
        binding = SymbolBinding.WEAK if bind == "WEAK" else SymbolBinding.GLOBAL
        exports.add((name, version or None, _READELF_KINDS[kind], binding, int(size, 0)))
    return exports


@pytest.mark.parametrize("name", ELF_FIXTURES)
def test_elf_exports_match_readelf(binary_fixtures: dict[str, str], name: str) -> None:
    binary = only(read_binary(binary_fixtures[name], BinaryRole.OTHER))
    ours = {(s.name, s.version, s.kind, s.binding, s.size) for s in binary.symbols}
    assert ours == readelf_exports(binary_fixtures[name])
    names = {s.name for s in binary.symbols}
    assert "ab_hidden" not in names and "ab_static" not in names  # hidden and static stay inside


@pytest.mark.parametrize("name", ELF_FIXTURES)
def test_elf_header_facts_match_llvm_readobj(binary_fixtures: dict[str, str], name: str) -> None:
    binary = only(read_binary(binary_fixtures[name], BinaryRole.OTHER))
    text = run(tool("llvm-readobj"), "--file-headers", "--dynamic-table", binary_fixtures[name])
    assert binary.format == BinaryFormat.ELF
    assert binary.bits == int(_first(r"Class: (\d+)-bit", text))
    assert binary.little_endian == ("LittleEndian" in text)
    soname = re.search(r"SONAME\s+Library soname: \[(.*)\]", text)
    assert binary.soname == (soname.group(1) if soname else None)
    arch = _first(r"^Arch: (\S+)", text, re.MULTILINE)
    llvm_names = {"x86_64": "x86_64", "aarch64": "aarch64", "i386": "i386", "s390x": "s390x", "powerpc": "ppc"}
    assert binary.arch == llvm_names[arch]


# --- PE -------------------------------------------------------------------------------------


def _pe_sections(path: str) -> list[tuple[str, int, int, bool]]:
    text = run(tool("llvm-readobj"), "--sections", path)
    sections = []
    for block in text.split("Section {")[1:]:
        name = _first(r"Name: (\S+)", block)
        size = int(_first(r"VirtualSize: (0x[0-9A-F]+)", block), 16)
        start = int(_first(r"VirtualAddress: (0x[0-9A-F]+)", block), 16)
        raw = int(_first(r"RawDataSize: (\d+)", block))
        sections.append(
            (name, start, start + max(size, raw), "IMAGE_SCN_MEM_EXECUTE" in block or "IMAGE_SCN_CNT_CODE" in block)
        )
    return sections


def llvm_pe_exports(path: str) -> set[tuple[str, int, str | None, SymbolKind]]:
    forwarders = dict(
        re.findall(r"^\s+\d+\s+(\S+) \(forwarded to (\S+)\)$", run(tool("llvm-objdump"), "-p", path), re.MULTILINE)
    )
    sections = _pe_sections(path)
    exports = set()
    for block in run(tool("llvm-readobj"), "--coff-exports", path).split("Export {")[1:]:
        ordinal = int(_first(r"Ordinal: (\d+)", block))
        name = _first(r"Name: (\S*)", block)
        rva = int(_first(r"RVA: (0x[0-9A-F]+)", block), 16)
        if name in forwarders:
            exports.add((name, ordinal, forwarders[name], SymbolKind.UNKNOWN))
            continue
        kind = SymbolKind.UNKNOWN
        for section, start, end, executable in sections:
            if start <= rva < end:
                kind = SymbolKind.FUNCTION if executable else SymbolKind.TLS if section == ".tls" else SymbolKind.DATA
        exports.add((name, ordinal, None, kind))
    return exports


@pytest.mark.parametrize("name", PE_FIXTURES)
def test_pe_exports_match_llvm(binary_fixtures: dict[str, str], name: str) -> None:
    path = binary_fixtures[name]
    binary = only(read_binary(path, BinaryRole.OTHER))
    ours = {(s.name, s.ordinal, s.forwarder, s.kind) for s in binary.symbols}
    expected = llvm_pe_exports(path)
    assert expected  # the oracle saw exports: the test can fail
    assert ours == expected


@pytest.mark.parametrize("name", PE_FIXTURES)
def test_pe_header_facts_match_llvm_readobj(binary_fixtures: dict[str, str], name: str) -> None:
    binary = only(read_binary(binary_fixtures[name], BinaryRole.OTHER))
    text = run(tool("llvm-readobj"), "--file-headers", binary_fixtures[name])
    assert binary.format == BinaryFormat.PE
    assert binary.arch == _first(r"^Arch: (\S+)", text, re.MULTILINE)
    assert binary.bits == int(_first(r"^AddressSize: (\d+)bit", text, re.MULTILINE))
    assert binary.soname == _first(r"DLL name: (\S+)", run(tool("llvm-objdump"), "-p", binary_fixtures[name]))


def test_forwarder_dll_forwards_every_export(binary_fixtures: dict[str, str]) -> None:
    binary = only(read_binary(binary_fixtures["forwarder.dll"], BinaryRole.STABLE_ABI))
    assert binary.symbols and all(s.forwarder and s.forwarder.startswith("exports.") for s in binary.symbols)


# --- Mach-O ---------------------------------------------------------------------------------

_NM_LINE = re.compile(r"^[0-9a-f]+ \((\w+),(\w+)\) (weak )?external (\S+)$")
_LLVM_ARCHES = {"x86_64": "x86_64", "arm64": "aarch64", "i386": "i386"}


def llvm_macho_exports(path: str) -> dict[str, set[tuple[str, SymbolKind, SymbolBinding]]]:
    """Per architecture: the defined external symbols llvm-nm lists, their kind told by
    the section that holds them."""
    text = run(tool("llvm-nm"), "-m", "--defined-only", "--extern-only", "--arch=all", path)
    arch = None
    found: dict[str, set[tuple[str, SymbolKind, SymbolBinding]]] = {}
    for line in text.splitlines():
        header = re.search(r"\(for architecture (\w+)\):$", line)
        if header:
            arch = _LLVM_ARCHES[header.group(1)]
            continue
        match = _NM_LINE.match(line)
        if not match:
            continue
        segment, section, weak, name = match.groups()
        if section == "__thread_vars":
            kind = SymbolKind.TLS
        elif segment == "__TEXT" and section in ("__text", "__stubs", "__stub_helper"):
            kind = SymbolKind.FUNCTION
        else:
            kind = SymbolKind.DATA
        binding = SymbolBinding.WEAK if weak else SymbolBinding.GLOBAL
        found.setdefault(arch or "", set()).add((name.removeprefix("_"), kind, binding))
    if "" in found:  # a thin file: llvm-nm prints no architecture header; the Mach header says
        private_header = run(tool("llvm-objdump"), "--macho", "--private-header", path)
        magic = re.search(r"^\s*MH_MAGIC(?:_64)?\s+(\w+)", private_header, re.MULTILINE)
        assert magic is not None, private_header
        cputype = magic.group(1)
        found[{"X86_64": "x86_64", "ARM64": "aarch64", "I386": "i386"}[cputype]] = found.pop("")
    return found


@pytest.mark.parametrize("name", MACHO_FIXTURES)
def test_macho_exports_match_llvm_nm(binary_fixtures: dict[str, str], name: str) -> None:
    path = binary_fixtures[name]
    binaries = read_binary(path, BinaryRole.OTHER)
    ours = {binary.arch: {(s.name, s.kind, s.binding) for s in binary.symbols} for binary in binaries}
    expected = llvm_macho_exports(path)
    assert expected and all(expected.values())
    assert ours == expected
    for binary in binaries:
        assert binary.format == BinaryFormat.MACHO and binary.bits == 64 and binary.little_endian


@pytest.mark.parametrize("name", MACHO_FIXTURES)
def test_macho_install_name_and_dylibs_match_llvm_objdump(binary_fixtures: dict[str, str], name: str) -> None:
    path = binary_fixtures[name]
    text = run(tool("llvm-objdump"), "--macho", "--dylibs-used", "--arch=all", path)
    used = [line.strip().split(" (compatibility")[0] for line in text.splitlines() if line.startswith("\t")]
    install = run(tool("llvm-objdump"), "--macho", "--dylib-id", "--arch=all", path).split()[-1]
    for binary in read_binary(path, BinaryRole.OTHER):
        assert binary.soname == install
        assert set(binary.needed) == set(used) - {install}


def test_universal_file_gives_one_binary_per_slice(binary_fixtures: dict[str, str]) -> None:
    fat = read_binary(binary_fixtures["macho-universal.dylib"], BinaryRole.LIBPYTHON)
    thin = read_binary(binary_fixtures["macho-x86_64.dylib"], BinaryRole.LIBPYTHON) + read_binary(
        binary_fixtures["macho-arm64.dylib"], BinaryRole.LIBPYTHON
    )
    assert sorted(b.arch for b in fat) == ["aarch64", "x86_64"]
    assert {b.arch: b.symbols for b in fat} == {b.arch: b.symbols for b in thin}


def test_macho_symtab_fallback_agrees_with_the_trie(binary_fixtures: dict[str, str], tmp_path: Path) -> None:
    """Disable LC_DYLD_INFO_ONLY (rename the command): the symbol table must give the same exports."""
    data = bytearray(open(binary_fixtures["macho-arm64.dylib"], "rb").read())
    ncmds = int.from_bytes(data[16:20], "little")
    position = 32
    for _ in range(ncmds):
        cmd = int.from_bytes(data[position : position + 4], "little")
        size = int.from_bytes(data[position + 4 : position + 8], "little")
        if cmd == 0x80000022:  # LC_DYLD_INFO_ONLY
            data[position : position + 4] = (0x7FFF).to_bytes(4, "little")
            break
        position += size
    else:
        pytest.fail("the fixture has no LC_DYLD_INFO_ONLY")
    patched = tmp_path / "no-trie.dylib"
    patched.write_bytes(bytes(data))
    with_trie = only(read_binary(binary_fixtures["macho-arm64.dylib"], BinaryRole.OTHER))
    without = only(read_binary(str(patched), BinaryRole.OTHER))
    assert {(s.name, s.kind, s.binding) for s in without.symbols} == {
        (s.name, s.kind, s.binding) for s in with_trie.symbols
    }
