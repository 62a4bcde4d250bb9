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
    digest = hashlib.sha256(f"abidiff {__version__}".encode())
    for entry in _READERS:
        path = os.path.join(_PACKAGE, entry)
        files = (
            [path]
            if os.path.isfile(path)
            else sorted(
                os.path.join(root, name)
                for root, _dirs, names in os.walk(path)
                for name in names
                if name.endswith((".py", ".json", ".h"))
            )
        )
        for file in files:
            digest.update(os.path.relpath(file, _PACKAGE).encode() + b"\0")
            with open(file, "rb") as handle:
                digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()[:16]
