"""A signal that a worker thread takes still stops the main thread waiting for it
(interrupts.gather/result/completed wait in slices): the kernel gives a signal sent to the
process to any thread, and Python runs the handler only in the main thread.  A wait without a
timeout (executor.map) is not woken, and an endless make held ``abidiff --build`` forever."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

from tests.conftest import ROOT

_SCRIPT = textwrap.dedent(
    """
    import concurrent.futures, signal, sys, threading, time
    from abidiff import interrupts

    ready, ident = threading.Event(), []

    def work(_item):
        ident.append(threading.get_ident())
        ready.set()
        while not interrupts.stopping.is_set():  # like make.py's wait: stops when told
            time.sleep(0.01)
        return 1

    def send():
        ready.wait()
        main = threading.main_thread().ident
        while sys._current_frames()[main].f_code.co_name != "wait":  # the main thread waits now
            time.sleep(0.01)
        time.sleep(0.1)  # and is blocked inside its wait
        signal.pthread_kill(ident[0], signal.SIGINT)  # to the worker, not the main thread

    with interrupts.installed():
        threading.Thread(target=send, daemon=True).start()
        with concurrent.futures.ThreadPoolExecutor(1) as threads:
            try:
                if sys.argv[1] == "gather":
                    interrupts.gather(threads, work, [0])
                elif sys.argv[1] == "result":
                    interrupts.result(threads.submit(work, 0))
                elif sys.argv[1] == "completed":
                    list(interrupts.completed([threads.submit(work, 0)]))
                else:
                    list(threads.map(work, [0]))
            except KeyboardInterrupt:
                print("interrupted", flush=True)
    """
)


def _run(mode: str, timeout: float) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT, mode],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={"PYTHONPATH": f"{ROOT}/src", "PATH": "/usr/bin:/bin"},
    )
    return proc.stdout


@pytest.mark.parametrize("mode", ["gather", "result", "completed"])
def test_a_signal_a_worker_thread_takes_stops_the_main_thread(mode: str) -> None:
    started = time.monotonic()
    assert _run(mode, timeout=30) == "interrupted\n"
    assert time.monotonic() - started < 10


def test_a_wait_without_a_timeout_is_not_woken() -> None:
    """The hazard itself, so that the test above cannot pass for another reason."""
    with pytest.raises(subprocess.TimeoutExpired):
        _run("map", timeout=1.5)
