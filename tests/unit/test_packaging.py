"""Packaging: the sdist and the wheel build (``python -m build``), pass ``twine check``, and the
wheel holds every data file of the package (schemas, the stable ABI data, the rule catalogue,
the shipped suppressions, the Windows stub headers) and the licence; the README opens well on
PyPI; ``make demo`` installs no test extra.

The build runs without isolation (setuptools from the test extras): offline and in seconds.
"""

from __future__ import annotations

import email.parser
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = os.path.join(ROOT, "src", "abidiff")


def _have(module: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is absent (part of the test extras)")


def _data_files() -> set[str]:
    """Every file of the package that is no Python source, relative to ``src/`` (the ones
    git tracks when this is a checkout)."""
    found = set()
    for folder, dirs, files in os.walk(PACKAGE):
        dirs[:] = [name for name in dirs if name != "__pycache__"]
        for name in files:
            if not name.endswith((".py", ".pyc")):
                found.add(os.path.relpath(os.path.join(folder, name), os.path.join(ROOT, "src")).replace(os.sep, "/"))
    git = shutil.which("git")
    if git and os.path.isdir(os.path.join(ROOT, ".git")):
        tracked = subprocess.run(
            [git, "ls-files", "src/abidiff"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
        found &= {path.removeprefix("src/") for path in tracked}
    return found


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist and the wheel, built from a copy of the project (the tree is not written)."""
    _have("build")
    _have("setuptools")
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(os.path.join(ROOT, name), source / name)
    shutil.copytree(
        os.path.join(ROOT, "src"), source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


def test_twine_check(dists: dict[str, Path]) -> None:
    _have("twine")
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(dists["sdist"]), str(dists["wheel"])],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_wheel_holds_the_data_files_and_the_licence(dists: dict[str, Path]) -> None:
    with zipfile.ZipFile(dists["wheel"]) as wheel:
        names = set(wheel.namelist())
        metadata_name = next(name for name in names if name.endswith(".dist-info/METADATA"))
        metadata = email.parser.Parser().parsestr(wheel.read(metadata_name).decode())
    expected = _data_files()
    tables = {"abidiff/rules/catalogue.toml", "abidiff/commands/commands.toml", "abidiff/data/abi3-known.toml"}
    assert {*tables, "abidiff/data/stable_abi.json"} <= expected
    assert {name for name in expected if name.startswith("abidiff/schemas/")}, "the JSON Schemas"
    assert expected <= names, sorted(expected - names)
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    assert metadata["License-Expression"] == "MIT"
    requires = metadata.get_all("Requires-Dist") or []
    assert any(value.startswith("tomli") and "python_version" in value for value in requires)
    urls = {value.split(", ", 1)[0] for value in metadata.get_all("Project-URL") or []}
    assert {"Repository", "Documentation", "Issues"} <= urls
    assert "Programming Language :: Python :: 3.10" in (metadata.get_all("Classifier") or [])
    assert metadata["Description-Content-Type"] == "text/markdown"


def test_sdist_holds_the_licence_and_the_data(dists: dict[str, Path]) -> None:
    with tarfile.open(dists["sdist"]) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert {"LICENSE", "README.md", "pyproject.toml"} <= names
    assert {f"src/{name}" for name in _data_files()} <= names


def test_readme_opening_has_no_relative_link() -> None:
    """PyPI shows the README without the repository: its opening (up to the documentation
    list) has no link that only works inside the repository."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        opening = handle.read().split("\n## ", 1)[0]
    links = re.findall(r"\]\(([^)]+)\)", opening)
    assert all(link.startswith(("https://", "http://")) for link in links), links
    assert "make demo" in opening and "make test" in opening


def test_make_demo_installs_no_test_extra() -> None:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is absent")
    commands = {}
    for target in ("demo", "test"):
        result = subprocess.run(
            [make, "-n", "-B", target, "VENV=/nonexistent/venv"], cwd=ROOT, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        commands[target] = [line for line in result.stdout.splitlines() if "pip install" in line and " -e " in line]
    assert commands["demo"] and all("[test]" not in line for line in commands["demo"])
    assert any("'.[test]'" in line for line in commands["test"])
