"""The pure engine on hand-made snapshots (no libclang): each rule's logic in milliseconds,
both ways (the case that fires and the near miss that must not)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from abidiff.changes import ChangeKind, EntityKind
from abidiff.commands.common import findings_status
from abidiff.commands.compare import exit_status
from abidiff.model import (
    Binary,
    BinaryFormat,
    BinaryRole,
    Build,
    Field,
    Function,
    Macro,
    ManifestEntry,
    Param,
    Record,
    RecordKind,
    ReleaseLevel,
    Snapshot,
    Symbol,
    SymbolKind,
    Tier,
    Typedef,
    TypeRef,
    Variable,
)
from abidiff.rules import Finding, Report, Severity, StableVerdict, Verdict, compare
from tests.handmade import hand_made_build

HEADER = "cpython/object.h"


_build = hand_made_build


def _type(spelling: str, canonical: str | None = None) -> TypeRef:
    return TypeRef(spelling=spelling, canonical=canonical or spelling)


def _function(name: str, returns: str = "int", *params: str, tier: Tier = Tier.PUBLIC, **extra: Any) -> Function:
    limited: dict[str, Any] = {"limited_since": "3.2"} if tier == Tier.LIMITED else {}
    return Function(
        name=name,
        returns=_type(returns),
        params=tuple(Param(name=f"p{i}", type=_type(p)) for i, p in enumerate(params)),
        header=HEADER,
        tier=tier,
        **{**limited, **extra},
    )


def _data(name: str, spelling: str = "PyTypeObject", tier: Tier = Tier.PUBLIC, size: int = 8) -> Variable:
    return Variable(name=name, type=_type(spelling, "struct _typeobject"), size=size, header=HEADER, tier=tier)


def _field(name: str, offset: int, spelling: str = "long", size: int = 64, **extra: Any) -> Field:
    return Field(name=name, type=_type(spelling), offset_bits=offset, size_bits=size, **extra)


def _record(name: str, *fields: Field, size: int | None = None, alias: str | None = None, **extra: Any) -> Record:
    end = max((f.offset_bits or 0) + (f.size_bits or 0) for f in fields) // 8 if fields else 0
    return Record(
        name=name,
        kind=RecordKind.STRUCT,
        aliases=(alias,) if alias else (),
        complete=True,
        size=size if size is not None else end,
        align=8,
        fields=fields,
        header=HEADER,
        tier=Tier.PUBLIC,
        **extra,
    )


def _lib(*names: str, kinds: dict[str, SymbolKind] | None = None) -> Binary:
    kinds = kinds or {}
    return Binary(
        role=BinaryRole.LIBPYTHON,
        path="/lib/libpython3.13.so.1.0",
        format=BinaryFormat.ELF,
        arch="x86_64",
        bits=64,
        symbols=tuple(Symbol(name=n, kind=kinds.get(n, SymbolKind.FUNCTION)) for n in sorted(names)),
    )


def _snap(build: Build | None = None, **parts: Any) -> Snapshot:
    return Snapshot(build=build or _build(), **parts)


def _only(report: Report, rule: str) -> list[Finding]:
    return [change for change in report.changes if change.rule == rule]


# -- a struct tag given to an untagged typedef'd struct (3.8 -> 3.9's PyCodeObject) ------------


def test_a_tag_given_to_a_typedefd_struct_is_the_same_type() -> None:
    old = _snap(functions=(_function("PyCode_New", "PyCodeObject *"),))
    new = _snap(functions=(replace(old.functions[0], returns=_type("PyCodeObject *", "struct PyCodeObject *")),))
    assert compare(old, new).changes == ()


def test_a_tag_given_to_a_typedefd_enum_is_the_same_type() -> None:
    old = _snap(functions=(_function("PyUnicode_New", "PyObject *", "Py_ssize_t", "PyUnicode_Kind"),))
    kind = _type("PyUnicode_Kind", "enum PyUnicode_Kind")
    new = _snap(
        functions=(replace(old.functions[0], params=(old.functions[0].params[0], Param(name="p1", type=kind))),)
    )
    assert compare(old, new).changes == ()


def test_another_struct_is_another_type() -> None:
    old = _snap(functions=(_function("PyCode_New", "PyCodeObject *"),))
    new = _snap(functions=(replace(old.functions[0], returns=_type("PyFrameObject *", "struct _frame *")),))
    [finding] = compare(old, new).changes
    assert (finding.rule, finding.severity) == ("ABI202", Severity.BREAK)


# -- removals of what the old build never exported -------------------------------------------


def test_data_the_old_build_never_exported_is_a_source_change() -> None:
    gone = _data("PyNullImporter_Type", tier=Tier.LIMITED)
    old = _snap(variables=(gone,), binaries=(_lib("PyList_New"),))
    new = _snap(binaries=(_lib("PyList_New"),))
    [finding] = compare(old, new).changes
    assert (finding.rule, finding.severity) == ("ABI211", Severity.WARNING)
    assert "never exported" in finding.message


def test_data_the_old_build_exported_is_a_break() -> None:
    gone = _data("PyNullImporter_Type", tier=Tier.LIMITED)
    old = _snap(
        variables=(gone,), binaries=(_lib("PyNullImporter_Type", kinds={"PyNullImporter_Type": SymbolKind.DATA}),)
    )
    new = _snap(binaries=(_lib(),))
    report = compare(old, new)
    assert [(c.rule, c.severity) for c in report.changes] == [("ABI302", Severity.BREAK)]
    assert report.stable_abi_verdict == StableVerdict.BROKEN


# -- module init functions linked into libpython ------------------------------------------


def test_pyinit_exports_are_no_api() -> None:
    old = _snap(binaries=(_lib("PyList_New", "PyInit__typing"),))
    new = _snap(binaries=(_lib("PyList_New", "PyInit_xxsubtype"),))
    report = compare(old, new)
    assert report.changes == ()
    assert exit_status(report) == 0


def test_other_exports_still_count() -> None:
    old = _snap(binaries=(_lib("PyList_New", "PySignal_SetWakeupFd"),))
    new = _snap(binaries=(_lib("PyList_New"),))
    assert [c.rule for c in compare(old, new).changes] == ["ABI601"]


# -- the stable ABI manifest judges exports ---------------------------------------------------

_MANIFEST = (ManifestEntry(kind="function", name="PyCFunction_New", added="3.2"),)


def test_an_export_of_the_manifest_is_stable_abi() -> None:
    old = _snap(
        _build("3.8.18", ReleaseLevel.FINAL), binaries=(_lib("PyCFunction_New", "PyList_New"),), manifest=_MANIFEST
    )
    new = _snap(_build("3.9.18", ReleaseLevel.FINAL), binaries=(_lib("PyList_New"),), manifest=_MANIFEST)
    report = compare(old, new)
    [finding] = _only(report, "ABI601")
    assert (finding.tier, finding.severity) == (Tier.LIMITED, Severity.BREAK)
    assert report.stable_abi_verdict == StableVerdict.BROKEN


def test_an_export_outside_the_manifest_promises_nothing() -> None:
    old = _snap(
        _build("3.8.18", ReleaseLevel.FINAL), binaries=(_lib("_PyCFunction_Fast", "PyList_New"),), manifest=_MANIFEST
    )
    new = _snap(_build("3.9.18", ReleaseLevel.FINAL), binaries=(_lib("PyList_New"),), manifest=_MANIFEST)
    [finding] = compare(old, new).changes
    assert (finding.tier, finding.severity) == (Tier.PRIVATE, Severity.WARNING)


def test_headers_only_the_manifest_says_what_stays_exported() -> None:
    kept = (ManifestEntry(kind="function", name="PyEval_CallObject", added="3.2", abi_only=True),)
    old = _snap(functions=(_function("PyEval_CallObject", tier=Tier.LIMITED),), manifest=kept)
    new = _snap(manifest=kept)
    report = compare(old, new)
    assert [c.rule for c in report.changes] == ["ABI209"]
    assert "stable ABI manifest" in report.changes[0].message
    assert report.stable_abi_verdict == StableVerdict.INTACT


def test_headers_only_without_the_manifest_counts_as_removed() -> None:
    old = _snap(functions=(_function("PyEval_CallObject", tier=Tier.LIMITED),), manifest=_MANIFEST)
    report = compare(old, _snap(manifest=_MANIFEST))
    assert [c.rule for c in report.changes] == ["ABI201"]
    assert report.stable_abi_verdict == StableVerdict.BROKEN


# -- a record NEW names otherwise behind the same typedef (3.10 -> 3.11's Py_buffer) ----------

_BUFFER_FIELDS = (_field("buf", 0, "void *"), _field("len", 64, "Py_ssize_t"))


def _buffer_side(record: str, pointer: str, *, fields: tuple[Field, ...] = _BUFFER_FIELDS) -> Snapshot:
    """3.10 spells every use of the buffer ``struct bufferinfo``; 3.11 untags it: ``Py_buffer``."""
    value = record  # the canonical spelling of the record held by value
    return _snap(
        records=(
            _record(record, *fields, alias="Py_buffer"),
            _record("PyMemoryViewObject", _field("ob_refcnt", 0), _field("view", 64, value, 128)),
        ),
        functions=(
            _function("PyBuffer_Release", "void", pointer),
            _function("PyBuffer_IsContiguous", "int", f"const {pointer}", "char"),
        ),
        typedefs=(
            _typedef("Py_buffer", value),
            _typedef("getbufferproc", f"int (*)(struct _object *, {pointer}, int)"),
        ),
    )


def test_a_record_renamed_behind_its_typedef_is_the_same_type_everywhere() -> None:
    old = _buffer_side("struct bufferinfo", "struct bufferinfo *")
    new = _buffer_side("Py_buffer", "Py_buffer *")
    # the tag is gone from the source: said once, at the typedef that names the record
    [finding] = compare(old, new).changes
    assert (finding.rule, finding.entity, finding.severity) == ("ABI505", "Py_buffer", Severity.WARNING)
    assert compare(old, new).verdict == Verdict.BINARY_COMPATIBLE


def test_a_renamed_record_whose_layout_changed_is_reported_at_the_record() -> None:
    old = _buffer_side("struct bufferinfo", "struct bufferinfo *")
    grown = (*_BUFFER_FIELDS, _field("readonly", 128, "int", 32))
    new = _buffer_side("Py_buffer", "Py_buffer *", fields=grown)
    breaks = [(f.rule, f.entity) for f in compare(old, new).changes if f.severity == Severity.BREAK]
    # the record grew; the functions that take it by pointer did not change
    assert breaks == [("ABI103", "Py_buffer.readonly")]


def test_a_renamed_record_is_still_not_another_record() -> None:
    old = _buffer_side("struct bufferinfo", "struct bufferinfo *")
    new = _buffer_side("Py_buffer", "Py_buffer *")
    release = replace(new.functions[0], params=(replace(new.functions[0].params[0], type=_type("struct _other *")),))
    new = replace(new, functions=(release, new.functions[1]))
    changed = [(f.rule, f.entity, f.message) for f in compare(old, new).changes if f.severity == Severity.BREAK]
    assert changed == [
        (
            "ABI203",
            "PyBuffer_Release",
            "parameters of PyBuffer_Release changed: parameter 1 (p0): struct bufferinfo * -> struct _other *",
        )
    ]


def test_const_added_to_a_renamed_record_is_a_qualifier_change() -> None:
    old = _buffer_side("struct bufferinfo", "struct bufferinfo *")
    new = _buffer_side("Py_buffer", "Py_buffer *")
    release = replace(new.functions[0], params=(replace(new.functions[0].params[0], type=_type("const Py_buffer *")),))
    new = replace(new, functions=(release, new.functions[1]))
    findings = {(f.rule, f.entity) for f in compare(old, new).changes}
    assert findings == {("ABI505", "Py_buffer"), ("ABI206", "PyBuffer_Release")}


def test_only_the_parameters_that_changed_are_named() -> None:
    # parameter 1 is the renamed record (the same type); parameter 2 really changed
    old = _snap(records=(_record("struct bufferinfo", *_BUFFER_FIELDS, alias="Py_buffer"),))
    old = replace(old, functions=(_function("PyBuffer_IsContiguous", "int", "struct bufferinfo *", "char"),))
    new = _snap(records=(_record("Py_buffer", *_BUFFER_FIELDS, alias="Py_buffer"),))
    new = replace(new, functions=(_function("PyBuffer_IsContiguous", "int", "Py_buffer *", "int"),))
    [finding] = compare(old, new).changes
    assert finding.message == "parameters of PyBuffer_IsContiguous changed: parameter 2 (p1): char -> int"


# -- a pointer to a Python object given another object type (3.11's PyGenObject.gi_code) -----

_OBJECT = _record("struct _object", _field("ob_refcnt", 0, "Py_ssize_t"), _field("ob_type", 64, "PyTypeObject *"))
_CODE = _record("struct PyCodeObject", _field("ob_base", 0, "struct _object", 128), _field("co_flags", 128, "int", 32))
_VALUES = _record("struct _dictvalues", _field("values", 0, "PyObject *[1]"))


def _generator(code: str, *, frame: bool = False) -> Snapshot:
    head = (_field("ob_base", 0, "struct _object", 128),)
    frame_field = (_field("gi_frame", 128, "struct _frame *"),) if frame else ()
    start = 192 if frame else 128
    fields = (*head, *frame_field, _field("gi_code", start, code), _field("gi_name", start + 64, "struct _object *"))
    return _snap(records=(_OBJECT, _CODE, _VALUES, _record("PyGenObject", *fields)))


def test_a_pointer_to_an_object_retyped_to_another_object_keeps_the_abi() -> None:
    [finding] = compare(_generator("struct _object *"), _generator("struct PyCodeObject *")).changes
    assert (finding.rule, finding.entity, finding.severity) == ("ABI113", "PyGenObject.gi_code", Severity.WARNING)
    assert finding.message == (
        "field gi_code of the PyGenObject struct points to another object type: "
        "type struct _object * -> struct PyCodeObject *"
    )


def test_fields_moved_by_another_change_are_that_changes() -> None:
    old, new = _generator("struct _object *", frame=True), _generator("struct PyCodeObject *")
    findings = {f.rule: f for f in compare(old, new).changes}
    assert set(findings) == {"ABI102", "ABI113"}
    assert findings["ABI102"].entity == "PyGenObject.gi_frame"
    assert "offsets of gi_code, gi_name shift" in findings["ABI102"].message
    assert findings["ABI113"].severity == Severity.WARNING and "shift" not in findings["ABI113"].message


def _caller(returns: str, *params: str) -> Snapshot:
    return _snap(records=(_OBJECT, _CODE, _VALUES), functions=(_function("PyEval_Example", returns, *params),))


def test_a_function_that_returns_a_narrower_and_takes_a_wider_object_keeps_the_abi() -> None:
    # every caller still gets an object it may use, and may still pass what it passed
    old = _caller("struct _object *", "struct PyCodeObject *", "int")
    [finding] = compare(old, _caller("struct PyCodeObject *", "struct _object *", "int")).changes
    assert (finding.rule, finding.severity) == ("ABI212", Severity.WARNING)
    assert finding.message == (
        "PyEval_Example takes or returns another type of Python object: "
        "returns struct _object * -> struct PyCodeObject *; parameter 1 (p0): struct PyCodeObject * -> struct _object *"
    )


@pytest.mark.parametrize(
    ("old", "new", "rule"),
    [
        (("int", "struct _object *"), ("int", "struct PyCodeObject *"), "ABI203"),  # callers may pass any object
        (("struct PyCodeObject *", "int"), ("struct _object *", "int"), "ABI202"),  # callers may get any object
        (("int", "struct _object *"), ("int", "struct _dictvalues *"), "ABI203"),  # no object at all
    ],
    ids=["parameter-narrowed", "return-widened", "not-an-object"],
)
def test_a_function_whose_contract_narrows_is_a_break(old: tuple[str, ...], new: tuple[str, ...], rule: str) -> None:
    [finding] = compare(_caller(*old), _caller(*new)).changes
    assert (finding.rule, finding.severity) == (rule, Severity.BREAK)


def test_a_function_retyped_and_changed_says_both_apart() -> None:
    old = _caller("int", "struct PyCodeObject *", "int")
    findings = {f.rule: f for f in compare(old, _caller("int", "struct _object *", "long")).changes}
    assert set(findings) == {"ABI203", "ABI212"}
    assert findings["ABI203"].message.endswith("parameter 2 (p1): int -> long")
    assert findings["ABI212"].message.endswith("parameter 1 (p0): struct PyCodeObject * -> struct _object *")


@pytest.mark.parametrize(
    ("before", "code"),
    [
        ("struct _object *", "struct _dictvalues *"),
        ("struct _object *", "struct PyCodeObject **"),
        ("struct _object *", "long"),
        ("struct PyCodeObject *", "struct _frame *"),
        ("struct PyCodeObject *", "struct _object *"),
    ],
    ids=["not-an-object", "pointer-to-pointer", "not-a-pointer", "another-kind-of-object", "widened"],
)
def test_a_pointer_to_something_else_is_a_type_change(before: str, code: str) -> None:
    # widened too: a reader that took it for a code object may now be given any object
    frame = _record("struct _frame", _field("ob_base", 0, "struct _object", 128), _field("f_lineno", 128, "int", 32))
    old, new = (replace(side, records=(*side.records, frame)) for side in (_generator(before), _generator(code)))
    [finding] = compare(old, new).changes
    assert (finding.rule, finding.severity) == ("ABI105", Severity.BREAK)


# -- typedefs -----------------------------------------------------------------------------


def _typedef(name: str, canonical: str, tier: Tier = Tier.PUBLIC) -> Typedef:
    return Typedef(name=name, type=_type(canonical), header=HEADER, tier=tier)


def test_typedef_removed() -> None:
    old = _snap(typedefs=(_typedef("PyNoArgsFunction", "PyObject *(*)(PyObject *)"),))
    [finding] = compare(old, _snap()).changes
    assert (finding.rule, finding.severity, finding.entity) == ("ABI504", Severity.WARNING, "PyNoArgsFunction")


def test_typedef_replaced_by_a_macro_is_no_removal() -> None:
    old = _snap(typedefs=(_typedef("Py_UNICODE", "wchar_t"),))
    new = _snap(macros=(Macro(name="Py_UNICODE", header=HEADER, tier=Tier.PUBLIC),))
    assert _only(compare(old, new), "ABI504") == []


EVAL_OLD, EVAL_NEW = "PyObject *(*)(struct _frame *, int)", "PyObject *(*)(struct _ts *, struct _frame *, int)"


def _setter(canonical: str) -> Function:
    """``_PyInterpreterState_SetEvalFrameFunc(_PyFrameEvalFunction)``: a use of the callback."""
    function = _function("_PyInterpreterState_SetEvalFrameFunc", "void", tier=Tier.PRIVATE)
    return replace(function, params=(Param(name="eval", type=_type("_PyFrameEvalFunction", canonical)),))


def test_typedef_changed() -> None:
    """A callback a function takes: the break is the function's (ABI203), the typedef's own
    change is the source warning."""
    old = _snap(
        typedefs=(_typedef("_PyFrameEvalFunction", EVAL_OLD, Tier.PRIVATE),),
        functions=(_setter(EVAL_OLD),),
    )
    new = _snap(
        typedefs=(_typedef("_PyFrameEvalFunction", EVAL_NEW, Tier.PRIVATE),),
        functions=(_setter(EVAL_NEW),),
    )
    report = compare(old, new)
    assert sorted(change.rule for change in report.changes) == ["ABI203", "ABI505"]
    [finding] = _only(report, "ABI505")
    assert finding.severity == Severity.INFO
    assert "struct _ts *" in finding.message


@pytest.mark.parametrize(("tier", "severity"), [(Tier.PUBLIC, Severity.BREAK), (Tier.PRIVATE, Severity.WARNING)])
def test_a_callback_nothing_uses_changed_signature(tier: Tier, severity: Severity) -> None:
    """Reached only through casts (METH_FASTCALL's functions): the typedef says the break."""
    old = _snap(typedefs=(_typedef("PyCFunctionFast", "PyObject *(*)(PyObject *, PyObject **, long)", tier),))
    new = _snap(
        typedefs=(_typedef("PyCFunctionFast", "PyObject *(*)(PyObject *, PyObject **, long, PyObject *)", tier),)
    )
    [finding] = compare(old, new).changes
    assert (finding.rule, finding.severity) == ("ABI506", severity)
    qualifiers = _snap(
        typedefs=(_typedef("PyCFunctionFast", "PyObject *(*)(PyObject *, PyObject *const *, long)", tier),)
    )
    assert compare(old, qualifiers).changes == ()  # const alone: the same type, the same calling convention


def test_typedef_with_the_same_canonical_type_is_no_change() -> None:
    old = _snap(typedefs=(_typedef("Py_ssize_t", "long"),))
    new = _snap(typedefs=(replace(old.typedefs[0], type=_type("ssize_t", "long")),))
    assert compare(old, new).changes == ()


# -- PEP 605's feature base ----------------------------------------------------------------


def _base() -> Snapshot:
    return _snap(
        _build("3.12.0", ReleaseLevel.FINAL),
        functions=(_function("PyList_New"), _function("PyOld_Deprecated", deprecated=True)),
        records=(_record("struct _old", _field("a", 0), _field("b", 64), alias="OldObject"),),
    )


def test_a_change_to_a_function_new_since_the_base_is_provisional() -> None:
    old = _snap(functions=(_function("PyList_New"), _function("PyList_Extend", "int", "PyObject *")))
    new = _snap(functions=(_function("PyList_New"), _function("PyList_Extend", "int", "PyObject *", "PyObject *")))
    without = compare(old, new)
    assert (without.verdict, [c.severity for c in without.changes]) == (Verdict.ABI_BREAKING, [Severity.BREAK])
    report = compare(old, new, feature_base=_base())
    [finding] = report.changes
    assert (finding.rule, finding.severity, finding.exemption) == ("ABI204", Severity.WARNING, "ABI002")
    assert "provisional since 3.12.0" in finding.message
    assert report.verdict == Verdict.BINARY_COMPATIBLE
    assert report.feature_base is not None and report.feature_base.version == "3.12.0"


def test_a_limited_function_new_since_the_base_is_never_provisional() -> None:
    old = _snap(functions=(_function("PyLong_AsInt", "int", "PyObject *", tier=Tier.LIMITED),))
    new = _snap(functions=(_function("PyLong_AsInt", "long", "PyObject *", tier=Tier.LIMITED),))
    report = compare(old, new, feature_base=_base())
    assert [(c.severity, c.exemption) for c in report.changes] == [(Severity.BREAK, None)]
    assert (report.verdict, report.stable_abi_verdict) == (Verdict.ABI_BREAKING, StableVerdict.BROKEN)


def test_a_change_to_a_function_of_the_base_is_a_break() -> None:
    old = _snap(functions=(_function("PyList_New", "int"),))
    new = _snap(functions=(_function("PyList_New", "long"),))
    assert compare(old, new, feature_base=_base()).verdict == Verdict.ABI_BREAKING


def test_removing_what_the_base_deprecated_is_no_break() -> None:
    old = _snap(functions=(_function("PyOld_Deprecated"),), binaries=(_lib("PyOld_Deprecated"),))
    new = _snap(binaries=(_lib(),))
    [finding] = compare(old, new, feature_base=_base()).changes
    assert (finding.rule, finding.severity, finding.exemption) == ("ABI201", Severity.WARNING, "ABI003")
    assert [c.severity for c in compare(old, new).changes] == [Severity.BREAK]


def test_removing_a_deprecated_limited_function_still_breaks() -> None:
    base = replace(_base(), functions=(_function("PyOld_Deprecated", tier=Tier.LIMITED, deprecated=True),))
    old = _snap(functions=(_function("PyOld_Deprecated", tier=Tier.LIMITED),), binaries=(_lib("PyOld_Deprecated"),))
    report = compare(old, _snap(binaries=(_lib(),)), feature_base=base)
    assert report.stable_abi_verdict == StableVerdict.BROKEN


def test_a_new_struct_is_provisional_whatever_changes() -> None:
    old = _snap(records=(_record("struct _new", _field("a", 0)),))
    new = _snap(records=(_record("struct _new", _field("z", 0), _field("a", 64)),))
    report = compare(old, new, feature_base=_base())
    assert report.verdict == Verdict.BINARY_COMPATIBLE
    assert {c.exemption for c in report.changes if c.rule == "ABI103"} == {"ABI002"}


def test_a_provisional_field_that_moves_nothing_is_exempt() -> None:
    record = _record("struct _old", _field("a", 0), _field("b", 64), _field("c", 128, "int", 32), alias="OldObject")
    changed = replace(record, fields=(*record.fields[:2], _field("c", 128, "unsigned int", 32)))
    report = compare(_snap(records=(record,)), _snap(records=(changed,)), feature_base=_base())
    [finding] = report.changes
    assert (finding.rule, finding.exemption) == ("ABI105", "ABI002")


def test_a_provisional_field_that_resizes_the_struct_is_a_break() -> None:
    record = _record("struct _old", _field("a", 0), _field("b", 64), _field("c", 128, "int", 32), alias="OldObject")
    grown = replace(record, size=24, fields=(*record.fields[:2], _field("c", 128, "long", 64)))
    report = compare(_snap(records=(record,)), _snap(records=(grown,)), feature_base=_base())
    assert report.verdict == Verdict.ABI_BREAKING


def test_a_field_of_the_base_is_never_provisional() -> None:
    record = _record("struct _old", _field("a", 0), _field("b", 64), alias="OldObject")
    changed = replace(record, fields=(record.fields[0], _field("b", 64, "double")))
    report = compare(_snap(records=(record,)), _snap(records=(changed,)), feature_base=_base())
    assert report.verdict == Verdict.ABI_BREAKING


# -- exit status -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severities", "status"),
    [((), 0), (("info",), 0), (("compatible",), 4), (("warning", "info"), 4), (("break",), 12)],
)
def test_information_alone_does_not_set_bit_4(severities: tuple[str, ...], status: int) -> None:
    findings = [
        Finding(
            rule="ABI210",
            kind=ChangeKind.DECLARATION_ADDED,
            entity="x",
            entity_kind=EntityKind.FUNCTION,
            tier=Tier.PUBLIC,
            severity=Severity(severity),
            message="m",
            headline="m",
            old=None,
            new=None,
            detail="",
            shifted=(),
            impacts=(),
            header=None,
        )
        for severity in severities
    ]
    assert findings_status(findings) == status


