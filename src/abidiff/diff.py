"""Compare two snapshots: ``diff(old, new) -> Diff``.  Pure; sees only :mod:`abidiff.model`.

The diff says *what* changed, at the entity where it happened, with the tier of the promise
made about that entity; :mod:`abidiff.rules` decides how severe each change is.

Conventions that keep reports short and true:

- a change is reported once, where it happens: a field inserted in the middle of a struct is
  one change that lists the fields whose offsets shift; a struct embedded by value in others
  is reported at the struct itself, with the records, functions and data it impacts;
- types are compared by their canonical spelling, so renaming a typedef is no change;
- a record's *layout* is in the limited API only when its definition is (a struct declared
  in the limited API but defined under ``cpython/`` is opaque there: ``PyTypeObject``);
- with headers only (no binaries on a side), a declaration removed from the headers counts
  as removed from the ABI;
- build configuration (``pyconfig.h``) and the version macros (``patchlevel.h``) are never
  layout changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from abidiff.model import (
    Binary,
    BinaryRole,
    Build,
    Enum,
    Field,
    Function,
    Macro,
    ManifestEntry,
    Record,
    RecordKind,
    Snapshot,
    StrEnum,
    SymbolKind,
    Tier,
    Variable,
    version_key,
)

CONFIG_HEADER = "pyconfig.h"
VERSION_HEADER = "patchlevel.h"


class ChangeKind(StrEnum):
    """What changed.  Each kind is one rule of the catalogue (:mod:`abidiff.rules`)."""

    BUILD_MISMATCH = "build-mismatch"
    RECORD_SIZE_CHANGED = "record-size-changed"
    FIELD_REMOVED = "field-removed"
    FIELD_ADDED = "field-added"
    FIELD_ADDED_IN_PADDING = "field-added-in-padding"
    FIELD_TYPE_CHANGED = "field-type-changed"
    FIELD_OFFSET_CHANGED = "field-offset-changed"
    BITFIELD_WIDTH_CHANGED = "bitfield-width-changed"
    FIELD_RENAMED = "field-renamed"
    RECORD_BECAME_OPAQUE = "record-became-opaque"
    RECORD_BECAME_COMPLETE = "record-became-complete"
    RECORD_REMOVED = "record-removed"
    FUNCTION_REMOVED = "function-removed"
    FUNCTION_RETURN_CHANGED = "function-return-type-changed"
    FUNCTION_PARAM_TYPE_CHANGED = "function-parameter-type-changed"
    FUNCTION_PARAM_COUNT_CHANGED = "function-parameter-count-changed"
    FUNCTION_VARIADIC_CHANGED = "function-variadic-changed"
    FUNCTION_QUALIFIERS_CHANGED = "function-qualifiers-changed"
    FUNCTION_INLINED_EXPORTED = "function-became-inline-exported"
    FUNCTION_INLINED_UNEXPORTED = "function-became-inline-unexported"
    DECLARATION_HIDDEN = "declaration-hidden"
    DECLARATION_ADDED = "declaration-added"
    VARIABLE_TYPE_CHANGED = "data-type-changed"
    VARIABLE_REMOVED = "data-removed"
    ENUMERATOR_VALUE_CHANGED = "enumerator-value-changed"
    ENUMERATOR_REMOVED = "enumerator-removed"
    ENUMERATOR_ADDED = "enumerator-added"
    ENUM_REMOVED = "enum-removed"
    MACRO_VALUE_CHANGED = "macro-value-changed"
    API_REMOVED = "macro-or-inline-removed"
    CONFIG_MACRO_CHANGED = "config-macro-changed"
    EXPORT_REMOVED = "export-removed"
    EXPORT_ADDED = "export-added"
    EXPORT_SIZE_CHANGED = "export-size-changed"
    LIMITED_REMOVED = "limited-api-removed"
    LIMITED_REMOVED_UNEXPORTED = "limited-api-removed-unexported"
    LIMITED_SINCE_EARLIER = "limited-since-earlier"
    LIMITED_UNGUARDED = "limited-api-unguarded-addition"


class EntityKind(StrEnum):
    BUILD = "build"
    RECORD = "record"
    FIELD = "field"
    FUNCTION = "function"
    DATA = "data"
    ENUM = "enum"
    ENUMERATOR = "enumerator"
    MACRO = "macro"
    TYPEDEF = "typedef"
    SYMBOL = "symbol"


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One change, at the entity where it happened.

    ``old``/``new`` describe the entity on each side (``None`` when absent); ``detail`` is a
    clause that completes the message (``"size 16 -> 24 bytes"``); ``shifted`` lists the
    fields whose offsets move because of this change; ``impacts`` the records, functions and
    data that use the changed record by value.
    """

    kind: ChangeKind
    entity: str
    entity_kind: EntityKind
    tier: Tier
    old: str | None = None
    new: str | None = None
    detail: str = ""
    shifted: tuple[str, ...] = ()
    impacts: tuple[str, ...] = ()
    header: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Diff:
    """Everything that differs between two snapshots, sorted; ``problems`` say first why the
    two builds are not comparable at all (free-threaded against default, 32 against 64 bits)."""

    old: Build
    new: Build
    headers_only: bool
    problems: tuple[str, ...] = ()
    changes: tuple[Change, ...] = ()


# -- tiers and types ---------------------------------------------------------------------

_TIER_RANK = {Tier.INTERNAL: 0, Tier.PRIVATE: 1, Tier.UNSTABLE: 2, Tier.PUBLIC: 3, Tier.LIMITED: 4}


def strongest(*tiers: Tier) -> Tier:
    """The tier with the strongest promise among ``tiers``."""
    return max(tiers, key=_TIER_RANK.__getitem__)


def tier_of_name(name: str) -> Tier:
    """The tier of a name known only by its spelling (an export without a declaration)."""
    if name.startswith("PyUnstable_"):
        return Tier.UNSTABLE
    if name.startswith("_") or name.startswith("PyInit_"):  # module init functions: not API
        return Tier.PRIVATE
    return Tier.PUBLIC


