"""The version of a header tree, read from ``patchlevel.h`` before anything is parsed.

We need the version first: it decides which ``Py_LIMITED_API`` levels to parse.  The file
is a list of plain ``#define``s, read here without a compiler.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass

from abidiff.errors import BuildSpecError
from abidiff.model import ReleaseLevel

_LEVELS = {
    "PY_RELEASE_LEVEL_ALPHA": ReleaseLevel.ALPHA,
    "PY_RELEASE_LEVEL_BETA": ReleaseLevel.BETA,
    "PY_RELEASE_LEVEL_GAMMA": ReleaseLevel.CANDIDATE,
    "PY_RELEASE_LEVEL_FINAL": ReleaseLevel.FINAL,
    "0xA": ReleaseLevel.ALPHA,
    "0xB": ReleaseLevel.BETA,
    "0xC": ReleaseLevel.CANDIDATE,
    "0xF": ReleaseLevel.FINAL,
}
_HEX_LEVEL = {ReleaseLevel.ALPHA: 0xA, ReleaseLevel.BETA: 0xB, ReleaseLevel.CANDIDATE: 0xC, ReleaseLevel.FINAL: 0xF}
# what PY_VERSION_HEX can hold (8 bits each, 4 for the serial), and no more feature releases
# than are plausible: each 3.x is one Py_LIMITED_API level to parse (3.100000 would be 99,999)
MAX_MAJOR = 9
MAX_MINOR = 99
MAX_MICRO = 255
MAX_SERIAL = 15
MAX_BYTES = 1024 * 1024  # CPython's patchlevel.h: ~1.5 kB
_DEFINE = re.compile(r"^\s*#\s*define\s+(PY_\w+)\s+(.+?)\s*(?:/\*.*)?$", re.MULTILINE)


@dataclass(frozen=True, slots=True, kw_only=True)
class PatchLevel:
    major: int
    minor: int
    micro: int
    level: ReleaseLevel
    serial: int
    version: str

    @property
    def feature(self) -> str:
        return f"{self.major}.{self.minor}"

    @property
    def hexversion(self) -> int:
        return (self.major << 24) | (self.minor << 16) | (self.micro << 8) | (_HEX_LEVEL[self.level] << 4) | self.serial


def read_patchlevel(include_dir: str) -> PatchLevel:
    """The version ``patchlevel.h`` defines; :class:`BuildSpecError` when it is missing,
    unreadable, not a regular file, or defines no plausible CPython version."""
    path = os.path.join(include_dir, "patchlevel.h")
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise BuildSpecError(
                f"{include_dir}/patchlevel.h is not a regular file",
                hint="give the include directory of a CPython build (the one that holds Python.h)",
            )
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise BuildSpecError(
            f"{include_dir} has no readable patchlevel.h ({exc.strerror})",
            hint="give the include directory of a CPython build (the one that holds Python.h)",
        ) from exc
    if len(text) > MAX_BYTES:
        raise BuildSpecError(
            f"{path} is over {MAX_BYTES // 1024} kB: it is not CPython's patchlevel.h",
            hint="give the include directory of a CPython build",
        )
    values = {name: value.strip() for name, value in _DEFINE.findall(text)}
    try:
        major = int(values["PY_MAJOR_VERSION"], 0)
        minor = int(values["PY_MINOR_VERSION"], 0)
        micro = int(values["PY_MICRO_VERSION"], 0)
        level = _LEVELS[values["PY_RELEASE_LEVEL"]]
        serial = int(values["PY_RELEASE_SERIAL"], 0)
    except (KeyError, ValueError) as exc:
        raise BuildSpecError(
            f"{path} does not define the CPython version (PY_MAJOR_VERSION ... PY_RELEASE_SERIAL)",
            hint="give the include directory of a CPython build",
        ) from exc
    for name, value, highest in (
        ("PY_MAJOR_VERSION", major, MAX_MAJOR),
        ("PY_MINOR_VERSION", minor, MAX_MINOR),
        ("PY_MICRO_VERSION", micro, MAX_MICRO),
        ("PY_RELEASE_SERIAL", serial, MAX_SERIAL),
    ):
        if not 0 <= value <= highest:
            raise BuildSpecError(
                f"{path} defines {name} {value}, which no CPython has (0 to {highest})",
                hint="give the include directory of a CPython build",
            )
    version = values.get("PY_VERSION", "").strip('"') or f"{major}.{minor}.{micro}"
    if len(version) > 40 or not version.isprintable() or not version.startswith(f"{major}.{minor}."):
        version = f"{major}.{minor}.{micro}"  # a PY_VERSION that does not say the numbers above
    return PatchLevel(major=major, minor=minor, micro=micro, level=level, serial=serial, version=version)
