"""The command line: argparse, sub-commands, and the only place that decides the exit status.

``main()`` wraps ``main_inner()``: every :class:`~abidiff.errors.AbidiffError` becomes a
one-line message with a hint on stderr and its exit status; nothing prints a traceback.
Heavy modules (libclang, the binary readers, rich) are imported inside the sub-commands so
that ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from typing import NoReturn, TextIO

from abidiff import __version__, interrupts
from abidiff.errors import EXIT_ERROR, EXIT_OK, EXIT_USAGE, AbidiffError, UsageError
from abidiff.options import BuildOptions

COMMANDS = ("compare", "dump", "symbols", "cache", "abi3", "ext")
EXIT_INTERRUPTED = 128 + signal.SIGINT
EXIT_TERMINATED = 128 + signal.SIGTERM

_DESCRIPTION = """\
Tell whether the C ABI of CPython broke between two builds, and how.

  abidiff OLD NEW            compare two builds (same as 'abidiff compare OLD NEW')
  abidiff dump BUILD         write the snapshot of one build as JSON
  abidiff symbols FILE       list the exports of one binary (ELF, PE, Mach-O)
  abidiff abi3 BUILD         audit the limited API / stable ABI of a build
  abidiff ext EXT_OR_WHEEL   audit what an extension module or wheel imports from CPython
  abidiff cache info|clear   the snapshot cache

A BUILD is a Python interpreter (path or name on PATH), an installed prefix, an include
directory holding Python.h, a libpython, a snapshot file written by 'abidiff dump', or a
git ref (tag, branch, sha; 'git:REF' to be explicit) of the CPython repository around the
current directory or given with --repo.
"""

_EPILOG = """\
exit status (a bit field, as libabigail's abidiff):
  0  no change / success      1  error (bad input, failed tool)     2  usage error
  4  the ABI changed          8  incompatible change (full ABI or stable ABI broke)
  130 interrupted (SIGINT)    143 terminated (SIGTERM)
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message, hint=f"see '{self.prog} --help'")


