"""``abidiff abi3 BUILD [--against OLD]``: the limited API / stable ABI of one build, audited.

For each ``Py_LIMITED_API`` level from 3.2 to the build's own version, the limited API
surface (functions, data, structs with their abi3 kind, macros, typedefs; each with the
level that first shows it, ``limited_since``), and findings against three truths:

- the stable ABI manifest (``Misc/stable_abi.toml``): the build's own when it carries one
  (snapshots of git refs), else the copy shipped with abidiff (:mod:`abidiff.data`);
- the build's binaries (what it exports);
- with ``--against OLD``: what OLD declared in its limited API and exported.

Findings use the rule ids ``ABI8xx`` of :data:`ABI3_RULES` (``docs/abi3.md``); the JSON
report has the same ``changes`` shape as a comparison's.  :func:`audit` is pure (snapshots
in, an :class:`Abi3Report` out); :mod:`abidiff.commands.abi3` builds the snapshots and renders.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from abidiff import codec
from abidiff.diff import EntityKind
from abidiff.errors import UsageError
from abidiff.model import (
    BinaryRole,
    Field,
    Function,
    Macro,
    ManifestEntry,
    Record,
    Snapshot,
    StrEnum,
    Tier,
    Typedef,
    Variable,
    limited_api_hex,
    version_key,
)
from abidiff.rules import SEVERITY_ORDER, BuildIdentity, Severity, StableVerdict, identity

FORMATS = ("text", "json", "markdown")
SCHEMA_NAME = "abidiff-abi3"
SCHEMA_VERSION = 1
NOTE_INVISIBLE = (
    "struct access through macros or static inline functions is compiled into an extension: "
    "it is invisible in a binary's imports"
)


class Abi3Kind(StrEnum):
    """What a finding of ``abidiff abi3`` or ``abidiff ext`` is; one rule each."""

    AHEAD_OF_MANIFEST = "limited-ahead-of-manifest"
    AHEAD_OF_OLD = "limited-ahead-of-old"
    MANIFEST_NOT_IN_HEADERS = "manifest-not-in-headers"
    MANIFEST_NOT_EXPORTED = "manifest-not-exported"
    STABLE_LAYOUT_CHANGED = "stable-layout-changed"
    LIMITED_ALIAS_VALUE = "limited-api-alias-value"
    EXT_NOT_STABLE = "ext-not-stable-abi"
    EXT_NEWER_THAN_TAG = "ext-newer-than-tag"
    EXT_NOT_EXPORTED = "ext-not-exported"
    EXT_BROKEN_BETWEEN = "ext-broken-between"
    EXT_VERSIONED_DLL = "ext-versioned-dll"
    EXT_TAG_MISMATCH = "ext-tag-mismatch"


@dataclass(frozen=True, slots=True, kw_only=True)
class Abi3Rule:
    """One rule of the abi3/ext catalogue; ``message`` is a template over ``entity``,
    ``entity_kind``, ``old``, ``new``, ``detail``."""

    id: str
    kind: Abi3Kind
    title: str
    detects: str
    severity: Severity
    message: str
    remedy: str


ABI3_RULES: tuple[Abi3Rule, ...] = (
    Abi3Rule(
        id="ABI801",
        kind=Abi3Kind.AHEAD_OF_MANIFEST,
        title="limited declaration visible before the version that added it",
        detects="The headers show a limited-API item at a Py_LIMITED_API older than the stable ABI "
        "manifest's 'added': an abi3 extension built for that older version can use it, and then import "
        "a symbol the older Pythons lack.",
        severity=Severity.WARNING,
        message="{entity_kind} {entity} is visible at Py_LIMITED_API {new}, but the manifest adds it in {old}",
        remedy="Guard it: #if !defined(Py_LIMITED_API) || Py_LIMITED_API+0 >= 0x03XY0000 (XY = 'added').",
    ),
    Abi3Rule(
        id="ABI802",
        kind=Abi3Kind.AHEAD_OF_OLD,
        title="limited declaration visible at OLD's level that OLD lacks",
        detects="Compiled with Py_LIMITED_API set to OLD's version, the build's headers show an item that "
        "OLD neither declared in its limited API nor exported: an extension built that way for OLD may "
        "fail to build against OLD, or (a function or data) fail to load on it.",
        severity=Severity.WARNING,
        message="{entity_kind} {entity} is visible at Py_LIMITED_API {new}, {detail}",
        remedy="Guard it with the version that adds it: #if Py_LIMITED_API+0 >= 0x03XY0000.",
    ),
    Abi3Rule(
        id="ABI803",
        kind=Abi3Kind.MANIFEST_NOT_IN_HEADERS,
        title="manifest item missing from the headers at its version",
        detects="A manifest item (not abi_only, not for another platform) is not visible in the headers at "
        "the Py_LIMITED_API of the version that added it.",
        severity=Severity.WARNING,
        message="{entity_kind} {entity} (added {old}) {detail}",
        remedy="Declare it in the limited API under its version guard, or mark it abi_only in the manifest.",
    ),
    Abi3Rule(
        id="ABI804",
        kind=Abi3Kind.MANIFEST_NOT_EXPORTED,
        title="stable ABI function or data not exported",
        detects="A function or data of the manifest (added at or before the build's version, for this "
        "platform) is not exported by the build's binaries: abi3 extensions that use it fail to load.",
        severity=Severity.BREAK,
        message="{entity_kind} {entity} (stable ABI since {old}) is not exported by {detail}",
        remedy="Export it (PyAPI_FUNC/PyAPI_DATA, not a macro or static inline function) for as long as 3.x lives.",
    ),
    Abi3Rule(
        id="ABI805",
        kind=Abi3Kind.STABLE_LAYOUT_CHANGED,
        title="stable ABI struct layout changed",
        detects="A struct whose layout is part of the stable ABI (struct_abi_kind 'full-abi', or the listed "
        "'members'; without a manifest, the structs complete at some Py_LIMITED_API level) differs from OLD.",
        severity=Severity.BREAK,
        message="{entity_kind} {entity} changed: {detail}",
        remedy="Never change a stable ABI layout; add a new struct and functions that take it.",
    ),
    Abi3Rule(
        id="ABI806",
        kind=Abi3Kind.LIMITED_ALIAS_VALUE,
        title="Py_LIMITED_API_3_x alias with a wrong value",
        detects="A PEP 605 alias Py_LIMITED_API_3_x defined by the headers is not 0x03XY0000.",
        severity=Severity.WARNING,
        message="macro {entity} is {new}, not {old}",
        remedy="Define Py_LIMITED_API_3_x as 0x03XY0000, the Py_LIMITED_API value of 3.x.",
    ),
    Abi3Rule(
        id="ABI811",
        kind=Abi3Kind.EXT_NOT_STABLE,
        title="abi3 extension imports a symbol outside the stable ABI",
        detects="An extension tagged abi3 imports a CPython symbol that is not in the stable ABI: it works "
        "only with the versions that happen to export it.",
        severity=Severity.BREAK,
        message="{entity} is imported but is not in the stable ABI{detail}",
        remedy="Build with Py_LIMITED_API defined and use only limited-API functions, or drop the abi3 tag.",
    ),
    Abi3Rule(
        id="ABI812",
        kind=Abi3Kind.EXT_NEWER_THAN_TAG,
        title="abi3 extension imports a symbol newer than its tag",
        detects="An extension tagged abi3 for 3.X imports a stable ABI symbol added after 3.X: it fails to "
        "load on the versions from 3.X to the one before 'added'.",
        severity=Severity.BREAK,
        message="{entity} is in the stable ABI since {new}, but the extension is tagged for {old}",
        remedy="Build with Py_LIMITED_API=0x03XY0000 of the tag (the headers then hide the symbol), or raise the tag.",
    ),
    Abi3Rule(
        id="ABI813",
        kind=Abi3Kind.EXT_NOT_EXPORTED,
        title="imported symbol not exported by the build",
        detects="The extension imports a symbol that the given build does not export: it fails to load there.",
        severity=Severity.BREAK,
        message="{entity} is imported but {detail} does not export it",
        remedy="Rebuild the extension against that build, or avoid the symbol.",
    ),
    Abi3Rule(
        id="ABI814",
        kind=Abi3Kind.EXT_BROKEN_BETWEEN,
        title="ABI break between OLD and NEW touches an imported symbol",
        detects="Between the two builds, a function the extension imports was removed or changed signature, or "
        "data it imports changed type or size, or was removed.",
        severity=Severity.BREAK,
        message="{entity} is imported: {detail}",
        remedy="Rebuild the extension for NEW.",
    ),
    Abi3Rule(
        id="ABI815",
        kind=Abi3Kind.EXT_VERSIONED_DLL,
        title="abi3 extension links to a versioned python3X.dll",
        detects="A Windows extension tagged abi3 imports from python3X.dll instead of python3.dll: it loads "
        "only with that one version.",
        severity=Severity.BREAK,
        message="{entity} is imported from {detail}, not python3.dll",
        remedy="Define Py_LIMITED_API before including Python.h: pyconfig.h then links python3.lib.",
    ),
    Abi3Rule(
        id="ABI816",
        kind=Abi3Kind.EXT_TAG_MISMATCH,
        title="wheel file name and WHEEL metadata disagree",
        detects="The tags in the wheel's file name differ from the Tag lines of its WHEEL metadata.",
        severity=Severity.WARNING,
        message="wheel tags differ: file name {old}, WHEEL {new}",
        remedy="Rebuild the wheel; installers trust the file name, auditors the metadata.",
    ),
)
RULE_BY_KIND: Mapping[Abi3Kind, Abi3Rule] = {rule.kind: rule for rule in ABI3_RULES}


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One finding, in the shape of a comparison's ``ReportedChange``: ``impacts`` names, for
    ``abidiff ext``, the extension modules concerned."""

    rule: str
    kind: Abi3Kind
    entity: str
    entity_kind: EntityKind
    tier: Tier
    severity: Severity
    message: str
    headline: str
    old: str | None
    new: str | None
    detail: str
    shifted: tuple[str, ...]
    impacts: tuple[str, ...]
    header: str | None


