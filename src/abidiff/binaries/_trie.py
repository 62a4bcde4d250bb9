"""The Mach-O export trie (``LC_DYLD_INFO(_ONLY)`` export area, ``LC_DYLD_EXPORTS_TRIE``).

A prefix tree: each node holds a ULEB128 ``terminal size``, then (when non-zero) the
export's flags and address (or a re-export's dylib ordinal and imported name, or a stub
and its resolver), then a child count and, per child, a NUL-terminated edge label and the
ULEB128 offset of the child node.  Every read is bounded by the trie; a node is visited at
most once, so a corrupt trie (cycles, offsets past its end) ends in :class:`TrieError`, and
one built to be expensive (deep, wide, spelling long names again and again) in
:class:`TrieLimitError` once it passes one of the :data:`~abidiff.binaries._common.LIMITS`.
"""

from __future__ import annotations

from dataclasses import dataclass

from abidiff.binaries._common import LIMITS, size_text

FLAG_KIND_MASK = 0x03
FLAG_KIND_REGULAR = 0x00
FLAG_KIND_THREAD_LOCAL = 0x01
FLAG_KIND_ABSOLUTE = 0x02
FLAG_WEAK_DEFINITION = 0x04
FLAG_REEXPORT = 0x08
FLAG_STUB_AND_RESOLVER = 0x10

_MAX_ULEB_BYTES = 10  # 64 bits


class TrieError(ValueError):
    """A corrupt export trie; the message says where."""


class TrieLimitError(TrieError):
    """A trie over one of the :data:`~abidiff.binaries._common.LIMITS`."""


@dataclass(frozen=True, slots=True)
class TrieExport:
    name: str
    flags: int
    address: int | None = None  # relative to the image base; None for a re-export
    reexport_ordinal: int | None = None  # 1-based index into the dependent dylibs
    reexport_name: str | None = None  # the name in that dylib ("" = the same name)


def read_uleb128(data: bytes, offset: int) -> tuple[int, int]:
    """The ULEB128 value at ``offset`` and the offset just after it."""
    value = 0
    shift = 0
    for index in range(_MAX_ULEB_BYTES):
        position = offset + index
        if position >= len(data):
            raise TrieError(f"ULEB128 at {offset:#x} runs past the end of the trie")
        byte = data[position]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position + 1
        shift += 7
    raise TrieError(f"ULEB128 at {offset:#x} is longer than {_MAX_ULEB_BYTES} bytes")


def _cstring(data: bytes, offset: int) -> tuple[bytes, int]:
    end = data.find(b"\0", offset, offset + LIMITS.name_bytes + 1)
    if end < 0:
        if offset + LIMITS.name_bytes < len(data):
            raise TrieLimitError(f"string at {offset:#x} is longer than {size_text(LIMITS.name_bytes)}, the limit")
        raise TrieError(f"string at {offset:#x} is not terminated within the trie")
    return data[offset:end], end + 1


def _terminal(data: bytes, start: int, end: int, name: bytes) -> TrieExport:
    flags, position = read_uleb128(data, start)
    text = name.decode("utf-8", "backslashreplace")
    if flags & FLAG_REEXPORT:
        ordinal, position = read_uleb128(data, position)
        imported, position = _cstring(data, position)
        export = TrieExport(
            text, flags, reexport_ordinal=ordinal, reexport_name=imported.decode("utf-8", "backslashreplace")
        )
    else:
        address, position = read_uleb128(data, position)
        if flags & FLAG_STUB_AND_RESOLVER:
            _resolver, position = read_uleb128(data, position)
        export = TrieExport(text, flags, address=address)
    if position > end:
        raise TrieError(f"export information of node at {start:#x} overruns its declared size")
    return export


def walk(data: bytes) -> tuple[TrieExport, ...]:
    """Every export in the trie ``data``, in trie order, within :data:`LIMITS`: at most
    ``trie_nodes`` nodes, each visited once, ``trie_depth`` deep, ``symbols`` exports with names
    of at most ``name_bytes`` each; and the names spelled on the way (every node's prefix) add
    up to at most ``names_bytes``, so that a trie built to spell a long name at every node ends
    early (a real trie, whose every inner node branches, spells at most twice its exports'
    names: 6 MiB for libLLVM's 46,000)."""
    if not data:
        return ()
    found: list[TrieExport] = []
    visited: set[int] = set()
    spelled = 0
    stack: list[tuple[int, bytes, int]] = [(0, b"", 1)]
    while stack:
        node, prefix, depth = stack.pop()
        if node in visited:
            raise TrieError(f"node at {node:#x} is reached twice (a cycle or shared node)")
        if not 0 <= node < len(data):
            raise TrieError(f"node at {node:#x} lies past the end of the trie ({len(data)} bytes)")
        visited.add(node)
        if len(visited) > LIMITS.trie_nodes:
            raise TrieLimitError(f"more than {LIMITS.trie_nodes} nodes, the limit")
        terminal_size, position = read_uleb128(data, node)
        children_at = position + terminal_size
        if children_at >= len(data):
            raise TrieError(f"node at {node:#x} declares {terminal_size} bytes of export information past the end")
        if terminal_size:
            found.append(_terminal(data, position, children_at, prefix))
            if len(found) > LIMITS.symbols:
                raise TrieLimitError(f"more than {LIMITS.symbols} exports, the limit")
        count = data[children_at]
        position = children_at + 1
        if count and depth >= LIMITS.trie_depth:
            raise TrieLimitError(f"deeper than {LIMITS.trie_depth} nodes, the limit (at node {node:#x})")
        children = []
        for _ in range(count):
            edge, position = _cstring(data, position)
            child, position = read_uleb128(data, position)
            if len(prefix) + len(edge) > LIMITS.name_bytes:
                raise TrieLimitError(f"a name longer than {size_text(LIMITS.name_bytes)}, the limit, at node {node:#x}")
            spelled += len(prefix) + len(edge)
            if spelled > LIMITS.names_bytes:
                raise TrieLimitError(
                    f"the names spelled while walking it add up to more than {size_text(LIMITS.names_bytes)}, the limit"
                )
            children.append((child, prefix + edge, depth + 1))
        stack.extend(reversed(children))
    return tuple(found)
