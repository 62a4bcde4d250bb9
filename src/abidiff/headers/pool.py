"""The process pool that parses header configurations, and how it is stopped.

One pool of parse workers (one per core) serves every :func:`abidiff.headers.read_headers`
call of a run (:func:`shared_pool`), or one call alone (:func:`pool`).  A libclang parse
cannot be interrupted from Python, so on SIGINT or SIGTERM the parent stops the workers
(SIGTERM, which they do not defer: see :func:`_worker_init`) instead of waiting for the
jobs they run and the jobs still queued: a run stops within a fraction of a second.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

from abidiff import interrupts
from abidiff.headers import clangext

_shared: concurrent.futures.ProcessPoolExecutor | None = None


def jobs() -> int:
    """How many parse workers: ``ABIDIFF_JOBS``, else one per core."""
    wanted = os.environ.get("ABIDIFF_JOBS")
    if wanted and wanted.isdigit() and int(wanted) > 0:
        return int(wanted)
    return os.cpu_count() or 1


def _worker_init() -> None:
    # the parent decides: a Ctrl-C reaches the whole process group, but only the parent
    # acts on it (it stops the workers); SIGTERM, the parent's way to stop a worker, must
    # not wait for the end of a parse as the parent's own handler would make it
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _new_pool(workers: int) -> concurrent.futures.ProcessPoolExecutor:
    clangext.cindex()  # load libclang once, before the fork: every worker inherits it
    context = multiprocessing.get_context("fork") if hasattr(os, "fork") else None
    return concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_init)


def _terminate(pool: concurrent.futures.ProcessPoolExecutor) -> list[Any]:
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        if process.is_alive():
            process.terminate()
    return processes


def stop(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """Stop the workers now, drop the queued jobs, and wait until every worker is gone (so
    that none writes into a temporary directory being removed)."""
    for process in _terminate(pool):
        process.join(timeout=5)
    pool.shutdown(wait=True, cancel_futures=True)


def _interrupted(exc: BaseException) -> bool:
    return not isinstance(exc, Exception)  # KeyboardInterrupt, interrupts.Terminated, SystemExit


@contextlib.contextmanager
def pool(workers: int) -> Iterator[concurrent.futures.ProcessPoolExecutor]:
    """The shared pool when one is open (see :func:`shared_pool`), else a pool of our own,
    stopped at once when the block fails."""
    if _shared is not None:
        shared = _shared
        try:
            yield shared
        except BaseException as exc:
            if _interrupted(exc):
                stop(shared)
            raise
        return
    own = _new_pool(workers)
    try:
        yield own
    except BaseException:
        stop(own)
        raise
    own.shutdown(wait=True)


def _ready(_number: int) -> int:
    return os.getpid()


@contextlib.contextmanager
def _stopping_on_signals(target: concurrent.futures.ProcessPoolExecutor) -> Iterator[None]:
    """While the block runs, SIGINT and SIGTERM first stop ``target``'s workers, then do
    what they did before.  The threads waiting for the pool's jobs then fail at once
    (broken pool) instead of waiting for parses that nothing can interrupt."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, interrupts.Handler] = {}

    def on_signal(signum: int, frame: FrameType | None) -> None:
        handler = previous.get(signum)
        if handler == signal.SIG_IGN:
            return
        _terminate(target)
        if callable(handler):
            handler(signum, frame)
        elif signum == signal.SIGINT:
            raise KeyboardInterrupt
        elif handler == signal.SIG_DFL:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    with interrupts.handling(on_signal, previous):
        yield


@contextlib.contextmanager
def shared_pool() -> Iterator[None]:
    """One pool of parse workers for every :func:`read_headers` call of the block, also
    from other threads: ``abidiff OLD NEW`` parses both builds' configurations at once, on
    every core, with one set of workers.  The workers are all started here, in the calling
    thread, so that no thread forks later."""
    global _shared
    workers = jobs()
    if workers <= 1 or _shared is not None:
        yield
        return
    shared = _new_pool(workers)
    try:
        with _stopping_on_signals(shared):
            started = [shared.submit(_ready, number) for number in range(workers)]
            for future in started:
                interrupts.result(future)
            _shared = shared
            yield
    except BaseException:
        _shared = None
        stop(shared)
        raise
    _shared = None
    shared.shutdown(wait=True, cancel_futures=True)
