"""Snapshots as versioned JSON: byte-stable, sorted, checked on load.

The document is ``{"schema": "abidiff-snapshot", "schema_version": N, "snapshot": {...}}``;
the JSON Schema shipped in ``abidiff/schemas/snapshot.schema.json`` is generated from the
model by ``scripts/regen.py`` (``--check`` in the test suite keeps it true).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import replace
from typing import Any

from abidiff import codec
from abidiff.errors import SnapshotError
from abidiff.model import Snapshot

SCHEMA_NAME = "abidiff-snapshot"
SCHEMA_VERSION = 1
SCHEMA_FILE = os.path.join(os.path.dirname(__file__), "schemas", "snapshot.schema.json")

_SORTED_KINDS = ("records", "functions", "variables", "enums", "typedefs", "macros", "manifest")


def normalise(snapshot: Snapshot) -> Snapshot:
    """The same snapshot with every unordered collection sorted (declaration order of fields
    and parameters is kept: it is ABI)."""
    changes: dict[str, Any] = {
        kind: tuple(sorted(getattr(snapshot, kind), key=lambda e: (e.name, getattr(e, "kind", ""))))
        for kind in _SORTED_KINDS
    }
    changes["binaries"] = tuple(
        sorted(
            (
                replace(binary, symbols=tuple(sorted(binary.symbols, key=lambda s: (s.name, s.version or ""))))
                for binary in snapshot.binaries
            ),
            key=lambda b: (str(b.role), b.path, b.arch),
        )
    )
    changes["warnings"] = tuple(sorted(set(snapshot.warnings)))
    return replace(snapshot, **changes)


def to_document(snapshot: Snapshot) -> dict[str, Any]:
    return {"schema": SCHEMA_NAME, "schema_version": SCHEMA_VERSION, "snapshot": codec.encode(normalise(snapshot))}


def _compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def dumps(snapshot: Snapshot) -> str:
    """The snapshot as JSON text; the same snapshot always gives the same bytes.

    One declaration per line: a snapshot kept as a CI baseline diffs line by line, and
    each line is written by the C encoder (an indented dump is several times slower).
    """
    document = to_document(snapshot)
    body = document.pop("snapshot")
    parts = []
    for key in sorted(body):
        value = body[key]
        if isinstance(value, list) and value:
            inner = ",\n".join(_compact(item) for item in value)
            parts.append(f"{_compact(key)}:[\n{inner}\n]")
        else:
            parts.append(f"{_compact(key)}:{_compact(value)}")
    head = ",".join(f"{_compact(key)}:{_compact(document[key])}" for key in sorted(document))
    return "{" + head + ',"snapshot":{\n' + ",\n".join(parts) + "\n}}\n"


def write_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` so that no reader ever sees a partial file.

    A path that exists and is not a regular file (``/dev/null``, ``/dev/stdout``, a FIFO)
    is written to directly: replacing it would destroy a device node.
    """
    if os.path.exists(path) and not os.path.isfile(path):
        with open(path, "w", encoding="utf-8") as out:
            out.write(text)
        return
    directory = os.path.dirname(os.path.abspath(path))
    handle, tmp = tempfile.mkstemp(prefix=".abidiff-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def loads(text: str, *, source: str = "<snapshot>") -> Snapshot:
    """The snapshot in ``text``; :class:`SnapshotError` for anything but a valid snapshot."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SnapshotError(f"{source} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
    if not isinstance(document, dict) or document.get("schema") != SCHEMA_NAME:
        raise SnapshotError(f'{source} is not an abidiff snapshot (no "schema": "{SCHEMA_NAME}")')
    version = document.get("schema_version")
    if version != SCHEMA_VERSION:
        raise SnapshotError(
            f"{source} is a snapshot of schema version {version!r}; this abidiff reads version {SCHEMA_VERSION}"
        )
    try:
        return codec.decode(Snapshot, document.get("snapshot"), "$.snapshot")  # type: ignore[no-any-return]
    except codec.DecodeError as exc:
        raise SnapshotError(f"{source} is a malformed snapshot: {exc}") from exc


def load(path: str) -> Snapshot:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except UnicodeDecodeError as exc:
        raise SnapshotError(f"{path} is not a text file") from exc
    except OSError as exc:
        raise SnapshotError(f"cannot read the snapshot {path}: {exc.strerror}", hint="check the path") from exc
    return loads(text, source=path)


def schema() -> dict[str, Any]:
    """The JSON Schema of a snapshot document, generated from the model."""
    defs: dict[str, Any] = {}
    body = codec.schema_of(Snapshot, defs)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://abidiff.invalid/schemas/snapshot-{SCHEMA_VERSION}.json",
        "title": "abidiff snapshot",
        "type": "object",
        "additionalProperties": False,
        "required": ["schema", "schema_version", "snapshot"],
        "properties": {
            "schema": {"const": SCHEMA_NAME},
            "schema_version": {"const": SCHEMA_VERSION},
            "snapshot": body,
        },
        "$defs": dict(sorted(defs.items())),
    }
