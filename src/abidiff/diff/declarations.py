"""Functions and exported data: removed (from the headers, the exports, or both), changed
signature or type, turned into a macro or a static inline function, added."""

from __future__ import annotations

from collections.abc import Mapping

from abidiff.changes import Change, ChangeKind, EntityKind, Export, Exports
from abidiff.diff.common import unqualified, value_type
from abidiff.model import Function, Snapshot, Tier, Variable


def export_state(name: str, new_exports: Mapping[str, Export] | None) -> Exports:
    if new_exports is None:
        return Exports.UNKNOWN
    return Exports.KEPT if name in new_exports else Exports.GONE


def _removal(
    kind: ChangeKind, entity_kind: EntityKind, old: Function | Variable, new_exports: Mapping[str, Export] | None
) -> Change:
    """A function or data removed from the headers: removed from the ABI unless still exported."""
    state = export_state(old.name, new_exports)
    return Change(
        kind=ChangeKind.DECLARATION_HIDDEN if state == Exports.KEPT else kind,
        entity=old.name,
        entity_kind=entity_kind,
        tier=old.tier,
        old=old,
        exports=state,
        header=old.header,
    )


def parameter_changes(a: Function, b: Function) -> list[int]:
    """1-based numbers of the parameters whose (unqualified) type differs."""
    return [
        number
        for number, (p, q) in enumerate(zip(a.params, b.params, strict=True), start=1)
        if unqualified(p.type.canonical) != unqualified(q.type.canonical)
    ]


def _signature_changes(a: Function, b: Function) -> list[Change]:
    def change(kind: ChangeKind) -> Change:
        return Change(
            kind=kind, entity=a.name, entity_kind=EntityKind.FUNCTION, tier=a.tier, old=a, new=b, header=b.header
        )

    changes = []
    qualifiers = a.returns.canonical != b.returns.canonical
    if unqualified(a.returns.canonical) != unqualified(b.returns.canonical):
        changes.append(change(ChangeKind.FUNCTION_RETURN_CHANGED))
        qualifiers = False
    if len(a.params) != len(b.params):
        changes.append(change(ChangeKind.FUNCTION_PARAM_COUNT_CHANGED))
    elif parameter_changes(a, b):
        changes.append(change(ChangeKind.FUNCTION_PARAM_TYPE_CHANGED))
    else:
        qualifiers = qualifiers or any(
            p.type.canonical != q.type.canonical for p, q in zip(a.params, b.params, strict=True)
        )
    if a.variadic != b.variadic:
        changes.append(change(ChangeKind.FUNCTION_VARIADIC_CHANGED))
    if qualifiers and not changes:
        changes.append(change(ChangeKind.FUNCTION_QUALIFIERS_CHANGED))
    return changes


def _became_inline(a: Function, b: Function | None, header: str, new_exports: Mapping[str, Export] | None) -> Change:
    """A function that became a macro (``b`` is None) or a static inline function."""
    state = export_state(a.name, new_exports)
    return Change(
        kind=ChangeKind.FUNCTION_INLINED_EXPORTED if state == Exports.KEPT else ChangeKind.FUNCTION_INLINED_UNEXPORTED,
        entity=a.name,
        entity_kind=EntityKind.FUNCTION,
        tier=a.tier,
        old=a,
        new=b,
        exports=state,
        header=header,
    )


def diff_functions(
    old: Snapshot, new: Snapshot, new_exports: Mapping[str, Export] | None
) -> tuple[list[Change], set[str]]:
    """Changes to functions, and the names whose export status they already reported."""
    before = {function.name: function for function in old.functions}
    after = {function.name: function for function in new.functions}
    macros = {macro.name: macro for macro in new.macros}
    changes: list[Change] = []
    spoken: set[str] = set()
    for name, a in before.items():
        b = after.get(name)
        if b is None and name not in macros:
            if a.inline:
                changes.append(
                    Change(
                        kind=ChangeKind.API_REMOVED,
                        entity=name,
                        entity_kind=EntityKind.FUNCTION,
                        tier=a.tier,
                        old=a,
                        header=a.header,
                    )
                )
            else:
                changes.append(_removal(ChangeKind.FUNCTION_REMOVED, EntityKind.FUNCTION, a, new_exports))
                spoken.add(name)
        elif a.inline:
            continue
        elif b is None or b.inline:
            changes.append(_became_inline(a, b, b.header if b is not None else macros[name].header, new_exports))
            spoken.add(name)
        else:
            changes += _signature_changes(a, b)
    for name, b in after.items():
        if name not in before and not b.inline:
            changes.append(
                Change(
                    kind=ChangeKind.DECLARATION_ADDED,
                    entity=name,
                    entity_kind=EntityKind.FUNCTION,
                    tier=b.tier,
                    new=b,
                    header=b.header,
                )
            )
    return changes, spoken


def diff_variables(
    old: Snapshot, new: Snapshot, new_exports: Mapping[str, Export] | None, changed_records: frozenset[str]
) -> tuple[list[Change], set[str]]:
    before = {variable.name: variable for variable in old.variables}
    after = {variable.name: variable for variable in new.variables}
    changes: list[Change] = []
    spoken: set[str] = set()
    for name, a in before.items():
        b = after.get(name)
        if b is None:
            changes.append(_removal(ChangeKind.VARIABLE_REMOVED, EntityKind.DATA, a, new_exports))
            spoken.add(name)
        elif unqualified(a.type.canonical) != unqualified(b.type.canonical) or (
            a.size is not None
            and b.size is not None
            and a.size != b.size
            and value_type(a.type.canonical) not in changed_records  # reported at the record
        ):
            changes.append(
                Change(
                    kind=ChangeKind.VARIABLE_TYPE_CHANGED,
                    entity=name,
                    entity_kind=EntityKind.DATA,
                    tier=a.tier,
                    old=a,
                    new=b,
                    header=b.header,
                )
            )
            spoken.add(name)
    for name, b in after.items():
        if name not in before:
            changes.append(
                Change(
                    kind=ChangeKind.DECLARATION_ADDED,
                    entity=name,
                    entity_kind=EntityKind.DATA,
                    tier=b.tier,
                    new=b,
                    header=b.header,
                )
            )
    return changes, spoken


__all__ = ["Tier", "diff_functions", "diff_variables", "export_state", "parameter_changes"]
