"""``abidiff series BUILD BUILD [BUILD ...]``: a release series, each release judged against the
one before it and named as PEP 605 would name it (:mod:`abidiff.series`).

Builds are any build specs, in release order; in a CPython checkout also a range of release
tags (``v3.13.0a1..v3.13.0rc1``, in version order) or ``--tags GLOB``.  Every snapshot of the
series (and of its feature base) is made in one pool and cached: N builds cost N snapshots
and N-1 comparisons.  Exit status: the bits of the worst pair (4 a change, 8 a break), and of
the series' own findings (ABI901 a break, ABI902 a warning).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import itertools
import os
import re
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, TextIO

from abidiff.commands import common
from abidiff.commands.base import (
    NO_DEFAULT_BASE,
    NONE,
    add_feature_base,
    default_base_made_from,
    default_spec,
    has_tag,
    still_the_default_base,
    uses_default,
)
from abidiff.errors import UsageError
from abidiff.options import BuildOptions

if TYPE_CHECKING:
    from abidiff.rules import BuildIdentity
    from abidiff.series import SeriesReport

NAME = "series"
FORMATS = common.ReportFormats("abidiff.series:SeriesReport")


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("builds", metavar="BUILD", nargs="*", help="the builds in release order, or a tag range A..B")
    parser.add_argument("--tags", metavar="GLOB", help="the release tags matching GLOB ('v3.13.0*'), in version order")
    common.add_report_options(parser, FORMATS, capped=False)
    add_feature_base(parser)


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    reporting = common.Reporting.of(args, stdout, stderr)
    return series_main(
        args.builds,
        tags=args.tags,
        feature_base=args.feature_base,
        reporting=reporting,
        options=common.options_from(args),
    )


def expand(builds: Sequence[str], tags: str | None, repo: str | None) -> tuple[str, ...]:
    """The build specs of the series: ``builds`` with each tag range ``A..B`` replaced by its
    tags, or the tags matching ``tags``."""
    from abidiff.sources.gitref.tags import is_tag_range, tag_range, tags_matching

    if tags is not None and builds:
        raise UsageError("give the builds of the series or --tags GLOB, not both")
    if tags is not None:
        specs = tags_matching(tags, repo)
    else:
        specs = tuple(
            item
            for spec in builds
            for item in (tag_range(spec, repo) if is_tag_range(spec) and not os.path.lexists(spec) else (spec,))
        )
    if len(specs) < 2:
        found = "no build" if not specs else f"only {specs[0].removeprefix('git:')}"
        raise UsageError(
            f"a series needs at least two builds ({found})",
            hint="give two builds or more, a tag range such as v3.13.0a1..v3.13.0rc1, or --tags GLOB",
        )
    return specs


def exit_status(report: SeriesReport) -> int:
    """The bits of the worst pair: 4 a change (not counting information), | 8 a break of the
    full or the stable ABI; and of the series' own findings (ABI901 is a break)."""
    from abidiff.errors import EXIT_ABI_CHANGE, EXIT_ABI_INCOMPATIBLE
    from abidiff.rules import StableVerdict, Verdict

    status = 0
    for release in report.releases:
        changed = any(count for severity, count in release.severity_counts.items() if severity != "info")
        if changed:
            status |= EXIT_ABI_CHANGE
        if release.verdict == Verdict.ABI_BREAKING or release.stable_abi_verdict == StableVerdict.BROKEN:
            status |= EXIT_ABI_CHANGE | EXIT_ABI_INCOMPATIBLE
        status |= common.findings_status(release.findings)
    return status


def _early_base(given: str | None, specs: tuple[str, ...], options: BuildOptions | None) -> str | None:
    """The feature base, when it is known before any snapshot is made (so that it is made in
    the same pool): the one given, or for release tags the previous feature release's tag."""
    from abidiff.sources.gitref.tags import release_tag

    if given is not None:
        return None if given == NONE else given
    if not uses_default(given, specs):
        return None
    last = release_tag(specs[-1].removeprefix("git:"))
    if last is None or last.key[1] == 0:
        return None
    tag = f"v{last.key[0]}.{last.key[1] - 1}.0"
    return tag if has_tag(tag, options.repo if options else None) else None


@contextlib.contextmanager
def _progress(specs: Sequence[str], stderr: TextIO) -> Iterator[Callable[[str], None]]:
    """A progress bar on stderr (a terminal only) while the snapshots are made: which build
    is ready, how many are left."""
    if not stderr.isatty() or os.environ.get("ABIDIFF_NO_PROGRESS"):
        yield lambda spec: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from abidiff.report.console import stderr_console

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=stderr_console(), transient=True) as bar:
        task = bar.add_task(f"snapshots of {len(specs)} builds", total=len(specs))

        def ready(spec: str) -> None:
            bar.advance(task)
            left = len(specs) - int(bar.tasks[0].completed)
            bar.update(task, description=f"{spec.removeprefix('git:')} ready; {left} left")

        yield ready