def test_additions_alone_exit_0() -> None:
    old = _snap(functions=(_function("PyList_New"),))
    new = _snap(functions=(_function("PyList_New"), _function("PyList_Extend")))
    report = compare(old, new)
    assert [c.rule for c in report.changes] == ["ABI210"]
    assert exit_status(report) == 0


# -- a capsule struct of an extension module grows at its end (ABI112) -------------------------


def _capsule(name: str = "struct PyExpat_CAPI", *fields: Field, header: str = "pyexpat.h") -> Record:
    record = _record(name, *(fields or (_field("size", 0, "int", 32), _field("Parse", 64, "void *"))))
    return replace(record, header=header, size=16)


def _grown(record: Record) -> Record:
    return replace(record, size=24, fields=(*record.fields, _field("SetReparseDeferral", 128, "void *")))


def _capsule_report(
    old_record: Record, new_record: Record, outside: tuple[str, ...] = ("pyexpat.h",), **extra: object
) -> Report:
    old = _snap(None, records=(old_record,), outside=outside, **extra)
    new = _snap(None, records=(new_record,), outside=outside, **extra)
    return compare(old, new)


def test_a_capsule_struct_grown_at_its_end_is_compatible() -> None:
    report = _capsule_report(_capsule(), _grown(_capsule()))
    [finding] = report.changes
    assert (finding.rule, finding.severity) == ("ABI112", Severity.COMPATIBLE)
    assert report.verdict == Verdict.BINARY_COMPATIBLE


