"""What abidiff reads besides ``Python.h`` (fixtures/headers/extras): every public header of the
tree, each declaration once with its own header, line and column; ``Py_DEPRECATED`` on every
kind of declaration; declarations without ``PyAPI_*`` markers; the warnings of headers that do
not parse; and the limited API of headers ``Python.h`` does not include."""

from __future__ import annotations

import os
from typing import Any

import pytest

from abidiff import snapshot as snapshot_io
from abidiff.headers.tree import read_tree
from abidiff.model import Field, Function, Record, Snapshot, Tier, Typedef, Variable
from tests.conftest import FIXTURES, snapshot_cached

EXTRAS = os.path.join(FIXTURES, "headers", "extras")


@pytest.fixture(scope="module")
def extras() -> Snapshot:
    return snapshot_cached(EXTRAS)


def _get(items: tuple[Any, ...], name: str) -> Any:
    found = [item for item in items if item.name == name]
    assert len(found) == 1, f"{name}: {len(found)} declarations"
    return found[0]


def _line_of(relative: str, text: str) -> int:
    with open(os.path.join(EXTRAS, relative), encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    return next(number for number, line in enumerate(lines, start=1) if text in line)


def test_the_headers_python_h_does_not_include_are_found_from_the_tree() -> None:
    tree = read_tree(EXTRAS)
    # no other header includes them (cpython/frameobject.h comes through frameobject.h, node.h is
    # included by none: it is its own root); internal/ and pyconfig.h never
    assert tree.extra == (
        "ast.h",
        "broken.h",
        "datetime.h",
        "frameobject.h",
        "node.h",
        "py_missing.h",
        "pyexpat.h",
        "structmember.h",
    )
    assert "cpython/frameobject.h" in tree.headers and "cpython/object.h" in tree.reached
    assert not any(name.startswith("internal/") for name in tree.headers)


def test_datetime_capsule_api_with_its_fields(extras: Snapshot) -> None:
    capi: Record = _get(extras.records, "PyDateTime_CAPI")
    assert capi.header == "datetime.h" and capi.complete and capi.size == 24
    layout = [(f.name, f.offset_bits) for f in capi.fields]
    assert layout == [("DateType", 0), ("DeltaType", 64), ("Date_FromDate", 128)]
    assert capi.tier == Tier.PUBLIC and capi.limited_since is None  # datetime.h is not for Py_LIMITED_API
    assert _get(extras.macros, "PyDateTime_DELTA_KIND").value == 2
    static = _get(extras.variables, "PyDateTimeAPI")  # static data of a header: each extension has its own
    assert static.header == "datetime.h" and static.type.spelling == "PyDateTime_CAPI *"


def test_a_cpython_header_reached_through_an_extra_one_keeps_its_own_name(extras: Snapshot) -> None:
    frame = _get(extras.records, "struct _frame")
    assert frame.header == "cpython/frameobject.h" and frame.complete
    assert [f.name for f in frame.fields] == ["ob_base", "f_back", "f_lineno"]
    assert _get(extras.functions, "PyFrame_New").header == "cpython/frameobject.h"
    # it refuses to be included directly: had it been, the parse would have said so
    assert not any("frameobject" in warning for warning in extras.warnings)


def test_each_declaration_once(extras: Snapshot) -> None:
    for kind in ("records", "functions", "variables", "enums", "typedefs", "macros"):
        names = [entity.name for entity in getattr(extras, kind)]
        assert len(names) == len(set(names)), kind
    assert not any(entity.header.startswith("internal/") for entity in extras.records)


def test_a_header_that_needs_another_one_later_by_name_is_read_after_it(extras: Snapshot) -> None:
    validate: Function = _get(extras.functions, "PyAST_Validate")  # ast.h uses node of node.h
    assert validate.header == "ast.h" and validate.params[0].type.canonical == "struct _node *"


def test_headers_that_do_not_parse_are_named_in_warnings(extras: Snapshot) -> None:
    assert extras.warnings == (
        "broken.h was not read: it does not parse after Python.h (broken.h:3: expected function body after "
        "function declarator)",
        "py_missing.h was not read: it includes 'abidiff_no_such_library.h', which no include directory holds",
    )
    names = {function.name for function in extras.functions}
    assert "PyMissing_Function" not in names and "PyBroken_Function" not in names


def test_pyexpat_h_gets_expat_h_first_when_the_machine_has_it(extras: Snapshot) -> None:
    have_expat = any(os.path.isfile(os.path.join(d, "expat.h")) for d in ("/usr/include", "/usr/local/include"))
    names = {record.name for record in extras.records}
    if have_expat:
        capi = _get(extras.records, "struct PyExpat_CAPI")
        assert capi.fields[1].type.spelling == "enum XML_Error (*)(XML_Parser)"
    else:
        assert "struct PyExpat_CAPI" not in names
        assert "pyexpat.h was not read: it needs expat.h, which this machine lacks" in extras.warnings


@pytest.mark.parametrize(
    ("kind", "name", "tier", "since"),
    [
        ("records", "struct PyMemberDef", Tier.LIMITED, "3.2"),  # named by the stable-ABI manifest
        ("functions", "PyMember_GetOne", Tier.LIMITED, "3.2"),
        ("functions", "PyStructMember_NotInTheManifest", Tier.PUBLIC, None),  # visible, not in the manifest
        ("macros", "T_SHORT", Tier.PUBLIC, None),
        ("functions", "PyObject_Repr", Tier.LIMITED, "3.2"),  # Python.h's own: visibility decides
    ],
    ids=lambda value: str(value),
)
def test_limited_api_of_headers_python_h_does_not_include(
    extras: Snapshot, kind: str, name: str, tier: Tier, since: str | None
) -> None:
    entity = _get(getattr(extras, kind), name)
    assert (entity.tier, entity.limited_since) == (tier, since)


def test_declarations_without_pyapi_markers(extras: Snapshot) -> None:
    data: Variable = _get(extras.variables, "Py_PlainData")
    assert data.type.canonical == "const char *const" and data.tier == Tier.LIMITED
    function: Function = _get(extras.functions, "Py_PlainFunction")
    assert not function.inline and [p.type.spelling for p in function.params] == ["int"]


def test_deprecated_on_every_kind(extras: Snapshot) -> None:
    flag: Variable = _get(extras.variables, "Py_OldFlag")
    old_type: Typedef = _get(extras.typedefs, "Py_OldType")
    old_record: Record = _get(extras.records, "struct _Py_old_record")
    old_function: Function = _get(extras.functions, "Py_OldFunction")
    assert flag.deprecated and old_type.deprecated and old_record.deprecated and old_function.deprecated
    obj: Record = _get(extras.records, "struct _object")
    fields: dict[str, Field] = {item.name: item for item in obj.fields}
    assert fields["ob_old_hash"].deprecated and not fields["ob_refcnt"].deprecated
    assert not obj.deprecated and not _get(extras.functions, "PyObject_Repr").deprecated
    assert not _get(extras.variables, "Py_PlainData").deprecated


def test_every_declaration_has_its_line_and_column(extras: Snapshot) -> None:
    repr_ = _get(extras.functions, "PyObject_Repr")
    assert (repr_.header, repr_.line) == ("object.h", _line_of("object.h", "PyObject_Repr"))
    assert repr_.column == len("PyAPI_FUNC(PyObject *) ") + 1  # the name's column
    capi = _get(extras.records, "PyDateTime_CAPI")
    fields = ("*DateType;", "*DeltaType;", "(*Date_FromDate)")
    assert [f.line for f in capi.fields] == [_line_of("datetime.h", text) for text in fields]
    assert capi.line == _line_of("datetime.h", "*DateType;") - 1  # "typedef struct {"
    assert capi.column == len("typedef ") + 1
    assert _get(extras.macros, "T_SHORT").line == _line_of("structmember.h", "#define T_SHORT")
    assert _get(extras.macros, "T_SHORT").column == len("#define ") + 1
    assert _get(extras.typedefs, "Py_OldType").line == _line_of("object.h", "Py_OldType")
    assert _get(extras.variables, "Py_PlainData").line == _line_of("object.h", "Py_PlainData")
    assert _get(extras.records, "struct _frame").line == _line_of("cpython/frameobject.h", "struct _frame {")
    for kind in ("records", "functions", "variables", "enums", "typedefs", "macros"):
        for entity in getattr(extras, kind):
            assert entity.line is not None and entity.line > 0 and entity.column is not None, (kind, entity.name)


def test_lines_round_trip_and_snapshots_stay_byte_stable(extras: Snapshot) -> None:
    text = snapshot_io.dumps(extras)
    loaded = snapshot_io.loads(text)
    assert loaded == extras
    assert snapshot_io.dumps(loaded) == text
    assert '"line":' in text and '"deprecated":true' in text