_QUALIFIER_RE = re.compile(r"\b(?:const|volatile|restrict|__restrict)\b")
_ARRAY_RE = re.compile(r"(?:\s*\[\d*\])+$")


def unqualified(canonical: str) -> str:
    """A canonical type without ``const``/``volatile``/``restrict``, spaces normalised."""
    return " ".join(_QUALIFIER_RE.sub(" ", canonical).split()).replace("* *", "**")


def value_type(canonical: str) -> str:
    """The type held by value: ``struct _object[2]`` -> ``struct _object``."""
    return _ARRAY_RE.sub("", unqualified(canonical))


def _where(offset_bits: int | None) -> str:
    if offset_bits is None:
        return "at an unknown offset"
    if offset_bits % 8 == 0:
        return f"at byte {offset_bits // 8}"
    return f"at bit {offset_bits}"


def _describe_field(name: str, item: Field) -> str:
    width = f":{item.bitfield_width}" if item.bitfield_width is not None else ""
    return f"{item.type.spelling} {name}{width} {_where(item.offset_bits)}"


def _prototype(function: Function) -> str:
    params = [param.type.spelling for param in function.params]
    if function.variadic:
        params.append("...")
    return f"{function.returns.spelling} {function.name}({', '.join(params) or 'void'})"


# -- build comparability -----------------------------------------------------------------

_SOABI_RE = re.compile(r"^cpython-(\d+)([a-z]*)(?:-(.+))?$")
_LAYOUT_FLAGS = ("Py_GIL_DISABLED", "Py_TRACE_REFS")


def _soabi_parts(soabi: str | None) -> tuple[str, str | None] | None:
    """(ABI flags, platform) of a SOABI such as ``cpython-313t-x86_64-linux-gnu``."""
    if soabi is None:
        return None
    match = _SOABI_RE.match(soabi)
    return (match.group(2), match.group(3)) if match else None


def _target_key(target: str) -> tuple[str, ...]:
    parts = target.split("-")
    return (parts[0], *parts[2:]) if len(parts) >= 3 else tuple(parts)  # the vendor is no ABI


def comparability(old: Build, new: Build) -> tuple[Change, ...]:
    """Why two builds cannot load each other's extensions whatever their headers say."""
    found: list[Change] = []

    def problem(entity: str, before: object, after: object, detail: str) -> None:
        found.append(
            Change(
                kind=ChangeKind.BUILD_MISMATCH,
                entity=entity,
                entity_kind=EntityKind.BUILD,
                tier=Tier.LIMITED,
                old=str(before),
                new=str(after),
                detail=detail,
            )
        )

    for name in _LAYOUT_FLAGS:
        before, after = old.config_value(name), new.config_value(name)
        if before is not None and after is not None and bool(before) != bool(after):
            problem(name, before, after, "the object layout differs between the two builds")
    if old.pointer_size != new.pointer_size:
        problem("pointer size", old.pointer_size, new.pointer_size, "32-bit and 64-bit builds")
    if _target_key(old.target) != _target_key(new.target):
        problem("target", old.target, new.target, "builds for different targets")
    old_abi, new_abi = _soabi_parts(old.soabi), _soabi_parts(new.soabi)
    if old_abi is not None and new_abi is not None:
        if old_abi[0] != new_abi[0]:
            problem("ABI flags", old_abi[0] or "(none)", new_abi[0] or "(none)", "SOABI flags differ")
        if old_abi[1] and new_abi[1] and old_abi[1] != new_abi[1]:
            problem("SOABI platform", old_abi[1], new_abi[1], "SOABI platforms differ")
    return tuple(found)


# -- exports -----------------------------------------------------------------------------

_EXPORTING_ROLES = (BinaryRole.LIBPYTHON, BinaryRole.INTERPRETER, BinaryRole.STABLE_ABI)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Export:
    name: str
    kind: SymbolKind
    size: int | None
    stable: bool  # exported by the stable-ABI library (python3.dll, libpython3.so)


def exports_of(binaries: Iterable[Binary]) -> dict[str, _Export] | None:
    """Exported names of a snapshot's binaries, or None when it has none (headers only)."""
    binaries = tuple(binaries)
    if not binaries:
        return None
    found: dict[str, _Export] = {}
    for binary in binaries:
        if binary.role not in _EXPORTING_ROLES and binary.role != BinaryRole.OTHER:
            continue
        stable = binary.role == BinaryRole.STABLE_ABI
        for symbol in binary.symbols:
            known = found.get(symbol.name)
            if known is None:
                found[symbol.name] = _Export(name=symbol.name, kind=symbol.kind, size=symbol.size, stable=stable)
            elif stable and not known.stable:
                found[symbol.name] = _Export(name=known.name, kind=known.kind, size=known.size, stable=True)
            elif not stable and known.stable and symbol.size is not None:
                found[symbol.name] = _Export(name=known.name, kind=symbol.kind, size=symbol.size, stable=True)
    return found


# -- records ------------------------------------------------------------------------------


def layout_tier(record: Record, manifest: Mapping[str, ManifestEntry]) -> Tier:
    """The tier of a record's *layout*.

    A record named in the limited API is often opaque there (``PyTypeObject``,
    ``PyThreadState``): limited-API users see only the name, so its layout is a full-ABI
    matter.  The stable ABI manifest, when the snapshot has one, says it exactly
    (``struct_abi_kind``); otherwise the headers do (``Record.limited_layout_since``: the
    first ``Py_LIMITED_API`` level at which the record is complete).
    """
    if record.tier != Tier.LIMITED:
        return record.tier
    entry = manifest.get(record.display_name) or manifest.get(record.name)
    if entry is not None and entry.struct_abi_kind is not None:
        return Tier.LIMITED if entry.struct_abi_kind in ("full-abi", "members") else Tier.PUBLIC
    return Tier.LIMITED if record.limited_layout_since is not None else Tier.PUBLIC


