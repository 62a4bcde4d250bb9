"""``abidiff abi3 BUILD [--against OLD]``: the limited API / stable ABI of one build, audited
by :func:`abidiff.abi3.audit`; the exit-status bits of its findings."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TextIO

from abidiff.commands import common
from abidiff.errors import UsageError
from abidiff.options import BuildOptions

if TYPE_CHECKING:
    from abidiff.model import Build

NAME = "abi3"
FORMATS = common.ReportFormats("abidiff.rules:Abi3Report")


def arguments(parser: argparse.ArgumentParser) -> None:
    common.add_build(parser, "the build to audit")
    parser.add_argument("--against", metavar="OLD", help="the previous build: what it declared and exported")
    parser.add_argument(
        "--manifest",
        metavar="FILE|shipped|none",
        help="the stable ABI manifest to judge by (default: the build's own, else the copy shipped "
        "with abidiff for builds with binaries)",
    )
    common.add_report_options(parser, FORMATS)


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    reporting = common.Reporting.of(args, stdout, stderr)
    return abi3_main(
        args.spec, against=args.against, manifest=args.manifest, reporting=reporting, options=common.options_from(args)
    )


def _check_comparable(build: Build, against: Build) -> None:
    from abidiff.model import version_key

    if version_key(against.feature_version) > version_key(build.feature_version):
        raise UsageError(
            f"--against {against.version} is newer than the build audited ({build.version})",
            hint="give the older release with --against: 'abidiff abi3 NEW --against OLD'",
        )


def abi3_main(
    build_spec: str,
    *,
    reporting: common.Reporting,
    against: str | None = None,
    manifest: str | None = None,
    options: BuildOptions | None = None,
) -> int:
    """Run ``abidiff abi3 BUILD [--against OLD] [--manifest FILE|shipped|none]`` and return
    the exit-status bits.

    ``manifest``: see :func:`abidiff.abi3.choose_manifest`.  ``reporting``: where the report
    goes and in what form.
    """
    inputs = (build_spec, against, manifest, *common.build_inputs(options))
    entries_suppressed = reporting.prepare(FORMATS, inputs)
    from abidiff.abi3 import audit, choose_manifest
    from abidiff.builder import snapshots_of
    from abidiff.report.console import progress
    from abidiff.rules import abi3_report

    old = None
    if against is None:
        with progress(f"reading {build_spec}"):
            (build,) = snapshots_of((build_spec,), options)
    else:
        with progress(f"reading {build_spec} and {against}"):
            build, old = snapshots_of((build_spec, against), options)
        _check_comparable(build.build, old.build)
    entries, source = choose_manifest(build, manifest)
    report = abi3_report(audit(build, old, manifest=entries, manifest_source=source), entries_suppressed)
    reporting.deliver(report, inputs)
    return common.findings_status(report.changes)
