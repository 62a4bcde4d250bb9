"""The Markdown report: a PR comment or a CI step summary ($GITHUB_STEP_SUMMARY).

It lists every finding, breaks first, the others in collapsed ``<details>`` sections, and fits
where it is posted: GitHub refuses a comment over 65,536 characters, and 3.8 -> 3.13 has some
1,500 findings.  :func:`fit` keeps it under ``max_chars`` (:data:`DEFAULT_MAX_CHARS`) by
leaving out the least severe findings first (informational, then compatible, then warnings,
then breaks), and says what it left out and where the full report is.  Names and messages are
escaped, so ``_Py_capitalize__doc__`` does not render in italics.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from abidiff.report.reach import names
from abidiff.report.registry import register
from abidiff.report.words import counted, source_path
from abidiff.rules import RULE_BY_ID, Finding, Report, Severity, Verdict

DEFAULT_MAX_CHARS = 60_000  # GitHub's limit for a comment (and a step summary) is 65,536
_ICON = {Verdict.ABI_BREAKING: "❌", Verdict.BINARY_COMPATIBLE: "✅"}
# characters with a meaning inside a Markdown line (GitHub's flavour): backslash-escaped
_SPECIAL = frozenset("\\`*_[]<>|~&")
_SECTION_TITLES = {
    Severity.BREAK: "Breaks",
    Severity.WARNING: "Warnings",
    Severity.COMPATIBLE: "Compatible changes",
    Severity.INFO: "Informational",
}


def escape(text: str) -> str:
    """``text`` as literal Markdown: every character with a meaning in a line is escaped."""
    return "".join("\\" + char if char in _SPECIAL else char for char in text).replace("\n", " ")


def code(text: str) -> str:
    """``text`` as a code span (its backticks fenced by longer runs)."""
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def cell(text: str) -> str:
    """Escaped text for a table cell (a ``|`` would end the cell)."""
    return escape(text)


def where(finding: Finding) -> str:
    """`` (`Include/cpython/object.h:123`)`` when the finding has a header."""
    if not finding.header:
        return ""
    line = getattr(finding, "line", None)
    return f" ({code(source_path(finding.header) + (f':{line}' if line else ''))})"


def finding_line(finding: Finding) -> str:
    line = f"- **{finding.rule}** {code(finding.entity)} ({finding.tier}): {escape(finding.message)}{where(finding)}"
    reached = finding.reached_through
    if reached:  # the static inline functions and macros that reach a layout break
        line += f"; reached through {names([code(name) for name in reached])}"
    return line


@dataclass(frozen=True, slots=True, kw_only=True)
class Section:
    """The findings of one severity, as bullet lines; open sections are not collapsed."""

    severity: Severity
    lines: tuple[str, ...]
    open: bool


def sections_of(findings: Sequence[Finding], *, line: Callable[[Finding], str] | None = None) -> tuple[Section, ...]:
    """A section per severity that has findings, each finding a bullet (made by ``line``)."""
    make = line or finding_line
    found = []
    for severity in (Severity.BREAK, Severity.WARNING, Severity.COMPATIBLE, Severity.INFO):
        lines = tuple(make(item) for item in findings if item.severity == severity)
        if lines:
            found.append(Section(severity=severity, lines=lines, open=severity == Severity.BREAK))
    return tuple(found)


def _section_text(section: Section, shown: int) -> list[str]:
    title = f"{_SECTION_TITLES[section.severity]} ({len(section.lines)})"
    body = list(section.lines[:shown])
    left = len(section.lines) - shown
    if left:
        body.append(f"- _… and {left:,} more, left out to fit (see the note above)._")
    if section.open:
        return [f"### {title}", "", *body, ""]
    return ["<details>", f"<summary>{title}</summary>", "", *body, "", "</details>", ""]


def _cut_note(cut: dict[Severity, int], max_chars: int, full_report: str | None) -> list[str]:
    if not cut:
        return []
    left_out = ", ".join(counted(count, severity) for severity, count in cut.items())
    place = full_report or "the JSON report (`abidiff OLD NEW --format json`)"
    return [
        "> [!NOTE]",
        f"> Cut to {max_chars:,} characters: {left_out} left out, the least severe first. Every finding is in {place}.",
        "",
    ]


def fit(
    head: Sequence[str],
    sections: Sequence[Section],
    tail: Sequence[str],
    *,
    max_chars: int | None,
    full_report: str | None,
) -> str:
    """The document of ``head``, the sections and ``tail``, in at most ``max_chars``
    characters (``None``: :data:`DEFAULT_MAX_CHARS`; ``0``: no limit): the least severe
    findings are left out first, and a note says how many and where they all are."""
    limit = DEFAULT_MAX_CHARS if max_chars is None else max_chars
    shown = {section.severity: len(section.lines) for section in sections}

    def document(note: list[str]) -> str:
        lines = list(head) + note
        for section in sections:
            lines += _section_text(section, shown[section.severity])
        lines += list(tail)
        return "\n".join(lines).rstrip("\n") + "\n"

    text = document([])
    if not limit or len(text) <= limit:
        return text
    # the longest possible note: every severity cut
    reserve = len("\n".join(_cut_note({s.severity: len(s.lines) for s in sections}, limit, full_report))) + 600
    budget = limit - reserve
    base = len(document([])) - sum(len(line) + 1 for section in sections for line in section.lines)
    used = base
    for section in sections:  # most severe first: what does not fit, and all after it, is cut
        count = 0
        for line in section.lines:
            if used + len(line) + 1 > budget:
                break
            used += len(line) + 1
            count += 1
        shown[section.severity] = count
        if count < len(section.lines):
            for later in sections[sections.index(section) + 1 :]:
                shown[later.severity] = 0
            break
    cut = {s.severity: len(s.lines) - shown[s.severity] for s in sections if shown[s.severity] < len(s.lines)}
    text = document(_cut_note(cut, limit, full_report))
    if len(text) > limit:  # a head or tail longer than the limit itself: cut the text
        marker = "\n\n_… cut to the character limit._\n"
        text = text[: max(0, limit - len(marker))].rsplit("\n", 1)[0] + marker
    return text


def _head(report: Report) -> list[str]:
    old, new = escape(report.old.version), escape(report.new.version)
    base = f" Feature base (PEP 605): {escape(report.feature_base.version)}." if report.feature_base else ""
    lines = [
        f"## abidiff: {old} → {new}",
        "",
        f"{_ICON[report.verdict]} **{report.verdict}** ({report.release_kind} in PEP 605 terms); "
        f"stable ABI **{report.stable_abi_verdict}**.{base}",
        "",
    ]
    if report.label_mismatch:
        mismatch = escape(report.label_mismatch)
        lines += ["> [!WARNING]", f"> The release label disagrees with the verdict: {mismatch}.", ""]
    if report.problems:
        lines += ["> [!WARNING]", "> The builds are not comparable:"]
        lines += [f"> - {escape(problem)}" for problem in report.problems]
        lines.append("")
    if report.headers_only:
        lines += ["_Headers only: a declaration removed from the headers counts as removed from the ABI._", ""]
    if report.counts:
        lines += ["| rule | title | findings |", "| --- | --- | ---: |"]
        lines += [f"| {rule} | {cell(RULE_BY_ID[rule].title)} | {count} |" for rule, count in report.counts.items()]
        lines.append("")
    else:
        lines += ["No change.", ""]
    return lines


def suppression_lines(suppressed: int, warnings: Sequence[str]) -> list[str]:
    lines = [f"_{suppressed} suppressed._"] if suppressed else []
    lines += [f"⚠️ {escape(warning)}" for warning in warnings]
    return lines + ([""] if lines else [])


@register(
    Report, "markdown", "a PR comment or a CI step summary, cut to --max-chars", options=("max_chars", "full_report")
)
def render(report: Report, *, max_chars: int | None = None, full_report: str | None = None) -> str:
    return fit(
        _head(report),
        sections_of(report.changes),
        suppression_lines(report.suppressed, report.suppression_warnings),
        max_chars=max_chars,
        full_report=full_report,
    )
