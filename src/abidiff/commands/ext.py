"""``abidiff ext EXT_OR_WHEEL...``: what extension modules or the extensions of a wheel import
from CPython, judged against the stable ABI, one build (``--against``) and the breaks
between two (``--between``); the exit-status bits of the findings."""

from __future__ import annotations

import argparse
import os
import re
import shutil
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from abidiff.commands import common
from abidiff.errors import UsageError
from abidiff.options import BuildOptions

if TYPE_CHECKING:
    from abidiff.changes import Change
    from abidiff.ext_source import Headers
    from abidiff.rules import Report
    from abidiff.rules.reports import SourceAudit

NAME = "ext"
FORMATS = common.ReportFormats("abidiff.rules:ExtReport")


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


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        metavar="EXT_OR_WHEEL",
        nargs="*",
        help="extension modules, or a wheel (optional with --source)",
    )
    parser.add_argument(
        "--source",
        nargs="+",
        metavar="PATH",
        help="the extension's own sources (C/C++ files, a directory, a compile_commands.json or an sdist), "
        "parsed against OLD's headers: every place that uses an entity broken between OLD and NEW "
        "(needs --between or --report)",
    )
    parser.add_argument(
        "--report",
        metavar="FILE",
        dest="comparison",
        help="instead of --between: a comparison written by 'abidiff OLD NEW --format json'",
    )
    parser.add_argument("--against", metavar="BUILD", help="the build it must load into")
    parser.add_argument(
        "--between", nargs=2, metavar=("OLD", "NEW"), help="the builds whose ABI breaks to check it against"
    )
    parser.add_argument("--abi3", metavar="3.X", type=_abi3_argument, help="audit a bare module as abi3 for 3.X")
    common.add_report_options(parser, FORMATS)
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="text and markdown: list every CPython import of every module (by default only a summary "
        "line per module and the findings)",
    )


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    return ext_main(
        tuple(args.paths),
        source=tuple(args.source or ()),
        comparison=args.comparison,
        against=args.against,
        between=(args.between[0], args.between[1]) if args.between else None,
        abi3=args.abi3,
        reporting=common.Reporting.of(args, stdout, stderr),
        options=common.options_from(args),
    )


def ext_main(
    path: str | Sequence[str] | None,
    *,
    source: tuple[str, ...] = (),
    comparison: str | None = None,
    against: str | None = None,
    between: tuple[str, str] | None = None,
    abi3: str | None = None,
    reporting: common.Reporting,
    options: BuildOptions | None = None,
) -> int:
    """Run ``abidiff ext EXT_OR_WHEEL...`` and return the exit-status bits.

    ``path``: an extension module or a wheel, or several extension modules.  ``abi3``
    (``--abi3 3.X``) audits a bare extension file as abi3 for 3.X when its name
    does not say so.  Every build (``against``, both of ``between``) is read with
    ``options``.  ``reporting``: where the report goes and in what form.
    """
    FORMATS.check(reporting.fmt)
    paths = tuple(dict.fromkeys((path,) if isinstance(path, str) else (path or ())))  # each once, in order
    _check_inputs(paths, source, between, comparison)
    if abi3 is not None:
        abi3_version(abi3)
    from abidiff.builder import snapshots_of
    from abidiff.ext import (
        Examined,
        check_between,
        check_build,
        examine_inputs,
        input_kinds,
        shipped_truth,
        snapshot_truth,
    )
    from abidiff.ext_source import origin_spec
    from abidiff.report.console import progress
    from abidiff.rules import compare, ext_report
    from abidiff.rules.reports import importer_breaks

    input_kinds(paths)  # a bad input is said before any build is read
    inputs = (*paths, against, comparison, *source, *(between or ()), *common.build_inputs(options))
    entries = reporting.prepare(FORMATS, inputs)
    specs = ([against] if against is not None else []) + (list(between) if between is not None else [])
    snapshots = []
    if specs:
        with progress(f"reading {' and '.join(specs)}"):
            snapshots = snapshots_of(specs, options)
    snapshot = snapshots.pop(0) if against is not None else None
    truth = snapshot_truth(snapshot) if snapshot is not None else shipped_truth()
    examined = examine_inputs(paths, truth, abi3) if paths else Examined(wheel=None, extensions=(), changes=())
    changes = list(examined.changes)
    if snapshot is not None:
        changes += check_build(examined.extensions, snapshot, truth)
    pair = None
    compared = None
    if between is not None:
        pair = (snapshots[0], snapshots[1])
        compared = compare(pair[0], pair[1])
    elif comparison is not None:
        compared = load_comparison(comparison)
    audit = None
    if compared is not None:
        breaks = importer_breaks(compared)
        changes += check_between(examined.extensions, breaks, compared.old.version, compared.new.version, truth)
        if source:
            abi3_tag = next((result.abi3_version for result in examined.extensions if result.abi3), None)
            spec = between[0] if between is not None else origin_spec(compared.old.origin)
            found, audit = source_findings(source, compared, spec, options, abi3_tag)
            changes += found
    report = ext_report(
        " ".join(paths or source),
        examined,
        changes,
        truth_source=truth.source,
        build=snapshot,
        between=pair,
        suppressions=entries,
        compared=None if compared is None else (compared.old, compared.new),
        source=audit,
    )
    reporting.deliver(report, inputs)
    return common.findings_status(report.changes)


