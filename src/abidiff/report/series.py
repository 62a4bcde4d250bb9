"""The formats of a release series (:class:`~abidiff.series.SeriesReport`): text (a table
and each release's notes; rich on a terminal), json, markdown, news (PEP 605's release
notes) and html (:mod:`abidiff.report.series_html`).

Every format says the same things in the same words: :func:`release_notes` makes them once.
The notes use PEP 605's names (the release's own label beside it when they differ), and
PEP 605's wording: "As a beta release, it is fully binary compatible with the preceding ...",
"As an alpha release, it is NOT fully binary compatible with the preceding ...", "Breaking
changes in the full CPython ABI between ... and ...", and the ``Python-Requires`` line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from abidiff.report import jsonwriter
from abidiff.report.news import NEWS_PREFIX
from abidiff.report.registry import register, register_terminal
from abidiff.report.terminal import PLAIN_WIDTH, plain_text, suppression_warnings
from abidiff.rules import Severity, StableVerdict, Verdict
from abidiff.series import SeriesRelease, SeriesReport


@dataclass(frozen=True, slots=True, kw_only=True)
class Notes:
    """One release's notes, in words; every format lays them out its own way."""

    title: str  # PEP 605's name, with the release's own label when it differs
    kind: str  # PEP 605's: alpha, beta, candidate, final (other: a build of no version)
    lead: str  # PEP 605's sentence
    breaks_title: str | None
    breaks: tuple[str, ...]
    requires: str | None
    stable: str | None
    findings: tuple[tuple[str, str], ...]  # (severity, "ABI902: ...")
    problems: tuple[str, ...]


def _title(release: SeriesRelease) -> str:
    if release.pep605_name == release.name:
        return release.name
    return f"{release.pep605_name} (released as {release.name})"


def _feature(version: str) -> str:
    return ".".join(version.split(".")[:2])


_KINDS = {"a": "alpha", "b": "beta", "rc": "candidate", "": "final"}
_NAME = re.compile(r"^\d+\.\d+\.\d+(a|b|rc|)\d*$")


def pep605_kind(release: SeriesRelease) -> str:
    """The kind PEP 605's name gives: alpha, beta, candidate, final (other: no version)."""
    match = _NAME.match(release.pep605_name)
    return "other" if match is None else _KINDS[match.group(1)]


def _lead(release: SeriesRelease, before: SeriesRelease | None, kind: str) -> str:
    if before is None:
        if kind == "alpha":
            return (
                "The first release of the series. As an alpha release, it is intended for library and application "
                "compatibility testing and the creation of ABI compatible binary artifacts."
            )
        return "The first release of the series: the next one is judged against it."
    prev = before.pep605_name
    compatible = release.verdict == Verdict.BINARY_COMPATIBLE
    if _feature(before.name) != _feature(release.name):
        how = "fully binary compatible with" if compatible else "NOT fully binary compatible with"
        return f"A new feature release: it is {how} the preceding {prev} release (PEP 605's names start again)."
    if release.frozen:
        if compatible:
            return f"The full CPython ABI is frozen: it is fully binary compatible with the preceding {prev} release."
        return (
            f"ERROR: the full CPython ABI was frozen by the first release candidate, but this release is NOT "
            f"fully binary compatible with the preceding {prev} release."
        )
    if kind == "alpha":
        return f"As an alpha release, it is NOT fully binary compatible with the preceding {prev} release."
    if kind == "beta":
        return f"As a beta release, it is fully binary compatible with the preceding {prev} release."
    what = "a release candidate" if kind == "candidate" else "a final release"
    return (
        f"As {what}, it freezes the full CPython ABI; it is fully binary compatible with the preceding {prev} release."
    )


def _bullets(release: SeriesRelease) -> tuple[str, ...]:
    seen: list[str] = []
    for change in release.breaks:
        bullet = change.headline + (" (stable ABI)" if str(change.tier) == "limited" else "")
        if bullet not in seen:
            seen.append(bullet)
    return tuple(seen)


