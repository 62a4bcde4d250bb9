"""The Markdown report: a PR comment or a CI step summary ($GITHUB_STEP_SUMMARY)."""

from __future__ import annotations

from abidiff.report.registry import register
from abidiff.rules import RULE_BY_ID, Report, ReportedChange, Severity, Verdict

_ICON = {Verdict.ABI_BREAKING: "❌", Verdict.BINARY_COMPATIBLE: "✅"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{text}`" if "`" not in text else text


def _line(change: ReportedChange) -> str:
    return f"- **{change.rule}** {_code(change.entity)} ({change.tier}): {change.message}"


@register(Report, "markdown", "a PR comment or a CI step summary")
def render(report: Report) -> str:
    old, new = report.old.version, report.new.version
    lines = [
        f"## abidiff: {old} → {new}",
        "",
        f"{_ICON[report.verdict]} **{report.verdict}** ({report.release_kind} in PEP 605 terms); "
        f"stable ABI **{report.stable_abi_verdict}**."
        + (f" Feature base (PEP 605): {report.feature_base.version}." if report.feature_base else ""),
        "",
    ]
    if report.label_mismatch:
        lines += ["> [!WARNING]", f"> The release label disagrees with the verdict: {report.label_mismatch}.", ""]
    if report.problems:
        lines += ["> [!WARNING]", "> The builds are not comparable:"]
        lines += [f"> - {problem}" for problem in report.problems]
        lines.append("")
    if report.headers_only:
        lines += ["_Headers only: a declaration removed from the headers counts as removed from the ABI._", ""]
    if report.counts:
        lines += ["| rule | title | changes |", "| --- | --- | ---: |"]
        lines += [f"| {rule} | {_cell(RULE_BY_ID[rule].title)} | {count} |" for rule, count in report.counts.items()]
        lines.append("")
    else:
        lines += ["No change.", ""]
    breaks = [change for change in report.changes if change.severity == Severity.BREAK]
    warnings = [change for change in report.changes if change.severity == Severity.WARNING]
    if breaks:
        lines += [f"### Breaks ({len(breaks)})", ""]
        lines += [_line(change) for change in breaks]
        lines.append("")
    if warnings:
        lines += ["<details>", f"<summary>Warnings ({len(warnings)})</summary>", ""]
        lines += [_line(change) for change in warnings]
        lines += ["", "</details>", ""]
    quiet = len(report.changes) - len(breaks) - len(warnings)
    footer = []
    if quiet:
        footer.append(f"{quiet} compatible or informational changes not listed (see `--format json`)")
    if report.suppressed:
        footer.append(f"{report.suppressed} suppressed")
    footer += [f"⚠️ {warning}" for warning in report.suppression_warnings]
    if footer:
        lines += [f"_{item}._" if not item.startswith("⚠️") else item for item in footer]
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"
