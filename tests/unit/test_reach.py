"""Reach (issue 14): what the static inline functions and macros of a header tree use, read
from libclang's AST (a generated use of each macro, its text where that does not compile),
the ``reached_through`` of each layout break, and ``abidiff ext --source`` on a small tree
written here (the real CPython headers: tests/integration/test_ext_source_real.py)."""

from __future__ import annotations

import io
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import pytest

from abidiff.changes import ChangeKind
from abidiff.commands.common import Reporting
from abidiff.diff import diff
from abidiff.diff.reach import Graph, Target, name_reached_through
from abidiff.ext_source import source_breaks, source_changes
from abidiff.headers.job import ParseJob, Scan
from abidiff.headers.parse import scan
from abidiff.headers.toolchain import host_toolchain
from abidiff.headers.uses import UseJob, UseKind, read_uses
from abidiff.model import Build, FieldRef, Reach, ReachKind, ReleaseLevel, Snapshot
from abidiff.rules.reports import compare_report
from abidiff.sourcetree import source_tree

OBJECT_H = """\
#include <stddef.h>
typedef long Py_ssize_t;
typedef struct _typeobject PyTypeObject;
typedef struct _object {
    union {
        Py_ssize_t ob_refcnt;
        unsigned int ob_refcnt_split[2];
    };
    PyTypeObject *ob_type;
} PyObject;
typedef struct {
    PyObject ob_base;
    Py_ssize_t ob_size;
} PyVarObject;
struct _typeobject {
    PyVarObject ob_base;
    const char *tp_name;
    unsigned long tp_flags;
};
void _Py_Dealloc(PyObject *op);
#define PyObject_HEAD PyObject ob_base;
#define _PyObject_CAST(op) ((PyObject *)(op))
static inline PyTypeObject *Py_TYPE(PyObject *ob) { return ob->ob_type; }
#define Py_TYPE(ob) Py_TYPE(_PyObject_CAST(ob))
static inline void Py_INCREF(PyObject *op) { op->ob_refcnt_split[0]++; }
#define Py_INCREF(op) Py_INCREF(_PyObject_CAST(op))
static inline void Py_DECREF(PyObject *op) { if (--op->ob_refcnt == 0) { _Py_Dealloc(op); } }
static inline int PyType_HasFeature(PyTypeObject *t, unsigned long f) { return (t->tp_flags & f) != 0; }
#define PyObject_HasFlag(ob, f) PyType_HasFeature(Py_TYPE(ob), f)
#define Py_MEMBER_SIZE(type, member) sizeof(((type *)0)->member)
#define Py_SETREF(dst, src) do { PyObject *_tmp = (PyObject *)(dst); (dst) = (src); Py_DECREF(_tmp); } while (0)
#define Py_TRASH_BEGIN(op) do { if (Py_TYPE(op)->tp_flags) {
#define Py_TRASH_END } } while (0)
static inline Py_ssize_t _Py_var_size(PyVarObject *v) {
    return v->ob_size + (Py_ssize_t)offsetof(PyVarObject, ob_size) + (Py_ssize_t)sizeof(PyObject);
}
"""
UNICODE_H = """\
typedef struct {
    PyObject_HEAD
    Py_ssize_t length;
    struct {
        unsigned int kind:3;
        unsigned int ascii:1;
    } state;
} PyASCIIObject;
static inline unsigned int PyUnicode_KIND(PyObject *op) { return ((PyASCIIObject *)op)->state.kind; }
"""
PYTHON_H = '#include "pyconfig.h"\n#include "object.h"\n#include "unicodeobject.h"\n'
# a field inserted before the reference count: everything after it moves, PyObject grows
INSERTED = ("typedef struct _object {\n", "typedef struct _object {\n    void *ob_example;\n")

SOURCE_C = """\
#include <Python.h>

typedef struct {
    PyObject_HEAD
    long value;
} Counter;

static int heap(PyObject *o) { return Py_TYPE(o)->tp_flags != 0; }
static void keep(PyObject *o) { Py_INCREF(o); }
static unsigned int kind(PyObject *s) { return PyUnicode_KIND(s); }
"""
CLEAN_C = """\
#include <Python.h>

PyObject *repr_of(PyObject *o);
PyObject *call(PyObject *o) { return repr_of(o); }
"""


def _tree(root: Path, *edits: tuple[str, str]) -> str:
    root.mkdir(parents=True)
    object_h = OBJECT_H
    for old, new in edits:
        object_h = object_h.replace(old, new)
    files = {"Python.h": PYTHON_H, "pyconfig.h": "#define SIZEOF_VOID_P 8\n", "object.h": object_h}
    files["unicodeobject.h"] = UNICODE_H
    for name, text in files.items():
        (root / name).write_text(text)
    return str(root)


