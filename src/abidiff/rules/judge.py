"""The one judge: every change of every analysis becomes a :class:`Finding` with its rule,
its severity (from the rule's profile and the change's tier) and its words; suppressions
are applied here; the verdicts are computed from what is kept."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from abidiff.changes import Base, Change, ChangeKind, EntityKind, Place
from abidiff.model import Build, Tier
from abidiff.model import StrEnum as _StrEnum
from abidiff.rules.catalogue import RULE_BY_KIND, SEVERITY_ORDER, Severity
from abidiff.rules.describe import message_fields, sides


class Verdict(_StrEnum):
    """Whether the full ABI of OLD still holds in NEW, after PEP 605's exemptions."""

    ABI_BREAKING = "abi-breaking"  # a break that no exemption lowers: extensions must be rebuilt
    BINARY_COMPATIBLE = "binary-compatible"  # extensions built for OLD load and run on NEW


class ReleaseKind(_StrEnum):
    """PEP 605's name for the verdict: an ABI-breaking pre-release is an alpha."""

    ALPHA = "alpha"  # the full ABI broke since the preceding pre-release
    BETA = "beta"  # binary compatible with the preceding pre-release


class StableVerdict(_StrEnum):
    """Whether the stable ABI (abi3) of OLD still holds in NEW; judged apart from the full ABI."""

    INTACT = "intact"  # abi3 extensions built against OLD load on NEW
    BROKEN = "broken"  # a limited-tier break: some abi3 extension may not


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One judged change: its rule, severity and words; the same shape for every analysis."""

    rule: str
    kind: ChangeKind
    entity: str
    entity_kind: EntityKind
    tier: Tier
    severity: Severity
    message: str
    headline: str
    old: str | None  # OLD's side in words ("16 bytes", a declaration); None: absent there
    new: str | None  # NEW's side likewise
    detail: str  # the clause that completes the message ("" when it needs none)
    shifted: tuple[str, ...]  # fields whose offsets move with this change
    impacts: tuple[str, ...]  # what uses the entity: embedding records, functions, data, modules
    header: str | None  # the header declaring it, under the include directory ("cpython/object.h")
    line: int | None = None
    # the rule of PEP 605's exemption (ABI002 provisional, ABI003 deprecated) that lowered a
    # break of this finding to a warning; None when none applies
    exemption: str | None = None
    # the static inline functions and macros of the headers that reach a layout break (an
    # extension that uses one is affected though it imports nothing changed)
    reached_through: tuple[str, ...] = ()
    # a layout break that changes its record's size: what embeds the record by value
    # (PyObject_HEAD) or takes its size is affected too
    resized: bool = False
    # ``abidiff ext --source``: the places of the extension's source that use the entity
    places: tuple[Place, ...] = ()


ReportedChange = Finding  # the name the comparison report used


# what a finding takes from its change as it is
_CARRIED = (
    *("kind", "entity", "entity_kind", "tier", "header", "line"),
    *("shifted", "impacts", "reached_through", "places"),
)
_EXEMPTIONS = {Base.PROVISIONAL: ChangeKind.PROVISIONAL_EXEMPT, Base.DEPRECATED: ChangeKind.DEPRECATED_EXEMPT}


def classify(change: Change, *, feature_base: str | None = None) -> Finding:
    """The finding of one change: the one place a severity is decided.  A break that the
    feature base (version ``feature_base``) exempts under PEP 605 (provisional, deprecated)
    becomes a warning that names its exemption."""
    rule = RULE_BY_KIND[change.kind]
    words = sides(change)
    fields = message_fields(change, words)
    message = rule.message.format(**fields)
    severity = rule.severity(change.tier)
    exemption = None
    if change.base is not None and severity == Severity.BREAK:
        exempt = RULE_BY_KIND[_EXEMPTIONS[change.base]]
        exemption, severity = exempt.id, exempt.severity(change.tier)
        message = exempt.message.format(message=message, base=feature_base or "the feature base")
    carried = {name: getattr(change, name) for name in _CARRIED}
    headline = (rule.headline or rule.message).format(**fields)
    return Finding(
        rule=rule.id,
        severity=severity,
        message=message,
        headline=headline,
        exemption=exemption,
        old=words.old,
        new=words.new,
        detail=words.detail,
        resized=bool(change.fact("resized", False)),
        **carried,
    )


def report_order(finding: Finding) -> tuple[int, str, str, str]:
    """A comparison lists findings by severity, then entity."""
    return (SEVERITY_ORDER.index(finding.severity), finding.entity, finding.rule, finding.message)


def audit_order(finding: Finding) -> tuple[int, str, str, str]:
    """An audit (abi3, ext) lists findings by severity, then rule."""
    return (SEVERITY_ORDER.index(finding.severity), finding.rule, finding.entity, finding.message)


@dataclass(frozen=True, slots=True, kw_only=True)
class Judgement:
    """Findings after suppressions: those kept, how many were suppressed, and the warnings
    about the suppressions themselves (unused, expired)."""

    kept: tuple[Finding, ...]
    suppressed: int
    suppression_warnings: tuple[str, ...]


def judge(
    findings: Iterable[Finding], suppressions: Iterable[object] = (), *, today: datetime.date | None = None
) -> Judgement:
    """Apply ``suppressions`` (from :mod:`abidiff.suppress`) to ``findings``."""
    from abidiff import suppress

    entries = tuple(item for item in suppressions if isinstance(item, suppress.Suppression))
    outcome = suppress.apply(findings, entries, today=today or datetime.date.today())
    return Judgement(kept=outcome.kept, suppressed=len(outcome.suppressed), suppression_warnings=outcome.warnings)


def tally(findings: Iterable[Finding]) -> tuple[dict[str, int], dict[str, int]]:
    """(count per rule id, count per severity) of ``findings``."""
    counts: dict[str, int] = {}
    severity_counts = {str(severity): 0 for severity in SEVERITY_ORDER}
    for item in findings:
        counts[item.rule] = counts.get(item.rule, 0) + 1
        severity_counts[str(item.severity)] += 1
    return dict(sorted(counts.items())), severity_counts


def verdicts(findings: Iterable[Finding]) -> tuple[Verdict, ReleaseKind, StableVerdict]:
    """The full-ABI verdict (and PEP 605's name for it) and the stable-ABI verdict."""
    breaks = [finding for finding in findings if finding.severity == Severity.BREAK]
    full = Verdict.ABI_BREAKING if breaks else Verdict.BINARY_COMPATIBLE
    kind = ReleaseKind.ALPHA if breaks else ReleaseKind.BETA
    stable = StableVerdict.BROKEN if any(finding.tier == Tier.LIMITED for finding in breaks) else StableVerdict.INTACT
    return full, kind, stable


_LEVEL_WORDS = {"alpha": "an alpha", "beta": "a beta", "candidate": "a release candidate", "final": "a final release"}


def label_mismatch(old: Build, new: Build, kind: ReleaseKind) -> str | None:
    """Where NEW's own release label (``patchlevel.h``) disagrees with PEP 605's verdict
    against OLD of the same feature release: a beta (or later) that breaks the full ABI, or
    an alpha that does not."""
    if old.feature_version != new.feature_version or new.version == "unknown":
        return None
    level = str(new.release_level)
    if kind == ReleaseKind.ALPHA and level != "alpha":
        return (
            f"{new.version} is labelled {_LEVEL_WORDS.get(level, level)}, but it breaks the full ABI "
            f"against {old.version}: PEP 605 would publish it as an alpha"
        )
    if kind == ReleaseKind.BETA and level == "alpha":
        return (
            f"{new.version} is labelled an alpha (ABI breaking), but it is binary compatible with "
            f"{old.version}: PEP 605 would publish it as a beta"
        )
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildIdentity:
    """Which build a side of a report is."""

    version: str
    release_level: str
    release_serial: int
    origin: str
    soabi: str | None
    target: str
    pointer_size: int
    headers_only: bool


def identity(build: Build, *, headers_only: bool) -> BuildIdentity:
    return BuildIdentity(
        version=build.version,
        release_level=str(build.release_level),
        release_serial=build.release_serial,
        origin=build.origin,
        soabi=build.soabi,
        target=build.target,
        pointer_size=build.pointer_size,
        headers_only=headers_only,
    )
