"""SIGINT and SIGTERM as exceptions, deferred while C code calls back into Python.

An exception raised inside a ctypes callback (libclang's cursor visitor, its inclusion
walk) cannot propagate: ctypes prints it as "Exception ignored" with a traceback and the C
code goes on.  So while such a call runs, a signal is only noted; it is raised as soon as
the call returns.  Raised as exceptions, both signals unwind every ``finally``: temporary
trees are removed and no partial cache entry or output file is left.

The kernel gives a signal sent to the process to any of its threads; Python runs the handler
in the main thread, the next time that thread runs Python code.  A main thread blocked in a
wait without a timeout (``future.result()``, ``executor.map``) would not, when another thread
took the signal, until the wait ended: a ``make`` that never ends would hold the run forever.
So the main thread waits for other threads and worker processes in slices
(:func:`result`, :func:`gather`, :func:`completed`).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import concurrent.futures

_T = TypeVar("_T")
_I = TypeVar("_I")
_SLICE = 0.1  # seconds: how late a signal another thread took may stop a waiting main thread


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


def result(future: concurrent.futures.Future[_T]) -> _T:
    """``future.result()``, waited for in slices of :data:`_SLICE` (see the module docstring)."""
    import concurrent.futures  # here: the command line starts without it (and logging)

    while not future.done():
        concurrent.futures.wait((future,), timeout=_SLICE)
    return future.result()


def completed(futures: Iterable[concurrent.futures.Future[_T]]) -> Iterator[concurrent.futures.Future[_T]]:
    """``concurrent.futures.as_completed(futures)``, waited for in slices."""
    import concurrent.futures

    waiting = set(futures)
    while waiting:
        done, waiting = concurrent.futures.wait(waiting, timeout=_SLICE, return_when=concurrent.futures.FIRST_COMPLETED)
        yield from done


def gather(executor: concurrent.futures.Executor, fn: Callable[[_I], _T], items: Iterable[_I]) -> list[_T]:
    """``list(executor.map(fn, items))``, waited for in slices; what has not started when
    one fails (or a signal stops the wait) is cancelled."""
    futures = [executor.submit(fn, item) for item in items]
    try:
        return [result(future) for future in futures]
    finally:
        for future in futures:
            future.cancel()
