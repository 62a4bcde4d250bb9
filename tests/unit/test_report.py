"""The reports: JSON (schema, byte stability), text (golden, pinned console), Markdown, NEWS."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import replace
from typing import Any

import jsonschema
import pytest
from rich.console import Console

from abidiff.compare import compare
from abidiff.model import ReleaseLevel, Snapshot
from abidiff.report import jsonreport, markdown, news, terminal
from abidiff.rules import Report
from tests.conftest import MakeVariant

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PEP605_EDITS = (
    ("object.h", "    PyTypeObject *ob_type;\n};", "    PyTypeObject *ob_type;\n    Py_ssize_t ob_example;\n};"),
    ("cpython/object.h", "    const char *tp_doc;\n", ""),
    ("cpython/object.h", "PyAPI_FUNC(int) _PyObject_IsFreed(PyObject *op);\n", ""),
    ("patchlevel.h", "#define PY_RELEASE_SERIAL       1", "#define PY_RELEASE_SERIAL       2"),
    ("patchlevel.h", '"3.11.0a1"', '"3.11.0a2"'),
)


def _pinned(report: Report) -> Report:
    """The report with origins that do not depend on the temporary directory."""
    return replace(report, old=replace(report.old, origin="headers OLD"), new=replace(report.new, origin="headers NEW"))


@pytest.fixture
def pep605_report(base_snapshot: Snapshot, variant_snapshot: MakeVariant) -> Report:
    return _pinned(compare(base_snapshot, variant_snapshot(PEP605_EDITS)))


@pytest.fixture(scope="module")
def shipped_schema() -> dict[str, Any]:
    with open(jsonreport.SCHEMA_FILE, encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def test_derived_files_are_fresh() -> None:
    """docs/rules.md and the shipped report schema equal what the code generates."""
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "scripts", "regen.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_shipped_schema_is_the_generated_one(shipped_schema: dict[str, Any]) -> None:
    assert shipped_schema == jsonreport.schema()


def test_json_reports_validate(shipped_schema: dict[str, Any], pep605_report: Report, base_snapshot: Snapshot) -> None:
    for report in (pep605_report, compare(base_snapshot, base_snapshot)):
        document = json.loads(jsonreport.dumps(report))
        jsonschema.validate(document, shipped_schema)
        assert document["schema"] == "abidiff-report"


def test_schema_rejects_a_wrong_verdict(shipped_schema: dict[str, Any], pep605_report: Report) -> None:
    document = json.loads(jsonreport.dumps(pep605_report))
    document["verdict"] = "maybe"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, shipped_schema)


def test_json_report_fields(pep605_report: Report) -> None:
    document = json.loads(jsonreport.dumps(pep605_report))
    assert document["verdict"] == "abi-breaking"
    assert document["release_kind"] == "alpha"
    assert document["stable_abi_verdict"] == "broken"
    assert document["headers_only"] is True
    assert document["counts"] == {"ABI102": 1, "ABI103": 1, "ABI201": 1}
    assert document["old"]["version"] == "3.11.0a1" and document["new"]["version"] == "3.11.0a2"
    first = document["changes"][0]
    assert {key: first[key] for key in ("rule", "kind", "entity", "tier", "severity", "old")} == {
        "rule": "ABI103",
        "kind": "field-added",
        "entity": "PyObject.ob_example",
        "tier": "limited",
        "severity": "break",
        "old": None,
    }
    assert [change["severity"] for change in document["changes"]] == ["break", "break", "warning"]


def test_same_inputs_give_the_same_bytes(
    base_snapshot: Snapshot, variant_snapshot: MakeVariant, pep605_report: Report
) -> None:
    again = _pinned(compare(base_snapshot, variant_snapshot(PEP605_EDITS)))
    for render in (jsonreport.dumps, markdown.render, news.render, terminal.render_plain):
        assert render(again) == render(pep605_report)


GOLDEN_TEXT = """\
╭─────────────────────────── abidiff 3.11.0a1 -> 3.11.0a2 ────────────────────────────╮
│ full ABI:     abi-breaking (PEP 605: alpha)                                         │
│ stable ABI:   broken                                                                │
│ old:          3.11.0a1  headers OLD                                                 │
│ new:          3.11.0a2  headers NEW                                                 │
│ headers only: a declaration removed from the headers counts as removed from the ABI │
╰─────────────────────────────────────────────────────────────────────────────────────╯
changes per rule
 rule   ┃ title            ┃ count
