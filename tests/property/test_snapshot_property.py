"""Property-based tests of the snapshot loader (issue 11): whatever the text, only
:class:`~abidiff.errors.SnapshotError` escapes, within a bounded time; a document it
accepts can be written and read back, and its versions parse as later code parses them."""

from __future__ import annotations

import json
import time
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abidiff import snapshot
from abidiff.errors import SnapshotError
from abidiff.model import Snapshot, version_key
from tests.unit.test_snapshot_load import rich_snapshot

SECONDS_PER_EXAMPLE = 2.0
SLOT = "@@SLOT@@"
PROPERTY = settings(
    max_examples=150,
    database=None,  # nothing written to the working tree
    deadline=None,  # timed by hand below: hypothesis' deadline is flaky on a loaded machine
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- JSON text, including what json.dumps cannot write: 6,000-digit numbers, deep nesting ---

_integers = st.one_of(
    st.integers().map(str),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.integers(min_value=19, max_value=6000).map(lambda digits: "9" * digits),
)
_scalars = st.one_of(
    st.sampled_from(["null", "true", "false", '""', '"3.13"', '"3.2"', '"unknown"', '"\\ud800"']),
    _integers,
    st.floats(allow_nan=False, allow_infinity=False).map(json.dumps),
    st.text(max_size=20).map(json.dumps),
)


def _array(items: list[str]) -> str:
    return "[" + ",".join(items) + "]"


def _object(items: dict[str, str]) -> str:
    return "{" + ",".join(f"{json.dumps(key)}:{value}" for key, value in items.items()) + "}"


_keys = st.one_of(
    st.sampled_from(["name", "fields", "members", "size", "limited_since", "added", "version", "schema"]),
    st.text(max_size=8),
)
json_text = st.one_of(
    st.recursive(
        _scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=5).map(_array), st.dictionaries(_keys, children, max_size=5).map(_object)
        ),
        max_leaves=25,
    ),
    st.integers(min_value=1, max_value=20_000).map(lambda depth: "[" * depth + "]" * depth),
    st.integers(min_value=1, max_value=3_000).map(lambda depth: '{"a":' * depth + "1" + "}" * depth),
)


def _paths(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for number, item in enumerate(value):
            found += _paths(item, (*path, number))
    return found


DOCUMENT = json.loads(snapshot.dumps(rich_snapshot()))
PATHS = _paths(DOCUMENT)


def _loads_within_bounds(text: str) -> Snapshot | None:
    """Load ``text``: a snapshot or a one-line SnapshotError, nothing else, in bounded time."""
    started = time.monotonic()
    try:
        loaded: Snapshot | None = snapshot.loads(text, source="p.json")
    except SnapshotError as exc:
        assert "\n" not in exc.message and len(exc.message) < 1000, exc.message
        loaded = None
    assert time.monotonic() - started < SECONDS_PER_EXAMPLE
    return loaded


def _check_accepted(loaded: Snapshot) -> None:
    """What later code relies on: it can be written and read back, and every version in it
    parses the way diff and abi3 parse them."""
    again = snapshot.loads(snapshot.dumps(loaded))
    assert again == snapshot.normalise(loaded)
    if loaded.build.version != "unknown":
        version_key(loaded.build.feature_version)
    for level in loaded.limited_levels:
        version_key(level)
    for kind in ("records", "functions", "variables", "enums", "typedefs", "macros"):
        for item in getattr(loaded, kind):
            if item.limited_since is not None:
                version_key(item.limited_since)
    for entry in loaded.manifest:
        if entry.added:
            version_key(entry.added)


@PROPERTY
@given(json_text)
def test_random_json_is_refused_cleanly(text: str) -> None:
    loaded = _loads_within_bounds(text)
    assert loaded is None  # random JSON is never a snapshot


@PROPERTY
@given(
    json_text.map(
        lambda body: f'{{"schema":"abidiff-snapshot","schema_version":{snapshot.SCHEMA_VERSION},"snapshot":{body}}}'
    )
)
def test_random_snapshot_bodies_are_refused_cleanly(text: str) -> None:
    assert _loads_within_bounds(text) is None


def _replace(document: Any, path: tuple[str | int, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(document, dict):
        return {**document, head: _replace(document[head], rest, value)}
    assert isinstance(head, int), path
    copy = list(document)
    copy[head] = _replace(copy[head], rest, value)
    return copy


def _delete(document: Any, path: tuple[str | int, ...]) -> Any:
    parent, last = path[:-1], path[-1]

    def cut(container: Any) -> Any:
        if isinstance(container, dict):
            return {key: item for key, item in container.items() if key != last}
        return [item for number, item in enumerate(container) if number != last]

    holder: Any = DOCUMENT
    for part in parent:
        holder = holder[part]
    return _replace(document, parent, cut(holder))


@PROPERTY
@given(st.sampled_from(PATHS[1:]), st.one_of(json_text, st.just("DELETE")))
def test_mutated_documents_load_or_are_refused_cleanly(path: tuple[str | int, ...], value: str) -> None:
    if value == "DELETE":
        text = json.dumps(_delete(DOCUMENT, path))
    else:
        text = json.dumps(_replace(DOCUMENT, path, SLOT)).replace(json.dumps(SLOT), value, 1)
    loaded = _loads_within_bounds(text)
    if loaded is not None:
        _check_accepted(loaded)


TEXT = snapshot.dumps(rich_snapshot())


@PROPERTY
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=len(TEXT)), st.integers(0, 3), st.text(max_size=3)),
        min_size=1,
        max_size=4,
    )
)
def test_edited_text_loads_or_is_refused_cleanly(edits: list[tuple[int, int, str]]) -> None:
    text = TEXT
    for at, cut, insert in edits:
        text = text[:at] + insert + text[at + cut :]
    loaded = _loads_within_bounds(text)
    if loaded is not None:
        _check_accepted(loaded)
