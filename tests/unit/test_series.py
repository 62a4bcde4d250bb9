"""``abidiff series``: PEP 605's names on hand-made builds (the pure part), then a series of real
snapshots of the base fixture tree edited release by release (libclang parses them), its
formats, its JSON Schema, the command line, and the release tags of a git repository."""

from __future__ import annotations

import html
import io
import json
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

import jsonschema
import pytest

from abidiff.cli import main_inner
from abidiff.errors import BuildSpecError, UsageError
from abidiff.model import Build, ReleaseLevel, Snapshot
from abidiff.rules import StableVerdict, Verdict
from abidiff.series import SeriesReport, own_label, pep605_names, python_requires, series
from tests.conftest import Edit, make_variant

# -- PEP 605's names: the pure part ------------------------------------------------------------

_LEVEL = {"a": ReleaseLevel.ALPHA, "b": ReleaseLevel.BETA, "rc": ReleaseLevel.CANDIDATE, "": ReleaseLevel.FINAL}
_HEX = {ReleaseLevel.ALPHA: 0xA, ReleaseLevel.BETA: 0xB, ReleaseLevel.CANDIDATE: 0xC, ReleaseLevel.FINAL: 0xF}


def build(version: str) -> Build:
    """A hand-made Build of ``version`` (``3.13.0b2``, ``3.12.1``, ``3.13.0a3+``)."""
    match = re.match(r"^(\d+)\.(\d+)\.(\d+)(a|b|rc|)(\d*)\+?$", version)
    assert match, version
    major, minor, micro, letter, serial = match.groups()
    level = _LEVEL[letter]
    hexversion = int(major) << 24 | int(minor) << 16 | int(micro) << 8 | _HEX[level] << 4 | int(serial or 0)
    return Build(
        version=version,
        hexversion=hexversion,
        release_level=level,
        release_serial=int(serial or 0),
        target="x86_64-unknown-linux-gnu",
        pointer_size=8,
        origin=f"test {version}",
    )


def names(versions: Sequence[str], breaks: Sequence[bool]) -> list[tuple[str, bool, bool]]:
    """(PEP 605 name, mismatch, frozen) of each release; ``breaks`` for releases 1..N-1."""
    found = pep605_names([build(v) for v in versions], [False, *breaks])
    return [(item.name, item.mismatch, item.frozen) for item in found]


def test_the_example_of_the_brief() -> None:
    versions = ["3.13.0a1", "3.13.0a2", "3.13.0a3", "3.13.0a4", "3.13.0b1", "3.13.0rc1", "3.13.0rc2"]
    assert names(versions, [False, True, False, True, False, True]) == [
        ("3.13.0a1", False, False),
        ("3.13.0b2", True, False),  # labelled alpha, binary compatible
        ("3.13.0a3", False, False),
        ("3.13.0b4", True, False),
        ("3.13.0a5", True, False),  # labelled beta, breaks
        ("3.13.0rc1", False, False),  # freezes the ABI
        ("3.13.0rc2", False, True),  # a break after rc1: ABI901, not a name
    ]


def test_pep605s_own_example() -> None:
    """3.9.0a1, b2, b3, b4, a5, b6, a7, b8, rc1, rc2, 3.9.0: labels that already follow PEP 605."""
    versions = ["3.9.0a1", "3.9.0b2", "3.9.0b3", "3.9.0b4", "3.9.0a5", "3.9.0b6", "3.9.0a7", "3.9.0b8"]
    versions += ["3.9.0rc1", "3.9.0rc2", "3.9.0"]
    found = names(versions, [False, False, False, True, False, True, False, False, False, False])
    assert [name for name, _, _ in found] == versions
    assert not any(mismatch for _, mismatch, _ in found)
    assert [frozen for _, _, frozen in found] == [False] * 9 + [True, True]


def test_the_serial_counts_on_and_only_the_letter_is_a_mismatch() -> None:
    # CPython's own labels restart at b1: PEP 605 counts on; same letter, other serial: no mismatch
    found = names(["3.13.0a1", "3.13.0a2", "3.13.0b1", "3.13.0b2"], [True, False, False])
    assert [name for name, _, _ in found] == ["3.13.0a1", "3.13.0a2", "3.13.0b3", "3.13.0b4"]
    assert not any(mismatch or frozen for _, mismatch, frozen in found)


