"""The rule catalogue: every rule of every analysis (compare, abi3, ext, series) in one table,
each with a stable id, a severity per tier, a one-line message template, a remedy and a doc
example.  ``docs/rules.md`` is generated from :data:`RULES` by ``scripts/gen_rules_doc.py``.

Severity follows the tier of the promise that was made (:class:`~abidiff.model.Tier`):

- a break in the limited API breaks both verdicts (the full ABI and the stable ABI);
- a break in the public API breaks the full-ABI verdict (PEP 605: the release is an alpha);
- changes to unstable (``PyUnstable_``) and private (``_Py``) declarations are warnings and never
  make a release an alpha (PEP 605's beta criterion);
- internal declarations are never a break.

A message template is ``str.format``-ed over the keys of :func:`abidiff.rules.describe.message_fields`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from abidiff.changes import ChangeKind
from abidiff.model import StrEnum, Tier


class Severity(StrEnum):
    BREAK = "break"  # breaks the ABI promised by the tier
    WARNING = "warning"  # worth a look: a source break, or a break of a tier that promises nothing
    COMPATIBLE = "compatible"  # a change that keeps binary compatibility
    INFO = "info"  # an addition, a configuration difference


SEVERITY_ORDER = (Severity.BREAK, Severity.WARNING, Severity.COMPATIBLE, Severity.INFO)


class Profile(StrEnum):
    """How a rule's severity depends on the tier."""

    ABI = "abi"  # an ABI break where the tier promises an ABI; a warning below
    SOURCE = "source"  # a source (API) break: warning where the tier promises an API
    COMPATIBLE = "compatible"
    INFO = "info"
    BREAK = "break"  # a break whatever the tier (an audit finding that makes something fail to load)
    WARNING = "warning"  # a warning whatever the tier

    def severity(self, tier: Tier) -> Severity:
        return _PROFILES[self][tier]


TIERS = (Tier.LIMITED, Tier.PUBLIC, Tier.UNSTABLE, Tier.PRIVATE, Tier.INTERNAL)

