"""Text from values: how each kind of change describes its two sides and its detail.

This is the one place where a :class:`~abidiff.changes.Change` becomes words; the catalogue's
message templates are filled from :func:`message_fields`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from abidiff.changes import Change, ChangeKind, Export, Exports
from abidiff.diff.build import LAYOUT_FLAGS
from abidiff.diff.common import type_key
from abidiff.model import Enum, Enumerator, Field, Function, Macro, Record, Typedef, Variable


@dataclass(frozen=True, slots=True)
class Sides:
    """A change in words: each side and the clause that completes the message."""

    old: str | None
    new: str | None
    detail: str = ""


# -- values --------------------------------------------------------------------------------


def where(offset_bits: int | None) -> str:
    if offset_bits is None:
        return "at an unknown offset"
    if offset_bits % 8 == 0:
        return f"at byte {offset_bits // 8}"
    return f"at bit {offset_bits}"


def describe_field(item: Field) -> str:
    width = f":{item.bitfield_width}" if item.bitfield_width is not None else ""
    return f"{item.type.spelling} {item.name}{width} {where(item.offset_bits)}"


def prototype(function: Function) -> str:
    params = [param.type.spelling for param in function.params]
    if function.variadic:
        params.append("...")
    return f"{function.returns.spelling} {function.name}({', '.join(params) or 'void'})"


def describe_variable(variable: Variable) -> str:
    size = f" ({variable.size} bytes)" if variable.size is not None else ""
    return f"{variable.type.spelling} {variable.name}{size}"


def macro_value(value: int) -> str:
    return f"{value} (0x{value:X})" if value > 9 else str(value)


def describe(value: object) -> str | None:
    """A declaration or value on one side of a change, in words."""
    if value is None:
        return None
    if isinstance(value, Field):
        return describe_field(value)
    if isinstance(value, Function):
        return f"static inline {prototype(value)}" if value.inline else prototype(value)
    if isinstance(value, Variable):
        return describe_variable(value)
    if isinstance(value, Record):
        return value.name
    if isinstance(value, Enumerator):
        return f"{value.name} = {value.value}"
    if isinstance(value, Enum):
        return ", ".join(item.name for item in value.enumerators)
    if isinstance(value, Macro):
        return f"{value.name} = {value.value}" if value.value is not None else value.name
    if isinstance(value, Export):
        return str(value.kind)
    if isinstance(value, Typedef):
        return f"typedef {value.type.canonical} {value.name}"
    return str(value)


def size_clause(change: Change) -> str:
    parts = []
    if change.fact("old_size") != change.fact("new_size"):
        parts.append(f"size {change.fact('old_size')} -> {change.fact('new_size')} bytes")
    if change.fact("old_align") != change.fact("new_align"):
        parts.append(f"alignment {change.fact('old_align')} -> {change.fact('new_align')} bytes")
    return "; ".join(parts)


def _join(*parts: str) -> str:
    return "; ".join(part for part in parts if part)


# -- per kind --------------------------------------------------------------------------------

_MISMATCH = {
    "pointer size": "32-bit and 64-bit builds",
    "target": "builds for different targets",
    "ABI flags": "SOABI flags differ",
    "SOABI platform": "SOABI platforms differ",
    **dict.fromkeys(LAYOUT_FLAGS, "the object layout differs between the two builds"),
}


def _build_mismatch(change: Change) -> Sides:
    return Sides(str(change.old), str(change.new), _MISMATCH.get(change.entity, "the builds differ"))


def _field(change: Change) -> Sides:
    a, b = change.old, change.new
    first = ""
    if isinstance(a, Field) and isinstance(b, Field):
        if change.kind == ChangeKind.FIELD_RENAMED:
            first = f"renamed from {a.name}"
        elif change.kind == ChangeKind.BITFIELD_WIDTH_CHANGED:
            first = f"width {a.bitfield_width} -> {b.bitfield_width} bits"
        elif change.kind in (ChangeKind.FIELD_TYPE_CHANGED, ChangeKind.FIELD_OBJECT_RETYPED):
            if type_key(a.type.canonical) != type_key(b.type.canonical):
                first = f"type {a.type.canonical} -> {b.type.canonical}"
            else:
                first = f"the size of {a.type.spelling} changed: {a.size_bits} -> {b.size_bits} bits"
    return Sides(describe(a), describe(b), _join(first, size_clause(change)))


def _record_size(change: Change) -> Sides:
    a, b = change.old, change.new
    assert isinstance(a, Record) and isinstance(b, Record)
    return Sides(f"size {a.size}, alignment {a.align}", f"size {b.size}, alignment {b.align}", size_clause(change))


def _opaque(change: Change) -> Sides:
    a, b = change.old, change.new
    assert isinstance(a, Record) and isinstance(b, Record)
    old = f"{a.size} bytes" if a.complete else "opaque"
    new = f"{b.size} bytes" if b.complete else "opaque"
    return Sides(old, new)


# what the exports say of a declaration gone from the headers: (after "removed from the
# headers", after "became a macro" or "became a static inline function")
_COUNTED_AS = " (headers only: counted as "
_MANIFEST_SAYS = ", still exported (headers only: the stable ABI manifest says so)"
_EXPORTS_WORDS = {
    Exports.UNKNOWN: (f"{_COUNTED_AS}removed from the ABI)", f"{_COUNTED_AS}no longer exported)"),
    Exports.GONE: (" and the exports", ", no longer exported"),
    Exports.KEPT: (", still exported", ", still exported"),
    Exports.MANIFEST: (_MANIFEST_SAYS, _MANIFEST_SAYS),
}


def _removed(change: Change) -> Sides:
    if change.kind == ChangeKind.DECLARATION_NEVER_EXPORTED:
        return Sides(describe(change.old), None, "removed from the headers; the old build never exported it")
    removed = _EXPORTS_WORDS[change.exports or Exports.GONE][0]
    return Sides(describe(change.old), None, f"removed from the headers{removed}")


def _signature(change: Change) -> Sides:
    a, b = change.old, change.new
    assert isinstance(a, Function) and isinstance(b, Function)
    if change.kind == ChangeKind.FUNCTION_RETURN_CHANGED:
        detail = f"returns {a.returns.canonical} -> {b.returns.canonical}"
    elif change.kind == ChangeKind.FUNCTION_PARAM_COUNT_CHANGED:
        detail = f"{len(a.params)} -> {len(b.params)} parameters"
    elif change.kind in (ChangeKind.FUNCTION_PARAM_TYPE_CHANGED, ChangeKind.FUNCTION_OBJECT_RETYPED):
        detail = _types_changed(a, b, change.fact("parameters", ()))
    elif change.kind == ChangeKind.FUNCTION_VARIADIC_CHANGED:
        detail = "became variadic" if b.variadic else "no longer variadic"
    else:
        detail = "only const/volatile qualifiers differ"
    return Sides(prototype(a), prototype(b), detail)


def _types_changed(a: Function, b: Function, numbers: tuple[int, ...]) -> str:
    """The types the diff found changed, by number (0: the return type)."""
    parts = [f"returns {a.returns.canonical} -> {b.returns.canonical}"] if 0 in numbers else []
    for number, (p, q) in enumerate(zip(a.params, b.params, strict=True), start=1):
        if number in numbers:
            label = f"parameter {number}" + (f" ({q.name or p.name})" if (q.name or p.name) else "")
            parts.append(f"{label}: {p.type.canonical} -> {q.type.canonical}")
    return "; ".join(parts)


def _inlined(change: Change) -> Sides:
    a, b = change.old, change.new
    assert isinstance(a, Function)
    became = "a macro" if b is None else "a static inline function"
    new = "a macro" if b is None else describe(b)
    if change.fact("never_exported"):
        return Sides(prototype(a), new, f"became {became}; the old build never exported it")
    return Sides(prototype(a), new, f"became {became}{_EXPORTS_WORDS[change.exports or Exports.GONE][1]}")


def _data_type(change: Change) -> Sides:
    a, b = change.old, change.new
    assert isinstance(a, Variable) and isinstance(b, Variable)
    detail = f"type {a.type.canonical} -> {b.type.canonical}"
    if a.size != b.size:
        detail += f"; size {a.size} -> {b.size} bytes"
    return Sides(describe_variable(a), describe_variable(b), detail)


def _enumerator(change: Change) -> Sides:
    a, b = change.old, change.new
    detail = f"of {change.parent}"
    if change.kind == ChangeKind.ENUMERATOR_VALUE_CHANGED:
        assert isinstance(a, Enumerator) and isinstance(b, Enumerator)
        return Sides(str(a.value), str(b.value), detail)
    return Sides(describe(a), describe(b), detail)


def _macro_value(change: Change) -> Sides:
    a, b = change.old, change.new
    assert isinstance(a, Macro) and isinstance(b, Macro) and a.value is not None and b.value is not None
    return Sides(macro_value(a.value), macro_value(b.value))


def _config(change: Change) -> Sides:
    def show(macro: object) -> str | None:
        if not isinstance(macro, Macro):
            return None
        return str(macro.value) if macro.value is not None else "defined"

    return Sides(show(change.old), show(change.new))


def _export(change: Change) -> Sides:
    a, b = change.old, change.new
    if change.kind == ChangeKind.EXPORT_SIZE_CHANGED:
        assert isinstance(a, Export) and isinstance(b, Export)
        return Sides(f"{a.size} bytes", f"{b.size} bytes")
    if isinstance(a, Export) and isinstance(b, Export):  # left the stable-ABI library
        return Sides(f"{a.kind} in the stable-ABI library", f"{b.kind}, not in the stable-ABI library")
    return Sides(describe(a), describe(b))


def _since(version: object) -> str:
    return f"limited API since {version}" if version is not None else "not in the limited API"


def _limited(change: Change) -> Sides:
    old, new = change.old, change.new
    if change.kind == ChangeKind.LIMITED_UNGUARDED:
        before = "not in the limited API" if change.fact("was_declared") else None
        detail = f"visible with Py_LIMITED_API={new} though new in {change.fact('feature')}"
        return Sides(before, _since(new), detail)
    if change.kind == ChangeKind.LIMITED_SINCE_EARLIER:
        return Sides(_since(old), _since(new))
    left = f"{old}" + (f" to {change.fact('until')}" if new is not None else " and later")
    still = change.kind == ChangeKind.LIMITED_REMOVED and change.exports in (
        Exports.KEPT,
        Exports.UNKNOWN,
        Exports.MANIFEST,
    )
    return Sides(_since(old), _since(new), f"left the limited API of {left}" + (", still exported" if still else ""))


def _typedef(change: Change) -> Sides:
    a, b = change.old, change.new
    if isinstance(a, Typedef) and isinstance(b, Typedef):
        return Sides(describe(a), describe(b), f"type {a.type.canonical} -> {b.type.canonical}")
    return Sides(describe(a), describe(b))


def _not_compared(change: Change) -> Sides:
    count = change.fact("declarations", 0)
    noun = "limited API declaration" if change.fact("limited", False) else "declaration"
    what = f"its {count} {noun}s were" if count != 1 else f"its one {noun} was"
    return Sides(describe(change.old), describe(change.new), f"{what} not compared")


def _plain(change: Change) -> Sides:
    return Sides(describe(change.old), describe(change.new))


_DESCRIBERS: dict[ChangeKind, Callable[[Change], Sides]] = {
    ChangeKind.BUILD_MISMATCH: _build_mismatch,
    ChangeKind.HEADER_NOT_COMPARED: _not_compared,
    ChangeKind.RECORD_SIZE_CHANGED: _record_size,
    ChangeKind.RECORD_BECAME_OPAQUE: _opaque,
    ChangeKind.RECORD_BECAME_COMPLETE: _opaque,
    ChangeKind.FUNCTION_REMOVED: _removed,
    ChangeKind.VARIABLE_REMOVED: _removed,
    ChangeKind.DECLARATION_HIDDEN: _removed,
    ChangeKind.DECLARATION_NEVER_EXPORTED: _removed,
    ChangeKind.FUNCTION_INLINED_EXPORTED: _inlined,
    ChangeKind.FUNCTION_INLINED_UNEXPORTED: _inlined,
    ChangeKind.VARIABLE_TYPE_CHANGED: _data_type,
    ChangeKind.MACRO_VALUE_CHANGED: _macro_value,
    ChangeKind.CONFIG_MACRO_CHANGED: _config,
    ChangeKind.TYPEDEF_CHANGED: _typedef,
    ChangeKind.CALLBACK_CHANGED: _typedef,
    **dict.fromkeys(
        (
            ChangeKind.FIELD_REMOVED,
            ChangeKind.FIELD_ADDED,
            ChangeKind.FIELD_ADDED_IN_PADDING,
            ChangeKind.FIELD_APPENDED,
            ChangeKind.FIELD_TYPE_CHANGED,
            ChangeKind.FIELD_OBJECT_RETYPED,
            ChangeKind.FIELD_OFFSET_CHANGED,
            ChangeKind.BITFIELD_WIDTH_CHANGED,
            ChangeKind.FIELD_RENAMED,
        ),
        _field,
    ),
    **dict.fromkeys(
        (
            ChangeKind.FUNCTION_RETURN_CHANGED,
            ChangeKind.FUNCTION_PARAM_TYPE_CHANGED,
            ChangeKind.FUNCTION_PARAM_COUNT_CHANGED,
            ChangeKind.FUNCTION_VARIADIC_CHANGED,
            ChangeKind.FUNCTION_QUALIFIERS_CHANGED,
            ChangeKind.FUNCTION_OBJECT_RETYPED,
        ),
        _signature,
    ),
    **dict.fromkeys(
        (ChangeKind.ENUMERATOR_VALUE_CHANGED, ChangeKind.ENUMERATOR_REMOVED, ChangeKind.ENUMERATOR_ADDED), _enumerator
    ),
    **dict.fromkeys((ChangeKind.EXPORT_REMOVED, ChangeKind.EXPORT_ADDED, ChangeKind.EXPORT_SIZE_CHANGED), _export),
    **dict.fromkeys(
        (
            ChangeKind.LIMITED_REMOVED,
            ChangeKind.LIMITED_REMOVED_UNEXPORTED,
            ChangeKind.LIMITED_SINCE_EARLIER,
            ChangeKind.LIMITED_UNGUARDED,
        ),
        _limited,
    ),
}


# -- the audits (abi3, ext) ----------------------------------------------------------------


def _layout_field(item: Field) -> str:
    offset = "?" if item.offset_bits is None else f"{item.offset_bits // 8}"
    return f"{item.type.canonical} at byte {offset}"


def _layout_field_change(name: str, a: Field | None, b: Field | None) -> str:
    if a is None and b is not None:
        return f"field {name} added ({_layout_field(b)})"
    if b is None and a is not None:
        return f"field {name} removed (was {_layout_field(a)})"
    assert a is not None and b is not None
    return f"field {name}: {_layout_field(a)} -> {_layout_field(b)}"


def _stable_layout(change: Change) -> Sides:
    parts: list[str] = []
    if change.fact("layout"):
        parts.append(change.fact("layout"))
    size = change.fact("size")
    if size is not None:
        parts.append(f"size/alignment {size[0]}/{size[1]} -> {size[2]}/{size[3]} bytes")
    parts += [_layout_field_change(name, a, b) for name, a, b in change.fact("fields", ())]
    members = change.fact("members", ())
    scope = "members " + ", ".join(members) if members else "full layout"
    return Sides(describe(change.old), describe(change.new), f"{'; '.join(parts)} ({scope} in the stable ABI)")


def _ahead_of_old(change: Change) -> Sides:
    nor = " nor exported by it" if change.fact("exports_checked") else ""
    return Sides(
        describe(change.old), describe(change.new), f"but {change.old} does not declare it in its limited API{nor}"
    )


def _not_in_headers(change: Change) -> Sides:
    first = change.fact("first")
    detail = (
        f"is not visible at Py_LIMITED_API {change.old} (first visible at {first})"
        if first is not None
        else "is not visible at any Py_LIMITED_API level"
    )
    unread = change.fact("unread", ())
    if unread:
        detail += f"; the build could not read {short_list(unread)}, which may declare it"
    return Sides(describe(change.old), None, detail)


def _alias_value(change: Change) -> Sides:
    actual = change.new
    shown = f"0x{actual:08X}" if isinstance(actual, int) else "not an integer constant"
    return Sides(f"0x{change.old:08X}", shown)


def _detail_from(template: str) -> Callable[[Change], Sides]:
    def describer(change: Change) -> Sides:
        return Sides(describe(change.old), describe(change.new), template.format_map(dict(change.facts)))

    return describer


def _tag_mismatch(change: Change) -> Sides:
    return Sides(", ".join(change.fact("filename_tags", ())), ", ".join(change.fact("metadata_tags", ())))


def _source_uses(change: Change) -> Sides:
    """ABI817: how many places, and the comparison's finding that makes the entity broken."""
    count = len(change.places)
    places = f"{count} place{'s' if count != 1 else ''}"
    return Sides(None, None, f"{places}; {change.fact('cause_rule')} {change.fact('cause')}")


