"""Enums, macros and typedefs: values compiled into extensions, callbacks they define, and the build configuration."""

from __future__ import annotations

import re

from abidiff.changes import Change, ChangeKind, EntityKind
from abidiff.diff.common import (
    CONFIG_HEADER,
    VERSION_HEADER,
    TypeMatch,
    change_at,
    enum_label,
    flatten,
    is_include_guard,
)
from abidiff.model import Enum, Enumerator, Macro, Snapshot, Tier, Typedef


def _enumerator_change(kind: ChangeKind, enum_: Enum, old: Enumerator | None, new: Enumerator | None) -> Change:
    item = old or new
    assert item is not None
    line = item.line or enum_.line
    return change_at(
        kind, EntityKind.ENUMERATOR, item.name, enum_, line=line, old=old, new=new, parent=enum_label(enum_)
    )


def _added_enumerators(old_enum: Enum, new: Snapshot, after: dict[str, tuple[int, Enum]]) -> list[Change]:
    known = {item.name for item in old_enum.enumerators}
    successors = {after[item.name][1].name for item in old_enum.enumerators if item.name in after}
    return [
        _enumerator_change(ChangeKind.ENUMERATOR_ADDED, new_enum, None, item)
        for new_enum in new.enums
        if new_enum.name in successors
        for item in new_enum.enumerators
        if item.name not in known
    ]


def diff_enums(old: Snapshot, new: Snapshot) -> list[Change]:
    after = {item.name: (item.value, enum_) for enum_ in new.enums for item in enum_.enumerators}
    changes: list[Change] = []
    for enum_ in old.enums:
        gone = [item for item in enum_.enumerators if item.name not in after]
        if gone and len(gone) == len(enum_.enumerators):
            changes.append(change_at(ChangeKind.ENUM_REMOVED, EntityKind.ENUM, enum_label(enum_), enum_, old=enum_))
            continue
        for item in enum_.enumerators:
            if item.name not in after:
                changes.append(_enumerator_change(ChangeKind.ENUMERATOR_REMOVED, enum_, item, None))
            elif after[item.name][0] != item.value:
                successor = Enumerator(name=item.name, value=after[item.name][0])
                changes.append(_enumerator_change(ChangeKind.ENUMERATOR_VALUE_CHANGED, enum_, item, successor))
        changes += _added_enumerators(enum_, new, after)
    return changes


def _config_change(name: str, a: Macro | None, b: Macro | None) -> Change:
    """A setting of the build: a macro of pyconfig.h, or a default a header gives only where
    the configuration did not (``#ifndef Py_HASH_ALGORITHM``): no ABI promise."""
    where = b if b is not None else a
    assert where is not None
    return Change(
        kind=ChangeKind.CONFIG_MACRO_CHANGED,
        entity=name,
        entity_kind=EntityKind.MACRO,
        tier=Tier.PRIVATE,
        old=a,
        new=b,
        header=where.header if where.overridable else CONFIG_HEADER,
        line=where.line,
    )


def diff_macros(old: Snapshot, new: Snapshot) -> list[Change]:
    after = {macro.name: macro for macro in new.macros}
    declared = {function.name for function in new.functions} | {variable.name for variable in new.variables}
    declared |= {typedef.name for typedef in new.typedefs}
    changes: list[Change] = []
    for a in old.macros:
        if a.header == VERSION_HEADER or is_include_guard(a):
            continue  # the version itself is the builds' identity; include guards are no API
        b = after.get(a.name)
        if a.header == CONFIG_HEADER or (b is not None and b.header == CONFIG_HEADER):
            if b is None or a.value != b.value or a.function_like != b.function_like:
                changes.append(_config_change(a.name, a, b))
        elif b is None:
            if a.name not in declared:
                changes.append(change_at(ChangeKind.API_REMOVED, EntityKind.MACRO, a.name, a, old=a))
        elif a.value is not None and b.value is not None and a.value != b.value and not a.function_like:
            if a.overridable and b.overridable:  # the default of a setting: as pyconfig.h's own
                changes.append(_config_change(a.name, a, b))
            else:
                changes.append(
                    change_at(ChangeKind.MACRO_VALUE_CHANGED, EntityKind.MACRO, a.name, b, tier=a.tier, old=a, new=b)
                )
    before = {macro.name for macro in old.macros}
    for b in new.macros:
        if b.header == CONFIG_HEADER and b.name not in before:
            changes.append(_config_change(b.name, None, b))
    return changes


