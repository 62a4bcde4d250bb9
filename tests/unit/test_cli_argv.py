"""The command line's parsing, in process: options anywhere (before the command name, before
and between OLD NEW of the shorthand), distinct dests for positionals and flags, and help that
reads at 80 columns."""

from __future__ import annotations

import argparse

import pytest

from abidiff.cli import build_parser, normalise_argv
from abidiff.commands import COMMANDS
from abidiff.commands.common import options_from
from abidiff.errors import UsageError
from abidiff.options import BuildOptions


def parse(*argv: str) -> argparse.Namespace:
    parser = build_parser()
    args: argparse.Namespace = parser.parse_args(normalise_argv(argv, parser))
    return args


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["A", "B"], ["compare", "A", "B"]),
        (["--repo", "R", "v3.13.0", "main"], ["compare", "--repo", "R", "v3.13.0", "main"]),
        (["--no-cache", "A", "B"], ["compare", "--no-cache", "A", "B"]),
        (["--build", "--cache-dir", "D", "v1", "v2"], ["compare", "--build", "--cache-dir", "D", "v1", "v2"]),
        (["--pyconfig", "X", "A", "B"], ["compare", "--pyconfig", "X", "A", "B"]),
        (["--format", "json", "A", "B"], ["compare", "--format", "json", "A", "B"]),
        (["--no-cache", "dump", "X"], ["dump", "--no-cache", "X"]),
        (["--repo", "R", "--pyconfig", "P", "abi3", "v1"], ["abi3", "--repo", "R", "--pyconfig", "P", "v1"]),
        (["--between", "A", "B", "ext", "m.so"], ["ext", "--between", "A", "B", "m.so"]),
        (["--repo=R", "dump", "X"], ["dump", "--repo=R", "X"]),
        (["-o", "f.json", "dump", "X"], ["dump", "-o", "f.json", "X"]),
        (["-of.json", "dump", "X"], ["dump", "-of.json", "X"]),
        # option values are never taken for the command's name or the first build
        (["--repo", "dump", "A", "B"], ["compare", "--repo", "dump", "A", "B"]),
        (["--cache-dir", "cache", "A", "B"], ["compare", "--cache-dir", "cache", "A", "B"]),
        (["--pyconf", "symbols", "A", "B"], ["compare", "--pyconf", "symbols", "A", "B"]),  # an abbreviation
        (["--", "-odd-ref", "B"], ["compare", "--", "-odd-ref", "B"]),
        (["dump", "X", "--no-cache"], ["dump", "X", "--no-cache"]),
        (["--help"], ["--help"]),
        (["--no-cache", "--help", "A", "B"], ["--no-cache", "--help", "A", "B"]),
        (["dump", "--help"], ["dump", "--help"]),
        ([], []),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_normalise_argv(argv: list[str], expected: list[str]) -> None:
    assert normalise_argv(argv, build_parser()) == expected


BUILD_OPTIONS = (
    ["--repo", "R"],
    ["--pyconfig", "P.h"],
    ["--config-from", "C"],
    ["--target", "windows"],
    ["--build"],
    ["--lib", "L.so"],
    ["--dwarf"],
    ["--cache-dir", "D"],
    ["--no-cache"],
)
EVERY_OPTION = BuildOptions(
    repo="R",
    pyconfig="P.h",
    config_from="C",
    target="windows",
    build_binaries=True,
    libs=("L.so",),
    cache_dir="D",
    use_cache=False,
    dwarf=True,
)
# (argv before the options' place, positionals, where the options go, the parsed positionals)
COMMAND_LINES = {
    "shorthand": ([], ["v3.12.0", "main"], ("old", "new")),
    "compare": (["compare"], ["v3.12.0", "main"], ("old", "new")),
    "dump": (["dump"], ["v3.12.0"], ("spec",)),
    "abi3": (["abi3"], ["v3.12.0"], ("spec",)),
    "ext": (["ext"], ["mod.abi3.so", "other.so"], ("paths",)),
}


@pytest.mark.parametrize("place", ["first", "before-command", "between", "last", "spread"])
@pytest.mark.parametrize("line", list(COMMAND_LINES))
def test_build_options_in_any_position(line: str, place: str) -> None:
    command, positionals, dests = COMMAND_LINES[line]
    options = [arg for option in BUILD_OPTIONS for arg in option]
    if place == "first":
        argv = [*options, *command, *positionals]
    elif place == "before-command":
        argv = [*command, *options, *positionals]
    elif place == "between":
        argv = [*command, positionals[0], *options, *positionals[1:]]
    elif place == "last":
        argv = [*command, *positionals, *options]
    else:  # one option before everything, one between, the rest last
        argv = [*BUILD_OPTIONS[0], *command, positionals[0], *BUILD_OPTIONS[1], *positionals[1:]]
        argv += [arg for option in BUILD_OPTIONS[2:] for arg in option]
    args = parse(*argv)
    found = [getattr(args, dest) for dest in dests]
    assert tuple(item for value in found for item in (value if isinstance(value, list) else [value])) == tuple(
        positionals
    )
    assert options_from(args) == EVERY_OPTION