_LABELS = {"alpha": "an alpha", "beta": "a beta", "candidate": "a release candidate", "final": "a final release"}


def _series(change: Change) -> Sides:
    """A release of a series (ABI901, ABI902): what it does to the full ABI of ``previous``."""
    breaks, previous = change.fact("breaks", 0), change.fact("previous")
    plural = "break" if breaks == 1 else "breaks"
    detail = f"{breaks} full-ABI {plural} against {previous}" if breaks else f"binary compatible with {previous}"
    old = describe(change.old)
    if change.kind == ChangeKind.SERIES_LABEL_MISMATCH:  # the release level of its own label
        old = _LABELS.get(str(change.old), old)
    return Sides(old, describe(change.new), detail)


_AUDIT_DESCRIBERS: dict[ChangeKind, Callable[[Change], Sides]] = {
    ChangeKind.AHEAD_OF_OLD: _ahead_of_old,
    ChangeKind.MANIFEST_NOT_IN_HEADERS: _not_in_headers,
    ChangeKind.MANIFEST_NOT_EXPORTED: _detail_from("{exporters}"),
    ChangeKind.STABLE_LAYOUT_CHANGED: _stable_layout,
    ChangeKind.LIMITED_ALIAS_VALUE: _alias_value,
    ChangeKind.EXT_NOT_STABLE: _detail_from(" (by {truth})"),
    ChangeKind.EXT_NOT_EXPORTED: _detail_from("{build} ({exporters})"),
    ChangeKind.EXT_BROKEN_BETWEEN: _detail_from("{cause_rule} {cause}"),
    ChangeKind.EXT_VERSIONED_DLL: _detail_from("{library}"),
    ChangeKind.EXT_TAG_MISMATCH: _tag_mismatch,
    ChangeKind.EXT_SOURCE_USES: _source_uses,
    ChangeKind.SERIES_BREAK_AFTER_RC: _series,
    ChangeKind.SERIES_LABEL_MISMATCH: _series,
}


