"""Property: any mutation of the ELF fixtures, and any bytes after the ELF magic, give exports
or a BinaryError, within the deadline of each example (no hang, no other exception)."""

from __future__ import annotations

import struct
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from tests.property.strategies import READER_SETTINGS, Edit, cuts, edits, mutate, reads_or_binary_error, values

ELF = ("elf-x86_64.so", "elf-i386.so", "elf-s390x.so", "elf-ppc.so")
# Elf64_Shdr / Elf32_Shdr: the offset and width of each field
_SECTION_FIELDS = {
    2: [(0, 4), (4, 4), (8, 8), (24, 8), (32, 8), (40, 4), (44, 4), (56, 8)],
    1: [(0, 4), (4, 4), (8, 4), (16, 4), (20, 4), (24, 4), (28, 4), (36, 4)],
}


@READER_SETTINGS
@given(name=st.sampled_from(ELF), changes=edits(), cut=cuts())
def test_mutated_fixtures(binary_fixtures: dict[str, str], name: str, changes: list[Edit], cut: int | None) -> None:
    data = Path(binary_fixtures[name]).read_bytes()
    reads_or_binary_error(mutate(data, changes, cut, little=data[5] == 1), "-" + name)


@READER_SETTINGS
@given(name=st.sampled_from(ELF), section=st.integers(0, 64), field=st.integers(0, 7), value=values())
def test_one_section_header_field(
    binary_fixtures: dict[str, str], name: str, section: int, field: int, value: int
) -> None:
    """Any value in any field of any section header: offsets, sizes, links, flags
    (SHF_COMPRESSED), entry sizes, types."""
    data = bytearray(Path(binary_fixtures[name]).read_bytes())
    elf_class, endian = data[4], "<" if data[5] == 1 else ">"
    if elf_class == 2:
        (shoff,) = struct.unpack_from(endian + "Q", data, 0x28)
        entsize, count = struct.unpack_from(endian + "HH", data, 0x3A)
    else:
        (shoff,) = struct.unpack_from(endian + "I", data, 0x20)
        entsize, count = struct.unpack_from(endian + "HH", data, 0x2E)
    offset, width = _SECTION_FIELDS[elf_class][field]
    position = shoff + (section % count) * entsize + offset
    data[position : position + width] = (value & ((1 << (8 * width)) - 1)).to_bytes(
        width, "little" if endian == "<" else "big"
    )
    reads_or_binary_error(bytes(data), "-" + name)


@READER_SETTINGS
@given(body=st.binary(max_size=2048))
def test_random_bytes_after_the_magic(body: bytes) -> None:
    reads_or_binary_error(b"\x7fELF" + body, ".so")
