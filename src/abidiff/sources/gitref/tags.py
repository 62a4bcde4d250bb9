"""The release tags of a CPython checkout, in version order: ``abidiff series A..B`` and
``abidiff series --tags GLOB``.

A release tag is ``vX.Y.Z`` or ``vX.Y.Z{a,b,rc}N``.  Tags are listed with one
``git for-each-ref`` (through :func:`~abidiff.sources.gitref.git.run_git`: no shell, no
pager, nothing written) and sorted by version (``a`` < ``b`` < ``rc`` < final), never by
date.  A range ``A..B`` takes A, B, and every ``vX.Y.0`` pre-release or final tag between
them.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass

from abidiff.errors import BuildSpecError
from abidiff.sources.gitref.git import repository_root, run_git
from abidiff.sources.gitref.refs import GIT_PREFIX

_TAG = re.compile(r"^v(\d{1,4})\.(\d{1,4})\.(\d{1,4})(?:(a|b|rc)(\d{1,4}))?$")
_LEVELS = {"a": 0, "b": 1, "rc": 2, None: 3}
_RANGE = re.compile(r"^(?:git:)?([^./\s][^/\s]*?)\.\.([^./\s][^/\s]*)$")  # no path: no '/'


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseTag:
    name: str  # v3.13.0rc1
    key: tuple[int, int, int, int, int]  # (3, 13, 0, level, serial): version order

    @property
    def micro(self) -> int:
        return self.key[2]


def release_tag(name: str) -> ReleaseTag | None:
    """The release tag ``name`` is (``v3.13.0a1``, ``v3.12.0``), or None."""
    match = _TAG.match(name)
    if match is None:
        return None
    major, minor, micro, letter, serial = match.groups()
    key = (int(major), int(minor), int(micro), _LEVELS[letter], int(serial or 0))
    return ReleaseTag(name=name, key=key)


def is_tag_range(spec: str) -> bool:
    """Whether ``spec`` has the form of a tag range ``A..B`` (nothing is run)."""
    return _RANGE.match(spec) is not None


def release_tags(repo: str | None) -> tuple[ReleaseTag, ...]:
    """Every release tag of the checkout around ``repo`` (default: the current directory),
    in version order."""
    root = repository_root(repo)
    out = run_git(root, ["for-each-ref", "--format=%(refname:strip=2)", "refs/tags/"]).stdout
    found = (release_tag(line) for line in out.decode("utf-8", "replace").splitlines())
    return tuple(sorted((tag for tag in found if tag is not None), key=lambda tag: tag.key))


def _endpoint(name: str, tags: Sequence[ReleaseTag], spec: str) -> ReleaseTag:
    wanted = release_tag(name)
    if wanted is None:
        raise BuildSpecError(
            f"'{name}' in the range {spec} is not a release tag",
            hint="a range takes release tags vX.Y.Z or vX.Y.Z{a,b,rc}N: v3.13.0a1..v3.13.0rc1",
        )
    if wanted not in tags:
        raise BuildSpecError(
            f"the repository has no tag {name} (in the range {spec})",
            hint="list the tags with 'git tag --list \"v3.*\"', or fetch them with 'git fetch --tags'",
        )
    return wanted


def tag_range(spec: str, repo: str | None) -> tuple[str, ...]:
    """The tags of the range ``A..B``, as ``git:`` build specs in version order: A, B and every
    ``vX.Y.0`` pre-release or final between them."""
    match = _RANGE.match(spec)
    if match is None:
        raise BuildSpecError(f"'{spec}' is not a range of tags", hint="write it as A..B: v3.13.0a1..v3.13.0rc1")
    tags = release_tags(repo)
    first, last = (_endpoint(name, tags, spec) for name in match.groups())
    if first.key > last.key:
        raise BuildSpecError(
            f"the range {spec} is empty: {first.name} comes after {last.name}",
            hint=f"give the older tag first: {last.name}..{first.name}",
        )
    chosen = [tag for tag in tags if tag in (first, last) or (first.key < tag.key < last.key and tag.micro == 0)]
    return tuple(GIT_PREFIX + tag.name for tag in chosen)


def tags_matching(pattern: str, repo: str | None) -> tuple[str, ...]:
    """The release tags that match the glob ``pattern`` (``v3.13.0*``), as ``git:`` build
    specs in version order."""
    chosen = [tag for tag in release_tags(repo) if fnmatch.fnmatchcase(tag.name, pattern)]
    if not chosen:
        raise BuildSpecError(
            f"no release tag matches '{pattern}'",
            hint="release tags are vX.Y.Z or vX.Y.Z{a,b,rc}N; list them with 'git tag --list \"v3.*\"'",
        )
    return tuple(GIT_PREFIX + tag.name for tag in chosen)
