"""``abidiff abi3 BUILD [--against OLD]``: the limited API / stable ABI of one build, audited.

For each ``Py_LIMITED_API`` level from 3.2 to the build's own version, the limited API
surface (functions, data, structs with their abi3 kind, macros, typedefs; each with the
level that first shows it, ``limited_since``), and changes against three truths:

- the stable ABI manifest (``Misc/stable_abi.toml``): the build's own when it carries one
  (snapshots of git refs), else the copy shipped with abidiff (:mod:`abidiff.data`);
- the build's binaries (what it exports);
- with ``--against OLD``: what OLD declared in its limited API and exported.

:func:`audit` is pure (snapshots in, an :class:`Abi3Audit` of changes out); the rules
``ABI801``-``ABI806`` of the one catalogue (:mod:`abidiff.rules`) judge its changes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from abidiff.changes import Change, ChangeKind, EntityKind
from abidiff.diff.common import (
    TypeMatch,
    applicable,
    exported_names,
    flatten,
    is_include_guard,
    record_names,
    since_by_name,
)
from abidiff.diff.records import type_match
from abidiff.diff.unread import comparable_parts
from abidiff.model import (
    Build,
    Field,
    Function,
    Macro,
    ManifestEntry,
    Record,
    Snapshot,
    Tier,
    Typedef,
    Variable,
    limited_api_hex,
    version_key,
)

NOTE_INVISIBLE = (
    "struct access through macros or static inline functions is compiled into an extension: "
    "it is invisible in a binary's imports"
)
_SKIPPED_HEADERS = ("pyconfig.h", "patchlevel.h")

Declared = Record | Function | Variable | Typedef | Macro


@dataclass(frozen=True, slots=True, kw_only=True)
class SurfaceItem:
    """One item of the limited API: ``limited_since`` from the headers, ``added`` from the
    manifest (None when it does not list it), ``abi3_kind`` of a struct (``full-abi``,
    ``members``, ``opaque``), ``exported`` (None for macros, inline functions, typedefs,
    structs, or without binaries)."""

    name: str
    entity_kind: EntityKind
    limited_since: str
    added: str | None
    abi3_kind: str | None
    inline: bool
    exported: bool | None
    header: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LevelSurface:
    """What a user compiling with ``Py_LIMITED_API`` = ``hex`` sees: counts per kind, and the
    names first visible at this level."""

    level: str
    hex: str
    functions: int
    inline_functions: int
    data: int
    structs: int
    macros: int
    typedefs: int
    new: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Abi3Audit:
    """What :func:`audit` found: the surface per level, and the changes for the judge."""

    build: Build
    against: Build | None
    build_headers_only: bool
    against_headers_only: bool
    manifest_source: str | None
    exports_checked: bool
    levels: tuple[LevelSurface, ...]
    surface: tuple[SurfaceItem, ...]
    notes: tuple[str, ...]
    changes: tuple[Change, ...]


# -- reading a snapshot -------------------------------------------------------------------


def entity_kind_of(entity: Declared) -> EntityKind:
    if isinstance(entity, Record):
        return EntityKind.RECORD
    if isinstance(entity, Function):
        return EntityKind.FUNCTION
    if isinstance(entity, Variable):
        return EntityKind.DATA
    if isinstance(entity, Typedef):
        return EntityKind.TYPEDEF
    return EntityKind.MACRO


def public_name(entity: Declared) -> str:
    """The name a user writes: a record's first public typedef, else its C name."""
    if isinstance(entity, Record):
        public = [alias for alias in entity.aliases if not alias.startswith("_")]
        return public[0] if public else entity.display_name
    return entity.name


def limited_declarations(snapshot: Snapshot) -> Iterator[Declared]:
    """Every declaration of the snapshot visible at some ``Py_LIMITED_API`` level."""
    for kind in ("records", "functions", "variables", "typedefs", "macros"):
        for entity in getattr(snapshot, kind):
            if entity.limited_since is not None and entity.header not in _SKIPPED_HEADERS:
                yield entity


def exporter_names(snapshot: Snapshot) -> str:
    from abidiff.diff.common import EXPORTING_ROLES

    names = sorted({binary.path.rsplit("/", 1)[-1] for binary in snapshot.binaries if binary.role in EXPORTING_ROLES})
    return ", ".join(names) or "its binaries"


def shipped_manifest() -> tuple[tuple[ManifestEntry, ...], str]:
    from abidiff.data import stable_abi

    data = stable_abi()
    return data.entries, f"abidiff's copy of {data.source}"


