"""How the user asked a build to be read: the options shared by every command taking a BUILD."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildOptions:
    repo: str | None = None  # --repo DIR: the CPython repository of git-ref build specs
    pyconfig: str | None = None  # --pyconfig FILE: the pyconfig.h of a source tree (both sides)
    config_from: str | None = None  # --config-from DIR: a configured build directory's pyconfig.h
    target: str | None = None  # --target windows | a clang triple
    build_binaries: bool = False  # --build: also compile libpython at each git ref
    libs: tuple[str, ...] = ()  # --lib FILE: add or override a binary of the build
    cache_dir: str | None = None  # --cache-dir / $ABIDIFF_CACHE_DIR; None: the user cache dir
    use_cache: bool = True  # --no-cache: neither read nor write the snapshot cache
    dwarf: bool = False  # --dwarf: cross-check header layouts with the binaries' DWARF
