"""The human formats of the audits: ``abidiff abi3`` (text, markdown) and ``abidiff ext``
(text, markdown).

``ext`` is quiet when all is well, as abi3audit is: a summary line, a line per module and the
findings; ``--verbose`` adds the stable-ABI truth, the wheel's tags, every CPython import of
every module and the notes.  The Markdown of both fits a PR comment
(:func:`abidiff.report.markdown.fit`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from abidiff.abi3 import LevelSurface
from abidiff.report.markdown import code, escape, fit, sections_of, suppression_lines
from abidiff.report.reach import place_lines
from abidiff.report.registry import register
from abidiff.report.words import counted as _counted
from abidiff.rules import BuildIdentity, Finding, Severity
from abidiff.rules.reports import Abi3Report, ExtReport

_MARKDOWN_OPTIONS = ("max_chars", "full_report")


def _build_line(build: BuildIdentity) -> str:
    return f"{build.version} ({build.origin})"


def tally(severity_counts: Mapping[str, int]) -> str:
    """``1 break, 147 warnings`` (or ``no findings``)."""
    parts = [_counted(count, Severity(severity)) for severity, count in severity_counts.items() if count]
    return ", ".join(parts) or "no findings"


def _suppressions(suppressed: int, warnings: Sequence[str]) -> list[str]:
    lines = [f"{suppressed} suppressed" if suppressed != 1 else "1 suppressed"] if suppressed else []
    return lines + [f"warning: {warning}" for warning in warnings]


def _finding_text(item: Finding, *, modules: bool = False) -> str:
    if modules:
        where = f" [{', '.join(item.impacts)}]" if item.impacts else ""
    else:
        line = getattr(item, "line", None)
        where = f" [{item.header}{f':{line}' if line else ''}]" if item.header else ""
    return f"{item.rule} {item.severity}: {item.message}{where}"


# -- abi3 -----------------------------------------------------------------------------------

# the columns of the table of levels (text), each as wide as its name
_COLUMNS = ("functions", "inline", "data", "structs", "macros", "typedefs", "new")


def _counts(level: LevelSurface) -> tuple[int, ...]:
    """What the table of levels says of one level, in the order of :data:`_COLUMNS`."""
    counts = (level.functions, level.inline_functions, level.data, level.structs, level.macros, level.typedefs)
    return (*counts, len(level.new))


@register(Abi3Report, "text", "a table of the levels and the findings (the default)")
def abi3_text(report: Abi3Report) -> str:
    lines = [f"abi3 audit of {_build_line(report.build)}"]
    if report.against is not None:
        lines.append(f"  against {_build_line(report.against)}")
    lines.append(f"  manifest: {report.manifest_source or 'none'}")
    lines += ["", "Py_LIMITED_API   " + "  ".join(_COLUMNS)]
    for level in report.levels:
        cells = "  ".join(f"{count:>{len(word)}}" for count, word in zip(_counts(level), _COLUMNS, strict=True))
        lines.append(f"{level.level:>5} {level.hex}  {cells}")
    lines.append("")
    if not report.changes:
        lines.append("no findings: the limited API guards, the manifest and the exports agree")
    lines += [_finding_text(item) for item in report.changes]
    lines.append("")
    verdict = f"stable ABI: {report.stable_abi_verdict}"
    lines.append(f"{verdict}; {tally(report.severity_counts)}" if report.changes else verdict)
    lines += _suppressions(report.suppressed, report.suppression_warnings)
    lines += [f"note: {note}" for note in report.notes]
    return "\n".join(lines) + "\n"


@register(Abi3Report, "markdown", "a PR comment or a CI step summary, cut to --max-chars", options=_MARKDOWN_OPTIONS)
def abi3_markdown(report: Abi3Report, *, max_chars: int | None = None, full_report: str | None = None) -> str:
    against = f" against {escape(report.against.version)}" if report.against else ""
    head = [
        f"## abi3 audit of CPython {escape(report.build.version)}{against}",
        "",
        f"Stable ABI: **{report.stable_abi_verdict}**; {tally(report.severity_counts)}. "
        f"Manifest: {escape(report.manifest_source or 'none')}.",
        "",
        "| Py_LIMITED_API | functions | static inline | data | structs | macros | typedefs | new |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    head += [f"| {level.level} (`{level.hex}`) | {' | '.join(map(str, _counts(level)))} |" for level in report.levels]
    head.append("")
    if not report.changes:
        head += ["No findings.", ""]
    tail = suppression_lines(report.suppressed, report.suppression_warnings)
    tail += [f"> {escape(note)}" for note in report.notes]
    return fit(head, sections_of(report.changes), tail, max_chars=max_chars, full_report=full_report)


# -- ext ------------------------------------------------------------------------------------


def _ext_headline(report: ExtReport) -> str:
    count = len(report.extensions)
    modules = f"{count} extension module{'s' if count != 1 else ''} audited"
    if report.source is not None:  # --source: the files parsed (and the modules, if any)
        files = len(report.source.files)
        parsed = f"{files} source file{'s' if files != 1 else ''} parsed"
        modules = f"{modules}, {parsed}" if count else parsed
    return f"{report.input}: {modules}; {tally(report.severity_counts)}"


@register(
    ExtReport,
    "text",
    "a summary line, a line per module and the findings (the default); --verbose: every import",
    options=("verbose",),
)
def ext_text(report: ExtReport, *, verbose: bool = False) -> str:
    lines = [_ext_headline(report)]
    if verbose:
        lines.append(f"  stable ABI truth: {report.stable_abi_source}")
        if report.wheel is not None:
            lines.append(f"  wheel tags: {', '.join(report.wheel.metadata_tags or report.wheel.filename_tags)}")
    lines += [f"  {line}" for line in report.summary]
    if verbose:
        for result in report.extensions:
            lines += ["", f"{result.path} ({result.format}, {', '.join(result.arches)})"]
            for symbol in result.imports:
                where = f" from {symbol.library}" if symbol.library else ""
                stable = f"stable ABI {symbol.stable_since}" if symbol.stable_since else "not stable ABI"
                lines.append(f"  {symbol.name:<40} {stable}{' (abi_only)' if symbol.abi_only else ''}{where}")
    if report.changes:
        lines.append("")
        for item in report.changes:
            lines.append(_finding_text(item, modules=True))
            lines += [f"    {line}" for line in place_lines(item.places, verbose=verbose)]
    if report.advice:
        lines += ["", *report.advice]
    suppressions = _suppressions(report.suppressed, report.suppression_warnings)
    if suppressions:
        lines += ["", *suppressions]
    if verbose:
        lines += ["", *(f"note: {note}" for note in report.notes)]
    return "\n".join(lines) + "\n"


def _ext_finding_line(item: Finding) -> str:
    modules = f" ({', '.join(code(path) for path in item.impacts)})" if item.impacts else ""
    places = "".join(f"\n  - {code(line)}" for line in place_lines(item.places))
    return f"- **{item.rule}** {code(item.entity)}: {escape(item.message)}{modules}{places}"


def _imports_markdown(report: ExtReport) -> list[str]:
    lines = ["<details>", "<summary>CPython imports</summary>", ""]
    for result in report.extensions:
        lines += [f"**{escape(result.path)}** ({result.format}, {escape(', '.join(result.arches))})", ""]
        lines += ["| symbol | stable ABI since | from |", "| --- | --- | --- |"]
        for symbol in result.imports:
            since = (symbol.stable_since or "not stable ABI") + (" (abi_only)" if symbol.abi_only else "")
            lines.append(f"| {code(symbol.name)} | {since} | {escape(symbol.library or '')} |")
        lines.append("")
    return [*lines, "</details>", ""]


@register(
    ExtReport,
    "markdown",
    "a PR comment or a CI step summary, cut to --max-chars; --verbose: every import",
    options=("verbose", *_MARKDOWN_OPTIONS),
)
def ext_markdown(
    report: ExtReport, *, verbose: bool = False, max_chars: int | None = None, full_report: str | None = None
) -> str:
    head = [f"## abidiff ext: {escape(report.input)}", "", f"{escape(_ext_headline(report))}.", ""]
    head += [f"- {escape(line)}" for line in report.summary]
    head.append("")
    head += [*(f"> {escape(line)}" for line in report.advice), ""] if report.advice else []
    if not report.changes:
        head += ["No findings.", ""]
    tail = suppression_lines(report.suppressed, report.suppression_warnings)
    if verbose:
        tail = _imports_markdown(report) + tail + [f"> {escape(note)}" for note in report.notes]
    sections = sections_of(report.changes, line=_ext_finding_line)
    return fit(head, sections, tail, max_chars=max_chars, full_report=full_report)
