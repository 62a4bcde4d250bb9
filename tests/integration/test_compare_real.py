"""``abidiff OLD NEW`` on the real CPython builds of this machine.

Facts about layouts are established independently: ``sizeof`` as gcc computes it against each
build's own headers, never numbers written by hand.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sysconfig  # noqa: F401  (documents where INCLUDEPY comes from)
from pathlib import Path

import jsonschema
import pytest

from abidiff.commands.common import Reporting
from abidiff.commands.compare import compare_main
from abidiff.compare import compare
from abidiff.errors import EXIT_OK
from abidiff.model import Snapshot, Tier
from abidiff.report.jsonreport import SCHEMA_FILE, dumps
from abidiff.rules import Severity, StableVerdict, Verdict
from tests.conftest import snapshot_cached
from tests.realbuilds import debian_python311, need_gcc, pyenv_python

pytestmark = pytest.mark.integration

# public structs whose layout extensions compile in; gcc says which of them changed size
ORACLE_STRUCTS = ("PyThreadState", "PyCodeObject", "PyConfig", "PyTypeObject", "PyObject", "PyHeapTypeObject")


def _include_dir(python: str) -> list[str]:
    out = subprocess.run(
        [
            python,
            "-c",
            "import sysconfig; print(sysconfig.get_path('include')); print(sysconfig.get_config_var('INCLUDEPY'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return sorted(set(out))


def _gcc_sizes(python: str, names: tuple[str, ...], workdir: str) -> dict[str, int]:
    gcc = need_gcc()
    lines = ["#include <Python.h>", "#include <stdio.h>", "int main(void) {"]
    lines += [f'    printf("%zu\\n", sizeof({name}));' for name in names]
    lines += ["    return 0;", "}"]
    source = os.path.join(workdir, "sizes.c")
    binary = os.path.join(workdir, "sizes")
    with open(source, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    includes = [arg for directory in _include_dir(python) for arg in ("-I", directory)]
    subprocess.run([gcc, *includes, source, "-o", binary], check=True, capture_output=True)
    values = subprocess.run([binary], capture_output=True, text=True, check=True).stdout.split()
    return dict(zip(names, map(int, values), strict=True))


@pytest.fixture(scope="module")
def pair_312_313() -> tuple[str, str, Snapshot, Snapshot]:
    old, new = pyenv_python("3.12.1"), pyenv_python("3.13.0")
    return old, new, snapshot_cached(old), snapshot_cached(new)


def test_debian_and_pyenv_311_are_binary_compatible() -> None:
    debian, pyenv = debian_python311(), pyenv_python("3.11.7")
    report = compare(snapshot_cached(debian), snapshot_cached(pyenv))
    assert report.comparable, report.problems
    assert report.verdict == Verdict.BINARY_COMPATIBLE
    assert report.stable_abi_verdict == StableVerdict.INTACT
    assert not [c for c in report.changes if c.severity == Severity.BREAK]


def test_a_build_against_itself_reports_no_change() -> None:
    python = pyenv_python("3.11.7")
    out, err = io.StringIO(), io.StringIO()
    status = compare_main(python, python, reporting=Reporting(fmt="json", stdout=out, stderr=err))
    assert status == EXIT_OK
    document = json.loads(out.getvalue())
    assert document["changes"] == [] and document["verdict"] == "binary-compatible"


def test_312_to_313_is_abi_breaking_and_names_the_layout_changes(
    pair_312_313: tuple[str, str, Snapshot, Snapshot], tmp_path: Path
) -> None:
    old_python, new_python, old, new = pair_312_313
    report = compare(old, new)
    assert report.verdict == Verdict.ABI_BREAKING
    assert report.release_kind.value == "alpha"
    with open(SCHEMA_FILE, encoding="utf-8") as handle:
        jsonschema.validate(json.loads(dumps(report)), json.load(handle))

    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    before = _gcc_sizes(old_python, ORACLE_STRUCTS, str(tmp_path / "old"))
    after = _gcc_sizes(new_python, ORACLE_STRUCTS, str(tmp_path / "new"))
    grown = [name for name in ORACLE_STRUCTS if before[name] != after[name]]
    assert grown, "gcc finds no public struct whose size changed between 3.12 and 3.13"
    breaks = [c for c in report.changes if c.severity == Severity.BREAK]
    for name in grown:
        at_record = [c for c in breaks if c.entity == name or c.entity.startswith(f"{name}.")]
        # or reported once, where it happened: at a struct it embeds, which lists it as impacted
        upstream = [c for c in breaks if any(i.startswith(f"struct {name}") for i in c.impacts)]
        assert at_record or upstream, f"sizeof({name}) is {before[name]} -> {after[name]} (gcc) but no break names it"
        if at_record:
            assert any(f"size {before[name]} -> {after[name]} bytes" in c.detail for c in at_record)
    for name in ORACLE_STRUCTS:
        if before[name] == after[name]:
            assert not [c for c in breaks if c.entity == name and c.rule == "ABI101"], name


def test_312_to_313_pytypeobject_uses_padding(
    pair_312_313: tuple[str, str, Snapshot, Snapshot], tmp_path: Path
) -> None:
    """3.13 put tp_versions_used into PyTypeObject's trailing padding: gcc says the size is the same."""
    old_python, new_python, old, new = pair_312_313
    sizes = [_gcc_sizes(p, ("PyTypeObject",), str(tmp_path)) for p in (old_python, new_python)]
    assert sizes[0] == sizes[1]
    report = compare(old, new)
    padding = [c for c in report.changes if c.entity.startswith("PyTypeObject.")]
    assert [(c.rule, c.entity) for c in padding] == [("ABI104", "PyTypeObject.tp_versions_used")]


