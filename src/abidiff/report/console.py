"""The human side of the output: a rich console on stderr, progress on long work."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any


def stderr_console(**kwargs: Any) -> Any:
    from rich.console import Console

    return Console(stderr=True, highlight=False, **kwargs)


@contextlib.contextmanager
def progress(message: str) -> Iterator[None]:
    """A spinner on stderr while a long step runs, only when stderr is a terminal."""
    if not sys.stderr.isatty() or os.environ.get("ABIDIFF_NO_PROGRESS"):
        yield
        return
    console = stderr_console()
    with console.status(message, spinner="dots"):
        yield