def finding(
    kind: Abi3Kind,
    entity: str,
    entity_kind: EntityKind,
    *,
    tier: Tier = Tier.LIMITED,
    old: str | None = None,
    new: str | None = None,
    detail: str = "",
    impacts: tuple[str, ...] = (),
    header: str | None = None,
) -> Finding:
    rule = RULE_BY_KIND[kind]
    message = rule.message.format(entity=entity, entity_kind=entity_kind, old=old, new=new, detail=detail)
    return Finding(
        rule=rule.id,
        kind=kind,
        entity=entity,
        entity_kind=entity_kind,
        tier=tier,
        severity=rule.severity,
        message=message,
        headline=message,
        old=old,
        new=new,
        detail=detail,
        shifted=(),
        impacts=impacts,
        header=header,
    )


def finding_order(item: Finding) -> tuple[int, str, str, str]:
    return (SEVERITY_ORDER.index(item.severity), item.rule, item.entity, item.message)


def tally(findings: Iterable[Finding]) -> tuple[dict[str, int], dict[str, int]]:
    """(count per rule id, count per severity) of ``findings``."""
    counts: dict[str, int] = {}
    severity_counts = {str(severity): 0 for severity in SEVERITY_ORDER}
    for item in findings:
        counts[item.rule] = counts.get(item.rule, 0) + 1
        severity_counts[str(item.severity)] += 1
    return dict(sorted(counts.items())), severity_counts


