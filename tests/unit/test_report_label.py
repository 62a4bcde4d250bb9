"""When NEW's own release label disagrees with PEP 605's verdict, every format says so."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from rich.console import Console

from abidiff.compare import compare
from abidiff.model import ReleaseLevel, Snapshot
from abidiff.report import jsonreport, markdown, news, terminal
from abidiff.rules import Report
from tests.conftest import MakeVariant
from tests.unit.test_report import PEP605_EDITS


def _labelled(snapshot: Snapshot, version: str, level: ReleaseLevel, serial: int) -> Snapshot:
    return replace(snapshot, build=replace(snapshot.build, version=version, release_level=level, release_serial=serial))


def _all_formats(report: Report) -> dict[str, str]:
    buffer = io.StringIO()
    terminal.render(report, Console(width=200, file=buffer, color_system=None))
    return {
        "text": buffer.getvalue(),
        "json": jsonreport.dumps(report),
        "markdown": markdown.render(report),
        "news": news.render(report),
    }


def test_a_beta_that_breaks_the_abi(base_snapshot: Snapshot, variant_snapshot: MakeVariant) -> None:
    old = _labelled(base_snapshot, "3.11.0a1", ReleaseLevel.ALPHA, 1)
    new = _labelled(variant_snapshot(PEP605_EDITS), "3.11.0b1", ReleaseLevel.BETA, 1)
    report = compare(old, new)
    assert str(report.release_kind) == "alpha"
    assert report.label_mismatch == (
        "3.11.0b1 is labelled a beta, but it breaks the full ABI against 3.11.0a1: PEP 605 would publish it as an alpha"
    )
    for name, text in _all_formats(report).items():
        assert "3.11.0b1 is labelled a beta" in " ".join(text.split()), name


def test_an_alpha_without_a_break(base_snapshot: Snapshot) -> None:
    old = _labelled(base_snapshot, "3.11.0a1", ReleaseLevel.ALPHA, 1)
    new = _labelled(base_snapshot, "3.11.0a2", ReleaseLevel.ALPHA, 2)
    report = compare(old, new)
    assert str(report.release_kind) == "beta"
    assert (
        report.label_mismatch is not None
        and "labelled an alpha (ABI breaking), but it is binary" in report.label_mismatch
    )
    for name, text in _all_formats(report).items():
        assert "labelled an alpha" in " ".join(text.split()), name


@pytest.mark.parametrize(
    ("old_version", "new_version", "level", "breaks"),
    [
        ("3.11.0b3", "3.11.0a4", ReleaseLevel.ALPHA, True),  # PEP 605's own example: an alpha that breaks
        ("3.11.0a4", "3.11.0b1", ReleaseLevel.BETA, False),  # a beta that keeps the ABI
        ("3.10.0", "3.11.0b1", ReleaseLevel.BETA, True),  # another feature release: breaks are expected
    ],
    ids=["alpha-breaks", "beta-keeps", "other-feature-release"],
)
def test_labels_that_agree(
    base_snapshot: Snapshot,
    variant_snapshot: MakeVariant,
    old_version: str,
    new_version: str,
    level: ReleaseLevel,
    breaks: bool,
) -> None:
    old = _labelled(base_snapshot, old_version, ReleaseLevel.BETA, 3)
    new = _labelled(variant_snapshot(PEP605_EDITS) if breaks else base_snapshot, new_version, level, 1)
    report = compare(old, new)
    assert report.label_mismatch is None
    assert all("labelled" not in text for text in _all_formats(report).values())
