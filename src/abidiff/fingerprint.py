"""What a cached snapshot was made by: the version of abidiff and a digest of the code that
reads builds (the model, the header and binary readers, the sources), so that a snapshot
cached by another abidiff is never taken for this one's — not even between two commits of
the same version."""

from __future__ import annotations

import functools
import hashlib
import os

from abidiff import __version__

_PACKAGE = os.path.dirname(os.path.abspath(__file__))
_READERS = ("model.py", "snapshot.py", "codec.py", "headers", "binaries", "sources", "data")


@functools.cache
def reader_fingerprint() -> str:
    """What a snapshot is made by: abidiff's version and the code that reads builds."""
    files: list[str] = []
    for entry in _READERS:
        path = os.path.join(_PACKAGE, entry)
        files += [path] if os.path.isfile(path) else _files_below(path, (".py", ".json", ".h"))
    return _digest(f"abidiff {__version__}", files)[:16]


@functools.cache
def code_fingerprint() -> str:
    """What a report is made by: every file of abidiff (code, rule catalogue, shipped data)."""
    return _digest("abidiff", _files_below(_PACKAGE, None))


def _files_below(root: str, endings: tuple[str, ...] | None) -> list[str]:
    """The files below ``root``, sorted by path (``endings``: only those; None: all but
    compiled bytecode), ``__pycache__`` left out."""
    found = []
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = [name for name in subdirs if name != "__pycache__"]
        for name in names:
            if name.endswith(endings) if endings else not name.endswith((".pyc", ".pyo")):
                found.append(os.path.join(directory, name))
    return sorted(found)


def _digest(label: str, files: list[str]) -> str:
    digest = hashlib.sha256(label.encode())
    for file in files:
        digest.update(os.path.relpath(file, _PACKAGE).encode() + b"\0")
        with open(file, "rb") as handle:
            digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()
