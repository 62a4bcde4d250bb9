"""The version of a header tree, read from ``patchlevel.h`` before anything is parsed.

We need the version first: it decides which ``Py_LIMITED_API`` levels to parse.  The file
is a list of plain ``#define``s, read here without a compiler.
"""

from __future__ import annotations

import os
import re
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
    path = os.path.join(include_dir, "patchlevel.h")
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError as exc:
        raise BuildSpecError(
            f"{include_dir} has no readable patchlevel.h ({exc.strerror})",
            hint="give the include directory of a CPython build (the one that holds Python.h)",
        ) from exc
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
    version = values.get("PY_VERSION", "").strip('"') or f"{major}.{minor}.{micro}"
    return PatchLevel(major=major, minor=minor, micro=micro, level=level, serial=serial, version=version)
