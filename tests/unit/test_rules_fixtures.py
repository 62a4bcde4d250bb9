"""Every rule fires on a pair of header trees that differ by one edit, and does not fire on
near misses.  The trees are ``fixtures/headers/base`` and a copy with the edit applied; both
are parsed by libclang (``abidiff.builder.snapshot_of``)."""

# ruff: noqa: E501  (the tables below are one case per line, on purpose)
from __future__ import annotations

from dataclasses import dataclass

import pytest

from abidiff.compare import compare
from abidiff.model import Snapshot
from abidiff.rules import RULES, Report, ReportedChange, StableVerdict, Verdict
from tests.conftest import Edit, MakeVariant

CPY_OBJ = "cpython/object.h"
CPY_UNI = "cpython/unicodeobject.h"

OB_TYPE_END = "    PyTypeObject *ob_type;\n};"
TP_DOC = "    const char *tp_doc;\n"
TP_WATCHED = "    unsigned char tp_watched;\n"
EXAMPLE_ENUM = (
    "typedef enum {\n    PyExample_FIRST = 0,\n    PyExample_SECOND = 1,\n    PyExample_THIRD = 2\n} PyExampleKind;\n"
)
FRAME_DEF = "struct _frame {\n    PyObject_HEAD\n    int f_lineno;\n};\n"
FASTCALL = "typedef PyObject *(*PyCFunctionFast)(PyObject *, PyObject *const *, Py_ssize_t);"
UNARYFUNC = "typedef PyObject *(*unaryfunc)(PyObject *);"


@dataclass(frozen=True)
class Case:
    """One edit and the change it must produce (exactly one change of ``rule``)."""

    id: str
    rule: str
    edits: tuple[tuple[str, str, str], ...]
    entity: str
    severity: str
    verdict: Verdict
    stable: StableVerdict = StableVerdict.INTACT


BREAKING, COMPATIBLE = Verdict.ABI_BREAKING, Verdict.BINARY_COMPATIBLE
BROKEN = StableVerdict.BROKEN

