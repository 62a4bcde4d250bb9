"""A content-addressed cache of snapshots and of per-commit artifacts.

The key of an entry is a digest of every input that decides its content (for a git ref:
commit, target triple, pyconfig.h, snapshot schema version), so an entry is never stale:
it is right or absent.  Layout under the cache directory::

    CACHEDIR.TAG                      marks the directory for backup tools
    snapshots/<key>.json              abidiff.snapshot.dumps() text
    artifacts/<kind>/<key>/           configure output, a built libpython, ...
    logs/<kind>-<key>.log             the log of a failed configure/make, kept for the user

Every write is atomic: a snapshot is written to ``snapshots/tmp-<pid>-*`` in the same
directory, fsync'ed and renamed over its name; an artifact is built in
``artifacts/<kind>/tmp-<pid>-*`` and renamed to its key, and when another process won the
race, ours is discarded.  An interrupted run (SIGINT, or SIGTERM turned into an exception)
removes its temporaries in ``finally``; one killed outright (SIGKILL) leaves a ``tmp-*``
that no reader ever looks at, swept by :meth:`SnapshotCache.info` and
:meth:`SnapshotCache.clear` once it is an hour old and its process is gone.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from abidiff import snapshot as snapshot_io
from abidiff.errors import AbidiffError, SnapshotError
from abidiff.model import Snapshot

STALE_SECONDS = 3600.0  # a temporary older than this, whose process is gone, is garbage
_KEY = re.compile(r"^[0-9a-f]{16,128}$")
_KIND = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_TMP = re.compile(r"^tmp-(?P<pid>\d+)-")
_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by abidiff.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)


def default_cache_dir() -> str:
    """``$ABIDIFF_CACHE_DIR``, else ``${XDG_CACHE_HOME:-~/.cache}/abidiff``."""
    wanted = os.environ.get("ABIDIFF_CACHE_DIR")
    if wanted:
        return os.path.abspath(os.path.expanduser(wanted))
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = xdg if xdg and os.path.isabs(xdg) else os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "abidiff")


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheInfo:
    directory: str
    entries: int  # snapshots
    bytes: int  # everything under the directory that is ours
    trees: int  # artifact directories (configure outputs, built libraries)
    artifacts: tuple[tuple[str, int], ...] = ()  # (kind, count), sorted
    logs: int = 0
    swept: int = 0  # stale temporaries removed while taking stock


def _check_key(key: str) -> str:
    if not _KEY.match(key):
        raise ValueError(f"not a cache key (16 to 128 lowercase hex digits): {key!r}")
    return key


def _check_kind(kind: str) -> str:
    if not _KIND.match(kind):
        raise ValueError(f"not an artifact kind: {kind!r}")
    return kind


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _is_stale(path: str, name: str, now: float) -> bool:
    match = _TMP.match(name)
    if match is None:
        return False
    try:
        age = now - os.lstat(path).st_mtime
    except FileNotFoundError:
        return False
    return age > STALE_SECONDS and not _pid_alive(int(match["pid"]))


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _size(path: str) -> int:
    if os.path.islink(path) or not os.path.isdir(path):
        try:
            return os.lstat(path).st_size
        except FileNotFoundError:
            return 0
    total = 0
    for root, dirs, files in os.walk(path):
        for name in files + [item for item in dirs if os.path.islink(os.path.join(root, item))]:
            with contextlib.suppress(FileNotFoundError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def _fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot fsync a directory; the rename is still atomic
    finally:
        os.close(fd)


class SnapshotCache:
    """Snapshots by key, and per-key artifact directories, under one directory."""

    def __init__(self, directory: str | None = None) -> None:
        self.directory = os.path.abspath(os.path.expanduser(directory)) if directory else default_cache_dir()

    # --- layout ---------------------------------------------------------------------

    @property
    def _snapshots(self) -> str:
        return os.path.join(self.directory, "snapshots")

    @property
    def _artifacts(self) -> str:
        return os.path.join(self.directory, "artifacts")

    @property
    def _logs(self) -> str:
        return os.path.join(self.directory, "logs")

    def snapshot_path(self, key: str) -> str:
        return os.path.join(self._snapshots, f"{_check_key(key)}.json")

    def artifact_path(self, kind: str, key: str) -> str:
        return os.path.join(self._artifacts, _check_kind(kind), _check_key(key))

    def log_path(self, kind: str, key: str) -> str:
        return os.path.join(self._logs, f"{_check_kind(kind)}-{_check_key(key)}.log")

    def _ensure(self, directory: str) -> None:
        try:
            os.makedirs(directory, exist_ok=True)
            tag = os.path.join(self.directory, "CACHEDIR.TAG")
            if not os.path.exists(tag):
                self._write_file(self.directory, tag, _TAG.encode())
        except OSError as exc:
            raise AbidiffError(
                f"cannot write to the cache directory {self.directory}: {exc.strerror or exc}",
                hint="give a writable directory with --cache-dir or $ABIDIFF_CACHE_DIR, or run with --no-cache",
            ) from exc

    @staticmethod
    def _write_file(directory: str, path: str, data: bytes) -> None:
        """Write ``data`` to ``path`` atomically: temporary in ``directory``, fsync, rename.

        The temporary's name is chosen before it is created, so an interrupt at any point
        (even inside the ``open``) finds it in ``finally``.
        """
        tmp = _temporary_name(directory, ".part")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o644)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        _fsync_dir(directory)

    # --- snapshots ------------------------------------------------------------------

    def get(self, key: str) -> Snapshot | None:
        """The snapshot stored under ``key``, or None.  A corrupt or unreadable entry (a
        snapshot of another schema version included) is a miss, and is removed."""
        path = self.snapshot_path(key)
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError):
            self._discard(path)
            return None
        try:
            return snapshot_io.loads(text, source=path)
        except SnapshotError:
            self._discard(path)
            return None

    @staticmethod
    def _discard(path: str) -> None:
        with contextlib.suppress(OSError):
            os.unlink(path)

    def put(self, key: str, snapshot: Snapshot) -> str:
        """Store ``snapshot`` under ``key`` (atomically); its path."""
        path = self.snapshot_path(key)
        data = snapshot_io.dumps(snapshot).encode("utf-8")
        self._ensure(self._snapshots)
        try:
            self._write_file(self._snapshots, path, data)
        except OSError as exc:
            raise AbidiffError(
                f"cannot write the cache entry {path}: {exc.strerror or exc}",
                hint="free some space, give another directory with --cache-dir, or run with --no-cache",
            ) from exc
        return path

    # --- artifacts ------------------------------------------------------------------

    def find_artifact(self, kind: str, key: str) -> str | None:
        path = self.artifact_path(kind, key)
        return path if os.path.isdir(path) else None

    def artifact_dir(self, kind: str, key: str, populate: Callable[[str], None]) -> str:
        """The artifact directory of ``kind``/``key``, made by ``populate(tmp)`` when absent.

        ``populate`` fills a private temporary directory, which is then renamed into place
        in one step: readers see no directory or a complete one.  When another process
        finished first, its directory is kept and ours discarded.  If ``populate`` raises
        (or the run is interrupted), the temporary directory is removed and nothing is stored.
        """
        final = self.artifact_path(kind, key)
        if os.path.isdir(final):
            return final
        parent = os.path.dirname(final)
        self._ensure(parent)
        with self.temporary_dir(parent) as tmp:
            populate(tmp)
            try:
                os.rename(tmp, final)
            except OSError as exc:
                if not os.path.isdir(final):
                    raise AbidiffError(
                        f"cannot store {kind} output in the cache ({final}): {exc.strerror or exc}",
                        hint="check the cache directory (--cache-dir), or run with --no-cache",
                    ) from exc
                # another process stored it first: ours is removed on the way out
            else:
                _fsync_dir(parent)
        return final

    @contextlib.contextmanager
    def temporary_dir(self, parent: str | None = None) -> Iterator[str]:
        """A ``tmp-<pid>-*`` directory under ``parent`` (default: the cache's ``tmp``),
        removed on the way out unless it was renamed away."""
        parent = parent or os.path.join(self.directory, "tmp")
        self._ensure(parent)
        path = _temporary_name(parent, "")
        try:
            os.mkdir(path, 0o700)
            yield path
        finally:
            if os.path.lexists(path):
                shutil.rmtree(path, ignore_errors=True)

    def keep_log(self, kind: str, key: str, source: str) -> str:
        """Copy the log file ``source`` to ``logs/<kind>-<key>.log`` (atomically); its path."""
        path = self.log_path(kind, key)
        self._ensure(self._logs)
        with open(source, "rb") as handle:
            data = handle.read()
        self._write_file(self._logs, path, data)
        return path

    # --- housekeeping ---------------------------------------------------------------

    def _containers(self) -> list[str]:
        """The directories whose direct children are entries or temporaries."""
        found = [self._snapshots, self._logs, os.path.join(self.directory, "tmp")]
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            found += [os.path.join(self._artifacts, kind) for kind in sorted(os.listdir(self._artifacts))]
        return found

    def _sweep(self) -> int:
        now = time.time()
        swept = 0
        for container in self._containers():
            try:
                names = os.listdir(container)
            except (FileNotFoundError, NotADirectoryError):
                continue
            for name in names:
                path = os.path.join(container, name)
                if _is_stale(path, name, now):
                    _remove(path)
                    swept += 1
        return swept

    def info(self) -> CacheInfo:
        """What the cache holds (after sweeping stale temporaries)."""
        swept = self._sweep()
        entries = [name for name in _listdir(self._snapshots) if _KEY.match(name.removesuffix(".json"))]
        artifacts = []
        for kind in sorted(_listdir(self._artifacts)):
            count = sum(1 for name in _listdir(os.path.join(self._artifacts, kind)) if _KEY.match(name))
            artifacts.append((kind, count))
        logs = len(_listdir(self._logs))
        total = sum(
            _size(os.path.join(self.directory, name))
            for name in ("snapshots", "artifacts", "logs", "tmp", "CACHEDIR.TAG")
        )
        return CacheInfo(
            directory=self.directory,
            entries=len(entries),
            bytes=total,
            trees=sum(count for _, count in artifacts),
            artifacts=tuple(artifacts),
            logs=logs,
            swept=swept,
        )

    def clear(self) -> int:
        """Remove every entry, artifact and log (and stale temporaries); how many entries and
        artifacts were removed.  Only abidiff's own sub-directories are touched, so a cache
        directory set to a shared place loses nothing else.  Temporaries of running
        processes are left to them."""
        self._sweep()
        removed = 0
        now = time.time()
        for container in self._containers():
            for name in _listdir(container):
                path = os.path.join(container, name)
                if _TMP.match(name):
                    if _is_stale(path, name, now):
                        _remove(path)
                    continue
                if container == self._logs:
                    _remove(path)
                elif _KEY.match(name.removesuffix(".json")):
                    _remove(path)
                    removed += 1
        return removed


def _temporary_name(directory: str, suffix: str) -> str:
    return os.path.join(directory, f"tmp-{os.getpid()}-{secrets.token_hex(8)}{suffix}")


def _listdir(directory: str) -> list[str]:
    try:
        return os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []
