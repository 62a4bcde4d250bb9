"""The judged documents of every analysis: a comparison :class:`Report`, an
:class:`Abi3Report`, an :class:`ExtReport`.  Each is built here from an analysis's changes
through the one judge (:mod:`abidiff.rules.judge`); :mod:`abidiff.report` renders them."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from abidiff.abi3 import NOTE_INVISIBLE, Abi3Audit, LevelSurface, SurfaceItem
from abidiff.changes import Change, Diff
from abidiff.ext import Examined, ExtensionResult, WheelTags
from abidiff.model import ManifestEntry, Snapshot
from abidiff.rules.catalogue import RULE_BY_ID, Severity
from abidiff.rules.describe import sides
from abidiff.rules.judge import (
    BuildIdentity,
    Finding,
    Judgement,
    ReleaseKind,
    StableVerdict,
    Verdict,
    audit_order,
    classify,
    identity,
    judge,
    label_mismatch,
    report_order,
    tally,
    verdicts,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Judged:
    """What every judged document holds: its findings (``changes``), their counts by rule
    and by severity, and what the suppressions took away."""

    counts: dict[str, int]
    severity_counts: dict[str, int]
    suppressed: int
    suppression_warnings: tuple[str, ...]
    changes: tuple[Finding, ...]


def _judged(findings: tuple[Finding, ...], judgement: Judgement) -> dict[str, Any]:
    """The :class:`Judged` fields of a document of ``findings``."""
    counts, severity_counts = tally(findings)
    return {
        "counts": counts,
        "severity_counts": severity_counts,
        "suppressed": judgement.suppressed,
        "suppression_warnings": judgement.suppression_warnings,
        "changes": findings,
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class Report(Judged):
    """The result of ``abidiff OLD NEW``: verdicts, counts and the changes, breaks first."""

    old: BuildIdentity
    new: BuildIdentity
    # the last feature release (PEP 605): changes to what is newer (provisional) or what it
    # deprecated do not make NEW an alpha; None when no base was given
    feature_base: BuildIdentity | None
    verdict: Verdict
    release_kind: ReleaseKind
    stable_abi_verdict: StableVerdict
    # NEW's own release label disagrees with the verdict (PEP 605): said in every format
    label_mismatch: str | None
    headers_only: bool
    comparable: bool
    problems: tuple[str, ...]


def _problem(change: Change) -> str:
    words = sides(change)
    return f"{change.entity}: {words.old} -> {words.new} ({words.detail})"


def compare_report(
    result: Diff,
    suppressions: Iterable[object] = (),
    *,
    today: datetime.date | None = None,
    old_headers_only: bool | None = None,
    new_headers_only: bool | None = None,
) -> Report:
    """The report of a diff: its changes judged, suppressions applied, verdicts given."""
    base = result.feature_base
    findings = (classify(change, feature_base=base.version if base else None) for change in result.changes)
    judged = judge(findings, suppressions, today=today)
    changes = tuple(sorted(judged.kept, key=report_order))
    full, kind, stable = verdicts(changes)
    return Report(
        old=identity(result.old, headers_only=result.headers_only if old_headers_only is None else old_headers_only),
        new=identity(result.new, headers_only=result.headers_only if new_headers_only is None else new_headers_only),
        feature_base=None if base is None else identity(base, headers_only=False),
        verdict=full,
        release_kind=kind,
        stable_abi_verdict=stable,
        label_mismatch=label_mismatch(result.old, result.new, kind),
        headers_only=result.headers_only,
        comparable=not result.problems,
        problems=tuple(_problem(change) for change in result.problems),
        **_judged(changes, judged),
    )


def stable_manifest(*snapshots: Snapshot) -> tuple[ManifestEntry, ...]:
    """The stable ABI manifest to judge exports by: the first build's own (snapshots of git
    refs carry theirs), else the copy shipped with abidiff."""
    for snapshot in snapshots:
        if snapshot.manifest:
            return snapshot.manifest
    from abidiff.data import stable_abi

    return stable_abi().entries


def compare(
    old: Snapshot,
    new: Snapshot,
    suppressions: Iterable[object] = (),
    *,
    today: datetime.date | None = None,
    feature_base: Snapshot | None = None,
) -> Report:
    """The report of ``old`` against ``new`` with ``suppressions`` (from :mod:`abidiff.suppress`),
    judged by the stable ABI manifest (:func:`stable_manifest`) and, when given, PEP 605's
    feature base."""
    from abidiff.diff import diff

    manifest = stable_manifest(new, old)
    return compare_report(
        diff(old, new, manifest=manifest, feature_base=feature_base),
        suppressions,
        today=today,
        old_headers_only=not old.binaries,
        new_headers_only=not new.binaries,
    )


def importer_breaks(report: Report) -> Mapping[str, Sequence[tuple[str, str]]]:
    """Entity name -> (rule id, message) of each change that breaks binaries importing it."""
    found: dict[str, list[tuple[str, str]]] = {}
    for change in report.changes:
        if RULE_BY_ID[change.rule].breaks_importers:
            found.setdefault(change.entity, []).append((change.rule, change.message))
    return found


# -- abi3 -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Abi3Report(Judged):
    """The result of ``abidiff abi3 BUILD [--against OLD]``."""

    build: BuildIdentity
    against: BuildIdentity | None
    manifest_source: str | None
    exports_checked: bool
    levels: tuple[LevelSurface, ...]
    surface: tuple[SurfaceItem, ...]
    stable_abi_verdict: StableVerdict
    notes: tuple[str, ...]


def abi3_report(
    audit: Abi3Audit, suppressions: Iterable[object] = (), *, today: datetime.date | None = None
) -> Abi3Report:
    judged = judge((classify(change) for change in audit.changes), suppressions, today=today)
    findings = tuple(sorted(judged.kept, key=audit_order))
    broken = any(item.severity == Severity.BREAK for item in findings)
    return Abi3Report(
        build=identity(audit.build, headers_only=audit.build_headers_only),
        against=None if audit.against is None else identity(audit.against, headers_only=audit.against_headers_only),
        manifest_source=audit.manifest_source,
        exports_checked=audit.exports_checked,
        levels=audit.levels,
        surface=audit.surface,
        stable_abi_verdict=StableVerdict.BROKEN if broken else StableVerdict.INTACT,
        **_judged(findings, judged),
        notes=audit.notes,
    )


# -- ext ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceAudit:
    """What ``--source`` read: the files parsed (as :func:`relative` names them), where
    their flags came from, ``Py_LIMITED_API``, and the files whose parse had errors."""

    files: tuple[str, ...]
    flags: str
    limited_api: str | None = None
    limited_from: str | None = None
    errors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ExtReport(Judged):
    """The result of ``abidiff ext``."""

    input: str
    wheel: WheelTags | None
    stable_abi_source: str
    build: BuildIdentity | None
    between: tuple[BuildIdentity, ...]
    affected: bool | None  # by the breaks between OLD and NEW; None without --between
    extensions: tuple[ExtensionResult, ...]
    summary: tuple[str, ...]
    notes: tuple[str, ...]
    # ``--source``: what was parsed (None without it); what to do when affected (PEP 605)
    source: SourceAudit | None = None
    advice: tuple[str, ...] = ()


def merge(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """One finding per (rule, entity, message): the extensions concerned in ``impacts``."""
    merged: dict[tuple[str, str, str], Finding] = {}
    for item in findings:
        key = (item.rule, item.entity, item.message)
        if key in merged:
            previous = merged[key]
            merged[key] = replace(previous, impacts=tuple(sorted(set(previous.impacts) | set(item.impacts))))
        else:
            merged[key] = item
    return tuple(sorted(merged.values(), key=audit_order))


def _summary(
    results: Sequence[ExtensionResult],
    between: tuple[BuildIdentity, BuildIdentity] | None,
    affected: bool | None,
    source: SourceAudit | None = None,
    touched: frozenset[str] = frozenset(),
    not_modules: Sequence[tuple[str, str]] = (),
) -> tuple[str, ...]:
    """One line per extension and per binary given that is none (``not_modules``), the
    sources parsed, and whether the breaks between two builds affect it (``touched``: the
    extensions they affect, when there are several)."""
    lines = []
    for result in results:
        if result.abi3:
            tag = f"abi3 for {result.abi3_version}+" if result.abi3_version else "abi3 (no version tag)"
        else:
            tag = "full ABI (not abi3)"
        needs = f"; its stable imports need {result.requires}+" if result.requires else ""
        count = len(result.imports)
        lines.append(f"{result.path}: {tag}, {count} CPython import{'' if count == 1 else 's'}{needs}")
    lines += [f"{name}: no extension module ({why}), not audited" for name, why in not_modules]
    if source is not None:
        count = len(source.files)
        limited = f"; Py_LIMITED_API={source.limited_api}" if source.limited_api else ""
        limited += f" (from {source.limited_from})" if source.limited_from else ""
        lines.append(f"sources: {count} file{'s' if count != 1 else ''} parsed with {source.flags}{limited}")
        lines += [f"source that did not parse cleanly: {error}" for error in source.errors]
    if between is not None:
        old, new = between
        breaks = f"the ABI breaks between {old.version} and {new.version}"
        if len(results) > 1:
            # by their imports; what their sources use (ABI817) is not told apart by module
            count = sum(1 for result in results if result.path in touched)
            if affected and not count:
                lines.append(f"Their sources are affected by {breaks}.")
            else:
                are = "is" if count == 1 else "are"
                lines.append(f"{count} of the {len(results)} extensions {are} affected by {breaks}.")
        else:
            lines.append(f"This extension {'is' if affected else 'is not'} affected by {breaks}.")
    return tuple(lines)


def _touched(findings: Iterable[Finding]) -> frozenset[str]:
    """The extensions whose imports the breaks between two builds touch (by their paths)."""
    return frozenset(path for item in findings if item.rule == "ABI814" for path in item.impacts)


def advice(new: BuildIdentity) -> tuple[str, ...]:
    """PEP 605's advice to an affected project: rebuild against NEW; after an alpha, the
    Python-Requires line that keeps the alpha's users off the old binaries."""
    lines = [f"Rebuild the extension against {new.version} and publish the rebuild (PEP 605)."]
    if new.release_level == "alpha":
        from abidiff.series import python_requires

        lines.append(f"Until then, declare: {python_requires(new.version, new.release_serial)}")
    return tuple(lines)


