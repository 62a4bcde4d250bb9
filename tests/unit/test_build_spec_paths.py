"""What a build spec path is (issue 11): a FIFO, a socket, a device, a dangling or looping
link, an unreadable file each get an error that says so; a missing path that cannot be a
git ref gets a path error (issue 12's ``/nonexist``), not a git-ref one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from abidiff.errors import BuildSpecError
from abidiff.sources import looks_like_path, resolve
from tests.conftest import MINIMAL_HEADERS, ROOT
from tests.unit.test_snapshot_load import unprivileged


def _fifo(tmp: Path) -> str:
    os.mkfifo(tmp / "fifo")
    return str(tmp / "fifo")


def _socket(tmp: Path) -> str:
    path = tmp / "sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()  # the socket file stays
    return str(path)


def _dangling(tmp: Path) -> str:
    (tmp / "link").symlink_to(tmp / "nowhere")
    return str(tmp / "link")


def _loop(tmp: Path) -> str:
    (tmp / "loop").symlink_to(tmp / "loop")
    return str(tmp / "loop")


def _link_to_fifo(tmp: Path) -> str:
    (tmp / "link").symlink_to(_fifo(tmp))
    return str(tmp / "link")


def _empty_dir(tmp: Path) -> str:
    (tmp / "empty").mkdir()
    return str(tmp / "empty")


PATHS: dict[str, tuple[Callable[[Path], str], str, str]] = {
    "fifo": (_fifo, "is a FIFO (named pipe), not a build", "write the snapshot to a file first"),
    "symlink-to-fifo": (_link_to_fifo, "is a FIFO (named pipe), not a build", "abidiff dump BUILD -o FILE"),
    "socket": (_socket, "is a socket, not a build", "give a Python interpreter"),
    "dev-null": (lambda _tmp: os.devnull, "is a character device, not a build", "give a Python interpreter"),
    "dangling-symlink": (_dangling, "tried a path: it is a symbolic link to a missing file", "where the link points"),
    "symlink-loop": (_loop, "tried a path: it is a symbolic link in a loop", "where the link points"),
    "directory-without-python-h": (_empty_dir, "an include directory (no Python.h)", "the include directory"),
    "missing-absolute": (
        lambda tmp: str(tmp / "nonexist"),
        "tried a path (no such file or directory)",
        "check the path",
    ),
    "missing-json": (lambda _tmp: "baseline.json", "tried a path (no such file or directory)", "check the path"),
}


@pytest.mark.parametrize(("make", "message", "hint"), list(PATHS.values()), ids=list(PATHS))
def test_a_path_that_is_no_build_says_what_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make: Callable[[Path], str], message: str, hint: str
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = make(tmp_path)
    started = time.monotonic()
    with pytest.raises(BuildSpecError) as caught:
        resolve(spec)
    assert time.monotonic() - started < 5  # a FIFO is never opened for reading
    assert message in caught.value.message and "none exists" not in caught.value.message
    assert caught.value.hint is not None and hint in caught.value.hint


@pytest.mark.parametrize(
    ("spec", "is_path"),
    [
        ("/nonexist", True),
        ("./build", True),
        ("../cpython", True),
        ("~/builds/3.13", True),
        ("baseline.json", True),
        ("libpython3.13.so.1.0", True),
        ("python313.dll", True),
        ("include/.hidden", True),
        ("a//b", True),
        ("v3.13.0", False),
        ("main~3", False),
        ("HEAD^", False),
        ("origin/main", False),
        ("3.13", False),
        ("python3.13", False),
    ],
)
def test_looks_like_path(spec: str, is_path: bool) -> None:
    assert looks_like_path(spec) is is_path


def _abidiff(*args: str, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ABIDIFF_NO_PROGRESS="1")
    return subprocess.run(
        [sys.executable, "-m", "abidiff", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )


def test_cli_nonexistent_path_gets_a_path_error_not_a_git_one(tmp_path: Path) -> None:
    proc = _abidiff("dump", "/nonexist", cwd=str(tmp_path))
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "abidiff: error: no build found for '/nonexist': tried a path (no such file or directory)",
        "abidiff: hint: check the path; give a Python interpreter (path or name on PATH), an installed prefix, an "
        "include directory, a libpython, or a snapshot file",
    ]


def test_cli_fifo_build_is_a_one_line_error(tmp_path: Path) -> None:
    fifo = _fifo(tmp_path)
    proc = _abidiff(fifo, MINIMAL_HEADERS)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith(f"abidiff: error: '{fifo}' is a FIFO (named pipe), not a build")
    assert "Traceback" not in proc.stderr


_RESOLVE = """
import sys
from abidiff.errors import BuildSpecError
from abidiff.sources import resolve
try:
    resolve(sys.argv[1])
except BuildSpecError as exc:
    print(exc.message)
"""


def test_an_unreadable_build_says_permission_denied(tmp_path: Path) -> None:
    path = tmp_path / "base.json"
    path.write_text("{}")
    path.chmod(0)
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    argv = unprivileged([sys.executable, "-c", _RESOLVE, str(path)])
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"cannot read the build '{path}': permission denied"
