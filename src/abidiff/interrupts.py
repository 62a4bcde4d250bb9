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


@contextlib.contextmanager
def installed() -> Iterator[None]:
    """Handle SIGINT and SIGTERM as described above for the duration of the block."""
    previous: dict[int, Callable[[int, FrameType | None], object] | int | None] = {}
    stopping.clear()
    for number in (signal.SIGINT, signal.SIGTERM):
        previous[number] = signal.signal(number, _handler)
    try:
        yield
    finally:
        for restored, handler in previous.items():
            signal.signal(restored, handler)


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
