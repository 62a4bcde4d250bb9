"""Snapshot JSON: byte-stable, schema-valid, strict on load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import jsonschema
import pytest

from abidiff import snapshot
from abidiff.builder import snapshot_of
from abidiff.errors import SnapshotError
from abidiff.model import Snapshot
from abidiff.options import BuildOptions
from tests.conftest import MINIMAL_HEADERS, ROOT


def _schema() -> dict[str, Any]:
    with open(snapshot.SCHEMA_FILE) as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


def test_round_trip(minimal_snapshot: Snapshot) -> None:
    assert snapshot.loads(snapshot.dumps(minimal_snapshot)) == minimal_snapshot


def test_two_dumps_are_byte_identical(minimal_snapshot: Snapshot) -> None:
    again = snapshot_of(MINIMAL_HEADERS, BuildOptions(use_cache=False))  # a second, independent parse
    assert snapshot.dumps(again) == snapshot.dumps(minimal_snapshot)


def test_dump_is_sorted_whatever_the_input_order(minimal_snapshot: Snapshot) -> None:
    shuffled = replace(minimal_snapshot, functions=tuple(reversed(minimal_snapshot.functions)))
    assert snapshot.dumps(shuffled) == snapshot.dumps(minimal_snapshot)


def test_dump_validates_against_shipped_schema(minimal_snapshot: Snapshot) -> None:
    jsonschema.Draft202012Validator(_schema()).validate(json.loads(snapshot.dumps(minimal_snapshot)))


def test_shipped_schema_is_generated() -> None:
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "scripts", "regen.py"), "--check"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _document(minimal_snapshot: Snapshot) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(snapshot.dumps(minimal_snapshot))
    return document


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d.update(schema_version=99),
            f"snapshot schema version 99 is not supported: this abidiff reads version {snapshot.SCHEMA_VERSION}",
        ),
        (lambda d: d.update(schema="something-else"), "is not an abidiff snapshot"),
        (lambda d: d["snapshot"]["records"][0].update(size="16"), "$.snapshot.records[0].size: expected an integer"),
        (lambda d: d["snapshot"]["functions"][0].update(tier="galactic"), "is not one of: limited, public"),
        (lambda d: d["snapshot"]["build"].pop("version"), "missing key 'version'"),
        (lambda d: d["snapshot"].update(extra=1), "unknown key 'extra'"),
        (lambda d: d["snapshot"].update(macros={}), "$.snapshot.macros: expected an array"),
    ],
    ids=["other-version", "not-ours", "wrong-type", "bad-enum", "missing-key", "unknown-key", "wrong-container"],
)
def test_malformed_snapshots_are_refused(
    minimal_snapshot: Snapshot, mutate: Callable[[dict[str, Any]], object], message: str
) -> None:
    document = _document(minimal_snapshot)
    mutate(document)
    with pytest.raises(SnapshotError) as caught:
        snapshot.loads(json.dumps(document), source="x.json")
    assert message in caught.value.message


@pytest.mark.parametrize(
    "text",
    ["", "{", "[1, 2]", "null", '{"schema": "abidiff-snapshot"}'],
    ids=["empty", "truncated", "array", "null", "no-version"],
)
def test_not_a_snapshot(text: str) -> None:
    with pytest.raises(SnapshotError):
        snapshot.loads(text)


def test_snapshots_decode_in_threads(minimal_snapshot: Snapshot) -> None:
    # abidiff OLD NEW reads both snapshots from the cache in two threads at once
    import subprocess as sp

    text = snapshot.dumps(minimal_snapshot)
    code = (
        "import concurrent.futures, sys\n"
        "sys.setswitchinterval(1e-6)  # switch threads as often as possible\n"
        "from abidiff import snapshot\n"
        "text = sys.stdin.read()\n"
        "with concurrent.futures.ThreadPoolExecutor(8) as pool:\n"
        "    results = list(pool.map(lambda _: snapshot.loads(text), range(8)))\n"
        "assert all(r == results[0] for r in results)\n"
    )
    for _ in range(10):  # a fresh process each time: the decoders are built on first use
        proc = sp.run([sys.executable, "-c", code], input=text, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
