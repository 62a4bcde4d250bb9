"""A public header one build could not read (``pydtrace.h`` without its generated
``pydtrace_probes.h``): what it declares is unknown on that side, not absent.  Its
declarations are left out on both sides, so that none is reported removed or added, and one
change per such header says it was not compared."""

from __future__ import annotations

from dataclasses import replace
from typing import TypeVar

from abidiff.changes import Change, ChangeKind, EntityKind
from abidiff.model import Declared, Snapshot, Tier

_DECLARATIONS = ("records", "functions", "variables", "enums", "typedefs", "macros")
_D = TypeVar("_D", bound=Declared)


def comparable_parts(
    old: Snapshot, new: Snapshot, *, limited_only: bool = False
) -> tuple[Snapshot, Snapshot, list[Change]]:
    """``old`` and ``new`` without the declarations of the headers only one of them could
    read, and a change for each of those headers.

    ``limited_only`` (the abi3 audit): count only the declarations of the limited API, and
    say nothing of a header that has none (the audit lost nothing by not reading it)."""
    unread_old, unread_new = set(old.unread), set(new.unread)
    one_side = unread_old ^ unread_new
    if not one_side:
        return old, new, []
    changes = []
    for header in sorted(one_side):
        reader = new if header in unread_old else old
        count = sum(
            1
            for kind in _DECLARATIONS
            for item in getattr(reader, kind)
            if item.header == header and (not limited_only or item.limited_since is not None)
        )
        if limited_only and not count:
            continue
        facts: tuple[tuple[str, object], ...] = (("declarations", count),)
        changes.append(
            Change(
                kind=ChangeKind.HEADER_NOT_COMPARED,
                entity=header,
                entity_kind=EntityKind.HEADER,
                tier=Tier.PUBLIC,
                old="not read" if header in unread_old else "read",
                new="not read" if header in unread_new else "read",
                facts=(*facts, ("limited", True)) if limited_only else facts,
                header=header,
            )
        )
    return _without(old, one_side), _without(new, one_side), changes


def _without(snapshot: Snapshot, headers: set[str]) -> Snapshot:
    def kept(items: tuple[_D, ...]) -> tuple[_D, ...]:
        return tuple(item for item in items if item.header not in headers)

    return replace(
        snapshot,
        records=kept(snapshot.records),
        functions=kept(snapshot.functions),
        variables=kept(snapshot.variables),
        enums=kept(snapshot.enums),
        typedefs=kept(snapshot.typedefs),
        macros=kept(snapshot.macros),
    )
