"""``abidiff symbols FILE``: the exports of a binary as a table or as versioned JSON.

The JSON document is ``{"schema": "abidiff-symbols", "schema_version": 1, "binaries":
[...]}``, binaries and symbols sorted, keys sorted: the same file always gives the same
bytes.  Its JSON Schema, shipped as ``abidiff/schemas/symbols.schema.json``, is
:func:`symbols_schema` (``scripts/regen.py --check`` keeps the two equal).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from abidiff import codec
from abidiff.model import Binary, Symbol
from abidiff.report import jsonwriter

SCHEMA_NAME = "abidiff-symbols"
SCHEMA_VERSION = 1


def _symbol_key(symbol: Symbol) -> tuple[str, str, int]:
    return (symbol.name, symbol.version or "", symbol.ordinal or 0)


def sorted_binaries(binaries: Sequence[Binary]) -> tuple[Binary, ...]:
    """Binaries by (role, path, arch), each with its symbols sorted by name."""
    return tuple(
        sorted(
            (replace(binary, symbols=tuple(sorted(binary.symbols, key=_symbol_key))) for binary in binaries),
            key=lambda b: (str(b.role), b.path, b.arch),
        )
    )


def to_document(binaries: Sequence[Binary]) -> dict[str, Any]:
    return {
        "schema": SCHEMA_NAME,
        "schema_version": SCHEMA_VERSION,
        "binaries": codec.encode(sorted_binaries(binaries)),
    }


def render_symbols_json(binaries: Sequence[Binary]) -> str:
    """The versioned JSON document (ends with a newline)."""
    return jsonwriter.text(to_document(binaries))


def _describe(binary: Binary) -> str:
    endian = "little-endian" if binary.little_endian else "big-endian"
    parts = [f"{binary.path}: {binary.format} {binary.arch}, {binary.bits}-bit {endian}, {binary.role}"]
    if binary.soname:
        parts.append(f"  name: {binary.soname}")
    if binary.needed:
        parts.append(f"  needs: {', '.join(binary.needed)}")
    parts.append(f"  {len(binary.symbols)} exported symbol{'s' if len(binary.symbols) != 1 else ''}")
    return "\n".join(parts)


def _columns(binary: Binary) -> list[str]:
    """Only the columns some symbol of this binary fills."""
    columns = ["name", "kind", "binding"]
    for column in ("size", "version", "ordinal", "forwarder"):
        if any(getattr(symbol, column) is not None for symbol in binary.symbols):
            columns.append(column)
    return columns


def _table(columns: Sequence[str], rows: list[list[str]]) -> list[str]:
    """Columns three spaces apart under a rule, sizes and ordinals right-aligned; no wrapping,
    so a name is always one line (and 46,000 exports print in a blink)."""
    widths = [max(len(column), *(len(row[index]) for row in rows)) for index, column in enumerate(columns)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.rjust(width) if column in ("size", "ordinal") else cell.ljust(width)
            for column, cell, width in zip(columns, cells, widths, strict=True)
        ]
        return "   ".join(parts).rstrip()

    header = "   ".join(
        column.rjust(w) if column in ("size", "ordinal") else column.ljust(w)
        for column, w in zip(columns, widths, strict=True)
    )
    return [header.rstrip(), "─" * (sum(widths) + 3 * (len(widths) - 1)), *(line(row) for row in rows)]


def render_symbols_text(binaries: Sequence[Binary], *, width: int = 120) -> str:
    """A table per binary (one per slice of a universal file), as plain text.  ``width`` is
    kept for callers; the table never wraps."""
    del width
    lines: list[str] = []
    for number, binary in enumerate(sorted_binaries(binaries)):
        if number:
            lines.append("")
        lines.append(_describe(binary))
        if not binary.symbols:
            continue
        columns = _columns(binary)
        rows = [
            ["" if value is None else str(value) for value in (getattr(symbol, column) for column in columns)]
            for symbol in binary.symbols
        ]
        lines += _table(columns, rows)
    return "\n".join(lines) + "\n"


def symbols_schema() -> dict[str, Any]:
    """The JSON Schema of the ``abidiff symbols --format json`` document, from the model."""
    defs: dict[str, Any] = {}
    items = codec.schema_of(Binary, defs)
    body = {"required": ["binaries"], "properties": {"binaries": {"type": "array", "items": items}}}
    return codec.envelope_schema(SCHEMA_NAME, SCHEMA_VERSION, "abidiff symbols", body, defs)
