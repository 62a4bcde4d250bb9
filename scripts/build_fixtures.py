#!/usr/bin/env python3
"""Build the binary fixtures (ELF, PE, Mach-O) from ``fixtures/binaries/`` with zig's clang.

    python scripts/build_fixtures.py [--out DIR]     # prints "name path" per fixture

Outputs go to ``fixtures/build/<key>/`` where ``key`` hashes the sources, the commands and
the zig version, so a second run (and the test session) finds them and builds nothing.
Each build happens in a temporary directory renamed into place: concurrent runs are safe.
No C library is linked (``-nostdlib``), so a target builds in well under a second.

zig cannot write universal (fat) Mach-O files; :func:`write_fat` writes the big-endian
fat header and page-aligned slices itself.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "fixtures" / "binaries"
DEFAULT_OUT = ROOT / "fixtures" / "build"

FAT_MAGIC = 0xCAFEBABE
FAT_ALIGN = 14  # 2**14: slices start on 16 KiB pages, as lipo does for arm64


class ToolchainMissing(RuntimeError):
    """zig (the ``ziglang`` package) is not installed: the fixtures cannot be built."""


@dataclass(frozen=True)
class Fixture:
    name: str  # also the output file name
    target: str
    sources: tuple[str, ...]
    flags: tuple[str, ...] = ()


_ELF_FLAGS = (
    "-shared",
    "-fPIC",
    "-nostdlib",
    "-O1",
    "-Wl,--version-script={src}/exports.map",
    "-Wl,-soname,libexports.so.1",
)
_PE_FLAGS = ("-shared", "-nostdlib", "-O1")
_MACHO_FLAGS = ("-shared", "-O1", "-Wl,-install_name,@rpath/libexports.dylib")

FIXTURES = (
    Fixture("elf-x86_64.so", "x86_64-linux-gnu", ("exports.c",), _ELF_FLAGS),
    Fixture("elf-aarch64.so", "aarch64-linux-gnu", ("exports.c",), _ELF_FLAGS),
    Fixture("elf-i386.so", "x86-linux-gnu", ("exports.c",), _ELF_FLAGS),  # 32-bit little-endian
    Fixture("elf-s390x.so", "s390x-linux-gnu", ("exports.c",), _ELF_FLAGS),  # 64-bit big-endian
    Fixture("elf-ppc.so", "powerpc-linux-gnu", ("exports.c",), _ELF_FLAGS),  # 32-bit big-endian
    Fixture("pe-x86_64.dll", "x86_64-windows-gnu", ("exports.c",), _PE_FLAGS),
    Fixture("pe-i386.dll", "x86-windows-gnu", ("exports.c",), _PE_FLAGS),
    Fixture("forwarder.dll", "x86_64-windows-gnu", ("forwarder.c", "forwarder.def"), _PE_FLAGS),
    Fixture("macho-x86_64.dylib", "x86_64-macos", ("exports.c",), _MACHO_FLAGS),
    Fixture("macho-arm64.dylib", "aarch64-macos", ("exports.c",), _MACHO_FLAGS),
)
UNIVERSAL = ("macho-universal.dylib", ("macho-x86_64.dylib", "macho-arm64.dylib"))


def have_zig() -> bool:
    return importlib.util.find_spec("ziglang") is not None


def _zig() -> list[str]:
    if not have_zig():
        raise ToolchainMissing("the zig toolchain (pip install ziglang) is not installed")
    return [sys.executable, "-m", "ziglang"]


def _command(fixture: Fixture, out: Path) -> list[str]:
    flags = [flag.format(src=SOURCES) for flag in fixture.flags]
    return [
        *_zig(),
        "cc",
        "-target",
        fixture.target,
        *flags,
        "-o",
        str(out),
        *(str(SOURCES / s) for s in fixture.sources),
    ]


def cache_key() -> str:
    digest = hashlib.sha256()
    version = subprocess.run([*_zig(), "version"], capture_output=True, text=True, check=True).stdout.strip()
    digest.update(version.encode())
    for path in sorted(SOURCES.iterdir()):
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    for fixture in FIXTURES:
        digest.update(repr((fixture, _command(fixture, Path("OUT")))).encode())
    digest.update(repr((UNIVERSAL, FAT_ALIGN)).encode())
    return digest.hexdigest()[:16]


def write_fat(out: Path, slices: list[Path]) -> None:
    """A universal file: ``fat_header`` and ``fat_arch`` entries (big-endian), then each
    slice at an offset aligned to ``2**FAT_ALIGN``."""
    entries = []
    offset = 8 + 20 * len(slices)
    blobs = [path.read_bytes() for path in slices]
    for blob in blobs:
        offset = (offset + (1 << FAT_ALIGN) - 1) & ~((1 << FAT_ALIGN) - 1)
        endian = "<" if blob[:4] in (b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe") else ">"
        cputype, cpusubtype = struct.unpack_from(endian + "ii", blob, 4)
        entries.append((cputype, cpusubtype, offset, len(blob)))
        offset += len(blob)
    with open(out, "wb") as handle:
        handle.write(struct.pack(">II", FAT_MAGIC, len(blobs)))
        for cputype, cpusubtype, start, size in entries:
            handle.write(struct.pack(">iiIII", cputype, cpusubtype, start, size, FAT_ALIGN))
        for (_cpu, _sub, start, _size), blob in zip(entries, blobs, strict=True):
            handle.write(b"\0" * (start - handle.tell()))
            handle.write(blob)


def _build_into(directory: Path) -> None:
    for fixture in FIXTURES:
        result = subprocess.run(
            _command(fixture, directory / fixture.name), capture_output=True, text=True, cwd=directory
        )
        if result.returncode != 0:
            raise RuntimeError(f"building {fixture.name} failed:\n{result.stderr}")
    name, parts = UNIVERSAL
    write_fat(directory / name, [directory / part for part in parts])
    for leftover in [*directory.glob("*.lib"), *directory.glob("*.pdb")]:  # import libraries, debug databases
        leftover.unlink()


def build_once(final: Path, build_into: Callable[[Path], None]) -> Path:
    """``final``, built by ``build_into`` unless it exists: in a scratch directory beside it,
    then renamed, so that concurrent test runs never see half a build."""
    if not final.is_dir():
        final.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".building-", dir=final.parent))
        try:
            build_into(scratch)
            try:
                os.rename(scratch, final)
            except OSError:  # another process won the race: use its build
                if not final.is_dir():
                    raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return final


def build_all(out: Path = DEFAULT_OUT) -> dict[str, Path]:
    """Every fixture, built once per :func:`cache_key`: ``{file name: path}``."""
    final = build_once(out / cache_key(), _build_into)
    names = [fixture.name for fixture in FIXTURES] + [UNIVERSAL[0]]
    return {name: final / name for name in names}


def fixtures_main(name: str, doc: str | None, build: Callable[[Path], dict[str, Path]]) -> int:
    """The command line of a fixture builder: ``--out DIR``; prints each fixture and its path."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="cache directory (default: fixtures/build)")
    args = parser.parse_args()
    try:
        built = build(args.out)
    except ToolchainMissing as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 1
    for key, path in built.items():
        print(key, path)
    return 0


def main() -> int:
    return fixtures_main("build_fixtures", __doc__, build_all)


if __name__ == "__main__":
    sys.exit(main())
