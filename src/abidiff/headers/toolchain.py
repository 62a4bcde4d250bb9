"""What libclang needs from the machine: the compiler's builtin header directories.

The PyPI ``libclang`` wheel ships no builtin headers (``stddef.h``, ``limits.h``...), so we
take the include search path of a real C compiler (``cc -E -x c - -v``) and pass it with
``-nostdinc``: the parse sees exactly what that compiler would see.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass

from abidiff.errors import ToolchainError

_CANDIDATES = ("cc", "gcc", "clang")


@dataclass(frozen=True, slots=True, kw_only=True)
class Toolchain:
    compiler: str
    system_include_dirs: tuple[str, ...]


def _search_path(compiler: str) -> tuple[str, ...] | None:
    try:
        proc = subprocess.run(
            [compiler, "-E", "-x", "c", "-", "-v"],
            input="",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    dirs: list[str] = []
    inside = False
    for line in proc.stderr.splitlines():
        if line.startswith("#include <...> search starts here"):
            inside = True
            continue
        if line.startswith("End of search list"):
            break
        if inside:
            path = line.strip().removesuffix(" (framework directory)")
            if os.path.isdir(path):
                dirs.append(os.path.normpath(path))
    return tuple(dirs) if dirs else None


@functools.cache
def host_toolchain() -> Toolchain:
    """The first working C compiler: ``$ABIDIFF_CC``, then cc, gcc, clang on PATH."""
    wanted = os.environ.get("ABIDIFF_CC")
    candidates = (wanted,) if wanted else _CANDIDATES
    tried = []
    for name in candidates:
        path = shutil.which(name)
        if path is None:
            tried.append(f"{name} (not on PATH)")
            continue
        dirs = _search_path(path)
        if dirs is None:
            tried.append(f"{path} (gave no include search path)")
            continue
        return Toolchain(compiler=path, system_include_dirs=dirs)
    raise ToolchainError(
        "no C compiler to provide the builtin headers (stddef.h, limits.h...) that libclang needs; "
        "tried " + ", ".join(tried),
        hint="install one (Debian: apt-get install gcc) or set ABIDIFF_CC to a C compiler",
    )
