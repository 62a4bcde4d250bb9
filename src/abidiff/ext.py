"""``abidiff ext EXT_OR_WHEEL``: which CPython symbols an extension module imports, and what
that means for its abi3 tag, for one build (``--against``), and for the breaks between two
(``--between OLD NEW``).

The stable-ABI truth is the manifest shipped with abidiff (:mod:`abidiff.data`), or, with
``--against B``, B's snapshot: its limited declarations (``limited_since``) and its exports.
Only imports are seen: what an extension reads of a struct through macros or static inline
functions is compiled into it and invisible here (the report says so).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from abidiff import codec
from abidiff.abi3 import (
    NOTE_INVISIBLE,
    Abi3Kind,
    Finding,
    exporter_names,
    exports_of,
    finding,
    finding_order,
    tally,
)
from abidiff.diff import ChangeKind, EntityKind
from abidiff.errors import InputError
from abidiff.model import BinaryFormat, Snapshot, Tier, version_key
from abidiff.rules import BuildIdentity, identity

if TYPE_CHECKING:
    from abidiff.binaries import ImportTable

FORMATS = ("text", "json")
SCHEMA_NAME = "abidiff-ext"
SCHEMA_VERSION = 1
_PYTHON_DLL = re.compile(r"^python3(\d*)(_d)?\.dll$", re.IGNORECASE)
# the comparison's changes that make an extension importing the entity fail or misbehave
BREAKING_KINDS = frozenset(
    {
        ChangeKind.FUNCTION_REMOVED,
        ChangeKind.FUNCTION_RETURN_CHANGED,
        ChangeKind.FUNCTION_PARAM_TYPE_CHANGED,
        ChangeKind.FUNCTION_PARAM_COUNT_CHANGED,
        ChangeKind.FUNCTION_VARIADIC_CHANGED,
        ChangeKind.FUNCTION_INLINED_UNEXPORTED,
        ChangeKind.VARIABLE_TYPE_CHANGED,
        ChangeKind.VARIABLE_REMOVED,
        ChangeKind.EXPORT_REMOVED,
        ChangeKind.EXPORT_SIZE_CHANGED,
        ChangeKind.LIMITED_REMOVED_UNEXPORTED,
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class StableSymbol:
    """What the stable-ABI truth says of one name."""

    added: str
    abi_only: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class StableTruth:
    """Stable ABI functions and data by name, and where that comes from."""

    source: str
    symbols: Mapping[str, StableSymbol]


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportedSymbol:
    """One CPython symbol an extension imports; ``stable_since`` is None outside the stable
    ABI; ``library`` is the DLL it comes from (PE only)."""

    name: str
    stable_since: str | None
    abi_only: bool
    library: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ExtensionResult:
    """One extension module (a file, or a member of a wheel)."""

    path: str
    format: str
    arches: tuple[str, ...]
    abi3: bool
    abi3_version: str | None
    requires: str | None  # the lowest stable ABI version that holds all its stable imports
    imports: tuple[ImportedSymbol, ...]
    other_imports: int  # imports that are not CPython's (libc, KERNEL32.dll, ...)


@dataclass(frozen=True, slots=True, kw_only=True)
class WheelTags:
    filename: str
    filename_tags: tuple[str, ...]
    metadata_tags: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExtReport:
    """The result of ``abidiff ext``."""

    schema: str
    schema_version: int
    input: str
    wheel: WheelTags | None
    stable_abi_source: str
    build: BuildIdentity | None
    between: tuple[BuildIdentity, ...]
    affected: bool | None  # by the breaks between OLD and NEW; None without --between
    extensions: tuple[ExtensionResult, ...]
    counts: dict[str, int]
    severity_counts: dict[str, int]
    summary: tuple[str, ...]
    notes: tuple[str, ...]
    changes: tuple[Finding, ...]


# -- the stable-ABI truth -----------------------------------------------------------------


def shipped_truth() -> StableTruth:
    from abidiff.data import stable_abi

    data = stable_abi()
    symbols = {
        entry.name: StableSymbol(added=entry.added, abi_only=entry.abi_only)
        for entry in data.entries
        if entry.kind in ("function", "data")
    }
    return StableTruth(source=f"abidiff's copy of {data.source}", symbols=symbols)


def snapshot_truth(snapshot: Snapshot) -> StableTruth:
    """A build's stable ABI: its limited functions and data (not static inline) that it
    exports, and its manifest's functions and data when it carries one."""
    exports = exports_of(snapshot) if snapshot.binaries else None
    symbols: dict[str, StableSymbol] = {}
    linked: list[tuple[str, str | None]] = [(f.name, f.limited_since) for f in snapshot.functions if not f.inline]
    linked += [(v.name, v.limited_since) for v in snapshot.variables]
    for name, since in linked:
        if since is not None and (exports is None or name in exports):
            symbols[name] = StableSymbol(added=since, abi_only=False)
    for entry in snapshot.manifest:
        if entry.kind in ("function", "data") and entry.added:
            symbols[entry.name] = StableSymbol(added=entry.added, abi_only=entry.abi_only)
    return StableTruth(source=f"the limited API and exports of {snapshot.build.origin}", symbols=symbols)


