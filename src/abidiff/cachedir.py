"""Where the snapshot cache lives: the XDG base directory specification, and no cache at all
rather than one in ``/``.

The directory is ``$ABIDIFF_CACHE_DIR``, else ``$XDG_CACHE_HOME/abidiff`` when that is an
absolute path (the specification says a relative one is invalid, to be ignored), else
``~/.cache/abidiff`` when the home directory is usable: absolute, existing, not the root of a
file system (``HOME=`` used to put the cache in ``/.cache``).  With none of them, snapshots
are not kept across runs: the cache lives in a private temporary directory removed at exit
(:func:`session_dir`), and a warning says so once.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import sys
import tempfile


def _usable_home() -> str | None:
    """The home directory when it can hold a cache: absolute, existing, not ``/``."""
    home = os.environ.get("HOME")
    if home is None:
        try:
            home = os.path.expanduser("~")  # the password database (POSIX), USERPROFILE (Windows)
        except (KeyError, ImportError):  # pragma: no cover - a uid without a passwd entry
            return None
        if home == "~":
            return None
    if not home or not os.path.isabs(home):
        return None
    home = os.path.abspath(home)
    if os.path.dirname(home) == home:  # the root of a file system is nobody's home
        return None
    return home if os.path.isdir(home) else None


def expand(path: str) -> str:
    """``path`` made absolute; a leading ``~`` is the usable home directory (see
    :func:`default_cache_dir`)."""
    if path == "~" or path.startswith(("~/", "~" + os.sep)):
        home = _usable_home()
        if home is not None:
            path = home + path[1:]
    elif path.startswith("~"):
        path = os.path.expanduser(path)  # ~user
    return os.path.abspath(path)


def default_cache_dir() -> str | None:
    """``$ABIDIFF_CACHE_DIR``, else ``$XDG_CACHE_HOME/abidiff`` (an absolute path only, as the
    XDG base directory specification says), else ``~/.cache/abidiff`` when the home
    directory is usable; None when there is no place for a persistent cache."""
    wanted = os.environ.get("ABIDIFF_CACHE_DIR")
    if wanted:
        return expand(wanted)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return os.path.join(xdg, "abidiff")
    home = _usable_home()
    return os.path.join(home, ".cache", "abidiff") if home is not None else None


_session: dict[str, str] = {}


def session_dir() -> str:
    """A private directory for this process's non-persistent cache, removed at exit; the
    first call says on stderr that snapshots are not kept."""
    found = _session.get("dir")
    if found is None:
        found = tempfile.mkdtemp(prefix="abidiff-cache-")
        _session["dir"] = found
        owner = os.getpid()

        def remove() -> None:
            if os.getpid() == owner:  # not in a forked worker
                shutil.rmtree(found, ignore_errors=True)

        atexit.register(remove)
        with contextlib.suppress(AttributeError, OSError, ValueError):  # stderr closed (2>&-): say nothing
            sys.stderr.write(
                "abidiff: warning: no cache directory: HOME is not a usable directory (unset, empty, relative, "
                "missing or /) and neither ABIDIFF_CACHE_DIR nor an absolute XDG_CACHE_HOME is set, so snapshots "
                "are not cached across runs\n"
            )
            sys.stderr.flush()
    return found
