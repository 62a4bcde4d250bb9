"""A release series: N snapshots in release order, each release judged against the one before
it (the full comparison of :func:`abidiff.rules.compare`, with PEP 605's feature base when one
is given), and named as PEP 605 would name it.

PEP 605's names (its example: 3.9.0a1, b2, b3, b4, a5, b6 ... rc1):

- the first release of a series keeps its own label (``X.Y.0a1`` for a series that starts at
  the first alpha), and so does the first release of each new feature version in it;
- each next pre-release is ``aN`` when it breaks the full ABI of its predecessor, else ``bN``;
  ``N`` counts on across letters from the first release's serial;
- the first release candidate freezes the full ABI: from it on, ``rcN`` and final releases keep
  their label, and one that breaks the full ABI of the release before it is an ABI901 finding
  (an error, whatever the tier).  A release candidate (or final) that breaks a pre-freeze
  release is named ``aN`` instead (PEP 605 publishes a break as an alpha) and freezes nothing;
- a release whose own letter (alpha, or beta and later) disagrees with PEP 605's is an ABI902
  finding (a warning).  A serial that differs with the same letter is no disagreement: the
  label's letter is what tells extension authors whether to rebuild.

Pure: snapshots in, a :class:`SeriesReport` out; nothing here reads a build or writes.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from abidiff.changes import Change, ChangeKind, EntityKind
from abidiff.model import Build, ReleaseLevel, Snapshot, Tier
from abidiff.rules import (
    BuildIdentity,
    Finding,
    ReleaseKind,
    Report,
    Severity,
    StableVerdict,
    Verdict,
    classify,
    compare,
    identity,
    judge,
)

_LETTER = {ReleaseLevel.ALPHA: "a", ReleaseLevel.BETA: "b", ReleaseLevel.CANDIDATE: "rc", ReleaseLevel.FINAL: ""}
_FROZEN = (ReleaseLevel.CANDIDATE, ReleaseLevel.FINAL)


@dataclass(frozen=True, slots=True, kw_only=True)
class SeriesRelease:
    """One release of a series, judged against the one before it (``previous``)."""

    name: str  # the build's own version: 3.13.0a3
    pep605_name: str  # what PEP 605 would call it: 3.13.0b3
    previous: str | None  # the name of the release before it; None for the first
    build: BuildIdentity
    verdict: Verdict | None  # of the full ABI against ``previous``; None for the first
    release_kind: ReleaseKind | None
    stable_abi_verdict: StableVerdict | None
    label_mismatch: bool  # its own letter disagrees with PEP 605's (ABI902)
    frozen: bool  # an earlier release candidate (or final) of its feature release froze the full ABI
    comparable: bool
    problems: tuple[str, ...]
    counts: dict[str, int]  # changes per rule against ``previous``
    severity_counts: dict[str, int]
    suppressed: int
    breaks: tuple[Finding, ...]  # the changes of severity break against ``previous``
    findings: tuple[Finding, ...]  # what the series says of this release (ABI901, ABI902)
    python_requires: str | None  # PEP 605's line for projects hit by the breaks of an alpha


@dataclass(frozen=True, slots=True, kw_only=True)
class SeriesReport:
    """The result of ``abidiff series``: the releases in order, named and judged."""

    feature_base: BuildIdentity | None  # the last feature release (PEP 605), the same for every pair
    releases: tuple[SeriesRelease, ...]
    suppressed: int  # series findings (ABI901, ABI902) suppressed
    suppression_warnings: tuple[str, ...]  # about entries that matched nothing in any pair


@dataclass(frozen=True, slots=True, kw_only=True)
class Naming:
    """PEP 605's name for one release of a series."""

    name: str
    mismatch: bool  # the release's own letter disagrees
    frozen: bool  # the full ABI was frozen before it (see the module docstring)
    serial: int | None  # PEP 605's serial of a pre-freeze release (N of aN, bN)


def base_version(build: Build) -> str:
    """``X.Y.Z`` of a build, from its hexversion."""
    version = build.hexversion
    return f"{version >> 24 & 0xFF}.{version >> 16 & 0xFF}.{version >> 8 & 0xFF}"


def own_label(build: Build) -> str:
    """The name the build's ``patchlevel.h`` gives it, without a ``+`` of a development build:
    ``3.13.0a3``, ``3.13.0rc1``, ``3.13.0``."""
    if build.version == "unknown":
        return build.version
    level = build.release_level
    serial = "" if level == ReleaseLevel.FINAL else str(build.release_serial)
    return f"{base_version(build)}{_LETTER[level]}{serial}"


def _letter_of(build: Build) -> str:
    return "a" if build.release_level == ReleaseLevel.ALPHA else "b"


def pep605_names(builds: Sequence[Build], breaks: Sequence[bool]) -> tuple[Naming, ...]:
    """PEP 605's names of ``builds`` (in release order), where ``breaks[i]`` says whether
    release ``i`` breaks the full ABI of release ``i - 1`` (``breaks[0]`` is not read)."""
    names: list[Naming] = []
    serial: int | None = None
    frozen = False  # a release candidate or final of this feature release was published under its label
    for index, build in enumerate(builds):
        label = own_label(build)
        previous = builds[index - 1] if index else None
        if previous is None or previous.feature_version != build.feature_version or build.version == "unknown":
            frozen = build.release_level in _FROZEN
            serial = None if frozen else build.release_serial
            names.append(Naming(name=label, mismatch=False, frozen=False, serial=serial))
            continue
        if frozen:
            names.append(Naming(name=label, mismatch=False, frozen=True, serial=None))
            continue
        serial = (serial or 0) + 1
        if build.release_level in _FROZEN:
            if breaks[index]:  # a break lands as an alpha before the ABI freezes
                names.append(Naming(name=f"{base_version(build)}a{serial}", mismatch=True, frozen=False, serial=serial))
            else:
                frozen = True
                names.append(Naming(name=label, mismatch=False, frozen=False, serial=None))
            continue
        letter = "a" if breaks[index] else "b"
        names.append(
            Naming(
                name=f"{base_version(build)}{letter}{serial}",
                mismatch=letter != _letter_of(build),
                frozen=False,
                serial=serial,
            )
        )
    return tuple(names)


