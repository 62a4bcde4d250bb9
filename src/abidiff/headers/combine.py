"""Merge the scans of every configuration: the full API plus each ``Py_LIMITED_API`` level.

The full-API scan gives the declarations; the limited scans say which of them are in the
limited API and from which version (``limited_since``: the lowest level at which the name is
visible).  A declaration visible only with ``Py_LIMITED_API`` defined (3.12's ``_Py_IncRef``)
is taken from the highest level that declares it.
"""

from __future__ import annotations

from dataclasses import replace

from abidiff.headers.parse import Scan
from abidiff.headers.tiers import CONFIG_HEADER, classify
from abidiff.model import Enum, Function, Macro, Record, Typedef, Variable, version_key

KINDS = ("records", "functions", "variables", "enums", "typedefs", "macros")

Entity = Record | Function | Variable | Enum | Typedef | Macro


def _tier_name(entity: Entity) -> str:
    """The name whose spelling decides the tier: a record's public typedef, else its name."""
    if isinstance(entity, (Record, Enum)):
        public = [alias for alias in entity.aliases if not alias.startswith("_")]
        if public:
            return public[0]
        return entity.name.split(" ", 1)[-1]
    return entity.name


def missing_details(full: Scan, limited: list[Scan]) -> dict[str, set[str]]:
    """Names declared only at some limited level whose details no detailed scan holds, by
    the newest level that declares them: those levels must be scanned again in detail."""
    wanted: dict[str, set[str]] = {}
    for kind in KINDS:
        have = set(getattr(full, kind))
        for scan in limited:
            have |= set(getattr(scan, kind))
        newest: dict[str, str] = {}
        for scan in sorted(limited, key=lambda s: version_key(s.limited or "0")):
            for name in scan.names(kind):
                if name not in have:
                    newest[name] = scan.limited or ""
        for name, level in newest.items():
            wanted.setdefault(level, set()).add(f"{kind}:{name}")
    return wanted


def combine(full: Scan, limited: list[Scan]) -> dict[str, tuple[Entity, ...]]:
    """Tuples of tier-tagged, sorted model values for each kind of declaration."""
    levels = sorted(limited, key=lambda scan: version_key(scan.limited or "0"))
    out: dict[str, tuple[Entity, ...]] = {}
    for kind in KINDS:
        merged: dict[str, Entity] = dict(getattr(full, kind))
        since: dict[str, str] = {}
        layout_since: dict[str, str] = {}
        for scan in levels:
            assert scan.limited is not None
            for name, complete in scan.names(kind).items():
                since.setdefault(name, scan.limited)
                if kind == "records" and complete:
                    layout_since.setdefault(name, scan.limited)
        for scan in reversed(levels):  # declared only with Py_LIMITED_API: the newest level's
            for name, entity in getattr(scan, kind).items():
                merged.setdefault(name, entity)
        finished = []
        for name in sorted(merged):
            entity = merged[name]
            limited_since = since.get(name)
            if entity.header == CONFIG_HEADER:
                limited_since = None
            tier = classify(_tier_name(entity), entity.header, limited_since)
            updated: Entity = replace(entity, tier=tier, limited_since=limited_since)
            if isinstance(updated, Record) and limited_since is not None:
                updated = replace(updated, limited_layout_since=layout_since.get(name))
            finished.append(updated)
        out[kind] = tuple(finished)
    return out