def _scan(include_dir: str, reach: bool = True) -> Scan:
    job = ParseJob(include_dir=include_dir, system_dirs=host_toolchain().system_include_dirs, reach=reach)
    return scan(job)


def _snapshot(found: Scan, version: str = "3.13.0") -> Snapshot:
    build = Build(
        version=version,
        hexversion=0x030D00F0,
        release_level=ReleaseLevel.FINAL,
        release_serial=0,
        target=found.target,
        pointer_size=8,
        origin="test",
        headers_only=True,
    )
    return Snapshot(
        build=build,
        records=tuple(found.records[name] for name in sorted(found.records)),
        functions=tuple(found.functions[name] for name in sorted(found.functions)),
        typedefs=tuple(found.typedefs[name] for name in sorted(found.typedefs)),
        macros=tuple(found.macros[name] for name in sorted(found.macros)),
        reach=found.reach,
    )


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    root = tmp_path_factory.mktemp("reach")
    return _tree(root / "old"), _tree(root / "new", INSERTED)


@pytest.fixture(scope="module")
def scans(trees: tuple[str, str]) -> tuple[Scan, Scan]:
    return _scan(trees[0]), _scan(trees[1])


def _by(found: Scan) -> dict[tuple[str, ReachKind], Reach]:
    return {(item.name, item.kind): item for item in found.reach}


# -- the headers ------------------------------------------------------------------------------


def test_inline_bodies_are_read_from_the_ast(scans: tuple[Scan, Scan]) -> None:
    by = _by(scans[0])
    assert by[("Py_TYPE", ReachKind.INLINE)].fields == (FieldRef(record="struct _object", field="ob_type"),)
    # a member of an anonymous union is the record's own field
    assert by[("Py_INCREF", ReachKind.INLINE)].fields == (FieldRef(record="struct _object", field="ob_refcnt_split"),)
    decref = by[("Py_DECREF", ReachKind.INLINE)]
    assert decref.fields == (FieldRef(record="struct _object", field="ob_refcnt"),) and decref.uses == ("_Py_Dealloc",)
    # a named member of an unnamed struct type: its name is in the path
    kind = by[("PyUnicode_KIND", ReachKind.INLINE)]
    assert FieldRef(record="PyASCIIObject", field="state.kind") in kind.fields
    # offsetof names the field, sizeof the record
    size = by[("_Py_var_size", ReachKind.INLINE)]
    assert FieldRef(record="PyVarObject", field="ob_size") in size.fields and size.sizes == ("struct _object",)
    line = next(n for n, text in enumerate(OBJECT_H.splitlines(), 1) if text.startswith("static inline PyTypeObject"))
    assert (by[("Py_TYPE", ReachKind.INLINE)].header, by[("Py_TYPE", ReachKind.INLINE)].line) == ("object.h", line)


def test_macros_are_read_from_a_generated_use_or_their_text(scans: tuple[Scan, Scan]) -> None:
    by = _by(scans[0])
    assert "Py_TYPE" in by[("Py_TYPE", ReachKind.MACRO)].uses  # the macro calls the function of its name
    flag = by[("PyObject_HasFlag", ReachKind.MACRO)]  # expanded: the calls its expansion makes
    assert {"PyType_HasFeature", "Py_TYPE"} <= set(flag.uses)
    assert by[("PyObject_HEAD", ReachKind.MACRO)].sizes == ("struct _object",)  # declares a member by value
    # assigns its argument: the second generated use (of lvalues) compiles
    assert "Py_DECREF" in by[("Py_SETREF", ReachKind.MACRO)].uses
    assert ("Py_MEMBER_SIZE", ReachKind.MACRO) not in by  # takes a type: nothing to read
    trash = by[("Py_TRASH_BEGIN", ReachKind.MACRO_TOKENS)]  # opens a block: read from its text
    assert FieldRef(record="", field="tp_flags") in trash.fields and "Py_TYPE" in trash.uses


def test_reach_changes_nothing_else_of_the_scan(trees: tuple[str, str], scans: tuple[Scan, Scan]) -> None:
    plain = _scan(trees[0], reach=False)
    assert plain.reach == () and plain.reach_failed is None
    for kind in ("records", "functions", "variables", "enums", "typedefs", "macros"):
        assert getattr(plain, kind) == getattr(scans[0], kind), kind
    assert _scan(trees[0]).reach == scans[0].reach  # the same bytes every time