def python_requires(name: str, serial: int) -> str:
    """PEP 605: a project hit by a break in ``X.Y.0aN`` adds this line to its metadata."""
    feature = ".".join(name.split(".")[:2])
    return (
        f'Python-Requires: >= "{feature}.0b{serial + 1}"; python_version == "{feature}" '
        f'and full_python_version != "{name}"'
    )


def _release_change(
    kind: ChangeKind, build: Build, old: str, new: str, facts: tuple[tuple[str, object], ...]
) -> Change:
    return Change(
        kind=kind, entity=build.version, entity_kind=EntityKind.BUILD, tier=Tier.PUBLIC, old=old, new=new, facts=facts
    )


def _series_changes(
    builds: Sequence[Build], names: Sequence[Naming], reports: Sequence[Report | None]
) -> list[list[Change]]:
    """The series' own findings, per release: ABI901 (a break after the freeze), ABI902 (a
    label mismatch)."""
    found: list[list[Change]] = []
    for index, (build, naming, report) in enumerate(zip(builds, names, reports, strict=True)):
        changes: list[Change] = []
        found.append(changes)
        if report is None:
            continue
        previous = builds[index - 1].version
        facts = (("breaks", report.severity_counts.get(str(Severity.BREAK), 0)), ("previous", previous))
        if naming.frozen and report.verdict == Verdict.ABI_BREAKING:
            changes.append(_release_change(ChangeKind.SERIES_BREAK_AFTER_RC, build, previous, build.version, facts))
        if naming.mismatch:
            level = str(build.release_level)
            changes.append(_release_change(ChangeKind.SERIES_LABEL_MISMATCH, build, level, naming.name, facts))
    return found


def compare_pair(
    old: Snapshot,
    new: Snapshot,
    suppressions: Sequence[object],
    *,
    feature_base: Snapshot | None,
    today: datetime.date | None,
) -> Report:
    """The one place a series compares two consecutive releases: ``abidiff OLD NEW`` exactly,
    with the series' feature base."""
    return compare(old, new, suppressions, today=today, feature_base=feature_base)


def _shared_warnings(warnings: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    """The suppression warnings every judgement gave: an entry that matched something in one
    pair is no 'matched no change' warning of the series."""
    common: list[str] | None = None
    for items in warnings:
        common = list(items) if common is None else [item for item in common if item in items]
    return tuple(common or ())


def series(
    snapshots: Sequence[Snapshot],
    suppressions: Iterable[object] = (),
    *,
    feature_base: Snapshot | None = None,
    today: datetime.date | None = None,
) -> SeriesReport:
    """The series of ``snapshots`` (in release order): each release compared with the one
    before it (N snapshots, N-1 comparisons), named as PEP 605 would name it."""
    if len(snapshots) < 2:
        raise ValueError("a series needs at least two builds")
    entries = tuple(suppressions)
    reports: list[Report | None] = [None]
    for old, new in itertools.pairwise(snapshots):
        reports.append(compare_pair(old, new, entries, feature_base=feature_base, today=today))
    builds = [snapshot.build for snapshot in snapshots]
    breaking = [report is not None and report.verdict == Verdict.ABI_BREAKING for report in reports]
    names = pep605_names(builds, breaking)
    judged = [
        judge((classify(change) for change in changes), entries, today=today)
        for changes in _series_changes(builds, names, reports)
    ]
    releases = []
    for index, (snapshot, naming, report, own) in enumerate(zip(snapshots, names, reports, judged, strict=True)):
        build = snapshot.build
        breaks = () if report is None else tuple(c for c in report.changes if c.severity == Severity.BREAK)
        alpha = report is not None and report.verdict == Verdict.ABI_BREAKING
        requires = None
        if alpha and naming.serial is not None and naming.name.endswith(f"a{naming.serial}"):
            requires = python_requires(naming.name, naming.serial)
        releases.append(
            SeriesRelease(
                name=build.version,
                pep605_name=naming.name,
                previous=builds[index - 1].version if index else None,
                build=identity(build, headers_only=not snapshot.binaries),
                verdict=None if report is None else report.verdict,
                release_kind=None if report is None else report.release_kind,
                stable_abi_verdict=None if report is None else report.stable_abi_verdict,
                label_mismatch=naming.mismatch,
                frozen=naming.frozen,
                comparable=True if report is None else report.comparable,
                problems=() if report is None else report.problems,
                counts={} if report is None else report.counts,
                severity_counts={} if report is None else report.severity_counts,
                suppressed=0 if report is None else report.suppressed,
                breaks=breaks,
                findings=own.kept,
                python_requires=requires,
            )
        )
    warnings = _shared_warnings(
        [report.suppression_warnings for report in reports if report is not None]
        + [item.suppression_warnings for item in judged]
    )
    base_binaries = feature_base is not None and bool(feature_base.binaries)
    return SeriesReport(
        feature_base=None if feature_base is None else identity(feature_base.build, headers_only=not base_binaries),
        releases=tuple(releases),
        suppressed=sum(item.suppressed for item in judged),
        suppression_warnings=warnings,
    )