def choose_manifest(build: Snapshot, choice: str | None = None) -> tuple[tuple[ManifestEntry, ...], str | None]:
    """The manifest to judge ``build`` by, and where it comes from.

    ``choice``: a path to a ``stable_abi.toml``/``.txt``, ``"shipped"`` (abidiff's copy),
    ``"none"``, or None for the default: the build's own manifest (snapshots of git refs),
    else abidiff's copy for an installed build (one with binaries), else none (a bare
    header tree, whose version may not be CPython's).
    """
    if choice == "none":
        return (), None
    if choice == "shipped":
        return shipped_manifest()
    if choice is not None:
        from abidiff.sources.manifest import read_manifest

        return read_manifest(choice), choice
    if build.manifest:
        return build.manifest, "the build's Misc/stable_abi manifest"
    if build.binaries:
        entries, source = shipped_manifest()
        return entries, f"{source} (the build carries no manifest)"
    return (), None


# -- the surface --------------------------------------------------------------------------


def _abi3_kind(record: Record, entry: ManifestEntry | None) -> str:
    if entry is not None and entry.struct_abi_kind:
        return entry.struct_abi_kind
    return "full-abi" if record.limited_layout_since is not None else "opaque"


def _manifest_entry(entity: Declared, manifest: Mapping[str, ManifestEntry]) -> ManifestEntry | None:
    if isinstance(entity, Record):
        for name in (*entity.aliases, entity.name.split(" ", 1)[-1]):
            if name in manifest:
                return manifest[name]
        return None
    return manifest.get(entity.name)


def surface(snapshot: Snapshot, manifest: Mapping[str, ManifestEntry]) -> tuple[SurfaceItem, ...]:
    exports = exported_names(snapshot) if snapshot.binaries else None
    items = []
    for entity in limited_declarations(snapshot):
        assert entity.limited_since is not None
        entry = _manifest_entry(entity, manifest)
        inline = isinstance(entity, Function) and entity.inline
        exported = None
        if exports is not None and isinstance(entity, (Function, Variable)) and not inline:
            exported = entity.name in exports
        items.append(
            SurfaceItem(
                name=public_name(entity),
                entity_kind=entity_kind_of(entity),
                limited_since=entity.limited_since,
                added=entry.added if entry is not None else None,
                abi3_kind=_abi3_kind(entity, entry) if isinstance(entity, Record) else None,
                inline=inline,
                exported=exported,
                header=entity.header,
            )
        )
    return tuple(sorted(items, key=lambda item: (version_key(item.limited_since), str(item.entity_kind), item.name)))


def levels(snapshot: Snapshot, items: tuple[SurfaceItem, ...]) -> tuple[LevelSurface, ...]:
    out = []
    for level in snapshot.limited_levels:
        seen = [item for item in items if version_key(item.limited_since) <= version_key(level)]

        def count(kind: EntityKind, seen: list[SurfaceItem] = seen, *, inline: bool = False) -> int:
            return sum(1 for item in seen if item.entity_kind == kind and item.inline == inline)

        out.append(
            LevelSurface(
                level=level,
                hex=f"0x{limited_api_hex(level):08X}",
                functions=count(EntityKind.FUNCTION),
                inline_functions=count(EntityKind.FUNCTION, inline=True),
                data=count(EntityKind.DATA),
                structs=count(EntityKind.RECORD),
                macros=count(EntityKind.MACRO),
                typedefs=count(EntityKind.TYPEDEF),
                new=tuple(sorted(item.name for item in items if item.limited_since == level)),
            )
        )
    return tuple(out)


# -- changes against the manifest ---------------------------------------------------------

_MANIFEST_KINDS = {
    "function": EntityKind.FUNCTION,
    "data": EntityKind.DATA,
    "struct": EntityKind.RECORD,
    "typedef": EntityKind.TYPEDEF,
    "macro": EntityKind.MACRO,
    "const": EntityKind.MACRO,
}


def _limited(kind: ChangeKind, entity: str, entity_kind: EntityKind, **values: Any) -> Change:
    """A change of ``entity`` in the limited API (its tier); ``values``: the rest of the
    :class:`Change` (old, new, facts, header)."""
    return Change(kind=kind, entity=entity, entity_kind=entity_kind, tier=Tier.LIMITED, **values)


