"""Structs and unions: layouts compared field by field, each change reported once, where it
happens, with the fields it moves and what embeds the record by value."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from abidiff.changes import Change, ChangeKind, EntityKind
from abidiff.diff.common import TypeMatch, change_at, flatten, strongest, tagless, type_key, value_type
from abidiff.model import Field, ManifestEntry, Record, RecordKind, Snapshot, Tier


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
    """A field-level change that may move the fields after it (``old``/``new``: the field
    on each side, named by its access path)."""

    kind: ChangeKind
    name: str
    position: int  # bit offset in the old layout where it happens
    old: Field | None
    new: Field | None


def _renames(before: Mapping[str, Field], after: Mapping[str, Field], types: TypeMatch) -> dict[str, str]:
    """Fields that only changed name: same type, offset, size and width."""
    added = [name for name in after if name not in before]
    renamed: dict[str, str] = {}
    for gone in (name for name in before if name not in after):
        for name in added:
            a, b = before[gone], after[name]
            if (
                name not in renamed.values()
                and a.offset_bits == b.offset_bits
                and a.size_bits == b.size_bits
                and a.bitfield_width == b.bitfield_width
                and types.same(a.type.canonical, b.type.canonical)
            ):
                renamed[gone] = name
                break
    return renamed


def _changed_field(name: str, a: Field, b: Field, grown_records: frozenset[str], types: TypeMatch) -> _Primary | None:
    """The change of a field present on both sides, if any (a ``RECORD_SIZE_CHANGED`` marker
    when an embedded record reported on its own explains it)."""
    position = a.offset_bits or 0
    if types.object_narrowed(a.type.canonical, b.type.canonical):
        kind = ChangeKind.FIELD_OBJECT_RETYPED
    elif not types.same(a.type.canonical, b.type.canonical):
        kind = ChangeKind.FIELD_TYPE_CHANGED
    elif a.bitfield_width != b.bitfield_width:
        kind = ChangeKind.BITFIELD_WIDTH_CHANGED
    elif a.size_bits != b.size_bits:
        if value_type(a.type.canonical) in grown_records:  # reported where the embedded record changed
            return _Primary(kind=ChangeKind.RECORD_SIZE_CHANGED, name="", position=position, old=None, new=None)
        kind = ChangeKind.FIELD_TYPE_CHANGED  # same type, another size: the message says so
    else:
        return None
    return _Primary(kind=kind, name=name, position=position, old=a, new=b)


def _record_changes(
    old: Record, new: Record, grown_records: frozenset[str], types: TypeMatch
) -> tuple[list[_Primary], list[tuple[str, Field, Field]]]:
    """Field-level changes of one record: the primary changes and the fields that only moved."""
    before = {name: replace(item, name=name) for name, item in flatten(old.fields)}
    after = {name: replace(item, name=name) for name, item in flatten(new.fields)}
    renamed = _renames(before, after, types)
    primaries = [
        _Primary(
            kind=ChangeKind.FIELD_RENAMED,
            name=name,
            position=before[gone].offset_bits or 0,
            old=before[gone],
            new=after[name],
        )
        for gone, name in renamed.items()
    ]
    for gone, item in before.items():
        if gone not in after and gone not in renamed:
            primaries.append(
                _Primary(kind=ChangeKind.FIELD_REMOVED, name=gone, position=item.offset_bits or 0, old=item, new=None)
            )
    new_unions = union_members(new.fields, in_union=new.kind == RecordKind.UNION)
    for name, item in after.items():
        if name in before or name in renamed.values():
            continue
        padding = new.size == old.size and (
            _in_padding(item, before.values(), old.size) or _overlays_union(name, item, before.values(), new_unions)
        )
        kind = ChangeKind.FIELD_ADDED_IN_PADDING if padding else ChangeKind.FIELD_ADDED
        primaries.append(_Primary(kind=kind, name=name, position=item.offset_bits or 0, old=None, new=item))
    moved: list[tuple[str, Field, Field]] = []
    for name, a in before.items():
        b = after.get(name)
        if b is None:
            continue
        changed = _changed_field(name, a, b, grown_records, types)
        if changed is not None:
            primaries.append(changed)
        if a.offset_bits != b.offset_bits:
            moved.append((name, a, b))
    return primaries, moved


def _field_line(item: Field | None) -> int | None:
    return item.line if item is not None else None


def _size_facts(old: Record, new: Record) -> tuple[tuple[str, int | None], ...]:
    facts: list[tuple[str, int | None]] = []
    if old.size != new.size:
        facts += [("old_size", old.size), ("new_size", new.size)]
    if old.align != new.align:
        facts += [("old_align", old.align), ("new_align", new.align)]
    return tuple(facts)


def _layout_signature(record: Record, key: Callable[[str], str] = type_key) -> tuple[object, ...]:
    return (
        record.complete,
        record.size,
        record.align,
        tuple(
            (name, key(item.type.canonical), item.offset_bits, item.size_bits, item.bitfield_width)
            for name, item in flatten(record.fields)
        ),
    )


class Uses:
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


def match_records(old: Snapshot, new: Snapshot) -> tuple[list[tuple[Record, Record]], list[Record], list[Record]]:
    """(pairs of the same record, records gone, records added), matched by C name, then by
    typedef (a struct tag renamed behind the same typedef: ``struct _foo`` -> ``struct _bar``)."""
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
    for record in gone:
        match = by_display.pop(record.display_name, None) if record.aliases else None
        if match is not None:
            new_by_name.pop(match.name, None)
            pairs.append((record, match))
        else:
            still_gone.append(record)
    return pairs, still_gone, sorted(new_by_name.values(), key=lambda r: r.name)


def type_match(old: Snapshot, new: Snapshot) -> TypeMatch:
    """How types of ``old`` are compared with those of ``new``: with the records matched
    behind the same typedef under another name (:func:`match_records`) given NEW's name."""
    pairs, _gone, _added = match_records(old, new)
    renamed = {tagless(a.name): tagless(b.name) for a, b in pairs}
    return TypeMatch(
        renamed={name: other for name, other in renamed.items() if name != other},
        old_objects=_object_bases(old, renamed),
        new_objects=_object_bases(new, {}),
    )


