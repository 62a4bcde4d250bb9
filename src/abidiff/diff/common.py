"""What every analysis of snapshots shares: tiers of names, type spellings, field paths,
include guards, exports, and the lowest ``Py_LIMITED_API`` level of each name."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from abidiff.changes import Change, ChangeKind, EntityKind, Export, Exports
from abidiff.model import (
    Binary,
    BinaryRole,
    Declared,
    Enum,
    Field,
    Macro,
    ManifestEntry,
    Record,
    Snapshot,
    Tier,
    version_key,
)

CONFIG_HEADER = "pyconfig.h"
VERSION_HEADER = "patchlevel.h"
EXPORTING_ROLES = (BinaryRole.LIBPYTHON, BinaryRole.INTERPRETER, BinaryRole.STABLE_ABI)

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


@functools.lru_cache(maxsize=65536)
def unqualified(canonical: str) -> str:
    """A canonical type without ``const``/``volatile``/``restrict``, spaces normalised."""
    return " ".join(_QUALIFIER_RE.sub(" ", canonical).split()).replace("* *", "**")


_TAG_RE = re.compile(r"\b(?:struct|union|enum)\s+")


@functools.lru_cache(maxsize=65536)
def tagless(canonical: str) -> str:
    """A canonical type without the ``struct``/``union``/``enum`` keywords: an untagged struct
    named by its typedef (``PyCodeObject`` in 3.8) and the same struct given a tag (``struct
    PyCodeObject`` in 3.9) are one type to an extension; so are an untagged enum and the same
    enum given a tag (its enumerators are compared on their own)."""
    return _TAG_RE.sub("", canonical)


@functools.lru_cache(maxsize=65536)
def type_key(canonical: str) -> str:
    """What two canonical types must share to be the same type in the ABI: no qualifiers,
    no ``struct``/``union``/``enum`` keywords."""
    return unqualified(tagless(canonical))


_WORD_RE = re.compile(r"\b[A-Za-z_]\w*\b")


@dataclass(frozen=True, slots=True)
class TypeMatch:
    """Whether a type of OLD is the same type in NEW: the same :func:`type_key`, once the
    records that NEW names otherwise (matched behind the same typedef) are given NEW's name.

    3.10's ``typedef struct bufferinfo {...} Py_buffer`` is 3.11's untagged ``typedef struct
    {...} Py_buffer``: ``struct bufferinfo *`` and ``Py_buffer *`` point to the same record,
    and a change of its layout is reported at the record, once.  It also knows the object
    structs of each side, for :meth:`objects_retyped`."""

    renamed: Mapping[str, str]  # an OLD record's untagged name -> NEW's
    # each object struct of a side (untagged, in NEW's names) -> the object structs it starts
    # with, itself included: PyCodeObject -> {PyCodeObject, PyVarObject, _object}
    old_objects: Mapping[str, frozenset[str]] = field(default_factory=dict)
    new_objects: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def old_tagless(self, canonical: str) -> str:
        """:func:`tagless` of a type of OLD, in NEW's record names."""
        spelled = tagless(canonical)
        if not self.renamed:
            return spelled
        return _WORD_RE.sub(lambda word: self.renamed.get(word.group(0), word.group(0)), spelled)

    def old_key(self, canonical: str) -> str:
        """:func:`type_key` of a type of OLD, in NEW's record names."""
        return unqualified(self.old_tagless(canonical))

    def same(self, old: str, new: str) -> bool:
        """Whether the canonical type ``old`` (of OLD) and ``new`` (of NEW) are one type."""
        return self.old_key(old) == type_key(new)

    def qualifiers_differ(self, old: str, new: str) -> bool:
        """Whether ``old`` and ``new`` are one type with other ``const``/``volatile`` qualifiers."""
        return self.same(old, new) and self.old_tagless(old) != tagless(new)

    def _pointees(self, old: str, new: str) -> tuple[str, str] | None:
        before, after = self.old_key(old), type_key(new)
        if before == after or not before.endswith(" *") or not after.endswith(" *"):
            return None
        return before[:-2], after[:-2]

    def object_narrowed(self, old: str, new: str) -> bool:
        """Whether ``new`` points to an object struct that starts with the one ``old`` points
        to (``PyObject *`` -> ``PyCodeObject *``): the same pointer, to a more precise type."""
        pointees = self._pointees(old, new)
        return pointees is not None and pointees[0] in self.new_objects.get(pointees[1], ())

    def object_widened(self, old: str, new: str) -> bool:
        """Whether ``old`` points to an object struct that starts with the one ``new`` points
        to (``PyTypeObject *`` -> ``PyObject *``): the same pointer, to a more general type."""
        pointees = self._pointees(old, new)
        return pointees is not None and pointees[1] in self.old_objects.get(pointees[0], ())

    def is_renamed(self, old: str) -> bool:
        """Whether ``old`` is itself a record NEW names otherwise (the typedef's own target)."""
        return type_key(old) in self.renamed