def test_a_struct_of_pythonh_grown_at_its_end_is_a_break() -> None:
    record = _capsule(header="cpython/initconfig.h")  # PyConfig: extensions put it on the stack
    report = _capsule_report(record, _grown(record))
    assert [(c.rule, c.severity) for c in report.changes] == [("ABI103", Severity.BREAK)]


def test_an_object_struct_grown_at_its_end_is_a_break() -> None:
    obj = replace(_record("struct _object", _field("ob_refcnt", 0), _field("ob_type", 64, "PyTypeObject *")), size=16)
    window = _capsule("PyCursesWindowObject", _field("ob_base", 0, "PyObject", 128), _field("win", 128, "WINDOW *"))
    window = replace(
        window, fields=(replace(window.fields[0], type=_type("PyObject", "struct _object")), window.fields[1])
    )
    grown = replace(window, size=32, fields=(*window.fields, _field("orig", 192, "void *")))
    old = _snap(records=(obj, window), outside=("pyexpat.h",))
    new = _snap(records=(obj, grown), outside=("pyexpat.h",))
    assert [(c.rule, c.severity) for c in compare(old, new).changes] == [("ABI103", Severity.BREAK)]


def test_a_capsule_struct_a_macro_measures_is_a_break() -> None:
    from abidiff.model import Reach, ReachKind

    measured = Reach(name="PyExpat_SIZE", kind=ReachKind.MACRO, sizes=("struct PyExpat_CAPI",), header="pyexpat.h")
    report = _capsule_report(_capsule(), _grown(_capsule()), reach=(measured,))
    assert [c.severity for c in report.changes] == [Severity.BREAK]