def flatten(fields: Iterable[Field], prefix: str = "") -> Iterator[tuple[str, Field]]:
    """Leaf fields with their C access path: members of an unnamed member are the record's
    own (``ob_refcnt``), members of a named one are qualified (``state.kind``)."""
    unnamed = 0
    for item in fields:
        if item.members:
            inner = f"{prefix}{item.name}." if item.name else prefix
            yield from flatten(item.members, inner)
        elif item.name:
            yield f"{prefix}{item.name}", item
        elif item.bitfield_width is not None:
            continue  # an unnamed bit-field (``unsigned int :24;``) is padding, not a field
        else:  # an unnamed member the reader could not open: still part of the layout
            unnamed += 1
            yield f"{prefix}(unnamed {unnamed})", item


def _field_bits(item: Field) -> range | None:
    if item.offset_bits is None or item.size_bits is None:
        return None
    return range(item.offset_bits, item.offset_bits + item.size_bits)


def union_members(fields: Iterable[Field], prefix: str = "", in_union: bool = False) -> set[str]:
    """Access paths (as :func:`flatten` gives them) of the fields that are members of a
    union: they share storage with their siblings by design."""
    found: set[str] = set()
    for item in fields:
        if item.members:
            inner = f"{prefix}{item.name}." if item.name else prefix
            found |= union_members(item.members, inner, item.type.canonical.startswith("union "))
        elif item.name and in_union:
            found.add(f"{prefix}{item.name}")
    return found


def _overlays_union(name: str, candidate: Field, old_fields: Iterable[Field], new_unions: set[str]) -> bool:
    """A new member of a union that lies within the storage of that union's old members
    (3.12's ``ob_refcnt_split`` beside ``ob_refcnt``): no old field moves."""
    bits = _field_bits(candidate)
    if name not in new_unions or bits is None:
        return False
    return any(
        (other := _field_bits(item)) is not None and other.start <= bits.start and bits.stop <= other.stop
        for item in old_fields
    )


