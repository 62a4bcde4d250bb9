"""Property: any mutation of the Mach-O fixtures (thin and universal), any bytes after a Mach-O
magic, and any bytes as an export trie, give exports or our error, within the deadline of
each example (no hang, no other exception)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from abidiff.binaries import _trie
from tests.property.strategies import READER_SETTINGS, Edit, cuts, edits, mutate, reads_or_binary_error
from tests.unit.test_binaries_trie import build_trie

MACHO = ("macho-arm64.dylib", "macho-x86_64.dylib", "macho-universal.dylib")
MAGICS = (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xca\xfe\xba\xbe\x00\x00\x00\x02")


@READER_SETTINGS
@given(name=st.sampled_from(MACHO), changes=edits(), cut=cuts())
def test_mutated_fixtures(binary_fixtures: dict[str, str], name: str, changes: list[Edit], cut: int | None) -> None:
    data = Path(binary_fixtures[name]).read_bytes()
    reads_or_binary_error(mutate(data, changes, cut, little=not name.endswith("universal.dylib")), "-" + name)


@READER_SETTINGS
@given(magic=st.sampled_from(MAGICS), body=st.binary(max_size=2048))
def test_random_bytes_after_the_magic(magic: bytes, body: bytes) -> None:
    reads_or_binary_error(magic + body, ".dylib")


@READER_SETTINGS
@given(data=st.binary(max_size=512))
def test_any_bytes_as_a_trie(data: bytes) -> None:
    try:
        exports = _trie.walk(data)
    except _trie.TrieError:
        return
    assert len(exports) <= len(data)  # a node is visited once: at most one export per byte


@READER_SETTINGS
@given(
    st.dictionaries(
        st.from_regex(r"_[A-Za-z][A-Za-z0-9_]{0,20}", fullmatch=True),
        st.tuples(st.sampled_from([0, 1, 2, 4]), st.integers(0, 1 << 40)),
        max_size=20,
    )
)
def test_a_built_trie_reads_back(exports: dict[str, tuple[int, int]]) -> None:
    walked = {e.name: (e.flags, e.address) for e in _trie.walk(build_trie(exports))}
    assert walked == exports
