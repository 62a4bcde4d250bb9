"""Every example command of README.md and docs/*.md runs as written, where its inputs exist here.

An example is a line starting with ``abidiff`` in a fenced ``sh``/``shell``/``bash`` block, or a
``$ abidiff`` line of a ``console`` block (blocks without a language are synopses and output,
not examples).  It runs through bash, as written, in an empty directory, with ``abidiff`` the
venv's and ``python3.X`` the real CPython builds of this machine (pyenv's, linked into a
directory put first on PATH, as ``pyenv global`` would); nothing in the line is replaced.  Its
exit status must be one the docs give for a result (0, 4 or 12), never an error (1, 2).
A ``python`` block is a program: it runs as written, with the same PATH, and must succeed.

An example whose inputs cannot exist here is skipped, saying why: placeholders (``OLD``,
``BUILD``), shell variables of a CI job, git refs (no CPython checkout here), files such as
``mymod.abi3.so``, a build that is not installed.  The examples share the suite's snapshot
cache (tests/conftest.py), so each real build is parsed once; they run two at a time.
"""

from __future__ import annotations

import concurrent.futures
import glob
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.realbuilds import PYENV

DOCUMENTED_STATUSES = {0, 4, 12}  # docs/exit-codes.md: no change, changed, broke
SHELL_LANGUAGES = {"sh", "shell", "bash"}
PLACEHOLDER = re.compile(r"[A-Z][A-Z0-9_]{2,}")  # OLD, NEW, BUILD, EXT_OR_WHEEL
GIT_REF = re.compile(r"(v\d|HEAD\b|main$|git:)|\.\.")
PYTHON = re.compile(r"python(3\.\d+)$")
SUBCOMMANDS = {"compare", "dump", "symbols", "abi3", "ext", "series", "cache"}
# options that take values (how many), and those whose values are inputs (builds, files)
VALUE_OPTIONS = {
    "--against": 1,
    "--between": 2,
    "--suppressions": 1,
    "--pyconfig": 1,
    "--config-from": 1,
    "--lib": 1,
    "--manifest": 1,
    "--feature-base": 1,
    "--repo": 1,
    "--target": 1,
    "--format": 1,
    "--max-chars": 1,
    "--full-report": 1,
    "--abi3": 1,
    "--tags": 1,
    "--cache-dir": 1,
    "-o": 1,
    "--output": 1,
}
INPUT_OPTIONS = {
    "--against",
    "--between",
    "--suppressions",
    "--pyconfig",
    "--config-from",
    "--lib",
    "--manifest",
    "--feature-base",
}
SHELL_OPERATORS = {"|", "||", "&&", ";", ">", ">>", "<", "2>", "2>&1"}


@dataclass(frozen=True)
class Example:
    source: str  # README.md:23
    line: str

    def __str__(self) -> str:
        return self.source


def _blocks() -> Iterator[tuple[str, str, int, str]]:
    """(file, language, first line number, text) of each fenced block of README.md and docs/*.md."""
    for path in [os.path.join(ROOT, "README.md"), *sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))]:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        for block in re.finditer(r"^```(\w*)[^\n]*\n(.*?)^```", text, re.S | re.M):
            first = text.count("\n", 0, block.start(2)) + 1
            yield os.path.relpath(path, ROOT), block.group(1), first, block.group(2)


def collect() -> list[Example]:
    examples = []
    for path, language, first, body in _blocks():
        if language not in SHELL_LANGUAGES | {"console"}:
            continue
        for number, raw in enumerate(body.splitlines()):
            line = raw.strip()
            if language == "console":
                if not line.startswith("$ "):
                    continue
                line = line[2:]
            if re.match(r"abidiff(\s|$)", line):
                examples.append(Example(source=f"{path}:{first + number}", line=line))
    return examples


EXAMPLES = collect()


def python_builds() -> dict[str, str]:
    """``{"3.13": "/root/.pyenv/versions/3.13.0/bin/python3.13"}``: the newest of each."""
    found: dict[str, str] = {}
    for path in sorted(glob.glob(os.path.join(PYENV, "*", "bin", "python3.*"))):
        match = PYTHON.search(os.path.basename(path))
        if match and os.access(path, os.X_OK):
            found[match.group(1)] = path
    return found


