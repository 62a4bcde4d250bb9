"""Loading hostile snapshots (issue 11): every bad document is a :class:`SnapshotError` that
names the field at fault, every bad file one that says what the path is; never a
``ValueError``, ``RecursionError``, hang or unbounded read."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from abidiff import codec, snapshot
from abidiff.errors import SnapshotError
from abidiff.model import (
    Binary,
    BinaryFormat,
    BinaryRole,
    Build,
    Field,
    Function,
    ManifestEntry,
    Param,
    Record,
    RecordKind,
    ReleaseLevel,
    Snapshot,
    Symbol,
    SymbolKind,
    Tier,
    TypeRef,
)
from tests.conftest import ROOT

INT = TypeRef(spelling="int", canonical="int")


def rich_snapshot() -> Snapshot:
    """A small hand-made snapshot with one of everything the loader checks."""
    inner = Field(name="ob_refcnt", type=INT, offset_bits=0, size_bits=32)
    anonymous = Field(
        name="", type=TypeRef(spelling="union (anonymous)", canonical="union (anonymous)"), offset_bits=0,
        size_bits=64, members=(inner,),
    )  # fmt: skip
    record = Record(
        name="struct _object", kind=RecordKind.STRUCT, aliases=("PyObject",), complete=True, size=16, align=8,
        fields=(anonymous, Field(name="ob_type", type=INT, offset_bits=64, size_bits=64)), header="object.h",
        tier=Tier.LIMITED, limited_since="3.2", limited_layout_since="3.2",
    )  # fmt: skip
    function = Function(
        name="Py_Incref", returns=INT, params=(Param(name="o", type=INT),), header="object.h", tier=Tier.LIMITED,
        limited_since="3.2",
    )  # fmt: skip
    build = Build(
        version="3.13.0", hexversion=0x030D00F0, release_level=ReleaseLevel.FINAL, release_serial=0,
        target="x86_64-unknown-linux-gnu", pointer_size=8, origin="hand-made",
    )  # fmt: skip
    binary = Binary(
        role=BinaryRole.LIBPYTHON, path="libpython3.13.so", format=BinaryFormat.ELF, arch="x86_64", bits=64,
        symbols=(Symbol(name="Py_Incref", kind=SymbolKind.FUNCTION, size=16),),
    )  # fmt: skip
    manifest = (
        ManifestEntry(kind="function", name="Py_Incref", added="3.2"),
        ManifestEntry(kind="feature_macro", name="HAVE_FORK", added=""),
    )
    return Snapshot(
        build=build, limited_levels=("3.2", "3.13"), records=(record,), functions=(function,),
        binaries=(binary,), manifest=manifest,
    )  # fmt: skip


def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(snapshot.dumps(rich_snapshot()))
    return loaded


def test_the_rich_snapshot_round_trips() -> None:
    assert snapshot.loads(snapshot.dumps(rich_snapshot())) == snapshot.normalise(rich_snapshot())


# 5,000 digits: beyond Python's int conversion limit (4,300), so json.dumps cannot write it:
# a placeholder string, replaced in the text
HUGE = "@HUGE@"
_HUGE_TEXT = "9" * 5000


DEEP = "@DEEP@"


def _deep_members(depth: int) -> str:
    """The JSON text of a field whose anonymous members nest ``depth`` deep (too deep for
    json.dumps to write)."""
    leaf = codec.encode(Field(name="leaf", type=INT, offset_bits=0, size_bits=32))
    prefix, suffix = json.dumps({**leaf, "name": "", "members": ["@HOLE@"]}).split('"@HOLE@"')
    return prefix * depth + json.dumps(leaf) + suffix * depth


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation: set the value at ``path`` ("records.0.size") of the snapshot body."""

    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = doc["snapshot"]
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is _DELETE:
            del target[last]
        else:
            target[int(last) if last.isdigit() else last] = value

    return mutate


_DELETE = object()