@functools.lru_cache(maxsize=65536)
def value_type(canonical: str) -> str:
    """The type held by value: ``struct _object[2]`` -> ``struct _object``."""
    return _ARRAY_RE.sub("", unqualified(canonical))


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


_INCLUDE_GUARD_RE = re.compile(r"^_*[A-Za-z]\w*_H_*$")


def is_include_guard(macro: Macro) -> bool:
    """``Py_OBJECT_H``, ``PYMACCONFIG_H``: an include guard, never API."""
    return macro.value is None and not macro.function_like and bool(_INCLUDE_GUARD_RE.match(macro.name))


def enum_label(enum_: Enum) -> str:
    return enum_.aliases[0] if enum_.aliases else enum_.name


def record_names(record: Record) -> tuple[str, ...]:
    """Every name a record goes by: its C name, its typedefs, and its bare tag."""
    return (record.name, *record.aliases, record.name.split(" ", 1)[-1])


def exports_of(binaries: Iterable[Binary]) -> dict[str, Export] | None:
    """Exported names of a snapshot's binaries, or None when it has none (headers only)."""
    binaries = tuple(binaries)
    if not binaries:
        return None
    found: dict[str, Export] = {}
    for binary in binaries:
        if binary.role not in EXPORTING_ROLES and binary.role != BinaryRole.OTHER:
            continue
        stable = binary.role == BinaryRole.STABLE_ABI
        for symbol in binary.symbols:
            known = found.get(symbol.name)
            if known is None:
                found[symbol.name] = Export(name=symbol.name, kind=symbol.kind, size=symbol.size, stable=stable)
            elif stable and not known.stable:
                found[symbol.name] = Export(name=known.name, kind=known.kind, size=known.size, stable=True)
            elif not stable and known.stable and symbol.size is not None:
                found[symbol.name] = Export(name=known.name, kind=symbol.kind, size=symbol.size, stable=True)
    return found


def exported_names(snapshot: Snapshot) -> frozenset[str]:
    """The names the build's libpython (or interpreter, or stable-ABI library) exports."""
    return frozenset(
        symbol.name for binary in snapshot.binaries if binary.role in EXPORTING_ROLES for symbol in binary.symbols
    )


def since_by_name(declarations: Iterable[Record | object]) -> dict[str, str]:
    """The lowest ``limited_since`` of each name, whatever kind of declaration carries it (a
    function of the manifest may be a macro in some version); records count under their
    C name, their typedefs and their bare tag."""
    found: dict[str, str] = {}
    for entity in declarations:
        since = getattr(entity, "limited_since", None)
        if since is None:
            continue
        names = record_names(entity) if isinstance(entity, Record) else (str(getattr(entity, "name", "")),)
        for name in names:
            if name not in found or version_key(since) < version_key(found[name]):
                found[name] = since
    return found


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


def stable_symbols(manifest: Iterable[ManifestEntry], snapshot: Snapshot) -> frozenset[str]:
    """The functions and data of the stable ABI manifest that ``snapshot`` must export."""
    return frozenset(
        entry.name for entry in manifest if entry.kind in ("function", "data") and applicable(entry, snapshot)
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportView:
    """What the two builds export (None: a side without binaries), and what the stable ABI
    manifest says each must export."""

    old: Mapping[str, Export] | None
    new: Mapping[str, Export] | None
    stable_old: frozenset[str] = frozenset()
    stable_new: frozenset[str] = frozenset()

    def state(self, name: str) -> Exports:
        """Whether NEW still exports ``name``; with headers only, the manifest may say so."""
        if self.new is None:
            return Exports.MANIFEST if name in self.stable_new else Exports.UNKNOWN
        return Exports.KEPT if name in self.new else Exports.GONE

    def never_exported(self, name: str) -> bool:
        """OLD's binaries do not export ``name`` and the manifest does not promise it: its
        declaration was never part of the ABI."""
        return self.old is not None and name not in self.old and name not in self.stable_old


class _HasName(Protocol):
    @property
    def name(self) -> str: ...


_Named = TypeVar("_Named", bound=_HasName)


def by_name(declarations: Iterable[_Named]) -> dict[str, _Named]:
    """Declarations by name (the last one of a name wins)."""
    return {declaration.name: declaration for declaration in declarations}


def change_at(
    kind: ChangeKind, entity_kind: EntityKind, entity: str, where: Declared, *, tier: Tier | None = None, **values: Any
) -> Change:
    """A change reported at the place of the declaration ``where``: its header, and its line
    unless ``line`` is given (a field's, an enumerator's); with its tier unless ``tier`` says
    otherwise (the old side's)."""
    return Change(
        kind=kind,
        entity=entity,
        entity_kind=entity_kind,
        tier=tier or where.tier,
        header=where.header,
        **({"line": where.line} | values),
    )
