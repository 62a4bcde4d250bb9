"""Functions and exported data: removed (from the headers, the exports, or both), changed
signature or type, turned into a macro or a static inline function, added."""

from __future__ import annotations

from typing import Any

from abidiff.changes import Change, ChangeKind, EntityKind, Exports
from abidiff.diff.common import ExportView, TypeMatch, by_name, change_at, value_type
from abidiff.model import Declared, Function, Snapshot, Tier, Variable


def _removal(kind: ChangeKind, entity_kind: EntityKind, old: Function | Variable, exports: ExportView) -> Change:
    """A function or data removed from the headers: removed from the ABI unless still
    exported, and no ABI matter when OLD never exported it."""
    state = exports.state(old.name)
    if state in (Exports.KEPT, Exports.MANIFEST):
        kind = ChangeKind.DECLARATION_HIDDEN
    elif exports.never_exported(old.name):
        kind = ChangeKind.DECLARATION_NEVER_EXPORTED
    return change_at(kind, entity_kind, old.name, old, old=old, exports=state)


def parameter_changes(a: Function, b: Function, types: TypeMatch) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """1-based numbers of the parameters whose (unqualified) type differs, and of those that
    now take a more general type of object (:meth:`TypeMatch.object_widened`: every caller
    still passes what it may)."""
    changed, retyped = [], []
    for number, (p, q) in enumerate(zip(a.params, b.params, strict=True), start=1):
        if types.object_widened(p.type.canonical, q.type.canonical):
            retyped.append(number)
        elif not types.same(p.type.canonical, q.type.canonical):
            changed.append(number)
    return tuple(changed), tuple(retyped)


def _signature_changes(a: Function, b: Function, types: TypeMatch) -> list[Change]:
    def change(kind: ChangeKind, **values: Any) -> Change:
        return change_at(kind, EntityKind.FUNCTION, a.name, b, tier=a.tier, old=a, new=b, **values)

    changes = []
    retyped: tuple[int, ...] = ()  # 0: the return type
    qualifiers = types.qualifiers_differ(a.returns.canonical, b.returns.canonical)
    if types.object_narrowed(a.returns.canonical, b.returns.canonical):
        retyped = (0,)  # a more precise type of object: every caller still gets what it may
    elif not types.same(a.returns.canonical, b.returns.canonical):
        changes.append(change(ChangeKind.FUNCTION_RETURN_CHANGED))
    if len(a.params) != len(b.params):
        changes.append(change(ChangeKind.FUNCTION_PARAM_COUNT_CHANGED))
    else:
        numbers, also = parameter_changes(a, b, types)
        retyped += also
        if numbers:
            changes.append(change(ChangeKind.FUNCTION_PARAM_TYPE_CHANGED, facts=(("parameters", numbers),)))
        else:
            qualifiers = qualifiers or any(
                types.qualifiers_differ(p.type.canonical, q.type.canonical)
                for p, q in zip(a.params, b.params, strict=True)
            )
    if retyped:
        changes.append(change(ChangeKind.FUNCTION_OBJECT_RETYPED, facts=(("parameters", retyped),)))
    if a.variadic != b.variadic:
        changes.append(change(ChangeKind.FUNCTION_VARIADIC_CHANGED))
    if qualifiers and not changes:
        changes.append(change(ChangeKind.FUNCTION_QUALIFIERS_CHANGED))
    return changes


def _became_inline(a: Function, b: Function | None, where: Declared, exports: ExportView) -> Change:
    """A function that became a macro (``b`` is None: ``where`` is the macro) or a static
    inline function (``where`` is ``b``)."""
    state = exports.state(a.name)
    never = exports.never_exported(a.name)
    kept = state in (Exports.KEPT, Exports.MANIFEST) or never
    kind = ChangeKind.FUNCTION_INLINED_EXPORTED if kept else ChangeKind.FUNCTION_INLINED_UNEXPORTED
    facts = (("never_exported", True),) if never and state not in (Exports.KEPT, Exports.MANIFEST) else ()
    return change_at(kind, EntityKind.FUNCTION, a.name, where, tier=a.tier, old=a, new=b, exports=state, facts=facts)


def diff_functions(
    old: Snapshot, new: Snapshot, exports: ExportView, types: TypeMatch
) -> tuple[list[Change], set[str]]:
    """Changes to functions, and the names whose export status they already reported."""
    before, after, macros = by_name(old.functions), by_name(new.functions), by_name(new.macros)
    changes: list[Change] = []
    spoken: set[str] = set()
    for name, a in before.items():
        b = after.get(name)
        if b is None and name not in macros:
            if a.inline:
                changes.append(change_at(ChangeKind.API_REMOVED, EntityKind.FUNCTION, name, a, old=a))
            else:
                changes.append(_removal(ChangeKind.FUNCTION_REMOVED, EntityKind.FUNCTION, a, exports))
                spoken.add(name)
        elif a.inline:
            continue
        elif b is None or b.inline:
            where = b if b is not None else macros[name]
            changes.append(_became_inline(a, b, where, exports))
            spoken.add(name)
        else:
            changes += _signature_changes(a, b, types)
    for name, b in after.items():
        if name not in before and not b.inline:
            changes.append(change_at(ChangeKind.DECLARATION_ADDED, EntityKind.FUNCTION, name, b, new=b))
    return changes, spoken


def diff_variables(
    old: Snapshot, new: Snapshot, exports: ExportView, changed_records: frozenset[str], types: TypeMatch
) -> tuple[list[Change], set[str]]:
    before, after = by_name(old.variables), by_name(new.variables)
    changes: list[Change] = []
    spoken: set[str] = set()
    for name, a in before.items():
        b = after.get(name)
        if b is None:
            changes.append(_removal(ChangeKind.VARIABLE_REMOVED, EntityKind.DATA, a, exports))
            spoken.add(name)
        elif not types.same(a.type.canonical, b.type.canonical) or (
            a.size is not None
            and b.size is not None
            and a.size != b.size
            and value_type(a.type.canonical) not in changed_records  # reported at the record
        ):
            changes.append(
                change_at(ChangeKind.VARIABLE_TYPE_CHANGED, EntityKind.DATA, name, b, tier=a.tier, old=a, new=b)
            )
            spoken.add(name)
    for name, b in after.items():
        if name not in before:
            changes.append(change_at(ChangeKind.DECLARATION_ADDED, EntityKind.DATA, name, b, new=b))
    return changes, spoken


__all__ = ["Tier", "diff_functions", "diff_variables", "parameter_changes"]
