"""``abidiff ext EXT_OR_WHEEL``: what an extension module or the extensions of a wheel import
from CPython, judged against the stable ABI, one build (``--against``) and the breaks
between two (``--between``); the exit-status bits of the findings."""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from typing import TextIO

from abidiff.commands import common
from abidiff.errors import UsageError
from abidiff.options import BuildOptions

NAME = "ext"


def formats() -> tuple[tuple[str, str], ...]:
    """(name, help) of the report formats of an extension audit: the registry's."""
    from abidiff.report.registry import formats as registered
    from abidiff.rules import ExtReport

    return tuple((fmt.name, fmt.help) for fmt in registered(ExtReport))


_ABI3_VERSION = re.compile(r"3\.\d{1,3}")


def abi3_version(value: str) -> str:
    """``--abi3 3.X``: a Python 3 feature version, checked before anything else runs."""
    if _ABI3_VERSION.fullmatch(value) is None:
        shown = value if len(value) <= 20 else value[:20] + "..."
        raise UsageError(
            f"--abi3 takes a version such as 3.9, not {shown!r}",
            hint="give the Python 3 version the module is built for: '--abi3 3.9'",
        )
    return value


def _abi3_argument(value: str) -> str:
    try:
        return abi3_version(value)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(exc.message.removeprefix("--abi3 ")) from None


def configure(subparsers: common.Subparsers, parents: Sequence[argparse.ArgumentParser]) -> None:
    parser = common.add_command(
        subparsers,
        NAME,
        summary="audit what an extension module or wheel imports from CPython",
        description="List the CPython symbols an extension module (.so, .pyd, .dylib) or every "
        "extension of a wheel imports; check abi3 extensions against the stable ABI of their tag; "
        "with --against BUILD, what that build does not export; with --between OLD NEW, which ABI "
        "breaks between two builds touch it.",
        parents=parents,
    )
    parser.add_argument("path", metavar="EXT_OR_WHEEL", help="an extension module or a wheel")
    parser.add_argument("--against", metavar="BUILD", help="the build it must load into")
    parser.add_argument(
        "--between", nargs=2, metavar=("OLD", "NEW"), help="the builds whose ABI breaks to check it against"
    )
    parser.add_argument("--abi3", metavar="3.X", type=_abi3_argument, help="audit a bare module as abi3 for 3.X")
    common.add_report_format(parser, formats)
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="text and markdown: list every CPython import of every module (by default only a summary "
        "line per module and the findings)",
    )
    common.add_max_chars(parser)
    common.add_output(parser)
    common.add_suppressions(parser)


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    return ext_main(
        args.path,
        against=args.against,
        between=(args.between[0], args.between[1]) if args.between else None,
        abi3=args.abi3,
        fmt=args.format,
        output=args.output,
        suppressions=args.suppressions,
        stdout=stdout,
        stderr=stderr,
        options=common.options_from(args),
        verbose=args.verbose,
        max_chars=args.max_chars,
        full_report=args.full_report,
    )


def ext_main(
    path: str,
    *,
    against: str | None = None,
    between: tuple[str, str] | None = None,
    abi3: str | None = None,
    fmt: str = "text",
    output: str | None = None,
    suppressions: str | None = None,
    stdout: TextIO,
    stderr: TextIO,
    options: BuildOptions | None = None,
    verbose: bool = False,
    max_chars: int | None = None,
    full_report: str | None = None,
) -> int:
    """Run ``abidiff ext EXT_OR_WHEEL`` and return the exit-status bits.

    ``abi3`` (``--abi3 3.X``) audits a bare extension file as abi3 for 3.X when its name
    does not say so.  Every build (``against``, both of ``between``) is read with
    ``options``.  The report goes to ``stdout`` or, with ``output``, atomically to that file.
    """
    names = [name for name, _help in formats()]
    if fmt not in names:
        raise UsageError(f"unknown report format '{fmt}' (choose from {', '.join(names)})")
    if abi3 is not None:
        abi3_version(abi3)
    from abidiff.builder import snapshots_of
    from abidiff.ext import check_between, check_build, examine_input, shipped_truth, snapshot_truth
    from abidiff.report.console import progress
    from abidiff.report.registry import render
    from abidiff.rules import compare, ext_report
    from abidiff.rules.reports import importer_breaks

    inputs = common.refuse_output_clash(
        output, (path, against, suppressions, *(between or ()), *common.build_inputs(options))
    )
    entries = common.load_suppressions(suppressions)
    specs = ([against] if against is not None else []) + (list(between) if between is not None else [])
    snapshots = []
    if specs:
        with progress(f"reading {' and '.join(specs)}"):
            snapshots = snapshots_of(specs, options)
    snapshot = snapshots.pop(0) if against is not None else None
    truth = snapshot_truth(snapshot) if snapshot is not None else shipped_truth()
    examined = examine_input(path, truth, abi3)
    changes = list(examined.changes)
    if snapshot is not None:
        changes += check_build(examined.extensions, snapshot, truth)
    pair = None
    if between is not None:
        pair = (snapshots[0], snapshots[1])
        breaks = importer_breaks(compare(pair[0], pair[1]))
        changes += check_between(examined.extensions, breaks, pair[0].build.version, pair[1].build.version, truth)
    report = ext_report(
        path, examined, changes, truth_source=truth.source, build=snapshot, between=pair, suppressions=entries
    )
    common.warn_suppressions(report.suppression_warnings, fmt, output, stderr)
    text = render(report, fmt, verbose=verbose, max_chars=max_chars, full_report=full_report)
    common.write_report(text, output, stdout, inputs=inputs)
    return common.findings_status(report.changes)
