"""The CI-native formats of every judged document (a comparison, an abi3 or an ext report):

- ``sarif``: SARIF 2.1.0 for GitHub code scanning (and any SARIF viewer): one result per
  finding, at its header (and line, when the finding has one), with the catalogue's rules;
- ``junit``: JUnit XML for CI test-report views: a test case per finding that matters (a
  break fails, a warning passes with its message), one passing case when there is none;
- ``github``: GitHub Actions workflow commands: ``::error`` for a break and ``::warning``
  for a warning, with ``file=`` and ``line=``, escaped as GitHub's toolkit escapes them.

Headers are named as in a CPython source tree (``Include/cpython/object.h``), so that the
results land on the files of a CPython checkout.  A finding that has no header (an export,
a manifest entry) is anchored at the document's :attr:`Subject.anchor` file: GitHub code
scanning rejects a whole SARIF file when one result has no file.
"""

from __future__ import annotations

import hashlib
import posixpath
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

from abidiff import __version__
from abidiff.report import jsonwriter
from abidiff.report.registry import register
from abidiff.report.words import INCLUDE_DIR, counted, source_path
from abidiff.rules import RULES, SEVERITY_ORDER, Finding, Rule, Severity
from abidiff.rules.catalogue import TIERS
from abidiff.rules.reports import Abi3Report, ExtReport, Report

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SOURCE_ROOT = "SRCROOT"  # the uriBaseId of header paths: the top of a CPython source tree
LEVELS = {
    Severity.BREAK: "error",
    Severity.WARNING: "warning",
    Severity.COMPATIBLE: "note",
    Severity.INFO: "note",
}
# SARIF's logical location kinds (3.33.7) for our entity kinds
_LOGICAL_KINDS = {
    "build": "module",
    "record": "type",
    "field": "member",
    "function": "function",
    "data": "variable",
    "enum": "type",
    "enumerator": "value",
    "macro": "declaration",
    "typedef": "type",
    "symbol": "function",
}


MAX_SOURCE_ANNOTATIONS = 10  # per finding of ext --source (GitHub shows 10 per step and kind)


@dataclass(frozen=True, slots=True, kw_only=True)
class Subject:
    """What the CI formats need of a document: its title, its findings, where findings
    without a file are anchored, and the facts (verdicts) a run reports."""

    title: str
    findings: tuple[Finding, ...]
    anchor: str
    facts: tuple[tuple[str, str], ...]
    module_paths: bool = False  # ext: a finding's file is the module it concerns (impacts)


def _compare_subject(report: Report) -> Subject:
    return Subject(
        title=f"abidiff {report.old.version} -> {report.new.version}",
        findings=report.changes,
        anchor=f"{INCLUDE_DIR}/Python.h",
        facts=(
            ("old", report.old.version),
            ("new", report.new.version),
            ("verdict", str(report.verdict)),
            ("release_kind", str(report.release_kind)),
            ("stable_abi_verdict", str(report.stable_abi_verdict)),
            ("feature_base", report.feature_base.version if report.feature_base else "none"),
        ),
    )


def _abi3_subject(report: Abi3Report) -> Subject:
    against = f" against {report.against.version}" if report.against is not None else ""
    return Subject(
        title=f"abidiff abi3 {report.build.version}{against}",
        findings=report.changes,
        anchor="Misc/stable_abi.toml",  # the stable ABI manifest of a CPython source tree
        facts=(("build", report.build.version), ("stable_abi_verdict", str(report.stable_abi_verdict))),
    )


def _ext_subject(report: ExtReport) -> Subject:
    facts = [("input", report.input)]
    if report.affected is not None:
        facts.append(("affected", "yes" if report.affected else "no"))
    return Subject(
        title=f"abidiff ext {report.input}",
        findings=report.changes,
        anchor=report.input,
        facts=tuple(facts),
        module_paths=True,
    )


_SUBJECTS: dict[type, Callable[[Any], Subject]] = {
    Report: _compare_subject,
    Abi3Report: _abi3_subject,
    ExtReport: _ext_subject,
}


def subject_of(document: Any) -> Subject:
    return _SUBJECTS[type(document)](document)


# -- places --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Place:
    """Where a finding is: a path (relative to a CPython source tree for headers), a line
    and column when known; ``exact`` is false for a finding anchored at a fallback file."""

    path: str
    line: int | None
    column: int | None
    exact: bool