def release_notes(report: SeriesReport, index: int) -> Notes:
    """The notes of release ``index`` of ``report``."""
    release = report.releases[index]
    before = report.releases[index - 1] if index else None
    kind = pep605_kind(release)
    breaks = _bullets(release)
    stable = None
    if release.stable_abi_verdict == StableVerdict.BROKEN:
        stable = "The stable ABI (abi3) is broken: the breaks marked (stable ABI) affect extensions built for it."
    elif release.stable_abi_verdict == StableVerdict.INTACT:
        stable = "The stable ABI (abi3) is intact."
    breaks_title = None
    if breaks and before is not None:
        breaks_title = (
            f"Breaking changes in the full CPython ABI between {before.pep605_name} and {release.pep605_name}"
        )
    return Notes(
        title=_title(release),
        kind=kind,
        lead=_lead(release, before, kind),
        breaks_title=breaks_title,
        breaks=breaks,
        requires=release.python_requires,
        stable=stable,
        findings=tuple((str(item.severity), f"{item.rule}: {item.message}") for item in release.findings),
        problems=release.problems,
    )


def summary_line(report: SeriesReport) -> str:
    first, last = report.releases[0].name, report.releases[-1].name
    base = report.feature_base.version if report.feature_base else "none (no PEP 605 exemptions)"
    return f"Release series {first} -> {last}: {len(report.releases)} releases; feature base: {base}"


def break_count(release: SeriesRelease) -> int:
    return release.severity_counts.get(str(Severity.BREAK), 0)


def verdict_words(release: SeriesRelease) -> str:
    return "-" if release.verdict is None else str(release.verdict)


def stable_words(release: SeriesRelease) -> str:
    return "-" if release.stable_abi_verdict is None else str(release.stable_abi_verdict)


def finding_marks(release: SeriesRelease) -> str:
    return ", ".join(item.rule for item in release.findings)


REQUIRES_INTRO = (
    "Projects that support the rolling release stream and need a rebuild to restore binary "
    "compatibility add to their updated release:"
)


# -- text ------------------------------------------------------------------------------------


def _indented(text: Any, width: int) -> Any:
    """``text`` indented, wrapped lines too, with no trailing spaces."""
    from rich.padding import Padding

    return Padding(text, (0, 0, 0, width), expand=False)


@register_terminal(SeriesReport)
def render(report: SeriesReport, console: Any) -> None:
    """The series on a rich console: a table, then each release's notes."""
    from rich.table import Table
    from rich.text import Text

    console.print(Text(summary_line(report), style="bold"))
    table = Table(show_edge=False)
    for column in ("release", "PEP 605 name", "full ABI", "stable ABI", "breaks", "findings"):
        table.add_column(column, justify="right" if column == "breaks" else "left")
    for release in report.releases:
        red = release.verdict == Verdict.ABI_BREAKING
        name = Text(release.pep605_name, style="bold yellow" if release.label_mismatch else "")
        table.add_row(
            release.name,
            name,
            Text(verdict_words(release), style="red" if red else "green"),
            Text(stable_words(release), style="red" if release.stable_abi_verdict == StableVerdict.BROKEN else ""),
            str(break_count(release)) if release.previous else "-",
            Text(finding_marks(release), style="bold red" if any(f.rule == "ABI901" for f in release.findings) else ""),
        )
    console.print(table)
    for index in range(len(report.releases)):
        notes = release_notes(report, index)
        console.print()
        console.print(Text(notes.title, style="bold underline"))
        for problem in notes.problems:
            console.print(_indented(Text(f"not comparable: {problem}", style="red"), 2))
        console.print(_indented(Text(notes.lead), 2))
        if notes.breaks_title:
            console.print(_indented(Text(f"{notes.breaks_title}:"), 2))
            for bullet in notes.breaks:
                console.print(_indented(Text(f"* {NEWS_PREFIX} {bullet}"), 4))
        if notes.requires:
            console.print(_indented(Text(REQUIRES_INTRO), 2))
            console.print(_indented(Text(notes.requires), 6))
        if notes.stable:
            console.print(_indented(Text(notes.stable), 2))
        for severity, line in notes.findings:
            style = "bold red" if severity == "break" else "yellow"
            console.print(_indented(Text(f"{severity}: {line}", style=style), 2))
    suppression_warnings(console, report.suppression_warnings)


