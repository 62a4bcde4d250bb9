"""The header reader on the small CPython-like tree in fixtures/headers/minimal."""

from __future__ import annotations

from typing import Any

import pytest

from abidiff.headers.parse import clean_spelling
from abidiff.model import Field, Record, ReleaseLevel, Snapshot, Tier


def _get(items: tuple[Any, ...], name: str) -> Any:
    found = [item for item in items if item.name == name]
    assert found, f"{name} missing"
    return found[0]


def _field(record: Record, name: str) -> Field:
    def walk(fields: tuple[Field, ...]) -> list[Field]:
        out: list[Field] = []
        for item in fields:
            out.append(item)
            out.extend(walk(item.members))
        return out

    return next(item for item in walk(record.fields) if item.name == name)


def test_build_identity(minimal_snapshot: Snapshot) -> None:
    build = minimal_snapshot.build
    assert build.version == "3.12.0a2"
    assert build.release_level == ReleaseLevel.ALPHA
    assert build.release_serial == 2
    assert build.hexversion == 0x030C00A2
    assert build.pointer_size == 8
    assert build.headers_only
    assert build.config_value("SIZEOF_VOID_P") == 8
    assert build.config_value("Py_GIL_DISABLED") == 0
    assert minimal_snapshot.limited_levels == tuple(f"3.{minor}" for minor in range(2, 13))


def test_object_with_anonymous_union(minimal_snapshot: Snapshot) -> None:
    obj = _get(minimal_snapshot.records, "struct _object")
    assert obj.aliases == ("PyObject",) and obj.display_name == "PyObject"
    assert (obj.size, obj.align, obj.complete) == (16, 8, True)
    anonymous = obj.fields[0]
    assert anonymous.name == "" and anonymous.type.spelling == "union (anonymous)"
    assert [(m.name, m.offset_bits, m.size_bits) for m in anonymous.members] == [
        ("ob_refcnt", 0, 64),
        ("ob_refcnt_split", 0, 64),
    ]
    ob_type = obj.fields[1]
    assert (ob_type.name, ob_type.offset_bits) == ("ob_type", 64)
    assert ob_type.type.spelling == "PyTypeObject *"
    assert ob_type.type.canonical == "struct _typeobject *"


def test_bitfields(minimal_snapshot: Snapshot) -> None:
    state = _get(minimal_snapshot.records, "PyBitState")
    layout = [(f.name, f.offset_bits, f.bitfield_width) for f in state.fields]
    assert layout == [
        ("interned", 0, 2),
        ("kind", 2, 3),
        ("compact", 5, 1),
        ("ascii", 6, 1),
        ("", 7, 25),
        ("after", 32, None),
    ]
    assert state.size == 8


def test_opaque_in_limited_api(minimal_snapshot: Snapshot) -> None:
    type_object = _get(minimal_snapshot.records, "struct _typeobject")
    assert type_object.complete and type_object.header == "cpython/object.h"
    assert type_object.limited_since == "3.2"  # the name is limited API (opaque) ...
    assert type_object.limited_layout_since is None  # ... its layout is not
    obj = _get(minimal_snapshot.records, "struct _object")
    assert obj.limited_layout_since == "3.2"


@pytest.mark.parametrize(
    ("name", "tier", "since"),
    [
        ("PyObject_Repr", Tier.LIMITED, "3.2"),
        ("Py_NewRef", Tier.LIMITED, "3.10"),
        ("_Py_IncRef", Tier.LIMITED, "3.12"),  # declared only when Py_LIMITED_API >= 3.12
        ("_Py_Dealloc", Tier.LIMITED, "3.2"),
        ("PyObject_CallNoArgsLike", Tier.PUBLIC, None),
        ("PyUnstable_Object_IsUniquelyReferenced", Tier.UNSTABLE, None),
    ],
    ids=lambda value: str(value),
)
def test_function_tiers(minimal_snapshot: Snapshot, name: str, tier: Tier, since: str | None) -> None:
    function = _get(minimal_snapshot.functions, name)
    assert (function.tier, function.limited_since) == (tier, since)


def test_internal_headers_are_never_read(minimal_snapshot: Snapshot) -> None:
    names = {f.name for f in minimal_snapshot.functions} | {r.name for r in minimal_snapshot.records}
    assert "_PyInternal_Secret" not in names and "struct _internal_state" not in names
    assert not any(item.header.startswith("internal/") for item in minimal_snapshot.functions)


