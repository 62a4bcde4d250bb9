"""Files read and written safely: what a path is, bounded reads of regular files only, and
a file replaced whole (:func:`replace_whole`: never seen half-written).

A snapshot or a cache entry can be anything a path can name: a FIFO (reading it blocks
until someone writes), ``/dev/zero`` (never ends), a sparse file of gigabytes, a directory.
:func:`read_regular` opens without blocking, checks on the open descriptor that it is a
regular file no larger than the caller's limit, and reads at most that much; anything else
is an :class:`UnreadableFile` whose ``reason`` says what the path is ("it is a FIFO (named
pipe), not a regular file", "permission denied"), for the caller to put after its own
message and a colon.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable

_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_CHUNK = 1 << 20


class UnreadableFile(ValueError):
    """A path that is not a readable regular file within the limit; ``reason`` follows a
    colon after the caller's message: "...: it is a directory", "...: permission denied"."""

    def __init__(self, reason: str, *, missing: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.missing = missing


_KINDS = (
    (stat.S_ISREG, "a regular file"),
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISLNK, "a symbolic link"),
)


def kind_of(mode: int) -> str:
    """What a file of ``st_mode`` is, as a noun phrase: "a FIFO (named pipe)"."""
    return next((noun for test, noun in _KINDS if test(mode)), "a special file")


def describe(path: str) -> str | None:
    """What ``path`` is ("a FIFO (named pipe)", "a symbolic link to a missing file"), or
    None when nothing exists there."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return None
    if stat.S_ISLNK(mode):
        try:
            return f"a symbolic link to {kind_of(os.stat(path).st_mode)}"
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return "a symbolic link in a loop"
            return "a symbolic link to a missing file"
    return kind_of(mode)


def _megabytes(size: int) -> str:
    return f"{size / (1 << 20):.0f} MiB" if size >= (1 << 20) else f"{size} bytes"


def read_regular(path: str, *, limit: int, follow_symlinks: bool = True) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them;
    :class:`UnreadableFile` for anything else (never blocks, never reads past ``limit``)."""
    flags = os.O_RDONLY | _NONBLOCK | _CLOEXEC | (0 if follow_symlinks else _NOFOLLOW)
    if not follow_symlinks and not _NOFOLLOW and os.path.islink(path):
        raise UnreadableFile("it is a symbolic link")
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _unopenable(path, exc, follow_symlinks) from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFile(f"it is {kind_of(info.st_mode)}, not a regular file")
        if info.st_size > limit:
            raise UnreadableFile(f"it is {_megabytes(info.st_size)}, larger than the limit of {_megabytes(limit)}")
        chunks = []
        total = 0
        while True:  # the file may grow while we read: never read past the limit
            chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise UnreadableFile(f"it is larger than the limit of {_megabytes(limit)}")
        return b"".join(chunks)
    except OSError as exc:
        raise UnreadableFile(_reason(exc)) from exc
    finally:
        os.close(fd)


def _unopenable(path: str, exc: OSError, follow_symlinks: bool) -> UnreadableFile:
    if exc.errno == errno.ENOENT:
        what = describe(path)  # a dangling symbolic link exists, yet cannot be opened
        if what is not None:
            return UnreadableFile(f"it is {what}")
        return UnreadableFile("no such file or directory", missing=True)
    if exc.errno == errno.ELOOP:
        what = describe(path)
        return UnreadableFile(f"it is {what}" if what else "it is a symbolic link")
    if exc.errno in (errno.ENXIO, errno.EOPNOTSUPP, getattr(errno, "ENOTSUP", errno.EOPNOTSUPP)):
        what = describe(path)  # a socket cannot be opened like a file
        if what is not None:
            return UnreadableFile(f"it is {what}, not a regular file")
    return UnreadableFile(_reason(exc))


def _reason(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ENOTDIR:
        return "a component of the path is not a directory"
    return exc.strerror.lower() if exc.strerror else str(exc)


def shown(path: str) -> str:
    """``path`` as text that is always valid UTF-8: bytes that are not (a directory named in
    Latin-1, read back with surrogate escapes) are written as ``\\xe9``."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def replace_whole(
    tmp: str, target: str, data: bytes, *, mode: int, prepare: Callable[[int], None] | None = None
) -> None:
    """Write ``data`` to the new file ``tmp`` (created with ``mode`` through the umask,
    ``prepare`` called on its descriptor first), fsync it and rename it over ``target``; a
    failure or an interrupt at any point removes ``tmp``.  The caller names ``tmp`` (in
    ``target``'s directory) before the call, so that nothing can leave it behind unnamed."""
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _CLOEXEC, mode)
        with os.fdopen(fd, "wb") as out:
            if prepare is not None:
                prepare(out.fileno())
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
