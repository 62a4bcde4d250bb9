"""``pyconfig.h`` for a source tree (which has none), the target it is parsed for, and the
cache keys that depend on both.

``pyconfig.h`` comes, in this order, from ``--pyconfig FILE``, ``--config-from DIR`` (a
configured build directory), ``PC/pyconfig.h`` (``--target windows``; generated from
``PC/pyconfig.h.in`` from 3.13), or ``./configure --enable-shared`` (see :mod:`.make`).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from abidiff import files
from abidiff.errors import BuildSpecError, InputError
from abidiff.options import BuildOptions
from abidiff.sources.gitref.git import read_blobs

WINDOWS_TRIPLE = "x86_64-pc-windows-msvc"
TARGET_ALIASES = {"windows": WINDOWS_TRIPLE, "windows-x64": WINDOWS_TRIPLE, "win-amd64": WINDOWS_TRIPLE}
_PACKAGE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # src/abidiff
WINSTUB_DIR = os.path.join(_PACKAGE, "headers", "winstub")
CONFIGURE_ARGS = ("--enable-shared",)  # one configure per commit serves the headers and --build
_CONFIGURE_FORMAT = 2  # bump when what we keep of a configure run changes
_TARGET = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_PLACEHOLDER = re.compile(rb"@([A-Za-z_][A-Za-z0-9_]*)@")


# --- targets ------------------------------------------------------------------------------


def target_triple(target: str | None) -> str | None:
    """The clang triple of ``--target`` (``windows`` is MSVC x64); None: the host."""
    if target is None:
        return None
    if not _TARGET.match(target):
        raise BuildSpecError(
            f"'{target}' is not a target abidiff understands",
            hint="give --target windows, or a clang target triple such as aarch64-linux-gnu",
        )
    return TARGET_ALIASES.get(target.lower(), target)


def is_windows(triple: str | None) -> bool:
    return triple is not None and ("windows" in triple or "win32" in triple)


def host_triple() -> str:
    """A name of this machine for cache keys (not a clang triple)."""
    return f"host:{platform.machine() or 'unknown'}-{sys.platform}"


def windows_config_dirs(pyconfig_dir: str) -> tuple[str, ...]:
    """The -I directories for a Windows parse: the pyconfig.h, then abidiff's stubs of the
    few Windows SDK headers PC/pyconfig.h includes (``io.h``, ``basetsd.h``...)."""
    return (pyconfig_dir, WINSTUB_DIR)


# --- where pyconfig.h comes from ----------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class KnownPyconfig:
    """A ``pyconfig.h`` known before anything is extracted or built."""

    content: bytes
    origin: str  # "--pyconfig file /x/pyconfig.h", "PC/pyconfig.h of v3.13.0", ...

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def given_pyconfig(options: BuildOptions) -> KnownPyconfig | None:
    """The ``pyconfig.h`` of ``--pyconfig`` or ``--config-from``, read once, or None."""
    if options.pyconfig:
        path, what = os.path.abspath(os.path.expanduser(options.pyconfig)), f"--pyconfig {options.pyconfig}"
        if os.path.isdir(path):
            path, what = os.path.join(path, "pyconfig.h"), f"{what}: pyconfig.h"
        content = _read(path, what, "no such file", "give the path of a pyconfig.h")
        return KnownPyconfig(content=content, origin=f"--pyconfig file {path}")
    if options.config_from:
        path = os.path.join(os.path.abspath(os.path.expanduser(options.config_from)), "pyconfig.h")
        hint = "run ./configure in that directory first, or give the file with --pyconfig"
        what, missing = (
            f"--config-from {options.config_from}",
            "no pyconfig.h there (is it a configured build directory?)",
        )
        content = _read(path, what, missing, hint, inside="pyconfig.h: ")
        return KnownPyconfig(content=content, origin=f"pyconfig.h of {path}")
    return None


MAX_PYCONFIG_BYTES = 4 << 20  # a real one is 50 kB


def _read(path: str, what: str, missing: str, hint: str, *, inside: str = "") -> bytes:
    """The bytes of a pyconfig.h given on the command line: a regular file (a FIFO or a device
    would block or never end), read within a bound; ``missing``: what to say when it is absent."""
    try:
        return files.read_regular(path, limit=MAX_PYCONFIG_BYTES)
    except files.UnreadableFile as exc:
        raise InputError(f"{what}: {missing if exc.missing else inside + exc.reason}", hint=hint) from exc


def pyconfig_from_template(text: bytes) -> bytes:
    """``PC/pyconfig.h`` from ``PC/pyconfig.h.in``: each ``@NAME@`` placeholder of the
    build system is replaced by what a default (GIL-enabled, release) build gets: ``0``
    for a flag, empty otherwise.  The commented-out ``Py_GIL_DISABLED`` stays commented."""

    def value(match: re.Match[bytes]) -> bytes:
        name = match.group(1).decode("ascii").upper()
        if name.startswith(("PY_", "WITH_", "HAVE_")) or "GIL" in name or "DEBUG" in name:
            return b"0"
        return b""

    return _PLACEHOLDER.sub(value, text)


def windows_pyconfig(root: str, commit: str, ref: str) -> KnownPyconfig:
    """The tree's ``PC/pyconfig.h``, or the one made from ``PC/pyconfig.h.in`` (3.13+)."""
    blobs = read_blobs(root, commit, ("PC/pyconfig.h", "PC/pyconfig.h.in"))
    header, template = blobs["PC/pyconfig.h"], blobs["PC/pyconfig.h.in"]
    if header is not None:
        return KnownPyconfig(content=header, origin=f"PC/pyconfig.h of {ref}")
    if template is not None:
        return KnownPyconfig(content=pyconfig_from_template(template), origin=f"PC/pyconfig.h.in of {ref}")
    raise BuildSpecError(
        f"{ref} has no PC/pyconfig.h nor PC/pyconfig.h.in: abidiff cannot read it for Windows",
        hint="give the pyconfig.h of a Windows build with --pyconfig",
    )


