"""Merge the scans of every configuration: the full API plus each ``Py_LIMITED_API`` level.

The full-API scan gives the declarations; the limited levels say which of them are in the
limited API and from which version (``limited_since``: the lowest level at which the name is
visible).  No limited level is walked whole: a declaration is visible at a level when one of
the places it is made (known from the detailed scans) lies in a header that level includes,
on a line its preprocessor kept.  The newest and oldest levels are read in detail where the
full API's preprocessor skipped (what only ``Py_LIMITED_API`` users see lives there); a
level that keeps code lines no detailed scan kept may declare something they do not know:
:func:`needs_detail` says so, and it is read in detail too.

A declaration visible only with ``Py_LIMITED_API`` defined (3.12's ``_Py_IncRef``) is taken
from the newest detailed level that declares it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import replace

from abidiff.headers.job import Scan
from abidiff.headers.tiers import CONFIG_HEADER, classify
from abidiff.model import Enum, Function, Macro, Record, Typedef, Variable, version_key

KINDS = ("records", "functions", "variables", "enums", "typedefs", "macros")

Entity = Record | Function | Variable | Enum | Typedef | Macro

_NOT_CODE = re.compile(r"^\s*(#.*|//.*|/\*.*|\*.*|)$")


def _tier_name(entity: Entity) -> str:
    """The name whose spelling decides the tier: a record's public typedef, else its name."""
    if isinstance(entity, (Record, Enum)):
        public = [alias for alias in entity.aliases if not alias.startswith("_")]
        if public:
            return public[0]
        return entity.name.split(" ", 1)[-1]
    return entity.name


@functools.lru_cache(maxsize=256)
def _lines(path: str) -> tuple[str, ...]:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return tuple(handle.read().splitlines())
    except OSError:
        return ()


def needs_detail(scan: Scan, full: Scan, detailed: list[Scan]) -> bool:
    """Whether ``scan`` keeps a line of code that neither the full API nor any detailed level
    keeps: then only a detailed scan of it can tell what that line declares."""
    for header in scan.included:
        path = scan.paths.get(header)
        text = _lines(path) if path else ()
        if header in full.included:
            candidates = (
                line
                for first, last in full.skipped.get(header, ())
                for line in range(first, last + 1)
                if scan.shows(header, line)
            )
        else:
            candidates = (line for line in range(1, len(text) + 1) if scan.shows(header, line))
        for line in candidates:
            if any(other.shows(header, line) for other in detailed):
                continue
            if line - 1 < len(text) and not _NOT_CODE.match(text[line - 1]):
                return True
    return False


Places = dict[str, tuple[tuple[tuple[str, int], ...], tuple[tuple[str, int], ...]]]


def places_of(kind: str, detailed: list[Scan]) -> Places:
    """name -> (every place it is declared, every place it is defined) over the detailed scans."""
    declared: dict[str, set[tuple[str, int]]] = {}
    defined: dict[str, set[tuple[str, int]]] = {}
    for source in detailed:
        for name, places in source.where.get(kind, {}).items():
            declared.setdefault(name, set()).update(places)
        if kind == "records":
            for name, definition in source.defined_at.items():
                defined.setdefault(name, set()).add(definition)
    return {name: (tuple(places), tuple(defined.get(name, ()))) for name, places in declared.items()}


def visible_names(scan: Scan, kind: str, places: Places) -> dict[str, bool]:
    """The names of one kind a limited level shows; for records, whether it shows their
    layout (a definition of theirs)."""
    shows = scan.shows
    return {
        name: any(shows(*definition) for definition in definitions)
        for name, (declarations, definitions) in places.items()
        if any(shows(*place) for place in declarations)
    }


def _names(entity: Entity) -> set[str]:
    names = {entity.name, entity.name.split(" ", 1)[-1]}
    if isinstance(entity, (Record, Enum)):
        names.update(entity.aliases)
    return names


def combine(
    full: Scan, limited: list[Scan], *, outside: frozenset[str] = frozenset(), stable: frozenset[str] = frozenset()
) -> dict[str, tuple[Entity, ...]]:
    """Tuples of tier-tagged, sorted model values for each kind of declaration.

    ``outside`` are the headers ``Python.h`` does not reach (``py_curses.h``, ``opcode.h``):
    what they declare is in the limited API only when the stable-ABI manifest names it
    (``stable``: 3.11's ``PyMemberDef`` of ``structmember.h``), however visible it is with
    ``Py_LIMITED_API`` defined (the limited API is what ``Python.h`` shows, and the manifest).
    """
    levels = sorted(limited, key=lambda scan: version_key(scan.limited or "0"))
    detailed = [full, *(scan for scan in levels if scan.detailed)]
    since: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
    layout_since: dict[str, str] = {}
    for kind in KINDS:
        places = places_of(kind, detailed)
        for scan in levels:
            assert scan.limited is not None
            for name, complete in visible_names(scan, kind, places).items():
                since[kind].setdefault(name, scan.limited)
                if kind == "records" and complete:
                    layout_since.setdefault(name, scan.limited)
    out: dict[str, tuple[Entity, ...]] = {}
    for kind in KINDS:
        merged: dict[str, Entity] = dict(getattr(full, kind))
        for scan in reversed(levels):  # declared only with Py_LIMITED_API: the newest level's
            for name, entity in getattr(scan, kind).items():
                merged.setdefault(name, entity)
        finished = []
        for name in sorted(merged):
            entity = merged[name]
            limited_since = since[kind].get(name)
            if isinstance(entity, Record):
                # a struct is usable by its typedef even where no declaration of the tag
                # itself stands at file scope (3.8's PyTypeObject: "struct _typeobject" is
                # first met inside PyObject)
                levels_seen = [limited_since] + [since["typedefs"].get(alias) for alias in entity.aliases]
                known = [level for level in levels_seen if level is not None]
                limited_since = min(known, key=version_key) if known else None
            if entity.header == CONFIG_HEADER:
                limited_since = None
            elif entity.header in outside and not _names(entity) & stable:
                limited_since = None
            tier = classify(_tier_name(entity), entity.header, limited_since)
            updated: Entity = replace(entity, tier=tier, limited_since=limited_since)
            if isinstance(updated, Record) and limited_since is not None:
                updated = replace(updated, limited_layout_since=layout_since.get(name))
            finished.append(updated)
        out[kind] = tuple(finished)
    return out
