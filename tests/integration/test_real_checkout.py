"""A real CPython checkout end to end (issue 15), through the command line.

The pristine 3.11.2 and 3.13.5 release trees (Debian's ``.orig`` tarballs, fetched by
``scripts/fetch_cpython_sources.py``) are committed as the tags ``v3.11.2`` and ``v3.13.5`` of
a git repository whose checkout is a developer's (a configured build in it, an untracked file,
an edit).  abidiff runs the real ``./configure`` of each tag, and for one test builds the real
libpython of v3.13.5.  Both are kept in a cache beside the sources, so only the first run on a
machine pays for them (see docs/performance.md); the snapshots are made afresh on every run.

Skips, with the reason, when the sources cannot be fetched; the ``--build`` test runs when its
build is cached, else it builds (a few minutes, once: the build is cached beside the sources);
``ABIDIFF_REAL_BUILD=0`` skips it when it is not cached.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from abidiff import snapshot as snapshot_io
from abidiff.model import BinaryRole
from abidiff.sources.gitref import configure_key, libpython_key
from tests.conftest import _load_script
from tests.gitrepo import RepoState, git, repo_state
from tests.realbuilds import pyenv_python

pytestmark = pytest.mark.integration

fetcher = _load_script("fetch_cpython_sources")
CACHE = Path(fetcher.DEFAULT_DEST) / "abidiff-cache"  # configure runs and builds, kept between runs
REAL_BUILD = os.environ.get("ABIDIFF_REAL_BUILD") != "0"  # the one test that compiles libpython


@pytest.fixture(scope="module")
def real_repo() -> Path:
    try:
        try:
            repo: Path = fetcher.make_repo()
        except fetcher.FetchError:
            # as the HTML test installs chromium: the test set-up adds the deb-src entry apt needs
            # (root only, once per machine), then tries again
            if os.geteuid() != 0 or (fetcher.APT_SOURCES / "abidiff-deb-src.sources").exists():
                raise
            fetcher.setup_apt()
            repo = fetcher.make_repo()
    except (fetcher.FetchError, OSError, subprocess.SubprocessError) as exc:
        pytest.skip(
            f"the CPython 3.11.2 and 3.13.5 sources cannot be fetched: {exc} "
            "(run 'python scripts/fetch_cpython_sources.py --setup-apt' as root once)"
        )
    shutil.rmtree(CACHE / "snapshots", ignore_errors=True)  # every run parses; configure and make stay
    return repo


@pytest.fixture(autouse=True)
def checkout_untouched(real_repo: Path) -> Iterator[RepoState]:
    """After every test the checkout is byte for byte what it was: status with ignored
    files, HEAD, index, stash, worktrees, every file under .git."""
    before = repo_state(real_repo)
    assert "!! pyconfig.h" in before.status and "?? notes.txt" in before.status and " M README.rst" in before.status
    yield before
    assert repo_state(real_repo) == before


def commit(repo: Path, tag: str) -> str:
    return git(repo, "rev-parse", f"{tag}^{{commit}}").strip()


def abidiff(*args: str, repo: Path, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "abidiff", *args, "--repo", str(repo), "--cache-dir", str(CACHE)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def report(*args: str, repo: Path) -> tuple[int, dict[str, Any]]:
    proc = abidiff("compare", *args, "--format", "json", repo=repo)
    assert proc.returncode & 3 == 0, proc.stderr  # no error
    document: dict[str, Any] = json.loads(proc.stdout)
    return proc.returncode, document


@pytest.mark.parametrize("version", ["3.11.2", "3.13.5"])
def test_configure_only_snapshot(real_repo: Path, tmp_path: Path, version: str) -> None:
    out = tmp_path / f"{version}.json"
    proc = abidiff("dump", f"v{version}", "-o", str(out), repo=real_repo)
    assert proc.returncode == 0, proc.stderr
    snapshot = snapshot_io.load(str(out))
    build = snapshot.build
    assert (build.version, build.headers_only, snapshot.binaries) == (version, True, ())
    assert build.origin == f"git v{version} ({commit(real_repo, f'v{version}')[:12]})"
    assert build.config_value("Py_ENABLE_SHARED") == 1  # ./configure --enable-shared ran
    assert len(snapshot.functions) > 1000 and len(snapshot.records) > 100
    assert len(snapshot.manifest) > 500  # Misc/stable_abi.toml of the tag
    assert version.rsplit(".", 1)[0] in snapshot.limited_levels  # Py_LIMITED_API up to the release's own
    configured = CACHE / "artifacts" / "configure" / configure_key(commit(real_repo, f"v{version}"))
    assert sorted(os.listdir(configured))[-1] == "pyconfig.h"


def test_two_releases(real_repo: Path) -> None:
    """3.11.2 -> 3.13.5: the full ABI breaks (a new feature release), the stable ABI holds."""
    status, document = report("v3.11.2", "v3.13.5", repo=real_repo)
    assert status == 12
    assert (document["old"]["version"], document["new"]["version"]) == ("3.11.2", "3.13.5")
    assert (document["verdict"], document["stable_abi_verdict"]) == ("abi-breaking", "intact")
    assert document["release_kind"] == "alpha"


# 3.13.0 -> 3.13.5: the one break is real: bpo-44172 (3.13.4) added ``orig`` at the end of the
# public PyCursesWindowObject of py_curses.h (a header Python.h does not include); a field added
# to a public struct counts as a break, whoever allocates it.  Everything else is compatible.
SAME_SERIES_BREAKS = ["PyCursesWindowObject.orig"]


def breaks(document: dict[str, Any]) -> list[str]:
    return sorted(change["entity"] for change in document["changes"] if change["severity"] == "break")


def test_installed_313_against_a_tag_of_the_same_series(real_repo: Path) -> None:
    python = pyenv_python("3.13.0")
    status, document = report(python, "v3.13.5", repo=real_repo)
    assert (document["old"]["version"], document["new"]["version"]) == ("3.13.0", "3.13.5")
    assert breaks(document) == SAME_SERIES_BREAKS
    assert document["stable_abi_verdict"] == "intact" and document["headers_only"] is True
    assert status == 12


def built_library(repo: Path) -> Path:
    return CACHE / "artifacts" / "libpython" / libpython_key(commit(repo, "v3.13.5")) / "libpython3.13.so.1.0"


def exports(library: str) -> set[str]:
    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("nm is not on PATH: the export oracle needs it (apt-get install binutils)")
    text = subprocess.run([nm, "-D", "--defined-only", library], capture_output=True, text=True, check=True).stdout
    return {line.split()[-1] for line in text.splitlines() if len(line.split()) == 3}


def test_build_and_compare_exports(real_repo: Path, tmp_path: Path) -> None:
    """``--build`` of v3.13.5 (the real ./configure --enable-shared and make of libpython),
    then its exports compared with those of the installed 3.13.0 libpython."""
    if not REAL_BUILD and not built_library(real_repo).is_file():
        pytest.skip(
            "ABIDIFF_REAL_BUILD=0 and the --build of v3.13.5 is not cached (it takes about 3 minutes "
            "on 2 cores; 'python scripts/fetch_cpython_sources.py --warm' makes it once)"
        )
    python = pyenv_python("3.13.0")
    out = tmp_path / "built.json"
    dumped = abidiff("dump", "--build", "v3.13.5", "-o", str(out), repo=real_repo)
    assert dumped.returncode == 0, dumped.stderr
    snapshot = snapshot_io.load(str(out))
    (libpython,) = [binary for binary in snapshot.binaries if binary.role == BinaryRole.LIBPYTHON]
    assert libpython.path == "libpython3.13.so.1.0" and not snapshot.build.headers_only
    built = exports(str(built_library(real_repo)))
    assert {symbol.name for symbol in libpython.symbols} == built  # nm agrees

    status, document = report(python, "v3.13.5", "--build", repo=real_repo)
    assert document["headers_only"] is False  # the exports were compared
    installed = exports(os.path.realpath(Path(python).parents[1] / "lib" / "libpython3.13.so.1.0"))
    assert {name for name in installed - built if name.startswith("Py")} == set()  # no public export removed
    reported = {change["entity"] for change in document["changes"] if change["rule"] in ("ABI601", "ABI602")}
    assert reported == (installed ^ built) - {"_init", "_fini"}  # every export added or removed, as nm sees it
    assert breaks(document) == SAME_SERIES_BREAKS  # no export change breaks
    assert document["stable_abi_verdict"] == "intact" and status == 12
