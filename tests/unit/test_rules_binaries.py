"""Rules that need exports, on snapshots given hand-built binaries (``Snapshot.binaries``)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from abidiff.compare import compare
from abidiff.model import Binary, BinaryFormat, BinaryRole, Snapshot, Symbol, SymbolKind
from abidiff.rules import Report, StableVerdict, Verdict
from tests.conftest import MakeVariant

CPY_OBJ = "cpython/object.h"


def _symbols(
    snapshot: Snapshot, *, drop: frozenset[str] = frozenset(), extra: tuple[Symbol, ...] = ()
) -> tuple[Symbol, ...]:
    found = [Symbol(name=f.name, kind=SymbolKind.FUNCTION) for f in snapshot.functions if not f.inline]
    found += [Symbol(name=v.name, kind=SymbolKind.DATA, size=v.size) for v in snapshot.variables]
    found += list(extra)
    return tuple(sorted((s for s in found if s.name not in drop), key=lambda s: s.name))


def with_exports(snapshot: Snapshot, symbols: tuple[Symbol, ...], role: BinaryRole = BinaryRole.LIBPYTHON) -> Snapshot:
    binary = Binary(
        role=role,
        path="/opt/py/lib/libpython3.11.so.1.0",
        format=BinaryFormat.ELF,
        arch="x86_64",
        bits=64,
        symbols=symbols,
    )
    return replace(snapshot, binaries=(binary,))


def _rules(report: Report) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for change in report.changes:
        found.setdefault(change.rule, []).append(change.entity)
    return found


def test_same_exports_report_nothing(base_snapshot: Snapshot) -> None:
    old = with_exports(base_snapshot, _symbols(base_snapshot))
    report = compare(old, old)
    assert report.changes == ()
    assert not report.headers_only


def test_became_inline_but_still_exported_is_an_api_change(
    base_snapshot: Snapshot, variant_snapshot: MakeVariant
) -> None:
    new = variant_snapshot(
        (
            (
                CPY_OBJ,
                "PyAPI_FUNC(int) PyObject_Inlinable(PyObject *o);",
                "static inline int PyObject_Inlinable(PyObject *o) { return o != 0; }",
            ),
        )
    )
    exports = _symbols(base_snapshot)
    report = compare(with_exports(base_snapshot, exports), with_exports(new, exports))
    assert _rules(report) == {"ABI207": ["PyObject_Inlinable"]}
    assert report.verdict == Verdict.BINARY_COMPATIBLE


def test_became_inline_and_unexported_breaks(base_snapshot: Snapshot, variant_snapshot: MakeVariant) -> None:
    new = variant_snapshot(
        ((CPY_OBJ, "PyAPI_FUNC(int) PyObject_Inlinable(PyObject *o);", "#define PyObject_Inlinable(o) ((o) != 0)"),)
    )
    report = compare(
        with_exports(base_snapshot, _symbols(base_snapshot)),
        with_exports(new, _symbols(base_snapshot, drop=frozenset({"PyObject_Inlinable"}))),
    )
    assert _rules(report) == {"ABI208": ["PyObject_Inlinable"]}
    assert report.verdict == Verdict.ABI_BREAKING


def test_removed_from_headers_but_exported_is_hidden(base_snapshot: Snapshot, variant_snapshot: MakeVariant) -> None:
    new = variant_snapshot((("object.h", "PyAPI_FUNC(int) PyObject_Compare(PyObject *a, PyObject *b);\n", ""),))
    exports = _symbols(base_snapshot)
    report = compare(with_exports(base_snapshot, exports), with_exports(new, exports))
    assert _rules(report) == {"ABI209": ["PyObject_Compare"]}
    assert (report.verdict, report.stable_abi_verdict) == (Verdict.BINARY_COMPATIBLE, StableVerdict.INTACT)


def test_removed_from_headers_and_exports_is_said_once(base_snapshot: Snapshot, variant_snapshot: MakeVariant) -> None:
    new = variant_snapshot((("object.h", "PyAPI_FUNC(int) PyObject_Compare(PyObject *a, PyObject *b);\n", ""),))
    report = compare(
        with_exports(base_snapshot, _symbols(base_snapshot)),
        with_exports(new, _symbols(base_snapshot, drop=frozenset({"PyObject_Compare"}))),
    )
    assert _rules(report) == {"ABI201": ["PyObject_Compare"]}
    assert report.changes[0].detail == "removed from the headers and the exports"
    assert report.stable_abi_verdict == StableVerdict.BROKEN


@pytest.mark.parametrize(
    ("name", "severity", "verdict"),
    [
        ("PyObject_Repr", "break", Verdict.ABI_BREAKING),
        ("_Py_Undeclared", "warning", Verdict.BINARY_COMPATIBLE),
        # exported, but declared in no public header (like 3.12's PySymtable_Lookup): no promise
        ("PyUndeclared_Lookup", "warning", Verdict.BINARY_COMPATIBLE),
    ],
    ids=["public", "private", "undeclared"],
)
def test_export_removed(base_snapshot: Snapshot, name: str, severity: str, verdict: Verdict) -> None:
    extra = (
        Symbol(name="_Py_Undeclared", kind=SymbolKind.FUNCTION),
        Symbol(name="PyUndeclared_Lookup", kind=SymbolKind.FUNCTION),
    )
    old = with_exports(base_snapshot, _symbols(base_snapshot, extra=extra))
    new = with_exports(base_snapshot, _symbols(base_snapshot, extra=extra, drop=frozenset({name})))
    report = compare(old, new)
    assert _rules(report) == {"ABI601": [name]}
    assert str(report.changes[0].severity) == severity
    assert report.verdict == verdict


def test_export_removed_from_the_stable_abi_library_breaks_the_stable_abi(base_snapshot: Snapshot) -> None:
    stable = (Symbol(name="PyObject_Repr", kind=SymbolKind.FUNCTION),)
    old = with_exports(base_snapshot, stable, role=BinaryRole.STABLE_ABI)
    new = with_exports(base_snapshot, (), role=BinaryRole.STABLE_ABI)
    report = compare(old, new)
    assert _rules(report) == {"ABI601": ["PyObject_Repr"]}
    assert report.stable_abi_verdict == StableVerdict.BROKEN


def test_export_added_is_info(base_snapshot: Snapshot) -> None:
    old = with_exports(base_snapshot, _symbols(base_snapshot))
    new = with_exports(
        base_snapshot, _symbols(base_snapshot, extra=(Symbol(name="PyNew_Thing", kind=SymbolKind.FUNCTION),))
    )
    report = compare(old, new)
    assert _rules(report) == {"ABI602": ["PyNew_Thing"]}
    assert str(report.changes[0].severity) == "info"
    assert report.verdict == Verdict.BINARY_COMPATIBLE


def test_exported_data_size_changed(base_snapshot: Snapshot) -> None:
    old = with_exports(base_snapshot, _symbols(base_snapshot))
    bigger = tuple(replace(s, size=4096) if s.name == "Py_ExampleFlag" else s for s in old.binaries[0].symbols)
    report = compare(old, with_exports(base_snapshot, bigger))
    assert _rules(report) == {"ABI603": ["Py_ExampleFlag"]}
    assert report.verdict == Verdict.ABI_BREAKING


def test_left_the_limited_api_and_the_exports(base_snapshot: Snapshot, variant_snapshot: MakeVariant) -> None:
    new = variant_snapshot(
        (
            (
                "object.h",
                "PyAPI_FUNC(int) PyObject_Example(PyObject *o);\n",
                "#ifndef Py_LIMITED_API\nPyAPI_FUNC(int) PyObject_Example(PyObject *o);\n#endif\n",
            ),
        )
    )
    report = compare(
        with_exports(base_snapshot, _symbols(base_snapshot)),
        with_exports(new, _symbols(base_snapshot, drop=frozenset({"PyObject_Example"}))),
    )
    assert _rules(report) == {"ABI702": ["PyObject_Example"]}
    assert report.stable_abi_verdict == StableVerdict.BROKEN


def test_headers_only_when_a_side_has_no_binaries(base_snapshot: Snapshot) -> None:
    report = compare(with_exports(base_snapshot, _symbols(base_snapshot)), base_snapshot)
    assert report.headers_only
    assert not report.old.headers_only and report.new.headers_only


def test_a_grown_type_is_reported_at_the_record_not_at_each_type_object(
    base_snapshot: Snapshot, variant_snapshot: MakeVariant
) -> None:
    """PyTypeObject grows (3.12's tp_watched): every exported PyXxx_Type grows with it.  That
    is one change, at the record, which lists the data it impacts; and PyTypeObject is opaque
    in the limited API, so it is a full-ABI break, not a stable-ABI one."""
    grown = variant_snapshot(
        ((CPY_OBJ, "    const char *tp_doc;", "    const char *tp_doc;\n    void *tp_example_grown;"),)
    )
    old = with_exports(base_snapshot, _symbols(base_snapshot))
    new = with_exports(grown, _symbols(grown))
    sizes = {s.name: s.size for s in new.binaries[0].symbols}
    assert sizes["PyType_Type"] != {s.name: s.size for s in old.binaries[0].symbols}["PyType_Type"]
    report = compare(old, new)
    rules = _rules(report)
    assert "ABI603" not in rules  # no size change per type object
    record_changes = [c for c in report.changes if c.entity.startswith("PyTypeObject")]
    assert record_changes and any("data PyType_Type" in impact for c in record_changes for impact in c.impacts)
    assert report.verdict == Verdict.ABI_BREAKING
    assert report.stable_abi_verdict == StableVerdict.INTACT