FIRES = [
    Case(
        "pyobject-aligned",
        "ABI101",
        (("object.h", OB_TYPE_END, OB_TYPE_END[:-2] + "} __attribute__((aligned(32)));"),),
        "PyObject",
        "break",
        BREAKING,
        BROKEN,
    ),
    Case("pep605-tp-field-removed", "ABI102", ((CPY_OBJ, TP_DOC, ""),), "PyTypeObject.tp_doc", "break", BREAKING),
    Case(
        "pep605-ob-field-added",
        "ABI103",
        (("object.h", OB_TYPE_END, "    PyTypeObject *ob_type;\n    Py_ssize_t ob_example;\n};"),),
        "PyObject.ob_example",
        "break",
        BREAKING,
        BROKEN,
    ),
    Case(
        "tp-field-inserted",
        "ABI103",
        ((CPY_OBJ, "    const char *tp_name;\n", "    const char *tp_name;\n    Py_ssize_t tp_example;\n"),),
        "PyTypeObject.tp_example",
        "break",
        BREAKING,
    ),
    Case(
        "tp-field-in-padding",
        "ABI104",
        ((CPY_OBJ, TP_WATCHED, TP_WATCHED + "    unsigned char tp_new_flag;\n"),),
        "PyTypeObject.tp_new_flag",
        "compatible",
        COMPATIBLE,
    ),
    Case(
        # 3.12 put ob_refcnt in a union with ob_refcnt_split: a new union member within the
        # storage of the old ones moves nothing
        "union-member-added",
        "ABI104",
        (
            (
                "object.h",
                "        unsigned int ob_refcnt_split[2];\n",
                "        unsigned int ob_refcnt_split[2];\n        unsigned short ob_refcnt_quarters[4];\n",
            ),
        ),
        "PyObject.ob_refcnt_quarters",
        "compatible",
        COMPATIBLE,
    ),
    Case(
        # ... but one larger than the old members grows the union and moves ob_type
        "union-member-grows",
        "ABI103",
        (
            (
                "object.h",
                "        unsigned int ob_refcnt_split[2];\n",
                "        unsigned int ob_refcnt_split[2];\n        char ob_refcnt_text[32];\n",
            ),
        ),
        "PyObject.ob_refcnt_text",
        "break",
        BREAKING,
        BROKEN,
    ),
    Case(
        "bitfield-in-padding",
        "ABI104",
        (
            (
                CPY_UNI,
                "        unsigned int ascii:1;\n",
                "        unsigned int ascii:1;\n        unsigned int statically_allocated:1;\n",
            ),
        ),
        "PyASCIIObject.state.statically_allocated",
        "compatible",
        COMPATIBLE,
    ),
    Case(
        "field-type",
        "ABI105",
        ((CPY_OBJ, "    unsigned long tp_flags;\n", "    unsigned int tp_flags;\n"),),
        "PyTypeObject.tp_flags",
        "break",
        BREAKING,
    ),
    Case(
        "anonymous-member-type",
        "ABI105",
        (("object.h", "        Py_ssize_t ob_refcnt;\n", "        int ob_refcnt;\n"),),
        "PyObject.ob_refcnt",
        "break",
        BREAKING,
        BROKEN,
    ),
    Case(
        # 3.11's PyGenObject.gi_code: PyObject * -> PyCodeObject *, the same pointer to an object
        "object-pointer-retyped",
        "ABI113",
        ((CPY_OBJ, "    PyObject *ht_name;\n", "    struct _frame *ht_name;\n"),),
        "PyHeapTypeObject.ht_name",
        "warning",
        COMPATIBLE,
    ),
    Case(
        # a function that takes a wider type of object: every caller still passes what it may
        "function-object-pointer-widened",
        "ABI212",
        ((CPY_OBJ, "PyType_Name(PyTypeObject *type)", "PyType_Name(PyObject *type)"),),
        "PyType_Name",
        "warning",
        COMPATIBLE,
    ),
    Case(
        # METH_FASTCALL functions compiled for three parameters would be called with four
        "callback-parameter-added",
        "ABI506",
        ((CPY_OBJ, FASTCALL, FASTCALL.replace("Py_ssize_t);", "Py_ssize_t, PyObject *);")),),
        "PyCFunctionFast",
        "break",
        BREAKING,
    ),
    Case(
        "field-offset",
        "ABI106",
        ((CPY_OBJ, "    PyObject *ht_name;\n", "    PyObject *ht_name __attribute__((aligned(16)));\n"),),
        "PyHeapTypeObject.ht_name",
        "break",
        BREAKING,
    ),
    Case("bitfield-width", "ABI107", ((CPY_UNI, "kind:3;", "kind:4;"),), "PyASCIIObject.state.kind", "break", BREAKING),
    Case(
        "field-renamed",
        "ABI108",
        ((CPY_OBJ, "tp_version_tag;", "tp_version;"),),
        "PyTypeObject.tp_version",
        "warning",
        COMPATIBLE,
    ),
    Case("record-opaque", "ABI109", ((CPY_OBJ, FRAME_DEF, ""),), "PyFrameObject", "break", BREAKING),
    Case(
        "record-complete",
        "ABI110",
        (
            (
                CPY_OBJ,
                "typedef struct _PyExampleState PyExampleState;\n",
                "typedef struct _PyExampleState { int counter; } PyExampleState;\n",
            ),
        ),
        "PyExampleState",
        "info",
        COMPATIBLE,
    ),
    Case(
        "record-removed",
        "ABI111",
        (
            (
                CPY_UNI,
                "typedef struct {\n    PyObject_HEAD\n    Py_ssize_t length;",
                "struct PyASCIIObject_gone {\n    PyObject_HEAD\n    Py_ssize_t length;",
            ),
            (CPY_UNI, "} PyASCIIObject;", "};"),
        ),
        "PyASCIIObject",
        "warning",
        COMPATIBLE,
    ),
    Case(
        "function-removed",
        "ABI201",
        ((CPY_OBJ, "PyAPI_FUNC(PyObject *) PyObject_CallOneArg(PyObject *func, PyObject *arg);\n", ""),),
        "PyObject_CallOneArg",
        "break",
        BREAKING,
    ),
    Case(
        "limited-function-removed",
        "ABI201",
        (("object.h", "PyAPI_FUNC(int) PyObject_Compare(PyObject *a, PyObject *b);\n", ""),),
        "PyObject_Compare",
        "break",
        BREAKING,
        BROKEN,
    ),
    Case(
        "return-type",
        "ABI202",
        (("object.h", "PyAPI_FUNC(Py_ssize_t) PyObject_Size", "PyAPI_FUNC(int) PyObject_Size"),),
        "PyObject_Size",
        "break",
        BREAKING,
        BROKEN,
    ),
    Case(
        "param-type",
        "ABI203",
        (
            (
                CPY_OBJ,
                "PyObject_CallOneArg(PyObject *func, PyObject *arg)",
                "PyObject_CallOneArg(PyObject *func, PyTypeObject *arg)",
            ),
        ),
        "PyObject_CallOneArg",
        "break",
        BREAKING,
    ),
    Case(
        "param-count",
        "ABI204",
        ((CPY_OBJ, "PyType_Name(PyTypeObject *type)", "PyType_Name(PyTypeObject *type, int flags)"),),
        "PyType_Name",
        "break",
        BREAKING,
    ),
    Case(
        "variadic",
        "ABI205",
        (("object.h", "const char *format, ...);", "const char *format);"),),
        "PyArg_ParseTuple",
        "break",
        BREAKING,
        BROKEN,
    ),
    Case(
        "qualifiers",
        "ABI206",
        ((CPY_OBJ, "PyAPI_FUNC(const char *) PyType_Name", "PyAPI_FUNC(char *) PyType_Name"),),
        "PyType_Name",
        "compatible",
        COMPATIBLE,
    ),
    Case(
        "became-inline",
        "ABI208",
        (
            (
                CPY_OBJ,
                "PyAPI_FUNC(int) PyObject_Inlinable(PyObject *o);",
                "static inline int PyObject_Inlinable(PyObject *o) { return o != 0; }",
            ),
        ),
        "PyObject_Inlinable",
        "break",
        BREAKING,
    ),
    Case(
        "became-macro",
        "ABI208",
        ((CPY_OBJ, "PyAPI_FUNC(int) PyObject_Inlinable(PyObject *o);", "#define PyObject_Inlinable(o) ((o) != 0)"),),
        "PyObject_Inlinable",
        "break",
        BREAKING,
    ),
    Case(
        "function-added",
        "ABI210",
        (
            (
                CPY_OBJ,
                "PyAPI_DATA(int) Py_ExampleFlag;",
                "PyAPI_DATA(int) Py_ExampleFlag;\nPyAPI_FUNC(int) PyObject_NewThing(PyObject *o);",
            ),
        ),
        "PyObject_NewThing",
        "info",
        COMPATIBLE,
    ),
    Case(
        "data-type",
        "ABI301",
        ((CPY_OBJ, "PyAPI_DATA(int) Py_ExampleFlag;", "PyAPI_DATA(long) Py_ExampleFlag;"),),
        "Py_ExampleFlag",
        "break",
        BREAKING,
    ),
    Case(
        "data-removed",
        "ABI302",
        ((CPY_OBJ, "PyAPI_DATA(int) Py_ExampleFlag;", ""),),
        "Py_ExampleFlag",
        "break",
        BREAKING,
    ),
    Case(
        "enumerator-value",
        "ABI401",
        ((CPY_OBJ, "PyExample_SECOND = 1", "PyExample_SECOND = 5"),),
        "PyExample_SECOND",
        "break",
        BREAKING,
    ),
    Case(
        "enumerator-removed",
        "ABI402",
        ((CPY_OBJ, "    PyExample_SECOND = 1,\n    PyExample_THIRD = 2\n", "    PyExample_SECOND = 1\n"),),
        "PyExample_THIRD",
        "break",
        BREAKING,
    ),
    Case(
        "enumerator-added",
        "ABI403",
        ((CPY_OBJ, "    PyExample_THIRD = 2\n", "    PyExample_THIRD = 2,\n    PyExample_FOURTH = 3\n"),),
        "PyExample_FOURTH",
        "compatible",
        COMPATIBLE,
    ),
    Case("enum-removed", "ABI404", ((CPY_OBJ, EXAMPLE_ENUM, ""),), "PyExampleKind", "break", BREAKING),
    Case(
        "limited-macro-value",
        "ABI501",
        (("object.h", "(1UL << 12)", "(1UL << 13)"),),
        "Py_TPFLAGS_READY",
        "break",
        BREAKING,
        BROKEN,
    ),
    Case(
        "private-macro-value",
        "ABI501",
        ((CPY_OBJ, "_PY_EXAMPLE_MASK 0xff", "_PY_EXAMPLE_MASK 0x7f"),),
        "_PY_EXAMPLE_MASK",
        "warning",
        COMPATIBLE,
    ),
    Case(
        "macro-removed",
        "ABI502",
        ((CPY_OBJ, "#define PyObject_EXAMPLE_CALL(func) PyObject_Repr(func)\n", ""),),
        "PyObject_EXAMPLE_CALL",
        "warning",
        COMPATIBLE,
    ),
    Case(
        "inline-removed",
        "ABI502",
        (
            (
                "object.h",
                "static inline int Py_IS_TYPE(PyObject *ob, PyTypeObject *type) {\n    return ob->ob_type == type;\n}\n",
                "",
            ),
        ),
        "Py_IS_TYPE",
        "warning",
        COMPATIBLE,
    ),
    Case("config-macro", "ABI503", (("pyconfig.h", "#define HAVE_FORK 1\n", ""),), "HAVE_FORK", "info", COMPATIBLE),
    Case(
        "left-limited",
        "ABI701",
        (
            (
                "object.h",
                "PyAPI_FUNC(int) PyObject_Example(PyObject *o);\n",
                "#ifndef Py_LIMITED_API\nPyAPI_FUNC(int) PyObject_Example(PyObject *o);\n#endif\n",
            ),
        ),
        "PyObject_Example",
        "warning",
        COMPATIBLE,
    ),
    Case(
        "limited-earlier",
        "ABI703",
        (("object.h", "0x030A0000\nPyAPI_FUNC(PyObject *) Py_NewRef", "0x03080000\nPyAPI_FUNC(PyObject *) Py_NewRef"),),
        "Py_NewRef",
        "warning",
        COMPATIBLE,
    ),
    Case(
        "unguarded",
        "ABI704",
        (
            (
                "object.h",
                "PyAPI_FUNC(int) PyObject_Example(PyObject *o);\n",
                "PyAPI_FUNC(int) PyObject_Example(PyObject *o);\nPyAPI_FUNC(int) PyObject_Brandnew(PyObject *o);\n",
            ),
        ),
        "PyObject_Brandnew",
        "warning",
        COMPATIBLE,
    ),
    Case(
        "free-threaded",
        "ABI001",
        (("pyconfig.h", "#define HAVE_FORK 1\n", "#define HAVE_FORK 1\n#define Py_GIL_DISABLED 1\n"),),
        "Py_GIL_DISABLED",
        "break",
        BREAKING,
        BROKEN,
    ),
]

