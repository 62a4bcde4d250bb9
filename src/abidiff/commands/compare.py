"""``abidiff compare OLD NEW`` (and the shorthand ``abidiff OLD NEW``): both snapshots, the
report of :func:`abidiff.compare.compare`, rendered; the exit-status bits of the report."""

from __future__ import annotations

import argparse
import datetime
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from abidiff.commands import base, common
from abidiff.errors import EXIT_ABI_CHANGE, EXIT_ABI_INCOMPATIBLE
from abidiff.options import BuildOptions

if TYPE_CHECKING:
    from abidiff.model import Snapshot
    from abidiff.rules import Report

NAME = "compare"
FORMATS = common.ReportFormats("abidiff.rules:Report")


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("old", metavar="OLD", help="the older build")
    parser.add_argument("new", metavar="NEW", help="the newer build")
    common.add_report_options(parser, FORMATS)
    base.add_feature_base(parser)
    parser.add_argument(
        "--old-lib",
        metavar="FILE",
        action="append",
        default=[],
        help="add a binary to OLD only, or replace its libpython (repeatable; --lib applies to both)",
    )
    parser.add_argument(
        "--new-lib", metavar="FILE", action="append", default=[], help="the same for NEW only (repeatable)"
    )


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    return compare_main(
        args.old,
        args.new,
        reporting=common.Reporting.of(args, stdout, stderr),
        feature_base=args.feature_base,
        side_libs=(tuple(args.old_lib), tuple(args.new_lib)),
        options=common.options_from(args),
    )


def exit_status(report: Report) -> int:
    """0 nothing but information (additions, configuration); 4 the ABI or API changed (a
    finding that is a break, a warning or compatible); | 8 when the full or the stable ABI
    broke."""
    from abidiff.rules import StableVerdict, Verdict

    status = common.findings_status(report.changes) & EXIT_ABI_CHANGE
    if report.verdict == Verdict.ABI_BREAKING or report.stable_abi_verdict == StableVerdict.BROKEN:
        status |= EXIT_ABI_CHANGE | EXIT_ABI_INCOMPATIBLE
    return status


def _snapshots(
    specs: Sequence[str], options: BuildOptions | None, side_libs: tuple[tuple[str, ...], tuple[str, ...]]
) -> list[Snapshot]:
    """The snapshots of ``specs`` (OLD, NEW, maybe the feature base); ``side_libs``: the
    binaries of --old-lib and --new-lib, added to one side each."""
    from dataclasses import replace

    from abidiff.builder import snapshots_of

    if not any(side_libs):
        return snapshots_of(specs, options)
    given = options or BuildOptions()
    found = [
        snapshots_of((spec,), replace(given, libs=(*given.libs, *libs)))[0]
        for spec, libs in zip(specs[:2], side_libs, strict=True)
    ]
    return found + (snapshots_of(specs[2:], options) if len(specs) > 2 else [])


def compare_main(
    old_spec: str,
    new_spec: str,
    *,
    reporting: common.Reporting,
    feature_base: str | None = None,
    side_libs: tuple[tuple[str, ...], tuple[str, ...]] = ((), ()),
    today: datetime.date | None = None,
    options: BuildOptions | None = None,
) -> int:
    """Run ``abidiff OLD NEW`` and return the exit-status bits.

    ``reporting``: where the report goes and in what form (see
    :class:`~abidiff.commands.common.Reporting`).  Errors are raised as
    :class:`~abidiff.errors.AbidiffError` for the CLI to render.
    """
    inputs = (old_spec, new_spec, feature_base, *common.build_inputs(options), *side_libs[0], *side_libs[1])
    entries = reporting.prepare(FORMATS, inputs)
    from abidiff import reportcache
    from abidiff.builder import resolving_once
    from abidiff.rules import Report

    with resolving_once():
        key = (
            None
            if any(side_libs)
            else _report_key(old_spec, new_spec, feature_base, reporting.suppressions, today, options)
        )
        found = reportcache.find(
            REPORT_KIND, key, Report, options, still=lambda made_from: base.still_the_default_base(made_from, options)
        )
        if found is not None:
            report, rendered = found.report, {"json": found.json_text}
        else:
            rendered = {}
            report, made_from = _report(old_spec, new_spec, entries, feature_base, side_libs, today, options)
            if made_from is not None:
                reportcache.store(REPORT_KIND, key, report, options, made_from)
    reporting.deliver(report, inputs, rendered=rendered)
    return exit_status(report)


def _report(
    old_spec: str,
    new_spec: str,
    entries: tuple[object, ...],
    feature_base: str | None,
    side_libs: tuple[tuple[str, ...], tuple[str, ...]],
    today: datetime.date | None,
    options: BuildOptions | None,
) -> tuple[Report, dict[str, str | None] | None]:
    """The comparison, made from the snapshots, and what it was made from beyond its cache
    key (see :func:`~abidiff.commands.base.still_the_default_base`; None: not to be kept)."""
    from abidiff.builder import snapshots_of
    from abidiff.compare import compare
    from abidiff.report.console import progress

    explicit = feature_base not in (None, base.NONE)
    specs = (old_spec, new_spec, *((feature_base,) if explicit and feature_base else ()))
    with progress(f"reading {' and '.join(specs)}"):
        old, new, *rest = _snapshots(specs, options, side_libs)
    base_snapshot = rest[0] if rest else None
    made_from: dict[str, str | None] | None = base.NO_DEFAULT_BASE
    if not explicit:
        base_spec = base.default_spec(feature_base, (old_spec, new_spec), new.build, options)
        if base_spec is not None:
            with progress(f"reading the feature base {base_spec}"):
                (base_snapshot,) = snapshots_of((base_spec,), options)
        if base.uses_default(feature_base, (old_spec, new_spec)):
            made_from = base.default_base_made_from(base_spec, new.build, options)
    return compare(old, new, entries, today=today, feature_base=base_snapshot), made_from


# -- the cache of comparisons (abidiff.reportcache) ----------------------------------------------

REPORT_KIND = "compare"  # artifacts/compare/<key>/ in the snapshot cache


def _report_key(
    old_spec: str,
    new_spec: str,
    feature_base: str | None,
    suppressions: str | None,
    today: datetime.date | None,
    options: BuildOptions | None,
) -> str | None:
    """The cache key of the comparison, when its snapshots' keys are known before they are
    read: the builds as given and their snapshot keys, the feature base's (a default one is
    checked when the report is found), the suppressions and their date, abidiff's code."""
    from abidiff.builder import snapshot_keys
    from abidiff.reportcache import report_key

    explicit = feature_base not in (None, base.NONE)
    specs = (old_spec, new_spec, *((feature_base,) if explicit and feature_base else ()))
    keys = snapshot_keys(specs, options)
    parts = [f"build {spec}\0{key}" if key else None for spec, key in zip(specs, keys, strict=True)]
    if base.uses_default(feature_base, (old_spec, new_spec)):
        parts.append("the default feature base")
    elif not explicit:
        parts.append("no feature base")
    return report_key(REPORT_KIND, parts, suppressions, today)
