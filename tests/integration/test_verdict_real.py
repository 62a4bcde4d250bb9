"""PEP 605's verdict on the real builds of this machine (issue 10): false breaks that are gone,
breaks that compare and abi3 now agree on, the feature base on real header trees."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from abidiff.abi3 import audit, choose_manifest
from abidiff.builder import snapshot_of, snapshots_of
from abidiff.commands.compare import exit_status
from abidiff.compare import compare
from abidiff.model import Snapshot
from abidiff.options import BuildOptions
from abidiff.rules import Report, Severity, StableVerdict, Verdict, abi3_report
from tests.conftest import snapshot_cached
from tests.realbuilds import PYENV, debian_python311, pyenv_python

pytestmark = pytest.mark.integration


def _snap(version: str) -> Snapshot:
    return snapshot_cached(pyenv_python(version))


# -- 3.8 -> 3.9 ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def report_38_39() -> Report:
    return compare(_snap("3.8.18"), _snap("3.9.18"))


def test_38_39_no_break_names_a_pycodeobject_tag(report_38_39: Report) -> None:
    breaks = [c for c in report_38_39.changes if c.severity == Severity.BREAK]
    assert breaks, "3.8 -> 3.9 does break the full ABI (PyTypeObject lost tp_print)"
    assert not [c.message for c in breaks if "struct PyCodeObject" in c.message]
    # the functions themselves are still compared: PyCode_New is there on both sides
    assert not [c for c in report_38_39.changes if c.entity == "PyCode_New" and c.rule == "ABI202"]


def test_38_39_no_break_for_data_38_never_exported(report_38_39: Report) -> None:
    old = _snap("3.8.18")
    exported = {symbol.name for binary in old.binaries for symbol in binary.symbols}
    never = [c for c in report_38_39.changes if c.rule == "ABI211"]
    assert never, "3.8 declares data its libpython never exported (PyNullImporter_Type, ...)"
    for change in never:
        assert change.entity not in exported
        assert change.severity != Severity.BREAK
    removed_data = [c for c in report_38_39.changes if c.rule == "ABI302"]
    assert all(c.entity in exported for c in removed_data)


def test_38_39_pycfunction_new_is_a_stable_abi_break_in_compare_and_abi3(report_38_39: Report) -> None:
    [finding] = [c for c in report_38_39.changes if c.entity == "PyCFunction_New"]
    assert (finding.tier, finding.severity) == ("limited", Severity.BREAK)
    assert report_38_39.stable_abi_verdict == StableVerdict.BROKEN
    build = _snap("3.9.18")
    entries, source = choose_manifest(build)
    audit_report = abi3_report(audit(build, manifest=entries, manifest_source=source))
    assert any(c.rule == "ABI804" and c.entity == "PyCFunction_New" for c in audit_report.changes)


# -- a patch-level pair of two distributions -------------------------------------------------


def test_debian_3112_against_pyenv_3117_has_no_break_and_no_export_noise() -> None:
    debian = snapshot_cached(debian_python311())
    report = compare(debian, _snap("3.11.7"))
    assert (report.verdict, report.stable_abi_verdict) == (Verdict.BINARY_COMPATIBLE, StableVerdict.INTACT)
    assert not [c for c in report.changes if c.entity.startswith("PyInit_")]
    # what is left is real: 3.11.7 fixed the limited-API guard of PyModule_AddObjectRef (3.10);
    # and Debian's pydtrace.h cannot be read (its pydtrace_probes.h is not shipped): not compared
    listed = {(c.rule, c.entity) for c in report.changes if c.severity != Severity.INFO}
    not_compared = {("ABI004", header) for header in debian.unread}  # exactly the headers it left out
    assert listed - {("ABI701", "PyModule_AddObjectRef")} == not_compared, listed
    assert exit_status(report) == (4 if listed else 0)


# -- the feature base on real header trees -----------------------------------------------------


def _copy_include(version: str, dest: Path) -> Path:
    feature = ".".join(version.split(".")[:2])
    source = Path(PYENV) / version / "include" / f"python{feature}"
    if not (source / "Python.h").is_file():
        pytest.skip(f"the headers of CPython {version} are absent at {source}")
    target = dest / f"include-{version}"
    shutil.copytree(source, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture(scope="module")
def three_trees(tmp_path_factory: pytest.TempPathFactory) -> tuple[Snapshot, Snapshot, Snapshot]:
    """Feature base 3.12 headers, OLD the 3.13 headers, NEW 3.13 with two edits: PyList_Extend
    (public, new in 3.13) and PyLong_AsInt (limited, new in 3.13) each take one more argument."""
    root = tmp_path_factory.mktemp("trees")
    base = _copy_include("3.12.1", root)
    old = _copy_include("3.13.0", root)
    new = _copy_include("3.13.0", root / "edited")
    _edit(
        new / "cpython" / "listobject.h",
        "PyList_Extend(PyObject *self, PyObject *iterable)",
        "PyList_Extend(PyObject *self, PyObject *iterable, int flags)",
    )
    _edit(
        new / "longobject.h",
        "PyAPI_FUNC(int) PyLong_AsInt(PyObject *);",
        "PyAPI_FUNC(int) PyLong_AsInt(PyObject *, int);",
    )
    made = snapshots_of([str(base), str(old), str(new)], BuildOptions())  # read at once, in one pool
    return made[0], made[1], made[2]


def test_a_function_new_since_the_base_is_provisional(three_trees: tuple[Snapshot, Snapshot, Snapshot]) -> None:
    base, old, new = three_trees
    without = compare(old, new)
    extend = [c for c in without.changes if c.entity == "PyList_Extend"]
    assert [c.severity for c in extend] == [Severity.BREAK]
    judged = compare(old, new, feature_base=base)
    [finding] = [c for c in judged.changes if c.entity == "PyList_Extend"]
    assert (finding.severity, finding.exemption) == (Severity.WARNING, "ABI002")


def test_a_limited_function_new_since_the_base_breaks_either_way(
    three_trees: tuple[Snapshot, Snapshot, Snapshot],
) -> None:
    base, old, new = three_trees
    for report in (compare(old, new), compare(old, new, feature_base=base)):
        [finding] = [c for c in report.changes if c.entity == "PyLong_AsInt" and c.rule == "ABI204"]
        assert (finding.severity, finding.exemption) == (Severity.BREAK, None)
        assert (report.verdict, report.stable_abi_verdict) == (Verdict.ABI_BREAKING, StableVerdict.BROKEN)


def test_only_the_provisional_change_makes_a_beta(
    three_trees: tuple[Snapshot, Snapshot, Snapshot], tmp_path: Path
) -> None:
    base, old, _new = three_trees
    tree = _copy_include("3.13.0", tmp_path)
    _edit(
        tree / "cpython" / "listobject.h",
        "PyList_Extend(PyObject *self, PyObject *iterable)",
        "PyList_Extend(PyObject *self, PyObject *iterable, int flags)",
    )
    only_provisional = snapshot_of(str(tree), BuildOptions())
    assert compare(old, only_provisional).verdict == Verdict.ABI_BREAKING
    assert compare(old, only_provisional, feature_base=base).verdict == Verdict.BINARY_COMPATIBLE


def test_datetime_capi_field_inserted_is_a_break(
    three_trees: tuple[Snapshot, Snapshot, Snapshot], tmp_path: Path
) -> None:
    _base, old, _new = three_trees  # OLD: a copy of 3.13's headers, as this test's new tree before its edit
    new_tree = _copy_include("3.13.0", tmp_path / "edited")
    text = (new_tree / "datetime.h").read_text(encoding="utf-8")
    match = re.search(r"typedef struct \{\n\s*/\* type objects \*/\n\s*PyTypeObject \*DateType;", text)
    if match is None:
        pytest.skip("datetime.h of 3.13.0 does not have the PyDateTime_CAPI layout this test edits")
    _edit(new_tree / "datetime.h", match.group(0), match.group(0) + "\n    PyTypeObject *InsertedType;")
    report = compare(old, snapshot_of(str(new_tree), BuildOptions()))
    if not any("PyDateTime_CAPI" in c.entity for c in report.changes):
        pytest.fail("PyDateTime_CAPI is not read: datetime.h must be read like every public header")
    assert report.verdict == Verdict.ABI_BREAKING
    assert any(c.entity.startswith("PyDateTime_CAPI.") and c.severity == Severity.BREAK for c in report.changes)


def test_the_feature_base_is_stated_in_every_format(three_trees: tuple[Snapshot, Snapshot, Snapshot]) -> None:
    from abidiff.report.registry import render

    base, old, new = three_trees
    report = compare(old, new, feature_base=base)
    for name in ("text", "json", "markdown", "news", "sarif", "junit", "github"):
        assert base.build.version in render(report, name), name


# -- a git-ref comparison (headers only) and one of installed builds agree ---------------------


@pytest.fixture(scope="module")
def release_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A CPython-like repository and the pyconfig.h its refs are read with: 3.12.1's headers
    tagged v3.12.0 and v3.12.1, 3.13.0's tagged v3.13.0, then main with PyList_Extend taking
    one more argument; the tags packed (packed-refs, as a fresh clone has them).  The two tests
    below read the same commits: the second finds v3.12.0 and v3.13.0 in the session's cache."""
    from tests.gitrepo import git, need_git

    need_git()
    root = tmp_path_factory.mktemp("release-repo")
    repo = root / "cpython"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    edited = _copy_include("3.13.0", root / "edited")
    _edit(
        edited / "cpython" / "listobject.h",
        "PyList_Extend(PyObject *self, PyObject *iterable)",
        "PyList_Extend(PyObject *self, PyObject *iterable, int flags)",
    )
    trees = [
        (("v3.12.0", "v3.12.1"), _copy_include("3.12.1", root / "a")),
        (("v3.13.0",), _copy_include("3.13.0", root / "b")),
        ((), edited),
    ]
    for tags, tree in trees:
        shutil.rmtree(repo / "Include", ignore_errors=True)
        shutil.copytree(tree, repo / "Include", ignore=shutil.ignore_patterns("pyconfig.h"))
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", tags[-1] if tags else "main")
        for tag in tags:
            git(repo, "tag", tag)
    git(repo, "pack-refs", "--all")
    return repo, Path(PYENV) / "3.13.0" / "include" / "python3.13" / "pyconfig.h"


