"""The stable ABI manifest reader: both formats, on excerpts of CPython's own files."""

from __future__ import annotations

import os

import pytest

from abidiff.errors import InputError
from abidiff.model import ManifestEntry
from abidiff.sources.manifest import parse_manifest, read_manifest
from tests.conftest import FIXTURES

TOML = os.path.join(FIXTURES, "manifest", "stable_abi.toml")
TXT = os.path.join(FIXTURES, "manifest", "stable_abi.txt")


def by_name(entries: tuple[ManifestEntry, ...]) -> dict[str, ManifestEntry]:
    return {entry.name: entry for entry in entries}


def test_toml_fields() -> None:
    entries = by_name(read_manifest(TOML))
    assert entries["PyObject"] == ManifestEntry(
        kind="struct", name="PyObject", added="3.2", struct_abi_kind="members", members=("ob_refcnt", "ob_type")
    )
    assert entries["PyTypeObject"].struct_abi_kind == "opaque"
    assert entries["PyMethodDef"].struct_abi_kind == "full-abi"
    assert entries["PyCFunction_Call"].abi_only is True
    assert entries["PyErr_SetFromWindowsErr"].ifdef == "MS_WINDOWS"
    assert entries["PyErr_SetFromWindowsErr"].added == "3.7"  # the trailing comment is not part of it
    assert entries["_Py_RefTotal"] == ManifestEntry(
        kind="data", name="_Py_RefTotal", added="3.10", abi_only=True, ifdef="Py_REF_DEBUG"
    )
    assert entries["MS_WINDOWS"] == ManifestEntry(kind="feature_macro", name="MS_WINDOWS", added="")
    assert entries["PyErr_DisplayException"].added == "3.12"


def test_sorted_by_kind_then_name() -> None:
    for path in (TOML, TXT):
        entries = read_manifest(path)
        keys = [(entry.kind, entry.name) for entry in entries]
        assert keys == sorted(keys)
        assert len(set(keys)) == len(keys)


def test_txt_fields() -> None:
    entries = by_name(read_manifest(TXT))
    assert entries["_Py_Dealloc"] == ManifestEntry(kind="function", name="_Py_Dealloc", added="3.2", abi_only=True)
    assert entries["PyOS_BeforeFork"].ifdef == "HAVE_FORK"
    assert entries["_Py_RefTotal"] == ManifestEntry(
        kind="data", name="_Py_RefTotal", added="3.10", abi_only=True, ifdef="Py_REF_DEBUG"
    )
    assert entries["PyObject"].struct_abi_kind is None  # the 3.10 format does not say
    assert entries["Py_NewRef"].added == "3.10"


def test_both_formats_agree_on_common_entries() -> None:
    toml = by_name(read_manifest(TOML))
    txt = by_name(read_manifest(TXT))
    common = set(toml) & set(txt)
    assert len(common) >= 9
    for name in common:
        a, b = toml[name], txt[name]
        assert (a.kind, a.added, a.abi_only, a.ifdef) == (b.kind, b.added, b.abi_only, b.ifdef), name


def test_txt_extra_struct_attributes() -> None:
    text = "struct PyObject\n    added 3.2\n    struct_abi_kind members\n    members ob_refcnt, ob_type\n"
    (entry,) = parse_manifest(text, source="m.txt", toml=False)
    assert entry.struct_abi_kind == "members"
    assert entry.members == ("ob_refcnt", "ob_type")


MALFORMED_TOML = {
    "bad-syntax": ("[function.PyA]\n    added = '3.2'\n[function.PyB\n", 3),
    "unknown-kind": ("[function.PyA]\n    added = '3.2'\n[gadget.PyB]\n    added = '3.2'\n", 3),
    "added-not-version": ("[function.PyA]\n    added = '3.2'\n[function.PyB]\n    added = 3.2\n", 3),
    "no-added": ("[function.PyA]\n    abi_only = true\n", 1),
    "bad-struct-kind": ("[struct.PyA]\n    added = '3.2'\n    struct_abi_kind = 'most'\n", 1),
    "abi-only-not-bool": ("[data.PyA]\n    added = '3.2'\n    abi_only = 'yes'\n", 1),
    "members-not-list": ("[struct.PyA]\n    added = '3.2'\n    members = 'ob_refcnt'\n", 1),
}

MALFORMED_TXT = {
    "unknown-kind": ("function PyA\n    added 3.2\ngadget PyB\n", 3),
    "orphan-attribute": ("# comment\n    added 3.2\n", 2),
    "abi-only-on-struct": ("struct PyA\n    added 3.2\n    abi_only\n", 3),
    "added-not-version": ("function PyA\n    added three\n", 2),
    "no-added": ("function PyA\n    ifdef HAVE_FORK\n", 1),
    "duplicate": ("function PyA\n    added 3.2\nfunction PyA\n    added 3.3\n", 3),
    "unknown-attribute": ("function PyA\n    added 3.2\n    colour blue\n", 3),
    "not-an-identifier": ("function Py-A\n    added 3.2\n", 1),
}


MALFORMED = {
    **{f"toml-{name}": ("stable_abi.toml", text, line) for name, (text, line) in MALFORMED_TOML.items()},
    **{f"txt-{name}": ("stable_abi.txt", text, line) for name, (text, line) in MALFORMED_TXT.items()},
}


@pytest.mark.parametrize(("file_name", "text", "line"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_manifest(tmp_path: os.PathLike[str], file_name: str, text: str, line: int) -> None:
    path = os.path.join(tmp_path, file_name)
    with open(path, "w", encoding="utf-8") as out:
        out.write(text)
    with pytest.raises(InputError) as caught:
        read_manifest(path)
    message = caught.value.message
    assert message.startswith(f"{path}, line {line}: "), message
    assert "\n" not in message


def test_missing_file(tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(tmp_path, "stable_abi.toml")
    with pytest.raises(InputError, match="cannot read the stable ABI manifest"):
        read_manifest(path)


def test_not_utf8(tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(tmp_path, "stable_abi.txt")
    with open(path, "wb") as out:
        out.write(b"function Py\xff\n")
    with pytest.raises(InputError, match="not UTF-8"):
        read_manifest(path)
