"""``limited_since`` against an independent truth: gcc's preprocessor at each level.

For each ``Py_LIMITED_API`` level, ``gcc -E -dD`` of ``#include <Python.h>`` (and of the other
public headers, as an extension would include them) gives the tokens and ``#define`` lines a
limited-API user sees.  A C declaration must precede any use,
so the lowest level at which a name's token appears in the build's own headers is the level
that declares it (a tag counts where ``struct TAG`` appears, or one of its typedef names); for
a macro, the lowest level with its ``#define``.  libclang is not involved.
"""

from __future__ import annotations

import concurrent.futures
import functools
import os
import re
import subprocess
from collections.abc import Callable

import pytest

from abidiff.data import stable_abi
from abidiff.headers import limited_levels
from abidiff.headers.job import PREREQUISITES
from abidiff.headers.patchlevel import read_patchlevel
from abidiff.headers.tree import read_tree
from abidiff.model import Snapshot, Tier, limited_api_hex, version_key
from abidiff.sources import resolve
from tests.conftest import snapshot_cached
from tests.realbuilds import need_gcc, pyenv_python

pytestmark = pytest.mark.integration

_DEFINE = re.compile(r"^#define ([A-Za-z_]\w*)", re.MULTILINE)
_TOKEN = re.compile(r"[A-Za-z_]\w*")
_TAG = re.compile(r"\b(?:struct|union|enum)\s+([A-Za-z_]\w*)")
_LINEMARKER = re.compile(r'^# \d+ "([^"]*)"')


Seen = tuple[frozenset[str], frozenset[str], frozenset[str]]


@functools.cache
def seen_by_gcc(gcc: str, include_dir: str, config_dirs: tuple[str, ...], level: str, source: str) -> dict[bool, Seen]:
    """:func:`_preprocessed_by_reach` of ``source`` in the build's own tree at ``level``: one
    gcc run per build and level, shared with test_abi3_real.py."""
    includes = [f"-I{d}" for d in config_dirs] + [f"-I{include_dir}"]
    roots = [os.path.realpath(d) + os.sep for d in (include_dir, *config_dirs)]
    reached = _reached(include_dir, config_dirs)
    return _preprocessed_by_reach(gcc, includes, roots, level, source, os.path.realpath(include_dir) + os.sep, reached)


def seen_at_levels(
    gcc: str, include_dir: str, config_dirs: tuple[str, ...], levels: tuple[str, ...], source: str
) -> dict[str, dict[bool, Seen]]:
    """:func:`seen_by_gcc` at each of ``levels``, two gcc runs at a time."""

    def seen(level: str) -> dict[bool, Seen]:
        return seen_by_gcc(gcc, include_dir, config_dirs, level, source)

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(levels, pool.map(seen, levels), strict=True))


@functools.cache
def _reached(include_dir: str, config_dirs: tuple[str, ...]) -> frozenset[str]:
    return read_tree(include_dir, config_dirs).reached


def _preprocessed_by_reach(
    gcc: str, includes: list[str], roots: list[str], level: str, source: str, include_root: str, reached: frozenset[str]
) -> dict[bool, Seen]:
    """(identifiers, struct/union/enum tags, macros defined) that a user at ``level`` sees in
    the build's own headers, under True for the headers Python.h reaches (``reached``, names
    relative to ``include_root``; a name they declare is seen there first, whatever an extra
    header that does not parse at that level, as 3.7's ast.h, names), under False for all:
    gcc's line markers tell which file each line comes from, so what system headers declare
    (``struct timeval``) is not counted."""
    proc = subprocess.run(
        [gcc, "-E", "-dD", "-x", "c", "-std=gnu11", *includes, f"-DPy_LIMITED_API=0x{limited_api_hex(level):08X}", "-"],
        input=source,
        capture_output=True,
        text=True,
        check=True,
    )
    ours = inside = False
    where_of: dict[str, tuple[bool, bool]] = {}  # a line marker's file: (ours, inside)
    code: dict[bool, list[str]] = {True: [], False: []}
    defines: dict[bool, set[str]] = {True: set(), False: set()}
    for line in proc.stdout.splitlines():
        marker = _LINEMARKER.match(line) if line.startswith("# ") else None
        if marker:
            name = marker.group(1)
            if name not in where_of:
                path = os.path.realpath(name)
                root = next((root for root in roots if path.startswith(root)), None)
                mine = root is not None
                where_of[name] = (mine, mine and (root != include_root or path[len(root) :] in reached))
            ours, inside = where_of[name]
            continue
        if not ours:
            continue
        if line.startswith("#define"):
            names = _DEFINE.findall(line)
            defines[False].update(names)
            if inside:
                defines[True].update(names)
        elif not line.startswith("#"):
            code[False].append(line)
            if inside:
                code[True].append(line)
    seen = {}
    for where in (True, False):
        text = "\n".join(code[where])
        tags = frozenset(_TAG.findall(text))
        plain = frozenset(_TOKEN.findall(_TAG.sub(" ", text)))  # identifiers that are not a tag
        seen[where] = (plain, tags, frozenset(defines[where]))
    return seen