━━━━━━━━╇━━━━━━━━━━━━━━━━━━╇━━━━━━━
 ABI102 │ field removed    │     1
 ABI103 │ field added      │     1
 ABI201 │ function removed │     1

Breaks (2)
  PyObject
    ABI103 [limited] new field ob_example added to the PyObject struct (size 16 -> 24 bytes)
           impacts: struct PyASCIIObject (head), struct PyFrameObject (head), struct
           PyHeapTypeObject (head), struct PyTypeObject (head), struct PyVarObject (head), function
           PyType_Copy and 1 more
           reached through: PyObject_HEAD
  PyTypeObject
    ABI102 [public] field tp_doc removed from the PyTypeObject struct
           impacts: struct PyHeapTypeObject (head), function PyType_Copy, data PyType_Type

Warnings in APIs without a promise (private, unstable) (1), by rule:
  ABI201 function removed (1): _PyObject_IsFreed

"""


def test_text_report_golden(pep605_report: Report) -> None:
    buffer = io.StringIO()
    terminal.render(pep605_report, Console(width=100, force_terminal=True, color_system=None, file=buffer))
    # rich pads table lines with spaces: compare without trailing blanks (kept out of the source)
    assert "\n".join(line.rstrip() for line in buffer.getvalue().split("\n")) == GOLDEN_TEXT


def test_text_report_of_no_change(base_snapshot: Snapshot) -> None:
    text = terminal.render_plain(_pinned(compare(base_snapshot, base_snapshot)))
    assert "binary-compatible (PEP 605: beta)" in text
    assert "stable ABI:   intact" in text
    assert "No change." in text
    assert "\x1b[" not in text


GOLDEN_NEWS = """\
Breaking changes in the full CPython ABI between 3.11.0a1 and 3.11.0a2:

* (CPython ABI break) new field ob_example added to the PyObject struct (stable ABI); every extension \
that uses PyObject_HEAD is affected
* (CPython ABI break) field tp_doc removed from the PyTypeObject struct

The stable ABI (abi3) is broken: the breaks marked (stable ABI) affect it.

Projects hit by these breaks can declare:

    Python-Requires: >= "3.11.0b3"; python_version == "3.11" and full_python_version != "3.11.0a2"
"""


def test_news_golden(pep605_report: Report) -> None:
    assert news.render(pep605_report) == GOLDEN_NEWS


def test_news_without_breaks_and_for_a_final_release(pep605_report: Report, base_snapshot: Snapshot) -> None:
    quiet = compare(base_snapshot, base_snapshot)
    assert news.render(quiet).startswith("No breaking changes in the full CPython ABI between 3.11.0a1 and 3.11.0a1.")
    final = replace(
        pep605_report, new=replace(pep605_report.new, version="3.11.0", release_level=str(ReleaseLevel.FINAL))
    )
    assert "Python-Requires" not in news.render(final)


def test_markdown_report(pep605_report: Report) -> None:
    text = markdown.render(pep605_report)
    assert "**abi-breaking** (alpha in PEP 605 terms); stable ABI **broken**" in text
    assert "| ABI103 | field added | 1 |" in text
    assert "### Breaks (2)" in text
    breaks, warnings = text.split("<details>")
    assert "PyObject.ob_example" in breaks and "_PyObject_IsFreed" not in breaks
    assert "<summary>Warnings (1)</summary>" in warnings and "_PyObject_IsFreed" in warnings