def series_main(
    builds: Sequence[str],
    *,
    reporting: common.Reporting,
    tags: str | None = None,
    feature_base: str | None = None,
    today: datetime.date | None = None,
    options: BuildOptions | None = None,
) -> int:
    """Run ``abidiff series`` and return the exit-status bits; ``reporting``: where the
    report goes and in what form."""
    inputs = (*builds, feature_base, *common.build_inputs(options))
    entries = reporting.prepare(FORMATS, inputs)
    from abidiff.builder import resolving_once

    repo = options.repo if options else None
    specs = tuple(dict.fromkeys(expand(builds, tags, repo)))
    if len(specs) < 2:
        raise UsageError("a series needs at least two different builds", hint="give two builds or more")
    with resolving_once():
        report = _series_report(specs, feature_base, entries, reporting, today, options)
    _warn_order(report, reporting.stderr)
    reporting.deliver(report, inputs)
    return exit_status(report)


def _series_report(
    specs: tuple[str, ...],
    feature_base: str | None,
    entries: tuple[object, ...],
    reporting: common.Reporting,
    today: datetime.date | None,
    options: BuildOptions | None,
) -> SeriesReport:
    """The series' report: the cached one, else made from the snapshots (and kept)."""
    from abidiff import reportcache
    from abidiff.builder import snapshots_of
    from abidiff.report.console import progress
    from abidiff.series import SeriesReport, series

    base_spec = _early_base(feature_base, specs, options)
    wanted = specs + ((base_spec,) if base_spec is not None and base_spec not in specs else ())
    # the default of git refs, known only from the last release's snapshot (checked when found)
    default = base_spec is None and uses_default(feature_base, specs)
    key = _report_key(specs, wanted, base_spec, default, reporting.suppressions, today, options)
    found = reportcache.find(
        REPORT_KIND, key, SeriesReport, options, still=lambda made_from: still_the_default_base(made_from, options)
    )
    if found is not None:
        return found.report
    with _progress(wanted, reporting.stderr) as ready:
        made = dict(zip(wanted, snapshots_of(wanted, options, ready=ready), strict=True))
    snapshots = [made[spec] for spec in specs]
    made_from: dict[str, str | None] | None = NO_DEFAULT_BASE
    if default:
        base_spec = default_spec(None, specs, snapshots[-1].build, options)
        if base_spec is not None:
            with _progress((base_spec,), reporting.stderr) as ready:
                made[base_spec] = snapshots_of((base_spec,), options, ready=ready)[0]
        made_from = default_base_made_from(base_spec, snapshots[-1].build, options)
    base = made.get(base_spec) if base_spec else None
    with progress(f"comparing {len(snapshots) - 1} pairs of releases"):
        report = series(snapshots, entries, feature_base=base, today=today)
    if made_from is not None:
        reportcache.store(REPORT_KIND, key, report, options, made_from)
    return report


def _warn_order(report: SeriesReport, stderr: TextIO) -> None:
    """A series is judged in the order given: say so when the versions go backwards."""
    for before, after in itertools.pairwise(report.releases):
        if _order(after.build) < _order(before.build):
            stderr.write(
                f"abidiff: warning: {after.name} comes after {before.name} in the series: "
                "each build is judged against the one given before it\n"
            )


_LEVEL_ORDER = {"alpha": 0, "beta": 1, "candidate": 2, "final": 3}


def _order(build: BuildIdentity) -> tuple[int, ...]:
    numbers = [int(part) for part in re.findall(r"\d+", build.version)[:3]]
    return (*numbers, _LEVEL_ORDER.get(build.release_level, 3), build.release_serial)


# -- the cache of series reports ---------------------------------------------------------------

REPORT_KIND = "series"  # artifacts/series/<key>/ in the snapshot cache (abidiff.reportcache)


def _report_key(
    specs: tuple[str, ...],
    wanted: tuple[str, ...],
    base_spec: str | None,
    default: bool,
    suppressions: str | None,
    today: datetime.date | None,
    options: BuildOptions | None,
) -> str | None:
    """The cache key of the series' report, when what it is made from is known before any
    snapshot is read: each release as given and its snapshot key, in order, the feature base's
    (``default``: the default of git refs, checked when the report is found), the suppressions
    (and the date, which decides their expiry), abidiff's own code.  None: make the report."""
    from abidiff.builder import snapshot_keys
    from abidiff.reportcache import report_key

    keys = dict(zip(wanted, snapshot_keys(wanted, options), strict=True))
    # each build as given too: a snapshot cached by commit says the name it was asked by (its origin)
    parts = [f"release {spec}\0{keys[spec]}" if keys[spec] else None for spec in specs]
    if base_spec is not None:
        parts.append(f"base {base_spec}\0{keys[base_spec]}" if keys[base_spec] else None)
    else:
        parts.append("the default feature base" if default else "no base")
    return report_key(REPORT_KIND, parts, suppressions, today)
