"""``abidiff compare OLD NEW`` (and the shorthand ``abidiff OLD NEW``): both snapshots, the
report of :func:`abidiff.compare.compare`, rendered; the exit-status bits of the report."""

from __future__ import annotations

import argparse
import datetime
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from abidiff.commands import common
from abidiff.commands.base import NONE, add_feature_base, default_spec
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
    add_feature_base(parser)
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
    base = options or BuildOptions()
    found = [
        snapshots_of((spec,), replace(base, libs=(*base.libs, *libs)))[0]
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
    from abidiff.builder import snapshots_of
    from abidiff.compare import compare
    from abidiff.report.console import progress

    explicit = feature_base not in (None, NONE)
    specs = (old_spec, new_spec, *((feature_base,) if explicit and feature_base else ()))
    with progress(f"reading {' and '.join(specs)}"):
        old, new, *rest = _snapshots(specs, options, side_libs)
    base_snapshot = rest[0] if rest else None
    if not explicit:
        base_spec = default_spec(feature_base, (old_spec, new_spec), new.build, options)
        if base_spec is not None:
            with progress(f"reading the feature base {base_spec}"):
                (base_snapshot,) = snapshots_of((base_spec,), options)
    report = compare(old, new, entries, today=today, feature_base=base_snapshot)
    reporting.deliver(report, inputs)
    return exit_status(report)
