"""The Mach-O export trie decoder: hand-built tries, corrupt ones, and ones built to cost time
or memory (deep, spelling long names, many nodes) against the limits.  The properties (any
bytes give exports or a TrieError; a built trie reads back) are in tests/property/."""

from __future__ import annotations

from dataclasses import replace

import pytest

from abidiff.binaries import _trie
from abidiff.binaries._common import LIMITS
from tests.conftest import _load_script

craft = _load_script("craft_hostile_binaries")
uleb = craft.uleb  # the one ULEB128 encoder of the tests and the crafting script


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


def test_uleb_padded_by_the_crafting_script() -> None:
    assert _trie.read_uleb128(craft.uleb(300, 5), 0) == (300, 5)


def test_deeper_than_the_limit() -> None:
    with pytest.raises(_trie.TrieLimitError, match="deeper than 4096 nodes, the limit"):
        _trie.walk(craft.comb_trie(5000))
    assert len(_trie.walk(craft.comb_trie(4000))) == 4000  # a leaf per level, under the limit


def test_an_edge_longer_than_a_name_may_be() -> None:
    data = b"\x00\x01" + b"e" * (70 << 10) + b"\x00\x00"
    with pytest.raises(_trie.TrieLimitError, match="longer than 64 KiB, the limit"):
        _trie.walk(data)


def test_names_spelled_on_the_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """A comb with 16-byte edges spells 16, 32, 48... bytes at each level: the total is
    checked as it grows (here against a limit of 1 MiB)."""
    monkeypatch.setattr(_trie, "LIMITS", replace(LIMITS, names_bytes=1 << 20))
    with pytest.raises(_trie.TrieLimitError, match="names spelled while walking it add up to more than 1 MiB"):
        _trie.walk(craft.comb_trie(400, b"x" * 16))
    assert len(_trie.walk(craft.comb_trie(200, b"x" * 16))) == 200  # 2 x 320 KiB spelled


def test_node_and_export_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """A root with 100 leaves: 101 nodes and 100 exports, against smaller limits."""
    leaf = craft.uleb(2) + b"\x00\x00\x00"
    root = bytearray(b"\x00\x64")
    start = 2 + 100 * (3 + 5)
    for number in range(100):
        root += b"%02d\x00" % number + craft.uleb(start + number * len(leaf), 5)
    trie = bytes(root) + leaf * 100
    assert len(_trie.walk(trie)) == 100
    monkeypatch.setattr(_trie, "LIMITS", replace(LIMITS, trie_nodes=100))
    with pytest.raises(_trie.TrieLimitError, match="more than 100 nodes, the limit"):
        _trie.walk(trie)
    monkeypatch.setattr(_trie, "LIMITS", replace(LIMITS, symbols=99))
    with pytest.raises(_trie.TrieLimitError, match="more than 99 exports, the limit"):
        _trie.walk(trie)
