"""``abidiff OLD NEW``: build both snapshots, diff, classify, suppress, render, exit status.

The command (:mod:`abidiff.commands.compare`) calls :func:`compare`: two snapshots in, one
:class:`~abidiff.rules.Report` out, no I/O.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from abidiff import suppress
from abidiff.errors import UsageError
from abidiff.model import Snapshot
from abidiff.rules import Report

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