def _object_bases(snapshot: Snapshot, renamed: Mapping[str, str]) -> dict[str, frozenset[str]]:
    """Each object struct (untagged, given ``renamed``'s names) -> the object structs it starts
    with, itself and ``_object`` included."""

    def name(record_name: str) -> str:
        untagged = tagless(record_name)
        return renamed.get(untagged, untagged)

    bases = {
        name(record): frozenset({"_object", *map(name, chain)}) for record, chain in object_chains(snapshot).items()
    }
    return {"_object": frozenset({"_object"}), **bases}


def _same_layout(a: Record, b: Record, types: TypeMatch) -> bool:
    return _layout_signature(a, types.old_key) == _layout_signature(b)


def changed_layouts(old: Snapshot, new: Snapshot, types: TypeMatch) -> frozenset[str]:
    """Names of the records (in ``old``) whose layout differs in ``new``."""
    pairs, _gone, _added = match_records(old, new)
    return frozenset(a.name for a, b in pairs if a.complete and b.complete and not _same_layout(a, b, types))


def object_chains(snapshot: Snapshot) -> dict[str, tuple[str, ...]]:
    """The object structs of a snapshot, by C name: those that start with ``PyObject``
    (``PyObject_HEAD``, ``PyObject_VAR_HEAD``, or another object struct), objects an extension
    may subclass in C by embedding them.  Each maps to the records it starts with, itself first,
    down to the one whose first field is a ``PyObject`` (``PyCodeObject``, ``PyVarObject``)."""
    records = {record.name: record for record in snapshot.records}
    chains: dict[str, tuple[str, ...]] = {}
    for record in snapshot.records:
        chain, current = [record.name], record
        while True:
            first = next(iter(flatten(current.fields)), None)
            if first is None or first[1].offset_bits != 0:
                break
            target = value_type(first[1].type.canonical)
            if target == "struct _object":
                chains[record.name] = tuple(chain)
                break
            inner = records.get(target)
            if inner is None or inner.name in chain:
                break
            chain.append(inner.name)
            current = inner
    return chains


def capsule_records(old: Snapshot, new: Snapshot) -> frozenset[str]:
    """Names of the records (in ``old``) that extensions reach only by pointer from their
    module: declared on both sides in a header Python.h does not include (an extension module's
    capsule API: datetime.h, pyexpat.h), no object struct, and measured by no macro or inline
    function (``sizeof``).  Growing one at its end is binary compatible (rule ABI112)."""
    measured = {name for item in (*old.reach, *new.reach) for name in item.sizes}
    objects = object_chains(old)
    new_headers = {record.name: record.header for record in new.records}
    return frozenset(
        record.name
        for record in old.records
        if record.header in old.outside
        and new_headers.get(record.name) in new.outside
        and record.name not in measured
        and record.name not in objects
    )


def _appended_only(a: Record, primaries: list[_Primary], moved: list[tuple[str, Field, Field]]) -> bool:
    """Every change of ``a`` is a field added after all of its old storage, nothing moved."""
    end = (a.size or 0) * 8
    return (
        bool(primaries) and not moved and all(p.kind == ChangeKind.FIELD_ADDED and p.position >= end for p in primaries)
    )