@register(SeriesReport, "text", "a table and each release's notes (rich on a terminal; the default)")
def render_plain(report: SeriesReport, width: int = PLAIN_WIDTH) -> str:
    return plain_text(lambda console: render(report, console), width)


@register(SeriesReport, "json", "versioned JSON (schema abidiff-series; its JSON Schema ships in the package)")
def render_json(report: SeriesReport) -> str:
    return jsonwriter.dumps(report)


# -- news: PEP 605's release notes -------------------------------------------------------------


@register(SeriesReport, "news", "PEP 605's release notes of every release")
def render_news(report: SeriesReport) -> str:
    lines: list[str] = [summary_line(report) + ".", ""]
    for index in range(len(report.releases)):
        notes = release_notes(report, index)
        lines += [notes.title, "=" * len(notes.title), ""]
        lines += [f"Not comparable: {problem}" for problem in notes.problems]
        lines += [notes.lead, ""]
        if notes.breaks_title:
            lines += [notes.breaks_title, "-" * len(notes.breaks_title), ""]
            lines += [f"* {NEWS_PREFIX} {bullet}" for bullet in notes.breaks]
            lines.append("")
        if notes.requires:
            lines += [REQUIRES_INTRO, "", f"    {notes.requires}", ""]
        if notes.stable:
            lines += [notes.stable, ""]
        lines += [f"{severity.upper()}: {line}" for severity, line in notes.findings]
        if notes.findings:
            lines.append("")
    lines += [f"warning: {warning}" for warning in report.suppression_warnings]
    return "\n".join(lines).rstrip("\n") + "\n"


# -- markdown --------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


@register(SeriesReport, "markdown", "a table and each release's notes (a PR comment, a CI step summary)")
def render_markdown(report: SeriesReport) -> str:
    first, last = report.releases[0].name, report.releases[-1].name
    base = report.feature_base.version if report.feature_base else "none (no PEP 605 exemptions)"
    lines = [
        f"## abidiff series: {first} → {last}",
        "",
        f"{len(report.releases)} releases; feature base: **{base}**.",
        "",
        "| release | PEP 605 name | full ABI | stable ABI | breaks | findings |",
        "| --- | --- | --- | --- | ---: | --- |",
    ]
    for release in report.releases:
        name = f"**{release.pep605_name}** ≠" if release.label_mismatch else release.pep605_name
        breaks = str(break_count(release)) if release.previous else "-"
        lines.append(
            f"| {release.name} | {name} | {verdict_words(release)} | {stable_words(release)} | {breaks} "
            f"| {_cell(finding_marks(release))} |"
        )
    for index in range(len(report.releases)):
        notes = release_notes(report, index)
        lines += ([] if lines[-1] == "" else [""]) + [f"### {notes.title}", ""]
        for severity, line in notes.findings:
            lines += [f"> [!{'CAUTION' if severity == 'break' else 'WARNING'}]", f"> {_cell(line)}", ""]
        lines += [f"> Not comparable: {_cell(problem)}" for problem in notes.problems]
        lines += [notes.lead, ""]
        if notes.breaks_title:
            lines += [f"**{notes.breaks_title}:**", ""]
            lines += [f"- {_cell(bullet)}" for bullet in notes.breaks]
            lines.append("")
        if notes.requires:
            lines += [REQUIRES_INTRO, "", "```", notes.requires, "```", ""]
        if notes.stable:
            lines += [notes.stable, ""]
    lines += [f"⚠️ {warning}" for warning in report.suppression_warnings]
    return "\n".join(lines).rstrip("\n") + "\n"


from abidiff.report import series_html  # noqa: E402,F401  (registers the html format)