# rules that only binaries can fire: tested in test_rules_binaries.py
BINARY_ONLY = {"ABI207", "ABI209", "ABI601", "ABI602", "ABI603", "ABI702"}


def _report(base_snapshot: Snapshot, variant_snapshot: MakeVariant, edits: tuple[Edit, ...]) -> Report:
    return compare(base_snapshot, variant_snapshot(edits))


def _of_rule(report: Report, rule: str) -> list[ReportedChange]:
    return [change for change in report.changes if change.rule == rule]


def test_the_tables_cover_every_rule() -> None:
    # the audits' rules (ABI8xx) fire in test_abi3_rules.py and test_ext_fixtures.py
    # ABI002/ABI003 (exemptions) and ABI211, ABI504, ABI505 fire in test_diff_pure.py; ABI9xx in test_series.py;
    # ABI004 (a header one side could not read) in test_diff_pure.py and on Debian's pydtrace.h (test_compare_real.py)
    elsewhere = {"ABI002", "ABI003", "ABI004", "ABI112", "ABI211", "ABI504", "ABI505"}
    audits = {rule.id for rule in RULES if rule.id.startswith(("ABI8", "ABI9"))}
    assert {case.rule for case in FIRES} | BINARY_ONLY | elsewhere | audits == {rule.id for rule in RULES}


