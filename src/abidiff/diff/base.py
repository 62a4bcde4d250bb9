"""PEP 605's feature base: what the last feature release (``X.(Y-1).0`` for pre-releases of
``X.Y``) says of each changed entity.

- **provisional**: absent from the feature base and not in the limited API ("all APIs added
  since the last CPython feature release (other than additions to the stable C ABI) would be
  considered provisional"); a field change is provisional when its record is, or when the
  field is new since the base and the change neither moves another field nor resizes the
  record;
- **deprecated**: a removal of what the feature base marks ``Py_DEPRECATED`` (a field's
  removal only when nothing else moves and the record keeps its size).

Pure: the judge (:mod:`abidiff.rules.judge`) decides what that means for severity.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from abidiff.changes import Base, Change, ChangeKind, EntityKind
from abidiff.diff.common import enum_label, exports_of, flatten
from abidiff.diff.records import match_records
from abidiff.model import Field, Function, Record, Snapshot, Tier, Typedef, Variable

_REMOVALS = frozenset(
    {
        ChangeKind.FUNCTION_REMOVED,
        ChangeKind.FUNCTION_INLINED_UNEXPORTED,
        ChangeKind.VARIABLE_REMOVED,
        ChangeKind.FIELD_REMOVED,
        ChangeKind.RECORD_REMOVED,
        ChangeKind.API_REMOVED,
        ChangeKind.ENUM_REMOVED,
        ChangeKind.ENUMERATOR_REMOVED,
        ChangeKind.EXPORT_REMOVED,
        ChangeKind.TYPEDEF_REMOVED,
    }
)
# never exempt: the stable ABI, the builds themselves, the limited API's guards
_NEVER = frozenset(
    {
        ChangeKind.BUILD_MISMATCH,
        ChangeKind.CONFIG_MACRO_CHANGED,
        ChangeKind.LIMITED_REMOVED,
        ChangeKind.LIMITED_REMOVED_UNEXPORTED,
        ChangeKind.LIMITED_SINCE_EARLIER,
        ChangeKind.LIMITED_UNGUARDED,
    }
)


class _Index:
    """The names the feature base declares or exports, and which it marks deprecated."""

    def __init__(self, base: Snapshot) -> None:
        self.records: dict[str, Record] = {}
        for record in base.records:
            for name in (record.name, record.display_name, *record.aliases):
                self.records.setdefault(name, record)
        self.names: set[str] = set(self.records)
        self.deprecated: set[str] = set()
        declared: list[Function | Variable | Typedef] = [*base.functions, *base.variables, *base.typedefs]
        for item in declared:
            self.names.add(item.name)
            if item.deprecated:
                self.deprecated.add(item.name)
        self.deprecated |= {name for name, record in self.records.items() if record.deprecated}
        self.names |= {macro.name for macro in base.macros}
        self.names |= {enum_label(enum_) for enum_ in base.enums}
        self.enumerators = {item.name for enum_ in base.enums for item in enum_.enumerators}
        self.names |= set(exports_of(base.binaries) or ())

    def fields(self, record: str) -> dict[str, Field] | None:
        found = self.records.get(record)
        return None if found is None else dict(flatten(found.fields))


def _resized(old: Snapshot, new: Snapshot) -> frozenset[str]:
    """Display names of the records whose size or alignment differs."""
    pairs, _gone, _added = match_records(old, new)
    return frozenset(a.display_name for a, b in pairs if (a.size, a.align) != (b.size, b.align))


def _field_status(change: Change, index: _Index, resized: frozenset[str]) -> Base | None:
    record = change.parent or change.entity.partition(".")[0]
    base_fields = index.fields(record)
    if base_fields is None:
        return Base.PROVISIONAL  # the record itself is new since the feature base
    if change.shifted or record in resized:
        return None  # other fields move or the record changes size: a break for everyone
    name = change.entity.partition(".")[2]
    if name not in base_fields:
        return Base.PROVISIONAL
    if change.kind == ChangeKind.FIELD_REMOVED and base_fields[name].deprecated:
        return Base.DEPRECATED
    return None


def status(change: Change, index: _Index, resized: frozenset[str]) -> Base | None:
    """What the feature base says of ``change`` (None: nothing that exempts it)."""
    if change.tier == Tier.LIMITED or change.kind in _NEVER:
        return None
    if change.entity_kind == EntityKind.FIELD:
        return _field_status(change, index, resized)
    if change.entity_kind == EntityKind.ENUMERATOR:
        return None if change.entity in index.enumerators else Base.PROVISIONAL
    if change.entity not in index.names:
        return Base.PROVISIONAL
    if change.kind in _REMOVALS and change.entity in index.deprecated:
        return Base.DEPRECATED
    return None


def mark(changes: Iterable[Change], old: Snapshot, new: Snapshot, base: Snapshot) -> list[Change]:
    """``changes`` with :attr:`Change.base` set where the feature base exempts them."""
    index = _Index(base)
    resized = _resized(old, new)
    marked = []
    for change in changes:
        found = status(change, index, resized)
        marked.append(replace(change, base=found) if found is not None else change)
    return marked