def test_312_to_313_thread_state_is_not_a_stable_abi_layout(pair_312_313: tuple[str, str, Snapshot, Snapshot]) -> None:
    """PyThreadState is named in the limited API but only defined under cpython/: its layout
    changes are full-ABI breaks, never stable-ABI ones."""
    _old_python, _new_python, old, new = pair_312_313
    report = compare(old, new)
    thread_state = [c for c in report.changes if c.entity.startswith("PyThreadState.")]
    assert thread_state and all(str(c.tier) == "public" for c in thread_state)


def test_removed_public_exports_between_312_and_313(pair_312_313: tuple[str, str, Snapshot, Snapshot]) -> None:
    _old_python, _new_python, old, new = pair_312_313
    if not old.binaries or not new.binaries:
        pytest.skip(
            "snapshots of interpreters have no binaries yet (Snapshot.binaries is empty until the export reader lands)"
        )
    report = compare(old, new)
    exported_before = {s.name for b in old.binaries for s in b.symbols}
    exported_after = {s.name for b in new.binaries for s in b.symbols}
    gone_public = sorted(
        n for n in exported_before - exported_after if not n.startswith("_") and not n.startswith("PyInit_")
    )
    reported = {c.entity for c in report.changes if c.rule in ("ABI201", "ABI208", "ABI302", "ABI601", "ABI702")}
    assert set(gone_public) <= reported
    declared = {f.name: f.tier for f in old.functions} | {v.name: v.tier for v in old.variables}
    for change in report.changes:
        if change.rule != "ABI601":
            continue
        if declared.get(change.entity) in (Tier.PUBLIC, Tier.LIMITED):
            assert change.severity == Severity.BREAK, change
        elif change.entity not in declared:  # declared in no public header (PySymtable_Lookup): no promise
            assert change.severity == Severity.WARNING, change
    assert "PySymtable_Lookup" in {c.entity for c in report.changes if c.severity == Severity.WARNING}