def sides(change: Change) -> Sides:
    describer = _DESCRIBERS.get(change.kind) or _AUDIT_DESCRIBERS.get(change.kind, _plain)
    return describer(change)


def short_list(names: tuple[str, ...], limit: int = 4) -> str:
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f" and {len(names) - limit} more"


def _record_words(change: Change, name: str) -> tuple[str, str]:
    """(name, keyword) of a record: ``struct _specialization_cache`` -> (``_specialization_cache``,
    ``struct``), so that a template's "the {record} struct" never reads "the struct x struct"."""
    keyword, _, tag = name.partition(" ")
    side = change.old if isinstance(change.old, Record) else change.new
    kind = str(side.kind) if isinstance(side, Record) else "struct"
    if keyword in ("struct", "union") and tag:
        return tag, keyword
    return name, kind


def message_fields(change: Change, words: Sides) -> dict[str, str]:
    """The keys a rule's message template may use."""
    record, _, field = change.entity.partition(".")
    shift = f"; offsets of {short_list(change.shifted)} shift" if change.shifted else ""
    record_name, record_kind = _record_words(change, change.parent or record)
    return {
        "entity": change.entity,
        "entity_kind": str(change.entity_kind),
        "record": record_name,
        "record_kind": record_kind,
        "field": field or change.entity,
        "old": words.old or "(none)",
        "new": words.new or "(none)",
        "detail": words.detail,
        "extra": f" ({words.detail})" if words.detail else "",
        "shift": shift,
    }
