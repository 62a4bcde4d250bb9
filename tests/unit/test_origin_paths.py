"""A build reached through a UTF-8 link into a directory whose name is not UTF-8: the
snapshot is written, its origin shown with the odd byte escaped."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

from abidiff.cli import main_inner
from abidiff.files import shown
from tests.conftest import MINIMAL_HEADERS


def test_shown_escapes_what_is_not_utf8() -> None:
    assert shown(os.fsdecode(b"/tmp/inc\xe9")) == "/tmp/inc\\xe9"
    assert shown("/tmp/ok/é") == "/tmp/ok/é"


def test_a_link_into_a_latin1_directory_dumps(tmp_path: Path) -> None:
    target = os.path.join(os.fsencode(tmp_path), b"inc\xe9")
    shutil.copytree(MINIMAL_HEADERS, os.fsdecode(target))
    link = tmp_path / "headers"
    link.symlink_to(os.fsdecode(target))
    out = io.StringIO()
    assert main_inner(["dump", str(link)], stdout=out) == 0
    document = json.loads(out.getvalue())
    assert document["snapshot"]["build"]["origin"].endswith("inc\\xe9")


def test_a_missing_lib_is_a_one_line_error(tmp_path: Path) -> None:
    """``--lib no-such.so`` with the cache on: the cache key names the file (was an internal error)."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "abidiff", "dump", MINIMAL_HEADERS, "--lib", "no-such.so", "--cache-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("abidiff: error: ") and "no-such.so: no such file" in proc.stderr
    assert "internal error" not in proc.stderr
