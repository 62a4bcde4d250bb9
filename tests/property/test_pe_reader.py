"""Property: any mutation of the PE fixtures, and any bytes after the MZ magic, give exports or
a BinaryError, within the deadline of each example (no hang, no other exception)."""

from __future__ import annotations

import struct
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from tests.property.strategies import READER_SETTINGS, Edit, cuts, edits, mutate, reads_or_binary_error, values

PE = ("pe-x86_64.dll", "pe-i386.dll", "forwarder.dll")


@READER_SETTINGS
@given(name=st.sampled_from(PE), changes=edits(), cut=cuts())
def test_mutated_fixtures(binary_fixtures: dict[str, str], name: str, changes: list[Edit], cut: int | None) -> None:
    reads_or_binary_error(mutate(Path(binary_fixtures[name]).read_bytes(), changes, cut), "-" + name)


@READER_SETTINGS
@given(name=st.sampled_from(PE), field=st.integers(0, 10), value=values())
def test_one_export_directory_field(binary_fixtures: dict[str, str], name: str, field: int, value: int) -> None:
    """Any value in any field of the export directory (counts, table RVAs, the ordinal base)."""
    import pefile

    data = bytearray(Path(binary_fixtures[name]).read_bytes())
    pe = pefile.PE(data=bytes(data), fast_load=True)  # not closed: close() runs a full gc
    offset = pe.get_offset_from_rva(pe.OPTIONAL_HEADER.DATA_DIRECTORY[0].VirtualAddress)
    widths = [4, 4, 2, 2, 4, 4, 4, 4, 4, 4, 4]
    position = offset + sum(widths[:field])
    struct.pack_into("<I" if widths[field] == 4 else "<H", data, position, value & ((1 << (8 * widths[field])) - 1))
    reads_or_binary_error(bytes(data), "-" + name)


@READER_SETTINGS
@given(body=st.binary(max_size=2048))
def test_random_bytes_after_the_magic(body: bytes) -> None:
    reads_or_binary_error(b"MZ" + body, ".dll")
