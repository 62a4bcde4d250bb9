"""A command resolves each build once (abidiff.builder.resolving_once), though it first asks for
its snapshots' keys (to find a cached report) and then makes them; and a comparison of local
builds is cached like one of git refs, and made again when a header changes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from abidiff import builder
from abidiff.commands.common import Reporting
from abidiff.commands.compare import compare_main
from abidiff.options import BuildOptions
from tests.conftest import make_variant

EDIT = (("cpython/object.h", "    const char *tp_doc;\n", ""),)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The specs ``builder.resolve`` (the real one) is called with."""
    from abidiff.sources import ResolvedBuild
    from abidiff.sources import resolve as real

    calls: list[str] = []

    def resolve(spec: str) -> ResolvedBuild:
        calls.append(spec)
        return real(spec)

    monkeypatch.setattr(builder, "resolve", resolve)
    return calls


def _compare(old: str, new: str, cache: Path) -> dict[str, object]:
    out = io.StringIO()
    options = BuildOptions(cache_dir=str(cache))
    compare_main(old, new, reporting=Reporting(fmt="json", stdout=out, stderr=io.StringIO()), options=options)
    document: dict[str, object] = json.loads(out.getvalue())
    return document


def test_each_build_is_resolved_once_and_the_report_is_cached(tmp_path: Path, counted: list[str]) -> None:
    old, new = make_variant(str(tmp_path), ()), make_variant(str(tmp_path), EDIT)
    first = _compare(old, new, tmp_path / "cache")
    assert sorted(counted) == sorted([old, new])  # keyed, then made: one resolution each
    assert first["verdict"] == "abi-breaking"
    assert len(list((tmp_path / "cache" / "artifacts" / "compare").iterdir())) == 1
    counted.clear()
    assert _compare(old, new, tmp_path / "cache") == first
    assert sorted(counted) == sorted([old, new])
    # a header edited since: another key, another report
    header = Path(new, "cpython", "object.h")
    header.write_text(header.read_text() + "\n")
    assert _compare(old, new, tmp_path / "cache")["verdict"] == "abi-breaking"
    assert len(list((tmp_path / "cache" / "artifacts" / "compare").iterdir())) == 2


def test_outside_the_scope_nothing_is_remembered(tmp_path: Path, counted: list[str]) -> None:
    build = make_variant(str(tmp_path), ())
    options = BuildOptions(cache_dir=str(tmp_path / "cache"))
    builder.snapshot_keys([build], options)
    builder.snapshot_keys([build], options)
    assert counted == [build, build]
    with builder.resolving_once():
        builder.snapshot_keys([build], options)
        builder.snapshot_keys([build], options)
    assert counted == [build, build, build]