def _check_inputs(
    paths: tuple[str, ...], source: tuple[str, ...], between: tuple[str, str] | None, comparison: str | None
) -> None:
    if not paths and not source:
        raise UsageError("give extension modules or a wheel, or their sources with --source PATH...")
    for path in paths:
        if not os.path.lexists(path) and shutil.which(path) is not None:
            raise UsageError(
                f"{path} is no file here but a program on PATH: the inputs are extension modules or a wheel",
                hint=f"to check the extensions against that build: --against {path}, or --between OLD NEW",
            )
    if between is not None and comparison is not None:
        raise UsageError("give either --between OLD NEW or --report FILE, not both")
    if source and between is None and comparison is None:
        raise UsageError(
            "--source needs the breaks to look for: --between OLD NEW, or --report FILE",
            hint="abidiff ext --source src/ --between python3.12 python3.13",
        )


def load_comparison(path: str) -> Report:
    """A comparison report written by ``abidiff OLD NEW --format json``."""
    import json

    from abidiff import codec
    from abidiff.errors import InputError
    from abidiff.report.jsonwriter import envelope_of
    from abidiff.rules import Report

    envelope = envelope_of(Report)
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle, parse_int=codec.bounded_int)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the comparison {path}: {exc}", hint=_REPORT_HINT) from exc
    if not isinstance(document, dict) or document.get("schema") != envelope.name:
        raise InputError(f'{path} is not a comparison report (no "schema": "{envelope.name}")', hint=_REPORT_HINT)
    if document.get("schema_version") != envelope.version:
        raise InputError(
            f"{path}: comparison schema version {document.get('schema_version')!r} is not supported: this abidiff "
            f"reads version {envelope.version}",
            hint=_REPORT_HINT,
        )
    body = {key: value for key, value in document.items() if key not in ("schema", "schema_version")}
    try:
        report: Report = codec.decode(Report, body, "$")
    except codec.DecodeError as exc:
        raise InputError(f"{path} is a malformed comparison report: {exc}", hint=_REPORT_HINT) from exc
    return report


_REPORT_HINT = "write it with this abidiff: abidiff OLD NEW --format json -o FILE"


def source_findings(
    source: tuple[str, ...],
    compared: Report,
    old_spec: str | None,
    options: BuildOptions | None,
    abi3_tag: str | None,
) -> tuple[list[Change], SourceAudit]:
    """ABI817 of ``--source``: its files parsed against OLD's headers (those of ``old_spec``,
    unless a compile_commands.json gives the flags)."""
    from abidiff.ext_source import read_sources, source_breaks, source_changes
    from abidiff.report.console import progress
    from abidiff.sourcetree import source_tree

    with source_tree(source, abi3_version=abi3_tag) as tree:
        headers = None if tree.from_compile_commands else old_headers(old_spec, options)
        with progress(f"parsing {len(tree.units)} source file{'s' if len(tree.units) != 1 else ''}"):
            units, audit = read_sources(tree, headers)
        return source_changes(units, source_breaks(compared), tree.shown), audit


def old_headers(spec: str | None, options: BuildOptions | None) -> Headers:
    """OLD's include directories, to parse the sources against."""
    from abidiff.errors import InputError
    from abidiff.ext_source import Headers
    from abidiff.sources import resolve

    hint = "give the extension's compile_commands.json with --source (its flags say which headers)"
    if spec is None:
        raise InputError("the comparison's OLD build is not on this machine (a git ref or a snapshot)", hint=hint)
    resolved = resolve(spec)
    if resolved.include_dir is None:
        raise InputError(f"OLD ({spec}) has no headers to parse the sources against", hint=hint)
    return Headers(include_dir=resolved.include_dir, config_dirs=resolved.config_dirs)
