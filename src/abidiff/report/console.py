"""The human side of the output: a rich console on stderr, progress on long work."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any


def make_console(**kwargs: Any) -> Any:
    """A rich console whose reader going away (``abidiff ... 2>&1 | head``) raises
    BrokenPipeError for the CLI to handle, instead of rich's own ``SystemExit(1)``."""
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            raise BrokenPipeError

    kwargs.setdefault("highlight", False)
    return _Console(**kwargs)


def stderr_console(**kwargs: Any) -> Any:
    return make_console(stderr=True, **kwargs)


@contextlib.contextmanager
def progress(message: str) -> Iterator[None]:
    """A spinner on stderr while a long step runs, only when stderr is a terminal."""
    if not sys.stderr.isatty() or os.environ.get("ABIDIFF_NO_PROGRESS"):
        yield
        return
    console = stderr_console()
    with console.status(message, spinner="dots"):
        yield
