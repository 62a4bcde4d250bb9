"""Every public header of the real builds of this machine (issue 10, section 2), declarations
without ``PyAPI_*`` markers (section 3), ``Py_DEPRECATED`` data, fields and typedefs, and the
place of every declaration (issue 12): what the snapshots of real builds hold."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from abidiff import snapshot as snapshot_io
from abidiff.builder import snapshot_of
from abidiff.data import stable_abi
from abidiff.headers.tree import read_tree
from abidiff.model import Record, Snapshot, Tier
from abidiff.options import BuildOptions
from abidiff.sources import resolve
from tests.conftest import snapshot_cached
from tests.realbuilds import debian_python311, pyenv_python

pytestmark = pytest.mark.integration

KINDS = ("records", "functions", "variables", "enums", "typedefs", "macros")


def _include_dir(spec: str) -> str:
    include_dir = resolve(spec).include_dir
    assert include_dir is not None
    return include_dir


def _get(snapshot: Snapshot, kind: str, name: str) -> Any:
    found = [entity for entity in getattr(snapshot, kind) if entity.name == name]
    assert len(found) == 1, f"{kind} {name}: {len(found)} declarations"
    return found[0]


def _record(snapshot: Snapshot, alias: str) -> Record:
    found = [record for record in snapshot.records if alias in record.aliases or record.name == alias]
    assert len(found) == 1, alias
    return found[0]


def _struct_members(header_text: str, typedef_name: str) -> list[str]:
    """The member names of ``typedef struct { ... } NAME;`` in a header, read as text."""
    match = re.search(r"typedef struct \{(.*?)\}\s*" + re.escape(typedef_name) + ";", header_text, re.DOTALL)
    assert match is not None, typedef_name
    body = re.sub(r"/\*.*?\*/|//[^\n]*", "", match.group(1), flags=re.DOTALL)
    names = []
    for declaration in body.split(";"):
        declaration = declaration.strip()
        if not declaration:
            continue
        pointer = re.search(r"\(\s*\*\s*(\w+)\s*\)", declaration)  # a function pointer
        names.append(pointer.group(1) if pointer else re.findall(r"\w+", declaration)[-1])
    return names


def test_datetime_capi_of_a_copied_313_tree(tmp_path: Path) -> None:
    """A copy of 3.13.0's include tree (datetime.h as shipped): PyDateTime_CAPI and the
    datetime object structs are in the snapshot, with their fields."""
    include_dir = _include_dir(pyenv_python("3.13.0"))
    copy = tmp_path / "include"
    shutil.copytree(include_dir, copy, ignore=shutil.ignore_patterns("internal"))
    snapshot = snapshot_of(str(copy), BuildOptions(use_cache=False))
    text = (copy / "datetime.h").read_text()
    capi = _record(snapshot, "PyDateTime_CAPI")
    assert capi.header == "datetime.h" and capi.complete and capi.tier == Tier.PUBLIC
    assert [field.name for field in capi.fields] == _struct_members(text, "PyDateTime_CAPI")
    assert len(capi.fields) >= 15 and capi.size == 8 * len(capi.fields)
    for name in ("PyDateTime_Date", "PyDateTime_DateTime", "PyDateTime_Time", "PyDateTime_Delta"):
        assert _record(snapshot, name).header == "datetime.h"
    assert _get(snapshot, "macros", "PyDateTime_CAPSULE_NAME").header == "datetime.h"
    for header in ("marshal.h", "structmember.h", "cpython/frameobject.h"):
        assert any(f.header == header for f in snapshot.functions) or any(m.header == header for m in snapshot.macros)
    assert snapshot.warnings == ()


@pytest.mark.parametrize("version", ["3.9.18", "3.10.13"])
def test_struct_frame_of_cpython_frameobject_h(version: str) -> None:
    """Up to 3.10 ``struct _frame`` lives in cpython/frameobject.h, which Python.h never includes."""
    snapshot = snapshot_cached(pyenv_python(version))
    frame = _get(snapshot, "records", "struct _frame")
    assert frame.header == "cpython/frameobject.h" and frame.complete
    names = [field.name for field in frame.fields]
    assert names[:4] == ["ob_base", "f_back", "f_code", "f_builtins"] and "f_lineno" in names
    assert frame.line is not None and frame.line > 1


def test_every_header_of_313_once_with_its_own_name() -> None:
    spec = pyenv_python("3.13.0")
    snapshot = snapshot_cached(spec)
    tree = read_tree(_include_dir(spec))
    assert set(tree.extra) >= {"datetime.h", "marshal.h", "structmember.h", "frameobject.h"}
    headers = {entity.header for kind in KINDS for entity in getattr(snapshot, kind)}
    assert headers >= {"datetime.h", "marshal.h", "structmember.h", "opcode_ids.h", "cpython/frameobject.h"}
    assert not any(header.startswith("internal/") for header in headers)
    for kind in KINDS:
        names = [entity.name for entity in getattr(snapshot, kind)]
        assert len(names) == len(set(names)), kind
    # the limited API of a header Python.h does not include is what the manifest names
    stable = {entry.name for entry in stable_abi().entries}
    outside = {header for header in headers if header not in tree.reached}
    for kind in KINDS:
        for entity in getattr(snapshot, kind):
            if entity.header in outside and entity.tier == Tier.LIMITED:
                assert {entity.name, *getattr(entity, "aliases", ())} & stable, (kind, entity.name)
    assert _get(snapshot, "macros", "LOAD_CONST").tier == Tier.UNSTABLE  # opcodes: not the limited API


def test_headers_this_machine_cannot_parse_are_named() -> None:
    """Debian ships pydtrace.h of a build with DTrace, without the pydtrace_probes.h it includes."""
    snapshot = snapshot_cached(debian_python311())
    include_dir = _include_dir(debian_python311())
    if os.path.exists(os.path.join(include_dir, "pydtrace_probes.h")):
        pytest.skip("this Debian python3.11 ships pydtrace_probes.h")
    assert "pydtrace.h was not read: it includes 'pydtrace_probes.h', which no include directory holds" in (
        snapshot.warnings
    )
    assert snapshot.unread == ("pydtrace.h",)  # the header, as a value the diff leaves out (ABI004)


@pytest.mark.parametrize(
    ("version", "canonical"),
    [
        ("3.8.18", "char *"),  # plain extern
        ("3.9.18", "const char *const"),  # plain extern
        ("3.10.13", "const char *const"),  # plain extern
        ("3.12.1", "const char *const"),  # PyAPI_DATA
        ("3.13.0", "const char *const"),
    ],
)
def test_data_declared_without_pyapi_data(version: str, canonical: str) -> None:
    snapshot = snapshot_cached(pyenv_python(version))
    unnamed = _get(snapshot, "variables", "PyStructSequence_UnnamedField")
    assert (unnamed.header, unnamed.type.canonical, unnamed.tier) == ("structseq.h", canonical, Tier.LIMITED)


def test_deprecated_data_fields_and_typedefs_of_312() -> None:
    snapshot = snapshot_cached(pyenv_python("3.12.1"))
    debug_flag = _get(snapshot, "variables", "Py_DebugFlag")
    assert debug_flag.deprecated and debug_flag.header == "cpython/pydebug.h"
    assert not _get(snapshot, "variables", "PyType_Type").deprecated
    bytes_object = _record(snapshot, "PyBytesObject")
    assert [field.name for field in bytes_object.fields if field.deprecated] == ["ob_shash"]
    dict_object = _record(snapshot, "PyDictObject")
    assert [field.name for field in dict_object.fields if field.deprecated] == ["ma_version_tag"]
    assert _get(snapshot, "typedefs", "UsingDeprecatedTrashcanMacro").deprecated
    assert _get(snapshot, "functions", "PySys_SetArgv").deprecated


def _line_of(include_dir: str, header: str, pattern: str) -> int:
    with open(os.path.join(include_dir, header), encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    return next(number for number, line in enumerate(lines, start=1) if re.search(pattern, line))


def test_places_point_into_the_real_headers() -> None:
    spec = pyenv_python("3.13.0")
    snapshot = snapshot_cached(spec)
    include_dir = _include_dir(spec)
    type_object = _get(snapshot, "records", "struct _typeobject")
    assert type_object.header == "cpython/object.h"
    assert type_object.line == _line_of(include_dir, "cpython/object.h", r"^struct _typeobject \{")
    tp_name = next(field for field in type_object.fields if field.name == "tp_name")
    assert tp_name.line == _line_of(include_dir, "cpython/object.h", r"\btp_name;")
    repr_ = _get(snapshot, "functions", "PyObject_Repr")
    assert repr_.line == _line_of(include_dir, repr_.header, r"\bPyObject_Repr\(")
    for kind in KINDS:
        for entity in getattr(snapshot, kind):
            assert entity.line is not None and entity.column is not None, (kind, entity.name)


def test_the_same_build_dumped_twice_gives_the_same_bytes() -> None:
    """A fresh read against the session's snapshot of the same build (made by another read in
    this session for the other tests, or read back from the session's cache, which the last
    line shows loses nothing)."""
    spec = pyenv_python("3.13.0")
    first = snapshot_io.dumps(snapshot_of(spec, BuildOptions(use_cache=False)))
    second = snapshot_io.dumps(snapshot_cached(spec))
    assert first == second
    assert snapshot_io.dumps(snapshot_io.loads(first)) == first