def _in_padding(candidate: Field, old_fields: Iterable[Field], old_size: int | None) -> bool:
    bits = _field_bits(candidate)
    if bits is None or old_size is None or bits.stop > old_size * 8:
        return False
    return all(
        (other := _field_bits(item)) is not None and (bits.stop <= other.start or other.stop <= bits.start)
        for item in old_fields
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Primary:
    """A field-level change that may move the fields after it."""

    kind: ChangeKind
    name: str
    position: int  # bit offset in the old layout where it happens
    old: str | None
    new: str | None
    detail: str = ""


def _record_changes(
    old: Record,
    new: Record,
    grown_records: frozenset[str],
) -> tuple[list[_Primary], list[tuple[str, Field, Field]], bool]:
    """Field-level changes of one record: the primary changes, the fields that only moved,
    and whether an embedded record that is reported on its own explains a size change."""
    before = dict(flatten(old.fields))
    after = dict(flatten(new.fields))
    primaries: list[_Primary] = []
    moved: list[tuple[str, Field, Field]] = []
    explained = False
    removed = [name for name in before if name not in after]
    added = [name for name in after if name not in before]
    renamed: dict[str, str] = {}
    for gone in removed:
        for name in added:
            a, b = before[gone], after[name]
            if (
                name not in renamed.values()
                and a.offset_bits == b.offset_bits
                and a.size_bits == b.size_bits
                and a.bitfield_width == b.bitfield_width
                and unqualified(a.type.canonical) == unqualified(b.type.canonical)
            ):
                renamed[gone] = name
                break
    for gone, name in renamed.items():
        primaries.append(
            _Primary(
                kind=ChangeKind.FIELD_RENAMED,
                name=name,
                position=before[gone].offset_bits or 0,
                old=_describe_field(gone, before[gone]),
                new=_describe_field(name, after[name]),
                detail=f"renamed from {gone}",
            )
        )
    for gone in removed:
        if gone in renamed:
            continue
        item = before[gone]
        primaries.append(
            _Primary(
                kind=ChangeKind.FIELD_REMOVED,
                name=gone,
                position=item.offset_bits or 0,
                old=_describe_field(gone, item),
                new=None,
            )
        )
    new_unions = union_members(new.fields, in_union=new.kind == RecordKind.UNION)
    for name in added:
        if name in renamed.values():
            continue
        item = after[name]
        padding = new.size == old.size and (
            _in_padding(item, before.values(), old.size) or _overlays_union(name, item, before.values(), new_unions)
        )
        primaries.append(
            _Primary(
                kind=ChangeKind.FIELD_ADDED_IN_PADDING if padding else ChangeKind.FIELD_ADDED,
                name=name,
                position=item.offset_bits or 0,
                old=None,
                new=_describe_field(name, item),
            )
        )
    for name, a in before.items():
        if name not in after:
            continue
        b = after[name]
        same_type = unqualified(a.type.canonical) == unqualified(b.type.canonical)
        if not same_type:
            primaries.append(
                _Primary(
                    kind=ChangeKind.FIELD_TYPE_CHANGED,
                    name=name,
                    position=a.offset_bits or 0,
                    old=_describe_field(name, a),
                    new=_describe_field(name, b),
                    detail=f"type {a.type.canonical} -> {b.type.canonical}",
                )
            )
        elif a.bitfield_width != b.bitfield_width:
            primaries.append(
                _Primary(
                    kind=ChangeKind.BITFIELD_WIDTH_CHANGED,
                    name=name,
                    position=a.offset_bits or 0,
                    old=_describe_field(name, a),
                    new=_describe_field(name, b),
                    detail=f"width {a.bitfield_width} -> {b.bitfield_width} bits",
                )
            )
        elif a.size_bits != b.size_bits:
            if value_type(a.type.canonical) in grown_records:
                explained = True  # the embedded record is reported where it changed
                primaries.append(
                    _Primary(
                        kind=ChangeKind.RECORD_SIZE_CHANGED, name="", position=a.offset_bits or 0, old=None, new=None
                    )
                )
            else:
                primaries.append(
                    _Primary(
                        kind=ChangeKind.FIELD_TYPE_CHANGED,
                        name=name,
                        position=a.offset_bits or 0,
                        old=_describe_field(name, a),
                        new=_describe_field(name, b),
                        detail=f"the size of {a.type.spelling} changed: {a.size_bits} -> {b.size_bits} bits",
                    )
                )
        if a.offset_bits != b.offset_bits:
            moved.append((name, a, b))
    return primaries, moved, explained


def _size_clause(old: Record, new: Record) -> str:
    parts = []
    if old.size != new.size:
        parts.append(f"size {old.size} -> {new.size} bytes")
    if old.align != new.align:
        parts.append(f"alignment {old.align} -> {new.align} bytes")
    return "; ".join(parts)


def _layout_signature(record: Record) -> tuple[object, ...]:
    return (
        record.complete,
        record.size,
        record.align,
        tuple(
            (name, unqualified(item.type.canonical), item.offset_bits, item.size_bits, item.bitfield_width)
            for name, item in flatten(record.fields)
        ),
    )


class _Uses:
    """Who uses a record by value in a snapshot: records (embedding, transitively), functions
    (parameters and return values) and data."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.records = {record.name: record for record in snapshot.records}
        self.embedders: dict[str, set[str]] = {}
        self.first_field_of: dict[str, set[str]] = {}
        for record in snapshot.records:
            for index, (_name, item) in enumerate(flatten(record.fields)):
                target = value_type(item.type.canonical)
                if target in self.records and target != record.name:
                    self.embedders.setdefault(target, set()).add(record.name)
                    if index == 0 and item.offset_bits == 0:
                        self.first_field_of.setdefault(target, set()).add(record.name)
        self.functions: dict[str, set[str]] = {}
        for function in snapshot.functions:
            for ref in (function.returns, *(param.type for param in function.params)):
                self.functions.setdefault(value_type(ref.canonical), set()).add(function.name)
        self.data: dict[str, set[str]] = {}
        for variable in snapshot.variables:
            self.data.setdefault(value_type(variable.type.canonical), set()).add(variable.name)

    def closure(self, name: str) -> list[str]:
        """Record names that embed ``name`` by value, directly or through another record."""
        seen: set[str] = set()
        todo = [name]
        while todo:
            for user in self.embedders.get(todo.pop(), ()):
                if user not in seen and user != name:
                    seen.add(user)
                    todo.append(user)
        return sorted(seen)

    def impacts(self, name: str) -> tuple[str, ...]:
        out = []
        names = [name, *self.closure(name)]
        embedders = sorted(names[1:], key=lambda n: self.records[n].display_name)
        for record_name in embedders:
            # "(head)": starts with the changed record, as PyObject_HEAD users start with PyObject
            how = " (head)" if self._starts_with_any(record_name, names) else ""
            out.append(f"struct {self.records[record_name].display_name}{how}")
        for record_name in names:
            out += [f"function {fn}" for fn in sorted(self.functions.get(record_name, ()))]
            out += [f"data {var}" for var in sorted(self.data.get(record_name, ()))]
        return tuple(dict.fromkeys(out))

    def _starts_with_any(self, user: str, names: list[str]) -> bool:
        return any(user in self.first_field_of.get(name, ()) for name in names)

    def tier(self, name: str, manifest: Mapping[str, ManifestEntry]) -> Tier:
        tiers = [layout_tier(self.records[n], manifest) for n in (name, *self.closure(name)) if n in self.records]
        return strongest(*tiers) if tiers else Tier.PRIVATE


def _match_records(old: Snapshot, new: Snapshot) -> tuple[list[tuple[Record, Record]], list[Record], list[Record]]:
    new_by_name = {record.name: record for record in new.records}
    pairs: list[tuple[Record, Record]] = []
    gone: list[Record] = []
    for record in old.records:
        if record.name in new_by_name:
            pairs.append((record, new_by_name.pop(record.name)))
        else:
            gone.append(record)
    by_display = {record.display_name: record for record in new_by_name.values()}
    still_gone = []
    for record in gone:  # a struct tag renamed behind the same typedef: struct _foo -> struct _bar
        match = by_display.pop(record.display_name, None) if record.aliases else None
        if match is not None:
            new_by_name.pop(match.name, None)
            pairs.append((record, match))
        else:
            still_gone.append(record)
    return pairs, still_gone, sorted(new_by_name.values(), key=lambda r: r.name)


def changed_layouts(old: Snapshot, new: Snapshot) -> frozenset[str]:
    """Names of the records (in ``old``) whose layout differs in ``new``."""
    pairs, _gone, _added = _match_records(old, new)
    return frozenset(
        a.name for a, b in pairs if a.complete and b.complete and _layout_signature(a) != _layout_signature(b)
    )


def _diff_records(old: Snapshot, new: Snapshot) -> list[Change]:
    manifest = {entry.name: entry for entry in old.manifest if entry.kind == "struct"}
    uses = _Uses(old)
    pairs, gone, added = _match_records(old, new)
    grown = changed_layouts(old, new)
    changes: list[Change] = []
    new_names = {record.name for record in new.records} | {alias for r in new.records for alias in r.aliases}
    for record in gone:
        if record.display_name in new_names or not record.complete:
            continue  # a forward declaration removed says nothing: its users are reported
        changes.append(
            Change(
                kind=ChangeKind.RECORD_REMOVED,
                entity=record.display_name,
                entity_kind=EntityKind.RECORD,
                tier=record.tier,
                old=record.name,
                header=record.header,
                impacts=uses.impacts(record.name),
            )
        )
    for record in added:
        changes.append(
            Change(
                kind=ChangeKind.DECLARATION_ADDED,
                entity=record.display_name,
                entity_kind=EntityKind.RECORD,
                tier=record.tier,
                new=record.name,
                header=record.header,
            )
        )
    for a, b in pairs:
        changes += _diff_record_pair(a, b, uses, manifest, grown)
    return changes


def _diff_record_pair(
    a: Record, b: Record, uses: _Uses, manifest: Mapping[str, ManifestEntry], grown: frozenset[str]
) -> list[Change]:
    name = a.display_name
    tier = uses.tier(a.name, manifest)
    if a.complete and not b.complete:
        return [
            Change(
                kind=ChangeKind.RECORD_BECAME_OPAQUE,
                entity=name,
                entity_kind=EntityKind.RECORD,
                tier=tier,
                old=f"{a.size} bytes",
                new="opaque",
                header=b.header,
                impacts=uses.impacts(a.name),
            )
        ]
    if b.complete and not a.complete:
        return [
            Change(
                kind=ChangeKind.RECORD_BECAME_COMPLETE,
                entity=name,
                entity_kind=EntityKind.RECORD,
                tier=b.tier,
                old="opaque",
                new=f"{b.size} bytes",
                header=b.header,
            )
        ]
    if not a.complete or _layout_signature(a) == _layout_signature(b):
        return []
    primaries, moved, explained = _record_changes(a, b, grown)
    size_clause = _size_clause(a, b)
    impacts = uses.impacts(a.name) if (size_clause or moved) else ()
    reported = sorted(
        (p for p in primaries if p.kind != ChangeKind.RECORD_SIZE_CHANGED), key=lambda p: (p.position, p.name)
    )
    # shifted fields go to the nearest change before them in the old layout
    shifted: dict[int, list[str]] = {index: [] for index in range(len(reported))}
    orphans: list[tuple[str, Field, Field]] = []
    for field_name, old_field, new_field in moved:
        causes = [
            i for i, p in enumerate(reported) if p.position <= (old_field.offset_bits or 0) and p.name != field_name
        ]
        covered = any(
            p.kind == ChangeKind.RECORD_SIZE_CHANGED and p.position < (old_field.offset_bits or 0) for p in primaries
        )
        if causes:
            shifted[max(causes, key=lambda i: (reported[i].position, i))].append(field_name)
        elif not covered:
            orphans.append((field_name, old_field, new_field))
    changes = []
    for index, primary in enumerate(reported):
        detail = "; ".join(part for part in (primary.detail, size_clause if index == 0 else "") if part)
        compatible = primary.kind in (ChangeKind.FIELD_ADDED_IN_PADDING, ChangeKind.FIELD_RENAMED)
        changes.append(
            Change(
                kind=primary.kind,
                entity=f"{name}.{primary.name}",
                entity_kind=EntityKind.FIELD,
                tier=tier,
                old=primary.old,
                new=primary.new,
                detail=detail,
                shifted=tuple(shifted[index]),
                impacts=() if compatible else impacts,
                header=b.header,
            )
        )
    for field_name, old_field, new_field in orphans:
        changes.append(
            Change(
                kind=ChangeKind.FIELD_OFFSET_CHANGED,
                entity=f"{name}.{field_name}",
                entity_kind=EntityKind.FIELD,
                tier=tier,
                old=_describe_field(field_name, old_field),
                new=_describe_field(field_name, new_field),
                detail=size_clause if not changes else "",
                impacts=impacts,
                header=b.header,
            )
        )
    if size_clause and not changes and not explained:
        changes.append(
            Change(
                kind=ChangeKind.RECORD_SIZE_CHANGED,
                entity=name,
                entity_kind=EntityKind.RECORD,
                tier=tier,
                old=f"size {a.size}, alignment {a.align}",
                new=f"size {b.size}, alignment {b.align}",
                detail=size_clause,
                impacts=impacts,
                header=b.header,
            )
        )
    return changes


# -- functions and data -------------------------------------------------------------------


def _removal(
    kind: ChangeKind,
    entity_kind: EntityKind,
    name: str,
    tier: Tier,
    header: str,
    old: str,
    new_exports: Mapping[str, _Export] | None,
) -> Change:
    """A function or data removed from the headers: removed from the ABI unless still exported."""
    if new_exports is not None and name in new_exports:
        return Change(
            kind=ChangeKind.DECLARATION_HIDDEN,
            entity=name,
            entity_kind=entity_kind,
            tier=tier,
            old=old,
            detail="removed from the headers, still exported",
            header=header,
        )
    detail = (
        "removed from the headers (headers only: counted as removed from the ABI)"
        if new_exports is None
        else "removed from the headers and the exports"
    )
    return Change(kind=kind, entity=name, entity_kind=entity_kind, tier=tier, old=old, detail=detail, header=header)


def _signature_changes(a: Function, b: Function) -> list[Change]:
    def change(kind: ChangeKind, detail: str) -> Change:
        return Change(
            kind=kind,
            entity=a.name,
            entity_kind=EntityKind.FUNCTION,
            tier=a.tier,
            old=_prototype(a),
            new=_prototype(b),
            detail=detail,
            header=b.header,
        )

    changes = []
    qualifiers = a.returns.canonical != b.returns.canonical
    if unqualified(a.returns.canonical) != unqualified(b.returns.canonical):
        changes.append(
            change(ChangeKind.FUNCTION_RETURN_CHANGED, f"returns {a.returns.canonical} -> {b.returns.canonical}")
        )
        qualifiers = False
    if len(a.params) != len(b.params):
        changes.append(
            change(ChangeKind.FUNCTION_PARAM_COUNT_CHANGED, f"{len(a.params)} -> {len(b.params)} parameters")
        )
    else:
        differing = []
        for number, (p, q) in enumerate(zip(a.params, b.params, strict=True), start=1):
            if unqualified(p.type.canonical) != unqualified(q.type.canonical):
                label = f"parameter {number}" + (f" ({q.name or p.name})" if (q.name or p.name) else "")
                differing.append(f"{label}: {p.type.canonical} -> {q.type.canonical}")
            elif p.type.canonical != q.type.canonical:
                qualifiers = True
        if differing:
            changes.append(change(ChangeKind.FUNCTION_PARAM_TYPE_CHANGED, "; ".join(differing)))
    if a.variadic != b.variadic:
        changes.append(
            change(ChangeKind.FUNCTION_VARIADIC_CHANGED, "became variadic" if b.variadic else "no longer variadic")
        )
    if qualifiers and not changes:
        changes.append(change(ChangeKind.FUNCTION_QUALIFIERS_CHANGED, "only const/volatile qualifiers differ"))
    return changes


def _diff_functions(
    old: Snapshot, new: Snapshot, new_exports: Mapping[str, _Export] | None
) -> tuple[list[Change], set[str]]:
    """Changes to functions, and the names whose export status they already reported."""
    before = {function.name: function for function in old.functions}
    after = {function.name: function for function in new.functions}
    macros = {macro.name: macro for macro in new.macros}
    changes: list[Change] = []
    spoken: set[str] = set()
    for name, a in before.items():
        b = after.get(name)
        if a.inline:
            if b is None and name not in macros:
                changes.append(
                    Change(
                        kind=ChangeKind.API_REMOVED,
                        entity=name,
                        entity_kind=EntityKind.FUNCTION,
                        tier=a.tier,
                        old=f"static inline {_prototype(a)}",
                        header=a.header,
                    )
                )
            continue
        if b is None and name not in macros:
            changes.append(
                _removal(
                    ChangeKind.FUNCTION_REMOVED, EntityKind.FUNCTION, name, a.tier, a.header, _prototype(a), new_exports
                )
            )
            spoken.add(name)
            continue
        if b is None or b.inline:
            became = "a macro" if b is None else "a static inline function"
            exported = new_exports is None or name in new_exports
            unknown = new_exports is None
            if unknown:
                exported = False  # headers only: the declaration left the headers
            changes.append(
                Change(
                    kind=ChangeKind.FUNCTION_INLINED_EXPORTED if exported else ChangeKind.FUNCTION_INLINED_UNEXPORTED,
                    entity=name,
                    entity_kind=EntityKind.FUNCTION,
                    tier=a.tier,
                    old=_prototype(a),
                    new=became if b is None else f"static inline {_prototype(b)}",
                    detail=f"became {became}"
                    + (
                        ", still exported"
                        if exported
                        else " (headers only: counted as no longer exported)"
                        if unknown
                        else ", no longer exported"
                    ),
                    header=(b.header if b is not None else macros[name].header),
                )
            )
            spoken.add(name)
            continue
        changes += _signature_changes(a, b)
    for name, b in after.items():
        if name not in before and not b.inline:
            changes.append(
                Change(
                    kind=ChangeKind.DECLARATION_ADDED,
                    entity=name,
                    entity_kind=EntityKind.FUNCTION,
                    tier=b.tier,
                    new=_prototype(b),
                    header=b.header,
                )
            )
    return changes, spoken


def _describe_variable(variable: Variable) -> str:
    size = f" ({variable.size} bytes)" if variable.size is not None else ""
    return f"{variable.type.spelling} {variable.name}{size}"


def _diff_variables(
    old: Snapshot, new: Snapshot, new_exports: Mapping[str, _Export] | None, changed_records: frozenset[str]
) -> tuple[list[Change], set[str]]:
    before = {variable.name: variable for variable in old.variables}
    after = {variable.name: variable for variable in new.variables}
    changes: list[Change] = []
    spoken: set[str] = set()
    for name, a in before.items():
        b = after.get(name)
        if b is None:
            changes.append(
                _removal(
                    ChangeKind.VARIABLE_REMOVED,
                    EntityKind.DATA,
                    name,
                    a.tier,
                    a.header,
                    _describe_variable(a),
                    new_exports,
                )
            )
            spoken.add(name)
        elif unqualified(a.type.canonical) != unqualified(b.type.canonical) or (
            a.size is not None
            and b.size is not None
            and a.size != b.size
            and value_type(a.type.canonical) not in changed_records  # reported at the record
        ):
            detail = f"type {a.type.canonical} -> {b.type.canonical}"
            if a.size != b.size:
                detail += f"; size {a.size} -> {b.size} bytes"
            changes.append(
                Change(
                    kind=ChangeKind.VARIABLE_TYPE_CHANGED,
                    entity=name,
                    entity_kind=EntityKind.DATA,
                    tier=a.tier,
                    old=_describe_variable(a),
                    new=_describe_variable(b),
                    detail=detail,
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
                    new=_describe_variable(b),
                    header=b.header,
                )
            )
    return changes, spoken


# -- enums and macros ---------------------------------------------------------------------


def _enum_label(enum_: Enum) -> str:
    return enum_.aliases[0] if enum_.aliases else enum_.name


def _diff_enums(old: Snapshot, new: Snapshot) -> list[Change]:
    after = {item.name: (item.value, enum_) for enum_ in new.enums for item in enum_.enumerators}
    changes: list[Change] = []
    for enum_ in old.enums:
        label = _enum_label(enum_)
        gone = [item for item in enum_.enumerators if item.name not in after]
        if gone and len(gone) == len(enum_.enumerators):
            changes.append(
                Change(
                    kind=ChangeKind.ENUM_REMOVED,
                    entity=label,
                    entity_kind=EntityKind.ENUM,
                    tier=enum_.tier,
                    old=", ".join(item.name for item in gone),
                    header=enum_.header,
                )
            )
            continue
        for item in enum_.enumerators:
            if item.name not in after:
                changes.append(
                    Change(
                        kind=ChangeKind.ENUMERATOR_REMOVED,
                        entity=item.name,
                        entity_kind=EntityKind.ENUMERATOR,
                        tier=enum_.tier,
                        old=f"{item.name} = {item.value}",
                        detail=f"of {label}",
                        header=enum_.header,
                    )
                )
            elif after[item.name][0] != item.value:
                changes.append(
                    Change(
                        kind=ChangeKind.ENUMERATOR_VALUE_CHANGED,
                        entity=item.name,
                        entity_kind=EntityKind.ENUMERATOR,
                        tier=enum_.tier,
                        old=str(item.value),
                        new=str(after[item.name][0]),
                        detail=f"of {label}",
                        header=enum_.header,
                    )
                )
        known = {item.name for item in enum_.enumerators}
        successors = {after[item.name][1].name for item in enum_.enumerators if item.name in after}
        for new_enum in new.enums:
            if new_enum.name not in successors:
                continue
            for item in new_enum.enumerators:
                if item.name not in known:
                    changes.append(
                        Change(
                            kind=ChangeKind.ENUMERATOR_ADDED,
                            entity=item.name,
                            entity_kind=EntityKind.ENUMERATOR,
                            tier=new_enum.tier,
                            new=f"{item.name} = {item.value}",
                            detail=f"of {_enum_label(new_enum)}",
                            header=new_enum.header,
                        )
                    )
    return changes


def _diff_macros(old: Snapshot, new: Snapshot) -> list[Change]:
    after = {macro.name: macro for macro in new.macros}
    declared = {function.name for function in new.functions} | {variable.name for variable in new.variables}
    declared |= {typedef.name for typedef in new.typedefs}
    changes: list[Change] = []

    def config_change(name: str, a: Macro | None, b: Macro | None) -> Change:
        def show(macro: Macro | None) -> str | None:
            if macro is None:
                return None
            return str(macro.value) if macro.value is not None else "defined"

        return Change(
            kind=ChangeKind.CONFIG_MACRO_CHANGED,
            entity=name,
            entity_kind=EntityKind.MACRO,
            tier=Tier.PRIVATE,
            old=show(a),
            new=show(b),
            header=CONFIG_HEADER,
        )

    for a in old.macros:
        if a.header == VERSION_HEADER or is_include_guard(a):
            continue  # the version itself is the builds' identity; include guards are no API
        b = after.get(a.name)
        if a.header == CONFIG_HEADER or (b is not None and b.header == CONFIG_HEADER):
            if b is None or a.value != b.value or a.function_like != b.function_like:
                changes.append(config_change(a.name, a, b))
            continue
        if b is None:
            if a.name not in declared:
                changes.append(
                    Change(
                        kind=ChangeKind.API_REMOVED,
                        entity=a.name,
                        entity_kind=EntityKind.MACRO,
                        tier=a.tier,
                        old=f"{a.name} = {a.value}" if a.value is not None else a.name,
                        header=a.header,
                    )
                )
            continue
        if a.value is not None and b.value is not None and a.value != b.value and not a.function_like:
            changes.append(
                Change(
                    kind=ChangeKind.MACRO_VALUE_CHANGED,
                    entity=a.name,
                    entity_kind=EntityKind.MACRO,
                    tier=a.tier,
                    old=_macro_value(a.value),
                    new=_macro_value(b.value),
                    header=b.header,
                )
            )
    before = {macro.name for macro in old.macros}
    for b in new.macros:
        if b.header == CONFIG_HEADER and b.name not in before:
            changes.append(config_change(b.name, None, b))
    return changes


_INCLUDE_GUARD_RE = re.compile(r"^_*[A-Za-z]\w*_H_*$")


def is_include_guard(macro: Macro) -> bool:
    """``Py_OBJECT_H``, ``PYMACCONFIG_H``: an include guard, never API."""
    return macro.value is None and not macro.function_like and bool(_INCLUDE_GUARD_RE.match(macro.name))


def _macro_value(value: int) -> str:
    return f"{value} (0x{value:X})" if value > 9 else str(value)


# -- exports ------------------------------------------------------------------------------


def _export_tier(name: str, declared: Mapping[str, Tier], export: _Export) -> Tier:
    """The tier of an export: the stable-ABI library's are limited; a declared one has the
    tier of its declaration; one that no public header declares (3.12's
    ``PySymtable_Lookup``, declared only in ``Include/internal/``) promises nothing, whatever
    its spelling; with no headers to tell, the spelling decides."""
    if export.stable:
        return Tier.LIMITED
    if name in declared:
        return declared[name]
    if declared:
        return Tier.PRIVATE
    return tier_of_name(name)


def _diff_exports(
    old: Snapshot,
    before: Mapping[str, _Export],
    after: Mapping[str, _Export],
    spoken: set[str],
) -> list[Change]:
    declared: dict[str, Tier] = {function.name: function.tier for function in old.functions}
    declared.update((variable.name, variable.tier) for variable in old.variables)
    changes: list[Change] = []
    for name, a in before.items():
        b = after.get(name)
        tier = _export_tier(name, declared, a)
        if b is None:
            if name in spoken:
                continue
            changes.append(
                Change(
                    kind=ChangeKind.EXPORT_REMOVED,
                    entity=name,
                    entity_kind=EntityKind.SYMBOL,
                    tier=tier,
                    old=str(a.kind),
                )
            )
        elif a.stable and not b.stable and name not in spoken:
            changes.append(
                Change(
                    kind=ChangeKind.EXPORT_REMOVED,
                    entity=name,
                    entity_kind=EntityKind.SYMBOL,
                    tier=Tier.LIMITED,
                    old=f"{a.kind} in the stable-ABI library",
                    new=f"{b.kind}, not in the stable-ABI library",
                )
            )
        elif (
            a.kind == SymbolKind.DATA
            and a.size is not None
            and b.size is not None
            and a.size != b.size
            and name not in spoken
        ):
            changes.append(
                Change(
                    kind=ChangeKind.EXPORT_SIZE_CHANGED,
                    entity=name,
                    entity_kind=EntityKind.SYMBOL,
                    tier=tier,
                    old=f"{a.size} bytes",
                    new=f"{b.size} bytes",
                )
            )
    for name, b in after.items():
        if name not in before:
            changes.append(
                Change(
                    kind=ChangeKind.EXPORT_ADDED,
                    entity=name,
                    entity_kind=EntityKind.SYMBOL,
                    tier=Tier.LIMITED if b.stable else tier_of_name(name),
                    new=str(b.kind),
                )
            )
    return changes


# -- the limited API ----------------------------------------------------------------------


_Declared = Record | Function | Variable | Enum | Macro


def _limited_entities(snapshot: Snapshot) -> dict[tuple[EntityKind, str], _Declared]:
    found: dict[tuple[EntityKind, str], _Declared] = {}
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


def _display(entity: _Declared) -> str:
    if isinstance(entity, Record):
        return entity.display_name
    if isinstance(entity, Enum):
        return _enum_label(entity)
    return entity.name


def _diff_limited(
    old: Snapshot, new: Snapshot, new_exports: Mapping[str, _Export] | None
) -> tuple[list[Change], set[str]]:
    before = _limited_entities(old)
    after = _limited_entities(new)
    feature = new.build.feature_version
    old_since_by_name = _since_by_name(before.values())
    new_since_by_name = _since_by_name(after.values())
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
                and _needs_export(b)
                and version_key(new_since) < version_key(feature)
            ):
                changes.append(
                    Change(
                        kind=ChangeKind.LIMITED_UNGUARDED,
                        entity=_display(b),
                        entity_kind=entity_kind,
                        tier=Tier.LIMITED,
                        old=None if a is None else "not in the limited API",
                        new=f"limited API since {new_since}",
                        detail=f"visible with Py_LIMITED_API={new_since} though new in {feature}",
                        header=b.header,
                    )
                )
            continue
        if new_since is not None and version_key(new_since) < version_key(old_since):
            changes.append(
                Change(
                    kind=ChangeKind.LIMITED_SINCE_EARLIER,
                    entity=_display(b),
                    entity_kind=entity_kind,
                    tier=Tier.LIMITED,
                    old=f"limited API since {old_since}",
                    new=f"limited API since {new_since}",
                    header=b.header,
                )
            )
            continue
        if new_since is not None and new_since == old_since:
            continue
        best = new_since_by_name.get(name)
        if best is not None and version_key(best) <= version_key(old_since):
            continue  # still in the limited API under another form (a macro became an inline function)
        if isinstance(b, Function) and b.inline:
            continue  # reported as a function that became inline
        left = f"{old_since}" + (f" to {_previous(new_since, old.limited_levels)}" if new_since else " and later")
        exported = True
        if isinstance(b, (Function, Variable)):
            exported = new_exports is None or name in new_exports
        changes.append(
            Change(
                kind=ChangeKind.LIMITED_REMOVED if exported else ChangeKind.LIMITED_REMOVED_UNEXPORTED,
                entity=_display(b),
                entity_kind=entity_kind,
                tier=Tier.LIMITED,
                old=f"limited API since {old_since}",
                new=f"limited API since {new_since}" if new_since else "not in the limited API",
                detail=f"left the limited API of {left}"
                + (", still exported" if exported and isinstance(b, (Function, Variable)) else ""),
                header=b.header,
            )
        )
        spoken.add(name)
    return changes, spoken


def _needs_export(entity: _Declared) -> bool:
    """Functions and data need the runtime to export them: only they fail to load when used
    at a ``Py_LIMITED_API`` older than the version that added them."""
    return isinstance(entity, Variable) or (isinstance(entity, Function) and not entity.inline)


def _since_by_name(entities: Iterable[_Declared]) -> dict[str, str]:
    """The lowest ``limited_since`` of each name, whatever kind of declaration carries it."""
    found: dict[str, str] = {}
    for entity in entities:
        since = entity.limited_since
        if since is None:
            continue
        name = entity.name
        if name not in found or version_key(since) < version_key(found[name]):
            found[name] = since
    return found


def _previous(version: str, levels: tuple[str, ...]) -> str:
    earlier = [level for level in levels if version_key(level) < version_key(version)]
    return earlier[-1] if earlier else version


# -- the whole diff -----------------------------------------------------------------------


def _sort_key(change: Change) -> tuple[str, str, str, str, str]:
    return (change.entity, str(change.kind), change.old or "", change.new or "", change.detail)


def diff(old: Snapshot, new: Snapshot) -> Diff:
    """Every change between ``old`` and ``new``, each once, at the entity where it happens."""
    problems = comparability(old.build, new.build)
    old_exports = exports_of(old.binaries)
    new_exports = exports_of(new.binaries)
    headers_only = old_exports is None or new_exports is None
    function_changes, spoken_functions = _diff_functions(old, new, new_exports)
    changed = changed_layouts(old, new)
    variable_changes, spoken_variables = _diff_variables(old, new, new_exports, changed)
    # data objects of a record type whose layout change is reported at the record (every
    # PyXxx_Type when PyTypeObject grows): their size change is that change, not another
    spoken_variables |= {v.name for v in old.variables if value_type(v.type.canonical) in changed}
    limited_changes, spoken_limited = _diff_limited(old, new, new_exports)
    changes = [
        *_diff_records(old, new),
        *function_changes,
        *variable_changes,
        *_diff_enums(old, new),
        *_diff_macros(old, new),
        *limited_changes,
    ]
    if old_exports is not None and new_exports is not None:
        changes += _diff_exports(old, old_exports, new_exports, spoken_functions | spoken_variables | spoken_limited)
    return Diff(
        old=old.build,
        new=new.build,
        headers_only=headers_only,
        problems=tuple(f"{change.entity}: {change.old} -> {change.new} ({change.detail})" for change in problems),
        changes=(*problems, *sorted(set(changes), key=_sort_key)),
    )