def ext_report(
    path: str,
    examined: Examined,
    changes: Iterable[Change],
    *,
    truth_source: str,
    build: Snapshot | None,
    between: tuple[Snapshot, Snapshot] | None,
    suppressions: Iterable[object] = (),
    today: datetime.date | None = None,
    compared: tuple[BuildIdentity, BuildIdentity] | None = None,
    source: SourceAudit | None = None,
) -> ExtReport:
    """The report of ``abidiff ext``; ``compared``: the builds of a comparison report given
    instead of ``between`` (``--report``); ``source``: what ``--source`` parsed."""
    judged = judge((classify(change) for change in changes), suppressions, today=today)
    findings = merge(judged.kept)
    if between is not None:
        compared = tuple(identity(s.build, headers_only=not s.binaries) for s in between)  # type: ignore[assignment]
    affected = None if compared is None else any(item.rule in ("ABI814", "ABI817") for item in findings)
    return ExtReport(
        input=path,
        wheel=examined.wheel,
        stable_abi_source=truth_source,
        build=None if build is None else identity(build.build, headers_only=not build.binaries),
        between=() if compared is None else compared,
        affected=affected,
        extensions=tuple(sorted(examined.extensions, key=lambda result: result.path)),
        **_judged(findings, judged),
        summary=_summary(examined.extensions, compared, affected, source, _touched(findings), examined.not_modules),
        notes=() if source is not None else (f"{NOTE_INVISIBLE}; --source reads it from the extension's own sources",),
        source=source,
        advice=advice(compared[1]) if affected and compared is not None else (),
    )
