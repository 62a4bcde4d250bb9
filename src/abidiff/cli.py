"""The command line: the root parser over the sub-commands of :mod:`abidiff.commands`.

Each command module declares its parser and runs it (I/O, progress, exit status).  This module
only collects them, normalises argv (``abidiff OLD NEW`` is ``abidiff compare OLD NEW``;
options may come before the command name), and wraps :func:`main_inner` in :func:`main`:
every :class:`~abidiff.errors.AbidiffError` becomes a one-line message with a hint on stderr
and its exit status, interrupts exit 130/143, a reader that went away is no error; nothing
prints a traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from typing import TextIO

from abidiff import __version__, interrupts
from abidiff.commands import COMMANDS
from abidiff.commands.common import (
    EXIT_STATUS_EPILOG,
    HelpFormatter,
    Parser,
    add_command,
    build_options_parser,
    closed_stream,
)
from abidiff.errors import EXIT_ERROR, EXIT_OK, EXIT_USAGE, AbidiffError

EXIT_INTERRUPTED = 128 + signal.SIGINT
EXIT_TERMINATED = 128 + signal.SIGTERM
DEFAULT_COMMAND = "compare"

_DESCRIPTION = """\
Tell whether the C ABI of CPython broke between two builds, and how.

  abidiff OLD NEW            compare two builds ('abidiff compare OLD NEW')
  abidiff dump BUILD         write the snapshot of one build as JSON
  abidiff symbols FILE       list the exports of one binary (ELF, PE, Mach-O)
  abidiff abi3 BUILD         audit the limited API / stable ABI of a build
  abidiff ext EXT_OR_WHEEL   audit what an extension or a wheel imports
  abidiff series BUILD...    judge and name every release of a series (PEP 605)
  abidiff cache info|clear   the snapshot cache

A BUILD is a Python interpreter (path or name on PATH), an installed prefix, an include \
directory holding Python.h, a libpython, a snapshot file written by 'abidiff dump', or a git \
ref (tag, branch, sha; 'git:REF' to be explicit) of the CPython repository around the current \
directory or given with --repo.

Options may come anywhere: 'abidiff --repo ~/src/cpython v3.13.0 main' works. Reports go to \
stdout (or -o FILE); progress and diagnostics to stderr. 'abidiff COMMAND --help' shows the \
options of a command.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="abidiff", description=_DESCRIPTION, epilog=EXIT_STATUS_EPILOG, formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"abidiff {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    build_options = build_options_parser()
    for command in COMMANDS:
        add_command(subparsers, command, build_options)
    return parser


# -- argv ------------------------------------------------------------------------------------

_HELP = ("-h", "--help", "--version")


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


GREEDY = -1  # an option that takes every value up to the next option (``--source PATH...``)


def _value_counts(parsers: Sequence[argparse.ArgumentParser]) -> dict[str, int]:
    """How many values each option of ``parsers`` takes (``--between OLD NEW``: 2;
    :data:`GREEDY` for ``nargs="+"``)."""
    counts: dict[str, int] = {}
    for parser in parsers:
        for action in parser._actions:
            nargs = action.nargs
            count = nargs if isinstance(nargs, int) else 1 if nargs is None else GREEDY if nargs == "+" else 0
            for option in action.option_strings:
                counts[option] = count
    return counts


def _values_after(arg: str, counts: dict[str, int]) -> int:
    """How many of the following arguments are the values of option ``arg``."""
    if arg.startswith("--"):
        if "=" in arg:
            return 0
        if arg in counts:
            return counts[arg]
        matches = {count for option, count in counts.items() if option.startswith(arg)}  # an abbreviation
        return matches.pop() if len(matches) == 1 else 0
    if arg[:2] in counts and len(arg) > 2:  # -oFILE
        return 0
    return counts.get(arg, 0)


def _is_option(arg: str) -> bool:
    return arg.startswith("-") and arg != "-"


def _option_end(argv: Sequence[str], index: int, counts: dict[str, int]) -> int:
    """The index after option ``argv[index]`` and its values."""
    values = _values_after(argv[index], counts)
    if values != GREEDY:
        return index + 1 + values
    end = index + 1
    while end < len(argv) and not _is_option(argv[end]):
        end += 1
    return end


def first_positional(argv: Sequence[str], counts: dict[str, int]) -> int | None:
    """The index of the first argument that is neither an option nor an option's value."""
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg == "--":
            return index + 1 if index + 1 < len(argv) else None
        if _is_option(arg):
            index = _option_end(argv, index, counts)
            continue
        return index
    return None


