"""SIGINT and SIGTERM as exceptions, deferred while C code calls back into Python.

An exception raised inside a ctypes callback (libclang's cursor visitor, its inclusion
walk) cannot propagate: ctypes prints it as "Exception ignored" with a traceback and the C
code goes on.  So while such a call runs, a signal is only noted; it is raised as soon as
the call returns.  Raised as exceptions, both signals unwind every ``finally``: temporary
trees are removed and no partial cache entry or output file is left.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any


class Terminated(BaseException):
    """SIGTERM (like KeyboardInterrupt for SIGINT): not an Exception, so nothing swallows it."""


_depth = 0
_pending: int | None = None
stopping = threading.Event()  # set by a signal: threads running a child (make) stop it too


def _raise_for(signum: int) -> None:
    if signum == signal.SIGTERM:
        raise Terminated
    raise KeyboardInterrupt


def _handler(signum: int, _frame: FrameType | None) -> None:
    global _pending
    stopping.set()
    if _depth:
        _pending = signum
        return
    _raise_for(signum)


Handler = Callable[[int, FrameType | None], Any] | int | None


@contextlib.contextmanager
def handling(handler: Handler, previous: dict[int, Handler] | None = None) -> Iterator[dict[int, Handler]]:
    """``handler`` for SIGINT and SIGTERM during the block, the handlers before restored at
    its end; ``previous`` (filled before the first signal can arrive) holds those."""
    saved: dict[int, Handler] = {} if previous is None else previous
    for number in (int(signal.SIGINT), int(signal.SIGTERM)):
        saved[number] = signal.signal(number, handler)
    try:
        yield saved
    finally:
        for number, restored in saved.items():
            signal.signal(number, restored)


@contextlib.contextmanager
def installed() -> Iterator[None]:
    """Handle SIGINT and SIGTERM as described above for the duration of the block."""
    stopping.clear()
    with handling(_handler):
        yield


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Note signals instead of raising them until the block ends (wrap calls into C code
    that calls back into Python)."""
    global _depth, _pending
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0 and _pending is not None:
            signum, _pending = _pending, None
            _raise_for(signum)