def test_a_header_debian_cannot_read_is_not_compared() -> None:
    """Debian's python3.11 ships pydtrace.h without the pydtrace_probes.h it includes, so its
    static inline PyDTrace_* functions cannot be read there; pyenv's 3.11 reads them. Neither
    way are they reported removed or added: one ABI004 warning says the header was not compared."""
    debian, pyenv = snapshot_cached(debian_python311()), snapshot_cached(pyenv_python("3.11.7"))
    assert "pydtrace.h" in debian.unread and "pydtrace.h" not in pyenv.unread
    assert any(function.header == "pydtrace.h" for function in pyenv.functions)
    for old, new in ((pyenv, debian), (debian, pyenv)):
        report = compare(old, new)
        assert [(f.rule, f.entity) for f in report.changes if "DTrace" in f.entity or f.rule == "ABI004"] == [
            ("ABI004", "pydtrace.h")
        ]
        assert report.verdict == Verdict.BINARY_COMPATIBLE
    # what pydtrace.h may declare, from its text: every PyDTrace_* function pyenv's copy declares
    [spelled] = debian.unread_names
    declared = {function.name for function in pyenv.functions if function.header == "pydtrace.h"}
    assert spelled.header == "pydtrace.h" and declared and declared <= set(spelled.names)
    assert "symtable" not in spelled.names  # so abi3's ABI803 of struct symtable does not name it


# 3.10's `typedef struct bufferinfo {...} Py_buffer` is 3.11's untagged `typedef struct {...}
# Py_buffer`: the functions that take it by pointer keep their ABI
_PY_BUFFER_FIELDS = ("buf", "obj", "len", "itemsize", "readonly", "ndim", "format", "shape", "strides", "suboffsets")