def _source(snapshot: Snapshot, include_dir: str, config_dirs: tuple[str, ...]) -> str:
    """``#include <Python.h>``, then the other public headers the snapshot read (as an
    extension would include them), each after what it needs."""
    not_read = {warning.split(" was not read:")[0] for warning in snapshot.warnings if " was not read:" in warning}
    lines = ["#include <Python.h>"]
    for header in read_tree(include_dir, config_dirs).extra:
        if header not in not_read:
            lines += [f"#include <{needed}>" for needed in PREREQUISITES.get(header, ())] + [f"#include <{header}>"]
    return "\n".join(lines) + "\n"


def _truth(
    snapshot: Snapshot, gcc: str, include_dir: str, config_dirs: tuple[str, ...], source: str, reached: frozenset[str]
) -> dict[tuple[str, str], str | None]:
    seen: dict[tuple[str, str], str | None] = {}
    levels = list(snapshot.limited_levels)
    per_level = seen_at_levels(gcc, include_dir, config_dirs, tuple(levels), source)

    def first_level(header: str, test: Callable[..., bool]) -> str | None:
        inside = header in reached or header == "pyconfig.h"
        return next((level for level in levels if test(*per_level[level][inside])), None)

    for record in snapshot.records:
        if record.name.startswith(("struct ", "union ")):
            tag = record.name.split(" ", 1)[1]
            # a struct is usable from the first level that names its tag or one of its typedefs
            seen[("records", record.name)] = first_level(
                record.header,
                lambda plain, tags, _d, tag=tag, aliases=record.aliases: (
                    tag in tags or any(a in plain for a in aliases)
                ),
            )
        else:  # an anonymous struct known by its typedef
            seen[("records", record.name)] = first_level(
                record.header, lambda plain, _t, _d, name=record.name: name in plain
            )
    for kind in ("functions", "variables", "typedefs"):
        for entity in getattr(snapshot, kind):
            seen[(kind, entity.name)] = first_level(
                entity.header, lambda plain, _t, _d, name=entity.name: name in plain
            )
    for macro in snapshot.macros:
        seen[("macros", macro.name)] = first_level(
            macro.header, lambda _p, _t, defines, name=macro.name: name in defines
        )
    config = {
        (kind, entity.name)
        for kind in ("records", "functions", "variables", "typedefs", "macros")
        for entity in getattr(snapshot, kind)
        if entity.header == "pyconfig.h"
    }
    return {key: value for key, value in seen.items() if key not in config}


@pytest.mark.parametrize("version", ["3.13.0", "3.12.1", "3.11.7", "3.10.13", "3.9.18", "3.8.18", "3.7.16"])
def test_limited_since_agrees_with_gcc(version: str) -> None:
    gcc = need_gcc()
    spec = pyenv_python(version)
    resolved = resolve(spec)
    snapshot = snapshot_cached(spec)
    assert resolved.include_dir is not None
    assert snapshot.limited_levels == limited_levels(read_patchlevel(resolved.include_dir))
    assert snapshot.limited_levels[0] == "3.2" and snapshot.limited_levels[-1] == snapshot.build.feature_version
    tree = read_tree(resolved.include_dir, resolved.config_dirs)
    source = _source(snapshot, resolved.include_dir, resolved.config_dirs)
    truth = _truth(snapshot, gcc, resolved.include_dir, resolved.config_dirs, source, tree.reached)
    by_key = {
        (kind, e.name): e
        for kind in ("records", "functions", "variables", "typedefs", "macros")
        for e in getattr(snapshot, kind)
    }
    # the limited API is what Python.h shows; of a header it does not include (structmember.h,
    # py_curses.h), only what CPython's stable-ABI manifest names, however visible
    reached = tree.reached
    stable = {entry.name for entry in stable_abi().entries}
    for key in list(truth):
        entity = by_key[key]
        names = {entity.name, entity.name.split(" ", 1)[-1], *getattr(entity, "aliases", ())}
        if entity.header not in reached and not names & stable:
            truth[key] = None
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