def diff_records(old: Snapshot, new: Snapshot, types: TypeMatch) -> list[Change]:
    manifest = {entry.name: entry for entry in old.manifest if entry.kind == "struct"}
    uses = Uses(old)
    capsules = capsule_records(old, new)
    pairs, gone, added = match_records(old, new)
    grown = changed_layouts(old, new, types)
    changes: list[Change] = []
    new_names = {record.name for record in new.records} | {alias for r in new.records for alias in r.aliases}
    for record in gone:
        if record.display_name in new_names or not record.complete:
            continue  # a forward declaration removed says nothing: its users are reported
        impacts = uses.impacts(record.name)
        changes.append(
            change_at(
                ChangeKind.RECORD_REMOVED, EntityKind.RECORD, record.display_name, record, old=record, impacts=impacts
            )
        )
    for record in added:
        changes.append(
            change_at(ChangeKind.DECLARATION_ADDED, EntityKind.RECORD, record.display_name, record, new=record)
        )
    for a, b in pairs:
        changes += _diff_record_pair(a, b, uses, manifest, grown, types, a.name in capsules)
    return changes


def _completeness(a: Record, b: Record, tier: Tier, uses: Uses) -> list[Change]:
    if a.complete and not b.complete:
        kind, impacts, tier = ChangeKind.RECORD_BECAME_OPAQUE, uses.impacts(a.name), tier
    else:
        kind, impacts, tier = ChangeKind.RECORD_BECAME_COMPLETE, (), b.tier
    return [change_at(kind, EntityKind.RECORD, a.display_name, b, tier=tier, old=a, new=b, impacts=impacts)]


def _shift_causes(
    primaries: list[_Primary], reported: list[_Primary], moved: list[tuple[str, Field, Field]]
) -> tuple[dict[int, list[str]], list[tuple[str, Field, Field]]]:
    """Each moved field goes to the nearest reported change before it in the old layout; the
    moves nothing explains are orphans (reported as offset changes)."""
    shifted: dict[int, list[str]] = {index: [] for index in range(len(reported))}
    orphans: list[tuple[str, Field, Field]] = []
    for field_name, old_field, new_field in moved:
        offset = old_field.offset_bits or 0
        causes = [
            i
            for i, p in enumerate(reported)
            if p.position <= offset and p.name != field_name and p.kind != ChangeKind.FIELD_OBJECT_RETYPED
        ]
        covered = any(p.kind == ChangeKind.RECORD_SIZE_CHANGED and p.position < offset for p in primaries)
        if causes:
            shifted[max(causes, key=lambda i: (reported[i].position, i))].append(field_name)
        elif not covered:
            orphans.append((field_name, old_field, new_field))
    return shifted, orphans


def _diff_record_pair(
    a: Record,
    b: Record,
    uses: Uses,
    manifest: Mapping[str, ManifestEntry],
    grown: frozenset[str],
    types: TypeMatch,
    capsule: bool = False,
) -> list[Change]:
    name = a.display_name
    tier = uses.tier(a.name, manifest)
    if a.complete != b.complete:
        return _completeness(a, b, tier, uses)
    if not a.complete or _same_layout(a, b, types):
        return []
    primaries, moved = _record_changes(a, b, grown, types)
    explained = any(p.kind == ChangeKind.RECORD_SIZE_CHANGED for p in primaries)
    size_facts = _size_facts(a, b)
    impacts = uses.impacts(a.name) if (size_facts or moved) else ()
    if capsule and not impacts and _appended_only(a, primaries, moved):
        primaries = [replace(p, kind=ChangeKind.FIELD_APPENDED) for p in primaries]
    reported = sorted(
        (p for p in primaries if p.kind != ChangeKind.RECORD_SIZE_CHANGED), key=lambda p: (p.position, p.name)
    )
    shifted, orphans = _shift_causes(primaries, reported, moved)
    changes = []

    def field_change(kind: ChangeKind, field: str, old: Field | None, new: Field | None, **values: Any) -> Change:
        entity = f"{name}.{field}"
        return change_at(kind, EntityKind.FIELD, entity, b, tier=tier, old=old, new=new, parent=name, **values)

    for index, primary in enumerate(reported):
        compatible = primary.kind in (
            ChangeKind.FIELD_ADDED_IN_PADDING,
            ChangeKind.FIELD_RENAMED,
            ChangeKind.FIELD_APPENDED,
            ChangeKind.FIELD_OBJECT_RETYPED,
        )
        line = _field_line(primary.new or primary.old)
        facts = size_facts if index == 0 else ()
        shifts, reach = tuple(shifted[index]), () if compatible else impacts
        changes.append(
            field_change(
                primary.kind,
                primary.name,
                primary.old,
                primary.new,
                line=line,
                facts=facts,
                shifted=shifts,
                impacts=reach,
            )
        )
    for field_name, old_field, new_field in orphans:
        before, after = replace(old_field, name=field_name), replace(new_field, name=field_name)
        facts = size_facts if not changes else ()
        kind = ChangeKind.FIELD_OFFSET_CHANGED
        changes.append(field_change(kind, field_name, before, after, line=new_field.line, facts=facts, impacts=impacts))
    if size_facts and not changes and not explained:
        kind, values = ChangeKind.RECORD_SIZE_CHANGED, {"facts": size_facts, "impacts": impacts}
        changes.append(change_at(kind, EntityKind.RECORD, name, b, tier=tier, old=a, new=b, **values))
    return changes
