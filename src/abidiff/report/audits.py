"""The human formats of the audits: ``abidiff abi3`` (text, markdown) and ``abidiff ext``
(text, markdown)."""

from __future__ import annotations

from abidiff.report.registry import register
from abidiff.rules import BuildIdentity, Finding
from abidiff.rules.reports import Abi3Report, ExtReport


def _build_line(build: BuildIdentity) -> str:
    return f"{build.version} ({build.origin})"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _suppressions(suppressed: int, warnings: tuple[str, ...]) -> list[str]:
    lines = [f"{suppressed} suppressed"] if suppressed else []
    return lines + [f"warning: {warning}" for warning in warnings]


@register(Abi3Report, "text", "a table of the levels and the findings (the default)")
def abi3_text(report: Abi3Report) -> str:
    lines = [f"abi3 audit of {_build_line(report.build)}"]
    if report.against is not None:
        lines.append(f"  against {_build_line(report.against)}")
    lines.append(f"  manifest: {report.manifest_source or 'none'}")
    lines += ["", "Py_LIMITED_API   functions  inline  data  structs  macros  typedefs  new"]
    for level in report.levels:
        lines.append(
            f"{level.level:>5} {level.hex}  {level.functions:>9}  {level.inline_functions:>6}  {level.data:>4}"
            f"  {level.structs:>7}  {level.macros:>6}  {level.typedefs:>8}  {len(level.new):>3}"
        )
    lines.append("")
    if not report.changes:
        lines.append("no findings: the limited API guards, the manifest and the exports agree")
    for item in report.changes:
        where = f" [{item.header}]" if item.header else ""
        lines.append(f"{item.rule} {item.severity}: {item.message}{where}")
    lines.append("")
    lines.append(
        f"stable ABI: {report.stable_abi_verdict}; "
        + ", ".join(f"{count} {severity}" for severity, count in report.severity_counts.items() if count)
        if report.changes
        else f"stable ABI: {report.stable_abi_verdict}"
    )
    lines += _suppressions(report.suppressed, report.suppression_warnings)
    lines += [f"note: {note}" for note in report.notes]
    return "\n".join(lines) + "\n"


@register(Abi3Report, "markdown", "a PR comment or a CI step summary")
def abi3_markdown(report: Abi3Report) -> str:
    against = f" against {report.against.version}" if report.against else ""
    lines = [
        f"## abi3 audit of CPython {report.build.version}{against}",
        "",
        f"Stable ABI: **{report.stable_abi_verdict}**. Manifest: {report.manifest_source or 'none'}.",
        "",
        "| Py_LIMITED_API | functions | static inline | data | structs | macros | typedefs | new |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for level in report.levels:
        lines.append(
            f"| {level.level} (`{level.hex}`) | {level.functions} | {level.inline_functions} | {level.data} "
            f"| {level.structs} | {level.macros} | {level.typedefs} | {len(level.new)} |"
        )
    lines.append("")
    lines += _finding_table(report.changes)
    lines += [f"_{line}._" for line in _suppressions(report.suppressed, report.suppression_warnings)]
    lines += ["", *(f"> {note}" for note in report.notes)]
    return "\n".join(lines) + "\n"


def _finding_table(findings: tuple[Finding, ...]) -> list[str]:
    if not findings:
        return ["No findings."]
    lines = ["| rule | severity | finding |", "| --- | --- | --- |"]
    return lines + [f"| {item.rule} | {item.severity} | {_cell(item.message)} |" for item in findings]


@register(ExtReport, "text", "the extensions, their CPython imports and the findings (the default)")
def ext_text(report: ExtReport) -> str:
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
    lines += _suppressions(report.suppressed, report.suppression_warnings)
    lines += [f"note: {note}" for note in report.notes]
    return "\n".join(lines) + "\n"


@register(ExtReport, "markdown", "a PR comment or a CI step summary")
def ext_markdown(report: ExtReport) -> str:
    lines = [f"## abidiff ext: {report.input}", "", *(f"- {line}" for line in report.summary), ""]
    lines += _finding_table(report.changes)
    lines += [f"_{line}._" for line in _suppressions(report.suppressed, report.suppression_warnings)]
    lines += ["", *(f"> {note}" for note in report.notes)]
    return "\n".join(lines) + "\n"
