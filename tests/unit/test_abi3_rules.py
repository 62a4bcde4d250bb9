"""``abidiff abi3``: each ABI8xx rule of the header audit fires on a one-edit variant of
``fixtures/headers/base`` (a 3.11.0a1-like tree) and stays quiet on the base tree.

The facts each test relies on are read from the header text itself (which guard a
declaration sits under), not from abidiff."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from abidiff import abi3
from abidiff.changes import ChangeKind
from abidiff.commands.abi3 import abi3_main
from abidiff.commands.common import Reporting
from abidiff.errors import EXIT_ABI_CHANGE, EXIT_ABI_INCOMPATIBLE, EXIT_OK
from abidiff.model import Binary, BinaryFormat, BinaryRole, ManifestEntry, Snapshot, Symbol, SymbolKind
from abidiff.report.audits import abi3_markdown as render_markdown
from abidiff.report.audits import abi3_text as render_text
from abidiff.report.jsonwriter import dumps
from abidiff.report.jsonwriter import schema as document_schema
from abidiff.rules import RULES, Abi3Report, abi3_report
from tests.conftest import BASE_HEADERS, ROOT, Edit, MakeVariant

ABI3_RULES = tuple(rule for rule in RULES if rule.id.startswith("ABI80"))


def audit(snapshot: Snapshot, against: Snapshot | None = None) -> Abi3Report:
    """The judged abi3 report of ``snapshot`` (against ``against``)."""
    return abi3_report(abi3.audit(snapshot, against))


def schema() -> dict[str, object]:
    return document_schema(Abi3Report)


def _entry(kind: str, name: str, added: str, **extra: Any) -> ManifestEntry:
    return ManifestEntry(kind=kind, name=name, added=added, **extra)


def _with_manifest(snapshot: Snapshot, *entries: ManifestEntry) -> Snapshot:
    return replace(snapshot, manifest=entries)


def _with_exports(snapshot: Snapshot, *names: str) -> Snapshot:
    binary = Binary(
        role=BinaryRole.LIBPYTHON,
        path="/lib/libpython3.11.so.1.0",
        format=BinaryFormat.ELF,
        arch="x86_64",
        bits=64,
        symbols=tuple(Symbol(name=name, kind=SymbolKind.FUNCTION) for name in names),
    )
    return replace(snapshot, binaries=(binary,))


def _rules(snapshot: Snapshot, against: Snapshot | None = None) -> list[tuple[str, str]]:
    return [(item.rule, item.entity) for item in audit(snapshot, against).changes]


def _header_text(name: str) -> str:
    with open(os.path.join(BASE_HEADERS, name), encoding="utf-8") as handle:
        return handle.read()


def test_py_newref_sits_under_the_3_10_guard_in_the_fixture() -> None:
    text = _header_text("object.h")
    guard = "#if !defined(Py_LIMITED_API) || Py_LIMITED_API+0 >= 0x030A0000\nPyAPI_FUNC(PyObject *) Py_NewRef"
    assert guard in text


# -- ABI801: visible before the manifest's 'added' ----------------------------------------


def test_abi801_fires_when_the_guard_is_older_than_added(base_snapshot: Snapshot) -> None:
    snapshot = _with_manifest(base_snapshot, _entry("function", "Py_NewRef", "3.11"))
    [item] = [item for item in audit(snapshot).changes if item.rule == "ABI801"]
    assert (item.entity, item.old, item.new) == ("Py_NewRef", "3.11", "3.10")
    assert item.severity == "warning"


def test_abi801_quiet_when_the_guard_matches_added(base_snapshot: Snapshot) -> None:
    snapshot = _with_manifest(base_snapshot, _entry("function", "Py_NewRef", "3.10"))
    assert _rules(snapshot) == []


def test_abi801_ignores_items_added_after_the_build(base_snapshot: Snapshot) -> None:
    # the build is 3.11: an item the manifest adds in 3.14 is not yet its stable ABI
    snapshot = _with_manifest(base_snapshot, _entry("function", "PyObject_Repr", "3.14"))
    assert _rules(snapshot) == []


# -- ABI803: manifest item missing from the headers ---------------------------------------


def test_abi803_fires_for_an_item_no_header_declares(base_snapshot: Snapshot) -> None:
    snapshot = _with_manifest(base_snapshot, _entry("function", "PyNowhere_Function", "3.2"))
    assert _rules(snapshot) == [("ABI803", "PyNowhere_Function")]


def test_abi803_fires_when_visible_only_later_than_added(base_snapshot: Snapshot) -> None:
    snapshot = _with_manifest(base_snapshot, _entry("function", "Py_NewRef", "3.9"))
    [item] = audit(snapshot).changes
    assert item.rule == "ABI803" and "first visible at 3.10" in item.message


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param(_entry("function", "PyNowhere_Function", "3.2", abi_only=True), id="abi_only"),
        pytest.param(_entry("function", "PyNowhere_Function", "3.2", ifdef="MS_WINDOWS"), id="other-platform"),
    ],
)
def test_abi803_exemptions(base_snapshot: Snapshot, entry: ManifestEntry) -> None:
    assert _rules(_with_manifest(base_snapshot, entry)) == []


# -- a header one build could not read: ABI004, never ABI802/ABI803 ------------------------

# probes.h is outside Python.h and names a stable ABI function, so the limited levels read
# it; the unread copy includes a generated file the tree lacks (as Debian's pydtrace.h does)
_PROBES = (
    '#ifndef Py_PROBES_H\n#define Py_PROBES_H\n#include "Python.h"\n'
    "PyAPI_FUNC(PyObject *) PyMember_GetOne(const char *addr, void *member);\n"
    "PyAPI_FUNC(int) PyProbe_Fire(PyObject *o);\n#endif\n"
)


@pytest.fixture(scope="module")
def probes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Snapshot, Snapshot]:
    """(read, unread): the base tree with probes.h, read, and not read (a missing include)."""
    import shutil

    from abidiff.builder import snapshot_of

    built = []
    for name, text in (("read", _PROBES), ("unread", _PROBES.replace("#endif", '#include "probes_gen.h"\n#endif'))):
        tree = tmp_path_factory.mktemp(name) / "include"
        shutil.copytree(BASE_HEADERS, tree)
        (tree / "probes.h").write_text(text, encoding="utf-8")
        built.append(snapshot_of(str(tree)))
    read, unread = built
    # what the tests rely on, from the reader: one limited declaration there, one not
    declared = {f.name: f.limited_since for f in read.functions if f.header == "probes.h"}
    assert declared == {"PyMember_GetOne": "3.2", "PyProbe_Fire": None}
    assert (read.unread, unread.unread) == ((), ("probes.h",))
    assert not any(f.header == "probes.h" for f in unread.functions)
    return read, unread


_GET_ONE = _entry("function", "PyMember_GetOne", "3.2")


def test_a_header_old_could_not_read_is_not_compared(probes: tuple[Snapshot, Snapshot]) -> None:
    read, unread = probes
    [item] = audit(read, unread).changes
    assert (item.rule, item.entity, item.severity) == ("ABI004", "probes.h", "warning")
    assert (
        item.message
        == "header probes.h was not read in OLD and read in NEW: its one limited API declaration was not compared"
    )
    # without the reader's word that it was not read, its declaration would look new (ABI802)
    assert _rules(read, replace(unread, unread=())) == [("ABI802", "PyMember_GetOne")]


def test_a_header_the_build_could_not_read_hides_no_manifest_item(probes: tuple[Snapshot, Snapshot]) -> None:
    read, unread = probes
    build = _with_manifest(unread, _GET_ONE, _entry("function", "PyNowhere_Function", "3.2"))
    # OLD read probes.h: PyMember_GetOne is declared there (unseen, not missing), and
    # PyNowhere_Function is not (missing, and the unread header does not explain it)
    against = audit(build, read).changes
    assert [(item.rule, item.entity) for item in against] == [("ABI004", "probes.h"), ("ABI803", "PyNowhere_Function")]
    assert "probes.h" not in against[1].message
    # alone, both are missing; the text of probes.h spells PyMember_GetOne, so the header may
    # explain that one, and not PyNowhere_Function
    assert [item.header for item in unread.unread_names] == ["probes.h"]
    assert {"PyMember_GetOne", "PyProbe_Fire", "probes_gen"} <= set(unread.unread_names[0].names)
    alone = audit(build).changes
    assert [(item.rule, item.entity) for item in alone] == [
        ("ABI803", "PyMember_GetOne"),
        ("ABI803", "PyNowhere_Function"),
    ]
    assert alone[0].message.endswith("; the build could not read probes.h, which may declare it")
    assert "probes.h" not in alone[1].message
    # a header whose text could not be read either may declare anything
    blind = audit(replace(build, unread_names=())).changes
    assert all(item.message.endswith("; the build could not read probes.h, which may declare it") for item in blind)
    report = audit(build)
    assert any(note.startswith("3.11.0a1 could not read probes.h") for note in report.notes)
    with open(os.path.join(ROOT, "src", "abidiff", "schemas", "abi3.schema.json"), encoding="utf-8") as handle:
        jsonschema.validate(json.loads(dumps(report)), json.load(handle))


def test_an_unread_header_without_limited_declarations_is_not_the_audits_concern(
    probes: tuple[Snapshot, Snapshot],
) -> None:
    read, unread = probes
    without = replace(read, functions=tuple(f for f in read.functions if f.name != "PyMember_GetOne"))
    assert _rules(without, unread) == [] and _rules(unread, without) == []
    # the full comparison still says it: the header's other declaration was not compared
    from abidiff.rules import compare

    [item] = compare(without, unread).changes
    assert (item.rule, item.entity) == ("ABI004", "probes.h") and "its one declaration was" in item.message


# -- ABI804: manifest function or data not exported ---------------------------------------


def test_abi804_fires_for_a_missing_export(base_snapshot: Snapshot) -> None:
    snapshot = _with_exports(_with_manifest(base_snapshot, _entry("function", "PyObject_Repr", "3.2")), "PyObject_Size")
    report = audit(snapshot)
    assert [(item.rule, item.entity, item.severity) for item in report.changes] == [
        ("ABI804", "PyObject_Repr", "break")
    ]
    assert report.stable_abi_verdict == "broken"


def test_abi804_quiet_when_exported_and_for_other_platforms(base_snapshot: Snapshot) -> None:
    snapshot = _with_exports(
        _with_manifest(
            base_snapshot,
            _entry("function", "PyObject_Repr", "3.2"),
            _entry("function", "PyErr_SetFromWindowsErr", "3.7", ifdef="MS_WINDOWS", abi_only=True),
        ),
        "PyObject_Repr",
    )
    assert _rules(snapshot) == []


def test_abi804_needs_binaries(base_snapshot: Snapshot) -> None:
    report = audit(_with_manifest(base_snapshot, _entry("function", "PyObject_Repr", "3.2")))
    assert report.changes == () and not report.exports_checked
    assert any("exports were not checked" in note for note in report.notes)


# -- ABI802: visible at OLD's level, unknown to OLD ---------------------------------------

_UNGUARDED = (
    "object.h",
    "PyAPI_DATA(PyTypeObject) PyType_Type;",
    "PyAPI_DATA(PyTypeObject) PyType_Type;\nPyAPI_FUNC(int) PyNew_Unguarded(PyObject *o);",
)
_GUARDED = (
    "object.h",
    "PyAPI_DATA(PyTypeObject) PyType_Type;",
    "PyAPI_DATA(PyTypeObject) PyType_Type;\n"
    "#if !defined(Py_LIMITED_API) || Py_LIMITED_API+0 >= 0x030C0000\n"
    "PyAPI_FUNC(int) PyNew_Guarded(PyObject *o);\n#endif",
)


def test_abi802_fires_for_an_unguarded_addition(base_snapshot: Snapshot, variant_snapshot: MakeVariant) -> None:
    new = variant_snapshot((_UNGUARDED,))
    [item] = audit(new, base_snapshot).changes
    assert (item.rule, item.entity, item.new, item.header) == ("ABI802", "PyNew_Unguarded", "3.11", "object.h")


def test_abi802_quiet_for_a_guarded_addition(base_snapshot: Snapshot, variant_snapshot: MakeVariant) -> None:
    new = variant_snapshot((_GUARDED,))
    assert _rules(new, base_snapshot) == []


def test_abi802_quiet_when_old_exports_it(base_snapshot: Snapshot, variant_snapshot: MakeVariant) -> None:
    new = variant_snapshot((_UNGUARDED,))
    old = _with_exports(base_snapshot, "PyNew_Unguarded")
    assert _rules(new, old) == []


def test_abi3_against_itself_is_quiet(base_snapshot: Snapshot) -> None:
    assert _rules(base_snapshot, base_snapshot) == []


# -- ABI805: stable struct layouts --------------------------------------------------------

_GROW_OBJECT = ("object.h", "    PyTypeObject *ob_type;\n};", "    PyTypeObject *ob_type;\n    void *ob_extra;\n};")
_MOVE_TYPE = ("object.h", "    PyTypeObject *ob_type;\n};", "    void *ob_first;\n    PyTypeObject *ob_type;\n};")


def test_abi805_without_manifest_compares_complete_limited_structs(
    base_snapshot: Snapshot, variant_snapshot: MakeVariant
) -> None:
    new = variant_snapshot((_GROW_OBJECT,))
    found = [item for item in audit(new, base_snapshot).changes if item.rule == "ABI805"]
    # PyObject grew; PyVarObject embeds it, so its ob_size moved
    assert {item.entity for item in found} == {"PyObject", "PyVarObject"}
    assert all(item.severity == "break" for item in found)


def test_abi805_members_kind_ignores_growth_at_the_end(base_snapshot: Snapshot, variant_snapshot: MakeVariant) -> None:
    manifest = (_entry("struct", "PyObject", "3.2", struct_abi_kind="members", members=("ob_refcnt", "ob_type")),)
    new = _with_manifest(variant_snapshot((_GROW_OBJECT,)), *manifest)
    assert [rule for rule, _ in _rules(new, base_snapshot) if rule == "ABI805"] == []
    moved = _with_manifest(variant_snapshot((_MOVE_TYPE,)), *manifest)
    [item] = [item for item in audit(moved, base_snapshot).changes if item.rule == "ABI805"]
    assert item.entity == "PyObject" and "field ob_type" in item.detail


# -- ABI806: Py_LIMITED_API_3_x aliases ---------------------------------------------------


def test_abi806_checks_each_alias(variant_snapshot: MakeVariant) -> None:
    edit = (
        "pyport.h",
        "#define Py_PYPORT_H",
        "#define Py_PYPORT_H\n#define Py_LIMITED_API_3_9 0x03090000\n#define Py_LIMITED_API_3_10 0x030A00F0",
    )
    snapshot = variant_snapshot((edit,))
    found = [item for item in audit(snapshot).changes if item.rule == "ABI806"]
    assert [(item.entity, item.old, item.new) for item in found] == [
        ("Py_LIMITED_API_3_10", "0x030A0000", "0x030A00F0")
    ]


def test_no_alias_is_noted(base_snapshot: Snapshot) -> None:
    assert any("Py_LIMITED_API_3_x" in note for note in audit(base_snapshot).notes)


# -- the surface, the report, the exit status ---------------------------------------------


def test_surface_per_level(base_snapshot: Snapshot) -> None:
    report = audit(base_snapshot)
    assert [level.level for level in report.levels] == [f"3.{minor}" for minor in range(2, 12)]
    by_level = {level.level: level for level in report.levels}
    assert "Py_NewRef" in by_level["3.10"].new and "Py_NewRef" not in by_level["3.9"].new
    assert by_level["3.10"].functions == by_level["3.9"].functions + 1
    assert by_level["3.2"].hex == "0x03020000"
    kinds = {item.name: item.abi3_kind for item in report.surface if item.entity_kind == "record"}
    assert kinds["PyObject"] == "full-abi"  # complete at the limited levels, no manifest


def test_json_report_validates_and_is_byte_stable(base_snapshot: Snapshot) -> None:
    snapshot = _with_manifest(base_snapshot, _entry("function", "Py_NewRef", "3.11"))
    text = dumps(audit(snapshot, base_snapshot))
    assert text == dumps(audit(snapshot, base_snapshot))
    document = json.loads(text)
    jsonschema.validate(document, schema())
    with open(os.path.join(ROOT, "src", "abidiff", "schemas", "abi3.schema.json"), encoding="utf-8") as handle:
        jsonschema.validate(document, json.load(handle))
    change = document["changes"][0]
    assert {"rule", "entity", "entity_kind", "severity", "message", "tier", "old", "new"} <= set(change)


def test_text_and_markdown(base_snapshot: Snapshot) -> None:
    report = audit(_with_manifest(base_snapshot, _entry("function", "Py_NewRef", "3.11")))
    assert "ABI801 warning: function Py_NewRef" in render_text(report)
    assert "<summary>Warnings (1)</summary>" in render_markdown(report)
    assert "- **ABI801** `Py_NewRef`" in render_markdown(report)


@pytest.mark.parametrize(
    ("edits", "status"),
    [
        pytest.param((), EXIT_OK, id="clean"),
        pytest.param((_UNGUARDED,), EXIT_ABI_CHANGE, id="warning"),
        pytest.param((_MOVE_TYPE,), EXIT_ABI_CHANGE | EXIT_ABI_INCOMPATIBLE, id="break"),
    ],
)
def test_exit_status_bits(tmp_path: Path, edits: tuple[Edit, ...], status: int) -> None:
    from tests.conftest import make_variant

    new = make_variant(str(tmp_path), edits) if edits else BASE_HEADERS
    out, err = io.StringIO(), io.StringIO()
    assert abi3_main(new, reporting=Reporting(fmt="json", stdout=out, stderr=err), against=BASE_HEADERS) == status
    assert json.loads(out.getvalue())["schema"] == "abidiff-abi3"


def test_rules_are_documented() -> None:
    with open(os.path.join(ROOT, "docs", "rules.md"), encoding="utf-8") as handle:
        text = handle.read()
    for rule in ABI3_RULES:
        assert f"### {rule.id}" in text, rule.id
    prefixes = ("limited-ahead", "manifest-", "stable-layout")
    audit_kinds = {kind for kind in ChangeKind if kind.value.startswith(prefixes)}
    assert len({rule.id for rule in ABI3_RULES}) == len(ABI3_RULES) == len(audit_kinds) + 1  # + the alias rule


def test_shipped_schemas_are_current() -> None:
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "scripts", "regen.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_abi8xx_finding_is_suppressed_end_to_end(tmp_path: Path) -> None:
    """``abidiff abi3 --suppressions``: the one judge applies them to the audit's findings."""
    from abidiff.cli import main_inner
    from tests.conftest import make_variant

    new = make_variant(str(tmp_path), (_UNGUARDED,))
    args = ["abi3", new, "--against", BASE_HEADERS, "--format", "json"]
    out = io.StringIO()
    assert main_inner(args, stdout=out) == EXIT_ABI_CHANGE
    [finding] = json.loads(out.getvalue())["changes"]
    suppressions = tmp_path / "known.toml"
    suppressions.write_text(
        f'[[suppress]]\nrule = "{finding["rule"]}"\nentity = "{finding["entity"]}"\nreason = "known"\n',
        encoding="utf-8",
    )
    out = io.StringIO()
    assert main_inner([*args, "--suppressions", str(suppressions)], stdout=out) == EXIT_OK
    document = json.loads(out.getvalue())
    assert (document["changes"], document["suppressed"], document["suppression_warnings"]) == ([], 1, [])