def test_a_series_that_starts_mid_way_counts_from_its_first_serial() -> None:
    assert names(["3.13.0b3", "3.13.0b4", "3.13.0b5"], [True, False]) == [
        ("3.13.0b3", False, False),
        ("3.13.0a4", True, False),
        ("3.13.0b5", False, False),
    ]


def test_a_release_candidate_that_breaks_is_an_alpha_and_freezes_nothing() -> None:
    found = names(["3.13.0b1", "3.13.0rc1", "3.13.0rc2", "3.13.0rc3"], [True, False, True])
    assert found == [
        ("3.13.0b1", False, False),
        ("3.13.0a2", True, False),
        ("3.13.0rc2", False, False),  # compatible: now the ABI is frozen
        ("3.13.0rc3", False, True),
    ]


def test_finals_and_maintenance_releases_are_frozen() -> None:
    found = names(["3.13.0rc2", "3.13.0", "3.13.1", "3.13.2"], [False, True, False])
    assert [name for name, _, _ in found] == ["3.13.0rc2", "3.13.0", "3.13.1", "3.13.2"]
    assert [(mismatch, frozen) for _, mismatch, frozen in found] == [(False, False)] + [(False, True)] * 3


def test_each_feature_version_starts_again() -> None:
    found = names(["3.12.1", "3.13.0a1", "3.13.0a2", "3.14.0a1"], [True, True, True])
    assert found == [
        ("3.12.1", False, False),
        ("3.13.0a1", False, False),  # another feature version: its own label, whatever it does
        ("3.13.0a2", False, False),
        ("3.14.0a1", False, False),
    ]


def test_own_label_of_a_development_build() -> None:
    assert own_label(build("3.13.0a3+")) == "3.13.0a3"
    assert own_label(build("3.13.0")) == "3.13.0"
    assert own_label(build("3.13.0rc2")) == "3.13.0rc2"


def test_python_requires_is_pep605s_line() -> None:
    assert python_requires("3.9.0a5", 5) == (
        'Python-Requires: >= "3.9.0b6"; python_version == "3.9" and full_python_version != "3.9.0a5"'
    )


# -- a series of real snapshots: the base fixture edited release by release ----------------------

PYOBJECT_FIELD: Edit = (
    "object.h",
    "    PyTypeObject *ob_type;\n};",
    "    PyTypeObject *ob_type;\n    int ob_flags;\n};",
)
INLINABLE: Edit = (
    "cpython/object.h",
    "PyAPI_FUNC(int) PyObject_Inlinable(PyObject *o);",
    "PyAPI_FUNC(long) PyObject_Inlinable(PyObject *o);",
)
CALL_ONE_ARG: Edit = (
    "cpython/object.h",
    "PyObject_CallOneArg(PyObject *func, PyObject *arg);",
    "PyObject_CallOneArg(PyObject *func);",
)
TYPE_COPY: Edit = (  # a parameter now of another kind than any object: a break (ABI203)
    "cpython/object.h",
    "PyAPI_FUNC(PyTypeObject) PyType_Copy(PyTypeObject *type);",
    "PyAPI_FUNC(PyTypeObject) PyType_Copy(const char *type);",
)
NO_INLINABLE: Edit = ("cpython/object.h", "PyAPI_FUNC(int) PyObject_Inlinable(PyObject *o);\n", "")
_LEVEL_MACRO = {"a": "ALPHA", "b": "BETA", "rc": "GAMMA", "": "FINAL"}


def version_edits(version: str) -> tuple[Edit, ...]:
    """patchlevel.h of the base tree (3.11.0a1) set to ``version``."""
    match = re.match(r"^3\.(\d+)\.(\d+)(a|b|rc|)(\d*)$", version)
    assert match
    minor, micro, letter, serial = match.groups()
    return (
        ("patchlevel.h", "PY_MINOR_VERSION        11", f"PY_MINOR_VERSION        {minor}"),
        ("patchlevel.h", "PY_MICRO_VERSION        0", f"PY_MICRO_VERSION        {micro}"),
        ("patchlevel.h", "PY_RELEASE_LEVEL_ALPHA\n", f"PY_RELEASE_LEVEL_{_LEVEL_MACRO[letter]}\n"),
        ("patchlevel.h", "PY_RELEASE_SERIAL       1", f"PY_RELEASE_SERIAL       {serial or 0}"),
        ("patchlevel.h", '"3.11.0a1"', f'"{version}"'),
    )


