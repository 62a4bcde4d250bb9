"""The JSON writer of every report (report/jsonwriter.text) writes the same bytes as
``json.dumps(..., sort_keys=True, indent=1, ensure_ascii=False)``, for any JSON value: the
reports stay byte-identical to what they were when ``json`` wrote them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abidiff.report import jsonwriter

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),  # any code point: quotes, backslashes, controls, non-ASCII, surrogates
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(st.text(), inner, max_size=5)),
    max_leaves=40,
)


@settings(max_examples=300, database=None, deadline=None)
@given(_values)
def test_same_text_as_json_dumps(value: Any) -> None:
    assert jsonwriter.text(value) == json.dumps(value, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def test_tuples_are_arrays() -> None:
    assert jsonwriter.text({"b": (1, "é"), "a": ()}) == '{\n "a": [],\n "b": [\n  1,\n  "é"\n ]\n}\n'


def test_enums_of_strings_are_their_values() -> None:
    from abidiff.model import Tier

    value = {Tier.PUBLIC: [Tier.LIMITED, "é"]}
    assert jsonwriter.text(value) == json.dumps(value, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def test_a_key_that_is_no_string_is_refused() -> None:
    with pytest.raises(TypeError, match="string keys"):
        jsonwriter.text({1: "one"})
