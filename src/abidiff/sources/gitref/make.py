"""``./configure`` and ``make`` of a private copy of a CPython tree, logged.

Both run the tree's own code (that is what configuring and building mean): only on a copy
abidiff made, never in the user's checkout.  Their output goes to a log; progress (the step,
the seconds elapsed, what is being compiled) goes to a callback, at the start, every
:data:`HEARTBEAT` seconds and at the end, so that whoever draws the screen decides how to
show it.  An interrupt (Ctrl-C, SIGTERM, also while another thread waits) stops the child and
its whole process group.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from abidiff import interrupts
from abidiff.errors import BuildSpecError, ToolchainError
from abidiff.sources.gitref.pyconfig import CONFIGURE_ARGS

Progress = Callable[[str], None]
LOG_TAIL_LINES = 20
HEARTBEAT = 30.0  # seconds between two progress notes of a long step
_POLL = 0.25
_MAKE_LOCK = threading.Lock()  # one make at a time: each already keeps every core busy
_PRINT_RULE = "abidiff-print-%:\n\t@:$(info $($*))\n"
_OBJECT = re.compile(r"\s-o\s+(\S+)")
_MAKE_ENV = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEFILES", "MAKEOVERRIDES")


def tail(path: str, lines: int = LOG_TAIL_LINES) -> tuple[str, ...]:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return ()
    return tuple(line.rstrip() for line in text.splitlines()[-lines:])


def _current(log: str) -> str:
    """What the log says is happening: the object being compiled, or its last line."""
    last = tail(log, 1)
    if not last:
        return ""
    found = _OBJECT.search(last[0])
    return found.group(1) if found else last[0][:80]


def _env() -> dict[str, str]:
    """Our environment without an outer make's flags (its jobserver is not ours)."""
    return {key: value for key, value in os.environ.items() if key not in _MAKE_ENV}


def run_logged(command: Sequence[str], *, cwd: str, log: str, label: str, progress: Progress | None = None) -> int:
    """Run ``command`` with its output appended to ``log``; its exit status."""
    _check_stopping()
    with open(log, "ab") as out:
        try:
            proc = subprocess.Popen(
                list(command),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=_env(),
                start_new_session=True,  # its own process group: stopped as a whole
            )
        except OSError as exc:
            raise ToolchainError(
                f"{label} could not start: {exc.strerror or exc}",
                hint="check that the tree is complete and that a shell and make are installed",
            ) from exc
        try:
            return _wait(proc, log, label, progress)
        except BaseException:
            _stop(proc)
            raise


def _wait(proc: subprocess.Popen[bytes], log: str, label: str, progress: Progress | None) -> int:
    started = time.monotonic()
    due = started + HEARTBEAT
    if progress is not None:
        progress(f"{label} …")
    while True:
        try:
            status = proc.wait(timeout=_POLL)
            break
        except subprocess.TimeoutExpired:
            pass
        _check_stopping()
        now = time.monotonic()
        if progress is not None and now >= due:
            progress(f"{label}: {now - started:.0f} s, {_current(log)}")
            due += HEARTBEAT
    if progress is not None:
        outcome = "done" if status == 0 else f"failed (exit status {status})"
        progress(f"{label}: {outcome} in {time.monotonic() - started:.0f} s")
    return status


def _check_stopping() -> None:
    """The main thread was interrupted (SIGINT, SIGTERM): this thread stops too."""
    if interrupts.stopping.is_set():
        raise KeyboardInterrupt


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop ``proc`` and its process group: SIGTERM, then SIGKILL to whatever is left (a
    compiler the dying make left behind)."""
    import signal

    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            break
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def failed(what: str, status: int, log: str, hint: str) -> ToolchainError:
    """The error of a failed step: the log's last line in the message, its tail in details."""
    lines = tail(log)
    last = lines[-1] if lines else "no output"
    return ToolchainError(
        f"{what} failed (exit status {status}): {last} (log: {log})",
        details=(f"the last {len(lines)} lines of {log}:", *lines),
        hint=hint,
    )


# --- ./configure ----------------------------------------------------------------------------


def run_configure(
    tree: str, *, log: str, name: str, args: Sequence[str] = CONFIGURE_ARGS, progress: Progress | None = None
) -> str:
    """Run ``./configure ARGS`` in ``tree`` (the tree of ``name``, for messages); the path
    of the ``pyconfig.h`` it wrote."""
    if not os.path.isfile(os.path.join(tree, "configure")):
        raise BuildSpecError(
            f"{name} has no configure script: it is not a CPython source tree",
            hint="give the pyconfig.h with --pyconfig, or a configured build with --config-from",
        )
    what = " ".join(("./configure", *args))
    command = ["/bin/sh", "./configure", *args]
    status = run_logged(command, cwd=tree, log=log, label=f"{name}: {what}", progress=progress)
    if status != 0:
        hint = "read the log; give a pyconfig.h with --pyconfig to skip configure"
        raise failed(f"{what} of {name}", status, log, hint)
    produced = os.path.join(tree, "pyconfig.h")
    if not os.path.isfile(produced):
        raise ToolchainError(f"{what} of {name} succeeded but wrote no pyconfig.h", details=tail(log))
    return produced


