"""Shared fixtures.  Snapshots of real builds are made once per session: they are the
expensive part of the suite (one libclang parse per Py_LIMITED_API level)."""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from abidiff.model import Snapshot

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# the suite never reads or writes the user's snapshot cache: one private cache per session
# (subprocesses running the CLI inherit it, and so do pytest-xdist's workers from the process
# that started them, which removes it); tests of the cache itself make their own
_WORKER = "PYTEST_XDIST_WORKER" in os.environ
_TEST_CACHE = os.environ.get("ABIDIFF_TEST_SESSION_CACHE", "") if _WORKER else ""
if not _TEST_CACHE:
    _TEST_CACHE = os.environ["ABIDIFF_TEST_SESSION_CACHE"] = tempfile.mkdtemp(prefix="abidiff-test-cache-")
os.environ["ABIDIFF_CACHE_DIR"] = _TEST_CACHE
os.environ.setdefault("ABIDIFF_NO_PROGRESS", "1")
FIXTURES = os.path.join(ROOT, "fixtures")

if not _WORKER:
    # abidiff's bytecode, brought up to date once (as scripts/bench.py does): the suite runs
    # the CLI in a few hundred subprocesses, and where PYTHONDONTWRITEBYTECODE is set (this
    # machine) each would compile every module it imports that changed since (0.2-0.3 s)
    import compileall

    compileall.compile_dir(os.path.join(ROOT, "src", "abidiff"), quiet=1)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _WORKER:
        shutil.rmtree(_TEST_CACHE, ignore_errors=True)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """How many pytest-xdist workers ``-n auto`` (pyproject's addopts) starts: two for the whole
    suite or a directory of it, on two cores or more (the suite waits on subprocesses and single
    Python threads half of the time; each worker's header parses use a pool of one process per
    core, so more workers would only share the cores); none, the tests running in this process,
    for chosen files or tests, or on one core.  PYTEST_XDIST_AUTO_NUM_WORKERS still decides."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    if (os.cpu_count() or 1) < 2 or any(not os.path.isdir(arg.split("::")[0]) for arg in config.args):
        return 0
    return 2


MINIMAL_HEADERS = os.path.join(FIXTURES, "headers", "minimal")


@functools.cache
def snapshot_cached(spec: str) -> Snapshot:
    from abidiff.builder import snapshot_of

    return snapshot_of(spec)


@pytest.fixture(scope="session")
def minimal_snapshot() -> Snapshot:
    return snapshot_cached(MINIMAL_HEADERS)


# --- binary fixtures (ELF, PE, Mach-O) built by scripts/build_fixtures.py with zig ---------


def _load_build_fixtures() -> ModuleType:
    return _load_script("build_fixtures")


@pytest.fixture(scope="session")
def binary_fixtures() -> dict[str, str]:
    """``{file name: path}`` of the compiled binary fixtures; skips when zig is absent."""
    builder = _load_build_fixtures()
    if not builder.have_zig():
        pytest.skip("the zig toolchain (pip install ziglang) is absent: binary fixtures cannot be built")
    return {name: str(path) for name, path in builder.build_all().items()}


# --- compare (issue 4): the base header tree and one-edit variants of it -----------------

BASE_HEADERS = os.path.join(FIXTURES, "headers", "base")

Edit = tuple[str, str, str]  # (file under the tree, old text, new text)
MakeVariant = Callable[[tuple[Edit, ...]], Snapshot]  # the variant_snapshot fixture


def make_variant(tmp_root: str, edits: tuple[Edit, ...]) -> str:
    """A copy of ``fixtures/headers/base`` under ``tmp_root`` with ``edits`` applied; each
    edit's old text must occur exactly once (a stale table fails loudly)."""
    import shutil
    import tempfile

    target = os.path.join(tempfile.mkdtemp(prefix="variant-", dir=tmp_root), "include")
    shutil.copytree(BASE_HEADERS, target)
    for relative, old, new in edits:
        path = os.path.join(target, relative)
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        assert text.count(old) == 1, f"{relative}: the edit's old text occurs {text.count(old)} times: {old!r}"
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text.replace(old, new))
    return target


@pytest.fixture(scope="session")
def base_snapshot() -> Snapshot:
    return snapshot_cached(BASE_HEADERS)


@pytest.fixture
def variant_snapshot(tmp_path: Path) -> MakeVariant:
    """``variant_snapshot(edits)``: the snapshot of the base tree with ``edits`` applied."""
    from abidiff.builder import snapshot_of

    def build(edits: tuple[Edit, ...]) -> Snapshot:
        return snapshot_of(make_variant(str(tmp_path), edits))

    return build


@pytest.fixture
def cpython_repo(tmp_path: Path) -> Path:
    """A CPython-like git repository: tags v3.12.0a1 and v3.12.0a2 (a new field), then main."""
    from tests.gitrepo import make_cpython_repo

    return make_cpython_repo(tmp_path)


# --- extension-module fixtures (issue 6) built by scripts/build_ext_fixtures.py with zig ---


def _load_script(name: str) -> ModuleType:
    import importlib.util
    import sys

    path = os.path.join(ROOT, "scripts", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"abidiff_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def ext_fixtures() -> dict[str, str]:
    """``{"elf/abi3": path, "pe/full": path, ...}`` of the compiled extension modules;
    skips when zig is absent."""
    builder = _load_script("build_ext_fixtures")
    if not builder.have_zig():
        pytest.skip("the zig toolchain (pip install ziglang) is absent: extension fixtures cannot be built")
    return {key: str(path) for key, path in builder.build_all().items()}
