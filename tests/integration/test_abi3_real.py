"""``abidiff abi3`` on each pyenv build against the previous feature release, checked against
facts established without abidiff's code: the stable ABI data shipped in the package (CPython's
manifest, read here as plain JSON), gcc's
preprocessor at each ``Py_LIMITED_API`` level (as in ``test_limited_oracle.py``) and
``nm -D --defined-only`` of each libpython."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess

import pytest

from abidiff.abi3 import audit, choose_manifest
from abidiff.model import Snapshot, version_key
from abidiff.rules import Abi3Report, abi3_report
from abidiff.sources import resolve
from tests.conftest import ROOT, snapshot_cached
from tests.integration.test_limited_oracle import _source, seen_at_levels
from tests.realbuilds import need_gcc, pyenv_python

pytestmark = pytest.mark.integration

PAIRS = [("3.9.18", "3.8.18"), ("3.10.13", "3.9.18"), ("3.11.7", "3.10.13"), ("3.12.1", "3.11.7"), ("3.13.0", "3.12.1")]
MANIFEST = os.path.join(ROOT, "src", "abidiff", "data", "stable_abi.json")
# feature macros of the manifest that hold for these Linux release builds
LINUX_FEATURES = {None, "HAVE_FORK", "PY_HAVE_THREAD_NATIVE_ID"}


def _manifest() -> dict[str, dict[str, object]]:
    with open(MANIFEST, encoding="utf-8") as handle:
        document = json.load(handle)
    return {entry["name"]: entry for entry in document["entries"]}


def _applies(item: dict[str, object], version: str) -> bool:
    added = item.get("added")
    assert isinstance(added, str)
    return version_key(added) <= version_key(version) and item.get("ifdef") in LINUX_FEATURES


@functools.cache
def _nm_exports(spec: str) -> frozenset[str]:
    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("nm is not on PATH (apt-get install binutils)")
    libdir = os.path.join(os.path.dirname(os.path.dirname(spec)), "lib")
    feature = os.path.basename(spec).removeprefix("python")
    library = os.path.join(libdir, f"libpython{feature}.so")
    if not os.path.exists(library):
        pytest.skip(f"{library} is absent: this build is not a shared build")
    text = subprocess.run([nm, "-D", "--defined-only", library], capture_output=True, text=True, check=True).stdout
    return frozenset(line.split()[-1].split("@")[0] for line in text.splitlines() if line.strip())


@functools.cache
def _tree_and_source(spec: str) -> tuple[str, tuple[str, ...], str]:
    """The build's include directory, its configuration directories, and what gcc -E reads."""
    resolved = resolve(spec)
    assert resolved.include_dir is not None
    source = _source(snapshot_cached(spec), resolved.include_dir, resolved.config_dirs)
    return resolved.include_dir, resolved.config_dirs, source


@functools.cache
def _visible(spec: str, level: str) -> tuple[frozenset[str], frozenset[str]]:
    """(identifiers in code, macros defined) that gcc -E shows at ``level`` in the build's own
    headers (gcc runs at every level of the build at once, two at a time)."""
    gcc = need_gcc()
    include_dir, config_dirs, source = _tree_and_source(spec)
    levels = snapshot_cached(spec).limited_levels
    seen = seen_at_levels(gcc, include_dir, config_dirs, levels if level in levels else (level,), source)
    plain, _tags, defines = seen[level][False]
    return plain, defines


def _first_level(spec: str, snapshot: Snapshot, name: str, *, macro: bool) -> str | None:
    for level in snapshot.limited_levels:
        plain, defines = _visible(spec, level)
        if name in (defines if macro else plain):
            return level
    return None


@functools.cache  # one audit per pair, for the four tests of the pair
def _report(new_version: str, old_version: str) -> tuple[str, str, Snapshot, Snapshot, Abi3Report]:
    new_spec, old_spec = pyenv_python(new_version), pyenv_python(old_version)
    new, old = snapshot_cached(new_spec), snapshot_cached(old_spec)
    entries, source = choose_manifest(new)
    assert source is not None and "abidiff's copy" in source  # installed builds carry no manifest
    return new_spec, old_spec, new, old, abi3_report(audit(new, old, manifest=entries, manifest_source=source))


@pytest.mark.parametrize(("new_version", "old_version"), PAIRS)
def test_abi804_matches_nm(new_version: str, old_version: str) -> None:
    new_spec, _old_spec, new, _old, report = _report(new_version, old_version)
    exports = _nm_exports(new_spec)
    feature = new.build.feature_version
    expected = {
        name
        for name, item in _manifest().items()
        if item["kind"] in ("function", "data") and _applies(item, feature) and name not in exports
    }
    found = {item.entity for item in report.changes if item.rule == "ABI804"}
    assert found == expected


@pytest.mark.parametrize(("new_version", "old_version"), PAIRS)
def test_abi801_matches_gcc(new_version: str, old_version: str) -> None:
    new_spec, _old_spec, new, _old, report = _report(new_version, old_version)
    feature = new.build.feature_version
    expected = set()
    for name, item in _manifest().items():
        if item["kind"] not in ("function", "data", "const", "macro") or not _applies(item, feature):
            continue
        first = _first_level(new_spec, new, name, macro=item["kind"] in ("const", "macro"))
        if first is None and item["kind"] in ("function", "data"):
            first = _first_level(new_spec, new, name, macro=True)  # a function spelled as a macro
        if first is not None and version_key(first) < version_key(str(item["added"])):
            expected.add(name)
    found = {
        item.entity
        for item in report.changes
        if item.rule == "ABI801" and item.entity_kind in ("function", "data", "macro")
    }
    assert found == expected


@pytest.mark.parametrize(("new_version", "old_version"), PAIRS)
def test_abi802_matches_gcc_and_nm(new_version: str, old_version: str) -> None:
    new_spec, old_spec, new, old, report = _report(new_version, old_version)
    level = old.build.feature_version
    shown_new, _ = _visible(new_spec, level)
    shown_old, defined_old = _visible(old_spec, level)
    old_exports = _nm_exports(old_spec)
    linked = {f.name for f in new.functions if not f.inline} | {v.name for v in new.variables}
    expected = {
        name
        for name in linked
        if name in shown_new and name not in shown_old and name not in defined_old and name not in old_exports
    }
    found = {
        item.entity for item in report.changes if item.rule == "ABI802" and item.entity_kind in ("function", "data")
    }
    assert found & linked == expected
    # the rest are static inline functions: API compiled into the extension, seen by gcc alike
    for name in found - linked:
        assert name in shown_new and name not in shown_old and name not in defined_old, name
    assert all(item.severity == "warning" for item in report.changes if item.rule == "ABI802")


@pytest.mark.parametrize(("new_version", "old_version"), PAIRS)
def test_stable_layouts_kept(new_version: str, old_version: str) -> None:
    *_, report = _report(new_version, old_version)
    # CPython kept PyObject's ob_refcnt/ob_type and the full-abi structs across these releases
    assert [item.message for item in report.changes if item.rule == "ABI805"] == []
    # the only breaks are exports the manifest promises and nm does not see (3.9's PyCFunction_New)
    broken = any(item.rule == "ABI804" for item in report.changes)
    assert report.stable_abi_verdict == ("broken" if broken else "intact")
    assert report.levels[-1].level == report.build.version.rsplit(".", 1)[0]
    assert report.levels[0].functions > 500
