"""The shipped suppressions of CPython's known abi3 findings (``shipped:abi3-known``): the abi3
audits of the real builds exit 0 with them, and the file is well-formed, entity by entity."""

from __future__ import annotations

import io
import json

import pytest

from abidiff.commands.abi3 import abi3_main
from abidiff.commands.common import Reporting
from abidiff.errors import EXIT_OK
from abidiff.suppress import SuppressionError, load, parse, shipped_path
from tests.conftest import snapshot_cached
from tests.realbuilds import pyenv_python

# the builds the file was measured on; what is left with it is listed here (nothing)
LEFT: dict[str, list[str]] = {"3.12.1": [], "3.13.0": []}


def test_the_shipped_file_is_one_entity_per_entry() -> None:
    entries = load("shipped:abi3-known")
    assert len(entries) > 100
    assert all(entry.rule in ("ABI801", "ABI803", "ABI804") for entry in entries)
    assert all(entry.entity and not set(entry.entity) & set("*?[") for entry in entries)  # no glob
    assert all(entry.expires is None and not entry.warn_unused for entry in entries)
    assert len({(entry.rule, entry.entity) for entry in entries}) == len(entries)
    assert shipped_path("abi3-known").endswith("abi3-known.toml")


def test_an_unknown_shipped_name_is_an_error() -> None:
    with pytest.raises(SuppressionError, match="no suppression file named 'nope'"):
        load("shipped:nope")


def test_warn_unused_must_be_a_boolean() -> None:
    with pytest.raises(SuppressionError, match="'warn_unused' must be true or false"):
        parse('warn_unused = "no"\n[[suppress]]\nrule = "ABI801"\nreason = "x"\n')


@pytest.mark.integration
@pytest.mark.parametrize("version", sorted(LEFT))
def test_abi3_of_a_real_build_with_the_known_findings(version: str) -> None:
    snapshot_cached(pyenv_python(version))  # made once per session, in the suite's cache
    out, err = io.StringIO(), io.StringIO()
    status = abi3_main(
        pyenv_python(version),
        reporting=Reporting(fmt="json", suppressions="shipped:abi3-known", stdout=out, stderr=err),
    )
    document = json.loads(out.getvalue())
    left = [f"{item['rule']} {item['entity']}" for item in document["changes"]]
    assert left == LEFT[version]
    assert status == EXIT_OK
    assert document["suppressed"] > 100
    assert document["suppression_warnings"] == [] and err.getvalue() == ""
