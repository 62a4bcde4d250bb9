"""The JSON codec's containers: an array decodes to a tuple, an object to a dict, and an item
that does not fit is named by where it stands."""

from __future__ import annotations

import pytest

from abidiff.codec import DecodeError, decode


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