# the releases of the series: version, edits since the base tree (each release keeps the ones before)
RELEASES: tuple[tuple[str, tuple[Edit, ...]], ...] = (
    ("3.11.0a1", ()),
    ("3.11.0a2", ()),  # unchanged: PEP 605 names it b2
    ("3.11.0a3", (PYOBJECT_FIELD,)),  # a field in PyObject (limited): a3, stable ABI broken
    ("3.11.0a4", (PYOBJECT_FIELD, INLINABLE)),  # only a function new since the feature base: b4 with it
    ("3.11.0b1", (PYOBJECT_FIELD, INLINABLE, CALL_ONE_ARG)),  # labelled beta, breaks: a5
    ("3.11.0rc1", (PYOBJECT_FIELD, INLINABLE, CALL_ONE_ARG)),
    ("3.11.0rc2", (PYOBJECT_FIELD, INLINABLE, CALL_ONE_ARG, TYPE_COPY)),  # a break after rc1: ABI901
)
FEATURE_BASE = ("3.10.0", (NO_INLINABLE,))  # PyObject_Inlinable is new since it


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = str(tmp_path_factory.mktemp("series"))
    made = {}
    for version, edits in (*RELEASES, FEATURE_BASE):
        made[version] = make_variant(root, (*version_edits(version), *edits))
    return made


@pytest.fixture(scope="module")
def snapshots(trees: dict[str, str]) -> dict[str, Snapshot]:
    from abidiff.builder import snapshots_of

    specs = list(trees.values())
    return dict(zip(trees, snapshots_of(specs), strict=True))


@pytest.fixture(scope="module")
def report(snapshots: dict[str, Snapshot]) -> SeriesReport:
    releases = [snapshots[version] for version, _ in RELEASES]
    return series(releases, feature_base=snapshots[FEATURE_BASE[0]])


def test_names_verdicts_and_findings(report: SeriesReport) -> None:
    got = [(r.name, r.pep605_name, r.verdict, r.stable_abi_verdict, r.label_mismatch) for r in report.releases]
    compatible, breaking = Verdict.BINARY_COMPATIBLE, Verdict.ABI_BREAKING
    intact, broken = StableVerdict.INTACT, StableVerdict.BROKEN
    assert got == [
        ("3.11.0a1", "3.11.0a1", None, None, False),
        ("3.11.0a2", "3.11.0b2", compatible, intact, True),
        ("3.11.0a3", "3.11.0a3", breaking, broken, False),
        ("3.11.0a4", "3.11.0b4", compatible, intact, True),
        ("3.11.0b1", "3.11.0a5", breaking, intact, True),
        ("3.11.0rc1", "3.11.0rc1", compatible, intact, False),
        ("3.11.0rc2", "3.11.0rc2", breaking, intact, False),
    ]
    findings = {r.name: [(f.rule, str(f.severity)) for f in r.findings] for r in report.releases}
    assert findings["3.11.0a2"] == [("ABI902", "warning")]
    assert findings["3.11.0b1"] == [("ABI902", "warning")]
    assert findings["3.11.0rc2"] == [("ABI901", "break")]
    assert findings["3.11.0a3"] == findings["3.11.0rc1"] == []
    assert [r.previous for r in report.releases][:3] == [None, "3.11.0a1", "3.11.0a2"]
    assert report.feature_base is not None and report.feature_base.version == "3.10.0"