def _positionals_last(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """``argv`` of a command whose positional takes a list (``ext A.so B.so``) with its
    positionals after every option: argparse takes such a list in one run only, so that
    ``abidiff ext a.so --between OLD NEW b.so`` would leave b.so over."""
    listed = any(not action.option_strings and action.nargs in ("*", "+") for action in parser._actions)
    if not listed or "--" in argv:
        return argv
    counts = _value_counts([parser])
    options: list[str] = []
    positionals: list[str] = []
    index = 0
    while index < len(argv):
        if _is_option(argv[index]):
            end = _option_end(argv, index, counts)
            options += argv[index:end]
            index = end
        else:
            positionals.append(argv[index])
            index += 1
    return [*options, *positionals]


def normalise_argv(argv: Sequence[str], parser: argparse.ArgumentParser) -> list[str]:
    """``abidiff [OPTIONS] OLD NEW [OPTIONS]`` is ``abidiff compare ...``; options before a
    command's name go after it (``abidiff --no-cache dump X`` is ``abidiff dump --no-cache X``)."""
    argv = list(argv)
    commands = _subparsers(parser)
    index = first_positional(argv, _value_counts([parser, *commands.values()]))
    if index is None or any(arg in _HELP for arg in argv[:index]):
        return argv  # the root parser: its help, its version, or its usage error
    if argv[index] in commands:
        rest = _positionals_last([*argv[:index], *argv[index + 1 :]], commands[argv[index]])
        return [argv[index], *rest]
    return [DEFAULT_COMMAND, *argv]


# -- main --------------------------------------------------------------------------------------


def main_inner(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    stdout = stdout if stdout is not None else sys.stdout or closed_stream("standard output")
    stderr = stderr if stderr is not None else sys.stderr
    parser = build_parser()
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(normalise_argv(arguments, parser))
    if args.command is None:
        parser.print_help(stderr)
        return EXIT_USAGE
    status: int = args.run(args, stdout, stderr)
    return status


def render_error(error: AbidiffError, stream: TextIO) -> None:
    lines = [f"abidiff: error: {error.message}"]
    lines += [f"  {detail}" for detail in error.details]
    if error.hint:
        lines.append(f"abidiff: hint: {error.hint}")
    stream.write("\n".join(lines) + "\n")
    stream.flush()


def _open_standard_fds() -> None:
    """Point standard file descriptors that were closed at start (``2>&-``) at /dev/null.

    Otherwise the next file abidiff opens would get that number, and what a child process
    (git, the compiler) or a diagnostic writes there would land in it.  A closed stdout
    stays closed for abidiff itself (``sys.stdout`` is None: writing a report to it is an
    error); a closed stderr drops the diagnostics, never the exit status.
    """
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            opened = os.open(os.devnull, os.O_RDWR)
            if opened != fd:  # a lower one was free after all: leave things as they were
                os.close(opened)
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # lives as long as the process


def main(argv: Sequence[str] | None = None) -> int:
    _open_standard_fds()
    stderr = sys.stderr
    try:
        with interrupts.installed():
            return main_inner(argv, stderr=stderr)
    except AbidiffError as error:
        render_error(error, stderr)
        return error.exit_status
    except KeyboardInterrupt:
        stderr.write("abidiff: interrupted\n")
        return EXIT_INTERRUPTED
    except interrupts.Terminated:
        stderr.write("abidiff: terminated\n")
        return EXIT_TERMINATED
    except BrokenPipeError:
        # the reader of stderr went away (abidiff ... 2>&1 | head): not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno() if sys.stdout is not None else 1)
        os.dup2(devnull, stderr.fileno())
        return EXIT_OK
    except SystemExit as exc:  # argparse's --help and --version
        return int(exc.code or 0) if isinstance(exc.code, int) or exc.code is None else EXIT_ERROR
    except Exception as exc:  # the last line of defence: a bug of ours
        if os.environ.get("ABIDIFF_DEBUG"):
            raise
        stderr.write(
            f"abidiff: internal error: {type(exc).__name__}: {exc}\n"
            "abidiff: hint: this is a bug in abidiff; run again with ABIDIFF_DEBUG=1 for the traceback "
            "and report it\n"
        )
        return EXIT_ERROR


__all__ = ["EXIT_ERROR", "build_parser", "main", "main_inner", "normalise_argv", "render_error"]
