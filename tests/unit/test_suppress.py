"""Suppressions: TOML entries by rule id and entity glob, with a reason and an expiry date."""

from __future__ import annotations

import datetime
import io
import json
import os
import sys
from pathlib import Path

import pytest

from abidiff.commands.common import Reporting
from abidiff.commands.compare import compare_main
from abidiff.compare import compare
from abidiff.errors import EXIT_ABI_CHANGE, EXIT_ABI_INCOMPATIBLE, EXIT_ERROR, InputError
from abidiff.model import Snapshot
from abidiff.suppress import SuppressionError, parse
from tests.conftest import MakeVariant

pytestmark = pytest.mark.skipif(sys.version_info < (3, 11), reason="suppressions need tomllib (Python 3.11+)")

TODAY = datetime.date(2025, 6, 1)
TP_DOC_REMOVED = (("cpython/object.h", "    const char *tp_doc;\n", ""),)


def test_parse_entries() -> None:
    entries = parse(
        '[[suppress]]\nrule = "ABI102"\nentity = "PyTypeObject.*"\nreason = "known"\nexpires = 2026-01-31\n'
        '[[suppress]]\nentity = "_Py*"\nreason = "private"\nexpires = "2026-02-01"\n'
    )
    assert [(e.rule, e.entity, e.expires) for e in entries] == [
        ("ABI102", "PyTypeObject.*", datetime.date(2026, 1, 31)),
        (None, "_Py*", datetime.date(2026, 2, 1)),
    ]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[[suppress]]\nrule = "ABI102"\n', "missing 'reason'"),
        ('[[suppress]]\nreason = "why"\n', "give 'rule', 'entity' or both"),
        ('[[suppress]]\nrule = "ABI102"\nreason = "x"\nexpires = "soon"\n', "'expires' must be a date"),
        ('[[suppress]]\nrule = "ABI102"\nreason = "x"\ncolour = "red"\n', "unknown key 'colour'"),
        ('[[suppres]]\nrule = "ABI102"\nreason = "x"\n', "unknown table 'suppres'"),
        ("[[suppress]\n", "is not valid TOML"),
        ('suppress = "ABI102"\n', "must be an array of tables"),
    ],
    ids=["no-reason", "no-selector", "bad-date", "unknown-key", "unknown-table", "bad-toml", "not-a-table"],
)
def test_malformed_files(text: str, needle: str) -> None:
    with pytest.raises(SuppressionError) as info:
        parse(text, source="s.toml")
    assert needle in info.value.message
    assert "\n" not in info.value.message
    assert info.value.hint and "[[suppress]]" in info.value.hint
    assert isinstance(info.value, InputError)


def test_suppressed_changes_are_counted_and_leave_the_verdict(
    base_snapshot: Snapshot, variant_snapshot: MakeVariant
) -> None:
    new = variant_snapshot(TP_DOC_REMOVED)
    entries = parse('[[suppress]]\nrule = "ABI1*"\nentity = "PyTypeObject.tp_*"\nreason = "known"\n')
    report = compare(base_snapshot, new, entries, today=TODAY)
    assert report.changes == ()
    assert report.suppressed == 1
    assert str(report.verdict) == "binary-compatible"
    assert report.suppression_warnings == ()


def test_non_matching_entity_glob_does_not_suppress(base_snapshot: Snapshot, variant_snapshot: MakeVariant) -> None:
    new = variant_snapshot(TP_DOC_REMOVED)
    entries = parse('[[suppress]]\nrule = "ABI102"\nentity = "PyObject.*"\nreason = "other"\n')
    report = compare(base_snapshot, new, entries, today=TODAY)
    assert [c.rule for c in report.changes] == ["ABI102"]
    assert report.suppressed == 0
    assert report.suppression_warnings == (
        "suppression #1 (rule ABI102, entity PyObject.*) matched no change: remove it",
    )


def test_expired_entries_no_longer_suppress(base_snapshot: Snapshot, variant_snapshot: MakeVariant) -> None:
    new = variant_snapshot(TP_DOC_REMOVED)
    entries = parse('[[suppress]]\nrule = "ABI102"\nreason = "temporary"\nexpires = 2025-05-31\n')
    report = compare(base_snapshot, new, entries, today=TODAY)
    assert [c.rule for c in report.changes] == ["ABI102"]
    assert report.suppression_warnings == (
        "suppression #1 (rule ABI102) expired on 2025-05-31: it no longer suppresses anything",
    )
    still_valid = compare(base_snapshot, new, entries, today=datetime.date(2025, 5, 31))
    assert still_valid.changes == ()


def test_compare_main_with_suppressions(tmp_path: Path, base_snapshot: Snapshot, variant_snapshot: MakeVariant) -> None:
    from abidiff import snapshot

    old_file, new_file = tmp_path / "old.json", tmp_path / "new.json"
    old_file.write_text(snapshot.dumps(base_snapshot))
    new_file.write_text(snapshot.dumps(variant_snapshot(TP_DOC_REMOVED)))
    rules = tmp_path / "s.toml"
    rules.write_text(
        '[[suppress]]\nrule = "ABI102"\nreason = "known"\n[[suppress]]\nentity = "Nothing*"\nreason = "stale"\n'
    )
    out, err = io.StringIO(), io.StringIO()
    status = compare_main(
        str(old_file),
        str(new_file),
        reporting=Reporting(fmt="json", suppressions=str(rules), stdout=out, stderr=err),
        today=TODAY,
    )
    assert status == 0
    document = json.loads(out.getvalue())
    assert document["suppressed"] == 1 and document["changes"] == []
    assert document["suppression_warnings"] == ["suppression #2 (entity Nothing*) matched no change: remove it"]
    assert "abidiff: warning: suppression #2" in err.getvalue()
    # without the suppressions the same comparison is a break
    assert compare_main(
        str(old_file), str(new_file), reporting=Reporting(fmt="json", stdout=io.StringIO(), stderr=io.StringIO())
    ) == (EXIT_ABI_CHANGE | EXIT_ABI_INCOMPATIBLE)


def test_compare_main_malformed_suppressions_fail_before_parsing(tmp_path: Path) -> None:
    from abidiff.cli import render_error

    bad = tmp_path / "bad.toml"
    bad.write_text('[[suppress]]\nrule = "ABI102"\n')
    with pytest.raises(SuppressionError) as info:
        compare_main(
            "/nonexistent-old",
            "/nonexistent-new",
            reporting=Reporting(suppressions=str(bad), stdout=io.StringIO(), stderr=io.StringIO()),
        )
    assert info.value.exit_status == EXIT_ERROR
    stream = io.StringIO()
    render_error(info.value, stream)
    lines = stream.getvalue().splitlines()
    assert lines[0] == f"abidiff: error: {bad}: entry 1: missing 'reason' (say why the change is accepted)"
    assert lines[1].startswith("abidiff: hint: ")
    assert os.path.exists(bad)
