"""``limited_since`` against an independent truth: gcc's preprocessor at each level.

For each ``Py_LIMITED_API`` level, ``gcc -E -dD`` of ``#include <Python.h>`` gives the
tokens and ``#define`` lines a limited-API user sees.  A C declaration must precede any use,
so the lowest level at which a name's token appears in the build's own headers is the level
that declares it (a tag counts where ``struct TAG`` appears, or one of its typedef names); for
a macro, the lowest level with its ``#define``.  libclang is not involved.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from abidiff.headers import limited_levels
from abidiff.headers.patchlevel import read_patchlevel
from abidiff.model import Snapshot, Tier, limited_api_hex, version_key
from abidiff.sources import resolve
from tests.conftest import snapshot_cached
from tests.realbuilds import need_gcc, pyenv_python

pytestmark = pytest.mark.integration

_DEFINE = re.compile(r"^#define ([A-Za-z_]\w*)", re.MULTILINE)
_TOKEN = re.compile(r"[A-Za-z_]\w*")
_TAG = re.compile(r"\b(?:struct|union|enum)\s+([A-Za-z_]\w*)")
_LINEMARKER = re.compile(r'^# \d+ "([^"]*)"')


def _preprocessed(gcc: str, includes: list[str], roots: list[str], level: str) -> tuple[set[str], set[str], set[str]]:
    """(identifiers, struct/union/enum tags, macros defined) that a user at ``level`` sees in
    the build's own headers: gcc's line markers tell which file each line comes from, so
    what system headers declare (``struct timeval``) is not counted."""
    proc = subprocess.run(
        [gcc, "-E", "-dD", "-x", "c", "-std=gnu11", *includes, f"-DPy_LIMITED_API=0x{limited_api_hex(level):08X}", "-"],
        input="#include <Python.h>\n",
        capture_output=True,
        text=True,
        check=True,
    )
    ours = False
    code: list[str] = []
    defines: set[str] = set()
    for line in proc.stdout.splitlines():
        marker = _LINEMARKER.match(line)
        if marker:
            path = os.path.realpath(marker.group(1))
            ours = any(path.startswith(root) for root in roots)
            continue
        if not ours:
            continue
        if line.startswith("#define"):
            defines.update(_DEFINE.findall(line))
        elif not line.startswith("#"):
            code.append(line)
    text = "\n".join(code)
    tags = set(_TAG.findall(text))
    plain = set(_TOKEN.findall(_TAG.sub(" ", text)))  # identifiers that are not a tag
    return plain, tags, defines


def _truth(snapshot: Snapshot, gcc: str, includes: list[str], roots: list[str]) -> dict[tuple[str, str], str | None]:
    seen: dict[tuple[str, str], str | None] = {}
    levels = list(snapshot.limited_levels)
    per_level = {level: _preprocessed(gcc, includes, roots, level) for level in levels}

    def first_level(test) -> str | None:  # type: ignore[no-untyped-def]
        return next((level for level in levels if test(*per_level[level])), None)

    for record in snapshot.records:
        if record.name.startswith(("struct ", "union ")):
            tag = record.name.split(" ", 1)[1]
            # a struct is usable from the first level that names its tag or one of its typedefs
            seen[("records", record.name)] = first_level(
                lambda plain, tags, _d, tag=tag, aliases=record.aliases: tag in tags or any(a in plain for a in aliases)
            )
        else:  # an anonymous struct known by its typedef
            seen[("records", record.name)] = first_level(lambda plain, _t, _d, name=record.name: name in plain)
    for kind in ("functions", "variables", "typedefs"):
        for entity in getattr(snapshot, kind):
            seen[(kind, entity.name)] = first_level(lambda plain, _t, _d, name=entity.name: name in plain)
    for macro in snapshot.macros:
        seen[("macros", macro.name)] = first_level(lambda _p, _t, defines, name=macro.name: name in defines)
    return {key: value for key, value in seen.items() if not _is_config(snapshot, key)}


def _is_config(snapshot: Snapshot, key: tuple[str, str]) -> bool:
    kind, name = key
    return any(entity.name == name and entity.header == "pyconfig.h" for entity in getattr(snapshot, kind))


@pytest.mark.parametrize("version", ["3.13.0", "3.12.1", "3.11.7", "3.10.13", "3.9.18", "3.8.18", "3.7.16"])
def test_limited_since_agrees_with_gcc(version: str) -> None:
    gcc = need_gcc()
    spec = pyenv_python(version)
    resolved = resolve(spec)
    snapshot = snapshot_cached(spec)
    assert resolved.include_dir is not None
    assert snapshot.limited_levels == limited_levels(read_patchlevel(resolved.include_dir))
    assert snapshot.limited_levels[0] == "3.2" and snapshot.limited_levels[-1] == snapshot.build.feature_version
    includes = [f"-I{d}" for d in resolved.config_dirs] + [f"-I{resolved.include_dir}"]
    roots = [os.path.realpath(d) + os.sep for d in (resolved.include_dir, *resolved.config_dirs)]
    truth = _truth(snapshot, gcc, includes, roots)
    by_key = {
        (kind, e.name): e
        for kind in ("records", "functions", "variables", "typedefs", "macros")
        for e in getattr(snapshot, kind)
    }
    limited = [key for key, entity in by_key.items() if entity.limited_since is not None]
    assert len(limited) > 1000, "the limited API has over a thousand declarations"
    wrong = []
    for key, first in sorted(truth.items()):
        entity = by_key[key]
        if entity.limited_since != first:
            wrong.append(f"{key[0]} {key[1]}: snapshot {entity.limited_since}, gcc -E {first}")
        if first is not None and entity.tier not in (Tier.LIMITED, Tier.UNSTABLE):
            wrong.append(f"{key[0]} {key[1]}: visible at {first} but tier {entity.tier}")
    assert wrong == [], "\n".join(wrong[:60])
    # the newest level really differs: each feature release added to the limited API
    newest = version_key(snapshot.build.feature_version)
    assert any(version_key(by_key[k].limited_since or "0") == newest for k in limited)
