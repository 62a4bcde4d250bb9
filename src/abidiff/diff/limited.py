"""The limited API: declarations that left some ``Py_LIMITED_API`` level, moved to an
earlier one, or appeared unguarded (visible before the version that added them)."""

from __future__ import annotations

from abidiff.changes import Change, ChangeKind, EntityKind, Exports
from abidiff.diff.common import (
    CONFIG_HEADER,
    VERSION_HEADER,
    ExportView,
    change_at,
    enum_label,
    is_include_guard,
    since_by_name,
)
from abidiff.model import Enum, Function, Macro, Record, Snapshot, Tier, Variable, version_key

Declared = Record | Function | Variable | Enum | Macro


def limited_entities(snapshot: Snapshot) -> dict[tuple[EntityKind, str], Declared]:
    found: dict[tuple[EntityKind, str], Declared] = {}
    for record in snapshot.records:
        found[(EntityKind.RECORD, record.name)] = record
    for function in snapshot.functions:
        found[(EntityKind.FUNCTION, function.name)] = function
    for variable in snapshot.variables:
        found[(EntityKind.DATA, variable.name)] = variable
    for enum_ in snapshot.enums:
        found[(EntityKind.ENUM, enum_.name)] = enum_
    for macro in snapshot.macros:
        if macro.header not in (CONFIG_HEADER, VERSION_HEADER) and not is_include_guard(macro):
            found[(EntityKind.MACRO, macro.name)] = macro
    return found


def _display(entity: Declared) -> str:
    if isinstance(entity, Record):
        return entity.display_name
    if isinstance(entity, Enum):
        return enum_label(entity)
    return entity.name


def needs_export(entity: object) -> bool:
    """Functions and data need the runtime to export them: only they fail to load when used
    at a ``Py_LIMITED_API`` older than the version that added them."""
    return isinstance(entity, Variable) or (isinstance(entity, Function) and not entity.inline)


def _previous(version: str, levels: tuple[str, ...]) -> str:
    earlier = [level for level in levels if version_key(level) < version_key(version)]
    return earlier[-1] if earlier else version


def _change(
    kind: ChangeKind,
    entity: Declared,
    entity_kind: EntityKind,
    old: str | None,
    new: str | None,
    facts: tuple[tuple[str, object], ...] = (),
    exports: Exports | None = None,
) -> Change:
    values = {"old": old, "new": new, "facts": facts, "exports": exports}
    return change_at(kind, entity_kind, _display(entity), entity, tier=Tier.LIMITED, **values)


def diff_limited(old: Snapshot, new: Snapshot, exports: ExportView) -> tuple[list[Change], set[str]]:
    """``old``/``new`` of each change: the ``limited_since`` versions (None: not limited)."""
    before = limited_entities(old)
    after = limited_entities(new)
    feature = new.build.feature_version
    old_since_by_name = since_by_name(before.values())
    new_since_by_name = since_by_name(after.values())
    changes: list[Change] = []
    spoken: set[str] = set()
    for key, b in after.items():
        entity_kind, name = key
        a = before.get(key)
        old_since = a.limited_since if a is not None else None
        new_since = b.limited_since
        if a is None or old_since is None:
            if (
                new_since is not None
                and name not in old_since_by_name
                and needs_export(b)
                and version_key(new_since) < version_key(feature)
            ):
                facts = (("feature", feature), ("was_declared", a is not None))
                changes.append(_change(ChangeKind.LIMITED_UNGUARDED, b, entity_kind, None, new_since, facts))
            continue
        if new_since is not None and version_key(new_since) < version_key(old_since):
            changes.append(_change(ChangeKind.LIMITED_SINCE_EARLIER, b, entity_kind, old_since, new_since))
            continue
        if new_since is not None and new_since == old_since:
            continue
        best = new_since_by_name.get(name)
        if best is not None and version_key(best) <= version_key(old_since):
            continue  # still in the limited API under another form (a macro became an inline function)
        if isinstance(b, Function) and b.inline:
            continue  # reported as a function that became inline
        until = _previous(new_since, old.limited_levels) if new_since else None
        linked = isinstance(b, (Function, Variable))
        state = exports.state(name) if linked else None
        gone = state == Exports.GONE
        kind = ChangeKind.LIMITED_REMOVED_UNEXPORTED if gone else ChangeKind.LIMITED_REMOVED
        changes.append(_change(kind, b, entity_kind, old_since, new_since, (("until", until),), state))
        spoken.add(name)
    return changes, spoken