def test_base_against_itself_reports_nothing(base_snapshot: Snapshot) -> None:
    report = compare(base_snapshot, base_snapshot)
    assert report.changes == ()
    assert (report.verdict, report.stable_abi_verdict) == (Verdict.BINARY_COMPATIBLE, StableVerdict.INTACT)


@pytest.mark.parametrize("case", FIRES, ids=[case.id for case in FIRES])
def test_rule_fires(case: Case, base_snapshot: Snapshot, variant_snapshot: MakeVariant) -> None:
    report = _report(base_snapshot, variant_snapshot, case.edits)
    fired = _of_rule(report, case.rule)
    assert [change.entity for change in fired] == [case.entity], [c.message for c in report.changes]
    assert str(fired[0].severity) == case.severity
    assert report.verdict == case.verdict
    assert report.stable_abi_verdict == case.stable


# -- near misses: the edit must not fire the rule ------------------------------------------


@dataclass(frozen=True)
class Miss:
    id: str
    edits: tuple[tuple[str, str, str], ...]
    forbidden: frozenset[str]  # rules that must not fire; empty: nothing at all may be reported
    verdict: Verdict = COMPATIBLE


NOTHING: frozenset[str] = frozenset()

MISSES = [
    Miss("comment-only", (("object.h", "#define Py_OBJECT_H\n", "#define Py_OBJECT_H\n/* a comment */\n"),), NOTHING),
    Miss(
        "version-bump",
        (
            ("patchlevel.h", "#define PY_RELEASE_SERIAL       1", "#define PY_RELEASE_SERIAL       2"),
            ("patchlevel.h", '"3.11.0a1"', '"3.11.0a2"'),
        ),
        NOTHING,
    ),
    Miss(
        "typedef-rename",
        (
            (
                "pyport.h",
                "typedef Py_ssize_t Py_hash_t;\n",
                "typedef Py_ssize_t Py_hash_t;\ntypedef Py_ssize_t Py_size_alias;\n",
            ),
            (CPY_OBJ, "    Py_ssize_t tp_basicsize, tp_itemsize;", "    Py_size_alias tp_basicsize, tp_itemsize;"),
        ),
        NOTHING,
    ),
    Miss("param-renamed", (("object.h", "PyObject_Repr(PyObject *o)", "PyObject_Repr(PyObject *obj)"),), NOTHING),
    Miss(
        "padding-is-not-insertion",
        ((CPY_OBJ, TP_WATCHED, TP_WATCHED + "    unsigned char tp_new_flag;\n"),),
        frozenset({"ABI101", "ABI103", "ABI106"}),
    ),
    Miss(
        "guarded-limited-addition",
        (
            (
                "object.h",
                "PyAPI_FUNC(PyObject *) Py_NewRef(PyObject *o);\n",
                "PyAPI_FUNC(PyObject *) Py_NewRef(PyObject *o);\n#if Py_LIMITED_API+0 >= 0x030B0000\nPyAPI_FUNC(int) PyObject_Brandnew(PyObject *o);\n#endif\n",
            ),
        ),
        frozenset({"ABI704"}),
    ),
    # PyFrameObject is named in the limited API but defined under cpython/: its layout is no stable ABI
    Miss("opaque-limited-name-keeps-stable-abi", ((CPY_OBJ, FRAME_DEF, ""),), frozenset({"ABI101"}), BREAKING),
    # one insertion in PyObject: reported once, at PyObject, not at every struct that embeds it
    Miss(
        "embedded-change-reported-once",
        (("object.h", OB_TYPE_END, "    PyTypeObject *ob_type;\n    Py_ssize_t ob_example;\n};"),),
        frozenset({"ABI101", "ABI105", "ABI106"}),
        BREAKING,
    ),
    Miss(
        "private-removal-is-beta",
        ((CPY_OBJ, "PyAPI_FUNC(int) _PyObject_IsFreed(PyObject *op);\n", ""),),
        frozenset({"ABI502"}),
    ),
    Miss(
        "unstable-change-is-beta",
        (
            (
                CPY_OBJ,
                "PyUnstable_Type_Example(PyTypeObject *type, int flag)",
                "PyUnstable_Type_Example(PyTypeObject *type)",
            ),
        ),
        frozenset({"ABI201"}),
    ),
    # const alone changes no calling convention (nor the type, canonically): nothing to report
    Miss(
        "callback-const-only",
        ((CPY_OBJ, FASTCALL, FASTCALL.replace("PyObject *const *", "PyObject **")),),
        NOTHING,
    ),
    # a callback a field is typed with: the break is the field's (ABI105), said once
    Miss(
        "callback-used-by-a-field",
        ((CPY_OBJ, UNARYFUNC, UNARYFUNC.replace("(PyObject *);", "(PyObject *, int);")),),
        frozenset({"ABI506"}),
        BREAKING,
    ),
    Miss(
        "static-inline-is-no-export",
        (("object.h", "return ob->ob_type == type;", "return Py_TYPE(ob) == type;"),),
        NOTHING,
    ),
]


