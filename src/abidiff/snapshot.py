"""Snapshots as versioned JSON: byte-stable, sorted, checked on load.

The document is ``{"schema": "abidiff-snapshot", "schema_version": N, "snapshot": {...}}``;
the JSON Schema shipped in ``abidiff/schemas/snapshot.schema.json`` is generated from the
model by ``scripts/regen.py`` (``--check`` in the test suite keeps it true).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from typing import Any

from abidiff import codec, files
from abidiff.errors import SnapshotError
from abidiff.model import Field, Snapshot

SCHEMA_NAME = "abidiff-snapshot"
SCHEMA_VERSION = 6
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
    changes["reach"] = tuple(sorted(snapshot.reach, key=lambda item: (item.name, str(item.kind))))
    changes["outside"] = tuple(sorted(set(snapshot.outside)))
    changes["unread"] = tuple(sorted(set(snapshot.unread)))
    changes["unread_names"] = tuple(
        replace(item, names=tuple(sorted(set(item.names))))
        for item in sorted({item.header: item for item in snapshot.unread_names}.values(), key=lambda item: item.header)
    )
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


MAX_SNAPSHOT_BYTES = 32 * 1024 * 1024  # abidiff's snapshots of real builds are 1 to 5 MB
MAX_MEMBER_DEPTH = 32  # anonymous structs and unions in one another; real headers: 2
_LEVEL = re.compile(r"^[0-9]{1,2}\.[0-9]{1,3}$")  # a feature version: "3.2", "3.13"
# PY_VERSION: "3.13.0", "3.14.0a3+"; anything may follow the micro version, nothing the minor;
# "unknown" for a library whose version nothing told
_BUILD_VERSION = re.compile(r"^(?:unknown|[0-9]{1,4}\.[0-9]{1,4}(?:\.[^\x00-\x1f]{0,100})?)$")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_NOT_A_LEVEL = "is not a feature version such as '3.13'"
_DECLARATIONS = ("records", "functions", "variables", "enums", "typedefs", "macros")


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def loads(text: str, *, source: str = "<snapshot>") -> Snapshot:
    """The snapshot in ``text``; :class:`SnapshotError` for anything but a valid snapshot,
    naming the first value at fault by its JSON path (``$.snapshot.records[3].size``)."""
    document = _parse(text, source)
    if not isinstance(document, dict) or document.get("schema") != SCHEMA_NAME:
        raise SnapshotError(f'{source} is not an abidiff snapshot (no "schema": "{SCHEMA_NAME}")')
    version = document.get("schema_version")
    if type(version) is not int:
        raise SnapshotError(f"{source} has no valid schema_version (it is {_shown(version)}), so it cannot be read")
    if version != SCHEMA_VERSION:
        raise SnapshotError(
            f"{source}: snapshot schema version {version} is not supported: this abidiff reads version "
            f"{SCHEMA_VERSION}",
            hint="re-dump it with this abidiff: abidiff dump BUILD -o FILE",
        )
    unknown = sorted(set(document) - {"schema", "schema_version", "snapshot"})
    if unknown:
        raise SnapshotError(f"{source} is a malformed snapshot: $: unknown key {_shown(unknown[0])}")
    if _SURROGATE_ESCAPE.search(text):  # rare: only then look at every string
        _refuse_lone_surrogates(document, source)
    try:
        snapshot: Snapshot = codec.decode(Snapshot, document.get("snapshot"), "$.snapshot")
    except codec.DecodeError as exc:
        raise SnapshotError(f"{source} is a malformed snapshot: {exc}") from exc
    problem = _check(snapshot)
    if problem is not None:
        raise SnapshotError(f"{source} is a malformed snapshot: {problem}")
    return snapshot


def _parse(text: str, source: str) -> Any:
    try:
        return json.loads(text, parse_int=codec.bounded_int)
    except json.JSONDecodeError as exc:
        raise SnapshotError(f"{source} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
    except RecursionError:
        line, column, path = _too_deep_at(text, codec.MAX_DEPTH)
        raise SnapshotError(
            f"{source} is not a snapshot: {path}: nested more than {codec.MAX_DEPTH} levels deep "
            f"(line {line}, column {column})"
        ) from None


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{},:]', re.DOTALL)


def _too_deep_at(text: str, limit: int) -> tuple[int, int, str]:
    """Where the JSON ``text`` is first nested deeper than ``limit``: line, column and the
    JSON path (shortened); its end when it never is.  Only run when parsing failed, on
    text too deep for the parser to give a position."""
    frames: list[list[Any]] = []  # [is_object, key or index] of each open container
    last = ""
    at = len(text)
    for token in _TOKEN.finditer(text):
        char = token.group()[0]
        if char == '"':
            last = token.group()
        elif char == ":" and frames:
            frames[-1][1] = _key(last)
        elif char == "," and frames and not frames[-1][0]:
            frames[-1][1] += 1
        elif char in "[{":
            if len(frames) >= limit:
                at = token.start()
                break
            frames.append([char == "{", "" if char == "{" else 0])
        elif char in "]}" and frames:
            frames.pop()
    parts = [codec.key_part(key) if is_object else f"[{key}]" for is_object, key in frames]
    shown = "$" + "".join(parts[:8]) + (f"...({len(parts) - 8} levels more)" if len(parts) > 8 else "")
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1, shown


def _key(token: str) -> str:
    try:
        key = json.loads(token)
    except ValueError:
        return "?"
    return key if isinstance(key, str) else "?"


def _refuse_lone_surrogates(document: Any, source: str) -> None:
    """A string with half a UTF-16 pair cannot be written out again (as UTF-8): refuse it
    at its path."""
    stack: list[tuple[Any, str]] = [(document, "$")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if _LONE_SURROGATE.search(value):
                raise SnapshotError(f"{source} is a malformed snapshot: {path}: a string with a lone UTF-16 surrogate")
        elif isinstance(value, dict):
            for key, item in value.items():
                if _LONE_SURROGATE.search(key):
                    raise SnapshotError(f"{source} is a malformed snapshot: {path}: a key with a lone UTF-16 surrogate")
                stack.append((item, path + codec.key_part(key)))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{number}]") for number, item in enumerate(value))


def _check(snapshot: Snapshot) -> str | None:
    """What the types cannot say: versions that later code parses as numbers, and how
    deep anonymous members nest.  The first problem, with its JSON path; None if none."""
    version = snapshot.build.version
    if not _BUILD_VERSION.match(version):
        return f"$.snapshot.build.version: {_shown(version)} is not a CPython version such as '3.13.0'"
    for number, level in enumerate(snapshot.limited_levels):
        if not _LEVEL.match(level):
            return f"$.snapshot.limited_levels[{number}]: {_shown(level)} {_NOT_A_LEVEL}"
    for kind in _DECLARATIONS:
        for number, item in enumerate(getattr(snapshot, kind)):
            since = item.limited_since
            if since is not None and not _LEVEL.match(since):
                return f"$.snapshot.{kind}[{number}].limited_since: {_shown(since)} {_NOT_A_LEVEL}"
    for number, record in enumerate(snapshot.records):
        since = record.limited_layout_since
        if since is not None and not _LEVEL.match(since):
            return f"$.snapshot.records[{number}].limited_layout_since: {_shown(since)} {_NOT_A_LEVEL}"
        for index, field in enumerate(record.fields):
            if field.members:
                deep = _too_deep_members(field.members, f"$.snapshot.records[{number}].fields[{index}]")
                if deep is not None:
                    return deep
    for number, entry in enumerate(snapshot.manifest):
        if not _LEVEL.match(entry.added) and (entry.added or entry.kind != "feature_macro"):
            return f"$.snapshot.manifest[{number}].added: {_shown(entry.added)} {_NOT_A_LEVEL}"
    if version == "unknown" and (snapshot.limited_levels or snapshot.manifest or _has_declarations(snapshot)):
        return "$.snapshot.build.version: 'unknown' is only for a library without headers, and this one has headers"
    return None


def _has_declarations(snapshot: Snapshot) -> bool:
    return any(getattr(snapshot, kind) for kind in _DECLARATIONS)


def _too_deep_members(members: tuple[Field, ...], path: str) -> str | None:
    stack = [(member, f"{path}.members[{number}]", 1) for number, member in enumerate(members)]
    while stack:
        field, where, depth = stack.pop()
        if depth > MAX_MEMBER_DEPTH:
            return f"{path}: members nested more than {MAX_MEMBER_DEPTH} levels deep"
        stack.extend((member, f"{where}.members[{number}]", depth + 1) for number, member in enumerate(field.members))
    return None


def load(path: str) -> Snapshot:
    """The snapshot in the file ``path``: a regular file of at most
    :data:`MAX_SNAPSHOT_BYTES`, UTF-8 JSON; :class:`SnapshotError` for anything else."""
    try:
        data = files.read_regular(path, limit=MAX_SNAPSHOT_BYTES)
    except files.UnreadableFile as exc:
        raise SnapshotError(
            f"cannot read the snapshot {path}: {exc.reason}",
            hint="give a snapshot file written by 'abidiff dump BUILD -o FILE'",
        ) from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SnapshotError(f"{path} is not a snapshot: it is not UTF-8 text (byte {exc.start})") from exc
    return loads(text, source=path)


def schema() -> dict[str, Any]:
    """The JSON Schema of a snapshot document, generated from the model."""
    defs: dict[str, Any] = {}
    body = {"required": ["snapshot"], "properties": {"snapshot": codec.schema_of(Snapshot, defs)}}
    return codec.envelope_schema(SCHEMA_NAME, SCHEMA_VERSION, "abidiff snapshot", body, defs)