def write_pyconfig(content: bytes, dest_dir: str) -> str:
    """``dest_dir`` holding ``pyconfig.h`` alone: headers beside the file the user gave (an
    installed ``include/python3.X/``) never shadow the tree's own."""
    os.makedirs(dest_dir, exist_ok=True)
    with open(os.path.join(dest_dir, "pyconfig.h"), "wb") as out:
        out.write(content)
    return dest_dir


# --- cache keys ---------------------------------------------------------------------------


def _digest(material: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def snapshot_cache_key(
    commit: str,
    triple: str | None,
    pyconfig_sha256: str,
    *,
    binaries: bool = False,
    defines: Sequence[str] = (),
    library_key: str | None = None,
    dwarf: bool = False,
) -> str:
    """The cache key of a git-ref snapshot: sha256 over commit, target triple, the content
    hash of pyconfig.h, the snapshot schema version, whether binaries were built (and the
    key of the libpython build they come from, and whether their DWARF was checked)."""
    from abidiff.fingerprint import reader_fingerprint
    from abidiff.snapshot import SCHEMA_VERSION

    material: dict[str, object] = {
        "kind": "gitref",
        "reader": reader_fingerprint(),
        "commit": commit,
        "target": triple or host_triple(),
        "pyconfig_sha256": pyconfig_sha256,
        "schema_version": SCHEMA_VERSION,
        "binaries": binaries,
        "defines": sorted(defines),
    }
    if library_key is not None:
        material["library"] = library_key
    if dwarf:  # only then: the keys of every other snapshot stay what they were
        material["dwarf"] = True
    return _digest(material)


def configure_key(commit: str, *, args: Sequence[str] = CONFIGURE_ARGS) -> str:
    """The key of a ``./configure`` run of ``commit`` on this machine (cached per commit)."""
    material = {
        "kind": "configure",
        "format": _CONFIGURE_FORMAT,
        "commit": commit,
        "host": host_triple(),
        "cc": os.environ.get("CC", ""),
        "args": list(args),
    }
    return _digest(material)


def libpython_key(commit: str, *, args: Sequence[str] = CONFIGURE_ARGS) -> str:
    """The key of a libpython built from ``commit`` (configure arguments, compiler, host)."""
    return _digest({"kind": "libpython", "configure": configure_key(commit, args=args)})