def check_manifest(
    snapshot: Snapshot, manifest: tuple[ManifestEntry, ...], other: Snapshot | None = None
) -> list[Change]:
    """ABI801 (visible before 'added'), ABI803 (missing at 'added'), ABI804 (not exported).

    A header the snapshot could not read hides what it declares.  ``other`` (``--against``)
    may have read it: a name it declares there is unseen, not missing (no ABI803).  A header
    neither read is named in each ABI803 that it may explain: one whose text spells the name,
    or whose text could not be read either."""
    unknown = _declared_in(other, snapshot.unread)
    unread = tuple(header for header in snapshot.unread if other is None or header in other.unread)
    spelled = {item.header: frozenset(item.names) for item in snapshot.unread_names}
    since = since_by_name(limited_declarations(snapshot))
    exports = exported_names(snapshot) if snapshot.binaries else None
    levels_known = set(snapshot.limited_levels)
    found: list[Change] = []
    for entry in manifest:
        if not applicable(entry, snapshot) or entry.kind not in _MANIFEST_KINDS:
            continue
        kind = _MANIFEST_KINDS[entry.kind]
        first = since.get(entry.name)
        if first is not None and version_key(first) < version_key(entry.added):
            found.append(_limited(ChangeKind.AHEAD_OF_MANIFEST, entry.name, kind, old=entry.added, new=first))
        elif not entry.abi_only and entry.added in levels_known and first != entry.added and entry.name not in unknown:
            facts: tuple[tuple[str, object], ...] = (("first", first),)
            # the unread headers that may declare it: those whose text spells it, or could not be read
            explaining = tuple(h for h in unread if h not in spelled or entry.name in spelled[h])
            if first is None and explaining:
                facts += (("unread", explaining),)
            found.append(_limited(ChangeKind.MANIFEST_NOT_IN_HEADERS, entry.name, kind, old=entry.added, facts=facts))
        if exports is not None and entry.kind in ("function", "data") and entry.name not in exports:
            facts = (("exporters", exporter_names(snapshot)),)
            found.append(_limited(ChangeKind.MANIFEST_NOT_EXPORTED, entry.name, kind, old=entry.added, facts=facts))
    return found


# -- changes against OLD ------------------------------------------------------------------


def check_against_old(build: Snapshot, old: Snapshot) -> list[Change]:
    """ABI802: visible at OLD's level in BUILD's headers, but neither declared in OLD's
    limited API nor (a function or data) exported by OLD."""
    level = old.build.feature_version
    old_limited = set(since_by_name(limited_declarations(old)))
    old_exports = exported_names(old) if old.binaries else frozenset()
    found = []
    for entity in limited_declarations(build):
        assert entity.limited_since is not None
        if version_key(entity.limited_since) > version_key(level):
            continue
        if isinstance(entity, Macro) and is_include_guard(entity):
            continue
        names = {entity.name, public_name(entity)}
        if isinstance(entity, Record):
            names |= set(record_names(entity))
        if names & old_limited:
            continue
        linked = isinstance(entity, Variable) or (isinstance(entity, Function) and not entity.inline)
        if linked and entity.name in old_exports:
            continue
        found.append(
            _limited(
                ChangeKind.AHEAD_OF_OLD,
                public_name(entity),
                entity_kind_of(entity),
                old=old.build.version,
                new=level,
                facts=(("exports_checked", linked and bool(old.binaries)),),
                header=entity.header,
            )
        )
    return found


def _record_named(snapshot: Snapshot, name: str) -> Record | None:
    for record in snapshot.records:
        if name == record.name or name in record.aliases or name == record.name.split(" ", 1)[-1]:
            return record
    return None


def stable_layouts(build: Snapshot, old: Snapshot, manifest: tuple[ManifestEntry, ...]) -> dict[str, tuple[str, ...]]:
    """The structs whose layout is stable ABI, by name: ``()`` for the whole layout
    (``full-abi``), else the promised members.  From the manifest when it lists structs,
    else the records complete at some limited level of OLD."""
    structs = [entry for entry in manifest if entry.kind == "struct"]
    if structs:
        old_version = version_key(old.build.feature_version)
        return {
            entry.name: () if entry.struct_abi_kind == "full-abi" else entry.members
            for entry in structs
            if entry.struct_abi_kind in ("full-abi", "members") and version_key(entry.added) <= old_version
        }
    return {public_name(record): () for record in old.records if record.limited_layout_since is not None}


def _same_field(a: Field, b: Field, types: TypeMatch) -> bool:
    where = (a.offset_bits, a.size_bits, a.bitfield_width) == (b.offset_bits, b.size_bits, b.bitfield_width)
    return where and types.same(a.type.canonical, b.type.canonical)


def _layout_facts(
    a: Record, b: Record | None, members: tuple[str, ...], types: TypeMatch
) -> tuple[tuple[str, object], ...]:
    """What differs in a stable layout, as facts: ``layout`` (gone or opaque), ``size``
    (old size, old alignment, new size, new alignment), ``fields`` ((name, old, new), ...)."""
    if b is None or not b.complete:
        return (("layout", "no longer defined in the headers" if b is None else "became opaque"),)
    facts: list[tuple[str, object]] = []
    if not members and (a.size, a.align) != (b.size, b.align):
        facts.append(("size", (a.size, a.align, b.size, b.align)))
    fields_a, fields_b = dict(flatten(a.fields)), dict(flatten(b.fields))
    changed = []
    for name in members or tuple(dict.fromkeys([*fields_a, *fields_b])):
        old_field, new_field = fields_a.get(name), fields_b.get(name)
        if old_field is None and new_field is None:
            continue
        if old_field is None or new_field is None or not _same_field(old_field, new_field, types):
            changed.append((name, old_field, new_field))
    if changed:
        facts.append(("fields", tuple(changed)))
    return tuple(facts)