# -- the report ---------------------------------------------------------------------------


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
class Abi3Report:
    """The result of ``abidiff abi3 BUILD [--against OLD]``."""

    schema: str
    schema_version: int
    build: BuildIdentity
    against: BuildIdentity | None
    manifest_source: str | None
    exports_checked: bool
    levels: tuple[LevelSurface, ...]
    surface: tuple[SurfaceItem, ...]
    stable_abi_verdict: StableVerdict
    counts: dict[str, int]
    severity_counts: dict[str, int]
    notes: tuple[str, ...]
    changes: tuple[Finding, ...]


# -- reading a snapshot -------------------------------------------------------------------

_ALIAS = re.compile(r"^Py_LIMITED_API_3_(\d+)$")
_SKIPPED_HEADERS = ("pyconfig.h", "patchlevel.h")
_EXPORTING_ROLES = (BinaryRole.LIBPYTHON, BinaryRole.INTERPRETER, BinaryRole.STABLE_ABI)

Declared = Record | Function | Variable | Typedef | Macro


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


def since_by_name(snapshot: Snapshot) -> dict[str, str]:
    """The lowest ``limited_since`` of each name, whatever declares it (a function of the
    manifest may be a macro in some version); records count under their tag and aliases."""
    since: dict[str, str] = {}
    for entity in limited_declarations(snapshot):
        assert entity.limited_since is not None
        names = [entity.name]
        if isinstance(entity, Record):
            names += [*entity.aliases, entity.name.split(" ", 1)[-1]]
        for name in names:
            if name not in since or version_key(entity.limited_since) < version_key(since[name]):
                since[name] = entity.limited_since
    return since


