"""Where machine output goes: stdout, or a file written atomically (never a partial file)."""

from __future__ import annotations

from typing import TextIO

from abidiff.errors import AbidiffError
from abidiff.snapshot import write_atomic


def write_output(text: str, output: str | None, stdout: TextIO) -> None:
    """Write ``text`` to ``output`` (``None`` or ``-``: ``stdout``)."""
    if output is None or output == "-":
        stdout.write(text)
        stdout.flush()
        return
    try:
        write_atomic(output, text)
    except OSError as exc:
        raise AbidiffError(
            f"cannot write {output}: {exc.strerror}", hint="check that the directory exists and is writable"
        ) from exc
