"""The real CPython builds of this machine that integration tests use, and how to skip without them."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable

import pytest

PYENV = os.environ.get("ABIDIFF_PYENV_ROOT", "/root/.pyenv/versions")
DEBIAN_311 = "/usr/bin/python3.11"


def pyenv_python(version: str) -> str:
    """The interpreter of pyenv build ``version`` (``"3.13.0"``); skips the test when absent."""
    feature = ".".join(version.split(".")[:2])
    path = os.path.join(PYENV, version, "bin", f"python{feature}")
    if not os.access(path, os.X_OK):
        pytest.skip(f"CPython {version} is not installed at {path} (pyenv build absent on this machine)")
    return path


def debian_python311() -> str:
    if not os.access(DEBIAN_311, os.X_OK):
        pytest.skip(f"Debian's python3.11 is not installed at {DEBIAN_311}")
    if not os.path.isfile("/usr/include/python3.11/Python.h"):
        pytest.skip("Debian's python3.11 headers are absent (apt-get install python3.11-dev)")
    return DEBIAN_311


def need_gcc() -> str:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not on PATH: the layout oracle needs it (apt-get install gcc)")
    return gcc


REAL_BUILDS: dict[str, Callable[[], str]] = {
    "3.11-debian": debian_python311,
    "3.12.1": lambda: pyenv_python("3.12.1"),
    "3.13.0": lambda: pyenv_python("3.13.0"),
}