def test_a_field_inserted_in_a_capsule_struct_is_a_break() -> None:
    record = _capsule()
    inserted = replace(
        record,
        size=24,
        fields=(record.fields[0], _field("Inserted", 64, "void *"), replace(record.fields[1], offset_bits=128)),
    )
    report = _capsule_report(record, inserted)
    assert report.verdict == Verdict.ABI_BREAKING


# -- a header one side could not read (Debian's pydtrace.h without pydtrace_probes.h) -------------


def _probes(*names: str) -> tuple[Function, ...]:
    return tuple(replace(_function(name), header="pydtrace.h", inline=True) for name in names)


def test_a_header_one_side_could_not_read_is_not_compared() -> None:
    """Its declarations are unknown there, not removed (nor added the other way): one warning
    says the header was not compared, and nothing else of it is reported."""
    kept = _function("PyObject_Str")
    read = _snap(functions=(kept, *_probes("PyDTrace_AUDIT", "PyDTrace_GC_DONE")))
    unread = _snap(functions=(kept,), unread=("pydtrace.h",))
    for old, new, sides in ((read, unread, ("read", "not read")), (unread, read, ("not read", "read"))):
        [finding] = compare(old, new).changes
        assert (finding.rule, finding.severity, finding.entity) == ("ABI004", Severity.WARNING, "pydtrace.h")
        assert (finding.old, finding.new) == sides
        assert finding.message == (
            f"header pydtrace.h was {sides[0]} in OLD and {sides[1]} in NEW: its 2 declarations were not compared"
        )


