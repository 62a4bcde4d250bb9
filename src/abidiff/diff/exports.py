"""The exported symbols of the binaries: removed, added, data that changed size, and
stable-ABI exports that left the stable-ABI library."""

from __future__ import annotations

from collections.abc import Mapping

from abidiff.changes import Change, ChangeKind, EntityKind, Export
from abidiff.diff.common import tier_of_name
from abidiff.model import Snapshot, SymbolKind, Tier


def export_tier(name: str, declared: Mapping[str, Tier], export: Export, stable: frozenset[str]) -> Tier:
    """The tier of an export: the stable-ABI library's and the stable ABI manifest's are
    limited (3.8's ``PyCFunction_New``, a macro in the headers, exported for abi3
    extensions); a declared one has the tier of its declaration; one that no public header
    declares (3.12's ``PySymtable_Lookup``, declared only in ``Include/internal/``) promises
    nothing, whatever its spelling; with no headers to tell, the spelling decides."""
    if export.stable or name in stable:
        return Tier.LIMITED
    if name in declared:
        return declared[name]
    if declared:
        return Tier.PRIVATE
    return tier_of_name(name)


def _export_change(kind: ChangeKind, name: str, tier: Tier, old: Export | None, new: Export | None) -> Change:
    return Change(kind=kind, entity=name, entity_kind=EntityKind.SYMBOL, tier=tier, old=old, new=new)


def _not_api(name: str) -> bool:
    """``PyInit_*``: the init function of a module linked into libpython (Debian links
    some): no extension imports it, and builds of one release differ in which they link."""
    return name.startswith("PyInit_")


def diff_exports(
    old: Snapshot,
    before: Mapping[str, Export],
    after: Mapping[str, Export],
    spoken: set[str],
    stable: frozenset[str] = frozenset(),
) -> list[Change]:
    """Changes of the exports not already reported at a declaration (``spoken``); ``stable``:
    the names the stable ABI manifest promises."""
    declared: dict[str, Tier] = {function.name: function.tier for function in old.functions}
    declared.update((variable.name, variable.tier) for variable in old.variables)
    changes: list[Change] = []
    for name, a in before.items():
        b = after.get(name)
        if name in spoken or _not_api(name):
            continue
        if b is None:
            changes.append(
                _export_change(ChangeKind.EXPORT_REMOVED, name, export_tier(name, declared, a, stable), a, None)
            )
        elif a.stable and not b.stable:
            changes.append(_export_change(ChangeKind.EXPORT_REMOVED, name, Tier.LIMITED, a, b))
        elif a.kind == SymbolKind.DATA and a.size is not None and b.size is not None and a.size != b.size:
            changes.append(
                _export_change(ChangeKind.EXPORT_SIZE_CHANGED, name, export_tier(name, declared, a, stable), a, b)
            )
    for name, b in after.items():
        if name not in before and not _not_api(name):
            tier = Tier.LIMITED if b.stable else tier_of_name(name)
            changes.append(_export_change(ChangeKind.EXPORT_ADDED, name, tier, None, b))
    return changes