@pytest.mark.parametrize("miss", MISSES, ids=[miss.id for miss in MISSES])
def test_rule_does_not_fire(miss: Miss, base_snapshot: Snapshot, variant_snapshot: MakeVariant) -> None:
    report = _report(base_snapshot, variant_snapshot, miss.edits)
    if not miss.forbidden:
        assert report.changes == (), [c.message for c in report.changes]
    else:
        assert not [c for c in report.changes if c.rule in miss.forbidden], [c.message for c in report.changes]
    assert report.verdict == miss.verdict
    if miss.id != "embedded-change-reported-once":
        assert report.stable_abi_verdict == StableVerdict.INTACT


def test_field_removed_lists_the_shifted_fields(base_snapshot: Snapshot, variant_snapshot: MakeVariant) -> None:
    report = _report(base_snapshot, variant_snapshot, ((CPY_OBJ, TP_DOC, ""),))
    (change,) = report.changes
    assert change.shifted == ("tp_version_tag", "tp_watched")
    assert change.message.startswith("field tp_doc removed from the PyTypeObject struct")
    assert "struct PyHeapTypeObject" in " ".join(change.impacts)
    assert "data PyType_Type" in change.impacts


def test_pyobject_insertion_lists_its_users(base_snapshot: Snapshot, variant_snapshot: MakeVariant) -> None:
    report = _report(
        base_snapshot,
        variant_snapshot,
        (("object.h", OB_TYPE_END, "    PyTypeObject *ob_type;\n    Py_ssize_t ob_example;\n};"),),
    )
    (change,) = [c for c in report.changes if c.rule == "ABI103"]
    assert change.headline == "new field ob_example added to the PyObject struct"
    assert "size 16 -> 24 bytes" in change.detail
    users = " ".join(change.impacts)
    for user in (
        "PyVarObject",
        "PyTypeObject",
        "PyASCIIObject",
        "PyFrameObject",
        "data PyType_Type",
        "function PyType_Copy",
    ):
        assert user in users
    assert "struct PyASCIIObject (head)" in change.impacts