def exports_of(snapshot: Snapshot) -> frozenset[str]:
    """The names the build's libpython (or interpreter, or stable-ABI library) exports."""
    return frozenset(
        symbol.name for binary in snapshot.binaries if binary.role in _EXPORTING_ROLES for symbol in binary.symbols
    )


def exporter_names(snapshot: Snapshot) -> str:
    names = sorted({binary.path.rsplit("/", 1)[-1] for binary in snapshot.binaries if binary.role in _EXPORTING_ROLES})
    return ", ".join(names) or "its binaries"


def feature_defined(snapshot: Snapshot, name: str) -> bool:
    """Whether the feature macro of a manifest ``ifdef`` holds for this build: a recorded
    configuration flag says so by its value, any other macro by being defined."""
    value = snapshot.build.config_value(name)
    if value is not None:
        return value != 0
    return any(macro.name == name for macro in snapshot.macros)


def applicable(entry: ManifestEntry, snapshot: Snapshot) -> bool:
    """Whether a manifest entry is part of this build's stable ABI: added at or before its
    version, and its ``ifdef`` (when any) holds."""
    if entry.kind == "feature_macro" or not entry.added:
        return False
    if version_key(entry.added) > version_key(snapshot.build.feature_version):
        return False
    return entry.ifdef is None or feature_defined(snapshot, entry.ifdef)


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
    exports = exports_of(snapshot) if snapshot.binaries else None
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


# -- findings against the manifest --------------------------------------------------------

_MANIFEST_KINDS = {
    "function": EntityKind.FUNCTION,
    "data": EntityKind.DATA,
    "struct": EntityKind.RECORD,
    "typedef": EntityKind.TYPEDEF,
    "macro": EntityKind.MACRO,
    "const": EntityKind.MACRO,
}