@pytest.mark.parametrize("command", ["dump", "abi3"])
def test_positional_build_is_not_the_build_flag(command: str) -> None:
    """The dest clash of issue 9: BUILD must not switch on --build (a compile of libpython)."""
    args = parse(command, "--repo", "R", "--pyconfig", "P", "v3.12.0")
    assert args.spec == "v3.12.0"
    assert options_from(args).build_binaries is False
    assert options_from(parse(command, "v3.12.0", "--build")).build_binaries is True


@pytest.mark.parametrize(
    ("argv", "attribute", "value"),
    [
        (["--format", "json", "A", "B"], "format", "json"),
        (["A", "--format", "markdown", "B"], "format", "markdown"),
        (["-o", "r.md", "A", "B"], "output", "r.md"),
        (["--suppressions", "s.toml", "A", "B"], "suppressions", "s.toml"),
        (["--format", "json", "symbols", "lib.so"], "format", "json"),
        (["--against", "OLD", "abi3", "NEW"], "against", "OLD"),
        (["--manifest", "shipped", "abi3", "NEW"], "manifest", "shipped"),
        (["--abi3", "3.9", "ext", "m.so"], "abi3", "3.9"),
        (["ext", "m.so", "--against", "python3.13"], "against", "python3.13"),
        (["ext", "--between", "A", "B", "m.so"], "between", ["A", "B"]),
        (["--cache-dir", "D", "cache", "info"], "cache_dir", "D"),
    ],
)
def test_command_options_in_any_position(argv: list[str], attribute: str, value: object) -> None:
    assert getattr(parse(*argv), attribute) == value


def test_ext_build_is_a_flag_now() -> None:
    """ext's old '--build BUILD' (a value where --build is a flag everywhere else) is --against."""
    args = parse("ext", "m.so", "--build")
    assert options_from(args).build_binaries is True and args.against is None
    # a build after it is one more input: a program on PATH is said to be no extension
    assert parse("ext", "m.so", "--build", "python3").paths == ["m.so", "python3"]
    from abidiff.cli import main_inner

    with pytest.raises(UsageError, match=r"python3 is no file here but a program on PATH") as caught:
        main_inner(["ext", "m.so", "--build", "python3"])
    assert caught.value.hint is not None and "--against python3" in caught.value.hint


@pytest.mark.parametrize(
    "value", ["3", "3.x", "4.1", "3.9.1", "3." + "9" * 5000], ids=["3", "3.x", "4.1", "3.9.1", "5000-digits"]
)
def test_abi3_version_is_validated(value: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse("ext", "m.so", "--abi3", value)
    assert "takes a version such as 3.9" in caught.value.message
    assert len(caught.value.message) < 120  # never the 5,000 digits


def test_usage_errors_are_usage_errors() -> None:
    for argv in (["dump"], ["dump", "a", "b"], ["--no-such-option", "A", "B"], ["A"], ["cache", "burn"]):
        with pytest.raises(UsageError):
            parse(*argv)


def _helps() -> dict[str, str]:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {"abidiff": parser.format_help(), **{name: sub.format_help() for name, sub in subparsers.choices.items()}}


@pytest.mark.parametrize("columns", [80, 300])
def test_help_fits_the_terminal(monkeypatch: pytest.MonkeyPatch, columns: int) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    helps = _helps()
    assert set(helps) == {"abidiff", *(command.NAME for command in COMMANDS)}
    limit = min(columns, 100)
    for name, text in helps.items():
        long = [line for line in text.splitlines() if len(line) > limit]
        assert long == [], f"{name} --help has lines over {limit} columns: {long}"
    assert "Options may come anywhere" in helps["abidiff"]
    assert "--against BUILD" in helps["ext"] and "--repo DIR" in helps["ext"]
    assert "only with --build" in " ".join(helps["dump"].split())


@pytest.mark.parametrize("argv", [["--help"], ["dump", "--help"], ["cache", "--help"], ["--version"]])
def test_help_imports_no_heavy_module(argv: list[str]) -> None:
    """``--help`` is instant: it builds the parser only, so neither the model (a hundred
    dataclasses), the readers, the renderers nor the process pool are imported.  (The help
    of a command with ``--format`` lists the formats the registry has, so it loads those.)"""
    import subprocess
    import sys

    heavy = ("abidiff.model", "abidiff.headers", "abidiff.binaries", "abidiff.rules", "abidiff.report.registry")
    code = (
        "import sys\n"
        "from abidiff.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(sorted(m for m in sys.modules if m in {heavy!r} or m == 'concurrent.futures'))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "[]"
