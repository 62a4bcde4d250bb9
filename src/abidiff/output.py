"""Where machine output goes: stdout, or a file written atomically (never a partial file).

``write_output(text, output, stdout, inputs=(...))`` is what every command calls with its
``-o`` value and the paths it read:

- ``None`` or ``-``: ``stdout``.  A write error other than a broken pipe (``/dev/full``)
  is a one-line :class:`~abidiff.errors.AbidiffError`; a broken pipe propagates, for
  ``main()`` to handle.
- a path that is the same file as one of ``inputs`` (same device and inode, so also through
  a symbolic or hard link): refused with :class:`OutputClash` before anything is written.
  Commands call :func:`check_output` first, to refuse before a long run.
- a symbolic link: the file it points to is written (the link stays a link).
- a device, FIFO or other non-regular file (``/dev/null``, ``/dev/stdout``): written in
  place; replacing it would destroy a device node.
- a regular file, or nothing yet: a temporary file in the same directory, fsync'ed, then
  renamed over the target.  A new file gets the mode the umask gives (0644 under umask 022);
  an existing file keeps its mode (and, where allowed, its owner and group).  An error or
  an interrupt at any point leaves the target as it was and no temporary file behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterable
from typing import TextIO

from abidiff import files
from abidiff.errors import AbidiffError, UsageError


class OutputClash(UsageError):
    """``-o`` names one of the command's inputs: writing would destroy it."""

    default_hint = "write the output to another file"


def _identity(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except (OSError, ValueError):  # absent, unreadable, or a name that is no path (a git ref)
        return None
    return info.st_dev, info.st_ino


def _regular_identity(path: str) -> tuple[int, int] | None:
    """The identity of ``path`` when it is a regular file, the only kind an output replaces
    (a device or FIFO is written in place: ``-o /dev/null`` never destroys an input)."""
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None
    return (info.st_dev, info.st_ino) if stat.S_ISREG(info.st_mode) else None


def check_output(output: str | None, inputs: Iterable[str] = ()) -> None:
    """Refuse (:class:`OutputClash`) an ``output`` that is the same file as one of
    ``inputs``; inputs that are not existing paths (git refs, program names) are skipped."""
    if output is None or output == "-":
        return
    target = _regular_identity(output)
    if target is None:
        return
    for name in inputs:
        if _identity(name) == target:
            same = "is" if os.path.abspath(name) == os.path.abspath(output) else "is the same file as"
            raise OutputClash(f"the output {output} {same} the input {name}: writing it would destroy the input")


def write_output(text: str, output: str | None, stdout: TextIO, *, inputs: Iterable[str] = ()) -> None:
    """Write ``text`` to ``output`` (``None`` or ``-``: ``stdout``), refusing an output that
    is one of ``inputs``."""
    if output is None or output == "-":
        try:
            stdout.write(text)
            stdout.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise AbidiffError(
                f"cannot write to the standard output: {_strerror(exc)}",
                hint="check where the output goes (a full disk?), or write it to a file with -o FILE",
            ) from exc
        return
    check_output(output, inputs)
    try:
        write_atomic(output, text)
    except OSError as exc:
        raise AbidiffError(
            f"cannot write {output}: {_strerror(exc)}", hint="check that the directory exists and is writable"
        ) from exc


def _strerror(exc: OSError) -> str:
    return exc.strerror.lower() if exc.strerror else str(exc)


def write_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` so that no reader ever sees a partial file (see the module
    docstring for symbolic links, devices and modes)."""
    try:
        existing: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        existing = None  # nothing there, or a symbolic link to a file yet to be made
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        if stat.S_ISDIR(existing.st_mode):
            raise IsADirectoryError(errno.EISDIR, "Is a directory", path)
        _write_in_place(path, text)  # a device or FIFO: replacing it would destroy it
        return
    target = os.path.realpath(path) if os.path.islink(path) else path
    if existing is not None and target != path and _identity(target) != (existing.st_dev, existing.st_ino):
        # a link the kernel follows but a path cannot name (/proc/self/fd/N of a deleted file)
        _write_in_place(path, text)
        return
    data = text.encode("utf-8")
    directory = os.path.dirname(os.path.abspath(target))
    # the name is chosen before the file is created: an interrupt anywhere finds it below
    tmp = os.path.join(directory, f".abidiff-{secrets.token_hex(8)}.tmp")
    kept = existing
    # mode 0666 through the umask, as any program creating a file; a replaced file's own mode
    prepare = None if kept is None else lambda fd: _keep_identity(fd, kept)
    files.replace_whole(tmp, target, data, mode=0o666, prepare=prepare)


def _write_in_place(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as out:
        out.write(text)


def _keep_identity(fd: int, existing: os.stat_result) -> None:
    """Give the new file the mode (and when allowed, the owner and group) of the one it
    replaces."""
    if hasattr(os, "fchown"):
        with contextlib.suppress(OSError):
            os.fchown(fd, existing.st_uid, existing.st_gid)
    if hasattr(os, "fchmod"):
        with contextlib.suppress(OSError):
            os.fchmod(fd, stat.S_IMODE(existing.st_mode))