def test_a_header_neither_side_read_or_both_read_is_compared_as_ever() -> None:
    unread = _snap(functions=(_function("PyObject_Str"),), unread=("pydtrace.h",))
    assert compare(unread, unread).changes == ()
    old = _snap(functions=_probes("PyDTrace_AUDIT", "PyDTrace_GC_DONE"))
    new = _snap(functions=_probes("PyDTrace_AUDIT"))  # really removed: both sides read the header
    assert [(f.rule, f.entity) for f in compare(old, new).changes] == [("ABI502", "PyDTrace_GC_DONE")]


# -- builds that cannot load each other's extensions (ABI001) --------------------------------


@pytest.mark.parametrize(
    ("old_soabi", "new_soabi", "mismatch"),
    [
        ("cpython-37m-x86_64-linux-gnu", "cpython-38-x86_64-linux-gnu", None),  # pymalloc's m: no ABI
        ("cpython-37dm-x86_64-linux-gnu", "cpython-38d-x86_64-linux-gnu", None),
        ("cpython-37m-x86_64-linux-gnu", "cpython-38d-x86_64-linux-gnu", ("(none)", "d")),
        ("cpython-313-x86_64-linux-gnu", "cpython-313t-x86_64-linux-gnu", ("(none)", "t")),
    ],
    ids=["pymalloc-dropped", "debug-pymalloc-dropped", "debug-added", "free-threaded"],
)
def test_soabi_flags(old_soabi: str, new_soabi: str, mismatch: tuple[str, str] | None) -> None:
    old = _snap(replace(_build("3.7.16", ReleaseLevel.FINAL), soabi=old_soabi))
    new = _snap(replace(_build("3.8.18", ReleaseLevel.FINAL), soabi=new_soabi))
    found = [(f.entity, f.old, f.new) for f in compare(old, new).changes if f.rule == "ABI001"]
    assert found == ([] if mismatch is None else [("ABI flags", *mismatch)])


@pytest.mark.parametrize(
    ("canonical", "signature"),
    [
        (
            "struct _object *(*)(struct _object *, struct _object *const *, long)",
            ("struct _object *", ("struct _object *", "struct _object *const *", "long")),
        ),
        ("int (*)(void)", ("int", ())),
        ("int (*)(int, ...)", ("int", ("int", "..."))),
        ("void (*)(int (*)(int, int), long)", ("void", ("int (*)(int, int)", "long"))),
        ("int", None),
        ("void (*(*)(int))(int)", None),  # a function returning a function: not split here
    ],
)
def test_a_callback_signature_is_split_at_its_own_commas(canonical: str, signature: object) -> None:
    from abidiff.diff.constants import _signature

    assert _signature(canonical) == signature
