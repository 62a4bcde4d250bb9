"""A build reached through a UTF-8 link into a directory whose name is not UTF-8: the
snapshot is written, its origin shown with the odd byte escaped."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

from abidiff.cli import main_inner
from abidiff.files import shown
from tests.conftest import MINIMAL_HEADERS


def test_shown_escapes_what_is_not_utf8() -> None:
    assert shown(os.fsdecode(b"/tmp/inc\xe9")) == "/tmp/inc\\xe9"
    assert shown("/tmp/ok/é") == "/tmp/ok/é"


def test_a_link_into_a_latin1_directory_dumps(tmp_path: Path) -> None:
    target = os.path.join(os.fsencode(tmp_path), b"inc\xe9")
    shutil.copytree(MINIMAL_HEADERS, os.fsdecode(target))
    link = tmp_path / "headers"
    link.symlink_to(os.fsdecode(target))
    out = io.StringIO()
    assert main_inner(["dump", str(link)], stdout=out) == 0
    document = json.loads(out.getvalue())
    assert document["snapshot"]["build"]["origin"].endswith("inc\\xe9")
