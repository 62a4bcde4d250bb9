"""``abidiff OLD NEW`` without I/O: two snapshots in, one judged
:class:`~abidiff.rules.reports.Report` out (the diff, then the one judge)."""

from __future__ import annotations

from abidiff.rules.reports import Report, compare, compare_report

__all__ = ["Report", "compare", "compare_report"]
