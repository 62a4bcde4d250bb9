"""Shared fixtures.  Snapshots of real builds are made once per session: they are the
expensive part of the suite (one libclang parse per Py_LIMITED_API level)."""

from __future__ import annotations

import functools
import os

import pytest

from abidiff.model import Snapshot

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "fixtures")
MINIMAL_HEADERS = os.path.join(FIXTURES, "headers", "minimal")


@functools.cache
def snapshot_cached(spec: str) -> Snapshot:
    from abidiff.builder import snapshot_of

    return snapshot_of(spec)


@pytest.fixture(scope="session")
def minimal_snapshot() -> Snapshot:
    return snapshot_cached(MINIMAL_HEADERS)
