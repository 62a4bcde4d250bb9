"""The Mach-O export trie decoder: hand-built tries, and a property that any bytes give
exports or a TrieError (never a hang, a crash or another exception)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abidiff.binaries import _trie


def uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def build_trie(exports: dict[str, tuple[int, int]]) -> bytes:
    """A trie with one edge per export from the root (valid, if not minimal)."""
    leaves = []
    for flags, address in exports.values():
        info = uleb(flags) + uleb(address)
        leaves.append(uleb(len(info)) + info + b"\x00")
    root_size = 2 + sum(len(name) + 1 + 4 for name in exports)  # enough room for offsets
    offsets = []
    position = root_size
    for leaf in leaves:
        offsets.append(position)
        position += len(leaf)
    root = bytearray(b"\x00" + bytes([len(exports)]))
    for name, offset in zip(exports, offsets, strict=True):
        root += name.encode() + b"\x00" + uleb(offset)
    root = root.ljust(root_size, b"\x00")
    return bytes(root) + b"".join(leaves)


def test_uleb128() -> None:
    assert _trie.read_uleb128(bytes([0xE5, 0x8E, 0x26]), 0) == (624485, 3)
    assert _trie.read_uleb128(b"\x00", 0) == (0, 1)
    with pytest.raises(_trie.TrieError, match="past the end"):
        _trie.read_uleb128(b"\x80\x80", 0)
    with pytest.raises(_trie.TrieError, match="longer than"):
        _trie.read_uleb128(b"\xff" * 11, 0)


def test_walk_reads_every_export() -> None:
    data = build_trie(
        {"_f": (0, 0x1000), "_tls": (_trie.FLAG_KIND_THREAD_LOCAL, 0x2000), "_w": (_trie.FLAG_WEAK_DEFINITION, 0x10)}
    )
    exports = {e.name: (e.flags, e.address) for e in _trie.walk(data)}
    assert exports == {"_f": (0, 0x1000), "_tls": (1, 0x2000), "_w": (4, 0x10)}


def test_reexport_and_resolver() -> None:
    reexport = uleb(_trie.FLAG_REEXPORT) + uleb(2) + b"_real\x00"
    stub = uleb(_trie.FLAG_STUB_AND_RESOLVER) + uleb(0x40) + uleb(0x80)
    leaf_a = uleb(len(reexport)) + reexport + b"\x00"
    leaf_b = uleb(len(stub)) + stub + b"\x00"
    root = b"\x00\x02" + b"_a\x00" + uleb(20) + b"_b\x00" + uleb(20 + len(leaf_a))
    data = root.ljust(20, b"\x00") + leaf_a + leaf_b
    a, b = sorted(_trie.walk(data), key=lambda e: e.name)
    assert (a.name, a.reexport_ordinal, a.reexport_name, a.address) == ("_a", 2, "_real", None)
    assert (b.name, b.address) == ("_b", 0x40)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00\x01a\x00\x00", "reached twice"),  # the child is the root: a cycle
        (b"\x00\x01a\x00\x7f", "past the end"),  # a child past the end
        (b"\x00\x01abc", "not terminated"),  # an edge label without its NUL
        (b"\x05\x00", "past the end"),  # terminal info longer than the trie
        (b"\x04\x08\x01ab\x00", "overruns"),  # a re-export whose name runs past its node's info
    ],
    ids=["cycle", "child-past-end", "unterminated-edge", "terminal-past-end", "reexport-name-overruns"],
)
def test_corrupt_tries(data: bytes, message: str) -> None:
    with pytest.raises(_trie.TrieError, match=message):
        _trie.walk(data)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=256))
def test_any_bytes_give_exports_or_trie_error(data: bytes) -> None:
    try:
        exports = _trie.walk(data)
    except _trie.TrieError:
        return
    assert len(exports) <= len(data)  # a node is visited once: at most one export per byte


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.from_regex(r"_[A-Za-z][A-Za-z0-9_]{0,20}", fullmatch=True),
        st.tuples(st.sampled_from([0, 1, 2, 4]), st.integers(0, 1 << 40)),
        max_size=20,
    )
)
def test_round_trip(exports: dict[str, tuple[int, int]]) -> None:
    walked = {e.name: (e.flags, e.address) for e in _trie.walk(build_trie(exports))}
    assert walked == exports
