"""What ``abidiff ext`` says of several extension modules and the breaks between two builds:
hand-made audits (pure: no binaries are read)."""

from __future__ import annotations

import pytest

from abidiff.changes import Change, ChangeKind, EntityKind, Place
from abidiff.ext import Examined, ExtensionResult
from abidiff.model import ReleaseLevel, Tier
from abidiff.rules.judge import identity
from abidiff.rules.reports import ext_report
from tests.handmade import hand_made_build

_OLD, _NEW = (
    identity(hand_made_build(version, ReleaseLevel.FINAL), headers_only=False) for version in ("3.10.13", "3.11.7")
)


def _module(path: str) -> ExtensionResult:
    return ExtensionResult(
        path=path,
        format="elf",
        arches=("x86_64",),
        abi3=False,
        abi3_version=None,
        requires=None,
        imports=(),
        other_imports=0,
    )


def _import_broken(module: str) -> Change:
    facts = (
        ("cause", "function _PyFloat_Unpack8 removed"),
        ("cause_rule", "ABI201"),
        ("new", "3.11.7"),
        ("old", "3.10.13"),
    )
    return Change(
        kind=ChangeKind.EXT_BROKEN_BETWEEN,
        entity="_PyFloat_Unpack8",
        entity_kind=EntityKind.SYMBOL,
        tier=Tier.PRIVATE,
        facts=facts,
        impacts=(module,),
    )


def _source_uses() -> Change:
    return Change(
        kind=ChangeKind.EXT_SOURCE_USES,
        entity="PyObject.ob_refcnt",
        entity_kind=EntityKind.FIELD,
        tier=Tier.LIMITED,
        facts=(("cause", "field ob_refcnt changed"), ("cause_rule", "ABI105")),
        places=(Place(file="src/a.c", line=3, column=5),),
    )


def _last_summary_line(changes: list[Change], modules: tuple[str, ...]) -> str:
    examined = Examined(wheel=None, extensions=tuple(_module(path) for path in modules), changes=())
    report = ext_report(
        " ".join(modules), examined, changes, truth_source="test", build=None, between=None, compared=(_OLD, _NEW)
    )
    return report.summary[-1]


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ([_import_broken("b.so"), _import_broken("c.so")], "2 of the 3 extensions are affected by"),
        ([_import_broken("b.so")], "1 of the 3 extensions is affected by"),
        ([], "0 of the 3 extensions are affected by"),
        ([_source_uses()], "Their sources are affected by"),  # sources are not told apart by module
    ],
    ids=["two", "one", "none", "sources-only"],
)
def test_several_extensions(changes: list[Change], said: str) -> None:
    line = _last_summary_line(changes, ("a.so", "b.so", "c.so"))
    assert line == f"{said} the ABI breaks between 3.10.13 and 3.11.7."


def test_one_extension() -> None:
    assert _last_summary_line([_import_broken("a.so")], ("a.so",)).startswith("This extension is affected by")
    assert _last_summary_line([], ("a.so",)).startswith("This extension is not affected by")