def _gcc_buffer_layout(python: str, workdir: str) -> list[int]:
    gcc = need_gcc()
    lines = ["#include <Python.h>", "#include <stddef.h>", "#include <stdio.h>", "int main(void) {"]
    lines.append('    printf("%zu\\n", sizeof(Py_buffer));')
    lines += [f'    printf("%zu\\n", offsetof(Py_buffer, {name}));' for name in _PY_BUFFER_FIELDS]
    lines += ["    return 0;", "}"]
    source, binary = os.path.join(workdir, "buffer.c"), os.path.join(workdir, "buffer")
    with open(source, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    includes = [arg for directory in _include_dir(python) for arg in ("-I", directory)]
    subprocess.run([gcc, *includes, source, "-o", binary], check=True, capture_output=True)
    return [int(v) for v in subprocess.run([binary], capture_output=True, text=True, check=True).stdout.split()]


def test_310_to_311_py_buffer_lost_its_tag_not_its_abi(tmp_path: Path) -> None:
    old_python, new_python = pyenv_python("3.10.13"), pyenv_python("3.11.7")
    # the oracle: gcc lays Py_buffer out the same in both builds
    for side in ("old", "new"):
        os.makedirs(tmp_path / side)
    assert _gcc_buffer_layout(old_python, str(tmp_path / "old")) == _gcc_buffer_layout(
        new_python, str(tmp_path / "new")
    )
    old, new = snapshot_cached(old_python), snapshot_cached(new_python)
    release = {f.name: f for f in old.functions}["PyBuffer_Release"]
    assert release.params[0].type.canonical == "struct bufferinfo *"  # what the 3.10 headers say
    report = compare(old, new)
    about_buffers = {
        (c.rule, c.entity)
        for c in report.changes
        if "bufferinfo" in f"{c.old} {c.new} {c.message}"
        or c.entity.startswith(("PyBuffer_", "Py_buffer", "PyMemoryView"))
    }
    # the tag is said gone once (a source matter); four functions gained `const` (ABI kept)
    assert about_buffers == {
        ("ABI505", "Py_buffer"),
        ("ABI206", "PyBuffer_FromContiguous"),
        ("ABI206", "PyBuffer_GetPointer"),
        ("ABI206", "PyBuffer_ToContiguous"),
        ("ABI206", "PyMemoryView_FromBuffer"),
    }


def test_310_to_311_code_pointers_of_generators_keep_their_abi() -> None:
    old, new = snapshot_cached(pyenv_python("3.10.13")), snapshot_cached(pyenv_python("3.11.7"))
    report = compare(old, new)
    found = {c.entity: c for c in report.changes}
    for kind, prefix in (("PyGenObject", "gi"), ("PyCoroObject", "cr"), ("PyAsyncGenObject", "ag")):
        code, frame = found[f"{kind}.{prefix}_code"], found[f"{kind}.{prefix}_frame"]
        assert (code.rule, code.severity) == ("ABI113", Severity.WARNING)  # PyObject * -> PyCodeObject *
        # what moved is the work of the frame's removal, a break
        assert (frame.rule, frame.severity) == ("ABI102", Severity.BREAK)
        assert f"{prefix}_code, {prefix}_weakreflist" in frame.message


def test_310_to_311_the_default_hash_algorithm_is_configuration_not_stable_abi() -> None:
    """3.11 made SipHash13 the default of ``Py_HASH_ALGORITHM`` (pyhash.h defines it under
    ``#ifndef Py_HASH_ALGORITHM``; ``configure --with-hash-algorithm`` would set it in
    pyconfig.h). Each interpreter says which one it runs, and that configure chose none."""
    old_python, new_python = pyenv_python("3.10.13"), pyenv_python("3.11.7")
    asked = "import sys, sysconfig; print(sys.hash_info.algorithm, sysconfig.get_config_var('Py_HASH_ALGORITHM'))"
    said = [
        subprocess.run([p, "-c", asked], capture_output=True, text=True, check=True).stdout.split()
        for p in (old_python, new_python)
    ]
    assert said == [["siphash24", "0"], ["siphash13", "0"]]  # Py_HASH_SIPHASH24 = 1, Py_HASH_SIPHASH13 = 3
    old, new = snapshot_cached(old_python), snapshot_cached(new_python)
    for snapshot, value in ((old, 1), (new, 3)):
        [macro] = [m for m in snapshot.macros if m.name == "Py_HASH_ALGORITHM"]
        assert (macro.value, macro.overridable, macro.header, macro.tier) == (value, True, "pyhash.h", Tier.LIMITED)
    report = compare(old, new)
    [finding] = [c for c in report.changes if c.entity == "Py_HASH_ALGORITHM"]
    assert (finding.rule, finding.severity, finding.header) == ("ABI503", Severity.INFO, "pyhash.h")
    assert finding.message == "build configuration Py_HASH_ALGORITHM: 1 -> 3"
    # it was the one limited-tier break of the pair: the stable ABI of 3.10 holds in 3.11
    assert not [c for c in report.changes if c.tier == Tier.LIMITED and c.severity == Severity.BREAK]
    assert report.stable_abi_verdict == StableVerdict.INTACT


def test_36_to_37_fastcall_functions_are_called_with_another_signature() -> None:
    """3.7 dropped ``kwnames`` from ``_PyCFunctionFast``: a METH_FASTCALL function compiled
    against 3.6 takes four parameters and is called with three.  No declaration has that type
    (``PyMethodDef.ml_meth`` is a ``PyCFunction``; such functions are cast), so the break is
    the typedef's own (ABI506).  The header text of each build is the oracle."""
    old_python, new_python = pyenv_python("3.6.15"), pyenv_python("3.7.16")
    texts = []
    for python in (old_python, new_python):
        [include] = [d for d in _include_dir(python) if os.path.isfile(os.path.join(d, "methodobject.h"))]
        with open(os.path.join(include, "methodobject.h"), encoding="utf-8") as handle:
            text = " ".join(handle.read().split())
        start = text.index("typedef PyObject *(*_PyCFunctionFast)")
        texts.append(text[start : text.index(";", start)])
    assert [text.count(",") + 1 for text in texts] == [4, 3]  # parameters of the typedef, each side
    old, new = snapshot_cached(old_python), snapshot_cached(new_python)
    for snapshot in (old, new):
        spellings = [item.type.spelling for record in snapshot.records for item in record.fields]
        spellings += [p.type.spelling for f in snapshot.functions for p in f.params] + [
            f.returns.spelling for f in snapshot.functions
        ]
        assert not [spelling for spelling in spellings if "_PyCFunctionFast" in spelling]
    [finding] = [c for c in compare(old, new).changes if c.entity == "_PyCFunctionFast"]
    assert (finding.rule, finding.severity) == ("ABI506", Severity.BREAK)