def test_bodies_that_do_not_compile_fall_back_to_no_reach(tmp_path: Path) -> None:
    include = _tree(tmp_path / "bad")
    with open(os.path.join(include, "object.h"), "a") as handle:
        handle.write("static inline int broken(void) { return undeclared_name; }\n")
    found = _scan(include)
    assert found.reach == () and found.reach_failed is not None and "undeclared_name" in found.reach_failed
    assert "Py_TYPE" in found.functions  # the declarations are read all the same


# -- reached through -------------------------------------------------------------------------


def test_a_field_inserted_in_pyobject_is_reached_through_its_helpers(scans: tuple[Scan, Scan]) -> None:
    result = diff(_snapshot(scans[0]), _snapshot(scans[1]))
    [added] = [c for c in result.changes if c.kind == ChangeKind.FIELD_ADDED and c.entity == "PyObject.ob_example"]
    reached = added.reached_through
    assert {"Py_TYPE", "Py_INCREF", "Py_DECREF", "PyObject_HEAD"} <= set(reached)
    # through another helper, and through a record that embeds PyObject (its fields move)
    assert {"PyObject_HasFlag", "PyType_HasFeature", "PyUnicode_KIND", "_Py_var_size"} <= set(reached)
    # those that touch PyObject itself come before those that touch what embeds it
    assert reached.index("Py_TYPE") < reached.index("PyType_HasFeature")
    assert added.fact("resized") is True


def test_a_change_that_moves_nothing_a_helper_reads_is_reached_by_none(scans: tuple[Scan, Scan]) -> None:
    old = _snapshot(scans[0])
    graph = Graph(old)
    assert graph.direct(Target(fields=frozenset({("struct _typeobject", "tp_name")}))) == set()
    assert graph.direct(Target(fields=frozenset({("struct _typeobject", "tp_flags")}))) == {
        "PyType_HasFeature",
        "Py_TRASH_BEGIN",  # its text names tp_flags after '->'
    }


def test_a_function_is_reached_through_the_helpers_that_call_it(scans: tuple[Scan, Scan]) -> None:
    old = Graph(_snapshot(scans[0]))
    # nearest first: Py_SETREF calls Py_DECREF
    assert name_reached_through("_Py_Dealloc", old, old) == ("Py_DECREF", "Py_SETREF")


def test_reached_through_in_the_judged_report(scans: tuple[Scan, Scan]) -> None:
    report = compare_report(diff(_snapshot(scans[0]), _snapshot(scans[1])))
    [finding] = [f for f in report.changes if f.entity == "PyObject.ob_example"]
    assert finding.resized and "Py_INCREF" in finding.reached_through


# -- ext --source ----------------------------------------------------------------------------


def _job(source: Path, include: str) -> UseJob:
    args = ["-x", "c", "-std=gnu11", "-I", include, "-Wno-everything"]
    for directory in host_toolchain().system_include_dirs:
        args += ["-isystem", directory]
    return UseJob(file=str(source), args=tuple(args), own_roots=(str(source.parent),), python_dirs=(include,))


def test_uses_of_an_extension_source(trees: tuple[str, str], tmp_path: Path) -> None:
    source = tmp_path / "counter.c"
    source.write_text(SOURCE_C)
    started = time.perf_counter()
    unit = read_uses(_job(source, trees[0]))
    assert time.perf_counter() - started < 1.0  # one small translation unit
    assert unit.errors == ()
    seen = {(use.kind, use.name, use.field, use.line, use.via) for use in unit.uses}
    assert (UseKind.EMBED, "struct _object", None, 4, "PyObject_HEAD") in seen
    assert (UseKind.NAME, "Py_TYPE", None, 8, "Py_TYPE") in seen
    assert (UseKind.FIELD, "struct _typeobject", "tp_flags", 8, None) in seen  # written in the source
    assert (UseKind.NAME, "Py_INCREF", None, 9, "Py_INCREF") in seen
    records = {record.name: record for record in unit.records}
    assert records["struct _typeobject"].aliases == ("PyTypeObject",)
    assert records["struct _typeobject"].embeds == (("PyVarObject", 0),)


def test_ext_source_places_and_verdict(trees: tuple[str, str], scans: tuple[Scan, Scan], tmp_path: Path) -> None:
    (tmp_path / "counter.c").write_text(SOURCE_C)
    (tmp_path / "clean.c").write_text(CLEAN_C)
    report = compare_report(diff(_snapshot(scans[0]), _snapshot(scans[1])))
    found = source_breaks(report)
    units = [read_uses(_job(tmp_path / name, trees[0])) for name in ("counter.c", "clean.c")]
    [change] = source_changes(units, found, (str(tmp_path),))
    assert change.kind == ChangeKind.EXT_SOURCE_USES and change.entity == "PyObject.ob_example"
    places = {(p.file, p.line, p.via) for p in change.places}
    assert places == {
        ("counter.c", 4, "PyObject_HEAD"),  # embeds PyObject, which grew
        ("counter.c", 8, "Py_TYPE"),  # ob_type moved
        ("counter.c", 8, None),  # tp_flags of PyTypeObject moved: it embeds PyObject before it
        ("counter.c", 9, "Py_INCREF"),
        ("counter.c", 10, "PyUnicode_KIND"),  # state.kind of PyASCIIObject moved
    }
    # the clean source calls a function and passes pointers: nothing of it is affected
    assert not [p for p in change.places if p.file == "clean.c"]


