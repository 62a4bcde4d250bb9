"""The cache of comparisons (abidiff.reportcache): a second ``abidiff TAG1 TAG2`` reads its report
instead of decoding both snapshots and judging again, and never a report that is no longer
what the inputs give: a new feature-base tag, other suppressions, a damaged entry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.gitrepo import MINIMAL_PYCONFIG, git, git_shim
from tests.integration.test_cli_gitref import abidiff

pytestmark = pytest.mark.integration

ARGS = ("v3.12.0a1", "v3.12.0a2", "--pyconfig", MINIMAL_PYCONFIG, "--format", "json")


def _entries(cache: Path) -> list[Path]:
    return sorted((cache / "artifacts" / "compare").glob("*/report.json"))


def test_a_second_run_reads_the_report(cpython_repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = abidiff(*ARGS, "--repo", str(cpython_repo), cache=cache)
    assert first.returncode == 12, first.stderr
    [entry] = _entries(cache)
    assert entry.read_text() == first.stdout  # the json format is the stored report
    # the snapshots are not read again: with them gone from the cache, only a new parse (no
    # C compiler: it would fail) or the stored report can answer
    for snapshot in (cache / "snapshots").rglob("*.json"):
        snapshot.unlink()
    shim = git_shim(tmp_path)
    second = abidiff(*ARGS, "--repo", str(cpython_repo), cache=cache, env={**shim.env(), "ABIDIFF_CC": "no-such-cc"})
    assert (second.returncode, second.stdout) == (12, first.stdout), second.stderr
    assert [command.split(" -C ", 1)[1].split()[1] for command in shim.commands()] == ["rev-parse", "rev-parse"]
    text = abidiff(*ARGS[:-2], "--repo", str(cpython_repo), cache=cache)  # another format, from the same report
    fresh = abidiff(*ARGS[:-2], "--repo", str(cpython_repo), "--no-cache", cache=cache)
    assert (text.returncode, text.stdout) == (fresh.returncode, fresh.stdout), text.stderr


def test_a_new_feature_base_tag_is_seen(cpython_repo: Path, tmp_path: Path) -> None:
    """The default feature base of two refs of 3.12 is the tag v3.11.0 when the repository
    has it: a report made before the tag was fetched is not reused after, nor the other way."""
    cache = tmp_path / "cache"
    args = (*ARGS, "--repo", str(cpython_repo))
    without = json.loads(abidiff(*args, cache=cache).stdout)
    assert without["feature_base"] is None
    git(cpython_repo, "tag", "v3.11.0", "v3.12.0a1")
    tagged = abidiff(*args, cache=cache)
    assert json.loads(tagged.stdout)["feature_base"]["version"] == "3.12.0a1", tagged.stderr
    assert tagged.stdout == abidiff(*args, "--no-cache", cache=cache).stdout
    assert _made_from(cache) == [("v3.11.0", True)]  # the stale entry made way for this one
    assert abidiff(*args, cache=cache).stdout == tagged.stdout
    git(cpython_repo, "tag", "-d", "v3.11.0")
    assert json.loads(abidiff(*args, cache=cache).stdout)["feature_base"] is None
    assert _made_from(cache) == [("v3.11.0", False)]


def _made_from(cache: Path) -> list[tuple[str | None, bool]]:
    """(the default feature-base tag looked for, whether it was found) of each stored report."""
    found = [json.loads(path.with_name("made-from.json").read_text()) for path in _entries(cache)]
    return [(item["base_tag"], item["base_key"] is not None) for item in found]


def test_other_suppressions_make_another_report(cpython_repo: Path, tmp_path: Path) -> None:
    cache, rules = tmp_path / "cache", tmp_path / "rules.toml"
    args = (*ARGS, "--repo", str(cpython_repo), "--suppressions", str(rules))
    rules.write_text('[[suppress]]\nentity = "PyModuleObjectLike.md_state"\nreason = "known"\n')
    suppressed = abidiff(*args, cache=cache)
    rules.write_text('[[suppress]]\nentity = "Py_NoSuchThing"\nreason = "known"\n')
    unsuppressed = abidiff(*args, cache=cache)
    assert json.loads(suppressed.stdout)["suppressed"] != json.loads(unsuppressed.stdout)["suppressed"]
    assert unsuppressed.stdout == abidiff(*args, "--no-cache", cache=cache).stdout


def test_a_damaged_entry_is_a_miss(cpython_repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    args = (*ARGS, "--repo", str(cpython_repo))
    first = abidiff(*args, cache=cache)
    [entry] = _entries(cache)
    entry.write_text(first.stdout[: len(first.stdout) // 2])
    second = abidiff(*args, cache=cache)
    assert (second.returncode, second.stdout, second.stderr) == (12, first.stdout, "")
    assert [path.read_text() for path in _entries(cache)] == [first.stdout]  # made again, whole


def test_a_linked_entry_is_never_followed(cpython_repo: Path, tmp_path: Path) -> None:
    """A report.json that is a link (to /dev/zero: endless) is a miss, read no further."""
    cache = tmp_path / "cache"
    args = (*ARGS, "--repo", str(cpython_repo))
    first = abidiff(*args, cache=cache)
    [entry] = _entries(cache)
    entry.unlink()
    entry.symlink_to("/dev/zero")
    second = abidiff(*args, cache=cache)
    assert (second.returncode, second.stdout, second.stderr) == (12, first.stdout, "")
    [entry] = _entries(cache)
    assert not entry.is_symlink() and entry.read_text() == first.stdout


def test_a_series_of_refs_is_cached_with_its_default_base(cpython_repo: Path, tmp_path: Path) -> None:
    """A series whose last build is no release tag (main~1) knows its default feature base only
    from that build's snapshot: its report is kept all the same, and checked when found."""
    cache = tmp_path / "cache"
    args = ("series", "v3.12.0a1", "main~1", "--repo", str(cpython_repo), "--pyconfig", MINIMAL_PYCONFIG)
    first = abidiff(*args, "--format", "json", cache=cache)
    assert first.returncode in (4, 12), first.stderr
    [entry] = sorted((cache / "artifacts" / "series").glob("*/report.json"))
    assert entry.read_text() == first.stdout
    assert json.loads(entry.with_name("made-from.json").read_text()) == {"base_tag": "v3.11.0", "base_key": None}
    for snapshot in (cache / "snapshots").rglob("*.json"):
        snapshot.unlink()  # only the stored report can answer now (no C compiler for a parse)
    second = abidiff(*args, "--format", "json", cache=cache, env={"ABIDIFF_CC": "no-such-cc"})
    assert (second.returncode, second.stdout) == (first.returncode, first.stdout), second.stderr
    git(cpython_repo, "tag", "v3.11.0", "v3.12.0a1")
    tagged = abidiff(*args, "--format", "json", cache=cache)
    assert json.loads(tagged.stdout)["feature_base"]["version"] == "3.12.0a1", tagged.stderr
    assert tagged.stdout == abidiff(*args, "--format", "json", "--no-cache", cache=cache).stdout