def check_manifest(snapshot: Snapshot, manifest: tuple[ManifestEntry, ...]) -> list[Finding]:
    """ABI801 (visible before 'added'), ABI803 (missing at 'added'), ABI804 (not exported)."""
    since = since_by_name(snapshot)
    exports = exports_of(snapshot) if snapshot.binaries else None
    levels_known = set(snapshot.limited_levels)
    found: list[Finding] = []
    for entry in manifest:
        if not applicable(entry, snapshot) or entry.kind not in _MANIFEST_KINDS:
            continue
        kind = _MANIFEST_KINDS[entry.kind]
        first = since.get(entry.name)
        if first is not None and version_key(first) < version_key(entry.added):
            found.append(finding(Abi3Kind.AHEAD_OF_MANIFEST, entry.name, kind, old=entry.added, new=first))
        elif not entry.abi_only and entry.added in levels_known and first != entry.added:
            detail = (
                f"is not visible at Py_LIMITED_API {entry.added} (first visible at {first})"
                if first is not None
                else "is not visible at any Py_LIMITED_API level"
            )
            found.append(finding(Abi3Kind.MANIFEST_NOT_IN_HEADERS, entry.name, kind, old=entry.added, detail=detail))
        if exports is not None and entry.kind in ("function", "data") and entry.name not in exports:
            found.append(
                finding(
                    Abi3Kind.MANIFEST_NOT_EXPORTED,
                    entry.name,
                    kind,
                    old=entry.added,
                    detail=exporter_names(snapshot),
                )
            )
    return found


# -- findings against OLD -----------------------------------------------------------------


def _is_include_guard(entity: Declared) -> bool:
    return (
        isinstance(entity, Macro)
        and not entity.function_like
        and entity.value is None
        and entity.name.upper().endswith(("_H", "_H_"))
    )


def check_against_old(build: Snapshot, old: Snapshot) -> list[Finding]:
    """ABI802: visible at OLD's level in BUILD's headers, but neither declared in OLD's
    limited API nor (a function or data) exported by OLD."""
    level = old.build.feature_version
    old_limited = set(since_by_name(old))
    old_exports = exports_of(old) if old.binaries else frozenset()
    found = []
    for entity in limited_declarations(build):
        assert entity.limited_since is not None
        if version_key(entity.limited_since) > version_key(level) or _is_include_guard(entity):
            continue
        names = {entity.name, public_name(entity)}
        if isinstance(entity, Record):
            names |= {*entity.aliases, entity.name.split(" ", 1)[-1]}
        if names & old_limited:
            continue
        linked = isinstance(entity, Variable) or (isinstance(entity, Function) and not entity.inline)
        if linked and entity.name in old_exports:
            continue
        what = "nor exported by it" if linked and old.binaries else ""
        detail = f"but {old.build.version} does not declare it in its limited API" + (f" {what}" if what else "")
        found.append(
            finding(
                Abi3Kind.AHEAD_OF_OLD,
                public_name(entity),
                entity_kind_of(entity),
                old=old.build.version,
                new=level,
                detail=detail,
                header=entity.header,
            )
        )
    return found


def flatten(fields: tuple[Field, ...]) -> dict[str, Field]:
    """Fields by name, the members of anonymous structs and unions included (3.12's
    ``ob_refcnt`` lives in an anonymous union of ``PyObject``)."""
    out: dict[str, Field] = {}
    for item in fields:
        if item.name:
            out.setdefault(item.name, item)
        out.update({name: inner for name, inner in flatten(item.members).items() if name not in out})
    return out


def _describe_field(item: Field) -> str:
    offset = "?" if item.offset_bits is None else f"{item.offset_bits // 8}"
    return f"{item.type.canonical} at byte {offset}"


def _field_changes(name: str, a: Field | None, b: Field | None) -> str | None:
    if a is None and b is None:
        return None
    if a is None:
        assert b is not None
        return f"field {name} added ({_describe_field(b)})"
    if b is None:
        return f"field {name} removed (was {_describe_field(a)})"
    if (a.offset_bits, a.size_bits, a.type.canonical, a.bitfield_width) != (
        b.offset_bits,
        b.size_bits,
        b.type.canonical,
        b.bitfield_width,
    ):
        return f"field {name}: {_describe_field(a)} -> {_describe_field(b)}"
    return None


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


