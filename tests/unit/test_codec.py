"""The JSON codec's containers: an array decodes to a tuple, an object to a dict, and an item
that does not fit is named by where it stands."""

from __future__ import annotations

import pytest

from abidiff.codec import DecodeError, decode
from abidiff.model import Snapshot


def test_arrays_and_objects_decode() -> None:
    assert decode(tuple[int, ...], [1, 2, 3]) == (1, 2, 3)
    assert decode(dict[str, tuple[int, ...]], {"a": [1], "b": []}) == {"a": (1,), "b": ()}


@pytest.mark.parametrize(
    ("tp", "data", "path", "message"),
    [
        (tuple[int, ...], [1, 2, "3", "4"], "$[2]", "expected an integer"),
        (dict[str, int], {"a": 1, "b": "2"}, "$.b", "expected an integer"),
        (dict[str, tuple[int, ...]], {"a": [1], "b": [2, None]}, "$.b[1]", "expected an integer"),
        (tuple[dict[str, int], ...], [{}, {"k": []}], "$[1].k", "expected an integer"),
        (tuple[int, ...], {"a": 1}, "$", "expected an array, got an object"),
        (dict[str, int], [1], "$", "expected an object, got an array"),
    ],
    ids=["array-item", "object-value", "nested-object-array", "nested-array-object", "not-array", "not-object"],
)
def test_an_item_that_does_not_fit_is_named(tp: object, data: object, path: str, message: str) -> None:
    with pytest.raises(DecodeError) as caught:
        decode(tp, data)
    assert caught.value.path == path
    assert message in caught.value.message


def _generic(value: object) -> object:
    """The encoding by walking the values alone (no type hints): what the encoders built
    from the hints must give."""
    import dataclasses
    import enum

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _generic(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (tuple, list)):
        return [_generic(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _generic(item) for key, item in value.items()}
    return value


def test_the_encoders_built_from_the_hints_encode_as_the_values_say(minimal_snapshot: Snapshot) -> None:
    """A real snapshot (records with nested anonymous members: a recursive type; enums,
    optional values, tuples of scalars) and a report of it against itself with a change."""
    import dataclasses
    import json

    from abidiff.codec import encode
    from abidiff.model import Field, Record, RecordKind, TypeRef
    from abidiff.rules import compare

    encoded = encode(minimal_snapshot)
    assert json.dumps(encoded, sort_keys=True) == json.dumps(_generic(minimal_snapshot), sort_keys=True)
    inner = Field(
        name="x", type=TypeRef(spelling="int", canonical="int"), offset_bits=0, size_bits=32, line=1, column=1
    )
    outer = Field(
        name="",
        type=TypeRef(spelling="union", canonical="union"),
        offset_bits=0,
        size_bits=32,
        members=(inner,),
        line=1,
        column=1,
    )
    record = Record(
        name="struct demo",
        kind=RecordKind.STRUCT,
        complete=True,
        size=4,
        align=4,
        fields=(outer,),
        header="object.h",
        line=1,
        column=1,
        tier=minimal_snapshot.records[0].tier,
    )
    assert encode(record) == _generic(record)
    changed = dataclasses.replace(minimal_snapshot, records=(*minimal_snapshot.records, record))
    report = compare(minimal_snapshot, changed)
    assert report.changes and json.dumps(encode(report), sort_keys=True) == json.dumps(_generic(report), sort_keys=True)