def check_layouts(build: Snapshot, old: Snapshot, manifest: tuple[ManifestEntry, ...]) -> list[Change]:
    """ABI805: stable ABI struct layouts of BUILD against OLD."""
    found = []
    types = type_match(old, build)
    for name, members in sorted(stable_layouts(build, old, manifest).items()):
        a, b = _record_named(old, name), _record_named(build, name)
        if a is None or not a.complete:
            continue  # OLD does not define it: nothing was promised yet
        facts = _layout_facts(a, b, members, types)
        if facts:
            found.append(
                _limited(
                    ChangeKind.STABLE_LAYOUT_CHANGED,
                    name,
                    EntityKind.RECORD,
                    old=old.build.version,
                    new=build.build.version,
                    facts=(*facts, ("members", members)),
                    header=(b or a).header,
                )
            )
    return found


def check_aliases(snapshot: Snapshot) -> tuple[list[Change], int]:
    """ABI806, and how many ``Py_LIMITED_API_3_x`` aliases the headers define."""
    import re

    alias = re.compile(r"^Py_LIMITED_API_3_(\d+)$")
    found = []
    aliases = [macro for macro in snapshot.macros if alias.match(macro.name)]
    for macro in aliases:
        match = alias.match(macro.name)
        assert match is not None
        wanted = limited_api_hex(f"3.{int(match.group(1))}")
        if macro.value != wanted:
            found.append(
                _limited(
                    ChangeKind.LIMITED_ALIAS_VALUE,
                    macro.name,
                    EntityKind.MACRO,
                    old=wanted,
                    new=macro.value,
                    header=macro.header,
                )
            )
    return found, len(aliases)


# -- the audit ----------------------------------------------------------------------------


def _declared_in(snapshot: Snapshot | None, headers: tuple[str, ...]) -> frozenset[str]:
    """The names ``snapshot`` declares in ``headers`` (records by all their names)."""
    if snapshot is None or not headers:
        return frozenset()
    names: set[str] = set()
    for entity in limited_declarations(snapshot):
        if entity.header in headers:
            names |= {entity.name, public_name(entity)}
            if isinstance(entity, Record):
                names |= set(record_names(entity))
    return frozenset(names)


def _unread_note(build: Snapshot) -> str:
    headers = ", ".join(build.unread)
    return (
        f"{build.build.version} could not read {headers} (its warnings say why): what it declares is not in the surface"
    )


def audit(
    build: Snapshot,
    against: Snapshot | None = None,
    *,
    manifest: tuple[ManifestEntry, ...] | None = None,
    manifest_source: str | None = None,
) -> Abi3Audit:
    """The abi3 audit of ``build`` (and of ``build`` against ``against``), judged by
    ``manifest`` (by default the build's own, if it carries one)."""
    if manifest is None:
        manifest = build.manifest
        manifest_source = "the build's Misc/stable_abi manifest" if manifest else None
    by_name = {entry.name: entry for entry in manifest if applicable(entry, build)}
    items = surface(build, by_name)
    found: list[Change] = []
    if against is not None:
        # a header one side could not read is not compared (ABI004), as in ``abidiff OLD NEW``
        old_part, build_part, found = comparable_parts(against, build, limited_only=True)
    found += check_manifest(build, manifest, against)
    notes: list[str] = [NOTE_INVISIBLE]
    if build.unread:
        notes.append(_unread_note(build))
    if not manifest:
        notes.append("no stable ABI manifest: ABI801, ABI803 and ABI804 had nothing to check")
    if not build.binaries:
        notes.append("the build has no binaries: exports were not checked (ABI804)")
    aliases, alias_count = check_aliases(build)
    found += aliases
    if alias_count == 0:
        notes.append("the headers define no Py_LIMITED_API_3_x aliases (PEP 605): ABI806 had nothing to check")
    if against is not None:
        found += check_against_old(build_part, old_part)
        if (against.build.pointer_size, against.build.target) != (build.build.pointer_size, build.build.target):
            notes.append(
                f"{against.build.target} and {build.build.target} differ: stable struct layouts were not compared"
            )
        else:
            found += check_layouts(build_part, old_part, manifest)
        if not against.binaries:
            notes.append(f"{against.build.version} has no binaries: ABI802 judged by its headers only")
    return Abi3Audit(
        build=build.build,
        against=None if against is None else against.build,
        build_headers_only=not build.binaries,
        against_headers_only=against is None or not against.binaries,
        manifest_source=manifest_source,
        exports_checked=bool(build.binaries),
        levels=levels(build, items),
        surface=items,
        notes=tuple(notes),
        changes=tuple(found),
    )
