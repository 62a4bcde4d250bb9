"""Where output goes and what the exit status is, with real file descriptors: the report on
stdout (``abidiff A B > report.txt``), diagnostics on stderr, a reader that goes away
(``| head -1``), stdout or stderr closed (``>&-``, ``2>&-``), a full disk (``> /dev/full``).

Every test runs ``python -m abidiff`` in a subprocess on two snapshot files (no libclang in
the subprocess: each run takes a fraction of a second)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from abidiff import snapshot
from tests.conftest import make_variant

PUBLIC_BREAK = (("cpython/object.h", "    const char *tp_doc;\n", ""),)
BROKE = 4 | 8


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """Two snapshot files: the base tree, and the base tree without PyTypeObject.tp_doc."""
    from abidiff.builder import snapshot_of
    from tests.conftest import BASE_HEADERS, snapshot_cached

    root = tmp_path_factory.mktemp("snapshots")
    old, new = root / "old.json", root / "new.json"
    old.write_text(snapshot.dumps(snapshot_cached(BASE_HEADERS)))
    new.write_text(snapshot.dumps(snapshot_of(make_variant(str(root), PUBLIC_BREAK))))
    return str(old), str(new)


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "abidiff", *args]


def env() -> dict[str, str]:
    return dict(os.environ, ABIDIFF_NO_PROGRESS="1")


def shell(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` with ``$@`` = ``python -m abidiff ARGS``: the redirections are the shell's."""
    return subprocess.run(
        ["sh", "-c", script, "sh", *command(*args)], capture_output=True, text=True, env=env(), timeout=120
    )


def assert_one_error(stderr: str, *needles: str) -> None:
    lines = stderr.strip().splitlines()
    assert lines and lines[0].startswith("abidiff: error: "), stderr
    assert lines[-1].startswith("abidiff: hint: "), stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr
    for needle in needles:
        assert needle in stderr


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "news"])
def test_report_goes_to_stdout(snapshots: tuple[str, str], tmp_path: Path, fmt: str) -> None:
    """``abidiff A B > report.txt`` writes the report into report.txt (like libabigail's)."""
    target = tmp_path / "report.txt"
    with open(target, "w") as handle:
        proc = subprocess.run(
            command(*snapshots, "--format", fmt), stdout=handle, stderr=subprocess.PIPE, text=True, env=env()
        )
    assert proc.returncode == BROKE, proc.stderr
    assert proc.stderr == ""
    text = target.read_text()
    assert "tp_doc" in text
    assert "\x1b[" not in text  # no colours in a file


def test_closed_stderr_keeps_the_exit_status(snapshots: tuple[str, str]) -> None:
    old, _new = snapshots
    assert shell('exec "$@" 2>&-', *snapshots).returncode == BROKE
    same = shell('exec "$@" 2>&-', old, old)
    assert same.returncode == 0 and "No change" in same.stdout
    # an error is still an error (its message has nowhere to go)
    assert shell('exec "$@" 2>&-', old, "/no/such/build").returncode == 1


def test_closed_stdout_is_an_error(snapshots: tuple[str, str]) -> None:
    proc = shell('exec "$@" >&-', *snapshots, "--format", "json")
    assert proc.returncode == 1
    assert_one_error(proc.stderr, "standard output")


def test_closed_stdout_is_no_matter_with_an_output_file(snapshots: tuple[str, str], tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    proc = shell('exec "$@" >&-', *snapshots, "--format", "json", "-o", str(target))
    assert proc.returncode == BROKE, proc.stderr
    assert '"verdict": "abi-breaking"' in target.read_text()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="/dev/full is absent on this system")
@pytest.mark.parametrize("args", [["--format", "json"], [], ["--format", "news"]], ids=["json", "text", "news"])
def test_full_stdout_is_an_error(snapshots: tuple[str, str], args: list[str]) -> None:
    proc = shell('exec "$@" > /dev/full', *snapshots, *args)
    assert proc.returncode == 1
    assert_one_error(proc.stderr, "No space left on device")


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_reader_gone_keeps_the_report_bits(snapshots: tuple[str, str], fmt: str) -> None:
    """The reader closes the pipe before abidiff writes (what ``| head -1`` does to a longer
    report): the exit status is still the report's, and nothing is printed about it."""
    proc = subprocess.Popen(
        command(*snapshots, "--format", fmt), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env()
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # long before abidiff has read both snapshots
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == BROKE, err
    assert err == ""


def test_head_keeps_the_report_bits(snapshots: tuple[str, str]) -> None:
    proc = subprocess.run(
        ["bash", "-c", 'set -o pipefail; "$@" | head -1', "bash", *command(*snapshots, "--format", "json")],
        capture_output=True,
        text=True,
        env=env(),
        timeout=120,
    )
    assert proc.returncode == BROKE, proc.stderr
    assert proc.stdout == "{\n"


def test_abi3_of_five_thousand_digits_is_a_usage_error() -> None:
    proc = subprocess.run(
        command("ext", "/no/such/module.so", "--abi3", "3." + "9" * 5000),
        capture_output=True,
        text=True,
        env=env(),
        timeout=60,
    )
    assert proc.returncode == 2
    assert_one_error(proc.stderr, "takes a version such as 3.9")
    assert len(proc.stderr) < 400


def test_colours_only_on_a_terminal(snapshots: tuple[str, str]) -> None:
    """stdout a terminal (a pseudo-terminal here): the rich report, in colour, goes there."""
    pty = pytest.importorskip("pty", reason="no pseudo-terminals on this platform")
    primary, secondary = pty.openpty()
    environment = {key: value for key, value in env().items() if key not in ("NO_COLOR", "TERM")}
    proc = subprocess.Popen(
        command(*snapshots), stdout=secondary, stderr=subprocess.PIPE, env=dict(environment, TERM="xterm-256color")
    )
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    assert proc.wait(timeout=120) == BROKE
    assert proc.stderr is not None and proc.stderr.read() == b""
    text = b"".join(chunks).decode()
    assert "\x1b[" in text and "tp_doc" in text
