"""``limited_since`` against an independent truth: gcc's preprocessor at each level.

For each ``Py_LIMITED_API`` level, ``gcc -E -dD`` of ``#include <Python.h>`` gives the
tokens and ``#define`` lines a limited-API user sees.  A C declaration must precede any use,
so the lowest level at which a name's token appears is the level that declares it; for a
macro, the lowest level with its ``#define``.  libclang is not involved.
"""

from __future__ import annotations

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


def _preprocessed(gcc: str, includes: list[str], level: str) -> tuple[set[str], set[str]]:
    """(identifiers in the code, macros defined) that a user at ``level`` sees."""
    proc = subprocess.run(
        [
            gcc,
            "-E",
            "-dD",
            "-P",
            "-x",
            "c",
            "-std=gnu11",
            *includes,
            f"-DPy_LIMITED_API=0x{limited_api_hex(level):08X}",
            "-",
        ],
        input="#include <Python.h>\n",
        capture_output=True,
        text=True,
        check=True,
    )
    code_lines = [line for line in proc.stdout.splitlines() if not line.startswith("#")]
    return set(_TOKEN.findall("\n".join(code_lines))), set(_DEFINE.findall(proc.stdout))


def _bare(name: str) -> str:
    return name.split(" ", 1)[1] if name.startswith(("struct ", "union ", "enum ")) else name


def _truth(snapshot: Snapshot, gcc: str, includes: list[str]) -> dict[tuple[str, str], str | None]:
    seen: dict[tuple[str, str], str | None] = {}
    levels = list(snapshot.limited_levels)
    per_level = {level: _preprocessed(gcc, includes, level) for level in levels}
    kinds = {
        "records": snapshot.records,
        "functions": snapshot.functions,
        "variables": snapshot.variables,
        "typedefs": snapshot.typedefs,
        "macros": snapshot.macros,
    }
    for kind, entities in kinds.items():
        for entity in entities:
            if entity.header == "pyconfig.h":
                continue
            name = _bare(entity.name)
            first = None
            for level in levels:
                tokens, defines = per_level[level]
                if (name in defines) if kind == "macros" else (name in tokens):
                    first = level
                    break
            seen[(kind, entity.name)] = first
    return seen


def test_limited_since_agrees_with_gcc_for_3_13() -> None:
    gcc = need_gcc()
    spec = pyenv_python("3.13.0")
    resolved = resolve(spec)
    snapshot = snapshot_cached(spec)
    assert resolved.include_dir is not None
    assert snapshot.limited_levels == limited_levels(read_patchlevel(resolved.include_dir))
    assert snapshot.limited_levels[0] == "3.2" and snapshot.limited_levels[-1] == "3.13"
    includes = [f"-I{d}" for d in resolved.config_dirs] + [f"-I{resolved.include_dir}"]
    truth = _truth(snapshot, gcc, includes)
    by_key = {
        (kind, e.name): e
        for kind in ("records", "functions", "variables", "typedefs", "macros")
        for e in getattr(snapshot, kind)
    }
    limited = [key for key, entity in by_key.items() if entity.limited_since is not None]
    assert len(limited) > 1000, "the 3.13 limited API has over a thousand declarations"
    wrong = []
    for key, first in sorted(truth.items()):
        entity = by_key[key]
        if entity.limited_since != first:
            wrong.append(f"{key[0]} {key[1]}: snapshot {entity.limited_since}, gcc -E {first}")
        if first is not None and entity.tier not in (Tier.LIMITED, Tier.UNSTABLE):
            wrong.append(f"{key[0]} {key[1]}: visible at {first} but tier {entity.tier}")
    assert wrong == [], "\n".join(wrong[:60])
    # a few levels really differ: 3.13 added to the limited API
    assert any(version_key(e) > (3, 12) for e in (by_key[k].limited_since or "0" for k in limited))