# --- make -------------------------------------------------------------------------------------


def need_toolchain(make: str = "make") -> None:
    """A C compiler and make, or :class:`ToolchainError` before anything runs."""
    wanted = os.environ.get("CC", "").split()
    candidates = [wanted[0]] if wanted else ["cc", "gcc", "clang"]
    if not any(shutil.which(name) for name in candidates):
        raise ToolchainError(
            "no C compiler to build libpython: tried " + ", ".join(candidates) + " on PATH",
            hint="install one (Debian: apt-get install build-essential), or set CC; or leave out --build",
        )
    if shutil.which(make) is None:
        raise ToolchainError(f"'{make}' is not on PATH: building libpython needs it", hint="apt-get install make")


def make_variables(tree: str, names: Sequence[str], *, make: str = "make") -> dict[str, str]:
    """The values of ``names`` in the configured ``tree/Makefile``, as make expands them
    (``libpython$(LDVERSION).so`` is ``libpython3.13.so``): make is asked, with a rule of
    ours that prints a variable, added after the tree's Makefile."""
    rule = os.path.join(tree, ".abidiff-print.mk")
    with open(rule, "w", encoding="ascii") as out:
        out.write(_PRINT_RULE)
    command = [make, "-s", "--no-print-directory", "-f", "Makefile", "-f", rule]
    command += [f"abidiff-print-{name}" for name in names]
    try:
        proc = subprocess.run(
            command, cwd=tree, stdin=subprocess.DEVNULL, capture_output=True, env=_env(), timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolchainError(f"make could not tell the Makefile's variables: {exc}") from exc
    values = proc.stdout.decode("utf-8", "replace").splitlines()
    if proc.returncode != 0 or len(values) != len(names):
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ToolchainError(
            f"make could not tell {', '.join(names)} of {tree}/Makefile: {message[-1] if message else 'no output'}"
        )
    return {name: value.strip() for name, value in zip(names, values, strict=True)}


def _library_names(tree: str, make: str) -> tuple[str, str]:
    """(the make target of the shared libpython, the name of the file it makes)."""
    found = make_variables(tree, ("LDLIBRARY", "INSTSONAME"), make=make)
    target, soname = found["LDLIBRARY"], found["INSTSONAME"] or found["LDLIBRARY"]
    for name in (target, soname):
        if not name or os.path.basename(name) != name or name.startswith("."):
            raise ToolchainError(f"the Makefile of {tree} names no library abidiff can build ({name!r})")
    if not target.endswith((".so", ".dylib")) and ".so." not in target:
        raise ToolchainError(f"configure --enable-shared chose no shared library (LDLIBRARY={target!r})")
    return target, soname


def _locked_make() -> None:
    while not _MAKE_LOCK.acquire(timeout=_POLL):
        _check_stopping()
    if interrupts.stopping.is_set():
        _MAKE_LOCK.release()
        raise KeyboardInterrupt


@dataclass(frozen=True, slots=True, kw_only=True)
class BuiltLibrary:
    library: str  # out/libpython3.13.so.1.0
    pyconfig: str  # out/pyconfig.h: what configure wrote for that build
    log: str  # out/build.log


def build_libpython(
    tree: str, out: str, *, jobs: int, name: str, progress: Progress | None = None, make: str = "make"
) -> BuiltLibrary:
    """Configure ``tree`` (the tree of ``name``) with ``--enable-shared``, make only the
    shared libpython (``make -jJOBS LDLIBRARY``), and copy the library, ``pyconfig.h`` and
    the log into ``out``."""
    need_toolchain(make)
    log = os.path.join(out, "build.log")
    produced = run_configure(tree, log=log, name=name, progress=progress)
    target, soname = _library_names(tree, make)
    command = [make, f"-j{max(1, jobs)}", target]
    _locked_make()
    try:
        status = run_logged(command, cwd=tree, log=log, label=f"{name}: {' '.join(command)}", progress=progress)
    finally:
        _MAKE_LOCK.release()
    if status != 0:
        raise failed(f"make {target} of {name}", status, log, "read the log")
    built = os.path.realpath(os.path.join(tree, target))
    if not os.path.isfile(built) or not built.startswith(os.path.realpath(tree) + os.sep):
        raise ToolchainError(f"make {target} of {name} succeeded but made no {target}", details=tail(log))
    shutil.copyfile(built, os.path.join(out, soname))
    shutil.copyfile(produced, os.path.join(out, "pyconfig.h"))
    return BuiltLibrary(library=os.path.join(out, soname), pyconfig=os.path.join(out, "pyconfig.h"), log=log)