def test_the_breaks_are_the_comparisons_breaks(report: SeriesReport, snapshots: dict[str, Snapshot]) -> None:
    from abidiff.rules import Severity, compare

    by_name = {r.name: r for r in report.releases}
    a3 = by_name["3.11.0a3"]
    assert [(b.rule, b.entity) for b in a3.breaks] == [("ABI103", "PyObject.ob_flags")]
    assert a3.python_requires == (
        'Python-Requires: >= "3.11.0b4"; python_version == "3.11" and full_python_version != "3.11.0a3"'
    )
    # the provisional change of a4 is listed, as a warning, and makes no break
    assert by_name["3.11.0a4"].breaks == () and by_name["3.11.0a4"].counts.get("ABI202") == 1
    b1 = by_name["3.11.0b1"]
    assert [b.entity for b in b1.breaks] == ["PyObject_CallOneArg"] and b1.python_requires is not None
    assert "3.11.0a5" in b1.python_requires and by_name["3.11.0rc2"].python_requires is None
    # exactly what `abidiff OLD NEW --feature-base BASE` says of the pair
    pair = compare(snapshots["3.11.0a4"], snapshots["3.11.0b1"], feature_base=snapshots["3.10.0"])
    assert b1.counts == pair.counts and b1.breaks == tuple(c for c in pair.changes if c.severity == Severity.BREAK)


def test_without_the_feature_base_a4_stays_an_alpha(snapshots: dict[str, Snapshot]) -> None:
    plain = series([snapshots[version] for version, _ in RELEASES])
    by_name = {r.name: r for r in plain.releases}
    assert plain.feature_base is None
    assert by_name["3.11.0a4"].pep605_name == "3.11.0a4" and not by_name["3.11.0a4"].label_mismatch
    assert [b.entity for b in by_name["3.11.0a4"].breaks] == ["PyObject_Inlinable"]


def test_json_is_versioned_and_valid(report: SeriesReport) -> None:
    from abidiff.report.registry import render

    text = render(report, "json")
    document = json.loads(text)
    assert document["schema"] == "abidiff-series" and document["schema_version"] == 1
    assert document["feature_base"]["version"] == "3.10.0"
    first, second = document["releases"][:2]
    assert first["previous"] is None and first["verdict"] is None
    assert second["pep605_name"] == "3.11.0b2" and second["label_mismatch"] is True
    for key in ("name", "pep605_name", "previous", "verdict", "stable_abi_verdict", "label_mismatch", "counts"):
        assert key in second
    assert document["releases"][2]["breaks"][0]["rule"] == "ABI103"
    schema_path = Path(__file__).parents[2] / "src" / "abidiff" / "schemas" / "series.schema.json"
    jsonschema.validate(document, json.loads(schema_path.read_text()))
    assert render(report, "json") == text  # byte-stable


@pytest.mark.parametrize("fmt", ["text", "markdown", "news", "html"])
def test_every_format_says_the_names_the_mismatches_and_the_rc_error(report: SeriesReport, fmt: str) -> None:
    from abidiff.report.registry import render

    text = render(report, fmt)
    for name in ("3.11.0b2", "3.11.0a5", "3.11.0rc2", "ABI901", "ABI902"):
        assert name in text, name
    assert "fully binary compatible with the preceding 3.11.0a1 release" in text
    assert "NOT fully binary compatible with the preceding 3.11.0b4 release" in text
    assert "Breaking changes in the full CPython ABI between 3.11.0b2 and 3.11.0a3" in text
    assert 'full_python_version != "3.11.0a3"' in (html.unescape(text) if fmt == "html" else text)
    assert "released as 3.11.0b1" in text
    assert "3.10.0" in text  # the feature base, stated


def test_html_is_self_contained(report: SeriesReport) -> None:
    from abidiff.report.registry import render

    page = render(report, "html")
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page
    assert "<script" not in page.lower() and 'http-equiv="Content-Security-Policy"' in page
    assert not re.search(r"""(src|href)=["'](https?:)?//""", page)  # no external asset
    assert page.count("<polygon") + page.count("<path") >= 3  # the alpha marks (triangles)


