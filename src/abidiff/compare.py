"""``abidiff OLD NEW``: build both snapshots, diff, classify, suppress, render, exit status.

The CLI calls :func:`compare_main`; :func:`compare` is the same without I/O (two snapshots in,
one :class:`~abidiff.rules.Report` out).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import TextIO

from abidiff import suppress
from abidiff.errors import EXIT_ABI_CHANGE, EXIT_ABI_INCOMPATIBLE, EXIT_OK, UsageError
from abidiff.model import Snapshot
from abidiff.options import BuildOptions
from abidiff.output import write_output
from abidiff.rules import Report, StableVerdict, Verdict

FORMATS = ("text", "json", "markdown", "news")


def compare(
    old: Snapshot,
    new: Snapshot,
    suppressions: Iterable[suppress.Suppression] = (),
    *,
    today: datetime.date | None = None,
) -> Report:
    """The report of ``old`` against ``new`` with ``suppressions`` (from :mod:`abidiff.suppress`)."""
    from abidiff.diff import diff
    from abidiff.rules import build_report, classify

    result = diff(old, new)
    classified = [classify(change) for change in result.changes]
    outcome = suppress.apply(classified, suppressions, today=today or datetime.date.today())
    return build_report(
        result,
        outcome.kept,
        suppressed=len(outcome.suppressed),
        suppression_warnings=outcome.warnings,
        old_headers_only=not old.binaries,
        new_headers_only=not new.binaries,
    )


def exit_status(report: Report) -> int:
    """0 no change; 4 something reported; | 8 when the full or the stable ABI broke."""
    if not report.changes:
        return EXIT_OK
    status = EXIT_ABI_CHANGE
    if report.verdict == Verdict.ABI_BREAKING or report.stable_abi_verdict == StableVerdict.BROKEN:
        status |= EXIT_ABI_INCOMPATIBLE
    return status


def render(report: Report, fmt: str) -> str:
    """The report as text in a machine or file format (``text`` gives plain text)."""
    if fmt == "json":
        from abidiff.report.jsonreport import dumps

        return dumps(report)
    if fmt == "markdown":
        from abidiff.report.markdown import render as markdown

        return markdown(report)
    if fmt == "news":
        from abidiff.report.news import render as news

        return news(report)
    if fmt == "text":
        from abidiff.report.terminal import render_plain

        return render_plain(report)
    raise UsageError(f"unknown report format '{fmt}' (choose from {', '.join(FORMATS)})")


def compare_main(
    old_spec: str,
    new_spec: str,
    *,
    fmt: str = "text",
    output: str | None = None,
    suppressions: str | None = None,
    stdout: TextIO,
    stderr: TextIO,
    today: datetime.date | None = None,
    options: BuildOptions | None = None,
) -> int:
    """Run ``abidiff OLD NEW`` and return the exit status bits.

    Human output (``text`` without ``-o``) goes to ``stderr``; machine formats to ``stdout``
    or, with ``output``, atomically to that file.  Errors are raised as
    :class:`~abidiff.errors.AbidiffError` for the CLI to render.
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown report format '{fmt}' (choose from {', '.join(FORMATS)})")
    from abidiff.builder import snapshots_of
    from abidiff.report.console import progress

    entries = suppress.load(suppressions) if suppressions else ()  # fail before the slow part
    with progress(f"reading {old_spec} and {new_spec}"):
        old, new = snapshots_of((old_spec, new_spec), options)
    report = compare(old, new, entries, today=today)
    to_terminal = fmt == "text" and (output is None or output == "-")
    if not to_terminal:  # the terminal report shows them itself
        for warning in report.suppression_warnings:
            stderr.write(f"abidiff: warning: {warning}\n")
    if to_terminal:
        from abidiff.report.console import make_console
        from abidiff.report.terminal import render as render_terminal

        render_terminal(report, make_console(file=stderr))
        stderr.flush()
    else:
        write_output(render(report, fmt), output, stdout)
    return exit_status(report)