def _build_options_parser() -> _Parser:
    parent = _Parser(add_help=False)
    group = parent.add_argument_group("how builds are read")
    group.add_argument(
        "--repo", metavar="DIR", help="the CPython repository of git-ref builds (default: the one around .)"
    )
    group.add_argument("--pyconfig", metavar="FILE", help="the pyconfig.h to parse git-ref builds with")
    group.add_argument("--config-from", metavar="DIR", help="take pyconfig.h from this configured build directory")
    group.add_argument(
        "--target", metavar="TARGET", help="parse git-ref builds for this target: 'windows' or a clang triple"
    )
    group.add_argument(
        "--build", action="store_true", help="also compile libpython at each git ref, so that exports are compared"
    )
    group.add_argument(
        "--lib",
        metavar="FILE",
        action="append",
        default=[],
        help="add a binary to the builds, or replace their libpython / stable-ABI library (repeatable)",
    )
    group.add_argument("--dwarf", action="store_true", help="cross-check header layouts with the DWARF of libpython")
    group.add_argument(
        "--cache-dir", metavar="DIR", help="the snapshot cache (default: $ABIDIFF_CACHE_DIR or ~/.cache/abidiff)"
    )
    group.add_argument("--no-cache", action="store_true", help="neither read nor write the snapshot cache")
    return parent


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="abidiff",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"abidiff {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    build_options = _build_options_parser()

    compare = sub.add_parser(
        "compare",
        parents=[build_options],
        help="compare two builds (the default command: 'abidiff OLD NEW')",
        description="Compare two builds: did the full C ABI break (a PEP 605 alpha) or not (a beta), "
        "and did the stable ABI break? The human report goes to stderr; --format json|markdown|news "
        "to stdout or -o.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    compare.add_argument("old", metavar="OLD", help="the older build")
    compare.add_argument("new", metavar="NEW", help="the newer build")
    compare.add_argument(
        "--format",
        choices=("text", "json", "markdown", "news"),
        default="text",
        help="text (rich, on stderr; the default), json (versioned, schema in the package), markdown "
        "(a PR comment or CI step summary), news (PEP 605 release-note text)",
    )
    compare.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE (atomically)")
    compare.add_argument(
        "--suppressions", metavar="FILE", help="TOML file of suppressions (rule id, entity glob, reason, expiry)"
    )

    dump = sub.add_parser(
        "dump",
        parents=[build_options],
        help="write the snapshot of one build as JSON",
        description="Write the snapshot of one build (its C API from the headers, and its exports) as versioned JSON.",
    )
    dump.add_argument(
        "build", metavar="BUILD", help="interpreter, prefix, include directory, libpython, snapshot or git ref"
    )
    dump.add_argument("-o", "--output", metavar="FILE", help="write to FILE (atomically) instead of stdout")

    symbols = sub.add_parser(
        "symbols",
        help="list the exports of one binary",
        description="List the exported symbols of one binary (ELF, PE or Mach-O; every slice of a universal file).",
    )
    symbols.add_argument("file", metavar="FILE", help="a shared library or executable")
    symbols.add_argument("--format", choices=("text", "json"), default="text", help="text (a table) or json")
    symbols.add_argument("-o", "--output", metavar="FILE", help="write to FILE (atomically) instead of stdout")

    abi3 = sub.add_parser(
        "abi3",
        parents=[build_options],
        help="audit the limited API / stable ABI of a build",
        description="Audit the abi3 surface of a build at every Py_LIMITED_API level: declarations visible "
        "before the version that added them, manifest entries missing from the headers or the exports, "
        "stable-ABI struct layouts that changed against OLD, Py_LIMITED_API_3_x aliases.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    abi3.add_argument("build", metavar="BUILD", help="the build to audit")
    abi3.add_argument("--against", metavar="OLD", help="the previous build: what it declared and exported")
    abi3.add_argument(
        "--manifest",
        metavar="FILE|shipped|none",
        help="the stable ABI manifest to judge by (default: the build's own, else the copy shipped with abidiff "
        "for builds with binaries)",
    )
    abi3.add_argument("--format", choices=("text", "json", "markdown"), default="text", help="report format")
    abi3.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE (atomically)")

    ext = sub.add_parser(
        "ext",
        help="audit what an extension module or wheel imports from CPython",
        description="List the CPython symbols an extension module (.so, .pyd, .dylib) or every extension of "
        "a wheel imports; check abi3 extensions against the stable ABI of their tag; with --build, what the "
        "build does not export; with --between, which ABI breaks between two builds touch it.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ext.add_argument("path", metavar="EXT_OR_WHEEL", help="an extension module or a wheel")
    ext.add_argument("--build", dest="ext_build", metavar="BUILD", help="the build it must load into")
    ext.add_argument(
        "--between", nargs=2, metavar=("OLD", "NEW"), help="the builds whose ABI breaks to check it against"
    )
    ext.add_argument("--abi3", metavar="3.X", help="audit a bare module as abi3 for this version")
    ext.add_argument("--format", choices=("text", "json"), default="text", help="report format")
    ext.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE (atomically)")

    cache = sub.add_parser("cache", help="show or clear the snapshot cache", description="The snapshot cache.")
    cache.add_argument("action", choices=("info", "clear"), help="info: what it holds; clear: empty it")
    cache.add_argument(
        "--cache-dir", metavar="DIR", help="the cache directory (default: $ABIDIFF_CACHE_DIR or ~/.cache/abidiff)"
    )
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


def options_from(args: argparse.Namespace) -> BuildOptions:
    return BuildOptions(
        repo=args.repo,
        pyconfig=args.pyconfig,
        config_from=args.config_from,
        target=args.target,
        build_binaries=args.build,
        libs=tuple(args.lib),
        cache_dir=args.cache_dir,
        use_cache=not args.no_cache,
        dwarf=args.dwarf,
    )


def _cmd_dump(args: argparse.Namespace, stdout: TextIO) -> int:
    from abidiff import snapshot
    from abidiff.builder import snapshot_of
    from abidiff.output import write_output
    from abidiff.report.console import progress

    with progress(f"reading {args.build}"):
        snap = snapshot_of(args.build, options_from(args))
    write_output(snapshot.dumps(snap), args.output, stdout)
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
        options=options_from(args),
    )


def _cmd_symbols(args: argparse.Namespace, stdout: TextIO) -> int:
    from abidiff.binaries import read_binary
    from abidiff.builder import library_role
    from abidiff.output import write_output
    from abidiff.report.symbols import render_symbols_json, render_symbols_text

    if not os.path.lexists(args.file):
        raise AbidiffError(f"{args.file}: no such file", hint="give the path of a shared library or executable")
    binaries = read_binary(args.file, library_role(args.file))
    text = render_symbols_json(binaries) if args.format == "json" else render_symbols_text(binaries)
    write_output(text, args.output, stdout)
    return EXIT_OK


def _cmd_cache(args: argparse.Namespace, stdout: TextIO) -> int:
    from abidiff.cache import SnapshotCache

    cache = SnapshotCache(args.cache_dir)
    if args.action == "clear":
        removed = cache.clear()
        stdout.write(f"removed {removed} entries from {cache.directory}\n")
        return EXIT_OK
    info = cache.info()
    artifacts = ", ".join(f"{count} {kind}" for kind, count in info.artifacts) or "none"
    stdout.write(
        f"directory: {info.directory}\n"
        f"snapshots: {info.entries}\n"
        f"artifacts: {artifacts}\n"
        f"logs:      {info.logs}\n"
        f"size:      {info.bytes / 1e6:.1f} MB\n"
    )
    return EXIT_OK


def _cmd_abi3(args: argparse.Namespace, stdout: TextIO) -> int:
    from abidiff.abi3 import abi3_main

    return abi3_main(
        args.build,
        against=args.against,
        manifest=args.manifest,
        fmt=args.format,
        output=args.output,
        stdout=stdout,
        stderr=sys.stderr,
        options=options_from(args),
    )


def _cmd_ext(args: argparse.Namespace, stdout: TextIO) -> int:
    from abidiff.ext import ext_main

    return ext_main(
        args.path,
        build=args.ext_build,
        between=(args.between[0], args.between[1]) if args.between else None,
        abi3=args.abi3,
        fmt=args.format,
        output=args.output,
        stdout=stdout,
        stderr=sys.stderr,
    )


_HANDLERS = {
    "dump": _cmd_dump,
    "compare": _cmd_compare,
    "symbols": _cmd_symbols,
    "cache": _cmd_cache,
    "abi3": _cmd_abi3,
    "ext": _cmd_ext,
}


def main_inner(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    stdout = stdout if stdout is not None else sys.stdout
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(_normalise_argv(arguments))
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    handler = _HANDLERS.get(args.command)
    if handler is None:
        raise UsageError(f"the command '{args.command}' is not available yet")
    return handler(args, stdout)


def render_error(error: AbidiffError, stream: TextIO) -> None:
    lines = [f"abidiff: error: {error.message}"]
    lines += [f"  {detail}" for detail in error.details]
    if error.hint:
        lines.append(f"abidiff: hint: {error.hint}")
    stream.write("\n".join(lines) + "\n")
    stream.flush()


def main(argv: Sequence[str] | None = None) -> int:
    try:
        with interrupts.installed():
            return main_inner(argv)
    except AbidiffError as error:
        render_error(error, sys.stderr)
        return error.exit_status
    except KeyboardInterrupt:
        sys.stderr.write("abidiff: interrupted\n")
        return EXIT_INTERRUPTED
    except interrupts.Terminated:
        sys.stderr.write("abidiff: terminated\n")
        return EXIT_TERMINATED
    except BrokenPipeError:
        # the reader of our output went away (abidiff ... | head): not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.dup2(devnull, sys.stderr.fileno())
        return EXIT_OK
    except SystemExit as exc:  # argparse's --help and --version
        return int(exc.code or 0) if isinstance(exc.code, int) or exc.code is None else EXIT_ERROR
    except Exception as exc:  # the last line of defence: a bug of ours
        if os.environ.get("ABIDIFF_DEBUG"):
            raise
        sys.stderr.write(
            f"abidiff: internal error: {type(exc).__name__}: {exc}\n"
            "abidiff: hint: this is a bug in abidiff; run again with ABIDIFF_DEBUG=1 for the traceback and report it\n"
        )
        return EXIT_ERROR


__all__ = ["EXIT_ERROR", "main", "main_inner"]
