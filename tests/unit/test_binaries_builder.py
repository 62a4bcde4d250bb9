"""Binaries in snapshots: a library as the whole build spec, and --lib (extra_libraries)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from abidiff import snapshot as snapshot_io
from abidiff.binaries import read_binary
from abidiff.builder import guess_version, library_role, merge_libraries, snapshot_of
from abidiff.model import BinaryRole
from abidiff.sources import Library


@pytest.mark.parametrize(
    ("name", "version"),
    [
        ("libpython3.13.so.1.0", "3.13"),
        ("/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0", "3.11"),
        ("libpython3.6m.so.1.0", "3.6"),
        ("libpython3.13t.so", "3.13"),
        ("libpython3.12.dylib", "3.12"),
        ("python313.dll", "3.13"),
        ("python39_d.dll", "3.9"),
        ("/Library/Frameworks/Python.framework/Versions/3.13/Python", "3.13"),
        ("libpython3.so", None),
        ("python3.dll", None),
        ("libexports.so.1", None),
    ],
    ids=lambda value: str(value),
)
def test_guess_version(name: str, version: str | None) -> None:
    assert guess_version(name) == version


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("libpython3.13.so.1.0", BinaryRole.LIBPYTHON),
        ("python313.dll", BinaryRole.LIBPYTHON),
        ("libpython3.so", BinaryRole.STABLE_ABI),
        ("python3.dll", BinaryRole.STABLE_ABI),
        ("_ssl.cpython-313-x86_64-linux-gnu.so", BinaryRole.OTHER),
    ],
    ids=lambda value: str(value),
)
def test_library_role(name: str, role: BinaryRole) -> None:
    assert library_role(name) == role


def test_library_spec_without_a_version(binary_fixtures: dict[str, str]) -> None:
    path = binary_fixtures["elf-x86_64.so"]
    snap = snapshot_of(path)
    assert snap.build.version == "unknown" and snap.build.hexversion == 0
    assert snap.build.headers_only is False and snap.build.pointer_size == 8
    assert snap.build.target == "x86_64-unknown-linux-gnu"
    assert snap.records == () and snap.functions == ()
    assert [b.symbols for b in snap.binaries] == [b.symbols for b in read_binary(path, BinaryRole.LIBPYTHON)]


def test_library_spec_version_from_its_name(binary_fixtures: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "python313.dll"
    shutil.copy(binary_fixtures["pe-i386.dll"], path)
    snap = snapshot_of(str(path))
    assert snap.build.version == "3.13" and snap.build.hexversion == 0x030D0000
    assert snap.build.pointer_size == 4 and snap.build.target == "i386-pc-windows-msvc"
    assert snap.binaries[0].role == BinaryRole.LIBPYTHON


def test_library_spec_universal_file(binary_fixtures: dict[str, str]) -> None:
    snap = snapshot_of(binary_fixtures["macho-universal.dylib"])
    assert sorted(b.arch for b in snap.binaries) == ["aarch64", "x86_64"]


def test_merge_libraries_replaces_libpython_and_adds_others(tmp_path: Path) -> None:
    found = (
        Library(role=BinaryRole.LIBPYTHON, path="/old/libpython3.13.so.1.0"),
        Library(role=BinaryRole.STABLE_ABI, path="/old/libpython3.so"),
    )
    new_lib = tmp_path / "libpython3.13.so.1.0"
    other = tmp_path / "_ssl.so"
    merged = merge_libraries(found, (str(new_lib), str(other)))
    assert merged == (
        Library(role=BinaryRole.STABLE_ABI, path="/old/libpython3.so"),
        Library(role=BinaryRole.LIBPYTHON, path=str(new_lib.resolve())),
        Library(role=BinaryRole.OTHER, path=str(other.resolve())),
    )


def test_extra_library_on_a_snapshot_file(binary_fixtures: dict[str, str], tmp_path: Path) -> None:
    base = snapshot_of(binary_fixtures["elf-x86_64.so"])
    saved = tmp_path / "base.json"
    saved.write_text(snapshot_io.dumps(base), encoding="utf-8")
    extended = snapshot_of(str(saved), extra_libraries=(binary_fixtures["pe-x86_64.dll"],))
    roles = sorted((str(b.role), b.format.value) for b in extended.binaries)
    assert roles == [("libpython", "elf"), ("other", "pe")]
    assert snapshot_io.loads(snapshot_io.dumps(extended)) == extended  # still a valid snapshot
