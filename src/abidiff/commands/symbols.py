"""``abidiff symbols FILE``: the exports of one binary (ELF, PE, Mach-O)."""

from __future__ import annotations

import argparse
import os
from typing import TextIO

from abidiff.commands import common
from abidiff.errors import EXIT_OK, InputError

NAME = "symbols"
FORMATS = ("text", "json")


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="a shared library or executable")
    common.add_format(parser, FORMATS, "text (a table) or json")
    common.add_output(parser, "the list")


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from abidiff.binaries import read_binary
    from abidiff.builder import library_role
    from abidiff.report.symbols import render_symbols_json, render_symbols_text

    common.refuse_output_clash(args.output, (args.file,))
    if not os.path.lexists(args.file):
        raise InputError(f"{args.file}: no such file", hint="give the path of a shared library or executable")
    binaries = read_binary(args.file, library_role(args.file))
    text = render_symbols_json(binaries) if args.format == "json" else render_symbols_text(binaries)
    common.write_report(text, args.output, stdout, inputs=(args.file,))
    return EXIT_OK
