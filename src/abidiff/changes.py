"""The one vocabulary of every analysis: what changed (:class:`ChangeKind`), at which entity,
with the values on each side.

Every analysis (``diff`` of two builds, the ``abi3`` audit, the ``ext`` audit, a ``series``)
yields :class:`Change` values; :mod:`abidiff.rules` judges them (one catalogue, one severity
per tier) and makes their text.  A change carries values, never prose: ``old``/``new`` are
the declarations on each side (a :class:`~abidiff.model.Field`, a
:class:`~abidiff.model.Function`, ...) or plain values (a size, a version), and ``facts``
name the other values a message needs (the record's sizes, the feature version, ...).

Nothing here does I/O; it imports only :mod:`abidiff.model`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from abidiff.model import (
    Build,
    Enum,
    Enumerator,
    Field,
    Function,
    Macro,
    Record,
    StrEnum,
    SymbolKind,
    Tier,
    Typedef,
    Variable,
)


class ChangeKind(StrEnum):
    """What changed.  Each kind is one rule of the catalogue (:mod:`abidiff.rules`)."""

    BUILD_MISMATCH = "build-mismatch"
    HEADER_NOT_COMPARED = "header-not-compared"
    # PEP 605's exemptions: no analysis yields these; the judge names them on a finding it
    # lowered from a break (``Finding.exemption``)
    PROVISIONAL_EXEMPT = "pep605-provisional"
    DEPRECATED_EXEMPT = "pep605-deprecated"
    RECORD_SIZE_CHANGED = "record-size-changed"
    FIELD_REMOVED = "field-removed"
    FIELD_ADDED = "field-added"
    FIELD_ADDED_IN_PADDING = "field-added-in-padding"
    FIELD_APPENDED = "field-appended-capsule"
    FIELD_TYPE_CHANGED = "field-type-changed"
    FIELD_OBJECT_RETYPED = "field-object-pointer-retyped"
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
    FUNCTION_OBJECT_RETYPED = "function-object-pointer-retyped"
    FUNCTION_INLINED_EXPORTED = "function-became-inline-exported"
    FUNCTION_INLINED_UNEXPORTED = "function-became-inline-unexported"
    DECLARATION_HIDDEN = "declaration-hidden"
    DECLARATION_NEVER_EXPORTED = "declaration-removed-never-exported"
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
    TYPEDEF_REMOVED = "typedef-removed"
    TYPEDEF_CHANGED = "typedef-changed"
    CALLBACK_CHANGED = "callback-signature-changed"
    EXPORT_REMOVED = "export-removed"
    EXPORT_ADDED = "export-added"
    EXPORT_SIZE_CHANGED = "export-size-changed"
    LIMITED_REMOVED = "limited-api-removed"
    LIMITED_REMOVED_UNEXPORTED = "limited-api-removed-unexported"
    LIMITED_SINCE_EARLIER = "limited-since-earlier"
    LIMITED_UNGUARDED = "limited-api-unguarded-addition"
    # the abi3 audit of one build (``abidiff abi3``)
    AHEAD_OF_MANIFEST = "limited-ahead-of-manifest"
    AHEAD_OF_OLD = "limited-ahead-of-old"
    MANIFEST_NOT_IN_HEADERS = "manifest-not-in-headers"
    MANIFEST_NOT_EXPORTED = "manifest-not-exported"
    STABLE_LAYOUT_CHANGED = "stable-layout-changed"
    LIMITED_ALIAS_VALUE = "limited-api-alias-value"
    # the audit of an extension module or wheel (``abidiff ext``)
    EXT_NOT_STABLE = "ext-not-stable-abi"
    EXT_NEWER_THAN_TAG = "ext-newer-than-tag"
    EXT_NOT_EXPORTED = "ext-not-exported"
    EXT_BROKEN_BETWEEN = "ext-broken-between"
    EXT_VERSIONED_DLL = "ext-versioned-dll"
    EXT_TAG_MISMATCH = "ext-tag-mismatch"
    EXT_SOURCE_USES = "ext-source-uses-broken"
    # a release series (``abidiff series``)
    SERIES_BREAK_AFTER_RC = "series-break-after-rc1"
    SERIES_LABEL_MISMATCH = "series-label-mismatch"


class EntityKind(StrEnum):
    """What a change is about: the build, a header, or one kind of declaration or symbol."""

    BUILD = "build"
    HEADER = "header"
    RECORD = "record"
    FIELD = "field"
    FUNCTION = "function"
    DATA = "data"
    ENUM = "enum"
    ENUMERATOR = "enumerator"
    MACRO = "macro"
    TYPEDEF = "typedef"
    SYMBOL = "symbol"


class Exports(StrEnum):
    """What the binaries of NEW say of a function or data that left the headers."""

    KEPT = "still-exported"
    GONE = "not-exported"
    UNKNOWN = "headers-only"  # NEW has no binaries: counted as gone
    MANIFEST = "manifest"  # NEW has no binaries, but the stable ABI manifest says it stays exported


class Base(StrEnum):
    """What the feature base (the last feature release, PEP 605) says of a changed entity."""

    PROVISIONAL = "provisional"  # added since the feature base, not in the limited API
    DEPRECATED = "deprecated"  # removed after the feature base marked it deprecated


@dataclass(frozen=True, slots=True, kw_only=True)
class Export:
    """One exported name of a build, as a comparison sees it."""

    name: str
    kind: SymbolKind
    size: int | None
    stable: bool  # exported by the stable-ABI library (python3.dll, libpython3.so)


Declaration = Record | Field | Function | Variable | Enum | Enumerator | Typedef | Macro
# a side of a change: a declaration, an export, or a plain value (a size, a version, a flag)
Value = Declaration | Export | int | str


@dataclass(frozen=True, slots=True, kw_only=True)
class Place:
    """A place of an extension's source that uses a changed entity; ``via``: the static
    inline function or macro of the headers that leads there (None: used directly)."""

    file: str
    line: int
    column: int
    via: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One change, at the entity where it happened.

    ``old``/``new``: the entity on each side (``None`` when absent); a field is given with
    its access path as name (``state.kind``).  ``parent``: the record of a field, the enum
    of an enumerator.  ``exports``: what NEW's binaries say of a declaration that left the
    headers.  ``facts``: other values the change is about, by name (``("old_size", 16)``).
    ``shifted``: fields whose offsets move because of this change; ``impacts``: what uses
    the changed entity (records embedding it by value, functions, data; or the extension
    modules concerned).  ``reached_through``: the static inline functions and macros of the
    headers through which code compiled against them reaches a layout change (see
    :mod:`abidiff.diff.reach`).
    """

    kind: ChangeKind
    entity: str
    entity_kind: EntityKind
    tier: Tier
    old: Value | None = None
    new: Value | None = None
    parent: str | None = None
    exports: Exports | None = None
    facts: tuple[tuple[str, Any], ...] = ()
    shifted: tuple[str, ...] = ()
    impacts: tuple[str, ...] = ()
    header: str | None = None
    line: int | None = None
    base: Base | None = None  # set by :func:`abidiff.diff.base.mark` when a feature base is given
    reached_through: tuple[str, ...] = ()
    places: tuple[Place, ...] = ()  # ``abidiff ext --source``: where the extension uses it

    def fact(self, name: str, default: Any = None) -> Any:
        for key, value in self.facts:
            if key == name:
                return value
        return default


@dataclass(frozen=True, slots=True, kw_only=True)
class Diff:
    """Everything that differs between two snapshots, sorted; ``problems`` (build-mismatch
    changes) say first why the two builds are not comparable at all (free-threaded against
    default, 32 against 64 bits)."""

    old: Build
    new: Build
    headers_only: bool
    feature_base: Build | None = None
    problems: tuple[Change, ...] = ()
    changes: tuple[Change, ...] = ()