_PROFILES: dict[Profile, dict[Tier, Severity]] = {
    Profile.ABI: {
        Tier.LIMITED: Severity.BREAK,
        Tier.PUBLIC: Severity.BREAK,
        Tier.UNSTABLE: Severity.WARNING,
        Tier.PRIVATE: Severity.WARNING,
        Tier.INTERNAL: Severity.INFO,
    },
    Profile.SOURCE: {
        Tier.LIMITED: Severity.WARNING,
        Tier.PUBLIC: Severity.WARNING,
        Tier.UNSTABLE: Severity.INFO,
        Tier.PRIVATE: Severity.INFO,
        Tier.INTERNAL: Severity.INFO,
    },
    Profile.COMPATIBLE: dict.fromkeys(TIERS, Severity.COMPATIBLE),
    Profile.INFO: dict.fromkeys(TIERS, Severity.INFO),
    Profile.BREAK: dict.fromkeys(TIERS, Severity.BREAK),
    Profile.WARNING: dict.fromkeys(TIERS, Severity.WARNING),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """One entry of the catalogue.

    ``breaks_importers``: a binary that imports the entity fails to load or misbehaves after
    this change, whatever the tier promised (what ``abidiff ext --between`` checks).
    """

    id: str
    kind: ChangeKind
    title: str
    detects: str
    profile: Profile
    message: str
    remedy: str
    headline: str = ""  # the message in release-note words, when shorter than ``message``
    breaks_importers: bool = False

    def severity(self, tier: Tier) -> Severity:
        return self.profile.severity(tier)


RULES: tuple[Rule, ...] = (
    Rule(
        id="ABI001",
        kind=ChangeKind.BUILD_MISMATCH,
        title="builds not comparable",
        detects="The two builds differ in a setting that changes every object's layout or the extension "
        "filename: SOABI ABI flags or platform, Py_GIL_DISABLED, Py_TRACE_REFS, pointer size or target. "
        "Extensions of one never load in the other; the rest of the report is of little use.",
        profile=Profile.ABI,
        message="builds are not comparable: {entity} differs ({old} -> {new}): {detail}",
        remedy="Compare builds of the same configuration (both free-threaded or both not, same target).",
    ),
    Rule(
        id="ABI002",
        kind=ChangeKind.PROVISIONAL_EXEMPT,
        title="PEP 605: change to a provisional API",
        detects="A change that would be a break, to an API that is provisional under PEP 605: added since "
        "the feature base (the last feature release, --feature-base) and not in the limited API. A field "
        "change is provisional only when its struct is, or when the field is new since the base and the "
        "change neither moves another field nor resizes the struct. The finding keeps its own rule id and "
        "names this one as its exemption; it does not make the release an alpha.",
        profile=Profile.WARNING,
        message="{message} [provisional since {base} (PEP 605)]",
        remedy="None needed for a beta; extensions using the provisional API must rebuild.",
    ),
    Rule(
        id="ABI003",
        kind=ChangeKind.DEPRECATED_EXEMPT,
        title="PEP 605: removal of an API deprecated in the feature base",
        detects="The removal of a declaration that the feature base marks Py_DEPRECATED (a field's removal "
        "only when no other field moves and the struct keeps its size). Stable ABI items are never "
        "exempt: they must stay exported.",
        profile=Profile.WARNING,
        message="{message} [deprecated in {base} (PEP 605)]",
        remedy="None needed for a beta; extensions still using the deprecated API must change.",
    ),
    Rule(
        id="ABI101",
        kind=ChangeKind.RECORD_SIZE_CHANGED,
        title="record size or alignment changed",
        detects="A struct or union changed size or alignment with no field change that explains it.",
        profile=Profile.ABI,
        message="{entity} changed {detail}",
        remedy="Keep the size: use padding or reserved fields; or make the struct opaque behind functions.",
    ),
    Rule(
        id="ABI102",
        kind=ChangeKind.FIELD_REMOVED,
        title="field removed",
        detects="A field was removed from a struct or union; the fields after it move.",
        profile=Profile.ABI,
        message="field {field} removed from the {record} struct{shift}",
        remedy="Keep the field (deprecated, unused) until the next feature release.",
        headline="field {field} removed from the {record} struct",
    ),
    Rule(
        id="ABI103",
        kind=ChangeKind.FIELD_ADDED,
        title="field added",
        detects="A new field that does not fit in unused padding: the size grows, or the fields after it move.",
        profile=Profile.ABI,
        message="new field {field} added to the {record} struct{shift}{extra}",
        remedy="Add fields only in feature releases, at the end of structs nobody embeds, or in padding.",
        headline="new field {field} added to the {record} struct",
    ),
    Rule(
        id="ABI104",
        kind=ChangeKind.FIELD_ADDED_IN_PADDING,
        title="field added in padding",
        detects="A new named field or bit-field takes previously unused padding, or joins a union within the "
        "storage of its existing members; size and other offsets unchanged.",
        profile=Profile.COMPATIBLE,
        message="new field {field} added to the {record} struct without moving anything (layout kept)",
        remedy="None needed: binary compatible.",
    ),
    Rule(
        id="ABI105",
        kind=ChangeKind.FIELD_TYPE_CHANGED,
        title="field type changed",
        detects="A field's canonical type (or the size of its type) changed; a typedef renamed is no change.",
        profile=Profile.ABI,
        message="field {field} of the {record} struct changed: {detail}{shift}",
        remedy="Keep the field's type; add a new field for the new type.",
        headline="type of field {field} of the {record} struct changed",
    ),
    Rule(
        id="ABI106",
        kind=ChangeKind.FIELD_OFFSET_CHANGED,
        title="field offset changed",
        detects="A field moved with no field change before it that explains it (alignment, packing).",
        profile=Profile.ABI,
        message="field {field} of the {record} struct moved: {old} -> {new}{extra}",
        remedy="Restore the previous alignment or packing of the struct.",
    ),
    Rule(
        id="ABI107",
        kind=ChangeKind.BITFIELD_WIDTH_CHANGED,
        title="bit-field width changed",
        detects="A bit-field's width changed; the bits after it may move.",
        profile=Profile.ABI,
        message="bit-field {field} of the {record} struct changed: {detail}{shift}",
        remedy="Keep bit-field widths; add a new bit-field in unused bits instead.",
        headline="width of bit-field {field} of the {record} struct changed",
    ),
    Rule(
        id="ABI108",
        kind=ChangeKind.FIELD_RENAMED,
        title="field renamed, layout kept",
        detects="A field got a new name with the same type, offset and size: a source break only.",
        profile=Profile.SOURCE,
        message="field {field} of the {record} struct {detail}; layout kept (source break)",
        remedy="Keep the old name as an alias (a union or a macro) for a deprecation period.",
    ),
    Rule(
        id="ABI109",
        kind=ChangeKind.RECORD_BECAME_OPAQUE,
        title="record became opaque",
        detects="A struct whose definition was in the headers is now only declared: its layout is no longer API.",
        profile=Profile.ABI,
        message="{entity} became opaque (was {old})",
        remedy="Provide accessor functions first, then hide the struct in a feature release.",
    ),
    Rule(
        id="ABI110",
        kind=ChangeKind.RECORD_BECAME_COMPLETE,
        title="record became complete",
        detects="A struct that was opaque is now defined in the headers.",
        profile=Profile.INFO,
        message="{entity} is now defined in the headers ({new})",
        remedy="None needed; its layout now becomes part of the tier's promise.",
    ),
    Rule(
        id="ABI111",
        kind=ChangeKind.RECORD_REMOVED,
        title="record removed",
        detects="A struct or union defined in the headers is no longer declared at all (a source break; its "
        "users are reported on their own).",
        profile=Profile.SOURCE,
        message="struct {entity} removed from the headers",
        remedy="Keep the declaration for a deprecation period.",
    ),
    Rule(
        id="ABI201",
        kind=ChangeKind.FUNCTION_REMOVED,
        title="function removed",
        detects="A function left the headers and the exports (with headers only, leaving the headers counts "
        "as leaving the ABI).",
        profile=Profile.ABI,
        message="function {entity} {detail}",
        remedy="Keep exporting the function (declare it abi_only) for the lifetime of the promise.",
        breaks_importers=True,
    ),
    Rule(
        id="ABI202",
        kind=ChangeKind.FUNCTION_RETURN_CHANGED,
        title="function return type changed",
        detects="A function's canonical return type changed.",
        profile=Profile.ABI,
        message="return type of {entity} changed: {detail}",
        remedy="Add a new function with the new return type; keep the old one.",
        breaks_importers=True,
    ),
    Rule(
        id="ABI203",
        kind=ChangeKind.FUNCTION_PARAM_TYPE_CHANGED,
        title="function parameter type changed",
        detects="The canonical type of a function's parameter changed.",
        profile=Profile.ABI,
        message="parameters of {entity} changed: {detail}",
        remedy="Add a new function with the new parameters; keep the old one.",
        breaks_importers=True,
    ),
    Rule(
        id="ABI204",
        kind=ChangeKind.FUNCTION_PARAM_COUNT_CHANGED,
        title="function parameter count changed",
        detects="A function takes more or fewer parameters.",
        profile=Profile.ABI,
        message="{entity} now takes {detail}",
        remedy="Add a new function (Foo -> FooEx); keep the old one.",
        breaks_importers=True,
    ),
    Rule(
        id="ABI205",
        kind=ChangeKind.FUNCTION_VARIADIC_CHANGED,
        title="function variadic changed",
        detects="A function became variadic or stopped being variadic (calling conventions differ).",
        profile=Profile.ABI,
        message="{entity} {detail}",
        remedy="Add a new function; keep the old one.",
        breaks_importers=True,
    ),
    Rule(
        id="ABI206",
        kind=ChangeKind.FUNCTION_QUALIFIERS_CHANGED,
        title="function qualifiers changed",
        detects="Only const/volatile qualifiers of a function's return or parameter types changed.",
        profile=Profile.COMPATIBLE,
        message="qualifiers of {entity} changed (ABI kept): {old} -> {new}",
        remedy="None needed: binary compatible (callers may need a cast).",
    ),
    Rule(
        id="ABI207",
        kind=ChangeKind.FUNCTION_INLINED_EXPORTED,
        title="function became a macro or static inline, still exported",
        detects="A function became a macro or a static inline function and is still exported: the API "
        "changed, the ABI is kept.",
        profile=Profile.SOURCE,
        message="function {entity} {detail} (API change, ABI kept)",
        remedy="None needed for the ABI; keep the export as long as the tier promises it.",
    ),
    Rule(
        id="ABI208",
        kind=ChangeKind.FUNCTION_INLINED_UNEXPORTED,
        title="function became a macro or static inline, no longer exported",
        detects="A function became a macro or a static inline function and is no longer exported: "
        "extensions built before fail to load.",
        profile=Profile.ABI,
        message="function {entity} {detail}",
        remedy="Keep exporting the function for binaries built against earlier headers.",
        breaks_importers=True,
    ),
    Rule(
        id="ABI209",
        kind=ChangeKind.DECLARATION_HIDDEN,
        title="declaration removed from the headers, still exported",
        detects="A function or data left the headers but is still exported: a source break, not an ABI break.",
        profile=Profile.SOURCE,
        message="{entity_kind} {entity} {detail} (source break)",
        remedy="None needed for the ABI; document the removal.",
    ),
    Rule(
        id="ABI211",
        kind=ChangeKind.DECLARATION_NEVER_EXPORTED,
        title="declaration removed, never exported",
        detects="A function or data left the headers, and the old build's binaries never exported it (nor "
        "does the stable ABI manifest promise it): it was never part of the ABI, a source break only.",
        profile=Profile.SOURCE,
        message="{entity_kind} {entity} {detail} (source break)",
        remedy="None needed for the ABI; document the removal.",
    ),
    Rule(
        id="ABI210",
        kind=ChangeKind.DECLARATION_ADDED,
        title="declaration added",
        detects="A new function, data or struct in the headers.",
        profile=Profile.INFO,
        message="new {entity_kind} {entity}",
        remedy="None needed.",
    ),
    Rule(
        id="ABI301",
        kind=ChangeKind.VARIABLE_TYPE_CHANGED,
        title="data type or size changed",
        detects="Exported data changed canonical type or size.",
        profile=Profile.ABI,
        message="data {entity} changed: {detail}",
        remedy="Keep the data's type; export new data under a new name.",
        breaks_importers=True,
    ),
    Rule(
        id="ABI302",
        kind=ChangeKind.VARIABLE_REMOVED,
        title="data removed",
        detects="Exported data left the headers and the exports.",
        profile=Profile.ABI,
        message="data {entity} {detail}",
        remedy="Keep exporting the data for the lifetime of the promise.",
        breaks_importers=True,
    ),
    Rule(
        id="ABI401",
        kind=ChangeKind.ENUMERATOR_VALUE_CHANGED,
        title="enumerator value changed",
        detects="An enumerator's value changed (values are compiled into extensions).",
        profile=Profile.ABI,
        message="enumerator {entity} {detail} changed value: {old} -> {new}",
        remedy="Never renumber: append new enumerators at the end.",
    ),
    Rule(
        id="ABI402",
        kind=ChangeKind.ENUMERATOR_REMOVED,
        title="enumerator removed",
        detects="An enumerator was removed.",
        profile=Profile.ABI,
        message="enumerator {entity} {detail} removed",
        remedy="Keep the enumerator (deprecated).",
    ),
    Rule(
        id="ABI403",
        kind=ChangeKind.ENUMERATOR_ADDED,
        title="enumerator added",
        detects="A new enumerator in an existing enum, with a value of its own.",
        profile=Profile.COMPATIBLE,
        message="new enumerator {new} {detail}",
        remedy="None needed.",
    ),
    Rule(
        id="ABI404",
        kind=ChangeKind.ENUM_REMOVED,
        title="enum removed",
        detects="An enum and all its enumerators were removed.",
        profile=Profile.ABI,
        message="enum {entity} removed with its enumerators {old}",
        remedy="Keep the enum (deprecated).",
    ),
    Rule(
        id="ABI501",
        kind=ChangeKind.MACRO_VALUE_CHANGED,
        title="macro constant changed",
        detects="An object-like macro that is an integer constant changed value (compiled into extensions).",
        profile=Profile.ABI,
        message="macro {entity} changed value: {old} -> {new}",
        remedy="Keep the value; add a new macro for the new meaning.",
    ),
    Rule(
        id="ABI502",
        kind=ChangeKind.API_REMOVED,
        title="macro or static inline function removed",
        detects="A macro or a static inline function left the headers: a source break (they are never exports).",
        profile=Profile.SOURCE,
        message="{entity_kind} {entity} removed from the headers (source break)",
        remedy="Keep it for a deprecation period.",
    ),
    Rule(
        id="ABI503",
        kind=ChangeKind.CONFIG_MACRO_CHANGED,
        title="build configuration changed",
        detects="A macro of pyconfig.h (build configuration) was added, removed or changed value.",
        profile=Profile.INFO,
        message="build configuration {entity}: {old} -> {new}",
        remedy="None needed; layout-relevant settings are checked by ABI001.",
    ),
    Rule(
        id="ABI504",
        kind=ChangeKind.TYPEDEF_REMOVED,
        title="typedef removed",
        detects="A typedef left the headers and nothing of the same name replaces it: a source break (a "
        "typedef is no export).",
        profile=Profile.SOURCE,
        message="typedef {entity} removed from the headers (source break)",
        remedy="Keep the typedef for a deprecation period.",
    ),
    Rule(
        id="ABI505",
        kind=ChangeKind.TYPEDEF_CHANGED,
        title="typedef target changed",
        detects="A typedef now names another type (canonically): code that defines callbacks of that type "
        "must change (a source break). The ABI break, if any, is reported where the type is used: at the "
        "functions, data and struct fields whose canonical types changed with it.",
        profile=Profile.SOURCE,
        message="typedef {entity} changed: {detail} (source break)",
        remedy="Keep the typedef; add a new one (and a new function that takes it) for the new type.",
    ),
    Rule(
        id="ABI601",
        kind=ChangeKind.EXPORT_REMOVED,
        title="export removed",
        detects="A symbol is no longer exported (and no header change already said so).",
        profile=Profile.ABI,
        message="exported symbol {entity} removed",
        remedy="Keep exporting the symbol; private (_Py) symbols may go, with a warning.",
        breaks_importers=True,
    ),
    Rule(
        id="ABI602",
        kind=ChangeKind.EXPORT_ADDED,
        title="export added",
        detects="A new exported symbol.",
        profile=Profile.INFO,
        message="new exported symbol {entity}",
        remedy="None needed.",
    ),
    Rule(
        id="ABI603",
        kind=ChangeKind.EXPORT_SIZE_CHANGED,
        title="exported data size changed",
        detects="The symbol size of exported data changed (a layout signal from the binary).",
        profile=Profile.ABI,
        message="exported data {entity} changed size: {old} -> {new}",
        remedy="Keep the data's size.",
        breaks_importers=True,
    ),
    Rule(
        id="ABI701",
        kind=ChangeKind.LIMITED_REMOVED,
        title="left the limited API, still exported",
        detects="A declaration is no longer visible at some Py_LIMITED_API version where it was; functions "
        "and data are still exported, so the stable ABI is kept.",
        profile=Profile.SOURCE,
        message="{entity_kind} {entity} {detail}",
        remedy="Restore the declaration under its Py_LIMITED_API guard, or document the removal.",
    ),
    Rule(
        id="ABI702",
        kind=ChangeKind.LIMITED_REMOVED_UNEXPORTED,
        title="left the limited API and the exports",
        detects="A function or data left the limited API of some version and is no longer exported: "
        "abi3 extensions using it fail to load.",
        profile=Profile.ABI,
        message="{entity_kind} {entity} {detail}, and is no longer exported",
        remedy="Keep exporting it (abi_only in Misc/stable_abi.toml).",
        breaks_importers=True,
    ),
    Rule(
        id="ABI703",
        kind=ChangeKind.LIMITED_SINCE_EARLIER,
        title="limited API version moved earlier",
        detects="An existing limited declaration is now visible at an older Py_LIMITED_API than before.",
        profile=Profile.SOURCE,
        message="{entity_kind} {entity} moved to an earlier limited API: {old} -> {new}",
        remedy="Guard it with the version that added it: #if Py_LIMITED_API+0 >= 0x03XY0000.",
    ),
    Rule(
        id="ABI704",
        kind=ChangeKind.LIMITED_UNGUARDED,
        title="unguarded limited API addition",
        detects="A new limited function or data is visible at a Py_LIMITED_API older than the build's own "
        "version: abi3 extensions that use it fail to load on those older versions.",
        profile=Profile.SOURCE,
        message="{entity_kind} {entity} is {detail}",
        remedy="Guard it: #if !defined(Py_LIMITED_API) || Py_LIMITED_API+0 >= 0x03XY0000.",
    ),
    Rule(
        id="ABI801",
        kind=ChangeKind.AHEAD_OF_MANIFEST,
        title="limited declaration visible before the version that added it",
        detects="The headers show a limited-API item at a Py_LIMITED_API older than the stable ABI "
        "manifest's 'added': an abi3 extension built for that older version can use it, and then import "
        "a symbol the older Pythons lack.",
        profile=Profile.WARNING,
        message="{entity_kind} {entity} is visible at Py_LIMITED_API {new}, but the manifest adds it in {old}",
        remedy="Guard it: #if !defined(Py_LIMITED_API) || Py_LIMITED_API+0 >= 0x03XY0000 (XY = 'added').",
    ),
    Rule(
        id="ABI802",
        kind=ChangeKind.AHEAD_OF_OLD,
        title="limited declaration visible at OLD's level that OLD lacks",
        detects="Compiled with Py_LIMITED_API set to OLD's version, the build's headers show an item that "
        "OLD neither declared in its limited API nor exported: an extension built that way for OLD may "
        "fail to build against OLD, or (a function or data) fail to load on it.",
        profile=Profile.WARNING,
        message="{entity_kind} {entity} is visible at Py_LIMITED_API {new}, {detail}",
        remedy="Guard it with the version that adds it: #if Py_LIMITED_API+0 >= 0x03XY0000.",
    ),
    Rule(
        id="ABI803",
        kind=ChangeKind.MANIFEST_NOT_IN_HEADERS,
        title="manifest item missing from the headers at its version",
        detects="A manifest item (not abi_only, not for another platform) is not visible in the headers at "
        "the Py_LIMITED_API of the version that added it.",
        profile=Profile.WARNING,
        message="{entity_kind} {entity} (added {old}) {detail}",
        remedy="Declare it in the limited API under its version guard, or mark it abi_only in the manifest.",
    ),
    Rule(
        id="ABI804",
        kind=ChangeKind.MANIFEST_NOT_EXPORTED,
        title="stable ABI function or data not exported",
        detects="A function or data of the manifest (added at or before the build's version, for this "
        "platform) is not exported by the build's binaries: abi3 extensions that use it fail to load.",
        profile=Profile.BREAK,
        message="{entity_kind} {entity} (stable ABI since {old}) is not exported by {detail}",
        remedy="Export it (PyAPI_FUNC/PyAPI_DATA, not a macro or static inline function) for as long as 3.x lives.",
    ),
    Rule(
        id="ABI805",
        kind=ChangeKind.STABLE_LAYOUT_CHANGED,
        title="stable ABI struct layout changed",
        detects="A struct whose layout is part of the stable ABI (struct_abi_kind 'full-abi', or the listed "
        "'members'; without a manifest, the structs complete at some Py_LIMITED_API level) differs from OLD.",
        profile=Profile.BREAK,
        message="{entity_kind} {entity} changed: {detail}",
        remedy="Never change a stable ABI layout; add a new struct and functions that take it.",
    ),
    Rule(
        id="ABI806",
        kind=ChangeKind.LIMITED_ALIAS_VALUE,
        title="Py_LIMITED_API_3_x alias with a wrong value",
        detects="A PEP 605 alias Py_LIMITED_API_3_x defined by the headers is not 0x03XY0000.",
        profile=Profile.WARNING,
        message="macro {entity} is {new}, not {old}",
        remedy="Define Py_LIMITED_API_3_x as 0x03XY0000, the Py_LIMITED_API value of 3.x.",
    ),
    Rule(
        id="ABI811",
        kind=ChangeKind.EXT_NOT_STABLE,
        title="abi3 extension imports a symbol outside the stable ABI",
        detects="An extension tagged abi3 imports a CPython symbol that is not in the stable ABI: it works "
        "only with the versions that happen to export it.",
        profile=Profile.BREAK,
        message="{entity} is imported but is not in the stable ABI{detail}",
        remedy="Build with Py_LIMITED_API defined and use only limited-API functions, or drop the abi3 tag.",
    ),
    Rule(
        id="ABI812",
        kind=ChangeKind.EXT_NEWER_THAN_TAG,
        title="abi3 extension imports a symbol newer than its tag",
        detects="An extension tagged abi3 for 3.X imports a stable ABI symbol added after 3.X: it fails to "
        "load on the versions from 3.X to the one before 'added'.",
        profile=Profile.BREAK,
        message="{entity} is in the stable ABI since {new}, but the extension is tagged for {old}",
        remedy="Build with Py_LIMITED_API=0x03XY0000 of the tag (the headers then hide the symbol), or raise the tag.",
    ),
    Rule(
        id="ABI813",
        kind=ChangeKind.EXT_NOT_EXPORTED,
        title="imported symbol not exported by the build",
        detects="The extension imports a symbol that the given build does not export: it fails to load there.",
        profile=Profile.BREAK,
        message="{entity} is imported but {detail} does not export it",
        remedy="Rebuild the extension against that build, or avoid the symbol.",
    ),
    Rule(
        id="ABI814",
        kind=ChangeKind.EXT_BROKEN_BETWEEN,
        title="ABI break between OLD and NEW touches an imported symbol",
        detects="Between the two builds, a function the extension imports was removed or changed signature, or "
        "data it imports changed type or size, or was removed.",
        profile=Profile.BREAK,
        message="{entity} is imported: {detail}",
        remedy="Rebuild the extension for NEW.",
    ),
    Rule(
        id="ABI815",
        kind=ChangeKind.EXT_VERSIONED_DLL,
        title="abi3 extension links to a versioned python3X.dll",
        detects="A Windows extension tagged abi3 imports from python3X.dll instead of python3.dll: it loads "
        "only with that one version.",
        profile=Profile.BREAK,
        message="{entity} is imported from {detail}, not python3.dll",
        remedy="Define Py_LIMITED_API before including Python.h: pyconfig.h then links python3.lib.",
    ),
    Rule(
        id="ABI816",
        kind=ChangeKind.EXT_TAG_MISMATCH,
        title="wheel file name and WHEEL metadata disagree",
        detects="The tags in the wheel's file name differ from the Tag lines of its WHEEL metadata.",
        profile=Profile.WARNING,
        message="wheel tags differ: file name {old}, WHEEL {new}",
        remedy="Rebuild the wheel; installers trust the file name, auditors the metadata.",
    ),
    Rule(
        id="ABI901",
        kind=ChangeKind.SERIES_BREAK_AFTER_RC,
        title="full ABI break after the first release candidate",
        detects="In a release series, a release that follows a release candidate or a final release of the "
        "same feature release breaks the full ABI of the one before it. PEP 605 freezes the full ABI at "
        "X.Y.0rc1: extensions built for the release candidate must keep working until the last X.Y.z.",
        profile=Profile.BREAK,
        message="{entity} breaks the full ABI after the first release candidate froze it ({detail})",
        remedy="Revert the breaking changes: after X.Y.0rc1 only binary compatible changes may land.",
    ),
    Rule(
        id="ABI902",
        kind=ChangeKind.SERIES_LABEL_MISMATCH,
        title="release label disagrees with PEP 605's name",
        detects="In a release series, a pre-release's own label (patchlevel.h) says alpha where it is binary "
        "compatible with the release before it, or beta (or release candidate) where it breaks the full ABI "
        "of that release: PEP 605 names a pre-release by what it does to the full ABI.",
        profile=Profile.WARNING,
        message="{entity} is labelled {old}, but PEP 605 names it {new}{extra}",
        remedy="Publish the release under PEP 605's name, or revert the breaks that were not meant to land.",
    ),
)

RULE_BY_KIND: Mapping[ChangeKind, Rule] = {rule.kind: rule for rule in RULES}
RULE_BY_ID: Mapping[str, Rule] = {rule.id: rule for rule in RULES}
