"""``abidiff dump BUILD``: the snapshot of one build, as versioned JSON."""

from __future__ import annotations

import argparse
from typing import TextIO

from abidiff.commands import common
from abidiff.errors import EXIT_OK

NAME = "dump"


def arguments(parser: argparse.ArgumentParser) -> None:
    common.add_build(parser, "interpreter, prefix, include directory, libpython, snapshot or git ref")
    common.add_output(parser, "the snapshot")


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from abidiff import snapshot
    from abidiff.builder import snapshot_of
    from abidiff.report.console import progress

    options = common.options_from(args)
    inputs = common.refuse_output_clash(args.output, (args.spec, *common.build_inputs(options)))
    with progress(f"reading {args.spec}"):
        snap = snapshot_of(args.spec, options)
    common.write_report(snapshot.dumps(snap), args.output, stdout, inputs=inputs)
    return EXIT_OK
