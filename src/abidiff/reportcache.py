"""The reports computed from snapshots (a comparison, a series), kept in the snapshot cache's
artifacts (``artifacts/<kind>/<key>/``) so that a run whose inputs are all known before any
snapshot is read finds its report instead of decoding the snapshots and judging again.

A report's key covers all it is made from: the cache keys of its snapshots (given by the
caller, in order, with anything else the caller's report depends on), the suppressions file's
bytes and the date that decides their expiry, and abidiff's own files (code, rule catalogue,
shipped data), so a report of another abidiff is never reused.  What a caller can only check
once it has the entry (``made_from``: a comparison's default feature base) is stored beside
the report.  A damaged entry is a miss, and makes way for a good one; a cache that cannot be
written costs time only.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from abidiff.options import BuildOptions

if TYPE_CHECKING:
    from abidiff.cache import SnapshotCache

_REPORT_FILE = "report.json"
MAX_REPORT_BYTES = 64 << 20  # the JSON of the 3.8 -> 3.13 comparison is 1.5 MB
_MADE_FROM_FILE = "made-from.json"
_T = TypeVar("_T")


def report_key(
    kind: str, parts: Sequence[str | None], suppressions: str | None, today: datetime.date | None
) -> str | None:
    """The key of a report of ``kind`` made from ``parts`` (None in them: not known, so no
    key), the suppressions of that file (read now) on ``today``; None when the report must be
    made."""
    from abidiff import files
    from abidiff.fingerprint import code_fingerprint

    if any(part is None for part in parts):
        return None
    words = [f"abidiff-{kind}-report", code_fingerprint(), *(part for part in parts if part is not None)]
    if suppressions:
        try:  # read and checked before (Reporting.prepare): a regular file within this bound
            words.append(hashlib.sha256(files.read_regular(suppressions, limit=MAX_REPORT_BYTES)).hexdigest())
        except files.UnreadableFile:
            return None
        words.append((today or datetime.date.today()).isoformat())
    return hashlib.sha256("\0".join(words).encode()).hexdigest()


def _cache(options: BuildOptions | None) -> SnapshotCache | None:
    from abidiff.cache import SnapshotCache
    from abidiff.errors import AbidiffError

    options = options or BuildOptions()
    if not options.use_cache:
        return None
    try:
        return SnapshotCache(options.cache_dir)
    except (AbidiffError, OSError):
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Found(Generic[_T]):
    """A report found in the cache: the document, what :func:`store` was told it was made
    from, and its JSON text (the ``json`` format of the report, as stored)."""

    report: _T
    made_from: Any
    json_text: str


def find(
    kind: str,
    key: str | None,
    document: type[_T],
    options: BuildOptions | None,
    *,
    still: Callable[[Any], bool] = lambda made_from: True,
) -> Found[_T] | None:
    """The report of ``kind`` stored under ``key``, decoded as ``document``; None when there
    is none, it does not load, or ``still(made_from)`` says it is no longer what its inputs
    give (the entry is then removed, for the new report to take its place)."""
    from abidiff import codec, files

    cache = _cache(options) if key else None
    found = cache.find_artifact(kind, key) if cache and key else None
    if found is None:
        return None

    def read(name: str) -> str:  # never through a link, never without a bound
        return files.read_regular(os.path.join(found, name), limit=MAX_REPORT_BYTES, follow_symlinks=False).decode()

    try:
        text = read(_REPORT_FILE)
        body = json.loads(text, parse_int=codec.bounded_int)
        made_from = json.loads(read(_MADE_FROM_FILE), parse_int=codec.bounded_int)
        body.pop("schema", None)
        body.pop("schema_version", None)
        report: _T = codec.decode(document, body)
        if not still(made_from):
            raise ValueError("made from other inputs")
    except (files.UnreadableFile, ValueError, AttributeError):  # damaged or stale: a miss, making way for a good one
        shutil.rmtree(found, ignore_errors=True)
        return None
    return Found(report=report, made_from=made_from, json_text=text)


def store(kind: str, key: str | None, report: object, options: BuildOptions | None, made_from: Any = None) -> None:
    """Keep ``report`` under ``key`` (nothing without a key or a cache), with ``made_from``
    (JSON data: what the caller checks again when it finds the report)."""
    from abidiff.errors import AbidiffError
    from abidiff.report import jsonwriter

    cache = _cache(options) if key else None
    if cache is None or key is None:
        return

    def populate(directory: str) -> None:
        with open(os.path.join(directory, _REPORT_FILE), "w", encoding="utf-8") as handle:
            handle.write(jsonwriter.dumps(report))
        with open(os.path.join(directory, _MADE_FROM_FILE), "w", encoding="utf-8") as handle:
            handle.write(json.dumps(made_from, sort_keys=True))

    with contextlib.suppress(AbidiffError, OSError):
        cache.artifact_dir(kind, key, populate)
