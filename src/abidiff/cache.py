"""A content-addressed cache of snapshots and of per-commit artifacts.

The key of an entry is a digest of every input that decides its content (for a git ref:
commit, target triple, pyconfig.h, snapshot schema version), so an entry is never stale:
it is right or absent.  Layout under the cache directory::

    abidiff-cache                     the marker: "abidiff cache, layout 1"
    CACHEDIR.TAG                      marks the directory for backup tools (bford.info/cachedir)
    snapshots/<key>.json              abidiff.snapshot.dumps() text
    artifacts/<kind>/<key>/           configure output, a built libpython, ...
    logs/<kind>-<key>.log             the log of a failed configure/make, kept for the user
    tmp/tmp-<pid>-<hex>/              the private work trees of running processes

Both marker files are written whenever abidiff writes to the directory.  ``cache clear``
removes only what has this layout's names (a key of 16 to 128 lowercase hex digits, an
artifact kind, a temporary of a process that is gone), never following a symbolic link out
of the directory; it refuses a directory without the marker unless the directory is empty,
or holds exactly what an abidiff before the marker wrote: our ``CACHEDIR.TAG``, word for
word, and nothing but the names above (such a cache is adopted: the marker is added).

A cache entry that is not what abidiff wrote (a directory, a FIFO, a symbolic link, a
truncated or corrupt file, a snapshot of another schema version) is a miss: it is removed
and rebuilt, and never read past :data:`abidiff.snapshot.MAX_SNAPSHOT_BYTES`.

Every write is atomic: a snapshot is written to ``snapshots/tmp-<pid>-*`` in the same
directory, fsync'ed and renamed over its name; an artifact is built in
``artifacts/<kind>/tmp-<pid>-*`` and renamed to its key, and when another process won the
race, ours is discarded.  An interrupted run (SIGINT, or SIGTERM turned into an exception)
removes its temporaries in ``finally``; one killed outright (SIGKILL) leaves a ``tmp-*``
that no reader ever looks at, swept by :meth:`SnapshotCache.info` and
:meth:`SnapshotCache.clear` once it is an hour old and its process is gone.

Where the cache is by default: :mod:`abidiff.cachedir`.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from abidiff import files
from abidiff import snapshot as snapshot_io
from abidiff.cachedir import default_cache_dir, expand, session_dir
from abidiff.errors import AbidiffError, SnapshotError
from abidiff.model import Snapshot, StrEnum

STALE_SECONDS = 3600.0  # a temporary older than this, whose process is gone, is garbage
LAYOUT = 1  # the version of the layout above, written in the marker
MARKER = "abidiff-cache"
_MARKER_TEXT = (
    f"abidiff cache, layout {LAYOUT}\n"
    "# This directory is a cache made by abidiff. 'abidiff cache clear' removes what abidiff\n"
    "# wrote here (and nothing else); deleting the whole directory is safe too.\n"
)
_MARKER_LINE = re.compile(r"^abidiff cache, layout ([0-9]{1,6})$")
_KEY = re.compile(r"^[0-9a-f]{16,128}$")
_KIND = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_SNAPSHOT_NAME = re.compile(r"^[0-9a-f]{16,128}\.json$")
_LOG_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}-[0-9a-f]{16,128}\.log$")
_TMP = re.compile(r"^tmp-(?P<pid>[0-9]{1,10})-[0-9a-f]{16}(?:\.part)?$")
_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by abidiff.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)
_LEGACY_NAMES = frozenset({"CACHEDIR.TAG", "snapshots", "artifacts", "logs", "tmp"})
_CONTAINERS = ("snapshots", "logs", "tmp")


class CacheState(StrEnum):
    """What a cache directory is, as :meth:`SnapshotCache.state` finds it."""

    ABSENT = "absent"  # nothing there yet
    EMPTY = "empty"  # an empty directory: safe to use
    OURS = "ours"  # the marker of this layout (or a cache from before the marker, adopted)
    LEGACY = "legacy"  # exactly what an abidiff before the marker wrote
    NEWER = "newer"  # the marker of a later layout: a newer abidiff's
    FOREIGN = "foreign"  # a directory abidiff did not make
    NOT_A_DIRECTORY = "not-a-directory"


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
    except (OSError, OverflowError):  # OverflowError: no process has such a number
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
    """Remove ``path`` whatever it is, never following a symbolic link."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(mode):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _is_real_dir(path: str) -> bool:
    """A directory, and not a symbolic link to one."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _size(path: str) -> int:
    if not _is_real_dir(path):
        try:
            return os.lstat(path).st_size
        except FileNotFoundError:
            return 0
    total = 0
    for root, dirs, names in os.walk(path):
        for name in names + [item for item in dirs if os.path.islink(os.path.join(root, item))]:
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


def _read_marker(path: str) -> int | None:
    """The layout written in the marker file ``path``; None when it is not our marker."""
    try:
        data = files.read_regular(path, limit=4096, follow_symlinks=False)
    except files.UnreadableFile:
        return None
    first = data.split(b"\n", 1)[0].decode("ascii", "replace")
    match = _MARKER_LINE.match(first)
    return int(match.group(1)) if match else None


class SnapshotCache:
    """Snapshots by key, and per-key artifact directories, under one directory.

    ``SnapshotCache(None)`` is the default directory (:func:`default_cache_dir`); when there
    is none, the cache is not ``persistent``: a private temporary directory, removed at exit.
    """

    def __init__(self, directory: str | None = None) -> None:
        chosen = expand(directory) if directory else default_cache_dir()
        self.persistent = chosen is not None
        self.directory = chosen if chosen is not None else session_dir()
        self._ours = not self.persistent  # the private directory is ours from the start

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

    # --- what the directory is ------------------------------------------------------

    def state(self) -> CacheState:
        """What the cache directory is: see :class:`CacheState`."""
        if self._ours:
            return CacheState.OURS
        if not os.path.lexists(self.directory):
            return CacheState.ABSENT
        if not os.path.isdir(self.directory):
            return CacheState.NOT_A_DIRECTORY
        layout = _read_marker(os.path.join(self.directory, MARKER))
        if layout is not None:
            if layout > LAYOUT:
                return CacheState.NEWER
            self._ours = layout == LAYOUT
            return CacheState.OURS if self._ours else CacheState.FOREIGN
        try:
            names = os.listdir(self.directory)
        except OSError:
            return CacheState.FOREIGN
        if not names:
            return CacheState.EMPTY
        if self._is_legacy(names):
            return CacheState.LEGACY
        return CacheState.FOREIGN

    def _is_legacy(self, names: list[str]) -> bool:
        """Exactly what abidiff wrote before the marker: its CACHEDIR.TAG word for word, and
        only its own names, each a real directory (or the tag, or a temporary)."""
        if "CACHEDIR.TAG" not in names:
            return False
        for name in names:
            if name == "CACHEDIR.TAG" or _TMP.match(name):
                continue
            if name not in _LEGACY_NAMES or not _is_real_dir(os.path.join(self.directory, name)):
                return False
        try:
            tag = files.read_regular(os.path.join(self.directory, "CACHEDIR.TAG"), limit=4096, follow_symlinks=False)
        except files.UnreadableFile:
            return False
        return tag == _TAG.encode()

    def _require_ours(self, action: str) -> bool:
        """For ``cache info`` and ``cache clear``: True when the directory is a cache (ours,
        adopted from before the marker), False when there is nothing to look at; a
        one-line error for anything else."""
        state = self.state()
        if state in (CacheState.ABSENT, CacheState.EMPTY):
            return False
        if state == CacheState.LEGACY:
            with contextlib.suppress(OSError, AbidiffError):
                self._mark()
            return True
        if state == CacheState.OURS:
            return True
        hint = "give the directory abidiff caches in with --cache-dir (default: $ABIDIFF_CACHE_DIR or ~/.cache/abidiff)"
        if state == CacheState.NOT_A_DIRECTORY:
            what = files.describe(self.directory) or "not a directory"
            raise AbidiffError(f"cannot {action} the cache {self.directory}: it is {what}, not a directory", hint=hint)
        if state == CacheState.NEWER:
            raise AbidiffError(
                f"cannot {action} the cache {self.directory}: a newer abidiff made it (its {MARKER} file names a "
                f"layout after {LAYOUT})",
                hint="use the abidiff that made it, or delete the directory yourself",
            )
        raise AbidiffError(
            f"cannot {action} {self.directory}: it is not an abidiff cache (no {MARKER} marker file) and not empty",
            hint=hint + "; abidiff only clears a directory it made",
        )

    def _mark(self) -> None:
        """Write the marker files (both are rewritten only when absent or wrong)."""
        marker = os.path.join(self.directory, MARKER)
        if _read_marker(marker) != LAYOUT:
            self._write_file(self.directory, marker, _MARKER_TEXT.encode())
        tag = os.path.join(self.directory, "CACHEDIR.TAG")
        if not os.path.isfile(tag):
            self._write_file(self.directory, tag, _TAG.encode())
        self._ours = True

    def _ensure(self, directory: str) -> None:
        try:
            if not self._ours:
                state = self.state()
                if state == CacheState.NEWER:
                    raise AbidiffError(
                        f"cannot write to the cache directory {self.directory}: a newer abidiff made it",
                        hint="give another directory with --cache-dir or $ABIDIFF_CACHE_DIR, or run with --no-cache",
                    )
                os.makedirs(self.directory, exist_ok=True)
                self._mark()
            os.makedirs(directory, exist_ok=True)
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
        files.replace_whole(_temporary_name(directory, ".part"), path, data, mode=0o644)
        _fsync_dir(directory)

    # --- snapshots ------------------------------------------------------------------

    def get(self, key: str) -> Snapshot | None:
        """The snapshot stored under ``key``, or None.  An entry that is not a snapshot
        abidiff wrote (corrupt, truncated, of another schema version, a directory, a FIFO,
        a symbolic link, too large) is a miss, and is removed.  Never blocks on the entry,
        never reads more than :data:`abidiff.snapshot.MAX_SNAPSHOT_BYTES` of it."""
        path = self.snapshot_path(key)
        try:
            data = files.read_regular(path, limit=snapshot_io.MAX_SNAPSHOT_BYTES, follow_symlinks=False)
        except files.UnreadableFile as exc:
            if not exc.missing:
                self._discard(path)
            return None
        try:
            return snapshot_io.loads(data.decode("utf-8"), source=path)
        except (UnicodeDecodeError, SnapshotError):
            self._discard(path)
            return None

    def _discard(self, path: str) -> None:
        """Remove a bad entry, in a directory that is ours only."""
        if self._ours or self.state() == CacheState.OURS:
            with contextlib.suppress(OSError):
                _remove(path)

    def put(self, key: str, snapshot: Snapshot) -> str:
        """Store ``snapshot`` under ``key`` (atomically), replacing whatever is there; its path."""
        path = self.snapshot_path(key)
        data = snapshot_io.dumps(snapshot).encode("utf-8")
        self._ensure(self._snapshots)
        try:
            if os.path.lexists(path) and not stat.S_ISREG(os.lstat(path).st_mode):
                _remove(path)  # a directory cannot be renamed over: make room
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
        return path if _is_real_dir(path) else None

    def artifact_dir(self, kind: str, key: str, populate: Callable[[str], None]) -> str:
        """The artifact directory of ``kind``/``key``, made by ``populate(tmp)`` when absent.

        ``populate`` fills a private temporary directory, which is then renamed into place
        in one step: readers see no directory or a complete one.  When another process
        finished first, its directory is kept and ours discarded.  If ``populate`` raises
        (or the run is interrupted), the temporary directory is removed and nothing is stored.
        Something else under the artifact's name (a file, a symbolic link) is replaced.
        """
        final = self.artifact_path(kind, key)
        if _is_real_dir(final):
            return final
        parent = os.path.dirname(final)
        self._ensure(parent)
        if os.path.lexists(final):
            _remove(final)
        with self.temporary_dir(parent) as tmp:
            populate(tmp)
            try:
                os.rename(tmp, final)
            except OSError as exc:
                if not _is_real_dir(final):
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
        """The real directories (no symbolic links) whose direct children are entries or
        temporaries: the layout's, and one per artifact kind."""
        found = [os.path.join(self.directory, name) for name in _CONTAINERS]
        if _is_real_dir(self._artifacts):
            found += [
                os.path.join(self._artifacts, kind) for kind in sorted(_listdir(self._artifacts)) if _KIND.match(kind)
            ]
        # the directory itself may be a link (~/.cache/abidiff -> /big/disk): it was named
        root = [self.directory] if os.path.isdir(self.directory) else []
        return root + [path for path in found if _is_real_dir(path)]

    def _sweep(self) -> int:
        now = time.time()
        swept = 0
        for container in self._containers():
            for name in _listdir(container):
                path = os.path.join(container, name)
                if _is_stale(path, name, now):
                    _remove(path)
                    swept += 1
        return swept

    def info(self) -> CacheInfo:
        """What the cache holds (after sweeping stale temporaries); a one-line error for a
        directory that is not a cache."""
        if not self._require_ours("show"):
            return CacheInfo(directory=self.directory, entries=0, bytes=0, trees=0)
        swept = self._sweep()
        entries = [name for name in _listdir(self._snapshots) if _SNAPSHOT_NAME.match(name)]
        artifacts = []
        if _is_real_dir(self._artifacts):
            for kind in sorted(_listdir(self._artifacts)):
                if _KIND.match(kind) and _is_real_dir(os.path.join(self._artifacts, kind)):
                    count = sum(1 for name in _listdir(os.path.join(self._artifacts, kind)) if _KEY.match(name))
                    artifacts.append((kind, count))
        logs = sum(1 for name in _listdir(self._logs) if _LOG_NAME.match(name))
        total = sum(
            _size(os.path.join(self.directory, name))
            for name in ("snapshots", "artifacts", "logs", "tmp", "CACHEDIR.TAG", MARKER)
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
        artifacts were removed.  Only names of this layout are touched, so a cache
        directory set to a shared place loses nothing else; a directory that is not a
        cache is refused (see :meth:`_require_ours`).  Temporaries of running processes are
        left to them."""
        if not self._require_ours("clear"):
            return 0
        removed = 0
        now = time.time()
        for container in self._containers():
            for name in _listdir(container):
                path = os.path.join(container, name)
                if _TMP.match(name):
                    if _is_stale(path, name, now):
                        _remove(path)
                    continue
                if container == self.directory or container == os.path.join(self.directory, "tmp"):
                    continue  # the markers, and foreign names
                if container == self._logs:
                    if _LOG_NAME.match(name):
                        _remove(path)
                elif container == self._snapshots:
                    if _SNAPSHOT_NAME.match(name):
                        _remove(path)
                        removed += 1
                elif _KEY.match(name):  # artifacts/<kind>/<key>
                    _remove(path)
                    removed += 1
        return removed


def _temporary_name(directory: str, suffix: str) -> str:
    return os.path.join(directory, f"tmp-{os.getpid()}-{secrets.token_hex(8)}{suffix}")


def _listdir(directory: str) -> list[str]:
    try:
        return os.listdir(directory)
    except OSError:
        return []


__all__ = ["LAYOUT", "MARKER", "STALE_SECONDS", "CacheInfo", "CacheState", "SnapshotCache", "default_cache_dir"]