BAD_DOCUMENTS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "5000-digit-size": (
        _set("records.0.size", HUGE),
        "$.snapshot.records[0].size: expected an integer, got an integer of 5000 digits",
    ),
    "5000-digit-enum-value": (
        _set("build.hexversion", "-" + HUGE),
        "$.snapshot.build.hexversion: expected an integer, got an integer of 5000 digits",
    ),
    "integer-beyond-64-bits": (
        _set("records.0.fields.1.offset_bits", 2**64),
        "$.snapshot.records[0].fields[1].offset_bits: the integer 18446744073709551616 does not fit in 64 bits",
    ),
    "record-without-fields": (_set("records.0.fields", _DELETE), "$.snapshot.records[0]: missing key 'fields'"),
    "function-without-params": (_set("functions.0.params", _DELETE), "$.snapshot.functions[0]: missing key 'params'"),
    "version-garbage": (_set("build.version", "3.x.0"), "$.snapshot.build.version: '3.x.0' is not a CPython version"),
    "version-5000-digits": (_set("build.version", "3." + "9" * 5000), "$.snapshot.build.version: '3.99999"),
    "version-unknown-with-headers": (
        _set("build.version", "unknown"),
        "'unknown' is only for a library without headers",
    ),
    "limited-since-banana": (
        _set("functions.0.limited_since", "banana"),
        "$.snapshot.functions[0].limited_since: 'banana' is not a feature version",
    ),
    "limited-since-empty": (
        _set("records.0.limited_since", ""),
        "$.snapshot.records[0].limited_since: '' is not a feature version",
    ),
    "limited-layout-since": (
        _set("records.0.limited_layout_since", "3"),
        "$.snapshot.records[0].limited_layout_since: '3' is not",
    ),
    "limited-levels-soon": (
        _set("limited_levels", ["3.2", "soon"]),
        "$.snapshot.limited_levels[1]: 'soon' is not a feature version",
    ),
    "limited-levels-number": (
        _set("limited_levels", [3.2]),
        "$.snapshot.limited_levels[0]: expected a string, got a number",
    ),
    "added-banana": (
        _set("manifest.1.added", "banana"),
        "$.snapshot.manifest[1].added: 'banana' is not a feature version",
    ),
    "added-x": (_set("manifest.1.added", "x"), "$.snapshot.manifest[1].added: 'x'"),
    "added-soon": (_set("manifest.1.added", "soon"), "$.snapshot.manifest[1].added: 'soon'"),
    "added-empty-for-a-function": (_set("manifest.1.added", ""), "$.snapshot.manifest[1].added: '' is not"),
    "members-600-deep": (_set("records.0.fields.0", DEEP + "600"), "$.snapshot.records[0].fields[0]"),
    "members-40-deep": (
        _set("records.0.fields.0", DEEP + "40"),
        "$.snapshot.records[0].fields[0]: members nested more than 32 levels deep",
    ),
    "lone-surrogate": (
        _set("functions.0.name", "Py_\ud800"),
        "$.snapshot.functions[0].name: a string with a lone UTF-16 surrogate",
    ),
    "long-enum-value": (_set("functions.0.tier", "x" * 100_000), "$.snapshot.functions[0].tier: 'xxxxxxxx"),
}


@pytest.mark.parametrize(("mutate", "message"), list(BAD_DOCUMENTS.values()), ids=list(BAD_DOCUMENTS))
def test_bad_documents_name_the_field(mutate: Callable[[dict[str, Any]], None], message: str) -> None:
    doc = document()
    mutate(doc)
    text = json.dumps(doc)  # ensure_ascii: a lone surrogate is written as \udXXX
    text = text.replace(f'"-{HUGE}"', "-" + _HUGE_TEXT).replace(f'"{HUGE}"', _HUGE_TEXT)
    for depth in (40, 600):
        text = text.replace(f'"{DEEP}{depth}"', _deep_members(depth))
    started = time.monotonic()
    with pytest.raises(SnapshotError) as caught:
        snapshot.loads(text, source="x.json")
    assert time.monotonic() - started < 5
    assert message in caught.value.message
    assert caught.value.message.startswith("x.json ")
    assert len(caught.value.message) < 400  # no 5,000-digit or 100,000-character value in it


def test_the_feature_macro_manifest_entry_may_have_no_added() -> None:
    assert snapshot.loads(json.dumps(document())).manifest[0].added == ""


def test_a_pair_of_escaped_surrogates_is_a_character() -> None:
    doc = document()
    doc["snapshot"]["functions"][0]["header"] = "\U0001f600.h"
    assert snapshot.loads(json.dumps(doc)).functions[0].header == "\U0001f600.h"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested more than 100 levels deep (line 1, column 101)"),
        (
            snapshot.dumps(rich_snapshot()).replace('"warnings":[]', '"warnings":' + "[" * 100_000 + "]" * 100_000),
            "nested more than 100 levels deep (line ",
        ),
        ('{"schema": "abidiff-snapshot", "schema_version": ' + "1" * 5000 + "}", "it is <an integer of 5000 digits>"),
        ('{"schema": "abidiff-snapshot", "schema_version": "1"}', "no valid schema_version (it is '1')"),
    ],
    ids=["nested-100000-deep", "nested-in-warnings", "5000-digit-schema-version", "string-schema-version"],
)
def test_bad_json_text(text: str, message: str) -> None:
    with pytest.raises(SnapshotError) as caught:
        snapshot.loads(text, source="x.json")
    assert message in caught.value.message