# -- reading an extension -----------------------------------------------------------------


def _is_python_name(name: str, truth: StableTruth) -> bool:
    return name in truth.symbols or (name.startswith(("Py", "_Py")) and not name.startswith("PyInit_"))


def python_imports(path: str, truth: StableTruth) -> tuple[tuple[tuple[str, str | None], ...], int, ImportTable]:
    """((name, DLL or None) of each CPython import, count of other imports, the import table).

    PE: the names imported from ``python3.dll`` / ``python3X.dll``.  ELF and Mach-O bind
    undefined symbols at load time from whatever provides them, so a CPython import is a
    name of the stable ABI or one that starts with ``Py``/``_Py`` (``PyInit_*`` excepted),
    as abi3audit decides.
    """
    from abidiff.binaries import read_import_table

    table = read_import_table(path)
    ours: list[tuple[str, str | None]]
    if table.binaries and table.binaries[0].format == BinaryFormat.PE:
        ours = [(name, library) for library, names in table.by_library if _PYTHON_DLL.match(library) for name in names]
        return tuple(sorted(ours)), len(table.names) - len({name for name, _ in ours}), table
    ours = [(name, None) for name in table.names if _is_python_name(name, truth)]
    return tuple(ours), len(table.names) - len(ours), table


def _tier(name: str, truth: StableTruth) -> Tier:
    if name in truth.symbols:
        return Tier.LIMITED
    if name.startswith("PyUnstable_"):
        return Tier.UNSTABLE
    return Tier.PRIVATE if name.startswith("_") else Tier.PUBLIC


def _file_abi3(path: str, fmt: BinaryFormat, imports: tuple[tuple[str, str | None], ...]) -> bool:
    """abi3 by the file alone: ``*.abi3.so``, or a PE file importing only from python3.dll."""
    if ".abi3." in os.path.basename(path):
        return True
    libraries = {library.lower() for _name, library in imports if library}
    return fmt == BinaryFormat.PE and libraries == {"python3.dll"}


def examine(
    path: str, shown_as: str, truth: StableTruth, *, abi3: bool | None, abi3_version: str | None
) -> tuple[ExtensionResult, list[Finding]]:
    """The result and the abi3 findings of one extension module."""
    imports, others, table = python_imports(path, truth)
    fmt = table.binaries[0].format
    is_abi3 = abi3 if abi3 is not None else _file_abi3(shown_as, fmt, imports)
    symbols = tuple(
        ImportedSymbol(
            name=name,
            stable_since=truth.symbols[name].added if name in truth.symbols else None,
            abi_only=name in truth.symbols and truth.symbols[name].abi_only,
            library=library,
        )
        for name, library in imports
    )
    stable = [symbol.stable_since for symbol in symbols if symbol.stable_since]
    result = ExtensionResult(
        path=shown_as,
        format=str(fmt),
        arches=tuple(sorted({binary.arch for binary in table.binaries})),
        abi3=is_abi3,
        abi3_version=abi3_version if is_abi3 else None,
        requires=max(stable, key=version_key) if stable else None,
        imports=symbols,
        other_imports=others,
    )
    return result, (_abi3_findings(result, truth) if is_abi3 else [])