def _command_words(line: str) -> list[str]:
    """The words of the abidiff command itself: up to the first shell operator."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars="|&;<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    words = []
    for word in lexer:
        if word in SHELL_OPERATORS or set(word) <= set("|&;<>"):
            break
        words.append(word)
    return words


def _input_problem(word: str, builds: dict[str, str]) -> str | None:
    """Why the input ``word`` (a build, a file) does not exist here, or None."""
    if word.startswith("shipped:") or word in ("none", "shipped"):
        return None
    match = PYTHON.fullmatch(word)
    if match:
        return None if match.group(1) in builds else f"{word} is not installed on this machine"
    if GIT_REF.search(word):
        return f"{word}: a git ref, the example runs in a CPython checkout (none on this machine)"
    path = os.path.expanduser(word)
    if not os.path.isabs(path):
        return f"{word}: no such file in the directory the example runs in"
    return None if os.path.exists(path) else f"{word} does not exist on this machine"


def why_not_here(example: Example, builds: dict[str, str]) -> str | None:
    """Why the example cannot run on this machine, or None."""
    if "$" in example.line:
        return "it uses shell variables that the CI job around it sets"
    words = _command_words(example.line)
    placeholders = [word for word in words if PLACEHOLDER.fullmatch(word) and word != "HEAD"]
    if placeholders:
        return f"{', '.join(placeholders)}: a placeholder, no build of that name exists"
    args = words[1:]
    positional = [word for word in args if not word.startswith("-")]
    index = 0
    while index < len(args):
        word = args[index]
        if word.startswith("-"):
            name = word.split("=", 1)[0]
            count = 0 if "=" in word else VALUE_OPTIONS.get(name, 0)
            values = args[index + 1 : index + 1 + count]
            index += 1 + count
            if name == "--repo":
                return f"--repo {' '.join(values)}: needs a CPython git checkout (none on this machine)"
            if name == "--tags":
                return "--tags: the example runs in a CPython checkout (none on this machine)"
            if name in INPUT_OPTIONS:
                for value in values:
                    problem = _input_problem(value, builds)
                    if problem:
                        return problem
            continue
        index += 1
        if word in SUBCOMMANDS and positional and word == positional[0]:
            continue  # the sub-command (options may come before it)
        problem = _input_problem(word, builds)
        if problem:
            return problem
    return None


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """PATH with the real builds as ``python3.X`` and the venv's abidiff first."""
    links = tmp_path_factory.mktemp("bin")
    for version, path in python_builds().items():
        os.symlink(path, links / f"python{version}")
    venv_bin = os.path.dirname(sys.executable)
    return {
        **os.environ,
        "PATH": os.pathsep.join((str(links), venv_bin, os.environ.get("PATH", ""))),
        "ABIDIFF_NO_PROGRESS": "1",
    }


def _run(example: Example, env: dict[str, str], cwd: str) -> subprocess.CompletedProcess[str]:
    os.makedirs(cwd, exist_ok=True)
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-o", "pipefail", "-c", example.line],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def outcomes(
    environment: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every example that can run here, run two at a time (each in a directory of its own)."""
    builds = python_builds()
    runnable = [example for example in EXAMPLES if why_not_here(example, builds) is None]
    root = tmp_path_factory.mktemp("examples")
    # the first run of each build makes its snapshot: warm the cache in order, then fan out
    warm = {word for example in runnable for word in _command_words(example.line) if PYTHON.fullmatch(word)}
    for word in sorted(warm):
        subprocess.run(["bash", "-c", f"abidiff dump {word} -o /dev/null"], env=environment, check=False)

    # the longest first (a build read anew, three builds of a series), so that both threads end together
    def short(item: tuple[int, Example]) -> bool:
        return "--no-cache" not in item[1].line and " series " not in item[1].line

    longest_first = sorted(enumerate(runnable), key=short)
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            example.source: pool.submit(_run, example, environment, str(root / f"e{number}"))
            for number, example in longest_first
        }
        return {source: future.result() for source, future in futures.items()}


def test_the_docs_have_examples() -> None:
    assert len(EXAMPLES) >= 20
    assert any(example.source.startswith("README.md") for example in EXAMPLES)


@pytest.mark.integration  # the examples run on the real CPython builds of this machine
@pytest.mark.parametrize("example", EXAMPLES, ids=str)
def test_example_runs_as_written(example: Example, outcomes: dict[str, subprocess.CompletedProcess[str]]) -> None:
    reason = why_not_here(example, python_builds())
    if reason is not None:
        pytest.skip(f"{example.line!r}: {reason}")
    result = outcomes[example.source]
    assert result.returncode in DOCUMENTED_STATUSES, (
        f"{example.source}: {example.line}\nexit status {result.returncode}\n{result.stderr[-2000:]}"
    )
    assert "Traceback" not in result.stderr


def python_blocks() -> list[Example]:
    """The ``python`` blocks of README.md and docs/*.md: each a program, run as written."""
    return [
        Example(source=f"{path}:{first}", line=body)
        for path, language, first, body in _blocks()
        if language == "python"
    ]


@pytest.mark.integration  # the programs read the real CPython builds of this machine
@pytest.mark.parametrize("example", python_blocks(), ids=str)
def test_python_example_runs_as_written(example: Example, environment: dict[str, str], tmp_path: Path) -> None:
    builds = python_builds()
    missing = sorted({f"python{version}" for version in PYTHON_NAME.findall(example.line) if version not in builds})
    if missing:
        pytest.skip(f"{example}: {', '.join(missing)} not installed on this machine")
    result = subprocess.run(
        [sys.executable, "-c", example.line], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{example}\n{result.stderr[-2000:]}"
    assert result.stdout.strip(), f"{example} printed nothing"


PYTHON_NAME = re.compile(r"\bpython(3\.\d+)\b")
