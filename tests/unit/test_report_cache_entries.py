"""What a stored report says it was made from (made-from.json) is checked before the report
is used: anything abidiff did not write is a miss, never a path to look at."""

from __future__ import annotations

from pathlib import Path

import pytest

from abidiff.commands.base import still_the_default_base
from abidiff.options import BuildOptions


@pytest.mark.parametrize(
    ("made_from", "still"),
    [
        ({"base_tag": None, "base_key": None}, True),  # no default feature base: nothing to check
        ({"base_tag": None, "base_key": "ab12"}, False),
        ({"base_tag": "v3.11.0", "base_key": None}, True),  # the tag is still absent
        ({"base_tag": "v3.11.0", "base_key": "ab12"}, False),  # it was there, it is gone
        ({"base_tag": "../../../etc/passwd", "base_key": None}, False),
        ({"base_tag": 3, "base_key": None}, False),
        (["v3.11.0"], False),
        (None, False),
    ],
    ids=["none", "key-without-tag", "still-absent", "gone", "path", "number", "list", "null"],
)
def test_what_a_report_was_made_from(tmp_path: Path, made_from: object, still: bool) -> None:
    (tmp_path / ".git" / "refs" / "tags").mkdir(parents=True)  # a repository without that tag
    assert still_the_default_base(made_from, BuildOptions(repo=str(tmp_path))) is still
