"""The command line: argparse, sub-commands, and the only place that decides the exit status.

``main()`` wraps ``main_inner()``: every :class:`~abidiff.errors.AbidiffError` becomes a
one-line message with a hint on stderr and its exit status; nothing prints a traceback.
Heavy modules (libclang, the binary readers) are imported inside the sub-commands so that
``--help`` is instant.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from typing import NoReturn, TextIO

from abidiff import __version__
from abidiff.errors import EXIT_ERROR, EXIT_OK, EXIT_USAGE, AbidiffError, UsageError

COMMANDS = ("compare", "dump", "symbols")

_DESCRIPTION = """\
Tell whether the C ABI of CPython broke between two builds, and how.

  abidiff OLD NEW            compare two builds (same as 'abidiff compare OLD NEW')
  abidiff dump BUILD         write the snapshot of one build as JSON

A BUILD is a Python interpreter (path or name on PATH), an installed prefix, an include
directory holding Python.h, a libpython, or a snapshot file written by 'abidiff dump'.
"""

_EPILOG = """\
exit status (a bit field, as libabigail's abidiff):
  0  no change / success      1  error (bad input, failed tool)     2  usage error
  4  the ABI changed          8  incompatible change (full ABI or stable ABI broke)
  130 interrupted (SIGINT)
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message, hint=f"see '{self.prog} --help'")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="abidiff",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"abidiff {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    compare = sub.add_parser(
        "compare",
        help="compare two builds (the default command: 'abidiff OLD NEW')",
        description="Compare two builds: did the full C ABI break (a PEP 605 alpha) or not (a beta), "
        "and did the stable ABI break? Human report on stderr; --format json|markdown|news on stdout or -o.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    compare.add_argument("old", metavar="OLD", help="the older build")
    compare.add_argument("new", metavar="NEW", help="the newer build")
    compare.add_argument(
        "--format",
        choices=("text", "json", "markdown", "news"),
        default="text",
        help="text (rich, on stderr; default), json (versioned, schema in the package), markdown "
        "(a PR comment or CI step summary), news (PEP 605 release-note text)",
    )
    compare.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE (atomically)")
    compare.add_argument(
        "--suppressions", metavar="FILE", help="TOML file of suppressions (rule id, entity glob, reason, expiry)"
    )

    dump = sub.add_parser(
        "dump",
        help="write the snapshot of one build as JSON",
        description="Write the snapshot of one build (its C API from the headers, and its exports) as versioned JSON.",
    )
    dump.add_argument("build", metavar="BUILD", help="interpreter, prefix, include directory, libpython or snapshot")
    dump.add_argument("-o", "--output", metavar="FILE", help="write to FILE (atomically) instead of stdout")

    return parser


def _normalise_argv(argv: list[str]) -> list[str]:
    """``abidiff OLD NEW`` is ``abidiff compare OLD NEW``."""
    for index, arg in enumerate(argv):
        if arg.startswith("-"):
            if arg in ("-h", "--help", "--version"):
                return argv
            continue
        if arg not in COMMANDS:
            return [*argv[:index], "compare", *argv[index:]]
        return argv
    return argv


def _write_output(text: str, output: str | None, stdout: TextIO) -> None:
    if output is None or output == "-":
        stdout.write(text)
        stdout.flush()
        return
    from abidiff.snapshot import write_atomic

    try:
        write_atomic(output, text)
    except OSError as exc:
        raise AbidiffError(
            f"cannot write {output}: {exc.strerror}", hint="check the directory exists and is writable"
        ) from exc


def _cmd_dump(args: argparse.Namespace, stdout: TextIO) -> int:
    from abidiff import snapshot
    from abidiff.builder import snapshot_of
    from abidiff.report.console import progress

    with progress(f"reading {args.build}"):
        snap = snapshot_of(args.build)
    _write_output(snapshot.dumps(snap), args.output, stdout)
    return EXIT_OK


def _cmd_compare(args: argparse.Namespace, stdout: TextIO) -> int:
    from abidiff.compare import compare_main

    return compare_main(
        args.old,
        args.new,
        fmt=args.format,
        output=args.output,
        suppressions=args.suppressions,
        stdout=stdout,
        stderr=sys.stderr,
    )


def main_inner(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    stdout = stdout if stdout is not None else sys.stdout
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(_normalise_argv(arguments))
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    handler = {"dump": _cmd_dump, "compare": _cmd_compare}.get(args.command)
    if handler is None:
        raise UsageError(f"the command '{args.command}' is not available yet")
    return handler(args, stdout)


def render_error(error: AbidiffError, stream: TextIO) -> None:
    lines = [f"abidiff: error: {error.message}"]
    lines += [f"  {detail}" for detail in error.details[1:]] if len(error.details) > 1 else []
    if error.hint:
        lines.append(f"abidiff: hint: {error.hint}")
    stream.write("\n".join(lines) + "\n")
    stream.flush()


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return main_inner(argv)
    except AbidiffError as error:
        render_error(error, sys.stderr)
        return error.exit_status
    except KeyboardInterrupt:
        sys.stderr.write("abidiff: interrupted\n")
        return 128 + signal.SIGINT
    except BrokenPipeError:
        # the reader of our output went away (abidiff ... | head): not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.dup2(devnull, sys.stderr.fileno())
        return EXIT_OK
    except Exception as exc:  # the last line of defence: a bug of ours
        if os.environ.get("ABIDIFF_DEBUG"):
            raise
        sys.stderr.write(
            f"abidiff: internal error: {type(exc).__name__}: {exc}\n"
            "abidiff: hint: this is a bug in abidiff; run again with ABIDIFF_DEBUG=1 for the traceback and report it\n"
        )
        return EXIT_ERROR
    except SystemExit as exc:  # argparse's --help and --version
        return int(exc.code or 0) if isinstance(exc.code, int) or exc.code is None else EXIT_ERROR


__all__ = ["EXIT_ERROR", "main", "main_inner"]
