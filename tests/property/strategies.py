"""What the property tests of the readers share: mutations of a good fixture, and the one
property every reader keeps (it returns, or raises BinaryError, quickly; nothing else).

The settings keep each module to a few seconds: a modest number of examples, and a deadline
per example far above what a read takes (a few milliseconds) but far below a hang.
"""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from abidiff.binaries import read_import_table
from abidiff.errors import BinaryError

READER_SETTINGS = settings(
    max_examples=120,
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

INTERESTING = [0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x10000, 0x7FFFFFFF, 0xFFFFFFFF, 1 << 40, (1 << 63) - 1, (1 << 64) - 1]

Edit = tuple[str, int, int]  # (byte | u16 | u32 | u64, offset, value)


def values() -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from(INTERESTING), st.integers(min_value=0, max_value=(1 << 64) - 1))


def edits(max_offset: int = 1 << 16) -> st.SearchStrategy[list[Edit]]:
    return st.lists(
        st.tuples(st.sampled_from(["byte", "u16", "u32", "u64"]), st.integers(0, max_offset), values()),
        max_size=6,
    )


def mutate(data: bytes, changes: list[Edit], cut: int | None, *, little: bool = True) -> bytes:
    """``data`` with each edit written (most of them where headers and tables live: the
    first 4 KiB), then cut to ``cut`` bytes."""
    mutated = bytearray(data)
    for kind, offset, value in changes:
        position = offset % min(len(mutated), 4096 if offset % 3 else len(mutated))
        if kind == "byte":
            mutated[position] ^= (value & 0xFF) or 1
            continue
        width = {"u16": 2, "u32": 4, "u64": 8}[kind]
        if position + width <= len(mutated):
            mutated[position : position + width] = (value & ((1 << (8 * width)) - 1)).to_bytes(
                width, "little" if little else "big"
            )
    return bytes(mutated[:cut] if cut else mutated)


def cuts() -> st.SearchStrategy[int | None]:
    return st.one_of(st.none(), st.integers(min_value=1, max_value=1 << 16))


def reads_or_binary_error(data: bytes, suffix: str) -> None:
    """The property: reading ``data`` (its import table: the same read as its exports, and
    its imports) returns, or raises a one-line BinaryError naming the file; any other
    exception fails the test."""
    handle, path = tempfile.mkstemp(suffix=suffix)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        try:
            read_import_table(path)
        except BinaryError as error:
            assert path in error.message and "\n" not in error.message, error.message
            assert error.hint
    finally:
        os.unlink(path)