def _typedef_change(kind: ChangeKind, a: Typedef, b: Typedef | None) -> Change:
    return change_at(kind, EntityKind.TYPEDEF, a.name, b or a, tier=a.tier, old=a, new=b)


_IDENTIFIER_RE = re.compile(r"[A-Za-z_]\w*")
_FUNCTION_POINTER_RE = re.compile(r"^(?P<returns>[^()]*?)\s*\(\*\)\((?P<params>.*)\)$")


def _signature(canonical: str) -> tuple[str, tuple[str, ...]] | None:
    """(return type, parameter types) of a pointer-to-function type as libclang spells it
    canonically (``struct _object *(*)(struct _object *, long)``); None for any other type, or
    one too intricate to split here (a function returning a function).  Qualifiers stay:
    :meth:`TypeMatch.same` passes over them."""
    found = _FUNCTION_POINTER_RE.match(canonical)
    if found is None:
        return None
    params: list[str] = []
    depth, start, text = 0, 0, found.group("params")
    for index, char in enumerate(text):
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            params.append(text[start:index])
            start = index + 1
    params.append(text[start:])
    spelled = tuple(param.strip() for param in params if param.strip())
    return found.group("returns").strip(), () if spelled == ("void",) else spelled


def _type_names(snapshot: Snapshot) -> frozenset[str]:
    """Every identifier the declared types of ``snapshot`` spell: its fields (at any depth),
    functions (returns and parameters), data and typedef targets."""
    spellings = [item.type.spelling for record in snapshot.records for _path, item in flatten(record.fields)]
    for function in snapshot.functions:
        spellings += [function.returns.spelling, *(param.type.spelling for param in function.params)]
    spellings += [variable.type.spelling for variable in snapshot.variables]
    spellings += [typedef.type.spelling for typedef in snapshot.typedefs]
    return frozenset(name for spelling in spellings for name in _IDENTIFIER_RE.findall(spelling))


def _callback_changed(a: Typedef, b: Typedef, types: TypeMatch, used: frozenset[str]) -> bool:
    """A callback typedef nothing of the headers uses (extensions reach it only by casts)
    whose signature changed beyond qualifiers."""
    old, new = _signature(a.type.canonical), _signature(b.type.canonical)
    if old is None or new is None or a.name in used:
        return False
    (old_returns, old_params), (new_returns, new_params) = old, new
    if len(old_params) != len(new_params):
        return True
    pairs = zip((old_returns, *old_params), (new_returns, *new_params), strict=True)
    return not all(types.same(x, y) for x, y in pairs)


def diff_typedefs(old: Snapshot, new: Snapshot, types: TypeMatch) -> list[Change]:
    """Typedefs removed (and not replaced by a macro, function, data or struct of the same
    name), and typedefs whose target type changed: a callback's signature, that extensions
    define functions of (ABI506 where nothing of the headers uses it, so that no other change
    says so; ABI505 otherwise)."""
    used: frozenset[str] | None = None
    after = {typedef.name: typedef for typedef in new.typedefs}
    replaced = {macro.name for macro in new.macros} | {function.name for function in new.functions}
    replaced |= {variable.name for variable in new.variables}
    replaced |= {name for record in new.records for name in (record.name, *record.aliases)}
    changes: list[Change] = []
    for a in old.typedefs:
        if a.header in (CONFIG_HEADER, VERSION_HEADER):
            continue
        b = after.get(a.name)
        if b is None:
            if a.name not in replaced:
                changes.append(_typedef_change(ChangeKind.TYPEDEF_REMOVED, a, None))
        elif not types.same(a.type.canonical, b.type.canonical) or types.is_renamed(a.type.canonical):
            # the typedef of a renamed record says it once: the old tag is gone from the source
            used = _type_names(old) if used is None else used
            kind = ChangeKind.CALLBACK_CHANGED if _callback_changed(a, b, types, used) else ChangeKind.TYPEDEF_CHANGED
            changes.append(_typedef_change(kind, a, b))
    return changes
