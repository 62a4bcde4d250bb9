"""Reach and ``abidiff ext --source`` on real things (issue 14): a copy of pyenv's 3.13.0 headers
with a field inserted in ``PyObject`` before ``ob_type`` (PEP 605's own example of a break),
the fixture sources of ``fixtures/extensions/source/``, MarkupSafe's sdist (hand-written
``_speedups.c``, fetched by ``scripts/fetch_sdists.py``), and 3.12.1 -> 3.13.0."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from abidiff.builder import snapshot_of, snapshots_of
from abidiff.commands.common import Reporting
from abidiff.commands.ext import ext_main
from abidiff.model import Snapshot
from abidiff.report import jsonreport
from abidiff.rules import Report, compare
from tests.conftest import ROOT, _load_script
from tests.realbuilds import pyenv_python

pytestmark = pytest.mark.integration

SOURCES = os.path.join("fixtures", "extensions", "source")  # as a user names them, from the checkout
EXAMPLE = (
    "struct _object {\n#if (defined(__GNUC__)",
    "struct _object {\n    Py_ssize_t ob_example;\n#if (defined(__GNUC__)",
)


def _include(version: str) -> str:
    python = pyenv_python(version)
    feature = ".".join(version.split(".")[:2])
    return os.path.join(os.path.dirname(os.path.dirname(python)), "include", f"python{feature}")


@pytest.fixture(scope="module")
def mutation(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """OLD's include directory, and a comparison JSON of OLD -> a copy with ``ob_example``
    inserted first in PyObject (before the reference count and ob_type)."""
    old = _include("3.13.0")
    root = tmp_path_factory.mktemp("mutation")
    new = root / "python3.13"
    shutil.copytree(old, new)
    object_h = new / "object.h"
    text = object_h.read_text()
    assert text.count(EXAMPLE[0]) == 1, "3.13.0's object.h is not the one this test edits"
    object_h.write_text(text.replace(EXAMPLE[0], EXAMPLE[1]))
    before, after = snapshots_of([old, str(new)])  # both read at once, in one pool
    report = compare(before, after)
    path = root / "cmp.json"
    path.write_text(jsonreport.dumps(report))
    return old, path


def _added(path: Path) -> dict[str, Any]:
    document = json.loads(path.read_text())
    finding: dict[str, Any]
    [finding] = [item for item in document["changes"] if item["entity"] == "PyObject.ob_example"]
    return finding


@pytest.fixture(autouse=True)
def _in_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def _ext(*source: str, comparison: Path) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    status = ext_main(
        None,
        reporting=Reporting(fmt="json", stdout=out, stderr=io.StringIO()),
        source=source,
        comparison=str(comparison),
    )
    return status, json.loads(out.getvalue())


def test_pyobject_field_is_reached_through_py_type_and_py_incref(mutation: tuple[str, Path]) -> None:
    finding = _added(mutation[1])
    reached = finding["reached_through"]
    assert finding["rule"] == "ABI103" and finding["resized"] is True
    assert {"Py_TYPE", "Py_INCREF", "Py_DECREF", "Py_REFCNT", "PyObject_HEAD", "PyObject_VAR_HEAD"} <= set(reached)
    # through the records that embed PyObject (their fields move) and through other helpers
    assert {"Py_SIZE", "PyTuple_GET_ITEM", "PyType_HasFeature", "PyUnicode_GET_LENGTH"} <= set(reached)
    assert reached.index("Py_TYPE") < reached.index("PyTuple_GET_ITEM")


def test_fixture_sources_affected_at_their_lines(mutation: tuple[str, Path]) -> None:
    status, document = _ext(
        os.path.join(SOURCES, "objects.c"), os.path.join(SOURCES, "calls.c"), comparison=mutation[1]
    )
    assert status == 12 and document["affected"] is True
    [finding] = document["changes"]
    assert (finding["rule"], finding["entity"]) == ("ABI817", "PyObject.ob_example")
    places = {(p["file"], p["line"], p["via"]) for p in finding["places"]}
    objects = f"{SOURCES}/objects.c"
    assert places == {
        (objects, 12, "PyObject_HEAD"),  # embeds PyObject by value
        (objects, 19, "Py_TYPE"),  # reads ob_type
        (objects, 19, None),  # ->tp_flags: PyTypeObject embeds PyObject before it
        (objects, 26, "Py_INCREF"),  # the reference count moved
    }
    assert document["source"]["files"] == [f"{SOURCES}/calls.c", objects] and document["source"]["errors"] == []
    with open(os.path.join(ROOT, "src", "abidiff", "schemas", "ext.schema.json"), encoding="utf-8") as handle:
        jsonschema.validate(document, json.load(handle))


def test_a_source_that_only_calls_exported_functions_is_not_affected(mutation: tuple[str, Path]) -> None:
    status, document = _ext(os.path.join(SOURCES, "calls.c"), comparison=mutation[1])
    assert status == 0 and document["affected"] is False and document["changes"] == []
    assert document["advice"] == []


def test_between_gives_what_report_gives(mutation: tuple[str, Path]) -> None:
    """--between OLD NEW (snapshots of both builds here) and --report of the same comparison agree."""
    old, comparison = mutation
    new = str(comparison.parent / "python3.13")
    out = io.StringIO()
    ext_main(
        None,
        reporting=Reporting(fmt="json", stdout=out, stderr=io.StringIO()),
        source=(os.path.join(SOURCES, "objects.c"),),
        between=(old, new),
    )
    by_between = json.loads(out.getvalue())
    _status, by_report = _ext(os.path.join(SOURCES, "objects.c"), comparison=comparison)
    assert by_between["changes"] == by_report["changes"] and by_between["affected"] is True


@pytest.fixture(scope="module")
def markupsafe() -> str:
    fetcher = _load_script("fetch_sdists")
    requirement, pattern, _source = fetcher.SDISTS[0]
    try:
        return str(fetcher.fetch(requirement, pattern))
    except (fetcher.FetchError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"{requirement}'s sdist is not cached and cannot be downloaded (offline?): {exc}")


def test_real_sdist_is_affected_by_the_pyobject_field(markupsafe: str, mutation: tuple[str, Path]) -> None:
    status, document = _ext(markupsafe, comparison=mutation[1])
    assert status == 12 and document["affected"] is True
    assert document["source"]["files"] == ["MarkupSafe-2.1.5/src/markupsafe/_speedups.c"]
    [finding] = document["changes"]
    vias = {place["via"] for place in finding["places"]}
    assert {"Py_INCREF", "Py_DECREF", "PyUnicode_GET_LENGTH"} <= vias
    # the module definition: a PyModuleDef (whose PyModuleDef_Base embeds PyObject) by value
    assert any(place["via"] is None and place["line"] > 300 for place in finding["places"])


def test_a_wheel_with_its_sdist(markupsafe: str, mutation: tuple[str, Path]) -> None:
    """``abidiff ext WHEEL --source SDIST``: the wheel's imports and the sources' places."""
    fetcher = _load_script("fetch_wheels")
    requirement, pattern = _load_script("fetch_sdists").WHEELS[0]
    try:
        wheel = str(fetcher.fetch(requirement, pattern))
    except (fetcher.FetchError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"{requirement}'s wheel is not cached and cannot be downloaded (offline?): {exc}")
    out = io.StringIO()
    status = ext_main(
        wheel,
        reporting=Reporting(fmt="json", stdout=out, stderr=io.StringIO()),
        source=(markupsafe,),
        comparison=str(mutation[1]),
    )
    document = json.loads(out.getvalue())
    [module] = document["extensions"]
    assert module["path"] == "markupsafe/_speedups.cpython-39-x86_64-linux-gnu.so" and module["abi3"] is False
    assert status == 12 and document["affected"] is True
    assert [finding["rule"] for finding in document["changes"]] == ["ABI817"]


@pytest.fixture(scope="module")
def cpython_312_313() -> tuple[Report, Path]:
    old, new = pyenv_python("3.12.1"), pyenv_python("3.13.0")
    before, after = snapshots_of([old, new])
    report = compare(before, after)
    path = Path(ROOT, "fixtures", "build", "cmp-3.12.1-3.13.0.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(jsonreport.dumps(report))
    return report, path


def test_312_to_313_breaks_and_what_reaches_them(cpython_312_313: tuple[Report, Path]) -> None:
    report, _path = cpython_312_313
    reached = {item.entity: item.reached_through for item in report.changes if item.severity == "break"}
    # 3.12's Py_TRASHCAN_BEGIN reads tstate->c_recursion_remaining, which 3.13's _whence moves
    assert set(reached["PyThreadState._whence"]) >= {"Py_TRASHCAN_BEGIN"}
    assert reached["PyCodeObject.co_executors"] == ("_PyCode_CODE",)  # co_code_adaptive moved
    assert reached["PyConfig.cpu_count"] == () and reached["Py_SetStandardStreamEncoding"] == ()


def test_real_sdist_is_not_affected_by_312_to_313(markupsafe: str, cpython_312_313: tuple[Report, Path]) -> None:
    status, document = _ext(markupsafe, comparison=cpython_312_313[1])
    assert status == 0 and document["affected"] is False
    assert document["source"]["flags"].startswith("the headers of ") and "python3.12" in document["source"]["flags"]


def test_snapshots_keep_reach(mutation: tuple[str, Path]) -> None:
    snapshot: Snapshot = snapshot_of(mutation[0])
    names = {item.name for item in snapshot.reach}
    assert {"Py_TYPE", "Py_INCREF", "PyObject_HEAD", "PyTuple_GET_ITEM"} <= names
