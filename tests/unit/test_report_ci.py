"""The CI formats (sarif, junit, github) and the Markdown that fits a PR comment.

SARIF is validated against the SARIF 2.1.0 JSON Schema of the OASIS TC, shipped with its
notice in ``tests/data/sarif`` (no network).  The real-build tests (3.12 -> 3.13 SARIF, the
size of 3.8 -> 3.13 Markdown) skip when those pyenv builds are absent.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import jsonschema
import pytest

from abidiff.commands import common
from abidiff.commands.common import Reporting
from abidiff.commands.compare import compare_main
from abidiff.compare import compare
from abidiff.model import Snapshot
from abidiff.report import ci, markdown, registry, terminal
from abidiff.rules import RULE_BY_ID, RULES, Abi3Report, ExtReport, Finding, Report, Severity
from tests.conftest import BASE_HEADERS, MakeVariant, snapshot_cached
from tests.realbuilds import pyenv_python
from tests.unit.test_report import PEP605_EDITS, _pinned

HERE = os.path.dirname(os.path.abspath(__file__))
SARIF_SCHEMA = os.path.join(os.path.dirname(HERE), "data", "sarif", "sarif-schema-2.1.0.json")


@pytest.fixture(scope="module")
def sarif_validator() -> Any:
    with open(SARIF_SCHEMA, encoding="utf-8") as handle:
        schema = json.load(handle)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _valid_sarif(validator: Any, text: str) -> dict[str, Any]:
    log: dict[str, Any] = json.loads(text)
    errors = [f"{error.json_path}: {error.message}" for error in validator.iter_errors(log)]
    assert not errors, errors[:5]
    return log


@pytest.fixture
def pep605_report(base_snapshot: Snapshot, variant_snapshot: MakeVariant) -> Report:
    return _pinned(compare(base_snapshot, variant_snapshot(PEP605_EDITS)))


def _finding(rule: str, entity: str, severity: Severity, message: str, **extra: Any) -> Finding:
    """A hand-made finding (the pure renderers need no parser)."""
    base = RULE_BY_ID[rule]
    values: dict[str, Any] = {
        "rule": rule,
        "kind": base.kind,
        "entity": entity,
        "entity_kind": "function",
        "tier": "public",
        "severity": severity,
        "message": message,
        "headline": message,
        "old": None,
        "new": None,
        "detail": "",
        "shifted": (),
        "impacts": (),
        "header": None,
        **extra,
    }
    return Finding(**values)


def _with_changes(report: Report, changes: tuple[Finding, ...]) -> Report:
    return replace(report, changes=changes)


# -- the registry offers them --------------------------------------------------------------


@pytest.mark.parametrize("document", [Report, Abi3Report, ExtReport], ids=lambda cls: cls.__name__)
def test_every_document_has_the_ci_formats(document: type) -> None:
    assert {"sarif", "junit", "github", "markdown", "json", "text"} <= set(registry.format_names(document))


def test_max_chars_default_is_declared_once_in_effect() -> None:
    assert common.DEFAULT_MAX_CHARS == markdown.DEFAULT_MAX_CHARS < 65_536


# -- SARIF ---------------------------------------------------------------------------------


def test_sarif_validates_and_says_what_and_where(sarif_validator: Any, pep605_report: Report) -> None:
    log = _valid_sarif(sarif_validator, ci.render_sarif(pep605_report))
    run = log["runs"][0]
    assert log["version"] == "2.1.0"
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == [rule.id for rule in RULES]
    abi102 = rules[[rule.id for rule in RULES].index("ABI102")]
    assert abi102["shortDescription"]["text"] == RULE_BY_ID["ABI102"].title
    assert RULE_BY_ID["ABI102"].remedy in abi102["help"]["text"]
    assert len(run["results"]) == len(pep605_report.changes)
    by_rule = {result["ruleId"]: result for result in run["results"]}
    added = by_rule["ABI103"]
    assert added["level"] == "error"
    assert rules[added["ruleIndex"]]["id"] == "ABI103"
    assert "ob_example" in added["message"]["text"]
    location = added["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "Include/object.h", "uriBaseId": "SRCROOT"}
    assert by_rule["ABI201"]["level"] == "warning"  # _PyObject_IsFreed: private
    assert run["properties"]["verdict"] == "abi-breaking"


def test_sarif_region_with_and_without_a_line(sarif_validator: Any, pep605_report: Report) -> None:
    first = pep605_report.changes[0]
    with_line = _with_changes(pep605_report, (replace(first, line=123),))
    result = _valid_sarif(sarif_validator, ci.render_sarif(with_line))["runs"][0]["results"][0]
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": 123}
    without = _with_changes(pep605_report, (replace(first, line=None),))
    result = _valid_sarif(sarif_validator, ci.render_sarif(without))["runs"][0]["results"][0]
    assert "region" not in result["locations"][0]["physicalLocation"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith("Include/")


def test_sarif_levels_and_a_finding_without_header(sarif_validator: Any, pep605_report: Report) -> None:
    findings = (
        _finding("ABI601", "PyFoo", Severity.BREAK, "export PyFoo removed", entity_kind="symbol"),
        _finding("ABI201", "_PyBar", Severity.WARNING, "function _PyBar removed", header="cpython/x.h", line=7),
        _finding("ABI206", "PyBaz", Severity.COMPATIBLE, "qualifiers", header="pyconfig.h"),
        _finding("ABI602", "PyNew", Severity.INFO, "export PyNew added", entity_kind="symbol"),
    )
    log = _valid_sarif(sarif_validator, ci.render_sarif(_with_changes(pep605_report, findings)))
    results = log["runs"][0]["results"]
    assert [result["level"] for result in results] == ["error", "warning", "note", "note"]
    # GitHub code scanning rejects a file with a result that has no location: anchored
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "Include/Python.h"
    assert "anchored" in results[0]["properties"]
    assert results[1]["locations"][0]["physicalLocation"]["region"]["startLine"] == 7
    assert results[2]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "pyconfig.h"
    fingerprints = {result["partialFingerprints"]["abidiffEntity/v1"] for result in results}
    assert len(fingerprints) == 4


def test_sarif_of_an_abi3_audit(sarif_validator: Any, base_snapshot: Snapshot) -> None:
    from abidiff.abi3 import audit
    from abidiff.rules import abi3_report
    from tests.unit.test_abi3_rules import _entry, _with_manifest

    report = abi3_report(audit(_with_manifest(base_snapshot, _entry("function", "Py_NewRef", "3.11"))))
    log = _valid_sarif(sarif_validator, registry.render(report, "sarif"))
    (result,) = log["runs"][0]["results"]
    assert result["ruleId"] == "ABI801"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "Misc/stable_abi.toml"


# -- JUnit ---------------------------------------------------------------------------------


def test_junit_a_failure_per_break(pep605_report: Report) -> None:
    root = ElementTree.fromstring(ci.render_junit(pep605_report))
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    breaks = [item for item in pep605_report.changes if item.severity == Severity.BREAK]
    failures = [case for case in cases if case.find("failure") is not None]
    assert len(failures) == len(breaks) == int(suite.get("failures", "-1")) == int(root.get("failures", "-1"))
    assert int(suite.get("tests", "-1")) == len(cases)
    failure = failures[0].find("failure")
    assert failure is not None and failure.get("type", "").startswith("ABI")
    names = {case.get("name") for case in cases}
    assert "ABI103 PyObject.ob_example" in names
    warning = next(case for case in cases if case.get("name") == "ABI201 _PyObject_IsFreed")
    assert warning.find("failure") is None
    out = warning.find("system-out")
    assert out is not None and (out.text or "").startswith("warning: ")


def test_junit_of_a_clean_comparison_is_one_passing_case(base_snapshot: Snapshot) -> None:
    root = ElementTree.fromstring(ci.render_junit(compare(base_snapshot, base_snapshot)))
    (case,) = root.iter("testcase")
    assert case.find("failure") is None and root.get("failures") == "0" and root.get("tests") == "1"


# -- GitHub workflow commands ---------------------------------------------------------------


def test_github_escaping() -> None:
    assert ci.escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert ci.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    command = ci.workflow_command("error", "x: 1,2", (("file", "Include/a,b.h"), ("title", "ABI1: t")))
    assert command == "::error file=Include/a%2Cb.h,title=ABI1%3A t::x: 1,2"


def test_github_annotations(pep605_report: Report) -> None:
    findings = (
        _finding("ABI102", "S.f", Severity.BREAK, "field f removed\nfrom S", header="cpython/s.h", line=12),
        _finding("ABI201", "_PyBar", Severity.WARNING, "function _PyBar removed"),
        _finding("ABI602", "PyNew", Severity.INFO, "export PyNew added"),
    )
    lines = ci.render_github(_with_changes(pep605_report, findings)).splitlines()
    assert lines[0].startswith("::notice title=abidiff::")
    assert lines[1] == "::error file=Include/cpython/s.h,line=12,title=ABI102 S.f::field f removed%0Afrom S"
    assert lines[2] == "::warning title=ABI201 _PyBar::function _PyBar removed"  # no header: no file
    assert len(lines) == 3  # informational findings are no annotation


# -- Markdown ------------------------------------------------------------------------------


def test_markdown_escapes_names() -> None:
    assert markdown.escape("_Py_capitalize__doc__") == "\\_Py\\_capitalize\\_\\_doc\\_\\_"
    assert markdown.escape("a|b <c> *d* `e`") == "a\\|b \\<c\\> \\*d\\* \\`e\\`"
    assert markdown.code("a`b") == "``a`b``"


def test_markdown_lists_every_severity(pep605_report: Report) -> None:
    findings = (
        _finding("ABI201", "_Py_capitalize__doc__", Severity.WARNING, "function _Py_capitalize__doc__ removed"),
        _finding("ABI602", "PyNew", Severity.INFO, "export PyNew added"),
        _finding("ABI206", "PyBaz", Severity.COMPATIBLE, "qualifiers changed", header="cpython/x.h", line=3),
    )
    text = markdown.render(_with_changes(pep605_report, findings))
    assert "function \\_Py\\_capitalize\\_\\_doc\\_\\_ removed" in text
    assert "<summary>Informational (1)</summary>" in text
    assert "<summary>Compatible changes (1)</summary>" in text
    assert "(`Include/cpython/x.h:3`)" in text
    assert "[!NOTE]" not in text  # nothing cut


def _many(count: int, severity: Severity, rule: str) -> tuple[Finding, ...]:
    return tuple(
        _finding(rule, f"Py_Name_{severity}_{number:05d}", severity, f"a {severity} about Py_Name_{number:05d} " * 3)
        for number in range(count)
    )


def test_markdown_is_cut_to_max_chars_least_severe_first(pep605_report: Report) -> None:
    findings = (
        _many(50, Severity.BREAK, "ABI201")
        + _many(400, Severity.WARNING, "ABI201")
        + _many(900, Severity.INFO, "ABI602")
    )
    report = _with_changes(pep605_report, findings)
    full = markdown.render(report, max_chars=0)
    assert len(full) > 120_000
    text = markdown.render(report, max_chars=30_000, full_report="the abi-report artifact")
    assert len(text) <= 30_000
    assert text.count("- **ABI201** `Py_Name_break_") == 50  # every break kept
    assert "Py_Name_info_" not in text  # informational findings go first
    assert "> Cut to 30,000 characters:" in text and "900 informational findings" in text
    assert "Every finding is in the abi-report artifact." in text
    default = markdown.render(report)
    assert len(default) <= markdown.DEFAULT_MAX_CHARS


def test_markdown_cut_even_below_its_head(pep605_report: Report) -> None:
    text = markdown.render(_with_changes(pep605_report, _many(100, Severity.BREAK, "ABI201")), max_chars=300)
    assert len(text) <= 300


# -- text ----------------------------------------------------------------------------------


def test_text_wrapped_lines_keep_their_indent(pep605_report: Report) -> None:
    long = "new field x added to the PyObject struct; offsets of " + ", ".join(f"f{n}" for n in range(40)) + " shift"
    report = _with_changes(pep605_report, (replace(pep605_report.changes[0], message=long),))
    lines = terminal.render_plain(report, width=60).splitlines()
    start = next(number for number, line in enumerate(lines) if line.startswith("    ABI"))
    continuation = lines[start + 1 : start + 4]
    assert continuation and all(line.startswith(" " * 11) and line.strip() for line in continuation)


def test_text_footer_and_plurals(base_snapshot: Snapshot, pep605_report: Report) -> None:
    findings = (_finding("ABI602", "PyNew", Severity.INFO, "export PyNew added"),)
    text = terminal.render_plain(_with_changes(pep605_report, findings))
    assert "0 compatible and 1 informational change not listed (--format json lists every change" in text
    assert "markdown lists every change" not in text


# -- the command line ----------------------------------------------------------------------


def test_compare_main_writes_sarif_and_takes_max_chars(
    sarif_validator: Any, tmp_path: Path, pep605_report: Report
) -> None:
    from abidiff import snapshot

    old = tmp_path / "old.json"
    old.write_text(snapshot.dumps(snapshot_cached(BASE_HEADERS)))
    out = io.StringIO()
    status = compare_main(str(old), str(old), reporting=Reporting(fmt="sarif", stdout=out, stderr=io.StringIO()))
    assert status == 0
    assert _valid_sarif(sarif_validator, out.getvalue())["runs"][0]["results"] == []


# -- real builds ---------------------------------------------------------------------------


@pytest.mark.integration
def test_sarif_of_312_to_313_validates(sarif_validator: Any) -> None:
    old = snapshot_cached(pyenv_python("3.12.1"))
    new = snapshot_cached(pyenv_python("3.13.0"))
    report = compare(old, new)
    log = _valid_sarif(sarif_validator, ci.render_sarif(report))
    results = log["runs"][0]["results"]
    assert len(results) == len(report.changes)
    located = [r for r in results if "region" in r["locations"][0]["physicalLocation"]]
    assert located, "findings of real builds have lines"
    uri = located[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri.startswith("Include/") or uri == "pyconfig.h"


@pytest.mark.integration
def test_markdown_of_38_to_313_fits_a_comment() -> None:
    old = snapshot_cached(pyenv_python("3.8.18"))
    new = snapshot_cached(pyenv_python("3.13.0"))
    report = compare(old, new)
    assert len(markdown.render(report, max_chars=0)) > 65_536  # the reason for the limit
    text = markdown.render(report)
    assert len(text) <= 60_000
    assert "> Cut to 60,000 characters:" in text
