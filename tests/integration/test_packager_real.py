"""A distro packager's flows on this machine's Debian Python (issue 12): the installed prefix
as a build (multiarch pyconfig.h and libdir), and a libpython given to one side only."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

from abidiff.cli import main_inner
from tests.realbuilds import debian_python311, pyenv_python

pytestmark = pytest.mark.integration


def _run(*args: str) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    status = main_inner([*args, "--format", "json"], stdout=out)
    return status, json.loads(out.getvalue())


def test_the_debian_prefix_is_the_debian_interpreter() -> None:
    python = debian_python311()
    if not os.path.isfile("/usr/include/x86_64-linux-gnu/python3.11/pyconfig.h"):
        pytest.skip("Debian's multiarch pyconfig.h is absent (this test is for Debian's x86_64 layout)")
    status, document = _run("/usr", python)
    assert (status, document["changes"]) == (0, []), document["counts"]
    assert not document["headers_only"], "the multiarch libdir holds libpython3.11.so"


def test_a_library_for_one_side_only(tmp_path: Path) -> None:
    """--new-lib gives NEW a libpython the interpreter does not name: NEW's exports then come
    from it (the 3.12.1 libpython given to a 3.12.1 include tree: no change)."""
    python = pyenv_python("3.12.1")
    lib = os.path.join(os.path.dirname(os.path.dirname(python)), "lib", "libpython3.12.so.1.0")
    include = os.path.join(os.path.dirname(os.path.dirname(python)), "include", "python3.12")
    if not os.path.isfile(lib):
        pytest.skip(f"{lib} is absent (a static pyenv build)")
    status, document = _run(python, include, "--new-lib", lib)
    assert status in (0, 4), status  # no break: the same release on both sides
    assert not document["new"]["headers_only"]
    assert [c for c in document["changes"] if c["rule"].startswith("ABI6")] == []
    _status, without = _run(python, include)
    assert without["new"]["headers_only"]