def check_layouts(build: Snapshot, old: Snapshot, manifest: tuple[ManifestEntry, ...]) -> list[Finding]:
    """ABI805: stable ABI struct layouts of BUILD against OLD."""
    found = []
    for name, members in sorted(stable_layouts(build, old, manifest).items()):
        a, b = _record_named(old, name), _record_named(build, name)
        if a is None or not a.complete:
            continue  # OLD does not define it: nothing was promised yet
        changes: list[str] = []
        if b is None or not b.complete:
            changes.append("no longer defined in the headers" if b is None else "became opaque")
        else:
            if not members and (a.size, a.align) != (b.size, b.align):
                changes.append(f"size/alignment {a.size}/{a.align} -> {b.size}/{b.align} bytes")
            fields_a, fields_b = flatten(a.fields), flatten(b.fields)
            names = members or tuple(dict.fromkeys([*fields_a, *fields_b]))
            for field_name in names:
                change = _field_changes(field_name, fields_a.get(field_name), fields_b.get(field_name))
                if change:
                    changes.append(change)
        if changes:
            scope = "members " + ", ".join(members) if members else "full layout"
            found.append(
                finding(
                    Abi3Kind.STABLE_LAYOUT_CHANGED,
                    name,
                    EntityKind.RECORD,
                    old=old.build.version,
                    new=build.build.version,
                    detail=f"{'; '.join(changes)} ({scope} in the stable ABI)",
                    header=(b or a).header,
                )
            )
    return found


def check_aliases(snapshot: Snapshot) -> tuple[list[Finding], int]:
    """ABI806, and how many ``Py_LIMITED_API_3_x`` aliases the headers define."""
    found = []
    aliases = [macro for macro in snapshot.macros if _ALIAS.match(macro.name)]
    for macro in aliases:
        match = _ALIAS.match(macro.name)
        assert match is not None
        wanted = f"0x{limited_api_hex(f'3.{int(match.group(1))}'):08X}"
        actual = "not an integer constant" if macro.value is None else f"0x{macro.value:08X}"
        if actual != wanted:
            found.append(
                finding(
                    Abi3Kind.LIMITED_ALIAS_VALUE,
                    macro.name,
                    EntityKind.MACRO,
                    old=wanted,
                    new=actual,
                    header=macro.header,
                )
            )
    return found, len(aliases)


# -- the audit ----------------------------------------------------------------------------


def audit(
    build: Snapshot,
    against: Snapshot | None = None,
    *,
    manifest: tuple[ManifestEntry, ...] | None = None,
    manifest_source: str | None = None,
) -> Abi3Report:
    """The abi3 report of ``build`` (and of ``build`` against ``against``), judged by
    ``manifest`` (by default the build's own, if it carries one)."""
    if manifest is None:
        manifest = build.manifest
        manifest_source = "the build's Misc/stable_abi manifest" if manifest else None
    by_name = {entry.name: entry for entry in manifest if applicable(entry, build)}
    items = surface(build, by_name)
    found = check_manifest(build, manifest)
    notes: list[str] = [NOTE_INVISIBLE]
    if not manifest:
        notes.append("no stable ABI manifest: ABI801, ABI803 and ABI804 had nothing to check")
    if not build.binaries:
        notes.append("the build has no binaries: exports were not checked (ABI804)")
    aliases, alias_count = check_aliases(build)
    found += aliases
    if alias_count == 0:
        notes.append("the headers define no Py_LIMITED_API_3_x aliases (PEP 605): ABI806 had nothing to check")
    if against is not None:
        found += check_against_old(build, against)
        if (against.build.pointer_size, against.build.target) != (build.build.pointer_size, build.build.target):
            notes.append(
                f"{against.build.target} and {build.build.target} differ: stable struct layouts were not compared"
            )
        else:
            found += check_layouts(build, against, manifest)
        if not against.binaries:
            notes.append(f"{against.build.version} has no binaries: ABI802 judged by its headers only")
    findings = tuple(sorted(found, key=finding_order))
    counts, severity_counts = tally(findings)
    broken = any(item.severity == Severity.BREAK for item in findings)
    return Abi3Report(
        schema=SCHEMA_NAME,
        schema_version=SCHEMA_VERSION,
        build=identity(build.build, headers_only=not build.binaries),
        against=None if against is None else identity(against.build, headers_only=not against.binaries),
        manifest_source=manifest_source,
        exports_checked=bool(build.binaries),
        levels=levels(build, items),
        surface=items,
        stable_abi_verdict=StableVerdict.BROKEN if broken else StableVerdict.INTACT,
        counts=counts,
        severity_counts=severity_counts,
        notes=tuple(notes),
        changes=findings,
    )