def _positive(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def place_of(finding: Finding, subject: Subject) -> Place:
    line = _positive(getattr(finding, "line", None))
    column = _positive(getattr(finding, "column", None)) if line is not None else None
    if subject.module_paths and finding.places:  # ext --source: the first place of the sources
        first = finding.places[0]
        return Place(path=_relative(first.file), line=first.line, column=first.column, exact=True)
    if subject.module_paths:
        path = finding.impacts[0] if finding.impacts else subject.anchor
        return Place(path=_relative(path), line=None, column=None, exact=True)
    if finding.header:
        return Place(path=source_path(finding.header), line=line, column=column, exact=True)
    return Place(path=subject.anchor, line=None, column=None, exact=False)


def _relative(path: str) -> str:
    """A file path as a relative URI path where it can be one (``./x`` -> ``x``)."""
    path = path.replace("\\", "/")
    if not path.startswith("/"):
        path = posixpath.normpath(path)
    return path


# -- SARIF ---------------------------------------------------------------------------------


def _rule_level(rule: Rule) -> str:
    """A rule's default level: its most severe severity over the tiers."""
    worst = min((rule.severity(tier) for tier in TIERS), key=SEVERITY_ORDER.index)
    return LEVELS[worst]


def _rule_name(rule: Rule) -> str:
    """``field removed`` -> ``FieldRemoved`` (SARIF's reportingDescriptor.name)."""
    words = "".join(char if char.isalnum() else " " for char in rule.title).split()
    return "".join(word[:1].upper() + word[1:] for word in words)


def _sarif_rule(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": _rule_name(rule),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.detects},
        "help": {"text": f"Remedy: {rule.remedy}", "markdown": f"**Remedy:** {rule.remedy}"},
        "defaultConfiguration": {"level": _rule_level(rule)},
        "properties": {"tags": ["abi"], "profile": str(rule.profile)},
    }


def fingerprint(finding: Finding) -> str:
    """Stable across runs while the same rule fires on the same entity."""
    return hashlib.sha256(f"{finding.rule}\0{finding.entity}".encode()).hexdigest()[:32]


def _sarif_result(finding: Finding, index: dict[str, int], subject: Subject) -> dict[str, Any]:
    place = place_of(finding, subject)
    physical: dict[str, Any] = {"artifactLocation": {"uri": urllib.parse.quote(place.path, safe="/:")}}
    if not place.path.startswith("/") and not subject.module_paths:
        physical["artifactLocation"]["uriBaseId"] = SOURCE_ROOT
    if place.line is not None:
        region: dict[str, int] = {"startLine": place.line}
        if place.column is not None:
            region["startColumn"] = place.column
        physical["region"] = region
    location: dict[str, Any] = {
        "physicalLocation": physical,
        "logicalLocations": [
            {
                "name": finding.entity,
                "fullyQualifiedName": finding.entity,
                "kind": _LOGICAL_KINDS.get(str(finding.entity_kind), "declaration"),
            }
        ],
    }
    properties: dict[str, Any] = {
        "severity": str(finding.severity),
        "tier": str(finding.tier),
        "entity": finding.entity,
        "entityKind": str(finding.entity_kind),
    }
    if not place.exact:
        properties["anchored"] = "no header: anchored at " + place.path
    if finding.impacts:
        properties["impacts"] = list(finding.impacts)
    related = [  # ext --source: the other places of the sources
        {
            "id": number,
            "physicalLocation": {
                "artifactLocation": {"uri": urllib.parse.quote(_relative(other.file), safe="/:")},
                "region": {"startLine": other.line, "startColumn": other.column},
            },
            "message": {"text": f"via {other.via}" if other.via else "used here"},
        }
        for number, other in enumerate(finding.places[1:], start=1)
    ]
    extra = {"relatedLocations": related} if related else {}
    return {
        "ruleId": finding.rule,
        "ruleIndex": index[finding.rule],
        "level": LEVELS[finding.severity],
        "message": {"text": finding.message},
        "locations": [location],
        **extra,
        "partialFingerprints": {"abidiffEntity/v1": fingerprint(finding)},
        "properties": properties,
    }


def sarif_log(document: Any) -> dict[str, Any]:
    """The SARIF log of a judged document, as a JSON-ready dict."""
    subject = subject_of(document)
    index = {rule.id: number for number, rule in enumerate(RULES)}
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "abidiff",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": [_sarif_rule(rule) for rule in RULES],
                    }
                },
                "originalUriBaseIds": {
                    SOURCE_ROOT: {
                        "description": {"text": "The top directory of the CPython source tree (headers in Include/)."}
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": [_sarif_result(finding, index, subject) for finding in subject.findings],
                "properties": {"title": subject.title, **dict(subject.facts)},
            }
        ],
    }


_SARIF_HELP = "SARIF 2.1.0 for GitHub code scanning: a result per finding, at its header and line"


@register(Report, "sarif", _SARIF_HELP)
@register(Abi3Report, "sarif", _SARIF_HELP)
@register(ExtReport, "sarif", _SARIF_HELP)
def render_sarif(document: Any) -> str:
    return jsonwriter.text(sarif_log(document))


# -- JUnit XML -----------------------------------------------------------------------------


