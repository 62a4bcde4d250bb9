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
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, TextIO

from abidiff.commands import common
from abidiff.commands.base import NONE, add_feature_base, default_spec, has_tag
from abidiff.errors import UsageError
from abidiff.options import BuildOptions

if TYPE_CHECKING:
    from abidiff.model import Snapshot
    from abidiff.series import SeriesReport

NAME = "series"
FORMATS = ("text", "json", "markdown", "news", "html")


def configure(subparsers: common.Subparsers, parents: Sequence[argparse.ArgumentParser]) -> None:
    parser = common.add_command(
        subparsers,
        NAME,
        summary="judge and name every release of a series (PEP 605)",
        description="Judge each build against the one before it, in the order given, and name each "
        "release as PEP 605 would: aN when it breaks the full ABI of its predecessor, else bN; release "
        "candidates freeze the ABI. Builds are any build specs; in a CPython checkout also a range of "
        "release tags (v3.13.0a1..v3.13.0rc1: every vX.Y.0 pre-release or final tag between the two, "
        "in version order) or --tags GLOB. The report goes to stdout (or -o FILE); progress to stderr.",
        parents=parents,
    )
    parser.add_argument("builds", metavar="BUILD", nargs="*", help="the builds in release order, or a tag range A..B")
    parser.add_argument("--tags", metavar="GLOB", help="the release tags matching GLOB ('v3.13.0*'), in version order")
    common.add_format(
        parser,
        FORMATS,
        "text (a table and the release notes; the default), json (versioned, schema in the package), "
        "markdown, news (PEP 605's release notes), html (one self-contained page with a timeline)",
    )
    common.add_output(parser)
    common.add_suppressions(parser)
    add_feature_base(parser)


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    return series_main(
        args.builds,
        tags=args.tags,
        fmt=args.format,
        output=args.output,
        suppressions=args.suppressions,
        feature_base=args.feature_base,
        stdout=stdout,
        stderr=stderr,
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
    tags: str | None = None,
    fmt: str = "text",
    output: str | None = None,
    suppressions: str | None = None,
    feature_base: str | None = None,
    stdout: TextIO,
    stderr: TextIO,
    today: datetime.date | None = None,
    options: BuildOptions | None = None,
) -> int:
    """Run ``abidiff series`` and return the exit-status bits."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown report format '{fmt}' (choose from {', '.join(FORMATS)})")
    from abidiff.builder import snapshots_of
    from abidiff.report.console import progress
    from abidiff.report.registry import render
    from abidiff.series import series

    repo = options.repo if options else None
    inputs = common.refuse_output_clash(output, (*builds, feature_base, suppressions, *common.build_inputs(options)))
    entries = common.load_suppressions(suppressions)
    specs = tuple(dict.fromkeys(expand(builds, tags, repo)))
    if len(specs) < 2:
        raise UsageError("a series needs at least two different builds", hint="give two builds or more")
    base_spec = _early_base(feature_base, specs, options)
    wanted = specs + ((base_spec,) if base_spec is not None and base_spec not in specs else ())
    with _progress(wanted, stderr) as ready:
        made = dict(zip(wanted, snapshots_of(wanted, options, ready=ready), strict=True))
    snapshots = [made[spec] for spec in specs]
    if feature_base is None and base_spec is None:  # the default of a comparison of git refs
        base_spec = default_spec(None, specs, snapshots[-1].build, options)
        if base_spec is not None:
            with _progress((base_spec,), stderr) as ready:
                made[base_spec] = snapshots_of((base_spec,), options, ready=ready)[0]
    _warn_order(snapshots, stderr)
    with progress(f"comparing {len(snapshots) - 1} pairs of releases"):
        report = series(snapshots, entries, feature_base=made.get(base_spec) if base_spec else None, today=today)
    rich_text = fmt == "text" and common.to_stdout(output) and stdout.isatty()
    common.warn_suppressions(report.suppression_warnings, fmt, output, stderr)
    if rich_text:
        from abidiff.report.console import make_console
        from abidiff.report.series import render as render_terminal

        with common.writing(stdout):
            render_terminal(report, make_console(file=stdout))
    else:
        common.write_report(render(report, fmt), output, stdout, inputs=inputs)
    return exit_status(report)


def _warn_order(snapshots: Sequence[Snapshot], stderr: TextIO) -> None:
    """A series is judged in the order given: say so when the versions go backwards."""
    builds = [item.build for item in snapshots]
    for before, after in itertools.pairwise(builds):
        if after.hexversion < before.hexversion:
            stderr.write(
                f"abidiff: warning: {after.version} comes after {before.version} in the series: "
                "each build is judged against the one given before it\n"
            )