# -- rendering ----------------------------------------------------------------------------


def dumps(report: Abi3Report) -> str:
    """The report as JSON: the same report always gives the same bytes."""
    return json.dumps(codec.encode(report), sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def schema() -> dict[str, Any]:
    """The JSON Schema of :class:`Abi3Report` documents."""
    return codec.document_schema(Abi3Report, name=SCHEMA_NAME, version=SCHEMA_VERSION, title="abidiff abi3 report")


def _build_line(build: BuildIdentity) -> str:
    return f"{build.version} ({build.origin})"


def render_text(report: Abi3Report) -> str:
    lines = [f"abi3 audit of {_build_line(report.build)}"]
    if report.against is not None:
        lines.append(f"  against {_build_line(report.against)}")
    lines.append(f"  manifest: {report.manifest_source or 'none'}")
    lines += ["", "Py_LIMITED_API   functions  inline  data  structs  macros  typedefs  new"]
    for level in report.levels:
        lines.append(
            f"{level.level:>5} {level.hex}  {level.functions:>9}  {level.inline_functions:>6}  {level.data:>4}"
            f"  {level.structs:>7}  {level.macros:>6}  {level.typedefs:>8}  {len(level.new):>3}"
        )
    lines.append("")
    if not report.changes:
        lines.append("no findings: the limited API guards, the manifest and the exports agree")
    for item in report.changes:
        where = f" [{item.header}]" if item.header else ""
        lines.append(f"{item.rule} {item.severity}: {item.message}{where}")
    lines.append("")
    lines.append(
        f"stable ABI: {report.stable_abi_verdict}; "
        + ", ".join(f"{count} {severity}" for severity, count in report.severity_counts.items() if count)
        if report.changes
        else f"stable ABI: {report.stable_abi_verdict}"
    )
    lines += [f"note: {note}" for note in report.notes]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(report: Abi3Report) -> str:
    against = f" against {report.against.version}" if report.against else ""
    lines = [
        f"## abi3 audit of CPython {report.build.version}{against}",
        "",
        f"Stable ABI: **{report.stable_abi_verdict}**. Manifest: {report.manifest_source or 'none'}.",
        "",
        "| Py_LIMITED_API | functions | static inline | data | structs | macros | typedefs | new |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for level in report.levels:
        lines.append(
            f"| {level.level} (`{level.hex}`) | {level.functions} | {level.inline_functions} | {level.data} "
            f"| {level.structs} | {level.macros} | {level.typedefs} | {len(level.new)} |"
        )
    lines.append("")
    if report.changes:
        lines += ["| rule | severity | finding |", "| --- | --- | --- |"]
        lines += [f"| {item.rule} | {item.severity} | {_cell(item.message)} |" for item in report.changes]
    else:
        lines.append("No findings.")
    lines += ["", *(f"> {note}" for note in report.notes)]
    return "\n".join(lines) + "\n"


def render(report: Abi3Report, fmt: str) -> str:
    if fmt == "json":
        return dumps(report)
    if fmt == "markdown":
        return render_markdown(report)
    if fmt == "text":
        return render_text(report)
    raise UsageError(f"unknown report format '{fmt}' (choose from {', '.join(FORMATS)})")
