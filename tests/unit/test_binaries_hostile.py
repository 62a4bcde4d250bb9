"""Hostile binaries (issue 11): files built to cost time or memory end quickly, in a one-line
BinaryError that says which limit they pass, within a bounded time and memory.

Each is a good fixture patched in memory by ``scripts/craft_hostile_binaries.py`` (whose
``main`` writes the full-size probes measured in the issue).  Sizes here are the smallest that
pass a limit, so that the old readers (which had none) would have failed these tests: they
returned, or inflated, hundreds of megabytes.  Time and memory are measured around each read:
``tracemalloc``'s peak counts every Python allocation, the bytes of a table or a name included.
"""

from __future__ import annotations

import struct
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from abidiff.binaries import _common, read_binary, read_import_table, read_imports
from abidiff.binaries._common import LIMITS
from abidiff.errors import BinaryError
from abidiff.model import BinaryRole
from tests.conftest import _load_script

ROOT = Path(__file__).resolve().parents[2]
_MIB = 1 << 20


craft = _load_script("craft_hostile_binaries")


@pytest.fixture(scope="module")
def fixture_bytes(binary_fixtures: dict[str, str]) -> dict[str, bytes]:
    return {name: Path(path).read_bytes() for name, path in binary_fixtures.items()}


def bounded(read: Callable[[], object], *, seconds: float = 3.0, megabytes: int = 48) -> BinaryError:
    """Run ``read``, which must raise BinaryError within ``seconds`` and ``megabytes`` of
    Python allocations (the old readers took gigabytes, or a minute, on the full probes)."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(BinaryError) as caught:
            read()
    finally:
        elapsed = time.perf_counter() - started
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < seconds, f"took {elapsed:.1f} s"
    assert peak < megabytes * _MIB, f"allocated {peak / _MIB:.0f} MiB at the peak"
    error = caught.value
    assert "\n" not in error.message and error.hint
    return error


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def every_reading(path: str) -> Iterator[Callable[[], object]]:
    """The three entry points a command uses: symbols/compare/dump, ext (names), ext (table)."""
    yield lambda: read_binary(path, BinaryRole.OTHER)
    yield lambda: read_imports(path)
    yield lambda: read_import_table(path)


# --- ELF: compressed string table -----------------------------------------------------------


@pytest.mark.parametrize(
    ("inflated_mib", "declared"),
    [(64, None), (1, 6 << 30)],
    ids=["inflates-to-64-MiB", "declares-6-GiB"],
)
def test_compressed_dynstr_is_refused_before_inflating(
    fixture_bytes: dict[str, bytes], tmp_path: Path, inflated_mib: int, declared: int | None
) -> None:
    data = craft.elf_compressed_dynstr(
        fixture_bytes["elf-x86_64.so"], inflated_mib=inflated_mib, declared_bytes=declared
    )
    path = write(tmp_path, "libcompressed.so", data)
    for read in every_reading(path):
        error = bounded(read, megabytes=16)
        assert (
            error.message == f"{path}: section .dynstr is compressed (SHF_COMPRESSED), which a loaded section never is"
        )


# --- ELF: name amplification ----------------------------------------------------------------


@pytest.mark.parametrize("undefined", [False, True], ids=["exports", "imports"])
def test_one_name_longer_than_the_limit(fixture_bytes: dict[str, bytes], tmp_path: Path, undefined: bool) -> None:
    data = craft.elf_name_amplification(
        fixture_bytes["elf-x86_64.so"], symbols=3, name_bytes=4 * _MIB, undefined=undefined
    )
    path = write(tmp_path, "libamplified.so", data)
    for read in every_reading(path):
        error = bounded(read)
        assert error.message == f"{path}: dynamic symbol 1 has a name longer than 64 KiB, the limit"


@pytest.mark.parametrize("undefined", [False, True], ids=["exports", "imports"])
def test_one_name_shared_by_many_symbols(fixture_bytes: dict[str, bytes], tmp_path: Path, undefined: bool) -> None:
    """1,100 symbols naming one 60 KiB string: under the limit of one name, 66 MB of names
    in all (a copy per symbol in every report), over the limit of 64 MiB."""
    data = craft.elf_name_amplification(
        fixture_bytes["elf-x86_64.so"], symbols=1100, name_bytes=60 << 10, undefined=undefined
    )
    path = write(tmp_path, "libamplified.so", data)
    for read in every_reading(path):
        error = bounded(read)
        assert error.message == f"{path}: its symbol names add up to more than 64 MiB, the limit"


def test_a_shared_name_under_the_limits_reads_once(fixture_bytes: dict[str, bytes], tmp_path: Path) -> None:
    data = craft.elf_name_amplification(fixture_bytes["elf-x86_64.so"], symbols=500, name_bytes=60 << 10)
    path = write(tmp_path, "libshared.so", data)
    tracemalloc.start()
    try:
        [binary] = read_binary(path, BinaryRole.OTHER)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(binary.symbols) == 500 and {s.name for s in binary.symbols} == {"N" * (60 << 10)}
    assert peak < 8 * _MIB  # the name is decoded once, not 500 times (30 MB)
    assert binary.soname == "libexports.so.1"


def test_needed_entries_naming_one_string(fixture_bytes: dict[str, bytes], tmp_path: Path) -> None:
    data = craft.elf_needed_amplification(fixture_bytes["elf-x86_64.so"], entries=1100, name_bytes=60 << 10)
    path = write(tmp_path, "libneeded.so", data)
    error = bounded(lambda: read_binary(path, BinaryRole.OTHER))
    assert error.message == f"{path}: its symbol names add up to more than 64 MiB, the limit"


def test_too_many_dynamic_entries(fixture_bytes: dict[str, bytes], tmp_path: Path) -> None:
    data = craft.elf_needed_amplification(
        fixture_bytes["elf-x86_64.so"], entries=LIMITS.dynamic_entries + 1, name_bytes=1
    )
    path = write(tmp_path, "libneeded.so", data)
    error = bounded(lambda: read_binary(path, BinaryRole.OTHER))
    assert error.message == f"{path}: .dynamic has more than 65536 entries, the limit"


def test_too_many_symbols(fixture_bytes: dict[str, bytes], tmp_path: Path) -> None:
    data = craft.elf_with_symbol_count(fixture_bytes["elf-x86_64.so"], LIMITS.symbols + 1)
    path = tmp_path / "libmany.so"
    path.write_bytes(data)
    with open(path, "r+b") as handle:  # the declared table, sparse: 12 MiB of zeros
        handle.truncate(len(data) + (LIMITS.symbols + 1) * 24)
    error = bounded(lambda: read_binary(str(path), BinaryRole.OTHER), megabytes=8)
    assert error.message == f"{path}: .dynsym holds 524289 symbols, over the limit of 524288"


def test_too_many_sections(fixture_bytes: dict[str, bytes], tmp_path: Path) -> None:
    path = write(tmp_path, "libsections.so", craft.elf_section_count(fixture_bytes["elf-x86_64.so"], 1 << 30))
    error = bounded(lambda: read_binary(path, BinaryRole.OTHER), megabytes=8)
    assert error.message == f"{path}: a section table of 1073741824 sections, over the limit of 65536"


def test_a_string_table_over_the_size_limit_is_not_read(fixture_bytes: dict[str, bytes], tmp_path: Path) -> None:
    """A sparse file of 2 GiB whose .dynstr claims all of it: refused before a byte is read."""
    data = bytearray(fixture_bytes["elf-x86_64.so"])
    header = craft._dynstr_header(bytes(data))
    struct.pack_into("<Q", data, header + 32, (2 << 30) - 0x448)
    path = tmp_path / "libsparse.so"
    path.write_bytes(bytes(data))
    with open(path, "r+b") as handle:
        handle.truncate(2 << 30)
    error = bounded(lambda: read_binary(str(path), BinaryRole.OTHER), megabytes=8)
    assert error.message == f"{path}: section .dynstr is 2.0 GiB, over the limit of 128 MiB"


def test_dwarf_check_of_a_good_file_and_of_a_compressed_bomb(fixture_bytes: dict[str, bytes], tmp_path: Path) -> None:
    """``--dwarf`` hands the file to pyelftools, which inflates a compressed section to the
    size its header declares: checked first, with the bounded reader."""
    from abidiff.binaries.dwarf import check_layouts, has_dwarf

    good = write(tmp_path, "libgood.so", fixture_bytes["elf-x86_64.so"])
    assert has_dwarf(good)
    assert check_layouts(good, ()).warnings == ()
    path = write(
        tmp_path, "libbomb.so", craft.elf_compressed_debug_info(fixture_bytes["elf-x86_64.so"], declared_bytes=6 << 30)
    )
    for read in (lambda: has_dwarf(path), lambda: check_layouts(path, ())):
        error = bounded(read, megabytes=8)
        assert error.message == f"{path}: section .debug_info is 6 GiB once read, over the limit of 512 MiB"


# --- Mach-O ---------------------------------------------------------------------------------


def test_comb_trie_deeper_than_the_limit(fixture_bytes: dict[str, bytes], tmp_path: Path) -> None:
    path = write(
        tmp_path, "comb.dylib", craft.macho_with_trie(fixture_bytes["macho-arm64.dylib"], craft.comb_trie(5000))
    )
    for read in every_reading(path):
        error = bounded(read)
        assert error.message.startswith(f"{path}: the export trie: deeper than 4096 nodes, the limit (at node ")


def test_comb_trie_spelling_long_names(fixture_bytes: dict[str, bytes], tmp_path: Path) -> None:
    """4,000 nodes deep (under the depth limit) with 16-byte edges: a leaf on every node
    spells a longer name each time, 128 MB of names from 137 KiB of trie."""
    trie = craft.comb_trie(4000, b"x" * 16)
    assert len(trie) < 140 << 10
    path = write(tmp_path, "comb.dylib", craft.macho_with_trie(fixture_bytes["macho-arm64.dylib"], trie))
    error = bounded(lambda: read_binary(path, BinaryRole.OTHER), megabytes=160)
    assert (
        error.message
        == f"{path}: the export trie: the names spelled while walking it add up to more than 64 MiB, the limit"
    )


@pytest.mark.parametrize("undefined", [False, True], ids=["exports", "imports"])
def test_symbol_table_names_shared_by_many_symbols(
    fixture_bytes: dict[str, bytes], tmp_path: Path, undefined: bool
) -> None:
    data = craft.macho_with_symtab(
        fixture_bytes["macho-arm64.dylib"], symbols=1100, name_bytes=60 << 10, undefined=undefined
    )
    path = write(tmp_path, "libamplified.dylib", data)
    for read in every_reading(path):
        error = bounded(read)
        assert error.message == f"{path}: its symbol names add up to more than 64 MiB, the limit"


def test_symbol_table_name_longer_than_the_limit(fixture_bytes: dict[str, bytes], tmp_path: Path) -> None:
    """The old reader skipped such a name without a word (a lost export)."""
    data = craft.macho_with_symtab(fixture_bytes["macho-arm64.dylib"], symbols=2, name_bytes=5000)
    path = write(tmp_path, "liblong.dylib", data)
    [binary] = read_binary(path, BinaryRole.OTHER)
    assert [s.name for s in binary.symbols] == ["S" * 4999] * 2
    data = craft.macho_with_symtab(fixture_bytes["macho-arm64.dylib"], symbols=2, name_bytes=(64 << 10) + 2)
    path = write(tmp_path, "libtoolong.dylib", data)
    error = bounded(lambda: read_binary(path, BinaryRole.OTHER))
    assert error.message == f"{path}: symbol 0 has a name longer than 64 KiB, the limit"


# --- PE -------------------------------------------------------------------------------------


def test_pe_with_65535_sections(fixture_bytes: dict[str, bytes], tmp_path: Path) -> None:
    path = write(tmp_path, "python313.dll", craft.pe_number_of_sections(fixture_bytes["pe-x86_64.dll"]))
    for read in every_reading(path):
        error = bounded(read)
        assert error.message.startswith(f"{path}: its header declares 65535 sections, a section table of 2.5 MiB")


def test_pe_with_more_sections_declared_than_in_its_table(fixture_bytes: dict[str, bytes], tmp_path: Path) -> None:
    data = fixture_bytes["pe-x86_64.dll"]
    (pe_offset,) = struct.unpack_from("<I", data, 0x3C)
    declared = struct.unpack_from("<H", data, pe_offset + 6)[0]
    path = write(tmp_path, "python313.dll", craft.pe_number_of_sections(data, declared + 1))
    error = bounded(lambda: read_binary(path, BinaryRole.OTHER))
    assert error.message == (
        f"{path}: its section table ends (an empty entry) after {declared} of the {declared + 1} sections"
    )


def test_pe_errors_say_what_is_wrong_once(fixture_bytes: dict[str, bytes], tmp_path: Path) -> None:
    """The reader's own error is no longer caught as a ValueError and wrapped again
    ("corrupt PE file (BinaryError: PATH: section ...)")."""
    data = bytearray(fixture_bytes["pe-x86_64.dll"])
    (pe_offset,) = struct.unpack_from("<I", data, 0x3C)
    table = pe_offset + 24 + struct.unpack_from("<H", data, pe_offset + 20)[0]
    struct.pack_into("<I", data, table + 16, 1 << 24)  # SizeOfRawData of the first section
    path = write(tmp_path, "python313.dll", bytes(data))
    error = bounded(lambda: read_binary(path, BinaryRole.OTHER))
    assert error.message.count(path) == 1 and "Error" not in error.message
    assert error.message.startswith(f"{path}: section .text (raw data at ")


# --- the limits are what the docs say --------------------------------------------------------


def test_limits_are_documented() -> None:
    text = (ROOT / "docs" / "binaries.md").read_text(encoding="utf-8")
    section = text[text.index("## Limits") :]
    for value in (
        "128 MiB",
        "524,288",
        "64 KiB",
        "64 MiB",
        "65,536",
        "32,768",
        "4,194,304",
        "4,096",
        "8,192",
        "512 MiB",
    ):
        assert value in section, value
    assert LIMITS == _common.Limits()
    assert (LIMITS.table_bytes, LIMITS.symbols, LIMITS.name_bytes, LIMITS.names_bytes) == (
        128 * _MIB,
        524_288,
        64 << 10,
        64 * _MIB,
    )
    assert (LIMITS.sections, LIMITS.dynamic_entries, LIMITS.versions) == (65_536, 65_536, 32_768)
    assert (LIMITS.trie_nodes, LIMITS.trie_depth, LIMITS.debug_section_bytes) == (4_194_304, 4_096, 512 * _MIB)