def _abi3_findings(result: ExtensionResult, truth: StableTruth) -> list[Finding]:
    found = []
    for symbol in result.imports:
        kind = EntityKind.SYMBOL
        if symbol.stable_since is None:
            found.append(
                finding(
                    Abi3Kind.EXT_NOT_STABLE,
                    symbol.name,
                    kind,
                    tier=_tier(symbol.name, truth),
                    detail=f" (by {truth.source})",
                    impacts=(result.path,),
                )
            )
        elif result.abi3_version and version_key(symbol.stable_since) > version_key(result.abi3_version):
            found.append(
                finding(
                    Abi3Kind.EXT_NEWER_THAN_TAG,
                    symbol.name,
                    kind,
                    old=result.abi3_version,
                    new=symbol.stable_since,
                    impacts=(result.path,),
                )
            )
        if symbol.library and _PYTHON_DLL.match(symbol.library) and symbol.library.lower() != "python3.dll":
            found.append(
                finding(
                    Abi3Kind.EXT_VERSIONED_DLL,
                    symbol.name,
                    kind,
                    tier=_tier(symbol.name, truth),
                    detail=symbol.library,
                    impacts=(result.path,),
                )
            )
    return found


# -- against builds -----------------------------------------------------------------------


def check_build(results: Iterable[ExtensionResult], snapshot: Snapshot, truth: StableTruth) -> list[Finding]:
    """ABI813: imports that ``snapshot``'s binaries do not export."""
    if not snapshot.binaries:
        raise InputError(
            f"{snapshot.build.origin} has no binaries: abidiff cannot tell what it exports",
            hint="give a build with its libpython (an interpreter, a prefix, or --lib FILE)",
        )
    exports = exports_of(snapshot)
    found = []
    for result in results:
        for symbol in result.imports:
            if symbol.name not in exports:
                found.append(
                    finding(
                        Abi3Kind.EXT_NOT_EXPORTED,
                        symbol.name,
                        EntityKind.SYMBOL,
                        tier=_tier(symbol.name, truth),
                        detail=f"{snapshot.build.version} ({exporter_names(snapshot)})",
                        impacts=(result.path,),
                    )
                )
    return found


def check_between(
    results: Iterable[ExtensionResult], old: Snapshot, new: Snapshot, truth: StableTruth
) -> list[Finding]:
    """ABI814: the breaks of ``compare(old, new)`` whose entity an extension imports."""
    from abidiff.compare import compare

    report = compare(old, new)
    by_name: dict[str, list[str]] = {}
    for change in report.changes:
        if change.kind in BREAKING_KINDS:
            by_name.setdefault(change.entity, []).append(f"{change.rule} {change.message}")
    found = []
    for result in results:
        for symbol in result.imports:
            for message in by_name.get(symbol.name, ()):
                found.append(
                    finding(
                        Abi3Kind.EXT_BROKEN_BETWEEN,
                        symbol.name,
                        EntityKind.SYMBOL,
                        tier=_tier(symbol.name, truth),
                        old=old.build.version,
                        new=new.build.version,
                        detail=message,
                        impacts=(result.path,),
                    )
                )
    return found