def test_functions(minimal_snapshot: Snapshot) -> None:
    parse_tuple = _get(minimal_snapshot.functions, "PyArg_ParseTuple")
    assert parse_tuple.variadic and not parse_tuple.inline
    assert [p.type.canonical for p in parse_tuple.params] == ["struct _object *", "const char *"]
    assert parse_tuple.returns.canonical == "int"
    refcnt = _get(minimal_snapshot.functions, "Py_REFCNT")
    assert refcnt.inline and refcnt.returns.spelling == "Py_ssize_t" and refcnt.returns.canonical == "long"
    assert _get(minimal_snapshot.variables, "PyType_Type").type.canonical == "struct _typeobject"


def test_enums_and_typedefs(minimal_snapshot: Snapshot) -> None:
    send = _get(minimal_snapshot.enums, "PySendResult")
    assert [(e.name, e.value) for e in send.enumerators] == [
        ("PYGEN_RETURN", 0),
        ("PYGEN_ERROR", -1),
        ("PYGEN_NEXT", 1),
    ]
    assert _get(minimal_snapshot.typedefs, "Py_ssize_t").type.canonical == "long"
    assert _get(minimal_snapshot.typedefs, "PyObject").type.canonical == "struct _object"


def test_macros(minimal_snapshot: Snapshot) -> None:
    assert _get(minimal_snapshot.macros, "Py_TPFLAGS_HEAPTYPE").value == 512
    assert _get(minimal_snapshot.macros, "Py_TPFLAGS_DEFAULT").value == 512
    limited_flag = _get(minimal_snapshot.macros, "Py_LIMITED_FLAG")
    assert (limited_flag.value, limited_flag.limited_since) == (42, "3.10")
    assert _get(minimal_snapshot.macros, "Py_NOT_A_NUMBER").value is None  # a string
    square = _get(minimal_snapshot.macros, "Py_SQUARE")
    assert square.function_like and square.value is None
    assert _get(minimal_snapshot.macros, "HAVE_FORK").tier == Tier.PRIVATE  # pyconfig.h: configuration
    names = {m.name for m in minimal_snapshot.macros}
    assert "Py_OBJECT_H" not in names  # include guards are not API


@pytest.mark.parametrize(
    ("spelling", "cleaned"),
    [
        ("union _object::(anonymous at /x/include/object.h:175:5)", "union (anonymous)"),
        ("struct (unnamed at /x/a.h:3:1) *", "struct (anonymous) *"),
        ("struct (unnamed struct at /x/a.h:3:1)", "struct (anonymous)"),
        ("PyObject *", "PyObject *"),
    ],
    ids=["anonymous-member", "unnamed-pointer", "unnamed-struct", "plain"],
)
def test_clean_spelling(spelling: str, cleaned: str) -> None:
    assert clean_spelling(spelling) == cleaned


def _line(relative: str, text: str) -> int:
    import os

    from tests.conftest import MINIMAL_HEADERS

    with open(os.path.join(MINIMAL_HEADERS, relative), encoding="utf-8") as handle:
        return next(number for number, line in enumerate(handle.read().splitlines(), start=1) if text in line)


def test_places(minimal_snapshot: Snapshot) -> None:
    """Every declaration says where it is: header, line, column (of its name)."""
    obj = _get(minimal_snapshot.records, "struct _object")
    assert (obj.header, obj.line, obj.column) == ("object.h", _line("object.h", "typedef struct _object {"), 16)
    assert obj.fields[1].line == _line("object.h", "*ob_type;")
    assert [m.line for m in obj.fields[0].members] == [_line("object.h", "ob_refcnt;"), _line("object.h", "split[2]")]
    send = _get(minimal_snapshot.enums, "PySendResult")
    assert [e.line for e in send.enumerators] == [_line("object.h", f"{e.name} =") for e in send.enumerators]
    refcnt = _get(minimal_snapshot.functions, "Py_REFCNT")
    assert (refcnt.line, refcnt.column) == (_line("object.h", "Py_REFCNT("), len("static inline Py_ssize_t ") + 1)
    assert _get(minimal_snapshot.functions, "_Py_IncRef").line == _line("limited.h", "_Py_IncRef")  # limited-only
    assert _get(minimal_snapshot.macros, "HAVE_FORK").line == _line("pyconfig.h", "HAVE_FORK")
    assert _get(minimal_snapshot.typedefs, "Py_ssize_t").line == _line("Python.h", "Py_ssize_t;")
    assert _get(minimal_snapshot.variables, "PyType_Type").line == _line("object.h", "PyType_Type;")