def test_ext_source_command(
    trees: tuple[str, str], scans: tuple[Scan, Scan], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command end to end, with --report (a comparison JSON) and an alpha NEW; places are
    named as the user named the sources (``src/counter.c`` for ``--source src``)."""
    monkeypatch.chdir(tmp_path)
    from abidiff.commands.ext import ext_main
    from abidiff.report import jsonreport

    old, new = _snapshot(scans[0]), _snapshot(scans[1], version="3.14.0a2")
    new = replace(new, build=replace(new.build, release_level=ReleaseLevel.ALPHA, release_serial=2))
    old = replace(old, build=replace(old.build, origin=f"headers {trees[0]}"))
    comparison = tmp_path / "cmp.json"
    comparison.write_text(jsonreport.dumps(compare_report(diff(old, new))))
    sources = tmp_path / "src"
    sources.mkdir()
    (sources / "counter.c").write_text(SOURCE_C)
    (sources / "clean.c").write_text(CLEAN_C)
    out = io.StringIO()
    status = ext_main(
        None,
        reporting=Reporting(fmt="json", stdout=out, stderr=io.StringIO()),
        source=("src",),
        comparison=str(comparison),
    )
    document = json.loads(out.getvalue())
    assert status == 12 and document["affected"] is True
    [finding] = document["changes"]
    assert finding["rule"] == "ABI817"
    column = SOURCE_C.splitlines()[8].index("Py_INCREF") + 1
    assert {"file": "src/counter.c", "line": 9, "column": column, "via": "Py_INCREF"} in finding["places"]
    assert document["source"]["files"] == ["src/clean.c", "src/counter.c"]
    assert any('Python-Requires: >= "3.14.0b3"' in line for line in document["advice"])
    text = io.StringIO()
    ext_main(
        None,
        reporting=Reporting(stdout=text, stderr=io.StringIO()),
        source=(str(sources / "clean.c"),),
        comparison=str(comparison),
    )
    assert "This extension is not affected" in text.getvalue()


def test_source_tree_of_a_compile_commands_json(tmp_path: Path) -> None:
    (tmp_path / "a.c").write_text("int a;\n")
    (tmp_path / "compile_commands.json").write_text(
        json.dumps([{"directory": str(tmp_path), "file": "a.c", "command": "cc -Iinc -DX=1 -O2 -c a.c -o a.o"}])
    )
    with source_tree([str(tmp_path / "compile_commands.json")]) as tree:
        [unit] = tree.units
        assert tree.from_compile_commands and unit.flags == ("-I", str(tmp_path / "inc"), "-DX=1")


def test_py_limited_api_from_the_build_files(tmp_path: Path) -> None:
    (tmp_path / "m.c").write_text("int m;\n")
    (tmp_path / "setup.py").write_text('define_macros=[("Py_LIMITED_API", "0x03090000")]\n')
    with source_tree([str(tmp_path)]) as tree:
        assert (tree.limited_api, tree.limited_from) == ("0x03090000", "setup.py")


def test_unsafe_sdist_is_refused(tmp_path: Path) -> None:
    import tarfile

    from abidiff.errors import InputError

    payload = tmp_path / "m.c"
    payload.write_text("int m;\n")
    archive = tmp_path / "evil-1.0.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(payload, arcname="../escape.c")
    with pytest.raises(InputError, match="unsafe member name"), source_tree([str(archive)]):
        pass


def test_usage_errors() -> None:
    from abidiff.commands.ext import ext_main
    from abidiff.errors import UsageError

    with pytest.raises(UsageError, match="--source needs"):
        ext_main(None, reporting=Reporting(stdout=io.StringIO(), stderr=io.StringIO()), source=("x.c",))
    with pytest.raises(UsageError, match="give extension modules or a wheel"):
        ext_main(None, reporting=Reporting(stdout=io.StringIO(), stderr=io.StringIO()))
    with pytest.raises(UsageError, match="not both"):
        ext_main(
            None,
            reporting=Reporting(stdout=io.StringIO(), stderr=io.StringIO()),
            source=("x.c",),
            between=("a", "b"),
            comparison="c.json",
        )