def test_another_schema_version_says_re_dump() -> None:
    doc = document()
    doc["schema_version"] = snapshot.SCHEMA_VERSION + 1
    with pytest.raises(SnapshotError) as caught:
        snapshot.loads(json.dumps(doc), source="old.json")
    assert caught.value.message == (
        f"old.json: snapshot schema version {snapshot.SCHEMA_VERSION + 1} is not supported: "
        f"this abidiff reads version {snapshot.SCHEMA_VERSION}"
    )
    assert caught.value.hint is not None and "re-dump" in caught.value.hint


def test_an_unknown_top_level_key_is_refused() -> None:
    doc = document()
    doc["extra"] = 1
    with pytest.raises(SnapshotError, match=r"\$: unknown key 'extra'"):
        snapshot.loads(json.dumps(doc))


# --- files that are not snapshots ----------------------------------------------------------


def _fifo(path: Path) -> str:
    os.mkfifo(path)
    return str(path)


def _sparse(path: Path) -> str:
    with open(path, "wb") as out:
        out.truncate(2 << 30)
    return str(path)


def _directory(path: Path) -> str:
    path.mkdir()
    return str(path)


def _dangling(path: Path) -> str:
    path.symlink_to(path.parent / "nowhere")
    return str(path)


def _not_utf8(path: Path) -> str:
    path.write_bytes(b'{"schema": "\xff"}')
    return str(path)


BAD_FILES: dict[str, tuple[Callable[[Path], str], str]] = {
    "fifo": (_fifo, "it is a FIFO (named pipe), not a regular file"),
    "dev-zero": (lambda _path: "/dev/zero", "snapshot /dev/zero: it is a character device, not a regular file"),
    "directory": (_directory, "it is a directory, not a regular file"),
    "sparse-2GiB": (_sparse, "it is 2048 MiB, larger than the limit of 32 MiB"),
    "absent": (lambda path: str(path), "no such file or directory"),
    "dangling-symlink": (_dangling, "it is a symbolic link to a missing file"),
    "not-utf8": (_not_utf8, "is not a snapshot: it is not UTF-8 text (byte 12)"),
}


@pytest.mark.parametrize(("make", "message"), list(BAD_FILES.values()), ids=list(BAD_FILES))
def test_bad_files_say_what_the_path_is(tmp_path: Path, make: Callable[[Path], str], message: str) -> None:
    path = make(tmp_path / "snap.json")
    started = time.monotonic()
    with pytest.raises(SnapshotError) as caught:
        snapshot.load(path)
    assert time.monotonic() - started < 5
    assert message in caught.value.message


def unprivileged(argv: list[str]) -> list[str]:
    """``argv`` run without the power to read any file (root reads files of mode 000)."""
    if os.geteuid() != 0:
        return argv
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv (util-linux): cannot make a file unreadable")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all", *argv]


_LOAD = """
import sys
from abidiff import codec, snapshot
from abidiff.errors import SnapshotError
try:
    snapshot.load(sys.argv[1])
except SnapshotError as exc:
    print(exc.message)
"""


def test_an_unreadable_snapshot_says_permission_denied(tmp_path: Path) -> None:
    path = tmp_path / "snap.json"
    path.write_text(snapshot.dumps(rich_snapshot()))
    path.chmod(0)
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    argv = unprivileged([sys.executable, "-c", _LOAD, str(path)])
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"cannot read the snapshot {path}: permission denied"


def test_the_decoder_names_where_a_value_is_too_deep() -> None:
    # on Python 3.12+ json.loads parses 600 levels of members, and the decoder recurses
    leaf = codec.encode(Field(name="leaf", type=INT, offset_bits=0, size_bits=32))
    value = leaf
    for _ in range(600):
        value = {**leaf, "name": "", "members": [value]}
    with pytest.raises(codec.DecodeError) as caught:
        codec.decode(Field, value, "$.field")
    assert caught.value.path.startswith("$.field.members[0].members[0]")
    assert str(caught.value).endswith("levels more): nested more than 100 levels deep")
