"""Corrupt, truncated, patched and odd inputs: a one-line BinaryError naming the file (once),
never another exception, never a read of the whole file, never a wait on a FIFO.  Corrupt
files are made from the good fixtures in memory (truncated, bytes flipped, offsets patched),
as pyelftools' test_corrupt_files.py and packaging's test_elffile.py do.  Files crafted to
cost time or memory are in test_binaries_hostile.py; the property-based tests (random
mutations) in tests/property/."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from abidiff.binaries import file_identity, read_binary, read_import_table, read_imports
from abidiff.binaries.detect import is_program, sniff_file
from abidiff.errors import EXIT_ERROR, BinaryError
from abidiff.model import BinaryRole

FIXTURES = (
    "elf-x86_64.so",
    "elf-ppc.so",
    "pe-x86_64.dll",
    "pe-i386.dll",
    "forwarder.dll",
    "macho-arm64.dylib",
    "macho-universal.dylib",
)


def assert_binary_error(path: Path, *, contains: str | None = None) -> BinaryError:
    with pytest.raises(BinaryError) as caught:
        read_binary(str(path), BinaryRole.OTHER)
    message = caught.value.message
    assert message.count(str(path)) == 1, message  # named once: no error wrapped in another
    assert "\n" not in message, message
    assert caught.value.hint
    if contains is not None:
        assert contains in message, message
    return caught.value


# --- odd files --------------------------------------------------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.so"
    path.write_bytes(b"")
    assert_binary_error(path, contains="empty")


def test_directory(tmp_path: Path) -> None:
    error = assert_binary_error(tmp_path)
    assert error.message == f"{tmp_path} is a directory, not a file"


def test_missing_file(tmp_path: Path) -> None:
    error = assert_binary_error(tmp_path / "absent.so")
    assert error.message == f"{tmp_path / 'absent.so'}: no such file"
    with pytest.raises(BinaryError, match="no such file"):
        file_identity(str(tmp_path / "absent.so"))  # what a cache key of --lib FILE reads


def test_file_identity_of_a_regular_file(tmp_path: Path) -> None:
    path = tmp_path / "lib.so"
    path.write_bytes(b"\x7fELF")
    info = path.stat()
    assert file_identity(str(path)) == (4, info.st_mtime_ns, info.st_ino)


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "libpython3.13.so"
    os.mkfifo(path)
    return path


def _socket(tmp_path: Path) -> Path:
    path = tmp_path / "lib.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()
    return path


def _dev_zero(tmp_path: Path) -> Path:
    path = tmp_path / "libzero.so"
    path.symlink_to("/dev/zero")
    return path


@pytest.mark.parametrize(
    ("make", "kind"),
    [(_fifo, "a FIFO (named pipe)"), (_socket, "a socket"), (_dev_zero, "a character device")],
    ids=["fifo", "socket", "symlink-to-dev-zero"],
)
def test_not_a_regular_file(tmp_path: Path, make: Callable[[Path], Path], kind: str) -> None:
    """Refused by name, at once: a FIFO with no writer would block open() forever, /dev/zero
    never ends."""
    path = make(tmp_path)
    for read in (read_binary, lambda p, _role: read_imports(p), lambda p, _role: read_import_table(p)):
        started = time.perf_counter()
        with pytest.raises(BinaryError) as caught:
            read(str(path), BinaryRole.OTHER)
        assert caught.value.message == f"{path} is {kind}, not a file"
        assert time.perf_counter() - started < 1.0
    with pytest.raises(BinaryError, match=re.escape(f"is {kind}, not a file")):
        file_identity(str(path))


def test_sniffers_do_not_wait_on_a_fifo(tmp_path: Path) -> None:
    """``sniff_file`` and ``is_program`` (which resolve build specs) answer "no" for a FIFO
    instead of blocking in open() until a writer comes."""
    path = _fifo(tmp_path)
    answers: list[object] = []
    worker = threading.Thread(
        target=lambda: answers.extend([sniff_file(str(path)), is_program(str(path))]), daemon=True
    )
    worker.start()
    worker.join(timeout=5)
    if worker.is_alive():  # release each blocked open() (a writer must come) so that the run can end
        for _ in range(10):
            with contextlib.suppress(OSError):
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
            worker.join(timeout=0.5)
            if not worker.is_alive():
                break
        pytest.fail("a sniffer blocked on a FIFO")
    assert answers == [None, False]


@pytest.mark.parametrize(
    "content",
    [b"hello, world\n", b"\x00" * 64, b"PK\x03\x04" + b"\x00" * 60, b"\xca\xfe\xba\xbe\x00\x00\x00\x34"],
    ids=["text", "zeros", "zip", "java-class"],
)
def test_wrong_magic(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "libpython3.13.so"
    path.write_bytes(content)
    assert_binary_error(path, contains="not an ELF, PE or Mach-O file")


def test_huge_sparse_file_of_zeros(tmp_path: Path) -> None:
    path = tmp_path / "sparse.so"
    with open(path, "wb") as handle:
        handle.truncate(8 << 30)
    started = time.perf_counter()
    assert_binary_error(path, contains="not an ELF, PE or Mach-O file")
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("name", ["elf-x86_64.so", "pe-x86_64.dll", "macho-universal.dylib"])
def test_good_file_padded_to_8_gib_reads_fast(binary_fixtures: dict[str, str], tmp_path: Path, name: str) -> None:
    """A valid binary followed by 8 GiB of (sparse) zeros: only the tables are read."""
    path = tmp_path / name
    path.write_bytes(Path(binary_fixtures[name]).read_bytes())
    with open(path, "r+b") as handle:
        handle.truncate(8 << 30)
    started = time.perf_counter()
    padded = read_binary(str(path), BinaryRole.OTHER)
    assert time.perf_counter() - started < 2.0
    original = read_binary(binary_fixtures[name], BinaryRole.OTHER)
    assert [b.symbols for b in padded] == [b.symbols for b in original]


# --- truncation -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", FIXTURES)
def test_truncated_at_many_lengths(binary_fixtures: dict[str, str], tmp_path: Path, name: str) -> None:
    data = Path(binary_fixtures[name]).read_bytes()
    lengths = sorted(
        {1, 2, 3, 4, 7, 8, 16, 32, 52, 63, 64, 100, 200, 256, 512, 1024, *range(0, len(data), max(1, len(data) // 47))}
        - {0}
    )
    errors = 0
    for length in lengths:
        path = tmp_path / f"cut-{length}-{name}"
        path.write_bytes(data[:length])
        try:
            read_binary(str(path), BinaryRole.OTHER)
        except BinaryError as error:
            assert str(path) in error.message and "\n" not in error.message
            errors += 1
        else:
            assert length >= 64, "no header of any format fits in 64 bytes: must be an error"
    assert errors >= len(lengths) // 2  # most cuts lose a table the reader needs


# --- offsets past the end -------------------------------------------------------------------


def _patch(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    patched = bytearray(data)
    struct.pack_into(fmt, patched, offset, value)
    return bytes(patched)


def _elf_section_offset_field(data: bytes, section_type: int) -> int:
    """The file offset of the ``sh_offset`` field of the first section of ``section_type``."""
    shoff: int = struct.unpack_from("<Q", data, 0x28)[0]
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    for index in range(shnum):
        header = shoff + index * shentsize
        if struct.unpack_from("<I", data, header + 4)[0] == section_type:
            return int(header + 0x18)
    raise AssertionError("no such section")


def _pe_export_rva_field(data: bytes) -> int:
    pe_offset: int = struct.unpack_from("<I", data, 0x3C)[0]
    optional = pe_offset + 24
    magic = struct.unpack_from("<H", data, optional)[0]
    return optional + (112 if magic == 0x20B else 96)  # DataDirectory[0].VirtualAddress


def _macho_command(data: bytes, wanted: int, base: int = 0) -> int:
    ncmds = struct.unpack_from("<I", data, base + 16)[0]
    position = base + 32
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", data, position)
        if cmd == wanted:
            return position
        position += size
    raise AssertionError(f"no load command {wanted:#x}")


PATCHES: dict[str, tuple[str, Callable[[bytes], bytes], str]] = {
    "elf-e_shoff-past-end": ("elf-x86_64.so", lambda d: _patch(d, 0x28, "<Q", len(d) + 4096), "section table"),
    "elf-dynsym-offset-past-end": (
        "elf-x86_64.so",
        lambda d: _patch(d, _elf_section_offset_field(d, 11), "<Q", len(d) * 4),
        "past the end",
    ),
    "elf-dynamic-offset-past-end": (
        "elf-x86_64.so",
        lambda d: _patch(d, _elf_section_offset_field(d, 6), "<Q", 1 << 40),
        "past the end",
    ),
    "pe-e_lfanew-past-end": ("pe-x86_64.dll", lambda d: _patch(d, 0x3C, "<I", len(d) + 100), "PE"),
    "pe-export-rva-past-end": (
        "pe-x86_64.dll",
        lambda d: _patch(d, _pe_export_rva_field(d), "<I", 0x7FFF0000),
        "the export directory at RVA 0x7fff0000 (40 bytes) lies outside the file",
    ),
    "macho-cmdsize-huge": ("macho-arm64.dylib", lambda d: _patch(d, 32 + 4, "<I", 0x7FFFFFF0), "load command"),
    "macho-sizeofcmds-past-end": ("macho-arm64.dylib", lambda d: _patch(d, 20, "<I", len(d) * 2), "load commands"),
    "macho-symoff-past-end": (
        "macho-arm64.dylib",
        lambda d: _patch(d, _macho_command(d, 0x2) + 8, "<I", len(d) + 64),
        "symbol table",
    ),
    "macho-trie-past-end": (
        "macho-arm64.dylib",
        lambda d: _patch(d, _macho_command(d, 0x80000022) + 40, "<I", len(d) - 8),
        "export trie",
    ),
    "fat-slice-past-end": ("macho-universal.dylib", lambda d: _patch(d, 8 + 8, ">I", len(d)), "universal"),
    "fat-too-many-slices": (
        "macho-universal.dylib",
        lambda d: _patch(d, 4, ">I", 30),
        "architecture 3 of the universal file",
    ),
}


@pytest.mark.parametrize("case", sorted(PATCHES))
def test_offsets_past_the_end(binary_fixtures: dict[str, str], tmp_path: Path, case: str) -> None:
    name, patch, expected = PATCHES[case]
    path = tmp_path / f"{case}-{name}"
    path.write_bytes(patch(Path(binary_fixtures[name]).read_bytes()))
    assert_binary_error(path, contains=expected)


def test_cli_exit_status_for_a_corrupt_library(
    binary_fixtures: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from abidiff.cli import main

    path = tmp_path / "libpython3.13.so.1.0"
    path.write_bytes(Path(binary_fixtures["elf-x86_64.so"]).read_bytes()[:2000])
    assert main(["dump", str(path)]) == EXIT_ERROR
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("abidiff: error: ") and str(path) in err[0]
    assert err[1].startswith("abidiff: hint: ")
    assert "Traceback" not in "\n".join(err)