# -- the command line --------------------------------------------------------------------------


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main_inner(list(argv), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def test_over_snapshots_it_is_byte_identical_to_over_builds(trees: dict[str, str], tmp_path: Path) -> None:
    versions = ["3.11.0a3", "3.11.0a4", "3.11.0b1"]
    dumped = []
    for version in (*versions, "3.10.0"):
        path = tmp_path / f"{version}.json"
        assert run("dump", trees[version], "-o", str(path))[0] == 0
        dumped.append(str(path))
    builds = [trees[version] for version in versions]
    status, over_builds, _ = run("series", *builds, "--feature-base", trees["3.10.0"], "--format", "json")
    status2, over_snapshots, _ = run("series", *dumped[:3], "--feature-base", dumped[3], "--format", "json")
    assert status == status2 == 12
    assert over_builds == over_snapshots
    assert json.loads(over_builds)["releases"][1]["pep605_name"] == "3.11.0b4"


def test_exit_status_is_the_worst_pair(trees: dict[str, str]) -> None:
    # the same tree twice (named two ways): nothing changed, no finding
    assert run("series", trees["3.11.0rc1"], trees["3.11.0rc1"] + "/", "--format", "json")[0] == 0
    status, out, _ = run("series", trees["3.11.0a1"], trees["3.11.0a2"], "--format", "news")
    assert status == 4  # ABI902: the label of a2 disagrees; nothing else changed
    assert "3.11.0b2 (released as 3.11.0a2)" in out
    assert run("series", trees["3.11.0a4"], trees["3.11.0b1"], "--format", "json")[0] == 12


def test_the_report_round_trips_through_json(report: SeriesReport) -> None:
    from abidiff import codec
    from abidiff.report import jsonwriter

    document = json.loads(jsonwriter.dumps(report))
    del document["schema"], document["schema_version"]
    assert codec.decode(SeriesReport, document) == report


def test_a_second_run_reads_the_report_from_the_cache(trees: dict[str, str], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    builds = [trees[version] for version in ("3.11.0a3", "3.11.0a4", "3.11.0b1")]
    argv = ["series", *builds, "--feature-base", trees["3.10.0"], "--cache-dir", str(cache), "--format", "json"]
    first = run(*argv)
    assert first[0] == 12
    (stored,) = (cache / "artifacts" / "series").iterdir()
    shutil.rmtree(cache / "snapshots")  # the report alone answers: no snapshot is read or made
    assert run(*argv) == first
    assert not (cache / "snapshots").exists()
    (stored / "report.json").write_text("{")  # a damaged entry is a miss, replaced by a good one
    assert run(*argv) == first
    assert json.loads((stored / "report.json").read_text())["schema"] == "abidiff-series"
    # another feature base (none), other suppressions: other reports
    assert run(*argv[:4], "--feature-base", "none", *argv[6:])[0] == 12
    rules = tmp_path / "suppress.toml"
    rules.write_text('[[suppress]]\nrule = "ABI902"\nreason = "our labels"\n')
    with_rules = run(*argv, "--suppressions", str(rules))
    assert with_rules[1] != first[1] and '"ABI902"' not in with_rules[1]
    assert len(list((cache / "artifacts" / "series").iterdir())) == 3
    run(*argv, "--no-cache")
    assert len(list((cache / "artifacts" / "series").iterdir())) == 3


def test_usage_errors(trees: dict[str, str]) -> None:
    with pytest.raises(UsageError, match="at least two builds"):
        run("series", trees["3.11.0a1"])
    with pytest.raises(UsageError, match="at least two different builds"):
        run("series", trees["3.11.0a1"], trees["3.11.0a1"])
    with pytest.raises(UsageError, match="not both"):
        run("series", trees["3.11.0a1"], "--tags", "v3.*")


def test_suppressions_apply_to_every_pair_and_warn_only_when_unused_everywhere(
    snapshots: dict[str, Snapshot],
) -> None:
    from abidiff.suppress import parse

    entries = parse(
        '[[suppress]]\nrule = "ABI103"\nentity = "PyObject.*"\nreason = "accepted"\n'
        '[[suppress]]\nrule = "ABI902"\nreason = "we label our own way"\n'
        '[[suppress]]\nentity = "Nothing*"\nreason = "unused"\n'
    )
    releases = [snapshots[version] for version in ("3.11.0a1", "3.11.0a2", "3.11.0a3")]
    judged = series(releases, entries)
    a3 = judged.releases[2]
    assert a3.breaks == () and a3.suppressed == 1 and a3.verdict == Verdict.BINARY_COMPATIBLE
    assert all(not release.findings for release in judged.releases) and judged.suppressed >= 1
    assert judged.suppression_warnings == ("suppression #3 (entity Nothing*) matched no change: remove it",)


# -- release tags of a repository --------------------------------------------------------------


@pytest.fixture(scope="module")
def tag_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.gitrepo import git, need_git

    need_git()
    root = tmp_path_factory.mktemp("tags")
    repo = root / "cpython"
    git(root, "init", "-q", "-b", "main", str(repo))
    (repo / "README.rst").write_text("tags\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "one commit")
    # created out of version order: the order of a series is the versions', never the dates'
    for tag in ("v3.13.0rc1", "v3.13.0a2", "v3.12.1", "v3.13.0", "v3.13.0b1", "v3.13.0a1", "v3.12.0"):
        git(repo, "tag", tag)
    for tag in ("v3.13.0a10", "v3.13.1", "latest", "v3.13.0-fix"):
        git(repo, "tag", tag)
    return repo


def test_a_tag_range_in_version_order(tag_repo: Path) -> None:
    from abidiff.sources.gitref.tags import tag_range

    got = tag_range("v3.13.0a1..v3.13.0rc1", str(tag_repo))
    assert got == ("git:v3.13.0a1", "git:v3.13.0a2", "git:v3.13.0a10", "git:v3.13.0b1", "git:v3.13.0rc1")
    # between the two: only vX.Y.0 pre-releases and finals (3.12.1 is a maintenance release)
    assert tag_range("git:v3.12.0..v3.13.0a2", str(tag_repo)) == ("git:v3.12.0", "git:v3.13.0a1", "git:v3.13.0a2")
    assert tag_range("v3.12.1..v3.13.0a1", str(tag_repo)) == ("git:v3.12.1", "git:v3.13.0a1")


def test_tags_matching_a_glob(tag_repo: Path) -> None:
    from abidiff.sources.gitref.tags import tags_matching

    assert tags_matching("v3.13.*", str(tag_repo)) == (
        "git:v3.13.0a1",
        "git:v3.13.0a2",
        "git:v3.13.0a10",
        "git:v3.13.0b1",
        "git:v3.13.0rc1",
        "git:v3.13.0",
        "git:v3.13.1",
    )
    with pytest.raises(BuildSpecError, match=re.escape("no release tag matches 'v4.*'")):
        tags_matching("v4.*", str(tag_repo))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("v3.13.0rc1..v3.13.0a1", "is empty: v3.13.0rc1 comes after v3.13.0a1"),
        ("v3.13.0a1..v3.13.0a9", "has no tag v3.13.0a9"),
        ("main..v3.13.0a1", "'main' in the range main..v3.13.0a1 is not a release tag"),
        ("v3.13.0-fix..v3.13.0", "is not a release tag"),
    ],
    ids=["reversed", "missing", "branch", "not-a-release"],
)
def test_bad_tag_ranges(tag_repo: Path, spec: str, message: str) -> None:
    from abidiff.sources.gitref.tags import tag_range

    with pytest.raises(BuildSpecError, match=re.escape(message)):
        tag_range(spec, str(tag_repo))


def test_what_is_a_range() -> None:
    from abidiff.sources.gitref.tags import is_tag_range

    assert is_tag_range("v3.13.0a1..v3.13.0rc1") and is_tag_range("git:v3.12.0..v3.13.0")
    assert not any(is_tag_range(spec) for spec in ("../build", "a/../b", "v3.13.0", "x..", "..y"))


def test_the_command_expands_a_range_and_says_when_it_is_bad(tag_repo: Path) -> None:
    from abidiff.commands.series import expand

    with pytest.raises(BuildSpecError, match="is empty"):
        run("series", "--repo", str(tag_repo), "v3.13.0rc1..v3.13.0a1")
    assert expand(["v3.12.0", "v3.13.0a1..v3.13.0a2"], None, str(tag_repo)) == (
        "v3.12.0",
        "git:v3.13.0a1",
        "git:v3.13.0a2",
    )
    assert expand([], "v3.12.*", str(tag_repo)) == ("git:v3.12.0", "git:v3.12.1")