def merge(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """One finding per (rule, entity, message): the extensions concerned in ``impacts``."""
    merged: dict[tuple[str, str, str], Finding] = {}
    for item in findings:
        key = (item.rule, item.entity, item.message)
        if key in merged:
            previous = merged[key]
            impacts = tuple(sorted(set(previous.impacts) | set(item.impacts)))
            merged[key] = replace(previous, impacts=impacts)
        else:
            merged[key] = item
    return tuple(sorted(merged.values(), key=finding_order))


# -- the command --------------------------------------------------------------------------


def _tag_mismatch(filename_tags: tuple[str, ...], metadata_tags: tuple[str, ...]) -> list[Finding]:
    if not metadata_tags or set(filename_tags) == set(metadata_tags):
        return []
    return [
        finding(
            Abi3Kind.EXT_TAG_MISMATCH,
            "WHEEL",
            EntityKind.BUILD,
            tier=Tier.PUBLIC,
            old=", ".join(filename_tags),
            new=", ".join(metadata_tags),
        )
    ]


def examine_input(
    path: str, truth: StableTruth, abi3: str | None
) -> tuple[WheelTags | None, list[ExtensionResult], list[Finding]]:
    from abidiff.binaries._common import file_size, open_binary
    from abidiff.binaries.detect import sniff
    from abidiff.wheel import is_wheel, open_wheel

    file_size(path)
    with open_binary(path) as handle:
        head = handle.read(8)
    if is_wheel(head):
        with open_wheel(path) as (info, modules):
            tags = WheelTags(filename=info.filename, filename_tags=info.filename_tags, metadata_tags=info.metadata_tags)
            version = abi3 or info.abi3_version
            examined = [
                examine(module.path, module.member, truth, abi3=info.abi3 or abi3 is not None, abi3_version=version)
                for module in modules
            ]
        findings = _tag_mismatch(info.filename_tags, info.metadata_tags)
        if not examined:
            raise InputError(
                f"{os.path.basename(path)} holds no extension module (no ELF, PE or Mach-O member)",
                hint="a pure-Python wheel has no C ABI to audit",
            )
    elif sniff(head) is not None:
        tags = None
        findings = []
        examined = [examine(path, path, truth, abi3=True if abi3 else None, abi3_version=abi3)]
    else:
        raise InputError(
            f"{path} is neither a wheel nor an ELF, PE or Mach-O file (it starts with {head[:4].hex()})",
            hint="give an extension module (.so, .pyd, .dylib) or a wheel (.whl)",
        )
    results = [result for result, _ in examined]
    for _result, found in examined:
        findings += found
    return tags, results, findings


def _summary(
    results: list[ExtensionResult], between: tuple[Snapshot, Snapshot] | None, affected: bool | None
) -> tuple[str, ...]:
    lines = []
    for result in results:
        if result.abi3:
            tag = f"abi3 for {result.abi3_version}+" if result.abi3_version else "abi3 (no version tag)"
        else:
            tag = "full ABI (not abi3)"
        needs = f"; its stable imports need {result.requires}+" if result.requires else ""
        lines.append(f"{result.path}: {tag}, {len(result.imports)} CPython imports{needs}")
    if between is not None:
        old, new = between
        verdict = "is" if affected else "is not"
        lines.append(
            f"This extension {verdict} affected by the ABI breaks between {old.build.version} and {new.build.version}."
        )
    return tuple(lines)


def make_report(
    path: str,
    tags: WheelTags | None,
    truth: StableTruth,
    snapshot: Snapshot | None,
    between: tuple[Snapshot, Snapshot] | None,
    results: list[ExtensionResult],
    findings: list[Finding],
) -> ExtReport:
    changes = merge(findings)
    affected = None if between is None else any(item.kind == Abi3Kind.EXT_BROKEN_BETWEEN for item in changes)
    counts, severity_counts = tally(changes)
    return ExtReport(
        schema=SCHEMA_NAME,
        schema_version=SCHEMA_VERSION,
        input=path,
        wheel=tags,
        stable_abi_source=truth.source,
        build=None if snapshot is None else identity(snapshot.build, headers_only=not snapshot.binaries),
        between=()
        if between is None
        else tuple(identity(side.build, headers_only=not side.binaries) for side in between),
        affected=affected,
        extensions=tuple(sorted(results, key=lambda result: result.path)),
        counts=counts,
        severity_counts=severity_counts,
        summary=_summary(results, between, affected),
        notes=(NOTE_INVISIBLE,),
        changes=changes,
    )


def dumps(report: ExtReport) -> str:
    return json.dumps(codec.encode(report), sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def render_text(report: ExtReport) -> str:
    lines = [f"extension audit of {report.input}", f"  stable ABI truth: {report.stable_abi_source}"]
    if report.wheel is not None:
        lines.append(f"  wheel tags: {', '.join(report.wheel.metadata_tags or report.wheel.filename_tags)}")
    for result in report.extensions:
        lines += ["", f"{result.path} ({result.format}, {', '.join(result.arches)})"]
        for symbol in result.imports:
            where = f" from {symbol.library}" if symbol.library else ""
            stable = f"stable ABI {symbol.stable_since}" if symbol.stable_since else "not stable ABI"
            lines.append(f"  {symbol.name:<40} {stable}{' (abi_only)' if symbol.abi_only else ''}{where}")
    lines.append("")
    for item in report.changes:
        lines.append(f"{item.rule} {item.severity}: {item.message} [{', '.join(item.impacts)}]")
    lines += list(report.summary)
    lines += [f"note: {note}" for note in report.notes]
    return "\n".join(lines) + "\n"


def schema() -> dict[str, Any]:
    """The JSON Schema of :class:`ExtReport` documents."""
    return codec.document_schema(ExtReport, name=SCHEMA_NAME, version=SCHEMA_VERSION, title="abidiff ext report")
