"""What the sub-commands share: the parser class and its help layout, the build options,
where output goes, and the exit-status bits of a list of findings.

Light on purpose: ``abidiff --help`` imports this and every command module, nothing heavy.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import errno
import functools
import io
import os
import re
import shutil
import textwrap
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, TextIO, cast

from abidiff.errors import EXIT_ABI_CHANGE, EXIT_ABI_INCOMPATIBLE, EXIT_OK, AbidiffError, UsageError
from abidiff.options import BuildOptions

if TYPE_CHECKING:
    from abidiff.rules import Finding

HELP_WIDTH = 100  # help is wrapped to the terminal, and never wider than this
CACHE_DIR_DEFAULT = "(default: $ABIDIFF_CACHE_DIR, else ${XDG_CACHE_HOME:-~/.cache}/abidiff)"
EXIT_STATUS_EPILOG = """\
exit status (a bit field, as libabigail's abidiff):
  0  no change / success            1  error (bad input, failed tool)
  2  usage error                    4  the ABI changed
  8  incompatible change (the full ABI or the stable ABI broke)
  130  interrupted (SIGINT)         143  terminated (SIGTERM)
"""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are :class:`UsageError` (one line, a hint, exit 2)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, hint=f"see '{self.prog} --help'")


class HelpFormatter(argparse.HelpFormatter):
    """Wraps prose paragraphs to the terminal (at most :data:`HELP_WIDTH` columns) and keeps
    paragraphs whose lines are indented (command lists, tables) as written."""

    def __init__(self, prog: str) -> None:
        columns = shutil.get_terminal_size().columns
        super().__init__(prog, width=max(40, min(columns, HELP_WIDTH) - 2), max_help_position=30)

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if isinstance(action.choices, ReportFormats):  # listed from the registry when shown
            return action.choices.help_text().replace("%", "%%")
        return super()._get_help_string(action)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = []
        for paragraph in text.strip("\n").split("\n\n"):
            lines = paragraph.splitlines()
            if any(line.startswith(" ") for line in lines[1:]) or paragraph.startswith(" "):
                paragraphs.append("\n".join(indent + line for line in lines))
            else:
                filled = textwrap.fill(" ".join(lines), width, initial_indent=indent, subsequent_indent=indent)
                paragraphs.append(filled)
        return "\n\n".join(paragraphs) + "\n"


class Command(Protocol):
    """What :mod:`abidiff.cli` needs of a command module; the words of its help are in
    ``commands.toml`` beside this module, under its ``NAME``."""

    NAME: str

    def arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int: ...


COMMANDS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "commands.toml")


@functools.cache
def _entries() -> dict[str, Any]:
    from abidiff.tomlreader import loads

    with open(COMMANDS_FILE, encoding="utf-8") as table:
        return loads(table.read())


def add_command(subparsers: Any, command: Command, build_options: argparse.ArgumentParser) -> None:
    """A sub-command's parser, laid out like every other: its help and shared options from
    ``commands.toml``, then its own arguments."""
    entry = _entries()[command.NAME]
    parser = subparsers.add_parser(
        command.NAME,
        parents=[build_options] if entry["build_options"] else [],
        help=entry["summary"],
        description=entry["description"],
        epilog=EXIT_STATUS_EPILOG if entry["exit_status"] else None,
        formatter_class=HelpFormatter,
    )
    command.arguments(parser)
    parser.set_defaults(run=command.run)


def build_options_parser() -> Parser:
    """The options shared by every command that reads a BUILD (a parent parser)."""
    parent = Parser(add_help=False)
    group = parent.add_argument_group("how builds are read (every BUILD, OLD and NEW of the command)")
    add = group.add_argument
    add("--repo", metavar="DIR", help="the CPython repository of git-ref builds (default: the one around .)")
    add("--pyconfig", metavar="FILE", help="the pyconfig.h to parse git-ref builds with")
    add("--config-from", metavar="DIR", help="take pyconfig.h from this configured build directory")
    add("--target", metavar="TARGET", help="parse git-ref builds for this target: 'windows' or a clang triple")
    add(
        "--build",
        dest="build_binaries",
        action="store_true",
        help="also compile libpython at each git ref, so that exports are compared",
    )
    add(
        "--lib",
        metavar="FILE",
        action="append",
        default=[],
        help="add a binary to the builds, or replace their libpython / stable-ABI library (repeatable)",
    )
    add("--dwarf", action="store_true", help="cross-check header layouts with the DWARF of libpython")
    add(
        "--cache-dir",
        metavar="DIR",
        help="the snapshot cache (default: $ABIDIFF_CACHE_DIR, else ${XDG_CACHE_HOME:-~/.cache}/abidiff)",
    )
    add("--no-cache", action="store_true", help="neither read nor write the snapshot cache")
    return parent


class Delivered(Protocol):
    """A report a command delivers (compare's, abi3's, ext's, a series')."""

    @property
    def suppression_warnings(self) -> tuple[str, ...]: ...


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Reporting:
    """How and where a reporting command (compare, abi3, ext, series) delivers its report:
    the format and its options, the output, the suppressions file, and the streams.

    A command calls :meth:`prepare` before any slow work and :meth:`deliver` with the
    report; what lies between is its own analysis.
    """

    stdout: TextIO
    stderr: TextIO
    fmt: str = "text"
    output: str | None = None  # None or "-": stdout
    suppressions: str | None = None  # the TOML file of --suppressions
    max_chars: int | None = None  # the Markdown cap (--max-chars)
    full_report: str | None = None  # where a cut Markdown report says the whole one is
    verbose: bool = False  # ext: a line per module

    @classmethod
    def of(cls, args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> Reporting:
        """The reporting options of parsed arguments (see :func:`add_report_options`)."""
        return cls(
            stdout=stdout,
            stderr=stderr,
            fmt=args.format,
            output=args.output,
            suppressions=args.suppressions,
            max_chars=getattr(args, "max_chars", None),
            full_report=getattr(args, "full_report", None),
            verbose=getattr(args, "verbose", False),
        )

    def prepare(self, formats: ReportFormats, inputs: Iterable[str | None]) -> tuple[object, ...]:
        """Fail fast, before any slow work: a format ``formats`` does not have, an output that
        is one of ``inputs`` (or the suppressions file), a bad suppressions file.  Returns the
        suppressions."""
        formats.check(self.fmt)
        refuse_output_clash(self.output, (*inputs, self.suppressions))
        return load_suppressions(self.suppressions)

    def deliver(
        self, report: Delivered, inputs: Iterable[str | None], *, rendered: Mapping[str, str] | None = None
    ) -> None:
        """Write ``report``: rich on a terminal when the text format goes to stdout and the
        document has a terminal renderer, else rendered in the format (or as ``rendered``
        holds it already: a cached report's JSON), to stdout or atomically to the output
        (never one of ``inputs``).  Suppression warnings go to stderr, unless the text report
        on stdout shows them itself."""
        from abidiff.report.registry import render, terminal_renderer

        shown_in_text = self.fmt == "text" and to_stdout(self.output)
        if not shown_in_text:
            for warning in report.suppression_warnings:
                self.stderr.write(f"abidiff: warning: {warning}\n")
        draw = terminal_renderer(type(report)) if shown_in_text and self.stdout.isatty() else None
        if draw is not None:
            from abidiff.report.console import make_console

            with writing(self.stdout):
                draw(report, make_console(file=self.stdout))
            return
        options = {"max_chars": self.max_chars, "full_report": self.full_report, "verbose": self.verbose}
        text = (rendered or {}).get(self.fmt) or render(report, self.fmt, **options)
        paths = tuple(item for item in (*inputs, self.suppressions) if item)
        write_report(text, self.output, self.stdout, inputs=paths)


# the build options passed on as they are parsed
_BUILD_OPTIONS = ("repo", "pyconfig", "config_from", "target", "build_binaries", "cache_dir", "dwarf")


def options_from(args: argparse.Namespace) -> BuildOptions:
    """The :class:`BuildOptions` of parsed arguments (of a parser with the build options)."""
    given = {name: getattr(args, name) for name in _BUILD_OPTIONS}
    return BuildOptions(libs=tuple(args.lib), use_cache=not args.no_cache, **given)


def add_format(parser: argparse.ArgumentParser, choices: Sequence[str], help_text: str) -> None:
    parser.add_argument("--format", choices=tuple(choices), default="text", help=help_text)


class ReportFormats(Sequence[str]):
    """The report formats the registry (:mod:`abidiff.report.registry`) has for one document
    type (``document``: ``module:Class``), as ``--format`` choices: looked up on first use, so
    that building the parser (and ``--help`` of another command) imports no renderer."""

    def __init__(self, document: str) -> None:
        self._document = document
        self._formats: tuple[tuple[str, str], ...] | None = None

    def formats(self) -> tuple[tuple[str, str], ...]:
        """(name, help) of each format, ``text`` first."""
        if self._formats is None:
            import importlib

            from abidiff.report.registry import formats as registered

            module, _, name = self._document.partition(":")
            document = getattr(importlib.import_module(module), name)
            self._formats = tuple((fmt.name, fmt.help) for fmt in registered(document))
        return self._formats

    def __getitem__(self, index: int) -> str:  # type: ignore[override]
        return self.formats()[index][0]

    def __len__(self) -> int:
        return len(self.formats())

    def __contains__(self, name: object) -> bool:
        return any(name == known for known, _help in self.formats())

    def check(self, fmt: str) -> None:
        """:class:`UsageError` unless ``fmt`` is one of the formats (for callers other than
        the parser, which checks its choices itself)."""
        if fmt not in self:
            raise UsageError(f"unknown report format '{fmt}' (choose from {', '.join(self)})")

    def help_text(self) -> str:
        listed = "; ".join(f"{name}: {text}" for name, text in self.formats())
        return f"the report format, one of {listed}"


def _add_format(parser: argparse.ArgumentParser, formats: ReportFormats) -> None:
    """``--format`` with the registry's formats for a document."""
    # the help is made from the registry when it is shown (HelpFormatter._get_help_string)
    parser.add_argument("--format", choices=formats, default="text", metavar="FORMAT", help="FORMATS")


DEFAULT_MAX_CHARS = 60_000  # abidiff.report.markdown.DEFAULT_MAX_CHARS (a test keeps them equal)
_COUNT = re.compile(r"\d{1,9}")


def _max_chars(value: str) -> int:
    if _COUNT.fullmatch(value.strip()) is None:
        shown = value if len(value) <= 20 else value[:20] + "..."
        raise argparse.ArgumentTypeError(f"takes a number of characters such as 60000, not {shown!r}")
    return int(value)


def add_max_chars(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-chars",
        metavar="N",
        type=_max_chars,
        default=None,
        help=f"cut a markdown report to at most N characters, the least severe findings first, saying what "
        f"was cut (default: {DEFAULT_MAX_CHARS}, under GitHub's 65536 for a comment; 0: no limit)",
    )
    parser.add_argument(
        "--full-report",
        metavar="WHERE",
        help="where the full report is (a URL or a file name), said by a markdown report that was cut",
    )


def add_report_options(parser: argparse.ArgumentParser, formats: ReportFormats, *, capped: bool = True) -> None:
    """What every reporting command takes: ``--format`` (the registry's), the Markdown cap
    (``capped``), ``-o FILE`` and ``--suppressions``; :meth:`Reporting.of` takes them."""
    _add_format(parser, formats)
    if capped:
        add_max_chars(parser)
    add_output(parser)
    add_suppressions(parser)


def add_suppressions(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--suppressions", metavar="FILE", help="TOML file of suppressions (rule id, entity glob, reason, expiry)"
    )


def load_suppressions(path: str | None) -> tuple[object, ...]:
    """The suppressions of ``path`` (read before the slow part, so a bad file fails fast)."""
    if not path:
        return ()
    from abidiff import suppress

    return suppress.load(path)


def add_build(parser: argparse.ArgumentParser, help_text: str) -> None:
    """The one BUILD of ``dump`` and ``abi3``, read back as ``args.spec`` (``--build`` is
    ``build_binaries``: the two must never share a name)."""
    parser.add_argument("spec", metavar="BUILD", help=help_text)


def add_output(parser: argparse.ArgumentParser, what: str = "the report") -> None:
    parser.add_argument("-o", "--output", metavar="FILE", help=f"write {what} to FILE (atomically) instead of stdout")


# -- where output goes ---------------------------------------------------------------------


def to_stdout(output: str | None) -> bool:
    return output is None or output == "-"


class ClosedStream(io.TextIOBase):
    """Stands for a standard stream that was closed when abidiff started (``>&-``): writing
    to it is an error (``EBADF``), as it would be for the file descriptor."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, f"{self._name} was closed when abidiff started")

    def isatty(self) -> bool:
        return False


def closed_stream(name: str) -> TextIO:
    return cast("TextIO", ClosedStream(name))


def _silence(stream: TextIO) -> None:
    """Point ``stream``'s file descriptor at /dev/null so that nothing more (Python's own
    flush at exit included) fails on it."""
    try:
        fd = stream.fileno()
    except (OSError, ValueError):  # io.StringIO, a ClosedStream: nothing to silence
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


@contextlib.contextmanager
def writing(stream: TextIO) -> Iterator[None]:
    """Guard the writing of a report to ``stream`` (standard output).

    A reader that went away (``abidiff ... | head -1``) is not an error: the rest of the
    report is dropped and the command's exit status stays what the report says.  Any other
    failure (stdout closed, a full disk) is a one-line error, exit status 1.
    """
    try:
        yield
        stream.flush()
    except BrokenPipeError:
        _silence(stream)
    except OSError as exc:
        _silence(stream)
        raise AbidiffError(
            f"cannot write to standard output: {exc.strerror or exc}",
            hint="redirect standard output to a file or a pipe, or give -o FILE",
        ) from exc


def write_report(text: str, output: str | None, stdout: TextIO, *, inputs: Iterable[str] = ()) -> None:
    """Write ``text`` to ``output`` atomically, or to ``stdout`` (``None`` or ``-``).

    ``inputs``: the paths the command read; an ``output`` that is one of them is refused.
    """
    if to_stdout(output):
        with writing(stdout):
            stdout.write(text)
        return
    from abidiff.output import write_output

    write_output(text, output, stdout, inputs=tuple(inputs))


def refuse_output_clash(output: str | None, inputs: Iterable[str | None]) -> tuple[str, ...]:
    """Refuse, before any slow work, an ``output`` that is the same file as one of ``inputs``
    (those that are no existing path, git refs and program names, are skipped); returns the
    inputs, for :func:`write_report` to check again when it writes."""
    from abidiff.output import check_output

    paths = tuple(item for item in inputs if item)
    check_output(output, paths)
    return paths


def build_inputs(options: BuildOptions | None) -> tuple[str, ...]:
    """The files the build options name (``--pyconfig``, ``--lib``): inputs too."""
    if options is None:
        return ()
    return tuple(item for item in (options.pyconfig, *options.libs) if item)


# -- exit status ---------------------------------------------------------------------------


def findings_status(findings: Iterable[Finding]) -> int:
    """0 nothing found but information (additions, configuration: every release has them);
    4 a finding that is a break, a warning or a compatible change; | 8 when one is a break."""
    from abidiff.rules import Severity

    items = tuple(item for item in findings if item.severity != Severity.INFO)
    if not items:
        return EXIT_OK
    status = EXIT_ABI_CHANGE
    if any(item.severity == Severity.BREAK for item in items):
        status |= EXIT_ABI_INCOMPATIBLE
    return status