def test_git_refs_and_installed_builds_agree_on_the_stable_abi_of_312_313(release_repo: tuple[Path, Path]) -> None:
    import io
    import json
    import subprocess

    from abidiff.cli import main_inner

    repo, pyconfig = release_repo
    out = io.StringIO()
    refs = ["v3.12.1", "v3.13.0", "--repo", str(repo), "--pyconfig", str(pyconfig)]
    # no feature base (the repository has v3.12.0), as in the comparison of the installed builds
    status = main_inner([*refs, "--format", "json", "--feature-base", "none"], stdout=out)
    by_refs = json.loads(out.getvalue())
    installed = compare(_snap("3.12.1"), _snap("3.13.0"))
    assert by_refs["old"]["headers_only"] and by_refs["new"]["headers_only"]
    assert by_refs["stable_abi_verdict"] == installed.stable_abi_verdict == StableVerdict.INTACT
    assert status & 8  # both say the full ABI broke (PyThreadState and friends)
    kept = [c for c in by_refs["changes"] if c["rule"] == "ABI209" and "manifest" in c["detail"]]
    assert kept, "the functions 3.13 removed from the limited API headers stay exported by the manifest"
    assert not subprocess.run(["git", "-C", str(repo), "status", "--porcelain"], capture_output=True, text=True).stdout


def test_two_git_refs_take_the_previous_feature_release_as_base_by_default(release_repo: tuple[Path, Path]) -> None:
    """``abidiff v3.13.0 main`` in a checkout that has the tag v3.12.0: that tag is the feature
    base, unasked; ``--feature-base none`` judges without it."""
    import io
    import json

    from abidiff.cli import main_inner

    repo, pyconfig = release_repo
    args = ["v3.13.0", "main", "--repo", str(repo), "--pyconfig", str(pyconfig), "--format", "json"]

    def extend(*extra: str) -> tuple[dict[str, object] | None, dict[str, object]]:
        out = io.StringIO()
        main_inner([*args, *extra], stdout=out)
        document = json.loads(out.getvalue())
        [finding] = [c for c in document["changes"] if c["entity"] == "PyList_Extend"]
        return document["feature_base"], finding

    base, finding = extend()
    assert base is not None and base["version"] == "3.12.1"  # the headers tagged v3.12.0 say 3.12.1
    assert (finding["severity"], finding["exemption"]) == ("warning", "ABI002")
    base, finding = extend("--feature-base", "none")
    assert base is None
    assert (finding["severity"], finding["exemption"]) == ("break", None)