def _owner(finding: Finding) -> str:
    """The entity a test case belongs to: a field's record, else the entity itself."""
    return finding.entity.partition(".")[0] if str(finding.entity_kind) == "field" else finding.entity


def _details(finding: Finding, place: Place) -> str:
    where = place.path + (f":{place.line}" if place.line is not None else "")
    lines = [f"{finding.rule} [{finding.tier}] {finding.message}", f"at {where}"]
    if finding.impacts:
        lines.append("impacts: " + ", ".join(finding.impacts))
    return "\n".join(lines) + "\n"


def junit_tree(document: Any) -> ElementTree.Element:
    subject = subject_of(document)
    listed = [item for item in subject.findings if item.severity in (Severity.BREAK, Severity.WARNING)]
    quiet = len(subject.findings) - len(listed)
    suite = ElementTree.Element("testsuite", name=subject.title)
    properties = ElementTree.SubElement(suite, "properties")
    for name, value in (*subject.facts, ("not listed (compatible or informational)", str(quiet))):
        ElementTree.SubElement(properties, "property", name=name, value=value)
    failures = 0
    for finding in listed:
        place = place_of(finding, subject)
        case = ElementTree.SubElement(
            suite,
            "testcase",
            classname=f"abidiff.{_owner(finding)}",
            name=f"{finding.rule} {finding.entity}",
            file=place.path,
            time="0",
        )
        if place.line is not None:
            case.set("line", str(place.line))
        if finding.severity == Severity.BREAK:
            failures += 1
            failure = ElementTree.SubElement(case, "failure", message=finding.message, type=finding.rule)
            failure.text = _details(finding, place)
        else:
            ElementTree.SubElement(case, "system-out").text = "warning: " + _details(finding, place)
    if not listed:
        case = ElementTree.SubElement(suite, "testcase", classname="abidiff", name="no break and no warning", time="0")
        ElementTree.SubElement(case, "system-out").text = f"{quiet} compatible or informational findings\n"
    tests = max(len(listed), 1)
    totals = {"tests": str(tests), "failures": str(failures), "errors": "0", "skipped": "0", "time": "0"}
    for key, text in totals.items():
        suite.set(key, text)
    root = ElementTree.Element(
        "testsuites", name="abidiff", tests=str(tests), failures=str(failures), errors="0", time="0"
    )
    root.append(suite)
    return root


_JUNIT_HELP = "JUnit XML for CI test-report views: a failing test case per break"


@register(Report, "junit", _JUNIT_HELP)
@register(Abi3Report, "junit", _JUNIT_HELP)
@register(ExtReport, "junit", _JUNIT_HELP)
def render_junit(document: Any) -> str:
    root = junit_tree(document)
    ElementTree.indent(root, space=" ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"


# -- GitHub workflow commands --------------------------------------------------------------


def escape_data(text: str) -> str:
    """A workflow command's message, escaped as GitHub's toolkit does (``escapeData``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value (``escapeProperty``): also ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(command: str, message: str, properties: Iterable[tuple[str, str]] = ()) -> str:
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties)
    return f"::{command}{' ' + props if props else ''}::{escape_data(message)}"


_COMMANDS = {Severity.BREAK: "error", Severity.WARNING: "warning"}


def _summary_line(subject: Subject, findings: tuple[Finding, ...]) -> str:
    counts = {severity: sum(1 for item in findings if item.severity == severity) for severity in Severity}
    facts = ", ".join(f"{name} {value}" for name, value in subject.facts)
    tally = ", ".join(counted(count, severity) for severity, count in counts.items() if count) or "no findings"
    return f"{subject.title}: {facts}; {tally}"


@register(Report, "github", "GitHub Actions workflow commands: an annotation per break (error) and warning")
@register(Abi3Report, "github", "GitHub Actions workflow commands: an annotation per break (error) and warning")
@register(ExtReport, "github", "GitHub Actions workflow commands: an annotation per break (error) and warning")
def render_github(document: Any) -> str:
    subject = subject_of(document)
    lines = [workflow_command("notice", _summary_line(subject, subject.findings), (("title", "abidiff"),))]
    for finding in subject.findings:
        command = _COMMANDS.get(finding.severity)
        if command is None:
            continue
        places = [place_of(finding, subject)]
        if subject.module_paths:  # ext --source: an annotation at each place of the sources
            places += [
                Place(path=_relative(other.file), line=other.line, column=other.column, exact=True)
                for other in finding.places[1:MAX_SOURCE_ANNOTATIONS]
            ]
        for place in places:
            properties = [("file", place.path)] if place.exact else []
            if place.line is not None:
                properties.append(("line", str(place.line)))
                if place.column is not None:
                    properties.append(("col", str(place.column)))
            properties.append(("title", f"{finding.rule} {finding.entity}"))
            lines.append(workflow_command(command, finding.message, properties))
    return "\n".join(lines) + "\n"
