#!/usr/bin/env python3
"""Build the extension-module fixtures of ``abidiff ext`` (ELF, PE, Mach-O) with zig's clang.

    python scripts/build_ext_fixtures.py [--out DIR]     # prints "key path" per fixture

Sources are in ``fixtures/extensions/``: ``ext_abi3.c`` (an abi3 module, as a cp39-abi3 wheel
would carry it), ``ext_full.c`` (a full-ABI cp313 module), ``bundled.c`` (a library a wheel bundles, no
extension module) and ``pyhelper.c`` (a library that calls CPython, no module either); their
comments list what each imports.  For Windows, ``stub_python.c`` is built twice, as ``python3.dll`` and
``python313.dll``, so that the linker can write the extensions' import tables.  Outputs go to
``fixtures/build/ext-<key>/<platform>/`` where ``key`` hashes sources, commands and the zig
version (as ``scripts/build_fixtures.py`` does); a build happens in a temporary directory
renamed into place, so concurrent runs are safe.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from build_fixtures import ToolchainMissing, _zig, build_once, fixtures_main, have_zig

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "fixtures" / "extensions"
DEFAULT_OUT = ROOT / "fixtures" / "build"

__all__ = ["EXTENSIONS", "ToolchainMissing", "build_all", "have_zig"]


@dataclass(frozen=True)
class Extension:
    key: str  # "elf/abi3": platform / flavour
    platform: str  # output sub-directory
    file: str  # the file name, as an installer would name it
    target: str
    source: str
    flags: tuple[str, ...]
    link: tuple[str, ...] = ()  # import libraries (PE): the stub DLL directory names


_ELF = ("-shared", "-fPIC", "-nostdlib", "-O1")
_MACHO = ("-shared", "-O1", "-Wl,-undefined,dynamic_lookup")
_PE = ("-shared", "-nostdlib", "-O1")

EXTENSIONS = (
    Extension("elf/abi3", "elf-x86_64", "ext_abi3.abi3.so", "x86_64-linux-gnu", "ext_abi3.c", _ELF),
    Extension(
        "elf/full", "elf-x86_64", "ext_full.cpython-313-x86_64-linux-gnu.so", "x86_64-linux-gnu", "ext_full.c", _ELF
    ),
    Extension("macho/abi3", "macho-arm64", "ext_abi3.abi3.so", "aarch64-macos", "ext_abi3.c", _MACHO),
    Extension("macho/full", "macho-arm64", "ext_full.cpython-313-darwin.so", "aarch64-macos", "ext_full.c", _MACHO),
    Extension("pe/abi3", "pe-x86_64", "ext_abi3.pyd", "x86_64-windows-gnu", "ext_abi3.c", _PE, ("python3",)),
    Extension(
        "pe/full", "pe-x86_64", "ext_full.cp313-win_amd64.pyd", "x86_64-windows-gnu", "ext_full.c", _PE, ("python313",)
    ),
    # a library a wheel bundles: no PyInit_, no CPython import; not an extension module
    Extension("elf/bundled", "elf-x86_64", "libbundled-1a2b3c4d.so.1", "x86_64-linux-gnu", "bundled.c", _ELF),
    Extension("macho/bundled", "macho-arm64", "libbundled.1.dylib", "aarch64-macos", "bundled.c", _MACHO),
    Extension("pe/bundled", "pe-x86_64", "bundled-1a2b3c4d.dll", "x86_64-windows-gnu", "bundled.c", _PE),
    # a library that imports CPython but exports no PyInit_: audited as a module is
    Extension("elf/pyhelper", "elf-x86_64", "libpyhelper.so", "x86_64-linux-gnu", "pyhelper.c", _ELF),
    # a module compiled and not linked: an object file, which abidiff ext refuses
    Extension("elf/object", "elf-x86_64", "ext_full.o", "x86_64-linux-gnu", "ext_full.c", ("-c", "-fPIC", "-O1")),
    Extension("macho/object", "macho-arm64", "ext_full.o", "aarch64-macos", "ext_full.c", ("-c", "-O1")),
)
STUB_DLLS = ("python3", "python313")  # built from stub_python.c for x86_64-windows-gnu


def _cc(target: str, flags: tuple[str, ...], out: Path, inputs: list[str]) -> list[str]:
    return [*_zig(), "cc", "-target", target, *flags, "-o", str(out), *inputs]


def _stub_command(name: str, directory: Path) -> list[str]:
    return _cc("x86_64-windows-gnu", _PE, directory / f"{name}.dll", [str(SOURCES / "stub_python.c")])


def _extension_command(ext: Extension, directory: Path) -> list[str]:
    # zig names the import library after the source (stub_python.lib), in the output's directory
    libraries = [str(directory / "stubs" / name / "stub_python.lib") for name in ext.link]
    return _cc(ext.target, ext.flags, directory / ext.platform / ext.file, [str(SOURCES / ext.source), *libraries])


def cache_key() -> str:
    digest = hashlib.sha256()
    version = subprocess.run([*_zig(), "version"], capture_output=True, text=True, check=True).stdout.strip()
    digest.update(version.encode())
    for path in sorted(SOURCES.iterdir()):
        if path.is_file() and path.suffix in (".c", ".h"):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    for name in STUB_DLLS:
        digest.update(repr(_stub_command(name, Path("OUT"))).encode())
    for ext in EXTENSIONS:
        digest.update(repr((ext, _extension_command(ext, Path("OUT")))).encode())
    return digest.hexdigest()[:16]


def _run(command: list[str], what: str, cwd: Path) -> None:
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
    if result.returncode != 0:
        raise RuntimeError(f"building {what} failed:\n{result.stderr}")


def _build_into(directory: Path) -> None:
    for name in STUB_DLLS:
        stub_dir = directory / "stubs" / name
        stub_dir.mkdir(parents=True)
        _run(_stub_command(name, stub_dir), f"{name}.dll", stub_dir)
    for ext in EXTENSIONS:
        (directory / ext.platform).mkdir(exist_ok=True)
        _run(_extension_command(ext, directory), ext.key, directory / ext.platform)
    for leftover in [*directory.glob("*/*.lib"), *directory.glob("*/*.pdb")]:
        leftover.unlink()


def build_all(out: Path = DEFAULT_OUT) -> dict[str, Path]:
    """Every extension fixture, built once per :func:`cache_key`: ``{key: path}``."""
    final = build_once(out / f"ext-{cache_key()}", _build_into)
    return {ext.key: final / ext.platform / ext.file for ext in EXTENSIONS}


def main() -> int:
    return fixtures_main("build_ext_fixtures", __doc__, build_all)


if __name__ == "__main__":
    sys.exit(main())
