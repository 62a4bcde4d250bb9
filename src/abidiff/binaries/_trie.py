"""The Mach-O export trie (``LC_DYLD_INFO(_ONLY)`` export area, ``LC_DYLD_EXPORTS_TRIE``).

A prefix tree: each node holds a ULEB128 ``terminal size``, then (when non-zero) the
export's flags and address (or a re-export's dylib ordinal and imported name, or a stub
and its resolver), then a child count and, per child, a NUL-terminated edge label and the
ULEB128 offset of the child node.  Every read is bounded by the trie; a node is visited at
most once, so a corrupt trie (cycles, offsets past its end) ends in :class:`TrieError`.
"""

from __future__ import annotations

from dataclasses import dataclass

FLAG_KIND_MASK = 0x03
FLAG_KIND_REGULAR = 0x00
FLAG_KIND_THREAD_LOCAL = 0x01
FLAG_KIND_ABSOLUTE = 0x02
FLAG_WEAK_DEFINITION = 0x04
FLAG_REEXPORT = 0x08
FLAG_STUB_AND_RESOLVER = 0x10

_MAX_ULEB_BYTES = 10  # 64 bits
_MAX_NAME = 1 << 16


class TrieError(ValueError):
    """A corrupt export trie; the message says where."""


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
    end = data.find(b"\0", offset, offset + _MAX_NAME)
    if end < 0:
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
    """Every export in the trie ``data``, in trie order."""
    if not data:
        return ()
    found: list[TrieExport] = []
    visited: set[int] = set()
    stack: list[tuple[int, bytes]] = [(0, b"")]
    while stack:
        node, prefix = stack.pop()
        if node in visited:
            raise TrieError(f"node at {node:#x} is reached twice (a cycle or shared node)")
        if not 0 <= node < len(data):
            raise TrieError(f"node at {node:#x} lies past the end of the trie ({len(data)} bytes)")
        visited.add(node)
        terminal_size, position = read_uleb128(data, node)
        children_at = position + terminal_size
        if children_at >= len(data):
            raise TrieError(f"node at {node:#x} declares {terminal_size} bytes of export information past the end")
        if terminal_size:
            found.append(_terminal(data, position, children_at, prefix))
        count = data[children_at]
        position = children_at + 1
        children = []
        for _ in range(count):
            edge, position = _cstring(data, position)
            child, position = read_uleb128(data, position)
            if len(prefix) + len(edge) > _MAX_NAME:
                raise TrieError(f"a name longer than {_MAX_NAME} bytes at node {node:#x}")
            children.append((child, prefix + edge))
        stack.extend(reversed(children))
    return tuple(found)
