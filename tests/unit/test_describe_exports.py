"""The words of a function that left the headers, for each thing the exports say of it
(rules/describe.py): removed, or turned into a macro or a static inline function.  Pure: a
hand-made change, no parse."""

from __future__ import annotations

import pytest

from abidiff.changes import Change, ChangeKind, EntityKind, Exports
from abidiff.model import Function, Tier, TypeRef
from abidiff.rules.describe import sides

_OLD = Function(name="PyFoo", returns=TypeRef(spelling="int", canonical="int"), header="foo.h", tier=Tier.PUBLIC)
_INLINE = Function(
    name="PyFoo", returns=TypeRef(spelling="int", canonical="int"), inline=True, header="foo.h", tier=Tier.PUBLIC
)


def _change(kind: ChangeKind, exports: Exports | None, new: Function | None = None) -> Change:
    return Change(
        kind=kind, entity="PyFoo", entity_kind=EntityKind.FUNCTION, tier=Tier.PUBLIC, old=_OLD, new=new, exports=exports
    )


@pytest.mark.parametrize(
    ("exports", "detail"),
    [
        (Exports.GONE, "removed from the headers and the exports"),
        (None, "removed from the headers and the exports"),
        (Exports.KEPT, "removed from the headers, still exported"),
        (Exports.UNKNOWN, "removed from the headers (headers only: counted as removed from the ABI)"),
        (Exports.MANIFEST, "removed from the headers, still exported (headers only: the stable ABI manifest says so)"),
    ],
)
def test_removed(exports: Exports | None, detail: str) -> None:
    words = sides(_change(ChangeKind.FUNCTION_REMOVED, exports))
    assert (words.new, words.detail) == (None, detail)


@pytest.mark.parametrize(
    ("exports", "suffix"),
    [
        (Exports.GONE, ", no longer exported"),
        (Exports.KEPT, ", still exported"),
        (Exports.UNKNOWN, " (headers only: counted as no longer exported)"),
        (Exports.MANIFEST, ", still exported (headers only: the stable ABI manifest says so)"),
    ],
)
def test_inlined(exports: Exports, suffix: str) -> None:
    macro = sides(_change(ChangeKind.FUNCTION_INLINED_UNEXPORTED, exports))
    assert (macro.new, macro.detail) == ("a macro", f"became a macro{suffix}")
    inline = sides(_change(ChangeKind.FUNCTION_INLINED_EXPORTED, exports, _INLINE))
    assert inline.detail == f"became a static inline function{suffix}"
